// Test support for PeerSession's tests (peer_session*_test.cc), not part of the library:
// both parties' keys, a store as the driver keeps it, and a harness that carries actions
// between two sessions (Persist -> store and Persisted; SendTransaction -> the other side's
// TransactionReceived; Answer -> TransactionAnswered).
#pragma once

#include <cctype>
#include <deque>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include <gtest/gtest.h>

#include "parley/base/json.h"
#include "parley/base/rng.h"
#include "parley/catalog/catalog.h"
#include "parley/core/peer_session.h"
#include "parley/crypto/crypto.h"
#include "parley/ledger/merkle.h"
#include "parley/ledger/transcript.h"
#include "parley/wire/wire.h"

namespace parley::core {

using namespace std::chrono_literals;

constexpr int kUs = 0;  // us-eucom, principal saceur
constexpr int kRu = 1;  // ru-genstaff, principal cgs
constexpr char kLine[] = "saceur-cgs";

template <typename T>
std::vector<T> all_of(const std::vector<Action>& actions) {
  std::vector<T> found;
  for (const Action& a : actions) {
    if (const T* t = std::get_if<T>(&a)) found.push_back(*t);
  }
  return found;
}

template <typename T>
std::size_t count_of(const std::vector<Action>& actions) {
  return all_of<T>(actions).size();
}

inline std::vector<Notice> notices_of(const std::vector<Action>& actions, NoticeKind kind) {
  std::vector<Notice> found;
  for (const Notify& n : all_of<Notify>(actions)) {
    if (n.notice.kind == kind) found.push_back(n.notice);
  }
  return found;
}

// The notices that told a sender its message went overdue: the first alert of the escalation
// of one of our messages.
inline std::vector<Notice> overdue_notices(const std::vector<Action>& actions) {
  std::vector<Notice> found;
  for (const Notice& n : notices_of(actions, NoticeKind::kEscalation)) {
    if (n.first && n.side == EscalationSide::kSender) found.push_back(n);
  }
  return found;
}

struct PartyKeys {
  std::string id;
  crypto::Keys keys;
  wire::Bundle bundle;
};

inline PartyKeys make_party(const std::string& id, std::uint64_t seed) {
  SeededRng rng(seed);
  PartyKeys p;
  p.id = id;
  p.keys = crypto::generate_keys(rng);
  p.bundle.party = id;
  p.bundle.sign_key = p.keys.verify;
  p.bundle.box_key = p.keys.box_public;
  p.bundle.tls_fingerprint = std::string(64, 'a');
  p.bundle.federation = {"127.0.0.1:7001"};
  return p;
}

// A store as the driver keeps it, for inspecting what the session made durable. It fails
// the test on what the real store would refuse (which would stop the gateway).
class FakeStore {
 public:
  struct Head {
    crypto::Digest root{};
    std::string sth;
    std::optional<std::string> receipt;
    std::optional<std::vector<crypto::Digest>> frontier;
  };
  using LogKey = std::pair<std::string, std::string>;           // (owner, peer)
  std::set<std::tuple<std::string, int, std::uint64_t>> keys_;  // (line, direction, seq)

