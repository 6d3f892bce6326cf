// What the store held for one peer when the gateway (re)started: the session's starting
// state. Its own header so that the store interface (store/store.h) does not depend on the
// session: the store fills these types, the session reads them.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "parley/core/line_test.h"
#include "parley/core/model.h"
#include "parley/crypto/crypto.h"

namespace parley::core {

// A signed tree head as the store keeps it.
struct RecoveredHead {
  std::uint64_t size = 0;
  crypto::Digest root{};
  std::string sth;                     // DSSE JSON
  std::optional<std::string> receipt;  // its countersignature, if it has one (JSON)
};

// The transcript state of one pair of parties at start. Nothing here is proportional to
// the history: a compact range, the leaves after it, and a few heads.
struct RecoveredLedger {
  std::uint64_t log_size = 0;  // entries in our log for this peer
  // The frontier's base: a size our log had when the peer countersigned it, at or below
  // the lowest index still unreceipted, with its compact range; then the leaf hashes of
  // the entries [base_size, log_size).
  std::uint64_t base_size = 0;
  std::vector<crypto::Digest> base_nodes;
  std::vector<crypto::Digest> tail;
  std::optional<RecoveredHead> countersigned;  // our latest head with the peer's receipt
  std::vector<RecoveredHead> pending;          // our later heads without one, by size
  std::optional<RecoveredHead> peer_head;      // the peer's latest head we countersigned
};

// The inbound seqs stored on one line: every seq in 1..watermark, and those in `above`
// (each above watermark + 1). Gaps are transient, so `above` is short (core/seq_set.h).
struct RecoveredSeqs {
  std::uint64_t watermark = 0;
  std::vector<std::uint64_t> above;  // ascending
};

// What the store held when the gateway (re)started; read by the driver via Store::recover.
// Nothing here is proportional to the history either: the pending messages, and a few
// numbers per line.
struct Recovered {
  std::map<std::string, std::uint64_t> last_outbound_seq;  // per line
  std::map<std::string, RecoveredSeqs> inbound_seqs;       // per line with inbound messages
  std::vector<MessageRecord> unreceipted;     // outbound, no receipt yet (whatever its state)
  std::vector<MessageRecord> unacknowledged;  // outbound, not "ack", not yet acknowledged
  // Inbound, not "ack", not yet acknowledged by us (delivered or overdue): the receiving
  // node watches their deadlines and finds them when a principal acknowledges one.
  std::vector<MessageRecord> inbound_unacknowledged;
  // Of those, the ids we sent a stage.shown entry for already (store/node_recovery.h): they
  // are shown once, and a restart must not show them again.
  std::set<std::string> shown;
  // Per line, the last automatic test we sent (store/node_recovery.h): the line tests'
  // numbering and schedule continue from it (core/line_test.h).
  std::map<std::string, RecoveredTest> line_tests;
  RecoveredLedger ledger;
  // The peer's key rotations in its log for us (PutRotation, owner the peer), by index: the
  // session rebuilds its chain of the peer's keys from them (ledger/key_chain.h). One per
  // rotation the peer ever made, so a handful.
  std::vector<PutRotation> peer_rotations;
  // Our own key rotations in our log for the peer (PutRotation, owner us, peer the peer), by
  // index: the session rebuilds the chain of our keys in that log from them, and appends the
  // statements it lacks (SessionConfig::own).
  std::vector<PutRotation> own_rotations;
};

}  // namespace parley::core
