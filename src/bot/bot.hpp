#pragma once
// The bot interface: what the conversation layer asks of an assistant, and what it gets back.
// A bot is a pure decision function over (customer turn, stored dialog state): it never does
// I/O itself. It runs on the store's writer thread inside the transaction that records the
// customer's message, so its replies are stored atomically with it and the ownership check
// (only a conversation owned by the bot is answered) holds. Anything slow, such as an
// external action, is returned as an ExternalCall for the conversation layer to run after the
// commit; its outcome comes back through OnCallResult in a later transaction.

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "channel/outbound.hpp"

namespace parley::bot {

struct CustomerTurn {
  std::string conversation_id;
  std::string customer_id;
  std::optional<std::string> customer_name;
  std::vector<std::string> text;  // empty when the customer only chose a postback
  std::optional<std::string> postback;
  boost::json::object context;  // the conversation's context_data, merged over turns
  bool first_turn = false;      // the conversation was opened by this message
};

// An HTTP action the bot wants run (a flow's `call` step).
struct ExternalCall {
  std::string url;
  int64_t timeout_ms = 3000;
  boost::json::object request;  // posted as the JSON body
};

struct CallOutcome {
  bool ok = false;               // 2xx with a JSON object body, within the timeout
  boost::json::object response;  // the body, when ok
  std::string error;             // what went wrong, when not ok (for logs)
};

// A slot the bot took from the customer's words without asking (or from an answer that held more
// than the value): `words` is the part of the text it came from.
struct SlotFill {
  std::string slot;
  std::string value;
  std::string words;
};

// What the bot made of a customer turn: what agent assist shows beside the message and what
// conversation tests check. Recorded with the customer's message in the transcript.
struct TurnNote {
  // intent: recognised as `intent`; answer: answered the `question` of `flow`, filling `slot`
  // with `value`; retry: did not fit that question; choice: tapped or typed an offered item
  // (`value` its text or payload); cancel: left a flow; greeting: the greeting was the answer;
  // kept: held while an external action runs; not_understood: the fallback (best guess in
  // `intent`, `confidence`).
  std::string kind;
  std::string intent;
  double confidence = 0;
  std::string flow, slot, value, question;
  std::vector<SlotFill> filled;  // slots taken from the words
};

// {"kind", "intent"?, "confidence"?, "flow"?, "slot"?, "value"?, "question"?, "filled"?: [{slot,
// value, words}]}; FromJson reads it back (leniently: missing or odd fields are left empty).
boost::json::object ToJson(const TurnNote& note);
TurnNote TurnNoteFromJson(const boost::json::object& o);

struct BotReply {
  std::vector<channel::OutboundBody> messages;  // sent in order, from "bot"
  enum class Next { kStay, kEscalate } next = Next::kStay;
  std::optional<std::string> queue;  // the queue to escalate to, when chosen
  boost::json::value state;          // dialog state to store (null: none)
  std::optional<ExternalCall> call;  // run after commit; result via OnCallResult
  std::optional<TurnNote> note;      // what the customer's turn was taken as (not for calls)
  // Every slot set during this decision (answers, words, an action's slots), in order.
  std::vector<std::pair<std::string, std::string>> slots_set;
};

class Bot {
 public:
  virtual ~Bot() = default;
  // Answers one customer turn. `state` is what the previous reply stored (null at first).
  // Must not block or do I/O. Thread-safe: called concurrently for different conversations.
  virtual BotReply OnCustomerTurn(const CustomerTurn& turn,
                                  const boost::json::value& state) const = 0;
  // Continues a dialog after an ExternalCall finished. Default: nothing to say.
  virtual BotReply OnCallResult(const CustomerTurn& turn, const CallOutcome& outcome,
                                const boost::json::value& state) const {
    (void)turn;
    (void)outcome;
    BotReply reply;
    reply.state = state;
    return reply;
  }
};

// Repeats each customer text as one text reply with the same lines; a postback is echoed as
// its payload. For channel testing, like Bot Framework's echo bot.
class EchoBot final : public Bot {
 public:
  BotReply OnCustomerTurn(const CustomerTurn& turn, const boost::json::value& state) const override;
};

struct BotInfo {
  std::string name;          // what a connection names ("echo", or a file's stem)
  std::string display_name;  // shown as the sender
  std::string source;        // "built-in" or the file path
  int64_t loaded_at_ms = 0;
};

// The bots known to the server, by name. Thread-safe; a reload swaps one entry, and callers
// holding the old shared_ptr finish with it.
class BotRegistry {
 public:
  // Lists `info.name` with `bot`; a retired name comes back to life.
  void Put(BotInfo info, std::shared_ptr<const Bot> bot);
  // The listed bot, else the stand-in of a retired one, else nullptr.
  std::shared_ptr<const Bot> Find(const std::string& name) const;
  // Whether the name is listed (a retired name is not): what a connection may name.
  bool Contains(const std::string& name) const;
  std::vector<BotInfo> List() const;
  // Takes a bot off the list (List and Contains no longer show it) and drops it; from now on
  // Find answers `stand_in`, so conversations the bot owned get an answer rather than silence.
  // Returns false, changing nothing, when no bot of that name is listed.
  bool Retire(const std::string& name, std::shared_ptr<const Bot> stand_in);

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::pair<BotInfo, std::shared_ptr<const Bot>>> bots_;
  std::map<std::string, std::shared_ptr<const Bot>> retired_;  // never also in bots_
};

}  // namespace parley::bot
