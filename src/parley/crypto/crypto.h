// crypto: parley's only door to libsodium.
//
// Party keys (Ed25519 for signatures, X25519 for key agreement), DSSE-style signatures
// with a domain separation string, per-peer sealing keys with XChaCha20-Poly1305, and
// SHA-256. Everything here is pure (no files, no clock): key files are written by the
// gateway and CLI layers. sodium.h is included only by crypto's .cc files.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "parley/base/bytes.h"
#include "parley/base/rng.h"
#include "parley/base/status.h"

namespace parley::crypto {

inline constexpr std::size_t kSignPublicBytes = 32;
inline constexpr std::size_t kSignSecretBytes = 64;  // libsodium's seed || public key
inline constexpr std::size_t kSignatureBytes = 64;
inline constexpr std::size_t kBoxPublicBytes = 32;
inline constexpr std::size_t kBoxSecretBytes = 32;
inline constexpr std::size_t kSealKeyBytes = 32;
inline constexpr std::size_t kXNonceBytes = 24;  // XChaCha20-Poly1305
inline constexpr std::size_t kTagBytes = 16;
inline constexpr std::size_t kSha256Bytes = 32;

using Digest = std::array<std::uint8_t, kSha256Bytes>;

struct VerifyKey {
  std::array<std::uint8_t, kSignPublicBytes> bytes{};
  friend bool operator==(const VerifyKey&, const VerifyKey&) = default;
};
struct SigningKey {  // secret
  std::array<std::uint8_t, kSignSecretBytes> bytes{};
};
struct BoxPublicKey {
  std::array<std::uint8_t, kBoxPublicBytes> bytes{};
  friend bool operator==(const BoxPublicKey&, const BoxPublicKey&) = default;
};
struct BoxSecretKey {  // secret
  std::array<std::uint8_t, kBoxSecretBytes> bytes{};
};
struct SealKey {  // secret: the symmetric key two parties agreed for one epoch
  std::array<std::uint8_t, kSealKeyBytes> bytes{};
};

// One party's key material.
struct Keys {
  SigningKey signing;
  VerifyKey verify;
  BoxSecretKey box_secret;
  BoxPublicKey box_public;
};

// Initializes libsodium. Safe to call many times, from any thread; every other
// function here calls it. kInternal if libsodium cannot start.
Status init();

// The process CSPRNG (libsodium randombytes). Thread-safe.
class SystemRng final : public Rng {
 public:
  void fill(std::span<std::uint8_t> out) override;
};

// Fresh keys from `rng` (production: SystemRng; tests: SeededRng for reproducibility).
Keys generate_keys(Rng& rng);
// The public half of a signing key (the last 32 bytes of libsodium's secret key).
VerifyKey verify_key_of(const SigningKey& key);
BoxPublicKey box_public_of(const BoxSecretKey& key);

// Key (de)serialization: raw bytes of exactly the right length, else kInvalidArgument.
Result<VerifyKey> verify_key_from_bytes(ByteView bytes);
Result<SigningKey> signing_key_from_bytes(ByteView bytes);
Result<BoxPublicKey> box_public_from_bytes(ByteView bytes);
Result<BoxSecretKey> box_secret_from_bytes(ByteView bytes);

// Raw Ed25519 (RFC 8032) over `message`; used by the Wycheproof tests.
std::array<std::uint8_t, kSignatureBytes> ed25519_sign(const SigningKey& key, ByteView message);
// kUnauthenticated if the signature does not verify (including a malformed one).
Status ed25519_verify(const VerifyKey& key, ByteView message, ByteView signature);

// DSSE pre-authentication encoding: "DSSEv1 <len(domain)> <domain> <len(payload)> <payload>".
Bytes pae(std::string_view domain, ByteView payload);
// Ed25519 over pae(domain, payload): a signature for one domain never verifies in another.
std::array<std::uint8_t, kSignatureBytes> sign(const SigningKey& key, std::string_view domain,
                                               ByteView payload);
// kUnauthenticated "bad signature" if it does not verify.
Status verify(const VerifyKey& key, std::string_view domain, ByteView payload, ByteView signature);

// Raw X25519 (RFC 7748). kInvalidArgument if the result is all zeros (a low-order point).
Result<std::array<std::uint8_t, 32>> x25519(const BoxSecretKey& secret, ByteView public_key);

// The seal key two parties share for `epoch`: X25519(mine, theirs), then BLAKE2b keyed by
// that secret over a context binding both public keys (in a canonical order) and the epoch.
// Both sides derive the same key. kInvalidArgument if their key is a low-order point.
Result<SealKey> derive_seal_key(const BoxSecretKey& mine, const BoxPublicKey& my_public,
                                const BoxPublicKey& theirs, std::uint32_t epoch);

// XChaCha20-Poly1305 (IETF AEAD). The output of seal is nonce || ciphertext || tag, with a
// nonce drawn from `rng`. open returns kUnauthenticated if anything was tampered with, or
// kInvalidArgument if `sealed` is too short.
Bytes seal(const SealKey& key, ByteView associated_data, ByteView plaintext, Rng& rng);
Result<Bytes> open(const SealKey& key, ByteView associated_data, ByteView sealed);

// The AEAD primitives with explicit nonces, for the Wycheproof vectors. Any key or nonce of
// the wrong size is kInvalidArgument; a failed tag check is kUnauthenticated. `ciphertext`
// includes the 16-byte tag at its end.
Result<Bytes> xchacha20poly1305_encrypt(ByteView key, ByteView nonce, ByteView ad,
                                        ByteView plaintext);
Result<Bytes> xchacha20poly1305_decrypt(ByteView key, ByteView nonce, ByteView ad,
                                        ByteView ciphertext);
Result<Bytes> chacha20poly1305_encrypt(ByteView key, ByteView nonce, ByteView ad,
                                       ByteView plaintext);
Result<Bytes> chacha20poly1305_decrypt(ByteView key, ByteView nonce, ByteView ad,
                                       ByteView ciphertext);

Digest sha256(ByteView data);

// Incremental SHA-256.
class Sha256 {
 public:
  Sha256();
  void update(ByteView data);
  Digest finish();

 private:
  alignas(64) std::array<std::uint8_t, 128> state_{};  // crypto_hash_sha256_state fits
};

// Wipes secret bytes in a way the compiler cannot elide.
void wipe(std::span<std::uint8_t> secret);

}  // namespace parley::crypto
