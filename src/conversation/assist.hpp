#pragma once
// Agent assist: what the connection's bot makes of a customer's text, and that intent's replies
// as suggestions an agent can edit and send — the bot's knowledge helping the person.

#include <boost/json/object.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bot/bot.hpp"
#include "channel/outbound.hpp"

namespace parley::conversation {

struct AssistAnswer {
  bool understood = false;
  std::optional<std::string> intent;  // the best intent, also when below the threshold
  double confidence = 0;
  std::vector<channel::OutboundBody> suggestions;  // the recognised intent's replies, filled in
};

// Asks bot `bot_name` of `bots` about `text`. kNotFound (assist_unavailable) when that bot has no
// intent model (echo, none, not loaded). Pure: no store, no I/O. Thread-safe.
Result<AssistAnswer> Assist(const bot::BotRegistry& bots, const std::string& bot_name,
                            std::string_view text, std::optional<std::string> customer_name);

boost::json::object ToJson(const AssistAnswer& a);

}  // namespace parley::conversation
