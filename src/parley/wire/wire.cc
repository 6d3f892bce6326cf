#include "parley/wire/wire.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <limits>
#include <optional>
#include <set>

#include "parley/base/json.h"
#include "parley/base/rng.h"
#include "parley/wire/dsse.h"
#include "parley/wire/fields.h"

namespace parley::wire {
namespace {

using fields::check_version;
using fields::field_error;
using fields::get_base64;
using fields::get_id;
using fields::get_time;
using fields::get_uuid;
using fields::is_lower_hex;
using fields::quote;

using json::Json;

constexpr std::size_t kSaltBytes = 32;
constexpr std::size_t kSealedBytesMin = crypto::kXNonceBytes + crypto::kTagBytes;
// Salt, content and the AEAD overhead: anything larger cannot hold valid content.
constexpr std::size_t kSealedBytesMax = kSealedBytesMin + kSaltBytes + kContentBytesMax;
constexpr std::size_t kTypeCharsMax = 64;
constexpr std::size_t kIdCharsMax = 64;
constexpr std::size_t kHostCharsMax = 253;  // RFC 1035 §2.3.4, as text
constexpr std::size_t kFederationAddressesMax = 16;
constexpr std::size_t kRefusalCharsMax = 4096;

Result<Address> get_address(const Json& object, std::string_view key) {
  PARLEY_ASSIGN_OR_RETURN(const std::string text, json::get_string(object, key));
  auto address = parse_address(text);
  if (!address.is_ok()) return field_error(key, address.status().message());
  return address;
}

// A field that must be present, holding a string or null.
Result<std::optional<std::string>> get_nullable_string(const Json& object, std::string_view key) {
  if (!object.contains(key)) return field_error(key, "missing (use null for none)");
  return json::get_optional_string(object, key);
}

Result<std::string> get_lang(const Json& object, std::string_view key) {
  PARLEY_ASSIGN_OR_RETURN(std::string text, json::get_string(object, key));
  const bool ok = text.size() >= 2 && text.size() <= 8 &&
                  std::all_of(text.begin(), text.end(),
                              [](char c) { return (c >= 'a' && c <= 'z') || c == '-'; });
  if (!ok) return field_error(key, "not a language tag (2-8 of [a-z-]): " + quote(text));
  return text;
}

Result<crypto::Digest> get_digest(const Json& object, std::string_view key) {
  PARLEY_ASSIGN_OR_RETURN(const std::string text, json::get_string(object, key));
  if (text.size() != 2 * crypto::kSha256Bytes || !is_lower_hex(text)) {
    return field_error(key, "expected 64 lowercase hex digits");
  }
  PARLEY_ASSIGN_OR_RETURN(const Bytes bytes, hex_decode(text));
  crypto::Digest digest{};
  std::copy(bytes.begin(), bytes.end(), digest.begin());
  return digest;
}

bool is_valid_type(std::string_view type) {
  return !type.empty() && type.size() <= kTypeCharsMax &&
         std::all_of(type.begin(), type.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-';
         });
}

crypto::Digest commit(ByteView salt_and_content) { return crypto::sha256(salt_and_content); }

Result<Payload> parse_payload(ByteView bytes) {
  PARLEY_ASSIGN_OR_RETURN(const Json object, json::parse_object(to_string(bytes)));
  PARLEY_RETURN_IF_ERROR(json::check_keys(
      object, {"v", "id", "line", "seq", "from", "to", "precedence", "type", "type_version",
               "created", "expires", "reply_to", "lang", "epoch", "sealed", "commitment"}));
  PARLEY_RETURN_IF_ERROR(check_version(object));
  Payload p;
  PARLEY_ASSIGN_OR_RETURN(p.id, get_uuid(object, "id"));
  PARLEY_ASSIGN_OR_RETURN(p.line, get_id(object, "line"));
  PARLEY_ASSIGN_OR_RETURN(p.seq, json::get_uint(object, "seq"));
  if (p.seq < 1) return field_error("seq", "must be at least 1");
  PARLEY_ASSIGN_OR_RETURN(p.from, get_address(object, "from"));
  PARLEY_ASSIGN_OR_RETURN(p.to, get_address(object, "to"));
  PARLEY_ASSIGN_OR_RETURN(const std::string precedence, json::get_string(object, "precedence"));
  auto parsed_precedence = parse_precedence(precedence);
  if (!parsed_precedence.is_ok()) {
    return field_error("precedence", parsed_precedence.status().message());
  }
  p.precedence = *parsed_precedence;
  PARLEY_ASSIGN_OR_RETURN(p.type, json::get_string(object, "type"));
  if (!is_valid_type(p.type)) {
    return field_error("type", "not a message type (1-64 of [a-z0-9.-]): " + quote(p.type));
  }
  if (object.contains("type_version")) {
    PARLEY_ASSIGN_OR_RETURN(const std::uint64_t version, json::get_uint(object, "type_version"));
    if (version < 1 || version > std::numeric_limits<std::uint32_t>::max()) {
      return field_error("type_version", "must be between 1 and 4294967295");
    }
    p.type_version = static_cast<std::uint32_t>(version);
  }
  PARLEY_ASSIGN_OR_RETURN(p.created, get_time(object, "created"));
  PARLEY_ASSIGN_OR_RETURN(const auto expires, get_nullable_string(object, "expires"));
  if (expires) {
    auto t = parse_time(*expires);
    if (!t.is_ok()) return field_error("expires", t.status().message());
    p.expires = *t;
  }
  PARLEY_ASSIGN_OR_RETURN(p.reply_to, get_nullable_string(object, "reply_to"));
  if (p.reply_to && !is_uuid(*p.reply_to)) {
    return field_error("reply_to", "not a lowercase UUID: " + quote(*p.reply_to));
  }
  PARLEY_ASSIGN_OR_RETURN(p.lang, get_lang(object, "lang"));
  PARLEY_ASSIGN_OR_RETURN(const std::uint64_t epoch, json::get_uint(object, "epoch"));
  if (epoch < 1 || epoch > std::numeric_limits<std::uint32_t>::max()) {
    return field_error("epoch", "must be between 1 and 4294967295");
  }
  p.epoch = static_cast<std::uint32_t>(epoch);
  PARLEY_ASSIGN_OR_RETURN(p.sealed, get_base64(object, "sealed"));
  if (p.sealed.size() < kSealedBytesMin) {
    return field_error(
        "sealed", "shorter than a nonce and a tag (" + std::to_string(p.sealed.size()) + " bytes)");
  }
  if (p.sealed.size() > kSealedBytesMax) {
    return field_error("sealed", "longer than " + std::to_string(kSealedBytesMax) + " bytes");
  }
  PARLEY_ASSIGN_OR_RETURN(p.commitment, get_digest(object, "commitment"));
  return p;
}

std::string encode_payload(const Payload& p) {
  Json out = Json::object();
  out["v"] = 1;
  out["id"] = p.id;
  out["line"] = p.line;
  out["seq"] = p.seq;
  out["from"] = p.from.to_string();
  out["to"] = p.to.to_string();
  out["precedence"] = std::string(precedence_name(p.precedence));
  out["type"] = p.type;
  if (p.type_version != 0) out["type_version"] = p.type_version;
  out["created"] = format_time(p.created);
  out["expires"] = p.expires ? Json(format_time(*p.expires)) : Json(nullptr);
  out["reply_to"] = p.reply_to ? Json(*p.reply_to) : Json(nullptr);
  out["lang"] = p.lang;
  out["epoch"] = p.epoch;
  out["sealed"] = base64_encode(p.sealed);
  out["commitment"] = hex_encode(p.commitment);
  return json::dump(out);
}

bool is_host_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '-' || c == '_';
}

