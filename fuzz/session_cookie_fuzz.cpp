// libFuzzer target: what a browser or a proxy sends about a session, parsed before any store
// read: the Cookie headers (both cookie names), the Authorization bearer, the CSRF header
// comparison, X-Forwarded-For with trusted proxies, and the public URL's scheme. The input's
// lines are header values in turn: cookie, authorization, x-parley-csrf, x-forwarded-for,
// then a trusted_proxies list and a public URL. Issue 17.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "http/auth.hpp"
#include "http/client_address.hpp"
#include "manager/session_service.hpp"

namespace {

std::vector<std::string> Lines(std::string_view in) {
  std::vector<std::string> out;
  while (out.size() < 6) {
    size_t nl = in.find('\n');
    out.emplace_back(in.substr(0, nl));
    if (nl == std::string_view::npos) break;
    in.remove_prefix(nl + 1);
  }
  out.resize(6);
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace parley;
  auto l = Lines(std::string_view(reinterpret_cast<const char*>(data), size));
  http::Request req;
  req.headers = {{"cookie", l[0]},
                 {"authorization", l[1]},
                 {"x-parley-csrf", l[2]},
                 {"x-forwarded-for", l[3]},
                 {"cookie", l[2]}};
  for (const char* name : {http::kSessionCookie, http::kSecureSessionCookie}) {
    auto v = http::CookieValue(req, name);
    if (v && v->empty()) std::abort();  // an empty value is never a session token
  }
  if (auto bearer = http::BearerToken(req); bearer && bearer->empty()) std::abort();
  // The CSRF check: equal strings compare equal, whatever they hold.
  if (!manager::SameSecret(l[2], l[2])) std::abort();
  if (l[2] != l[0] && manager::SameSecret(l[2], l[0])) std::abort();
  (void)manager::HashSessionToken(l[1]);
  auto proxies = http::ParseCidrList(l[4]);
  std::vector<http::Cidr> trusted = proxies ? *proxies : std::vector<http::Cidr>{};
  std::string client = http::ClientAddress("10.0.0.1", {l[3]}, trusted);
  if (client.empty()) std::abort();
  (void)http::IsHttpsUrl(l[5]);
  (void)http::SessionCookie(l[1], http::IsHttpsUrl(l[5]));
  return 0;
}
