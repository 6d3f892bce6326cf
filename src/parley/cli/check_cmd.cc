// parley check --home DIR [--json] [--timeout DURATION]
//
// The operator's self-test of a home (gateway/check.h): one line per check, "ok", "warn" or
// "FAIL", its name and what was found; exit 1 if any check failed (warnings do not), with one
// line on stderr saying how many. With --json, one object: {"ok": bool, "checks": [{"check",
// "status", "detail"}]}. The gateway may be running (its peers are probed with this home's
// own TLS identity, as the gateway would).
#include <algorithm>
#include <cctype>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "parley/base/json.h"
#include "parley/base/text.h"
#include "parley/base/time.h"
#include "parley/cli/commands.h"
#include "parley/gateway/check.h"

namespace parley::cli {
namespace {

struct CheckArgs {
  std::string home;
  bool json = false;
  std::string timeout = "5s";
};

void print_text(const std::vector<gateway::CheckResult>& results) {
  std::size_t width = 0;
  for (const gateway::CheckResult& r : results) width = std::max(width, r.name.size());
  for (const gateway::CheckResult& r : results) {
    // Names and details may quote a peer's bundle or answer: never raw to a terminal.
    std::cout << fmt::format("{:<4}  {:<{}}  {}\n", gateway::check_level_name(r.level),
                             escape_for_terminal(r.name), width, escape_for_terminal(r.detail));
  }
  std::cout << std::flush;
}

void print_json(const std::vector<gateway::CheckResult>& results) {
  json::Json checks = json::Json::array();
  for (const gateway::CheckResult& r : results) {
    std::string status(gateway::check_level_name(r.level));
    std::transform(status.begin(), status.end(), status.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    checks.push_back({{"check", r.name}, {"status", status}, {"detail", r.detail}});
  }
  const json::Json out = {{"ok", !gateway::any_failed(results)}, {"checks", checks}};
  std::cout << json::dump(out) << "\n" << std::flush;
}

int run_check(const CheckArgs& args) {
  gateway::CheckOptions options;
  const Result<Duration> timeout = parse_duration(args.timeout);
  if (!timeout.is_ok()) return fail(timeout.status().with_context("bad --timeout"));
  options.probe_timeout = *timeout;
  const std::vector<gateway::CheckResult> results = gateway::check_home(args.home, options);
  if (args.json) {
    print_json(results);
  } else {
    print_text(results);
  }
  const auto failed = std::count_if(results.begin(), results.end(), [](const auto& r) {
    return r.level == gateway::CheckLevel::kFail;
  });
  if (failed == 0) return 0;
  return fail(Status::failed_precondition(
      fmt::format("check: {} of {} checks failed", failed, results.size())));
}

}  // namespace

void add_check_command(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<CheckArgs>();
  CLI::App* cmd = app.add_subcommand(
      "check",
      "Check a home: config, file modes, TLS certificate expiry, pinned peers' bundles, every "
      "path to every peer (a pinned TLS handshake and a heartbeat) and each peer's clock. One "
      "line per check; exits 1 if any failed (warnings do not fail).");
  cmd->add_option("--home", args->home, "the home directory made by `parley init`")->required();
  cmd->add_flag("--json", args->json, "print one JSON object instead of lines");
  cmd->add_option("--timeout", args->timeout,
                  "how long each path may take to connect and answer (default 5s)");
  cmd->callback([args, &exit_code] { exit_code = run_check(*args); });
}

}  // namespace parley::cli
