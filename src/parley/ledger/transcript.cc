#include "parley/ledger/transcript.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <set>
#include <utility>

#include "parley/base/json.h"
#include "parley/base/rng.h"
#include "parley/wire/fields.h"
#include "parley/wire/wire.h"

namespace parley::ledger {
namespace {

using wire::fields::check_version;
using wire::fields::field_error;
using wire::fields::get_base64;
using wire::fields::get_id;
using wire::fields::get_time;
using wire::fields::get_uuid;
using wire::fields::quote;

using json::Json;

// A JSONL line larger than this is refused unread: an envelope is at most about 90 KB.
constexpr std::size_t kLineBytesMax = 4 * 1024 * 1024;
// A manifest, STH or receipt document larger than this is refused unread.
constexpr std::size_t kDocumentBytesMax = 1024 * 1024;
constexpr std::size_t kManifestFilesMax = 64;
// How many manifest failures keep a place in a report whose other failures overflow.
constexpr std::size_t kManifestFailuresReserved = 20;

// Every failure is one line: control characters from outside input become '?'.
std::string one_line(std::string text) {
  for (char& c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) c = '?';
  }
  return text;
}

std::string short_hex(const Hash& hash) { return hex_encode(hash).substr(0, 16) + ".."; }

Result<Signature> get_signature(const Json& object, std::string_view key) {
  PARLEY_ASSIGN_OR_RETURN(const Bytes bytes, get_base64(object, key));
  if (bytes.size() != crypto::kSignatureBytes) {
    return field_error(key, "expected " + std::to_string(crypto::kSignatureBytes) + " bytes, got " +
                                std::to_string(bytes.size()));
  }
  Signature sig{};
  std::copy(bytes.begin(), bytes.end(), sig.begin());
  return sig;
}

// The value of a lowercase hex digit, or -1.
int lower_hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// 64 lowercase hex digits (decoded in place: a proofs file holds millions of them).
Result<Hash> hash_from_hex(std::string_view text) {
  const auto bad = [] { return Status::invalid_argument("expected 64 lowercase hex digits"); };
  Hash hash{};
  if (text.size() != 2 * hash.size()) return bad();
  for (std::size_t i = 0; i < hash.size(); ++i) {
    const int high = lower_hex_value(text[2 * i]);
    const int low = lower_hex_value(text[2 * i + 1]);
    if (high < 0 || low < 0) return bad();
    hash[i] = static_cast<std::uint8_t>(high * 16 + low);
  }
  return hash;
}

Result<Hash> get_hash(const Json& object, std::string_view key) {
  PARLEY_ASSIGN_OR_RETURN(const std::string text, json::get_string(object, key));
  auto hash = hash_from_hex(text);
  if (!hash.is_ok()) return field_error(key, hash.status().message());
  return hash;
}

Result<std::vector<Hash>> get_proof(const Json& object, std::string_view key) {
  PARLEY_ASSIGN_OR_RETURN(const Json array, json::get_array(object, key));
  if (array.size() > kProofHashesMax) {
    return field_error(key, "more than " + std::to_string(kProofHashesMax) + " hashes");
  }
  std::vector<Hash> proof;
  proof.reserve(array.size());
  for (const Json& item : array) {
    if (!item.is_string()) return field_error(key, "every element must be a string");
    auto hash = hash_from_hex(item.get_ref<const std::string&>());
    if (!hash.is_ok()) return field_error(key, hash.status().message());
    proof.push_back(*hash);
  }
  return proof;
}

// The DSSE-style wrapper of STHs, receipts and manifests (and envelopes), unverified.
struct Dsse {
  Bytes payload;
  Signature sig{};
  std::string key;
};

Result<Dsse> parse_dsse(const Json& object) {
  if (!object.is_object()) return Status::invalid_argument("expected a JSON object");
  PARLEY_RETURN_IF_ERROR(json::check_keys(object, {"payload", "sig", "key"}));
  Dsse dsse;
  PARLEY_ASSIGN_OR_RETURN(dsse.payload, get_base64(object, "payload"));
  PARLEY_ASSIGN_OR_RETURN(dsse.sig, get_signature(object, "sig"));
  PARLEY_ASSIGN_OR_RETURN(dsse.key, get_id(object, "key"));
  return dsse;
}

Result<Json> parse_document(std::string_view text) {
  if (text.size() > kDocumentBytesMax) {
    return Status::invalid_argument("larger than " + std::to_string(kDocumentBytesMax) + " bytes");
  }
  return json::parse_object(text);
}

// The canonical text of a DSSE object: what json::dump makes of it (keys sorted, no
// whitespace). key is an id and payload/sig are base64, so nothing needs escaping.
std::string encode_dsse(ByteView payload, ByteView sig, std::string_view key) {
  std::string out = "{\"key\":\"";
  out += key;
  out += "\",\"payload\":\"";
  out += base64_encode(payload);
  out += "\",\"sig\":\"";
  out += base64_encode(sig);
  out += "\"}";
  return out;
}

Status signer_is(const Dsse& dsse, std::string_view party) {
  if (dsse.key != party) {
    return Status::unauthenticated("field 'key': signed by " + quote(dsse.key) + ", expected " +
                                   quote(party));
  }
  return Status::ok();
}

// ---- STH ----

std::string encode_sth_payload(const TreeHead& head) {
  Json out = Json::object();
  out["v"] = 1;
  out["log"] = head.log;
  out["peer"] = head.peer;
  out["size"] = head.size;
  out["root"] = hex_encode(head.root);
  out["timestamp"] = format_time(head.timestamp);
  return json::dump(out);
}

Result<SignedTreeHead> sth_from_dsse(Dsse dsse) {
  auto head = parse_sth_payload(dsse.payload);
  if (!head.is_ok()) return head.status().with_context("sth payload");
  if (head->log != dsse.key) {
    return Status::unauthenticated("sth: head of " + quote(head->log) + "'s log signed by " +
                                   quote(dsse.key));
  }
  SignedTreeHead sth;
  sth.payload_bytes = std::move(dsse.payload);
  sth.sig = dsse.sig;
  sth.key = std::move(dsse.key);
  sth.head = std::move(*head);
  return sth;
}

Result<SignedTreeHead> sth_from_json(const Json& object) {
  auto dsse = parse_dsse(object);
  if (!dsse.is_ok()) return dsse.status().with_context("sth");
  return sth_from_dsse(std::move(*dsse));
}

// ---- Receipt v2 ----

std::string encode_receipt_v2_payload(const ReceiptV2Body& body) {
  Json out = Json::object();
  out["v"] = 2;
  out["tx"] = body.tx;
  out["from"] = body.from;
  out["to"] = body.to;
  out["sth"] = base64_encode(body.sth);
  out["sth_sig"] = base64_encode(body.sth_sig);
  out["ids"] = body.ids;
  out["indices"] = body.indices;
  out["received"] = format_time(body.received);
  // Absent when empty: a receipt that refuses nothing keeps the bytes it always had.
  if (!body.refused.empty()) {
    Json refused = Json::array();
    for (const ReceiptRefusal& r : body.refused) {
      refused.push_back(Json{{"id", r.id}, {"reason", r.reason}});
    }
    out["refused"] = std::move(refused);
  }
  return json::dump(out);
}

// The optional "refused" list: each item names one of `ids` (once) and why.
Result<std::vector<ReceiptRefusal>> parse_refused(const Json& object,
                                                  const std::set<std::string>& ids) {
  std::vector<ReceiptRefusal> out;
  if (!object.contains("refused")) return out;
  PARLEY_ASSIGN_OR_RETURN(const Json items, json::get_array(object, "refused"));
  if (items.size() > ids.size()) return field_error("refused", "more items than ids");
  std::set<std::string> seen;
  for (const Json& item : items) {
    if (!item.is_object()) return field_error("refused", "every element must be an object");
    PARLEY_RETURN_IF_ERROR(json::check_keys(item, {"id", "reason"}));
    PARLEY_ASSIGN_OR_RETURN(std::string id, get_uuid(item, "id"));
    PARLEY_ASSIGN_OR_RETURN(std::string reason, json::get_string(item, "reason"));
    if (ids.count(id) == 0) return field_error("refused", "id " + quote(id) + " is not in ids");
    if (!seen.insert(id).second) return field_error("refused", "duplicate id " + quote(id));
    if (reason.empty() || reason.size() > kRefusalReasonBytesMax) {
      return field_error(
          "refused", "a reason must be 1 to " + std::to_string(kRefusalReasonBytesMax) + " bytes");
    }
    out.push_back({std::move(id), std::move(reason)});
  }
  return out;
}

Result<ReceiptV2Body> parse_receipt_v2_payload(ByteView bytes) {
  PARLEY_ASSIGN_OR_RETURN(const Json object, json::parse_object(to_string(bytes)));
  PARLEY_RETURN_IF_ERROR(json::check_keys(object, {"v", "tx", "from", "to", "sth", "sth_sig", "ids",
                                                   "indices", "received", "refused"}));
  PARLEY_RETURN_IF_ERROR(check_version(object, 2));
  ReceiptV2Body body;
  PARLEY_ASSIGN_OR_RETURN(body.tx, get_uuid(object, "tx"));
  PARLEY_ASSIGN_OR_RETURN(body.from, get_id(object, "from"));
  PARLEY_ASSIGN_OR_RETURN(body.to, get_id(object, "to"));
  if (body.from == body.to) return field_error("to", "same party as 'from'");
  PARLEY_ASSIGN_OR_RETURN(body.sth, get_base64(object, "sth"));
  auto head = parse_sth_payload(body.sth);
  if (!head.is_ok()) return field_error("sth", head.status().message());
  if (head->log != body.to || head->peer != body.from) {
    return field_error("sth", "the head of " + quote(head->log) + "'s log for " +
                                  quote(head->peer) + ", expected " + quote(body.to) +
                                  "'s log for " + quote(body.from));
  }
  PARLEY_ASSIGN_OR_RETURN(body.sth_sig, get_signature(object, "sth_sig"));
  PARLEY_ASSIGN_OR_RETURN(const Json ids, json::get_array(object, "ids"));
  PARLEY_ASSIGN_OR_RETURN(const Json indices, json::get_array(object, "indices"));
  if (ids.size() > kReceiptIdsMax) {
    return field_error("ids", "more than " + std::to_string(kReceiptIdsMax));
  }
  if (indices.size() != ids.size()) {
    return field_error("indices", std::to_string(indices.size()) + " indices for " +
                                      std::to_string(ids.size()) + " ids");
  }
  std::set<std::string> seen_ids;
  std::set<std::uint64_t> seen_indices;
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (!ids[i].is_string() || !is_uuid(ids[i].get_ref<const std::string&>())) {
      return field_error("ids", "every element must be a lowercase UUID");
    }
    const std::string& id = ids[i].get_ref<const std::string&>();
    if (!seen_ids.insert(id).second) return field_error("ids", "duplicate id " + quote(id));
    if (!json::is_bounded_uint(indices[i])) {
      return field_error("indices", "every element must be an integer from 0 to " +
                                        std::to_string(json::kUintMax));
    }
    const auto index = indices[i].get<std::uint64_t>();
    if (index >= head->size) {
      return field_error("indices", "index " + std::to_string(index) + " is not in the head of " +
                                        std::to_string(head->size) + " entries");
    }
    if (!seen_indices.insert(index).second) {
      return field_error("indices", "duplicate index " + std::to_string(index));
    }
    body.ids.push_back(id);
    body.indices.push_back(index);
  }
  PARLEY_ASSIGN_OR_RETURN(body.received, get_time(object, "received"));
  PARLEY_ASSIGN_OR_RETURN(body.refused, parse_refused(object, seen_ids));
  return body;
}

