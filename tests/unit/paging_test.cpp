#include "http/paging.hpp"

#include <gtest/gtest.h>

#include <string>

#include "core/ids.hpp"

namespace parley::http {
namespace {

const ListId kConvs{ListKind::kConversations, "bot\nconn-1"};
const ListId kDeliv{ListKind::kDeliveries, "conn-1\n"};

Request WithQuery(std::map<std::string, std::string> query) {
  Request r;
  r.method = "GET";
  r.path = "/list";
  r.query = std::move(query);
  return r;
}

TEST(PagingTest, CursorsRoundTripAndBelongToTheirList) {
  storage::ListCursor c{1'764'000'000'123, "0c4f-id:with:colons"};
  std::string text = EncodeCursor(kConvs, c);
  auto back = DecodeCursor(kConvs, text);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->at_ms, c.at_ms);
  EXPECT_EQ(back->id, c.id);
  // Opaque to clients: no raw id in the text, and URL-safe characters only.
  EXPECT_EQ(text.find(c.id), std::string::npos);
  EXPECT_EQ(
      text.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
      std::string::npos);
  auto other = DecodeCursor(kDeliv, text);
  ASSERT_FALSE(other);
  EXPECT_EQ(other.error().code, "invalid_cursor");
  // The same kind of list with other filters is another list.
  EXPECT_FALSE(DecodeCursor(ListId{ListKind::kConversations, "bot\nconn-2"}, text));
  EXPECT_FALSE(DecodeCursor(ListId{ListKind::kConversations, "\nconn-1"}, text));
}

// The text inside a cursor of kConvs, up to the time: "c1:<scope hash>:".
std::string ConvPrefix() {
  std::string raw;
  EXPECT_TRUE(Base64UrlDecode(EncodeCursor(kConvs, {1, "x"}), raw));
  return raw.substr(0, raw.size() - std::string("1:x").size());
}

TEST(PagingTest, MalformedCursorsAreRefused) {
  std::string p = ConvPrefix();
  ASSERT_TRUE(p.starts_with("c1:"));
  std::string other_version = "c2" + p.substr(2);
  for (std::string raw : std::vector<std::string>{
           "", p, p + "12", p + ":id", p + "-5:id", p + "12x:id",
           p + "12:", other_version + "12:id", "x" + p.substr(1) + "12:id",
           p + "99999999999999999999:id", p + "1:" + std::string(257, 'i'), "c1:12:id"}) {
    auto r = DecodeCursor(kConvs, Base64UrlEncode(raw));
    ASSERT_FALSE(r) << raw;
    EXPECT_EQ(r.error().code, "invalid_cursor") << raw;
    EXPECT_FALSE(r.error().message.empty());
  }
  for (std::string text :
       std::vector<std::string>{"", "!!!", "not base64 at all", std::string(600, 'A')})
    EXPECT_FALSE(DecodeCursor(kConvs, text)) << text;
  EXPECT_TRUE(DecodeCursor(kConvs, Base64UrlEncode(p + "0:x")));
}

TEST(PagingTest, LimitIsAWholeNumberFromOneToAThousand) {
  auto none = ParsePage(WithQuery({}), kDeliv);
  ASSERT_TRUE(none);
  EXPECT_EQ(none->limit, kDefaultPageSize);
  EXPECT_FALSE(none->after);
  for (const char* ok : {"1", "100", "1000"}) {
    auto p = ParsePage(WithQuery({{"limit", ok}}), kDeliv);
    ASSERT_TRUE(p) << ok;
    EXPECT_EQ(p->limit, std::stoul(ok));
  }
  for (const char* bad :
       {"0", "1001", "-1", "abc", "", "5x", " 5", "1e3", "2.5", "99999999999999999999999"}) {
    auto p = ParsePage(WithQuery({{"limit", bad}}), kDeliv);
    ASSERT_FALSE(p) << bad;
    EXPECT_EQ(p.error().code, "invalid_limit") << bad;
    EXPECT_EQ(p.error().errc, Errc::kInvalidArgument);
  }
}

TEST(PagingTest, AfterIsDecodedForItsList) {
  std::string cursor = EncodeCursor(kDeliv, {7, "ev"});
  auto p = ParsePage(WithQuery({{"after", cursor}, {"limit", "3"}}), kDeliv);
  ASSERT_TRUE(p);
  ASSERT_TRUE(p->after);
  EXPECT_EQ(p->after->at_ms, 7);
  EXPECT_EQ(p->after->id, "ev");
  auto wrong = ParsePage(WithQuery({{"after", cursor}}), kConvs);
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().code, "invalid_cursor");
}

TEST(PagingTest, PageShowsAtMostLimitAndPointsAfterTheLastShown) {
  std::vector<int> items = {30, 20, 10};
  auto encode = [](int v) { return boost::json::value(v); };
  auto key = [](int v) { return storage::ListCursor{v, "k" + std::to_string(v)}; };
  auto more = Page("items", items, 2, kDeliv, encode, key);
  EXPECT_EQ(more.at("items").as_array().size(), 2u);
  ASSERT_TRUE(more.at("next").is_string());
  auto next = DecodeCursor(kDeliv, more.at("next").as_string());
  ASSERT_TRUE(next);
  EXPECT_EQ(next->at_ms, 20);
  EXPECT_EQ(next->id, "k20");
  auto last = Page("items", items, 3, kDeliv, encode, key);
  EXPECT_EQ(last.at("items").as_array().size(), 3u);
  EXPECT_TRUE(last.at("next").is_null());
  auto empty = Page("items", std::vector<int>{}, 3, kDeliv, encode, key);
  EXPECT_TRUE(empty.at("items").as_array().empty());
  EXPECT_TRUE(empty.at("next").is_null());
}

}  // namespace
}  // namespace parley::http
