#include "delivery/webhook_client.hpp"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/host_name.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "delivery/address_guard.hpp"

namespace parley::delivery {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
constexpr auto kUseTuple = asio::as_tuple(asio::use_awaitable);

// ---- A self-signed CA and two server certificates, made with OpenSSL at test time. ----

struct Pki {
  std::filesystem::path dir;
  std::string ca_cert;
  std::string server_cert;  // SAN IP:127.0.0.1, DNS:localhost
  std::string server_key;
  std::string wrong_cert;  // SAN DNS:wrong.example only, same CA
  std::string wrong_key;
};

using KeyPtr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;
using CertPtr = std::unique_ptr<X509, decltype(&X509_free)>;

void AddExt(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  ASSERT_NE(ext, nullptr) << value;
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

// Issues a certificate for `key`; self-signed when `issuer` is null.
CertPtr MakeCert(EVP_PKEY* key, const char* cn, long serial, X509* issuer, EVP_PKEY* issuer_key,
                 const char* san) {
  CertPtr cert(X509_new(), X509_free);
  X509* x = cert.get();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), serial);
  X509_gmtime_adj(X509_getm_notBefore(x), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x), 24 * 3600);
  X509_set_pubkey(x, key);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn),
                             -1, -1, 0);
  X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name);
  X509* signer = issuer ? issuer : x;
  if (!issuer) {
    AddExt(x, signer, NID_basic_constraints, "critical,CA:TRUE");
    AddExt(x, signer, NID_key_usage, "critical,keyCertSign,cRLSign");
    AddExt(x, signer, NID_subject_key_identifier, "hash");
  } else {
    AddExt(x, signer, NID_basic_constraints, "critical,CA:FALSE");
    AddExt(x, signer, NID_key_usage, "critical,digitalSignature");
    AddExt(x, signer, NID_ext_key_usage, "serverAuth");
    AddExt(x, signer, NID_subject_alt_name, san);
    AddExt(x, signer, NID_authority_key_identifier, "keyid");
  }
  EXPECT_GT(X509_sign(x, issuer_key ? issuer_key : key, EVP_sha256()), 0);
  return cert;
}

void WritePem(const std::filesystem::path& path, X509* cert, EVP_PKEY* key) {
  FILE* f = std::fopen(path.c_str(), "w");
  ASSERT_NE(f, nullptr);
  if (cert) PEM_write_X509(f, cert);
  if (key) PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(f);
}

Pki MakePki() {
  Pki pki;
  std::string tmpl = (std::filesystem::temp_directory_path() / "parley-pki-XXXXXX").string();
  pki.dir = ::mkdtemp(tmpl.data());
  KeyPtr ca_key(EVP_EC_gen("P-256"), EVP_PKEY_free);
  KeyPtr server_key(EVP_EC_gen("P-256"), EVP_PKEY_free);
  KeyPtr wrong_key(EVP_EC_gen("P-256"), EVP_PKEY_free);
  CertPtr ca = MakeCert(ca_key.get(), "Parley Test CA", 1, nullptr, nullptr, nullptr);
  CertPtr server = MakeCert(server_key.get(), "localhost", 2, ca.get(), ca_key.get(),
                            "IP:127.0.0.1,DNS:localhost");
  CertPtr wrong =
      MakeCert(wrong_key.get(), "wrong.example", 3, ca.get(), ca_key.get(), "DNS:wrong.example");
  pki.ca_cert = (pki.dir / "ca.pem").string();
  pki.server_cert = (pki.dir / "server.pem").string();
  pki.server_key = (pki.dir / "server.key").string();
  pki.wrong_cert = (pki.dir / "wrong.pem").string();
  pki.wrong_key = (pki.dir / "wrong.key").string();
  WritePem(pki.ca_cert, ca.get(), nullptr);
  WritePem(pki.server_cert, server.get(), nullptr);
  WritePem(pki.server_key, nullptr, server_key.get());
  WritePem(pki.wrong_cert, wrong.get(), nullptr);
  WritePem(pki.wrong_key, nullptr, wrong_key.get());
  return pki;
}

