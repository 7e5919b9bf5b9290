#include "manager/audit_log.hpp"

#include <spdlog/spdlog.h>

#include <boost/json.hpp>

#include "core/clock.hpp"

namespace parley::manager {
namespace asio = boost::asio;
namespace json = boost::json;

asio::awaitable<void> AuditLog::Record(storage::AuditRecord entry) {
  entry.at_ms = clock_.NowMs();
  auto job = [entry](storage::Tx& tx) -> Result<bool> {
    if (auto r = tx.InsertAudit(entry); !r) return Fail(r.error());
    return true;
  };
  auto done = co_await store_.Write<bool>(job);
  if (!done)
    spdlog::error("audit log: {} {} by {} not recorded: {}", entry.action, entry.target,
                  entry.actor, done.error().message);
}

asio::awaitable<Result<std::vector<storage::AuditRecord>>> AuditLog::List(int64_t before_id,
                                                                          size_t limit) {
  auto job = [before_id, limit](storage::Tx& tx) { return tx.ListAudit(before_id, limit); };
  co_return co_await store_.Read<std::vector<storage::AuditRecord>>(job);
}

json::object AuditLog::ToJson(const storage::AuditRecord& a) {
  boost::system::error_code ec;
  json::value detail = json::parse(a.detail, ec);
  if (ec || !detail.is_object()) detail = json::object();
  return json::object{{"id", a.id},
                      {"at", FormatTimestamp(a.at_ms)},
                      {"actor", a.actor},
                      {"role", a.role},
                      {"action", a.action},
                      {"target", a.target},
                      {"address", a.address},
                      {"outcome", a.outcome},
                      {"detail", std::move(detail)}};
}

}  // namespace parley::manager
