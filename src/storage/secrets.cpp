#include "storage/secrets.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sodium.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>

#include "storage/secret_box.hpp"
#include "storage/sqlite/sqlite_secrets.hpp"
#include "storage/store.hpp"

namespace parley::storage {
namespace {

constexpr std::string_view kSqlite = "sqlite://";

std::optional<std::string> SqliteFile(const std::string& url) {
  if (!url.starts_with(kSqlite)) return std::nullopt;
  std::string path = url.substr(kSqlite.size());
  if (path.empty() || path == ":memory:") return std::nullopt;
  return path;
}

Failure Bad(std::string code, std::string message) {
  return Fail(Errc::kInvalidArgument, std::move(code), std::move(message));
}

Result<sqlite::SecretCounts> CountInFile(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return sqlite::SecretCounts{};  // no database yet
  auto db = sqlite::Db::Open(path);
  if (!db) return Fail(db.error());
  auto exists = (*db)->Prepare(
      "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'connections'");
  if (!exists) return Fail(exists.error());
  if ((*exists)->Step() != SQLITE_ROW || (*exists)->Int(0) == 0) return sqlite::SecretCounts{};
  exists->reset();
  return sqlite::CountSecrets(**db);
}

Result<void> WriteKey(const std::string& path, const std::string& raw) {
  char hex[65];
  sodium_bin2hex(hex, sizeof hex, reinterpret_cast<const unsigned char*>(raw.data()), raw.size());
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0)
    return Bad("key_file_unwritable",
               fmt::format("Cannot create the key file {}: {}.", path, std::strerror(errno)));
  std::string text = std::string(hex) + "\n";
  bool ok = ::fchmod(fd, 0600) == 0 &&
            ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
            ::fsync(fd) == 0;
  sodium_memzero(hex, sizeof hex);
  ::close(fd);
  if (!ok) {
    ::unlink(path.c_str());
    return Bad("key_file_unwritable", fmt::format("Cannot write the key file {}.", path));
  }
  return {};
}

}  // namespace

std::string DefaultKeyFile(const std::string& database_url) {
  auto file = SqliteFile(database_url);
  return file ? *file + ".key" : std::string();
}

Result<std::string> ReadKeyFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return Bad("key_file_unreadable",
               fmt::format("Cannot read the key file {}: {}.", path, std::strerror(errno)));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || (st.st_mode & 077) != 0) {
    ::close(fd);
    return Bad("key_file_mode",
               fmt::format("The key file {} may be read or written by others (mode {:o}); run "
                           "`chmod 600 {}` and start again.",
                           path, st.st_mode & 0777, path));
  }
  char buf[256];
  ssize_t n = ::read(fd, buf, sizeof buf);
  ::close(fd);
  if (n <= 0) return Bad("key_file_unreadable", fmt::format("The key file {} is empty.", path));
  std::string text(buf, static_cast<size_t>(n));
  sodium_memzero(buf, sizeof buf);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' '))
    text.pop_back();
  auto key = SecretBox::ParseKey(text);
  sodium_memzero(text.data(), text.size());
  if (!key)
    return Bad(
        "invalid_master_key",
        fmt::format("The key file {} must hold 64 hex digits or 43 base64url characters.", path));
  return key;
}

Result<std::string> CreateKeyFile(const std::string& path) {
  std::string raw(crypto_secretbox_KEYBYTES, '\0');
  randombytes_buf(raw.data(), raw.size());
  if (auto w = WriteKey(path, raw); !w) return Fail(w.error());
  return raw;
}

Result<MasterKey> ResolveMasterKey(const std::string& database_url, const std::string& env_key,
                                   const std::string& key_file) {
  if (!env_key.empty()) {
    auto key = SecretBox::ParseKey(env_key);
    if (!key) return Fail(key.error());
    return MasterKey{std::move(*key), "PARLEY_MASTER_KEY", false};
  }
  if (!key_file.empty()) {
    auto key = ReadKeyFile(key_file);
    if (!key) return Fail(key.error());
    return MasterKey{std::move(*key), key_file, false};
  }
  auto db_file = SqliteFile(database_url);
  if (!db_file) {
    if (database_url == "sqlite::memory:" || database_url == "sqlite://:memory:") {
      spdlog::warn("no master key for an in-memory database: connection secrets are not sealed");
      return MasterKey{"", "none", false};
    }
    if (!database_url.starts_with("postgres://") && !database_url.starts_with("postgresql://"))
      return Fail(UnknownDatabaseUrl(database_url));
    return Bad("master_key_required",
               "A PostgreSQL database needs the master key from PARLEY_MASTER_KEY or "
               "master_key_file (the same on every node).");
  }
  std::string path = *db_file + ".key";
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    auto key = ReadKeyFile(path);
    if (!key) return Fail(key.error());
    return MasterKey{std::move(*key), path, false};
  }
  auto counts = CountInFile(*db_file);
  if (!counts) return Fail(counts.error());
  if (counts->sealed > 0)
    return Bad("key_file_missing",
               fmt::format("The database {} holds sealed secrets but its key file {} is missing: "
                           "restore the key file (or set PARLEY_MASTER_KEY to the key) and start "
                           "again; a new key cannot open them.",
                           *db_file, path));
  auto key = CreateKeyFile(path);
  if (!key) return Fail(key.error());
  spdlog::info("created the master key file {} (mode 0600): back it up with the database", path);
  return MasterKey{std::move(*key), path, true};
}

Result<std::string> RotateMasterKey(const std::string& database_url, const std::string& old_key,
                                    const std::string& key_file, size_t* resealed) {
  auto db_file = SqliteFile(database_url);
  if (!db_file)
    return Bad("unsupported_database",
               "parley key rotate works on a SQLite database file (sqlite:///path/parley.db).");
  std::string new_raw(crypto_secretbox_KEYBYTES, '\0');
  randombytes_buf(new_raw.data(), new_raw.size());
  std::string pending;
  if (!key_file.empty()) {
    pending = key_file + ".new";
    ::unlink(pending.c_str());  // a rotation that stopped before its database change
    if (auto w = WriteKey(pending, new_raw); !w) return Fail(w.error());
  }
  auto db = sqlite::Db::Open(*db_file);
  if (!db) return Fail(db.error());
  auto done = sqlite::ResealSecrets(**db, SecretBox(old_key), SecretBox(new_raw), false);
  if (!done) {
    if (!pending.empty()) ::unlink(pending.c_str());
    return Fail(done.error());
  }
  if (!pending.empty() && std::rename(pending.c_str(), key_file.c_str()) != 0)
    return Fail(Errc::kInternal, "key_file_unwritable",
                fmt::format("The secrets are sealed with the new key in {}, but renaming it over "
                            "{} failed ({}): rename it by hand before starting the server.",
                            pending, key_file, std::strerror(errno)));
  if (resealed) *resealed = *done;
  char hex[65];
  sodium_bin2hex(hex, sizeof hex, reinterpret_cast<const unsigned char*>(new_raw.data()),
                 new_raw.size());
  return std::string(hex);
}

}  // namespace parley::storage