std::shared_ptr<ssl::context> ServerTls(const std::string& cert, const std::string& key) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  ctx->use_certificate_chain_file(cert);
  ctx->use_private_key_file(key, ssl::context::pem);
  return ctx;
}

// ---- A tiny webhook receiver on 127.0.0.1, port 0, on its own thread. ----

enum class Behavior {
  kEcho,                // 200 with the request body, keep-alive
  kUnavailable,         // 503 "down"
  kNeverAnswer,         // reads the request, then says nothing
  kCloseAfterResponse,  // promises keep-alive, then closes right after answering
  kDropSecondRequest,   // on each connection: answers the first request, closes on the second
  kHugeBody,            // 200 with a 100 KiB body
};

class TestServer {
 public:
  explicit TestServer(Behavior behavior, std::shared_ptr<ssl::context> tls = nullptr)
      : behavior_(behavior), tls_(std::move(tls)) {
    acceptor_.open(tcp::v4());
    acceptor_.set_option(asio::socket_base::reuse_address(true));
    acceptor_.bind({asio::ip::make_address("127.0.0.1"), 0});
    acceptor_.listen();
    asio::co_spawn(ioc_, Accept(), asio::detached);
    thread_ = std::thread([this] { ioc_.run(); });
  }
  ~TestServer() {
    ioc_.stop();
    thread_.join();
  }

  std::string Url(std::string_view host = "127.0.0.1") const {
    return fmt::format("{}://{}:{}/hook?x=1", tls_ ? "https" : "http", host,
                       acceptor_.local_endpoint().port());
  }
  unsigned short Port() const { return acceptor_.local_endpoint().port(); }
  int Accepted() const { return accepted_; }
  int Requests() const { return requests_; }
  std::map<std::string, std::string> LastHeaders() const {
    std::lock_guard lock(mu_);
    return last_headers_;
  }
  std::string LastTarget() const {
    std::lock_guard lock(mu_);
    return last_target_;
  }

 private:
  asio::awaitable<void> Accept() {
    for (;;) {
      auto [ec, socket] = co_await acceptor_.async_accept(kUseTuple);
      if (ec) co_return;
      ++accepted_;
      if (tls_)
        asio::co_spawn(ioc_, ServeTls(std::move(socket)), asio::detached);
      else
        asio::co_spawn(ioc_, ServePlain(std::move(socket)), asio::detached);
    }
  }

  asio::awaitable<void> ServePlain(tcp::socket socket) {
    beast::tcp_stream stream(std::move(socket));
    co_await Session(stream);
  }

  asio::awaitable<void> ServeTls(tcp::socket socket) {
    ssl::stream<beast::tcp_stream> stream(beast::tcp_stream(std::move(socket)), *tls_);
    auto [ec] = co_await stream.async_handshake(ssl::stream_base::server, kUseTuple);
    if (!ec) co_await Session(stream);
  }

  template <class Stream>
  asio::awaitable<void> Session(Stream& stream) {
    beast::flat_buffer buffer;
    for (int n = 1;; ++n) {
      bhttp::request<bhttp::string_body> req;
      auto [ec, bytes] = co_await bhttp::async_read(stream, buffer, req, kUseTuple);
      if (ec) co_return;
      ++requests_;
      {
        std::lock_guard lock(mu_);
        last_target_ = std::string(req.target());
        last_headers_.clear();
        for (const auto& field : req) {
          last_headers_[std::string(field.name_string())] = std::string(field.value());
        }
      }
      if (behavior_ == Behavior::kNeverAnswer) {
        bhttp::request<bhttp::string_body> next;
        co_await bhttp::async_read(stream, buffer, next, kUseTuple);  // until the client leaves
        co_return;
      }
      if (behavior_ == Behavior::kDropSecondRequest && n == 2) co_return;
      bhttp::response<bhttp::string_body> res{bhttp::status::ok, 11};
      if (behavior_ == Behavior::kUnavailable) {
        res.result(bhttp::status::service_unavailable);
        res.body() = "down";
      } else if (behavior_ == Behavior::kHugeBody) {
        res.body() = std::string(100 * 1024, 'z');
      } else {
        res.body() = req.body();
      }
      res.keep_alive(true);
      res.prepare_payload();
      auto [wec, written] = co_await bhttp::async_write(stream, res, kUseTuple);
      if (wec || behavior_ == Behavior::kCloseAfterResponse) co_return;
    }
  }

