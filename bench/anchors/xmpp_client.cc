// parley-bench-anchor-xmpp: two federated Prosody servers (s2s over TLS) on loopback, what a
// user might pick instead of parley for a chat line between two parties (issue 15, "the
// anchors").
//
// bench/anchors/run starts the two servers, each named by an IP literal on loopback
// (127.0.0.1 and 127.0.0.2: no name to resolve, no /etc/hosts entry) and runs this client. Two
// libstrophe connections (Debian's libstrophe-dev) in one event loop: a@FROM on the sending
// server and b@TO on the receiving one, each over plain c2s on loopback (as parley's own
// clients talk plain HTTP to its API). A message goes a@FROM -> FROM's server -> s2s (TLS) ->
// TO's server -> b@TO; it is delivered when b's message handler runs. Rows:
//   anchor.prosody_s2s.p50, .p99   one 1 KiB message at a time: send until received
//   anchor.prosody_s2s.throughput  up to 64 in flight: received / elapsed
#include <strophe.h>

#include <cstdint>
#include <string>
#include <vector>

#include "anchor_common.h"

namespace {

using namespace parley::bench::anchor;

struct State {
  int connected = 0;
  bool closing = false;  // our own xmpp_disconnect: its DISCONNECT events are expected
  std::uint64_t received = 0;
  std::uint64_t last_sequence = 0;
  Clock::time_point last_at;
};

void on_connection(xmpp_conn_t* conn, xmpp_conn_event_t event, int error, xmpp_stream_error_t*,
                   void* data) {
  auto* s = static_cast<State*>(data);
  if (event != XMPP_CONN_CONNECT) {
    if (s->closing) return;
    die("%s: the XMPP connection ended (event %d, error %d): see the servers' logs",
        xmpp_conn_get_jid(conn), event, error);
  }
  // Available presence: the receiving server then routes messages to this resource.
  xmpp_stanza_t* presence = xmpp_presence_new(xmpp_conn_get_context(conn));
  xmpp_send(conn, presence);
  xmpp_stanza_release(presence);
  ++s->connected;
}

int on_message(xmpp_conn_t*, xmpp_stanza_t* stanza, void* data) {
  const Clock::time_point now = Clock::now();
  auto* s = static_cast<State*>(data);
  const char* type = xmpp_stanza_get_type(stanza);
  if (type != nullptr && std::string(type) == "error") die("a message bounced: s2s failed");
  const char* id = xmpp_stanza_get_id(stanza);
  if (id == nullptr) return 1;  // not ours (a server's notice)
  ++s->received;
  s->last_sequence = std::strtoull(id, nullptr, 10);
  s->last_at = now;
  return 1;
}

xmpp_conn_t* connect(xmpp_ctx_t* ctx, const std::string& jid, const std::string& server, int port,
                     State& state) {
  xmpp_conn_t* conn = xmpp_conn_new(ctx);
  xmpp_conn_set_flags(conn, XMPP_CONN_FLAG_DISABLE_TLS | XMPP_CONN_FLAG_DISABLE_SM);
  xmpp_conn_set_jid(conn, jid.c_str());
  xmpp_conn_set_pass(conn, "bench");  // the servers' auth is "insecure": any password
  if (xmpp_connect_client(conn, server.c_str(), static_cast<unsigned short>(port), on_connection,
                          &state) != XMPP_EOK) {
    die("cannot connect %s to %s:%d", jid.c_str(), server.c_str(), port);
  }
  return conn;
}

// Runs the event loop until `done()` or `deadline`; false on the deadline.
template <typename Done>
bool run_until(xmpp_ctx_t* ctx, Done done, Clock::time_point deadline) {
  while (!done()) {
    if (Clock::now() > deadline) return false;
    xmpp_run_once(ctx, 1);
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  program_name() = "parley-bench-anchor-xmpp";
  const Options o = parse_options(argc, argv);
  if (o.from.empty() || o.to.empty() || o.from_port <= 0 || o.to_port <= 0) {
    die("usage: parley-bench-anchor-xmpp --from DOMAIN --from-port C2S --to DOMAIN --to-port C2S "
        "[--quick] [--json]");
  }
  const Plan p = plan(o.quick);
  xmpp_initialize();
  // libstrophe's own warnings and errors go to stderr: they say why a connection ended.
  xmpp_ctx_t* ctx = xmpp_ctx_new(nullptr, xmpp_get_default_logger(XMPP_LEVEL_WARN));
  State state;
  const std::string sender_jid = "a@" + o.from + "/bench";
  const std::string receiver_jid = "b@" + o.to + "/bench";
  xmpp_conn_t* sender = connect(ctx, sender_jid, o.from, o.from_port, state);
  xmpp_conn_t* receiver = connect(ctx, receiver_jid, o.to, o.to_port, state);
  xmpp_handler_add(receiver, on_message, nullptr, "message", nullptr, &state);
  if (!run_until(
          ctx, [&] { return state.connected == 2; }, Clock::now() + std::chrono::seconds(10))) {
    die("the two clients did not log in within 10 s");
  }

  const std::string body = payload();
  std::uint64_t sent = 0;
  const auto send = [&] {
    const std::string id = std::to_string(++sent);
    xmpp_stanza_t* m = xmpp_message_new(ctx, "chat", receiver_jid.c_str(), id.c_str());
    xmpp_message_set_body(m, body.c_str());
    xmpp_send(sender, m);
    xmpp_stanza_release(m);
  };

  // ---- latency: one message at a time (the first also opens the s2s link) ----
  progress(
      strf("latency: %d messages of %zu bytes, one at a time", p.latency_count, kPayloadBytes));
  std::vector<double> us;
  const Clock::time_point latency_end = Clock::now() + p.latency_limit;
  for (int i = 0; i < p.warmup + p.latency_count && Clock::now() < latency_end; ++i) {
    const Clock::time_point t0 = Clock::now();
    send();
    // The first message waits for the s2s connection, TLS and dialback: allow for it.
    if (!run_until(
            ctx, [&] { return state.received >= sent; },
            t0 + std::chrono::seconds(i == 0 ? 30 : 10))) {
      die("message %llu not received within the time limit (s2s down?)",
          static_cast<unsigned long long>(sent));
    }
    if (state.last_sequence != sent)
      die("message %llu arrived out of order", (unsigned long long)sent);
    if (i >= p.warmup) us.push_back(micros(state.last_at - t0));
  }
  if (us.empty()) die("no latency sample within the time limit");
  const bool latency_cut = static_cast<int>(us.size()) < p.latency_count;

  // ---- throughput: a window of messages in flight ----
  progress(strf("throughput: %d messages, at most %d in flight", p.throughput_count, p.window));
  const std::uint64_t base = sent;
  const Clock::time_point t0 = Clock::now();
  const Clock::time_point end = t0 + p.throughput_limit;
  while (sent - base < static_cast<std::uint64_t>(p.throughput_count) && Clock::now() < end) {
    if (sent - state.received < static_cast<std::uint64_t>(p.window)) {
      send();
    } else {
      xmpp_run_once(ctx, 1);
    }
  }
  if (!run_until(
          ctx, [&] { return state.received >= sent; }, Clock::now() + std::chrono::seconds(60))) {
    die("throughput: %llu of %llu received within 60 s", (unsigned long long)state.received,
        (unsigned long long)sent);
  }
  const double seconds = micros(state.last_at - t0) / 1e6;
  const double rate = static_cast<double>(sent - base) / seconds;

  state.closing = true;
  xmpp_disconnect(sender);
  xmpp_disconnect(receiver);
  run_until(
      ctx, [] { return false; }, Clock::now() + std::chrono::milliseconds(100));
  xmpp_conn_release(sender);
  xmpp_conn_release(receiver);
  xmpp_ctx_free(ctx);
  xmpp_shutdown();

  const std::string how = strf(
      "two Prosody servers (Debian), %s and %s on loopback, federated over s2s with TLS "
      "(self-signed certificates made by the bench; peers authenticated by dialback over the "
      "TLS link), storage in memory (nothing written to disk); libstrophe clients on plain c2s; "
      "%zu-byte message body",
      o.from.c_str(), o.to.c_str(), kPayloadBytes);
  std::vector<Row> rows;
  rows.push_back({"anchor.prosody_s2s.p50", percentile(us, 0.5), "µs",
                  how + strf(": sent by a@%s until received by b@%s, one at a time; N = %zu "
                             "after %d unmeasured%s; p999 %.0f µs",
                             o.from.c_str(), o.to.c_str(), us.size(), p.warmup,
                             latency_cut ? " (time limit)" : "", percentile(us, 0.999))});
  rows.push_back(
      {"anchor.prosody_s2s.p99", percentile(us, 0.99), "µs", "the same samples' 99th percentile"});
  rows.push_back({"anchor.prosody_s2s.throughput", rate, "msgs/s",
                  how + strf(": %llu messages with at most %d in flight, first sent until the "
                             "last received (%.2f s)",
                             static_cast<unsigned long long>(sent - base), p.window, seconds)});
  print_rows(rows, o.json);
  return 0;
}
