// PeerSession, at start: taking back from the peer what our store lost (docs/protocol.md
// "Forks and restores"). Before it signs or sends anything new, the session asks the peer
// (POST /federation/v1/log, core/log_recovery.h) for its copy of both logs of the pair: our
// newest head it countersigned with its receipt and our entries after the size we hold, and
// its newest head we countersigned with our receipt and its entries after the size we hold.
// Each copy is checked against both keys and the roots our frontiers give; what it gives back
// is stored (our messages as delivered, the peer's as received, without new alerts), and only
// then does the session go on. A copy that cannot be taken is an alarm (forked), and nothing
// new is signed for the peer until an operator settles it and restarts the gateway.
#include <algorithm>
#include <map>
#include <utility>

#include "parley/base/check.h"
#include "parley/core/message_state.h"
#include "parley/core/peer_session.h"
#include "parley/core/session_internal.h"
#include "parley/ledger/transcript.h"

namespace parley::core {

using namespace internal;  // the session's own helpers (session_internal.h)

namespace {

// The size the head `sth` of `owner`'s log claims (0 for none); an error if it is not one.
// Its signature is not checked here: the key in force at its size may be one a rotation
// among the entries still to come puts in force (docs/protocol.md "Key rotation"), so it is
// checked once every page is in (verify_peer_copy, verify_copy_of_peer_log).
Result<std::uint64_t> claimed_size(const std::string& sth, const std::string& owner) {
  if (sth.empty()) return std::uint64_t{0};
  PARLEY_ASSIGN_OR_RETURN(const ledger::SignedTreeHead head, ledger::parse_sth(sth));
  if (head.head.log != owner) {
    return Status::unauthenticated("a head of the log of " + single_quoted(head.head.log) +
                                   ", not of " + single_quoted(owner));
  }
  return head.head.size;
}

// The id that names entry `e`: its envelope's, or its rotation statement's.
const std::string& entry_id(const RecoveredEntry& e) {
  return e.rotation ? e.rotation->id : e.envelope.payload.id;
}

// Whether `page` continues `so_far`: the same heads (a page over another head starts again).
bool same_heads(const LogAnswer& so_far, const LogAnswer& page) {
  return so_far.yours.sth == page.yours.sth && so_far.yours.receipt == page.yours.receipt &&
         so_far.mine.sth == page.mine.sth && so_far.mine.receipt == page.mine.receipt;
}

}  // namespace

bool PeerSession::recovering(const Event& event, Time now, std::vector<Action>& out) {
  if (const auto* e = std::get_if<TransactionAnswered>(&event)) {
    if (recovery_.asked && e->tx == *recovery_.asked) on_logs_answer(*e, now, out);
    return true;  // nothing else of ours is in flight
  }
  if (const auto* e = std::get_if<TransactionFailed>(&event)) {
    if (recovery_.asked && e->tx == *recovery_.asked) logs_not_answered(e->reason, now, out);
    return true;
  }
  if (const auto* e = std::get_if<TransactionReceived>(&event)) {
    // A receipt now would countersign a head after one we may have lost: the peer tries again.
    const std::string why = recovery_.failed
                                ? counters_.fork
                                : single_quoted(config_.party) + " is recovering its logs with " +
                                      single_quoted(config_.peer.party) + "; try again";
    out.push_back(Answer{e->request, 503, wire::encode_refusal({why, ""})});
    return true;
  }
  if (std::holds_alternative<Persisted>(event) || std::holds_alternative<PersistRefused>(event)) {
    return false;  // on_persisted / on_persist_refused end the recovery (or fail it)
  }
  if (std::holds_alternative<TimerFired>(event)) {
    refuse_held(counters_.recovering, now - kHeldWaitMax, out);
    if (!recovery_.failed && !recovery_.asked && !recovery_.storing && now >= recovery_.retry_at) {
      ask_for_logs(now, out);
    }
    return true;
  }
  // A principal's request waits for the end: it may sign an entry, and a new envelope takes
  // the next seq of its line, which the peer's copy may hold already. While the peer does not
  // answer it waits at most kHeldWaitMax, then it is refused (503) with the reason rather than
  // held for as long as the peer is away: the principal knows it was not taken.
  const auto refuse = [&](RequestId request) {
    out.push_back(Rejected{
        request, Status::unavailable(recovery_.failed ? counters_.fork : counters_.recovering)});
  };
  if (recovery_.failed || recovery_.held.size() >= kHeldDuringRecoveryMax) {
    if (const auto* s = std::get_if<Submit>(&event)) refuse(s->request);
    if (const auto* a = std::get_if<Acknowledge>(&event)) refuse(a->request);
    if (const auto* c = std::get_if<Cancel>(&event)) refuse(c->request);
    return true;
  }
  recovery_.held.emplace_back(now, event);
  return true;
}

bool PeerSession::watch_logs(const Event& event, Time now, std::vector<Action>& out) {
  if (const auto* e = std::get_if<TransactionAnswered>(&event)) {
    if (!recovery_.asked || e->tx != *recovery_.asked) return false;
    on_logs_answer(*e, now, out);
    return true;
  }
  if (const auto* e = std::get_if<TransactionFailed>(&event)) {
    if (!recovery_.asked || e->tx != *recovery_.asked) return false;
    logs_not_answered(e->reason, now, out);
    return true;
  }
  if (std::holds_alternative<TimerFired>(event) && !recovery_.asked && now >= recovery_.retry_at) {
    ask_for_logs(now, out);  // and the timer's usual work: nothing waits for the answer
  }
  return false;
}

void PeerSession::ask_for_logs(Time now, std::vector<Action>& out) {
  LogRequest request{config_.party, config_.peer.party, own_.assigned(), peer_.size};
  if (recovery_.copy) {
    request.after += recovery_.copy->yours.entries.size();
    request.peer_after += recovery_.copy->mine.entries.size();
  }
  SendTransaction send;
  send.tx = uuid_v7(now, rng_);
  send.precedence = Precedence::kFlash;  // everything waits for it
  send.body = encode_log_request(request);
  send.log_request = true;
  recovery_.asked = send.tx;
  out.push_back(std::move(send));
}

void PeerSession::logs_not_answered(const std::string& reason, Time now, std::vector<Action>& out) {
  recovery_.asked.reset();
  ++counters_.send_failures;
  recovery_.backoff = recovery_.backoff == Duration::zero()
                          ? config_.retry_min
                          : std::min(recovery_.backoff * 2, config_.retry_max);
  recovery_.retry_at = now + recovery_.backoff;
  if (recovery_.watching) {
    // Nothing waits for it: asked again after the backoff, said in the log only once.
    if (recovery_.failures++ == 0) {
      out.push_back(Notify{notice(NoticeKind::kLogRecovery, "", "",
                                  "asking " + single_quoted(config_.peer.party) +
                                      " what it holds of our logs: " + reason +
                                      "; asking again (nothing waits for it)")});
    }
    return;
  }
  const std::string text = "recovering our log from " + single_quoted(config_.peer.party) + ": " +
                           reason + "; nothing new is sent until it answers (asking again in " +
                           format_duration(recovery_.backoff) + ")";
  // One notice per streak (or when the trouble changes), not one per retry.
  const bool news = recovery_.failures++ == 0 || reason != counters_.last_error;
  counters_.last_error = reason;
  counters_.recovering = text;
  if (news) out.push_back(Notify{notice(NoticeKind::kLogRecovery, "", "", text)});
  refuse_held(text, now - kHeldWaitMax, out);
}

void PeerSession::refuse_held(const std::string& why, Time before, std::vector<Action>& out) {
  std::deque<std::pair<Time, Event>> kept;
  for (auto& [at, event] : std::exchange(recovery_.held, {})) {
    const RequestId* request = nullptr;
    if (const auto* s = std::get_if<Submit>(&event)) request = &s->request;
    if (const auto* a = std::get_if<Acknowledge>(&event)) request = &a->request;
    if (const auto* c = std::get_if<Cancel>(&event)) request = &c->request;
    if (request != nullptr && at <= before) {
      out.push_back(Rejected{*request, Status::unavailable(why)});
    } else {
      kept.emplace_back(at, std::move(event));
    }
  }
  recovery_.held = std::move(kept);
}

void PeerSession::on_logs_answer(const TransactionAnswered& e, Time now, std::vector<Action>& out) {
  counters_.last_contact = now;
  const std::string& peer = config_.peer.party;
  if (e.http_status != 200) {
    Result<wire::Refusal> refusal = wire::parse_refusal(e.body);
    return logs_not_answered(single_quoted(peer) + " answered HTTP " +
                                 std::to_string(e.http_status) +
                                 (refusal.is_ok() ? ": " + refusal->error : std::string()),
                             now, out);
  }
  recovery_.asked.reset();
  Result<LogAnswer> page = parse_log_answer(e.body, peer, config_.party);
  if (!page.is_ok()) {
    return recovery_failed("its answer is unreadable: " + page.status().message(), out);
  }
  const bool page_has_ours = !page->yours.entries.empty();
  const bool page_has_theirs = !page->mine.entries.empty();
  if (!recovery_.copy || !same_heads(*recovery_.copy, *page)) {
    // The first page, or the heads moved since the last one: start from our sizes again.
    const bool restart = recovery_.copy.has_value();
    recovery_.copy = std::move(*page);
    if (restart) return ask_for_logs(now, out);
  } else {
    for (auto& entry : page->yours.entries) recovery_.copy->yours.entries.push_back(entry);
    for (auto& entry : page->mine.entries) recovery_.copy->mine.entries.push_back(entry);
  }
  const LogAnswer& copy = *recovery_.copy;
  Result<std::uint64_t> ours = claimed_size(copy.yours.sth, config_.party);
  Result<std::uint64_t> theirs = claimed_size(copy.mine.sth, peer);
  if (!ours.is_ok() || !theirs.is_ok()) {
    return recovery_failed("a head it returned is not one of its owner's: " +
                               (ours.is_ok() ? theirs.status() : ours.status()).message(),
                           out);
  }
  // More pages while a page brought entries and a log is still short of its head.
  const bool our_short = *ours > own_.assigned() + copy.yours.entries.size();
  const bool their_short = *theirs > peer_.size + copy.mine.entries.size();
  if ((our_short && page_has_ours) || (their_short && page_has_theirs)) {
    counters_.recovering = "recovering our log from " + single_quoted(peer) + ": " +
                           std::to_string(copy.yours.entries.size() + copy.mine.entries.size()) +
                           " entries so far";
    return ask_for_logs(now, out);
  }
  take_copies(now, out);
}

void PeerSession::take_copies(Time now, std::vector<Action>& out) {
  const LogAnswer& copy = *recovery_.copy;
  if (recovery_.watching) {
    // An ordinary start, not waited for: what the copy gives back can be taken only if
    // nothing was signed, sent or received since start (else our new entries or heads, or the
    // peer's, would sit at indexes the copy holds). Otherwise a log that went back shows as
    // before, when the peer refuses our heads (docs/protocol.md "Forks and restores").
    if (own_.assigned() != recovery_.start_assigned || peer_.size != recovery_.start_peer_size ||
        !outbox_.window().empty() || !after_persist_.empty()) {
      return end_recovery(now, out);
    }
    recovery_.watching = false;
    recovery_.active = true;  // from here on as after a restore
  }
  // Both logs' keys along their chains (ledger/key_chain.h): ours as the session holds it, the
  // peer's as pinned here; rotation statements among the entries extend them.
  RecoveryParties parties{own_chain_, peer_chain_};
  std::vector<Record> records;
  AfterPersist after;
  after.recovery = true;
  if (!peer_head_holds(copy, out)) return;
  // The peer's log first: its acks of our messages are known before ours are stored.
  const Result<std::uint64_t> theirs = claimed_size(copy.mine.sth, copy.from);  // read before
  if (theirs.is_ok() && *theirs > peer_.size) {
    Result<VerifiedPeerCopy> verified =
        verify_copy_of_peer_log(copy, peer_.size, peer_.root, parties);
    if (!verified.is_ok()) {
      return recovery_failed(
          "its copy of its own log cannot be taken: " + verified.status().message(), out);
    }
    if (Status s = add_recovered_peer(*verified, now, records, after); !s.is_ok()) {
      return recovery_failed(s.message(), out);
    }
    // The peer's receipts of our log, signed after a rotation its copy gave back, are checked
    // with its chain through that copy.
    parties.peer = *verified->chain;
  }
  if (!copy.yours.sth.empty()) {
    Result<VerifiedPeerCopy> verified = verify_peer_copy(copy.yours, own_, parties);
    if (!verified.is_ok()) {
      return recovery_failed("its copy of our log cannot be taken: " + verified.status().message(),
                             out);
    }
    if (verified->head.head.size > own_.countersigned_size()) {
      if (Status s = add_recovered_own(*verified, now, records, after); !s.is_ok()) {
        return recovery_failed(s.message(), out);
      }
    }
  }
  if (records.empty()) return end_recovery(now, out);  // nothing lost: the usual start
  recovery_.storing = true;
  counters_.recovering = "recovering our log from " + single_quoted(config_.peer.party) +
                         ": storing what it gave back";
  persist(std::move(records), std::move(after), out);
}

bool PeerSession::peer_head_holds(const LogAnswer& copy, std::vector<Action>& out) {
  if (copy.mine.sth.empty()) return true;
  Result<ledger::SignedTreeHead> head = ledger::parse_sth(copy.mine.sth);  // on_logs_answer did
  const std::uint64_t size = head.is_ok() ? head->head.size : 0;
  // A larger head is checked with the entries that lead to it (verify_copy_of_peer_log).
  if (head.is_ok() && size > peer_.size) return true;
  const Status s =
      head.is_ok() ? ledger::verify_sth(*head, peer_chain_.head_key(size)) : head.status();
  if (s.is_ok()) return true;
  recovery_failed("its head of size " + std::to_string(size) +
                      " is not signed by its key in force at that size: " + s.message(),
                  out);
  return false;
}

MessageRecord PeerSession::recovered_record(const RecoveredEntry& e, Direction direction,
                                            const VerifiedPeerCopy& copy) const {
  const wire::Payload& p = e.envelope.payload;
  const Line* line = find_line(p.line);
  MessageRecord r = record_of(p, direction, e.envelope_json, copy.receipt.body.tx);
  r.ack_deadline =
      p.created + (line != nullptr ? line->deadlines.for_precedence(p.precedence) : Duration{});
  return r;
}

Status PeerSession::add_recovered_own_entry(const RecoveredEntry& e, const VerifiedPeerCopy& copy,
                                            Time now, std::vector<Record>& records,
                                            AfterPersist& after) {
  const std::uint64_t index = own_.append(e.leaf);
  PARLEY_CHECK(index == e.index);  // verify_peer_copy gave them from our size, in order
  after.log_entries.push_back(index);
  if (e.rotation) {
    // A rotation of ours the peer holds: an entry of our log again, and a link of our chain.
    // It must be one of this home's statements (keys/rotations/), whose keys sign after it.
    const std::uint64_t n = e.rotation->n;
    if (n == 0 || n > config_.own.statements.size() ||
        config_.own.statements[n - 1] != e.envelope_json) {
      return Status::failed_precondition(
          "our key rotation " + std::to_string(n) + " at entry " + std::to_string(index) +
          " of the copy is not the statement of this home's keys/rotations/ (the home and the "
          "log do not belong together)");
    }
    after.recovered_own_ids.emplace(n, e.rotation->id);
    records.push_back(
        rotation_row(config_.party, config_.peer.party, index, *e.rotation, e.envelope_json));
    records.push_back(LogEntry{config_.party, config_.peer.party, index, e.rotation->id, e.leaf});
    return Status::ok();
  }
  const wire::Payload& p = e.envelope.payload;
  // Sealed under our epoch in force at its entry (our chain's).
  Result<crypto::SealKey> key = own_seal_key(epoch_at(*copy.chain, index));
  Result<wire::Opened> opened =
      key.is_ok() ? wire::open_content(p, *key) : Result<wire::Opened>(key.status());
  if (!opened.is_ok()) {
    return Status::data_loss("our recovered entry " + std::to_string(index) +
                             " cannot be opened: " + opened.status().message());
  }
  MessageRecord r = recovered_record(e, Direction::kOutbound, copy);
  r.content = std::move(opened->content);
  r.salt = std::move(opened->salt);
  // The receipt and the entry's inclusion in the head it countersigns are the evidence.
  r.state = MessageState::kDelivered;
  r.delivered_at = now;
  r.receipt = copy.receipt_json;
  std::uint64_t& last = last_outbound_seq_[p.line];
  last = std::max(last, p.seq);
  if (r.needs_ack) {
    after.track.emplace_back(
        r.id, Unacked{r.line, r.precedence, r.ack_deadline, false, false, r.from.principal});
  }
  records.push_back(PutMessage{std::move(r)});
  records.push_back(LogEntry{config_.party, config_.peer.party, index, p.id, e.leaf});
  return Status::ok();
}

Status PeerSession::add_recovered_own(const VerifiedPeerCopy& copy, Time now,
                                      std::vector<Record>& records, AfterPersist& after) {
  const std::uint64_t size = copy.head.head.size;
  const ledger::Hash& root = copy.head.head.root;
  for (const RecoveredEntry& e : copy.entries) {
    PARLEY_RETURN_IF_ERROR(add_recovered_own_entry(e, copy, now, records, after));
  }
  // Our stored messages the head covers but the store still has unreceipted (the receipt came
  // after the backup): delivered, by the same receipt.
  std::vector<std::string> covered;
  for (const auto& [key, o] : outbox_.queue()) {
    if (o.index < size && o.record.state != MessageState::kCancelled)
      covered.push_back(o.record.id);
  }
  for (const std::string& id : covered) {
    Outgoing* o = outbox_.queued(id);
    MessageChange change(MessageEvent::kReceipted, now);
    change.tx = copy.receipt.body.tx;
    change.receipt = copy.receipt_json;
    records.push_back(transition(o->record, change));
    const std::uint64_t index = o->index;
    outbox_.unqueue(id);
    // Its inclusion proof is added with the others below; `index` is known by its record.
    Result<std::vector<ledger::Hash>> proof = own_.inclusion_proof(index, size);
    if (proof.is_ok()) records.push_back(PutInclusion{id, index, size, root, std::move(*proof)});
  }
  for (const RecoveredEntry& e : copy.entries) {
    Result<std::vector<ledger::Hash>> proof = own_.inclusion_proof(e.index, size);
    if (!proof.is_ok()) return proof.status();
    records.push_back(PutInclusion{entry_id(e), e.index, size, root, std::move(*proof)});
  }
  PutHead head;
  head.owner = config_.party;
  head.peer = config_.peer.party;
  head.size = size;
  head.root = root;
  head.sth = copy.sth;
  head.receipt = copy.receipt_json;
  if (Result<ledger::CompactRange> range = own_.range_at(size); range.is_ok()) {
    head.frontier = range->nodes();
  }
  records.push_back(std::move(head));
  after.recovered_head = std::make_pair(size, root);
  if (copy.chain->links().size() > own_chain_.links().size())
    after.recovered_own_chain = copy.chain;
  return Status::ok();
}

Status PeerSession::add_recovered_peer(const VerifiedPeerCopy& copy, Time now,
                                       std::vector<Record>& records, AfterPersist& after) {
  const std::uint64_t size = copy.head.head.size;
  const ledger::Hash& root = copy.head.head.root;
  // The peer's log as we hold it, extended by the entries: their inclusion proofs.
  RecoveredLedger held;
  held.log_size = peer_.size;
  held.base_size = peer_.size;
  held.base_nodes = *recovery_.copy->mine_range;  // verify_copy_of_peer_log required it
  OwnLog log;
  PARLEY_RETURN_IF_ERROR(log.recover(std::move(held)));
  for (const RecoveredEntry& e : copy.entries) log.append(e.leaf);
  for (const RecoveredEntry& e : copy.entries) {
    PARLEY_ASSIGN_OR_RETURN(std::vector<ledger::Hash> proof, log.inclusion_proof(e.index, size));
    peer_.ids[e.index] = entry_id(e);
    peer_.stored_ids.insert(entry_id(e));
    if (e.rotation) {
      // Its rotation, stored as the receive path stores one, and pinned once durable.
      records.push_back(
          rotation_row(config_.peer.party, config_.party, e.index, *e.rotation, e.envelope_json));
      records.push_back(
          LogEntry{config_.peer.party, config_.party, e.index, e.rotation->id, e.leaf});
      records.push_back(PutInclusion{e.rotation->id, e.index, size, root, std::move(proof)});
      after.actions.push_back(
          Notify{rotation_notice(config_.peer.party, *e.rotation, e.index, /*recovered=*/true)});
      continue;
    }
    const wire::Payload& p = e.envelope.payload;
    MessageRecord r = recovered_inbound(e, copy, now);
    // Delivered before our store went back: no new alert. An ack of one of ours (held, or
    // recovered below) and one of the peer's awaiting our ack are left as they are stored:
    // their acks travel again at the next exchange only if they were lost (docs/protocol.md).
    if (r.state == MessageState::kDelivered && r.needs_ack) {
      AwaitingAck a{p.line, p.from,       p.precedence,  r.ack_deadline,
                    false,  std::nullopt, p.to.principal};
      inbound_.watch(p.id, std::move(a));
    }
    peer_.seqs[p.line].insert(p.seq);
    records.push_back(PutMessage{std::move(r)});
    records.push_back(LogEntry{config_.peer.party, config_.party, e.index, p.id, e.leaf});
    records.push_back(PutInclusion{p.id, e.index, size, root, std::move(proof)});
  }
  PutHead head;
  head.owner = config_.peer.party;
  head.peer = config_.party;
  head.size = size;
  head.root = root;
  head.sth = copy.sth;
  head.receipt = copy.receipt_json;
  records.push_back(std::move(head));
  peer_.size = size;
  peer_.root = root;
  peer_.sth = copy.sth;
  // A late copy of the transaction behind that head is answered with the same receipt.
  peer_.receipts[copy.receipt.body.tx] = Countersigned{copy.sth, copy.receipt_json, true};
  if (copy.chain->links().size() > peer_chain_.links().size()) {
    after.recovered_peer_chain = copy.chain;
  }
  return Status::ok();
}

MessageRecord PeerSession::recovered_inbound(const RecoveredEntry& e, const VerifiedPeerCopy& copy,
                                             Time now) const {
  const wire::Payload& p = e.envelope.payload;
  const Line* line = find_line(p.line);
  MessageRecord r = recovered_record(e, Direction::kInbound, copy);
  // Sealed under the epoch in force at its entry (the peer's chain through the copy's head).
  const std::uint32_t epoch = epoch_at(*copy.chain, e.index);
  Result<wire::Opened> opened = Status::invalid_argument(
      "sealed under epoch " + std::to_string(p.epoch) + ", but epoch " + std::to_string(epoch) +
      " is in force at entry " + std::to_string(e.index));
  if (p.epoch == epoch) {
    Result<crypto::SealKey> key = seal_key_of(context(), epoch);
    opened = key.is_ok() ? wire::open_content(p, *key) : Result<wire::Opened>(key.status());
  }
  if (opened.is_ok() && line != nullptr) {
    r.content = std::move(opened->content);
    r.salt = std::move(opened->salt);
    r.state = MessageState::kDelivered;
    r.delivered_at = now;
  } else {
    // Kept as the refused entry it was: evidence of what the peer signed, no inbox message.
    r.state = MessageState::kRefused;
    r.refusal = line == nullptr ? "unknown line " + single_quoted(p.line)
                                : "recovered: " + opened.status().message();
  }
  return r;
}

void PeerSession::recovery_failed(const std::string& why, std::vector<Action>& out) {
  recovery_.watching = false;
  recovery_.active = true;  // nothing new is signed for the peer
  recovery_.failed = true;
  recovery_.asked.reset();
  const std::string& peer = config_.peer.party;
  counters_.fork = "our log with " + single_quoted(peer) + " cannot be recovered from it: " + why +
                   "; nothing new is signed for it until an operator settles it with " +
                   single_quoted(peer) + " (docs/operations.md \"Backups\")";
  counters_.recovering.clear();
  counters_.last_error = counters_.fork;
  out.push_back(Notify{notice(NoticeKind::kForkDetected, "", "", counters_.fork)});
  // What waited is refused now rather than held for ever.
  refuse_held(counters_.fork, Time::max(), out);
  recovery_.held.clear();
}

void PeerSession::end_recovery(Time now, std::vector<Action>& out) {
  const bool took = recovery_.copy && (!recovery_.copy->yours.entries.empty() ||
                                       !recovery_.copy->mine.entries.empty());
  const bool was_active = recovery_.active;
  recovery_.active = false;
  recovery_.watching = false;
  recovery_.copy.reset();
  counters_.recovering.clear();
  if (recovery_.failures > 0 || took) {
    counters_.last_error.clear();
    failure_streak_ = 0;
  }
  if (took) {
    out.push_back(Notify{notice(NoticeKind::kLogRecovery, "", "",
                                "recovered our logs with " + single_quoted(config_.peer.party) +
                                    " from its copy; sending again")});
  }
  // What waited is handled now, in its order; then the usual start (TimerFired: overdue
  // marks, tests, the queue).
  if (!was_active) return;  // an ordinary start: nothing waited
  for (auto& [at, event] : std::exchange(recovery_.held, {})) handle(event, now, out);
  handle(TimerFired{}, now, out);
}

}  // namespace parley::core
