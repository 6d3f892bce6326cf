// PeerSession, as the sender: our messages' log entries, the transaction in flight, the
// peer's answers (receipts, refusals) and expiry.
#include <algorithm>
#include <utility>

#include "parley/base/check.h"
#include "parley/core/message_state.h"
#include "parley/core/peer_session.h"
#include "parley/core/session_internal.h"
#include "parley/core/transcript_view.h"
#include "parley/ledger/transcript.h"

namespace parley::core {

using namespace internal;  // the session's own helpers (session_internal.h)

// ---- our transactions ----

void PeerSession::expire(Time now, std::vector<Action>& out) {
  std::vector<Record> records;
  for (auto due = outbox_.next_expiry(); due && due->first <= now; due = outbox_.next_expiry()) {
    const std::string& id = due->second;
    Outgoing* o = outbox_.queued(id);
    PARLEY_CHECK(o != nullptr);
    if (next_state(o->record.state, MessageEvent::kExpired) == o->record.state) {
      outbox_.unwatch_expiry(id);  // acknowledged already: it did arrive
      continue;
    }
    records.push_back(transition(o->record, MessageChange(MessageEvent::kExpired, now)));
    if (!o->in_flight) {
      untrack(id);  // final: no ack deadline is watched
    } else if (auto u = unacked_.find(id); u != unacked_.end()) {
      // Its transaction's answer decides; meanwhile no deadline is watched, but an ack
      // from the peer (who then has it) is still taken.
      unwatch(id, u->second);
    }
    ++counters_.messages_expired;
    const MessageRecord& r = o->record;
    const std::string text = std::string(wire::precedence_name(r.precedence)) + " " + r.type +
                             " message " + id + " on line " + r.line + " expired at " +
                             format_time(*r.expires) + " before " + config_.peer.party +
                             " receipted it; it is not sent any more";
    // Constructed in place: pushing a temporary Action here draws a GCC 12 -O2
    // -Wmaybe-uninitialized false positive on the variant's move in release builds.
    out.emplace_back(std::in_place_type<Notify>,
                     Notify{notice(NoticeKind::kMessageExpired, id, r.line, text)});
    // Carried by the transaction in flight: the peer may have it already, so its answer
    // still decides (a receipt wins; a refusal keeps it expired).
    outbox_.set_aside(id);
  }
  if (!records.empty()) persist(std::move(records), std::nullopt, out);
}

void PeerSession::append_to_log(Outgoing& outgoing, std::vector<Record>& records,
                                AfterPersist& after) {
  const ledger::Hash leaf = ledger::leaf_hash(as_bytes(outgoing.record.envelope));
  outgoing.index = own_.append(leaf);
  outgoing.record.log_index = outgoing.index;
  records.push_back(
      LogEntry{config_.party, config_.peer.party, outgoing.index, outgoing.record.id, leaf});
  after.log_entries.push_back(outgoing.index);
}

bool PeerSession::may_build() const {
  // A rotation statement of ours that no transaction carries is work too: the peer must get it
  // (and countersign it) even when no message waits.
  if (build_failed_ || (outbox_.waiting() == 0 && !rotation_waits())) return false;
  const std::size_t open = outbox_.window().size();
  return open < config_.window || (open < 2 * config_.window && outbox_.flash_waits());
}

void PeerSession::pump(Time now, std::vector<Action>& out) {
  // A waiting FLASH gets a transaction of its own at once (the FLASH lane); then the window
  // fills. Each pass builds one or stops, and each carries a waiting message: bounded.
  while (may_build()) {
    if (!build(outbox_.flash_waits(), now, out)) return;
  }
}

bool PeerSession::build(bool lane, Time now, std::vector<Action>& out) {
  // The head covers every entry of our log, also ones still queued (FLASH may overtake
  // ROUTINE: the entries carried need not be a prefix) or whose batch is not yet durable: the
  // head goes in a later batch, and the transaction leaves once that one is Persisted (so every
  // earlier one is durable). A message submitted on an idle line costs one commit to leave.
  const std::uint64_t size = own_.assigned();
  Result<ledger::Hash> root = own_.root(size);
  if (!root.is_ok()) {
    build_failed(root.status(), out);
    return false;
  }
  Result<std::vector<wire::ConsistencyItem>> consistency =
      own_.consistency_items(size, wire::kConsistencyItemsMax);
  if (!consistency.is_ok()) {
    build_failed(consistency.status(), out);
    return false;
  }
  wire::Transaction tx;
  tx.id = uuid_v7(now, rng_);
  tx.from = config_.party;
  tx.to = config_.peer.party;
  tx.consistency = std::move(*consistency);
  tx.pinned = peer_chain_.newest().n;  // the peer's key its receipt is signed with (wire.h)
  InFlight f;
  f.tx = tx.id;
  f.peer_keys = peer_chain_.links().size();
  f.size = size;
  f.root = *root;
  f.lane = lane;
  // The receiver handles it once it holds the head of the one built before it (the first of
  // the window: the head the peer countersigned, which it holds). A FLASH lane transaction
  // waits for no ROUTINE one in flight: only for the lane's previous one, so that FLASH
  // messages keep their order among themselves.
  f.after = own_.countersigned_size();
  for (const InFlight& earlier : outbox_.window()) {
    if (!lane || earlier.lane) f.after = earlier.size;
  }
  tx.after = f.after;
  if (Status s = choose_entries(tx, f); !s.is_ok()) {
    build_failed(s, out);
    return false;
  }
  if (f.ids.empty()) return false;

  Head head;
  // Our chain's key at its size: a rotation's first head is the old key's (key_chain.h).
  tx.sth =
      sign_head(config_.party, config_.peer.party, size, *root, now, head_signing_key(size), head);
  f.sth = tx.sth;
  f.sth_payload = std::move(head.payload);
  f.sth_sig = head.sig;
  // Our signed head is kept (for the transcript export and for the consistency proofs
  // after a restart) before the transaction leaves. The messages stay queued: they are
  // sent only once the peer answers (mark_reached), a fact about the peer, not about us.
  PutHead put_head;
  put_head.owner = config_.party;
  put_head.peer = config_.peer.party;
  put_head.size = size;
  put_head.root = *root;
  put_head.sth = tx.sth;
  own_.sent_head(size, *root);

  f.body = wire::encode_transaction(tx);
  std::vector<Record> records{std::move(put_head)};
  // A message carried for the first time is marked so in the same batch, before it can
  // leave: from then on, also after a restart, it may be with the peer and is never cancelled.
  for (const std::string& id : f.ids) {
    Outgoing* o = outbox_.queued(id);
    if (o == nullptr || o->record.tx) continue;
    MessageChange carried(MessageEvent::kCarried, now);
    carried.tx = f.tx;
    records.push_back(transition(o->record, carried));
  }
  AfterPersist after;
  after.actions.push_back(SendTransaction{f.tx, f.precedence, f.body});
  persist(std::move(records), std::move(after), out);
  ++counters_.transactions_sent;
  outbox_.start(std::move(f));
  return true;
}

Status PeerSession::choose_entries(wire::Transaction& tx, InFlight& f) {
  const std::size_t count_max =
      std::min(config_.tx_envelopes_max, wire::kEnvelopesPerTransactionMax);
  std::size_t bytes = kTransactionOverheadBytes;
  for (const wire::ConsistencyItem& c : tx.consistency) {
    bytes += kConsistencyItemBytes + kProofHashBytes * c.proof.size();
  }
  // Our rotation entries no receipt covers yet, in every transaction (a FLASH lane one too):
  // a peer that lacks one cannot check what our new key signed.
  PARLEY_RETURN_IF_ERROR(add_rotation_entries(tx, f, bytes));
  for (const auto& [key, o] : outbox_.queue()) {
    if (tx.entries.size() >= count_max) break;
    if (f.lane && o.record.precedence != Precedence::kFlash) break;  // FLASH sorts first
    if (o.in_flight) continue;        // another transaction of the window carries it
    if (o.index >= f.size) continue;  // cannot happen: an index is assigned before queueing
    Result<std::vector<ledger::Hash>> proof = own_.inclusion_proof(o.index, f.size);
    if (!proof.is_ok()) return proof.status();
    const std::size_t entry_bytes =
        o.record.envelope.size() + kEntryBytes + kProofHashBytes * proof->size();
    if (!tx.entries.empty() && bytes + entry_bytes > wire::kFrameBytesMax) break;
    bytes += entry_bytes;
    if (f.ids.size() == f.rotations) f.precedence = o.record.precedence;  // the first message
    f.ids.push_back(o.record.id);
    f.indices.push_back(o.index);
    f.proofs.push_back(*proof);
    tx.entries.push_back({o.index, o.record.envelope, std::move(*proof)});
  }
  return Status::ok();
}

void PeerSession::build_failed(const Status& status, std::vector<Action>& out) {
  // A bug or a store that does not hold together: a head we cannot prove could fork the log.
  build_failed_ = true;
  counters_.last_error = "cannot build a transaction: " + status.message();
  out.push_back(Notify{notice(NoticeKind::kLinkTrouble, "", "", counters_.last_error)});
}

void PeerSession::schedule_retry(InFlight& f, Time now, const std::string& reason, NoticeKind kind,
                                 std::vector<Action>& out) {
  ++counters_.send_failures;
  // Each transaction of the window backs off on its own: a path that fails them all at once
  // (it went down) delays each by its own streak, not by the window's size.
  f.backoff = f.backoff == Duration::zero() ? config_.retry_min
                                            : std::min(f.backoff * 2, config_.retry_max);
  const bool news = failure_streak_ == 0 || reason != counters_.last_error;
  ++failure_streak_;
  counters_.last_error = reason;
  f.retry_at = now + f.backoff;
  // One alert per streak (or when the trouble changes), not one per retry.
  if (news) {
    out.push_back(Notify{
        notice(kind, "", "",
               reason + "; retrying transaction " + f.tx + " in " + format_duration(f.backoff))});
  }
}

bool PeerSession::superseded_by_ours(const InFlight& f) const {
  if (own_.countersigned_size() > f.size) return true;  // a later one was receipted
  for (const InFlight& other : outbox_.window()) {
    if (other.size > f.size) return true;
  }
  return false;
}

void PeerSession::on_answer(const TransactionAnswered& e, Time now, std::vector<Action>& out) {
  counters_.last_contact = now;
  InFlight* f = outbox_.in_flight(e.tx);
  if (f == nullptr || f->receipted) return;  // stale
  const std::string& peer = config_.peer.party;
  if (e.http_status == 425) {
    if (f->after > 0 && f->after <= own_.countersigned_size()) {
      // The peer countersigned the head this one comes after, yet says it lacks it. Once may
      // be the receipt of the one before overtaking this answer: sent again. Twice, the
      // peer's copy of our log went back (its store was restored): a log conflict, an alarm.
      if (++f->early_after_countersigned >= 2) {
        mark_reached(*f, now, out);
        return on_refused(*f, lost_countersigned_head(peer, f->after), now, out);
      }
      f->blocked = false;
      f->retry_at = now + config_.retry_min;
      return;
    }
    // One before it has not reached the peer: sent again once one before it is receipted
    // (receipted()), or after a while if none is. Nothing of it was stored; no fault.
    f->blocked = true;
    f->retry_at = now + std::max(f->backoff, config_.retry_min);
    return;
  }
  if (e.http_status == 409 && superseded_by_ours(*f)) {
    // The peer holds a later head (a FLASH lane transaction or a later one arrived first): its
    // messages go again in a new transaction, over a head the peer can take.
    ++counters_.transactions_superseded;
    return give_up_in_flight(e.tx, false);
  }
  // A 409 that no later transaction of ours explains: the peer countersigned more of our log
  // than we hold (our store went back, docs/protocol.md "Forks and restores"). Sending the
  // messages again at once would be refused again, forever: it is a refusal (an alarm, and
  // retried with backoff) like any other 4xx below.
  if (e.http_status >= 400 && e.http_status < 500) {
    mark_reached(*f, now, out);
    Result<wire::Refusal> refusal = wire::parse_refusal(e.body);
    std::string error =
        refusal.is_ok() ? refusal->error
                        : "HTTP " + std::to_string(e.http_status) + " without a readable refusal";
    if (refusal.is_ok() && !refusal->id.empty()) error += " (envelope " + refusal->id + ")";
    return on_refused(*f, error, now, out);
  }
  if (e.http_status != 200) {
    mark_reached(*f, now, out);
    return schedule_retry(*f, now,
                          single_quoted(peer) + " answered HTTP " + std::to_string(e.http_status),
                          NoticeKind::kLinkTrouble, out);
  }
  // Signed by the peer's key we named (Transaction::pinned: the newest when this transaction
  // was built, InFlight::peer_keys) or a later one; none older (a replaced key signs nothing
  // new for us).
  const std::vector<ledger::KeyChain::Link>& keys = peer_chain_.links();
  Result<ReceiptView> receipt = open_countersignature(e.body, keys.back().key, peer);
  const std::size_t oldest = std::min(f->peer_keys, keys.size()) - 1;
  for (std::size_t k = keys.size() - 1; !receipt.is_ok() && k > oldest;) {
    --k;
    Result<ReceiptView> older = open_countersignature(e.body, keys[k].key, peer);
    if (older.is_ok()) receipt = std::move(older);
  }
  const std::string problem =
      receipt.is_ok() ? receipt_problem(*f, *receipt) : receipt.status().message();
  if (!problem.empty()) {
    mark_reached(*f, now, out);
    return schedule_retry(*f, now, "invalid receipt from " + single_quoted(peer) + ": " + problem,
                          NoticeKind::kPeerRefused, out);
  }
  apply_receipt(*f, std::move(*receipt), e.body, now, out);
}

std::string PeerSession::receipt_problem(const InFlight& f, const ReceiptView& receipt) const {
  const std::string& peer = config_.peer.party;
  if (receipt.tx != f.tx) return "it is for transaction " + receipt.tx + ", not " + f.tx;
  if (receipt.from != peer)
    return "it is from " + single_quoted(receipt.from) + ", not " + single_quoted(peer);
  if (receipt.to != config_.party) {
    return "it is to " + single_quoted(receipt.to) + ", not " + single_quoted(config_.party);
  }
  if (receipt.ids != f.ids) return "its ids are not the transaction's";
  if (receipt.indices != f.indices) return "its indices are not the transaction's";
  if (receipt.sth_payload != f.sth_payload || receipt.sth_sig != f.sth_sig) {
    return "it does not countersign the head the transaction carried";
  }
  return "";
}

void PeerSession::mark_reached(InFlight& f, Time now, std::vector<Action>& out) {
  if (f.reached) return;
  f.reached = true;
  std::vector<Record> records;
  for (const std::string& id : f.ids) {
    Outgoing* o = outbox_.carried(id);
    if (o == nullptr) continue;
    const MessageState before = o->record.state;
    MessageChange change(MessageEvent::kReachedPeer, now);
    change.tx = f.tx;
    UpdateMessage update = transition(o->record, change);
    if (o->record.state != before) records.push_back(std::move(update));
  }
  if (!records.empty()) persist(std::move(records), std::nullopt, out);
}

void PeerSession::apply_receipt(InFlight& f, ReceiptView receipt, const std::string& body, Time now,
                                std::vector<Action>& out) {
  counters_.own_conflict.clear();  // the peer countersigned our head: the logs agree
  std::map<std::string, std::string> refused;
  for (ledger::ReceiptRefusal& r : receipt.refused) refused[r.id] = std::move(r.reason);

  std::vector<Record> records;
  // Its first entries are our rotation statements (no message): the head's receipt covers them.
  for (std::size_t i = f.rotations; i < f.ids.size(); ++i) {
    const std::string& id = f.ids[i];
    Outgoing* o = outbox_.carried(id);
    PARLEY_CHECK(o != nullptr);
    const MessageState before = o->record.state;
    // A message the peer refused is final: refused with its reason, never delivered. The
    // receipt that says so is its evidence (the peer signed the refusal).
    const auto refusal = refused.find(id);
    MessageChange change(MessageEvent::kReceipted, now);
    change.tx = f.tx;
    change.receipt = body;
    if (refusal != refused.end()) {
      change.event = MessageEvent::kRefusedByPeer;
      change.refusal = refusal->second;
    }
    records.push_back(transition(o->record, change));
    const MessageState after = o->record.state;
    if (after == MessageState::kRefused || after == MessageState::kExpired) {
      untrack(id);  // final: no ack will come, so no overdue mark follows
    } else if (before == MessageState::kExpired) {
      // The receiver took it before it expired by its clock: the receipt wins, and the
      // message waits for its ack again.
      auto u = unacked_.find(id);
      if (u == unacked_.end() && o->record.needs_ack) {
        track(id, Unacked{o->record.line, o->record.precedence, o->record.ack_deadline, false,
                          false, o->record.from.principal});
      } else if (!u->second.overdue && !u->second.ack_pending) {
        deadlines_.emplace(u->second.deadline, id);
      }
    }
    // The message's delivery evidence: this receipt and its inclusion in the head.
    records.push_back(PutInclusion{id, f.indices[i], f.size, f.root, f.proofs[i]});
  }
  PutHead head;
  head.owner = config_.party;
  head.peer = config_.peer.party;
  head.size = f.size;
  head.root = f.root;
  head.sth = f.sth;
  head.receipt = body;
  // The compact range at this size: where proofs start from after a restart.
  if (Result<ledger::CompactRange> range = own_.range_at(f.size); range.is_ok()) {
    head.frontier = range->nodes();
  }
  records.push_back(std::move(head));
  f.receipted = true;
  f.retry_at.reset();
  AfterPersist after;
  after.receipted_tx = f.tx;
  persist(std::move(records), std::move(after), out);
}

void PeerSession::on_refused(InFlight& f, const std::string& error, Time now,
                             std::vector<Action>& out) {
  ++counters_.transactions_refused;
  ++refusal_streak_;
  counters_.last_refusal = error;
  if (refusal_says_log_conflict(error)) counters_.own_conflict = error;
  const std::string& peer = config_.peer.party;
  schedule_retry(f, now, single_quoted(peer) + " refused our transaction: " + error,
                 NoticeKind::kPeerRefused, out);
  // The same transaction (or its successor with the same messages) refused again: retrying
  // alone will not fix it. Said at the 2nd refusal in a row, then at each doubling.
  if (refusal_streak_ < kRefusalAlertStreak || (refusal_streak_ & (refusal_streak_ - 1)) != 0) {
    return;
  }
  out.push_back(Notify{notice(NoticeKind::kRefusalRepeats, "", "",
                              single_quoted(peer) + " refused our transaction " +
                                  std::to_string(refusal_streak_) + " times in a row (" + error +
                                  "); " + std::to_string(outbox_.size()) +
                                  " messages wait: check both parties' configuration and keys")});
}

void PeerSession::on_failed(const TransactionFailed& e, Time now, std::vector<Action>& out) {
  InFlight* f = outbox_.in_flight(e.tx);
  if (f == nullptr || f->receipted) return;  // stale
  schedule_retry(*f, now, "no answer from " + single_quoted(config_.peer.party) + ": " + e.reason,
                 NoticeKind::kLinkTrouble, out);
}

}  // namespace parley::core