  void apply(const std::vector<Record>& records) {
    for (const Record& record : records) {
      if (const auto* put = std::get_if<PutMessage>(&record)) {
        const MessageRecord& m = put->message;
        EXPECT_EQ(messages_.count(m.id), 0u) << "duplicate id " << m.id;
        EXPECT_TRUE(keys_.emplace(m.line, static_cast<int>(m.direction), m.seq).second)
            << "duplicate (line, direction, seq) " << m.line << " " << m.seq;
        messages_[m.id] = m;
        messages_[m.id].log_index.reset();  // the store fills it from the log entries
      } else if (const auto* u = std::get_if<UpdateMessage>(&record)) {
        auto it = messages_.find(u->id);
        EXPECT_NE(it, messages_.end()) << "update of unknown id " << u->id;
        if (it == messages_.end()) continue;
        MessageRecord& m = it->second;
        m.state = u->state;
        if (u->delivered_at) m.delivered_at = u->delivered_at;
        if (u->acknowledged_at) m.acknowledged_at = u->acknowledged_at;
        if (u->acknowledged_by) m.acknowledged_by = u->acknowledged_by;
        if (u->ack_id) m.ack_id = u->ack_id;
        if (u->receipt) m.receipt = u->receipt;
        if (u->tx) m.tx = u->tx;
        if (u->refusal) m.refusal = u->refusal;
        if (u->cancelled_at) m.cancelled_at = u->cancelled_at;
        if (u->cancelled_by) m.cancelled_by = u->cancelled_by;
      } else if (const auto* e = std::get_if<LogEntry>(&record)) {
        auto& log = logs_[{e->owner, e->peer}];
        EXPECT_EQ(log.count(e->index), 0u) << "index " << e->index << " stored twice";
        log[e->index] = *e;
        if (rotation_ids_.count(e->message_id) > 0) continue;  // a rotation's entry
        auto it = messages_.find(e->message_id);
        EXPECT_NE(it, messages_.end()) << "log entry of unknown message " << e->message_id;
        if (it != messages_.end()) it->second.log_index = e->index;
      } else if (const auto* h = std::get_if<PutHead>(&record)) {
        auto& heads = heads_[{h->owner, h->peer}];
        auto it = heads.find(h->size);
        if (it != heads.end() && it->second.receipt) continue;  // never replaced
        heads[h->size] = Head{h->root, h->sth, h->receipt, h->frontier};
      } else if (const auto* i = std::get_if<PutInclusion>(&record)) {
        inclusion_[i->message_id] = InclusionRecord{i->index, i->size, i->root, i->proof};
      } else if (const auto* ev = std::get_if<PutEvidence>(&record)) {
        evidence_.push_back(*ev);
      } else if (const auto* r = std::get_if<PutRotation>(&record)) {
        auto& stored = rotations_[{r->owner, r->peer}];
        EXPECT_EQ(stored.count(r->index), 0u) << "rotation at " << r->index << " stored twice";
        for (const auto& [index, other] : stored) {
          EXPECT_NE(other.n, r->n) << "rotation " << r->n << " stored twice";
        }
        stored[r->index] = *r;
        rotation_ids_.insert(r->id);
      }
    }
  }
  const std::map<std::uint64_t, PutRotation>& rotations(const std::string& owner,
                                                        const std::string& peer) {
    return rotations_[{owner, peer}];
  }
  const MessageRecord* find(const std::string& id) const {
    auto it = messages_.find(id);
    return it == messages_.end() ? nullptr : &it->second;
  }
  std::size_t count(Direction direction) const {
    std::size_t n = 0;
    for (const auto& [id, m] : messages_) n += m.direction == direction ? 1 : 0;
    return n;
  }
  const std::map<std::string, MessageRecord>& messages() const { return messages_; }
  const std::map<std::uint64_t, LogEntry>& log(const std::string& owner, const std::string& peer) {
    return logs_[{owner, peer}];
  }
  const std::map<std::uint64_t, Head>& heads(const std::string& owner, const std::string& peer) {
    return heads_[{owner, peer}];
  }
  const InclusionRecord* inclusion(const std::string& id) const {
    auto it = inclusion_.find(id);
    return it == inclusion_.end() ? nullptr : &it->second;
  }
  const std::vector<PutEvidence>& evidence() const { return evidence_; }

  // The answer to `request` (from the peer request.from, to us, request.to), as
  // store::answer_log_request makes it from the SQLite store: core::make_log_answer over the
  // stored heads and entries.
  LogAnswer log_answer(const LogRequest& request) {
    const auto head_records = [&](const std::string& owner, const std::string& peer) {
      std::vector<HeadRecord> out;
      for (const auto& [size, h] : heads_[{owner, peer}]) {
        out.push_back(HeadRecord{size, h.root, h.sth, h.receipt, h.frontier});
      }
      return out;
    };
    const auto entries = [&](const std::string& owner, const std::string& peer,
                             std::uint64_t from) {
      std::vector<LogEntryView> out;
      for (auto it = logs_[{owner, peer}].lower_bound(from); it != logs_[{owner, peer}].end();
           ++it) {
        if (out.size() >= kLogEntriesPerAnswer) break;
        const auto rotation = rotations_[{owner, peer}].find(it->first);
        const bool is_rotation = rotation != rotations_[{owner, peer}].end() &&
                                 rotation->second.id == it->second.message_id;
        out.push_back(LogEntryView{
            it->first, it->second.message_id,
            is_rotation ? rotation->second.statement : messages_.at(it->second.message_id).envelope,
            std::nullopt, is_rotation});
      }
      return out;
    };
    return make_log_answer(request, head_records(request.from, request.to),
                           entries(request.from, request.to, request.after),
                           head_records(request.to, request.from),
                           entries(request.to, request.from, request.peer_after));
  }

