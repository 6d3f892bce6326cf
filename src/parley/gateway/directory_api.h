// The directory's part of the HTTP API (docs/openapi.yaml): what a principal's token is
// still good for (expiry, revocation), the rate limit per principal, the duty roster as the
// running gateway sees it, and the operator's reload. Kept apart from api.cc, which routes
// here.
//
//   POST /api/v1/admin/reload           operator token only: Driver::reload()
//   GET  /api/v1/roster?role=R[&at=T]   who is on duty for R at T (default: now)
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "parley/base/status.h"
#include "parley/core/model.h"
#include "parley/gateway/driver.h"
#include "parley/gateway/rate_limit.h"
#include "parley/net/net.h"

namespace parley::gateway {

// OK if `principal`'s token may be used at `now`; kUnauthenticated saying why not (revoked,
// expired), naming the principal and the time.
Status check_token(const core::Principal& principal, Time now);

class DirectoryApi {
 public:
  explicit DirectoryApi(Driver& driver) : driver_(driver) {}

  static bool owns(const std::string& path);

  // 429 with Retry-After (whole seconds, rounded up) and a JSON reason if `caller` is a
  // principal over its rate limit (parley.toml api.principal_rate, principal_burst); the
  // operator token is never limited. Nothing if the request may go on.
  std::optional<net::HttpResponse> rate_limited(const Caller& caller);

  net::HttpResponse handle(const Caller& caller, const std::string& method, const std::string& path,
                           const std::map<std::string, std::string>& query);

 private:
  net::HttpResponse reload(const Caller& caller);
  net::HttpResponse roster(const std::map<std::string, std::string>& query);

  Driver& driver_;
  RateLimiter limiter_;
};

}  // namespace parley::gateway
