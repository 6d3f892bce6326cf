#include "parley/sim/cluster.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <type_traits>
#include <variant>

#include "parley/base/check.h"
#include "parley/catalog/catalog.h"
#include "parley/store/node_recovery.h"
#include "parley/store/sqlite/sqlite_store.h"

namespace parley::sim {
namespace {

using namespace std::chrono_literals;

constexpr std::uint64_t kStepsMax = 2'000'000;
// CommitDue comes this long after ScheduleCommit, at most (Driver posts it on the io thread).
constexpr Duration kCommitDelayMax = 2ms;
// A commit's sync completes this long after the disk got it, at most.
constexpr Duration kSyncMax = 3ms;
constexpr std::size_t kPaths = 2;  // federation addresses per party: primary and backup

// Only instantiated by a static_assert that fails: Clang sees no use of it otherwise.
template <typename>
[[maybe_unused]] inline constexpr bool kAlwaysFalse = false;

struct PartySpec {
  const char* party;
  const char* lang;
  const char* federation[kPaths];
};
constexpr PartySpec kParties[] = {
    {"us-eucom", "en", {"10.0.0.1:7001", "10.0.1.1:7001"}},
    {"ru-genstaff", "ru", {"10.0.0.2:7001", "10.0.1.2:7001"}},
    {"nato-shape", "en", {"10.0.0.3:7001", "10.0.1.3:7001"}},
};
struct LineSpec {
  const char* id;
  int a;
  const char* a_local;
  const char* a_alternate;
  int b;
  const char* b_local;
  const char* b_alternate;
};
constexpr LineSpec kLines[] = {
    {"saceur-cgs", 0, "saceur", "dsaceur", 1, "cgs", "deputy-cgs"},
    {"j3-shape", 0, "j3", "saceur", 2, "ops", "deputy-ops"},
};

std::string event_name(const core::NodeEvent& e) {
  return std::visit(
      [](const auto& v) -> std::string {
        using E = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<E, core::Start>) {
          return "Start";
        } else if constexpr (std::is_same_v<E, core::Tick>) {
          return "Tick";
        } else if constexpr (std::is_same_v<E, core::Submit>) {
          return "Submit #" + std::to_string(v.request) + " " +
                 std::string(wire::precedence_name(v.precedence)) + " on " + v.line;
        } else if constexpr (std::is_same_v<E, core::Acknowledge>) {
          return "Acknowledge #" + std::to_string(v.request) + " " + v.message_id;
        } else if constexpr (std::is_same_v<E, core::Show>) {
          return "Show " + v.principal + " " + v.message_id;
        } else if constexpr (std::is_same_v<E, core::Cancel>) {
          return "Cancel #" + std::to_string(v.request) + " " + v.message_id;
        } else if constexpr (std::is_same_v<E, core::PeerTransaction>) {
          return "PeerTransaction #" + std::to_string(v.request);
        } else if constexpr (std::is_same_v<E, core::PostAnswered>) {
          return "PostAnswered " + v.party + " path " + std::to_string(v.path) + " " + v.tx +
                 " HTTP " + std::to_string(v.http_status);
        } else if constexpr (std::is_same_v<E, core::PostFailed>) {
          return "PostFailed " + v.party + " path " + std::to_string(v.path) + " " + v.tx + " (" +
                 v.reason + ")";
        } else if constexpr (std::is_same_v<E, core::HeartbeatAnsweredOn>) {
          return "HeartbeatAnswered " + v.party + " path " + std::to_string(v.path);
        } else if constexpr (std::is_same_v<E, core::HeartbeatFailedOn>) {
          return "HeartbeatFailed " + v.party + " path " + std::to_string(v.path) + " (" +
                 v.reason + ")";
        } else if constexpr (std::is_same_v<E, core::Reconfigure>) {
          return "Reconfigure " + std::to_string(v.lines.size()) + " lines";
        } else if constexpr (std::is_same_v<E, core::Broadcast>) {
          return "Broadcast " + v.id + " on " + std::to_string(v.submits.size()) + " lines";
        } else if constexpr (std::is_same_v<E, core::Prechecked>) {
          return "Prechecked " + std::to_string(v.token);
        } else if constexpr (std::is_same_v<E, core::CommitDue>) {
          return "CommitDue";
        } else if constexpr (std::is_same_v<E, core::Committed>) {
          return "Committed " + std::to_string(v.commit);
        } else {
          static_assert(kAlwaysFalse<E>, "sim: a new core::NodeEvent kind needs a name here");
        }
      },
      e);
}

}  // namespace