  // What Store::recover returns for (me, peer), by the same rules as the SQLite store.
  Recovered recover(const std::string& me, const std::string& peer) {
    Recovered r;
    std::map<std::string, SeqSet> inbound;
    for (const auto& [id, m] : messages_) {
      if (m.direction == Direction::kOutbound) {
        std::uint64_t& last = r.last_outbound_seq[m.line];
        last = std::max(last, m.seq);
        if (!m.receipt) r.unreceipted.push_back(m);
        if (m.needs_ack && !m.acknowledged_at && m.state != MessageState::kRefused &&
            m.state != MessageState::kExpired && m.state != MessageState::kCancelled) {
          r.unacknowledged.push_back(m);
        }
      } else {
        inbound[m.line].insert(m.seq);
        if (m.needs_ack && !m.acknowledged_at &&
            (m.state == MessageState::kDelivered || m.state == MessageState::kOverdue)) {
          r.inbound_unacknowledged.push_back(m);
        }
      }
    }
    for (const auto& [line, seqs] : inbound) {
      r.inbound_seqs[line] = RecoveredSeqs{
          seqs.watermark(), std::vector<std::uint64_t>(seqs.above().begin(), seqs.above().end())};
    }
    RecoveredLedger& l = r.ledger;
    const auto& log = logs_[{me, peer}];
    l.log_size = log.empty() ? 0 : log.rbegin()->first + 1;
    std::uint64_t lowest = l.log_size;
    for (const MessageRecord& m : r.unreceipted) {
      if (m.state != MessageState::kCancelled) lowest = std::min(lowest, *m.log_index);
    }
    for (const auto& [size, head] : heads_[{me, peer}]) {
      if (head.receipt) l.countersigned = RecoveredHead{size, head.root, head.sth, head.receipt};
      if (head.receipt && head.frontier && size <= lowest) {
        l.base_size = size;
        l.base_nodes = *head.frontier;
      }
    }
    for (const auto& [size, head] : heads_[{me, peer}]) {
      if (!head.receipt && size > (l.countersigned ? l.countersigned->size : 0)) {
        l.pending.push_back(RecoveredHead{size, head.root, head.sth, std::nullopt});
      }
    }
    for (auto it = log.lower_bound(l.base_size); it != log.end(); ++it) {
      l.tail.push_back(it->second.leaf_hash);
    }
    for (const auto& [size, head] : heads_[{peer, me}]) {
      if (head.receipt) l.peer_head = RecoveredHead{size, head.root, head.sth, head.receipt};
    }
    for (const auto& [index, rotation] : rotations_[{peer, me}]) {
      r.peer_rotations.push_back(rotation);
    }
    for (const auto& [index, rotation] : rotations_[{me, peer}]) {
      r.own_rotations.push_back(rotation);
    }
    return r;
  }

 private:
  std::map<std::string, MessageRecord> messages_;
  std::map<LogKey, std::map<std::uint64_t, LogEntry>> logs_;
  std::map<LogKey, std::map<std::uint64_t, Head>> heads_;
  std::map<std::string, InclusionRecord> inclusion_;
  std::vector<PutEvidence> evidence_;
  std::map<LogKey, std::map<std::uint64_t, PutRotation>> rotations_;
  std::set<std::string> rotation_ids_;
};

// MessageLines (core/translation.h) from a FakeStore, as store::StoredMessageLines answers
// from the gateway's store.
class FakeMessageLines final : public MessageLines {
 public:
  explicit FakeMessageLines(const FakeStore& store) : store_(store) {}
  Result<std::optional<std::string>> line_of(std::string_view id) const override {
    if (unavailable) return Status::unavailable("the store is not answering");
    const MessageRecord* m = store_.find(std::string(id));
    return m == nullptr ? std::nullopt : std::optional<std::string>(m->line);
  }
  bool unavailable = false;  // a test's store that cannot answer now

