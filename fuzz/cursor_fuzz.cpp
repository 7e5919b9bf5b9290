// libFuzzer target: the `after` cursor and `limit` of list requests (src/http/paging.cpp), which
// come from any admin's query string. Every input must decode or be refused with
// invalid_cursor / invalid_limit; a cursor that decodes must encode back to itself.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "http/paging.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace parley::http;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  const ListId list{ListKind::kDeliveries, "conn\n"};
  auto cursor = DecodeCursor(list, text);
  if (cursor) {
    if (EncodeCursor(list, *cursor) != text) {
      // Base64url without padding has one spelling per byte string, so a round trip that
      // changes the text means the decoder accepted something it should not.
      auto again = DecodeCursor(list, EncodeCursor(list, *cursor));
      if (!again || again->at_ms != cursor->at_ms || again->id != cursor->id) std::abort();
    }
  } else if (cursor.error().code != "invalid_cursor") {
    std::abort();
  }
  parley::http::Request req;
  req.query["limit"] = std::string(text.substr(0, 32));
  req.query["after"] = std::string(text);
  auto page = ParsePage(req, list);
  if (page && (page->limit < 1 || page->limit > kMaxPageSize)) std::abort();
  if (!page && page.error().code != "invalid_limit" && page.error().code != "invalid_cursor")
    std::abort();
  return 0;
}