namespace {
// Per thread: the thread that aborts is the one whose seed is reported.
thread_local std::uint64_t current_seed = 0;
thread_local bool running = false;

extern "C" void on_fatal_signal(int signal_number) {
  if (running) {
    // Only async-signal-safe calls: format the number by hand, write(2).
    char text[96] = "\nparley-sim: the run died; reproduce: parley-sim --seed=";
    std::size_t len = std::strlen(text);
    char digits[24];
    std::size_t n = 0;
    std::uint64_t v = current_seed;
    do {
      digits[n++] = static_cast<char>('0' + v % 10);
      v /= 10;
    } while (v != 0 && n < sizeof digits);
    while (n > 0 && len + 2 < sizeof text) text[len++] = digits[--n];
    text[len++] = '\n';
    [[maybe_unused]] const ssize_t written = write(STDERR_FILENO, text, len);
  }
  std::signal(signal_number, SIG_DFL);
  std::raise(signal_number);
}
}  // namespace

void report_seed_on_abort() {
  std::signal(SIGABRT, on_fatal_signal);
  std::signal(SIGSEGV, on_fatal_signal);
}

Outcome run(const Scenario& scenario, std::uint64_t seed, const Options& options) {
  current_seed = seed;
  running = true;
  Outcome outcome;
  {
    Cluster cluster(scenario, seed, options);
    outcome = cluster.run();
  }
  running = false;
  return outcome;
}

// ---- Cluster: setup ----

Cluster::Cluster(const Scenario& scenario, std::uint64_t seed, const Options& options)
    : scenario_(scenario),
      seed_(seed),
      options_(options),
      workload_(derive(seed, 1)),
      net_(derive(seed, 2)),
      faults_(derive(seed, 3)),
      prechecks_(derive(seed, 7)),
      rotations_(derive(seed, 8)) {
  outcome_.seed = seed;
  outcome_.trace_digest = 0xcbf29ce484222325ULL;
  start_ = time_from_unix_ms(1'795'554'000'000);  // 2026-11-24T21:00:00Z
  now_ = start_;
  active_end_ = start_ + scenario_.active;
  settle_end_ = active_end_ + scenario_.settle_max;
}

Cluster::~Cluster() {
  for (auto& g : gateways_) {
    g->node.reset();
    g->store.reset();
  }
  if (!directory_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(directory_, ec);
  }
}

void Cluster::mix(std::uint64_t value) {
  for (int i = 0; i < 8; ++i) {
    outcome_.trace_digest ^= (value >> (8 * i)) & 0xff;
    outcome_.trace_digest *= 0x100000001b3ULL;
  }
}

void Cluster::trace(const Gateway* g, const std::string& what) {
  if (!options_.trace) return;
  const auto ms = (now_ - start_).count();
  char stamp[32];
  std::snprintf(stamp, sizeof stamp, "[%8.3fs] ", static_cast<double>(ms) / 1000.0);
  std::string line = stamp;
  if (g != nullptr) line += g->party + "#" + std::to_string(g->incarnation) + " ";
  options_.trace(line + what);
}

void Cluster::violation(const std::string& invariant, const std::string& detail) {
  // One report per invariant and detail: a stuck state is not reported a thousand times.
  if (!violation_keys_.insert(invariant + detail).second) return;
  outcome_.violations.push_back(invariant + ": " + detail);
  trace(nullptr, "VIOLATION " + invariant + ": " + detail);
}

int Cluster::index_of(const std::string& party) const {
  for (const auto& g : gateways_) {
    if (g->party == party) return g->index;
  }
  PARLEY_CHECK(false);
  return -1;
}

std::pair<Time, std::uint64_t> Cluster::at(Time when, std::function<void()> task, bool background) {
  const std::pair<Time, std::uint64_t> key{std::max(when, now_), next_order_++};
  tasks_.emplace(key, Task{std::move(task), background});
  if (!background) ++work_tasks_;
  return key;
}

void Cluster::disarm(Gateway& g) {
  ++g.timer_generation;
  if (!g.timer_task) return;
  const auto it = tasks_.find(*g.timer_task);
  g.timer_task.reset();
  if (it == tasks_.end() || it->second.background) return;
  it->second.background = true;  // it still runs (and finds its generation stale)
  --work_tasks_;
}

