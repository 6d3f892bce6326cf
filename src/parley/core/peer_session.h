// PeerSession: one party's traffic with one peer, on all the lines between them. Sans-I/O.
//
// The session is fed events stamped with the time the driver observed them (a principal
// submitted a message, the peer's transaction arrived, the store fsynced a batch, the
// peer answered our transaction, a deadline passed) and appends the actions they cause
// (persist these records, send this transaction, answer that request, accept a
// submission, notify). It owns no socket, file, thread or clock; gateway/driver.cc and
// sim/ carry out its actions in order.
//
// Durability is an ordering of events (DESIGN.md "Durability rules"):
//  - a submission is Accepted only after the Persist holding it is Persisted;
//  - a receipt (the Answer to a peer's transaction) is signed only after the Persist
//    holding that transaction's messages is Persisted;
//  - a transaction leaves (SendTransaction) only after the Persist holding its signed head
//    is Persisted; that batch follows the ones holding its messages. Its messages become
//    "sent" (a store write) only once the peer answers it (core/message_state.h);
//  - the driver applies Persist actions in the order they were emitted (it may group many
//    into one commit, and other events may be fed before their Persisted), so Persisted(b)
//    implies every earlier batch is durable too. If a Persist fails, the driver must not
//    feed Persisted for it (it stops the process; recovery starts from the store).
//
// Delivery: outbound messages wait in a queue ordered by precedence (FLASH first), then by
// sequence number (core/outbox.h). A window of up to SessionConfig::window transactions is in
// flight to the peer at once, each naming the head the receiver must hold before it (`after`),
// so that the receiver handles them in the order of the sender's heads (docs/protocol.md
// "Transaction window"); a FLASH gets a transaction of its own at once (the FLASH lane),
// ordered behind none of them. An unanswered transaction is resent unchanged (same tx id: the
// receiver is idempotent) after a backoff; one the receiver answers 425 (one before it has not
// arrived) is resent once one before it is receipted; one answered 409 (the receiver passed
// its head) is given up, its messages go again in a new one. Per-line sequence numbers let
// the receiver drop duplicates and detect gaps. A
// message whose `expires` passes before a receipt becomes expired (final, not sent again);
// if it was in flight, the answer to that transaction still decides (a receipt wins).
// Verification of the peer's transactions is core/verify_transaction.h; our log for the
// peer, core/own_log.h. The definitions are split by role: peer_session.cc (start,
// principals, durability, time), peer_session_receive.cc, peer_session_send.cc,
// peer_session_overdue.cc (overdue marks, evidence of silence, escalation).
//
// Transcript (DESIGN.md "Transcript (ledger)"; docs/protocol.md): every envelope this party
// sends the peer (messages and acks) is appended, in the order of durable acceptance, to
// an RFC 6962 log kept per peer. Each transaction carries a signed tree head (STH) of that
// log, the inclusion proof of each envelope in it, and consistency proofs from the heads
// the peer may have countersigned last; the peer's receipt is its signature over our STH
// and the entries it received. As receiver, the session checks all of that before storing
// anything, and a peer whose new head does not extend the one we countersigned is refused,
// reported (kForkDetected) and the two heads are kept as evidence.
//
// Refusal is per message where it can be (docs/protocol.md "Refusals"): a transaction whose
// framing, head, proofs or envelope signatures fail is refused whole (HTTP 400); otherwise an
// envelope that cannot be accepted as a message (unknown line, from/to not the line's, a body
// the catalog rejects, expired, ...) is stored as a refused entry of the peer's log with its
// reason (evidence of what the peer signed; its seq counts as used, so it is no gap), and the
// receipt lists it under "refused". The sender marks such a message refused, final, and the
// rest of its queue keeps flowing. A whole-transaction refusal that repeats is an alert
// (kRefusalRepeats), not a silent retry loop. The session holds only
// the log's frontier: the compact range at a countersigned size and the leaves after it.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <variant>
#include <vector>

#include "parley/base/rng.h"
#include "parley/base/status.h"
#include "parley/base/time.h"
#include "parley/catalog/catalog.h"
#include "parley/core/delivery_histogram.h"
#include "parley/core/escalation.h"
#include "parley/core/inbound_acks.h"
#include "parley/core/line_test.h"
#include "parley/core/log_recovery.h"
#include "parley/core/model.h"
#include "parley/core/outbox.h"
#include "parley/core/own_log.h"
#include "parley/core/precheck.h"
#include "parley/core/recovered.h"
#include "parley/core/roster.h"
#include "parley/core/seq_set.h"
#include "parley/core/transcript_view.h"
#include "parley/core/translation.h"
#include "parley/core/verify_transaction.h"
#include "parley/crypto/crypto.h"
#include "parley/crypto/facts.h"
#include "parley/ledger/merkle.h"
#include "parley/wire/wire.h"

