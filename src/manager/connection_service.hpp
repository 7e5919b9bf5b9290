#pragma once
// The Digital Messaging Manager's connections: create, list, show, update, delete, rotate the
// secret (PROTOCOL.md §1, DESIGN.md "Connections"). Every change is committed to the store
// first and then published to the ConnectionDirectory.

#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "bot/bot.hpp"
#include "core/clock.hpp"
#include "core/ids.hpp"
#include "core/result.hpp"
#include "manager/connection_directory.hpp"
#include "storage/store.hpp"

namespace parley::manager {

struct ConnectionOptions {
  std::string public_url;  // the Digital Messaging Webhook is public_url + /messages
  bool allow_insecure_webhooks = false;
  int64_t secret_grace_seconds = 24 * 3600;
};

struct NewConnection {
  std::string name;
  std::string client_webhook;
  // None: the only bot loaded from a file when exactly one is, otherwise "none" (DefaultBot).
  std::optional<std::string> bot;
  std::string queue = "default";
  bool enabled = true;  // false: created switched off (POST /messages answers 403 until enabled)
  // What the channel can show (channel/capabilities.hpp), in its stored form; default: all.
  std::string capabilities = storage::ConnectionRecord{}.capabilities;
};

struct ConnectionChanges {
  std::optional<std::string> name;
  std::optional<std::string> client_webhook;
  std::optional<bool> enabled;
  std::optional<std::string> bot;
  std::optional<std::string> queue;
  std::optional<std::string> capabilities;  // the stored form
};

class ConnectionService {
 public:
  ConnectionService(storage::Store& store, ConnectionDirectory& directory,
                    const bot::BotRegistry& bots, const Clock& clock, IdGenerator& ids,
                    ConnectionOptions options);

  // Loads every connection into the directory (at start).
  boost::asio::awaitable<Result<size_t>> LoadDirectory();
  // Several nodes on one database: each change is announced to the other nodes in its own
  // transaction (storage::kReloadChannel, "node|connection|id"), and a node told of one reads
  // that connection again (ReloadOne: put, or removed when it is gone).
  void SetNodeId(std::string node_id) { node_id_ = std::move(node_id); }
  boost::asio::awaitable<Result<bool>> ReloadOne(std::string id);

  boost::asio::awaitable<Result<storage::ConnectionRecord>> Create(NewConnection input);
  boost::asio::awaitable<Result<std::vector<storage::ConnectionRecord>>> List();
  // kNotFound when absent.
  boost::asio::awaitable<Result<storage::ConnectionRecord>> Get(std::string id);
  boost::asio::awaitable<Result<storage::ConnectionRecord>> Update(std::string id,
                                                                   ConnectionChanges changes);
  boost::asio::awaitable<Result<void>> Delete(std::string id);
  // A new secret; the old one keeps verifying inbound tokens for the grace period.
  boost::asio::awaitable<Result<storage::ConnectionRecord>> RotateSecret(std::string id);

  // The JSON the API shows; the secret only when asked (create, show, rotate).
  boost::json::object ToJson(const storage::ConnectionRecord& c, bool with_secret) const;

  // Decoders for the REST bodies, with field-level errors.
  static Result<NewConnection> DecodeNew(const boost::json::value& body);
  static Result<ConnectionChanges> DecodeChanges(const boost::json::value& body);

 private:
  std::string Announcement(const std::string& id) const;
  Result<void> CheckName(const std::string& name) const;
  Result<void> CheckWebhook(const std::string& url) const;
  Result<void> CheckBot(const std::string& bot) const;
  // A new connection's bot when none is named: the only bot loaded from a file when exactly one
  // is (the built-in Echo bot is for testing and never the default), otherwise "none".
  std::string DefaultBot() const;

  storage::Store& store_;
  ConnectionDirectory& directory_;
  const bot::BotRegistry& bots_;
  const Clock& clock_;
  IdGenerator& ids_;
  ConnectionOptions options_;
  std::string node_id_;  // empty on one node
};

}  // namespace parley::manager
