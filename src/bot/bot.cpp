#include "bot/bot.hpp"

#include <boost/json.hpp>

namespace parley::bot {
namespace json = boost::json;

json::object ToJson(const TurnNote& note) {
  json::object o{{"kind", note.kind}};
  if (!note.intent.empty()) {
    o["intent"] = note.intent;
    o["confidence"] = note.confidence;
  }
  if (!note.flow.empty()) o["flow"] = note.flow;
  if (!note.slot.empty()) o["slot"] = note.slot;
  if (!note.value.empty()) o["value"] = note.value;
  if (!note.question.empty()) o["question"] = note.question;
  if (!note.filled.empty()) {
    json::array filled;
    for (const auto& f : note.filled)
      filled.push_back(json::object{{"slot", f.slot}, {"value", f.value}, {"words", f.words}});
    o["filled"] = std::move(filled);
  }
  return o;
}

TurnNote TurnNoteFromJson(const json::object& o) {
  auto str = [](const json::object& obj, std::string_view key) {
    const json::value* v = obj.if_contains(key);
    return v && v->is_string() ? std::string(v->as_string()) : std::string();
  };
  TurnNote note;
  note.kind = str(o, "kind");
  note.intent = str(o, "intent");
  if (const json::value* c = o.if_contains("confidence"); c && c->is_number())
    note.confidence = c->to_number<double>();
  note.flow = str(o, "flow");
  note.slot = str(o, "slot");
  note.value = str(o, "value");
  note.question = str(o, "question");
  if (const json::value* f = o.if_contains("filled"); f && f->is_array()) {
    for (const auto& item : f->as_array()) {
      if (item.is_object())
        note.filled.push_back({str(item.as_object(), "slot"), str(item.as_object(), "value"),
                               str(item.as_object(), "words")});
    }
  }
  return note;
}

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
