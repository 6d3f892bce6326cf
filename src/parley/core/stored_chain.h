// A party's chain of keys as the store holds it (docs/protocol.md "Key rotation",
// ledger/key_chain.h): the key of its pinned bundle, then each of its key rotation statements
// we stored (core::PutRotation of its log for us, by index), each checked again as when it
// was received. PeerSession rebuilds its peer's chain with it at start; every other reader of
// a peer's signatures (store/key_chains.h: `parley check`, forwarded heads, the witness,
// disclosures, evidence, `parley peer show`) builds the same chain from the same rows. Pure.
#pragma once

#include <vector>

#include "parley/base/status.h"
#include "parley/core/model.h"
#include "parley/ledger/key_chain.h"

namespace parley::core {

// Adds `rotations` (statements of chain.party()'s log, in index order) to `chain`, in order,
// with KeyChain::add. One that does not follow (a statement that does not open with the key
// in force at its index, or whose n or epoch is not the next) means the store changed under
// us: the chain stops before it and the error names it ("stored key rotation N (entry I) of
// 'PARTY': ..."), with KeyChain::add's code.
Status extend_chain(ledger::KeyChain& chain, const std::vector<PutRotation>& rotations);

}  // namespace parley::core