Result<ReceiptV2> receipt_from_json(const Json& object) {
  auto dsse = parse_dsse(object);
  if (!dsse.is_ok()) return dsse.status().with_context("receipt");
  auto body = parse_receipt_v2_payload(dsse->payload);
  if (!body.is_ok()) return body.status().with_context("receipt payload");
  if (body->from != dsse->key) {
    return Status::unauthenticated("receipt: made by " + quote(body->from) + ", signed by " +
                                   quote(dsse->key));
  }
  ReceiptV2 receipt;
  receipt.payload_bytes = std::move(dsse->payload);
  receipt.sig = dsse->sig;
  receipt.key = std::move(dsse->key);
  receipt.body = std::move(*body);
  return receipt;
}

// ---- Manifest ----

std::string encode_manifest_payload(const Manifest& manifest) {
  Json out = Json::object();
  out["v"] = 1;
  out["format"] = std::string(kTranscriptFormat);
  out["exporter"] = manifest.exporter;
  out["parties"] = manifest.parties;
  Json files = Json::object();
  for (const auto& [path, digest] : manifest.files) files[path] = hex_encode(digest);
  out["files"] = std::move(files);
  out["created"] = format_time(manifest.created);
  return json::dump(out);
}

Result<Manifest> parse_manifest_payload(ByteView bytes) {
  PARLEY_ASSIGN_OR_RETURN(const Json object, json::parse_object(to_string(bytes)));
  PARLEY_RETURN_IF_ERROR(
      json::check_keys(object, {"v", "format", "exporter", "parties", "files", "created"}));
  PARLEY_RETURN_IF_ERROR(check_version(object, 1));
  PARLEY_ASSIGN_OR_RETURN(const std::string format, json::get_string(object, "format"));
  if (format != kTranscriptFormat) {
    return field_error("format",
                       quote(format) + ", expected '" + std::string(kTranscriptFormat) + "'");
  }
  Manifest manifest;
  PARLEY_ASSIGN_OR_RETURN(manifest.exporter, get_id(object, "exporter"));
  PARLEY_ASSIGN_OR_RETURN(const Json parties, json::get_array(object, "parties"));
  if (parties.size() != 2) return field_error("parties", "expected exactly two parties");
  for (const Json& party : parties) {
    if (!party.is_string() || !wire::is_valid_id(party.get_ref<const std::string&>())) {
      return field_error("parties", "every element must be a party id");
    }
    manifest.parties.push_back(party.get<std::string>());
  }
  if (manifest.parties[0] == manifest.parties[1]) {
    return field_error("parties", "the two parties are the same");
  }
  if (std::find(manifest.parties.begin(), manifest.parties.end(), manifest.exporter) ==
      manifest.parties.end()) {
    return field_error("exporter", quote(manifest.exporter) + " is not one of the parties");
  }
  PARLEY_ASSIGN_OR_RETURN(const Json files, json::get_object(object, "files"));
  if (files.size() > kManifestFilesMax) {
    return field_error("files", "more than " + std::to_string(kManifestFilesMax));
  }
  for (const auto& [path, digest] : files.items()) {
    if (!is_export_path(path) || path == kManifestPath) {
      return field_error("files", "not a file of a transcript export: " + quote(path));
    }
    if (!digest.is_string()) return field_error("files", quote(path) + ": expected a string");
    auto hash = hash_from_hex(digest.get_ref<const std::string&>());
    if (!hash.is_ok()) return field_error("files", quote(path) + ": " + hash.status().message());
    manifest.files[path] = *hash;
  }
  PARLEY_ASSIGN_OR_RETURN(manifest.created, get_time(object, "created"));
  return manifest;
}

