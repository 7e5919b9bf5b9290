// Presence (available, away, offline) and the timers: offers that ring out, agents who went
// offline, idle customers, wait-time updates and old events. Every timer is a due time in the
// store, so a restart keeps them.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cstdlib>
#include <map>

#include "routing/routing.hpp"
#include "routing/wait_time.hpp"
#include "storage/records_json.hpp"

namespace parley::routing {
namespace json = boost::json;
using storage::ConversationRecord;
using storage::PresenceRecord;
using storage::Tx;

namespace {

constexpr int64_t kWaitMoveS = 30;  // an estimate that moves this much is sent again

Result<PresenceRecord> LoadPresence(Tx& tx, const std::string& username) {
  auto p = tx.GetPresence(username);
  if (!p) return Fail(p.error());
  PresenceRecord out = p->value_or(PresenceRecord{});
  out.username = username;
  return out;
}

}  // namespace

Result<AgentView> Routing::SetStatus(Tx& tx, const std::string& username, const std::string& status,
                                     int64_t now, Effects& fx,
                                     const std::optional<std::string>& reason) {
  if (status != "available" && status != "away")
    return Fail(Errc::kInvalidArgument, "invalid_status", "status must be available or away.");
  auto checked = CheckAwayReason(status, reason);
  if (!checked) return Fail(checked.error());
  auto p = LoadPresence(tx, username);
  if (!p) return Fail(p.error());
  p->status = status;
  p->away_reason = reason;
  p->ready_at_ms.reset();  // "Ready" ends after-chat work; "away" too
  p->updated_at_ms = now;
  auto put = SavePresence(tx, *p, now);
  if (!put) return Fail(put.error());
  auto sent = EmitStatus(tx, username, now, fx);
  if (!sent) return Fail(sent.error());
  auto view = Agent(tx, username);
  if (!view) return Fail(view.error());
  if (status == "available")
    for (const auto& q : view->user.queues) {
      auto offered = OfferWaiting(tx, q, now, fx);
      if (!offered) return Fail(offered.error());
    }
  return Agent(tx, username);
}

Result<void> Routing::StreamOpened(Tx& tx, const std::string& username, int64_t now, Effects& fx) {
  // Counted per node first (on a shared store this locks the user's count, so the presence read
  // next holds what another node committed before).
  auto streams = tx.AddNodeStreams(username, 1);
  if (!streams) return Fail(streams.error());
  auto p = LoadPresence(tx, username);
  if (!p) return Fail(p.error());
  bool was_online = p->online;
  p->streams = *streams;
  p->online = true;
  p->offline_due_at_ms.reset();
  p->updated_at_ms = now;
  auto put = SavePresence(tx, *p, now);
  if (!put) return Fail(put.error());
  if (was_online) return {};
  auto sent = EmitStatus(tx, username, now, fx);
  if (!sent) return Fail(sent.error());
  if (p->status != "available") return {};
  auto user = tx.GetUser(username);
  if (!user) return Fail(user.error());
  if (*user)
    for (const auto& q : (*user)->queues) {
      auto offered = OfferWaiting(tx, q, now, fx);
      if (!offered) return Fail(offered.error());
    }
  return {};
}

Result<void> Routing::StreamClosed(Tx& tx, const std::string& username, int64_t now) {
  auto streams = tx.AddNodeStreams(username, -1);
  if (!streams) return Fail(streams.error());
  auto p = LoadPresence(tx, username);
  if (!p) return Fail(p.error());
  p->streams = *streams;  // on every node
  if (p->streams == 0) p->offline_due_at_ms = now + settings_.agent_offline_after_ms;
  p->updated_at_ms = now;
  return SavePresence(tx, *p, now);
}

Result<void> Routing::ResetStreams(Tx& tx, int64_t now) {
  // This node's streams ended with its last run; other nodes' streams still count (a store of
  // one node forgets every stream, as it always did).
  auto cleared = tx.ClearNodeStreams();
  if (!cleared) return Fail(cleared.error());
  auto renewed = tx.RenewNode(now + settings_.node_lease_ms);
  if (!renewed) return Fail(renewed.error());
  auto all = tx.ListPresence();
  if (!all) return Fail(all.error());
  for (auto& p : *all) {
    if (p.streams == 0) continue;
    auto recounted = Recount(tx, std::move(p), now);
    if (!recounted) return Fail(recounted.error());
  }
  return {};
}

Result<void> Routing::Recount(Tx& tx, PresenceRecord p, int64_t now) {
  auto streams = tx.UserStreams(p.username);
  if (!streams) return Fail(streams.error());
  if (*streams == p.streams) return {};
  p.streams = *streams;
  // None left: offline after agent_offline_after_s, as when their last stream closes.
  if (p.streams == 0) p.offline_due_at_ms = now + settings_.agent_offline_after_ms;
  p.updated_at_ms = now;
  return SavePresence(tx, p, now);
}

Result<bool> Routing::SweepNodes(Tx& tx, int64_t now) {
  // This node's lease, renewed each sweep: its streams count while it holds one.
  auto renewed = tx.RenewNode(now + settings_.node_lease_ms);
  if (!renewed) return Fail(renewed.error());
  // The streams of nodes whose lease ran out (killed) no longer count.
  auto users = tx.ReapDeadNodes(now, kSweepBatch);
  if (!users) return Fail(users.error());
  for (const auto& username : *users) {
    auto p = tx.GetPresence(username);
    if (!p) return Fail(p.error());
    if (!*p) continue;
    spdlog::info("streams of {} on a node that stopped renewing its lease no longer count",
                 username);
    auto recounted = Recount(tx, std::move(**p), now);
    if (!recounted) return Fail(recounted.error());
  }
  return users->size() >= kSweepBatch;
}

// The agent is offline: their chats go back to the head of their queues, offers move on.
Result<void> Routing::AgentGone(Tx& tx, const std::string& username, int64_t now, Effects& fx) {
  auto convs = tx.AgentConversations(username);
  if (!convs) return Fail(convs.error());
  // Each one put back goes before the head, so the one that was last in the queue order goes
  // first: the chats then wait in the order they had, ahead of everyone else.
  std::stable_sort(convs->begin(), convs->end(), [](const auto& a, const auto& b) {
    return a.routing.qkey.value_or(0) > b.routing.qkey.value_or(0);
  });
  std::set<std::string> queues;
  for (auto& c : *convs) {
    std::string queue = c.routing.queue.value_or("default");
    queues.insert(queue);
    if (c.state == "queued") {  // an offer ringing for them
      c.routing.offered_to.reset();
      c.routing.offer_expires_at_ms.reset();
      auto saved = tx.UpdateConversation(c);
      if (!saved) return Fail(saved.error());
    } else {
      auto said = SayText(tx, c, settings_.texts.requeue_text, now, fx);
      if (!said) return Fail(said.error());
      auto saved = tx.UpdateConversation(c);
      if (!saved) return Fail(saved.error());
      auto queued = Enqueue(tx, c.id, queue, now, fx, /*at_head=*/true);
      if (!queued) return Fail(queued.error());
    }
    auto fresh = tx.GetConversation(c.id);
    if (!fresh) return Fail(fresh.error());
    auto sent = EmitConversation(tx, username, "conversation.removed", fresh->value_or(c),
                                 json::object{{"reason", "offline"}}, now, fx);
    if (!sent) return Fail(sent.error());
  }
  for (const auto& q : queues) {
    auto offered = OfferWaiting(tx, q, now, fx);
    if (!offered) return Fail(offered.error());
  }
  return {};
}

Result<bool> Routing::IdleTimers(Tx& tx, int64_t now, Effects& fx) {
  auto idle = tx.IdleConversations(now - settings_.customer_idle_reminder_ms,
                                   now - settings_.customer_idle_end_ms, kSweepBatch);
  if (!idle) return Fail(idle.error());
  for (auto& c : *idle) {
    if (c.owner == kSurveyOwner) {  // a survey left unanswered closes without the idle texts
      auto closed = CloseSurvey(tx, c, now, fx);
      if (!closed) return Fail(closed.error());
      continue;
    }
    if (c.last_customer_at_ms + settings_.customer_idle_end_ms <= now) {
      ConversationRecord before = c;
      auto said = SayText(tx, c, settings_.texts.idle_end_text, now, fx);
      if (!said) return Fail(said.error());
      auto end = speaker_.Say(tx, c, channel::CsrEndSessionBody{}, channel::Sender::kSystem,
                              std::nullopt, now, fx);
      if (!end) return Fail(end.error());
      c.state = "ended";
      c.ended_at_ms = now;
      c.routing.ended_by = "timeout";
      c.updated_at_ms = now;
      auto saved = tx.UpdateConversation(c);
      if (!saved) return Fail(saved.error());
      auto told = ConversationEnded(tx, before, "timeout", now, fx);
      if (!told) return Fail(told.error());
    } else if (!c.routing.idle_reminded) {
      auto said = SayText(tx, c, settings_.texts.idle_reminder_text, now, fx);
      if (!said) return Fail(said.error());
      c.routing.idle_reminded = true;
      auto saved = tx.UpdateConversation(c);
      if (!saved) return Fail(saved.error());
    }
  }
  return idle->size() >= kSweepBatch;
}

// wait_time updates: each waiting customer is looked at when their check is due (at most once
// an interval), and parked when nothing in their queue changed since their last look; a change
// of the queue (its version) re-arms the parked ones. An idle queue costs nothing, a draining
// one a look per customer per interval.
Result<bool> Routing::WaitUpdates(Tx& tx, int64_t now, Effects& fx) {
  auto stats = tx.ListQueueStats();
  if (!stats) return Fail(stats.error());
  bool more = false;
  for (const auto& st : *stats) {
    if (st.waiting == 0 || st.version == st.armed_version) continue;
    auto parked = tx.ParkedWaitChecks(st.queue, kSweepBatch);
    if (!parked) return Fail(parked.error());
    for (auto& c : *parked) {
      c.routing.wait_check_at_ms =
          std::max(now, c.routing.wait_sent_at_ms.value_or(0) + settings_.wait_time_interval_ms);
      auto saved = tx.UpdateConversation(c);
      if (!saved) return Fail(saved.error());
    }
    if (parked->size() < kSweepBatch) {
      auto set = tx.SetArmedVersion(st.queue, st.version);
      if (!set) return Fail(set.error());
    } else {
      more = true;
    }
  }

  auto due = tx.WaitChecksDue(now, kSweepBatch);
  if (!due) return Fail(due.error());
  std::map<std::string, QueueView> views;
  for (auto& c : *due) {
    std::string queue = c.routing.queue.value_or("default");
    auto it = views.find(queue);
    if (it == views.end()) {
      auto view = Queue(tx, queue, now);
      if (!view) return Fail(view.error());
      it = views.emplace(queue, std::move(*view)).first;
    }
    const QueueView& view = it->second;
    auto wait = WaitFor(tx, c, view);
    if (!wait) return Fail(wait.error());
    auto [position, estimate] = *wait;
    // The estimate goes out once someone is there again, no_agents_text once nobody is (an
    // empty text turns that off).
    bool nobody = view.nobody_there &&
                  !view.queue.no_agents_text.value_or(settings_.texts.no_agents_text).empty();
    bool told_nobody = c.routing.wait_estimate_s == kNoAgentsSent;
    bool moved =
        c.routing.wait_position != position || told_nobody != nobody ||
        (!nobody &&
         std::llabs(estimate - c.routing.wait_estimate_s.value_or(-kWaitMoveS)) >= kWaitMoveS);
    if (moved) {
      auto told = TellWait(tx, c, view, position, estimate, now, fx);
      if (!told) return Fail(told.error());
    } else if (c.routing.wait_version == view.version) {
      c.routing.wait_check_at_ms.reset();  // parked until the queue changes
    } else {
      c.routing.wait_check_at_ms = now + settings_.wait_time_interval_ms;
    }
    c.routing.wait_version = view.version;
    auto saved = tx.UpdateConversation(c);
    if (!saved) return Fail(saved.error());
  }
  return more || due->size() >= kSweepBatch;
}

Result<bool> Routing::Sweep(Tx& tx, int64_t now, Effects& fx) {
  // Several nodes on one database: this node's lease, and the presence of dead nodes.
  auto nodes = SweepNodes(tx, now);
  if (!nodes) return Fail(nodes.error());
  bool more = *nodes;
  // Offers that rang out: the agent who let it ring is set away, the offer moves on.
  auto expired = tx.ExpiredOffers(now, kSweepBatch);
  if (!expired) return Fail(expired.error());
  more = more || expired->size() >= kSweepBatch;
  for (auto& c : *expired) {
    std::string agent = *c.routing.offered_to;
    json::value declined = json::parse(c.routing.declined_by_json);
    if (!declined.is_array()) declined = json::array();
    declined.as_array().emplace_back(agent);
    c.routing.declined_by_json = json::serialize(declined);
    c.routing.offered_to.reset();
    c.routing.offer_expires_at_ms.reset();
    auto saved = tx.UpdateConversation(c);
    if (!saved) return Fail(saved.error());
    auto removed = EmitConversation(tx, agent, "conversation.removed", c,
                                    json::object{{"reason", "offer_expired"}}, now, fx);
    if (!removed) return Fail(removed.error());
    spdlog::info("offer of conversation {} to {} rang out; {} is set away", c.id, agent, agent);
    storage::QueueOutcome counted;
    counted.day = Day(now);
    counted.offers_rung_out = 1;
    auto count = tx.CountQueueOutcome(c.routing.queue.value_or("default"), counted);
    if (!count) return Fail(count.error());
    auto away = SetStatus(tx, agent, "away", now, fx);
    if (!away) return Fail(away.error());
    auto offered = OfferWaiting(tx, c.routing.queue.value_or("default"), now, fx);
    if (!offered) return Fail(offered.error());
  }

  // Agents whose streams stayed closed past agent_offline_after_s.
  auto presence = tx.OfflineDue(now, kSweepBatch);
  if (!presence) return Fail(presence.error());
  more = more || presence->size() >= kSweepBatch;
  for (auto p : *presence) {
    if (p.streams > 0 || !p.online) {  // nothing to do: the due time is stale
      p.offline_due_at_ms.reset();
      auto put = SavePresence(tx, p, now);
      if (!put) return Fail(put.error());
      continue;
    }
    p.online = false;
    p.offline_due_at_ms.reset();
    p.updated_at_ms = now;
    auto put = SavePresence(tx, p, now);
    if (!put) return Fail(put.error());
    // Their chats move first, so that the status event shows what they have left (none).
    auto gone = AgentGone(tx, p.username, now, fx);
    if (!gone) return Fail(gone.error());
    auto sent = EmitStatus(tx, p.username, now, fx);
    if (!sent) return Fail(sent.error());
  }

  auto ready = AfterChatOver(tx, now, fx);
  if (!ready) return Fail(ready.error());

  auto idle = IdleTimers(tx, now, fx);
  if (!idle) return Fail(idle.error());
  more = more || *ready || *idle;

  // O(queues): each look is two index probes when there is nothing to offer.
  auto queues = tx.ListQueues();
  if (!queues) return Fail(queues.error());
  for (const auto& q : *queues) {
    auto offered = OfferWaiting(tx, q.name, now, fx);
    if (!offered) return Fail(offered.error());
  }
  auto waits = WaitUpdates(tx, now, fx);
  if (!waits) return Fail(waits.error());
  auto flushed = FlushQueueUpdates(tx, now, fx);
  if (!flushed) return Fail(flushed.error());
  return more || *waits || *flushed;
}

}  // namespace parley::routing
