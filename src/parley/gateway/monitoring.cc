#include "parley/gateway/monitoring.h"

#include <algorithm>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "parley/core/delivery_histogram.h"
#include "parley/core/verify_transaction.h"
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
  PARLEY_ASSIGN_OR_RETURN(const std::vector<store::ForwardedHead> heads,
                          driver.store().forwarded_heads());
  Json forwarded = Json::array();
  for (const store::ForwardedHead& h : heads) {
    forwarded.push_back({{"origin", h.origin},
                         {"size", h.size},
                         {"forwarder", h.forwarder},
                         {"received", format_time(h.received)}});
  }
  return Json{{"witnessed", witnessed},
              {"split_views", split_views},
              {"alert", !splits.empty()},
              {"cosignatures", cosignatures},
              {"forwarded", forwarded}};
}

// Prometheus text format 0.0.4 (prometheus.io, "Exposition formats"): each family's HELP and
// TYPE lines once, before its samples; label values escaped.
class MetricsText {
 public:
  using Labels = std::vector<std::pair<std::string_view, std::string>>;

  void family(std::string_view name, std::string_view type, std::string_view help) {
    out_ += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
  }
  template <typename Value>
  void sample(std::string_view name, const Labels& labels, Value value) {
    out_ += name;
    if (!labels.empty()) {
      out_ += '{';
      for (std::size_t i = 0; i < labels.size(); ++i) {
        if (i > 0) out_ += ',';
        out_ += fmt::format("{}=\"{}\"", labels[i].first, escaped(labels[i].second));
      }
      out_ += '}';
    }
    out_ += fmt::format(" {}\n", value);
  }
  // One family of one sample without labels.
  template <typename Value>
  void single(std::string_view name, std::string_view type, std::string_view help, Value value) {
    family(name, type, help);
    sample(name, {}, value);
  }
  std::string take() { return std::move(out_); }

 private:
  // A label value: backslash, double quote and line feed escaped.
  static std::string escaped(std::string_view value) {
    std::string out;
    for (const char c : value) {
      if (c == '\\' || c == '"') {
        out += '\\';
        out += c;
      } else if (c == '\n') {
        out += "\\n";
      } else {
        out += c;
      }
    }
    return out;
  }
  std::string out_;
};

// docs/operations.md "Monitoring", docs/protocol.md "Admission".
void admission_metrics(const Driver& driver, MetricsText& m) {
  const net::AdmissionStats federation = driver.federation_admission();
  const net::AdmissionStats api = driver.api_admission();
  m.family("parley_handshakes_refused_total", "counter",
           "TLS handshakes the federation server refused, by reason, since start.");
  for (std::size_t i = 0; i < net::kHandshakeRefusals; ++i) {
    m.sample("parley_handshakes_refused_total",
             {{"reason",
               std::string(net::handshake_refusal_name(static_cast<net::HandshakeRefusal>(i)))}},
             federation.handshakes_refused[i]);
  }
  const auto per_server = [&](std::string_view name, std::string_view type, std::string_view help,
                              auto value) {
    m.family(name, type, help);
    m.sample(name, {{"server", "federation"}}, value(federation));
    m.sample(name, {{"server", "api"}}, value(api));
  };
  per_server("parley_connections_evicted_total", "counter",
             "Unadmitted connections shed for newer ones, since start.",
             [](const net::AdmissionStats& s) { return s.connections_evicted; });
  per_server("parley_connections_refused_total", "counter",
             "New connections closed at once because every slot was admitted, since start.",
             [](const net::AdmissionStats& s) { return s.connections_refused; });
  per_server("parley_requests_timed_out_total", "counter",
             "Requests answered 408 (not whole within the request timeout), since start.",
             [](const net::AdmissionStats& s) { return s.requests_timed_out; });
  per_server("parley_connections_open", "gauge", "Connections open now.",
             [](const net::AdmissionStats& s) { return s.connections_open; });
}

