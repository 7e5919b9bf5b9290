#include "bot/bot.hpp"

namespace parley::bot {

BotReply EchoBot::OnCustomerTurn(const CustomerTurn& turn, const boost::json::value& state) const {
  BotReply reply;
  reply.state = state;
  std::vector<std::string> lines = turn.text;
  if (lines.empty() && turn.postback) lines.push_back(*turn.postback);
  if (!lines.empty()) reply.messages.push_back(channel::TextBody{std::move(lines), {}});
  return reply;
}

void BotRegistry::Put(BotInfo info, std::shared_ptr<const Bot> bot) {
  std::lock_guard lock(mu_);
  std::string name = info.name;
  retired_.erase(name);
  bots_[name] = {std::move(info), std::move(bot)};
}

std::shared_ptr<const Bot> BotRegistry::Find(const std::string& name) const {
  std::lock_guard lock(mu_);
  if (auto it = bots_.find(name); it != bots_.end()) return it->second.second;
  auto it = retired_.find(name);
  return it == retired_.end() ? nullptr : it->second;
}

bool BotRegistry::Contains(const std::string& name) const {
  std::lock_guard lock(mu_);
  return bots_.contains(name);
}

std::vector<BotInfo> BotRegistry::List() const {
  std::lock_guard lock(mu_);
  std::vector<BotInfo> out;
  for (const auto& [name, entry] : bots_) out.push_back(entry.first);
  return out;
}

bool BotRegistry::Retire(const std::string& name, std::shared_ptr<const Bot> stand_in) {
  std::lock_guard lock(mu_);
  auto it = bots_.find(name);
  if (it == bots_.end()) return false;
  bots_.erase(it);
  retired_[name] = std::move(stand_in);
  return true;
}

}  // namespace parley::bot
