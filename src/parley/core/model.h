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

// A duration for each precedence: the acknowledgment deadlines below, the escalation's
// re-alert cadences (core/escalation.h).
struct PerPrecedence {
  Duration flash;
  Duration immediate;
  Duration priority;
  Duration routine;
  Duration for_precedence(Precedence p) const;
  void set(Precedence p, Duration d);
};

// The acknowledgment deadline for each precedence (DESIGN.md defaults: 5m, 30m, 3h, 6h).
struct Deadlines : PerPrecedence {
  Deadlines()
      : PerPrecedence{std::chrono::minutes(5), std::chrono::minutes(30), std::chrono::hours(3),
                      std::chrono::hours(6)} {}
};

// A standing channel between a local principal and a remote one. The same line id is
// configured on both parties, each from its own side.
struct Line {
  std::string id;
  std::string local;                    // local principal id
  wire::Address remote;                 // the counterpart
  std::vector<std::string> alternates;  // local principals who may also read and ack
  // The remote party's alternates on this line (its `alternates`, as configured there): a
  // peer's envelope on the line must be from `remote` or from one of these.
  std::vector<std::string> remote_alternates;
  std::vector<std::string> observers;  // observer parties (recorded; used by a later issue)
  Deadlines deadlines;
};

struct Principal {
  std::string id;
  std::string name;
  std::string role;
  Bytes token_hash;  // SHA-256 of the bearer token; the token itself is never stored
  // The token is refused from this instant on (parley principal add --expires); none: never.
  std::optional<Time> token_expires;
  // Revoked (parley principal revoke): its token is refused from then on, at once.
  std::optional<Time> revoked_at;
};

// One shift of the duty roster (core/roster.h): `principal` is on duty for `role` during
// [from, to).
struct Shift {
  std::string role;
  std::string principal;
  Time from;
  Time to;
};

// One change to the directory (principals, lines, the roster), kept by the store as its
// audit trail: when, what ("principal.revoke", "roster.set", ...) and on what, one line.
struct DirectoryChange {
  Time at;
  std::string action;
  std::string detail;
};

// Our own key rotations (docs/protocol.md "Key rotation"; `parley rotate`, gateway/home.h):
// the statements, n = 1, 2, ... (each the DSSE text that is an entry of our log for every
// peer), and the signing key each one put in force. The chain they form starts from the key of
// our published bundle (crypto::Keys::signing). Empty: we never rotated.
struct OwnRotations {
  std::vector<std::string> statements;
  std::vector<crypto::SigningKey> keys;  // keys[n - 1]: statement n's new key
};

// A pinned peer: its bundle as given out of band.
struct Peer {
  wire::Bundle bundle;
};

enum class Direction { kOutbound, kInbound };
std::string_view direction_name(Direction d);  // "outbound", "inbound"

// DESIGN.md states. Outbound: queued -> sent -> delivered -> acknowledged, or overdue once
// the ack deadline passed unacknowledged (overdue -> acknowledged is still possible), or
// expired, or refused: the peer's receipt says it refused this message (unknown line, a
// body its catalog rejects, ...), with a reason; final, it leaves the queue. Inbound:
// delivered -> acknowledged (or overdue/expired likewise); refused: a message we refused,
// kept as evidence of what the peer signed, never shown in an inbox. Outbound, cancelled: its
// sender (or an alternate on its line) withdrew it while no transaction had carried it yet
// (core/message_state.h); final, it never leaves.
enum class MessageState {
  kQueued,
  kSent,
  kDelivered,
  kAcknowledged,
  kOverdue,
  kExpired,
  kRefused,
  kCancelled
};
std::string_view state_name(MessageState s);
Result<MessageState> parse_state(std::string_view text);

// The protocol's own message types, written by a gateway rather than submitted by a
// principal: an acknowledgment (on a principal's behalf), the evidence that a deadline passed
// unacknowledged, the stage "shown" (docs/protocol.md "Evidence of silence", "Stages"). None
// awaits an acknowledgment or shows in an inbox or outbox; each names its message in reply_to.
inline constexpr std::string_view kAckType = "ack";
inline constexpr std::string_view kEvidenceUnacknowledgedType = "evidence.unacknowledged";
inline constexpr std::string_view kStageShownType = "stage.shown";
bool is_protocol_type(std::string_view type);

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
  // Whether it asks for an acknowledgment, decided once when the record is made, from this
  // gateway's catalog (catalog::Catalog::needs_ack): false for an ack and a translation. Only
  // a message that does is ever watched for one (the store recovers only those).
  bool needs_ack = true;
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
  std::optional<std::string> refusal;          // state refused: the reason the receiver gave
  std::optional<Time> cancelled_at;            // state cancelled: when
  std::optional<std::string> cancelled_by;     // state cancelled: by whom, "party/principal"
  // Outbound: the broadcast it was submitted in (core/node.h Broadcast), which ties one
  // submission's messages on several lines. The sender's alone: not on the wire.
  std::optional<std::string> broadcast;
  // Read-only (filled by the store from log_entries; PutMessage ignores it): the message's
  // leaf index in the sender's transcript log for this pair of parties.
  std::optional<std::uint64_t> log_index;
};

