#include "parley/core/peer_session.h"

#include <cctype>
#include <deque>
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
#include "parley/crypto/crypto.h"
#include "parley/ledger/merkle.h"
#include "parley/ledger/transcript.h"
#include "parley/wire/wire.h"

namespace parley::core {
namespace {

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

std::vector<Notice> notices_of(const std::vector<Action>& actions, NoticeKind kind) {
  std::vector<Notice> found;
  for (const Notify& n : all_of<Notify>(actions)) {
    if (n.notice.kind == kind) found.push_back(n.notice);
  }
  return found;
}

struct PartyKeys {
  std::string id;
  crypto::Keys keys;
  wire::Bundle bundle;
};

PartyKeys make_party(const std::string& id, std::uint64_t seed) {
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
      } else if (const auto* e = std::get_if<LogEntry>(&record)) {
        auto& log = logs_[{e->owner, e->peer}];
        EXPECT_EQ(log.count(e->index), 0u) << "index " << e->index << " stored twice";
        log[e->index] = *e;
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
      }
    }
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

  // What Store::recover returns for (me, peer), by the same rules as the SQLite store.
  Recovered recover(const std::string& me, const std::string& peer) {
    Recovered r;
    std::map<std::string, SeqSet> inbound;
    for (const auto& [id, m] : messages_) {
      if (m.direction == Direction::kOutbound) {
        std::uint64_t& last = r.last_outbound_seq[m.line];
        last = std::max(last, m.seq);
        if (!m.receipt) r.unreceipted.push_back(m);
        if (m.type != "ack" && !m.acknowledged_at && m.state != MessageState::kRefused &&
            m.state != MessageState::kExpired) {
          r.unacknowledged.push_back(m);
        }
      } else {
        inbound[m.line].insert(m.seq);
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
    for (const MessageRecord& m : r.unreceipted) lowest = std::min(lowest, *m.log_index);
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
    return r;
  }

 private:
  std::map<std::string, MessageRecord> messages_;
  std::map<LogKey, std::map<std::uint64_t, LogEntry>> logs_;
  std::map<LogKey, std::map<std::uint64_t, Head>> heads_;
  std::map<std::string, InclusionRecord> inclusion_;
  std::vector<PutEvidence> evidence_;
};

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
void settle(PeerSession& session, FakeStore& store, Time now, std::vector<Action>& out) {
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
  explicit Harness(Recovered us_recovered = {}, std::uint64_t seed = 42)
      : us_(make_party("us-eucom", 1)), ru_(make_party("ru-genstaff", 2)), rng_(seed) {
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
    c.keys = me.keys;
    c.peer = peer.bundle;
    Line line;
    line.id = kLine;
    line.local = side == kUs ? "saceur" : "cgs";
    line.remote = wire::Address{peer.id, side == kUs ? "cgs" : "saceur"};
    line.alternates = {side == kUs ? "dsaceur" : "deputy-cgs"};
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
  std::unique_ptr<PeerSession> sessions_[2];
  FakeStore stores_[2];
  std::deque<Action> pending_[2];
  std::map<RequestId, std::string> requests_[2];  // receiver side: request -> sender's tx
  RequestId next_request_ = 1;
};

// The persisted record of the single PutMessage in `actions`.
MessageRecord put_of(const std::vector<Action>& actions) {
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
std::string log_transaction(const PartyKeys& sender, const PartyKeys& receiver,
                            const std::vector<wire::Draft>& drafts, Rng& rng,
                            const std::vector<std::uint64_t>& from = {0}) {
  const crypto::SealKey seal = *crypto::derive_seal_key(
      sender.keys.box_secret, sender.keys.box_public, receiver.keys.box_public, 1);
  std::vector<std::string> texts;
  std::vector<ledger::Hash> leaves;
  for (const wire::Draft& d : drafts) {
    texts.push_back(
        wire::encode_envelope(wire::seal_and_sign(d, seal, sender.keys.signing, sender.id, rng)));
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
std::string transaction_body(const PartyKeys& sender, const PartyKeys& receiver,
                             const wire::Draft& draft, Rng& rng) {
  return log_transaction(sender, receiver, {draft}, rng);
}

// The envelopes a transaction carries, in order.
std::vector<std::string> envelopes_of(const std::string& body) {
  std::vector<std::string> out;
  Result<wire::Transaction> tx = wire::parse_transaction(body);
  EXPECT_TRUE(tx.is_ok()) << tx.status().to_string();
  if (!tx.is_ok()) return out;
  for (const wire::TransactionEntry& e : tx->entries) out.push_back(e.envelope);
  return out;
}

wire::Draft draft_from_ru(Rng& rng, std::uint64_t seq) {
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

// The envelope's "lang" is the party's configured language (it was "en" for every party).
TEST(PeerSessionTest, EnvelopesCarryThePartysConfiguredLanguage) {
  Harness h;
  SessionConfig config = h.config(kRu);
  config.lang = "ru";
  PeerSession ru(config, catalog::Catalog::builtin(), h.rng(), Recovered{});
  std::vector<Action> out;
  ru.handle(h.submit_event("cgs"), h.now, out);
  const MessageRecord record = put_of(out);
  EXPECT_EQ(record.lang, "ru");
  Result<wire::Envelope> envelope =
      wire::open_envelope(record.envelope, h.keys(kRu).keys.verify, "ru-genstaff");
  ASSERT_TRUE(envelope.is_ok()) << envelope.status().to_string();
  EXPECT_EQ(envelope->payload.lang, "ru");
}

TEST(PeerSessionTest, SubmissionIsAcceptedOnlyAfterItIsPersisted) {
  Harness h;
  Submit s = h.submit_event();
  std::vector<Action> out = h.feed(kUs, s);
  // The message, then (the line is idle) the transaction's head: both batches can go in
  // one commit; nothing is accepted or sent before they are durable. The message stays
  // queued: it is sent only once the peer answers the transaction.
  const std::vector<Persist> persists = all_of<Persist>(out);
  ASSERT_EQ(persists.size(), 2u);
  EXPECT_EQ(records_of<PutMessage>(persists[0]), 1u);
  EXPECT_EQ(records_of<PutHead>(persists[1]), 1u);
  EXPECT_EQ(records_of<UpdateMessage>(persists[1]), 0u);
  EXPECT_LT(persists[0].batch, persists[1].batch);
  EXPECT_EQ(count_of<Accepted>(out), 0u);
  EXPECT_EQ(count_of<SendTransaction>(out), 0u);
  const MessageRecord m = put_of(out);
  EXPECT_EQ(m.state, MessageState::kQueued);
  EXPECT_EQ(m.seq, 1u);
  EXPECT_EQ(m.direction, Direction::kOutbound);
  EXPECT_EQ(m.ack_deadline, h.now + 6h);
  EXPECT_EQ(m.salt.size(), 32u);

  std::vector<Action> after = h.feed(kUs, Persisted{persists[0].batch});
  const std::vector<Accepted> accepted = all_of<Accepted>(after);
  ASSERT_EQ(accepted.size(), 1u);
  EXPECT_EQ(accepted[0].request, s.request);
  EXPECT_EQ(accepted[0].message_id, m.id);
  EXPECT_EQ(count_of<SendTransaction>(after), 0u);  // its head is not durable yet
  after = h.feed(kUs, Persisted{persists[1].batch});
  EXPECT_EQ(count_of<SendTransaction>(after), 1u);  // and then it leaves at once
}

TEST(PeerSessionTest, ReceiptIsSignedOnlyAfterTheBatchIsDurable) {
  Harness h;
  h.link_up = false;
  h.send(kUs);
  const std::vector<SendTransaction> sent = all_of<SendTransaction>(h.log[kUs]);
  ASSERT_EQ(sent.size(), 1u);

  std::vector<Action> out = h.feed(kRu, TransactionReceived{77, sent[0].body});
  ASSERT_EQ(count_of<Persist>(out), 1u);
  EXPECT_EQ(count_of<Answer>(out), 0u);  // stored first ...

  std::vector<Action> after = h.feed(kRu, Persisted{all_of<Persist>(out)[0].batch});
  const std::vector<Answer> answers = all_of<Answer>(after);  // ... then receipted
  ASSERT_EQ(answers.size(), 1u);
  EXPECT_EQ(answers[0].request, 77u);
  EXPECT_EQ(answers[0].http_status, 200);
  EXPECT_EQ(notices_of(after, NoticeKind::kMessageReceived).size(), 1u);
}

TEST(PeerSessionTest, MessageIsDeliveredAndReceiptedEndToEnd) {
  Harness h;
  const std::string id = h.send(kUs, Precedence::kImmediate);
  ASSERT_FALSE(id.empty());

  const MessageRecord* out = h.store(kUs).find(id);
  ASSERT_NE(out, nullptr);
  EXPECT_EQ(out->state, MessageState::kDelivered);
  ASSERT_TRUE(out->receipt.has_value());
  Result<ledger::ReceiptV2> receipt =
      ledger::open_receipt_v2(*out->receipt, h.keys(kRu).keys.verify, "ru-genstaff");
  ASSERT_TRUE(receipt.is_ok()) << receipt.status().to_string();
  EXPECT_EQ(receipt->body.ids, std::vector<std::string>{id});
  EXPECT_EQ(receipt->body.from, "ru-genstaff");
  EXPECT_EQ(receipt->body.to, "us-eucom");
  EXPECT_EQ(notices_of(h.log[kUs], NoticeKind::kDelivered).size(), 1u);

  const MessageRecord* in = h.store(kRu).find(id);
  ASSERT_NE(in, nullptr);
  EXPECT_EQ(in->direction, Direction::kInbound);
  EXPECT_EQ(in->state, MessageState::kDelivered);
  EXPECT_EQ(in->content.text, "hello");
  EXPECT_EQ(in->envelope, out->envelope);
  EXPECT_EQ(in->ack_deadline, out->created + 30min);

  EXPECT_EQ(h.session(kUs).stats().queued, 0u);
  EXPECT_EQ(h.session(kUs).stats().unacknowledged, 1u);
  EXPECT_TRUE(h.session(kUs).stats().last_contact.has_value());
}

TEST(PeerSessionTest, AckTravelsBackAndMarksTheMessageAcknowledged) {
  Harness h;
  const std::string id = h.send(kUs, Precedence::kFlash);
  const MessageRecord inbound = *h.store(kRu).find(id);

  h.deliver(kRu, Acknowledge{h.next_request(), "cgs", inbound});
  const std::vector<Accepted> accepted = all_of<Accepted>(h.log[kRu]);
  ASSERT_EQ(accepted.size(), 1u);
  const std::string ack_id = accepted[0].message_id;

  const MessageRecord& theirs = *h.store(kRu).find(id);
  EXPECT_EQ(theirs.state, MessageState::kAcknowledged);
  EXPECT_EQ(theirs.acknowledged_by, "ru-genstaff/cgs");

  const MessageRecord& ours = *h.store(kUs).find(id);
  EXPECT_EQ(ours.state, MessageState::kAcknowledged);
  EXPECT_EQ(ours.acknowledged_by, "ru-genstaff/cgs");
  EXPECT_EQ(ours.ack_id, ack_id);
  EXPECT_EQ(ours.acknowledged_at, h.now);
  const MessageRecord& ack = *h.store(kUs).find(ack_id);
  EXPECT_EQ(ack.type, "ack");
  EXPECT_EQ(ack.reply_to, id);
  EXPECT_EQ(ack.precedence, Precedence::kFlash);

  EXPECT_EQ(notices_of(h.log[kUs], NoticeKind::kAcknowledged).size(), 1u);
  EXPECT_EQ(notices_of(h.log[kUs], NoticeKind::kMessageReceived).size(), 0u);  // acks are not mail
  EXPECT_EQ(h.session(kUs).stats().unacknowledged, 0u);
  EXPECT_EQ(h.session(kRu).stats().queued, 0u);
  EXPECT_FALSE(h.session(kUs).next_deadline().has_value());
}

TEST(PeerSessionTest, FlashIsSentBeforeQueuedRoutine) {
  Harness h;
  h.link_up = false;
  h.send(kUs);  // in flight
  for (int i = 0; i < 20; ++i) h.send(kUs);
  const std::string flash = h.send(kUs, Precedence::kFlash);
  std::vector<SendTransaction> sent = all_of<SendTransaction>(h.log[kUs]);
  ASSERT_EQ(sent.size(), 1u);  // one transaction in flight at a time

  // The in-flight transaction is answered; the next one leads with the FLASH.
  h.link_up = true;
  std::vector<Action> out = h.feed(kRu, TransactionReceived{h.next_request(), sent[0].body});
  const std::vector<Action> persisted = h.feed(kRu, Persisted{all_of<Persist>(out)[0].batch});
  const Answer receipt = all_of<Answer>(persisted)[0];
  h.link_up = false;
  h.deliver(kUs, TransactionAnswered{sent[0].tx, receipt.http_status, receipt.body});

  sent = all_of<SendTransaction>(h.log[kUs]);
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent[1].precedence, Precedence::kFlash);
  const std::vector<std::string> envelopes = envelopes_of(sent[1].body);
  ASSERT_EQ(envelopes.size(), std::min<std::size_t>(21, SessionConfig{}.tx_envelopes_max));
  Result<wire::Envelope> first =
      wire::open_envelope(envelopes[0], h.keys(kUs).keys.verify, "us-eucom");
  ASSERT_TRUE(first.is_ok());
  EXPECT_EQ(first->payload.id, flash);
  EXPECT_EQ(first->payload.seq, 22u);
}

TEST(PeerSessionTest, FlashOvertakesTenThousandQueuedRoutine) {
  Harness h;
  h.link_up = false;
  h.send(kUs);  // in flight
  constexpr int kBacklog = 10'000;
  for (int i = 0; i < kBacklog; ++i) h.send(kUs);
  const std::string flash = h.send(kUs, Precedence::kFlash);
  std::vector<SendTransaction> sent = all_of<SendTransaction>(h.log[kUs]);
  ASSERT_EQ(sent.size(), 1u);  // only the first ROUTINE was already on the wire

  h.link_up = true;
  std::vector<Action> out = h.feed(kRu, TransactionReceived{h.next_request(), sent[0].body});
  const std::vector<Action> persisted = h.feed(kRu, Persisted{all_of<Persist>(out)[0].batch});
  const Answer receipt = all_of<Answer>(persisted)[0];
  h.link_up = false;
  h.deliver(kUs, TransactionAnswered{sent[0].tx, receipt.http_status, receipt.body});

  // The next frame on the wire starts with the FLASH: none of the 10,000 queued ROUTINE
  // messages went before it.
  sent = all_of<SendTransaction>(h.log[kUs]);
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent[1].precedence, Precedence::kFlash);
  const std::vector<std::string> envelopes = envelopes_of(sent[1].body);
  ASSERT_FALSE(envelopes.empty());
  Result<wire::Envelope> first =
      wire::open_envelope(envelopes[0], h.keys(kUs).keys.verify, "us-eucom");
  ASSERT_TRUE(first.is_ok());
  EXPECT_EQ(first->payload.id, flash);
  EXPECT_EQ(first->payload.precedence, Precedence::kFlash);
}

TEST(PeerSessionTest, FlashWaitingBehindAFailingTransactionGoesInANewOneAtRetry) {
  Harness h;
  h.link_up = false;
  const std::string routine = h.send(kUs);
  const SendTransaction first = all_of<SendTransaction>(h.log[kUs])[0];
  h.deliver(kUs, TransactionFailed{first.tx, "timeout"});
  const std::string flash = h.send(kUs, Precedence::kFlash);

  h.now += 100ms;
  std::vector<Action> out = h.feed_durable(kUs, TimerFired{});
  const std::vector<SendTransaction> sent = all_of<SendTransaction>(out);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_NE(sent[0].tx, first.tx);
  EXPECT_EQ(sent[0].precedence, Precedence::kFlash);
  const std::vector<std::string> envelopes = envelopes_of(sent[0].body);
  ASSERT_EQ(envelopes.size(), 2u);
  EXPECT_EQ(wire::open_envelope(envelopes[0], h.keys(kUs).keys.verify, "us-eucom")->payload.id,
            flash);

  h.link_up = true;
  h.carry(kUs, out);
  EXPECT_EQ(h.store(kUs).find(flash)->state, MessageState::kDelivered);
  EXPECT_EQ(h.store(kUs).find(routine)->state, MessageState::kDelivered);
  // The abandoned transaction's late answer is stale.
  EXPECT_EQ(count_of<Persist>(h.feed(kUs, TransactionAnswered{first.tx, 503, ""})), 0u);
}

TEST(PeerSessionTest, AckArrivingBeforeTheReceiptKeepsTheMessageAcknowledged) {
  Harness h;
  h.link_up = false;
  const std::string id = h.send(kUs);
  const SendTransaction sent = all_of<SendTransaction>(h.log[kUs])[0];
  std::vector<Action> out = h.feed(kRu, TransactionReceived{h.next_request(), sent.body});
  h.store(kRu).apply(all_of<Persist>(out)[0].records);
  const Answer receipt = all_of<Answer>(h.feed(kRu, Persisted{all_of<Persist>(out)[0].batch}))[0];

  // The peer acknowledges, and its ack reaches us before our receipt does.
  h.link_up = true;
  h.deliver(kRu, Acknowledge{h.next_request(), "cgs", *h.store(kRu).find(id)});
  EXPECT_EQ(h.store(kUs).find(id)->state, MessageState::kAcknowledged);

  h.deliver(kUs, TransactionAnswered{sent.tx, receipt.http_status, receipt.body});
  const MessageRecord& m = *h.store(kUs).find(id);
  EXPECT_EQ(m.state, MessageState::kAcknowledged);
  EXPECT_TRUE(m.receipt.has_value());
  EXPECT_EQ(m.delivered_at, h.now);
  EXPECT_EQ(h.session(kUs).stats().queued, 0u);
}

TEST(PeerSessionTest, TransactionWithBadSignatureIsRefusedAndChangesNothing) {
  Harness h;
  h.link_up = false;
  h.send(kUs);
  const SendTransaction sent = all_of<SendTransaction>(h.log[kUs])[0];
  // Flip one character of the first envelope's signature (the envelope may be embedded
  // as an object or as an escaped string).
  std::string body = sent.body;
  std::size_t sig = body.find("\"sig\"", body.find("\"entries\""));
  ASSERT_NE(sig, std::string::npos);
  std::size_t at = body.find(':', sig);
  ASSERT_NE(at, std::string::npos);
  while (at < body.size() && !std::isalnum(static_cast<unsigned char>(body[at]))) ++at;
  ASSERT_LT(at + 1, body.size());
  char& c = body[at + 1];
  c = c == 'A' ? 'B' : 'A';

  std::vector<Action> out = h.feed(kRu, TransactionReceived{5, body});
  const std::vector<Answer> answers = all_of<Answer>(out);
  ASSERT_EQ(answers.size(), 1u);
  EXPECT_EQ(answers[0].http_status, 400);
  EXPECT_TRUE(wire::parse_refusal(answers[0].body).is_ok());
  EXPECT_EQ(count_of<Persist>(out), 0u);
  EXPECT_EQ(notices_of(out, NoticeKind::kFrameRefused).size(), 1u);
  EXPECT_EQ(h.session(kRu).stats().frames_refused, 1u);

  // Nothing was recorded: the genuine transaction is still new and stored.
  out = h.feed(kRu, TransactionReceived{6, sent.body});
  ASSERT_EQ(count_of<Persist>(out), 1u);
  EXPECT_EQ(records_of<PutMessage>(all_of<Persist>(out)[0]), 1u);
}

TEST(PeerSessionTest, TransactionTheStoreRefusesIsRefusedAndForgotten) {
  Harness h;
  h.link_up = false;
  h.send(kUs);
  const SendTransaction sent = all_of<SendTransaction>(h.log[kUs])[0];

  // The store refuses the batch (say, an id it already holds): the peer gets a refusal
  // instead of a receipt, and nothing of the transaction is remembered.
  std::vector<Action> out = h.session_feed_raw(kRu, TransactionReceived{7, sent.body});
  ASSERT_EQ(count_of<Persist>(out), 1u);
  const BatchId batch = all_of<Persist>(out)[0].batch;
  out = h.session_feed_raw(kRu, PersistRefused{batch, Status::already_exists("id exists")});
  const std::vector<Answer> answers = all_of<Answer>(out);
  ASSERT_EQ(answers.size(), 1u);
  EXPECT_EQ(answers[0].http_status, 400);
  EXPECT_EQ(notices_of(out, NoticeKind::kFrameRefused).size(), 1u);

  // Sent again, the same transaction is new again (its seq was not recorded).
  out = h.session_feed_raw(kRu, TransactionReceived{8, sent.body});
  ASSERT_EQ(count_of<Persist>(out), 1u);
  EXPECT_EQ(records_of<PutMessage>(all_of<Persist>(out)[0]), 1u);
}

TEST(PeerSessionTest, SubmissionTheStoreRefusesIsRejected) {
  Harness h;
  Submit submit;
  submit.request = 41;
  submit.line = kLine;
  submit.principal = "saceur";
  submit.content.text = "hello";
  std::vector<Action> out = h.session_feed_raw(kUs, submit);
  const std::vector<Persist> persists = all_of<Persist>(out);
  ASSERT_EQ(persists.size(), 2u);  // the message; the transaction built over it
  out = h.session_feed_raw(kUs,
                           PersistRefused{persists[0].batch, Status::already_exists("id exists")});
  const std::vector<Rejected> rejected = all_of<Rejected>(out);
  ASSERT_EQ(rejected.size(), 1u);
  EXPECT_EQ(rejected[0].request, 41u);
  EXPECT_EQ(count_of<Accepted>(out), 0u);
  EXPECT_EQ(count_of<SendTransaction>(out), 0u);
  EXPECT_EQ(h.session(kUs).stats().queued, 0u);
  // The transaction's batch cannot apply without the message: it never leaves.
  out = h.session_feed_raw(kUs, PersistRefused{persists[1].batch, Status::not_found("no such")});
  EXPECT_EQ(count_of<SendTransaction>(out), 0u);
  // The log index was freed: the next message takes it and is delivered.
  const std::string next = h.send(kUs);
  EXPECT_EQ(h.store(kUs).find(next)->log_index, 0u);
  EXPECT_EQ(h.store(kUs).find(next)->state, MessageState::kDelivered);
}

// The receipt in `answer`, opened with the receiver's key; fails the test if it does not open.
ledger::ReceiptV2 receipt_of(const Answer& answer, const PartyKeys& receiver) {
  EXPECT_EQ(answer.http_status, 200) << answer.body;
  Result<ledger::ReceiptV2> r =
      ledger::open_receipt_v2(answer.body, receiver.keys.verify, receiver.id);
  EXPECT_TRUE(r.is_ok()) << r.status().to_string();
  return r.is_ok() ? *r : ledger::ReceiptV2{};
}

TEST(PeerSessionTest, EnvelopeForUnknownLineIsRefusedAloneAndTheRestIsStoredAndReceipted) {
  Harness h;
  wire::Draft bad = draft_from_ru(h.rng(), 1);
  bad.line = "nowhere";
  const wire::Draft good = draft_from_ru(h.rng(), 1);
  const std::string body = log_transaction(h.keys(kRu), h.keys(kUs), {bad, good}, h.rng());
  std::vector<Action> out = h.feed_durable(kUs, TransactionReceived{9, body});
  const std::vector<Answer> answers = all_of<Answer>(out);
  ASSERT_EQ(answers.size(), 1u);
  const ledger::ReceiptV2 receipt = receipt_of(answers[0], h.keys(kUs));
  // Both are countersigned entries of the peer's log; one is refused, with the reason.
  EXPECT_EQ(receipt.body.ids, (std::vector<std::string>{bad.id, good.id}));
  ASSERT_EQ(receipt.body.refused.size(), 1u);
  EXPECT_EQ(receipt.body.refused[0].id, bad.id);
  EXPECT_NE(receipt.body.refused[0].reason.find("unknown line 'nowhere'"), std::string::npos)
      << receipt.body.refused[0].reason;

  const MessageRecord* stored = h.store(kUs).find(good.id);
  ASSERT_NE(stored, nullptr);
  EXPECT_EQ(stored->state, MessageState::kDelivered);
  // The refused one is evidence, not an inbox message: refused, with its reason, in the log.
  const MessageRecord* kept = h.store(kUs).find(bad.id);
  ASSERT_NE(kept, nullptr);
  EXPECT_EQ(kept->state, MessageState::kRefused);
  EXPECT_EQ(kept->refusal, receipt.body.refused[0].reason);
  EXPECT_EQ(h.store(kUs).log("ru-genstaff", "us-eucom").size(), 2u);
  EXPECT_NE(h.store(kUs).inclusion(bad.id), nullptr);
  EXPECT_EQ(notices_of(out, NoticeKind::kMessageReceived).size(), 1u);
  EXPECT_EQ(notices_of(out, NoticeKind::kInboundRefused).size(), 1u);
  EXPECT_EQ(h.session(kUs).stats().inbound_refused, 1u);
  EXPECT_EQ(h.session(kUs).stats().frames_refused, 0u);

  // A resend gets the same refusal, and nothing is stored twice.
  out = h.feed_durable(kUs, TransactionReceived{10, body});
  ASSERT_EQ(count_of<Answer>(out), 1u);
  const ledger::ReceiptV2 again = receipt_of(all_of<Answer>(out)[0], h.keys(kUs));
  EXPECT_EQ(again.body.refused, receipt.body.refused);
  EXPECT_EQ(h.store(kUs).count(Direction::kInbound), 2u);
}

TEST(PeerSessionTest, EnvelopeToPrincipalNotOnTheLineIsRefusedAlone) {
  Harness h;
  wire::Draft d = draft_from_ru(h.rng(), 1);
  d.to = {"us-eucom", "cook"};
  std::vector<Action> out = h.feed_durable(
      kUs, TransactionReceived{9, transaction_body(h.keys(kRu), h.keys(kUs), d, h.rng())});
  ASSERT_EQ(count_of<Answer>(out), 1u);
  const ledger::ReceiptV2 receipt = receipt_of(all_of<Answer>(out)[0], h.keys(kUs));
  ASSERT_EQ(receipt.body.refused.size(), 1u);
  EXPECT_NE(receipt.body.refused[0].reason.find("'cook'"), std::string::npos);
  EXPECT_EQ(h.store(kUs).find(d.id)->state, MessageState::kRefused);
}

TEST(PeerSessionTest, InboundAckWithoutReplyToIsRefusedAlone) {
  Harness h;
  wire::Draft d = draft_from_ru(h.rng(), 1);
  d.type = "ack";
  d.content = wire::Content{"{}", ""};
  wire::Draft ack = draft_from_ru(h.rng(), 2);  // an ack of something we never sent: stored
  ack.type = "ack";
  ack.content = wire::Content{"{}", ""};
  ack.reply_to = uuid_v7(h.now, h.rng());
  std::vector<Action> out = h.feed(
      kUs, TransactionReceived{9, log_transaction(h.keys(kRu), h.keys(kUs), {d, ack}, h.rng())});
  ASSERT_EQ(count_of<Persist>(out), 1u);
  EXPECT_EQ(records_of<PutMessage>(all_of<Persist>(out)[0]), 2u);  // one refused, one stored
  settle(h.session(kUs), h.store(kUs), h.now, out);
  ASSERT_EQ(count_of<Answer>(out), 1u);
  const ledger::ReceiptV2 receipt = receipt_of(all_of<Answer>(out)[0], h.keys(kUs));
  ASSERT_EQ(receipt.body.refused.size(), 1u);
  EXPECT_EQ(receipt.body.refused[0].id, d.id);
  EXPECT_NE(receipt.body.refused[0].reason.find("reply_to"), std::string::npos);
  EXPECT_EQ(h.store(kUs).find(ack.id)->state, MessageState::kDelivered);
}

TEST(PeerSessionTest, ExpiredEnvelopeIsRefusedAlone) {
  Harness h;
  wire::Draft d = draft_from_ru(h.rng(), 1);
  d.expires = h.now - 1s;
  std::vector<Action> out = h.feed_durable(
      kUs, TransactionReceived{9, transaction_body(h.keys(kRu), h.keys(kUs), d, h.rng())});
  ASSERT_EQ(count_of<Answer>(out), 1u);
  const ledger::ReceiptV2 receipt = receipt_of(all_of<Answer>(out)[0], h.keys(kUs));
  ASSERT_EQ(receipt.body.refused.size(), 1u);
  EXPECT_NE(receipt.body.refused[0].reason.find("expired"), std::string::npos);
}

TEST(PeerSessionTest, RefusedSeqIsNoGapButAMissingSeqIsShown) {
  Harness h;
  wire::Draft refused = draft_from_ru(h.rng(), 1);
  refused.to = {"us-eucom", "cook"};
  const wire::Draft two = draft_from_ru(h.rng(), 2);
  const wire::Draft four = draft_from_ru(h.rng(), 4);
  h.feed_durable(kUs, TransactionReceived{9, log_transaction(h.keys(kRu), h.keys(kUs),
                                                             {refused, two, four}, h.rng())});
  // Seq 1 was refused (used, not missing); seq 3 never came.
  const std::vector<LineGap> gaps = h.session(kUs).stats().gaps;
  ASSERT_EQ(gaps.size(), 1u);
  EXPECT_EQ(gaps[0].line, kLine);
  EXPECT_EQ(gaps[0].seqs.watermark(), 2u);
  EXPECT_EQ(gaps[0].seqs.missing(), 1u);
  EXPECT_EQ(gaps[0].seqs.missing_seqs(10), (std::vector<std::uint64_t>{3}));
  EXPECT_EQ(gaps[0].seqs.missing_below(4), 1u);
  EXPECT_EQ(gaps[0].seqs.missing_below(2), 0u);
}

TEST(PeerSessionTest, MessageOnALineThePeerLacksIsRefusedAndFlashBehindItLeavesAtOnce) {
  Harness h;
  h.add_one_sided_line(kUs, "us-only");
  h.link_up = false;
  Submit bad = h.submit_event("saceur", Precedence::kRoutine, "on a line ru does not have");
  bad.line = "us-only";
  h.deliver(kUs, bad);
  std::string bad_id;
  for (const Accepted& a : all_of<Accepted>(h.log[kUs])) bad_id = a.message_id;
  ASSERT_FALSE(bad_id.empty());
  // The FLASH waits behind the transaction in flight, which holds the bad message.
  const std::string flash = h.send(kUs, Precedence::kFlash);
  ASSERT_FALSE(flash.empty());
  const std::vector<SendTransaction> sent = all_of<SendTransaction>(h.log[kUs]);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(envelopes_of(sent[0].body).size(), 1u);

  // ru answers it; from then on the link carries everything at once (no time passes).
  h.link_up = true;
  std::vector<Action> ru = h.feed_durable(kRu, TransactionReceived{h.next_request(), sent[0].body});
  const std::vector<Answer> answers = all_of<Answer>(ru);
  ASSERT_EQ(answers.size(), 1u);
  ASSERT_EQ(answers[0].http_status, 200) << answers[0].body;
  const std::size_t before = h.log[kUs].size();
  h.deliver(kUs, TransactionAnswered{sent[0].tx, answers[0].http_status, answers[0].body});

  // The bad message is refused, final, with ru's reason; it waits for no ack.
  const MessageRecord* refused = h.store(kUs).find(bad_id);
  ASSERT_NE(refused, nullptr);
  EXPECT_EQ(refused->state, MessageState::kRefused);
  ASSERT_TRUE(refused->refusal.has_value());
  EXPECT_NE(refused->refusal->find("unknown line 'us-only'"), std::string::npos)
      << *refused->refusal;
  EXPECT_TRUE(refused->receipt.has_value());  // ru's signed refusal is the evidence
  std::vector<Action> after(h.log[kUs].begin() + static_cast<std::ptrdiff_t>(before),
                            h.log[kUs].end());
  const std::vector<Notice> told = notices_of(after, NoticeKind::kMessageRefused);
  ASSERT_EQ(told.size(), 1u);
  EXPECT_EQ(told[0].message_id, bad_id);
  EXPECT_EQ(told[0].line, "us-only");
  // The FLASH left in the next transaction and was delivered, at the same instant.
  EXPECT_EQ(h.store(kUs).find(flash)->state, MessageState::kDelivered);
  ASSERT_NE(h.store(kRu).find(flash), nullptr);
  EXPECT_EQ(h.store(kRu).find(flash)->state, MessageState::kDelivered);
  const SessionStats stats = h.session(kUs).stats();
  EXPECT_EQ(stats.queued, 0u);
  EXPECT_EQ(stats.messages_refused, 1u);
  EXPECT_EQ(stats.unacknowledged, 1u);  // the FLASH only
  EXPECT_EQ(stats.transactions_refused, 0u);
  EXPECT_EQ(stats.countersigned_size, 2u);  // the refused entry is countersigned too
  EXPECT_NE(stats.last_refusal.find("unknown line"), std::string::npos);
  // The receiver recorded the refusal; its seq on that line is used, not a gap.
  EXPECT_EQ(h.store(kRu).find(bad_id)->state, MessageState::kRefused);
  EXPECT_TRUE(h.session(kRu).stats().gaps.empty());

  // Its deadline passes: no overdue mark for a refused message.
  h.now += 7h;
  std::vector<Action> timer = h.feed_durable(kUs, TimerFired{});
  for (const Notice& n : notices_of(timer, NoticeKind::kOverdue)) EXPECT_NE(n.message_id, bad_id);
  EXPECT_EQ(h.store(kUs).find(bad_id)->state, MessageState::kRefused);
  // And after a restart it is neither resent nor watched.
  h.restart(kUs, h.store(kUs).recover("us-eucom", "ru-genstaff"));
  EXPECT_EQ(h.session(kUs).stats().queued, 0u);
}

TEST(PeerSessionTest, RepeatedWholeTransactionRefusalRaisesAnAlert) {
  Harness h;
  h.link_up = false;
  h.send(kUs);
  const SendTransaction sent = all_of<SendTransaction>(h.log[kUs])[0];
  const std::string refusal = wire::encode_refusal({"bad signature on the head", ""});
  std::vector<Action> out = h.feed(kUs, TransactionAnswered{sent.tx, 400, refusal});
  EXPECT_EQ(notices_of(out, NoticeKind::kPeerRefused).size(), 1u);
  EXPECT_TRUE(notices_of(out, NoticeKind::kRefusalRepeats).empty());  // once may be transient

  std::size_t alerts = 0;
  for (int attempt = 2; attempt <= 5; ++attempt) {
    h.now += 20s;
    out = h.feed(kUs, TimerFired{});
    ASSERT_EQ(count_of<SendTransaction>(out), 1u);
    out = h.feed(kUs, TransactionAnswered{sent.tx, 400, refusal});
    const std::vector<Notice> alert = notices_of(out, NoticeKind::kRefusalRepeats);
    alerts += alert.size();
    // At the 2nd refusal in a row and at the 4th (each doubling), naming the reason.
    EXPECT_EQ(alert.size(), attempt == 2 || attempt == 4 ? 1u : 0u) << "attempt " << attempt;
    for (const Notice& n : alert) {
      EXPECT_NE(n.text.find("bad signature on the head"), std::string::npos) << n.text;
    }
  }
  EXPECT_EQ(alerts, 2u);
  const SessionStats stats = h.session(kUs).stats();
  EXPECT_EQ(stats.transactions_refused, 5u);
  EXPECT_EQ(stats.refusal_streak, 5u);
  EXPECT_EQ(stats.last_refusal, "bad signature on the head");

  // A receipt ends the streak.
  h.link_up = true;
  h.now += 20s;
  h.deliver(kUs, TimerFired{});
  EXPECT_EQ(h.session(kUs).stats().refusal_streak, 0u);
  EXPECT_EQ(h.session(kUs).stats().queued, 0u);
}

TEST(PeerSessionTest, ForeignPartyTransactionIsRefused) {
  Harness h;
  // A third party with its own keys, claiming to be nobody we peer with.
  PartyKeys mallory = make_party("cn-pla", 3);
  wire::Draft d = draft_from_ru(h.rng(), 1);
  d.from = {"cn-pla", "cgs"};
  std::vector<Action> out =
      h.feed(kUs, TransactionReceived{3, transaction_body(mallory, h.keys(kUs), d, h.rng())});
  ASSERT_EQ(count_of<Answer>(out), 1u);
  EXPECT_EQ(all_of<Answer>(out)[0].http_status, 400);
  EXPECT_EQ(count_of<Persist>(out), 0u);

  // Signed by the third party's key but claiming to be the peer: the signature fails.
  mallory.id = "ru-genstaff";
  d.from = {"ru-genstaff", "cgs"};
  out = h.feed(kUs, TransactionReceived{4, transaction_body(mallory, h.keys(kUs), d, h.rng())});
  ASSERT_EQ(count_of<Answer>(out), 1u);
  EXPECT_EQ(all_of<Answer>(out)[0].http_status, 400);
  EXPECT_EQ(count_of<Persist>(out), 0u);
  EXPECT_EQ(h.session(kUs).stats().frames_refused, 2u);
}

TEST(PeerSessionTest, TransactionFromThePeerToAnotherPartyIsRefused) {
  Harness h;
  wire::Draft d = draft_from_ru(h.rng(), 1);
  PartyKeys elsewhere = h.keys(kUs);
  elsewhere.id = "fr-cema";
  std::vector<Action> out =
      h.feed(kUs, TransactionReceived{3, transaction_body(h.keys(kRu), elsewhere, d, h.rng())});
  ASSERT_EQ(count_of<Answer>(out), 1u);
  EXPECT_EQ(all_of<Answer>(out)[0].http_status, 400);
  EXPECT_EQ(count_of<Persist>(out), 0u);
}

TEST(PeerSessionTest, GarbageTransactionIsRefusedWithoutCrashing) {
  Harness h;
  for (const char* body : {"", "{", "null", "{\"v\":1}", "[1,2,3]", "\xff\xfe"}) {
    std::vector<Action> out = h.feed(kUs, TransactionReceived{1, body});
    ASSERT_EQ(count_of<Answer>(out), 1u) << body;
    EXPECT_EQ(all_of<Answer>(out)[0].http_status, 400);
    EXPECT_EQ(count_of<Persist>(out), 0u);
  }
}

// A transaction sent again (its answer was lost, or anyone replays it) is answered with the
// receipt signed the first time, byte for byte: both parties keep one countersignature of
// the head, and a replay rewrites no evidence.
TEST(PeerSessionTest, DuplicateTransactionIsAnsweredWithTheSameReceiptAndStoredOnce) {
  Harness h;
  h.link_up = false;
  const std::string id = h.send(kUs);
  const SendTransaction sent = all_of<SendTransaction>(h.log[kUs])[0];

  // First copy: its batch is not yet durable when the second copy arrives, which is told
  // to come again (no receipt may leave before the batch is durable).
  std::vector<Action> first = h.feed(kRu, TransactionReceived{1, sent.body});
  h.now += 5ms;
  std::vector<Action> second = h.feed(kRu, TransactionReceived{2, sent.body});
  ASSERT_EQ(count_of<Persist>(first), 1u);
  EXPECT_EQ(records_of<PutMessage>(all_of<Persist>(first)[0]), 1u);
  EXPECT_EQ(count_of<Persist>(second), 0u);
  ASSERT_EQ(count_of<Answer>(second), 1u);
  EXPECT_EQ(all_of<Answer>(second)[0].request, 2u);
  EXPECT_EQ(all_of<Answer>(second)[0].http_status, 503);

  h.store(kRu).apply(all_of<Persist>(first)[0].records);
  std::vector<Action> a1 = h.feed(kRu, Persisted{all_of<Persist>(first)[0].batch});
  ASSERT_EQ(count_of<Answer>(a1), 1u);
  EXPECT_EQ(all_of<Answer>(a1)[0].http_status, 200);
  EXPECT_EQ(notices_of(a1, NoticeKind::kMessageReceived).size(), 1u);

  // A third copy, later, after everything is durable: the same receipt, nothing stored.
  h.now += 1s;
  std::vector<Action> third = h.feed(kRu, TransactionReceived{3, sent.body});
  EXPECT_EQ(count_of<Persist>(third), 0u);
  ASSERT_EQ(count_of<Answer>(third), 1u);
  EXPECT_EQ(all_of<Answer>(third)[0].http_status, 200);
  EXPECT_EQ(all_of<Answer>(third)[0].body, all_of<Answer>(a1)[0].body);
  EXPECT_EQ(notices_of(third, NoticeKind::kMessageReceived).size(), 0u);  // shown once
  const auto& heads = h.store(kRu).heads("us-eucom", "ru-genstaff");
  ASSERT_EQ(heads.size(), 1u);
  EXPECT_EQ(heads.begin()->second.receipt, all_of<Answer>(a1)[0].body);

  // After a restart the receiver answers the stored receipt too.
  h.restart(kRu, h.store(kRu).recover("ru-genstaff", "us-eucom"));
  h.now += 1s;
  std::vector<Action> fourth = h.feed(kRu, TransactionReceived{4, sent.body});
  EXPECT_EQ(count_of<Persist>(fourth), 0u);
  ASSERT_EQ(count_of<Answer>(fourth), 1u);
  EXPECT_EQ(all_of<Answer>(fourth)[0].body, all_of<Answer>(a1)[0].body);

  // The receipt is valid for the sender.
  std::vector<Action> answered =
      h.feed(kUs, TransactionAnswered{sent.tx, 200, all_of<Answer>(fourth)[0].body});
  ASSERT_EQ(count_of<Persist>(answered), 1u);
  h.carry(kUs, answered);
  EXPECT_EQ(h.store(kUs).find(id)->state, MessageState::kDelivered);
  EXPECT_EQ(h.store(kRu).count(Direction::kInbound), 1u);
}

// Every number a peer sends is bounded where it is parsed (json::kUintMax): a validly signed
// envelope with seq 2^63 once passed the parser, was refused by the store as out of range,
// and stopped the receiving gateway. It is refused with a reason, and nothing is persisted.
TEST(PeerSessionTest, EnvelopeWithASeqTheStoreCannotHoldIsRefusedWithAReason) {
  for (const std::uint64_t seq :
       {std::uint64_t{1} << 63, json::kUintMax + 1, std::numeric_limits<std::uint64_t>::max()}) {
    Harness h;
    const std::string body =
        transaction_body(h.keys(kRu), h.keys(kUs), draft_from_ru(h.rng(), seq), h.rng());
    std::vector<Action> out = h.feed(kUs, TransactionReceived{h.next_request(), body});
    EXPECT_EQ(count_of<Persist>(out), 0u) << seq;
    const std::vector<Answer> answers = all_of<Answer>(out);
    ASSERT_EQ(answers.size(), 1u) << seq;
    EXPECT_EQ(answers[0].http_status, 400);
    EXPECT_NE(answers[0].body.find("'seq'"), std::string::npos) << answers[0].body;
    EXPECT_EQ(notices_of(out, NoticeKind::kFrameRefused).size(), 1u);
    // Good traffic still flows.
    const std::string good =
        transaction_body(h.keys(kRu), h.keys(kUs), draft_from_ru(h.rng(), 1), h.rng());
    out = h.feed_durable(kUs, TransactionReceived{h.next_request(), good});
    ASSERT_EQ(count_of<Answer>(out), 1u);
    EXPECT_EQ(all_of<Answer>(out)[0].http_status, 200);
  }
}

TEST(PeerSessionTest, FailedSendIsRetriedWithTheSameTransactionAfterBackoff) {
  Harness h;
  h.link_up = false;
  h.send(kUs);
  const SendTransaction sent = all_of<SendTransaction>(h.log[kUs])[0];

  std::vector<Action> out = h.feed(kUs, TransactionFailed{sent.tx, "connection refused"});
  EXPECT_EQ(notices_of(out, NoticeKind::kLinkTrouble).size(), 1u);
  EXPECT_EQ(count_of<SendTransaction>(out), 0u);
  ASSERT_TRUE(h.session(kUs).next_deadline().has_value());
  EXPECT_EQ(*h.session(kUs).next_deadline(), h.now + 100ms);

  // Too early: nothing is resent.
  h.now += 50ms;
  out = h.feed(kUs, TimerFired{});
  EXPECT_EQ(count_of<SendTransaction>(out), 0u);

  h.now += 50ms;
  out = h.feed(kUs, TimerFired{});
  std::vector<SendTransaction> resent = all_of<SendTransaction>(out);
  ASSERT_EQ(resent.size(), 1u);
  EXPECT_EQ(resent[0].tx, sent.tx);
  EXPECT_EQ(resent[0].body, sent.body);

  // The second failure of the streak doubles the backoff and raises no new alert.
  out = h.feed(kUs, TransactionFailed{sent.tx, "connection refused"});
  EXPECT_EQ(notices_of(out, NoticeKind::kLinkTrouble).size(), 0u);
  EXPECT_EQ(*h.session(kUs).next_deadline(), h.now + 200ms);
  EXPECT_EQ(h.session(kUs).stats().send_failures, 2u);
  EXPECT_NE(h.session(kUs).stats().last_error.find("connection refused"), std::string::npos);

  // A stale failure for another transaction changes nothing.
  out = h.feed(kUs, TransactionFailed{"0190a0b0-0000-7000-8000-000000000000", "x"});
  EXPECT_TRUE(out.empty());
}

TEST(PeerSessionTest, PeerRefusalKeepsTheMessagesAndRetries) {
  Harness h;
  h.link_up = false;
  const std::string id = h.send(kUs);
  const SendTransaction sent = all_of<SendTransaction>(h.log[kUs])[0];
  std::vector<Action> out = h.feed_durable(
      kUs, TransactionAnswered{sent.tx, 400, wire::encode_refusal({"unknown line 'x'", ""})});
  const std::vector<Notice> refused = notices_of(out, NoticeKind::kPeerRefused);
  ASSERT_EQ(refused.size(), 1u);
  EXPECT_NE(refused[0].text.find("unknown line 'x'"), std::string::npos);
  EXPECT_EQ(h.session(kUs).stats().queued, 1u);

  out = h.feed(kUs, TransactionAnswered{sent.tx, 403, "not json"});  // tolerated
  h.now += 1s;
  out = h.feed(kUs, TimerFired{});
  ASSERT_EQ(count_of<SendTransaction>(out), 1u);
  EXPECT_EQ(all_of<SendTransaction>(out)[0].tx, sent.tx);
  EXPECT_EQ(h.store(kUs).find(id)->state, MessageState::kSent);
}

TEST(PeerSessionTest, InvalidReceiptIsNotAccepted) {
  Harness h;
  h.link_up = false;
  const std::string id = h.send(kUs);
  const SendTransaction sent = all_of<SendTransaction>(h.log[kUs])[0];

  // A receipt signed by us rather than the peer, countersigning the head we sent.
  const Result<wire::Transaction> tx = wire::parse_transaction(sent.body);
  ASSERT_TRUE(tx.is_ok());
  const ledger::SignedTreeHead sth = *ledger::parse_sth(tx->sth);
  ledger::ReceiptV2Body body;
  body.tx = sent.tx;
  body.from = "ru-genstaff";
  body.to = "us-eucom";
  body.sth = sth.payload_bytes;
  body.sth_sig = sth.sig;
  body.ids = {id};
  body.indices = {0};
  body.received = h.now;
  const std::string forged =
      ledger::encode_receipt_v2(ledger::sign_receipt_v2(body, h.keys(kUs).keys.signing));
  // The peer answered: the message is sent (that mark is all that is stored), not delivered.
  std::vector<Action> out = h.feed_durable(kUs, TransactionAnswered{sent.tx, 200, forged});
  ASSERT_EQ(count_of<Persist>(out), 1u);
  EXPECT_EQ(records_of<UpdateMessage>(all_of<Persist>(out)[0]), 1u);
  EXPECT_EQ(all_of<Persist>(out)[0].records.size(), 1u);
  EXPECT_FALSE(h.store(kUs).find(id)->receipt.has_value());
  EXPECT_EQ(notices_of(out, NoticeKind::kPeerRefused).size(), 1u);

  // Signed by the peer, but over another head of our log (a different signature).
  ledger::ReceiptV2Body other = body;
  other.sth_sig[0] ^= 1;
  const std::string wrong =
      ledger::encode_receipt_v2(ledger::sign_receipt_v2(other, h.keys(kRu).keys.signing));
  out = h.feed(kUs, TransactionAnswered{sent.tx, 200, wrong});
  EXPECT_EQ(count_of<Persist>(out), 0u);
  EXPECT_EQ(count_of<Notify>(out), 1u);  // the trouble changed: alert again
  EXPECT_NE(all_of<Notify>(out)[0].notice.text.find("does not countersign"), std::string::npos)
      << all_of<Notify>(out)[0].notice.text;

  // Signed by the peer, but for another index.
  other = body;
  other.indices = {7};
  out = h.feed(kUs, TransactionAnswered{sent.tx, 200,
                                        ledger::encode_receipt_v2(ledger::sign_receipt_v2(
                                            other, h.keys(kRu).keys.signing))});
  EXPECT_EQ(count_of<Persist>(out), 0u);

  out = h.feed(kUs, TransactionAnswered{sent.tx, 200, "{\"garbage\":true}"});
  EXPECT_EQ(count_of<Persist>(out), 0u);
  EXPECT_EQ(h.store(kUs).find(id)->state, MessageState::kSent);
  EXPECT_EQ(h.session(kUs).stats().queued, 1u);
  EXPECT_TRUE(h.session(kUs).next_deadline().has_value());  // it will be retried

  // The genuine receipt still works afterwards.
  h.link_up = true;
  h.now += 10s;
  h.deliver(kUs, TimerFired{});
  EXPECT_EQ(h.store(kUs).find(id)->state, MessageState::kDelivered);
}

TEST(PeerSessionTest, UnknownLineIsRejected) {
  Harness h;
  Submit s = h.submit_event();
  s.line = "elsewhere";
  std::vector<Action> out = h.feed(kUs, s);
  ASSERT_EQ(out.size(), 1u);
  const Rejected r = std::get<Rejected>(out[0]);
  EXPECT_EQ(r.request, s.request);
  EXPECT_EQ(r.status.code(), StatusCode::kNotFound);
  EXPECT_EQ(r.status.message(), "unknown line 'elsewhere'");

  // Nothing advanced: the next message on the real line is seq 1.
  std::vector<Action> ok = h.feed(kUs, h.submit_event());
  EXPECT_EQ(put_of(ok).seq, 1u);
}

TEST(PeerSessionTest, PrincipalNotOnTheLineIsRejected) {
  Harness h;
  std::vector<Action> out = h.feed(kUs, h.submit_event("cook"));
  ASSERT_EQ(count_of<Rejected>(out), 1u);
  EXPECT_EQ(all_of<Rejected>(out)[0].status.code(), StatusCode::kPermissionDenied);
  out = h.feed(kUs, h.submit_event("dsaceur"));  // an alternate may send
  EXPECT_EQ(count_of<Rejected>(out), 0u);
  EXPECT_EQ(put_of(out).from.principal, "dsaceur");
}

TEST(PeerSessionTest, UnknownTypeAndBadBodyAreRejected) {
  Harness h;
  Submit s = h.submit_event();
  s.type = "notify.nonsense";
  std::vector<Action> out = h.feed(kUs, s);
  ASSERT_EQ(count_of<Rejected>(out), 1u);
  EXPECT_EQ(all_of<Rejected>(out)[0].status.code(), StatusCode::kNotFound);

  s = h.submit_event();
  s.content.body_json = "{\"no-such-field\":1}";
  out = h.feed(kUs, s);
  ASSERT_EQ(count_of<Rejected>(out), 1u);
  EXPECT_EQ(all_of<Rejected>(out)[0].status.code(), StatusCode::kInvalidArgument);

  s = h.submit_event();
  s.content.body_json = "{not json";
  out = h.feed(kUs, s);
  ASSERT_EQ(count_of<Rejected>(out), 1u);

  s = h.submit_event();
  s.type = "ack";
  out = h.feed(kUs, s);
  ASSERT_EQ(count_of<Rejected>(out), 1u);
  EXPECT_EQ(all_of<Rejected>(out)[0].status.code(), StatusCode::kInvalidArgument);

  s = h.submit_event("saceur", Precedence::kRoutine, std::string(wire::kContentBytesMax, 'x'));
  out = h.feed(kUs, s);
  ASSERT_EQ(count_of<Rejected>(out), 1u);
  EXPECT_EQ(all_of<Rejected>(out)[0].status.code(), StatusCode::kInvalidArgument);

  s = h.submit_event();
  s.reply_to = "not-a-uuid";
  out = h.feed(kUs, s);
  ASSERT_EQ(count_of<Rejected>(out), 1u);

  s = h.submit_event();
  s.expires = h.now;
  out = h.feed(kUs, s);
  ASSERT_EQ(count_of<Rejected>(out), 1u);
  EXPECT_EQ(h.session(kUs).stats().queued, 0u);
}

TEST(PeerSessionTest, AlternateMayAcknowledgeButOtherPrincipalMayNot) {
  Harness h;
  const std::string id = h.send(kUs, Precedence::kPriority);
  const MessageRecord inbound = *h.store(kRu).find(id);

  std::vector<Action> out = h.feed(kRu, Acknowledge{h.next_request(), "cook", inbound});
  ASSERT_EQ(count_of<Rejected>(out), 1u);
  EXPECT_EQ(all_of<Rejected>(out)[0].status.code(), StatusCode::kPermissionDenied);

  h.deliver(kRu, Acknowledge{h.next_request(), "deputy-cgs", inbound});
  EXPECT_EQ(h.store(kRu).find(id)->acknowledged_by, "ru-genstaff/deputy-cgs");
  EXPECT_EQ(h.store(kUs).find(id)->state, MessageState::kAcknowledged);
  EXPECT_EQ(h.store(kUs).find(id)->acknowledged_by, "ru-genstaff/deputy-cgs");
}

TEST(PeerSessionTest, AckOfOwnOutboundMessageIsRejected) {
  Harness h;
  const std::string id = h.send(kUs);
  std::vector<Action> out =
      h.feed(kUs, Acknowledge{h.next_request(), "saceur", *h.store(kUs).find(id)});
  ASSERT_EQ(out.size(), 1u);
  const Rejected r = std::get<Rejected>(out[0]);
  EXPECT_EQ(r.status.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status.message(), "cannot acknowledge a message you sent");
}

TEST(PeerSessionTest, RefusedBatchWithThePeersAckLeavesTheMessageWaitingForAnAck) {
  Harness h;
  const std::string id = h.send(kUs);
  const Time deadline = h.store(kUs).find(id)->ack_deadline;
  ASSERT_EQ(h.session(kUs).next_deadline(), deadline);

  // The peer acknowledges; its transaction reaches us, and the store refuses our batch.
  h.link_up = false;
  const MessageRecord inbound = *h.store(kRu).find(id);
  h.deliver(kRu, Acknowledge{h.next_request(), "cgs", inbound});
  const std::vector<SendTransaction> sent = all_of<SendTransaction>(h.log[kRu]);
  ASSERT_EQ(sent.size(), 1u);
  std::vector<Action> out = h.session_feed_raw(kUs, TransactionReceived{901, sent[0].body});
  ASSERT_EQ(count_of<Persist>(out), 1u);
  EXPECT_EQ(h.session(kUs).next_deadline(), std::nullopt);  // the ack is being stored
  out = h.session_feed_raw(
      kUs, PersistRefused{all_of<Persist>(out)[0].batch, Status::already_exists("id exists")});
  ASSERT_EQ(count_of<Answer>(out), 1u);
  EXPECT_EQ(all_of<Answer>(out)[0].http_status, 400);

  // Not acknowledged after all: the deadline is watched again, and escalates when it passes.
  EXPECT_EQ(h.session(kUs).next_deadline(), deadline);
  EXPECT_EQ(h.session(kUs).stats().unacknowledged, 1u);
  h.now = deadline;
  out = h.session_feed_raw(kUs, TimerFired{});
  EXPECT_EQ(notices_of(out, NoticeKind::kOverdue).size(), 1u);
}

TEST(PeerSessionTest, DoubleAckIsRejected) {
  Harness h;
  const std::string id = h.send(kUs);
  const MessageRecord inbound = *h.store(kRu).find(id);

  // The second ack arrives while the first is not yet durable.
  std::vector<Action> first = h.feed(kRu, Acknowledge{h.next_request(), "cgs", inbound});
  ASSERT_GE(count_of<Persist>(first), 1u);
  EXPECT_EQ(records_of<PutMessage>(all_of<Persist>(first)[0]), 1u);
  std::vector<Action> second = h.feed(kRu, Acknowledge{h.next_request(), "deputy-cgs", inbound});
  ASSERT_EQ(count_of<Rejected>(second), 1u);
  EXPECT_EQ(all_of<Rejected>(second)[0].status.code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(all_of<Rejected>(second)[0].status.message(),
            "already acknowledged by ru-genstaff/cgs");
  h.carry(kRu, first);

  // And once the store says so.
  std::vector<Action> third =
      h.feed(kRu, Acknowledge{h.next_request(), "cgs", *h.store(kRu).find(id)});
  ASSERT_EQ(count_of<Rejected>(third), 1u);
  EXPECT_EQ(all_of<Rejected>(third)[0].status.code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(h.store(kUs).count(Direction::kInbound), 1u);  // one ack travelled
}

TEST(PeerSessionTest, AckOfAnAckIsRejected) {
  Harness h;
  const std::string id = h.send(kUs);
  h.deliver(kRu, Acknowledge{h.next_request(), "cgs", *h.store(kRu).find(id)});
  const std::string ack_id = all_of<Accepted>(h.log[kRu])[0].message_id;
  const MessageRecord* ack = h.store(kUs).find(ack_id);
  ASSERT_NE(ack, nullptr);
  std::vector<Action> out = h.feed(kUs, Acknowledge{h.next_request(), "saceur", *ack});
  ASSERT_EQ(count_of<Rejected>(out), 1u);
  EXPECT_EQ(all_of<Rejected>(out)[0].status.code(), StatusCode::kInvalidArgument);
}

TEST(PeerSessionTest, NextDeadlineIsTheEarliestOfTheMessagesStillAwaitingAnAck) {
  Harness h;
  const std::string routine = h.send(kUs, Precedence::kRoutine);
  const std::string flash = h.send(kUs, Precedence::kFlash);
  const Time routine_deadline = h.store(kUs).find(routine)->ack_deadline;
  ASSERT_LT(h.now + 5min, routine_deadline);
  EXPECT_EQ(h.session(kUs).next_deadline(), h.now + 5min);

  // Acknowledged: its deadline is no longer watched; the ROUTINE one is next.
  h.deliver(kRu, Acknowledge{h.next_request(), "cgs", *h.store(kRu).find(flash)});
  ASSERT_EQ(h.store(kUs).find(flash)->state, MessageState::kAcknowledged);
  EXPECT_EQ(h.session(kUs).next_deadline(), routine_deadline);

  // Overdue: not watched either; nothing is left.
  h.now = routine_deadline;
  h.deliver(kUs, TimerFired{});
  EXPECT_EQ(h.store(kUs).find(routine)->state, MessageState::kOverdue);
  EXPECT_FALSE(h.session(kUs).next_deadline().has_value());
}

TEST(PeerSessionTest, MissedDeadlineMarksOverdueOnce) {
  Harness h;
  const std::string id = h.send(kUs, Precedence::kFlash);
  ASSERT_EQ(h.session(kUs).next_deadline(), h.now + 5min);

  h.now += 4min;
  std::vector<Action> out = h.feed(kUs, TimerFired{});
  EXPECT_TRUE(out.empty());

  h.now += 1min;
  h.deliver(kUs, TimerFired{});
  const std::vector<Notice> overdue = notices_of(h.log[kUs], NoticeKind::kOverdue);
  ASSERT_EQ(overdue.size(), 1u);
  EXPECT_EQ(overdue[0].message_id, id);
  EXPECT_EQ(overdue[0].text,
            "FLASH message " + id + " on line saceur-cgs not acknowledged within 5m");
  EXPECT_EQ(h.store(kUs).find(id)->state, MessageState::kOverdue);
  EXPECT_EQ(h.session(kUs).stats().overdue, 1u);
  EXPECT_FALSE(h.session(kUs).next_deadline().has_value());

  h.now += 1min;
  out = h.feed(kUs, TimerFired{});
  EXPECT_TRUE(notices_of(out, NoticeKind::kOverdue).empty());

  // Acknowledgment is still possible after the deadline.
  h.deliver(kRu, Acknowledge{h.next_request(), "cgs", *h.store(kRu).find(id)});
  EXPECT_EQ(h.store(kUs).find(id)->state, MessageState::kAcknowledged);
  EXPECT_EQ(h.session(kUs).stats().overdue, 0u);
}

TEST(PeerSessionTest, RecoveredQueueIsResentAfterRestart) {
  // Before the crash: two messages stored, one sent but never receipted.
  Recovered recovered;
  std::vector<std::string> ids;
  {
    Harness before;
    before.link_up = false;
    ids.push_back(before.send(kUs, Precedence::kRoutine));
    ids.push_back(before.send(kUs, Precedence::kFlash));
    recovered = before.store(kUs).recover("us-eucom", "ru-genstaff");
    EXPECT_EQ(recovered.unreceipted.size(), 2u);
    EXPECT_EQ(recovered.last_outbound_seq[kLine], 2u);
    EXPECT_EQ(recovered.ledger.log_size, 2u);
  }
  Harness h(recovered, /*seed=*/43);  // same keys, other ids
  ASSERT_TRUE(h.session(kUs).next_deadline().has_value());
  EXPECT_LE(*h.session(kUs).next_deadline(), h.now);  // due at once
  EXPECT_EQ(h.session(kUs).stats().queued, 2u);
  for (const MessageRecord& m : recovered.unreceipted) {
    h.store(kUs).apply({PutMessage{m}});
  }

  h.deliver(kUs, TimerFired{});
  const std::vector<SendTransaction> sent = all_of<SendTransaction>(h.log[kUs]);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].precedence, Precedence::kFlash);
  for (const std::string& id : ids) {
    ASSERT_NE(h.store(kRu).find(id), nullptr);
    EXPECT_EQ(h.store(kUs).find(id)->state, MessageState::kDelivered);
  }
  EXPECT_EQ(h.session(kUs).stats().queued, 0u);
  EXPECT_EQ(h.session(kUs).stats().unacknowledged, 2u);

  // Numbering continues after the recovered seq.
  std::vector<Action> out = h.feed(kUs, h.submit_event());
  EXPECT_EQ(put_of(out).seq, 3u);
}

TEST(PeerSessionTest, RecoveredInboundSeqsAreNotStoredAgain) {
  Harness first;
  first.link_up = false;
  first.send(kUs);
  const SendTransaction sent = all_of<SendTransaction>(first.log[kUs])[0];

  // The receiver restarts knowing it already stored seq 1 on the line.
  Harness h;
  Recovered recovered;
  recovered.inbound_seqs[kLine] = RecoveredSeqs{/*watermark=*/1, {}};
  PeerSession ru(h.config(kRu), catalog::Catalog::builtin(), h.rng(), recovered);
  std::vector<Action> out;
  ru.handle(TransactionReceived{1, sent.body}, h.now, out);
  ASSERT_EQ(count_of<Persist>(out), 1u);
  EXPECT_EQ(records_of<PutMessage>(all_of<Persist>(out)[0]), 0u);
}

TEST(PeerSessionTest, RecoveredWatermarkAndSeqsAboveItDedupeAndTheGapsAreStored) {
  // The sender holds seqs 1..4 unreceipted and sends them in one transaction after a restart.
  Harness first;
  first.link_up = false;
  for (int i = 0; i < 4; ++i) first.send(kUs);
  PeerSession sender(first.config(kUs), catalog::Catalog::builtin(), first.rng(),
                     first.store(kUs).recover("us-eucom", "ru-genstaff"));
  std::vector<Action> sent;
  sender.handle(TimerFired{}, first.now, sent);
  settle(sender, first.store(kUs), first.now, sent);
  ASSERT_EQ(count_of<SendTransaction>(sent), 1u);
  const std::string body = all_of<SendTransaction>(sent)[0].body;

  // The receiver restarts having stored 1 (the watermark) and 3 (above a gap).
  Harness h;
  Recovered recovered;
  recovered.inbound_seqs[kLine] = RecoveredSeqs{/*watermark=*/1, {3}};
  PeerSession ru(h.config(kRu), catalog::Catalog::builtin(), h.rng(), recovered);
  std::vector<Action> out;
  ru.handle(TransactionReceived{1, body}, h.now, out);
  ASSERT_EQ(count_of<Persist>(out), 1u);
  const Persist persist = all_of<Persist>(out)[0];
  std::vector<std::uint64_t> stored;
  for (const Record& r : persist.records) {
    if (const auto* put = std::get_if<PutMessage>(&r)) stored.push_back(put->message.seq);
  }
  EXPECT_EQ(stored, (std::vector<std::uint64_t>{2, 4}));

  // Once durable, the gaps are filled: the same transaction again stores nothing and is
  // answered with the same receipt.
  out.clear();
  ru.handle(Persisted{persist.batch}, h.now, out);
  ASSERT_EQ(count_of<Answer>(out), 1u);
  const std::string receipt = all_of<Answer>(out)[0].body;
  out.clear();
  ru.handle(TransactionReceived{2, body}, h.now, out);
  EXPECT_EQ(count_of<Persist>(out), 0u);
  ASSERT_EQ(count_of<Answer>(out), 1u);
  EXPECT_EQ(all_of<Answer>(out)[0].body, receipt);
}

TEST(PeerSessionTest, BadPeerBoxKeyRefusesEverything) {
  Harness h;
  SessionConfig config = h.config(kUs);
  config.peer.box_key = crypto::BoxPublicKey{};  // all zeros: a low-order point
  PeerSession broken(config, catalog::Catalog::builtin(), h.rng(), Recovered{});
  std::vector<Action> out;
  broken.handle(h.submit_event(), h.now, out);
  ASSERT_EQ(count_of<Rejected>(out), 1u);
  EXPECT_FALSE(all_of<Rejected>(out)[0].status.is_ok());
  out.clear();
  broken.handle(TransactionReceived{1, "{}"}, h.now, out);
  ASSERT_EQ(count_of<Answer>(out), 1u);
  EXPECT_EQ(all_of<Answer>(out)[0].http_status, 400);
}

TEST(PeerSessionTest, UnknownBatchIsIgnored) {
  Harness h;
  std::vector<Action> out = h.feed(kUs, Persisted{12345});
  EXPECT_TRUE(out.empty());
}

TEST(PeerSessionTest, TransactionsHoldAtMostTxEnvelopesMax) {
  Harness h;
  h.link_up = false;
  for (int i = 0; i < 70; ++i) h.send(kUs);  // the first goes alone, 69 wait
  const SendTransaction first = all_of<SendTransaction>(h.log[kUs])[0];
  h.link_up = true;
  h.deliver(kUs, TransactionFailed{first.tx, "timeout"});
  h.now += 1s;
  h.deliver(kUs, TimerFired{});
  const std::vector<SendTransaction> sent = all_of<SendTransaction>(h.log[kUs]);
  const std::size_t max = SessionConfig{}.tx_envelopes_max;
  ASSERT_LT(max, 69u);
  ASSERT_EQ(sent.size(), 2 + (69 + max - 1) / max);  // the first alone (twice), then full ones
  for (std::size_t i = 2; i + 1 < sent.size(); ++i) {
    EXPECT_EQ(envelopes_of(sent[i].body).size(), max);
  }
  EXPECT_EQ(envelopes_of(sent.back().body).size(), 69 - (sent.size() - 3) * max);
  EXPECT_EQ(h.store(kRu).count(Direction::kInbound), 70u);
  EXPECT_EQ(h.session(kUs).stats().queued, 0u);
}

// ---- the transcript ----

// Every outbound message of `side` has an inclusion proof that verifies against a head of
// its log that the other side countersigned (a receipt over exactly that head).
void expect_every_outbound_message_proven(Harness& h, int side) {
  const std::string me = side == kUs ? "us-eucom" : "ru-genstaff";
  const std::string peer = side == kUs ? "ru-genstaff" : "us-eucom";
  const int other = side == kUs ? kRu : kUs;
  std::size_t proven = 0;
  for (const auto& [id, m] : h.store(side).messages()) {
    if (m.direction != Direction::kOutbound) continue;
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

TEST(PeerSessionTest, ReceiptCountersignsTheSendersHead) {
  Harness h;
  h.link_up = false;
  const std::string id = h.send(kUs, Precedence::kImmediate);
  const SendTransaction sent = all_of<SendTransaction>(h.log[kUs])[0];
  h.link_up = true;
  h.deliver(kUs, TransactionFailed{sent.tx, "timeout"});
  h.now += 1s;
  h.deliver(kUs, TimerFired{});

  // The head the transaction carried: our log of one entry, signed by us.
  Result<wire::Transaction> tx = wire::parse_transaction(sent.body);
  ASSERT_TRUE(tx.is_ok());
  Result<ledger::SignedTreeHead> sth =
      ledger::open_sth(tx->sth, h.keys(kUs).keys.verify, "us-eucom");
  ASSERT_TRUE(sth.is_ok()) << sth.status().to_string();
  const MessageRecord& m = *h.store(kUs).find(id);
  EXPECT_EQ(sth->head.log, "us-eucom");
  EXPECT_EQ(sth->head.peer, "ru-genstaff");
  EXPECT_EQ(sth->head.size, 1u);
  EXPECT_EQ(sth->head.root, ledger::leaf_hash(as_bytes(m.envelope)));

  // The receipt: the peer's one signature over exactly that head and the entry received.
  ASSERT_EQ(m.state, MessageState::kDelivered);
  Result<ledger::ReceiptV2> receipt =
      ledger::open_receipt_v2(*m.receipt, h.keys(kRu).keys.verify, "ru-genstaff");
  ASSERT_TRUE(receipt.is_ok()) << receipt.status().to_string();
  EXPECT_EQ(receipt->body.tx, sent.tx);
  EXPECT_EQ(receipt->body.sth, sth->payload_bytes);
  EXPECT_EQ(receipt->body.sth_sig, sth->sig);
  EXPECT_EQ(receipt->body.ids, std::vector<std::string>{id});
  EXPECT_EQ(receipt->body.indices, std::vector<std::uint64_t>{0});

  // Both sides keep the head with its countersignature; the sender also its frontier.
  const auto& ours = h.store(kUs).heads("us-eucom", "ru-genstaff");
  ASSERT_EQ(ours.count(1), 1u);
  EXPECT_EQ(ours.at(1).receipt, m.receipt);
  EXPECT_EQ(ours.at(1).frontier, std::vector<crypto::Digest>{sth->head.root});
  const auto& theirs = h.store(kRu).heads("us-eucom", "ru-genstaff");
  ASSERT_EQ(theirs.count(1), 1u);
  EXPECT_EQ(theirs.at(1).sth, tx->sth);
  EXPECT_EQ(theirs.at(1).receipt, m.receipt);
  EXPECT_EQ(h.session(kUs).stats().countersigned_size, 1u);
  EXPECT_EQ(h.session(kRu).stats().peer_log_size, 1u);

  // A receipt that answers the transaction with a receipt for an earlier head of ours is
  // not taken: the sender keeps its retry.
  EXPECT_EQ(h.store(kRu).log("us-eucom", "ru-genstaff").at(0).message_id, id);
}

TEST(PeerSessionTest, InclusionProofOfEveryMessageVerifiesAgainstTheCountersignedHead) {
  Harness h;
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i)
    ids.push_back(h.send(kUs, i == 3 ? Precedence::kFlash : Precedence::kRoutine));
  // Batches: with the link down, several messages wait and leave in one transaction.
  h.link_up = false;
  for (int i = 0; i < 6; ++i) ids.push_back(h.send(kUs));
  h.link_up = true;
  h.deliver(kUs, TransactionFailed{all_of<SendTransaction>(h.log[kUs]).back().tx, "timeout"});
  h.now += 1s;
  h.deliver(kUs, TimerFired{});
  // Acks travel in the other direction, in the peer's own log.
  for (int i = 0; i < 3; ++i) {
    h.deliver(kRu, Acknowledge{h.next_request(), "cgs", *h.store(kRu).find(ids[i])});
  }
  for (int i = 0; i < 2; ++i) h.send(kRu);

  for (const std::string& id : ids) {
    EXPECT_EQ(h.store(kRu).find(id)->direction, Direction::kInbound);
  }
  EXPECT_EQ(h.store(kUs).log("us-eucom", "ru-genstaff").size(), 11u);
  EXPECT_EQ(h.session(kUs).stats().log_size, 11u);
  EXPECT_EQ(h.session(kUs).stats().countersigned_size, 11u);
  expect_every_outbound_message_proven(h, kUs);
  expect_every_outbound_message_proven(h, kRu);  // 3 acks, 2 messages

  // The receiver keeps each inbound message's proof, and it verifies too.
  for (const std::string& id : ids) {
    const InclusionRecord* in = h.store(kRu).inclusion(id);
    ASSERT_NE(in, nullptr);
    EXPECT_TRUE(
        ledger::verify_inclusion(in->index, in->size,
                                 ledger::leaf_hash(as_bytes(h.store(kRu).find(id)->envelope)),
                                 in->proof, in->root)
            .is_ok());
  }
  // The peer's log as the receiver holds it is the sender's, entry for entry.
  const auto& sent = h.store(kUs).log("us-eucom", "ru-genstaff");
  const auto& received = h.store(kRu).log("us-eucom", "ru-genstaff");
  ASSERT_EQ(sent.size(), received.size());
  for (const auto& [index, entry] : sent) {
    EXPECT_EQ(received.at(index).message_id, entry.message_id);
    EXPECT_EQ(received.at(index).leaf_hash, entry.leaf_hash);
  }
}

TEST(PeerSessionTest, NonExtendingHeadIsDetectedAndEvidenceKept) {
  Harness h;
  h.send(kUs);
  h.send(kUs);
  ASSERT_EQ(h.session(kRu).stats().peer_log_size, 2u);
  const std::string countersigned = h.store(kRu).heads("us-eucom", "ru-genstaff").at(2).sth;

  // The sender rewrites its log: two other entries under the same size, signed with its
  // real key. The receiver countersigned size 2 with another root.
  std::vector<wire::Draft> rewritten;
  for (std::uint64_t seq = 1; seq <= 2; ++seq) {
    wire::Draft d = draft_from_ru(h.rng(), seq);
    d.from = {"us-eucom", "saceur"};
    d.to = {"ru-genstaff", "cgs"};
    d.content.text = "this was never said";
    rewritten.push_back(d);
  }
  const std::string forked = log_transaction(h.keys(kUs), h.keys(kRu), rewritten, h.rng());
  std::vector<Action> out = h.feed(kRu, TransactionReceived{h.next_request(), forked});
  ASSERT_EQ(count_of<Answer>(out), 1u);
  EXPECT_EQ(all_of<Answer>(out)[0].http_status, 400);
  const std::vector<Notice> alerts = notices_of(out, NoticeKind::kForkDetected);
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_NE(alerts[0].text.find("FORK"), std::string::npos) << alerts[0].text;
  // Only the evidence is stored: both signed heads, kept.
  ASSERT_EQ(count_of<Persist>(out), 1u);
  EXPECT_EQ(records_of<PutEvidence>(all_of<Persist>(out)[0]), 1u);
  EXPECT_EQ(all_of<Persist>(out)[0].records.size(), 1u);
  h.carry(kRu, out);
  ASSERT_EQ(h.store(kRu).evidence().size(), 1u);
  const PutEvidence& evidence = h.store(kRu).evidence()[0];
  EXPECT_EQ(evidence.peer, "us-eucom");
  EXPECT_EQ(evidence.kind, "fork");
  EXPECT_EQ(evidence.sth_a, countersigned);
  EXPECT_EQ(evidence.sth_b, wire::parse_transaction(forked)->sth);
  EXPECT_EQ(h.session(kRu).stats().forks_detected, 1u);
  EXPECT_EQ(h.session(kRu).stats().peer_log_size, 2u);  // nothing changed

  // A longer rewritten log whose consistency proof from the countersigned size cannot hold.
  rewritten.push_back(rewritten.back());
  rewritten.back().seq = 3;
  rewritten.back().id = uuid_v7(h.now, h.rng());
  const std::string longer = log_transaction(h.keys(kUs), h.keys(kRu), rewritten, h.rng(), {0, 2});
  wire::Transaction tampered = *wire::parse_transaction(longer);
  // The proof from size 2 is honest for the rewritten log, but claims the countersigned
  // root: it cannot verify.
  tampered.consistency[1].from_root = ledger::parse_sth(countersigned)->head.root;
  out = h.feed(kRu, TransactionReceived{h.next_request(), wire::encode_transaction(tampered)});
  EXPECT_EQ(notices_of(out, NoticeKind::kForkDetected).size(), 1u);
  EXPECT_EQ(all_of<Answer>(out)[0].http_status, 400);
  h.carry(kRu, out);
  EXPECT_EQ(h.store(kRu).evidence().size(), 2u);

  // The genuine sender's next transaction, with an untampered proof, is still taken; a
  // tampered copy of it is a fork too.
  h.link_up = false;
  const std::string third = h.send(kUs);
  const SendTransaction genuine = all_of<SendTransaction>(h.log[kUs]).back();
  wire::Transaction bent = *wire::parse_transaction(genuine.body);
  ASSERT_EQ(bent.consistency.size(), 1u);
  ASSERT_EQ(bent.consistency[0].from_size, 2u);
  ASSERT_FALSE(bent.consistency[0].proof.empty());
  bent.consistency[0].proof[0][0] ^= 0x01;
  out = h.feed(kRu, TransactionReceived{h.next_request(), wire::encode_transaction(bent)});
  EXPECT_EQ(notices_of(out, NoticeKind::kForkDetected).size(), 1u);
  h.carry(kRu, out);
  h.link_up = true;
  h.deliver(kUs, TransactionFailed{genuine.tx, "timeout"});
  h.now += 1s;
  h.deliver(kUs, TimerFired{});
  EXPECT_EQ(h.store(kUs).find(third)->state, MessageState::kDelivered);
  EXPECT_EQ(h.session(kRu).stats().peer_log_size, 3u);
}

TEST(PeerSessionTest, StaleResendIsHarmless) {
  Harness h;
  h.send(kUs);
  const SendTransaction first = all_of<SendTransaction>(h.log[kUs]).back();
  h.send(kUs);
  const SendTransaction second = all_of<SendTransaction>(h.log[kUs]).back();
  ASSERT_EQ(h.session(kRu).stats().peer_log_size, 2u);

  // A late copy of the first transaction: its head is older than the one countersigned.
  std::vector<Action> out = h.feed(kRu, TransactionReceived{h.next_request(), first.body});
  ASSERT_EQ(count_of<Answer>(out), 1u);
  EXPECT_EQ(all_of<Answer>(out)[0].http_status, 400);
  EXPECT_NE(wire::parse_refusal(all_of<Answer>(out)[0].body)->error.find("older"),
            std::string::npos);
  EXPECT_EQ(count_of<Persist>(out), 0u);
  EXPECT_TRUE(notices_of(out, NoticeKind::kForkDetected).empty());

  // A copy of the second: the same head again, answered with the same receipt, nothing
  // stored.
  out = h.feed(kRu, TransactionReceived{h.next_request(), second.body});
  EXPECT_EQ(count_of<Persist>(out), 0u);
  ASSERT_EQ(count_of<Answer>(out), 1u);
  EXPECT_EQ(all_of<Answer>(out)[0].http_status, 200);
  EXPECT_EQ(all_of<Answer>(out)[0].body,
            h.store(kRu).heads("us-eucom", "ru-genstaff").rbegin()->second.receipt);
  h.carry(kRu, out);
  EXPECT_TRUE(h.store(kRu).evidence().empty());
  EXPECT_EQ(h.store(kRu).count(Direction::kInbound), 2u);

  // And traffic goes on.
  const std::string third = h.send(kUs);
  EXPECT_EQ(h.store(kUs).find(third)->state, MessageState::kDelivered);
  expect_every_outbound_message_proven(h, kUs);
}

TEST(PeerSessionTest, RecoveryRestoresTheFrontierWithoutHistory) {
  Harness h;
  for (int i = 0; i < 5; ++i) h.send(kUs);
  h.link_up = false;
  const std::string sixth = h.send(kUs);    // in flight, its head (size 6) unanswered
  const std::string seventh = h.send(kUs);  // queued

  const Recovered recovered = h.store(kUs).recover("us-eucom", "ru-genstaff");
  const RecoveredLedger& l = recovered.ledger;
  EXPECT_EQ(l.log_size, 7u);
  ASSERT_TRUE(l.countersigned.has_value());
  EXPECT_EQ(l.countersigned->size, 5u);
  // The frontier: the compact range at the countersigned size (one node per set bit of
  // 5) and the two leaves after it; nothing of the first five entries.
  EXPECT_EQ(l.base_size, 5u);
  EXPECT_EQ(l.base_nodes.size(), 2u);
  EXPECT_EQ(l.tail.size(), 2u);
  ASSERT_EQ(l.pending.size(), 1u);
  EXPECT_EQ(l.pending[0].size, 6u);
  ASSERT_TRUE(l.peer_head.has_value() == false);

  h.restart(kUs, recovered);
  EXPECT_EQ(h.session(kUs).stats().log_size, 7u);
  EXPECT_EQ(h.session(kUs).stats().countersigned_size, 5u);
  h.link_up = true;
  h.deliver(kUs, TimerFired{});
  EXPECT_EQ(h.store(kUs).find(sixth)->state, MessageState::kDelivered);
  EXPECT_EQ(h.store(kUs).find(seventh)->state, MessageState::kDelivered);
  // Numbering of the log continues where it was.
  const std::string eighth = h.send(kUs);
  EXPECT_EQ(h.store(kUs).find(eighth)->log_index, 7u);
  EXPECT_EQ(h.session(kRu).stats().peer_log_size, 8u);
  expect_every_outbound_message_proven(h, kUs);

  // The receiver restarts too: it checks the next head against the one it countersigned.
  h.restart(kRu, h.store(kRu).recover("ru-genstaff", "us-eucom"));
  EXPECT_EQ(h.session(kRu).stats().peer_log_size, 8u);
  const std::string ninth = h.send(kUs);
  EXPECT_EQ(h.store(kUs).find(ninth)->state, MessageState::kDelivered);
  EXPECT_TRUE(h.store(kRu).evidence().empty());
}

TEST(PeerSessionTest, FlashOvertakingRoutineStillProvesInclusion) {
  Harness h;
  h.restart(kUs, Recovered{}, /*tx_envelopes_max=*/1);
  h.link_up = false;
  std::vector<std::string> routine;
  for (int i = 0; i < 3; ++i) routine.push_back(h.send(kUs));  // the first is in flight
  const std::string flash = h.send(kUs, Precedence::kFlash);
  const SendTransaction first = all_of<SendTransaction>(h.log[kUs]).back();

  // The FLASH (index 3) leaves alone in a new transaction; the peer countersigns size 4
  // while entries 0..2 are not receipted yet.
  h.link_up = true;
  h.deliver(kUs, TransactionFailed{first.tx, "timeout"});
  h.now += 100ms;
  std::vector<Action> out = h.feed_durable(kUs, TimerFired{});
  ASSERT_EQ(count_of<SendTransaction>(out), 1u);
  const SendTransaction flash_tx = all_of<SendTransaction>(out)[0];
  EXPECT_EQ(envelopes_of(flash_tx.body).size(), 1u);
  h.link_up = false;
  h.carry(kUs, out);
  std::vector<Action> received = h.feed(kRu, TransactionReceived{h.next_request(), flash_tx.body});
  h.store(kRu).apply(all_of<Persist>(received)[0].records);
  const Answer answer =
      all_of<Answer>(h.feed(kRu, Persisted{all_of<Persist>(received)[0].batch}))[0];
  ASSERT_EQ(answer.http_status, 200) << answer.body;
  h.deliver(kUs, TransactionAnswered{flash_tx.tx, answer.http_status, answer.body});
  EXPECT_EQ(h.store(kUs).find(flash)->state, MessageState::kDelivered);
  // Its transaction got no answer: it has not reached the peer, so it is still queued.
  EXPECT_EQ(h.store(kUs).find(routine[0])->state, MessageState::kQueued);
  EXPECT_EQ(h.session(kUs).stats().countersigned_size, 4u);
  EXPECT_EQ(h.store(kUs).inclusion(flash)->size, 4u);

  // A restart now must still be able to prove entries 0..2.
  Recovered recovered = h.store(kUs).recover("us-eucom", "ru-genstaff");
  EXPECT_EQ(recovered.ledger.base_size, 0u);
  EXPECT_EQ(recovered.ledger.tail.size(), 4u);
  h.restart(kUs, std::move(recovered), /*tx_envelopes_max=*/1);

  // The ROUTINE messages follow, each proven in a head the peer countersigns.
  h.link_up = true;
  h.deliver(kUs, TimerFired{});
  for (const std::string& id : routine) {
    EXPECT_EQ(h.store(kUs).find(id)->state, MessageState::kDelivered) << id;
  }
  expect_every_outbound_message_proven(h, kUs);
  EXPECT_TRUE(h.store(kRu).evidence().empty());
}

}  // namespace
}  // namespace parley::core

namespace parley::core {
namespace {

// The ids of the envelopes `body` carries (as `sender` signed them).
std::vector<std::string> ids_in(const std::string& body, const PartyKeys& sender) {
  std::vector<std::string> ids;
  for (const std::string& e : envelopes_of(body)) {
    Result<wire::Envelope> envelope = wire::open_envelope(e, sender.keys.verify, sender.id);
    if (envelope.is_ok()) ids.push_back(envelope->payload.id);
  }
  return ids;
}

// Submits a ROUTINE message on kUs that expires `after` from now; its id.
std::string send_expiring(Harness& h, Duration after) {
  Submit s = h.submit_event();
  s.expires = h.now + after;
  const std::size_t before = h.log[kUs].size();
  h.deliver(kUs, s);
  for (std::size_t i = before; i < h.log[kUs].size(); ++i) {
    if (const auto* a = std::get_if<Accepted>(&h.log[kUs][i])) return a->message_id;
  }
  ADD_FAILURE() << "not accepted";
  return "";
}

TEST(PeerSessionTest, MessageIsQueuedUntilThePeerAnswersItsTransaction) {
  Harness h;
  h.link_up = false;  // the peer is down: nothing leaves
  const std::string id = h.send(kUs);
  ASSERT_EQ(count_of<SendTransaction>(h.log[kUs]), 1u);  // built and posted, unanswered
  EXPECT_EQ(h.store(kUs).find(id)->state, MessageState::kQueued);
  const SendTransaction sent = all_of<SendTransaction>(h.log[kUs])[0];
  h.deliver(kUs, TransactionFailed{sent.tx, "connection refused"});
  EXPECT_EQ(h.store(kUs).find(id)->state, MessageState::kQueued);
  EXPECT_EQ(h.session(kUs).stats().queued, 1u);

  // Any answer means the transaction reached the peer: sent, and stored as such.
  std::vector<Action> out = h.feed_durable(kUs, TransactionAnswered{sent.tx, 503, "busy"});
  EXPECT_EQ(h.store(kUs).find(id)->state, MessageState::kSent);
  EXPECT_EQ(h.store(kUs).find(id)->tx, sent.tx);

  h.link_up = true;
  h.now += 10s;
  h.deliver(kUs, TimerFired{});
  EXPECT_EQ(h.store(kUs).find(id)->state, MessageState::kDelivered);
}

TEST(PeerSessionTest, QueuedMessagePastItsExpiryIsExpiredAndNotSent) {
  Harness h;
  h.restart(kUs, Recovered{}, /*tx_envelopes_max=*/1);
  h.link_up = false;
  const std::string first = h.send(kUs);  // in flight, unanswered
  const std::string late = send_expiring(h, 1min);
  EXPECT_EQ(h.store(kUs).find(late)->state, MessageState::kQueued);
  ASSERT_TRUE(h.session(kUs).next_deadline().has_value());

  // Its expiry is a deadline of its own: nothing else has to happen for it to pass.
  const SendTransaction sent = all_of<SendTransaction>(h.log[kUs])[0];
  h.deliver(kUs, TransactionFailed{sent.tx, "timeout"});
  h.now += 1min;
  std::vector<Action> out = h.feed_durable(kUs, TimerFired{});
  EXPECT_EQ(h.store(kUs).find(late)->state, MessageState::kExpired);
  bool told = false;
  for (const Notify& n : all_of<Notify>(out)) told = told || n.notice.message_id == late;
  EXPECT_TRUE(told);
  EXPECT_EQ(h.session(kUs).stats().queued, 1u);
  EXPECT_EQ(h.session(kUs).stats().unacknowledged, 1u);  // its ack deadline is not watched

  // The peer comes back: the other message is delivered, the expired one never leaves,
  // and no overdue mark follows its expiry.
  h.link_up = true;
  h.now += 10s;
  h.carry(kUs, out);
  h.deliver(kUs, TimerFired{});
  EXPECT_EQ(h.store(kUs).find(first)->state, MessageState::kDelivered);
  for (const SendTransaction& s : all_of<SendTransaction>(h.log[kUs])) {
    for (const std::string& id : ids_in(s.body, h.keys(kUs))) EXPECT_NE(id, late);
  }
  EXPECT_EQ(h.store(kRu).find(late), nullptr);
  h.now += 7h;
  h.deliver(kUs, TimerFired{});
  EXPECT_EQ(h.store(kUs).find(late)->state, MessageState::kExpired);

  // Final across a restart too: recovery does not queue it again.
  h.restart(kUs, h.store(kUs).recover("us-eucom", "ru-genstaff"), 1);
  EXPECT_EQ(h.session(kUs).stats().queued, 0u);
}

TEST(PeerSessionTest, MessageExpiredInFlightStaysExpiredWhenThePeerRefusesIt) {
  Harness h;
  h.link_up = false;
  const std::string id = send_expiring(h, 1min);
  const SendTransaction sent = all_of<SendTransaction>(h.log[kUs])[0];
  h.deliver(kUs, TransactionFailed{sent.tx, "timeout"});
  h.now += 2min;
  h.deliver(kUs, TimerFired{});  // expires it; the retry goes nowhere yet
  EXPECT_EQ(h.store(kUs).find(id)->state, MessageState::kExpired);

  h.deliver(kUs, TransactionFailed{sent.tx, "timeout"});

  // The same transaction again: the receiver, by its own clock, refuses it as expired, so
  // it is not fresh in its inbox, and the sender's record stays expired, with that reason.
  h.link_up = true;
  h.now += 10s;
  h.deliver(kUs, TimerFired{});
  ASSERT_NE(h.store(kRu).find(id), nullptr);
  EXPECT_EQ(h.store(kRu).find(id)->state, MessageState::kRefused);
  const MessageRecord* m = h.store(kUs).find(id);
  EXPECT_EQ(m->state, MessageState::kExpired);
  ASSERT_TRUE(m->refusal.has_value());
  EXPECT_NE(m->refusal->find("expired"), std::string::npos) << *m->refusal;
  EXPECT_EQ(h.session(kUs).stats().queued, 0u);
}

TEST(PeerSessionTest, ReceiptArrivingAfterTheExpiryWinsOverIt) {
  Harness h;
  h.link_up = false;
  const std::string id = send_expiring(h, 1min);
  const SendTransaction sent = all_of<SendTransaction>(h.log[kUs])[0];
  // The receiver got it in time and stored it; its answer was lost.
  std::vector<Action> received = h.feed_durable(kRu, TransactionReceived{900, sent.body});
  ASSERT_EQ(all_of<Answer>(received).size(), 1u);
  ASSERT_EQ(all_of<Answer>(received)[0].http_status, 200);
  h.deliver(kUs, TransactionFailed{sent.tx, "timeout"});
  h.now += 2min;
  h.deliver(kUs, TimerFired{});
  EXPECT_EQ(h.store(kUs).find(id)->state, MessageState::kExpired);

  h.deliver(kUs, TransactionFailed{sent.tx, "timeout"});

  // The retry of the same transaction is answered with the receipt signed then: what truly
  // happened is that the peer has it, so the record says delivered, and an ack is awaited.
  h.link_up = true;
  h.now += 10s;
  h.deliver(kUs, TimerFired{});
  ASSERT_NE(h.store(kRu).find(id), nullptr);
  EXPECT_EQ(h.store(kRu).find(id)->state, MessageState::kDelivered);
  EXPECT_EQ(h.store(kUs).find(id)->state, MessageState::kDelivered);
  EXPECT_TRUE(h.store(kUs).find(id)->receipt.has_value());
  EXPECT_EQ(h.session(kUs).stats().unacknowledged, 1u);
}

}  // namespace
}  // namespace parley::core
