// PeerSession as the receiver of a peer's key rotation (docs/protocol.md "Key rotation"): the
// statement is stored with the batch that carried it, as an entry of the peer's log, and the
// peer's chain of keys is pinned only once that batch is durable; a restart rebuilds it from
// the store.
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "parley/core/peer_log_for_test.h"
#include "parley/core/session_harness.h"

namespace parley::core {
namespace {

crypto::Keys new_keys(std::uint64_t seed) {
  SeededRng rng(seed);
  return crypto::generate_keys(rng);
}

std::size_t rotations_in(const std::vector<Action>& out) {
  std::size_t n = 0;
  for (const Persist& p : all_of<Persist>(out)) n += records_of<PutRotation>(p);
  return n;
}

// ru's log: entry 0 (a message, old key) and entry 1 (its rotation to `next`), carried whole
// under the head of size 2, which the old key signs.
struct Rotated {
  std::string first;
  std::string rotation;
  std::string body;
};
Rotated rotate(Harness& h, RuLog& log, const crypto::Keys& next) {
  Rotated r;
  r.first = log.envelope(h.keys(kRu).keys, 1);
  r.rotation = log.rotation(h.keys(kRu).keys, next, 1);
  r.body = log.transaction({0, 1}, 2, h.keys(kRu).keys, 0);
  return r;
}

TEST(PeerSessionRotationTest, TheRotationIsStoredWithItsBatchAndPinnedOnlyOnceDurable) {
  Harness h;
  RuLog log(h);
  const crypto::Keys next = new_keys(7);
  const Rotated r = rotate(h, log, next);

  std::vector<Action> out = h.feed(kUs, TransactionReceived{5, r.body});
  // Stored with the batch: the statement, its log entry and its inclusion; nothing answered,
  // nothing pinned yet.
  ASSERT_EQ(count_of<Persist>(out), 1u);
  EXPECT_EQ(rotations_in(out), 1u);
  EXPECT_EQ(count_of<Answer>(out), 0u);
  EXPECT_EQ(h.session(kUs).peer_chain().links().size(), 1u);
  EXPECT_EQ(h.session(kUs).peer_chain().newest().key, h.keys(kRu).keys.verify);
  EXPECT_TRUE(notices_of(out, NoticeKind::kPeerKeyRotated).empty());

  settle(h.session(kUs), h.store(kUs), h.now, out);
  ASSERT_EQ(count_of<Answer>(out), 1u);
  // The receipt countersigns the head and names both entries, in transaction order.
  const ledger::ReceiptV2 receipt = receipt_of(all_of<Answer>(out)[0], h.keys(kUs));
  EXPECT_EQ(receipt.body.ids, (std::vector<std::string>{r.first, r.rotation}));
  EXPECT_EQ(receipt.body.indices, (std::vector<std::uint64_t>{0, 1}));
  // Durable: pinned, and said once.
  ASSERT_EQ(h.session(kUs).peer_chain().links().size(), 2u);
  EXPECT_EQ(h.session(kUs).peer_chain().newest().key, next.verify);
  EXPECT_EQ(h.session(kUs).peer_chain().newest().from_index, 2u);
  const std::vector<Notice> rotated = notices_of(out, NoticeKind::kPeerKeyRotated);
  ASSERT_EQ(rotated.size(), 1u);
  EXPECT_EQ(rotated[0].peer, "ru-genstaff");
  EXPECT_EQ(rotated[0].rotation, 1u);
  EXPECT_EQ(rotated[0].tls_fingerprint, std::string(64, 'e'));

  // The statement exactly as received, an entry of ru's log with its proof in the head.
  const auto& stored = h.store(kUs).rotations("ru-genstaff", "us-eucom");
  ASSERT_EQ(stored.size(), 1u);
  const PutRotation& put = stored.at(1);
  EXPECT_EQ(put.id, r.rotation);
  EXPECT_EQ(put.statement, log.text(1));
  EXPECT_EQ(put.n, 1u);
  EXPECT_EQ(put.epoch, 2u);
  EXPECT_EQ(put.new_sign_key, next.verify);
  EXPECT_EQ(h.store(kUs).log("ru-genstaff", "us-eucom").at(1).message_id, r.rotation);
  EXPECT_EQ(h.store(kUs).log("ru-genstaff", "us-eucom").at(1).leaf_hash,
            ledger::leaf_hash(as_bytes(log.text(1))));
  ASSERT_NE(h.store(kUs).inclusion(r.rotation), nullptr);
  EXPECT_EQ(h.store(kUs).inclusion(r.rotation)->size, 2u);
  EXPECT_NE(h.store(kUs).find(r.first), nullptr);
}

TEST(PeerSessionRotationTest, ABatchTheStoreRefusesPinsNothing) {
  Harness h;
  RuLog log(h);
  const crypto::Keys next = new_keys(7);
  const Rotated r = rotate(h, log, next);

  std::vector<Action> out = h.feed(kUs, TransactionReceived{5, r.body});
  ASSERT_EQ(count_of<Persist>(out), 1u);
  out = h.feed(kUs,
               PersistRefused{all_of<Persist>(out)[0].batch, Status::already_exists("a conflict")});
  ASSERT_EQ(count_of<Answer>(out), 1u);
  EXPECT_EQ(all_of<Answer>(out)[0].http_status, 400);
  EXPECT_EQ(h.session(kUs).peer_chain().links().size(), 1u);
  EXPECT_TRUE(notices_of(out, NoticeKind::kPeerKeyRotated).empty());
  EXPECT_TRUE(h.store(kUs).rotations("ru-genstaff", "us-eucom").empty());

  // Sent again, it is stored and pinned.
  out = h.feed_durable(kUs, TransactionReceived{6, r.body});
  ASSERT_EQ(count_of<Answer>(out), 1u);
  EXPECT_EQ(all_of<Answer>(out)[0].http_status, 200);
  EXPECT_EQ(h.session(kUs).peer_chain().newest().key, next.verify);
  EXPECT_EQ(h.store(kUs).rotations("ru-genstaff", "us-eucom").size(), 1u);
}

TEST(PeerSessionRotationTest, AfterTheRotationTheNewKeySignsAndTheOldKeyIsRefused) {
  Harness h;
  RuLog log(h);
  const crypto::Keys old = h.keys(kRu).keys;
  const crypto::Keys next = new_keys(7);
  const Rotated r = rotate(h, log, next);
  ASSERT_EQ(all_of<Answer>(h.feed_durable(kUs, TransactionReceived{5, r.body}))[0].http_status,
            200);

  // Entry 2 signed with the old key, under a head the new key signs: refused whole.
  RuLog forged = log;
  forged.envelope(old, 2);
  std::vector<Action> out =
      h.feed_durable(kUs, TransactionReceived{6, forged.transaction({2}, 3, next, 2)});
  ASSERT_EQ(count_of<Answer>(out), 1u);
  EXPECT_EQ(all_of<Answer>(out)[0].http_status, 400);
  EXPECT_EQ(count_of<Persist>(out), 0u);
  // A head after the rotation signed with the old key: refused whole too.
  out = h.feed_durable(kUs, TransactionReceived{7, forged.transaction({2}, 3, old, 2)});
  ASSERT_EQ(count_of<Answer>(out), 1u);
  EXPECT_EQ(all_of<Answer>(out)[0].http_status, 400);
  EXPECT_EQ(count_of<Persist>(out), 0u);
  EXPECT_EQ(h.session(kUs).stats().frames_refused, 2u);

  // The new key's entry, carried with the statement again (the sender carries it until a
  // receipt it holds covers it): stored, and the statement is not stored twice.
  const std::string id = log.envelope(next, 2);
  out = h.feed_durable(kUs, TransactionReceived{8, log.transaction({1, 2}, 3, next, 2)});
  ASSERT_EQ(count_of<Answer>(out), 1u);
  EXPECT_EQ(all_of<Answer>(out)[0].http_status, 200) << all_of<Answer>(out)[0].body;
  EXPECT_EQ(rotations_in(out), 0u);
  ASSERT_NE(h.store(kUs).find(id), nullptr);
  EXPECT_EQ(h.store(kUs).find(id)->state, MessageState::kDelivered);
  EXPECT_EQ(h.store(kUs).rotations("ru-genstaff", "us-eucom").size(), 1u);
  EXPECT_TRUE(notices_of(out, NoticeKind::kPeerKeyRotated).empty());
}

TEST(PeerSessionRotationTest, AMessageCannotTakeTheIdOfAStoredRotation) {
  Harness h;
  RuLog log(h);
  const crypto::Keys next = new_keys(7);
  const Rotated r = rotate(h, log, next);
  ASSERT_EQ(all_of<Answer>(h.feed_durable(kUs, TransactionReceived{5, r.body}))[0].http_status,
            200);
  // Entry 2, a message under the rotation's id: the id names entry 1 already.
  log.envelope(next, 2, 0, r.rotation);
  const std::vector<Action> out =
      h.feed_durable(kUs, TransactionReceived{6, log.transaction({2}, 3, next, 2)});
  ASSERT_EQ(count_of<Answer>(out), 1u);
  EXPECT_EQ(all_of<Answer>(out)[0].http_status, 400);
  EXPECT_NE(all_of<Answer>(out)[0].body.find("was already received"), std::string::npos)
      << all_of<Answer>(out)[0].body;
  EXPECT_EQ(count_of<Persist>(out), 0u);
  EXPECT_EQ(h.store(kUs).inclusion(r.rotation)->index, 1u);
}

TEST(PeerSessionRotationTest,
     ATransactionWhileTheRotationIsBeingStoredWaitsAndDoesNotStoreItTwice) {
  Harness h;
  RuLog log(h);
  const crypto::Keys next = new_keys(7);
  const Rotated r = rotate(h, log, next);
  std::vector<Action> first = h.feed(kUs, TransactionReceived{5, r.body});
  ASSERT_EQ(rotations_in(first), 1u);

  // The next transaction arrives before the first batch is durable: verified against the
  // rotation it carries again, it waits for that batch (unanswered, nothing stored).
  const std::string id = log.envelope(next, 2);
  const std::vector<Action> second =
      h.feed(kUs, TransactionReceived{6, log.transaction({1, 2}, 3, next, 2, 2)});
  EXPECT_EQ(count_of<Persist>(second), 0u);
  EXPECT_EQ(count_of<Answer>(second), 0u);
  EXPECT_EQ(h.session(kUs).peer_chain().links().size(), 1u);

  // The first is durable: the rotation pinned, the second stored without it, both answered.
  settle(h.session(kUs), h.store(kUs), h.now, first);
  const std::vector<Answer> answers = all_of<Answer>(first);
  ASSERT_EQ(answers.size(), 2u);
  EXPECT_EQ(answers[0].request, 5u);
  EXPECT_EQ(answers[0].http_status, 200);
  EXPECT_EQ(answers[1].request, 6u);
  EXPECT_EQ(answers[1].http_status, 200) << answers[1].body;
  EXPECT_EQ(count_of<Persist>(first), 2u);
  EXPECT_EQ(rotations_in(first), 1u);
  EXPECT_EQ(h.store(kUs).rotations("ru-genstaff", "us-eucom").size(), 1u);
  EXPECT_EQ(h.session(kUs).peer_chain().newest().key, next.verify);
  EXPECT_NE(h.store(kUs).find(id), nullptr);
  EXPECT_EQ(notices_of(first, NoticeKind::kPeerKeyRotated).size(), 1u);
}

// Issue 17: two transactions carry the same new rotation and the store refuses the first's
// batch (a conflict, a value it cannot hold). The second's receipt covers the statement, after
// which the peer carries it no more: the second must store it, or not be receipted.
TEST(PeerSessionRotationTest, ARotationWhoseFirstBatchIsRefusedIsStoredByTheNextOneCarryingIt) {
  Harness h;
  RuLog log(h);
  const crypto::Keys next = new_keys(7);
  const Rotated r = rotate(h, log, next);
  const std::vector<Action> first = h.feed(kUs, TransactionReceived{5, r.body});
  ASSERT_EQ(count_of<Persist>(first), 1u);
  // A FLASH lane transaction (no `after`): it may be handled before the first.
  const std::string id = log.envelope(next, 2);
  const std::vector<Action> second =
      h.feed(kUs, TransactionReceived{6, log.transaction({1, 2}, 3, next, 2)});
  EXPECT_EQ(count_of<Answer>(second), 0u);

  std::vector<Action> out = h.feed(
      kUs, PersistRefused{all_of<Persist>(first)[0].batch, Status::already_exists("a conflict")});
  ASSERT_GE(count_of<Answer>(out), 1u);
  EXPECT_EQ(all_of<Answer>(out)[0].request, 5u);
  EXPECT_EQ(all_of<Answer>(out)[0].http_status, 400);
  EXPECT_EQ(h.session(kUs).peer_chain().links().size(), 1u);
  // The second is handled now: it stores the statement itself.
  EXPECT_EQ(rotations_in(out), 1u);
  settle(h.session(kUs), h.store(kUs), h.now, out);
  const std::vector<Answer> answers = all_of<Answer>(out);
  ASSERT_EQ(answers.size(), 2u);
  EXPECT_EQ(answers[1].request, 6u);
  const ledger::ReceiptV2 receipt = receipt_of(answers[1], h.keys(kUs));
  EXPECT_EQ(receipt.body.ids, (std::vector<std::string>{r.rotation, id}));
  // What the receipt covers is stored, and the new key pinned, said once.
  EXPECT_EQ(h.store(kUs).rotations("ru-genstaff", "us-eucom").size(), 1u);
  EXPECT_EQ(h.store(kUs).log("ru-genstaff", "us-eucom").count(1), 1u);
  EXPECT_NE(h.store(kUs).inclusion(r.rotation), nullptr);
  EXPECT_EQ(h.session(kUs).peer_chain().newest().key, next.verify);
  EXPECT_EQ(notices_of(out, NoticeKind::kPeerKeyRotated).size(), 1u);

  // The peer, receipted over the statement, carries it no more: its next transaction (the new
  // key's, after the second's head) is taken.
  const std::string later = log.envelope(next, 3);
  out = h.feed_durable(kUs, TransactionReceived{7, log.transaction({3}, 4, next, 3, 3)});
  ASSERT_EQ(count_of<Answer>(out), 1u);
  EXPECT_EQ(all_of<Answer>(out)[0].http_status, 200) << all_of<Answer>(out)[0].body;
  EXPECT_NE(h.store(kUs).find(later), nullptr);
}

// The same, the second coming `after` the first's head (the window's order): once the first is
// refused, the second is early (425) and waits for the first, sent again; nothing is receipted
// over the statement before it is stored.
TEST(PeerSessionRotationTest, ATransactionAfterARefusedRotationBatchIsEarlyAndGoesOnceItIsStored) {
  Harness h;
  RuLog log(h);
  const crypto::Keys next = new_keys(7);
  const Rotated r = rotate(h, log, next);
  const std::vector<Action> first = h.feed(kUs, TransactionReceived{5, r.body});
  const std::string id = log.envelope(next, 2);
  const std::string second_body = log.transaction({1, 2}, 3, next, 2, 2);
  EXPECT_EQ(count_of<Answer>(h.feed(kUs, TransactionReceived{6, second_body})), 0u);

  std::vector<Action> out = h.feed(
      kUs, PersistRefused{all_of<Persist>(first)[0].batch, Status::already_exists("a conflict")});
  std::vector<Answer> answers = all_of<Answer>(out);
  ASSERT_EQ(answers.size(), 2u);
  EXPECT_EQ(answers[0].http_status, 400);
  EXPECT_EQ(answers[1].request, 6u);
  EXPECT_EQ(answers[1].http_status, 425) << answers[1].body;
  EXPECT_EQ(count_of<Persist>(out), 0u);
  EXPECT_EQ(h.session(kUs).peer_chain().links().size(), 1u);

  // The first sent again is stored and pinned; then the second, without the statement again.
  out = h.feed_durable(kUs, TransactionReceived{7, r.body});
  ASSERT_EQ(count_of<Answer>(out), 1u);
  EXPECT_EQ(all_of<Answer>(out)[0].http_status, 200) << all_of<Answer>(out)[0].body;
  EXPECT_EQ(h.session(kUs).peer_chain().newest().key, next.verify);
  out = h.feed_durable(kUs, TransactionReceived{8, second_body});
  ASSERT_EQ(count_of<Answer>(out), 1u);
  EXPECT_EQ(all_of<Answer>(out)[0].http_status, 200) << all_of<Answer>(out)[0].body;
  EXPECT_EQ(rotations_in(out), 0u);
  EXPECT_EQ(h.store(kUs).rotations("ru-genstaff", "us-eucom").size(), 1u);
  EXPECT_NE(h.store(kUs).find(id), nullptr);
}

// A bound on what waits: the 65th copy is answered 503 at once; the waiting ones are answered
// once the batch is durable (the first stored, its copies as copies of a transaction being
// stored or stored).
TEST(PeerSessionRotationTest, AtMost64TransactionsWaitForARotationBeingStored) {
  Harness h;
  RuLog log(h);
  const crypto::Keys next = new_keys(7);
  const Rotated r = rotate(h, log, next);
  std::vector<Action> first = h.feed(kUs, TransactionReceived{5, r.body});
  log.envelope(next, 2);
  const std::string body = log.transaction({1, 2}, 3, next, 2, 2);
  for (RequestId request = 100; request < 164; ++request) {
    ASSERT_TRUE(h.feed(kUs, TransactionReceived{request, body}).empty());
  }
  const std::vector<Action> refused = h.feed(kUs, TransactionReceived{164, body});
  ASSERT_EQ(count_of<Answer>(refused), 1u);
  EXPECT_EQ(all_of<Answer>(refused)[0].http_status, 503);
  EXPECT_NE(all_of<Answer>(refused)[0].body.find("carries an entry of a transaction being stored"),
            std::string::npos)
      << all_of<Answer>(refused)[0].body;

  settle(h.session(kUs), h.store(kUs), h.now, first);
  const std::vector<Answer> answers = all_of<Answer>(first);
  ASSERT_EQ(answers.size(), 65u);
  EXPECT_EQ(answers[0].request, 5u);
  EXPECT_EQ(answers[0].http_status, 200);
  // The first copy is stored; the others, copies of a transaction being stored, get 503.
  EXPECT_EQ(answers[1].request, 101u);
  EXPECT_EQ(answers[1].http_status, 503);
  EXPECT_EQ(answers.back().request, 100u);
  EXPECT_EQ(answers.back().http_status, 200);
  EXPECT_EQ(count_of<Persist>(first), 2u);
  // Each counted once, however often it waited again; the 65th as answered 503.
  EXPECT_EQ(h.session(kUs).stats().transactions_held, 64u);
  EXPECT_EQ(h.session(kUs).stats().transactions_held_refused, 1u);
}

TEST(PeerSessionRotationTest, ARestartKeepsThePeersNewKey) {
  Harness h;
  RuLog log(h);
  const crypto::Keys next = new_keys(7);
  const Rotated r = rotate(h, log, next);
  ASSERT_EQ(all_of<Answer>(h.feed_durable(kUs, TransactionReceived{5, r.body}))[0].http_status,
            200);

  h.restart(kUs, h.store(kUs).recover("us-eucom", "ru-genstaff"));
  ASSERT_EQ(h.session(kUs).peer_chain().links().size(), 2u);
  EXPECT_EQ(h.session(kUs).peer_chain().newest().key, next.verify);
  EXPECT_EQ(h.session(kUs).peer_chain().newest().tls_fingerprint, std::string(64, 'e'));

  // The new key's entry, without the statement (a receipt covered it): accepted.
  const std::string id = log.envelope(next, 2);
  std::vector<Action> out =
      h.feed_durable(kUs, TransactionReceived{6, log.transaction({2}, 3, next, 2)});
  ASSERT_EQ(count_of<Answer>(out), 1u);
  EXPECT_EQ(all_of<Answer>(out)[0].http_status, 200) << all_of<Answer>(out)[0].body;
  EXPECT_NE(h.store(kUs).find(id), nullptr);
  // The statement sent again after the restart is the one stored: not stored twice.
  out = h.feed_durable(kUs, TransactionReceived{7, log.transaction({1, 2}, 3, next, 2)});
  ASSERT_EQ(count_of<Answer>(out), 1u);
  EXPECT_EQ(all_of<Answer>(out)[0].http_status, 200) << all_of<Answer>(out)[0].body;
  EXPECT_EQ(rotations_in(out), 0u);
}

// docs/protocol.md "Content, sealing and commitment": after its rotation the peer seals
// under the new epoch; content sealed under another epoch than the one in force at its entry
// is refused alone.
TEST(PeerSessionRotationTest, AfterTheRotationContentIsSealedUnderTheNewEpoch) {
  Harness h;
  RuLog log(h);
  const crypto::Keys next = new_keys(7);
  // The rotation and an entry after it in one transaction: the new epoch's key is derived
  // before the rotation is pinned.
  const std::string first = log.envelope(h.keys(kRu).keys, 1);
  log.rotation(h.keys(kRu).keys, next, 1);
  const std::string after = log.envelope(next, 2);
  std::vector<Action> out =
      h.feed_durable(kUs, TransactionReceived{5, log.transaction({0, 1, 2}, 3, next, 0)});
  ASSERT_EQ(count_of<Answer>(out), 1u);
  EXPECT_TRUE(receipt_of(all_of<Answer>(out)[0], h.keys(kUs)).body.refused.empty());
  EXPECT_EQ(h.store(kUs).find(first)->state, MessageState::kDelivered);
  EXPECT_EQ(h.store(kUs).find(after)->state, MessageState::kDelivered);
  EXPECT_EQ(h.store(kUs).find(after)->content.text, h.store(kUs).find(first)->content.text);

  // Pinned: epoch 2 opens; epoch 1 after the rotation is refused alone, with the reason.
  const std::string good = log.envelope(next, 3);
  const std::string stale = log.envelope(next, 4, /*epoch=*/1);
  out = h.feed_durable(kUs, TransactionReceived{6, log.transaction({3, 4}, 5, next, 3)});
  ASSERT_EQ(count_of<Answer>(out), 1u);
  const ledger::ReceiptV2 receipt = receipt_of(all_of<Answer>(out)[0], h.keys(kUs));
  ASSERT_EQ(receipt.body.refused.size(), 1u);
  EXPECT_EQ(receipt.body.refused[0].id, stale);
  EXPECT_NE(receipt.body.refused[0].reason.find(
                "sealed under epoch 1, but epoch 2 is in force at entry 4"),
            std::string::npos)
      << receipt.body.refused[0].reason;
  EXPECT_EQ(h.store(kUs).find(good)->state, MessageState::kDelivered);
  EXPECT_EQ(h.store(kUs).find(stale)->state, MessageState::kRefused);
}

TEST(PeerSessionRotationTest, AReceiptSignedWithThePeersNewKeyIsTaken) {
  Harness h;
  RuLog log(h);
  const crypto::Keys next = new_keys(7);
  const Rotated r = rotate(h, log, next);
  ASSERT_EQ(all_of<Answer>(h.feed_durable(kUs, TransactionReceived{5, r.body}))[0].http_status,
            200);

  h.link_up = false;
  const std::string id = h.send(kUs);
  const SendTransaction sent = all_of<SendTransaction>(h.log[kUs]).back();
  const Result<wire::Transaction> tx = wire::parse_transaction(sent.body);
  ASSERT_TRUE(tx.is_ok());
  const ledger::SignedTreeHead sth = *ledger::parse_sth(tx->sth);
  ledger::ReceiptV2Body body;
  body.tx = sent.tx;
  body.from = "ru-genstaff";
  body.to = "us-eucom";
  body.sth = sth.payload_bytes;
  body.sth_sig = sth.sig;
  body.ids = {id};
  body.indices = {0};
  body.received = h.now;
  const std::string receipt =
      ledger::encode_receipt_v2(ledger::sign_receipt_v2(body, next.signing));
  // Built after the rotation was pinned: the replaced key may not receipt it.
  const std::string by_old_key =
      ledger::encode_receipt_v2(ledger::sign_receipt_v2(body, h.keys(kRu).keys.signing));
  std::vector<Action> out = h.feed_durable(kUs, TransactionAnswered{sent.tx, 200, by_old_key});
  EXPECT_NE(h.store(kUs).find(id)->state, MessageState::kDelivered);
  EXPECT_FALSE(notices_of(out, NoticeKind::kPeerRefused).empty());
  h.feed_durable(kUs, TransactionAnswered{sent.tx, 200, receipt});
  EXPECT_EQ(h.store(kUs).find(id)->state, MessageState::kDelivered);
}

}  // namespace
}  // namespace parley::core
