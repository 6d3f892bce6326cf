// PeerSession, as the receiver of the peer's transactions: verified by
// core/verify_transaction, stored with our receipt, answered once durable.
#include <algorithm>
#include <limits>
#include <set>
#include <utility>

#include "parley/base/check.h"
#include "parley/core/message_state.h"
#include "parley/core/peer_session.h"
#include "parley/core/session_internal.h"
#include "parley/core/transcript_view.h"
#include "parley/ledger/transcript.h"

namespace parley::core {

using namespace internal;  // the session's own helpers (session_internal.h)

// ---- the peer's transactions ----

void PeerSession::refuse(RequestId request, FrameRefusal reason, std::string_view envelope_id,
                         const std::string& why, std::vector<Action>& out) {
  out.push_back(Answer{request, 400, wire::encode_refusal({why, std::string(envelope_id)})});
  ++counters_.frames_refused;
  ++counters_.frames_refused_by[static_cast<std::size_t>(reason)];
  counters_.last_error =
      "refused a transaction from " + single_quoted(config_.peer.party) + ": " + why;
  out.push_back(Notify{
      notice(NoticeKind::kFrameRefused, std::string(envelope_id), "", counters_.last_error)});
}

bool PeerSession::answer_again(RequestId request, const std::string& tx, const std::string& sth,
                               std::optional<std::uint64_t> pinned, std::vector<Action>& out) {
  const auto it = peer_.receipts.find(tx);
  if (it == peer_.receipts.end() || it->second.sth != sth) return false;
  if (!it->second.durable) {
    // Its batch is being stored: the receipt may not leave before it is durable (and
    // signing another would give the head two countersignatures). The sender retries.
    out.push_back(Answer{
        request, 503,
        wire::encode_refusal({"transaction " + tx + " is being stored; send it again", ""})});
    return true;
  }
  Result<const crypto::SigningKey*> key = receipt_key(pinned);
  if (!key.is_ok()) {
    refuse_pinned(request, key.status(), out);
    return true;
  }
  out.push_back(Answer{request, 200, receipt_signed_by(it->second.receipt, **key)});
  return true;
}

Result<const crypto::SigningKey*> PeerSession::receipt_key(
    std::optional<std::uint64_t> pinned) const {
  if (!pinned) return &key_for_peer();
  for (const ledger::KeyChain::Link& link : own_chain_.links()) {
    if (link.n == *pinned) return &signing_of(link);
  }
  const std::string names =
      "the transaction names our key rotation " + std::to_string(*pinned) + " as the newest pinned";
  if (*pinned <= config_.own.keys.size()) {
    // Made, but not yet appended to our log for the peer (it is at start, or our log is being
    // recovered): the sender tries again.
    return Status::unavailable(names + ", not yet in our log for " +
                               single_quoted(config_.peer.party) + "; send it again");
  }
  return Status::invalid_argument(names + ", but we made " +
                                  std::to_string(config_.own.keys.size()));
}

void PeerSession::refuse_pinned(RequestId request, const Status& why, std::vector<Action>& out) {
  if (why.code() == StatusCode::kUnavailable) {
    out.push_back(Answer{request, 503, wire::encode_refusal({why.message(), ""})});
    return;
  }
  refuse(request, FrameRefusal::kBadHead, "", why.message(), out);
}

std::string PeerSession::receipt_signed_by(const std::string& receipt,
                                           const crypto::SigningKey& key) {
  // Stored as first signed; a resend naming another of our keys (a sender that pinned our
  // rotation since, or rebuilt its transaction) gets the same countersignature by that key.
  Result<ledger::ReceiptV2> parsed = ledger::parse_receipt_v2(receipt);
  if (!parsed.is_ok() || ledger::verify_receipt_v2(*parsed, crypto::verify_key_of(key)).is_ok()) {
    return receipt;
  }
  return ledger::encode_receipt_v2(ledger::sign_receipt_v2(parsed->body, key));
}

void PeerSession::out_of_order(RequestId request, const TransactionRefusal& refusal,
                               std::vector<Action>& out) {
  // A late copy of a transaction handled before gets the receipt signed for it then.
  if (refusal.order == TransactionOrder::kStale &&
      answer_again(request, refusal.tx, refusal.sth, refusal.pinned, out)) {
    return;
  }
  ++counters_.transactions_out_of_order;
  const int status = refusal.order == TransactionOrder::kEarly ? 425 : 409;
  out.push_back(Answer{request, status, wire::encode_refusal({refusal.why, ""})});
}

void PeerSession::on_fork(RequestId request, const TransactionRefusal& refusal, Time now,
                          std::vector<Action>& out) {
  ++counters_.forks_detected;
  counters_.fork = refusal.why;
  PutEvidence evidence;
  evidence.id = uuid_v7(now, rng_);
  evidence.peer = config_.peer.party;
  evidence.kind = "fork";
  evidence.detail = refusal.why;
  evidence.sth_a = peer_.sth;
  evidence.sth_b = refusal.sth;
  evidence.at = now;
  persist({std::move(evidence)}, std::nullopt, out);
  out.push_back(Answer{request, 400, wire::encode_refusal({refusal.why, ""})});
  ++counters_.frames_refused;
  ++counters_.frames_refused_by[static_cast<std::size_t>(FrameRefusal::kFork)];
  counters_.last_error = refusal.why;
  out.push_back(Notify{notice(NoticeKind::kForkDetected, "", "", refusal.why)});
}

void PeerSession::on_transaction(const TransactionReceived& e, bool waited, Time now,
                                 std::vector<Action>& out) {
  if (!seal_key_status_.is_ok()) {
    return refuse(e.request, FrameRefusal::kUnavailable, "", seal_key_status_.message(), out);
  }
  // Everything is checked before anything is touched (core/verify_transaction.h).
  PeerContext context_known = context();
  context_known.known = e.known.get();  // checks made ahead (core/precheck.h), if any
  context_known.parsed = e.parsed.get();
  const Verified verified = verify_transaction(e.body, context_known, peer_, now);
  if (const auto* refused = std::get_if<TransactionRefusal>(&verified)) {
    if (refused->order == TransactionOrder::kEarly) return out_of_order(e.request, *refused, out);
    if (refused->fork) return on_fork(e.request, *refused, now, out);
    if (refused->unproven) counters_.peer_conflict = refused->why;
    if (refused->reason == FrameRefusal::kInconsistent && !refused->unproven &&
        ++counters_.stale_heads >= 2) {
      counters_.peer_conflict = std::to_string(counters_.stale_heads) +
                                " heads in a row older than the one we countersigned: " +
                                single_quoted(config_.peer.party) +
                                "'s log went back (a restore?): " + refused->why;
    }
    if (refused->order == TransactionOrder::kStale) return out_of_order(e.request, *refused, out);
    return refuse(e.request, refused->reason, refused->envelope_id, refused->why, out);
  }
  const VerifiedBatch& batch = std::get<VerifiedBatch>(verified);
  if (answer_again(e.request, batch.tx, batch.sth, batch.pinned, out)) return;
  Result<const crypto::SigningKey*> signer = receipt_key(batch.pinned);
  if (!signer.is_ok()) {
    return refuse_pinned(e.request, signer.status(), out);  // nothing taken: it is sent again
  }
  if (carries_entry_being_stored(batch)) {
    // Its receipt would name an entry that only the batch being stored holds: were that batch
    // refused, nothing would store it, yet the peer, receipted, would count it delivered (a
    // message lost; a rotation statement carried no more, its new key's entries refused here
    // for good). It waits for that batch's outcome.
    if (held_.size() >= kHeldMax) {
      ++counters_.transactions_held_refused;
      out.push_back(Answer{e.request, 503,
                           wire::encode_refusal({"transaction " + batch.tx +
                                                     " carries an entry of a transaction being "
                                                     "stored; send it again",
                                                 ""})});
      return;
    }
    if (!waited) ++counters_.transactions_held;
    held_.push_back(e);
    return;
  }
  store_transaction(e.request, batch, **signer, now, out);
}

bool PeerSession::carries_entry_being_stored(const VerifiedBatch& verified) const {
  // The entries the batches being stored hold: each took its indices (messages, refused
  // messages, rotations) and its (line, seq)s; a transaction that carries one of them counts
  // it as held (verify_transaction's mark_fresh, rotation_pinned) and would name it in its
  // receipt without storing it.
  std::set<std::uint64_t> pending;
  for (const auto& [id, after] : after_persist_) {
    if (!after.inbound) continue;
    for (const auto& [index, entry] : after.inbound->indices) pending.insert(index);
  }
  // Nothing of the peer's being stored; otherwise, in the common case, the window's
  // transactions carry disjoint entries (docs/protocol.md "Transaction window"): none found.
  if (pending.empty()) return false;
  for (const VerifiedRotation& r : verified.rotations) {
    if (pending.count(r.index) > 0) return true;
  }
  for (const VerifiedEnvelope& in : verified.envelopes) {
    const wire::Payload& p = in.envelope.payload;
    if (pending.count(in.index) > 0) return true;
    if (!in.fresh && peer_.pending_seqs.count({p.line, p.seq}) > 0) return true;
  }
  return false;
}

void PeerSession::retry_held(Time now, std::vector<Action>& out) {
  // Durable, the entries are held for good: they are stored without them (a rotation pinned,
  // not stored again). Refused, the first to come stores them (or, coming after the refused
  // transaction's head, is answered 425). Those that still carry an entry of another batch
  // being stored wait again, in the order they came.
  std::vector<TransactionReceived> waiting = std::move(held_);
  held_.clear();
  for (const TransactionReceived& e : waiting) on_transaction(e, true, now, out);
}

void PeerSession::store_transaction(RequestId request, const VerifiedBatch& verified,
                                    const crypto::SigningKey& signer, Time now,
                                    std::vector<Action>& out) {
  const Head& head = verified.head;
  counters_.peer_conflict.clear();  // its head extends the one we countersigned: reconciled
  counters_.stale_heads = 0;
  InboundBatch batch;
  batch.request = request;
  batch.tx = verified.tx;
  batch.head_size = head.size;
  batch.head_root = head.root;
  batch.previous_size = peer_.size;
  batch.previous_root = peer_.root;
  batch.previous_sth = peer_.sth;
  std::vector<std::uint64_t> indices;
  std::vector<ledger::ReceiptRefusal> refused;
  std::vector<Record> records;
  // The peer's key rotations first (docs/protocol.md "Key rotation"): each new one is an
  // entry of its log, stored with this batch, and its chain of keys is pinned once the batch
  // is durable. The receipt names every entry carried, in transaction order.
  std::vector<const VerifiedRotation*> by_position;
  for (const VerifiedRotation& r : verified.rotations) by_position.push_back(&r);
  std::sort(by_position.begin(), by_position.end(),
            [](const auto* a, const auto* b) { return a->position < b->position; });
  // A rotation pinned already is not stored again; one a batch being stored holds made the
  // transaction wait for that batch (on_transaction), so none is stored twice.
  for (const VerifiedRotation& r : verified.rotations) {
    if (rotation_pinned(r.index)) continue;
    store_rotation(r, batch, records);
    batch.chain = verified.chain;
  }
  auto next_rotation = by_position.begin();
  const auto name_rotations_before = [&](std::size_t position) {
    for (; next_rotation != by_position.end() && (*next_rotation)->position < position;
         ++next_rotation) {
      batch.ids.push_back((*next_rotation)->rotation.id);
      indices.push_back((*next_rotation)->index);
    }
  };
  for (const VerifiedEnvelope& in : verified.envelopes) {
    name_rotations_before(in.position);
    batch.ids.push_back(in.envelope.payload.id);
    indices.push_back(in.index);
    // A refusal is answered on every resend (the checks are deterministic), stored once.
    if (!in.refusal.empty()) refused.push_back({in.envelope.payload.id, in.refusal});
    if (!in.fresh) continue;
    if (in.refusal.empty()) {
      accept_incoming(in, now, batch, records);
    } else {
      refuse_incoming(in, batch, records);
    }
  }
  name_rotations_before(std::numeric_limits<std::size_t>::max());
  // The receipt: our countersignature over the sender's head and the entries received.
  // It is made now so that it is stored with the batch, and released (Answer) only once
  // the batch is durable.
  batch.receipt = sign_countersignature(verified.tx, config_.party, config_.peer.party, head,
                                        batch.ids, indices, std::move(refused), now, signer);
  PutHead put_head;
  put_head.owner = config_.peer.party;
  put_head.peer = config_.party;
  put_head.size = head.size;
  put_head.root = head.root;
  put_head.sth = verified.sth;
  put_head.receipt = batch.receipt;
  records.push_back(std::move(put_head));

  take_as_countersigned(verified, batch);

  AfterPersist after;
  after.inbound = std::move(batch);
  persist(std::move(records), std::move(after), out);
}

// The batch being stored is taken as countersigned already: its seqs, ids and entries held,
// its head the one later transactions must extend, its receipt the answer to a copy of it
// (undo_inbound gives all of it back if the store refuses the batch).
void PeerSession::take_as_countersigned(const VerifiedBatch& verified, InboundBatch& batch) {
  const Head& head = verified.head;
  peer_.pending_seqs.insert(batch.seqs.begin(), batch.seqs.end());
  peer_.pending_ids.insert(batch.new_ids.begin(), batch.new_ids.end());
  // Later transactions are checked against this head, as if countersigned already: if
  // the batch is refused, the previous head comes back.
  peer_.size = head.size;
  peer_.root = head.root;
  peer_.sth = verified.sth;
  // The first receipt over a head is the one the store keeps (PutHead never replaces a
  // countersignature); a later transaction over the same head gets its own receipt. The
  // receipts of the last few transactions are kept, whatever their heads: a late copy of one
  // (the window's answers can be lost or overtaken) is answered with the same receipt.
  batch.receipt_added =
      peer_.receipts.try_emplace(verified.tx, Countersigned{verified.sth, batch.receipt, false})
          .second;
  if (peer_.receipts.size() > kReceiptsKept) {
    // Transaction ids are UUIDv7: the oldest durable one goes (by the sender's clock). One
    // being stored stays: a copy of it must get 503, never a second receipt.
    const auto oldest = std::find_if(peer_.receipts.begin(), peer_.receipts.end(),
                                     [](const auto& r) { return r.second.durable; });
    if (oldest != peer_.receipts.end()) peer_.receipts.erase(oldest);
  }
  for (const auto& [index, id] : batch.indices) peer_.ids[index] = id;
}

void PeerSession::derive_seal_keys() {
  for (const ledger::KeyChain::Link& link : peer_chain_.links()) {
    if (link.epoch == 1 || seal_keys_.count(link.epoch) > 0) continue;
    Result<crypto::SealKey> key = crypto::derive_seal_key(
        config_.keys.box_secret, config_.keys.box_public, config_.peer.box_key, link.epoch);
    if (key.is_ok()) seal_keys_.emplace(link.epoch, *key);  // else derived (and refused) per use
  }
}

bool PeerSession::rotation_pinned(std::uint64_t index) const {
  const std::vector<ledger::KeyChain::Link>& links = peer_chain_.links();
  return std::any_of(links.begin() + 1, links.end(),
                     [&](const ledger::KeyChain::Link& l) { return l.from_index == index + 1; });
}

PutRotation internal::rotation_row(const std::string& owner, const std::string& other,
                                   std::uint64_t index, const wire::Rotation& statement,
                                   const std::string& text) {
  PutRotation put;
  put.owner = owner;
  put.peer = other;
  put.index = index;
  put.n = statement.n;
  put.id = statement.id;
  put.statement = text;
  put.new_sign_key = statement.new_sign_key;
  put.new_tls_fingerprint = statement.new_tls_fingerprint;
  put.epoch = statement.epoch;
  return put;
}

Notice internal::rotation_notice(const std::string& peer, const wire::Rotation& statement,
                                 std::uint64_t index, bool recovered) {
  Notice n =
      notice(NoticeKind::kPeerKeyRotated, statement.id, "",
             "peer " + single_quoted(peer) + " rotated its signing key (rotation " +
                 std::to_string(statement.n) + ", entry " + std::to_string(index) + "): key " +
                 base64_encode(statement.new_sign_key.bytes) + " in force from entry " +
                 std::to_string(index + 1) + ", TLS certificate " + statement.new_tls_fingerprint +
                 ", seal epoch " + std::to_string(statement.epoch) +
                 (recovered ? " (taken back from its copy of its log at start)" : ""));
  n.peer = peer;
  n.rotation = statement.n;
  n.tls_fingerprint = statement.new_tls_fingerprint;
  return n;
}

void PeerSession::store_rotation(const VerifiedRotation& r, InboundBatch& batch,
                                 std::vector<Record>& records) {
  const wire::Rotation& statement = r.rotation;
  records.push_back(rotation_row(config_.peer.party, config_.party, r.index, statement, r.json));
  records.push_back(LogEntry{config_.peer.party, config_.party, r.index, statement.id,
                             ledger::leaf_hash(as_bytes(r.json))});
  records.push_back(PutInclusion{statement.id, r.index, batch.head_size, batch.head_root, r.proof});
  batch.indices.emplace_back(r.index, statement.id);
  batch.new_ids.push_back(statement.id);  // no later entry may take its id (check_rotations)
  batch.notices.push_back(rotation_notice(config_.peer.party, statement, r.index, false));
}

MessageRecord PeerSession::record_of(const wire::Payload& p, Direction direction,
                                     std::string envelope, std::string tx) const {
  MessageRecord r;
  r.id = p.id;
  r.line = p.line;
  r.seq = p.seq;
  r.direction = direction;
  r.peer = config_.peer.party;
  r.from = p.from;
  r.to = p.to;
  r.precedence = p.precedence;
  r.type = p.type;
  r.needs_ack = catalog_.needs_ack(p.type);
  r.created = p.created;
  r.expires = p.expires;
  r.reply_to = p.reply_to;
  r.lang = p.lang;
  r.envelope = std::move(envelope);
  r.tx = std::move(tx);
  return r;
}

MessageRecord PeerSession::inbound_record(const VerifiedEnvelope& in,
                                          const InboundBatch& batch) const {
  return record_of(in.envelope.payload, Direction::kInbound, in.json, batch.tx);
}

void PeerSession::store_incoming(MessageRecord record, const VerifiedEnvelope& in,
                                 InboundBatch& batch, std::vector<Record>& records) {
  const std::string id = record.id;
  batch.seqs.emplace_back(record.line, record.seq);
  batch.new_ids.push_back(id);
  batch.indices.emplace_back(in.index, id);
  records.push_back(PutMessage{std::move(record)});
  records.push_back(LogEntry{config_.peer.party, config_.party, in.index, id,
                             ledger::leaf_hash(as_bytes(in.json))});
  records.push_back(PutInclusion{id, in.index, batch.head_size, batch.head_root, in.proof});
}

void PeerSession::accept_incoming(const VerifiedEnvelope& in, Time now, InboundBatch& batch,
                                  std::vector<Record>& records) {
  const wire::Payload& p = in.envelope.payload;
  // From the earlier of the signed creation time and our arrival time, by our clock: a peer
  // whose clock runs ahead cannot put our escalation off (by hours, after a forward jump); one
  // that runs behind brings it forward, never later than the sender's own.
  const Time deadline = std::min(p.created, now) + in.line->deadlines.for_precedence(p.precedence);
  MessageRecord r = inbound_record(in, batch);
  r.content = in.opened.content;
  r.salt = in.opened.salt;
  r.state = MessageState::kDelivered;
  r.ack_deadline = deadline;
  r.delivered_at = now;
  store_incoming(std::move(r), in, batch, records);

  const std::string precedence(wire::precedence_name(p.precedence));
  if (p.type == catalog::kAckType) {
    auto target = unacked_.find(*p.reply_to);
    if (target != unacked_.end() && target->second.line == p.line && !target->second.ack_pending) {
      unwatch(target->first, target->second);
      target->second.ack_pending = true;
      MessageChange change(MessageEvent::kAcknowledged, now);
      change.acknowledged_by = p.from.to_string();
      change.ack_id = p.id;
      // Not queued: receipted, so delivered or overdue (the store keeps the other fields).
      MessageRecord receipted;
      receipted.id = target->first;
      receipted.state = MessageState::kDelivered;
      Outgoing* o = outbox_.carried(target->first);
      if (o != nullptr) {
        batch.ack_undo.push_back({target->first, o->record.state, o->record.acknowledged_at,
                                  o->record.acknowledged_by, o->record.ack_id});
      }
      records.push_back(transition(o != nullptr ? o->record : receipted, change));
      batch.acked.push_back(target->first);
      batch.notices.push_back(notice(NoticeKind::kAcknowledged, target->first, p.line,
                                     "message " + target->first + " on line " + p.line +
                                         " acknowledged by " + p.from.to_string()));
    }
    batch.settled.emplace_back(p.id, SettledInbound{p.line, "it is an acknowledgment"});
  } else if (is_protocol_type(p.type)) {
    // The peer's evidence or stage: a signed entry of its log we hold and countersign; the
    // stores derive the stages from it (reply_to); nobody acknowledges it.
    batch.settled.emplace_back(p.id, SettledInbound{p.line, "it is the peer's " + p.type});
  } else if (!catalog_.needs_ack(p.type)) {
    // A translation: a reader's aid, beside the original whose own deadline runs.
    batch.settled.emplace_back(
        p.id, SettledInbound{p.line, "a " + p.type + " asks for no acknowledgment"});
    batch.notices.push_back(notice(NoticeKind::kMessageReceived, p.id, p.line,
                                   precedence + " " + p.type + " message " + p.id + " on line " +
                                       p.line + " from " + p.from.to_string()));
    batch.notices.back().type = p.type;
  } else {
    AwaitingAck awaiting{p.line, p.from,       p.precedence,  deadline,
                         false,  std::nullopt, p.to.principal};
    // An automatic line test: our gateway answers it once it is stored (core/line_test.h).
    awaiting.automatic = automatic_test_sequence(p.type, in.opened.content.body_json).has_value();
    batch.awaiting.emplace_back(p.id, std::move(awaiting));
    batch.notices.push_back(notice(NoticeKind::kMessageReceived, p.id, p.line,
                                   precedence + " " + p.type + " message " + p.id + " on line " +
                                       p.line + " from " + p.from.to_string()));
    batch.notices.back().type = p.type;
  }
}

void PeerSession::refuse_incoming(const VerifiedEnvelope& in, InboundBatch& batch,
                                  std::vector<Record>& records) {
  const wire::Payload& p = in.envelope.payload;
  // Signed evidence of what the peer said, never an inbox message: the envelope as received
  // and what could be read of it (the body stays sealed if the line is not ours).
  MessageRecord r = inbound_record(in, batch);
  r.state = MessageState::kRefused;
  r.ack_deadline = p.created;
  r.refusal = in.refusal;
  store_incoming(std::move(r), in, batch, records);
  batch.settled.emplace_back(p.id, SettledInbound{p.line, "we refused it: " + in.refusal});
  ++counters_.inbound_refused;
  counters_.last_error = "refused message " + p.id + " on line " + single_quoted(p.line) +
                         " from " + single_quoted(config_.peer.party) + ": " + in.refusal;
  batch.notices.push_back(notice(NoticeKind::kInboundRefused, p.id, p.line, counters_.last_error));
}

}  // namespace parley::core
