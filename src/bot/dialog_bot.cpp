#include "bot/dialog_bot.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <cctype>
#include <deque>

#include "bot/template.hpp"

namespace parley::bot {
namespace json = boost::json;
namespace {

// The classifier sees at most this much of a message: enough for any real sentence, and a
// bound on the writer thread's work.
constexpr size_t kMaxClassifiedBytes = 4096;
constexpr size_t kMaxOfferedItems = 50;
constexpr size_t kMaxCallReplies = 10;
constexpr int kStateVersion = 1;

std::string Trim(std::string_view s) {
  auto space = [](unsigned char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return std::string(s);
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  }
  return true;
}

std::string Join(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) {
    if (!out.empty()) out += ' ';
    out += l;
    if (out.size() > kMaxClassifiedBytes) break;
  }
  return out;
}

// Lower-case ASCII letters and digits, runs of anything else as one space, trimmed: "Never
// mind!" and "never  mind" are the same cancel word.
std::string Simplify(std::string_view s) {
  std::string out;
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) || c >= 0x80) {
      out.push_back(static_cast<char>(std::tolower(c)));
    } else if (!out.empty() && out.back() != ' ') {
      out.push_back(' ');
    }
  }
  if (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

// Slots are looked for in at most this much of a message, and a pattern is tried on spans of at
// most kMaxSpanWords of its first kMaxSpanTokens words: a bound on the writer thread's work.
constexpr size_t kMaxFillBytes = 512;
constexpr size_t kMaxSpanWords = 3;
constexpr size_t kMaxSpanTokens = 64;

// The words of a text as written, without the punctuation around them ("4321." -> "4321").
std::vector<std::string> Tokens(std::string_view s) {
  std::vector<std::string> out;
  auto edge = [](unsigned char c) { return std::ispunct(c) && c != '#' && c != '+' && c != '@'; };
  size_t i = 0;
  while (i < s.size() && out.size() < kMaxSpanTokens) {
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    size_t j = i;
    while (j < s.size() && !std::isspace(static_cast<unsigned char>(s[j]))) ++j;
    std::string_view w = s.substr(i, j - i);
    while (!w.empty() && edge(static_cast<unsigned char>(w.front()))) w.remove_prefix(1);
    while (!w.empty() && edge(static_cast<unsigned char>(w.back()))) w.remove_suffix(1);
    if (!w.empty()) out.emplace_back(w);
    i = j;
  }
  return out;
}

// A slot value found inside a customer's words, and the words it came from.
struct Found {
  std::string value;
  std::string words;
};

// What an ask step's answer may be called, as (phrase, value): its choices (and the texts of the
// menu items whose payload is a choice), or for a menu question without choices its items' texts
// and payloads; and the step's synonyms.
std::vector<std::pair<std::string, std::string>> Phrases(const AskStep& ask) {
  std::vector<std::pair<std::string, std::string>> out;
  const auto* menu = std::get_if<channel::MenuBody>(&ask.question.body);
  if (!ask.choices.empty()) {
    for (const auto& c : ask.choices) out.emplace_back(c, c);
    if (menu) {
      for (const auto& item : menu->items) {
        if (std::find(ask.choices.begin(), ask.choices.end(), item.payload) != ask.choices.end())
          out.emplace_back(item.text, item.payload);
      }
    }
  } else if (menu && !ask.pattern) {
    for (const auto& item : menu->items) {
      out.emplace_back(item.text, item.payload);
      out.emplace_back(item.payload, item.payload);
    }
  }
  for (const auto& syn : ask.synonyms) out.push_back(syn);
  return out;
}

// The value of an ask step found inside `text`: a choice, item or synonym said as whole words
// (the longest one; nothing when the text names two different values), or a span of up to
// three words the step's pattern matches. Free-text questions take nothing from inside a text.
std::optional<Found> Extract(const AskStep& ask, std::string_view text) {
  if (text.empty() || text.size() > kMaxFillBytes) return std::nullopt;
  auto phrases = Phrases(ask);
  if (!phrases.empty()) {
    const std::string hay = " " + Simplify(text) + " ";
    std::optional<Found> best;
    bool ambiguous = false;
    for (const auto& [phrase, value] : phrases) {
      const std::string needle = Simplify(phrase);
      if (needle.empty() || hay.find(" " + needle + " ") == std::string::npos) continue;
      if (!best) {
        best = Found{value, needle};
      } else if (best->value != value) {
        // "current account" inside "current account or savings": two answers, so neither.
        if (best->words.find(needle) != std::string::npos) continue;
        if (needle.find(best->words) != std::string::npos) {
          best = Found{value, needle};
          continue;
        }
        ambiguous = true;
      } else if (needle.size() > best->words.size()) {
        best->words = needle;
      }
    }
    if (ambiguous) return std::nullopt;
    return best;
  }
  if (!ask.pattern) return std::nullopt;
  const std::vector<std::string> tokens = Tokens(text);
  for (size_t len = 1; len <= kMaxSpanWords; ++len) {
    for (size_t start = 0; start + len <= tokens.size(); ++start) {
      std::string span = tokens[start];
      for (size_t k = 1; k < len; ++k) span += " " + tokens[start + k];
      if (span.size() > kMaxAnswerForPattern) continue;
      try {
        std::smatch m;
        if (std::regex_search(span, m, *ask.pattern->regex) && m.length(0) > 0)
          return Found{m.str(0), span};
      } catch (const std::regex_error&) {
        return std::nullopt;  // complexity or stack limit of the engine
      }
    }
  }
  return std::nullopt;
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

int64_t IntOr(const json::object& o, std::string_view key, int64_t dflt) {
  const json::value* v = o.if_contains(key);
  return v && v->is_int64() ? v->as_int64() : dflt;
}

std::string StrOr(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

// What the customer said in one turn, as the engine needs it (also what is kept while a call
// is pending).
struct Input {
  std::vector<std::string> text;
  std::optional<std::string> postback;
};

struct Pending {
  int64_t step = 0;
  int64_t since_ms = 0;
  int64_t timeout_ms = 0;
};

// The stored dialog state. Parsed leniently: a state written by another version of the bot
// (after a reload) or damaged degrades to "no flow", never to a crash.
struct Session {
  bool greeted = false;
  int64_t misses = 0;  // consecutive misunderstandings
  std::string flow;
  int64_t step = 0;
  std::string awaiting_slot;  // the slot the current ask step fills
  int64_t retries = 0;        // consecutive answers that did not fit the question
  json::object slots;
  bool awaiting_queue = false;
  std::vector<std::pair<std::string, std::string>> offered;  // (text, payload)
  std::optional<Pending> pending;
  std::deque<Input> deferred;

  static Session From(const json::value& v) {
    Session s;
    if (!v.is_object()) return s;
    const json::object& o = v.as_object();
    if (IntOr(o, "v", 0) != kStateVersion) return s;
    if (const json::value* g = o.if_contains("greeted"); g && g->is_bool())
      s.greeted = g->as_bool();
    s.misses = std::max<int64_t>(0, IntOr(o, "misses", 0));
    s.flow = StrOr(o, "flow");
    s.step = IntOr(o, "step", 0);
    s.awaiting_slot = StrOr(o, "awaiting_slot");
    s.retries = std::max<int64_t>(0, IntOr(o, "retries", 0));
    if (const json::value* sl = o.if_contains("slots"); sl && sl->is_object())
      s.slots = sl->as_object();
    if (const json::value* q = o.if_contains("awaiting_queue"); q && q->is_bool())
      s.awaiting_queue = q->as_bool();
    if (const json::value* off = o.if_contains("offered"); off && off->is_array()) {
      for (const auto& item : off->as_array()) {
        if (!item.is_object() || s.offered.size() >= kMaxOfferedItems) continue;
        s.offered.emplace_back(StrOr(item.as_object(), "text"), StrOr(item.as_object(), "payload"));
      }
    }
    if (const json::value* p = o.if_contains("pending"); p && p->is_object()) {
      const json::object& po = p->as_object();
      s.pending =
          Pending{IntOr(po, "step", -1), IntOr(po, "since_ms", 0), IntOr(po, "timeout_ms", 0)};
    }
    if (const json::value* d = o.if_contains("deferred"); d && d->is_array()) {
      for (const auto& item : d->as_array()) {
        if (!item.is_object() || s.deferred.size() >= kMaxDeferredTurns) continue;
        Input in;
        if (const json::value* t = item.as_object().if_contains("text"); t && t->is_array()) {
          for (const auto& line : t->as_array()) {
            if (line.is_string()) in.text.emplace_back(line.as_string());
          }
        }
        if (const json::value* pb = item.as_object().if_contains("postback"); pb && pb->is_string())
          in.postback = std::string(pb->as_string());
        s.deferred.push_back(std::move(in));
      }
    }
    return s;
  }

  json::value ToJson() const {
    json::object o;
    o["v"] = kStateVersion;
    o["greeted"] = greeted;
    o["misses"] = misses;
    if (!flow.empty()) {
      o["flow"] = flow;
      o["step"] = step;
      o["retries"] = retries;
      if (!awaiting_slot.empty()) o["awaiting_slot"] = awaiting_slot;
    }
    o["slots"] = slots;
    if (awaiting_queue) o["awaiting_queue"] = true;
    if (!offered.empty()) {
      json::array arr;
      for (const auto& [text, payload] : offered)
        arr.push_back(json::object{{"text", text}, {"payload", payload}});
      o["offered"] = std::move(arr);
    }
    if (pending) {
      o["pending"] = json::object{{"step", pending->step},
                                  {"since_ms", pending->since_ms},
                                  {"timeout_ms", pending->timeout_ms}};
    }
    if (!deferred.empty()) {
      json::array arr;
      for (const auto& in : deferred) {
        json::object item;
        json::array lines;
        for (const auto& l : in.text) lines.emplace_back(l);
        item["text"] = std::move(lines);
        if (in.postback) item["postback"] = *in.postback;
        arr.push_back(std::move(item));
      }
      o["deferred"] = std::move(arr);
    }
    return o;
  }
};

std::optional<std::string> SlotValue(const json::value& v) {
  std::string s;
  if (v.is_string())
    s = std::string(v.as_string());
  else if (v.is_number() || v.is_bool())
    s = json::serialize(v);
  else
    return std::nullopt;
  if (s.size() > kMaxSlotValueBytes) return std::nullopt;
  return s;
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
    Input current{turn_.text, turn_.postback};
    out_.note = TurnNote{};
    if (s_.pending) {
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
    HandleInput(current);
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

  void HandleInput(const Input& in) {
    std::string text = Trim(Join(in.text));
    std::optional<std::string> payload = in.postback;
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
      out_.note->value = in.postback ? *payload : text;
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
    std::optional<std::string> value = Accept(ask, payload ? *payload : text);
    if (!value && !payload) {
      // An answer that holds more than the value: "it ends 4321", "the savings one".
      if (auto found = Extract(ask, text)) {
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

  // The slot value for an answer, or nullopt when it does not fit the question.
  static std::optional<std::string> Accept(const AskStep& ask, const std::string& raw) {
    std::string answer = Trim(raw);
    if (answer.empty()) return std::nullopt;
    for (const auto& [word, value] : ask.synonyms) {
      if (EqualsIgnoreCase(Trim(word), answer)) return value;
    }
    if (!ask.choices.empty()) {
      for (const auto& c : ask.choices) {
        if (EqualsIgnoreCase(c, answer)) return c;
      }
      return std::nullopt;
    }
    if (ask.pattern) {
      if (answer.size() > kMaxAnswerForPattern) return std::nullopt;
      try {
        std::smatch m;
        if (!std::regex_search(answer, m, *ask.pattern->regex)) return std::nullopt;
        // An unanchored pattern keeps the part that matched ("ends in 1234" -> "1234").
        return m.length(0) > 0 ? m.str(0) : answer;
      } catch (const std::regex_error&) {
        return std::nullopt;  // complexity or stack limit of the engine
      }
    }
    if (const auto* menu = std::get_if<channel::MenuBody>(&ask.question.body)) {
      for (const auto& item : menu->items) {
        if (item.payload == answer || EqualsIgnoreCase(item.text, answer)) return item.payload;
      }
      return std::nullopt;
    }
    if (answer.size() > kMaxSlotValueBytes) return std::nullopt;
    return answer;
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
          if (auto found = Extract(step.ask, fill_text_)) {
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
      HandleInput(in);
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
