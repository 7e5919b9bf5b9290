// http::AddStaticRoutes: exact routes per embedded file, headers, ETag/304, HEAD, redirects.

#include "http/static_files.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <optional>
#include <string>

#include "test_support.hpp"

namespace parley::http {
namespace {

using parley::testing::Await;

std::optional<std::string> HeaderOf(const Response& r, std::string_view name) {
  for (const auto& [k, v] : r.headers)
    if (k == name) return v;
  return std::nullopt;
}

class StaticFilesTest : public ::testing::Test {
 protected:
  StaticFilesTest() {
    StaticMount all;
    all.exclude = {"chat/"};
    registered_ = AddStaticRoutes(router_, kFiles, all);
    AddRedirect(router_, "/", "/manager/");
  }

  Response Get(std::string path, std::string method = "GET",
               std::optional<std::string> if_none_match = std::nullopt) {
    Request req;
    req.method = std::move(method);
    req.path = std::move(path);
    if (if_none_match) req.headers.emplace_back("if-none-match", *if_none_match);
    return Await(io_, router_.Route(req));
  }

  static constexpr EmbeddedFile kFiles[] = {
      {"manager/index.html", "<!doctype html><title>m</title>"},
      {"manager/main.js", "export const x = 1;"},
      {"agent/style.css", "body{}"},
      {"lib/logo.png", std::string_view("\x89PNG\0\x01", 6)},
      {"lib/icon.svg", "<svg/>"},
      {"chat/index.html", "<!doctype html><title>chat</title>"},
  };

  boost::asio::io_context io_;
  Router router_;
  size_t registered_ = 0;
};

TEST_F(StaticFilesTest, ServesEachFileAtItsPathWithItsType) {
  EXPECT_EQ(registered_, 5u);
  Response js = Get("/manager/main.js");
  EXPECT_EQ(js.status, 200);
  EXPECT_EQ(js.body, "export const x = 1;");
  EXPECT_EQ(js.content_type, "text/javascript; charset=utf-8");
  EXPECT_EQ(Get("/agent/style.css").content_type, "text/css; charset=utf-8");
  EXPECT_EQ(Get("/lib/icon.svg").content_type, "image/svg+xml");
  Response png = Get("/lib/logo.png");
  EXPECT_EQ(png.content_type, "image/png");
  EXPECT_EQ(png.body, std::string("\x89PNG\0\x01", 6));  // binary-exact
  EXPECT_FALSE(HeaderOf(js, "Content-Security-Policy"));
  EXPECT_EQ(HeaderOf(js, "Cache-Control"), "no-cache");
  EXPECT_EQ(HeaderOf(js, "X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(HeaderOf(js, "Referrer-Policy"), "no-referrer");
}

TEST_F(StaticFilesTest, IndexPageAtItsFolderWithStrictCsp) {
  for (const char* path : {"/manager", "/manager/", "/manager/index.html"}) {
    Response r = Get(path);
    EXPECT_EQ(r.status, 200) << path;
    EXPECT_EQ(r.content_type, "text/html; charset=utf-8");
    EXPECT_EQ(HeaderOf(r, "Content-Security-Policy"), std::string(kContentSecurityPolicy));
  }
  EXPECT_NE(std::string(kContentSecurityPolicy).find("script-src 'self';"), std::string::npos);
}

TEST_F(StaticFilesTest, UnknownAndTraversalPathsAre404AndExcludedFilesAbsent) {
  EXPECT_EQ(Get("/manager/missing.js").status, 404);
  EXPECT_EQ(Get("/manager/../manager/main.js").status, 404);
  EXPECT_EQ(Get("/chat/index.html").status, 404);
  EXPECT_EQ(Get("/lib").status, 404);
}

TEST_F(StaticFilesTest, EtagAndIfNoneMatch) {
  Response first = Get("/manager/main.js");
  auto etag = HeaderOf(first, "ETag");
  ASSERT_TRUE(etag);
  EXPECT_EQ(etag->front(), '"');
  EXPECT_NE(HeaderOf(Get("/agent/style.css"), "ETag"), etag);  // differs with content
  Response again = Get("/manager/main.js", "GET", *etag);
  EXPECT_EQ(again.status, 304);
  EXPECT_TRUE(again.body.empty());
  EXPECT_EQ(HeaderOf(again, "ETag"), etag);
  EXPECT_EQ(Get("/manager/main.js", "GET", "\"other\", W/" + *etag).status, 304);
  EXPECT_EQ(Get("/manager/main.js", "GET", "\"other\"").status, 200);
}

TEST_F(StaticFilesTest, HeadAndRedirect) {
  Response head = Get("/manager/main.js", "HEAD");
  EXPECT_EQ(head.status, 200);  // the server drops the body of a HEAD answer, not the route
  Response root = Get("/");
  EXPECT_EQ(root.status, 302);
  EXPECT_EQ(HeaderOf(root, "Location"), "/manager/");
  EXPECT_EQ(Get("/manager/main.js", "POST").status, 405);
}

TEST_F(StaticFilesTest, MountServesASubfolderAtRoot) {
  Router chat;
  StaticMount mount;
  mount.from = "chat/";
  EXPECT_EQ(AddStaticRoutes(chat, kFiles, mount), 1u);
  Request req;
  req.method = "GET";
  req.path = "/";
  Response r = Await(io_, chat.Route(req));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "<!doctype html><title>chat</title>");
}

TEST(EmbeddedWebFiles, HoldTheManagerAndChatPages) {
  auto files = EmbeddedWebFiles();
  auto has = [&](std::string_view path) {
    return std::any_of(files.begin(), files.end(),
                       [&](const EmbeddedFile& f) { return f.path == path && !f.content.empty(); });
  };
  EXPECT_TRUE(has("manager/index.html"));
  EXPECT_TRUE(has("chat/index.html"));
  EXPECT_TRUE(has("chat/main.js"));
  EXPECT_TRUE(has("chat/style.css"));
}

}  // namespace
}  // namespace parley::http
