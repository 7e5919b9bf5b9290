// The page cache wrapper (storage/sqlite/page_cache.hpp): the truncate at the end of a
// transaction is skipped when nothing lies past the database's end, and passed on to SQLite's
// own cache when something does (a rolled-back growth), so the data stays what was committed.
#include "storage/sqlite/page_cache.hpp"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>

#include "storage/sqlite/db.hpp"
#include "test_support.hpp"

namespace parley::storage::sqlite {
namespace {

using parley::testing::TempDir;

std::unique_ptr<Db> OpenDb(const TempDir& dir) {
  auto db = Db::Open(dir.File("cache.db"));
  EXPECT_TRUE(db) << (db ? "" : db.error().message);
  auto made = (*db)->Exec("CREATE TABLE t (k TEXT PRIMARY KEY, v BLOB NOT NULL)");
  EXPECT_TRUE(made);
  return std::move(*db);
}

void Put(Db& db, const std::string& k, int size) {
  auto s = db.Prepare("INSERT OR REPLACE INTO t (k, v) VALUES (?1, zeroblob(?2))");
  ASSERT_TRUE(s);
  (*s)->Bind(1, k).Bind(2, static_cast<int64_t>(size));
  ASSERT_TRUE(db.Run(**s, "put"));
}

// Random keys split the primary key's b-tree in its middle, which is where SQLite moves a new
// page through a spare number for a moment (the case the wrapper is for).
std::string RandomKey(std::mt19937_64& rng) { return std::to_string(rng()); }

std::map<std::string, int64_t> Contents(Db& db) {
  std::map<std::string, int64_t> out;
  auto s = db.Prepare("SELECT k, length(v) FROM t");
  EXPECT_TRUE(s);
  while ((*s)->Step() == SQLITE_ROW) out[(*s)->Text(0)] = (*s)->Int(1);
  return out;
}

std::string IntegrityCheck(Db& db) {
  auto s = db.Prepare("PRAGMA integrity_check");
  EXPECT_TRUE(s);
  return (*s)->Step() == SQLITE_ROW ? (*s)->Text(0) : "no answer";
}

TEST(PageCache, SkipsTheTruncateWhenNothingLiesPastTheEnd) {
  TempDir dir;
  auto db = OpenDb(dir);
  std::mt19937_64 rng(7);
  PageCacheCounts before = PageCacheCountsNow();
  for (int i = 0; i < 1000; ++i) {
    ASSERT_TRUE(db->Exec("BEGIN"));
    for (int j = 0; j < 5; ++j) Put(*db, RandomKey(rng), 200);
    ASSERT_TRUE(db->Exec("COMMIT"));
  }
  PageCacheCounts after = PageCacheCountsNow();
  uint64_t truncates = after.truncates - before.truncates;
  uint64_t passed_on = after.passed_on - before.passed_on;
  // Zero truncates would mean SQLite runs without the wrapper (initialised before it).
  EXPECT_GE(truncates, 1000u);
  EXPECT_LT(passed_on, truncates / 10) << passed_on << " of " << truncates << " passed on";
  EXPECT_EQ(IntegrityCheck(*db), "ok");
  EXPECT_EQ(Contents(*db).size(), 5000u);
}

TEST(PageCache, ARolledBackGrowthLeavesOnlyWhatWasCommitted) {
  TempDir dir;
  auto db = OpenDb(dir);
  std::mt19937_64 rng(11);
  std::map<std::string, int64_t> model;
  PageCacheCounts before = PageCacheCountsNow();
  for (int round = 0; round < 200; ++round) {
    int kind = static_cast<int>(rng() % 4);
    ASSERT_TRUE(db->Exec("BEGIN"));
    std::map<std::string, int64_t> next = model;
    if (kind == 0 || kind == 1) {  // grow (big rows: many new pages), then keep or roll back
      for (int j = 0; j < 40; ++j) {
        std::string k = RandomKey(rng);
        Put(*db, k, 3000);
        next[k] = 3000;
      }
      ASSERT_TRUE(db->Exec(kind == 0 ? "COMMIT" : "ROLLBACK"));
      if (kind == 0) model = next;
      continue;
    }
    if (kind == 2) {  // a savepoint grows the file and is rolled back; the rest commits
      std::string kept = RandomKey(rng);
      Put(*db, kept, 100);
      ASSERT_TRUE(db->Exec("SAVEPOINT s"));
      for (int j = 0; j < 40; ++j) Put(*db, RandomKey(rng), 3000);
      ASSERT_TRUE(db->Exec("ROLLBACK TO s"));
      ASSERT_TRUE(db->Exec("RELEASE s"));
      ASSERT_TRUE(db->Exec("COMMIT"));
      model[kept] = 100;
      continue;
    }
    // Deletes some rows (freeing pages inside the file), then commits.
    size_t n = 0;
    for (auto it = model.begin(); it != model.end() && n < 10; ++n) {
      auto s = db->Prepare("DELETE FROM t WHERE k = ?1");
      ASSERT_TRUE(s);
      (*s)->Bind(1, it->first);
      ASSERT_TRUE(db->Run(**s, "delete"));
      it = model.erase(it);
    }
    ASSERT_TRUE(db->Exec("COMMIT"));
  }
  PageCacheCounts after = PageCacheCountsNow();
  // The rollbacks of a growth had pages past the end to drop: those truncates went through.
  EXPECT_GT(after.passed_on, before.passed_on);
  EXPECT_EQ(IntegrityCheck(*db), "ok");
  EXPECT_EQ(Contents(*db), model);

  // A second connection reads the file as committed (it has a cache of its own).
  auto other = Db::Open(dir.File("cache.db"));
  ASSERT_TRUE(other);
  EXPECT_EQ(Contents(**other), model);
}

}  // namespace
}  // namespace parley::storage::sqlite
