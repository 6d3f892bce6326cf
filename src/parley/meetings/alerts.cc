#include "parley/meetings/alerts.h"

#include <algorithm>

namespace parley::meetings {

namespace {

// One key per item and kind of alert: the meeting, the action, its due time, the kind.
std::string alert_key(const Meeting& m, const Action& a, Due kind) {
  return m.id + '\n' + a.id + '\n' + format_time(a.due) + '\n' + std::string(due_name(kind));
}

}  // namespace

std::vector<ActionAlert> ActionWatch::check(const Book& book, Time now) {
  std::vector<ActionAlert> alerts;
  next_.reset();
  const auto wake_at = [&](Time t) { next_ = next_ ? std::min(*next_, t) : t; };
  for (const Meeting* m : book.meetings()) {
    for (const Action& a : m->actions) {
      const Due status = due_status(a, now, remind_before_);
      if (status == Due::kDone) continue;
      // due_status: overdue strictly after the due time, a reminder from remind_before ahead.
      if (status == Due::kOpen) wake_at(a.due - remind_before_);
      if (status == Due::kReminder) wake_at(a.due + Duration(1));
      if (status == Due::kOpen) continue;
      // First seen overdue: the reminder is past, and only the overdue alert is raised.
      if (status == Due::kOverdue) given_.insert(alert_key(*m, a, Due::kReminder));
      if (!given_.insert(alert_key(*m, a, status)).second) continue;
      alerts.push_back(ActionAlert{m->id, m->title, m->line, a, status});
    }
  }
  return alerts;
}

}  // namespace parley::meetings
