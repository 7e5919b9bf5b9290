#include "channel/inbound.hpp"

#include <fmt/format.h>

#include <boost/json.hpp>

namespace parley::channel {
namespace json = boost::json;
namespace {

Failure Invalid(std::string code, std::string message) {
  return Fail(Errc::kInvalidArgument, std::move(code), std::move(message));
}

// An id that may arrive as a JSON string or number; numbers are normalised to their decimal
// text. Fails when absent (if required), of another type, or not 1..256 characters.
Result<std::optional<std::string>> Id(const json::object& o, std::string_view field,
                                      bool required) {
  const json::value* v = o.if_contains(field);
  if (!v || v->is_null()) {
    if (required)
      return Invalid("missing_field",
                     fmt::format("Add the field '{}' (a string or number).", field));
    return std::optional<std::string>();
  }
  std::string s;
  if (v->is_string())
    s = std::string(v->as_string());
  else if (v->is_int64())
    s = std::to_string(v->as_int64());
  else if (v->is_uint64())
    s = std::to_string(v->as_uint64());
  else
    return Invalid("invalid_field",
                   fmt::format("The field '{}' must be a string or an integer.", field));
  if (s.empty() || s.size() > kMaxIdLength)
    return Invalid("invalid_field", fmt::format("The field '{}' must be 1 to {} characters long.",
                                                field, kMaxIdLength));
  return std::optional<std::string>(std::move(s));
}

Result<std::optional<std::string>> OptString(const json::object& o, std::string_view field,
                                             size_t max) {
  const json::value* v = o.if_contains(field);
  if (!v || v->is_null()) return std::optional<std::string>();
  if (!v->is_string())
    return Invalid("invalid_field", fmt::format("The field '{}' must be a string.", field));
  if (v->as_string().size() > max)
    return Invalid("invalid_field",
                   fmt::format("The field '{}' must be at most {} characters long.", field, max));
  return std::optional<std::string>(std::string(v->as_string()));
}

Result<CustomerText> DecodeText(const json::object& o) {
  CustomerText t;
  auto cid = Id(o, "customer_id", true);
  if (!cid) return Fail(cid.error());
  t.customer_id = std::move(**cid);
  auto mid = Id(o, "message_id", true);
  if (!mid) return Fail(mid.error());
  t.message_id = std::move(**mid);

  if (const json::value* v = o.if_contains("text"); v && !v->is_null()) {
    if (v->is_string()) {
      t.text.emplace_back(v->as_string());
    } else if (v->is_array()) {
      for (const json::value& line : v->as_array()) {
        if (!line.is_string())
          return Invalid("invalid_field", "The field 'text' must be an array of strings.");
        t.text.emplace_back(line.as_string());
      }
    } else {
      return Invalid("invalid_field", "The field 'text' must be an array of strings or a string.");
    }
  }
  auto name = OptString(o, "customer_name", kMaxNameLength);
  if (!name) return Fail(name.error());
  t.customer_name = std::move(*name);
  auto postback = OptString(o, "postback", kMaxPostbackLength);
  if (!postback) return Fail(postback.error());
  t.postback = std::move(*postback);

  if (const json::value* v = o.if_contains("attachments"); v && !v->is_null()) {
    if (!v->is_array())
      return Invalid("invalid_field", "The field 'attachments' must be an array.");
    if (v->as_array().size() > kMaxAttachments)
      return Invalid("invalid_field",
                     fmt::format("Send at most {} attachments in one message.", kMaxAttachments));
    size_t i = 0;
    for (const json::value& a : v->as_array()) {
      auto att = DecodeAttachment(a, fmt::format("attachments[{}]", i++));
      if (!att) return Fail(att.error());
      t.attachments.push_back(std::move(*att));
    }
  }

  if (const json::value* v = o.if_contains("context_data"); v && !v->is_null()) {
    if (!v->is_object())
      return Invalid("invalid_field", "The field 'context_data' must be an object.");
    for (const auto& kv : v->as_object()) {
      const json::value& x = kv.value();
      if (!x.is_string() && !x.is_number() && !x.is_bool())
        return Invalid("invalid_field",
                       fmt::format("context_data.{} must be a string, number or boolean.",
                                   std::string_view(kv.key())));
    }
    if (json::serialize(*v).size() > kMaxContextBytes)
      return Invalid("invalid_field", "The field 'context_data' must be at most 4 KiB as JSON.");
    t.context_data = v->as_object();
  }

  if (t.text.empty() && !t.postback && t.attachments.empty())
    return Invalid("missing_field",
                   "Add 'text' (an array of strings), a 'postback' or 'attachments'.");
  return t;
}

}  // namespace

Result<Attachment> DecodeAttachment(const json::value& v, std::string_view where) {
  if (!v.is_object())
    return Invalid("invalid_field", fmt::format("{} must be an object with a 'url'.", where));
  const json::object& o = v.as_object();
  Attachment a;
  const json::value* url = o.if_contains("url");
  if (!url || !url->is_string() || url->as_string().empty() ||
      url->as_string().size() > kMaxUrlLength)
    return Invalid("invalid_field", fmt::format("{}.url must be a URL of 1 to {} characters.",
                                                where, kMaxUrlLength));
  a.url = std::string(url->as_string());
  for (auto [field, dest] :
       {std::pair{"content_type", &a.content_type}, {"file_name", &a.file_name}}) {
    auto s = OptString(o, field, kMaxNameLength);
    if (!s)
      return Invalid("invalid_field",
                     fmt::format("{}.{} must be a string of at most {} characters.", where, field,
                                 kMaxNameLength));
    *dest = std::move(*s);
  }
  if (const json::value* size = o.if_contains("size"); size && !size->is_null()) {
    if (size->is_int64() && size->as_int64() >= 0)
      a.size = size->as_int64();
    else if (size->is_uint64() && size->as_uint64() <= INT64_MAX)
      a.size = static_cast<int64_t>(size->as_uint64());
    else
      return Invalid("invalid_field",
                     fmt::format("{}.size must be a whole number of bytes.", where));
  }
  return a;
}

json::value ToJson(const Attachment& a) {
  json::object o;
  o["url"] = a.url;
  if (a.content_type) o["content_type"] = *a.content_type;
  if (a.file_name) o["file_name"] = *a.file_name;
  if (a.size) o["size"] = *a.size;
  return o;
}

Result<InboundEvent> DecodeInbound(std::string_view body) {
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec) return Invalid("invalid_json", "The body is not valid JSON: send one JSON object.");
  if (!v.is_object())
    return Invalid("invalid_payload", "The body must be a JSON object with a 'type' field.");
  const json::object& o = v.as_object();
  const json::value* type = o.if_contains("type");
  if (!type || !type->is_string())
    return Invalid("missing_field",
                   "Add 'type': one of text, typing_indicator, customer_end_session.");
  std::string_view t = type->as_string();
  if (t == "text") {
    auto text = DecodeText(o);
    if (!text) return Fail(text.error());
    return InboundEvent(std::move(*text));
  }
  if (t == "typing_indicator" || t == "customer_end_session") {
    auto cid = Id(o, "customer_id", true);
    if (!cid) return Fail(cid.error());
    if (t == "typing_indicator") return InboundEvent(CustomerTyping{std::move(**cid)});
    auto mid = Id(o, "message_id", false);
    if (!mid) return Fail(mid.error());
    return InboundEvent(CustomerEndSession{std::move(**cid), std::move(*mid)});
  }
  return Invalid(
      "unknown_type",
      fmt::format("Unknown type '{}': use text, typing_indicator or customer_end_session.",
                  t.substr(0, 64)));
}

const std::string& CustomerIdOf(const InboundEvent& event) {
  return std::visit([](const auto& e) -> const std::string& { return e.customer_id; }, event);
}

}  // namespace parley::channel
