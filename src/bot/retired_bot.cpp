#include "bot/retired_bot.hpp"

#include <spdlog/spdlog.h>

namespace parley::bot {

RetiredBot::RetiredBot(std::string name) : name_(std::move(name)) {}

BotReply RetiredBot::OnCustomerTurn(const CustomerTurn& turn, const boost::json::value&) const {
  return HandOver(turn);
}

BotReply RetiredBot::OnCallResult(const CustomerTurn& turn, const CallOutcome&,
                                  const boost::json::value&) const {
  return HandOver(turn);
}

BotReply RetiredBot::HandOver(const CustomerTurn& turn) const {
  // An operator who deleted the file should be able to see where its customers went.
  spdlog::warn("bot '{}' is unloaded: conversation {} handed to queue:{}", name_,
               turn.conversation_id, kRetiredBotQueue);
  BotReply reply;
  reply.messages.push_back(channel::TextBody{{std::string(kRetiredBotNotice)}, {}});
  reply.next = BotReply::Next::kEscalate;
  reply.queue = std::string(kRetiredBotQueue);
  reply.state = nullptr;
  return reply;
}

}  // namespace parley::bot
