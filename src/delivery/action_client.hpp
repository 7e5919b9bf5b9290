#pragma once
// Runs a bot's external action (a flow's `call` step) over the webhook client: POSTs the
// request JSON and expects a JSON object back within the timeout. Same TLS and address rules
// as webhooks.

#include "conversation/conversation_service.hpp"
#include "delivery/webhook_client.hpp"

namespace parley::delivery {

class HttpActionRunner final : public conversation::ActionRunner {
 public:
  explicit HttpActionRunner(WebhookClient& client) : client_(client) {}
  boost::asio::awaitable<bot::CallOutcome> Run(bot::ExternalCall call) override;

 private:
  WebhookClient& client_;
};

}  // namespace parley::delivery
