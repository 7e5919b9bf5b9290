// libFuzzer target: inbound authorization over arbitrary Authorization headers.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "channel/auth.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view header(reinterpret_cast<const char*>(data), size);
  auto lookup = [](const std::string& id) -> std::optional<parley::channel::Credentials> {
    if (id.empty() || id.size() > 64) return std::nullopt;
    return parley::channel::Credentials{id, "fuzz-secret-fuzz-secret-fuzz-secret-123", std::nullopt,
                                        0, id.front() != 'x'};
  };
  (void)parley::channel::AuthenticateRequest(header, std::nullopt, 1'764'000'000'000, lookup);
  (void)parley::channel::AuthenticateRequest(header, "abc", 1'764'000'000'000, lookup);
  return 0;
}
