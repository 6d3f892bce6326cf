// The duty roster: who is on duty for a role, from when to when. Pure: the gateway keeps the
// shifts in its store and the node (core/node.h) answers "who is on duty for role R at time
// T" from them, so the escalation chain asks the core, never the store.
//
// A shift covers [from, to): at the instant one shift ends and the next begins (a hand-over)
// the next one's principal is on duty. Shifts of one role never overlap; each names a known
// principal. The times are instants (UTC); the CLI reads and shows them on the party's clocks
// (core/zone.h).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "parley/base/status.h"
#include "parley/base/time.h"
#include "parley/core/model.h"
#include "parley/core/zone.h"

namespace parley::core {

// What the node knows of this party's people: its principals (token hashes included, never
// tokens), the duty roster, and the party's time zone.
struct Directory {
  std::vector<Principal> principals;
  std::vector<Shift> roster;
  ZoneRules zone;
};

// OK, or kInvalidArgument with the first reason the roster is refused: a bad role, a shift
// with to <= from, a principal not in `principals`, two shifts of one role that overlap.
Status check_roster(const std::vector<Shift>& roster, const std::vector<Principal>& principals);

// Whether `lines` and `directory` may be used together: the roster is valid and each line's
// local principal and alternates are principals of the directory. kInvalidArgument otherwise.
Status check_directory(const std::vector<Line>& lines, const Directory& directory);

// The shift of `role` covering `at`, if any.
std::optional<Shift> on_duty(const std::vector<Shift>& roster, std::string_view role, Time at);

// The shifts of `role`, by start.
std::vector<Shift> shifts_of(const std::vector<Shift>& roster, std::string_view role);

}  // namespace parley::core
