#pragma once
// `parley connection create|list|show|update|rotate-secret|delete`: the Digital Messaging
// Manager from the terminal, through a running server's REST API.

#include <CLI/CLI.hpp>

namespace parley::app {

void AddConnectionCommands(CLI::App& app);

}  // namespace parley::app
