#include "parley/core/paths.h"

#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace parley::core {
namespace {

using namespace std::chrono_literals;

constexpr PathIndex kPrimary = 0;
constexpr PathIndex kBackup = 1;
constexpr PathIndex kThird = 2;

template <typename T>
std::vector<T> all_of(const std::vector<PathAction>& actions) {
  std::vector<T> found;
  for (const PathAction& a : actions) {
    if (const T* t = std::get_if<T>(&a)) found.push_back(*t);
  }
  return found;
}

// A monitor over `n` paths, and a clock the test advances.
class Harness {
 public:
  explicit Harness(std::size_t n, PathConfig config = {}) : monitor_(addresses(n), config) {}

  static std::vector<std::string> addresses(std::size_t n) {
    std::vector<std::string> out;
    for (std::size_t i = 0; i < n; ++i) out.push_back("10.0.0." + std::to_string(i + 1) + ":7001");
    return out;
  }

  std::vector<PathAction> feed(const PathEvent& event) {
    std::vector<PathAction> out;
    monitor_.handle(event, now_, out);
    all_.insert(all_.end(), out.begin(), out.end());
    for (const SendHeartbeat& hb : all_of<SendHeartbeat>(out)) last_id_[hb.path] = hb.id;
    return out;
  }

  // The outcome of the last heartbeat asked for on `path`.
  std::vector<PathAction> answer(PathIndex path) {
    return feed(HeartbeatAnswered{path, last_id_[path]});
  }
  std::vector<PathAction> fail(PathIndex path, const std::string& reason) {
    return feed(HeartbeatFailed{path, last_id_[path], reason});
  }
  std::uint64_t last_id(PathIndex path) { return last_id_[path]; }

  // Advances to the next deadline and fires HeartbeatDue; returns the heartbeats asked for.
  std::vector<SendHeartbeat> tick() {
    if (monitor_.next_deadline() > now_) now_ = monitor_.next_deadline();
    return all_of<SendHeartbeat>(feed(HeartbeatDue{}));
  }

  // One heartbeat round: every path in `answering` answers, every other one fails.
  void round(const std::vector<PathIndex>& answering) {
    for (const SendHeartbeat& hb : tick()) {
      bool answers = false;
      for (PathIndex p : answering) answers = answers || p == hb.path;
      if (answers) {
        feed(HeartbeatAnswered{hb.path, hb.id});
      } else {
        feed(HeartbeatFailed{hb.path, hb.id, "timed out after 1000ms"});
      }
    }
  }

  std::vector<PathChanged> changes() const { return all_of<PathChanged>(all_); }
  const std::vector<PathAction>& all() const { return all_; }
  void forget() { all_.clear(); }

  PathMonitor& monitor() { return monitor_; }
  PathState state(PathIndex p) const { return monitor_.paths()[p].state; }
  Time now() const { return now_; }
  void advance(Duration d) { now_ += d; }