  Behavior behavior_;
  std::shared_ptr<ssl::context> tls_;
  asio::io_context ioc_;
  tcp::acceptor acceptor_{ioc_};
  std::thread thread_;
  std::atomic<int> accepted_{0};
  std::atomic<int> requests_{0};
  mutable std::mutex mu_;
  std::map<std::string, std::string> last_headers_;
  std::string last_target_;
};

HttpRequest Req(std::string url, std::string body = R"({"type":"text"})",
                std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  HttpRequest r;
  r.url = std::move(url);
  r.headers = {{"Authorization", "Bearer token"},
               {"connection_id", "c-1"},
               {"Content-Type", "application/json"}};
  r.body = std::move(body);
  r.timeout = timeout;
  return r;
}

// Runs several Posts to completion on `ioc` with `threads` threads; from coroutines on `on`
// when given (a strand, as the dispatcher's), else on the io_context itself.
std::vector<Result<HttpResponse>> RunPosts(asio::io_context& ioc, WebhookClient& client,
                                           std::vector<HttpRequest> reqs, int threads = 1,
                                           std::optional<asio::any_io_executor> on = {}) {
  std::vector<std::optional<Result<HttpResponse>>> out(reqs.size());
  for (size_t i = 0; i < reqs.size(); ++i) {
    asio::co_spawn(on ? *on : asio::any_io_executor(ioc.get_executor()),
                   client.Post(std::move(reqs[i])),
                   [&out, i](std::exception_ptr e, Result<HttpResponse> r) {
                     out[i] = e ? Fail(Errc::kInternal, "threw", "Post threw.") : std::move(r);
                   });
  }
  ioc.restart();
  std::vector<std::thread> extra;
  for (int t = 1; t < threads; ++t) extra.emplace_back([&ioc] { ioc.run(); });
  ioc.run();
  for (auto& t : extra) t.join();
  std::vector<Result<HttpResponse>> results;
  for (auto& r : out) {
    results.push_back(r ? std::move(*r) : Fail(Errc::kInternal, "not_done", "Post never ended."));
  }
  return results;
}

Result<HttpResponse> RunPost(asio::io_context& ioc, WebhookClient& client, HttpRequest req) {
  std::vector<HttpRequest> reqs;
  reqs.push_back(std::move(req));
  return std::move(RunPosts(ioc, client, std::move(reqs)).front());
}

WebhookClientOptions Insecure() {
  WebhookClientOptions o;
  o.allow_insecure = true;
  return o;
}

std::string Describe(const Result<HttpResponse>& r) {
  return r ? fmt::format("HTTP {}", r->status) : r.error().code + ": " + r.error().message;
}

TEST(WebhookClientTest, PostsAndReturnsTheAnswer) {
  TestServer server(Behavior::kEcho);
  asio::io_context ioc;
  WebhookClient client(ioc.get_executor(), Insecure());
  auto r = RunPost(ioc, client, Req(server.Url(), R"({"hello":1})"));
  ASSERT_TRUE(r) << Describe(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, R"({"hello":1})");
  auto headers = server.LastHeaders();
  EXPECT_EQ(headers["Authorization"], "Bearer token");
  EXPECT_EQ(headers["connection_id"], "c-1");
  EXPECT_EQ(headers["Content-Type"], "application/json");
  EXPECT_EQ(headers["Host"], fmt::format("127.0.0.1:{}", server.Port()));
  EXPECT_EQ(server.LastTarget(), "/hook?x=1");
}

TEST(WebhookClientTest, ReusesKeepAliveConnections) {
  TestServer server(Behavior::kEcho);
  asio::io_context ioc;
  WebhookClient client(ioc.get_executor(), Insecure());
  for (int i = 0; i < 5; ++i) {
    auto r = RunPost(ioc, client, Req(server.Url(), std::to_string(i)));
    ASSERT_TRUE(r) << Describe(r);
    EXPECT_EQ(r->body, std::to_string(i));
  }
  EXPECT_EQ(server.Accepted(), 1);
  EXPECT_EQ(server.Requests(), 5);
  EXPECT_EQ(client.Stats().idle_connections, 1u);
  EXPECT_EQ(client.Stats().connections_opened, 1u);
}

