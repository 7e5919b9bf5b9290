#include "bot/dialog_bot.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <cctype>
#include <deque>

#include "bot/dialog_state.hpp"
#include "bot/slot_filling.hpp"
#include "bot/template.hpp"

namespace parley::bot {
namespace json = boost::json;
namespace {

using detail::AcceptAnswer;
using detail::EqualsIgnoreCase;
using detail::ExtractAnswer;
using detail::Input;
using detail::kMaxOfferedItems;
using detail::Pending;
using detail::Session;
using detail::Simplify;
using detail::SlotValue;
using detail::Trim;

// The classifier sees at most this much of a message: enough for any real sentence, and a
// bound on the writer thread's work.
constexpr size_t kMaxClassifiedBytes = 4096;
constexpr size_t kMaxCallReplies = 10;

std::string Join(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) {
    if (!out.empty()) out += ' ';
    out += l;
    if (out.size() > kMaxClassifiedBytes) break;
  }
  return out;
}

// The words of a question, for notes: a text's first line, a menu's title.
std::string QuestionText(const channel::OutboundBody& body) {
  if (const auto* t = std::get_if<channel::TextBody>(&body))
    return t->text.empty() ? "" : t->text[0];
  if (const auto* m = std::get_if<channel::MenuBody>(&body)) return m->title;
  if (const auto* c = std::get_if<channel::CarouselBody>(&body)) return c->title.value_or("");
  if (const auto* l = std::get_if<channel::LinkButtonBody>(&body)) return l->title;
  return "";
}

// A reply the external action sent: a body in the outbound wire form, a bare string, or an
// object with `text` and no type (the YAML shorthand).
std::optional<channel::OutboundBody> DecodeActionReply(const json::value& v) {
  if (v.is_string()) {
    if (v.as_string().empty()) return std::nullopt;
    return channel::TextBody{{std::string(v.as_string())}, {}};
  }
  if (!v.is_object()) return std::nullopt;
  json::value body = v;
  if (!body.as_object().contains("type") && body.as_object().contains("text"))
    body.as_object()["type"] = "text";
  auto decoded = channel::DecodeOutboundBody(body);
  if (!decoded || !channel::IsMessage(*decoded)) return std::nullopt;
  return std::move(*decoded);
}

bool SameMenu(const channel::MenuBody& a, const channel::MenuBody& b) {
  if (a.title != b.title || a.items.size() != b.items.size()) return false;
  for (size_t i = 0; i < a.items.size(); ++i) {
    if (a.items[i].text != b.items[i].text || a.items[i].payload != b.items[i].payload)
      return false;
  }
  return true;
}

// One decision: the engine's working copy of the state and what it says.
class Exec {
 public:
  Exec(const BotDefinition& def, const DialogBot& bot, const Clock& clock, const CustomerTurn& turn,
       Session session)
      : def_(def), bot_(bot), clock_(clock), turn_(turn), s_(std::move(session)) {}

  BotReply Finish() {
    out_.state = s_.ToJson();
    return std::move(out_);
  }

  std::optional<IntentPrediction> recognised() const { return recognised_; }

  void OnTurn() {
    out_.note = TurnNote{};
    if (s_.pending) {
      Input current{turn_.text, turn_.postback};
      if (clock_.NowMs() - s_.pending->since_ms <= s_.pending->timeout_ms + kCallGraceMs) {
        if (s_.deferred.size() < kMaxDeferredTurns) s_.deferred.push_back(std::move(current));
        out_.note->kind = "kept";
        return;
      }
      CallOutcome lost;
      lost.error = "no outcome arrived";
      ApplyCall(lost);
      s_.deferred.push_back(std::move(current));
      DrainDeferred();
      return;
    }
    HandleInput(turn_.text, turn_.postback);
  }

  void OnCall(const CallOutcome& outcome) {
    if (!s_.pending) return;  // stale or duplicate outcome
    ApplyCall(outcome);
    DrainDeferred();
  }

