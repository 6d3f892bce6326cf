// Node: one gateway's whole behaviour, with every peer. Sans-I/O.
//
// The node holds one PeerSession and one PathMonitor per pinned peer, the queue of events
// they are fed, the group commit of their Persist actions, and the choice of the path that
// carries each transaction. It is fed NodeEvents stamped with the time the driver observed
// them and appends NodeActions; it owns no socket, thread, file or clock. `parley gateway`
// (gateway/driver.cc) carries out its actions with Asio, SQLite and the system clock;
// the simulator (sim/cluster.cc) carries out the same actions over a simulated network,
// disk and clock. Whatever the node decides is therefore decided identically in both.
//
// Group commit: a session's Persist joins the node's waiting writes, and the node asks once
// for a commit (ScheduleCommit). The driver feeds CommitDue once it has run what is ready
// (more submissions and peer transactions join the same commit); the node answers with one
// Commit holding every waiting batch in the order the sessions emitted them, and waits for
// Committed before it asks again. The driver applies a Commit in ONE durable store
// transaction and feeds Committed with one status per batch: ok, or a logical refusal of
// that batch alone (store::is_batch_refusal). The node feeds each batch's session Persisted
// (or PersistRefused) in batch order, so Persisted(b) still implies that every earlier batch
// is durable. If the store cannot make a commit durable, the driver must not feed Committed
// (it stops the process; recovery starts from the store).
//
// Paths: a transaction goes on the peer's best path (PathMonitor::best_path) at the moment
// it leaves; its outcome is reported to the monitor before the session, so that what the
// session sends next takes the path the outcome chose. When traffic leaves a path that is
// down, the node abandons that path's transaction in flight (AbandonPath): it would only time
// out, and the session resends it at once, with the same id, on the new path.
//
// Events are handled in the order fed, each with the actions it causes; the driver must not
// feed an event from inside the handling of another (it queues it and feeds it after:
// node_feed.h).
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "parley/base/rng.h"
#include "parley/base/status.h"
#include "parley/base/time.h"
#include "parley/catalog/catalog.h"
#include "parley/core/model.h"
#include "parley/core/paths.h"
#include "parley/core/peer_session.h"
#include "parley/core/roster.h"
#include "parley/crypto/crypto.h"
#include "parley/wire/wire.h"