namespace parley::core {

using RequestId = std::uint64_t;  // assigned by the driver, echoed in answers
using BatchId = std::uint64_t;    // assigned by the session, increasing

struct SessionConfig {
  std::string party;  // this party's id
  // This party's language (the home's `lang`): signed into every envelope it sends, so the
  // record says in which language its principals wrote the text.
  std::string lang = "en";
  // Our keys: `keys.signing` is the key of our published bundle, the first of the chain of our
  // keys; `own` our rotations after it (docs/protocol.md "Key rotation"). The session appends
  // each statement our log for the peer lacks, in order, before anything it signs after it.
  crypto::Keys keys;
  OwnRotations own;
  wire::Bundle peer;        // the pinned peer
  std::vector<Line> lines;  // the lines whose remote party is `peer`
  Duration retry_min = std::chrono::milliseconds(100);
  Duration retry_max = std::chrono::seconds(10);
  // Envelopes per transaction. Small enough that a FLASH never waits long behind the
  // ROUTINE transaction in flight (the receiver checks each envelope's signature, seal and
  // proof before it answers): 16 halved flash.flood against 64 for ~10% less throughput
  // (bench/README.md).
  std::size_t tx_envelopes_max = 16;
  // Transactions in flight at once (the window; at least 1): the next one is built and its
  // head made durable while earlier ones await their receipts. FLASH lane transactions come
  // on top, up to as many again.
  std::size_t window = 4;
  // The escalation of an overdue message (core/escalation.h): its re-alert cadence per
  // precedence, and the directory its receiving-side chain ends in (the addressee's role's
  // duty officer, from the roster).
  Cadences realert;
  Directory directory;
  // Where a translation's reply_to is looked up (core/translation.h); must outlive the
  // session. Null: no message is known stored, so no translation is sent or accepted but of
  // a message in the same transaction.
  const MessageLines* messages = nullptr;
  // The automatic line test (core/line_test.h): how often, and how soon it must be answered.
  TestConfig tests;
  // At start, ask the peer what it holds of both logs of the pair and take back what our store
  // lost (core/log_recovery.h). The gateway and the simulator set it; most unit tests leave
  // it off. With `recovery_required` (the store was restored: `parley restore` leaves a
  // marker), nothing new is signed or sent before the peer answered and what it gave back is
  // stored: the peer being away means waiting for it. Without it (every other start) nothing
  // waits for the answer; it is taken if nothing was signed or received since start (our
  // store went back some other way: a snapshot), else only what the exchange shows is said.
  bool recover_at_start = false;
  bool recovery_required = false;
};

// ---- events ----
struct Submit {  // a principal asks to send a message
  RequestId request = 0;
  std::string line;
  std::string principal;  // local principal id (already authenticated by the API)
  Precedence precedence = Precedence::kRoutine;
  std::string type = "text";
  wire::Content content;
  std::optional<std::string> reply_to;
  std::optional<Time> expires;
  std::optional<std::string> broadcast;  // MessageRecord::broadcast (set by the node)
};
struct Acknowledge {  // a principal acknowledges an inbound message
  RequestId request = 0;
  std::string principal;   // local principal id (already authenticated by the API)
  std::string message_id;  // the core finds the message itself (core/inbound_acks.h)
};
// A principal read a message through the API or CLI (an inbox listing, `parley show`). The
// first read of one of the peer's messages awaiting our ack by a principal on its line is its
// stage "shown": a signed stage.shown entry goes to the peer, once (docs/protocol.md
// "Stages"). Anything else (ours, not held, read before, not on the line) changes nothing
// and is answered by nothing.
struct Show {
  std::string principal;  // local principal id (already authenticated by the API)
  std::string message_id;
};
// A principal cancels one of our queued messages (docs/protocol.md "Cancellation"). Only
// its sender or a principal of its line (the local one, an alternate) may, and only while
// no transaction has carried it: it becomes cancelled (final) and never leaves. Answered
// Accepted (state cancelled) once durable, else Rejected: kNotFound (not queued here),
// kPermissionDenied, kFailedPrecondition (it has left).
struct Cancel {
  RequestId request = 0;
  std::string principal;  // local principal id (already authenticated by the API)
  std::string message_id;
};
struct TransactionReceived {  // the peer's transaction; TLS-authenticated, else unverified
  RequestId request = 0;
  std::string body;
  // Checks of its signatures and seals made ahead (core/precheck.h); null: none.
  std::shared_ptr<const crypto::Facts> known = nullptr;
  // `body` parsed (wire::parse_transaction) when its precheck was planned; null: parsed when
  // handled. Only spares a second parse of the same bytes.
  std::shared_ptr<const wire::Transaction> parsed = nullptr;
};
struct TransactionAnswered {  // the peer answered our transaction `tx`
  std::string tx;
  int http_status = 0;
  std::string body;
};
struct TransactionFailed {  // our transaction `tx` got no answer (connect, I/O, timeout)
  std::string tx;
  std::string reason;
};
struct Persisted {
  BatchId batch = 0;
};
struct TimerFired {};  // next_deadline() has come
// The store refused `batch` as a whole (kAlreadyExists or kNotFound: it conflicts with what
// is stored) and applied nothing of it. Only such logical refusals are fed back; an I/O
// failure stops the process instead. The session undoes what waited on the batch: a peer's
// transaction is refused, a principal's request rejected.
struct PersistRefused {
  BatchId batch = 0;
  Status status;
};
using Event =
    std::variant<Submit, Acknowledge, Show, Cancel, TransactionReceived, TransactionAnswered,
                 TransactionFailed, Persisted, TimerFired, PersistRefused>;

// ---- actions ----
struct Persist {  // make `records` durable, atomically, then feed Persisted{batch}
  BatchId batch = 0;
  std::vector<Record> records;
};
struct SendTransaction {  // POST `body` to the peer; feed TransactionAnswered/Failed{tx}
  std::string tx;
  Precedence precedence = Precedence::kRoutine;  // the highest precedence inside
  std::string body;
  // Not a transaction: a request for the peer's copy of our logs (core/log_recovery.h
  // LogRequest), posted to the log endpoint instead; `tx` is the request's own id.
  bool log_request = false;
};
struct Answer {  // the response to TransactionReceived{request}
  RequestId request = 0;
  int http_status = 200;  // 200 with a receipt, 4xx with a refusal
  std::string body;
};
struct Accepted {  // the submission or ack `request` is durable: what the principal is told
  RequestId request = 0;
  std::string message_id;  // the new message's (for an ack, the ack's)
  std::string line;
  std::uint64_t seq = 0;                       // its sequence number on the line
  MessageState state = MessageState::kQueued;  // its state when it became durable
};
struct Rejected {  // the submission or ack `request` is refused; nothing changed
  RequestId request = 0;
  Status status;
};
enum class NoticeKind {
  kMessageReceived,   // a new inbound message is stored (inbox)
  kDelivered,         // the peer receipted our message
  kAcknowledged,      // the peer's principal acknowledged our message
  kInboundOverdue,    // the ack deadline of the peer's message passed (we did not ack it)
  kFrameRefused,      // we refused a peer's transaction (bad signature, malformed, ...)
  kPeerRefused,       // the peer refused our transaction
  kLinkTrouble,       // our transaction got no answer; will retry
  kForkDetected,      // the peer presented a head that contradicts one we countersigned
  kMessageRefused,    // the peer's receipt refused our message (final, with its reason)
  kInboundRefused,    // we refused one of the peer's messages (kept as evidence, not inbox)
  kRefusalRepeats,    // the peer refused our whole transaction again: an operator must look
  kMessageExpired,    // our message's `expires` passed before the peer receipted it (final)
  kMessageCancelled,  // one of our principals cancelled our queued message (final, never sent)
  // At start: the session is recovering our logs with the peer (nothing new is sent until it
  // is done), or recovered them (core/log_recovery.h).
  kLogRecovery,
  // An overdue message's escalation alerts principals (`alerted`, `side`). On our side, the
  // first one (`first`) is what tells the sender its message went overdue.
  kEscalation,
  // The peer's key rotation (docs/protocol.md "Key rotation") is stored: its new key (and
  // TLS certificate) is the one in force for the peer from now on.
  kPeerKeyRotated,
};
std::string_view notice_kind_name(NoticeKind kind);
struct Notice {
  NoticeKind kind = NoticeKind::kMessageReceived;
  std::string message_id;  // may be empty
  std::string line;        // may be empty
  std::string text;        // one human-readable line
  // kEscalation: the principals this alert is for, and which side's escalation it is.
  std::vector<std::string> alerted = {};
  std::optional<EscalationSide> side = std::nullopt;
  bool first = false;  // kEscalation: the escalation's first alert (the message just went overdue)
  std::string type = {};  // kMessageReceived: the message's catalog type
  // kPeerKeyRotated: the peer, the rotation's number and its new TLS fingerprint (SHA-256 of
  // the DER, hex).
  std::string peer = {};
  std::uint64_t rotation = 0;
  std::string tls_fingerprint = {};
};
struct Notify {
  Notice notice;
};

// The inbound seqs of one line that has a gap (SeqSet::missing() > 0).
struct LineGap {
  std::string line;
  SeqSet seqs;
};
using Action = std::variant<Persist, SendTransaction, Answer, Accepted, Rejected, Notify>;

struct SessionStats {
  std::size_t queued = 0;             // outbound, not yet receipted
  std::optional<Time> oldest_queued;  // created time of the oldest of them
  std::size_t unacknowledged = 0;     // outbound, receipted or not, not acknowledged
  std::size_t overdue = 0;
  std::size_t inbound_unacknowledged = 0;    // the peer's messages awaiting our ack
  std::size_t inbound_overdue = 0;           // of them, past their deadline
  std::uint64_t inbound_overdue_marked = 0;  // inbound messages marked overdue, since start
  std::uint64_t frames_refused = 0;          // peer transactions we refused
  // Of them, by why (core/verify_transaction.h FrameRefusal), since start.
  std::array<std::uint64_t, kFrameRefusals> frames_refused_by{};
  // The time from accepting each of our messages (its `created`) to its receipt being
  // durable here, by precedence (FLASH first), since start; acks and the protocol's own
  // entries are not counted.
  std::array<DeliveryHistogram, 4> delivery{};
  std::uint64_t transactions_sent = 0;
  std::uint64_t send_failures = 0;
  std::optional<Time> last_contact;        // last answer from the peer
  std::string last_error;                  // last link or refusal error, if any
  std::uint64_t log_size = 0;              // entries in our transcript log for this peer
  std::uint64_t countersigned_size = 0;    // of it, the size the peer countersigned last
  std::uint64_t peer_log_size = 0;         // the size of the peer's head we countersigned last
  std::uint64_t forks_detected = 0;        // since start (the store keeps the evidence)
  std::uint64_t messages_refused = 0;      // ours the peer refused, since start
  std::uint64_t inbound_refused = 0;       // the peer's messages we refused, since start
  std::uint64_t messages_expired = 0;      // ours whose `expires` passed unreceipted, since start
  std::uint64_t messages_cancelled = 0;    // ours cancelled before they left, since start
  std::uint64_t transactions_refused = 0;  // ours the peer refused whole, since start
  std::uint64_t transactions_superseded = 0;    // ours answered 409 and sent again, since start
  std::uint64_t transactions_out_of_order = 0;  // the peer's we answered 425 or 409, since start
  std::uint64_t refusal_streak = 0;             // whole refusals in a row now (>= 2: alert)
  std::string last_refusal;                     // the peer's latest reason, if any
  std::vector<LineGap> gaps;                    // inbound lines with missing seqs, by line
  std::size_t escalations = 0;                  // running now, both sides (core/escalation.h)
  std::uint64_t escalation_alerts = 0;          // kEscalation notices raised, since start
  std::uint64_t tests_sent = 0;                 // automatic line tests we sent, since start
  std::uint64_t tests_answered = 0;  // the peer's automatic tests we answered, since start
  std::vector<LineTestView> tests;   // per line with the peer (core/line_test.h)
  // The peer's transactions that waited for a batch being stored holding an entry they carry
  // (each time one began to wait), and those answered 503 because 64 waited; since start.
  std::uint64_t transactions_held = 0;
  std::uint64_t transactions_held_refused = 0;
  // Why our log and the peer's cannot be reconciled now, if they cannot (docs/protocol.md
  // "Forks and restores"); an alarm, never a healthy path. `fork`: the peer presented a head
  // that contradicts one we countersigned (evidence kept; it stays until a restart).
  // `own_conflict`: the peer refuses our head as older than, or contradicting, one it
  // countersigned (our store went back to an older state); gone at the next receipt.
  // `peer_conflict`: the peer's head is newer than the one we countersigned but carries no
  // proof from it (the peer does not know of our countersignature: we, or it, went back);
  // gone once one of its transactions is stored. Also when the peer sends heads older than
  // the one we countersigned twice in a row (one alone is a late copy from a dead path; again
  // and again, its log went back); `stale_heads` counts them, 0 again once one is stored.
  std::uint64_t stale_heads = 0;
  std::string fork;
  std::string own_conflict;
  std::string peer_conflict;
  // While the session takes back from the peer what our store lost (SessionConfig::
  // recover_at_start), why nothing new is sent yet: "recovering our log from '<peer>': ...".
  // Empty once done. No alarm by itself; a copy that cannot be taken sets `fork`.
  std::string recovering;
  bool forked() const { return !fork.empty() || !own_conflict.empty() || !peer_conflict.empty(); }
  // The first of them that is set ("" if none).
  const std::string& fork_reason() const {
    return !fork.empty() ? fork : !own_conflict.empty() ? own_conflict : peer_conflict;
  }
};

class PeerSession {
 public:
  // `catalog` and `rng` must outlive the session. `recovered` is what the store held.
  PeerSession(SessionConfig config, const catalog::Catalog& catalog, Rng& rng, Recovered recovered);