 private:
  PathMonitor monitor_;
  Time now_ = time_from_unix_ms(1'795'000'000'000);
  std::vector<PathAction> all_;
  std::map<PathIndex, std::uint64_t> last_id_;
};

TEST(PathMonitorTest, EveryPathStartsUnknownAndTrafficGoesToThePrimary) {
  Harness h(2);
  EXPECT_EQ(h.state(kPrimary), PathState::kUnknown);
  EXPECT_EQ(h.state(kBackup), PathState::kUnknown);
  EXPECT_EQ(h.monitor().best_path(), kPrimary);
  EXPECT_LE(h.monitor().next_deadline(), h.now());  // the first heartbeats go at once
}

TEST(PathMonitorTest, HeartbeatGoesOnEveryPathEveryInterval) {
  PathConfig config;
  config.heartbeat_interval = 250ms;
  Harness h(3, config);
  const Time start = h.now();
  std::vector<SendHeartbeat> sent = h.tick();
  ASSERT_EQ(sent.size(), 3u);
  for (PathIndex i = 0; i < 3; ++i) {
    EXPECT_EQ(sent[i].path, i);
    EXPECT_EQ(sent[i].timeout, config.heartbeat_timeout);
  }
  EXPECT_EQ(h.monitor().next_deadline(), start + 250ms);
  for (PathIndex i = 0; i < 3; ++i) h.answer(i);
  EXPECT_EQ(h.tick().size(), 3u);
  EXPECT_EQ(h.now(), start + 250ms);
}

TEST(PathMonitorTest, HeartbeatStillWithinItsTimeoutIsNotDuplicated) {
  PathConfig config;
  config.heartbeat_timeout = 1500ms;  // longer than the interval
  Harness h(2, config);
  ASSERT_EQ(h.tick().size(), 2u);
  h.answer(kBackup);
  // The primary's heartbeat has no outcome yet and may still come: only the backup gets a
  // new one.
  std::vector<SendHeartbeat> sent = h.tick();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].path, kBackup);
  EXPECT_EQ(h.monitor().paths()[kPrimary].consecutive_misses, 0);
  h.answer(kBackup);
  // Now it is 2 s old: a miss, and a new heartbeat.
  sent = h.tick();
  EXPECT_EQ(sent.size(), 2u);
  EXPECT_EQ(h.monitor().paths()[kPrimary].consecutive_misses, 1);
}

TEST(PathMonitorTest, HeartbeatWithNoOutcomeByTheNextBeatIsAMiss) {
  Harness h(2);
  h.round({kPrimary, kBackup});
  // The primary's heartbeats never get an outcome (the driver's timeout races the beat).
  for (int i = 0; i < 2; ++i) {
    for (const SendHeartbeat& hb : h.tick()) {
      if (hb.path == kBackup) h.answer(kBackup);
    }
  }
  EXPECT_EQ(h.monitor().paths()[kPrimary].consecutive_misses, 1);
  EXPECT_EQ(h.state(kPrimary), PathState::kUp);
  h.tick();
  EXPECT_EQ(h.state(kPrimary), PathState::kDown);
  EXPECT_EQ(h.monitor().best_path(), kBackup);
  EXPECT_NE(h.monitor().paths()[kPrimary].last_error.find("no answer to a heartbeat within 1000ms"),
            std::string::npos);
}

TEST(PathMonitorTest, LateFailureOfAHeartbeatAlreadyCountedIsIgnored) {
  Harness h(1);
  h.tick();
  const std::uint64_t first = h.last_id(kPrimary);
  h.tick();  // the first one is counted as missed
  ASSERT_EQ(h.monitor().paths()[kPrimary].consecutive_misses, 1);
  h.feed(HeartbeatFailed{kPrimary, first, "timed out after 1000ms"});
  EXPECT_EQ(h.monitor().paths()[kPrimary].consecutive_misses, 1);
  h.fail(kPrimary, "timed out after 1000ms");  // the current one
  EXPECT_EQ(h.monitor().paths()[kPrimary].consecutive_misses, 2);
}

TEST(PathMonitorTest, LateAnswerStillCountsAsContact) {
  Harness h(1);
  h.tick();
  const std::uint64_t first = h.last_id(kPrimary);
  h.tick();
  ASSERT_EQ(h.monitor().paths()[kPrimary].consecutive_misses, 1);
  h.feed(HeartbeatAnswered{kPrimary, first});
  EXPECT_EQ(h.monitor().paths()[kPrimary].consecutive_misses, 0);
  EXPECT_EQ(h.state(kPrimary), PathState::kUp);
  // The current heartbeat is still awaited: the next beat does not send a second one early.
  h.advance(1ms);
  std::vector<PathAction> out;
  h.monitor().handle(HeartbeatDue{}, h.now(), out);
  EXPECT_TRUE(all_of<SendHeartbeat>(out).empty());
}

