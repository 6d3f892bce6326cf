// Issue 17, key rotations in the simulator's workload (Scenario::rotation_every;
// docs/protocol.md "Key rotation", docs/simulation.md): a party rotates as an operator does
// with `parley rotate` (the gateway stopped, a statement made by wire::sign_rotation and signed
// by the key in force, with `n` and `epoch` as gateway/home_rotation.cc sets them, the gateway
// started again with the extended core::OwnRotations), and the invariants of the rotation: each
// statement stored anywhere is one its party made, every peer pins each once and in order, and
// at the end every peer's store, its session and the party's own log hold the whole chain.
#include <algorithm>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "parley/base/bytes.h"
#include "parley/base/rng.h"
#include "parley/sim/cluster.h"
#include "parley/store/key_chains.h"
#include "parley/wire/rotation.h"

namespace parley::sim {

using namespace std::chrono_literals;

namespace {

// Of `held` (a store's rotations of one log), what differs from `statements` (the party's
// rotations 1..k, each once, in index order); empty if nothing does.
std::string chain_mismatch(std::vector<core::PutRotation> held,
                           const std::vector<std::string>& statements) {
  std::sort(held.begin(), held.end(), [](const core::PutRotation& a, const core::PutRotation& b) {
    return a.index < b.index;
  });
  if (held.size() != statements.size()) {
    return "holds " + std::to_string(held.size()) + " of its " + std::to_string(statements.size()) +
           " rotations";
  }
  for (std::size_t i = 0; i < held.size(); ++i) {
    if (held[i].n != i + 1) {
      return "entry " + std::to_string(held[i].index) + " is rotation " +
             std::to_string(held[i].n) + " where rotation " + std::to_string(i + 1) + " was due";
    }
    if (held[i].statement != statements[i]) {
      return "entry " + std::to_string(held[i].index) + " is not the statement of rotation " +
             std::to_string(i + 1);
    }
  }
  return "";
}

std::vector<core::PutRotation> of_log(const std::vector<core::PutRotation>& all,
                                      const std::string& peer) {
  std::vector<core::PutRotation> out;
  for (const core::PutRotation& r : all) {
    if (r.peer == peer) out.push_back(r);
  }
  return out;
}

}  // namespace

void Cluster::schedule_rotations() {
  if (scenario_.rotation_every <= 0 || scenario_.rotations_max <= 0) return;
  if (rotations_.next() % static_cast<std::uint64_t>(scenario_.rotation_every) != 0) return;
  const std::int64_t count = rotations_.between(1, scenario_.rotations_max);
  const auto last = static_cast<std::int64_t>(gateways_.size()) - 1;
  for (std::int64_t i = 0; i < count; ++i) {
    const int index = static_cast<int>(rotations_.between(0, last));
    // In the first three quarters of the active phase: messages follow it under the faults.
    const Time t =
        start_ + rotations_.duration(1s, std::max(Duration(1s), scenario_.active * 3 / 4));
    at(t, [this, index] { rotate(index); });
  }
}

void Cluster::rotate(int index) {
  Gateway& g = *gateways_[index];
  // `parley rotate` refuses while the gateway runs: its operator stops it (a crash, to the
  // node: it restarts from its store). A gateway that is down is rotated as it is; the
  // restart pending takes the new rotation.
  if (g.up) crash(g, "stopped by its operator for a key rotation");
  const std::uint64_t n = g.own.statements.size() + 1;
  SeededRng rng(derive(seed_, 9, static_cast<std::uint64_t>(index) * 1000 + n));
  const crypto::Keys fresh = crypto::generate_keys(rng);
  wire::Rotation r;
  r.id = uuid_v7(wall(g), rng);
  r.party = g.party;
  r.n = n;
  r.old_sign_key = g.rotated_keys.empty() ? g.keys.verify : g.rotated_keys.back();
  r.new_sign_key = fresh.verify;
  // The certificate is not simulated: a fingerprint of the party and n stands for it.
  r.new_tls_fingerprint =
      hex_encode(crypto::sha256(as_bytes(g.party + "/rotation/" + std::to_string(n))));
  r.epoch = static_cast<std::uint32_t>(n + 1);  // as gateway/home_rotation.cc
  r.created = wall(g);
  const crypto::SigningKey& in_force = g.own.keys.empty() ? g.keys.signing : g.own.keys.back();
  g.own.statements.push_back(wire::sign_rotation(r, in_force, fresh.signing));
  g.own.keys.push_back(fresh.signing);
  g.rotated_keys.push_back(fresh.verify);
  g.tls_fingerprints.push_back(r.new_tls_fingerprint);
  rotation_ids_[r.id] = index;
  ++outcome_.stats.rotations;
  outcome_.stats.rotation_n_max = std::max(outcome_.stats.rotation_n_max, n);
  trace(&g, "ROTATION " + std::to_string(n) + ": new key " + base64_encode(fresh.verify.bytes) +
                ", epoch " + std::to_string(r.epoch));
  mix(0x2074 + n);
}

std::vector<crypto::VerifyKey> Cluster::chain_keys(const Gateway& g) const {
  std::vector<crypto::VerifyKey> keys{g.keys.verify};
  keys.insert(keys.end(), g.rotated_keys.begin(), g.rotated_keys.end());
  return keys;
}

std::string Cluster::presented_fingerprint(const Gateway& g) const {
  const std::uint64_t n = g.node ? g.node->rotations_countersigned() : 0;
  if (n == 0 || g.tls_fingerprints.empty()) return g.bundle.tls_fingerprint;
  return g.tls_fingerprints[std::min<std::size_t>(n, g.tls_fingerprints.size()) - 1];
}

Result<crypto::SigningKey> Cluster::export_key(Gateway& g, const std::string& peer) {
  PARLEY_ASSIGN_OR_RETURN(const std::vector<core::PutRotation> all, g.store->rotations(g.party));
  std::uint64_t newest = 0;
  for (const core::PutRotation& r : of_log(all, peer)) {
    if (r.n == 0 || r.n > g.own.statements.size() || g.own.statements[r.n - 1] != r.statement) {
      return Status::data_loss("the store holds a rotation " + std::to_string(r.n) +
                               " that is not ours");
    }
    newest = std::max(newest, r.n);
  }
  return newest == 0 ? g.keys.signing : g.own.keys[newest - 1];
}

void Cluster::lose_peer_rotation(Gateway& g, core::Commit& commit) {
  for (core::CommitBatch& batch : commit.batches) {
    for (auto it = batch.records.begin(); it != batch.records.end(); ++it) {
      const auto* r = std::get_if<core::PutRotation>(&*it);
      if (r == nullptr || r->owner == g.party) continue;
      trace(&g, "PLANTED DEFECT: rotation " + std::to_string(r->n) + " of " + r->owner +
                    " left out of its batch");
      batch.records.erase(it);
      rotation_lost_ = true;
      return;
    }
  }
}

void Cluster::observe_rotations(Gateway& g, const std::vector<core::Record>& records) {
  for (const core::Record& record : records) {
    const auto* r = std::get_if<core::PutRotation>(&record);
    if (r == nullptr) continue;
    const int owner = index_of(r->owner);
    const Gateway& o = *gateways_[owner];
    if (r->n == 0 || r->n > o.own.statements.size() || o.own.statements[r->n - 1] != r->statement) {
      violation("rotation-phantom", g.party + " stored a rotation " + std::to_string(r->n) +
                                        " of " + o.party + " that " + o.party + " never made");
      continue;
    }
    if (owner == g.index) continue;  // our own log for a peer: checked at the end
    std::uint64_t& pinned = pinned_[{g.index, owner}];
    if (r->n != pinned + 1) {
      violation("rotation-order", g.party + " pinned rotation " + std::to_string(r->n) + " of " +
                                      o.party + " after rotation " + std::to_string(pinned));
    }
    pinned = std::max(pinned, r->n);
  }
}

void Cluster::observe_rotation_notice(Gateway& g, const core::Notice& notice) {
  const Gateway& o = *gateways_[index_of(notice.peer)];
  const std::uint64_t n = notice.rotation;
  if (n == 0 || n > o.own.statements.size() ||
      notice.tls_fingerprint != o.tls_fingerprints[n - 1]) {
    violation("rotation-phantom", g.party + " announced a rotation " + std::to_string(n) + " of " +
                                      o.party + " that " + o.party + " never made");
    return;
  }
  Result<std::vector<core::PutRotation>> held = g.store->rotations(o.party);
  bool stored = false;
  if (held.is_ok()) {
    for (const core::PutRotation& r : of_log(*held, g.party)) stored = stored || r.n == n;
  }
  if (!stored) {
    violation("notice-before-durable", g.party + " announced rotation " + std::to_string(n) +
                                           " of " + o.party + " before storing it");
  }
}

void Cluster::check_rotation_durable(Gateway& receiver, const std::string& id, int owner) {
  Result<std::vector<core::PutRotation>> held = receiver.store->rotations(gateways_[owner]->party);
  bool stored = false;
  if (held.is_ok()) {
    for (const core::PutRotation& r : of_log(*held, receiver.party)) stored = stored || r.id == id;
  }
  if (!stored) {
    violation("receipt-before-durable", receiver.party + " signed a receipt for rotation " + id +
                                            " of " + gateways_[owner]->party +
                                            " before storing it");
  }
}

void Cluster::check_rotations() {
  for (auto& pp : gateways_) {
    Gateway& p = *pp;
    // A gateway down at the end is not-quiescent already (check_final); nothing to read.
    if (p.own.statements.empty() || !p.up) continue;
    const std::uint64_t k = p.own.statements.size();
    std::set<int> peers;
    for (const LineEnd& end : p.lines) peers.insert(end.peer);
    Result<std::vector<core::PutRotation>> mine = p.store->rotations(p.party);
    for (const int q_index : peers) {
      Gateway& q = *gateways_[q_index];
      if (!q.up) continue;
      const std::string log = p.party + "'s log for " + q.party;
      Result<std::vector<core::PutRotation>> theirs = q.store->rotations(p.party);
      if (!mine.is_ok() || !theirs.is_ok()) {
        violation("store-failed",
                  log + ": " + (mine.is_ok() ? theirs.status() : mine.status()).to_string());
        continue;
      }
      if (std::string m = chain_mismatch(of_log(*mine, q.party), p.own.statements); !m.empty()) {
        violation("rotation-not-appended", p.party + "'s store of " + log + " " + m);
      }
      if (std::string m = chain_mismatch(of_log(*theirs, q.party), p.own.statements); !m.empty()) {
        violation("rotation-unpinned", q.party + "'s store of " + log + " " + m);
        continue;
      }
      // What every reader of p's signatures at q uses, and q's running session.
      Result<ledger::KeyChain> chain = store::pinned_chain(*q.store, p.bundle);
      const core::PeerSession* session = q.node->session(p.party);
      const core::PeerSession* own = p.node->session(q.party);
      if (!chain.is_ok() || chain->newest().key != p.rotated_keys.back() || session == nullptr ||
          session->peer_chain().newest().n != k || own == nullptr ||
          own->own_chain().newest().n != k) {
        violation("rotation-unpinned", q.party + " and " + p.party + " do not both follow " +
                                           p.party + "'s chain to rotation " + std::to_string(k));
        continue;
      }
      outcome_.stats.rotations_pinned += k;
    }
  }
}

}  // namespace parley::sim
