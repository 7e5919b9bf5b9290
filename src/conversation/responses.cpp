#include "conversation/responses.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <boost/json.hpp>

#include "core/clock.hpp"

namespace parley::conversation {
namespace json = boost::json;
using storage::ResponseRecord;
using storage::Tx;

namespace {

constexpr size_t kMaxShortcut = 32;
constexpr size_t kMaxTitle = 100;
constexpr size_t kMaxText = 4096;
constexpr size_t kMaxQueues = 50;

bool ShortcutOk(const std::string& s) {
  return !s.empty() && s.size() <= kMaxShortcut && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

Result<std::string> Text(const json::value& v, std::string_view key, size_t max) {
  if (!v.is_string() || v.as_string().empty() || v.as_string().size() > max)
    return Fail(Errc::kInvalidArgument, fmt::format("invalid_{}", key),
                fmt::format("'{}' must be a non-empty string of at most {} bytes.", key, max));
  return std::string(v.as_string());
}

// Applies the fields of `body` to `r`; the queues named must exist.
Result<void> Apply(Tx& tx, const json::value& body, ResponseRecord& r, bool create,
                   std::optional<bool>& shared) {
  if (!body.is_object())
    return Fail(Errc::kInvalidArgument, "invalid_body",
                "Send a JSON object with shortcut, title and text (and queues, shared).");
  for (const auto& kv : body.as_object()) {
    std::string_view key = kv.key();
    const json::value& v = kv.value();
    if (key == "shortcut") {
      if (!v.is_string() || !ShortcutOk(std::string(v.as_string())))
        return Fail(Errc::kInvalidArgument, "invalid_shortcut",
                    "'shortcut' must be 1 to 32 of a-z, 0-9, _ and - (typed after \"/\").");
      r.shortcut = std::string(v.as_string());
    } else if (key == "title") {
      auto t = Text(v, key, kMaxTitle);
      if (!t) return Fail(t.error());
      r.title = *t;
    } else if (key == "text") {
      auto t = Text(v, key, kMaxText);
      if (!t) return Fail(t.error());
      r.text = *t;
    } else if (key == "queues") {
      if (!v.is_array() || v.as_array().size() > kMaxQueues)
        return Fail(Errc::kInvalidArgument, "invalid_queues",
                    "'queues' must be a list of queue names (empty: every queue).");
      std::vector<std::string> queues;
      for (const auto& q : v.as_array()) {
        if (!q.is_string())
          return Fail(Errc::kInvalidArgument, "invalid_queues",
                      "'queues' must be a list of queue names (empty: every queue).");
        std::string name(q.as_string());
        auto found = tx.GetQueue(name);
        if (!found) return Fail(found.error());
        if (!*found)
          return Fail(
              Errc::kInvalidArgument, "unknown_queue",
              fmt::format("There is no queue '{}'; list them with GET /api/v1/queues.", name));
        queues.push_back(std::move(name));
      }
      r.queues = std::move(queues);
    } else if (key == "shared" && create) {
      if (!v.is_bool())
        return Fail(Errc::kInvalidArgument, "invalid_shared", "'shared' must be true or false.");
      shared = v.as_bool();
    } else {
      return Fail(Errc::kInvalidArgument, "unknown_field",
                  fmt::format("Unknown field '{}'; send shortcut, title, text, queues{}.", key,
                              create ? " or shared" : ""));
    }
  }
  if (create) {
    for (auto [value, name] :
         {std::pair{&r.shortcut, "shortcut"}, {&r.title, "title"}, {&r.text, "text"}}) {
      if (value->empty())
        return Fail(Errc::kInvalidArgument, fmt::format("missing_{}", name),
                    fmt::format("Give '{}'.", name));
    }
  }
  return {};
}

// Whether `who` may change `r`: a shared one is an admin's, a personal one its owner's.
bool MayChange(const ResponseCaller& who, const ResponseRecord& r) {
  return r.owner.empty() ? who.admin : r.owner == who.username;
}

Result<ResponseRecord> Find(Tx& tx, const ResponseCaller& who, const std::string& id) {
  auto got = tx.GetResponse(id);
  if (!got) return Fail(got.error());
  // Another agent's response is not found, as if it did not exist.
  if (!*got || (!(*got)->owner.empty() && (*got)->owner != who.username))
    return Fail(Errc::kNotFound, "response_not_found",
                "No canned response of yours has this ID; list them with GET /api/v1/responses.");
  if (!MayChange(who, **got))
    return Fail(Errc::kPermissionDenied, "forbidden",
                "Shared responses are changed by administrators; make your own instead.");
  return std::move(**got);
}

}  // namespace

Result<std::vector<ResponseRecord>> ListResponses(Tx& tx, const ResponseCaller& who) {
  // The static admin token has no own responses: an owner that matches nobody.
  return tx.ListResponses(who.username.empty() ? std::string("\n") : who.username);
}

Result<ResponseRecord> CreateResponse(Tx& tx, const ResponseCaller& who, const json::value& body,
                                      std::string id, int64_t now) {
  ResponseRecord r;
  std::optional<bool> shared;
  auto applied = Apply(tx, body, r, true, shared);
  if (!applied) return Fail(applied.error());
  bool is_shared = shared.value_or(who.admin);
  if (is_shared && !who.admin)
    return Fail(Errc::kPermissionDenied, "forbidden",
                "Shared responses are made by administrators; send \"shared\": false.");
  if (!is_shared && who.username.empty())
    return Fail(Errc::kInvalidArgument, "invalid_shared",
                "The admin token makes shared responses only; sign in as a user for your own.");
  r.id = std::move(id);
  r.owner = is_shared ? "" : who.username;
  r.created_at_ms = r.updated_at_ms = now;
  auto inserted = tx.InsertResponse(r);
  if (!inserted) return Fail(inserted.error());
  return r;
}

Result<ResponseRecord> UpdateResponse(Tx& tx, const ResponseCaller& who, const std::string& id,
                                      const json::value& body, int64_t now) {
  auto found = Find(tx, who, id);
  if (!found) return Fail(found.error());
  ResponseRecord r = std::move(*found);
  std::optional<bool> unused;
  auto applied = Apply(tx, body, r, false, unused);
  if (!applied) return Fail(applied.error());
  r.updated_at_ms = now;
  auto updated = tx.UpdateResponse(r);
  if (!updated) return Fail(updated.error());
  return r;
}

Result<void> DeleteResponse(Tx& tx, const ResponseCaller& who, const std::string& id) {
  auto found = Find(tx, who, id);
  if (!found) return Fail(found.error());
  auto deleted = tx.DeleteResponse(id);
  if (!deleted) return Fail(deleted.error());
  return {};
}

json::object ResponseJson(const ResponseRecord& r) {
  json::array queues;
  for (const auto& q : r.queues) queues.emplace_back(q);
  json::object o{{"id", r.id},
                 {"shortcut", r.shortcut},
                 {"title", r.title},
                 {"text", r.text},
                 {"queues", std::move(queues)},
                 {"shared", r.owner.empty()},
                 {"owner", r.owner.empty() ? json::value() : json::value(r.owner)},
                 {"created_at", FormatTimestamp(r.created_at_ms)},
                 {"updated_at", FormatTimestamp(r.updated_at_ms)}};
  return o;
}

}  // namespace parley::conversation
