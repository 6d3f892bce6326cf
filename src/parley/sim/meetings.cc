// Meetings in the simulation (issue 13): a share of the principals' submissions are meeting
// steps, each chosen from what the principal's own gateway shows at that moment (so the two
// sides act concurrently on views that lag, as people would), and at the end of a run both
// sides' books of every line must agree: the same meetings in the same states, slots,
// minutes, signatures and action items. Both replay the same record with the gateway's own
// code (meetings/replay.h).
#include <algorithm>
#include <chrono>
#include <string>

#include "parley/base/json.h"
#include "parley/meetings/replay.h"
#include "parley/sim/cluster.h"

namespace parley::sim {

using namespace std::chrono_literals;
using json::Json;

namespace {

std::string slot_text(Time t) { return format_time(std::chrono::floor<std::chrono::seconds>(t)); }

bool all_done(const meetings::Meeting& m) {
  return std::all_of(m.actions.begin(), m.actions.end(),
                     [](const meetings::Action& a) { return a.done; });
}

// One line of the book, for comparing the two sides: everything the API shows of a meeting
// but the times each side stored things at.
std::string summary(const meetings::Book& book) {
  std::string out;
  for (const meetings::Meeting* m : book.meetings()) {
    out += m->id + " " + std::string(meetings::state_name(m->state));
    if (m->slot) out += " slot " + format_time(*m->slot);
    for (const Time t : m->offered) out += " offered " + format_time(t) + " by " + m->offered_by;
    if (m->minutes) {
      out += " minutes " + m->minutes->hash + (m->minutes->final ? " final" : "");
      for (const std::string& p : m->minutes->signed_by) out += " signed " + p;
    }
    for (const meetings::Action& a : m->actions) out += " " + a.id + (a.done ? "=done" : "=open");
    out += "; ";
  }
  for (const meetings::Refusal& r : book.refusals()) out += "refused " + r.message_id + "; ";
  return out;
}

}  // namespace

Result<meetings::Book> Cluster::meeting_book(Gateway& g, const std::string& line) {
  store::MessageQuery q;
  q.lines = {line};
  for (const std::string_view t : meetings::kMeetingTypes) q.types.emplace_back(t);
  q.limit = 1'000'000;
  PARLEY_ASSIGN_OR_RETURN(std::vector<core::MessageRecord> stored, g.store->list_messages(q));
  return meetings::replay(stored);
}

bool Cluster::meeting_step(Gateway& g, const std::string& line, core::Submit& s) {
  Result<meetings::Book> book = meeting_book(g, line);
  if (!book.is_ok()) {
    violation("store-failed", g.party + " meetings of " + line + ": " + book.status().to_string());
    return false;
  }
  const std::vector<const meetings::Meeting*> all = book->meetings();
  const meetings::Meeting* m = all.empty() ? nullptr : all.back();
  Json body = Json::object();
  std::string type;
  const auto offer = [&](const char* key) {
    body[key] = Json::array({slot_text(now_ + workload_.duration(24h, 48h)),
                             slot_text(now_ + workload_.duration(72h, 96h))});
  };
  const bool over =
      m == nullptr || m->state == meetings::State::kDeclined ||
      m->state == meetings::State::kCancelled ||
      (m->state == meetings::State::kHeld && m->minutes && m->minutes->final && all_done(*m));
  if (over) {
    type = meetings::kPropose;
    body["title"] = "staff talks " + std::to_string(++meetings_proposed_);
    body["agenda"] = Json::array({"incidents at sea"});
    offer("slots");
  } else if (m->state == meetings::State::kProposed || m->state == meetings::State::kCountered) {
    if (m->offered_by == g.party) {
      if (!workload_.chance(0.15)) return false;
      type = meetings::kCancel;
      body["reason"] = "no longer needed";
    } else if (const std::int64_t r = workload_.between(0, 9); r < 6) {
      type = meetings::kAccept;
      body["slot"] = format_time(m->offered[workload_.between(0, m->offered.size() - 1)]);
    } else if (r < 8) {
      type = meetings::kCounter;
      offer("slots");
    } else {
      type = meetings::kDecline;
      body["reason"] = "not at this level";
    }
  } else if (m->state == meetings::State::kScheduled) {
    if (const std::int64_t r = workload_.between(0, 9); r < 7) {
      type = meetings::kMinutes;
    } else if (r < 9) {
      type = meetings::kReschedule;
      offer("slots");
    } else {
      type = meetings::kCancel;
      body["reason"] = "overtaken by events";
    }
  } else if (m->minutes && m->minutes->signed_by.count(g.party) == 0 && workload_.chance(0.9)) {
    type = meetings::kSign;
    body["minutes_hash"] = m->minutes->hash;
  } else if (!m->minutes || workload_.chance(0.1)) {
    type = meetings::kMinutes;  // amended minutes: both must sign again
  } else if (const auto open = std::find_if(m->actions.begin(), m->actions.end(),
                                            [](const meetings::Action& a) { return !a.done; });
             open != m->actions.end()) {
    type = meetings::kActionDone;
    body["action"] = open->id;
  } else {
    return false;  // held, signed by us, waiting for the peer's signature
  }
  if (type == meetings::kMinutes) {
    Json action = {{"id", "a1"},
                   {"text", "exchange calendars"},
                   {"owner", g.party + "/" + s.principal},
                   {"due", slot_text(now_ + 720h)}};
    body["items"] = Json::array({{{"agenda_item", "incidents at sea"},
                                  {"notes", "draft " + std::to_string(++minutes_drafted_)},
                                  {"actions", Json::array({action})}}});
  }
  s.type = type;
  s.content = wire::Content{json::dump(body), ""};
  if (type != meetings::kPropose) s.reply_to = m->id;
  ++outcome_.stats.meeting_steps;
  return true;
}

void Cluster::check_meetings() {
  for (const auto& g : gateways_) {
    if (!g->up) return;  // check_final reports it
  }
  for (const auto& g : gateways_) {
    for (const LineEnd& end : g->lines) {
      if (g->index > end.peer) continue;  // each line once, from its lower-index end
      Gateway& peer = *gateways_[end.peer];
      const bool configured_there =
          std::any_of(peer.lines.begin(), peer.lines.end(),
                      [&](const LineEnd& e) { return e.id == end.id && e.peer == g->index; });
      if (!configured_there) continue;  // a one-sided line: the peer refuses all of it
      Result<meetings::Book> ours = meeting_book(*g, end.id);
      Result<meetings::Book> theirs = meeting_book(peer, end.id);
      if (!ours.is_ok() || !theirs.is_ok()) {
        violation("store-failed", "meetings of " + end.id);
        return;
      }
      const std::string a = summary(*ours);
      const std::string b = summary(*theirs);
      if (a != b) {
        violation("meetings-diverge", "line " + end.id + ": " + g->party + " has [" + a + "], " +
                                          peer.party + " has [" + b + "]");
      }
      outcome_.stats.meetings += ours->meetings().size();
    }
  }
}

}  // namespace parley::sim
