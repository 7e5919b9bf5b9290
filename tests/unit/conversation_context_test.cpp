// The customer context beside an agent's transcript: why the bot handed over (an intent, a
// tapped "talk to a person", no bot), what it collected, the wait, and the earlier
// conversations of the same customer on the same connection only.

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "conversation/context.hpp"

namespace parley::conversation {
namespace {
namespace json = boost::json;
using storage::ConversationRecord;
using storage::EventRecord;

EventRecord In(int64_t position, const std::string& text, const std::string& note_json) {
  EventRecord e;
  e.position = position;
  e.direction = "in";
  e.sender = "customer";
  e.type = "text";
  json::object payload{{"type", "text"}, {"text", json::array{json::value(text)}}};
  if (!note_json.empty()) payload["bot"] = json::parse(note_json);
  e.payload_json = json::serialize(payload);
  return e;
}

EventRecord Out(int64_t position, const std::string& type) {
  EventRecord e;
  e.position = position;
  e.direction = "out";
  e.sender = "system";
  e.type = type;
  e.payload_json = "{}";
  return e;
}

ConversationRecord Conv(const std::string& id, const std::string& connection,
                        const std::string& customer, int64_t created) {
  ConversationRecord c;
  c.id = id;
  c.connection_id = connection;
  c.customer_id = customer;
  c.created_at_ms = created;
  c.state = "ended";
  return c;
}

ContextInput Input() {
  ContextInput in;
  in.conversation = Conv("now", "conn", "cust-1", 5'000'000);
  in.conversation.customer_name = "Ada";
  in.conversation.state = "queued";
  in.conversation.routing.queue = "cards";
  in.conversation.routing.queued_at_ms = 5'000'000;
  in.conversation.context_json = R"({"plan":"gold"})";
  in.conversation.dialog_state_json = R"({"flow":"block_card","slots":{"card":"1234"}})";
  storage::ConnectionRecord conn;
  conn.id = "conn";
  conn.name = "Bank chat";
  conn.bot = "bank";
  in.connection = conn;
  in.now_ms = 5'042'000;
  return in;
}

TEST(CustomerContextTest, AnIntentThatHandsOverTheSlotsTheWaitAndTheCustomer) {
  ContextInput in = Input();
  in.transcript = {In(1, "hello", R"({"kind":"greeting"})"),
                   In(2, "I lost my card", R"({"kind":"intent","intent":"lost_card"})"),
                   Out(3, "wait_time"), In(4, "are you there?", "")};
  json::object o = CustomerContext(in);
  EXPECT_EQ(o.at("customer").at("name"), "Ada");
  EXPECT_EQ(o.at("connection").at("name"), "Bank chat");
  EXPECT_EQ(o.at("queue"), "cards");
  EXPECT_EQ(o.at("waited_s"), 42);
  EXPECT_EQ(o.at("handover").at("reason"), "intent");
  EXPECT_EQ(o.at("handover").at("intent"), "lost_card");
  EXPECT_EQ(o.at("handover").at("text"), "I lost my card");
  EXPECT_EQ(o.at("collected").at("slots").at("card"), "1234");
  EXPECT_EQ(o.at("collected").at("context").at("plan"), "gold");
}

TEST(CustomerContextTest, ATappedPersonItemOrNoBot) {
  ContextInput in = Input();
  in.transcript = {In(1, "Talk to a person", R"({"kind":"choice","value":"action:escalate"})"),
                   Out(2, "wait_time")};
  EXPECT_EQ(CustomerContext(in).at("handover").at("reason"), "asked_for_person");
  in.connection->bot = "none";
  EXPECT_EQ(CustomerContext(in).at("handover").at("reason"), "no_bot");
  EXPECT_EQ(CustomerContext(in).at("handover").at("text"), "Talk to a person");  // their words
  in.connection.reset();
  in.transcript.clear();
  json::object o = CustomerContext(in);
  EXPECT_EQ(o.at("handover").at("reason"), "unknown");
  EXPECT_TRUE(o.at("connection").at("name").is_null());
}

TEST(CustomerContextTest, PreviousConversationsAreTheSameCustomersOnTheSameConnectionNewestFirst) {
  ContextInput in = Input();
  in.others = {Conv("old", "conn", "cust-1", 1'000), Conv("newer", "conn", "cust-1", 2'000),
               Conv("other-customer", "conn", "cust-10", 3'000),
               Conv("other-channel", "conn-2", "cust-1", 3'000), in.conversation};
  json::array previous = CustomerContext(in).at("previous").as_array();
  ASSERT_EQ(previous.size(), 2u);
  EXPECT_EQ(previous[0].at("id"), "newer");
  EXPECT_EQ(previous[1].at("id"), "old");
}

}  // namespace
}  // namespace parley::conversation
