// Driver: carries out one gateway's core::Node with real I/O.
//
// The node (core/node.h) decides everything: the sessions with every peer, path health and
// choice, group commit, the bookkeeping of requests. The driver turns I/O into the node's
// events, stamped with the wall-clock time, and its actions into I/O: Commit goes to the
// store in ONE durable transaction (Store::apply_group_open: one fsync, which on SQLite also
// makes durable the events the node's handling of the outcome publishes: commit()) and comes
// back as Committed; Post goes to the federation client of the chosen path, PostHeartbeat to that
// path's heartbeat client (a heartbeat never waits behind a transaction on the same
// connection), AbandonPath closes the path's transaction client; Answer completes the peer's
// pending HTTP request, Accepted and Rejected a principal's pending API request; PeerNotice
// and PathNotice are logged and broadcast to event streams. ScheduleCommit is answered with
// CommitDue once the io thread has run what is ready (so everything persisted meanwhile joins
// the same fsync). One steady timer waits for the node's next deadline, its delay computed
// again after every event (a timer kept armed across a wall-clock jump would fire late:
// docs/simulation.md, "Findings" 2). If the store fails to make a commit durable the process
// stops at once (like PostgreSQL on a failed fsync): nothing is acknowledged for a write that
// may be lost, and recovery on restart starts from what the store holds. On a shared store the
// gateway steps down instead (on_store_failure; lease.h), which is the same thing without the
// restart; on a full disk it holds until there is room, then recovers (lease.h).
//
// Precheck goes to the pool of verification threads (verify_pool.h, one per core), and comes
// back as Prechecked on the io thread.
//
// Single-threaded but for that pool: everything else runs on the io_context thread that the
// daemon runs, the node included. The pool's workers run only core::run_precheck, a pure
// function of the items handed to them.
#pragma once

#include <cstdint>
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
#include "parley/core/node.h"
#include "parley/core/node_feed.h"
#include "parley/crypto/crypto.h"
#include "parley/gateway/disclosure.h"
#include "parley/gateway/forwarded.h"
#include "parley/gateway/home.h"
#include "parley/gateway/verify_pool.h"
#include "parley/gateway/witness.h"
#include "parley/meetings/alerts.h"
#include "parley/meetings/meetings.h"
#include "parley/net/net.h"
#include "parley/store/message_lines.h"
#include "parley/store/store.h"
#include "parley/wire/heartbeat.h"

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

// The last heartbeat answer a peer signed on one path (wire/heartbeat.h): evidence that its
// gateway was up and held its key at `time` (its clock), after our request.
struct SignedContact {
  Time time{};      // the peer's clock, as it signed
  Time received{};  // ours, when the answer came
  wire::SignedHeartbeat answer;
};

// Path health of one peer address, from heartbeats and traffic (core/paths.h).
struct PathHealth {
  std::string address;
  std::string state = "unknown";  // up, down, unknown
  bool active = false;            // carries the traffic to the peer now
  std::optional<Time> last_contact;
  std::string last_error;
  std::optional<SignedContact> last_heartbeat;
};

using Counters = core::NodeCounters;

// The driver's time: the wall clock its events are stamped with, and the one timer that waits
// for the node's next deadline. SystemClock (system_clock, an Asio steady_timer) is what the
// daemon uses; an in-process test gives the driver a clock it moves by hand.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual Time now() const = 0;
  // Calls `fire` on the io thread once `delay` has passed, unless cancelled or armed again
  // first (arming replaces what was armed).
  virtual void arm(Duration delay, std::function<void()> fire) = 0;
  virtual void cancel() = 0;
};

class SystemClock final : public Clock {
 public:
  explicit SystemClock(boost::asio::io_context& io) : timer_(io) {}
  Time now() const override;
  void arm(Duration delay, std::function<void()> fire) override;
  void cancel() override { timer_.cancel(); }

 private:
  boost::asio::steady_timer timer_;
};

class Driver {
 public:
  // What the core accepted (the message id, its line, seq and state), or why not.
  using Done = std::function<void(Result<core::Accepted>)>;