 private:
  TemplateValues Values() const {
    return TemplateValues{turn_.customer_name, &s_.slots, &turn_.context};
  }

  void Emit(channel::OutboundBody body) {
    if (out_.messages.size() >= kMaxMessagesPerReply) return;
    auto remember = [&](const std::string& text, const std::string& payload) {
      if (s_.offered.size() < kMaxOfferedItems) s_.offered.emplace_back(text, payload);
    };
    if (const auto* m = std::get_if<channel::MenuBody>(&body)) {
      // The greeting and an answer may both end with the main menu: show it once per turn.
      for (const auto& sent : out_.messages) {
        const auto* prev = std::get_if<channel::MenuBody>(&sent);
        if (prev && SameMenu(*prev, *m)) return;
      }
      for (const auto& item : m->items) remember(item.text, item.payload);
    } else if (const auto* c = std::get_if<channel::CarouselBody>(&body)) {
      for (const auto& item : c->items) {
        for (const auto& b : item.buttons) {
          if (b.payload) remember(b.text, *b.payload);
        }
      }
    }
    out_.messages.push_back(std::move(body));
  }

  void Say(const Reply& r) { Emit(FillBody(r.body, Values())); }
  void SayAll(const std::vector<Reply>& replies) {
    for (const auto& r : replies) Say(r);
  }
  void SayText(const std::string& text) {
    Emit(channel::TextBody{{FillTemplate(text, Values())}, {}});
  }

  std::optional<IntentPrediction> Classify(const std::string& text) {
    if (text.empty()) return std::nullopt;
    recognised_ = bot_.Classify(text);
    return recognised_;
  }

  // What this input was taken as (the last input of a decision is the customer's turn).
  void Note(std::string kind) {
    if (!out_.note) return;
    out_.note->kind = std::move(kind);
    if (recognised_) {
      out_.note->intent = recognised_->intent;
      out_.note->confidence = recognised_->confidence;
    }
  }
  void NoteAnswer(const std::string& kind, const FlowStep& step, const std::string& value) {
    Note(kind);
    if (!out_.note) return;
    out_.note->flow = s_.flow;
    out_.note->slot = step.ask.slot;
    out_.note->value = value;
    out_.note->question = FillTemplate(QuestionText(step.ask.question.body), Values());
  }

  void SetSlot(const std::string& slot, const std::string& value) {
    if (s_.slots.size() < kMaxSlots || s_.slots.contains(slot)) {
      s_.slots[slot] = value;
      out_.slots_set.emplace_back(slot, value);
    }
  }

  void HandleInput(const std::vector<std::string>& lines,
                   const std::optional<std::string>& postback) {
    std::string text(Trim(Join(lines)));
    std::optional<std::string> payload = postback;
    recognised_.reset();
    if (out_.note) *out_.note = TurnNote{};
    if (!payload && !text.empty()) {
      for (const auto& [item_text, item_payload] : s_.offered) {
        if (EqualsIgnoreCase(Trim(item_text), text)) {
          payload = item_payload;
          break;
        }
      }
    }
    s_.offered.clear();
    bool greeted_now = false;
    if (!s_.greeted) {
      s_.greeted = true;
      // Only a conversation's first message is greeted: one that comes back to the bot (from a
      // person, "Release to bot") has been greeted already.
      if (turn_.first_turn) {
        SayAll(def_.greeting);
        greeted_now = !def_.greeting.empty();
      }
    }
    if (payload && out_.note) {
      Note("choice");
      out_.note->value = postback ? *payload : text;
    }
    bool was_awaiting_queue = s_.awaiting_queue;
    s_.awaiting_queue = false;
    if (was_awaiting_queue && def_.escalation) {
      std::string choice = payload ? *payload : text;
      Postback pb = ParsePostback(choice);
      for (const auto& q : def_.escalation->queues) {
        if ((pb.kind == Postback::Kind::kQueue && pb.target == q.queue) ||
            EqualsIgnoreCase(choice, q.queue) || EqualsIgnoreCase(choice, q.text)) {
          Note("choice");
          if (out_.note) out_.note->value = q.text;
          EscalateTo(q.queue);
          return;
        }
      }
    }
    if (!s_.flow.empty() && HandleAnswer(text, payload)) return;

    if (payload) {
      Postback pb = ParsePostback(*payload);
      if (pb.kind != Postback::Kind::kNone) {
        Route(pb, was_awaiting_queue);
        return;
      }
      if (text.empty()) text = Trim(*payload);
    }
    if (!text.empty()) {
      if (auto p = Classify(text); p && IsUnderstood(*p, def_.threshold)) {
        if (const Intent* intent = def_.FindIntent(p->intent)) {
          Note("intent");
          HandleIntent(*intent, text);
          return;
        }
      }
    }
    if (greeted_now) {  // "hello" as a first message: the greeting is the answer
      Note("greeting");
      return;
    }
    Note("not_understood");
    if (was_awaiting_queue && def_.escalation) {
      OfferQueues();  // still choosing whom to talk to
      return;
    }
    Misunderstood();
  }