Status Cluster::setup() {
  int parties = scenario_.parties;
  if (scenario_.three_party_every > 0) {
    parties =
        derive(seed_, 4) % static_cast<std::uint64_t>(scenario_.three_party_every) == 0 ? 3 : 2;
  }
  parties = std::max(parties, 2);
  outcome_.parties = parties;
  steps_max_ = kStepsMax * static_cast<std::uint64_t>(std::max(1, parties / 2));
  intensity_ = scenario_.faults_scaled_by_seed ? faults_.uniform() * 2.0 : 1.0;

  std::string base = options_.directory;
  std::error_code ec;
  if (base.empty()) {
    base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : std::filesystem::temp_directory_path(ec);
    if (ec) return Status::unavailable("no temporary directory: " + ec.message());
  }
  static std::atomic<std::uint64_t> counter{0};
  directory_ = base + "/parley-sim-" + std::to_string(getpid()) + "-" + std::to_string(seed_) +
               "-" + std::to_string(counter.fetch_add(1));
  std::filesystem::remove_all(directory_, ec);
  std::filesystem::create_directories(directory_, ec);
  if (ec) return Status::unavailable("creating " + directory_ + ": " + ec.message());

  if (parties > 3) add_many_parties(parties);
  for (int i = 0; i < parties && parties <= 3; ++i) {
    auto g = std::make_unique<Gateway>();
    g->index = i;
    g->party = kParties[i].party;
    g->lang = kParties[i].lang;
    SeededRng key_rng(derive(seed_, 5, static_cast<std::uint64_t>(i)));
    g->keys = crypto::generate_keys(key_rng);
    g->bundle.party = g->party;
    g->bundle.sign_key = g->keys.verify;
    g->bundle.box_key = g->keys.box_public;
    g->bundle.tls_fingerprint = hex_encode(crypto::sha256(as_bytes(g->party)));
    g->bundle.federation.assign(std::begin(kParties[i].federation),
                                std::end(kParties[i].federation));
    g->path = directory_ + "/" + g->party + ".db";
    gateways_.push_back(std::move(g));
  }
  for (const LineSpec& spec : kLines) {
    if (spec.b >= parties || parties > 3) continue;
    gateways_[spec.a]->lines.push_back({spec.id, spec.a_local, spec.a_alternate, spec.b});
    gateways_[spec.b]->lines.push_back({spec.id, spec.b_local, spec.b_alternate, spec.a});
  }
  if (scenario_.one_sided_line) {
    gateways_[0]->lines.push_back({"one-sided", "saceur", "dsaceur", 1});
  }

  // What `parley init`, `peer add`, `principal add` and `line add` write.
  for (auto& g : gateways_) {
    PARLEY_ASSIGN_OR_RETURN(std::unique_ptr<store::Store> s,
                            store::open_sqlite_store(g->path, {.synchronous_full = false}));
    std::set<std::string> principals;
    for (const LineEnd& end : g->lines) {
      const Gateway& peer = *gateways_[end.peer];
      PARLEY_RETURN_IF_ERROR(s->put_peer(core::Peer{peer.bundle}));
      core::Line line;
      line.id = end.id;
      line.local = end.local;
      line.alternates = {end.alternate};
      for (const LineEnd& other : peer.lines) {
        if (other.id == end.id) {
          line.remote = wire::Address{peer.party, other.local};
          line.remote_alternates = {other.alternate};  // `line add --remote-alternate`
        }
      }
      // A line the peer lacks (Scenario::one_sided_line) names a principal of another line.
      for (const LineEnd& other : peer.lines) {
        if (line.remote.party.empty() && other.peer == g->index) {
          line.remote = wire::Address{peer.party, other.local};
        }
      }
      line.deadlines = scenario_.deadlines;
      PARLEY_RETURN_IF_ERROR(s->put_line(line));
      principals.insert(end.local);
      principals.insert(end.alternate);
    }
    if (scenario_.unpinned_line && g->index == 0) {
      // `line add` to a party whose bundle nobody pinned: the node has no session for it.
      core::Line line;
      line.id = kUnpinnedLine;
      line.local = g->lines.front().local;
      line.remote = wire::Address{"xx-unpinned", "nobody"};
      line.deadlines = scenario_.deadlines;
      PARLEY_RETURN_IF_ERROR(s->put_line(line));
    }
    for (const std::string& id : principals) {
      core::Principal p;
      p.id = id;
      p.name = id;
      p.role = "principal";
      const crypto::Digest token = crypto::sha256(as_bytes(g->party + "/" + id));
      p.token_hash = Bytes(token.begin(), token.end());
      PARLEY_RETURN_IF_ERROR(s->put_principal(p));
    }
  }
  return Status::ok();
}

