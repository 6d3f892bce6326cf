// Cluster: several gateways, each the very core::Node that `parley gateway` runs, carried out
// over a simulated network, disk and clock.
//
// Each simulated gateway is built as `parley gateway` builds itself (Driver::start): its
// configuration is read from its own SQLite store, one core::NodePeer per pinned peer is
// recovered from that store, and the core::Node is fed events stamped with the gateway's
// clock. Its actions are carried out as gateway/driver.cc carries them out, with simulated
// I/O: Commit goes to the store after a simulated sync delay, then Committed; Post and
// PostHeartbeat go to the simulated network on the path the node chose; AbandonPath fails
// what is in flight on that path; Answer goes back to the peer; Accepted and Rejected to the
// principal; notices to the principal's event stream. What is simulated is only what lies
// outside the process: the passing of time (one scheduler in "true" time; each gateway's wall
// clock is true time plus an offset that clock jumps change), the network (two paths per
// pair of peers; delays, drops, duplicates, partitions of one path or of both, refused or
// silent, connection resets, the clients' timeouts) and the failure points of the disk and
// the process (a crash before or after a commit, a failed write, a crash or power loss at any
// instant, which loses a commit whose sync had not completed, then a restart that recovers
// from the store).
//
// Internal to sim/: use sim::run (sim.h).
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "parley/base/rng.h"
#include "parley/core/node.h"
#include "parley/core/node_feed.h"
#include "parley/crypto/crypto.h"
#include "parley/meetings/meetings.h"
#include "parley/sim/sim.h"
#include "parley/store/message_lines.h"
#include "parley/store/store.h"
#include "parley/wire/wire.h"

namespace parley::sim {

// A deterministic stream of choices (one per concern, so that a new draw in the workload
// does not reshuffle the faults of every seed).
class Dice {
 public:
  explicit Dice(std::uint64_t seed) : rng_(seed) {}
  std::uint64_t next() { return rng_.next_u64(); }
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
  bool chance(double p) { return p > 0 && uniform() < p; }
  std::int64_t between(std::int64_t lo, std::int64_t hi);  // inclusive
  Duration duration(Duration lo, Duration hi) { return Duration(between(lo.count(), hi.count())); }
  Duration log_duration(Duration lo, Duration hi);  // log-uniform: seconds to hours alike
  Duration exponential(double per_minute);          // Poisson inter-arrival time

 private:
  SeededRng rng_;
};

class Cluster {
 public:
  Cluster(const Scenario& scenario, std::uint64_t seed, const Options& options);
  ~Cluster();
  Cluster(const Cluster&) = delete;
  Cluster& operator=(const Cluster&) = delete;

  Outcome run();

  // Scenario::unpinned_line's line, from us-eucom to a party it never pinned.
  static constexpr const char* kUnpinnedLine = "to-unpinned";

