// What the administration commands share (admin.cc, directory_cmd.cc): opening a home with
// its store, new tokens, the audit trail of directory changes, and telling a running gateway
// to reload what changed.
#pragma once

#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>

#include <CLI/CLI.hpp>

#include "parley/base/status.h"
#include "parley/base/time.h"
#include "parley/core/model.h"
#include "parley/gateway/home.h"
#include "parley/store/store.h"

namespace parley::cli {

struct OpenedHome {
  gateway::Home home;
  std::unique_ptr<store::Store> store;
};

// The home at `dir` and its store (errors as gateway::open_home and open_store give them).
Result<OpenedHome> open_home_and_store(const std::string& dir);

// A bearer token: 32 random bytes, base64url without padding (43 characters).
std::string new_token();

// A new token's lifetime unless --expires says otherwise.
inline constexpr std::string_view kTokenLifetime = "90d";
// --expires: "never" (no expiry) or a duration from now ("90d", "12h").
Result<std::optional<Time>> token_expiry(std::string_view text);
// Gives `principal` the token `token` (its SHA-256) valid until `expires`, not revoked.
void set_token(core::Principal& principal, const std::string& token, std::optional<Time> expires);

// Appends one row to the store's audit trail (Store::log_change), stamped now.
Status record_change(store::Store& store, const std::string& action, const std::string& detail);

// Asks the home's running gateway to reload its directory (POST /api/v1/admin/reload with the
// operator token) and prints to `out` what happened: reloaded, or not running (the change
// takes effect at its next start). 0, or 1 after printing why the running gateway refused it.
int tell_gateway(const gateway::Home& home, std::ostream& out);

// peer list|show|remove, under `peer` (peer_cmd.cc).
void add_peer_commands(CLI::App* peer, int& exit_code);
// principal list|show|remove|revoke|token, under `principal` (directory_cmd.cc).
void add_principal_commands(CLI::App* principal, int& exit_code);
// line show|list|remove, under `line`.
void add_line_view_commands(CLI::App* line, int& exit_code);
// roster set|show.
void add_roster_command(CLI::App& app, int& exit_code);

}  // namespace parley::cli
