// Store: everything a gateway keeps durably. One interface, implemented by sqlite/ (the
// default, embedded), memory/ (the simulator's and the fault tests') and later postgres/;
// one conformance suite (store/store_conformance_test.cc) runs against every implementation.
// faulty_store.h wraps any of them to fail or crash at its N-th write.
//
// Durability contract: apply() returns OK only once its records are durable (fsynced;
// SQLite WAL with synchronous=FULL) and atomically so: all of them or none. A failed
// apply leaves the store as it was. Not thread-safe: one gateway thread uses it. Other
// processes (the CLI) may open the same store concurrently (SQLite WAL, busy timeout).
#pragma once

#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "parley/base/status.h"
#include "parley/base/time.h"
#include "parley/core/model.h"
#include "parley/core/recovered.h"

namespace parley::store {

// core::is_protocol_type as SQL: the types a listing leaves out unless include_acks.
inline constexpr const char* kProtocolTypesSql =
    "('ack', 'evidence.unacknowledged', 'stage.shown')";

// The order of a listing. kNewest: created, then seq, then id, all descending. kPrecedence:
// FLASH first, then IMMEDIATE, PRIORITY, ROUTINE, each newest first as kNewest.
enum class MessageOrder { kNewest, kPrecedence };

// Where a listing stopped: the sort key of the last message of a page. A query with
// `after` gives the messages strictly after it in its order. Paging by key, not by offset,
// returns every message once even while others are stored: the key of a message never
// changes, and a message stored meanwhile sorts either before the key (not seen by this
// walk) or after it (seen once).
struct MessageKey {
  core::Precedence precedence = core::Precedence::kRoutine;  // used by kPrecedence only
  Time created;
  std::uint64_t seq = 0;
  std::string id;
  bool operator==(const MessageKey&) const = default;
};
inline MessageKey message_key(const core::MessageRecord& m) {
  return {m.precedence, m.created, m.seq, m.id};
}
// 0 for FLASH .. 3 for ROUTINE: the order of MessageOrder::kPrecedence.
inline int precedence_rank(core::Precedence p) { return static_cast<int>(p); }

struct MessageQuery {
  std::optional<core::Direction> direction;
  std::vector<std::string> lines;  // empty: all lines
  std::vector<std::string> types;  // empty: every type (acks as include_acks says)
  // Messages of the protocol's own types (core::is_protocol_type: acks, evidence, stages)
  // are left out unless true.
  bool include_acks = false;
  std::size_t limit = 1000;
  MessageOrder order = MessageOrder::kNewest;
  std::optional<core::Precedence> precedence;
  std::optional<core::MessageState> state;
  std::optional<std::string> broadcast;  // the messages of this broadcast (MessageRecord)
  bool include_refused_inbound = true;   // false: a peer's message we refused is left out
  // The sender: its party, and its principal if `from.principal` is not empty.
  std::optional<wire::Address> from;
  std::optional<Time> since;  // created at or after
  std::optional<Time> until;  // created before
  // Every one of these words (store/search.h search_words) is a word of the message's
  // searchable text; empty: no search.
  std::vector<std::string> words;
  // Ids that start with this ("" : any); the stores compare bytes.
  std::string id_prefix;
  std::optional<MessageKey> after;  // the messages after this key in `order`
};

// True if `status` refuses one batch for its content (a conflict with what is stored, or a
// value the store cannot hold, such as a number out of its range), as opposed to a failure
// of the store itself. The gateway refuses that batch (and the peer transaction or request
// behind it) and goes on; only a failure of the store stops it.
inline bool is_batch_refusal(const Status& status) {
  return status.code() == StatusCode::kAlreadyExists || status.code() == StatusCode::kNotFound ||
         status.code() == StatusCode::kInvalidArgument;
}

// True if `status` is a write that failed for want of disk space (SQLITE_FULL, PostgreSQL's
// disk_full): nothing of it was applied, and unlike an I/O error on fsync it is safe to try
// again once there is room (gateway/lease.h "A full disk").
inline bool is_disk_full(const Status& status) {
  return status.code() == StatusCode::kResourceExhausted;
}

// True if `status` is apply()'s or apply_group()'s refusal of a fenced write: the store's
// lease is no longer at the epoch this store was fenced to (Store::fence), so another gateway
// is active. Nothing was applied; the writer must step down, not retry.
inline bool is_fenced(const Status& status) {
  return status.code() == StatusCode::kFailedPrecondition;
}

// The largest integer a store holds (SQLite's INTEGER, PostgreSQL's BIGINT).
inline constexpr std::uint64_t kStoredIntMax =
    static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());

