// RFC 3339 date-times and UTC days, without the C library's time zone machinery, which is
// neither thread-safe (gmtime) nor able to read offsets and fractions (strptime).
//
// One implementation for the engine (CloudEvents' ce_time on the bus) and the service (ad
// fields, the Read API's timestamps, the daily report's day).
#pragma once

#include <string>
#include <string_view>

#include "cqrs/core/status.h"
#include "cqrs/core/types.h"

namespace cqrs {

// How many fractional digits FormatRfc3339 writes.
enum class TimePrecision { kMillis, kMicros };

// RFC 3339 in UTC: "2026-12-02T07:36:35.123456Z" (kMicros) or "2026-12-02T07:36:35.123Z"
// (kMillis, sub-millisecond digits dropped). Times outside years 0000-9999 are clamped to them,
// so that whatever is written is read back.
std::string FormatRfc3339(TimestampUs t, TimePrecision precision = TimePrecision::kMicros);

// Any RFC 3339 date-time (offsets, 0 to 9 fractional digits, 't'/'z' in either case) in years
// 0000-9999; sub-microsecond digits are dropped, second 60 (a leap second) reads as the next
// minute's first. InvalidArgument naming the text otherwise.
Result<TimestampUs> ParseRfc3339(std::string_view text);

// The UTC day of `t` as "2026-11-24".
std::string UtcDay(TimestampUs t);

// The start of a UTC day given as "YYYY-MM-DD"; InvalidArgument for anything else.
Result<TimestampUs> ParseUtcDay(std::string_view day);

}  // namespace cqrs
