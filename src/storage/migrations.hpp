#pragma once
// Schema migrations, compiled in from src/storage/schema/NNNN_name.sql and
// src/storage/postgres/schema/NNNN_name.sql (see CMakeLists.txt).

#include <string_view>
#include <vector>

namespace parley::storage {

struct Migration {
  int version;
  std::string_view name;
  std::string_view sql;
};

// All migrations in ascending version order.
const std::vector<Migration>& Migrations();
// Their PostgreSQL twins (src/storage/postgres/schema/NNNN_name.sql): the same versions, each
// bringing a PostgreSQL database to what the SQLite migration of that number does.
const std::vector<Migration>& PostgresMigrations();

}  // namespace parley::storage
