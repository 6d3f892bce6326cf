// InboundAcks: the peer's messages that wait for one of our principals to acknowledge them,
// and their acknowledgment deadlines, as the receiving side watches them. Sans-I/O, pure.
//
// DESIGN.md: "Deadlines are watched on both sides." The sender marks its message overdue
// when the deadline passes unacknowledged (core/peer_session.h, Unacked); the receiver does
// the same for what it holds: each inbound message (not an ack) is watched from the moment
// it is durable until an ack of ours is durable, with the deadline the record holds
// (`created` plus the line's deadline for its precedence, as the sender computes it). A
// deadline that passes marks the message overdue once; an ack afterwards still works.
//
// It is also where an acknowledgment finds its message: the event names a message id, and
// the core answers from what it holds here, without the store. Held: every message still
// awaiting an ack (recovered at start: Recovered::inbound_unacknowledged), and, since
// start, the messages that await none (acknowledged, an ack itself, refused) with the
// reason, so a second ack is refused as such. A message settled before the last start is
// not held (start-up reads what is pending, never the history): its id is unknown here.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "parley/base/time.h"
#include "parley/core/model.h"

namespace parley::core {

// One inbound message waiting for our acknowledgment.
struct AwaitingAck {
  std::string line;
  wire::Address from;  // who wrote it: our ack goes to this address
  Precedence precedence = Precedence::kRoutine;
  Time deadline;                      // the record's ack_deadline
  bool overdue = false;               // the deadline passed; marked (stored, notified) once
  std::optional<std::string> ack_by;  // an ack by "party/principal" is being stored
  std::string addressee = {};         // the envelope's `to` principal: alerted first
  bool shown = false;                 // our stage.shown entry for it is written (or being)
  // An automatic line test (core/line_test.h): our gateway answers it, never a principal.
  bool automatic = false;
};

// An inbound message that awaits no acknowledgment (any more), since start.
struct SettledInbound {
  std::string line;
  std::string why;  // e.g. "already acknowledged by us-eucom/saceur"
};

class InboundAcks {
 public:
  // Starts watching `id` (unless it is held already, waiting or settled).
  void watch(const std::string& id, AwaitingAck awaiting);
  // Notes that `id` awaits no acknowledgment, and why (unless it is held already).
  void settle(const std::string& id, SettledInbound settled);

  const AwaitingAck* awaiting(std::string_view id) const;
  const SettledInbound* settled(std::string_view id) const;
  bool holds(std::string_view id) const {
    return awaiting(id) != nullptr || settled(id) != nullptr;
  }

  // An ack of `id` by `by` is being stored: its deadline is no longer watched, and another
  // ack is refused. `id` must be awaiting, with no ack pending.
  void ack_pending(const std::string& id, std::string by);
  // That ack was not stored: `id` waits for an ack (and its deadline) again.
  void ack_failed(const std::string& id);
  // That ack is durable: `id` is settled, acknowledged by whom ack_pending said.
  void ack_durable(const std::string& id);
  // `id` (awaiting) was shown to a principal: its stage.shown entry is being written.
  void mark_shown(const std::string& id);

  // The ids whose deadline is at or before `now`, in id order, each now overdue: each is
  // returned once in its life.
  std::vector<std::string> take_due(Time now);
  // The earliest deadline still watched, if any.
  std::optional<Time> next_deadline() const;

  std::size_t waiting() const { return awaiting_.size(); }
  const std::map<std::string, AwaitingAck, std::less<>>& all_awaiting() const { return awaiting_; }
  std::size_t overdue() const;

 private:
  void unwatch(const std::string& id, const AwaitingAck& a) { deadlines_.erase({a.deadline, id}); }

  std::map<std::string, AwaitingAck, std::less<>> awaiting_;
  // (deadline, id) of each awaiting message neither overdue nor with an ack pending.
  std::set<std::pair<Time, std::string>> deadlines_;
  std::map<std::string, SettledInbound, std::less<>> settled_;
};

}  // namespace parley::core
