#include "parley/core/peer_session.h"

#include <algorithm>
#include <utility>

#include "parley/base/check.h"
#include "parley/base/json.h"
#include "parley/core/message_state.h"
#include "parley/core/session_internal.h"
#include "parley/core/stored_chain.h"
#include "parley/core/transcript_view.h"
#include "parley/ledger/transcript.h"

namespace parley::core {

using namespace internal;  // the session's own helpers (session_internal.h)

std::string_view notice_kind_name(NoticeKind kind) {
  switch (kind) {
    case NoticeKind::kMessageReceived:
      return "message-received";
    case NoticeKind::kDelivered:
      return "delivered";
    case NoticeKind::kAcknowledged:
      return "acknowledged";
    case NoticeKind::kInboundOverdue:
      return "inbound-overdue";
    case NoticeKind::kFrameRefused:
      return "frame-refused";
    case NoticeKind::kPeerRefused:
      return "peer-refused";
    case NoticeKind::kLinkTrouble:
      return "link-trouble";
    case NoticeKind::kForkDetected:
      return "fork-detected";
    case NoticeKind::kMessageRefused:
      return "message-refused";
    case NoticeKind::kInboundRefused:
      return "inbound-refused";
    case NoticeKind::kRefusalRepeats:
      return "refusal-repeats";
    case NoticeKind::kMessageExpired:
      return "message-expired";
    case NoticeKind::kMessageCancelled:
      return "message-cancelled";
    case NoticeKind::kEscalation:
      return "escalation";
    case NoticeKind::kLogRecovery:
      return "log-recovery";
    case NoticeKind::kPeerKeyRotated:
      return "peer_key_rotated";
  }
  return "unknown";
}

PeerSession::PeerSession(SessionConfig config, const catalog::Catalog& catalog, Rng& rng,
                         Recovered recovered)
    : config_(std::move(config)),
      peer_chain_(config_.peer.party, config_.peer.sign_key),
      own_chain_(config_.party, config_.keys.verify),
      catalog_(catalog),
      rng_(rng),
      escalations_(config_.realert),
      tests_(config_.tests) {
  Result<crypto::SealKey> key = crypto::derive_seal_key(
      config_.keys.box_secret, config_.keys.box_public, config_.peer.box_key, /*epoch=*/1);
  if (key.is_ok()) {
    seal_key_ = *key;
  } else {
    seal_key_status_ =
        key.status().with_context("peer " + single_quoted(config_.peer.party) + " box key");
  }
  if (config_.tx_envelopes_max == 0) config_.tx_envelopes_max = 1;
  if (config_.window == 0) config_.window = 1;
  if (config_.retry_min <= Duration::zero()) config_.retry_min = Duration(1);
  if (config_.retry_max < config_.retry_min) config_.retry_max = config_.retry_min;

  // The peer's rotations we stored: its key in force is the newest (docs/protocol.md "Key
  // rotation"). One that does not follow means the store changed under us: the chain stops
  // before it, and the peer's heads signed with a later key are refused, visibly.
  if (Status s = extend_chain(peer_chain_, recovered.peer_rotations); !s.is_ok()) {
    counters_.last_error = s.message();
  }
  derive_seal_keys();
  last_outbound_seq_ = std::move(recovered.last_outbound_seq);
  for (const auto& [line, seqs] : recovered.inbound_seqs) {
    peer_.seqs.emplace(line, SeqSet(seqs.watermark, seqs.above));
  }
  // The transcript: the frontier of our log and the heads of both logs. A store that does
  // not hold together cannot be extended without forking the log: no head is signed until
  // an operator looks (every tx build fails on the root).
  RecoveredLedger& l = recovered.ledger;
  const std::optional<RecoveredHead> peer_head = std::move(l.peer_head);
  if (Status s = own_.recover(std::move(l)); !s.is_ok()) counters_.last_error = s.message();
  peer_.root = ledger::empty_root();
  if (peer_head) {
    peer_.size = peer_head->size;
    peer_.root = peer_head->root;
    peer_.sth = peer_head->sth;
    if (peer_head->receipt) {
      // Our own signature, as stored: unreadable only if the store changed under us, and
      // then a resent transaction is simply countersigned again.
      Result<ledger::ReceiptV2> stored = ledger::parse_receipt_v2(*peer_head->receipt);
      if (stored.is_ok()) {
        peer_.receipts[stored->body.tx] = {peer_head->sth, *peer_head->receipt, true};
      }
    }
  }

  // Our rotations the store holds in our log for the peer (the rest is appended at the first
  // event): one that is not the home's means the two do not belong together, and nothing more
  // is signed for the peer.
  if (Status s = recover_own_chain(recovered.own_rotations); !s.is_ok()) {
    build_failed_ = true;
    counters_.last_error = "cannot build a transaction: " + s.message();
  }
  requeue_unreceipted(recovered.unreceipted);
  watch_recovered(recovered);
  for (auto& [line, test] : recovered.line_tests) tests_.recover(line, std::move(test));
  begin_recovery();
}

// Our stored messages not yet receipted, back in the outbox at their log index (resent after
// start); a message that cannot be resent as it is stays out, with the reason in last_error.
void PeerSession::requeue_unreceipted(std::vector<MessageRecord>& unreceipted) {
  for (MessageRecord& record : unreceipted) {
    // Cancelled: final, never sent, so not in the frontier either (its base may be past it).
    if (record.state == MessageState::kCancelled) continue;
    // Our own signature over our own stored envelope: failing here means the store or our
    // keys changed under us. The message cannot be sent as it is; say so, keep the rest.
    Result<wire::Envelope> envelope = wire::open_envelope(
        record.envelope, own_chain_.entry_key(record.log_index.value_or(0)), config_.party);
    if (!envelope.is_ok()) {
      counters_.last_error =
          "stored message " + record.id + " cannot be resent: " + envelope.status().message();
      continue;
    }
    if (!record.log_index || *record.log_index >= own_.assigned() ||
        *record.log_index < own_.base_size()) {
      counters_.last_error = "stored message " + record.id +
                             " cannot be resent: it has no entry in the transcript frontier";
      continue;
    }
    std::uint64_t& last = last_outbound_seq_[record.line];
    last = std::max(last, record.seq);
    // Expired before a receipt: final, never sent again.
    if (record.state == MessageState::kExpired) continue;
    const std::uint64_t index = *record.log_index;
    outbox_.enqueue(Outgoing{std::move(record), index});
  }
}

void PeerSession::begin_recovery() {
  recovery_.start_assigned = own_.assigned();
  recovery_.start_peer_size = peer_.size;
  if (config_.recover_at_start && config_.recovery_required) {
    // Nothing new is signed or sent before the peer said what it holds of both logs: a new
    // entry at an index the peer already holds would be a fork, signed by us.
    recovery_.active = true;
    counters_.recovering =
        "recovering our log from " + single_quoted(config_.peer.party) + ": asking what it holds";
  } else if (config_.recover_at_start) {
    recovery_.watching = true;  // asked at the first timer (Node's Start); nothing waits
  }
}

// The messages awaiting an ack at start, both sides: their deadlines watched again, and the
// escalations of those already overdue running again (caught up at the first timer).
void PeerSession::watch_recovered(const Recovered& recovered) {
  for (const MessageRecord& record : recovered.unacknowledged) {
    // Final: no ack will come. Acks, translations, evidence and stages await none.
    if (record.state == MessageState::kRefused || record.state == MessageState::kExpired ||
        record.state == MessageState::kCancelled || !record.needs_ack) {
      continue;
    }
    const bool overdue = record.state == MessageState::kOverdue;
    Unacked u{record.line, record.precedence,    record.ack_deadline, overdue,
              false,       record.from.principal};
    // Overdue before the restart: its escalation runs again, caught up at the first timer.
    if (overdue) escalate_sent(record.id, u);
    track(record.id, std::move(u));
  }
  // The peer's messages awaiting our ack: one already past its deadline but not yet marked
  // (the gateway was down) is marked at the first timer, which Node's Start fires at once.
  for (const MessageRecord& record : recovered.inbound_unacknowledged) {
    if (!record.needs_ack) continue;  // the peer's evidence, stages, translations await none
    AwaitingAck a{record.line,
                  record.from,
                  record.precedence,
                  record.ack_deadline,
                  record.state == MessageState::kOverdue,
                  std::nullopt,
                  record.to.principal,
                  recovered.shown.count(record.id) > 0};
    // An automatic test we had not answered yet (stopped before the answer was durable).
    a.automatic = automatic_test_sequence(record.type, record.content.body_json).has_value();
    if (a.automatic) answers_due_.insert(record.id);
    if (a.overdue) escalate_received(record.id, a);
    inbound_.watch(record.id, std::move(a));
  }
}

void PeerSession::handle(const Event& event, Time now, std::vector<Action>& out) {
  if (recovery_.active && recovering(event, now, out)) return;
  if (recovery_.watching && watch_logs(event, now, out)) {
    if (recovery_.active) return;  // storing what the peer gave back: nothing else meanwhile
    expire(now, out);
    pump(now, out);
    return;
  }
  // Our key rotations first: nothing is signed with a new key before its statement is in our
  // log for the peer (docs/protocol.md "Key rotation").
  if (own_chain_.newest().n < config_.own.statements.size()) append_own_rotations(out);
  std::visit(
      [&](const auto& e) {
        using E = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<E, Submit>) {
          on_submit(e, now, out);
        } else if constexpr (std::is_same_v<E, Acknowledge>) {
          on_acknowledge(e, now, out);
        } else if constexpr (std::is_same_v<E, Show>) {
          on_show(e, now, out);
        } else if constexpr (std::is_same_v<E, Cancel>) {
          on_cancel(e, now, out);
        } else if constexpr (std::is_same_v<E, TransactionReceived>) {
          on_transaction(e, false, now, out);
        } else if constexpr (std::is_same_v<E, TransactionAnswered>) {
          on_answer(e, now, out);
        } else if constexpr (std::is_same_v<E, TransactionFailed>) {
          on_failed(e, now, out);
        } else if constexpr (std::is_same_v<E, Persisted>) {
          on_persisted(e, now, out);
        } else if constexpr (std::is_same_v<E, PersistRefused>) {
          on_persist_refused(e, now, out);
        } else {
          static_assert(std::is_same_v<E, TimerFired>);
          on_timer(now, out);
        }
      },
      event);
  // Whatever the event, a message past its `expires` is not sent, and queued work (e.g.
  // recovered at start) leaves as soon as it can.
  expire(now, out);
  pump(now, out);
}

