// The core's data model: configuration (parties, principals, lines) and the records the
// core asks the store to make durable. Shared by core/, store/ and gateway/.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "parley/base/bytes.h"
#include "parley/base/time.h"
#include "parley/crypto/crypto.h"
#include "parley/wire/wire.h"

namespace parley::core {

using wire::Precedence;

// The acknowledgment deadline for each precedence (DESIGN.md defaults: 5m, 30m, 3h, 6h).
struct Deadlines {
  Duration flash = std::chrono::minutes(5);
  Duration immediate = std::chrono::minutes(30);
  Duration priority = std::chrono::hours(3);
  Duration routine = std::chrono::hours(6);
  Duration for_precedence(Precedence p) const;
  void set(Precedence p, Duration d);
};

// A standing channel between a local principal and a remote one. The same line id is
// configured on both parties, each from its own side.
struct Line {
  std::string id;
  std::string local;                    // local principal id
  wire::Address remote;                 // the counterpart
  std::vector<std::string> alternates;  // local principals who may also read and ack
  std::vector<std::string> observers;   // observer parties (recorded; used by a later issue)
  Deadlines deadlines;
};

struct Principal {
  std::string id;
  std::string name;
  std::string role;
  Bytes token_hash;  // SHA-256 of the bearer token; the token itself is never stored
};

// A pinned peer: its bundle as given out of band.
struct Peer {
  wire::Bundle bundle;
};

enum class Direction { kOutbound, kInbound };
std::string_view direction_name(Direction d);  // "outbound", "inbound"

// DESIGN.md states. Outbound: queued -> sent -> delivered -> acknowledged, or overdue once
// the ack deadline passed unacknowledged (overdue -> acknowledged is still possible), or
// expired. Inbound: delivered -> acknowledged (or overdue/expired likewise).
enum class MessageState { kQueued, kSent, kDelivered, kAcknowledged, kOverdue, kExpired };
std::string_view state_name(MessageState s);
Result<MessageState> parse_state(std::string_view text);

// One message as this gateway keeps it (both directions; acks are messages of type "ack").
struct MessageRecord {
  std::string id;
  std::string line;
  std::uint64_t seq = 0;
  Direction direction = Direction::kOutbound;
  std::string peer;  // the other party
  wire::Address from;
  wire::Address to;
  Precedence precedence = Precedence::kRoutine;
  std::string type;
  Time created;
  std::optional<Time> expires;
  std::optional<std::string> reply_to;
  std::string lang = "en";
  wire::Content content;  // plaintext, kept only inside this gateway
  Bytes salt;             // the commitment salt (for later disclosure)
  std::string envelope;   // the signed envelope, JSON text, exactly as sent/received
  MessageState state = MessageState::kQueued;
  Time ack_deadline;                 // created + the line's deadline for its precedence
  std::optional<Time> delivered_at;  // outbound: receipt verified; inbound: stored
  std::optional<Time> acknowledged_at;
  std::optional<std::string> acknowledged_by;  // "party/principal"
  std::optional<std::string> ack_id;           // the ack message's id
  std::optional<std::string> receipt;          // outbound: the peer's receipt, JSON text
  std::optional<std::string> tx;               // the transaction that carried it
};

// Records: what the core asks the store to make durable, atomically, per Persist action.
struct PutMessage {  // insert; the store refuses a duplicate id or (line, direction, seq)
  MessageRecord message;
};
struct UpdateMessage {  // changes the mutable fields of an existing message
  std::string id;
  MessageState state = MessageState::kQueued;
  std::optional<Time> delivered_at;
  std::optional<Time> acknowledged_at;
  std::optional<std::string> acknowledged_by;
  std::optional<std::string> ack_id;
  std::optional<std::string> receipt;
  std::optional<std::string> tx;
};
using Record = std::variant<PutMessage, UpdateMessage>;

}  // namespace parley::core