  // `clock`: null for the SystemClock.
  // `catalog` is the built-in one but in tests of two gateways whose catalogs differ.
  Driver(boost::asio::io_context& io, Home home, std::unique_ptr<store::Store> store,
         std::unique_ptr<Clock> clock = nullptr,
         const catalog::Catalog& catalog = catalog::Catalog::builtin());
  ~Driver();
  Driver(const Driver&) = delete;
  Driver& operator=(const Driver&) = delete;

  // Recovers every peer session from the store and starts the federation server and the
  // API server (answering with `api_handler`). kUnavailable if a listen address cannot be
  // bound; store errors as they come.
  Status start(net::Handler api_handler);
  // Stops accepting requests and closes connections. Everything accepted is durable.
  void stop();
  // Stops as stop() does, without the last commit: the store is no longer this gateway's (a
  // standby took the lease over). What was not committed is lost to this process only; it was
  // acknowledged to nobody, and the new active recovers from the store. Requests still
  // waiting for a commit are answered first, 503 with `why` (their messages were not stored).
  void abandon(const std::string& why);
  // Called (on the io thread, once) when the store fails to make a commit durable or refuses
  // it as fenced (store::is_fenced). Without a handler the process exits at once (status 70)
  // and recovers from the store at the next start; the daemon's Instance steps down (a shared
  // store) or holds for disk space (store::is_disk_full) instead (lease.h). Either way the
  // driver feeds its node nothing more.
  void on_store_failure(std::function<void(const Status&)> handler) {
    store_failure_ = std::move(handler);
  }
  bool ready() const { return ready_; }

  // Reloads without a restart (SIGHUP, POST /api/v1/admin/reload; gateway/reload.cc): reads
  // parley.toml again (the time zone, the API's rate limit, the backlog limit and the log
  // level apply at once; keys_needing_restart() lists the others that changed) and the
  // principals, lines, roster and newly pinned peers from the store, and feeds them to the
  // node as one core::Reconfigure, which checks them. Sessions, queues and connections are
  // kept; a new peer gets its sessions and connections. An invalid config
  // ("parley.toml:LINE: reason") or directory is refused (kInvalidArgument), logged, and the
  // running one kept. Every outcome is an audit line in the log.
  Status reload();
  // What the last successful reload found changed that takes effect only at the next start
  // (config keys, re-pinned or removed peers).
  const std::vector<std::string>& restart_needed() const { return restart_needed_; }
  // Who is on duty for `role` at `at`, by the directory in force (the node's answer).
  std::optional<core::Shift> on_duty(std::string_view role, Time at) const;
  // The party's time zone in force (parley.toml party.timezone).
  const core::ZoneRules& zone() const { return zone_; }

  // Principal requests (from the API). `done` is called once, on the io thread.
  void submit(core::Submit submit, Done done);
  // One submission on the lines of `submits` at once (core::Broadcast): the core checks
  // every line before it queues any. `done` is called once with the broadcast's id and
  // every message Accepted (in the order of `submits`), or with the first refusal: the core's
  // check refused every line (nothing stored), or the store refused a batch as a conflict
  // (the other lines' messages may be stored; GET /api/v1/broadcasts/{id} lists them).
  struct BroadcastAccepted {
    std::string id;
    std::vector<core::Accepted> messages;
  };
  using BroadcastDone = std::function<void(Result<BroadcastAccepted>)>;
  void broadcast(std::vector<core::Submit> submits, BroadcastDone done);
  void acknowledge(const std::string& principal, const std::string& message_id, Done done);
  // Cancels our queued message `message_id` (core::Cancel): the core decides (404, 403, 409).
  void cancel(const std::string& principal, const std::string& message_id, Done done);
  // `principal` was shown `message_id` (an inbox listing, GET /messages/{id}): the core decides
  // whether that is the message's stage "shown" (core::Show). Nothing is answered.
  void show(const std::string& principal, const std::string& message_id);
  // Discloses our message `message` to `observer`, an observer of its line (disclosure.h):
  // done gets the observer's answer, or why not (kFailedPrecondition, kNotFound, ...).
  void disclose(const core::MessageRecord& message, const std::string& observer,
                Discloser::Done done);
  // Every pinned peer's bundle, as read at start.
  const std::vector<wire::Bundle>& pinned() const { return pinned_; }

