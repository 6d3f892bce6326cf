// PeerSession: refusals, of one message or of a whole transaction, either way; retries.
#include <gtest/gtest.h>

#include "parley/core/session_harness.h"
#include "parley/wire/rotation.h"

namespace parley::core {
namespace {

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

// DESIGN.md, the catalog: a message of a type or version this gateway does not know is stored
// and shown raw, never dropped; a body its own version of the type refuses is refused.
TEST(PeerSessionTest, AnotherCatalogsMessageIsStoredButABodyOurVersionRefusesIsRefused) {
  Harness h;
  wire::Draft unknown = draft_from_ru(h.rng(), 1);
  unknown.type = "notify.space-debris";
  unknown.type_version = 1;
  unknown.content = wire::Content{R"({"orbit":"LEO"})", ""};
  wire::Draft newer = draft_from_ru(h.rng(), 2);  // a later version of a type we hold
  newer.type = "text";
  newer.type_version = 7;
  newer.content = wire::Content{R"({"classification":"none"})", "hello"};
  wire::Draft bad = draft_from_ru(h.rng(), 3);  // the same version as ours: refused
  bad.type = "text";
  bad.type_version = 1;
  bad.content = newer.content;
  wire::Draft unsaid = draft_from_ru(h.rng(), 4);  // no version said: ours
  unsaid.type = "text";
  unsaid.content = newer.content;
  const std::string body =
      log_transaction(h.keys(kRu), h.keys(kUs), {unknown, newer, bad, unsaid}, h.rng());
  std::vector<Action> out = h.feed_durable(kUs, TransactionReceived{9, body});
  ASSERT_EQ(count_of<Answer>(out), 1u);
  const ledger::ReceiptV2 receipt = receipt_of(all_of<Answer>(out)[0], h.keys(kUs));
  ASSERT_EQ(receipt.body.refused.size(), 2u);
  EXPECT_EQ(receipt.body.refused[0].id, bad.id);
  EXPECT_EQ(receipt.body.refused[1].id, unsaid.id);
  for (const wire::Draft* d : {&unknown, &newer}) {
    const MessageRecord* stored = h.store(kUs).find(d->id);
    ASSERT_NE(stored, nullptr);
    EXPECT_EQ(stored->state, MessageState::kDelivered) << d->type;
    EXPECT_EQ(stored->content.body_json, d->content.body_json);
  }
  EXPECT_EQ(h.store(kUs).find(bad.id)->state, MessageState::kRefused);
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
  // The FLASH does not wait behind the transaction in flight, which holds the bad message:
  // it has its own (the FLASH lane), which ru takes after (it is not delivered here).
  const std::string flash = h.send(kUs, Precedence::kFlash);
  ASSERT_FALSE(flash.empty());
  const std::vector<SendTransaction> sent = all_of<SendTransaction>(h.log[kUs]);
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(envelopes_of(sent[0].body).size(), 1u);
  EXPECT_EQ(sent[1].precedence, Precedence::kFlash);

  // ru answers it; from then on the link carries everything at once (no time passes).
  h.link_up = true;
  std::vector<Action> ru = h.feed_durable(kRu, TransactionReceived{h.next_request(), sent[0].body});
  const std::vector<Answer> answers = all_of<Answer>(ru);
  ASSERT_EQ(answers.size(), 1u);
  ASSERT_EQ(answers[0].http_status, 200) << answers[0].body;
  const std::size_t before = h.log[kUs].size();
  h.deliver(kUs, TransactionAnswered{sent[0].tx, answers[0].http_status, answers[0].body});
  // The FLASH's own transaction reaches ru too (it left while the link was down).
  const std::vector<Action> ru_flash =
      h.feed_durable(kRu, TransactionReceived{h.next_request(), sent[1].body});
  ASSERT_EQ(all_of<Answer>(ru_flash).size(), 1u);
  const Answer flash_answer = all_of<Answer>(ru_flash)[0];
  ASSERT_EQ(flash_answer.http_status, 200) << flash_answer.body;
  h.deliver(kUs, TransactionAnswered{sent[1].tx, flash_answer.http_status, flash_answer.body});

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
  // The FLASH left in its own transaction and was delivered, at the same instant.
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
  for (const Notice& n : overdue_notices(timer)) EXPECT_NE(n.message_id, bad_id);
  EXPECT_EQ(h.store(kUs).find(bad_id)->state, MessageState::kRefused);
  // And after a restart it is neither resent nor watched (what is queued is the evidence
  // that the FLASH went unacknowledged, not carried to ru here).
  h.restart(kUs, h.store(kUs).recover("us-eucom", "ru-genstaff"));
  EXPECT_EQ(h.session(kUs).stats().queued, 1u);
  EXPECT_EQ(h.session(kUs).stats().unacknowledged, 1u);  // the FLASH only
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
  // Both are refused for their head: the parties, then the head's signature.
  EXPECT_EQ(
      h.session(kUs).stats().frames_refused_by[static_cast<std::size_t>(FrameRefusal::kBadHead)],
      2u);
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

// ru-genstaff's log of `drafts` (signed by `from`) then its rotation to `to`, carried whole
// under a head of the old key (the statement is its last entry).
std::string rotation_transaction(Harness& h, const wire::Draft& draft, const crypto::Keys& to,
                                 const crypto::Keys& from_key) {
  const PartyKeys& ru = h.keys(kRu);
  const crypto::SealKey seal = *crypto::derive_seal_key(ru.keys.box_secret, ru.keys.box_public,
                                                        h.keys(kUs).keys.box_public, 1);
  wire::Rotation r;
  r.id = uuid_v7(time_from_unix_ms(1'795'000'000'000), h.rng());
  r.party = ru.id;
  r.n = 1;
  r.old_sign_key = from_key.verify;
  r.new_sign_key = to.verify;
  r.new_tls_fingerprint = std::string(64, 'd');
  r.epoch = 2;
  r.created = time_from_unix_ms(1'795'000'000'000);
  const std::vector<std::string> texts = {
      wire::encode_envelope(
          wire::seal_and_sign(draft, seal, ru.keys.signing, ru.id, h.rng()).envelope),
      wire::sign_rotation(r, from_key.signing, to.signing)};
  std::vector<ledger::Hash> leaves;
  for (const std::string& t : texts) leaves.push_back(ledger::leaf_hash(as_bytes(t)));
  const ledger::NodeSource source = ledger::leaves_source(leaves);
  wire::Transaction tx;
  tx.id = uuid_v7(time_from_unix_ms(1'795'000'000'000), h.rng());
  tx.from = ru.id;
  tx.to = "us-eucom";
  tx.sth = ledger::encode_sth(
      ledger::sign_sth({ru.id, "us-eucom", leaves.size(), ledger::root_of(leaves),
                        time_from_unix_ms(1'795'000'000'000)},
                       ru.keys.signing));
  for (std::uint64_t i = 0; i < texts.size(); ++i) {
    wire::TransactionEntry entry{i, texts[i], *ledger::inclusion_proof(i, leaves.size(), source)};
    entry.rotation = i == 1;
    tx.entries.push_back(entry);
  }
  tx.consistency.push_back(
      {0, ledger::empty_root(), *ledger::consistency_proof(0, leaves.size(), source)});
  return wire::encode_transaction(tx);
}

// docs/protocol.md "Key rotation": a rotation not signed by the key we pinned is refused for
// its signature, whole: nothing is stored and nothing is pinned, and the session goes on (the
// genuine one is stored: peer_session_rotation_test.cc).
TEST(PeerSessionTest, ATransactionCarryingAForgedRotationIsRefusedWholeAndStoresNothing) {
  Harness h;
  SeededRng keys(99);
  const crypto::Keys next = crypto::generate_keys(keys);
  const crypto::Keys stranger = crypto::generate_keys(keys);
  const wire::Draft d = draft_from_ru(h.rng(), 1);

  std::vector<Action> out =
      h.feed(kUs, TransactionReceived{6, rotation_transaction(h, d, next, stranger)});
  ASSERT_EQ(count_of<Answer>(out), 1u);
  EXPECT_EQ(all_of<Answer>(out)[0].http_status, 400);
  EXPECT_NE(all_of<Answer>(out)[0].body.find("rotation: bad signature"), std::string::npos)
      << all_of<Answer>(out)[0].body;
  EXPECT_EQ(count_of<Persist>(out), 0u);
  EXPECT_EQ(notices_of(out, NoticeKind::kFrameRefused).size(), 1u);
  EXPECT_EQ(h.session(kUs)
                .stats()
                .frames_refused_by[static_cast<std::size_t>(FrameRefusal::kBadEnvelope)],
            1u);
  EXPECT_EQ(h.store(kUs).count(Direction::kInbound), 0u);
  EXPECT_EQ(h.store(kUs).find(d.id), nullptr);
  EXPECT_EQ(h.session(kUs).peer_chain().links().size(), 1u);

  // The genuine rotation, signed by the pinned key, is stored, and the session is not stuck.
  out = h.feed_durable(kUs,
                       TransactionReceived{7, rotation_transaction(h, d, next, h.keys(kRu).keys)});
  ASSERT_EQ(count_of<Answer>(out), 1u);
  EXPECT_EQ(all_of<Answer>(out)[0].http_status, 200) << all_of<Answer>(out)[0].body;
  EXPECT_NE(h.store(kUs).find(d.id), nullptr);
  EXPECT_EQ(h.session(kUs).peer_chain().newest().key, next.verify);
}

}  // namespace
}  // namespace parley::core
