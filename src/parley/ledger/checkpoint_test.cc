#include "parley/ledger/checkpoint.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "parley/base/check.h"
#include "parley/base/rng.h"
#include "parley/wire/wire.h"

namespace parley::ledger {
namespace {

// The reference implementation's own vectors (golang.org/x/mod/sumdb/note, note_test.go):
// a key, its verifier key and the signature of a fixed text.
constexpr std::string_view kPeterVkey =
    "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
constexpr std::string_view kPeterSeed = "gQoUAtUUbI2E8kQzMPVAgOv5juF9nHT2JS/F1ccoMXM=";
constexpr std::string_view kPeterText =
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n";
constexpr std::string_view kPeterSig =
    "\xE2\x80\x94 PeterNeumann "
    "x08go/ZJkuBS9UG/"
    "SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
constexpr std::string_view kEnochSig =
    "\xE2\x80\x94 EnochRoot "
    "rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/"
    "5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";
constexpr std::string_view kEmDash = "\xE2\x80\x94";

NoteVerifier peter() {
  auto verifier = parse_verifier_key(kPeterVkey);
  PARLEY_CHECK(verifier.is_ok());
  return *verifier;
}

crypto::SigningKey peter_signing_key() {
  const Result<Bytes> seed = base64_decode(kPeterSeed);
  PARLEY_CHECK(seed.is_ok());
  Bytes secret = *seed;
  const NoteVerifier pub = peter();
  secret.insert(secret.end(), pub.key.bytes.begin(), pub.key.bytes.end());
  auto key = crypto::signing_key_from_bytes(secret);
  PARLEY_CHECK(key.is_ok());
  return *key;
}

crypto::Keys keys(std::uint64_t seed) {
  SeededRng rng(seed);
  return crypto::generate_keys(rng);
}

Checkpoint sample_checkpoint() {
  Checkpoint checkpoint;
  checkpoint.origin = origin_of("us-eucom", "ru-genstaff");
  checkpoint.size = 20852163;
  for (std::size_t i = 0; i < checkpoint.root.size(); ++i) {
    checkpoint.root[i] = static_cast<std::uint8_t>(i);
  }
  return checkpoint;
}

NoteVerifier log_key(const crypto::Keys& k, const std::string& name) {
  return NoteVerifier{name, kNoteKeyEd25519, k.verify};
}

TEST(CheckpointTest, OriginsAreUniqueToOwnerAndPeer) {
  EXPECT_EQ(origin_of("us-eucom", "ru-genstaff"), "parley.example/us-eucom/ru-genstaff");
  EXPECT_NE(origin_of("us-eucom", "ru-genstaff"), origin_of("ru-genstaff", "us-eucom"));
  EXPECT_EQ(party_key_name("us-eucom"), "parley.example/us-eucom");
}

TEST(CheckpointTest, VerifierKeyMatchesTheReferenceVector) {
  const NoteVerifier verifier = peter();
  EXPECT_EQ(verifier.name, "PeterNeumann");
  EXPECT_EQ(verifier.type, kNoteKeyEd25519);
  EXPECT_EQ(verifier.id(), 0xc74f20a3U);
  EXPECT_EQ(encode_verifier_key(verifier), kPeterVkey);
}

TEST(CheckpointTest, BundleNoteKeyIsThePartyKeyUnderItsName) {
  wire::Bundle bundle;
  bundle.party = "us-eucom";
  bundle.sign_key = keys(3).verify;
  const NoteVerifier verifier{party_key_name("us-eucom"), kNoteKeyEd25519, bundle.sign_key};
  EXPECT_EQ(wire::bundle_note_key(bundle), encode_verifier_key(verifier));
  auto parsed = parse_verifier_key(wire::bundle_note_key(bundle));
  ASSERT_TRUE(parsed.is_ok()) << parsed.status().to_string();
  EXPECT_EQ(parsed->key, bundle.sign_key);
}

TEST(CheckpointTest, VerifierKeysAreParsedStrictly) {
  // The reference's bad keys: wrong length (key ID adjusted) and unknown type (adjusted).
  EXPECT_FALSE(parse_verifier_key("PeterNeumann+cc469956+"
                                  "ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==")
                   .is_ok());
  EXPECT_FALSE(
      parse_verifier_key("PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW")
          .is_ok());
  EXPECT_FALSE(  // a key ID that is not the key's
      parse_verifier_key("PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW")
          .is_ok());
  EXPECT_FALSE(  // a space in the name
      parse_verifier_key("Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW")
          .is_ok());
  EXPECT_FALSE(parse_verifier_key("PeterNeumann+c74f20a3").is_ok());
}

TEST(CheckpointTest, KeyNamesRefuseSpacesPlusAndControls) {
  EXPECT_TRUE(is_valid_key_name("parley.example/us-eucom"));
  EXPECT_TRUE(is_valid_key_name("quasimodo.example/salvatore\xC3\xA8"));
  EXPECT_FALSE(is_valid_key_name(""));
  EXPECT_FALSE(is_valid_key_name("a+b"));
  EXPECT_FALSE(is_valid_key_name("a b"));
  EXPECT_FALSE(
      is_valid_key_name("a\xC2\xA0"
                        "b"));  // U+00A0 no-break space
  EXPECT_FALSE(
      is_valid_key_name("a\xE3\x80\x80"
                        "b"));                   // U+3000 ideographic space
  EXPECT_FALSE(is_valid_key_name("a\xC0\xAF"));  // overlong '/'
}

TEST(CheckpointTest, SigningReproducesTheReferenceSignature) {
  SignedNote note{std::string(kPeterText), {}};
  const auto sig = crypto::ed25519_sign(peter_signing_key(), as_bytes(note.text));
  note.sigs.push_back({"PeterNeumann", 0xc74f20a3, Bytes(sig.begin(), sig.end())});
  EXPECT_EQ(encode_note(note), std::string(kPeterText) + "\n" + std::string(kPeterSig));
}

TEST(CheckpointTest, UnknownSignaturesAreIgnoredAndKnownOnesVerified) {
  const std::string text =
      std::string(kPeterText) + "\n" + std::string(kPeterSig) + std::string(kEnochSig);
  auto note = parse_note(text);
  ASSERT_TRUE(note.is_ok()) << note.status().to_string();
  ASSERT_EQ(note->sigs.size(), 2U);
  auto signed_by = verify_note(*note, {peter()});
  ASSERT_TRUE(signed_by.is_ok()) << signed_by.status().to_string();
  EXPECT_TRUE((*signed_by)[0]);

  // A known name with another key ID is an unknown key: no known signature is left.
  NoteVerifier other = peter();
  other.key = keys(1).verify;
  EXPECT_EQ(verify_note(*note, {other}).status().code(), StatusCode::kUnauthenticated);

  // A known key whose signature fails rejects the whole note.
  std::string tampered = text;
  tampered[0] = 'i';
  auto bad = parse_note(tampered);
  ASSERT_TRUE(bad.is_ok());
  EXPECT_EQ(verify_note(*bad, {peter()}).status().code(), StatusCode::kUnauthenticated);
}

TEST(CheckpointTest, MalformedNotesAreRefused) {
  const std::string good = std::string(kPeterText) + "\n" + std::string(kPeterSig);
  ASSERT_TRUE(parse_note(good).is_ok());
  const std::vector<std::string> bad = {
      std::string(kPeterText) + std::string(kPeterSig),         // no empty line
      good.substr(0, good.size() - 1),                          // no final newline
      std::string(kPeterText) + "\n",                           // no signature
      std::string(kPeterText) + "\n- PeterNeumann AAAAAAA=\n",  // not an em dash
      std::string(kPeterText) + "\n" + std::string(kEmDash) + " PeterNeumann AAAA\n",  // < 5
      std::string(kPeterText) + "\n" + std::string(kEmDash) + " Peter+N AAAAAAA=\n",   // '+'
      std::string(kPeterText) + "\n" + std::string(kEmDash) + " PeterNeumann AAAAAA==\n",
      "a\tb\n\n" + std::string(kPeterSig),                             // a control character
      "a\xFF\n\n" + std::string(kPeterSig),                            // not UTF-8
      std::string(kPeterText) + "\n" + std::string(kPeterSig) + "\n",  // empty signature line
  };
  for (const std::string& note : bad) {
    EXPECT_EQ(parse_note(note).status().code(), StatusCode::kInvalidArgument) << note;
  }
  // The text may hold empty lines: the last one splits it from the signatures.
  const std::string with_blank = "a\n\nb\n\n" + std::string(kPeterSig);
  auto note = parse_note(with_blank);
  ASSERT_TRUE(note.is_ok());
  EXPECT_EQ(note->text, "a\n\nb\n");
}

TEST(CheckpointTest, TooManySignaturesAreRefused) {
  std::string note = std::string(kPeterText) + "\n";
  for (std::size_t i = 0; i < kNoteSignaturesMax; ++i) note += kEnochSig;
  EXPECT_TRUE(parse_note(note).is_ok());
  note += kEnochSig;
  EXPECT_FALSE(parse_note(note).is_ok());
}

TEST(CheckpointTest, CheckpointTextIsThreeLines) {
  const Checkpoint checkpoint = sample_checkpoint();
  EXPECT_EQ(checkpoint_text(checkpoint),
            "parley.example/us-eucom/ru-genstaff\n20852163\n"
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n");
  auto parsed = parse_checkpoint_text(checkpoint_text(checkpoint));
  ASSERT_TRUE(parsed.is_ok()) << parsed.status().to_string();
  EXPECT_EQ(*parsed, checkpoint);
  auto with_extension = parse_checkpoint_text(checkpoint_text(checkpoint) + "ext\n");
  ASSERT_TRUE(with_extension.is_ok());
  EXPECT_EQ(with_extension->extensions, std::vector<std::string>{"ext"});
}

TEST(CheckpointTest, MalformedCheckpointTextsAreRefused) {
  const std::string root = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
  const std::vector<std::string> bad = {
      "o\n1\n" + root,                            // no final newline
      "o\n1\n",                                   // two lines
      "\n1\n" + root + "\n",                      // empty origin
      "o\n01\n" + root + "\n",                    // leading zero
      "o\n-1\n" + root + "\n",                    // not a decimal
      "o\n18446744073709551616\n" + root + "\n",  // 2^64
      "o\n1\nAAAA\n",                             // not 32 bytes
      "o\n1\n" + root + "\n\n",                   // an empty extension line
  };
  for (const std::string& text : bad) {
    EXPECT_EQ(parse_checkpoint_text(text).status().code(), StatusCode::kInvalidArgument) << text;
  }
  EXPECT_TRUE(parse_checkpoint_text("o\n0\n" + root + "\n").is_ok());
}

TEST(CheckpointTest, SignedCheckpointOpensWithTheOriginKeyOnly) {
  const crypto::Keys k = keys(7);
  const Checkpoint checkpoint = sample_checkpoint();
  const std::string note = sign_checkpoint(checkpoint, k.signing, checkpoint.origin);
  EXPECT_EQ(note.substr(0, checkpoint_text(checkpoint).size() + 1),
            checkpoint_text(checkpoint) + "\n");
  auto opened = open_checkpoint(note, log_key(k, checkpoint.origin));
  ASSERT_TRUE(opened.is_ok()) << opened.status().to_string();
  EXPECT_EQ(opened->checkpoint, checkpoint);

  EXPECT_EQ(open_checkpoint(note, log_key(keys(8), checkpoint.origin)).status().code(),
            StatusCode::kUnauthenticated);
  EXPECT_EQ(open_checkpoint(note, log_key(k, "parley.example/other")).status().code(),
            StatusCode::kUnauthenticated);
  std::string flipped = note;
  flipped[checkpoint.origin.size() + 1] = '3';  // the size line
  EXPECT_EQ(open_checkpoint(flipped, log_key(k, checkpoint.origin)).status().code(),
            StatusCode::kUnauthenticated);
}

TEST(CheckpointTest, CosignatureSignsTheSpecMessage) {
  const Checkpoint checkpoint = sample_checkpoint();
  const std::string text = checkpoint_text(checkpoint);
  EXPECT_EQ(cosignature_message(text, 1679315147), "cosignature/v1\ntime 1679315147\n" + text);

  const crypto::Keys witness = keys(9);
  const NoteVerifier verifier{"witness.example/nato-shape", kNoteKeyCosignature, witness.verify};
  const NoteSignature sig = cosign(text, 1679315147, witness.signing, verifier.name);
  EXPECT_EQ(sig.id, note_key_id(verifier.name, kNoteKeyCosignature, witness.verify));
  EXPECT_NE(sig.id, note_key_id(verifier.name, kNoteKeyEd25519, witness.verify));
  ASSERT_EQ(sig.sig.size(), 72U);
  EXPECT_EQ(sig.sig[7], 1679315147 & 0xff);  // big-endian timestamp first
  const std::string message = cosignature_message(text, 1679315147);
  EXPECT_TRUE(
      crypto::ed25519_verify(witness.verify, as_bytes(message), ByteView(sig.sig).subspan(8))
          .is_ok());

  auto time = verify_cosignature(sig, text, verifier);
  ASSERT_TRUE(time.is_ok()) << time.status().to_string();
  EXPECT_EQ(*time, 1679315147U);
  EXPECT_FALSE(verify_cosignature(sig, text + "ext\n", verifier).is_ok());
  NoteSignature later = sig;
  later.sig[7] ^= 1;
  EXPECT_EQ(verify_cosignature(later, text, verifier).status().code(),
            StatusCode::kUnauthenticated);
  const NoteVerifier as_log{verifier.name, kNoteKeyEd25519, witness.verify};
  EXPECT_FALSE(verify_cosignature(sig, text, as_log).is_ok());
}

TEST(CheckpointTest, CosignedNoteVerifiesForLogAndWitness) {
  const crypto::Keys log = keys(10);
  const crypto::Keys witness = keys(11);
  const Checkpoint checkpoint = sample_checkpoint();
  auto note = parse_note(sign_checkpoint(checkpoint, log.signing, checkpoint.origin));
  ASSERT_TRUE(note.is_ok());
  note->sigs.push_back(cosign(note->text, 1700000000, witness.signing, "w.example/w1"));
  auto reparsed = parse_note(encode_note(*note));
  ASSERT_TRUE(reparsed.is_ok());
  const std::vector<NoteVerifier> verifiers = {
      log_key(log, checkpoint.origin), {"w.example/w1", kNoteKeyCosignature, witness.verify}};
  auto signed_by = verify_note(*reparsed, verifiers);
  ASSERT_TRUE(signed_by.is_ok()) << signed_by.status().to_string();
  EXPECT_EQ(*signed_by, (std::vector<bool>{true, true}));
}

}  // namespace
}  // namespace parley::ledger
