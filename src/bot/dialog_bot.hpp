#pragma once
// The dialog engine: a Bot driven by a BotDefinition and an intent classifier trained from its
// examples. Pure decisions over (turn, stored state): no I/O, safe to call from any thread.
//
// Dialog state (a JSON object stored by the conversation layer, see dialog_state.hpp) holds the
// active flow and step, the slots, the consecutive misunderstanding count, the items offered
// in the last menus, a pending external call and the customer messages that arrived while it
// ran. While a call is pending a new message gets no reply at once: it is kept (at most
// kMaxDeferredTurns) and answered, in order, right after the call's outcome. A call whose
// outcome never comes (e.g. the server restarted) counts as failed once its timeout plus
// kCallGraceMs has passed, at the next customer message.

#include <memory>
#include <optional>
#include <string_view>

#include "bot/bot.hpp"
#include "bot/definition.hpp"
#include "bot/intent_classifier.hpp"
#include "core/clock.hpp"
#include "core/result.hpp"

namespace parley::bot {

inline constexpr size_t kMaxDeferredTurns = 5;
inline constexpr int64_t kCallGraceMs = 30'000;
inline constexpr size_t kMaxMessagesPerReply = 30;
inline constexpr size_t kMaxSlots = 32;
inline constexpr size_t kMaxSlotValueBytes = 1024;

// How the conversation layer should judge an external action's HTTP answer: ok for a 2xx status
// with a JSON object body (the response), otherwise not ok with `error` saying why. Transport
// failures (timeout, refused address, TLS) are not ok either; build those outcomes directly.
CallOutcome CallOutcomeFromHttp(int status, std::string_view body);

class DialogBot final : public Bot {
 public:
  // Trains the classifier on every intent's examples. Fails when training fails. `clock` must
  // outlive the bot.
  static Result<std::shared_ptr<const DialogBot>> Create(BotDefinition definition,
                                                         const Clock& clock);

  BotReply OnCustomerTurn(const CustomerTurn& turn, const boost::json::value& state) const override;
  BotReply OnCallResult(const CustomerTurn& turn, const CallOutcome& outcome,
                        const boost::json::value& state) const override;

  // OnCustomerTurn, plus the intent the text was recognised as when the classifier was asked
  // (for `parley bot chat`).
  struct Traced {
    BotReply reply;
    std::optional<IntentPrediction> recognised;
  };
  Traced Trace(const CustomerTurn& turn, const boost::json::value& state) const;

  // The classifier's best guess; nullopt when the bot has no intents.
  std::optional<IntentPrediction> Classify(std::string_view text) const;

  const BotDefinition& definition() const { return def_; }

 private:
  DialogBot(BotDefinition definition, std::shared_ptr<const IntentClassifier> classifier,
            const Clock& clock);

  BotDefinition def_;
  std::shared_ptr<const IntentClassifier> classifier_;
  const Clock& clock_;
};

}  // namespace parley::bot