  // Inside a flow: the input answers the current question. Returns false when there is no
  // valid question to answer (the flow was dropped) so the input is handled as a new request.
  bool HandleAnswer(const std::string& text, const std::optional<std::string>& payload) {
    const Flow* flow = def_.FindFlow(s_.flow);
    const FlowStep* step = nullptr;
    if (flow && s_.step >= 0 && static_cast<size_t>(s_.step) < flow->steps.size())
      step = &flow->steps[static_cast<size_t>(s_.step)];
    if (!step || step->kind != FlowStep::Kind::kAsk || step->ask.slot != s_.awaiting_slot) {
      LeaveFlow();  // the bot was reloaded with a different flow: start afresh
      return false;
    }
    const AskStep& ask = step->ask;
    if (!payload && IsCancelWord(text)) {
      Note("cancel");
      Cancel();
      return true;
    }
    if (payload) {
      Postback pb = ParsePostback(*payload);
      bool is_choice =
          std::find(ask.choices.begin(), ask.choices.end(), *payload) != ask.choices.end();
      if (pb.kind == Postback::Kind::kCancel && !is_choice) {
        Note("cancel");
        Cancel();
        return true;
      }
      if (pb.kind != Postback::Kind::kNone && !is_choice && flow->interruptible) {
        LeaveFlow();
        Route(pb, false);
        return true;
      }
    }
    std::optional<std::string> value = AcceptAnswer(ask, payload ? *payload : text);
    if (!value && !payload) {
      // An answer that holds more than the value: "it ends 4321", "the savings one".
      if (auto found = ExtractAnswer(ask, text)) {
        value = found->value;
        if (out_.note) out_.note->filled.push_back({ask.slot, found->value, found->words});
      }
    }
    if (value) {
      NoteAnswer("answer", *step, *value);
      SetSlot(ask.slot, *value);
      s_.retries = 0;
      s_.misses = 0;
      ++s_.step;
      RunFlow();
      return true;
    }
    // Not an answer. Perhaps the customer asks for something else, but only a clearly
    // recognised intent leaves the flow: "12ab" for four digits is a typo to retry, not a
    // request for a person.
    if (!payload && !text.empty() && flow->interruptible) {
      if (auto p = Classify(text); p && IsUnderstood(*p, def_.InterruptThreshold())) {
        if (const Intent* intent = def_.FindIntent(p->intent)) {
          LeaveFlow();
          if (out_.note) out_.note->filled.clear();
          Note("intent");
          HandleIntent(*intent, text);
          return true;
        }
      }
    }
    NoteAnswer("retry", *step, "");
    ++s_.retries;
    if (s_.retries > ask.retries) {
      LeaveFlow();
      Misunderstood();  // the fallback (and, after enough misses, the offer of a person)
      return true;
    }
    if (ask.retry) SayText(*ask.retry);
    if (!ask.retry || !std::holds_alternative<channel::TextBody>(ask.question.body))
      Say(ask.question);
    return true;
  }

