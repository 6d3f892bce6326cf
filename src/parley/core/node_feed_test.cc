#include "parley/core/node_feed.h"

#include <vector>

#include <gtest/gtest.h>

namespace parley::core {
namespace {

// What a driver does with a NodeFeed, recording the order events are handled in; handling
// `reentrant_at` pushes `reentrant` from inside (as a synchronous Committed would be).
std::vector<std::size_t> drain(NodeFeed& feed, NodeEvent first, std::size_t reentrant_at,
                               NodeEvent reentrant) {
  std::vector<std::size_t> handled;
  if (!feed.push(std::move(first))) return handled;
  while (std::optional<NodeEvent> next = feed.next()) {
    handled.push_back(next->index());
    if (handled.size() == reentrant_at) {
      // Pushed during a drain: queued, not handed back to be drained again.
      EXPECT_FALSE(feed.push(reentrant));
    }
  }
  return handled;
}

TEST(NodeFeedTest, AnEventCausedWhileFeedingIsFedAfterInOrder) {
  NodeFeed feed;
  const NodeEvent tick = Tick{};
  const NodeEvent due = CommitDue{};
  const std::vector<std::size_t> order = drain(feed, tick, 1, due);
  ASSERT_EQ(order.size(), 2u);
  EXPECT_EQ(order[0], tick.index());
  EXPECT_EQ(order[1], due.index());
  EXPECT_FALSE(feed.draining());  // the drain is over: the next push starts one
  EXPECT_TRUE(feed.push(Tick{}));
}

TEST(NodeFeedTest, ResetForgetsTheQueueAndTheDrain) {
  NodeFeed feed;
  ASSERT_TRUE(feed.push(Tick{}));
  EXPECT_FALSE(feed.push(CommitDue{}));
  feed.reset();
  EXPECT_FALSE(feed.draining());
  EXPECT_TRUE(feed.push(Tick{}));
  ASSERT_TRUE(feed.next().has_value());
  EXPECT_FALSE(feed.next().has_value());
}

}  // namespace
}  // namespace parley::core
