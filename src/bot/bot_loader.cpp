#include "bot/bot_loader.hpp"

#include <algorithm>
#include <filesystem>
#include <system_error>

#include "bot/definition.hpp"
#include "bot/dialog_bot.hpp"

namespace parley::bot {
namespace fs = std::filesystem;
namespace {

// Parses and builds one bot; does not touch the registry.
Result<std::pair<BotInfo, std::shared_ptr<const Bot>>> Build(const fs::path& path,
                                                             const std::string& name,
                                                             const Clock& clock,
                                                             bool allow_insecure_calls) {
  DefinitionOptions options;
  options.allow_insecure_calls = allow_insecure_calls;
  DefinitionResult parsed = LoadDefinitionFile(path.string(), options);
  if (!parsed.definition) return Fail(DiagnosticsError(parsed.errors));
  BotInfo info;
  info.name = name;
  info.display_name = parsed.definition->name;
  info.source = path.string();
  info.loaded_at_ms = clock.NowMs();
  auto bot = DialogBot::Create(std::move(*parsed.definition), clock);
  if (!bot) {
    return Fail(Errc::kInvalidArgument, "invalid_bot_definition",
                path.string() + ": the intents could not be trained: " + bot.error().message);
  }
  return std::pair<BotInfo, std::shared_ptr<const Bot>>{std::move(info), std::move(*bot)};
}

}  // namespace

bool IsValidBotName(const std::string& name) {
  if (name.empty() || name.size() > 64 || name == "echo" || name == "none") return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

Result<size_t> LoadBotsDir(const std::string& dir, BotRegistry& registry, const Clock& clock,
                           bool allow_insecure_calls) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return Fail(Errc::kNotFound, "bots_dir_not_found",
                "The bots folder " + dir + " does not exist: create it or change --bots.");
  }
  std::vector<fs::path> files;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->path().extension() == ".yaml" && it->is_regular_file(ec)) files.push_back(it->path());
  }
  if (ec) {
    return Fail(Errc::kUnavailable, "bots_dir_unreadable",
                "The bots folder " + dir + " cannot be read: " + ec.message() + ".");
  }
  std::sort(files.begin(), files.end());
  size_t loaded = 0;
  std::string refused;
  for (const auto& path : files) {
    std::string name = path.stem().string();
    std::string problem;
    if (!IsValidBotName(name)) {
      problem = path.string() +
                ": the file name must be a bot name (1 to 64 of a-z, 0-9, '_', '-'; not echo or "
                "none)";
    } else if (auto built = Build(path, name, clock, allow_insecure_calls); !built) {
      problem = built.error().message;
    } else {
      registry.Put(std::move(built->first), std::move(built->second));
      ++loaded;
      continue;
    }
    if (!refused.empty()) refused += '\n';
    refused += problem;
  }
  if (!refused.empty()) return Fail(Errc::kInvalidArgument, "invalid_bot_definition", refused);
  return loaded;
}

Result<BotInfo> ReloadBot(const std::string& dir, const std::string& name, BotRegistry& registry,
                          const Clock& clock, bool allow_insecure_calls) {
  if (!IsValidBotName(name)) {
    return Fail(Errc::kInvalidArgument, "invalid_bot_name",
                "Only bots loaded from files can be reloaded: name one by its file's stem.");
  }
  fs::path path = fs::path(dir) / (name + ".yaml");
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) {
    return Fail(Errc::kNotFound, "bot_not_found",
                "There is no file " + path.string() + ": add it to the bots folder first.");
  }
  auto built = Build(path, name, clock, allow_insecure_calls);
  if (!built) return Fail(built.error());
  BotInfo info = built->first;
  registry.Put(std::move(built->first), std::move(built->second));
  return info;
}

}  // namespace parley::bot
