#include "parley/core/message_state.h"

#include "parley/catalog/catalog.h"

namespace parley::core {

namespace {

// A state that delivery progress (sent, receipted) never overwrites.
bool settled(MessageState s) {
  switch (s) {
    case MessageState::kAcknowledged:
    case MessageState::kOverdue:
    case MessageState::kRefused:
    case MessageState::kCancelled:
      return true;
    case MessageState::kQueued:
    case MessageState::kSent:
    case MessageState::kDelivered:
    case MessageState::kExpired:
      return false;
  }
  return false;
}

}  // namespace

MessageState next_state(MessageState current, MessageEvent event) {
  // Final: it never left, so nothing the peer or a deadline does concerns it.
  if (current == MessageState::kCancelled) return current;
  switch (event) {
    case MessageEvent::kReachedPeer:
      return current == MessageState::kQueued ? MessageState::kSent : current;
    case MessageEvent::kReceipted:
      // A receipt says what truly happened: the peer took it, even after our clock said
      // it expired (the receiver decides by its own clock).
      return settled(current) ? current : MessageState::kDelivered;
    case MessageEvent::kRefusedByPeer:
      if (current == MessageState::kExpired) return current;  // refused because it expired
      return current == MessageState::kAcknowledged ? current : MessageState::kRefused;
    case MessageEvent::kAcknowledged:
      return current == MessageState::kRefused ? current : MessageState::kAcknowledged;
    case MessageEvent::kDeadlinePassed:
      return current == MessageState::kQueued || current == MessageState::kSent ||
                     current == MessageState::kDelivered
                 ? MessageState::kOverdue
                 : current;
    case MessageEvent::kExpired:
      return current == MessageState::kQueued || current == MessageState::kSent ||
                     current == MessageState::kOverdue
                 ? MessageState::kExpired
                 : current;
    case MessageEvent::kCancelled:
      return current == MessageState::kQueued || current == MessageState::kOverdue
                 ? MessageState::kCancelled
                 : current;
    case MessageEvent::kCarried:
      return current;
  }
  return current;
}

UpdateMessage transition(MessageRecord& record, const MessageChange& change) {
  record.state = next_state(record.state, change.event);
  UpdateMessage update;
  update.id = record.id;
  update.state = record.state;
  if (change.tx) record.tx = change.tx;
  update.tx = change.tx;
  switch (change.event) {
    case MessageEvent::kReceipted:
      record.delivered_at = change.at;
      update.delivered_at = change.at;
      break;
    case MessageEvent::kAcknowledged:
      record.acknowledged_at = change.at;
      record.acknowledged_by = change.acknowledged_by;
      record.ack_id = change.ack_id;
      update.acknowledged_at = change.at;
      update.acknowledged_by = change.acknowledged_by;
      update.ack_id = change.ack_id;
      break;
    case MessageEvent::kRefusedByPeer:
      record.refusal = change.refusal;
      update.refusal = change.refusal;
      break;
    case MessageEvent::kCancelled:
      if (record.state != MessageState::kCancelled) break;  // it did not apply
      record.cancelled_at = change.at;
      record.cancelled_by = change.cancelled_by;
      update.cancelled_at = change.at;
      update.cancelled_by = change.cancelled_by;
      break;
    case MessageEvent::kReachedPeer:
    case MessageEvent::kDeadlinePassed:
    case MessageEvent::kExpired:
    case MessageEvent::kCarried:
      break;
  }
  if (change.receipt) {
    record.receipt = change.receipt;
    update.receipt = change.receipt;
  }
  return update;
}

Stages stages_of(const MessageRecord& message, const std::vector<MessageRecord>& replies) {
  Stages s;
  if (message.state != MessageState::kRefused) s.stored = message.delivered_at;
  s.acknowledged = message.acknowledged_at;
  const auto earliest = [](std::optional<Time>& at, Time t) {
    if (!at || t < *at) at = t;
  };
  for (const MessageRecord& r : replies) {
    if (r.reply_to != message.id || r.direction == message.direction) continue;
    if (r.type == kStageShownType) {
      earliest(s.shown, r.created);
    } else if (!is_protocol_type(r.type) && r.type != catalog::kTranslationType &&
               r.state != MessageState::kRefused) {
      // A translation names the message it translates in reply_to too, but answers nothing.
      earliest(s.answered, r.created);
    }
  }
  return s;
}

}  // namespace parley::core