  store::Store& store() { return *store_; }
  const Home& home() const { return home_; }
  const catalog::Catalog& catalog() const { return catalog_; }
  std::vector<core::Line> lines_of(const std::string& principal) const;
  // The lines whose messages `principal` may read: the lines it is on and, for a translator
  // (core/translation.h), every line of this party. Reading only: what it may write there is
  // the core's decision (a translation of a message on the line, nothing else).
  std::vector<core::Line> lines_read_by(const std::string& principal) const;
  const std::vector<core::Line>& lines() const { return lines_; }
  std::optional<core::Principal> principal(const std::string& id) const;
  const std::vector<core::Principal>& principals() const { return principals_; }

  struct PeerView {
    std::string party;
    std::vector<std::string> federation;
    std::vector<PathHealth> paths;
    core::SessionStats stats;
    // How the peer's catalog differs from ours, as its last heartbeat answer said; none
    // before the first answer. `catalog_error`: why the last answer's catalog was unreadable.
    std::optional<catalog::Difference> catalog;
    std::string catalog_error;
    // ROUTINE submissions refused since start: the queue was at the backlog limit.
    std::uint64_t refused_backlog = 0;
  };
  std::vector<PeerView> peers() const;
  // Every message awaiting an acknowledgment, on both sides, with its escalation (who was
  // alerted, when, the next step): by peer, then as PeerSession::escalation_view orders them.
  struct EscalationView {
    std::string peer;
    core::EscalationView escalation;
  };
  std::vector<EscalationView> escalations() const;
  Counters counters() const { return node_ ? node_->counters() : Counters{}; }
  // Durable store transactions that held events alone (flush_events), since start: with the
  // node's group commits (counters().commits), every fsync'd write of the gateway's traffic.
  std::uint64_t event_commits() const { return event_commits_; }
  // The chain of our keys along our log for `peer` (our `parley rotate`s it holds), or null if
  // `peer` has no session.
  const ledger::KeyChain* own_chain(const std::string& peer) const;
  // The threads checking peers' signatures and seals ahead ([federation] verify_threads; 0:
  // none), and the checks handed to them since start.
  std::size_t verify_threads() const { return verify_pool_ ? verify_pool_->threads() : 0; }
  std::uint64_t prechecks() const { return prechecks_; }

  // Event streams (docs/openapi.yaml GET /api/v1/events). Every event the gateway raises (a
  // notice of the node, a path alert, an action item, a split view) is stored first
  // (Store::append_events, which gives it its id) and then sent to each open stream whose
  // principal may see it (may_see; the operator's stream, principal empty, sees every one).
  //
  // stream_start: what a new stream of `principal` is sent before it goes live, read from the
  // store. With `last_event_id` (the client's Last-Event-ID), every event after it that the
  // principal may see, oldest first, preceded by a `reset` event if some of them are no
  // longer kept (or the id is newer than any: another store's); then, always, a `stream`
  // event with the newest id, so that a client that saw nothing yet can resume from there.
  // Store errors as they come. subscribe: the stream gets every event from now on. Called
  // one after the other on the io thread, nothing is sent twice or missed in between.
  Result<std::vector<net::ServerEvent>> stream_start(const std::string& principal,
                                                     std::optional<std::uint64_t> last_event_id);
  void subscribe(std::string principal, std::shared_ptr<net::EventStream> stream);
  // Whether `principal` ("": the operator) may see `event`: on a line it reads, to a peer of
  // one of its lines, or alerting it by name; an operator-only event to the operator alone.
  bool may_see(const std::string& principal, const store::EventRecord& event) const;

  // Admission counters (net::ServerLimits) of the federation listeners, summed, and of the
  // API server; for /metrics.
  net::AdmissionStats federation_admission() const;
  net::AdmissionStats api_admission() const;

