// libFuzzer target: the bodies an agent posts to /api/v1/conversations/{id}/messages (text,
// menu, carousel, link_button), as the handler decodes them. When a body is accepted, every
// link in it must pass the URL rule (no javascript:, data:, relative links: issue 17), and its
// JSON must decode back to the same JSON.
#include <boost/json.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>
#include <variant>

#include "channel/outbound.hpp"

namespace {

void CheckUrl(const std::string& url) {
  if (parley::channel::UrlProblem(url)) std::abort();
}

void CheckLinks(const parley::channel::OutboundBody& body) {
  using namespace parley::channel;
  if (const auto* l = std::get_if<LinkButtonBody>(&body)) CheckUrl(l->url);
  if (const auto* m = std::get_if<MenuBody>(&body))
    for (const auto& i : m->items)
      if (i.image_url) CheckUrl(*i.image_url);
  if (const auto* c = std::get_if<CarouselBody>(&body))
    for (const auto& i : c->items) {
      if (i.image_url) CheckUrl(*i.image_url);
      for (const auto& b : i.buttons)
        if (b.url) CheckUrl(*b.url);
    }
  if (const auto* t = std::get_if<TextBody>(&body))
    for (const auto& a : t->attachments) CheckUrl(a.url);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  boost::system::error_code ec;
  boost::json::value v =
      boost::json::parse(std::string_view(reinterpret_cast<const char*>(data), size), ec);
  if (ec) return 0;
  auto body = parley::channel::DecodeOutboundBody(v);
  if (!body) return 0;
  CheckLinks(*body);
  boost::json::value encoded = parley::channel::BodyToJson(*body);
  auto again = parley::channel::DecodeOutboundBody(encoded);
  if (!again || boost::json::value(parley::channel::BodyToJson(*again)) != encoded) std::abort();
  return 0;
}
