// Driver: carries out the core's actions with real I/O, for one gateway.
//
// It owns the store, one core::PeerSession and one core::PathMonitor per pinned peer, two
// federation clients per address of each peer (transactions; heartbeats), the federation
// and API servers' request bookkeeping, and two timers per peer (the session's deadlines;
// heartbeats). Every event is fed to a session stamped with the wall-clock time, and every
// action the session returns is carried out in order. Persist is group-committed: batches
// wait, in the order emitted (by every session), until the io thread has run what is ready,
// then all go to the store in ONE durable transaction (Store::apply_group: one fsync), and
// each is fed back as Persisted (or PersistRefused for a logical conflict) in that order, so
// Persisted(b) still implies every earlier batch is durable (the session emits a
// SendTransaction only once the batch holding its head is Persisted).
// SendTransaction goes to the client of the peer's best path (PathMonitor::best_path) and
// its outcome is reported to the monitor as well; Answer completes the peer's pending HTTP
// request; Accepted and Rejected complete a principal's pending API request; Notify is
// logged and broadcast to event streams. The monitor's heartbeats go out on every path;
// its PathChanged and PathStateChanged are logged and raised as "alert" events. If the store fails
// to make a batch durable the process stops at once (like PostgreSQL on a failed fsync): nothing is
// acknowledged for a write that may be lost, and recovery on restart starts from what the store
// holds.
//
// Single-threaded: everything runs on the io_context thread that the daemon runs.
#pragma once

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "parley/catalog/catalog.h"
#include "parley/core/paths.h"
#include "parley/core/peer_session.h"
#include "parley/crypto/crypto.h"
#include "parley/gateway/home.h"
#include "parley/net/net.h"
#include "parley/store/store.h"

namespace parley::gateway {

// The principal role that grants the gateway-wide views (every peer in GET /api/v1/status,
// GET /api/v1/peers, /metrics, the peers in /readyz) without the operator's credential: a
// watch officer's. A principal with any other role sees only its own lines
// (docs/openapi.yaml, x-parley-access).
inline constexpr std::string_view kWatchRole = "watch";

// What a principal (or the operator acting as one) may do and see.
struct Caller {
  std::string principal;  // empty: the operator without X-Parley-As (status only)
  bool operator_token = false;
  bool gateway_wide = false;  // the operator token, or a principal with the watch role
};

// Path health of one peer address, from heartbeats and traffic (core/paths.h).
struct PathHealth {
  std::string address;
  std::string state = "unknown";  // up, down, unknown
  bool active = false;            // carries the traffic to the peer now
  std::optional<Time> last_contact;
  std::string last_error;
};

struct Counters {
  std::uint64_t messages_submitted = 0;
  std::uint64_t messages_received = 0;
  std::uint64_t frames_refused = 0;
  std::uint64_t commits = 0;            // group commits (store transactions) made
  std::uint64_t batches_committed = 0;  // Persist batches they carried
};

class Driver {
 public:
  using Done = std::function<void(Result<std::string>)>;  // a message id, or why not

  Driver(boost::asio::io_context& io, Home home, std::unique_ptr<store::Store> store);
  ~Driver();
  Driver(const Driver&) = delete;
  Driver& operator=(const Driver&) = delete;

  // Recovers every peer session from the store and starts the federation server and the
  // API server (answering with `api_handler`). kUnavailable if a listen address cannot be
  // bound; store errors as they come.
  Status start(net::Handler api_handler);
  // Stops accepting requests and closes connections. Everything accepted is durable.
  void stop();
  bool ready() const { return ready_; }

  // Principal requests (from the API). `done` is called once, on the io thread.
  void submit(core::Submit submit, Done done);
  void acknowledge(const std::string& principal, const std::string& message_id, Done done);

  store::Store& store() { return *store_; }
  const Home& home() const { return home_; }
  const catalog::Catalog& catalog() const { return catalog_; }
  std::vector<core::Line> lines_of(const std::string& principal) const;
  const std::vector<core::Line>& lines() const { return lines_; }
  std::optional<core::Principal> principal(const std::string& id) const;

