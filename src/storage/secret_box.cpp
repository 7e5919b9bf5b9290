#include "storage/secret_box.hpp"

#include <sodium.h>

#include "core/ids.hpp"

namespace parley::storage {
namespace {
constexpr std::string_view kPlain = "plain:";
constexpr std::string_view kSealed = "sealed:";
}  // namespace

SecretBox::SecretBox(std::string key) : key_(std::move(key)) {}

Result<std::string> SecretBox::ParseKey(std::string_view text) {
  std::string raw;
  if (text.size() == 64) {
    raw.resize(32);
    size_t len = 0;
    if (sodium_hex2bin(reinterpret_cast<unsigned char*>(raw.data()), raw.size(), text.data(),
                       text.size(), nullptr, &len, nullptr) == 0 &&
        len == 32)
      return raw;
  }
  if (Base64UrlDecode(text, raw) && raw.size() == crypto_secretbox_KEYBYTES) return raw;
  return Fail(Errc::kInvalidArgument, "invalid_master_key",
              "PARLEY_MASTER_KEY must be 32 bytes as 64 hex digits or 43 base64url characters.");
}

std::string SecretBox::Seal(std::string_view secret) const {
  if (key_.empty()) return std::string(kPlain) + std::string(secret);
  std::string box(crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + secret.size(), '\0');
  auto* nonce = reinterpret_cast<unsigned char*>(box.data());
  randombytes_buf(nonce, crypto_secretbox_NONCEBYTES);
  crypto_secretbox_easy(nonce + crypto_secretbox_NONCEBYTES,
                        reinterpret_cast<const unsigned char*>(secret.data()), secret.size(), nonce,
                        reinterpret_cast<const unsigned char*>(key_.data()));
  return std::string(kSealed) + Base64UrlEncode(box);
}

Result<std::string> SecretBox::Open(std::string_view stored) const {
  if (stored.starts_with(kPlain)) return std::string(stored.substr(kPlain.size()));
  if (!stored.starts_with(kSealed))
    return Fail(Errc::kInternal, "corrupt_secret", "A stored secret has an unknown format.");
  if (key_.empty())
    return Fail(Errc::kInternal, "master_key_required",
                "Secrets are sealed: start the server with the same PARLEY_MASTER_KEY.");
  std::string box;
  if (!Base64UrlDecode(stored.substr(kSealed.size()), box) ||
      box.size() < crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES)
    return Fail(Errc::kInternal, "corrupt_secret", "A stored secret is damaged.");
  std::string out(box.size() - crypto_secretbox_NONCEBYTES - crypto_secretbox_MACBYTES, '\0');
  const auto* nonce = reinterpret_cast<const unsigned char*>(box.data());
  if (crypto_secretbox_open_easy(reinterpret_cast<unsigned char*>(out.data()),
                                 nonce + crypto_secretbox_NONCEBYTES,
                                 box.size() - crypto_secretbox_NONCEBYTES, nonce,
                                 reinterpret_cast<const unsigned char*>(key_.data())) != 0)
    return Fail(Errc::kInternal, "master_key_mismatch",
                "A stored secret does not open with PARLEY_MASTER_KEY; is it the right key?");
  return out;
}

}  // namespace parley::storage
