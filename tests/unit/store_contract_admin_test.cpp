// The store contract, third part: what administrators and the console keep beside the
// conversations — the audit log, retired usernames, a connection's capabilities, canned
// responses — and the history filters of the conversation list, on every store (the suite is
// instantiated in store_contract_test.cpp).

#include "store_contract_fixture.hpp"

namespace parley::storage {
namespace {

TEST_P(StoreContractTest, AuditEntriesComeNewestFirstInPages) {
  auto store = Open();
  ASSERT_TRUE(store);
  for (int i = 1; i <= 5; ++i) {
    AuditRecord a;
    a.at_ms = 1000 + i;
    a.actor = i % 2 ? "admin-token" : "ann";
    a.role = "admin";
    a.action = "connection.create";
    a.target = "c" + std::to_string(i);
    a.address = "10.0.0." + std::to_string(i);
    a.outcome = 201;
    a.detail = R"({"fields":["name"]})";
    auto insert = [a](Tx& tx) { return tx.InsertAudit(a); };
    ASSERT_TRUE(Write<void>(*store, insert));
  }
  auto page = [](int64_t before, size_t n) {
    return [before, n](Tx& tx) { return tx.ListAudit(before, n); };
  };
  auto first = Read<std::vector<AuditRecord>>(*store, page(0, 2));
  ASSERT_TRUE(first);
  ASSERT_EQ(first->size(), 2u);
  EXPECT_EQ((*first)[0].target, "c5");
  EXPECT_EQ((*first)[1].target, "c4");
  EXPECT_GT((*first)[0].id, (*first)[1].id);
  const AuditRecord& newest = (*first)[0];
  EXPECT_EQ(newest.at_ms, 1005);
  EXPECT_EQ(newest.actor, "admin-token");
  EXPECT_EQ(newest.role, "admin");
  EXPECT_EQ(newest.action, "connection.create");
  EXPECT_EQ(newest.address, "10.0.0.5");
  EXPECT_EQ(newest.outcome, 201);
  EXPECT_EQ(newest.detail, R"({"fields":["name"]})");
  auto rest = Read<std::vector<AuditRecord>>(*store, page((*first)[1].id, 10));
  ASSERT_TRUE(rest);
  ASSERT_EQ(rest->size(), 3u);
  EXPECT_EQ((*rest)[0].target, "c3");
  EXPECT_EQ((*rest)[2].target, "c1");
  auto none = Read<std::vector<AuditRecord>>(*store, page((*rest)[2].id, 10));
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
}

TEST_P(StoreContractTest, DeletedUsernamesAreNeverReused) {
  auto store = Open();
  ASSERT_TRUE(store);
  auto user = [](std::string name) {
    UserRecord u;
    u.username = std::move(name);
    u.display_name = "Carol";
    u.role = "agent";
    u.password_hash = "$argon2id$x";
    u.created_at_ms = u.updated_at_ms = 10;
    return u;
  };
  auto insert = [&](std::string name) {
    return [u = user(std::move(name))](Tx& tx) { return tx.InsertUser(u); };
  };
  ASSERT_TRUE(Write<void>(*store, insert("carol")));
  auto del = [](Tx& tx) { return tx.DeleteUser("carol"); };
  ASSERT_EQ(Write<bool>(*store, del), true);
  auto again = Write<void>(*store, insert("carol"));
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().errc, Errc::kConflict);
  EXPECT_EQ(again.error().code, "username_retired");
  EXPECT_NE(again.error().message.find("carol"), std::string::npos) << again.error().message;
  // The refusal changed nothing, also after a reopen; other names are free.
  store.reset();
  store = Open();
  ASSERT_TRUE(store);
  EXPECT_EQ(Write<void>(*store, insert("carol")).error().code, "username_retired");
  auto get = [](Tx& tx) { return tx.GetUser("carol"); };
  auto carol = Read<std::optional<UserRecord>>(*store, get);
  ASSERT_TRUE(carol);
  EXPECT_FALSE(*carol);
  EXPECT_TRUE(Write<void>(*store, insert("carol2")));
  // A user that never existed leaves no retired name behind.
  auto del_nobody = [](Tx& tx) { return tx.DeleteUser("nobody"); };
  EXPECT_EQ(Write<bool>(*store, del_nobody), false);
  EXPECT_TRUE(Write<void>(*store, insert("nobody")));
}

TEST_P(StoreContractTest, ConnectionCapabilitiesRoundTrip) {
  auto store = Open();
  ASSERT_TRUE(store);
  auto insert = [](Tx& tx) -> Result<void> {
    ConnectionRecord c = Conn("c1", "sms");
    c.capabilities = "";
    if (auto r = tx.InsertConnection(c); !r) return r;
    return tx.InsertConnection(Conn("c2", "web"));  // the default: everything
  };
  ASSERT_TRUE(Write<void>(*store, insert));
  auto get = [](std::string id) { return [id](Tx& tx) { return tx.GetConnection(id); }; };
  auto sms = Read<std::optional<ConnectionRecord>>(*store, get("c1"));
  ASSERT_TRUE(sms && *sms);
  EXPECT_EQ((*sms)->capabilities, "");
  auto web = Read<std::optional<ConnectionRecord>>(*store, get("c2"));
  ASSERT_TRUE(web && *web);
  EXPECT_EQ((*web)->capabilities, "menu,carousel,link_button,typing_indicator");
  auto update = [](Tx& tx) {
    ConnectionRecord c = Conn("c1", "sms");
    c.capabilities = "menu,typing_indicator";
    c.updated_at_ms = 2000;
    return tx.UpdateConnection(c);
  };
  ASSERT_TRUE(Write<void>(*store, update));
  auto list = [](Tx& tx) { return tx.ListConnections(); };
  auto all = Read<std::vector<ConnectionRecord>>(*store, list);
  ASSERT_TRUE(all);
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[0].id, "c1");
  EXPECT_EQ((*all)[0].capabilities, "menu,typing_indicator");
  EXPECT_EQ((*all)[1].capabilities, "menu,carousel,link_button,typing_indicator");
}