std::optional<Time> PeerSession::next_deadline() const {
  if (recovery_.active) {
    // Only the next request is due, and the refusal of a principal's request that waited too
    // long: everything else waits for the end of the recovery.
    if (recovery_.failed) return std::nullopt;
    std::optional<Time> due;
    if (!recovery_.asked && !recovery_.storing) due = recovery_.retry_at;
    for (const auto& [at, event] : recovery_.held) {
      if (std::holds_alternative<Show>(event)) continue;
      if (!due || at + kHeldWaitMax < *due) due = at + kHeldWaitMax;
      break;  // the oldest request decides
    }
    return due;
  }
  std::optional<Time> next;
  auto consider = [&next](Time t) {
    if (!next || t < *next) next = t;
  };
  if (recovery_.watching && !recovery_.asked) consider(recovery_.retry_at);
  for (const InFlight& f : outbox_.window()) {
    if (f.retry_at) consider(*f.retry_at);
  }
  if (may_build()) {
    // Queued work that a transaction could carry now is due at once (after a restart,
    // before any other event arrives): report the oldest queued message's creation time.
    if (const std::optional<Time> oldest = outbox_.oldest_created()) consider(*oldest);
  }
  if (!deadlines_.empty()) consider(deadlines_.begin()->first);
  if (const std::optional<Time> inbound = inbound_.next_deadline()) consider(*inbound);
  if (const auto expiry = outbox_.next_expiry()) consider(expiry->first);
  return next;
}

