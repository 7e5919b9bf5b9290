#pragma once
// The JSON shapes of records that the API and the live events share: a conversation as
// GET /api/v1/conversations lists it, and a transcript entry as GET /api/v1/conversations/{id}
// shows it.

#include <boost/json/object.hpp>

#include "storage/records.hpp"

namespace parley::storage {

boost::json::object ConversationJson(const ConversationRecord& c);
boost::json::object EntryJson(const EventRecord& e);

}  // namespace parley::storage
