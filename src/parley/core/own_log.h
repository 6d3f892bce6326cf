// Our transcript log for one peer (DESIGN.md "Transcript (ledger)"), as far as proofs need
// it: an RFC 6962 log of the envelopes we sent that peer, of which the session holds only
// the frontier (the compact range at a countersigned size, and the leaves after it), the
// head the peer countersigned last (C), and the heads we sent since without a receipt.
// It answers what a transaction carries about the log: the root of a head, each entry's
// inclusion proof, and the consistency proofs from every head the peer may hold. Pure.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "parley/base/status.h"
#include "parley/core/recovered.h"
#include "parley/ledger/merkle.h"
#include "parley/wire/wire.h"

namespace parley::core {

class OwnLog {
 public:
  // The empty log.
  OwnLog() = default;

  // The log as the store held it. An error if the frontier does not hold together: then
  // no root can be computed (no head is signed, so the log is never forked) until an
  // operator looks; the sizes are taken anyway.
  Status recover(RecoveredLedger ledger);

  std::uint64_t assigned() const { return assigned_; }  // entries with an index
  std::uint64_t durable() const { return durable_; }    // of them, known durable
  std::uint64_t base_size() const { return tree_.base_size(); }
  std::uint64_t countersigned_size() const { return countersigned_size_; }

  // Appends the leaf of a new entry (durable once mark_durable); its index.
  std::uint64_t append(const ledger::Hash& leaf);
  void mark_durable(std::uint64_t index) { durable_ = std::max(durable_, index + 1); }
  // Takes back entry `index`, which the store refused. False if later entries exist: the
  // log in memory then holds an entry the store lacks.
  bool take_back(std::uint64_t index);

  // The root at `size` (base_size() <= size <= assigned()).
  Result<ledger::Hash> root(std::uint64_t size) const;
  Result<std::vector<ledger::Hash>> inclusion_proof(std::uint64_t index, std::uint64_t size) const;
  // Consistency from C and from each head sent since (newest first, at most `items_max`
  // in all) to the head at `size`.
  Result<std::vector<wire::ConsistencyItem>> consistency_items(std::uint64_t size,
                                                               std::size_t items_max) const;
  // The compact range at `size`: where proofs start from after a restart.
  Result<ledger::CompactRange> range_at(std::uint64_t size) const { return tree_.range_at(size); }

  // We sent a head (size, root): until a receipt, the peer may hold it.
  void sent_head(std::uint64_t size, const ledger::Hash& root);
  // The peer countersigned the head (size, root). The frontier's base moves up to C, or to
  // `lowest_unreceipted` if an entry below C still waits for a receipt (FLASH overtook it).
  void countersigned(std::uint64_t size, const ledger::Hash& root,
                     std::uint64_t lowest_unreceipted);

 private:
  std::uint64_t assigned_ = 0;
  std::uint64_t durable_ = 0;
  // The first tree_.base_size() entries as a compact range, then the leaf hashes of the
  // entries up to assigned_-1, with the nodes over them kept up to date.
  ledger::FrontierTree tree_;
  std::uint64_t countersigned_size_ = 0;  // C: the peer's latest receipt covers this head
  ledger::Hash countersigned_root_ = ledger::empty_root();
  std::map<std::uint64_t, ledger::Hash> pending_;  // heads sent since C, no receipt yet
};

}  // namespace parley::core
