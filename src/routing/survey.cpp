// The satisfaction survey (issue 19). When an agent ends a chat of a queue with `csat` on, the
// customer is not sent csr_end_session yet: they get a menu "How did we do?" (1-5, postbacks
// csat:1 … csat:5) and the conversation waits for the answer with owner kSurveyOwner (state
// "bot", no bot running, the agent free). A rating is thanked with an invitation to comment;
// the next text is the comment, thanked, and then csr_end_session closes the conversation.
// Anything but a rating, the customer's own end, or silence until the idle reminder would be
// due closes it without one. docs/api.md "Satisfaction survey" gives the exact order.
#include <fmt/format.h>

#include <boost/json.hpp>

#include "routing/routing.hpp"

namespace parley::routing {
namespace {

constexpr size_t kMaxComment = 500;

std::optional<int64_t> Rating(const std::vector<std::string>& text,
                              const std::optional<std::string>& postback) {
  if (postback) {
    if (postback->size() == 6 && postback->starts_with("csat:") && (*postback)[5] >= '1' &&
        (*postback)[5] <= '5')
      return (*postback)[5] - '0';
    return std::nullopt;
  }
  if (text.size() != 1) return std::nullopt;
  std::string_view t = text[0];
  while (!t.empty() && (t.front() == ' ' || t.front() == '\t')) t.remove_prefix(1);
  while (!t.empty() && (t.back() == ' ' || t.back() == '\t')) t.remove_suffix(1);
  if (t.size() == 1 && t[0] >= '1' && t[0] <= '5') return t[0] - '0';
  return std::nullopt;
}

// The first line of what the customer wrote, at most kMaxComment bytes, not cut inside a
// UTF-8 character.
std::string OneLine(const std::vector<std::string>& text) {
  std::string line = text.empty() ? std::string() : text[0];
  if (size_t nl = line.find_first_of("\r\n"); nl != std::string::npos) line.resize(nl);
  if (line.size() > kMaxComment) {
    size_t cut = kMaxComment;
    while (cut > 0 && (static_cast<unsigned char>(line[cut]) & 0xC0) == 0x80) --cut;
    line.resize(cut);
  }
  return line;
}

}  // namespace

Result<bool> Routing::SurveyWanted(storage::Tx& tx, const storage::ConversationRecord& c) const {
  if (!c.routing.queue) return false;
  auto q = tx.GetQueue(*c.routing.queue);
  if (!q) return Fail(q.error());
  return *q && (*q)->csat;
}

Result<void> Routing::StartSurvey(storage::Tx& tx, storage::ConversationRecord& c, int64_t now,
                                  Effects& fx) {
  channel::MenuBody menu;
  menu.title = settings_.texts.csat_title;
  for (int i = 1; i <= 5; ++i)
    menu.items.push_back({i == 1   ? std::string("1 (poor)")
                          : i == 5 ? std::string("5 (excellent)")
                                   : std::to_string(i),
                          fmt::format("csat:{}", i), std::nullopt});
  auto said = speaker_.Say(tx, c, std::move(menu), channel::Sender::kSystem, std::nullopt, now, fx);
  if (!said) return Fail(said.error());
  storage::CsatRecord rec;
  rec.conversation_id = c.id;
  rec.queue = c.routing.queue.value_or("default");
  rec.agent = c.routing.agent;
  rec.phase = "asked";
  rec.asked_at_ms = now;
  auto put = tx.PutCsat(rec);
  if (!put) return Fail(put.error());
  c.state = "bot";
  c.owner = kSurveyOwner;
  c.routing.idle_reminded = false;
  c.last_customer_at_ms = now;  // the survey waits from now (IdleTimers closes it)
  c.updated_at_ms = now;
  return {};
}

Result<void> Routing::CloseSurvey(storage::Tx& tx, storage::ConversationRecord& c, int64_t now,
                                  Effects& fx) {
  auto end = speaker_.Say(tx, c, channel::CsrEndSessionBody{}, channel::Sender::kSystem,
                          std::nullopt, now, fx);
  if (!end) return Fail(end.error());
  c.state = "ended";
  c.ended_at_ms = now;
  c.routing.ended_by = "agent";  // the agent ended the chat; the survey only followed it
  c.updated_at_ms = now;
  return tx.UpdateConversation(c);
}

Result<void> Routing::SurveyAnswer(storage::Tx& tx, const std::string& id,
                                   const std::vector<std::string>& text,
                                   const std::optional<std::string>& postback, int64_t now,
                                   Effects& fx) {
  auto found = tx.GetConversation(id);
  if (!found) return Fail(found.error());
  if (!*found || (*found)->owner != kSurveyOwner) return {};
  storage::ConversationRecord c = std::move(**found);
  auto rec = tx.GetCsat(id);
  if (!rec) return Fail(rec.error());
  if (!*rec || (*rec)->phase == "done") return CloseSurvey(tx, c, now, fx);
  storage::CsatRecord r = std::move(**rec);
  if (r.phase == "asked") {
    auto score = Rating(text, postback);
    if (!score) {
      r.phase = "done";
      auto put = tx.PutCsat(r);
      if (!put) return Fail(put.error());
      return CloseSurvey(tx, c, now, fx);
    }
    r.phase = "rated";
    r.score = *score;
    r.answered_at_ms = now;
    auto put = tx.PutCsat(r);
    if (!put) return Fail(put.error());
    auto day = tx.AddCsatDay(r.queue, Day(now), *score);
    if (!day) return Fail(day.error());
    auto fact =
        RecordFact(tx, "csat", r.queue, r.agent, id, now, std::nullopt, std::nullopt, *score);
    if (!fact) return Fail(fact.error());
    auto said = SayText(tx, c, settings_.texts.csat_comment_text, now, fx);
    if (!said) return Fail(said.error());
    c.updated_at_ms = now;
    return tx.UpdateConversation(c);
  }
  std::string comment = OneLine(text);
  if (!comment.empty()) r.comment = comment;
  r.phase = "done";
  auto put = tx.PutCsat(r);
  if (!put) return Fail(put.error());
  auto said = SayText(tx, c, settings_.texts.csat_thanks_text, now, fx);
  if (!said) return Fail(said.error());
  return CloseSurvey(tx, c, now, fx);
}

}  // namespace parley::routing
