#pragma once
// The fixture of the store contract tests (store_contract_test.cpp and
// store_contract_routing_test.cpp): each case runs once per store kind (StoreKinds: SQLite, and
// PostgreSQL under scripts/test-postgres), on a fresh database of its own.

#include <sqlite3.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "pg_test_support.hpp"
#include "sqlite_store_fixture.hpp"

namespace parley::storage {

inline std::vector<std::string> StoreKinds() {
  std::vector<std::string> kinds{"sqlite"};
  if (parley::testing::TestPgUrl()) kinds.push_back("postgres");
  return kinds;
}

class StoreContractTest : public ::testing::TestWithParam<std::string> {
 protected:
  bool Postgres() const { return GetParam() == "postgres"; }

  std::unique_ptr<Store> Open(std::string key = std::string(kMasterKey),
                              size_t max_queued_jobs = 20000) {
    if (Postgres()) {
      postgres::PgStoreOptions o;
      o.max_queued_jobs = max_queued_jobs;
      return parley::testing::OpenPg(schema_->Url(), std::move(key), o);
    }
    SqliteStoreOptions o;
    o.max_queued_jobs = max_queued_jobs;
    return OpenSqlite(dir_.File("parley.db"), std::move(key), o);
  }
  // Opens without failing the test: for the cases where opening must fail.
  Result<std::unique_ptr<Store>> TryOpen() {
    if (Postgres()) {
      auto info = postgres::ConnInfo(schema_->Url());
      if (!info) return Fail(info.error());
      auto s = postgres::PgStore::Open(*info, SecretBox(""));
      if (!s) return Fail(s.error());
      return std::unique_ptr<Store>(std::move(*s));
    }
    auto s = sqlite::SqliteStore::Open(dir_.File("parley.db"), SecretBox(""));
    if (!s) return Fail(s.error());
    return std::unique_ptr<Store>(std::move(*s));
  }
  // One column of a query run beside the store, on the raw database.
  std::vector<std::string> Raw(const std::string& sql) {
    if (Postgres()) return parley::testing::PgColumn(schema_->Url(), sql);
    return RawColumn(dir_.File("parley.db"), sql);
  }
  void RawWrite(const std::string& sql) {
    if (Postgres()) {
      parley::testing::PgColumn(schema_->Url(), sql);
      return;
    }
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(dir_.File("parley.db").c_str(), &db), SQLITE_OK);
    char* err = nullptr;
    EXPECT_EQ(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err), SQLITE_OK) << err;
    sqlite3_free(err);
    sqlite3_close(db);
  }

  template <class T, class F>
  Result<T> Write(Store& store, const F& job) {
    return Await(io_, store.Write<T>(job));
  }
  template <class T, class F>
  Result<T> Read(Store& store, const F& job) {
    return Await(io_, store.Read<T>(job));
  }

  void SetUp() override {
    if (Postgres()) schema_.emplace();
  }

  TempDir dir_;
  std::optional<parley::testing::PgSchema> schema_;
  boost::asio::io_context io_;
};

}  // namespace parley::storage
