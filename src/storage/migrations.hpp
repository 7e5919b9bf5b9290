#pragma once
// Schema migrations, compiled in from src/storage/schema/NNNN_name.sql (see CMakeLists.txt).

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

}  // namespace parley::storage