Result<SignedManifest> manifest_from_dsse(Dsse dsse) {
  auto manifest = parse_manifest_payload(dsse.payload);
  if (!manifest.is_ok()) return manifest.status().with_context("manifest payload");
  if (manifest->exporter != dsse.key) {
    return Status::unauthenticated("manifest: exported by " + quote(manifest->exporter) +
                                   ", signed by " + quote(dsse.key));
  }
  SignedManifest out;
  out.payload_bytes = std::move(dsse.payload);
  out.sig = dsse.sig;
  out.key = std::move(dsse.key);
  out.manifest = std::move(*manifest);
  return out;
}

Result<Dsse> parse_dsse_text(std::string_view text) {
  PARLEY_ASSIGN_OR_RETURN(const Json object, parse_document(text));
  return parse_dsse(object);
}

}  // namespace

// ---- STH ----

SignedTreeHead sign_sth(const TreeHead& head, const crypto::SigningKey& key) {
  SignedTreeHead sth;
  sth.payload_bytes = to_bytes(encode_sth_payload(head));
  sth.sig = crypto::sign(key, kSthDomain, sth.payload_bytes);
  sth.key = head.log;
  sth.head = head;
  return sth;
}

std::string encode_sth(const SignedTreeHead& sth) {
  return encode_dsse(sth.payload_bytes, sth.sig, sth.key);
}

Result<TreeHead> parse_sth_payload(ByteView payload) {
  PARLEY_ASSIGN_OR_RETURN(const Json object, json::parse_object(to_string(payload)));
  PARLEY_RETURN_IF_ERROR(
      json::check_keys(object, {"v", "log", "peer", "size", "root", "timestamp"}));
  PARLEY_RETURN_IF_ERROR(check_version(object, 1));
  TreeHead head;
  PARLEY_ASSIGN_OR_RETURN(head.log, get_id(object, "log"));
  PARLEY_ASSIGN_OR_RETURN(head.peer, get_id(object, "peer"));
  if (head.log == head.peer) return field_error("peer", "same party as 'log'");
  PARLEY_ASSIGN_OR_RETURN(head.size, json::get_uint(object, "size"));
  PARLEY_ASSIGN_OR_RETURN(head.root, get_hash(object, "root"));
  if (head.size == 0 && head.root != empty_root()) {
    return field_error("root", "the root of an empty log must be SHA-256 of nothing");
  }
  PARLEY_ASSIGN_OR_RETURN(head.timestamp, get_time(object, "timestamp"));
  return head;
}

Result<SignedTreeHead> parse_sth(std::string_view json) {
  auto dsse = parse_dsse_text(json);
  if (!dsse.is_ok()) return dsse.status().with_context("sth");
  return sth_from_dsse(std::move(*dsse));
}

Status verify_sth(const SignedTreeHead& sth, const crypto::VerifyKey& signer) {
  return crypto::verify(signer, kSthDomain, sth.payload_bytes, sth.sig);
}

Result<SignedTreeHead> open_sth(std::string_view json, const crypto::VerifyKey& signer,
                                std::string_view signer_party) {
  auto dsse = parse_dsse_text(json);
  if (!dsse.is_ok()) return dsse.status().with_context("sth");
  if (Status s = signer_is(*dsse, signer_party); !s.is_ok()) return s.with_context("sth");
  if (Status s = crypto::verify(signer, kSthDomain, dsse->payload, dsse->sig); !s.is_ok()) {
    return s.with_context("sth");
  }
  return sth_from_dsse(std::move(*dsse));
}

// ---- Receipt v2 ----

ReceiptV2 sign_receipt_v2(const ReceiptV2Body& body, const crypto::SigningKey& key) {
  ReceiptV2 receipt;
  receipt.payload_bytes = to_bytes(encode_receipt_v2_payload(body));
  receipt.sig = crypto::sign(key, kReceiptV2Domain, receipt.payload_bytes);
  receipt.key = body.from;
  receipt.body = body;
  return receipt;
}

std::string encode_receipt_v2(const ReceiptV2& receipt) {
  return encode_dsse(receipt.payload_bytes, receipt.sig, receipt.key);
}

Result<ReceiptV2> parse_receipt_v2(std::string_view json) {
  auto object = parse_document(json);
  if (!object.is_ok()) return object.status().with_context("receipt");
  return receipt_from_json(*object);
}

Status verify_receipt_v2(const ReceiptV2& receipt, const crypto::VerifyKey& signer) {
  return crypto::verify(signer, kReceiptV2Domain, receipt.payload_bytes, receipt.sig);
}

Result<ReceiptV2> open_receipt_v2(std::string_view json, const crypto::VerifyKey& signer,
                                  std::string_view signer_party) {
  auto dsse = parse_dsse_text(json);
  if (!dsse.is_ok()) return dsse.status().with_context("receipt");
  if (Status s = signer_is(*dsse, signer_party); !s.is_ok()) return s.with_context("receipt");
  if (Status s = crypto::verify(signer, kReceiptV2Domain, dsse->payload, dsse->sig); !s.is_ok()) {
    return s.with_context("receipt");
  }
  auto body = parse_receipt_v2_payload(dsse->payload);
  if (!body.is_ok()) return body.status().with_context("receipt payload");
  if (body->from != dsse->key) {
    return Status::unauthenticated("receipt: made by " + quote(body->from) + ", signed by " +
                                   quote(dsse->key));
  }
  ReceiptV2 receipt;
  receipt.payload_bytes = std::move(dsse->payload);
  receipt.sig = dsse->sig;
  receipt.key = std::move(dsse->key);
  receipt.body = std::move(*body);
  return receipt;
}

// ---- Manifest ----

SignedManifest sign_manifest(const Manifest& manifest, const crypto::SigningKey& key) {
  SignedManifest out;
  out.payload_bytes = to_bytes(encode_manifest_payload(manifest));
  out.sig = crypto::sign(key, kManifestDomain, out.payload_bytes);
  out.key = manifest.exporter;
  out.manifest = manifest;
  return out;
}

std::string encode_manifest(const SignedManifest& manifest) {
  return encode_dsse(manifest.payload_bytes, manifest.sig, manifest.key);
}

Result<SignedManifest> parse_manifest(std::string_view json) {
  auto dsse = parse_dsse_text(json);
  if (!dsse.is_ok()) return dsse.status().with_context("manifest");
  return manifest_from_dsse(std::move(*dsse));
}

