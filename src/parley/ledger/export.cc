#include "parley/ledger/export.h"

#include <charconv>

#include "parley/base/json.h"
#include "parley/wire/dsse.h"
#include "parley/wire/fields.h"
#include "parley/wire/wire.h"

namespace parley::ledger {
namespace {

using json::Json;
using wire::fields::field_error;

bool is_digit(char c) { return c >= '0' && c <= '9'; }

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

Result<Json> parse_line(std::string_view line) {
  if (line.empty()) return Status::invalid_argument("empty line");
  if (line.size() > kLineBytesMax) {
    return Status::invalid_argument("longer than " + std::to_string(kLineBytesMax) + " bytes");
  }
  return json::parse_object(line);
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

// The line exactly as encode_log_line writes a canonical envelope:
//   {"index":I,"envelope":{"key":"K","payload":"P","sig":"S"}}
// Such a line means the same to any JSON parser, so it is read without one (a JSON parse
// costs about a tenth of an Ed25519 verification); the envelope is DSSE's canonical text
// (wire::split_canonical_dsse). nullopt: not in that form.
std::optional<LogLine> parse_canonical_log_line(std::string_view line) {
  LogLine out;
  std::string_view rest = line;
  if (!eat(rest, "{\"index\":") || !eat_uint(rest, out.index)) return std::nullopt;
  if (eat(rest, ",\"rotation\":")) {
    out.kind = EntryKind::kRotation;
  } else if (!eat(rest, ",\"envelope\":")) {
    return std::nullopt;
  }
  if (!rest.ends_with('}')) return std::nullopt;
  rest.remove_suffix(1);
  const auto fields = wire::split_canonical_dsse(rest);
  if (!fields) return std::nullopt;
  out.text = rest;
  out.key = std::string(fields->key);
  return out;
}

// {"index":I,"size":N,"proof":["<64 hex>",...]} as encode_proof_line writes it, read without a
// JSON parser (see parse_canonical_log_line); nullopt if the line is not in that form.
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

}  // namespace

// ---- File names ----

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

// ---- Lines ----

std::string_view entry_kind_field(EntryKind kind) {
  switch (kind) {
    case EntryKind::kEnvelope:
      return "envelope";
    case EntryKind::kRotation:
      return "rotation";
  }
  return "envelope";
}

std::string encode_log_line(std::uint64_t index, std::string_view envelope_json, EntryKind kind) {
  std::string out = "{\"index\":" + std::to_string(index) + ",\"";
  out += entry_kind_field(kind);
  out += "\":";
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

Result<LogLine> parse_log_line(std::string_view line, std::optional<std::uint64_t>& index) {
  if (auto fast = parse_canonical_log_line(line)) {
    index = fast->index;
    return std::move(*fast);
  }
  PARLEY_ASSIGN_OR_RETURN(const Json object, parse_line(line));
  PARLEY_RETURN_IF_ERROR(json::check_keys(object, {"index", "envelope", "rotation"}));
  LogLine out;
  PARLEY_ASSIGN_OR_RETURN(out.index, json::get_uint(object, "index"));
  index = out.index;
  if (object.contains("rotation")) {
    if (object.contains("envelope")) {
      return Status::invalid_argument("both 'envelope' and 'rotation' (an entry is one of them)");
    }
    out.kind = EntryKind::kRotation;
  }
  const std::string field_name(entry_kind_field(out.kind));
  PARLEY_ASSIGN_OR_RETURN(const Json envelope, json::get_object(object, field_name));
  if (Status s = json::check_keys(envelope, {"payload", "sig", "key"}); !s.is_ok()) {
    return s.with_context(field_name);
  }
  for (const char* field : {"key", "payload", "sig"}) {
    const auto it = envelope.find(field);
    if (it == envelope.end() || !it->is_string()) {
      return Status::invalid_argument(field_name + ": field '" + std::string(field) +
                                      "': expected a string");
    }
  }
  out.key = envelope.find("key")->get<std::string>();
  // The entry is the envelope's canonical text: json::dump sorts the keys and adds no
  // whitespace, {"key":..,"payload":..,"sig":..}, as wire::encode_dsse writes it.
  out.storage = json::dump(envelope);
  return out;
}

Result<HeadLine> parse_head_line(std::string_view line) {
  PARLEY_ASSIGN_OR_RETURN(const Json object, parse_line(line));
  PARLEY_RETURN_IF_ERROR(json::check_keys(object, {"sth", "receipt"}));
  if (!object.contains("sth") || !object.contains("receipt")) {
    return Status::invalid_argument(std::string("field '") +
                                    (object.contains("sth") ? "receipt" : "sth") +
                                    "': missing (use null for no receipt)");
  }
  HeadLine out;
  PARLEY_ASSIGN_OR_RETURN(out.sth, parse_sth_object(object["sth"]));
  const Json& receipt = object["receipt"];
  if (receipt.is_null()) return out;
  auto parsed = parse_receipt_v2_object(receipt);
  if (parsed.is_ok()) {
    out.receipt = std::move(*parsed);
  } else {
    out.receipt_error = parsed.status();
  }
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

}  // namespace parley::ledger
