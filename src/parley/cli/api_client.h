// How the CLI reaches a running gateway's API: either through a home directory (its API
// address, the operator's local token, acting as a principal with X-Parley-As, and with
// api.tls the API certificate's fingerprint as the pin), or through an explicit URL
// (http:// or https://), a principal's token and, for https, a pinned fingerprint.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>

#include "parley/base/json.h"
#include "parley/base/status.h"
#include "parley/net/net.h"

namespace parley::gateway {
struct Home;
}

namespace parley::cli {

struct ApiTarget {
  std::string host;
  std::uint16_t port = 0;
  std::map<std::string, std::string> headers;  // Authorization, X-Parley-As
  std::optional<net::ClientTls> tls;           // https: how the server's certificate is checked
  // The party's language (the home's `lang`) with --home; "en" with --api, which does not say.
  std::string lang = "en";
};

// `home` + `as` (operator credentials), or `api` ("http://HOST:PORT" or "https://HOST:PORT")
// + `token` (+ `api_pin`, the SHA-256 fingerprint of the API's certificate, with https; without
// it the system's trusted CAs decide). kInvalidArgument if neither or both are given, the URL
// is malformed, or the pin is not 64 hex digits or comes without an https URL.
Result<ApiTarget> resolve_api(const std::string& home, const std::string& as,
                              const std::string& api, const std::string& token,
                              const std::string& api_pin = "");

// The operator's own target for `home` (its token, no principal), over HTTPS pinned to the
// home's API certificate when api.tls is set.
ApiTarget operator_target(const gateway::Home& home);

// One request to `target`, whatever the answer: kUnavailable if the API cannot be reached
// (or its TLS certificate is not the pinned one).
Result<net::HttpResponse> send_api(const ApiTarget& target, const std::string& method,
                                   const std::string& path, const std::string& body,
                                   std::chrono::milliseconds timeout);

// One request; the JSON answer for 2xx, else the gateway's {"error"} as a Status whose code
// follows the HTTP status.
Result<json::Json> call_api(const ApiTarget& target, const std::string& method,
                            const std::string& path, const std::string& body = "",
                            std::chrono::milliseconds timeout = std::chrono::seconds(30));

}  // namespace parley::cli
