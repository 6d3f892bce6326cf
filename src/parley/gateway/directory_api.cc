#include "parley/gateway/directory_api.h"

#include <fmt/format.h>

#include "parley/base/json.h"
#include "parley/core/zone.h"
#include "parley/gateway/responses.h"

namespace parley::gateway {
namespace {

using json::Json;

}  // namespace

Status check_token(const core::Principal& principal, Time now) {
  if (principal.revoked_at) {
    return Status::unauthenticated(fmt::format("the token of principal '{}' was revoked at {}",
                                               principal.id, format_time(*principal.revoked_at)));
  }
  if (principal.token_expires && *principal.token_expires <= now) {
    return Status::unauthenticated(fmt::format(
        "the token of principal '{}' expired at {} (issue a new one: parley principal token)",
        principal.id, format_time(*principal.token_expires)));
  }
  return Status::ok();
}

bool DirectoryApi::owns(const std::string& path) {
  return path == "/api/v1/admin/reload" || path == "/api/v1/roster";
}

std::optional<net::HttpResponse> DirectoryApi::rate_limited(const Caller& caller) {
  if (caller.operator_token || caller.principal.empty()) return std::nullopt;
  const Config& config = driver_.home().config;
  limiter_.configure(config.principal_rate, config.principal_burst);
  const std::optional<Duration> wait = limiter_.take(caller.principal, driver_.now());
  if (!wait) return std::nullopt;
  const auto seconds = std::chrono::ceil<std::chrono::seconds>(*wait).count();
  net::HttpResponse r = json_response(
      429, Json{{"error", fmt::format("principal '{}' is over its rate limit ({} requests per "
                                      "second, bursts of {}): retry in {} s",
                                      caller.principal, config.principal_rate,
                                      config.principal_burst, seconds)},
                {"retry_after", seconds}});
  r.headers["Retry-After"] = std::to_string(seconds);
  return r;
}

net::HttpResponse DirectoryApi::handle(const Caller& caller, const std::string& method,
                                       const std::string& path,
                                       const std::map<std::string, std::string>& query) {
  if (path == "/api/v1/admin/reload" && method == "POST") return reload(caller);
  if (path == "/api/v1/roster" && method == "GET") return roster(query);
  return error_response(Status::not_found("no such endpoint: " + method + " " + path));
}

net::HttpResponse DirectoryApi::reload(const Caller& caller) {
  if (!caller.operator_token) {
    return error_response(
        Status::permission_denied("only the operator token may reload the directory"));
  }
  const Status status = driver_.reload();
  if (!status.is_ok()) return error_response(status);
  return json_response(200, Json{{"reloaded", true},
                                 {"principals", driver_.principals().size()},
                                 {"lines", driver_.lines().size()},
                                 {"timezone", driver_.zone().name},
                                 {"peers", driver_.peers().size()},
                                 {"restart_needed", driver_.restart_needed()}});
}

net::HttpResponse DirectoryApi::roster(const std::map<std::string, std::string>& query) {
  const auto role = query.find("role");
  if (role == query.end() || role->second.empty()) {
    return error_response(Status::invalid_argument("missing query parameter role"));
  }
  Time at = driver_.now();
  if (const auto t = query.find("at"); t != query.end()) {
    Result<Time> parsed = core::parse_zone_time(t->second, driver_.zone());
    if (!parsed.is_ok()) return error_response(parsed.status());
    at = *parsed;
  }
  const std::optional<core::Shift> shift = driver_.on_duty(role->second, at);
  Json body{{"role", role->second},
            {"at", format_time(at)},
            {"timezone", driver_.zone().name},
            {"on_duty", shift ? Json(shift->principal) : Json(nullptr)}};
  if (shift) {
    body["from"] = core::format_zone_time(driver_.zone(), shift->from);
    body["to"] = core::format_zone_time(driver_.zone(), shift->to);
  }
  return json_response(200, body);
}

}  // namespace parley::gateway
