#pragma once
// Seals connection secrets at rest with libsodium's secretbox (XSalsa20-Poly1305) under the
// master key (storage/secrets.hpp: PARLEY_MASTER_KEY, a key file, or the key file created
// beside a SQLite database). Without a key (only an in-memory database has none), secrets are
// stored as "plain:<secret>".

#include <string>
#include <string_view>

#include "core/result.hpp"

namespace parley::storage {

class SecretBox {
 public:
  // `key` is empty (no sealing) or exactly 32 raw bytes.
  explicit SecretBox(std::string key);
  // Parses PARLEY_MASTER_KEY's text: 64 hex digits or 43 base64url characters (32 bytes).
  static Result<std::string> ParseKey(std::string_view text);

  bool HasKey() const { return !key_.empty(); }
  std::string Seal(std::string_view secret) const;
  // Fails (kInternal) when the text is sealed and the key is missing or wrong.
  Result<std::string> Open(std::string_view stored) const;

 private:
  std::string key_;
};

}  // namespace parley::storage
