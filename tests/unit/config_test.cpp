// Configuration: YAML file, environment overrides, range checks and listen-address parsing.

#include "app/config.hpp"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>

#include "test_support.hpp"

namespace parley::app {
namespace {

class ConfigTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& text) {
    std::string path = dir_.File("parley" + std::to_string(++n_) + ".yaml");
    std::ofstream(path) << text;
    return path;
  }
  void TearDown() override {
    for (const char* v :
         {"PARLEY_LISTEN", "PARLEY_DATABASE", "PARLEY_PUBLIC_URL", "PARLEY_ADMIN_TOKEN",
          "PARLEY_MASTER_KEY", "PARLEY_BOTS_DIR", "PARLEY_WEBHOOK_CA_FILE", "PARLEY_LOG_LEVEL",
          "PARLEY_ALLOW_INSECURE_WEBHOOKS", "PARLEY_TRUSTED_PROXIES", "PARLEY_MASTER_KEY_FILE"})
      ::unsetenv(v);
  }
  parley::testing::TempDir dir_;
  int n_ = 0;
};

TEST_F(ConfigTest, LoadsEveryKindOfSetting) {
  std::string path = Write(
      "listen: 0.0.0.0:9000\n"
      "database: sqlite:///tmp/x.db\n"
      "public_url: https://parley.example\n"
      "allow_insecure_webhooks: true\n"
      "max_body_bytes: 2048\n"
      "retry_initial_ms: 50\n"
      "retry_for_seconds: 3600\n"
      "log_level: debug\n");
  Config c;
  auto r = LoadConfigFile(path, c);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(c.listen, "0.0.0.0:9000");
  EXPECT_EQ(c.database, "sqlite:///tmp/x.db");
  EXPECT_EQ(c.public_url, "https://parley.example");
  EXPECT_TRUE(c.allow_insecure_webhooks);
  EXPECT_EQ(c.max_body_bytes, 2048);
  EXPECT_EQ(c.retry_initial_ms, 50);
  EXPECT_EQ(c.retry_for_seconds, 3600);
  EXPECT_EQ(c.log_level, "debug");
  // Untouched settings keep their defaults.
  EXPECT_EQ(c.retry_max_ms, 300'000);
  EXPECT_TRUE(Validate(c));
}

TEST_F(ConfigTest, TrustedProxiesAndKeyFile) {
  Config c;
  ASSERT_TRUE(LoadConfigFile(Write("trusted_proxies:\n  - 10.0.0.0/8\n  - ::1\n"
                                   "master_key_file: /etc/parley/key\n"),
                             c));
  EXPECT_EQ(c.master_key_file, "/etc/parley/key");
  EXPECT_TRUE(Validate(c));
  Config one;
  ASSERT_TRUE(LoadConfigFile(Write("trusted_proxies: 192.168.1.1/32, 10.1.0.0/16\n"), one));
  EXPECT_TRUE(Validate(one));
  one.trusted_proxies = "10.0.0.0/40";
  auto bad = Validate(one);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("10.0.0.0/40"), std::string::npos) << bad.error().message;
  ::setenv("PARLEY_TRUSTED_PROXIES", "172.16.0.0/12", 1);
  ApplyEnvironment(one);
  EXPECT_EQ(one.trusted_proxies, "172.16.0.0/12");
}

TEST_F(ConfigTest, AwayReasonsAsAListOrCommaSeparatedAndChecked) {
  Config c;
  EXPECT_EQ(c.away_reasons, (std::vector<std::string>{"break", "lunch", "training", "meeting"}));
  ASSERT_TRUE(LoadConfigFile(Write("away_reasons:\n  - break\n  - coaching\n"), c));
  EXPECT_EQ(c.away_reasons, (std::vector<std::string>{"break", "coaching"}));
  EXPECT_TRUE(Validate(c));
  Config comma;
  ASSERT_TRUE(LoadConfigFile(Write("away_reasons: lunch, team_meeting ,\n"), comma));
  EXPECT_EQ(comma.away_reasons, (std::vector<std::string>{"lunch", "team_meeting"}));
  Config bad;
  ASSERT_TRUE(LoadConfigFile(Write("away_reasons: [Lunch Break]\n"), bad));
  auto refused = Validate(bad);
  ASSERT_FALSE(refused);
  EXPECT_NE(refused.error().message.find("away_reasons"), std::string::npos);
  Config none;
  ASSERT_TRUE(LoadConfigFile(Write("away_reasons: []\n"), none));
  EXPECT_FALSE(Validate(none));
}

TEST_F(ConfigTest, EmptyFileKeepsDefaults) {
  Config c;
  ASSERT_TRUE(LoadConfigFile(Write(""), c));
  EXPECT_EQ(c.listen, "127.0.0.1:8080");
  EXPECT_TRUE(Validate(c));
}

TEST_F(ConfigTest, UnknownKeyNamesFileAndLine) {
  std::string path = Write("listen: 127.0.0.1:1\n# comment\nlisen_port: 8080\n");
  Config c;
  auto r = LoadConfigFile(path, c);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "invalid_config");
  EXPECT_NE(r.error().message.find(path + ":3:"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("lisen_port"), std::string::npos) << r.error().message;
}

