#pragma once
// The PostgreSQL side of the store tests. scripts/test-postgres starts a throwaway server and
// names it in PARLEY_TEST_PG; each test gets a schema of its own there (dropped at the end),
// selected through the connection's search_path, so tests never see each other's rows.

#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <atomic>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "storage/postgres/pg_store.hpp"

namespace parley::testing {

// The server's URL, when the tests run under scripts/test-postgres.
inline std::optional<std::string> TestPgUrl() {
  const char* url = std::getenv("PARLEY_TEST_PG");
  if (!url || !*url) return std::nullopt;
  return std::string(url);
}

// Runs SQL on a fresh connection to `conninfo`; the rows of its first column (or a failure).
inline std::vector<std::string> PgColumn(const std::string& conninfo, const std::string& sql) {
  std::vector<std::string> out;
  PGconn* c = PQconnectdb(conninfo.c_str());
  if (PQstatus(c) != CONNECTION_OK) {
    ADD_FAILURE() << "cannot connect: " << PQerrorMessage(c);
    PQfinish(c);
    return out;
  }
  PQsetNoticeProcessor(
      c, [](void*, const char*) {}, nullptr);  // "drop cascades to ..."
  PGresult* r = PQexec(c, sql.c_str());
  auto st = PQresultStatus(r);
  if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
    ADD_FAILURE() << sql << ": " << PQresultErrorMessage(r);
  } else if (st == PGRES_TUPLES_OK) {
    for (int i = 0; i < PQntuples(r); ++i)
      out.emplace_back(PQgetisnull(r, i, 0) ? "<null>" : PQgetvalue(r, i, 0));
  }
  PQclear(r);
  PQfinish(c);
  return out;
}

// A schema of its own on the test server, dropped with everything in it at the end.
class PgSchema {
 public:
  PgSchema() {
    static std::atomic<int> counter{0};
    name_ = "t" + std::to_string(::getpid()) + "_" + std::to_string(counter++);
    auto base = TestPgUrl();
    if (!base) {
      ADD_FAILURE() << "PARLEY_TEST_PG is not set: run these tests through scripts/test-postgres";
      return;
    }
    base_ = *base;
    PgColumn(base_, "DROP SCHEMA IF EXISTS " + name_ + " CASCADE; CREATE SCHEMA " + name_);
  }
  ~PgSchema() {
    if (!base_.empty()) PgColumn(base_, "DROP SCHEMA IF EXISTS " + name_ + " CASCADE");
  }
  PgSchema(const PgSchema&) = delete;
  PgSchema& operator=(const PgSchema&) = delete;

  // A URL whose connections work inside this schema.
  std::string Url() const {
    return base_ + (base_.find('?') == std::string::npos ? "?" : "&") +
           "options=-c%20search_path%3D" + name_;
  }
  const std::string& name() const { return name_; }

 private:
  std::string base_;
  std::string name_;
};

inline std::unique_ptr<storage::postgres::PgStore> OpenPg(
    const std::string& url, std::string key = "", storage::postgres::PgStoreOptions options = {}) {
  auto conninfo = storage::postgres::ConnInfo(url);
  if (!conninfo) {
    ADD_FAILURE() << conninfo.error().message;
    return nullptr;
  }
  auto store =
      storage::postgres::PgStore::Open(*conninfo, storage::SecretBox(std::move(key)), options);
  if (!store) {
    ADD_FAILURE() << "cannot open the PostgreSQL store: " << store.error().message;
    return nullptr;
  }
  return std::move(*store);
}

}  // namespace parley::testing