bool is_ipv6_char(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == ':' ||
         c == '.';
}

// A fixed scalar for the low-order check: X25519 clamps it to a multiple of the cofactor 8,
// so the shared point is all zeros exactly when the peer's point has small order (RFC 7748 §6.1).
constexpr crypto::BoxSecretKey kProbeSecret{{
    0x77, 0x07, 0x6d, 0x0a, 0x73, 0x18, 0xa5, 0x7d, 0x3c, 0x16, 0xc1, 0x72, 0x51, 0xb2, 0x66, 0x45,
    0xdf, 0x4c, 0x2f, 0x87, 0xeb, 0xc0, 0x99, 0x2a, 0xb1, 0x77, 0xfb, 0xa5, 0x1d, 0xb9, 0x2c, 0x2a,
}};

}  // namespace

std::string_view precedence_name(Precedence p) {
  switch (p) {
    case Precedence::kFlash:
      return "FLASH";
    case Precedence::kImmediate:
      return "IMMEDIATE";
    case Precedence::kPriority:
      return "PRIORITY";
    case Precedence::kRoutine:
      return "ROUTINE";
  }
  return "ROUTINE";
}

Result<Precedence> parse_precedence(std::string_view text) {
  if (text == "FLASH") return Precedence::kFlash;
  if (text == "IMMEDIATE") return Precedence::kImmediate;
  if (text == "PRIORITY") return Precedence::kPriority;
  if (text == "ROUTINE") return Precedence::kRoutine;
  return Status::invalid_argument("unknown precedence " + quote(text) +
                                  " (FLASH, IMMEDIATE, PRIORITY, ROUTINE)");
}

