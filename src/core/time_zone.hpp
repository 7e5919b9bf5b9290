#pragma once
// IANA time zones read from the system's tz database (TZif files, RFC 8536, under
// /usr/share/zoneinfo). libstdc++ 12 has no std::chrono::locate_zone, and localtime_r with TZ
// set would change the process's environment (a global shared by every thread), so Parley reads
// the file itself: the transitions, and the POSIX TZ rule of the footer for times after the last
// one. A TimeZone is immutable once loaded and may be shared between threads.

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/result.hpp"

namespace parley {

// A rule of a POSIX TZ string (the TZif footer), e.g. "GMT0BST,M3.5.0/1,M10.5.0".
struct PosixTz {
  int32_t std_offset_s = 0;  // seconds east of UTC
  bool has_dst = false;
  int32_t dst_offset_s = 0;
  // A change date: kind 'M' (month, week 1-5, weekday 0=Sunday), 'J' (day 1-365, no leap day)
  // or 'D' (day 0-365); time in seconds after local midnight (may be negative or past 24 h).
  struct When {
    char kind = 'M';
    int month = 0, week = 0, day = 0;
    int32_t time_s = 7200;
  };
  When start, end;
};

// Parses a POSIX TZ string; false when it is not one this reader understands.
bool ParsePosixTz(const std::string& text, PosixTz& out);

class TimeZone {
 public:
  // Loads zone `name` (e.g. "Europe/London") from `dir`. Errors: kInvalidArgument
  // invalid_time_zone for a malformed name or a zone that does not exist or cannot be read.
  static Result<std::shared_ptr<const TimeZone>> Load(const std::string& name,
                                                      const std::string& dir = kDefaultDir);
  // Parses TZif bytes (for tests and Load).
  static Result<std::shared_ptr<const TimeZone>> Parse(const std::string& name,
                                                       const std::string& bytes);

  const std::string& name() const { return name_; }
  // The offset from UTC (seconds east) in force at `utc_s`.
  int32_t OffsetAt(int64_t utc_s) const;
  // The UTC time of a local wall-clock time (seconds since the epoch as if local were UTC). A
  // time skipped by a change forward is taken with the offset before it.
  int64_t ToUtc(int64_t local_s) const;

  static constexpr const char* kDefaultDir = "/usr/share/zoneinfo";

 private:
  std::string name_;
  std::vector<int64_t> transitions_;  // UTC seconds, ascending
  std::vector<int32_t> offsets_;      // the offset from each transition on
  int32_t initial_offset_ = 0;        // before the first transition
  bool has_rule_ = false;
  PosixTz rule_;
};

// Loaded zones by name, each read once. Thread-safe; bounded (64 zones, then the oldest loads
// are dropped).
class TimeZones {
 public:
  explicit TimeZones(std::string dir = TimeZone::kDefaultDir) : dir_(std::move(dir)) {}
  Result<std::shared_ptr<const TimeZone>> Get(const std::string& name) const;

 private:
  std::string dir_;
  mutable std::mutex mu_;
  mutable std::map<std::string, std::shared_ptr<const TimeZone>> zones_;
};

// Days since 1970-01-01 of a civil date and back (proleptic Gregorian).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d);
void CivilFromDays(int64_t z, int64_t& y, unsigned& m, unsigned& d);

}  // namespace parley
