// Many parties (issue 14): the topology of Scenario::many_parties, the hub's broadcasts and
// their invariant. The rest of the run (faults, principals, invariants) is the standard one:
// nothing here is specific to the number of parties but the topology.
#include <algorithm>
#include <string>

#include "parley/base/check.h"
#include "parley/base/rng.h"
#include "parley/sim/cluster.h"

namespace parley::sim {
namespace {

using namespace std::chrono_literals;

// The hub's principal, on every line of the hub: a broadcast needs one principal on all its
// lines.
constexpr const char* kHubPrincipal = "secretariat";
constexpr const char* kHubAlternate = "deputy-secretariat";

std::string party_name(int i) {
  std::string number = std::to_string(i);
  if (number.size() < 2) number.insert(0, 2 - number.size(), '0');
  return "party-" + number;
}

}  // namespace

Scenario Scenario::many_parties() {
  Scenario s = standard();
  s.name = "many-parties";
  s.three_party_every = 0;
  s.parties = 57;
  s.messages_per_line_direction = 3;
  s.broadcasts = 3;
  s.rotation_every = 1;  // issue 17: every seed, 1 to 3 rotations of random parties
  return s;
}

// Gateway 0 is the hub; gateways 1..n-1 sit on a ring, each with lines to the parties one and
// two places away on either side (so four), and one to the hub.
void Cluster::add_many_parties(int parties) {
  for (int i = 0; i < parties; ++i) {
    auto g = std::make_unique<Gateway>();
    g->index = i;
    g->party = party_name(i);
    g->lang = i % 2 == 0 ? "en" : "ru";
    SeededRng key_rng(derive(seed_, 5, static_cast<std::uint64_t>(i)));
    g->keys = crypto::generate_keys(key_rng);
    g->bundle.party = g->party;
    g->bundle.sign_key = g->keys.verify;
    g->bundle.box_key = g->keys.box_public;
    g->bundle.tls_fingerprint = hex_encode(crypto::sha256(as_bytes(g->party)));
    // Two federation addresses (primary, backup) per party, as the fixed parties have.
    g->bundle.federation = {
        "10.0." + std::to_string(i / 200) + "." + std::to_string(i % 200 + 1) + ":7001",
        "10.1." + std::to_string(i / 200) + "." + std::to_string(i % 200 + 1) + ":7001"};
    g->path = directory_ + "/" + g->party + ".db";
    gateways_.push_back(std::move(g));
  }
  const auto link = [this](int a, int b) {
    Gateway& ga = *gateways_[a];
    Gateway& gb = *gateways_[b];
    const std::string id = "l-" + ga.party + "-" + gb.party;
    const bool hub = a == 0;
    ga.lines.push_back(
        {id, hub ? kHubPrincipal : "to-" + gb.party, hub ? kHubAlternate : "alt-" + gb.party, b});
    gb.lines.push_back({id, "to-" + ga.party, "alt-" + ga.party, a});
  };
  const int ring = parties - 1;
  for (int i = 1; i < parties; ++i) link(0, i);
  for (int k = 0; k < ring; ++k) {
    for (int step = 1; step <= 2 && step * 2 <= ring; ++step) {
      const int a = 1 + k;
      const int b = 1 + (k + step) % ring;
      if (step * 2 == ring && a > b) continue;  // a ring of 4: the opposite party once
      link(std::min(a, b), std::max(a, b));
    }
  }
}

void Cluster::schedule_broadcasts() {
  if (scenario_.broadcasts <= 0 || gateways_.size() <= 3) return;
  for (int i = 0; i < scenario_.broadcasts; ++i) {
    const Time t = start_ + workload_.duration(Duration::zero(), scenario_.active);
    at(t, [this] { broadcast(0); });
  }
}

// The hub's principal sends one message on every line of the hub (core::Broadcast): each
// line's request is answered on its own, as a submission's; a request lost to a crash is
// retried (principal_error) as a single message on its line, which is not the broadcast's.
void Cluster::broadcast(int index) {
  Gateway& g = *gateways_[index];
  SeededRng id_rng(workload_.next());
  const std::string id = uuid_v7(wall(g), id_rng);
  ++outcome_.stats.broadcasts;
  outcome_.stats.submitted += g.lines.size();
  core::Broadcast b;
  b.id = id;
  std::vector<PrincipalRequest> requests;
  for (const LineEnd& end : g.lines) {
    core::Submit s;
    s.request = g.next_request++;
    s.line = end.id;
    s.principal = kHubPrincipal;
    s.precedence = workload_.chance(0.5) ? core::Precedence::kFlash : core::Precedence::kImmediate;
    s.type = "text";
    s.content = wire::Content{"{}", "sim broadcast " + id + " from " + g.party};
    requests.push_back(PrincipalRequest{false, end.id, "", 0});
    b.submits.push_back(std::move(s));
  }
  if (!g.up) {
    trace(&g, "principal cannot reach the gateway to broadcast");
    for (const PrincipalRequest& r : requests) principal_error(g, r);
    return;
  }
  broadcasts_[id] = {index, b.submits.size()};
  for (std::size_t i = 0; i < requests.size(); ++i) g.principal[b.submits[i].request] = requests[i];
  trace(&g, "broadcast " + id + " on " + std::to_string(b.submits.size()) + " lines");
  feed(g, std::move(b));
}

// The sender's store holds all of a broadcast's messages or none: they were written in one
// group commit, so a crash (or a power loss) kept all or lost all. The final checks already
// require each stored message delivered once to its line's receiver.
void Cluster::check_broadcasts() {
  for (const auto& [id, sent] : broadcasts_) {
    Gateway& g = *gateways_[sent.first];
    if (!g.store) continue;  // the final checks report a gateway left down
    store::MessageQuery q;
    q.direction = core::Direction::kOutbound;
    q.broadcast = id;
    q.limit = sent.second + 1;
    Result<std::vector<core::MessageRecord>> held = g.store->list_messages(q);
    if (!held.is_ok()) {
      violation("broadcast-partial",
                g.party + " cannot list broadcast " + id + ": " + held.status().to_string());
      continue;
    }
    outcome_.stats.broadcast_messages += held->size();
    if (!held->empty() && held->size() != sent.second) {
      violation("broadcast-partial", g.party + " holds " + std::to_string(held->size()) + " of " +
                                         std::to_string(sent.second) + " messages of broadcast " +
                                         id);
    }
    std::set<std::string> lines;
    for (const core::MessageRecord& m : *held) lines.insert(m.line);
    if (lines.size() != held->size()) {
      violation("broadcast-partial", "broadcast " + id + " has two messages on one line");
    }
  }
}

}  // namespace parley::sim
