// `parley gateway --home DIR`: the daemon, in the foreground.
#include <memory>

#include "parley/cli/commands.h"
#include "parley/gateway/daemon.h"

namespace parley::cli {

void add_gateway_command(CLI::App& app, int& exit_code) {
  auto home = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand(
      "gateway",
      "Run this party's gateway in the foreground (federation and API); SIGTERM stops it "
      "cleanly. Logs go to stderr. One gateway per home: a second one on the same home (or "
      "store) exits 1 naming the pid that holds DIR/gateway.lock.");
  cmd->add_option("--home", *home, "the home directory made by `parley init`")->required();
  cmd->callback([home, &exit_code] {
    const Status status = gateway::run_gateway(*home);
    exit_code = status.is_ok() ? 0 : fail(status);
  });
}

}  // namespace parley::cli