  // Witnessing (witness.h): the split views this gateway saw as an observer (stored, oldest
  // first; the count since start for /metrics), and what its submitter did.
  Result<std::vector<store::SplitViewRecord>> split_views() { return store_->split_views(); }
  std::uint64_t split_views_seen() const { return split_views_seen_; }
  CheckpointSubmitter::Stats witness_submissions() const {
    return submitter_ ? submitter_->stats() : CheckpointSubmitter::Stats{};
  }
  // The peers' heads we countersigned and forwarded to observers (forwarded.h).
  HeadForwarder::Stats forwarded_heads() const {
    return forwarder_ ? forwarder_->stats() : HeadForwarder::Stats{};
  }

  std::string api_endpoint() const;
  std::string federation_endpoint() const;  // the first (primary) listener's

  // The driver's clock: the time its events are stamped with (views that depend on the time,
  // such as overdue meeting action items, use it too).
  Time now() const;

  // The meetings of `lines`: their stored meeting steps, both directions, with `pending`
  // (steps submitted and not stored yet), replayed (meetings/replay.h). Reads only the
  // meeting types from the store.
  Result<meetings::Book> meetings_of(const std::vector<std::string>& lines,
                                     std::vector<meetings::Message> pending = {}) const;

 private:
  // Per address of a peer, in bundle order: a client for transactions and one for heartbeats.
  struct Clients {
    std::vector<std::unique_ptr<net::FederationClient>> transactions;
    std::vector<std::unique_ptr<net::FederationClient>> heartbeats;
    // The peer's certificates the clients accept: its bundle's, then those its key rotations
    // announced (allow_fingerprint).
    std::shared_ptr<std::vector<std::string>> fingerprints;
  };
  struct Subscriber {
    std::string principal;
    std::shared_ptr<net::EventStream> stream;
  };