bool is_valid_id(std::string_view id) {
  if (id.empty() || id.size() > kIdCharsMax || id.front() == '-') return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  });
}

Result<Address> parse_address(std::string_view text) {
  const auto slash = text.find('/');
  if (slash == std::string_view::npos) {
    return Status::invalid_argument("address " + quote(text) + " is not party/principal");
  }
  Address address{std::string(text.substr(0, slash)), std::string(text.substr(slash + 1))};
  if (!is_valid_id(address.party)) {
    return Status::invalid_argument("address " + quote(text) + ": bad party id");
  }
  if (!is_valid_id(address.principal)) {
    return Status::invalid_argument("address " + quote(text) + ": bad principal id");
  }
  return address;
}

Sealed seal_and_sign(const Draft& draft, const crypto::SealKey& seal_key,
                     const crypto::SigningKey& signing_key, std::string_view signer, Rng& rng) {
  // Drafts come from our own core after validation: a body that is not a JSON object is
  // our bug, not outside input.
  auto body = json::parse_object(draft.content.body_json);
  PARLEY_CHECK(body.is_ok());
  Json content = Json::object();
  content["body"] = std::move(*body);
  content["text"] = draft.content.text;
  const std::string content_text = json::dump(content);

  Bytes plaintext(kSaltBytes);
  rng.fill(plaintext);
  plaintext.insert(plaintext.end(), content_text.begin(), content_text.end());

  Envelope envelope;
  Payload& p = envelope.payload;
  p.id = draft.id;
  p.line = draft.line;
  p.seq = draft.seq;
  p.from = draft.from;
  p.to = draft.to;
  p.precedence = draft.precedence;
  p.type = draft.type;
  p.type_version = draft.type_version;
  p.created = draft.created;
  p.expires = draft.expires;
  p.reply_to = draft.reply_to;
  p.lang = draft.lang;
  p.epoch = draft.epoch;
  p.commitment = commit(plaintext);
  p.sealed = crypto::seal(seal_key, content_associated_data(draft.id, draft.line), plaintext, rng);
  Bytes salt(plaintext.begin(), plaintext.begin() + kSaltBytes);
  crypto::wipe(plaintext);

  Dsse dsse = sign_dsse(kEnvelopeDomain, to_bytes(encode_payload(p)), signing_key, signer);
  envelope.payload_bytes = std::move(dsse.payload);
  envelope.sig = dsse.sig;
  envelope.key = std::move(dsse.key);
  return Sealed{std::move(envelope), std::move(salt)};
}