SessionStats PeerSession::stats() const {
  SessionStats s = counters_;
  s.queued = outbox_.size();
  s.oldest_queued = outbox_.oldest_created();
  s.unacknowledged = unacked_.size();
  s.overdue = static_cast<std::size_t>(std::count_if(
      unacked_.begin(), unacked_.end(), [](const auto& entry) { return entry.second.overdue; }));
  s.inbound_unacknowledged = inbound_.waiting();
  s.inbound_overdue = inbound_.overdue();
  s.log_size = own_.durable();
  s.countersigned_size = own_.countersigned_size();
  s.peer_log_size = peer_.size;
  s.refusal_streak = refusal_streak_;
  s.escalations = escalations_.size();
  for (const auto& [line, seqs] : peer_.seqs) {
    if (seqs.missing() > 0) s.gaps.push_back(LineGap{line, seqs});
  }
  s.tests = tests_.view(config_.lines);
  for (LineTestView& t : s.tests) {
    if (!t.message_id || t.answered) continue;
    if (const auto u = unacked_.find(*t.message_id); u != unacked_.end()) {
      t.answer_due = u->second.deadline;
      t.overdue = u->second.overdue;
    } else if (outbox_.queued(*t.message_id) == nullptr) {
      t.refused = true;  // neither watched nor queued, never answered: final (refused)
    }
  }
  return s;
}