Status verify_manifest(const SignedManifest& manifest, const crypto::VerifyKey& signer) {
  return crypto::verify(signer, kManifestDomain, manifest.payload_bytes, manifest.sig);
}

Result<SignedManifest> open_manifest(std::string_view json, const crypto::VerifyKey& signer,
                                     std::string_view signer_party) {
  auto dsse = parse_dsse_text(json);
  if (!dsse.is_ok()) return dsse.status().with_context("manifest");
  if (Status s = signer_is(*dsse, signer_party); !s.is_ok()) return s.with_context("manifest");
  if (Status s = crypto::verify(signer, kManifestDomain, dsse->payload, dsse->sig); !s.is_ok()) {
    return s.with_context("manifest");
  }
  return manifest_from_dsse(std::move(*dsse));
}

// ---- Files ----

std::string bundle_path(std::string_view party) {
  return "bundles/" + std::string(party) + ".json";
}
std::string log_path(std::string_view owner) { return "logs/" + std::string(owner) + ".jsonl"; }
std::string heads_path(std::string_view owner) { return "heads/" + std::string(owner) + ".jsonl"; }
std::string proofs_path(std::string_view owner) {
  return "proofs/" + std::string(owner) + ".jsonl";
}

bool is_export_path(std::string_view path) {
  if (path == kManifestPath) return true;
  const auto slash = path.find('/');
  if (slash == std::string_view::npos) return false;
  const std::string_view dir = path.substr(0, slash);
  const std::string_view name = path.substr(slash + 1);
  const std::string_view suffix = dir == "bundles" ? ".json" : ".jsonl";
  if (dir != "bundles" && dir != "logs" && dir != "heads" && dir != "proofs") return false;
  if (name.size() <= suffix.size() || !name.ends_with(suffix)) return false;
  return wire::is_valid_id(name.substr(0, name.size() - suffix.size()));
}

std::string encode_log_line(std::uint64_t index, std::string_view envelope_json) {
  std::string out = "{\"index\":" + std::to_string(index) + ",\"envelope\":";
  out += envelope_json;
  out += '}';
  return out;
}

std::string encode_head_line(std::string_view sth_json,
                             const std::optional<std::string>& receipt_json) {
  std::string out = "{\"sth\":";
  out += sth_json;
  out += ",\"receipt\":";
  out += receipt_json ? *receipt_json : std::string("null");
  out += '}';
  return out;
}

std::string encode_proof_line(std::uint64_t index, std::uint64_t size,
                              const std::vector<Hash>& proof) {
  std::string out =
      "{\"index\":" + std::to_string(index) + ",\"size\":" + std::to_string(size) + ",\"proof\":[";
  for (std::size_t i = 0; i < proof.size(); ++i) {
    if (i > 0) out += ',';
    out += '"';
    out += hex_encode(proof[i]);
    out += '"';
  }
  out += "]}";
  return out;
}

// ---- Verification ----

namespace {

struct HeadRecord {
  std::size_t line = 0;  // 1-based
  SignedTreeHead sth;
  std::optional<ReceiptV2> receipt;
};

struct LogRecord {
  std::string owner;
  std::string other;
  bool complete = false;  // the exporter's own log: every entry 0..n-1
  std::string log_file;
  std::string heads_file;
  std::string proofs_file;
  std::optional<crypto::VerifyKey> owner_key;
  std::optional<crypto::VerifyKey> other_key;
  std::vector<std::string_view> entry_lines;
  std::vector<std::string_view> proof_lines;
  std::vector<HeadRecord> heads;               // those that parsed, in file order
  std::map<std::uint64_t, Hash> root_by_size;  // the first head of each size
  std::size_t first_check = 0;                 // the check number of its first entry
};

std::string where(std::string_view file, std::size_t line, std::string_view item) {
  std::string out(file);
  if (line > 0) out += " line " + std::to_string(line);
  if (!item.empty()) out += " (" + std::string(item) + ")";
  return out;
}

std::string entry_item(std::uint64_t index) { return "entry " + std::to_string(index); }
std::string head_item(std::uint64_t size) { return "head size " + std::to_string(size); }

// Splits a JSONL file into its lines (without their "\n").
std::vector<std::string_view> split_lines(const std::string& file, std::string_view text,
                                          std::vector<std::string>& failures) {
  std::vector<std::string_view> lines;
  std::size_t begin = 0;
  while (begin < text.size()) {
    const std::size_t end = text.find('\n', begin);
    if (end == std::string_view::npos) {
      lines.push_back(text.substr(begin));
      failures.push_back(where(file, lines.size(), "") + ": the last line has no final newline");
      break;
    }
    lines.push_back(text.substr(begin, end - begin));
    begin = end + 1;
  }
  return lines;
}

Result<Json> parse_line(std::string_view line) {
  if (line.empty()) return Status::invalid_argument("empty line");
  if (line.size() > kLineBytesMax) {
    return Status::invalid_argument("longer than " + std::to_string(kLineBytesMax) + " bytes");
  }
  return json::parse_object(line);
}

}  // namespace

class VerificationPlan {
 public:
  const ExportFiles* files = nullptr;
  std::vector<std::string> parties;  // exporter first
  std::string exporter;
  std::optional<SignedManifest> manifest;
  std::optional<crypto::VerifyKey> exporter_key;
  std::vector<LogRecord> logs;
  std::vector<std::string> failures;           // structural, in the order found
  std::vector<std::string> manifest_failures;  // reported last
  // The checks, numbered in this order: the SHA-256 of each file the manifest lists (first,
  // so that hashing a large file overlaps with the entries), the entries of logs[0] then of
  // logs[1], the heads' signatures, the countersignatures, the manifest's signature.
  std::vector<std::string> file_checks;  // paths, listed and present
  std::size_t entry_checks = 0;
  std::vector<std::pair<std::size_t, std::size_t>> head_checks;     // (log, head)
  std::vector<std::pair<std::size_t, std::size_t>> receipt_checks;  // (log, head)
  bool manifest_check = false;

  void plan();

 private:
  void determine_parties();
  void read_heads(LogRecord& log);
};

void VerificationPlanDeleter::operator()(VerificationPlan* plan) const { delete plan; }

void VerificationPlan::determine_parties() {
  const auto manifest_file = files->find(std::string(kManifestPath));
  if (manifest_file == files->end()) {
    manifest_failures.push_back("manifest.json: missing");
  } else {
    auto parsed = parse_manifest(manifest_file->second);
    if (parsed.is_ok()) {
      manifest = std::move(*parsed);
    } else {
      manifest_failures.push_back("manifest.json: " + parsed.status().message());
    }
  }
  if (manifest) {
    exporter = manifest->manifest.exporter;
    parties = {exporter, manifest->manifest.parties[0] == exporter ? manifest->manifest.parties[1]
                                                                   : manifest->manifest.parties[0]};
    return;
  }
  // Without a readable manifest, the rest can still be checked: the parties are the two
  // bundles, and the exporter is the one whose log has no proofs file (it is complete).
  std::vector<std::string> bundled;
  for (const auto& [path, contents] : *files) {
    if (path.starts_with("bundles/") && is_export_path(path)) {
      bundled.push_back(path.substr(8, path.size() - 8 - 5));
    }
  }
  if (bundled.size() != 2) {
    failures.push_back(
        "cannot tell the two parties: manifest.json is not readable and the "
        "export holds " +
        std::to_string(bundled.size()) + " bundles");
    return;
  }
  const bool proofs0 = files->count(proofs_path(bundled[0])) > 0;
  const bool proofs1 = files->count(proofs_path(bundled[1])) > 0;
  if (proofs0 == proofs1) {
    failures.push_back("cannot tell the exporter: manifest.json is not readable and " +
                       std::string(proofs0 ? "both logs have" : "neither log has") +
                       " a proofs file");
    return;
  }
  exporter = proofs0 ? bundled[1] : bundled[0];
  parties = {exporter, proofs0 ? bundled[0] : bundled[1]};
}

