#include "parley/wire/heartbeat.h"

#include <gtest/gtest.h>

#include "parley/base/rng.h"

namespace parley::wire {
namespace {

Time at(std::string_view text) { return parse_time(text).value(); }

class HeartbeatTest : public ::testing::Test {
 protected:
  HeartbeatTest() : rng_(7), us_(crypto::generate_keys(rng_)), ru_(crypto::generate_keys(rng_)) {}

  Heartbeat beat() const {
    return Heartbeat{"us-eucom", "ru-genstaff", "127.0.0.1:7001", at("2026-12-02T10:00:00Z"),
                     std::string(32, 'a')};
  }
  // ru-genstaff's answer to `request_body` (what the driver does on the federation port).
  std::string answer_to(const std::string& request_body) const {
    const SignedHeartbeat request = parse_signed_heartbeat(request_body).value();
    HeartbeatAnswer a;
    a.from = "ru-genstaff";
    a.to = "us-eucom";
    a.time = at("2026-12-02T10:00:00.250Z");
    a.request = heartbeat_digest(request.payload);
    a.catalog = {{"text", 1}};
    return encode_signed_heartbeat(sign_heartbeat_answer(a, ru_.signing));
  }

  SeededRng rng_;
  crypto::Keys us_;
  crypto::Keys ru_;
};

TEST_F(HeartbeatTest, ASignedHeartbeatAndItsAnswerOpenWithThePinnedKeys) {
  const std::string body = encode_signed_heartbeat(sign_heartbeat(beat(), us_.signing));
  const SignedHeartbeat s = parse_signed_heartbeat(body).value();
  const Result<Heartbeat> opened = open_heartbeat(s, us_.verify, "us-eucom", "ru-genstaff");
  ASSERT_TRUE(opened.is_ok()) << opened.status().to_string();
  EXPECT_EQ(opened->path, "127.0.0.1:7001");
  EXPECT_EQ(opened->time, at("2026-12-02T10:00:00Z"));
  EXPECT_EQ(opened->nonce, std::string(32, 'a'));

  const SignedHeartbeat a = parse_signed_heartbeat(answer_to(body)).value();
  const Result<HeartbeatAnswer> answer =
      open_heartbeat_answer(a, ru_.verify, "ru-genstaff", "us-eucom", s.payload);
  ASSERT_TRUE(answer.is_ok()) << answer.status().to_string();
  EXPECT_EQ(answer->time, at("2026-12-02T10:00:00.250Z"));
  EXPECT_EQ(answer->catalog, json::Json({{"text", 1}}));
}

TEST_F(HeartbeatTest, AnotherKeyOrAnEditedPayloadIsABadSignature) {
  const SignedHeartbeat s =
      parse_signed_heartbeat(encode_signed_heartbeat(sign_heartbeat(beat(), us_.signing))).value();
  EXPECT_EQ(open_heartbeat(s, ru_.verify, "us-eucom", "ru-genstaff").status().code(),
            StatusCode::kUnauthenticated);
  SignedHeartbeat edited = s;
  edited.payload.replace(edited.payload.find("10:00:00"), 8, "11:00:00");
  EXPECT_EQ(open_heartbeat(edited, us_.verify, "us-eucom", "ru-genstaff").status().code(),
            StatusCode::kUnauthenticated);
  // A heartbeat signature is no answer's: the domains differ.
  SignedHeartbeat as_answer = s;
  EXPECT_EQ(open_heartbeat_answer(as_answer, us_.verify, "us-eucom", "ru-genstaff", s.payload)
                .status()
                .code(),
            StatusCode::kUnauthenticated);
}

TEST_F(HeartbeatTest, OtherPartiesOrAnAnswerToAnotherRequestAreRefused) {
  const std::string body = encode_signed_heartbeat(sign_heartbeat(beat(), us_.signing));
  const SignedHeartbeat s = parse_signed_heartbeat(body).value();
  EXPECT_EQ(open_heartbeat(s, us_.verify, "us-eucom", "cn-cmc").status().code(),
            StatusCode::kInvalidArgument);
  const SignedHeartbeat a = parse_signed_heartbeat(answer_to(body)).value();
  // Replayed to a later heartbeat: bound to the first one's payload.
  Heartbeat later = beat();
  later.nonce = std::string(32, 'b');
  const SignedHeartbeat second =
      parse_signed_heartbeat(encode_signed_heartbeat(sign_heartbeat(later, us_.signing))).value();
  const Result<HeartbeatAnswer> replayed =
      open_heartbeat_answer(a, ru_.verify, "ru-genstaff", "us-eucom", second.payload);
  EXPECT_EQ(replayed.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(replayed.status().message().find("another heartbeat"), std::string::npos);
}

TEST_F(HeartbeatTest, EachHeartbeatHasAFreshNonce) {
  const Heartbeat a = make_heartbeat("us-eucom", "ru-genstaff", "h:1", Time{}, rng_);
  const Heartbeat b = make_heartbeat("us-eucom", "ru-genstaff", "h:1", Time{}, rng_);
  EXPECT_EQ(a.nonce.size(), 32U);
  EXPECT_NE(a.nonce, b.nonce);
  const SignedHeartbeat s =
      parse_signed_heartbeat(encode_signed_heartbeat(sign_heartbeat(a, us_.signing))).value();
  EXPECT_TRUE(open_heartbeat(s, us_.verify, "us-eucom", "ru-genstaff").is_ok());
}

TEST_F(HeartbeatTest, MalformedBodiesAreRefusedWithAReason) {
  EXPECT_FALSE(parse_signed_heartbeat("{}").is_ok());  // what parley sent before
  EXPECT_FALSE(parse_signed_heartbeat("[1]").is_ok());
  EXPECT_FALSE(parse_signed_heartbeat(R"({"payload":"x","signature":"y","extra":1})").is_ok());
  EXPECT_FALSE(parse_signed_heartbeat(std::string(kHeartbeatBytesMax + 1, ' ')).is_ok());
  const SignedHeartbeat bad_b64{"{}", "not base64!"};
  EXPECT_FALSE(open_heartbeat(bad_b64, us_.verify, "us-eucom", "ru-genstaff").is_ok());
  Heartbeat short_nonce = beat();
  short_nonce.nonce = "abc";
  const SignedHeartbeat s =
      parse_signed_heartbeat(encode_signed_heartbeat(sign_heartbeat(short_nonce, us_.signing)))
          .value();
  EXPECT_EQ(open_heartbeat(s, us_.verify, "us-eucom", "ru-genstaff").status().code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace parley::wire
