#include "app/demo.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <boost/json.hpp>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <optional>
#include <ostream>
#include <thread>
#include <vector>

#include "app/demo_bank.hpp"
#include "app/rest_client.hpp"
#include "core/ids.hpp"

extern char** environ;

namespace parley::app {
namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

constexpr auto kStartDeadline = std::chrono::seconds(30);
constexpr auto kStopDeadline = std::chrono::seconds(15);
constexpr size_t kLogTailLines = 20;
constexpr size_t kMaxStartLine = 4096;
constexpr char kConnectionName[] = "Demo web chat";
constexpr char kBot[] = "bank";

struct Person {
  const char* username;
  const char* display_name;
  const char* role;
  std::vector<std::string> queues;
};

const std::array<Person, 3>& People() {
  static const std::array<Person, 3> people{{
      {"admin", "Demo Admin", "admin", {}},
      // Not "Ava": that is the bank bot's name, and customers would think they still talk to it.
      {"sam", "Sam Rivera", "agent", {"cards", "general"}},
      {"ben", "Ben Okafor", "agent", {"cards", "general"}},
  }};
  return people;
}

// The bank bot escalates to these (bots/bank.yaml); the server creates them when the bot
// loads, and the demo creates whichever is still missing.
const std::array<std::pair<const char*, const char*>, 2> kQueues{{
    {"cards", "Cards and payments"},
    {"general", "General questions"},
}};

std::string Tail(const fs::path& file, size_t lines) {
  std::ifstream in(file);
  std::deque<std::string> last;
  for (std::string line; std::getline(in, line);) {
    last.push_back(std::move(line));
    if (last.size() > lines) last.pop_front();
  }
  std::string out;
  for (const auto& l : last) out += "  | " + l + '\n';
  return out;
}

// A child process of the demo: the same binary with other arguments, in a process group of its
// own (Ctrl-C reaches only the demo, which stops the children in order), killed by the kernel
// if the demo itself dies. stdout is a pipe read until the start line; stderr goes to `log`.
class Child {
 public:
  Child(std::string name, fs::path log) : name_(std::move(name)), log_(std::move(log)) {}
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  ~Child() { Stop(); }

  const std::string& Name() const { return name_; }
  const fs::path& Log() const { return log_; }

  // Forks and execs; `env` entries (NAME=value) are added to the demo's environment.
  bool Spawn(const std::string& binary, const std::vector<std::string>& args,
             const std::vector<std::string>& env, std::ostream& err) {
    int log_fd = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (log_fd < 0) {
      err << fmt::format("demo: cannot write {}: {}\n", log_.string(), std::strerror(errno));
      return false;
    }
    int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    int pipe_fds[2];
    if (null_fd < 0 || ::pipe2(pipe_fds, O_CLOEXEC) != 0) {
      err << "demo: cannot create a pipe: " << std::strerror(errno) << '\n';
      ::close(log_fd);
      if (null_fd >= 0) ::close(null_fd);
      return false;
    }
    // Everything exec needs is built before fork: the child only calls async-signal-safe
    // functions.
    std::vector<std::string> argv_store{binary};
    argv_store.insert(argv_store.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_store) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::vector<std::string> env_store;
    for (char** e = environ; *e; ++e) {
      std::string_view entry(*e);
      bool overridden = false;
      for (const auto& add : env)
        if (entry.substr(0, add.find('=') + 1) == add.substr(0, add.find('=') + 1))
          overridden = true;
      if (!overridden) env_store.emplace_back(entry);
    }
    env_store.insert(env_store.end(), env.begin(), env.end());
    std::vector<char*> envp;
    for (auto& e : env_store) envp.push_back(e.data());
    envp.push_back(nullptr);
    pid_t parent = ::getpid();

    pid_t pid = ::fork();
    if (pid < 0) {
      err << "demo: fork failed: " << std::strerror(errno) << '\n';
      ::close(log_fd);
      ::close(null_fd);
      ::close(pipe_fds[0]);
      ::close(pipe_fds[1]);
      return false;
    }
    if (pid == 0) {
      ::setpgid(0, 0);
      ::prctl(PR_SET_PDEATHSIG, SIGTERM);
      if (::getppid() != parent) ::_exit(127);
      ::dup2(null_fd, STDIN_FILENO);
      ::dup2(pipe_fds[1], STDOUT_FILENO);
      ::dup2(log_fd, STDERR_FILENO);
      sigset_t none;
      sigemptyset(&none);
      ::sigprocmask(SIG_SETMASK, &none, nullptr);
      ::execve(binary.c_str(), argv.data(), envp.data());
      ::_exit(127);
    }
    ::close(log_fd);
    ::close(null_fd);
    ::close(pipe_fds[1]);
    out_fd_ = pipe_fds[0];
    pid_ = pid;
    return true;
  }

