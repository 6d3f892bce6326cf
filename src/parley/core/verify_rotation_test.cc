// A peer's key rotation in its transactions (docs/protocol.md "Key rotation"), as
// verify_transaction sees it: the statement is opened with the key we pinned, the head and the
// entries after it with the key in force at their place.
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "parley/base/rng.h"
#include "parley/catalog/catalog.h"
#include "parley/core/verify_transaction.h"
#include "parley/crypto/crypto.h"
#include "parley/ledger/key_chain.h"
#include "parley/ledger/merkle.h"
#include "parley/ledger/transcript.h"
#include "parley/wire/rotation.h"
#include "parley/wire/wire.h"

namespace parley::core {
namespace {

const Time kNow = time_from_unix_ms(1'796'500'000'000);

// One entry of ru-genstaff's log as the test writes it.
struct Entry {
  std::string text;
  bool rotation = false;
};

// ru-genstaff (which rotates from k1 to k2) sends to us-eucom, which pinned k1.
class VerifyRotationTest : public ::testing::Test {
 protected:
  VerifyRotationTest() {
    SeededRng keys(41);
    k1_ = crypto::generate_keys(keys);
    k2_ = crypto::generate_keys(keys);
    stranger_ = crypto::generate_keys(keys);
    us_ = crypto::generate_keys(keys);
    ru_bundle_.party = "ru-genstaff";
    ru_bundle_.sign_key = k1_.verify;
    ru_bundle_.box_key = k1_.box_public;
    seal_ = *crypto::derive_seal_key(us_.box_secret, us_.box_public, k1_.box_public, 1);
    Line line;
    line.id = "saceur-cgs";
    line.local = "saceur";
    line.remote = wire::Address{"ru-genstaff", "cgs"};
    lines_ = {line};
  }

  PeerContext context(const ledger::KeyChain* chain = nullptr) const {
    PeerContext c{us_id_, ru_bundle_, lines_, seal_, catalog::Catalog::builtin()};
    c.chain = chain;
    return c;
  }

  Entry envelope(const crypto::Keys& key) {
    wire::Draft d;
    d.id = uuid_v7(kNow, rng_);
    d.line = "saceur-cgs";
    d.seq = ++seq_;
    d.from = {"ru-genstaff", "cgs"};
    d.to = {"us-eucom", "saceur"};
    d.type = "text";
    d.created = kNow;
    d.content = wire::Content{"{}", "hello"};
    return {wire::encode_envelope(
                wire::seal_and_sign(d, seal_, key.signing, "ru-genstaff", rng_).envelope),
            false};
  }

  Entry rotation(const crypto::Keys& from, const crypto::Keys& to, std::uint64_t n = 1) {
    wire::Rotation r;
    r.id = uuid_v7(kNow, rng_);
    r.party = "ru-genstaff";
    r.n = n;
    r.old_sign_key = from.verify;
    r.new_sign_key = to.verify;
    r.new_tls_fingerprint = std::string(64, 'b');
    r.epoch = static_cast<std::uint32_t>(n + 1);
    r.created = kNow;
    return {wire::sign_rotation(r, from.signing, to.signing), true};
  }

  // A transaction carrying `carried` (indices) of `log`, under a head of the whole log signed
  // with `head_key`, consistent from the head of state_.
  wire::Transaction transaction(const std::vector<Entry>& log, const crypto::Keys& head_key,
                                const std::vector<std::uint64_t>& carried) {
    std::vector<ledger::Hash> leaves;
    for (const Entry& e : log) leaves.push_back(ledger::leaf_hash(as_bytes(e.text)));
    const ledger::NodeSource source = ledger::leaves_source(leaves);
    wire::Transaction tx;
    tx.id = uuid_v7(kNow, rng_);
    tx.from = "ru-genstaff";
    tx.to = "us-eucom";
    tx.sth = ledger::encode_sth(
        ledger::sign_sth({"ru-genstaff", "us-eucom", leaves.size(), ledger::root_of(leaves), kNow},
                         head_key.signing));
    for (const std::uint64_t i : carried) {
      wire::TransactionEntry entry{i, log[i].text,
                                   *ledger::inclusion_proof(i, leaves.size(), source)};
      entry.rotation = log[i].rotation;
      tx.entries.push_back(entry);
    }
    // From the head we countersigned last (state_), as the sender does.
    const std::vector<ledger::Hash> before(
        leaves.begin(), leaves.begin() + static_cast<std::ptrdiff_t>(state_.size));
    tx.consistency.push_back({state_.size, ledger::root_of(before),
                              *ledger::consistency_proof(state_.size, leaves.size(), source)});
    return tx;
  }

