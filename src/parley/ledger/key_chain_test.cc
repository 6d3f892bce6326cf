#include "parley/ledger/key_chain.h"

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "parley/base/check.h"
#include "parley/base/json.h"
#include "parley/base/rng.h"
#include "parley/ledger/rotated_export_for_test.h"
#include "parley/ledger/transcript.h"
#include "parley/wire/dsse.h"
#include "parley/wire/wire.h"

namespace parley::ledger {
namespace {

using test_export::kA;
using test_export::kB;
using test_export::RotatedExport;
using test_export::statement;

class KeyChainTest : public ::testing::Test {
 protected:
  KeyChainTest()
      : rng_(23),
        k1_(crypto::generate_keys(rng_)),
        k2_(crypto::generate_keys(rng_)),
        k3_(crypto::generate_keys(rng_)),
        stranger_(crypto::generate_keys(rng_)) {}

  SeededRng rng_;
  crypto::Keys k1_;
  crypto::Keys k2_;
  crypto::Keys k3_;
  crypto::Keys stranger_;
};

TEST_F(KeyChainTest, ARotationPutsItsKeyInForceAfterItsIndex) {
  KeyChain chain(std::string(kA), k1_.verify);
  EXPECT_EQ(chain.head_key(0), k1_.verify);
  ASSERT_TRUE(chain.add(3, statement(rng_, kA, k1_, k2_, 1)).is_ok());
  EXPECT_EQ(chain.entry_key(0), k1_.verify);
  EXPECT_EQ(chain.entry_key(3), k1_.verify);  // the statement: the key it replaces
  EXPECT_EQ(chain.entry_key(4), k2_.verify);
  EXPECT_EQ(chain.head_key(4), k1_.verify);  // the head that first includes it
  EXPECT_EQ(chain.head_key(5), k2_.verify);
  ASSERT_TRUE(chain.add(9, statement(rng_, kA, k2_, k3_, 2)).is_ok());
  EXPECT_EQ(chain.entry_key(9), k2_.verify);
  EXPECT_EQ(chain.entry_key(10), k3_.verify);
  EXPECT_EQ(chain.entry_key(1'000'000), k3_.verify);
  EXPECT_EQ(chain.newest().key, k3_.verify);
  EXPECT_EQ(chain.newest().epoch, 3u);
  EXPECT_EQ(chain.newest().tls_fingerprint, std::string(64, 'e'));
  EXPECT_TRUE(chain.contains(k2_.verify));
  EXPECT_FALSE(chain.contains(stranger_.verify));
}

TEST_F(KeyChainTest, ARotationNotSignedByTheKeyInForceIsRefusedAndChangesNothing) {
  KeyChain chain(std::string(kA), k1_.verify);
  // Signed by a key that is not the pinned one (its holder names itself as the old key).
  Result<wire::Rotation> r = chain.add(3, statement(rng_, kA, stranger_, k2_, 1));
  EXPECT_EQ(r.status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(chain.links().size(), 1u);
  EXPECT_EQ(chain.entry_key(4), k1_.verify);
  // After a good rotation the old key has no authority left: it cannot rotate again.
  ASSERT_TRUE(chain.add(3, statement(rng_, kA, k1_, k2_, 1)).is_ok());
  r = chain.add(5, statement(rng_, kA, k1_, k3_, 2));
  EXPECT_EQ(r.status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(chain.links().size(), 2u);
}

TEST_F(KeyChainTest, NumberEpochAndPlaceMustFollowTheLastRotation) {
  KeyChain chain(std::string(kA), k1_.verify);
  Result<wire::Rotation> r = chain.add(3, statement(rng_, kA, k1_, k2_, 2, 3));
  EXPECT_NE(r.status().message().find("field 'n': 2, expected 1"), std::string::npos)
      << r.status().message();
  r = chain.add(3, statement(rng_, kA, k1_, k2_, 1, 3));
  EXPECT_NE(r.status().message().find("field 'epoch': 3, expected 2"), std::string::npos)
      << r.status().message();
  ASSERT_TRUE(chain.add(3, statement(rng_, kA, k1_, k2_, 1)).is_ok());
  r = chain.add(2, statement(rng_, kA, k2_, k3_, 2));
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("already has one at entry 3"), std::string::npos)
      << r.status().message();
  EXPECT_EQ(chain.links().size(), 2u);
}

// ---- parley verify follows the chain ---------------------------------------------------------

std::string failures_of(const TranscriptReport& report) {
  std::string out;
  for (const std::string& f : report.failures) out += "  " + f + "\n";
  return out;
}

bool mentions(const TranscriptReport& report, std::string_view text) {
  return std::any_of(report.failures.begin(), report.failures.end(),
                     [&](const std::string& f) { return f.find(text) != std::string::npos; });
}

TEST(KeyChainVerifyTest, AnExportWithARotationVerifiesFollowingTheChain) {
  RotatedExport x;
  const TranscriptReport report = verify_transcript(x.files());
  EXPECT_TRUE(report.valid()) << failures_of(report);
  EXPECT_EQ(report.entries, 9u);
  EXPECT_EQ(report.countersignatures, 4u);
  ASSERT_EQ(report.rotations.size(), 1u);
  EXPECT_EQ(report.rotations[0].party, "us-eucom");
  EXPECT_EQ(report.rotations[0].index, 3u);
  EXPECT_EQ(report.rotations[0].n, 1u);
  EXPECT_EQ(report.rotations[0].key, x.a2_.verify);
}

TEST(KeyChainVerifyTest, TheRotationLineNamesItsKind) {
  RotatedExport x;
  const ExportFiles files = x.files();
  const std::string& log = files.at(log_path(kA));
  EXPECT_NE(log.find("{\"index\":3,\"rotation\":{\"key\":\"us-eucom\""), std::string::npos);
  // Read as an envelope, the statement's signature does not verify (another domain).
  ExportFiles as_envelope = files;
  std::string& text = as_envelope[log_path(kA)];
  text.replace(text.find("\"rotation\""), 10, "\"envelope\"");
  const TranscriptReport report = verify_transcript(as_envelope);
  EXPECT_TRUE(mentions(report, "logs/us-eucom.jsonl line 4 (entry 3): bad envelope signature"))
      << failures_of(report);
}

TEST(KeyChainVerifyTest, ARotationLineInAnotherJsonLayoutMeansTheSame) {
  RotatedExport x;
  ExportFiles files = x.files();
  std::string& log = files[log_path(kA)];
  const std::string canonical = "{\"index\":3,\"rotation\":" + x.a_log_[3] + "}";
  const std::size_t at = log.find(canonical);
  ASSERT_NE(at, std::string::npos);
  // Another order, whitespace, and the field's name escaped: the JSON reader's path.
  log.replace(at, canonical.size(), "{\"rot\\u0061tion\": " + x.a_log_[3] + ", \"index\": 3}");
  x.sign(files);
  const TranscriptReport report = verify_transcript(files);
  EXPECT_TRUE(report.valid()) << failures_of(report);
  ASSERT_EQ(report.rotations.size(), 1u);
  EXPECT_EQ(report.rotations[0].index, 3u);
}

TEST(KeyChainVerifyTest, AnEntryAfterTheRotationSignedWithTheOldKeyFails) {
  RotatedExport x;
  x.a_log_.resize(5);
  x.append_envelope(kA, kB, x.a1_, x.a_log_);  // entry 5, by the key rotation 1 replaced
  x.append_envelope(kA, kB, x.a2_, x.a_log_);
  x.a_heads_[2] = x.head(kA, kB, x.a_log_, 7, x.a2_, x.b_, {4, 5, 6});
  const TranscriptReport report = verify_transcript(x.files());
  EXPECT_EQ(report.failures_total, 1u) << failures_of(report);
  EXPECT_TRUE(mentions(report, "logs/us-eucom.jsonl line 6 (entry 5): bad envelope signature"))
      << failures_of(report);
}

TEST(KeyChainVerifyTest, AnEntryBeforeTheRotationSignedWithTheNewKeyFails) {
  RotatedExport x;
  std::vector<std::string> log(x.a_log_.begin(), x.a_log_.begin() + 2);
  x.append_envelope(kA, kB, x.a2_, log);  // entry 2, before the statement that made a2
  log.insert(log.end(), x.a_log_.begin() + 3, x.a_log_.end());
  x.a_log_ = log;
  x.a_heads_[1] = x.head(kA, kB, x.a_log_, 4, x.a1_, x.b_, {2, 3});
  x.a_heads_[2] = x.head(kA, kB, x.a_log_, 7, x.a2_, x.b_, {4, 5, 6});
  const TranscriptReport report = verify_transcript(x.files());
  EXPECT_EQ(report.failures_total, 1u) << failures_of(report);
  EXPECT_TRUE(mentions(report, "logs/us-eucom.jsonl line 3 (entry 2): bad envelope signature"))
      << failures_of(report);
}

TEST(KeyChainVerifyTest, HeadsAreSignedByTheKeyOfTheirLastEntry) {
  RotatedExport x;
  // The head of size 4 ends with the statement: the old key's, not the new one's.
  x.a_heads_[1] = x.head(kA, kB, x.a_log_, 4, x.a2_, x.b_, {2, 3});
  // The head of size 7 ends after it: the new key's, not the old one's.
  x.a_heads_[2] = x.head(kA, kB, x.a_log_, 7, x.a1_, x.b_, {4, 5, 6});
  const TranscriptReport report = verify_transcript(x.files());
  EXPECT_EQ(report.failures_total, 2u) << failures_of(report);
  EXPECT_TRUE(mentions(report,
                       "heads/us-eucom.jsonl line 2 (head size 4): bad signature (not made with "
                       "us-eucom's pinned key, in force at this size)"))
      << failures_of(report);
  EXPECT_TRUE(mentions(report,
                       "heads/us-eucom.jsonl line 3 (head size 7): bad signature (not made with "
                       "us-eucom's key of rotation 1, in force at this size)"))
      << failures_of(report);
}

TEST(KeyChainVerifyTest, ARotationNotSignedByThePinnedKeyIsRefusedWithWhatFollows) {
  RotatedExport x;
  // A stranger's statement: signed by its own key, handing us-eucom's log to a2.
  const crypto::Keys stranger = crypto::generate_keys(x.rng_);
  x.a_log_[3] = statement(x.rng_, kA, stranger, x.a2_, 1);
  x.a_heads_[1] = x.head(kA, kB, x.a_log_, 4, x.a1_, x.b_, {2, 3});
  x.a_heads_[2] = x.head(kA, kB, x.a_log_, 7, x.a2_, x.b_, {4, 5, 6});
  const TranscriptReport report = verify_transcript(x.files());
  EXPECT_TRUE(mentions(report, "logs/us-eucom.jsonl line 4 (entry 3): rotation: bad signature"))
      << failures_of(report);
  // The chain stays on the pinned key: what the stranger's key signed after it fails too.
  EXPECT_TRUE(mentions(report, "logs/us-eucom.jsonl line 5 (entry 4): bad envelope signature"))
      << failures_of(report);
  EXPECT_TRUE(mentions(report, "heads/us-eucom.jsonl line 3 (head size 7): bad signature"))
      << failures_of(report);
}

TEST(KeyChainVerifyTest, TheManifestIsSignedWithTheExportersNewestKey) {
  RotatedExport x;
  ExportFiles files = x.files();
  SignedManifest manifest = parse_manifest(files.at(std::string(kManifestPath))).value();
  files[std::string(kManifestPath)] =
      encode_manifest(sign_manifest(manifest.manifest, x.a1_.signing));
  const TranscriptReport report = verify_transcript(files);
  EXPECT_EQ(report.failures_total, 1u) << failures_of(report);
  EXPECT_TRUE(
      mentions(report, "manifest.json: bad signature (not made with us-eucom's newest key)"))
      << failures_of(report);
}

TEST(KeyChainVerifyTest, ACountersignatureByAKeyOutsideTheChainFails) {
  RotatedExport x;
  // ru-genstaff's head countersigned by us-eucom's stranger key instead of a1 or a2.
  const crypto::Keys stranger = crypto::generate_keys(x.rng_);
  x.b_heads_[0] = x.head(kB, kA, x.b_log_, 2, x.b_, stranger, {0, 1});
  const TranscriptReport report = verify_transcript(x.files());
  EXPECT_EQ(report.failures_total, 1u) << failures_of(report);
  EXPECT_TRUE(
      mentions(report, "heads/ru-genstaff.jsonl line 1 (head size 2): bad countersignature"))
      << failures_of(report);
}

}  // namespace
}  // namespace parley::ledger
