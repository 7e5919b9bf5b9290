#include "manager/session_service.hpp"

#include <sodium.h>

#include <algorithm>

namespace parley::manager {
namespace asio = boost::asio;
using storage::SessionRecord;
using storage::Tx;
using storage::UserRecord;

namespace {

Failure InvalidCredentials() {
  return Fail(Errc::kUnauthenticated, "invalid_credentials",
              "The username or password is wrong; check both and sign in again.");
}

Failure Unauthenticated() {
  return Fail(Errc::kUnauthenticated, "unauthenticated",
              "Sign in again: the session is unknown, expired or ended.");
}

std::string RandomToken() {
  unsigned char bytes[32];
  randombytes_buf(bytes, sizeof bytes);
  char out[sodium_base64_ENCODED_LEN(sizeof bytes, sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
  sodium_bin2base64(out, sizeof out, bytes, sizeof bytes, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  return out;
}

}  // namespace

std::string NewSessionToken() { return RandomToken(); }

std::string HashSessionToken(std::string_view token) {
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(token.data()), token.size());
  char hex[2 * crypto_hash_sha256_BYTES + 1];
  sodium_bin2hex(hex, sizeof hex, digest, sizeof digest);
  return hex;
}

bool SameSecret(std::string_view a, std::string_view b) {
  unsigned char da[crypto_hash_sha256_BYTES], db[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(da, reinterpret_cast<const unsigned char*>(a.data()), a.size());
  crypto_hash_sha256(db, reinterpret_cast<const unsigned char*>(b.data()), b.size());
  return sodium_memcmp(da, db, sizeof da) == 0;
}

LoginThrottle::LoginThrottle(const Clock& clock, size_t max_failures, int64_t window_ms,
                             size_t max_keys)
    : clock_(clock),
      max_failures_(std::max<size_t>(1, max_failures)),
      window_ms_(window_ms),
      max_keys_(std::max<size_t>(1, max_keys)) {}

void LoginThrottle::Prune(Entry& e, int64_t now) {
  auto stale = std::find_if(e.failures.begin(), e.failures.end(),
                            [&](int64_t t) { return t + window_ms_ > now; });
  e.failures.erase(e.failures.begin(), stale);
}

int64_t LoginThrottle::WaitLocked(const std::string& key, int64_t now) {
  auto it = entries_.find(key);
  if (it == entries_.end()) return 0;
  Prune(it->second, now);
  if (it->second.failures.size() < max_failures_) return 0;
  int64_t wait_ms = it->second.failures.front() + window_ms_ - now;
  return std::clamp<int64_t>((wait_ms + 999) / 1000, 1, (window_ms_ + 999) / 1000);
}

int64_t LoginThrottle::RecordLocked(const std::string& key, int64_t now) {
  auto it = entries_.find(key);
  if (it == entries_.end()) {
    if (entries_.size() >= max_keys_) {
      entries_.erase(lru_.back());
      lru_.pop_back();
    }
    lru_.push_front(key);
    it = entries_.emplace(key, Entry{{}, lru_.begin()}).first;
  } else {
    lru_.splice(lru_.begin(), lru_, it->second.lru);
  }
  Entry& e = it->second;
  Prune(e, now);
  e.failures.push_back(now);
  if (e.failures.size() > max_failures_) e.failures.erase(e.failures.begin());
  return now;
}

int64_t LoginThrottle::RetryAfterSeconds(const std::string& key) {
  std::lock_guard lock(mutex_);
  return WaitLocked(key, clock_.NowMs());
}

int64_t LoginThrottle::RecordFailure(const std::string& key) {
  std::lock_guard lock(mutex_);
  return RecordLocked(key, clock_.NowMs());
}

int64_t LoginThrottle::Begin(const std::string& key, int64_t* at) {
  std::lock_guard lock(mutex_);
  int64_t now = clock_.NowMs();
  if (int64_t wait = WaitLocked(key, now); wait > 0) return wait;
  *at = RecordLocked(key, now);
  return 0;
}

void LoginThrottle::Forgive(const std::string& key, int64_t at) {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(key);
  if (it == entries_.end()) return;
  auto& f = it->second.failures;
  if (auto pos = std::find(f.rbegin(), f.rend(), at); pos != f.rend())
    f.erase(std::next(pos).base());
}

size_t LoginThrottle::Size() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

LoginBackoff::LoginBackoff(const Clock& clock, int64_t free_failures, int64_t max_delay_ms,
                           int64_t forget_after_ms, size_t max_keys)
    : clock_(clock),
      free_failures_(std::max<int64_t>(0, free_failures)),
      max_delay_ms_(std::max<int64_t>(1000, max_delay_ms)),
      forget_after_ms_(forget_after_ms),
      max_keys_(std::max<size_t>(1, max_keys)) {}

int64_t LoginBackoff::DelayMs(int64_t failures) const {
  int64_t beyond = failures - free_failures_;  // 0 after the last free failure
  if (beyond < 0) return 0;
  if (beyond >= 30) return max_delay_ms_;
  return std::min<int64_t>(max_delay_ms_, 1000LL << beyond);
}

int64_t LoginBackoff::Begin(const std::string& key) {
  std::lock_guard lock(mutex_);
  int64_t now = clock_.NowMs();
  auto it = entries_.find(key);
  if (it != entries_.end() && now - it->second.last_ms >= forget_after_ms_) {
    lru_.erase(it->second.lru);
    entries_.erase(it);
    it = entries_.end();
  }
  if (it == entries_.end()) {
    if (entries_.size() >= max_keys_) {
      entries_.erase(lru_.back());
      lru_.pop_back();
    }
    lru_.push_front(key);
    it = entries_.emplace(key, Entry{0, now, lru_.begin()}).first;
  } else {
    int64_t wait_ms = it->second.last_ms + DelayMs(it->second.failures) - now;
    if (wait_ms > 0) return (wait_ms + 999) / 1000;
    lru_.splice(lru_.begin(), lru_, it->second.lru);
  }
  it->second.failures += 1;
  it->second.last_ms = now;
  return 0;
}

void LoginBackoff::Forgive(const std::string& key) {
  std::lock_guard lock(mutex_);
  if (auto it = entries_.find(key); it != entries_.end() && it->second.failures > 0)
    it->second.failures -= 1;
}

void LoginBackoff::Reset(const std::string& key) {
  std::lock_guard lock(mutex_);
  if (auto it = entries_.find(key); it != entries_.end()) {
    lru_.erase(it->second.lru);
    entries_.erase(it);
  }
}

size_t LoginBackoff::Size() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

int64_t SessionExpiresAt(const SessionOptions& options, int64_t last_used_at_ms) {
  return last_used_at_ms + options.idle_ms + options.touch_every_ms;
}

uint64_t SessionWatchers::Watch(const std::string& token_hash, Closer closer) {
  std::lock_guard lock(mu_);
  uint64_t id = next_id_++;
  watchers_.emplace(id, std::make_pair(token_hash, std::move(closer)));
  return id;
}

void SessionWatchers::Unwatch(uint64_t id) {
  std::lock_guard lock(mu_);
  watchers_.erase(id);
}

void SessionWatchers::Ended(const std::string& token_hash) {
  std::vector<Closer> closers;
  {
    std::lock_guard lock(mu_);
    for (auto it = watchers_.begin(); it != watchers_.end();) {
      if (it->second.first == token_hash) {
        closers.push_back(std::move(it->second.second));
        it = watchers_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& close : closers) close();  // outside the lock: a closer may call Unwatch
}

size_t SessionWatchers::Size() const {
  std::lock_guard lock(mu_);
  return watchers_.size();
}

SessionService::SessionService(storage::Store& store, PasswordHasher& hasher, const Clock& clock,
                               SessionOptions options)
    : store_(store),
      hasher_(hasher),
      clock_(clock),
      options_(options),
      throttle_(clock, /*max_failures=*/30),
      backoff_(clock) {}

asio::awaitable<Result<LoginResult>> SessionService::Login(std::string username,
                                                           std::string password,
                                                           std::string remote_address,
                                                           int64_t* retry_after_s) {
  // Usernames are at most 64 characters; a longer one still counts, but it cannot grow the map.
  // The user's key holds the address too: a stranger elsewhere cannot slow the user down.
  std::string user_key = "user:" + username.substr(0, 64) + "\n" + remote_address;
  std::string address_key = remote_address.empty() ? "" : "addr:" + remote_address;
  // Each attempt counts as a failure from the start, so attempts running at once cannot pass
  // the limit together; a success takes its count back.
  int64_t address_at = 0;
  int64_t wait = 0;
  if (!address_key.empty()) wait = throttle_.Begin(address_key, &address_at);
  if (wait == 0) {
    wait = backoff_.Begin(user_key);
    if (wait > 0 && !address_key.empty()) throttle_.Forgive(address_key, address_at);
  }
  if (wait > 0) {
    if (retry_after_s) *retry_after_s = wait;
    co_return Fail(Errc::kRateLimited, "too_many_attempts",
                   "Too many failed sign-ins for this user from this address; wait for the "
                   "Retry-After seconds and try again.");
  }
  auto forgive = [&] {
    backoff_.Forgive(user_key);
    if (!address_key.empty()) throttle_.Forgive(address_key, address_at);
  };
  if (username.empty() || username.size() > 64 || password.size() > kMaxPasswordLength)
    co_return InvalidCredentials();

  auto read = [username](Tx& tx) { return tx.GetUser(username); };
  auto found = co_await store_.Read<std::optional<UserRecord>>(read);
  if (!found) {
    forgive();  // the store's trouble, not a wrong password
    co_return Fail(found.error());
  }
  // An unknown user is checked against a dummy hash: the same time as a wrong password.
  std::string hash = *found ? (*found)->password_hash : std::string();
  auto ok = co_await hasher_.Verify(std::move(hash), std::move(password));
  if (!ok) {
    forgive();
    co_return Fail(ok.error());
  }
  if (!*ok || !*found || !(*found)->enabled) co_return InvalidCredentials();
  backoff_.Reset(user_key);
  if (!address_key.empty()) throttle_.Forgive(address_key, address_at);

  LoginResult out{NewSessionToken(), NewSessionToken(), std::move(**found)};
  int64_t now = clock_.NowMs();
  SessionRecord s{HashSessionToken(out.token), out.user.username, out.csrf, now, now};
  // Only sessions that have surely ended (SessionExpiresAt), never one still in its time.
  int64_t idle_before = now - options_.idle_ms - options_.touch_every_ms;
  auto write = [s, idle_before](Tx& tx) -> Result<bool> {
    // Sweeping idle sessions here keeps the table from growing without a timer.
    if (auto r = tx.DeleteIdleSessions(idle_before); !r) return Fail(r.error());
    if (auto r = tx.InsertSession(s); !r) return Fail(r.error());
    return true;
  };
  auto stored = co_await store_.Write<bool>(write);
  if (!stored) co_return Fail(stored.error());
  co_return out;
}

asio::awaitable<Result<void>> SessionService::Logout(std::string token) {
  std::string hash = HashSessionToken(token);
  auto job = [hash](Tx& tx) -> Result<bool> {
    if (auto r = tx.DeleteSession(hash); !r) return Fail(r.error());
    return true;
  };
  auto done = co_await store_.Write<bool>(job);
  if (!done) co_return Fail(done.error());
  watchers_.Ended(hash);
  co_return Result<void>{};
}

asio::awaitable<Result<int64_t>> SessionService::ExpiresAt(std::string token) {
  if (token.empty() || token.size() > 512) co_return Unauthenticated();
  auto read = [hash = HashSessionToken(token)](Tx& tx) -> Result<std::optional<int64_t>> {
    auto s = tx.GetSession(hash);
    if (!s) return Fail(s.error());
    if (!*s) return std::optional<int64_t>();
    auto u = tx.GetUser((*s)->username);
    if (!u) return Fail(u.error());
    if (!*u || !(*u)->enabled) return std::optional<int64_t>();
    return std::optional<int64_t>((*s)->last_used_at_ms);
  };
  auto found = co_await store_.Read<std::optional<int64_t>>(read);
  if (!found) co_return Fail(found.error());
  if (!*found) co_return Unauthenticated();
  int64_t at = SessionExpiresAt(options_, **found);
  if (clock_.NowMs() >= at) co_return Unauthenticated();
  co_return at;
}

asio::awaitable<Result<SessionInfo>> SessionService::Resolve(std::string token) {
  if (token.empty() || token.size() > 512) co_return Unauthenticated();
  std::string hash = HashSessionToken(token);
  auto read = [hash](Tx& tx) -> Result<std::optional<SessionInfo>> {
    auto s = tx.GetSession(hash);
    if (!s) return Fail(s.error());
    if (!*s) return std::optional<SessionInfo>();
    auto u = tx.GetUser((*s)->username);
    if (!u) return Fail(u.error());
    if (!*u) return std::optional<SessionInfo>();
    return std::optional<SessionInfo>(SessionInfo{std::move(**s), std::move(**u)});
  };
  auto found = co_await store_.Read<std::optional<SessionInfo>>(read);
  if (!found) co_return Fail(found.error());
  if (!*found || !(*found)->user.enabled) co_return Unauthenticated();
  SessionInfo info = std::move(**found);
  int64_t now = clock_.NowMs();
  if (now >= SessionExpiresAt(options_, info.session.last_used_at_ms)) co_return Unauthenticated();
  if (now - info.session.last_used_at_ms >= options_.touch_every_ms) {
    auto touch = [hash, now](Tx& tx) -> Result<bool> {
      if (auto r = tx.TouchSession(hash, now); !r) return Fail(r.error());
      return true;
    };
    // A failed touch only shortens the session's life; the request itself is fine.
    auto touched = co_await store_.Write<bool>(touch);
    if (touched) info.session.last_used_at_ms = now;
  }
  co_return info;
}

}  // namespace parley::manager
