#pragma once
// Connection secrets at rest in a SQLite database (storage/secrets.hpp is the public side).

#include <cstddef>

#include "core/result.hpp"
#include "storage/secret_box.hpp"
#include "storage/sqlite/db.hpp"

namespace parley::storage::sqlite {

struct SecretCounts {
  size_t plain = 0;   // stored "plain:"
  size_t sealed = 0;  // stored "sealed:"
};

// Counts the stored secret values (current and previous) of every connection.
Result<SecretCounts> CountSecrets(Db& db);
// In one transaction: opens every stored secret with `from` and seals it with `to`. With
// `only_plain`, sealed values are left as they are. Returns how many values were rewritten.
// Fails (and changes nothing) when a sealed value does not open with `from`.
Result<size_t> ResealSecrets(Db& db, const SecretBox& from, const SecretBox& to, bool only_plain);

}  // namespace parley::storage::sqlite
