// parley backup / restore on the SQLite store (storage/sqlite/backup.*), and the operations
// counts /metrics reads (CountDeliveries, CountSessions).
#include "storage/sqlite/backup.hpp"

#include <filesystem>
#include <fstream>

#include "sqlite_store_fixture.hpp"

namespace parley::storage {
namespace {

namespace fs = std::filesystem;

class BackupTest : public SqliteStoreTest {
 protected:
  // A store at Path() with a connection, a conversation, one inbound and `outbound` outbound
  // events (the first delivered, the rest pending).
  std::unique_ptr<SqliteStore> Seeded(int outbound) {
    auto store = OpenSqlite(Path());
    if (!store) return nullptr;
    auto seed = [outbound](Tx& tx) -> Result<void> {
      if (auto r = tx.InsertConnection(Conn("c1", "first")); !r) return Fail(r.error());
      auto conv = Conversation("v1", "c1", "cust");
      if (auto r = tx.InsertConversation(conv); !r) return Fail(r.error());
      if (auto r = tx.InsertEvent(Inbound(conv, 1, "m1")); !r) return Fail(r.error());
      for (int i = 0; i < outbound; ++i) {
        auto e = Outbound(conv, 2 + i, 1 + i, "e" + std::to_string(i));
        if (i == 0) e.delivery_status = "delivered";
        if (i == 1) e.attempts = 2;
        if (auto r = tx.InsertEvent(e); !r) return Fail(r.error());
      }
      return {};
    };
    auto r = Write<void>(*store, seed);
    EXPECT_TRUE(r) << r.error().message;
    return store;
  }
};

TEST_F(BackupTest, BackupOfARunningStoreRestoresEverything) {
  auto store = Seeded(3);
  ASSERT_TRUE(store);
  std::string file = dir_.File("backup.db");
  auto done = sqlite::Backup(Path(), file, false);
  ASSERT_TRUE(done) << done.error().message;
  EXPECT_GT(done->bytes, 0);
  EXPECT_GT(done->pages, 0);
  EXPECT_FALSE(fs::exists(file + ".partial"));
  // The copy is one self-contained file with every row.
  EXPECT_FALSE(fs::exists(file + "-wal"));
  EXPECT_EQ(RawColumn(file, "SELECT count(*) FROM events"), std::vector<std::string>{"4"});
  // Written while the store still runs, and a second backup to the same file is refused.
  auto again = sqlite::Backup(Path(), file, false);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, "file_exists");
  store->Close();
  store.reset();

  // Restore into a new place, then open it as a store.
  std::string target = dir_.File("restored.db");
  auto restored = sqlite::Restore(file, target, false);
  ASSERT_TRUE(restored) << restored.error().message;
  auto reopened = OpenSqlite(target);
  ASSERT_TRUE(reopened);
  auto list = [](Tx& tx) {
    DeliveryFilter f;
    f.connection_id = "c1";
    f.limit = 10;
    return tx.ListDeliveries(f);
  };
  auto deliveries = Read<std::vector<DeliveryRecord>>(*reopened, list);
  ASSERT_TRUE(deliveries) << deliveries.error().message;
  ASSERT_EQ(deliveries->size(), 3u);
  int delivered = 0;
  for (const auto& d : *deliveries) delivered += d.event.delivery_status == "delivered";
  EXPECT_EQ(delivered, 1);
}

TEST_F(BackupTest, RestoreRefusesWithoutForceAndWhileTheStoreIsOpen) {
  auto store = Seeded(1);
  ASSERT_TRUE(store);
  std::string file = dir_.File("backup.db");
  ASSERT_TRUE(sqlite::Backup(Path(), file, false));
  auto refused = sqlite::Restore(file, Path(), false);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, "target_exists");
  auto busy = sqlite::Restore(file, Path(), true);
  ASSERT_FALSE(busy);
  EXPECT_EQ(busy.error().code, "server_running") << busy.error().message;
  store->Close();
  store.reset();
  auto forced = sqlite::Restore(file, Path(), true);
  EXPECT_TRUE(forced) << forced.error().message;
}

TEST_F(BackupTest, RefusesWhatIsNotAParleyDatabase) {
  std::string junk = dir_.File("junk.db");
  std::ofstream(junk) << "not a database at all, just text that is long enough to matter";
  auto r = sqlite::Restore(junk, dir_.File("x.db"), false);
  ASSERT_FALSE(r);
  auto missing = sqlite::Backup(dir_.File("none.db"), dir_.File("b.db"), false);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, "not_found");
  EXPECT_FALSE(sqlite::SqlitePathOf("postgres://db/parley"));
  EXPECT_EQ(*sqlite::SqlitePathOf("sqlite:///var/lib/parley/parley.db"),
            "/var/lib/parley/parley.db");
}

TEST_F(BackupTest, CountsUndeliveredEventsPerConnection) {
  auto store = Seeded(4);  // delivered, pending with 2 attempts, pending, pending
  ASSERT_TRUE(store);
  auto count = [](Tx& tx) { return tx.CountDeliveries("c1"); };
  auto r = Read<std::vector<DeliveryCount>>(*store, count);
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].status, "pending");
  EXPECT_EQ((*r)[0].count, 3);
  EXPECT_EQ((*r)[0].failing, 1);
  EXPECT_EQ((*r)[0].oldest_at_ms, 2003);
  EXPECT_EQ((*r)[1].status, "dead");
  EXPECT_EQ((*r)[1].count, 0);
  EXPECT_FALSE((*r)[1].oldest_at_ms);
  auto sessions = [](Tx& tx) { return tx.CountSessions(0); };
  auto n = Read<int64_t>(*store, sessions);
  ASSERT_TRUE(n) << n.error().message;
  EXPECT_EQ(*n, 0);
}

}  // namespace
}  // namespace parley::storage
