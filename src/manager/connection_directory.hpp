#pragma once
// The in-memory directory of connections: what inbound authentication and delivery read on
// every request, without touching the database. The store is the source of truth; the
// directory is filled from it at start and updated after each committed change.
// Thread-safe: readers share a lock and get immutable snapshots.
//
// A reload reads the store first and applies what it read later; a change applied here in
// between (a connection created, changed or deleted on this node) is newer than the reload's
// read and must survive it. So every Put and Remove is numbered, a reload takes a ReadMark
// before it reads, and what it read is applied only to the connections not changed since.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <shared_mutex>
#include <string>
#include <vector>

#include "storage/records.hpp"

namespace parley::manager {

class ConnectionDirectory {
 public:
  using Entry = std::shared_ptr<const storage::ConnectionRecord>;

  // Taken before a reload reads the store; releases itself.
  class ReadMark {
   public:
    explicit ReadMark(ConnectionDirectory& d);
    ~ReadMark();
    ReadMark(const ReadMark&) = delete;
    ReadMark& operator=(const ReadMark&) = delete;

   private:
    friend class ConnectionDirectory;
    ConnectionDirectory& d_;
    uint64_t change_;
  };

  // Every connection as read after `mark` was taken; the connections changed here since keep
  // their state. False when there were such changes: the read may be older or newer than them
  // (another node may have changed the same connection), so the caller reads again.
  bool Replace(const std::vector<storage::ConnectionRecord>& all, const ReadMark& mark);
  // One connection as read after `mark` (nullopt: it is gone), unless it changed here since
  // (then false, as above).
  bool Refresh(const std::string& id, std::optional<storage::ConnectionRecord> read,
               const ReadMark& mark);
  void Put(storage::ConnectionRecord record);
  void Remove(const std::string& id);
  // The connection, or null.
  Entry Find(const std::string& id) const;
  size_t Size() const;
  // Every connection, by ID.
  std::vector<Entry> All() const;

 private:
  bool ChangedSince(const std::string& id, uint64_t change) const;  // mu_ held
  void Touch(const std::string& id);                                // mu_ held, unique

  mutable std::shared_mutex mu_;
  std::map<std::string, Entry> by_id_;
  uint64_t changes_ = 0;
  // The number of the last Put or Remove of each connection, kept while a reload's read is in
  // flight (the marks below), so it is bounded by the changes made during one read.
  std::map<std::string, uint64_t> changed_at_;
  std::multiset<uint64_t> marks_;
};

}  // namespace parley::manager
