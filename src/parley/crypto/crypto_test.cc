#include "parley/crypto/crypto.h"

#include <string>

#include <gtest/gtest.h>

#include "parley/base/bytes.h"
#include "parley/base/rng.h"

namespace parley::crypto {
namespace {

constexpr std::string_view kDomain = "application/vnd.parley.envelope+json";

Bytes sig_bytes(const std::array<std::uint8_t, kSignatureBytes>& sig) {
  return Bytes(sig.begin(), sig.end());
}

TEST(CryptoTest, InitCanBeCalledRepeatedly) {
  EXPECT_TRUE(init().is_ok());
  EXPECT_TRUE(init().is_ok());
}

TEST(CryptoTest, GenerateKeysIsReproducibleFromTheSameSeed) {
  SeededRng a(42);
  SeededRng b(42);
  SeededRng c(43);
  const Keys ka = generate_keys(a);
  const Keys kb = generate_keys(b);
  const Keys kc = generate_keys(c);
  EXPECT_EQ(ka.verify, kb.verify);
  EXPECT_EQ(ka.box_public, kb.box_public);
  EXPECT_EQ(ka.signing.bytes, kb.signing.bytes);
  EXPECT_EQ(ka.box_secret.bytes, kb.box_secret.bytes);
  EXPECT_NE(ka.verify, kc.verify);
  EXPECT_NE(ka.box_public, kc.box_public);
}

TEST(CryptoTest, PublicHalvesAreDerivedFromTheSecrets) {
  SeededRng rng(1);
  const Keys k = generate_keys(rng);
  EXPECT_EQ(verify_key_of(k.signing), k.verify);
  EXPECT_EQ(box_public_of(k.box_secret), k.box_public);
  EXPECT_NE(k.verify.bytes, (std::array<std::uint8_t, 32>{}));
}

TEST(CryptoTest, SystemRngKeysDiffer) {
  SystemRng rng;
  const Keys a = generate_keys(rng);
  const Keys b = generate_keys(rng);
  EXPECT_NE(a.verify, b.verify);
  EXPECT_NE(a.box_public, b.box_public);
}

TEST(CryptoTest, KeysFromBytesCheckTheLength) {
  SeededRng rng(2);
  const Keys k = generate_keys(rng);
  auto vk = verify_key_from_bytes(k.verify.bytes);
  ASSERT_TRUE(vk.is_ok());
  EXPECT_EQ(*vk, k.verify);
  auto sk = signing_key_from_bytes(k.signing.bytes);
  ASSERT_TRUE(sk.is_ok());
  EXPECT_EQ(sk->bytes, k.signing.bytes);
  auto bp = box_public_from_bytes(k.box_public.bytes);
  ASSERT_TRUE(bp.is_ok());
  EXPECT_EQ(*bp, k.box_public);
  auto bs = box_secret_from_bytes(k.box_secret.bytes);
  ASSERT_TRUE(bs.is_ok());
  EXPECT_EQ(bs->bytes, k.box_secret.bytes);

  const Bytes short_key(31, 1);
  const Bytes long_key(65, 1);
  EXPECT_EQ(verify_key_from_bytes(short_key).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(signing_key_from_bytes(short_key).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(signing_key_from_bytes(long_key).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(box_public_from_bytes(long_key).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(box_secret_from_bytes(Bytes{}).status().code(), StatusCode::kInvalidArgument);
}

TEST(CryptoTest, PaeFollowsTheDsseEncoding) {
  EXPECT_EQ(to_string(pae("t", as_bytes("hello"))), "DSSEv1 1 t 5 hello");
  EXPECT_EQ(to_string(pae("", {})), "DSSEv1 0  0 ");
  EXPECT_EQ(to_string(pae("application/example", as_bytes("hello world"))),
            "DSSEv1 19 application/example 11 hello world");
}

TEST(CryptoTest, SignatureVerifies) {
  SeededRng rng(3);
  const Keys k = generate_keys(rng);
  const auto sig = sign(k.signing, kDomain, as_bytes("payload"));
  EXPECT_TRUE(verify(k.verify, kDomain, as_bytes("payload"), sig).is_ok());
}

TEST(CryptoTest, SignatureOfEmptyPayloadVerifies) {
  SeededRng rng(3);
  const Keys k = generate_keys(rng);
  const auto sig = sign(k.signing, kDomain, {});
  EXPECT_TRUE(verify(k.verify, kDomain, {}, sig).is_ok());
  const auto raw = ed25519_sign(k.signing, {});
  EXPECT_TRUE(ed25519_verify(k.verify, {}, raw).is_ok());
}

TEST(CryptoTest, SignatureForOneDomainFailsInAnother) {
  SeededRng rng(4);
  const Keys k = generate_keys(rng);
  const auto sig = sign(k.signing, "parley/receipt", as_bytes("payload"));
  const Status s = verify(k.verify, "parley/envelope", as_bytes("payload"), sig);
  EXPECT_EQ(s.code(), StatusCode::kUnauthenticated);
  // Nor does the domain signature verify as a raw signature over the payload.
  EXPECT_FALSE(ed25519_verify(k.verify, as_bytes("payload"), sig).is_ok());
}

TEST(CryptoTest, SignatureByAnotherKeyFails) {
  SeededRng rng(5);
  const Keys a = generate_keys(rng);
  const Keys b = generate_keys(rng);
  const auto sig = sign(a.signing, kDomain, as_bytes("payload"));
  EXPECT_EQ(verify(b.verify, kDomain, as_bytes("payload"), sig).code(),
            StatusCode::kUnauthenticated);
}

TEST(CryptoTest, EveryFlippedPayloadByteFailsVerification) {
  SeededRng rng(6);
  const Keys k = generate_keys(rng);
  const Bytes payload = to_bytes("{\"type\":\"notify.missile-launch\"}");
  const auto sig = sign(k.signing, kDomain, payload);
  for (std::size_t i = 0; i < payload.size(); ++i) {
    Bytes bad = payload;
    bad[i] ^= 0x01;
    EXPECT_EQ(verify(k.verify, kDomain, bad, sig).code(), StatusCode::kUnauthenticated) << i;
  }
}

TEST(CryptoTest, EveryFlippedSignatureByteFailsVerification) {
  SeededRng rng(7);
  const Keys k = generate_keys(rng);
  const Bytes payload = to_bytes("hello");
  const Bytes sig = sig_bytes(sign(k.signing, kDomain, payload));
  for (std::size_t i = 0; i < sig.size(); ++i) {
    for (const std::uint8_t bit : {0x01, 0x80}) {
      Bytes bad = sig;
      bad[i] ^= bit;
      EXPECT_EQ(verify(k.verify, kDomain, payload, bad).code(), StatusCode::kUnauthenticated) << i;
    }
  }
}

TEST(CryptoTest, WrongLengthSignatureIsRefusedNotRead) {
  SeededRng rng(8);
  const Keys k = generate_keys(rng);
  const Bytes payload = to_bytes("hello");
  Bytes sig = sig_bytes(sign(k.signing, kDomain, payload));
  Bytes truncated(sig.begin(), sig.end() - 1);
  Bytes extended = sig;
  extended.push_back(0);
  EXPECT_EQ(verify(k.verify, kDomain, payload, truncated).code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(verify(k.verify, kDomain, payload, extended).code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(verify(k.verify, kDomain, payload, Bytes{}).code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(ed25519_verify(k.verify, payload, truncated).code(), StatusCode::kUnauthenticated);
}

TEST(CryptoTest, BothPartiesDeriveTheSameSealKey) {
  SeededRng rng(9);
  const Keys a = generate_keys(rng);
  const Keys b = generate_keys(rng);
  auto ka = derive_seal_key(a.box_secret, a.box_public, b.box_public, 7);
  auto kb = derive_seal_key(b.box_secret, b.box_public, a.box_public, 7);
  ASSERT_TRUE(ka.is_ok());
  ASSERT_TRUE(kb.is_ok());
  EXPECT_EQ(ka->bytes, kb->bytes);

  auto other_epoch = derive_seal_key(a.box_secret, a.box_public, b.box_public, 8);
  ASSERT_TRUE(other_epoch.is_ok());
  EXPECT_NE(ka->bytes, other_epoch->bytes);

  // The seal key is not the raw X25519 secret.
  auto shared = x25519(a.box_secret, b.box_public.bytes);
  ASSERT_TRUE(shared.is_ok());
  EXPECT_NE(ka->bytes, *shared);
}

TEST(CryptoTest, SealKeyWithAThirdPartyDiffers) {
  SeededRng rng(10);
  const Keys a = generate_keys(rng);
  const Keys b = generate_keys(rng);
  const Keys c = generate_keys(rng);
  auto ab = derive_seal_key(a.box_secret, a.box_public, b.box_public, 1);
  auto ac = derive_seal_key(a.box_secret, a.box_public, c.box_public, 1);
  ASSERT_TRUE(ab.is_ok());
  ASSERT_TRUE(ac.is_ok());
  EXPECT_NE(ab->bytes, ac->bytes);
}

TEST(CryptoTest, LowOrderPointIsRejected) {
  SeededRng rng(11);
  const Keys a = generate_keys(rng);
  // The all-zero point and a point of order 8 (RFC 7748 §6.1 cases).
  const BoxPublicKey zero{};
  auto order8 = hex_decode("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800");
  ASSERT_TRUE(order8.is_ok());
  auto r1 = x25519(a.box_secret, zero.bytes);
  EXPECT_EQ(r1.status().code(), StatusCode::kInvalidArgument);
  auto r2 = x25519(a.box_secret, *order8);
  EXPECT_EQ(r2.status().code(), StatusCode::kInvalidArgument);
  auto pub = box_public_from_bytes(*order8);
  ASSERT_TRUE(pub.is_ok());
  EXPECT_EQ(derive_seal_key(a.box_secret, a.box_public, *pub, 1).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(CryptoTest, X25519RejectsWrongSizePublicKey) {
  SeededRng rng(12);
  const Keys a = generate_keys(rng);
  EXPECT_EQ(x25519(a.box_secret, Bytes(31, 9)).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(x25519(a.box_secret, Bytes(33, 9)).status().code(), StatusCode::kInvalidArgument);
}

TEST(CryptoTest, X25519MatchesRfc7748) {
  // RFC 7748 §6.1.
  auto alice_secret =
      hex_decode("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
  auto bob_public = hex_decode("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
  ASSERT_TRUE(alice_secret.is_ok());
  ASSERT_TRUE(bob_public.is_ok());
  auto secret = box_secret_from_bytes(*alice_secret);
  ASSERT_TRUE(secret.is_ok());
  EXPECT_EQ(hex_encode(box_public_of(*secret).bytes),
            "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
  auto shared = x25519(*secret, *bob_public);
  ASSERT_TRUE(shared.is_ok());
  EXPECT_EQ(hex_encode(*shared),
            "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
}

class SealTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SeededRng rng(13);
    const Keys a = generate_keys(rng);
    const Keys b = generate_keys(rng);
    auto k = derive_seal_key(a.box_secret, a.box_public, b.box_public, 1);
    ASSERT_TRUE(k.is_ok());
    key_ = *k;
  }
  SealKey key_;
  SeededRng rng_{14};
};

TEST_F(SealTest, OpenReturnsWhatWasSealed) {
  const Bytes sealed = seal(key_, as_bytes("ad"), as_bytes("secret text"), rng_);
  EXPECT_EQ(sealed.size(), kXNonceBytes + 11 + kTagBytes);
  auto opened = open(key_, as_bytes("ad"), sealed);
  ASSERT_TRUE(opened.is_ok()) << opened.status().to_string();
  EXPECT_EQ(to_string(*opened), "secret text");
}

TEST_F(SealTest, EmptyPlaintextRoundTrips) {
  const Bytes sealed = seal(key_, {}, {}, rng_);
  EXPECT_EQ(sealed.size(), kXNonceBytes + kTagBytes);
  auto opened = open(key_, {}, sealed);
  ASSERT_TRUE(opened.is_ok()) << opened.status().to_string();
  EXPECT_TRUE(opened->empty());
}

TEST_F(SealTest, SealingTwiceUsesFreshNonces) {
  const Bytes a = seal(key_, {}, as_bytes("same"), rng_);
  const Bytes b = seal(key_, {}, as_bytes("same"), rng_);
  EXPECT_NE(a, b);
}

TEST_F(SealTest, TamperingWithAnyByteIsDetected) {
  const Bytes sealed = seal(key_, as_bytes("ad"), as_bytes("secret text"), rng_);
  for (std::size_t i = 0; i < sealed.size(); ++i) {
    Bytes bad = sealed;
    bad[i] ^= 0x01;
    EXPECT_EQ(open(key_, as_bytes("ad"), bad).status().code(), StatusCode::kUnauthenticated) << i;
  }
}

TEST_F(SealTest, WrongAssociatedDataIsDetected) {
  const Bytes sealed = seal(key_, as_bytes("line-1"), as_bytes("secret text"), rng_);
  EXPECT_EQ(open(key_, as_bytes("line-2"), sealed).status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(open(key_, {}, sealed).status().code(), StatusCode::kUnauthenticated);
}

TEST_F(SealTest, WrongKeyIsDetected) {
  const Bytes sealed = seal(key_, {}, as_bytes("secret text"), rng_);
  SealKey other = key_;
  other.bytes[0] ^= 1;
  EXPECT_EQ(open(other, {}, sealed).status().code(), StatusCode::kUnauthenticated);
}

TEST_F(SealTest, TruncatedSealedDataIsInvalid) {
  const Bytes sealed = seal(key_, {}, as_bytes("x"), rng_);
  for (std::size_t n = 0; n < kXNonceBytes + kTagBytes; ++n) {
    const Bytes cut(sealed.begin(), sealed.begin() + static_cast<std::ptrdiff_t>(n));
    EXPECT_EQ(open(key_, {}, cut).status().code(), StatusCode::kInvalidArgument) << n;
  }
  // Dropping the last byte of a valid message leaves a well-sized but forged one.
  const Bytes cut(sealed.begin(), sealed.end() - 1);
  EXPECT_EQ(open(key_, {}, cut).status().code(), StatusCode::kUnauthenticated);
}

TEST(AeadTest, WrongKeyOrNonceSizeIsInvalid) {
  const Bytes key(32, 1);
  const Bytes xnonce(24, 2);
  const Bytes nonce(12, 2);
  EXPECT_TRUE(xchacha20poly1305_encrypt(key, xnonce, {}, as_bytes("m")).is_ok());
  EXPECT_TRUE(chacha20poly1305_encrypt(key, nonce, {}, as_bytes("m")).is_ok());
  EXPECT_EQ(xchacha20poly1305_encrypt(Bytes(31, 1), xnonce, {}, {}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(xchacha20poly1305_encrypt(key, nonce, {}, {}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(chacha20poly1305_encrypt(key, xnonce, {}, {}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(chacha20poly1305_decrypt(Bytes(33, 1), nonce, {}, Bytes(16)).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(xchacha20poly1305_decrypt(key, Bytes(23, 0), {}, Bytes(16)).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(AeadTest, CiphertextShorterThanTagIsInvalid) {
  const Bytes key(32, 1);
  EXPECT_EQ(chacha20poly1305_decrypt(key, Bytes(12), {}, Bytes(15)).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(xchacha20poly1305_decrypt(key, Bytes(24), {}, Bytes{}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(chacha20poly1305_decrypt(key, Bytes(12), {}, Bytes(16)).status().code(),
            StatusCode::kUnauthenticated);
}

TEST(AeadTest, ChaChaMatchesRfc8439) {
  // RFC 8439 §2.8.2.
  auto key = hex_decode("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f");
  auto nonce = hex_decode("070000004041424344454647");
  auto ad = hex_decode("50515253c0c1c2c3c4c5c6c7");
  ASSERT_TRUE(key.is_ok() && nonce.is_ok() && ad.is_ok());
  const std::string text =
      "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the "
      "future, sunscreen would be it.";
  auto ct = chacha20poly1305_encrypt(*key, *nonce, *ad, as_bytes(text));
  ASSERT_TRUE(ct.is_ok());
  const std::string hex = hex_encode(*ct);
  EXPECT_EQ(hex.substr(0, 32), "d31a8d34648e60db7b86afbc53ef7ec2");
  EXPECT_EQ(hex.substr(hex.size() - 32), "1ae10b594f09e26a7e902ecbd0600691");
  auto pt = chacha20poly1305_decrypt(*key, *nonce, *ad, *ct);
  ASSERT_TRUE(pt.is_ok());
  EXPECT_EQ(to_string(*pt), text);
}

TEST(Sha256Test, AbcKnownAnswer) {
  // FIPS 180-2 appendix B.1.
  EXPECT_EQ(hex_encode(sha256(as_bytes("abc"))),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Sha256Test, EmptyKnownAnswer) {
  EXPECT_EQ(hex_encode(sha256({})),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(Sha256Test, IncrementalMatchesOneShot) {
  const std::string text = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  Sha256 h;
  for (std::size_t i = 0; i < text.size(); i += 5) {
    h.update(as_bytes(std::string_view(text).substr(i, 5)));
  }
  const Digest d = h.finish();
  EXPECT_EQ(d, sha256(as_bytes(text)));
  EXPECT_EQ(hex_encode(d), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(WipeTest, WipeZeroesTheBytes) {
  std::array<std::uint8_t, 8> secret = {1, 2, 3, 4, 5, 6, 7, 8};
  wipe(secret);
  EXPECT_EQ(secret, (std::array<std::uint8_t, 8>{}));
  wipe({});
}

}  // namespace
}  // namespace parley::crypto
