// Recovery of our own log from the peer (issue 17; docs/protocol.md "Forks and restores").
//
// A gateway whose store went back to an older state (`parley restore` of a backup, a VM or
// filesystem snapshot) holds a shorter log for a peer than the peer has countersigned: the
// peer keeps, with its receipt, the newest head of our log it countersigned, and a copy of
// every entry of our log it received. Before it signs anything new for that peer (a new
// entry at an index the peer already holds would be a fork, signed by us), the gateway takes
// that head and the entries after its own size from the peer and checks them here: the head
// is ours (our key, our log for this peer), the receipt is the peer's countersignature of
// exactly that head, every entry is an envelope signed by us, and the entries, appended to
// our log's frontier, give the head's root. Only then may they be appended again. The peer
// is not trusted for any of it: what it could change would fail a signature or the root.
//
// Keys follow each log's chain (ledger/key_chain.h, docs/protocol.md "Key rotation"): a log
// may hold its owner's key rotation statements, so every entry is checked with the key in
// force at its index and every head with the key in force at its size, and a statement among
// the entries given back extends the chain (KeyChain::add: signed by the key it replaces) for
// the entries and head after it.
//
// What cannot be recovered is said, not guessed: an entry the peer never received (a message
// cancelled or expired before it left, one queued behind a FLASH and lost with the restore)
// leaves a hole that no root check can fill, and the log stays unrecoverable (forked) until
// an operator settles it with the peer. Pure: no I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "parley/base/status.h"
#include "parley/core/model.h"
#include "parley/core/own_log.h"
#include "parley/crypto/crypto.h"
#include "parley/ledger/formats.h"
#include "parley/ledger/key_chain.h"
#include "parley/ledger/merkle.h"
#include "parley/wire/rotation.h"
#include "parley/wire/wire.h"