// parley_delivery_seconds: our messages' time from acceptance to a durable receipt, by
// precedence, summed over the peers (core/delivery_histogram.h; cumulative buckets).
void delivery_metrics(const std::vector<Driver::PeerView>& peers, MetricsText& m) {
  m.family("parley_delivery_seconds", "histogram",
           "Time from accepting one of our messages to its receipt being durable here, by "
           "precedence, since start.");
  for (std::size_t p = 0; p < 4; ++p) {
    core::DeliveryHistogram sum;
    for (const Driver::PeerView& peer : peers) {
      const core::DeliveryHistogram& h = peer.stats.delivery[p];
      for (std::size_t i = 0; i < h.counts.size(); ++i) sum.counts[i] += h.counts[i];
      sum.sum_ms += h.sum_ms;
      sum.count += h.count;
    }
    const std::string precedence(wire::precedence_name(static_cast<wire::Precedence>(p)));
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < core::kDeliveryBucketsMs.size(); ++i) {
      cumulative += sum.counts[i];
      m.sample("parley_delivery_seconds_bucket",
               {{"precedence", precedence},
                {"le", fmt::format("{}", static_cast<double>(core::kDeliveryBucketsMs[i]) / 1000)}},
               cumulative);
    }
    m.sample("parley_delivery_seconds_bucket", {{"precedence", precedence}, {"le", "+Inf"}},
             sum.count);
    m.sample("parley_delivery_seconds_sum", {{"precedence", precedence}},
             static_cast<double>(sum.sum_ms) / 1000);
    m.sample("parley_delivery_seconds_count", {{"precedence", precedence}}, sum.count);
  }
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
           {"forked", p.stats.forked()},
           {"active", path.active},
           {"last_contact", optional_time(path.last_contact)},
           {"last_error", path.last_error.empty() ? Json(nullptr) : Json(path.last_error)},
           {"last_heartbeat", signed_contact_json(path.last_heartbeat)}});
    }
    Json tests = Json::array();
    for (const core::LineTestView& t : p.stats.tests) tests.push_back(line_test_json(t));
    peers.push_back(
        {{"party", p.party},
         {"federation", p.federation},
         {"paths", paths},
         {"queued", p.stats.queued},
         {"refused_backlog", p.refused_backlog},
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
         {"forked", p.stats.forked()},
         {"fork_reason", p.stats.forked() ? Json(p.stats.fork_reason()) : Json(nullptr)},
         {"recovering", p.stats.recovering.empty() ? Json(nullptr) : Json(p.stats.recovering)},
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
                             {"backlog_limit", driver.home().config.backlog_limit},
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
  MetricsText m;
  const Counters& c = driver.counters();
  const std::vector<Driver::PeerView> peers = driver.peers();  // once, for every series
  m.single("parley_messages_submitted_total", "counter",
           "Messages and acks of our principals accepted (stored), since start.",
           c.messages_submitted);
  m.single("parley_messages_received_total", "counter",
           "Messages of the peers received and stored, since start.", c.messages_received);
  m.single("parley_store_commits_total", "counter",
           "Group commits (one durable write each), since start.", c.commits);
  m.single("parley_store_event_commits_total", "counter",
           "Durable writes of events alone (events no group commit carried), since start.",
           driver.event_commits());
  m.single("parley_store_batches_total", "counter", "Batches those commits carried, since start.",
           c.batches_committed);
  m.single("parley_verify_threads", "gauge",
           "Threads checking peers' signatures and seals ahead of the gateway's own thread "
           "([federation] verify_threads); 0: none.",
           driver.verify_threads());
  m.single("parley_prechecks_total", "counter",
           "Signature checks and seal openings handed to those threads, since start.",
           driver.prechecks());
  // Witnessing (witness.h): split views seen as an observer since start, and our
  // submissions of checkpoints to observers.
  m.single("parley_split_views_total", "counter",
           "Split views this gateway saw as an observer, since start.", driver.split_views_seen());
  const CheckpointSubmitter::Stats w = driver.witness_submissions();
  m.single("parley_checkpoints_submitted_total", "counter",
           "Checkpoints of our logs submitted to observers, since start.", w.submitted);
  m.single("parley_checkpoints_cosigned_total", "counter",
           "Cosignatures observers answered, since start.", w.cosigned);
  const HeadForwarder::Stats f = driver.forwarded_heads();
  m.single("parley_heads_forwarded_total", "counter",
           "Heads of the peers' logs we countersigned that observers accepted, since start.",
           f.forwarded);
  // The peer's transactions we refused, by why (core/verify_transaction.h FrameRefusal).
  m.family("parley_frames_refused_total", "counter",
           "Transactions of the peer refused, by reason, since start.");
  for (const Driver::PeerView& p : peers) {
    for (std::size_t i = 0; i < core::kFrameRefusals; ++i) {
      m.sample(
          "parley_frames_refused_total",
          {{"peer", p.party},
           {"reason", std::string(core::frame_refusal_name(static_cast<core::FrameRefusal>(i)))}},
          p.stats.frames_refused_by[i]);
    }
  }
  const auto per_peer = [&](std::string_view name, std::string_view type, std::string_view help,
                            auto value) {
    m.family(name, type, help);
    for (const Driver::PeerView& p : peers) m.sample(name, {{"peer", p.party}}, value(p));
  };
  per_peer("parley_queue_depth", "gauge", "Our messages to the peer not yet receipted.",
           [](const Driver::PeerView& p) { return p.stats.queued; });
  m.single("parley_backlog_limit", "gauge",
           "Queued messages for one peer at which new ROUTINE submissions to it are refused "
           "(503); 0: no bound.",
           driver.home().config.backlog_limit);
  per_peer("parley_submissions_refused_backlog_total", "counter",
           "ROUTINE submissions to the peer refused with 503 (its queue at the backlog limit), "
           "since start.",
           [](const Driver::PeerView& p) { return p.refused_backlog; });
  const Time now = driver.now();
  per_peer("parley_queue_oldest_age_seconds", "gauge",
           "Age of the oldest of our messages to the peer not yet receipted; 0 if none.",
           [now](const Driver::PeerView& p) {
             if (!p.stats.oldest_queued) return 0.0;
             const auto age = std::chrono::duration_cast<std::chrono::milliseconds>(
                 now - *p.stats.oldest_queued);
             return std::max(0.0, static_cast<double>(age.count()) / 1000);
           });
  delivery_metrics(peers, m);
  per_peer("parley_unacknowledged", "gauge",
           "Our messages to the peer not acknowledged yet, receipted or not.",
           [](const Driver::PeerView& p) { return p.stats.unacknowledged; });
  per_peer("parley_overdue", "gauge", "Of them, past their acknowledgment deadline.",
           [](const Driver::PeerView& p) { return p.stats.overdue; });
  // The line test (docs/protocol.md "The line test"): lines whose last automatic test the
  // peer's gateway did not answer in time (an alert), and the tests sent and answered.
  per_peer("parley_line_tests_overdue", "gauge",
           "Lines whose last automatic test the peer's gateway did not answer in time.",
           [](const Driver::PeerView& p) {
             return std::count_if(p.stats.tests.begin(), p.stats.tests.end(),
                                  [](const core::LineTestView& t) { return t.overdue; });
           });
  per_peer("parley_line_tests_sent_total", "counter",
           "Automatic line tests sent to the peer, since start.",
           [](const Driver::PeerView& p) { return p.stats.tests_sent; });
  per_peer("parley_line_tests_answered_total", "counter",
           "Automatic line tests the peer's gateway answered, since start.",
           [](const Driver::PeerView& p) { return p.stats.tests_answered; });
  // The receiving side (docs/protocol.md "Acknowledgment deadlines"): the peer's messages
  // awaiting our ack, those of them overdue now, and the overdue marks made since start.
  per_peer("parley_inbound_unacknowledged", "gauge",
           "The peer's messages awaiting an acknowledgment of ours.",
           [](const Driver::PeerView& p) { return p.stats.inbound_unacknowledged; });
  per_peer("parley_inbound_overdue", "gauge", "Of them, past their acknowledgment deadline.",
           [](const Driver::PeerView& p) { return p.stats.inbound_overdue; });
  per_peer("parley_inbound_overdue_total", "counter",
           "The peer's messages marked overdue here, since start.",
           [](const Driver::PeerView& p) { return p.stats.inbound_overdue_marked; });
  // Escalations (docs/protocol.md "Escalation"): running now, and alerts raised since start.
  per_peer("parley_escalations", "gauge", "Escalations running now, both sides.",
           [](const Driver::PeerView& p) { return p.stats.escalations; });
  per_peer("parley_escalation_alerts_total", "counter", "Escalation alerts raised, since start.",
           [](const Driver::PeerView& p) { return p.stats.escalation_alerts; });
  per_peer("parley_transactions_sent_total", "counter",
           "Transactions sent to the peer, resends included, since start.",
           [](const Driver::PeerView& p) { return p.stats.transactions_sent; });
  per_peer("parley_send_failures_total", "counter",
           "Transactions that got no answer (link or timeout), since start.",
           [](const Driver::PeerView& p) { return p.stats.send_failures; });
  // Refusals (docs/protocol.md "Refusals"): ours refused by the peer, the peer's refused by
  // us, our whole transactions refused, and the current streak of those (>= 2: alert).
  per_peer("parley_messages_refused_total", "counter",
           "Our messages the peer refused (final), since start.",
           [](const Driver::PeerView& p) { return p.stats.messages_refused; });
  per_peer("parley_messages_expired_total", "counter",
           "Our messages whose expiry passed before a receipt, since start.",
           [](const Driver::PeerView& p) { return p.stats.messages_expired; });
  per_peer("parley_inbound_refused_total", "counter",
           "The peer's messages we refused, since start.",
           [](const Driver::PeerView& p) { return p.stats.inbound_refused; });
  // The peer's transactions that waited for a batch being stored that holds an entry they
  // carry (docs/protocol.md "Transaction window"), and those answered 503 with 64 waiting.
  per_peer("parley_transactions_held_total", "counter",
           "The peer's transactions that waited for a batch being stored holding an entry they "
           "carry, since start.",
           [](const Driver::PeerView& p) { return p.stats.transactions_held; });
  per_peer("parley_transactions_held_refused_total", "counter",
           "The peer's transactions answered 503 because 64 were waiting so, since start.",
           [](const Driver::PeerView& p) { return p.stats.transactions_held_refused; });
  per_peer("parley_transactions_refused_total", "counter",
           "Our whole transactions the peer refused, since start.",
           [](const Driver::PeerView& p) { return p.stats.transactions_refused; });
  per_peer("parley_peer_forked", "gauge",
           "1 while our log and the peer's cannot be reconciled (a fork, or a store gone back "
           "to an older state): an alarm; 0 otherwise.",
           [](const Driver::PeerView& p) { return std::uint64_t{p.stats.forked() ? 1U : 0U}; });
  per_peer("parley_refusal_streak", "gauge",
           "Whole refusals of our transactions in a row now (2 or more: an alert).",
           [](const Driver::PeerView& p) { return p.stats.refusal_streak; });
  // 1 while the peer's last heartbeat answer showed a catalog unlike ours (or none we
  // could read); 0 when it is the same; absent before the first answer.
  m.family("parley_peer_catalog_differs", "gauge",
           "1 while the peer's catalog differs from ours (or is unreadable), 0 when the same.");
  for (const Driver::PeerView& p : peers) {
    if (!p.catalog && p.catalog_error.empty()) continue;
    const bool same = p.catalog && p.catalog->same();
    m.sample("parley_peer_catalog_differs", {{"peer", p.party}}, same ? 0 : 1);
  }
  // Inbound seqs missing per line (a gap): the line's series appears while it has one.
  m.family("parley_inbound_missing", "gauge",
           "Seqs of the peer's messages on the line not received yet below the newest.");
  for (const Driver::PeerView& p : peers) {
    for (const core::LineGap& g : p.stats.gaps) {
      m.sample("parley_inbound_missing", {{"peer", p.party}, {"line", g.line}}, g.seqs.missing());
    }
  }
  // Per path: 1 up, 0 down or unknown (docs/protocol.md "Heartbeats and paths").
  const auto per_path = [&](std::string_view name, std::string_view help, auto value) {
    m.family(name, "gauge", help);
    for (const Driver::PeerView& p : peers) {
      for (const PathHealth& path : p.paths) {
        m.sample(name, {{"peer", p.party}, {"address", path.address}}, value(path));
      }
    }
  };
  per_path("parley_path_up", "1 while the path to the peer answers heartbeats, else 0.",
           [](const PathHealth& path) { return path.state == "up" ? 1 : 0; });
  per_path("parley_path_active", "1 for the path that carries the traffic to the peer now.",
           [](const PathHealth& path) { return path.active ? 1 : 0; });
  admission_metrics(driver, m);
  net::HttpResponse r;
  r.content_type = "text/plain; version=0.0.4";
  r.body = m.take();
  return r;
}

}  // namespace parley::gateway
