// Pushed alerts for meeting action items (issue 13: "action items are tracked to done, with
// reminders before they fall due and an overdue alert after"). The meeting views mark each
// open item `reminder` or `overdue` when asked (due_status); an ActionWatch says when that
// changes, once per item and kind, so the gateway can log it and push it to the watch
// (gateway/driver.h: the SSE event `action`).
//
// Pure: no I/O, no clock reads. The gateway keeps one watch for its lifetime; a restart starts
// a new one, which raises again the alerts of items still in reminder or overdue (a watch
// officer coming on after a restart sees what is still outstanding).
#pragma once

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "parley/base/time.h"
#include "parley/meetings/meetings.h"

namespace parley::meetings {

struct ActionAlert {
  std::string meeting;  // the meeting's id
  std::string title;
  std::string line;
  Action action;
  Due status = Due::kReminder;  // kReminder or kOverdue
};

class ActionWatch {
 public:
  explicit ActionWatch(Duration remind_before = kRemindBefore) : remind_before_(remind_before) {}

  // The alerts `book` gives at `now` that this watch has not given before: an open item (only
  // held meetings have minutes, hence items), once as a reminder when it falls due within
  // remind_before, once as overdue when its due time has passed (an item first seen overdue
  // gets only the overdue alert). An item whose due time the minutes change is a new item.
  // In the book's meeting order, then the minutes' item order. Also sets next().
  std::vector<ActionAlert> check(const Book& book, Time now);

  // When an open item of the book last checked will next become a reminder or overdue; none
  // if no open item will. A check at that time (or later) gives its alert.
  std::optional<Time> next() const { return next_; }

 private:
  Duration remind_before_;
  std::set<std::string> given_;  // meeting, action, due time and kind
  std::optional<Time> next_;
};

}  // namespace parley::meetings