TEST(WebhookClientTest, IdleTimeoutRetiresPooledConnections) {
  TestServer server(Behavior::kEcho);
  asio::io_context ioc;
  auto options = Insecure();
  options.idle_timeout = std::chrono::milliseconds(0);
  WebhookClient client(ioc.get_executor(), options);
  ASSERT_TRUE(RunPost(ioc, client, Req(server.Url())));
  ASSERT_TRUE(RunPost(ioc, client, Req(server.Url())));
  EXPECT_EQ(server.Accepted(), 2);
}

TEST(WebhookClientTest, ServerClosingIdleConnectionsDoesNotFailRequests) {
  TestServer server(Behavior::kCloseAfterResponse);
  asio::io_context ioc;
  WebhookClient client(ioc.get_executor(), Insecure());
  for (int i = 0; i < 4; ++i) {
    auto r = RunPost(ioc, client, Req(server.Url()));
    ASSERT_TRUE(r) << i << ": " << Describe(r);
    EXPECT_EQ(r->status, 200);
  }
  EXPECT_EQ(server.Accepted(), 4);
}

TEST(WebhookClientTest, StaleConnectionIsRetriedOnceOnAFreshOne) {
  // The server reads the second request on a kept-alive connection and closes without a byte
  // of answer: exactly the race of a server timing out an idle connection.
  TestServer server(Behavior::kDropSecondRequest);
  asio::io_context ioc;
  WebhookClient client(ioc.get_executor(), Insecure());
  auto first = RunPost(ioc, client, Req(server.Url(), "one"));
  ASSERT_TRUE(first) << Describe(first);
  auto second = RunPost(ioc, client, Req(server.Url(), "two"));
  ASSERT_TRUE(second) << Describe(second);
  EXPECT_EQ(second->body, "two");
  EXPECT_EQ(server.Accepted(), 2);
  EXPECT_EQ(server.Requests(), 3);
  EXPECT_EQ(client.Stats().stale_retries, 1u);
}

TEST(WebhookClientTest, FreshConnectionFailureIsNotRetried) {
  TestServer server(Behavior::kDropSecondRequest);
  asio::io_context ioc;
  auto options = Insecure();
  options.idle_timeout = std::chrono::milliseconds(0);  // never reuse: every request is fresh
  WebhookClient client(ioc.get_executor(), options);
  ASSERT_TRUE(RunPost(ioc, client, Req(server.Url())));
  ASSERT_TRUE(RunPost(ioc, client, Req(server.Url())));
  EXPECT_EQ(server.Requests(), 2);
  EXPECT_EQ(client.Stats().stale_retries, 0u);
}

TEST(WebhookClientTest, ServerErrorIsAStatusNotAFailure) {
  TestServer server(Behavior::kUnavailable);
  asio::io_context ioc;
  WebhookClient client(ioc.get_executor(), Insecure());
  auto r = RunPost(ioc, client, Req(server.Url()));
  ASSERT_TRUE(r) << Describe(r);
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(r->body, "down");
  EXPECT_FALSE(r->cut);
}