  // Applies `event`, observed at `now`, and appends the actions it causes to `out`.
  // Bad peer input yields an Answer with a refusal and a Notify, and changes no other
  // state: it is not an error of this call. Bad principal input yields Rejected.
  void handle(const Event& event, Time now, std::vector<Action>& out);

  // When TimerFired is next due (a retry or an ack deadline), if anything is pending. A
  // time in the past means at once (e.g. messages recovered at start wait to be sent).
  std::optional<Time> next_deadline() const;
  // When TimerFired is next due for a running escalation's next step (core/escalation.h),
  // if any. Apart from next_deadline(): an escalation re-alerts until someone acknowledges,
  // so it is no work that ends (the simulator's quiescence ignores it, as heartbeats).
  std::optional<Time> next_alert() const {
    return recovery_.active ? std::nullopt : escalations_.next_alert();
  }
  // When TimerFired is next due for a line's next automatic test (core/line_test.h), if
  // any. Apart from next_deadline() too: tests recur for as long as the line exists.
  std::optional<Time> next_test() const {
    return recovery_.active ? std::nullopt : tests_.next_due(config_.lines);
  }
  // Every message awaiting an acknowledgment, both sides, with its escalation: by side
  // (sender first), then id.
  std::vector<EscalationView> escalation_view() const;

