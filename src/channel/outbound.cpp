#include "channel/outbound.hpp"

#include <fmt/format.h>

#include <boost/json.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/scheme.hpp>

namespace parley::channel {
namespace json = boost::json;
namespace {

template <class... F>
struct Overload : F... {
  using F::operator()...;
};
// clang 14 does not deduce aggregate template arguments (P1816) without this guide.
template <class... F>
Overload(F...) -> Overload<F...>;

Failure InvalidOutbound(std::string message) {
  return Fail(Errc::kInvalidArgument, "invalid_field", std::move(message));
}

#define PARLEY_URL_STR(var, expr)             \
  auto var##_r = (expr);                      \
  if (!var##_r) return Fail(var##_r.error()); \
  std::string var = std::move(*var##_r)

Result<std::string> Str(const json::object& o, std::string_view field, std::string_view where,
                        size_t max = 4096) {
  const json::value* v = o.if_contains(field);
  if (!v || !v->is_string() || v->as_string().empty() || v->as_string().size() > max)
    return InvalidOutbound(
        fmt::format("{}{} must be a string of 1 to {} characters.", where, field, max));
  return std::string(v->as_string());
}

Result<std::optional<std::string>> OptStr(const json::object& o, std::string_view field,
                                          std::string_view where, size_t max = 4096) {
  const json::value* v = o.if_contains(field);
  if (!v || v->is_null()) return std::optional<std::string>();
  auto s = Str(o, field, where, max);
  if (!s) return Fail(s.error());
  return std::optional<std::string>(std::move(*s));
}

// A link a customer's channel shows or opens: the same rule for agents, bots and actions.
Result<std::string> Url(const json::object& o, std::string_view field, std::string_view where) {
  PARLEY_URL_STR(s, Str(o, field, where, 2048));
  if (auto problem = UrlProblem(s))
    return Fail(
        Errc::kInvalidArgument, "invalid_url",
        fmt::format("{}{} {}: give an absolute http:// or https:// URL.", where, field, *problem));
  return s;
}

Result<std::optional<std::string>> OptUrl(const json::object& o, std::string_view field,
                                          std::string_view where) {
  const json::value* v = o.if_contains(field);
  if (!v || v->is_null()) return std::optional<std::string>();
  auto s = Url(o, field, where);
  if (!s) return Fail(s.error());
  return std::optional<std::string>(std::move(*s));
}

const json::array* Arr(const json::object& o, std::string_view field) {
  const json::value* v = o.if_contains(field);
  return v && v->is_array() ? &v->as_array() : nullptr;
}

#define PARLEY_TRY(var, expr)                 \
  auto var##_r = (expr);                      \
  if (!var##_r) return Fail(var##_r.error()); \
  auto var = std::move(*var##_r)

Result<OutboundBody> DecodeTextBody(const json::object& o) {
  TextBody t;
  const json::value* v = o.if_contains("text");
  if (v && v->is_string())
    t.text.emplace_back(v->as_string());
  else if (v && v->is_array()) {
    for (const auto& line : v->as_array()) {
      if (!line.is_string()) return InvalidOutbound("text must be an array of strings.");
      t.text.emplace_back(line.as_string());
    }
  }
  if (const json::array* atts = Arr(o, "attachments")) {
    size_t i = 0;
    for (const auto& a : *atts) {
      std::string where = fmt::format("attachments[{}]", i++);
      PARLEY_TRY(att, DecodeAttachment(a, where));
      if (auto problem = UrlProblem(att.url))
        return Fail(
            Errc::kInvalidArgument, "invalid_url",
            fmt::format("{}.url {}: give an absolute http:// or https:// URL.", where, *problem));
      t.attachments.push_back(std::move(att));
    }
  }
  if (t.text.empty() && t.attachments.empty())
    return InvalidOutbound("A text message needs 'text' (an array of strings) or 'attachments'.");
  return t;
}

Result<OutboundBody> DecodeMenu(const json::object& o) {
  MenuBody m;
  PARLEY_TRY(title, Str(o, "title", ""));
  m.title = std::move(title);
  const json::array* items = Arr(o, "items");
  if (!items || items->empty()) return InvalidOutbound("A menu needs 'items': [{text, payload}].");
  size_t i = 0;
  for (const auto& it : *items) {
    std::string where = fmt::format("items[{}].", i++);
    if (!it.is_object()) return InvalidOutbound(where + " must be an object.");
    const auto& io = it.as_object();
    PARLEY_TRY(text, Str(io, "text", where));
    PARLEY_TRY(payload, Str(io, "payload", where, 1024));
    PARLEY_TRY(image, OptUrl(io, "image_url", where));
    m.items.push_back({std::move(text), std::move(payload), std::move(image)});
  }
  return m;
}

Result<OutboundBody> DecodeCarousel(const json::object& o) {
  CarouselBody c;
  PARLEY_TRY(title, OptStr(o, "title", ""));
  c.title = std::move(title);
  const json::array* items = Arr(o, "items");
  if (!items || items->empty())
    return InvalidOutbound("A carousel needs 'items': [{title, buttons}].");
  size_t i = 0;
  for (const auto& it : *items) {
    std::string where = fmt::format("items[{}].", i++);
    if (!it.is_object()) return InvalidOutbound(where + " must be an object.");
    const auto& io = it.as_object();
    CarouselItem item;
    PARLEY_TRY(t, Str(io, "title", where));
    item.title = std::move(t);
    PARLEY_TRY(sub, OptStr(io, "subtitle", where));
    item.subtitle = std::move(sub);
    PARLEY_TRY(img, OptUrl(io, "image_url", where));
    item.image_url = std::move(img);
    if (const json::array* buttons = Arr(io, "buttons")) {
      size_t j = 0;
      for (const auto& b : *buttons) {
        std::string bw = fmt::format("{}buttons[{}].", where, j++);
        if (!b.is_object()) return InvalidOutbound(bw + " must be an object.");
        const auto& bo = b.as_object();
        Button button;
        PARLEY_TRY(bt, Str(bo, "text", bw));
        button.text = std::move(bt);
        PARLEY_TRY(payload, OptStr(bo, "payload", bw, 1024));
        PARLEY_TRY(url, OptUrl(bo, "url", bw));
        if (payload.has_value() == url.has_value())
          return InvalidOutbound(bw + " needs exactly one of 'payload' and 'url'.");
        button.payload = std::move(payload);
        button.url = std::move(url);
        item.buttons.push_back(std::move(button));
      }
    }
    c.items.push_back(std::move(item));
  }
  return c;
}

Result<OutboundBody> DecodeLinkButton(const json::object& o) {
  PARLEY_TRY(title, Str(o, "title", ""));
  PARLEY_TRY(label, Str(o, "label", ""));
  PARLEY_TRY(url, Url(o, "url", ""));
  return LinkButtonBody{std::move(title), std::move(label), std::move(url)};
}

#undef PARLEY_TRY
#undef PARLEY_URL_STR

}  // namespace

std::optional<std::string> UrlProblem(std::string_view url) {
  if (url.size() > 2048) return "is longer than 2048 characters";
  auto parsed = boost::urls::parse_absolute_uri(url);
  if (!parsed) return "is not an absolute URL";
  auto id = parsed->scheme_id();
  if (id != boost::urls::scheme::http && id != boost::urls::scheme::https)
    return "must use http or https";
  if (!parsed->has_authority() || parsed->host().empty()) return "has no host";
  return std::nullopt;
}

const char* SenderName(Sender s) {
  switch (s) {
    case Sender::kBot:
      return "bot";
    case Sender::kCsr:
      return "csr";
    case Sender::kSystem:
      return "system";
  }
  return "system";
}

std::optional<Sender> ParseSender(std::string_view s) {
  if (s == "bot") return Sender::kBot;
  if (s == "csr") return Sender::kCsr;
  if (s == "system") return Sender::kSystem;
  return std::nullopt;
}

const char* TypeName(const OutboundBody& body) {
  return std::visit(Overload{
                        [](const TextBody&) { return "text"; },
                        [](const MenuBody&) { return "menu"; },
                        [](const CarouselBody&) { return "carousel"; },
                        [](const LinkButtonBody&) { return "link_button"; },
                        [](const TypingBody&) { return "typing_indicator"; },
                        [](const WaitTimeBody&) { return "wait_time"; },
                        [](const CsrEndSessionBody&) { return "csr_end_session"; },
                    },
                    body);
}

bool IsMessage(const OutboundBody& body) { return body.index() <= 3; }

json::object BodyToJson(const OutboundBody& body) {
  json::object o;
  o["type"] = TypeName(body);
  std::visit(Overload{
                 [&](const TextBody& t) {
                   json::array lines;
                   for (const auto& l : t.text) lines.emplace_back(l);
                   o["text"] = std::move(lines);
                   if (!t.attachments.empty()) {
                     json::array atts;
                     for (const auto& a : t.attachments) atts.push_back(ToJson(a));
                     o["attachments"] = std::move(atts);
                   }
                 },
                 [&](const MenuBody& m) {
                   o["title"] = m.title;
                   json::array items;
                   for (const auto& i : m.items) {
                     json::object io{{"text", i.text}, {"payload", i.payload}};
                     if (i.image_url) io["image_url"] = *i.image_url;
                     items.push_back(std::move(io));
                   }
                   o["items"] = std::move(items);
                 },
                 [&](const CarouselBody& c) {
                   if (c.title) o["title"] = *c.title;
                   json::array items;
                   for (const auto& i : c.items) {
                     json::object io{{"title", i.title}};
                     if (i.subtitle) io["subtitle"] = *i.subtitle;
                     if (i.image_url) io["image_url"] = *i.image_url;
                     json::array buttons;
                     for (const auto& b : i.buttons) {
                       json::object bo{{"text", b.text}};
                       if (b.payload) bo["payload"] = *b.payload;
                       if (b.url) bo["url"] = *b.url;
                       buttons.push_back(std::move(bo));
                     }
                     io["buttons"] = std::move(buttons);
                     items.push_back(std::move(io));
                   }
                   o["items"] = std::move(items);
                 },
                 [&](const LinkButtonBody& l) {
                   o["title"] = l.title;
                   o["label"] = l.label;
                   o["url"] = l.url;
                 },
                 [](const TypingBody&) {},
                 [&](const WaitTimeBody& w) {
                   o["waitTime"] = w.wait_seconds;
                   o["queue_position"] = w.queue_position;
                 },
                 [](const CsrEndSessionBody&) {},
             },
             body);
  return o;
}

json::object ToJson(const OutboundEvent& e) {
  json::object o = BodyToJson(e.body);
  o["customer_id"] = e.customer_id;
  o["event_id"] = e.event_id;
  o["seq"] = e.seq;
  o["from"] = SenderName(e.from);
  if (IsMessage(e.body)) o["message_id"] = e.event_id;
  if (e.csr_name) o["csr_name"] = *e.csr_name;
  return o;
}

Result<OutboundBody> DecodeOutboundBody(const json::value& v) {
  if (!v.is_object()) return InvalidOutbound("The message must be a JSON object with a 'type'.");
  const json::object& o = v.as_object();
  const json::value* type = o.if_contains("type");
  std::string_view t = type && type->is_string() ? std::string_view(type->as_string()) : "";
  if (t == "text") return DecodeTextBody(o);
  if (t == "menu") return DecodeMenu(o);
  if (t == "carousel") return DecodeCarousel(o);
  if (t == "link_button") return DecodeLinkButton(o);
  if (t == "typing_indicator") return TypingBody{};
  if (t == "csr_end_session") return CsrEndSessionBody{};
  if (t == "wait_time") {
    WaitTimeBody w;
    for (auto [field, dest] :
         {std::pair{"waitTime", &w.wait_seconds}, std::pair{"queue_position", &w.queue_position}}) {
      const json::value* x = o.if_contains(field);
      if (!x) continue;
      if (x->is_int64() && x->as_int64() >= 0)
        *dest = x->as_int64();
      else if (x->is_uint64() && x->as_uint64() <= static_cast<uint64_t>(INT64_MAX))
        *dest = static_cast<int64_t>(x->as_uint64());
      else
        return InvalidOutbound(fmt::format("{} must be a whole number of at least 0.", field));
    }
    return w;
  }
  return Fail(Errc::kInvalidArgument, "unknown_type",
              "Unknown message type: use text, menu, carousel or link_button.");
}

}  // namespace parley::channel
