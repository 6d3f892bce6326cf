// Deterministic simulation of parley gateways: the very core::Node that `parley gateway` runs
// and the real store (SQLite), with only the clock, the network and the disk simulated.
//
// sim::run builds a cluster of two (or three) gateways exactly as `parley gateway` does (keys,
// one core::Node over every pinned peer, the builtin catalog, store::open_sqlite_store,
// recovery from the store on every start), drives them with a workload of principals sending
// and acknowledging messages, injects faults drawn from the seed (dropped, duplicated and
// reordered transactions and answers, partitions of one path or of both, crashes at any
// commit, failed writes, crashes and power losses at any instant, clock jumps), then stops the
// faults, lets the cluster run to quiescence and checks the invariants (docs/simulation.md
// lists them). Everything that varies comes from the seed: a seed that fails, fails again, the
// same way.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "parley/base/time.h"
#include "parley/core/model.h"

namespace parley::sim {

// A fault forced at a given point (targeted tests): the `nth` (1-based) occurrence of the
// point at `party`. Persist points count Persist actions with records; network points count
// SendTransaction actions (a request) or 200 Answers (a response).
struct ScriptedFault {
  enum class Kind {
    kCrashBeforeApply,  // the process dies at a Persist: the batch is lost
    kCrashAfterApply,   // the batch is durable, the process dies before Persisted
    kApplyFails,        // the write fails (like a failed fsync): the process stops
    kDropRequest,       // a transaction is lost on the way to the peer
    kDropResponse,      // the peer's answer is lost on the way back
    kDuplicateRequest,  // a transaction reaches the peer twice
  };
  Kind kind = Kind::kCrashAfterApply;
  std::string party;
  int nth = 1;
};

// A fault at the `at`-th store write (1-based): every Commit that reaches any gateway's disk
// is one write, in the order they reach it. For the every-write loop (Scenario::reference).
struct WriteFault {
  enum class Kind {
    kCrashBefore,  // the process dies as the write reaches the disk: nothing of it is applied
    kCrashAfter,   // the write is durable, the process dies before Committed
    kFail,         // the write fails (a failed fsync): the driver stops the process
  };
  Kind kind = Kind::kCrashBefore;
  std::uint64_t at = 0;  // 0: none
};

// A submission at a fixed time (Scenario::submissions), on the first line of `from`.
struct ScriptedSubmission {
  Duration at{};
  int from = 0;  // gateway index: 0 us-eucom, 1 ru-genstaff
  core::Precedence precedence = core::Precedence::kRoutine;
};

// Every path between gateways 0 and 1 refuses connections from `from` to `until`.
struct ScriptedPartition {
  Duration from{};
  Duration until{};
};

// Probabilities (per occurrence) and rates of the faults drawn from the seed while the
// workload runs. After the active phase no fault is injected.
struct Faults {
  double drop_request = 0.03;       // per transaction sent
  double drop_response = 0.03;      // per answer
  double duplicate_request = 0.03;  // per transaction sent
  double slow = 0.05;               // per transaction or answer: up to `slow_max` late
  Duration slow_max = std::chrono::seconds(3);
  double crash_before_apply = 0.004;  // per Persist
  double crash_after_apply = 0.004;   // per Persist
  double apply_fails = 0.002;         // per Persist
  // The power goes (or the process dies) while a commit's sync is under way: the commit is
  // lost, or made durable just before; the gateway restarts from the store.
  double power_loss = 0.004;        // per commit
  double crashes_per_minute = 0.3;  // per gateway, at a random instant (or a power loss)
  Duration down_max = std::chrono::seconds(20);
  double partitions_per_minute = 0.5;  // per pair of peers: both paths, or one of them
  Duration partition_max = std::chrono::seconds(40);
  double clock_jumps_per_minute = 0.3;  // per gateway
  Duration jump_forward_max = std::chrono::hours(2);
  Duration jump_back_max = std::chrono::seconds(5);
  std::vector<ScriptedFault> scripted;
};

struct Scenario {
  std::string name = "standard";  // parley-sim --scenario=NAME runs it (see named())
  // 2: us-eucom <-> ru-genstaff; 3: plus nato-shape <-> us-eucom; more: many_parties()'s
  // topology (sim/workload_many.cc).
  int parties = 2;
  // 0: `parties` as given; otherwise one seed in `three_party_every` runs with 3 parties.
  int three_party_every = 0;
  Duration active = std::chrono::minutes(3);    // principals submit, faults happen
  Duration settle_max = std::chrono::hours(3);  // then, until quiescent, at most this
  int messages_per_line_direction = 8;          // submissions in the active phase (mean)
  double ack_probability = 0.85;                // a received message is acknowledged
  double resubmit_probability = 0.6;            // a submission that got an error is retried
  // A random submission, once accepted, is cancelled by its sender within seconds (the node
  // grants it only while no transaction has carried it).
  double cancel_probability = 0.08;
  // A random submission is a meeting step instead of free text (sim/meetings.cc).
  double meeting_probability = 0.25;
  core::Deadlines deadlines;  // per line; short so that some expire during a run
  Faults faults;
  bool faults_scaled_by_seed = true;  // each seed multiplies the rates by a factor in [0, 2]
  // When not empty, these are the workload instead of the random submissions.
  std::vector<ScriptedSubmission> submissions;
  std::vector<ScriptedPartition> partitions;
  WriteFault write_fault;
  // Adds a line that only us-eucom has configured (`line add` on one side): ru-genstaff
  // refuses every message on it alone (docs/protocol.md "Refusals"), and the other lines
  // must keep flowing.
  bool one_sided_line = false;
  // Tolerance of the escalation invariant: an overdue mark is due within this of its
  // deadline (the driver arms a timer at the deadline exactly).
  Duration timer_tick = std::chrono::milliseconds(10);
  // The automatic line test (core/line_test.h) on every line; zero: none.
  Duration test_interval{};
  Duration test_answer_within = std::chrono::seconds(10);
  // Invariant line-test-unanswered: every automatic test is answered within
  // test_answer_within unless a partition touched it (for scenarios without random faults).
  bool tests_answered_on_time = false;
  // us-eucom has a line to a party nobody pinned (`line add` before `peer add`): nothing may
  // ever be sent on it (invariant sent-without-peer), tests included.
  bool unpinned_line = false;
  // Broadcasts (core::Broadcast) by the hub of many_parties() on all its lines during the
  // active phase, at random times.
  int broadcasts = 0;
  // Issue 17, key rotations: one seed in `rotation_every` (0: none) has 1 to `rotations_max`
  // of its parties rotate their signing key at random moments of the active phase, as an
  // operator does with `parley rotate` (the gateway stops, a statement is made and signed by
  // the key in force, the gateway starts again with it; sim/rotations.cc). A party may
  // rotate twice.
  int rotation_every = 0;
  int rotations_max = 3;
  // A planted defect, for the test that the rotation invariants catch one: the first peer's
  // rotation (a PutRotation of another party) that reaches a gateway's disk is left out of its
  // batch, as a store or session that failed to keep the pin would; the rest of the batch
  // (the log entry, the receipt) is applied.
  bool lose_peer_rotation = false;
  static Scenario standard();     // the thousand-seed suite: faults of every kind
  static Scenario calm();         // no random faults (scripted ones only)
  static Scenario clock_jumps();  // calm but for frequent clock jumps, forward and back
  static Scenario refusals();     // standard plus a line configured on one side only
  // The every-write loop's: two parties, messages both ways, every one acknowledged, ROUTINE
  // queued behind a peer that cannot be reached and a FLASH that overtakes them; no random
  // fault (WriteFault adds the one under test).
  static Scenario reference();
  // Calm, with a line test every 15 s on every line, a partition that leaves one unanswered,
  // and a line without a pinned peer.
  static Scenario line_tests();
  // Standard faults, and a flood each way: 60 ROUTINE messages within 60 ms, a FLASH in the
  // middle of it and another after it (invariant flash-behind-routine: docs/protocol.md
  // "Transaction window").
  static Scenario flood();
  // Issue 14: 57 parties (the OSCE network's size) with the standard faults: a hub with a line
  // to each of the 56 others, and each of those with lines to its two neighbours on either
  // side of a ring (168 lines; every party has 5 lines, the hub 56); 3 submissions per line
  // and direction on average, and 3 broadcasts by the hub to all its lines.
  static Scenario many_parties();
  // Standard faults, and 1 to 3 key rotations in every seed (issue 17).
  static Scenario rotations();
  // "standard", "calm", "clock-jumps", "three-party", "refusals", "reference", "line-tests",
  // "flood", "many-parties", "rotations";
  // nullopt for another name.
  static std::optional<Scenario> named(std::string_view name);
};

struct Stats {
  std::uint64_t steps = 0;  // events fed to sessions
  std::uint64_t submitted = 0;
  std::uint64_t accepted = 0;  // submissions and acks Accepted
  std::uint64_t acks_accepted = 0;
  std::uint64_t received = 0;  // kMessageReceived notices
  std::uint64_t transactions = 0;
  std::uint64_t persists = 0;
  std::uint64_t commits = 0;  // group commits (each carries one or more persists)
  std::uint64_t crashes = 0;
  std::uint64_t dropped = 0;
  std::uint64_t duplicated = 0;
  std::uint64_t partitions = 0;
  std::uint64_t clock_jumps = 0;
  std::uint64_t path_changes = 0;  // a node moved a peer's traffic to another path
  std::uint64_t commits_lost = 0;  // a crash or power loss before the commit's sync completed
  std::uint64_t prechecks = 0;     // Precheck actions answered (precheck.cc)
  std::uint64_t precheck_items_left_out = 0;  // of their items, answered with no fact
  std::uint64_t meeting_steps = 0;            // submissions that were meeting steps
  std::uint64_t meetings = 0;                 // meetings both sides' books agree on at the end
  std::uint64_t transcripts_verified = 0;     // exports checked at the end (one per party and line)
  std::uint64_t overdue = 0;
  std::uint64_t escalation_alerts = 0;  // kEscalation notices, both sides
  std::uint64_t evidence = 0;           // evidence.unacknowledged entries written, both sides
  std::uint64_t shown = 0;              // stage.shown entries written
  std::uint64_t refused = 0;            // kMessageRefused notices (our message refused by the peer)
  std::uint64_t principal_errors = 0;   // requests lost to a crash or a down gateway
  std::uint64_t tests_sent = 0;         // automatic line tests stored by their senders
  std::uint64_t tests_answered = 0;     // of them, answered (the peer's ack stored)
  std::uint64_t tests_refused_acks = 0;  // principals' acks of an automatic test, refused
  std::uint64_t cancels_asked = 0;       // Cancel requests fed
  std::uint64_t cancelled = 0;           // of them, Accepted (the message never left)
  std::uint64_t broadcasts = 0;          // Broadcast events fed (Scenario::broadcasts)
  std::uint64_t broadcast_messages = 0;  // messages the senders' stores hold of them at the end
  std::uint64_t rotations = 0;           // key rotations made (Scenario::rotation_every)
  std::uint64_t rotations_pinned = 0;    // (peer, rotation) pairs checked pinned at the end
  std::uint64_t rotation_n_max = 0;      // the most rotations one party made
  Duration simulated{};
  // Per message id: how many kDelivered notices its sender emitted, and how many receipts
  // (200 Answers) covering it the receiver signed.
  std::map<std::string, int> delivered_notices;
  std::map<std::string, int> receipts_signed;
  std::vector<std::string> accepted_ids;
  std::vector<std::string> cancelled_ids;  // of them, those whose Cancel was Accepted
};

struct Outcome {
  std::uint64_t seed = 0;
  int parties = 2;
  std::vector<std::string> violations;  // "<invariant>: <detail>", first one first
  Stats stats;
  std::uint64_t trace_digest = 0;  // FNV-1a over the run's events: equal runs, equal digests
  bool ok() const { return violations.empty(); }
  std::string violation() const { return violations.empty() ? "" : violations.front(); }
};

struct Options {
  // Called with one line per event when set (parley-sim --verbose).
  std::function<void(const std::string&)> trace;
  // Where the stores live; empty: /dev/shm if writable, else the system temp directory.
  std::string directory;
};

// Runs `scenario` under `seed` and checks every invariant. Never throws; a setup failure
// (no temp directory, a store that cannot open) is reported as a violation "setup: ...".
Outcome run(const Scenario& scenario, std::uint64_t seed, const Options& options = {});

// The one-line command that reproduces `seed` (of `scenario`, when it is a named one other
// than the standard scenario) with parley-sim.
std::string reproduce_command(std::uint64_t seed);
std::string reproduce_command(std::uint64_t seed, const Scenario& scenario);

// Installs a SIGABRT/SIGSEGV handler that prints the reproduction command of the seed being
// run (a PARLEY_CHECK inside the core aborts the process before run() can report it), then
// lets the signal take its course. For executables (parley-sim, the sim tests).
void report_seed_on_abort();

}  // namespace parley::sim