  SessionStats stats() const;
  // Outbound messages not yet receipted (what stats().queued counts), without stats()'s walk.
  std::size_t queued() const { return outbox_.size(); }
  const SessionConfig& config() const { return config_; }
  // The peer's chain of keys as pinned (ledger/key_chain.h): its bundle's key, then each of
  // its rotations stored here. A rotation joins it only once the batch that carried it is
  // durable; at start it is rebuilt from the rotations the store holds. Its newest link is the
  // key in force for the peer: its heads, heartbeats and receipts are checked with it.
  const ledger::KeyChain& peer_chain() const { return peer_chain_; }
  // The chain of our keys in our log for the peer: our bundle's key, then each of our rotations
  // (SessionConfig::own) from where its statement is an entry of that log. Our entries and heads
  // are signed as it says; its newest link signs our new entries, sealed under its epoch.
  const ledger::KeyChain& own_chain() const { return own_chain_; }
  // What the peer knows of our rotations: the number of the newest whose statement a receipt of
  // the peer's covers (the peer pinned its key), 0 for none. Known from our head the peer
  // countersigned, so also after a restart. Our federation certificate follows it (the node's
  // smallest, core/node.h).
  std::uint64_t rotations_countersigned() const { return peer_facing_link().n; }
  // Our key the peer checks what we sign outside our log with (receipts, heartbeats and their
  // answers): the key of rotations_countersigned(). Until the peer countersigned a statement it
  // holds the key before it; then the new one.
  const crypto::SigningKey& key_for_peer() const { return signing_of(peer_facing_link()); }
  // The lines with the peer changed (Node's Reconfigure): what is decided from now on (who
  // may send, acknowledge, which peer envelopes are accepted) follows `lines`; messages and
  // deadlines already held are kept.
  void set_lines(std::vector<Line> lines) { config_.lines = std::move(lines); }
  // The directory changed (Node's Reconfigure): chains started from now on, and the duty
  // officer of every next step, follow it.
  void set_directory(Directory directory) { config_.directory = std::move(directory); }
  // Whether an Acknowledge of `id` is this session's to answer: a message it holds in
  // memory (the peer's, awaiting an ack or settled since start; ours, not yet acknowledged).
  bool holds(std::string_view id) const;
  // OK if Submit `e`, handled at `now`, would be accepted; else the Rejected status its
  // handling would answer (the store's own refusal of the batch aside). Changes nothing: the
  // node checks every line of a broadcast with it before it queues any (core/node.h).
  Status check_submit(const Submit& e, Time now) const;

