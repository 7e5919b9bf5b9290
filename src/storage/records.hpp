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
  // What the channel can show, the names joined with ',' (channel/capabilities.hpp); "" is
  // plain text only.
  std::string capabilities = "menu,carousel,link_button,typing_indicator";
  // Where its customers wait when it has no bot, or its bot hands over without naming a queue.
  std::string queue = "default";
};

// Where a conversation stands with the people: its queue, its agent, the offer ringing, and the
// timers kept as due times (so they survive a restart).
struct ConversationRouting {
  std::optional<std::string> queue;       // the queue it waits in, or came from
  std::optional<std::string> agent;       // the owning agent while active
  std::optional<int64_t> queued_at_ms;    // FIFO order within the queue
  std::optional<std::string> offered_to;  // the agent the offer rings for
  std::optional<int64_t> offer_expires_at_ms;
  std::optional<int64_t> assigned_at_ms;
  std::optional<std::string> transfer_note;
  bool idle_reminded = false;
  std::optional<int64_t> wait_sent_at_ms;  // the last wait_time event sent
  std::optional<int64_t> wait_position;
  std::optional<int64_t> wait_estimate_s;
  std::optional<std::string> ended_by;  // customer | agent | timeout
  std::string declined_by_json = "[]";  // agents who let the current offer ring out
  // The place in the queue: an ordered key (FIFO; a key below every other for the head).
  std::optional<int64_t> qkey;
  // When this waiting customer's wait_time is next looked at (none: only once the queue
  // changes), and the queue's version at the last look.
  std::optional<int64_t> wait_check_at_ms;
  int64_t wait_version = 0;
  bool operator==(const ConversationRouting&) const = default;
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
  // The last customer event; written lazily with the counters (see SqliteTx::UpdateConversation).
  int64_t last_customer_at_ms = 0;
  ConversationRouting routing;
};

