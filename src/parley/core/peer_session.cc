#include "parley/core/peer_session.h"

#include <algorithm>
#include <utility>

#include "parley/base/check.h"

namespace parley::core {

namespace {

// Room left in a transaction for its own fields around the envelopes.
constexpr std::size_t kTransactionOverheadBytes = 1024;

std::string quoted(std::string_view s) { return "'" + std::string(s) + "'"; }

Notice notice(NoticeKind kind, std::string message_id, std::string line, std::string text) {
  return Notice{kind, std::move(message_id), std::move(line), std::move(text)};
}

// The state a message keeps when a lesser event (sent, receipted) reaches it: an
// acknowledgment or a missed deadline is never overwritten by progress in delivery.
MessageState advance(MessageState current, MessageState next) {
  switch (current) {
    case MessageState::kAcknowledged:
    case MessageState::kOverdue:
    case MessageState::kExpired:
      return current;
    case MessageState::kQueued:
    case MessageState::kSent:
    case MessageState::kDelivered:
      return next;
  }
  return next;
}

}  // namespace

std::string_view notice_kind_name(NoticeKind kind) {
  switch (kind) {
    case NoticeKind::kMessageReceived:
      return "message-received";
    case NoticeKind::kDelivered:
      return "delivered";
    case NoticeKind::kAcknowledged:
      return "acknowledged";
    case NoticeKind::kOverdue:
      return "overdue";
    case NoticeKind::kFrameRefused:
      return "frame-refused";
    case NoticeKind::kPeerRefused:
      return "peer-refused";
    case NoticeKind::kLinkTrouble:
      return "link-trouble";
  }
  return "unknown";
}

PeerSession::PeerSession(SessionConfig config, const catalog::Catalog& catalog, Rng& rng,
                         Recovered recovered)
    : config_(std::move(config)), catalog_(catalog), rng_(rng) {
  Result<crypto::SealKey> key = crypto::derive_seal_key(
      config_.keys.box_secret, config_.keys.box_public, config_.peer.box_key, /*epoch=*/1);
  if (key.is_ok()) {
    seal_key_ = *key;
  } else {
    seal_key_status_ = key.status().with_context("peer " + quoted(config_.peer.party) + " box key");
  }
  if (config_.tx_envelopes_max == 0) config_.tx_envelopes_max = 1;
  if (config_.retry_min <= Duration::zero()) config_.retry_min = Duration(1);
  if (config_.retry_max < config_.retry_min) config_.retry_max = config_.retry_min;

  last_outbound_seq_ = std::move(recovered.last_outbound_seq);
  for (const auto& [line, seqs] : recovered.inbound_seqs) {
    inbound_seqs_[line].insert(seqs.begin(), seqs.end());
  }
  for (MessageRecord& record : recovered.unreceipted) {
    // Our own signature over our own stored envelope: failing here means the store or our
    // keys changed under us. The message cannot be sent as it is; say so, keep the rest.
    Result<wire::Envelope> envelope =
        wire::open_envelope(record.envelope, config_.keys.verify, config_.party);
    if (!envelope.is_ok()) {
      counters_.last_error =
          "stored message " + record.id + " cannot be resent: " + envelope.status().message();
      continue;
    }
    std::uint64_t& last = last_outbound_seq_[record.line];
    last = std::max(last, record.seq);
    if (record.state == MessageState::kSent) record.state = MessageState::kQueued;
    enqueue(Outgoing{std::move(record), std::move(envelope->payload_bytes)});
  }
  for (const MessageRecord& record : recovered.unacknowledged) {
    unacked_[record.id] = Unacked{record.line, record.precedence, record.ack_deadline,
                                  record.state == MessageState::kOverdue};
  }
}

void PeerSession::handle(const Event& event, Time now, std::vector<Action>& out) {
  std::visit(
      [&](const auto& e) {
        using E = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<E, Submit>) {
          on_submit(e, now, out);
        } else if constexpr (std::is_same_v<E, Acknowledge>) {
          on_acknowledge(e, now, out);
        } else if constexpr (std::is_same_v<E, TransactionReceived>) {
          on_transaction(e, now, out);
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
  // Whatever the event, queued work (e.g. recovered at start) leaves as soon as it can.
  pump(now, out);
}

std::optional<Time> PeerSession::next_deadline() const {
  std::optional<Time> next;
  auto consider = [&next](Time t) {
    if (!next || t < *next) next = t;
  };
  if (in_flight_) {
    if (in_flight_->retry_at) consider(*in_flight_->retry_at);
  } else {
    // Queued work with nothing in flight is due at once (after a restart, before any
    // other event arrives): report the oldest such message's creation time.
    for (const auto& [key, outgoing] : queue_) consider(outgoing.record.created);
  }
  for (const auto& [id, u] : unacked_) {
    if (!u.overdue && !u.ack_pending) consider(u.deadline);
  }
  return next;
}

SessionStats PeerSession::stats() const {
  SessionStats s = counters_;
  s.queued = queue_.size();
  s.oldest_queued.reset();
  for (const auto& [key, outgoing] : queue_) {
    if (!s.oldest_queued || outgoing.record.created < *s.oldest_queued) {
      s.oldest_queued = outgoing.record.created;
    }
  }
  s.unacknowledged = unacked_.size();
  s.overdue = static_cast<std::size_t>(std::count_if(
      unacked_.begin(), unacked_.end(), [](const auto& entry) { return entry.second.overdue; }));
  return s;
}

// ---- principals ----

Result<PeerSession::Outgoing> PeerSession::compose(const Line& line, const std::string& principal,
                                                   const wire::Address& to, Precedence precedence,
                                                   const std::string& type,
                                                   const wire::Content& content,
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
  draft.created = now;
  draft.expires = expires;
  draft.reply_to = reply_to;
  draft.lang = "en";
  draft.epoch = 1;
  draft.content = content;
  wire::Envelope envelope =
      wire::seal_and_sign(draft, seal_key_, config_.keys.signing, config_.party, rng_);
  // The salt is inside the seal; reopening our own envelope is the way to keep it.
  Result<wire::Opened> opened = wire::open_content(envelope.payload, seal_key_);
  if (!opened.is_ok()) return opened.status().with_context("sealing message");

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
  r.created = now;
  r.expires = expires;
  r.reply_to = reply_to;
  r.lang = draft.lang;
  r.content = content;
  r.salt = std::move(opened->salt);
  r.envelope = wire::encode_envelope(envelope);
  r.state = MessageState::kQueued;
  r.ack_deadline = now + line.deadlines.for_precedence(precedence);
  return Outgoing{std::move(r), std::move(envelope.payload_bytes)};
}

void PeerSession::on_submit(const Submit& e, Time now, std::vector<Action>& out) {
  auto reject = [&](Status status) { out.push_back(Rejected{e.request, std::move(status)}); };
  if (!seal_key_status_.is_ok()) return reject(seal_key_status_);
  const Line* line = find_line(e.line);
  if (line == nullptr) return reject(Status::not_found("unknown line " + quoted(e.line)));
  if (!may_act_on(*line, e.principal)) {
    return reject(Status::permission_denied("principal " + quoted(e.principal) +
                                            " may not send on line " + quoted(e.line)));
  }
  if (e.type == "ack") {
    return reject(
        Status::invalid_argument("type 'ack' is not submitted: acknowledge the message instead"));
  }
  if (Status s = catalog_.validate(e.type, e.content.body_json); !s.is_ok()) return reject(s);
  if (e.content.body_json.size() + e.content.text.size() > wire::kContentBytesMax) {
    return reject(Status::invalid_argument(
        "body and text are " + std::to_string(e.content.body_json.size() + e.content.text.size()) +
        " bytes, more than " + std::to_string(wire::kContentBytesMax)));
  }
  if (e.reply_to && !is_uuid(*e.reply_to)) {
    return reject(Status::invalid_argument("reply_to " + quoted(*e.reply_to) + " is not a uuid"));
  }
  if (e.expires && *e.expires <= now) {
    return reject(Status::invalid_argument("expires " + format_time(*e.expires) +
                                           " is not after now (" + format_time(now) + ")"));
  }

  Result<Outgoing> outgoing = compose(*line, e.principal, line->remote, e.precedence, e.type,
                                      e.content, e.reply_to, e.expires, now);
  if (!outgoing.is_ok()) return reject(outgoing.status());
  const MessageRecord& r = outgoing->record;

  AfterPersist after;
  after.actions.push_back(Accepted{e.request, r.id});
  after.track.emplace_back(r.id, Unacked{r.line, r.precedence, r.ack_deadline});
  std::vector<Record> records{PutMessage{r}};
  after.enqueue.push_back(std::move(*outgoing));
  persist(std::move(records), std::move(after), out);
}

void PeerSession::on_acknowledge(const Acknowledge& e, Time now, std::vector<Action>& out) {
  auto reject = [&](Status status) { out.push_back(Rejected{e.request, std::move(status)}); };
  const MessageRecord& m = e.message;
  if (!seal_key_status_.is_ok()) return reject(seal_key_status_);
  if (m.direction == Direction::kOutbound) {
    return reject(Status::invalid_argument("cannot acknowledge a message you sent"));
  }
  const Line* line = find_line(m.line);
  if (line == nullptr || m.peer != config_.peer.party) {
    return reject(Status::not_found("unknown line " + quoted(m.line) + " with " +
                                    quoted(config_.peer.party)));
  }
  if (!may_act_on(*line, e.principal)) {
    return reject(Status::permission_denied("principal " + quoted(e.principal) +
                                            " may not acknowledge on line " + quoted(m.line)));
  }
  if (auto made = acks_made_.find(m.id); made != acks_made_.end()) {
    return reject(Status::already_exists("already acknowledged by " + made->second));
  }
  if (m.state == MessageState::kAcknowledged || m.acknowledged_by) {
    return reject(
        Status::already_exists("already acknowledged by " + m.acknowledged_by.value_or("?")));
  }
  if (m.type == "ack") return reject(Status::invalid_argument("an ack is not acknowledged"));

  Result<Outgoing> outgoing = compose(*line, e.principal, m.from, m.precedence, "ack",
                                      wire::Content{"{}", ""}, m.id, std::nullopt, now);
  if (!outgoing.is_ok()) return reject(outgoing.status());
  const std::string by = config_.party + "/" + e.principal;
  const std::string ack_id = outgoing->record.id;

  UpdateMessage update;
  update.id = m.id;
  update.state = MessageState::kAcknowledged;
  update.delivered_at = m.delivered_at;
  update.acknowledged_at = now;
  update.acknowledged_by = by;
  update.ack_id = ack_id;
  std::vector<Record> records{PutMessage{outgoing->record}, update};

  acks_made_[m.id] = by;
  AfterPersist after;
  after.actions.push_back(Accepted{e.request, ack_id});
  after.enqueue.push_back(std::move(*outgoing));
  persist(std::move(records), std::move(after), out);
}

// ---- the peer's transactions ----

Status PeerSession::open_incoming(std::string_view json, Incoming& in) const {
  const std::string& peer = config_.peer.party;
  PARLEY_ASSIGN_OR_RETURN(in.envelope, wire::open_envelope(json, config_.peer.sign_key, peer));
  const wire::Payload& p = in.envelope.payload;
  if (p.from.party != peer) {
    return Status::permission_denied("envelope from " + quoted(p.from.to_string()) +
                                     ", not from party " + quoted(peer));
  }
  if (p.to.party != config_.party) {
    return Status::permission_denied("envelope to " + quoted(p.to.to_string()) + ", not to party " +
                                     quoted(config_.party));
  }
  in.line = find_line(p.line);
  if (in.line == nullptr) return Status::not_found("unknown line " + quoted(p.line));
  if (in.line->remote.party != peer) {
    return Status::permission_denied("line " + quoted(p.line) + " is not with " + quoted(peer));
  }
  if (!may_act_on(*in.line, p.to.principal)) {
    return Status::permission_denied("principal " + quoted(p.to.principal) + " is not on line " +
                                     quoted(p.line));
  }
  PARLEY_ASSIGN_OR_RETURN(in.opened, wire::open_content(p, seal_key_));
  PARLEY_RETURN_IF_ERROR(catalog_.validate(p.type, in.opened.content.body_json));
  if (p.type == "ack" && !p.reply_to) return Status::invalid_argument("ack without reply_to");
  in.json = std::string(json);
  return Status::ok();
}

void PeerSession::refuse(RequestId request, std::string_view envelope_id, const std::string& why,
                         std::vector<Action>& out) {
  out.push_back(Answer{request, 400, wire::encode_refusal({why, std::string(envelope_id)})});
  ++counters_.frames_refused;
  counters_.last_error = "refused a transaction from " + quoted(config_.peer.party) + ": " + why;
  out.push_back(Notify{
      notice(NoticeKind::kFrameRefused, std::string(envelope_id), "", counters_.last_error)});
}

void PeerSession::on_transaction(const TransactionReceived& e, Time now, std::vector<Action>& out) {
  if (!seal_key_status_.is_ok()) return refuse(e.request, "", seal_key_status_.message(), out);
  Result<wire::Transaction> parsed = wire::parse_transaction(e.body);
  if (!parsed.is_ok()) return refuse(e.request, "", parsed.status().message(), out);
  const wire::Transaction& tx = *parsed;
  if (tx.from != config_.peer.party) {
    return refuse(
        e.request, "",
        "transaction from " + quoted(tx.from) + ", expected " + quoted(config_.peer.party), out);
  }
  if (tx.to != config_.party) {
    return refuse(e.request, "",
                  "transaction to " + quoted(tx.to) + ", expected " + quoted(config_.party), out);
  }

  // Everything is checked before anything is touched: one bad envelope refuses the lot.
  std::vector<Incoming> incoming(tx.envelopes.size());
  std::set<std::string> ids;
  for (std::size_t i = 0; i < tx.envelopes.size(); ++i) {
    Incoming& in = incoming[i];
    Status s = open_incoming(tx.envelopes[i], in);
    const std::string& id = in.envelope.payload.id;
    if (!s.is_ok()) {
      return refuse(e.request, id, "envelope " + std::to_string(i) + ": " + s.message(), out);
    }
    if (!ids.insert(id).second) {
      return refuse(e.request, id, "envelope " + std::to_string(i) + ": duplicate id " + id, out);
    }
  }

  // Which envelopes are new: a (line, seq) already stored, pending, or earlier in this
  // transaction is a repeat. A new (line, seq) under an id we already hold is a forgery or
  // a peer bug; the store would refuse it, so the transaction is refused here.
  std::vector<bool> fresh(incoming.size(), false);
  std::set<std::pair<std::string, std::uint64_t>> here;
  for (std::size_t i = 0; i < incoming.size(); ++i) {
    const wire::Payload& p = incoming[i].envelope.payload;
    std::pair<std::string, std::uint64_t> key{p.line, p.seq};
    auto seen = inbound_seqs_.find(p.line);
    const bool repeat = (seen != inbound_seqs_.end() && seen->second.count(p.seq) > 0) ||
                        pending_inbound_.count(key) > 0 || !here.insert(key).second;
    if (repeat) continue;
    if (inbound_ids_.count(p.id) > 0 || pending_inbound_ids_.count(p.id) > 0) {
      return refuse(e.request, p.id,
                    "envelope " + std::to_string(i) + ": id " + p.id +
                        " was already received as another message",
                    out);
    }
    fresh[i] = true;
  }

  InboundBatch batch;
  batch.request = e.request;
  batch.tx = tx.id;
  std::vector<wire::Envelope> envelopes;
  envelopes.reserve(incoming.size());
  std::vector<Record> records;
  for (std::size_t i = 0; i < incoming.size(); ++i) {
    Incoming& in = incoming[i];
    const wire::Payload& p = in.envelope.payload;
    batch.ids.push_back(p.id);
    // A seq above max+1 is a gap: FLASH legitimately overtakes ROUTINE on a line, and the
    // sender resends until receipted, so a gap is never refused or reordered here.
    if (fresh[i]) {
      batch.seqs.emplace_back(p.line, p.seq);
      batch.new_ids.push_back(p.id);
      MessageRecord r;
      r.id = p.id;
      r.line = p.line;
      r.seq = p.seq;
      r.direction = Direction::kInbound;
      r.peer = config_.peer.party;
      r.from = p.from;
      r.to = p.to;
      r.precedence = p.precedence;
      r.type = p.type;
      r.created = p.created;
      r.expires = p.expires;
      r.reply_to = p.reply_to;
      r.lang = p.lang;
      r.content = in.opened.content;
      r.salt = in.opened.salt;
      r.envelope = in.json;
      r.state = MessageState::kDelivered;
      r.ack_deadline = p.created + in.line->deadlines.for_precedence(p.precedence);
      r.delivered_at = now;
      r.tx = tx.id;
      records.push_back(PutMessage{std::move(r)});

      const std::string precedence(wire::precedence_name(p.precedence));
      if (p.type == "ack") {
        auto target = unacked_.find(*p.reply_to);
        if (target != unacked_.end() && target->second.line == p.line &&
            !target->second.ack_pending) {
          target->second.ack_pending = true;
          UpdateMessage update;
          update.id = target->first;
          update.state = MessageState::kAcknowledged;
          update.acknowledged_at = now;
          update.acknowledged_by = p.from.to_string();
          update.ack_id = p.id;
          if (Outgoing* o = queued(target->first)) {
            o->record.state = MessageState::kAcknowledged;
            o->record.acknowledged_at = now;
            o->record.acknowledged_by = update.acknowledged_by;
            o->record.ack_id = p.id;
          }
          records.push_back(std::move(update));
          batch.acked.push_back(target->first);
          batch.notices.push_back(notice(NoticeKind::kAcknowledged, target->first, p.line,
                                         "message " + target->first + " on line " + p.line +
                                             " acknowledged by " + p.from.to_string()));
        }
      } else {
        batch.notices.push_back(notice(NoticeKind::kMessageReceived, p.id, p.line,
                                       precedence + " " + p.type + " message " + p.id +
                                           " on line " + p.line + " from " + p.from.to_string()));
      }
    }
    envelopes.push_back(std::move(in.envelope));
  }
  batch.digest = wire::receipt_digest(envelopes);
  pending_inbound_.insert(batch.seqs.begin(), batch.seqs.end());
  pending_inbound_ids_.insert(batch.new_ids.begin(), batch.new_ids.end());

  AfterPersist after;
  after.inbound = std::move(batch);
  persist(std::move(records), std::move(after), out);
}

// ---- our transactions ----

PeerSession::Outgoing* PeerSession::queued(const std::string& id) {
  auto index = queue_index_.find(id);
  if (index == queue_index_.end()) return nullptr;
  auto it = queue_.find(index->second);
  PARLEY_CHECK(it != queue_.end());
  return &it->second;
}

void PeerSession::enqueue(Outgoing outgoing) {
  QueueKey key{static_cast<int>(outgoing.record.precedence), outgoing.record.seq, next_arrival_++};
  queue_index_[outgoing.record.id] = key;
  queue_.emplace(key, std::move(outgoing));
}

void PeerSession::pump(Time now, std::vector<Action>& out) {
  if (in_flight_ || queue_.empty()) return;
  const std::size_t count_max =
      std::min(config_.tx_envelopes_max, wire::kEnvelopesPerTransactionMax);
  wire::Transaction tx;
  tx.id = uuid_v7(now, rng_);
  tx.from = config_.party;
  tx.to = config_.peer.party;
  InFlight f;
  f.tx = tx.id;
  std::vector<wire::Envelope> envelopes;  // for wire::receipt_digest: payload bytes suffice
  std::vector<Record> records;
  std::size_t bytes = kTransactionOverheadBytes;
  for (auto& [key, o] : queue_) {
    if (tx.envelopes.size() >= count_max) break;
    const std::size_t size = o.record.envelope.size() + 1;
    if (!tx.envelopes.empty() && bytes + size > wire::kFrameBytesMax) break;
    bytes += size;
    if (tx.envelopes.empty()) f.precedence = o.record.precedence;
    o.in_flight = true;
    o.record.state = advance(o.record.state, MessageState::kSent);
    o.record.tx = tx.id;
    tx.envelopes.push_back(o.record.envelope);
    f.ids.push_back(o.record.id);
    envelopes.emplace_back().payload_bytes = o.payload_bytes;
    UpdateMessage update;
    update.id = o.record.id;
    update.state = o.record.state;
    update.acknowledged_at = o.record.acknowledged_at;
    update.acknowledged_by = o.record.acknowledged_by;
    update.ack_id = o.record.ack_id;
    update.tx = tx.id;
    records.push_back(std::move(update));
  }
  PARLEY_CHECK(!tx.envelopes.empty());
  f.digest = wire::receipt_digest(envelopes);
  f.body = wire::encode_transaction(tx);
  persist(std::move(records), std::nullopt, out);
  out.push_back(SendTransaction{f.tx, f.precedence, f.body});
  ++counters_.transactions_sent;
  in_flight_ = std::move(f);
}

void PeerSession::schedule_retry(Time now, const std::string& reason, NoticeKind kind,
                                 std::vector<Action>& out) {
  PARLEY_CHECK(in_flight_.has_value());
  ++counters_.send_failures;
  backoff_ = failure_streak_ == 0 ? config_.retry_min : std::min(backoff_ * 2, config_.retry_max);
  const bool news = failure_streak_ == 0 || reason != counters_.last_error;
  ++failure_streak_;
  counters_.last_error = reason;
  in_flight_->retry_at = now + backoff_;
  // One alert per streak (or when the trouble changes), not one per retry.
  if (news) {
    out.push_back(Notify{notice(
        kind, "", "",
        reason + "; retrying transaction " + in_flight_->tx + " in " + format_duration(backoff_))});
  }
}

void PeerSession::on_answer(const TransactionAnswered& e, Time now, std::vector<Action>& out) {
  counters_.last_contact = now;
  if (!in_flight_ || in_flight_->tx != e.tx || in_flight_->receipted) return;  // stale
  InFlight& f = *in_flight_;
  const std::string& peer = config_.peer.party;
  if (e.http_status >= 400 && e.http_status < 500) {
    Result<wire::Refusal> refusal = wire::parse_refusal(e.body);
    std::string error =
        refusal.is_ok() ? refusal->error
                        : "HTTP " + std::to_string(e.http_status) + " without a readable refusal";
    if (refusal.is_ok() && !refusal->id.empty()) error += " (envelope " + refusal->id + ")";
    return schedule_retry(now, quoted(peer) + " refused our transaction: " + error,
                          NoticeKind::kPeerRefused, out);
  }
  if (e.http_status != 200) {
    return schedule_retry(now, quoted(peer) + " answered HTTP " + std::to_string(e.http_status),
                          NoticeKind::kLinkTrouble, out);
  }
  Result<wire::Receipt> receipt = wire::open_receipt(e.body, config_.peer.sign_key, peer);
  std::string problem;
  if (!receipt.is_ok()) {
    problem = receipt.status().message();
  } else if (receipt->body.tx != f.tx) {
    problem = "it is for transaction " + receipt->body.tx + ", not " + f.tx;
  } else if (receipt->body.from != peer) {
    problem = "it is from " + quoted(receipt->body.from) + ", not " + quoted(peer);
  } else if (receipt->body.to != config_.party) {
    problem = "it is to " + quoted(receipt->body.to) + ", not " + quoted(config_.party);
  } else if (receipt->body.ids != f.ids) {
    problem = "its ids are not the transaction's";
  } else if (receipt->body.digest != f.digest) {
    problem = "its digest is not the transaction's";
  }
  if (!problem.empty()) {
    return schedule_retry(now, "invalid receipt from " + quoted(peer) + ": " + problem,
                          NoticeKind::kPeerRefused, out);
  }

  std::vector<Record> records;
  for (const std::string& id : f.ids) {
    Outgoing* o = queued(id);
    PARLEY_CHECK(o != nullptr);
    o->record.state = advance(o->record.state, MessageState::kDelivered);
    o->record.delivered_at = now;
    o->record.receipt = e.body;
    UpdateMessage update;
    update.id = id;
    update.state = o->record.state;
    update.delivered_at = now;
    update.acknowledged_at = o->record.acknowledged_at;
    update.acknowledged_by = o->record.acknowledged_by;
    update.ack_id = o->record.ack_id;
    update.receipt = e.body;
    update.tx = f.tx;
    records.push_back(std::move(update));
  }
  f.receipted = true;
  f.retry_at.reset();
  AfterPersist after;
  after.receipted_tx = f.tx;
  persist(std::move(records), std::move(after), out);
}

void PeerSession::on_failed(const TransactionFailed& e, Time now, std::vector<Action>& out) {
  if (!in_flight_ || in_flight_->tx != e.tx || in_flight_->receipted) return;  // stale
  schedule_retry(now, "no answer from " + quoted(config_.peer.party) + ": " + e.reason,
                 NoticeKind::kLinkTrouble, out);
}

// ---- durability ----

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

  for (auto& [id, u] : after.track) unacked_.emplace(id, std::move(u));
  for (Outgoing& o : after.enqueue) enqueue(std::move(o));
  for (Action& action : after.actions) out.push_back(std::move(action));

  if (after.receipted_tx && in_flight_ && in_flight_->tx == *after.receipted_tx) {
    for (const std::string& id : in_flight_->ids) {
      auto index = queue_index_.find(id);
      if (index == queue_index_.end()) continue;
      auto q = queue_.find(index->second);
      const MessageRecord& r = q->second.record;
      if (r.type != "ack") {
        out.push_back(
            Notify{notice(NoticeKind::kDelivered, r.id, r.line,
                          std::string(wire::precedence_name(r.precedence)) + " message " + r.id +
                              " on line " + r.line + " delivered to " + config_.peer.party)});
      }
      queue_.erase(q);
      queue_index_.erase(index);
    }
    in_flight_.reset();
    failure_streak_ = 0;
    backoff_ = Duration::zero();
  }

  if (after.inbound) {
    InboundBatch& b = *after.inbound;
    for (const auto& key : b.seqs) {
      pending_inbound_.erase(key);
      inbound_seqs_[key.first].insert(key.second);
    }
    for (const std::string& id : b.new_ids) {
      pending_inbound_ids_.erase(id);
      inbound_ids_.insert(id);
    }
    for (const std::string& id : b.acked) unacked_.erase(id);
    wire::ReceiptBody body;
    body.tx = b.tx;
    body.from = config_.party;
    body.to = config_.peer.party;
    body.ids = b.ids;
    body.digest = b.digest;
    body.received = now;
    out.push_back(Answer{b.request, 200,
                         wire::encode_receipt(wire::sign_receipt(body, config_.keys.signing))});
    for (Notice& n : b.notices) out.push_back(Notify{std::move(n)});
  }
}

void PeerSession::on_persist_refused(const PersistRefused& e, Time now, std::vector<Action>& out) {
  auto it = after_persist_.find(e.batch);
  if (it == after_persist_.end()) return;  // nothing waited on it (e.g. a "sent" mark)
  AfterPersist after = std::move(it->second);
  after_persist_.erase(it);
  const std::string why = "conflicts with stored messages: " + e.status.message();

  // A principal's submission or ack: nothing was stored, so nothing happened.
  for (const Action& action : after.actions) {
    if (const auto* accepted = std::get_if<Accepted>(&action)) {
      out.push_back(Rejected{accepted->request, Status::internal("not stored: " + why)});
    }
  }
  for (const Outgoing& o : after.enqueue) {
    if (o.record.type == "ack" && o.record.reply_to) acks_made_.erase(*o.record.reply_to);
  }
  // Our receipted transaction could not be recorded: send it again later; the peer's
  // receiver is idempotent.
  if (after.receipted_tx && in_flight_ && in_flight_->tx == *after.receipted_tx) {
    in_flight_->receipted = false;
    schedule_retry(now, "could not record the receipt: " + why, NoticeKind::kLinkTrouble, out);
  }
  // A peer's transaction that reuses stored ids: refused, and nothing of it is kept.
  if (after.inbound) {
    const InboundBatch& b = *after.inbound;
    for (const auto& key : b.seqs) pending_inbound_.erase(key);
    for (const std::string& id : b.new_ids) pending_inbound_ids_.erase(id);
    refuse(b.request, "", why, out);
  }
}

// ---- time ----

void PeerSession::on_timer(Time now, std::vector<Action>& out) {
  if (in_flight_ && in_flight_->retry_at && now >= *in_flight_->retry_at) {
    in_flight_->retry_at.reset();
    bool flash_waits = false;
    for (const auto& [key, o] : queue_) {
      if (o.record.precedence == Precedence::kFlash && !o.in_flight) flash_waits = true;
    }
    if (flash_waits && in_flight_->precedence != Precedence::kFlash) {
      // FLASH is never queued behind lower precedence: give up this transaction and send a
      // new one led by the FLASH. Its messages go again; the peer dedups by (line, seq), and
      // the old transaction's answer, if any, is stale.
      for (auto& [key, o] : queue_) o.in_flight = false;
      in_flight_.reset();
    } else {
      out.push_back(SendTransaction{in_flight_->tx, in_flight_->precedence, in_flight_->body});
      ++counters_.transactions_sent;
    }
  }

  std::vector<Record> records;
  std::vector<Notice> notices;
  for (auto& [id, u] : unacked_) {
    if (u.overdue || u.ack_pending || now < u.deadline) continue;
    u.overdue = true;
    UpdateMessage update;
    update.id = id;
    update.state = MessageState::kOverdue;
    if (Outgoing* o = queued(id)) o->record.state = MessageState::kOverdue;
    records.push_back(std::move(update));
    const Line* line = find_line(u.line);
    const Duration within =
        line != nullptr ? line->deadlines.for_precedence(u.precedence) : Duration::zero();
    notices.push_back(notice(NoticeKind::kOverdue, id, u.line,
                             std::string(wire::precedence_name(u.precedence)) + " message " + id +
                                 " on line " + u.line + " not acknowledged within " +
                                 format_duration(within)));
  }
  if (!records.empty()) persist(std::move(records), std::nullopt, out);
  for (Notice& n : notices) out.push_back(Notify{std::move(n)});
}

// ---- configuration ----

const Line* PeerSession::find_line(std::string_view id) const {
  for (const Line& line : config_.lines) {
    if (line.id == id) return &line;
  }
  return nullptr;
}

bool PeerSession::may_act_on(const Line& line, std::string_view principal) const {
  if (principal.empty()) return false;
  if (line.local == principal) return true;
  return std::find(line.alternates.begin(), line.alternates.end(), principal) !=
         line.alternates.end();
}

}  // namespace parley::core
