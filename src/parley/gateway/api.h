// The HTTP API shell's routes (DESIGN.md "HTTP API"; docs/openapi.yaml): authentication by
// bearer token, JSON in and out, one JSON {"error": "..."} line for every refusal. A
// principal sees and uses only its own lines; the gateway-wide views (every peer in
// /api/v1/status, /api/v1/peers, /metrics, the peers in /readyz) are for the operator token
// and a principal with the role kWatchRole (driver.h).
#pragma once

#include <string>

#include "parley/base/json.h"
#include "parley/catalog/catalog.h"
#include "parley/core/model.h"
#include "parley/gateway/driver.h"
#include "parley/net/net.h"

namespace parley::gateway {

// The handler for the API server; `driver` must outlive it.
net::Handler make_api_handler(Driver& driver);

// A message as the API and `inbox --json` show it, rendered in `lang`.
json::Json message_view(const core::MessageRecord& message, const catalog::Catalog& catalog,
                        const std::string& lang);

}  // namespace parley::gateway
