#pragma once
// Queues, agents' presence, assignment and the timers of conversations with people. Every
// function runs inside a store job (on the writer, for the ones that change anything), so a
// decision — who gets a conversation, whether an agent has room — is made in the same
// transaction that records it: two agents never get the same conversation and an agent never
// passes max_chats, whatever else runs at the same time. What a step causes after its commit
// (webhook deliveries, live events) is collected in Effects.
//
// Functions that change a conversation take its id and read it fresh; they never hand back a
// copy that a later step could write over.

#include <boost/json/object.hpp>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "channel/outbound.hpp"
#include "core/result.hpp"
#include "core/time_zone.hpp"
#include "routing/business_hours.hpp"
#include "routing/events.hpp"
#include "storage/store.hpp"

namespace parley::routing {

// What the customer is told; {display_name} and {target} are filled in.
struct Texts {
  std::string assigned_text = "You are now chatting with {display_name}.";
  std::string transfer_text = "Transferring you to {target}.";
  std::string requeue_text = "Your agent had to leave; the next available agent will join you.";
  std::string released_text = "You are back with the assistant.";
  std::string idle_reminder_text = "Are you still there? This chat will close soon.";
  std::string idle_end_text = "This chat was closed because it was inactive.";
  std::string closed_text = "All our agents are busy; please try again later.";
  // Instead of the wait estimate while nobody of the queue is there; {position} is filled in.
  std::string no_agents_text =
      "All our agents are busy right now. You are number {position} in the queue.";
  // The satisfaction survey (survey.cpp): the menu's title, the answer to a rating, the answer
  // to a comment.
  std::string csat_title = "How did we do?";
  std::string csat_comment_text =
      "Thank you! If you like, tell us in one line what we could do better.";
  std::string csat_thanks_text = "Thank you for your feedback.";
  // Added to closed_text outside business hours when it has no {opens_at} of its own.
  std::string opens_at_text = "We open again on {opens_at}.";
};

struct Settings {
  int64_t offer_timeout_ms = 30'000;
  int64_t agent_offline_after_ms = 120'000;
  int64_t customer_idle_reminder_ms = 600'000;
  int64_t customer_idle_end_ms = 900'000;
  int64_t default_handle_s = 300;
  int64_t wait_time_interval_ms = 10'000;
  // Several nodes on one database: how long a node's streams count after its last sweep (its
  // lease, renewed each sweep); the effective delivery lease.
  int64_t node_lease_ms = 30'000;
  Texts texts;
  // What an agent may give as the reason of being away (`away_reasons`).
  std::vector<std::string> away_reasons = {"break", "lunch", "training", "meeting"};
};

// The status an agent shows: "offline" unless online, else their presence's status.
std::string ShownStatus(const storage::PresenceRecord& p);
// Writes `p` (its away reason cleared unless away). When the status shown or the away reason
// changed since the open status period began, ends that period and opens one from `now`
// (agent_status_periods, migration 0011) and sets status_since. Every presence write of routing
// goes through it (presence.cpp).
Result<void> SavePresence(storage::Tx& tx, storage::PresenceRecord& p, int64_t now);
// Adds to `p`'s figures of today (started afresh on a new UTC day): `chats` taken, and a chat's
// handle time when one ended.
void AddAgentToday(storage::PresenceRecord& p, int64_t now, int64_t chats,
                   std::optional<int64_t> handle_ms);
// AddAgentToday on the agent's stored presence.
Result<void> CountAgentToday(storage::Tx& tx, const std::string& username, int64_t now,
                             int64_t chats, std::optional<int64_t> handle_ms);

// How routing speaks to a customer: appends an outbound event to the conversation's transcript
// and outbox (advancing `conv`'s counters; the caller saves `conv`), adds it to fx.outbound,
// and tells the owning agent (conversation.message) for system and agent messages.
class Speaker {
 public:
  virtual ~Speaker() = default;
  virtual Result<storage::EventRecord> Say(storage::Tx& tx, storage::ConversationRecord& conv,
                                           channel::OutboundBody body, channel::Sender from,
                                           std::optional<std::string> csr_name, int64_t now,
                                           Effects& fx) = 0;
};

// A queue as routing sees it: computed from the queue's counters (storage::QueueStats), never
// from lists, so it costs the same at any depth.
struct QueueView {
  storage::QueueRecord queue;
  int64_t waiting = 0;
  int64_t oldest_wait_s = 0;   // how long the customer at the head has waited
  int64_t longest_wait_s = 0;  // the longest any waiting customer has waited
  int64_t active = 0;
  int64_t agents_available = 0;  // available, signed in, with room for one more chat
  int64_t agents_signed_in = 0;
  int64_t estimated_wait_s = 0;  // for a customer joining now
  bool accepting = true;         // false: max_wait_s is set and would be passed, or nobody is in
  // Nobody of the queue is there for a customer: none signed in, or none available with room and
  // none chatting from it (all away). Customers are told no_agents_text then, not an estimate.
  bool nobody_there = false;
  double average_handle_s = 0;
  double average_concurrency = 1;
  // Today (UTC): answers (assignments from the queue), those within service_level_s, and
  // customers who left or were ended while waiting. service_level: answered within
  // service_level_s / (answered + abandoned), none before the first.
  int64_t answered_today = 0;
  int64_t answered_in_sl_today = 0;
  int64_t abandoned_today = 0;
  std::optional<double> service_level;
  // Today: the mean wait of the answered, and the mean handle time of chats that ended.
  std::optional<double> average_wait_today_s;
  std::optional<double> average_handle_today_s;
  // Since the queue began (for /metrics counters).
  int64_t answered_total = 0;
  int64_t abandoned_total = 0;
  int64_t offers_total = 0;
  int64_t offers_rung_out_total = 0;
  int64_t offers_declined_total = 0;
  int64_t version = 0;
  // Business hours (queue_hours.cpp): open now, and when closed the next opening.
  bool open = true;
  std::optional<int64_t> opens_at_ms;
  // Ratings of the survey today (UTC day).
  int64_t csat_today_count = 0;
  int64_t csat_today_sum = 0;
};

struct AgentView {
  storage::UserRecord user;
  storage::PresenceRecord presence;
  std::string status;  // available | away | offline
  int64_t chats = 0;   // active conversations
  int64_t offers = 0;  // offers ringing
};

// The wallboard's floor (floor.cpp): each queue with its agents counted by FloorStatus, and each
// agent with their active chats and figures of today.
struct FloorQueue {
  QueueView view;
  std::map<std::string, int64_t> agents;  // by FloorStatus
};
struct FloorAgent {
  AgentView agent;
  std::string floor_status;
  int64_t chats_today = 0;
  std::optional<double> average_handle_today_s;
  std::vector<storage::ConversationRecord> conversations;  // active ones
};
struct FloorView {
  int64_t now_ms = 0;
  std::map<std::string, int64_t> conversations;  // per state
  std::vector<FloorQueue> queues;
  std::vector<FloorAgent> agents;
};
// An agent as the wallboard counts them: offline, away, busy (after-chat work, or no room for
// another chat) or available (with room).
std::string FloorStatus(const AgentView& a);

struct TransferTarget {
  std::optional<std::string> queue;
  std::optional<std::string> agent;
  std::optional<std::string> note;
};

// What an agent says of a chat as it ends (wrap_up.cpp): a code of the queue's wrap_up_codes and
// a note, each optional unless the queue requires a code.
struct WrapUp {
  std::optional<std::string> code;
  std::optional<std::string> note;
  bool empty() const { return !code && !note; }
};

// The user who acts, as the caller authenticated.
struct Actor {
  std::string username;
  std::string display_name;
  std::vector<std::string> queues;
  int64_t max_chats = 3;
};

class Routing {
 public:
  Routing(Settings settings, Speaker& speaker)
      : settings_(std::move(settings)), speaker_(speaker) {}
  const Settings& settings() const { return settings_; }

