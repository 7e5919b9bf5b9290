#pragma once
// The demo bank: a small loopback HTTP service that answers the calls of bots/bank.yaml
// (POST /v1/balance, POST /v1/cards/block) the way docs/bot-authoring.md says an action
// answers, so every flow of the bank bot works in `parley demo`. Made-up data, no state kept
// between calls; not a model of a bank.

#include <boost/asio/io_context.hpp>
#include <boost/json/object.hpp>
#include <memory>
#include <string>
#include <thread>

#include "core/result.hpp"

namespace parley::app {

// The host the bank bot's calls name in bots/bank.yaml; the demo points it at the demo bank.
inline constexpr char kDemoBankOrigin[] = "https://api.parley-bank.example";

// What the demo bank answers to `path` for the action request `body` (its `slots`): balance
// answers {"slots":{"found":"yes","balance":…}} for account current or savings (found "no"
// and a reply otherwise); block answers {"slots":{"blocked":"yes"}} when last4 is four
// digits, else kInvalidArgument; another path is kNotFound. Pure; thread-safe.
Result<boost::json::object> DemoBankAnswer(const std::string& path,
                                           const boost::json::object& body);

// The running demo bank on 127.0.0.1, on a thread of its own. Stops on destruction.
class DemoBank {
 public:
  static Result<std::unique_ptr<DemoBank>> Start(uint16_t port = 0);
  ~DemoBank();
  std::string Url() const;  // http://127.0.0.1:PORT

  class Impl;

 private:
  explicit DemoBank(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// `text` (a bot file) with every call URL under kDemoBankOrigin moved to `bank_url`.
std::string PointBankCallsAt(std::string text, const std::string& bank_url);

}  // namespace parley::app
