#include "parley/core/peer_session.h"

#include <cctype>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "parley/base/rng.h"
#include "parley/catalog/catalog.h"
#include "parley/crypto/crypto.h"
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
  void apply(const std::vector<Record>& records) {
    for (const Record& record : records) {
      if (const auto* put = std::get_if<PutMessage>(&record)) {
        const MessageRecord& m = put->message;
        EXPECT_EQ(messages_.count(m.id), 0u) << "duplicate id " << m.id;
        for (const auto& [id, other] : messages_) {
          EXPECT_FALSE(other.line == m.line && other.direction == m.direction && other.seq == m.seq)
              << "duplicate (line, direction, seq) " << m.line << " " << m.seq;
        }
        messages_[m.id] = m;
      } else {
        const auto& u = std::get<UpdateMessage>(record);
        auto it = messages_.find(u.id);
        EXPECT_NE(it, messages_.end()) << "update of unknown id " << u.id;
        if (it == messages_.end()) continue;
        MessageRecord& m = it->second;
        m.state = u.state;
        if (u.delivered_at) m.delivered_at = u.delivered_at;
        if (u.acknowledged_at) m.acknowledged_at = u.acknowledged_at;
        if (u.acknowledged_by) m.acknowledged_by = u.acknowledged_by;
        if (u.ack_id) m.ack_id = u.ack_id;
        if (u.receipt) m.receipt = u.receipt;
        if (u.tx) m.tx = u.tx;
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

 private:
  std::map<std::string, MessageRecord> messages_;
};

// Two parties' sessions with one line between them, and a driver that carries actions
// between them: Persist -> store and Persisted; SendTransaction -> TransactionReceived on
// the other side; Answer -> TransactionAnswered on the sender.
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
    return c;
  }

  PeerSession& session(int side) { return *sessions_[side]; }
  // Feeds `event` to one session and returns its actions without carrying any of them out.
  std::vector<Action> session_feed_raw(int side, const Event& event) {
    std::vector<Action> out;
    sessions_[side]->handle(event, now, out);
    return out;
  }
  FakeStore& store(int side) { return stores_[side]; }
  const PartyKeys& keys(int side) const { return side == kUs ? us_ : ru_; }
  Rng& rng() { return rng_; }

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

// A transaction from `sender` (keys/party) with one envelope built from `draft`.
std::string transaction_body(const PartyKeys& sender, const PartyKeys& receiver,
                             const wire::Draft& draft, Rng& rng) {
  const crypto::SealKey seal = *crypto::derive_seal_key(
      sender.keys.box_secret, sender.keys.box_public, receiver.keys.box_public, 1);
  wire::Envelope envelope = wire::seal_and_sign(draft, seal, sender.keys.signing, sender.id, rng);
  wire::Transaction tx;
  tx.id = uuid_v7(time_from_unix_ms(1'795'000'000'000), rng);
  tx.from = sender.id;
  tx.to = receiver.id;
  tx.envelopes = {wire::encode_envelope(envelope)};
  return wire::encode_transaction(tx);
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

TEST(PeerSessionTest, SubmissionIsAcceptedOnlyAfterItIsPersisted) {
  Harness h;
  Submit s = h.submit_event();
  std::vector<Action> out = h.feed(kUs, s);
  ASSERT_EQ(count_of<Persist>(out), 1u);
  EXPECT_EQ(count_of<Accepted>(out), 0u);
  EXPECT_EQ(count_of<SendTransaction>(out), 0u);
  const MessageRecord m = put_of(out);
  EXPECT_EQ(m.state, MessageState::kQueued);
  EXPECT_EQ(m.seq, 1u);
  EXPECT_EQ(m.direction, Direction::kOutbound);
  EXPECT_EQ(m.ack_deadline, h.now + 6h);
  EXPECT_EQ(m.salt.size(), 32u);

  std::vector<Action> after = h.feed(kUs, Persisted{all_of<Persist>(out)[0].batch});
  const std::vector<Accepted> accepted = all_of<Accepted>(after);
  ASSERT_EQ(accepted.size(), 1u);
  EXPECT_EQ(accepted[0].request, s.request);
  EXPECT_EQ(accepted[0].message_id, m.id);
  EXPECT_EQ(count_of<SendTransaction>(after), 1u);  // and it leaves at once
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
  Result<wire::Receipt> receipt =
      wire::open_receipt(*out->receipt, h.keys(kRu).keys.verify, "ru-genstaff");
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
  Result<wire::Transaction> tx = wire::parse_transaction(sent[1].body);
  ASSERT_TRUE(tx.is_ok());
  ASSERT_EQ(tx->envelopes.size(), 21u);
  Result<wire::Envelope> first =
      wire::open_envelope(tx->envelopes[0], h.keys(kUs).keys.verify, "us-eucom");
  ASSERT_TRUE(first.is_ok());
  EXPECT_EQ(first->payload.id, flash);
  EXPECT_EQ(first->payload.seq, 22u);
}

TEST(PeerSessionTest, FlashWaitingBehindAFailingTransactionGoesInANewOneAtRetry) {
  Harness h;
  h.link_up = false;
  const std::string routine = h.send(kUs);
  const SendTransaction first = all_of<SendTransaction>(h.log[kUs])[0];
  h.deliver(kUs, TransactionFailed{first.tx, "timeout"});
  const std::string flash = h.send(kUs, Precedence::kFlash);

  h.now += 100ms;
  std::vector<Action> out = h.feed(kUs, TimerFired{});
  const std::vector<SendTransaction> sent = all_of<SendTransaction>(out);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_NE(sent[0].tx, first.tx);
  EXPECT_EQ(sent[0].precedence, Precedence::kFlash);
  Result<wire::Transaction> tx = wire::parse_transaction(sent[0].body);
  ASSERT_TRUE(tx.is_ok());
  ASSERT_EQ(tx->envelopes.size(), 2u);
  EXPECT_EQ(wire::open_envelope(tx->envelopes[0], h.keys(kUs).keys.verify, "us-eucom")->payload.id,
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
  std::size_t sig = body.find("\"sig\"");
  if (sig == std::string::npos) sig = body.find("sig\\\"");
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
  EXPECT_EQ(all_of<Persist>(out)[0].records.size(), 1u);
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
  EXPECT_EQ(all_of<Persist>(out)[0].records.size(), 1u);
}

TEST(PeerSessionTest, SubmissionTheStoreRefusesIsRejected) {
  Harness h;
  Submit submit;
  submit.request = 41;
  submit.line = kLine;
  submit.principal = "saceur";
  submit.content.text = "hello";
  std::vector<Action> out = h.session_feed_raw(kUs, submit);
  ASSERT_EQ(count_of<Persist>(out), 1u);
  out = h.session_feed_raw(
      kUs, PersistRefused{all_of<Persist>(out)[0].batch, Status::already_exists("id exists")});
  const std::vector<Rejected> rejected = all_of<Rejected>(out);
  ASSERT_EQ(rejected.size(), 1u);
  EXPECT_EQ(rejected[0].request, 41u);
  EXPECT_EQ(count_of<Accepted>(out), 0u);
  EXPECT_EQ(count_of<SendTransaction>(out), 0u);
}

TEST(PeerSessionTest, EnvelopeForUnknownLineIsRefused) {
  Harness h;
  wire::Draft d = draft_from_ru(h.rng(), 1);
  d.line = "nowhere";
  std::vector<Action> out =
      h.feed(kUs, TransactionReceived{9, transaction_body(h.keys(kRu), h.keys(kUs), d, h.rng())});
  const std::vector<Answer> answers = all_of<Answer>(out);
  ASSERT_EQ(answers.size(), 1u);
  EXPECT_EQ(answers[0].http_status, 400);
  Result<wire::Refusal> refusal = wire::parse_refusal(answers[0].body);
  ASSERT_TRUE(refusal.is_ok());
  EXPECT_NE(refusal->error.find("unknown line 'nowhere'"), std::string::npos) << refusal->error;
  EXPECT_EQ(refusal->id, d.id);
  EXPECT_EQ(count_of<Persist>(out), 0u);

  // The same envelope on the configured line is accepted: the line was the only fault.
  d.line = kLine;
  out =
      h.feed(kUs, TransactionReceived{10, transaction_body(h.keys(kRu), h.keys(kUs), d, h.rng())});
  EXPECT_EQ(count_of<Persist>(out), 1u);
}

TEST(PeerSessionTest, EnvelopeToPrincipalNotOnTheLineIsRefused) {
  Harness h;
  wire::Draft d = draft_from_ru(h.rng(), 1);
  d.to = {"us-eucom", "cook"};
  std::vector<Action> out =
      h.feed(kUs, TransactionReceived{9, transaction_body(h.keys(kRu), h.keys(kUs), d, h.rng())});
  ASSERT_EQ(count_of<Answer>(out), 1u);
  EXPECT_EQ(all_of<Answer>(out)[0].http_status, 400);
  EXPECT_EQ(count_of<Persist>(out), 0u);
}

TEST(PeerSessionTest, InboundAckWithoutReplyToIsRefused) {
  Harness h;
  wire::Draft d = draft_from_ru(h.rng(), 1);
  d.type = "ack";
  d.content = wire::Content{"{}", ""};
  std::vector<Action> out =
      h.feed(kUs, TransactionReceived{9, transaction_body(h.keys(kRu), h.keys(kUs), d, h.rng())});
  ASSERT_EQ(count_of<Answer>(out), 1u);
  EXPECT_EQ(all_of<Answer>(out)[0].http_status, 400);
  EXPECT_EQ(count_of<Persist>(out), 0u);

  d.reply_to = uuid_v7(h.now, h.rng());  // an ack of something we never sent: stored only
  out =
      h.feed(kUs, TransactionReceived{10, transaction_body(h.keys(kRu), h.keys(kUs), d, h.rng())});
  ASSERT_EQ(count_of<Persist>(out), 1u);
  EXPECT_EQ(all_of<Persist>(out)[0].records.size(), 1u);
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

TEST(PeerSessionTest, DuplicateTransactionIsReceiptedButStoredOnce) {
  Harness h;
  h.link_up = false;
  const std::string id = h.send(kUs);
  const SendTransaction sent = all_of<SendTransaction>(h.log[kUs])[0];

  // First copy: its batch is not yet durable when the second copy arrives.
  std::vector<Action> first = h.feed(kRu, TransactionReceived{1, sent.body});
  std::vector<Action> second = h.feed(kRu, TransactionReceived{2, sent.body});
  ASSERT_EQ(count_of<Persist>(first), 1u);
  ASSERT_EQ(count_of<Persist>(second), 1u);
  EXPECT_EQ(all_of<Persist>(first)[0].records.size(), 1u);
  EXPECT_TRUE(all_of<Persist>(second)[0].records.empty());

  h.store(kRu).apply(all_of<Persist>(first)[0].records);
  h.store(kRu).apply(all_of<Persist>(second)[0].records);
  std::vector<Action> a1 = h.feed(kRu, Persisted{all_of<Persist>(first)[0].batch});
  std::vector<Action> a2 = h.feed(kRu, Persisted{all_of<Persist>(second)[0].batch});
  ASSERT_EQ(count_of<Answer>(a1), 1u);
  ASSERT_EQ(count_of<Answer>(a2), 1u);
  EXPECT_EQ(all_of<Answer>(a2)[0].http_status, 200);
  EXPECT_EQ(notices_of(a1, NoticeKind::kMessageReceived).size(), 1u);
  EXPECT_EQ(notices_of(a2, NoticeKind::kMessageReceived).size(), 0u);  // shown once

  // A third copy after everything is durable: receipted again, nothing stored.
  std::vector<Action> third = h.feed(kRu, TransactionReceived{3, sent.body});
  ASSERT_EQ(count_of<Persist>(third), 1u);
  EXPECT_TRUE(all_of<Persist>(third)[0].records.empty());
  std::vector<Action> a3 = h.feed(kRu, Persisted{all_of<Persist>(third)[0].batch});
  ASSERT_EQ(count_of<Answer>(a3), 1u);

  // Each receipt is valid for the sender.
  std::vector<Action> answered =
      h.feed(kUs, TransactionAnswered{sent.tx, 200, all_of<Answer>(a3)[0].body});
  ASSERT_EQ(count_of<Persist>(answered), 1u);
  h.carry(kUs, answered);
  EXPECT_EQ(h.store(kUs).find(id)->state, MessageState::kDelivered);
  EXPECT_EQ(h.store(kRu).count(Direction::kInbound), 1u);
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
  std::vector<Action> out = h.feed(
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

  // A receipt signed by us rather than the peer, and a receipt for other ids.
  wire::ReceiptBody body;
  body.tx = sent.tx;
  body.from = "ru-genstaff";
  body.to = "us-eucom";
  body.ids = {id};
  body.received = h.now;
  const std::string forged =
      wire::encode_receipt(wire::sign_receipt(body, h.keys(kUs).keys.signing));
  std::vector<Action> out = h.feed(kUs, TransactionAnswered{sent.tx, 200, forged});
  EXPECT_EQ(count_of<Persist>(out), 0u);
  EXPECT_EQ(notices_of(out, NoticeKind::kPeerRefused).size(), 1u);

  // Signed by the peer, but the digest does not cover what we sent.
  const std::string wrong =
      wire::encode_receipt(wire::sign_receipt(body, h.keys(kRu).keys.signing));
  out = h.feed(kUs, TransactionAnswered{sent.tx, 200, wrong});
  EXPECT_EQ(count_of<Persist>(out), 0u);
  EXPECT_EQ(count_of<Notify>(out), 1u);  // the trouble changed: alert again

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
  EXPECT_EQ(count_of<Persist>(out), 1u);
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

TEST(PeerSessionTest, DoubleAckIsRejected) {
  Harness h;
  const std::string id = h.send(kUs);
  const MessageRecord inbound = *h.store(kRu).find(id);

  // The second ack arrives while the first is not yet durable.
  std::vector<Action> first = h.feed(kRu, Acknowledge{h.next_request(), "cgs", inbound});
  ASSERT_EQ(count_of<Persist>(first), 1u);
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
    for (const std::string& id : ids) {
      const MessageRecord& m = *before.store(kUs).find(id);
      recovered.unreceipted.push_back(m);
      recovered.unacknowledged.push_back(m);
    }
    recovered.last_outbound_seq[kLine] = 2;
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
  recovered.inbound_seqs[kLine] = {1};
  PeerSession ru(h.config(kRu), catalog::Catalog::builtin(), h.rng(), recovered);
  std::vector<Action> out;
  ru.handle(TransactionReceived{1, sent.body}, h.now, out);
  ASSERT_EQ(count_of<Persist>(out), 1u);
  EXPECT_TRUE(all_of<Persist>(out)[0].records.empty());
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
  ASSERT_GE(sent.size(), 3u);
  EXPECT_EQ(wire::parse_transaction(sent[2].body)->envelopes.size(), 64u);
  EXPECT_EQ(h.store(kRu).count(Direction::kInbound), 70u);
  EXPECT_EQ(h.session(kUs).stats().queued, 0u);
}

}  // namespace
}  // namespace parley::core
