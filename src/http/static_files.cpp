#include "http/static_files.hpp"

#include <fmt/format.h>

#include <memory>

namespace parley::http {
namespace {

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// FNV-1a, 64 bit: stable across builds and machines, enough to tell versions of a file apart.
std::string ContentHash(std::string_view content) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : content) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return fmt::format("\"{:016x}-{:x}\"", h, content.size());
}

// Whether an If-None-Match header value names `etag` (or is "*"); weak tags compare equal.
bool NoneMatch(std::string_view header, std::string_view etag) {
  size_t i = 0;
  while (i < header.size()) {
    size_t j = header.find(',', i);
    if (j == std::string_view::npos) j = header.size();
    std::string_view tag = header.substr(i, j - i);
    while (!tag.empty() && (tag.front() == ' ' || tag.front() == '\t')) tag.remove_prefix(1);
    while (!tag.empty() && (tag.back() == ' ' || tag.back() == '\t')) tag.remove_suffix(1);
    if (StartsWith(tag, "W/")) tag.remove_prefix(2);
    if (tag == "*" || tag == etag) return true;
    i = j + 1;
  }
  return false;
}

struct StaticFile {
  std::string_view content;
  std::string content_type;
  std::string etag;
  bool html = false;
};

Response Serve(const StaticFile& file, const Request& req) {
  Response r;
  r.content_type = file.content_type;
  r.headers.emplace_back("ETag", file.etag);
  r.headers.emplace_back("Cache-Control", "no-cache");
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  r.headers.emplace_back("Referrer-Policy", "no-referrer");
  if (file.html) {
    r.headers.emplace_back("Content-Security-Policy", std::string(kContentSecurityPolicy));
    r.headers.emplace_back("X-Frame-Options", "DENY");
  }
  if (auto inm = req.Header("if-none-match"); inm && NoneMatch(*inm, file.etag)) {
    r.status = 304;
    return r;
  }
  r.body = std::string(file.content);
  return r;
}

}  // namespace

std::string ContentTypeFor(std::string_view path) {
  struct Type {
    std::string_view ext;
    std::string_view type;
  };
  static constexpr Type kTypes[] = {
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".json", "application/json"},
      {".ico", "image/x-icon"},
      {".txt", "text/plain; charset=utf-8"},
      {".webmanifest", "application/manifest+json"},
  };
  for (const auto& t : kTypes)
    if (EndsWith(path, t.ext)) return std::string(t.type);
  return "application/octet-stream";
}

size_t AddStaticRoutes(Router& router, std::span<const EmbeddedFile> files,
                       const StaticMount& mount) {
  size_t count = 0;
  std::string at = mount.at;
  if (at.empty() || at.back() != '/') at += '/';
  for (const auto& f : files) {
    if (f.path.empty() || !StartsWith(f.path, mount.from)) continue;
    bool excluded = false;
    for (const auto& e : mount.exclude) excluded = excluded || StartsWith(f.path, e);
    if (excluded) continue;
    std::string rest(f.path.substr(mount.from.size()));
    auto file = std::make_shared<StaticFile>();
    file->content = f.content;
    file->content_type = ContentTypeFor(rest);
    file->etag = ContentHash(f.content);
    file->html = EndsWith(rest, ".html");
    Handler handler = [file](Request& req) -> boost::asio::awaitable<Response> {
      co_return Serve(*file, req);
    };
    std::vector<std::string> urls = {at + rest};
    // A folder's index.html is its page too. The router ignores a trailing slash, so
    // "/manager" registers "/manager/" as well.
    if (rest == "index.html")
      urls.push_back(at);
    else if (EndsWith(rest, "/index.html"))
      urls.push_back(at + rest.substr(0, rest.size() - std::string_view("/index.html").size()));
    for (const auto& url : urls) {
      router.Add("GET", url, handler);
      router.Add("HEAD", url, handler);
    }
    ++count;
  }
  return count;
}

void AddRedirect(Router& router, const std::string& from, const std::string& to) {
  Handler handler = [to](Request&) -> boost::asio::awaitable<Response> {
    Response r;
    r.status = 302;
    r.content_type = "text/plain; charset=utf-8";
    r.headers.emplace_back("Location", to);
    r.headers.emplace_back("Cache-Control", "no-cache");
    co_return r;
  };
  router.Add("GET", from, handler);
  router.Add("HEAD", from, handler);
}

}  // namespace parley::http
