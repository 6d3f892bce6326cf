// The driver's events (docs/openapi.yaml "Events"): the notices of the node, of paths and of
// action items, logged, stored with their ids and sent to the SSE subscribers that may see
// them; a stream's start with the replay of what a client missed.
#include <algorithm>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "parley/base/json.h"
#include "parley/gateway/driver.h"
#include "parley/meetings/replay.h"

namespace parley::gateway {

void Driver::subscribe(std::string principal, std::shared_ptr<net::EventStream> stream) {
  subscribers_.push_back({std::move(principal), std::move(stream)});
}

bool Driver::may_see(const std::string& principal, const store::EventRecord& event) const {
  if (principal.empty()) return true;
  if (event.operator_only) return false;
  if (std::ranges::find(event.alerted, principal) != event.alerted.end()) return true;
  for (const core::Line& l : lines_read_by(principal)) {
    if (!event.line.empty() && l.id == event.line) return true;
    if (!event.peer.empty() && l.remote.party == event.peer) return true;
  }
  return false;
}

Result<std::vector<net::ServerEvent>> Driver::stream_start(
    const std::string& principal, std::optional<std::uint64_t> last_event_id) {
  std::vector<net::ServerEvent> out;
  const std::uint64_t after = last_event_id.value_or(0);
  // Every kept event after `after` is read at once (at most kEventsKept): the replay and the
  // start of the live stream then happen with nothing else run in between.
  PARLEY_ASSIGN_OR_RETURN(store::EventPage page,
                          store_->events_after(after, last_event_id ? store::kEventsKept : 0));
  if (last_event_id) {
    const bool dropped = after + 1 < page.first;
    const bool unknown = after > page.last;
    if (dropped || unknown) {
      const std::uint64_t id = dropped ? page.first - 1 : page.last;
      const std::string text =
          dropped ? fmt::format(
                        "the events {} to {} are no longer kept (the gateway keeps the "
                        "newest {}): some were missed; read the boxes again",
                        after + 1, page.first - 1, store::kEventsKept)
                  : fmt::format(
                        "event {} is unknown here (the newest is {}): read the boxes "
                        "again",
                        after, page.last);
      out.push_back({std::to_string(id), "reset",
                     json::dump(json::Json{{"kind", "events-lost"},
                                           {"last_event_id", after},
                                           {"resume_from", id},
                                           {"text", text}})});
    }
    for (const store::EventRecord& e : page.events) {
      if (may_see(principal, e)) out.push_back({std::to_string(e.id), e.name, e.data});
    }
  }
  // Always last, with the newest id (0 when the store keeps no event yet: a client that resumes
  // from it is sent every one), even if the replay ended with that id.
  out.push_back({std::to_string(page.last), "stream",
                 json::dump(json::Json{{"kind", "stream-open"},
                                       {"last_event_id", page.last},
                                       {"text", "live from event " + std::to_string(page.last)}})});
  return out;
}

void Driver::publish(store::EventRecord event) {
  event.time = now();
  events_pending_.push_back(std::move(event));
}

void Driver::flush_events() {
  if (events_pending_.empty()) return;
  std::vector<store::EventRecord> events = std::move(events_pending_);
  events_pending_.clear();
  // Stored first, so that a client that reconnects gets it even if it missed it live; one
  // write for all of them.
  const Status stored = store_->append_events(events);
  if (stored.is_ok()) ++event_commits_;
  if (!stored.is_ok()) {
    spdlog::error(
        "events: cannot store {} events ({}): sent live without an id, a client that "
        "reconnects will not be sent them",
        events.size(), stored.to_string());
  }
  send_events(events, stored.is_ok());
}

void Driver::send_events(const std::vector<store::EventRecord>& events, bool stored) {
  std::erase_if(subscribers_, [](const Subscriber& s) { return !s.stream->is_open(); });
  for (const store::EventRecord& e : events) {
    const net::ServerEvent event{stored ? std::to_string(e.id) : "", e.name, e.data};
    for (Subscriber& s : subscribers_) {
      if (may_see(s.principal, e)) s.stream->send(event);
    }
  }
}

void Driver::on_path_notice(const core::PathNotice& n) {
  const std::string_view kind = n.kind == core::PathNotice::Kind::kChanged ? "path-changed"
                                : n.kind == core::PathNotice::Kind::kDown  ? "path-down"
                                                                           : "path-up";
  if (!n.alert) {
    // The first answers at start settle the order; a path back up: worth a line, not an alert.
    spdlog::info("{}: peer {}: {}", kind, n.party, n.text);
    return;
  }
  spdlog::warn("{}: peer {}: {}", kind, n.party, n.text);
  json::Json data = {{"peer", n.party}, {"text", n.text}};
  if (n.kind == core::PathNotice::Kind::kChanged) {
    data["kind"] = "path_changed";
    data["from"] = n.previous;
    data["to"] = n.address;
  } else {
    data["kind"] = "path_down";
    data["address"] = n.address;
  }
  store::EventRecord event;
  event.name = "alert";
  event.data = json::dump(data);
  event.peer = n.party;
  publish(std::move(event));
}

void Driver::notify(const core::Notice& notice) {
  log_notice(notice);
  publish_of(notice);
}

void Driver::log_notice(const core::Notice& notice) {
  const std::string_view kind = core::notice_kind_name(notice.kind);
  switch (notice.kind) {
    case core::NoticeKind::kMessageReceived:
      spdlog::info("{}: {}", kind, notice.text);
      break;
    case core::NoticeKind::kDelivered:
    case core::NoticeKind::kAcknowledged:
    case core::NoticeKind::kPeerKeyRotated:
      spdlog::info("{}: {}", kind, notice.text);
      break;
    case core::NoticeKind::kMessageCancelled:  // the record of who withdrew what, and when
      spdlog::warn("{}: {}", kind, notice.text);
      break;
    case core::NoticeKind::kFrameRefused:
    case core::NoticeKind::kInboundOverdue:
    case core::NoticeKind::kPeerRefused:
    case core::NoticeKind::kLinkTrouble:
    case core::NoticeKind::kLogRecovery:
    case core::NoticeKind::kMessageRefused:
    case core::NoticeKind::kMessageExpired:
    case core::NoticeKind::kInboundRefused:
    case core::NoticeKind::kEscalation:
      spdlog::warn("{}: {}", kind, notice.text);
      break;
    case core::NoticeKind::kForkDetected:
      // The peer contradicted a head we countersigned: the evidence is in the store.
      spdlog::error("{}: {}", kind, notice.text);
      break;
    case core::NoticeKind::kRefusalRepeats:
      // Retrying will not fix it: the two parties' configurations or keys disagree.
      spdlog::error("{}: {}", kind, notice.text);
      break;
  }
}

void Driver::publish_of(const core::Notice& notice) {
  // The peer's meeting step may change the action items: look again.
  if (notice.kind == core::NoticeKind::kMessageReceived && meetings::is_meeting_type(notice.type)) {
    actions_due_ = now();
  }
  const std::string_view kind = core::notice_kind_name(notice.kind);
  json::Json data = {{"kind", kind},
                     {"message_id", notice.message_id},
                     {"line", notice.line},
                     {"text", notice.text}};
  if (notice.kind == core::NoticeKind::kPeerKeyRotated) {
    // Its new certificate is accepted from the peer from now on (the rotation is durable).
    allow_fingerprint(notice.peer, notice.tls_fingerprint);
    data["peer"] = notice.peer;
    data["rotation"] = notice.rotation;
    data["tls_fingerprint"] = notice.tls_fingerprint;
  }
  if (notice.side) {
    data["side"] = core::escalation_side_name(*notice.side);
    data["alerted"] = notice.alerted;
    data["first"] = notice.first;
  }
  const std::string payload = json::dump(data);
  std::string event;
  switch (notice.kind) {
    case core::NoticeKind::kMessageReceived:
      event = "message";
      break;
    case core::NoticeKind::kDelivered:
      event = "delivered";
      break;
    case core::NoticeKind::kAcknowledged:
      event = "acknowledged";
      break;
    case core::NoticeKind::kInboundOverdue:  // ours: the escalation's first alert says it
      event = "overdue";
      break;
    case core::NoticeKind::kMessageRefused:
      event = "refused";
      break;
    case core::NoticeKind::kMessageExpired:
      event = "expired";
      break;
    case core::NoticeKind::kMessageCancelled:
      event = "cancelled";
      break;
    case core::NoticeKind::kEscalation:
      event = "escalation";
      break;
    case core::NoticeKind::kFrameRefused:
    case core::NoticeKind::kInboundRefused:
    case core::NoticeKind::kRefusalRepeats:
    case core::NoticeKind::kPeerRefused:
    case core::NoticeKind::kLinkTrouble:
    case core::NoticeKind::kLogRecovery:
    case core::NoticeKind::kForkDetected:
    case core::NoticeKind::kPeerKeyRotated:
      event = "alert";
      break;
  }
  publish_notice(notice, event, payload);
}

void Driver::publish_notice(const core::Notice& notice, const std::string& event,
                            const std::string& payload) {
  store::EventRecord record;
  record.name = event;
  record.data = payload;
  record.line = notice.line;
  record.alerted = notice.alerted;
  record.peer = notice.peer;  // kPeerKeyRotated: seen by the principals of the peer's lines
  publish(std::move(record));
}

}  // namespace parley::gateway
