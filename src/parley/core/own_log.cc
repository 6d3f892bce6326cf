#include "parley/core/own_log.h"

#include <algorithm>
#include <utility>

namespace parley::core {

Status OwnLog::recover(RecoveredLedger l) {
  assigned_ = l.log_size;
  durable_ = l.log_size;
  if (l.countersigned) {
    countersigned_size_ = l.countersigned->size;
    countersigned_root_ = l.countersigned->root;
  }
  for (const RecoveredHead& head : l.pending) {
    if (head.size > countersigned_size_) pending_[head.size] = head.root;
  }
  Result<ledger::CompactRange> base =
      ledger::CompactRange::from_nodes(l.base_size, std::move(l.base_nodes));
  if (!base.is_ok() || l.base_size + l.tail.size() != l.log_size) {
    return Status::data_loss("stored transcript frontier is inconsistent (base " +
                             std::to_string(l.base_size) + ", " + std::to_string(l.tail.size()) +
                             " leaves, log size " + std::to_string(l.log_size) + ")");
  }
  tree_ = ledger::FrontierTree(std::move(*base), l.tail);
  return Status::ok();
}

std::uint64_t OwnLog::append(const ledger::Hash& leaf) {
  tree_.append(leaf);
  return assigned_++;
}

bool OwnLog::take_back(std::uint64_t index) {
  if (index + 1 != assigned_ || tree_.tail_size() == 0) return false;
  --assigned_;
  tree_.pop_back();
  return true;
}

Result<ledger::Hash> OwnLog::root(std::uint64_t size) const {
  if (size == tree_.base_size()) return tree_.base().root();
  if (size < tree_.base_size() || size > tree_.size()) {
    return Status::internal("no root for size " + std::to_string(size) + " of our log (frontier " +
                            std::to_string(tree_.base_size()) + ".." +
                            std::to_string(tree_.size()) + ")");
  }
  return ledger::range_hash(0, size, tree_.source());
}

Result<std::vector<ledger::Hash>> OwnLog::inclusion_proof(std::uint64_t index,
                                                          std::uint64_t size) const {
  return ledger::inclusion_proof(index, size, tree_.source());
}

Result<std::vector<wire::ConsistencyItem>> OwnLog::consistency_items(std::uint64_t size,
                                                                     std::size_t items_max) const {
  std::vector<wire::ConsistencyItem> items;
  const auto add = [&](std::uint64_t from, const ledger::Hash& from_root) {
    Result<std::vector<ledger::Hash>> proof = ledger::consistency_proof(from, size, tree_.source());
    if (!proof.is_ok()) return proof.status();
    items.push_back({from, from_root, std::move(*proof)});
    return Status::ok();
  };
  // The head the peer countersigned (C, possibly 0), then each one sent since without an
  // answer, newest first: the peer may have countersigned any of them last.
  PARLEY_RETURN_IF_ERROR(add(countersigned_size_, countersigned_root_));
  for (auto it = pending_.rbegin(); it != pending_.rend(); ++it) {
    if (items.size() >= items_max) break;
    if (it->first >= size || it->first <= countersigned_size_) continue;
    PARLEY_RETURN_IF_ERROR(add(it->first, it->second));
  }
  return items;
}

void OwnLog::sent_head(std::uint64_t size, const ledger::Hash& root) {
  if (size > countersigned_size_) pending_[size] = root;
}

void OwnLog::countersigned(std::uint64_t size, const ledger::Hash& root,
                           std::uint64_t lowest_unreceipted) {
  if (size > countersigned_size_) {
    countersigned_size_ = size;
    countersigned_root_ = root;
  }
  pending_.erase(pending_.begin(), pending_.upper_bound(size));
  tree_.advance(std::min(countersigned_size_, lowest_unreceipted));
}

}  // namespace parley::core
