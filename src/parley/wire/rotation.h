// rotation: the key rotation statement (docs/protocol.md "Key rotation"; issue 17, "Keys that
// rotate"). A party that replaces its signing key says so in a statement signed by the key it
// replaces (the authority: only the holder of the key the peer pinned can move the pin) and
// carrying the new key's own signature (proof that the new key's holder agreed to it):
//
//   DSSE {"key": PARTY, "payload": <base64 P>, "sig": <old key over pae(kRotationDomain, P)>}
//   P = {"v":1, "id":"<uuid>", "party":"us-eucom", "n":1,
//        "old_sign_key":"<b64>", "new_sign_key":"<b64>",
//        "new_tls_fingerprint":"<64 hex>", "epoch":2, "created":"<time>",
//        "possession":"<b64: the new key's Ed25519 over pae(kPossessionDomain, M)>"}
//   M = "<party>\n<n>\n<old_sign_key base64>\n<new_sign_key base64>\n<epoch>"
//
// `n` counts the party's rotations (1 for its first), `epoch` is the seal-key epoch its
// messages use from the rotation on (the epoch before it plus one), `id` names the statement
// as an entry of a log (a receipt lists it among the ids it countersigns). The statement is
// an entry of the party's log for each peer: its leaf is the DSSE text above, exactly as for
// an envelope, and the domain keeps a statement from ever verifying as an envelope or the
// reverse. Which key is in force where in a log is ledger/key_chain.h's business.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "parley/base/status.h"
#include "parley/base/time.h"
#include "parley/crypto/crypto.h"
#include "parley/wire/dsse.h"

namespace parley::wire {

inline constexpr std::string_view kRotationDomain = "application/vnd.parley.rotation.v1+json";
inline constexpr std::string_view kPossessionDomain =
    "application/vnd.parley.rotation-possession.v1";
// A statement's text is about 700 bytes; anything much larger is not one.
inline constexpr std::size_t kRotationBytesMax = 4096;

struct Rotation {
  std::string id;  // uuid
  std::string party;
  std::uint64_t n = 0;  // 1, 2, ...
  crypto::VerifyKey old_sign_key;
  crypto::VerifyKey new_sign_key;
  std::string new_tls_fingerprint;  // 64 lowercase hex: SHA-256 of the new certificate's DER
  std::uint32_t epoch = 0;          // the new seal-key epoch, at least 2
  Time created;
  Signature possession{};  // set by sign_rotation; checked by open_rotation
};

// The message the new key signs (M above).
std::string possession_message(const Rotation& rotation);

// The statement's canonical DSSE text (the log entry), signed by `old_key` (whose public key
// must be rotation.old_sign_key) with the possession signature of `new_key` (whose public key
// must be rotation.new_sign_key). rotation.possession is ignored and computed here. The
// caller's own values: fields that open_rotation would refuse are a bug of the caller
// (PARLEY_CHECK).
std::string sign_rotation(const Rotation& rotation, const crypto::SigningKey& old_key,
                          const crypto::SigningKey& new_key);

// Opens a statement by `party` whose authority is `key_in_force` (the party's signing key
// where the statement stands: the key the reader pinned, or the last rotation's new key). In
// this order: the DSSE structure (kInvalidArgument), "key" is `party` and the signature over
// pae(kRotationDomain, payload) verifies with `key_in_force` (kUnauthenticated, before any
// payload field is read); then the payload, strictly: every field present, of its type and
// nothing else, "v" 1, id a UUID, party `party`, n >= 1, both keys 32 bytes base64,
// old_sign_key == `key_in_force` ("signed by the key it replaces"), new != old, fingerprint 64
// lowercase hex, epoch 2 to 2^32-1, created a time; last the possession signature by the new
// key (kUnauthenticated "the new key's possession signature does not verify"; also for a
// low-order new key, which libsodium refuses). Where the statement stands in a chain (n and
// epoch the previous plus one) is checked by ledger::KeyChain::add.
Result<Rotation> open_rotation(std::string_view text, const crypto::VerifyKey& key_in_force,
                               std::string_view party);

// The payload alone, checked as above but without any signature (for a reader that verified
// the DSSE itself, and for the fuzzer). kInvalidArgument naming the field.
Result<Rotation> parse_rotation_payload(ByteView payload);

}  // namespace parley::wire