  void Route(const Postback& pb, bool was_awaiting_queue) {
    switch (pb.kind) {
      case Postback::Kind::kIntent:
        if (const Intent* intent = def_.FindIntent(pb.target)) return HandleIntent(*intent, "");
        break;
      case Postback::Kind::kFlow:
        if (def_.FindFlow(pb.target)) return StartFlow(pb.target);
        break;
      case Postback::Kind::kMenu:
        if (const channel::MenuBody* m = def_.FindMenu(pb.target)) {
          s_.misses = 0;
          return Emit(FillBody(*m, Values()));
        }
        break;
      case Postback::Kind::kEscalate:
        if (def_.escalation) return Escalate();
        break;
      case Postback::Kind::kCancel:
        return Cancel();
      case Postback::Kind::kQueue:
        if (def_.FindQueue(pb.target)) {
          if (!was_awaiting_queue) SayAll(def_.escalation->replies);
          return EscalateTo(pb.target);
        }
        break;
      case Postback::Kind::kNone:
        break;
    }
    Misunderstood();  // a postback naming something this bot does not have (any more)
  }

  bool IsCancelWord(const std::string& text) const {
    if (text.empty() || text.size() > 256) return false;
    const std::string said = Simplify(text);
    if (said.empty()) return false;
    for (const auto& word : def_.cancel_words) {
      if (Simplify(word) == said) return true;
    }
    return false;
  }

  // Leaves the flow with a short reply and the main menu, if the bot has one.
  void Cancel() {
    LeaveFlow();
    s_.misses = 0;
    if (!def_.cancel_replies.empty()) return SayAll(def_.cancel_replies);
    SayText(kCancelledText);
    if (const channel::MenuBody* m = def_.FindMenu("main")) Emit(FillBody(*m, Values()));
  }

  // `text`: the customer's words that asked for it, from which a flow's questions are answered
  // before they are asked.
  void HandleIntent(const Intent& intent, const std::string& text) {
    s_.misses = 0;
    if (!intent.replies.empty()) {
      SayAll(intent.replies);
    } else if (!intent.flow.empty()) {
      StartFlow(intent.flow, text);
    } else if (intent.escalate && def_.escalation) {
      Escalate();
    }
  }

  void Misunderstood() {
    ++s_.misses;
    if (def_.fallback.escalate_after > 0 && s_.misses >= def_.fallback.escalate_after &&
        def_.escalation) {
      s_.misses = 0;
      OfferEscalation();
      return;
    }
    SayAll(def_.fallback.replies);
  }

  void OfferEscalation() {
    channel::MenuBody m;
    m.title = FillTemplate(def_.fallback.offer, Values());
    m.items.push_back({"Yes, please", "action:escalate", std::nullopt});
    m.items.push_back({"No, thanks", "action:cancel", std::nullopt});
    Emit(std::move(m));
  }

  void Escalate() {
    LeaveFlow();
    s_.misses = 0;
    SayAll(def_.escalation->replies);
    if (def_.escalation->queues.size() == 1) return EscalateTo(def_.escalation->queues[0].queue);
    OfferQueues();
  }

  void OfferQueues() {
    channel::MenuBody m;
    m.title = FillTemplate(def_.escalation->title, Values());
    for (const auto& q : def_.escalation->queues)
      m.items.push_back({q.text, "queue:" + q.queue, std::nullopt});
    Emit(std::move(m));
    s_.awaiting_queue = true;
  }

  void EscalateTo(const std::string& queue) {
    LeaveFlow();
    s_.awaiting_queue = false;
    out_.next = BotReply::Next::kEscalate;
    out_.queue = queue;
  }

