#pragma once
// Identifiers and secrets. The generator is injected so tests can make ids predictable.

#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>

namespace parley {

class IdGenerator {
 public:
  virtual ~IdGenerator() = default;
  // A random UUID v4 in lower-case canonical form. Thread-safe.
  virtual std::string Uuid() = 0;
  // `bytes` random bytes, base64url without padding (32 bytes -> 43 characters). Thread-safe.
  virtual std::string Secret(size_t bytes = 32) = 0;
  // A UUID v7 (RFC 9562): the Unix time in ms, then 74 random bits. Ids made one after the
  // other sort together, so an index of them grows at its end (a batch of new events or
  // conversations shares a page or two instead of dirtying a random page each), and they stay
  // as hard to guess as a v4. For ids the store indexes; not for secrets. Thread-safe.
  virtual std::string OrderedUuid() { return Uuid(); }
};

// Cryptographically random ids (libsodium's randombytes). Ids take their random bytes from a
// buffer refilled 4 KiB at a time (one getrandom call for 256 ids instead of one each: the
// writer makes two or three ids a message); secrets are drawn on their own, never buffered.
class RandomIdGenerator final : public IdGenerator {
 public:
  RandomIdGenerator();
  std::string Uuid() override;
  std::string Secret(size_t bytes = 32) override;
  std::string OrderedUuid() override;

 private:
  std::array<uint8_t, 16> Draw16();

  std::mutex mutex_;
  std::array<uint8_t, 4096> pool_{};
  size_t used_ = sizeof(pool_);  // bytes of pool_ handed out (all: refill first)
};

// Counts up: 00000000-0000-4000-8000-000000000001, ... (ordered ids too); for tests.
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
