// PeerSession, as the keeper of deadlines: our messages and the peer's whose ack deadline
// passed are marked overdue, each with its signed evidence of silence (docs/protocol.md
// "Evidence of silence"), and their escalations (core/escalation.h) alert principals.
#include <algorithm>
#include <utility>

#include "parley/base/check.h"
#include "parley/base/json.h"
#include "parley/core/message_state.h"
#include "parley/core/peer_session.h"
#include "parley/core/session_internal.h"

namespace parley::core {

using namespace internal;  // the session's own helpers (session_internal.h)

std::vector<std::string> PeerSession::mark_overdue(Time now, std::vector<Record>& records) {
  // The deadlines that have passed, handled in id order (as unacked_ is ordered).
  std::vector<std::string> due;
  for (auto it = deadlines_.begin(); it != deadlines_.end() && it->first <= now;
       it = deadlines_.erase(it)) {
    due.push_back(it->second);
  }
  std::sort(due.begin(), due.end());
  for (const std::string& id : due) {
    auto entry = unacked_.find(id);
    PARLEY_CHECK(entry != unacked_.end());
    Unacked& u = entry->second;
    u.overdue = true;
    // The sender is told by the escalation's first step (no notice of its own: one event).
    escalate_sent(id, u);
    // Not queued: receipted, so delivered (a refused or acknowledged one is not watched).
    MessageRecord receipted;
    receipted.id = id;
    receipted.state = MessageState::kDelivered;
    Outgoing* o = outbox_.queued(id);
    records.push_back(transition(o != nullptr ? o->record : receipted,
                                 MessageChange(MessageEvent::kDeadlinePassed, now)));
  }
  return due;
}

std::vector<std::string> PeerSession::mark_inbound_overdue(Time now, std::vector<Record>& records,
                                                           std::vector<Action>& out) {
  const std::vector<std::string> due = inbound_.take_due(now);
  for (const std::string& id : due) {
    const AwaitingAck& a = *inbound_.awaiting(id);
    escalate_received(id, a);
    // Watched only while delivered, not acknowledged: the store holds it so.
    MessageRecord stored;
    stored.id = id;
    stored.state = MessageState::kDelivered;
    records.push_back(transition(stored, MessageChange(MessageEvent::kDeadlinePassed, now)));
    ++counters_.inbound_overdue_marked;
    const Line* line = find_line(a.line);
    const Duration within =
        line != nullptr ? line->deadlines.for_precedence(a.precedence) : Duration::zero();
    // Emplaced as a Notify (not a pushed temporary variant): GCC 12 at -O3 warns, wrongly,
    // that the temporary's other alternatives may be used uninitialized.
    out.emplace_back(
        std::in_place_type<Notify>,
        Notify{notice(NoticeKind::kInboundOverdue, id, a.line,
                      std::string(wire::precedence_name(a.precedence)) + " message " + id +
                          " on line " + a.line + " from " + a.from.to_string() +
                          " not acknowledged here within " + format_duration(within))});
  }
  return due;
}

// ---- evidence ----

void PeerSession::add_evidence(const std::string& id, EscalationSide side, Time now,
                               std::vector<Record>& records, AfterPersist& after) {
  // Without the agreed key nothing can be sealed to the peer (the operator was told).
  if (!seal_key_status_.is_ok()) return;
  std::string line;
  std::string from;
  wire::Address to;
  Precedence precedence = Precedence::kRoutine;
  Time deadline;
  if (side == EscalationSide::kSender) {
    const Unacked& u = unacked_.at(id);
    line = u.line;
    from = u.sender;
    const Line* l = find_line(u.line);
    if (from.empty() && l != nullptr) from = l->local;
    to = l != nullptr ? l->remote : wire::Address{config_.peer.party, ""};
    precedence = u.precedence;
    deadline = u.deadline;
  } else {
    const AwaitingAck& a = *inbound_.awaiting(id);
    line = a.line;
    from = a.addressee;
    to = a.from;
    precedence = a.precedence;
    deadline = a.deadline;
  }
  // A line removed since, or a principal we no longer know: no envelope the peer would
  // accept can be written (the escalation still alerts).
  const Line* l = find_line(line);
  if (l == nullptr || from.empty() || to.principal.empty()) return;
  json::Json alerted = json::Json::array();
  if (const Escalation* e = escalations_.find(id)) {
    for (const AlertedPrincipal& p : e->alerted)
      alerted.push_back(config_.party + "/" + p.principal);
  }
  if (alerted.empty()) alerted.push_back(config_.party + "/" + from);
  const json::Json body = {{"message", id},
                           {"side", escalation_side_name(side)},
                           {"deadline", format_time(deadline)},
                           {"observed", format_time(now)},
                           {"alerted", std::move(alerted)}};
  add_protocol_entry(line, from, to, precedence, kEvidenceUnacknowledgedType, id, json::dump(body),
                     now, records, after);
}

void PeerSession::add_protocol_entry(const std::string& line_id, const std::string& from,
                                     const wire::Address& to, Precedence precedence,
                                     std::string_view type, const std::string& about,
                                     const std::string& body_json, Time now,
                                     std::vector<Record>& records, AfterPersist& after) {
  Outgoing outgoing = compose(*find_line(line_id), from, to, precedence, std::string(type),
                              wire::Content{body_json, ""}, about, std::nullopt, now);
  records.push_back(PutMessage{outgoing.record});
  append_to_log(outgoing, records, after);
  after.queued.push_back(outgoing.record.id);
  outbox_.enqueue(std::move(outgoing));
}

// ---- escalation ----

void PeerSession::escalate_sent(const std::string& id, const Unacked& u) {
  EscalationStart start{u.line, u.precedence, EscalationSide::kSender, u.deadline, {u.sender}, ""};
  if (u.sender.empty()) {
    const Line* line = find_line(u.line);
    start.chain = {line != nullptr ? line->local : config_.party};
  }
  escalations_.start(id, std::move(start));
}

void PeerSession::escalate_received(const std::string& id, const AwaitingAck& a) {
  EscalationStart start{a.line, a.precedence, EscalationSide::kReceiver, a.deadline, {}, ""};
  const auto add = [&start](const std::string& p) {
    if (!p.empty() && std::find(start.chain.begin(), start.chain.end(), p) == start.chain.end()) {
      start.chain.push_back(p);
    }
  };
  add(a.addressee);
  // The line as configured now: its principal, then its alternates in order.
  if (const Line* line = find_line(a.line)) {
    add(line->local);
    for (const std::string& alternate : line->alternates) add(alternate);
  }
  // A message on a line removed since, to nobody we know: the operator's own principal
  // still hears of it through the alert (its text names the message); the chain names no one.
  if (start.chain.empty()) start.chain.push_back(a.addressee.empty() ? a.line : a.addressee);
  for (const Principal& p : config_.directory.principals) {
    if (p.id == start.chain.front()) start.duty_role = p.role;
  }
  escalations_.start(id, std::move(start));
}

void PeerSession::raise_alerts(Time now, std::vector<Action>& out) {
  for (Alert& a : escalations_.take_due(now, config_.directory.roster)) {
    ++counters_.escalation_alerts;
    const bool sender = a.side == EscalationSide::kSender;
    std::string who;
    for (const std::string& p : a.principals) who += (who.empty() ? "" : ", ") + p;
    Notice n = notice(NoticeKind::kEscalation, a.message_id, a.line,
                      std::string(wire::precedence_name(a.precedence)) + " message " +
                          a.message_id + " on line " + a.line +
                          (sender ? " not acknowledged by " + config_.peer.party
                                  : " from " + config_.peer.party + " not acknowledged here") +
                          ", overdue by " + format_duration(now - a.deadline) + ": alerting " +
                          who + (a.repeat ? " (again)" : ""));
    n.alerted = std::move(a.principals);
    n.side = a.side;
    n.first = a.first;
    out.emplace_back(std::in_place_type<Notify>, Notify{std::move(n)});
  }
}

std::vector<EscalationView> PeerSession::escalation_view() const {
  std::vector<EscalationView> views;
  // `first`: whom the escalation's first step alerts (the sender, or the addressee).
  const auto view = [&](const std::string& id, const std::string& line, Precedence precedence,
                        EscalationSide side, Time deadline, bool overdue, bool ack_pending,
                        const std::string& first) {
    EscalationView v{id, line, precedence, side, deadline, overdue, {}, std::nullopt, {}};
    if (const Escalation* e = escalations_.find(id)) {
      v.alerted = e->alerted;
      v.next_alert = e->next_alert;
      v.next = step_principals(*e, e->steps, config_.directory.roster, e->next_alert);
    } else if (!overdue) {
      v.next_alert = deadline;
      if (!first.empty()) v.next = {first};
    }
    if (ack_pending) {
      v.next_alert.reset();
      v.next.clear();
    }
    views.push_back(std::move(v));
  };
  for (const auto& [id, u] : unacked_) {
    view(id, u.line, u.precedence, EscalationSide::kSender, u.deadline, u.overdue, u.ack_pending,
         u.sender);
  }
  for (const auto& [id, a] : inbound_.all_awaiting()) {
    view(id, a.line, a.precedence, EscalationSide::kReceiver, a.deadline, a.overdue,
         a.ack_by.has_value(), a.addressee);
  }
  return views;
}

}  // namespace parley::core