void VerificationPlan::read_heads(LogRecord& log) {
  const auto file = files->find(log.heads_file);
  if (file == files->end()) {
    failures.push_back(log.heads_file + ": missing");
    return;
  }
  const std::vector<std::string_view> lines = split_lines(log.heads_file, file->second, failures);
  std::uint64_t previous_size = 0;
  for (std::size_t k = 0; k < lines.size(); ++k) {
    const std::size_t line = k + 1;
    const auto fail = [&](std::string_view item, const std::string& message) {
      failures.push_back(where(log.heads_file, line, item) + ": " + message);
    };
    auto object = parse_line(lines[k]);
    if (!object.is_ok()) {
      fail("", object.status().message());
      continue;
    }
    if (Status s = json::check_keys(*object, {"sth", "receipt"}); !s.is_ok()) {
      fail("", s.message());
      continue;
    }
    if (!object->contains("sth") || !object->contains("receipt")) {
      fail("", std::string("field '") + (object->contains("sth") ? "receipt" : "sth") +
                   "': missing (use null for no receipt)");
      continue;
    }
    auto sth = sth_from_json((*object)["sth"]);
    if (!sth.is_ok()) {
      fail("", sth.status().message());
      continue;
    }
    HeadRecord head;
    head.line = line;
    head.sth = std::move(*sth);
    const TreeHead& h = head.sth.head;
    const std::string item = head_item(h.size);
    if (h.log != log.owner || h.peer != log.other) {
      fail(item, "the head of " + quote(h.log) + "'s log for " + quote(h.peer) +
                     " in the file of " + quote(log.owner) + "'s log for " + quote(log.other));
      continue;
    }
    if (h.size < previous_size) {
      fail(item, "heads out of order: size " + std::to_string(h.size) + " after size " +
                     std::to_string(previous_size));
    }
    previous_size = std::max(previous_size, h.size);
    const auto [it, inserted] = log.root_by_size.emplace(h.size, h.root);
    if (!inserted && it->second != h.root) {
      fail(item, "FORK: root " + short_hex(h.root) + " differs from an earlier head of size " +
                     std::to_string(h.size) + " (root " + short_hex(it->second) + ")");
    }
    const Json& receipt_json = (*object)["receipt"];
    if (!receipt_json.is_null()) {
      auto receipt = receipt_from_json(receipt_json);
      if (!receipt.is_ok()) {
        fail(item, "countersignature: " + receipt.status().message());
      } else if (receipt->key != log.other) {
        fail(item, "countersignature by " + quote(receipt->key) + ", expected the other party " +
                       quote(log.other));
      } else if (receipt->body.sth != head.sth.payload_bytes) {
        fail(item, "countersignature: its sth is not this head's signed payload");
      } else if (receipt->body.sth_sig != head.sth.sig) {
        fail(item, "countersignature: its sth_sig is not this head's signature");
      } else {
        head.receipt = std::move(*receipt);
      }
    }
    log.heads.push_back(std::move(head));
  }
}

void VerificationPlan::plan() {
  determine_parties();
  // Every file must be one an export holds, naming one of its parties.
  for (const auto& [path, contents] : *files) {
    if (!is_export_path(path)) {
      failures.push_back(one_line(path) + ": not a file of a transcript export");
      continue;
    }
    if (path == kManifestPath || parties.empty()) continue;
    const bool known = std::any_of(parties.begin(), parties.end(), [&](const std::string& p) {
      return path == bundle_path(p) || path == log_path(p) || path == heads_path(p) ||
             path == proofs_path(p);
    });
    if (!known) {
      failures.push_back(path + ": names a party that is not in this transcript");
    } else if (path == proofs_path(exporter)) {
      failures.push_back(path + ": the exporter's own log is complete and has no proofs file");
    }
  }
  if (parties.empty()) return;

  std::map<std::string, crypto::VerifyKey> keys;
  for (const std::string& party : parties) {
    const std::string path = bundle_path(party);
    const auto file = files->find(path);
    if (file == files->end()) {
      failures.push_back(path + ": missing");
      continue;
    }
    auto bundle = wire::parse_bundle(file->second);
    if (!bundle.is_ok()) {
      failures.push_back(path + ": " + bundle.status().message());
    } else if (bundle->party != party) {
      failures.push_back(path + ": the bundle of " + quote(bundle->party) + ", expected " +
                         quote(party));
    } else {
      keys[party] = bundle->sign_key;
    }
  }
  const auto key_of = [&](const std::string& party) -> std::optional<crypto::VerifyKey> {
    const auto it = keys.find(party);
    if (it == keys.end()) return std::nullopt;
    return it->second;
  };
  exporter_key = key_of(exporter);

  for (std::size_t i = 0; i < 2; ++i) {
    LogRecord log;
    log.owner = parties[i];
    log.other = parties[1 - i];
    log.complete = i == 0;
    log.log_file = log_path(log.owner);
    log.heads_file = heads_path(log.owner);
    log.proofs_file = proofs_path(log.owner);
    log.owner_key = key_of(log.owner);
    log.other_key = key_of(log.other);
    if (const auto file = files->find(log.log_file); file == files->end()) {
      failures.push_back(log.log_file + ": missing");
    } else {
      log.entry_lines = split_lines(log.log_file, file->second, failures);
    }
    if (!log.complete) {
      if (const auto file = files->find(log.proofs_file); file == files->end()) {
        failures.push_back(log.proofs_file + ": missing");
      } else {
        log.proof_lines = split_lines(log.proofs_file, file->second, failures);
      }
      if (log.proof_lines.size() > log.entry_lines.size()) {
        failures.push_back(where(log.proofs_file, log.entry_lines.size() + 1, "") +
                           ": a proof with no entry (" + log.log_file + " has " +
                           std::to_string(log.entry_lines.size()) + " lines)");
      }
    }
    read_heads(log);
    log.first_check = entry_checks;
    entry_checks += log.entry_lines.size();
    logs.push_back(std::move(log));
  }
  for (std::size_t l = 0; l < logs.size(); ++l) {
    for (std::size_t h = 0; h < logs[l].heads.size(); ++h) {
      if (logs[l].owner_key) head_checks.emplace_back(l, h);
      if (logs[l].heads[h].receipt && logs[l].other_key) receipt_checks.emplace_back(l, h);
    }
  }
  manifest_check = manifest && exporter_key;
  if (manifest) {
    for (const auto& [path, digest] : manifest->manifest.files) {
      if (files->count(path) > 0) file_checks.push_back(path);
    }
  }
}

