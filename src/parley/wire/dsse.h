// dsse: the signed wrapper of every parley document, in one place. Envelopes (wire.h) and the
// transcript's signed tree heads, receipts and manifests (ledger/formats.h) are all
//   {"key":"<signer party>","payload":"<base64 payload bytes>","sig":"<base64 Ed25519>"}
// where the signature is Ed25519 over crypto::pae(domain, payload), DSSE v1's
// pre-authentication encoding "DSSEv1 <len(domain)> <domain> <len(payload)> <payload>"
// (docs/transcript.md "DSSE signatures"; PAE is crypto's, beside the signature it feeds). The
// domain (DSSE's payload type: kEnvelopeDomain, ledger::kSthDomain, ...) is signed but not
// carried: each reader names the domain it expects, so a signature made for one kind of
// document never verifies as another. The payload bytes are kept exactly as signed, so no
// JSON canonicalization is ever needed.
//
// The text above, keys in that order and nothing escaped, is the canonical text: what
// encode_dsse writes, what a gateway stores, sends and hashes as a transcript leaf. It is
// read without a JSON parser (for an envelope a JSON parse costs about a tenth of its Ed25519
// verification); any other text goes to the JSON parser. Both readers end in the same field
// checks, so they accept the same documents with the same values, and refuse the others with
// the same errors.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

// Declarations only: nlohmann/json.hpp (base/json.h) is heavy and brings <iomanip>, whose
// std::quoted would then be found by ADL in every file that includes this header.
#include <nlohmann/json_fwd.hpp>

#include "parley/base/bytes.h"
#include "parley/base/status.h"
#include "parley/crypto/crypto.h"
#include "parley/crypto/facts.h"

namespace parley::wire {

using Signature = std::array<std::uint8_t, crypto::kSignatureBytes>;

// A DSSE document, its fields decoded and checked (payload base64, a 64-byte signature, key
// a valid party id), its signature not necessarily verified.
struct Dsse {
  Bytes payload;  // exactly as signed
  Signature sig{};
  std::string key;  // the signer party
};

// Signs `payload` for `domain` with `key`, on behalf of party `signer`.
Dsse sign_dsse(std::string_view domain, Bytes payload, const crypto::SigningKey& key,
               std::string_view signer);

// The canonical text {"key":"K","payload":"P","sig":"S"}. `key` must be a valid party id (our
// own documents name our own party).
std::string encode_dsse(const Dsse& dsse);
std::string encode_dsse(ByteView payload, ByteView sig, std::string_view key);

// Structure only, no signature check: `text` must be a JSON object with exactly the fields
// "key", "payload" and "sig". Errors: kInvalidArgument "larger than N bytes" (more than
// `text_bytes_max`), "malformed JSON: ..." or "field '<name>': ..." naming the bad field.
Result<Dsse> parse_dsse(std::string_view text, std::size_t text_bytes_max);
// The same, for a document already parsed as part of a larger JSON value (a head line).
// kInvalidArgument "expected a JSON object" if `object` is not one.
Result<Dsse> parse_dsse_object(const nlohmann::json& object);

// The signature alone: kUnauthenticated "bad signature" unless dsse.sig is `signer`'s over
// pae(domain, dsse.payload). `known`: facts established ahead (crypto/facts.h), or null.
Status verify_dsse(const Dsse& dsse, std::string_view domain, const crypto::VerifyKey& signer,
                   const crypto::Facts* known = nullptr);

// Parses `text`, checks that "key" names `signer_party` and that the signature verifies with
// `signer` (in that order, before anyone reads a payload field). Errors as parse_dsse, then
// kUnauthenticated "field 'key': signed by 'X', expected 'Y'" or "bad signature".
// `known` as verify_dsse.
Result<Dsse> open_dsse(std::string_view text, std::string_view domain,
                       const crypto::VerifyKey& signer, std::string_view signer_party,
                       std::size_t text_bytes_max, const crypto::Facts* known = nullptr);

// ---- The two readers parse_dsse chooses between (public for the ledger's log lines, which
// embed the canonical text, and for the tests that hold the readers equal) ----

// The three strings of a DSSE document, as they appear in its text.
struct DsseFields {
  std::string_view key;
  std::string_view payload;
  std::string_view sig;
};
// The fast reader: the strings of `text` if it is exactly the canonical text with K of
// [a-z0-9-] and P, S of base64 digits (so that nothing in it is escaped); nullopt for any
// other text, valid or not. It checks nothing else: decode_dsse does.
std::optional<DsseFields> split_canonical_dsse(std::string_view text);
// The JSON reader: any JSON text (escapes, whitespace, any key order) or object.
Result<Dsse> parse_dsse_json(std::string_view text);
// The checks both readers end in: payload and sig strict base64, sig 64 bytes, key a valid
// party id. kInvalidArgument naming the field.
Result<Dsse> decode_dsse(const DsseFields& fields);

}  // namespace parley::wire