 private:
  // One side of a line, as configured on one gateway.
  struct LineEnd {
    std::string id;
    std::string local;
    std::string alternate;
    int peer = 0;  // gateway index
  };
  struct PrincipalRequest {
    bool ack = false;
    std::string line;
    std::string target;  // ack: the inbound message acknowledged; cancel: the one cancelled
    int depth = 0;       // retries so far
    bool cancel = false;
  };
  struct Gateway {
    int index = 0;
    std::string party;
    std::string lang;
    crypto::Keys keys;
    wire::Bundle bundle;  // keeps the first key after a rotation, as `parley rotate`'s home
    // Our key rotations so far (sim/rotations.cc), as the home holds them: the node gets them
    // at every start (NodeConfig::own); and, per rotation n, its new verify key and TLS
    // fingerprint (tls_fingerprints[n - 1]).
    core::OwnRotations own;
    std::vector<crypto::VerifyKey> rotated_keys;
    std::vector<std::string> tls_fingerprints;
    std::vector<LineEnd> lines;
    std::string path;  // the store file
    std::unique_ptr<store::Store> store;
    std::unique_ptr<store::StoredMessageLines> message_lines;  // the node's, from `store`
    std::unique_ptr<SeededRng> rng;
    std::unique_ptr<core::Node> node;
    bool up = false;
    int incarnation = 0;
    Duration offset{};  // wall clock - true time
    core::RequestId next_request = 1;
    std::map<core::RequestId, PrincipalRequest> principal;
    std::map<core::RequestId, std::uint64_t> peer_requests;  // -> call id
    Time started_wall;                                       // wall time of the last start
    Time started_true;                                       // true time of the last start
    std::vector<std::pair<Time, Duration>> forward_jumps;    // true time, amount
    int persists_seen = 0;
    int requests_seen = 0;
    int answers_seen = 0;
    bool restart_pending = false;
    core::NodeFeed feed;  // the node is fed in order, as the daemon's driver feeds it
    // One timer for the node's next deadline (rearm).
    std::optional<Time> timer_at;  // wall time it is armed for
    Time timer_fires;              // true time it fires at
    bool timer_background = false;
    std::uint64_t timer_generation = 0;
    // The task of the armed timer: a timer superseded or dropped no longer keeps the run
    // going (disarm), as the daemon cancels its one timer instead of waiting for it.
    std::optional<std::pair<Time, std::uint64_t>> timer_task;
    // A commit handed to the disk whose sync has not completed yet.
    std::optional<core::Commit> disk;
    // What this incarnation saw of each (peer index, path): for the failover invariant.
    struct PathSeen {
      std::optional<Time> last_failure;
      std::vector<Time> answers;  // the last two
    };
    std::map<std::pair<int, core::PathIndex>, PathSeen> seen;
  };
  // A transaction posted by `from` to `to`: completed once, by the first answer or failure.
  // A heartbeat (`heartbeat` != 0, its id) likewise.
  struct Call {
    int from = 0;
    int from_incarnation = 0;
    int to = 0;
    core::PathIndex path = 0;
    std::string tx;
    std::string body;
    std::uint64_t heartbeat = 0;
    bool done = false;
    bool log_request = false;  // POST /federation/v1/log (core::Post::log_request)
    // The TLS certificate the sender presents (its fingerprint): the bundle's, or that of its
    // newest rotation every peer countersigned (Node::rotations_countersigned), as the driver.
    std::string fingerprint;
  };
  // An outbound message (not an ack) stored by its sender, for the escalation invariant.
  struct Tracked {
    int sender = 0;
    Time deadline;     // the sender's wall clock
    Time stored_true;  // when it became durable
    Time stored_wall;  // the sender's wall clock then
    bool acked = false;
    bool overdue = false;
    bool refused = false;  // the peer refused it: final, no escalation due
    bool reported = false;
  };
  // A message one gateway must escalate (core/escalation.h) once its deadline passes
  // unacknowledged there: an outbound one at its sender, an inbound one at its receiver.
  struct AlertWatch {
    Tracked t;                       // the deadline, when it was stored (t.sender: the gateway)
    bool alerted = false;            // a kEscalation notice named it
    bool final = false;              // refused or expired: no escalation is due
    std::optional<Time> acked_true;  // when an ack became durable there (true time)
  };
  // An automatic line test stored by its sender (invariant line-test-unanswered).
  struct TestWatch {
    int sender = 0;
    Time stored_true;
    std::optional<Time> answered_true;  // when the peer's ack became durable at the sender
  };
  struct Partition {
    Time since;  // when it began (extensions keep it)
    Time until;
    bool refuse = false;  // connections refused at once, else silently lost
  };

  // ---- setup (cluster.cc) ----
  Status setup();
  Status start(Gateway& g);
  void crash(Gateway& g, const std::string& why);
  void schedule_restart(Gateway& g);
  void schedule_faults();
  void schedule_workload();

  // ---- the driver (cluster.cc) ----
  // The gateway may have crashed when these return (alive() tells).
  void feed(Gateway& g, core::NodeEvent event);
  void carry_out(Gateway& g, core::NodeAction& action);
  void write(Gateway& g, core::Commit& commit);
  // Answers a Precheck (precheck.cc) as the daemon's pool would, at a time and with as many of
  // its items as prechecks_ decides.
  void precheck(Gateway& g, core::Precheck& asked);
  void sync_done(Gateway& g, bool crash_after);
  // Applies the commit on the disk to the store; false if the store failed (a violation).
  bool apply(Gateway& g, std::vector<Status>& statuses);
  void rearm(Gateway& g);
  void on_notice(Gateway& g, const core::Notice& notice);
  void on_accepted(Gateway& g, const core::Accepted& a);
  void on_rejected(Gateway& g, const core::Rejected& r);

  // ---- the network (network.cc) ----
  void send_request(Gateway& g, const core::Post& post);
  void send_heartbeat(Gateway& g, const core::PostHeartbeat& beat);
  void deliver_request(std::uint64_t call);
  void send_log_request(Gateway& g, const core::Post& post, std::uint64_t id);
  void deliver_log_request(std::uint64_t call);
  void deliver_heartbeat(std::uint64_t call);
  void answer(Gateway& g, core::Answer& a);
  void answer_arrives(std::uint64_t call, int status, const std::string& body);
  void fail_call(std::uint64_t call, const std::string& reason);
  void abandon(Gateway& g, const core::AbandonPath& a);
  // The partition between `a` and `b` on `path` now, if there is one.
  const Partition* partition(int a, int b, core::PathIndex path) const;
  Duration delay();