// ---- Witnessing (docs/transcript.md "Checkpoints and witnesses") ----
// The latest checkpoint this gateway, as a witness (tlog-witness), cosigned for one origin.
struct WitnessedCheckpoint {
  std::string origin;
  std::uint64_t size = 0;
  std::string checkpoint;  // the signed note as the log sent it
  bool operator==(const WitnessedCheckpoint&) const = default;
};
// Two signed checkpoints of one origin that cannot both be true (ledger::SplitView), kept as
// evidence by the witness that saw them.
struct SplitViewRecord {
  std::string origin;
  std::string kind;       // ledger::split_view_kind_name
  std::string witnessed;  // the signed note the witness held
  std::string offered;    // the signed note that contradicts it
  Time seen;
  bool operator==(const SplitViewRecord&) const = default;
};
// A witness's cosignature on a checkpoint of one of our logs or of our peer's (collected
// when we submitted it).
struct CosignatureRecord {
  std::string origin;
  std::string witness;  // the cosignature's key name
  std::uint64_t size = 0;
  std::string checkpoint;  // the signed note the witness cosigned (the log's signature only)
  std::string signature;   // the witness's cosignature line(s), "— <name> <base64>\n"
  bool operator==(const CosignatureRecord&) const = default;
};

// A head of another party's log that its peer countersigned and forwarded to us, an observer
// of their line (docs/protocol.md "Witnesses", forwarded heads): the first one kept per
// (origin, size), so that a checkpoint of that size the owner shows us can be compared.
struct ForwardedHead {
  std::string origin;  // of the owner's log, ledger::origin_of(owner, forwarder)
  std::uint64_t size = 0;
  std::string root;       // 64 lowercase hex
  std::string forwarder;  // the party that countersigned it (the log's peer)
  std::string receipt;    // its receipt v2 (DSSE JSON): the owner's signed head, countersigned
  Time received;
  bool operator==(const ForwardedHead&) const = default;
};
// A message a party of a line disclosed to us, an observer of the line (docs/protocol.md
// "Disclosure"), after we checked it: its envelope (signed by the discloser), its inclusion
// at `index` in the checkpoint of size `size` of `origin` we had cosigned, and the salt and
// content that match its signed commitment.
struct DisclosureRecord {
  std::string id;         // the message id
  std::string discloser;  // the party that disclosed it (the owner of the log)
  std::string origin;
  std::uint64_t index = 0;
  std::uint64_t size = 0;
  std::string envelope;  // the envelope's canonical DSSE text, as logged
  std::string salt;      // 64 lowercase hex
  std::string content;   // the content JSON text {"body":{..},"text":".."}
  Time disclosed;
  bool operator==(const DisclosureRecord&) const = default;
};

