// Users: field validation, the REST decoders, the JSON shown (never the hash), Argon2id
// round-trips off the calling thread with a bound, and the admin operations against a real
// SQLite store, including the end of sessions on disable, delete and password change.

#include "manager/user_service.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/json.hpp>
#include <future>
#include <thread>

#include "test_support.hpp"

namespace parley::manager {
namespace {

namespace json = boost::json;
using parley::testing::Await;
using parley::testing::OpenSqlite;
using parley::testing::TempDir;

std::string CodeOf(const Result<void>& r) { return r ? "" : r.error().code; }

TEST(UserValidation, Usernames) {
  EXPECT_EQ(CodeOf(CheckUsername("alice")), "");
  EXPECT_EQ(CodeOf(CheckUsername("a.b_c-9")), "");
  EXPECT_EQ(CodeOf(CheckUsername(std::string(64, 'a'))), "");
  EXPECT_EQ(CodeOf(CheckUsername("")), "invalid_username");
  EXPECT_EQ(CodeOf(CheckUsername(std::string(65, 'a'))), "invalid_username");
  EXPECT_EQ(CodeOf(CheckUsername("Alice")), "invalid_username");
  EXPECT_EQ(CodeOf(CheckUsername("a b")), "invalid_username");
  EXPECT_EQ(CodeOf(CheckUsername("a/b")), "invalid_username");
}

TEST(UserValidation, DisplayNamesRolesQueuesMaxChats) {
  EXPECT_EQ(CodeOf(CheckDisplayName("Alice Agent")), "");
  EXPECT_EQ(CodeOf(CheckDisplayName(std::string(100, 'x'))), "");
  // 100 characters of two bytes each is still 100 characters.
  std::string accents;
  for (int i = 0; i < 100; ++i) accents += "\xC3\xA9";
  EXPECT_EQ(CodeOf(CheckDisplayName(accents)), "");
  EXPECT_EQ(CodeOf(CheckDisplayName(std::string(101, 'x'))), "invalid_display_name");
  EXPECT_EQ(CodeOf(CheckDisplayName("")), "invalid_display_name");
  EXPECT_EQ(CodeOf(CheckDisplayName("   ")), "invalid_display_name");
  EXPECT_EQ(CodeOf(CheckDisplayName("a\nb")), "invalid_display_name");

  EXPECT_EQ(CodeOf(CheckRole("admin")), "");
  EXPECT_EQ(CodeOf(CheckRole("agent")), "");
  EXPECT_EQ(CodeOf(CheckRole("supervisor")), "");
  EXPECT_EQ(CodeOf(CheckRole("root")), "invalid_role");
  EXPECT_EQ(CodeOf(CheckRole("Admin")), "invalid_role");

  EXPECT_EQ(CodeOf(CheckQueues({})), "");
  EXPECT_EQ(CodeOf(CheckQueues({"cards", "general"})), "");
  EXPECT_EQ(CodeOf(CheckQueues({"cards", "cards"})), "invalid_queues");
  EXPECT_EQ(CodeOf(CheckQueues({"Cards"})), "invalid_queues");
  EXPECT_EQ(CodeOf(CheckQueues({""})), "invalid_queues");

  EXPECT_EQ(CodeOf(CheckMaxChats(1)), "");
  EXPECT_EQ(CodeOf(CheckMaxChats(20)), "");
  EXPECT_EQ(CodeOf(CheckMaxChats(0)), "invalid_max_chats");
  EXPECT_EQ(CodeOf(CheckMaxChats(21)), "invalid_max_chats");
}

TEST(UserValidation, Passwords) {
  EXPECT_EQ(CodeOf(CheckPassword("0123456789")), "");
  EXPECT_EQ(CodeOf(CheckPassword("012345678")), "password_too_short");
  EXPECT_EQ(CodeOf(CheckPassword("")), "password_too_short");
  EXPECT_EQ(CodeOf(CheckPassword(std::string(1023, 'p') + "q")), "");
  EXPECT_EQ(CodeOf(CheckPassword(std::string(1025, 'p'))), "password_too_long");
}

// Issue 17, defect 7: one character repeated, or whitespace alone, was accepted.
TEST(UserValidation, PasswordsOfOneRepeatedCharacterOrWhitespaceAreRefused) {
  EXPECT_EQ(CodeOf(CheckPassword(std::string(1024, 'p'))), "password_too_weak");
  EXPECT_EQ(CodeOf(CheckPassword("aaaaaaaaaa")), "password_too_weak");
  EXPECT_EQ(CodeOf(CheckPassword("          ")), "password_too_weak");
  EXPECT_EQ(CodeOf(CheckPassword(" \t \t \t \t \t ")), "password_too_weak");
  EXPECT_EQ(
      CodeOf(CheckPassword(
          "\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9")),
      "password_too_weak");
  EXPECT_EQ(CodeOf(CheckPassword("aaaaaaaaab")), "");
  EXPECT_EQ(CodeOf(CheckPassword(" aaaaaaaaa")), "");
  EXPECT_EQ(CodeOf(CheckPassword("correct horse")), "");
}

TEST(UserDecode, NewUserDefaultsAndFieldErrors) {
  auto ok = DecodeNewUser(json::parse(
      R"({"username":"alice","password":"correct-horse","display_name":"Alice","role":"agent",
          "queues":["cards"]})"));
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok->username, "alice");
  EXPECT_EQ(ok->max_chats, 3);
  EXPECT_TRUE(ok->enabled);
  EXPECT_EQ(ok->queues, std::vector<std::string>{"cards"});