// The daemon's start (store::recover_node, then Start), on this gateway's own store.
Status Cluster::start(Gateway& g) {
  g.restart_pending = false;
  PARLEY_ASSIGN_OR_RETURN(g.store, store::open_sqlite_store(g.path, {.synchronous_full = false}));
  PARLEY_ASSIGN_OR_RETURN(store::NodeRecovery recovery, store::recover_node(*g.store));
  core::NodeConfig config;
  config.party = g.party;
  config.lang = g.lang;
  config.keys = g.keys;
  config.own = g.own;  // our key rotations so far (sim/rotations.cc), as the home's
  config.lines = std::move(recovery.lines);
  g.message_lines = std::make_unique<store::StoredMessageLines>(*g.store);
  config.messages = g.message_lines.get();
  config.tests.interval = scenario_.test_interval;
  config.tests.answer_within = scenario_.test_answer_within;
  // As the daemon: each session asks its peer what it holds of their logs before it signs.
  config.recover_logs = true;
  config.precheck = true;  // as the daemon: answered by precheck() (precheck.cc)
  std::vector<core::NodePeer> peers = std::move(recovery.peers);
  g.rng = std::make_unique<SeededRng>(
      derive(seed_, 6, static_cast<std::uint64_t>(g.index * 1000 + g.incarnation)));
  g.node = std::make_unique<core::Node>(std::move(config), catalog::Catalog::builtin(), *g.rng,
                                        std::move(peers));
  g.up = true;
  g.started_wall = wall(g);
  g.started_true = now_;
  trace(&g, "started");
  mix(0x5747);
  const int incarnation = g.incarnation;
  feed(g, core::Start{});
  if (!alive(g, incarnation)) return Status::ok();  // crashed while recovering
  poll_inbox(g);
  return Status::ok();
}

void Cluster::crash(Gateway& g, const std::string& why) {
  ++outcome_.stats.crashes;
  check_escalations(g);
  trace(&g, "CRASH " + why);
  mix(0xc4a5);
  g.up = false;
  ++g.incarnation;
  // The principals waiting on the gateway see their connections drop.
  std::map<core::RequestId, PrincipalRequest> waiting = std::move(g.principal);
  g.principal.clear();
  // The peers waiting for our answers see their connections reset.
  for (const auto& [request, call] : g.peer_requests) {
    const std::uint64_t id = call;
    after(delay(), [this, id] { fail_call(id, "connection reset by peer"); });
  }
  g.peer_requests.clear();
  g.seen.clear();
  g.feed.reset();
  g.timer_at.reset();
  disarm(g);
  if (g.disk) {
    // The process died (or the power went) while the commit was being synced: it is lost,
    // unless its sync completed just before. Either way nothing was told of it.
    std::vector<Status> statuses;
    if (faults_.chance(0.5)) {
      trace(&g, "the commit on the disk made it before the crash");
      apply(g, statuses);
    } else {
      trace(&g, "the commit on the disk is lost");
      ++outcome_.stats.commits_lost;
    }
    g.disk.reset();
  }
  g.node.reset();
  g.store.reset();
  g.rng.reset();
  for (auto& [request, pending] : waiting) principal_error(g, pending);
  schedule_restart(g);
}

void Cluster::schedule_restart(Gateway& g) {
  if (g.restart_pending) return;
  g.restart_pending = true;
  const Duration down =
      faults_on() ? faults_.duration(100ms, std::max(scenario_.faults.down_max, Duration(100ms)))
                  : faults_.duration(100ms, 2s);
  const int index = g.index;
  after(down, [this, index] {
    Gateway& gw = *gateways_[index];
    if (gw.up) return;
    if (Status s = start(gw); !s.is_ok()) {
      violation("restart-failed", gw.party + ": " + s.to_string());
      stopped_ = true;
    }
  });
}