  // Reading (any Tx).
  Result<std::vector<QueueView>> Queues(storage::Tx& tx, int64_t now) const;
  Result<QueueView> Queue(storage::Tx& tx, const std::string& name, int64_t now) const;
  // The view a routing step needs: counts, agents, estimate, version. Not the waits
  // (oldest_wait_s, longest_wait_s), the hours or the CSAT, which only a page shows.
  Result<QueueView> QueueCounts(storage::Tx& tx, const std::string& name, int64_t now) const;
  Result<std::vector<AgentView>> Agents(storage::Tx& tx) const;
  Result<AgentView> Agent(storage::Tx& tx, const std::string& username) const;
  // The position (1 = next) and estimate of a queued conversation.
  Result<std::pair<int64_t, int64_t>> WaitFor(storage::Tx& tx, const storage::ConversationRecord& c,
                                              int64_t now) const;
  Result<std::pair<int64_t, int64_t>> WaitFor(storage::Tx& tx, const storage::ConversationRecord& c,
                                              const QueueView& view) const;
  // The position and estimate of a customer with `ahead` waiting before them.
  static std::pair<int64_t, int64_t> WaitWith(const QueueView& view, int64_t ahead);
  // The UTC day of `now` (ms), as the *_today counters count.
  static int64_t Day(int64_t now);

