#include "parley/gateway/check.h"

#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "parley/base/rng.h"
#include "parley/gateway/home.h"
#include "parley/wire/heartbeat.h"
#include "parley/wire/rotation.h"

namespace parley::gateway {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

constexpr auto kDay = std::chrono::days(1);
const Time kNow = time_from_unix_ms(1'800'000'000'000);

class CheckTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "parley-check-test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    root_ = pattern;
    home_ = root_ / "home";
    InitOptions o;
    o.home = home_;
    o.party = "us-eucom";
    o.federation = {"127.0.0.1:7001"};
    ASSERT_TRUE(init_home(o).is_ok());
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }

  // The result named `name`, or a kFail one saying it is missing.
  static CheckResult find(const std::vector<CheckResult>& results, const std::string& name) {
    const auto it = std::find_if(results.begin(), results.end(),
                                 [&](const CheckResult& r) { return r.name == name; });
    if (it == results.end()) return {name, CheckLevel::kFail, "no such check"};
    return *it;
  }

  fs::path root_;
  fs::path home_;
};

TEST_F(CheckTest, AFreshHomeWithNoPeerPassesWithAWarning) {
  const std::vector<CheckResult> results = check_home(home_, CheckOptions{});
  EXPECT_FALSE(any_failed(results));
  for (const CheckResult& r : results) {
    EXPECT_NE(r.level, CheckLevel::kFail) << r.name << ": " << r.detail;
  }
  EXPECT_EQ(find(results, "config").level, CheckLevel::kOk);
  EXPECT_EQ(find(results, "mode keys/sign.key").detail, "0600");
  EXPECT_EQ(find(results, "tls certificate").level, CheckLevel::kOk);
  EXPECT_EQ(find(results, "peers").level, CheckLevel::kWarn);
}

TEST_F(CheckTest, AWorldReadableKeyFailsWithTheFix) {
  ASSERT_EQ(::chmod((home_ / "keys/sign.key").c_str(), 0644), 0);
  const std::vector<CheckResult> results = check_home(home_, CheckOptions{});
  EXPECT_TRUE(any_failed(results));
  const CheckResult key = find(results, "mode keys/sign.key");
  EXPECT_EQ(key.level, CheckLevel::kFail);
  EXPECT_THAT(key.detail, HasSubstr("0644: readable by others (chmod 600 "));
  EXPECT_EQ(find(results, "mode keys/box.key").level, CheckLevel::kOk);
}

TEST_F(CheckTest, AnOpenHomeDirectoryFails) {
  ASSERT_EQ(::chmod(home_.c_str(), 0755), 0);
  const std::vector<CheckResult> results = check_home(home_, CheckOptions{});
  EXPECT_EQ(find(results, "mode " + home_.string()).level, CheckLevel::kFail);
}

TEST_F(CheckTest, ABadConfigFailsWithFileAndLineAndStopsThere) {
  std::ofstream(home_ / "parley.toml", std::ios::trunc)
      << "[party]\nid = \"us-eucom\"\nbogus = 1\n";
  const std::vector<CheckResult> results = check_home(home_, CheckOptions{});
  const CheckResult config = find(results, "config");
  EXPECT_EQ(config.level, CheckLevel::kFail);
  EXPECT_THAT(config.detail, HasSubstr("parley.toml:3: unknown key 'party.bogus'"));
  EXPECT_EQ(find(results, "store").detail, "no such check");
}

TEST_F(CheckTest, NoHomeIsOneFailure) {
  const std::vector<CheckResult> results = check_home(root_ / "missing", CheckOptions{});
  ASSERT_EQ(results.size(), 1U);
  EXPECT_EQ(results[0].name, "home");
  EXPECT_EQ(results[0].level, CheckLevel::kFail);
}

TEST(CheckDatesTest, WarnsUnderThirtyDaysAndFailsWhenExpiredOrNotYetValid) {
  const Duration warn = std::chrono::days(30);
  EXPECT_EQ(check_certificate_dates(kNow - kDay, kNow + 31 * kDay, kNow, warn).level,
            CheckLevel::kOk);
  const CheckResult soon = check_certificate_dates(kNow - kDay, kNow + 29 * kDay, kNow, warn);
  EXPECT_EQ(soon.level, CheckLevel::kWarn);
  EXPECT_THAT(soon.detail, HasSubstr("in 29 days"));
  EXPECT_EQ(check_certificate_dates(kNow - kDay, kNow, kNow, warn).level, CheckLevel::kFail);
  EXPECT_EQ(check_certificate_dates(kNow + kDay, kNow + 9 * kDay, kNow, warn).level,
            CheckLevel::kFail);
}

