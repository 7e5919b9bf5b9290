// The outbound JSON of PROTOCOL.md §4: each type, the envelope (event_id, seq, from,
// message_id only on messages, csr_name), waitTime, and DecodeOutboundBody round trips.

#include "channel/outbound.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace parley::channel {
namespace {

namespace json = boost::json;

OutboundEvent Event(OutboundBody body, Sender from = Sender::kBot) {
  OutboundEvent e;
  e.event_id = "ev-1";
  e.customer_id = "cust-1";
  e.seq = 7;
  e.from = from;
  e.body = std::move(body);
  return e;
}

void ExpectEnvelope(const json::object& o, std::string_view type, bool message) {
  EXPECT_EQ(o.at("type"), json::value(type));
  EXPECT_EQ(o.at("customer_id"), "cust-1");
  EXPECT_EQ(o.at("event_id"), "ev-1");
  EXPECT_EQ(o.at("seq"), 7);
  EXPECT_TRUE(o.at("from").is_string());
  if (message) {
    ASSERT_TRUE(o.contains("message_id")) << type;
    EXPECT_EQ(o.at("message_id"), "ev-1");
  } else {
    EXPECT_FALSE(o.contains("message_id")) << type;
  }
}

// Encodes the body, decodes it back and encodes again: the two encodings must be equal.
void ExpectRoundTrip(const OutboundBody& body) {
  json::object first = BodyToJson(body);
  auto back = DecodeOutboundBody(first);
  ASSERT_TRUE(back) << json::serialize(first) << ": " << back.error().message;
  EXPECT_EQ(back->index(), body.index());
  EXPECT_EQ(json::serialize(BodyToJson(*back)), json::serialize(first));
}

TEST(OutboundTest, TextJson) {
  TextBody t{{"a", "b"}, {Attachment{"https://x.example/f.pdf", "application/pdf", "f.pdf", 10}}};
  json::object o = ToJson(Event(t));
  ExpectEnvelope(o, "text", true);
  EXPECT_EQ(o.at("from"), "bot");
  EXPECT_EQ(o.at("text"), json::value(json::array{"a", "b"}));
  ASSERT_TRUE(o.at("attachments").is_array());
  const json::object& att = o.at("attachments").as_array()[0].as_object();
  EXPECT_EQ(att.at("url"), "https://x.example/f.pdf");
  EXPECT_EQ(att.at("content_type"), "application/pdf");
  EXPECT_EQ(att.at("file_name"), "f.pdf");
  EXPECT_EQ(att.at("size"), 10);
  // No attachments: the field is left out.
  EXPECT_FALSE(ToJson(Event(TextBody{{"x"}, {}})).contains("attachments"));
  EXPECT_FALSE(o.contains("csr_name"));
  ExpectRoundTrip(t);
}

TEST(OutboundTest, MenuJson) {
  MenuBody m{"Pick one",
             {{"Hours", "intent:hours", std::nullopt},
              {"Cards", "flow:cards", "https://i.example/c.png"}}};
  json::object o = ToJson(Event(m));
  ExpectEnvelope(o, "menu", true);
  EXPECT_EQ(o.at("title"), "Pick one");
  const json::array& items = o.at("items").as_array();
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0].at("text"), "Hours");
  EXPECT_EQ(items[0].at("payload"), "intent:hours");
  EXPECT_FALSE(items[0].as_object().contains("image_url"));
  EXPECT_EQ(items[1].at("image_url"), "https://i.example/c.png");
  ExpectRoundTrip(m);
}

TEST(OutboundTest, CarouselJson) {
  CarouselBody c;
  c.title = "Branches";
  CarouselItem item;
  item.title = "Main St";
  item.subtitle = "Open 9-5";
  item.image_url = "https://i.example/b.png";
  item.buttons = {Button{"Choose", "branch:1", std::nullopt},
                  Button{"Map", std::nullopt, "https://m.example"}};
  c.items = {item, CarouselItem{"Bare", std::nullopt, std::nullopt, {}}};
  json::object o = ToJson(Event(c));
  ExpectEnvelope(o, "carousel", true);
  EXPECT_EQ(o.at("title"), "Branches");
  const json::array& items = o.at("items").as_array();
  ASSERT_EQ(items.size(), 2u);
  EXPECT_EQ(items[0].at("subtitle"), "Open 9-5");
  const json::array& buttons = items[0].at("buttons").as_array();
  EXPECT_EQ(buttons[0].at("payload"), "branch:1");
  EXPECT_FALSE(buttons[0].as_object().contains("url"));
  EXPECT_EQ(buttons[1].at("url"), "https://m.example");
  EXPECT_FALSE(buttons[1].as_object().contains("payload"));
  EXPECT_FALSE(items[1].as_object().contains("subtitle"));
  ExpectRoundTrip(c);
  // Without a title the field is absent.
  CarouselBody untitled;
  untitled.items = {CarouselItem{"Only", std::nullopt, std::nullopt, {}}};
  EXPECT_FALSE(BodyToJson(untitled).contains("title"));
  ExpectRoundTrip(untitled);
}