TEST(WebhookClientTest, OversizedResponseBodyIsCutButTheStatusCounts) {
  TestServer server(Behavior::kHugeBody);
  asio::io_context ioc;
  auto options = Insecure();
  options.max_response_body = 1024;
  WebhookClient client(ioc.get_executor(), options);
  auto r = RunPost(ioc, client, Req(server.Url()));
  ASSERT_TRUE(r) << Describe(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_LE(r->body.size(), 1024u);
  EXPECT_TRUE(r->cut);  // the caller can tell a cut body from a whole one (actions refuse it)
  EXPECT_EQ(client.Stats().idle_connections, 0u);  // the rest of the body is still on the wire
}

TEST(WebhookClientTest, SilentServerTimesOut) {
  TestServer server(Behavior::kNeverAnswer);
  asio::io_context ioc;
  WebhookClient client(ioc.get_executor(), Insecure());
  auto start = std::chrono::steady_clock::now();
  auto r = RunPost(ioc, client, Req(server.Url(), "{}", std::chrono::milliseconds(300)));
  auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().errc, Errc::kUnavailable);
  EXPECT_EQ(r.error().code, "timeout") << r.error().message;
  EXPECT_NE(r.error().message.find("timeout"), std::string::npos);
  EXPECT_GE(elapsed, std::chrono::milliseconds(250));
  EXPECT_LT(elapsed, std::chrono::seconds(5));
  EXPECT_EQ(server.Requests(), 1);  // a timeout is not a stale connection: no second try
}

TEST(WebhookClientTest, ConnectionRefusedNamesTheStep) {
  asio::io_context probe;
  tcp::acceptor closed(probe, {asio::ip::make_address("127.0.0.1"), 0});
  auto port = closed.local_endpoint().port();
  closed.close();
  asio::io_context ioc;
  WebhookClient client(ioc.get_executor(), Insecure());
  auto r = RunPost(ioc, client, Req(fmt::format("http://127.0.0.1:{}/hook", port)));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().errc, Errc::kUnavailable);
  EXPECT_EQ(r.error().code, "connect_failed");
  EXPECT_EQ(r.error().message.rfind("connect:", 0), 0u) << r.error().message;
  EXPECT_EQ(client.Stats().busy_connections, 0u);
}

TEST(WebhookClientTest, LoopbackRefusedUnlessInsecure) {
  TestServer server(Behavior::kEcho);
  asio::io_context ioc;
  WebhookClient client(ioc.get_executor(), WebhookClientOptions{});
  // An IP literal is refused by the URL check; http:// as well.
  auto literal = RunPost(ioc, client, Req(server.Url()));
  ASSERT_FALSE(literal);
  EXPECT_EQ(literal.error().code, "invalid_webhook");
  auto port = std::to_string(server.Port());
  auto literal_https = RunPost(ioc, client, Req("https://127.0.0.1:" + port + "/hook"));
  ASSERT_FALSE(literal_https);
  EXPECT_EQ(literal_https.error().code, "invalid_webhook");
  auto named = RunPost(ioc, client, Req("https://localhost:" + port + "/hook"));
  ASSERT_FALSE(named);
  EXPECT_EQ(named.error().code, "invalid_webhook");
  EXPECT_EQ(server.Accepted(), 0);
  // The same name is fine in development mode.
  WebhookClient dev(ioc.get_executor(), Insecure());
  auto allowed = RunPost(ioc, dev, Req("http://localhost:" + port + "/hook"));
  ASSERT_TRUE(allowed) << Describe(allowed);
  EXPECT_EQ(server.Accepted(), 1);
}

TEST(WebhookClientTest, NameResolvingToAPrivateAddressIsBlockedAtConnect) {
  // This machine's own host name usually resolves to loopback or a private address; the URL
  // check cannot know that, so the connect step must refuse it.
  std::string name = asio::ip::host_name();
  asio::io_context lookup;
  tcp::resolver resolver(lookup);
  boost::system::error_code ec;
  auto addresses = resolver.resolve(name, "80", ec);
  bool any_public = false;
  for (const auto& a : addresses) any_public |= IsPublicAddress(a.endpoint().address());
  if (ec || addresses.empty() || any_public || !ValidateWebhookUrl("https://" + name + "/", false))
    GTEST_SKIP() << "host name " << name << " does not resolve to only non-public addresses";
  TestServer server(Behavior::kEcho);
  asio::io_context ioc;
  WebhookClient client(ioc.get_executor(), WebhookClientOptions{});
  auto r = RunPost(ioc, client, Req(fmt::format("https://{}:{}/hook", name, server.Port())));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().errc, Errc::kUnavailable);
  EXPECT_EQ(r.error().code, "blocked_address") << r.error().message;
  EXPECT_EQ(r.error().message.rfind("blocked address:", 0), 0u) << r.error().message;
  EXPECT_EQ(server.Accepted(), 0);
}

