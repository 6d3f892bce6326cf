// Console sessions (docs/operations.md "The console"; docs/openapi.yaml /api/v1/session): a
// principal signs in once with its API token and gets a session cookie instead, so that the
// token is never kept by the browser. The rules that make a cookie safe to accept live here,
// as pure functions over values that api.cc reads from the request:
//   - the cookie is HttpOnly (no script reads it), SameSite=Strict (no other site's page
//     sends it), Secure when the API is served over TLS, and expires;
//   - a request that changes state with the cookie (any method but GET and HEAD) must carry
//     the session's CSRF token in X-Parley-CSRF (which the page gets from GET
//     /api/v1/session: another origin cannot read it) and an Origin equal to the API's own;
//   - a request with the cookie that a browser marks as coming from another site
//     (Sec-Fetch-Site) is refused whatever its method: reading the inbox marks messages shown.
// Sessions live in this process's memory: a restart signs every console out (by design: no
// session secret is ever written to disk).
//
// Not thread-safe: the gateway calls it from its one io thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "parley/base/rng.h"
#include "parley/base/status.h"
#include "parley/base/time.h"
#include "parley/crypto/crypto.h"

namespace parley::gateway {

inline constexpr std::string_view kSessionCookie = "parley_session";
inline constexpr std::string_view kCsrfHeader = "x-parley-csrf";

struct SessionLimits {
  // A session ends this long after sign-in (a watch is at most 12 hours), or earlier at
  // sign-out, at a restart, or when its principal's token is revoked, expires or is rotated.
  std::chrono::milliseconds lifetime{std::chrono::hours(12)};
  // A principal's next sign-in beyond this ends its oldest session.
  std::size_t per_principal_max = 16;
  // Beyond this, sign-in is refused (kUnavailable) until sessions end.
  std::size_t total_max = 4096;
};

// What a sign-in gives the client: the cookie's value (`id`), the CSRF token and the expiry.
struct NewSession {
  std::string id;    // secret: only in the HttpOnly cookie
  std::string csrf;  // sent back by the page in X-Parley-CSRF
  Time expires;
};

// A live session as the API sees it.
struct Session {
  std::string principal;
  crypto::Digest
      token_hash{};  // of the token it signed in with: a rotated or revoked token ends it
  std::string csrf;
  Time started;
  Time expires;
};

class Sessions {
 public:
  // `rng` (crypto::SystemRng in the gateway) must outlive this.
  explicit Sessions(Rng& rng, SessionLimits limits = {});

  // Starts a session for `principal`, who proved `token_hash`'s token at `now`. Ends the
  // principal's oldest session if it has per_principal_max; kUnavailable if total_max are
  // live.
  Result<NewSession> start(const std::string& principal, const crypto::Digest& token_hash,
                           Time now);

  // The session whose cookie value is `id`: kUnauthenticated if there is none or it has
  // expired at `now` (an expired one is dropped).
  Result<Session> find(std::string_view id, Time now);

  // Ends the session `id` (nothing if there is none).
  void end(std::string_view id);

  // Live sessions (expired ones not yet dropped included).
  std::size_t size() const { return sessions_.size(); }

 private:
  void drop_expired(Time now);
  static std::string key_of(std::string_view id);

  Rng& rng_;
  SessionLimits limits_;
  std::map<std::string, Session> sessions_;  // by the SHA-256 (hex) of the cookie's value
};

// What the CSRF rules read from a request (names as in HTTP; nullopt: header absent).
struct RequestOrigin {
  std::string method;
  std::optional<std::string> host;        // Host
  std::optional<std::string> origin;      // Origin
  std::optional<std::string> fetch_site;  // Sec-Fetch-Site
  std::optional<std::string> csrf;        // X-Parley-CSRF
  bool tls = false;                       // the request came over TLS
};

// Whether a request authenticated by `session`'s cookie may proceed (the rules above):
// kPermissionDenied saying which rule it broke.
Status check_cookie_request(const Session& session, const RequestOrigin& request);

// Whether `request` comes from the API's own origin as far as the browser says: an Origin,
// if present, equal to http(s)://Host, and a Sec-Fetch-Site, if present, of same-origin or
// none. For sign-in (which has no session yet): kPermissionDenied otherwise.
Status check_same_origin(const RequestOrigin& request);

// The value of cookie `name` in a Cookie header ("a=1; b=2"), if present.
std::optional<std::string> cookie_value(std::string_view header, std::string_view name);

// The Set-Cookie value that gives `session` to the browser at `now`, and the one that
// removes it (at sign-out).
std::string session_cookie(const NewSession& session, Time now, bool tls);
std::string cleared_session_cookie(bool tls);

// The body of POST /api/v1/session: {"token": "..."}. kInvalidArgument naming the field for
// anything else (another key, a token that is not a non-empty string of at most 512 bytes).
Result<std::string> parse_sign_in(std::string_view body);

}  // namespace parley::gateway