std::string encode_envelope(const Envelope& envelope) {
  return encode_dsse(envelope.payload_bytes, envelope.sig, envelope.key);
}

Result<Envelope> open_envelope(std::string_view json, const crypto::VerifyKey& signer,
                               std::string_view signer_party, const crypto::Facts* known) {
  auto dsse = open_dsse(json, kEnvelopeDomain, signer, signer_party, kFrameBytesMax, known);
  if (!dsse.is_ok()) return dsse.status().with_context("envelope");
  auto payload = parse_payload(dsse->payload);
  if (!payload.is_ok()) return payload.status().with_context("envelope payload");
  Envelope envelope;
  envelope.payload_bytes = std::move(dsse->payload);
  envelope.sig = dsse->sig;
  envelope.key = std::move(dsse->key);
  envelope.payload = std::move(*payload);
  return envelope;
}

Bytes content_associated_data(std::string_view id, std::string_view line) {
  Bytes ad = to_bytes(id);
  ad.push_back('\n');
  ad.insert(ad.end(), line.begin(), line.end());
  return ad;
}

Result<Opened> open_content(const Payload& payload, const crypto::SealKey& seal_key,
                            const crypto::Facts* known) {
  auto plaintext = crypto::open(seal_key, content_associated_data(payload.id, payload.line),
                                payload.sealed, known);
  if (!plaintext.is_ok()) return plaintext.status().with_context("sealed content");
  Bytes& bytes = *plaintext;
  if (bytes.size() < kSaltBytes) {
    return Status::invalid_argument("sealed content: shorter than its salt");
  }
  const crypto::Digest digest = commit(bytes);
  if (!constant_time_equal(digest, payload.commitment)) {
    return Status::unauthenticated("sealed content: commitment mismatch");
  }
  const std::size_t content_bytes = bytes.size() - kSaltBytes;
  if (content_bytes > kContentBytesMax) {
    return Status::invalid_argument("content: larger than " + std::to_string(kContentBytesMax) +
                                    " bytes");
  }
  Opened opened;
  opened.salt.assign(bytes.begin(), bytes.begin() + kSaltBytes);
  auto content = json::parse_object(
      std::string_view(reinterpret_cast<const char*>(bytes.data()) + kSaltBytes, content_bytes));
  crypto::wipe(bytes);
  if (!content.is_ok()) return content.status().with_context("content");
  if (Status s = json::check_keys(*content, {"body", "text"}); !s.is_ok()) {
    return s.with_context("content");
  }
  auto body = json::get_object(*content, "body");
  if (!body.is_ok()) return body.status().with_context("content");
  auto text = json::get_string(*content, "text");
  if (!text.is_ok()) return text.status().with_context("content");
  opened.content.body_json = json::dump(*body);
  opened.content.text = std::move(*text);
  return opened;
}

