// app::WebchatHub: numbering, backlog bound, duplicate drop, replay after a cursor, fan-out.

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <memory>
#include <string>
#include <vector>

#include "app/webchat.hpp"

namespace parley::app {
namespace {

namespace json = boost::json;

class FakeSocket final : public http::WebSocket {
 public:
  bool Send(std::string text) override {
    if (!open_) return false;
    if (frames.size() >= capacity) {
      open_ = false;  // as the real socket does for a slow consumer
      return false;
    }
    frames.push_back(json::parse(text).as_object());
    return true;
  }
  void Close(uint16_t, std::string) override { open_ = false; }
  bool IsOpen() const override { return open_; }

  std::vector<json::object> frames;
  size_t capacity = 1000;

 private:
  bool open_ = true;
};

json::object Event(const std::string& id, int seq) {
  return json::object{{"type", "text"}, {"event_id", id}, {"seq", seq}, {"text", json::array{id}}};
}

std::vector<int64_t> Numbers(const FakeSocket& s) {
  std::vector<int64_t> out;
  for (const auto& f : s.frames) out.push_back(f.at("n").as_int64());
  return out;
}

TEST(WebchatHub, NumbersEventsPerCustomerAndFansOut) {
  WebchatHub hub(200, 100, 8);
  auto a1 = std::make_shared<FakeSocket>();
  auto a2 = std::make_shared<FakeSocket>();
  auto b = std::make_shared<FakeSocket>();
  ASSERT_TRUE(hub.Attach("a", a1, 0));
  ASSERT_TRUE(hub.Attach("a", a2, 0));
  ASSERT_TRUE(hub.Attach("b", b, 0));
  EXPECT_TRUE(hub.Publish("a", "e1", Event("e1", 1), 1000));
  EXPECT_TRUE(hub.Publish("a", "e2", Event("e2", 2), 1000));
  EXPECT_TRUE(hub.Publish("b", "e3", Event("e3", 1), 1000));
  EXPECT_EQ(Numbers(*a1), (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(a1->frames[0].at("at").as_int64(), 1000);  // when the webchat received it
  EXPECT_EQ(Numbers(*a2), (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(Numbers(*b), (std::vector<int64_t>{1}));
  EXPECT_EQ(a1->frames[1].at("event").at("event_id").as_string(), "e2");
}

TEST(WebchatHub, RepeatedEventIdIsDropped) {
  WebchatHub hub(200, 100, 8);
  auto s = std::make_shared<FakeSocket>();
  hub.Attach("a", s, 0);
  EXPECT_TRUE(hub.Publish("a", "e1", Event("e1", 1), 1000));
  EXPECT_FALSE(hub.Publish("a", "e1", Event("e1", 1), 1000));
  EXPECT_EQ(s->frames.size(), 1u);
}

TEST(WebchatHub, ReplaysTheBacklogAfterTheCursorAndKeepsItBounded) {
  WebchatHub hub(3, 100, 8);
  for (int i = 1; i <= 5; ++i) hub.Publish("a", "e" + std::to_string(i), Event("x", i), 1000);
  auto all = std::make_shared<FakeSocket>();
  hub.Attach("a", all, 0);
  EXPECT_EQ(Numbers(*all), (std::vector<int64_t>{3, 4, 5}));  // only the last 3 are kept
  auto later = std::make_shared<FakeSocket>();
  hub.Attach("a", later, 4);
  EXPECT_EQ(Numbers(*later), (std::vector<int64_t>{5}));
}

TEST(WebchatHub, BoundsSocketsPerCustomerAndDropsClosedOnes) {
  WebchatHub hub(10, 100, 2);
  auto s1 = std::make_shared<FakeSocket>();
  auto s2 = std::make_shared<FakeSocket>();
  auto s3 = std::make_shared<FakeSocket>();
  EXPECT_TRUE(hub.Attach("a", s1, 0));
  EXPECT_TRUE(hub.Attach("a", s2, 0));
  EXPECT_FALSE(hub.Attach("a", s3, 0));
  hub.Detach("a", s1.get());
  EXPECT_TRUE(hub.Attach("a", s3, 0));
  s2->Close(1000, "");
  auto s4 = std::make_shared<FakeSocket>();
  EXPECT_TRUE(hub.Attach("a", s4, 0));  // the closed one no longer counts
}

TEST(WebchatHub, ASlowSocketIsDroppedAndOthersStillGetEvents) {
  WebchatHub hub(10, 100, 8);
  auto slow = std::make_shared<FakeSocket>();
  slow->capacity = 1;
  auto fast = std::make_shared<FakeSocket>();
  hub.Attach("a", slow, 0);
  hub.Attach("a", fast, 0);
  for (int i = 1; i <= 3; ++i) hub.Publish("a", "e" + std::to_string(i), Event("x", i), 1000);
  EXPECT_EQ(slow->frames.size(), 1u);
  EXPECT_FALSE(slow->IsOpen());
  EXPECT_EQ(Numbers(*fast), (std::vector<int64_t>{1, 2, 3}));
}

TEST(WebchatHub, ForgetsTheLeastRecentlyActiveCustomerPastTheCap) {
  WebchatHub hub(10, 2, 8);
  hub.Publish("a", "e1", Event("x", 1), 1000);
  hub.Publish("b", "e2", Event("x", 1), 1000);
  hub.Publish("a", "e3", Event("x", 2), 1000);  // a is now more recent than b
  hub.Publish("c", "e4", Event("x", 1), 1000);
  EXPECT_EQ(hub.Customers(), 2u);
  auto s = std::make_shared<FakeSocket>();
  hub.Attach("a", s, 0);
  EXPECT_EQ(Numbers(*s), (std::vector<int64_t>{1, 2}));  // a was kept
}

}  // namespace
}  // namespace parley::app
