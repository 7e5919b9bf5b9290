#include "bot/bot_loader.hpp"

#include <algorithm>
#include <filesystem>
#include <system_error>

#include "bot/definition.hpp"
#include "bot/dialog_bot.hpp"
#include "bot/retired_bot.hpp"

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

// `dir` without "." or ".." steps or a trailing separator, so that "bots/" and "./bots" match
// the folder part of "bots/bank.yaml".
fs::path NormalDir(const fs::path& dir) {
  fs::path normal = dir.lexically_normal();
  if (!normal.has_filename() && normal.has_parent_path() && normal != normal.root_path())
    normal = normal.parent_path();
  return normal;
}

// Whether `source` (a BotInfo::source) is a file directly in `dir`.
bool IsInDir(const std::string& source, const fs::path& dir) {
  fs::path file(source);
  return file.has_filename() && NormalDir(file.parent_path()) == NormalDir(dir);
}

// Loads and registers every good `*.yaml` of `dir`; fails only when the folder cannot be read.
Result<DirReload> LoadFiles(const std::string& dir, BotRegistry& registry, const Clock& clock,
                            bool allow_insecure_calls) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return Fail(Errc::kNotFound, "bots_dir_not_found",
                "The bots folder " + dir + " does not exist: create it or change --bots.");
  }
  std::vector<fs::path> files;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    // NAME.test.yaml beside NAME.yaml holds the bot's conversation tests (`parley bot test`).
    const std::string file = it->path().filename().string();
    const bool tests = file.size() > 10 && file.ends_with(".test.yaml");
    if (it->path().extension() == ".yaml" && !tests && it->is_regular_file(ec))
      files.push_back(it->path());
  }
  if (ec) {
    return Fail(Errc::kUnavailable, "bots_dir_unreadable",
                "The bots folder " + dir + " cannot be read: " + ec.message() + ".");
  }
  std::sort(files.begin(), files.end());
  DirReload out;
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
      ++out.loaded;
      continue;
    }
    if (!refused.empty()) refused += '\n';
    refused += problem;
  }
  if (!refused.empty())
    out.refused = Error{Errc::kInvalidArgument, "invalid_bot_definition", std::move(refused)};
  return out;
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
  auto loaded = LoadFiles(dir, registry, clock, allow_insecure_calls);
  if (!loaded) return Fail(loaded.error());
  if (loaded->refused) return Fail(*loaded->refused);
  return loaded->loaded;
}

Result<DirReload> ReloadBotsDir(const std::string& dir, BotRegistry& registry, const Clock& clock,
                                bool allow_insecure_calls) {
  auto out = LoadFiles(dir, registry, clock, allow_insecure_calls);
  if (!out) return out;
  for (const BotInfo& info : registry.List()) {
    if (!IsInDir(info.source, dir)) continue;
    std::error_code ec;
    fs::file_status st = fs::status(fs::path(dir) / (info.name + ".yaml"), ec);
    // Only a file known to be gone unloads its bot; an error reading its status keeps it.
    if (!fs::status_known(st) || st.type() == fs::file_type::regular) continue;
    if (registry.Retire(info.name, std::make_shared<RetiredBot>(info.name)))
      out->unloaded.push_back(info.name);
  }
  return out;
}

Result<BotInfo> ReloadBot(const std::string& dir, const std::string& name, BotRegistry& registry,
                          const Clock& clock, bool allow_insecure_calls) {
  if (!IsValidBotName(name)) {
    return Fail(Errc::kInvalidArgument, "invalid_bot_name",
                "Only bots loaded from files can be reloaded: name one by its file's stem.");
  }
  fs::path path = fs::path(dir) / (name + ".yaml");
  std::error_code ec;
  fs::file_status st = fs::status(path, ec);
  if (st.type() != fs::file_type::regular) {
    // As in ReloadBotsDir, only a file known to be gone unloads its bot.
    auto listed = registry.List();
    bool was_loaded = std::any_of(listed.begin(), listed.end(), [&](const BotInfo& b) {
      return b.name == name && IsInDir(b.source, dir);
    });
    if (was_loaded && fs::status_known(st) &&
        registry.Retire(name, std::make_shared<RetiredBot>(name))) {
      return Fail(Errc::kNotFound, "bot_not_found",
                  "There is no file " + path.string() + ", so bot '" + name +
                      "' is unloaded: put the file back and reload to serve it again.");
    }
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
