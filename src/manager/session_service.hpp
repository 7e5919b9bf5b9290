#pragma once
// Sign-in: login with a username and password, sessions kept in the store (only a SHA-256 of
// the token), idle expiry, logout, and the throttle on failed attempts.

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <list>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/clock.hpp"
#include "core/result.hpp"
#include "manager/user_service.hpp"
#include "storage/store.hpp"

namespace parley::manager {

// 32 random bytes, base64url without padding (43 characters).
std::string NewSessionToken();
// Lower-case hex SHA-256 of the token: what the store keeps.
std::string HashSessionToken(std::string_view token);
// Equal strings, compared in time that does not depend on where they differ.
bool SameSecret(std::string_view a, std::string_view b);

// Counts failed sign-ins per key (a username, an address) in a sliding minute. A key with
// `max_failures` failures within `window_ms` is blocked until the oldest of them is a window
// old. Keeps at most `max_keys` keys, dropping the least recently failed. Thread-safe.
class LoginThrottle {
 public:
  LoginThrottle(const Clock& clock, size_t max_failures = 10, int64_t window_ms = 60'000,
                size_t max_keys = 10'000);

  // Seconds until `key` may try again (1..60), or 0 when it is not blocked.
  int64_t RetryAfterSeconds(const std::string& key);
  // Records a failure now and returns its time.
  int64_t RecordFailure(const std::string& key);
  // In one step: the wait when `key` is blocked, or else 0 after recording a failure at `*at`
  // (counted in advance, so attempts running at once cannot pass the limit together).
  int64_t Begin(const std::string& key, int64_t* at);
  // Takes back the failure recorded at `at` (the attempt succeeded after all).
  void Forgive(const std::string& key, int64_t at);
  size_t Size() const;

 private:
  struct Entry {
    std::vector<int64_t> failures;  // oldest first, at most max_failures_
    std::list<std::string>::iterator lru;
  };
  void Prune(Entry& e, int64_t now);
  int64_t WaitLocked(const std::string& key, int64_t now);
  int64_t RecordLocked(const std::string& key, int64_t now);

  const Clock& clock_;
  size_t max_failures_;
  int64_t window_ms_;
  size_t max_keys_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Entry> entries_;
  std::list<std::string> lru_;  // most recently failed first
};

struct SessionOptions {
  int64_t idle_ms = 12 * 3600 * 1000LL;  // a session ends after this long without use
  int64_t touch_every_ms = 60'000;       // last_used_at is written at most this often
};

struct LoginResult {
  std::string token;
  std::string csrf;
  storage::UserRecord user;
};

// A live session and its (enabled) user.
struct SessionInfo {
  storage::SessionRecord session;
  storage::UserRecord user;
};

class SessionService {
 public:
  SessionService(storage::Store& store, PasswordHasher& hasher, const Clock& clock,
                 SessionOptions options = {});

  // kUnauthenticated invalid_credentials for an unknown user, a wrong password or a disabled
  // user (the same answer in about the same time); kRateLimited too_many_attempts (with
  // `retry_after_s` set) after ten failures within a minute for the username or the address.
  boost::asio::awaitable<Result<LoginResult>> Login(std::string username, std::string password,
                                                    std::string remote_address,
                                                    int64_t* retry_after_s = nullptr);
  // Ends the session of this token (nothing when there is none).
  boost::asio::awaitable<Result<void>> Logout(std::string token);
  // The session of `token` and its user, or kUnauthenticated unauthenticated when the token
  // is unknown, idle too long, or its user is gone or disabled. Touches last_used_at at most
  // once per touch_every_ms.
  boost::asio::awaitable<Result<SessionInfo>> Resolve(std::string token);

  LoginThrottle& Throttle() { return throttle_; }

 private:
  storage::Store& store_;
  PasswordHasher& hasher_;
  const Clock& clock_;
  SessionOptions options_;
  LoginThrottle throttle_;
};

}  // namespace parley::manager
