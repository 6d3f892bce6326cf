// Two gateways on loopback: the one launcher that `parley demo`, the real-process tests
// (tests/testbed.h) and the benchmarks (bench/harness.h) share. It makes two homes, pins
// each party's bundle at the other, gives each a principal with a fresh API token and the
// line "hotline" between them, picks free loopback ports, and runs, waits for and stops
// real `parley gateway` processes.
//
// Not a pure layer: it forks, execs, writes files and reads the clock. Not thread-safe: a
// Party is driven by one thread at a time.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <sys/types.h>

#include "parley/base/status.h"
#include "parley/store/store.h"
#include "parley/wire/wire.h"

namespace parley::launch {

using Clock = std::chrono::steady_clock;

// One party of the pair, with what a caller needs to reach and control its gateway.
struct Party {
  std::string id;         // the party id, e.g. "us-eucom"
  std::string principal;  // its one principal, e.g. "saceur"
  std::string lang;       // the party's configured language
  std::filesystem::path home;
  std::filesystem::path log;                    // the gateway's stderr, appended at each start
  std::uint16_t federation_port = 0;            // the primary: federation_ports[0]
  std::vector<std::uint16_t> federation_ports;  // every federation.listen port, primary first
  std::uint16_t api_port = 0;                   // on 127.0.0.1
  std::string token;                            // the principal's API token
  std::string operator_token;                   // the home's (gateway-wide views)
  pid_t pid = -1;                               // the running gateway, or -1
  Clock::time_point spawned{};                  // when the last spawn() forked
};

// Who a party is, before its home exists.
struct PartySpec {
  std::string id;
  std::string principal;
  std::string lang = "en";
  int federation_addresses = 1;  // federation.listen addresses on 127.0.0.1 (at least 1)
  std::string store_url;         // a PostgreSQL database for its store; empty: SQLite
};

struct PairOptions {
  PartySpec first{"us-eucom", "saceur", "en", 1, ""};
  PartySpec second{"ru-genstaff", "cgs", "en", 1, ""};
  std::string heartbeat;  // [federation] heartbeat in both configs; empty: the default
  // [api] principal_rate and principal_burst in both configs: the launched principals are
  // load generators (the benchmarks, the crash and failover tests send thousands of
  // messages a second with one token), not people; the default of `parley init` (10 a
  // second) would refuse them with 429.
  int principal_rate = 100000;
  int principal_burst = 100000;
  // [federation] backlog_limit in both configs: 0 (no bound) for the same reason; a
  // benchmark's flood must not be cut short by 503s unless it asks for the bound.
  std::size_t backlog_limit = 0;
  // Called before `self` pins `peer`: may rewrite the pinned copy of the peer's bundle (e.g.
  // its federation addresses, to reach the peer through a proxy).
  std::function<void(const Party& self, wire::Bundle& peer)> edit_pinned_bundle;
  std::filesystem::path log_dir;  // where PARTY.log goes; empty: the pair's directory
  // A SQLite store encrypted at rest (parley init's default), its key DIR/PARTY.store-key;
  // false: plaintext (parley init --no-encrypt). The benchmarks measure both.
  bool encrypt_store = true;
};

// Makes the two homes in `dir` (DIR/PARTY; `dir` is created if missing) and configures them
// as the header says. The homes are left for the caller to remove. Errors: any of
// init_home's, or a store write's; kInvalidArgument for a party spec init_home refuses.
Result<std::pair<Party, Party>> create_pair(const std::filesystem::path& dir,
                                            const PairOptions& options);

struct SpawnOptions {
  std::string parley_binary;  // the executable run as `parley gateway --home HOME`
  // The gateway gets SIGKILL when the thread that spawned it ends (PR_SET_PDEATHSIG), so a
  // crashed caller leaves none behind. Only for callers that spawn from a thread that lives
  // as long as the gateway should (a benchmark's main thread).
  bool kill_with_parent = false;
};

// Forks and execs the gateway of `party` (stdin and stdout /dev/null, stderr appended to
// party.log); sets party.pid and party.spawned. kUnavailable if fork fails; a failed exec
// shows as the process exiting with 127.
Status spawn(Party& party, const SpawnOptions& options);

// Polls GET /readyz on the party's API every `poll` until it answers 200; returns when it
// did. kUnavailable naming the log if the gateway exited first (it is reaped, pid -1) or
// `deadline` passed.
Result<Clock::time_point> wait_ready(Party& party, Clock::time_point deadline,
                                     Clock::duration poll = std::chrono::milliseconds(50));

// spawn() then wait_ready() within `limit`.
Status start(Party& party, const SpawnOptions& options,
             Clock::duration limit = std::chrono::seconds(30));

// SIGKILL and reap. Nothing if the party has no gateway running.
void kill_hard(Party& party);

// SIGTERM (the gateway drains and exits), reaped; SIGKILL if it is still running after
// `grace`. Nothing if the party has no gateway running.
void stop(Party& party, Clock::duration grace = std::chrono::seconds(5));

// Opens the party's store as its gateway does (gateway::open_store: with the store key its
// config names; create_pair encrypts by default). The gateway must not be running.
Result<std::unique_ptr<store::Store>> open_store(const Party& party);

}  // namespace parley::launch
