// Our key rotations in the home (gateway/home.h "Our key rotations"; `parley rotate`): what
// rotate_home writes loads back as a chain from the bundle's key, an interrupted rotation
// leaves the rotations as they were, and files that do not hold together are refused.
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "parley/gateway/home.h"
#include "parley/gateway/witness.h"
#include "parley/ledger/checkpoint.h"
#include "parley/ledger/key_chain.h"
#include "parley/store/memory/memory_store.h"

namespace parley::gateway {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

const Time kNow = time_from_unix_ms(1'795'000'000'000);

class HomeRotationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "parley-rotation-test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    root_ = pattern;
    home_ = root_ / "home";
    InitOptions o;
    o.home = home_;
    o.party = "us-eucom";
    o.encrypt = false;
    ASSERT_TRUE(init_home(o).is_ok());
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }

  Home open() {
    Result<Home> home = open_home(home_);
    EXPECT_TRUE(home.is_ok()) << home.status().to_string();
    return home.is_ok() ? std::move(*home) : Home{};
  }
  Rotated rotate() {
    Result<Rotated> r = rotate_home(open(), kNow);
    EXPECT_TRUE(r.is_ok()) << r.status().to_string();
    return r.is_ok() ? *r : Rotated{};
  }
  static std::string read(const fs::path& path) {
    std::ifstream in(path);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  static void write(const fs::path& path, const std::string& text) {
    std::ofstream out(path, std::ios::trunc);
    out << text;
  }
  // open_home's error, which must name `file`.
  void expect_refused_naming(const fs::path& file, const std::string& words) {
    Result<Home> home = open_home(home_);
    ASSERT_FALSE(home.is_ok());
    EXPECT_EQ(home.status().code(), StatusCode::kDataLoss);
    EXPECT_THAT(home.status().message(), HasSubstr(file.string()));
    EXPECT_THAT(home.status().message(), HasSubstr(words));
  }

  fs::path root_;
  fs::path home_;
};

TEST_F(HomeRotationTest, RotationsLoadBackAsAChainFromTheBundleKey) {
  const Home before = open();
  EXPECT_TRUE(before.rotations.empty());
  const Rotated first = rotate();
  const Rotated second = rotate();
  EXPECT_EQ(first.n, 1u);
  EXPECT_EQ(first.epoch, 2u);
  EXPECT_EQ(second.n, 2u);
  EXPECT_EQ(second.epoch, 3u);

  const Home home = open();
  ASSERT_EQ(home.rotations.size(), 2u);
  // The bundle keeps the first key and certificate: the chain starts there.
  EXPECT_EQ(home.keys.verify, before.keys.verify);
  EXPECT_EQ(bundle_of(home).sign_key, before.keys.verify);
  EXPECT_EQ(bundle_of(home).tls_fingerprint, before.tls_fingerprint);
  ledger::KeyChain chain("us-eucom", home.keys.verify);
  for (std::size_t i = 0; i < 2; ++i) {
    const OwnRotation& r = home.rotations[i];
    Result<wire::Rotation> added = chain.add(i, r.statement);
    ASSERT_TRUE(added.is_ok()) << added.status().to_string();
    EXPECT_EQ(added->new_sign_key, crypto::verify_key_of(r.signing));
    EXPECT_EQ(*net::cert_fingerprint(r.tls.cert_pem), r.rotation.new_tls_fingerprint);
    EXPECT_EQ(read(home_ / "keys" / "rotations" / (std::to_string(i + 1) + ".dsse")), r.statement);
  }
  EXPECT_EQ(home.rotations[0].rotation.old_sign_key, before.keys.verify);
  EXPECT_EQ(home.rotations[1].rotation.new_sign_key, second.key);
  EXPECT_EQ(home.rotations[1].rotation.new_tls_fingerprint, second.tls_fingerprint);
  // The core's view, and the identity in force after each rotation.
  const core::OwnRotations own = home.own_rotations();
  ASSERT_EQ(own.statements.size(), 2u);
  EXPECT_EQ(crypto::verify_key_of(own.keys[1]), second.key);
  EXPECT_EQ(home.tls_of(0).cert_pem, home.tls.cert_pem);
  EXPECT_EQ(home.tls_of(2).cert_pem, home.rotations[1].tls.cert_pem);
}

TEST_F(HomeRotationTest, AnInterruptedRotationLeavesTheRotationsAsTheyWere) {
  rotate();
  // Rotation 2 interrupted before its statement was in place: its key files (and a partial
  // statement) are there, but no rotation 2.
  write(home_ / "keys" / "sign.2.key", "not a key\n");
  write(home_ / "tls" / "cert.2.pem", "junk");
  write(home_ / "tls" / "key.2.pem", "junk");
  write(home_ / "keys" / "rotations" / "2.dsse.partial", "{");
  fs::permissions(home_ / "keys" / "sign.2.key", fs::perms::owner_read | fs::perms::owner_write);
  fs::permissions(home_ / "tls" / "key.2.pem", fs::perms::owner_read | fs::perms::owner_write);
  EXPECT_EQ(open().rotations.size(), 1u);
  // The next run replaces them.
  const Rotated second = rotate();
  EXPECT_EQ(second.n, 2u);
  const Home home = open();
  ASSERT_EQ(home.rotations.size(), 2u);
  EXPECT_EQ(crypto::verify_key_of(home.rotations[1].signing), second.key);
}