TEST_P(StoreContractTest, CannedResponsesSharedAndPersonal) {
  auto store = Open();
  ASSERT_TRUE(store);
  auto response = [](std::string id, std::string owner, std::string shortcut) {
    ResponseRecord r;
    r.id = std::move(id);
    r.owner = std::move(owner);
    r.shortcut = std::move(shortcut);
    r.title = "Title " + r.shortcut;
    r.text = "Hello {customer_name}";
    r.created_at_ms = r.updated_at_ms = 100;
    return r;
  };
  auto insert = [](ResponseRecord r) { return [r](Tx& tx) { return tx.InsertResponse(r); }; };
  ResponseRecord shared = response("r1", "", "hello");
  shared.queues = {"sales", "support"};
  ASSERT_TRUE(Write<void>(*store, insert(shared)));
  ASSERT_TRUE(Write<void>(*store, insert(response("r2", "ann", "bye"))));
  ASSERT_TRUE(Write<void>(*store, insert(response("r3", "bob", "bye"))));
  ASSERT_TRUE(Write<void>(*store, insert(response("r4", "ann", "hello"))));  // per owner
  auto taken = Write<void>(*store, insert(response("r5", "ann", "bye")));
  ASSERT_FALSE(taken);
  EXPECT_EQ(taken.error().errc, Errc::kConflict);
  EXPECT_EQ(taken.error().code, "response_exists");
  EXPECT_NE(taken.error().message.find("personal"), std::string::npos);
  auto shared_taken = Write<void>(*store, insert(response("r6", "", "hello")));
  ASSERT_FALSE(shared_taken);
  EXPECT_NE(shared_taken.error().message.find("shared"), std::string::npos);

  auto list = [](std::string owner) { return [owner](Tx& tx) { return tx.ListResponses(owner); }; };
  auto ids = [](const std::vector<ResponseRecord>& v) {
    std::vector<std::string> out;
    for (const auto& r : v) out.push_back(r.id);
    return out;
  };
  auto anns = Read<std::vector<ResponseRecord>>(*store, list("ann"));
  ASSERT_TRUE(anns);
  // By shortcut, then owner (the shared one first).
  EXPECT_EQ(ids(*anns), (std::vector<std::string>{"r2", "r1", "r4"}));
  auto every = Read<std::vector<ResponseRecord>>(*store, list(""));
  ASSERT_TRUE(every);
  EXPECT_EQ(ids(*every), (std::vector<std::string>{"r2", "r3", "r1", "r4"}));
  auto get = [](std::string id) { return [id](Tx& tx) { return tx.GetResponse(id); }; };
  auto r1 = Read<std::optional<ResponseRecord>>(*store, get("r1"));
  ASSERT_TRUE(r1 && *r1);
  EXPECT_EQ((*r1)->queues, (std::vector<std::string>{"sales", "support"}));
  EXPECT_EQ((*r1)->title, "Title hello");
  EXPECT_EQ((*r1)->text, "Hello {customer_name}");
  EXPECT_EQ((*r1)->created_at_ms, 100);

  // An update to a shortcut the owner has is refused and changes nothing.
  auto update = [](ResponseRecord r) { return [r](Tx& tx) { return tx.UpdateResponse(r); }; };
  ResponseRecord clash = response("r4", "ann", "bye");
  auto refused = Write<void>(*store, update(clash));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, "response_exists");
  auto r4 = Read<std::optional<ResponseRecord>>(*store, get("r4"));
  ASSERT_TRUE(r4 && *r4);
  EXPECT_EQ((*r4)->shortcut, "hello");
  ResponseRecord renamed = response("r4", "ann", "thanks");
  renamed.text = "Thank you";
  renamed.queues = {"sales"};
  renamed.updated_at_ms = 200;
  ASSERT_TRUE(Write<void>(*store, update(renamed)));
  r4 = Read<std::optional<ResponseRecord>>(*store, get("r4"));
  ASSERT_TRUE(r4 && *r4);
  EXPECT_EQ((*r4)->shortcut, "thanks");
  EXPECT_EQ((*r4)->text, "Thank you");
  EXPECT_EQ((*r4)->queues, (std::vector<std::string>{"sales"}));
  EXPECT_EQ((*r4)->created_at_ms, 100);
  EXPECT_EQ((*r4)->updated_at_ms, 200);

  auto del = [](std::string id) { return [id](Tx& tx) { return tx.DeleteResponse(id); }; };
  EXPECT_EQ(Write<bool>(*store, del("r2")), true);
  EXPECT_EQ(Write<bool>(*store, del("r2")), false);
  EXPECT_FALSE(*Read<std::optional<ResponseRecord>>(*store, get("r2")));
  // The shortcut is free again.
  EXPECT_TRUE(Write<void>(*store, insert(response("r7", "ann", "bye"))));
}

