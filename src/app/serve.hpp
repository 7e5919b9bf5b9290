#pragma once
// `parley serve`: wires the layers together and runs until SIGTERM/SIGINT.

#include "app/config.hpp"

namespace parley::app {

// Runs the server. Returns the process exit code: 0 after a graceful shutdown, 1 when it could
// not start (the reason is logged).
int RunServe(Config config);

}  // namespace parley::app
