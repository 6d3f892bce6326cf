// Fixed keys shared by the fuzz targets and by make_corpus.cc, so that the committed seed
// envelopes and receipts verify in the targets and the fuzzer starts from valid inputs.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "parley/base/bytes.h"
#include "parley/base/json.h"
#include "parley/base/rng.h"
#include "parley/crypto/crypto.h"

namespace parley::fuzz {

inline constexpr std::string_view kSender = "us-eucom";       // signs envelopes
inline constexpr std::string_view kReceiver = "ru-genstaff";  // signs receipts

struct Fixture {
  crypto::Keys sender;
  crypto::Keys receiver;
  crypto::SealKey seal_key;

  Fixture() {
    SeededRng rng(20261124);
    sender = crypto::generate_keys(rng);
    receiver = crypto::generate_keys(rng);
    rng.fill(seal_key.bytes);
  }
};

inline const Fixture& fixture() {
  static const Fixture f;
  return f;
}

inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// DSSE JSON around `payload`, signed by `key` in `domain`: lets a target reach the payload
// parser behind the signature check with arbitrary payload bytes.
inline std::string sign_as_payload(std::string_view payload, std::string_view domain,
                                   const crypto::SigningKey& key, std::string_view party) {
  json::Json out = json::Json::object();
  out["payload"] = base64_encode(as_bytes(payload));
  out["sig"] = base64_encode(crypto::sign(key, domain, as_bytes(payload)));
  out["key"] = std::string(party);
  return json::dump(out);
}

// A broken invariant is a finding: crash so that libFuzzer saves the input.
inline void require(bool condition) {
  if (!condition) std::abort();
}

}  // namespace parley::fuzz