// ---- principals ----

Outgoing PeerSession::compose(const Line& line, const std::string& principal,
                              const wire::Address& to, Precedence precedence,
                              const std::string& type, const wire::Content& content,
                              const std::optional<std::string>& reply_to,
                              const std::optional<Time>& expires, Time now) {
  wire::Draft draft;
  draft.id = uuid_v7(now, rng_);
  draft.line = line.id;
  draft.seq = ++last_outbound_seq_[line.id];
  draft.from = wire::Address{config_.party, principal};
  draft.to = to;
  draft.precedence = precedence;
  draft.type = type;
  // Submissions were validated against this catalog, so the type is in it.
  if (const catalog::MessageType* t = catalog_.find(type)) {
    draft.type_version = static_cast<std::uint32_t>(t->version);
  }
  draft.created = now;
  draft.expires = expires;
  draft.reply_to = reply_to;
  draft.lang = config_.lang;
  // Under the newest link of our chain (our last rotation appended): its epoch and key.
  draft.epoch = own_chain_.newest().epoch;
  draft.content = content;
  // A seal key that cannot be derived (the peer's box key is unusable) refuses principals'
  // submissions already (seal_key_status_); the protocol's own entries are then sealed as under
  // epoch 1, which the peer cannot open either.
  const Result<crypto::SealKey> seal = own_seal_key(own_chain_.newest().epoch);
  wire::Sealed sealed = wire::seal_and_sign(draft, seal.is_ok() ? *seal : seal_key_,
                                            signing_of(own_chain_.newest()), config_.party, rng_);

  MessageRecord r;
  r.id = draft.id;
  r.line = line.id;
  r.seq = draft.seq;
  r.direction = Direction::kOutbound;
  r.peer = config_.peer.party;
  r.from = draft.from;
  r.to = draft.to;
  r.precedence = precedence;
  r.type = type;
  r.needs_ack = catalog_.needs_ack(type);
  r.created = now;
  r.expires = expires;
  r.reply_to = reply_to;
  r.lang = draft.lang;
  r.content = content;
  r.salt = std::move(sealed.salt);  // kept for disclosure (DESIGN.md "Envelope and signing")
  r.envelope = wire::encode_envelope(sealed.envelope);
  r.state = MessageState::kQueued;
  r.ack_deadline = now + line.deadlines.for_precedence(precedence);
  return Outgoing{std::move(r), 0};
}