TEST(PathMonitorTest, HeartbeatIdsAreUniqueAndIncreasing) {
  Harness h(2);
  std::vector<std::uint64_t> ids;
  for (int i = 0; i < 3; ++i) {
    for (const SendHeartbeat& hb : h.tick()) {
      ids.push_back(hb.id);
      h.answer(hb.path);
    }
  }
  ASSERT_EQ(ids.size(), 6u);
  for (std::size_t i = 1; i < ids.size(); ++i) EXPECT_LT(ids[i - 1], ids[i]);
  EXPECT_GT(ids[0], 0u);
}

TEST(PathMonitorTest, FirstAnswerMakesAPathUp) {
  Harness h(2);
  h.round({kPrimary, kBackup});
  EXPECT_EQ(h.state(kPrimary), PathState::kUp);
  EXPECT_EQ(h.state(kBackup), PathState::kUp);
  EXPECT_EQ(h.monitor().paths()[kPrimary].last_contact, h.now());
  EXPECT_EQ(h.monitor().best_path(), kPrimary);
  EXPECT_TRUE(h.changes().empty());
}

// Issue 15: traffic waited three missed heartbeats (4.1 s at a 1 s heartbeat) on a cut primary
// while the backup answered every one.
TEST(PathMonitorTest, FailoverAfterTwoMissedHeartbeatsWhileTheBackupIsUp) {
  Harness h(2);
  h.round({kPrimary, kBackup});
  h.forget();
  h.round({kBackup});
  EXPECT_EQ(h.state(kPrimary), PathState::kUp);
  EXPECT_EQ(h.monitor().best_path(), kPrimary);
  EXPECT_TRUE(h.changes().empty());

  h.round({kBackup});
  EXPECT_EQ(h.state(kPrimary), PathState::kDown);
  EXPECT_EQ(h.monitor().paths()[kPrimary].consecutive_misses, 2);
  EXPECT_EQ(h.monitor().paths()[kPrimary].last_error, "timed out after 1000ms");
  EXPECT_EQ(h.monitor().best_path(), kBackup);
  const std::vector<PathChanged> changes = h.changes();
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].from, kPrimary);
  EXPECT_EQ(changes[0].to, kBackup);
  EXPECT_TRUE(changes[0].alert);
  EXPECT_NE(changes[0].reason.find("10.0.0.1:7001"), std::string::npos) << changes[0].reason;
  EXPECT_NE(changes[0].reason.find("10.0.0.2:7001"), std::string::npos) << changes[0].reason;
  EXPECT_NE(changes[0].reason.find("timed out"), std::string::npos) << changes[0].reason;
}

// Heartbeats lost on the wire are never reported failed: the next beat judges them. A cut
// between two beats moves traffic within two heartbeat periods of the first beat lost.
TEST(PathMonitorTest, ACutIsLeftWithinTwoHeartbeatPeriods) {
  PathConfig config;
  config.heartbeat_interval = 200ms;
  config.heartbeat_timeout = 200ms;
  Harness h(2, config);
  h.round({kPrimary, kBackup});
  h.round({kPrimary, kBackup});
  const Time first_lost = h.now() + config.heartbeat_interval;
  for (int i = 0; i < 5 && h.monitor().best_path() == kPrimary; ++i) {
    for (const SendHeartbeat& hb : h.tick()) {
      if (hb.path == kBackup) h.feed(HeartbeatAnswered{hb.path, hb.id});
    }
  }
  EXPECT_EQ(h.monitor().best_path(), kBackup);
  EXPECT_LE(h.now() - first_lost, 2 * config.heartbeat_interval);
}

TEST(PathMonitorTest, OneMissAndOneFailedTransactionMoveTrafficToAnUpBackup) {
  Harness h(2);
  h.round({kPrimary, kBackup});
  h.round({kBackup});
  h.feed(TrafficFailed{kPrimary, "127.0.0.1:7001: connection reset"});
  EXPECT_EQ(h.state(kPrimary), PathState::kDown);
  EXPECT_EQ(h.monitor().best_path(), kBackup);
}

