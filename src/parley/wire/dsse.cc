#include "parley/wire/dsse.h"

#include <algorithm>
#include <utility>

#include "parley/base/check.h"
#include "parley/wire/fields.h"
#include "parley/wire/wire.h"

namespace parley::wire {
namespace {

using fields::field_error;
using fields::quote;
using json::Json;

// Byte classes as tables: the fast reader looks at every byte of a document.
using CharClass = std::array<bool, 256>;
constexpr CharClass char_class(std::string_view members) {
  CharClass table{};
  for (const char c : members) table[static_cast<unsigned char>(c)] = true;
  return table;
}
constexpr CharClass kBase64Chars =
    char_class("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=");
constexpr CharClass kIdChars = char_class("abcdefghijklmnopqrstuvwxyz0123456789-");

// Consumes `prefix`, then a string of `chars` up to the next '"', then that quote; the string
// goes to `out`. False (text partly consumed) if `rest` is not in that form.
bool take_string(std::string_view& rest, std::string_view prefix, const CharClass& chars,
                 std::string_view& out) {
  if (!rest.starts_with(prefix)) return false;
  rest.remove_prefix(prefix.size());
  std::size_t n = 0;
  while (n < rest.size() && chars[static_cast<unsigned char>(rest[n])]) ++n;
  if (n == rest.size() || rest[n] != '"') return false;
  out = rest.substr(0, n);
  rest.remove_prefix(n + 1);
  return true;
}

}  // namespace

Dsse sign_dsse(std::string_view domain, Bytes payload, const crypto::SigningKey& key,
               std::string_view signer) {
  Dsse dsse;
  dsse.sig = crypto::sign(key, domain, payload);
  dsse.payload = std::move(payload);
  dsse.key = std::string(signer);
  return dsse;
}

std::string encode_dsse(const Dsse& dsse) { return encode_dsse(dsse.payload, dsse.sig, dsse.key); }

std::string encode_dsse(ByteView payload, ByteView sig, std::string_view key) {
  // A key with a character to escape would make this text non-canonical JSON: only our own
  // documents are encoded, and they name a valid party.
  PARLEY_CHECK(is_valid_id(key));
  std::string out = "{\"key\":\"";
  out += key;
  out += "\",\"payload\":\"";
  out += base64_encode(payload);
  out += "\",\"sig\":\"";
  out += base64_encode(sig);
  out += "\"}";
  return out;
}

std::optional<DsseFields> split_canonical_dsse(std::string_view text) {
  DsseFields fields;
  std::string_view rest = text;
  if (!take_string(rest, "{\"key\":\"", kIdChars, fields.key) ||
      !take_string(rest, ",\"payload\":\"", kBase64Chars, fields.payload) ||
      !take_string(rest, ",\"sig\":\"", kBase64Chars, fields.sig) || rest != "}") {
    return std::nullopt;
  }
  return fields;
}

Result<Dsse> decode_dsse(const DsseFields& fields) {
  Dsse dsse;
  auto payload = base64_decode(fields.payload);
  if (!payload.is_ok()) return field_error("payload", payload.status().message());
  dsse.payload = std::move(*payload);
  auto sig = base64_decode(fields.sig);
  if (!sig.is_ok()) return field_error("sig", sig.status().message());
  if (sig->size() != dsse.sig.size()) {
    return field_error("sig", "expected " + std::to_string(dsse.sig.size()) + " bytes, got " +
                                  std::to_string(sig->size()));
  }
  std::copy(sig->begin(), sig->end(), dsse.sig.begin());
  PARLEY_RETURN_IF_ERROR(fields::check_id("key", fields.key));
  dsse.key = std::string(fields.key);
  return dsse;
}

Result<Dsse> parse_dsse_object(const Json& object) {
  if (!object.is_object()) return Status::invalid_argument("expected a JSON object");
  PARLEY_RETURN_IF_ERROR(json::check_keys(object, {"payload", "sig", "key"}));
  PARLEY_ASSIGN_OR_RETURN(const std::string payload, json::get_string(object, "payload"));
  PARLEY_ASSIGN_OR_RETURN(const std::string sig, json::get_string(object, "sig"));
  PARLEY_ASSIGN_OR_RETURN(const std::string key, json::get_string(object, "key"));
  return decode_dsse(DsseFields{key, payload, sig});
}

Result<Dsse> parse_dsse_json(std::string_view text) {
  PARLEY_ASSIGN_OR_RETURN(const Json object, json::parse_object(text));
  return parse_dsse_object(object);
}

Result<Dsse> parse_dsse(std::string_view text, std::size_t text_bytes_max) {
  if (text.size() > text_bytes_max) {
    return Status::invalid_argument("larger than " + std::to_string(text_bytes_max) + " bytes");
  }
  if (const auto fields = split_canonical_dsse(text)) return decode_dsse(*fields);
  return parse_dsse_json(text);
}

Status verify_dsse(const Dsse& dsse, std::string_view domain, const crypto::VerifyKey& signer,
                   const crypto::Facts* known) {
  return crypto::verify(signer, domain, dsse.payload, dsse.sig, known);
}

Result<Dsse> open_dsse(std::string_view text, std::string_view domain,
                       const crypto::VerifyKey& signer, std::string_view signer_party,
                       std::size_t text_bytes_max, const crypto::Facts* known) {
  PARLEY_ASSIGN_OR_RETURN(Dsse dsse, parse_dsse(text, text_bytes_max));
  if (dsse.key != signer_party) {
    return Status::unauthenticated("field 'key': signed by " + quote(dsse.key) + ", expected " +
                                   quote(signer_party));
  }
  PARLEY_RETURN_IF_ERROR(verify_dsse(dsse, domain, signer, known));
  return dsse;
}

}  // namespace parley::wire