TEST_F(ConfigTest, WrongTypeNamesFileLineAndKey) {
  std::string path = Write("listen: 127.0.0.1:1\nmax_body_bytes: lots\n");
  Config c;
  auto r = LoadConfigFile(path, c);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find(path + ":2:"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("max_body_bytes"), std::string::npos) << r.error().message;

  auto r2 = LoadConfigFile(Write("allow_insecure_webhooks: maybe\n"), c);
  ASSERT_FALSE(r2);
  EXPECT_NE(r2.error().message.find("allow_insecure_webhooks"), std::string::npos);
  auto r3 = LoadConfigFile(Write("listen: [a, b]\n"), c);
  ASSERT_FALSE(r3);
  EXPECT_NE(r3.error().message.find("listen"), std::string::npos);
}

TEST_F(ConfigTest, SyntaxErrorNamesLine) {
  std::string path = Write("listen: 127.0.0.1:1\nfoo: [unclosed\n");
  Config c;
  auto r = LoadConfigFile(path, c);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find(path + ":"), std::string::npos) << r.error().message;
}

TEST_F(ConfigTest, NotAMappingRefused) {
  Config c;
  EXPECT_FALSE(LoadConfigFile(Write("- a\n- b\n"), c));
}

TEST_F(ConfigTest, MissingFileRefused) {
  Config c;
  auto r = LoadConfigFile(dir_.File("absent.yaml"), c);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("absent.yaml"), std::string::npos);
}

TEST_F(ConfigTest, EnvironmentOverridesFile) {
  Config c;
  ASSERT_TRUE(LoadConfigFile(Write("listen: 127.0.0.1:1\nadmin_token: from-file\n"), c));
  ::setenv("PARLEY_LISTEN", "127.0.0.1:2", 1);
  ::setenv("PARLEY_ADMIN_TOKEN", "from-env", 1);
  ::setenv("PARLEY_DATABASE", "sqlite::memory:", 1);
  ::setenv("PARLEY_ALLOW_INSECURE_WEBHOOKS", "true", 1);
  ::setenv("PARLEY_LOG_LEVEL", "", 1);  // empty means unset
  ApplyEnvironment(c);
  EXPECT_EQ(c.listen, "127.0.0.1:2");
  EXPECT_EQ(c.admin_token, "from-env");
  EXPECT_EQ(c.database, "sqlite::memory:");
  EXPECT_TRUE(c.allow_insecure_webhooks);
  EXPECT_EQ(c.log_level, "info");
  ::setenv("PARLEY_ALLOW_INSECURE_WEBHOOKS", "0", 1);
  ApplyEnvironment(c);
  EXPECT_FALSE(c.allow_insecure_webhooks);
}

TEST_F(ConfigTest, ValidateRanges) {
  struct Case {
    int64_t Config::*field;
    const char* name;
    int64_t bad_low, ok, bad_high;
  };
  const Case cases[] = {
      {&Config::max_body_bytes, "max_body_bytes", 1023, 1024, 16 * 1024 * 1024 + 1},
      {&Config::header_timeout_ms, "header_timeout_ms", 9, 10, 3'600'001},
      {&Config::webhook_timeout_ms, "webhook_timeout_ms", 9, 10, 600'001},
      {&Config::retry_for_seconds, "retry_for_seconds", 0, 1, 30LL * 86400 + 1},
      {&Config::secret_grace_seconds, "secret_grace_seconds", -1, 0, 30LL * 86400 + 1},
      {&Config::io_threads, "io_threads", 0, 64, 65},
      {&Config::max_connections, "max_connections", 0, 1, 1'000'001},
      {&Config::rate_limit_per_second, "rate_limit_per_second", -1, 0, 10'000'001},
  };
  for (const Case& k : cases) {
    for (int64_t v : {k.bad_low, k.bad_high}) {
      Config c;
      c.*k.field = v;
      auto r = Validate(c);
      ASSERT_FALSE(r) << k.name << "=" << v;
      EXPECT_NE(r.error().message.find(k.name), std::string::npos) << r.error().message;
    }
    Config c;
    c.*k.field = k.ok;
    EXPECT_TRUE(Validate(c)) << k.name << "=" << k.ok;
  }
}

TEST_F(ConfigTest, RetryMaxBelowInitialRefused) {
  Config c;
  c.retry_initial_ms = 5000;
  c.retry_max_ms = 4000;
  auto r = Validate(c);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("retry_max_ms"), std::string::npos);
}

TEST_F(ConfigTest, ValidateChecksListen) {
  Config c;
  c.listen = "no-port";
  EXPECT_FALSE(Validate(c));
}

TEST(SplitHostPortTest, Forms) {
  auto v4 = SplitHostPort("127.0.0.1:8080");
  ASSERT_TRUE(v4);
  EXPECT_EQ(v4->first, "127.0.0.1");
  EXPECT_EQ(v4->second, 8080);
  auto v6 = SplitHostPort("[::1]:9000");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->first, "::1");
  EXPECT_EQ(v6->second, 9000);
  auto any = SplitHostPort(":8080");
  ASSERT_TRUE(any);
  EXPECT_EQ(any->first, "0.0.0.0");
  auto local = SplitHostPort("localhost:0");
  ASSERT_TRUE(local);
  EXPECT_EQ(local->first, "127.0.0.1");
  EXPECT_EQ(local->second, 0);
  auto top = SplitHostPort("0.0.0.0:65535");
  ASSERT_TRUE(top);
  EXPECT_EQ(top->second, 65535);
}

TEST(SplitHostPortTest, Refusals) {
  for (const char* bad : {"", "8080", "host:", "host:65536", "host:-1", "host:80x", "host:abc"}) {
    auto r = SplitHostPort(bad);
    EXPECT_FALSE(r) << "'" << bad << "' accepted as " << (r ? r->first : "");
    if (!r) {
      EXPECT_EQ(r.error().code, "invalid_config");
    }
  }
}

}  // namespace
}  // namespace parley::app