  // ---- principals (principals.cc) ----
  // `precedence`: a scripted submission's; else drawn from the workload.
  void submit(int gateway, const std::string& line, int depth,
              std::optional<core::Precedence> precedence = std::nullopt);
  void acknowledge(int gateway, const std::string& id, int depth);
  void consider_ack(Gateway& g, const std::string& id);
  // The sender of `id` (just accepted) may change its mind: a Cancel a moment later, which
  // the node grants only if the message has not left yet.
  void consider_cancel(Gateway& g, const std::string& id);
  void cancel(int gateway, const std::string& id);
  void principal_error(Gateway& g, const PrincipalRequest& request);
  void poll_inbox(Gateway& g);

  // ---- many parties (workload_many.cc; Scenario::many_parties) ----
  // The gateways and lines of `parties` (> 3) parties: a hub with a line to every other
  // party, each other party with lines to its two neighbours on each side of a ring.
  void add_many_parties(int parties);
  // The hub's principal broadcasts on every line of the hub, Scenario::broadcasts times.
  void schedule_broadcasts();
  void broadcast(int gateway);
  // At the end: the sender holds every message of each accepted-or-not broadcast, or none
  // (broadcast-partial), and each of them is held by its receiver once (the final checks).
  void check_broadcasts();

  // ---- key rotations (rotations.cc; Scenario::rotation_every) ----
  void schedule_rotations();
  // The operator stops `g` (if it is up), makes its next rotation and starts it again.
  void rotate(int gateway);
  // Every key of `g`'s chain so far, the bundle's first.
  std::vector<crypto::VerifyKey> chain_keys(const Gateway& g) const;
  // The certificate `g` presents now (Call::fingerprint).
  std::string presented_fingerprint(const Gateway& g) const;
  // The key `g` signs its export with `peer` with: the newest of its rotations its log for
  // the peer holds (what `parley transcript export` takes).
  Result<crypto::SigningKey> export_key(Gateway& g, const std::string& peer);
  // Scenario::lose_peer_rotation: drops the run's first peer's rotation from `commit`.
  void lose_peer_rotation(Gateway& g, core::Commit& commit);
  // As each batch applies: a rotation stored is one its owner made, each pinned in order.
  void observe_rotations(Gateway& g, const std::vector<core::Record>& records);
  // A kPeerKeyRotated notice: about a rotation the peer made, stored before it is announced.
  void observe_rotation_notice(Gateway& g, const core::Notice& notice);
  // A receipt by `receiver` names rotation `id` of `owner`'s: stored there first.
  void check_rotation_durable(Gateway& receiver, const std::string& id, int owner);
  // At the end: every peer of a rotated party pins each of its rotations once, in order.
  void check_rotations();

  // ---- meetings (meetings.cc) ----
  // The book of `line` as `g`'s store holds it, replayed as the gateway's API does.
  Result<meetings::Book> meeting_book(Gateway& g, const std::string& line);
  // Makes `s` the next meeting step a principal of `g` would take on `line`; false if there is
  // none to take now (then `s` stays free text).
  bool meeting_step(Gateway& g, const std::string& line, core::Submit& s);
  // At the end: both ends of every line replay their records to the same book.
  void check_meetings();

  // ---- invariants (invariants.cc) ----
  void observe_applied(Gateway& g, const std::vector<core::Record>& records);
  Time escalation_bound(const Gateway& g, const Tracked& t) const;
  void watch_alerts(Gateway& g, const core::MessageRecord& m);
  // Issue 12's evidence of silence, as each batch applies (invariants.cc).
  void observe_evidence(Gateway& g, const std::vector<core::Record>& records);
  void observe_shown(Gateway& g, const core::MessageRecord& m);
  // Issue 12's line test (core/line_test.h), as each batch applies, and at the end.
  void observe_tests(Gateway& g, const std::vector<core::Record>& records);
  void check_tests();
  // Issue 15, the FLASH lane: a FLASH is stored by its receiver before any ROUTINE message
  // its sender accepted after it on the same line (flash-behind-routine), as each batch
  // applies, and at the end (only FLASH messages that did arrive count).
  void observe_flash_order(Gateway& g, const std::vector<core::Record>& records);
  void check_flash_order();
  // Whether `id` is, in g's store, one of the peer's automatic tests.
  bool automatic_test_at(Gateway& g, const std::string& id);
  bool received_by(Gateway& g, const std::string& id);
  void observe_alert_update(Gateway& g, const core::UpdateMessage& update);
  void observe_alert(Gateway& g, const core::Notice& notice);
  void check_escalations(Gateway& g);
  void check_receipt_durable(Gateway& receiver, const std::string& body, int sender);
  void check_final();
  void check_transcripts();
  // A transaction leaves on `path` to `to`: it must not be a path cut for a long while when
  // another path to that peer has been answering all along (failover-late).
  void check_path_choice(const Gateway& g, int to, core::PathIndex path);
  void seen_on(Gateway& g, int to, core::PathIndex path, bool answered);
  void violation(const std::string& invariant, const std::string& detail);

