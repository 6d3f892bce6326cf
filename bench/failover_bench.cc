// parley-bench-failover: how fast traffic survives a cut link, and how fast a FLASH gets
// through a deep backlog (issue 5).
//
// Two `parley gateway` processes (this build's binary) on loopback, set up as `parley demo`
// does (parley/launch/launch.h), except that the receiver listens on two federation addresses
// and the sender pins them as two TCP proxies run by this program (tests/tcp_proxy.h): the
// primary path and the backup path. Cutting a proxy black-holes its path (connections stay open,
// nothing is forwarded), as a dead link looks to TCP. "Delivered" is the sender's `delivered` event
// (GET /api/v1/events), read the moment it arrives: the peer's receipt is verified and
// durably recorded.
//
//   failover          one sender submits a ROUTINE message every 20 ms; the primary is cut;
//                     seconds from the cut until the first message submitted after the cut
//                     is delivered (necessarily by the backup). Median of several cuts, the
//                     primary healed (and traffic back on it) between cuts.
//   flash.backlog10k  both paths cut, 10,000 ROUTINE messages submitted (they queue), both
//                     healed; once the first of them is delivered (the link works and the
//                     backlog is draining), a FLASH is submitted: from its POST until its
//                     delivered event. Median of 5 FLASH messages, one after another.
//
// Every phase is bounded in count and time; the gateways are killed at the end or on any
// failure. See README.md.
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "harness.h"
#include "tcp_proxy.h"

#include "parley/base/json.h"
#include "parley/base/time.h"
#include "parley/gateway/config.h"
#include "parley/wire/wire.h"