namespace {

std::string json_string(std::string_view text) { return json::dump(Json(std::string(text))); }

std::string encode_hashes(const std::vector<crypto::Digest>& hashes) {
  Json out = Json::array();
  for (const crypto::Digest& h : hashes) out.push_back(hex_encode(h));
  return json::dump(out);
}

Result<std::vector<crypto::Digest>> get_hashes(const Json& object, std::string_view key) {
  PARLEY_ASSIGN_OR_RETURN(const Json array, json::get_array(object, key));
  if (array.size() > kProofHashesMax) {
    return field_error(key, "more than " + std::to_string(kProofHashesMax) + " hashes");
  }
  std::vector<crypto::Digest> out;
  out.reserve(array.size());
  for (const Json& item : array) {
    if (!item.is_string()) return field_error(key, "every element must be a hex string");
    const std::string& text = item.get_ref<const std::string&>();
    if (text.size() != 2 * crypto::kSha256Bytes || !is_lower_hex(text)) {
      return field_error(key, "every element must be 64 lowercase hex digits");
    }
    const Bytes bytes = *hex_decode(text);
    crypto::Digest digest{};
    std::copy(bytes.begin(), bytes.end(), digest.begin());
    out.push_back(digest);
  }
  return out;
}

Result<TransactionEntry> parse_entry(const Json& item) {
  if (!item.is_object()) return Status::invalid_argument("not an object");
  PARLEY_RETURN_IF_ERROR(json::check_keys(item, {"index", "envelope", "rotation", "proof"}));
  TransactionEntry entry;
  PARLEY_ASSIGN_OR_RETURN(entry.index, json::get_uint(item, "index"));
  entry.rotation = item.contains("rotation");
  if (entry.rotation && item.contains("envelope")) {
    return Status::invalid_argument("both 'envelope' and 'rotation' (an entry is one of them)");
  }
  const char* field = entry.rotation ? "rotation" : "envelope";
  if (!item.contains(field) || !item[field].is_object()) {
    return field_error(field, "expected an object");
  }
  entry.envelope = json::dump(item[field]);
  PARLEY_ASSIGN_OR_RETURN(entry.proof, get_hashes(item, "proof"));
  return entry;
}

Result<ConsistencyItem> parse_consistency_item(const Json& item) {
  if (!item.is_object()) return Status::invalid_argument("not an object");
  PARLEY_RETURN_IF_ERROR(json::check_keys(item, {"from_size", "from_root", "proof"}));
  ConsistencyItem c;
  PARLEY_ASSIGN_OR_RETURN(c.from_size, json::get_uint(item, "from_size"));
  PARLEY_ASSIGN_OR_RETURN(c.from_root, get_digest(item, "from_root"));
  PARLEY_ASSIGN_OR_RETURN(c.proof, get_hashes(item, "proof"));
  return c;
}

Result<Transaction> parse_transaction_fields(std::string_view text) {
  if (text.size() > kFrameBytesMax) {
    return Status::invalid_argument("larger than " + std::to_string(kFrameBytesMax) + " bytes");
  }
  PARLEY_ASSIGN_OR_RETURN(const Json object, json::parse_object(text));
  PARLEY_RETURN_IF_ERROR(json::check_keys(
      object, {"v", "tx", "from", "to", "after", "pinned", "sth", "entries", "consistency"}));
  PARLEY_ASSIGN_OR_RETURN(const std::uint64_t v, json::get_uint(object, "v"));
  if (v != kProtocolVersion) {
    return field_error("v", "unsupported version " + std::to_string(v) + " (expected " +
                                std::to_string(kProtocolVersion) + ")");
  }
  Transaction tx;
  PARLEY_ASSIGN_OR_RETURN(tx.id, get_uuid(object, "tx"));
  PARLEY_ASSIGN_OR_RETURN(tx.from, get_id(object, "from"));
  PARLEY_ASSIGN_OR_RETURN(tx.to, get_id(object, "to"));
  if (object.contains("after")) {
    PARLEY_ASSIGN_OR_RETURN(tx.after, json::get_uint(object, "after"));
  }
  if (object.contains("pinned")) {
    PARLEY_ASSIGN_OR_RETURN(tx.pinned, json::get_uint(object, "pinned"));
  }
  if (!object.contains("sth") || !object["sth"].is_object()) {
    return field_error("sth", "expected a signed tree head (an object)");
  }
  tx.sth = json::dump(object["sth"]);
  PARLEY_ASSIGN_OR_RETURN(const Json entries, json::get_array(object, "entries"));
  if (entries.empty()) return field_error("entries", "empty");
  if (entries.size() > kEnvelopesPerTransactionMax) {
    return field_error("entries", "more than " + std::to_string(kEnvelopesPerTransactionMax));
  }
  std::set<std::uint64_t> indices;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    auto entry = parse_entry(entries[i]);
    if (!entry.is_ok()) {
      return field_error("entries",
                         "element " + std::to_string(i) + ": " + entry.status().message());
    }
    if (!indices.insert(entry->index).second) {
      return field_error("entries", "element " + std::to_string(i) + ": duplicate index " +
                                        std::to_string(entry->index));
    }
    tx.entries.push_back(std::move(*entry));
  }
  PARLEY_ASSIGN_OR_RETURN(const Json consistency, json::get_array(object, "consistency"));
  if (consistency.size() > kConsistencyItemsMax) {
    return field_error("consistency", "more than " + std::to_string(kConsistencyItemsMax));
  }
  for (std::size_t i = 0; i < consistency.size(); ++i) {
    auto item = parse_consistency_item(consistency[i]);
    if (!item.is_ok()) {
      return field_error("consistency",
                         "element " + std::to_string(i) + ": " + item.status().message());
    }
    tx.consistency.push_back(std::move(*item));
  }
  return tx;
}

}  // namespace

