#pragma once
// What answers for a bot that was unloaded (its file was deleted and the folder reloaded).
// Conversations the bot owned stay owned by "bot" in the store, and a connection may still name
// it; rather than leave those customers talking to nothing, the stand-in hands each of them to a
// person at their next message: one notice, then escalation to kRetiredBotQueue.

#include <string>
#include <string_view>

#include "bot/bot.hpp"

namespace parley::bot {

// The queue of a connection without an assistant (bot "none"), so agents find these customers
// where they already look for unassisted ones.
inline constexpr std::string_view kRetiredBotQueue = "default";
inline constexpr std::string_view kRetiredBotNotice =
    "This assistant is no longer available. Connecting you to a person.";

class RetiredBot final : public Bot {
 public:
  // `name` is the unloaded bot's name, for the log line written at each hand-over.
  explicit RetiredBot(std::string name);

  // Both answer kRetiredBotNotice, escalate to kRetiredBotQueue and clear the dialog state
  // (it belonged to the unloaded bot). Thread-safe.
  BotReply OnCustomerTurn(const CustomerTurn& turn, const boost::json::value& state) const override;
  BotReply OnCallResult(const CustomerTurn& turn, const CallOutcome& outcome,
                        const boost::json::value& state) const override;

 private:
  BotReply HandOver(const CustomerTurn& turn) const;

  std::string name_;
};

}  // namespace parley::bot
