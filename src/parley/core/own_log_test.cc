#include "parley/core/own_log.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace parley::core {
namespace {

ledger::Hash leaf(int i) {
  return ledger::leaf_hash(as_bytes(std::string("envelope ") + std::to_string(i)));
}

std::vector<ledger::Hash> leaves(int n) {
  std::vector<ledger::Hash> out;
  for (int i = 0; i < n; ++i) out.push_back(leaf(i));
  return out;
}

OwnLog log_of(int n) {
  OwnLog log;
  for (int i = 0; i < n; ++i) EXPECT_EQ(log.append(leaf(i)), static_cast<std::uint64_t>(i));
  return log;
}

TEST(OwnLogTest, EveryEntryIsProvenInTheHeadOverTheLog) {
  const OwnLog log = log_of(5);
  const ledger::Hash root = ledger::root_of(leaves(5));
  ASSERT_TRUE(log.root(5).is_ok());
  EXPECT_EQ(*log.root(5), root);
  for (std::uint64_t i = 0; i < 5; ++i) {
    Result<std::vector<ledger::Hash>> proof = log.inclusion_proof(i, 5);
    ASSERT_TRUE(proof.is_ok());
    EXPECT_TRUE(ledger::verify_inclusion(i, 5, leaf(static_cast<int>(i)), *proof, root).is_ok());
  }
  EXPECT_FALSE(log.root(6).is_ok());  // beyond the log: our bug, reported, not a crash
}

TEST(OwnLogTest, ConsistencyFromTheCountersignedHeadAndEachOneSentSince) {
  OwnLog log = log_of(3);
  const ledger::Hash root3 = *log.root(3);
  log.sent_head(3, root3);
  for (int i = 3; i < 5; ++i) log.append(leaf(i));
  const ledger::Hash root5 = *log.root(5);
  Result<std::vector<wire::ConsistencyItem>> items = log.consistency_items(5, 8);
  ASSERT_TRUE(items.is_ok());
  ASSERT_EQ(items->size(), 2u);  // from C = 0 (empty), and from the unanswered head of 3
  EXPECT_EQ((*items)[0].from_size, 0u);
  EXPECT_EQ((*items)[1].from_size, 3u);
  EXPECT_TRUE(ledger::verify_consistency(3, 5, root3, root5, (*items)[1].proof).is_ok());

  log.countersigned(3, root3, /*lowest_unreceipted=*/3);
  items = log.consistency_items(5, 8);
  ASSERT_TRUE(items.is_ok());
  ASSERT_EQ(items->size(), 1u);
  EXPECT_EQ((*items)[0].from_size, 3u);
  EXPECT_EQ(log.countersigned_size(), 3u);
  EXPECT_EQ(log.base_size(), 3u);  // the frontier forgets what is countersigned
  EXPECT_EQ(*log.root(5), root5);
}

TEST(OwnLogTest, TheFrontierKeepsAnEntryStillWaitingForItsReceipt) {
  OwnLog log = log_of(5);
  log.countersigned(5, *log.root(5), /*lowest_unreceipted=*/2);  // FLASH overtook entry 2
  EXPECT_EQ(log.base_size(), 2u);
  EXPECT_TRUE(log.inclusion_proof(2, 5).is_ok());
}

TEST(OwnLogTest, OnlyTheLastEntryIsTakenBack) {
  OwnLog log = log_of(3);
  EXPECT_FALSE(log.take_back(1));
  EXPECT_TRUE(log.take_back(2));
  EXPECT_EQ(log.assigned(), 2u);
  EXPECT_EQ(*log.root(2), ledger::root_of(leaves(2)));
}

TEST(OwnLogTest, RecoveryFromTheStoredFrontier) {
  OwnLog log = log_of(4);
  const ledger::Hash root2 = *log.root(2);
  RecoveredLedger stored;
  stored.log_size = 4;
  stored.base_size = 2;
  stored.base_nodes = log.range_at(2)->nodes();
  stored.tail = {leaf(2), leaf(3)};
  stored.countersigned = RecoveredHead{2, root2, "", std::string("{}")};
  OwnLog recovered;
  ASSERT_TRUE(recovered.recover(stored).is_ok());
  EXPECT_EQ(recovered.assigned(), 4u);
  EXPECT_EQ(recovered.durable(), 4u);
  EXPECT_EQ(*recovered.root(4), *log.root(4));

  stored.tail.pop_back();  // the frontier does not hold together: no root, so no head
  OwnLog broken;
  EXPECT_FALSE(broken.recover(stored).is_ok());
  EXPECT_FALSE(broken.root(4).is_ok());
}

}  // namespace
}  // namespace parley::core