TEST(OutboundTest, LinkButtonJson) {
  LinkButtonBody l{"Online banking", "Open", "https://bank.example/login"};
  json::object o = ToJson(Event(l));
  ExpectEnvelope(o, "link_button", true);
  EXPECT_EQ(o.at("title"), "Online banking");
  EXPECT_EQ(o.at("label"), "Open");
  EXPECT_EQ(o.at("url"), "https://bank.example/login");
  ExpectRoundTrip(l);
}

TEST(OutboundTest, TypingIndicatorJson) {
  json::object o = ToJson(Event(TypingBody{}, Sender::kCsr));
  ExpectEnvelope(o, "typing_indicator", false);
  EXPECT_EQ(o.at("from"), "csr");
  EXPECT_EQ(o.size(), 5u);  // type, customer_id, event_id, seq, from
  ExpectRoundTrip(TypingBody{});
}

TEST(OutboundTest, WaitTimeJson) {
  json::object o = ToJson(Event(WaitTimeBody{90, 3}, Sender::kSystem));
  ExpectEnvelope(o, "wait_time", false);
  EXPECT_EQ(o.at("from"), "system");
  EXPECT_EQ(o.at("waitTime"), 90);
  EXPECT_EQ(o.at("queue_position"), 3);
  EXPECT_FALSE(o.contains("wait_time"));
  ExpectRoundTrip(WaitTimeBody{90, 3});
  ExpectRoundTrip(WaitTimeBody{0, 0});
}

TEST(OutboundTest, CsrEndSessionJson) {
  json::object o = ToJson(Event(CsrEndSessionBody{}, Sender::kSystem));
  ExpectEnvelope(o, "csr_end_session", false);
  ExpectRoundTrip(CsrEndSessionBody{});
}

TEST(OutboundTest, CsrNameOnAgentMessages) {
  OutboundEvent e = Event(TextBody{{"Hello, I'm Kim"}, {}}, Sender::kCsr);
  e.csr_name = "Kim";
  json::object o = ToJson(e);
  EXPECT_EQ(o.at("from"), "csr");
  EXPECT_EQ(o.at("csr_name"), "Kim");
}

TEST(OutboundTest, TypeNamesAndMessageKinds) {
  EXPECT_STREQ(TypeName(TextBody{}), "text");
  EXPECT_STREQ(TypeName(MenuBody{}), "menu");
  EXPECT_STREQ(TypeName(CarouselBody{}), "carousel");
  EXPECT_STREQ(TypeName(LinkButtonBody{}), "link_button");
  EXPECT_STREQ(TypeName(TypingBody{}), "typing_indicator");
  EXPECT_STREQ(TypeName(WaitTimeBody{}), "wait_time");
  EXPECT_STREQ(TypeName(CsrEndSessionBody{}), "csr_end_session");
  EXPECT_TRUE(IsMessage(TextBody{}));
  EXPECT_TRUE(IsMessage(MenuBody{}));
  EXPECT_TRUE(IsMessage(CarouselBody{}));
  EXPECT_TRUE(IsMessage(LinkButtonBody{}));
  EXPECT_FALSE(IsMessage(TypingBody{}));
  EXPECT_FALSE(IsMessage(WaitTimeBody{}));
  EXPECT_FALSE(IsMessage(CsrEndSessionBody{}));
}

TEST(OutboundTest, SenderNames) {
  for (Sender s : {Sender::kBot, Sender::kCsr, Sender::kSystem})
    EXPECT_EQ(ParseSender(SenderName(s)), s);
  EXPECT_FALSE(ParseSender("customer"));
  EXPECT_FALSE(ParseSender("BOT"));
}

// ---- DecodeOutboundBody refusals name the field ----

void ExpectDecodeFails(std::string_view text, std::string_view code, std::string_view field) {
  auto r = DecodeOutboundBody(json::parse(text));
  ASSERT_FALSE(r) << text;
  EXPECT_EQ(r.error().errc, Errc::kInvalidArgument);
  EXPECT_EQ(r.error().code, code) << r.error().message;
  EXPECT_NE(r.error().message.find(field), std::string::npos)
      << "'" << r.error().message << "' does not name " << field;
}

