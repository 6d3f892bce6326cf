// The record both sides replay: which stored messages are meeting steps of the record, and
// the book they replay to. One function for the gateway's meetings API and for the simulator,
// which checks that both sides' books agree (docs/simulation.md).
#pragma once

#include <vector>

#include "parley/core/model.h"
#include "parley/meetings/meetings.h"

namespace parley::meetings {

// Whether a stored message is in the record both sides replay: a peer's message we refused,
// and one of ours the peer refused or that expired or was cancelled unsent, never reached the
// other side.
bool in_record(const core::MessageRecord& m);

// The meeting layer's reading of a stored message.
Message meeting_message(const core::MessageRecord& m);

// The book of the meeting steps among `stored` that are in the record, together with `extra`
// (steps submitted and not stored yet), replayed in sort_for_replay's order. Refused steps
// are kept in the book's refusals.
Book replay(const std::vector<core::MessageRecord>& stored, std::vector<Message> extra = {});

}  // namespace parley::meetings