Status PeerSession::check_submit(const Submit& e, Time now) const {
  if (!seal_key_status_.is_ok()) return seal_key_status_;
  const Line* line = find_line(e.line);
  if (line == nullptr) return Status::not_found("unknown line " + single_quoted(e.line));
  if (!may_act_on(*line, e.principal) && !is_translator(e.principal)) {
    return Status::permission_denied("principal " + single_quoted(e.principal) +
                                     " may not send on line " + single_quoted(e.line));
  }
  if (e.type == kAckType) {
    return Status::invalid_argument("type 'ack' is not submitted: acknowledge the message instead");
  }
  if (is_protocol_type(e.type)) {
    return Status::invalid_argument("type " + single_quoted(e.type) +
                                    " is written by the gateway, not submitted");
  }
  if (Status s = catalog_.validate(e.type, e.content.body_json); !s.is_ok()) return s;
  if (automatic_test_sequence(e.type, e.content.body_json)) {
    return Status::invalid_argument(
        "an automatic test (\"automatic\": true) is sent by the gateway, not submitted");
  }
  if (e.content.body_json.size() + e.content.text.size() > wire::kContentBytesMax) {
    return Status::invalid_argument(
        "body and text are " + std::to_string(e.content.body_json.size() + e.content.text.size()) +
        " bytes, more than " + std::to_string(wire::kContentBytesMax));
  }
  if (e.reply_to && !is_uuid(*e.reply_to)) {
    return Status::invalid_argument("reply_to " + single_quoted(*e.reply_to) + " is not a uuid");
  }
  if (e.expires && *e.expires <= now) {
    return Status::invalid_argument("expires " + format_time(*e.expires) + " is not after now (" +
                                    format_time(now) + ")");
  }
  return may_submit(*line, e);
}

void PeerSession::on_submit(const Submit& e, Time now, std::vector<Action>& out) {
  if (Status s = check_submit(e, now); !s.is_ok()) {
    return out.push_back(Rejected{e.request, std::move(s)});
  }
  const Line* line = find_line(e.line);  // check_submit found it
  Outgoing outgoing = compose(*line, e.principal, line->remote, e.precedence, e.type, e.content,
                              e.reply_to, e.expires, now);
  outgoing.record.broadcast = e.broadcast;
  const MessageRecord& r = outgoing.record;

  AfterPersist after;
  after.actions.push_back(Accepted{e.request, r.id, r.line, r.seq, r.state});
  if (r.needs_ack) {
    after.track.emplace_back(
        r.id, Unacked{r.line, r.precedence, r.ack_deadline, false, false, e.principal});
  }
  std::vector<Record> records{PutMessage{r}};
  append_to_log(outgoing, records, after);
  after.queued.push_back(r.id);
  outbox_.enqueue(std::move(outgoing));  // `r` is gone
  persist(std::move(records), std::move(after), out);
}

Status PeerSession::may_submit(const Line& line, const Submit& e) const {
  const Writer writer{"principal " + single_quoted(e.principal), may_act_on(line, e.principal),
                      is_translator(e.principal)};
  std::optional<std::string> reply_line;
  if (e.type == catalog::kTranslationType && e.reply_to && config_.messages != nullptr) {
    PARLEY_ASSIGN_OR_RETURN(reply_line, config_.messages->line_of(*e.reply_to));
  }
  return may_write(writer, line.id, e.type, e.reply_to, reply_line);
}

bool PeerSession::is_translator(std::string_view id) const {
  for (const Principal& p : config_.directory.principals) {
    if (p.id == id) return p.role == kTranslatorRole && !p.revoked_at;
  }
  return false;
}

bool PeerSession::holds(std::string_view id) const {
  const std::string key(id);
  return inbound_.holds(id) || unacked_.count(key) > 0 || outbox_.queued(key) != nullptr;
}

