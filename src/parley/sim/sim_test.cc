#include "parley/sim/sim.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace parley::sim {
namespace {

std::uint64_t seed_from_env() {
  const char* env = std::getenv("PARLEY_SEED");
  return env != nullptr ? std::strtoull(env, nullptr, 10) : std::random_device()();
}

// 1,000 seeds; under ASan+UBSan 60 unless PARLEY_SIM_SEEDS says: the sanitized build is
// about six times slower, and the GCC build of the same test (scripts/test's first tree) runs
// the 1,000.
std::uint64_t seeds_from_env() {
  const char* env = std::getenv("PARLEY_SIM_SEEDS");
  const std::uint64_t n = env != nullptr ? std::strtoull(env, nullptr, 10) : 0;
#if defined(PARLEY_SANITIZED)
  constexpr std::uint64_t kDefault = 60;
#else
  constexpr std::uint64_t kDefault = 1000;
#endif
  return n > 0 ? n : kDefault;
}

std::string describe(const Outcome& outcome) {
  std::string text;
  for (const std::string& v : outcome.violations) text += "\n  " + v;
  return text;
}

Scenario with_fault(ScriptedFault::Kind kind, const std::string& party, int nth) {
  Scenario s = Scenario::calm();
  s.faults.scripted.push_back({kind, party, nth});
  return s;
}

TEST(SimulationTest, ThousandSeedsKeepEveryInvariant) {
  report_seed_on_abort();
  const std::uint64_t first = seed_from_env();
  const std::uint64_t count = seeds_from_env();
  std::printf("seeds %llu .. %llu (set PARLEY_SEED to choose, PARLEY_SIM_SEEDS for how many)\n",
              static_cast<unsigned long long>(first),
              static_cast<unsigned long long>(first + count - 1));
  const Scenario scenario = Scenario::standard();
  // Seeds are independent: two threads (the CI machine has two cores) take them in turn.
  std::vector<Outcome> outcomes(count);
  std::atomic<std::uint64_t> next{0};
  const auto work = [&] {
    for (std::uint64_t k = next++; k < count; k = next++) outcomes[k] = run(scenario, first + k);
  };
  const auto began = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  const unsigned workers = std::clamp(std::thread::hardware_concurrency(), 1u, 2u);
  for (unsigned i = 1; i < workers; ++i) threads.emplace_back(work);
  work();
  for (std::thread& t : threads) t.join();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();

  std::uint64_t accepted = 0;
  std::uint64_t crashes = 0;
  std::uint64_t path_changes = 0;
  std::uint64_t commits_lost = 0;
  std::uint64_t transcripts = 0;
  std::uint64_t cancels_asked = 0;
  std::uint64_t cancelled = 0;
  std::uint64_t rotations = 0;
  std::uint64_t rotations_pinned = 0;
  int failures = 0;
  for (const Outcome& outcome : outcomes) {
    accepted += outcome.stats.accepted;
    crashes += outcome.stats.crashes;
    path_changes += outcome.stats.path_changes;
    commits_lost += outcome.stats.commits_lost;
    transcripts += outcome.stats.transcripts_verified;
    cancels_asked += outcome.stats.cancels_asked;
    cancelled += outcome.stats.cancelled;
    rotations += outcome.stats.rotations;
    rotations_pinned += outcome.stats.rotations_pinned;
    if (!outcome.ok() && ++failures <= 10) {
      ADD_FAILURE() << "seed " << outcome.seed << ": " << outcome.violation()
                    << "\nreproduce: " << reproduce_command(outcome.seed) << describe(outcome);
    }
  }
  // The failed seeds again, just before the totals: a log cut to its first and last lines (CI's)
  // still names them, and each reproduces alone.
  for (const Outcome& outcome : outcomes) {
    if (!outcome.ok()) std::printf("failed: %s\n", reproduce_command(outcome.seed).c_str());
  }
  std::printf(
      "%llu seeds, %llu messages and acks accepted, %llu crashes, %llu path changes, %llu "
      "commits lost, %llu transcripts verified, %llu key rotations (%llu pinned by a peer), "
      "%llu cancels granted of %llu asked, %.1f seeds/s, %d failed\n",
      static_cast<unsigned long long>(count), static_cast<unsigned long long>(accepted),
      static_cast<unsigned long long>(crashes), static_cast<unsigned long long>(path_changes),
      static_cast<unsigned long long>(commits_lost), static_cast<unsigned long long>(transcripts),
      static_cast<unsigned long long>(rotations), static_cast<unsigned long long>(rotations_pinned),
      static_cast<unsigned long long>(cancelled), static_cast<unsigned long long>(cancels_asked),
      seconds > 0 ? static_cast<double>(count) / seconds : 0.0, failures);
  // The faults really happened: a run without them would prove little.
  EXPECT_GT(crashes, count / 4);
  EXPECT_GT(path_changes, count / 4);  // traffic moved between a peer's two paths
  EXPECT_GT(commits_lost, 0u);         // a crash or power loss caught a commit unsynced
  EXPECT_GE(transcripts, 2 * count);   // every party's transcript was exported and verified
  // Principals cancelled messages: some before they left (granted), some after (refused). About
  // 40 cancels in 1,000 seeds are granted, so the sanitized tree's 60 seeds see none in about
  // one run in ten (7 runs of 80 at random seeds did): only a run of 200 seeds or more (the
  // GCC tree's 1,000) must see one.
  if (count >= 200) {
    EXPECT_GT(cancelled, 0u);
  }
  EXPECT_GT(cancels_asked, cancelled);
  // Issue 17: a seed in four rotates keys (1 to 3 rotations), each pinned by every peer.
  EXPECT_GT(rotations, count / 8);
  EXPECT_GE(rotations_pinned, rotations);
}

TEST(SimulationTest, SameSeedRunsTheSameWay) {
  const Outcome a = run(Scenario::standard(), 7);
  const Outcome b = run(Scenario::standard(), 7);
  const Outcome c = run(Scenario::standard(), 8);
  EXPECT_EQ(a.trace_digest, b.trace_digest);
  EXPECT_EQ(a.stats.steps, b.stats.steps);
  EXPECT_EQ(a.stats.accepted_ids, b.stats.accepted_ids);
  EXPECT_NE(a.trace_digest, c.trace_digest);
}

TEST(SimulationTest, CalmRunDeliversAndReceiptsEveryMessageOnce) {
  const Outcome outcome = run(Scenario::calm(), 1);
  ASSERT_TRUE(outcome.ok()) << describe(outcome);
  EXPECT_EQ(outcome.stats.crashes, 0u);
  EXPECT_GT(outcome.stats.accepted, 10u);
  EXPECT_GT(outcome.stats.acks_accepted, 0u);
  EXPECT_GT(outcome.stats.overdue, 0u);  // some principals answer after the deadline
  EXPECT_GT(outcome.stats.escalation_alerts, outcome.stats.overdue);  // both sides escalate
  const std::set<std::string> cancelled(outcome.stats.cancelled_ids.begin(),
                                        outcome.stats.cancelled_ids.end());
  for (const std::string& id : outcome.stats.accepted_ids) {
    const auto it = outcome.stats.receipts_signed.find(id);
    if (cancelled.count(id) > 0) {
      EXPECT_TRUE(it == outcome.stats.receipts_signed.end()) << "cancelled, yet receipted: " << id;
      continue;
    }
    EXPECT_TRUE(it != outcome.stats.receipts_signed.end() && it->second == 1) << id;
  }
}

// A crash between the write of a batch and its Persisted, at each of the first writes of
// either gateway: whatever was durable is delivered, nothing twice.
TEST(SimulationTest, CrashAfterApplyBeforePersistedLosesNothing) {
  for (const char* party : {"us-eucom", "ru-genstaff"}) {
    for (int nth = 1; nth <= 12; ++nth) {
      const Outcome outcome = run(with_fault(ScriptedFault::Kind::kCrashAfterApply, party, nth), 3);
      EXPECT_EQ(outcome.stats.crashes, 1u) << party << " write " << nth;
      EXPECT_TRUE(outcome.ok()) << party << " write " << nth << describe(outcome);
    }
  }
}

TEST(SimulationTest, CrashBeforeApplyOrFailedWriteLosesNothingAccepted) {
  for (const auto kind :
       {ScriptedFault::Kind::kCrashBeforeApply, ScriptedFault::Kind::kApplyFails}) {
    for (const char* party : {"us-eucom", "ru-genstaff"}) {
      for (int nth = 1; nth <= 8; ++nth) {
        const Outcome outcome = run(with_fault(kind, party, nth), 4);
        EXPECT_EQ(outcome.stats.crashes, 1u) << party << " write " << nth;
        EXPECT_TRUE(outcome.ok()) << party << " write " << nth << describe(outcome);
      }
    }
  }
}

TEST(SimulationTest, DroppedResponseLeadsToAResendThatIsReceiptedOnce) {
  const Outcome outcome = run(with_fault(ScriptedFault::Kind::kDropResponse, "ru-genstaff", 1), 5);
  ASSERT_TRUE(outcome.ok()) << describe(outcome);
  EXPECT_EQ(outcome.stats.dropped, 1u);
  int resent = 0;
  for (const auto& [id, receipts] : outcome.stats.receipts_signed) {
    if (receipts >= 2) ++resent;  // the receiver answered the resend with a receipt again
  }
  EXPECT_GT(resent, 0);
  for (const auto& [id, notices] : outcome.stats.delivered_notices) {
    EXPECT_EQ(notices, 1) << id;  // ... and the sender recorded the delivery once
  }
}

TEST(SimulationTest, DuplicatedTransactionIsStoredOnce) {
  const Outcome outcome = run(with_fault(ScriptedFault::Kind::kDuplicateRequest, "us-eucom", 1), 6);
  ASSERT_TRUE(outcome.ok()) << describe(outcome);
  EXPECT_EQ(outcome.stats.duplicated, 1u);
}

// The every-write loop (issue 11): the reference scenario is run once to count its N store
// writes (commits, of both gateways), then, for every k in 1..N, with a crash as write k
// reaches the disk, with a crash once write k is durable, and with write k failing. Every run
// must keep every invariant: nothing accepted lost, nothing stored twice, no receipt, ack or
// acceptance before (or without) its write.
TEST(SimulationTest, EveryWriteOfTheReferenceScenarioCrashedOrFailedLosesNothing) {
  const Scenario reference = Scenario::reference();
  const Outcome clean = run(reference, 1);
  ASSERT_TRUE(clean.ok()) << describe(clean);
  EXPECT_EQ(clean.stats.accepted, 2 * reference.submissions.size());  // each message, its ack
  EXPECT_EQ(clean.stats.crashes, 0u);
  const std::uint64_t n = clean.stats.commits;
  ASSERT_GT(n, 10u);
  int runs = 0;
  for (const auto kind :
       {WriteFault::Kind::kCrashBefore, WriteFault::Kind::kCrashAfter, WriteFault::Kind::kFail}) {
    for (std::uint64_t k = 1; k <= n; ++k) {
      Scenario s = reference;
      s.write_fault = {kind, k};
      const Outcome outcome = run(s, 1);
      ++runs;
      EXPECT_EQ(outcome.stats.crashes, 1u) << "write " << k;
      EXPECT_TRUE(outcome.ok()) << "write " << k << " fault " << static_cast<int>(kind)
                                << describe(outcome);
    }
  }
  std::printf("every-write loop: N = %llu writes, %d runs, each ok\n",
              static_cast<unsigned long long>(n), runs);
}

// Clock jumps alone, often, forward (up to minutes: deadlines pass at once) and back.
TEST(SimulationTest, ClockJumpsKeepEveryInvariant) {
  const Scenario s = Scenario::clock_jumps();
  const char* env = std::getenv("PARLEY_SIM_JUMP_SEEDS");
  const std::uint64_t count = env != nullptr ? std::strtoull(env, nullptr, 10) : 20;
  for (std::uint64_t seed = 1; seed <= count; ++seed) {
    const Outcome outcome = run(s, seed);
    EXPECT_GT(outcome.stats.clock_jumps, 0u);
    EXPECT_TRUE(outcome.ok()) << "reproduce: " << reproduce_command(seed, s) << describe(outcome);
  }
}

TEST(SimulationTest, ThreePartiesKeepEveryInvariant) {
  Scenario s = Scenario::standard();
  s.three_party_every = 0;
  s.parties = 3;
  for (std::uint64_t seed = 100; seed < 110; ++seed) {
    const Outcome outcome = run(s, seed);
    EXPECT_EQ(outcome.parties, 3);
    EXPECT_TRUE(outcome.ok()) << "seed " << seed << describe(outcome);
  }
}

// Issue 14: 57 parties (a hub and a ring, 168 lines) under the standard faults, with the
// hub's broadcasts to its 56 lines: every invariant holds (nothing lost or delivered twice,
// transcripts verify, ...), and each broadcast is stored by its sender all or none.
// PARLEY_SIM_MANY_SEEDS seeds (default 2: about 30 s of CPU each at -Og), and more, up to
// kMaxSeeds in all, until one of them stored a broadcast: under the faults a seed's three
// broadcasts may all be refused (all or none, as they must), and two seeds in a row did so
// once in CI. Skipped under ASan+UBSan (about 15x slower): the GCC tree of scripts/test runs it.
TEST(SimulationTest, FiftySevenPartiesKeepEveryInvariant) {
#if defined(PARLEY_SANITIZED)
  GTEST_SKIP() << "57 parties: run in the GCC tree (preset gcc), too slow under sanitizers";
#endif
  const Scenario s = Scenario::many_parties();
  std::uint64_t seeds = 2;
  if (const char* env = std::getenv("PARLEY_SIM_MANY_SEEDS"))
    seeds = std::strtoull(env, nullptr, 10);
  const std::uint64_t first = seed_from_env();
  constexpr std::uint64_t kMaxSeeds = 8;
  std::uint64_t broadcast_messages = 0;
  for (std::uint64_t seed = first;
       seed < first + seeds || (broadcast_messages == 0 && seed < first + kMaxSeeds); ++seed) {
    const Outcome outcome = run(s, seed);
    EXPECT_EQ(outcome.parties, 57);
    EXPECT_TRUE(outcome.ok()) << "seed " << seed << describe(outcome)
                              << "\nreproduce: " << reproduce_command(seed, s);
    EXPECT_EQ(outcome.stats.transcripts_verified, 2u * 168u) << "seed " << seed;
    EXPECT_EQ(outcome.stats.broadcasts, 3u) << "seed " << seed;
    EXPECT_GT(outcome.stats.rotations, 0u) << "seed " << seed;  // every seed rotates
    EXPECT_GE(outcome.stats.rotations_pinned, outcome.stats.rotations) << "seed " << seed;
    broadcast_messages += outcome.stats.broadcast_messages;
    std::printf(
        "seed %llu: %llu submitted, %llu received, %llu crashes, %llu broadcast messages, %llu "
        "key rotations\n",
        static_cast<unsigned long long>(seed),
        static_cast<unsigned long long>(outcome.stats.submitted),
        static_cast<unsigned long long>(outcome.stats.received),
        static_cast<unsigned long long>(outcome.stats.crashes),
        static_cast<unsigned long long>(outcome.stats.broadcast_messages),
        static_cast<unsigned long long>(outcome.stats.rotations));
  }
  EXPECT_GT(broadcast_messages, 0u)
      << "no broadcast reached the store in " << kMaxSeeds << " seeds from " << first;
}

// A line configured on us-eucom only: ru-genstaff refuses each message on it alone, under
// every fault; the sender ends each one refused (not lost, not escalated) and the other
// lines keep delivering (every invariant of the standard scenario still holds).
TEST(SimulationTest, OneSidedLineIsRefusedMessageByMessageUnderFaults) {
  const Scenario s = Scenario::refusals();
  std::uint64_t refused = 0;
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    const Outcome outcome = run(s, seed);
    refused += outcome.stats.refused;
    EXPECT_TRUE(outcome.ok()) << "reproduce: " << reproduce_command(seed, s) << describe(outcome);
  }
  EXPECT_GT(refused, 20u);
}

