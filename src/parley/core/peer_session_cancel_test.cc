// PeerSession: cancelling a queued message (docs/protocol.md "Cancellation"): granted only
// while no transaction has carried it, final, never sent afterwards, also after a restart.
#include <algorithm>

#include <gtest/gtest.h>

#include "parley/core/session_harness.h"

namespace parley::core {
namespace {

// The ids of the envelopes of every transaction `side` sent so far (as kUs signed them).
std::vector<std::string> ids_sent(Harness& h) {
  std::vector<std::string> ids;
  for (const SendTransaction& t : all_of<SendTransaction>(h.log[kUs])) {
    for (const std::string& e : envelopes_of(t.body)) {
      Result<wire::Envelope> envelope =
          wire::open_envelope(e, h.keys(kUs).keys.verify, h.keys(kUs).id);
      if (envelope.is_ok()) ids.push_back(envelope->payload.id);
    }
  }
  return ids;
}

bool contains(const std::vector<std::string>& ids, const std::string& id) {
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}

// Two messages on kUs with the peer down and one envelope per transaction: the first is
// carried by the transaction in flight, the second waits in the queue, carried by none.
struct TwoQueued {
  std::string carried;
  std::string waiting;
};
TwoQueued two_queued(Harness& h) {
  h.restart(kUs, Recovered{}, /*tx_envelopes_max=*/1);
  h.link_up = false;
  TwoQueued t;
  t.carried = h.send(kUs);
  t.waiting = h.send(kUs);
  EXPECT_FALSE(t.carried.empty());
  EXPECT_FALSE(t.waiting.empty());
  // The transaction got no answer: it is resent (unchanged) after a backoff.
  const std::vector<SendTransaction> sent = all_of<SendTransaction>(h.log[kUs]);
  EXPECT_EQ(sent.size(), 1u);
  if (!sent.empty()) h.deliver(kUs, TransactionFailed{sent.back().tx, "connection refused"});
  return t;
}

Cancel cancel_of(Harness& h, const std::string& id, const std::string& principal = "saceur") {
  return Cancel{h.next_request(), principal, id};
}

TEST(PeerSessionCancelTest, QueuedMessageNoTransactionCarriedIsCancelledAndNeverLeaves) {
  Harness h;
  const TwoQueued t = two_queued(h);
  const Cancel c = cancel_of(h, t.waiting);
  std::vector<Action> out = h.feed(kUs, c);
  // Nothing is answered before the cancellation is durable.
  EXPECT_EQ(count_of<Accepted>(out), 0u);
  ASSERT_EQ(count_of<Persist>(out), 1u);
  settle(h.session(kUs), h.store(kUs), h.now, out);
  const std::vector<Accepted> accepted = all_of<Accepted>(out);
  ASSERT_EQ(accepted.size(), 1u);
  EXPECT_EQ(accepted[0].request, c.request);
  EXPECT_EQ(accepted[0].message_id, t.waiting);
  EXPECT_EQ(accepted[0].state, MessageState::kCancelled);
  ASSERT_EQ(notices_of(out, NoticeKind::kMessageCancelled).size(), 1u);

  const MessageRecord* stored = h.store(kUs).find(t.waiting);
  ASSERT_NE(stored, nullptr);
  EXPECT_EQ(stored->state, MessageState::kCancelled);
  EXPECT_EQ(stored->cancelled_at, h.now);
  EXPECT_EQ(stored->cancelled_by, "us-eucom/saceur");
  EXPECT_EQ(h.session(kUs).stats().queued, 1u);          // the carried one alone
  EXPECT_EQ(h.session(kUs).stats().unacknowledged, 1u);  // no deadline watched for it

  // The link heals: the carried message is delivered, the cancelled one never leaves, and no
  // deadline of it ever passes.
  h.link_up = true;
  h.now += 10s;
  h.deliver(kUs, TimerFired{});
  h.now += 1h;
  h.deliver(kUs, TimerFired{});
  EXPECT_EQ(h.store(kUs).find(t.carried)->state, MessageState::kDelivered);
  EXPECT_NE(h.store(kRu).find(t.carried), nullptr);
  EXPECT_EQ(h.store(kRu).find(t.waiting), nullptr);
  EXPECT_FALSE(contains(ids_sent(h), t.waiting));
  EXPECT_EQ(h.store(kUs).find(t.waiting)->state, MessageState::kCancelled);
  EXPECT_EQ(h.session(kUs).stats().queued, 0u);
  // Its own log still verifies: the cancelled entry is in it, never proven to the peer.
  expect_every_outbound_message_proven(h, kUs);
}

TEST(PeerSessionCancelTest, MessageOfTheTransactionInFlightIsNotCancelled) {
  Harness h;
  const TwoQueued t = two_queued(h);
  std::vector<Action> out = h.feed(kUs, cancel_of(h, t.carried));
  const std::vector<Rejected> rejected = all_of<Rejected>(out);
  ASSERT_EQ(rejected.size(), 1u);
  EXPECT_EQ(rejected[0].status.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(rejected[0].status.message().find("has left"), std::string::npos)
      << rejected[0].status.message();
  EXPECT_EQ(count_of<Persist>(out), 0u);  // nothing changes
  EXPECT_EQ(h.store(kUs).find(t.carried)->state, MessageState::kQueued);
  EXPECT_EQ(h.session(kUs).stats().queued, 2u);
}

TEST(PeerSessionCancelTest, MessageATransactionCarriedBeforeARestartIsNotCancelled) {
  Harness h;
  const TwoQueued t = two_queued(h);
  // The transaction left unanswered (the peer may have stored it); the gateway restarts.
  EXPECT_TRUE(h.store(kUs).find(t.carried)->tx.has_value());
  EXPECT_FALSE(h.store(kUs).find(t.waiting)->tx.has_value());
  h.restart(kUs, h.store(kUs).recover("us-eucom", "ru-genstaff"), /*tx_envelopes_max=*/1);
  std::vector<Action> out = h.feed(kUs, cancel_of(h, t.carried));
  const std::vector<Rejected> rejected = all_of<Rejected>(out);
  ASSERT_EQ(rejected.size(), 1u);
  EXPECT_EQ(rejected[0].status.code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(h.store(kUs).find(t.carried)->state, MessageState::kQueued);
}

TEST(PeerSessionCancelTest, CancelledMessageIsNotSentAfterARestart) {
  Harness h;
  const TwoQueued t = two_queued(h);
  h.deliver(kUs, cancel_of(h, t.waiting, "dsaceur"));  // the line's alternate may cancel too
  ASSERT_EQ(h.store(kUs).find(t.waiting)->state, MessageState::kCancelled);
  EXPECT_EQ(h.store(kUs).find(t.waiting)->cancelled_by, "us-eucom/dsaceur");
  h.link_up = true;
  h.restart(kUs, h.store(kUs).recover("us-eucom", "ru-genstaff"));
  EXPECT_EQ(h.session(kUs).stats().queued, 1u);  // the carried one, resent
  h.now += 1s;
  h.deliver(kUs, TimerFired{});
  h.now += 1h;
  h.deliver(kUs, TimerFired{});
  EXPECT_EQ(h.store(kUs).find(t.carried)->state, MessageState::kDelivered);
  EXPECT_EQ(h.store(kRu).find(t.waiting), nullptr);
  EXPECT_FALSE(contains(ids_sent(h), t.waiting));
  EXPECT_EQ(h.store(kUs).find(t.waiting)->state, MessageState::kCancelled);
  expect_every_outbound_message_proven(h, kUs);
}

TEST(PeerSessionCancelTest, OnlyItsSenderOrAPrincipalOfItsLineCancels) {
  Harness h;
  const TwoQueued t = two_queued(h);
  std::vector<Action> out = h.feed(kUs, cancel_of(h, t.waiting, kTranslator));
  const std::vector<Rejected> rejected = all_of<Rejected>(out);
  ASSERT_EQ(rejected.size(), 1u);
  EXPECT_EQ(rejected[0].status.code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(count_of<Persist>(out), 0u);
  EXPECT_EQ(h.store(kUs).find(t.waiting)->state, MessageState::kQueued);
  EXPECT_EQ(h.session(kUs).stats().queued, 2u);
}

TEST(PeerSessionCancelTest, DeliveredPeersAndUnknownMessagesAreNotCancelled) {
  Harness h;
  const std::string delivered = h.send(kUs);
  ASSERT_EQ(h.store(kUs).find(delivered)->state, MessageState::kDelivered);
  const std::string theirs = h.send(kRu);
  ASSERT_NE(h.store(kUs).find(theirs), nullptr);

  std::vector<Action> out = h.feed(kUs, cancel_of(h, delivered));
  ASSERT_EQ(all_of<Rejected>(out).size(), 1u);
  EXPECT_EQ(all_of<Rejected>(out)[0].status.code(), StatusCode::kFailedPrecondition);
  out = h.feed(kUs, cancel_of(h, theirs));
  ASSERT_EQ(all_of<Rejected>(out).size(), 1u);
  EXPECT_EQ(all_of<Rejected>(out)[0].status.code(), StatusCode::kFailedPrecondition);
  out = h.feed(kUs, cancel_of(h, "01890000-0000-7000-8000-000000000000"));
  ASSERT_EQ(all_of<Rejected>(out).size(), 1u);
  EXPECT_EQ(all_of<Rejected>(out)[0].status.code(), StatusCode::kNotFound);
  EXPECT_EQ(h.store(kUs).find(delivered)->state, MessageState::kDelivered);
}

TEST(PeerSessionCancelTest, OverdueQueuedMessageIsCancelledAndItsEscalationStops) {
  Harness h;
  const TwoQueued t = two_queued(h);
  h.now += 7h;  // past the ROUTINE deadline, still queued behind a dead link
  h.deliver(kUs, TimerFired{});
  ASSERT_EQ(h.store(kUs).find(t.waiting)->state, MessageState::kOverdue);
  const std::size_t escalations = h.session(kUs).stats().escalations;
  h.deliver(kUs, cancel_of(h, t.waiting));
  EXPECT_EQ(h.store(kUs).find(t.waiting)->state, MessageState::kCancelled);
  EXPECT_EQ(h.session(kUs).stats().escalations, escalations - 1);
}

}  // namespace
}  // namespace parley::core
