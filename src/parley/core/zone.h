// Time zones for the duty roster: the UTC offset in force at an instant, and the instant a
// wall-clock reading names, from the IANA time zone database (tzdata).
//
// GCC 12's libstdc++ has no std::chrono::locate_zone (it came with GCC 13/14), and Debian 12
// packages no tz library for C++, so the gateway reads the system's compiled tzdata
// (/usr/share/zoneinfo/NAME, the TZif format of RFC 8536) and hands its bytes here:
// parsing is pure (bytes in, rules out) and fuzzable; only gateway/zone_file.cc reads files.
// Debian's tzdata is built "fat": its files list every transition up to 2037, and after the
// last one listed the last offset holds (the POSIX TZ footer of a "slim" file is not read).
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "parley/base/bytes.h"
#include "parley/base/status.h"
#include "parley/base/time.h"

namespace parley::core {

struct ZoneRules {
  std::string name = "UTC";
  Duration initial_offset{};  // before the first transition
  // (from this instant on, this offset east of UTC), ascending by instant.
  std::vector<std::pair<Time, Duration>> transitions;
};

// A zone at a fixed offset east of UTC ("UTC", or "UTC+01:00" when `offset` is non-zero).
ZoneRules fixed_zone(Duration offset);

// Parses a TZif file (RFC 8536, versions 1 to 4). kInvalidArgument naming `name` if the bytes
// are not one (truncated, bad magic, counts out of range).
Result<ZoneRules> parse_tzif(std::string name, ByteView data);

// The offset east of UTC in force at `t`.
Duration utc_offset(const ZoneRules& zone, Time t);

// The instant at which the zone's clocks read `wall` (a wall-clock reading counted as if it
// were UTC). A reading that happens twice (clocks set back) is its earlier instant; one that
// never happens (clocks set forward) is kInvalidArgument saying so.
Result<Time> local_to_utc(const ZoneRules& zone, Time wall);

// "YYYY-MM-DDTHH:MM[:SS]" on the zone's clocks, or with "Z" or "+HH:MM"/"-HH:MM" an absolute
// instant. kInvalidArgument with the expected forms otherwise.
Result<Time> parse_zone_time(std::string_view text, const ZoneRules& zone);

// `t` on the zone's clocks with its offset: "2026-03-29T03:00:00+02:00".
std::string format_zone_time(const ZoneRules& zone, Time t);

}  // namespace parley::core
