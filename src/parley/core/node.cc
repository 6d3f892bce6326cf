#include "parley/core/node.h"

#include <algorithm>
#include <map>
#include <set>
#include <type_traits>
#include <utility>

#include <fmt/format.h>

#include "parley/base/check.h"
#include "parley/base/text.h"

namespace parley::core {
namespace {

// Only instantiated by a static_assert that fails: Clang sees no use of it otherwise.
template <typename>
[[maybe_unused]] inline constexpr bool kAlwaysFalse = false;

std::optional<Time> earliest(std::optional<Time> a, std::optional<Time> b) {
  if (!a) return b;
  if (!b) return a;
  return std::min(*a, *b);
}

}  // namespace

struct Node::Peer {
  std::string party;
  wire::Bundle bundle;
  std::unique_ptr<PeerSession> session;
  std::unique_ptr<PathMonitor> paths;
  // The transactions posted and not answered yet, by (tx, path); `true` once the path was
  // abandoned under them (AbandonPath): their failure is ours, not a sign of the path. A
  // window of transactions abandoned at once must not count as that many traffic failures
  // (which would keep the path down for traffic_retry_after once it answers again).
  std::map<std::pair<std::string, PathIndex>, bool> posted;
  // The peer's transactions received and not yet fed to its session, in the order received:
  // each waits for its precheck and for every one before it (NodeConfig::precheck).
  struct Held {
    PrecheckToken token = 0;  // 0: none asked
    RequestId request = 0;
    std::string body;
    std::shared_ptr<const crypto::Facts> known;
    bool ready = false;
    std::shared_ptr<const wire::Transaction> parsed;  // `body`, parsed to plan its precheck
  };
  std::deque<Held> held;
};

Node::Node(NodeConfig config, const catalog::Catalog& catalog, Rng& rng,
           std::vector<NodePeer> peers)
    : config_(std::move(config)), catalog_(catalog), rng_(rng) {
  for (NodePeer& p : peers) {
    PARLEY_CHECK(!p.bundle.federation.empty());
    add_peer(std::move(p));
  }
}

void Node::add_peer(NodePeer p) {
  auto peer = std::make_unique<Peer>();
  peer->party = p.bundle.party;
  peer->bundle = p.bundle;
  SessionConfig session;
  session.party = config_.party;
  session.lang = config_.lang;
  session.keys = config_.keys;
  session.own = config_.own;
  session.peer = p.bundle;
  session.realert = config_.realert;
  session.directory = config_.directory;
  session.messages = config_.messages;
  session.tests = config_.tests;
  session.window = config_.window;
  session.recover_at_start = config_.recover_logs;
  session.recovery_required = config_.recovery_required;
  for (const Line& line : config_.lines) {
    if (line.remote.party == p.bundle.party) session.lines.push_back(line);
  }
  peer->session =
      std::make_unique<PeerSession>(std::move(session), catalog_, rng_, std::move(p.recovered));
  peer->paths = std::make_unique<PathMonitor>(p.bundle.federation, config_.paths);
  peers_[peer->party] = std::move(peer);
}

Node::~Node() = default;

Node::Peer* Node::find(const std::string& party) {
  const auto it = peers_.find(party);
  return it == peers_.end() ? nullptr : it->second.get();
}

const PeerSession* Node::session(const std::string& party) const {
  const auto it = peers_.find(party);
  return it == peers_.end() ? nullptr : it->second->session.get();
}

std::optional<std::string> Node::party_of_fingerprint(const std::string& fingerprint) const {
  for (const auto& [party, peer] : peers_) {
    if (peer->bundle.tls_fingerprint == fingerprint) return party;
    // A certificate the peer announced in a rotation we stored (docs/protocol.md "Key
    // rotation"): it switches to it once every one of its peers countersigned the rotation.
    for (const ledger::KeyChain::Link& link : peer->session->peer_chain().links()) {
      if (!link.tls_fingerprint.empty() && link.tls_fingerprint == fingerprint) return party;
    }
  }
  return std::nullopt;
}

std::uint64_t Node::rotations_countersigned() const {
  std::uint64_t n = config_.own.statements.size();
  for (const auto& [party, peer] : peers_)
    n = std::min(n, peer->session->rotations_countersigned());
  return n;
}

std::vector<Node::PeerView> Node::peers() const {
  std::vector<PeerView> out;
  for (const auto& [party, peer] : peers_) {
    out.push_back({party, &peer->bundle, peer->session.get(), peer->paths.get()});
  }
  return out;
}

std::optional<Time> Node::next_work_deadline() const {
  std::optional<Time> at;
  for (const auto& [party, peer] : peers_) at = earliest(at, peer->session->next_deadline());
  return at;
}

std::optional<Time> Node::next_deadline() const {
  if (!started_) return std::nullopt;
  std::optional<Time> at = next_work_deadline();
  for (const auto& [party, peer] : peers_) {
    at = earliest(at, peer->paths->next_deadline());
    at = earliest(at, peer->session->next_alert());
    at = earliest(at, peer->session->next_test());
  }
  return at;
}

void Node::handle(NodeEvent event, Time now, std::vector<NodeAction>& out) {
  std::visit(
      [&](auto& e) {
        using E = std::decay_t<decltype(e)>;
        if constexpr (std::is_same_v<E, Start>) {
          started_ = true;
          on_tick(now, true, out);
        } else if constexpr (std::is_same_v<E, Tick>) {
          on_tick(now, false, out);
        } else if constexpr (std::is_same_v<E, Submit>) {
          route_submit(std::move(e), out);
        } else if constexpr (std::is_same_v<E, Acknowledge>) {
          route_acknowledge(std::move(e), out);
        } else if constexpr (std::is_same_v<E, Show>) {
          route_show(std::move(e));
        } else if constexpr (std::is_same_v<E, Cancel>) {
          route_cancel(std::move(e), out);
        } else if constexpr (std::is_same_v<E, PeerTransaction>) {
          on_peer_transaction(std::move(e), out);
        } else if constexpr (std::is_same_v<E, PostAnswered>) {
          on_post_outcome(e.party, e.path, TrafficAnswered{e.path},
                          TransactionAnswered{e.tx, e.http_status, std::move(e.body)}, now, out);
        } else if constexpr (std::is_same_v<E, PostFailed>) {
          on_post_outcome(e.party, e.path, TrafficFailed{e.path, e.reason},
                          TransactionFailed{e.tx, e.reason}, now, out);
        } else if constexpr (std::is_same_v<E, HeartbeatAnsweredOn>) {
          if (Peer* peer = find(e.party))
            feed_paths(*peer, HeartbeatAnswered{e.path, e.id}, now, out);
        } else if constexpr (std::is_same_v<E, HeartbeatFailedOn>) {
          if (Peer* peer = find(e.party)) {
            feed_paths(*peer, HeartbeatFailed{e.path, e.id, e.reason}, now, out);
          }
        } else if constexpr (std::is_same_v<E, Reconfigure>) {
          on_reconfigure(std::move(e), out);
        } else if constexpr (std::is_same_v<E, Broadcast>) {
          on_broadcast(std::move(e), now, out);
        } else if constexpr (std::is_same_v<E, Prechecked>) {
          on_prechecked(std::move(e));
        } else if constexpr (std::is_same_v<E, CommitDue>) {
          on_commit_due(out);
        } else if constexpr (std::is_same_v<E, Committed>) {
          on_committed(e, out);
        } else {
          static_assert(kAlwaysFalse<E>, "Node: a new NodeEvent kind needs handling here");
        }
      },
      event);
  drain(now, out);
  if (!writes_.empty() && !commit_scheduled_ && !commit_) {
    commit_scheduled_ = true;
    out.emplace_back(ScheduleCommit{});
  }
}

// Why the peers Reconfigure adds cannot be added; "" if they can.
std::string Node::refuse_added_peers(const std::vector<NodePeer>& added) const {
  std::set<std::string> seen;
  for (const NodePeer& p : added) {
    if (p.bundle.party == config_.party) return "a peer cannot be this party itself";
    if (peers_.count(p.bundle.party) != 0 || !seen.insert(p.bundle.party).second) {
      return "peer " + p.bundle.party + " is running already";
    }
    if (p.bundle.federation.empty()) return "peer " + p.bundle.party + " has no federation address";
  }
  return "";
}

void Node::on_reconfigure(Reconfigure e, std::vector<NodeAction>& out) {
  Status status = check_directory(e.lines, e.directory);
  if (const std::string why = refuse_added_peers(e.added_peers); status.is_ok() && !why.empty()) {
    status = Status::invalid_argument(why);
  }
  if (status.is_ok()) {
    config_.lines = std::move(e.lines);
    config_.directory = std::move(e.directory);
    if (e.backlog_limit) config_.backlog_limit = *e.backlog_limit;
    for (NodePeer& p : e.added_peers) add_peer(std::move(p));
    for (auto& [party, peer] : peers_) {
      std::vector<Line> lines;
      for (const Line& line : config_.lines) {
        if (line.remote.party == party) lines.push_back(line);
      }
      peer->session->set_lines(std::move(lines));
      peer->session->set_directory(config_.directory);
      // A line new to the session gets its line test scheduled (core/line_test.h).
      if (started_) inbox_.emplace_back(party, TimerFired{});
    }
  }
  out.emplace_back(Reconfigured{std::move(status)});
}

void Node::route_submit(Submit submit, std::vector<NodeAction>& out) {
  const auto line = std::find_if(config_.lines.begin(), config_.lines.end(),
                                 [&](const Line& l) { return l.id == submit.line; });
  if (line == config_.lines.end()) {
    out.emplace_back(
        Rejected{submit.request, Status::not_found("unknown line '" + submit.line + "'")});
    return;
  }
  Peer* peer = find(line->remote.party);
  if (peer == nullptr) {
    out.emplace_back(Rejected{submit.request, Status::failed_precondition("line '" + submit.line +
                                                                          "' has no pinned peer")});
    return;
  }
  if (Status full = check_backlog(*peer, submit); !full.is_ok()) {
    ++counters_.refused_backlog[peer->party];
    out.emplace_back(Rejected{submit.request, std::move(full)});
    return;
  }
  inbox_.emplace_back(line->remote.party, std::move(submit));
}

// Backpressure: the queue, not the submission, decides; urgent traffic always goes in.
Status Node::check_backlog(const Peer& peer, const Submit& submit) const {
  const std::size_t queued = peer.session->queued();
  if (config_.backlog_limit == 0 || submit.precedence != Precedence::kRoutine ||
      queued < config_.backlog_limit) {
    return Status::ok();
  }
  return Status::resource_exhausted(fmt::format(
      "{} messages are queued for {}, the bound is {}: ROUTINE submissions are refused until "
      "the queue drains (FLASH, IMMEDIATE and PRIORITY are accepted)",
      queued, peer.party, config_.backlog_limit));
}

Status Node::check_submit(const Submit& submit, Time now) const {
  const auto line = std::find_if(config_.lines.begin(), config_.lines.end(),
                                 [&](const Line& l) { return l.id == submit.line; });
  if (line == config_.lines.end()) return Status::not_found("unknown line");
  const auto peer = peers_.find(line->remote.party);
  if (peer == peers_.end()) return Status::failed_precondition("the line has no pinned peer");
  PARLEY_RETURN_IF_ERROR(check_backlog(*peer->second, submit));  // all lines, or none
  return peer->second->session->check_submit(submit, now);
}

void Node::on_broadcast(Broadcast broadcast, Time now, std::vector<NodeAction>& out) {
  Status refused;
  std::set<std::string> lines;
  if (!is_uuid(broadcast.id)) {
    refused = Status::invalid_argument("broadcast id '" + broadcast.id + "' is not a uuid");
  }
  for (const Submit& submit : broadcast.submits) {
    if (!refused.is_ok()) break;
    if (!lines.insert(submit.line).second) {
      refused = Status::invalid_argument("line '" + submit.line + "' is named twice");
    } else if (Status s = check_submit(submit, now); !s.is_ok()) {
      refused = s.with_context("line '" + submit.line + "'");
    }
  }
  for (Submit& submit : broadcast.submits) {
    if (!refused.is_ok()) {
      out.emplace_back(Rejected{submit.request, refused});
      continue;
    }
    submit.broadcast = broadcast.id;
    route_submit(std::move(submit), out);
  }
}

void Node::route_acknowledge(Acknowledge ack, std::vector<NodeAction>& out) {
  // The session that holds the message answers (404, 403, 409 or the ack itself); an id
  // none holds is unknown (core/inbound_acks.h says what is held).
  for (auto& [party, peer] : peers_) {
    if (!peer->session->holds(ack.message_id)) continue;
    inbox_.emplace_back(party, std::move(ack));
    return;
  }
  out.emplace_back(
      Rejected{ack.request, Status::not_found("unknown message '" + ack.message_id + "'")});
}

void Node::route_show(Show show) {
  for (auto& [party, peer] : peers_) {
    if (!peer->session->holds(show.message_id)) continue;
    inbox_.emplace_back(party, std::move(show));
    return;
  }
}

void Node::route_cancel(Cancel cancel, std::vector<NodeAction>& out) {
  // The session that holds the message decides, when the event reaches it: a transaction
  // that the events queued before it start may carry the message first (then it has left).
  for (auto& [party, peer] : peers_) {
    if (!peer->session->holds(cancel.message_id)) continue;
    inbox_.emplace_back(party, std::move(cancel));
    return;
  }
  out.emplace_back(Rejected{cancel.request, Status::not_found("message '" + cancel.message_id +
                                                              "' is not queued to any peer")});
}

void Node::on_peer_transaction(PeerTransaction e, std::vector<NodeAction>& out) {
  const std::optional<std::string> party = party_of_fingerprint(e.fingerprint);
  if (!party) {
    out.emplace_back(
        Answer{e.request, 403, wire::encode_refusal({"unknown peer certificate", ""})});
    return;
  }
  Peer* peer = find(*party);
  PARLEY_CHECK(peer != nullptr);
  if (!config_.precheck) {
    inbox_.emplace_back(*party, TransactionReceived{e.request, std::move(e.body)});
    return;
  }
  if (peer->held.size() >= kHeldPerPeerMax) {
    out.emplace_back(
        Answer{e.request, 503,
               wire::encode_refusal({std::to_string(peer->held.size()) + " transactions of " +
                                         single_quoted(*party) +
                                         " wait for their signature checks: send it again later",
                                     ""})});
    return;
  }
  // A transaction that will not reach its signature checks (malformed, no seal key) asks for
  // none: it is ready at once, and handled at once unless one before it is held.
  std::shared_ptr<const wire::Transaction> parsed;
  std::vector<PrecheckItem> items = peer->session->precheck_items(e.body, parsed);
  Peer::Held held{0, e.request, std::move(e.body), nullptr, items.empty(), std::move(parsed)};
  if (!items.empty()) {
    held.token = next_precheck_++;
    prechecks_.emplace(held.token, *party);
    out.emplace_back(Precheck{held.token, std::move(items)});
  }
  peer->held.push_back(std::move(held));
  release_held(*peer);
}

void Node::on_prechecked(Prechecked e) {
  const auto asked = prechecks_.find(e.token);
  if (asked == prechecks_.end()) return;
  Peer* peer = find(asked->second);
  prechecks_.erase(asked);
  if (peer == nullptr) return;
  for (Peer::Held& held : peer->held) {
    if (held.token != e.token) continue;
    held.known = std::move(e.facts);
    held.ready = true;
    break;
  }
  release_held(*peer);
}

void Node::release_held(Peer& peer) {
  while (!peer.held.empty() && peer.held.front().ready) {
    Peer::Held& held = peer.held.front();
    inbox_.emplace_back(
        peer.party, TransactionReceived{held.request, std::move(held.body), std::move(held.known),
                                        std::move(held.parsed)});
    peer.held.pop_front();
  }
}

std::size_t Node::transactions_held() const {
  std::size_t n = 0;
  for (const auto& [party, peer] : peers_) n += peer->held.size();
  return n;
}

void Node::on_post_outcome(const std::string& party, PathIndex path, PathEvent path_event,
                           Event event, Time now, std::vector<NodeAction>& out) {
  Peer* peer = find(party);
  if (peer == nullptr) return;
  const std::string& tx = std::holds_alternative<TransactionAnswered>(event)
                              ? std::get<TransactionAnswered>(event).tx
                              : std::get<TransactionFailed>(event).tx;
  bool abandoned = false;
  if (const auto it = peer->posted.find({tx, path}); it != peer->posted.end()) {
    abandoned = it->second;
    peer->posted.erase(it);
  }
  // The path first, so that what the session sends next takes the best one.
  const bool says_nothing = abandoned && std::holds_alternative<TrafficFailed>(path_event);
  if (path < peer->paths->paths().size() && !says_nothing) feed_paths(*peer, path_event, now, out);
  inbox_.emplace_back(party, std::move(event));
}

void Node::on_tick(Time now, bool start, std::vector<NodeAction>& out) {
  for (auto& [party, peer] : peers_) {
    // At start every session runs once: it resends whatever the store held unreceipted.
    const std::optional<Time> due =
        earliest(earliest(peer->session->next_deadline(), peer->session->next_alert()),
                 peer->session->next_test());
    if (start || (due && *due <= now)) inbox_.emplace_back(party, TimerFired{});
  }
  for (auto& [party, peer] : peers_) {
    if (peer->paths->next_deadline() <= now) feed_paths(*peer, HeartbeatDue{}, now, out);
  }
}

void Node::on_commit_due(std::vector<NodeAction>& out) {
  commit_scheduled_ = false;
  if (writes_.empty() || commit_) return;
  Commit commit;
  commit.id = next_commit_++;
  for (const CommitBatch& w : writes_) in_commit_.emplace_back(w.party, w.batch);
  commit.batches.swap(writes_);
  commit_ = commit.id;
  ++counters_.commits;
  counters_.batches_committed += commit.batches.size();
  out.emplace_back(std::move(commit));
}

void Node::on_committed(const Committed& e, std::vector<NodeAction>&) {
  // A Committed that does not match the Commit in flight is the driver's bug.
  PARLEY_CHECK(commit_ && e.commit == *commit_ && e.batches.size() == in_commit_.size());
  for (std::size_t i = 0; i < in_commit_.size(); ++i) {
    auto& [party, batch] = in_commit_[i];
    if (e.batches[i].is_ok()) {
      inbox_.emplace_back(party, Persisted{batch});
    } else {
      // Refused alone (the store applied nothing of it): the session undoes the batch.
      inbox_.emplace_back(party, PersistRefused{batch, e.batches[i]});
    }
  }
  commit_.reset();
  in_commit_.clear();
}

void Node::drain(Time now, std::vector<NodeAction>& out) {
  std::vector<Action> actions;
  while (!inbox_.empty()) {
    auto [party, event] = std::move(inbox_.front());
    inbox_.pop_front();
    Peer* peer = find(party);
    if (peer == nullptr) continue;
    actions.clear();
    peer->session->handle(event, now, actions);
    for (Action& action : actions) carry_out(*peer, action, out);
  }
}

void Node::carry_out(Peer& peer, Action& action, std::vector<NodeAction>& out) {
  std::visit(
      [&](auto& a) {
        using A = std::decay_t<decltype(a)>;
        if constexpr (std::is_same_v<A, Persist>) {
          writes_.push_back({peer.party, a.batch, std::move(a.records)});
        } else if constexpr (std::is_same_v<A, SendTransaction>) {
          // The path is chosen as the transaction leaves: the best one now.
          const PathIndex path = peer.paths->best_path();
          peer.posted[{a.tx, path}] = false;
          out.emplace_back(Post{peer.party, path, std::move(a.tx), a.precedence, std::move(a.body),
                                config_.transaction_timeout, a.log_request});
        } else if constexpr (std::is_same_v<A, Accepted>) {
          ++counters_.messages_submitted;
          out.emplace_back(std::move(a));
        } else if constexpr (std::is_same_v<A, Answer> || std::is_same_v<A, Rejected>) {
          out.emplace_back(std::move(a));
        } else if constexpr (std::is_same_v<A, Notify>) {
          count(a.notice);
          out.emplace_back(PeerNotice{peer.party, std::move(a.notice)});
        } else {
          static_assert(kAlwaysFalse<A>, "Node: a new session Action kind needs carrying out here");
        }
      },
      action);
}

void Node::feed_paths(Peer& peer, const PathEvent& event, Time now, std::vector<NodeAction>& out) {
  std::vector<PathAction> actions;
  peer.paths->handle(event, now, actions);
  const std::vector<PathStatus>& paths = peer.paths->paths();
  for (const PathAction& action : actions) {
    if (const auto* send = std::get_if<SendHeartbeat>(&action)) {
      out.emplace_back(PostHeartbeat{peer.party, send->path, send->id, send->timeout});
    } else if (const auto* changed = std::get_if<PathChanged>(&action)) {
      out.emplace_back(PathNotice{peer.party, PathNotice::Kind::kChanged, changed->alert,
                                  paths[changed->to].address, paths[changed->from].address,
                                  changed->reason});
      // A transaction in flight on a path now down would only time out: abandon it, so the
      // session resends it (same id, the peer is idempotent) on the new path at once.
      if (paths[changed->from].state == PathState::kDown) {
        for (auto& [posted, abandoned] : peer.posted) {
          if (posted.second == changed->from) abandoned = true;
        }
        out.emplace_back(AbandonPath{peer.party, changed->from});
      }
    } else if (const auto* state = std::get_if<PathStateChanged>(&action)) {
      const bool down = state->to == PathState::kDown;
      out.emplace_back(PathNotice{peer.party,
                                  down ? PathNotice::Kind::kDown : PathNotice::Kind::kUp, down,
                                  paths[state->path].address, "", state->reason});
    }
  }
}

void Node::count(const Notice& notice) {
  switch (notice.kind) {
    case NoticeKind::kMessageReceived:
      ++counters_.messages_received;
      break;
    case NoticeKind::kFrameRefused:
    case NoticeKind::kForkDetected:
      ++counters_.frames_refused;
      break;
    default:
      break;
  }
}

}  // namespace parley::core