  auto code = [](const char* text) {
    auto r = DecodeNewUser(json::parse(text));
    return r ? std::string() : r.error().code;
  };
  EXPECT_EQ(code(R"({"password":"correct-horse","display_name":"A","role":"agent"})"),
            "invalid_username");
  EXPECT_EQ(code(R"({"username":"a","password":"short","display_name":"A","role":"agent"})"),
            "password_too_short");
  EXPECT_EQ(code(R"({"username":"a","display_name":"A","role":"agent"})"), "invalid_password");
  EXPECT_EQ(code(R"({"username":"a","password":"correct-horse","role":"agent"})"),
            "invalid_display_name");
  EXPECT_EQ(code(R"({"username":"a","password":"correct-horse","display_name":"A"})"),
            "invalid_role");
  EXPECT_EQ(code(R"({"username":"a","password":"correct-horse","display_name":"A","role":"agent",
                     "max_chats":0})"),
            "invalid_max_chats");
  EXPECT_EQ(code(R"({"username":"a","password":"correct-horse","display_name":"A","role":"agent",
                     "max_chats":"3"})"),
            "invalid_max_chats");
  EXPECT_EQ(code(R"({"username":"a","password":"correct-horse","display_name":"A","role":"agent",
                     "queues":"cards"})"),
            "invalid_queues");
  EXPECT_EQ(code(R"({"username":"a","password":"correct-horse","display_name":"A","role":"agent",
                     "enabled":"yes"})"),
            "invalid_enabled");
  EXPECT_EQ(code(R"([1])"), "invalid_payload");
}

TEST(UserDecode, ChangesTakeOnlyWhatIsSent) {
  auto c = DecodeUserChanges(json::parse(R"({"max_chats":5,"enabled":false})"));
  ASSERT_TRUE(c);
  EXPECT_EQ(c->max_chats, 5);
  EXPECT_EQ(c->enabled, false);
  EXPECT_FALSE(c->display_name);
  EXPECT_FALSE(c->role);
  EXPECT_FALSE(c->queues);
  auto bad = DecodeUserChanges(json::parse(R"({"role":"boss"})"));
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, "invalid_role");
}

TEST(UserJson, NeverCarriesTheHash) {
  storage::UserRecord u;
  u.username = "alice";
  u.display_name = "Alice";
  u.role = "agent";
  u.queues = {"cards"};
  u.password_hash = "$argon2id$secret-hash";
  json::object o = UserJson(u);
  for (const char* key : {"username", "display_name", "role", "queues", "max_chats", "enabled",
                          "created_at", "updated_at"})
    EXPECT_TRUE(o.contains(key)) << key;
  EXPECT_EQ(o.size(), 8u);
  EXPECT_EQ(json::serialize(o).find("argon2"), std::string::npos);
}

