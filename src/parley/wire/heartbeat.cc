#include "parley/wire/heartbeat.h"

#include <array>
#include <cstdint>

#include "parley/base/bytes.h"

namespace parley::wire {

namespace {

constexpr std::size_t kNonceHexDigits = 32;

bool is_lower_hex(std::string_view s, std::size_t length) {
  if (s.size() != length) return false;
  for (const char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

SignedHeartbeat sign_payload(const json::Json& payload, std::string_view domain,
                             const crypto::SigningKey& key) {
  std::string text = json::dump(payload);
  const auto signature = crypto::sign(key, domain, as_bytes(text));
  return SignedHeartbeat{std::move(text), base64_encode(signature)};
}

// The payload's JSON if `key` signed it under `domain`, with v 1 and the expected parties.
Result<json::Json> verified_payload(const SignedHeartbeat& s, std::string_view domain,
                                    const crypto::VerifyKey& key, std::string_view from,
                                    std::string_view to) {
  PARLEY_ASSIGN_OR_RETURN(const Bytes signature, base64_decode(s.signature));
  PARLEY_RETURN_IF_ERROR(crypto::verify(key, domain, as_bytes(s.payload), signature));
  PARLEY_ASSIGN_OR_RETURN(json::Json payload, json::parse_object(s.payload));
  PARLEY_ASSIGN_OR_RETURN(const std::uint64_t v, json::get_uint(payload, "v"));
  if (v != 1) return Status::invalid_argument("unknown heartbeat version " + std::to_string(v));
  PARLEY_ASSIGN_OR_RETURN(const std::string got_from, json::get_string(payload, "from"));
  PARLEY_ASSIGN_OR_RETURN(const std::string got_to, json::get_string(payload, "to"));
  if (got_from != from || got_to != to) {
    return Status::invalid_argument("signed from '" + got_from + "' to '" + got_to +
                                    "', not from '" + std::string(from) + "' to '" +
                                    std::string(to) + "'");
  }
  return payload;
}

Result<Time> time_field(const json::Json& payload) {
  PARLEY_ASSIGN_OR_RETURN(const std::string text, json::get_string(payload, "time"));
  return parse_time(text);
}

}  // namespace

Heartbeat make_heartbeat(std::string from, std::string to, std::string path, Time now, Rng& rng) {
  std::array<std::uint8_t, kNonceHexDigits / 2> nonce{};
  rng.fill(nonce);
  return Heartbeat{std::move(from), std::move(to), std::move(path), now, hex_encode(nonce)};
}

std::string encode_signed_heartbeat(const SignedHeartbeat& s) {
  return json::dump(json::Json{{"payload", s.payload}, {"signature", s.signature}});
}

SignedHeartbeat sign_heartbeat(const Heartbeat& beat, const crypto::SigningKey& key) {
  return sign_payload({{"v", 1},
                       {"from", beat.from},
                       {"to", beat.to},
                       {"path", beat.path},
                       {"time", format_time(beat.time)},
                       {"nonce", beat.nonce}},
                      kHeartbeatDomain, key);
}

SignedHeartbeat sign_heartbeat_answer(const HeartbeatAnswer& answer,
                                      const crypto::SigningKey& key) {
  return sign_payload({{"v", 1},
                       {"from", answer.from},
                       {"to", answer.to},
                       {"time", format_time(answer.time)},
                       {"request", answer.request},
                       {"catalog", answer.catalog}},
                      kHeartbeatAnswerDomain, key);
}

Result<SignedHeartbeat> parse_signed_heartbeat(std::string_view body) {
  if (body.size() > kHeartbeatBytesMax) {
    return Status::invalid_argument("a heartbeat of " + std::to_string(body.size()) +
                                    " bytes (at most " + std::to_string(kHeartbeatBytesMax) + ")");
  }
  PARLEY_ASSIGN_OR_RETURN(const json::Json object, json::parse_object(body));
  PARLEY_RETURN_IF_ERROR(json::check_keys(object, {"payload", "signature"}));
  SignedHeartbeat out;
  PARLEY_ASSIGN_OR_RETURN(out.payload, json::get_string(object, "payload"));
  PARLEY_ASSIGN_OR_RETURN(out.signature, json::get_string(object, "signature"));
  return out;
}

Result<Heartbeat> open_heartbeat(const SignedHeartbeat& signed_beat, const crypto::VerifyKey& key,
                                 std::string_view from, std::string_view to) {
  PARLEY_ASSIGN_OR_RETURN(const json::Json payload,
                          verified_payload(signed_beat, kHeartbeatDomain, key, from, to));
  PARLEY_RETURN_IF_ERROR(json::check_keys(payload, {"v", "from", "to", "path", "time", "nonce"}));
  Heartbeat beat;
  beat.from = std::string(from);
  beat.to = std::string(to);
  PARLEY_ASSIGN_OR_RETURN(beat.path, json::get_string(payload, "path"));
  PARLEY_ASSIGN_OR_RETURN(beat.time, time_field(payload));
  PARLEY_ASSIGN_OR_RETURN(beat.nonce, json::get_string(payload, "nonce"));
  if (!is_lower_hex(beat.nonce, kNonceHexDigits)) {
    return Status::invalid_argument("a heartbeat's nonce is 32 lowercase hex digits");
  }
  return beat;
}

Result<HeartbeatAnswer> open_heartbeat_answer(const SignedHeartbeat& signed_answer,
                                              const crypto::VerifyKey& key, std::string_view from,
                                              std::string_view to,
                                              std::string_view request_payload) {
  PARLEY_ASSIGN_OR_RETURN(const json::Json payload,
                          verified_payload(signed_answer, kHeartbeatAnswerDomain, key, from, to));
  PARLEY_RETURN_IF_ERROR(
      json::check_keys(payload, {"v", "from", "to", "time", "request", "catalog"}));
  HeartbeatAnswer answer;
  answer.from = std::string(from);
  answer.to = std::string(to);
  PARLEY_ASSIGN_OR_RETURN(answer.time, time_field(payload));
  PARLEY_ASSIGN_OR_RETURN(answer.request, json::get_string(payload, "request"));
  if (answer.request != heartbeat_digest(request_payload)) {
    return Status::invalid_argument("the answer is to another heartbeat (request digest " +
                                    answer.request + ")");
  }
  PARLEY_ASSIGN_OR_RETURN(answer.catalog, json::get_object(payload, "catalog"));
  return answer;
}

std::string heartbeat_digest(std::string_view payload) {
  return hex_encode(crypto::sha256(as_bytes(payload)));
}

}  // namespace parley::wire