void Cluster::schedule_faults() {
  const Faults& f = scenario_.faults;
  const double k = intensity_;
  for (auto& gp : gateways_) {
    Gateway& g = *gp;
    const int index = g.index;
    for (Time t = start_ + faults_.exponential(f.crashes_per_minute * k); t < active_end_;
         t += faults_.exponential(f.crashes_per_minute * k)) {
      at(t, [this, index] {
        Gateway& gw = *gateways_[index];
        if (gw.up) crash(gw, "at a random instant");
      });
    }
    for (Time t = start_ + faults_.exponential(f.clock_jumps_per_minute * k); t < active_end_;
         t += faults_.exponential(f.clock_jumps_per_minute * k)) {
      const bool forward = faults_.chance(0.5);
      const Duration amount = forward ? faults_.log_duration(1s, f.jump_forward_max)
                                      : -faults_.duration(1ms, f.jump_back_max);
      at(t, [this, index, amount] {
        Gateway& gw = *gateways_[index];
        ++outcome_.stats.clock_jumps;
        gw.offset += amount;
        if (amount > Duration::zero()) gw.forward_jumps.emplace_back(now_, amount);
        trace(&gw, "clock jumps " + std::string(amount > Duration::zero() ? "+" : "-") +
                       format_duration(amount > Duration::zero() ? amount : -amount));
        mix(static_cast<std::uint64_t>(amount.count()));
      });
    }
  }
  for (int a = 0; a < static_cast<int>(gateways_.size()); ++a) {
    for (int b = a + 1; b < static_cast<int>(gateways_.size()); ++b) {
      bool linked = false;
      for (const LineEnd& end : gateways_[a]->lines) linked = linked || end.peer == b;
      if (!linked) continue;
      for (Time t = start_ + faults_.exponential(f.partitions_per_minute * k); t < active_end_;
           t += faults_.exponential(f.partitions_per_minute * k)) {
        const Duration length = faults_.duration(100ms, std::max(f.partition_max, Duration(100ms)));
        const bool refuse = faults_.chance(0.5);
        // Both paths, or one while the other works (cut: refused; black hole: lost).
        const bool both = faults_.chance(0.5);
        const auto one = static_cast<std::size_t>(faults_.between(0, kPaths - 1));
        at(t, [this, a, b, length, refuse, both, one] {
          ++outcome_.stats.partitions;
          std::vector<Partition>& paths = partitions_[{a, b}];
          paths.resize(kPaths);
          for (std::size_t i = 0; i < kPaths; ++i) {
            if (!both && i != one) continue;
            if (paths[i].until <= now_) paths[i].since = now_;
            paths[i].until = std::max(paths[i].until, now_ + length);
            paths[i].refuse = refuse;
          }
          trace(nullptr, "PARTITION " + gateways_[a]->party + " | " + gateways_[b]->party + " " +
                             (both ? "every path" : "path " + std::to_string(one)) + " for " +
                             format_duration(length) + (refuse ? " (refused)" : " (lost)"));
          mix(0x9a27 + (both ? kPaths : one));
        });
      }
    }
  }
  for (const ScriptedPartition& p : scenario_.partitions) {
    at(start_ + p.from, [this, p] {
      std::vector<Partition>& paths = partitions_[{0, 1}];
      paths.assign(kPaths, Partition{now_, start_ + p.until, true});
      trace(nullptr, "PARTITION (scripted) every path until " + format_duration(p.until));
    });
  }
  // The end of the faults: the network heals (the scheduled restarts still happen).
  at(active_end_, [this] {
    partitions_.clear();
    trace(nullptr, "faults stop; the network heals");
  });
}

void Cluster::schedule_workload() {
  if (!scenario_.submissions.empty()) {
    for (const ScriptedSubmission& sub : scenario_.submissions) {
      const int index = sub.from;
      const std::string line = gateways_[index]->lines.front().id;
      const core::Precedence precedence = sub.precedence;
      at(start_ + sub.at, [this, index, line, precedence] { submit(index, line, 0, precedence); });
    }
    return;
  }
  const int mean = std::max(scenario_.messages_per_line_direction, 1);
  for (auto& gp : gateways_) {
    for (const LineEnd& end : gp->lines) {
      const int count = static_cast<int>(workload_.between(mean / 2, mean + mean / 2));
      for (int i = 0; i < count; ++i) {
        const Time t = start_ + workload_.duration(Duration::zero(), scenario_.active);
        const int index = gp->index;
        const std::string line = end.id;
        at(t, [this, index, line] { submit(index, line, 0); });
      }
    }
  }
  schedule_broadcasts();
}

Outcome Cluster::run() {
  if (Status s = setup(); !s.is_ok()) {
    violation("setup", s.to_string());
    return outcome_;
  }
  for (auto& g : gateways_) {
    if (Status s = start(*g); !s.is_ok()) {
      violation("setup", g->party + ": " + s.to_string());
      return outcome_;
    }
  }
  schedule_faults();
  schedule_workload();
  schedule_rotations();

  // Heartbeats never stop: the run is over when only background tasks are left.
  while (work_tasks_ > 0 && !stopped_) {
    if (tasks_.begin()->first.first > settle_end_) break;
    auto node = tasks_.extract(tasks_.begin());
    now_ = node.key().first;
    if (!node.mapped().background) --work_tasks_;
    node.mapped().run();
  }
  outcome_.stats.simulated = now_ - start_;
  if (!stopped_ && work_tasks_ > 0) {
    std::string queued;
    for (const auto& g : gateways_) {
      if (!g->node) continue;
      for (const core::Node::PeerView& peer : g->node->peers()) {
        queued += " " + g->party + "->" + peer.party + ": " +
                  std::to_string(peer.session->stats().queued) + " queued";
      }
    }
    violation("not-quiescent", "still busy " + format_duration(scenario_.settle_max) +
                                   " after the faults stopped;" + queued);
  }
  if (!stopped_) {
    check_final();
    check_meetings();
    check_tests();
    check_flash_order();
    check_broadcasts();
    check_rotations();
  }
  return outcome_;
}

// ---- the driver ----