Status PeerSession::may_acknowledge(const Acknowledge& e) const {
  const std::string& id = e.message_id;
  const AwaitingAck* awaiting = inbound_.awaiting(id);
  const SettledInbound* settled = inbound_.settled(id);
  std::string line_id;
  if (awaiting != nullptr) {
    line_id = awaiting->line;
  } else if (settled != nullptr) {
    line_id = settled->line;
  } else if (const auto u = unacked_.find(id); u != unacked_.end()) {
    line_id = u->second.line;
  } else if (const Outgoing* o = outbox_.queued(id)) {
    line_id = o->record.line;  // one of our acks, not yet receipted
  } else {
    return Status::not_found("unknown message " + single_quoted(id));
  }
  const Line* line = find_line(line_id);
  if (line == nullptr) return Status::not_found("unknown line " + single_quoted(line_id));
  if (!may_act_on(*line, e.principal)) {
    return Status::permission_denied("principal " + single_quoted(e.principal) +
                                     " may not acknowledge on line " + single_quoted(line_id));
  }
  if (awaiting != nullptr && awaiting->automatic) {
    return Status::failed_precondition("message " + single_quoted(id) +
                                       " is an automatic line test: the gateway answers it");
  }
  if (awaiting != nullptr && awaiting->ack_by) {
    return Status::already_exists("already acknowledged by " + *awaiting->ack_by);
  }
  if (settled != nullptr) {
    if (settled->why.rfind("already acknowledged", 0) == 0) {
      return Status::already_exists(settled->why);
    }
    return Status::failed_precondition("message " + single_quoted(id) +
                                       " awaits no acknowledgment: " + settled->why);
  }
  if (awaiting == nullptr) {
    return Status::failed_precondition("message " + single_quoted(id) +
                                       " is one we sent: only its receiver acknowledges it");
  }
  return Status::ok();
}

void PeerSession::on_acknowledge(const Acknowledge& e, Time now, std::vector<Action>& out) {
  if (!seal_key_status_.is_ok()) return out.push_back(Rejected{e.request, seal_key_status_});
  if (Status s = may_acknowledge(e); !s.is_ok()) {
    return out.push_back(Rejected{e.request, std::move(s)});
  }
  write_ack(e.message_id, e.principal, e.request, now, out);
}

void PeerSession::write_ack(const std::string& id, const std::string& principal,
                            std::optional<RequestId> request, Time now, std::vector<Action>& out) {
  const AwaitingAck& a = *inbound_.awaiting(id);
  std::vector<Record> records;
  AfterPersist after;
  // Acknowledged without a read that wrote its stage "shown" (`parley ack ID` straight away):
  // the ack shows it was shown, so its stage.shown entry goes first, in the same batch, and
  // every message a principal acknowledged has all its signed stages.
  if (request && !a.shown) add_shown_entry(id, a, principal, now, records, after);
  Outgoing outgoing = compose(*find_line(a.line), principal, a.from, a.precedence, "ack",
                              wire::Content{"{}", ""}, id, std::nullopt, now);
  const std::string by = config_.party + "/" + principal;
  const std::string ack_id = outgoing.record.id;
  // The inbound message as the store holds it (delivered or overdue): the one transition
  // function yields its update; the fields it does not set stay as stored.
  MessageRecord target;
  target.id = id;
  target.state = a.overdue ? MessageState::kOverdue : MessageState::kDelivered;
  MessageChange change(MessageEvent::kAcknowledged, now);
  change.acknowledged_by = by;
  change.ack_id = ack_id;
  records.push_back(PutMessage{outgoing.record});
  records.push_back(transition(target, change));

  inbound_.ack_pending(id, by);
  if (request) {
    after.actions.push_back(Accepted{*request, ack_id, outgoing.record.line, outgoing.record.seq,
                                     outgoing.record.state});
  }
  append_to_log(outgoing, records, after);
  after.queued.push_back(ack_id);
  after.ack_of = id;
  outbox_.enqueue(std::move(outgoing));
  persist(std::move(records), std::move(after), out);
}

// ---- line tests (core/line_test.h) ----

