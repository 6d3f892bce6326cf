// The simulated network of sim::Cluster: calls on paths, partitions, delays, drops.
#include <algorithm>
#include <string>

#include "parley/core/log_recovery.h"
#include "parley/sim/cluster.h"
#include "parley/store/peer_copy.h"
#include "parley/wire/wire.h"

namespace parley::sim {

using namespace std::chrono_literals;

// ---- the network ----

Duration Cluster::delay() {
  if (faults_on() && net_.chance(scenario_.faults.slow * intensity_)) {
    return net_.duration(30ms, std::max(scenario_.faults.slow_max, Duration(30ms)));
  }
  return net_.duration(1ms, 30ms);
}

const Cluster::Partition* Cluster::partition(int a, int b, core::PathIndex path) const {
  const auto it = partitions_.find({std::min(a, b), std::max(a, b)});
  if (it == partitions_.end() || path >= it->second.size()) return nullptr;
  const Partition& p = it->second[path];
  return now_ < p.until ? &p : nullptr;
}

void Cluster::send_request(Gateway& g, const core::Post& post) {
  const int to = index_of(post.party);
  const std::uint64_t id = next_call_++;
  Call call{g.index, g.incarnation, to, post.path, post.tx, post.body, 0, false, false, ""};
  call.fingerprint = presented_fingerprint(g);  // the certificate it connects with
  calls_[id] = std::move(call);
  if (post.log_request) return send_log_request(g, post, id);
  ++outcome_.stats.transactions;
  ++g.requests_seen;
  check_path_choice(g, to, post.path);
  using K = ScriptedFault::Kind;
  const Faults& f = scenario_.faults;
  const bool drop = scripted(K::kDropRequest, g, g.requests_seen) ||
                    (faults_on() && net_.chance(f.drop_request * intensity_));
  const bool duplicate = scripted(K::kDuplicateRequest, g, g.requests_seen) ||
                         (faults_on() && net_.chance(f.duplicate_request * intensity_));
  trace(&g, "-> " + post.party + " path " + std::to_string(post.path) + ": transaction " + post.tx +
                " (call " + std::to_string(id) + ")" + (drop ? " DROPPED" : "") +
                (duplicate ? " DUPLICATED" : ""));
  // The federation client gives up after its timeout.
  after(post.timeout, [this, id, timeout = post.timeout] {
    fail_call(id, "timeout after " + format_duration(timeout));
  });
  if (const Partition* p = partition(g.index, to, post.path)) {
    if (p->refuse) after(delay(), [this, id] { fail_call(id, "connection refused"); });
    return;
  }
  if (drop) {
    ++outcome_.stats.dropped;
    return;
  }
  after(delay(), [this, id] { deliver_request(id); });
  if (duplicate) {
    ++outcome_.stats.duplicated;
    after(delay(), [this, id] { deliver_request(id); });
  }
}

// Heartbeats keep no run going (background), and see the network's partitions and the
// peer's crashes, not its random drops (those are the transactions' business).
void Cluster::send_heartbeat(Gateway& g, const core::PostHeartbeat& beat) {
  const int to = index_of(beat.party);
  const std::uint64_t id = next_call_++;
  calls_[id] = Call{g.index, g.incarnation, to, beat.path, "", "", beat.id, false, false, ""};
  after(
      beat.timeout,
      [this, id, timeout = beat.timeout] {
        fail_call(id, "timeout after " + format_duration(timeout));
      },
      true);
  if (const Partition* p = partition(g.index, to, beat.path)) {
    if (p->refuse)
      after(
          delay(), [this, id] { fail_call(id, "connection refused"); }, true);
    return;
  }
  after(
      delay(), [this, id] { deliver_heartbeat(id); }, true);
}

void Cluster::deliver_heartbeat(std::uint64_t id) {
  const Call& c = calls_.at(id);
  if (!gateways_[c.to]->up) {
    after(
        delay(), [this, id] { fail_call(id, "connection refused"); }, true);
    return;
  }
  if (partition(c.from, c.to, c.path) != nullptr) return;  // lost: the client times out
  // The peer's driver answers a heartbeat itself (Driver::on_federation_request).
  after(
      delay(), [this, id] { answer_arrives(id, 200, "{}"); }, true);
}

// A request for the peer's copy of our logs (core/log_recovery.h): no transaction, so neither
// counted as one nor a target of the scripted faults (they count transactions); the random
// faults and partitions apply as to any call.
void Cluster::send_log_request(Gateway& g, const core::Post& post, std::uint64_t id) {
  const int to = index_of(post.party);
  calls_[id].log_request = true;
  trace(&g, "-> " + post.party + " path " + std::to_string(post.path) + ": log request (call " +
                std::to_string(id) + ")");
  after(post.timeout, [this, id, timeout = post.timeout] {
    fail_call(id, "timeout after " + format_duration(timeout));
  });
  if (const Partition* p = partition(g.index, to, post.path)) {
    if (p->refuse) after(delay(), [this, id] { fail_call(id, "connection refused"); });
    return;
  }
  if (faults_on() && net_.chance(scenario_.faults.drop_request * intensity_)) return;
  after(delay(), [this, id] { deliver_log_request(id); });
}

// The peer's driver answers from its store (gateway/driver.cc answer_log_request).
void Cluster::deliver_log_request(std::uint64_t id) {
  const Call& c = calls_.at(id);
  Gateway& r = *gateways_[c.to];
  if (!r.up) {
    after(delay(), [this, id] { fail_call(id, "connection refused"); });
    return;
  }
  if (partition(c.from, c.to, c.path) != nullptr) return;  // lost: the client times out
  int status = 200;
  std::string body;
  Result<core::LogRequest> request =
      core::parse_log_request(c.body, gateways_[c.from]->party, r.party);
  Result<std::string> answer = request.is_ok() ? store::answer_log_request(*r.store, *request)
                                               : Result<std::string>(request.status());
  if (answer.is_ok()) {
    body = std::move(*answer);
  } else {
    status = request.is_ok() ? 503 : http_status(request.status().code());
    body = wire::encode_refusal({answer.status().message(), ""});
  }
  trace(&r, "answers log request " + std::to_string(id) + " HTTP " + std::to_string(status));
  if (faults_on() && net_.chance(scenario_.faults.drop_response * intensity_)) return;
  after(delay(), [this, id, status, body = std::move(body)] { answer_arrives(id, status, body); });
}

void Cluster::deliver_request(std::uint64_t id) {
  Call& c = calls_.at(id);
  Gateway& r = *gateways_[c.to];
  if (!r.up) {
    after(delay(), [this, id] { fail_call(id, "connection refused"); });
    return;
  }
  if (partition(c.from, c.to, c.path) != nullptr) return;  // lost: the client times out
  const core::RequestId request = r.next_request++;
  r.peer_requests[request] = id;
  feed(r, core::PeerTransaction{request, c.fingerprint, c.body});
}

void Cluster::answer(Gateway& g, core::Answer& a) {
  const auto it = g.peer_requests.find(a.request);
  if (it == g.peer_requests.end()) return;
  const std::uint64_t id = it->second;
  g.peer_requests.erase(it);
  const Call& c = calls_.at(id);
  bool drop = false;
  if (a.http_status == 200) {
    check_receipt_durable(g, a.body, c.from);
    ++g.answers_seen;
    drop = scripted(ScriptedFault::Kind::kDropResponse, g, g.answers_seen);
  }
  drop = drop || (faults_on() && net_.chance(scenario_.faults.drop_response * intensity_));
  trace(&g, "answers call " + std::to_string(id) + " HTTP " + std::to_string(a.http_status) +
                (drop ? " DROPPED" : ""));
  if (drop || partition(g.index, c.from, c.path) != nullptr) {
    ++outcome_.stats.dropped;
    return;  // the client times out
  }
  const int status = a.http_status;
  after(delay(),
        [this, id, status, body = std::move(a.body)] { answer_arrives(id, status, body); });
}

void Cluster::answer_arrives(std::uint64_t id, int status, const std::string& body) {
  Call& c = calls_.at(id);
  if (c.done) return;
  c.done = true;
  Gateway& s = *gateways_[c.from];
  if (!alive(s, c.from_incarnation)) return;
  seen_on(s, c.to, c.path, true);
  const std::string& peer = gateways_[c.to]->party;
  if (c.heartbeat != 0) return feed(s, core::HeartbeatAnsweredOn{peer, c.path, c.heartbeat});
  feed(s, core::PostAnswered{peer, c.path, c.tx, status, body});
}

void Cluster::fail_call(std::uint64_t id, const std::string& reason) {
  Call& c = calls_.at(id);
  if (c.done) return;
  c.done = true;
  Gateway& s = *gateways_[c.from];
  if (!alive(s, c.from_incarnation)) return;
  seen_on(s, c.to, c.path, false);
  const std::string& peer = gateways_[c.to]->party;
  if (c.heartbeat != 0) return feed(s, core::HeartbeatFailedOn{peer, c.path, c.heartbeat, reason});
  feed(s, core::PostFailed{peer, c.path, c.tx, reason});
}

// The simulated network carries out AbandonPath as the daemon's closing of the path's
// transaction client does: what is in flight on it fails a moment later (the client's
// completion is posted to the io thread).
void Cluster::abandon(Gateway& g, const core::AbandonPath& a) {
  const int to = index_of(a.party);
  for (const auto& [id, c] : calls_) {
    if (c.done || c.heartbeat != 0 || c.from != g.index || c.from_incarnation != g.incarnation ||
        c.to != to || c.path != a.path) {
      continue;
    }
    const std::uint64_t call = id;
    trace(&g, "abandons call " + std::to_string(call) + " on path " + std::to_string(a.path));
    after(Duration::zero(), [this, call] { fail_call(call, "abandoned: the path is down"); });
  }
}

}  // namespace parley::sim
