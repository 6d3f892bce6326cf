#include "parley/ledger/policy.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "parley/base/rng.h"

namespace parley::ledger {
namespace {

crypto::Keys keys(std::uint64_t seed) {
  SeededRng rng(seed);
  return crypto::generate_keys(rng);
}

struct Parties {
  crypto::Keys log = keys(1), x1 = keys(2), x2 = keys(3), y1 = keys(4);
  std::string origin = origin_of("us-eucom", "ru-genstaff");
  NoteVerifier log_key{origin, kNoteKeyEd25519, log.verify};
  NoteVerifier witness(const std::string& name, const crypto::Keys& k) const {
    return {name, kNoteKeyCosignature, k.verify};
  }
  // The checkpoint signed by the log and cosigned by `cosigners`.
  SignedNote note(const std::vector<std::pair<std::string, const crypto::Keys*>>& cosigners) const {
    const std::string signed_note =
        sign_checkpoint({origin, 5, empty_root(), {}}, log.signing, origin);
    SignedNote out = *parse_note(signed_note);
    for (const auto& [name, k] : cosigners)
      out.sigs.push_back(cosign(out.text, 1796000000, k->signing, name));
    return out;
  }
  std::string policy(const std::string& quorum_lines) const {
    return "# allies\nlog " + encode_verifier_key(log_key) + "\n\twitness X1 " +
           encode_verifier_key(witness("parley.example/nato-shape", x1)) +
           "  https://x1.example\n" + "witness X2 " +
           encode_verifier_key(witness("parley.example/x2", x2)) + "\n" + "witness Y1 " +
           encode_verifier_key(witness("parley.example/y1", y1)) + "\n\n" + quorum_lines;
  }
};

TEST(PolicyTest, ParsesTheSpecsShapes) {
  Parties p;
  auto policy = p.policy("group X 2 X1 X2\ngroup XY all X Y1\nquorum XY\n");
  Result<Policy> parsed = parse_policy(policy);
  ASSERT_TRUE(parsed.is_ok()) << parsed.status().to_string();
  EXPECT_EQ(parsed->logs.size(), 1U);
  EXPECT_EQ(parsed->witnesses.size(), 3U);
  ASSERT_EQ(parsed->groups.size(), 2U);
  EXPECT_EQ(parsed->groups[0].threshold, 2U);
  EXPECT_EQ(parsed->groups[1].threshold, 2U);
  EXPECT_EQ(parsed->quorum, "XY");
  EXPECT_TRUE(parse_policy("quorum none").is_ok());
}

TEST(PolicyTest, RefusesWhatTheSpecForbids) {
  Parties p;
  const std::string w = encode_verifier_key(p.witness("parley.example/x", p.x1));
  for (const std::string& bad : std::vector<std::string>{
           std::string(""),                                            // no quorum
           "quorum none\nquorum none\n",                               // two quorums
           "quorum X1\n",                                              // undefined
           "witness X1 " + w + "\nwitness X1 " + w + "\nquorum X1\n",  // duplicate
           "witness X1 " + w + "\ngroup G 2 X1\nquorum G\n",           // k > n
           "witness X1 " + w + "\ngroup G 0 X1\nquorum G\n",           // k < 1
           "witness X1 " + w + "\ngroup G any X1 X1\nquorum G\n",      // member twice
           "witness X1 " + w + "\ngroup G any none\nquorum G\n",       // none as member
           "witness none " + w + "\nquorum none\n",                    // none redefined
           "log " + w + "\nquorum none\n",                             // a cosigner key as log
           "witness X1 " + encode_verifier_key(p.log_key) + "\nquorum X1\n",  // a log key
           "witness X1 " + w + " url extra\nquorum X1\n",                     // too many items
           "frobnicate\nquorum none\n",                                       // unknown keyword
           "quorum none\r\n",                                                 // a control character
       }) {
    EXPECT_FALSE(parse_policy(bad).is_ok()) << bad;
  }
}

TEST(PolicyTest, TheQuorumCountsOnlyValidCosignaturesByItsWitnesses) {
  Parties p;
  const Policy one_of_two = *parse_policy(p.policy("group allies any X1 X2\nquorum allies\n"));
  EXPECT_TRUE(check_policy(one_of_two, p.note({{"parley.example/nato-shape", &p.x1}})).is_ok());
  EXPECT_TRUE(check_policy(one_of_two, p.note({{"parley.example/x2", &p.x2}})).is_ok());
  // No cosignature; one by an unknown key; one under a known name by the wrong key.
  const Status none = check_policy(one_of_two, p.note({}));
  EXPECT_EQ(none.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(none.message().find("allies"), std::string::npos);
  EXPECT_FALSE(check_policy(one_of_two, p.note({{"parley.example/y1", &p.y1}})).is_ok());
  EXPECT_FALSE(check_policy(one_of_two, p.note({{"parley.example/x2", &p.y1}})).is_ok());

  const Policy all = *parse_policy(p.policy("group X all X1 X2\ngroup XY all X Y1\nquorum XY\n"));
  EXPECT_FALSE(check_policy(all, p.note({{"parley.example/nato-shape", &p.x1},
                                         {"parley.example/x2", &p.x2}}))
                   .is_ok());
  EXPECT_TRUE(check_policy(all, p.note({{"parley.example/nato-shape", &p.x1},
                                        {"parley.example/x2", &p.x2},
                                        {"parley.example/y1", &p.y1}}))
                  .is_ok());
  // A checkpoint of a log the policy does not list is refused whatever its cosignatures.
  Parties other;
  other.log = keys(9);
  EXPECT_FALSE(
      check_policy(one_of_two, other.note({{"parley.example/nato-shape", &p.x1}})).is_ok());
}

}  // namespace
}  // namespace parley::ledger