void PeerSession::send_tests(Time now, std::vector<Action>& out) {
  if (!tests_.enabled() || !seal_key_status_.is_ok() || build_failed_) return;
  // Queued behind an outage, or delivered and not answered: the line's test is running.
  const auto unanswered = [this](const std::string& id) {
    return unacked_.count(id) > 0 || outbox_.queued(id) != nullptr;
  };
  for (const std::string& line_id : tests_.take_due(config_.lines, now, unanswered)) {
    const Line* line = find_line(line_id);
    if (line == nullptr || line->local.empty()) continue;
    const std::uint64_t sequence = tests_.next_sequence(line_id);
    // ROUTINE: a test never delays a message a person wrote, and a line too busy to carry
    // ROUTINE within `answer_within` is worth an alert. Its deadline is the test's own.
    Outgoing outgoing =
        compose(*line, line->local, line->remote, Precedence::kRoutine, std::string(kTestType),
                wire::Content{automatic_test_body(sequence), ""}, std::nullopt, std::nullopt, now);
    outgoing.record.ack_deadline = now + tests_.config().answer_within;
    const MessageRecord& r = outgoing.record;
    const std::string id = r.id;
    tests_.sent(line_id, sequence, id, now);
    ++counters_.tests_sent;
    AfterPersist after;
    after.track.emplace_back(
        id, Unacked{r.line, r.precedence, r.ack_deadline, false, false, line->local});
    std::vector<Record> records{PutMessage{r}};
    append_to_log(outgoing, records, after);
    after.queued.push_back(id);
    outbox_.enqueue(std::move(outgoing));  // `r` is gone
    persist(std::move(records), std::move(after), out);
  }
}

void PeerSession::answer_test(const std::string& id, Time now, std::vector<Action>& out) {
  const AwaitingAck* a = inbound_.awaiting(id);
  if (a == nullptr || !a->automatic || a->ack_by || !seal_key_status_.is_ok()) return;
  const Line* line = find_line(a->line);
  if (line == nullptr) return;  // a line removed since: nobody here may write on it
  // On behalf of the principal it was addressed to, as a person's ack would be.
  const std::string principal = may_act_on(*line, a->addressee) ? a->addressee : line->local;
  ++counters_.tests_answered;
  write_ack(id, principal, std::nullopt, now, out);
}

void PeerSession::on_show(const Show& e, Time now, std::vector<Action>& out) {
  const AwaitingAck* a = inbound_.awaiting(e.message_id);
  // Shown before it is acknowledged, or never: an ack being stored settles it.
  if (a == nullptr || a->shown || a->ack_by || !seal_key_status_.is_ok()) return;
  const Line* line = find_line(a->line);
  if (line == nullptr || !may_act_on(*line, e.principal)) return;
  std::vector<Record> records;
  AfterPersist after;
  add_shown_entry(e.message_id, *a, e.principal, now, records, after);
  persist(std::move(records), std::move(after), out);
}

Status PeerSession::may_cancel(const MessageRecord& record, const std::string& principal) const {
  if (record.from.principal == principal) return Status::ok();
  const Line* line = find_line(record.line);
  if (line != nullptr && may_act_on(*line, principal)) return Status::ok();
  return Status::permission_denied("principal " + single_quoted(principal) +
                                   " may not cancel message " + single_quoted(record.id) +
                                   ": only its sender or a principal of line " +
                                   single_quoted(record.line) + " may");
}

void PeerSession::on_cancel(const Cancel& e, Time now, std::vector<Action>& out) {
  const auto reject = [&](Status status) { out.push_back(Rejected{e.request, std::move(status)}); };
  const std::string& id = e.message_id;
  const Outgoing* queued = outbox_.queued(id);
  if (queued == nullptr) {
    if (unacked_.count(id) > 0 || outbox_.carried(id) != nullptr) {
      return reject(Status::failed_precondition(
          "message " + single_quoted(id) + " has left: " + config_.peer.party +
          " has it or it is on its way; it cannot be cancelled"));
    }
    if (inbound_.holds(id)) {
      return reject(Status::failed_precondition("message " + single_quoted(id) + " is " +
                                                config_.peer.party +
                                                "'s: only its sender cancels it"));
    }
    return reject(Status::not_found("message " + single_quoted(id) + " is not queued here"));
  }
  if (is_protocol_type(queued->record.type)) {
    // An ack (or the gateway's own entry) is the gateway's word, not a principal's message.
    return reject(Status::failed_precondition("message " + single_quoted(id) + " is an " +
                                              queued->record.type +
                                              " written by the gateway: it is not cancelled"));
  }
  if (Status s = may_cancel(queued->record, e.principal); !s.is_ok()) return reject(s);
  // The outbox decides whether it may still be withdrawn (no transaction has carried it);
  // the event order makes that final: a transaction built after this event does not find it.
  Result<Outgoing> taken = outbox_.cancel(id);
  if (!taken.is_ok()) return reject(taken.status());
  Outgoing o = std::move(taken).value();
  AfterPersist after;
  after.cancelled = o;
  MessageChange change(MessageEvent::kCancelled, now);
  change.cancelled_by = config_.party + "/" + e.principal;
  std::vector<Record> records{transition(o.record, change)};
  untrack(id);  // final: no ack deadline, no escalation
  ++counters_.messages_cancelled;
  const MessageRecord& r = o.record;
  after.actions.push_back(Accepted{e.request, r.id, r.line, r.seq, r.state});
  // Constructed in place, as in expire() (a GCC 12 -O2 -Wmaybe-uninitialized false positive).
  after.actions.emplace_back(
      std::in_place_type<Notify>,
      Notify{notice(NoticeKind::kMessageCancelled, r.id, r.line,
                    std::string(wire::precedence_name(r.precedence)) + " " + r.type + " message " +
                        r.id + " on line " + r.line + " (seq " + std::to_string(r.seq) +
                        ") cancelled by " + *change.cancelled_by +
                        " before it left; it is never sent")});
  persist(std::move(records), std::move(after), out);
}