  // Queues `event` and, unless the node is being fed already, feeds every queued event (and
  // those their actions cause) in order; then re-arms the timer.
  void feed(core::NodeEvent event);
  void carry_out(core::NodeAction& action);
  // Applies a Commit's batches. On a store that can keep the transaction open
  // (Store::apply_group_open) it stays open while the node handles what the commit caused:
  // every action but a notice waits in after_commit_, and finish_commit() (once nothing is
  // left to feed) stores the events published meanwhile in the same transaction, commits
  // (the one fsync), and then sends the events and carries out what waited, in order. So the
  // event that a message was delivered is durable with its receipt, not one fsync later.
  void commit(core::Commit& commit);
  void finish_commit();
  // The full-text index off the commit path (Store::index_search): once a commit has stored
  // messages, kSearchIndexDelay later the store indexes them, kSearchIndexBatch a transaction,
  // each batch a handler of its own so that the io thread serves what arrives in between.
  // Searches never wait for it: the store indexes what is left before a search.
  void schedule_search_index();
  void index_search();
  // Stops the gateway, or hands the failure to on_store_failure: a commit failed.
  void commit_failed(const Status& status, const std::string& what);
  void post(const core::Post& post);
  // Hands a Precheck to the pool (verify_pool.h); its answer is fed as Prechecked, on the io
  // thread, unless the driver is gone by then.
  void precheck(core::Precheck& asked);
  void post_heartbeat(const core::PostHeartbeat& beat);
  // The node's pinned bundle of `party`; null if it pins none.
  const wire::Bundle* pinned_bundle(const std::string& party) const;
  // The key in force for `party` (its chain's newest: core::PeerSession::peer_chain), or null
  // if it is not a pinned peer.
  const crypto::VerifyKey* peer_key(const std::string& party) const;
  // The certificates our clients accept from pinned `party`: its clients' live list (its
  // bundle's and its rotations', allow_fingerprint), else the bundle's alone (fingerprints.h).
  Fingerprints fingerprints(const wire::Bundle& party) const;
  // Our key that `party` checks our heartbeats and their answers with (driver_peers.cc).
  const crypto::SigningKey& our_key_for(const std::string& party) const;
  // Our federation servers and clients present the certificate of the newest of our key
  // rotations that every peer countersigned (core::Node::rotations_countersigned; until then
  // a peer accepts only the one before): switched when that changes, for new connections,
  // also back when a peer pinned since has not countersigned it yet (driver_peers.cc).
  void follow_rotations();
  // Accepts `fingerprint` as `party`'s certificate from now on (once): at the federation
  // server, and from `party`'s server at our clients (the next connection).
  void allow_fingerprint(const std::string& party, const std::string& fingerprint);
  // The peer's signed answer to our heartbeat `request` (wire/heartbeat.h): kept as the path's
  // last signed heartbeat, its catalog compared with ours; or why it is no answer.
  Status take_heartbeat_answer(const std::string& party, core::PathIndex path,
                               const std::string& request, const net::HttpResponse& response);
  // POST /federation/v1/heartbeat from `party`: answered, signed, if its signature verifies.
  // POST /federation/v1/log from the pinned peer `party`: its copy of our logs, from the
  // store (store/peer_copy.h); a bad request is refused (4xx), changing nothing.
  void answer_log_request(const std::string& party, const net::HttpRequest& request,
                          net::Responder& responder);
  void answer_heartbeat(const std::string& party, const net::HttpRequest& request,
                        net::Responder& responder);
  // Reads the peer's catalog versions from a heartbeat's answer, compares them with ours and
  // logs a change: a warning when they differ, once per change, not per heartbeat.
  void note_peer_catalog(const std::string& party, const json::Json& catalog);
  void rearm();
  // Queues `event` (its time set now) for flush_events, which stores what is queued in one
  // write and sends each event to the streams that may see it. The driver flushes after
  // every feed of the node and after each other source of events has run.
  void publish(store::EventRecord event);
  void flush_events();
  // Sends `events` (ids given if `stored`) to each open stream that may see them.
  void send_events(const std::vector<store::EventRecord>& events, bool stored);
  // notify() in two halves: the log line of a notice, and its event (published).
  void log_notice(const core::Notice& notice);
  void publish_of(const core::Notice& notice);
  // The event of a notice: to the notice's line's principals, to the principals it alerts
  // (an escalation), and to the operator.
  void publish_notice(const core::Notice& notice, const std::string& event,
                      const std::string& payload);
  void notify(const core::Notice& notice);
  void on_path_notice(const core::PathNotice& notice);
  void on_federation_request(net::HttpRequest request, std::shared_ptr<net::Responder> responder);
  // POST /add-checkpoint: this gateway as a witness (witness.h); a split view is an alert.
  void on_add_checkpoint(const net::HttpRequest& request, net::Responder& responder);
  // POST /federation/v1/forwarded-head: a peer's countersigned head of another party's log
  // (forwarded.h), compared with what we witnessed of it.
  void on_forwarded_head(const net::HttpRequest& request, net::Responder& responder);
  // POST /federation/v1/disclosures: a party of a line we observe discloses a message.
  void on_disclosure(const net::HttpRequest& request, net::Responder& responder);
  // A split view seen as a witness: counted, logged, sent to the operator's event streams.
  void report_split_view(const store::SplitViewRecord& split, const std::string& from);
  // The pinned observers of our lines with `peer`.
  std::vector<wire::Bundle> observers_of(const std::string& peer) const;
  // After a commit: the heads of our logs it stored go to the observers of their lines.
  void submit_checkpoints(const core::Commit& commit, const std::vector<Status>& outcome);
  // What reload() does, without its audit line.
  Status reload_directory();
  Result<std::vector<core::NodePeer>> newly_pinned(std::vector<std::string>& restart);
  // Connects to a pinned peer (a client per path) and accepts its certificate.
  void add_clients(const wire::Bundle& bundle);
  std::vector<std::string> restart_needed_;
  // Pushed alerts for meeting action items (meetings/alerts.h): reads the meetings of every
  // line and logs and broadcasts (SSE `action`) each new reminder and overdue item. Runs at
  // start, after a meeting step is stored (ours accepted, the peer's received) and when the
  // next item changes status (actions_due_, which the timer waits for beside the node).
  void check_actions();
  void alert_action(const meetings::ActionAlert& alert);

