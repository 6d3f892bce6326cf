// parley-bench-gateway: parley's own latency and throughput, with real gateways (issue 6).
//
// Two `parley gateway` processes (this build's binary) on loopback, homes in a scratch
// directory on the build tree's filesystem, set up as `parley demo` does. A client on the
// sender's API (one keep-alive HTTP/1.1 connection per sender thread) submits messages, and a
// reader of the sender's event stream (GET /api/v1/events, the operator token) timestamps
// each "delivered" event: the moment the sender's gateway holds the peer's verified receipt,
// durably recorded. Nothing polls.
//
//   flash.idle.*    one FLASH message at a time, nothing else on the line: from the POST
//                   until its delivered event.
//   flash.flood.*   the same while 4 threads submit ROUTINE messages as fast as they are
//                   accepted.
//   receipted.throughput.K   1 KiB ROUTINE messages from K concurrent senders, each on its
//                   own connection: delivered (receipted) messages per second.
//   receipted.throughput.16.pg   the same with 16 senders, both gateways' stores in
//                   PostgreSQL (a throwaway PostgreSQL 15 server on a Unix socket, started
//                   by scripts/pg_test_server; each gateway a schema of its own).
//
// Every phase is bounded in count and in time; the gateways are killed at the end, or on
// any failure. See README.md.
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "harness.h"

#include "parley/base/json.h"
#include "parley/store/postgres/pg_test_server.h"

namespace {

using namespace parley::bench;
namespace fs = std::filesystem;
namespace json = parley::json;

constexpr std::size_t kTextBytes = 1024;
constexpr int kFloodSenders = 4;
constexpr auto kDeliveryTimeout = std::chrono::seconds(30);
constexpr auto kDrainTimeout = std::chrono::seconds(60);

std::string message_body(const char* precedence) {
  std::string text;
  text.reserve(kTextBytes);
  const std::string_view words = "Line check from the sender; please acknowledge. ";
  while (text.size() < kTextBytes) text += words;
  text.resize(kTextBytes);
  json::Json body = {
      {"line", "hotline"}, {"precedence", precedence}, {"type", "text"}, {"text", text}};
  return json::dump(body);
}

// POSTs one message; its id, or die().
std::string submit(HttpClient& client, const std::string& body) {
  const std::optional<Response> r = client.request("POST", "/api/v1/messages", body);
  if (!r) die("POST /api/v1/messages: %s", client.error().c_str());
  if (r->status != 201) die("POST /api/v1/messages: %d %s", r->status, r->body.c_str());
  parley::Result<json::Json> answer = json::parse_object(r->body);
  if (!answer.is_ok()) die("POST /api/v1/messages: %s", answer.status().to_string().c_str());
  parley::Result<std::string> id = json::get_string(*answer, "id");
  if (!id.is_ok()) die("POST /api/v1/messages: %s", id.status().to_string().c_str());
  return *id;
}

struct Latency {
  std::vector<double> samples_us;  // submit -> delivered, in the order measured
  std::vector<double> accept_us;   // submit -> 201 (durably accepted)
  bool hit_time_limit = false;
  double seconds = 0;