 private:
  // Whether a transaction of ours in the window carries a later head than `f`: then the
  // peer's 409 to `f` means that one (or a FLASH lane one) arrived first.
  bool superseded_by_ours(const InFlight& f) const;
  // Receipts of the peer's transactions kept in memory to answer late copies (PeerLog::receipts).
  static constexpr std::size_t kReceiptsKept = 64;
  // A receipt we signed for one of the peer's transactions over the head at PeerLog::size.
  struct Countersigned {
    std::string sth;      // the transaction's head, exactly (DSSE JSON)
    std::string receipt;  // what we answered (or will, once durable)
    bool durable = false;
  };
  // The peer's log, as far as we countersigned it, and the messages we hold of it.
  struct PeerLog : PeerState {
    std::string sth;  // the countersigned head (DSSE JSON); empty for the empty log
    // By transaction id, the receipts signed lately, over this head and earlier ones (after a
    // restart, the one the store kept); at most kReceiptsKept. A transaction sent again is
    // answered with the same receipt, so both parties hold one countersignature per head and
    // a replay rewrites nothing.
    std::map<std::string, Countersigned> receipts;
  };
  struct Unacked {
    std::string line;
    Precedence precedence = Precedence::kRoutine;
    Time deadline;
    bool overdue = false;
    bool ack_pending = false;  // the peer's ack is being persisted
    std::string sender = {};   // our principal who sent it: told when it is overdue
  };
  // A peer transaction whose records are being persisted; answered once they are.
  struct InboundBatch {
    RequestId request = 0;
    std::string tx;
    std::uint64_t head_size = 0;  // the peer's head it carries
    ledger::Hash head_root{};
    std::vector<std::string> ids;
    std::string receipt;  // signed once checked, answered once durable
    // The peer head before this transaction, restored if the batch is refused.
    std::uint64_t previous_size = 0;
    ledger::Hash previous_root{};
    std::string previous_sth;
    bool receipt_added = false;  // its receipt joined PeerLog::receipts (taken out if refused)
    std::vector<std::pair<std::uint64_t, std::string>> indices;  // new index -> id
    std::vector<std::pair<std::string, std::uint64_t>> seqs;     // new (line, seq)
    std::vector<std::string> new_ids;  // their entries' ids (messages and rotations)
    std::vector<std::string> acked;    // our ids the peer acknowledged
    // The peer's new messages: awaiting our ack (watched once durable), or not (settled).
    std::vector<std::pair<std::string, AwaitingAck>> awaiting;
    std::vector<std::pair<std::string, SettledInbound>> settled;
    // Of those still queued, the record fields the ack changed, restored if refused.
    struct AckUndo {
      std::string id;
      MessageState state = MessageState::kQueued;
      std::optional<Time> acknowledged_at;
      std::optional<std::string> acknowledged_by;
      std::optional<std::string> ack_id;
    };
    std::vector<AckUndo> ack_undo;
    std::vector<Notice> notices;
    // The peer's chain of keys with the rotations this batch stores: pinned once durable.
    std::optional<ledger::KeyChain> chain;
  };
  // Work that waits for a batch to become durable.
  struct AfterPersist {
    std::vector<Action> actions;  // emitted once Persisted
    // Our new messages in the batch: queued at once (a transaction may carry them; it
    // leaves only once a later batch, so this one too, is durable), unqueued if refused.
    std::vector<std::string> queued;
    std::optional<std::string> ack_of;  // the inbound message a new ack acknowledges
    std::vector<std::pair<std::string, Unacked>> track;  // joins the deadline table
    std::optional<std::string> receipted_tx;             // our in-flight tx is receipted
    std::optional<InboundBatch> inbound;
    std::vector<std::uint64_t> log_entries;  // the indices of our log entries in the batch
    // A cancellation being stored: the message as it was, queued again if the store refuses.
    std::optional<Outgoing> cancelled;
    // What recovery took back from the peer (peer_session_recovery.cc): our head the peer
    // countersigned (size, root), C once durable; then recovery ends.
    std::optional<std::pair<std::uint64_t, ledger::Hash>> recovered_head;
    // The chains of keys through the heads it took (the rotation statements among the entries
    // it gave back): pinned once durable, as a received rotation is.
    std::optional<ledger::KeyChain> recovered_peer_chain;
    std::optional<ledger::KeyChain> recovered_own_chain;
    std::map<std::uint64_t, std::string> recovered_own_ids;  // its statements' ids, by n
    bool recovery = false;
    std::vector<std::uint64_t> own_rotations;  // our key rotations appended in the batch, by n
  };
  // The recovery of both logs from the peer at start (SessionConfig::recover_at_start).
  struct Recovery {
    bool active = false;                // nothing new is signed or sent while it runs
    bool watching = false;              // asked at an ordinary start: nothing waits for the answer
    std::uint64_t start_assigned = 0;   // own_.assigned() at start
    std::uint64_t start_peer_size = 0;  // peer_.size at start
    bool failed = false;  // the copy cannot be taken: stays active, forked, until a restart
    std::optional<std::string> asked;  // our request in flight, by id
    bool storing = false;              // what it gave back is being persisted
    Time retry_at;
    Duration backoff{};
    std::uint64_t failures = 0;
    std::optional<LogAnswer> copy;  // the pages so far
    // Principals' requests, with when they came: handled once it ends, or refused once they
    // waited kHeldWaitMax (the peer does not answer) or it fails.
    std::deque<std::pair<Time, Event>> held;
  };
  static constexpr std::size_t kHeldDuringRecoveryMax = 1000;
  static constexpr Duration kHeldWaitMax = std::chrono::seconds(5);

