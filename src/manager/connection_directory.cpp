#include "manager/connection_directory.hpp"

#include <mutex>

namespace parley::manager {

void ConnectionDirectory::Replace(const std::vector<storage::ConnectionRecord>& all) {
  std::map<std::string, Entry> next;
  for (const auto& c : all) next[c.id] = std::make_shared<const storage::ConnectionRecord>(c);
  std::unique_lock lock(mu_);
  by_id_.swap(next);
}

void ConnectionDirectory::Put(storage::ConnectionRecord record) {
  auto entry = std::make_shared<const storage::ConnectionRecord>(std::move(record));
  std::unique_lock lock(mu_);
  by_id_[entry->id] = std::move(entry);
}

void ConnectionDirectory::Remove(const std::string& id) {
  std::unique_lock lock(mu_);
  by_id_.erase(id);
}

ConnectionDirectory::Entry ConnectionDirectory::Find(const std::string& id) const {
  std::shared_lock lock(mu_);
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : it->second;
}

size_t ConnectionDirectory::Size() const {
  std::shared_lock lock(mu_);
  return by_id_.size();
}

std::vector<ConnectionDirectory::Entry> ConnectionDirectory::All() const {
  std::shared_lock lock(mu_);
  std::vector<Entry> out;
  out.reserve(by_id_.size());
  for (const auto& [id, entry] : by_id_) out.push_back(entry);
  return out;
}

}  // namespace parley::manager