// Events are fed to the node through its NodeFeed, as the daemon's driver feeds them: in
// order, each with the actions it causes; an event that an action causes (a commit's
// Committed) is queued and fed after.
void Cluster::feed(Gateway& g, core::NodeEvent event) {
  if (!g.feed.push(std::move(event))) return;  // the running drain gets to it, in order
  const int incarnation = g.incarnation;
  std::vector<core::NodeAction> actions;
  while (std::optional<core::NodeEvent> next = g.feed.next()) {
    if (++outcome_.stats.steps > steps_max_) {
      violation("runaway", "more than " + std::to_string(steps_max_) + " events");
      stopped_ = true;
      return;
    }
    if (options_.trace) trace(&g, "<- " + event_name(*next));
    mix(static_cast<std::uint64_t>(unix_ms(now_)));
    mix(static_cast<std::uint64_t>(g.index) << 8 | next->index());
    actions.clear();
    g.node->handle(std::move(*next), wall(g), actions);
    for (core::NodeAction& action : actions) {
      mix(action.index());
      carry_out(g, action);
      if (!alive(g, incarnation) || stopped_) return;  // crash() reset the gateway
    }
  }
  rearm(g);
  check_escalations(g);
}

void Cluster::carry_out(Gateway& g, core::NodeAction& action) {
  const int index = g.index;
  const int incarnation = g.incarnation;
  std::visit(
      [&](auto& a) {
        using A = std::decay_t<decltype(a)>;
        if constexpr (std::is_same_v<A, core::ScheduleCommit>) {
          after(faults_.duration(Duration::zero(), kCommitDelayMax), [this, index, incarnation] {
            Gateway& gw = *gateways_[index];
            if (alive(gw, incarnation)) feed(gw, core::CommitDue{});
          });
        } else if constexpr (std::is_same_v<A, core::Commit>) {
          write(g, a);
        } else if constexpr (std::is_same_v<A, core::Post>) {
          send_request(g, a);
        } else if constexpr (std::is_same_v<A, core::PostHeartbeat>) {
          send_heartbeat(g, a);
        } else if constexpr (std::is_same_v<A, core::AbandonPath>) {
          abandon(g, a);
        } else if constexpr (std::is_same_v<A, core::Answer>) {
          answer(g, a);
        } else if constexpr (std::is_same_v<A, core::Accepted>) {
          on_accepted(g, a);
        } else if constexpr (std::is_same_v<A, core::Rejected>) {
          on_rejected(g, a);
        } else if constexpr (std::is_same_v<A, core::PeerNotice>) {
          on_notice(g, a.notice);
        } else if constexpr (std::is_same_v<A, core::PathNotice>) {
          if (a.kind == core::PathNotice::Kind::kChanged) ++outcome_.stats.path_changes;
          trace(&g, "path notice (" + a.party + "): " + a.text);
        } else if constexpr (std::is_same_v<A, core::Reconfigured>) {
          trace(&g, "reconfigured: " + (a.status.is_ok() ? "ok" : a.status.message()));
        } else if constexpr (std::is_same_v<A, core::Precheck>) {
          precheck(g, a);
        } else {
          static_assert(kAlwaysFalse<A>,
                        "sim: a new core::NodeAction kind must be carried out here");
        }
      },
      action);
}

// The simulated disk carries out a Commit (the daemon applies it in one SQLite transaction),
// but it takes a moment: the node goes on meanwhile, and a crash (or a power loss) before the
// sync completes loses the commit, or not (crash()).
void Cluster::write(Gateway& g, core::Commit& commit) {
  using K = ScriptedFault::Kind;
  const Faults& f = scenario_.faults;
  const bool on = faults_on();
  bool before = false;
  bool fails = false;
  bool after_apply = false;
  for (const core::CommitBatch& b : commit.batches) {
    ++outcome_.stats.persists;
    if (b.records.empty()) continue;
    ++g.persists_seen;
    before = before || scripted(K::kCrashBeforeApply, g, g.persists_seen);
    fails = fails || scripted(K::kApplyFails, g, g.persists_seen);
    after_apply = after_apply || scripted(K::kCrashAfterApply, g, g.persists_seen);
  }
  const bool at_k = ++outcome_.stats.commits == scenario_.write_fault.at;
  using W = WriteFault::Kind;
  before = before || (at_k && scenario_.write_fault.kind == W::kCrashBefore);
  fails = fails || (at_k && scenario_.write_fault.kind == W::kFail);
  after_apply = after_apply || (at_k && scenario_.write_fault.kind == W::kCrashAfter);
  before = before || (on && faults_.chance(f.crash_before_apply * intensity_));
  fails = fails || (on && faults_.chance(f.apply_fails * intensity_));
  after_apply = after_apply || (on && faults_.chance(f.crash_after_apply * intensity_));
  const std::string what = "commit " + std::to_string(commit.id) + " (" +
                           std::to_string(commit.batches.size()) + " batches)";
  if (before) return crash(g, "before " + what);
  if (fails) {
    // The write fails (a failed fsync): the driver stops the process, nothing is
    // acknowledged, and the store rolled the transaction back.
    return crash(g, what + " failed; the driver stops");
  }
  g.disk = std::move(commit);
  const int index = g.index;
  const int incarnation = g.incarnation;
  const Duration sync = faults_.duration(Duration(1), kSyncMax);
  after(sync, [this, index, incarnation, after_apply] {
    Gateway& gw = *gateways_[index];
    if (alive(gw, incarnation)) sync_done(gw, after_apply);
  });
  if (on && faults_.chance(f.power_loss * intensity_)) {
    // Strictly inside the sync: the commit is on its way to the disk, not yet durable.
    after(faults_.duration(Duration::zero(), sync - Duration(1)), [this, index, incarnation] {
      Gateway& gw = *gateways_[index];
      if (alive(gw, incarnation)) crash(gw, "power loss while a commit is being synced");
    });
  }
}