TEST_P(StoreContractTest, HistoryFiltersByCustomerCreationAndWrapUp) {
  auto store = Open();
  ASSERT_TRUE(store);
  auto setup = [](Tx& tx) -> Result<void> {
    if (auto r = tx.InsertConnection(Conn("c1", "web")); !r) return r;
    struct Row {
      const char* id;
      const char* customer;
      std::optional<std::string> name;
      int64_t created;
      const char* code;
    };
    const Row rows[] = {{"v1", "Cust-ALPHA", "Jane Doe", 1000, "sale"},
                        {"v2", "cust-beta", std::nullopt, 2000, "refund"},
                        {"v3", "gamma", "Johnny Alphabet", 3000, nullptr},
                        {"v4", "delta", "Dora", 4000, "sale"}};
    for (const Row& row : rows) {
      ConversationRecord c = Conversation(row.id, "c1", row.customer);
      c.customer_name = row.name;
      c.created_at_ms = row.created;
      c.updated_at_ms = row.created + 10;
      c.state = "ended";
      if (auto r = tx.InsertConversation(c); !r) return r;
      if (!row.code) continue;
      EventRecord e;
      e.conversation_id = c.id;
      e.position = 1;
      e.connection_id = "c1";
      e.direction = "note";
      e.sender = "agent";
      e.type = "wrap_up";
      e.payload_json = std::string(R"({"code":")") + row.code + R"(","note":"done"})";
      e.created_at_ms = row.created + 5;
      if (auto r = tx.InsertEvent(e); !r) return r;
    }
    return {};
  };
  ASSERT_TRUE(Write<void>(*store, setup));
  auto find = [this, &store](ConversationFilter f) {
    auto job = [f](Tx& tx) { return tx.ListConversations(f); };
    auto r = Read<std::vector<ConversationRecord>>(*store, job);
    std::vector<std::string> ids;
    EXPECT_TRUE(r);
    if (r)
      for (const auto& c : *r) ids.push_back(c.id);
    return ids;
  };
  using V = std::vector<std::string>;
  ConversationFilter f;
  EXPECT_EQ(find(f), (V{"v4", "v3", "v2", "v1"}));
  // A part of the id or of the name, in any case.
  f.customer = "alpha";
  EXPECT_EQ(find(f), (V{"v3", "v1"}));
  f.customer = "CUST-";
  EXPECT_EQ(find(f), (V{"v2", "v1"}));
  f.customer = "dora";
  EXPECT_EQ(find(f), (V{"v4"}));
  f.customer = "nobody";
  EXPECT_EQ(find(f), V{});
  f.customer.reset();
  // Created from (inclusive) and before (exclusive).
  f.created_from_ms = 2000;
  f.created_before_ms = 4000;
  EXPECT_EQ(find(f), (V{"v3", "v2"}));
  f.created_from_ms.reset();
  EXPECT_EQ(find(f), (V{"v3", "v2", "v1"}));
  f.created_before_ms.reset();
  // Wrapped up with a code; combined with the other filters.
  f.wrap_up = "sale";
  EXPECT_EQ(find(f), (V{"v4", "v1"}));
  f.customer = "jane";
  EXPECT_EQ(find(f), (V{"v1"}));
  f.customer.reset();
  f.wrap_up = "unknown";
  EXPECT_EQ(find(f), V{});
  f.wrap_up = "refund";
  f.created_from_ms = 2500;
  EXPECT_EQ(find(f), V{});
}

// Presence across nodes (migration 0014), as one node sees it: its streams per user, never
// below zero, and forgotten when it starts. (Several nodes: pg_store_test.cpp.)
TEST_P(StoreContractTest, NodeStreamsCountPerUser) {
  auto store = Open();
  ASSERT_TRUE(store);
  store->SetNodeId("n1");
  auto add = [](std::string user, int64_t delta) {
    return [user, delta](Tx& tx) { return tx.AddNodeStreams(user, delta); };
  };
  EXPECT_EQ(Write<int64_t>(*store, add("ann", 1)), 1);
  EXPECT_EQ(Write<int64_t>(*store, add("ann", 1)), 2);
  EXPECT_EQ(Write<int64_t>(*store, add("bob", 1)), 1);
  EXPECT_EQ(Write<int64_t>(*store, add("ann", -1)), 1);
  EXPECT_EQ(Write<int64_t>(*store, add("bob", -5)), 0);
  EXPECT_EQ(Write<int64_t>(*store, add("cy", -1)), 0);  // a close never counted: still none
  auto streams = [](std::string user) { return [user](Tx& tx) { return tx.UserStreams(user); }; };
  EXPECT_EQ(Read<int64_t>(*store, streams("ann")), 1);
  EXPECT_EQ(Read<int64_t>(*store, streams("bob")), 0);
  // A user with none keeps no row.
  EXPECT_EQ(Raw("SELECT username FROM node_streams ORDER BY username"),
            (std::vector<std::string>{"ann"}));
  auto clear = [](Tx& tx) { return tx.ClearNodeStreams(); };
  EXPECT_EQ(Write<std::vector<std::string>>(*store, clear), (std::vector<std::string>{"ann"}));
  EXPECT_EQ(Read<int64_t>(*store, streams("ann")), 0);
  // This node's own lease never makes it a dead node to itself.
  auto renew = [](Tx& tx) { return tx.RenewNode(1000); };
  ASSERT_TRUE(Write<void>(*store, renew));
  EXPECT_EQ(Write<int64_t>(*store, add("ann", 1)), 1);
  auto reap = [](Tx& tx) { return tx.ReapDeadNodes(5000, 10); };
  EXPECT_EQ(Write<std::vector<std::string>>(*store, reap), std::vector<std::string>{});
  EXPECT_EQ(Read<int64_t>(*store, streams("ann")), 1);
}

}  // namespace
}  // namespace parley::storage