TEST(OutboundTest, DecodeRefusals) {
  ExpectDecodeFails(R"([1])", "invalid_field", "type");
  ExpectDecodeFails(R"({"type":"video"})", "unknown_type", "type");
  ExpectDecodeFails(R"({"text":["x"]})", "unknown_type", "type");
  ExpectDecodeFails(R"({"type":"text"})", "invalid_field", "text");
  ExpectDecodeFails(R"({"type":"text","text":[1]})", "invalid_field", "text");
  ExpectDecodeFails(R"({"type":"text","attachments":[{"url":""}]})", "invalid_field",
                    "attachments[0].url");
  ExpectDecodeFails(R"({"type":"menu","items":[{"text":"a","payload":"b"}]})", "invalid_field",
                    "title");
  ExpectDecodeFails(R"({"type":"menu","title":"t"})", "invalid_field", "items");
  ExpectDecodeFails(R"({"type":"menu","title":"t","items":[]})", "invalid_field", "items");
  ExpectDecodeFails(R"({"type":"menu","title":"t","items":[{"text":"a"}]})", "invalid_field",
                    "items[0].payload");
  ExpectDecodeFails(
      R"({"type":"menu","title":"t","items":[{"text":"a","payload":"b"},{"payload":"c"}]})",
      "invalid_field", "items[1].text");
  std::string long_payload = R"({"type":"menu","title":"t","items":[{"text":"a","payload":")" +
                             std::string(1025, 'p') + R"("}]})";
  ExpectDecodeFails(long_payload, "invalid_field", "items[0].payload");
  ExpectDecodeFails(R"({"type":"carousel","items":[{"buttons":[]}]})", "invalid_field",
                    "items[0].title");
  ExpectDecodeFails(R"({"type":"carousel","items":[{"title":"x","buttons":[{"text":"b"}]}]})",
                    "invalid_field", "items[0].buttons[0]");
  ExpectDecodeFails(
      R"({"type":"carousel","items":[{"title":"x","buttons":[{"text":"b","payload":"p","url":"https://x.example"}]}]})",
      "invalid_field", "items[0].buttons[0]");
  ExpectDecodeFails(R"({"type":"link_button","title":"t","label":"l"})", "invalid_field", "url");
  ExpectDecodeFails(R"({"type":"link_button","title":"t","url":"u"})", "invalid_field", "label");
}

// Issue 17, defect 6: agents could send javascript: links that bot files may not hold.
TEST(OutboundTest, LinksFollowOneRuleForEverySender) {
  for (const char* bad : {"javascript:alert(1)", "JavaScript:alert(1)", "data:text/html,x",
                          "vbscript:x", "/relative", "https://", "file:///etc/passwd"}) {
    std::string url = json::serialize(json::value(bad));
    ExpectDecodeFails(R"({"type":"link_button","title":"t","label":"l","url":)" + url + "}",
                      "invalid_url", "url");
    ExpectDecodeFails(
        R"({"type":"carousel","items":[{"title":"x","buttons":[{"text":"b","url":)" + url + "}]}]}",
        "invalid_url", "items[0].buttons[0].url");
    ExpectDecodeFails(R"({"type":"carousel","items":[{"title":"x","image_url":)" + url + "}]}",
                      "invalid_url", "items[0].image_url");
    ExpectDecodeFails(
        R"({"type":"menu","title":"t","items":[{"text":"a","payload":"b","image_url":)" + url +
            "}]}",
        "invalid_url", "items[0].image_url");
    ExpectDecodeFails(R"({"type":"text","attachments":[{"url":)" + url + "}]}", "invalid_url",
                      "attachments[0].url");
  }
  EXPECT_TRUE(DecodeOutboundBody(json::parse(
      R"({"type":"link_button","title":"t","label":"l","url":"HTTPS://example.com/x?a=1"})")));
  EXPECT_FALSE(UrlProblem("http://example.com"));
}

// BUG (src/channel/outbound.cpp, DecodeOutboundBody "wait_time"): waitTime and queue_position
// are read only when they are int64 and silently default to 0 otherwise; a negative value is
// accepted. PROTOCOL.md §4 says waitTime is an integer >= 0, and the decoder's contract is to
// fail with kInvalidArgument naming the field.
TEST(OutboundTest, WaitTimeMustBeANonNegativeInteger) {
  // PROTOCOL.md §4: waitTime is an integer >= 0.
  auto negative = DecodeOutboundBody(json::parse(R"({"type":"wait_time","waitTime":-5})"));
  EXPECT_FALSE(negative) << "a negative waitTime was accepted";
  auto text = DecodeOutboundBody(json::parse(R"({"type":"wait_time","waitTime":"soon"})"));
  EXPECT_FALSE(text) << "a non-numeric waitTime was accepted (as 0)";
}

TEST(OutboundTest, DecodeAcceptsLoneStringText) {
  auto r = DecodeOutboundBody(json::parse(R"({"type":"text","text":"hello"})"));
  ASSERT_TRUE(r);
  EXPECT_EQ(std::get<TextBody>(*r).text, (std::vector<std::string>{"hello"}));
}

TEST(OutboundTest, StoredWireJsonDecodesBack) {
  // The transcript stores the wire JSON (envelope included); decoding ignores the envelope.
  MenuBody m{"T", {{"a", "b", std::nullopt}}};
  json::object wire = ToJson(Event(m));
  auto back = DecodeOutboundBody(wire);
  ASSERT_TRUE(back);
  EXPECT_EQ(json::serialize(BodyToJson(*back)), json::serialize(BodyToJson(m)));
}

}  // namespace
}  // namespace parley::channel
