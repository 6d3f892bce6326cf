// export: the files of an exported transcript (`parley transcript export`), their names and
// their lines, written and read. docs/transcript.md is the byte-level specification.
//
// An export is a directory:
//   manifest.json, bundles/<party>.json, logs/<owner>.jsonl, heads/<owner>.jsonl,
//   proofs/<peer>.jsonl (only for the log that is not the exporter's own).
// The CLI writes and reads the files (cli/transcript_cmd.cc, cli/verify_cmd.cc); this layer
// only makes and reads their text, so it stays pure. The signed documents inside the lines
// are in formats.h; what `parley verify` checks of them is in verify.h.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "parley/base/status.h"
#include "parley/ledger/formats.h"
#include "parley/ledger/merkle.h"

namespace parley::ledger {

// ---- File names ----
inline constexpr std::string_view kManifestPath = "manifest.json";
std::string bundle_path(std::string_view party);  // "bundles/<party>.json"
std::string log_path(std::string_view owner);     // "logs/<owner>.jsonl"
std::string heads_path(std::string_view owner);   // "heads/<owner>.jsonl"
std::string proofs_path(std::string_view owner);  // "proofs/<owner>.jsonl"
// True for manifest.json and for bundles/<id>.json, logs|heads|proofs/<id>.jsonl with a
// valid party id: the only names an export may contain.
bool is_export_path(std::string_view path);

// ---- Lines ----
// One line of each .jsonl file, without its terminating "\n" (every line, the last too,
// ends with "\n"; the files hold nothing else).
//   logs:   {"index":i,"envelope":<envelope JSON, spliced in as is>}
//   heads:  {"sth":<STH JSON>,"receipt":<receipt v2 JSON or null>}
//   proofs: {"index":i,"size":N,"proof":["<64 hex>",...]}
// The leaf of a log entry is the envelope's canonical text {"key":..,"payload":..,"sig":..}
// (wire/dsse.h; keys in this order, no whitespace): what wire::encode_envelope produces, what
// the gateway stores, sends and hashes.
//
// A log entry is an envelope or a key rotation statement (wire/rotation.h, docs/protocol.md
// "Key rotation"). Both are DSSE texts; the line names which by its field, "envelope" or
// "rotation" ({"index":i,"rotation":<statement JSON>}). The name is not signed, but the
// signature's domain is: an entry read as the wrong kind does not verify.
enum class EntryKind { kEnvelope, kRotation };
std::string_view entry_kind_field(EntryKind kind);  // "envelope", "rotation"
std::string encode_log_line(std::uint64_t index, std::string_view envelope_json,
                            EntryKind kind = EntryKind::kEnvelope);
std::string encode_head_line(std::string_view sth_json,
                             const std::optional<std::string>& receipt_json);
std::string encode_proof_line(std::uint64_t index, std::uint64_t size,
                              const std::vector<Hash>& proof);

// A line larger than this is refused unread: an envelope is at most about 90 KB.
inline constexpr std::size_t kLineBytesMax = 4 * 1024 * 1024;

// A line of a log, read. The lines encode_log_line writes (the envelope in canonical text)
// are read without a JSON parser, in place; any other layout of the same JSON means the same
// and is read by the JSON parser, its envelope re-encoded as canonical text.
struct LogLine {
  std::uint64_t index = 0;
  EntryKind kind = EntryKind::kEnvelope;
  std::string key;        // the envelope's signer, as the line names it (not checked here)
  std::string_view text;  // the envelope inside the line, when it was canonical
  std::string storage;    // the envelope's canonical text, when it was not
  // The entry: the envelope's canonical text, the leaf of the log.
  std::string_view entry() const { return storage.empty() ? text : storage; }
};
// Structure only: the envelope is neither opened nor checked. `index` is set as soon as it
// is known, so that an error can name the entry. The result may point into `line`.
// kInvalidArgument naming what is wrong.
Result<LogLine> parse_log_line(std::string_view line, std::optional<std::uint64_t>& index);

// A line of heads/, read: the head (structure only), and its countersignature if any.
struct HeadLine {
  SignedTreeHead sth;
  std::optional<ReceiptV2> receipt;  // null in the line, or refused (receipt_error says why)
  Status receipt_error;              // the countersignature is there but does not parse
};
// kInvalidArgument for a line that is not a head (the head's own errors as parse_sth).
Result<HeadLine> parse_head_line(std::string_view line);

// A line of proofs/, read (without a JSON parser when it is as encode_proof_line writes it).
struct ProofLine {
  std::uint64_t index = 0;
  std::uint64_t size = 0;
  std::vector<Hash> proof;
};
Result<ProofLine> parse_proof_line(std::string_view line);

}  // namespace parley::ledger
