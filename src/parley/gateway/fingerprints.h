// The federation certificates the gateway's own clients accept from a pinned party (the head
// forwarder's, the checkpoint submitter's, the discloser's): the driver's live list of that
// party, its bundle's certificate and the ones its key rotations announced (docs/protocol.md
// "Key rotation"), read on each handshake. Without a driver (a test), the bundle's alone.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "parley/wire/wire.h"

namespace parley::gateway {

using Fingerprints = std::shared_ptr<const std::vector<std::string>>;
using FingerprintsOf = std::function<Fingerprints(const wire::Bundle&)>;

// `of(party)`, or `party`'s bundle certificate alone if `of` is empty.
inline Fingerprints fingerprints_of(const FingerprintsOf& of, const wire::Bundle& party) {
  if (of) return of(party);
  return std::make_shared<const std::vector<std::string>>(
      std::vector<std::string>{party.tls_fingerprint});
}

}  // namespace parley::gateway
