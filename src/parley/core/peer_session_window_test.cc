// PeerSession: the window of transactions in flight (docs/protocol.md "Transaction window"):
// several unreceipted at once, each naming the head the receiver must hold before it; the
// receiver handles them in the order of the sender's heads (425 for one that came early, 409
// for one whose head it passed); receipts in any order; a lost one resent; a restart with a
// window in flight.
#include <gtest/gtest.h>

#include "parley/core/peer_log_for_test.h"
#include "parley/core/session_harness.h"

namespace parley::core {
namespace {

using namespace std::chrono_literals;

constexpr std::size_t kWindow = 4;

wire::Transaction parsed(const SendTransaction& send) {
  Result<wire::Transaction> tx = wire::parse_transaction(send.body);
  EXPECT_TRUE(tx.is_ok()) << tx.status().to_string();
  return tx.is_ok() ? *tx : wire::Transaction{};
}

// ru's answer to `send`, its batch made durable (none if it stores nothing).
Answer ru_answer(Harness& h, const SendTransaction& send) {
  const std::vector<Action> out =
      h.feed_durable(kRu, TransactionReceived{h.next_request(), send.body});
  const std::vector<Answer> answers = all_of<Answer>(out);
  EXPECT_EQ(answers.size(), 1u);
  return answers.empty() ? Answer{} : answers[0];
}

TEST(PeerSessionWindowTest, SeveralTransactionsAreInFlightAtOnceEachAfterTheOneBefore) {
  Harness h(Recovered{}, 42, kWindow);
  h.link_up = false;
  std::vector<std::string> ids;
  for (std::size_t i = 0; i < kWindow + 2; ++i) ids.push_back(h.send(kUs));
  const std::vector<SendTransaction> sent = all_of<SendTransaction>(h.log[kUs]);
  ASSERT_EQ(sent.size(), kWindow);  // the window is full: the last two wait
  EXPECT_EQ(h.session(kUs).stats().queued, kWindow + 2);
  for (std::size_t i = 0; i < sent.size(); ++i) {
    const wire::Transaction tx = parsed(sent[i]);
    ASSERT_TRUE(tx.after.has_value());
    EXPECT_EQ(*tx.after, i) << "transaction " << i;  // the head of the one before (size i)
    EXPECT_EQ(tx.entries.size(), 1u);
  }

  // ru takes them in order; each receipt countersigns its own head.
  std::vector<Answer> answers;
  for (const SendTransaction& s : sent) {
    answers.push_back(ru_answer(h, s));
    ASSERT_EQ(answers.back().http_status, 200) << answers.back().body;
    const ledger::ReceiptV2 receipt = receipt_of(answers.back(), h.keys(kRu));
    EXPECT_EQ(receipt.body.tx, s.tx);
  }
  h.link_up = true;
  for (std::size_t i = 0; i < sent.size(); ++i) {
    h.deliver(kUs, TransactionAnswered{sent[i].tx, answers[i].http_status, answers[i].body});
  }
  for (const std::string& id : ids) {
    EXPECT_EQ(h.store(kUs).find(id)->state, MessageState::kDelivered) << id;
  }
  EXPECT_EQ(h.session(kUs).stats().queued, 0u);
  EXPECT_EQ(h.session(kUs).stats().countersigned_size, kWindow + 2);
  EXPECT_EQ(h.session(kRu).stats().transactions_out_of_order, 0u);
  expect_every_outbound_message_proven(h, kUs);
}

TEST(PeerSessionWindowTest, AReceiptForTheSecondBeforeTheFirstDeliversBoth) {
  Harness h(Recovered{}, 42, kWindow);
  h.link_up = false;
  const std::string first = h.send(kUs);
  const std::string second = h.send(kUs);
  const std::vector<SendTransaction> sent = all_of<SendTransaction>(h.log[kUs]);
  ASSERT_EQ(sent.size(), 2u);
  const Answer a1 = ru_answer(h, sent[0]);
  const Answer a2 = ru_answer(h, sent[1]);
  ASSERT_EQ(a1.http_status, 200);
  ASSERT_EQ(a2.http_status, 200);

  h.link_up = true;
  h.deliver(kUs, TransactionAnswered{sent[1].tx, a2.http_status, a2.body});
  EXPECT_EQ(h.store(kUs).find(second)->state, MessageState::kDelivered);
  EXPECT_NE(h.store(kUs).find(first)->state, MessageState::kDelivered);
  EXPECT_EQ(h.session(kUs).stats().countersigned_size, 2u);
  h.deliver(kUs, TransactionAnswered{sent[0].tx, a1.http_status, a1.body});
  EXPECT_EQ(h.store(kUs).find(first)->state, MessageState::kDelivered);
  EXPECT_EQ(h.session(kUs).stats().countersigned_size, 2u);  // C never moves back
  EXPECT_EQ(h.session(kUs).stats().queued, 0u);
  expect_every_outbound_message_proven(h, kUs);

  // Traffic goes on from there.
  const std::string third = h.send(kUs);
  EXPECT_EQ(h.store(kUs).find(third)->state, MessageState::kDelivered);
}

// The middle transaction is lost: the one after it comes early (425, nothing stored, no
// fault), the lost one is resent at its retry, and the early one once that is receipted. ru
// stores the messages in the order they were written.
TEST(PeerSessionWindowTest, ALostMiddleTransactionIsResentAndTheOneAfterItWaitsForIt) {
  Harness h(Recovered{}, 42, kWindow);
  h.link_up = false;
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) ids.push_back(h.send(kUs));
  const std::vector<SendTransaction> sent = all_of<SendTransaction>(h.log[kUs]);
  ASSERT_EQ(sent.size(), 3u);

