#include "parley/gateway/sessions.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <vector>

#include "parley/base/bytes.h"
#include "parley/base/json.h"

namespace parley::gateway {
namespace {

// 256 bits: guessing a live session is as hard as guessing a token.
constexpr std::size_t kSecretBytes = 32;
constexpr std::size_t kTokenBytesMax = 512;

std::string random_hex(Rng& rng) {
  std::array<std::uint8_t, kSecretBytes> bytes{};
  rng.fill(bytes);
  return hex_encode(bytes);
}

bool changes_state(std::string_view method) { return method != "GET" && method != "HEAD"; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

Sessions::Sessions(Rng& rng, SessionLimits limits) : rng_(rng), limits_(limits) {}

std::string Sessions::key_of(std::string_view id) {
  return hex_encode(crypto::sha256(as_bytes(id)));
}

void Sessions::drop_expired(Time now) {
  std::erase_if(sessions_, [now](const auto& entry) { return entry.second.expires <= now; });
}

Result<NewSession> Sessions::start(const std::string& principal, const crypto::Digest& token_hash,
                                   Time now) {
  drop_expired(now);
  std::vector<std::map<std::string, Session>::iterator> mine;
  for (auto it = sessions_.begin(); it != sessions_.end(); ++it) {
    if (it->second.principal == principal) mine.push_back(it);
  }
  if (mine.size() >= limits_.per_principal_max && !mine.empty()) {
    const auto oldest = std::min_element(mine.begin(), mine.end(), [](auto a, auto b) {
      return a->second.started < b->second.started;
    });
    sessions_.erase(*oldest);
  }
  if (sessions_.size() >= limits_.total_max) {
    return Status::unavailable("too many console sessions (" + std::to_string(sessions_.size()) +
                               "): sign out elsewhere or wait until some expire");
  }
  NewSession created{random_hex(rng_), random_hex(rng_), now + limits_.lifetime};
  sessions_[key_of(created.id)] =
      Session{principal, token_hash, created.csrf, now, created.expires};
  return created;
}

Result<Session> Sessions::find(std::string_view id, Time now) {
  const auto it = sessions_.find(key_of(id));
  if (it == sessions_.end()) {
    return Status::unauthenticated("no such session (signed out, or the gateway restarted)");
  }
  if (it->second.expires <= now) {
    sessions_.erase(it);
    return Status::unauthenticated("the session has expired: sign in again");
  }
  return it->second;
}

void Sessions::end(std::string_view id) { sessions_.erase(key_of(id)); }

Status check_same_origin(const RequestOrigin& request) {
  if (request.fetch_site && *request.fetch_site != "same-origin" && *request.fetch_site != "none") {
    return Status::permission_denied(
        "refused: a request from another site (Sec-Fetch-Site: " + *request.fetch_site + ")");
  }
  if (!request.origin) return Status::ok();
  if (!request.host || request.host->empty()) {
    return Status::permission_denied("refused: an Origin header without a Host header");
  }
  const std::string expected = (request.tls ? "https://" : "http://") + *request.host;
  if (*request.origin != expected) {
    return Status::permission_denied("refused: Origin '" + *request.origin +
                                     "' is not this gateway's (" + expected + ")");
  }
  return Status::ok();
}

Status check_cookie_request(const Session& session, const RequestOrigin& request) {
  PARLEY_RETURN_IF_ERROR(check_same_origin(request));
  if (!changes_state(request.method)) return Status::ok();
  if (!request.origin) {
    return Status::permission_denied("refused: a " + request.method +
                                     " with the session cookie needs an Origin header");
  }
  if (!request.csrf) {
    return Status::permission_denied("refused: a " + request.method +
                                     " with the session cookie needs the X-Parley-CSRF header "
                                     "(GET /api/v1/session gives its value)");
  }
  if (!constant_time_equal(as_bytes(*request.csrf), as_bytes(session.csrf))) {
    return Status::permission_denied("refused: X-Parley-CSRF is not this session's");
  }
  return Status::ok();
}

std::optional<std::string> cookie_value(std::string_view header, std::string_view name) {
  while (!header.empty()) {
    const std::size_t semicolon = header.find(';');
    const std::string_view pair = trim(header.substr(0, semicolon));
    header =
        semicolon == std::string_view::npos ? std::string_view() : header.substr(semicolon + 1);
    const std::size_t equals = pair.find('=');
    if (equals == std::string_view::npos) continue;
    if (trim(pair.substr(0, equals)) == name) return std::string(trim(pair.substr(equals + 1)));
  }
  return std::nullopt;
}

std::string session_cookie(const NewSession& session, Time now, bool tls) {
  const auto seconds =
      std::chrono::duration_cast<std::chrono::seconds>(session.expires - now).count();
  return std::string(kSessionCookie) + "=" + session.id +
         "; Path=/; Max-Age=" + std::to_string(std::max<std::int64_t>(seconds, 0)) +
         "; HttpOnly; SameSite=Strict" + (tls ? "; Secure" : "");
}

std::string cleared_session_cookie(bool tls) {
  return std::string(kSessionCookie) + "=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict" +
         (tls ? "; Secure" : "");
}

Result<std::string> parse_sign_in(std::string_view body) {
  PARLEY_ASSIGN_OR_RETURN(const json::Json j, json::parse_object(body));
  PARLEY_RETURN_IF_ERROR(json::check_keys(j, {"token"}));
  PARLEY_ASSIGN_OR_RETURN(std::string token, json::get_string(j, "token"));
  if (token.empty() || token.size() > kTokenBytesMax) {
    return Status::invalid_argument("field 'token': expected a principal's API token (1 to " +
                                    std::to_string(kTokenBytesMax) + " bytes)");
  }
  return token;
}

}  // namespace parley::gateway
