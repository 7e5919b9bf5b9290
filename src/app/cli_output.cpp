#include "app/cli_output.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cstdlib>
#include <iostream>

namespace parley::app {
namespace json = boost::json;

namespace {

constexpr size_t kMaxCell = 60;

// Counts UTF-8 code points, so accented names line up.
size_t Width(const std::string& s) {
  return static_cast<size_t>(
      std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

std::string Cut(std::string s) {
  if (Width(s) <= kMaxCell) return s;
  size_t points = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    if ((s[i] & 0xC0) != 0x80 && ++points == kMaxCell) return s.substr(0, i) + "…";
  }
  return s;
}

std::string Scalar(const json::value& v) {
  if (v.is_string()) return std::string(v.as_string());
  if (v.is_null()) return "-";
  return json::serialize(v);
}

}  // namespace

std::function<std::string(const json::value&)> Field(std::string key) {
  return [key](const json::value& item) -> std::string {
    const json::object* o = item.if_object();
    const json::value* v = o ? o->if_contains(key) : nullptr;
    if (!v) return "-";
    if (const json::array* a = v->if_array()) {
      std::string out;
      for (const auto& x : *a) out += (out.empty() ? "" : ",") + Scalar(x);
      return out.empty() ? "-" : out;
    }
    return Scalar(*v);
  };
}

std::string FormatTable(const json::array& items, const std::vector<Column>& columns) {
  if (items.empty()) return "(none)\n";
  std::vector<std::vector<std::string>> rows;
  rows.emplace_back();
  for (const auto& c : columns) rows.back().push_back(c.heading);
  for (const auto& item : items) {
    rows.emplace_back();
    for (const auto& c : columns) rows.back().push_back(Cut(c.cell(item)));
  }
  std::vector<size_t> widths(columns.size(), 0);
  for (const auto& row : rows)
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], Width(row[i]));
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(widths[i] - Width(row[i]) + 2, ' ');
    }
    out += line + '\n';
  }
  return out;
}

std::string ErrorLines(int status, const std::string& body) {
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  const json::value* e = !ec && v.is_object() ? v.as_object().if_contains("error") : nullptr;
  std::string line;
  if (e && e->is_object() && e->as_object().contains("code") &&
      e->as_object().contains("message") && e->at("code").is_string() &&
      e->at("message").is_string()) {
    line = fmt::format("parley: {} {}: {}", status, std::string(e->at("code").as_string()),
                       std::string(e->at("message").as_string()));
  } else {
    line = fmt::format("parley: the server answered {}", status);
  }
  if (status == 401)
    line +=
        "\nparley: give the admin token with --admin-token or PARLEY_ADMIN_TOKEN (`parley demo` "
        "keeps it in its data folder: demo-data/admin-token).";
  return line;
}

int ReportList(const Result<RestResponse>& r, const std::string& key,
               const std::vector<Column>& columns, bool as_json) {
  if (!r) {
    std::cerr << "parley: " << r.error().message << "\n";
    return 1;
  }
  if (r->status < 200 || r->status >= 300) {
    std::cerr << ErrorLines(r->status, r->body) << "\n";
    return 1;
  }
  if (as_json) {
    std::cout << r->body << "\n";
    return 0;
  }
  boost::system::error_code ec;
  json::value v = json::parse(r->body, ec);
  const json::value* list = !ec && v.is_object() ? v.as_object().if_contains(key) : nullptr;
  if (!list || !list->is_array()) {
    std::cout << r->body << "\n";  // not the expected shape: show what came
    return 0;
  }
  std::cout << FormatTable(list->as_array(), columns);
  if (const json::value* next = v.as_object().if_contains("next"); next && next->is_string())
    std::cout << "(more: the list continues; --json shows the cursor)\n";
  return 0;
}

void AddJsonFlag(CLI::App* cmd, bool& as_json) {
  cmd->add_flag("--json", as_json, "print the server's JSON answer instead of a table");
}

std::string EnvOr(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

}  // namespace parley::app