std::string encode_transaction(const Transaction& tx) {
  // The sth and the envelopes are spliced in as JSON values (not re-parsed): each is
  // already JSON text, and an envelope's exact bytes are its leaf in the sender's log.
  std::string out = "{\"v\":" + std::to_string(kProtocolVersion) + ",\"tx\":" + json_string(tx.id) +
                    ",\"from\":" + json_string(tx.from) + ",\"to\":" + json_string(tx.to);
  if (tx.after) out += ",\"after\":" + std::to_string(*tx.after);
  if (tx.pinned) out += ",\"pinned\":" + std::to_string(*tx.pinned);
  out += ",\"sth\":" + tx.sth + ",\"entries\":[";
  for (std::size_t i = 0; i < tx.entries.size(); ++i) {
    const TransactionEntry& e = tx.entries[i];
    if (i > 0) out += ',';
    out += "{\"index\":" + std::to_string(e.index) +
           (e.rotation ? ",\"rotation\":" : ",\"envelope\":") + e.envelope +
           ",\"proof\":" + encode_hashes(e.proof) + "}";
  }
  out += "],\"consistency\":[";
  for (std::size_t i = 0; i < tx.consistency.size(); ++i) {
    const ConsistencyItem& c = tx.consistency[i];
    if (i > 0) out += ',';
    out += "{\"from_size\":" + std::to_string(c.from_size) + ",\"from_root\":\"" +
           hex_encode(c.from_root) + "\",\"proof\":" + encode_hashes(c.proof) + "}";
  }
  out += "]}";
  return out;
}

Result<Transaction> parse_transaction(std::string_view text) {
  auto tx = parse_transaction_fields(text);
  if (!tx.is_ok()) return tx.status().with_context("transaction");
  return tx;
}

std::string encode_refusal(const Refusal& refusal) {
  // Keep our own refusals acceptable to parse_refusal: one line, bounded.
  std::string error = refusal.error.substr(0, kRefusalCharsMax);
  for (char& c : error) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) c = ' ';
  }
  if (error.empty()) error = "refused";
  Json out = Json::object();
  out["error"] = error;
  out["id"] = refusal.id;
  return json::dump(out);
}

Result<Refusal> parse_refusal(std::string_view text) {
  const auto fail = [](const Status& s) { return s.with_context("refusal"); };
  if (text.size() > kFrameBytesMax) {
    return fail(
        Status::invalid_argument("larger than " + std::to_string(kFrameBytesMax) + " bytes"));
  }
  auto object = json::parse_object(text);
  if (!object.is_ok()) return fail(object.status());
  if (Status s = json::check_keys(*object, {"error", "id"}); !s.is_ok()) return fail(s);
  Refusal refusal;
  auto error = json::get_string(*object, "error");
  if (!error.is_ok()) return fail(error.status());
  refusal.error = std::move(*error);
  if (refusal.error.empty() || refusal.error.size() > kRefusalCharsMax) {
    return fail(field_error("error", "must be 1-" + std::to_string(kRefusalCharsMax) + " bytes"));
  }
  if (std::any_of(refusal.error.begin(), refusal.error.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u < 0x20 || u == 0x7f;
      })) {
    return fail(field_error("error", "contains a control character"));
  }
  auto id = json::get_string(*object, "id");
  if (!id.is_ok()) return fail(id.status());
  refusal.id = std::move(*id);
  if (!refusal.id.empty() && !is_uuid(refusal.id)) {
    return fail(field_error("id", "neither empty nor a lowercase UUID: " + quote(refusal.id)));
  }
  return refusal;
}