  const Answer a1 = ru_answer(h, sent[0]);
  ASSERT_EQ(a1.http_status, 200);
  // sent[1] is lost on the way. sent[2] arrives: early.
  const std::size_t stored = h.store(kRu).count(Direction::kInbound);
  const Answer early = ru_answer(h, sent[2]);
  EXPECT_EQ(early.http_status, 425) << early.body;
  Result<wire::Refusal> why = wire::parse_refusal(early.body);
  ASSERT_TRUE(why.is_ok()) << early.body;
  EXPECT_NE(why->error.find("send the one before it first"), std::string::npos);
  EXPECT_EQ(h.store(kRu).count(Direction::kInbound), stored);
  EXPECT_EQ(h.session(kRu).stats().frames_refused, 0u);
  EXPECT_EQ(h.session(kRu).stats().transactions_out_of_order, 1u);

  h.link_up = true;
  h.deliver(kUs, TransactionAnswered{sent[0].tx, a1.http_status, a1.body});
  h.deliver(kUs, TransactionAnswered{sent[2].tx, early.http_status, early.body});
  EXPECT_NE(h.store(kUs).find(ids[2])->state, MessageState::kDelivered);  // not yet
  h.deliver(kUs, TransactionFailed{sent[1].tx, "timeout"});

  // The retry: the lost one goes again, unchanged; once it is receipted the early one goes.
  h.now += 100ms;
  h.deliver(kUs, TimerFired{});
  h.deliver(kUs, TimerFired{});
  const std::vector<SendTransaction> all = all_of<SendTransaction>(h.log[kUs]);
  ASSERT_EQ(all.size(), 5u);
  EXPECT_EQ(all[3].tx, sent[1].tx);
  EXPECT_EQ(all[3].body, sent[1].body);
  EXPECT_EQ(all[4].tx, sent[2].tx);
  for (const std::string& id : ids) {
    EXPECT_EQ(h.store(kUs).find(id)->state, MessageState::kDelivered) << id;
  }
  EXPECT_EQ(h.store(kRu).count(Direction::kInbound), 3u);
  EXPECT_TRUE(h.session(kRu).stats().gaps.empty());
  EXPECT_EQ(h.session(kUs).stats().send_failures, 1u);  // the 425 is no failure
  expect_every_outbound_message_proven(h, kUs);
}

// us-eucom stops with three transactions in flight, two of which ru stored (their answers
// lost). After the restart the messages go again over a new head; ru stores each once.
TEST(PeerSessionWindowTest, ARestartWithAWindowInFlightLosesAndRepeatsNothing) {
  std::vector<std::string> ids;
  Harness h(Recovered{}, 42, kWindow);
  h.link_up = false;
  for (int i = 0; i < 3; ++i) ids.push_back(h.send(kUs));
  const std::vector<SendTransaction> sent = all_of<SendTransaction>(h.log[kUs]);
  ASSERT_EQ(sent.size(), 3u);
  ASSERT_EQ(ru_answer(h, sent[0]).http_status, 200);
  ASSERT_EQ(ru_answer(h, sent[1]).http_status, 200);
  ASSERT_EQ(h.store(kRu).count(Direction::kInbound), 2u);

  h.restart(kUs, h.store(kUs).recover("us-eucom", "ru-genstaff"), SessionConfig{}.tx_envelopes_max);
  EXPECT_EQ(h.session(kUs).stats().queued, 3u);
  h.link_up = true;
  h.deliver(kUs, TimerFired{});
  for (const std::string& id : ids) {
    EXPECT_EQ(h.store(kUs).find(id)->state, MessageState::kDelivered) << id;
  }
  EXPECT_EQ(h.store(kRu).count(Direction::kInbound), 3u);                      // each once
  EXPECT_EQ(notices_of(h.log[kRu], NoticeKind::kMessageReceived).size(), 1u);  // the third
  EXPECT_EQ(h.session(kRu).stats().frames_refused, 0u);
  EXPECT_TRUE(h.store(kRu).evidence().empty());  // no fork
  expect_every_outbound_message_proven(h, kUs);

  // A late copy of the old third transaction (over the same head as the new one): receipted
  // again, nothing stored twice.
  const Answer late = ru_answer(h, sent[2]);
  EXPECT_EQ(late.http_status, 200) << late.body;
  EXPECT_EQ(h.store(kRu).count(Direction::kInbound), 3u);
}

// The store refuses the batch of one transaction after the receiver took a later one over it
// (its batch being stored too, in the same group): the later one is durable and receipted, so
// its head is the one we countersigned, and the next transaction after it is taken (before,
// the head went back to the one before the refused transaction: the next one was answered 425
// for good, which its sender, receipted over that head, takes for a log conflict).
TEST(PeerSessionWindowTest, AHeadTakenOverARefusedBatchStaysTheOneCountersigned) {
  Harness h;
  RuLog log(h);
  const crypto::Keys& key = h.keys(kRu).keys;
  const std::string a = log.envelope(key, 1);
  const std::string first_body = log.transaction({0}, 1, key, 0);
  const std::vector<Action> first = h.feed(kUs, TransactionReceived{5, first_body});
  const std::string b = log.envelope(key, 2);
  const std::vector<Action> second =
      h.feed(kUs, TransactionReceived{6, log.transaction({1}, 2, key, 1, 1)});
  ASSERT_EQ(count_of<Persist>(first), 1u);
  ASSERT_EQ(count_of<Persist>(second), 1u);

  std::vector<Action> out = h.feed(
      kUs, PersistRefused{all_of<Persist>(first)[0].batch, Status::already_exists("a conflict")});
  ASSERT_EQ(count_of<Answer>(out), 1u);
  EXPECT_EQ(all_of<Answer>(out)[0].http_status, 400);
  h.store(kUs).apply(all_of<Persist>(second)[0].records);
  out = h.feed(kUs, Persisted{all_of<Persist>(second)[0].batch});
  ASSERT_EQ(count_of<Answer>(out), 1u);
  EXPECT_EQ(all_of<Answer>(out)[0].http_status, 200);
  EXPECT_EQ(h.store(kUs).find(a), nullptr);
  EXPECT_NE(h.store(kUs).find(b), nullptr);

  // The next one, after the second's head: taken.
  const std::string c = log.envelope(key, 3);
  out = h.feed_durable(kUs, TransactionReceived{7, log.transaction({2}, 3, key, 2, 2)});
  ASSERT_EQ(count_of<Answer>(out), 1u);
  EXPECT_EQ(all_of<Answer>(out)[0].http_status, 200) << all_of<Answer>(out)[0].body;
  EXPECT_NE(h.store(kUs).find(c), nullptr);
  // The refused one sent again is stale (409): its sender carries its message again in a new
  // transaction, which is stored.
  out = h.feed_durable(kUs, TransactionReceived{8, first_body});
  ASSERT_EQ(count_of<Answer>(out), 1u);
  EXPECT_EQ(all_of<Answer>(out)[0].http_status, 409) << all_of<Answer>(out)[0].body;
  out = h.feed_durable(kUs, TransactionReceived{9, log.transaction({0}, 3, key, 3, 3)});
  ASSERT_EQ(count_of<Answer>(out), 1u);
  EXPECT_EQ(all_of<Answer>(out)[0].http_status, 200) << all_of<Answer>(out)[0].body;
  EXPECT_NE(h.store(kUs).find(a), nullptr);
}

// Both refused: the head goes back past both, to the one before the first.
TEST(PeerSessionWindowTest, TwoRefusedBatchesOneOverTheOtherGiveTheHeadBeforeBoth) {
  Harness h;
  RuLog log(h);
  const crypto::Keys& key = h.keys(kRu).keys;
  log.envelope(key, 1);
  ASSERT_EQ(all_of<Answer>(
                h.feed_durable(kUs, TransactionReceived{4, log.transaction({0}, 1, key, 0)}))[0]
                .http_status,
            200);
  log.envelope(key, 2);
  const std::string first_body = log.transaction({1}, 2, key, 1, 1);
  const std::vector<Action> first = h.feed(kUs, TransactionReceived{5, first_body});
  log.envelope(key, 3);
  const std::string second_body = log.transaction({2}, 3, key, 2, 2);
  const std::vector<Action> second = h.feed(kUs, TransactionReceived{6, second_body});
  h.feed(kUs,
         PersistRefused{all_of<Persist>(first)[0].batch, Status::already_exists("a conflict")});
  h.feed(kUs,
         PersistRefused{all_of<Persist>(second)[0].batch, Status::already_exists("a conflict")});

  // The second is early now; the first, sent again, is stored, then the second.
  std::vector<Action> out = h.feed_durable(kUs, TransactionReceived{7, second_body});
  ASSERT_EQ(count_of<Answer>(out), 1u);
  EXPECT_EQ(all_of<Answer>(out)[0].http_status, 425) << all_of<Answer>(out)[0].body;
  out = h.feed_durable(kUs, TransactionReceived{8, first_body});
  EXPECT_EQ(all_of<Answer>(out)[0].http_status, 200) << all_of<Answer>(out)[0].body;
  out = h.feed_durable(kUs, TransactionReceived{9, second_body});
  EXPECT_EQ(all_of<Answer>(out)[0].http_status, 200) << all_of<Answer>(out)[0].body;
}

// Two transactions over the same head (a FLASH lane one, then a window one built before
// anything new was appended: A 0->2, B 2->2), then C 2->3, all three being stored. A's batch
// refused gives B the head before A; it leaves C's alone (C was taken after B, not after A).
// B's refused too gives C the head before both; C durable, its head is the one countersigned.
TEST(PeerSessionWindowTest, ARefusedBatchRewritesOnlyTheBatchTakenDirectlyAfterIt) {
  Harness h;
  RuLog log(h);
  const crypto::Keys& key = h.keys(kRu).keys;
  log.envelope(key, 1);
  log.envelope(key, 2);
  const std::vector<Action> a =
      h.feed(kUs, TransactionReceived{5, log.transaction({0}, 2, key, 0)});
  const std::vector<Action> b =
      h.feed(kUs, TransactionReceived{6, log.transaction({1}, 2, key, 2, 2)});
  const std::string c_id = log.envelope(key, 3);
  const std::vector<Action> c =
      h.feed(kUs, TransactionReceived{7, log.transaction({2}, 3, key, 2, 2)});
  ASSERT_EQ(count_of<Persist>(a), 1u);
  ASSERT_EQ(count_of<Persist>(b), 1u);
  ASSERT_EQ(count_of<Persist>(c), 1u);

  h.feed(kUs, PersistRefused{all_of<Persist>(a)[0].batch, Status::already_exists("a conflict")});
  h.feed(kUs, PersistRefused{all_of<Persist>(b)[0].batch, Status::already_exists("a conflict")});
  h.store(kUs).apply(all_of<Persist>(c)[0].records);
  std::vector<Action> out = h.feed(kUs, Persisted{all_of<Persist>(c)[0].batch});
  ASSERT_EQ(count_of<Answer>(out), 1u);
  EXPECT_EQ(all_of<Answer>(out)[0].http_status, 200) << all_of<Answer>(out)[0].body;
  EXPECT_NE(h.store(kUs).find(c_id), nullptr);

  // The next one, after C's head (3): taken.
  const std::string d_id = log.envelope(key, 4);
  out = h.feed_durable(kUs, TransactionReceived{8, log.transaction({3}, 4, key, 3, 3)});
  ASSERT_EQ(count_of<Answer>(out), 1u);
  EXPECT_EQ(all_of<Answer>(out)[0].http_status, 200) << all_of<Answer>(out)[0].body;
  EXPECT_NE(h.store(kUs).find(d_id), nullptr);
}

// The same three; A refused, B durable (its head 2 countersigned), C refused: the head C came
// after is B's, so C sent again is taken.
TEST(PeerSessionWindowTest, ABatchRefusedAfterADurableOneOverTheSameHeadGivesBackThatHead) {
  Harness h;
  RuLog log(h);
  const crypto::Keys& key = h.keys(kRu).keys;
  log.envelope(key, 1);
  log.envelope(key, 2);
  const std::vector<Action> a =
      h.feed(kUs, TransactionReceived{5, log.transaction({0}, 2, key, 0)});
  const std::vector<Action> b =
      h.feed(kUs, TransactionReceived{6, log.transaction({1}, 2, key, 2, 2)});
  const std::string c_id = log.envelope(key, 3);
  const std::string c_body = log.transaction({2}, 3, key, 2, 2);
  const std::vector<Action> c = h.feed(kUs, TransactionReceived{7, c_body});
  ASSERT_EQ(count_of<Persist>(a), 1u);
  ASSERT_EQ(count_of<Persist>(b), 1u);
  ASSERT_EQ(count_of<Persist>(c), 1u);

  h.feed(kUs, PersistRefused{all_of<Persist>(a)[0].batch, Status::already_exists("a conflict")});
  h.store(kUs).apply(all_of<Persist>(b)[0].records);
  std::vector<Action> out = h.feed(kUs, Persisted{all_of<Persist>(b)[0].batch});
  ASSERT_EQ(count_of<Answer>(out), 1u);
  EXPECT_EQ(all_of<Answer>(out)[0].http_status, 200) << all_of<Answer>(out)[0].body;
  h.feed(kUs, PersistRefused{all_of<Persist>(c)[0].batch, Status::already_exists("a conflict")});

  out = h.feed_durable(kUs, TransactionReceived{8, c_body});
  ASSERT_EQ(count_of<Answer>(out), 1u);
  EXPECT_EQ(all_of<Answer>(out)[0].http_status, 200) << all_of<Answer>(out)[0].body;
  EXPECT_NE(h.store(kUs).find(c_id), nullptr);
}

// A sender that restarts with a transaction unreceipted carries its messages again in a new
// transaction (ARestartWithAWindowInFlightLosesAndRepeatsNothing): the same entry over the same
// head, while the first one's batch may still be being stored. The second waits for that
// batch: refused, the second stores the message itself; its receipt never lists a message
// stored nowhere (before: it counted the message as held, stored nothing of it, and was
// receipted over it once the first was refused: the sender took it for delivered).
TEST(PeerSessionWindowTest, ATransactionCarryingAnEntryBeingStoredWaitsForThatBatch) {
  Harness h;
  RuLog log(h);
  const crypto::Keys& key = h.keys(kRu).keys;
  const std::string m = log.envelope(key, 1);
  const std::vector<Action> first =
      h.feed(kUs, TransactionReceived{5, log.transaction({0}, 1, key, 0)});
  ASSERT_EQ(count_of<Persist>(first), 1u);
  std::vector<Action> out = h.feed(kUs, TransactionReceived{6, log.transaction({0}, 1, key, 0, 0)});
  EXPECT_EQ(count_of<Answer>(out), 0u);
  EXPECT_EQ(count_of<Persist>(out), 0u);

  const std::vector<Action> refused = h.feed(
      kUs, PersistRefused{all_of<Persist>(first)[0].batch, Status::already_exists("a conflict")});
  out.insert(out.end(), refused.begin(), refused.end());
  settle(h.session(kUs), h.store(kUs), h.now, out);
  const std::vector<Answer> answers = all_of<Answer>(out);
  ASSERT_EQ(answers.size(), 2u);
  EXPECT_EQ(answers[0].request, 5u);
  EXPECT_EQ(answers[0].http_status, 400);
  EXPECT_EQ(answers[1].request, 6u);
  ASSERT_EQ(answers[1].http_status, 200) << answers[1].body;
  EXPECT_EQ(receipt_of(answers[1], h.keys(kUs)).body.ids, std::vector<std::string>{m});
  ASSERT_NE(h.store(kUs).find(m), nullptr);
  EXPECT_EQ(h.store(kUs).log("ru-genstaff", "us-eucom").count(0), 1u);
  EXPECT_EQ(h.session(kUs).stats().transactions_held, 1u);
}

// The first batch durable, the one that waited is answered: stored without the message again,
// its receipt naming it (stored by the first).
TEST(PeerSessionWindowTest, ATransactionThatWaitedForADurableBatchIsReceiptedWithoutStoringAgain) {
  Harness h;
  RuLog log(h);
  const crypto::Keys& key = h.keys(kRu).keys;
  const std::string m = log.envelope(key, 1);
  std::vector<Action> out = h.feed(kUs, TransactionReceived{5, log.transaction({0}, 1, key, 0)});
  const std::vector<Action> second =
      h.feed(kUs, TransactionReceived{6, log.transaction({0}, 1, key, 0, 0)});
  EXPECT_TRUE(second.empty());
  settle(h.session(kUs), h.store(kUs), h.now, out);
  const std::vector<Answer> answers = all_of<Answer>(out);
  ASSERT_EQ(answers.size(), 2u);
  EXPECT_EQ(answers[0].http_status, 200) << answers[0].body;
  EXPECT_EQ(answers[1].request, 6u);
  EXPECT_EQ(answers[1].http_status, 200) << answers[1].body;
  EXPECT_EQ(receipt_of(answers[1], h.keys(kUs)).body.ids, std::vector<std::string>{m});
  EXPECT_EQ(h.store(kUs).count(Direction::kInbound), 1u);
  EXPECT_EQ(notices_of(out, NoticeKind::kMessageReceived).size(), 1u);
}

// Carrying entries of two batches being stored, a transaction waits for both: the first
// durable, it waits again (counted once), the second durable, it is answered.
TEST(PeerSessionWindowTest, ATransactionWaitsUntilNoBatchItCarriesAnEntryOfIsBeingStored) {
  Harness h;
  RuLog log(h);
  const crypto::Keys& key = h.keys(kRu).keys;
  const std::string m = log.envelope(key, 1);
  const std::string n = log.envelope(key, 2);
  std::vector<Action> first = h.feed(kUs, TransactionReceived{5, log.transaction({0}, 1, key, 0)});
  std::vector<Action> second =
      h.feed(kUs, TransactionReceived{6, log.transaction({1}, 2, key, 1, 1)});
  ASSERT_EQ(count_of<Persist>(first), 1u);
  ASSERT_EQ(count_of<Persist>(second), 1u);
  EXPECT_TRUE(h.feed(kUs, TransactionReceived{7, log.transaction({0, 1}, 2, key, 0, 0)}).empty());

  h.store(kUs).apply(all_of<Persist>(first)[0].records);
  std::vector<Action> out = h.feed(kUs, Persisted{all_of<Persist>(first)[0].batch});
  ASSERT_EQ(count_of<Answer>(out), 1u);
  EXPECT_EQ(all_of<Answer>(out)[0].request, 5u);
  EXPECT_EQ(count_of<Persist>(out), 0u);  // it waits again, for the second

  h.store(kUs).apply(all_of<Persist>(second)[0].records);
  out = h.feed(kUs, Persisted{all_of<Persist>(second)[0].batch});
  settle(h.session(kUs), h.store(kUs), h.now, out);
  const std::vector<Answer> answers = all_of<Answer>(out);
  ASSERT_EQ(answers.size(), 2u);
  EXPECT_EQ(answers[0].request, 6u);
  EXPECT_EQ(answers[1].request, 7u);
  EXPECT_EQ(answers[1].http_status, 200) << answers[1].body;
  EXPECT_EQ(receipt_of(answers[1], h.keys(kUs)).body.ids, (std::vector<std::string>{m, n}));
  EXPECT_EQ(h.store(kUs).count(Direction::kInbound), 2u);
  EXPECT_EQ(h.session(kUs).stats().transactions_held, 1u);
}

}  // namespace
}  // namespace parley::core
