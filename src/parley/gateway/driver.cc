#include "parley/gateway/driver.h"

#include <chrono>
#include <cstdlib>

#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include "parley/base/check.h"
#include "parley/base/json.h"

namespace parley::gateway {
namespace {

constexpr std::string_view kTransactionsTarget = "/federation/v1/transactions";
constexpr std::string_view kHeartbeatTarget = "/federation/v1/heartbeat";
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

Driver::Driver(boost::asio::io_context& io, Home home, std::unique_ptr<store::Store> store)
    : io_(io),
      home_(std::move(home)),
      store_(std::move(store)),
      catalog_(catalog::Catalog::builtin()),
      allowed_fingerprints_(std::make_shared<std::vector<std::string>>()) {}

Driver::~Driver() { stop(); }

Time Driver::now() const {
  return std::chrono::floor<std::chrono::milliseconds>(std::chrono::system_clock::now());
}

Status Driver::start(net::Handler api_handler) {
  PARLEY_ASSIGN_OR_RETURN(lines_, store_->lines());
  PARLEY_ASSIGN_OR_RETURN(principals_, store_->principals());
  PARLEY_ASSIGN_OR_RETURN(std::vector<core::Peer> peers, store_->peers());

  for (const core::Peer& peer : peers) {
    if (peer.bundle.federation.empty()) {  // a valid bundle has at least one (wire.h)
      return Status::data_loss("pinned peer '" + peer.bundle.party +
                               "' has no federation address; pin its bundle again");
    }
    auto link = std::make_unique<PeerLink>();
    link->party = peer.bundle.party;
    link->bundle = peer.bundle;
    core::SessionConfig config;
    config.party = home_.config.party;
    config.lang = home_.config.lang;
    config.keys = home_.keys;
    config.peer = peer.bundle;
    for (const core::Line& line : lines_) {
      if (line.remote.party == peer.bundle.party) config.lines.push_back(line);
    }
    PARLEY_ASSIGN_OR_RETURN(core::Recovered recovered, store_->recover(peer.bundle.party));
    spdlog::info("peer {}: {} lines, {} unreceipted, {} unacknowledged", peer.bundle.party,
                 config.lines.size(), recovered.unreceipted.size(),
                 recovered.unacknowledged.size());
    link->session = std::make_unique<core::PeerSession>(std::move(config), catalog_, rng_,
                                                        std::move(recovered));
    link->timer = std::make_unique<boost::asio::steady_timer>(io_);
    // One client per address (and one more for heartbeats), each pinned to that address
    // alone: which path carries traffic is the PathMonitor's decision, not the client's.
    for (const std::string& address : peer.bundle.federation) {
      link->clients.push_back(
          net::make_federation_client(io_, {address}, home_.tls, peer.bundle.tls_fingerprint));
      link->heartbeat_clients.push_back(
          net::make_federation_client(io_, {address}, home_.tls, peer.bundle.tls_fingerprint));
    }
    core::PathConfig path_config;
    path_config.heartbeat_interval = home_.config.heartbeat_interval;
    path_config.heartbeat_timeout = home_.config.heartbeat_interval;
    link->paths = std::make_unique<core::PathMonitor>(peer.bundle.federation, path_config);
    link->heartbeat_timer = std::make_unique<boost::asio::steady_timer>(io_);
    allowed_fingerprints_->push_back(peer.bundle.tls_fingerprint);
    links_[peer.bundle.party] = std::move(link);
  }
  for (const core::Line& line : lines_) {
    if (links_.find(line.remote.party) == links_.end()) {
      spdlog::warn("line {}: remote party {} is not a pinned peer; the line is idle", line.id,
                   line.remote.party);
    }
  }

  // Every address is a path the peers may use (primary, backup, ...): listen on all.
  for (const std::string& address : home_.config.federation_listen) {
    PARLEY_ASSIGN_OR_RETURN(wire::HostPort hp, wire::parse_host_port(address));
    PARLEY_ASSIGN_OR_RETURN(
        std::unique_ptr<net::Server> server,
        net::listen_federation(
            io_, hp.host, hp.port, home_.tls, allowed_fingerprints_,
            [this](net::HttpRequest request, std::shared_ptr<net::Responder> responder) {
              on_federation_request(std::move(request), std::move(responder));
            },
            server_limits()));
    federation_servers_.push_back(std::move(server));
  }
  PARLEY_ASSIGN_OR_RETURN(wire::HostPort api, wire::parse_host_port(home_.config.api_listen));
  PARLEY_ASSIGN_OR_RETURN(api_server_, net::listen_http(io_, api.host, api.port,
                                                        std::move(api_handler), server_limits()));

  // Resend whatever the store held unreceipted, arm the deadlines.
  for (auto& [party, link] : links_) feed(*link, core::TimerFired{});
  for (auto& [party, link] : links_) rearm_heartbeat(*link);  // the first heartbeats at once
  ready_ = true;
  spdlog::info("party {} ready: federation {}, api {}", home_.config.party, federation_endpoint(),
               api_endpoint());
  return Status::ok();
}

void Driver::stop() {
  if (stopping_) return;
  stopping_ = true;
  ready_ = false;
  if (api_server_) api_server_->stop();
  for (auto& server : federation_servers_) server->stop();
  for (auto& [party, link] : links_) {
    link->timer->cancel();
    link->heartbeat_timer->cancel();
    for (auto& client : link->clients) client->close();
    for (auto& client : link->heartbeat_clients) client->close();
  }
  for (Subscriber& s : subscribers_) s.stream->close();
  subscribers_.clear();
  // Writes still waiting are made durable (nothing was acknowledged for them yet; recovery
  // picks them up at the next start). Their Persisted events are not fed any more.
  commit_writes();
  inbox_.clear();
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

std::vector<core::Line> Driver::lines_of(const std::string& principal) const {
  std::vector<core::Line> out;
  for (const core::Line& line : lines_) {
    if (line.local == principal || contains(line.alternates, principal)) out.push_back(line);
  }
  return out;
}

std::optional<core::Principal> Driver::principal(const std::string& id) const {
  for (const core::Principal& p : principals_) {
    if (p.id == id) return p;
  }
  return std::nullopt;
}

std::vector<Driver::PeerView> Driver::peers() const {
  std::vector<PeerView> out;
  for (const auto& [party, link] : links_) {
    PeerView view{party, link->bundle.federation, {}, link->session->stats()};
    const std::vector<core::PathStatus>& paths = link->paths->paths();
    for (core::PathIndex i = 0; i < paths.size(); ++i) {
      PathHealth health;
      health.address = paths[i].address;
      health.state = std::string(core::path_state_name(paths[i].state));
      health.active = i == link->paths->best_path();
      health.last_contact = paths[i].last_contact;
      health.last_error = paths[i].last_error;
      view.paths.push_back(std::move(health));
    }
    out.push_back(std::move(view));
  }
  return out;
}

void Driver::subscribe(std::string principal, std::shared_ptr<net::EventStream> stream) {
  subscribers_.push_back({std::move(principal), std::move(stream)});
}

Driver::PeerLink* Driver::link_for_line(const std::string& line) {
  for (const core::Line& l : lines_) {
    if (l.id != line) continue;
    const auto it = links_.find(l.remote.party);
    return it == links_.end() ? nullptr : it->second.get();
  }
  return nullptr;
}

void Driver::submit(core::Submit submit, Done done) {
  if (stopping_) return done(Status::unavailable("the gateway is shutting down"));
  PeerLink* link = link_for_line(submit.line);
  if (link == nullptr) {
    bool known = false;
    for (const core::Line& l : lines_) known = known || l.id == submit.line;
    return done(known ? Status::failed_precondition("line '" + submit.line + "' has no pinned peer")
                      : Status::not_found("unknown line '" + submit.line + "'"));
  }
  submit.request = next_request_++;
  pending_principal_[submit.request] = std::move(done);
  feed(*link, std::move(submit));
}

void Driver::acknowledge(const std::string& principal, const std::string& message_id, Done done) {
  if (stopping_) return done(Status::unavailable("the gateway is shutting down"));
  Result<std::optional<core::MessageRecord>> found = store_->get_message(message_id);
  if (!found.is_ok()) return done(found.status());
  if (!found->has_value()) return done(Status::not_found("unknown message '" + message_id + "'"));
  core::MessageRecord message = std::move(**found);
  const auto it = links_.find(message.peer);
  if (it == links_.end()) {
    return done(Status::failed_precondition("message '" + message_id +
                                            "' is from a party that is no longer pinned"));
  }
  core::Acknowledge ack;
  ack.request = next_request_++;
  ack.principal = principal;
  ack.message = std::move(message);
  pending_principal_[ack.request] = std::move(done);
  feed(*it->second, std::move(ack));
}

void Driver::on_federation_request(net::HttpRequest request,
                                   std::shared_ptr<net::Responder> responder) {
  PeerLink* link = nullptr;
  for (auto& [party, l] : links_) {
    if (l->bundle.tls_fingerprint == request.peer_fingerprint) link = l.get();
  }
  const auto refuse = [&](int status, const std::string& why) {
    net::HttpResponse response;
    response.status = status;
    response.body = wire::encode_refusal({why, ""});
    responder->respond(std::move(response));
  };
  if (link == nullptr) return refuse(403, "unknown peer certificate");
  if (request.method == "POST" && request.target == kHeartbeatTarget) {
    // docs/protocol.md "Heartbeats and paths": the body is ignored.
    net::HttpResponse response;
    response.body =
        json::dump(json::Json{{"party", home_.config.party}, {"time", format_time(now())}});
    return responder->respond(std::move(response));
  }
  if (request.method != "POST" || request.target != kTransactionsTarget) {
    return refuse(404, "no such federation endpoint: " + request.method + " " + request.target);
  }
  if (stopping_) return refuse(503, "the gateway is shutting down");
  core::TransactionReceived event;
  event.request = next_request_++;
  event.body = std::move(request.body);
  pending_peer_[event.request] = std::move(responder);
  feed(*link, std::move(event));
}

void Driver::feed(PeerLink& link, core::Event event) {
  inbox_.emplace_back(link.party, std::move(event));
  drain();
}

void Driver::drain() {
  if (draining_) return;  // the running drain gets to it, in order
  draining_ = true;
  std::set<std::string> fed;
  std::vector<core::Action> actions;
  while (!inbox_.empty()) {
    auto [party, event] = std::move(inbox_.front());
    inbox_.pop_front();
    const auto it = links_.find(party);
    if (it == links_.end()) continue;
    PeerLink& link = *it->second;
    fed.insert(party);
    actions.clear();
    link.session->handle(event, now(), actions);
    for (core::Action& action : actions) carry_out(link, action);
  }
  draining_ = false;
  for (const std::string& party : fed) rearm(*links_.at(party));
  // The group commit runs once the io thread has run what is ready now (more submissions,
  // more peer transactions): everything they persist meanwhile joins the same fsync.
  if (!writes_.empty() && !commit_posted_) {
    commit_posted_ = true;
    boost::asio::post(io_, [this]() {
      commit_posted_ = false;
      commit_writes();
      if (stopping_) {
        inbox_.clear();  // as stop(): durable, but nobody is answered any more
        return;
      }
      drain();
    });
  }
}

void Driver::commit_writes() {
  if (writes_.empty()) return;
  std::vector<Write> writes;
  writes.swap(writes_);
  std::vector<const std::vector<core::Record>*> batches;
  batches.reserve(writes.size());
  for (const Write& w : writes) batches.push_back(&w.records);
  Result<std::vector<Status>> outcome = store_->apply_group(batches);
  if (!outcome.is_ok()) {
    // Batches we cannot make durable must never be acknowledged or receipted, and the
    // sessions cannot un-see them: stop here, recover from the store on restart.
    spdlog::critical("store failed to make {} batches durable: {}; stopping", writes.size(),
                     outcome.status().to_string());
    std::_Exit(70);
  }
  ++counters_.commits;
  counters_.batches_committed += writes.size();
  for (std::size_t i = 0; i < writes.size(); ++i) {
    const Status& status = (*outcome)[i];
    if (status.is_ok()) {
      inbox_.emplace_back(writes[i].party, core::Persisted{writes[i].batch});
    } else {
      // A logical conflict (the store applied nothing of it): the session undoes the batch.
      spdlog::warn("store refused a batch: {}", status.to_string());
      inbox_.emplace_back(writes[i].party, core::PersistRefused{writes[i].batch, status});
    }
  }
}

void Driver::carry_out(PeerLink& link, core::Action& action) {
  std::visit(
      [&](auto& a) {
        using A = std::decay_t<decltype(a)>;
        if constexpr (std::is_same_v<A, core::Persist>) {
          writes_.push_back({link.party, a.batch, std::move(a.records)});
        } else if constexpr (std::is_same_v<A, core::SendTransaction>) {
          const std::string party = link.party;
          const std::string tx = a.tx;
          const core::PathIndex path = link.paths->best_path();
          PARLEY_CHECK(path < link.clients.size());
          link.clients[path]->post(
              std::string(kTransactionsTarget), std::move(a.body), kTransactionTimeout,
              [this, party, tx, path](Result<net::HttpResponse> response) {
                // Deferred so that a client completing inline cannot re-enter feed().
                boost::asio::post(io_, [this, party, tx, path, response = std::move(response)]() {
                  const auto it = links_.find(party);
                  if (it == links_.end() || stopping_) return;
                  PeerLink& l = *it->second;
                  // The path first, so that what the session sends next takes the best one.
                  if (response.is_ok()) {
                    feed_paths(l, core::TrafficAnswered{path});
                    feed(l, core::TransactionAnswered{tx, response->status, response->body});
                  } else {
                    feed_paths(l, core::TrafficFailed{path, response.status().message()});
                    feed(l, core::TransactionFailed{tx, response.status().message()});
                  }
                });
              });
        } else if constexpr (std::is_same_v<A, core::Answer>) {
          const auto it = pending_peer_.find(a.request);
          if (it == pending_peer_.end()) return;
          net::HttpResponse response;
          response.status = a.http_status;
          response.body = std::move(a.body);
          it->second->respond(std::move(response));
          pending_peer_.erase(it);
        } else if constexpr (std::is_same_v<A, core::Accepted>) {
          const auto it = pending_principal_.find(a.request);
          if (it == pending_principal_.end()) return;
          Done done = std::move(it->second);
          pending_principal_.erase(it);
          ++counters_.messages_submitted;
          done(a.message_id);
        } else if constexpr (std::is_same_v<A, core::Rejected>) {
          const auto it = pending_principal_.find(a.request);
          if (it == pending_principal_.end()) return;
          Done done = std::move(it->second);
          pending_principal_.erase(it);
          done(a.status);
        } else if constexpr (std::is_same_v<A, core::Notify>) {
          notify(a.notice);
        }
      },
      action);
}

void Driver::rearm(PeerLink& link) {
  // The delay is computed again after every event, even for an unchanged deadline: the
  // timer waits in steady time, so one kept armed across a wall-clock jump would fire late
  // (docs/simulation.md, "Findings" 2).
  const std::optional<Time> at = link.session->next_deadline();
  link.timer_at = at;
  link.timer->cancel();
  if (!at || stopping_) return;
  const auto delay = std::max(Duration(0), *at - now());
  link.timer->expires_after(delay);
  const std::string party = link.party;
  link.timer->async_wait([this, party](const boost::system::error_code& ec) {
    if (ec || stopping_) return;
    const auto it = links_.find(party);
    if (it == links_.end()) return;
    it->second->timer_at.reset();
    feed(*it->second, core::TimerFired{});
  });
}

void Driver::feed_paths(PeerLink& link, const core::PathEvent& event) {
  std::vector<core::PathAction> actions;
  link.paths->handle(event, now(), actions);
  const std::vector<core::PathStatus>& paths = link.paths->paths();
  for (const core::PathAction& action : actions) {
    if (const auto* send = std::get_if<core::SendHeartbeat>(&action)) {
      const std::string party = link.party;
      const core::PathIndex path = send->path;
      const std::uint64_t id = send->id;
      link.heartbeat_clients[path]->post(
          std::string(kHeartbeatTarget), "{}", send->timeout,
          [this, party, path, id](Result<net::HttpResponse> response) {
            // Deferred so that a client completing inline cannot re-enter feed_paths().
            boost::asio::post(io_, [this, party, path, id, response = std::move(response)]() {
              const auto it = links_.find(party);
              if (it == links_.end() || stopping_) return;
              // Any HTTP answer over the pinned mutual TLS shows the path works.
              if (response.is_ok()) {
                feed_paths(*it->second, core::HeartbeatAnswered{path, id});
              } else {
                feed_paths(*it->second,
                           core::HeartbeatFailed{path, id, response.status().message()});
              }
            });
          });
    } else if (const auto* changed = std::get_if<core::PathChanged>(&action)) {
      if (changed->alert) {
        spdlog::warn("path-changed: peer {}: {}", link.party, changed->reason);
        broadcast_to_peer_streams(link.party, "alert",
                                  json::dump(json::Json{{"kind", "path_changed"},
                                                        {"peer", link.party},
                                                        {"from", paths[changed->from].address},
                                                        {"to", paths[changed->to].address},
                                                        {"text", changed->reason}}));
      } else {
        // The first answers at start settle the order: worth a line, not an alert.
        spdlog::info("path-changed: peer {}: {}", link.party, changed->reason);
      }
      // A transaction in flight on a path now down would only time out: abandon it, so the
      // session resends it (same id, the peer is idempotent) on the new path at once.
      if (paths[changed->from].state == core::PathState::kDown) {
        link.clients[changed->from]->close();
      }
    } else if (const auto* state = std::get_if<core::PathStateChanged>(&action)) {
      if (state->to == core::PathState::kDown) {
        spdlog::warn("path-down: peer {}: {}", link.party, state->reason);
        broadcast_to_peer_streams(link.party, "alert",
                                  json::dump(json::Json{{"kind", "path_down"},
                                                        {"peer", link.party},
                                                        {"address", paths[state->path].address},
                                                        {"text", state->reason}}));
      } else {
        spdlog::info("path-up: peer {}: {}", link.party, state->reason);
      }
    }
  }
  rearm_heartbeat(link);
}

void Driver::rearm_heartbeat(PeerLink& link) {
  // Unlike the session's deadlines, a heartbeat is a period of elapsed time: the timer,
  // armed once per beat in steady time, stays armed across wall-clock jumps on purpose.
  const Time at = link.paths->next_deadline();
  if (link.heartbeat_at == at || stopping_) return;  // armed for that time already
  link.heartbeat_at = at;
  link.heartbeat_timer->expires_after(std::max(Duration(0), at - now()));
  const std::string party = link.party;
  link.heartbeat_timer->async_wait([this, party](const boost::system::error_code& ec) {
    if (ec || stopping_) return;
    const auto it = links_.find(party);
    if (it == links_.end()) return;
    it->second->heartbeat_at.reset();
    feed_paths(*it->second, core::HeartbeatDue{});
  });
}

void Driver::broadcast_to_peer_streams(const std::string& peer, const std::string& event,
                                       const std::string& data) {
  std::erase_if(subscribers_, [](const Subscriber& s) { return !s.stream->is_open(); });
  for (Subscriber& s : subscribers_) {
    bool to_them = s.principal.empty();
    for (const core::Line& l : lines_of(s.principal)) to_them = to_them || l.remote.party == peer;
    if (to_them) s.stream->send(event, data);
  }
}

void Driver::notify(const core::Notice& notice) {
  const std::string_view kind = core::notice_kind_name(notice.kind);
  switch (notice.kind) {
    case core::NoticeKind::kMessageReceived:
      ++counters_.messages_received;
      spdlog::info("{}: {}", kind, notice.text);
      break;
    case core::NoticeKind::kDelivered:
    case core::NoticeKind::kAcknowledged:
      spdlog::info("{}: {}", kind, notice.text);
      break;
    case core::NoticeKind::kFrameRefused:
      ++counters_.frames_refused;
      spdlog::warn("{}: {}", kind, notice.text);
      break;
    case core::NoticeKind::kOverdue:
    case core::NoticeKind::kPeerRefused:
    case core::NoticeKind::kLinkTrouble:
    case core::NoticeKind::kMessageRefused:
    case core::NoticeKind::kInboundRefused:
      spdlog::warn("{}: {}", kind, notice.text);
      break;
    case core::NoticeKind::kForkDetected:
      // The peer contradicted a head we countersigned: the evidence is in the store.
      ++counters_.frames_refused;
      spdlog::error("{}: {}", kind, notice.text);
      break;
    case core::NoticeKind::kRefusalRepeats:
      // Retrying will not fix it: the two parties' configurations or keys disagree.
      spdlog::error("{}: {}", kind, notice.text);
      break;
  }
  json::Json data = {{"kind", kind},
                     {"message_id", notice.message_id},
                     {"line", notice.line},
                     {"text", notice.text}};
  const std::string payload = json::dump(data);
  std::string event;
  switch (notice.kind) {
    case core::NoticeKind::kMessageReceived:
      event = "message";
      break;
    case core::NoticeKind::kDelivered:
      event = "delivered";
      break;
    case core::NoticeKind::kAcknowledged:
      event = "acknowledged";
      break;
    case core::NoticeKind::kOverdue:
      event = "overdue";
      break;
    case core::NoticeKind::kMessageRefused:
      event = "refused";
      break;
    case core::NoticeKind::kFrameRefused:
    case core::NoticeKind::kInboundRefused:
    case core::NoticeKind::kRefusalRepeats:
    case core::NoticeKind::kPeerRefused:
    case core::NoticeKind::kLinkTrouble:
    case core::NoticeKind::kForkDetected:
      event = "alert";
      break;
  }
  std::erase_if(subscribers_, [](const Subscriber& s) { return !s.stream->is_open(); });
  for (Subscriber& s : subscribers_) {
    bool on_line = s.principal.empty();
    if (!on_line && !notice.line.empty()) {
      for (const core::Line& l : lines_of(s.principal)) on_line = on_line || l.id == notice.line;
    }
    if (on_line) s.stream->send(event, payload);
  }
}

}  // namespace parley::gateway
