// PeerSession: a store gone back to an older state (a restore from a backup) and a peer that
// forked: the path is shown forked (SessionStats::forked), an alarm on both sides, never
// healthy, and the alarm ends once the logs are reconciled.
#include <gtest/gtest.h>

#include "parley/core/session_harness.h"

namespace parley::core {
namespace {

using namespace std::chrono_literals;

TEST(PeerSessionRestoreTest, ARolledBackStoreIsShownForkedOnBothSides) {
  Harness h;
  h.send(kRu);
  h.send(kUs);
  // The backup: us's store as it is now (its log of size 1, ru's of size 1 countersigned).
  const FakeStore backup = h.store(kUs);
  h.send(kUs);
  h.send(kUs);
  h.send(kRu);
  EXPECT_FALSE(h.session(kUs).stats().forked());
  EXPECT_FALSE(h.session(kRu).stats().forked());
  EXPECT_EQ(h.session(kRu).stats().peer_log_size, 3u);

  // us is restored from the backup and restarted.
  h.store(kUs) = backup;
  h.restart(kUs, h.store(kUs).recover("us-eucom", "ru-genstaff"));
  ASSERT_EQ(h.session(kUs).stats().log_size, 1u);
  EXPECT_FALSE(h.session(kUs).stats().forked());  // nothing says so yet

  // us's next head (size 2) is older than the one ru countersigned (3): ru refuses it, and
  // us shows the path forked with ru's reason.
  const std::string after = h.send(kUs);
  EXPECT_NE(h.store(kUs).find(after)->state, MessageState::kDelivered);
  const SessionStats us = h.session(kUs).stats();
  EXPECT_TRUE(us.forked());
  EXPECT_NE(us.own_conflict.find("older than the one already countersigned"), std::string::npos)
      << us.own_conflict;
  EXPECT_EQ(us.fork_reason(), us.own_conflict);
  EXPECT_EQ(h.session(kRu).stats().peer_log_size, 3u);  // ru changed nothing
  // One stale head is no alarm at ru (it may be a late copy)...
  EXPECT_EQ(h.session(kRu).stats().stale_heads, 1u);
  EXPECT_FALSE(h.session(kRu).stats().forked());
  // ... us's retry of it, again older, is.
  h.now += 20s;
  h.deliver(kUs, TimerFired{});
  EXPECT_EQ(h.session(kRu).stats().stale_heads, 2u);
  EXPECT_TRUE(h.session(kRu).stats().forked());
  EXPECT_NE(h.session(kRu).stats().peer_conflict.find("2 heads in a row older"), std::string::npos)
      << h.session(kRu).stats().peer_conflict;

  // ru's next transaction comes after ru's head 2, which us countersigned but no longer holds:
  // us answers that one before it has not arrived (425). Once may be a receipt overtaking
  // the answer, so ru sends it again; at the second such answer ru shows the path forked.
  const std::string from_ru = h.send(kRu);
  EXPECT_TRUE(h.session(kRu).stats().own_conflict.empty());
  h.now += 1s;
  h.deliver(kRu, TimerFired{});
  EXPECT_NE(h.store(kRu).find(from_ru)->state, MessageState::kDelivered);
  const SessionStats ru = h.session(kRu).stats();
  EXPECT_TRUE(ru.forked());
  EXPECT_NE(ru.own_conflict.find("'us-eucom' no longer holds our head of size 2"),
            std::string::npos)
      << ru.own_conflict;
  EXPECT_FALSE(ru.peer_conflict.empty());
  EXPECT_TRUE(ru.fork.empty());  // no contradicting head was presented to ru
  EXPECT_TRUE(h.session(kUs).stats().forked());
  EXPECT_EQ(h.session(kUs).stats().peer_log_size, 1u);  // us stored nothing of it
}

TEST(PeerSessionRestoreTest, ARestartFromTheCurrentStoreIsNoAlarm) {
  Harness h;
  h.send(kUs);
  h.send(kRu);
  // us restarts from its own current store: nothing was lost, nothing is forked.
  h.restart(kUs, h.store(kUs).recover("us-eucom", "ru-genstaff"));
  h.send(kUs);
  h.send(kRu);
  EXPECT_FALSE(h.session(kUs).stats().forked());
  EXPECT_FALSE(h.session(kRu).stats().forked());
}

TEST(PeerSessionRestoreTest, ALateCopyOfAnOldTransactionIsNoAlarm) {
  Harness h;
  h.send(kUs);
  const SendTransaction first = all_of<SendTransaction>(h.log[kUs]).back();
  h.send(kUs);
  // The late copy gets the receipt signed for it then (nobody waits for that answer): no
  // alarm, nothing stored again.
  const std::vector<Action> out = h.feed(kRu, TransactionReceived{h.next_request(), first.body});
  ASSERT_EQ(count_of<Answer>(out), 1u);
  EXPECT_EQ(all_of<Answer>(out)[0].http_status, 200);
  EXPECT_EQ(count_of<Persist>(out), 0u);
  EXPECT_FALSE(h.session(kRu).stats().forked());
  EXPECT_FALSE(h.session(kUs).stats().forked());
  // A second late copy after another transaction was stored (its receipt no longer kept) is
  // counted as a stale head, and still no alarm.
  h.send(kUs);
  h.feed(kRu, TransactionReceived{h.next_request(), first.body});
  EXPECT_EQ(h.session(kRu).stats().stale_heads, 1u);
  EXPECT_FALSE(h.session(kRu).stats().forked());
}

TEST(PeerSessionRestoreTest, RefusalsThatSayTheLogsConflict) {
  EXPECT_TRUE(refusal_says_log_conflict(
      "head of size 3 is older than the one already countersigned (size 4)"));
  EXPECT_TRUE(
      refusal_says_log_conflict("no consistency proof from my last countersigned head "
                                "size 2"));
  EXPECT_TRUE(refusal_says_log_conflict("FORK: 'us-eucom' signed a head of size 2 ..."));
  EXPECT_TRUE(refusal_says_log_conflict(lost_countersigned_head("us-eucom", 2)));
  EXPECT_FALSE(refusal_says_log_conflict("unknown line 'x'"));
  EXPECT_FALSE(refusal_says_log_conflict("bad signature on the head"));
}

}  // namespace
}  // namespace parley::core