  // Queues (admin). Create fails with 409 queue_exists; Delete with 409 queue_not_empty.
  static Result<storage::QueueRecord> DecodeQueue(const boost::json::value& body, bool create);
  Result<storage::QueueRecord> CreateQueue(storage::Tx& tx, storage::QueueRecord q, int64_t now);
  Result<storage::QueueRecord> UpdateQueue(storage::Tx& tx, const std::string& name,
                                           const boost::json::value& patch, int64_t now,
                                           Effects& fx);
  Result<void> DeleteQueue(storage::Tx& tx, const std::string& name);
  // Creates the queue when it does not exist (with a log line). True when it was created.
  Result<bool> EnsureQueue(storage::Tx& tx, const std::string& name,
                           const std::string& display_name, int64_t now);

  // A bot handed conversation `id` to `queue`. When the queue has max_wait_s and does not accept
  // now, the customer is told so and stays with the bot (returns false).
  Result<bool> Escalate(storage::Tx& tx, const std::string& id, const std::string& queue,
                        int64_t now, Effects& fx);
  // The same for a conversation not written yet (a new customer whose first message goes to a
  // person): it is written here, once, already waiting (or with the bot when turned away).
  Result<bool> EscalateNew(storage::Tx& tx, storage::ConversationRecord& fresh,
                           const std::string& queue, int64_t now, Effects& fx);
  // Puts conversation `id` in `queue` (at the back, or at the head when an agent was lost),
  // sends the first wait_time and offers what can be offered.
  Result<void> Enqueue(storage::Tx& tx, const std::string& id, const std::string& queue,
                       int64_t now, Effects& fx, bool at_head = false);
  // Offers (or, on auto_accept queues, assigns) waiting conversations of `queue`, oldest first,
  // each to the available agent of the queue with room who was assigned least recently.
  Result<void> OfferWaiting(storage::Tx& tx, const std::string& queue, int64_t now, Effects& fx);

  // The agent lets an offer ringing for them pass (decline.cpp): it moves on at once to the next
  // agent, the decliner stays available and is offered it again only when nobody else can take
  // it and offer_timeout has passed since. 409 not_offered when no offer of it rings for them.
  Result<storage::ConversationRecord> Decline(storage::Tx& tx, const std::string& id,
                                              const Actor& actor,
                                              const std::optional<std::string>& reason, int64_t now,
                                              Effects& fx);
  // The offers ringing for `username`, oldest first.
  Result<std::vector<storage::ConversationRecord>> Offers(storage::Tx& tx,
                                                          const std::string& username) const;
  // The agents of `queue` (404 queue_not_found): one look per member.
  Result<std::vector<AgentView>> QueueAgents(storage::Tx& tx, const std::string& queue) const;
  // An entry of the transcript for agents and admins only (direction "note", from "system"):
  // advances `conv`'s position; the caller saves `conv`.
  static Result<void> SystemNote(storage::Tx& tx, storage::ConversationRecord& conv,
                                 const std::string& text, int64_t now);

