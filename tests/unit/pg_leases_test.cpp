// Delivery leases on PostgreSQL (issue 15, migration 0013): two nodes (stores) on one database
// claim the outbound delivery of conversations. One node at a time holds a conversation; a
// claim skips a lease row another node is taking at that moment instead of waiting; an expired
// lease is taken over and its old holder cannot renew it; a released one is free at once; the
// holder reads the events other nodes wrote, above what it has, in seq order.
// Runs under scripts/test-postgres (ctest label `postgres`).

#include <libpq-fe.h>

#include <algorithm>
#include <chrono>

#include "pg_test_support.hpp"
#include "sqlite_store_fixture.hpp"

namespace parley::storage {
namespace {

using parley::testing::OpenPg;
using parley::testing::PgSchema;
using parley::testing::TestPgUrl;
using postgres::PgStore;

std::vector<std::string> LeaseServers() {
  if (TestPgUrl()) return {"postgres"};
  return {};
}

class PgLeasesTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    a_ = OpenPg(schema_.Url(), std::string(kMasterKey));
    b_ = OpenPg(schema_.Url(), std::string(kMasterKey));
    ASSERT_TRUE(a_ && b_);
    // Two conversations with pending outbound events (seq 1..3 and 1).
    auto job = [](Tx& tx) -> Result<bool> {
      if (auto r = tx.InsertConnection(Conn("conn", "Shop")); !r) return Fail(r.error());
      for (const char* id : {"v1", "v2"}) {
        auto c = Conversation(id, "conn", std::string("cust-") + id);
        if (auto r = tx.InsertConversation(c); !r) return Fail(r.error());
      }
      auto v1 = Conversation("v1", "conn", "cust-v1");
      for (int s = 1; s <= 3; ++s)
        if (auto r = tx.InsertEvent(Outbound(v1, s, s, "e1-" + std::to_string(s))); !r)
          return Fail(r.error());
      auto v2 = Conversation("v2", "conn", "cust-v2");
      if (auto r = tx.InsertEvent(Outbound(v2, 1, 1, "e2-1")); !r) return Fail(r.error());
      return true;
    };
    ASSERT_TRUE(Await(io_, a_->Write<bool>(job)));
  }

