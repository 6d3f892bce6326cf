// PeerSession: recovery at start, and the transcript (heads, receipts, proofs, forks).
#include <gtest/gtest.h>

#include "parley/core/session_harness.h"

namespace parley::core {
namespace {

TEST(PeerSessionTest, RecoveredQueueIsResentAfterRestart) {
  // Before the crash: two messages stored, one sent but never receipted.
  Recovered recovered;
  std::vector<std::string> ids;
  {
    Harness before;
    before.link_up = false;
    ids.push_back(before.send(kUs, Precedence::kRoutine));
    ids.push_back(before.send(kUs, Precedence::kFlash));
    recovered = before.store(kUs).recover("us-eucom", "ru-genstaff");
    EXPECT_EQ(recovered.unreceipted.size(), 2u);
    EXPECT_EQ(recovered.last_outbound_seq[kLine], 2u);
    EXPECT_EQ(recovered.ledger.log_size, 2u);
  }
  Harness h(recovered, /*seed=*/43);  // same keys, other ids
  ASSERT_TRUE(h.session(kUs).next_deadline().has_value());
  EXPECT_LE(*h.session(kUs).next_deadline(), h.now);  // due at once
  EXPECT_EQ(h.session(kUs).stats().queued, 2u);
  for (const MessageRecord& m : recovered.unreceipted) {
    h.store(kUs).apply({PutMessage{m}});
  }

  h.deliver(kUs, TimerFired{});
  const std::vector<SendTransaction> sent = all_of<SendTransaction>(h.log[kUs]);
  ASSERT_EQ(sent.size(), 2u);  // the FLASH lane's first, then the window's
  EXPECT_EQ(sent[0].precedence, Precedence::kFlash);
  EXPECT_EQ(envelopes_of(sent[0].body).size(), 1u);
  EXPECT_EQ(sent[1].precedence, Precedence::kRoutine);
  for (const std::string& id : ids) {
    ASSERT_NE(h.store(kRu).find(id), nullptr);
    EXPECT_EQ(h.store(kUs).find(id)->state, MessageState::kDelivered);
  }
  EXPECT_EQ(h.session(kUs).stats().queued, 0u);
  EXPECT_EQ(h.session(kUs).stats().unacknowledged, 2u);

  // Numbering continues after the recovered seq.
  std::vector<Action> out = h.feed(kUs, h.submit_event());
  EXPECT_EQ(put_of(out).seq, 3u);
}

TEST(PeerSessionTest, RecoveredInboundSeqsAreNotStoredAgain) {
  Harness first;
  first.link_up = false;
  first.send(kUs);
  const SendTransaction sent = all_of<SendTransaction>(first.log[kUs])[0];

  // The receiver restarts knowing it already stored seq 1 on the line.
  Harness h;
  Recovered recovered;
  recovered.inbound_seqs[kLine] = RecoveredSeqs{/*watermark=*/1, {}};
  PeerSession ru(h.config(kRu), catalog::Catalog::builtin(), h.rng(), recovered);
  std::vector<Action> out;
  ru.handle(TransactionReceived{1, sent.body}, h.now, out);
  ASSERT_EQ(count_of<Persist>(out), 1u);
  EXPECT_EQ(records_of<PutMessage>(all_of<Persist>(out)[0]), 0u);
}

TEST(PeerSessionTest, RecoveredWatermarkAndSeqsAboveItDedupeAndTheGapsAreStored) {
  // The sender holds seqs 1..4 unreceipted and sends them in one transaction after a restart.
  Harness first;
  first.link_up = false;
  for (int i = 0; i < 4; ++i) first.send(kUs);
  PeerSession sender(first.config(kUs), catalog::Catalog::builtin(), first.rng(),
                     first.store(kUs).recover("us-eucom", "ru-genstaff"));
  std::vector<Action> sent;
  sender.handle(TimerFired{}, first.now, sent);
  settle(sender, first.store(kUs), first.now, sent);
  ASSERT_EQ(count_of<SendTransaction>(sent), 1u);
  const std::string body = all_of<SendTransaction>(sent)[0].body;

  // The receiver restarts having stored 1 (the watermark) and 3 (above a gap).
  Harness h;
  Recovered recovered;
  recovered.inbound_seqs[kLine] = RecoveredSeqs{/*watermark=*/1, {3}};
  PeerSession ru(h.config(kRu), catalog::Catalog::builtin(), h.rng(), recovered);
  std::vector<Action> out;
  ru.handle(TransactionReceived{1, body}, h.now, out);
  ASSERT_EQ(count_of<Persist>(out), 1u);
  const Persist persist = all_of<Persist>(out)[0];
  std::vector<std::uint64_t> stored;
  for (const Record& r : persist.records) {
    if (const auto* put = std::get_if<PutMessage>(&r)) stored.push_back(put->message.seq);
  }
  EXPECT_EQ(stored, (std::vector<std::uint64_t>{2, 4}));

  // Once durable, the gaps are filled: the same transaction again stores nothing and is
  // answered with the same receipt.
  out.clear();
  ru.handle(Persisted{persist.batch}, h.now, out);
  ASSERT_EQ(count_of<Answer>(out), 1u);
  const std::string receipt = all_of<Answer>(out)[0].body;
  out.clear();
  ru.handle(TransactionReceived{2, body}, h.now, out);
  EXPECT_EQ(count_of<Persist>(out), 0u);
  ASSERT_EQ(count_of<Answer>(out), 1u);
  EXPECT_EQ(all_of<Answer>(out)[0].body, receipt);
}

TEST(PeerSessionTest, BadPeerBoxKeyRefusesEverything) {
  Harness h;
  SessionConfig config = h.config(kUs);
  config.peer.box_key = crypto::BoxPublicKey{};  // all zeros: a low-order point
  PeerSession broken(config, catalog::Catalog::builtin(), h.rng(), Recovered{});
  std::vector<Action> out;
  broken.handle(h.submit_event(), h.now, out);
  ASSERT_EQ(count_of<Rejected>(out), 1u);
  EXPECT_FALSE(all_of<Rejected>(out)[0].status.is_ok());
  out.clear();
  broken.handle(TransactionReceived{1, "{}"}, h.now, out);
  ASSERT_EQ(count_of<Answer>(out), 1u);
  EXPECT_EQ(all_of<Answer>(out)[0].http_status, 400);
}

TEST(PeerSessionTest, UnknownBatchIsIgnored) {
  Harness h;
  std::vector<Action> out = h.feed(kUs, Persisted{12345});
  EXPECT_TRUE(out.empty());
}

TEST(PeerSessionTest, TransactionsHoldAtMostTxEnvelopesMax) {
  Harness h;
  h.link_up = false;
  for (int i = 0; i < 70; ++i) h.send(kUs);  // the first goes alone, 69 wait
  const SendTransaction first = all_of<SendTransaction>(h.log[kUs])[0];
  h.link_up = true;
  h.deliver(kUs, TransactionFailed{first.tx, "timeout"});
  h.now += 1s;
  h.deliver(kUs, TimerFired{});
  const std::vector<SendTransaction> sent = all_of<SendTransaction>(h.log[kUs]);
  const std::size_t max = SessionConfig{}.tx_envelopes_max;
  ASSERT_LT(max, 69u);
  ASSERT_EQ(sent.size(), 2 + (69 + max - 1) / max);  // the first alone (twice), then full ones
  for (std::size_t i = 2; i + 1 < sent.size(); ++i) {
    EXPECT_EQ(envelopes_of(sent[i].body).size(), max);
  }
  EXPECT_EQ(envelopes_of(sent.back().body).size(), 69 - (sent.size() - 3) * max);
  EXPECT_EQ(h.store(kRu).count(Direction::kInbound), 70u);
  EXPECT_EQ(h.session(kUs).stats().queued, 0u);
}

// ---- the transcript ----

TEST(PeerSessionTest, ReceiptCountersignsTheSendersHead) {
  Harness h;
  h.link_up = false;
  const std::string id = h.send(kUs, Precedence::kImmediate);
  const SendTransaction sent = all_of<SendTransaction>(h.log[kUs])[0];
  h.link_up = true;
  h.deliver(kUs, TransactionFailed{sent.tx, "timeout"});
  h.now += 1s;
  h.deliver(kUs, TimerFired{});

  // The head the transaction carried: our log of one entry, signed by us.
  Result<wire::Transaction> tx = wire::parse_transaction(sent.body);
  ASSERT_TRUE(tx.is_ok());
  Result<ledger::SignedTreeHead> sth =
      ledger::open_sth(tx->sth, h.keys(kUs).keys.verify, "us-eucom");
  ASSERT_TRUE(sth.is_ok()) << sth.status().to_string();
  const MessageRecord& m = *h.store(kUs).find(id);
  EXPECT_EQ(sth->head.log, "us-eucom");
  EXPECT_EQ(sth->head.peer, "ru-genstaff");
  EXPECT_EQ(sth->head.size, 1u);
  EXPECT_EQ(sth->head.root, ledger::leaf_hash(as_bytes(m.envelope)));

  // The receipt: the peer's one signature over exactly that head and the entry received.
  ASSERT_EQ(m.state, MessageState::kDelivered);
  Result<ledger::ReceiptV2> receipt =
      ledger::open_receipt_v2(*m.receipt, h.keys(kRu).keys.verify, "ru-genstaff");
  ASSERT_TRUE(receipt.is_ok()) << receipt.status().to_string();
  EXPECT_EQ(receipt->body.tx, sent.tx);
  EXPECT_EQ(receipt->body.sth, sth->payload_bytes);
  EXPECT_EQ(receipt->body.sth_sig, sth->sig);
  EXPECT_EQ(receipt->body.ids, std::vector<std::string>{id});
  EXPECT_EQ(receipt->body.indices, std::vector<std::uint64_t>{0});

  // Both sides keep the head with its countersignature; the sender also its frontier.
  const auto& ours = h.store(kUs).heads("us-eucom", "ru-genstaff");
  ASSERT_EQ(ours.count(1), 1u);
  EXPECT_EQ(ours.at(1).receipt, m.receipt);
  EXPECT_EQ(ours.at(1).frontier, std::vector<crypto::Digest>{sth->head.root});
  const auto& theirs = h.store(kRu).heads("us-eucom", "ru-genstaff");
  ASSERT_EQ(theirs.count(1), 1u);
  EXPECT_EQ(theirs.at(1).sth, tx->sth);
  EXPECT_EQ(theirs.at(1).receipt, m.receipt);
  EXPECT_EQ(h.session(kUs).stats().countersigned_size, 1u);
  EXPECT_EQ(h.session(kRu).stats().peer_log_size, 1u);

  // A receipt that answers the transaction with a receipt for an earlier head of ours is
  // not taken: the sender keeps its retry.
  EXPECT_EQ(h.store(kRu).log("us-eucom", "ru-genstaff").at(0).message_id, id);
}

TEST(PeerSessionTest, InclusionProofOfEveryMessageVerifiesAgainstTheCountersignedHead) {
  Harness h;
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i)
    ids.push_back(h.send(kUs, i == 3 ? Precedence::kFlash : Precedence::kRoutine));
  // Batches: with the link down, several messages wait and leave in one transaction.
  h.link_up = false;
  for (int i = 0; i < 6; ++i) ids.push_back(h.send(kUs));
  h.link_up = true;
  h.deliver(kUs, TransactionFailed{all_of<SendTransaction>(h.log[kUs]).back().tx, "timeout"});
  h.now += 1s;
  h.deliver(kUs, TimerFired{});
  // Acks travel in the other direction, in the peer's own log.
  for (int i = 0; i < 3; ++i) {
    h.deliver(kRu, Acknowledge{h.next_request(), "cgs", ids[i]});
  }
  for (int i = 0; i < 2; ++i) h.send(kRu);