  // An agent takes a conversation: its offer, or (pull) any waiting one of their queues.
  Result<storage::ConversationRecord> Accept(storage::Tx& tx, const std::string& id,
                                             const Actor& actor, int64_t now, Effects& fx);
  // The conversation, when `actor` owns it: 404, 403 forbidden, 409 conversation_ended.
  Result<storage::ConversationRecord> Owned(storage::Tx& tx, const std::string& id,
                                            const Actor& actor) const;
  Result<storage::ConversationRecord> Transfer(storage::Tx& tx, const std::string& id,
                                               const Actor& actor, const TransferTarget& to,
                                               int64_t now, Effects& fx);
  Result<storage::ConversationRecord> Release(storage::Tx& tx, const std::string& id,
                                              const Actor& actor, int64_t now, Effects& fx);
  Result<storage::ConversationRecord> End(storage::Tx& tx, const std::string& id,
                                          const Actor& actor, int64_t now, Effects& fx);
  // End with a wrap-up (400 wrap_up_required / invalid_wrap_up against the queue's codes). On a
  // conversation the customer ended, its last agent may still wrap it up within
  // kWrapUpWindowMs of the end (403 forbidden, 409 wrap_up_closed, 409 already_wrapped_up).
  // The wrap-up is a transcript entry (direction "note", type "wrap_up"); the queue's
  // after_chat_work_s then starts.
  Result<storage::ConversationRecord> End(storage::Tx& tx, const std::string& id,
                                          const Actor& actor, const WrapUp& wrap, int64_t now,
                                          Effects& fx);
  static constexpr int64_t kWrapUpWindowMs = 10 * 60 * 1000;

  // Presence.
  // `reason`: with away only, one of settings().away_reasons (400 invalid_reason).
  Result<AgentView> SetStatus(storage::Tx& tx, const std::string& username,
                              const std::string& status, int64_t now, Effects& fx,
                              const std::optional<std::string>& reason = std::nullopt);
  // 400 invalid_reason unless `reason` is absent, or given with away and in away_reasons.
  Result<void> CheckAwayReason(const std::string& status,
                               const std::optional<std::string>& reason) const;
  Result<void> StreamOpened(storage::Tx& tx, const std::string& username, int64_t now, Effects& fx);
  Result<void> StreamClosed(storage::Tx& tx, const std::string& username, int64_t now);
  // At start-up: no stream of this node is open any more (other nodes' streams still count);
  // agents left with none get agent_offline_after to come back before they count as offline.
  Result<void> ResetStreams(storage::Tx& tx, int64_t now);
  // Renews this node's lease and forgets the streams of nodes whose lease expired (the sweep
  // does this first; a store of one node has neither). True: more dead nodes' users are left.
  Result<bool> SweepNodes(storage::Tx& tx, int64_t now);
  // The user was deleted (call it in the same job, after the user row is gone): their active
  // chats go back to the head of their queues (the customer told, as when an agent goes
  // offline), their ringing offers move on, and their presence is cleared (user_removed.cpp).
  Result<void> UserRemoved(storage::Tx& tx, const std::string& username, int64_t now, Effects& fx);