  // At start: the stored messages not yet receipted, back in the outbox (or why not).
  void requeue_unreceipted(std::vector<MessageRecord>& unreceipted);
  // ---- our own key rotations (peer_session_rotate.cc; docs/protocol.md "Key rotation") ----
  // At start: the chain of our keys from our rotations the store holds in our log for the
  // peer; an error if they are not the statements of SessionConfig::own (the home and the
  // store disagree): then nothing more is signed for the peer.
  Status recover_own_chain(const std::vector<PutRotation>& rotations);
  // The newest link of our chain whose statement a receipt of the peer's covers.
  const ledger::KeyChain::Link& peer_facing_link() const;
  // The signing key of one of our chain's links.
  const crypto::SigningKey& signing_of(const ledger::KeyChain::Link& link) const;
  // Our key for a head of `size` entries: the key of its last entry (ledger/key_chain.h).
  const crypto::SigningKey& head_signing_key(std::uint64_t size) const {
    return signing_of(own_chain_.head_link(size));
  }
  // The seal key of our epoch `epoch` (1 or one of our chain's), derived once.
  Result<crypto::SealKey> own_seal_key(std::uint32_t epoch);
  // Appends each statement of SessionConfig::own that our log for the peer lacks, in order:
  // its log entry and rotations row in one batch, before anything signed after it.
  void append_own_rotations(std::vector<Action>& out);
  // Our rotation entries that no receipt of the peer's covers yet: links of own_chain_.
  std::vector<const ledger::KeyChain::Link*> uncovered_rotations() const;
  // Whether one of them is carried by no transaction of the window.
  bool rotation_waits() const;
  // Puts every uncovered rotation entry into `tx` (first, with its proof in the head `f`
  // carries): the peer cannot know our key in force without it (docs/protocol.md "Key
  // rotation"). `bytes` counts the transaction's size.
  Status add_rotation_entries(wire::Transaction& tx, InFlight& f, std::size_t& bytes);
  void watch_recovered(const Recovered& recovered);
  // At start (SessionConfig::recover_at_start): wait for the peer's copy after a restore, or
  // ask for it without waiting.
  void begin_recovery();
  // ---- recovery of both logs from the peer at start (peer_session_recovery.cc) ----
  // Handles `event` while recovering: principals' requests wait, the peer's transactions are
  // answered 503, our request's answer is taken. False once recovery is over.
  bool recovering(const Event& event, Time now, std::vector<Action>& out);
  // At an ordinary start (Recovery::watching): takes our request's answer or failure, and asks
  // when due; true if `event` was that answer or failure.
  bool watch_logs(const Event& event, Time now, std::vector<Action>& out);
  void ask_for_logs(Time now, std::vector<Action>& out);
  void on_logs_answer(const TransactionAnswered& e, Time now, std::vector<Action>& out);
  void logs_not_answered(const std::string& reason, Time now, std::vector<Action>& out);
  // Every page is in: checks both copies and stores what they give back.
  void take_copies(Time now, std::vector<Action>& out);
  // Our entries the peer's copy gives back, and its countersignature of our head.
  Status add_recovered_own(const VerifiedPeerCopy& copy, Time now, std::vector<Record>& records,
                           AfterPersist& after);
  // One of them: its records (a message delivered, or a rotation of ours), its log entry.
  Status add_recovered_own_entry(const RecoveredEntry& e, const VerifiedPeerCopy& copy, Time now,
                                 std::vector<Record>& records, AfterPersist& after);
  // The record of a recovered entry (ours or the peer's, by `direction`) as far as its
  // envelope and the copy's receipt say; state and content are the caller's.
  MessageRecord recovered_record(const RecoveredEntry& e, Direction direction,
                                 const VerifiedPeerCopy& copy) const;
  // The peer's entries we had countersigned and lost, and our receipt of its head.
  Status add_recovered_peer(const VerifiedPeerCopy& copy, Time now, std::vector<Record>& records,
                            AfterPersist& after);
  // The record of the peer's recovered message `e` of `copy`: delivered, its content opened
  // under the epoch in force at its entry, or refused as it was with the reason.
  MessageRecord recovered_inbound(const RecoveredEntry& e, const VerifiedPeerCopy& copy,
                                  Time now) const;
  // Checks our copies' heads (take_copies): false, and the recovery failed, if the peer's
  // head within its log as we hold it is not signed by its key in force there.
  bool peer_head_holds(const LogAnswer& copy, std::vector<Action>& out);
  void recovery_failed(const std::string& why, std::vector<Action>& out);
  // Principals' requests held since before `before` are refused (503, `why`); a Show stays
  // held (it awaits no answer).
  void refuse_held(const std::string& why, Time before, std::vector<Action>& out);
  void end_recovery(Time now, std::vector<Action>& out);

 public:
  // False while the session recovers its logs at start (SessionConfig::recovery_required) or
  // stores what the peer gave back, or when that failed (forked).
  bool recovery_done() const { return !recovery_.active && !recovery_.watching; }
  // The checks of the peer's transaction `body` worth making ahead, on other threads
  // (core/precheck.h); none if it is malformed or will not be verified now (no seal key,
  // recovering). Reads no payload field. Defined in precheck.cc.
  // `parsed`: where the transaction parsed to plan them is left (null if it was not).
  std::vector<PrecheckItem> precheck_items(std::string_view body,
                                           std::shared_ptr<const wire::Transaction>& parsed) const;

