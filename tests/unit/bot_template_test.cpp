#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "bot/template.hpp"

namespace parley::bot {
namespace {
namespace json = boost::json;

class BotTemplateTest : public ::testing::Test {
 protected:
  json::object slots_{{"last4", "1234"}, {"count", 3}, {"ok", true}, {"nothing", nullptr}};
  json::object context_{{"plan", "gold"},
                        {"a.b", "dotted"},
                        {"address", json::object{{"city", "Leeds"}}},
                        {"list", json::array{1, 2}}};
  TemplateValues values_{"Ana", &slots_, &context_};
};

TEST_F(BotTemplateTest, FillsCustomerNameSlotsAndContext) {
  EXPECT_EQ(FillTemplate("Hi {customer_name}, card {last4}, plan {context.plan}.", values_),
            "Hi Ana, card 1234, plan gold.");
  EXPECT_EQ(FillTemplate("{count} {ok}", values_), "3 true");
  EXPECT_EQ(FillTemplate("{context.a.b} {context.address.city}", values_), "dotted Leeds");
}

TEST_F(BotTemplateTest, MissingValuesRenderEmpty) {
  TemplateValues none;
  EXPECT_EQ(FillTemplate("Hi {customer_name}!", none), "Hi !");
  EXPECT_EQ(FillTemplate("[{unknown}] [{context.missing}] [{nothing}] [{context.list}]", values_),
            "[] [] [] []");
  EXPECT_EQ(FillTemplate("[{context.address.zip}] [{context.plan.x}]", values_), "[] []");
  EXPECT_EQ(FillTemplate("{last4}", none), "");
}

TEST_F(BotTemplateTest, FallbacksStandInForMissingOrEmptyValues) {
  TemplateValues none;
  EXPECT_EQ(FillTemplate("Hi {customer_name|there}!", none), "Hi there!");
  EXPECT_EQ(FillTemplate("Hi {customer_name|there}!", values_), "Hi Ana!");
  TemplateValues empty_name{"", nullptr, nullptr};
  EXPECT_EQ(FillTemplate("Hi {customer_name|there}!", empty_name), "Hi there!");
  EXPECT_EQ(FillTemplate("{last4|none} {context.zip|no zip, sorry} {nothing|-}", values_),
            "1234 no zip, sorry -");
  EXPECT_EQ(FillTemplate("[{unknown|}]", values_), "[]");  // an empty fallback is allowed
  // Not a placeholder: braces inside the fallback, an unclosed one, a fallback too long.
  EXPECT_EQ(FillTemplate("{last4|a{1}", values_), "{last4|a{1}");
  EXPECT_EQ(FillTemplate("{last4|open", values_), "{last4|open");
  std::string long_fallback = "{last4|" + std::string(257, 'x') + "}";
  EXPECT_EQ(FillTemplate(long_fallback, values_), long_fallback);
  std::string longest = "{unknown|" + std::string(256, 'x') + "}";
  EXPECT_EQ(FillTemplate(longest, values_), std::string(256, 'x'));
  EXPECT_EQ(TemplatePlaceholders("{a|x} {b|} {c|{}"), (std::vector<std::string>{"a", "b"}));
}

TEST_F(BotTemplateTest, KeepsLiteralTextAndNonPlaceholderBraces) {
  EXPECT_EQ(FillTemplate("no placeholders here", values_), "no placeholders here");
  EXPECT_EQ(FillTemplate("{} { last4 } {1abc} {a b} {{last4}} {", values_),
            "{} { last4 } {1abc} {a b} {1234} {");
  EXPECT_EQ(FillTemplate("json: {\"a\": 1}", values_), "json: {\"a\": 1}");
  EXPECT_EQ(FillTemplate("emoji 🙂 {customer_name} שלום", values_),
            "emoji 🙂 Ana שלום");
  std::string long_name = "{" + std::string(65, 'a') + "}";
  EXPECT_EQ(FillTemplate(long_name, values_), long_name);
}

TEST_F(BotTemplateTest, ListsPlaceholders) {
  EXPECT_EQ(TemplatePlaceholders("a {x} {} {context.k} {y"),
            (std::vector<std::string>{"x", "context.k"}));
}

TEST_F(BotTemplateTest, FillsEveryVisibleStringOfABodyButNotPayloads) {
  channel::MenuBody menu{"Block {last4}?", {{"Yes {customer_name}", "yes:{last4}", std::nullopt}}};
  auto filled = std::get<channel::MenuBody>(FillBody(menu, values_));
  EXPECT_EQ(filled.title, "Block 1234?");
  EXPECT_EQ(filled.items[0].text, "Yes Ana");
  EXPECT_EQ(filled.items[0].payload, "yes:{last4}");

  channel::CarouselBody carousel;
  carousel.title = "For {customer_name}";
  carousel.items.push_back({"Branch {context.address.city}",
                            "sub {context.plan}",
                            "https://img.example/{context.plan}.png",
                            {{"Go", std::nullopt, "https://maps.example/?q={context.address.city}"},
                             {"Hours", "intent:{x}", std::nullopt}}});
  auto c = std::get<channel::CarouselBody>(FillBody(carousel, values_));
  EXPECT_EQ(*c.title, "For Ana");
  EXPECT_EQ(c.items[0].title, "Branch Leeds");
  EXPECT_EQ(*c.items[0].subtitle, "sub gold");
  EXPECT_EQ(*c.items[0].image_url, "https://img.example/gold.png");
  EXPECT_EQ(*c.items[0].buttons[0].url, "https://maps.example/?q=Leeds");
  EXPECT_EQ(*c.items[0].buttons[1].payload, "intent:{x}");

  channel::LinkButtonBody link{"Hi {customer_name}", "Open {context.plan}",
                               "https://b.example/{last4}"};
  auto l = std::get<channel::LinkButtonBody>(FillBody(link, values_));
  EXPECT_EQ(l.title, "Hi Ana");
  EXPECT_EQ(l.label, "Open gold");
  EXPECT_EQ(l.url, "https://b.example/1234");

  channel::TextBody text{{"a {last4}", "b {missing}"}, {}};
  auto t = std::get<channel::TextBody>(FillBody(text, values_));
  EXPECT_EQ(t.text, (std::vector<std::string>{"a 1234", "b "}));
}

}  // namespace
}  // namespace parley::bot