  // Supervisors (supervision.cpp); `actor` is the supervisor. Each action is written to the
  // transcript as a system note. Watch: monitor (its events reach the actor's stream, see Emit)
  // or join (the actor may also write to the customer; 409 not_active unless with an agent);
  // 409 conversation_ended, already_yours. Unwatch ends either (409 not_monitoring).
  Result<storage::ConversationRecord> Watch(storage::Tx& tx, const std::string& id,
                                            const Actor& actor, bool join, int64_t now,
                                            Effects& fx);
  Result<storage::ConversationRecord> Unwatch(storage::Tx& tx, const std::string& id,
                                              const Actor& actor, int64_t now, Effects& fx);
  // The conversation when `actor` may write to its customer: they own it, or joined it.
  Result<storage::ConversationRecord> Speaking(storage::Tx& tx, const std::string& id,
                                               const Actor& actor) const;
  // Transfer of any active or waiting chat: to the actor themselves (take over, at once), or to
  // another agent or a queue (reassign) as the owner's transfer would.
  Result<storage::ConversationRecord> TransferAny(storage::Tx& tx, const std::string& id,
                                                  const Actor& actor, const TransferTarget& to,
                                                  int64_t now, Effects& fx);
  // Sets another agent's status (404 agent_not_found).
  Result<AgentView> ForceStatus(storage::Tx& tx, const std::string& username, const Actor& actor,
                                const std::string& status, const std::optional<std::string>& reason,
                                int64_t now, Effects& fx);
  // Signs an agent out: offline at once (their chats back to the head of their queues), every
  // session ended (the caller closes their streams after the commit).
  Result<AgentView> SignOut(storage::Tx& tx, const std::string& username, const Actor& actor,
                            int64_t now, Effects& fx);

  // The customer side of a conversation with a person.
  Result<void> CustomerMessage(storage::Tx& tx, const storage::ConversationRecord& conv,
                               const storage::EventRecord& entry, int64_t now, Effects& fx);
  Result<void> CustomerTyping(storage::Tx& tx, const storage::ConversationRecord& conv, int64_t now,
                              Effects& fx);
  // The customer's message to a conversation in its satisfaction survey (owner kSurveyOwner;
  // survey.cpp): a rating (postback csat:1 … csat:5, or the digit), then one line of comment.
  // Anything else closes the survey unanswered.
  Result<void> SurveyAnswer(storage::Tx& tx, const std::string& id,
                            const std::vector<std::string>& text,
                            const std::optional<std::string>& postback, int64_t now, Effects& fx);
  // The owner of a conversation in its survey (state "bot", the agent gone, no bot running).
  static constexpr const char* kSurveyOwner = "survey";
  // Called with the conversation as it was before it ended (`by` customer).
  Result<void> ConversationEnded(storage::Tx& tx, const storage::ConversationRecord& before,
                                 const std::string& by, int64_t now, Effects& fx);

  // The timers: offers that rang out, agents gone offline, idle customers, wait-time updates,
  // and old events. Runs every second or so. Each part does at most kSweepBatch items, so one
  // sweep job holds the writer a few milliseconds; true when a part stopped at that bound (more
  // is due: the caller sweeps again at once, in a job of its own, so the jobs queued meanwhile
  // — an agent's accept — are not held behind a thousand wait-time looks).
  Result<bool> Sweep(storage::Tx& tx, int64_t now, Effects& fx);
  // Bounds of each part of one sweep job, so that the writer is never held long (a wait-time
  // look with its update is 0.1–0.3 ms of the writer; 1,000 of them in one job held every
  // accept of its group commit for 140–300 ms); what is left is done by the next job at once.
  static constexpr size_t kSweepBatch = 64;
  // queue.updated for the queues in fx.queues_changed: a round starts at most once a second
  // per queue (later changes wait for the next round; the sweep starts it), and tells the
  // queue's members and the admins the view of its start, at most kQueueUpdateSlice of them in
  // one job: every job that changes queues calls it last and goes on with a round in progress,
  // so a queue of 1,000 members never holds one job (and the accepts committed with it) for the
  // whole round. True when a round still has users to tell (the sweep's next slice follows).
  Result<bool> FlushQueueUpdates(storage::Tx& tx, int64_t now, Effects& fx);
  // queue.updated events one job writes at most.
  static constexpr size_t kQueueUpdateSlice = 64;

