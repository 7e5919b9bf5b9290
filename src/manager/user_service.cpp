#include "manager/user_service.hpp"

#include <fmt/format.h>
#include <sodium.h>

#include <algorithm>
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <set>

namespace parley::manager {
namespace asio = boost::asio;
namespace json = boost::json;
using storage::Tx;
using storage::UserRecord;

namespace {

bool NameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

bool IsName(const std::string& s) {
  return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), NameChar);
}

// Characters, not bytes: UTF-8 continuation bytes do not count.
size_t Utf8Length(const std::string& s) {
  return static_cast<size_t>(std::count_if(
      s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

Failure UserNotFound() {
  return Fail(Errc::kNotFound, "user_not_found",
              "No user has this username; list them with GET /api/v1/users.");
}

Failure Invalid(std::string code, std::string message) {
  return Fail(Errc::kInvalidArgument, std::move(code), std::move(message));
}

Result<std::optional<std::string>> StringField(const json::object& o, std::string_view key,
                                               const char* code, const char* message) {
  const json::value* v = o.if_contains(key);
  if (!v || v->is_null()) return std::optional<std::string>();
  if (!v->is_string()) return Invalid(code, message);
  return std::optional<std::string>(std::string(v->as_string()));
}

constexpr const char* kUsernameRule =
    "'username' must be 1 to 64 characters of a-z, 0-9, '.', '_' and '-'.";
constexpr const char* kDisplayNameRule = "'display_name' must be 1 to 100 characters.";
constexpr const char* kRoleRule = "'role' must be \"admin\", \"supervisor\" or \"agent\".";
constexpr const char* kQueuesRule =
    "'queues' must be a list of distinct queue names, each 1 to 64 characters of a-z, 0-9, '.', "
    "'_' and '-'.";
constexpr const char* kMaxChatsRule = "'max_chats' must be a whole number from 1 to 20.";
constexpr const char* kPasswordRule = "'password' must be a string of 10 to 1024 characters.";

}  // namespace

Result<void> CheckUsername(const std::string& username) {
  if (!IsName(username)) return Invalid("invalid_username", kUsernameRule);
  return {};
}

Result<void> CheckDisplayName(const std::string& display_name) {
  size_t n = Utf8Length(display_name);
  bool blank = std::all_of(display_name.begin(), display_name.end(),
                           [](char c) { return c == ' ' || c == '\t'; });
  bool control = std::any_of(display_name.begin(), display_name.end(), [](char c) {
    return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
  });
  if (n == 0 || n > 100 || blank || control)
    return Invalid("invalid_display_name", kDisplayNameRule);
  return {};
}

Result<void> CheckRole(const std::string& role) {
  if (role != "admin" && role != "supervisor" && role != "agent")
    return Invalid("invalid_role", kRoleRule);
  return {};
}

Result<void> CheckQueues(const std::vector<std::string>& queues) {
  std::set<std::string> seen;
  for (const auto& q : queues)
    if (!IsName(q) || !seen.insert(q).second) return Invalid("invalid_queues", kQueuesRule);
  if (queues.size() > 100) return Invalid("invalid_queues", "A user can be in at most 100 queues.");
  return {};
}

Result<void> CheckMaxChats(int64_t max_chats) {
  if (max_chats < 1 || max_chats > 20) return Invalid("invalid_max_chats", kMaxChatsRule);
  return {};
}

Result<void> CheckPassword(const std::string& password) {
  size_t n = Utf8Length(password);
  if (n < kMinPasswordLength)
    return Invalid("password_too_short", "The password must have at least 10 characters.");
  if (password.size() > kMaxPasswordLength)
    return Invalid("password_too_long", "The password must have at most 1024 characters.");
  // Whitespace alone, or one character repeated (in any of its UTF-8 bytes), is guessed first.
  bool blank = std::all_of(password.begin(), password.end(), [](char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
  });
  if (blank) return Invalid("password_too_weak", "The password must not be only whitespace.");
  size_t first = 1;  // the length of the first UTF-8 character
  while (first < password.size() && (static_cast<unsigned char>(password[first]) & 0xC0) == 0x80)
    ++first;
  bool repeated = password.size() % first == 0;
  for (size_t i = first; repeated && i < password.size(); i += first)
    repeated = password.compare(i, first, password, 0, first) == 0;
  if (repeated)
    return Invalid("password_too_weak",
                   "The password must not be one character repeated; choose a longer phrase.");
  return {};
}

Result<UserChanges> DecodeUserChanges(const json::value& body) {
  if (!body.is_object())
    return Invalid("invalid_payload",
                   "Send a JSON object with any of display_name, role, queues, max_chats, "
                   "enabled.");
  const json::object& o = body.as_object();
  UserChanges out;
  auto display = StringField(o, "display_name", "invalid_display_name", kDisplayNameRule);
  if (!display) return Fail(display.error());
  if (*display) {
    if (auto ok = CheckDisplayName(**display); !ok) return Fail(ok.error());
    out.display_name = std::move(*display);
  }
  auto role = StringField(o, "role", "invalid_role", kRoleRule);
  if (!role) return Fail(role.error());
  if (*role) {
    if (auto ok = CheckRole(**role); !ok) return Fail(ok.error());
    out.role = std::move(*role);
  }
  if (const json::value* v = o.if_contains("queues"); v && !v->is_null()) {
    if (!v->is_array()) return Invalid("invalid_queues", kQueuesRule);
    std::vector<std::string> queues;
    for (const auto& q : v->as_array()) {
      if (!q.is_string()) return Invalid("invalid_queues", kQueuesRule);
      queues.emplace_back(q.as_string());
    }
    if (auto ok = CheckQueues(queues); !ok) return Fail(ok.error());
    out.queues = std::move(queues);
  }
  if (const json::value* v = o.if_contains("max_chats"); v && !v->is_null()) {
    if (!v->is_int64() && !v->is_uint64()) return Invalid("invalid_max_chats", kMaxChatsRule);
    int64_t n = v->is_int64() ? v->as_int64() : 0;
    if (auto ok = CheckMaxChats(n); !ok) return Fail(ok.error());
    out.max_chats = n;
  }
  if (const json::value* v = o.if_contains("enabled"); v && !v->is_null()) {
    if (!v->is_bool()) return Invalid("invalid_enabled", "'enabled' must be true or false.");
    out.enabled = v->as_bool();
  }
  return out;
}

Result<std::string> DecodePassword(const json::value& body) {
  if (!body.is_object()) return Invalid("invalid_payload", "Send a JSON object with 'password'.");
  const json::value* v = body.as_object().if_contains("password");
  if (!v || !v->is_string()) return Invalid("invalid_password", kPasswordRule);
  std::string password(v->as_string());
  if (auto ok = CheckPassword(password); !ok) return Fail(ok.error());
  return password;
}

Result<NewUser> DecodeNewUser(const json::value& body) {
  if (!body.is_object())
    return Invalid("invalid_payload",
                   "Send a JSON object with username, password, display_name, role, queues and "
                   "max_chats.");
  const json::object& o = body.as_object();
  NewUser out;
  const json::value* name = o.if_contains("username");
  if (!name || !name->is_string()) return Invalid("invalid_username", kUsernameRule);
  out.username = std::string(name->as_string());
  if (auto ok = CheckUsername(out.username); !ok) return Fail(ok.error());
  auto password = DecodePassword(body);
  if (!password) return Fail(password.error());
  out.password = std::move(*password);
  auto fields = DecodeUserChanges(body);
  if (!fields) return Fail(fields.error());
  if (!fields->display_name) return Invalid("invalid_display_name", kDisplayNameRule);
  if (!fields->role) return Invalid("invalid_role", kRoleRule);
  out.display_name = std::move(*fields->display_name);
  out.role = std::move(*fields->role);
  if (fields->queues) out.queues = std::move(*fields->queues);
  if (fields->max_chats) out.max_chats = *fields->max_chats;
  if (fields->enabled) out.enabled = *fields->enabled;
  return out;
}

json::object UserJson(const UserRecord& u) {
  json::array queues;
  for (const auto& q : u.queues) queues.emplace_back(q);
  return json::object{{"username", u.username},
                      {"display_name", u.display_name},
                      {"role", u.role},
                      {"queues", std::move(queues)},
                      {"max_chats", u.max_chats},
                      {"enabled", u.enabled},
                      {"created_at", FormatTimestamp(u.created_at_ms)},
                      {"updated_at", FormatTimestamp(u.updated_at_ms)}};
}

PasswordHasher::PasswordHasher(asio::any_io_executor blocking, size_t max_pending)
    : blocking_(std::move(blocking)), max_pending_(max_pending) {}

Result<std::string> PasswordHasher::HashNow(const std::string& password) {
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str(out, password.data(), password.size(), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                        crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
    return Fail(Errc::kUnavailable, "busy",
                "The server could not hash the password (out of memory); retry shortly.");
  return std::string(out);
}

bool PasswordHasher::VerifyNow(const std::string& hash, const std::string& password) {
  if (hash.empty() || hash.size() >= crypto_pwhash_STRBYTES) return false;
  return crypto_pwhash_str_verify(hash.c_str(), password.data(), password.size()) == 0;
}

const std::string& PasswordHasher::DummyHash() {
  std::call_once(dummy_once_, [this] {
    unsigned char random[24];
    randombytes_buf(random, sizeof random);
    char hex[2 * sizeof random + 1];
    sodium_bin2hex(hex, sizeof hex, random, sizeof random);
    dummy_hash_ = HashNow(hex).value_or("");
  });
  return dummy_hash_;
}

template <class T>
asio::awaitable<Result<T>> PasswordHasher::Offload(std::function<Result<T>()> fn) {
  if (pending_.fetch_add(1) >= max_pending_) {
    pending_.fetch_sub(1);
    co_return Fail(Errc::kUnavailable, "busy",
                   "Too many sign-ins and password changes are in progress; retry shortly.");
  }
  auto initiate = [this, fn = std::move(fn)](auto handler) mutable {
    // The work runs on the blocking pool; the result is handed back to the caller's executor.
    asio::post(blocking_, [this, fn = std::move(fn), handler = std::move(handler)]() mutable {
      Result<T> r = fn();
      pending_.fetch_sub(1);
      auto ex = asio::get_associated_executor(handler);
      asio::post(ex, [handler = std::move(handler), r = std::move(r)]() mutable {
        handler(std::move(r));
      });
    });
  };
  co_return co_await asio::async_initiate<decltype(asio::use_awaitable), void(Result<T>)>(
      std::move(initiate), asio::use_awaitable);
}

asio::awaitable<Result<std::string>> PasswordHasher::Hash(std::string password) {
  std::function<Result<std::string>()> fn = [password = std::move(password)] {
    return HashNow(password);
  };
  co_return co_await Offload<std::string>(std::move(fn));
}

asio::awaitable<Result<bool>> PasswordHasher::Verify(std::string hash, std::string password) {
  std::function<Result<bool>()> fn = [this, hash = std::move(hash),
                                      password = std::move(password)]() -> Result<bool> {
    if (hash.empty()) {
      VerifyNow(DummyHash(), password);  // spend the same time as a real check
      return false;
    }
    return VerifyNow(hash, password);
  };
  co_return co_await Offload<bool>(std::move(fn));
}

UserService::UserService(storage::Store& store, PasswordHasher& hasher, const Clock& clock)
    : store_(store), hasher_(hasher), clock_(clock) {}

void UserService::SetOnSessionsEnded(std::function<void(const std::string&)> hook) {
  std::lock_guard lock(hook_mutex_);
  on_sessions_ended_ = std::move(hook);
}

void UserService::SessionsEnded(const std::string& username) {
  std::function<void(const std::string&)> hook;
  {
    std::lock_guard lock(hook_mutex_);
    hook = on_sessions_ended_;
  }
  if (hook) hook(username);
}

asio::awaitable<Result<UserRecord>> UserService::Create(NewUser input) {
  if (auto ok = CheckUsername(input.username); !ok) co_return Fail(ok.error());
  if (auto ok = CheckPassword(input.password); !ok) co_return Fail(ok.error());
  if (auto ok = CheckDisplayName(input.display_name); !ok) co_return Fail(ok.error());
  if (auto ok = CheckRole(input.role); !ok) co_return Fail(ok.error());
  if (auto ok = CheckQueues(input.queues); !ok) co_return Fail(ok.error());
  if (auto ok = CheckMaxChats(input.max_chats); !ok) co_return Fail(ok.error());
  auto hash = co_await hasher_.Hash(std::move(input.password));
  if (!hash) co_return Fail(hash.error());
  UserRecord u;
  u.username = std::move(input.username);
  u.display_name = std::move(input.display_name);
  u.role = std::move(input.role);
  u.queues = std::move(input.queues);
  u.max_chats = input.max_chats;
  u.enabled = input.enabled;
  u.password_hash = std::move(*hash);
  u.created_at_ms = u.updated_at_ms = clock_.NowMs();
  auto job = [u](Tx& tx) -> Result<UserRecord> {
    auto r = tx.InsertUser(u);
    if (!r) return Fail(r.error());
    return u;
  };
  co_return co_await store_.Write<UserRecord>(job);
}

asio::awaitable<Result<std::vector<UserRecord>>> UserService::List() {
  auto job = [](Tx& tx) { return tx.ListUsers(); };
  co_return co_await store_.Read<std::vector<UserRecord>>(job);
}

asio::awaitable<Result<UserRecord>> UserService::Get(std::string username) {
  auto job = [username](Tx& tx) -> Result<UserRecord> {
    auto u = tx.GetUser(username);
    if (!u) return Fail(u.error());
    if (!*u) return UserNotFound();
    return std::move(**u);
  };
  co_return co_await store_.Read<UserRecord>(job);
}

asio::awaitable<Result<UserRecord>> UserService::Update(std::string username, UserChanges changes) {
  int64_t now = clock_.NowMs();
  struct Outcome {
    UserRecord user;
    bool ended = false;
  };
  auto job = [username, changes, now](Tx& tx) -> Result<Outcome> {
    auto found = tx.GetUser(username);
    if (!found) return Fail(found.error());
    if (!*found) return UserNotFound();
    Outcome out{std::move(**found)};
    UserRecord& u = out.user;
    if (changes.display_name) u.display_name = *changes.display_name;
    if (changes.role) u.role = *changes.role;
    if (changes.queues) u.queues = *changes.queues;
    if (changes.max_chats) u.max_chats = *changes.max_chats;
    if (changes.enabled) {
      out.ended = u.enabled && !*changes.enabled;
      u.enabled = *changes.enabled;
    }
    u.updated_at_ms = now;
    if (auto r = tx.UpdateUser(u); !r) return Fail(r.error());
    if (!u.enabled)
      if (auto r = tx.DeleteUserSessions(u.username); !r) return Fail(r.error());
    return out;
  };
  auto done = co_await store_.Write<Outcome>(job);
  if (!done) co_return Fail(done.error());
  if (!done->user.enabled) SessionsEnded(done->user.username);
  co_return std::move(done->user);
}

asio::awaitable<Result<void>> UserService::Delete(std::string username) {
  DeleteStep step = [username](Tx& tx) -> Result<bool> {
    auto r = tx.DeleteUser(username);  // and its sessions; the name is retired
    if (!r) return Fail(r.error());
    if (!*r) return UserNotFound();
    return true;
  };
  Result<bool> done = false;
  if (remover_) {
    done = co_await remover_(username, step);
  } else {
    auto job = [&step](Tx& tx) { return step(tx); };
    done = co_await store_.Write<bool>(job);
  }
  if (!done) co_return Fail(done.error());
  SessionsEnded(username);
  co_return Result<void>{};
}

asio::awaitable<Result<void>> UserService::SetPassword(std::string username, std::string password) {
  if (auto ok = CheckPassword(password); !ok) co_return Fail(ok.error());
  // Refuse an unknown user before spending a hash on it.
  auto exists = co_await Get(username);
  if (!exists) co_return Fail(exists.error());
  auto hash = co_await hasher_.Hash(std::move(password));
  if (!hash) co_return Fail(hash.error());
  int64_t now = clock_.NowMs();
  auto job = [username, hash = std::move(*hash), now](Tx& tx) -> Result<bool> {
    auto found = tx.GetUser(username);
    if (!found) return Fail(found.error());
    if (!*found) return UserNotFound();
    UserRecord u = std::move(**found);
    u.password_hash = hash;
    u.updated_at_ms = now;
    if (auto r = tx.UpdateUser(u); !r) return Fail(r.error());
    if (auto r = tx.DeleteUserSessions(username); !r) return Fail(r.error());
    return true;
  };
  auto done = co_await store_.Write<bool>(job);
  if (!done) co_return Fail(done.error());
  SessionsEnded(username);
  co_return Result<void>{};
}

}  // namespace parley::manager
