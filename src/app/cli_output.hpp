#pragma once
// How the admin CLI commands print what the server answered: lists as a table (or JSON with
// --json), errors on stderr as one line, and a 401 with what to do about it.

#include <CLI/CLI.hpp>
#include <boost/json/array.hpp>
#include <boost/json/value.hpp>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "app/rest_client.hpp"
#include "core/result.hpp"

namespace parley::app {

// One column of a list's table: its heading and how to read a cell from an item.
struct Column {
  std::string heading;
  std::function<std::string(const boost::json::value& item)> cell;
};

// A cell reader for the item's field `key`: strings as they are, numbers and booleans as
// JSON, arrays of strings joined with ",", null or absent as "-".
std::function<std::string(const boost::json::value&)> Field(std::string key);

// The items as a table: a heading row, then one row per item, columns padded with spaces to
// their widest cell (cells are cut at 60 characters with "…"). "(none)" when empty.
std::string FormatTable(const boost::json::array& items, const std::vector<Column>& columns);

// The line to print for a non-2xx answer (no trailing newline): "parley: 401 unauthorized:
// <message>" and, for a 401, a second line naming --admin-token / PARLEY_ADMIN_TOKEN and the
// demo's admin-token file.
std::string ErrorLines(int status, const std::string& body);

// Prints a list answer: the table of the array `key` on stdout (or the JSON body when
// `as_json`), returning 0; errors on stderr, returning 1.
int ReportList(const Result<RestResponse>& r, const std::string& key,
               const std::vector<Column>& columns, bool as_json);

// Adds --json to a list command.
void AddJsonFlag(CLI::App* cmd, bool& as_json);

// The environment variable `name`, or `fallback` when it is unset or empty (the CLI commands'
// defaults for --server and --admin-token).
std::string EnvOr(const char* name, const char* fallback = "");

}  // namespace parley::app
