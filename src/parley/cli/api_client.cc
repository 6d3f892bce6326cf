#include "parley/cli/api_client.h"

#include "parley/gateway/home.h"
#include "parley/net/net.h"
#include "parley/wire/wire.h"

namespace parley::cli {
namespace {

StatusCode code_for_http(int status) {
  switch (status) {
    case 400:
    case 413:
      return StatusCode::kInvalidArgument;
    case 401:
      return StatusCode::kUnauthenticated;
    case 403:
      return StatusCode::kPermissionDenied;
    case 404:
      return StatusCode::kNotFound;
    case 409:
      return StatusCode::kFailedPrecondition;
    case 503:
      return StatusCode::kUnavailable;
    default:
      return StatusCode::kInternal;
  }
}

}  // namespace

Result<ApiTarget> resolve_api(const std::string& home, const std::string& as,
                              const std::string& api, const std::string& token) {
  ApiTarget target;
  if (!home.empty()) {
    if (!api.empty() || !token.empty()) {
      return Status::invalid_argument("give either --home with --as, or --api with --token");
    }
    if (as.empty()) return Status::invalid_argument("--as PRINCIPAL is required with --home");
    PARLEY_ASSIGN_OR_RETURN(gateway::Home h, gateway::open_home(home));
    // Read through the Result (not PARLEY_ASSIGN_OR_RETURN into a local): GCC 12 at -O2
    // warns, wrongly, that the moved-into HostPort may be used uninitialized.
    const Result<wire::HostPort> hp = wire::parse_host_port(h.config.api_listen);
    if (!hp.is_ok()) return hp.status();
    target.host = hp->host == "0.0.0.0" ? "127.0.0.1" : hp->host == "::" ? "::1" : hp->host;
    target.port = hp->port;
    target.headers["Authorization"] = "Bearer " + h.operator_token;
    target.headers["X-Parley-As"] = as;
    return target;
  }
  if (api.empty() || token.empty()) {
    return Status::invalid_argument(
        "give either --home DIR --as PRINCIPAL, or --api URL --token T");
  }
  constexpr std::string_view kScheme = "http://";
  if (api.rfind(kScheme, 0) != 0) {
    return Status::invalid_argument("--api must be a URL like http://127.0.0.1:7080");
  }
  std::string rest = api.substr(kScheme.size());
  while (!rest.empty() && rest.back() == '/') rest.pop_back();
  PARLEY_ASSIGN_OR_RETURN(wire::HostPort hp, wire::parse_host_port(rest));
  target.host = hp.host;
  target.port = hp.port;
  target.headers["Authorization"] = "Bearer " + token;
  if (!as.empty()) target.headers["X-Parley-As"] = as;
  return target;
}

Result<json::Json> call_api(const ApiTarget& target, const std::string& method,
                            const std::string& path, const std::string& body,
                            std::chrono::milliseconds timeout) {
  std::map<std::string, std::string> headers = target.headers;
  if (!body.empty()) headers["Content-Type"] = "application/json";
  PARLEY_ASSIGN_OR_RETURN(
      net::HttpResponse response,
      net::http_request(target.host, target.port, method, path, headers, body, timeout));
  Result<json::Json> parsed = json::parse(response.body);
  if (response.status >= 200 && response.status < 300) {
    if (!parsed.is_ok()) {
      return Status::internal("the gateway answered with malformed JSON: " +
                              parsed.status().message());
    }
    return parsed;
  }
  std::string error = "the gateway answered HTTP " + std::to_string(response.status);
  if (parsed.is_ok() && parsed->is_object() && parsed->contains("error") &&
      (*parsed)["error"].is_string()) {
    error = (*parsed)["error"].get<std::string>();
  }
  return Status(code_for_http(response.status), error);
}

}  // namespace parley::cli
