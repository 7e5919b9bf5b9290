#include "conversation/assist.hpp"

#include <fmt/format.h>

#include <boost/json.hpp>
#include <cmath>

#include "bot/dialog_bot.hpp"
#include "bot/template.hpp"
#include "channel/capabilities.hpp"

namespace parley::conversation {
namespace json = boost::json;
namespace {

std::string TrimmedText(const json::value* text) {
  std::string out;
  if (text && text->is_string()) out = std::string(text->as_string());
  if (text && text->is_array()) {
    for (const auto& line : text->as_array()) {
      if (!line.is_string()) continue;
      if (!out.empty()) out += '\n';
      out += std::string(line.as_string());
    }
  }
  size_t b = out.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  size_t e = out.find_last_not_of(" \t\r\n");
  return out.substr(b, e - b + 1);
}

std::string Percent(double confidence) {
  return fmt::format("{} %", static_cast<int>(std::lround(confidence * 100)));
}

// The suggestions for a recognised intent: its replies, or for a flow its leading replies and
// first question.
void Suggest(const bot::BotDefinition& def, const bot::Intent& intent,
             const bot::TemplateValues& values, std::vector<channel::OutboundBody>& out) {
  for (const auto& reply : intent.replies) out.push_back(bot::FillBody(reply.body, values));
  const bot::Flow* flow = intent.flow.empty() ? nullptr : def.FindFlow(intent.flow);
  if (!flow) return;
  for (const auto& step : flow->steps) {
    if (!step.when.empty()) break;  // depends on an answer not given yet
    if (step.kind == bot::FlowStep::Kind::kReplies) {
      for (const auto& reply : step.replies) out.push_back(bot::FillBody(reply.body, values));
      continue;
    }
    if (step.kind == bot::FlowStep::Kind::kAsk) {
      channel::OutboundBody question = bot::FillBody(step.ask.question.body, values);
      if (std::holds_alternative<channel::MenuBody>(question)) {
        // The agent console offers texts to edit; a menu also as its numbered-text form.
        for (auto& body : channel::AdaptToCapabilities(question, channel::Capabilities::None()))
          out.push_back(std::move(body));
      }
      out.push_back(std::move(question));
    }
    break;
  }
}

}  // namespace

std::optional<bot::TurnNote> FindTurnNote(const std::vector<storage::EventRecord>& transcript,
                                          std::string_view text, std::optional<int64_t> position) {
  const json::value asked(text);
  const std::string wanted = TrimmedText(&asked);
  for (auto it = transcript.rbegin(); it != transcript.rend(); ++it) {
    if (it->direction != "in" || it->type != "text") continue;
    if (position && it->position != *position) continue;
    boost::system::error_code ec;
    json::value payload = json::parse(it->payload_json, ec);
    if (ec || !payload.is_object()) continue;
    const json::object& o = payload.as_object();
    if (!position && TrimmedText(o.if_contains("text")) != wanted) continue;
    const json::value* note = o.if_contains("bot");
    if (note && note->is_object()) return bot::TurnNoteFromJson(note->as_object());
    return std::nullopt;  // the bot did not answer this one (it was with a person)
  }
  return std::nullopt;
}

Result<AssistAnswer> Assist(const bot::BotRegistry& bots, const std::string& bot_name,
                            std::string_view text, std::optional<std::string> customer_name,
                            std::optional<bot::TurnNote> note) {
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
  bot::TemplateValues values;
  values.customer_name = std::move(customer_name);
  if (note && note->kind != "kept" && !note->kind.empty()) {
    // What the bot did is what the agent sees.
    a.kind = note->kind;
    if (!note->intent.empty()) {
      a.intent = note->intent;
      a.confidence = note->confidence;
    }
    if (note->kind == "answer") {
      a.understood = true;
      a.label = fmt::format("answered the question \"{}\" ({}: {})", note->question, note->slot,
                            note->value);
    } else if (note->kind == "retry") {
      a.understood = false;
      a.label = fmt::format("did not answer the question \"{}\"", note->question);
    } else if (note->kind == "choice") {
      a.understood = true;
      a.label = fmt::format("chose \"{}\"", note->value);
    } else if (note->kind == "cancel") {
      a.understood = true;
      a.label = "left what it was doing (cancel)";
    } else if (note->kind == "greeting") {
      a.understood = false;
      a.label = "greeted the customer";
    } else if (note->kind == "intent") {
      a.understood = true;
    } else {
      a.understood = false;
    }
    a.note = std::move(note);
  }
  if (a.label.empty()) {
    a.label = a.understood && a.intent
                  ? fmt::format("understood: {} ({})", *a.intent, Percent(a.confidence))
                  : std::string("not understood");
  }
  if (a.kind.empty() || a.kind == "intent") {
    if (a.understood && a.intent) {
      if (const bot::Intent* intent = def.FindIntent(*a.intent))
        Suggest(def, *intent, values, a.suggestions);
    }
  }
  return a;
}

json::object ToJson(const AssistAnswer& a) {
  json::array suggestions;
  for (const auto& body : a.suggestions) suggestions.push_back(channel::BodyToJson(body));
  json::object o{{"understood", a.understood},
                 {"intent", a.intent ? json::value(*a.intent) : json::value(nullptr)},
                 {"confidence", a.confidence},
                 {"label", a.label},
                 {"suggestions", std::move(suggestions)}};
  if (!a.kind.empty()) o["kind"] = a.kind;
  if (a.note) o["bot"] = bot::ToJson(*a.note);
  return o;
}

}  // namespace parley::conversation
