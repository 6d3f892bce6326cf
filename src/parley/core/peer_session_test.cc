// PeerSession: principals submit and acknowledge, messages travel and are receipted, FLASH
// first, deadlines. The harness is session_harness.h.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "parley/core/session_harness.h"

namespace parley::core {
namespace {

using ::testing::HasSubstr;

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
  // queued: it is sent only once the peer answers the transaction. The head's batch records
  // the transaction that carries it (from then on it may reach the peer, so it is never
  // cancelled), its state unchanged.
  const std::vector<Persist> persists = all_of<Persist>(out);
  ASSERT_EQ(persists.size(), 2u);
  EXPECT_EQ(records_of<PutMessage>(persists[0]), 1u);
  EXPECT_EQ(records_of<PutHead>(persists[1]), 1u);
  ASSERT_EQ(records_of<UpdateMessage>(persists[1]), 1u);
  for (const Record& r : persists[1].records) {
    if (const auto* u = std::get_if<UpdateMessage>(&r)) {
      EXPECT_EQ(u->state, MessageState::kQueued);
      EXPECT_TRUE(u->tx.has_value());
    }
  }
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

  h.deliver(kRu, Acknowledge{h.next_request(), "cgs", inbound.id});
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

// The FLASH lane (docs/protocol.md "Transaction window"): a FLASH waits for no ROUTINE
// transaction, in flight or queued: it leaves at once in a transaction of its own, even with
// the window full, ordered behind nothing the peer has not countersigned (`after`).
TEST(PeerSessionTest, FlashIsSentBeforeQueuedRoutine) {
  Harness h;
  h.link_up = false;
  h.send(kUs);  // in flight: the window (1) is full
  for (int i = 0; i < 20; ++i) h.send(kUs);
  const std::string flash = h.send(kUs, Precedence::kFlash);
  std::vector<SendTransaction> sent = all_of<SendTransaction>(h.log[kUs]);
  ASSERT_EQ(sent.size(), 2u);  // the ROUTINE one, then the FLASH's own
  EXPECT_EQ(sent[1].precedence, Precedence::kFlash);
  const std::vector<std::string> envelopes = envelopes_of(sent[1].body);
  ASSERT_EQ(envelopes.size(), 1u);  // nothing ROUTINE rides with it
  Result<wire::Envelope> first =
      wire::open_envelope(envelopes[0], h.keys(kUs).keys.verify, "us-eucom");
  ASSERT_TRUE(first.is_ok());
  EXPECT_EQ(first->payload.id, flash);
  EXPECT_EQ(first->payload.seq, 22u);
  Result<wire::Transaction> lane = wire::parse_transaction(sent[1].body);
  ASSERT_TRUE(lane.is_ok());
  EXPECT_EQ(lane->after, 0u);  // behind nothing in flight

  // ru takes the FLASH first; the ROUTINE transaction in flight is then stale there (409)
  // and its message goes again, in a new transaction, after the FLASH.
  h.link_up = true;
  const std::vector<Action> ru_flash =
      h.feed_durable(kRu, TransactionReceived{h.next_request(), sent[1].body});
  ASSERT_EQ(all_of<Answer>(ru_flash).size(), 1u);
  const Answer flash_receipt = all_of<Answer>(ru_flash)[0];
  ASSERT_EQ(flash_receipt.http_status, 200);
  EXPECT_NE(h.store(kRu).find(flash), nullptr);
  const std::vector<Action> ru_stale =
      h.feed(kRu, TransactionReceived{h.next_request(), sent[0].body});
  ASSERT_EQ(all_of<Answer>(ru_stale).size(), 1u);
  const Answer stale = all_of<Answer>(ru_stale)[0];
  EXPECT_EQ(stale.http_status, 409) << stale.body;
  EXPECT_EQ(count_of<Persist>(ru_stale), 0u);            // nothing stored
  EXPECT_EQ(h.session(kRu).stats().frames_refused, 0u);  // no fault of us-eucom's
  h.deliver(kUs, TransactionAnswered{sent[1].tx, 200, flash_receipt.body});
  h.deliver(kUs, TransactionAnswered{sent[0].tx, stale.http_status, stale.body});
  EXPECT_EQ(h.session(kUs).stats().transactions_superseded, 1u);
  EXPECT_EQ(h.store(kUs).find(flash)->state, MessageState::kDelivered);
  EXPECT_EQ(h.session(kUs).stats().queued, 0u);  // the ROUTINE ones went again, all delivered
  EXPECT_EQ(h.session(kRu).stats().gaps.size(), 0u);
}

TEST(PeerSessionTest, FlashOvertakesTenThousandQueuedRoutine) {
  Harness h;
  h.link_up = false;
  h.send(kUs);  // in flight
  constexpr int kBacklog = 10'000;
  for (int i = 0; i < kBacklog; ++i) h.send(kUs);
  const std::string flash = h.send(kUs, Precedence::kFlash);
  // The next frame on the wire is the FLASH's: none of the 10,000 queued ROUTINE messages
  // goes before it, and it does not wait for the one in flight.
  const std::vector<SendTransaction> sent = all_of<SendTransaction>(h.log[kUs]);
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent[1].precedence, Precedence::kFlash);
  const std::vector<std::string> envelopes = envelopes_of(sent[1].body);
  ASSERT_EQ(envelopes.size(), 1u);
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
  // The FLASH does not wait for the failing ROUTINE transaction: its own left at once.
  std::vector<SendTransaction> sent = all_of<SendTransaction>(h.log[kUs]);
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent[1].precedence, Precedence::kFlash);
  ASSERT_EQ(envelopes_of(sent[1].body).size(), 1u);
  h.deliver(kUs, TransactionFailed{sent[1].tx, "timeout"});