TEST(CheckDatesTest, TheApiCertificateHasItsOwnLineAndRenewal) {
  const Duration warn = std::chrono::days(30);
  const CheckResult expired =
      check_certificate_dates(kNow - 9 * kDay, kNow - kDay, kNow, warn, /*api=*/true);
  EXPECT_EQ(expired.level, CheckLevel::kFail);
  EXPECT_EQ(expired.name, "api tls certificate");
  EXPECT_THAT(expired.detail, HasSubstr("TLS on the API"));
  const CheckResult federation = check_certificate_dates(kNow - 9 * kDay, kNow - kDay, kNow, warn);
  EXPECT_EQ(federation.name, "tls certificate");
  EXPECT_THAT(federation.detail, HasSubstr("parley rotate"));
}

TEST(CheckSkewTest, WarnsFromTwoSecondsAndFailsFromThirty) {
  const CheckOptions options;
  EXPECT_EQ(check_clock_skew("ru", std::chrono::milliseconds(-1999), options).level,
            CheckLevel::kOk);
  const CheckResult behind = check_clock_skew("ru", std::chrono::seconds(-2), options);
  EXPECT_EQ(behind.level, CheckLevel::kWarn);
  EXPECT_THAT(behind.detail, HasSubstr("ru is 2000 ms behind ours"));
  EXPECT_EQ(check_clock_skew("ru", std::chrono::seconds(30), options).level, CheckLevel::kFail);
}

TEST_F(CheckTest, APinnedBundleThatIsOursOrSharesOurKeysFails) {
  const Result<Home> home = open_home(home_);
  ASSERT_TRUE(home.is_ok());
  const wire::Bundle own = bundle_of(*home);
  EXPECT_THAT(check_pinned_bundle(own, own).detail, HasSubstr("this party's own"));
  wire::Bundle copy = own;
  copy.party = "ru-genstaff";
  EXPECT_THAT(check_pinned_bundle(copy, own).detail, HasSubstr("shares this party's keys"));
}

TEST(CheckModeTest, NamesReadableOrWritable) {
  EXPECT_EQ(check_file_mode("f", 0600, 077, "chmod 600 f").level, CheckLevel::kOk);
  EXPECT_THAT(check_file_mode("f", 0640, 077, "chmod 600 f").detail,
              HasSubstr("0640: readable by others (chmod 600 f)"));
  EXPECT_THAT(check_file_mode("f", 0666, 022, "chmod 644 f").detail,
              HasSubstr("0666: writable by others"));
}

// docs/protocol.md "Key rotation": after the peer's rotation the probe's heartbeat answer is
// checked with its key in force (the chain's newest), not with its pinned bundle's.
TEST(HeartbeatSkewTest, TheAnswerIsCheckedWithThePeersKeyInForce) {
  SeededRng rng(5);
  const crypto::Keys old_key = crypto::generate_keys(rng);
  const crypto::Keys new_key = crypto::generate_keys(rng);
  const crypto::Keys us = crypto::generate_keys(rng);
  wire::Rotation r;
  r.id = "0190a0a0-0000-7000-8000-000000000001";
  r.party = "ru-genstaff";
  r.n = 1;
  r.old_sign_key = old_key.verify;
  r.new_sign_key = new_key.verify;
  r.new_tls_fingerprint = std::string(64, 'e');
  r.epoch = 2;
  r.created = kNow;
  ledger::KeyChain rotated("ru-genstaff", old_key.verify);
  ASSERT_TRUE(rotated.add(4, wire::sign_rotation(r, old_key.signing, new_key.signing)).is_ok());
  const ledger::KeyChain pinned("ru-genstaff", old_key.verify);

  const wire::SignedHeartbeat beat = wire::sign_heartbeat(
      wire::make_heartbeat("us-eucom", "ru-genstaff", "127.0.0.1:7001", kNow, rng), us.signing);
  const auto answer = [&](const crypto::Keys& signer) {
    wire::HeartbeatAnswer a;
    a.from = "ru-genstaff";
    a.to = "us-eucom";
    a.time = kNow + std::chrono::seconds(3);
    a.request = wire::heartbeat_digest(beat.payload);
    return wire::encode_signed_heartbeat(wire::sign_heartbeat_answer(a, signer.signing));
  };
  const Time sent = kNow - std::chrono::seconds(1);
  const Time received = kNow + std::chrono::seconds(1);
  const Result<Duration> skew =
      heartbeat_skew(answer(new_key), beat.payload, sent, received, rotated, "us-eucom");
  ASSERT_TRUE(skew.is_ok()) << skew.status().to_string();
  EXPECT_EQ(*skew, std::chrono::seconds(3));
  // Without the rotation, or signed with the key it replaced: refused.
  EXPECT_EQ(heartbeat_skew(answer(new_key), beat.payload, sent, received, pinned, "us-eucom")
                .status()
                .code(),
            StatusCode::kUnauthenticated);
  EXPECT_EQ(heartbeat_skew(answer(old_key), beat.payload, sent, received, rotated, "us-eucom")
                .status()
                .code(),
            StatusCode::kUnauthenticated);
  // An answer to another request is no answer.
  EXPECT_FALSE(
      heartbeat_skew(answer(new_key), beat.payload + " ", sent, received, rotated, "us-eucom")
          .is_ok());
}

}  // namespace
}  // namespace parley::gateway
