// libFuzzer target: the query-string parser of the HTTP layer.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "http/request.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)parley::http::ParseQuery(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
