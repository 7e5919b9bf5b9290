#include "core/time_zone.hpp"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <regex>
#include <sstream>

namespace parley {
namespace {

constexpr size_t kMaxZoneBytes = 1 << 20;
constexpr size_t kMaxZones = 64;

Failure BadZone(const std::string& name) {
  return Fail(Errc::kInvalidArgument, "invalid_time_zone",
              "time_zone '" + name.substr(0, 64) +
                  "' is not an IANA time zone of this server (e.g. \"Europe/London\").");
}

int64_t Be(const std::string& b, size_t at, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | static_cast<unsigned char>(b[at + i]);
  if (bytes == 4) return static_cast<int32_t>(static_cast<uint32_t>(v));
  return static_cast<int64_t>(v);
}

// [+-]hh[:mm[:ss]] as seconds; POSIX offsets are west-positive, the caller negates.
bool ParseHms(const std::string& s, size_t& i, int32_t& out) {
  int sign = 1;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) sign = s[i++] == '-' ? -1 : 1;
  int32_t parts[3] = {0, 0, 0};
  for (int p = 0; p < 3; ++p) {
    if (p > 0) {
      if (i >= s.size() || s[i] != ':') break;
      ++i;
    }
    size_t start = i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])) && i - start < 3)
      parts[p] = parts[p] * 10 + (s[i++] - '0');
    if (i == start) return false;
  }
  out = sign * (parts[0] * 3600 + parts[1] * 60 + parts[2]);
  return true;
}

bool ParseName(const std::string& s, size_t& i) {
  size_t start = i;
  if (i < s.size() && s[i] == '<') {
    while (i < s.size() && s[i] != '>') ++i;
    if (i >= s.size()) return false;
    ++i;
    return i - start >= 5;
  }
  while (i < s.size() && std::isalpha(static_cast<unsigned char>(s[i]))) ++i;
  return i - start >= 3;
}

bool ParseWhen(const std::string& s, size_t& i, PosixTz::When& w) {
  auto number = [&](int& v) {
    size_t start = i;
    v = 0;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])) && i - start < 4)
      v = v * 10 + (s[i++] - '0');
    return i > start;
  };
  if (i < s.size() && s[i] == 'M') {
    ++i;
    w.kind = 'M';
    if (!number(w.month) || i >= s.size() || s[i++] != '.' || !number(w.week) || i >= s.size() ||
        s[i++] != '.' || !number(w.day))
      return false;
    if (w.month < 1 || w.month > 12 || w.week < 1 || w.week > 5 || w.day > 6) return false;
  } else if (i < s.size() && s[i] == 'J') {
    ++i;
    w.kind = 'J';
    if (!number(w.day) || w.day < 1 || w.day > 365) return false;
  } else {
    w.kind = 'D';
    if (!number(w.day) || w.day > 365) return false;
  }
  w.time_s = 7200;
  if (i < s.size() && s[i] == '/') {
    ++i;
    if (!ParseHms(s, i, w.time_s)) return false;
  }
  return true;
}

bool IsLeap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

// The local day (days since the epoch) a rule's date falls on in year `y`.
int64_t RuleDay(const PosixTz::When& w, int64_t y) {
  int64_t jan1 = DaysFromCivil(y, 1, 1);
  if (w.kind == 'J') return jan1 + w.day - 1 + (IsLeap(y) && w.day >= 60 ? 1 : 0);
  if (w.kind == 'D') return jan1 + w.day;
  static const int kMonthDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  int64_t first = DaysFromCivil(y, static_cast<unsigned>(w.month), 1);
  int64_t first_wd = (first + 4) % 7;  // 1970-01-01 was a Thursday (4, with Sunday 0)
  int64_t day = first + (w.day - first_wd + 7) % 7 + 7 * (w.week - 1);
  int len = kMonthDays[w.month - 1] + (w.month == 2 && IsLeap(y) ? 1 : 0);
  while (day >= first + len) day -= 7;
  return day;
}

int32_t RuleOffset(const PosixTz& r, int64_t utc_s) {
  if (!r.has_dst) return r.std_offset_s;
  int64_t days = (utc_s + r.std_offset_s) / 86400 - ((utc_s + r.std_offset_s) % 86400 < 0);
  int64_t y;
  unsigned m, d;
  CivilFromDays(days, y, m, d);
  // The start is given in standard time, the end in daylight time.
  int64_t start = RuleDay(r.start, y) * 86400 + r.start.time_s - r.std_offset_s;
  int64_t end = RuleDay(r.end, y) * 86400 + r.end.time_s - r.dst_offset_s;
  bool dst = start < end ? (utc_s >= start && utc_s < end) : !(utc_s >= end && utc_s < start);
  return dst ? r.dst_offset_s : r.std_offset_s;
}

}  // namespace

int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void CivilFromDays(int64_t z, int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y = static_cast<int64_t>(yoe) + era * 400 + (m <= 2);
}

