#include "parley/gateway/find.h"

#include "parley/gateway/requests.h"

namespace parley::gateway {
namespace {

using json::Json;

Json step(std::optional<Time> at, std::string_view event, std::string detail) {
  return Json{{"at", at ? Json(format_time(*at)) : Json(nullptr)},
              {"event", std::string(event)},
              {"detail", std::move(detail)}};
}

// When `m` became overdue, if it did by `now`: its deadline passed before an ack came.
std::optional<Time> overdue_at(const core::MessageRecord& m, Time now) {
  if (!m.needs_ack || m.state == core::MessageState::kExpired ||
      m.state == core::MessageState::kRefused || m.state == core::MessageState::kCancelled) {
    return std::nullopt;
  }
  const Time until = m.acknowledged_at.value_or(now);
  if (m.state == core::MessageState::kOverdue || until > m.ack_deadline) return m.ack_deadline;
  return std::nullopt;
}

}  // namespace

Result<std::string> resolve_message_id(store::Store& store, const std::vector<std::string>& lines,
                                       std::string_view text) {
  PARLEY_ASSIGN_OR_RETURN(const std::string prefix, parse_id_or_prefix(text));
  const Status none = Status::not_found("no message on your lines has the id or prefix '" +
                                        std::string(text) + "'");
  if (lines.empty()) return none;
  store::MessageQuery q;
  q.lines = lines;
  q.include_acks = true;
  q.id_prefix = prefix;
  q.limit = kCandidatesShown + 1;
  PARLEY_ASSIGN_OR_RETURN(const std::vector<core::MessageRecord> found, store.list_messages(q));
  for (const core::MessageRecord& m : found) {
    if (m.id == prefix) return m.id;
  }
  if (found.empty()) return none;
  if (found.size() == 1) return found.front().id;
  std::string candidates;
  for (std::size_t i = 0; i < found.size() && i < kCandidatesShown; ++i) {
    candidates += (i == 0 ? "" : ", ") + found[i].id;
  }
  if (found.size() > kCandidatesShown) candidates += ", ...";
  return Status::invalid_argument("the id prefix '" + std::string(text) +
                                  "' is ambiguous: it matches " + candidates +
                                  "; give more of the id");
}

bool awaits_ack(const core::MessageRecord& m) {
  if (!m.needs_ack || m.acknowledged_at) return false;
  switch (m.state) {
    case core::MessageState::kQueued:
    case core::MessageState::kSent:
    case core::MessageState::kDelivered:
    case core::MessageState::kOverdue:
      return true;
    case core::MessageState::kAcknowledged:
    case core::MessageState::kExpired:
    case core::MessageState::kRefused:
    case core::MessageState::kCancelled:
      return false;
  }
  return false;
}

Json time_left_ms(const core::MessageRecord& m, Time now) {
  if (!awaits_ack(m)) return nullptr;
  return (m.ack_deadline - now).count();
}

Json message_timeline(const core::MessageRecord& m, Time now) {
  const bool outbound = m.direction == core::Direction::kOutbound;
  Json steps = Json::array();
  steps.push_back(step(m.created, "created",
                       "by " + m.from.to_string() + " for " + m.to.to_string() + ", line " +
                           m.line + " #" + std::to_string(m.seq) + ", ack due " +
                           format_time(m.ack_deadline)));
  if (outbound && m.tx) {
    // Still queued: a transaction carried it (or is carrying it), the peer has not answered.
    steps.push_back(m.state == core::MessageState::kQueued
                        ? step(std::nullopt, "carried",
                               "in transaction " + *m.tx + ", not yet answered by the peer")
                        : step(std::nullopt, "sent", "in transaction " + *m.tx));
  }
  if (m.delivered_at) {
    steps.push_back(
        outbound ? step(m.delivered_at, "delivered",
                        "the peer stored it: its receipt is verified and kept")
                 : step(m.delivered_at, "received", "stored here and receipted to " + m.peer));
  }
  const std::optional<Time> overdue = overdue_at(m, now);
  if (overdue) {
    steps.push_back(step(overdue, "overdue", "not acknowledged by its deadline"));
  }
  if (m.acknowledged_at) {
    steps.push_back(
        step(m.acknowledged_at, "acknowledged",
             "by " + m.acknowledged_by.value_or("?") + " (ack " + m.ack_id.value_or("?") + ")"));
  }
  if (m.state == core::MessageState::kExpired) {
    steps.push_back(step(m.expires, "expired", "not receipted before it expired"));
  }
  if (m.state == core::MessageState::kCancelled) {
    steps.push_back(step(m.cancelled_at, "cancelled",
                         "by " + m.cancelled_by.value_or("?") + " before it left; never sent"));
  }
  if (m.state == core::MessageState::kRefused) {
    steps.push_back(step(std::nullopt, "refused",
                         (outbound ? "by the peer: " : "by us: ") + m.refusal.value_or("")));
  }
  return steps;
}

}  // namespace parley::gateway