  boost::asio::io_context& io_;
  Home home_;
  std::unique_ptr<store::Store> store_;
  const catalog::Catalog& catalog_;
  crypto::SystemRng rng_;
  std::vector<core::Line> lines_;
  std::vector<core::Principal> principals_;
  core::ZoneRules zone_;
  std::optional<Status> reconfigured_;  // the node's last Reconfigured
  // The node's MessageLines (core/translation.h): the lines of stored messages, from store_.
  std::unique_ptr<store::StoredMessageLines> message_lines_;
  // `parley restore`'s marker beside the store (restore_marker_path), while it is there: every
  // session recovers its logs before it signs anything new; removed once all have.
  std::string restore_marker_;
  void clear_restore_marker();
  std::unique_ptr<core::Node> node_;
  std::map<std::string, Clients> clients_;  // by party
  std::shared_ptr<std::vector<std::string>> allowed_fingerprints_;
  std::vector<std::unique_ptr<net::Server>> federation_servers_;  // one per listen address
  // The rotation whose certificate our federation servers and clients present (0: the
  // bundle's; follow_rotations).
  std::uint64_t federation_rotation_ = 0;
  std::unique_ptr<net::Server> api_server_;
  std::unique_ptr<Clock> clock_;
  core::RequestId next_request_ = 1;
  std::map<core::RequestId, Done> pending_principal_;
  std::map<core::RequestId, std::shared_ptr<net::Responder>> pending_peer_;
  std::vector<Subscriber> subscribers_;
  std::vector<store::EventRecord> events_pending_;  // published, not yet flushed
  struct PeerCatalog {
    std::optional<catalog::Difference> difference;
    std::string error;
  };
  std::map<std::string, PeerCatalog> peer_catalogs_;  // by party
  // The last signed heartbeat answer per party and path.
  std::map<std::string, std::map<core::PathIndex, SignedContact>> signed_contacts_;
  // Why the last heartbeat from each party was refused (logged once per reason).
  std::map<std::string, std::string> heartbeat_refusals_;
  core::NodeFeed feed_;  // the node is fed in order (node_feed.h)
  std::vector<core::NodeAction> actions_;
  std::uint64_t event_commits_ = 0;
  std::uint64_t prechecks_ = 0;  // precheck items handed to verify_pool_
  bool commit_open_ = false;     // the store holds a commit's transaction open (commit())
  std::vector<std::function<void()>> after_commit_;  // what waits for it, in order
  std::function<void(const Status&)> store_failure_;
  std::vector<wire::Bundle> pinned_;  // every pinned peer's bundle, from the store at start
  std::unique_ptr<CheckpointSubmitter> submitter_;
  std::unique_ptr<HeadForwarder> forwarder_;
  std::unique_ptr<Discloser> discloser_;
  std::uint64_t split_views_seen_ = 0;
  meetings::ActionWatch action_watch_;
  std::optional<Time> actions_due_;  // when check_actions() must run next
  bool ready_ = false;
  bool stopping_ = false;
  bool failed_ = false;                     // a commit failed: nothing more is fed or carried out
  boost::asio::steady_timer search_timer_;  // schedule_search_index
  bool search_scheduled_ = false;
  // Last, so destroyed first: the pool's workers end before anything they call back into;
  // an answer already posted to the io thread finds `alive_` expired and is dropped.
  std::shared_ptr<const bool> alive_ = std::make_shared<const bool>(true);
  // None with [federation] verify_threads = 0: the node then checks everything itself.
  std::unique_ptr<VerifyPool> verify_pool_;
};

// Listens for the API where the home says (config.api_listen): HTTPS with the home's API
// certificate when config.api_tls, else plain HTTP (which parse_config allows on loopback
// only). Errors as net::listen_https and net::listen_http give them; an unusable certificate
// or key names the files.
Result<std::unique_ptr<net::Server>> listen_api(boost::asio::io_context& io, const Home& home,
                                                net::Handler handler,
                                                net::ServerLimits limits = {});

}  // namespace parley::gateway