// Issue 15, the window and the FLASH lane: a flood each way (60 ROUTINE in 60 ms, a FLASH in
// the middle, another after) under the standard faults. Every invariant holds, among them
// flash-behind-routine: each FLASH is stored by its receiver before every ROUTINE message its
// sender accepted after it on the line.
TEST(SimulationTest, FloodKeepsEveryFlashAheadOfLaterRoutine) {
  const Scenario s = Scenario::flood();
  std::uint64_t accepted = 0;
  for (std::uint64_t seed = 1; seed <= 10; ++seed) {
    const Outcome outcome = run(s, seed);
    accepted += outcome.stats.accepted;
    EXPECT_TRUE(outcome.ok()) << "reproduce: " << reproduce_command(seed, s) << describe(outcome);
  }
  EXPECT_GT(accepted, 10u * 100u);
}

// Issue 12, the line test: every line sends its automatic test every 15 s; each is answered
// by the peer's gateway within its 10 s deadline while the link is up (line-test-late), every
// one is answered in the end (line-test-unanswered), no principal's ack of one is accepted
// (test-acked-by-principal: the workload's principals consider every message they receive;
// they find a test acknowledged already, or are refused), and the line to an unpinned party
// carries nothing (sent-without-peer). The scripted partition leaves tests unanswered
// past their deadline: they alert like any message (the escalation invariants).
// The tests go on for ever, so the run ends in a pause between two of them: what keeps a run
// going is work (a message in flight, a deadline the node watches), not the test schedule, a
// superseded timer or an invariant's look (all background); and after the active phase the
// principals no longer try to acknowledge tests.
TEST(SimulationTest, LineTestsAreAnsweredByTheGatewaysOnTime) {
  const Scenario s = Scenario::line_tests();
  for (std::uint64_t seed = 1; seed <= 10; ++seed) {
    const Outcome outcome = run(s, seed);
    EXPECT_TRUE(outcome.ok()) << "reproduce: " << reproduce_command(seed, s) << describe(outcome);
    // 3 minutes of activity, one line, a test from each side every 15 s (fewer while the
    // partition holds one unanswered).
    EXPECT_GT(outcome.stats.tests_sent, 10u) << "seed " << seed;
    EXPECT_EQ(outcome.stats.tests_answered, outcome.stats.tests_sent) << "seed " << seed;
    EXPECT_GT(outcome.stats.escalation_alerts, 0u) << "seed " << seed;
  }
}

}  // namespace
}  // namespace parley::sim

