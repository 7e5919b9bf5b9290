#include "manager/connection_directory.hpp"

#include <mutex>

namespace parley::manager {

ConnectionDirectory::ReadMark::ReadMark(ConnectionDirectory& d) : d_(d) {
  std::unique_lock lock(d_.mu_);
  change_ = d_.changes_;
  d_.marks_.insert(change_);
}

ConnectionDirectory::ReadMark::~ReadMark() {
  std::unique_lock lock(d_.mu_);
  d_.marks_.erase(d_.marks_.find(change_));
  // What no read in flight can be older than is no longer needed.
  uint64_t oldest = d_.marks_.empty() ? d_.changes_ : *d_.marks_.begin();
  std::erase_if(d_.changed_at_, [oldest](const auto& kv) { return kv.second <= oldest; });
}

bool ConnectionDirectory::ChangedSince(const std::string& id, uint64_t change) const {
  auto it = changed_at_.find(id);
  return it != changed_at_.end() && it->second > change;
}

void ConnectionDirectory::Touch(const std::string& id) {
  ++changes_;
  if (!marks_.empty()) changed_at_[id] = changes_;
}

bool ConnectionDirectory::Replace(const std::vector<storage::ConnectionRecord>& all,
                                  const ReadMark& mark) {
  std::map<std::string, Entry> next;
  for (const auto& c : all) next[c.id] = std::make_shared<const storage::ConnectionRecord>(c);
  std::unique_lock lock(mu_);
  bool clean = true;
  for (const auto& [id, change] : changed_at_) {
    if (change <= mark.change_) continue;
    clean = false;
    auto now = by_id_.find(id);
    if (now == by_id_.end())
      next.erase(id);
    else
      next[id] = now->second;
  }
  by_id_.swap(next);
  return clean;
}

bool ConnectionDirectory::Refresh(const std::string& id,
                                  std::optional<storage::ConnectionRecord> read,
                                  const ReadMark& mark) {
  auto entry = read ? std::make_shared<const storage::ConnectionRecord>(std::move(*read)) : nullptr;
  std::unique_lock lock(mu_);
  if (ChangedSince(id, mark.change_)) return false;
  if (entry)
    by_id_[id] = std::move(entry);
  else
    by_id_.erase(id);
  return true;
}

void ConnectionDirectory::Put(storage::ConnectionRecord record) {
  auto entry = std::make_shared<const storage::ConnectionRecord>(std::move(record));
  std::unique_lock lock(mu_);
  Touch(entry->id);
  by_id_[entry->id] = std::move(entry);
}

void ConnectionDirectory::Remove(const std::string& id) {
  std::unique_lock lock(mu_);
  Touch(id);
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
