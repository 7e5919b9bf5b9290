// The connection directory against reloads that race local changes: a reload reads the store,
// then applies what it read; a connection created, changed or deleted here in between must keep
// its newer state (a just-created connection once answered 401 on PostgreSQL this way, when the
// node bus's first LISTEN reloaded every connection).
#include "manager/connection_directory.hpp"

#include <gtest/gtest.h>

namespace parley::manager {
namespace {

storage::ConnectionRecord Conn(const std::string& id, const std::string& secret) {
  storage::ConnectionRecord c;
  c.id = id;
  c.secret = secret;
  return c;
}

TEST(ConnectionDirectory, ACreateDuringAReloadSurvivesIt) {
  ConnectionDirectory d;
  d.Put(Conn("a", "s-a"));
  std::vector<storage::ConnectionRecord> read;
  {
    ConnectionDirectory::ReadMark mark(d);
    read = {Conn("a", "s-a")};  // the reload's read, from before "b" committed
    d.Put(Conn("b", "s-b"));    // created here meanwhile
    EXPECT_FALSE(d.Replace(read, mark)) << "the caller is told to read again";
  }
  ASSERT_NE(d.Find("b"), nullptr);
  EXPECT_EQ(d.Find("b")->secret, "s-b");
  ASSERT_NE(d.Find("a"), nullptr);
}

TEST(ConnectionDirectory, ADeleteAndARotationDuringAReloadSurviveIt) {
  ConnectionDirectory d;
  d.Put(Conn("a", "old"));
  d.Put(Conn("gone", "s"));
  ConnectionDirectory::ReadMark mark(d);
  std::vector<storage::ConnectionRecord> read = {Conn("a", "old"), Conn("gone", "s")};
  d.Put(Conn("a", "new"));
  d.Remove("gone");
  EXPECT_FALSE(d.Replace(read, mark));
  EXPECT_EQ(d.Find("a")->secret, "new");
  EXPECT_EQ(d.Find("gone"), nullptr);
}

TEST(ConnectionDirectory, AReloadWithNothingChangedMeanwhileIsAppliedWhole) {
  ConnectionDirectory d;
  d.Put(Conn("a", "s-a"));
  d.Put(Conn("stale", "s"));
  ConnectionDirectory::ReadMark mark(d);
  EXPECT_TRUE(d.Replace({Conn("a", "rotated elsewhere"), Conn("c", "s-c")}, mark));
  EXPECT_EQ(d.Find("a")->secret, "rotated elsewhere");
  EXPECT_NE(d.Find("c"), nullptr);
  EXPECT_EQ(d.Find("stale"), nullptr);
  EXPECT_EQ(d.Size(), 2u);
}

TEST(ConnectionDirectory, AOneConnectionRefreshKeepsALaterLocalChange) {
  ConnectionDirectory d;
  {
    ConnectionDirectory::ReadMark mark(d);
    d.Put(Conn("a", "local"));
    EXPECT_FALSE(d.Refresh("a", std::nullopt, mark));
  }
  EXPECT_EQ(d.Find("a")->secret, "local");
  {
    ConnectionDirectory::ReadMark mark(d);
    EXPECT_TRUE(d.Refresh("a", Conn("a", "remote"), mark));
  }
  EXPECT_EQ(d.Find("a")->secret, "remote");
  {
    ConnectionDirectory::ReadMark mark(d);
    EXPECT_TRUE(d.Refresh("a", std::nullopt, mark));
  }
  EXPECT_EQ(d.Find("a"), nullptr);
}

TEST(ConnectionDirectory, ChangesMadeWithNoReadInFlightAreNotRemembered) {
  ConnectionDirectory d;
  for (int i = 0; i < 1000; ++i) d.Put(Conn("c" + std::to_string(i), "s"));
  // A mark taken now sees none of them as newer than its read.
  ConnectionDirectory::ReadMark mark(d);
  EXPECT_TRUE(d.Replace({}, mark));
  EXPECT_EQ(d.Size(), 0u);
}

}  // namespace
}  // namespace parley::manager
