#include "http/paging.hpp"

#include <fmt/format.h>

#include <charconv>
#include <cstdint>

#include "core/ids.hpp"

namespace parley::http {
namespace {

// Cursor text before base64url: "<kind>1:<scope hash>:<milliseconds>:<id>". The digit is a
// format version, so the encoding can change without old cursors being misread.
constexpr size_t kMaxCursorChars = 512;
constexpr size_t kMaxIdChars = 256;

Error BadCursor() {
  return {Errc::kInvalidArgument, "invalid_cursor",
          "after must be the 'next' value of a previous page of this same list; start again "
          "without it."};
}

// The list's identity in a few characters: FNV-1a (64 bit) of the scope. Not a secret and not
// a check against forgery (a forged cursor only pages the caller's own list); it tells a
// client that mixed two lists' cursors up.
std::string Prefix(const ListId& list) {
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : list.scope) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return fmt::format("{}1:{:016x}:", static_cast<char>(list.kind), h);
}

}  // namespace

std::string EncodeCursor(const ListId& list, const storage::ListCursor& cursor) {
  return Base64UrlEncode(fmt::format("{}{}:{}", Prefix(list), cursor.at_ms, cursor.id));
}

Result<storage::ListCursor> DecodeCursor(const ListId& list, std::string_view text) {
  std::string raw;
  if (text.empty() || text.size() > kMaxCursorChars || !Base64UrlDecode(text, raw))
    return Fail(BadCursor());
  std::string_view rest = raw;
  std::string prefix = Prefix(list);
  if (!rest.starts_with(prefix)) return Fail(BadCursor());
  rest.remove_prefix(prefix.size());
  size_t colon = rest.find(':');
  if (colon == std::string_view::npos || colon == 0) return Fail(BadCursor());
  storage::ListCursor cursor;
  auto [end, ec] = std::from_chars(rest.data(), rest.data() + colon, cursor.at_ms);
  if (ec != std::errc() || end != rest.data() + colon || cursor.at_ms < 0) return Fail(BadCursor());
  cursor.id = std::string(rest.substr(colon + 1));
  if (cursor.id.empty() || cursor.id.size() > kMaxIdChars) return Fail(BadCursor());
  return cursor;
}

Result<PageRequest> ParsePage(const Request& req, const ListId& list) {
  PageRequest page;
  if (auto text = req.Query("limit")) {
    size_t n = 0;
    auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), n);
    if (text->empty() || ec != std::errc() || end != text->data() + text->size() || n < 1 ||
        n > kMaxPageSize)
      return Fail(Errc::kInvalidArgument, "invalid_limit",
                  fmt::format("limit must be a whole number from 1 to {}.", kMaxPageSize));
    page.limit = n;
  }
  if (auto text = req.Query("after")) {
    auto cursor = DecodeCursor(list, *text);
    if (!cursor) return Fail(cursor.error());
    page.after = std::move(*cursor);
  }
  return page;
}

}  // namespace parley::http