  // The hours of `q` and where it stands at `now` (none: always open, or hours that no longer
  // load, e.g. a zone removed from the system, which are logged and taken as always open).
  struct QueueHours {
    BusinessHours hours;
    std::shared_ptr<const TimeZone> zone;
    Openness at;
  };
  std::optional<QueueHours> HoursOf(const storage::QueueRecord& q, int64_t now) const;
  // Checks a queue's `hours` value (null or the object of docs/api.md): the canonical JSON text,
  // or none for null; 400 invalid_hours.
  Result<std::optional<std::string>> CheckHours(const boost::json::value& v) const;
  const TimeZones& zones() const { return zones_; }

  // The floor for GET /api/v1/overview (floor.cpp).
  Result<FloorView> Floor(storage::Tx& tx, int64_t now) const;
  static boost::json::object ToJson(const FloorView& f);
  static boost::json::object ToJson(const QueueView& q);
  static boost::json::object ToJson(const AgentView& a);

 private:
  // Escalate's work on a conversation read (`written`) or not written yet: turned away by a
  // closed or full queue, or queued.
  Result<bool> Route(storage::Tx& tx, storage::ConversationRecord& c, const std::string& queue,
                     int64_t now, Effects& fx, bool written);
  // Puts `c` in `queue` (EnsureQueue done), tells it its wait, saves it (an update when
  // `written`, else its insert), records the fact and offers what can be offered.
  Result<void> Queued(storage::Tx& tx, storage::ConversationRecord& c, const std::string& queue,
                      int64_t now, Effects& fx, bool at_head, bool written);
  // Sets `p`'s streams to the user's streams on every node; none left: offline after
  // agent_offline_after, as when their last stream closes.
  Result<void> Recount(storage::Tx& tx, storage::PresenceRecord p, int64_t now);
  // The agent who gets `c` next (available, in the queue, with room, idle longest; one who let
  // it ring out or declined it only when nobody else can, a decliner not before offer_timeout
  // has passed since), or none.
  Result<std::optional<std::string>> PickAgent(storage::Tx& tx, const std::string& queue,
                                               const storage::ConversationRecord& c,
                                               int64_t now) const;
  // Tells a waiting customer their place: the wait_time event, or the queue's no_agents_text
  // while nobody of it is there (recorded as estimate kNoAgentsSent); the caller saves `c`.
  Result<void> TellWait(storage::Tx& tx, storage::ConversationRecord& c, const QueueView& view,
                        int64_t position, int64_t estimate, int64_t now, Effects& fx);
  // After-chat work (wrap_up.cpp): an available agent who finished a chat of a queue with
  // after_chat_work_s gets no offer until it passes (status "after_chat", ready_at) or they
  // set themselves available; AfterChatOver ends the ones that passed (from the sweep).
  Result<void> StartAfterChatWork(storage::Tx& tx, const std::string& agent,
                                  const std::optional<std::string>& queue, int64_t now,
                                  Effects& fx);
  // True when it stopped at kSweepBatch (more may be due).
  Result<bool> AfterChatOver(storage::Tx& tx, int64_t now, Effects& fx);
  // 400 wrap_up_required / invalid_wrap_up / invalid_note for a wrap-up of `c`'s queue.
  Result<void> CheckWrapUp(storage::Tx& tx, const storage::ConversationRecord& c,
                           const WrapUp& wrap) const;
  // The wrap-up entry of the transcript; advances `c`'s position (the caller saves `c`).
  static Result<void> RecordWrapUp(storage::Tx& tx, storage::ConversationRecord& c,
                                   const Actor& actor, const WrapUp& wrap, int64_t now);
  // A wrap-up of a conversation that has ended already (true: recorded); false when it has not
  // ended (the caller ends it).
  Result<bool> WrapUpEnded(storage::Tx& tx, const std::string& id, const Actor& actor,
                           const WrapUp& wrap, int64_t now);
  // The queue's outcome counters and handle-time ring.
  Result<void> CountAnswered(storage::Tx& tx, const storage::ConversationRecord& c,
                             const std::string& agent, int64_t now);
  // What a customer who asks for a person is told when `q` is closed (hours) or refuses
  // (max_wait_s): its closed_text, with the next opening when outside hours.
  std::string ClosedText(const storage::QueueRecord& q, int64_t now) const;
  Result<void> CountEnded(storage::Tx& tx, const storage::ConversationRecord& before, int64_t now);
  Result<void> Assign(storage::Tx& tx, storage::ConversationRecord c, const std::string& agent,
                      int64_t now, Effects& fx);
  Result<void> EmitConversation(storage::Tx& tx, const std::string& agent, const std::string& type,
                                const storage::ConversationRecord& c, boost::json::object extra,
                                int64_t now, Effects& fx);
  Result<void> EmitStatus(storage::Tx& tx, const std::string& username, int64_t now, Effects& fx);
  Result<void> AgentGone(storage::Tx& tx, const std::string& username, int64_t now, Effects& fx);
  // The sweep's parts; each true when it stopped at kSweepBatch (more may be due).
  Result<bool> IdleTimers(storage::Tx& tx, int64_t now, Effects& fx);
  Result<bool> WaitUpdates(storage::Tx& tx, int64_t now, Effects& fx);
  Result<void> SayText(storage::Tx& tx, storage::ConversationRecord& c, const std::string& text,
                       int64_t now, Effects& fx);
  // A system note of a supervisor's action (saves `c`), told to the chat's agent live.
  Result<void> ActionNote(storage::Tx& tx, storage::ConversationRecord& c, const std::string& text,
                          int64_t now, Effects& fx);

