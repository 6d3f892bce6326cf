// How the CLI reaches a running gateway's API: either through a home directory (its API
// address and the operator's local token, acting as a principal with X-Parley-As), or
// through an explicit URL and a principal's token.
#pragma once

#include <chrono>
#include <map>
#include <string>

#include "parley/base/json.h"
#include "parley/base/status.h"

namespace parley::cli {

struct ApiTarget {
  std::string host;
  std::uint16_t port = 0;
  std::map<std::string, std::string> headers;  // Authorization, X-Parley-As
};

// `home` + `as` (operator credentials), or `api` ("http://HOST:PORT") + `token`.
// kInvalidArgument if neither or both are given, or the URL is malformed.
Result<ApiTarget> resolve_api(const std::string& home, const std::string& as,
                              const std::string& api, const std::string& token);

// One request; the JSON answer for 2xx, else the gateway's {"error"} as a Status whose code
// follows the HTTP status.
Result<json::Json> call_api(const ApiTarget& target, const std::string& method,
                            const std::string& path, const std::string& body = "",
                            std::chrono::milliseconds timeout = std::chrono::seconds(30));

}  // namespace parley::cli