bool Cluster::apply(Gateway& g, std::vector<Status>& statuses) {
  if (scenario_.lose_peer_rotation && !rotation_lost_) lose_peer_rotation(g, *g.disk);
  const core::Commit& commit = *g.disk;
  std::vector<const std::vector<core::Record>*> batches;
  for (const core::CommitBatch& b : commit.batches) batches.push_back(&b.records);
  Result<std::vector<Status>> outcome = g.store->apply_group(batches);
  if (!outcome.is_ok()) {
    violation("store-failed", g.party + ": " + outcome.status().to_string());
    return false;
  }
  statuses = std::move(*outcome);
  for (std::size_t i = 0; i < statuses.size(); ++i) {
    if (store::is_batch_refusal(statuses[i])) {
      violation("store-refused", g.party + " batch " + std::to_string(commit.batches[i].batch) +
                                     ": " + statuses[i].to_string());
      continue;
    }
    observe_applied(g, commit.batches[i].records);
  }
  return true;
}

void Cluster::sync_done(Gateway& g, bool crash_after) {
  std::vector<Status> statuses;
  if (!apply(g, statuses)) return crash(g, "the store failed");
  const core::CommitId id = g.disk->id;
  g.disk.reset();
  if (crash_after) return crash(g, "after commit " + std::to_string(id) + ", before Committed");
  feed(g, core::Committed{id, std::move(statuses)});
}

bool Cluster::scripted(ScriptedFault::Kind kind, const Gateway& g, int count) {
  for (const ScriptedFault& s : scenario_.faults.scripted) {
    if (s.kind == kind && s.party == g.party && s.nth == count) return true;
  }
  return false;
}

// The simulated timer, armed after every event as the daemon arms its one timer: it waits in
// true time for (the node's deadline - the wall clock now), so a clock jump while it waits
// does not move it.
void Cluster::rearm(Gateway& g) {
  const std::optional<Time> when = g.node->next_deadline();
  const Time fires = when ? now_ + std::max(Duration::zero(), *when - wall(g)) : now_;
  // Only heartbeats due: the timer does not keep the run going.
  const bool background = !g.node->next_work_deadline() && !g.node->committing();
  if (when == g.timer_at &&
      (!when || (fires == g.timer_fires && background == g.timer_background))) {
    return;  // armed for that very moment already
  }
  g.timer_at = when;
  g.timer_fires = fires;
  g.timer_background = background;
  disarm(g);
  const std::uint64_t generation = g.timer_generation;
  if (!when) return;
  const int index = g.index;
  const int incarnation = g.incarnation;
  g.timer_task = at(
      fires,
      [this, index, incarnation, generation] {
        Gateway& gw = *gateways_[index];
        if (!alive(gw, incarnation) || gw.timer_generation != generation) return;
        gw.timer_at.reset();
        gw.timer_task.reset();
        feed(gw, core::Tick{});
      },
      background);
}

