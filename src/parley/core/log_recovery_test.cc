// verify_peer_copy: what the peer holds of our log, checked against our key, the peer's
// countersignature and our log's frontier as a restored backup holds it.
#include "parley/core/log_recovery.h"

#include <gtest/gtest.h>

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
    return {"us-eucom", h.keys(kUs).keys.verify, "ru-genstaff", h.keys(kRu).keys.verify};
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
        c.entries.emplace_back(index, h.store(kRu).find(entry.message_id)->envelope);
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
  std::string& json = bad.entries[1].second;
  const std::size_t sig = json.find("\"sig\":\"") + 7;
  json[sig] = json[sig] == 'A' ? 'B' : 'A';
  Result<VerifiedPeerCopy> v = verify_peer_copy(bad, log, r.parties());
  ASSERT_FALSE(v.is_ok());
  EXPECT_EQ(v.status().code(), StatusCode::kUnauthenticated) << v.status().to_string();

  // Two genuine entries of ours swapped: every signature holds, the root does not.
  bad = r.copy(2);
  std::swap(bad.entries[0].second, bad.entries[1].second);
  v = verify_peer_copy(bad, log, r.parties());
  ASSERT_FALSE(v.is_ok());
  EXPECT_EQ(v.status().code(), StatusCode::kDataLoss) << v.status().to_string();
  EXPECT_NE(v.status().message().find("do not give the root"), std::string::npos);

  // An entry of ours that is not in that log at all (one us sent before) in place of one.
  bad = r.copy(2);
  bad.entries[2].second = r.copy(0).entries[0].second;
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

}  // namespace
}  // namespace parley::core
