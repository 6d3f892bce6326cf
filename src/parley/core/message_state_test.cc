#include "parley/core/message_state.h"

#include <gtest/gtest.h>

namespace parley::core {
namespace {

using namespace std::chrono_literals;

const Time kAt = time_from_unix_ms(1'795'000'000'000);

MessageRecord record_in(MessageState state) {
  MessageRecord r;
  r.id = "m1";
  r.state = state;
  return r;
}

TEST(MessageStateTest, SentOnlyFromQueued) {
  EXPECT_EQ(next_state(MessageState::kQueued, MessageEvent::kReachedPeer), MessageState::kSent);
  EXPECT_EQ(next_state(MessageState::kOverdue, MessageEvent::kReachedPeer), MessageState::kOverdue);
  EXPECT_EQ(next_state(MessageState::kExpired, MessageEvent::kReachedPeer), MessageState::kExpired);
}

TEST(MessageStateTest, ExpiryEndsOnlyAnUnreceiptedMessage) {
  for (MessageState s : {MessageState::kQueued, MessageState::kSent, MessageState::kOverdue}) {
    EXPECT_EQ(next_state(s, MessageEvent::kExpired), MessageState::kExpired);
  }
  for (MessageState s :
       {MessageState::kDelivered, MessageState::kAcknowledged, MessageState::kRefused}) {
    EXPECT_EQ(next_state(s, MessageEvent::kExpired), s);
  }
}

TEST(MessageStateTest, AReceiptWinsOverAnExpiryButARefusalKeepsIt) {
  EXPECT_EQ(next_state(MessageState::kExpired, MessageEvent::kReceipted), MessageState::kDelivered);
  EXPECT_EQ(next_state(MessageState::kExpired, MessageEvent::kRefusedByPeer),
            MessageState::kExpired);
  EXPECT_EQ(next_state(MessageState::kSent, MessageEvent::kRefusedByPeer), MessageState::kRefused);
}

TEST(MessageStateTest, CancelledOnlyFromQueuedOrOverdueAndThenFinal) {
  EXPECT_EQ(next_state(MessageState::kQueued, MessageEvent::kCancelled), MessageState::kCancelled);
  EXPECT_EQ(next_state(MessageState::kOverdue, MessageEvent::kCancelled), MessageState::kCancelled);
  for (MessageState s : {MessageState::kSent, MessageState::kDelivered, MessageState::kAcknowledged,
                         MessageState::kExpired, MessageState::kRefused}) {
    EXPECT_EQ(next_state(s, MessageEvent::kCancelled), s);
  }
  for (MessageEvent e :
       {MessageEvent::kReachedPeer, MessageEvent::kReceipted, MessageEvent::kRefusedByPeer,
        MessageEvent::kAcknowledged, MessageEvent::kDeadlinePassed, MessageEvent::kExpired,
        MessageEvent::kCarried}) {
    EXPECT_EQ(next_state(MessageState::kCancelled, e), MessageState::kCancelled);
  }
}

TEST(MessageStateTest, CancellingRecordsWhoAndWhenInTheRecordAndTheUpdate) {
  MessageRecord r = record_in(MessageState::kQueued);
  MessageChange change(MessageEvent::kCancelled, kAt);
  change.cancelled_by = "us-eucom/saceur";
  const UpdateMessage u = transition(r, change);
  EXPECT_EQ(r.state, MessageState::kCancelled);
  EXPECT_EQ(u.state, MessageState::kCancelled);
  EXPECT_EQ(r.cancelled_at, kAt);
  EXPECT_EQ(u.cancelled_at, kAt);
  EXPECT_EQ(r.cancelled_by, "us-eucom/saceur");
  EXPECT_EQ(u.cancelled_by, "us-eucom/saceur");

  // A message that has been sent is not cancelled, and nothing about a cancel is written.
  MessageRecord sent = record_in(MessageState::kSent);
  const UpdateMessage none = transition(sent, change);
  EXPECT_EQ(sent.state, MessageState::kSent);
  EXPECT_FALSE(sent.cancelled_at.has_value());
  EXPECT_FALSE(none.cancelled_at.has_value());
  EXPECT_FALSE(none.cancelled_by.has_value());
}

TEST(MessageStateTest, CarriedKeepsTheStateAndRecordsTheTransaction) {
  MessageRecord r = record_in(MessageState::kOverdue);
  MessageChange change(MessageEvent::kCarried, kAt);
  change.tx = "tx-1";
  const UpdateMessage u = transition(r, change);
  EXPECT_EQ(r.state, MessageState::kOverdue);
  EXPECT_EQ(u.state, MessageState::kOverdue);
  EXPECT_EQ(r.tx, "tx-1");
  EXPECT_EQ(u.tx, "tx-1");
}

TEST(MessageStateTest, ProgressNeverOverwritesAnAckOrAMissedDeadline) {
  EXPECT_EQ(next_state(MessageState::kAcknowledged, MessageEvent::kReceipted),
            MessageState::kAcknowledged);
  EXPECT_EQ(next_state(MessageState::kOverdue, MessageEvent::kReceipted), MessageState::kOverdue);
  EXPECT_EQ(next_state(MessageState::kOverdue, MessageEvent::kAcknowledged),
            MessageState::kAcknowledged);
  EXPECT_EQ(next_state(MessageState::kAcknowledged, MessageEvent::kDeadlinePassed),
            MessageState::kAcknowledged);
}

TEST(MessageStateTest, TheUpdateStoresWhatTheRecordBecame) {
  MessageRecord r = record_in(MessageState::kSent);
  MessageChange change(MessageEvent::kReceipted, kAt);
  change.tx = "tx-1";
  change.receipt = "{}";
  const UpdateMessage u = transition(r, change);
  EXPECT_EQ(r.state, MessageState::kDelivered);
  EXPECT_EQ(u.id, "m1");
  EXPECT_EQ(u.state, r.state);
  EXPECT_EQ(u.delivered_at, kAt);
  EXPECT_EQ(r.delivered_at, kAt);
  EXPECT_EQ(u.receipt, r.receipt);
  EXPECT_EQ(u.tx, "tx-1");
  EXPECT_FALSE(u.acknowledged_at.has_value());  // untouched: the store keeps its value
}

TEST(MessageStateTest, AnAckRecordsWhoAndWhich) {
  MessageRecord r = record_in(MessageState::kOverdue);
  MessageChange change(MessageEvent::kAcknowledged, kAt + 1s);
  change.acknowledged_by = "ru-genstaff/cgs";
  change.ack_id = "a1";
  const UpdateMessage u = transition(r, change);
  EXPECT_EQ(r.state, MessageState::kAcknowledged);
  EXPECT_EQ(u.acknowledged_by, "ru-genstaff/cgs");
  EXPECT_EQ(r.ack_id, "a1");
  EXPECT_EQ(u.acknowledged_at, kAt + 1s);
}

TEST(MessageStateTest, ARefusalKeepsItsReason) {
  MessageRecord r = record_in(MessageState::kExpired);
  MessageChange change(MessageEvent::kRefusedByPeer, kAt);
  change.refusal = "expired at ... before it arrived";
  const UpdateMessage u = transition(r, change);
  EXPECT_EQ(u.state, MessageState::kExpired);
  EXPECT_EQ(r.refusal, change.refusal);
  EXPECT_EQ(u.refusal, change.refusal);
  EXPECT_FALSE(u.delivered_at.has_value());
}

// docs/protocol.md "Stages": each signed by the party that received the message; the peer's
// reply that is no protocol entry answers it, its own acks, its translations and our replies
// do not.
TEST(MessageStateTest, StagesComeFromTheReceiptTheAckAndTheReceiversReplies) {
  MessageRecord m = record_in(MessageState::kAcknowledged);
  m.direction = Direction::kOutbound;
  m.delivered_at = kAt + 1s;
  m.acknowledged_at = kAt + 5s;
  EXPECT_FALSE(stages_of(m, {}).shown.has_value());
  EXPECT_FALSE(stages_of(m, {}).answered.has_value());
  const auto reply = [&](std::string_view type, Direction d, Time created) {
    MessageRecord r;
    r.id = std::string(type) + format_time(created);
    r.reply_to = m.id;
    r.type = type;
    r.direction = d;
    r.created = created;
    return r;
  };
  const std::vector<MessageRecord> replies = {
      reply("ack", Direction::kInbound, kAt + 4s),
      reply("text", Direction::kOutbound, kAt + 2s),  // ours: no answer
      reply("evidence.unacknowledged", Direction::kInbound, kAt + 3s),
      reply("stage.shown", Direction::kInbound, kAt + 3s),
      reply("translation", Direction::kInbound, kAt + 6s),  // beside it, not an answer
      reply("text", Direction::kInbound, kAt + 9s),
      reply("notify.incident", Direction::kInbound, kAt + 7s)};
  const Stages s = stages_of(m, replies);
  EXPECT_EQ(s.stored, kAt + 1s);
  EXPECT_EQ(s.shown, kAt + 3s);
  EXPECT_EQ(s.acknowledged, kAt + 5s);
  EXPECT_EQ(s.answered, kAt + 7s);  // the first
}

}  // namespace
}  // namespace parley::core