  // Reads the child's stdout until a line starting with `prefix`; returns the rest of it.
  // Empty when the child exits first, the deadline passes or `stop_requested` says so.
  template <class StopRequested>
  std::string WaitForLine(std::string_view prefix, StopRequested stop_requested) {
    auto deadline = std::chrono::steady_clock::now() + kStartDeadline;
    std::string buffer;
    while (std::chrono::steady_clock::now() < deadline && !stop_requested()) {
      pollfd p{out_fd_, POLLIN, 0};
      int n = ::poll(&p, 1, 100);
      if (n < 0 && errno != EINTR) return {};
      if (n <= 0) continue;
      char chunk[512];
      ssize_t got = ::read(out_fd_, chunk, sizeof chunk);
      if (got <= 0) return {};  // the child closed stdout: it exited
      buffer.append(chunk, static_cast<size_t>(got));
      for (size_t nl; (nl = buffer.find('\n')) != std::string::npos;) {
        std::string line = buffer.substr(0, nl);
        buffer.erase(0, nl + 1);
        if (line.rfind(prefix, 0) == 0) return line.substr(prefix.size());
      }
      if (buffer.size() > kMaxStartLine) return {};
    }
    return {};
  }

  // The exit status when the child has exited (reaped now), else nullopt.
  std::optional<int> Poll() {
    if (pid_ <= 0) return status_;
    int status = 0;
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      pid_ = -1;
      status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      if (out_fd_ >= 0) ::close(out_fd_);
      out_fd_ = -1;
    }
    return status_;
  }

