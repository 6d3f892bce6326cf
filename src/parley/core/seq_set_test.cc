#include "parley/core/seq_set.h"

#include <cstdint>
#include <set>
#include <vector>

#include <gtest/gtest.h>

namespace parley::core {
namespace {

TEST(SeqSetTest, ContiguousSeqsAreOnlyAWatermark) {
  SeqSet s;
  for (std::uint64_t seq = 1; seq <= 1000; ++seq) s.insert(seq);
  EXPECT_EQ(s.watermark(), 1000u);
  EXPECT_TRUE(s.above().empty());
  EXPECT_TRUE(s.contains(1));
  EXPECT_TRUE(s.contains(1000));
  EXPECT_FALSE(s.contains(0));
  EXPECT_FALSE(s.contains(1001));
}

TEST(SeqSetTest, MissingSeqsAreThoseBetweenTheWatermarkAndTheHighestMember) {
  SeqSet s(3, {5, 8, 9, 12});
  EXPECT_EQ(s.missing(), 5u);
  EXPECT_EQ(s.missing_seqs(100), (std::vector<std::uint64_t>{4, 6, 7, 10, 11}));
  EXPECT_EQ(s.missing_seqs(2), (std::vector<std::uint64_t>{4, 6}));
  EXPECT_EQ(s.missing_below(1), 0u);
  EXPECT_EQ(s.missing_below(4), 0u);
  EXPECT_EQ(s.missing_below(5), 1u);
  EXPECT_EQ(s.missing_below(8), 3u);
  EXPECT_EQ(s.missing_below(12), 5u);
  s.insert(4);
  s.insert(6);
  s.insert(7);
  EXPECT_EQ(s.watermark(), 9u);
  EXPECT_EQ(s.missing_seqs(100), (std::vector<std::uint64_t>{10, 11}));
  EXPECT_EQ(SeqSet(7, {}).missing(), 0u);
  EXPECT_TRUE(SeqSet(7, {}).missing_seqs(10).empty());
  // Seq 0 (never valid) is kept as a member but is no gap.
  EXPECT_EQ(SeqSet(0, {0}).missing(), 0u);
  EXPECT_EQ(SeqSet(0, {0, 3}).missing_seqs(10), (std::vector<std::uint64_t>{1, 2}));
}

TEST(SeqSetTest, AGapKeepsTheSeqsAboveItUntilItIsFilled) {
  SeqSet s(3, {});
  s.insert(6);
  s.insert(5);
  EXPECT_EQ(s.watermark(), 3u);
  EXPECT_EQ(s.above(), (std::set<std::uint64_t>{5, 6}));
  EXPECT_FALSE(s.contains(4));
  EXPECT_TRUE(s.contains(5));

  s.insert(4);  // fills the gap: everything compacts into the watermark
  EXPECT_EQ(s.watermark(), 6u);
  EXPECT_TRUE(s.above().empty());
  EXPECT_TRUE(s.contains(4));
  EXPECT_FALSE(s.contains(7));
}

TEST(SeqSetTest, ConstructionCompactsAndIgnoresSeqsAtOrBelowTheWatermark) {
  const SeqSet s(2, {9, 2, 4, 3, 1});
  EXPECT_EQ(s.watermark(), 4u);
  EXPECT_EQ(s.above(), (std::set<std::uint64_t>{9}));
}

TEST(SeqSetTest, RepeatedInsertChangesNothing) {
  SeqSet s(5, {7});
  s.insert(3);
  s.insert(7);
  EXPECT_EQ(s.watermark(), 5u);
  EXPECT_EQ(s.above(), (std::set<std::uint64_t>{7}));
}

TEST(SeqSetTest, SeqZeroIsAMemberOnlyOnceInserted) {
  SeqSet s;
  EXPECT_FALSE(s.contains(0));
  s.insert(0);
  EXPECT_TRUE(s.contains(0));
  s.insert(1);
  s.insert(2);
  EXPECT_EQ(s.watermark(), 2u);
  EXPECT_TRUE(s.contains(0));
}

}  // namespace
}  // namespace parley::core