PlanPtr plan_verification(const ExportFiles& files) {
  PlanPtr plan(new VerificationPlan());
  plan->files = &files;
  plan->plan();
  return plan;
}

std::size_t check_count(const VerificationPlan& plan) {
  return plan.file_checks.size() + plan.entry_checks + plan.head_checks.size() +
         plan.receipt_checks.size() + (plan.manifest_check ? 1 : 0);
}

namespace {

// One entry of a log: its line, the envelope's signature by the owner, its leaf hash, and for
// a partial log its inclusion proof in the head of the size the proof names.
bool is_digit(char c) { return c >= '0' && c <= '9'; }

// A character class as a table: the scans below run over every byte of a log.
struct CharClass {
  std::array<bool, 256> member{};
  bool operator()(char c) const { return member[static_cast<unsigned char>(c)]; }
};
// Lowercase letters and digits, uppercase letters if `upper`, and the characters of `extra`.
constexpr CharClass char_class(bool upper, std::string_view extra) {
  CharClass out;
  const auto add = [&](char c) { out.member[static_cast<unsigned char>(c)] = true; };
  for (char c = 'a'; c <= 'z'; ++c) add(c);
  for (char c = '0'; c <= '9'; ++c) add(c);
  for (char c = 'A'; upper && c <= 'Z'; ++c) add(c);
  for (const char c : extra) add(c);
  return out;
}
constexpr CharClass is_base64_char = char_class(true, "+/=");
constexpr CharClass is_id_char = char_class(false, "-");

// Consumes `literal` at the front of `text`.
bool eat(std::string_view& text, std::string_view literal) {
  if (!text.starts_with(literal)) return false;
  text.remove_prefix(literal.size());
  return true;
}

// A JSON unsigned integer as the exporter writes it (no sign, no leading zero, no exponent).
bool eat_uint(std::string_view& text, std::uint64_t& out) {
  std::size_t n = 0;
  while (n < text.size() && is_digit(text[n])) ++n;
  if (n == 0 || (text[0] == '0' && n > 1)) return false;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + n, out);
  if (ec != std::errc() || ptr != text.data() + n || out > json::kUintMax) return false;
  text.remove_prefix(n);
  return true;
}

// Characters up to the next '"', all satisfying `ok`; consumes the closing quote.
template <typename Pred>
bool eat_string_body(std::string_view& text, const Pred& ok) {
  std::size_t n = 0;
  while (n < text.size() && text[n] != '"') {
    if (!ok(text[n])) return false;
    ++n;
  }
  if (n == text.size()) return false;
  text.remove_prefix(n + 1);
  return true;
}

// One line of a log, parsed.
struct EntryLine {
  std::uint64_t index = 0;
  std::string_view text;  // the entry: the envelope's canonical JSON text
  std::string storage;    // backs `text` when the line was not in canonical form
  std::string key;        // the envelope's signer
  std::string_view entry() const { return storage.empty() ? text : storage; }
};

// The line exactly as encode_log_line writes a canonical envelope:
//   {"index":I,"envelope":{"key":"K","payload":"P","sig":"S"}}
// with nothing to escape in K, P and S. Such a line means the same to any JSON parser, so it is
// read without one (a JSON parse costs about a tenth of an Ed25519 verification); any other
// line goes to the full parser. nullopt: not in that form.
std::optional<EntryLine> parse_canonical_entry_line(std::string_view line) {
  EntryLine out;
  std::string_view rest = line;
  if (!eat(rest, "{\"index\":") || !eat_uint(rest, out.index) || !eat(rest, ",\"envelope\":")) {
    return std::nullopt;
  }
  const std::string_view envelope = rest;
  std::string_view key = rest;
  if (!eat(rest, "{\"key\":\"")) return std::nullopt;
  key = rest;
  if (!eat_string_body(rest, is_id_char)) return std::nullopt;
  key = key.substr(0, key.size() - rest.size() - 1);
  if (!eat(rest, ",\"payload\":\"") || !eat_string_body(rest, is_base64_char) ||
      !eat(rest, ",\"sig\":\"") || !eat_string_body(rest, is_base64_char) || rest != "}}") {
    return std::nullopt;
  }
  out.text = envelope.substr(0, envelope.size() - 1);
  out.key = std::string(key);
  return out;
}

// Any other line: the full parser. `index` is set as soon as it is known, for the message.
Result<EntryLine> parse_entry_line(std::string_view line, std::optional<std::uint64_t>& index) {
  if (auto fast = parse_canonical_entry_line(line)) {
    index = fast->index;
    return std::move(*fast);
  }
  PARLEY_ASSIGN_OR_RETURN(const Json object, parse_line(line));
  PARLEY_RETURN_IF_ERROR(json::check_keys(object, {"index", "envelope"}));
  EntryLine out;
  PARLEY_ASSIGN_OR_RETURN(out.index, json::get_uint(object, "index"));
  index = out.index;
  PARLEY_ASSIGN_OR_RETURN(const Json envelope, json::get_object(object, "envelope"));
  if (Status s = json::check_keys(envelope, {"payload", "sig", "key"}); !s.is_ok()) {
    return s.with_context("envelope");
  }
  for (const char* field : {"key", "payload", "sig"}) {
    const auto it = envelope.find(field);
    if (it == envelope.end() || !it->is_string()) {
      return Status::invalid_argument("envelope: field '" + std::string(field) +
                                      "': expected a string");
    }
  }
  out.key = envelope.find("key")->get<std::string>();
  // The entry is the envelope's canonical text: json::dump sorts the keys and adds no
  // whitespace, {"key":..,"payload":..,"sig":..}, as wire::encode_envelope writes it.
  out.storage = json::dump(envelope);
  return out;
}

struct ProofLine {
  std::uint64_t index = 0;
  std::uint64_t size = 0;
  std::vector<Hash> proof;
};

// {"index":I,"size":N,"proof":["<64 hex>",...]} as encode_proof_line writes it, read without a
// JSON parser (see parse_canonical_entry_line); nullopt if the line is not in that form.
std::optional<ProofLine> parse_canonical_proof_line(std::string_view line) {
  ProofLine out;
  std::string_view rest = line;
  if (!eat(rest, "{\"index\":") || !eat_uint(rest, out.index) || !eat(rest, ",\"size\":") ||
      !eat_uint(rest, out.size) || !eat(rest, ",\"proof\":[")) {
    return std::nullopt;
  }
  constexpr std::size_t kHexChars = 2 * crypto::kSha256Bytes;
  while (!rest.starts_with("]")) {
    if (!out.proof.empty() && !eat(rest, ",")) return std::nullopt;
    if (out.proof.size() == kProofHashesMax || rest.size() < kHexChars + 2 || rest[0] != '"' ||
        rest[kHexChars + 1] != '"') {
      return std::nullopt;
    }
    auto hash = hash_from_hex(rest.substr(1, kHexChars));
    if (!hash.is_ok()) return std::nullopt;
    out.proof.push_back(*hash);
    rest.remove_prefix(kHexChars + 2);
  }
  if (rest != "]}") return std::nullopt;
  return out;
}