TEST(WebhookClientTest, RefusesHeaderInjection) {
  asio::io_context ioc;
  WebhookClient client(ioc.get_executor(), Insecure());
  auto req = Req("http://127.0.0.1:9/hook");
  req.headers.emplace_back("X-Evil", "a\r\nHost: other");
  auto r = RunPost(ioc, client, req);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "invalid_header");
  req = Req("http://127.0.0.1:9/hook");
  req.headers.emplace_back("Bad Name", "x");
  r = RunPost(ioc, client, req);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "invalid_header");
}

TEST(WebhookClientTest, ConcurrentPostsShareABoundedPool) {
  TestServer server(Behavior::kEcho);
  asio::io_context ioc;
  auto options = Insecure();
  options.max_connections_per_host = 2;
  WebhookClient client(ioc.get_executor(), options);
  std::vector<HttpRequest> reqs;
  for (int i = 0; i < 40; ++i) reqs.push_back(Req(server.Url(), "body-" + std::to_string(i)));
  auto results = RunPosts(ioc, client, std::move(reqs), /*threads=*/2);
  for (size_t i = 0; i < results.size(); ++i) {
    ASSERT_TRUE(results[i]) << i << ": " << Describe(results[i]);
    EXPECT_EQ(results[i]->body, "body-" + std::to_string(i));
  }
  EXPECT_LE(server.Accepted(), 2);
  EXPECT_EQ(server.Requests(), 40);
  auto stats = client.Stats();
  EXPECT_EQ(stats.busy_connections, 0u);
  EXPECT_LE(stats.idle_connections, 2u);
}

// The dispatcher's case: every Post from one strand, on two threads. A connection opened
// from a strand runs its exchanges there without a hop; waiters for a slot are woken by the
// Posts that finish. Then the same pooled connections serve Posts from no strand at all.
TEST(WebhookClientTest, PostsFromAStrandShareTheBoundedPoolWithOthers) {
  TestServer server(Behavior::kEcho);
  asio::io_context ioc;
  auto options = Insecure();
  options.max_connections_per_host = 2;
  WebhookClient client(ioc.get_executor(), options);
  auto strand = asio::make_strand(asio::any_io_executor(ioc.get_executor()));
  std::vector<HttpRequest> first;
  for (int i = 0; i < 40; ++i) first.push_back(Req(server.Url(), "strand-" + std::to_string(i)));
  auto results = RunPosts(ioc, client, std::move(first), /*threads=*/2, strand);
  for (size_t i = 0; i < results.size(); ++i) {
    ASSERT_TRUE(results[i]) << i << ": " << Describe(results[i]);
    EXPECT_EQ(results[i]->body, "strand-" + std::to_string(i));
  }
  std::vector<HttpRequest> second;
  for (int i = 0; i < 40; ++i) second.push_back(Req(server.Url(), "plain-" + std::to_string(i)));
  results = RunPosts(ioc, client, std::move(second), /*threads=*/2);
  for (size_t i = 0; i < results.size(); ++i) {
    ASSERT_TRUE(results[i]) << i << ": " << Describe(results[i]);
    EXPECT_EQ(results[i]->body, "plain-" + std::to_string(i));
  }
  EXPECT_LE(server.Accepted(), 2);
  EXPECT_EQ(server.Requests(), 80);
  EXPECT_EQ(client.Stats().busy_connections, 0u);
}

TEST(WebhookClientTest, WaitersGiveUpAtTheirDeadline) {
  TestServer server(Behavior::kNeverAnswer);
  asio::io_context ioc;
  auto options = Insecure();
  options.max_connections_per_host = 1;
  WebhookClient client(ioc.get_executor(), options);
  std::vector<HttpRequest> reqs;
  reqs.push_back(Req(server.Url(), "holder", std::chrono::milliseconds(800)));
  reqs.push_back(Req(server.Url(), "waiter", std::chrono::milliseconds(200)));
  auto results = RunPosts(ioc, client, std::move(reqs));
  ASSERT_FALSE(results[0]);
  ASSERT_FALSE(results[1]);
  EXPECT_EQ(results[1].error().code, "timeout");
  EXPECT_NE(results[1].error().message.find("busy"), std::string::npos)
      << results[1].error().message;
  EXPECT_EQ(server.Accepted(), 1);
  EXPECT_EQ(client.Stats().busy_connections, 0u);
}

