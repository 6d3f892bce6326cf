#include "parley/meetings/meetings.h"

#include <algorithm>
#include <tuple>
#include <utility>

#include "parley/base/bytes.h"
#include "parley/base/text.h"
#include "parley/crypto/crypto.h"

namespace parley::meetings {
namespace {

using json::Json;

// ---- reading bodies (the catalog checked them; a body that is not its type's is still
// refused here, never trusted) ----

Result<std::vector<std::string>> strings_of(const Json& body, std::string_view key) {
  std::vector<std::string> out;
  const auto it = body.find(key);
  if (it == body.end() || it->is_null()) return out;
  if (!it->is_array()) {
    return Status::invalid_argument("body." + std::string(key) + ": expected an array");
  }
  for (const Json& v : *it) {
    if (!v.is_string()) {
      return Status::invalid_argument("body." + std::string(key) + ": expected strings");
    }
    out.push_back(v.get<std::string>());
  }
  return out;
}

Result<Time> time_at(std::string_view text, std::string_view where) {
  Result<Time> t = parse_time(text);
  if (!t.is_ok()) return t.status().with_context("body." + std::string(where));
  return t;
}

Result<Time> time_of(const Json& body, std::string_view key) {
  PARLEY_ASSIGN_OR_RETURN(std::string text, json::get_string(body, key));
  return time_at(text, key);
}

Result<std::vector<Time>> slots_of(const Json& body) {
  PARLEY_ASSIGN_OR_RETURN(std::vector<std::string> texts, strings_of(body, "slots"));
  if (texts.empty()) return Status::invalid_argument("body.slots: at least one slot");
  std::vector<Time> out;
  for (const std::string& t : texts) {
    PARLEY_ASSIGN_OR_RETURN(Time slot, time_at(t, "slots"));
    out.push_back(slot);
  }
  return out;
}

Result<std::optional<Series>> series_of(const Json& body) {
  const auto it = body.find("series");
  if (it == body.end() || it->is_null()) return std::optional<Series>();
  if (!it->is_object()) return Status::invalid_argument("body.series: expected an object");
  Series s;
  PARLEY_ASSIGN_OR_RETURN(s.recurrence, json::get_string(*it, "recurrence"));
  if (it->contains("count")) {
    PARLEY_ASSIGN_OR_RETURN(const std::uint64_t count, json::get_uint(*it, "count"));
    s.count = count;
  }
  return std::optional<Series>(std::move(s));
}

Result<std::vector<Action>> actions_of(const Json& minutes) {
  PARLEY_ASSIGN_OR_RETURN(Json items, json::get_array(minutes, "items"));
  std::vector<Action> out;
  std::set<std::string> ids;
  for (const Json& item : items) {
    if (!item.is_object()) return Status::invalid_argument("body.items: expected objects");
    PARLEY_ASSIGN_OR_RETURN(std::string agenda_item, json::get_string(item, "agenda_item"));
    if (!item.contains("actions")) continue;
    PARLEY_ASSIGN_OR_RETURN(Json actions, json::get_array(item, "actions"));
    for (const Json& a : actions) {
      if (!a.is_object()) return Status::invalid_argument("body.items.actions: expected objects");
      Action action;
      action.agenda_item = agenda_item;
      PARLEY_ASSIGN_OR_RETURN(action.id, json::get_string(a, "id"));
      PARLEY_ASSIGN_OR_RETURN(action.text, json::get_string(a, "text"));
      PARLEY_ASSIGN_OR_RETURN(action.owner, json::get_string(a, "owner"));
      PARLEY_ASSIGN_OR_RETURN(action.due, time_of(a, "due"));
      // The id is how `meeting action ID ITEM --done` names the item: it must be unambiguous.
      if (!ids.insert(action.id).second) {
        return Status::invalid_argument("body.items.actions: two action items with id " +
                                        single_quoted(action.id));
      }
      out.push_back(std::move(action));
    }
  }
  return out;
}

std::string slots_text(const std::vector<Time>& slots) {
  std::string out;
  for (const Time t : slots) out += (out.empty() ? "" : ", ") + format_time(t);
  return out;
}

// ---- transitions: each takes the meeting as it is and returns it as the message leaves
// it, or the refusal ----

bool offer_open(State s) { return s == State::kProposed || s == State::kCountered; }

Status refuse(const Meeting& m, const std::string& why) {
  return Status::failed_precondition("meeting " + m.id + ": " + why);
}

Status not_in(const Meeting& m, std::string_view what) {
  return refuse(m, "it is " + std::string(state_name(m.state)) + ": " + std::string(what));
}

Result<Meeting> propose(const Message& msg, const Json& body) {
  Meeting m;
  m.id = msg.id;
  m.line = msg.line;
  m.proposer = msg.from_party + "/" + msg.from_principal;
  m.proposer_party = msg.from_party;
  m.other_party = msg.to_party;
  PARLEY_ASSIGN_OR_RETURN(m.title, json::get_string(body, "title"));
  PARLEY_ASSIGN_OR_RETURN(m.offered, slots_of(body));
  PARLEY_ASSIGN_OR_RETURN(m.agenda, strings_of(body, "agenda"));
  PARLEY_ASSIGN_OR_RETURN(m.participants, strings_of(body, "participants"));
  PARLEY_ASSIGN_OR_RETURN(m.series, series_of(body));
  m.offered_by = msg.from_party;
  m.state = State::kProposed;
  return m;
}

Result<Meeting> counter(Meeting m, const Message& msg, const Json& body) {
  if (!offer_open(m.state)) return not_in(m, "only a proposed or countered meeting is countered");
  if (msg.from_party == m.offered_by) {
    return refuse(m, "party " + msg.from_party + " cannot counter its own offer");
  }
  PARLEY_ASSIGN_OR_RETURN(m.offered, slots_of(body));
  m.offered_by = msg.from_party;
  m.state = State::kCountered;
  return m;
}

Result<Meeting> accept(Meeting m, const Message& msg, const Json& body) {
  if (m.state == State::kDeclined) return refuse(m, "it was declined: it cannot be accepted");
  if (!offer_open(m.state)) return not_in(m, "there is no offer to accept");
  if (msg.from_party == m.offered_by) {
    return refuse(m, "party " + msg.from_party + " cannot accept its own proposal");
  }
  PARLEY_ASSIGN_OR_RETURN(const Time slot, time_of(body, "slot"));
  if (std::find(m.offered.begin(), m.offered.end(), slot) == m.offered.end()) {
    return refuse(m, "slot " + format_time(slot) +
                         " was not offered (offered: " + slots_text(m.offered) + ")");
  }
  m.slot = slot;
  m.offered.clear();
  m.state = State::kScheduled;
  return m;
}

Result<Meeting> decline(Meeting m, const Message& msg) {
  if (!offer_open(m.state)) return not_in(m, "only a proposed or countered meeting is declined");
  if (msg.from_party == m.offered_by) {
    return refuse(m, "party " + msg.from_party + " cannot decline its own offer (cancel it)");
  }
  m.state = State::kDeclined;
  return m;
}

Result<Meeting> reschedule(Meeting m, const Message& msg, const Json& body) {
  if (m.state != State::kScheduled) return not_in(m, "only a scheduled meeting is rescheduled");
  PARLEY_ASSIGN_OR_RETURN(m.offered, slots_of(body));
  m.offered_by = msg.from_party;
  m.slot.reset();
  m.state = State::kProposed;
  return m;
}

Result<Meeting> cancel(Meeting m) {
  if (m.state == State::kHeld) return refuse(m, "it was held: its minutes stand");
  if (m.state == State::kDeclined || m.state == State::kCancelled) {
    return not_in(m, "there is nothing to cancel");
  }
  m.offered.clear();
  m.state = State::kCancelled;
  return m;
}

Result<Meeting> record_minutes(Meeting m, const Message& msg, const Json& body) {
  if (m.state != State::kScheduled && m.state != State::kHeld) {
    return not_in(m, "minutes are recorded for a scheduled meeting");
  }
  PARLEY_ASSIGN_OR_RETURN(std::vector<Action> actions, actions_of(body));
  Minutes next;
  next.body_json = json::dump(body);
  PARLEY_ASSIGN_OR_RETURN(next.hash, minutes_hash(next.body_json));
  next.by = msg.from_party + "/" + msg.from_principal;
  next.at = msg.created;
  // The same minutes again keep their signatures; any change needs both again.
  if (m.minutes && m.minutes->hash == next.hash) next.signed_by = m.minutes->signed_by;
  next.final = m.minutes && m.minutes->hash == next.hash && m.minutes->final;
  // An item still in the minutes stays done.
  for (Action& a : actions) {
    for (const Action& old : m.actions) {
      if (old.id != a.id || !old.done) continue;
      a.done = true;
      a.done_at = old.done_at;
      a.done_by = old.done_by;
    }
  }
  m.minutes = std::move(next);
  m.actions = std::move(actions);
  m.state = State::kHeld;
  return m;
}

Result<Meeting> sign(Meeting m, const Message& msg, const Json& body) {
  if (!m.minutes) return not_in(m, "it has no minutes to sign");
  PARLEY_ASSIGN_OR_RETURN(const std::string hash, json::get_string(body, "minutes_hash"));
  if (hash != m.minutes->hash) {
    return refuse(m, "minutes hash " + hash + " is not that of the current minutes (" +
                         m.minutes->hash + ")");
  }
  if (!m.minutes->signed_by.insert(msg.from_party).second) {
    return refuse(m, "party " + msg.from_party + " already signed these minutes");
  }
  m.minutes->final = m.minutes->signed_by.count(m.proposer_party) != 0 &&
                     m.minutes->signed_by.count(m.other_party) != 0;
  return m;
}

Result<Meeting> action_done(Meeting m, const Message& msg, const Json& body) {
  if (m.state == State::kCancelled || m.state == State::kDeclined) {
    return refuse(
        m, "it was " + std::string(state_name(m.state)) + ": its action items cannot be completed");
  }
  PARLEY_ASSIGN_OR_RETURN(const std::string id, json::get_string(body, "action"));
  const auto a =
      std::find_if(m.actions.begin(), m.actions.end(), [&](const Action& x) { return x.id == id; });
  if (a == m.actions.end())
    return refuse(m, "its minutes have no action item " + single_quoted(id));
  if (a->done) return refuse(m, "action item " + single_quoted(id) + " is already done");
  a->done = true;
  a->done_at = msg.created;
  a->done_by = msg.from_party + "/" + msg.from_principal;
  return m;
}

Result<Meeting> step(Meeting m, const Message& msg, const Json& body) {
  if (msg.type == kCounter) return counter(std::move(m), msg, body);
  if (msg.type == kAccept) return accept(std::move(m), msg, body);
  if (msg.type == kDecline) return decline(std::move(m), msg);
  if (msg.type == kReschedule) return reschedule(std::move(m), msg, body);
  if (msg.type == kCancel) return cancel(std::move(m));
  if (msg.type == kMinutes) return record_minutes(std::move(m), msg, body);
  if (msg.type == kSign) return sign(std::move(m), msg, body);
  return action_done(std::move(m), msg, body);
}

Json times_json(const std::vector<Time>& times) {
  Json out = Json::array();
  for (const Time t : times) out.push_back(format_time(t));
  return out;
}

Json optional_time(const std::optional<Time>& t) {
  return t ? Json(format_time(*t)) : Json(nullptr);
}

Json minutes_json(const Meeting& m) {
  if (!m.minutes) {
    return Json{{"hash", nullptr}, {"signed_by", Json::array()}, {"final", false}};
  }
  Result<Json> body = json::parse_object(m.minutes->body_json);
  return Json{{"hash", m.minutes->hash},          {"signed_by", m.minutes->signed_by},
              {"final", m.minutes->final},        {"by", m.minutes->by},
              {"at", format_time(m.minutes->at)}, {"body", body.is_ok() ? *body : Json(nullptr)}};
}

Json series_json(const Meeting& m) {
  if (!m.series) return nullptr;
  Json s = {{"recurrence", m.series->recurrence},
            {"count", m.series->count ? Json(*m.series->count) : Json(nullptr)}};
  // The series' meetings from the accepted slot (or the first offered one), at most 12.
  const std::optional<Time> first =
      m.slot ? m.slot : (m.offered.empty() ? std::nullopt : std::optional<Time>(m.offered[0]));
  s["occurrences"] = first ? times_json(occurrences(*m.series, *first, 12)) : Json::array();
  return s;
}

Json actions_json(const Meeting& m, Time now, Duration remind_before) {
  Json out = Json::array();
  for (const Action& a : m.actions) {
    out.push_back({{"id", a.id},
                   {"text", a.text},
                   {"owner", a.owner},
                   {"agenda_item", a.agenda_item},
                   {"due", format_time(a.due)},
                   {"done", a.done},
                   {"done_at", optional_time(a.done_at)},
                   {"done_by", a.done ? Json(a.done_by) : Json(nullptr)},
                   {"status", due_name(due_status(a, now, remind_before))}});
  }
  return out;
}

}  // namespace

bool is_meeting_type(std::string_view type) {
  for (const std::string_view t : kMeetingTypes) {
    if (type == t) return true;
  }
  return false;
}

void sort_for_replay(std::vector<Message>& messages) {
  std::stable_sort(messages.begin(), messages.end(), [](const Message& a, const Message& b) {
    return std::tie(a.created, a.from_party, a.id) < std::tie(b.created, b.from_party, b.id);
  });
}

std::string_view state_name(State s) {
  switch (s) {
    case State::kProposed:
      return "proposed";
    case State::kCountered:
      return "countered";
    case State::kScheduled:
      return "scheduled";
    case State::kDeclined:
      return "declined";
    case State::kCancelled:
      return "cancelled";
    case State::kHeld:
      return "held";
  }
  return "unknown";
}

std::string_view due_name(Due d) {
  switch (d) {
    case Due::kOpen:
      return "open";
    case Due::kReminder:
      return "reminder";
    case Due::kOverdue:
      return "overdue";
    case Due::kDone:
      return "done";
  }
  return "unknown";
}

Status Book::check(const Message& msg) const {
  if (!is_meeting_type(msg.type)) return Status::ok();
  Result<Json> body = json::parse_object(msg.body_json);
  if (!body.is_ok()) return body.status().with_context(msg.type + " body");
  if (msg.type == kPropose) {
    if (find(msg.id) != nullptr) return Status::already_exists("meeting " + msg.id + " exists");
    return propose(msg, *body).status();
  }
  if (!msg.reply_to) {
    return Status::invalid_argument("a " + msg.type + " names its meeting in reply_to");
  }
  const Meeting* m = find(*msg.reply_to);
  if (m == nullptr || m->line != msg.line) {
    return Status::not_found("unknown meeting " + single_quoted(*msg.reply_to) + " on line " +
                             single_quoted(msg.line));
  }
  if (msg.from_party != m->proposer_party && msg.from_party != m->other_party) {
    return Status::permission_denied("party " + msg.from_party + " is not a party to meeting " +
                                     m->id);
  }
  return step(*m, msg, *body).status();
}

Status Book::apply(const Message& msg) {
  if (!is_meeting_type(msg.type)) return Status::ok();
  const Status checked = check(msg);
  if (!checked.is_ok()) {
    refusals_.push_back({msg.id, msg.type == kPropose ? msg.id : msg.reply_to.value_or(""),
                         msg.type, msg.from_party + "/" + msg.from_principal, checked.message()});
    return checked;
  }
  // check() parsed the body and found the meeting: neither can fail now.
  const Json body = json::parse_object(msg.body_json).value();
  Result<Meeting> next =
      msg.type == kPropose ? propose(msg, body) : step(*find(*msg.reply_to), msg, body);
  Meeting& m = msg.type == kPropose ? meetings_.emplace_back() : *find_mutable(*msg.reply_to);
  m = std::move(next).value();
  m.history.push_back({msg.id, msg.type, msg.from_party + "/" + msg.from_principal, msg.created});
  return Status::ok();
}

const Meeting* Book::find(std::string_view id) const {
  for (const Meeting& m : meetings_) {
    if (m.id == id) return &m;
  }
  return nullptr;
}

Meeting* Book::find_mutable(std::string_view id) {
  for (Meeting& m : meetings_) {
    if (m.id == id) return &m;
  }
  return nullptr;
}

std::vector<const Meeting*> Book::meetings() const {
  std::vector<const Meeting*> out;
  for (const Meeting& m : meetings_) out.push_back(&m);
  return out;
}

Result<std::string> minutes_hash(std::string_view body_json) {
  PARLEY_ASSIGN_OR_RETURN(const Json body, json::parse_object(body_json));
  // nlohmann-json keeps object keys sorted and dumps without whitespace: the canonical form.
  const std::string canonical = json::dump(body);
  return hex_encode(crypto::sha256(as_bytes(canonical)));
}

Due due_status(const Action& action, Time now, Duration remind_before) {
  if (action.done) return Due::kDone;
  if (now > action.due) return Due::kOverdue;
  if (action.due - now <= remind_before) return Due::kReminder;
  return Due::kOpen;
}

std::vector<Time> occurrences(const Series& series, Time first, std::size_t max) {
  using std::chrono::days;
  using std::chrono::floor;
  using std::chrono::months;
  const std::size_t n = series.count ? std::min<std::size_t>(max, *series.count) : max;
  const auto day = floor<days>(first);
  const Duration time_of_day = first - day;
  const std::chrono::year_month_day start{day};
  const int step = series.recurrence == "weekly"      ? 0
                   : series.recurrence == "monthly"   ? 1
                   : series.recurrence == "quarterly" ? 3
                                                      : 12;
  std::vector<Time> out;
  for (std::size_t i = 0; i < n; ++i) {
    if (step == 0) {
      out.push_back(first + days(7 * static_cast<int>(i)));
      continue;
    }
    std::chrono::year_month_day ymd = start + months(step * static_cast<int>(i));
    if (!ymd.ok()) ymd = ymd.year() / ymd.month() / std::chrono::last;
    out.push_back(Time(std::chrono::sys_days(ymd)) + time_of_day);
  }
  return out;
}

json::Json to_json(const Meeting& m, const std::vector<Refusal>& refusals, Time now,
                   Duration remind_before) {
  Json history = Json::array();
  for (const Step& s : m.history) {
    history.push_back(
        {{"id", s.message_id}, {"type", s.type}, {"by", s.by}, {"at", format_time(s.at)}});
  }
  Json refused = Json::array();
  for (const Refusal& r : refusals) {
    if (r.meeting != m.id) continue;
    refused.push_back({{"id", r.message_id}, {"type", r.type}, {"by", r.by}, {"reason", r.reason}});
  }
  std::size_t overdue = 0;
  std::size_t reminders = 0;
  for (const Action& a : m.actions) {
    const Due d = due_status(a, now, remind_before);
    overdue += d == Due::kOverdue ? 1 : 0;
    reminders += d == Due::kReminder ? 1 : 0;
  }
  return Json{{"id", m.id},
              {"line", m.line},
              {"title", m.title},
              {"state", state_name(m.state)},
              {"proposer", m.proposer},
              {"parties", Json::array({m.proposer_party, m.other_party})},
              {"participants", m.participants},
              {"agenda", m.agenda},
              {"series", series_json(m)},
              {"offered",
               {{"slots", times_json(m.offered)},
                {"by", m.offered.empty() ? Json(nullptr) : Json(m.offered_by)}}},
              {"slot", optional_time(m.slot)},
              {"minutes", minutes_json(m)},
              {"actions", actions_json(m, now, remind_before)},
              {"overdue", overdue},
              {"reminders", reminders},
              {"history", history},
              {"refused", refused}};
}

}  // namespace parley::meetings
