// PeerSession, as the party that rotated its own key (docs/protocol.md "Key rotation"; `parley
// rotate`): the chain of our keys in our log for the peer, the statements appended to that log,
// carried in every transaction until the peer's receipt covers them, and which of our keys
// signs what.
#include <algorithm>
#include <utility>

#include "parley/base/check.h"
#include "parley/core/peer_session.h"
#include "parley/core/session_internal.h"
#include "parley/ledger/transcript.h"

namespace parley::core {

using namespace internal;  // the session's own helpers (session_internal.h)

Status PeerSession::recover_own_chain(const std::vector<PutRotation>& rotations) {
  for (const PutRotation& r : rotations) {
    const std::string where = "our key rotation " + std::to_string(r.n) + " (entry " +
                              std::to_string(r.index) + " of our log for " +
                              single_quoted(config_.peer.party) + ")";
    // The home's statements are the truth of our keys: the store must hold those very ones.
    if (r.n == 0 || r.n > config_.own.statements.size() ||
        config_.own.statements[r.n - 1] != r.statement) {
      return Status::failed_precondition(
          where +
          " is not the statement of this home's keys/rotations/ (the store and the home "
          "do not belong together)");
    }
    Result<wire::Rotation> added = own_chain_.add(r.index, r.statement);
    if (!added.is_ok()) return added.status().with_context(where);
    own_rotation_ids_[added->n] = added->id;
  }
  return Status::ok();
}

const ledger::KeyChain::Link& PeerSession::peer_facing_link() const {
  // A statement at r is covered once the peer countersigned a head of more than r entries:
  // its link's from_index (r + 1) is at most C.
  const std::uint64_t countersigned = own_.countersigned_size();
  const std::vector<ledger::KeyChain::Link>& links = own_chain_.links();
  const auto it = std::find_if(links.rbegin(), links.rend(), [&](const ledger::KeyChain::Link& l) {
    return l.from_index <= countersigned;
  });
  return *it;  // links[0] starts at 0
}

const crypto::SigningKey& PeerSession::signing_of(const ledger::KeyChain::Link& link) const {
  if (link.n == 0) return config_.keys.signing;
  // A link joins own_chain_ only from a statement of config_.own (recover_own_chain,
  // append_own_rotations), so its key is there.
  PARLEY_CHECK(link.n <= config_.own.keys.size());
  return config_.own.keys[link.n - 1];
}

Result<crypto::SealKey> PeerSession::own_seal_key(std::uint32_t epoch) {
  if (epoch == 1) return seal_key_;
  if (const auto it = seal_keys_.find(epoch); it != seal_keys_.end()) return it->second;
  // The key of an epoch is the pair's, whoever's epoch it is (crypto::derive_seal_key): the
  // peer's epochs and ours share the cache.
  PARLEY_ASSIGN_OR_RETURN(const crypto::SealKey key,
                          crypto::derive_seal_key(config_.keys.box_secret, config_.keys.box_public,
                                                  config_.peer.box_key, epoch));
  seal_keys_.emplace(epoch, key);
  return key;
}

void PeerSession::append_own_rotations(std::vector<Action>& out) {
  if (build_failed_) return;
  std::vector<Record> records;
  AfterPersist after;
  for (std::uint64_t n = own_chain_.newest().n + 1; n <= config_.own.statements.size(); ++n) {
    const std::string& text = config_.own.statements[n - 1];
    const ledger::Hash leaf = ledger::leaf_hash(as_bytes(text));
    const std::uint64_t index = own_.append(leaf);
    Result<wire::Rotation> r = own_chain_.add(index, text);
    if (!r.is_ok()) {
      // The gateway checked the home's statements at start (gateway/home.h): a bug.
      own_.take_back(index);
      build_failed_ = true;
      counters_.last_error =
          "our key rotation " + std::to_string(n) + " cannot be appended: " + r.status().message();
      out.push_back(Notify{notice(NoticeKind::kLinkTrouble, "", "", counters_.last_error)});
      break;
    }
    own_rotation_ids_[r->n] = r->id;
    PutRotation put;
    put.owner = config_.party;
    put.peer = config_.peer.party;
    put.index = index;
    put.n = r->n;
    put.id = r->id;
    put.statement = text;
    put.new_sign_key = r->new_sign_key;
    put.new_tls_fingerprint = r->new_tls_fingerprint;
    put.epoch = r->epoch;
    records.push_back(std::move(put));
    records.push_back(LogEntry{config_.party, config_.peer.party, index, r->id, leaf});
    after.log_entries.push_back(index);
    after.own_rotations.push_back(r->n);
  }
  if (!records.empty()) persist(std::move(records), std::move(after), out);
}

std::vector<const ledger::KeyChain::Link*> PeerSession::uncovered_rotations() const {
  std::vector<const ledger::KeyChain::Link*> out;
  for (const ledger::KeyChain::Link& link : own_chain_.links()) {
    if (link.n > 0 && link.from_index > own_.countersigned_size()) out.push_back(&link);
  }
  return out;
}

bool PeerSession::rotation_waits() const {
  for (const ledger::KeyChain::Link* link : uncovered_rotations()) {
    const std::uint64_t index = link->from_index - 1;
    const bool carried =
        std::any_of(outbox_.window().begin(), outbox_.window().end(), [&](const InFlight& f) {
          return std::find(f.indices.begin(), f.indices.begin() + f.rotations, index) !=
                 f.indices.begin() + f.rotations;
        });
    if (!carried) return true;
  }
  return false;
}

Status PeerSession::add_rotation_entries(wire::Transaction& tx, InFlight& f, std::size_t& bytes) {
  for (const ledger::KeyChain::Link* link : uncovered_rotations()) {
    const std::uint64_t index = link->from_index - 1;
    if (index >= f.size) continue;  // cannot happen: the head covers every entry assigned
    const std::string& text = config_.own.statements[link->n - 1];
    PARLEY_ASSIGN_OR_RETURN(std::vector<ledger::Hash> proof, own_.inclusion_proof(index, f.size));
    bytes += text.size() + kEntryBytes + kProofHashBytes * proof.size();
    f.ids.push_back(own_rotation_ids_.at(link->n));
    f.indices.push_back(index);
    f.proofs.push_back(proof);
    ++f.rotations;
    wire::TransactionEntry entry{index, text, std::move(proof)};
    entry.rotation = true;
    tx.entries.push_back(std::move(entry));
  }
  return Status::ok();
}

}  // namespace parley::core