namespace parley::core {

using CommitId = std::uint64_t;
using PrecheckToken = std::uint64_t;

struct NodeConfig {
  std::string party;
  std::string lang = "en";  // SessionConfig::lang
  crypto::Keys keys;        // SessionConfig::keys: our bundle's
  OwnRotations own;         // SessionConfig::own: our key rotations
  std::vector<Line> lines;  // every configured line; a line to an unpinned party is idle
  Directory directory;      // principals, the duty roster, the time zone (core/roster.h)
  PathConfig paths;
  Duration transaction_timeout = std::chrono::seconds(10);  // a Post unanswered after this fails
  std::size_t window = SessionConfig{}.window;  // transactions in flight per peer (SessionConfig)
  Cadences realert;  // each precedence's escalation step (core/escalation.h; parley.toml)
  const MessageLines* messages = nullptr;  // SessionConfig::messages; must outlive the node
  // The automatic line test on every line with a pinned peer (core/line_test.h; parley.toml
  // [federation] test_interval, test_answer_within). Off unless the interval is set.
  TestConfig tests;
  // Backpressure ([federation] backlog_limit): a ROUTINE submission to a peer whose outbound
  // queue holds this many messages or more is refused (kResourceExhausted: the API's 503 with
  // Retry-After); FLASH, IMMEDIATE and PRIORITY are always taken. Zero: no bound.
  std::size_t backlog_limit = 0;
  // SessionConfig::recover_at_start of every session: at start, each asks its peer for what
  // it holds of both logs before anything new is signed (core/log_recovery.h).
  bool recover_logs = false;
  // SessionConfig::recovery_required: the store was restored; nothing new is signed for a
  // peer before its copy of our logs was taken.
  bool recovery_required = false;
  // Whether a peer's transaction is prechecked by the shell (Precheck, Prechecked: its
  // signature checks and seal openings on other threads, core/precheck.h) before its session
  // verifies it. Off: verified at once, on the node's thread alone.
  bool precheck = false;
};

// One pinned peer and what the store held for it at start.
struct NodePeer {
  wire::Bundle bundle;
  Recovered recovered;
};

// ---- events ----
// Also events: Submit (routed by its line), Acknowledge and Cancel (routed to the session
// holding the message, else refused as unknown) and Show (to the session holding the message,
// else ignored), from core/peer_session.h.
struct Start {};          // once, first: resend what the store held unreceipted, first heartbeats
struct Tick {};           // next_deadline() has come
struct PeerTransaction {  // a peer's transaction, from the TLS peer `fingerprint`
  RequestId request = 0;
  std::string fingerprint;
  std::string body;
};
struct PostAnswered {  // the peer answered Post{party, path, tx}
  std::string party;
  PathIndex path = 0;
  std::string tx;
  int http_status = 0;
  std::string body;
};
struct PostFailed {  // Post{party, path, tx} got no answer (connect, I/O, timeout, abandoned)
  std::string party;
  PathIndex path = 0;
  std::string tx;
  std::string reason;
};
struct HeartbeatAnsweredOn {  // the peer answered PostHeartbeat{party, path, id}
  std::string party;
  PathIndex path = 0;
  std::uint64_t id = 0;
};
struct HeartbeatFailedOn {
  std::string party;
  PathIndex path = 0;
  std::uint64_t id = 0;
  std::string reason;
};
// The directory changed (SIGHUP, POST /api/v1/admin/reload): new lines and a new directory,
// checked by the core (check_directory). Valid, they replace the old ones at once for every
// session (sessions, messages and deadlines in flight are kept; a message on a line that is
// gone keeps the deadline it had); invalid, nothing changes. Answered with Reconfigured.
// Newly pinned peers are added; a peer re-pinned or removed needs a restart (its session
// holds messages, heads and deadlines the node cannot hand over).
struct Reconfigure {
  std::vector<Line> lines;
  Directory directory;
  // Peers pinned since start (`parley peer add` while the gateway runs), with what the store
  // holds for them: each gets its session and paths now (issue 17, live reconfiguration).
  // A party the node runs already, or a bundle without a federation address, refuses the
  // whole reconfiguration.
  std::vector<NodePeer> added_peers;
  std::optional<std::size_t> backlog_limit;  // NodeConfig::backlog_limit; none: unchanged
};
// One submission on several lines at once (docs/protocol.md "Broadcasts"): one Submit per
// line, each with its own request (answered by its own Accepted or Rejected), the same
// principal, and `id` (a uuid the caller drew) as each message's MessageRecord::broadcast.
// All or nothing: every Submit is checked first (PeerSession::check_submit, the line's peer
// pinned, and that peer's backlog for a ROUTINE one: NodeConfig::backlog_limit); if one would
// be refused, each request is Rejected with the first refusal, prefixed with its line
// ("line 'x': ..."), and nothing is queued. Else each is handled as a
// Submit, in order, within this one event: their batches join the same group commit.
struct Broadcast {
  std::string id;
  std::vector<Submit> submits;
};
// The answer to Precheck{token}: what held of its items (core/precheck.h), all, some or none
// of them (null: none). Its transaction is then verified with these facts at hand; an answer
// for a token the node does not hold (a restart, a duplicate) is ignored.
struct Prechecked {
  PrecheckToken token = 0;
  std::shared_ptr<const crypto::Facts> facts;
};
struct CommitDue {};  // the driver ran what was ready after ScheduleCommit
struct Committed {    // Commit{commit} is durable, but for the batches refused (by position)
  CommitId commit = 0;
  std::vector<Status> batches;
};
using NodeEvent = std::variant<Start, Tick, Submit, Acknowledge, Show, Cancel, PeerTransaction,
                               PostAnswered, PostFailed, HeartbeatAnsweredOn, HeartbeatFailedOn,
                               Reconfigure, Broadcast, Prechecked, CommitDue, Committed>;

// ---- actions ----
struct ScheduleCommit {};  // feed CommitDue once what is ready now has run
struct CommitBatch {
  std::string party;  // the session that emitted it
  BatchId batch = 0;
  std::vector<Record> records;
};
struct Commit {  // apply every batch in one durable transaction; feed Committed{id}
  CommitId id = 0;
  std::vector<CommitBatch> batches;
};
struct Post {  // POST the transaction to `party` on `path`; feed PostAnswered or PostFailed
  std::string party;
  PathIndex path = 0;
  std::string tx;
  Precedence precedence = Precedence::kRoutine;  // the highest inside
  std::string body;
  Duration timeout{};
  // SendTransaction::log_request: POST /federation/v1/log, not a transaction.
  bool log_request = false;
};
struct PostHeartbeat {  // feed HeartbeatAnsweredOn or HeartbeatFailedOn
  std::string party;
  PathIndex path = 0;
  std::uint64_t id = 0;
  Duration timeout{};
};
struct AbandonPath {  // fail at once whatever is in flight to `party` on `path`
  std::string party;
  PathIndex path = 0;
};
struct PeerNotice {  // Notify a session emitted
  std::string party;
  Notice notice;
};
struct PathNotice {  // a path went up or down, or traffic moved to another path
  enum class Kind { kChanged, kDown, kUp };
  std::string party;
  Kind kind = Kind::kChanged;
  bool alert = false;    // worth an operator's attention (else a log line)
  std::string address;   // the path (kDown, kUp) or the one traffic moved to (kChanged)
  std::string previous;  // kChanged: the path traffic left
  std::string text;      // one human-readable line
};
// Run run_precheck on each item, on any thread, in any order (NodeConfig::precheck), and feed
// Prechecked{token} with the facts established. The peer's transaction waits for the answer
// (and so does every later one of the same peer: they are verified in the order received), so
// every Precheck must be answered, if only with no facts.
struct Precheck {
  PrecheckToken token = 0;
  std::vector<PrecheckItem> items;
};
struct Reconfigured {  // the answer to Reconfigure: OK, or why it was refused (nothing changed)
  Status status;
};
// Answer, Accepted and Rejected as in core/peer_session.h.
using NodeAction = std::variant<ScheduleCommit, Commit, Post, PostHeartbeat, AbandonPath, Answer,
                                Accepted, Rejected, PeerNotice, PathNotice, Reconfigured, Precheck>;

struct NodeCounters {
  std::uint64_t messages_submitted = 0;  // submissions and acks Accepted
  std::uint64_t messages_received = 0;
  std::uint64_t frames_refused = 0;
  std::uint64_t commits = 0;            // group commits made
  std::uint64_t batches_committed = 0;  // batches they carried
  // ROUTINE submissions refused because the peer's queue was at NodeConfig::backlog_limit.
  std::map<std::string, std::uint64_t, std::less<>> refused_backlog;  // by peer party
};

class Node {
 public:
  // `catalog` and `rng` must outlive the node. Peers without a federation address are a
  // bug of the caller (a valid bundle has one).
  Node(NodeConfig config, const catalog::Catalog& catalog, Rng& rng, std::vector<NodePeer> peers);
  ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  // Applies `event`, observed at `now`, and appends the actions it causes to `out`. Bad
  // input from a principal yields Rejected, from a peer an Answer with a refusal.
  void handle(NodeEvent event, Time now, std::vector<NodeAction>& out);

