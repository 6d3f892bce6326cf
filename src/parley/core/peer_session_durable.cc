// The peer session's durability (peer_session.h): what it asks the store to write, and what
// it does once a write is durable (a receipt's messages delivered, an inbound batch answered)
// or refused (undone, the sender or the API told).
#include <algorithm>
#include <utility>

#include "parley/core/peer_session.h"
#include "parley/core/session_internal.h"

namespace parley::core {

using namespace internal;  // the session's own helpers (session_internal.h)

void PeerSession::persist(std::vector<Record> records, std::optional<AfterPersist> after,
                          std::vector<Action>& out) {
  const BatchId batch = next_batch_++;
  out.push_back(Persist{batch, std::move(records)});
  if (after) after_persist_.emplace(batch, std::move(*after));
}

void PeerSession::on_persisted(const Persisted& e, Time now, std::vector<Action>& out) {
  auto it = after_persist_.find(e.batch);
  if (it == after_persist_.end()) return;  // nothing waits on it (or not ours)
  AfterPersist after = std::move(it->second);
  after_persist_.erase(it);

  for (const std::uint64_t index : after.log_entries) own_.mark_durable(index);
  if (after.ack_of) {
    inbound_.ack_durable(*after.ack_of);
    escalations_.stop(*after.ack_of);  // one of our principals acknowledged it
  }
  for (auto& [id, u] : after.track) track(id, std::move(u));
  for (Action& action : after.actions) {
    // A transaction given up before it left (the store refused a batch it needs) does not leave.
    if (const auto* send = std::get_if<SendTransaction>(&action)) {
      if (!outbox_.in_flight_is(send->tx)) continue;
    }
    out.push_back(std::move(action));
  }

  if (after.receipted_tx) {
    if (const InFlight* f = outbox_.in_flight(*after.receipted_tx)) receipted(*f, now, out);
  }

  if (after.inbound) inbound_durable(*after.inbound, now, out);
  if (after.inbound) retry_held(now, out);
  if (after.recovered_head) {
    own_.countersigned(after.recovered_head->first, after.recovered_head->second,
                       outbox_.lowest_index(own_.assigned()));
  }
  // The rotations the recovery took back are durable: their keys are in force from now on.
  if (after.recovered_peer_chain) {
    peer_chain_ = std::move(*after.recovered_peer_chain);
    derive_seal_keys();
  }
  if (after.recovered_own_chain) {
    own_chain_ = std::move(*after.recovered_own_chain);
    own_rotation_ids_.insert(after.recovered_own_ids.begin(), after.recovered_own_ids.end());
  }
  if (after.recovery) {
    recovery_.storing = false;
    end_recovery(now, out);
  }
}

void PeerSession::receipted(const InFlight& f, Time now, std::vector<Action>& out) {
  for (const std::string& id : f.ids) {
    const Outgoing* o = outbox_.carried(id);
    if (o == nullptr) continue;
    const MessageRecord& r = o->record;
    if (r.state == MessageState::kExpired) {
      // Said when it expired; the receipt refused it (the peer's clock agreed).
    } else if (r.state == MessageState::kRefused) {
      // Final: no ack will come, so no deadline is watched.
      ++counters_.messages_refused;
      counters_.last_refusal = r.refusal.value_or("");
      out.push_back(Notify{notice(NoticeKind::kMessageRefused, r.id, r.line,
                                  std::string(wire::precedence_name(r.precedence)) + " " + r.type +
                                      " message " + r.id + " on line " + r.line + " refused by " +
                                      config_.peer.party + ": " + r.refusal.value_or("?"))});
    } else if (r.type != "ack") {
      if (!is_protocol_type(r.type)) {
        counters_.delivery[static_cast<std::size_t>(r.precedence)].observe(now - r.created);
      }
      out.push_back(
          Notify{notice(NoticeKind::kDelivered, r.id, r.line,
                        std::string(wire::precedence_name(r.precedence)) + " message " + r.id +
                            " on line " + r.line + " delivered to " + config_.peer.party)});
    }
    outbox_.unqueue(id);
  }
  // The peer countersigned our head: it is C now (unless a later one was already). Proofs
  // start from there, or from the lowest entry still unreceipted (carried by another
  // transaction of the window, or overtaken by a FLASH).
  own_.countersigned(f.size, f.root, outbox_.lowest_index(own_.assigned()));
  failure_streak_ = 0;
  refusal_streak_ = 0;
  // The peer holds this head: a transaction that waited for it (answered 425) goes now.
  for (const InFlight& other : outbox_.window()) {
    if (other.blocked) outbox_.in_flight(other.tx)->retry_at = now;
  }
  const std::string tx = f.tx;  // `f` goes with it
  outbox_.end_in_flight(tx);
}

void PeerSession::inbound_durable(InboundBatch& b, Time now, std::vector<Action>& out) {
  // The peer's rotation is durable: its new key is the one in force from now on (pinned only
  // now, so that a batch the store refused pins nothing).
  if (b.chain && b.chain->links().size() > peer_chain_.links().size()) {
    peer_chain_ = std::move(*b.chain);
    derive_seal_keys();
  }
  for (const auto& key : b.seqs) {
    peer_.pending_seqs.erase(key);
    peer_.seqs[key.first].insert(key.second);
  }
  for (const std::string& id : b.new_ids) {
    peer_.pending_ids.erase(id);
    peer_.stored_ids.insert(id);
  }
  for (const std::string& id : b.acked) {
    tests_.answered(id, now);
    untrack(id);
  }
  std::vector<std::string> tests;
  for (auto& [id, awaiting] : b.awaiting) {
    if (awaiting.automatic) tests.push_back(id);
    inbound_.watch(id, std::move(awaiting));
  }
  for (auto& [id, settled] : b.settled) inbound_.settle(id, std::move(settled));
  const auto signed_it = peer_.receipts.find(b.tx);
  if (signed_it != peer_.receipts.end() && signed_it->second.receipt == b.receipt) {
    signed_it->second.durable = true;
  }
  out.push_back(Answer{b.request, 200, std::move(b.receipt)});
  for (Notice& n : b.notices) out.push_back(Notify{std::move(n)});
  // Stored: our gateway answers the peer's automatic tests at once (core/line_test.h).
  for (const std::string& id : tests) answer_test(id, now, out);
}

void PeerSession::on_persist_refused(const PersistRefused& e, Time now, std::vector<Action>& out) {
  auto it = after_persist_.find(e.batch);
  if (it == after_persist_.end()) return;  // nothing waited on it (e.g. an overdue mark)
  AfterPersist after = std::move(it->second);
  after_persist_.erase(it);
  // A conflict with what is stored, or a value the store cannot hold (store.h
  // is_batch_refusal): either way the batch's content, so only its work is undone.
  const std::string why = "the store refused it: " + e.status.message();
  if (after.recovery) {
    recovery_.storing = false;
    return recovery_failed(
        "the store refused what the peer's copy gives back: " + e.status.message(), out);
  }
  undo_outbound(after, why, now, out);
  // A cancellation not stored: the message waits in the queue again, as it was, unless the
  // store does not hold it at all (its own batch was refused before: nothing to send).
  if (after.cancelled && e.status.code() != StatusCode::kNotFound) {
    const MessageRecord& r = after.cancelled->record;
    if (r.needs_ack) {
      Unacked u{r.line, r.precedence,    r.ack_deadline, r.state == MessageState::kOverdue,
                false,  r.from.principal};
      if (u.overdue) escalate_sent(r.id, u);
      track(r.id, std::move(u));
    }
    --counters_.messages_cancelled;
    outbox_.enqueue(std::move(*after.cancelled));
  }
  if (after.inbound) undo_inbound(*after.inbound, why, out);
  if (after.inbound) retry_held(now, out);
}

void PeerSession::give_up_in_flight(const std::string& tx, bool later_too) {
  std::vector<std::string> gone;
  bool found = false;
  for (const InFlight& f : outbox_.window()) {
    found = found || f.tx == tx;
    if (f.tx == tx || (found && later_too)) gone.push_back(f.tx);
  }
  for (const std::string& id : gone) {
    for (const auto& [expired, o] : outbox_.in_flight(id)->expired) untrack(expired);
    outbox_.end_in_flight(id);
  }
}

void PeerSession::undo_outbound(const AfterPersist& after, const std::string& why, Time now,
                                std::vector<Action>& out) {
  // A principal's submission or ack: nothing was stored, so nothing happened.
  for (const Action& action : after.actions) {
    if (const auto* accepted = std::get_if<Accepted>(&action)) {
      out.push_back(Rejected{accepted->request, Status::internal("not stored: " + why)});
    }
  }
  if (after.ack_of) inbound_.ack_failed(*after.ack_of);
  // Its messages were not stored: out of the queue, and out of a transaction built over them
  // (that one has not left: it waits for a later batch, which cannot apply without them).
  for (const std::string& id : after.queued) {
    const InFlight* f = outbox_.carrier(id);
    const std::optional<std::string> tx = f != nullptr ? std::optional(f->tx) : std::nullopt;
    if (!outbox_.unqueue(id)) continue;
    // Those built after it name its head as `after`, which the peer may never get: they go too.
    if (tx) give_up_in_flight(*tx, true);
  }
  // A transaction whose head could not be stored does not leave, nor do those after it.
  for (const Action& action : after.actions) {
    const auto* send = std::get_if<SendTransaction>(&action);
    if (send != nullptr) give_up_in_flight(send->tx, true);
  }
  // Its log entry was not stored: the index is free again if it was the last one handed
  // out. If later entries exist, our log in memory has an entry the store lacks: no head is
  // signed over it (that would fork the log); the operator restarts from the store.
  for (auto it = after.log_entries.rbegin(); it != after.log_entries.rend(); ++it) {
    if (own_.take_back(*it)) continue;
    build_failed_ = true;
    counters_.last_error = "log entry " + std::to_string(*it) +
                           " was refused by the store after later entries; restart the "
                           "gateway to recover from the store";
    out.push_back(Notify{notice(NoticeKind::kLinkTrouble, "", "", counters_.last_error)});
    break;
  }
  // Our key rotation could not be appended: what would follow it cannot be signed.
  if (!after.own_rotations.empty() && !build_failed_) {
    build_failed_ = true;
    counters_.last_error = "our key rotation " + std::to_string(after.own_rotations.front()) +
                           " could not be appended to our log for " +
                           single_quoted(config_.peer.party) + ": " + why +
                           "; restart the gateway to recover from the store";
    out.push_back(Notify{notice(NoticeKind::kLinkTrouble, "", "", counters_.last_error)});
  }
  // Our receipted transaction could not be recorded: send it again later; the peer's
  // receiver is idempotent.
  if (after.receipted_tx) {
    if (InFlight* f = outbox_.in_flight(*after.receipted_tx)) {
      f->receipted = false;
      schedule_retry(*f, now, "could not record the receipt: " + why, NoticeKind::kLinkTrouble,
                     out);
    }
  }
}

void PeerSession::undo_inbound(const InboundBatch& b, const std::string& why,
                               std::vector<Action>& out) {
  for (const auto& key : b.seqs) peer_.pending_seqs.erase(key);
  for (const std::string& id : b.new_ids) peer_.pending_ids.erase(id);
  for (const auto& [index, id] : b.indices) peer_.ids.erase(index);
  // The peer's acks in it were not stored: our messages wait for an ack (and their
  // deadlines) again.
  for (const std::string& id : b.acked) {
    auto u = unacked_.find(id);
    if (u == unacked_.end() || !u->second.ack_pending) continue;
    u->second.ack_pending = false;
    if (!u->second.overdue) deadlines_.emplace(u->second.deadline, id);
  }
  for (const InboundBatch::AckUndo& undo : b.ack_undo) {
    if (Outgoing* o = outbox_.carried(undo.id)) {
      o->record.state = undo.state;
      o->record.acknowledged_at = undo.acknowledged_at;
      o->record.acknowledged_by = undo.acknowledged_by;
      o->record.ack_id = undo.ack_id;
    }
  }
  // The head before this transaction comes back, unless a later transaction was taken over
  // this one: that batch, being stored, now comes after the head before this one; durable, it
  // countersigns its own head, which stays; refused too, it goes back past this one. Batches
  // are answered in BatchId order, so the first inbound batch still pending is the one taken
  // directly after this one: only it (a later one over the same head, as after a FLASH lane
  // transaction and a window one over one head, came after that one, not after this one).
  const auto next = std::find_if(after_persist_.begin(), after_persist_.end(),
                                 [](const auto& pending) { return pending.second.inbound; });
  if (next != after_persist_.end() && next->second.inbound->previous_size == b.head_size &&
      next->second.inbound->previous_root == b.head_root) {
    InboundBatch& taken_over = *next->second.inbound;
    taken_over.previous_size = b.previous_size;
    taken_over.previous_root = b.previous_root;
    taken_over.previous_sth = b.previous_sth;
  } else {
    peer_.size = b.previous_size;
    peer_.root = b.previous_root;
    peer_.sth = b.previous_sth;
  }
  if (b.receipt_added) peer_.receipts.erase(b.tx);
  refuse(b.request, FrameRefusal::kStoreRefused, "", why, out);
}

}  // namespace parley::core