std::string encode_bundle(const Bundle& bundle) {
  Json out = Json::object();
  out["v"] = bundle.translators.empty() ? 1 : 2;
  out["party"] = bundle.party;
  out["sign_key"] = base64_encode(bundle.sign_key.bytes);
  out["box_key"] = base64_encode(bundle.box_key.bytes);
  out["tls_fingerprint"] = bundle.tls_fingerprint;
  out["federation"] = bundle.federation;
  out["lang"] = bundle.lang;
  out["note_key"] = bundle_note_key(bundle);
  if (!bundle.translators.empty()) out["translators"] = bundle.translators;
  return json::dump(out);
}

std::string bundle_note_key(const Bundle& bundle) {
  constexpr std::uint8_t kEd25519 = 0x01;  // signed-note key type
  const std::string name = "parley.example/" + bundle.party;
  Bytes key{kEd25519};
  key.insert(key.end(), bundle.sign_key.bytes.begin(), bundle.sign_key.bytes.end());
  // signed-note: key ID = SHA-256(name || 0x0A || type || public key)[:4].
  Bytes hashed = to_bytes(name + "\n");
  hashed.insert(hashed.end(), key.begin(), key.end());
  const crypto::Digest digest = crypto::sha256(hashed);
  return name + "+" + hex_encode(ByteView(digest).first(4)) + "+" + base64_encode(key);
}

