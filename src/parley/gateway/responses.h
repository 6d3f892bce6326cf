// The API's JSON answers, shared by its handlers (api.cc, meetings_api.cc, directory_api.cc):
// a body with a status, and an error as {"error": reason} with the status's HTTP code.
#pragma once

#include <optional>

#include "parley/base/json.h"
#include "parley/base/status.h"
#include "parley/base/time.h"
#include "parley/net/net.h"

namespace parley::gateway {

inline net::HttpResponse json_response(int status, const json::Json& body) {
  net::HttpResponse r;
  r.status = status;
  r.body = json::dump(body);
  return r;
}

// A time as the API writes it (RFC 3339, milliseconds), or null.
inline json::Json optional_time(const std::optional<Time>& t) {
  return t ? json::Json(format_time(*t)) : json::Json(nullptr);
}

inline net::HttpResponse error_response(const Status& status) {
  return json_response(http_status(status.code()), json::Json{{"error", status.message()}});
}

}  // namespace parley::gateway
