#include "parley/core/paths.h"

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
    return out;
  }

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
        feed(HeartbeatAnswered{hb.path});
      } else {
        feed(HeartbeatFailed{hb.path, "timed out after 1000ms"});
      }
    }
  }

  std::vector<PathChanged> changes() const { return all_of<PathChanged>(all_); }
  void forget() { all_.clear(); }

  PathMonitor& monitor() { return monitor_; }
  PathState state(PathIndex p) const { return monitor_.paths()[p].state; }
  Time now() const { return now_; }
  void advance(Duration d) { now_ += d; }

 private:
  PathMonitor monitor_;
  Time now_ = time_from_unix_ms(1'795'000'000'000);
  std::vector<PathAction> all_;
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
  for (PathIndex i = 0; i < 3; ++i) h.feed(HeartbeatAnswered{i});
  EXPECT_EQ(h.tick().size(), 3u);
  EXPECT_EQ(h.now(), start + 250ms);
}

TEST(PathMonitorTest, OutstandingHeartbeatIsNotDuplicated) {
  Harness h(2);
  ASSERT_EQ(h.tick().size(), 2u);
  h.feed(HeartbeatAnswered{kBackup});
  // The primary's heartbeat has no outcome yet: only the backup gets a new one.
  const std::vector<SendHeartbeat> sent = h.tick();
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].path, kBackup);
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

TEST(PathMonitorTest, FailoverAfterThreeMissedHeartbeats) {
  Harness h(2);
  h.round({kPrimary, kBackup});
  h.forget();
  h.round({kBackup});
  h.round({kBackup});
  EXPECT_EQ(h.state(kPrimary), PathState::kUp);
  EXPECT_EQ(h.monitor().best_path(), kPrimary);
  EXPECT_TRUE(h.changes().empty());

  h.round({kBackup});
  EXPECT_EQ(h.state(kPrimary), PathState::kDown);
  EXPECT_EQ(h.monitor().paths()[kPrimary].consecutive_misses, 3);
  EXPECT_EQ(h.monitor().paths()[kPrimary].last_error, "timed out after 1000ms");
  EXPECT_EQ(h.monitor().best_path(), kBackup);
  const std::vector<PathChanged> changes = h.changes();
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].from, kPrimary);
  EXPECT_EQ(changes[0].to, kBackup);
  EXPECT_NE(changes[0].reason.find("10.0.0.1:7001"), std::string::npos) << changes[0].reason;
  EXPECT_NE(changes[0].reason.find("10.0.0.2:7001"), std::string::npos) << changes[0].reason;
  EXPECT_NE(changes[0].reason.find("timed out"), std::string::npos) << changes[0].reason;
}

TEST(PathMonitorTest, EachUpAndDownTransitionIsReported) {
  Harness h(1);
  std::vector<PathStateChanged> states;
  const auto collect = [&](const std::vector<PathAction>& out) {
    for (const PathStateChanged& s : all_of<PathStateChanged>(out)) states.push_back(s);
  };
  h.tick();
  collect(h.feed(HeartbeatAnswered{kPrimary}));
  for (int i = 0; i < 3; ++i) {
    h.tick();
    collect(h.feed(HeartbeatFailed{kPrimary, "connection refused"}));
  }
  ASSERT_EQ(states.size(), 2u);
  EXPECT_EQ(states[0].from, PathState::kUnknown);
  EXPECT_EQ(states[0].to, PathState::kUp);
  EXPECT_EQ(states[1].from, PathState::kUp);
  EXPECT_EQ(states[1].to, PathState::kDown);
  EXPECT_NE(states[1].reason.find("connection refused"), std::string::npos) << states[1].reason;
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
  h.round({kBackup});
  EXPECT_EQ(h.state(kPrimary), PathState::kUp);
  EXPECT_EQ(h.monitor().paths()[kPrimary].consecutive_misses, 2);
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
      if (hb.path == kPrimary) h.feed(HeartbeatFailed{kPrimary, "connection refused"});
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
  h.round({kBackup});
  ASSERT_EQ(h.monitor().paths()[kPrimary].consecutive_misses, 2);
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
  Harness h(2);
  h.round({kPrimary, kBackup});
  h.round({kBackup});
  h.round({kBackup});
  h.feed(TrafficFailed{kPrimary, "127.0.0.1:7001: connection reset"});
  EXPECT_EQ(h.state(kPrimary), PathState::kDown);
  EXPECT_EQ(h.monitor().paths()[kPrimary].last_error, "127.0.0.1:7001: connection reset");
  EXPECT_EQ(h.monitor().best_path(), kBackup);
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
