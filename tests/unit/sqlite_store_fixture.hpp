#pragma once
// Shared by the SQLite store's unit tests: records to write, a raw read of the database file,
// a gate that holds the writer, and the fixture that owns a temporary directory.

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "storage/sqlite/sqlite_store.hpp"
#include "test_support.hpp"

namespace parley::storage {

using parley::testing::Await;
using parley::testing::OpenSqlite;
using parley::testing::TempDir;
using parley::testing::WaitFor;
using sqlite::SqliteStore;
using sqlite::SqliteStoreOptions;

inline constexpr std::string_view kMasterKey = "0123456789abcdef0123456789abcdef";  // 32 bytes

inline ConnectionRecord Conn(std::string id, std::string name,
                             std::string secret = "plain-secret-value") {
  ConnectionRecord c;
  c.id = std::move(id);
  c.name = std::move(name);
  c.client_webhook = "https://hooks.example/x";
  c.bot = "echo";
  c.secret = std::move(secret);
  c.created_at_ms = c.updated_at_ms = 1000;
  return c;
}

inline ConversationRecord Conversation(std::string id, std::string connection_id,
                                       std::string customer) {
  ConversationRecord c;
  c.id = std::move(id);
  c.connection_id = std::move(connection_id);
  c.customer_id = std::move(customer);
  c.state = "bot";
  c.owner = "bot";
  c.created_at_ms = c.updated_at_ms = 1000;
  return c;
}

inline EventRecord Inbound(const ConversationRecord& conv, int64_t position,
                           std::string message_id) {
  EventRecord e;
  e.conversation_id = conv.id;
  e.position = position;
  e.connection_id = conv.connection_id;
  e.direction = "in";
  e.seq = position;
  e.sender = "customer";
  e.type = "text";
  e.message_id = std::move(message_id);
  e.payload_json = R"({"type":"text","text":["x"]})";
  e.created_at_ms = 1000 + position;
  return e;
}

inline EventRecord Outbound(const ConversationRecord& conv, int64_t position, int64_t seq,
                            std::string event_id) {
  EventRecord e;
  e.conversation_id = conv.id;
  e.position = position;
  e.connection_id = conv.connection_id;
  e.direction = "out";
  e.seq = seq;
  e.sender = "bot";
  e.type = "text";
  e.event_id = event_id;
  e.message_id = event_id;
  e.payload_json = R"({"type":"text","text":["y"]})";
  e.created_at_ms = 2000 + position;
  e.delivery_status = "pending";
  e.next_attempt_at_ms = e.created_at_ms;
  return e;
}

// Runs one SQL query returning a single text/int column on a fresh, raw connection.
inline std::vector<std::string> RawColumn(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  std::vector<std::string> out;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    ADD_FAILURE() << "cannot open " << path;
    sqlite3_close(db);
    return out;
  }
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr) != SQLITE_OK) {
    ADD_FAILURE() << sqlite3_errmsg(db);
  } else {
    while (sqlite3_step(s) == SQLITE_ROW) {
      const unsigned char* t = sqlite3_column_text(s, 0);
      out.emplace_back(t ? reinterpret_cast<const char*>(t) : "<null>");
    }
  }
  sqlite3_finalize(s);
  sqlite3_close(db);
  return out;
}

// Blocks the writer thread until released, so the jobs queued meanwhile share one batch.
class WriterGate {
 public:
  explicit WriterGate(Store& store) {
    auto started = started_;
    std::shared_future<void> release = release_.get_future().share();
    bool queued = store.SubmitWrite(
        [started, release](Tx&) {
          *started = true;
          release.wait();
          return true;
        },
        [](bool, Handoff&) {});
    EXPECT_TRUE(queued);
    EXPECT_TRUE(WaitFor([started] { return started->load(); }));
  }
  ~WriterGate() { Open(); }
  void Open() {
    if (!opened_) {
      opened_ = true;
      release_.set_value();
    }
  }

 private:
  std::promise<void> release_;
  std::shared_ptr<std::atomic<bool>> started_ = std::make_shared<std::atomic<bool>>(false);
  bool opened_ = false;
};

class SqliteStoreTest : public ::testing::Test {
 protected:
  std::string Path() const { return dir_.File("parley.db"); }

  template <class T, class F>
  Result<T> Write(Store& store, const F& job) {
    return Await(io_, store.Write<T>(job));
  }
  template <class T, class F>
  Result<T> Read(Store& store, const F& job) {
    return Await(io_, store.Read<T>(job));
  }

  // A store at Path() that checkpoints every `checkpoint_frames`, after `messages` inbound
  // events of conversation "v1", each written by its own commit. Null (and a failure) if a
  // write failed.
  std::unique_ptr<SqliteStore> StoreAfterSteadyWrites(int checkpoint_frames, int messages) {
    SqliteStoreOptions options;
    options.checkpoint_frames = checkpoint_frames;
    auto store = OpenSqlite(Path(), "", options);
    if (!store) return nullptr;
    auto setup = [](Tx& tx) { return tx.InsertConversation(Conversation("v1", "conn", "cust")); };
    if (!Write<void>(*store, setup)) {
      ADD_FAILURE() << "creating the conversation failed";
      return nullptr;
    }
    for (int i = 1; i <= messages; ++i) {
      auto insert = [i](Tx& tx) {
        return tx.InsertEvent(
            Inbound(Conversation("v1", "conn", "cust"), i, "m" + std::to_string(i)));
      };
      if (!Write<void>(*store, insert)) {
        ADD_FAILURE() << "writing message " << i << " failed";
        return nullptr;
      }
    }
    return store;
  }

  size_t CountConnections(Store& store) {
    auto list = [](Tx& tx) { return tx.ListConnections(); };
    auto r = Read<std::vector<ConnectionRecord>>(store, list);
    EXPECT_TRUE(r) << r.error().message;
    return r ? r->size() : 0;
  }

  TempDir dir_;
  boost::asio::io_context io_;
};

}  // namespace parley::storage
