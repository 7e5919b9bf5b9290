#pragma once
// Sign-in: login with a username and password, sessions kept in the store (only a SHA-256 of
// the token), idle expiry, logout, and the throttle on failed attempts.

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <functional>
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

// Failed sign-ins of one key (a username *and* an address): the first `free_failures` cost
// nothing; after them each attempt must wait a delay that doubles with every further failure
// (1 s, 2 s, 4 s, ... up to `max_delay_ms`) from the last failure. Nothing is a hard lock: the
// key can always try again after its delay. A key forgets its failures `forget_after_ms`
// after the last one, or on a success. Keeps at most `max_keys` keys, dropping the least
// recently failed. Thread-safe.
class LoginBackoff {
 public:
  LoginBackoff(const Clock& clock, int64_t free_failures = 5, int64_t max_delay_ms = 300'000,
               int64_t forget_after_ms = 3'600'000, size_t max_keys = 10'000);

  // The wait in seconds (1 or more) when `key` must wait, or else 0 after counting one failure
  // in advance (so attempts running at once cannot slip through together).
  int64_t Begin(const std::string& key);
  // Takes back the failure Begin counted (the store failed, not the password).
  void Forgive(const std::string& key);
  // A success: the key starts afresh.
  void Reset(const std::string& key);
  size_t Size() const;

 private:
  struct Entry {
    int64_t failures = 0;
    int64_t last_ms = 0;
    std::list<std::string>::iterator lru;
  };
  int64_t DelayMs(int64_t failures) const;

  const Clock& clock_;
  int64_t free_failures_;
  int64_t max_delay_ms_;
  int64_t forget_after_ms_;
  size_t max_keys_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Entry> entries_;
  std::list<std::string> lru_;  // most recently failed first
};

struct SessionOptions {
  int64_t idle_ms = 12 * 3600 * 1000LL;  // a session ends after this long without use
  int64_t touch_every_ms = 60'000;       // last_used_at is written at most this often
};

// When a session with this recorded last use ends. last_used_at is written at most every
// touch_every_ms, so the true last use may be up to that much later than the record: the
// session ends idle_ms after the record plus touch_every_ms, never before idle_ms have passed
// since the true last use (and at most touch_every_ms after).
int64_t SessionExpiresAt(const SessionOptions& options, int64_t last_used_at_ms);

// What must end with a session: its live streams. Thread-safe.
class SessionWatchers {
 public:
  using Closer = std::function<void()>;
  // `closer` runs (once) when the session of `token_hash` ends by sign-out.
  uint64_t Watch(const std::string& token_hash, Closer closer);
  void Unwatch(uint64_t id);
  // Runs and forgets every closer of the session.
  void Ended(const std::string& token_hash);
  size_t Size() const;

 private:
  mutable std::mutex mu_;
  uint64_t next_id_ = 1;
  std::unordered_map<uint64_t, std::pair<std::string, Closer>> watchers_;
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
  // `retry_after_s` set) when this username from this address is in its growing delay
  // (LoginBackoff: five free failures, then 1 s, 2 s, 4 s ... up to 5 min), or after 30
  // failures within a minute from the address whatever the usernames. A stranger's failures
  // never slow the user down from another address. `remote_address` is the client's address
  // (behind a trusted proxy, from X-Forwarded-For).
  boost::asio::awaitable<Result<LoginResult>> Login(std::string username, std::string password,
                                                    std::string remote_address,
                                                    int64_t* retry_after_s = nullptr);
  // Ends the session of this token (nothing when there is none), and closes what watches it.
  boost::asio::awaitable<Result<void>> Logout(std::string token);
  // When the session of `token` ends if it is not used before (SessionExpiresAt), without
  // using it; kUnauthenticated when it has ended already (or its user is gone or disabled).
  boost::asio::awaitable<Result<int64_t>> ExpiresAt(std::string token);
  // The session of `token` and its user, or kUnauthenticated unauthenticated when the token
  // is unknown, idle too long, or its user is gone or disabled. Touches last_used_at at most
  // once per touch_every_ms.
  boost::asio::awaitable<Result<SessionInfo>> Resolve(std::string token);

  LoginThrottle& Throttle() { return throttle_; }
  LoginBackoff& Backoff() { return backoff_; }
  SessionWatchers& Watchers() { return watchers_; }
  const SessionOptions& options() const { return options_; }

 private:
  storage::Store& store_;
  PasswordHasher& hasher_;
  const Clock& clock_;
  SessionOptions options_;
  LoginThrottle throttle_;  // per address
  LoginBackoff backoff_;    // per username and address
  SessionWatchers watchers_;
};

}  // namespace parley::manager