namespace parley::sim {
namespace {

// Issue 13: meetings under faults. A quarter of the submissions are meeting steps taken on
// each side's own lagging view; at the end both sides' books of every line agree
// (meetings-diverge), and the runs really held meetings, not only proposals.
TEST(SimulationTest, MeetingsEndInTheSameStateOnBothSidesUnderFaults) {
  const Scenario s = Scenario::standard();
  std::uint64_t steps = 0;
  std::uint64_t meetings = 0;
  for (std::uint64_t seed = 1; seed <= 30; ++seed) {
    const Outcome outcome = run(s, seed);
    steps += outcome.stats.meeting_steps;
    meetings += outcome.stats.meetings;
    EXPECT_TRUE(outcome.ok()) << "reproduce: " << reproduce_command(seed, s) << describe(outcome);
  }
  // A floor on volume, not an invariant: issue 12's evidence and stage entries add traffic
  // under the same fault dice (seeds 1-30 then took exactly 100 steps), and since issue 16's
  // random cancels (8 % of submissions, meeting steps among them) 94; since issue 17's log
  // request at each (re)start, which draws from the same dice, 89.
  EXPECT_GE(steps, 85u);
  EXPECT_GT(meetings, 30u);
}

}  // namespace
}  // namespace parley::sim

namespace parley::sim {
namespace {

// Issue 17, key rotations: in every seed 1 to 3 rotations, of random parties (one may rotate
// twice), at random moments of the active phase under the standard faults; each is the
// operator's stop, a statement signed by the key in force, and a start. Every invariant holds
// (messages after a rotation are delivered, their receipts and transcripts verify along the
// chain, no fork alarm), and every peer pins each rotation once, in order
// (rotation-unpinned, rotation-order, rotation-not-appended).
TEST(SimulationTest, KeyRotationsArePinnedByEveryPeerUnderFaults) {
  const Scenario s = Scenario::rotations();
#if defined(PARLEY_SANITIZED)
  constexpr std::uint64_t kSeeds = 4;  // about 15x slower: the GCC tree runs the 20
#else
  constexpr std::uint64_t kSeeds = 20;
#endif
  std::uint64_t rotations = 0;
  std::uint64_t pinned = 0;
  bool twice = false;
  for (std::uint64_t seed = 1; seed <= kSeeds; ++seed) {
    const Outcome outcome = run(s, seed);
    rotations += outcome.stats.rotations;
    pinned += outcome.stats.rotations_pinned;
    twice = twice || outcome.stats.rotation_n_max >= 2;
    EXPECT_GT(outcome.stats.rotations, 0u) << "seed " << seed;
    EXPECT_TRUE(outcome.ok()) << "reproduce: " << reproduce_command(seed, s) << describe(outcome);
  }
  EXPECT_GT(rotations, kSeeds);
  EXPECT_GE(pinned, rotations);
  EXPECT_TRUE(twice) << "no party rotated twice in " << kSeeds << " seeds";
  // A seed that rotates runs the same way again: its keys, statements and moments come from it.
  const Outcome a = run(s, 1);
  const Outcome b = run(s, 1);
  EXPECT_GT(a.stats.rotations, 0u);
  EXPECT_EQ(a.trace_digest, b.trace_digest);
  EXPECT_EQ(a.stats.accepted_ids, b.stats.accepted_ids);
}

// Seeds of the standard scenario that once failed, each kept as found: both parties rotated,
// each pinned the other's rotation while its receipt of the other's statement was lost to a
// crash, and each then refused the other's receipts for good, signed by the key before the
// rotation (the receipt is now signed by the key the transaction names, Transaction::pinned).
TEST(SimulationTest, SeedsThatOnceFailedKeepEveryInvariant) {
  for (const std::uint64_t seed : {7919939ULL, 23757055ULL}) {
    const Outcome outcome = run(Scenario::standard(), seed);
    EXPECT_GT(outcome.stats.rotations, 1u) << "seed " << seed;
    EXPECT_TRUE(outcome.ok()) << "reproduce: " << reproduce_command(seed) << describe(outcome);
  }
}

// The rotation invariants catch a real defect: a peer's rotation left out of the batch that
// carries it (its log entry and the receipt still stored, as a session or store that failed to
// keep the pin would do) fails every seed, by the pin checks themselves. The peer's traffic
// after the rotation is refused until the end: a shorter settling phase keeps the test quick.
TEST(SimulationTest, APinLostFromItsBatchIsCaught) {
  Scenario s = Scenario::rotations();
  s.lose_peer_rotation = true;
  s.settle_max = std::chrono::minutes(20);
#if defined(PARLEY_SANITIZED)
  constexpr std::uint64_t kSeeds = 1;
#else
  constexpr std::uint64_t kSeeds = 3;
#endif
  for (std::uint64_t seed = 1; seed <= kSeeds; ++seed) {
    const Outcome outcome = run(s, seed);
    std::set<std::string> names;
    for (const std::string& v : outcome.violations) names.insert(v.substr(0, v.find(':')));
    EXPECT_EQ(names.count("rotation-unpinned"), 1u) << "seed " << seed << describe(outcome);
    EXPECT_EQ(names.count("notice-before-durable"), 1u) << "seed " << seed << describe(outcome);
  }
}

}  // namespace
}  // namespace parley::sim
