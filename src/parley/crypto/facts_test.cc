#include "parley/crypto/facts.h"

#include <string>
#include <utility>

#include <gtest/gtest.h>

#include "parley/base/bytes.h"
#include "parley/base/rng.h"
#include "parley/crypto/crypto.h"

namespace parley::crypto {
namespace {

constexpr std::string_view kDomain = "application/vnd.parley.envelope+json";

struct Signed {
  Keys keys;
  Bytes payload;
  Bytes sig;
};

Signed sign_something(std::uint64_t seed, std::string_view text) {
  SeededRng rng(seed);
  Signed s;
  s.keys = generate_keys(rng);
  s.payload = to_bytes(text);
  const auto sig = sign(s.keys.signing, kDomain, s.payload);
  s.sig.assign(sig.begin(), sig.end());
  return s;
}

TEST(FactsTest, AVerifiedSignatureIsFoundForTheVeryQuestionOnly) {
  const Signed s = sign_something(1, R"({"id":"a"})");
  const Signed other = sign_something(2, R"({"id":"b"})");
  Facts facts;
  facts.add_signature(s.keys.verify, kDomain, s.payload, s.sig);
  EXPECT_TRUE(facts.verified(s.keys.verify, kDomain, s.payload, s.sig));
  EXPECT_FALSE(facts.verified(other.keys.verify, kDomain, s.payload, s.sig));  // another key
  EXPECT_FALSE(facts.verified(s.keys.verify, "other-domain", s.payload, s.sig));
  Bytes changed = s.payload;
  changed.back() ^= 1;
  EXPECT_FALSE(facts.verified(s.keys.verify, kDomain, changed, s.sig));
  EXPECT_FALSE(facts.verified(s.keys.verify, kDomain, s.payload, other.sig));
  EXPECT_EQ(facts.signatures(), 1U);
  facts.add_signature(s.keys.verify, kDomain, s.payload, s.sig);  // the same fact once
  EXPECT_EQ(facts.signatures(), 1U);
}

TEST(FactsTest, VerifyWithFactsAnswersAsVerifyDoesForEveryOtherQuestion) {
  const Signed s = sign_something(1, R"({"id":"a"})");
  const Signed other = sign_something(2, R"({"id":"b"})");
  Facts facts;
  facts.add_signature(s.keys.verify, kDomain, s.payload, s.sig);
  EXPECT_TRUE(verify(s.keys.verify, kDomain, s.payload, s.sig, &facts).is_ok());
  // A forged signature (another key's) is not answered by the fact: computed, and refused
  // with the same words as without facts.
  const Status forged = verify(other.keys.verify, kDomain, s.payload, s.sig, &facts);
  const Status inline_forged = verify(other.keys.verify, kDomain, s.payload, s.sig);
  EXPECT_FALSE(forged.is_ok());
  EXPECT_EQ(forged.to_string(), inline_forged.to_string());
  // No facts at all: the check itself.
  EXPECT_TRUE(verify(other.keys.verify, kDomain, other.payload, other.sig, nullptr).is_ok());
  EXPECT_FALSE(verify(s.keys.verify, kDomain, other.payload, other.sig, nullptr).is_ok());
}

TEST(FactsTest, AnOpeningIsFoundForTheSameKeyDataAndSealOnly) {
  SeededRng rng(3);
  SealKey key;
  rng.fill(key.bytes);
  SealKey other_key;
  rng.fill(other_key.bytes);
  const Bytes ad = to_bytes("id\nline");
  const Bytes sealed = seal(key, ad, to_bytes("hello"), rng);
  Facts facts;
  Result<Bytes> plain = open(key, ad, sealed);
  ASSERT_TRUE(plain.is_ok());
  facts.add_opening(key, ad, sealed, std::move(*plain));
  ASSERT_NE(facts.opened(key, ad, sealed), nullptr);
  EXPECT_EQ(to_string(*facts.opened(key, ad, sealed)), "hello");
  EXPECT_EQ(facts.opened(other_key, ad, sealed), nullptr);
  EXPECT_EQ(facts.opened(key, to_bytes("id\nother"), sealed), nullptr);
  Bytes tampered = sealed;
  tampered.back() ^= 1;
  EXPECT_EQ(facts.opened(key, ad, tampered), nullptr);

  Result<Bytes> again = open(key, ad, sealed, &facts);
  ASSERT_TRUE(again.is_ok());
  EXPECT_EQ(to_string(*again), "hello");
  const Result<Bytes> wrong = open(other_key, ad, sealed, &facts);
  EXPECT_FALSE(wrong.is_ok());
  EXPECT_EQ(wrong.status().to_string(), open(other_key, ad, sealed).status().to_string());
}

TEST(FactsTest, MergeKeepsEveryFactOnce) {
  const Signed a = sign_something(1, "a");
  const Signed b = sign_something(2, "b");
  Facts one;
  one.add_signature(a.keys.verify, kDomain, a.payload, a.sig);
  Facts two;
  two.add_signature(a.keys.verify, kDomain, a.payload, a.sig);
  two.add_signature(b.keys.verify, kDomain, b.payload, b.sig);
  one.merge(std::move(two));
  EXPECT_EQ(one.signatures(), 2U);
  EXPECT_TRUE(one.verified(b.keys.verify, kDomain, b.payload, b.sig));
}

}  // namespace
}  // namespace parley::crypto
