#include "parley/gateway/driver.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>

#include <boost/asio/post.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "parley/base/check.h"
#include "parley/base/json.h"
#include "parley/gateway/zone_file.h"
#include "parley/meetings/replay.h"
#include "parley/store/node_recovery.h"
#include "parley/store/peer_copy.h"

namespace parley::gateway {
namespace {

constexpr std::string_view kTransactionsTarget = "/federation/v1/transactions";
constexpr std::string_view kHeartbeatTarget = "/federation/v1/heartbeat";
constexpr std::string_view kLogTarget = "/federation/v1/log";
constexpr std::chrono::milliseconds kTransactionTimeout{10'000};

bool contains(const std::vector<std::string>& v, const std::string& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

// docs/protocol.md "Admission": the servers' defaults, with their rate-limited warnings
// (refused handshakes, evictions) in the log.
net::ServerLimits server_limits() {
  net::ServerLimits limits;
  limits.warn = [](const std::string& line) { spdlog::warn("admission: {}", line); };
  return limits;
}

void add(net::AdmissionStats& sum, const net::AdmissionStats& more) {
  for (std::size_t i = 0; i < sum.handshakes_refused.size(); ++i) {
    sum.handshakes_refused[i] += more.handshakes_refused[i];
  }
  sum.connections_evicted += more.connections_evicted;
  sum.connections_refused += more.connections_refused;
  sum.requests_timed_out += more.requests_timed_out;
  sum.connections_open += more.connections_open;
}

}  // namespace

Time SystemClock::now() const {
  return std::chrono::floor<std::chrono::milliseconds>(std::chrono::system_clock::now());
}

void SystemClock::arm(Duration delay, std::function<void()> fire) {
  timer_.cancel();
  timer_.expires_after(delay);
  timer_.async_wait([fire = std::move(fire)](const boost::system::error_code& ec) {
    if (!ec) fire();
  });
}

Driver::Driver(boost::asio::io_context& io, Home home, std::unique_ptr<store::Store> store,
               std::unique_ptr<Clock> clock, const catalog::Catalog& catalog)
    : io_(io),
      home_(std::move(home)),
      store_(std::move(store)),
      catalog_(catalog),
      allowed_fingerprints_(std::make_shared<std::vector<std::string>>()),
      clock_(clock ? std::move(clock) : std::make_unique<SystemClock>(io)),
      search_timer_(io),
      verify_pool_(home_.config.verify_threads == 0
                       ? nullptr
                       : std::make_unique<VerifyPool>(
                             static_cast<std::size_t>(std::max(home_.config.verify_threads, 0)))) {}

Driver::~Driver() { stop(); }

Time Driver::now() const { return clock_->now(); }

void Driver::add_clients(const wire::Bundle& bundle) {
  // One client per address (and one more for heartbeats), each pinned to that address
  // alone: which path carries traffic is the node's decision, not the client's.
  Clients& clients = clients_[bundle.party];
  clients.fingerprints = std::make_shared<std::vector<std::string>>();
  // With the certificate we present now (follow_rotations: our rotations every peer holds).
  const net::TlsIdentity& tls = home_.tls_of(federation_rotation_);
  for (const std::string& address : bundle.federation) {
    clients.transactions.push_back(
        net::make_federation_client(io_, {address}, tls, clients.fingerprints));
    clients.heartbeats.push_back(
        net::make_federation_client(io_, {address}, tls, clients.fingerprints));
  }
  allow_fingerprint(bundle.party, bundle.tls_fingerprint);
  pinned_.push_back(bundle);
}

Status Driver::start(net::Handler api_handler) {
  PARLEY_ASSIGN_OR_RETURN(store::NodeRecovery recovery, store::recover_node(*store_));
  PARLEY_ASSIGN_OR_RETURN(principals_, store_->principals());
  lines_ = recovery.lines;
  PARLEY_ASSIGN_OR_RETURN(zone_, load_zone(home_.config, (home_.dir / "parley.toml").string()));

  core::NodeConfig config;
  config.party = home_.config.party;
  config.lang = home_.config.lang;
  config.keys = home_.keys;
  config.own = home_.own_rotations();  // our key rotations (parley rotate)
  config.lines = std::move(recovery.lines);
  config.directory.principals = principals_;
  PARLEY_ASSIGN_OR_RETURN(config.directory.roster, store_->roster());
  config.directory.zone = zone_;
  config.paths.heartbeat_interval = home_.config.heartbeat_interval;
  config.paths.heartbeat_timeout = home_.config.heartbeat_interval;
  config.transaction_timeout = kTransactionTimeout;
  config.window = static_cast<std::size_t>(home_.config.window);
  config.realert.flash = home_.config.realert.flash;
  config.realert.immediate = home_.config.realert.immediate;
  config.realert.priority = home_.config.realert.priority;
  config.realert.routine = home_.config.realert.routine;
  config.tests.interval = home_.config.test_interval;
  config.tests.answer_within = home_.config.test_answer_within;
  config.backlog_limit = home_.config.backlog_limit;
  // At start, ask each peer what it holds of our logs; after `parley restore`, before anything
  // new is signed for it (docs/operations.md "Backups").
  config.recover_logs = true;
  // Peers' signatures and seals are checked on the pool's threads first (verify_pool.h),
  // unless [federation] verify_threads = 0.
  config.precheck = verify_pool_ != nullptr;
  if (std::error_code ec; std::filesystem::exists(restore_marker_path(home_), ec)) {
    config.recovery_required = true;
    restore_marker_ = restore_marker_path(home_).string();
    spdlog::warn(
        "the store was restored: recovering our logs from every peer before anything "
        "new is signed ({})",
        restore_marker_);
  }
  message_lines_ = std::make_unique<store::StoredMessageLines>(*store_);
  config.messages = message_lines_.get();
  for (const core::NodePeer& peer : recovery.peers) {
    spdlog::info("peer {}: {} unreceipted, {} unacknowledged", peer.bundle.party,
                 peer.recovered.unreceipted.size(), peer.recovered.unacknowledged.size());
    add_clients(peer.bundle);
  }
  // Our clients to observers accept their rotated certificates too (fingerprints.h).
  const FingerprintsOf fingerprints = [this](const wire::Bundle& b) {
    return this->fingerprints(b);
  };
  submitter_ = std::make_unique<CheckpointSubmitter>(io_, home_, home_.tls, *store_, fingerprints);
  forwarder_ = std::make_unique<HeadForwarder>(io_, home_.tls, fingerprints);
  discloser_ =
      std::make_unique<Discloser>(io_,
                                  DiscloserSelf{home_.config.party, home_.keys.verify,
                                                home_.keys.box_secret, home_.keys.box_public},
                                  home_.tls, *store_, rng_, fingerprints);
  for (const core::Line& line : lines_) {
    if (clients_.find(line.remote.party) == clients_.end()) {
      spdlog::warn("line {}: remote party {} is not a pinned peer; the line is idle", line.id,
                   line.remote.party);
    }
  }
  node_ =
      std::make_unique<core::Node>(std::move(config), catalog_, rng_, std::move(recovery.peers));
  // The certificates the peers announced in rotations we stored (docs/protocol.md "Key
  // rotation") are accepted from them too.
  for (const core::Node::PeerView& peer : node_->peers()) {
    for (const ledger::KeyChain::Link& link : peer.session->peer_chain().links()) {
      if (!link.tls_fingerprint.empty()) allow_fingerprint(peer.party, link.tls_fingerprint);
    }
  }

  // Every certificate of ours (the bundle's, each rotation's) is presented to a peer that names
  // it in its SNI, the newest it pinned: one restored from a backup older than our rotation
  // still reaches us, recovers our log and the rotation with it (docs/protocol.md "Federation
  // transport"). Others get the one follow_rotations chose.
  std::vector<net::TlsIdentity> ours = {home_.tls};
  for (const OwnRotation& rotation : home_.rotations) ours.push_back(rotation.tls);
  // Every address is a path the peers may use (primary, backup, ...): listen on all.
  for (const std::string& address : home_.config.federation_listen) {
    PARLEY_ASSIGN_OR_RETURN(wire::HostPort hp, wire::parse_host_port(address));
    PARLEY_ASSIGN_OR_RETURN(
        std::unique_ptr<net::Server> server,
        net::listen_federation(
            io_, hp.host, hp.port, home_.tls, ours, allowed_fingerprints_,
            [this](net::HttpRequest request, std::shared_ptr<net::Responder> responder) {
              on_federation_request(std::move(request), std::move(responder));
            },
            server_limits()));
    federation_servers_.push_back(std::move(server));
  }
  PARLEY_ASSIGN_OR_RETURN(api_server_,
                          listen_api(io_, home_, std::move(api_handler), server_limits()));

  follow_rotations();  // made with the bundle's certificate: the one every peer accepts now
  // Resend whatever the store held unreceipted, the first heartbeats, arm the deadlines; the
  // action items of the meetings are looked at once the timer runs.
  actions_due_ = now();
  feed(core::Start{});
  // What a crash or a schema migration left out of the search index is indexed from now on, a
  // batch at a time between the gateway's work (the store's open does not: schema.cc).
  schedule_search_index();
  ready_ = true;
  spdlog::info("party {} ready: federation {}, api {}", home_.config.party, federation_endpoint(),
               api_endpoint());
  return Status::ok();
}

Result<std::unique_ptr<net::Server>> listen_api(boost::asio::io_context& io, const Home& home,
                                                net::Handler handler, net::ServerLimits limits) {
  PARLEY_ASSIGN_OR_RETURN(const wire::HostPort api, wire::parse_host_port(home.config.api_listen));
  if (!home.config.api_tls) {
    return net::listen_http(io, api.host, api.port, std::move(handler), std::move(limits));
  }
  Result<std::unique_ptr<net::Server>> server = net::listen_https(
      io, api.host, api.port, home.api_tls, std::move(handler), std::move(limits));
  if (!server.is_ok() && server.status().code() == StatusCode::kInvalidArgument) {
    return server.status().with_context(fmt::format("the API's TLS identity ({}, {})",
                                                    home.api_cert_path().string(),
                                                    home.api_key_path().string()));
  }
  return server;
}

void Driver::stop() {
  if (stopping_) return;
  stopping_ = true;
  ready_ = false;
  if (api_server_) api_server_->stop();
  for (auto& server : federation_servers_) server->stop();
  clock_->cancel();
  search_timer_.cancel();  // what is not indexed yet is indexed after the next start
  // Its threads end now, not when the Driver is destroyed: a standby keeps the drivers it
  // stepped down from (lease.h), and their idle workers would pile up.
  if (verify_pool_) verify_pool_->stop();
  for (auto& [party, clients] : clients_) {
    for (auto& client : clients.transactions) client->close();
    for (auto& client : clients.heartbeats) client->close();
  }
  for (Subscriber& s : subscribers_) s.stream->close();
  subscribers_.clear();
  if (submitter_) submitter_->close();
  if (forwarder_) forwarder_->close();
  if (discloser_) discloser_->close();
  // Writes still waiting are made durable (nothing was acknowledged for them yet; recovery
  // picks them up at the next start). Nothing is fed after that commit (feed, stopping).
  if (node_ && !feed_.draining() && !failed_) feed(core::CommitDue{});
}

void Driver::abandon(const std::string& why) {
  failed_ = true;
  // Answered before the connections close, so that the client learns why rather than seeing
  // the connection drop; nothing of theirs was stored.
  std::map<core::RequestId, Done> principals = std::move(pending_principal_);
  pending_principal_.clear();
  for (auto& [request, done] : principals) {
    done(Status::unavailable(why + "; the message was not stored: send it again later"));
  }
  std::map<core::RequestId, std::shared_ptr<net::Responder>> peers = std::move(pending_peer_);
  pending_peer_.clear();
  for (auto& [request, responder] : peers) {
    net::HttpResponse response;
    response.status = 503;
    response.body = wire::encode_refusal({why, ""});
    responder->respond(std::move(response));
  }
  stop();
}

std::string Driver::api_endpoint() const {
  return api_server_ ? api_server_->local_endpoint() : "";
}
std::string Driver::federation_endpoint() const {
  return federation_servers_.empty() ? "" : federation_servers_.front()->local_endpoint();
}

net::AdmissionStats Driver::federation_admission() const {
  net::AdmissionStats sum;
  for (const auto& server : federation_servers_) add(sum, server->admission_stats());
  return sum;
}

net::AdmissionStats Driver::api_admission() const {
  return api_server_ ? api_server_->admission_stats() : net::AdmissionStats{};
}

std::optional<core::Shift> Driver::on_duty(std::string_view role, Time at) const {
  if (!node_) return std::nullopt;
  return node_->on_duty(role, at);
}

std::vector<core::Line> Driver::lines_of(const std::string& principal) const {
  std::vector<core::Line> out;
  for (const core::Line& line : lines_) {
    if (line.local == principal || contains(line.alternates, principal)) out.push_back(line);
  }
  return out;
}

std::vector<core::Line> Driver::lines_read_by(const std::string& id) const {
  const std::optional<core::Principal> p = principal(id);
  if (p && p->role == core::kTranslatorRole && !p->revoked_at) return lines_;
  return lines_of(id);
}

std::optional<core::Principal> Driver::principal(const std::string& id) const {
  for (const core::Principal& p : principals_) {
    if (p.id == id) return p;
  }
  return std::nullopt;
}

std::vector<Driver::PeerView> Driver::peers() const {
  std::vector<PeerView> out;
  if (!node_) return out;
  for (const core::Node::PeerView& peer : node_->peers()) {
    PeerView view{peer.party, peer.bundle->federation, {}, peer.session->stats(), {}, {}};
    if (const auto it = peer_catalogs_.find(peer.party); it != peer_catalogs_.end()) {
      view.catalog = it->second.difference;
      view.catalog_error = it->second.error;
    }
    const auto& refused = node_->counters().refused_backlog;
    if (const auto it = refused.find(peer.party); it != refused.end()) {
      view.refused_backlog = it->second;
    }
    const std::vector<core::PathStatus>& paths = peer.paths->paths();
    for (core::PathIndex i = 0; i < paths.size(); ++i) {
      PathHealth health;
      health.address = paths[i].address;
      health.state = std::string(core::path_state_name(paths[i].state));
      health.active = i == peer.paths->best_path();
      health.last_contact = paths[i].last_contact;
      health.last_error = paths[i].last_error;
      if (const auto party = signed_contacts_.find(peer.party); party != signed_contacts_.end()) {
        if (const auto it = party->second.find(i); it != party->second.end()) {
          health.last_heartbeat = it->second;
        }
      }
      view.paths.push_back(std::move(health));
    }
    out.push_back(std::move(view));
  }
  return out;
}

std::vector<Driver::EscalationView> Driver::escalations() const {
  std::vector<EscalationView> out;
  if (!node_) return out;
  for (const core::Node::PeerView& peer : node_->peers()) {
    for (core::EscalationView& e : peer.session->escalation_view()) {
      out.push_back({peer.party, std::move(e)});
    }
  }
  return out;
}

void Driver::submit(core::Submit submit, Done done) {
  if (stopping_) return done(Status::unavailable("the gateway is shutting down"));
  submit.request = next_request_++;
  if (meetings::is_meeting_type(submit.type)) {
    // A stored step may change the action items (new minutes, an item done): look again.
    done = [this, done = std::move(done)](Result<core::Accepted> accepted) {
      if (accepted.is_ok()) actions_due_ = now();
      done(std::move(accepted));
    };
  }
  pending_principal_[submit.request] = std::move(done);
  feed(std::move(submit));
}

void Driver::broadcast(std::vector<core::Submit> submits, BroadcastDone done) {
  if (stopping_) return done(Status::unavailable("the gateway is shutting down"));
  // One answer per line, gathered; the first refusal is the answer (all lines are refused
  // alike by the core's check, so it names the line at fault).
  struct Gather {
    BroadcastAccepted accepted;
    std::size_t answered = 0;
    std::optional<Status> refused;
    BroadcastDone done;
  };
  auto gather = std::make_shared<Gather>();
  gather->accepted.id = uuid_v7(now(), rng_);
  gather->accepted.messages.resize(submits.size());
  gather->done = std::move(done);
  core::Broadcast event;
  event.id = gather->accepted.id;
  for (std::size_t i = 0; i < submits.size(); ++i) {
    core::Submit& submit = submits[i];
    submit.request = next_request_++;
    pending_principal_[submit.request] = [gather, i,
                                          total = submits.size()](Result<core::Accepted> accepted) {
      if (accepted.is_ok()) {
        gather->accepted.messages[i] = std::move(*accepted);
      } else if (!gather->refused) {
        gather->refused = accepted.status();
      }
      if (++gather->answered < total) return;
      if (gather->refused) return gather->done(*gather->refused);
      gather->done(std::move(gather->accepted));
    };
    event.submits.push_back(std::move(submit));
  }
  feed(std::move(event));
}

void Driver::acknowledge(const std::string& principal, const std::string& message_id, Done done) {
  if (stopping_) return done(Status::unavailable("the gateway is shutting down"));
  // The core finds the message and decides (404, 403, 409): the store is not read here.
  core::Acknowledge ack;
  ack.request = next_request_++;
  ack.principal = principal;
  ack.message_id = message_id;
  pending_principal_[ack.request] = std::move(done);
  feed(std::move(ack));
}

void Driver::cancel(const std::string& principal, const std::string& message_id, Done done) {
  if (stopping_) return done(Status::unavailable("the gateway is shutting down"));
  core::Cancel event;
  event.request = next_request_++;
  event.principal = principal;
  event.message_id = message_id;
  pending_principal_[event.request] = std::move(done);
  feed(std::move(event));
}

void Driver::show(const std::string& principal, const std::string& message_id) {
  if (stopping_ || principal.empty()) return;  // the operator is no principal on a line
  feed(core::Show{principal, message_id});
}

void Driver::on_federation_request(net::HttpRequest request,
                                   std::shared_ptr<net::Responder> responder) {
  const auto refuse = [&](int status, const std::string& why) {
    net::HttpResponse response;
    response.status = status;
    response.body = wire::encode_refusal({why, ""});
    responder->respond(std::move(response));
  };
  if (!node_ || !node_->party_of_fingerprint(request.peer_fingerprint)) {
    return refuse(403, "unknown peer certificate");
  }
  if (request.method == "POST" && request.target == kHeartbeatTarget) {
    return answer_heartbeat(*node_->party_of_fingerprint(request.peer_fingerprint), request,
                            *responder);
  }
  if (request.method == "POST" && request.target == kLogTarget) {
    return answer_log_request(*node_->party_of_fingerprint(request.peer_fingerprint), request,
                              *responder);
  }
  if (request.method == "POST" && request.target == kAddCheckpointTarget) {
    return on_add_checkpoint(request, *responder);
  }
  if (request.method == "POST" && request.target == kForwardedHeadTarget) {
    return on_forwarded_head(request, *responder);
  }
  if (request.method == "POST" && request.target == kDisclosureTarget) {
    return on_disclosure(request, *responder);
  }
  if (request.method != "POST" || request.target != kTransactionsTarget) {
    return refuse(404, "no such federation endpoint: " + request.method + " " + request.target);
  }
  if (stopping_) return refuse(503, "the gateway is shutting down");
  core::PeerTransaction event;
  event.request = next_request_++;
  event.fingerprint = std::move(request.peer_fingerprint);
  event.body = std::move(request.body);
  pending_peer_[event.request] = std::move(responder);
  feed(std::move(event));
}

void Driver::feed(core::NodeEvent event) {
  if (failed_) return;
  if (!feed_.push(std::move(event))) return;  // the running drain gets to it, in order
  for (;;) {
    // An open commit ends once the node has handled all it caused (still inside the drain:
    // what its actions feed is queued, in order).
    if (commit_open_ && !feed_.has_next()) {
      finish_commit();
      if (failed_) return;
      continue;
    }
    std::optional<core::NodeEvent> next = feed_.next();
    if (!next) break;
    if (failed_) return;  // the node cannot un-see a failed commit: it is fed nothing more
    // Once stopping, only the last commit runs: nobody is answered any more.
    if (stopping_ && !std::holds_alternative<core::CommitDue>(*next)) continue;
    actions_.clear();
    node_->handle(std::move(*next), now(), actions_);
    for (core::NodeAction& action : actions_) carry_out(action);
  }
  if (!restore_marker_.empty()) clear_restore_marker();
  if (!home_.rotations.empty()) follow_rotations();
  flush_events();
  rearm();
}

void Driver::clear_restore_marker() {
  for (const core::Node::PeerView& peer : node_->peers()) {
    if (!peer.session->recovery_done()) return;
  }
  std::error_code ec;
  std::filesystem::remove(restore_marker_, ec);
  if (ec) {
    spdlog::error("cannot remove {}: {} (the next start recovers again)", restore_marker_,
                  ec.message());
  } else {
    spdlog::info("recovered our logs from every peer after the restore; removed {}",
                 restore_marker_);
  }
  restore_marker_.clear();
}

void Driver::carry_out(core::NodeAction& action) {
  if (failed_) return;
  if (commit_open_ && !std::holds_alternative<core::PeerNotice>(action) &&
      !std::holds_alternative<core::PathNotice>(action) &&
      !std::holds_alternative<core::Reconfigured>(action) &&
      !std::holds_alternative<core::Precheck>(action)) {
    // Nothing leaves (an answer, a receipt, a transaction, a 201) before the commit is durable.
    after_commit_.push_back(
        [this, deferred = std::move(action)]() mutable { carry_out(deferred); });
    return;
  }
  std::visit(
      [&](auto& a) {
        using A = std::decay_t<decltype(a)>;
        if constexpr (std::is_same_v<A, core::ScheduleCommit>) {
          // After what the io thread has ready now: whatever it persists joins this fsync.
          boost::asio::post(io_, [this]() { feed(core::CommitDue{}); });
        } else if constexpr (std::is_same_v<A, core::Commit>) {
          commit(a);
        } else if constexpr (std::is_same_v<A, core::Post>) {
          post(a);
        } else if constexpr (std::is_same_v<A, core::PostHeartbeat>) {
          post_heartbeat(a);
        } else if constexpr (std::is_same_v<A, core::AbandonPath>) {
          clients_.at(a.party).transactions.at(a.path)->close();
        } else if constexpr (std::is_same_v<A, core::Answer>) {
          const auto it = pending_peer_.find(a.request);
          if (it == pending_peer_.end()) return;
          net::HttpResponse response;
          response.status = a.http_status;
          response.body = std::move(a.body);
          it->second->respond(std::move(response));
          pending_peer_.erase(it);
        } else if constexpr (std::is_same_v<A, core::Accepted> ||
                             std::is_same_v<A, core::Rejected>) {
          const auto it = pending_principal_.find(a.request);
          if (it == pending_principal_.end()) return;
          Done done = std::move(it->second);
          pending_principal_.erase(it);
          if constexpr (std::is_same_v<A, core::Accepted>) {
            done(std::move(a));
          } else {
            done(a.status);
          }
        } else if constexpr (std::is_same_v<A, core::PeerNotice>) {
          if (commit_open_) {
            // Its event joins the open commit; its log line says so only once it is durable.
            after_commit_.push_back([this, notice = a.notice]() { log_notice(notice); });
            publish_of(a.notice);
          } else {
            notify(a.notice);
          }
        } else if constexpr (std::is_same_v<A, core::PathNotice>) {
          on_path_notice(a);
        } else if constexpr (std::is_same_v<A, core::Reconfigured>) {
          reconfigured_ = std::move(a.status);
        } else if constexpr (std::is_same_v<A, core::Precheck>) {
          precheck(a);
        }
      },
      action);
}

void Driver::precheck(core::Precheck& asked) {
  // On a worker thread: the facts go to the io thread, where the node is fed.
  PARLEY_CHECK(verify_pool_ != nullptr);  // the node asks only if config.precheck
  prechecks_ += asked.items.size();
  verify_pool_->submit(
      std::move(asked.items),
      [this, token = asked.token, alive = std::weak_ptr<const bool>(alive_)](crypto::Facts facts) {
        auto shared = std::make_shared<const crypto::Facts>(std::move(facts));
        boost::asio::post(io_, [this, token, alive, shared = std::move(shared)]() mutable {
          if (alive.expired()) return;
          feed(core::Prechecked{token, std::move(shared)});
        });
      });
}

void Driver::report_split_view(const store::SplitViewRecord& split, const std::string& from) {
  ++split_views_seen_;
  spdlog::error("SPLIT VIEW of {} ({}), from {}: held\n{}\noffered\n{}", split.origin, split.kind,
                from, split.witnessed, split.offered);
  const std::string data = json::dump(json::Json{{"origin", split.origin},
                                                 {"kind", split.kind},
                                                 {"witnessed", split.witnessed},
                                                 {"offered", split.offered},
                                                 {"seen", format_time(split.seen)}});
  store::EventRecord event;
  event.name = "split-view";
  event.data = data;
  event.operator_only = true;
  publish(std::move(event));
  flush_events();
}

void Driver::on_add_checkpoint(const net::HttpRequest& request, net::Responder& responder) {
  const WitnessReply reply = answer_add_checkpoint(
      *store_, witness_identity(home_.config.party, home_.keys.signing),
      witnessed_logs(home_.config.party, pinned_, *store_), request.body, now());
  if (reply.split_view) {
    report_split_view(*reply.split_view,
                      node_->party_of_fingerprint(request.peer_fingerprint).value_or("?"));
  }
  responder.respond(reply.response);
}

void Driver::on_forwarded_head(const net::HttpRequest& request, net::Responder& responder) {
  const std::string from = node_->party_of_fingerprint(request.peer_fingerprint).value_or("");
  const ForwardedReply reply =
      answer_forwarded_head(*store_, home_.config.party, pinned_, from, request.body, now());
  if (reply.split_view) report_split_view(*reply.split_view, from + " (a forwarded head)");
  responder.respond(reply.response);
}

void Driver::on_disclosure(const net::HttpRequest& request, net::Responder& responder) {
  const std::string from = node_->party_of_fingerprint(request.peer_fingerprint).value_or("");
  responder.respond(answer_disclosure(
      *store_, ObserverSelf{home_.config.party, home_.keys.box_secret, home_.keys.box_public},
      pinned_, from, request.body, now()));
}

void Driver::disclose(const core::MessageRecord& message, const std::string& observer,
                      Discloser::Done done) {
  const auto fail = [&](Status s) {
    boost::asio::post(io_, [done, s = std::move(s)]() { done(s); });
  };
  if (stopping_) return fail(Status::unavailable("the gateway is shutting down"));
  const auto line = std::find_if(lines_.begin(), lines_.end(),
                                 [&](const core::Line& l) { return l.id == message.line; });
  if (line == lines_.end() || !contains(line->observers, observer)) {
    return fail(Status::failed_precondition("'" + observer + "' is not an observer of line '" +
                                            message.line +
                                            "': a message is disclosed only to "
                                            "an observer of its line"));
  }
  const auto bundle = [&](const std::string& party) -> const wire::Bundle* {
    const auto it = std::find_if(pinned_.begin(), pinned_.end(),
                                 [&](const wire::Bundle& b) { return b.party == party; });
    return it == pinned_.end() ? nullptr : &*it;
  };
  const wire::Bundle* to = bundle(observer);
  const wire::Bundle* peer = bundle(message.peer);
  if (to == nullptr || peer == nullptr) {
    return fail(Status::failed_precondition("'" + (to == nullptr ? observer : message.peer) +
                                            "' is not a pinned peer of this gateway"));
  }
  discloser_->disclose(message, *peer, *to, std::move(done));
}

void Driver::answer_log_request(const std::string& party, const net::HttpRequest& request,
                                net::Responder& responder) {
  const auto respond = [&](int status, std::string body) {
    net::HttpResponse response;
    response.status = status;
    response.body = std::move(body);
    responder.respond(std::move(response));
  };
  if (stopping_) return respond(503, wire::encode_refusal({"the gateway is shutting down", ""}));
  Result<core::LogRequest> parsed =
      core::parse_log_request(request.body, party, home_.config.party);
  if (!parsed.is_ok()) {
    return respond(http_status(parsed.status().code()),
                   wire::encode_refusal({"log request: " + parsed.status().message(), ""}));
  }
  // Read-only: the answer is what the store holds durably, so no receipt leaves before it is.
  Result<std::string> answer = store::answer_log_request(*store_, *parsed);
  if (!answer.is_ok()) {
    spdlog::error("cannot answer {}'s log request: {}", party, answer.status().message());
    return respond(503, wire::encode_refusal({"cannot read our store now; try again", ""}));
  }
  spdlog::info("answered {}'s log request (after {}, peer_after {})", party, parsed->after,
               parsed->peer_after);
  respond(200, std::move(*answer));
}

void Driver::post(const core::Post& post) {
  if (stopping_) return;
  const std::string party = post.party;
  const std::string tx = post.tx;
  const core::PathIndex path = post.path;
  clients_.at(party).transactions.at(path)->post(
      std::string(post.log_request ? kLogTarget : kTransactionsTarget), post.body, post.timeout,
      [this, party, tx, path](Result<net::HttpResponse> response) {
        // Deferred so that a client completing inline cannot re-enter feed().
        boost::asio::post(io_, [this, party, tx, path, response = std::move(response)]() {
          if (stopping_) return;
          if (response.is_ok()) {
            feed(core::PostAnswered{party, path, tx, response->status, response->body});
          } else {
            feed(core::PostFailed{party, path, tx, response.status().message()});
          }
        });
      });
}

void Driver::rearm() {
  // The delay is computed again after every event, even for an unchanged deadline: the
  // timer waits in steady time, so one kept armed across a wall-clock jump would fire late
  // (docs/simulation.md, "Findings" 2).
  clock_->cancel();
  std::optional<Time> at = node_->next_deadline();
  if (actions_due_) at = at ? std::min(*at, *actions_due_) : actions_due_;
  if (!at || stopping_ || failed_) return;
  clock_->arm(std::max(Duration(0), *at - now()), [this]() {
    if (stopping_ || failed_) return;
    if (actions_due_ && *actions_due_ <= now()) check_actions();
    flush_events();
    feed(core::Tick{});
  });
}

Result<meetings::Book> Driver::meetings_of(const std::vector<std::string>& lines,
                                           std::vector<meetings::Message> pending) const {
  // At most this many meeting steps (the newest) are replayed: a bound on the work done on
  // the gateway's one thread (a line's meetings are a few steps a month).
  constexpr std::size_t kReplayMessagesMax = 100'000;
  if (lines.empty()) return meetings::Book();
  store::MessageQuery q;
  q.lines = lines;
  // Only the meeting steps are read (the store filters by type), not every message of the
  // lines: this runs on the gateway's one thread, ahead of whatever else is waiting.
  for (const std::string_view t : meetings::kMeetingTypes) q.types.emplace_back(t);
  q.limit = kReplayMessagesMax;
  PARLEY_ASSIGN_OR_RETURN(std::vector<core::MessageRecord> stored, store_->list_messages(q));
  // A refused step is kept in the book's refusals (shown with its meeting), not an error here.
  return meetings::replay(stored, std::move(pending));
}

void Driver::check_actions() {
  std::vector<std::string> ids;
  for (const core::Line& l : lines_) ids.push_back(l.id);
  const Result<meetings::Book> book = meetings_of(ids);
  if (!book.is_ok()) {
    spdlog::warn("action items: cannot read the meetings: {}; trying again in a minute",
                 book.status().to_string());
    actions_due_ = now() + std::chrono::minutes(1);
    return;
  }
  for (const meetings::ActionAlert& alert : action_watch_.check(*book, now())) {
    alert_action(alert);
  }
  actions_due_ = action_watch_.next();
}

void Driver::alert_action(const meetings::ActionAlert& alert) {
  const bool overdue = alert.status == meetings::Due::kOverdue;
  const meetings::Action& a = alert.action;
  const std::string text =
      fmt::format("action item {} of meeting \"{}\" ({}) on line {}, owned by {}: \"{}\" {} {}",
                  a.id, alert.title, alert.meeting, alert.line, a.owner, a.text,
                  overdue ? "was due" : "falls due", format_time(a.due));
  const std::string_view kind = overdue ? "action-overdue" : "action-reminder";
  spdlog::warn("{}: {}", kind, text);
  core::Notice notice;
  notice.line = alert.line;
  notice.text = text;
  // The owner, when it is one of ours ("party/principal"), is alerted on the line or not.
  const std::string mine = home_.config.party + "/";
  if (a.owner.rfind(mine, 0) == 0) notice.alerted = {a.owner.substr(mine.size())};
  const json::Json data = {{"kind", overdue ? "action_overdue" : "action_reminder"},
                           {"meeting", alert.meeting},
                           {"title", alert.title},
                           {"line", alert.line},
                           {"action", a.id},
                           {"action_text", a.text},
                           {"owner", a.owner},
                           {"due", format_time(a.due)},
                           {"status", meetings::due_name(alert.status)},
                           {"text", text}};
  publish_notice(notice, "action", json::dump(data));
}

}  // namespace parley::gateway