 private:
  const FakeStore& store_;
};

// Each party's translator (core/translation.h): in its directory, and in its bundle as the
// other party pinned it.
constexpr char kTranslator[] = "interpreter";

template <typename T>
std::size_t records_of(const Persist& persist) {
  std::size_t n = 0;
  for (const Record& r : persist.records) n += std::holds_alternative<T>(r) ? 1 : 0;
  return n;
}

// Two parties' sessions with one line between them, and a driver that carries actions
// between them: Persist -> store and Persisted; SendTransaction -> TransactionReceived on
// the other side; Answer -> TransactionAnswered on the sender.

// Makes every Persist in `out` durable in `store`, in order, and feeds `session` its
// Persisted, appending the actions that causes (and settling those too).
inline void settle(PeerSession& session, FakeStore& store, Time now, std::vector<Action>& out) {
  for (std::size_t i = 0; i < out.size(); ++i) {
    const auto* p = std::get_if<Persist>(&out[i]);
    if (p == nullptr) continue;
    store.apply(p->records);
    std::vector<Action> more;
    session.handle(Persisted{p->batch}, now, more);
    for (Action& a : more) out.push_back(std::move(a));
  }
}

class Harness {
 public:
  // `window`: SessionConfig::window of both sides (1, one transaction at a time and the FLASH
  // lane, unless a test is about the window).
  explicit Harness(Recovered us_recovered = {}, std::uint64_t seed = 42, std::size_t window = 1)
      : us_(make_party("us-eucom", 1)),
        ru_(make_party("ru-genstaff", 2)),
        rng_(seed),
        window_(window) {
    sessions_[kUs] = std::make_unique<PeerSession>(config(kUs), catalog::Catalog::builtin(), rng_,
                                                   std::move(us_recovered));
    sessions_[kRu] =
        std::make_unique<PeerSession>(config(kRu), catalog::Catalog::builtin(), rng_, Recovered{});
  }

  SessionConfig config(int side) const {
    SessionConfig c;
    const PartyKeys& me = side == kUs ? us_ : ru_;
    const PartyKeys& peer = side == kUs ? ru_ : us_;
    c.party = me.id;
    c.window = window_;
    c.recover_at_start = recover_at_start;
    c.recovery_required = recovery_required;
    c.keys = me.keys;
    c.own = own[side];
    c.peer = peer.bundle;
    c.peer.translators = {kTranslator};
    Principal translator;
    translator.id = kTranslator;
    translator.role = std::string(kTranslatorRole);
    c.directory.principals = {translator};
    c.messages = &message_lines_[side];
    Line line;
    line.id = kLine;
    line.local = side == kUs ? "saceur" : "cgs";
    line.remote = wire::Address{peer.id, side == kUs ? "cgs" : "saceur"};
    line.alternates = {side == kUs ? "dsaceur" : "deputy-cgs"};
    line.remote_alternates = {side == kUs ? "deputy-cgs" : "dsaceur"};
    c.lines = {line};
    for (const std::string& id : one_sided_[side]) {
      line.id = id;
      c.lines.push_back(line);
    }
    return c;
  }

  // Configures line `id` (same principals as kLine) on `side` only, as `parley line add` on
  // one side would; the session is made again (call before any traffic).
  void add_one_sided_line(int side, const std::string& id) {
    one_sided_[side].push_back(id);
    restart(side, Recovered{}, SessionConfig{}.tx_envelopes_max);
  }

