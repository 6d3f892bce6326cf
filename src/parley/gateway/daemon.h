// The gateway daemon (`parley gateway --home DIR`): opens the home, locks it (one gateway per
// home and per SQLite store: HomeLock), opens the store, recovers, serves the federation and
// the API until SIGTERM or SIGINT, then stops accepting and exits. On a PostgreSQL store shared
// by several instances of the party, it serves only while it holds the store's lease, and
// stands by otherwise (lease.h).
#pragma once

#include <filesystem>

#include "parley/base/status.h"

namespace parley::gateway {

// Runs in the foreground until a signal; returns OK after a clean stop. Structured log
// lines go to stderr. kFailedPrecondition, before binding or opening anything, if another
// gateway holds the home or the store.
Status run_gateway(const std::filesystem::path& home_dir);

}  // namespace parley::gateway
