// parley-sim: runs the deterministic simulation (sim/sim.h) for one seed or many.
//
//   parley-sim --seed=N [--seeds=COUNT] [--verbose]
//
// Prints one line per failing seed, "seed N: <invariant>: <detail>", followed by
// "reproduce: parley-sim --seed=N", and a summary; exits 1 if any seed failed, 2 on a usage
// error. --verbose prints every event of every run (meant for one seed) and every violation.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <string_view>

#include "parley/sim/sim.h"

namespace {

bool parse_u64(std::string_view text, std::uint64_t& out) {
  if (text.empty() || text.size() > 20) return false;
  std::uint64_t v = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    const std::uint64_t next = v * 10 + static_cast<std::uint64_t>(c - '0');
    if (next / 10 != v) return false;  // overflow
    v = next;
  }
  out = v;
  return true;
}

int usage(const std::string& why) {
  std::fprintf(stderr,
               "parley-sim: %s\nusage: parley-sim [--seed=N] [--seeds=COUNT] [--scenario=NAME] "
               "[--verbose]\n",
               why.c_str());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::uint64_t first = std::random_device()();
  std::uint64_t count = 1;
  bool verbose = false;
  std::string scenario_name = "standard";
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg.rfind("--seed=", 0) == 0) {
      if (!parse_u64(arg.substr(7), first)) return usage("--seed wants a number");
    } else if (arg.rfind("--seeds=", 0) == 0) {
      if (!parse_u64(arg.substr(8), count) || count == 0) {
        return usage("--seeds wants a positive number");
      }
    } else if (arg.rfind("--scenario=", 0) == 0) {
      scenario_name = std::string(arg.substr(11));
      if (!parley::sim::Scenario::named(scenario_name)) {
        return usage("unknown scenario '" + scenario_name +
                     "' (standard, calm, clock-jumps, three-party, refusals, reference, "
                     "line-tests, flood, many-parties, rotations)");
      }
    } else if (arg == "--verbose" || arg == "-v") {
      verbose = true;
    } else if (arg == "--help" || arg == "-h") {
      std::printf(
          "parley-sim: deterministic simulation of parley gateways under faults\n"
          "usage: parley-sim [--seed=N] [--seeds=COUNT] [--scenario=NAME] [--verbose]\n"
          "  --seed=N        the first seed (random if not given)\n"
          "  --seeds=COUNT   how many consecutive seeds to run (default 1)\n"
          "  --scenario=NAME standard (default), calm, clock-jumps, three-party, refusals,\n"
          "                  reference, line-tests, flood, many-parties (57 parties),\n"
          "                  rotations (key rotations in every seed)\n"
          "  --verbose       print every event and every violation\n");
      return 0;
    } else {
      return usage("unknown argument '" + std::string(arg) + "'");
    }
  }

  parley::sim::report_seed_on_abort();
  parley::sim::Scenario scenario = *parley::sim::Scenario::named(scenario_name);
  parley::sim::Options options;
  if (verbose) options.trace = [](const std::string& line) { std::printf("%s\n", line.c_str()); };

  std::uint64_t failures = 0;
  std::uint64_t accepted = 0;
  std::uint64_t crashes = 0;
  std::uint64_t steps = 0;
  std::uint64_t meeting_steps = 0;
  std::uint64_t meetings = 0;
  const auto began = std::chrono::steady_clock::now();
  for (std::uint64_t k = 0; k < count; ++k) {
    const std::uint64_t seed = first + k;
    const parley::sim::Outcome outcome = parley::sim::run(scenario, seed, options);
    accepted += outcome.stats.accepted;
    crashes += outcome.stats.crashes;
    steps += outcome.stats.steps;
    meeting_steps += outcome.stats.meeting_steps;
    meetings += outcome.stats.meetings;
    if (verbose) {
      const auto& s = outcome.stats;
      std::printf(
          "seed %llu: %d parties, %llu submitted, %llu accepted (%llu acks), %llu received, "
          "%llu transactions, %llu persists, %llu crashes, %llu dropped, %llu duplicated, "
          "%llu partitions, %llu clock jumps, %llu overdue, %llu escalation alerts, %llu evidence, "
          "%llu shown, %llu broadcasts (%llu messages), %llu key rotations (%llu pinned), "
          "%lld s simulated\n",
          static_cast<unsigned long long>(seed), outcome.parties,
          static_cast<unsigned long long>(s.submitted), static_cast<unsigned long long>(s.accepted),
          static_cast<unsigned long long>(s.acks_accepted),
          static_cast<unsigned long long>(s.received),
          static_cast<unsigned long long>(s.transactions),
          static_cast<unsigned long long>(s.persists), static_cast<unsigned long long>(s.crashes),
          static_cast<unsigned long long>(s.dropped), static_cast<unsigned long long>(s.duplicated),
          static_cast<unsigned long long>(s.partitions),
          static_cast<unsigned long long>(s.clock_jumps),
          static_cast<unsigned long long>(s.overdue),
          static_cast<unsigned long long>(s.escalation_alerts),
          static_cast<unsigned long long>(s.evidence), static_cast<unsigned long long>(s.shown),
          static_cast<unsigned long long>(s.broadcasts),
          static_cast<unsigned long long>(s.broadcast_messages),
          static_cast<unsigned long long>(s.rotations),
          static_cast<unsigned long long>(s.rotations_pinned),
          static_cast<long long>(s.simulated.count() / 1000));
      for (const std::string& v : outcome.violations) {
        std::printf("  violation: %s\n", v.c_str());
      }
    }
    if (!outcome.ok()) {
      ++failures;
      std::printf("seed %llu: %s\nreproduce: %s\n", static_cast<unsigned long long>(seed),
                  outcome.violation().c_str(),
                  parley::sim::reproduce_command(seed, scenario).c_str());
      std::fflush(stdout);
    }
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
  std::printf(
      "%llu seeds from %llu: %llu failed; %llu messages and acks accepted, %llu crashes, "
      "%llu events; %llu meeting steps, %llu meetings alike on both sides; %.1f seeds/s\n",
      static_cast<unsigned long long>(count), static_cast<unsigned long long>(first),
      static_cast<unsigned long long>(failures), static_cast<unsigned long long>(accepted),
      static_cast<unsigned long long>(crashes), static_cast<unsigned long long>(steps),
      static_cast<unsigned long long>(meeting_steps), static_cast<unsigned long long>(meetings),
      seconds > 0 ? static_cast<double>(count) / seconds : 0.0);
  return failures == 0 ? 0 : 1;
}
