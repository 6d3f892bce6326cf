// The state machine of an outbound message (docs/protocol.md "States"), in one function.
//
// Every change of an outbound message's state goes through transition(): it changes the
// record the session holds in memory and returns the UpdateMessage that makes the same
// change durable, so the two cannot disagree. Pure: the time of the change is a value.
//
//   queued --reached the peer--> sent --receipted--> delivered --acked--> acknowledged
//   queued/sent --expires passed--> expired (final unless a receipt arrives: it wins)
//   queued/sent/expired --receipt refuses it--> refused (expired stays expired)
//   queued/sent/delivered --ack deadline passed--> overdue (an ack still wins)
//   queued/overdue --cancelled by its sender, never carried--> cancelled (final: never leaves)
//   (carried: a transaction that holds it is about to leave; the state stays, its tx is kept)
//
// The receiver's record of the peer's message takes the last two steps too: delivered
// --our principal acked--> acknowledged; delivered --ack deadline passed--> overdue.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "parley/base/time.h"
#include "parley/core/model.h"

namespace parley::core {

enum class MessageEvent {
  kReachedPeer,     // a transaction carrying it was answered by the peer (any HTTP answer)
  kReceipted,       // the peer's valid receipt lists it as received
  kRefusedByPeer,   // the peer's valid receipt lists it as refused (with a reason)
  kAcknowledged,    // acknowledged: by the peer's principal (ours), by ours (the peer's)
  kDeadlinePassed,  // its ack deadline passed unacknowledged
  kExpired,         // its `expires` passed before a receipt
  // Its sender (or an alternate on its line) cancelled it. Only a message no transaction has
  // carried yet may be cancelled: the outbox decides that (Outbox::cancel), not next_state.
  kCancelled,
  // A transaction carrying it for the first time is about to leave (its head's batch): the
  // state stays, the transaction is recorded, so that after a restart the message is known
  // to have possibly reached the peer (it can no longer be cancelled).
  kCarried,
};

struct MessageChange {
  MessageChange(MessageEvent e, Time t) : event(e), at(t) {}
  MessageEvent event;
  Time at;
  std::optional<std::string> tx;               // the transaction that carried it
  std::optional<std::string> receipt;          // kReceipted, kRefusedByPeer
  std::optional<std::string> refusal;          // kRefusedByPeer
  std::optional<std::string> acknowledged_by;  // kAcknowledged
  std::optional<std::string> ack_id;           // kAcknowledged
  std::optional<std::string> cancelled_by;     // kCancelled: "party/principal"
};

// The state `current` becomes on `event` (unchanged when the event does not apply to it).
MessageState next_state(MessageState current, MessageEvent event);

// Applies `change` to `record` and returns the update that stores the same change. Fields
// the change does not touch are left unset in the update (the store keeps them).
UpdateMessage transition(MessageRecord& record, const MessageChange& change);

// The four signed stages of a message (DESIGN.md, docs/protocol.md "Stages"), each the time
// it was reached, none if not yet. Each is signed by the receiving party: stored, its
// receipt (kept as delivered_at); shown, its stage.shown entry (the entry's created); acknowledged,
// its ack (acknowledged_at); answered, its first message replying to it that is no protocol
// entry (the reply's created).
struct Stages {
  std::optional<Time> stored;
  std::optional<Time> shown;
  std::optional<Time> acknowledged;
  std::optional<Time> answered;
};
// The stages of `message` from the messages that name it in reply_to (Store::replies_to):
// only those written by the party that received it (the other direction) count.
Stages stages_of(const MessageRecord& message, const std::vector<MessageRecord>& replies);

}  // namespace parley::core
