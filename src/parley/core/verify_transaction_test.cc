#include "parley/core/verify_transaction.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "parley/base/rng.h"
#include "parley/catalog/catalog.h"
#include "parley/crypto/crypto.h"
#include "parley/ledger/merkle.h"
#include "parley/ledger/transcript.h"
#include "parley/wire/wire.h"

namespace parley::core {
namespace {

using namespace std::chrono_literals;

const Time kNow = time_from_unix_ms(1'795'000'000'000);

struct Party {
  std::string id;
  crypto::Keys keys;
  wire::Bundle bundle;
};

Party make_party(const std::string& id, std::uint64_t seed) {
  SeededRng rng(seed);
  Party p{id, crypto::generate_keys(rng), {}};
  p.bundle.party = id;
  p.bundle.sign_key = p.keys.verify;
  p.bundle.box_key = p.keys.box_public;
  return p;
}

// ru-genstaff's transactions to us-eucom, verified as us-eucom does.
class VerifyTransactionTest : public ::testing::Test {
 protected:
  VerifyTransactionTest() : ru_(make_party("ru-genstaff", 2)), us_(make_party("us-eucom", 1)) {
    seal_ =
        *crypto::derive_seal_key(us_.keys.box_secret, us_.keys.box_public, ru_.keys.box_public, 1);
    Line line;
    line.id = "saceur-cgs";
    line.local = "saceur";
    line.remote = wire::Address{"ru-genstaff", "cgs"};
    lines_ = {line};
  }

  PeerContext context() const {
    return PeerContext{us_.id, ru_.bundle, lines_, seal_, catalog::Catalog::builtin()};
  }

  wire::Draft draft(std::uint64_t seq) {
    wire::Draft d;
    d.id = uuid_v7(kNow, rng_);
    d.line = "saceur-cgs";
    d.seq = seq;
    d.from = {"ru-genstaff", "cgs"};
    d.to = {"us-eucom", "saceur"};
    d.type = "text";
    d.created = kNow;
    d.content = wire::Content{"{}", "hello"};
    return d;
  }

  // A transaction carrying `drafts` as the whole of ru's log, consistent from the empty log.
  wire::Transaction transaction(const std::vector<wire::Draft>& drafts) {
    const crypto::SealKey seal =
        *crypto::derive_seal_key(ru_.keys.box_secret, ru_.keys.box_public, us_.keys.box_public, 1);
    std::vector<std::string> texts;
    std::vector<ledger::Hash> leaves;
    for (const wire::Draft& d : drafts) {
      texts.push_back(wire::encode_envelope(
          wire::seal_and_sign(d, seal, ru_.keys.signing, ru_.id, rng_).envelope));
      leaves.push_back(ledger::leaf_hash(as_bytes(texts.back())));
    }
    const ledger::NodeSource source = ledger::leaves_source(leaves);
    wire::Transaction tx;
    tx.id = uuid_v7(kNow, rng_);
    tx.from = ru_.id;
    tx.to = us_.id;
    tx.sth = ledger::encode_sth(ledger::sign_sth(
        {ru_.id, us_.id, leaves.size(), ledger::root_of(leaves), kNow}, ru_.keys.signing));
    for (std::uint64_t i = 0; i < texts.size(); ++i) {
      tx.entries.push_back({i, texts[i], *ledger::inclusion_proof(i, leaves.size(), source)});
    }
    tx.consistency.push_back(
        {0, ledger::empty_root(), *ledger::consistency_proof(0, leaves.size(), source)});
    return tx;
  }

  Verified verify(const wire::Transaction& tx) {
    return verify_transaction(wire::encode_transaction(tx), context(), state_, kNow);
  }

