#pragma once
// What Parley sends to the client webhook (PROTOCOL.md §4): message bodies, the envelope,
// and their JSON converters. Bots and agents produce OutboundBody values; the conversation
// layer wraps them in an OutboundEvent with event_id and seq.

#include <boost/json/value.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "channel/inbound.hpp"
#include "core/result.hpp"

namespace parley::channel {

struct TextBody {
  std::vector<std::string> text;
  std::vector<Attachment> attachments;
};

struct MenuItem {
  std::string text;
  std::string payload;
  std::optional<std::string> image_url;
};

struct MenuBody {
  std::string title;
  std::vector<MenuItem> items;
};

// A carousel button either posts back a payload or opens a URL.
struct Button {
  std::string text;
  std::optional<std::string> payload;
  std::optional<std::string> url;
};

struct CarouselItem {
  std::string title;
  std::optional<std::string> subtitle;
  std::optional<std::string> image_url;
  std::vector<Button> buttons;
};

struct CarouselBody {
  std::optional<std::string> title;
  std::vector<CarouselItem> items;
};

struct LinkButtonBody {
  std::string title;
  std::string label;
  std::string url;
};

struct TypingBody {};

struct WaitTimeBody {
  int64_t wait_seconds = 0;
  int64_t queue_position = 0;
};

struct CsrEndSessionBody {};

using OutboundBody = std::variant<TextBody, MenuBody, CarouselBody, LinkButtonBody, TypingBody,
                                  WaitTimeBody, CsrEndSessionBody>;

// Who speaks: "bot", "csr" or "system".
enum class Sender { kBot, kCsr, kSystem };
const char* SenderName(Sender s);
std::optional<Sender> ParseSender(std::string_view s);

// The wire type name: text, menu, carousel, link_button, typing_indicator, wait_time,
// csr_end_session.
const char* TypeName(const OutboundBody& body);
// True for the types that carry a message_id (text, menu, carousel, link_button).
bool IsMessage(const OutboundBody& body);

struct OutboundEvent {
  std::string event_id;
  std::string customer_id;
  int64_t seq = 0;
  Sender from = Sender::kBot;
  std::optional<std::string> csr_name;
  OutboundBody body;
};

// The JSON object posted to the client webhook.
boost::json::object ToJson(const OutboundEvent& event);
// The body's own fields, without the envelope (what the transcript stores).
boost::json::object BodyToJson(const OutboundBody& body);

// Why `url` may not be sent to a customer as a link or image (not an absolute http/https URL
// with a host: `javascript:`, `data:`, relative ...), or nothing when it may. DecodeOutboundBody
// applies it to every url and image_url, so agents, bots and actions follow one rule.
std::optional<std::string> UrlProblem(std::string_view url);

// Decodes a body written by an agent or stored in the transcript: an object with `type` and
// that type's fields. Fails with kInvalidArgument naming the field.
Result<OutboundBody> DecodeOutboundBody(const boost::json::value& v);

}  // namespace parley::channel