  void StartFlow(const std::string& name, const std::string& text = "") {
    LeaveFlow();
    s_.misses = 0;
    s_.flow = name;
    s_.step = 0;
    fill_text_ = text;
    RunFlow();
  }

  void LeaveFlow() {
    s_.flow.clear();
    s_.step = 0;
    s_.awaiting_slot.clear();
    s_.retries = 0;
    s_.slots = json::object();
  }

  bool WhenHolds(const FlowStep& step) const {
    for (const auto& [slot, value] : step.when) {
      const json::value* v = s_.slots.if_contains(slot);
      auto got = v ? SlotValue(*v) : std::nullopt;
      if (!got || *got != value) return false;
    }
    return true;
  }

  // Runs steps from the current one until a question, a call or the end of the flow.
  void RunFlow() {
    const Flow* flow = def_.FindFlow(s_.flow);
    if (!flow) return LeaveFlow();
    while (s_.step >= 0 && static_cast<size_t>(s_.step) < flow->steps.size()) {
      const FlowStep& step = flow->steps[static_cast<size_t>(s_.step)];
      if (!WhenHolds(step)) {
        ++s_.step;
        continue;
      }
      switch (step.kind) {
        case FlowStep::Kind::kReplies:
          SayAll(step.replies);
          ++s_.step;
          break;
        case FlowStep::Kind::kAsk:
          // Answered by the words that started the flow: skip the question. Only up to the
          // first question asked, so a "no" later in a long first message does not answer a
          // confirmation that comes after a question the customer has not seen.
          if (auto found = ExtractAnswer(step.ask, fill_text_)) {
            SetSlot(step.ask.slot, found->value);
            if (out_.note) out_.note->filled.push_back({step.ask.slot, found->value, found->words});
            ++s_.step;
            break;
          }
          fill_text_.clear();
          Say(step.ask.question);
          s_.awaiting_slot = step.ask.slot;
          return;
        case FlowStep::Kind::kCall: {
          ExternalCall call;
          call.url = step.call.url;
          call.timeout_ms = step.call.timeout_ms;
          call.request = json::object{{"conversation_id", turn_.conversation_id},
                                      {"customer_id", turn_.customer_id},
                                      {"slots", s_.slots},
                                      {"context", turn_.context}};
          out_.call = std::move(call);
          fill_text_.clear();
          s_.awaiting_slot.clear();
          s_.pending = Pending{s_.step, clock_.NowMs(), step.call.timeout_ms};
          return;
        }
      }
    }
    LeaveFlow();
  }

  void ApplyCall(const CallOutcome& outcome) {
    int64_t step_index = s_.pending->step;
    s_.pending.reset();
    s_.offered.clear();
    const Flow* flow = def_.FindFlow(s_.flow);
    if (!flow || step_index < 0 || static_cast<size_t>(step_index) >= flow->steps.size() ||
        flow->steps[static_cast<size_t>(step_index)].kind != FlowStep::Kind::kCall) {
      LeaveFlow();  // reloaded meanwhile; nothing sensible to continue
      return;
    }
    const CallStep& call = flow->steps[static_cast<size_t>(step_index)].call;
    if (outcome.ok) {
      if (const json::value* slots = outcome.response.if_contains("slots");
          slots && slots->is_object()) {
        for (const auto& [key, value] : slots->as_object()) {
          if (key.empty() || key.size() > 64) continue;
          if (value.is_null()) {
            s_.slots.erase(key);
          } else if (auto v = SlotValue(value)) {
            SetSlot(std::string(key), *v);
          }
        }
      }
      if (const json::value* replies = outcome.response.if_contains("replies");
          replies && replies->is_array()) {
        size_t n = 0;
        for (const auto& r : replies->as_array()) {
          if (n++ >= kMaxCallReplies) break;
          if (auto body = DecodeActionReply(r)) Emit(std::move(*body));
        }
      }
    } else {
      // The steps after a failed call would run with slots it should have filled ("Balance:
      // ."): say so and end the flow.
      if (call.fallback.empty())
        SayText(kDefaultOnErrorText);
      else
        SayAll(call.fallback);
      LeaveFlow();
      return;
    }
    s_.step = step_index + 1;
    RunFlow();
  }

