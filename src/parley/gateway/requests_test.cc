#include "parley/gateway/requests.h"

#include <algorithm>
#include <map>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "parley/base/bytes.h"

namespace parley::gateway {
namespace {

using ::testing::HasSubstr;

// The value, or the error as text: what EXPECT_EQ can compare and print.
std::string got(const Result<std::string>& r) {
  return r.is_ok() ? *r : "error: " + r.status().to_string();
}

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
  const Result<MessageRequest> m = parse_message_request(R"({"line":"l","body":null,"text":"x"})");
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

// Issue 16: a message with nothing in it is refused, not sent.
TEST(RequestsTest, AnEmptyMessageIsRefused) {
  for (const std::string_view body :
       {R"({"line":"l"})", R"({"line":"l","text":""})", R"({"line":"l","text":" \n\t"})",
        R"({"line":"l","body":{}})", R"({"line":"l","body":null,"text":"  "})"}) {
    const Result<MessageRequest> m = parse_message_request(body);
    EXPECT_EQ(m.status().code(), StatusCode::kInvalidArgument) << body;
    EXPECT_THAT(m.status().message(), HasSubstr("an empty message")) << body;
  }
  EXPECT_TRUE(parse_message_request(R"({"line":"l","text":"."})").is_ok());
  EXPECT_TRUE(parse_message_request(R"({"line":"l","body":{"a":1}})").is_ok());
}

// Issue 14: a broadcast names 2 to kBroadcastLinesMax distinct lines, and the fields of a
// message but its line and reply_to.
TEST(RequestsTest, BroadcastRequestReadsItsLinesAndTheMessage) {
  const Result<BroadcastRequest> b = parse_broadcast_request(
      R"({"lines":["a","b","c"],"precedence":"FLASH","type":"notify.exercise",)"
      R"("body":{"x":1},"text":"t","expires":"2026-11-24T21:00:00Z"})");
  ASSERT_TRUE(b.is_ok()) << b.status().to_string();
  EXPECT_EQ(b->lines, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(b->message.line, "");
  EXPECT_EQ(b->message.precedence, wire::Precedence::kFlash);
  EXPECT_EQ(b->message.type, "notify.exercise");
  EXPECT_EQ(b->message.content.body_json, R"({"x":1})");
  EXPECT_EQ(b->message.content.text, "t");
  EXPECT_TRUE(b->message.expires.has_value());
  EXPECT_EQ(broadcast_path_id("/api/v1/broadcasts/abc"), std::optional<std::string>("abc"));
  EXPECT_EQ(broadcast_path_id("/api/v1/broadcasts/"), std::nullopt);
  EXPECT_EQ(broadcast_path_id("/api/v1/broadcasts/a/b"), std::nullopt);
  EXPECT_EQ(broadcast_path_id("/api/v1/messages/a"), std::nullopt);
}

TEST(RequestsTest, BadBroadcastRequestsAreRefusedByField) {
  const auto refused = [](std::string_view body) {
    const Result<BroadcastRequest> b = parse_broadcast_request(body);
    EXPECT_EQ(b.status().code(), StatusCode::kInvalidArgument) << body;
    return std::string(b.status().message());
  };
  EXPECT_THAT(refused(R"({"text":"t"})"), HasSubstr("lines"));
  EXPECT_THAT(refused(R"({"lines":"a","text":"t"})"), HasSubstr("lines"));
  EXPECT_THAT(refused(R"({"lines":["a"],"text":"t"})"), HasSubstr("2 to 256 lines"));
  EXPECT_THAT(refused(R"({"lines":["a","a"],"text":"t"})"), HasSubstr("'a' is named twice"));
  EXPECT_THAT(refused(R"({"lines":["a",""],"text":"t"})"), HasSubstr("non-empty"));
  EXPECT_THAT(refused(R"({"lines":["a",7],"text":"t"})"), HasSubstr("non-empty"));
  EXPECT_THAT(refused(R"({"lines":["a","b"],"line":"a","text":"t"})"), HasSubstr("line"));
  EXPECT_THAT(refused(R"({"lines":["a","b"],"reply_to":"x","text":"t"})"), HasSubstr("reply_to"));
  EXPECT_THAT(refused(R"({"lines":["a","b"]})"), HasSubstr("an empty message"));
  EXPECT_THAT(refused(R"({"lines":["a","b"],"type":"meeting.propose","body":{"a":1}})"),
              HasSubstr("meeting step"));
  std::string many = R"({"text":"t","lines":[)";
  for (std::size_t i = 0; i <= kBroadcastLinesMax; ++i) {
    many += (i == 0 ? "\"l" : ",\"l") + std::to_string(i) + "\"";
  }
  EXPECT_THAT(refused(many + "]}"), HasSubstr("2 to 256 lines"));
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

TEST(RequestsTest, TargetPercentDecodesNamesAndValues) {
  const Target t =
      split_target("/m?search=Northern+Shield%21&since=2026-11-24T21%3A00%3A00Z&bad=%zz%4");
  EXPECT_EQ(t.query.at("search"), "Northern Shield!");
  EXPECT_EQ(t.query.at("since"), "2026-11-24T21:00:00Z");
  EXPECT_EQ(t.query.at("bad"), "%zz%4");  // malformed escapes stay as they are
}

TEST(RequestsTest, JoinedTargetSplitsBackToTheSameQuery) {
  const std::map<std::string, std::string> query = {{"search", "a&b=c d+e %41"},
                                                    {"from", "ru-genstaff/cgs"},
                                                    {"q?#", "\xd0\x9a\xd0\xbe\xd0\xbb\xd0\xb0"}};
  const std::string target = join_target("/api/v1/messages", query);
  // A space or '+' left raw would come back as a space; '&' and '=' would split the values.
  EXPECT_EQ(target.find_first_of(" +"), std::string::npos) << target;
  EXPECT_EQ(std::count(target.begin(), target.end(), '&'), 2) << target;
  const Target back = split_target(target);
  EXPECT_EQ(back.path, "/api/v1/messages");
  EXPECT_EQ(back.query, query);
  EXPECT_EQ(join_target("/x", {}), "/x");
}

TEST(RequestsTest, MessageListReadsEveryFilter) {
  const Result<MessageListRequest> r = parse_message_list({{"box", "outbox"},
                                                           {"line", "saceur-cgs"},
                                                           {"precedence", "FLASH"},
                                                           {"type", "notify.exercise"},
                                                           {"state", "overdue"},
                                                           {"from", "ru-genstaff/cgs"},
                                                           {"since", "2026-11-24T21:00:00Z"},
                                                           {"until", "2026-11-25T21:00:00Z"},
                                                           {"search", "Northern, SHIELD"}});
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(r->line, "saceur-cgs");
  EXPECT_EQ(r->precedence, wire::Precedence::kFlash);
  EXPECT_EQ(r->type, "notify.exercise");
  EXPECT_EQ(r->state, core::MessageState::kOverdue);
  ASSERT_TRUE(r->from.has_value());
  EXPECT_EQ(r->from->to_string(), "ru-genstaff/cgs");
  EXPECT_EQ(r->words, (std::vector<std::string>{"northern", "shield"}));
  const store::MessageQuery q = message_query(*r, {"saceur-cgs", "other"});
  EXPECT_EQ(q.order, store::MessageOrder::kPrecedence);
  EXPECT_EQ(q.lines, (std::vector<std::string>{"saceur-cgs"}));
  EXPECT_EQ(q.direction, core::Direction::kOutbound);
  EXPECT_EQ(q.since, r->since);
  EXPECT_EQ(q.until, r->until);
  // A line not the caller's selects nothing rather than every line.
  MessageListRequest foreign;
  foreign.line = "not-mine";
  EXPECT_EQ(message_query(foreign, {"saceur-cgs"}).lines, (std::vector<std::string>{""}));
  EXPECT_EQ(parse_message_list({{"from", "ru-genstaff"}})->from->principal, "");
}

TEST(RequestsTest, MessageListRefusesEveryBadValueNamingIt) {
  const std::map<std::string, std::string> bad[] = {
      {{"precedence", "URGENT"}},
      {{"state", "lost"}},
      {{"since", "yesterday"}},
      {{"until", "2026-11-24"}},
      {{"search", " ,;- "}},
      {{"cursor", "zz"}},
      {{"from", "/cgs"}},
      {{"from", "a/b/c"}},
      {{"line", ""}},
      {{"colour", "red"}},
      {{"since", "2026-11-25T00:00:00Z"}, {"until", "2026-11-24T00:00:00Z"}},
  };
  for (const auto& query : bad) {
    const Result<MessageListRequest> r = parse_message_list(query);
    ASSERT_FALSE(r.is_ok()) << query.begin()->first;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(r.status().message(), HasSubstr(query.begin()->first));
  }
}

TEST(RequestsTest, CursorRoundTripsAndRefusesWhatItDidNotGive) {
  const store::MessageKey key{wire::Precedence::kImmediate, time_from_unix_ms(1'700'000'000'123),
                              42, "0190a0b0-0000-7000-8000-000000000001"};
  const std::string cursor = encode_cursor(key);
  EXPECT_EQ(cursor.find_first_not_of("0123456789abcdef"), std::string::npos);  // URL-safe
  const Result<store::MessageKey> back = parse_cursor(cursor);
  ASSERT_TRUE(back.is_ok()) << back.status().to_string();
  EXPECT_EQ(*back, key);
  for (const std::string& bad :
       {std::string(""), std::string("abc"), hex_encode(as_bytes("v2 1 2 3 x")),
        hex_encode(as_bytes("v1 7 2 3 x")), hex_encode(as_bytes("v1 1 2 3"))}) {
    EXPECT_FALSE(parse_cursor(bad).is_ok()) << bad;
  }
}

TEST(RequestsTest, IdOrPrefixNeedsEightHexDigits) {
  EXPECT_EQ(got(parse_id_or_prefix("0190A0B0")), "0190a0b0");
  EXPECT_EQ(got(parse_id_or_prefix("0190a0b0-0000-7")), "0190a0b0-0000-7");
  for (const char* bad : {"0190a0b", "", "0190a0bz", "ghijklmn", "0190a0b0/ack"}) {
    EXPECT_FALSE(parse_id_or_prefix(bad).is_ok()) << bad;
  }
}

TEST(RequestsTest, AckIdIsThePathBeforeSlashAck) {
  EXPECT_EQ(ack_message_id("abc/ack"), "abc");
  EXPECT_FALSE(ack_message_id("/ack").has_value());
  EXPECT_FALSE(ack_message_id("abc").has_value());
  EXPECT_FALSE(ack_message_id("abc/ack/").has_value());
}

TEST(RequestsTest, EvidenceIdIsThePathBeforeSlashEvidence) {
  EXPECT_EQ(evidence_message_id("abc/evidence"), "abc");
  EXPECT_FALSE(evidence_message_id("/evidence").has_value());
  EXPECT_FALSE(evidence_message_id("abc").has_value());
  EXPECT_FALSE(evidence_message_id("abc/evidence/").has_value());
  EXPECT_FALSE(evidence_message_id("a/b/evidence").has_value());
}

}  // namespace
}  // namespace parley::gateway
