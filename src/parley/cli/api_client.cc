#include "parley/cli/api_client.h"

#include <algorithm>
#include <cctype>
#include <string_view>

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

bool is_fingerprint(const std::string& text) {
  return text.size() == 64 && std::all_of(text.begin(), text.end(),
                                          [](unsigned char c) { return std::isxdigit(c) != 0; });
}

}  // namespace

ApiTarget operator_target(const gateway::Home& home) {
  ApiTarget target;
  // parse_config has checked the address.
  const Result<wire::HostPort> hp = wire::parse_host_port(home.config.api_listen);
  if (hp.is_ok()) {
    target.host = hp->host == "0.0.0.0" ? "127.0.0.1" : hp->host == "::" ? "::1" : hp->host;
    target.port = hp->port;
  }
  target.headers["Authorization"] = "Bearer " + home.operator_token;
  if (home.config.api_tls) target.tls = net::ClientTls{home.api_fingerprint};
  return target;
}

Result<ApiTarget> resolve_api(const std::string& home, const std::string& as,
                              const std::string& api, const std::string& token,
                              const std::string& api_pin) {
  if (!home.empty()) {
    if (!api.empty() || !token.empty() || !api_pin.empty()) {
      return Status::invalid_argument(
          "give either --home with --as, or --api with --token (and --api-pin)");
    }
    if (as.empty()) return Status::invalid_argument("--as PRINCIPAL is required with --home");
    PARLEY_ASSIGN_OR_RETURN(const gateway::Home h, gateway::open_home(home));
    ApiTarget target = operator_target(h);
    target.headers["X-Parley-As"] = as;
    target.lang = h.config.lang;
    return target;
  }
  if (api.empty() || token.empty()) {
    return Status::invalid_argument(
        "give either --home DIR --as PRINCIPAL, or --api URL --token T");
  }
  ApiTarget target;
  std::string rest;
  if (api.rfind("https://", 0) == 0) {
    rest = api.substr(std::string_view("https://").size());
    if (!api_pin.empty() && !is_fingerprint(api_pin)) {
      return Status::invalid_argument(
          "--api-pin must be the SHA-256 fingerprint of the API's certificate, 64 hex digits (as "
          "parley init printed it)");
    }
    target.tls = net::ClientTls{api_pin};
  } else if (api.rfind("http://", 0) == 0) {
    if (!api_pin.empty()) {
      return Status::invalid_argument("--api-pin needs an https:// --api URL");
    }
    rest = api.substr(std::string_view("http://").size());
  } else {
    return Status::invalid_argument(
        "--api must be a URL like http://127.0.0.1:7080 or https://gw.example:7443");
  }
  while (!rest.empty() && rest.back() == '/') rest.pop_back();
  PARLEY_ASSIGN_OR_RETURN(wire::HostPort hp, wire::parse_host_port(rest));
  target.host = hp.host;
  target.port = hp.port;
  target.headers["Authorization"] = "Bearer " + token;
  if (!as.empty()) target.headers["X-Parley-As"] = as;
  return target;
}

Result<net::HttpResponse> send_api(const ApiTarget& target, const std::string& method,
                                   const std::string& path, const std::string& body,
                                   std::chrono::milliseconds timeout) {
  std::map<std::string, std::string> headers = target.headers;
  if (!body.empty()) headers["Content-Type"] = "application/json";
  return net::http_request(target.host, target.port, method, path, headers, body, timeout,
                           target.tls);
}

Result<json::Json> call_api(const ApiTarget& target, const std::string& method,
                            const std::string& path, const std::string& body,
                            std::chrono::milliseconds timeout) {
  PARLEY_ASSIGN_OR_RETURN(net::HttpResponse response,
                          send_api(target, method, path, body, timeout));
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
