#include "manager/connection_service.hpp"

#include <fmt/format.h>

#include <boost/json.hpp>
#include <regex>

#include "channel/capabilities.hpp"
#include "delivery/address_guard.hpp"

namespace parley::manager {
namespace json = boost::json;
using storage::ConnectionRecord;
using storage::Tx;

namespace {

Failure NotFound() {
  return Fail(Errc::kNotFound, "connection_not_found",
              "No connection has this ID; list them with GET /api/v1/connections.");
}

Result<std::optional<std::string>> OptionalString(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (!v || v->is_null()) return std::optional<std::string>();
  if (!v->is_string())
    return Fail(Errc::kInvalidArgument, "invalid_field",
                fmt::format("The field '{}' must be a string.", key));
  return std::optional<std::string>(std::string(v->as_string()));
}

}  // namespace

ConnectionService::ConnectionService(storage::Store& store, ConnectionDirectory& directory,
                                     const bot::BotRegistry& bots, const Clock& clock,
                                     IdGenerator& ids, ConnectionOptions options)
    : store_(store),
      directory_(directory),
      bots_(bots),
      clock_(clock),
      ids_(ids),
      options_(std::move(options)) {}

Result<ConnectionChanges> ConnectionService::DecodeChanges(const json::value& body) {
  if (!body.is_object())
    return Fail(Errc::kInvalidArgument, "invalid_payload",
                "Send a JSON object with any of name, client_webhook, enabled, bot, queue, "
                "capabilities.");
  const json::object& o = body.as_object();
  ConnectionChanges out;
  auto name = OptionalString(o, "name");
  if (!name) return Fail(name.error());
  auto hook = OptionalString(o, "client_webhook");
  if (!hook) return Fail(hook.error());
  auto bot = OptionalString(o, "bot");
  if (!bot) return Fail(bot.error());
  out.name = std::move(*name);
  out.client_webhook = std::move(*hook);
  out.bot = std::move(*bot);
  auto queue = OptionalString(o, "queue");
  if (!queue) return Fail(queue.error());
  static const std::regex kQueueName("[a-z0-9._-]{1,64}");
  if (*queue && !std::regex_match(**queue, kQueueName))
    return Fail(Errc::kInvalidArgument, "invalid_queue",
                "queue must be a queue's name: 1-64 of a-z, 0-9, '.', '_' and '-'.");
  out.queue = std::move(*queue);
  if (const json::value* v = o.if_contains("enabled"); v && !v->is_null()) {
    if (!v->is_bool())
      return Fail(Errc::kInvalidArgument, "invalid_field",
                  "The field 'enabled' must be true or false.");
    out.enabled = v->as_bool();
  }
  if (const json::value* v = o.if_contains("capabilities"); v && !v->is_null()) {
    auto caps = channel::CapabilitiesFromJson(*v);
    if (!caps) return Fail(caps.error());
    out.capabilities = channel::CapabilitiesToText(*caps);
  }
  return out;
}

Result<NewConnection> ConnectionService::DecodeNew(const json::value& body) {
  // The same fields as a change, two of them required.
  auto fields = DecodeChanges(body);
  if (!fields) return Fail(fields.error());
  if (!fields->name)
    return Fail(Errc::kInvalidArgument, "missing_field", "Add 'name': 1 to 100 characters.");
  if (!fields->client_webhook)
    return Fail(Errc::kInvalidArgument, "missing_field",
                "Add 'client_webhook': the https:// URL of your integration layer.");
  NewConnection out;
  out.name = std::move(*fields->name);
  out.client_webhook = std::move(*fields->client_webhook);
  out.bot = std::move(fields->bot);
  if (fields->queue) out.queue = std::move(*fields->queue);
  if (fields->enabled) out.enabled = *fields->enabled;
  if (fields->capabilities) out.capabilities = std::move(*fields->capabilities);
  return out;
}

Result<void> ConnectionService::CheckName(const std::string& name) const {
  if (name.empty() || name.size() > 100)
    return Fail(Errc::kInvalidArgument, "invalid_name", "The name must be 1 to 100 characters.");
  return {};
}

Result<void> ConnectionService::CheckWebhook(const std::string& url) const {
  auto checked = delivery::ValidateWebhookUrl(url, options_.allow_insecure_webhooks);
  if (!checked) return Fail(checked.error());
  return {};
}

Result<void> ConnectionService::CheckBot(const std::string& bot) const {
  if (bot == "none" || bots_.Contains(bot)) return {};
  return Fail(Errc::kInvalidArgument, "unknown_bot",
              fmt::format("No bot is named '{}'; use 'none' or one of GET /api/v1/bots.",
                          bot.substr(0, 64)));
}

std::string ConnectionService::DefaultBot() const {
  std::vector<std::string> loaded;
  for (const auto& info : bots_.List())
    if (info.source != "built-in") loaded.push_back(info.name);
  return loaded.size() == 1 ? loaded.front() : "none";
}

// A connection changed here while the store was read is read again (at most kRereads times;
// past that, the change made here is kept: it committed before it was applied).
constexpr int kRereads = 3;

boost::asio::awaitable<Result<size_t>> ConnectionService::LoadDirectory() {
  for (int attempt = 0;; ++attempt) {
    ConnectionDirectory::ReadMark mark(directory_);
    auto job0 = [](Tx& tx) { return tx.ListConnections(); };
    auto all = co_await store_.Read<std::vector<ConnectionRecord>>(job0);
    if (!all) co_return Fail(all.error());
    if (directory_.Replace(*all, mark) || attempt == kRereads) co_return all->size();
  }
}

std::string ConnectionService::Announcement(const std::string& id) const {
  return node_id_ + "|connection|" + id;
}

boost::asio::awaitable<Result<bool>> ConnectionService::ReloadOne(std::string id) {
  for (int attempt = 0;; ++attempt) {
    ConnectionDirectory::ReadMark mark(directory_);
    auto job = [id](Tx& tx) { return tx.GetConnection(id); };
    auto found = co_await store_.Read<std::optional<ConnectionRecord>>(job);
    if (!found) co_return Fail(found.error());
    if (directory_.Refresh(id, std::move(*found), mark) || attempt == kRereads) co_return true;
  }
}

boost::asio::awaitable<Result<ConnectionRecord>> ConnectionService::Create(NewConnection input) {
  if (auto r = CheckName(input.name); !r) co_return Fail(r.error());
  if (auto r = CheckWebhook(input.client_webhook); !r) co_return Fail(r.error());
  std::string bot = input.bot ? *input.bot : DefaultBot();
  if (auto r = CheckBot(bot); !r) co_return Fail(r.error());
  ConnectionRecord c;
  c.id = ids_.Uuid();
  c.name = std::move(input.name);
  c.client_webhook = std::move(input.client_webhook);
  c.bot = std::move(bot);
  c.queue = std::move(input.queue);
  c.enabled = input.enabled;
  c.capabilities = std::move(input.capabilities);
  c.secret = ids_.Secret(32);
  c.created_at_ms = c.updated_at_ms = clock_.NowMs();
  auto job1 = [c, announce = Announcement(c.id)](Tx& tx) -> Result<ConnectionRecord> {
    auto r = tx.InsertConnection(c);
    if (!r) return Fail(r.error());
    if (auto a = tx.Announce(storage::kReloadChannel, announce); !a) return Fail(a.error());
    return c;
  };
  auto stored = co_await store_.Write<ConnectionRecord>(job1);
  if (stored) directory_.Put(*stored);
  co_return stored;
}

boost::asio::awaitable<Result<std::vector<ConnectionRecord>>> ConnectionService::List() {
  auto job2 = [](Tx& tx) { return tx.ListConnections(); };
  co_return co_await store_.Read<std::vector<ConnectionRecord>>(job2);
}

boost::asio::awaitable<Result<ConnectionRecord>> ConnectionService::Get(std::string id) {
  auto job3 = [id](Tx& tx) -> Result<ConnectionRecord> {
    auto c = tx.GetConnection(id);
    if (!c) return Fail(c.error());
    if (!*c) return NotFound();
    return std::move(**c);
  };
  co_return co_await store_.Read<ConnectionRecord>(job3);
}

boost::asio::awaitable<Result<ConnectionRecord>> ConnectionService::Update(
    std::string id, ConnectionChanges changes) {
  if (changes.name)
    if (auto r = CheckName(*changes.name); !r) co_return Fail(r.error());
  if (changes.client_webhook)
    if (auto r = CheckWebhook(*changes.client_webhook); !r) co_return Fail(r.error());
  if (changes.bot)
    if (auto r = CheckBot(*changes.bot); !r) co_return Fail(r.error());
  int64_t now = clock_.NowMs();
  auto job4 = [id, changes, now, announce = Announcement(id)](Tx& tx) -> Result<ConnectionRecord> {
    auto found = tx.GetConnection(id);
    if (!found) return Fail(found.error());
    if (!*found) return NotFound();
    ConnectionRecord c = std::move(**found);
    if (changes.name) c.name = *changes.name;
    if (changes.client_webhook) c.client_webhook = *changes.client_webhook;
    if (changes.enabled) c.enabled = *changes.enabled;
    if (changes.bot) c.bot = *changes.bot;
    if (changes.queue) c.queue = *changes.queue;
    if (changes.capabilities) c.capabilities = *changes.capabilities;
    c.updated_at_ms = now;
    auto r = tx.UpdateConnection(c);
    if (!r) return Fail(r.error());
    if (auto a = tx.Announce(storage::kReloadChannel, announce); !a) return Fail(a.error());
    return c;
  };
  auto stored = co_await store_.Write<ConnectionRecord>(job4);
  if (stored) directory_.Put(*stored);
  co_return stored;
}

boost::asio::awaitable<Result<void>> ConnectionService::Delete(std::string id) {
  auto job5 = [id, announce = Announcement(id)](Tx& tx) -> Result<bool> {
    auto deleted = tx.DeleteConnection(id);
    if (!deleted || !*deleted) return deleted;
    if (auto a = tx.Announce(storage::kReloadChannel, announce); !a) return Fail(a.error());
    return true;
  };
  auto deleted = co_await store_.Write<bool>(job5);
  if (!deleted) co_return Fail(deleted.error());
  if (!*deleted) co_return NotFound();
  directory_.Remove(id);
  co_return Result<void>{};
}

boost::asio::awaitable<Result<ConnectionRecord>> ConnectionService::RotateSecret(std::string id) {
  std::string secret = ids_.Secret(32);
  int64_t now = clock_.NowMs();
  int64_t grace_ms = options_.secret_grace_seconds * 1000;
  auto job6 = [id, secret, now, grace_ms,
               announce = Announcement(id)](Tx& tx) -> Result<ConnectionRecord> {
    auto found = tx.GetConnection(id);
    if (!found) return Fail(found.error());
    if (!*found) return NotFound();
    ConnectionRecord c = std::move(**found);
    c.previous_secret = c.secret;
    c.previous_secret_valid_until_ms = now + grace_ms;
    c.secret = secret;
    c.updated_at_ms = now;
    auto r = tx.UpdateConnection(c);
    if (!r) return Fail(r.error());
    if (auto a = tx.Announce(storage::kReloadChannel, announce); !a) return Fail(a.error());
    return c;
  };
  auto stored = co_await store_.Write<ConnectionRecord>(job6);
  if (stored) directory_.Put(*stored);
  co_return stored;
}

json::object ConnectionService::ToJson(const ConnectionRecord& c, bool with_secret) const {
  json::object o;
  o["connection_id"] = c.id;
  o["name"] = c.name;
  o["client_webhook"] = c.client_webhook;
  o["digital_messaging_webhook"] = options_.public_url + "/messages";
  if (with_secret) o["jwt_secret"] = c.secret;
  o["bot"] = c.bot;
  o["queue"] = c.queue;
  o["enabled"] = c.enabled;
  o["capabilities"] = channel::CapabilitiesToJson(channel::CapabilitiesFromText(c.capabilities));
  o["created_at"] = FormatTimestamp(c.created_at_ms);
  o["updated_at"] = FormatTimestamp(c.updated_at_ms);
  if (with_secret && c.previous_secret_valid_until_ms &&
      *c.previous_secret_valid_until_ms > clock_.NowMs())
    o["previous_secret_valid_until"] = FormatTimestamp(*c.previous_secret_valid_until_ms);
  return o;
}

}  // namespace parley::manager