// ---- Events (docs/openapi.yaml GET /api/v1/events; docs/operations.md "Events") ----
// One event of the API's server-sent-events stream, kept so that a client that reconnects
// with Last-Event-ID is sent what it missed, across a restart of the gateway too.
struct EventRecord {
  std::uint64_t id = 0;  // given by append_events: 1, 2, 3, ... in the order appended
  Time time;
  std::string name;  // the SSE event name: message, delivered, alert, ...
  std::string data;  // one line of JSON
  // Who may see it (gateway/driver.h Driver::may_see): the operator always; a principal that
  // reads `line`, that has a line to `peer`, or that is one of `alerted`; nobody else, and
  // only the operator if `operator_only`.
  std::string line;
  std::string peer;
  std::vector<std::string> alerted;
  bool operator_only = false;
  bool operator==(const EventRecord&) const = default;
};
// How many events a store keeps: appending more drops the oldest.
inline constexpr std::uint64_t kEventsKept = 10'000;
// What events_after found: the events, and the ids of the oldest and newest events kept
// (0 and 0 if none is).
struct EventPage {
  std::vector<EventRecord> events;
  std::uint64_t first = 0;
  std::uint64_t last = 0;
};

class Store {
 public:
  virtual ~Store() = default;

  // Applies `records` atomically and durably. PutMessage of an existing id, or of an
  // existing (line, direction, seq), is kAlreadyExists and nothing is applied;
  // UpdateMessage of an unknown id is kNotFound and nothing is applied; LogEntry at an
  // index its log already holds is kAlreadyExists. A value the store cannot hold (a number
  // above 2^63 - 1, a violated CHECK) is kInvalidArgument and nothing is applied. PutHead,
  // PutInclusion and PutEvidence are upserts (see core/model.h). I/O failure: kUnavailable
  // or kDataLoss.
  virtual Status apply(const std::vector<core::Record>& records) = 0;

  // Group commit: applies `batches` in order, in one durable transaction (one fsync for
  // all). Each batch is atomic on its own: the result holds one Status per batch, OK or the
  // refusal apply() would give it for its content (is_batch_refusal: kAlreadyExists,
  // kNotFound, kInvalidArgument), in which case that batch alone applied nothing and the
  // others still apply. Any other failure (I/O, a full disk, a store that cannot be read)
  // rolls the whole group back and is returned as the error: nothing was applied.
  virtual Result<std::vector<Status>> apply_group(
      const std::vector<const std::vector<core::Record>*>& batches) = 0;

  // The same group commit in two steps, so that the events its outcome causes are made durable
  // by the same fsync (gateway/driver.h): apply_group_open applies `batches` as apply_group
  // does and returns the same outcome, but may leave its transaction open (group_open());
  // finish_group then appends `events` in it (as append_events would, ids included) and
  // commits. While a group is open the caller calls nothing else on the store. A failure of
  // finish_group rolls everything back: neither the batches nor the events were stored. A
  // store that does not override them commits in apply_group_open (group_open() stays false)
  // and finish_group is append_events: the events in a transaction of their own.
  virtual Result<std::vector<Status>> apply_group_open(
      const std::vector<const std::vector<core::Record>*>& batches) {
    return apply_group(batches);
  }
  virtual bool group_open() const { return false; }
  virtual Status finish_group(std::vector<EventRecord>& events) { return append_events(events); }

  // The full-text index off the commit path. A store may leave a stored message out of its
  // search index when it commits it (SQLite: messages_fts) and index it here, up to `max`
  // messages in order of storing, in a transaction of its own: true if more remain. Nothing
  // is lost if this is never called: the store indexes what remains before any search
  // (list_messages with words never misses a stored message). The gateway calls it after its
  // commits and after its start (what a crash or a migration left), a batch at a time
  // (Driver::index_search). Errors as
  // apply(), and kInvalidArgument for a `max` of 0; a failure leaves the index as it was. A
  // store that indexes in the commit (memory, PostgreSQL) has nothing to do: false.
  virtual Result<bool> index_search(std::size_t max) {
    (void)max;
    return false;
  }

  virtual Result<std::optional<core::MessageRecord>> get_message(std::string_view id) = 0;
  virtual Result<std::vector<core::MessageRecord>> list_messages(const MessageQuery& query) = 0;
  // The messages, of any type and either direction, whose reply_to is one of `ids` (at most
  // kRepliesIdsMax; more is kInvalidArgument): the acks, evidence, stages and answers that
  // name them, from which their stages are derived (core::stages_of). Oldest first (created,
  // then id).
  static constexpr std::size_t kRepliesIdsMax = 1000;
  virtual Result<std::vector<core::MessageRecord>> replies_to(
      const std::vector<std::string>& ids) = 0;

