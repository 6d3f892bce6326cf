// NodeFeed: the order in which a node is fed its events. Sans-I/O.
//
// A node handles one event at a time (node.h). Carrying out an action can cause another event
// at once (a synchronous store's Committed, an answer that completes a request): that event
// must not be fed from inside the handling of the first, but queued and fed after the first
// one's actions are all carried out, in the order they arose. `parley gateway`'s driver and the
// simulator both feed their node through a NodeFeed, so that order is the same in both:
//
//   if (!feed.push(std::move(event))) return;  // a drain is running: it gets to it
//   while (std::optional<NodeEvent> next = feed.next()) { node.handle(*next, ...); ... }
//
// A drain ends when next() finds the queue empty; the feed is then idle again.
#pragma once

#include <deque>
#include <optional>
#include <utility>

#include "parley/core/node.h"

namespace parley::core {

class NodeFeed {
 public:
  // Queues `event`. True if no drain is running: the caller must now drain with next().
  [[nodiscard]] bool push(NodeEvent event) {
    queue_.push_back(std::move(event));
    if (draining_) return false;
    draining_ = true;
    return true;
  }

  // The next event of the running drain, or nullopt (and the drain is over) once none is left.
  std::optional<NodeEvent> next() {
    if (queue_.empty()) {
      draining_ = false;
      return std::nullopt;
    }
    NodeEvent event = std::move(queue_.front());
    queue_.pop_front();
    return event;
  }

  bool draining() const { return draining_; }
  // Whether the running drain has an event left (next() would give one).
  bool has_next() const { return !queue_.empty(); }

  // Forgets what is queued and any drain (the process the node lived in died).
  void reset() {
    queue_.clear();
    draining_ = false;
  }

 private:
  std::deque<NodeEvent> queue_;
  bool draining_ = false;
};

}  // namespace parley::core