  // When Tick is next due: the earliest session deadline, escalation step, line test or
  // heartbeat. Before Start: none.
  std::optional<Time> next_deadline() const;
  // The earliest session deadline alone (work pending: a retry, a resend, an ack deadline;
  // not an escalation's next re-alert, which recurs until someone acknowledges, nor a line's
  // next automatic test, which recurs for ever).
  std::optional<Time> next_work_deadline() const;
  // Writes wait for a commit, or a commit is being applied.
  bool committing() const { return !writes_.empty() || commit_.has_value(); }

  struct PeerView {
    std::string party;
    const wire::Bundle* bundle = nullptr;
    const PeerSession* session = nullptr;
    const PathMonitor* paths = nullptr;
  };
  std::vector<PeerView> peers() const;  // by party
  const PeerSession* session(const std::string& party) const;
  const NodeConfig& config() const { return config_; }
  // Who is on duty for `role` at `at` (core/roster.h), by the directory in force.
  std::optional<Shift> on_duty(std::string_view role, Time at) const {
    return core::on_duty(config_.directory.roster, role, at);
  }
  const NodeCounters& counters() const { return counters_; }
  // The pinned peer whose TLS certificate has `fingerprint`, if any: its bundle's, or one a
  // rotation of its that we stored announced (PeerSession::peer_chain).
  std::optional<std::string> party_of_fingerprint(const std::string& fingerprint) const;
  // Our key rotations every pinned peer countersigned (PeerSession::rotations_countersigned):
  // the smallest over the peers, all of them (NodeConfig::own) when there is none. The
  // federation certificate we present is the one in force after that rotation (every peer
  // accepts it), docs/protocol.md "Key rotation".
  std::uint64_t rotations_countersigned() const;
  // Peers' transactions waiting for their precheck, or behind one that does.
  std::size_t transactions_held() const;
  // At most this many of one peer's transactions wait for their prechecks: the next is
  // answered 503 at once (the peer sends it again), so that a peer posting faster than the
  // checks run cannot grow the queue without bound.
  static constexpr std::size_t kHeldPerPeerMax = 64;

