// PeerSession: what a message's state says (queued until the peer answers, sent, expired).
#include <gtest/gtest.h>

#include "parley/core/session_harness.h"

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
  const std::vector<Notice> told = notices_of(out, NoticeKind::kMessageExpired);
  ASSERT_EQ(told.size(), 1u);
  EXPECT_EQ(told[0].message_id, late);
  EXPECT_EQ(h.session(kUs).stats().messages_expired, 1u);
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

TEST(PeerSessionTest, AckOfAMessageThatExpiredInFlightIsTakenAndTheRecordSaysSo) {
  Harness h;
  h.link_up = false;
  const std::string id = send_expiring(h, 1min);
  const SendTransaction sent = all_of<SendTransaction>(h.log[kUs])[0];
  std::vector<Action> received = h.feed_durable(kRu, TransactionReceived{900, sent.body});
  ASSERT_EQ(all_of<Answer>(received)[0].http_status, 200);  // ru has it; the answer is lost
  h.deliver(kUs, TransactionFailed{sent.tx, "timeout"});
  h.now += 2min;
  h.deliver(kUs, TimerFired{});
  h.deliver(kUs, TransactionFailed{sent.tx, "timeout"});
  EXPECT_EQ(h.store(kUs).find(id)->state, MessageState::kExpired);

  // ru's principal acknowledges it; the ack reaches us before the receipt does.
  h.deliver(kRu, Acknowledge{h.next_request(), "cgs", id});
  const std::vector<SendTransaction> from_ru = all_of<SendTransaction>(h.log[kRu]);
  ASSERT_FALSE(from_ru.empty());
  h.feed_durable(kUs, TransactionReceived{901, from_ru.back().body});
  EXPECT_EQ(h.store(kUs).find(id)->state, MessageState::kAcknowledged);

  // Then the receipt: still acknowledged, nothing awaited, never overdue.
  h.link_up = true;
  h.now += 10s;
  h.deliver(kUs, TimerFired{});
  EXPECT_TRUE(h.store(kUs).find(id)->receipt.has_value());
  EXPECT_EQ(h.store(kUs).find(id)->state, MessageState::kAcknowledged);
  EXPECT_EQ(h.session(kUs).stats().unacknowledged, 0u);
  h.now += 7h;
  h.deliver(kUs, TimerFired{});
  EXPECT_EQ(h.store(kUs).find(id)->state, MessageState::kAcknowledged);
}

}  // namespace
}  // namespace parley::core
