#include "parley/gateway/monitoring.h"

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "parley/gateway/responses.h"

namespace parley::gateway {

using json::Json;

namespace {

// Refusals either way (docs/protocol.md "Refusals"); `alert` while the peer keeps refusing
// our whole transaction.
Json refusals_json(const core::SessionStats& s) {
  return Json{{"messages_refused", s.messages_refused},
              {"inbound_refused", s.inbound_refused},
              {"transactions_refused", s.transactions_refused},
              {"streak", s.refusal_streak},
              {"alert", s.refusal_streak >= 2},
              {"last", s.last_refusal.empty() ? Json(nullptr) : Json(s.last_refusal)}};
}

// The inbound lines with missing seqs: how many, and the first of them.
constexpr std::size_t kGapSeqsShown = 20;
Json gaps_json(const core::SessionStats& s) {
  Json gaps = Json::array();
  for (const core::LineGap& g : s.gaps) {
    gaps.push_back(Json{{"line", g.line},
                        {"received_through", g.seqs.watermark()},
                        {"missing", g.seqs.missing()},
                        {"missing_seqs", g.seqs.missing_seqs(kGapSeqsShown)}});
  }
  return gaps;
}

// docs/openapi.yaml Escalation: one message awaiting an acknowledgment, and who was alerted.
Json escalation_json(const Driver::EscalationView& view) {
  const core::EscalationView& e = view.escalation;
  Json alerted = Json::array();
  for (const core::AlertedPrincipal& a : e.alerted) {
    alerted.push_back({{"principal", a.principal},
                       {"at", format_time(a.at)},
                       {"last", format_time(a.last)},
                       {"alerts", a.alerts}});
  }
  return {{"message_id", e.message_id},
          {"peer", view.peer},
          {"line", e.line},
          {"precedence", wire::precedence_name(e.precedence)},
          {"side", core::escalation_side_name(e.side)},
          {"deadline", format_time(e.deadline)},
          {"overdue", e.overdue},
          {"alerted", alerted},
          {"next_alert", optional_time(e.next_alert)},
          {"next", e.next}};
}

// How the peer's catalog differs from ours (docs/protocol.md "Heartbeats and paths"): null
// before its first heartbeat answer.
Json catalog_json(const Driver::PeerView& p) {
  if (!p.catalog_error.empty()) return {{"known", false}, {"error", p.catalog_error}};
  if (!p.catalog) return nullptr;
  return {{"known", true},
          {"same", p.catalog->same()},
          {"only_here", p.catalog->only_here},
          {"only_there", p.catalog->only_there},
          {"other_version", p.catalog->other_version}};
}

// A path's last signed heartbeat answer (docs/protocol.md "Heartbeats and paths"): the
// peer's time, ours when it came, and the signed payload and signature anyone holding the
// peer's bundle can check; null before the first.
Json signed_contact_json(const std::optional<SignedContact>& c) {
  if (!c) return nullptr;
  return {{"time", format_time(c->time)},
          {"received", format_time(c->received)},
          {"payload", c->answer.payload},
          {"signature", c->answer.signature}};
}

// This gateway as a witness (the views it cosigned, every split view it saw with both signed
// notes) and as a log (the cosignatures its observers answered): docs/openapi.yaml Status.
Result<Json> witness_json(Driver& driver) {
  PARLEY_ASSIGN_OR_RETURN(const std::vector<store::WitnessedCheckpoint> views,
                          driver.store().witnessed());
  PARLEY_ASSIGN_OR_RETURN(const std::vector<store::SplitViewRecord> splits, driver.split_views());
  PARLEY_ASSIGN_OR_RETURN(const std::vector<store::CosignatureRecord> cosigned,
                          driver.store().cosignatures());
  Json witnessed = Json::array();
  for (const store::WitnessedCheckpoint& v : views) {
    witnessed.push_back({{"origin", v.origin}, {"size", v.size}});
  }
  Json split_views = Json::array();
  for (const store::SplitViewRecord& s : splits) {
    split_views.push_back({{"origin", s.origin},
                           {"kind", s.kind},
                           {"witnessed", s.witnessed},
                           {"offered", s.offered},
                           {"seen", format_time(s.seen)}});
  }
  Json cosignatures = Json::array();
  for (const store::CosignatureRecord& c : cosigned) {
    cosignatures.push_back({{"origin", c.origin}, {"witness", c.witness}, {"size", c.size}});
  }
  return Json{{"witnessed", witnessed},
              {"split_views", split_views},
              {"alert", !splits.empty()},
              {"cosignatures", cosignatures}};
}

// docs/operations.md "Metrics", docs/protocol.md "Admission".
void admission_metrics(const Driver& driver, std::string& out) {
  const net::AdmissionStats federation = driver.federation_admission();
  const net::AdmissionStats api = driver.api_admission();
  out += "# TYPE parley_handshakes_refused_total counter\n";
  for (std::size_t i = 0; i < net::kHandshakeRefusals; ++i) {
    out += "parley_handshakes_refused_total{reason=\"" +
           std::string(net::handshake_refusal_name(static_cast<net::HandshakeRefusal>(i))) +
           "\"} " + std::to_string(federation.handshakes_refused[i]) + "\n";
  }
  const auto per_server = [&](const std::string& name, const std::string& type, auto value) {
    out += "# TYPE " + name + " " + type + "\n";
    out += name + "{server=\"federation\"} " + std::to_string(value(federation)) + "\n";
    out += name + "{server=\"api\"} " + std::to_string(value(api)) + "\n";
  };
  per_server("parley_connections_evicted_total", "counter",
             [](const net::AdmissionStats& s) { return s.connections_evicted; });
  per_server("parley_connections_refused_total", "counter",
             [](const net::AdmissionStats& s) { return s.connections_refused; });
  per_server("parley_requests_timed_out_total", "counter",
             [](const net::AdmissionStats& s) { return s.requests_timed_out; });
  per_server("parley_connections_open", "gauge",
             [](const net::AdmissionStats& s) { return s.connections_open; });
}

}  // namespace

Json line_test_json(const core::LineTestView& t) {
  return {{"line", t.line},
          {"sequence", t.sequence},
          {"message_id", t.message_id ? Json(*t.message_id) : Json(nullptr)},
          {"sent", optional_time(t.sent)},
          {"answered", optional_time(t.answered)},
          {"answer_due", optional_time(t.answer_due)},
          {"overdue", t.overdue},
          {"refused", t.refused},
          {"next_due", optional_time(t.next_due)},
          {"skipped", t.skipped}};
}

// The escalations of the messages on `lines` (all of them if `lines` is null).
Json escalations_json(const Driver& driver, const std::vector<core::Line>* lines) {
  Json out = Json::array();
  for (const Driver::EscalationView& view : driver.escalations()) {
    const bool shown =
        lines == nullptr || std::any_of(lines->begin(), lines->end(), [&](const core::Line& l) {
          return l.id == view.escalation.line;
        });
    if (shown) out.push_back(escalation_json(view));
  }
  return out;
}

Json peers_json(const Driver& driver) {
  Json peers = Json::array();
  for (const Driver::PeerView& p : driver.peers()) {
    Json paths = Json::array();
    for (const PathHealth& path : p.paths) {
      paths.push_back(
          {{"address", path.address},
           {"state", path.state},
           {"active", path.active},
           {"last_contact", optional_time(path.last_contact)},
           {"last_error", path.last_error.empty() ? Json(nullptr) : Json(path.last_error)},
           {"last_heartbeat", signed_contact_json(path.last_heartbeat)}});
    }
    Json tests = Json::array();
    for (const core::LineTestView& t : p.stats.tests) tests.push_back(line_test_json(t));
    peers.push_back({{"party", p.party},
                     {"federation", p.federation},
                     {"paths", paths},
                     {"queued", p.stats.queued},
                     {"oldest_queued", optional_time(p.stats.oldest_queued)},
                     {"unacknowledged", p.stats.unacknowledged},
                     {"overdue", p.stats.overdue},
                     {"inbound_unacknowledged", p.stats.inbound_unacknowledged},
                     {"inbound_overdue", p.stats.inbound_overdue},
                     {"frames_refused", p.stats.frames_refused},
                     {"transactions_sent", p.stats.transactions_sent},
                     {"send_failures", p.stats.send_failures},
                     {"log_size", p.stats.log_size},
                     {"countersigned_size", p.stats.countersigned_size},
                     {"peer_log_size", p.stats.peer_log_size},
                     {"forks_detected", p.stats.forks_detected},
                     {"refusals", refusals_json(p.stats)},
                     {"gaps", gaps_json(p.stats)},
                     {"tests", tests},
                     {"tests_sent", p.stats.tests_sent},
                     {"tests_answered", p.stats.tests_answered},
                     {"catalog", catalog_json(p)}});
  }
  return peers;
}

net::HttpResponse status_view(Driver& driver) {
  std::uint64_t queued = 0, unacked = 0, overdue = 0, refused = 0, expired = 0, missing = 0;
  std::uint64_t inbound_unacked = 0, inbound_overdue = 0;
  for (const Driver::PeerView& p : driver.peers()) {
    queued += p.stats.queued;
    unacked += p.stats.unacknowledged;
    overdue += p.stats.overdue;
    inbound_unacked += p.stats.inbound_unacknowledged;
    inbound_overdue += p.stats.inbound_overdue;
    refused += p.stats.messages_refused;
    expired += p.stats.messages_expired;
    for (const core::LineGap& g : p.stats.gaps) missing += g.seqs.missing();
  }
  // Fork evidence kept in the store: a peer that contradicted a head we countersigned.
  Result<std::vector<core::PutEvidence>> evidence = driver.store().evidence();
  if (!evidence.is_ok()) return error_response(evidence.status());
  Result<Json> witness = witness_json(driver);
  if (!witness.is_ok()) return error_response(witness.status());
  return json_response(200, {{"party", driver.home().config.party},
                             {"witness", *witness},
                             {"ready", driver.ready()},
                             {"peers", peers_json(driver)},
                             {"queued", queued},
                             {"unacknowledged", unacked},
                             {"overdue", overdue},
                             {"inbound_unacknowledged", inbound_unacked},
                             {"inbound_overdue", inbound_overdue},
                             {"refused", refused},
                             {"expired", expired},
                             {"missing", missing},
                             {"evidence", evidence->size()},
                             {"time", format_time(driver.now())},
                             {"escalations", escalations_json(driver, nullptr)}});
}

net::HttpResponse metrics_view(const Driver& driver) {
  std::string out;
  const Counters& c = driver.counters();
  const std::vector<Driver::PeerView> peers = driver.peers();  // once, for every series
  out += "# TYPE parley_messages_submitted_total counter\n";
  out += "parley_messages_submitted_total " + std::to_string(c.messages_submitted) + "\n";
  out += "# TYPE parley_messages_received_total counter\n";
  out += "parley_messages_received_total " + std::to_string(c.messages_received) + "\n";
  out += "# TYPE parley_frames_refused_total counter\n";
  out += "parley_frames_refused_total " + std::to_string(c.frames_refused) + "\n";
  out += "# TYPE parley_store_commits_total counter\n";
  out += "parley_store_commits_total " + std::to_string(c.commits) + "\n";
  // Witnessing (witness.h): split views seen as an observer since start, and our
  // submissions of checkpoints to observers.
  out += "# TYPE parley_split_views_total counter\n";
  out += "parley_split_views_total " + std::to_string(driver.split_views_seen()) + "\n";
  const CheckpointSubmitter::Stats w = driver.witness_submissions();
  out += "# TYPE parley_checkpoints_submitted_total counter\n";
  out += "parley_checkpoints_submitted_total " + std::to_string(w.submitted) + "\n";
  out += "# TYPE parley_checkpoints_cosigned_total counter\n";
  out += "parley_checkpoints_cosigned_total " + std::to_string(w.cosigned) + "\n";
  out += "# TYPE parley_store_batches_total counter\n";
  out += "parley_store_batches_total " + std::to_string(c.batches_committed) + "\n";
  const auto per_peer = [&](const std::string& name, const std::string& type, auto value) {
    out += "# TYPE " + name + " " + type + "\n";
    for (const Driver::PeerView& p : peers) {
      out += name + "{peer=\"" + p.party + "\"} " + std::to_string(value(p)) + "\n";
    }
  };
  per_peer("parley_queue_depth", "gauge", [](const Driver::PeerView& p) { return p.stats.queued; });
  per_peer("parley_unacknowledged", "gauge",
           [](const Driver::PeerView& p) { return p.stats.unacknowledged; });
  per_peer("parley_overdue", "gauge", [](const Driver::PeerView& p) { return p.stats.overdue; });
  // The line test (docs/protocol.md "The line test"): lines whose last automatic test the
  // peer's gateway did not answer in time (an alert), and the tests sent and answered.
  per_peer("parley_line_tests_overdue", "gauge", [](const Driver::PeerView& p) {
    return std::count_if(p.stats.tests.begin(), p.stats.tests.end(),
                         [](const core::LineTestView& t) { return t.overdue; });
  });
  per_peer("parley_line_tests_sent_total", "counter",
           [](const Driver::PeerView& p) { return p.stats.tests_sent; });
  per_peer("parley_line_tests_answered_total", "counter",
           [](const Driver::PeerView& p) { return p.stats.tests_answered; });
  // The receiving side (docs/protocol.md "Acknowledgment deadlines"): the peer's messages
  // awaiting our ack, those of them overdue now, and the overdue marks made since start.
  per_peer("parley_inbound_unacknowledged", "gauge",
           [](const Driver::PeerView& p) { return p.stats.inbound_unacknowledged; });
  per_peer("parley_inbound_overdue", "gauge",
           [](const Driver::PeerView& p) { return p.stats.inbound_overdue; });
  per_peer("parley_inbound_overdue_total", "counter",
           [](const Driver::PeerView& p) { return p.stats.inbound_overdue_marked; });
  // Escalations (docs/protocol.md "Escalation"): running now, and alerts raised since start.
  per_peer("parley_escalations", "gauge",
           [](const Driver::PeerView& p) { return p.stats.escalations; });
  per_peer("parley_escalation_alerts_total", "counter",
           [](const Driver::PeerView& p) { return p.stats.escalation_alerts; });
  per_peer("parley_transactions_sent_total", "counter",
           [](const Driver::PeerView& p) { return p.stats.transactions_sent; });
  per_peer("parley_send_failures_total", "counter",
           [](const Driver::PeerView& p) { return p.stats.send_failures; });
  // Refusals (docs/protocol.md "Refusals"): ours refused by the peer, the peer's refused by
  // us, our whole transactions refused, and the current streak of those (>= 2: alert).
  per_peer("parley_messages_refused_total", "counter",
           [](const Driver::PeerView& p) { return p.stats.messages_refused; });
  per_peer("parley_messages_expired_total", "counter",
           [](const Driver::PeerView& p) { return p.stats.messages_expired; });
  per_peer("parley_inbound_refused_total", "counter",
           [](const Driver::PeerView& p) { return p.stats.inbound_refused; });
  per_peer("parley_transactions_refused_total", "counter",
           [](const Driver::PeerView& p) { return p.stats.transactions_refused; });
  per_peer("parley_refusal_streak", "gauge",
           [](const Driver::PeerView& p) { return p.stats.refusal_streak; });
  // 1 while the peer's last heartbeat answer showed a catalog unlike ours (or none we
  // could read); 0 when it is the same; absent before the first answer.
  out += "# TYPE parley_peer_catalog_differs gauge\n";
  for (const Driver::PeerView& p : peers) {
    if (!p.catalog && p.catalog_error.empty()) continue;
    const bool same = p.catalog && p.catalog->same();
    out += "parley_peer_catalog_differs{peer=\"" + p.party + "\"} " + (same ? "0" : "1") + "\n";
  }
  // Inbound seqs missing per line (a gap): the line's series appears while it has one.
  out += "# TYPE parley_inbound_missing gauge\n";
  for (const Driver::PeerView& p : peers) {
    for (const core::LineGap& g : p.stats.gaps) {
      out += "parley_inbound_missing{peer=\"" + p.party + "\",line=\"" + g.line + "\"} " +
             std::to_string(g.seqs.missing()) + "\n";
    }
  }
  // Per path: 1 up, 0 down or unknown (docs/protocol.md "Heartbeats and paths").
  const auto per_path = [&](const std::string& name, auto value) {
    out += "# TYPE " + name + " gauge\n";
    for (const Driver::PeerView& p : peers) {
      for (const PathHealth& path : p.paths) {
        out += name + "{peer=\"" + p.party + "\",address=\"" + path.address + "\"} " +
               std::to_string(value(path)) + "\n";
      }
    }
  };
  per_path("parley_path_up", [](const PathHealth& path) { return path.state == "up" ? 1 : 0; });
  per_path("parley_path_active", [](const PathHealth& path) { return path.active ? 1 : 0; });
  admission_metrics(driver, out);
  net::HttpResponse r;
  r.content_type = "text/plain; version=0.0.4";
  r.body = std::move(out);
  return r;
}

}  // namespace parley::gateway
