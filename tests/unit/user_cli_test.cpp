#include "app/user_cli.hpp"

#include <gtest/gtest.h>

#include <iostream>
#include <sstream>

namespace parley::app {
namespace {

// Swaps std::cin for a string for the life of the object.
class StdinFrom {
 public:
  explicit StdinFrom(const std::string& text) : in_(text), old_(std::cin.rdbuf(in_.rdbuf())) {}
  ~StdinFrom() { std::cin.rdbuf(old_); }

 private:
  std::istringstream in_;
  std::streambuf* old_;
};

// `user password U --password-stdin` with an empty stdin stops before any request (exit 1).
// CLI11 writes the flag's bool after AddUserCommands has returned: under AddressSanitizer this
// was a heap-use-after-free (nothing kept the shared_ptr<bool> alive), which make
// check-sanitize runs this test to catch.
TEST(UserCliTest, PasswordStdinFlagOutlivesTheSetUp) {
  CLI::App app("parley");
  AddUserCommands(app);
  StdinFrom empty("");
  try {
    app.parse(std::vector<std::string>{"--password-stdin", "bob", "password", "user"});
    FAIL() << "an empty stdin must stop the command";
  } catch (const CLI::RuntimeError& e) {
    EXPECT_EQ(e.get_exit_code(), 1);
  }
}

TEST(UserCliTest, PasswordWithoutTheFlagIsRefused) {
  CLI::App app("parley");
  AddUserCommands(app);
  EXPECT_THROW(app.parse(std::vector<std::string>{"bob", "password", "user"}), CLI::RequiredError);
}

}  // namespace
}  // namespace parley::app