  void DrainDeferred() {
    while (!s_.pending && out_.next != BotReply::Next::kEscalate && !s_.deferred.empty()) {
      Input in = std::move(s_.deferred.front());
      s_.deferred.pop_front();
      HandleInput(in.text, in.postback);
    }
    if (out_.next == BotReply::Next::kEscalate) s_.deferred.clear();
  }

  const BotDefinition& def_;
  const DialogBot& bot_;
  const Clock& clock_;
  const CustomerTurn& turn_;
  Session s_;
  BotReply out_;
  std::optional<IntentPrediction> recognised_;
  std::string fill_text_;  // the words that started the running flow, until it asks
};

}  // namespace

CallOutcome CallOutcomeFromHttp(int status, std::string_view body) {
  CallOutcome outcome;
  if (status < 200 || status > 299) {
    outcome.error = "HTTP status " + std::to_string(status);
    return outcome;
  }
  boost::system::error_code ec;
  json::value parsed = json::parse(body, ec);
  if (ec || !parsed.is_object()) {
    outcome.error = "the answer is not a JSON object";
    return outcome;
  }
  outcome.ok = true;
  outcome.response = std::move(parsed.as_object());
  return outcome;
}

DialogBot::DialogBot(BotDefinition definition, std::shared_ptr<const IntentClassifier> classifier,
                     const Clock& clock)
    : def_(std::move(definition)), classifier_(std::move(classifier)), clock_(clock) {}

Result<std::shared_ptr<const DialogBot>> DialogBot::Create(BotDefinition definition,
                                                           const Clock& clock) {
  std::vector<IntentExample> examples;
  for (const auto& intent : definition.intents) {
    for (const auto& e : intent.examples) examples.push_back({e, intent.name});
  }
  std::shared_ptr<const IntentClassifier> classifier;
  if (!examples.empty()) {
    IntentTrainOptions options;
    // Intent names are identifiers, so this label never collides with one: a bot's examples
    // have no out-of-scope class.
    options.oos_label = " no oos label";
    auto trained = IntentClassifier::Train(examples, options);
    if (!trained) return Fail(trained.error());
    classifier = std::move(*trained);
    // The same default as `parley bot eval-intents` without --threshold.
    if (!definition.threshold_set) definition.threshold = classifier->DefaultThreshold();
  }
  return std::shared_ptr<const DialogBot>(
      new DialogBot(std::move(definition), std::move(classifier), clock));
}

std::optional<IntentPrediction> DialogBot::Classify(std::string_view text) const {
  if (!classifier_) return std::nullopt;
  if (text.size() > kMaxClassifiedBytes) text = text.substr(0, kMaxClassifiedBytes);
  return classifier_->Predict(text);
}

DialogBot::Traced DialogBot::Trace(const CustomerTurn& turn, const json::value& state) const {
  Exec exec(def_, *this, clock_, turn, Session::From(state));
  exec.OnTurn();
  std::optional<IntentPrediction> recognised = exec.recognised();
  return Traced{exec.Finish(), std::move(recognised)};
}

BotReply DialogBot::OnCustomerTurn(const CustomerTurn& turn, const json::value& state) const {
  return Trace(turn, state).reply;
}

BotReply DialogBot::OnCallResult(const CustomerTurn& turn, const CallOutcome& outcome,
                                 const json::value& state) const {
  Exec exec(def_, *this, clock_, turn, Session::From(state));
  exec.OnCall(outcome);
  return exec.Finish();
}

}  // namespace parley::bot