  // What core::PeerSession needs at start, for the lines with `peer`. The transcript part
  // (Recovered::ledger) is bounded by what is not yet countersigned, never by history.
  virtual Result<core::Recovered> recover(std::string_view peer) = 0;

  // The transcript (core/model.h "the transcript"), for the API and `transcript export`.
  // The inclusion proof stored for `message_id`, if any.
  virtual Result<std::optional<core::InclusionRecord>> inclusion(std::string_view message_id) = 0;
  // The key rotation statements of `owner`'s logs (core::PutRotation; for a peer, its log for
  // us), by peer then index: what a reader of the peer's signatures builds its chain of keys
  // from (store/key_chains.h). One per rotation the party made per log: a handful.
  virtual Result<std::vector<core::PutRotation>> rotations(std::string_view owner) = 0;
  // The entries of `owner`'s log for (owner, peer) with index >= `from`, in index order, at
  // most `limit`, each with its envelope and (for a log we received) its inclusion proof.
  virtual Result<std::vector<core::LogEntryView>> log_entries(std::string_view owner,
                                                              std::string_view peer,
                                                              std::uint64_t from,
                                                              std::size_t limit) = 0;
  // Every stored head of `owner`'s log for (owner, peer), by size.
  virtual Result<std::vector<core::HeadRecord>> heads(std::string_view owner,
                                                      std::string_view peer) = 0;
  // Fork evidence, oldest first.
  virtual Result<std::vector<core::PutEvidence>> evidence() = 0;

  // Configuration. put_* replaces an existing entry with the same id.
  virtual Status put_peer(const core::Peer& peer) = 0;
  virtual Result<std::vector<core::Peer>> peers() = 0;
  virtual Status put_principal(const core::Principal& principal) = 0;
  virtual Result<std::vector<core::Principal>> principals() = 0;
  virtual Result<std::optional<core::Principal>> principal_by_token_hash(ByteView token_hash) = 0;
  virtual Status put_line(const core::Line& line) = 0;
  virtual Result<std::vector<core::Line>> lines() = 0;
  // Remove the peer (by party), the principal or the line with this id: kNotFound if there
  // is none. Nothing else is removed or checked (messages, logs, the roster stay as they
  // are): the caller refuses a removal that would leave something naming what is gone
  // (cli/directory_cmd.cc, cli/peer_cmd.cc).
  virtual Status remove_peer(std::string_view party) = 0;
  virtual Status remove_principal(std::string_view id) = 0;
  virtual Status remove_line(std::string_view id) = 0;

  // The duty roster (core/roster.h). put_roster replaces every shift of `role` with `shifts`
  // (all of that role; empty clears it) atomically; it does not check them (the caller runs
  // core::check_roster first). roster() gives every shift, by role, then start.
  virtual Status put_roster(std::string_view role, const std::vector<core::Shift>& shifts) = 0;
  virtual Result<std::vector<core::Shift>> roster() = 0;

  // The directory's audit trail: one row per change to principals, lines and the roster
  // (the CLI writes them; the gateway logs what it reloads). Appended; oldest first.
  virtual Status log_change(const core::DirectoryChange& change) = 0;
  virtual Result<std::vector<core::DirectoryChange>> changes() = 0;

