#include "storage/store.hpp"

#include <fmt/format.h>

#include "storage/sqlite/sqlite_store.hpp"

namespace parley::storage {

Result<std::unique_ptr<Store>> OpenStore(const std::string& url, const std::string& master_key) {
  constexpr std::string_view kSqlite = "sqlite://";
  if (url == "sqlite::memory:" || url.starts_with(kSqlite)) {
    // sqlite:///abs/path -> /abs/path ; sqlite://rel/path -> rel/path
    std::string path = url == "sqlite::memory:" ? ":memory:" : url.substr(kSqlite.size());
    if (path.empty())
      return Fail(Errc::kInvalidArgument, "invalid_database",
                  "Give the database as sqlite:///absolute/path/parley.db.");
    auto store = sqlite::SqliteStore::Open(path, SecretBox(master_key));
    if (!store) return Fail(store.error());
    return std::unique_ptr<Store>(std::move(*store));
  }
  if (url.starts_with("postgres://") || url.starts_with("postgresql://"))
    return Fail(Errc::kInvalidArgument, "unsupported_database",
                "PostgreSQL is not available in this build yet; use sqlite:///path/parley.db.");
  return Fail(Errc::kInvalidArgument, "invalid_database",
              fmt::format("Unknown database URL '{}': use sqlite:///path/parley.db.", url));
}

}  // namespace parley::storage
