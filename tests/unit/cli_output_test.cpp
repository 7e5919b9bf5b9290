// app::FormatTable, Field and ErrorLines: how the admin CLI prints lists and errors.

#include "app/cli_output.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace parley::app {
namespace {

namespace json = boost::json;

TEST(CliOutput, TableAlignsColumnsAndReadsFields) {
  json::array items = json::parse(R"([
    {"name":"Web chat","bot":"bank","enabled":true,"queues":["cards","general"]},
    {"name":"Zoë","bot":null,"enabled":false,"queues":[]}])")
                          .as_array();
  std::string table = FormatTable(items, {{"NAME", Field("name")},
                                          {"BOT", Field("bot")},
                                          {"ENABLED", Field("enabled")},
                                          {"QUEUES", Field("queues")},
                                          {"MISSING", Field("nope")}});
  EXPECT_EQ(table,
            "NAME      BOT   ENABLED  QUEUES         MISSING\n"
            "Web chat  bank  true     cards,general  -\n"
            "Zoë       -     false    -              -\n");
}

TEST(CliOutput, EmptyListAndLongCells) {
  EXPECT_EQ(FormatTable(json::array{}, {{"NAME", Field("name")}}), "(none)\n");
  json::array items{json::object{{"name", std::string(100, 'x')}}};
  std::string table = FormatTable(items, {{"NAME", Field("name")}});
  EXPECT_NE(table.find(std::string(59, 'x') + "…\n"), std::string::npos) << table;
}

TEST(CliOutput, ErrorLinesNameTheTokenOnA401) {
  std::string body = R"({"error":{"code":"unauthenticated","message":"Send a valid token."}})";
  EXPECT_EQ(ErrorLines(401, body),
            "parley: 401 unauthenticated: Send a valid token.\n"
            "parley: give the admin token with --admin-token or PARLEY_ADMIN_TOKEN (`parley demo` "
            "keeps it in its data folder: demo-data/admin-token).");
  EXPECT_EQ(ErrorLines(404, R"({"error":{"code":"not_found","message":"No."}})"),
            "parley: 404 not_found: No.");
  EXPECT_EQ(ErrorLines(502, "<html>"), "parley: the server answered 502");
}

}  // namespace
}  // namespace parley::app
