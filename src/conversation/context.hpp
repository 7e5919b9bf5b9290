#pragma once
// What an agent sees beside a transcript (issue 16, "customer context"): who the customer is,
// the channel, the queue and the wait so far, why the bot handed them over, what the bot
// collected, and the customer's earlier conversations on the same connection. Pure: the caller
// reads the records; nothing here touches the store.

#include <boost/json/object.hpp>
#include <optional>
#include <string>
#include <vector>

#include "storage/records.hpp"

namespace parley::conversation {

struct ContextInput {
  storage::ConversationRecord conversation;
  std::vector<storage::EventRecord> transcript;
  std::optional<storage::ConnectionRecord> connection;  // none: deleted
  // Other conversations of the connection whose customer matched (any state); those of
  // another customer_id or the conversation itself are left out here.
  std::vector<storage::ConversationRecord> others;
  int64_t now_ms = 0;
};

// {"customer":{"id","name"},"connection":{"id","name","bot"},"queue","waited_s","handover":
// {"reason","intent"?,"text"?},"collected":{"slots","context"},"previous":[…]}: docs/api.md,
// "Customer context". At most kMaxPrevious previous conversations, newest first.
boost::json::object CustomerContext(const ContextInput& in);

inline constexpr size_t kMaxPrevious = 20;

}  // namespace parley::conversation