// Under load on a 200ms heartbeat, a receiver busy draining a backlog answered neither path in
// time: the early failover moved traffic back and forth and delayed a FLASH behind a backlog.
TEST(PathMonitorTest, APeerThatAnswersNoPathGetsTheFullThreeMisses) {
  Harness h(2);
  h.round({kPrimary, kBackup});
  h.round({});
  h.round({});
  EXPECT_EQ(h.state(kPrimary), PathState::kUp);
  EXPECT_EQ(h.monitor().best_path(), kPrimary);
  EXPECT_TRUE(h.changes().empty());
  h.round({});
  EXPECT_EQ(h.state(kPrimary), PathState::kDown);
}

// With nowhere better to go, a path is down only after misses_to_down: sooner would only
// raise the alert sooner.
TEST(PathMonitorTest, WithNoOtherPathUpTheCarryingPathIsDownAfterThreeMisses) {
  Harness h(2);
  h.round({kPrimary});  // the backup never answers: unknown, then down
  h.round({});
  h.round({});
  EXPECT_EQ(h.state(kPrimary), PathState::kUp);
  h.round({});
  EXPECT_EQ(h.state(kPrimary), PathState::kDown);
  EXPECT_EQ(h.monitor().paths()[kPrimary].consecutive_misses, 3);
}

// A backup carries no traffic: nothing is gained by marking it down sooner.
TEST(PathMonitorTest, ABackupIsDownOnlyAfterThreeMisses) {
  Harness h(2);
  h.round({kPrimary, kBackup});
  h.round({kPrimary});
  h.round({kPrimary});
  EXPECT_EQ(h.state(kBackup), PathState::kUp);
  h.round({kPrimary});
  EXPECT_EQ(h.state(kBackup), PathState::kDown);
}

TEST(PathMonitorTest, EachUpAndDownTransitionIsReported) {
  Harness h(1);
  std::vector<PathStateChanged> states;
  const auto collect = [&](const std::vector<PathAction>& out) {
    for (const PathStateChanged& s : all_of<PathStateChanged>(out)) states.push_back(s);
  };
  h.tick();
  collect(h.answer(kPrimary));
  for (int i = 0; i < 3; ++i) {
    h.tick();
    collect(h.fail(kPrimary, "connection refused"));
  }
  ASSERT_EQ(states.size(), 2u);
  EXPECT_EQ(states[0].from, PathState::kUnknown);
  EXPECT_EQ(states[0].to, PathState::kUp);
  EXPECT_EQ(states[1].from, PathState::kUp);
  EXPECT_EQ(states[1].to, PathState::kDown);
  EXPECT_NE(states[1].reason.find("connection refused"), std::string::npos) << states[1].reason;
}

TEST(PathMonitorTest, FirstAnswersSettlingTheOrderAtStartAreNoAlert) {
  Harness h(2);
  h.tick();
  h.answer(kBackup);  // the backup answers first: traffic goes there ...
  EXPECT_EQ(h.monitor().best_path(), kBackup);
  h.answer(kPrimary);  // ... and back as soon as the primary answers
  EXPECT_EQ(h.monitor().best_path(), kPrimary);
  const std::vector<PathChanged> changes = h.changes();
  ASSERT_EQ(changes.size(), 2u);
  EXPECT_FALSE(changes[0].alert);
  EXPECT_FALSE(changes[1].alert);
}

TEST(PathMonitorTest, FailoverAndFailbackAreAlerts) {
  Harness h(2);
  h.round({kPrimary, kBackup});
  for (int i = 0; i < 3; ++i) h.round({kBackup});
  for (int i = 0; i < 2; ++i) h.round({kPrimary, kBackup});
  const std::vector<PathChanged> changes = h.changes();
  ASSERT_EQ(changes.size(), 2u);
  EXPECT_EQ(changes[0].to, kBackup);
  EXPECT_TRUE(changes[0].alert);
  EXPECT_EQ(changes[1].to, kPrimary);
  EXPECT_TRUE(changes[1].alert);
  EXPECT_EQ(h.monitor().paths()[kPrimary].times_down, 1u);
}

