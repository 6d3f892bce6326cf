#include "parley/gateway/requests.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace parley::gateway {
namespace {

using ::testing::HasSubstr;

TEST(RequestsTest, MessageRequestReadsEveryField) {
  const Result<MessageRequest> m = parse_message_request(
      R"({"line":"saceur-cgs","precedence":"FLASH","type":"notify.exercise","body":{"b":1,"a":2},)"
      R"("text":"hi","reply_to":"r","expires":"2026-11-25T21:00:00.250Z"})");
  ASSERT_TRUE(m.is_ok()) << m.status().to_string();
  EXPECT_EQ(m->line, "saceur-cgs");
  EXPECT_EQ(m->precedence, wire::Precedence::kFlash);
  EXPECT_EQ(m->type, "notify.exercise");
  EXPECT_EQ(m->content.body_json, R"({"a":2,"b":1})");
  EXPECT_EQ(m->content.text, "hi");
  EXPECT_EQ(m->reply_to, "r");
  EXPECT_EQ(m->expires, *parse_time("2026-11-25T21:00:00.250Z"));
}

TEST(RequestsTest, MessageRequestDefaultsAndRoundTrips) {
  const Result<MessageRequest> m = parse_message_request(R"({"line":"l","body":null})");
  ASSERT_TRUE(m.is_ok()) << m.status().to_string();
  EXPECT_EQ(m->precedence, wire::Precedence::kRoutine);
  EXPECT_EQ(m->type, "text");
  EXPECT_EQ(m->content.body_json, "{}");
  EXPECT_FALSE(m->expires.has_value());
  const Result<MessageRequest> again = parse_message_request(encode_message_request(*m));
  ASSERT_TRUE(again.is_ok()) << again.status().to_string();
  EXPECT_EQ(again->line, "l");
  EXPECT_EQ(again->content.body_json, "{}");
}

TEST(RequestsTest, BadMessageRequestsAreRefusedByField) {
  const auto refused = [](std::string_view body) {
    const Result<MessageRequest> m = parse_message_request(body);
    EXPECT_EQ(m.status().code(), StatusCode::kInvalidArgument) << body;
    return std::string(m.status().message());
  };
  EXPECT_THAT(refused(R"({"precedence":"FLASH"})"), HasSubstr("line"));
  EXPECT_THAT(refused(R"({"line":"l","lnie":1})"), HasSubstr("lnie"));
  EXPECT_THAT(refused(R"({"line":"l","precedence":"flash"})"), HasSubstr("flash"));
  EXPECT_THAT(refused(R"({"line":"l","body":[]})"), HasSubstr("body"));
  EXPECT_THAT(refused(R"({"line":"l","expires":"tomorrow"})"), HasSubstr("tomorrow"));
  EXPECT_FALSE(parse_message_request("[1,2").is_ok());
}

TEST(RequestsTest, TargetSplitsIntoPathAndQuery) {
  const Target t = split_target("/api/v1/messages?box=outbox&limit=5&flag&=x&&limit=7");
  EXPECT_EQ(t.path, "/api/v1/messages");
  EXPECT_EQ(t.query.at("box"), "outbox");
  EXPECT_EQ(t.query.at("limit"), "7");  // the last one wins
  EXPECT_EQ(t.query.at("flag"), "");
  EXPECT_EQ(t.query.at(""), "x");
  EXPECT_TRUE(split_target("/healthz").query.empty());
}

TEST(RequestsTest, MessageListAcceptsOnlyKnownBoxesAndLimitsInRange) {
  const Result<MessageListRequest> inbox = parse_message_list({});
  ASSERT_TRUE(inbox.is_ok());
  EXPECT_FALSE(inbox->outbox);
  EXPECT_FALSE(inbox->limit.has_value());
  const Result<MessageListRequest> outbox =
      parse_message_list({{"box", "outbox"}, {"limit", "10000"}});
  ASSERT_TRUE(outbox.is_ok());
  EXPECT_TRUE(outbox->outbox);
  EXPECT_EQ(outbox->limit, 10000u);
  for (const char* bad : {"0", "10001", "-1", "5x", "", "18446744073709551616"}) {
    EXPECT_FALSE(parse_message_list({{"limit", bad}}).is_ok()) << bad;
  }
  EXPECT_THAT(parse_message_list({{"box", "trash"}}).status().message(), HasSubstr("trash"));
}

TEST(RequestsTest, AckIdIsThePathBeforeSlashAck) {
  EXPECT_EQ(ack_message_id("abc/ack"), "abc");
  EXPECT_FALSE(ack_message_id("/ack").has_value());
  EXPECT_FALSE(ack_message_id("abc").has_value());
  EXPECT_FALSE(ack_message_id("abc/ack/").has_value());
}

}  // namespace
}  // namespace parley::gateway
