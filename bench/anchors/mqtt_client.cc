// parley-bench-anchor-mqtt: Mosquitto at QoS 2, saved on every change, on loopback: what a
// user might pick instead of parley for durable delivery (issue 15, "the anchors").
//
// bench/anchors/run starts the broker (its config: persistence true, autosave_on_changes true,
// autosave_interval 1, so that every change, each QoS 2 step included, rewrites and fsyncs its
// database before the next packet is handled) and runs this client against it. Two clients of
// libmosquitto (Debian's libmosquitto-dev), each with its own network thread: a subscriber with
// a persistent session (clean session off, QoS 2 subscription: the broker must keep what it
// has not delivered) and a publisher. A message is delivered when the subscriber's on_message
// runs, i.e. after PUBLISH, PUBREC, PUBREL and PUBCOMP between publisher and broker and the
// broker's own QoS 2 exchange with the subscriber. Rows:
//   anchor.mosquitto_durable.p50, .p99   one 1 KiB message at a time: publish until received
//   anchor.mosquitto_durable.throughput  up to 64 in flight: received / elapsed
#include <mosquitto.h>

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "anchor_common.h"

namespace {

using namespace parley::bench::anchor;

constexpr const char* kTopic = "parley/bench/hotline";

struct Shared {
  std::mutex mutex;
  std::condition_variable changed;
  bool sub_connected = false;
  bool pub_connected = false;
  bool subscribed = false;
  std::uint64_t received = 0;       // messages seen by the subscriber
  std::uint64_t last_sequence = 0;  // the last one's sequence number
  Clock::time_point last_at;
};

std::uint64_t sequence_of(const mosquitto_message* m) {
  std::uint64_t seq = 0;
  if (m->payloadlen >= static_cast<int>(sizeof seq)) std::memcpy(&seq, m->payload, sizeof seq);
  return seq;
}

void on_connect(mosquitto*, void*, int rc) {
  if (rc != 0) die("the broker refused a connection: %s", mosquitto_connack_string(rc));
}

void on_message(mosquitto*, void* obj, const mosquitto_message* m) {
  const Clock::time_point now = Clock::now();
  auto* s = static_cast<Shared*>(obj);
  std::lock_guard lock(s->mutex);
  ++s->received;
  s->last_sequence = sequence_of(m);
  s->last_at = now;
  s->changed.notify_all();
}

void on_subscribe(mosquitto*, void* obj, int, int count, const int* granted) {
  if (count != 1 || granted[0] != 2) die("the broker did not grant QoS 2 (granted %d)", granted[0]);
  auto* s = static_cast<Shared*>(obj);
  std::lock_guard lock(s->mutex);
  s->subscribed = true;
  s->changed.notify_all();
}

mosquitto* client(const char* id, bool clean, Shared& shared, const Options& o) {
  mosquitto* m = mosquitto_new(id, clean, &shared);
  if (m == nullptr) die("mosquitto_new failed");
  mosquitto_int_option(m, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
  mosquitto_int_option(m, MOSQ_OPT_TCP_NODELAY, 1);
  mosquitto_connect_callback_set(m, on_connect);
  if (int rc = mosquitto_connect(m, o.host.c_str(), o.port, 60); rc != MOSQ_ERR_SUCCESS) {
    die("cannot connect to %s:%d: %s", o.host.c_str(), o.port, mosquitto_strerror(rc));
  }
  if (int rc = mosquitto_loop_start(m); rc != MOSQ_ERR_SUCCESS) {
    die("mosquitto_loop_start: %s", mosquitto_strerror(rc));
  }
  return m;
}

void publish(mosquitto* pub, std::string& body, std::uint64_t seq) {
  std::memcpy(body.data(), &seq, sizeof seq);
  const int rc =
      mosquitto_publish(pub, nullptr, kTopic, static_cast<int>(body.size()), body.data(), 2, false);
  if (rc != MOSQ_ERR_SUCCESS) die("mosquitto_publish: %s", mosquitto_strerror(rc));
}

// Waits until the subscriber has received `count` messages, or die() after `deadline`.
void wait_received(Shared& s, std::uint64_t count, Clock::time_point deadline, const char* what) {
  std::unique_lock lock(s.mutex);
  if (!s.changed.wait_until(lock, deadline, [&] { return s.received >= count; })) {
    die("%s: %llu of %llu messages received before the time limit", what,
        static_cast<unsigned long long>(s.received), static_cast<unsigned long long>(count));
  }
}

}  // namespace

int main(int argc, char** argv) {
  program_name() = "parley-bench-anchor-mqtt";
  const Options o = parse_options(argc, argv);
  if (o.port <= 0) die("usage: parley-bench-anchor-mqtt --port PORT [--quick] [--json]");
  const Plan p = plan(o.quick);
  mosquitto_lib_init();
  Shared shared;
  mosquitto* sub = client("parley-bench-sub", /*clean=*/false, shared, o);
  mosquitto_message_callback_set(sub, on_message);
  mosquitto_subscribe_callback_set(sub, on_subscribe);
  {
    const Clock::time_point deadline = Clock::now() + std::chrono::seconds(10);
    // Subscribing before the connection is up only queues the request: wait for the grant.
    if (int rc = mosquitto_subscribe(sub, nullptr, kTopic, 2); rc != MOSQ_ERR_SUCCESS) {
      die("mosquitto_subscribe: %s", mosquitto_strerror(rc));
    }
    std::unique_lock lock(shared.mutex);
    if (!shared.changed.wait_until(lock, deadline, [&] { return shared.subscribed; })) {
      die("no SUBACK within 10 s");
    }
  }
  mosquitto* pub = client("parley-bench-pub", /*clean=*/true, shared, o);
  std::string body = payload();
  std::uint64_t sent = 0;

  // ---- latency: one message at a time ----
  progress(strf("latency: %d messages of %zu bytes at QoS 2, one at a time", p.latency_count,
                kPayloadBytes));
  std::vector<double> us;
  const Clock::time_point latency_end = Clock::now() + p.latency_limit;
  for (int i = 0; i < p.warmup + p.latency_count && Clock::now() < latency_end; ++i) {
    const Clock::time_point t0 = Clock::now();
    publish(pub, body, ++sent);
    wait_received(shared, sent, t0 + std::chrono::seconds(10), "latency");
    std::lock_guard lock(shared.mutex);
    if (shared.last_sequence != sent)
      die("message %llu arrived out of order", (unsigned long long)sent);
    if (i >= p.warmup) us.push_back(micros(shared.last_at - t0));
  }
  if (us.empty()) die("no latency sample within the time limit");
  const bool latency_cut = static_cast<int>(us.size()) < p.latency_count;

  // ---- throughput: a window of messages in flight ----
  progress(strf("throughput: %d messages, at most %d in flight", p.throughput_count, p.window));
  const std::uint64_t base = sent;
  const Clock::time_point t0 = Clock::now();
  const Clock::time_point end = t0 + p.throughput_limit;
  while (sent - base < static_cast<std::uint64_t>(p.throughput_count) && Clock::now() < end) {
    {
      std::unique_lock lock(shared.mutex);
      shared.changed.wait_until(
          lock, end, [&] { return sent - shared.received < static_cast<std::uint64_t>(p.window); });
      if (sent - shared.received >= static_cast<std::uint64_t>(p.window)) break;
    }
    publish(pub, body, ++sent);
  }
  wait_received(shared, sent, Clock::now() + std::chrono::seconds(60), "throughput drain");
  Clock::time_point last;
  {
    std::lock_guard lock(shared.mutex);
    last = shared.last_at;
  }
  const double seconds = micros(last - t0) / 1e6;
  const double rate = static_cast<double>(sent - base) / seconds;

  mosquitto_disconnect(pub);
  mosquitto_disconnect(sub);
  mosquitto_loop_stop(pub, false);
  mosquitto_loop_stop(sub, false);
  mosquitto_destroy(pub);
  mosquitto_destroy(sub);
  mosquitto_lib_cleanup();

  const std::string how = strf(
      "Mosquitto %d.%d.%d (Debian) on 127.0.0.1, persistence on, autosave_on_changes true, "
      "autosave_interval 1 (its database rewritten and fsynced after every change); "
      "libmosquitto clients, MQTT 3.1.1, QoS 2, a persistent-session subscriber; "
      "%zu-byte payload",
      LIBMOSQUITTO_MAJOR, LIBMOSQUITTO_MINOR, LIBMOSQUITTO_REVISION, kPayloadBytes);
  std::vector<Row> rows;
  rows.push_back(
      {"anchor.mosquitto_durable.p50", percentile(us, 0.5), "µs",
       how + strf(": publish until the subscriber's on_message, one at a time; "
                  "N = %zu after %d unmeasured%s; p999 %.0f µs",
                  us.size(), p.warmup, latency_cut ? " (time limit)" : "", percentile(us, 0.999))});
  rows.push_back({"anchor.mosquitto_durable.p99", percentile(us, 0.99), "µs",
                  "the same samples' 99th percentile"});
  rows.push_back({"anchor.mosquitto_durable.throughput", rate, "msgs/s",
                  how + strf(": %llu messages with at most %d in flight, first publish until "
                             "the last received (%.2f s)",
                             static_cast<unsigned long long>(sent - base), p.window, seconds)});
  print_rows(rows, o.json);
  return 0;
}
