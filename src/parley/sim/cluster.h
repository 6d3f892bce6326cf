// Cluster: the simulated equivalent of gateway/driver.cc, for several gateways at once.
//
// Each simulated gateway is built as `parley gateway` builds itself (Driver::start): its
// configuration is read from its own SQLite store, one core::PeerSession per pinned peer is
// recovered from that store, and every event is fed to a session stamped with the gateway's
// clock while every action is carried out in order (Persist -> store, then Persisted;
// SendTransaction -> the simulated network; Answer -> the peer's pending request; Accepted
// and Rejected -> the principal's pending request; Notify -> the principal's event stream).
// What is simulated is only what lies outside the process: the passing of time (one
// scheduler in "true" time; each gateway's wall clock is true time plus an offset that
// clock jumps change), the network (delays, drops, duplicates, partitions, connection
// resets, the federation client's 10 s timeout) and the failure points of the disk and the
// process (a crash before or after a batch is applied, a failed write, a crash at any
// instant, then a restart that recovers from the store).
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
#include "parley/core/peer_session.h"
#include "parley/crypto/crypto.h"
#include "parley/sim/sim.h"
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

 private:
  // One side of a line, as configured on one gateway.
  struct LineEnd {
    std::string id;
    std::string local;
    std::string alternate;
    int peer = 0;  // gateway index
  };
  struct Link {
    std::unique_ptr<core::PeerSession> session;
    std::optional<Time> timer_at;  // wall time the timer is armed for
    Time timer_fires;              // true time it fires at
    std::uint64_t timer_generation = 0;
  };
  struct PrincipalRequest {
    bool ack = false;
    std::string line;
    std::string target;  // ack: the inbound message acknowledged
    int depth = 0;       // retries so far
  };
  // A Persist waiting for the gateway's next group commit.
  struct Write {
    std::string peer;
    core::BatchId batch = 0;
    std::vector<core::Record> records;
  };
  struct Gateway {
    int index = 0;
    std::string party;
    crypto::Keys keys;
    wire::Bundle bundle;
    std::vector<LineEnd> lines;
    std::string path;  // the store file
    std::unique_ptr<store::Store> store;
    std::unique_ptr<SeededRng> rng;
    std::map<std::string, Link> links;  // by peer party
    bool up = false;
    int incarnation = 0;
    Duration offset{};  // wall clock - true time
    core::RequestId next_request = 1;
    std::map<core::RequestId, PrincipalRequest> principal;
    std::map<core::RequestId, std::uint64_t> peer_requests;  // -> call id
    Time started_wall;                                       // wall time of the last start
    std::vector<std::pair<Time, Duration>> forward_jumps;    // true time, amount
    int persists_seen = 0;
    int requests_seen = 0;
    int answers_seen = 0;
    bool restart_pending = false;
    // The driver's event queue and group commit (Driver::drain, Driver::commit_writes).
    std::deque<std::pair<std::string, core::Event>> inbox;
    std::vector<Write> writes;
    bool draining = false;
    bool commit_scheduled = false;
  };
  // A transaction posted by `from` to `to`: completed once, by the first answer or failure.
  struct Call {
    int from = 0;
    int from_incarnation = 0;
    int to = 0;
    std::string tx;
    std::string body;
    bool done = false;
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
  struct Partition {
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
  void feed(Gateway& g, const std::string& peer, core::Event event);
  void drain(Gateway& g);
  // The gateway may have crashed when it returns (alive() tells).
  void carry_out(Gateway& g, const std::string& peer, core::Action& action);
  void commit(Gateway& g);
  void rearm(Gateway& g, const std::string& peer);
  void on_notice(Gateway& g, const core::Notice& notice);
  void on_accepted(Gateway& g, const core::Accepted& a);
  void on_rejected(Gateway& g, const core::Rejected& r);

  // ---- the network (cluster.cc) ----
  void send_request(Gateway& g, const std::string& peer, const core::SendTransaction& s);
  void deliver_request(std::uint64_t call);
  void answer(Gateway& g, core::Answer& a);
  void answer_arrives(std::uint64_t call, int status, const std::string& body);
  void fail_call(std::uint64_t call, const std::string& reason);
  bool partitioned(int a, int b) const;
  Duration delay();

  // ---- principals (cluster.cc) ----
  void submit(int gateway, const std::string& line, int depth);
  void acknowledge(int gateway, const std::string& id, int depth);
  void consider_ack(Gateway& g, const std::string& id);
  void principal_error(Gateway& g, const PrincipalRequest& request);
  void poll_inbox(Gateway& g);

  // ---- invariants (invariants.cc) ----
  void observe_applied(Gateway& g, const std::vector<core::Record>& records);
  Time escalation_bound(const Gateway& g, const Tracked& t) const;
  void check_escalations(Gateway& g);
  void check_receipt_durable(Gateway& receiver, const std::string& body, int sender);
  void check_final();
  void violation(const std::string& invariant, const std::string& detail);

  // ---- scheduling ----
  void at(Time when, std::function<void()> task);
  void after(Duration delay, std::function<void()> task) { at(now_ + delay, std::move(task)); }
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
  Dice net_;
  Dice faults_;
  double intensity_ = 1.0;  // the seed's multiplier of the fault rates
  std::string directory_;
  std::vector<std::unique_ptr<Gateway>> gateways_;

  Time start_;
  Time now_;
  Time active_end_;
  Time settle_end_;
  std::uint64_t next_order_ = 0;
  std::map<std::pair<Time, std::uint64_t>, std::function<void()>> tasks_;
  bool stopped_ = false;

  std::uint64_t next_call_ = 1;
  std::map<std::uint64_t, Call> calls_;
  std::map<std::pair<int, int>, Partition> partitions_;  // (low index, high index)

  int messages_composed_ = 0;
  std::map<std::string, bool> ack_decided_;         // inbound id -> will be acknowledged
  std::set<std::pair<int, std::string>> ack_busy_;  // an ack is scheduled or in progress
  std::map<std::string, int> accepted_by_;          // accepted id (message or ack) -> gateway
  std::map<std::pair<int, std::string>, int> received_notices_;
  std::map<std::string, Tracked> tracked_;
  std::map<int, std::set<std::string>> unresolved_;  // per gateway, tracked ids
  std::set<std::string> violation_keys_;
};

}  // namespace parley::sim
