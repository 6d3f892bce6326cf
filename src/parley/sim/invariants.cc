// The invariants the simulation checks (docs/simulation.md lists them): some as the run goes
// (an ordering the durability rules forbid is caught the moment it happens), the rest on
// the stores once the cluster is quiescent.
#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <tuple>

#include "parley/base/bytes.h"
#include "parley/base/json.h"
#include "parley/crypto/crypto.h"
#include "parley/sim/cluster.h"
#include "parley/store/transcript_export.h"

namespace parley::sim {
namespace {

// What the invariants need of a receipt, verified with the signer's pinned key.
struct ReceiptFacts {
  std::string tx;
  std::string from;  // the receiver, who signed
  std::string to;    // the sender
  std::vector<std::string> ids;
};

constexpr std::string_view kReceiptDomains[] = {
    "application/vnd.parley.receipt.v2+json",  // ledger/transcript.h, the countersignature
    "application/vnd.parley.receipt.v1+json",  // the receipt before the transcript
};

// An independent reading of a receipt (docs/protocol.md): a DSSE object {"payload", "sig",
// "key"} whose signature by the receiver over crypto::pae(domain, payload) verifies (with one
// of `signers`, the keys of the receiver's chain: a party that rotated signs with the key its
// peer pinned, issue 17), and
// whose payload names the transaction, both parties and the ids received. Written against
// the format rather than with wire's or ledger's parser, so that the check does not share
// the code it checks, and so that it reads both receipt versions.
Result<ReceiptFacts> open_receipt_facts(std::string_view text,
                                        const std::vector<crypto::VerifyKey>& signers,
                                        std::string_view signer_party) {
  PARLEY_ASSIGN_OR_RETURN(const json::Json object, json::parse_object(text));
  PARLEY_ASSIGN_OR_RETURN(const std::string payload_b64, json::get_string(object, "payload"));
  PARLEY_ASSIGN_OR_RETURN(const std::string sig_b64, json::get_string(object, "sig"));
  PARLEY_ASSIGN_OR_RETURN(const std::string key, json::get_string(object, "key"));
  if (key != signer_party) {
    return Status::unauthenticated("signed by '" + key + "', not '" + std::string(signer_party) +
                                   "'");
  }
  PARLEY_ASSIGN_OR_RETURN(const Bytes payload, base64_decode(payload_b64));
  PARLEY_ASSIGN_OR_RETURN(const Bytes sig, base64_decode(sig_b64));
  Status verified = Status::unauthenticated("no receipt domain");
  for (const crypto::VerifyKey& signer : signers) {
    for (std::string_view domain : kReceiptDomains) {
      verified = crypto::verify(signer, domain, payload, sig);
      if (verified.is_ok()) break;
    }
    if (verified.is_ok()) break;
  }
  PARLEY_RETURN_IF_ERROR(verified);
  PARLEY_ASSIGN_OR_RETURN(const json::Json body, json::parse_object(to_string(payload)));
  ReceiptFacts facts;
  PARLEY_ASSIGN_OR_RETURN(facts.tx, json::get_string(body, "tx"));
  PARLEY_ASSIGN_OR_RETURN(facts.from, json::get_string(body, "from"));
  PARLEY_ASSIGN_OR_RETURN(facts.to, json::get_string(body, "to"));
  PARLEY_ASSIGN_OR_RETURN(const json::Json ids, json::get_array(body, "ids"));
  for (const json::Json& id : ids) {
    if (!id.is_string()) return Status::invalid_argument("field 'ids': not all strings");
    facts.ids.push_back(id.get_ref<const std::string&>());
  }
  if (facts.from != signer_party) {
    return Status::invalid_argument("from '" + facts.from + "', signed by '" +
                                    std::string(signer_party) + "'");
  }
  return facts;
}

bool contains(const std::vector<std::string>& v, const std::string& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

// The `created` of the evidence.unacknowledged entry about `id` among `records` (the batch
// that marks `id` overdue holds one: the time the gateway observed the deadline pass).
std::optional<Time> evidence_time(const std::vector<core::Record>& records, const std::string& id) {
  for (const core::Record& record : records) {
    const auto* put = std::get_if<core::PutMessage>(&record);
    if (put != nullptr && put->message.type == core::kEvidenceUnacknowledgedType &&
        put->message.direction == core::Direction::kOutbound && put->message.reply_to == id) {
      return put->message.created;
    }
  }
  return std::nullopt;
}

}  // namespace

// Records are the store's business; the sim looks only at the message states it tracks
// and lets every other kind of record through untouched.
void Cluster::observe_applied(Gateway& g, const std::vector<core::Record>& records) {
  observe_evidence(g, records);
  observe_tests(g, records);
  observe_flash_order(g, records);
  observe_rotations(g, records);
  for (const core::Record& record : records) {
    if (const auto* put = std::get_if<core::PutMessage>(&record)) watch_alerts(g, put->message);
    if (const auto* update = std::get_if<core::UpdateMessage>(&record)) {
      observe_alert_update(g, *update);
    }
    if (const auto* put = std::get_if<core::PutMessage>(&record)) {
      const core::MessageRecord& m = put->message;
      if (m.direction != core::Direction::kOutbound || !m.needs_ack) continue;
      Tracked t;
      t.sender = g.index;
      t.deadline = m.ack_deadline;
      t.stored_true = now_;
      t.stored_wall = wall(g);
      tracked_[m.id] = t;
      unresolved_[g.index].insert(m.id);
      // Looked at again just after the moment it must be marked by (events of the gateway
      // look too, and so does the end of the run).
      const int index = g.index;
      // Background: a look does not keep the run going (automatic tests come for ever); the
      // node's own deadline timer is work, and the end of the run looks once more.
      at(
          now_ + (escalation_bound(g, t) - wall(g)) + Duration(1),
          [this, index] { check_escalations(*gateways_[index]); }, true);
    } else if (const auto* update = std::get_if<core::UpdateMessage>(&record)) {
      auto it = tracked_.find(update->id);
      if (it == tracked_.end() || it->second.sender != g.index) continue;
      Tracked& t = it->second;
      if (update->state == core::MessageState::kAcknowledged && !t.acked) {
        t.acked = true;
        if (!t.overdue && !t.reported && wall(g) > escalation_bound(g, t)) {
          t.reported = true;
          violation("escalation-late", g.party + " message " + update->id + " (deadline " +
                                           format_time(t.deadline) + ") was acknowledged at " +
                                           format_time(wall(g)) +
                                           " without being marked overdue first");
        }
        unresolved_[g.index].erase(update->id);
      } else if (update->state == core::MessageState::kRefused ||
                 update->state == core::MessageState::kExpired ||
                 update->state == core::MessageState::kCancelled) {
        // Final: the peer refused it (or it expired or was cancelled first), so no escalation
        // is due.
        t.refused = true;
        unresolved_[g.index].erase(update->id);
      } else if (update->state == core::MessageState::kOverdue && !t.overdue) {
        t.overdue = true;
        if (t.acked) {
          violation("overdue-after-ack", g.party + " marked message " + update->id +
                                             " overdue after it was acknowledged");
        }
        // When the gateway marked it: the observed time of the evidence entry its batch holds
        // (the batch is seen here when its commit completes, and the gateway's clock may have
        // jumped since), else the gateway's clock now.
        const Time marked = evidence_time(records, update->id).value_or(wall(g));
        if (marked < t.deadline) {
          violation("escalation-early", g.party + " marked message " + update->id + " overdue at " +
                                            format_time(marked) + ", before its deadline " +
                                            format_time(t.deadline));
        }
        if (!t.reported && marked > escalation_bound(g, t)) {
          t.reported = true;
          violation("escalation-late", g.party + " marked message " + update->id + " overdue at " +
                                           format_time(marked) + ", deadline " +
                                           format_time(t.deadline));
        }
        unresolved_[g.index].erase(update->id);
      }
    }
  }
}

void Cluster::observe_flash_order(Gateway& g, const std::vector<core::Record>& records) {
  for (const core::Record& record : records) {
    const auto* put = std::get_if<core::PutMessage>(&record);
    if (put == nullptr) continue;
    const core::MessageRecord& m = put->message;
    const bool flash = m.precedence == core::Precedence::kFlash;
    if (m.direction == core::Direction::kOutbound) {
      // Accepted (durable) here: a FLASH the receiver must take before later ROUTINE ones.
      if (flash) flash_unstored_[{g.index, m.line}].insert(m.seq);
      continue;
    }
    const LineKey key{index_of(m.from.party), m.line};
    if (flash) {
      flash_unstored_[key].erase(m.seq);
      flash_stored_.insert({key, m.seq});
    } else if (m.precedence == core::Precedence::kRoutine) {
      // Every FLASH accepted before it (a lower seq on the line) and not stored here yet.
      const auto unstored = flash_unstored_.find(key);
      if (unstored == flash_unstored_.end()) continue;
      for (auto f = unstored->second.begin(); f != unstored->second.end() && *f < m.seq; ++f) {
        flash_suspects_.push_back({key, *f, m.id, m.seq});
      }
    }
  }
}

void Cluster::check_flash_order() {
  for (const FlashSuspect& s : flash_suspects_) {
    // A FLASH that never arrived (expired, refused before it left) held nothing back.
    if (flash_stored_.count({s.line, s.flash_seq}) == 0) continue;
    violation("flash-behind-routine",
              gateways_[s.line.first]->party + "'s FLASH seq " + std::to_string(s.flash_seq) +
                  " on line " + s.line.second + " was stored by its receiver after ROUTINE " +
                  s.routine + " (seq " + std::to_string(s.routine_seq) + "), accepted after it");
  }
}

// The latest wall time at which `t` may still be unmarked: one tick after its deadline, or
// after the gateway's last start if it was down at the deadline, or after it was stored if
// a forward clock jump between its submission and its write put the deadline behind it
// (nothing can mark a message before it is stored), plus every forward clock jump since it
// was stored (the timer waits in true time, as a steady_timer does).
Time Cluster::escalation_bound(const Gateway& g, const Tracked& t) const {
  Time bound = std::max({t.deadline, g.started_wall, t.stored_wall}) + scenario_.timer_tick;
  for (const auto& [when, amount] : g.forward_jumps) {
    if (when >= t.stored_true) bound += amount;
  }
  return bound;
}

// Issue 12: every message either side stores that asks for an ack (not an ack, not a
// translation), but refusals, must be escalated there
// (a kEscalation notice naming it) within one timer tick of its deadline, unacknowledged.
void Cluster::watch_alerts(Gateway& g, const core::MessageRecord& m) {
  if (!m.needs_ack || m.state == core::MessageState::kRefused) return;
  AlertWatch w;
  w.t.sender = g.index;
  w.t.deadline = m.ack_deadline;
  w.t.stored_true = now_;
  w.t.stored_wall = wall(g);
  if (!alert_watch_.emplace(std::make_pair(g.index, m.id), w).second) return;
  alert_open_[g.index].insert(m.id);
  const int index = g.index;
  at(
      now_ + (escalation_bound(g, w.t) - wall(g)) + Duration(1),
      [this, index] { check_escalations(*gateways_[index]); }, true);  // background, as above
}

void Cluster::observe_alert_update(Gateway& g, const core::UpdateMessage& update) {
  const auto it = alert_watch_.find({g.index, update.id});
  if (it == alert_watch_.end()) return;
  AlertWatch& w = it->second;
  if (update.state == core::MessageState::kAcknowledged && !w.acked_true) {
    w.acked_true = now_;
    alert_open_[g.index].erase(update.id);
  } else if (update.state == core::MessageState::kRefused ||
             update.state == core::MessageState::kExpired ||
             update.state == core::MessageState::kCancelled) {
    w.final = true;
    alert_open_[g.index].erase(update.id);
  }
}

// Issue 12, silence as evidence: a gateway writes one evidence.unacknowledged entry for each
// message it holds whose deadline passed unacknowledged there, in the batch that marks it
// overdue, so the escalation-late invariant (marked within a tick of the deadline) bounds it
// too; it names a message that really was unacknowledged then (no ack durable there before
// it, and its observed time not before the deadline), and is never written twice.
void Cluster::observe_evidence(Gateway& g, const std::vector<core::Record>& records) {
  for (const core::Record& record : records) {
    const auto* put = std::get_if<core::PutMessage>(&record);
    if (put != nullptr && put->message.type == core::kStageShownType &&
        put->message.direction == core::Direction::kOutbound) {
      observe_shown(g, put->message);
      continue;
    }
    // Every ack we write follows our stage.shown entry of its message (in its batch or before).
    if (put != nullptr && put->message.type == core::kAckType &&
        put->message.direction == core::Direction::kOutbound) {
      const std::string target = put->message.reply_to.value_or("");
      // The gateway's own answer to an automatic test: no person was shown it.
      if (shown_of_.count({g.index, target}) == 0 && !automatic_test_at(g, target)) {
        violation("acked-not-shown",
                  g.party + " acknowledged " + target + " without its stage shown");
      }
      continue;
    }
    if (put == nullptr || put->message.type != core::kEvidenceUnacknowledgedType ||
        put->message.direction != core::Direction::kOutbound) {
      continue;
    }
    const core::MessageRecord& m = put->message;
    ++outcome_.stats.evidence;
    const std::string target = m.reply_to.value_or("");
    if (++evidence_of_[{g.index, target}] > 1) {
      violation("evidence-twice", g.party + " wrote evidence of " + target + " again");
    }
    const auto w = alert_watch_.find({g.index, target});
    if (w == alert_watch_.end()) {
      violation("evidence-phantom", g.party + " wrote evidence of " + target + ", a message it " +
                                        "does not hold awaiting an ack");
      continue;
    }
    if (w->second.acked_true) {
      violation("evidence-after-ack", g.party + " wrote evidence of " + target + " " +
                                          format_duration(now_ - *w->second.acked_true) +
                                          " after its ack was durable");
    }
    if (m.created < w->second.t.deadline) {
      violation("evidence-early", g.party + " observed " + target + " unacknowledged at " +
                                      format_time(m.created) + ", before its deadline " +
                                      format_time(w->second.t.deadline));
    }
  }
  for (const core::Record& record : records) {
    const auto* update = std::get_if<core::UpdateMessage>(&record);
    // An overdue message updated again (e.g. receipted while overdue) had its evidence then.
    if (update == nullptr || update->state != core::MessageState::kOverdue ||
        evidence_of_.count({g.index, update->id}) > 0 ||
        alert_watch_.count({g.index, update->id}) == 0) {
      continue;
    }
    violation("evidence-missing",
              g.party + " marked " + update->id + " overdue without writing its evidence");
  }
}

// Issue 12, the line test (core/line_test.h): nothing is ever sent on a line whose peer is not
// pinned (sent-without-peer); each automatic test a gateway stores is watched until the
// peer's ack of it is durable there.
void Cluster::observe_tests(Gateway& g, const std::vector<core::Record>& records) {
  for (const core::Record& record : records) {
    if (const auto* put = std::get_if<core::PutMessage>(&record)) {
      const core::MessageRecord& m = put->message;
      if (m.direction != core::Direction::kOutbound) continue;
      if (m.line == kUnpinnedLine) {
        violation("sent-without-peer",
                  g.party + " wrote " + m.type + " " + m.id + " on " + m.line + ", unpinned");
      }
      if (!core::automatic_test_sequence(m.type, m.content.body_json)) continue;
      if (tests_.emplace(m.id, TestWatch{g.index, now_, std::nullopt}).second) {
        ++outcome_.stats.tests_sent;
      }
    } else if (const auto* update = std::get_if<core::UpdateMessage>(&record)) {
      const auto it = tests_.find(update->id);
      if (it == tests_.end() || it->second.sender != g.index || it->second.answered_true ||
          update->state != core::MessageState::kAcknowledged) {
        continue;
      }
      it->second.answered_true = now_;
      ++outcome_.stats.tests_answered;
    }
  }
}

bool Cluster::automatic_test_at(Gateway& g, const std::string& id) {
  Result<std::optional<core::MessageRecord>> stored = g.store->get_message(id);
  return stored.is_ok() && stored->has_value() &&
         (*stored)->direction == core::Direction::kInbound &&
         core::automatic_test_sequence((*stored)->type, (*stored)->content.body_json);
}

// At the end: every automatic test was answered (the run is quiescent, the network healed),
// and, where the scenario says so, within its deadline unless a scripted partition touched
// it (the link was down, or had just healed and the retry backoff still held it).
void Cluster::check_tests() {
  constexpr Duration kHealing = std::chrono::seconds(15);
  for (const auto& [id, t] : tests_) {
    const std::string& party = gateways_[t.sender]->party;
    if (!t.answered_true) {
      violation("line-test-unanswered", party + " automatic test " + id + " never answered");
      continue;
    }
    if (!scenario_.tests_answered_on_time) continue;
    // Not the structured binding inside the lambda (Clang 14 cannot capture one).
    const Time stored = t.stored_true;
    const Time due = stored + scenario_.test_answer_within;
    const bool touched = std::any_of(
        scenario_.partitions.begin(), scenario_.partitions.end(), [&](const ScriptedPartition& p) {
          return stored < start_ + p.until + kHealing && due > start_ + p.from;
        });
    if (!touched && *t.answered_true > due) {
      violation("line-test-late", party + " automatic test " + id + " answered " +
                                      format_duration(*t.answered_true - t.stored_true) +
                                      " after it was sent, deadline " +
                                      format_duration(scenario_.test_answer_within));
    }
  }
}

// The stage "shown": written once per message by its receiver, for a message it holds from
// the peer, before an ack of it was durable there.
void Cluster::observe_shown(Gateway& g, const core::MessageRecord& m) {
  ++outcome_.stats.shown;
  const std::string target = m.reply_to.value_or("");
  if (++shown_of_[{g.index, target}] > 1) {
    violation("shown-twice", g.party + " wrote the stage shown of " + target + " again");
  }
  const auto w = alert_watch_.find({g.index, target});
  if (w == alert_watch_.end() || !received_by(g, target)) {
    violation("shown-phantom", g.party + " wrote the stage shown of " + target +
                                   ", no message of the peer's it holds");
    return;
  }
  if (w->second.acked_true) {
    violation("shown-after-ack",
              g.party + " wrote the stage shown of " + target + " after its ack was durable");
  }
}

bool Cluster::received_by(Gateway& g, const std::string& id) {
  Result<std::optional<core::MessageRecord>> stored = g.store->get_message(id);
  return stored.is_ok() && stored->has_value() && (*stored)->direction == core::Direction::kInbound;
}

// An escalation alert: never before the deadline, never a tick after an ack became durable.
void Cluster::observe_alert(Gateway& g, const core::Notice& n) {
  ++outcome_.stats.escalation_alerts;
  const auto it = alert_watch_.find({g.index, n.message_id});
  if (it == alert_watch_.end()) return;
  AlertWatch& w = it->second;
  w.alerted = true;
  alert_open_[g.index].erase(n.message_id);
  if (wall(g) < w.t.deadline) {
    violation("escalation-alert-early", g.party + " alerted for " + n.message_id + " at " +
                                            format_time(wall(g)) + ", before its deadline " +
                                            format_time(w.t.deadline));
  }
  if (w.acked_true && now_ > *w.acked_true + scenario_.timer_tick) {
    violation("escalation-after-ack", g.party + " still alerted for " + n.message_id + " " +
                                          format_duration(now_ - *w.acked_true) +
                                          " after its ack was durable there");
  }
}

void Cluster::check_escalations(Gateway& g) {
  if (!g.up) return;
  std::set<std::string>& waiting = alert_open_[g.index];
  for (auto it = waiting.begin(); it != waiting.end();) {
    const AlertWatch& w = alert_watch_.at({g.index, *it});
    if (wall(g) > escalation_bound(g, w.t)) {
      violation("escalation-alert-late", g.party + " message " + *it + " (deadline " +
                                             format_time(w.t.deadline) +
                                             ") has alerted nobody at " + format_time(wall(g)));
      it = waiting.erase(it);
    } else {
      ++it;
    }
  }
  std::set<std::string>& open = unresolved_[g.index];
  for (auto it = open.begin(); it != open.end();) {
    Tracked& t = tracked_.at(*it);
    if (wall(g) > escalation_bound(g, t)) {
      t.reported = true;
      violation("escalation-late", g.party + " message " + *it + " (deadline " +
                                       format_time(t.deadline) + ") is not marked overdue at " +
                                       format_time(wall(g)));
      it = open.erase(it);
    } else {
      ++it;
    }
  }
}

namespace {
using namespace std::chrono_literals;
// A path cut this long is down for any monitor (core/paths.h: 3 missed heartbeats, 1 s apart).
constexpr Duration kDownAfter = 10s;
// A path with no failure for this long cannot be held down by failed traffic any more:
// PathConfig::traffic_retry_after (30 s), then answers_to_up (2) heartbeats a second apart,
// and a heartbeat's timeout of slack (seed 9027 came back up 31.5 s after its last failure).
constexpr Duration kCleanFor = 35s;
}  // namespace

void Cluster::seen_on(Gateway& g, int to, core::PathIndex path, bool answered) {
  Gateway::PathSeen& seen = g.seen[{to, path}];
  if (!answered) {
    seen.last_failure = now_;
    return;
  }
  seen.answers.push_back(now_);
  if (seen.answers.size() > 2) seen.answers.erase(seen.answers.begin());
}

// Judged on what the network truly did, not on what the node believes: the path was cut
// kDownAfter ago, and another path answered twice lately and failed nothing for kCleanFor.
void Cluster::check_path_choice(const Gateway& g, int to, core::PathIndex path) {
  const Partition* cut = partition(g.index, to, path);
  if (cut == nullptr || now_ - cut->since < kDownAfter) return;
  for (const auto& [key, seen] : g.seen) {
    if (key.first != to || key.second == path || partition(g.index, to, key.second)) continue;
    const bool clean = !seen.last_failure || now_ - *seen.last_failure > kCleanFor;
    const bool answering = seen.answers.size() == 2 && now_ - seen.answers.front() < kDownAfter;
    if (clean && answering && now_ - g.started_true > kCleanFor) {
      violation("failover-late", g.party + " sent a transaction to " + gateways_[to]->party +
                                     " on path " + std::to_string(path) + ", cut for " +
                                     format_duration(now_ - cut->since) + ", while path " +
                                     std::to_string(key.second) + " answers");
    }
  }
}

// DESIGN.md: a receipt is signed only after the batch is durably stored on the receiver.
void Cluster::check_receipt_durable(Gateway& receiver, const std::string& body, int sender) {
  Result<ReceiptFacts> receipt = open_receipt_facts(body, chain_keys(receiver), receiver.party);
  if (!receipt.is_ok()) {
    violation("receipt-invalid",
              receiver.party + " answered " + gateways_[sender]->party +
                  " with a receipt that does not verify: " + receipt.status().message());
    return;
  }
  for (const std::string& id : receipt->ids) {
    if (const auto rotation = rotation_ids_.find(id); rotation != rotation_ids_.end()) {
      check_rotation_durable(receiver, id, rotation->second);  // an entry, not a message
      continue;
    }
    ++outcome_.stats.receipts_signed[id];
    Result<std::optional<core::MessageRecord>> stored = receiver.store->get_message(id);
    if (!stored.is_ok() || !stored->has_value()) {
      violation("receipt-before-durable",
                receiver.party + " signed a receipt for " + id + " before storing it");
    }
  }
}

void Cluster::check_final() {
  const std::size_t n = gateways_.size();
  std::vector<std::map<std::string, core::MessageRecord>> held(n);
  for (std::size_t i = 0; i < n; ++i) {
    Gateway& g = *gateways_[i];
    if (!g.up) {
      violation("not-quiescent", g.party + " is down at the end of the run");
      return;
    }
    store::MessageQuery all;
    all.include_acks = true;
    all.limit = 1'000'000;
    Result<std::vector<core::MessageRecord>> listed = g.store->list_messages(all);
    if (!listed.is_ok()) {
      violation("store-failed", g.party + ": " + listed.status().to_string());
      return;
    }
    // Unique by id and by (line, direction, seq): nothing is stored twice.
    std::set<std::tuple<std::string, int, std::uint64_t>> keys;
    std::map<std::string, std::vector<std::uint64_t>> outbound_seqs;
    for (core::MessageRecord& m : *listed) {
      if (!keys.insert({m.line, static_cast<int>(m.direction), m.seq}).second) {
        violation("duplicate-delivery",
                  g.party + " holds two " + std::string(core::direction_name(m.direction)) +
                      " messages at " + m.line + " seq " + std::to_string(m.seq));
      }
      if (m.direction == core::Direction::kOutbound) outbound_seqs[m.line].push_back(m.seq);
      const std::string id = m.id;
      if (!held[i].emplace(id, std::move(m)).second) {
        violation("duplicate-delivery", g.party + " holds message " + id + " twice");
      }
    }
    // Per line, our sequence numbers are 1..n: none skipped, none reused.
    for (auto& [line, seqs] : outbound_seqs) {
      std::sort(seqs.begin(), seqs.end());
      for (std::size_t k = 0; k < seqs.size(); ++k) {
        if (seqs[k] != k + 1) {
          violation("seq-gap", g.party + " line " + line + ": outbound seq " +
                                   std::to_string(seqs[k]) + " where " + std::to_string(k + 1) +
                                   " was due");
          break;
        }
      }
    }
  }

  for (std::size_t i = 0; i < n; ++i) {
    Gateway& g = *gateways_[i];
    for (const auto& [id, m] : held[i]) {
      const int p = index_of(m.peer);
      const Gateway& peer = *gateways_[p];
      if (m.direction == core::Direction::kInbound) {
        // Per line, the inbound messages are exactly the sender's stored outbound ones.
        auto theirs = held[p].find(id);
        if (theirs == held[p].end() || theirs->second.direction != core::Direction::kOutbound) {
          violation("phantom", g.party + " holds inbound " + id + " that " + peer.party +
                                   " never stored as sent");
        }
        continue;
      }
      // Every message its sender stored (Accepted or not: the core resends what it finds in
      // the store) is stored once by the receiver, unchanged; but a cancelled one, which
      // never left: the receiver never holds it, and its sender holds no receipt of it.
      auto theirs = held[p].find(id);
      if (m.state == core::MessageState::kCancelled) {
        if (theirs != held[p].end() || m.receipt || m.delivered_at) {
          violation("cancelled-delivered",
                    g.party + " " + m.type + " " + id + " (" + m.line + " seq " +
                        std::to_string(m.seq) + ") is cancelled, yet " +
                        (theirs != held[p].end() ? peer.party + " holds it"
                                                 : "its sender holds a receipt of it"));
        }
        continue;
      }
      if (cancelled_.count(id) > 0) {
        violation("delivered-cancelled",
                  g.party + " granted the cancel of " + id + ", which is now " +
                      std::string(core::state_name(m.state)) +
                      (theirs != held[p].end() ? " and held by " + peer.party : ""));
      }
      if (theirs == held[p].end()) {
        const bool accepted = accepted_by_.count(id) > 0;
        violation("lost", std::string(accepted ? "accepted " : "stored ") + m.type + " " + id +
                              " from " + g.party + " (" + m.line + " seq " + std::to_string(m.seq) +
                              ", state " + std::string(core::state_name(m.state)) +
                              ") never reached " + peer.party);
        continue;
      }
      const core::MessageRecord& in = theirs->second;
      // A refused message is kept by its receiver as evidence (its envelope), not opened.
      const bool refused = m.state == core::MessageState::kRefused;
      if (in.direction != core::Direction::kInbound || in.line != m.line || in.seq != m.seq ||
          in.envelope != m.envelope || (!refused && in.content.text != m.content.text)) {
        violation("corrupted",
                  id + " as " + peer.party + " stored it differs from what " + g.party + " sent");
      }
      // Both sides agree on a refusal, and on its reason (the receipt carried it).
      if (refused != (in.state == core::MessageState::kRefused) ||
          (refused && (!m.refusal || m.refusal != in.refusal))) {
        violation("refusal-mismatch",
                  g.party + " holds " + id + " as " + std::string(core::state_name(m.state)) +
                      ", " + peer.party + " as " + std::string(core::state_name(in.state)));
      }
      // Receipted, with a receipt by the receiver that covers it.
      if (m.state == core::MessageState::kQueued || m.state == core::MessageState::kSent ||
          !m.receipt) {
        violation("not-delivered", g.party + " " + m.type + " " + id + " is still " +
                                       std::string(core::state_name(m.state)) +
                                       (m.receipt ? "" : " without a receipt"));
      } else {
        Result<ReceiptFacts> r = open_receipt_facts(*m.receipt, chain_keys(peer), peer.party);
        if (!r.is_ok()) {
          violation("receipt-invalid", g.party + " " + id + ": " + r.status().message());
        } else if (!contains(r->ids, id) || r->to != g.party || (m.tx && r->tx != *m.tx)) {
          violation("receipt-invalid",
                    g.party + " " + id + ": the stored receipt is not for this message");
        }
      }
      if (refused) continue;  // final: neither acknowledged nor escalated
      if (m.type == "ack") {
        // The acknowledged message, at its sender, is acknowledged by this ack.
        auto target = m.reply_to ? held[p].find(*m.reply_to) : held[p].end();
        if (target == held[p].end() || target->second.state != core::MessageState::kAcknowledged ||
            target->second.ack_id != id) {
          violation("ack-lost", "ack " + id + " by " + g.party + " of " + m.reply_to.value_or("?") +
                                    " is not recorded by " + peer.party);
        }
        continue;
      }
      if (core::is_protocol_type(m.type)) continue;  // evidence: checked as it was written
      // The receiver watches the same deadline (issue 11): past it, the message is
      // acknowledged there or marked overdue there.
      if (in.state != core::MessageState::kAcknowledged &&
          in.state != core::MessageState::kOverdue &&
          in.ack_deadline + scenario_.timer_tick < wall(peer)) {
        violation("inbound-escalation-missing", peer.party + " inbound " + id + " (deadline " +
                                                    format_time(in.ack_deadline) + ") is " +
                                                    std::string(core::state_name(in.state)) +
                                                    " at " + format_time(wall(peer)));
      }
      if (m.state == core::MessageState::kAcknowledged) {
        auto ack = m.ack_id ? held[i].find(*m.ack_id) : held[i].end();
        if (ack == held[i].end() || ack->second.reply_to != id) {
          violation("ack-phantom", g.party + " " + id + " is acknowledged without a stored ack");
        }
      } else if (m.state != core::MessageState::kOverdue &&
                 m.ack_deadline + scenario_.timer_tick < wall(g)) {
        violation("escalation-missing",
                  g.party + " " + id + " (deadline " + format_time(m.ack_deadline) + ") is " +
                      std::string(core::state_name(m.state)) + " at " + format_time(wall(g)));
      }
    }
  }
  for (const auto& [id, index] : accepted_by_) {
    auto it = held[index].find(id);
    if (it == held[index].end() || it->second.direction != core::Direction::kOutbound) {
      violation("accepted-lost",
                gateways_[index]->party + " accepted " + id + " but does not hold it");
    }
  }
  for (auto& g : gateways_) check_escalations(*g);
  check_transcripts();
}

// Each party's export of its transcript with each peer passes what `parley verify` runs:
// signatures, Merkle roots, inclusion proofs, countersignatures, the manifest.
void Cluster::check_transcripts() {
  for (auto& gp : gateways_) {
    Gateway& g = *gp;
    std::set<std::string> peers;
    for (const LineEnd& end : g.lines) peers.insert(gateways_[end.peer]->party);
    for (const std::string& peer : peers) {
      store::MemorySink sink;
      const Result<crypto::SigningKey> key = export_key(g, peer);
      const Status exported =
          key.is_ok() ? store::export_transcript(*g.store, g.bundle, *key, peer, wall(g), sink)
                      : key.status();
      if (!exported.is_ok()) {
        violation("transcript-export", g.party + " with " + peer + ": " + exported.to_string());
        continue;
      }
      const ledger::TranscriptReport report = ledger::verify_transcript(sink.files());
      ++outcome_.stats.transcripts_verified;
      if (!report.valid()) {
        violation("transcript-invalid",
                  g.party + " with " + peer + ": " + report.summary() +
                      (report.failures.empty() ? "" : "; first: " + report.failures[0]));
      }
      // Issue 17: the verifier followed each party's chain through all its rotations.
      for (const std::string& party : {g.party, peer}) {
        const std::size_t made = gateways_[index_of(party)]->own.statements.size();
        const auto taken = std::count_if(
            report.rotations.begin(), report.rotations.end(),
            [&](const ledger::TranscriptReport::Rotation& r) { return r.party == party; });
        if (static_cast<std::size_t>(taken) != made) {
          violation("transcript-rotations", g.party + "'s export with " + peer + " takes " +
                                                std::to_string(taken) + " rotations of " + party +
                                                ", who made " + std::to_string(made));
        }
      }
    }
  }
}

}  // namespace parley::sim
