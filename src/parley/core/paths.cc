#include "parley/core/paths.h"

#include <algorithm>
#include <utility>

#include "parley/base/check.h"

namespace parley::core {

std::string_view path_state_name(PathState state) {
  switch (state) {
    case PathState::kUnknown:
      return "unknown";
    case PathState::kUp:
      return "up";
    case PathState::kDown:
      return "down";
  }
  return "unknown";
}

PathMonitor::PathMonitor(std::vector<std::string> addresses, PathConfig config) : config_(config) {
  // Defaults that would make no sense are our own bug (the config parser validates them).
  PARLEY_CHECK(config_.heartbeat_interval.count() > 0);
  PARLEY_CHECK(config_.heartbeat_timeout.count() > 0);
  PARLEY_CHECK(config_.misses_to_down >= 1);
  PARLEY_CHECK(config_.misses_to_failover >= 1);
  PARLEY_CHECK(config_.answers_to_up >= 1);
  paths_.reserve(addresses.size());
  for (std::string& address : addresses) {
    PathStatus status;
    status.address = std::move(address);
    paths_.push_back(std::move(status));
  }
}

void PathMonitor::handle(const PathEvent& event, Time now, std::vector<PathAction>& out) {
  std::visit(
      [&](const auto& e) {
        using E = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<E, HeartbeatDue>) {
          for (PathIndex i = 0; i < paths_.size(); ++i) {
            PathStatus& p = paths_[i];
            if (p.heartbeat_id != 0) {
              // The driver's own timeout ends when this one falls due, and either may come
              // first: judge the heartbeat here rather than skip a beat.
              if (now - *p.heartbeat_sent < config_.heartbeat_timeout) continue;
              p.heartbeat_id = 0;
              miss(i,
                   "no answer to a heartbeat within " +
                       std::to_string(config_.heartbeat_timeout.count()) + "ms",
                   out);
            }
            p.heartbeat_id = next_heartbeat_id_++;
            p.heartbeat_sent = now;
            out.push_back(SendHeartbeat{i, p.heartbeat_id, config_.heartbeat_timeout});
          }
          next_due_ = now + config_.heartbeat_interval;
        } else if constexpr (std::is_same_v<E, HeartbeatAnswered>) {
          PARLEY_CHECK(e.path < paths_.size());
          // Even a late answer shows the path carries traffic.
          if (paths_[e.path].heartbeat_id == e.id) paths_[e.path].heartbeat_id = 0;
          contact(e.path, now, /*proves_traffic=*/false, out);
        } else if constexpr (std::is_same_v<E, HeartbeatFailed>) {
          PARLEY_CHECK(e.path < paths_.size());
          if (paths_[e.path].heartbeat_id != e.id) return;  // already counted as missed
          paths_[e.path].heartbeat_id = 0;
          miss(e.path, e.reason, out);
        } else if constexpr (std::is_same_v<E, TrafficAnswered>) {
          PARLEY_CHECK(e.path < paths_.size());
          contact(e.path, now, /*proves_traffic=*/true, out);
        } else if constexpr (std::is_same_v<E, TrafficFailed>) {
          PARLEY_CHECK(e.path < paths_.size());
          miss(e.path, e.reason, out);
          traffic_miss(e.path, e.reason, now, out);
        }
      },
      event);
  update_best(out);
}

void PathMonitor::contact(PathIndex path, Time now, bool proves_traffic,
                          std::vector<PathAction>& out) {
  PathStatus& p = paths_[path];
  p.last_contact = now;
  p.consecutive_misses = 0;
  if (proves_traffic) {
    p.consecutive_traffic_failures = 0;
    p.traffic_down_at.reset();
  } else if (p.traffic_down_at && now - *p.traffic_down_at < config_.traffic_retry_after) {
    return;  // heartbeats pass, but transactions did not: no proof the path carries traffic
  }
  ++p.consecutive_answers;
  switch (p.state) {
    case PathState::kUp:
      return;
    case PathState::kUnknown:
      set_state(path, PathState::kUp, p.address + " is up", out);
      return;
    case PathState::kDown:
      if (p.consecutive_answers >= config_.answers_to_up) {
        set_state(path, PathState::kUp,
                  p.address + " is up again (" + std::to_string(p.consecutive_answers) +
                      " answers in a row)",
                  out);
      }
      return;
  }
}