void Cluster::on_accepted(Gateway& g, const core::Accepted& a) {
  const auto it = g.principal.find(a.request);
  if (it == g.principal.end()) return;
  const PrincipalRequest request = it->second;
  g.principal.erase(it);
  if (request.cancel) {
    ++outcome_.stats.cancelled;
    outcome_.stats.cancelled_ids.push_back(request.target);
    cancelled_.insert(request.target);
    trace(&g, "message " + request.target + " cancelled");
    Result<std::optional<core::MessageRecord>> stored = g.store->get_message(request.target);
    if (!stored.is_ok() || !stored->has_value() ||
        (*stored)->state != core::MessageState::kCancelled) {
      violation("accepted-before-durable",
                g.party + " accepted the cancel of " + request.target + " before storing it");
    }
    return;
  }
  ++outcome_.stats.accepted;
  if (request.ack) ++outcome_.stats.acks_accepted;
  outcome_.stats.accepted_ids.push_back(a.message_id);
  accepted_by_[a.message_id] = g.index;
  trace(&g, std::string(request.ack ? "ack " : "message ") + a.message_id + " Accepted");
  // DESIGN.md: accepted only after it is durably stored.
  Result<std::optional<core::MessageRecord>> stored = g.store->get_message(a.message_id);
  if (!stored.is_ok() || !stored->has_value()) {
    violation("accepted-before-durable",
              g.party + " accepted " + a.message_id + " that its store does not hold");
  }
  if (request.ack) {
    ack_busy_.erase({g.index, request.target});
  } else {
    consider_cancel(g, a.message_id);
  }
  // Issue 12: the gateway answers an automatic test; a person never does.
  if (request.ack && automatic_test_at(g, request.target)) {
    violation("test-acked-by-principal",
              g.party + " accepted a principal's ack of automatic test " + request.target);
  }
}

void Cluster::on_rejected(Gateway& g, const core::Rejected& r) {
  const auto it = g.principal.find(r.request);
  if (it == g.principal.end()) return;
  const PrincipalRequest request = it->second;
  g.principal.erase(it);
  trace(&g, "request #" + std::to_string(r.request) + " Rejected: " + r.status.to_string());
  if (request.cancel) {
    // It has left (kFailedPrecondition), or is settled and out of the queue (kNotFound): the
    // principal asked too late. A principal of the line may always ask.
    if (r.status.code() != StatusCode::kFailedPrecondition &&
        r.status.code() != StatusCode::kNotFound) {
      violation("cancel-rejected", g.party + " rejected the cancel of " + request.target + ": " +
                                       r.status.to_string());
    }
    return;
  }
  if (!request.ack) {
    violation("submission-rejected", g.party + " rejected a valid submission on " + request.line +
                                         ": " + r.status.to_string());
    return;
  }
  ack_busy_.erase({g.index, request.target});
  // A principal who tries to acknowledge an automatic test is told the gateway answers it.
  if (r.status.code() == StatusCode::kFailedPrecondition && automatic_test_at(g, request.target)) {
    ++outcome_.stats.tests_refused_acks;
    return;
  }
  // After a crash between the ack's write and its Accepted, the principal's retry finds it
  // acknowledged already: that refusal is right. Any other is not.
  if (r.status.code() != StatusCode::kAlreadyExists) {
    violation("ack-rejected",
              g.party + " rejected the ack of " + request.target + ": " + r.status.to_string());
  }
}

void Cluster::on_notice(Gateway& g, const core::Notice& n) {
  trace(&g, "notice " + std::string(core::notice_kind_name(n.kind)) + ": " + n.text);
  if (n.kind == core::NoticeKind::kMessageReceived) {
    ++outcome_.stats.received;
    if (++received_notices_[{g.index, n.message_id}] > 1) {
      violation("notified-twice", g.party + " announced message " + n.message_id + " " +
                                      std::to_string(received_notices_[{g.index, n.message_id}]) +
                                      " times");
    }
    Result<std::optional<core::MessageRecord>> stored = g.store->get_message(n.message_id);
    if (!stored.is_ok() || !stored->has_value()) {
      violation("notice-before-durable",
                g.party + " announced " + n.message_id + " before storing it");
    }
    consider_ack(g, n.message_id);
  } else if (n.kind == core::NoticeKind::kDelivered) {
    if (++outcome_.stats.delivered_notices[n.message_id] > 1) {
      violation("notified-twice",
                g.party + " announced the delivery of " + n.message_id + " " +
                    std::to_string(outcome_.stats.delivered_notices[n.message_id]) + " times");
    }
    Result<std::optional<core::MessageRecord>> stored = g.store->get_message(n.message_id);
    if (!stored.is_ok() || !stored->has_value() || !(*stored)->receipt) {
      violation("notice-before-durable", g.party + " announced the delivery of " + n.message_id +
                                             " before storing its receipt");
    }
  } else if (n.kind == core::NoticeKind::kMessageRefused) {
    ++outcome_.stats.refused;
  } else if (n.kind == core::NoticeKind::kForkDetected) {
    // Nothing in the simulation forks a log: crashes, restarts and rotations must not look so.
    violation("fork-alarm", g.party + ": " + n.text);
  } else if (n.kind == core::NoticeKind::kPeerKeyRotated) {
    observe_rotation_notice(g, n);
  } else if (n.kind == core::NoticeKind::kEscalation) {
    // Our message's first alert is what told its sender it went overdue.
    if (n.first && n.side == core::EscalationSide::kSender) ++outcome_.stats.overdue;
    observe_alert(g, n);
  }
}

}  // namespace parley::sim
