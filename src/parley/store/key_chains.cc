#include "parley/store/key_chains.h"

#include <algorithm>
#include <utility>

#include "parley/core/stored_chain.h"

namespace parley::store {

Result<ledger::KeyChain> pinned_chain(Store& store, const wire::Bundle& party) {
  PARLEY_ASSIGN_OR_RETURN(const std::vector<core::PutRotation> rotations,
                          store.rotations(party.party));
  ledger::KeyChain chain(party.party, party.sign_key);
  if (Status s = core::extend_chain(chain, rotations); !s.is_ok()) {
    return Status::data_loss(s.message());
  }
  return chain;
}

Result<std::vector<core::PutRotation>> own_rotations_in(Store& store, std::string_view me,
                                                        std::string_view peer) {
  PARLEY_ASSIGN_OR_RETURN(std::vector<core::PutRotation> rotations, store.rotations(me));
  std::erase_if(rotations, [&](const core::PutRotation& r) { return r.peer != peer; });
  return rotations;
}

Result<ledger::KeyChain> own_chain(Store& store, std::string_view me,
                                   const crypto::VerifyKey& first, std::string_view peer) {
  PARLEY_ASSIGN_OR_RETURN(const std::vector<core::PutRotation> rotations,
                          own_rotations_in(store, me, peer));
  ledger::KeyChain chain(std::string(me), first);
  if (Status s = core::extend_chain(chain, rotations); !s.is_ok()) {
    return Status::data_loss(s.message());
  }
  return chain;
}

std::vector<std::string> accepted_fingerprints(const wire::Bundle& party,
                                               const ledger::KeyChain& chain) {
  std::vector<std::string> out{party.tls_fingerprint};
  for (const ledger::KeyChain::Link& link : chain.links()) {
    if (link.tls_fingerprint.empty()) continue;
    if (std::find(out.begin(), out.end(), link.tls_fingerprint) == out.end()) {
      out.push_back(link.tls_fingerprint);
    }
  }
  return out;
}

}  // namespace parley::store