  struct PeerView {
    std::string party;
    std::vector<std::string> federation;
    std::vector<PathHealth> paths;
    core::SessionStats stats;
  };
  std::vector<PeerView> peers() const;
  const Counters& counters() const { return counters_; }

  // Event streams: every Notify on one of `principal`'s lines is sent to the stream
  // (the operator stream, principal empty, gets every notice).
  void subscribe(std::string principal, std::shared_ptr<net::EventStream> stream);

  // Admission counters (net::ServerLimits) of the federation listeners, summed, and of the
  // API server; for /metrics.
  net::AdmissionStats federation_admission() const;
  net::AdmissionStats api_admission() const;

  std::string api_endpoint() const;
  std::string federation_endpoint() const;  // the first (primary) listener's

 private:
  struct PeerLink {
    std::string party;
    wire::Bundle bundle;
    std::unique_ptr<core::PeerSession> session;
    std::unique_ptr<boost::asio::steady_timer> timer;
    std::optional<Time> timer_at;
    // Per address of the peer, in bundle order: a client for transactions and one for
    // heartbeats (a heartbeat never waits behind a transaction on the same connection).
    std::vector<std::unique_ptr<net::FederationClient>> clients;
    std::vector<std::unique_ptr<net::FederationClient>> heartbeat_clients;
    std::unique_ptr<core::PathMonitor> paths;
    std::unique_ptr<boost::asio::steady_timer> heartbeat_timer;
    std::optional<Time> heartbeat_at;
  };
  struct Subscriber {
    std::string principal;
    std::shared_ptr<net::EventStream> stream;
  };

  // A Persist waiting for the next group commit.
  struct Write {
    std::string party;
    core::BatchId batch = 0;
    std::vector<core::Record> records;
  };

  // Queues `event` for `link`'s session and, unless already running, feeds every queued
  // event (and those their actions cause) in order; then re-arms the timers of the sessions
  // fed and posts a group commit if writes wait.
  void feed(PeerLink& link, core::Event event);
  void carry_out(PeerLink& link, core::Action& action);
  // Applies every waiting write in one store transaction and queues their Persisted (or
  // PersistRefused) events. Stops the process if the store cannot make them durable.
  void commit_writes();
  void drain();
  void rearm(PeerLink& link);
  void feed_paths(PeerLink& link, const core::PathEvent& event);
  void rearm_heartbeat(PeerLink& link);
  // Sends an event to the operator's streams and to those of principals with a line to `peer`.
  void broadcast_to_peer_streams(const std::string& peer, const std::string& event,
                                 const std::string& data);
  void notify(const core::Notice& notice);
  void on_federation_request(net::HttpRequest request, std::shared_ptr<net::Responder> responder);
  PeerLink* link_for_line(const std::string& line);
  Time now() const;

  boost::asio::io_context& io_;
  Home home_;
  std::unique_ptr<store::Store> store_;
  const catalog::Catalog& catalog_;
  crypto::SystemRng rng_;
  std::vector<core::Line> lines_;
  std::vector<core::Principal> principals_;
  std::map<std::string, std::unique_ptr<PeerLink>> links_;  // by party
  std::shared_ptr<std::vector<std::string>> allowed_fingerprints_;
  std::vector<std::unique_ptr<net::Server>> federation_servers_;  // one per listen address
  std::unique_ptr<net::Server> api_server_;
  core::RequestId next_request_ = 1;
  std::map<core::RequestId, Done> pending_principal_;
  std::map<core::RequestId, std::shared_ptr<net::Responder>> pending_peer_;
  std::vector<Subscriber> subscribers_;
  Counters counters_;
  std::vector<Write> writes_;                              // in the order emitted
  std::deque<std::pair<std::string, core::Event>> inbox_;  // by party, in order
  bool draining_ = false;
  bool commit_posted_ = false;
  bool ready_ = false;
  bool stopping_ = false;
};

}  // namespace parley::gateway