namespace parley::core {

// One entry of a log as a copy carries it: an envelope, or a key rotation statement of the
// log's owner (wire/rotation.h), its text exactly as signed (its leaf).
struct CopyEntry {
  std::uint64_t index = 0;
  std::string envelope;   // the envelope's JSON, or the statement's
  bool rotation = false;  // a key rotation statement, not an envelope
  bool operator==(const CopyEntry&) const = default;
};

// What the peer holds of our log: the newest head of it the peer countersigned (our signed
// head, DSSE JSON, exactly as the transaction carried it) with the peer's receipt over it, and
// our entries it received with an index at or after the size we asked from, by index.
struct PeerCopyOfOurLog {
  std::string sth;
  std::string receipt;
  std::vector<CopyEntry> entries;
};

// One entry of our log, recovered: the envelope (or statement) exactly as we signed it.
struct RecoveredEntry {
  std::uint64_t index = 0;
  std::string envelope_json;               // a rotation's: the statement
  wire::Envelope envelope;                 // empty for a rotation
  std::optional<wire::Rotation> rotation;  // set for a key rotation statement
  ledger::Hash leaf{};
};

// What verify_peer_copy accepted: our head the peer countersigned, its receipt, and the
// entries of our log from `log`'s size up to the head's size (none if the head is not
// larger), in index order; `chain`, our chain of keys through that head: the one we passed
// with a link for each rotation statement among the entries.
struct VerifiedPeerCopy {
  ledger::SignedTreeHead head;
  ledger::ReceiptV2 receipt;
  std::string sth;
  std::string receipt_json;
  std::vector<RecoveredEntry> entries;
  std::optional<ledger::KeyChain> chain;  // set on success
};

// The parties and their keys: each party's chain of keys as we hold it (the party is the
// chain's party()), its pinned key first, then the rotations we hold of its log.
struct RecoveryParties {
  ledger::KeyChain ours;
  ledger::KeyChain peer;
};

// Checks `copy` against our log as we hold it (`log`, its frontier; its size is what we
// asked the peer from), our keys along it `parties.ours`. In order: the rotation statements
// among the entries, each with the key in force at its index (extending the chain); the head
// with the key in force at its size; the receipt with one of the peer's keys (`parties.peer`:
// any key of its chain, as a receipt has no place in the peer's log to say which was in force
// when it was signed); then every envelope with the key in force at its index. Errors, each
// one line:
//  - kUnauthenticated: the head is not signed by our key in force at its size, or is not our
//    log for this peer; the receipt is not the peer's signature, or does not countersign
//    exactly that head; an entry is not signed by our key in force at its index (a rotation
//    statement included: KeyChain::add's error);
//  - kInvalidArgument: malformed JSON, an entry at an index we did not ask for, twice, or out
//    of order, entries although the head is not larger than our log, a rotation statement
//    whose n or epoch does not follow the chain's;
//  - kFailedPrecondition: an entry the head covers is missing (the peer never received it):
//    our log cannot be recovered from this peer;
//  - kDataLoss: the entries (or, for a head within our log, our own entries) do not give the
//    head's root: something was altered, or our store and the peer's record of it differ.
Result<VerifiedPeerCopy> verify_peer_copy(const PeerCopyOfOurLog& copy, const OwnLog& log,
                                          const RecoveryParties& parties);

// ---- fetching the copy: POST /federation/v1/log (docs/protocol.md "Forks and restores") ----
//
// At each start, before it signs anything new for a peer, a gateway asks that peer what it
// holds of both logs of the pair: of ours (the head of it the peer countersigned last, and
// our entries after the size we hold) and of the peer's (the head of it we countersigned
// last, with our own receipt, and its entries after the size we hold). A gateway whose store
// did not go back gets two heads it already holds: nothing to recover.

// Entries of each log per answer, at most; the asker asks again from the next index.
inline constexpr std::size_t kLogEntriesPerAnswer = 256;

struct LogRequest {
  std::string from;              // the asking party
  std::string to;                // the answering party
  std::uint64_t after = 0;       // the size of the asker's log as the asker holds it
  std::uint64_t peer_after = 0;  // the size of the answerer's log the asker holds
};
std::string encode_log_request(const LogRequest& request);
// kInvalidArgument: malformed JSON, a missing, mistyped or unknown field, another version;
// kPermissionDenied: `from` is not `asker` (the TLS peer) or `to` is not `us`.
Result<LogRequest> parse_log_request(std::string_view body, std::string_view asker,
                                     std::string_view us);

// The answer. An entry is {"index": i, "envelope": {..}} or, for a key rotation statement of
// the log's owner, {"index": i, "rotation": {..}} (as in a transaction). `yours`: the asker's log
// as the answerer holds it (its newest head the answerer countersigned, the answerer's receipt, the
// asker's entries from `after`); `mine`: the answerer's own log (its newest head the asker
// countersigned, the asker's receipt, its entries from `peer_after`), with `mine_range`, the
// compact range of the answerer's log at `peer_after` (empty if it keeps none there) from which the
// asker checks them. A log with no countersigned head has empty `sth` and `receipt` (null on the
// wire) and no entries.
struct LogAnswer {
  std::string from;
  std::string to;
  PeerCopyOfOurLog yours;
  PeerCopyOfOurLog mine;
  std::optional<std::vector<ledger::Hash>> mine_range;
};
std::string encode_log_answer(const LogAnswer& answer);
// kInvalidArgument: malformed (an entry with both or neither of "envelope" and "rotation"),
// or an entry's index out of order; kPermissionDenied: `from`
// is not `peer` or `to` is not `us`. Signatures are checked by verify_peer_copy, not here.
Result<LogAnswer> parse_log_answer(std::string_view body, std::string_view peer,
                                   std::string_view us);

// The answer to `request` from what the answerer's store holds: the heads of the asker's log
// (`asker_heads`) and of its own (`own_heads`), each by size, and the entries of each from
// the asked index on (at most kLogEntriesPerAnswer are used, and none at or past the head).
LogAnswer make_log_answer(const LogRequest& request, const std::vector<HeadRecord>& asker_heads,
                          const std::vector<LogEntryView>& asker_entries,
                          const std::vector<HeadRecord>& own_heads,
                          const std::vector<LogEntryView>& own_entries);

// Checks the peer's own log in `answer` (answer.mine) against what we hold of it: the head we
// countersigned last (`held_size`, `held_root`), from which the answer's compact range must
// give that root; then as verify_peer_copy with the roles swapped (the head is the peer's,
// the receipt ours, the entries the peer's, along the peer's chain). `parties` are as for our
// own log (ours, peer).
// Errors as verify_peer_copy's; kFailedPrecondition also when the answer has no compact range
// (the peer keeps none at `held_size`); kDataLoss when the range does not give `held_root`.
Result<VerifiedPeerCopy> verify_copy_of_peer_log(const LogAnswer& answer, std::uint64_t held_size,
                                                 const ledger::Hash& held_root,
                                                 const RecoveryParties& parties);

}  // namespace parley::core
