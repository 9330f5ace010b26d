#include "cqrs/core/time.h"

#include <algorithm>
#include <cstdio>

namespace cqrs {

namespace {

constexpr std::int64_t kUsPerDay = 86'400'000'000;

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
std::int64_t DaysFromCivil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

struct Civil {
  std::int64_t y;
  unsigned m, d;
};
Civil CivilFromDays(std::int64_t z) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return {static_cast<std::int64_t>(yoe) + era * 400 + (m <= 2), m, d};
}

unsigned DaysInMonth(std::int64_t y, unsigned m) {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : kDays[m - 1];
}

// The representable range: years 0000 to 9999.
const TimestampUs kMin = DaysFromCivil(0, 1, 1) * kUsPerDay;
const TimestampUs kMax = DaysFromCivil(10000, 1, 1) * kUsPerDay - 1;

// Reads exactly `n` digits at `at`.
bool Digits(std::string_view s, std::size_t& at, std::size_t n, unsigned& out) {
  if (s.size() < at + n) return false;
  out = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const char c = s[at + i];
    if (c < '0' || c > '9') return false;
    out = out * 10 + static_cast<unsigned>(c - '0');
  }
  at += n;
  return true;
}
bool Char(std::string_view s, std::size_t& at, char a, char b = 0) {
  if (at >= s.size() || (s[at] != a && (b == 0 || s[at] != b))) return false;
  ++at;
  return true;
}

// The civil day of `t` and the microseconds into it (the representable range enforced).
struct DayAndTime {
  Civil day;
  std::int64_t in_day;
};
DayAndTime Split(TimestampUs t) {
  t = std::clamp(t, kMin, kMax);  // a time the parser reads back, whatever the input
  std::int64_t days = t / kUsPerDay, in_day = t % kUsPerDay;
  if (in_day < 0) {
    in_day += kUsPerDay;
    --days;
  }
  return {CivilFromDays(days), in_day};
}

}  // namespace

std::string FormatRfc3339(TimestampUs t, TimePrecision precision) {
  const auto [c, in_day] = Split(t);
  const std::int64_t secs = in_day / 1'000'000;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02lld:%02lld:%02lld", static_cast<long long>(c.y), c.m, c.d,
                static_cast<long long>(secs / 3600), static_cast<long long>(secs / 60 % 60),
                static_cast<long long>(secs % 60));
  char out[48];
  if (precision == TimePrecision::kMicros) {
    std::snprintf(out, sizeof out, "%s.%06lldZ", buf, static_cast<long long>(in_day % 1'000'000));
  } else {
    std::snprintf(out, sizeof out, "%s.%03lldZ", buf, static_cast<long long>(in_day % 1'000'000 / 1000));
  }
  return out;
  return buf;
}

std::string UtcDay(TimestampUs t) {
  const Civil c = Split(t).day;
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02u", static_cast<long long>(c.y), c.m, c.d);
  return buf;
}

Result<TimestampUs> ParseUtcDay(std::string_view day) {
  std::size_t at = 0;
  unsigned y, m, d;
  if (!Digits(day, at, 4, y) || !Char(day, at, '-') || !Digits(day, at, 2, m) || !Char(day, at, '-') ||
      !Digits(day, at, 2, d) || at != day.size() || m < 1 || m > 12 || d < 1 || d > DaysInMonth(y, m)) {
    return InvalidArgument("not a day (YYYY-MM-DD): " + std::string(day.substr(0, 40)));
  }
  return DaysFromCivil(y, m, d) * kUsPerDay;
}

Result<TimestampUs> ParseRfc3339(std::string_view s) {
  auto bad = [&s] { return InvalidArgument("not an RFC 3339 date-time: " + std::string(s.substr(0, 40))); };
  std::size_t at = 0;
  unsigned y, mo, d, h, mi, se;
  if (!Digits(s, at, 4, y) || !Char(s, at, '-') || !Digits(s, at, 2, mo) || !Char(s, at, '-') || !Digits(s, at, 2, d) ||
      !Char(s, at, 'T', 't') || !Digits(s, at, 2, h) || !Char(s, at, ':') || !Digits(s, at, 2, mi) ||
      !Char(s, at, ':') || !Digits(s, at, 2, se)) {
    return bad();
  }
  // Second 60 is a leap second: it is read as the next minute's first.
  if (mo < 1 || mo > 12 || d < 1 || d > DaysInMonth(y, mo) || h > 23 || mi > 59 || se > 60) return bad();
  std::int64_t us = 0;
  if (at < s.size() && s[at] == '.') {
    ++at;
    std::size_t n = 0;
    for (; at < s.size() && s[at] >= '0' && s[at] <= '9'; ++at, ++n) {
      if (n < 6) us = us * 10 + (s[at] - '0');
    }
    if (n == 0) return bad();
    for (; n < 6; ++n) us *= 10;
  }
  std::int64_t offset_min = 0;
  if (Char(s, at, 'Z', 'z')) {
  } else if (at < s.size() && (s[at] == '+' || s[at] == '-')) {
    const int sign = s[at++] == '-' ? -1 : 1;
    unsigned oh, om;
    if (!Digits(s, at, 2, oh) || !Char(s, at, ':') || !Digits(s, at, 2, om) || oh > 23 || om > 59) return bad();
    offset_min = sign * static_cast<std::int64_t>(oh * 60 + om);
  } else {
    return bad();
  }
  if (at != s.size()) return bad();
  const std::int64_t secs = DaysFromCivil(y, mo, d) * 86'400 + h * 3600 + mi * 60 + se - offset_min * 60;
  const TimestampUs t = secs * 1'000'000 + us;
  if (t < kMin || t > kMax) return bad();  // an offset that leaves the range
  return t;
}

}  // namespace cqrs
