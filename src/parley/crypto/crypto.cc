#include "parley/crypto/crypto.h"

#include <sodium.h>

#include <algorithm>
#include <cstring>
#include <new>

namespace parley::crypto {
namespace {

static_assert(crypto_sign_PUBLICKEYBYTES == kSignPublicBytes);
static_assert(crypto_sign_SECRETKEYBYTES == kSignSecretBytes);
static_assert(crypto_sign_SEEDBYTES == 32);
static_assert(crypto_sign_BYTES == kSignatureBytes);
static_assert(crypto_scalarmult_BYTES == kBoxPublicBytes);
static_assert(crypto_scalarmult_SCALARBYTES == kBoxSecretBytes);
static_assert(crypto_aead_xchacha20poly1305_ietf_KEYBYTES == kSealKeyBytes);
static_assert(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES == kXNonceBytes);
static_assert(crypto_aead_xchacha20poly1305_ietf_ABYTES == kTagBytes);
static_assert(crypto_aead_chacha20poly1305_ietf_ABYTES == kTagBytes);
static_assert(crypto_aead_chacha20poly1305_ietf_KEYBYTES == 32);
static_assert(crypto_aead_chacha20poly1305_ietf_NPUBBYTES == 12);
static_assert(crypto_hash_sha256_BYTES == kSha256Bytes);
static_assert(crypto_generichash_KEYBYTES_MIN <= 32 && 32 <= crypto_generichash_KEYBYTES_MAX);

constexpr std::string_view kSealContext = "parley/seal/v1";

// libsodium is given a valid pointer even for empty inputs (a null pointer with a zero
// length may reach memcpy inside it, which is undefined behaviour).
const std::uint8_t kNothing = 0;
const std::uint8_t* ptr(ByteView b) { return b.empty() ? &kNothing : b.data(); }

// For the functions that cannot report an error: libsodium failing to start means the
// platform has no usable randomness, which nothing above can handle.
void ensure_init() { PARLEY_CHECK(init().is_ok()); }

enum class Aead { kXChaCha, kChaCha };

std::size_t nonce_bytes(Aead aead) {
  switch (aead) {
    case Aead::kXChaCha:
      return crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
    case Aead::kChaCha:
      return crypto_aead_chacha20poly1305_ietf_NPUBBYTES;
  }
  return 0;
}

std::string_view aead_name(Aead aead) {
  switch (aead) {
    case Aead::kXChaCha:
      return "XChaCha20-Poly1305";
    case Aead::kChaCha:
      return "ChaCha20-Poly1305";
  }
  return "AEAD";
}

Status check_key_nonce(Aead aead, ByteView key, ByteView nonce) {
  if (key.size() != 32) {
    return Status::invalid_argument(std::string(aead_name(aead)) + ": key must be 32 bytes, got " +
                                    std::to_string(key.size()));
  }
  if (nonce.size() != nonce_bytes(aead)) {
    return Status::invalid_argument(std::string(aead_name(aead)) + ": nonce must be " +
                                    std::to_string(nonce_bytes(aead)) + " bytes, got " +
                                    std::to_string(nonce.size()));
  }
  return Status::ok();
}

Result<Bytes> aead_encrypt(Aead aead, ByteView key, ByteView nonce, ByteView ad,
                           ByteView plaintext) {
  PARLEY_RETURN_IF_ERROR(init());
  PARLEY_RETURN_IF_ERROR(check_key_nonce(aead, key, nonce));
  Bytes out(plaintext.size() + kTagBytes);
  unsigned long long out_len = 0;
  int rc = -1;
  switch (aead) {
    case Aead::kXChaCha:
      rc = crypto_aead_xchacha20poly1305_ietf_encrypt(out.data(), &out_len, ptr(plaintext),
                                                      plaintext.size(), ptr(ad), ad.size(), nullptr,
                                                      nonce.data(), key.data());
      break;
    case Aead::kChaCha:
      rc = crypto_aead_chacha20poly1305_ietf_encrypt(out.data(), &out_len, ptr(plaintext),
                                                     plaintext.size(), ptr(ad), ad.size(), nullptr,
                                                     nonce.data(), key.data());
      break;
  }
  if (rc != 0) {
    return Status::invalid_argument(std::string(aead_name(aead)) + ": message too long");
  }
  out.resize(static_cast<std::size_t>(out_len));
  return out;
}

Result<Bytes> aead_decrypt(Aead aead, ByteView key, ByteView nonce, ByteView ad,
                           ByteView ciphertext) {
  PARLEY_RETURN_IF_ERROR(init());
  PARLEY_RETURN_IF_ERROR(check_key_nonce(aead, key, nonce));
  if (ciphertext.size() < kTagBytes) {
    return Status::invalid_argument(std::string(aead_name(aead)) +
                                    ": ciphertext shorter than its 16-byte tag");
  }
  // At least one byte so libsodium always gets a real output pointer.
  Bytes out(std::max<std::size_t>(ciphertext.size() - kTagBytes, 1));
  unsigned long long out_len = 0;
  int rc = -1;
  switch (aead) {
    case Aead::kXChaCha:
      rc = crypto_aead_xchacha20poly1305_ietf_decrypt(out.data(), &out_len, nullptr,
                                                      ciphertext.data(), ciphertext.size(), ptr(ad),
                                                      ad.size(), nonce.data(), key.data());
      break;
    case Aead::kChaCha:
      rc = crypto_aead_chacha20poly1305_ietf_decrypt(out.data(), &out_len, nullptr,
                                                     ciphertext.data(), ciphertext.size(), ptr(ad),
                                                     ad.size(), nonce.data(), key.data());
      break;
  }
  if (rc != 0) {
    sodium_memzero(out.data(), out.size());
    return Status::unauthenticated(std::string(aead_name(aead)) +
                                   ": ciphertext or associated data was tampered with");
  }
  out.resize(static_cast<std::size_t>(out_len));
  return out;
}

template <std::size_t N>
Result<std::array<std::uint8_t, N>> exact_bytes(ByteView bytes, std::string_view what) {
  if (bytes.size() != N) {
    return Status::invalid_argument(std::string(what) + " must be " + std::to_string(N) +
                                    " bytes, got " + std::to_string(bytes.size()));
  }
  std::array<std::uint8_t, N> out{};
  std::copy(bytes.begin(), bytes.end(), out.begin());
  return out;
}

crypto_hash_sha256_state* sha_state(std::array<std::uint8_t, 128>& storage) {
  return std::launder(reinterpret_cast<crypto_hash_sha256_state*>(storage.data()));
}

}  // namespace

Status init() {
  // sodium_init: 0 on first success, 1 if already initialized, -1 on failure. The static
  // makes every call after the first a load.
  static const int rc = sodium_init();
  if (rc < 0) return Status::internal("libsodium failed to initialize");
  return Status::ok();
}

void SystemRng::fill(std::span<std::uint8_t> out) {
  ensure_init();
  if (!out.empty()) randombytes_buf(out.data(), out.size());
}

Keys generate_keys(Rng& rng) {
  ensure_init();
  Keys keys;
  std::array<std::uint8_t, crypto_sign_SEEDBYTES> seed{};
  rng.fill(seed);
  PARLEY_CHECK(crypto_sign_seed_keypair(keys.verify.bytes.data(), keys.signing.bytes.data(),
                                        seed.data()) == 0);
  wipe(seed);
  rng.fill(keys.box_secret.bytes);
  keys.box_public = box_public_of(keys.box_secret);
  return keys;
}

VerifyKey verify_key_of(const SigningKey& key) {
  VerifyKey out;
  std::copy(key.bytes.begin() + 32, key.bytes.end(), out.bytes.begin());
  return out;
}

BoxPublicKey box_public_of(const BoxSecretKey& key) {
  ensure_init();
  BoxPublicKey out;
  // Fails only for a secret that clamps to zero, which clamping makes impossible.
  PARLEY_CHECK(crypto_scalarmult_base(out.bytes.data(), key.bytes.data()) == 0);
  return out;
}

Result<VerifyKey> verify_key_from_bytes(ByteView bytes) {
  PARLEY_ASSIGN_OR_RETURN(auto raw, exact_bytes<kSignPublicBytes>(bytes, "verify key"));
  return VerifyKey{raw};
}

Result<SigningKey> signing_key_from_bytes(ByteView bytes) {
  PARLEY_ASSIGN_OR_RETURN(auto raw, exact_bytes<kSignSecretBytes>(bytes, "signing key"));
  SigningKey key{raw};
  wipe(raw);
  return key;
}

Result<BoxPublicKey> box_public_from_bytes(ByteView bytes) {
  PARLEY_ASSIGN_OR_RETURN(auto raw, exact_bytes<kBoxPublicBytes>(bytes, "box public key"));
  return BoxPublicKey{raw};
}

Result<BoxSecretKey> box_secret_from_bytes(ByteView bytes) {
  PARLEY_ASSIGN_OR_RETURN(auto raw, exact_bytes<kBoxSecretBytes>(bytes, "box secret key"));
  BoxSecretKey key{raw};
  wipe(raw);
  return key;
}

std::array<std::uint8_t, kSignatureBytes> ed25519_sign(const SigningKey& key, ByteView message) {
  ensure_init();
  std::array<std::uint8_t, kSignatureBytes> sig{};
  PARLEY_CHECK(crypto_sign_detached(sig.data(), nullptr, ptr(message), message.size(),
                                    key.bytes.data()) == 0);
  return sig;
}

Status ed25519_verify(const VerifyKey& key, ByteView message, ByteView signature) {
  PARLEY_RETURN_IF_ERROR(init());
  if (signature.size() != kSignatureBytes) {
    return Status::unauthenticated("bad signature: must be 64 bytes, got " +
                                   std::to_string(signature.size()));
  }
  if (crypto_sign_verify_detached(signature.data(), ptr(message), message.size(),
                                  key.bytes.data()) != 0) {
    return Status::unauthenticated("bad signature");
  }
  return Status::ok();
}

Bytes pae(std::string_view domain, ByteView payload) {
  // DSSE v1 PAE: "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body, LEN in ASCII decimal.
  const std::string head = "DSSEv1 " + std::to_string(domain.size()) + " " + std::string(domain) +
                           " " + std::to_string(payload.size()) + " ";
  Bytes out;
  out.reserve(head.size() + payload.size());
  out.insert(out.end(), head.begin(), head.end());
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

std::array<std::uint8_t, kSignatureBytes> sign(const SigningKey& key, std::string_view domain,
                                               ByteView payload) {
  return ed25519_sign(key, pae(domain, payload));
}

Status verify(const VerifyKey& key, std::string_view domain, ByteView payload, ByteView signature) {
  if (signature.size() != kSignatureBytes) {
    return Status::unauthenticated("bad signature: must be 64 bytes, got " +
                                   std::to_string(signature.size()));
  }
  return ed25519_verify(key, pae(domain, payload), signature);
}

Result<std::array<std::uint8_t, 32>> x25519(const BoxSecretKey& secret, ByteView public_key) {
  PARLEY_RETURN_IF_ERROR(init());
  if (public_key.size() != kBoxPublicBytes) {
    return Status::invalid_argument("X25519 public key must be 32 bytes, got " +
                                    std::to_string(public_key.size()));
  }
  std::array<std::uint8_t, 32> shared{};
  // libsodium returns -1 exactly when the result is all zeros (RFC 7748 §6.1 check).
  if (crypto_scalarmult(shared.data(), secret.bytes.data(), public_key.data()) != 0 ||
      sodium_is_zero(shared.data(), shared.size()) != 0) {
    return Status::invalid_argument("X25519 public key is a low-order point");
  }
  return shared;
}

Result<SealKey> derive_seal_key(const BoxSecretKey& mine, const BoxPublicKey& my_public,
                                const BoxPublicKey& theirs, std::uint32_t epoch) {
  PARLEY_ASSIGN_OR_RETURN(auto shared, x25519(mine, theirs.bytes));
  const bool mine_first = std::lexicographical_compare(
      my_public.bytes.begin(), my_public.bytes.end(), theirs.bytes.begin(), theirs.bytes.end());
  const BoxPublicKey& low = mine_first ? my_public : theirs;
  const BoxPublicKey& high = mine_first ? theirs : my_public;
  const std::array<std::uint8_t, 4> epoch_be = {
      static_cast<std::uint8_t>(epoch >> 24), static_cast<std::uint8_t>(epoch >> 16),
      static_cast<std::uint8_t>(epoch >> 8), static_cast<std::uint8_t>(epoch)};

  crypto_generichash_state state;
  SealKey key;
  int rc = crypto_generichash_init(&state, shared.data(), shared.size(), key.bytes.size());
  rc |= crypto_generichash_update(&state, as_bytes(kSealContext).data(), kSealContext.size());
  rc |= crypto_generichash_update(&state, low.bytes.data(), low.bytes.size());
  rc |= crypto_generichash_update(&state, high.bytes.data(), high.bytes.size());
  rc |= crypto_generichash_update(&state, epoch_be.data(), epoch_be.size());
  rc |= crypto_generichash_final(&state, key.bytes.data(), key.bytes.size());
  wipe(shared);
  sodium_memzero(&state, sizeof state);
  if (rc != 0) return Status::internal("BLAKE2b failed deriving the seal key");
  return key;
}

Bytes seal(const SealKey& key, ByteView associated_data, ByteView plaintext, Rng& rng) {
  std::array<std::uint8_t, kXNonceBytes> nonce{};
  rng.fill(nonce);
  Result<Bytes> ct = aead_encrypt(Aead::kXChaCha, key.bytes, nonce, associated_data, plaintext);
  // Sizes are fixed here; only a message beyond libsodium's maximum (~256 GiB) fails.
  PARLEY_CHECK(ct.is_ok());
  // nonce || ciphertext, written into a buffer of the final size (GCC 12 at -O2 warns,
  // wrongly, of an overflow in vector::insert after reserve).
  Bytes out(nonce.size() + ct->size());
  std::memcpy(out.data(), nonce.data(), nonce.size());
  std::memcpy(out.data() + nonce.size(), ct->data(), ct->size());
  return out;
}

Result<Bytes> open(const SealKey& key, ByteView associated_data, ByteView sealed) {
  if (sealed.size() < kXNonceBytes + kTagBytes) {
    return Status::invalid_argument("sealed data too short: " + std::to_string(sealed.size()) +
                                    " bytes, need at least " +
                                    std::to_string(kXNonceBytes + kTagBytes));
  }
  return aead_decrypt(Aead::kXChaCha, key.bytes, sealed.first(kXNonceBytes), associated_data,
                      sealed.subspan(kXNonceBytes));
}

Result<Bytes> xchacha20poly1305_encrypt(ByteView key, ByteView nonce, ByteView ad,
                                        ByteView plaintext) {
  return aead_encrypt(Aead::kXChaCha, key, nonce, ad, plaintext);
}

Result<Bytes> xchacha20poly1305_decrypt(ByteView key, ByteView nonce, ByteView ad,
                                        ByteView ciphertext) {
  return aead_decrypt(Aead::kXChaCha, key, nonce, ad, ciphertext);
}

Result<Bytes> chacha20poly1305_encrypt(ByteView key, ByteView nonce, ByteView ad,
                                       ByteView plaintext) {
  return aead_encrypt(Aead::kChaCha, key, nonce, ad, plaintext);
}

Result<Bytes> chacha20poly1305_decrypt(ByteView key, ByteView nonce, ByteView ad,
                                       ByteView ciphertext) {
  return aead_decrypt(Aead::kChaCha, key, nonce, ad, ciphertext);
}

Digest sha256(ByteView data) {
  Sha256 h;
  h.update(data);
  return h.finish();
}

Sha256::Sha256() {
  static_assert(sizeof(crypto_hash_sha256_state) <= sizeof(state_));
  static_assert(alignof(crypto_hash_sha256_state) <= 64);
  ensure_init();
  ::new (static_cast<void*>(state_.data())) crypto_hash_sha256_state;
  PARLEY_CHECK(crypto_hash_sha256_init(sha_state(state_)) == 0);
}

void Sha256::update(ByteView data) {
  if (data.empty()) return;
  PARLEY_CHECK(crypto_hash_sha256_update(sha_state(state_), data.data(), data.size()) == 0);
}

Digest Sha256::finish() {
  Digest out{};
  PARLEY_CHECK(crypto_hash_sha256_final(sha_state(state_), out.data()) == 0);
  return out;
}

void wipe(std::span<std::uint8_t> secret) {
  if (!secret.empty()) sodium_memzero(secret.data(), secret.size());
}

}  // namespace parley::crypto
