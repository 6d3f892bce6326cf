// Signed heartbeats (docs/protocol.md "Heartbeats and paths"; issue 12: "Heartbeats carry the
// sender's signature and time, and the answer the peer's, so a path's liveness is evidence
// too").
//
// A heartbeat is `POST /federation/v1/heartbeat` with the body
//   {"payload": "<JSON text>", "signature": "<base64 Ed25519>"}
// where the payload is {"v": 1, "from": PARTY, "to": PARTY, "path": "HOST:PORT", "time":
// RFC 3339, "nonce": 32 hex} and the signature is the sender's signing key over
// crypto::pae("parley/heartbeat", payload). The answer has the same form, domain
// "parley/heartbeat-answer", payload {"v": 1, "from", "to", "time", "request": SHA-256 hex of
// the request's payload bytes, "catalog": {TYPE: VERSION, ...}}: signed by the answering
// party, bound to the one request it answers, so a kept answer shows that the peer's gateway
// was up and holding its key at its `time`, after the request was made. The payload is kept
// as the exact signed text (nothing is re-serialized), as for envelopes.
#pragma once

#include <string>
#include <string_view>

#include "parley/base/json.h"
#include "parley/base/rng.h"
#include "parley/base/status.h"
#include "parley/base/time.h"
#include "parley/crypto/crypto.h"

namespace parley::wire {

inline constexpr std::string_view kHeartbeatDomain = "parley/heartbeat";
inline constexpr std::string_view kHeartbeatAnswerDomain = "parley/heartbeat-answer";
// A heartbeat's body and its answer's are at most this long (the answer's catalog is the
// largest part: at most 4096 types).
inline constexpr std::size_t kHeartbeatBytesMax = 256 * 1024;

// A signed payload as it travels: the exact signed text and the signature over it.
struct SignedHeartbeat {
  std::string payload;
  std::string signature;  // base64
};

struct Heartbeat {
  std::string from;
  std::string to;
  std::string path;   // the address the sender sent it to
  Time time{};        // the sender's clock
  std::string nonce;  // 32 lowercase hex digits
};

struct HeartbeatAnswer {
  std::string from;
  std::string to;
  Time time{};          // the answering party's clock
  std::string request;  // SHA-256 (lowercase hex) of the request's payload bytes
  json::Json catalog = json::Json::object();
};

// A heartbeat from `from` to `to`, sent to `path` at `now`, with a fresh nonce from `rng`.
Heartbeat make_heartbeat(std::string from, std::string to, std::string path, Time now, Rng& rng);

// A heartbeat (or an answer) signed with `key`: the payload as signed, and its signature.
SignedHeartbeat sign_heartbeat(const Heartbeat& beat, const crypto::SigningKey& key);
SignedHeartbeat sign_heartbeat_answer(const HeartbeatAnswer& answer, const crypto::SigningKey& key);
// The body that carries `s`: {"payload", "signature"}.
std::string encode_signed_heartbeat(const SignedHeartbeat& s);

// Reads a body: {"payload", "signature"}, nothing else, within kHeartbeatBytesMax.
// kInvalidArgument saying what is wrong.
Result<SignedHeartbeat> parse_signed_heartbeat(std::string_view body);

// The heartbeat in `signed_beat`, if `key` signed it, it is from `from` and to `to`;
// kUnauthenticated for a bad signature, kInvalidArgument for a payload that is not a
// heartbeat's or names other parties.
Result<Heartbeat> open_heartbeat(const SignedHeartbeat& signed_beat, const crypto::VerifyKey& key,
                                 std::string_view from, std::string_view to);
// The answer in `signed_answer`, if `key` signed it, it is from `from` to `to` and answers the
// request whose payload was `request_payload`; errors as open_heartbeat's.
Result<HeartbeatAnswer> open_heartbeat_answer(const SignedHeartbeat& signed_answer,
                                              const crypto::VerifyKey& key, std::string_view from,
                                              std::string_view to,
                                              std::string_view request_payload);

// SHA-256 of `payload`, lowercase hex: what an answer's `request` holds.
std::string heartbeat_digest(std::string_view payload);

}  // namespace parley::wire