void PathMonitor::miss(PathIndex path, const std::string& reason, std::vector<PathAction>& out) {
  PathStatus& p = paths_[path];
  p.last_error = reason;
  p.consecutive_answers = 0;
  ++p.consecutive_misses;
  if (p.state != PathState::kDown && p.consecutive_misses >= misses_allowed(path)) {
    ++p.times_down;
    set_state(path, PathState::kDown,
              p.address + " is down: " + std::to_string(p.consecutive_misses) +
                  " exchanges in a row failed (last: " + reason + ")",
              out);
  }
}

void PathMonitor::traffic_miss(PathIndex path, const std::string& reason, Time now,
                               std::vector<PathAction>& out) {
  PathStatus& p = paths_[path];
  ++p.consecutive_traffic_failures;
  if (p.consecutive_traffic_failures < config_.traffic_failures_to_down) return;
  if (p.state == PathState::kDown) {
    if (p.traffic_down_at) return;  // already counted
    // Down for missed heartbeats, and traffic fails too: heartbeats alone must not end it.
    p.traffic_down_at = now;
    return;
  }
  p.traffic_down_at = now;
  p.consecutive_answers = 0;
  ++p.times_down;
  set_state(
      path, PathState::kDown,
      p.address + " is down: " + std::to_string(p.consecutive_traffic_failures) +
          " transactions in a row got no answer, though heartbeats may pass (last: " + reason + ")",
      out);
}

void PathMonitor::set_state(PathIndex path, PathState state, std::string reason,
                            std::vector<PathAction>& out) {
  PathStatus& p = paths_[path];
  out.push_back(PathStateChanged{path, p.state, state, std::move(reason)});
  p.state = state;
}

int PathMonitor::misses_allowed(PathIndex path) const {
  if (path != current_) return config_.misses_to_down;
  const std::optional<Time>& last = paths_[path].last_contact;
  for (PathIndex i = 0; i < paths_.size(); ++i) {
    const PathStatus& other = paths_[i];
    if (i == path || other.state != PathState::kUp || !other.last_contact) continue;
    // The other path answered at least a period after this one last did: the peer is alive
    // and this path alone is silent. A peer too busy to answer (a long commit, a starved
    // CPU) stalls every path alike, and must not make traffic flap between them.
    if (!last || *other.last_contact - *last >= config_.heartbeat_interval) {
      return std::min(config_.misses_to_failover, config_.misses_to_down);
    }
  }
  // Nowhere better to go: marking the path down sooner would only raise the alert sooner.
  return config_.misses_to_down;
}

PathIndex PathMonitor::compute_best() const {
  for (PathIndex i = 0; i < paths_.size(); ++i) {
    if (paths_[i].state == PathState::kUp) return i;
  }
  for (PathIndex i = 0; i < paths_.size(); ++i) {
    if (paths_[i].state == PathState::kUnknown) return i;
  }
  return 0;
}

void PathMonitor::update_best(std::vector<PathAction>& out) {
  const PathIndex best = compute_best();
  if (best == current_) return;
  const PathStatus& from = paths_[current_];
  const PathStatus& to = paths_[best];
  std::string reason;
  if (best < current_) {
    reason = "traffic moves back to " + to.address + " (" + std::string(path_state_name(to.state)) +
             ") from " + from.address + " (" + std::string(path_state_name(from.state)) + ")";
  } else {
    reason = "traffic moves from " + from.address + " (" +
             std::string(path_state_name(from.state)) +
             (from.last_error.empty() ? "" : ": " + from.last_error) + ") to " + to.address + " (" +
             std::string(path_state_name(to.state)) + ")";
  }
  const bool alert = from.state == PathState::kDown || (best < current_ && to.times_down > 0);
  out.push_back(PathChanged{current_, best, std::move(reason), alert});
  current_ = best;
}

}  // namespace parley::core
