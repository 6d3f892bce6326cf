// PathMonitor: the health of the federation paths to one peer, and which one carries traffic.
// Sans-I/O.
//
// A peer's bundle lists its federation addresses, primary first (DESIGN.md "Federation").
// Each address is a path. The monitor asks for a heartbeat on every path every
// `heartbeat_interval`; the node (core/node.h) turns that into PostHeartbeat, the driver sends
// it (POST /federation/v1/heartbeat over mutual TLS) and reports the outcome. Any successful
// exchange on a path, heartbeat or transaction, counts as contact; a failed one as a miss. A path
// is
//   - unknown until its first contact or until it is declared down,
//   - up after a contact (a down path needs `answers_to_up` consecutive answers, so that a
//     flapping link does not drag traffic back and forth),
//   - down after `misses_to_down` consecutive misses; the path carrying traffic already after
//     `misses_to_failover` while another path is up and answered at least a heartbeat period
//     after this one last did (traffic has somewhere better to go, and each further period
//     waited costs every message in flight; a peer too busy to answer stalls every path alike
//     and gets the full `misses_to_down`),
//   - down also after `traffic_failures_to_down` consecutive transactions without an answer,
//     even while its heartbeats are answered: heartbeats ride a long-lived connection and can
//     pass while no new connection (or no transaction) gets through, e.g. when the peer's
//     server is flooded with idle connections. Heartbeats alone bring such a path back up
//     only after `traffic_retry_after` (then one more failed transaction marks it down
//     again); a transaction answered on it brings it back at once (with `answers_to_up`).
// Traffic goes on best_path(): the first path that is up; else the first unknown; else the
// primary. There is never "no path": when everything is down, traffic keeps trying the
// primary (and the peer session keeps its own backoff). When best_path() changes, the monitor
// emits PathChanged, which the driver logs and raises as an alert; every up/down transition
// of a single path is a PathStateChanged (a backup that dies while the primary is fine is
// worth an operator's attention too).
//
// The monitor owns no socket, timer or clock: time arrives with each event, and the driver
// feeds HeartbeatDue when next_deadline() has come.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "parley/base/time.h"

namespace parley::core {

using PathIndex = std::size_t;  // position in the peer's federation list; 0 is the primary

enum class PathState { kUnknown, kUp, kDown };
std::string_view path_state_name(PathState state);  // "unknown", "up", "down"

struct PathConfig {
  Duration heartbeat_interval = std::chrono::seconds(1);
  int misses_to_down = 3;  // consecutive misses that mark a path down
  // Consecutive misses that mark the path carrying traffic down while another path is up:
  // fewer than `misses_to_down`, so that a cut moves traffic within two heartbeat periods
  // (under a second at [federation] heartbeat = "200ms") and not three or four.
  int misses_to_failover = 2;
  // How long the driver waits for a heartbeat's answer before reporting HeartbeatFailed.
  Duration heartbeat_timeout = std::chrono::seconds(1);
  int answers_to_up = 2;  // consecutive answers that bring a down path back up
  // Consecutive transactions without an answer that mark a path down, heartbeats or not.
  int traffic_failures_to_down = 3;
  // How long heartbeats alone cannot bring back up a path that traffic marked down.
  Duration traffic_retry_after = std::chrono::seconds(30);
};

// ---- events ----
struct HeartbeatDue {};     // next_deadline() has come
struct HeartbeatAnswered {  // the peer answered heartbeat `id` on `path`
  PathIndex path = 0;
  std::uint64_t id = 0;
};
struct HeartbeatFailed {  // heartbeat `id`: no answer within its timeout, or an I/O error
  PathIndex path = 0;
  std::uint64_t id = 0;
  std::string reason;
};
struct TrafficAnswered {  // the peer answered a transaction on `path` (any HTTP status)
  PathIndex path = 0;
};
struct TrafficFailed {  // a transaction on `path` got no answer
  PathIndex path = 0;
  std::string reason;
};
using PathEvent =
    std::variant<HeartbeatDue, HeartbeatAnswered, HeartbeatFailed, TrafficAnswered, TrafficFailed>;

// ---- actions ----
struct SendHeartbeat {  // send one heartbeat on `path`; report Answered/Failed{path, id}
  PathIndex path = 0;
  std::uint64_t id = 0;  // unique per monitor, increasing
  Duration timeout{};
};
struct PathChanged {  // best_path() moved from `from` to `to`
  PathIndex from = 0;
  PathIndex to = 0;
  std::string reason;  // one human-readable line
  // Worth an operator's attention: traffic leaves a path that is down, or returns to one
  // that had been down. False when the first answers at start merely settle the order.
  bool alert = true;
};
struct PathStateChanged {  // one path went up or down
  PathIndex path = 0;
  PathState from = PathState::kUnknown;
  PathState to = PathState::kUnknown;
  std::string reason;  // one human-readable line
};
using PathAction = std::variant<SendHeartbeat, PathChanged, PathStateChanged>;

struct PathStatus {
  std::string address;
  PathState state = PathState::kUnknown;
  std::optional<Time> last_contact;
  std::string last_error;  // the last miss's reason; kept after recovery
  int consecutive_misses = 0;
  int consecutive_answers = 0;
  int consecutive_traffic_failures = 0;  // reset only by an answered transaction
  std::optional<Time> traffic_down_at;   // when failed transactions marked it down
  std::uint64_t times_down = 0;          // transitions to down since start
  std::uint64_t heartbeat_id = 0;        // the outstanding heartbeat's id; 0: none
  std::optional<Time> heartbeat_sent;    // when it was asked for
};

class PathMonitor {
 public:
  using Config = PathConfig;

  // `addresses` is the peer's federation list, primary first (a bundle holds at least one).
  explicit PathMonitor(std::vector<std::string> addresses, PathConfig config = {});

  // Applies `event`, observed at `now`, and appends the actions it causes to `out`.
  // HeartbeatDue asks for a heartbeat on every path and sets the next deadline to
  // `now + heartbeat_interval`; a path whose previous heartbeat is still unanswered after
  // `heartbeat_timeout` counts it as missed first (its late failure is then ignored; a late
  // answer still counts as contact), and one still within its timeout gets no second one.
  // An event naming a path outside the list is a bug of the caller (checked).
  void handle(const PathEvent& event, Time now, std::vector<PathAction>& out);

  // When HeartbeatDue is next due. Before the first HeartbeatDue: the epoch (at once).
  Time next_deadline() const { return next_due_; }

  // Where traffic goes now: the first up path, else the first unknown, else the primary.
  PathIndex best_path() const { return current_; }

  const std::vector<PathStatus>& paths() const { return paths_; }
  const PathConfig& config() const { return config_; }

 private:
  // `proves_traffic`: a transaction was answered, not just a heartbeat.
  void contact(PathIndex path, Time now, bool proves_traffic, std::vector<PathAction>& out);
  void miss(PathIndex path, const std::string& reason, std::vector<PathAction>& out);
  void traffic_miss(PathIndex path, const std::string& reason, Time now,
                    std::vector<PathAction>& out);
  void set_state(PathIndex path, PathState state, std::string reason, std::vector<PathAction>& out);
  PathIndex compute_best() const;
  // How many consecutive misses mark `path` down now (misses_to_failover or misses_to_down).
  int misses_allowed(PathIndex path) const;
  void update_best(std::vector<PathAction>& out);

  PathConfig config_;
  std::vector<PathStatus> paths_;
  Time next_due_{};
  PathIndex current_ = 0;
  std::uint64_t next_heartbeat_id_ = 1;
};

}  // namespace parley::core