struct EventRecord {
  std::string conversation_id;
  int64_t position = 0;
  std::string connection_id;
  // in | out | note: an agent's internal note, shown to agents and admins in the transcript
  // and never delivered (delivery reads only `out`); it has a position but no seq.
  std::string direction;
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

// A delivery lease taken by ClaimDeliveries (issue 15): the conversation, and the node whose
// lease had expired when this node took it (empty when it was free or this node's already).
struct LeaseClaim {
  std::string conversation_id;
  std::string taken_from;
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
  std::optional<std::string> queue;
  std::optional<std::string> agent;  // owned by this agent, or offered to them
  // History search: a case-insensitive part of the customer's id or name; created from/before.
  std::optional<std::string> customer;
  std::optional<int64_t> created_from_ms;
  std::optional<int64_t> created_before_ms;
  // History search: wrapped up with this code (a "wrap_up" entry of the transcript).
  std::optional<std::string> wrap_up;
  size_t limit = 100;
  std::optional<ListCursor> after;  // by (updated_at, id)
};

struct UserRecord {
  std::string username;  // 1-64 of [a-z0-9._-], unique
  std::string display_name;
  std::string role;  // admin | supervisor | agent
  std::vector<std::string> queues;
  int64_t max_chats = 3;
  bool enabled = true;
  std::string
      password_hash;  // Argon2id (crypto_pwhash_str); never leaves the store layer's callers
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;
};

// One line of the audit log (migration 0007). `detail` is JSON text; never a secret.
struct AuditRecord {
  int64_t id = 0;  // assigned by the store, increasing
  int64_t at_ms = 0;
  std::string actor;
  std::string role;
  std::string action;
  std::string target;
  std::string address;
  int64_t outcome = 0;
  std::string detail = "{}";
};

struct SessionRecord {
  std::string token_hash;  // hex SHA-256 of the token; the token itself is never stored
  std::string username;
  std::string csrf;
  int64_t created_at_ms = 0;
  int64_t last_used_at_ms = 0;
};

struct QueueRecord {
  std::string name;
  std::string display_name;
  bool auto_accept = false;
  std::optional<int64_t> max_wait_s;
  std::optional<std::string> closed_text;
  int64_t service_level_s = 60;       // answers within this count for the service level
  double service_level_target = 0.8;  // the service level aimed at (0-1): the wallboard's mark
  // Sent instead of the wait estimate while nobody of the queue is there; {position} is filled
  // in. None: routing's default.
  std::optional<std::string> no_agents_text;
  // Wrap-up: the codes an agent picks from when a chat of the queue ends (none: no codes),
  // whether ending needs one, and the seconds of after-chat work with no new offer after a chat.
  std::vector<std::string> wrap_up_codes;
  bool wrap_up_required = false;
  int64_t after_chat_work_s = 0;
  // The satisfaction survey after a chat with a person (issue 19), and the business hours as
  // their JSON text (routing/business_hours.hpp; none: always open).
  bool csat = false;
  std::optional<std::string> hours_json;
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;
};

// One routing decision, as the reports read it (migration 0012): appended in the transaction
// of the step that made it, never changed.
struct RoutingFact {
  int64_t at_ms = 0;
  std::string kind;  // offered | answered | abandoned | transferred | ended | csat
  std::string queue;
  std::optional<std::string> agent;
  std::string conversation_id;
  std::optional<int64_t> wait_ms;    // answered, abandoned
  std::optional<int64_t> handle_ms;  // transferred, ended
  std::optional<int64_t> value;      // answered, abandoned: service_level_s; csat: the score
};

// The satisfaction survey of one conversation (migration 0012).
struct CsatRecord {
  std::string conversation_id;
  std::string queue;
  std::optional<std::string> agent;
  std::string phase;  // asked | rated | done
  int64_t asked_at_ms = 0;
  std::optional<int64_t> score;
  std::optional<std::string> comment;
  std::optional<int64_t> answered_at_ms;
};

// A canned response: text an agent inserts in the composer with "/" + shortcut. Shared ones
// (owner empty) are managed by admins; each agent has their own too.
struct ResponseRecord {
  std::string id;
  std::string owner;     // empty: shared; else the username of the agent it belongs to
  std::string shortcut;  // 1-32 of [a-z0-9_-], unique per owner
  std::string title;
  std::string text;                 // may hold {customer_name} and {agent_name}
  std::vector<std::string> queues;  // shared ones: offered in these queues' chats; empty: all
  int64_t created_at_ms = 0;
  int64_t updated_at_ms = 0;
};

// A queue's routing state, kept as counters and ordered keys in the same transactions that
// change it (migration 0006), so that reading it costs the same at any depth.
struct QueueStats {
  std::string queue;
  int64_t waiting = 0;
  int64_t active = 0;
  int64_t version = 0;        // moves when waiting customers' positions or estimates may move
  int64_t armed_version = 0;  // the version whose parked wait checks were re-armed
  int64_t members = 0;        // enabled agents of the queue
  int64_t concurrency_sum = 0;
  int64_t signed_in = 0;
  int64_t available = 0;  // ready: available, signed in, with room
  int64_t handle_sum_ms = 0;
  int64_t handle_count = 0;  // samples taken ever; the last 100 are kept
  int64_t day = 0;           // UTC day of the *_today counters
  int64_t answered_today = 0;
  int64_t answered_in_sl_today = 0;
  int64_t abandoned_today = 0;
  int64_t answered_total = 0;
  int64_t abandoned_total = 0;
  int64_t offers_total = 0;
  int64_t offers_rung_out_total = 0;
  int64_t offers_declined_total = 0;
  // Today: the waits of the answered (for their average), and the handle times of chats ended.
  int64_t wait_sum_today_ms = 0;
  int64_t handle_sum_today_ms = 0;
  int64_t handle_count_today = 0;
  std::optional<int64_t> head_queued_at_ms;    // when the next customer began waiting
  std::optional<int64_t> oldest_queued_at_ms;  // the earliest any waiting customer began
};

// What a routing decision adds to a queue's counters.
struct QueueOutcome {
  int64_t day = 0;  // UTC day it happened
  int64_t answered = 0;
  int64_t answered_in_sl = 0;
  int64_t abandoned = 0;
  int64_t offers = 0;
  int64_t offers_rung_out = 0;
  int64_t offers_declined = 0;
  int64_t wait_ms = 0;  // the waits of the answered ones
  int64_t handled = 0;  // chats with an agent that ended, and their handle time
  int64_t handle_ms = 0;
};

struct PresenceRecord {
  std::string username;
  std::string status = "away";  // available | away
  int64_t streams = 0;          // open event streams
  bool online = false;          // false once offline_due_at passed with no stream
  std::optional<int64_t> offline_due_at_ms;
  int64_t last_assigned_at_ms = 0;
  int64_t updated_at_ms = 0;
  // While in after-chat work (status "after_chat"): when it ends and they are available again.
  std::optional<int64_t> ready_at_ms;
  std::optional<std::string> away_reason{};  // while away: one of the server's away_reasons
  // Since when the status shown (offline when not online) and its reason hold, and that pair as
  // "status/reason": the open row of agent_status_periods (routing keeps them together).
  int64_t status_since_ms = 0;
  std::string status_period{};
  // Today (UTC day `day`): chats taken, and the handle times of those that ended.
  int64_t day = 0;
  int64_t chats_today = 0;
  int64_t handle_sum_today_ms = 0;
  int64_t handle_count_today = 0;
  // Kept by the store from the conversations (read only: PutPresence does not write them).
  int64_t chats = 0;   // active conversations
  int64_t offers = 0;  // offers ringing
};

// A stretch of time an agent spent in one status (available, away, after_chat, offline) with
// one away reason (migration 0011). ended_at is empty while it lasts.
struct StatusPeriodRecord {
  std::string username;
  std::string status;
  std::optional<std::string> reason;
  int64_t started_at_ms = 0;
  std::optional<int64_t> ended_at_ms;
};

// A supervisor monitoring a conversation ("monitor") or joined to it ("join").
struct WatcherRecord {
  std::string conversation_id;
  std::string username;
  std::string mode;
  int64_t started_at_ms = 0;
};

// One frame of a user's live event stream, as kept for replay.
struct AgentEventRecord {
  std::string username;
  int64_t seq = 0;
  std::string type;
  std::string body_json;
  int64_t created_at_ms = 0;
};

}  // namespace parley::storage
