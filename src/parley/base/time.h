// Time as a value. The pure layers never read a clock: time arrives with events.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "parley/base/status.h"

namespace parley {

using Duration = std::chrono::milliseconds;
// Wall-clock time at millisecond resolution (Unix epoch, UTC).
using Time = std::chrono::sys_time<std::chrono::milliseconds>;

inline Time time_from_unix_ms(std::int64_t ms) { return Time(Duration(ms)); }
inline std::int64_t unix_ms(Time t) { return t.time_since_epoch().count(); }

// RFC 3339 in UTC with milliseconds: "2026-11-24T21:00:00.123Z".
std::string format_time(Time t);
// Accepts exactly the format_time form (milliseconds optional). kInvalidArgument otherwise.
Result<Time> parse_time(std::string_view text);

// "250ms", "30s", "5m", "3h", "1d" (a positive integer and one unit).
Result<Duration> parse_duration(std::string_view text);
// The inverse: the largest unit that divides `d` exactly ("30s", "5m", "1500ms").
std::string format_duration(Duration d);

}  // namespace parley
