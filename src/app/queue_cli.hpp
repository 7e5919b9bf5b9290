#pragma once
// `parley queue create|list|delete`: the queues conversations wait in for a person, managed
// through a running server's REST API.

#include <CLI/CLI.hpp>

namespace parley::app {

void AddQueueCommands(CLI::App& app);

}  // namespace parley::app