void PeerSession::add_shown_entry(const std::string& id, const AwaitingAck& a,
                                  const std::string& principal, Time now,
                                  std::vector<Record>& records, AfterPersist& after) {
  inbound_.mark_shown(id);
  const json::Json body = {
      {"message", id}, {"shown", format_time(now)}, {"by", config_.party + "/" + principal}};
  add_protocol_entry(a.line, principal, a.from, a.precedence, kStageShownType, id, json::dump(body),
                     now, records, after);
}

void PeerSession::track(const std::string& id, Unacked u) {
  auto [it, inserted] = unacked_.emplace(id, std::move(u));
  if (inserted && !it->second.overdue && !it->second.ack_pending) {
    deadlines_.emplace(it->second.deadline, id);
  }
}

void PeerSession::untrack(const std::string& id) {
  escalations_.stop(id);  // acknowledged, or final: nobody needs alerting any more
  auto it = unacked_.find(id);
  if (it == unacked_.end()) return;
  unwatch(id, it->second);
  unacked_.erase(it);
}

void PeerSession::unwatch(const std::string& id, const Unacked& u) {
  deadlines_.erase({u.deadline, id});
}

// ---- time ----

void PeerSession::resend_due(Time now, std::vector<Action>& out) {
  // Oldest first: the receiver handles them in that order. A FLASH waits behind none of them
  // (the FLASH lane: pump), so none is given up for one.
  for (const InFlight& window : outbox_.window()) {
    InFlight& f = *outbox_.in_flight(window.tx);
    if (!f.retry_at || now < *f.retry_at) continue;
    f.retry_at.reset();
    f.blocked = false;
    out.push_back(SendTransaction{f.tx, f.precedence, f.body});
    ++counters_.transactions_sent;
  }
}

void PeerSession::on_timer(Time now, std::vector<Action>& out) {
  resend_due(now, out);
  for (const std::string& id : std::exchange(answers_due_, {})) answer_test(id, now, out);
  send_tests(now, out);
  std::vector<Record> records;
  const std::vector<std::string> sent = mark_overdue(now, records);
  const std::vector<std::string> received = mark_inbound_overdue(now, records, out);
  // The first alerts first, so that each evidence entry names whom they alerted.
  raise_alerts(now, out);
  if (records.empty()) return;
  AfterPersist after;
  for (const std::string& id : sent) add_evidence(id, EscalationSide::kSender, now, records, after);
  for (const std::string& id : received) {
    add_evidence(id, EscalationSide::kReceiver, now, records, after);
  }
  // The marks are stored with their evidence: recovered as overdue, a message is neither
  // marked nor evidenced again. Should the gateway stop before this batch is durable, the
  // next start marks it (the record still says delivered) and writes the evidence then.
  persist(std::move(records), std::move(after), out);
}

}  // namespace parley::core
