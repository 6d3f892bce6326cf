// Rng: the one source of randomness the pure layers may use, injected.
//
// The gateway injects crypto::SystemRng (libsodium's CSPRNG); tests and sim/ inject
// a SeededRng so that a run reproduces exactly from its seed.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "parley/base/time.h"

namespace parley {

class Rng {
 public:
  virtual ~Rng() = default;
  virtual void fill(std::span<std::uint8_t> out) = 0;
  std::uint64_t next_u64();
};

// Deterministic (xoshiro256**, seeded through splitmix64). Not for keys in production.
class SeededRng final : public Rng {
 public:
  explicit SeededRng(std::uint64_t seed);
  void fill(std::span<std::uint8_t> out) override;

 private:
  std::uint64_t next();
  std::uint64_t s_[4];
};

// A UUIDv7 (RFC 9562 §5.7): 48 bits of Unix milliseconds, then random bits.
std::string uuid_v7(Time now, Rng& rng);
// True if `text` is a canonical lowercase UUID (8-4-4-4-12 hex digits).
bool is_uuid(std::string_view text);

}  // namespace parley
