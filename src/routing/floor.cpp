// The floor as a supervisor's wallboard shows it (GET /api/v1/overview, issue 19): every queue
// from its counters, with its agents by status, and every agent with their status, how long they
// have had it, their chats and their figures of today. Costs O(queues + agents + active chats):
// no list of waiting customers or of past conversations is read.
#include <algorithm>
#include <boost/json.hpp>
#include <map>

#include "core/clock.hpp"
#include "routing/routing.hpp"

namespace parley::routing {
namespace json = boost::json;
using storage::Tx;

std::string FloorStatus(const AgentView& a) {
  if (a.status == "offline" || a.status == "away") return a.status;
  if (a.status == "after_chat" || a.chats + a.offers >= a.user.max_chats) return "busy";
  return "available";
}

Result<FloorView> Routing::Floor(Tx& tx, int64_t now) const {
  FloorView floor;
  floor.now_ms = now;
  auto counts = tx.CountConversations();
  if (!counts) return Fail(counts.error());
  floor.conversations = std::move(*counts);
  auto queues = Queues(tx, now);
  if (!queues) return Fail(queues.error());
  auto agents = Agents(tx);
  if (!agents) return Fail(agents.error());
  std::map<std::string, size_t> index;
  for (auto& q : *queues) {
    index.emplace(q.queue.name, floor.queues.size());
    floor.queues.push_back(FloorQueue{std::move(q), {}});
  }
  int64_t today = Day(now);
  for (auto& a : *agents) {
    FloorAgent fa;
    fa.floor_status = FloorStatus(a);
    for (const auto& q : a.user.queues)
      if (auto it = index.find(q); it != index.end())
        ++floor.queues[it->second].agents[fa.floor_status];
    if (a.presence.day == today) {
      fa.chats_today = a.presence.chats_today;
      if (a.presence.handle_count_today > 0)
        fa.average_handle_today_s = static_cast<double>(a.presence.handle_sum_today_ms) / 1000.0 /
                                    static_cast<double>(a.presence.handle_count_today);
    }
    if (a.chats > 0 || a.offers > 0) {
      auto mine = tx.AgentConversations(a.user.username);
      if (!mine) return Fail(mine.error());
      for (auto& c : *mine)
        if (c.state == "active") fa.conversations.push_back(std::move(c));
    }
    fa.agent = std::move(a);
    floor.agents.push_back(std::move(fa));
  }
  return floor;
}

json::object Routing::ToJson(const FloorView& f) {
  json::object conversations;
  for (const auto& [state, n] : f.conversations) conversations[state] = n;
  json::array queues;
  for (const auto& q : f.queues) {
    json::object o = ToJson(q.view);
    // agents_available is the queue's own counter (ready agents); the rest are counted here.
    for (const char* status : {"busy", "away", "offline"}) {
      auto it = q.agents.find(status);
      o[std::string("agents_") + status] = it == q.agents.end() ? int64_t{0} : it->second;
    }
    queues.push_back(std::move(o));
  }
  json::array agents;
  for (const auto& a : f.agents) {
    json::object o = ToJson(a.agent);
    o["floor_status"] = a.floor_status;
    o["status_for_s"] = a.agent.presence.status_since_ms
                            ? json::value(std::max<int64_t>(
                                  0, (f.now_ms - a.agent.presence.status_since_ms) / 1000))
                            : json::value(nullptr);
    o["chats_today"] = a.chats_today;
    o["average_handle_today_s"] =
        a.average_handle_today_s ? json::value(*a.average_handle_today_s) : json::value(nullptr);
    json::array chats;
    for (const auto& c : a.conversations) {
      int64_t since = c.routing.assigned_at_ms.value_or(c.created_at_ms);
      chats.push_back(json::object{
          {"id", c.id},
          {"customer_id", c.customer_id},
          {"customer_name", c.customer_name ? json::value(*c.customer_name) : json::value()},
          {"queue", c.routing.queue ? json::value(*c.routing.queue) : json::value()},
          {"assigned_at", FormatTimestamp(since)},
          {"age_s", std::max<int64_t>(0, (f.now_ms - since) / 1000)}});
    }
    o["conversations"] = std::move(chats);
    agents.push_back(std::move(o));
  }
  return json::object{{"conversations", std::move(conversations)},
                      {"queues", std::move(queues)},
                      {"agents", std::move(agents)},
                      {"at", FormatTimestamp(f.now_ms)}};
}

}  // namespace parley::routing
