#include "conversation/conversation_service.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/json.hpp>

#include "bot/retired_bot.hpp"
#include "channel/capabilities.hpp"
#include "storage/records_json.hpp"

namespace parley::conversation {
namespace json = boost::json;
using storage::ConversationRecord;
using storage::DeliveryRecord;
using storage::EventRecord;
using storage::Tx;

namespace {

// A store failure that another node's concurrent work caused: the job runs again.
bool Retryable(const Error& e) { return e.errc == Errc::kUnavailable || e.errc == Errc::kConflict; }

constexpr const char* kStateBot = "bot";
constexpr const char* kStateQueued = "queued";
constexpr const char* kStateEnded = "ended";

json::value ParseOrNull(const std::optional<std::string>& text) {
  if (!text) return nullptr;
  boost::system::error_code ec;
  json::value v = json::parse(*text, ec);
  return ec ? json::value(nullptr) : v;
}

json::object ParseObject(const std::string& text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  return !ec && v.is_object() ? v.as_object() : json::object();
}

json::object InboundPayload(const channel::CustomerText& t) {
  json::object o;
  o["type"] = "text";
  json::array lines;
  for (const auto& l : t.text) lines.emplace_back(l);
  o["text"] = std::move(lines);
  if (t.customer_name) o["customer_name"] = *t.customer_name;
  if (t.postback) o["postback"] = *t.postback;
  if (!t.attachments.empty()) {
    json::array atts;
    for (const auto& a : t.attachments) atts.push_back(channel::ToJson(a));
    o["attachments"] = std::move(atts);
  }
  if (!t.context_data.empty()) o["context_data"] = t.context_data;
  return o;
}

// The next inbound transcript entry of `conv`; advances its counters.
EventRecord CustomerEvent(ConversationRecord& conv, const char* type,
                          std::optional<std::string> message_id, std::string payload_json,
                          int64_t now) {
  EventRecord in;
  in.conversation_id = conv.id;
  in.position = ++conv.last_position;
  in.connection_id = conv.connection_id;
  in.direction = "in";
  in.seq = ++conv.last_in_seq;
  in.sender = "customer";
  in.type = type;
  in.message_id = std::move(message_id);
  in.payload_json = std::move(payload_json);
  in.created_at_ms = now;
  return in;
}

bot::CustomerTurn TurnFor(const ConversationRecord& conv) {
  bot::CustomerTurn turn;
  turn.conversation_id = conv.id;
  turn.customer_id = conv.customer_id;
  turn.customer_name = conv.customer_name;
  turn.context = ParseObject(conv.context_json);
  return turn;
}

}  // namespace

ConversationService::ConversationService(storage::Store& store, const bot::BotRegistry& bots,
                                         const Clock& clock, IdGenerator& ids, OutboundSink& sink,
                                         ActionRunner& actions, routing::Settings settings,
                                         routing::EventHub* hub)
    : store_(store),
      bots_(bots),
      clock_(clock),
      ids_(ids),
      sink_(sink),
      actions_(actions),
      hub_(hub),
      routing_(std::move(settings), *this),
      // On the writer, in commit order: replies reach the dispatcher and events the streams in
      // the order they were committed, whichever I/O thread each request came from.
      published_([this](InboundOutcome& out) {
        if (!out.outbound.empty()) sink_.Enqueue(out.outbound);
        if (hub_) hub_->Publish(out.events);
      }) {}

Result<EventRecord> ConversationService::Say(Tx& tx, ConversationRecord& conv,
                                             channel::OutboundBody body, channel::Sender from,
                                             std::optional<std::string> csr_name, int64_t now,
                                             routing::Effects& fx) {
  // Every reply (the bot's, an agent's, the system's) is sent as the channel can show it.
  if (std::holds_alternative<channel::TextBody>(body) ||
      std::holds_alternative<channel::WaitTimeBody>(body) ||
      std::holds_alternative<channel::CsrEndSessionBody>(body))
    return SayOne(tx, conv, std::move(body), from, csr_name, now, fx, {});
  auto connection = tx.GetConnection(conv.connection_id);
  if (!connection) return Fail(connection.error());
  const channel::Capabilities caps =
      *connection ? channel::CapabilitiesFromText((*connection)->capabilities)
                  : channel::Capabilities::All();
  // Messages said together (one conversation, one moment, no customer message between) are
  // numbered as one list, so a "2" is never ambiguous among them. The key is the conversation
  // and its count of customer messages: a new customer message starts a new list.
  const std::string burst_key = conv.id + "/" + std::to_string(conv.last_in_seq);
  int first = 1;
  if (burst_.conversation_id == burst_key && burst_.at_ms == now) first = burst_.next_number;
  channel::Adapted adapted = channel::Adapt(body, caps, first);
  if (!adapted.choices.empty()) burst_ = Burst{burst_key, now, adapted.choices.back().number + 1};
  EventRecord first_said;
  for (size_t i = 0; i < adapted.bodies.size(); ++i) {
    // The numbered items go with the message that shows them (the last, for a carousel's cards
    // all of them): what a customer's "2" is read against.
    std::vector<channel::TextChoice> choices;
    if (i + 1 == adapted.bodies.size()) choices = adapted.choices;
    auto said = SayOne(tx, conv, std::move(adapted.bodies[i]), from, csr_name, now, fx, choices);
    if (!said) return Fail(said.error());
    if (i == 0) first_said = std::move(*said);
  }
  return first_said;
}

Result<EventRecord> ConversationService::SayOne(Tx& tx, ConversationRecord& conv,
                                                channel::OutboundBody body, channel::Sender from,
                                                std::optional<std::string> csr_name, int64_t now,
                                                routing::Effects& fx,
                                                const std::vector<channel::TextChoice>& choices) {
  DeliveryRecord d = AppendOutbound(conv, std::move(body), from, std::move(csr_name), now, choices);
  auto inserted = tx.InsertEvent(d.event);
  if (!inserted) return Fail(inserted.error());
  EventRecord e = d.event;
  fx.outbound.push_back(std::move(d));
  // The agent sees their own and the system's messages in the conversation as they are sent.
  if (from != channel::Sender::kBot && conv.state == "active" && conv.routing.agent) {
    auto sent = routing::Emit(tx, *conv.routing.agent, "conversation.message",
                              json::object{{"conversation", storage::ConversationJson(conv)},
                                           {"entry", storage::EntryJson(e)}},
                              now, fx);
    if (!sent) return Fail(sent.error());
  }
  return e;
}

bool ConversationService::OnOutcome(Tx& tx, const EventRecord& e, routing::Effects& fx) {
  if (e.sender != "csr") return true;
  auto conv = tx.GetConversation(e.conversation_id);
  // An ended conversation still tells its agent: the agent's own "Chat ended." is delivered
  // after the end.
  if (!conv) return !Retryable(conv.error());
  if (!*conv || !(*conv)->routing.agent) return true;
  if ((*conv)->state != "active" && (*conv)->state != "ended") return true;
  json::object body{{"conversation", storage::ConversationJson(**conv)},
                    {"event_id", e.event_id.value_or("")},
                    {"seq", e.seq},
                    {"delivery_status", e.delivery_status.value_or("")},
                    {"attempts", e.attempts},
                    {"last_error", e.last_error ? json::value(*e.last_error) : json::value()}};
  // "seq" of the frame is the stream's; the message's seq goes as "message_seq".
  body["message_seq"] = body["seq"];
  body.erase("seq");
  auto sent = routing::Emit(tx, *(*conv)->routing.agent, "conversation.delivery", std::move(body),
                            clock_.NowMs(), fx);
  if (!sent) {
    spdlog::warn("could not tell agent {} about event {}: {}", *(*conv)->routing.agent,
                 e.event_id.value_or(""), sent.error().message);
    return !Retryable(sent.error());
  }
  return true;
}

void ConversationService::Publish(routing::Effects& fx) {
  if (!fx.outbound.empty()) sink_.Enqueue(std::move(fx.outbound));
  fx.outbound.clear();
  if (hub_) hub_->Publish(fx.events);
  fx.events.clear();
}

Result<void> ConversationService::Finish(Tx& tx, int64_t now, routing::Effects& fx,
                                         InboundOutcome& out) {
  auto flushed = routing_.FlushQueueUpdates(tx, now, fx);
  if (!flushed) return Fail(flushed.error());
  for (auto& d : fx.outbound) out.outbound.push_back(std::move(d));
  for (auto& e : fx.events) out.events.push_back(std::move(e));
  fx.outbound.clear();
  fx.events.clear();
  return {};
}

std::shared_ptr<const bot::Bot> ConversationService::BotFor(
    const storage::ConnectionRecord& connection) const {
  if (auto b = bots_.Find(connection.bot)) return b;
  // Not loaded (deleted before this start, or never there): rather than leave the customer
  // talking to nothing, hand the conversation to a person, as an unloaded bot's stand-in does.
  spdlog::warn("connection {} names bot '{}', which is not loaded; handing over to a person",
               connection.id, connection.bot);
  return std::make_shared<bot::RetiredBot>(connection.bot);
}

DeliveryRecord ConversationService::AppendOutbound(
    ConversationRecord& conv, channel::OutboundBody body, channel::Sender from,
    std::optional<std::string> csr_name, int64_t now,
    const std::vector<channel::TextChoice>& choices) {
  channel::OutboundEvent event;
  event.event_id = ids_.OrderedUuid();
  event.customer_id = conv.customer_id;
  event.seq = ++conv.last_out_seq;
  event.from = from;
  event.csr_name = csr_name;
  event.body = std::move(body);

  EventRecord e;
  e.conversation_id = conv.id;
  e.position = ++conv.last_position;
  e.connection_id = conv.connection_id;
  e.direction = "out";
  e.seq = event.seq;
  e.sender = channel::SenderName(from);
  e.csr_name = std::move(csr_name);
  e.type = channel::TypeName(event.body);
  e.event_id = event.event_id;
  if (channel::IsMessage(event.body)) e.message_id = event.event_id;
  // The stored payload is the exact wire body, so delivery and replay send what was recorded.
  json::object wire = channel::ToJson(event);
  // [Parley] a list sent as text carries its numbered items, so that the customer's "2" can be
  // read as the item's postback (and a channel may use them).
  if (!choices.empty()) wire["choices"] = channel::ChoicesToJson(choices);
  e.payload_json = json::serialize(wire);
  e.created_at_ms = now;
  e.delivery_status = "pending";
  e.next_attempt_at_ms = now;
  return DeliveryRecord{std::move(e), conv.customer_id};
}

Result<void> ConversationService::ApplyBotReply(Tx& tx, ConversationRecord& conv,
                                                bot::BotReply reply, int64_t now,
                                                InboundOutcome& out, routing::Effects& fx,
                                                std::optional<std::string>& escalate_to) {
  for (auto& body : reply.messages) {
    auto said = Say(tx, conv, std::move(body), channel::Sender::kBot, std::nullopt, now, fx);
    if (!said) return Fail(said.error());
  }
  if (reply.state.is_null())
    conv.dialog_state_json.reset();
  else
    conv.dialog_state_json = json::serialize(reply.state);
  // Routing takes over once the conversation is saved (it reads it fresh).
  // A handover that names no queue goes to the connection's queue (set by the caller).
  if (reply.next == bot::BotReply::Next::kEscalate) escalate_to = reply.queue.value_or("");
  out.call = std::move(reply.call);
  return {};
}

Result<InboundOutcome> ConversationService::ApplyText(Tx& tx,
                                                      const storage::ConnectionRecord& connection,
                                                      const channel::CustomerText& text,
                                                      int64_t now) {
  InboundOutcome out;
  routing::Effects fx;
  std::optional<std::string> escalate_to;
  auto seen = tx.InboundMessageSeen(connection.id, text.message_id);
  if (!seen) return Fail(seen.error());
  if (*seen) {
    out.duplicate = true;
    return out;
  }
  auto found = tx.FindOpenConversation(connection.id, text.customer_id);
  if (!found) return Fail(found.error());
  bool opened = !found->has_value();
  ConversationRecord conv;
  if (opened) {
    conv.id = ids_.OrderedUuid();
    conv.connection_id = connection.id;
    conv.customer_id = text.customer_id;
    conv.state = kStateBot;
    conv.owner = "bot";
    conv.created_at_ms = now;
    // Without a bot, every customer goes straight to a person.
    if (connection.bot == "none") escalate_to = connection.queue;
  } else {
    conv = std::move(**found);
  }
  if (text.customer_name) conv.customer_name = text.customer_name;
  if (!text.context_data.empty()) {
    json::object context = ParseObject(conv.context_json);
    for (const auto& kv : text.context_data) context[kv.key()] = kv.value();
    conv.context_json = json::serialize(context);
  }
  conv.updated_at_ms = now;
  conv.last_customer_at_ms = now;
  conv.routing.idle_reminded = false;

  std::optional<std::string> chosen;
  if (!opened) {
    auto picked = TextChoicePostback(tx, connection, conv, text);
    if (!picked) return Fail(picked.error());
    chosen = std::move(*picked);
  }
  json::object payload = InboundPayload(text);
  if (chosen) payload["postback"] = *chosen;  // "2": the second item of the list sent as text
  std::optional<bot::BotReply> reply;
  if (conv.owner == "bot" && !escalate_to) {
    bot::CustomerTurn turn = TurnFor(conv);
    turn.text = text.text;
    turn.postback = chosen ? chosen : text.postback;
    turn.first_turn = opened;
    reply = BotFor(connection)->OnCustomerTurn(turn, ParseOrNull(conv.dialog_state_json));
    // What the bot took the message as, kept with it: agent assist shows that, not a guess.
    if (reply->note) payload["bot"] = bot::ToJson(*reply->note);
  }
  EventRecord in = CustomerEvent(conv, "text", text.message_id, json::serialize(payload), now);
  auto inserted = tx.InsertEvent(in);
  if (!inserted) return Fail(inserted.error());
  out.conversation_id = conv.id;
  if (reply) {
    auto applied = ApplyBotReply(tx, conv, std::move(*reply), now, out, fx, escalate_to);
    if (!applied) return Fail(applied.error());
  }
  std::string queue = escalate_to && !escalate_to->empty() ? *escalate_to : connection.queue;
  if (opened && escalate_to) {
    // A new customer who goes to a person at once (no bot, or the bot's first answer hands
    // over) is written once, already waiting, with its final counters, after its events.
    auto escalated = routing_.EscalateNew(tx, conv, queue, now, fx);
    if (!escalated) return Fail(escalated.error());
  } else {
    // A new conversation is written once, with its final counters, after its events.
    auto saved = opened ? tx.InsertConversation(conv) : tx.UpdateConversation(conv);
    if (!saved) return Fail(saved.error());
    auto told = routing_.CustomerMessage(tx, conv, in, now, fx);
    if (!told) return Fail(told.error());
    if (conv.owner == routing::Routing::kSurveyOwner) {
      auto answered =
          routing_.SurveyAnswer(tx, conv.id, text.text, chosen ? chosen : text.postback, now, fx);
      if (!answered) return Fail(answered.error());
    }
    if (escalate_to) {
      auto escalated = routing_.Escalate(tx, conv.id, queue, now, fx);
      if (!escalated) return Fail(escalated.error());
    }
  }
  auto finished = Finish(tx, now, fx, out);
  if (!finished) return Fail(finished.error());
  return out;
}

Result<std::optional<std::string>> ConversationService::TextChoicePostback(
    Tx& tx, const storage::ConnectionRecord& connection, const ConversationRecord& conv,
    const channel::CustomerText& text) {
  const channel::Capabilities caps = channel::CapabilitiesFromText(connection.capabilities);
  if ((caps.menu && caps.carousel) || text.postback || text.text.empty() || conv.last_out_seq == 0)
    return std::optional<std::string>();
  std::string said;
  for (const auto& line : text.text) said += (said.empty() ? "" : " ") + line;
  if (said.size() > 256) return std::optional<std::string>();
  auto transcript = tx.Transcript(conv.id);
  if (!transcript) return Fail(transcript.error());
  // The items of the last list sent as text, with those said in the same burst before it.
  std::vector<channel::TextChoice> choices;
  std::optional<int64_t> burst_at;
  for (auto it = transcript->rbegin(); it != transcript->rend(); ++it) {
    if (it->direction != "out") {
      if (burst_at) break;  // the burst ends at the customer's message before it
      continue;
    }
    if (burst_at && it->created_at_ms != *burst_at) break;
    if (it->payload_json.find("\"choices\"") == std::string::npos) continue;
    boost::system::error_code ec;
    json::value wire = json::parse(it->payload_json, ec);
    if (ec || !wire.is_object() || !wire.as_object().contains("choices")) continue;
    auto listed = channel::ChoicesFromJson(wire.as_object().at("choices"));
    if (listed.empty()) continue;
    burst_at = it->created_at_ms;
    choices.insert(choices.begin(), listed.begin(), listed.end());
  }
  if (const channel::TextChoice* c = channel::ChoiceFor(choices, said))
    return std::optional<std::string>(c->payload);
  return std::optional<std::string>();
}

Result<InboundOutcome> ConversationService::ApplyEnd(Tx& tx,
                                                     const storage::ConnectionRecord& connection,
                                                     const channel::CustomerEndSession& end,
                                                     int64_t now) {
  InboundOutcome out;
  if (end.message_id) {
    auto seen = tx.InboundMessageSeen(connection.id, *end.message_id);
    if (!seen) return Fail(seen.error());
    if (*seen) {
      out.duplicate = true;
      return out;
    }
  }
  auto found = tx.FindOpenConversation(connection.id, end.customer_id);
  if (!found) return Fail(found.error());
  if (!*found) return out;  // nothing open: ending is a no-op, and still accepted
  ConversationRecord conv = std::move(**found);
  ConversationRecord before = conv;
  EventRecord in = CustomerEvent(conv, "customer_end_session", end.message_id,
                                 R"({"type":"customer_end_session"})", now);
  auto inserted = tx.InsertEvent(in);
  if (!inserted) return Fail(inserted.error());
  conv.state = kStateEnded;
  conv.ended_at_ms = now;
  conv.updated_at_ms = now;
  conv.routing.ended_by = "customer";
  conv.routing.offered_to.reset();
  conv.routing.offer_expires_at_ms.reset();
  auto updated = tx.UpdateConversation(conv);
  if (!updated) return Fail(updated.error());
  out.conversation_id = conv.id;
  routing::Effects fx;
  auto told = routing_.ConversationEnded(tx, before, "customer", now, fx);
  if (!told) return Fail(told.error());
  auto finished = Finish(tx, now, fx, out);
  if (!finished) return Fail(finished.error());
  return out;
}

boost::asio::awaitable<Result<InboundOutcome>> ConversationService::HandleInbound(
    storage::ConnectionRecord connection, channel::InboundEvent event) {
  int64_t now = clock_.NowMs();
  if (const auto* typing = std::get_if<channel::CustomerTyping>(&event)) {
    // Not in the transcript; relayed to the agent who owns the conversation.
    auto job = [this, &connection, typing, now](Tx& tx) -> Result<InboundOutcome> {
      InboundOutcome out;
      auto found = tx.FindOpenConversation(connection.id, typing->customer_id);
      if (!found) return Fail(found.error());
      if (!*found || (*found)->state != "active") return out;
      routing::Effects fx;
      auto told = routing_.CustomerTyping(tx, **found, now, fx);
      if (!told) return Fail(told.error());
      out.conversation_id = (*found)->id;
      auto finished = Finish(tx, now, fx, out);
      if (!finished) return Fail(finished.error());
      return out;
    };
    co_return co_await store_.Write<InboundOutcome>(job, published_);
  }
  auto job0 = [this, &connection, &event, now](Tx& tx) -> Result<InboundOutcome> {
    if (const auto* text = std::get_if<channel::CustomerText>(&event))
      return ApplyText(tx, connection, *text, now);
    return ApplyEnd(tx, connection, std::get<channel::CustomerEndSession>(event), now);
  };
  auto outcome = co_await store_.Write<InboundOutcome>(job0, published_);
  if (!outcome) co_return outcome;
  if (outcome->call) {
    auto executor = co_await boost::asio::this_coro::executor;
    boost::asio::co_spawn(executor, RunAction(connection, outcome->conversation_id, *outcome->call),
                          boost::asio::detached);
  }
  co_return outcome;
}

boost::asio::awaitable<void> ConversationService::RunAction(storage::ConnectionRecord connection,
                                                            std::string conversation_id,
                                                            bot::ExternalCall call) {
  bot::CallOutcome result = co_await actions_.Run(std::move(call));
  int64_t now = clock_.NowMs();
  auto job1 = [&](Tx& tx) -> Result<InboundOutcome> {
    InboundOutcome out;
    routing::Effects fx;
    std::optional<std::string> escalate_to;
    auto found = tx.GetConversation(conversation_id);
    if (!found) return Fail(found.error());
    // The bot speaks only while it owns the conversation.
    if (!*found || (*found)->owner != "bot" || (*found)->state == kStateEnded) return out;
    ConversationRecord conv = std::move(**found);
    out.conversation_id = conv.id;
    auto applied = ApplyBotReply(
        tx, conv,
        BotFor(connection)
            ->OnCallResult(TurnFor(conv), result, ParseOrNull(conv.dialog_state_json)),
        now, out, fx, escalate_to);
    if (!applied) return Fail(applied.error());
    conv.updated_at_ms = now;
    auto updated = tx.UpdateConversation(conv);
    if (!updated) return Fail(updated.error());
    if (escalate_to) {
      auto escalated = routing_.Escalate(
          tx, conv.id, escalate_to->empty() ? connection.queue : *escalate_to, now, fx);
      if (!escalated) return Fail(escalated.error());
    }
    auto finished = Finish(tx, now, fx, out);
    if (!finished) return Fail(finished.error());
    return out;
  };
  auto outcome = co_await store_.Write<InboundOutcome>(job1, published_);
  if (!outcome) {
    spdlog::error("recording the action result of conversation {} failed: {}", conversation_id,
                  outcome.error().message);
    co_return;
  }
  if (outcome->call) {
    auto executor = co_await boost::asio::this_coro::executor;
    boost::asio::co_spawn(executor, RunAction(connection, conversation_id, *outcome->call),
                          boost::asio::detached);
  }
}

boost::asio::awaitable<Result<std::vector<ConversationRecord>>> ConversationService::List(
    storage::ConversationFilter filter) {
  auto job2 = [filter](Tx& tx) { return tx.ListConversations(filter); };
  co_return co_await store_.Read<std::vector<ConversationRecord>>(job2);
}

boost::asio::awaitable<Result<std::pair<ConversationRecord, std::vector<EventRecord>>>>
ConversationService::Get(std::string id) {
  using Out = std::pair<ConversationRecord, std::vector<EventRecord>>;
  auto job3 = [id](Tx& tx) -> Result<Out> {
    auto conv = tx.GetConversation(id);
    if (!conv) return Fail(conv.error());
    if (!*conv)
      return Fail(Errc::kNotFound, "conversation_not_found",
                  "No conversation has this ID; list them with GET /api/v1/conversations.");
    auto transcript = tx.Transcript(id);
    if (!transcript) return Fail(transcript.error());
    return Out{std::move(**conv), std::move(*transcript)};
  };
  co_return co_await store_.Read<Out>(job3);
}

json::object ConversationService::ToJson(const ConversationRecord& c) {
  return storage::ConversationJson(c);
}

json::object ConversationService::ToJson(const EventRecord& e) { return storage::EntryJson(e); }

boost::asio::awaitable<Result<SentMessage>> ConversationService::SendAsAgent(
    std::string id, routing::Actor actor, channel::OutboundBody body) {
  if (!channel::IsMessage(body))
    co_return Fail(Errc::kInvalidArgument, "invalid_type",
                   "An agent sends a text, menu, carousel or link_button.");
  auto step = [this, &id, &actor, &body](Tx& tx, int64_t now,
                                         routing::Effects& fx) -> Result<SentMessage> {
    auto owned = routing_.Speaking(tx, id, actor);  // theirs, or joined by a supervisor
    if (!owned) return Fail(owned.error());
    ConversationRecord conv = std::move(*owned);
    auto said = Say(tx, conv, body, channel::Sender::kCsr, actor.display_name, now, fx);
    if (!said) return Fail(said.error());
    conv.updated_at_ms = now;
    auto saved = tx.UpdateConversation(conv);
    if (!saved) return Fail(saved.error());
    return SentMessage{said->event_id.value_or(""), said->seq};
  };
  co_return co_await Act<SentMessage>(step);
}

boost::asio::awaitable<Result<EventRecord>> ConversationService::AddNote(
    std::string id, std::string author, std::string text,
    std::function<bool(const ConversationRecord&)> may_read, std::string type) {
  if (text.empty() || text.size() > 4096)
    co_return Fail(Errc::kInvalidArgument, "invalid_text",
                   "Send {\"text\": \"...\"}: the note, 1 to 4096 bytes.");
  auto step = [this, &id, &author, &text, &may_read, &type](
                  Tx& tx, int64_t now, routing::Effects& fx) -> Result<EventRecord> {
    auto got = tx.GetConversation(id);
    if (!got) return Fail(got.error());
    if (!*got)
      return Fail(Errc::kNotFound, "conversation_not_found",
                  "No conversation has this ID; list them with GET /api/v1/conversations.");
    ConversationRecord conv = std::move(**got);
    if (!may_read(conv))
      return Fail(Errc::kPermissionDenied, "forbidden",
                  "This conversation is neither yours nor waiting in a queue of yours.");
    EventRecord e;
    e.conversation_id = conv.id;
    e.position = ++conv.last_position;
    e.connection_id = conv.connection_id;
    e.direction = "note";  // delivery reads only "out": a note never reaches the customer
    e.seq = 0;
    e.sender = "csr";
    e.csr_name = author;
    e.type = type;
    e.event_id = ids_.OrderedUuid();
    e.payload_json = json::serialize(json::object{{"text", text}});
    e.created_at_ms = now;
    auto inserted = tx.InsertEvent(e);
    if (!inserted) return Fail(inserted.error());
    auto saved = tx.UpdateConversation(conv);
    if (!saved) return Fail(saved.error());
    if (conv.state == "active" && conv.routing.agent) {
      auto sent = routing::Emit(tx, *conv.routing.agent, "conversation.message",
                                json::object{{"conversation", storage::ConversationJson(conv)},
                                             {"entry", storage::EntryJson(e)}},
                                now, fx);
      if (!sent) return Fail(sent.error());
    }
    return e;
  };
  co_return co_await Act<EventRecord>(step);
}

boost::asio::awaitable<Result<bool>> ConversationService::AgentTyping(std::string id,
                                                                      routing::Actor actor,
                                                                      bool on) {
  auto step = [this, &id, &actor, on](Tx& tx, int64_t now, routing::Effects& fx) -> Result<bool> {
    auto owned = routing_.Speaking(tx, id, actor);  // theirs, or joined by a supervisor
    if (!owned) return Fail(owned.error());
    // The protocol has no "stopped typing": receivers hide the indicator after a few seconds.
    if (!on) return false;
    ConversationRecord conv = std::move(*owned);
    auto said =
        Say(tx, conv, channel::TypingBody{}, channel::Sender::kCsr, actor.display_name, now, fx);
    if (!said) return Fail(said.error());
    if (!said->event_id) return false;  // the channel shows no typing indicator
    auto saved = tx.UpdateConversation(conv);
    if (!saved) return Fail(saved.error());
    return true;
  };
  co_return co_await Act<bool>(step);
}

}  // namespace parley::conversation
