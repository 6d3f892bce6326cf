#include "parley/wire/rotation.h"

#include <algorithm>
#include <limits>

#include "parley/base/check.h"
#include "parley/base/json.h"
#include "parley/base/rng.h"
#include "parley/wire/fields.h"
#include "parley/wire/wire.h"

namespace parley::wire {
namespace {

using fields::field_error;
using fields::get_base64;
using fields::get_id;
using fields::get_time;
using fields::get_uuid;
using json::Json;

Json encode_rotation_payload(const Rotation& r) {
  Json out = Json::object();
  out["v"] = 1;
  out["id"] = r.id;
  out["party"] = r.party;
  out["n"] = r.n;
  out["old_sign_key"] = base64_encode(r.old_sign_key.bytes);
  out["new_sign_key"] = base64_encode(r.new_sign_key.bytes);
  out["new_tls_fingerprint"] = r.new_tls_fingerprint;
  out["epoch"] = r.epoch;
  out["created"] = format_time(r.created);
  out["possession"] = base64_encode(r.possession);
  return out;
}

Result<crypto::VerifyKey> get_sign_key(const Json& object, std::string_view field) {
  PARLEY_ASSIGN_OR_RETURN(const Bytes bytes, get_base64(object, field));
  auto key = crypto::verify_key_from_bytes(bytes);
  if (!key.is_ok()) {
    return field_error(field, "expected " + std::to_string(crypto::kSignPublicBytes) +
                                  " bytes, got " + std::to_string(bytes.size()));
  }
  return key;
}

Result<Rotation> parse_fields(ByteView payload) {
  if (payload.size() > kRotationBytesMax) {
    return Status::invalid_argument("larger than " + std::to_string(kRotationBytesMax) + " bytes");
  }
  PARLEY_ASSIGN_OR_RETURN(const Json object,
                          json::parse_object(std::string_view(
                              reinterpret_cast<const char*>(payload.data()), payload.size())));
  PARLEY_RETURN_IF_ERROR(
      json::check_keys(object, {"v", "id", "party", "n", "old_sign_key", "new_sign_key",
                                "new_tls_fingerprint", "epoch", "created", "possession"}));
  PARLEY_RETURN_IF_ERROR(fields::check_version(object));
  Rotation r;
  PARLEY_ASSIGN_OR_RETURN(r.id, get_uuid(object, "id"));
  PARLEY_ASSIGN_OR_RETURN(r.party, get_id(object, "party"));
  PARLEY_ASSIGN_OR_RETURN(r.n, json::get_uint(object, "n"));
  if (r.n < 1) return field_error("n", "must be at least 1");
  PARLEY_ASSIGN_OR_RETURN(r.old_sign_key, get_sign_key(object, "old_sign_key"));
  PARLEY_ASSIGN_OR_RETURN(r.new_sign_key, get_sign_key(object, "new_sign_key"));
  if (r.new_sign_key == r.old_sign_key) {
    return field_error("new_sign_key", "equals old_sign_key (a rotation changes the key)");
  }
  PARLEY_ASSIGN_OR_RETURN(r.new_tls_fingerprint, json::get_string(object, "new_tls_fingerprint"));
  if (r.new_tls_fingerprint.size() != 2 * crypto::kSha256Bytes ||
      !fields::is_lower_hex(r.new_tls_fingerprint)) {
    return field_error("new_tls_fingerprint", "expected 64 lowercase hex digits");
  }
  PARLEY_ASSIGN_OR_RETURN(const std::uint64_t epoch, json::get_uint(object, "epoch"));
  if (epoch < 2 || epoch > std::numeric_limits<std::uint32_t>::max()) {
    return field_error("epoch",
                       "must be 2 to 4294967295 (the first epoch is 1, before any rotation)");
  }
  r.epoch = static_cast<std::uint32_t>(epoch);
  PARLEY_ASSIGN_OR_RETURN(r.created, get_time(object, "created"));
  PARLEY_ASSIGN_OR_RETURN(const Bytes possession, get_base64(object, "possession"));
  if (possession.size() != crypto::kSignatureBytes) {
    return field_error("possession", "expected " + std::to_string(crypto::kSignatureBytes) +
                                         " bytes, got " + std::to_string(possession.size()));
  }
  std::copy(possession.begin(), possession.end(), r.possession.begin());
  return r;
}

}  // namespace

std::string possession_message(const Rotation& r) {
  return r.party + "\n" + std::to_string(r.n) + "\n" + base64_encode(r.old_sign_key.bytes) + "\n" +
         base64_encode(r.new_sign_key.bytes) + "\n" + std::to_string(r.epoch);
}

std::string sign_rotation(const Rotation& rotation, const crypto::SigningKey& old_key,
                          const crypto::SigningKey& new_key) {
  PARLEY_CHECK(crypto::verify_key_of(old_key) == rotation.old_sign_key);
  PARLEY_CHECK(crypto::verify_key_of(new_key) == rotation.new_sign_key);
  PARLEY_CHECK(is_uuid(rotation.id) && is_valid_id(rotation.party) && rotation.n >= 1 &&
               rotation.epoch >= 2 && rotation.new_sign_key != rotation.old_sign_key);
  Rotation r = rotation;
  r.possession = crypto::sign(new_key, kPossessionDomain, as_bytes(possession_message(r)));
  const std::string payload = json::dump(encode_rotation_payload(r));
  return encode_dsse(sign_dsse(kRotationDomain, to_bytes(payload), old_key, r.party));
}

Result<Rotation> parse_rotation_payload(ByteView payload) {
  auto parsed = parse_fields(payload);
  if (!parsed.is_ok()) return parsed.status().with_context("rotation");
  return parsed;
}

Result<Rotation> open_rotation(std::string_view text, const crypto::VerifyKey& key_in_force,
                               std::string_view party) {
  auto dsse = open_dsse(text, kRotationDomain, key_in_force, party, kRotationBytesMax);
  if (!dsse.is_ok()) return dsse.status().with_context("rotation");
  PARLEY_ASSIGN_OR_RETURN(Rotation r, parse_rotation_payload(dsse->payload));
  if (r.party != party) {
    return Status::invalid_argument("rotation: field 'party': " + fields::quote(r.party) +
                                    ", but signed by " + fields::quote(party));
  }
  if (r.old_sign_key != key_in_force) {
    return Status::unauthenticated(
        "rotation: field 'old_sign_key': not the key that signed it (a statement is signed by "
        "the key it replaces)");
  }
  if (!crypto::verify(r.new_sign_key, kPossessionDomain, as_bytes(possession_message(r)),
                      r.possession)
           .is_ok()) {
    return Status::unauthenticated("rotation: the new key's possession signature does not verify");
  }
  return r;
}

}  // namespace parley::wire