  double at(double p) const {
    std::vector<double> sorted = samples_us;
    std::sort(sorted.begin(), sorted.end());
    return percentile(sorted, p);
  }
  double accept_at(double p) const {
    std::vector<double> sorted = accept_us;
    std::sort(sorted.begin(), sorted.end());
    return percentile(sorted, p);
  }
  std::string count_note() const {
    return strf("n=%zu%s", samples_us.size(), hit_time_limit ? " (time limit)" : "");
  }
};

// Sends `warmup` unmeasured FLASH messages, then up to `n` measured ones or until `limit`,
// one at a time.
Latency measure_flash(HttpClient& client, DeliveredEvents& events, int warmup, int n,
                      Clock::duration limit) {
  const std::string body = message_body("FLASH");
  Latency out;
  out.samples_us.reserve(static_cast<std::size_t>(n));
  Clock::time_point start{};
  for (int i = 0; i < warmup + n; ++i) {
    if (i == warmup) start = Clock::now();
    const Clock::time_point t0 = Clock::now();
    const std::string id = submit(client, body);
    const Clock::time_point accepted = Clock::now();
    const std::optional<Clock::time_point> t1 = events.take(id, t0 + kDeliveryTimeout);
    if (!t1) {
      die("FLASH message %s was not reported delivered within %lld s", id.c_str(),
          static_cast<long long>(kDeliveryTimeout.count()));
    }
    if (i < warmup) continue;
    out.samples_us.push_back(micros(*t1 - t0));
    out.accept_us.push_back(micros(accepted - t0));
    if (Clock::now() - start >= limit && i + 1 < warmup + n) {
      out.hit_time_limit = true;
      break;
    }
  }
  out.seconds = micros(Clock::now() - start) / 1e6;
  return out;
}

// Waits (bounded) until the sender's gateway has nothing left unreceipted; how many
// messages are still unreceipted when it stops waiting (0: drained).
std::uint64_t drain(const Party& sender) {
  HttpClient client(sender.api_port, operator_auth_headers(sender));
  const Clock::time_point deadline = Clock::now() + kDrainTimeout;
  for (;;) {
    const std::optional<Response> r = client.request("GET", "/api/v1/status");
    if (!r || r->status != 200) die("GET /api/v1/status failed: %s", client.error().c_str());
    parley::Result<json::Json> status = json::parse_object(r->body);
    if (!status.is_ok()) die("GET /api/v1/status: %s", status.status().to_string().c_str());
    parley::Result<std::uint64_t> queued = json::get_uint(*status, "queued");
    if (!queued.is_ok()) die("GET /api/v1/status: %s", queued.status().to_string().c_str());
    if (*queued == 0) return 0;
    if (Clock::now() > deadline) {
      // Reported as a figure (a gateway that cannot drain its backlog is a finding), not a
      // reason to lose the run's other figures.
      progress(strf("%llu messages still unreceipted %lld s after the senders stopped",
                    static_cast<unsigned long long>(*queued),
                    static_cast<long long>(kDrainTimeout.count())));
      return *queued;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

// The gateway's durable store transactions so far: its group commits and its writes of events
// alone (parley_store_commits_total + parley_store_event_commits_total in /metrics).
double store_commits(const Party& party) {
  HttpClient client(party.api_port, operator_auth_headers(party));
  const std::optional<Response> r = client.request("GET", "/metrics");
  if (!r || r->status != 200) die("GET /metrics failed: %s", client.error().c_str());
  double sum = 0;
  for (const char* series : {"parley_store_commits_total", "parley_store_event_commits_total"}) {
    const std::string name = std::string("\n") + series + " ";
    const std::size_t at = r->body.find(name);
    if (at == std::string::npos) die("GET /metrics: no %s", series);
    sum += std::strtod(r->body.c_str() + at + name.size(), nullptr);
  }
  return sum;
}

struct Pair {
  fs::path dir;
  Party sender;
  Party receiver;
};

Pair start_pair(const fs::path& scratch, const std::string& name, const std::string& parley,
                const parley::launch::PairOptions& options = {}) {
  Pair pair;
  pair.dir = scratch / name;
  fs::create_directories(pair.dir);
  init_pair(pair.dir, pair.sender, pair.receiver, options);
  spawn_gateway(pair.receiver, parley);
  spawn_gateway(pair.sender, parley);
  wait_ready(pair.receiver, std::chrono::seconds(20));
  wait_ready(pair.sender, std::chrono::seconds(20));
  return pair;
}

void stop_pair(Pair& pair) {
  stop_gateway(pair.sender);
  stop_gateway(pair.receiver);
}

struct Throughput {
  std::size_t submitted = 0;
  std::size_t delivered = 0;
  double seconds = 0;
  bool hit_time_limit = false;
  double per_second() const { return seconds > 0 ? static_cast<double>(delivered) / seconds : 0; }
};

// `senders` threads submit up to `total` ROUTINE messages of 1 KiB in all, or until `limit`;
// then waits (bounded) for every one to be receipted.
Throughput measure_throughput(const Pair& pair, DeliveredEvents& events, int senders,
                              std::size_t total, Clock::duration limit) {
  const std::string body = message_body("ROUTINE");
  std::atomic<std::size_t> tickets{0};
  std::atomic<std::size_t> submitted{0};
  std::atomic<bool> time_up{false};
  const std::size_t before = events.count();
  const Clock::time_point start = Clock::now();
  const Clock::time_point stop_at = start + limit;
  std::vector<std::thread> threads;
  for (int t = 0; t < senders; ++t) {
    threads.emplace_back([&] {
      HttpClient client(pair.sender.api_port, auth_headers(pair.sender));
      while (tickets.fetch_add(1) < total) {
        if (Clock::now() >= stop_at) {
          time_up = true;
          return;
        }
        submit(client, body);
        ++submitted;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  Throughput out;
  out.submitted = submitted.load();
  out.hit_time_limit = time_up.load();
  const std::size_t got =
      events.wait_count(before + out.submitted, Clock::now() + kDrainTimeout) - before;
  if (got < out.submitted) {
    die("%zu of %zu messages were not reported delivered within %lld s", out.submitted - got,
        out.submitted, static_cast<long long>(kDrainTimeout.count()));
  }
  out.delivered = got;
  out.seconds = micros(events.last() - start) / 1e6;
  return out;
}

std::vector<std::string> format_samples(const std::vector<double>& us) {
  std::vector<std::string> lines;
  lines.reserve(us.size());
  for (const double v : us) lines.push_back(strf("%.3f", v));
  return lines;
}

}  // namespace

int main(int argc, char** argv) {
  set_program("parley-bench-gateway");
  const Options options = parse_options(
      argc, argv, "FLASH latency (idle, under a ROUTINE flood) and receipted throughput");
  const bool quick = options.quick;
  const fs::path scratch = make_scratch(options.dir, "gateway");
  std::vector<Row> rows;

  // ---- FLASH latency, idle then under a flood, on one pair ----
  Pair pair = start_pair(scratch, "latency", options.parley);
  {
    DeliveredEvents events(pair.sender.api_port, pair.sender.operator_token);
    HttpClient client(pair.sender.api_port, auth_headers(pair.sender));
    const int n = quick ? 500 : 5000;
    const Clock::duration limit = quick ? std::chrono::seconds(30) : std::chrono::seconds(150);

    progress(strf("flash.idle: %d FLASH messages of %zu bytes, one at a time", n, kTextBytes));
    const double commits_before[2] = {store_commits(pair.sender), store_commits(pair.receiver)};
    const std::optional<double> cpu_before[2] = {cpu_seconds(pair.sender.pid),
                                                 cpu_seconds(pair.receiver.pid)};
    const Latency idle = measure_flash(client, events, 20, n, limit);
    const std::optional<double> cpu_after[2] = {cpu_seconds(pair.sender.pid),
                                                cpu_seconds(pair.receiver.pid)};
    // Heartbeats commit nothing, so what the two gateways committed meanwhile is the messages'.
    const double measured = static_cast<double>(idle.samples_us.size() + 20);
    const double commits[2] = {(store_commits(pair.sender) - commits_before[0]) / measured,
                               (store_commits(pair.receiver) - commits_before[1]) / measured};
    write_lines(options.samples_dir, "flash_idle",
                "flash_idle: one FLASH message at a time, POST until its delivered event; "
                "microseconds, in the order measured",
                format_samples(idle.samples_us));
    const std::string idle_note = strf(
        "POST /api/v1/messages until the sender's delivered event; sequential, %zu-byte "
        "text, nothing else on the line; accepted (201) p50 %s µs; %s",
        kTextBytes, human(idle.accept_at(0.5)).c_str(), idle.count_note().c_str());
    rows.push_back({"flash.idle.p50", idle.at(0.50), "µs", idle_note, "floor.receipted_latency"});
    rows.push_back({"flash.idle.p99", idle.at(0.99), "µs", idle_note, "floor.receipted_latency"});
    rows.push_back({"flash.idle.p999", idle.at(0.999), "µs", idle_note, "floor.receipted_latency"});
    const std::string commits_note = strf(
        "durable store transactions (group commits and writes of events alone, /metrics) per "
        "FLASH message of "
        "flash.idle, warm-up included (%.0f messages); the floor counts 2 on the sender and "
        "1 on the receiver",
        measured);
    rows.push_back({"flash.idle.commits.sender", commits[0], "commits/msg", commits_note, ""});
    rows.push_back({"flash.idle.commits.receiver", commits[1], "commits/msg", commits_note, ""});
    // The gateways' own CPU time (user + system, /proc/PID/stat) per message: what a message
    // costs each side apart from waiting (fsync, the network).
    const std::string cpu_note = strf(
        "CPU time (user + system, /proc/PID/stat) of the gateway process per FLASH message of "
        "flash.idle, warm-up included (%.0f messages); store %s",
        measured,
        plaintext_store() ? "plaintext (PARLEY_BENCH_STORE=plaintext)"
                          : "encrypted at rest (SQLCipher, parley init's default)");
    const char* cpu_ids[2] = {"flash.idle.cpu.sender", "flash.idle.cpu.receiver"};
    for (int side = 0; side < 2; ++side) {
      if (!cpu_before[side] || !cpu_after[side]) continue;  // /proc not readable: no row
      rows.push_back({cpu_ids[side], (*cpu_after[side] - *cpu_before[side]) * 1e6 / measured,
                      "µs/msg", cpu_note, ""});
    }

    progress(
        strf("flash.flood: %d FLASH messages while %d threads submit ROUTINE", n, kFloodSenders));
    std::atomic<bool> stop{false};
    std::atomic<std::size_t> flood_sent{0};
    std::vector<std::thread> flood;
    const std::string routine = message_body("ROUTINE");
    for (int t = 0; t < kFloodSenders; ++t) {
      flood.emplace_back([&] {
        HttpClient c(pair.sender.api_port, auth_headers(pair.sender));
        while (!stop) {
          submit(c, routine);
          ++flood_sent;
        }
      });
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));  // the flood is established
    const std::size_t flood_before = flood_sent.load();
    const Latency flooded = measure_flash(client, events, 0, n, limit);
    const double flood_rate =
        static_cast<double>(flood_sent.load() - flood_before) / std::max(flooded.seconds, 1e-9);
    stop = true;
    for (std::thread& t : flood) t.join();
    const std::uint64_t undrained = drain(pair.sender);
    write_lines(options.samples_dir, "flash_flood",
                "flash_flood: as flash_idle while 4 threads submit ROUTINE; microseconds, in "
                "the order measured",
                format_samples(flooded.samples_us));
    const std::string flood_note = strf(
        "as flash.idle while %d threads submit %zu-byte ROUTINE messages as fast as "
        "accepted (%s msgs/s accepted during the run); accepted (201) p50 %s µs; %s",
        kFloodSenders, kTextBytes, human(flood_rate).c_str(), human(flooded.accept_at(0.5)).c_str(),
        flooded.count_note().c_str());
    rows.push_back({"flash.flood.p50", flooded.at(0.50), "µs", flood_note, "flash.idle.p99"});
    rows.push_back({"flash.flood.p99", flooded.at(0.99), "µs", flood_note, "flash.idle.p99"});
    rows.push_back({"flash.flood.p999", flooded.at(0.999), "µs", flood_note, "flash.idle.p99"});
    rows.push_back({"flash.flood.undrained", static_cast<double>(undrained), "msgs",
                    strf("ROUTINE messages still unreceipted %lld s after the flood stopped "
                         "(0: the line drained)",
                         static_cast<long long>(kDrainTimeout.count())),
                    ""});
  }
  stop_pair(pair);

  // ---- receipted throughput against the number of senders, a fresh pair each ----
  std::vector<std::string> throughput_lines;
  for (const int senders : {1, 4, 16}) {
    const std::size_t total = quick ? 2000 : 20000;
    const Clock::duration limit = quick ? std::chrono::seconds(6) : std::chrono::seconds(30);
    progress(strf("receipted.throughput.%d: up to %zu messages of %zu bytes from %d senders",
                  senders, total, kTextBytes, senders));
    Pair tp = start_pair(scratch, strf("throughput-%d", senders), options.parley);
    Throughput result;
    {
      DeliveredEvents events(tp.sender.api_port, tp.sender.operator_token);
      events.keep_ids(false);
      result = measure_throughput(tp, events, senders, total, limit);
    }
    stop_pair(tp);
    throughput_lines.push_back(strf("%d %.3f", senders, result.per_second()));
    rows.push_back(
        {strf("receipted.throughput.%d", senders), result.per_second(), "msgs/s",
         strf("%d concurrent senders (one keep-alive connection each), %zu-byte ROUTINE text; "
              "receipted messages / (first POST until the last delivered event); %zu messages "
              "in %.2f s%s",
              senders, kTextBytes, result.delivered, result.seconds,
              result.hit_time_limit ? " (time limit)" : ""),
         "floor.receipted_throughput"});
  }
  write_lines(options.samples_dir, "receipted_throughput",
              "receipted_throughput: concurrent senders, receipted messages per second",
              throughput_lines);

  // ---- the same with 16 senders, both stores in PostgreSQL ----
  {
    constexpr int kSenders = 16;
    const std::size_t total = quick ? 2000 : 20000;
    const Clock::duration limit = quick ? std::chrono::seconds(6) : std::chrono::seconds(30);
    progress(
        strf("receipted.throughput.%d.pg: PostgreSQL stores, up to %zu messages", kSenders, total));
    parley::launch::PairOptions pg;
    for (parley::launch::PartySpec* spec : {&pg.first, &pg.second}) {
      parley::Result<std::string> url = parley::store::test::fresh_postgres_schema();
      if (!url.is_ok()) die("%s", url.status().to_string().c_str());
      spec->store_url = *url;
    }
    Pair tp = start_pair(scratch, "throughput-pg", options.parley, pg);
    Throughput result;
    {
      DeliveredEvents events(tp.sender.api_port, tp.sender.operator_token);
      events.keep_ids(false);
      result = measure_throughput(tp, events, kSenders, total, limit);
    }
    stop_pair(tp);
    rows.push_back(
        {strf("receipted.throughput.%d.pg", kSenders), result.per_second(), "msgs/s",
         strf("as receipted.throughput.%d, both gateways' stores in PostgreSQL 15 (one local "
              "server, Unix socket, synchronous_commit on, fsync on); %zu messages in %.2f s%s",
              kSenders, result.delivered, result.seconds,
              result.hit_time_limit ? " (time limit)" : ""),
         "floor.receipted_throughput"});
  }

  remove_scratch(scratch);
  print_rows(rows, options.json);
  return 0;
}
