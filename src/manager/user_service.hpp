#pragma once
// People who sign in (administrators and agents): validation of their fields, the JSON the API
// shows, Argon2id password hashing off the I/O threads, and the admin operations on users.
// Disabling, deleting or re-passwording a user ends their sessions at once and tells
// `on_sessions_ended` so live event streams can be closed too.

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/result.hpp"
#include "storage/store.hpp"

namespace parley::manager {

inline constexpr size_t kMinPasswordLength = 10;
inline constexpr size_t kMaxPasswordLength = 1024;
inline constexpr int64_t kDefaultMaxChats = 3;

// Field checks, each failing with kInvalidArgument and a field-specific code
// (invalid_username, invalid_display_name, invalid_role, invalid_queues, invalid_max_chats,
// password_too_short, password_too_long, password_too_weak: only whitespace, or one character
// repeated).
Result<void> CheckUsername(const std::string& username);
Result<void> CheckDisplayName(const std::string& display_name);
Result<void> CheckRole(const std::string& role);
Result<void> CheckQueues(const std::vector<std::string>& queues);
Result<void> CheckMaxChats(int64_t max_chats);
Result<void> CheckPassword(const std::string& password);

struct NewUser {
  std::string username;
  std::string password;
  std::string display_name;
  std::string role;
  std::vector<std::string> queues;
  int64_t max_chats = kDefaultMaxChats;
  bool enabled = true;
};

struct UserChanges {
  std::optional<std::string> display_name;
  std::optional<std::string> role;
  std::optional<std::vector<std::string>> queues;
  std::optional<int64_t> max_chats;
  std::optional<bool> enabled;
};

// Decoders of the REST bodies; they validate every field they return.
Result<NewUser> DecodeNewUser(const boost::json::value& body);
Result<UserChanges> DecodeUserChanges(const boost::json::value& body);
// {"password": "..."} of POST /api/v1/users/{username}/password, validated.
Result<std::string> DecodePassword(const boost::json::value& body);

// {username,display_name,role,queues,max_chats,enabled,created_at,updated_at}: never the hash.
boost::json::object UserJson(const storage::UserRecord& u);

// Runs Argon2id (libsodium crypto_pwhash_str, interactive limits: ~0.1 s and 64 MiB each) on
// the `blocking` executor and resumes the caller on its own executor. At most `max_pending`
// hash or verify calls wait or run at once; past that they fail at once with kUnavailable
// (busy). Thread-safe.
class PasswordHasher {
 public:
  PasswordHasher(boost::asio::any_io_executor blocking, size_t max_pending = 16);

  boost::asio::awaitable<Result<std::string>> Hash(std::string password);
  // True when `password` matches `hash`. With an empty hash it checks against a dummy hash
  // (so an unknown username costs as much as a wrong password) and answers false.
  boost::asio::awaitable<Result<bool>> Verify(std::string hash, std::string password);

  // The synchronous forms (for the blocking thread and for tests).
  static Result<std::string> HashNow(const std::string& password);
  static bool VerifyNow(const std::string& hash, const std::string& password);

 private:
  template <class T>
  boost::asio::awaitable<Result<T>> Offload(std::function<Result<T>()> fn);
  const std::string& DummyHash();

  boost::asio::any_io_executor blocking_;
  size_t max_pending_;
  std::atomic<size_t> pending_{0};
  std::once_flag dummy_once_;
  std::string dummy_hash_;
};

class UserService {
 public:
  UserService(storage::Store& store, PasswordHasher& hasher, const Clock& clock);

  // Called (on the caller's thread) with a username whose sessions were all ended.
  void SetOnSessionsEnded(std::function<void(const std::string& username)> hook);

  // The store step that deletes a user (row, sessions; the name is retired): true when done,
  // kNotFound user_not_found when there is no such user.
  using DeleteStep = std::function<Result<bool>(storage::Tx&)>;
  // Runs `step` as one write job together with what else deleting the user means (serve wires
  // routing's UserRemoved here, so the user's chats go back to their queues in the same
  // transaction). Without one, Delete runs the step alone.
  using Remover =
      std::function<boost::asio::awaitable<Result<bool>>(std::string username, DeleteStep step)>;
  void SetRemover(Remover remover) { remover_ = std::move(remover); }

  // kConflict user_exists when the username is taken.
  boost::asio::awaitable<Result<storage::UserRecord>> Create(NewUser input);
  boost::asio::awaitable<Result<std::vector<storage::UserRecord>>> List();
  // kNotFound user_not_found when absent.
  boost::asio::awaitable<Result<storage::UserRecord>> Get(std::string username);
  // Disabling ends the user's sessions.
  boost::asio::awaitable<Result<storage::UserRecord>> Update(std::string username,
                                                             UserChanges changes);
  // Deletes the user and their sessions; the username is never given to anyone again.
  boost::asio::awaitable<Result<void>> Delete(std::string username);
  // Sets a new password and ends the user's sessions.
  boost::asio::awaitable<Result<void>> SetPassword(std::string username, std::string password);

 private:
  void SessionsEnded(const std::string& username);

  storage::Store& store_;
  PasswordHasher& hasher_;
  const Clock& clock_;
  std::mutex hook_mutex_;
  std::function<void(const std::string&)> on_sessions_ended_;
  Remover remover_;
};

}  // namespace parley::manager
