#pragma once
// Paging of list endpoints: `limit` and the opaque `after` cursor of the next page.

#include <algorithm>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "http/request.hpp"
#include "storage/records.hpp"

namespace parley::http {

// Which list a cursor belongs to, so one list's cursor is refused by another.
enum class ListKind : char { kDeliveries = 'd', kConversations = 'c' };

inline constexpr size_t kDefaultPageSize = 100;
inline constexpr size_t kMaxPageSize = 1000;

// A list is its kind plus its filters (`scope`: the filter values, joined), so a cursor taken
// from one connection's deliveries, or with another status, is refused by the others.
struct ListId {
  ListKind kind;
  std::string scope;
};

// The page a list request asks for: `limit` (1..1000, default 100) and `after` (a cursor from
// a previous page of the same list). Errors name the parameter to fix.
struct PageRequest {
  size_t limit = kDefaultPageSize;
  std::optional<storage::ListCursor> after;
};
Result<PageRequest> ParsePage(const Request& req, const ListId& list);

std::string EncodeCursor(const ListId& list, const storage::ListCursor& cursor);
Result<storage::ListCursor> DecodeCursor(const ListId& list, std::string_view text);

// Builds `{"<name>": [...], "next": cursor|null}` from up to limit + 1 items (the store is
// asked for one more than the page holds, to know whether another page follows).
template <class T, class Encode, class Key>
boost::json::object Page(std::string_view name, const std::vector<T>& items, size_t limit,
                         const ListId& list, Encode encode, Key key) {
  boost::json::array arr;
  size_t shown = std::min(items.size(), limit);
  for (size_t i = 0; i < shown; ++i) arr.push_back(encode(items[i]));
  boost::json::object out;
  out[name] = std::move(arr);
  if (items.size() > limit && shown > 0)
    out["next"] = EncodeCursor(list, key(items[shown - 1]));
  else
    out["next"] = nullptr;
  return out;
}

}  // namespace parley::http
