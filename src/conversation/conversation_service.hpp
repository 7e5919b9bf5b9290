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
#include "channel/inbound.hpp"
#include "core/clock.hpp"
#include "core/ids.hpp"
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

struct InboundOutcome {
  bool duplicate = false;
  std::string conversation_id;  // empty for events that touch no conversation
  std::vector<storage::DeliveryRecord> outbound;
  std::optional<bot::ExternalCall> call;
};

class ConversationService {
 public:
  ConversationService(storage::Store& store, const bot::BotRegistry& bots, const Clock& clock,
                      IdGenerator& ids, OutboundSink& sink, ActionRunner& actions);

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
  Result<InboundOutcome> ApplyText(storage::Tx& tx, const storage::ConnectionRecord& connection,
                                   const channel::CustomerText& text, int64_t now);
  Result<InboundOutcome> ApplyEnd(storage::Tx& tx, const storage::ConnectionRecord& connection,
                                  const channel::CustomerEndSession& end, int64_t now);
  // Runs the bot's answer to a turn (or to a call outcome) into the transcript.
  // The connection's bot, or a stand-in that hands the customer to a person when it is not
  // loaded.
  std::shared_ptr<const bot::Bot> BotFor(const storage::ConnectionRecord& connection) const;
  Result<void> ApplyBotReply(storage::Tx& tx, storage::ConversationRecord& conv,
                             bot::BotReply reply, int64_t now, InboundOutcome& out);
  storage::DeliveryRecord AppendOutbound(storage::ConversationRecord& conv,
                                         channel::OutboundBody body, channel::Sender from,
                                         std::optional<std::string> csr_name, int64_t now);
  boost::asio::awaitable<void> RunAction(storage::ConnectionRecord connection,
                                         std::string conversation_id, bot::ExternalCall call);

  storage::Store& store_;
  const bot::BotRegistry& bots_;
  const Clock& clock_;
  IdGenerator& ids_;
  OutboundSink& sink_;
  ActionRunner& actions_;
};

}  // namespace parley::conversation
