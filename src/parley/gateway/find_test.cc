#include "parley/gateway/find.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "parley/store/memory/memory_store.h"
#include "parley/store/store_test_util.h"

namespace parley::gateway {
namespace {

using core::Direction;
using core::MessageState;
using ::testing::AllOf;
using ::testing::HasSubstr;

// The value, or the error as text: what EXPECT_EQ can compare and print.
std::string got(const Result<std::string>& r) {
  return r.is_ok() ? *r : "error: " + r.status().to_string();
}

class FindTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<std::unique_ptr<store::Store>> opened =
        store::open_memory_store(store::MemoryStore::new_disk());
    ASSERT_TRUE(opened.is_ok());
    store_ = std::move(opened).value();
    ASSERT_TRUE(store_
                    ->apply({put("0190a0b0-1111-7000-8000-000000000001", "a", 1),
                             put("0190a0b0-2222-7000-8000-000000000002", "a", 2),
                             put("0190a0b0-2223-7000-8000-000000000003", "b", 3),
                             put("77770000-0000-7000-8000-000000000004", "b", 4)})
                    .is_ok());
  }
  static core::Record put(std::string id, std::string line, std::uint64_t seq) {
    return core::PutMessage{store::test::message(std::move(id), std::move(line), seq,
                                                 Direction::kInbound, store::test::at(100))};
  }
  std::unique_ptr<store::Store> store_;
};

TEST_F(FindTest, AnAmbiguousPrefixIsRefusedWithTheCandidates) {
  const Result<std::string> id = resolve_message_id(*store_, {"a", "b"}, "0190A0B0");
  ASSERT_FALSE(id.is_ok());
  EXPECT_EQ(id.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(id.status().message(),
              AllOf(HasSubstr("ambiguous"), HasSubstr("0190a0b0-1111-7000-8000-000000000001"),
                    HasSubstr("0190a0b0-2222-7000-8000-000000000002"),
                    HasSubstr("0190a0b0-2223-7000-8000-000000000003")));
}

TEST_F(FindTest, AUniquePrefixOrAFullIdNamesItsMessage) {
  EXPECT_EQ(got(resolve_message_id(*store_, {"a", "b"}, "0190a0b0-1")),
            std::string("0190a0b0-1111-7000-8000-000000000001"));
  EXPECT_EQ(got(resolve_message_id(*store_, {"b"}, "77770000")),
            std::string("77770000-0000-7000-8000-000000000004"));
  // Only the caller's lines count: on line a alone the prefix is not ambiguous.
  EXPECT_EQ(got(resolve_message_id(*store_, {"a"}, "0190a0b0-2")),
            std::string("0190a0b0-2222-7000-8000-000000000002"));
}

TEST_F(FindTest, APrefixMatchingNothingOnTheCallersLinesIsNotFound) {
  EXPECT_EQ(resolve_message_id(*store_, {"a"}, "77770000").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(resolve_message_id(*store_, {"a", "b"}, "12345678").status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(resolve_message_id(*store_, {}, "0190a0b0").status().code(), StatusCode::kNotFound);
  const Result<std::string> short_prefix = resolve_message_id(*store_, {"a"}, "0190a0b");
  EXPECT_EQ(short_prefix.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(short_prefix.status().message(), HasSubstr("8 hex digits"));
}

TEST(FindTimelineTest, AnOutboundMessageAcknowledgedLateShowsEachStepInOrder) {
  core::MessageRecord m =
      store::test::message("id", "a", 1, Direction::kOutbound, store::test::at(1'000));
  m.ack_deadline = store::test::at(5'000);
  m.tx = "tx-1";
  m.delivered_at = store::test::at(2'000);
  m.acknowledged_at = store::test::at(9'000);
  m.acknowledged_by = "ru-genstaff/cgs";
  m.ack_id = "ack-1";
  m.state = MessageState::kAcknowledged;
  const json::Json timeline = message_timeline(m, store::test::at(10'000));
  std::vector<std::string> events;
  for (const json::Json& step : timeline) events.push_back(step["event"].get<std::string>());
  EXPECT_EQ(events,
            (std::vector<std::string>{"created", "sent", "delivered", "overdue", "acknowledged"}));
  EXPECT_EQ(timeline[3]["at"], format_time(store::test::at(5'000)));
  EXPECT_THAT(timeline[4]["detail"].get<std::string>(),
              AllOf(HasSubstr("ru-genstaff/cgs"), HasSubstr("ack-1")));
  EXPECT_TRUE(time_left_ms(m, store::test::at(10'000)).is_null());
}

TEST(FindTimelineTest, AWaitingMessageHasTimeLeftUntilItsDeadlineThenIsOverdue) {
  core::MessageRecord m =
      store::test::message("id", "a", 1, Direction::kInbound, store::test::at(1'000));
  m.ack_deadline = store::test::at(5'000);
  m.delivered_at = store::test::at(1'500);
  m.state = MessageState::kDelivered;
  EXPECT_EQ(time_left_ms(m, store::test::at(4'000)), 1'000);
  EXPECT_EQ(time_left_ms(m, store::test::at(7'000)), -2'000);
  std::vector<std::string> events;
  for (const json::Json& step : message_timeline(m, store::test::at(4'000))) {
    events.push_back(step["event"].get<std::string>());
  }
  EXPECT_EQ(events, (std::vector<std::string>{"created", "received"}));
  const json::Json later = message_timeline(m, store::test::at(7'000));
  ASSERT_EQ(later.size(), 3U);
  EXPECT_EQ(later.back()["event"], "overdue");
}

}  // namespace
}  // namespace parley::gateway
