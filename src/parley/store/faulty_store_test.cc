// FaultyStore over a MemoryStore: what each fault does to the N-th write and to the calls
// after it, what counts as a write, and the every-write loop the simulator will run (count
// a scenario's N writes, then crash or fail at each k in 1..N).
#include "parley/store/faulty_store.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "parley/store/memory/memory_store.h"
#include "parley/store/store_test_util.h"

namespace parley::store {
namespace {

using core::Direction;
using core::MessageState;
using core::PutMessage;
using core::Record;
using test::at;
using test::line;
using test::message;
using test::principal;

Record put(const std::string& id, std::uint64_t seq) {
  return PutMessage{message(id, "l", seq, Direction::kOutbound, at(0))};
}

class FaultyStoreTest : public ::testing::Test {
 protected:
  bool stored(Store& store, const std::string& id) {
    Result<std::optional<core::MessageRecord>> m = store.get_message(id);
    EXPECT_TRUE(m.is_ok()) << m.status().to_string();
    return m.is_ok() && m->has_value();
  }
  // What the disk holds, read by a new store as after a restart.
  bool on_disk(const std::string& id) {
    MemoryStore reopened(disk_);
    return stored(reopened, id);
  }

  std::shared_ptr<MemoryStore::Disk> disk_ = MemoryStore::new_disk();
  FaultyStore store_{std::make_unique<MemoryStore>(disk_)};
};

TEST_F(FaultyStoreTest, EveryApplyGroupAndConfigPutIsAWriteAndNoReadIs) {
  const std::vector<Record> batch{put("m-2", 2)};
  ASSERT_TRUE(store_.apply({}).is_ok());                           // 1: empty, a write all the same
  ASSERT_TRUE(store_.apply({put("m-1", 1)}).is_ok());              // 2
  ASSERT_TRUE(store_.apply_group({&batch}).is_ok());               // 3
  ASSERT_TRUE(store_.put_line(line("l", "ru-genstaff")).is_ok());  // 4
  ASSERT_TRUE(store_.put_peer({test::bundle("ru-genstaff", 1, "127.0.0.1:1")}).is_ok());      // 5
  ASSERT_TRUE(store_.put_principal(principal("saceur", "SACEUR", "commander", {})).is_ok());  // 6
  EXPECT_EQ(store_.apply({put("m-1", 9)}).code(), StatusCode::kAlreadyExists);  // 7: refused
  EXPECT_EQ(store_.writes(), 7U);

  EXPECT_TRUE(store_.get_message("m-1").is_ok());
  EXPECT_TRUE(store_.list_messages({}).is_ok());
  EXPECT_TRUE(store_.recover("ru-genstaff").is_ok());
  EXPECT_TRUE(store_.inclusion("m-1").is_ok());
  EXPECT_TRUE(store_.log_entries("us-eucom", "ru-genstaff", 0, 10).is_ok());
  EXPECT_TRUE(store_.heads("us-eucom", "ru-genstaff").is_ok());
  EXPECT_TRUE(store_.evidence().is_ok());
  EXPECT_TRUE(store_.peers().is_ok());
  EXPECT_TRUE(store_.principals().is_ok());
  EXPECT_TRUE(store_.principal_by_token_hash(Bytes(32, 1)).is_ok());
  EXPECT_TRUE(store_.lines().is_ok());
  EXPECT_EQ(store_.writes(), 7U);
  EXPECT_FALSE(store_.crashed());
}

TEST_F(FaultyStoreTest, TransientFaultFailsThatWriteAloneAndAppliesNothingOfIt) {
  store_.inject(2, Fault::kTransient);
  ASSERT_TRUE(store_.apply({put("m-1", 1)}).is_ok());
  const Status failed = store_.apply({put("m-2", 2), put("m-3", 3)});
  EXPECT_EQ(failed.code(), StatusCode::kUnavailable) << failed.to_string();
  EXPECT_NE(failed.message().find("store write 2"), std::string::npos) << failed.message();
  EXPECT_FALSE(stored(store_, "m-2"));
  EXPECT_FALSE(stored(store_, "m-3"));
  // The retry is write 3, and passes.
  EXPECT_TRUE(store_.apply({put("m-2", 2), put("m-3", 3)}).is_ok());
  EXPECT_TRUE(store_.put_line(line("l", "ru-genstaff")).is_ok());
  EXPECT_TRUE(on_disk("m-3"));
  EXPECT_EQ(store_.writes(), 4U);
}

TEST_F(FaultyStoreTest, TransientFaultAtAGroupCommitFailsTheWholeGroup) {
  store_.inject(1, Fault::kTransient);
  const std::vector<Record> a{put("m-1", 1)};
  const std::vector<Record> b{put("m-2", 2)};
  Result<std::vector<Status>> outcome = store_.apply_group({&a, &b});
  ASSERT_FALSE(outcome.is_ok());
  EXPECT_EQ(outcome.status().code(), StatusCode::kUnavailable);
  EXPECT_FALSE(on_disk("m-1"));
  EXPECT_FALSE(on_disk("m-2"));
  outcome = store_.apply_group({&a, &b});
  ASSERT_TRUE(outcome.is_ok()) << outcome.status().to_string();
  EXPECT_TRUE(on_disk("m-1"));
  EXPECT_TRUE(on_disk("m-2"));
}

TEST_F(FaultyStoreTest, PersistentFaultFailsThatWriteAndEveryLaterOneButReadsStillWork) {
  store_.inject(2, Fault::kPersistent);
  ASSERT_TRUE(store_.apply({put("m-1", 1)}).is_ok());
  EXPECT_EQ(store_.apply({put("m-2", 2)}).code(), StatusCode::kUnavailable);
  EXPECT_EQ(store_.apply({put("m-3", 3)}).code(), StatusCode::kUnavailable);
  EXPECT_EQ(store_.put_line(line("l", "ru-genstaff")).code(), StatusCode::kUnavailable);
  const std::vector<Record> batch{put("m-4", 4)};
  EXPECT_EQ(store_.apply_group({&batch}).status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(store_.writes(), 5U);
  EXPECT_FALSE(store_.crashed());
  EXPECT_TRUE(stored(store_, "m-1"));
  EXPECT_FALSE(stored(store_, "m-2"));
  EXPECT_FALSE(stored(store_, "m-4"));
  EXPECT_TRUE(store_.lines()->empty());
}

TEST_F(FaultyStoreTest, CrashLosesThatWriteAndFailsEveryLaterCallUntilReopened) {
  store_.inject(3, Fault::kCrash);
  ASSERT_TRUE(store_.apply({put("m-1", 1)}).is_ok());
  ASSERT_TRUE(store_.put_line(line("l", "ru-genstaff")).is_ok());
  const Status crashed = store_.apply({put("m-2", 2)});
  EXPECT_EQ(crashed.code(), StatusCode::kUnavailable);
  EXPECT_NE(crashed.message().find("crashed"), std::string::npos) << crashed.message();
  EXPECT_TRUE(store_.crashed());
  EXPECT_EQ(disk_.use_count(), 1) << "the crash drops the inner store, as the process dies";
  EXPECT_EQ(store_.get_message("m-1").status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(store_.recover("ru-genstaff").status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(store_.lines().status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(store_.apply({put("m-3", 3)}).code(), StatusCode::kUnavailable);
  EXPECT_EQ(store_.writes(), 3U);  // nothing is counted after the crash
  // The restart sees the writes before the crash, and not the one it interrupted.
  EXPECT_TRUE(on_disk("m-1"));
  EXPECT_FALSE(on_disk("m-2"));
  MemoryStore reopened(disk_);
  EXPECT_EQ(reopened.lines()->size(), 1U);
}

TEST_F(FaultyStoreTest, CrashAfterAWriteKeepsItDurableButTheCallerIsToldItFailed) {
  store_.inject(2, Fault::kCrashAfter);
  ASSERT_TRUE(store_.apply({put("m-1", 1)}).is_ok());
  EXPECT_EQ(store_.apply({put("m-2", 2)}).code(), StatusCode::kUnavailable);
  EXPECT_TRUE(store_.crashed());
  EXPECT_EQ(store_.get_message("m-2").status().code(), StatusCode::kUnavailable);
  EXPECT_TRUE(on_disk("m-2"));
}

// ---- the every-write loop ----

// A gateway's life in six writes; each step one write. run() stops at the first failure
// (retrying once if `retry`) and returns how many steps succeeded.
class Scenario {
 public:
  std::size_t run(Store& store, bool retry) const {
    for (std::size_t i = 0; i < steps_.size(); ++i) {
      if (steps_[i](store).is_ok()) continue;
      if (!retry || !steps_[i](store).is_ok()) return i;
    }
    return steps_.size();
  }
  std::size_t size() const { return steps_.size(); }

 private:
  static Status group(Store& store) {
    const std::vector<Record> a{put("m-2", 2)};
    const std::vector<Record> b{put("m-3", 3)};
    return store.apply_group({&a, &b}).status();
  }
  static Status sent(Store& store) {
    core::UpdateMessage update;
    update.id = "m-1";
    update.state = MessageState::kSent;
    return store.apply({update});
  }
  std::vector<std::function<Status(Store&)>> steps_{
      [](Store& s) { return s.put_line(line("l", "ru-genstaff")); },
      [](Store& s) { return s.apply({put("m-1", 1)}); },
      group,
      sent,
      [](Store& s) { return s.put_principal(principal("saceur", "SACEUR", "commander", {})); },
      [](Store& s) { return s.apply({put("m-4", 4)}); },
  };
};

// Everything a restarted gateway would read of `disk`, as one string.
std::string contents(const std::shared_ptr<MemoryStore::Disk>& disk) {
  MemoryStore store(disk);
  std::string out;
  Result<std::vector<core::MessageRecord>> messages = store.list_messages({});
  EXPECT_TRUE(messages.is_ok()) << messages.status().to_string();
  if (!messages.is_ok()) return out;
  for (const auto& m : *messages) out += m.id + ":" + std::string(core::state_name(m.state)) + " ";
  const Result<std::vector<core::Line>> lines = store.lines();
  const Result<std::vector<core::Principal>> principals = store.principals();
  EXPECT_TRUE(lines.is_ok() && principals.is_ok());
  if (!lines.is_ok() || !principals.is_ok()) return out;
  for (const auto& l : *lines) out += "line:" + l.id + " ";
  for (const auto& p : *principals) out += "principal:" + p.id + " ";
  return out;
}

// The disk after the first `steps` writes of the scenario, and no fault.
std::string contents_after(const Scenario& scenario, std::size_t steps) {
  auto disk = MemoryStore::new_disk();
  FaultyStore store(std::make_unique<MemoryStore>(disk));
  if (steps < scenario.size()) store.inject(steps + 1, Fault::kPersistent);
  scenario.run(store, /*retry=*/false);
  return contents(disk);
}

TEST(FaultyStoreLoopTest, CrashOrFailureAtEveryWriteLeavesExactlyTheWritesBeforeIt) {
  const Scenario scenario;
  std::uint64_t n = 0;
  {
    auto disk = MemoryStore::new_disk();
    FaultyStore counting(std::make_unique<MemoryStore>(disk));
    ASSERT_EQ(scenario.run(counting, /*retry=*/false), scenario.size());
    n = counting.writes();
  }
  ASSERT_EQ(n, scenario.size());
  const std::string all = contents_after(scenario, n);
  for (std::uint64_t k = 1; k <= n; ++k) {
    SCOPED_TRACE("fault at write " + std::to_string(k) + " of " + std::to_string(n));
    const std::string before = contents_after(scenario, k - 1);
    const std::string through = contents_after(scenario, k);
    ASSERT_NE(before, through) << "write " << k << " changes nothing: the test cannot see it";

    auto crash_disk = MemoryStore::new_disk();
    FaultyStore crashing(std::make_unique<MemoryStore>(crash_disk));
    crashing.inject(k, Fault::kCrash);
    EXPECT_EQ(scenario.run(crashing, /*retry=*/true), k - 1);
    EXPECT_EQ(contents(crash_disk), before);

    auto after_disk = MemoryStore::new_disk();
    FaultyStore crashing_after(std::make_unique<MemoryStore>(after_disk));
    crashing_after.inject(k, Fault::kCrashAfter);
    EXPECT_EQ(scenario.run(crashing_after, /*retry=*/true), k - 1);
    EXPECT_EQ(contents(after_disk), through);

    // A transient failure retried loses nothing.
    auto retry_disk = MemoryStore::new_disk();
    FaultyStore failing(std::make_unique<MemoryStore>(retry_disk));
    failing.inject(k, Fault::kTransient);
    EXPECT_EQ(scenario.run(failing, /*retry=*/true), n);
    EXPECT_EQ(contents(retry_disk), all);
  }
}

}  // namespace
}  // namespace parley::store