 private:
  void on_submit(const Submit& e, Time now, std::vector<Action>& out);
  // Whether e.principal may write e's message on `line` (core/translation.h): one of the
  // line's principals, or a translator sending a translation of a message on the line.
  Status may_submit(const Line& line, const Submit& e) const;
  // Whether our principal `id` has the translator role, by the directory in force.
  bool is_translator(std::string_view id) const;
  void on_acknowledge(const Acknowledge& e, Time now, std::vector<Action>& out);
  // Writes our ack of the peer's message `id` (awaiting, no ack pending) by our `principal`.
  // A principal's (`request`): its stage.shown entry first if it was not shown, and Accepted
  // once durable. The gateway's own answer to an automatic test (no request): neither, as no
  // person saw it.
  void write_ack(const std::string& id, const std::string& principal,
                 std::optional<RequestId> request, Time now, std::vector<Action>& out);
  // Line tests (core/line_test.h): ours that are due are composed and queued; the peer's
  // automatic test `id` is answered at once, by our gateway for the line's principal.
  void send_tests(Time now, std::vector<Action>& out);
  void answer_test(const std::string& id, Time now, std::vector<Action>& out);
  void on_show(const Show& e, Time now, std::vector<Action>& out);
  void on_cancel(const Cancel& e, Time now, std::vector<Action>& out);
  // Whether our principal `principal` may cancel `record`: its sender, or on its line.
  Status may_cancel(const MessageRecord& record, const std::string& principal) const;
  // Our signed stage.shown entry for the peer's message `id` (awaiting `a`), shown to our
  // `principal` at `now`: marked shown, its records added to the batch.
  void add_shown_entry(const std::string& id, const AwaitingAck& a, const std::string& principal,
                       Time now, std::vector<Record>& records, AfterPersist& after);
  // Whether `e` may acknowledge its message: kNotFound (not held), kPermissionDenied (the
  // principal is not on its line), kAlreadyExists (acknowledged already), kFailedPrecondition
  // (not a message of the peer's awaiting an ack: ours, an ack, refused).
  Status may_acknowledge(const Acknowledge& e) const;
  // Our messages whose ack deadline passed: overdue (the update added to `records`); their ids.
  std::vector<std::string> mark_overdue(Time now, std::vector<Record>& records);
  // The peer's messages whose ack deadline passed: overdue (the update added to `records`)
  // and notified once; their ids.
  std::vector<std::string> mark_inbound_overdue(Time now, std::vector<Record>& records,
                                                std::vector<Action>& out);
  // Our signed evidence.unacknowledged entry for `id`, just marked overdue on `side` (after
  // its first alert, which it names): its record and log entry join `records`, the batch of
  // the overdue mark, so that a message recovered overdue has its evidence already and none
  // is ever written twice (docs/protocol.md "Evidence of silence").
  void add_evidence(const std::string& id, EscalationSide side, Time now,
                    std::vector<Record>& records, AfterPersist& after);
  // Queues one of our protocol entries (evidence, a stage) for the peer: a message of type
  // `type` on `line_id`, from our principal `from` to `to`, naming `about` in reply_to.
  void add_protocol_entry(const std::string& line_id, const std::string& from,
                          const wire::Address& to, Precedence precedence, std::string_view type,
                          const std::string& about, const std::string& body_json, Time now,
                          std::vector<Record>& records, AfterPersist& after);
  // Starts the escalation of our overdue message `id` (the sender is told), or of the peer's
  // (the addressee, the line's other principals, the duty officer of the addressee's role).
  void escalate_sent(const std::string& id, const Unacked& u);
  void escalate_received(const std::string& id, const AwaitingAck& a);
  // Raises the escalation steps due at `now`, one kEscalation notice per message.
  void raise_alerts(Time now, std::vector<Action>& out);
  // `waited`: handled again after waiting for a batch being stored (retry_held), so not
  // counted as held again should it wait once more.
  void on_transaction(const TransactionReceived& e, bool waited, Time now,
                      std::vector<Action>& out);
  // Answers transaction `tx` with head `sth`, countersigned before, with the receipt signed
  // for it then (503 while that is not yet durable); false if it is not one.
  // `pinned`: the transaction's (wire::Transaction::pinned), checked by receipt_key().
  bool answer_again(RequestId request, const std::string& tx, const std::string& sth,
                    std::optional<std::uint64_t> pinned, std::vector<Action>& out);
  // Our key that signs the receipt of a transaction naming `pinned` (wire::Transaction): the
  // key of our rotation it names, which the sender checks the receipt with; without it,
  // key_for_peer(). Refused (invalid_argument) when it names a rotation we never made, and
  // unavailable while that rotation is not yet an entry of our log for the peer.
  Result<const crypto::SigningKey*> receipt_key(std::optional<std::uint64_t> pinned) const;
  // Answers a transaction whose `pinned` receipt_key() refused: 503 (send it again) or 400.
  void refuse_pinned(RequestId request, const Status& why, std::vector<Action>& out);
  // `receipt`, signed again by `key` if another of our keys signed it.
  static std::string receipt_signed_by(const std::string& receipt, const crypto::SigningKey& key);
  // The peer's transaction is out of the order of its heads (TransactionOrder): answered
  // 425 (early) or 409 (stale, unless answered again), nothing stored, no refusal counted.
  void out_of_order(RequestId request, const TransactionRefusal& refusal, std::vector<Action>& out);
  // The peer presented a head that contradicts the one we countersigned: kept as evidence.
  void on_fork(RequestId request, const TransactionRefusal& refusal, Time now,
               std::vector<Action>& out);
  // Stores a verified transaction's new messages and our receipt, signed by `signer` (the
  // key receipt_key() chose for it); answered once durable.
  void store_transaction(RequestId request, const VerifiedBatch& verified,
                         const crypto::SigningKey& signer, Time now, std::vector<Action>& out);
  // What verification needs of us.
  PeerContext context() const {
    PeerContext c{config_.party, config_.peer, config_.lines,
                  seal_key_,     catalog_,     config_.messages};
    c.chain = &peer_chain_;
    c.seal_keys = &seal_keys_;
    c.keys = &config_.keys;
    return c;
  }
  // Derives the seal key of every epoch of peer_chain_ after the first not derived yet.
  void derive_seal_keys();
  // Holds a batch being stored as if countersigned (peer_session_receive.cc).
  void take_as_countersigned(const VerifiedBatch& verified, InboundBatch& batch);
  // Whether the peer's rotation at entry `index` is pinned (its batch durable).
  bool rotation_pinned(std::uint64_t index) const;
  // Whether `verified` carries an entry of the peer's log (a message, an ack, a rotation) that
  // a batch being stored holds (a transaction before it carried it too): only that batch's
  // outcome says whether it is stored.
  bool carries_entry_being_stored(const VerifiedBatch& verified) const;
  // Handles again, as if they just arrived, the transactions that waited for a batch holding
  // an entry they carry (one batch of the peer's is durable or refused now).
  void retry_held(Time now, std::vector<Action>& out);
  // Adds the records of a fresh rotation of `verified` (its statement, log entry and
  // inclusion proof) to `records` and its notice to `batch`.
  void store_rotation(const VerifiedRotation& r, InboundBatch& batch, std::vector<Record>& records);
  void on_answer(const TransactionAnswered& e, Time now, std::vector<Action>& out);
  void on_failed(const TransactionFailed& e, Time now, std::vector<Action>& out);
  // Why `receipt` is not transaction `f`'s; "" if it is.
  std::string receipt_problem(const InFlight& f, const ReceiptView& receipt) const;
  // The peer answered transaction `f`: its messages are sent (stored once).
  void mark_reached(InFlight& f, Time now, std::vector<Action>& out);
  // A valid receipt for transaction `f`: its messages' fates, and the head.
  void apply_receipt(InFlight& f, ReceiptView receipt, const std::string& body, Time now,
                     std::vector<Action>& out);
  // The peer's receipt for `f` is durable: its messages leave the queue, the head is C.
  void receipted(const InFlight& f, Time now, std::vector<Action>& out);
  // Our messages whose `expires` has passed before a receipt become expired (final).
  void expire(Time now, std::vector<Action>& out);
  void on_persisted(const Persisted& e, Time now, std::vector<Action>& out);
  // The peer's transaction `b` is durable: its messages are held, our receipt answers it.
  void inbound_durable(InboundBatch& b, Time now, std::vector<Action>& out);
  void on_persist_refused(const PersistRefused& e, Time now, std::vector<Action>& out);
  // Of a refused batch: our own work that waited on it (submissions, acks, a transaction).
  void undo_outbound(const AfterPersist& after, const std::string& why, Time now,
                     std::vector<Action>& out);
  // Of a refused batch: the peer's transaction in it is refused, and nothing of it is kept.
  void undo_inbound(const InboundBatch& b, const std::string& why, std::vector<Action>& out);
  // Transaction `tx` of the window is given up (it did not leave, or the peer passed its
  // head), with every later one if `later_too` (their `after` may name a head the peer never
  // gets); its messages that expired in flight go with it (final, no longer watched).
  void give_up_in_flight(const std::string& tx, bool later_too);
  void on_timer(Time now, std::vector<Action>& out);
  // The transactions of the window that are due again are resent.
  void resend_due(Time now, std::vector<Action>& out);
  // Whether pump() would build a transaction: messages wait that none carries, and the window
  // has room (a FLASH waiting: the FLASH lane has).
  bool may_build() const;
  void pump(Time now, std::vector<Action>& out);
  // Builds one transaction of the window (a FLASH lane one if `lane`); false if none was.
  bool build(bool lane, Time now, std::vector<Action>& out);
  // Puts the first queued messages that no transaction carries and that fit into `tx` (its
  // consistency items already in; only FLASH ones if `f.lane`), proven against the head `f`
  // carries. An error if our log cannot prove them.
  Status choose_entries(wire::Transaction& tx, InFlight& f);
  // Our own log cannot be proven: nothing more is sent; the operator is told once.
  void build_failed(const Status& status, std::vector<Action>& out);
  void schedule_retry(InFlight& f, Time now, const std::string& reason, NoticeKind kind,
                      std::vector<Action>& out);
  void persist(std::vector<Record> records, std::optional<AfterPersist> after,
               std::vector<Action>& out);
  // Seals and signs a new outbound message; the record is ready to Persist.
  Outgoing compose(const Line& line, const std::string& principal, const wire::Address& to,
                   Precedence precedence, const std::string& type, const wire::Content& content,
                   const std::optional<std::string>& reply_to, const std::optional<Time>& expires,
                   Time now);
  // Gives `outgoing` the next index of our log and adds its LogEntry to `records`.
  void append_to_log(Outgoing& outgoing, std::vector<Record>& records, AfterPersist& after);
  // Adds `u` to unacked_ under `id` unless it is there already, and watches its deadline.
  void track(const std::string& id, Unacked u);
  // Removes `id` from unacked_ and deadlines_.
  void untrack(const std::string& id);
  // Stops watching `u`'s deadline (before it turns overdue or ack_pending).
  void unwatch(const std::string& id, const Unacked& u);
  // The fields of an inbound record that every stored envelope has, accepted or refused.
  // The message record of a payload of this peer's line, as stored (its envelope's JSON,
  // the transaction that carried it).
  MessageRecord record_of(const wire::Payload& p, Direction direction, std::string envelope,
                          std::string tx) const;
  MessageRecord inbound_record(const VerifiedEnvelope& in, const InboundBatch& batch) const;
  // Adds `record`, its log entry and its inclusion proof to `records`, and notes them in
  // `batch` (undone if the store refuses the batch).
  void store_incoming(MessageRecord record, const VerifiedEnvelope& in, InboundBatch& batch,
                      std::vector<Record>& records);
  // The inbound records and notices of one fresh envelope of `batch`.
  void accept_incoming(const VerifiedEnvelope& in, Time now, InboundBatch& batch,
                       std::vector<Record>& records);
  // Of one fresh envelope refused alone: kept as a refused entry of the peer's log.
  void refuse_incoming(const VerifiedEnvelope& in, InboundBatch& batch,
                       std::vector<Record>& records);
  // The peer refused our whole transaction `f` (4xx): retry, and alert when it repeats.
  void on_refused(InFlight& f, const std::string& error, Time now, std::vector<Action>& out);
  const Line* find_line(std::string_view id) const { return core::find_line(config_.lines, id); }
  bool may_act_on(const Line& line, std::string_view principal) const {
    return core::may_act_on(line, principal);
  }
  void refuse(RequestId request, FrameRefusal reason, std::string_view envelope_id,
              const std::string& why, std::vector<Action>& out);