  // Witnessing. witnessed() gives the latest cosigned checkpoint of every origin, by origin.
  virtual Result<std::vector<WitnessedCheckpoint>> witnessed() = 0;
  // Compare-and-set, as tlog-witness asks: stores `view` as the latest of its origin only if
  // the size stored for it is `old_size` (none stored counts as 0), atomically with that
  // check. false (nothing changed) if another size is stored.
  virtual Result<bool> put_witnessed(const WitnessedCheckpoint& view, std::uint64_t old_size) = 0;
  // Keeps `split` (once: the same origin and notes again change nothing).
  virtual Status put_split_view(const SplitViewRecord& split) = 0;
  virtual Result<std::vector<SplitViewRecord>> split_views() = 0;  // oldest first
  // Keeps `cosignature` as the latest of its (origin, witness), unless one of a larger size
  // is kept already (answers may arrive out of order).
  virtual Status put_cosignature(const CosignatureRecord& cosignature) = 0;
  virtual Result<std::vector<CosignatureRecord>> cosignatures() = 0;  // by origin, witness

  // Forwarded heads (an observer's). put_forwarded_head keeps `head` unless one of its
  // (origin, size) is kept already (the first stays); forwarded_head gives the one kept for
  // (origin, size); forwarded_heads the largest kept of every origin, by origin.
  virtual Status put_forwarded_head(const ForwardedHead& head) = 0;
  virtual Result<std::optional<ForwardedHead>> forwarded_head(std::string_view origin,
                                                              std::uint64_t size) = 0;
  virtual Result<std::vector<ForwardedHead>> forwarded_heads() = 0;
  // Disclosures (an observer's). put_disclosure keeps `d` unless its message id is kept
  // already (false then, nothing changed); disclosures() gives them oldest first.
  virtual Result<bool> put_disclosure(const DisclosureRecord& d) = 0;
  virtual Result<std::vector<DisclosureRecord>> disclosures() = 0;

  // Events. append_events gives `events` the next ids (the newest id kept plus one, so ids
  // are consecutive and never reused, a restart included), stores them durably in one
  // transaction with their ids set, and drops the oldest beyond kEventsKept. On failure
  // nothing is stored and the ids are left as they were. events_after gives the events
  // with an id above `after`, oldest first, at most `limit`.
  virtual Status append_events(std::vector<EventRecord>& events) = 0;
  virtual Result<EventPage> events_after(std::uint64_t after, std::size_t limit) = 0;

  // The lease: which of several gateways sharing this store is active (docs/operations.md
  // "Standby gateways"). One lease per store, with a holder, an epoch that grows by one at
  // every takeover, and an expiry on the database's clock (so that the gateways' clocks do
  // not matter). A store only one process can use (SQLite, memory) is never shared: the
  // defaults below answer "always the holder, epoch 1" and fence nothing.

  // True if several gateways may share this store, so that a lease decides who is active.
  virtual bool shared() const { return false; }
  // Takes the lease for `holder` (an instance's name) if it is free or expired, for `ttl`:
  // the new epoch. nullopt if another holder's lease is current. kUnavailable on I/O failure.
  virtual Result<std::optional<std::uint64_t>> take_lease(std::string_view holder, Duration ttl) {
    (void)holder;
    (void)ttl;
    return std::optional<std::uint64_t>(1);
  }
  // Extends the lease `holder` took at `epoch` by `ttl` from now (even if it expired, as long
  // as nobody took it since). false if another holder or epoch has it: `holder` was deposed.
  virtual Result<bool> renew_lease(std::string_view holder, std::uint64_t epoch, Duration ttl) {
    (void)holder;
    (void)epoch;
    (void)ttl;
    return true;
  }
  // Lets the lease `holder` holds at `epoch` expire now, so that a standby takes over at once
  // (a clean stop). Nothing if `holder` no longer holds it.
  virtual Status release_lease(std::string_view holder, std::uint64_t epoch) {
    (void)holder;
    (void)epoch;
    return Status::ok();
  }
  // From now on apply() and apply_group() check, inside their transaction, that the lease is
  // still at `epoch`, and refuse everything (is_fenced) if it is not: a gateway deposed while
  // it was paused cannot write after another one took over.
  virtual void fence(std::uint64_t epoch) { (void)epoch; }
};

}  // namespace parley::store
