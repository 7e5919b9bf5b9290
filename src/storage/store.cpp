#include "storage/store.hpp"

#include <fmt/format.h>

#include "storage/postgres/pg_store.hpp"
#include "storage/sqlite/sqlite_store.hpp"

namespace parley::storage {

namespace {
Error NoReports() {
  return Error{Errc::kUnavailable, "reports_unsupported",
               "This server's store does not keep routing facts."};
}
}  // namespace

Result<void> Tx::InsertFact(const RoutingFact&) { return Fail(NoReports()); }
Result<std::vector<RoutingFact>> Tx::ListFacts(int64_t, int64_t, size_t) {
  return Fail(NoReports());
}
Result<std::optional<CsatRecord>> Tx::GetCsat(const std::string&) { return Fail(NoReports()); }
Result<void> Tx::PutCsat(const CsatRecord&) { return Fail(NoReports()); }
Result<std::pair<int64_t, int64_t>> Tx::CsatDay(const std::string&, int64_t) {
  return Fail(NoReports());
}
Result<void> Tx::AddCsatDay(const std::string&, int64_t, int64_t) { return Fail(NoReports()); }

namespace {
Failure NoSupervision() {
  return Fail(Errc::kUnavailable, "unsupported",
              "This store does not keep status periods or watchers.");
}
}  // namespace

Result<void> Tx::StartStatusPeriod(const std::string&, const std::string&,
                                   const std::optional<std::string>&, int64_t) {
  return NoSupervision();
}
Result<std::vector<StatusPeriodRecord>> Tx::ListStatusPeriods(const std::string&, int64_t,
                                                              int64_t) {
  return NoSupervision();
}
Result<void> Tx::PutWatcher(const WatcherRecord&) { return NoSupervision(); }
Result<bool> Tx::DeleteWatcher(const std::string&, const std::string&) { return NoSupervision(); }
Result<std::vector<WatcherRecord>> Tx::Watchers(const std::string&) { return NoSupervision(); }

Result<void> Tx::RenewNode(int64_t) { return {}; }
Result<std::vector<std::string>> Tx::ReapDeadNodes(int64_t, size_t) {
  return std::vector<std::string>{};
}

void Handoff::Add(const boost::asio::any_io_executor& ex, std::move_only_function<void()> fn) {
  // A batch reaches a handful of I/O threads, so a linear search is the fast way.
  for (Group& g : groups_) {
    if (g.ex == ex) {
      g.fns.push_back(std::move(fn));
      return;
    }
  }
  groups_.push_back({ex, {}});
  groups_.back().fns.push_back(std::move(fn));
}

void Handoff::Post() {
  for (Group& g : groups_) {
    boost::asio::post(g.ex, [fns = std::move(g.fns)]() mutable {
      for (auto& fn : fns) fn();
    });
  }
  groups_.clear();
}

Result<std::vector<DeliveryCount>> Tx::CountDeliveries(const std::string&) {
  return Fail(Errc::kUnavailable, "unsupported", "This store does not count deliveries.");
}

namespace {
Error NoLeases() {
  return Error{Errc::kUnavailable, "unsupported",
               "This store serves one node; it has no delivery leases."};
}
}  // namespace

Result<std::vector<LeaseClaim>> Tx::ClaimDeliveries(const std::string&, int64_t, int64_t,
                                                    const std::vector<std::string>&, size_t) {
  return Fail(NoLeases());
}
Result<std::vector<std::string>> Tx::RenewDeliveries(const std::string&, int64_t,
                                                     const std::vector<std::string>&) {
  return Fail(NoLeases());
}
Result<void> Tx::ReleaseDeliveries(const std::string&, const std::vector<std::string>&) {
  return Fail(NoLeases());
}
Result<void> Tx::Announce(const std::string&, const std::string&) { return {}; }
Result<std::vector<DeliveryRecord>> Tx::PendingAfter(
    const std::vector<std::pair<std::string, int64_t>>&) {
  return Fail(NoLeases());
}

Result<int64_t> Tx::CountSessions(int64_t) {
  return Fail(Errc::kUnavailable, "unsupported", "This store does not count sessions.");
}

Result<std::unique_ptr<Store>> OpenStore(const std::string& url, const std::string& master_key) {
  constexpr std::string_view kSqlite = "sqlite://";
  if (url == "sqlite::memory:" || url.starts_with(kSqlite)) {
    // sqlite:///abs/path -> /abs/path ; sqlite://rel/path -> rel/path
    std::string path = url == "sqlite::memory:" ? ":memory:" : url.substr(kSqlite.size());
    if (path.empty())
      return Fail(Errc::kInvalidArgument, "invalid_database",
                  "Give the database as sqlite:///absolute/path/parley.db.");
    auto store = sqlite::SqliteStore::Open(path, SecretBox(master_key));
    if (!store) return Fail(store.error());
    return std::unique_ptr<Store>(std::move(*store));
  }
  if (url.starts_with("postgres://") || url.starts_with("postgresql://")) {
    // The password comes from the URL or, as libpq does, from PGPASSWORD / ~/.pgpass.
    auto conninfo = postgres::ConnInfo(url);
    if (!conninfo) return Fail(conninfo.error());
    auto store = postgres::PgStore::Open(*conninfo, SecretBox(master_key));
    if (!store) return Fail(store.error());
    return std::unique_ptr<Store>(std::move(*store));
  }
  return Fail(UnknownDatabaseUrl(url));
}

Error UnknownDatabaseUrl(const std::string& url) {
  return Error{Errc::kInvalidArgument, "invalid_database",
               fmt::format("Unknown database URL '{}': use sqlite:///path/parley.db (a file) or "
                           "postgresql://user@host:5432/dbname.",
                           url)};
}

}  // namespace parley::storage