  PeerSession& session(int side) { return *sessions_[side]; }
  // Replaces one side's session as after a restart; its store stays.
  void restart(int side, Recovered recovered, std::size_t tx_envelopes_max = 64) {
    SessionConfig c = config(side);
    c.tx_envelopes_max = tx_envelopes_max;
    sessions_[side] = std::make_unique<PeerSession>(std::move(c), catalog::Catalog::builtin(), rng_,
                                                    std::move(recovered));
  }
  // Feeds `event` to one session and returns its actions without carrying any of them out.
  std::vector<Action> session_feed_raw(int side, const Event& event) {
    std::vector<Action> out;
    sessions_[side]->handle(event, now, out);
    return out;
  }
  FakeStore& store(int side) { return stores_[side]; }
  FakeMessageLines& message_lines(int side) { return message_lines_[side]; }
  const PartyKeys& keys(int side) const { return side == kUs ? us_ : ru_; }
  Rng& rng() { return rng_; }

  // As feed(), then makes every Persist among the actions durable (in order, as a driver
  // would) and feeds its Persisted, appending what that causes; nothing else is carried out.
  std::vector<Action> feed_durable(int side, const Event& event) {
    std::vector<Action> out = feed(side, event);
    settle(session(side), stores_[side], now, out);
    return out;
  }

  // Feeds `event` at now and returns the actions, without carrying them out.
  std::vector<Action> feed(int side, const Event& event) {
    std::vector<Action> out;
    session(side).handle(event, now, out);
    return out;
  }

  // Carries out `actions` of `side`, and everything they cause, until nothing is left.
  // Every action carried is appended to log[side].
  void carry(int side, std::vector<Action> actions) {
    for (Action& a : actions) pending_[side].push_back(std::move(a));
    while (!pending_[kUs].empty() || !pending_[kRu].empty()) {
      for (int s : {kUs, kRu}) {
        if (pending_[s].empty()) continue;
        Action a = std::move(pending_[s].front());
        pending_[s].pop_front();
        log[s].push_back(a);
        dispatch(s, a);
      }
    }
  }

  void deliver(int side, const Event& event) { carry(side, feed(side, event)); }

  Submit submit_event(const std::string& principal = "saceur",
                      Precedence precedence = Precedence::kRoutine, std::string text = "hello") {
    Submit s;
    s.request = next_request_++;
    s.line = kLine;
    s.principal = principal;
    s.precedence = precedence;
    s.type = "text";
    s.content = wire::Content{"{}", std::move(text)};
    return s;
  }

  // Submits on `side` and carries everything; returns the accepted id ("" if none).
  std::string send(int side, Precedence precedence = Precedence::kRoutine,
                   const std::string& principal = "") {
    const std::string who = !principal.empty() ? principal : side == kUs ? "saceur" : "cgs";
    Submit s = submit_event(who, precedence);
    const std::size_t before = log[side].size();
    deliver(side, s);
    for (std::size_t i = before; i < log[side].size(); ++i) {
      if (const auto* a = std::get_if<Accepted>(&log[side][i]); a && a->request == s.request) {
        return a->message_id;
      }
    }
    return "";
  }

  RequestId next_request() { return next_request_++; }

  Time now = time_from_unix_ms(1'795'000'000'000);
  bool link_up = true;  // false: SendTransaction goes nowhere (the test answers)
  // SessionConfig::recover_at_start of the sessions made from now on (restart()).
  bool recover_at_start = false;
  bool recovery_required = false;  // SessionConfig::recovery_required (after a restore)
  // SessionConfig::own of the sessions made from now on: each side's key rotations.
  OwnRotations own[2];
  // Log requests each side sent (SendTransaction::log_request), answered from the other
  // side's store; a test may change the answer (a forged or altered copy) before it arrives.
  std::size_t log_requests[2] = {0, 0};
  std::function<void(LogAnswer&)> alter_log_answer;
  std::vector<Action> log[2];

