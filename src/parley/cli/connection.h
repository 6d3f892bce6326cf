// How a principal's command names the gateway it acts through (DESIGN.md "Command line":
// `--home DIR --as P` with the operator's local credentials, or `--api URL --token T`), and
// how it prints a field of the gateway's answer for a human. Shared by the principal's
// commands (client.cc, meeting_cmd.cc).
#pragma once

#include <string>

#include <CLI/CLI.hpp>

#include "parley/base/json.h"

namespace parley::cli {

struct Connection {
  std::string home;
  std::string as;
  std::string api;
  std::string token;
  std::string api_pin;  // with an https `api`: the certificate's SHA-256 fingerprint
};

// Adds --home, --as, --api, --token and --api-pin to `cmd`, filling `c`.
void add_connection_options(CLI::App* cmd, Connection& c, bool as_required_with_home = true);

// One field for a human, escaped: message texts, rendered bodies and path errors come from
// the peer, and none of them may reach the terminal as a control sequence. "-" if absent.
std::string field(const json::Json& j, const char* key);

}  // namespace parley::cli
