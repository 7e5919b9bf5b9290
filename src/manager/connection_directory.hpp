#pragma once
// The in-memory directory of connections: what inbound authentication and delivery read on
// every request, without touching the database. The store is the source of truth; the
// directory is filled from it at start and updated after each committed change.
// Thread-safe: readers share a lock and get immutable snapshots.

#include <map>
#include <memory>
#include <shared_mutex>
#include <string>
#include <vector>

#include "storage/records.hpp"

namespace parley::manager {

class ConnectionDirectory {
 public:
  using Entry = std::shared_ptr<const storage::ConnectionRecord>;

  void Replace(const std::vector<storage::ConnectionRecord>& all);
  void Put(storage::ConnectionRecord record);
  void Remove(const std::string& id);
  // The connection, or null.
  Entry Find(const std::string& id) const;
  size_t Size() const;
  // Every connection, by ID.
  std::vector<Entry> All() const;

 private:
  mutable std::shared_mutex mu_;
  std::map<std::string, Entry> by_id_;
};

}  // namespace parley::manager
