// Replies every channel can show (issue 18): what a connection's channel cannot show is sent as
// text that still works, and the customer's "2" or the item's text picks the item.

#include "channel/capabilities.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace parley::channel {
namespace {
namespace json = boost::json;

std::vector<std::string> Lines(const OutboundBody& body) {
  const auto* t = std::get_if<TextBody>(&body);
  return t ? t->text : std::vector<std::string>{"(not a text)"};
}

MenuBody Menu() {
  return MenuBody{"What can I help you with?",
                  {{"Check my balance", "flow:check_balance", std::nullopt},
                   {"Block a card", "flow:block_card", std::nullopt},
                   {"Opening hours", "intent:opening_hours", std::nullopt}}};
}

TEST(CapabilitiesTest, AMenuBecomesNumberedLines) {
  Adapted a = Adapt(Menu(), Capabilities::None());
  ASSERT_EQ(a.bodies.size(), 1u);
  EXPECT_EQ(Lines(a.bodies[0]),
            (std::vector<std::string>{"What can I help you with?", "1. Check my balance",
                                      "2. Block a card", "3. Opening hours"}));
  ASSERT_EQ(a.choices.size(), 3u);
  EXPECT_EQ(a.choices[1].number, 2);
  EXPECT_EQ(a.choices[1].payload, "flow:block_card");
  // A burst continues the numbering.
  Adapted next = Adapt(Menu(), Capabilities::None(), 4);
  EXPECT_EQ(Lines(next.bodies[0])[1], "4. Check my balance");
}

TEST(CapabilitiesTest, WhatTheChannelShowsIsSentAsItIs) {
  Adapted a = Adapt(Menu(), Capabilities::All());
  ASSERT_EQ(a.bodies.size(), 1u);
  EXPECT_TRUE(std::holds_alternative<MenuBody>(a.bodies[0]));
  EXPECT_TRUE(a.choices.empty());
  TextBody text{{"hi"}, {}};
  EXPECT_EQ(Lines(Adapt(text, Capabilities::None()).bodies.at(0)),
            (std::vector<std::string>{"hi"}));
}

TEST(CapabilitiesTest, ACarouselBecomesOneTextPerCardWithNumberedButtons) {
  CarouselBody c;
  c.title = "Our branches in London";
  c.items.push_back({"Moorgate",
                     "1 Moorgate",
                     std::nullopt,
                     {{"Directions", std::nullopt, "https://maps.example/m"},
                      {"Opening hours", "intent:opening_hours", std::nullopt}}});
  c.items.push_back({"Camden",
                     std::nullopt,
                     "https://img.example/c.jpg",
                     {{"Talk to a person", "action:escalate", std::nullopt}}});
  Adapted a = Adapt(c, Capabilities::None());
  ASSERT_EQ(a.bodies.size(), 3u);
  EXPECT_EQ(Lines(a.bodies[0]), (std::vector<std::string>{"Our branches in London"}));
  EXPECT_EQ(Lines(a.bodies[1]),
            (std::vector<std::string>{"Moorgate", "1 Moorgate",
                                      "Directions: https://maps.example/m", "1. Opening hours"}));
  EXPECT_EQ(Lines(a.bodies[2]), (std::vector<std::string>{"Camden", "https://img.example/c.jpg",
                                                          "2. Talk to a person"}));
  ASSERT_EQ(a.choices.size(), 2u);
  EXPECT_EQ(a.choices[1].payload, "action:escalate");
}

TEST(CapabilitiesTest, ALinkButtonBecomesLabelColonUrlAndTypingIsNotSent) {
  Adapted a = Adapt(LinkButtonBody{"Manage your accounts online.", "Open online banking",
                                   "https://online.example/login"},
                    Capabilities::None());
  ASSERT_EQ(a.bodies.size(), 1u);
  EXPECT_EQ(Lines(a.bodies[0]),
            (std::vector<std::string>{"Manage your accounts online.",
                                      "Open online banking: https://online.example/login"}));
  EXPECT_TRUE(Adapt(TypingBody{}, Capabilities::None()).bodies.empty());
  Capabilities only_typing = Capabilities::None();
  only_typing.typing_indicator = true;
  EXPECT_EQ(Adapt(TypingBody{}, only_typing).bodies.size(), 1u);
}

TEST(CapabilitiesTest, TheCustomersNumberOrTheItemsTextPicksTheItem) {
  auto choices = Adapt(Menu(), Capabilities::None()).choices;
  for (const char* said : {"2", " 2 ", "2.", "#2", "block a card", "Block a Card "}) {
    const TextChoice* c = ChoiceFor(choices, said);
    ASSERT_NE(c, nullptr) << said;
    EXPECT_EQ(c->payload, "flow:block_card") << said;
  }
  for (const char* said : {"4", "0", "-1", "2 please", "block", "", "99999999999"})
    EXPECT_EQ(ChoiceFor(choices, said), nullptr) << said;
  EXPECT_EQ(ChoicesFromJson(ChoicesToJson(choices)).size(), 3u);
}

TEST(CapabilitiesTest, ParsedFromJsonWithClearRefusals) {
  auto all =
      CapabilitiesFromJson(json::parse(R"(["menu","carousel","link_button","typing_indicator"])"));
  ASSERT_TRUE(all);
  EXPECT_EQ(*all, Capabilities::All());
  auto none = CapabilitiesFromJson(json::parse("[]"));
  ASSERT_TRUE(none);
  EXPECT_EQ(*none, Capabilities::None());
  auto some = CapabilitiesFromJson(json::parse(R"(["link_button","menu","menu"])"));
  ASSERT_TRUE(some);
  EXPECT_EQ(CapabilityNames(*some), (std::vector<std::string>{"menu", "link_button"}));
  for (const char* bad : {R"(["menus"])", R"("menu")", R"([1])", "{}", "null"}) {
    auto r = CapabilitiesFromJson(json::parse(bad));
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, "invalid_capabilities") << bad;
  }
  EXPECT_NE(CapabilitiesFromJson(json::parse(R"(["menus"])")).error().message.find("'menus'"),
            std::string::npos);
  EXPECT_EQ(CapabilitiesFromText(CapabilitiesToText(*some)), *some);
  EXPECT_EQ(CapabilitiesFromText(""), Capabilities::None());
  EXPECT_EQ(CapabilitiesFromText("menu,carousel,link_button,typing_indicator"),
            Capabilities::All());
}

}  // namespace
}  // namespace parley::channel