  SeededRng rng_{7};
  Party ru_;
  Party us_;
  crypto::SealKey seal_{};
  std::vector<Line> lines_;
  PeerState state_;
};

TEST_F(VerifyTransactionTest, AValidTransactionIsOneVerifiedBatchOfFreshEnvelopes) {
  const Verified v = verify(transaction({draft(1), draft(2)}));
  const auto* batch = std::get_if<VerifiedBatch>(&v);
  ASSERT_NE(batch, nullptr) << std::get<TransactionRefusal>(v).why;
  EXPECT_EQ(batch->head.size, 2u);
  ASSERT_EQ(batch->envelopes.size(), 2u);
  for (const VerifiedEnvelope& e : batch->envelopes) {
    EXPECT_TRUE(e.fresh);
    EXPECT_TRUE(e.refusal.empty()) << e.refusal;
    ASSERT_NE(e.line, nullptr);
    EXPECT_EQ(e.opened.content.text, "hello");
  }
  EXPECT_EQ(batch->envelopes[1].index, 1u);
}

// A transaction parsed ahead (the precheck's parse, PeerContext::parsed) is verified as its
// body would be, without parsing the body again: the same verdict for the same bytes, and the
// parse, not the body, is what is read (here the body is not even a transaction).
TEST_F(VerifyTransactionTest, ATransactionParsedAheadIsVerifiedWithoutParsingItsBodyAgain) {
  const wire::Transaction tx = transaction({draft(1), draft(2)});
  const std::string body = wire::encode_transaction(tx);
  Result<wire::Transaction> parsed = wire::parse_transaction(body);
  ASSERT_TRUE(parsed.is_ok());
  PeerContext ahead = context();
  ahead.parsed = &*parsed;
  const Verified once = verify_transaction(body, ahead, state_, kNow);
  const Verified twice = verify_transaction(body, context(), state_, kNow);
  const auto* a = std::get_if<VerifiedBatch>(&once);
  const auto* b = std::get_if<VerifiedBatch>(&twice);
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(a->tx, b->tx);
  EXPECT_EQ(a->sth, b->sth);
  ASSERT_EQ(a->envelopes.size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) EXPECT_EQ(a->envelopes[i].json, b->envelopes[i].json);
  const Verified unread = verify_transaction("{\"v\":", ahead, state_, kNow);
  ASSERT_NE(std::get_if<VerifiedBatch>(&unread), nullptr);
  // A malformed body parses to nothing ahead (precheck plans nothing): refused as before.
  const Verified garbage = verify_transaction("{\"v\":", context(), state_, kNow);
  EXPECT_EQ(std::get<TransactionRefusal>(garbage).reason, FrameRefusal::kMalformed);
}

TEST_F(VerifyTransactionTest, AMessageThatCannotBeAcceptedIsRefusedAloneNotTheTransaction) {
  wire::Draft unknown = draft(1);
  unknown.line = "no-such-line";
  wire::Draft expired = draft(2);
  expired.expires = kNow - 1s;
  const Verified v = verify(transaction({unknown, expired, draft(3)}));
  const auto* batch = std::get_if<VerifiedBatch>(&v);
  ASSERT_NE(batch, nullptr);
  EXPECT_NE(batch->envelopes[0].refusal.find("unknown line"), std::string::npos);
  EXPECT_NE(batch->envelopes[1].refusal.find("expired"), std::string::npos);
  EXPECT_TRUE(batch->envelopes[2].refusal.empty());
  for (const VerifiedEnvelope& e : batch->envelopes) EXPECT_TRUE(e.fresh);  // stored, as evidence
}

TEST_F(VerifyTransactionTest, AnEnvelopeNotInTheSignedHeadRefusesTheWholeTransaction) {
  wire::Transaction tx = transaction({draft(1), draft(2)});
  std::swap(tx.entries[0].proof, tx.entries[1].proof);
  tx.entries[1].proof[0][0] ^= 1;
  const Verified v = verify(tx);
  const auto* refused = std::get_if<TransactionRefusal>(&v);
  ASSERT_NE(refused, nullptr);
  EXPECT_FALSE(refused->fork);
  EXPECT_NE(refused->why.find("envelope 0"), std::string::npos) << refused->why;
  EXPECT_EQ(refused->reason, FrameRefusal::kBadInclusion);
}

TEST_F(VerifyTransactionTest, ATransactionForAnotherPartyIsRefused) {
  wire::Transaction tx = transaction({draft(1)});
  tx.to = "cn-cmc";
  const Verified v = verify(tx);
  ASSERT_TRUE(std::holds_alternative<TransactionRefusal>(v));
  EXPECT_NE(std::get<TransactionRefusal>(v).why.find("cn-cmc"), std::string::npos);
  EXPECT_EQ(std::get<TransactionRefusal>(v).reason, FrameRefusal::kBadHead);
  const Verified garbage = verify_transaction("{\"v\":", context(), state_, kNow);
  ASSERT_TRUE(std::holds_alternative<TransactionRefusal>(garbage));
  EXPECT_EQ(std::get<TransactionRefusal>(garbage).reason, FrameRefusal::kMalformed);
  EXPECT_EQ(frame_refusal_name(FrameRefusal::kMalformed), "malformed");
}

TEST_F(VerifyTransactionTest, AHeadContradictingTheCountersignedOneIsAFork) {
  const wire::Transaction tx = transaction({draft(1), draft(2)});
  state_.size = 2;
  state_.root = ledger::leaf_hash(as_bytes(std::string("another history")));
  const Verified v = verify(tx);
  const auto* refused = std::get_if<TransactionRefusal>(&v);
  ASSERT_NE(refused, nullptr);
  EXPECT_TRUE(refused->fork);
  EXPECT_EQ(refused->reason, FrameRefusal::kFork);
  EXPECT_EQ(refused->sth, tx.sth);  // the evidence: the conflicting head as signed
}

TEST_F(VerifyTransactionTest, AHeadWithoutAProofFromTheCountersignedOneIsRefusedButNoFork) {
  const wire::Transaction first = transaction({draft(1)});
  const Verified verified = verify(first);
  ASSERT_TRUE(std::holds_alternative<VerifiedBatch>(verified));
  state_.root = std::get<VerifiedBatch>(verified).head.root;
  state_.size = 1;
  wire::Transaction tx = transaction({draft(2), draft(3)});
  tx.consistency.clear();
  const Verified v = verify(tx);
  const auto* refused = std::get_if<TransactionRefusal>(&v);
  ASSERT_NE(refused, nullptr);
  EXPECT_FALSE(refused->fork);
  EXPECT_EQ(refused->reason, FrameRefusal::kInconsistent);
  EXPECT_NE(refused->why.find("no consistency proof"), std::string::npos) << refused->why;
}

TEST_F(VerifyTransactionTest, ASeqAlreadyHeldIsARepeatAndAReusedIdIsRefused) {
  const wire::Draft one = draft(1);
  state_.seqs["saceur-cgs"].insert(1);
  Verified v = verify(transaction({one, draft(2)}));
  const auto* batch = std::get_if<VerifiedBatch>(&v);
  ASSERT_NE(batch, nullptr);
  EXPECT_FALSE(batch->envelopes[0].fresh);
  EXPECT_TRUE(batch->envelopes[1].fresh);

  // A new seq under an id already received as another message: a forgery or a bug.
  wire::Draft again = draft(3);
  again.id = one.id;
  state_.stored_ids.insert(one.id);
  v = verify(transaction({again}));
  ASSERT_TRUE(std::holds_alternative<TransactionRefusal>(v));
  EXPECT_EQ(std::get<TransactionRefusal>(v).envelope_id, one.id);
  EXPECT_EQ(std::get<TransactionRefusal>(v).reason, FrameRefusal::kConflict);
}

}  // namespace
}  // namespace parley::core