TEST(PasswordHashing, RoundTrip) {
  auto hash = PasswordHasher::HashNow("correct-horse-battery");
  ASSERT_TRUE(hash);
  EXPECT_TRUE(hash->starts_with("$argon2id$")) << *hash;
  EXPECT_TRUE(PasswordHasher::VerifyNow(*hash, "correct-horse-battery"));
  EXPECT_FALSE(PasswordHasher::VerifyNow(*hash, "correct-horse-batterY"));
  EXPECT_FALSE(PasswordHasher::VerifyNow("", "correct-horse-battery"));
  EXPECT_FALSE(PasswordHasher::VerifyNow("not a hash", "correct-horse-battery"));
  auto again = PasswordHasher::HashNow("correct-horse-battery");
  ASSERT_TRUE(again);
  EXPECT_NE(*hash, *again) << "each hash has its own salt";
}

TEST(PasswordHashing, RunsOffTheCallersThreadAndIsBounded) {
  boost::asio::io_context io;
  boost::asio::thread_pool blocking(1);
  PasswordHasher hasher(blocking.get_executor());
  // With the blocking pool held, the hash cannot finish however long the I/O side runs: it
  // does not run on the caller's executor.
  std::promise<void> gate;
  boost::asio::post(blocking, [held = gate.get_future().share()] { held.wait(); });
  auto pending =
      boost::asio::co_spawn(io, hasher.Hash("correct-horse-battery"), boost::asio::use_future);
  for (int i = 0; i < 5; ++i) io.poll();
  EXPECT_NE(pending.wait_for(std::chrono::seconds(0)), std::future_status::ready);
  gate.set_value();
  io.restart();
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (pending.wait_for(std::chrono::seconds(0)) != std::future_status::ready &&
         std::chrono::steady_clock::now() < until)
    io.run_one_for(std::chrono::milliseconds(5));
  ASSERT_EQ(pending.wait_for(std::chrono::seconds(0)), std::future_status::ready);
  auto hash = pending.get();
  ASSERT_TRUE(hash);
  auto good = Await(io, hasher.Verify(*hash, "correct-horse-battery"));
  ASSERT_TRUE(good);
  EXPECT_TRUE(*good);
  auto unknown = Await(io, hasher.Verify("", "correct-horse-battery"));
  ASSERT_TRUE(unknown);
  EXPECT_FALSE(*unknown) << "no hash (unknown user) never verifies";

  PasswordHasher none(blocking.get_executor(), 0);
  auto busy = Await(io, none.Hash("correct-horse-battery"));
  ASSERT_FALSE(busy);
  EXPECT_EQ(busy.error().code, "busy");
  EXPECT_EQ(busy.error().errc, Errc::kUnavailable);
  blocking.join();
}

class UserServiceTest : public ::testing::Test {
 protected:
  UserServiceTest()
      : clock_(1'764'000'000'000),
        store_(OpenSqlite(dir_.File("parley.db"))),
        hasher_(blocking_.get_executor()),
        users_(*store_, hasher_, clock_) {
    users_.SetOnSessionsEnded([this](const std::string& u) { ended_.push_back(u); });
  }
  ~UserServiceTest() override {
    store_->Close();
    blocking_.join();
  }

  NewUser Alice() {
    return NewUser{"alice", "correct-horse-battery", "Alice", "agent", {"cards"}, 3, true};
  }
  void AddSession(const std::string& token_hash, const std::string& username) {
    auto job = [=](storage::Tx& tx) -> Result<bool> {
      auto r = tx.InsertSession({token_hash, username, "csrf", 1, 1});
      if (!r) return Fail(r.error());
      return true;
    };
    ASSERT_TRUE(Await(io_, store_->Write<bool>(job)));
  }
  bool HasSession(const std::string& token_hash) {
    auto job = [=](storage::Tx& tx) { return tx.GetSession(token_hash); };
    auto s = Await(io_, store_->Read<std::optional<storage::SessionRecord>>(job));
    return s && s->has_value();
  }