TEST(WebhookClientTest, CloseDropsIdleConnectionsAndRefusesNewPosts) {
  TestServer server(Behavior::kEcho);
  asio::io_context ioc;
  WebhookClient client(ioc.get_executor(), Insecure());
  ASSERT_TRUE(RunPost(ioc, client, Req(server.Url())));
  EXPECT_EQ(client.Stats().idle_connections, 1u);
  client.Close();
  EXPECT_EQ(client.Stats().idle_connections, 0u);
  auto r = RunPost(ioc, client, Req(server.Url()));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "client_closed");
}

class WebhookClientTlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { pki_ = new Pki(MakePki()); }
  static void TearDownTestSuite() {
    std::error_code ignored;
    std::filesystem::remove_all(pki_->dir, ignored);
    delete pki_;
    pki_ = nullptr;
  }
  static WebhookClientOptions WithCa() {
    auto o = Insecure();  // for 127.0.0.1; certificates are verified all the same
    o.ca_file = pki_->ca_cert;
    return o;
  }
  static Pki* pki_;
};
Pki* WebhookClientTlsTest::pki_ = nullptr;

TEST_F(WebhookClientTlsTest, VerifiesAgainstTheGivenCa) {
  TestServer server(Behavior::kEcho, ServerTls(pki_->server_cert, pki_->server_key));
  asio::io_context ioc;
  WebhookClient client(ioc.get_executor(), WithCa());
  ASSERT_TRUE(client.Ready());
  auto by_ip = RunPost(ioc, client, Req(server.Url("127.0.0.1"), "ip"));
  ASSERT_TRUE(by_ip) << Describe(by_ip);
  EXPECT_EQ(by_ip->body, "ip");
  auto by_name = RunPost(ioc, client, Req(server.Url("localhost"), "name"));
  ASSERT_TRUE(by_name) << Describe(by_name);
  EXPECT_EQ(by_name->body, "name");
  auto again = RunPost(ioc, client, Req(server.Url("localhost"), "again"));
  ASSERT_TRUE(again) << Describe(again);
  EXPECT_EQ(server.Accepted(), 2);  // one per pool key; the third request reused a connection
}

TEST_F(WebhookClientTlsTest, FailsWithoutTheCa) {
  TestServer server(Behavior::kEcho, ServerTls(pki_->server_cert, pki_->server_key));
  asio::io_context ioc;
  WebhookClient client(ioc.get_executor(), Insecure());
  auto r = RunPost(ioc, client, Req(server.Url()));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "tls_failed");
  EXPECT_EQ(r.error().message.rfind("tls:", 0), 0u) << r.error().message;
  EXPECT_EQ(server.Requests(), 0);
}

TEST_F(WebhookClientTlsTest, FailsOnHostNameMismatch) {
  TestServer server(Behavior::kEcho, ServerTls(pki_->wrong_cert, pki_->wrong_key));
  asio::io_context ioc;
  WebhookClient client(ioc.get_executor(), WithCa());
  for (const char* host : {"127.0.0.1", "localhost"}) {
    auto r = RunPost(ioc, client, Req(server.Url(host)));
    ASSERT_FALSE(r) << host;
    EXPECT_EQ(r.error().code, "tls_failed") << host;
  }
  EXPECT_EQ(server.Requests(), 0);
}

TEST_F(WebhookClientTlsTest, UnreadableCaFileIsReported) {
  asio::io_context ioc;
  auto options = Insecure();
  options.ca_file = (pki_->dir / "missing.pem").string();
  WebhookClient client(ioc.get_executor(), options);
  ASSERT_FALSE(client.Ready());
  auto r = RunPost(ioc, client, Req("https://127.0.0.1:9/hook"));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "invalid_ca_file");
}

}  // namespace
}  // namespace parley::delivery
