#pragma once
// Conversations: find or open one per (connection, customer), record every inbound and
// outbound event in the transcript, and let the owner answer — the bot when it owns the
// conversation. Everything one inbound event causes (transcript, bot replies, outbox, state)
// is written in one store job, so a 200 means all of it is durable, and the ownership check
// happens in the same transaction as the reply.

#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "bot/bot.hpp"
#include "channel/capabilities.hpp"
#include "channel/inbound.hpp"
#include "core/clock.hpp"
#include "core/ids.hpp"
#include "routing/events.hpp"
#include "routing/routing.hpp"
#include "storage/store.hpp"

namespace parley::conversation {

// Where new outbound events go once committed (the dispatcher). Thread-safe.
class OutboundSink {
 public:
  virtual ~OutboundSink() = default;
  virtual void Enqueue(std::vector<storage::DeliveryRecord> events) = 0;
};

// Runs a bot's external action (HTTP). Implemented over the webhook client.
class ActionRunner {
 public:
  virtual ~ActionRunner() = default;
  virtual boost::asio::awaitable<bot::CallOutcome> Run(bot::ExternalCall call) = 0;
};

// Sees each recorded delivery outcome (the dispatcher calls it). Thread-safe.
class DeliveryObserver {
 public:
  virtual ~DeliveryObserver() = default;
  // Inside the store job that records the outcome of outbound event `e`. False when the store
  // met another node's concurrent work (a deadlock, the agent's next event seq taken): the job
  // must fail, so that the store rolls it back and runs it again (on PostgreSQL a failed
  // statement also spoils the transaction, and a job that carried on would fail its batch).
  virtual bool OnOutcome(storage::Tx& tx, const storage::EventRecord& e, routing::Effects& fx) = 0;
  // After that job committed.
  virtual void Publish(routing::Effects& fx) = 0;
};

struct InboundOutcome {
  bool duplicate = false;
  std::string conversation_id;  // empty for events that touch no conversation
  std::vector<storage::DeliveryRecord> outbound;
  std::vector<storage::AgentEventRecord> events;  // for agents' live streams
  std::optional<bot::ExternalCall> call;
};

// What an agent's message became.
struct SentMessage {
  std::string event_id;
  int64_t seq = 0;
};

class ConversationService final : public routing::Speaker, public DeliveryObserver {
 public:
  // `hub` (optional) receives the agents' live events after each commit.
  ConversationService(storage::Store& store, const bot::BotRegistry& bots, const Clock& clock,
                      IdGenerator& ids, OutboundSink& sink, ActionRunner& actions,
                      routing::Settings settings = {}, routing::EventHub* hub = nullptr);

  routing::Routing& routing() { return routing_; }

  // Runs `step(tx, now, fx)` -> Result<T> as one write job, then emits the queue.updated events
  // it caused, and after the commit hands its outbound events to the sink and its live events
  // to the hub.
  template <class T, class F>
  boost::asio::awaitable<Result<T>> Act(F step);
  // The same in the store's background lane, for the server's own work that no request waits
  // for (the routing sweep): request jobs go first (Store::SubmitBackgroundWrite).
  template <class T, class F>
  boost::asio::awaitable<Result<T>> ActInBackground(F step);
  // The same as a read job (no effects).
  template <class T, class F>
  boost::asio::awaitable<Result<T>> Look(F step);

  // An agent's message (text, menu, carousel or link_button) to the customer.
  boost::asio::awaitable<Result<SentMessage>> SendAsAgent(std::string id, routing::Actor actor,
                                                          channel::OutboundBody body);
  boost::asio::awaitable<Result<bool>> AgentTyping(std::string id, routing::Actor actor, bool on);
  // An internal note in the transcript (direction "note"): for agents and admins, never sent
  // to the customer. `author` is who wrote it (shown as its csr_name); `may_read` says whether
  // the caller may see the conversation (403 forbidden otherwise). The owning agent is told
  // (conversation.message). 404 conversation_not_found; 400 invalid_text. `type`: "note", or
  // "whisper" for a supervisor's word to the agent (the same note, marked).
  boost::asio::awaitable<Result<storage::EventRecord>> AddNote(
      std::string id, std::string author, std::string text,
      std::function<bool(const storage::ConversationRecord&)> may_read, std::string type = "note");

  // routing::Speaker.
  Result<storage::EventRecord> Say(storage::Tx& tx, storage::ConversationRecord& conv,
                                   channel::OutboundBody body, channel::Sender from,
                                   std::optional<std::string> csr_name, int64_t now,
                                   routing::Effects& fx) override;
  // DeliveryObserver: an agent learns what became of their messages (conversation.delivery).
  bool OnOutcome(storage::Tx& tx, const storage::EventRecord& e, routing::Effects& fx) override;
  void Publish(routing::Effects& fx) override;

  // Records one authenticated inbound event for `connection` and runs what follows. Returns
  // once it is durable; queued replies are handed to the sink, and a bot's external action is
  // started in the background.
  boost::asio::awaitable<Result<InboundOutcome>> HandleInbound(storage::ConnectionRecord connection,
                                                               channel::InboundEvent event);

