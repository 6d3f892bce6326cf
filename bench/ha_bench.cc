// parley-bench-ha: how long a party with a standby gateway is dark when its active dies
// (issue 18).
//
// us-eucom runs two `parley gateway` instances on one PostgreSQL schema (a throwaway
// PostgreSQL 15 server started by scripts/pg_test_server), [store] lease = "2s"; ru-genstaff
// one gateway on SQLite, pinning both of us-eucom's federation addresses (tests/ha_bed.h). Each
// round SIGKILLs the active instance, at once has ru-genstaff submit one message to us-eucom,
// and times from the kill until that message is delivered (ru-genstaff holds us-eucom's
// receipt, signed by the new active after it took the lease, recovered and was found by ru's
// path monitor). The killed instance is then started again as the standby for the next round.
//
//   ha.takeover   the median over the rounds, in seconds (5 rounds; 3 with --quick).
//
// Every wait is bounded; the gateways are killed at the end, or on any failure.
#include <signal.h>

#include <algorithm>
#include <string>
#include <thread>
#include <vector>

#include "ha_bed.h"
#include "harness.h"

#include "parley/base/json.h"
#include "parley/store/postgres/pg_test_server.h"

namespace {

using namespace parley::bench;
namespace json = parley::json;
using parley::testing::HaBed;
using Party = parley::launch::Party;

constexpr const char* kLease = "2s";

// Polls ru-genstaff's view of message `id` until it is delivered; the time it was seen so.
Clock::time_point wait_delivered(HaBed& ha, const std::string& id) {
  const auto deadline = Clock::now() + std::chrono::seconds(60);
  while (Clock::now() < deadline) {
    parley::Result<json::Json> m = ha.call(ha.ru(), "GET", "/api/v1/messages/" + id);
    const Clock::time_point now = Clock::now();
    if (m.is_ok() && m->value("state", "") != "queued" && m->value("state", "") != "sent") {
      return now;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  die("message %s was not delivered within 60 s", id.c_str());
}

// One takeover: the seconds from the SIGKILL of the active until a message from the peer is
// delivered through the other instance; the killed one is back as the standby after.
double one_takeover(HaBed& ha, int round) {
  parley::Result<Party*> active = ha.wait_active(std::chrono::milliseconds(30'000));
  if (!active.is_ok()) die("%s", active.status().to_string().c_str());
  Party& victim = **active;
  Party& standby = &victim == &ha.a() ? ha.b() : ha.a();
  if (!ha.wait_standby(standby, std::chrono::milliseconds(30'000)).is_ok()) die("no standby");

  const Clock::time_point killed = Clock::now();
  ::kill(victim.pid, SIGKILL);
  const json::Json body = {{"line", "hotline"}, {"text", strf("after kill %d", round)}};
  parley::Result<json::Json> sent = ha.call(ha.ru(), "POST", "/api/v1/messages", json::dump(body));
  if (!sent.is_ok()) die("ru-genstaff refused a message: %s", sent.status().to_string().c_str());
  const Clock::time_point delivered = wait_delivered(ha, sent->value("id", ""));
  parley::launch::kill_hard(victim);  // reaps it

  if (!ha.spawn(victim).is_ok()) die("cannot start the killed instance again");
  if (!ha.wait_standby(victim, std::chrono::milliseconds(30'000)).is_ok()) {
    die("the killed instance did not come back as the standby");
  }
  return std::chrono::duration<double>(delivered - killed).count();
}

}  // namespace

int main(int argc, char** argv) {
  set_program("parley-bench-ha");
  const Options options =
      parse_options(argc, argv, "takeover time of a standby gateway after SIGKILL of the active");
  const int rounds = options.quick ? 3 : 5;
  parley::Result<std::string> url = parley::store::test::fresh_postgres_schema();
  if (!url.is_ok()) die("%s", url.status().to_string().c_str());
  parley::Result<std::unique_ptr<HaBed>> created = HaBed::create(options.parley, *url, kLease);
  if (!created.is_ok()) die("%s", created.status().to_string().c_str());
  HaBed& ha = **created;
  if (!ha.spawn(ha.a()).is_ok() || !ha.wait_active(std::chrono::milliseconds(30'000)).is_ok()) {
    die("the first instance did not become active");
  }
  if (!ha.spawn(ha.b()).is_ok()) die("cannot start the second instance");
  if (!ha.bed().start(ha.ru()).is_ok()) die("the peer did not start");

  std::vector<double> seconds;
  std::vector<std::string> lines;
  for (int round = 0; round < rounds; ++round) {
    progress(strf("ha.takeover: round %d of %d", round + 1, rounds));
    seconds.push_back(one_takeover(ha, round));
    lines.push_back(strf("%d %.3f", round + 1, seconds.back()));
  }
  write_lines(options.samples_dir, "ha_takeover", "ha_takeover: round, seconds", lines);
  std::sort(seconds.begin(), seconds.end());
  const double median = seconds[seconds.size() / 2];
  print_rows({{"ha.takeover", median, "s",
               strf("median of %d SIGKILLs of the active of two us-eucom gateways sharing one "
                    "PostgreSQL 15 (lease %s): from the kill until a message ru-genstaff "
                    "submitted right after it is receipted by the new active; min %.2f s, max "
                    "%.2f s",
                    rounds, kLease, seconds.front(), seconds.back()),
               ""}},
             options.json);
  return 0;
}
