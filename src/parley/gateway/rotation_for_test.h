// Test support, not part of the library: a party's first key rotation as a store keeps it
// (core::PutRotation of its log for `peer`), for the tests of the readers of a party's keys
// in force (docs/protocol.md "Key rotation", store/key_chains.h).
#pragma once

#include <cstdint>
#include <string>

#include "parley/core/model.h"
#include "parley/crypto/crypto.h"
#include "parley/wire/rotation.h"

namespace parley::gateway {

// `party`'s rotation 1 from key `from` to key `to` at entry `index` of its log for `peer`,
// announcing the certificate fingerprint 64 x 'e'.
inline core::PutRotation first_rotation(const std::string& party, const std::string& peer,
                                        const crypto::Keys& from, const crypto::Keys& to,
                                        std::uint64_t index, Time created) {
  wire::Rotation r;
  r.id = "0190a0a0-0000-7000-8000-" + std::string(11, '0') + std::to_string(index % 10);
  r.party = party;
  r.n = 1;
  r.old_sign_key = from.verify;
  r.new_sign_key = to.verify;
  r.new_tls_fingerprint = std::string(64, 'e');
  r.epoch = 2;
  r.created = created;
  core::PutRotation put;
  put.owner = party;
  put.peer = peer;
  put.index = index;
  put.n = 1;
  put.id = r.id;
  put.statement = wire::sign_rotation(r, from.signing, to.signing);
  put.new_sign_key = to.verify;
  put.new_tls_fingerprint = r.new_tls_fingerprint;
  put.epoch = 2;
  return put;
}

}  // namespace parley::gateway
