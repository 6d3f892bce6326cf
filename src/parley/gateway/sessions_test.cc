#include "parley/gateway/sessions.h"

#include <chrono>

#include <gtest/gtest.h>

#include "parley/base/rng.h"
#include "parley/crypto/crypto.h"

namespace parley::gateway {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;

const Time kStart = time_from_unix_ms(1'790'000'000'000);

crypto::Digest hash_of(std::string_view token) { return crypto::sha256(as_bytes(token)); }

// A browser's same-origin POST from the console with the session's CSRF token.
RequestOrigin console_post(const Session& session) {
  return RequestOrigin{"POST",        "127.0.0.1:7180", "http://127.0.0.1:7180",
                       "same-origin", session.csrf,     false};
}

TEST(SessionsTest, ASessionIsFoundByItsCookieUntilItExpires) {
  SeededRng rng(1);
  Sessions sessions(rng, SessionLimits{hours(12), 16, 100});
  const Result<NewSession> s = sessions.start("saceur", hash_of("t"), kStart);
  ASSERT_TRUE(s.is_ok()) << s.status().message();
  EXPECT_EQ(s->expires, kStart + hours(12));
  EXPECT_EQ(s->id.size(), 64U);  // 256 bits, hex
  EXPECT_NE(s->id, s->csrf);

  const Result<Session> found = sessions.find(s->id, kStart + hours(11));
  ASSERT_TRUE(found.is_ok()) << found.status().message();
  EXPECT_EQ(found->principal, "saceur");
  EXPECT_EQ(found->csrf, s->csrf);
  EXPECT_EQ(found->token_hash, hash_of("t"));

  const Result<Session> expired = sessions.find(s->id, kStart + hours(12));
  ASSERT_FALSE(expired.is_ok());
  EXPECT_EQ(expired.status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(sessions.size(), 0U);  // dropped
}

TEST(SessionsTest, AnUnknownOrEndedCookieIsUnauthenticated) {
  SeededRng rng(2);
  Sessions sessions(rng);
  const Result<NewSession> s = sessions.start("saceur", hash_of("t"), kStart);
  ASSERT_TRUE(s.is_ok());
  EXPECT_EQ(sessions.find("not-a-session", kStart).status().code(), StatusCode::kUnauthenticated);
  // The CSRF token is not a session id.
  EXPECT_FALSE(sessions.find(s->csrf, kStart).is_ok());
  sessions.end(s->id);
  EXPECT_EQ(sessions.find(s->id, kStart).status().code(), StatusCode::kUnauthenticated);
}

TEST(SessionsTest, EachSignInGetsFreshSecrets) {
  SeededRng rng(3);
  Sessions sessions(rng);
  const Result<NewSession> a = sessions.start("saceur", hash_of("t"), kStart);
  const Result<NewSession> b = sessions.start("saceur", hash_of("t"), kStart);
  ASSERT_TRUE(a.is_ok() && b.is_ok());
  EXPECT_NE(a->id, b->id);
  EXPECT_NE(a->csrf, b->csrf);
  EXPECT_TRUE(sessions.find(a->id, kStart).is_ok());
  EXPECT_TRUE(sessions.find(b->id, kStart).is_ok());
}

TEST(SessionsTest, APrincipalsOldestSessionEndsBeyondItsLimit) {
  SeededRng rng(4);
  Sessions sessions(rng, SessionLimits{hours(12), 2, 100});
  const Result<NewSession> first = sessions.start("saceur", hash_of("t"), kStart);
  const Result<NewSession> second =
      sessions.start("saceur", hash_of("t"), kStart + milliseconds(1));
  const Result<NewSession> other = sessions.start("cgs", hash_of("u"), kStart + milliseconds(2));
  const Result<NewSession> third = sessions.start("saceur", hash_of("t"), kStart + milliseconds(3));
  ASSERT_TRUE(first.is_ok() && second.is_ok() && other.is_ok() && third.is_ok());
  EXPECT_FALSE(sessions.find(first->id, kStart + milliseconds(4)).is_ok());
  EXPECT_TRUE(sessions.find(second->id, kStart + milliseconds(4)).is_ok());
  EXPECT_TRUE(sessions.find(third->id, kStart + milliseconds(4)).is_ok());
  EXPECT_TRUE(sessions.find(other->id, kStart + milliseconds(4)).is_ok());
}

TEST(SessionsTest, SignInIsRefusedWhenTheGatewayHoldsTheMostSessions) {
  SeededRng rng(5);
  Sessions sessions(rng, SessionLimits{hours(1), 16, 2});
  ASSERT_TRUE(sessions.start("a", hash_of("a"), kStart).is_ok());
  ASSERT_TRUE(sessions.start("b", hash_of("b"), kStart).is_ok());
  const Result<NewSession> refused = sessions.start("c", hash_of("c"), kStart);
  ASSERT_FALSE(refused.is_ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kUnavailable);
  // Expired sessions make room.
  EXPECT_TRUE(sessions.start("c", hash_of("c"), kStart + hours(1)).is_ok());
}

TEST(CsrfTest, AConsoleRequestWithTheTokenAndItsOwnOriginPasses) {
  const Session s{"saceur", hash_of("t"), "csrf-token", kStart, kStart + hours(1)};
  EXPECT_TRUE(check_cookie_request(s, console_post(s)).is_ok());
  RequestOrigin del = console_post(s);
  del.method = "DELETE";
  EXPECT_TRUE(check_cookie_request(s, del).is_ok());
}

TEST(CsrfTest, AStateChangeWithoutTheCsrfHeaderIsRefused) {
  const Session s{"saceur", hash_of("t"), "csrf-token", kStart, kStart + hours(1)};
  RequestOrigin r = console_post(s);
  r.csrf.reset();
  const Status status = check_cookie_request(s, r);
  EXPECT_EQ(status.code(), StatusCode::kPermissionDenied);
  EXPECT_NE(status.message().find("X-Parley-CSRF"), std::string::npos) << status.message();
}

TEST(CsrfTest, AnotherSessionsCsrfTokenIsRefused) {
  const Session s{"saceur", hash_of("t"), "csrf-token", kStart, kStart + hours(1)};
  RequestOrigin r = console_post(s);
  r.csrf = "csrf-tokeN";
  EXPECT_EQ(check_cookie_request(s, r).code(), StatusCode::kPermissionDenied);
  r.csrf = "";
  EXPECT_EQ(check_cookie_request(s, r).code(), StatusCode::kPermissionDenied);
}

TEST(CsrfTest, AStateChangeFromAnotherOriginIsRefusedEvenWithTheToken) {
  const Session s{"saceur", hash_of("t"), "csrf-token", kStart, kStart + hours(1)};
  for (const char* origin :
       {"http://evil.example", "http://127.0.0.1:7181", "https://127.0.0.1:7180", "null"}) {
    RequestOrigin r = console_post(s);
    r.origin = origin;
    EXPECT_EQ(check_cookie_request(s, r).code(), StatusCode::kPermissionDenied) << origin;
  }
  // Over TLS the origin is https.
  RequestOrigin tls = console_post(s);
  tls.tls = true;
  EXPECT_EQ(check_cookie_request(s, tls).code(), StatusCode::kPermissionDenied);
  tls.origin = "https://127.0.0.1:7180";
  EXPECT_TRUE(check_cookie_request(s, tls).is_ok());
}

TEST(CsrfTest, AStateChangeWithoutAnOriginIsRefused) {
  const Session s{"saceur", hash_of("t"), "csrf-token", kStart, kStart + hours(1)};
  RequestOrigin r = console_post(s);
  r.origin.reset();
  EXPECT_EQ(check_cookie_request(s, r).code(), StatusCode::kPermissionDenied);
}

TEST(CsrfTest, ReadsNeedNoTokenButNotFromAnotherSite) {
  const Session s{"saceur", hash_of("t"), "csrf-token", kStart, kStart + hours(1)};
  RequestOrigin get{"GET", "127.0.0.1:7180", std::nullopt, "same-origin", std::nullopt, false};
  EXPECT_TRUE(check_cookie_request(s, get).is_ok());
  get.fetch_site.reset();  // an older browser, or a typed URL
  EXPECT_TRUE(check_cookie_request(s, get).is_ok());
  // Reading the inbox marks messages shown: another site may not make the browser do it.
  get.fetch_site = "cross-site";
  EXPECT_EQ(check_cookie_request(s, get).code(), StatusCode::kPermissionDenied);
  get.fetch_site = "same-site";
  EXPECT_EQ(check_cookie_request(s, get).code(), StatusCode::kPermissionDenied);
}

TEST(CsrfTest, SignInFromAnotherOriginIsRefused) {
  RequestOrigin r{"POST",        "127.0.0.1:7180", "http://127.0.0.1:7180",
                  "same-origin", std::nullopt,     false};
  EXPECT_TRUE(check_same_origin(r).is_ok());
  r.origin = "http://evil.example";
  EXPECT_EQ(check_same_origin(r).code(), StatusCode::kPermissionDenied);
  // A client that is not a browser (curl) sends neither header.
  r.origin.reset();
  r.fetch_site.reset();
  EXPECT_TRUE(check_same_origin(r).is_ok());
  r.origin = "http://127.0.0.1:7180";
  r.host.reset();
  EXPECT_EQ(check_same_origin(r).code(), StatusCode::kPermissionDenied);
}

TEST(CookieTest, TheSessionCookieIsHttpOnlyStrictAndExpires) {
  const NewSession s{"abc", "def", kStart + hours(12)};
  EXPECT_EQ(session_cookie(s, kStart, false),
            "parley_session=abc; Path=/; Max-Age=43200; HttpOnly; SameSite=Strict");
  EXPECT_EQ(session_cookie(s, kStart, true),
            "parley_session=abc; Path=/; Max-Age=43200; HttpOnly; SameSite=Strict; Secure");
  EXPECT_EQ(cleared_session_cookie(false),
            "parley_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict");
}

TEST(CookieTest, CookieValueFindsTheNamedCookie) {
  EXPECT_EQ(cookie_value("parley_session=abc", "parley_session"), "abc");
  EXPECT_EQ(cookie_value("a=1; parley_session=abc; b=2", "parley_session"), "abc");
  EXPECT_EQ(cookie_value("a=1;parley_session= abc ", "parley_session"), "abc");
  EXPECT_EQ(cookie_value("xparley_session=abc; a=1", "parley_session"), std::nullopt);
  EXPECT_EQ(cookie_value("parley_sessionx=abc", "parley_session"), std::nullopt);
  EXPECT_EQ(cookie_value("", "parley_session"), std::nullopt);
  EXPECT_EQ(cookie_value(";;=;parley_session", "parley_session"), std::nullopt);
}

TEST(SignInTest, TheBodyIsATokenAndNothingElse) {
  EXPECT_EQ(parse_sign_in(R"({"token": "abc"})").value(), "abc");
  for (const char* bad : {"", "[]", "{}", R"({"token": ""})", R"({"token": 1})",
                          R"({"token": "a", "as": "cgs"})", "{\"token\": \"a\""}) {
    const Result<std::string> r = parse_sign_in(bad);
    ASSERT_FALSE(r.is_ok()) << bad;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_FALSE(parse_sign_in(R"({"token": ")" + std::string(513, 'a') + "\"}").is_ok());
}

}  // namespace
}  // namespace parley::gateway
