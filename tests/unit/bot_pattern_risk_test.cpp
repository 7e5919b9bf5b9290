// Slot patterns whose backtracking can stall the writer thread are refused at load. The first
// cases came from the fuzz work (docs/testing.md): `[a-z]*[a-z]*[a-z]*[a-z]*[0-9]` passed the
// older rule (at most 4 repeats) and took 28 s to fail on a 128-byte answer; optional parts
// (`a?a?...a?aa...a`) were not counted at all and make matching exponential.

#include <gtest/gtest.h>

#include <string>

#include "bot/definition.hpp"

namespace parley::bot {
namespace {

// The first diagnostic of a bot whose one flow asks with `pattern`, or "" when it loads.
std::string PatternError(const std::string& pattern) {
  std::string yaml =
      "name: T\n"
      "fallback:\n"
      "  replies: [{text: \"Sorry?\"}]\n"
      "flows:\n"
      "  f:\n"
      "    steps:\n"
      "      - ask: \"Q?\"\n"
      "        slot: s\n"
      "        pattern: '" +
      pattern + "'\n";
  DefinitionResult r = ParseDefinition(yaml, "t.yaml", {});
  if (r.errors.empty()) {
    EXPECT_TRUE(r.definition.has_value());
    return "";
  }
  EXPECT_FALSE(r.definition.has_value());
  return r.errors.front().ToString();
}

TEST(BotPatternRiskTest, RefusesUnanchoredRepeatsThatBacktrackPolynomially) {
  for (const char* p :
       {"[a-z]*[a-z]*[a-z]*[a-z]*[0-9]", "[a-z]*[a-z]*[a-z]*[0-9]", "^a*a*a*a*$", "^a|b*c*d*"}) {
    std::string e = PatternError(p);
    EXPECT_NE(e.find("can take too long to match"), std::string::npos) << p << ": " << e;
  }
  EXPECT_EQ(PatternError("[a-z]*[a-z]*[a-z]*[a-z]*[0-9]"),
            "t.yaml:9: pattern '[a-z]*[a-z]*[a-z]*[a-z]*[0-9]' can take too long to match "
            "(about 2^35 steps on a 128-byte answer, at most 2^21 are allowed): use fewer "
            "repeats and optional parts, or anchor it with ^");
}

TEST(BotPatternRiskTest, RefusesOptionalPartsThatBacktrackExponentially) {
  std::string chain = "^";  // ^a?a?...a?aa...a$, eleven of each
  for (int i = 0; i < 11; ++i) chain += "a?";
  chain += std::string(11, 'a') + "$";
  EXPECT_NE(PatternError(chain).find("can take too long"), std::string::npos) << chain;
  EXPECT_NE(PatternError("^(a?){20}a{20}$").find("can take too long"), std::string::npos);
  EXPECT_NE(PatternError("^(a?)+$").find("repeats a group with an optional part"),
            std::string::npos);
}

TEST(BotPatternRiskTest, OrdinaryPatternsStillLoad) {
  for (const char* p :
       {"^[0-9]{4}$", "ends in ([0-9]{4})", "^[^@\\s]+@[^@\\s]+\\.[a-z]{2,}$", "^a*a*a*$",
        "^\\+?[0-9 ]{7,15}$", "^[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}$",
        "^(mon|tue|wed|thu|fri|sat|sun)$", "^(yes|no)?$", "(x|y)$"}) {
    EXPECT_EQ(PatternError(p), "") << p;
  }
}

}  // namespace
}  // namespace parley::bot
