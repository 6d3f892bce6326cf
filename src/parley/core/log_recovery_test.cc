// verify_peer_copy: what the peer holds of our log, checked against our key, the peer's
// countersignature and our log's frontier as a restored backup holds it.
#include "parley/core/log_recovery.h"

#include <gtest/gtest.h>

#include "parley/core/peer_log_for_test.h"
#include "parley/core/session_harness.h"

namespace parley::core {
namespace {

// us sent `sent` messages, all receipted; `backup` is us's store after the first `kept`.
struct Restored {
  Harness h;
  FakeStore backup;
  std::vector<std::string> ids;  // every message us sent, in order

  Restored(int sent, int kept) {
    for (int i = 0; i < sent; ++i) {
      ids.push_back(h.send(kUs));
      if (i + 1 == kept) backup = h.store(kUs);
    }
    if (kept == 0) backup = FakeStore{};
  }
  OwnLog log() {
    OwnLog log;
    EXPECT_TRUE(log.recover(backup.recover("us-eucom", "ru-genstaff").ledger).is_ok());
    return log;
  }
  RecoveryParties parties() {
    return {ledger::KeyChain("us-eucom", h.keys(kUs).keys.verify),
            ledger::KeyChain("ru-genstaff", h.keys(kRu).keys.verify)};
  }
  // What ru holds of our log: its newest countersigned head of it and our entries from `from`.
  PeerCopyOfOurLog copy(std::uint64_t from) {
    PeerCopyOfOurLog c;
    for (const auto& [size, head] : h.store(kRu).heads("us-eucom", "ru-genstaff")) {
      if (!head.receipt) continue;
      c.sth = head.sth;
      c.receipt = *head.receipt;
    }
    for (const auto& [index, entry] : h.store(kRu).log("us-eucom", "ru-genstaff")) {
      if (index >= from)
        c.entries.push_back({index, h.store(kRu).find(entry.message_id)->envelope});
    }
    return c;
  }
};

TEST(LogRecoveryTest, ThePeersCopyBeyondARestoredBackupVerifiesAndGivesTheLostEntries) {
  Restored r(/*sent=*/5, /*kept=*/2);
  const OwnLog log = r.log();
  ASSERT_EQ(log.assigned(), 2u);
  const Result<VerifiedPeerCopy> v = verify_peer_copy(r.copy(2), log, r.parties());
  ASSERT_TRUE(v.is_ok()) << v.status().to_string();
  EXPECT_EQ(v->head.head.size, 5u);
  ASSERT_EQ(v->entries.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(v->entries[i].index, 2 + i);
    EXPECT_EQ(v->entries[i].envelope.payload.id, r.ids[2 + i]);
    EXPECT_EQ(v->entries[i].envelope_json, r.h.store(kUs).find(r.ids[2 + i])->envelope);
  }
}

TEST(LogRecoveryTest, ATamperedEntryIsRefused) {
  Restored r(5, 2);
  const OwnLog log = r.log();
  // A signature altered: not signed by us.
  PeerCopyOfOurLog bad = r.copy(2);
  std::string& json = bad.entries[1].envelope;
  const std::size_t sig = json.find("\"sig\":\"") + 7;
  json[sig] = json[sig] == 'A' ? 'B' : 'A';
  Result<VerifiedPeerCopy> v = verify_peer_copy(bad, log, r.parties());
  ASSERT_FALSE(v.is_ok());
  EXPECT_EQ(v.status().code(), StatusCode::kUnauthenticated) << v.status().to_string();

  // Two genuine entries of ours swapped: every signature holds, the root does not.
  bad = r.copy(2);
  std::swap(bad.entries[0].envelope, bad.entries[1].envelope);
  v = verify_peer_copy(bad, log, r.parties());
  ASSERT_FALSE(v.is_ok());
  EXPECT_EQ(v.status().code(), StatusCode::kDataLoss) << v.status().to_string();
  EXPECT_NE(v.status().message().find("do not give the root"), std::string::npos);

  // An entry of ours that is not in that log at all (one us sent before) in place of one.
  bad = r.copy(2);
  bad.entries[2].envelope = r.copy(0).entries[0].envelope;
  v = verify_peer_copy(bad, log, r.parties());
  ASSERT_FALSE(v.is_ok());
  EXPECT_EQ(v.status().code(), StatusCode::kDataLoss);
}

TEST(LogRecoveryTest, AnEntryThePeerNeverHeldCannotBeRecovered) {
  Restored r(5, 2);
  PeerCopyOfOurLog c = r.copy(2);
  c.entries.erase(c.entries.begin() + 1);  // entry 3
  Result<VerifiedPeerCopy> v = verify_peer_copy(c, r.log(), r.parties());
  ASSERT_FALSE(v.is_ok());
  EXPECT_EQ(v.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(v.status().message().find("does not hold entry 3"), std::string::npos)
      << v.status().message();
  c = r.copy(2);
  c.entries.pop_back();  // the last one
  v = verify_peer_copy(c, r.log(), r.parties());
  ASSERT_FALSE(v.is_ok());
  EXPECT_EQ(v.status().code(), StatusCode::kFailedPrecondition);
}

TEST(LogRecoveryTest, AHeadThatIsNotOursOrAReceiptNotOverItIsRefused) {
  Restored r(5, 2);
  r.h.send(kRu);  // ru's log has a head us countersigned
  PeerCopyOfOurLog c = r.copy(2);
  // ru's own head (with our receipt) passed off as ours.
  const auto& ru_heads = r.h.store(kRu).heads("ru-genstaff", "us-eucom");
  ASSERT_FALSE(ru_heads.empty());
  c.sth = ru_heads.rbegin()->second.sth;
  Result<VerifiedPeerCopy> v = verify_peer_copy(c, r.log(), r.parties());
  ASSERT_FALSE(v.is_ok());
  EXPECT_EQ(v.status().code(), StatusCode::kUnauthenticated);

  // Our head with the receipt ru signed for an earlier head.
  c = r.copy(2);
  const auto& heads = r.h.store(kRu).heads("us-eucom", "ru-genstaff");
  c.receipt = *heads.begin()->second.receipt;
  ASSERT_NE(heads.begin()->second.sth, c.sth);
  v = verify_peer_copy(c, r.log(), r.parties());
  ASSERT_FALSE(v.is_ok());
  EXPECT_EQ(v.status().code(), StatusCode::kUnauthenticated);
  EXPECT_NE(v.status().message().find("does not countersign"), std::string::npos);
}

TEST(LogRecoveryTest, AHeadWithinOurLogNeedsNoEntries) {
  Restored r(3, 3);  // the backup is as new as what ru holds
  Result<VerifiedPeerCopy> v = verify_peer_copy(r.copy(3), r.log(), r.parties());
  ASSERT_TRUE(v.is_ok()) << v.status().to_string();
  EXPECT_TRUE(v->entries.empty());
  PeerCopyOfOurLog extra = r.copy(2);  // one entry more than needed
  v = verify_peer_copy(extra, r.log(), r.parties());
  ASSERT_FALSE(v.is_ok());
  EXPECT_EQ(v.status().code(), StatusCode::kInvalidArgument);
}

// A log with its owner's key rotation (docs/protocol.md "Key rotation"), checked generically
// (our log or, roles swapped, the peer's): ru's log of entry 0 (its pinned key), its rotation
// at entry 1, entries 2 and 3 (the new key), held up to entry 0; the head of 4 entries signed
// by the new key, and us's receipt over it.
struct RotatedLog {
  Harness h;
  RuLog log{h};
  crypto::Keys old_key = h.keys(kRu).keys;
  crypto::Keys next;
  OwnLog held;
  std::vector<ledger::Hash> leaves;

  RotatedLog() {
    SeededRng rng(7);
    next = crypto::generate_keys(rng);
    log.envelope(old_key, 1);
    log.rotation(old_key, next, 1);
    log.envelope(next, 2);
    log.envelope(next, 3);
    for (std::size_t i = 0; i < 4; ++i) leaves.push_back(ledger::leaf_hash(as_bytes(log.text(i))));
    held.append(leaves[0]);
  }
  // The owner's chain as we hold it (its pinned key), and us's.
  RecoveryParties parties() const {
    return {ledger::KeyChain("ru-genstaff", old_key.verify),
            ledger::KeyChain("us-eucom", h.keys(kUs).keys.verify)};
  }
  PeerCopyOfOurLog copy(const crypto::Keys& head_key) {
    PeerCopyOfOurLog c;
    const ledger::SignedTreeHead sth = ledger::sign_sth(
        {"ru-genstaff", "us-eucom", 4, ledger::root_of(leaves), h.now}, head_key.signing);
    c.sth = ledger::encode_sth(sth);
    ledger::ReceiptV2Body body;
    body.tx = uuid_v7(h.now, h.rng());
    body.from = "us-eucom";
    body.to = "ru-genstaff";
    body.sth = sth.payload_bytes;
    body.sth_sig = sth.sig;
    body.received = h.now;
    c.receipt = ledger::encode_receipt_v2(ledger::sign_receipt_v2(body, h.keys(kUs).keys.signing));
    for (std::uint64_t i = 1; i < 4; ++i) c.entries.push_back({i, log.text(i), i == 1});
    return c;
  }
};

TEST(LogRecoveryTest, ARotationInTheCopyPutsItsKeyInForceForTheEntriesAndHeadAfterIt) {
  RotatedLog r;
  const Result<VerifiedPeerCopy> v = verify_peer_copy(r.copy(r.next), r.held, r.parties());
  ASSERT_TRUE(v.is_ok()) << v.status().to_string();
  ASSERT_EQ(v->entries.size(), 3u);
  ASSERT_TRUE(v->entries[0].rotation.has_value());
  EXPECT_EQ(v->entries[0].rotation->new_sign_key, r.next.verify);
  EXPECT_EQ(v->entries[0].envelope_json, r.log.text(1));
  EXPECT_FALSE(v->entries[1].rotation.has_value());
  EXPECT_EQ(v->entries[2].envelope.payload.seq, 3u);
  ASSERT_TRUE(v->chain.has_value());
  ASSERT_EQ(v->chain->links().size(), 2u);
  EXPECT_EQ(v->chain->newest().key, r.next.verify);
  EXPECT_EQ(v->chain->newest().from_index, 2u);
}

TEST(LogRecoveryTest, ACopyThatDoesNotFollowTheChainIsRefused) {
  RotatedLog r;
  // The head after the rotation signed with the key it replaced.
  Result<VerifiedPeerCopy> v = verify_peer_copy(r.copy(r.old_key), r.held, r.parties());
  ASSERT_FALSE(v.is_ok());
  EXPECT_EQ(v.status().code(), StatusCode::kUnauthenticated) << v.status().to_string();

  // The statement passed off as an envelope: the chain does not move, the head does not verify.
  PeerCopyOfOurLog c = r.copy(r.next);
  c.entries[0].rotation = false;
  v = verify_peer_copy(c, r.held, r.parties());
  ASSERT_FALSE(v.is_ok());
  EXPECT_EQ(v.status().code(), StatusCode::kUnauthenticated) << v.status().to_string();

  // An envelope passed off as a statement.
  c = r.copy(r.next);
  c.entries[1].rotation = true;
  v = verify_peer_copy(c, r.held, r.parties());
  ASSERT_FALSE(v.is_ok());
  EXPECT_NE(v.status().message().find("entry 2 is not a key rotation of 'ru-genstaff'"),
            std::string::npos)
      << v.status().to_string();

  // A rotation numbered 2 where the chain's next is 1 (signed by the key in force, though).
  RuLog other(r.h);
  other.envelope(r.old_key, 1);
  other.rotation(r.old_key, r.next, 2);
  c = r.copy(r.next);
  c.entries[0].envelope = other.text(1);
  v = verify_peer_copy(c, r.held, r.parties());
  ASSERT_FALSE(v.is_ok());
  EXPECT_EQ(v.status().code(), StatusCode::kInvalidArgument) << v.status().to_string();
  EXPECT_NE(v.status().message().find("field 'n'"), std::string::npos) << v.status().to_string();

  // The receipt signed by a key that is not in the countersigner's chain.
  c = r.copy(r.next);
  Result<ledger::ReceiptV2> receipt = ledger::parse_receipt_v2(c.receipt);
  ASSERT_TRUE(receipt.is_ok());
  c.receipt = ledger::encode_receipt_v2(ledger::sign_receipt_v2(receipt->body, r.next.signing));
  v = verify_peer_copy(c, r.held, r.parties());
  ASSERT_FALSE(v.is_ok());
  EXPECT_NE(v.status().message().find("is not its own"), std::string::npos)
      << v.status().to_string();
}

TEST(LogRecoveryTest, ALogAnswerCarriesRotationEntriesAsTheirOwnKind) {
  RotatedLog r;
  LogAnswer answer;
  answer.from = "ru-genstaff";
  answer.to = "us-eucom";
  answer.mine = r.copy(r.next);
  const std::string text = encode_log_answer(answer);
  EXPECT_NE(text.find("{\"index\":1,\"rotation\":" + r.log.text(1) + "}"), std::string::npos)
      << text;
  EXPECT_NE(text.find("{\"index\":2,\"envelope\":" + r.log.text(2) + "}"), std::string::npos);
  Result<LogAnswer> back = parse_log_answer(text, "ru-genstaff", "us-eucom");
  ASSERT_TRUE(back.is_ok()) << back.status().to_string();
  EXPECT_EQ(back->mine.entries, answer.mine.entries);  // kinds and bytes
  // An entry is one of the two kinds: both, or neither, is refused, with the reason.
  const std::string entry = "{\"index\":1,\"rotation\":" + r.log.text(1) + "}";
  std::string bad = text;
  bad.replace(
      bad.find(entry), entry.size(),
      "{\"index\":1,\"rotation\":" + r.log.text(1) + ",\"envelope\":" + r.log.text(1) + "}");
  Result<LogAnswer> refused = parse_log_answer(bad, "ru-genstaff", "us-eucom");
  EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(refused.status().message().find("needs one of 'envelope' and 'rotation'"),
            std::string::npos)
      << refused.status().to_string();
  bad = text;
  bad.replace(bad.find(entry), entry.size(), "{\"index\":1}");
  refused = parse_log_answer(bad, "ru-genstaff", "us-eucom");
  EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(refused.status().message().find("needs one of 'envelope' and 'rotation'"),
            std::string::npos)
      << refused.status().to_string();
}

}  // namespace
}  // namespace parley::core
