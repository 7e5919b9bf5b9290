// The audit log (issue 17): what an admin request is recorded as, and the store's paging.
#include "http/audit.hpp"

#include <gtest/gtest.h>

#include "sqlite_store_fixture.hpp"

namespace parley::http {
namespace {

AuditedAction Classify(std::string method, std::string path, std::string body = "",
                       std::string answer = "") {
  Request req;
  req.method = std::move(method);
  req.path = std::move(path);
  req.body = std::move(body);
  Response res;
  res.body = std::move(answer);
  return ClassifyAdminRequest(req, res);
}

TEST(AuditTest, AdminRequestsAreNamedWithTheirTarget) {
  auto create = Classify("POST", "/api/v1/connections", R"({"name":"Web"})",
                         R"({"connection_id":"c-1","jwt_secret":"s"})");
  EXPECT_EQ(create.action, "connection.create");
  EXPECT_EQ(create.target, "Web") << "the name sent";
  auto rotate = Classify("POST", "/api/v1/connections/c-1/rotate-secret");
  EXPECT_EQ(rotate.action, "connection.rotate_secret");
  EXPECT_EQ(rotate.target, "c-1");
  EXPECT_EQ(Classify("GET", "/api/v1/connections/c-1").action, "connection.read_secret");
  EXPECT_EQ(Classify("GET", "/api/v1/connections").action, "");
  EXPECT_EQ(Classify("GET", "/api/v1/users/bob").action, "");
  EXPECT_EQ(Classify("PATCH", "/api/v1/users/bob").action, "user.update");
  EXPECT_EQ(Classify("DELETE", "/api/v1/users/bob").target, "bob");
  EXPECT_EQ(Classify("POST", "/api/v1/users/bob/password").action, "user.set_password");
  auto user = Classify("POST", "/api/v1/users", R"({"username":"ann","password":"p"})");
  EXPECT_EQ(user.action, "user.create");
  EXPECT_EQ(user.target, "ann");
  EXPECT_EQ(Classify("POST", "/api/v1/deliveries/e-9/replay").action, "delivery.replay");
  EXPECT_EQ(Classify("POST", "/api/v1/bots/bank/reload").action, "bot.reload");
  EXPECT_EQ(Classify("DELETE", "/api/v1/queues/cards").action, "queue.delete");
  EXPECT_EQ(Classify("POST", "/messages").action, "");
}

using storage::SqliteStoreTest;

TEST_F(SqliteStoreTest, AuditEntriesComeNewestFirstInPages) {
  auto store = storage::OpenSqlite(Path());
  ASSERT_TRUE(store);
  for (int i = 1; i <= 5; ++i) {
    storage::AuditRecord a;
    a.at_ms = i;
    a.actor = "root";
    a.role = "admin";
    a.action = "queue.create";
    a.target = "q" + std::to_string(i);
    a.address = "127.0.0.1";
    a.outcome = 201;
    auto insert = [a](storage::Tx& tx) { return tx.InsertAudit(a); };
    ASSERT_TRUE(Write<void>(*store, insert));
  }
  auto page = [](int64_t before, size_t n) {
    return [before, n](storage::Tx& tx) { return tx.ListAudit(before, n); };
  };
  auto first = Read<std::vector<storage::AuditRecord>>(*store, page(0, 2));
  ASSERT_TRUE(first);
  ASSERT_EQ(first->size(), 2u);
  EXPECT_EQ((*first)[0].target, "q5");
  EXPECT_EQ((*first)[1].target, "q4");
  auto next = Read<std::vector<storage::AuditRecord>>(*store, page((*first)[1].id, 10));
  ASSERT_TRUE(next);
  ASSERT_EQ(next->size(), 3u);
  EXPECT_EQ((*next)[0].target, "q3");
  EXPECT_EQ((*next)[2].outcome, 201);
}

}  // namespace
}  // namespace parley::http
