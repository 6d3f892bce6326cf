// PeerSession as the party that rotated its own key (docs/protocol.md "Key rotation"; `parley
// rotate`): the statement is appended to our log for the peer before anything the new key
// signs, carried in every transaction until the peer's receipt covers it, our entries and heads
// are signed as our chain says, our content sealed under the new epoch, and what the peer checks
// with our key in force (receipts) is signed by the key it pinned. The peer is a real session
// (the receiving side), so each test fails if the peer would refuse what we send.
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "parley/core/session_harness.h"
#include "parley/wire/rotation.h"

namespace parley::core {
namespace {

const std::string kUsParty = "us-eucom";
const std::string kRuParty = "ru-genstaff";

crypto::Keys new_keys(std::uint64_t seed) {
  SeededRng rng(seed);
  return crypto::generate_keys(rng);
}

// Our rotation n from `from` to `to` (as `parley rotate` makes it).
std::string our_rotation(Harness& h, const crypto::Keys& from, const crypto::Keys& to,
                         std::uint64_t n) {
  wire::Rotation r;
  r.id = uuid_v7(h.now, h.rng());
  r.party = kUsParty;
  r.n = n;
  r.old_sign_key = from.verify;
  r.new_sign_key = to.verify;
  r.new_tls_fingerprint = std::string(64, 'f');
  r.epoch = static_cast<std::uint32_t>(n + 1);
  r.created = h.now;
  return wire::sign_rotation(r, from.signing, to.signing);
}

// The transactions `side` sent, parsed, from h.log[side] at `from` on.
std::vector<wire::Transaction> sent(Harness& h, int side, std::size_t from = 0) {
  std::vector<wire::Transaction> out;
  for (std::size_t i = from; i < h.log[side].size(); ++i) {
    const auto* send = std::get_if<SendTransaction>(&h.log[side][i]);
    if (send == nullptr || send->log_request) continue;
    Result<wire::Transaction> tx = wire::parse_transaction(send->body);
    EXPECT_TRUE(tx.is_ok()) << tx.status().to_string();
    if (tx.is_ok()) out.push_back(std::move(*tx));
  }
  return out;
}

std::size_t rotation_entries(const wire::Transaction& tx) {
  std::size_t n = 0;
  for (const wire::TransactionEntry& e : tx.entries) n += e.rotation ? 1 : 0;
  return n;
}

// Us with one message exchanged under our bundle's key, then restarted with rotation 1 to
// `next` in the home (as after `parley rotate` and a restart).
struct Rotating {
  Harness h;
  crypto::Keys old;
  crypto::Keys next = new_keys(7);
  std::string statement;
  std::string before;  // our message under the old key, entry 0

