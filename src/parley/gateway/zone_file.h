// The party's time zone (parley.toml party.timezone) as core::ZoneRules: "UTC" and fixed
// offsets ("UTC+01:00") from the name alone, IANA names ("Europe/Brussels") from the system's
// compiled tzdata, $TZDIR or /usr/share/zoneinfo (Debian's tzdata package). core/zone.h says
// why the gateway reads tzdata itself.
#pragma once

#include <string>

#include "parley/base/status.h"
#include "parley/core/zone.h"
#include "parley/gateway/config.h"

namespace parley::gateway {

// The rules of zone `name`. kInvalidArgument "unknown time zone ..." if no tzdata file has
// that name or it is not a TZif file.
Result<core::ZoneRules> load_zone(const std::string& name);

// The rules of `config.timezone`; an error is "<file>:<line>: <reason>", the line where
// `file` sets it.
Result<core::ZoneRules> load_zone(const Config& config, const std::string& file);

}  // namespace parley::gateway
