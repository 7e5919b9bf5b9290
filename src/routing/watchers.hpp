#pragma once
// The supervisors who monitor or joined a conversation (conversation_watchers, migration 0011)
// watch it while it lasts: when it ends, they are let go in the same transaction, after the end
// has reached them (events.cpp).

#include <string>

#include "core/result.hpp"
#include "storage/store.hpp"

namespace parley::routing {

// Removes every watcher of the conversation. A conversation has a handful at most.
Result<void> DropWatchers(storage::Tx& tx, const std::string& conversation_id);

}  // namespace parley::routing
