// formats: the signed documents of parley's joint transcript (DESIGN.md "Transcript
// (ledger)"; docs/transcript.md is the byte-level specification).
//
// Three DSSE documents (wire/dsse.h: {"key": "<signer party>", "payload": b64, "sig": b64},
// the signature over crypto::pae(domain, payload bytes)), each with its own domain:
//   - the signed tree head (STH) of a party's log, signed by the log's owner;
//   - the receipt v2, the other party's countersignature over an STH and the entries it got;
//   - the manifest of an exported transcript, signed by the exporter.
// Each has sign_* / encode_* / open_* (signature first, then fields), plus parse_* (structure
// only, no signature check) and verify_* (the signature alone) for the verifier (verify.h),
// which parses everything cheaply first and then checks signatures on many threads.
// The files of an export and their lines are in export.h.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

// Declarations only: nlohmann/json.hpp (base/json.h) is heavy and brings <iomanip>, whose
// std::quoted would then be found by ADL in every file that includes this header.
#include <nlohmann/json_fwd.hpp>

#include "parley/base/bytes.h"
#include "parley/base/status.h"
#include "parley/base/time.h"
#include "parley/crypto/crypto.h"
#include "parley/ledger/merkle.h"
#include "parley/wire/dsse.h"

namespace parley::ledger {

inline constexpr std::string_view kSthDomain = "application/vnd.parley.sth.v1+json";
inline constexpr std::string_view kReceiptV2Domain = "application/vnd.parley.receipt.v2+json";
inline constexpr std::string_view kManifestDomain =
    "application/vnd.parley.transcript-manifest.v1+json";
inline constexpr std::string_view kTranscriptFormat = "parley-transcript";
inline constexpr std::size_t kReceiptIdsMax = 256;  // wire::kEnvelopesPerTransactionMax
inline constexpr std::size_t kProofHashesMax = 64;  // a path in a tree of < 2^64 leaves

using Signature = wire::Signature;

// 64 lowercase hex digits (decoded without a copy: a proofs file holds millions of them).
// kInvalidArgument "expected 64 lowercase hex digits".
Result<Hash> hash_from_hex(std::string_view text);

// ---- Signed tree head ----
// Payload {"v":1,"log":"<owner>","peer":"<peer>","size":N,"root":"<64 hex>",
//          "timestamp":"<RFC 3339 ms>"}.
struct TreeHead {
  std::string log;  // the owner party, who signs
  std::string peer;
  std::uint64_t size = 0;
  Hash root{};
  Time timestamp;
};
struct SignedTreeHead {
  Bytes payload_bytes;  // exactly as signed
  Signature sig{};
  std::string key;  // the signer; equals head.log
  TreeHead head;
};
// Encodes `head` and signs it (domain kSthDomain) as party head.log.
SignedTreeHead sign_sth(const TreeHead& head, const crypto::SigningKey& key);
// {"key":..,"payload":..,"sig":..} (compact JSON).
std::string encode_sth(const SignedTreeHead& sth);
// The payload alone. kInvalidArgument naming the bad field.
Result<TreeHead> parse_sth_payload(ByteView payload);
// Structure only (DSSE wrapper and payload, key == log); no signature check.
Result<SignedTreeHead> parse_sth(std::string_view json);
// The same for a head already parsed as part of a larger JSON value (a line of heads/).
Result<SignedTreeHead> parse_sth_object(const nlohmann::json& object);
// The signature alone: kUnauthenticated "bad signature" if it does not verify.
Status verify_sth(const SignedTreeHead& sth, const crypto::VerifyKey& signer);
// Parses the wrapper, checks "key" == signer_party and the signature with `signer` before
// reading a payload field, then parses the payload (its "log" must be signer_party).
// kInvalidArgument (malformed) or kUnauthenticated (bad signature, wrong signer). `known`:
// facts established ahead (crypto/facts.h) that may answer the signature check; null: none.
Result<SignedTreeHead> open_sth(std::string_view json, const crypto::VerifyKey& signer,
                                std::string_view signer_party,
                                const crypto::Facts* known = nullptr);

// ---- Receipt v2 (the countersignature) ----
// Payload {"v":2,"tx":"<uuid>","from":"<receiver>","to":"<sender>",
//          "sth":"<b64 of the sender's STH payload bytes>","sth_sig":"<b64 of its signature>",
//          "ids":["<uuid>",...],"indices":[i,...],"received":"<RFC 3339 ms>"
//          [,"refused":[{"id":"<uuid>","reason":"<one line>"},...]]}.
// "refused" (absent when empty) names the entries of `ids` the receiver refused as messages
// (unknown line, invalid body, ...): it received and countersigns them as entries of the
// sender's log, but stored none of them as a message. Its signature makes the refusal evidence.
inline constexpr std::size_t kRefusalReasonBytesMax = 512;
struct ReceiptRefusal {
  std::string id;  // one of the receipt's ids
  std::string reason;
  bool operator==(const ReceiptRefusal&) const = default;
};
struct ReceiptV2Body {
  std::string tx;
  std::string from;  // the receiver, who signs
  std::string to;    // the sender, owner of the log
  Bytes sth;         // the sender's STH payload bytes, exactly
  Signature sth_sig{};
  std::vector<std::string> ids;        // envelope ids, in transaction order
  std::vector<std::uint64_t> indices;  // their leaf indices, same order
  Time received;
  std::vector<ReceiptRefusal> refused;  // distinct ids, each in `ids`, in transaction order
};
struct ReceiptV2 {
  Bytes payload_bytes;
  Signature sig{};
  std::string key;  // equals body.from
  ReceiptV2Body body;
};
// Signs `body` (domain kReceiptV2Domain) as party body.from.
ReceiptV2 sign_receipt_v2(const ReceiptV2Body& body, const crypto::SigningKey& key);
std::string encode_receipt_v2(const ReceiptV2& receipt);
// Structure only: every field typed and checked (ids distinct lowercase UUIDs, as many
// indices as ids, distinct, each < the embedded STH's size, at most kReceiptIdsMax; the
// embedded STH payload parses, its log is "to" and its peer is "from"; each refused id is
// one of the ids, once, with a reason of 1..kRefusalReasonBytesMax bytes); key == from.
Result<ReceiptV2> parse_receipt_v2(std::string_view json);
Result<ReceiptV2> parse_receipt_v2_object(const nlohmann::json& object);
Status verify_receipt_v2(const ReceiptV2& receipt, const crypto::VerifyKey& signer);
// As open_sth: signer first, then fields.
Result<ReceiptV2> open_receipt_v2(std::string_view json, const crypto::VerifyKey& signer,
                                  std::string_view signer_party);

// ---- Manifest of an export ----
// Payload {"v":1,"format":"parley-transcript","exporter":"<party>","parties":["<a>","<b>"],
//          "files":{"<relative path>":"<64 hex SHA-256>",...},"created":"<RFC 3339 ms>"}.
struct Manifest {
  std::string exporter;
  std::vector<std::string> parties;             // exactly two, distinct; exporter among them
  std::map<std::string, crypto::Digest> files;  // every file of the export but manifest.json
  Time created;
};
struct SignedManifest {
  Bytes payload_bytes;
  Signature sig{};
  std::string key;  // equals manifest.exporter
  Manifest manifest;
};
SignedManifest sign_manifest(const Manifest& manifest, const crypto::SigningKey& key);
std::string encode_manifest(const SignedManifest& manifest);
// Structure only (file names must be ones an export may hold, see export.h is_export_path).
Result<SignedManifest> parse_manifest(std::string_view json);
Status verify_manifest(const SignedManifest& manifest, const crypto::VerifyKey& signer);
Result<SignedManifest> open_manifest(std::string_view json, const crypto::VerifyKey& signer,
                                     std::string_view signer_party);

}  // namespace parley::ledger
