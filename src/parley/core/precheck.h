// Precheck: the expensive, pure part of verifying a peer's transaction, done ahead of it on
// other threads (issue 15, "Verification on every core").
//
// On a PeerTransaction the node asks its session which checks the transaction will need
// (PeerSession::precheck_items): the sender's signed head by the key in force now, and each
// envelope's signature by the key in force at its index with, once that holds, the opening
// of its seal. The node hands them to its shell (NodeAction Precheck) and holds the
// transaction; the shell runs each item through run_precheck (the gateway on a pool of
// threads, gateway/verify_pool.h; the simulator inline, answering at a time its seed
// chooses) and feeds back what held (NodeEvent Prechecked). verify_transaction then runs as
// before, on the node's thread, with those facts at hand (PeerContext::known): a check they
// answer is not made again, any other is made there. The transaction parsed to plan the
// items goes with it (TransactionReceived::parsed, PeerContext::parsed): it is parsed once.
// So a missing, partial, late or stale answer costs time only; the verdict and its words are
// those of verification without it.
//
// Pure: run_precheck reads nothing but its item and may run on any thread.
#pragma once

#include <string>
#include <vector>

#include "parley/core/verify_transaction.h"
#include "parley/crypto/crypto.h"
#include "parley/crypto/facts.h"
#include "parley/wire/wire.h"

namespace parley::core {

// One check of a transaction's: a DSSE document (the sender's head, or an envelope) and the
// key expected to have signed it, and for an envelope the seal key to open its content with.
struct PrecheckItem {
  enum class Kind { kHead, kEnvelope };
  Kind kind = Kind::kEnvelope;
  std::string text;   // the DSSE JSON, as received
  std::string party;  // the signer named in it
  crypto::VerifyKey key;
  crypto::SealKey seal_key;  // kEnvelope
};

// The checks verify_transaction(tx, context, ...) will make that are worth doing ahead: its
// head with the newest key of the context's chain, and each envelope (not a rotation: those
// are rare and opened in order) with the key in force at its index. Reads no payload field.
std::vector<PrecheckItem> plan_precheck(const wire::Transaction& tx, const PeerContext& context);

// What holds of `item`: its signature if it verifies, and for an envelope whose signature
// holds, the opening of its seal if that opens. Nothing if neither holds: the check is made
// again inline, where its refusal is written. Pure and thread-safe.
crypto::Facts run_precheck(const PrecheckItem& item);

}  // namespace parley::core