  Verified verify(const wire::Transaction& tx, const ledger::KeyChain* chain = nullptr) {
    return verify_transaction(wire::encode_transaction(tx), context(chain), state_, kNow);
  }

  SeededRng rng_{43};
  crypto::Keys k1_;
  crypto::Keys k2_;
  crypto::Keys stranger_;
  crypto::Keys us_;
  std::string us_id_ = "us-eucom";  // PeerContext holds a reference to it
  wire::Bundle ru_bundle_;
  crypto::SealKey seal_{};
  std::vector<Line> lines_;
  PeerState state_;
  std::uint64_t seq_ = 0;
};

TEST_F(VerifyRotationTest, ARotationSignedByThePinnedKeyPinsTheNewKeyForWhatFollows) {
  // 0: k1, 1: the rotation (k1), 2-3: k2; the head of size 4 is k2's.
  const std::vector<Entry> log = {envelope(k1_), rotation(k1_, k2_), envelope(k2_), envelope(k2_)};
  const Verified v = verify(transaction(log, k2_, {0, 1, 2, 3}));
  const auto* batch = std::get_if<VerifiedBatch>(&v);
  ASSERT_NE(batch, nullptr) << std::get<TransactionRefusal>(v).why;
  ASSERT_EQ(batch->rotations.size(), 1u);
  EXPECT_EQ(batch->rotations[0].index, 1u);
  EXPECT_EQ(batch->rotations[0].rotation.new_sign_key, k2_.verify);
  EXPECT_EQ(batch->envelopes.size(), 3u);  // the statement is no message
  ASSERT_TRUE(batch->chain.has_value());
  EXPECT_EQ(batch->chain->newest().key, k2_.verify);
  EXPECT_EQ(batch->chain->entry_key(2), k2_.verify);

  // The next transaction, verified with the chain pinned: k2 alone signs after the rotation.
  state_.size = 4;
  state_.root = batch->head.root;
  const ledger::KeyChain pinned = *batch->chain;
  std::vector<Entry> longer = log;
  longer.push_back(envelope(k2_));
  Verified next = verify(transaction(longer, k2_, {4}), &pinned);
  ASSERT_TRUE(std::holds_alternative<VerifiedBatch>(next))
      << std::get<TransactionRefusal>(next).why;
  EXPECT_FALSE(std::get<VerifiedBatch>(next).chain.has_value());  // nothing new to pin

  // An entry after the rotation signed with the old key is refused.
  longer.back() = envelope(k1_);
  next = verify(transaction(longer, k2_, {4}), &pinned);
  const auto* refused = std::get_if<TransactionRefusal>(&next);
  ASSERT_NE(refused, nullptr);
  EXPECT_EQ(refused->reason, FrameRefusal::kBadEnvelope);
  // And so is a head after it signed with the old key.
  longer.back() = envelope(k2_);
  next = verify(transaction(longer, k1_, {4}), &pinned);
  refused = std::get_if<TransactionRefusal>(&next);
  ASSERT_NE(refused, nullptr);
  EXPECT_EQ(refused->reason, FrameRefusal::kBadHead);
  EXPECT_NE(refused->why.find("not the key in force"), std::string::npos) << refused->why;
}

TEST_F(VerifyRotationTest, ARotationNotSignedByThePinnedKeyIsRefusedAndNothingIsPinned) {
  // A stranger's statement handing ru-genstaff's log to k2, and k2's entries after it.
  const std::vector<Entry> log = {envelope(k1_), rotation(stranger_, k2_), envelope(k2_)};
  const Verified v = verify(transaction(log, k2_, {0, 1, 2}));
  const auto* refused = std::get_if<TransactionRefusal>(&v);
  ASSERT_NE(refused, nullptr);
  EXPECT_EQ(refused->reason, FrameRefusal::kBadEnvelope);
  EXPECT_NE(refused->why.find("envelope 1: rotation: bad signature"), std::string::npos)
      << refused->why;
  // Without the statement, a head signed by k2 is a bad head: k2 is nobody's key here.
  const Verified alone = verify(transaction(log, k2_, {0}));
  ASSERT_TRUE(std::holds_alternative<TransactionRefusal>(alone));
  EXPECT_EQ(std::get<TransactionRefusal>(alone).reason, FrameRefusal::kBadHead);
}

TEST_F(VerifyRotationTest, TheHeadThatFirstIncludesTheStatementIsTheOldKeys) {
  const std::vector<Entry> log = {envelope(k1_), rotation(k1_, k2_)};
  Verified v = verify(transaction(log, k1_, {0, 1}));
  ASSERT_TRUE(std::holds_alternative<VerifiedBatch>(v)) << std::get<TransactionRefusal>(v).why;
  v = verify(transaction(log, k2_, {0, 1}));
  const auto* refused = std::get_if<TransactionRefusal>(&v);
  ASSERT_NE(refused, nullptr);
  EXPECT_EQ(refused->reason, FrameRefusal::kBadHead);
}

TEST_F(VerifyRotationTest, AStatementSentAgainMustBeTheOneAcceptedBefore) {
  const std::vector<Entry> log = {envelope(k1_), rotation(k1_, k2_), envelope(k2_)};
  const Verified first = verify(transaction(log, k2_, {0, 1, 2}));
  ASSERT_TRUE(std::holds_alternative<VerifiedBatch>(first));
  const ledger::KeyChain pinned = *std::get<VerifiedBatch>(first).chain;
  // The same statement again (a resend, carried with a FLASH): accepted, nothing new.
  Verified again = verify(transaction(log, k2_, {1, 2}), &pinned);
  ASSERT_TRUE(std::holds_alternative<VerifiedBatch>(again))
      << std::get<TransactionRefusal>(again).why;
  EXPECT_EQ(std::get<VerifiedBatch>(again).rotations.size(), 1u);
  EXPECT_FALSE(std::get<VerifiedBatch>(again).chain.has_value());
  // Another statement at that index, even signed by k1: not the rotation we pinned.
  std::vector<Entry> other = log;
  other[1] = rotation(k1_, stranger_);
  again = verify(transaction(other, k2_, {1}), &pinned);
  const auto* refused = std::get_if<TransactionRefusal>(&again);
  ASSERT_NE(refused, nullptr);
  EXPECT_NE(refused->why.find("not the one accepted before"), std::string::npos) << refused->why;
}

TEST_F(VerifyRotationTest, AnEnvelopeCarriedAsARotationOrTheReverseDoesNotVerify) {
  const std::vector<Entry> log = {envelope(k1_), rotation(k1_, k2_)};
  wire::Transaction tx = transaction(log, k1_, {0, 1});
  tx.entries[0].rotation = true;
  tx.entries[1].rotation = false;
  const Verified v = verify(tx);
  const auto* refused = std::get_if<TransactionRefusal>(&v);
  ASSERT_NE(refused, nullptr);
  EXPECT_EQ(refused->reason, FrameRefusal::kBadEnvelope);
}

TEST_F(VerifyRotationTest, ARotationEntryTravelsByItsOwnFieldName) {
  const std::vector<Entry> log = {rotation(k1_, k2_)};
  const std::string text = wire::encode_transaction(transaction(log, k1_, {0}));
  EXPECT_NE(text.find("{\"index\":0,\"rotation\":{\"key\":\"ru-genstaff\""), std::string::npos);
  const Result<wire::Transaction> parsed = wire::parse_transaction(text);
  ASSERT_TRUE(parsed.is_ok()) << parsed.status().to_string();
  EXPECT_TRUE(parsed->entries[0].rotation);
  EXPECT_EQ(parsed->entries[0].envelope, log[0].text);
  std::string both = text;
  both.replace(both.find("\"proof\""), 7, "\"envelope\":{},\"proof\"");
  EXPECT_FALSE(wire::parse_transaction(both).is_ok());
}

}  // namespace
}  // namespace parley::core
