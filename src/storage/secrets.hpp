#pragma once
// Where the master key that seals connection secrets at rest comes from, and its rotation.
//
// Sealed by default: with no PARLEY_MASTER_KEY and no master_key_file, a SQLite database gets
// a key file beside it (`<database>.key`, 64 hex digits, mode 0600), created on the first
// start. A key file readable or writable by group or others is refused, as is a missing key
// file while the database holds sealed secrets. Existing `plain:` secrets are sealed on start.
// A PostgreSQL database has no "beside": every node needs the same key from PARLEY_MASTER_KEY
// or master_key_file. Only `sqlite::memory:` (tests) runs without a key.

#include <string>

#include "core/result.hpp"

namespace parley::storage {

// `<path>.key` for a SQLite file URL; empty for anything else.
std::string DefaultKeyFile(const std::string& database_url);

// Reads a key file: kInvalidArgument key_file_mode when group or others may read or write it,
// key_file_unreadable, or invalid_master_key. Returns the 32 raw bytes.
Result<std::string> ReadKeyFile(const std::string& path);
// Writes a new random key to `path` (must not exist), mode 0600, synced. Returns the raw key.
Result<std::string> CreateKeyFile(const std::string& path);

struct MasterKey {
  std::string raw;       // 32 bytes, or empty (no sealing: sqlite::memory: only)
  std::string source;    // "PARLEY_MASTER_KEY", the key file's path, or "none"
  bool created = false;  // a key file was created now
};
// The key for `database_url`: `env_key` (PARLEY_MASTER_KEY's text) when set, else `key_file`
// when set, else the database's default key file (created when missing, unless the database
// already holds sealed secrets: then kInvalidArgument key_file_missing saying what to do).
Result<MasterKey> ResolveMasterKey(const std::string& database_url, const std::string& env_key,
                                   const std::string& key_file);

// `parley key rotate`: re-seals every secret of a SQLite database under a new random key, in
// one transaction. The new key is written first to `<key_file>.new`, then the database is
// changed, then the file renamed over `key_file`; with the key given by environment
// (`key_file` empty) the new key is only returned, to be put where the old one was. The
// server must be stopped. Returns the new key as 64 hex digits.
Result<std::string> RotateMasterKey(const std::string& database_url, const std::string& old_key,
                                    const std::string& key_file, size_t* resealed = nullptr);

}  // namespace parley::storage