TEST(PathMonitorTest, OneMissedHeartbeatDoesNotFailOver) {
  Harness h(2);
  h.round({kPrimary, kBackup});
  h.forget();
  for (int i = 0; i < 10; ++i) {
    h.round({kBackup});            // a miss ...
    h.round({kPrimary, kBackup});  // ... then an answer resets the count
  }
  h.round({kBackup});
  EXPECT_EQ(h.state(kPrimary), PathState::kUp);
  EXPECT_EQ(h.monitor().paths()[kPrimary].consecutive_misses, 1);
  EXPECT_EQ(h.monitor().best_path(), kPrimary);
  EXPECT_TRUE(h.changes().empty());
}

TEST(PathMonitorTest, FailbackWhenThePrimaryRecovers) {
  Harness h(2);
  h.round({kPrimary, kBackup});
  for (int i = 0; i < 3; ++i) h.round({kBackup});
  ASSERT_EQ(h.monitor().best_path(), kBackup);
  h.forget();

  // One answer is not enough to trust a path that was down ...
  h.round({kPrimary, kBackup});
  EXPECT_EQ(h.state(kPrimary), PathState::kDown);
  EXPECT_EQ(h.monitor().best_path(), kBackup);
  // ... two in a row are (PathConfig::answers_to_up).
  h.round({kPrimary, kBackup});
  EXPECT_EQ(h.state(kPrimary), PathState::kUp);
  EXPECT_EQ(h.monitor().best_path(), kPrimary);
  const std::vector<PathChanged> changes = h.changes();
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].from, kBackup);
  EXPECT_EQ(changes[0].to, kPrimary);
  EXPECT_NE(changes[0].reason.find("back to 10.0.0.1:7001"), std::string::npos)
      << changes[0].reason;
}

TEST(PathMonitorTest, FlappingPrimaryDoesNotWinTrafficBack) {
  Harness h(2);
  h.round({kPrimary, kBackup});
  for (int i = 0; i < 3; ++i) h.round({kBackup});
  ASSERT_EQ(h.monitor().best_path(), kBackup);
  for (int i = 0; i < 10; ++i) {
    h.round({kPrimary, kBackup});
    h.round({kBackup});
  }
  EXPECT_EQ(h.state(kPrimary), PathState::kDown);
  EXPECT_EQ(h.monitor().best_path(), kBackup);
}

TEST(PathMonitorTest, AllPathsDownStillTriesThePrimary) {
  Harness h(3);
  h.round({kPrimary, kBackup, kThird});
  for (int i = 0; i < 3; ++i) h.round({});
  for (PathIndex p : {kPrimary, kBackup, kThird}) EXPECT_EQ(h.state(p), PathState::kDown);
  EXPECT_EQ(h.monitor().best_path(), kPrimary);
  // Heartbeats keep going on every path, so a recovery is noticed.
  EXPECT_EQ(h.tick().size(), 3u);
}

TEST(PathMonitorTest, HeartbeatsContinueWhileEveryPathIsDown) {
  Harness h(2);
  for (int i = 0; i < 5; ++i) h.round({});
  EXPECT_EQ(h.state(kPrimary), PathState::kDown);
  EXPECT_EQ(h.state(kBackup), PathState::kDown);
  EXPECT_EQ(h.monitor().best_path(), kPrimary);
  EXPECT_EQ(h.tick().size(), 2u);
}

TEST(PathMonitorTest, UnknownBackupIsPreferredToADownPrimary) {
  Harness h(2);
  // The backup's heartbeats never report (e.g. still connecting): it stays unknown.
  for (int i = 0; i < 3; ++i) {
    for (const SendHeartbeat& hb : h.tick()) {
      if (hb.path == kPrimary) h.fail(kPrimary, "connection refused");
    }
  }
  EXPECT_EQ(h.state(kPrimary), PathState::kDown);
  EXPECT_EQ(h.state(kBackup), PathState::kUnknown);
  EXPECT_EQ(h.monitor().best_path(), kBackup);
}