namespace {

using namespace parley::bench;
namespace fs = std::filesystem;
namespace json = parley::json;
using parley::testing::TcpProxy;

constexpr std::size_t kTextBytes = 1024;
constexpr auto kDeliveryTimeout = std::chrono::seconds(60);

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

// The sender's view of its one peer (GET /api/v1/peers).
json::Json peer_view(const Party& sender) {
  HttpClient client(sender.api_port, operator_auth_headers(sender));
  const std::optional<Response> r = client.request("GET", "/api/v1/peers");
  if (!r || r->status != 200) die("GET /api/v1/peers failed: %s", client.error().c_str());
  parley::Result<json::Json> view = json::parse_object(r->body);
  if (!view.is_ok() || !(*view)["peers"].is_array() || (*view)["peers"].empty()) {
    die("GET /api/v1/peers: no peer in %s", r->body.c_str());
  }
  return (*view)["peers"][0];
}

std::string path_state(const json::Json& peer, std::size_t i) {
  const json::Json paths = peer.value("paths", json::Json::array());
  return paths.size() > i ? paths[i].value("state", "") : "";
}
bool path_active(const json::Json& peer, std::size_t i) {
  const json::Json paths = peer.value("paths", json::Json::array());
  return paths.size() > i && paths[i].value("active", false);
}

// Polls the sender's peer view every 20 ms until `ok` holds, or die() with `what` after `limit`.
template <typename Pred>
void wait_peer(const Party& sender, Pred ok, Clock::duration limit, const char* what) {
  const Clock::time_point deadline = Clock::now() + limit;
  for (;;) {
    const json::Json peer = peer_view(sender);
    if (ok(peer)) return;
    if (Clock::now() > deadline)
      die("%s: not within the time limit: %s", what, peer.dump().c_str());
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

std::uint16_t port_of(const std::string& address) {
  const parley::Result<parley::wire::HostPort> parsed = parley::wire::parse_host_port(address);
  if (!parsed.is_ok()) die("%s", parsed.status().message().c_str());
  return parsed->port;
}

// The receiver listens on two federation addresses; the sender pins them as the two proxies,
// which forward to them.
parley::launch::PairOptions routed_through(TcpProxy& primary, TcpProxy& backup) {
  parley::launch::PairOptions options;
  options.second.federation_addresses = 2;
  options.edit_pinned_bundle = [&primary, &backup](const Party& self,
                                                   parley::wire::Bundle& receiver) {
    if (self.id != "us-eucom") return;
    if (receiver.federation.size() != 2) die("the receiver's bundle does not have two addresses");
    primary.set_target(port_of(receiver.federation[0]));
    backup.set_target(port_of(receiver.federation[1]));
    receiver.federation = {primary.address(), backup.address()};
  };
  return options;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return percentile(v, 0.5);
}

std::string list(const std::vector<double>& v, const char* format) {
  std::string out;
  for (const double x : v) out += (out.empty() ? "" : ", ") + strf(format, x);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  set_program("parley-bench-failover");
  const Options options = parse_options(
      argc, argv, "failover time on a cut primary path; FLASH latency behind 10,000 ROUTINE");
  const bool quick = options.quick;
  const fs::path scratch = make_scratch(options.dir, "failover");
  std::vector<Row> rows;

  TcpProxy primary;
  TcpProxy backup;
  if (!primary.ok() || !backup.ok()) die("cannot listen on 127.0.0.1 for the proxies");
  Party sender;
  Party receiver;
  init_pair(scratch, sender, receiver, routed_through(primary, backup));
  spawn_gateway(receiver, options.parley);
  spawn_gateway(sender, options.parley);
  wait_ready(receiver, std::chrono::seconds(20));
  wait_ready(sender, std::chrono::seconds(20));
  const auto both_up = [](const json::Json& p) {
    return path_state(p, 0) == "up" && path_state(p, 1) == "up" && path_active(p, 0);
  };
  wait_peer(sender, both_up, std::chrono::seconds(30), "both paths up");
  auto events_stream = std::make_unique<DeliveredEvents>(sender.api_port, sender.operator_token);
  DeliveredEvents& events = *events_stream;

  // ---- failover ----
  {
    const int cuts = quick ? 2 : 5;
    // The gateways run the default config (launch::PairOptions sets no heartbeat).
    const std::string heartbeat =
        parley::format_duration(parley::gateway::Config{}.heartbeat_interval);
    progress(strf("failover: %d cuts of the primary while a message goes every 20 ms", cuts));
    std::mutex mutex;
    std::vector<std::pair<Clock::time_point, std::string>> sent;  // POST start, id
    std::atomic<bool> stop{false};
    std::thread traffic([&] {
      HttpClient client(sender.api_port, auth_headers(sender));
      const std::string body = message_body("ROUTINE");
      while (!stop) {
        const Clock::time_point t0 = Clock::now();
        const std::string id = submit(client, body);
        {
          std::lock_guard lock(mutex);
          sent.emplace_back(t0, id);
        }
        std::this_thread::sleep_until(t0 + std::chrono::milliseconds(20));
      }
    });
    // The first message whose POST started after `t`, waiting (bounded) for one.
    const auto first_sent_after = [&](Clock::time_point t) {
      const Clock::time_point deadline = Clock::now() + std::chrono::seconds(10);
      for (;;) {
        {
          std::lock_guard lock(mutex);
          for (const auto& [t0, id] : sent) {
            if (t0 > t) return id;
          }
        }
        if (Clock::now() > deadline) die("the traffic thread submits nothing");
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    };
    std::vector<double> seconds;
    for (int i = 0; i < cuts; ++i) {
      // Traffic flows on the primary: a message sent now is delivered.
      const std::string before = first_sent_after(Clock::now());
      if (!events.take(before, Clock::now() + kDeliveryTimeout)) die("no delivery before a cut");
      const Clock::time_point cut = Clock::now();
      primary.cut();
      const std::string after = first_sent_after(cut);
      const std::optional<Clock::time_point> at = events.take(after, cut + kDeliveryTimeout);
      if (!at) die("no message sent after the cut was delivered within 60 s");
      seconds.push_back(micros(*at - cut) / 1e6);
      progress(strf("failover: cut %d: %.3f s", i + 1, seconds.back()));
      primary.heal();
      wait_peer(sender, both_up, std::chrono::seconds(30), "traffic back on the healed primary");
    }
    stop = true;
    traffic.join();
    rows.push_back(
        {"failover", median(seconds), "s",
         strf("the primary path black-holed (a TCP proxy stops forwarding) while one sender "
              "submits a %zu-byte ROUTINE message every 20 ms: from the cut until the first "
              "message submitted after it is delivered via the backup; the default heartbeat "
              "(%s), the primary down after 2 misses while the backup is up; median of %d "
              "cuts (%s s), the primary healed in between",
              kTextBytes, heartbeat.c_str(), cuts, list(seconds, "%.2f").c_str()),
         ""});
  }

  // ---- flash.backlog10k ----
  {
    const std::size_t backlog = quick ? 1000 : 10000;
    const std::string id = quick ? "flash.backlog1k" : "flash.backlog10k";
    const int flashes = 5;
    progress(strf("%s: %zu ROUTINE queued while both paths are cut, then %d FLASH", id.c_str(),
                  backlog, flashes));
    wait_peer(
        sender, [](const json::Json& p) { return p.value("queued", 1) == 0; },
        std::chrono::seconds(60), "the failover traffic drained");
    primary.cut();
    backup.cut();
    const std::size_t delivered_before = events.count();
    std::atomic<std::size_t> tickets{0};
    std::vector<std::thread> threads;
    const Clock::time_point limit = Clock::now() + std::chrono::seconds(120);
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&] {
        HttpClient client(sender.api_port, auth_headers(sender));
        const std::string body = message_body("ROUTINE");
        while (tickets.fetch_add(1) < backlog) {
          if (Clock::now() > limit) die("submitting the backlog took more than 120 s");
          submit(client, body);
        }
      });
    }
    for (std::thread& t : threads) t.join();
    const json::Json queued_view = peer_view(sender);
    const std::size_t queued = queued_view.value("queued", std::size_t{0});
    if (queued < backlog) die("only %zu messages queued, expected %zu", queued, backlog);
    primary.heal();
    backup.heal();
    // The link works again and the backlog drains: now a FLASH is submitted behind it.
    if (events.wait_count(delivered_before + 1, Clock::now() + kDeliveryTimeout) <=
        delivered_before) {
      die("nothing was delivered within 60 s of the heal");
    }
    HttpClient client(sender.api_port, auth_headers(sender));
    const std::string body = message_body("FLASH");
    std::vector<double> us;
    std::vector<double> behind;
    for (int i = 0; i < flashes; ++i) {
      behind.push_back(static_cast<double>(backlog + delivered_before) -
                       static_cast<double>(events.count()));
      const Clock::time_point t0 = Clock::now();
      const std::string flash = submit(client, body);
      const std::optional<Clock::time_point> t1 = events.take(flash, t0 + kDeliveryTimeout);
      if (!t1) die("FLASH %s not delivered within 60 s", flash.c_str());
      us.push_back(micros(*t1 - t0));
    }
    rows.push_back(
        {id, median(us), "µs",
         strf("both paths cut, %zu %zu-byte ROUTINE messages submitted (%zu queued), both "
              "healed; once the first is delivered, a %zu-byte FLASH is submitted: its POST "
              "until its delivered event; median of %d FLASH one after another (%s µs), with "
              "about %s ROUTINE still unreceipted ahead of each",
              backlog, kTextBytes, queued, kTextBytes, flashes, list(us, "%.0f").c_str(),
              list(behind, "%.0f").c_str()),
         "flash.idle.p50"});
  }

  events_stream.reset();  // before the gateway closes it
  stop_gateway(sender);
  stop_gateway(receiver);
  remove_scratch(scratch);
  print_rows(rows, options.json);
  return 0;
}
