#pragma once
// Canned responses: texts an agent inserts in the composer with "/" + shortcut. Admins manage
// the shared ones (optionally limited to some queues); each agent has their own. The texts may
// hold {customer_name} and {agent_name}, which the console fills in.
//
// Every function runs inside one store job; none keeps state. Errors are the API's: 400 with a
// field's code, 403 forbidden, 404 response_not_found, 409 response_exists.

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "storage/store.hpp"

namespace parley::conversation {

// Who asks: a signed-in user (username set) or the static admin token (username empty).
struct ResponseCaller {
  std::string username;
  bool admin = false;
};

// The shared responses and the caller's own, by shortcut.
Result<std::vector<storage::ResponseRecord>> ListResponses(storage::Tx& tx,
                                                           const ResponseCaller& who);
// `body`: {shortcut, title, text, queues?, shared?}. `shared` defaults to true for an admin and
// may not be true for an agent; the static admin token creates shared ones only.
Result<storage::ResponseRecord> CreateResponse(storage::Tx& tx, const ResponseCaller& who,
                                               const boost::json::value& body, std::string id,
                                               int64_t now);
// `body`: any of shortcut, title, text, queues. A shared response is an admin's to change, a
// personal one its owner's.
Result<storage::ResponseRecord> UpdateResponse(storage::Tx& tx, const ResponseCaller& who,
                                               const std::string& id,
                                               const boost::json::value& body, int64_t now);
Result<void> DeleteResponse(storage::Tx& tx, const ResponseCaller& who, const std::string& id);

boost::json::object ResponseJson(const storage::ResponseRecord& r);

}  // namespace parley::conversation
