// Decoding of the inbound events of PROTOCOL.md §3.1-3.3: every field, every bound, and the
// error codes and messages that name the field.

#include "channel/inbound.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>

namespace parley::channel {
namespace {

namespace json = boost::json;

json::object BaseText() {
  return {
      {"type", "text"}, {"customer_id", "c1"}, {"message_id", "m1"}, {"text", json::array{"hi"}}};
}

Result<InboundEvent> Decode(const json::object& o) { return DecodeInbound(json::serialize(o)); }

CustomerText DecodeTextOk(const json::object& o) {
  auto r = Decode(o);
  EXPECT_TRUE(r) << (r ? "" : r.error().message);
  if (!r) return {};
  EXPECT_TRUE(std::holds_alternative<CustomerText>(*r));
  return std::get<CustomerText>(*r);
}

// The error, and that its message names `field`.
void ExpectInvalid(const json::object& o, std::string_view code, std::string_view field) {
  auto r = Decode(o);
  ASSERT_FALSE(r) << json::serialize(o);
  EXPECT_EQ(r.error().errc, Errc::kInvalidArgument);
  EXPECT_EQ(HttpStatus(r.error().errc), 400);
  EXPECT_EQ(r.error().code, code) << r.error().message;
  EXPECT_NE(r.error().message.find(field), std::string::npos)
      << "message '" << r.error().message << "' does not name " << field;
}

TEST(InboundTest, FullTextDecodes) {
  json::object o = BaseText();
  o["text"] = json::array{"line 1", "line 2"};
  o["customer_name"] = "Ann";
  o["postback"] = "intent:hours";
  o["attachments"] = json::array{json::object{{"url", "https://x.example/a.png"},
                                              {"content_type", "image/png"},
                                              {"file_name", "a.png"},
                                              {"size", 1234}},
                                 json::object{{"url", "https://x.example/b"}}};
  o["context_data"] = json::object{{"plan", "gold"}, {"age", 42}, {"vip", true}, {"score", 1.5}};
  CustomerText t = DecodeTextOk(o);
  EXPECT_EQ(t.customer_id, "c1");
  EXPECT_EQ(t.message_id, "m1");
  EXPECT_EQ(t.text, (std::vector<std::string>{"line 1", "line 2"}));
  EXPECT_EQ(t.customer_name, "Ann");
  EXPECT_EQ(t.postback, "intent:hours");
  ASSERT_EQ(t.attachments.size(), 2u);
  EXPECT_EQ(t.attachments[0].url, "https://x.example/a.png");
  EXPECT_EQ(t.attachments[0].content_type, "image/png");
  EXPECT_EQ(t.attachments[0].file_name, "a.png");
  EXPECT_EQ(t.attachments[0].size, 1234);
  EXPECT_FALSE(t.attachments[1].content_type);
  EXPECT_FALSE(t.attachments[1].size);
  EXPECT_EQ(t.context_data.at("plan"), "gold");
  EXPECT_EQ(t.context_data.at("age"), 42);
  EXPECT_EQ(t.context_data.at("vip"), true);
  EXPECT_EQ(CustomerIdOf(InboundEvent(t)), "c1");
}

TEST(InboundTest, NumericIdsNormalisedToStrings) {
  json::object o = BaseText();
  o["customer_id"] = 12345;
  o["message_id"] = json::value(static_cast<uint64_t>(18446744073709551615ull));
  CustomerText t = DecodeTextOk(o);
  EXPECT_EQ(t.customer_id, "12345");
  EXPECT_EQ(t.message_id, "18446744073709551615");
  o["customer_id"] = -7;
  EXPECT_EQ(DecodeTextOk(o).customer_id, "-7");
}

TEST(InboundTest, NonIntegerIdsRefused) {
  for (json::value bad : {json::value(1.5), json::value(true), json::value(json::array{}),
                          json::value(json::object{})}) {
    json::object o = BaseText();
    o["customer_id"] = bad;
    ExpectInvalid(o, "invalid_field", "customer_id");
    json::object p = BaseText();
    p["message_id"] = bad;
    ExpectInvalid(p, "invalid_field", "message_id");
  }
}

TEST(InboundTest, LoneStringTextAccepted) {
  json::object o = BaseText();
  o["text"] = "just one line";
  EXPECT_EQ(DecodeTextOk(o).text, (std::vector<std::string>{"just one line"}));
}

TEST(InboundTest, TextOfWrongTypeRefused) {
  json::object o = BaseText();
  o["text"] = json::array{"ok", 3};
  ExpectInvalid(o, "invalid_field", "text");
  o["text"] = 3;
  ExpectInvalid(o, "invalid_field", "text");
}

TEST(InboundTest, IdLengthBounds) {
  for (const char* field : {"customer_id", "message_id"}) {
    json::object o = BaseText();
    o[field] = std::string(256, 'x');
    EXPECT_TRUE(Decode(o)) << field << " of 256";
    o[field] = std::string(257, 'x');
    ExpectInvalid(o, "invalid_field", field);
    o[field] = "";
    ExpectInvalid(o, "invalid_field", field);
  }
}

TEST(InboundTest, RequiredIdsMissing) {
  for (const char* field : {"customer_id", "message_id"}) {
    json::object o = BaseText();
    o.erase(field);
    ExpectInvalid(o, "missing_field", field);
    o[field] = nullptr;
    ExpectInvalid(o, "missing_field", field);
  }
}

TEST(InboundTest, TextPostbackOrAttachmentsRequired) {
  json::object o = BaseText();
  o.erase("text");
  ExpectInvalid(o, "missing_field", "text");
  o["text"] = json::array{};
  ExpectInvalid(o, "missing_field", "text");
  o["postback"] = "p";
  EXPECT_TRUE(Decode(o));
  o.erase("postback");
  o["attachments"] = json::array{json::object{{"url", "https://x.example/f"}}};
  EXPECT_TRUE(Decode(o));
}

TEST(InboundTest, CustomerNameBound) {
  json::object o = BaseText();
  o["customer_name"] = std::string(256, 'n');
  EXPECT_TRUE(Decode(o));
  o["customer_name"] = std::string(257, 'n');
  ExpectInvalid(o, "invalid_field", "customer_name");
  o["customer_name"] = 5;
  ExpectInvalid(o, "invalid_field", "customer_name");
}

TEST(InboundTest, PostbackBound) {
  json::object o = BaseText();
  o["postback"] = std::string(1024, 'p');
  EXPECT_EQ(DecodeTextOk(o).postback->size(), 1024u);
  o["postback"] = std::string(1025, 'p');
  ExpectInvalid(o, "invalid_field", "postback");
  o["postback"] = json::object{};
  ExpectInvalid(o, "invalid_field", "postback");
}

TEST(InboundTest, AttachmentCountBound) {
  json::object o = BaseText();
  json::array atts;
  for (int i = 0; i < 10; ++i)
    atts.push_back(json::object{{"url", "https://x.example/" + std::to_string(i)}});
  o["attachments"] = atts;
  EXPECT_EQ(DecodeTextOk(o).attachments.size(), 10u);
  atts.push_back(json::object{{"url", "https://x.example/10"}});
  o["attachments"] = atts;
  ExpectInvalid(o, "invalid_field", "attachments");
}

TEST(InboundTest, AttachmentFieldsValidated) {
  auto with = [](json::value att) {
    json::object o = BaseText();
    o["attachments"] = json::array{json::object{{"url", "https://x.example/ok"}}, std::move(att)};
    return o;
  };
  ExpectInvalid(with(json::object{}), "invalid_field", "attachments[1].url");
  ExpectInvalid(with(json::object{{"url", ""}}), "invalid_field", "attachments[1].url");
  ExpectInvalid(with(json::object{{"url", std::string(2049, 'u')}}), "invalid_field",
                "attachments[1].url");
  EXPECT_TRUE(Decode(with(json::object{{"url", std::string(2048, 'u')}})));
  ExpectInvalid(with("https://x.example/f"), "invalid_field", "attachments[1]");
  ExpectInvalid(with(json::object{{"url", "u"}, {"content_type", 1}}), "invalid_field",
                "attachments[1].content_type");
  ExpectInvalid(with(json::object{{"url", "u"}, {"file_name", std::string(257, 'f')}}),
                "invalid_field", "attachments[1].file_name");
  ExpectInvalid(with(json::object{{"url", "u"}, {"size", -1}}), "invalid_field",
                "attachments[1].size");
  ExpectInvalid(with(json::object{{"url", "u"}, {"size", 1.5}}), "invalid_field",
                "attachments[1].size");
  ExpectInvalid(with(json::object{{"url", "u"}, {"size", "12"}}), "invalid_field",
                "attachments[1].size");
  json::object o = BaseText();
  o["attachments"] = json::object{{"url", "u"}};
  ExpectInvalid(o, "invalid_field", "attachments");
}

TEST(InboundTest, ContextDataValueTypes) {
  json::object o = BaseText();
  o["context_data"] = json::object{{"s", "x"}, {"n", -1}, {"f", 0.25}, {"b", false}};
  EXPECT_EQ(DecodeTextOk(o).context_data.size(), 4u);
  o["context_data"] = json::object{{"nested", json::object{}}};
  ExpectInvalid(o, "invalid_field", "nested");
  o["context_data"] = json::object{{"list", json::array{1}}};
  ExpectInvalid(o, "invalid_field", "list");
  o["context_data"] = json::object{{"nothing", nullptr}};
  ExpectInvalid(o, "invalid_field", "nothing");
  o["context_data"] = json::array{};
  ExpectInvalid(o, "invalid_field", "context_data");
  o["context_data"] = "k=v";
  ExpectInvalid(o, "invalid_field", "context_data");
}

TEST(InboundTest, ContextDataSizeBound) {
  // {"k":"<v>"} is 8 bytes of JSON plus the value.
  json::object o = BaseText();
  o["context_data"] = json::object{{"k", std::string(4096 - 8, 'v')}};
  EXPECT_EQ(json::serialize(o["context_data"]).size(), 4096u);
  EXPECT_TRUE(Decode(o));
  o["context_data"] = json::object{{"k", std::string(4096 - 7, 'v')}};
  ExpectInvalid(o, "invalid_field", "context_data");
}

TEST(InboundTest, TypingIndicator) {
  auto r = DecodeInbound(R"({"type":"typing_indicator","customer_id":77})");
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_TRUE(std::holds_alternative<CustomerTyping>(*r));
  EXPECT_EQ(std::get<CustomerTyping>(*r).customer_id, "77");
  ExpectInvalid({{"type", "typing_indicator"}}, "missing_field", "customer_id");
  ExpectInvalid({{"type", "typing_indicator"}, {"customer_id", std::string(257, 'c')}},
                "invalid_field", "customer_id");
}

TEST(InboundTest, CustomerEndSession) {
  auto r = DecodeInbound(R"({"type":"customer_end_session","customer_id":"c9"})");
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_TRUE(std::holds_alternative<CustomerEndSession>(*r));
  EXPECT_EQ(std::get<CustomerEndSession>(*r).customer_id, "c9");
  EXPECT_FALSE(std::get<CustomerEndSession>(*r).message_id);
  auto with_id =
      DecodeInbound(R"({"type":"customer_end_session","customer_id":"c9","message_id":5})");
  ASSERT_TRUE(with_id);
  EXPECT_EQ(std::get<CustomerEndSession>(*with_id).message_id, "5");
  ExpectInvalid({{"type", "customer_end_session"}}, "missing_field", "customer_id");
  ExpectInvalid({{"type", "customer_end_session"}, {"customer_id", "c"}, {"message_id", ""}},
                "invalid_field", "message_id");
}

TEST(InboundTest, UnknownTypeRefused) {
  ExpectInvalid({{"type", "video"}, {"customer_id", "c"}}, "unknown_type", "video");
  // A very long type is cut in the message.
  auto r = Decode({{"type", std::string(5000, 't')}});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "unknown_type");
  EXPECT_LT(r.error().message.size(), 300u);
}

TEST(InboundTest, MissingOrNonStringTypeRefused) {
  ExpectInvalid({{"customer_id", "c"}}, "missing_field", "type");
  ExpectInvalid({{"type", 1}, {"customer_id", "c"}}, "missing_field", "type");
}

TEST(InboundTest, NotJsonRefused) {
  for (std::string_view body : {"", "{", "not json", "{\"type\":\"text\",}", "\xff\xfe"}) {
    auto r = DecodeInbound(body);
    ASSERT_FALSE(r) << body;
    EXPECT_EQ(r.error().code, "invalid_json");
    EXPECT_EQ(r.error().errc, Errc::kInvalidArgument);
  }
}

TEST(InboundTest, NotAnObjectRefused) {
  for (std::string_view body : {"[]", "\"text\"", "42", "null", "true"}) {
    auto r = DecodeInbound(body);
    ASSERT_FALSE(r) << body;
    EXPECT_EQ(r.error().code, "invalid_payload") << body;
  }
}

TEST(InboundTest, UnknownFieldsIgnored) {
  json::object o = BaseText();
  o["future_field"] = json::object{{"x", json::array{1, 2}}};
  o["channel"] = "teams";
  CustomerText t = DecodeTextOk(o);
  EXPECT_EQ(t.text, (std::vector<std::string>{"hi"}));
  auto typing = DecodeInbound(R"({"type":"typing_indicator","customer_id":"c","extra":[1]})");
  EXPECT_TRUE(typing);
}

TEST(InboundTest, NullOptionalFieldsTreatedAsAbsent) {
  json::object o = BaseText();
  o["customer_name"] = nullptr;
  o["postback"] = nullptr;
  o["attachments"] = nullptr;
  o["context_data"] = nullptr;
  CustomerText t = DecodeTextOk(o);
  EXPECT_FALSE(t.customer_name);
  EXPECT_FALSE(t.postback);
  EXPECT_TRUE(t.attachments.empty());
  EXPECT_TRUE(t.context_data.empty());
}

TEST(InboundTest, UnicodeTextKeptAsIs) {
  json::object o = BaseText();
  o["text"] = json::array{"héllo 👋", "مرحبا"};
  CustomerText t = DecodeTextOk(o);
  EXPECT_EQ(t.text[0], "héllo 👋");
  EXPECT_EQ(t.text[1], "مرحبا");
}

}  // namespace
}  // namespace parley::channel
