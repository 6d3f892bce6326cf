// merkle: the RFC 6962 Merkle tree (Certificate Transparency, §2.1) that each party's
// transcript log is made of. Pure code: hashes, roots, proofs and their verification.
//
// Hashing (RFC 6962 §2.1):  MTH({}) = SHA-256()
//                           leaf    = SHA-256(0x00 || entry)
//                           node    = SHA-256(0x01 || left || right)
// with a tree of n leaves split at k, the largest power of two smaller than n.
// Proofs are as RFC 6962 §2.1.1 (PATH) and §2.1.2 (PROOF), which RFC 9162 §2.1.3-2.1.4
// restates with the verification algorithms implemented here.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <vector>

#include "parley/base/bytes.h"
#include "parley/base/status.h"
#include "parley/crypto/crypto.h"

namespace parley::ledger {

using Hash = crypto::Digest;

Hash empty_root();                                    // SHA-256 of the empty string
Hash leaf_hash(ByteView entry);                       // SHA-256(0x00 || entry)
Hash node_hash(const Hash& left, const Hash& right);  // SHA-256(0x01 || left || right)

// The Merkle Tree Hash of `leaves` (leaf hashes, in order). O(n).
Hash root_of(const std::vector<Hash>& leaves);

// A compact range [0, size): the roots of the perfect subtrees that make up the first
// `size` leaves, largest (leftmost) first, one per set bit of `size`. O(log n) memory;
// appending is amortized O(1); the root is O(log n). Enough to keep a log's head without
// its history.
class CompactRange {
 public:
  CompactRange() = default;
  // kInvalidArgument unless nodes.size() == popcount(size).
  static Result<CompactRange> from_nodes(std::uint64_t size, std::vector<Hash> nodes);

  void append(const Hash& leaf);
  std::uint64_t size() const { return size_; }
  const std::vector<Hash>& nodes() const { return nodes_; }
  Hash root() const;  // empty_root() when size is 0

 private:
  std::uint64_t size_ = 0;
  std::vector<Hash> nodes_;
};

// Where proof generation gets the hashes it needs: the hash of the perfect subtree of
// 2^level leaves starting at leaf index << level, i.e. covering
// [index * 2^level, (index + 1) * 2^level). Level 0 is a leaf hash. Returns nullopt if it
// is not available (the proof then fails with kFailedPrecondition).
using NodeSource = std::function<std::optional<Hash>(unsigned level, std::uint64_t index)>;

// The hash of the subtree over leaves [begin, end) (any range, not only perfect subtrees),
// as RFC 6962 MTH of D[begin:end], built from perfect subtrees fetched from `source`.
Result<Hash> range_hash(std::uint64_t begin, std::uint64_t end, const NodeSource& source);

// RFC 6962 §2.1.1: the audit path of leaf `index` in the tree of the first `size` leaves.
// kInvalidArgument if index >= size.
Result<std::vector<Hash>> inclusion_proof(std::uint64_t index, std::uint64_t size,
                                          const NodeSource& source);
// RFC 9162 §2.1.3.2. kUnauthenticated "inclusion proof does not match the root" on failure,
// kInvalidArgument for impossible index/size/proof lengths. O(log n).
Status verify_inclusion(std::uint64_t index, std::uint64_t size, const Hash& leaf,
                        const std::vector<Hash>& proof, const Hash& root);

// verify_inclusion for many proofs in a row (the entries of a log, in order), with the same
// result for each. The walk from a leaf to the root is a function of its position, its
// current hash and the proof hashes still to come; the checker keeps the walk of the last proof
// that verified, and a proof whose walk reaches a step of that walk with the same position,
// hash and remaining hashes (against the same root) would repeat the rest of it, so it ends
// there. Consecutive leaves share most of their paths: about two hashes each instead of
// log2(size). One per thread.
class InclusionChecker {
 public:
  Status verify(std::uint64_t index, std::uint64_t size, const Hash& leaf,
                const std::vector<Hash>& proof, const Hash& root);

 private:
  struct Step {  // the walk's state after one proof hash
    std::uint64_t fn = 0;
    std::uint64_t sn = 0;
    Hash r{};
  };
  bool valid_ = false;  // the fields below are a walk that verified
  std::uint64_t size_ = 0;
  Hash root_{};
  std::vector<Hash> proof_;
  std::vector<Step> steps_;
  std::vector<Step> scratch_;
};

// RFC 6962 §2.1.2: the proof that the tree of `old_size` leaves is a prefix of the tree of
// `new_size` leaves. Empty when old_size == new_size or old_size == 0.
Result<std::vector<Hash>> consistency_proof(std::uint64_t old_size, std::uint64_t new_size,
                                            const NodeSource& source);
// RFC 9162 §2.1.4.2. kUnauthenticated "not consistent" on failure. O(log n).
Status verify_consistency(std::uint64_t old_size, std::uint64_t new_size, const Hash& old_root,
                          const Hash& new_root, const std::vector<Hash>& proof);

// A NodeSource over an in-memory vector of leaf hashes (tests, export, small logs):
// computes subtree hashes on demand (O(2^level) each).
NodeSource leaves_source(const std::vector<Hash>& leaves);

// A NodeSource for a log whose first `base.size()` leaves are known only through their
// compact range, followed by `tail` leaf hashes (leaves base.size() .. base.size()+n-1).
// It answers every node that lies inside the tail, every node of the compact range, and
// every node that combines the two; nodes that lie entirely inside the base but are not
// one of its compact-range nodes are unavailable. That is enough for inclusion proofs of
// tail leaves and for consistency proofs from any size >= base.size().
NodeSource frontier_source(const CompactRange& base, const std::vector<Hash>& tail);

// The nodes frontier_source answers, kept up to date while leaves are appended and the base
// moves forward, so that a gateway need not rebuild every node of its unreceipted tail for
// each transaction (that is O(tail) hashes a transaction, and delivery slows as a backlog
// grows). append() costs O(1) hashes amortized, pop_back() and advance() O(log n) plus the
// leaves dropped, get() O(1).
class FrontierTree {
 public:
  FrontierTree();
  // `base`: the compact range of the first base.size() leaves; `tail`: the leaves after it.
  FrontierTree(CompactRange base, const std::vector<Hash>& tail);

  std::uint64_t base_size() const { return base_.size(); }
  std::uint64_t size() const { return end_; }  // leaves in the log
  std::uint64_t tail_size() const { return end_ - base_.size(); }
  const CompactRange& base() const { return base_; }

  void append(const Hash& leaf);
  // Removes the last leaf. Requires tail_size() > 0.
  void pop_back();
  // Moves the base forward to `size` (clamped to [base_size(), size()]), dropping the nodes
  // that no longer lie wholly after it.
  void advance(std::uint64_t size);

  // As frontier_source(base(), the tail) would answer.
  std::optional<Hash> get(unsigned level, std::uint64_t index) const;
  // A NodeSource reading this tree: valid while the tree lives and is not changed.
  NodeSource source() const;
  // The compact range of the first `size` leaves, base_size() <= size <= size().
  Result<CompactRange> range_at(std::uint64_t size) const;

 private:
  static constexpr unsigned kLevels = 64;
  void set_straddling(unsigned level);

  CompactRange base_;
  std::uint64_t end_ = 0;
  // levels_[l]: the nodes of level l wholly inside the tail, from index first_[l] on.
  std::vector<std::deque<Hash>> levels_;
  std::vector<std::uint64_t> first_;
  // straddling_[l]: the node of level l over the base's end, once the log covers it.
  std::vector<std::optional<Hash>> straddling_;
};

}  // namespace parley::ledger