  // Routing facts for the reports (facts.cpp): appended in the step's transaction.
  static Result<void> RecordFact(storage::Tx& tx, const std::string& kind, const std::string& queue,
                                 const std::optional<std::string>& agent,
                                 const std::string& conversation_id, int64_t now,
                                 std::optional<int64_t> wait_ms = std::nullopt,
                                 std::optional<int64_t> handle_ms = std::nullopt,
                                 std::optional<int64_t> value = std::nullopt);
  // The survey (survey.cpp): true when `c`'s queue asks for one.
  Result<bool> SurveyWanted(storage::Tx& tx, const storage::ConversationRecord& c) const;
  // Sends the rating menu and hands `c` to kSurveyOwner (the caller saves `c`).
  Result<void> StartSurvey(storage::Tx& tx, storage::ConversationRecord& c, int64_t now,
                           Effects& fx);
  // Ends a conversation in its survey: csr_end_session, state ended; saves it.
  Result<void> CloseSurvey(storage::Tx& tx, storage::ConversationRecord& c, int64_t now,
                           Effects& fx);
  // Fills open/opens_at and csat_today of a view (queue_hours.cpp).
  Result<void> Decorate(storage::Tx& tx, QueueView& v, int64_t now) const;

  static constexpr int64_t kQueueUpdateEveryMs = 1000;
  // wait_estimate_s of a customer last told no_agents_text rather than an estimate.
  static constexpr int64_t kNoAgentsSent = -1;
  // Offers one OfferWaiting makes at most (each takes an agent's room, so the agents' room
  // bounds it first).
  static constexpr size_t kOfferTurns = 1000;

  Settings settings_;
  Speaker& speaker_;
  TimeZones zones_;  // thread-safe: read by views on the reader thread too
  // Used by write jobs only, so on the writer thread only.
  // A queue.updated round in progress: the view as it started, and who is still to be told.
  // A slice whose job rolls back is not written again; the queue's next round tells them.
  struct QueueRound {
    boost::json::object queue;
    std::vector<std::string> to;
    size_t next = 0;
  };
  std::map<std::string, int64_t> queue_updated_at_;  // when each queue's last round started
  std::set<std::string> queue_updates_due_;          // changed since, waiting for a round
  std::map<std::string, QueueRound> queue_rounds_;   // rounds in progress
};

}  // namespace parley::routing
