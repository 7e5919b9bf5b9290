#pragma once
// Agent assist: what the connection's bot makes of a customer's text, and that intent's replies
// as suggestions an agent can edit and send — the bot's knowledge helping the person. When the
// bot answered the message itself, what it did (recorded with the message: a bot::TurnNote) is
// what is shown, so the label agrees with the bot: "4321" answered the card question, "No,
// thanks" chose an offered item.

#include <boost/json/object.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "bot/bot.hpp"
#include "channel/outbound.hpp"
#include "storage/records.hpp"

namespace parley::conversation {

struct AssistAnswer {
  bool understood = false;
  std::optional<std::string> intent;  // the best intent, also when below the threshold
  double confidence = 0;
  // What the bot did with the message, when it answered it: "intent", "answer", "retry",
  // "choice", "cancel", "greeting", "kept", "not_understood"; empty when only asked now.
  std::string kind;
  std::optional<bot::TurnNote> note;  // the bot's own record, when there is one
  std::string label;                  // one line for the agent: "answered the question ..."
  // The recognised intent's replies, filled in; for an intent that starts a flow, the flow's
  // first replies and its first question (a menu question also as numbered text).
  std::vector<channel::OutboundBody> suggestions;
};

// Asks bot `bot_name` of `bots` about `text`; `note` is what the bot recorded when it answered
// that message (nullopt: classify now). kNotFound (assist_unavailable) when that bot has no
// intent model (echo, none, not loaded). Pure: no store, no I/O. Thread-safe.
Result<AssistAnswer> Assist(const bot::BotRegistry& bots, const std::string& bot_name,
                            std::string_view text, std::optional<std::string> customer_name,
                            std::optional<bot::TurnNote> note = std::nullopt);

// The bot's record of the customer message of `transcript` at `position` (when given), else of
// the latest customer message whose text is `text`; nullopt when the bot recorded none.
std::optional<bot::TurnNote> FindTurnNote(const std::vector<storage::EventRecord>& transcript,
                                          std::string_view text, std::optional<int64_t> position);

boost::json::object ToJson(const AssistAnswer& a);

}  // namespace parley::conversation