 private:
  void dispatch(int side, const Action& a) {
    const int other = side == kUs ? kRu : kUs;
    std::vector<Action> out;
    if (const auto* p = std::get_if<Persist>(&a)) {
      stores_[side].apply(p->records);
      session(side).handle(Persisted{p->batch}, now, out);
    } else if (const auto* send = std::get_if<SendTransaction>(&a)) {
      if (!link_up) return;
      if (send->log_request) {
        ++log_requests[side];
        Result<LogRequest> request = parse_log_request(send->body, keys(side).id, keys(other).id);
        EXPECT_TRUE(request.is_ok()) << request.status().to_string();
        if (!request.is_ok()) return;
        LogAnswer answer = stores_[other].log_answer(*request);
        if (alter_log_answer) alter_log_answer(answer);
        session(side).handle(TransactionAnswered{send->tx, 200, encode_log_answer(answer)}, now,
                             out);
        for (Action& o : out) pending_[side].push_back(std::move(o));
        return;
      }
      const RequestId request = next_request_++;
      requests_[other][request] = send->tx;
      session(other).handle(TransactionReceived{request, send->body}, now, out);
      for (Action& o : out) pending_[other].push_back(std::move(o));
      return;
    } else if (const auto* answer = std::get_if<Answer>(&a)) {
      auto it = requests_[side].find(answer->request);
      if (it == requests_[side].end()) return;  // a request the test made itself
      session(other).handle(TransactionAnswered{it->second, answer->http_status, answer->body}, now,
                            out);
      requests_[side].erase(it);
      for (Action& o : out) pending_[other].push_back(std::move(o));
      return;
    }
    for (Action& o : out) pending_[side].push_back(std::move(o));
  }

