// config: parley.toml, the gateway's config file (home.h lists the whole home directory).
//
//   [party]
//   id = "us-eucom"
//   lang = "en"
//   timezone = "Europe/Brussels"    # the duty roster's clocks: an IANA zone, "UTC" (the
//                                   # default) or a fixed offset "UTC+01:00"
//   [federation]
//   listen = ["127.0.0.1:7001"]     # where this instance listens
//   advertise = ["a:7001", "b:7001"]  # the bundle's addresses; default: listen (a standby
//                                   # pair lists both instances: docs/operations.md); needed
//                                   # when listen holds 0.0.0.0 or [::]
//   heartbeat = "200ms"             # heartbeat interval on every path to every peer
//   window = 4                      # transactions in flight to a peer at once (1 to 64)
//   test_interval = "1h"            # each line's automatic test message; "0": none
//   test_answer_within = "1m"       # the peer gateway's answer is due within this
//   verify_threads = 2              # threads checking peers' signatures (0: none; absent:
//                                   # one per core)
//   backlog_limit = 10000           # ROUTINE submissions refused (503) while this many
//                                   # messages are queued for the peer; 0: no bound
//   [api]
//   listen = "127.0.0.1:7080"       # plain HTTP only on loopback; anywhere else tls = true
//   tls = true                      # HTTPS (TLS 1.3) with the certificate and key below
//   cert = "tls/api-cert.pem"       # relative to DIR, or absolute; `parley init` makes these
//   key = "tls/api-key.pem"         # (self-signed); or the operator's own (PEM)
//   principal_rate = 10             # requests per second per principal (token bucket) ...
//   principal_burst = 20            # ... of this many; beyond: 429 with Retry-After
//   [store]
//   path = "parley.db"             # relative to DIR; or, exclusive with path:
//   url = "postgresql://..."       # a PostgreSQL store (docs/operations.md)
//   lease = "10s"                  # PostgreSQL: the active gateway's lease (standby pairs)
//   encrypt = true                 # SQLite: the file encrypted (SQLCipher); the default, and
//                                  # without a key the gateway refuses to start; false: plaintext
//   key_file = "/etc/parley/store.key"  # SQLite: the store key (64 hex digits), absolute,
//                                  # outside the home and the store's directory, mode 0600 or
//                                  # 0400; a systemd credential parley-store-key comes first
//   [log]
//   level = "info"                 # trace, debug, info, warn, error
//   [escalation]                   # an overdue message's re-alert cadence, per precedence
//   flash = "1m"                   # (core/escalation.h; 1s to 24h): the next person in
//   immediate = "5m"               # the chain is alerted after this long, then everyone
//   priority = "30m"               # again at this cadence until someone acknowledges
//   routine = "1h"
//
// The file is outside input (an operator edits it), so it has its own small library with
// no sockets or store behind it: fuzz/config_fuzz.cc feeds it arbitrary text. toml++ stays
// in config.cc (the adapter that catches its exceptions).
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "parley/base/status.h"
#include "parley/base/time.h"