  boost::asio::awaitable<Result<std::vector<storage::ConversationRecord>>> List(
      storage::ConversationFilter filter);
  // The conversation and its transcript; kNotFound when absent.
  boost::asio::awaitable<
      Result<std::pair<storage::ConversationRecord, std::vector<storage::EventRecord>>>>
  Get(std::string id);

  static boost::json::object ToJson(const storage::ConversationRecord& c);
  static boost::json::object ToJson(const storage::EventRecord& e);

 private:
  // Act's and ActInBackground's body.
  template <class T, class F>
  boost::asio::awaitable<Result<T>> Run(F step, bool background);
  Result<InboundOutcome> ApplyText(storage::Tx& tx, const storage::ConnectionRecord& connection,
                                   const channel::CustomerText& text, int64_t now);
  Result<InboundOutcome> ApplyEnd(storage::Tx& tx, const storage::ConnectionRecord& connection,
                                  const channel::CustomerEndSession& end, int64_t now);
  // Runs the bot's answer to a turn (or to a call outcome) into the transcript.
  // The connection's bot, or a stand-in that hands the customer to a person when it is not
  // loaded.
  std::shared_ptr<const bot::Bot> BotFor(const storage::ConnectionRecord& connection) const;
  Result<void> ApplyBotReply(storage::Tx& tx, storage::ConversationRecord& conv,
                             bot::BotReply reply, int64_t now, InboundOutcome& out,
                             routing::Effects& fx, std::optional<std::string>& escalate_to);
  // After a job that started from the customer: queue updates, then effects into `out`.
  Result<void> Finish(storage::Tx& tx, int64_t now, routing::Effects& fx, InboundOutcome& out);
  storage::DeliveryRecord AppendOutbound(storage::ConversationRecord& conv,
                                         channel::OutboundBody body, channel::Sender from,
                                         std::optional<std::string> csr_name, int64_t now,
                                         const std::vector<channel::TextChoice>& choices);
  // Say, for one body the channel can show as it is.
  Result<storage::EventRecord> SayOne(storage::Tx& tx, storage::ConversationRecord& conv,
                                      channel::OutboundBody body, channel::Sender from,
                                      std::optional<std::string> csr_name, int64_t now,
                                      routing::Effects& fx,
                                      const std::vector<channel::TextChoice>& choices);
  // A customer's "2" (or an item's text) on a channel that shows lists as text: the postback of
  // that item of the last list sent, if there is one.
  Result<std::optional<std::string>> TextChoicePostback(storage::Tx& tx,
                                                        const storage::ConnectionRecord& connection,
                                                        const storage::ConversationRecord& conv,
                                                        const channel::CustomerText& text);
  boost::asio::awaitable<void> RunAction(storage::ConnectionRecord connection,
                                         std::string conversation_id, bot::ExternalCall call);

  storage::Store& store_;
  const bot::BotRegistry& bots_;
  const Clock& clock_;
  IdGenerator& ids_;
  OutboundSink& sink_;
  ActionRunner& actions_;
  routing::EventHub* hub_;
  routing::Routing routing_;
  std::function<void(InboundOutcome&)> published_;  // an inbound job's after_commit
  // The numbering of the lists said as text (writer thread only): messages said to one
  // conversation at one moment with no customer message between continue one numbering.
  struct Burst {
    std::string conversation_id;  // the conversation and its customer message count ("id/3")
    int64_t at_ms = -1;
    int next_number = 1;
  };
  Burst burst_;
};

template <class T, class F>
boost::asio::awaitable<Result<T>> ConversationService::Act(F step) {
  return Run<T>(std::move(step), false);
}

template <class T, class F>
boost::asio::awaitable<Result<T>> ConversationService::ActInBackground(F step) {
  return Run<T>(std::move(step), true);
}

template <class T, class F>
boost::asio::awaitable<Result<T>> ConversationService::Run(F step, bool background) {
  int64_t now = clock_.NowMs();
  struct Out {
    T value{};
    routing::Effects fx;
  };
  auto job = [this, &step, now](storage::Tx& tx) -> Result<Out> {
    Out out;
    auto r = step(tx, now, out.fx);
    if (!r) return Fail(r.error());
    out.value = std::move(*r);
    auto flushed = routing_.FlushQueueUpdates(tx, now, out.fx);
    if (!flushed) return Fail(flushed.error());
    return out;
  };
  auto publish = [this](Out& out) { Publish(out.fx); };
  // The lane is an argument, not a `background ? … : …` inside the co_await: with g++ 12 the
  // conditional's awaitable temporaries are destroyed twice (a double free, seen in the agents'
  // tests), and two co_await statements assigning one result crashed the same way.
  auto r = co_await store_.WriteIn<Out>(background, job, publish);
  if (!r) co_return Fail(r.error());
  co_return std::move(r->value);
}

template <class T, class F>
boost::asio::awaitable<Result<T>> ConversationService::Look(F step) {
  int64_t now = clock_.NowMs();
  auto job = [&step, now](storage::Tx& tx) -> Result<T> { return step(tx, now); };
  co_return co_await store_.Read<T>(job);
}

}  // namespace parley::conversation
