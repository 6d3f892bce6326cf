// Verification of a peer's transaction: one pure function from the bytes to a verified
// batch or a refusal (docs/protocol.md "Transactions", "Refusals").
//
// The transaction is parsed once, then checked in order, each check on values the one
// before established: its framing and parties; the sender's signed tree head (by the
// pinned key, of its log for this pair); that head extends the one we countersigned last
// (RFC 6962 §2.1.2); each envelope's signature and its inclusion in the head (§2.1.1);
// whether each envelope is new. What the peer's signatures and proofs do not hold together
// refuses the whole transaction; what only makes one message unacceptable (unknown line,
// from/to not the line's: `from` must be the line's remote principal or one of its remote
// alternates, or one of the peer's translators (its bundle) sending a translation of a message
// on the line, core/translation.h; a body the catalog rejects, expired) refuses that message
// alone,
// and the batch carries the reason. The session gets a value it can trust and only decides
// what to store. No I/O, no clock: `now` is a value.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "parley/base/time.h"
#include "parley/catalog/catalog.h"
#include "parley/core/model.h"
#include "parley/core/seq_set.h"
#include "parley/core/transcript_view.h"
#include "parley/core/translation.h"
#include "parley/crypto/crypto.h"
#include "parley/crypto/facts.h"
#include "parley/ledger/key_chain.h"
#include "parley/ledger/merkle.h"
#include "parley/wire/wire.h"

