#pragma once
// Plain records the Store reads and writes. No behaviour; the domain layers own the rules.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace parley::storage {

struct ConnectionRecord {
  std::string id;
  std::string name;
  std::string client_webhook;
  std::string bot;
  bool enabled = true;
  std::string secret;  // plain text in memory; the store seals it at rest
  std::optional<std::string> previous_secret;
  std::optional<int64_t> previous_secret_valid_until_ms;
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;
};

struct ConversationRecord {
  std::string id;
  std::string connection_id;
  std::string customer_id;
  std::optional<std::string> customer_name;
  std::string state;  // bot | queued | active | ended
  std::string owner;  // bot | queue:<name> | agent:<user>
  std::string context_json = "{}";
  std::optional<std::string> dialog_state_json;
  int64_t last_in_seq = 0;
  int64_t last_out_seq = 0;
  int64_t last_position = 0;
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;
  std::optional<int64_t> ended_at_ms;
};

struct EventRecord {
  std::string conversation_id;
  int64_t position = 0;
  std::string connection_id;
  std::string direction;  // in | out
  int64_t seq = 0;
  std::string sender;  // customer | bot | csr | system
  std::optional<std::string> csr_name;
  std::string type;
  std::optional<std::string> event_id;
  std::optional<std::string> message_id;
  std::string payload_json;
  int64_t created_at_ms = 0;
  std::optional<std::string> delivery_status;  // pending | delivered | dead
  int64_t attempts = 0;
  std::optional<int64_t> next_attempt_at_ms;
  std::optional<std::string> last_error;
  std::optional<int64_t> delivered_at_ms;
  // Outbound: where the retry window starts when a replay restarted it (else created_at).
  std::optional<int64_t> retry_from_ms;
};

// An outbound event with what delivery needs: the conversation's customer id.
struct DeliveryRecord {
  EventRecord event;
  std::string customer_id;
};

// Where a page of a list starts: after the item with this sort time and id (lists run from
// the newest time down, ties broken by id, also descending). Keys rather than offsets, so
// items added while a client pages do not shift the pages.
struct ListCursor {
  int64_t at_ms = 0;
  std::string id;
};

struct DeliveryFilter {
  std::string connection_id;
  std::optional<std::string> status;  // pending | failed | dead | delivered; none = all
  size_t limit = 100;
  std::optional<ListCursor> after;  // by (created_at, event_id)
};

struct ConversationFilter {
  std::optional<std::string> state;
  std::optional<std::string> connection_id;
  size_t limit = 100;
  std::optional<ListCursor> after;  // by (updated_at, id)
};

}  // namespace parley::storage