TEST(PathMonitorTest, TrafficSuccessCountsAsContact) {
  Harness h(2);
  h.round({kPrimary, kBackup});
  h.round({kBackup});
  ASSERT_EQ(h.monitor().paths()[kPrimary].consecutive_misses, 1);
  h.advance(300ms);
  h.feed(TrafficAnswered{kPrimary});
  EXPECT_EQ(h.monitor().paths()[kPrimary].consecutive_misses, 0);
  EXPECT_EQ(h.monitor().paths()[kPrimary].last_contact, h.now());
  h.round({kBackup});
  EXPECT_EQ(h.state(kPrimary), PathState::kUp);
  EXPECT_EQ(h.monitor().best_path(), kPrimary);
}

TEST(PathMonitorTest, TrafficSuccessBringsAnUnknownPathUpBeforeAnyHeartbeat) {
  Harness h(2);
  h.feed(TrafficAnswered{kPrimary});
  EXPECT_EQ(h.state(kPrimary), PathState::kUp);
  EXPECT_EQ(h.state(kBackup), PathState::kUnknown);
}

TEST(PathMonitorTest, TrafficFailureCountsAsAMiss) {
  Harness h(1);
  h.round({kPrimary});
  h.round({});
  h.round({});
  h.feed(TrafficFailed{kPrimary, "127.0.0.1:7001: connection reset"});
  EXPECT_EQ(h.state(kPrimary), PathState::kDown);
  EXPECT_EQ(h.monitor().paths()[kPrimary].last_error, "127.0.0.1:7001: connection reset");
}

// Issue 10: a flooded peer server let heartbeats pass on their long-lived connection while no
// transaction got through, and the path stayed "up" with nobody alerted.
TEST(PathMonitorTest, TrafficFailingWhileHeartbeatsPassMarksThePathDown) {
  Harness h(2);
  h.round({kPrimary, kBackup});
  h.forget();
  for (int i = 0; i < 3; ++i) {
    h.round({kPrimary, kBackup});
    h.feed(TrafficFailed{kPrimary, "127.0.0.1:7001: timed out after 10000ms"});
  }
  EXPECT_EQ(h.state(kPrimary), PathState::kDown);
  EXPECT_EQ(h.monitor().best_path(), kBackup);
  const std::vector<PathStateChanged> downs = all_of<PathStateChanged>(h.all());
  ASSERT_EQ(downs.size(), 1u);
  EXPECT_EQ(downs[0].to, PathState::kDown);
  EXPECT_NE(downs[0].reason.find("3 transactions in a row"), std::string::npos) << downs[0].reason;
  ASSERT_EQ(h.changes().size(), 1u);
  EXPECT_TRUE(h.changes()[0].alert);
}

TEST(PathMonitorTest, FewerTrafficFailuresThanTheThresholdKeepThePathUp) {
  Harness h(2);
  h.round({kPrimary, kBackup});
  for (int i = 0; i < 2; ++i) {
    h.round({kPrimary, kBackup});
    h.feed(TrafficFailed{kPrimary, "timed out"});
  }
  h.feed(TrafficAnswered{kPrimary});  // an answer starts the count again
  h.feed(TrafficFailed{kPrimary, "timed out"});
  h.round({kPrimary, kBackup});
  EXPECT_EQ(h.state(kPrimary), PathState::kUp);
  EXPECT_EQ(h.monitor().best_path(), kPrimary);
}

