// libFuzzer target: reply templates (src/bot/template.cpp), written by conversation designers
// and filled with customer-sent names and context. Filling must never crash, and a text
// without '{' must come back unchanged.
#include <boost/json.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "bot/template.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace parley::bot;
  std::string_view input(reinterpret_cast<const char*>(data), size);
  // The first line is the customer's name; the rest is the template.
  size_t nl = input.find('\n');
  std::string name(input.substr(0, nl == std::string_view::npos ? 0 : nl));
  std::string_view text = nl == std::string_view::npos ? input : input.substr(nl + 1);
  boost::json::object slots{{"last4", "1234"}, {"n", 3}, {"empty", ""}};
  boost::json::object context{{"a", boost::json::object{{"b", "deep"}}}, {"x.y", "dotted"}};
  TemplateValues values{name, &slots, &context};
  std::string filled = FillTemplate(text, values);
  if (text.find('{') == std::string_view::npos && filled != text) std::abort();
  (void)TemplatePlaceholders(text);
  (void)FillTemplate(text, TemplateValues{});
  return 0;
}
