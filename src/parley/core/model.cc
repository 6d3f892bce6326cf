#include "parley/core/model.h"

namespace parley::core {

Duration PerPrecedence::for_precedence(Precedence p) const {
  switch (p) {
    case Precedence::kFlash:
      return flash;
    case Precedence::kImmediate:
      return immediate;
    case Precedence::kPriority:
      return priority;
    case Precedence::kRoutine:
      return routine;
  }
  return routine;
}

void PerPrecedence::set(Precedence p, Duration d) {
  switch (p) {
    case Precedence::kFlash:
      flash = d;
      return;
    case Precedence::kImmediate:
      immediate = d;
      return;
    case Precedence::kPriority:
      priority = d;
      return;
    case Precedence::kRoutine:
      routine = d;
      return;
  }
}

bool is_protocol_type(std::string_view type) {
  return type == kAckType || type == kEvidenceUnacknowledgedType || type == kStageShownType;
}

std::string_view direction_name(Direction d) {
  switch (d) {
    case Direction::kOutbound:
      return "outbound";
    case Direction::kInbound:
      return "inbound";
  }
  return "outbound";
}

std::string_view state_name(MessageState s) {
  switch (s) {
    case MessageState::kQueued:
      return "queued";
    case MessageState::kSent:
      return "sent";
    case MessageState::kDelivered:
      return "delivered";
    case MessageState::kAcknowledged:
      return "acknowledged";
    case MessageState::kOverdue:
      return "overdue";
    case MessageState::kExpired:
      return "expired";
    case MessageState::kRefused:
      return "refused";
    case MessageState::kCancelled:
      return "cancelled";
  }
  return "queued";
}

Result<MessageState> parse_state(std::string_view text) {
  if (text == "queued") return MessageState::kQueued;
  if (text == "sent") return MessageState::kSent;
  if (text == "delivered") return MessageState::kDelivered;
  if (text == "acknowledged") return MessageState::kAcknowledged;
  if (text == "overdue") return MessageState::kOverdue;
  if (text == "expired") return MessageState::kExpired;
  if (text == "refused") return MessageState::kRefused;
  if (text == "cancelled") return MessageState::kCancelled;
  return Status::invalid_argument(
      "unknown state '" + std::string(text) +
      "' (queued, sent, delivered, acknowledged, overdue, expired, refused, cancelled)");
}

}  // namespace parley::core
