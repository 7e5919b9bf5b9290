// libFuzzer target: decoding of /messages bodies and of outbound bodies (agent input).
#include <boost/json.hpp>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "channel/inbound.hpp"
#include "channel/outbound.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  (void)parley::channel::DecodeInbound(body);
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(body, ec);
  if (!ec) {
    auto out = parley::channel::DecodeOutboundBody(v);
    if (out) (void)parley::channel::BodyToJson(*out);
  }
  return 0;
}
