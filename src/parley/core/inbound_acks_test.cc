// InboundAcks: the receiver's table of the peer's messages awaiting our ack (issue 11).
#include "parley/core/inbound_acks.h"

#include <gtest/gtest.h>

namespace parley::core {
namespace {

using namespace std::chrono_literals;

const Time kT0 = time_from_unix_ms(1'795'000'000'000);

AwaitingAck awaiting(Time deadline, bool overdue = false) {
  return AwaitingAck{
      "saceur-cgs", wire::Address{"us-eucom", "saceur"}, Precedence::kFlash, deadline, overdue,
      std::nullopt};
}

TEST(InboundAcksTest, EachDeadlineIsDueOnceInDeadlineThenIdOrder) {
  InboundAcks acks;
  acks.watch("b", awaiting(kT0 + 5min));
  acks.watch("a", awaiting(kT0 + 5min));
  acks.watch("c", awaiting(kT0 + 30min));
  EXPECT_EQ(acks.next_deadline(), kT0 + 5min);
  EXPECT_TRUE(acks.take_due(kT0 + 5min - 1ms).empty());
  EXPECT_EQ(acks.take_due(kT0 + 5min), (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(acks.take_due(kT0 + 5min).empty());  // once
  EXPECT_EQ(acks.overdue(), 2u);
  EXPECT_EQ(acks.next_deadline(), kT0 + 30min);
  EXPECT_EQ(acks.waiting(), 3u);
}

TEST(InboundAcksTest, ARecoveredOverdueMessageIsNotDueAgain) {
  InboundAcks acks;
  acks.watch("a", awaiting(kT0, /*overdue=*/true));
  EXPECT_FALSE(acks.next_deadline().has_value());
  EXPECT_TRUE(acks.take_due(kT0 + 1h).empty());
  EXPECT_EQ(acks.overdue(), 1u);
}

TEST(InboundAcksTest, APendingAckStopsTheDeadlineAFailedOneRestoresItADurableOneSettles) {
  InboundAcks acks;
  acks.watch("a", awaiting(kT0 + 5min));
  acks.ack_pending("a", "ru-genstaff/cgs");
  EXPECT_FALSE(acks.next_deadline().has_value());
  EXPECT_TRUE(acks.take_due(kT0 + 1h).empty());
  acks.ack_failed("a");
  EXPECT_EQ(acks.next_deadline(), kT0 + 5min);
  acks.ack_pending("a", "ru-genstaff/deputy-cgs");
  acks.ack_durable("a");
  EXPECT_EQ(acks.awaiting("a"), nullptr);
  ASSERT_NE(acks.settled("a"), nullptr);
  EXPECT_EQ(acks.settled("a")->why, "already acknowledged by ru-genstaff/deputy-cgs");
  EXPECT_TRUE(acks.holds("a"));
  EXPECT_EQ(acks.waiting(), 0u);
  // Watching it again (a resend of the same message) changes nothing.
  acks.watch("a", awaiting(kT0 + 5min));
  EXPECT_EQ(acks.awaiting("a"), nullptr);
}

}  // namespace
}  // namespace parley::core
