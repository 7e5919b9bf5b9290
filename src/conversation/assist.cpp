#include "conversation/assist.hpp"

#include <boost/json.hpp>

#include "bot/dialog_bot.hpp"
#include "bot/template.hpp"

namespace parley::conversation {
namespace json = boost::json;

Result<AssistAnswer> Assist(const bot::BotRegistry& bots, const std::string& bot_name,
                            std::string_view text, std::optional<std::string> customer_name) {
  auto dialog = std::dynamic_pointer_cast<const bot::DialogBot>(bots.Find(bot_name));
  auto prediction = dialog ? dialog->Classify(text) : std::nullopt;
  if (!prediction)
    return Fail(Errc::kNotFound, "assist_unavailable",
                "This conversation's bot has no intents to suggest replies from.");
  AssistAnswer a;
  const bot::BotDefinition& def = dialog->definition();
  a.confidence = prediction->confidence;
  if (!prediction->intent.empty()) a.intent = prediction->intent;
  a.understood = bot::IsUnderstood(*prediction, def.threshold);
  if (!a.understood || !a.intent) return a;
  if (const bot::Intent* intent = def.FindIntent(*a.intent)) {
    bot::TemplateValues values;
    values.customer_name = std::move(customer_name);
    for (const auto& reply : intent->replies)
      a.suggestions.push_back(bot::FillBody(reply.body, values));
  }
  return a;
}

json::object ToJson(const AssistAnswer& a) {
  json::array suggestions;
  for (const auto& body : a.suggestions) suggestions.push_back(channel::BodyToJson(body));
  return json::object{{"understood", a.understood},
                      {"intent", a.intent ? json::value(*a.intent) : json::value(nullptr)},
                      {"confidence", a.confidence},
                      {"suggestions", std::move(suggestions)}};
}

}  // namespace parley::conversation
