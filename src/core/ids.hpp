#pragma once
// Identifiers and secrets. The generator is injected so tests can make ids predictable.

#include <atomic>
#include <cstdint>
#include <string>

namespace parley {

class IdGenerator {
 public:
  virtual ~IdGenerator() = default;
  // A random UUID v4 in lower-case canonical form. Thread-safe.
  virtual std::string Uuid() = 0;
  // `bytes` random bytes, base64url without padding (32 bytes -> 43 characters). Thread-safe.
  virtual std::string Secret(size_t bytes = 32) = 0;
};

// Cryptographically random ids (libsodium's randombytes).
class RandomIdGenerator final : public IdGenerator {
 public:
  RandomIdGenerator();
  std::string Uuid() override;
  std::string Secret(size_t bytes = 32) override;
};

// Counts up: 00000000-0000-4000-8000-000000000001, ...; for tests.
class SequentialIdGenerator final : public IdGenerator {
 public:
  std::string Uuid() override;
  std::string Secret(size_t bytes = 32) override;

 private:
  std::atomic<uint64_t> next_{1};
};

std::string Base64UrlEncode(std::string_view bytes);
// Decodes base64url (padding optional). Returns false on an invalid character or length.
bool Base64UrlDecode(std::string_view text, std::string& out);

}  // namespace parley
