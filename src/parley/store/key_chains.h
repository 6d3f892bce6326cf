// The keys in force for a pinned party, read from the store (docs/protocol.md "Key rotation"):
// what every reader of a peer's signatures outside the peer session uses (`parley check`'s
// heartbeat probe, forwarded heads, the witness, disclosures, evidence, `parley peer show`), so
// that none of them checks a rotated peer with the key of its pinned bundle alone. The chain is
// the session's own (core/stored_chain.h): the bundle's key, then the rotations the store holds
// of the party's log for us. A party whose log for us we do not hold (an observer without a
// line with it) has none stored: its chain is its bundle's key.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "parley/base/status.h"
#include "parley/ledger/key_chain.h"
#include "parley/store/store.h"
#include "parley/wire/wire.h"

namespace parley::store {

// `party`'s chain of keys as `store` pins it. Errors: the store's (kUnavailable, kDataLoss);
// kDataLoss when a stored rotation does not follow (core::extend_chain's message): the store
// changed under us, and nothing of that party is checked with a guess.
Result<ledger::KeyChain> pinned_chain(Store& store, const wire::Bundle& party);

// Our own rotations in our log for `peer`: the rows of `store.rotations(me)` whose peer it is,
// in index order (the statements our chain of keys in that log is built from; gateway/home.h
// head_key_in maps them to our signing keys). The store's errors.
Result<std::vector<core::PutRotation>> own_rotations_in(Store& store, std::string_view me,
                                                        std::string_view peer);
// Our chain of keys in our log for `peer`: `first` (our bundle's key), then own_rotations_in.
// kDataLoss as pinned_chain.
Result<ledger::KeyChain> own_chain(Store& store, std::string_view me,
                                   const crypto::VerifyKey& first, std::string_view peer);

// The federation certificates (SHA-256 fingerprints of their DER) to accept from `party`:
// its bundle's, then each one its rotations announced (`chain`'s links), without repeats.
std::vector<std::string> accepted_fingerprints(const wire::Bundle& party,
                                               const ledger::KeyChain& chain);

}  // namespace parley::store
