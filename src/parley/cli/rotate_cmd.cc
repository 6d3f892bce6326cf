// parley rotate --home DIR
//
// Replaces this party's signing key, federation certificate and seal epoch (docs/protocol.md
// "Key rotation", docs/operations.md "Key rotation"): a new rotation in the home
// (gateway/home.h, "Our key rotations"), which the gateway, once started, appends to its log for
// every peer and sends. The gateway must be stopped (it holds the home's lock while it runs).
#include <iostream>
#include <memory>
#include <string>

#include <fmt/format.h>

#include "parley/base/bytes.h"
#include "parley/base/time.h"
#include "parley/cli/commands.h"
#include "parley/gateway/home.h"

namespace parley::cli {
namespace {

int run_rotate(const std::string& dir) {
  const Result<gateway::Home> home = gateway::open_home(dir);
  if (!home.is_ok()) return fail(home.status());
  // A running gateway signs with the keys it loaded: the rotation would not be in force, and
  // the gateway would not append it to its logs.
  const Result<gateway::HomeLock> lock = gateway::HomeLock::acquire(*home);
  if (!lock.is_ok()) {
    if (lock.status().code() == StatusCode::kFailedPrecondition) {
      return fail(
          Status::failed_precondition("stop the gateway first: " + lock.status().message()));
    }
    return fail(lock.status());
  }
  const Time now = std::chrono::floor<std::chrono::milliseconds>(std::chrono::system_clock::now());
  const Result<gateway::Rotated> rotated = gateway::rotate_home(*home, now);
  if (!rotated.is_ok()) return fail(rotated.status());
  std::cout << fmt::format(
                   "rotated the signing key of {} (rotation {}): new key {}, new TLS certificate "
                   "{}, seal epoch {}\n"
                   "the statement is {}; the replaced keys stay in the home (peers check with them "
                   "until they countersign it)\n"
                   "start the gateway: it sends the statement to every peer\n",
                   home->config.party, rotated->n, base64_encode(rotated->key.bytes),
                   rotated->tls_fingerprint, rotated->epoch, rotated->statement.string())
            << std::flush;
  return 0;
}

}  // namespace

void add_rotate_command(CLI::App& app, int& exit_code) {
  auto home = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand(
      "rotate",
      "Replace this party's signing key, federation TLS certificate and seal epoch with new "
      "ones: a rotation statement signed by the key in force, which the gateway appends to its "
      "log for every peer and sends at its next start (docs/operations.md \"Key rotation\"). "
      "The gateway must be stopped. The bundle keeps the first key: peers follow the chain.");
  cmd->add_option("--home", *home, "The party's home directory (made by parley init)")
      ->required()
      ->type_name("DIR");
  cmd->callback([home, &exit_code] { exit_code = run_rotate(*home); });
}

}  // namespace parley::cli
