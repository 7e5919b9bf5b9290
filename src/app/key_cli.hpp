#pragma once
// `parley key rotate`: re-seals a SQLite database's secrets under a new master key.

#include <CLI/CLI.hpp>

namespace parley::app {

void AddKeyCommands(CLI::App& app);

}  // namespace parley::app
