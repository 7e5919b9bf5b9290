// Secrets sealed by default (issue 17): the key file beside a SQLite database, its mode, plain
// secrets sealed on start, and `parley key rotate`.
#include "storage/secrets.hpp"

#include <gtest/gtest.h>
#include <sodium.h>
#include <sys/stat.h>

#include <filesystem>

#include "sqlite_store_fixture.hpp"

namespace parley::storage {
namespace {

class SecretsTest : public SqliteStoreTest {
 protected:
  void SetUp() override { ASSERT_GE(sodium_init(), 0); }
  std::string Url() const { return "sqlite://" + Path(); }
  std::string KeyPath() const { return Path() + ".key"; }
  void Insert(const std::string& key, const std::string& id, const std::string& secret) {
    auto store = OpenSqlite(Path(), key);
    ASSERT_TRUE(store);
    auto insert = [&](Tx& tx) { return tx.InsertConnection(Conn(id, "n-" + id, secret)); };
    ASSERT_TRUE(Write<void>(*store, insert));
  }
  Result<std::string> SecretWith(const std::string& key, const std::string& id) {
    auto store = OpenSqlite(Path(), key);
    if (!store) return Fail(Errc::kInternal, "open", "cannot open");
    auto get = [&](Tx& tx) -> Result<std::string> {
      auto c = tx.GetConnection(id);
      if (!c) return Fail(c.error());
      if (!*c) return Fail(Errc::kNotFound, "absent", "absent");
      return (*c)->secret;
    };
    return Read<std::string>(*store, get);
  }
};

TEST_F(SecretsTest, AKeyFileIsCreatedBesideTheDatabaseWithMode0600AndReused) {
  auto first = ResolveMasterKey(Url(), "", "");
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_TRUE(first->created);
  EXPECT_EQ(first->source, KeyPath());
  EXPECT_EQ(first->raw.size(), 32u);
  struct stat st {};
  ASSERT_EQ(::stat(KeyPath().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto again = ResolveMasterKey(Url(), "", "");
  ASSERT_TRUE(again);
  EXPECT_FALSE(again->created);
  EXPECT_EQ(again->raw, first->raw);
}

TEST_F(SecretsTest, AKeyFileOthersMayReadIsRefused) {
  ASSERT_TRUE(ResolveMasterKey(Url(), "", ""));
  ::chmod(KeyPath().c_str(), 0644);
  auto r = ResolveMasterKey(Url(), "", "");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "key_file_mode");
  EXPECT_NE(r.error().message.find("chmod 600"), std::string::npos) << r.error().message;
}

TEST_F(SecretsTest, AMissingKeyFileWithSealedSecretsIsRefusedNotReplaced) {
  auto key = ResolveMasterKey(Url(), "", "");
  ASSERT_TRUE(key);
  Insert(key->raw, "c1", "the-secret-of-c1");
  std::filesystem::remove(KeyPath());
  auto r = ResolveMasterKey(Url(), "", "");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "key_file_missing");
  EXPECT_FALSE(std::filesystem::exists(KeyPath())) << "no new key is made for sealed secrets";
}

TEST_F(SecretsTest, TheEnvironmentKeyWinsAndPostgresNeedsOne) {
  std::string hex(64, 'a');
  auto r = ResolveMasterKey(Url(), hex, "");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->source, "PARLEY_MASTER_KEY");
  EXPECT_FALSE(std::filesystem::exists(KeyPath()));
  auto pg = ResolveMasterKey("postgres://db/parley", "", "");
  ASSERT_FALSE(pg);
  EXPECT_EQ(pg.error().code, "master_key_required");
  auto memory = ResolveMasterKey("sqlite::memory:", "", "");
  ASSERT_TRUE(memory);
  EXPECT_TRUE(memory->raw.empty());
  // A bare path is not taken for PostgreSQL: the error says how to name a file.
  auto bare = ResolveMasterKey("/var/lib/parley/parley.db", "", "");
  ASSERT_FALSE(bare);
  EXPECT_EQ(bare.error().code, "invalid_database");
  EXPECT_NE(bare.error().message.find("sqlite:///path/parley.db"), std::string::npos);
}

TEST_F(SecretsTest, PlainSecretsAreSealedWhenTheStoreOpensWithAKey) {
  Insert("", "c1", "plain-before-the-key");
  EXPECT_EQ(RawColumn(Path(), "SELECT secret FROM connections"),
            std::vector<std::string>{"plain:plain-before-the-key"});
  auto key = ResolveMasterKey(Url(), "", "");
  ASSERT_TRUE(key) << key.error().message;
  EXPECT_TRUE(key->created) << "plain secrets only: a key may be created";
  auto secret = SecretWith(key->raw, "c1");
  ASSERT_TRUE(secret) << secret.error().message;
  EXPECT_EQ(*secret, "plain-before-the-key");
  auto raw = RawColumn(Path(), "SELECT secret FROM connections");
  ASSERT_EQ(raw.size(), 1u);
  EXPECT_TRUE(raw[0].starts_with("sealed:")) << raw[0];
}

TEST_F(SecretsTest, RotateResealsUnderANewKeyAndReplacesTheFile) {
  auto key = ResolveMasterKey(Url(), "", "");
  ASSERT_TRUE(key);
  Insert(key->raw, "c1", "secret-one-abcdefghij");
  Insert(key->raw, "c2", "secret-two-abcdefghij");
  size_t resealed = 0;
  auto rotated = RotateMasterKey(Url(), key->raw, KeyPath(), &resealed);
  ASSERT_TRUE(rotated) << rotated.error().message;
  EXPECT_EQ(resealed, 2u);
  EXPECT_FALSE(std::filesystem::exists(KeyPath() + ".new"));
  auto now = ReadKeyFile(KeyPath());
  ASSERT_TRUE(now);
  EXPECT_NE(*now, key->raw);
  EXPECT_EQ(*SecretBox::ParseKey(*rotated), *now);
  auto with_new = SecretWith(*now, "c2");
  ASSERT_TRUE(with_new) << with_new.error().message;
  EXPECT_EQ(*with_new, "secret-two-abcdefghij");
  auto with_old = SecretWith(key->raw, "c1");
  ASSERT_FALSE(with_old);
  EXPECT_EQ(with_old.error().code, "master_key_mismatch");
  // A wrong old key changes nothing.
  auto wrong = RotateMasterKey(Url(), std::string(32, 'x'), KeyPath());
  ASSERT_FALSE(wrong);
  EXPECT_EQ(*ReadKeyFile(KeyPath()), *now);
}

}  // namespace
}  // namespace parley::storage