  SessionConfig config_;
  ledger::KeyChain peer_chain_;  // after config_, from which it starts
  // Our own chain of keys along our log for the peer (SessionConfig::own, `parley rotate`),
  // which the session also passes to the log recovery (core/log_recovery.h); grown by a
  // rotation of ours that a recovered copy gives back, once durable.
  ledger::KeyChain own_chain_;
  std::map<std::uint64_t, std::string> own_rotation_ids_;  // of own_chain_'s statements, by n
  const catalog::Catalog& catalog_;
  Rng& rng_;
  crypto::SealKey seal_key_{};
  Status seal_key_status_;
  // The seal keys of the peer's epochs after the first (its rotations pinned), by epoch.
  std::map<std::uint32_t, crypto::SealKey> seal_keys_;
  std::map<std::string, std::uint64_t> last_outbound_seq_;
  Outbox outbox_;
  std::uint64_t failure_streak_ = 0;
  std::uint64_t refusal_streak_ = 0;  // whole-transaction refusals since the last receipt
  std::map<std::string, Unacked> unacked_;
  // (deadline, id) of every unacked_ entry that is neither overdue nor ack_pending: the
  // deadlines next_deadline() and on_timer() watch, without walking every unacked message.
  std::set<std::pair<Time, std::string>> deadlines_;
  InboundAcks inbound_;      // the peer's messages awaiting our ack, and their deadlines
  Escalations escalations_;  // of the overdue ones, both sides
  BatchId next_batch_ = 1;
  std::map<BatchId, AfterPersist> after_persist_;
  OwnLog own_;
  PeerLog peer_;
  bool build_failed_ = false;  // our log could not be proven: nothing more is sent
  SessionStats counters_;
  LineTests tests_;
  // The peer's automatic tests recovered unanswered (a stop before our answer was durable):
  // answered at the first timer.
  std::set<std::string> answers_due_;
  Recovery recovery_;
  // The peer's transactions that carry an entry which only a batch being stored holds
  // (peer_session_receive.cc): unanswered, nothing of them taken, until that batch is durable
  // or refused. A receipt of theirs names the entry, which the peer then counts as delivered
  // (a rotation statement: carries no more): it must not be signed while the entry may still
  // fail to be stored. At most kHeldMax; one more is answered 503.
  std::vector<TransactionReceived> held_;
  static constexpr std::size_t kHeldMax = 64;
};

}  // namespace parley::core
