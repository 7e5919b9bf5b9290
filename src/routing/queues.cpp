// Queues: their views (counts, estimate, accepting), admin changes, and queue.updated events.
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/json.hpp>
#include <regex>

#include "core/clock.hpp"
#include "routing/routing.hpp"
#include "routing/wait_time.hpp"

namespace parley::routing {
namespace json = boost::json;
using storage::ConversationRecord;
using storage::QueueRecord;
using storage::Tx;

namespace {

Failure Invalid(std::string code, std::string message) {
  return Fail(Errc::kInvalidArgument, std::move(code), std::move(message));
}

}  // namespace

namespace {

constexpr int64_t kDayMs = 86'400'000;

// The view of a queue from its record and its counters: no list is read.
QueueView ViewOf(QueueRecord record, const storage::QueueStats& st, int64_t now,
                 const Settings& settings) {
  QueueView v;
  v.queue = std::move(record);
  v.waiting = st.waiting;
  v.active = st.active;
  if (st.head_queued_at_ms)
    v.oldest_wait_s = std::max<int64_t>(0, (now - *st.head_queued_at_ms) / 1000);
  if (st.oldest_queued_at_ms)
    v.longest_wait_s = std::max<int64_t>(0, (now - *st.oldest_queued_at_ms) / 1000);
  v.agents_signed_in = st.signed_in;
  v.agents_available = st.available;
  int64_t samples = std::min<int64_t>(st.handle_count, static_cast<int64_t>(kHandleSamples));
  v.average_handle_s =
      samples >= static_cast<int64_t>(kMinHandleSamples)
          ? static_cast<double>(st.handle_sum_ms) / 1000.0 / static_cast<double>(samples)
          : static_cast<double>(settings.default_handle_s);
  v.average_concurrency =
      st.members > 0 ? static_cast<double>(st.concurrency_sum) / static_cast<double>(st.members)
                     : 1.0;
  v.estimated_wait_s = EstimateWaitSeconds(v.average_handle_s, v.active, v.waiting,
                                           v.average_concurrency, v.agents_available);
  v.nobody_there = v.agents_signed_in == 0 || (v.agents_available == 0 && v.active == 0);
  if (v.queue.max_wait_s)
    v.accepting = v.agents_signed_in > 0 && v.estimated_wait_s <= *v.queue.max_wait_s;
  if (st.day == now / kDayMs) {
    v.answered_today = st.answered_today;
    v.answered_in_sl_today = st.answered_in_sl_today;
    v.abandoned_today = st.abandoned_today;
    if (st.answered_today > 0)
      v.average_wait_today_s = static_cast<double>(st.wait_sum_today_ms) / 1000.0 /
                               static_cast<double>(st.answered_today);
    if (st.handle_count_today > 0)
      v.average_handle_today_s = static_cast<double>(st.handle_sum_today_ms) / 1000.0 /
                                 static_cast<double>(st.handle_count_today);
  }
  if (v.answered_today + v.abandoned_today > 0)
    v.service_level = static_cast<double>(v.answered_in_sl_today) /
                      static_cast<double>(v.answered_today + v.abandoned_today);
  v.answered_total = st.answered_total;
  v.abandoned_total = st.abandoned_total;
  v.offers_total = st.offers_total;
  v.offers_rung_out_total = st.offers_rung_out_total;
  v.offers_declined_total = st.offers_declined_total;
  v.version = st.version;
  return v;
}

QueueRecord Unnamed(const std::string& name) {
  QueueRecord q;
  q.name = name;
  q.display_name = name;
  return q;
}

}  // namespace

int64_t Routing::Day(int64_t now) { return now / kDayMs; }

Result<QueueView> Routing::Queue(Tx& tx, const std::string& name, int64_t now) const {
  auto q = tx.GetQueue(name);
  if (!q) return Fail(q.error());
  auto stats = tx.GetQueueStats(name);
  if (!stats) return Fail(stats.error());
  QueueView v = ViewOf(*q ? std::move(**q) : Unnamed(name), *stats, now, settings_);
  auto decorated = Decorate(tx, v, now);
  if (!decorated) return Fail(decorated.error());
  return v;
}

Result<QueueView> Routing::QueueCounts(Tx& tx, const std::string& name, int64_t now) const {
  auto q = tx.GetQueue(name);
  if (!q) return Fail(q.error());
  auto stats = tx.GetQueueCounters(name);
  if (!stats) return Fail(stats.error());
  return ViewOf(*q ? std::move(**q) : Unnamed(name), *stats, now, settings_);
}

Result<std::pair<int64_t, int64_t>> Routing::WaitFor(Tx& tx, const ConversationRecord& c,
                                                     int64_t now) const {
  std::string queue = c.routing.queue.value_or("default");
  auto view = Queue(tx, queue, now);
  if (!view) return Fail(view.error());
  return WaitFor(tx, c, *view);
}

Result<std::pair<int64_t, int64_t>> Routing::WaitFor(Tx& tx, const ConversationRecord& c,
                                                     const QueueView& view) const {
  int64_t ahead = 0;
  if (c.routing.qkey) {
    auto counted = tx.WaitingAhead(view.queue.name, *c.routing.qkey);
    if (!counted) return Fail(counted.error());
    ahead = *counted;
  }
  return WaitWith(view, ahead);
}

std::pair<int64_t, int64_t> Routing::WaitWith(const QueueView& view, int64_t ahead) {
  return {ahead + 1, EstimateWaitSeconds(view.average_handle_s, view.active, ahead,
                                         view.average_concurrency, view.agents_available)};
}

Result<std::vector<QueueView>> Routing::Queues(Tx& tx, int64_t now) const {
  auto all = tx.ListQueues();
  if (!all) return Fail(all.error());
  auto stats = tx.ListQueueStats();
  if (!stats) return Fail(stats.error());
  std::map<std::string, const storage::QueueStats*> by_name;
  for (const auto& st : *stats) by_name.emplace(st.queue, &st);
  std::vector<QueueView> out;
  out.reserve(all->size());
  for (auto& q : *all) {
    auto it = by_name.find(q.name);
    storage::QueueStats none;
    none.queue = q.name;
    out.push_back(ViewOf(std::move(q), it == by_name.end() ? none : *it->second, now, settings_));
    auto decorated = Decorate(tx, out.back(), now);
    if (!decorated) return Fail(decorated.error());
  }
  return out;
}

Result<QueueRecord> Routing::DecodeQueue(const json::value& body, bool create) {
  if (!body.is_object()) return Invalid("invalid_body", "Send a JSON object.");
  const auto& o = body.as_object();
  QueueRecord q;
  static const std::regex kName("[a-z0-9._-]{1,64}");
  for (const auto& kv : o) {
    std::string_view key = kv.key();
    const json::value& v = kv.value();
    if (key == "name" && create) {
      if (!v.is_string() || !std::regex_match(std::string(v.as_string()), kName))
        return Invalid("invalid_name", "name must be 1-64 of a-z, 0-9, '.', '_' and '-'.");
      q.name = v.as_string();
    } else if (key == "display_name") {
      if (!v.is_string() || v.as_string().empty() || v.as_string().size() > 100)
        return Invalid("invalid_display_name", "display_name must be 1-100 characters.");
      q.display_name = v.as_string();
    } else if (key == "auto_accept") {
      if (!v.is_bool()) return Invalid("invalid_auto_accept", "auto_accept must be true or false.");
      q.auto_accept = v.as_bool();
    } else if (key == "max_wait_s") {
      if (v.is_null()) {
        q.max_wait_s.reset();
      } else if (!v.is_int64() || v.as_int64() < 1 || v.as_int64() > 86400) {
        return Invalid("invalid_max_wait_s",
                       "max_wait_s must be null (off) or whole seconds from 1 to 86400.");
      } else {
        q.max_wait_s = v.as_int64();
      }
    } else if (key == "service_level_s") {
      if (!v.is_int64() || v.as_int64() < 1 || v.as_int64() > 86400)
        return Invalid("invalid_service_level_s",
                       "service_level_s must be whole seconds from 1 to 86400.");
      q.service_level_s = v.as_int64();
    } else if (key == "service_level_target") {
      double target = v.is_double() ? v.as_double() : v.is_int64() ? double(v.as_int64()) : -1;
      if (!(v.is_double() || v.is_int64()) || target < 0 || target > 1)
        return Invalid("invalid_service_level_target",
                       "service_level_target must be a share from 0 to 1 (0.8 is 80 %).");
      q.service_level_target = target;
    } else if (key == "no_agents_text") {
      if (v.is_null()) {
        q.no_agents_text.reset();
      } else if (!v.is_string() || v.as_string().empty() || v.as_string().size() > 1000) {
        return Invalid("invalid_no_agents_text",
                       "no_agents_text must be 1-1000 characters (with {position} where the "
                       "customer's place goes) or null for the default.");
      } else {
        q.no_agents_text = std::string(v.as_string());
      }
    } else if (key == "wrap_up_codes") {
      if (!v.is_array() || v.as_array().size() > 50)
        return Invalid("invalid_wrap_up_codes",
                       "wrap_up_codes must be a list of at most 50 codes (or [] for none).");
      q.wrap_up_codes.clear();
      for (const auto& code : v.as_array()) {
        bool ok = code.is_string() && !code.as_string().empty() && code.as_string().size() <= 64;
        if (ok)
          for (char ch : code.as_string()) ok = ok && static_cast<unsigned char>(ch) >= 0x20;
        if (!ok)
          return Invalid("invalid_wrap_up_codes",
                         "Each wrap-up code must be 1-64 characters with no line breaks.");
        std::string text(code.as_string());
        if (std::find(q.wrap_up_codes.begin(), q.wrap_up_codes.end(), text) ==
            q.wrap_up_codes.end())
          q.wrap_up_codes.push_back(std::move(text));
      }
    } else if (key == "wrap_up_required") {
      if (!v.is_bool())
        return Invalid("invalid_wrap_up_required", "wrap_up_required must be true or false.");
      q.wrap_up_required = v.as_bool();
    } else if (key == "after_chat_work_s") {
      if (!v.is_int64() || v.as_int64() < 0 || v.as_int64() > 3600)
        return Invalid("invalid_after_chat_work_s",
                       "after_chat_work_s must be whole seconds from 0 (none) to 3600.");
      q.after_chat_work_s = v.as_int64();
    } else if (key == "csat") {
      if (!v.is_bool()) return Invalid("invalid_csat", "csat must be true or false.");
      q.csat = v.as_bool();
    } else if (key == "hours") {
      if (v.is_null()) {
        q.hours_json.reset();
      } else {
        TimeZones zones;
        auto parsed = ParseHours(v, zones);
        if (!parsed) return Fail(parsed.error());
        q.hours_json = json::serialize(HoursToJson(*parsed));
      }
    } else if (key == "closed_text") {
      if (v.is_null()) {
        q.closed_text.reset();
      } else if (!v.is_string() || v.as_string().empty() || v.as_string().size() > 1000) {
        return Invalid("invalid_closed_text", "closed_text must be 1-1000 characters or null.");
      } else {
        q.closed_text = std::string(v.as_string());
      }
    } else {
      return Invalid("unknown_field",
                     fmt::format("Unknown field '{}'; a queue has name, display_name, "
                                 "auto_accept, max_wait_s, closed_text, no_agents_text, "
                                 "service_level_s, service_level_target, wrap_up_codes, "
                                 "wrap_up_required, after_chat_work_s, csat and hours.",
                                 key));
    }
  }
  if (create && q.name.empty())
    return Invalid("invalid_name", "name is required: 1-64 of a-z, 0-9, '.', '_' and '-'.");
  if (create && q.display_name.empty()) q.display_name = q.name;
  if (create && q.wrap_up_required && q.wrap_up_codes.empty())
    return Invalid("invalid_wrap_up_required",
                   "wrap_up_required needs at least one code in wrap_up_codes.");
  return q;
}

Result<QueueRecord> Routing::CreateQueue(Tx& tx, QueueRecord q, int64_t now) {
  q.created_at_ms = q.updated_at_ms = now;
  auto inserted = tx.InsertQueue(q);
  if (!inserted) return Fail(inserted.error());
  return q;
}

Result<QueueRecord> Routing::UpdateQueue(Tx& tx, const std::string& name, const json::value& patch,
                                         int64_t now, Effects& fx) {
  auto found = tx.GetQueue(name);
  if (!found) return Fail(found.error());
  if (!*found)
    return Fail(Errc::kNotFound, "queue_not_found",
                "No queue has this name; list them with GET /api/v1/queues.");
  auto changes = DecodeQueue(patch, false);
  if (!changes) return Fail(changes.error());
  QueueRecord q = std::move(**found);
  const auto& o = patch.as_object();
  if (o.contains("display_name")) q.display_name = changes->display_name;
  if (o.contains("auto_accept")) q.auto_accept = changes->auto_accept;
  if (o.contains("max_wait_s")) q.max_wait_s = changes->max_wait_s;
  if (o.contains("closed_text")) q.closed_text = changes->closed_text;
  if (o.contains("service_level_s")) q.service_level_s = changes->service_level_s;
  if (o.contains("service_level_target")) q.service_level_target = changes->service_level_target;
  if (o.contains("no_agents_text")) q.no_agents_text = changes->no_agents_text;
  if (o.contains("wrap_up_codes")) q.wrap_up_codes = changes->wrap_up_codes;
  if (o.contains("wrap_up_required")) q.wrap_up_required = changes->wrap_up_required;
  if (o.contains("after_chat_work_s")) q.after_chat_work_s = changes->after_chat_work_s;
  if (o.contains("csat")) q.csat = changes->csat;
  if (o.contains("hours")) q.hours_json = changes->hours_json;
  if (q.wrap_up_required && q.wrap_up_codes.empty())
    return Invalid("invalid_wrap_up_required",
                   "wrap_up_required needs at least one code in wrap_up_codes.");
  q.updated_at_ms = now;
  auto updated = tx.UpdateQueue(q);
  if (!updated) return Fail(updated.error());
  fx.queues_changed.insert(name);
  if (q.auto_accept) {
    auto offered = OfferWaiting(tx, name, now, fx);
    if (!offered) return Fail(offered.error());
  }
  return q;
}

Result<void> Routing::DeleteQueue(Tx& tx, const std::string& name) {
  auto stats = tx.GetQueueStats(name);
  if (!stats) return Fail(stats.error());
  if (stats->waiting > 0)
    return Fail(Errc::kConflict, "queue_not_empty",
                "Conversations wait in this queue; transfer or end them first.");
  auto deleted = tx.DeleteQueue(name);
  if (!deleted) return Fail(deleted.error());
  if (!*deleted)
    return Fail(Errc::kNotFound, "queue_not_found",
                "No queue has this name; list them with GET /api/v1/queues.");
  return {};
}

Result<bool> Routing::EnsureQueue(Tx& tx, const std::string& name, const std::string& display_name,
                                  int64_t now) {
  auto found = tx.GetQueue(name);
  if (!found) return Fail(found.error());
  if (*found) return false;
  QueueRecord q;
  q.name = name;
  q.display_name = display_name.empty() ? name : display_name;
  auto created = CreateQueue(tx, q, now);
  if (!created) return Fail(created.error());
  spdlog::info("queue '{}' created ('{}'): a bot names it and it did not exist", name,
               q.display_name);
  return true;
}

Result<bool> Routing::FlushQueueUpdates(Tx& tx, int64_t now, Effects& fx) {
  // A queue's members hear of it at most once a second: a busy queue changes with every
  // accept, and each update is an event per member. The last change of a second waits for the
  // sweep, so the final counts always arrive. A round's events are written a slice a job.
  for (const auto& name : fx.queues_changed) queue_updates_due_.insert(name);
  fx.queues_changed.clear();
  std::optional<std::vector<std::string>> admins;
  for (auto it = queue_updates_due_.begin(); it != queue_updates_due_.end();) {
    auto last = queue_updated_at_.find(*it);
    bool due = last == queue_updated_at_.end() || now - last->second >= kQueueUpdateEveryMs;
    if (!due || queue_rounds_.count(*it) > 0) {
      ++it;
      continue;
    }
    auto view = Queue(tx, *it, now);
    if (!view) return Fail(view.error());
    if (!admins) {
      auto read = tx.Admins();
      if (!read) return Fail(read.error());
      admins = std::move(*read);
    }
    auto members = tx.QueueMembers(*it);
    if (!members) return Fail(members.error());
    // Its members and the admins, each once (an admin may be a member too).
    QueueRound round;
    round.queue = ToJson(*view);
    round.to = std::move(*members);
    std::set<std::string> told(round.to.begin(), round.to.end());
    for (const auto& admin : *admins)
      if (told.insert(admin).second) round.to.push_back(admin);
    queue_updated_at_[*it] = now;
    queue_rounds_[*it] = std::move(round);
    it = queue_updates_due_.erase(it);
  }
  // The budget is the job's: a job may call this twice (the sweep, then the job's wrapper).
  for (auto it = queue_rounds_.begin(); it != queue_rounds_.end();) {
    QueueRound& round = it->second;
    for (; round.next < round.to.size() && fx.queue_updates_written < kQueueUpdateSlice;
         ++round.next, ++fx.queue_updates_written) {
      auto sent = Emit(tx, round.to[round.next], "queue.updated",
                       json::object{{"queue", round.queue}}, now, fx);
      if (!sent) return Fail(sent.error());
    }
    if (round.next < round.to.size()) break;
    it = queue_rounds_.erase(it);
  }
  return !queue_rounds_.empty();
}

json::object Routing::ToJson(const QueueView& v) {
  json::object o;
  o["name"] = v.queue.name;
  o["display_name"] = v.queue.display_name;
  o["auto_accept"] = v.queue.auto_accept;
  o["max_wait_s"] = v.queue.max_wait_s ? json::value(*v.queue.max_wait_s) : json::value(nullptr);
  o["closed_text"] = v.queue.closed_text ? json::value(*v.queue.closed_text) : json::value(nullptr);
  o["no_agents_text"] =
      v.queue.no_agents_text ? json::value(*v.queue.no_agents_text) : json::value(nullptr);
  json::array codes;
  for (const auto& code : v.queue.wrap_up_codes) codes.emplace_back(code);
  o["wrap_up_codes"] = std::move(codes);
  o["wrap_up_required"] = v.queue.wrap_up_required;
  o["after_chat_work_s"] = v.queue.after_chat_work_s;
  o["waiting"] = v.waiting;
  o["oldest_wait_s"] = v.oldest_wait_s;
  o["active"] = v.active;
  o["agents_available"] = v.agents_available;
  o["agents_signed_in"] = v.agents_signed_in;
  o["estimated_wait_s"] = v.estimated_wait_s;
  o["accepting"] = v.accepting;
  o["longest_wait_s"] = v.longest_wait_s;
  o["answered_today"] = v.answered_today;
  o["abandoned_today"] = v.abandoned_today;
  o["service_level_s"] = v.queue.service_level_s;
  o["service_level"] = v.service_level ? json::value(*v.service_level) : json::value(nullptr);
  o["csat"] = v.queue.csat;
  json::value hours = nullptr;
  if (v.queue.hours_json) {
    boost::system::error_code ec;
    hours = json::parse(*v.queue.hours_json, ec);
    if (ec) hours = nullptr;
  }
  o["hours"] = std::move(hours);
  o["open"] = v.open;
  o["opens_at"] =
      v.opens_at_ms ? json::value(FormatTimestamp(*v.opens_at_ms)) : json::value(nullptr);
  o["csat_today"] = json::object{
      {"average", v.csat_today_count > 0 ? json::value(static_cast<double>(v.csat_today_sum) /
                                                       static_cast<double>(v.csat_today_count))
                                         : json::value(nullptr)},
      {"count", v.csat_today_count}};
  o["service_level_target"] = v.queue.service_level_target;
  o["average_wait_today_s"] =
      v.average_wait_today_s ? json::value(*v.average_wait_today_s) : json::value(nullptr);
  o["average_handle_today_s"] =
      v.average_handle_today_s ? json::value(*v.average_handle_today_s) : json::value(nullptr);
  return o;
}

json::object Routing::ToJson(const AgentView& a) {
  json::object o;
  o["username"] = a.user.username;
  o["display_name"] = a.user.display_name;
  o["role"] = a.user.role;
  o["status"] = a.status;
  json::array queues;
  for (const auto& q : a.user.queues) queues.emplace_back(q);
  o["queues"] = std::move(queues);
  o["chats"] = a.chats;
  o["offers"] = a.offers;
  o["max_chats"] = a.user.max_chats;
  o["enabled"] = a.user.enabled;
  o["ready_at"] = a.status == "after_chat" && a.presence.ready_at_ms
                      ? json::value(FormatTimestamp(*a.presence.ready_at_ms))
                      : json::value(nullptr);
  o["away_reason"] = a.status == "away" && a.presence.away_reason
                         ? json::value(*a.presence.away_reason)
                         : json::value(nullptr);
  o["status_since"] = a.presence.status_since_ms
                          ? json::value(FormatTimestamp(a.presence.status_since_ms))
                          : json::value(nullptr);
  o["last_assigned_at"] = a.presence.last_assigned_at_ms
                              ? json::value(FormatTimestamp(a.presence.last_assigned_at_ms))
                              : json::value(nullptr);
  return o;
}

}  // namespace parley::routing