  for (const std::string& id : ids) {
    EXPECT_EQ(h.store(kRu).find(id)->direction, Direction::kInbound);
  }
  EXPECT_EQ(h.store(kUs).log("us-eucom", "ru-genstaff").size(), 11u);
  EXPECT_EQ(h.session(kUs).stats().log_size, 11u);
  EXPECT_EQ(h.session(kUs).stats().countersigned_size, 11u);
  expect_every_outbound_message_proven(h, kUs);
  expect_every_outbound_message_proven(h, kRu);  // 3 acks, 2 messages

  // The receiver keeps each inbound message's proof, and it verifies too.
  for (const std::string& id : ids) {
    const InclusionRecord* in = h.store(kRu).inclusion(id);
    ASSERT_NE(in, nullptr);
    EXPECT_TRUE(
        ledger::verify_inclusion(in->index, in->size,
                                 ledger::leaf_hash(as_bytes(h.store(kRu).find(id)->envelope)),
                                 in->proof, in->root)
            .is_ok());
  }
  // The peer's log as the receiver holds it is the sender's, entry for entry.
  const auto& sent = h.store(kUs).log("us-eucom", "ru-genstaff");
  const auto& received = h.store(kRu).log("us-eucom", "ru-genstaff");
  ASSERT_EQ(sent.size(), received.size());
  for (const auto& [index, entry] : sent) {
    EXPECT_EQ(received.at(index).message_id, entry.message_id);
    EXPECT_EQ(received.at(index).leaf_hash, entry.leaf_hash);
  }
}

TEST(PeerSessionTest, NonExtendingHeadIsDetectedAndEvidenceKept) {
  Harness h;
  h.send(kUs);
  h.send(kUs);
  ASSERT_EQ(h.session(kRu).stats().peer_log_size, 2u);
  const std::string countersigned = h.store(kRu).heads("us-eucom", "ru-genstaff").at(2).sth;

  // The sender rewrites its log: two other entries under the same size, signed with its
  // real key. The receiver countersigned size 2 with another root.
  std::vector<wire::Draft> rewritten;
  for (std::uint64_t seq = 1; seq <= 2; ++seq) {
    wire::Draft d = draft_from_ru(h.rng(), seq);
    d.from = {"us-eucom", "saceur"};
    d.to = {"ru-genstaff", "cgs"};
    d.content.text = "this was never said";
    rewritten.push_back(d);
  }
  const std::string forked = log_transaction(h.keys(kUs), h.keys(kRu), rewritten, h.rng());
  std::vector<Action> out = h.feed(kRu, TransactionReceived{h.next_request(), forked});
  ASSERT_EQ(count_of<Answer>(out), 1u);
  EXPECT_EQ(all_of<Answer>(out)[0].http_status, 400);
  const std::vector<Notice> alerts = notices_of(out, NoticeKind::kForkDetected);
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_NE(alerts[0].text.find("FORK"), std::string::npos) << alerts[0].text;
  // Only the evidence is stored: both signed heads, kept.
  ASSERT_EQ(count_of<Persist>(out), 1u);
  EXPECT_EQ(records_of<PutEvidence>(all_of<Persist>(out)[0]), 1u);
  EXPECT_EQ(all_of<Persist>(out)[0].records.size(), 1u);
  h.carry(kRu, out);
  ASSERT_EQ(h.store(kRu).evidence().size(), 1u);
  const PutEvidence& evidence = h.store(kRu).evidence()[0];
  EXPECT_EQ(evidence.peer, "us-eucom");
  EXPECT_EQ(evidence.kind, "fork");
  EXPECT_EQ(evidence.sth_a, countersigned);
  EXPECT_EQ(evidence.sth_b, wire::parse_transaction(forked)->sth);
  EXPECT_EQ(h.session(kRu).stats().forks_detected, 1u);
  EXPECT_EQ(h.session(kRu).stats().peer_log_size, 2u);  // nothing changed
  // The path is forked: an alarm, with the reason.
  EXPECT_TRUE(h.session(kRu).stats().forked());
  EXPECT_EQ(h.session(kRu).stats().fork_reason(), alerts[0].text);

  // A longer rewritten log whose consistency proof from the countersigned size cannot hold.
  rewritten.push_back(rewritten.back());
  rewritten.back().seq = 3;
  rewritten.back().id = uuid_v7(h.now, h.rng());
  const std::string longer = log_transaction(h.keys(kUs), h.keys(kRu), rewritten, h.rng(), {0, 2});
  wire::Transaction tampered = *wire::parse_transaction(longer);
  // The proof from size 2 is honest for the rewritten log, but claims the countersigned
  // root: it cannot verify.
  tampered.consistency[1].from_root = ledger::parse_sth(countersigned)->head.root;
  out = h.feed(kRu, TransactionReceived{h.next_request(), wire::encode_transaction(tampered)});
  EXPECT_EQ(notices_of(out, NoticeKind::kForkDetected).size(), 1u);
  EXPECT_EQ(all_of<Answer>(out)[0].http_status, 400);
  h.carry(kRu, out);
  EXPECT_EQ(h.store(kRu).evidence().size(), 2u);

  // The genuine sender's next transaction, with an untampered proof, is still taken; a
  // tampered copy of it is a fork too.
  h.link_up = false;
  const std::string third = h.send(kUs);
  const SendTransaction genuine = all_of<SendTransaction>(h.log[kUs]).back();
  wire::Transaction bent = *wire::parse_transaction(genuine.body);
  ASSERT_EQ(bent.consistency.size(), 1u);
  ASSERT_EQ(bent.consistency[0].from_size, 2u);
  ASSERT_FALSE(bent.consistency[0].proof.empty());
  bent.consistency[0].proof[0][0] ^= 0x01;
  out = h.feed(kRu, TransactionReceived{h.next_request(), wire::encode_transaction(bent)});
  EXPECT_EQ(notices_of(out, NoticeKind::kForkDetected).size(), 1u);
  h.carry(kRu, out);
  h.link_up = true;
  h.deliver(kUs, TransactionFailed{genuine.tx, "timeout"});
  h.now += 1s;
  h.deliver(kUs, TimerFired{});
  EXPECT_EQ(h.store(kUs).find(third)->state, MessageState::kDelivered);
  EXPECT_EQ(h.session(kRu).stats().peer_log_size, 3u);
  // A fork seen stays an alarm (until a restart; the evidence stays for good).
  EXPECT_TRUE(h.session(kRu).stats().forked());
}

TEST(PeerSessionTest, StaleResendIsHarmless) {
  Harness h;
  h.send(kUs);
  const SendTransaction first = all_of<SendTransaction>(h.log[kUs]).back();
  h.send(kUs);
  const SendTransaction second = all_of<SendTransaction>(h.log[kUs]).back();
  ASSERT_EQ(h.session(kRu).stats().peer_log_size, 2u);

  // A late copy of the first transaction: its head is older than the one countersigned. ru
  // answers it with the receipt it signed for it then (its answer may have been lost while a
  // later one of the window went through), byte for byte, and stores nothing.
  std::vector<Action> out = h.feed(kRu, TransactionReceived{h.next_request(), first.body});
  ASSERT_EQ(count_of<Answer>(out), 1u);
  EXPECT_EQ(all_of<Answer>(out)[0].http_status, 200);
  EXPECT_EQ(all_of<Answer>(out)[0].body, all_of<Answer>(h.log[kRu])[0].body);
  EXPECT_EQ(count_of<Persist>(out), 0u);
  EXPECT_TRUE(notices_of(out, NoticeKind::kForkDetected).empty());

  // A copy of the second: the same head again, answered with the same receipt, nothing
  // stored.
  out = h.feed(kRu, TransactionReceived{h.next_request(), second.body});
  EXPECT_EQ(count_of<Persist>(out), 0u);
  ASSERT_EQ(count_of<Answer>(out), 1u);
  EXPECT_EQ(all_of<Answer>(out)[0].http_status, 200);
  EXPECT_EQ(all_of<Answer>(out)[0].body,
            h.store(kRu).heads("us-eucom", "ru-genstaff").rbegin()->second.receipt);
  h.carry(kRu, out);
  EXPECT_TRUE(h.store(kRu).evidence().empty());
  EXPECT_EQ(h.store(kRu).count(Direction::kInbound), 2u);

  // After a restart ru holds only its latest receipt: the late copy is stale (409, "send its
  // messages again"), no refusal of a fault, nothing stored.
  h.restart(kRu, h.store(kRu).recover("ru-genstaff", "us-eucom"));
  out = h.feed(kRu, TransactionReceived{h.next_request(), first.body});
  ASSERT_EQ(count_of<Answer>(out), 1u);
  EXPECT_EQ(all_of<Answer>(out)[0].http_status, 409);
  EXPECT_NE(wire::parse_refusal(all_of<Answer>(out)[0].body)->error.find("older"),
            std::string::npos);
  EXPECT_EQ(count_of<Persist>(out), 0u);
  EXPECT_EQ(h.session(kRu).stats().frames_refused, 0u);
  EXPECT_EQ(h.session(kRu).stats().transactions_out_of_order, 1u);

  // And traffic goes on.
  const std::string third = h.send(kUs);
  EXPECT_EQ(h.store(kUs).find(third)->state, MessageState::kDelivered);
  expect_every_outbound_message_proven(h, kUs);
}

TEST(PeerSessionTest, RecoveryRestoresTheFrontierWithoutHistory) {
  Harness h;
  for (int i = 0; i < 5; ++i) h.send(kUs);
  h.link_up = false;
  const std::string sixth = h.send(kUs);    // in flight, its head (size 6) unanswered
  const std::string seventh = h.send(kUs);  // queued

  const Recovered recovered = h.store(kUs).recover("us-eucom", "ru-genstaff");
  const RecoveredLedger& l = recovered.ledger;
  EXPECT_EQ(l.log_size, 7u);
  ASSERT_TRUE(l.countersigned.has_value());
  EXPECT_EQ(l.countersigned->size, 5u);
  // The frontier: the compact range at the countersigned size (one node per set bit of
  // 5) and the two leaves after it; nothing of the first five entries.
  EXPECT_EQ(l.base_size, 5u);
  EXPECT_EQ(l.base_nodes.size(), 2u);
  EXPECT_EQ(l.tail.size(), 2u);
  ASSERT_EQ(l.pending.size(), 1u);
  EXPECT_EQ(l.pending[0].size, 6u);
  ASSERT_TRUE(l.peer_head.has_value() == false);

  h.restart(kUs, recovered);
  EXPECT_EQ(h.session(kUs).stats().log_size, 7u);
  EXPECT_EQ(h.session(kUs).stats().countersigned_size, 5u);
  h.link_up = true;
  h.deliver(kUs, TimerFired{});
  EXPECT_EQ(h.store(kUs).find(sixth)->state, MessageState::kDelivered);
  EXPECT_EQ(h.store(kUs).find(seventh)->state, MessageState::kDelivered);
  // Numbering of the log continues where it was.
  const std::string eighth = h.send(kUs);
  EXPECT_EQ(h.store(kUs).find(eighth)->log_index, 7u);
  EXPECT_EQ(h.session(kRu).stats().peer_log_size, 8u);
  expect_every_outbound_message_proven(h, kUs);

  // The receiver restarts too: it checks the next head against the one it countersigned.
  h.restart(kRu, h.store(kRu).recover("ru-genstaff", "us-eucom"));
  EXPECT_EQ(h.session(kRu).stats().peer_log_size, 8u);
  const std::string ninth = h.send(kUs);
  EXPECT_EQ(h.store(kUs).find(ninth)->state, MessageState::kDelivered);
  EXPECT_TRUE(h.store(kRu).evidence().empty());
}

TEST(PeerSessionTest, FlashOvertakingRoutineStillProvesInclusion) {
  Harness h;
  h.restart(kUs, Recovered{}, /*tx_envelopes_max=*/1);
  h.link_up = false;
  std::vector<std::string> routine;
  for (int i = 0; i < 3; ++i) routine.push_back(h.send(kUs));  // the first is in flight
  const std::string flash = h.send(kUs, Precedence::kFlash);
  const SendTransaction first = all_of<SendTransaction>(h.log[kUs]).back();

  // The FLASH (index 3) leaves alone in a new transaction; the peer countersigns size 4
  // while entries 0..2 are not receipted yet.
  h.link_up = true;
  h.deliver(kUs, TransactionFailed{first.tx, "timeout"});
  h.now += 100ms;
  std::vector<Action> out = h.feed_durable(kUs, TimerFired{});
  ASSERT_EQ(count_of<SendTransaction>(out), 1u);
  const SendTransaction flash_tx = all_of<SendTransaction>(out)[0];
  EXPECT_EQ(envelopes_of(flash_tx.body).size(), 1u);
  h.link_up = false;
  h.carry(kUs, out);
  std::vector<Action> received = h.feed(kRu, TransactionReceived{h.next_request(), flash_tx.body});
  h.store(kRu).apply(all_of<Persist>(received)[0].records);
  const Answer answer =
      all_of<Answer>(h.feed(kRu, Persisted{all_of<Persist>(received)[0].batch}))[0];
  ASSERT_EQ(answer.http_status, 200) << answer.body;
  h.deliver(kUs, TransactionAnswered{flash_tx.tx, answer.http_status, answer.body});
  EXPECT_EQ(h.store(kUs).find(flash)->state, MessageState::kDelivered);
  // Its transaction got no answer: it has not reached the peer, so it is still queued.
  EXPECT_EQ(h.store(kUs).find(routine[0])->state, MessageState::kQueued);
  EXPECT_EQ(h.session(kUs).stats().countersigned_size, 4u);
  EXPECT_EQ(h.store(kUs).inclusion(flash)->size, 4u);

  // A restart now must still be able to prove entries 0..2.
  Recovered recovered = h.store(kUs).recover("us-eucom", "ru-genstaff");
  EXPECT_EQ(recovered.ledger.base_size, 0u);
  EXPECT_EQ(recovered.ledger.tail.size(), 4u);
  h.restart(kUs, std::move(recovered), /*tx_envelopes_max=*/1);

  // The ROUTINE messages follow, each proven in a head the peer countersigns.
  h.link_up = true;
  h.deliver(kUs, TimerFired{});
  for (const std::string& id : routine) {
    EXPECT_EQ(h.store(kUs).find(id)->state, MessageState::kDelivered) << id;
  }
  expect_every_outbound_message_proven(h, kUs);
  EXPECT_TRUE(h.store(kRu).evidence().empty());
}

}  // namespace
}  // namespace parley::core
