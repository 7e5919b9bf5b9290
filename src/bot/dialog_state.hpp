#pragma once
// The dialog engine's state (dialog_bot.cpp): a JSON object the conversation layer stores with
// each conversation and hands back with the next turn. Internal to src/bot.

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace parley::bot::detail {
// Menu items and buttons remembered from the last replies (so "Savings" picks its payload).
inline constexpr size_t kMaxOfferedItems = 50;

// What the customer said in one turn, as the engine needs it (also what is kept while a call
// is pending).
struct Input {
  std::vector<std::string> text;
  std::optional<std::string> postback;
};

struct Pending {
  int64_t step = 0;
  int64_t since_ms = 0;
  int64_t timeout_ms = 0;
};

// The stored dialog state. Parsed leniently: a state written by another version of the bot
// (after a reload) or damaged degrades to "no flow", never to a crash.
struct Session {
  bool greeted = false;
  int64_t misses = 0;  // consecutive misunderstandings
  std::string flow;
  int64_t step = 0;
  std::string awaiting_slot;  // the slot the current ask step fills
  int64_t retries = 0;        // consecutive answers that did not fit the question
  boost::json::object slots;
  bool awaiting_queue = false;
  std::vector<std::pair<std::string, std::string>> offered;  // (text, payload)
  std::optional<Pending> pending;
  std::deque<Input> deferred;

  // The stored state, or a fresh one for anything else (another version's, damaged, null).
  static Session From(const boost::json::value& v);
  boost::json::value ToJson() const;
};

// A slot's value as text (a string, number or boolean), or nullopt for anything else or a value
// over kMaxSlotValueBytes.
std::optional<std::string> SlotValue(const boost::json::value& v);

}  // namespace parley::bot::detail