// ---- the transcript (DESIGN.md "Transcript (ledger)", docs/protocol.md "Ledger") ----
// Each party keeps, per peer, an append-only RFC 6962 log of the envelopes it sent that
// peer. The records below make it durable: its entries, the signed tree heads (STHs) of
// both parties' logs with their countersignatures (receipts), the inclusion proofs of
// messages, and evidence of a peer that rewrote its log.

// One entry of a log: the envelope of `message_id` at leaf `index` of `owner`'s log for
// the pair (owner, peer). Insert only; the store refuses (kAlreadyExists) another message
// at an index already held.
struct LogEntry {
  std::string owner;
  std::string peer;
  std::uint64_t index = 0;
  std::string message_id;
  crypto::Digest leaf_hash{};
};

// A signed tree head of `owner`'s log for (owner, peer), with the other party's receipt
// (its countersignature, DSSE JSON) if it has one, and, for our own log, the compact range
// of the tree at that size (the nodes from which later proofs are computed). Upsert by
// (owner, peer, size) while the stored head has no receipt; a countersigned head is never
// replaced (evidence is written once: the first countersignature of a head stays).
struct PutHead {
  std::string owner;
  std::string peer;
  std::uint64_t size = 0;
  crypto::Digest root{};
  std::string sth;                                      // DSSE JSON
  std::optional<std::string> receipt;                   // the other party's countersignature
  std::optional<std::vector<crypto::Digest>> frontier;  // compact-range nodes at `size`
};

// The inclusion proof of `message_id` (leaf `index`) in the head (size, root) of its
// sender's log: for an outbound message, the head the peer countersigned; for an inbound
// one, the head it arrived with. Upsert by message id.
struct PutInclusion {
  std::string message_id;
  std::uint64_t index = 0;
  std::uint64_t size = 0;
  crypto::Digest root{};
  std::vector<crypto::Digest> proof;
};

// Evidence that `peer` presented two signed heads of its log that cannot both be true
// (a size already countersigned with another root, or a head that does not extend the one
// countersigned). Kept forever.
struct PutEvidence {
  std::string id;  // uuid
  std::string peer;
  std::string kind;    // "fork"
  std::string detail;  // one line
  std::string sth_a;   // the head we countersigned (DSSE JSON)
  std::string sth_b;   // the conflicting head (DSSE JSON)
  Time at;             // when first seen
  // Read-only (filled by the store; a write is one sighting): the same evidence (peer,
  // kind, sth_a, sth_b) is stored once and counted, never stored again.
  std::optional<Time> last_seen;
  std::uint64_t seen = 1;
};

// A key rotation statement of `owner`'s (wire/rotation.h, docs/protocol.md "Key rotation"):
// entry `index` of its log for (owner, peer), its text exactly as received (the leaf) and
// what it pins. Stored with its LogEntry (message_id: the statement's id) and, for the peer's
// log, its PutInclusion, in the batch that carried it. Insert only: the store refuses
// (kAlreadyExists) a second statement at an index, or with an `n`, its log already holds.
struct PutRotation {
  std::string owner;
  std::string peer;
  std::uint64_t index = 0;
  std::uint64_t n = 0;
  std::string id;
  std::string statement;  // DSSE JSON, exactly as received
  crypto::VerifyKey new_sign_key;
  std::string new_tls_fingerprint;  // 64 lowercase hex
  std::uint32_t epoch = 0;
  bool operator==(const PutRotation&) const = default;
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
  std::optional<std::string> refusal;
  std::optional<Time> cancelled_at;
  std::optional<std::string> cancelled_by;
};
using Record = std::variant<PutMessage, UpdateMessage, LogEntry, PutHead, PutInclusion, PutEvidence,
                            PutRotation>;

// What the store returns about inclusion of one message (Store::inclusion).
struct InclusionRecord {
  std::uint64_t index = 0;
  std::uint64_t size = 0;
  crypto::Digest root{};
  std::vector<crypto::Digest> proof;
};

// A stored head (Store::heads), oldest first.
struct HeadRecord {
  std::uint64_t size = 0;
  crypto::Digest root{};
  std::string sth;
  std::optional<std::string> receipt;
  // For our own log: the compact range at `size`, if the store keeps it (PutHead::frontier).
  std::optional<std::vector<crypto::Digest>> frontier = std::nullopt;
};

// A stored log entry with its envelope (Store::log_entries), for export.
struct LogEntryView {
  std::uint64_t index = 0;
  std::string message_id;
  std::string envelope;                      // a rotation's: the statement (PutRotation::statement)
  std::optional<InclusionRecord> inclusion;  // for entries of the peer's log
  bool rotation = false;  // a key rotation statement (PutRotation), not a message's envelope
};

}  // namespace parley::core
