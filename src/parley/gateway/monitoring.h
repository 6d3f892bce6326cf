// The API's monitoring views (docs/openapi.yaml, tag "monitoring"; docs/operations.md
// "Monitoring"): each peer with its paths, queues, refusals and catalog; the escalations
// running; GET /api/v1/status for a gateway-wide caller; /metrics as Prometheus text. Read-only
// views of a Driver, built on the gateway's one thread; api.cc decides who may see them.
#pragma once

#include <vector>

#include "parley/base/json.h"
#include "parley/core/model.h"
#include "parley/gateway/driver.h"
#include "parley/net/net.h"

namespace parley::gateway {

// docs/openapi.yaml LineTest: one line's automatic test (core/line_test.h).
json::Json line_test_json(const core::LineTestView& test);
// docs/openapi.yaml Peer, one per pinned peer.
json::Json peers_json(const Driver& driver);
// The escalations of the messages on `lines` (all of them if `lines` is null).
json::Json escalations_json(const Driver& driver, const std::vector<core::Line>* lines);
// GET /api/v1/status for the operator or a watch officer: every peer, the totals, the fork
// evidence, witnessing and the escalations. An error answer if the store cannot be read.
net::HttpResponse status_view(Driver& driver);
// GET /metrics: Prometheus text format 0.0.4.
net::HttpResponse metrics_view(const Driver& driver);

}  // namespace parley::gateway