  // ---- scheduling ----
  // A background task (heartbeats, a timer with no work due) does not keep the run going:
  // the run is quiescent when only background tasks are left.
  // Returns the task's key in tasks_.
  std::pair<Time, std::uint64_t> at(Time when, std::function<void()> task, bool background = false);
  // The gateway's armed timer is superseded or dropped: it no longer counts as work.
  void disarm(Gateway& g);
  void after(Duration delay, std::function<void()> task, bool background = false) {
    at(now_ + delay, std::move(task), background);
  }
  Time wall(const Gateway& g) const { return now_ + g.offset; }
  bool alive(const Gateway& g, int incarnation) const {
    return g.up && g.incarnation == incarnation;
  }
  bool faults_on() const { return now_ < active_end_; }
  bool scripted(ScriptedFault::Kind kind, const Gateway& g, int count);
  int index_of(const std::string& party) const;
  void trace(const Gateway* g, const std::string& what);
  void mix(std::uint64_t value);

  Scenario scenario_;
  std::uint64_t seed_;
  Options options_;
  Outcome outcome_;
  Dice workload_;
  std::uint64_t meetings_proposed_ = 0;
  std::uint64_t minutes_drafted_ = 0;
  Dice net_;
  Dice faults_;
  Dice prechecks_;  // their delays and the items left out (a stream of its own)
  Dice rotations_;  // which seeds rotate, when and who (a stream of its own)
  // (gateway, owner): the newest of the owner's rotations the gateway's store pinned.
  std::map<std::pair<int, int>, std::uint64_t> pinned_;
  std::map<std::string, int> rotation_ids_;  // a rotation statement's id -> who made it
  bool rotation_lost_ = false;               // Scenario::lose_peer_rotation did its harm
  double intensity_ = 1.0;                   // the seed's multiplier of the fault rates
  std::string directory_;
  std::vector<std::unique_ptr<Gateway>> gateways_;

  Time start_;
  Time now_;
  Time active_end_;
  Time settle_end_;
  std::uint64_t next_order_ = 0;
  struct Task {
    std::function<void()> run;
    bool background = false;
  };
  std::map<std::pair<Time, std::uint64_t>, Task> tasks_;
  std::size_t work_tasks_ = 0;  // tasks_ that are not background
  bool stopped_ = false;

  std::uint64_t next_call_ = 1;
  std::map<std::uint64_t, Call> calls_;
  // (low index, high index) -> per path
  std::map<std::pair<int, int>, std::vector<Partition>> partitions_;

  int messages_composed_ = 0;
  std::map<std::string, bool> ack_decided_;         // inbound id -> will be acknowledged
  std::set<std::pair<int, std::string>> ack_busy_;  // an ack is scheduled or in progress
  std::map<std::string, int> accepted_by_;          // accepted id (message or ack) -> gateway
  std::set<std::string> cancelled_;                 // ids whose Cancel was Accepted
  std::map<std::pair<int, std::string>, int> received_notices_;
  std::map<std::string, Tracked> tracked_;
  std::map<int, std::set<std::string>> unresolved_;                // per gateway, tracked ids
  std::map<std::pair<int, std::string>, AlertWatch> alert_watch_;  // (gateway, id)
  std::map<int, std::set<std::string>> alert_open_;  // per gateway: not yet alerted, acked, final
  std::map<std::pair<int, std::string>, int> evidence_of_;  // (gateway, id): entries written
  std::map<std::pair<int, std::string>, int> shown_of_;     // (gateway, id): stage.shown written
  std::map<std::string, TestWatch> tests_;                  // automatic tests, by id
  std::set<std::string> violation_keys_;
  // The FLASH lane: (sender, line) -> seqs of FLASH messages durable at the sender and not
  // yet stored by the receiver; the ones stored; and ROUTINE messages stored before such a
  // FLASH (the FLASH's key, the ROUTINE's id and seq), judged at the end.
  using LineKey = std::pair<int, std::string>;
  std::map<LineKey, std::set<std::uint64_t>> flash_unstored_;
  std::set<std::pair<LineKey, std::uint64_t>> flash_stored_;
  struct FlashSuspect {
    LineKey line;
    std::uint64_t flash_seq = 0;
    std::string routine;
    std::uint64_t routine_seq = 0;
  };
  std::vector<FlashSuspect> flash_suspects_;
  std::map<std::string, std::pair<int, std::size_t>> broadcasts_;  // id -> (sender, lines)
  std::uint64_t steps_max_ = 0;
};

// A seed's independent stream `stream` (and sub-stream `sub`): keys, workload, faults.
std::uint64_t derive(std::uint64_t seed, std::uint64_t stream, std::uint64_t sub = 0);

}  // namespace parley::sim