namespace parley::core {

// Who we are and whom we pinned: what a peer's transaction is verified against. The
// references must outlive the call (and the VerifiedBatch, which points into `lines`).
struct PeerContext {
  const std::string& party;  // ours
  const wire::Bundle& peer;  // the pinned peer: its party id and keys
  const std::vector<Line>& lines;
  const crypto::SealKey& seal_key;  // of this pair of parties
  const catalog::Catalog& catalog;
  // Where a translation's reply_to is looked up (core/translation.h); null: nowhere.
  const MessageLines* messages = nullptr;
  // The peer's keys along its log as pinned (ledger/key_chain.h: its bundle's key and the
  // rotations we accepted); null: the bundle's key alone, for every position.
  const ledger::KeyChain* chain = nullptr;
  // Signature checks and seal openings established ahead, on other threads (core/precheck.h);
  // null: none. They only save time: a check they do not hold is made here, so the verdict
  // and its words are the same with or without them.
  const crypto::Facts* known = nullptr;
  // The transaction's body already parsed by wire::parse_transaction (core/precheck.h plans
  // with it); null: verify_transaction parses the body. It must be the parse of that body.
  const wire::Transaction* parsed = nullptr;
  // The seal keys of the epochs after the first (docs/protocol.md "Content, sealing and
  // commitment"): a peer's content at an entry is sealed under the epoch in force there (its
  // chain's), opened with the key derived for that epoch: from `seal_keys` if it holds it,
  // else from our `keys` (a rotation the same transaction carries). Both null: epoch 1 alone.
  const std::map<std::uint32_t, crypto::SealKey>* seal_keys = nullptr;
  const crypto::Keys* keys = nullptr;
};

// Our state of the peer's log: the head we countersigned last, and which of its entries
// and messages we hold (stored, or in a batch being stored).
struct PeerState {
  std::uint64_t size = 0;
  ledger::Hash root = ledger::empty_root();
  std::map<std::uint64_t, std::string> ids;  // index -> envelope id, seen since start
  std::map<std::string, SeqSet> seqs;        // stored inbound seqs, per line
  std::set<std::pair<std::string, std::uint64_t>> pending_seqs;  // (line, seq) being stored
  std::set<std::string> stored_ids;   // message ids received since start (the store has older)
  std::set<std::string> pending_ids;  // message ids being stored
};

// One envelope of a verified transaction.
struct VerifiedEnvelope {
  wire::Envelope envelope;          // its signature checked
  std::string json;                 // exactly as received
  std::uint64_t index = 0;          // its leaf in the sender's log
  std::vector<ledger::Hash> proof;  // its inclusion in the head, verified
  wire::Opened opened;              // its content; set when it is accepted
  const Line* line = nullptr;       // its line; set when it is accepted
  std::string refusal;              // why this message alone is refused; empty if accepted
  bool fresh = false;               // not held yet: to be stored (accepted or as a refused entry)
  std::uint32_t epoch = 1;          // the seal epoch in force at its index (the peer's chain)
  std::size_t position = 0;         // its place among the transaction's entries
};

// A key rotation statement of the peer's (wire/rotation.h) that a transaction carried:
// opened with the key in force at its index, and included in the head.
struct VerifiedRotation {
  wire::Rotation rotation;
  std::string json;  // exactly as received: the leaf
  std::uint64_t index = 0;
  std::vector<ledger::Hash> proof;
  std::size_t position = 0;  // its place among the transaction's entries
};

struct VerifiedBatch {
  std::string tx;   // its id
  std::string sth;  // the sender's signed head, exactly as received (DSSE JSON)
  Head head;        // the same, opened
  // Which of our keys the sender checks the receipt with (wire::Transaction::pinned).
  std::optional<std::uint64_t> pinned;
  std::vector<VerifiedEnvelope> envelopes;
  // The rotation entries it carried, in index order (the ones we had accepted before too).
  std::vector<VerifiedRotation> rotations;
  // The peer's chain of keys once this batch is stored: the context's, and a link for each
  // rotation it carried that the chain did not have. Pinned only when the batch is durable.
  std::optional<ledger::KeyChain> chain;
};

// The whole transaction is refused: answered 400 with `why` (and the envelope's id, if one
// is to blame). `fork`: the head contradicts one we countersigned; keep both as evidence.
// Why a peer's transaction was refused, as /metrics counts it (parley_frames_refused_total's
// `reason`): a small fixed set, where TransactionRefusal::why is the full sentence.
enum class FrameRefusal {
  kMalformed,     // not a transaction (framing, JSON, fields)
  kBadHead,       // the parties or the signed head are not the pinned peer's for us
  kInconsistent,  // the head does not extend the one we countersigned (no proof, older)
  kFork,          // the head contradicts the one we countersigned (evidence kept)
  kBadEnvelope,   // an envelope's signature or payload
  kBadInclusion,  // an envelope is not in the signed head
  kConflict,      // an index or an id already holds another envelope, an id twice
  kUnavailable,   // we cannot verify it now (no seal key agreed, the store cannot say)
  kStoreRefused,  // verified, but the store refused the batch
};
inline constexpr std::size_t kFrameRefusals = 9;
// "malformed", "bad_head", "inconsistent", "fork", "bad_envelope", "bad_inclusion",
// "conflict", "unavailable", "store_refused".
std::string_view frame_refusal_name(FrameRefusal reason);

// Where a transaction stands in the order of the sender's heads (docs/protocol.md
// "Transaction window"): none of these is a fault of the sender's.
enum class TransactionOrder {
  kNone,
  // Its `after` is a head we do not hold yet: a transaction before it has not arrived. It is
  // answered 425 and sent again later; nothing is stored.
  kEarly,
  // Its head is older than the one we hold: a later transaction was handled first. Answered
  // with the receipt signed for it if it was handled before, else 409 (the sender sends its
  // messages again in a new transaction).
  kStale,
};

struct TransactionRefusal {
  std::string why;
  std::string envelope_id;
  bool fork = false;
  std::string sth;  // with `fork` or kStale: the transaction's head (DSSE JSON)
  FrameRefusal reason = FrameRefusal::kMalformed;
  TransactionOrder order = TransactionOrder::kNone;
  std::string tx = {};                       // with kStale: the transaction's id
  std::optional<std::uint64_t> pinned = {};  // with kStale: wire::Transaction::pinned
  // kInconsistent: the head is newer than the one we countersigned but carries no proof from
  // it. The peer does not know of our countersignature: it, or we, went back to an older
  // store (docs/protocol.md "Forks and restores"), and the two logs cannot be reconciled.
  bool unproven = false;
};

// Whether the peer's refusal `error` of our transaction says our log and its record of it
// cannot be reconciled: our head is older than the one it countersigned, contradicts it, or
// comes with no proof from it (the refusals verify_transaction writes). After a restore from
// an older backup, the peer holds more of our log, or countersigned more of it, than we know.
bool refusal_says_log_conflict(std::string_view error);

// What the sender concludes when the peer says twice (425) that it lacks the head of size
// `size` of our log although it countersigned it: the peer's copy of our log went back. A
// log conflict (refusal_says_log_conflict is true of it).
std::string lost_countersigned_head(const std::string& peer, std::uint64_t size);

using Verified = std::variant<VerifiedBatch, TransactionRefusal>;

// The seal key of `epoch` with the peer: the context's seal_key for epoch 1, else from
// seal_keys, else derived from keys; kFailedPrecondition if it has neither.
Result<crypto::SealKey> seal_key_of(const PeerContext& c, std::uint32_t epoch);

// The seal epoch in force at entry `index` of the chain's log: its last link's at or before it.
std::uint32_t epoch_at(const ledger::KeyChain& chain, std::uint64_t index);

// Verifies `body`, a transaction the peer posted, observed at `now`. The peer's keys follow
// its chain (docs/protocol.md "Key rotation"): the rotation entries the transaction carries
// are opened first, in index order, each with the key in force at its index (a statement not
// signed by that key refuses the whole transaction, kBadEnvelope); then the head is checked
// with the key in force at its size and every envelope with the key in force at its index.
Verified verify_transaction(std::string_view body, const PeerContext& context,
                            const PeerState& state, Time now);

// Checks the peer's head (size, root) against the one we countersigned; "" if it extends
// it, else why not, with `fork` set when the two heads cannot both be true.
std::string check_consistency(const PeerContext& context, const PeerState& state,
                              const wire::Transaction& tx, std::uint64_t size,
                              const ledger::Hash& root, bool& fork);

// The line `id` of `lines`, or nullptr.
const Line* find_line(const std::vector<Line>& lines, std::string_view id);

// Whether `principal` is the line's local principal or one of its alternates.
bool may_act_on(const Line& line, std::string_view principal);

// Whether `principal` (of the line's remote party) is the line's remote principal or one of
// its remote alternates: who may write to us on the line.
bool may_write_to_us(const Line& line, std::string_view principal);

}  // namespace parley::core
