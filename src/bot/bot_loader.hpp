#pragma once
// Loads the bots of a folder (one `*.yaml` file a bot, named by the file's stem) into the
// registry, and reloads one of them. A refused file never replaces what is serving: the
// registry keeps the previous version (or nothing, for a new file) and the error names the
// file, the line and the reason. Loading trains each bot's classifier, so call these off the
// I/O threads (at start, from the admin handler's worker, or on SIGHUP), and one at a time
// (serve runs them all on one worker): a reload reads the list, then retires from it.

#include <optional>
#include <string>
#include <vector>

#include "bot/bot.hpp"
#include "core/clock.hpp"
#include "core/result.hpp"

namespace parley::bot {

// Bot names are what connections use: the stem of the file, 1 to 64 of [a-z0-9_-].
// "echo" and "none" are reserved (the built-in echo bot, and "no assistant").
bool IsValidBotName(const std::string& name);

// Loads every `*.yaml` in `dir` (not recursive; other files are ignored) and registers the
// ones that load. Returns how many were registered, or, when any file was refused, an Error
// (kInvalidArgument, "invalid_bot_definition") listing each refused file's "file:line: reason"
// lines; the good files are registered all the same. A missing folder is kNotFound. The
// built-in `echo` is left as the caller registered it. `clock` must outlive the bots.
Result<size_t> LoadBotsDir(const std::string& dir, BotRegistry& registry, const Clock& clock,
                           bool allow_insecure_calls);

// What reloading the whole folder did.
struct DirReload {
  size_t loaded = 0;                  // files loaded and registered
  std::vector<std::string> unloaded;  // bots whose file is gone, now retired, sorted
  std::optional<Error> refused;       // as LoadBotsDir reports refused files; their previous
                                      // versions keep serving
};

// The full reload (SIGHUP): LoadBotsDir, then every listed bot that was loaded from `dir` and
// whose `<name>.yaml` is no longer a file there is retired (BotRegistry::Retire with a
// RetiredBot): it leaves the list, and the conversations it owned are handed to a person at
// their next message. A missing or unreadable folder fails as in LoadBotsDir and retires
// nothing, since a folder that vanished is more likely a mistake than a wish to drop every bot.
// Bots from elsewhere (the built-in echo) are never touched.
Result<DirReload> ReloadBotsDir(const std::string& dir, BotRegistry& registry, const Clock& clock,
                                bool allow_insecure_calls);

// Reloads `dir/<name>.yaml`. kNotFound when there is no such file, and then a bot of that name
// loaded before is retired, as ReloadBotsDir does, so nothing stale stays listed.
// kInvalidArgument for a bad name, a built-in bot or a refused file (the previous version keeps
// serving).
Result<BotInfo> ReloadBot(const std::string& dir, const std::string& name, BotRegistry& registry,
                          const Clock& clock, bool allow_insecure_calls);

}  // namespace parley::bot