Result<ProofLine> parse_proof_line(std::string_view line) {
  if (auto fast = parse_canonical_proof_line(line)) return std::move(*fast);
  PARLEY_ASSIGN_OR_RETURN(const Json object, parse_line(line));
  PARLEY_RETURN_IF_ERROR(json::check_keys(object, {"index", "size", "proof"}));
  ProofLine out;
  PARLEY_ASSIGN_OR_RETURN(out.index, json::get_uint(object, "index"));
  PARLEY_ASSIGN_OR_RETURN(out.size, json::get_uint(object, "size"));
  PARLEY_ASSIGN_OR_RETURN(out.proof, get_proof(object, "proof"));
  return out;
}

// One entry of a log: its line, the envelope's signature by the owner, its leaf hash, and for
// a partial log its inclusion proof in the head of the size the proof names.
CheckResult check_entry(const LogRecord& log, std::size_t k, InclusionChecker& inclusion) {
  CheckResult r;
  const std::size_t line = k + 1;
  std::optional<std::uint64_t> index;
  const auto item = [&] { return index ? entry_item(*index) : std::string(); };
  const auto fail = [&](StatusCode code, const std::string& message) {
    r.status = Status(code, one_line(where(log.log_file, line, item()) + ": " + message));
    return r;
  };
  auto parsed = parse_entry_line(log.entry_lines[k], index);
  if (!parsed.is_ok()) return fail(parsed.status().code(), parsed.status().message());
  if (parsed->key != log.owner) {
    return fail(StatusCode::kUnauthenticated, "envelope signed by " + quote(parsed->key) +
                                                  ", not by the log's owner " + quote(log.owner));
  }
  const std::string_view entry = parsed->entry();
  r.entry_known = true;
  r.index = parsed->index;
  r.leaf = leaf_hash(as_bytes(entry));
  if (log.owner_key) {  // else the bundle's failure says why nothing of this party is checked
    auto opened = wire::open_envelope(entry, *log.owner_key, log.owner);
    if (!opened.is_ok()) {
      if (opened.status().code() == StatusCode::kUnauthenticated) {
        return fail(StatusCode::kUnauthenticated, "bad envelope signature");
      }
      return fail(opened.status().code(), opened.status().message());
    }
    if (opened->payload.from.party != log.owner) {
      return fail(StatusCode::kInvalidArgument, "envelope from " +
                                                    quote(opened->payload.from.to_string()) +
                                                    " in the log of " + quote(log.owner));
    }
    std::copy_n(opened->payload.id.begin(), r.id.size(), r.id.begin());
  }
  if (log.complete) return r;

  // The inclusion proof on the same line of the proofs file.
  if (k >= log.proof_lines.size()) {
    return fail(StatusCode::kInvalidArgument, "no inclusion proof (" + log.proofs_file +
                                                  " has no line " + std::to_string(line) + ")");
  }
  const auto proof_fail = [&](StatusCode code, const std::string& message) {
    r.status = Status(code, one_line(where(log.proofs_file, line, item()) + ": " + message));
    return r;
  };
  auto proof = parse_proof_line(log.proof_lines[k]);
  if (!proof.is_ok()) return proof_fail(proof.status().code(), proof.status().message());
  if (proof->index != r.index) {
    return fail(StatusCode::kInvalidArgument, "the proof at " + where(log.proofs_file, line, "") +
                                                  " is for entry " + std::to_string(proof->index));
  }
  const auto root = log.root_by_size.find(proof->size);
  if (root == log.root_by_size.end()) {
    return proof_fail(StatusCode::kInvalidArgument,
                      "no head of size " + std::to_string(proof->size) + " in " + log.heads_file);
  }
  if (Status s = inclusion.verify(r.index, proof->size, r.leaf, proof->proof, root->second);
      !s.is_ok()) {
    return proof_fail(StatusCode::kUnauthenticated,
                      "inclusion proof does not lead to the root of the head of size " +
                          std::to_string(proof->size) + " (" + s.message() + ")");
  }
  return r;
}

CheckResult run_one_check(const VerificationPlan& plan, std::size_t i,
                          InclusionChecker& inclusion) {
  if (i < plan.file_checks.size()) {
    CheckResult r;
    const std::string& path = plan.file_checks[i];
    if (crypto::sha256(as_bytes(plan.files->at(path))) != plan.manifest->manifest.files.at(path)) {
      r.status = Status::data_loss(one_line(path) +
                                   ": SHA-256 does not match manifest.json (changed after export)");
    }
    return r;
  }
  i -= plan.file_checks.size();
  if (i < plan.entry_checks) {
    const std::size_t l = i < plan.logs[0].entry_lines.size() ? 0 : 1;
    return check_entry(plan.logs[l], i - plan.logs[l].first_check, inclusion);
  }
  i -= plan.entry_checks;
  CheckResult r;
  if (i < plan.head_checks.size()) {
    const auto [l, h] = plan.head_checks[i];
    const LogRecord& log = plan.logs[l];
    const HeadRecord& head = log.heads[h];
    if (!verify_sth(head.sth, *log.owner_key).is_ok()) {
      r.status =
          Status::unauthenticated(where(log.heads_file, head.line, head_item(head.sth.head.size)) +
                                  ": bad signature (not made with " + log.owner + "'s key)");
    }
    return r;
  }
  i -= plan.head_checks.size();
  if (i < plan.receipt_checks.size()) {
    const auto [l, h] = plan.receipt_checks[i];
    const LogRecord& log = plan.logs[l];
    const HeadRecord& head = log.heads[h];
    if (!verify_receipt_v2(*head.receipt, *log.other_key).is_ok()) {
      r.status =
          Status::unauthenticated(where(log.heads_file, head.line, head_item(head.sth.head.size)) +
                                  ": bad countersignature (not made with " + log.other + "'s key)");
    }
    return r;
  }
  if (plan.manifest_check && !verify_manifest(*plan.manifest, *plan.exporter_key).is_ok()) {
    r.status = Status::unauthenticated("manifest.json: bad signature (not made with " +
                                       plan.exporter + "'s key)");
  }
  return r;
}

}  // namespace

CheckResult run_check(const VerificationPlan& plan, std::size_t i) {
  CheckResult r;
  run_checks(plan, i, i + 1, &r);
  return r;
}

void run_checks(const VerificationPlan& plan, std::size_t begin, std::size_t end,
                CheckResult* out) {
  InclusionChecker inclusion;
  for (std::size_t i = begin; i < end; ++i) out[i - begin] = run_one_check(plan, i, inclusion);
}