TEST(PathMonitorTest, HeartbeatsAloneBringATrafficDownPathBackOnlyAfterTheRetryDelay) {
  Harness h(2);
  h.round({kPrimary, kBackup});
  for (int i = 0; i < 3; ++i) h.feed(TrafficFailed{kPrimary, "timed out"});
  ASSERT_EQ(h.state(kPrimary), PathState::kDown);
  for (int i = 0; i < 10; ++i) h.round({kPrimary, kBackup});  // 10 s of answered heartbeats
  EXPECT_EQ(h.state(kPrimary), PathState::kDown);
  EXPECT_EQ(h.monitor().best_path(), kBackup);
  h.advance(PathConfig{}.traffic_retry_after);
  h.round({kPrimary, kBackup});
  h.round({kPrimary, kBackup});
  EXPECT_EQ(h.state(kPrimary), PathState::kUp);
  EXPECT_EQ(h.monitor().best_path(), kPrimary);
  // On probation: the next transaction that fails marks it down again at once.
  h.feed(TrafficFailed{kPrimary, "timed out"});
  EXPECT_EQ(h.state(kPrimary), PathState::kDown);
}

TEST(PathMonitorTest, AnAnsweredTransactionBringsATrafficDownPathBack) {
  Harness h(1);
  h.round({kPrimary});
  for (int i = 0; i < 3; ++i) h.feed(TrafficFailed{kPrimary, "timed out"});
  ASSERT_EQ(h.state(kPrimary), PathState::kDown);
  EXPECT_EQ(h.monitor().best_path(), kPrimary);  // the only path still carries the retries
  h.feed(TrafficAnswered{kPrimary});
  h.round({kPrimary});
  EXPECT_EQ(h.state(kPrimary), PathState::kUp);
}

TEST(PathMonitorTest, BackupGoingDownIsReportedWithoutMovingTraffic) {
  Harness h(2);
  h.round({kPrimary, kBackup});
  h.forget();
  for (int i = 0; i < 3; ++i) h.round({kPrimary});
  EXPECT_EQ(h.state(kBackup), PathState::kDown);
  EXPECT_EQ(h.monitor().best_path(), kPrimary);
  EXPECT_TRUE(h.changes().empty());
}

TEST(PathMonitorTest, FailoverSkipsADownBackupToTheThirdPath) {
  Harness h(3);
  h.round({kPrimary, kBackup, kThird});
  for (int i = 0; i < 3; ++i) h.round({kThird});
  EXPECT_EQ(h.monitor().best_path(), kThird);
  // The backup recovers first: traffic moves to it (it is earlier than the third).
  h.round({kBackup, kThird});
  h.round({kBackup, kThird});
  EXPECT_EQ(h.monitor().best_path(), kBackup);
}

TEST(PathMonitorTest, ConfiguredThresholdsAreHonoured) {
  PathConfig config;
  config.misses_to_down = 1;
  config.answers_to_up = 1;
  Harness h(2, config);
  h.round({kPrimary, kBackup});
  h.round({kBackup});
  EXPECT_EQ(h.monitor().best_path(), kBackup);
  h.round({kPrimary, kBackup});
  EXPECT_EQ(h.monitor().best_path(), kPrimary);
}

TEST(PathMonitorTest, LastErrorIsKeptAfterRecovery) {
  Harness h(1);
  h.round({});
  h.round({kPrimary});
  EXPECT_EQ(h.state(kPrimary), PathState::kUp);
  EXPECT_EQ(h.monitor().paths()[kPrimary].last_error, "timed out after 1000ms");
}

TEST(PathMonitorTest, SinglePathNeverMovesTraffic) {
  Harness h(1);
  for (int i = 0; i < 5; ++i) h.round({});
  EXPECT_EQ(h.state(kPrimary), PathState::kDown);
  EXPECT_EQ(h.monitor().best_path(), kPrimary);
  EXPECT_TRUE(h.changes().empty());
}

TEST(PathMonitorTest, PathStateNamesAreTheApiWords) {
  EXPECT_EQ(path_state_name(PathState::kUp), "up");
  EXPECT_EQ(path_state_name(PathState::kDown), "down");
  EXPECT_EQ(path_state_name(PathState::kUnknown), "unknown");
}

}  // namespace
}  // namespace parley::core