 private:
  struct Peer;
  using Queued = std::pair<std::string, Event>;  // by party

  void route_submit(Submit submit, std::vector<NodeAction>& out);
  void on_broadcast(Broadcast broadcast, Time now, std::vector<NodeAction>& out);
  // Whether route_submit and the session would accept `submit` now (Broadcast).
  Status check_submit(const Submit& submit, Time now) const;
  void route_acknowledge(Acknowledge ack, std::vector<NodeAction>& out);
  void route_show(Show show);
  void route_cancel(Cancel cancel, std::vector<NodeAction>& out);
  void on_peer_transaction(PeerTransaction e, std::vector<NodeAction>& out);
  void on_prechecked(Prechecked e);
  // Queues the peer's held transactions that are ready, up to the first that is not.
  void release_held(Peer& peer);
  void on_post_outcome(const std::string& party, PathIndex path, PathEvent path_event, Event event,
                       Time now, std::vector<NodeAction>& out);
  void on_commit_due(std::vector<NodeAction>& out);
  void on_committed(const Committed& e, std::vector<NodeAction>& out);
  void on_tick(Time now, bool start, std::vector<NodeAction>& out);
  void on_reconfigure(Reconfigure e, std::vector<NodeAction>& out);
  // Feeds every queued session event, in order, with the actions each causes.
  void drain(Time now, std::vector<NodeAction>& out);
  void carry_out(Peer& peer, Action& action, std::vector<NodeAction>& out);
  void feed_paths(Peer& peer, const PathEvent& event, Time now, std::vector<NodeAction>& out);
  void count(const Notice& notice);
  Peer* find(const std::string& party);
  void add_peer(NodePeer p);
  std::string refuse_added_peers(const std::vector<NodePeer>& added) const;
  Status check_backlog(const Peer& peer, const Submit& submit) const;

  NodeConfig config_;
  const catalog::Catalog& catalog_;
  Rng& rng_;
  std::map<std::string, std::unique_ptr<Peer>> peers_;  // by party
  std::deque<Queued> inbox_;
  std::vector<CommitBatch> writes_;  // waiting for the next commit, in the order emitted
  bool commit_scheduled_ = false;    // ScheduleCommit emitted, CommitDue not yet fed
  std::optional<CommitId> commit_;   // emitted, not yet Committed
  std::vector<std::pair<std::string, BatchId>> in_commit_;  // its batches, in order
  CommitId next_commit_ = 1;
  std::map<PrecheckToken, std::string> prechecks_;  // asked, not answered: by token, the party
  PrecheckToken next_precheck_ = 1;
  bool started_ = false;
  NodeCounters counters_;
};

}  // namespace parley::core