namespace {

// Version 2's translators: distinct principal ids, at least one (a party without any writes a
// v1 bundle), at most kBundleTranslatorsMax, sorted as encode_bundle is given them.
Result<std::vector<std::string>> get_translators(const Json& object) {
  PARLEY_ASSIGN_OR_RETURN(const Json list, json::get_array(object, "translators"));
  if (list.empty()) return field_error("translators", "empty (a bundle without any is v1)");
  if (list.size() > kBundleTranslatorsMax) {
    return field_error("translators", "more than " + std::to_string(kBundleTranslatorsMax));
  }
  std::vector<std::string> out;
  for (const Json& item : list) {
    if (!item.is_string() || !is_valid_id(item.get_ref<const std::string&>())) {
      return field_error("translators", "every element must be a principal id");
    }
    out.push_back(item.get<std::string>());
  }
  std::sort(out.begin(), out.end());
  if (std::adjacent_find(out.begin(), out.end()) != out.end()) {
    return field_error("translators", "a principal is listed twice");
  }
  return out;
}

Result<Bundle> parse_bundle_fields(std::string_view text) {
  if (text.size() > kFrameBytesMax) {
    return Status::invalid_argument("larger than " + std::to_string(kFrameBytesMax) + " bytes");
  }
  PARLEY_ASSIGN_OR_RETURN(const Json object, json::parse_object(text));
  PARLEY_RETURN_IF_ERROR(
      json::check_keys(object, {"v", "party", "sign_key", "box_key", "tls_fingerprint",
                                "federation", "lang", "note_key", "translators"}));
  PARLEY_ASSIGN_OR_RETURN(const std::uint64_t version, json::get_uint(object, "v"));
  if (version != 1 && version != 2) {
    return field_error("v",
                       "unsupported version " + std::to_string(version) + " (expected 1 or 2)");
  }
  Bundle bundle;
  PARLEY_ASSIGN_OR_RETURN(bundle.party, get_id(object, "party"));

  PARLEY_ASSIGN_OR_RETURN(const Bytes sign_key, get_base64(object, "sign_key"));
  auto verify_key = crypto::verify_key_from_bytes(sign_key);
  if (!verify_key.is_ok()) {
    return field_error("sign_key", "expected " + std::to_string(crypto::kSignPublicBytes) +
                                       " bytes, got " + std::to_string(sign_key.size()));
  }
  bundle.sign_key = *verify_key;

  PARLEY_ASSIGN_OR_RETURN(const Bytes box_key, get_base64(object, "box_key"));
  auto box_public = crypto::box_public_from_bytes(box_key);
  if (!box_public.is_ok()) {
    return field_error("box_key", "expected " + std::to_string(crypto::kBoxPublicBytes) +
                                      " bytes, got " + std::to_string(box_key.size()));
  }
  if (!crypto::x25519(kProbeSecret, box_key).is_ok()) {
    return field_error("box_key", "a low-order point, not a usable key");
  }
  bundle.box_key = *box_public;

  PARLEY_ASSIGN_OR_RETURN(bundle.tls_fingerprint, json::get_string(object, "tls_fingerprint"));
  if (bundle.tls_fingerprint.size() != 2 * crypto::kSha256Bytes ||
      !is_lower_hex(bundle.tls_fingerprint)) {
    return field_error("tls_fingerprint", "expected 64 lowercase hex digits");
  }

  PARLEY_ASSIGN_OR_RETURN(const Json federation, json::get_array(object, "federation"));
  if (federation.empty()) return field_error("federation", "needs at least one HOST:PORT");
  if (federation.size() > kFederationAddressesMax) {
    return field_error("federation", "more than " + std::to_string(kFederationAddressesMax));
  }
  for (const Json& address : federation) {
    if (!address.is_string()) return field_error("federation", "every element must be a string");
    const std::string& text_address = address.get_ref<const std::string&>();
    auto host_port = parse_host_port(text_address);
    if (!host_port.is_ok()) return field_error("federation", host_port.status().message());
    bundle.federation.push_back(text_address);
  }
  PARLEY_ASSIGN_OR_RETURN(bundle.lang, get_lang(object, "lang"));
  if (object.contains("note_key")) {
    PARLEY_ASSIGN_OR_RETURN(const std::string note_key, json::get_string(object, "note_key"));
    if (note_key != bundle_note_key(bundle)) {
      return field_error("note_key", "is not the verifier key of the party and sign_key");
    }
  }
  if (version == 2) {
    PARLEY_ASSIGN_OR_RETURN(bundle.translators, get_translators(object));
  } else if (object.contains("translators")) {
    return field_error("translators", "not in a v1 bundle (v2 lists translators)");
  }
  return bundle;
}

}  // namespace

Result<Bundle> parse_bundle(std::string_view json) {
  auto bundle = parse_bundle_fields(json);
  if (!bundle.is_ok()) return bundle.status().with_context("bundle");
  return bundle;
}

Result<HostPort> parse_host_port(std::string_view text) {
  const auto bad = [&](std::string_view why) {
    return Status::invalid_argument("address " + quote(text) + ": " + std::string(why) +
                                    " (expected HOST:PORT or [V6]:PORT)");
  };
  HostPort out;
  std::string_view host;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos) return bad("no closing ']'");
    host = text.substr(1, close - 1);
    const std::string_view rest = text.substr(close + 1);
    if (rest.empty() || rest.front() != ':') return bad("no port");
    port = rest.substr(1);
    if (host.empty() || host.find(':') == std::string_view::npos ||
        !std::all_of(host.begin(), host.end(), is_ipv6_char)) {
      return bad("bad IPv6 host");
    }
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return bad("no port");
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.empty()) return bad("empty host");
    if (!std::all_of(host.begin(), host.end(), is_host_name_char)) return bad("bad host");
  }
  if (host.size() > kHostCharsMax) return bad("host too long");
  if (port.empty() || port.size() > 5 ||
      !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return bad("bad port");
  }
  unsigned value = 0;
  const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (ec != std::errc() || end != port.data() + port.size() || value < 1 || value > 65535) {
    return bad("port out of range 1-65535");
  }
  out.host = std::string(host);
  out.port = static_cast<std::uint16_t>(value);
  return out;
}

}  // namespace parley::wire