  // SIGTERM, then SIGKILL when it has not exited within kStopDeadline. Returns its status.
  int Stop() {
    if (pid_ > 0 && !Poll()) {
      ::kill(pid_, SIGTERM);
      auto deadline = std::chrono::steady_clock::now() + kStopDeadline;
      while (!Poll() && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      if (!Poll()) {
        ::kill(pid_, SIGKILL);
        while (!Poll()) std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    }
    if (out_fd_ >= 0) ::close(out_fd_);
    out_fd_ = -1;
    return status_.value_or(0);
  }

 private:
  std::string name_;
  fs::path log_;
  pid_t pid_ = -1;
  int out_fd_ = -1;
  std::optional<int> status_;
};

// True when nothing listens on 127.0.0.1:port (the probe binds as the server does).
bool PortFree(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

// bots/ of the repository the binary lives in (build/parley -> ../bots), else ./bots.
fs::path FindBotsDir(const std::string& binary) {
  std::error_code ec;
  fs::path exe = fs::canonical(binary, ec);
  if (!ec) {
    for (fs::path dir = exe.parent_path(); !dir.empty() && dir != dir.root_path();
         dir = dir.parent_path()) {
      if (fs::exists(dir / "bots" / "bank.yaml", ec)) return dir / "bots";
    }
  }
  return fs::absolute("bots", ec);
}

// The admin API token, generated once and kept in <data>/admin-token (0600).
std::optional<std::string> AdminToken(const fs::path& file, std::ostream& err) {
  std::ifstream in(file);
  std::string token;
  if (in && std::getline(in, token) && !token.empty()) return token;
  token = RandomIdGenerator().Secret(32);
  int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    err << fmt::format("demo: cannot write {}: {}\n", file.string(), std::strerror(errno));
    return std::nullopt;
  }
  std::string line = token + '\n';
  bool ok = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
  ::close(fd);
  if (!ok) {
    err << fmt::format("demo: cannot write {}\n", file.string());
    return std::nullopt;
  }
  return token;
}

// The admin REST calls the demo makes; each failure is one line on `err`.
class Api {
 public:
  Api(std::string url, std::string token, std::ostream& err)
      : url_(std::move(url)), token_(std::move(token)), err_(err) {}

  // The parsed answer when its status is one of `ok`, else nullopt (and a line on err).
  std::optional<json::value> Call(const std::string& method, const std::string& path,
                                  const json::object* body, std::initializer_list<int> ok,
                                  int* status = nullptr) {
    auto r = RestCall(method, url_, path, token_, body ? json::serialize(*body) : "");
    if (!r) {
      err_ << fmt::format("demo: {} {}: {}\n", method, path, r.error().message);
      return std::nullopt;
    }
    if (status) *status = r->status;
    for (int s : ok) {
      if (r->status != s) continue;
      boost::system::error_code ec;
      auto v = json::parse(r->body, ec);
      return ec ? json::value() : v;
    }
    err_ << fmt::format("demo: {} {} answered {}: {}\n", method, path, r->status, r->body);
    return std::nullopt;
  }

 private:
  std::string url_;
  std::string token_;
  std::ostream& err_;
};

// The array `key` of an answer object; empty when the answer has another shape.
json::array ArrayField(const json::value& v, std::string_view key) {
  if (const auto* o = v.if_object())
    if (const auto* f = o->if_contains(key))
      if (const auto* a = f->if_array()) return *a;
  return {};
}

std::string StringField(const json::value& v, std::string_view key) {
  if (const auto* o = v.if_object())
    if (const auto* f = o->if_contains(key))
      if (const auto* s = f->if_string()) return std::string(*s);
  return {};
}

bool EnsureQueues(Api& api) {
  auto list = api.Call("GET", "/api/v1/queues", nullptr, {200});
  if (!list) return false;
  for (const auto& [name, display] : kQueues) {
    bool found = false;
    for (const auto& q : ArrayField(*list, "queues"))
      found = found || StringField(q, "name") == name;
    if (found) continue;
    json::object body{{"name", name}, {"display_name", display}};
    if (!api.Call("POST", "/api/v1/queues", &body, {201, 200})) return false;
  }
  return true;
}

// Creates the person or brings them back to the demo's shape, with a new password.
bool EnsurePerson(Api& api, const Person& p, const std::string& password) {
  json::array queues;
  for (const auto& q : p.queues) queues.emplace_back(q);
  int status = 0;
  std::string path = fmt::format("/api/v1/users/{}", p.username);
  if (!api.Call("GET", path, nullptr, {200, 404}, &status)) return false;
  if (status == 404) {
    json::object body{
        {"username", p.username}, {"password", password}, {"display_name", p.display_name},
        {"role", p.role},         {"queues", queues},     {"max_chats", 3}};
    return api.Call("POST", "/api/v1/users", &body, {201}).has_value();
  }
  json::object update{{"role", p.role}, {"queues", queues}, {"enabled", true}};
  if (!api.Call("PATCH", path, &update, {200})) return false;
  json::object body{{"password", password}};
  return api.Call("POST", path + "/password", &body, {200}).has_value();
}

struct DemoConnection {
  std::string id;
  std::string secret;
  std::string webhook;
};

std::optional<DemoConnection> EnsureConnection(Api& api, const std::string& webhook) {
  auto list = api.Call("GET", "/api/v1/connections", nullptr, {200});
  if (!list) return std::nullopt;
  std::string id;
  for (const auto& c : ArrayField(*list, "connections"))
    if (StringField(c, "name") == kConnectionName) id = StringField(c, "connection_id");
  if (id.empty()) {
    json::object body{{"name", kConnectionName}, {"client_webhook", webhook}, {"bot", kBot}};
    auto created = api.Call("POST", "/api/v1/connections", &body, {201});
    if (!created) return std::nullopt;
    id = StringField(*created, "connection_id");
  } else {
    json::object body{{"bot", kBot}, {"enabled", true}};
    if (!api.Call("PATCH", "/api/v1/connections/" + id, &body, {200})) return std::nullopt;
  }
  auto shown = api.Call("GET", "/api/v1/connections/" + id, nullptr, {200});
  if (!shown) return std::nullopt;
  return DemoConnection{id, StringField(*shown, "jwt_secret"),
                        StringField(*shown, "client_webhook")};
}

// The bots the server loads: a copy of `from`'s *.yaml in `to`, with the bank bot's calls
// pointed at the demo bank (the repository's files name a host that does not exist).
bool CopyBots(const fs::path& from, const fs::path& to, const std::string& bank_url,
              std::ostream& err) {
  std::error_code ec;
  fs::remove_all(to, ec);
  fs::create_directories(to, ec);
  if (ec) {
    err << fmt::format("demo: cannot create {}: {}\n", to.string(), ec.message());
    return false;
  }
  for (const auto& entry : fs::directory_iterator(from, ec)) {
    if (!entry.is_regular_file() || entry.path().extension() != ".yaml") continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::ofstream out(to / entry.path().filename(), std::ios::binary | std::ios::trunc);
    out << PointBankCallsAt(std::move(text), bank_url);
    if (!in || !out) {
      err << fmt::format("demo: cannot copy {} to {}\n", entry.path().string(), to.string());
      return false;
    }
  }
  if (ec) {
    err << fmt::format("demo: cannot read {}: {}\n", from.string(), ec.message());
    return false;
  }
  return true;
}

bool BankLoaded(Api& api) {
  auto bots = api.Call("GET", "/api/v1/bots", nullptr, {200});
  if (!bots) return false;
  auto has = [](const json::value& list) {
    if (!list.is_array()) return false;
    for (const auto& b : list.as_array())
      if (StringField(b, "name") == kBot || (b.is_string() && b.as_string() == kBot)) return true;
    return false;
  };
  if (bots->is_array()) return has(*bots);
  if (const auto* o = bots->if_object())
    if (const auto* l = o->if_contains("bots")) return has(*l);
  return false;
}

}  // namespace

int RunDemo(const DemoOptions& options, std::ostream& out, std::ostream& err) {
  // SIGINT/SIGTERM/SIGCHLD are taken with sigtimedwait, never by a handler; the children
  // unblock them before exec.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGCHLD);
  ::sigprocmask(SIG_BLOCK, &signals, nullptr);
  // A shell without job control starts background commands with SIGINT ignored, and an
  // ignored signal never becomes pending; blocked, the default action cannot run either.
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  bool stop = false;
  auto stop_requested = [&] {
    timespec zero{0, 0};
    if (!stop && ::sigtimedwait(&stop_signals, nullptr, &zero) > 0) stop = true;
    return stop;
  };

  std::error_code ec;
  // The children run the same file; its real path reads better in the process list.
  fs::path exe = fs::canonical(options.binary, ec);
  std::string binary = ec ? options.binary : exe.string();
  fs::path data = fs::absolute(options.data_dir, ec);
  // A folder the demo creates is private (it holds the admin token and, unsealed, the
  // connection's JWT secret); one that exists already keeps its permissions.
  bool existed = fs::exists(data, ec);
  fs::create_directories(data, ec);
  if (ec || !fs::is_directory(data)) {
    err << fmt::format("demo: cannot create the data folder {}: {}\n", data.string(), ec.message());
    return 1;
  }
  if (!existed) fs::permissions(data, fs::perms::owner_all, fs::perm_options::replace, ec);
  fs::path bots = options.bots_dir.empty() ? FindBotsDir(binary) : fs::absolute(options.bots_dir);
  if (!fs::exists(bots / "bank.yaml", ec)) {
    err << fmt::format(
        "demo: {} is missing: run the demo from the Parley repository (it needs "
        "bots/bank.yaml) or give --bots FOLDER.\n",
        (bots / "bank.yaml").string());
    return 1;
  }
  for (auto [port, flag] :
       {std::pair{options.port, "--port"}, {options.chat_port, "--chat-port"}}) {
    if (port != 0 && !PortFree(port)) {
      err << fmt::format(
          "demo: port {} on 127.0.0.1 is in use: stop what listens there or pick another "
          "with {} (0 picks a free one).\n",
          port, flag);
      return 1;
    }
  }
  auto token = AdminToken(data / "admin-token", err);
  if (!token) return 1;

  // The demo bank answers the bank bot's calls (balance, block card) on a loopback port.
  auto bank = DemoBank::Start();
  if (!bank) {
    err << "demo: the demo bank did not start: " << bank.error().message << '\n';
    return 1;
  }
  fs::path served_bots = data / "bots";
  if (!CopyBots(bots, served_bots, (*bank)->Url(), err)) return 1;

  Child server("the server", data / "serve.log");
  if (!server.Spawn(binary,
                    {"serve", "--listen", fmt::format("127.0.0.1:{}", options.port), "--database",
                     "sqlite://" + (data / "parley.db").string(), "--bots", served_bots.string(),
                     "--allow-insecure-webhooks"},
                    {"PARLEY_ADMIN_TOKEN=" + *token}, err))
    return 1;
  std::string server_url = server.WaitForLine("listening on ", stop_requested);
  if (stop) return server.Stop() == 0 ? 0 : 1;
  if (server_url.empty()) {
    err << fmt::format("demo: the server did not start; the end of {}:\n{}", server.Log().string(),
                       Tail(server.Log(), kLogTailLines));
    return 1;
  }

  Api api(server_url, *token, err);
  if (!BankLoaded(api)) {
    err << fmt::format("demo: the server did not load the bank bot from {}; the end of {}:\n{}",
                       bots.string(), server.Log().string(), Tail(server.Log(), kLogTailLines));
    return 1;
  }
  if (!EnsureQueues(api)) return 1;
  RandomIdGenerator ids;
  std::vector<std::string> passwords;
  for (const auto& p : People()) {
    passwords.push_back(ids.Secret(12));
    if (!EnsurePerson(api, p, passwords.back())) return 1;
  }
  // Until the web chat runs (and its port is known) the webhook may point at a stale port;
  // it is set right after.
  auto conn = EnsureConnection(
      api, fmt::format("http://127.0.0.1:{}/webhook", options.chat_port ? options.chat_port : 9));
  if (!conn) return 1;

  Child chat("the web chat", data / "webchat.log");
  if (!chat.Spawn(binary,
                  {"client", "webchat", "--port", std::to_string(options.chat_port), "--parley-url",
                   server_url, "--connection-id", conn->id},
                  {"PARLEY_WEBCHAT_SECRET=" + conn->secret}, err))
    return 1;
  std::string chat_url = chat.WaitForLine("webchat on ", stop_requested);
  if (stop) {
    int chat_status = chat.Stop();
    return chat_status == 0 && server.Stop() == 0 ? 0 : 1;
  }
  if (chat_url.empty()) {
    err << fmt::format("demo: the web chat did not start; the end of {}:\n{}", chat.Log().string(),
                       Tail(chat.Log(), kLogTailLines));
    return 1;
  }
  if (conn->webhook != chat_url + "/webhook") {
    json::object body{{"client_webhook", chat_url + "/webhook"}};
    if (!api.Call("PATCH", "/api/v1/connections/" + conn->id, &body, {200})) return 1;
  }

  out << fmt::format(
      "Parley demo is running. Open:\n"
      "  manager:       {0}/manager\n"
      "  agent console: {0}/agent\n"
      "  web chat:      {1}/\n"
      "\n"
      "Sign in with (new passwords on every run, not stored anywhere):\n",
      server_url, chat_url);
  for (size_t i = 0; i < People().size(); ++i)
    out << fmt::format("  {:<6} {}   ({})\n", People()[i].username, passwords[i],
                       People()[i].role == std::string_view("admin")
                           ? "admin: the manager"
                           : "agent: queues cards and general");
  out << fmt::format(
      "\n"
      "Connection \"{}\" ({}) sends customers to the bank bot.\n"
      "The bank bot's calls (balance, block card) go to the demo bank at {}.\n"
      "Data: {} (admin API token in admin-token, for the CLI's --admin-token or\n"
      "PARLEY_ADMIN_TOKEN; the bots served, from {}, in bots/; logs serve.log, webchat.log).\n"
      "Ctrl-C stops the demo.\n",
      kConnectionName, conn->id, (*bank)->Url(), data.string(), bots.string());
  out << std::flush;

  for (;;) {
    timespec tick{1, 0};
    int sig = ::sigtimedwait(&signals, nullptr, &tick);
    if (sig == SIGINT || sig == SIGTERM) {
      out << "Stopping the demo...\n" << std::flush;
      int chat_status = chat.Stop();
      int server_status = server.Stop();
      return chat_status == 0 && server_status == 0 ? 0 : 1;
    }
    for (Child* dead : {&server, &chat}) {
      auto status = dead->Poll();
      if (!status) continue;
      Child& other = dead == &server ? chat : server;
      other.Stop();
      err << fmt::format("demo: {} exited (status {}); the end of {}:\n{}", dead->Name(), *status,
                         dead->Log().string(), Tail(dead->Log(), kLogTailLines));
      return 1;
    }
  }
}

void AddDemoCommand(CLI::App& app) {
  auto options = std::make_shared<DemoOptions>();
  auto* demo = app.add_subcommand(
      "demo",
      "Run the server, the bank bot and the demo web chat on this machine, with an admin and "
      "two agents; prints the three URLs and the passwords");
  demo->add_option("--port", options->port, "the server's port on 127.0.0.1 (0: a free one)")
      ->capture_default_str();
  demo->add_option("--chat-port", options->chat_port,
                   "the web chat's port on 127.0.0.1 (0: a free one)")
      ->capture_default_str();
  demo->add_option("--data", options->data_dir,
                   "folder of the database, the admin token and the logs (reused by the next run)")
      ->capture_default_str();
  demo->add_option("--bots", options->bots_dir,
                   "folder of bot definitions with bank.yaml (default: the repository's bots/)");
  demo->callback([options] {
    if (int rc = RunDemo(*options, std::cout, std::cerr); rc != 0) throw CLI::RuntimeError(rc);
  });
}

}  // namespace parley::app
