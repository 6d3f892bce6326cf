// transcript: the signed formats of parley's joint transcript (DESIGN.md "Transcript
// (ledger)"; docs/transcript.md is the byte-level specification) and its offline verifier.
//
// Three DSSE-style signed documents, shaped like envelopes ({"payload": b64, "sig": b64,
// "key": "<signer party>"}, the signature over crypto::pae(domain, payload bytes)):
//   - the signed tree head (STH) of a party's log, signed by the log's owner;
//   - the receipt v2, the other party's countersignature over an STH and the entries it got;
//   - the manifest of an exported transcript, signed by the exporter.
// Each has sign_* / encode_* / open_* (signature first, then fields), plus parse_* (structure
// only, no signature check) and verify_* (the signature alone) for the verifier, which
// parses everything cheaply first and then checks signatures on many threads.
//
// An export (`parley transcript export`) is a directory:
//   manifest.json, bundles/<party>.json, logs/<owner>.jsonl, heads/<owner>.jsonl,
//   proofs/<peer>.jsonl (only for the log that is not the exporter's own).
// The verifier below is pure: the CLI reads the files and hands their contents in; the
// verifier never touches a file, a thread or a clock.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "parley/base/bytes.h"
#include "parley/base/status.h"
#include "parley/base/time.h"
#include "parley/crypto/crypto.h"
#include "parley/ledger/merkle.h"

namespace parley::ledger {

inline constexpr std::string_view kSthDomain = "application/vnd.parley.sth.v1+json";
inline constexpr std::string_view kReceiptV2Domain = "application/vnd.parley.receipt.v2+json";
inline constexpr std::string_view kManifestDomain =
    "application/vnd.parley.transcript-manifest.v1+json";
inline constexpr std::string_view kTranscriptFormat = "parley-transcript";
inline constexpr std::size_t kReceiptIdsMax = 256;  // wire::kEnvelopesPerTransactionMax
inline constexpr std::size_t kProofHashesMax = 64;  // a path in a tree of < 2^64 leaves

using Signature = std::array<std::uint8_t, crypto::kSignatureBytes>;

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
// The signature alone: kUnauthenticated "bad signature" if it does not verify.
Status verify_sth(const SignedTreeHead& sth, const crypto::VerifyKey& signer);
// Parses the wrapper, checks "key" == signer_party and the signature with `signer` before
// reading a payload field, then parses the payload (its "log" must be signer_party).
// kInvalidArgument (malformed) or kUnauthenticated (bad signature, wrong signer).
Result<SignedTreeHead> open_sth(std::string_view json, const crypto::VerifyKey& signer,
                                std::string_view signer_party);

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
// Structure only (file names must be ones an export may hold, see is_export_path).
Result<SignedManifest> parse_manifest(std::string_view json);
Status verify_manifest(const SignedManifest& manifest, const crypto::VerifyKey& signer);
Result<SignedManifest> open_manifest(std::string_view json, const crypto::VerifyKey& signer,
                                     std::string_view signer_party);

// ---- The files of an export ----
inline constexpr std::string_view kManifestPath = "manifest.json";
std::string bundle_path(std::string_view party);  // "bundles/<party>.json"
std::string log_path(std::string_view owner);     // "logs/<owner>.jsonl"
std::string heads_path(std::string_view owner);   // "heads/<owner>.jsonl"
std::string proofs_path(std::string_view owner);  // "proofs/<owner>.jsonl"
// True for manifest.json and for bundles/<id>.json, logs|heads|proofs/<id>.jsonl with a
// valid party id: the only names an export may contain.
bool is_export_path(std::string_view path);

// One line of each .jsonl file, without its terminating "\n" (every line, the last too,
// ends with "\n"; the files hold nothing else).
//   logs:   {"index":i,"envelope":<envelope JSON, spliced in as is>}
//   heads:  {"sth":<STH JSON>,"receipt":<receipt v2 JSON or null>}
//   proofs: {"index":i,"size":N,"proof":["<64 hex>",...]}
// The leaf of a log entry is the envelope's canonical text {"key":..,"payload":..,"sig":..}
// (keys in this order, no whitespace): what wire::encode_envelope produces, what the
// gateway stores, sends and hashes.
std::string encode_log_line(std::uint64_t index, std::string_view envelope_json);
std::string encode_head_line(std::string_view sth_json,
                             const std::optional<std::string>& receipt_json);
std::string encode_proof_line(std::uint64_t index, std::uint64_t size,
                              const std::vector<Hash>& proof);

// ---- Offline verification ----
// Relative path ("logs/us-eucom.jsonl") -> the file's contents, for every regular file of
// the export directory.
using ExportFiles = std::map<std::string, std::string>;

inline constexpr std::size_t kFailuresMax = 100;

// The outcome of one independent check (run_check). Entry checks also return what the
// sequential pass needs: the entry's index, leaf hash and envelope id.
struct CheckResult {
  Status status;             // OK, or one line naming the file, line and item
  bool entry_known = false;  // entry checks: index/leaf/id below are meaningful
  std::uint64_t index = 0;
  Hash leaf{};
  std::array<char, 36> id{};  // the envelope id (a UUID)
};

// (a) The structural pass: splits and parses every file, and lists the independent checks:
// the SHA-256 of each file the manifest lists; one per log entry (parse, envelope signature,
// leaf hash, and for a partial log the inclusion proof); one per head signature, per
// countersignature, and the manifest's signature.
// The plan refers to `files`, which must outlive it.
class VerificationPlan;
struct VerificationPlanDeleter {
  void operator()(VerificationPlan* plan) const;
};
using PlanPtr = std::unique_ptr<VerificationPlan, VerificationPlanDeleter>;
PlanPtr plan_verification(const ExportFiles& files);
std::size_t check_count(const VerificationPlan& plan);
// (b) Check number i (0 <= i < check_count). Pure and thread-safe: any number of threads
// may run distinct (or equal) checks of one plan at once.
CheckResult run_check(const VerificationPlan& plan, std::size_t i);
// Checks begin..end-1 into out[0..end-begin), each as run_check would: consecutive entries of
// a log share most of their inclusion proofs' paths, which a range walks once.
void run_checks(const VerificationPlan& plan, std::size_t begin, std::size_t end, CheckResult* out);

struct TranscriptReport {
  std::vector<std::string> parties;  // the two parties, exporter first (when known)
  std::string exporter;
  std::size_t logs = 0;
  std::size_t entries = 0;
  std::size_t heads = 0;
  std::size_t countersignatures = 0;
  std::vector<std::string> failures;  // at most kFailuresMax lines, in the order found
  std::size_t failures_total = 0;     // including those left out
  bool valid() const { return failures_total == 0; }
  // "transcript a <-> b: 2 logs, N entries, H heads, C countersignatures: all valid"
  // (or ": N failures").
  std::string summary() const;
};
// (c, d, e) The sequential pass over the results of every check (results[i] = run_check(i)):
// the Merkle roots of complete logs (one pass, O(n)), receipts against the logs, and last
// the manifest's file list and SHA-256 of every file.
TranscriptReport finish_verification(const VerificationPlan& plan,
                                     const std::vector<CheckResult>& results);

// All three steps on the calling thread.
TranscriptReport verify_transcript(const ExportFiles& files);

}  // namespace parley::ledger
