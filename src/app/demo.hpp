#pragma once
// `parley demo`: the whole service on one machine with one command. It runs `parley serve`
// (SQLite under the data folder, the bots of the repository, the bank bot's queues) and
// `parley client webchat` as two child processes of the same binary, makes sure the admin, two
// agents and the web chat's connection exist through the admin REST API, gives the three
// people new generated passwords, and prints the three URLs and the credentials. A second run
// on the same data folder reuses the database, the users and the connection.

#include <CLI/CLI.hpp>
#include <cstdint>
#include <iosfwd>
#include <string>

namespace parley::app {

struct DemoOptions {
  uint16_t port = 8080;                   // the server (API, /manager, /agent); 0: a free one
  uint16_t chat_port = 8081;              // the web chat; 0: a free one
  std::string data_dir = "demo-data";     // the database, admin-token, serve.log, webchat.log
  std::string bots_dir;                   // empty: bots/ of the repository the binary was built in,
                                          // else ./bots
  std::string binary = "/proc/self/exe";  // what the children run
};

// Runs the demo until SIGINT or SIGTERM (then stops both children and returns 0), or until a
// child exits on its own (then stops the other, shows the tail of its log on `err` and
// returns 1). Returns 1 at once when something needed is missing (bots/bank.yaml, a free
// port), with one line on `err` saying what to do. The URLs and passwords go to `out` only:
// they are never written to a file or a log.
int RunDemo(const DemoOptions& options, std::ostream& out, std::ostream& err);

// Adds the `demo` subcommand.
void AddDemoCommand(CLI::App& app);

}  // namespace parley::app