TEST_F(HomeRotationTest, FilesThatDoNotHoldTogetherAreRefusedNamingTheFile) {
  rotate();
  rotate();
  const fs::path keys = home_ / "keys";
  const fs::path tls = home_ / "tls";
  // The key rotation 2 put in force is not the key its statement names.
  const std::string sign2 = read(keys / "sign.2.key");
  write(keys / "sign.2.key", read(keys / "sign.1.key"));
  expect_refused_naming(keys / "sign.2.key", "not the key rotation 2 put in force");
  write(keys / "sign.2.key", sign2);
  // Another certificate than the one announced.
  const std::string cert1 = read(tls / "cert.1.pem");
  write(tls / "cert.1.pem", read(tls / "cert.2.pem"));
  expect_refused_naming(tls / "cert.1.pem", "not the certificate rotation 1 announced");
  write(tls / "cert.1.pem", cert1);
  // A statement that does not chain: rotation 2 in place of rotation 1 (not signed by the
  // bundle's key).
  const std::string first = read(keys / "rotations" / "1.dsse");
  write(keys / "rotations" / "1.dsse", read(keys / "rotations" / "2.dsse"));
  expect_refused_naming(keys / "rotations" / "1.dsse", "must chain");
  write(keys / "rotations" / "1.dsse", first);
  // A gap, and a name that is no statement.
  fs::rename(keys / "rotations" / "1.dsse", root_ / "1.dsse");
  expect_refused_naming(keys / "rotations" / "2.dsse", "rotation 1 is missing");
  fs::rename(root_ / "1.dsse", keys / "rotations" / "1.dsse");
  write(keys / "rotations" / "03.dsse", first);
  expect_refused_naming(keys / "rotations" / "03.dsse", "not a rotation statement");
  fs::remove(keys / "rotations" / "03.dsse");
  EXPECT_EQ(open().rotations.size(), 2u);
}

// Our rotation `n` of `home` as the store keeps it at entry `index` of our log for `peer`.
core::PutRotation stored(const Home& home, std::uint64_t n, std::uint64_t index,
                         const std::string& peer) {
  const OwnRotation& r = home.rotations.at(n - 1);
  core::PutRotation put;
  put.owner = home.config.party;
  put.peer = peer;
  put.index = index;
  put.n = n;
  put.id = r.rotation.id;
  put.statement = r.statement;
  put.new_sign_key = r.rotation.new_sign_key;
  put.new_tls_fingerprint = r.rotation.new_tls_fingerprint;
  put.epoch = r.rotation.epoch;
  return put;
}

// docs/protocol.md "Key rotation": in our log for ru-genstaff our rotation 1 is entry 3 and
// rotation 2 entry 6, in our log for nato-shape rotation 1 is entry 0. A checkpoint is signed by
// the key of its head: the bundle's up to size 4 (the head that first holds statement 1 is still
// the old key's), rotation 1's for sizes 5 to 7, rotation 2's from 8; in the other log,
// rotation 1's from size 2.
TEST_F(HomeRotationTest, OurCheckpointIsSignedByTheKeyOfItsHeadAlongOurChainInThatLog) {
  rotate();
  rotate();
  const Home home = open();
  ASSERT_EQ(home.rotations.size(), 2u);
  store::MemoryStore store(store::MemoryStore::new_disk());
  ASSERT_TRUE(store
                  .apply({stored(home, 1, 3, "ru-genstaff"), stored(home, 2, 6, "ru-genstaff"),
                          stored(home, 1, 0, "nato-shape")})
                  .is_ok());
  const crypto::VerifyKey first = home.keys.verify;
  const crypto::VerifyKey one = crypto::verify_key_of(home.rotations[0].signing);
  const crypto::VerifyKey two = crypto::verify_key_of(home.rotations[1].signing);
  const auto signed_by = [&](const std::string& peer, std::uint64_t size,
                             const crypto::VerifyKey& key) {
    const ledger::Hash root = ledger::leaf_hash(as_bytes("root " + std::to_string(size)));
    const Result<std::string> note = our_checkpoint(home, store, peer, size, root);
    if (!note.is_ok()) return ::testing::AssertionFailure() << note.status().to_string();
    const std::string origin = ledger::origin_of("us-eucom", peer);
    const Result<ledger::OpenedCheckpoint> opened =
        ledger::open_checkpoint(*note, {origin, ledger::kNoteKeyEd25519, key});
    if (!opened.is_ok()) return ::testing::AssertionFailure() << opened.status().to_string();
    if (opened->checkpoint != ledger::Checkpoint{origin, size, root, {}}) {
      return ::testing::AssertionFailure() << "another checkpoint: " << opened->note.text;
    }
    return ::testing::AssertionSuccess();
  };
  for (std::uint64_t size = 0; size <= 10; ++size) {
    const crypto::VerifyKey& key = size <= 4 ? first : size <= 7 ? one : two;
    EXPECT_TRUE(signed_by("ru-genstaff", size, key)) << "size " << size;
  }
  EXPECT_FALSE(signed_by("ru-genstaff", 5, first));  // the old key no longer signs there
  EXPECT_TRUE(signed_by("nato-shape", 1, first));
  EXPECT_TRUE(signed_by("nato-shape", 2, one));
  EXPECT_TRUE(signed_by("cn-cmc", 9, first));  // a log without our rotations yet

  // A rotation the store holds that is not this home's: nothing is signed with a guess.
  core::PutRotation foreign = stored(home, 1, 2, "cn-cmc");
  foreign.statement = home.rotations[1].statement;
  const Result<crypto::SigningKey> refused = head_key_in(home, {foreign}, 5);
  ASSERT_FALSE(refused.is_ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kDataLoss);
  EXPECT_THAT(refused.status().message(), HasSubstr("not this home's keys/rotations/1.dsse"));
}

}  // namespace
}  // namespace parley::gateway
