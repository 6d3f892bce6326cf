// The answer to a peer's request for its copy of our logs (POST /federation/v1/log,
// docs/protocol.md "Forks and restores"), read from the store: what the gateway driver and
// the simulator both answer, so that both run the same rule (core::make_log_answer).
#pragma once

#include <string>

#include "parley/base/status.h"
#include "parley/core/log_recovery.h"
#include "parley/store/store.h"

namespace parley::store {

// The encoded core::LogAnswer to `request` (already parsed and checked to come from the pinned
// peer request.from, to us, request.to) from what `store` holds durably: only countersigned
// heads and stored entries, so a receipt not yet durable is never given out. At most
// core::kLogEntriesPerAnswer entries of each log. Errors: the store's (kUnavailable,
// kDataLoss): nothing was changed either way.
Result<std::string> answer_log_request(Store& store, const core::LogRequest& request);

}  // namespace parley::store
