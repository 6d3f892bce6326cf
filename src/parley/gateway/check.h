// check: what `parley check --home DIR` runs, the operator's self-test of a home before (or
// while) its gateway runs: the config parses, secrets are private, the TLS certificate is
// not about to expire, every pinned peer's bundle is sane, every path to every peer completes
// a pinned mutual-TLS handshake and answers a heartbeat, and each peer's clock agrees with
// ours (the heartbeat answer carries the peer's time: docs/protocol.md "Heartbeats and
// paths"). One result per check; a check that fails does not stop the others, so the
// operator sees everything wrong at once.
//
// Reads files, opens the store (as the admin commands do: the gateway may be running) and
// connects to the peers' federation addresses, each probe bounded by `probe_timeout`.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "parley/base/status.h"
#include "parley/base/time.h"
#include "parley/ledger/key_chain.h"
#include "parley/wire/wire.h"

namespace parley::gateway {

enum class CheckLevel { kOk, kWarn, kFail };
// "ok", "warn", "FAIL" (upper case: the line an operator must not miss).
std::string_view check_level_name(CheckLevel level);

struct CheckResult {
  std::string name;  // "config", "mode keys/sign.key", "peer ru-genstaff path 127.0.0.1:7001"
  CheckLevel level = CheckLevel::kOk;
  std::string detail;  // one line: what was found, and for a failure what to do
};

struct CheckOptions {
  std::chrono::milliseconds probe_timeout{5'000};  // per path: connect, handshake, answer
  Duration expiry_warn = std::chrono::days(30);    // a certificate expiring sooner: warn
  Duration skew_warn = std::chrono::seconds(2);    // |peer clock - ours| at least this: warn
  Duration skew_fail = std::chrono::seconds(30);   // ... at least this: fail
};

// Runs every check on the home at `dir`, in order: home and file modes, config, keys and
// certificate, store, then per pinned peer its bundle, each path and the clock. Checks that
// need what an earlier one could not read (no config: no store, no peers) are not run; the
// earlier failure says why. Never fails itself: every problem is a kFail result.
std::vector<CheckResult> check_home(const std::filesystem::path& dir, const CheckOptions& options);

// True if any result is kFail (`parley check` then exits 1).
bool any_failed(const std::vector<CheckResult>& results);

// The single checks that need no files or sockets (check_test.cc covers them).
// `api`: the API's certificate ("api tls certificate", renewed as docs/operations.md says)
// rather than the federation's ("tls certificate", renewed by parley rotate).
CheckResult check_certificate_dates(Time not_before, Time not_after, Time now, Duration warn_within,
                                    bool api = false);
CheckResult check_clock_skew(const std::string& peer, Duration skew, const CheckOptions& options);
// `own` is this party's bundle: a pinned bundle that is ours, or shares our keys or
// certificate, or lists an address twice, is refused.
CheckResult check_pinned_bundle(const wire::Bundle& peer, const wire::Bundle& own);
// The clock skew a peer's signed heartbeat answer `body` shows (its time minus the middle of
// our round trip, sent at `sent`, answered at `received`): it must answer our request whose
// payload was `request`, from `chain`'s party to `us`, signed by the peer's key in force
// (`chain`'s newest: after its rotations, the last one's new key; docs/protocol.md "Key
// rotation"). kInvalidArgument (malformed, another request, other parties) or kUnauthenticated
// (not signed by that key).
Result<Duration> heartbeat_skew(std::string_view body, std::string_view request, Time sent,
                                Time received, const ledger::KeyChain& chain, std::string_view us);
// A file mode: `mode` may not have any bit of `forbidden` (e.g. 077 for a secret).
CheckResult check_file_mode(std::string_view name, unsigned mode, unsigned forbidden,
                            std::string_view fix);

}  // namespace parley::gateway
