// The SQLite store's syncer: the WAL's fsync on a thread of its own, and jobs answered only
// after it (docs/architecture.md, "The syncer").

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "sqlite_store_fixture.hpp"

namespace parley::storage {
namespace {

// The syncer: a job completes only once an fsync of the WAL that began after its commit has
// returned, while the writer runs and commits the next jobs during that fsync; completions keep
// commit order, and a failed fsync is never reported as recorded.
TEST_F(SqliteStoreTest, JobsCompleteOnlyAfterTheWalIsSyncedAndTheWriterGoesOnMeanwhile) {
  std::mutex mu;
  std::condition_variable cv;
  int syncs_started = 0;
  bool release = false;
  std::atomic<int> fail_next{0};
  SqliteStoreOptions options;
  options.sync = [&](int fd) {
    std::unique_lock lock(mu);
    ++syncs_started;
    cv.notify_all();
    // Held until the test lets it go (10 s at most, so a broken test cannot hang).
    cv.wait_for(lock, std::chrono::seconds(10), [&] { return release; });
    if (fail_next.exchange(0) != 0) {
      errno = EIO;
      return -1;
    }
    return ::fdatasync(fd);
  };
  auto store = OpenSqlite(Path(), "", options);
  ASSERT_TRUE(store);
  std::vector<std::string> completed;  // in the order done ran (one thread: no race)
  std::atomic<int> ran{0};
  std::atomic<int> done_count{0};
  auto submit = [&](std::string name) {
    return store->SubmitWrite(
        [&, name](Tx& tx) {
          ++ran;
          return tx.InsertConnection(Conn("id-" + name, name)).has_value();
        },
        [&, name](bool committed, Handoff&) {
          completed.push_back(name + (committed ? "" : "!"));
          ++done_count;
        });
  };
  ASSERT_TRUE(submit("a"));
  // a's fsync has started and is held: a is committed (another connection sees it) but not
  // answered.
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return syncs_started == 1; }));
  }
  EXPECT_EQ(RawColumn(Path(), "SELECT name FROM connections"), std::vector<std::string>{"a"});
  // The writer is not held by that fsync: b and c run and commit meanwhile.
  ASSERT_TRUE(submit("b"));
  ASSERT_TRUE(submit("c"));
  ASSERT_TRUE(WaitFor([&] {
    return RawColumn(Path(), "SELECT COUNT(*) FROM connections") == std::vector<std::string>{"3"};
  }));
  EXPECT_EQ(ran.load(), 3);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(done_count.load(), 0) << "a job was answered before its fsync returned";
  // Let the fsyncs go: a first, then b and c (one fsync serves both), in commit order.
  {
    std::lock_guard lock(mu);
    release = true;
  }
  cv.notify_all();
  ASSERT_TRUE(WaitFor([&] { return done_count.load() == 3; }));
  EXPECT_EQ(completed, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_LE(store->Stats().syncs, 3u);
  EXPECT_GE(store->Stats().syncs, 2u);
  // A failed fsync: committed, perhaps not on disk, so reported as not recorded.
  fail_next = 1;
  ASSERT_TRUE(submit("d"));
  ASSERT_TRUE(WaitFor([&] { return done_count.load() == 4; }));
  EXPECT_EQ(completed.back(), "d!");
  // The store keeps serving.
  ASSERT_TRUE(submit("e"));
  ASSERT_TRUE(WaitFor([&] { return done_count.load() == 5; }));
  EXPECT_EQ(completed.back(), "e");
}

// An in-memory database has no WAL to sync: jobs complete on the writer as they commit.
TEST_F(SqliteStoreTest, AnInMemoryStoreHasNoSyncer) {
  bool synced = false;
  SqliteStoreOptions options;
  options.sync = [&](int) {
    synced = true;
    return 0;
  };
  auto store = OpenSqlite(":memory:", "", options);
  ASSERT_TRUE(store);
  auto insert = [](Tx& tx) { return tx.InsertConnection(Conn("id-1", "first")); };
  ASSERT_TRUE(Write<void>(*store, insert));
  EXPECT_FALSE(synced);
  EXPECT_EQ(store->Stats().syncs, 0u);
}

}  // namespace
}  // namespace parley::storage