  TempDir dir_;
  ManualClock clock_;
  std::unique_ptr<storage::sqlite::SqliteStore> store_;
  boost::asio::io_context io_;
  boost::asio::thread_pool blocking_{1};
  PasswordHasher hasher_;
  UserService users_;
  std::vector<std::string> ended_;
};

TEST_F(UserServiceTest, CreateGetListAndConflict) {
  auto u = Await(io_, users_.Create(Alice()));
  ASSERT_TRUE(u) << u.error().message;
  EXPECT_EQ(u->username, "alice");
  EXPECT_TRUE(PasswordHasher::VerifyNow(u->password_hash, "correct-horse-battery"));
  EXPECT_EQ(u->created_at_ms, clock_.NowMs());

  auto again = Await(io_, users_.Create(Alice()));
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code, "user_exists");
  EXPECT_EQ(again.error().errc, Errc::kConflict);

  auto got = Await(io_, users_.Get("alice"));
  ASSERT_TRUE(got);
  EXPECT_EQ(got->queues, std::vector<std::string>{"cards"});
  auto list = Await(io_, users_.List());
  ASSERT_TRUE(list);
  EXPECT_EQ(list->size(), 1u);

  auto missing = Await(io_, users_.Get("bob"));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, "user_not_found");
}

TEST_F(UserServiceTest, UpdateChangesFieldsAndDisablingEndsSessions) {
  ASSERT_TRUE(Await(io_, users_.Create(Alice())));
  AddSession("h1", "alice");
  clock_.Advance(5000);
  UserChanges c;
  c.max_chats = 7;
  c.queues = std::vector<std::string>{"general", "cards"};
  auto u = Await(io_, users_.Update("alice", c));
  ASSERT_TRUE(u);
  EXPECT_EQ(u->max_chats, 7);
  EXPECT_EQ(u->updated_at_ms, clock_.NowMs());
  EXPECT_TRUE(HasSession("h1")) << "a change other than disabling keeps the sessions";
  EXPECT_TRUE(ended_.empty());

  UserChanges off;
  off.enabled = false;
  u = Await(io_, users_.Update("alice", off));
  ASSERT_TRUE(u);
  EXPECT_FALSE(u->enabled);
  EXPECT_FALSE(HasSession("h1"));
  EXPECT_EQ(ended_, std::vector<std::string>{"alice"});

  auto missing = Await(io_, users_.Update("bob", off));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, "user_not_found");
}

TEST_F(UserServiceTest, PasswordChangeAndDeleteEndSessions) {
  ASSERT_TRUE(Await(io_, users_.Create(Alice())));
  AddSession("h1", "alice");
  auto short_pw = Await(io_, users_.SetPassword("alice", "short"));
  ASSERT_FALSE(short_pw);
  EXPECT_EQ(short_pw.error().code, "password_too_short");
  EXPECT_TRUE(HasSession("h1"));

  ASSERT_TRUE(Await(io_, users_.SetPassword("alice", "another-long-password")));
  EXPECT_FALSE(HasSession("h1"));
  auto u = Await(io_, users_.Get("alice"));
  ASSERT_TRUE(u);
  EXPECT_TRUE(PasswordHasher::VerifyNow(u->password_hash, "another-long-password"));
  EXPECT_FALSE(PasswordHasher::VerifyNow(u->password_hash, "correct-horse-battery"));

  AddSession("h2", "alice");
  ASSERT_TRUE(Await(io_, users_.Delete("alice")));
  EXPECT_FALSE(HasSession("h2"));
  EXPECT_EQ(ended_, (std::vector<std::string>{"alice", "alice"}));
  auto gone = Await(io_, users_.Delete("alice"));
  ASSERT_FALSE(gone);
  EXPECT_EQ(gone.error().code, "user_not_found");
  auto nobody = Await(io_, users_.SetPassword("nobody", "another-long-password"));
  ASSERT_FALSE(nobody);
  EXPECT_EQ(nobody.error().code, "user_not_found");
}

}  // namespace
}  // namespace parley::manager