namespace {

// (c) A complete log: indices 0..n-1 in order, and the root at every head's size, all in one
// pass with a compact range.
void check_complete_log(const LogRecord& log, const CheckResult* results,
                        std::vector<std::string>& failures) {
  std::vector<const HeadRecord*> heads;
  for (const HeadRecord& head : log.heads) heads.push_back(&head);
  std::stable_sort(heads.begin(), heads.end(), [](const HeadRecord* a, const HeadRecord* b) {
    return a->sth.head.size < b->sth.head.size;
  });
  CompactRange range;
  std::size_t next_head = 0;
  const auto compare_heads = [&] {
    for (; next_head < heads.size() && heads[next_head]->sth.head.size == range.size();
         ++next_head) {
      const HeadRecord& head = *heads[next_head];
      const Hash root = range.root();
      if (root != head.sth.head.root) {
        failures.push_back(where(log.heads_file, head.line, head_item(head.sth.head.size)) +
                           ": root does not match the entries (expected " + short_hex(root) +
                           ", head says " + short_hex(head.sth.head.root) + ")");
      }
    }
  };
  compare_heads();
  const std::size_t n = log.entry_lines.size();
  for (std::size_t k = 0; k < n; ++k) {
    const CheckResult& r = results[log.first_check + k];
    // An invalid entry is reported by its own check; the roots past it cannot be recomputed.
    if (!r.status.is_ok()) return;
    if (r.index != k) {
      const std::string at = where(log.log_file, k + 1, entry_item(r.index));
      failures.push_back(r.index > k
                             ? at + ": entry " + std::to_string(k) +
                                   " is missing (a complete log holds entries 0..n-1 in order)"
                             : at + ": out of order or repeated (expected entry " +
                                   std::to_string(k) + " here)");
      return;
    }
    range.append(r.leaf);
    compare_heads();
  }
  for (; next_head < heads.size(); ++next_head) {
    const HeadRecord& head = *heads[next_head];
    failures.push_back(where(log.heads_file, head.line, head_item(head.sth.head.size)) +
                       ": the log holds only " + std::to_string(n) + " entries");
  }
}

// A partial log: indices strictly increasing (each entry's proof was checked on its own).
void check_partial_log(const LogRecord& log, const CheckResult* results,
                       std::vector<std::string>& failures) {
  std::optional<std::uint64_t> previous;
  for (std::size_t k = 0; k < log.entry_lines.size(); ++k) {
    const CheckResult& r = results[log.first_check + k];
    if (!r.entry_known) continue;
    if (previous && r.index <= *previous) {
      failures.push_back(where(log.log_file, k + 1, entry_item(r.index)) +
                         ": out of order or repeated (after entry " + std::to_string(*previous) +
                         ")");
    }
    previous = r.index;
  }
}

// (d) Each countersignature names entries the log holds, with their ids.
void check_receipts(const LogRecord& log, const CheckResult* results,
                    std::vector<std::string>& failures) {
  std::vector<std::pair<std::uint64_t, const CheckResult*>> by_index;
  bool all_known = true;  // else an entry named by a receipt may be on an unreadable line
  for (std::size_t k = 0; k < log.entry_lines.size(); ++k) {
    const CheckResult& r = results[log.first_check + k];
    if (r.entry_known) by_index.emplace_back(r.index, &r);
    all_known = all_known && r.entry_known;
  }
  std::stable_sort(by_index.begin(), by_index.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  for (const HeadRecord& head : log.heads) {
    if (!head.receipt) continue;
    const ReceiptV2Body& body = head.receipt->body;
    for (std::size_t j = 0; j < body.ids.size(); ++j) {
      const std::uint64_t index = body.indices[j];
      const auto it = std::lower_bound(by_index.begin(), by_index.end(), index,
                                       [](const auto& a, std::uint64_t i) { return a.first < i; });
      const std::string at = where(log.heads_file, head.line, head_item(head.sth.head.size));
      if (it == by_index.end() || it->first != index) {
        if (!all_known) continue;
        failures.push_back(at + ": the countersignature names entry " + std::to_string(index) +
                           ", which " + log.log_file + " does not hold");
        continue;
      }
      const CheckResult& entry = *it->second;
      if (!entry.status.is_ok() || !log.owner_key) continue;  // reported, or not checkable
      const std::string_view id(entry.id.data(), entry.id.size());
      if (id != body.ids[j]) {
        failures.push_back(at + ": the countersignature names entry " + std::to_string(index) +
                           " as " + body.ids[j] + ", the log holds " + std::string(id));
      }
    }
  }
}

}  // namespace

TranscriptReport finish_verification(const VerificationPlan& plan,
                                     const std::vector<CheckResult>& results) {
  PARLEY_CHECK(results.size() == check_count(plan));
  TranscriptReport report;
  report.parties = plan.parties;
  report.exporter = plan.exporter;
  std::vector<std::string> failures = plan.failures;
  std::vector<std::string> manifest_failures = plan.manifest_failures;
  std::vector<std::string> hash_failures;
  for (std::size_t i = 0; i < results.size(); ++i) {
    if (results[i].status.is_ok()) continue;
    if (i < plan.file_checks.size()) {
      hash_failures.push_back(results[i].status.message());
    } else if (plan.manifest_check && i + 1 == results.size()) {
      manifest_failures.push_back(results[i].status.message());
    } else {
      failures.push_back(results[i].status.message());
    }
  }
  for (const LogRecord& log : plan.logs) {
    ++report.logs;
    report.entries += log.entry_lines.size();
    report.heads += log.heads.size();
    for (const HeadRecord& head : log.heads) report.countersignatures += head.receipt ? 1 : 0;
    const CheckResult* entries = results.data() + plan.file_checks.size();
    if (log.complete) {
      check_complete_log(log, entries, failures);
    } else {
      check_partial_log(log, entries, failures);
    }
    check_receipts(log, entries, failures);
  }
  // (e) Last: the manifest lists exactly the files present, with their SHA-256.
  if (plan.manifest) {
    const auto& listed = plan.manifest->manifest.files;
    for (const auto& [path, contents] : *plan.files) {
      if (path == kManifestPath) continue;
      if (listed.count(path) == 0) {
        manifest_failures.push_back("manifest.json: does not list " + one_line(path) +
                                    ", which is in the export");
      }
    }
    for (const auto& [path, digest] : listed) {
      if (plan.files->count(path) == 0) {
        manifest_failures.push_back("manifest.json: lists " + path +
                                    ", which is not in the export");
      }
    }
  }
  manifest_failures.insert(manifest_failures.end(), hash_failures.begin(), hash_failures.end());
  report.failures_total = failures.size() + manifest_failures.size();
  const std::size_t reserved = std::min(manifest_failures.size(), kManifestFailuresReserved);
  const std::size_t keep = std::min(failures.size(), kFailuresMax - reserved);
  const std::size_t keep_manifest = std::min(manifest_failures.size(), kFailuresMax - keep);
  for (std::size_t i = 0; i < keep; ++i) report.failures.push_back(one_line(failures[i]));
  for (std::size_t i = 0; i < keep_manifest; ++i) {
    report.failures.push_back(one_line(manifest_failures[i]));
  }
  return report;
}

std::string TranscriptReport::summary() const {
  std::string out = "transcript";
  if (parties.size() == 2) {
    out += " " + parties[0] + " <-> " + parties[1];
  }
  out += ": " + std::to_string(logs) + " logs, " + std::to_string(entries) + " entries, " +
         std::to_string(heads) + " heads, " + std::to_string(countersignatures) +
         " countersignatures: ";
  if (valid()) return out + "all valid";
  return out + "INVALID, " + std::to_string(failures_total) +
         (failures_total == 1 ? " failure" : " failures");
}

TranscriptReport verify_transcript(const ExportFiles& files) {
  const PlanPtr plan = plan_verification(files);
  std::vector<CheckResult> results(check_count(*plan));
  run_checks(*plan, 0, results.size(), results.data());
  return finish_verification(*plan, results);
}

}  // namespace parley::ledger
