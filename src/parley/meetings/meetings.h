// meetings: the structured meeting framework (DESIGN.md "meeting"; issue 13) as a pure layer.
//
// Meetings between the two sides need a record neither can later dispute, so every step is a
// signed message on a line (catalog types meeting.*, src/parley/catalog/types) and this layer
// only reads them: a Book is fed a line's meeting messages, both directions, in replay order
// (sort_for_replay) and gives each meeting's state. A message that would make a transition
// the workflow refuses (accepting a declined meeting, accepting a slot that was not offered,
// signing minutes that are not the current ones, ...) is refused with its reason and changes
// nothing, so both sides, fed the same messages, reach the same state. The gateway asks
// check() before it sends, so a principal's refused step is never sent.
//
// Pure: no I/O, no clock reads (time arrives with the messages and as `now`).
#pragma once

#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "parley/base/json.h"
#include "parley/base/status.h"
#include "parley/base/time.h"

namespace parley::meetings {

inline constexpr std::string_view kPropose = "meeting.propose";
inline constexpr std::string_view kCounter = "meeting.counter";
inline constexpr std::string_view kAccept = "meeting.accept";
inline constexpr std::string_view kDecline = "meeting.decline";
inline constexpr std::string_view kReschedule = "meeting.reschedule";
inline constexpr std::string_view kCancel = "meeting.cancel";
inline constexpr std::string_view kMinutes = "meeting.minutes";
inline constexpr std::string_view kSign = "meeting.sign";
inline constexpr std::string_view kActionDone = "meeting.action-done";

// The nine types above: the messages a Book reads.
inline constexpr std::string_view kMeetingTypes[] = {
    kPropose, kCounter, kAccept, kDecline, kReschedule, kCancel, kMinutes, kSign, kActionDone};
// True for the nine types above.
bool is_meeting_type(std::string_view type);

// How long before an action item falls due it is reported as a reminder.
inline constexpr Duration kRemindBefore = std::chrono::hours(72);

// One message of a line as this layer reads it: what its signed envelope says (the layers
// below verified the signature and checked the body against the catalog).
struct Message {
  std::string id;
  std::string line;
  std::string from_party;
  std::string from_principal;
  std::string to_party;
  Time created;
  std::string type;
  // The meeting's id (the id of its meeting.propose) for every type but meeting.propose.
  std::optional<std::string> reply_to;
  std::string body_json = "{}";
};

// Sorts `messages` into the order both sides replay them: by creation time, then sender
// party, then id. Both gateways hold the same envelopes, so they sort them the same way.
// (Creation times are the senders' clocks: a step created before the step it answers, by a
// clock running behind, is refused on replay; docs/protocol.md "Meetings".)
void sort_for_replay(std::vector<Message>& messages);

enum class State { kProposed, kCountered, kScheduled, kDeclined, kCancelled, kHeld };
std::string_view state_name(State s);

struct Series {
  std::string recurrence;  // weekly, monthly, quarterly, yearly
  std::optional<std::uint64_t> count;
};

struct Action {
  std::string id;  // unique within the minutes
  std::string text;
  std::string owner;
  std::string agenda_item;
  Time due;
  bool done = false;
  std::optional<Time> done_at;
  std::string done_by;  // party/principal
};

struct Minutes {
  std::string hash;       // minutes_hash of the body
  std::string body_json;  // the meeting.minutes body, canonical
  std::string by;         // party/principal who recorded them
  Time at;
  std::set<std::string> signed_by;  // the parties that signed this hash
  bool final = false;               // both parties did
};

// One step applied to a meeting, for its history.
struct Step {
  std::string message_id;
  std::string type;
  std::string by;  // party/principal
  Time at;
};

// A message the workflow refused: the record keeps it, the state ignores it.
struct Refusal {
  std::string message_id;
  std::string meeting;  // empty if it named none
  std::string type;
  std::string by;
  std::string reason;
};

struct Meeting {
  std::string id;  // the id of its meeting.propose
  std::string line;
  std::string title;
  std::string proposer;  // party/principal
  std::string proposer_party;
  std::string other_party;
  std::vector<std::string> participants;
  std::vector<std::string> agenda;
  std::optional<Series> series;
  State state = State::kProposed;
  // The slots of the offer awaiting an answer and the party that made it (proposed,
  // countered; after a reschedule, the new offer).
  std::vector<Time> offered;
  std::string offered_by;
  std::optional<Time> slot;  // the accepted slot (scheduled, held)
  std::optional<Minutes> minutes;
  std::vector<Action> actions;  // from the current minutes
  std::vector<Step> history;
};

// The meetings of one or more lines, fed their messages in replay order.
class Book {
 public:
  // Applies `message`: OK if it moved its meeting on, or if it is not a meeting type (then it
  // is ignored). Otherwise nothing changes, the refusal is kept (refusals()) and returned:
  // kAlreadyExists a second proposal with the same id; kInvalidArgument a body that is not
  // its type's or a missing reply_to; kNotFound an unknown meeting; kPermissionDenied a
  // sender that is not one of the meeting's two parties; kFailedPrecondition a transition
  // the workflow refuses, with the reason.
  Status apply(const Message& message);

  // What apply(message) would return, changing nothing.
  Status check(const Message& message) const;

  const Meeting* find(std::string_view id) const;
  // Every meeting, in proposal order.
  std::vector<const Meeting*> meetings() const;
  const std::vector<Refusal>& refusals() const { return refusals_; }

 private:
  Meeting* find_mutable(std::string_view id);

  std::vector<Meeting> meetings_;
  std::vector<Refusal> refusals_;
};

// The minutes hash: SHA-256, lowercase hex, of the minutes body's canonical JSON (object keys
// sorted, no whitespace; docs/protocol.md "Meetings"). kInvalidArgument if `body_json` is not
// a JSON object.
Result<std::string> minutes_hash(std::string_view body_json);

enum class Due { kOpen, kReminder, kOverdue, kDone };
std::string_view due_name(Due d);
// An action item at `now`: done; overdue (past due, not done); a reminder (due within
// `remind_before`); else open.
Due due_status(const Action& action, Time now, Duration remind_before = kRemindBefore);

// The start times of a series from `first`, at most `max` of them (the series' count if
// smaller); a month that has no such day ends on its last day.
std::vector<Time> occurrences(const Series& series, Time first, std::size_t max);

// A meeting as `meeting list|show --json` and GET /api/v1/meetings show it (docs/openapi.yaml
// Meeting): id, line, title, state, slot, agenda, minutes {hash, signed_by, final}, actions
// {id, owner, due, done, status}, ... with the action items' reminders and overdue at `now`.
// `refusals`: those of this meeting.
json::Json to_json(const Meeting& meeting, const std::vector<Refusal>& refusals, Time now,
                   Duration remind_before = kRemindBefore);

}  // namespace parley::meetings