  // At the retry, both go again unchanged, the ROUTINE one first (it failed first).
  h.now += 100ms;
  h.link_up = true;
  h.deliver(kUs, TimerFired{});
  EXPECT_EQ(h.store(kUs).find(flash)->state, MessageState::kDelivered);
  EXPECT_EQ(h.store(kUs).find(routine)->state, MessageState::kDelivered);
  sent = all_of<SendTransaction>(h.log[kUs]);
  ASSERT_EQ(sent.size(), 4u);
  EXPECT_EQ(sent[2].tx, first.tx);
  EXPECT_EQ(sent[2].body, first.body);
  // A late answer to a receipted transaction is stale.
  EXPECT_EQ(count_of<Persist>(h.feed(kUs, TransactionAnswered{first.tx, 503, ""})), 0u);
}

// Issue 16 (/metrics parley_delivery_seconds): the time from accepting a message to its
// receipt being durable is counted in its precedence's histogram; the ack the peer sends back
// is not a delivery of ours.
TEST(PeerSessionTest, DeliveryTimeIsCountedByPrecedenceFromAcceptanceToTheDurableReceipt) {
  Harness h;
  h.link_up = false;
  const std::string flash = h.send(kUs, Precedence::kFlash);
  const SendTransaction first = all_of<SendTransaction>(h.log[kUs])[0];
  h.deliver(kUs, TransactionFailed{first.tx, "timeout"});
  h.now += 45s;  // the link comes back 45 s after the FLASH was accepted
  h.link_up = true;
  std::vector<Action> out = h.feed_durable(kUs, TimerFired{});
  h.carry(kUs, out);
  ASSERT_EQ(h.store(kUs).find(flash)->state, MessageState::kDelivered);
  const std::string routine = h.send(kUs, Precedence::kRoutine);  // at once: 0 s
  ASSERT_EQ(h.store(kUs).find(routine)->state, MessageState::kDelivered);

  const SessionStats stats = h.session(kUs).stats();
  const DeliveryHistogram& f = stats.delivery[static_cast<std::size_t>(Precedence::kFlash)];
  EXPECT_EQ(f.count, 1u);
  EXPECT_EQ(f.sum_ms, 45'000);
  // 45 s falls in (30 s, 60 s]: the bucket bounded by 60 s alone.
  for (std::size_t i = 0; i < f.counts.size(); ++i) {
    const bool in = i < kDeliveryBucketsMs.size() && kDeliveryBucketsMs[i] == 60'000;
    EXPECT_EQ(f.counts[i], in ? 1u : 0u) << "bucket " << i;
  }
  const DeliveryHistogram& r = stats.delivery[static_cast<std::size_t>(Precedence::kRoutine)];
  EXPECT_EQ(r.count, 1u);
  EXPECT_EQ(r.counts[0], 1u);
  EXPECT_EQ(stats.delivery[static_cast<std::size_t>(Precedence::kImmediate)].count, 0u);

  // ru acknowledges the FLASH: its ack (a FLASH too) is receipted by us, and not counted as
  // a delivery of ru's.
  h.deliver(kRu, Acknowledge{h.next_request(), "cgs", flash});
  ASSERT_EQ(h.store(kUs).find(flash)->state, MessageState::kAcknowledged);
  EXPECT_EQ(h.session(kRu).stats().delivery[static_cast<std::size_t>(Precedence::kFlash)].count,
            0u);
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
  h.deliver(kRu, Acknowledge{h.next_request(), "cgs", id});
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
  EXPECT_EQ(h.session(kRu)
                .stats()
                .frames_refused_by[static_cast<std::size_t>(FrameRefusal::kBadEnvelope)],
            1u);

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

  std::vector<Action> out = h.feed(kRu, Acknowledge{h.next_request(), "cook", inbound.id});
  ASSERT_EQ(count_of<Rejected>(out), 1u);
  EXPECT_EQ(all_of<Rejected>(out)[0].status.code(), StatusCode::kPermissionDenied);

  h.deliver(kRu, Acknowledge{h.next_request(), "deputy-cgs", inbound.id});
  EXPECT_EQ(h.store(kRu).find(id)->acknowledged_by, "ru-genstaff/deputy-cgs");
  EXPECT_EQ(h.store(kUs).find(id)->state, MessageState::kAcknowledged);
  EXPECT_EQ(h.store(kUs).find(id)->acknowledged_by, "ru-genstaff/deputy-cgs");
}

TEST(PeerSessionTest, AckOfOwnOutboundMessageIsRejected) {
  Harness h;
  const std::string id = h.send(kUs);
  std::vector<Action> out = h.feed(kUs, Acknowledge{h.next_request(), "saceur", id});
  ASSERT_EQ(out.size(), 1u);
  const Rejected r = std::get<Rejected>(out[0]);
  EXPECT_EQ(r.status.code(), StatusCode::kFailedPrecondition);  // 409
  EXPECT_EQ(r.status.message(),
            "message '" + id + "' is one we sent: only its receiver acknowledges it");
}

TEST(PeerSessionTest, RefusedBatchWithThePeersAckLeavesTheMessageWaitingForAnAck) {
  Harness h;
  const std::string id = h.send(kUs);
  const Time deadline = h.store(kUs).find(id)->ack_deadline;
  ASSERT_EQ(h.session(kUs).next_deadline(), deadline);

  // The peer acknowledges; its transaction reaches us, and the store refuses our batch.
  h.link_up = false;
  const MessageRecord inbound = *h.store(kRu).find(id);
  h.deliver(kRu, Acknowledge{h.next_request(), "cgs", inbound.id});
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
  EXPECT_EQ(overdue_notices(out).size(), 1u);
}

TEST(PeerSessionTest, DoubleAckIsRejected) {
  Harness h;
  const std::string id = h.send(kUs);
  const MessageRecord inbound = *h.store(kRu).find(id);

  // The second ack arrives while the first is not yet durable.
  std::vector<Action> first = h.feed(kRu, Acknowledge{h.next_request(), "cgs", inbound.id});
  ASSERT_GE(count_of<Persist>(first), 1u);
  // Acknowledged unread: its stage.shown entry, then the ack (docs/protocol.md "Stages").
  EXPECT_EQ(records_of<PutMessage>(all_of<Persist>(first)[0]), 2u);
  std::vector<Action> second = h.feed(kRu, Acknowledge{h.next_request(), "deputy-cgs", inbound.id});
  ASSERT_EQ(count_of<Rejected>(second), 1u);
  EXPECT_EQ(all_of<Rejected>(second)[0].status.code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(all_of<Rejected>(second)[0].status.message(),
            "already acknowledged by ru-genstaff/cgs");
  h.carry(kRu, first);

  // And once the store says so.
  std::vector<Action> third = h.feed(kRu, Acknowledge{h.next_request(), "cgs", id});
  ASSERT_EQ(count_of<Rejected>(third), 1u);
  EXPECT_EQ(all_of<Rejected>(third)[0].status.code(), StatusCode::kAlreadyExists);
  // One ack travelled, after the stage shown.
  EXPECT_EQ(h.store(kUs).count(Direction::kInbound), 2u);
}

TEST(PeerSessionTest, AckOfAnAckIsRejected) {
  Harness h;
  const std::string id = h.send(kUs);
  h.deliver(kRu, Acknowledge{h.next_request(), "cgs", id});
  const std::string ack_id = all_of<Accepted>(h.log[kRu])[0].message_id;
  const MessageRecord* ack = h.store(kUs).find(ack_id);
  ASSERT_NE(ack, nullptr);
  std::vector<Action> out = h.feed(kUs, Acknowledge{h.next_request(), "saceur", ack_id});
  ASSERT_EQ(count_of<Rejected>(out), 1u);
  EXPECT_EQ(all_of<Rejected>(out)[0].status.code(), StatusCode::kFailedPrecondition);  // 409
  EXPECT_THAT(all_of<Rejected>(out)[0].status.message(), HasSubstr("it is an acknowledgment"));
}

TEST(PeerSessionTest, NextDeadlineIsTheEarliestOfTheMessagesStillAwaitingAnAck) {
  Harness h;
  const std::string routine = h.send(kUs, Precedence::kRoutine);
  const std::string flash = h.send(kUs, Precedence::kFlash);
  const Time routine_deadline = h.store(kUs).find(routine)->ack_deadline;
  ASSERT_LT(h.now + 5min, routine_deadline);
  EXPECT_EQ(h.session(kUs).next_deadline(), h.now + 5min);

  // Acknowledged: its deadline is no longer watched; the ROUTINE one is next.
  h.deliver(kRu, Acknowledge{h.next_request(), "cgs", flash});
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
  const std::vector<Notice> overdue = overdue_notices(h.log[kUs]);
  ASSERT_EQ(overdue.size(), 1u);
  EXPECT_EQ(overdue[0].message_id, id);
  EXPECT_EQ(overdue[0].text, "FLASH message " + id +
                                 " on line saceur-cgs not acknowledged by ru-genstaff, overdue by "
                                 "0ms: alerting saceur");
  EXPECT_EQ(h.store(kUs).find(id)->state, MessageState::kOverdue);
  EXPECT_EQ(h.session(kUs).stats().overdue, 1u);
  EXPECT_FALSE(h.session(kUs).next_deadline().has_value());

  h.now += 1min;
  out = h.feed(kUs, TimerFired{});
  EXPECT_TRUE(overdue_notices(out).empty());

  // Acknowledgment is still possible after the deadline.
  h.deliver(kRu, Acknowledge{h.next_request(), "cgs", id});
  EXPECT_EQ(h.store(kUs).find(id)->state, MessageState::kAcknowledged);
  EXPECT_EQ(h.session(kUs).stats().overdue, 0u);
}

}  // namespace
}  // namespace parley::core
