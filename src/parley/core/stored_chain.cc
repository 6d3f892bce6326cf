#include "parley/core/stored_chain.h"

#include <string>

namespace parley::core {

Status extend_chain(ledger::KeyChain& chain, const std::vector<PutRotation>& rotations) {
  for (const PutRotation& r : rotations) {
    Result<wire::Rotation> added = chain.add(r.index, r.statement);
    if (!added.is_ok()) {
      return added.status().with_context("stored key rotation " + std::to_string(r.n) + " (entry " +
                                         std::to_string(r.index) + ") of '" + chain.party() + "'");
    }
  }
  return Status::ok();
}

}  // namespace parley::core