  std::vector<LeaseClaim> Claim(PgStore& s, const std::string& node, int64_t now,
                                std::vector<std::string> wanted = {}) {
    auto job = [node, now, wanted](Tx& tx) {
      return tx.ClaimDeliveries(node, now, now + 10'000, wanted, 100);
    };
    auto r = Await(io_, s.Write<std::vector<LeaseClaim>>(job));
    EXPECT_TRUE(r) << (r ? "" : r.error().message);
    return r ? *r : std::vector<LeaseClaim>{};
  }
  std::vector<std::string> Ids(const std::vector<LeaseClaim>& claims) {
    std::vector<std::string> out;
    for (const auto& c : claims) out.push_back(c.conversation_id);
    std::sort(out.begin(), out.end());
    return out;
  }

  PgSchema schema_;
  boost::asio::io_context io_;
  std::unique_ptr<PgStore> a_, b_;
};

GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(PgLeasesTest);
INSTANTIATE_TEST_SUITE_P(Pg, PgLeasesTest, ::testing::ValuesIn(LeaseServers()),
                         [](const auto& info) { return info.param; });

TEST_P(PgLeasesTest, OneNodeAtATimeThenTakeoverAfterExpiry) {
  auto first = Claim(*a_, "node-a", 100'000);
  EXPECT_EQ(Ids(first), (std::vector<std::string>{"v1", "v2"}));
  for (const auto& c : first) EXPECT_EQ(c.taken_from, "");
  // Held by A until 110,000: B finds nothing, by name or in general.
  EXPECT_TRUE(Claim(*b_, "node-b", 105'000).empty());
  EXPECT_TRUE(Claim(*b_, "node-b", 105'000, {"v1"}).empty());
  // A renews v1 only; v2's lease then expires and B takes it over.
  auto renew = [](Tx& tx) {
    return tx.RenewDeliveries("node-a", 120'000, std::vector<std::string>{"v1"});
  };
  auto renewed = Await(io_, a_->Write<std::vector<std::string>>(renew));
  ASSERT_TRUE(renewed);
  EXPECT_EQ(*renewed, (std::vector<std::string>{"v1"}));
  auto taken = Claim(*b_, "node-b", 115'000);
  ASSERT_EQ(Ids(taken), (std::vector<std::string>{"v2"}));
  EXPECT_EQ(taken[0].taken_from, "node-a");
  // A's renewal of v2 now fails: the lease is B's.
  auto renew2 = [](Tx& tx) {
    return tx.RenewDeliveries("node-a", 130'000, std::vector<std::string>{"v1", "v2"});
  };
  renewed = Await(io_, a_->Write<std::vector<std::string>>(renew2));
  ASSERT_TRUE(renewed);
  EXPECT_EQ(*renewed, (std::vector<std::string>{"v1"}));
}

TEST_P(PgLeasesTest, ReleasedLeaseIsFreeAtOnceAndNotATakeover) {
  ASSERT_EQ(Ids(Claim(*a_, "node-a", 100'000, {"v1"})), (std::vector<std::string>{"v1"}));
  auto release = [](Tx& tx) -> Result<bool> {
    auto r = tx.ReleaseDeliveries("node-a", {"v1"});
    if (!r) return Fail(r.error());
    return true;
  };
  ASSERT_TRUE(Await(io_, a_->Write<bool>(release)));
  auto taken = Claim(*b_, "node-b", 100'001, {"v1"});
  ASSERT_EQ(Ids(taken), (std::vector<std::string>{"v1"}));
  EXPECT_EQ(taken[0].taken_from, "");  // released, not expired
}

// While another transaction holds v1's lease row (a node claiming it right now), a claim skips
// v1 without waiting and still takes v2.
TEST_P(PgLeasesTest, ClaimSkipsARowBeingClaimedElsewhere) {
  ASSERT_EQ(Ids(Claim(*a_, "node-a", 100'000)), (std::vector<std::string>{"v1", "v2"}));
  auto conninfo = postgres::ConnInfo(schema_.Url());
  ASSERT_TRUE(conninfo);
  PGconn* other = PQconnectdb(conninfo->c_str());
  ASSERT_EQ(PQstatus(other), CONNECTION_OK);
  PQclear(PQexec(other, "BEGIN"));
  PGresult* locked =
      PQexec(other, "SELECT 1 FROM delivery_leases WHERE conversation_id = 'v1' FOR UPDATE");
  ASSERT_EQ(PQresultStatus(locked), PGRES_TUPLES_OK);
  PQclear(locked);
  auto started = std::chrono::steady_clock::now();
  auto taken = Claim(*b_, "node-b", 200'000);  // both expired
  auto took = std::chrono::steady_clock::now() - started;
  EXPECT_EQ(Ids(taken), (std::vector<std::string>{"v2"}));
  EXPECT_LT(took, std::chrono::seconds(2)) << "the claim waited for the locked row";
  PQclear(PQexec(other, "ROLLBACK"));
  PQfinish(other);
  EXPECT_EQ(Ids(Claim(*b_, "node-b", 200'001, {"v1"})), (std::vector<std::string>{"v1"}));
}

TEST_P(PgLeasesTest, PendingAfterReadsAboveTheGivenSeqInOrder) {
  auto deliver = [](Tx& tx) -> Result<bool> {
    auto d = tx.GetDelivery("e1-2");
    if (!d || !*d) return Fail(Errc::kInternal, "x", "missing");
    EventRecord e = (*d)->event;
    e.delivery_status = "delivered";
    e.delivered_at_ms = 5000;
    if (auto r = tx.UpdateDelivery(e); !r) return Fail(r.error());
    return true;
  };
  ASSERT_TRUE(Await(io_, a_->Write<bool>(deliver)));
  auto read = [](Tx& tx) { return tx.PendingAfter({{"v1", 0}, {"v2", 1}}); };
  auto pending = Await(io_, a_->Read<std::vector<DeliveryRecord>>(read));
  ASSERT_TRUE(pending);
  std::vector<std::string> ids;
  for (const auto& d : *pending) ids.push_back(d.event.event_id.value_or(""));
  // e1-2 is delivered; v2 has nothing above seq 1.
  EXPECT_EQ(ids, (std::vector<std::string>{"e1-1", "e1-3"}));
  EXPECT_EQ((*pending)[0].customer_id, "cust-v1");
}

}  // namespace
}  // namespace parley::storage