  Rotating() : old(h.keys(kUs).keys) {
    before = h.send(kUs);
    EXPECT_FALSE(before.empty());
    statement = our_rotation(h, old, next, 1);
    h.own[kUs] = OwnRotations{{statement}, {next.signing}};
    h.restart(kUs, h.store(kUs).recover(kUsParty, kRuParty));
  }
};

TEST(PeerSessionOwnRotationTest, TheStatementIsAppendedFirstAndThePeerPinsOurNewKey) {
  Rotating r;
  Harness& h = r.h;
  EXPECT_EQ(h.session(kUs).rotations_countersigned(), 0u);
  EXPECT_EQ(h.session(kUs).key_for_peer().bytes, r.old.signing.bytes);
  const std::size_t mark = h.log[kUs].size();
  const std::string after = h.send(kUs);
  ASSERT_FALSE(after.empty());

  // Our log: the message at 0, the statement at 1 (with its rotations row), the new one at 2.
  const auto& rotations = h.store(kUs).rotations(kUsParty, kRuParty);
  ASSERT_EQ(rotations.size(), 1u);
  EXPECT_EQ(rotations.begin()->first, 1u);
  EXPECT_EQ(rotations.begin()->second.statement, r.statement);
  EXPECT_EQ(rotations.begin()->second.n, 1u);
  EXPECT_EQ(h.store(kUs).log(kUsParty, kRuParty).at(1).leaf_hash,
            ledger::leaf_hash(as_bytes(r.statement)));
  ASSERT_NE(h.store(kUs).find(after), nullptr);
  EXPECT_EQ(h.store(kUs).find(after)->log_index, 2u);
  // The new message: signed by the new key, sealed under epoch 2.
  Result<wire::Envelope> envelope =
      wire::open_envelope(h.store(kUs).find(after)->envelope, r.next.verify, kUsParty);
  ASSERT_TRUE(envelope.is_ok()) << envelope.status().to_string();
  EXPECT_EQ(envelope->payload.epoch, 2u);

  // The transaction carried the statement; the peer pinned our new key and stored both.
  const std::vector<wire::Transaction> txs = sent(h, kUs, mark);
  ASSERT_FALSE(txs.empty());
  EXPECT_EQ(rotation_entries(txs.front()), 1u);
  const ledger::KeyChain& pinned = h.session(kRu).peer_chain();
  ASSERT_EQ(pinned.links().size(), 2u);
  EXPECT_EQ(pinned.newest().key, r.next.verify);
  EXPECT_EQ(pinned.newest().from_index, 2u);
  ASSERT_NE(h.store(kRu).find(after), nullptr);
  EXPECT_EQ(h.store(kRu).find(after)->state, MessageState::kDelivered);
  EXPECT_EQ(h.store(kRu).find(after)->content.text, "hello");
  // Its receipt covers the statement: the peer holds our new key, and so do we for it.
  EXPECT_EQ(h.session(kUs).rotations_countersigned(), 1u);
  EXPECT_EQ(h.session(kUs).key_for_peer().bytes, r.next.signing.bytes);
  EXPECT_EQ(h.store(kUs).find(after)->state, MessageState::kDelivered);

  // Once covered, it is carried no more.
  const std::size_t later = h.log[kUs].size();
  ASSERT_FALSE(h.send(kUs).empty());
  for (const wire::Transaction& tx : sent(h, kUs, later)) EXPECT_EQ(rotation_entries(tx), 0u);
}

TEST(PeerSessionOwnRotationTest, TheStatementLeavesWithNoMessageWaiting) {
  Rotating r;
  Harness& h = r.h;
  const std::size_t mark = h.log[kUs].size();
  h.deliver(kUs, TimerFired{});
  const std::vector<wire::Transaction> txs = sent(h, kUs, mark);
  ASSERT_EQ(txs.size(), 1u);
  ASSERT_EQ(txs[0].entries.size(), 1u);
  EXPECT_TRUE(txs[0].entries[0].rotation);
  EXPECT_EQ(h.session(kRu).peer_chain().newest().key, r.next.verify);
  EXPECT_EQ(h.session(kUs).rotations_countersigned(), 1u);
}

TEST(PeerSessionOwnRotationTest, ItIsCarriedAgainUntilAReceiptCoversItAlsoOnTheFlashLane) {
  Rotating r;
  Harness& h = r.h;
  // The peer does not answer: the statement's transaction stays in flight (window 1).
  h.link_up = false;
  const std::size_t mark = h.log[kUs].size();
  ASSERT_FALSE(h.send(kUs).empty());
  const std::string flash = h.send(kUs, Precedence::kFlash);
  ASSERT_FALSE(flash.empty());
  std::vector<wire::Transaction> txs = sent(h, kUs, mark);
  ASSERT_EQ(txs.size(), 2u);
  EXPECT_EQ(rotation_entries(txs[0]), 1u);
  // The FLASH lane transaction carries it too (a FLASH one still); its `after` precedes the
  // statement.
  EXPECT_EQ(rotation_entries(txs[1]), 1u);
  std::vector<SendTransaction> sends = all_of<SendTransaction>(h.log[kUs]);
  ASSERT_FALSE(sends.empty());
  EXPECT_EQ(sends.back().precedence, Precedence::kFlash);
  ASSERT_TRUE(txs[1].after.has_value());
  EXPECT_LE(*txs[1].after, 1u);

  // Delivered now, the lane one first: the peer pins with it, and takes the other one after.
  h.link_up = true;
  std::vector<Action> out = h.feed(kRu, TransactionReceived{900, wire::encode_transaction(txs[1])});
  settle(h.session(kRu), h.store(kRu), h.now, out);
  ASSERT_EQ(count_of<Answer>(out), 1u);
  EXPECT_EQ(all_of<Answer>(out)[0].http_status, 200) << all_of<Answer>(out)[0].body;
  EXPECT_EQ(h.session(kRu).peer_chain().newest().key, r.next.verify);
  ASSERT_NE(h.store(kRu).find(flash), nullptr);
  EXPECT_EQ(h.store(kRu).rotations(kUsParty, kRuParty).size(), 1u);
}

// Issue 17, both sides: two transactions of our window carry the statement; the peer's store
// refuses the first's batch. The second waited at the peer for that batch, so it is early
// (425) rather than receipted over a statement the peer does not hold; both go again, the peer
// pins our key, and every message is delivered.
TEST(PeerSessionOwnRotationTest, ThePeersStoreRefusingTheFirstOfTwoCarryingItLosesNothing) {
  Harness h(Recovered{}, 42, /*window=*/2);
  const crypto::Keys old = h.keys(kUs).keys;
  const crypto::Keys next = new_keys(7);
  ASSERT_FALSE(h.send(kUs).empty());
  h.own[kUs] = OwnRotations{{our_rotation(h, old, next, 1)}, {next.signing}};
  h.restart(kUs, h.store(kUs).recover(kUsParty, kRuParty));

  h.link_up = false;
  const std::size_t mark = h.log[kUs].size();
  const std::string first = h.send(kUs);
  const std::string second = h.send(kUs);
  const std::vector<wire::Transaction> txs = sent(h, kUs, mark);
  ASSERT_EQ(txs.size(), 2u);
  EXPECT_EQ(rotation_entries(txs[0]), 1u);
  EXPECT_EQ(rotation_entries(txs[1]), 1u);

  // The peer's store refuses the first's batch and stores whatever else it is given, in order
  // (one group commit).
  std::vector<Action> out = h.feed(kRu, TransactionReceived{900, wire::encode_transaction(txs[0])});
  ASSERT_EQ(count_of<Persist>(out), 1u);
  const BatchId refused = all_of<Persist>(out)[0].batch;
  for (Action& a : h.feed(kRu, TransactionReceived{901, wire::encode_transaction(txs[1])})) {
    out.push_back(std::move(a));
  }
  for (Action& a : h.feed(kRu, PersistRefused{refused, Status::already_exists("a conflict")})) {
    out.push_back(std::move(a));
  }
  for (std::size_t i = 0; i < out.size(); ++i) {
    const auto* p = std::get_if<Persist>(&out[i]);
    if (p == nullptr || p->batch == refused) continue;
    h.store(kRu).apply(p->records);
    for (Action& a : h.feed(kRu, Persisted{p->batch})) out.push_back(std::move(a));
  }
  const std::vector<Answer> answers = all_of<Answer>(out);
  ASSERT_EQ(answers.size(), 2u);
  for (const Answer& a : answers) {
    // The second is not receipted over a statement the peer does not hold: it waited for the
    // first's batch, and is early now.
    EXPECT_EQ(a.http_status, a.request == 900 ? 400 : 425) << a.body;
  }
  EXPECT_EQ(h.session(kRu).peer_chain().links().size(), 1u);

  h.link_up = true;
  for (const Answer& a : answers) {
    h.deliver(kUs,
              TransactionAnswered{a.request == 900 ? txs[0].id : txs[1].id, a.http_status, a.body});
  }
  for (int i = 0; i < 10 && h.store(kUs).find(second)->state != MessageState::kDelivered; ++i) {
    h.now += std::chrono::seconds(11);
    h.deliver(kUs, TimerFired{});
  }
  EXPECT_EQ(h.store(kUs).find(first)->state, MessageState::kDelivered)
      << h.session(kUs).stats().last_error;
  EXPECT_EQ(h.store(kUs).find(second)->state, MessageState::kDelivered)
      << h.session(kUs).stats().last_error;
  EXPECT_EQ(h.session(kRu).peer_chain().newest().key, next.verify);
  EXPECT_EQ(h.store(kRu).rotations(kUsParty, kRuParty).size(), 1u);
  EXPECT_EQ(h.session(kUs).rotations_countersigned(), 1u);
  EXPECT_FALSE(h.session(kUs).stats().forked());
  // And the line goes on under the new key.
  const std::string later = h.send(kUs);
  ASSERT_NE(h.store(kRu).find(later), nullptr);
  EXPECT_EQ(h.store(kUs).find(later)->state, MessageState::kDelivered);
  ASSERT_FALSE(h.send(kRu).empty());
}

TEST(PeerSessionOwnRotationTest, ReceiptsAreSignedWithTheKeyThePeerNames) {
  Rotating r;
  Harness& h = r.h;
  // The peer gets our statement and pins it, but its receipt does not reach us yet.
  h.link_up = false;
  const std::size_t mark = h.log[kUs].size();
  h.deliver(kUs, TimerFired{});
  const std::vector<wire::Transaction> txs = sent(h, kUs, mark);
  ASSERT_EQ(txs.size(), 1u);
  EXPECT_EQ(txs[0].pinned, 0u);  // the peer has not rotated: its bundle's key
  std::vector<Action> out = h.feed(kRu, TransactionReceived{900, wire::encode_transaction(txs[0])});
  settle(h.session(kRu), h.store(kRu), h.now, out);
  ASSERT_EQ(count_of<Answer>(out), 1u);
  const Answer receipt = all_of<Answer>(out)[0];
  ASSERT_EQ(h.session(kRu).peer_chain().newest().key, r.next.verify);

  // The peer's next transaction, built after its pin, names our rotation 1: although we do not
  // know of the pin yet (we still sign heartbeats with the old key), our receipt is the new
  // key's, which the peer takes at once.
  h.link_up = true;
  const std::size_t ru_mark = h.log[kRu].size();
  const std::string theirs = h.send(kRu);
  ASSERT_FALSE(theirs.empty());
  const std::vector<wire::Transaction> ru_txs = sent(h, kRu, ru_mark);
  ASSERT_FALSE(ru_txs.empty());
  EXPECT_EQ(ru_txs[0].pinned, 1u);
  const MessageRecord* m = h.store(kRu).find(theirs);
  ASSERT_NE(m, nullptr);
  ASSERT_EQ(m->state, MessageState::kDelivered) << h.session(kRu).stats().last_error;
  Result<ledger::ReceiptV2> got = ledger::parse_receipt_v2(*m->receipt);
  ASSERT_TRUE(got.is_ok());
  EXPECT_TRUE(ledger::verify_receipt_v2(*got, r.next.verify).is_ok());
  EXPECT_EQ(h.session(kUs).rotations_countersigned(), 0u);
  EXPECT_EQ(h.session(kUs).key_for_peer().bytes, r.old.signing.bytes);

  // Our statement's receipt arrives: the peer countersigned our rotation.
  out = h.feed(kUs, TransactionAnswered{txs[0].id, 200, receipt.body});
  settle(h.session(kUs), h.store(kUs), h.now, out);
  ASSERT_EQ(h.session(kUs).rotations_countersigned(), 1u);
  const std::string next = h.send(kRu);
  ASSERT_FALSE(next.empty());
  EXPECT_EQ(h.store(kRu).find(next)->state, MessageState::kDelivered);
}

// A transaction built before the peer pinned our rotation names our bundle's key, and is
// receipted by it; one naming a rotation we never made is refused, and nothing of it is taken.
TEST(PeerSessionOwnRotationTest, ATransactionNamingAnOlderKeyOrOneWeNeverMadeIsAnsweredAsItSays) {
  Rotating r;
  Harness& h = r.h;
  h.link_up = false;
  const std::size_t mark = h.log[kRu].size();
  const std::string theirs = h.send(kRu);  // built before the peer saw our statement
  ASSERT_FALSE(theirs.empty());
  const std::vector<wire::Transaction> txs = sent(h, kRu, mark);
  ASSERT_EQ(txs.size(), 1u);
  ASSERT_EQ(txs[0].pinned, 0u);

  wire::Transaction never = txs[0];
  never.pinned = 2;
  std::vector<Action> out = h.feed(kUs, TransactionReceived{901, wire::encode_transaction(never)});
  settle(h.session(kUs), h.store(kUs), h.now, out);
  ASSERT_EQ(count_of<Answer>(out), 1u);
  const Answer refused = all_of<Answer>(out)[0];
  EXPECT_EQ(refused.http_status, 400);
  EXPECT_NE(refused.body.find("names our key rotation 2"), std::string::npos) << refused.body;
  EXPECT_NE(refused.body.find("we made 1"), std::string::npos) << refused.body;
  EXPECT_EQ(h.store(kUs).find(theirs), nullptr);

  // Named as built (our bundle's key), and again naming our rotation 1 (a rebuilt one): each
  // answer is the same countersignature, by the key named; stored once.
  out = h.feed(kUs, TransactionReceived{902, wire::encode_transaction(txs[0])});
  settle(h.session(kUs), h.store(kUs), h.now, out);
  ASSERT_EQ(count_of<Answer>(out), 1u);
  const Answer first = all_of<Answer>(out)[0];
  ASSERT_EQ(first.http_status, 200) << first.body;
  ASSERT_NE(h.store(kUs).find(theirs), nullptr);
  Result<ledger::ReceiptV2> by_old = ledger::parse_receipt_v2(first.body);
  ASSERT_TRUE(by_old.is_ok());
  EXPECT_TRUE(ledger::verify_receipt_v2(*by_old, r.old.verify).is_ok());
  wire::Transaction named = txs[0];
  named.pinned = 1;
  out = h.feed(kUs, TransactionReceived{903, wire::encode_transaction(named)});
  settle(h.session(kUs), h.store(kUs), h.now, out);
  ASSERT_EQ(count_of<Answer>(out), 1u);
  const Answer again = all_of<Answer>(out)[0];
  ASSERT_EQ(again.http_status, 200) << again.body;
  Result<ledger::ReceiptV2> by_new = ledger::parse_receipt_v2(again.body);
  ASSERT_TRUE(by_new.is_ok());
  EXPECT_TRUE(ledger::verify_receipt_v2(*by_new, r.next.verify).is_ok());
  EXPECT_FALSE(ledger::verify_receipt_v2(*by_new, r.old.verify).is_ok());
  EXPECT_EQ(by_new->payload_bytes, by_old->payload_bytes);  // the same countersignature
}

TEST(PeerSessionOwnRotationTest, ARestartKeepsTheChainAndAppendsNothingTwice) {
  Rotating r;
  Harness& h = r.h;
  // Appended and sent, but the peer does not answer before we stop.
  h.link_up = false;
  ASSERT_FALSE(h.send(kUs).empty());
  h.restart(kUs, h.store(kUs).recover(kUsParty, kRuParty));
  EXPECT_EQ(h.session(kUs).own_chain().newest().n, 1u);
  EXPECT_EQ(h.session(kUs).own_chain().newest().from_index, 2u);
  EXPECT_EQ(h.session(kUs).rotations_countersigned(), 0u);
  // Still carried after the restart, and received: the peer pins, we know it.
  h.link_up = true;
  const std::size_t mark = h.log[kUs].size();
  ASSERT_FALSE(h.send(kUs).empty());
  const std::vector<wire::Transaction> txs = sent(h, kUs, mark);
  ASSERT_FALSE(txs.empty());
  EXPECT_EQ(rotation_entries(txs.front()), 1u);
  EXPECT_EQ(h.store(kUs).rotations(kUsParty, kRuParty).size(), 1u);
  EXPECT_EQ(h.session(kRu).peer_chain().newest().key, r.next.verify);
  // Restarted again: the peer's receipt covers it, from the store.
  h.restart(kUs, h.store(kUs).recover(kUsParty, kRuParty));
  EXPECT_EQ(h.session(kUs).rotations_countersigned(), 1u);
  EXPECT_EQ(h.session(kUs).key_for_peer().bytes, r.next.signing.bytes);
  ASSERT_FALSE(h.send(kUs).empty());
  ASSERT_FALSE(h.send(kRu).empty());
  EXPECT_EQ(h.store(kUs).rotations(kUsParty, kRuParty).size(), 1u);
  expect_every_outbound_message_proven(h, kUs);
}

// At a start, each side asks the other for its copy of both logs (core/log_recovery.h): the
// newest heads of ours are the new key's, and neither side takes that for a fork.
TEST(PeerSessionOwnRotationTest, BothRestartAfterTheRotationWithoutAForkAlarm) {
  Rotating r;
  Harness& h = r.h;
  ASSERT_FALSE(h.send(kUs).empty());
  ASSERT_FALSE(h.send(kRu).empty());
  ASSERT_EQ(h.session(kUs).rotations_countersigned(), 1u);
  h.recover_at_start = true;
  h.restart(kUs, h.store(kUs).recover(kUsParty, kRuParty));
  h.restart(kRu, h.store(kRu).recover(kRuParty, kUsParty));
  h.deliver(kUs, TimerFired{});
  h.deliver(kRu, TimerFired{});
  EXPECT_GT(h.log_requests[kUs], 0u);
  EXPECT_GT(h.log_requests[kRu], 0u);
  EXPECT_FALSE(h.session(kUs).stats().forked()) << h.session(kUs).stats().fork_reason();
  EXPECT_FALSE(h.session(kRu).stats().forked()) << h.session(kRu).stats().fork_reason();
  const std::string ours = h.send(kUs);
  const std::string theirs = h.send(kRu);
  ASSERT_NE(h.store(kRu).find(ours), nullptr);
  EXPECT_EQ(h.store(kUs).find(ours)->state, MessageState::kDelivered);
  EXPECT_EQ(h.store(kRu).find(theirs)->state, MessageState::kDelivered);
}

TEST(PeerSessionOwnRotationTest, ASecondRotationChainsOnTheFirst) {
  Rotating r;
  Harness& h = r.h;
  const crypto::Keys third = new_keys(8);
  const std::string second = our_rotation(h, r.next, third, 2);
  h.own[kUs] = OwnRotations{{r.statement, second}, {r.next.signing, third.signing}};
  h.restart(kUs, h.store(kUs).recover(kUsParty, kRuParty));
  const std::string after = h.send(kUs);
  ASSERT_FALSE(after.empty());
  // Both appended, in order; the peer pins both; the message is the third key's, epoch 3.
  const auto& rotations = h.store(kUs).rotations(kUsParty, kRuParty);
  ASSERT_EQ(rotations.size(), 2u);
  EXPECT_EQ(rotations.at(1).n, 1u);
  EXPECT_EQ(rotations.at(2).n, 2u);
  ASSERT_EQ(h.session(kRu).peer_chain().links().size(), 3u);
  EXPECT_EQ(h.session(kRu).peer_chain().newest().key, third.verify);
  ASSERT_NE(h.store(kRu).find(after), nullptr);
  EXPECT_EQ(h.session(kUs).rotations_countersigned(), 2u);
  EXPECT_EQ(h.session(kUs).key_for_peer().bytes, third.signing.bytes);
}

// A peer pinned after our rotation pins our bundle, which keeps our first key: our log for it
// starts with the statement, and it follows our chain from there (docs/operations.md "Key
// rotation").
TEST(PeerSessionOwnRotationTest, APeerPinnedAfterTheRotationGetsTheStatementFirst) {
  Harness h;
  const crypto::Keys old = h.keys(kUs).keys;
  const crypto::Keys next = new_keys(7);
  h.own[kUs] = OwnRotations{{our_rotation(h, old, next, 1)}, {next.signing}};
  h.restart(kUs, Recovered{});
  EXPECT_EQ(h.session(kUs).rotations_countersigned(), 0u);
  const std::string first = h.send(kUs);
  ASSERT_FALSE(first.empty());
  EXPECT_EQ(h.store(kUs).rotations(kUsParty, kRuParty).begin()->first, 0u);
  EXPECT_EQ(h.store(kUs).find(first)->log_index, 1u);
  EXPECT_EQ(h.session(kRu).peer_chain().newest().key, next.verify);
  EXPECT_EQ(h.session(kRu).peer_chain().newest().from_index, 1u);
  ASSERT_NE(h.store(kRu).find(first), nullptr);
  EXPECT_EQ(h.session(kUs).rotations_countersigned(), 1u);
  ASSERT_FALSE(h.send(kRu).empty());
}

TEST(PeerSessionOwnRotationTest, AStoreWhoseRotationIsNotTheHomesSignsNothingMore) {
  Rotating r;
  Harness& h = r.h;
  ASSERT_FALSE(h.send(kUs).empty());
  // The home's statement is another one (a home restored from elsewhere).
  h.own[kUs] = OwnRotations{{our_rotation(h, r.old, r.next, 1)}, {r.next.signing}};
  h.restart(kUs, h.store(kUs).recover(kUsParty, kRuParty));
  EXPECT_NE(h.session(kUs).stats().last_error.find("do not belong together"), std::string::npos)
      << h.session(kUs).stats().last_error;
  const std::size_t mark = h.log[kUs].size();
  h.send(kUs);
  EXPECT_TRUE(sent(h, kUs, mark).empty());
}

}  // namespace
}  // namespace parley::core
