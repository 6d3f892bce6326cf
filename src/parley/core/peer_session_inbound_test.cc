// PeerSession as the receiver of the peer's messages (issue 11): an ack names the message by
// id and the core finds it; the receiver watches the acknowledgment deadlines of what it
// holds; the seal hands back its salt; a peer's envelope must be from the line's remote
// principal or one of its remote alternates.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "parley/core/session_harness.h"

namespace parley::core {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;

Rejected rejected_ack(Harness& h, int side, const std::string& principal, const std::string& id) {
  std::vector<Action> out = h.feed(side, Acknowledge{h.next_request(), principal, id});
  EXPECT_EQ(count_of<Rejected>(out), 1u);
  EXPECT_EQ(count_of<Persist>(out), 0u);  // nothing changes
  return count_of<Rejected>(out) == 1 ? all_of<Rejected>(out)[0] : Rejected{};
}

// ---- an ack submitted as a message id ----

TEST(PeerSessionInboundTest, AckNamesTheMessageByIdAndTheReceiverFindsItWithoutTheStore) {
  Harness h;
  const std::string id = h.send(kUs, Precedence::kImmediate, "dsaceur");
  ASSERT_TRUE(h.session(kRu).holds(id));
  h.deliver(kRu, Acknowledge{h.next_request(), "cgs", id});
  ASSERT_EQ(all_of<Accepted>(h.log[kRu]).size(), 1u);
  const MessageRecord& theirs = *h.store(kRu).find(id);
  EXPECT_EQ(theirs.state, MessageState::kAcknowledged);
  // The ack goes back to whoever wrote the message (an alternate here), at its precedence.
  const MessageRecord& ack = *h.store(kRu).find(*theirs.ack_id);
  EXPECT_EQ(ack.to, (wire::Address{"us-eucom", "dsaceur"}));
  EXPECT_EQ(ack.precedence, Precedence::kImmediate);
  EXPECT_EQ(ack.reply_to, id);
  EXPECT_EQ(h.store(kUs).find(id)->state, MessageState::kAcknowledged);
}

TEST(PeerSessionInboundTest, AckAnswersNotFoundForbiddenAndConflictFromTheCore) {
  Harness h;
  const std::string id = h.send(kUs);
  EXPECT_FALSE(h.session(kRu).holds("0190a0a0-0000-7000-8000-000000000000"));
  EXPECT_EQ(rejected_ack(h, kRu, "cook", id).status.code(), StatusCode::kPermissionDenied);
  h.deliver(kRu, Acknowledge{h.next_request(), "deputy-cgs", id});
  const Rejected again = rejected_ack(h, kRu, "cgs", id);
  EXPECT_EQ(again.status.code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(again.status.message(), "already acknowledged by ru-genstaff/deputy-cgs");
  // Our own message, on the sender's side: not a message of the peer's awaiting our ack.
  const std::string ours = h.send(kUs);
  EXPECT_EQ(rejected_ack(h, kUs, "saceur", ours).status.code(), StatusCode::kFailedPrecondition);
}

TEST(PeerSessionInboundTest, AfterARestartTheReceiverFindsTheMessageFromWhatItRecovered) {
  Harness h;
  const std::string id = h.send(kUs);
  h.restart(kRu, h.store(kRu).recover("ru-genstaff", "us-eucom"));
  EXPECT_TRUE(h.session(kRu).holds(id));
  EXPECT_EQ(h.session(kRu).stats().inbound_unacknowledged, 1u);
  h.deliver(kRu, Acknowledge{h.next_request(), "cgs", id});
  EXPECT_EQ(h.store(kRu).find(id)->state, MessageState::kAcknowledged);
  EXPECT_EQ(h.store(kUs).find(id)->state, MessageState::kAcknowledged);
  EXPECT_EQ(h.session(kRu).stats().inbound_unacknowledged, 0u);
}

// ---- inbound deadlines ----

TEST(PeerSessionInboundTest, TheReceiverMarksAnUnacknowledgedMessageOverdueOnceAndAnAckStillWorks) {
  Harness h;
  const std::string id = h.send(kUs, Precedence::kFlash);
  const Time deadline = h.store(kRu).find(id)->ack_deadline;
  EXPECT_EQ(deadline, h.store(kUs).find(id)->ack_deadline);  // the sender's deadline
  EXPECT_EQ(h.session(kRu).next_deadline(), deadline);

  h.now = deadline - 1s;
  EXPECT_TRUE(h.feed(kRu, TimerFired{}).empty());
  h.now = deadline;
  // Carried to us-eucom: the mark's batch holds ru's evidence entry, which travels at once.
  std::vector<Action> out = h.feed(kRu, TimerFired{});
  h.carry(kRu, out);
  const std::vector<Notice> overdue = notices_of(out, NoticeKind::kInboundOverdue);
  ASSERT_EQ(overdue.size(), 1u);
  EXPECT_EQ(overdue[0].message_id, id);
  EXPECT_EQ(overdue[0].text, "FLASH message " + id + " on line saceur-cgs from us-eucom/saceur " +
                                 "not acknowledged here within 5m");
  EXPECT_EQ(h.store(kRu).find(id)->state, MessageState::kOverdue);
  EXPECT_EQ(h.session(kRu).stats().inbound_overdue, 1u);
  EXPECT_EQ(h.session(kRu).stats().inbound_overdue_marked, 1u);
  EXPECT_FALSE(h.session(kRu).next_deadline().has_value());

  h.now += 1min;  // once
  EXPECT_TRUE(notices_of(h.feed(kRu, TimerFired{}), NoticeKind::kInboundOverdue).empty());

  h.deliver(kRu, Acknowledge{h.next_request(), "cgs", id});
  EXPECT_EQ(h.store(kRu).find(id)->state, MessageState::kAcknowledged);
  EXPECT_EQ(h.session(kRu).stats().inbound_overdue, 0u);
  EXPECT_EQ(h.session(kRu).stats().inbound_unacknowledged, 0u);
  EXPECT_EQ(h.store(kUs).find(id)->state, MessageState::kAcknowledged);
}

// A sender whose clock runs two hours ahead signs `created` two hours in our future: the
// receiver's deadline runs from the message's arrival by its own clock, not from that.
TEST(PeerSessionInboundTest, ASenderClockAheadCannotPutOffTheReceiversDeadline) {
  Harness h;
  const Time arrival = h.now;
  h.now = arrival + 2h;  // us-eucom's clock when it composes
  Submit s = h.submit_event("saceur", Precedence::kFlash);
  std::vector<Action> out = h.feed(kUs, s);  // composed and signed; carried out below
  h.now = arrival;                           // ru-genstaff's clock when the transaction arrives
  h.carry(kUs, std::move(out));
  const Accepted* accepted = nullptr;
  for (const Action& a : h.log[kUs]) {
    if (const auto* x = std::get_if<Accepted>(&a); x && x->request == s.request) accepted = x;
  }
  ASSERT_NE(accepted, nullptr);
  const std::string id = accepted->message_id;
  ASSERT_NE(h.store(kRu).find(id), nullptr);
  EXPECT_EQ(h.store(kUs).find(id)->ack_deadline, arrival + 2h + 5min);  // the sender's clock
  EXPECT_EQ(h.store(kRu).find(id)->ack_deadline, arrival + 5min);
  EXPECT_EQ(h.session(kRu).next_deadline(), arrival + 5min);
  h.now = arrival + 5min;
  EXPECT_EQ(notices_of(h.feed_durable(kRu, TimerFired{}), NoticeKind::kInboundOverdue).size(), 1u);
}

TEST(PeerSessionInboundTest, AnAckBeingStoredStopsTheInboundDeadline) {
  Harness h;
  const std::string id = h.send(kUs, Precedence::kFlash);
  const Time deadline = h.store(kRu).find(id)->ack_deadline;
  h.link_up = false;
  std::vector<Action> ack = h.feed(kRu, Acknowledge{h.next_request(), "cgs", id});
  ASSERT_GE(count_of<Persist>(ack), 1u);
  h.now = deadline + 1s;  // passes while the ack is not yet durable
  EXPECT_TRUE(notices_of(h.feed(kRu, TimerFired{}), NoticeKind::kInboundOverdue).empty());
  // The store refuses the ack: the message waits for one again, and is overdue at once.
  for (const Persist& p : all_of<Persist>(ack)) {
    h.feed(kRu, PersistRefused{p.batch, Status::already_exists("conflict")});
  }
  EXPECT_EQ(h.session(kRu).next_deadline(), deadline);
  EXPECT_EQ(notices_of(h.feed(kRu, TimerFired{}), NoticeKind::kInboundOverdue).size(), 1u);
}

TEST(PeerSessionInboundTest, InboundDeadlinesAreRecoveredAndOneThatPassedWhileDownIsMarkedAtOnce) {
  Harness h;
  const std::string flash = h.send(kUs, Precedence::kFlash);
  const std::string routine = h.send(kUs, Precedence::kRoutine);
  h.now = h.store(kRu).find(flash)->ack_deadline + 1h;  // the gateway was down meanwhile
  h.restart(kRu, h.store(kRu).recover("ru-genstaff", "us-eucom"));
  EXPECT_EQ(h.session(kRu).stats().inbound_unacknowledged, 2u);
  ASSERT_TRUE(h.session(kRu).next_deadline().has_value());
  EXPECT_LE(*h.session(kRu).next_deadline(), h.now);  // due at once
  std::vector<Action> out = h.feed_durable(kRu, TimerFired{});
  ASSERT_EQ(notices_of(out, NoticeKind::kInboundOverdue).size(), 1u);
  EXPECT_EQ(notices_of(out, NoticeKind::kInboundOverdue)[0].message_id, flash);
  EXPECT_EQ(h.store(kRu).find(flash)->state, MessageState::kOverdue);
  EXPECT_EQ(h.session(kRu).next_deadline(), h.store(kRu).find(routine)->ack_deadline);

  // Marked and stored: another restart does not mark it again.
  h.restart(kRu, h.store(kRu).recover("ru-genstaff", "us-eucom"));
  EXPECT_EQ(h.session(kRu).stats().inbound_overdue, 1u);
  EXPECT_TRUE(notices_of(h.feed(kRu, TimerFired{}), NoticeKind::kInboundOverdue).empty());
}

// ---- the seal returns its salt ----

TEST(PeerSessionInboundTest, TheSenderKeepsTheSaltItSealedWithoutReopeningItsEnvelope) {
  Harness h;
  const std::string id = h.send(kUs);
  // The receiver opens the seal; the sender's record holds the same salt.
  EXPECT_EQ(h.store(kUs).find(id)->salt.size(), 32u);
  EXPECT_EQ(h.store(kUs).find(id)->salt, h.store(kRu).find(id)->salt);
}

// ---- the receiver's `from` check ----

TEST(PeerSessionInboundTest, EnvelopeFromARemoteAlternateIsAccepted) {
  Harness h;
  wire::Draft d = draft_from_ru(h.rng(), 1);
  d.from = {"ru-genstaff", "deputy-cgs"};
  std::vector<Action> out = h.feed_durable(
      kUs, TransactionReceived{9, transaction_body(h.keys(kRu), h.keys(kUs), d, h.rng())});
  ASSERT_EQ(count_of<Answer>(out), 1u);
  EXPECT_TRUE(receipt_of(all_of<Answer>(out)[0], h.keys(kUs)).body.refused.empty());
  EXPECT_EQ(h.store(kUs).find(d.id)->state, MessageState::kDelivered);
}

TEST(PeerSessionInboundTest, EnvelopeSignedByThePeerWithAForgedFromIsRefusedAndCounted) {
  Harness h;
  // The peer's real key, but a `from` that is neither the line's remote principal nor one
  // of its remote alternates.
  wire::Draft d = draft_from_ru(h.rng(), 1);
  d.from = {"ru-genstaff", "cook"};
  std::vector<Action> out = h.feed_durable(
      kUs, TransactionReceived{9, transaction_body(h.keys(kRu), h.keys(kUs), d, h.rng())});
  ASSERT_EQ(count_of<Answer>(out), 1u);
  const ledger::ReceiptV2 receipt = receipt_of(all_of<Answer>(out)[0], h.keys(kUs));
  ASSERT_EQ(receipt.body.refused.size(), 1u);
  EXPECT_THAT(receipt.body.refused[0].reason,
              HasSubstr("envelope from 'ru-genstaff/cook', neither the remote principal"));
  // Evidence of what the peer signed, never an inbox message, and counted.
  EXPECT_EQ(h.store(kUs).find(d.id)->state, MessageState::kRefused);
  EXPECT_TRUE(notices_of(out, NoticeKind::kMessageReceived).empty());
  EXPECT_EQ(notices_of(out, NoticeKind::kInboundRefused).size(), 1u);
  EXPECT_EQ(h.session(kUs).stats().inbound_refused, 1u);
  EXPECT_EQ(h.session(kUs).stats().inbound_unacknowledged, 0u);
  // Nobody can acknowledge it.
  EXPECT_EQ(rejected_ack(h, kUs, "saceur", d.id).status.code(), StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace parley::core