namespace parley::gateway {

struct Config {
  std::string party;
  std::string lang = "en";
  // The party's time zone for the duty roster (core/zone.h): "UTC", "UTC+HH:MM"/"UTC-HH:MM",
  // or an IANA name the gateway looks up in the system's tzdata (gateway/zone_file.h).
  std::string timezone = "UTC";
  int timezone_line = 0;  // where parley.toml sets it, for errors about the zone; 0: default
  std::vector<std::string> federation_listen;  // HOST:PORT, primary first
  // The addresses the bundle publishes, primary first; empty: federation_listen (which then
  // holds no wildcard address: check_published_addresses). Instances of
  // one party sharing a PostgreSQL store each listen on their own and advertise them all.
  std::vector<std::string> federation_advertise;
  // Heartbeats on every federation path (docs/protocol.md "Heartbeats and paths"); a path
  // that misses 3 in a row is down, the one carrying traffic after 2 while another is up:
  // at 200ms a cut primary is left within a second (issue 15; it was 1s, and 4.1 s). 100ms
  // to 10m.
  Duration heartbeat_interval = std::chrono::milliseconds(200);
  // Transactions in flight to each peer at once (core::SessionConfig::window).
  int window = 4;
  // The automatic test message on every line (core/line_test.h; docs/protocol.md "The line
  // test"): one every `test_interval` (1s to 7d; zero, written "0": none), hourly by
  // default as the Moscow-Washington link tested its circuits, answered by the peer's gateway
  // within `test_answer_within` (1s to 1d) or it is overdue and alerts.
  Duration test_interval = std::chrono::hours(1);
  Duration test_answer_within = std::chrono::minutes(1);
  // Backpressure (core::NodeConfig::backlog_limit): while this many outbound messages are
  // queued for one peer, new ROUTINE submissions to it get 503 with Retry-After; FLASH,
  // IMMEDIATE and PRIORITY are always accepted. 0 to 10,000,000; 0: no bound.
  std::size_t backlog_limit = 10000;
  // The threads that check peers' signatures and seals ahead of the gateway's own thread
  // (gateway/verify_pool.h; core/precheck.h): 1 to 64; 0: none, every check made on the
  // gateway's thread; -1 (the key absent): one per core. Read at start.
  int verify_threads = -1;
  std::string api_listen = "127.0.0.1:7080";
  // The API over TLS 1.3 (docs/operations.md "TLS on the API"): required when api_listen is
  // not a loopback address, allowed on loopback. The certificate and key (PEM) are paths
  // relative to the home, or absolute.
  bool api_tls = false;
  std::string api_cert = "tls/api-cert.pem";
  std::string api_key = "tls/api-key.pem";
  // The API's rate limit per principal (the operator token is not limited): a token bucket
  // refilled at `principal_rate` per second, holding at most `principal_burst`.
  double principal_rate = 10;
  int principal_burst = 20;
  std::string store_path = "parley.db";  // relative to the home, or absolute
  std::string store_url;                 // a PostgreSQL URL; empty: SQLite at store_path
  // How long the active gateway's lease on a PostgreSQL store lasts unrenewed (renewed every
  // third of it); a standby takes over once it expired. 1s to 10m. Unused with SQLite.
  Duration lease = std::chrono::seconds(10);
  // [store] encrypt: the SQLite store encrypted at rest with SQLCipher (docs/operations.md
  // "The store at rest"). On unless the file says `encrypt = false`. Unused with PostgreSQL.
  bool store_encrypt = true;
  // [store] key_file: the file holding the store key; empty: only the systemd credential
  // parley-store-key ($CREDENTIALS_DIRECTORY) can give it. Absolute (home.h checks where it
  // is and its mode when the store is opened).
  std::string store_key_file;
  int store_key_file_line = 0;  // where parley.toml sets them, for errors; 0: not set
  int store_line = 0;           // the [store] table's line; 0: no such table
  std::string log_level = "info";
  // [escalation]: each precedence's step of a running escalation (core::Cadences, whose
  // defaults these are).
  struct Realert {
    Duration flash = std::chrono::minutes(1);
    Duration immediate = std::chrono::minutes(5);
    Duration priority = std::chrono::minutes(30);
    Duration routine = std::chrono::hours(1);
    bool operator==(const Realert&) const = default;
  };
  Realert realert;
};

// Parses and validates parley.toml text; `file` names it in errors. A bad config is refused
// with "<file>:<line>: <reason>" (kInvalidArgument); an unknown key is an error.
Result<Config> parse_config(std::string_view toml_text, const std::string& file);

// Live reconfiguration (SIGHUP, POST /api/v1/admin/reload): of the keys that differ between
// the running config and a freshly read one, those that take effect only at the next start
// (the listeners, the store, identity, heartbeats, line tests, escalation cadences), as
// "table.key" in the file's order. party.timezone, api.principal_rate, api.principal_burst,
// federation.backlog_limit and log.level are applied at once.
std::vector<std::string> keys_needing_restart(const Config& running, const Config& fresh);

// `config` as parley.toml text, every key written, no comments: parse_config reads it back
// to an equal Config (the fuzz target checks that round trip).
std::string encode_config(const Config& config);

// A TOML basic string: quotes, backslashes and control characters escaped.
std::string toml_quote(std::string_view s);

// kInvalidArgument unless `name` may name a time zone: "UTC", "UTC+HH:MM", "UTC-HH:MM", or
// an IANA name (letters, digits, '_', '-', '+', '/'; no "..", not absolute; 1-64 chars).
Status check_timezone_name(std::string_view name);

// Whether `host` (as wire::parse_host_port gives it) names only this machine: "localhost", an
// IPv4 address in 127.0.0.0/8, or ::1. A wildcard (0.0.0.0, ::) or any other name is not.
bool is_loopback_host(std::string_view host);

// Whether `host` (as wire::parse_host_port gives it) is a wildcard address: 0.0.0.0, or an
// IPv6 address of zeros only (::, ::0, 0:0:0:0:0:0:0:0). One can be listened on, but no peer
// can reach it: a bundle must never publish it.
bool is_wildcard_host(std::string_view host);

// Where peers reach this gateway: the advertised addresses, else the listened ones. OK unless
// that would publish a wildcard address (kInvalidArgument, saying to set advertise): listening
// on 0.0.0.0 or [::] needs federation.advertise (parley init --advertise), and no advertised
// address may be a wildcard. Addresses that do not parse are not judged here.
Status check_published_addresses(const std::vector<std::string>& listen,
                                 const std::vector<std::string>& advertise);

// kInvalidArgument unless `lang` is 2-8 characters of a-z and '-' ("en", "ru").
Status check_lang(std::string_view lang);

}  // namespace parley::gateway
