#include "app/key_cli.hpp"

#include <sodium.h>

#include <boost/json.hpp>
#include <cstdlib>
#include <iostream>
#include <memory>

#include "storage/secret_box.hpp"
#include "storage/secrets.hpp"

namespace parley::app {
namespace json = boost::json;

void AddKeyCommands(CLI::App& app) {
  auto* key = app.add_subcommand("key", "The master key that seals connection secrets at rest");
  key->require_subcommand(1);
  struct Args {
    std::string database = "sqlite://parley.db";
    std::string key_file;
  };
  auto args = std::make_shared<Args>();
  auto* rotate = key->add_subcommand(
      "rotate",
      "Re-seal every secret under a new key (stop the server first). With the key in a file, the "
      "file is replaced; with PARLEY_MASTER_KEY, the new key is printed to put in its place");
  rotate->add_option("--database", args->database, "sqlite:///path/parley.db")
      ->capture_default_str();
  rotate->add_option("--key-file", args->key_file,
                     "the key file (default: the database's path + .key; env "
                     "PARLEY_MASTER_KEY_FILE)");
  rotate->callback([args] {
    if (sodium_init() < 0) throw CLI::RuntimeError(1);
    const char* env_key = std::getenv("PARLEY_MASTER_KEY");
    const char* env_file = std::getenv("PARLEY_MASTER_KEY_FILE");
    std::string file = args->key_file;
    if (file.empty() && env_file && *env_file) file = env_file;
    std::string old_key;
    if (env_key && *env_key && file.empty()) {
      auto parsed = storage::SecretBox::ParseKey(env_key);
      if (!parsed) {
        std::cerr << "parley: " << parsed.error().message << "\n";
        throw CLI::RuntimeError(1);
      }
      old_key = std::move(*parsed);
    } else {
      if (file.empty()) file = storage::DefaultKeyFile(args->database);
      if (file.empty()) {
        std::cerr << "parley: give --key-file or PARLEY_MASTER_KEY for this database\n";
        throw CLI::RuntimeError(1);
      }
      auto read = storage::ReadKeyFile(file);
      if (!read) {
        std::cerr << "parley: " << read.error().message << "\n";
        throw CLI::RuntimeError(1);
      }
      old_key = std::move(*read);
    }
    size_t resealed = 0;
    auto rotated = storage::RotateMasterKey(args->database, old_key, file, &resealed);
    if (!rotated) {
      std::cerr << "parley: " << rotated.error().message << "\n";
      throw CLI::RuntimeError(1);
    }
    json::object out{{"resealed", resealed}};
    if (file.empty())
      out["master_key"] = *rotated;  // the operator puts it in PARLEY_MASTER_KEY
    else
      out["key_file"] = file;
    std::cout << json::serialize(out) << "\n";
  });
}

}  // namespace parley::app
