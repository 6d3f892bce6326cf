#include <gtest/gtest.h>

#include "parley/base/bytes.h"
#include "parley/base/json.h"
#include "parley/base/rng.h"
#include "parley/base/status.h"
#include "parley/base/time.h"

namespace parley {
namespace {

// What a gateway answered, read without throwing: a null, a number, a missing key or a
// non-object give the fallback (json's value() throws on the null).
TEST(JsonTest, StringOrGivesTheStringOrTheFallbackAndNeverThrows) {
  const json::Json answer = {{"hash", nullptr}, {"final", false}, {"id", "m-1"}, {"seq", 3}};
  EXPECT_EQ(json::string_or(answer, "id"), "m-1");
  EXPECT_EQ(json::string_or(answer, "hash"), "");
  EXPECT_EQ(json::string_or(answer, "hash", "none"), "none");
  EXPECT_EQ(json::string_or(answer, "seq"), "");
  EXPECT_EQ(json::string_or(answer, "missing", "?"), "?");
  EXPECT_EQ(json::string_or(json::Json(), "id"), "");
  EXPECT_EQ(json::string_or(json::Json::array({"id"}), "id"), "");
  EXPECT_THROW((void)answer.value("hash", ""), json::Json::type_error) << "why string_or exists";
}

TEST(Base64Test, MatchesRfc4648Vectors) {
  // RFC 4648 §10.
  const std::pair<const char*, const char*> vectors[] = {{"", ""},
                                                         {"f", "Zg=="},
                                                         {"fo", "Zm8="},
                                                         {"foo", "Zm9v"},
                                                         {"foob", "Zm9vYg=="},
                                                         {"fooba", "Zm9vYmE="},
                                                         {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, encoded] : vectors) {
    EXPECT_EQ(base64_encode(as_bytes(plain)), encoded);
    const Result<Bytes> back = base64_decode(encoded);
    ASSERT_TRUE(back.is_ok()) << encoded;
    EXPECT_EQ(to_string(*back), plain);
  }
}

TEST(Base64Test, RefusesMalformedText) {
  for (const char* bad : {"Zg=", "Z===", "Zm9v!A==", "Zh==", "Zm9=v", "Zg==Zg==", " Zg="}) {
    EXPECT_FALSE(base64_decode(bad).is_ok()) << bad;
  }
}

TEST(Base64Test, RoundTripsEveryLengthAndByte) {
  for (std::size_t n = 0; n <= 300; ++n) {
    Bytes data(n);
    for (std::size_t i = 0; i < n; ++i) data[i] = static_cast<std::uint8_t>(i * 7 + n);
    const Result<Bytes> back = base64_decode(base64_encode(data));
    ASSERT_TRUE(back.is_ok()) << n;
    EXPECT_EQ(*back, data) << n;
  }
}

TEST(Base64Test, NamesWhyTextIsRefusedInAnyGroup) {
  const std::pair<const char*, const char*> cases[] = {
      {"Zm9v!A==", "invalid base64 character"},
      {"Zg==Zg==", "invalid base64 character"},
      {"Zm=vZm9v", "invalid base64 character"},
      {"Zm9vZ=9v", "invalid base64 character"},
      {"Zm9vZm9v Zm9", "invalid base64 character"},
      {"Zm9vZm=v", "base64 padding in the middle"},
      {"Zm9vZh==", "non-canonical base64"},
      {"Zm9vZm9=", "non-canonical base64"},
      {"Zm9vZm9vZ", "base64 length is not a multiple of 4"},
  };
  for (const auto& [text, reason] : cases) {
    const Result<Bytes> decoded = base64_decode(text);
    ASSERT_FALSE(decoded.is_ok()) << text;
    EXPECT_EQ(decoded.status().message(), reason) << text;
  }
}

TEST(HexTest, RoundTripsAndRefusesBadDigits) {
  const Bytes b = {0x00, 0xab, 0xff};
  EXPECT_EQ(hex_encode(b), "00abff");
  EXPECT_EQ(*hex_decode("00ABff"), b);
  EXPECT_FALSE(hex_decode("0").is_ok());
  EXPECT_FALSE(hex_decode("zz").is_ok());
}

TEST(TimeTest, FormatsAndParsesRfc3339) {
  const Result<Time> t = parse_time("2026-11-24T21:00:00.123Z");
  ASSERT_TRUE(t.is_ok());
  EXPECT_EQ(format_time(*t), "2026-11-24T21:00:00.123Z");
  EXPECT_EQ(format_time(time_from_unix_ms(0)), "1970-01-01T00:00:00.000Z");
  EXPECT_TRUE(parse_time("2026-11-24T21:00:00Z").is_ok());
  for (const char* bad :
       {"2026-02-30T00:00:00Z", "2026-11-24 21:00:00Z", "", "2026-11-24T25:00:00Z"}) {
    EXPECT_FALSE(parse_time(bad).is_ok()) << bad;
  }
}

TEST(TimeTest, ParsesDurations) {
  EXPECT_EQ(*parse_duration("30s"), std::chrono::seconds(30));
  EXPECT_EQ(*parse_duration("5m"), std::chrono::minutes(5));
  EXPECT_EQ(*parse_duration("250ms"), Duration(250));
  EXPECT_EQ(format_duration(std::chrono::minutes(5)), "5m");
  for (const char* bad : {"", "5", "m", "-1s", "0s", "5 m", "5x"}) {
    EXPECT_FALSE(parse_duration(bad).is_ok()) << bad;
  }
}

TEST(RngTest, SeededRngReproducesAndUuidV7IsWellFormed) {
  SeededRng a(42), b(42);
  EXPECT_EQ(a.next_u64(), b.next_u64());
  const std::string id = uuid_v7(time_from_unix_ms(1'700'000'000'000), a);
  EXPECT_TRUE(is_uuid(id)) << id;
  EXPECT_EQ(id[14], '7');
  EXPECT_EQ(id.substr(0, 8), "018bcfe5");
  EXPECT_FALSE(is_uuid("not-a-uuid"));
}

TEST(StatusTest, ResultCarriesValueOrError) {
  Result<int> ok = 5;
  EXPECT_TRUE(ok.is_ok());
  EXPECT_EQ(*ok, 5);
  Result<int> err = Status::not_found("no such message");
  EXPECT_FALSE(err.is_ok());
  EXPECT_EQ(err.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(http_status(err.status().code()), 404);
  EXPECT_EQ(err.status().with_context("ack").message(), "ack: no such message");
}

}  // namespace
}  // namespace parley