bool ParsePosixTz(const std::string& s, PosixTz& out) {
  PosixTz r;
  size_t i = 0;
  if (!ParseName(s, i)) return false;
  int32_t west = 0;
  if (!ParseHms(s, i, west)) return false;
  r.std_offset_s = -west;
  if (i == s.size()) {
    out = r;
    return true;
  }
  if (!ParseName(s, i)) return false;
  r.has_dst = true;
  r.dst_offset_s = r.std_offset_s + 3600;
  if (i < s.size() && s[i] != ',') {
    if (!ParseHms(s, i, west)) return false;
    r.dst_offset_s = -west;
  }
  if (i >= s.size() || s[i++] != ',' || !ParseWhen(s, i, r.start)) return false;
  if (i >= s.size() || s[i++] != ',' || !ParseWhen(s, i, r.end)) return false;
  if (i != s.size()) return false;
  out = r;
  return true;
}

Result<std::shared_ptr<const TimeZone>> TimeZone::Parse(const std::string& name,
                                                        const std::string& b) {
  auto bad = [&] { return BadZone(name); };
  if (b.size() < 44 || b.compare(0, 4, "TZif") != 0) return bad();
  char version = b[4];
  auto counts = [&](size_t at, int64_t c[6]) {
    for (int k = 0; k < 6; ++k) c[k] = Be(b, at + 20 + 4 * k, 4);
  };
  int64_t c[6];  // isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt
  counts(0, c);
  for (int64_t x : c)
    if (x < 0 || x > 100000) return bad();
  size_t at = 44;
  int tsize = 4;
  if (version >= '2') {
    at += c[3] * 4 + c[3] + c[4] * 6 + c[5] + c[2] * 8 + c[1] + c[0];
    if (b.size() < at + 44 || b.compare(at, 4, "TZif") != 0) return bad();
    counts(at, c);
    for (int64_t x : c)
      if (x < 0 || x > 100000) return bad();
    at += 44;
    tsize = 8;
  }
  size_t need = c[3] * tsize + c[3] + c[4] * 6 + c[5] + c[2] * (tsize + 4) + c[1] + c[0];
  if (c[4] < 1 || b.size() < at + need) return bad();
  auto zone = std::make_shared<TimeZone>();
  zone->name_ = name;
  size_t idx_at = at + c[3] * tsize;
  size_t types_at = idx_at + c[3];
  std::vector<int32_t> type_offsets;
  for (int64_t k = 0; k < c[4]; ++k)
    type_offsets.push_back(static_cast<int32_t>(Be(b, types_at + 6 * k, 4)));
  for (int64_t k = 0; k < c[3]; ++k) {
    int64_t t = Be(b, at + k * tsize, tsize);
    size_t type = static_cast<unsigned char>(b[idx_at + k]);
    if (type >= type_offsets.size()) return bad();
    zone->transitions_.push_back(t);
    zone->offsets_.push_back(type_offsets[type]);
  }
  zone->initial_offset_ = type_offsets[0];
  size_t footer = at + need;
  if (version >= '2' && footer < b.size() && b[footer] == '\n') {
    size_t nl = b.find('\n', footer + 1);
    if (nl != std::string::npos && nl > footer + 1)
      zone->has_rule_ = ParsePosixTz(b.substr(footer + 1, nl - footer - 1), zone->rule_);
  }
  return std::shared_ptr<const TimeZone>(std::move(zone));
}

Result<std::shared_ptr<const TimeZone>> TimeZone::Load(const std::string& name,
                                                       const std::string& dir) {
  static const std::regex kName("[A-Za-z0-9_+-]{1,30}(/[A-Za-z0-9_+-]{1,30}){0,2}");
  if (name.size() > 64 || !std::regex_match(name, kName)) return BadZone(name);
  std::ifstream in(dir + "/" + name, std::ios::binary);
  if (!in) return BadZone(name);
  std::string bytes;
  bytes.resize(kMaxZoneBytes + 1);
  in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  bytes.resize(static_cast<size_t>(in.gcount()));
  if (bytes.size() > kMaxZoneBytes) return BadZone(name);
  return Parse(name, bytes);
}

int32_t TimeZone::OffsetAt(int64_t utc_s) const {
  if (transitions_.empty() || utc_s < transitions_.front())
    return transitions_.empty() && has_rule_ ? RuleOffset(rule_, utc_s) : initial_offset_;
  if (utc_s >= transitions_.back() && has_rule_) return RuleOffset(rule_, utc_s);
  auto it = std::upper_bound(transitions_.begin(), transitions_.end(), utc_s);
  return offsets_[static_cast<size_t>(it - transitions_.begin()) - 1];
}

int64_t TimeZone::ToUtc(int64_t local_s) const {
  int64_t guess = local_s - OffsetAt(local_s);
  int64_t second = local_s - OffsetAt(guess);
  return OffsetAt(second) == OffsetAt(guess) ? second : local_s - OffsetAt(second);
}

Result<std::shared_ptr<const TimeZone>> TimeZones::Get(const std::string& name) const {
  {
    std::lock_guard lock(mu_);
    auto it = zones_.find(name);
    if (it != zones_.end()) return it->second;
  }
  auto loaded = TimeZone::Load(name, dir_);
  if (!loaded) return Fail(loaded.error());
  std::lock_guard lock(mu_);
  if (zones_.size() >= kMaxZones) zones_.erase(zones_.begin());
  zones_[name] = *loaded;
  return *loaded;
}

}  // namespace parley