  PartyKeys us_;
  PartyKeys ru_;
  std::vector<std::string> one_sided_[2];
  SeededRng rng_;
  std::size_t window_ = 1;
  std::unique_ptr<PeerSession> sessions_[2];
  FakeStore stores_[2];
  FakeMessageLines message_lines_[2] = {FakeMessageLines(stores_[0]), FakeMessageLines(stores_[1])};
  std::deque<Action> pending_[2];
  std::map<RequestId, std::string> requests_[2];  // receiver side: request -> sender's tx
  RequestId next_request_ = 1;
};

// The persisted record of the single PutMessage in `actions`.
inline MessageRecord put_of(const std::vector<Action>& actions) {
  for (const Persist& p : all_of<Persist>(actions)) {
    for (const Record& r : p.records) {
      if (const auto* put = std::get_if<PutMessage>(&r)) return put->message;
    }
  }
  ADD_FAILURE() << "no PutMessage";
  return {};
}

// A transaction from `sender` carrying `drafts` as the whole of its log (indices 0..n-1),
// with a consistency proof from each size in `from` (0: the empty log).
inline std::string log_transaction(const PartyKeys& sender, const PartyKeys& receiver,
                                   const std::vector<wire::Draft>& drafts, Rng& rng,
                                   const std::vector<std::uint64_t>& from = {0}) {
  const crypto::SealKey seal = *crypto::derive_seal_key(
      sender.keys.box_secret, sender.keys.box_public, receiver.keys.box_public, 1);
  std::vector<std::string> texts;
  std::vector<ledger::Hash> leaves;
  for (const wire::Draft& d : drafts) {
    texts.push_back(wire::encode_envelope(
        wire::seal_and_sign(d, seal, sender.keys.signing, sender.id, rng).envelope));
    leaves.push_back(ledger::leaf_hash(as_bytes(texts.back())));
  }
  const ledger::NodeSource source = ledger::leaves_source(leaves);
  wire::Transaction tx;
  tx.id = uuid_v7(time_from_unix_ms(1'795'000'000'000), rng);
  tx.from = sender.id;
  tx.to = receiver.id;
  tx.sth = ledger::encode_sth(
      ledger::sign_sth({sender.id, receiver.id, leaves.size(), ledger::root_of(leaves),
                        time_from_unix_ms(1'795'000'000'000)},
                       sender.keys.signing));
  for (std::uint64_t i = 0; i < texts.size(); ++i) {
    tx.entries.push_back({i, texts[i], *ledger::inclusion_proof(i, leaves.size(), source)});
  }
  for (const std::uint64_t size : from) {
    const std::vector<ledger::Hash> prefix(leaves.begin(),
                                           leaves.begin() + static_cast<std::ptrdiff_t>(size));
    tx.consistency.push_back(
        {size, ledger::root_of(prefix), *ledger::consistency_proof(size, leaves.size(), source)});
  }
  return wire::encode_transaction(tx);
}

// A transaction from `sender` with one envelope built from `draft`, the first and only
// entry of the sender's log.
inline std::string transaction_body(const PartyKeys& sender, const PartyKeys& receiver,
                                    const wire::Draft& draft, Rng& rng) {
  return log_transaction(sender, receiver, {draft}, rng);
}

// The envelopes a transaction carries, in order.
inline std::vector<std::string> envelopes_of(const std::string& body) {
  std::vector<std::string> out;
  Result<wire::Transaction> tx = wire::parse_transaction(body);
  EXPECT_TRUE(tx.is_ok()) << tx.status().to_string();
  if (!tx.is_ok()) return out;
  for (const wire::TransactionEntry& e : tx->entries) out.push_back(e.envelope);
  return out;
}

inline wire::Draft draft_from_ru(Rng& rng, std::uint64_t seq) {
  wire::Draft d;
  d.id = uuid_v7(time_from_unix_ms(1'795'000'000'000), rng);
  d.line = kLine;
  d.seq = seq;
  d.from = {"ru-genstaff", "cgs"};
  d.to = {"us-eucom", "saceur"};
  d.type = "text";
  d.created = time_from_unix_ms(1'795'000'000'000);
  d.content = wire::Content{"{}", "hello"};
  return d;
}

// The receipt in `answer`, opened with the receiver's key; fails the test if it does not open.
inline ledger::ReceiptV2 receipt_of(const Answer& answer, const PartyKeys& receiver) {
  EXPECT_EQ(answer.http_status, 200) << answer.body;
  Result<ledger::ReceiptV2> r =
      ledger::open_receipt_v2(answer.body, receiver.keys.verify, receiver.id);
  EXPECT_TRUE(r.is_ok()) << r.status().to_string();
  return r.is_ok() ? *r : ledger::ReceiptV2{};
}

// Every outbound message of `side` (but a cancelled one) has an inclusion proof that verifies
// against a head of its log that the other side countersigned (a receipt over exactly that head).
inline void expect_every_outbound_message_proven(Harness& h, int side) {
  const std::string me = side == kUs ? "us-eucom" : "ru-genstaff";
  const std::string peer = side == kUs ? "ru-genstaff" : "us-eucom";
  const int other = side == kUs ? kRu : kUs;
  std::size_t proven = 0;
  for (const auto& [id, m] : h.store(side).messages()) {
    // A cancelled message never left: nothing proves it to the peer.
    if (m.direction != Direction::kOutbound || m.state == MessageState::kCancelled) continue;
    const InclusionRecord* in = h.store(side).inclusion(id);
    ASSERT_NE(in, nullptr) << "no inclusion proof for " << id;
    ASSERT_TRUE(m.log_index.has_value());
    EXPECT_EQ(in->index, *m.log_index);
    EXPECT_TRUE(ledger::verify_inclusion(in->index, in->size,
                                         ledger::leaf_hash(as_bytes(m.envelope)), in->proof,
                                         in->root)
                    .is_ok())
        << id;
    const auto& heads = h.store(side).heads(me, peer);
    const auto head = heads.find(in->size);
    ASSERT_NE(head, heads.end()) << "no head of size " << in->size;
    ASSERT_TRUE(head->second.receipt.has_value()) << "head " << in->size << " not countersigned";
    EXPECT_EQ(head->second.root, in->root);
    Result<ledger::ReceiptV2> receipt =
        ledger::open_receipt_v2(*head->second.receipt, h.keys(other).keys.verify, peer);
    ASSERT_TRUE(receipt.is_ok()) << receipt.status().to_string();
    Result<ledger::TreeHead> countersigned = ledger::parse_sth_payload(receipt->body.sth);
    ASSERT_TRUE(countersigned.is_ok());
    EXPECT_EQ(countersigned->size, in->size);
    EXPECT_EQ(countersigned->root, in->root);
    ++proven;
  }
  EXPECT_GT(proven, 0u);
}

}  // namespace parley::core
