#include "parley/ledger/formats.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <set>
#include <utility>

#include "parley/base/json.h"
#include "parley/base/rng.h"
#include "parley/ledger/export.h"
#include "parley/wire/dsse.h"
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

// The text of a manifest, STH or receipt larger than this is refused unread.
constexpr std::size_t kDocumentBytesMax = 1024 * 1024;
constexpr std::size_t kManifestFilesMax = 64;

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

Result<Hash> get_hash(const Json& object, std::string_view key) {
  PARLEY_ASSIGN_OR_RETURN(const std::string text, json::get_string(object, key));
  auto hash = hash_from_hex(text);
  if (!hash.is_ok()) return field_error(key, hash.status().message());
  return hash;
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

Result<SignedTreeHead> sth_from_dsse(wire::Dsse dsse) {
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

Result<ReceiptV2> receipt_from_dsse(wire::Dsse dsse) {
  auto body = parse_receipt_v2_payload(dsse.payload);
  if (!body.is_ok()) return body.status().with_context("receipt payload");
  if (body->from != dsse.key) {
    return Status::unauthenticated("receipt: made by " + quote(body->from) + ", signed by " +
                                   quote(dsse.key));
  }
  ReceiptV2 receipt;
  receipt.payload_bytes = std::move(dsse.payload);
  receipt.sig = dsse.sig;
  receipt.key = std::move(dsse.key);
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

Result<SignedManifest> manifest_from_dsse(wire::Dsse dsse) {
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

// A document's context in errors: "sth: field 'sig': ...".
template <typename T>
Result<T> in_context(Result<T> result, std::string_view context) {
  if (!result.is_ok()) return result.status().with_context(context);
  return result;
}

}  // namespace

// The value of a lowercase hex digit, or -1.
int lower_hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

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

// ---- STH ----

SignedTreeHead sign_sth(const TreeHead& head, const crypto::SigningKey& key) {
  wire::Dsse dsse = wire::sign_dsse(kSthDomain, to_bytes(encode_sth_payload(head)), key, head.log);
  SignedTreeHead sth;
  sth.payload_bytes = std::move(dsse.payload);
  sth.sig = dsse.sig;
  sth.key = std::move(dsse.key);
  sth.head = head;
  return sth;
}

std::string encode_sth(const SignedTreeHead& sth) {
  return wire::encode_dsse(sth.payload_bytes, sth.sig, sth.key);
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
  PARLEY_ASSIGN_OR_RETURN(wire::Dsse dsse,
                          in_context(wire::parse_dsse(json, kDocumentBytesMax), "sth"));
  return sth_from_dsse(std::move(dsse));
}

Result<SignedTreeHead> parse_sth_object(const Json& object) {
  PARLEY_ASSIGN_OR_RETURN(wire::Dsse dsse, in_context(wire::parse_dsse_object(object), "sth"));
  return sth_from_dsse(std::move(dsse));
}

Status verify_sth(const SignedTreeHead& sth, const crypto::VerifyKey& signer) {
  return crypto::verify(signer, kSthDomain, sth.payload_bytes, sth.sig);
}

Result<SignedTreeHead> open_sth(std::string_view json, const crypto::VerifyKey& signer,
                                std::string_view signer_party, const crypto::Facts* known) {
  PARLEY_ASSIGN_OR_RETURN(
      wire::Dsse dsse,
      in_context(wire::open_dsse(json, kSthDomain, signer, signer_party, kDocumentBytesMax, known),
                 "sth"));
  return sth_from_dsse(std::move(dsse));
}

// ---- Receipt v2 ----

ReceiptV2 sign_receipt_v2(const ReceiptV2Body& body, const crypto::SigningKey& key) {
  wire::Dsse dsse =
      wire::sign_dsse(kReceiptV2Domain, to_bytes(encode_receipt_v2_payload(body)), key, body.from);
  ReceiptV2 receipt;
  receipt.payload_bytes = std::move(dsse.payload);
  receipt.sig = dsse.sig;
  receipt.key = std::move(dsse.key);
  receipt.body = body;
  return receipt;
}

std::string encode_receipt_v2(const ReceiptV2& receipt) {
  return wire::encode_dsse(receipt.payload_bytes, receipt.sig, receipt.key);
}

Result<ReceiptV2> parse_receipt_v2(std::string_view json) {
  PARLEY_ASSIGN_OR_RETURN(wire::Dsse dsse,
                          in_context(wire::parse_dsse(json, kDocumentBytesMax), "receipt"));
  return receipt_from_dsse(std::move(dsse));
}

Result<ReceiptV2> parse_receipt_v2_object(const Json& object) {
  PARLEY_ASSIGN_OR_RETURN(wire::Dsse dsse, in_context(wire::parse_dsse_object(object), "receipt"));
  return receipt_from_dsse(std::move(dsse));
}

Status verify_receipt_v2(const ReceiptV2& receipt, const crypto::VerifyKey& signer) {
  return crypto::verify(signer, kReceiptV2Domain, receipt.payload_bytes, receipt.sig);
}

Result<ReceiptV2> open_receipt_v2(std::string_view json, const crypto::VerifyKey& signer,
                                  std::string_view signer_party) {
  PARLEY_ASSIGN_OR_RETURN(
      wire::Dsse dsse,
      in_context(wire::open_dsse(json, kReceiptV2Domain, signer, signer_party, kDocumentBytesMax),
                 "receipt"));
  return receipt_from_dsse(std::move(dsse));
}

// ---- Manifest ----

SignedManifest sign_manifest(const Manifest& manifest, const crypto::SigningKey& key) {
  wire::Dsse dsse = wire::sign_dsse(kManifestDomain, to_bytes(encode_manifest_payload(manifest)),
                                    key, manifest.exporter);
  SignedManifest out;
  out.payload_bytes = std::move(dsse.payload);
  out.sig = dsse.sig;
  out.key = std::move(dsse.key);
  out.manifest = manifest;
  return out;
}

std::string encode_manifest(const SignedManifest& manifest) {
  return wire::encode_dsse(manifest.payload_bytes, manifest.sig, manifest.key);
}

Result<SignedManifest> parse_manifest(std::string_view json) {
  PARLEY_ASSIGN_OR_RETURN(wire::Dsse dsse,
                          in_context(wire::parse_dsse(json, kDocumentBytesMax), "manifest"));
  return manifest_from_dsse(std::move(dsse));
}

Status verify_manifest(const SignedManifest& manifest, const crypto::VerifyKey& signer) {
  return crypto::verify(signer, kManifestDomain, manifest.payload_bytes, manifest.sig);
}

Result<SignedManifest> open_manifest(std::string_view json, const crypto::VerifyKey& signer,
                                     std::string_view signer_party) {
  PARLEY_ASSIGN_OR_RETURN(
      wire::Dsse dsse,
      in_context(wire::open_dsse(json, kManifestDomain, signer, signer_party, kDocumentBytesMax),
                 "manifest"));
  return manifest_from_dsse(std::move(dsse));
}

}  // namespace parley::ledger
