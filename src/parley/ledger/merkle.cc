#include "parley/ledger/merkle.h"

#include <algorithm>
#include <array>
#include <bit>
#include <memory>
#include <string>
#include <utility>

namespace parley::ledger {

namespace {

constexpr std::uint8_t kLeafPrefix = 0x00;  // RFC 6962 §2.1
constexpr std::uint8_t kNodePrefix = 0x01;

// The largest power of two strictly smaller than n (n >= 2): RFC 6962's split point k.
std::uint64_t split_point(std::uint64_t n) { return std::bit_floor(n - 1); }

Status unavailable_node(unsigned level, std::uint64_t index) {
  return Status::failed_precondition("merkle node at level " + std::to_string(level) + " index " +
                                     std::to_string(index) + " is not available");
}

Result<Hash> fetch(const NodeSource& source, unsigned level, std::uint64_t index) {
  std::optional<Hash> hash = source(level, index);
  if (!hash) return unavailable_node(level, index);
  return *hash;
}

// The expected audit path length for `index` in a tree of `size` leaves (0 <= index < size):
// the levels below the point where the paths to `index` and to the last leaf part ("inner"),
// plus one left sibling for each set bit of `index` above it ("border"). Every level of the
// inner part has a sibling; on the border the last leaf's side may be a promoted node.
struct PathShape {
  unsigned inner = 0;
  unsigned border = 0;
};
PathShape path_shape(std::uint64_t index, std::uint64_t size) {
  PathShape shape;
  shape.inner = static_cast<unsigned>(std::bit_width(index ^ (size - 1)));
  shape.border =
      shape.inner >= 64 ? 0u : static_cast<unsigned>(std::popcount(index >> shape.inner));
  return shape;
}

}  // namespace

Hash empty_root() { return crypto::sha256({}); }

Hash leaf_hash(ByteView entry) {
  crypto::Sha256 h;
  h.update(ByteView(&kLeafPrefix, 1));
  h.update(entry);
  return h.finish();
}

Hash node_hash(const Hash& left, const Hash& right) {
  std::array<std::uint8_t, 1 + 2 * crypto::kSha256Bytes> buffer;
  buffer[0] = kNodePrefix;
  std::copy(left.begin(), left.end(), buffer.begin() + 1);
  std::copy(right.begin(), right.end(), buffer.begin() + 1 + crypto::kSha256Bytes);
  return crypto::sha256(buffer);
}

// Level by level: pairs are hashed, and an odd last node is carried up unchanged, which is
// the same tree as RFC 6962's split at the largest power of two.
Hash root_of(const std::vector<Hash>& leaves) {
  if (leaves.empty()) return empty_root();
  std::vector<Hash> level = leaves;
  while (level.size() > 1) {
    std::size_t out = 0;
    for (std::size_t i = 0; i + 1 < level.size(); i += 2) {
      level[out++] = node_hash(level[i], level[i + 1]);
    }
    if (level.size() % 2 == 1) level[out++] = level.back();
    level.resize(out);
  }
  return level.front();
}

// ---- CompactRange ----------------------------------------------------------------------------

Result<CompactRange> CompactRange::from_nodes(std::uint64_t size, std::vector<Hash> nodes) {
  const auto expected = static_cast<std::size_t>(std::popcount(size));
  if (nodes.size() != expected) {
    return Status::invalid_argument("compact range of size " + std::to_string(size) + " needs " +
                                    std::to_string(expected) + " nodes, got " +
                                    std::to_string(nodes.size()));
  }
  CompactRange range;
  range.size_ = size;
  range.nodes_ = std::move(nodes);
  return range;
}

void CompactRange::append(const Hash& leaf) {
  PARLEY_CHECK(size_ != UINT64_MAX);
  // Each trailing one bit of size_ is a perfect subtree the new leaf completes.
  Hash merged = leaf;
  for (std::uint64_t bits = size_; (bits & 1) != 0; bits >>= 1) {
    merged = node_hash(nodes_.back(), merged);
    nodes_.pop_back();
  }
  nodes_.push_back(merged);
  ++size_;
}

Hash CompactRange::root() const {
  if (nodes_.empty()) return empty_root();
  Hash acc = nodes_.back();
  for (std::size_t i = nodes_.size() - 1; i-- > 0;) acc = node_hash(nodes_[i], acc);
  return acc;
}

// ---- range hashes and proofs -----------------------------------------------------------------

Result<Hash> range_hash(std::uint64_t begin, std::uint64_t end, const NodeSource& source) {
  if (begin > end) {
    return Status::invalid_argument("range [" + std::to_string(begin) + ", " + std::to_string(end) +
                                    ") is reversed");
  }
  const std::uint64_t n = end - begin;
  if (n == 0) return empty_root();
  // A perfect subtree: one node from the source.
  if (std::has_single_bit(n) && begin % n == 0) {
    const auto level = static_cast<unsigned>(std::countr_zero(n));
    return fetch(source, level, begin >> level);
  }
  const std::uint64_t k = split_point(n);
  PARLEY_ASSIGN_OR_RETURN(const Hash left, range_hash(begin, begin + k, source));
  PARLEY_ASSIGN_OR_RETURN(const Hash right, range_hash(begin + k, end, source));
  return node_hash(left, right);
}

// RFC 6962 §2.1.1, walked from the root down; the path lists the siblings bottom-up.
Result<std::vector<Hash>> inclusion_proof(std::uint64_t index, std::uint64_t size,
                                          const NodeSource& source) {
  if (index >= size) {
    return Status::invalid_argument("leaf index " + std::to_string(index) +
                                    " is not in a tree of size " + std::to_string(size));
  }
  std::vector<Hash> path;
  std::uint64_t lo = 0;
  std::uint64_t hi = size;
  while (hi - lo > 1) {
    const std::uint64_t k = split_point(hi - lo);
    if (index < lo + k) {
      PARLEY_ASSIGN_OR_RETURN(Hash sibling, range_hash(lo + k, hi, source));
      path.push_back(sibling);
      hi = lo + k;
    } else {
      PARLEY_ASSIGN_OR_RETURN(Hash sibling, range_hash(lo, lo + k, source));
      path.push_back(sibling);
      lo += k;
    }
  }
  std::reverse(path.begin(), path.end());
  return path;
}

namespace {

// One step of RFC 9162 §2.1.3.2's walk: folds proof hash `p` into `r` and moves the
// position (fn) and last position (sn) up the tree.
void inclusion_step(std::uint64_t& fn, std::uint64_t& sn, Hash& r, const Hash& p) {
  if ((fn & 1) != 0 || fn == sn) {
    r = node_hash(p, r);
    if ((fn & 1) == 0) {
      while ((fn & 1) == 0 && fn != 0) {
        fn >>= 1;
        sn >>= 1;
      }
    }
  } else {
    r = node_hash(r, p);
  }
  fn >>= 1;
  sn >>= 1;
}

}  // namespace

Status verify_inclusion(std::uint64_t index, std::uint64_t size, const Hash& leaf,
                        const std::vector<Hash>& proof, const Hash& root) {
  if (index >= size) {
    return Status::invalid_argument("inclusion proof for leaf index " + std::to_string(index) +
                                    " in a tree of size " + std::to_string(size));
  }
  const PathShape shape = path_shape(index, size);
  const std::size_t expected = shape.inner + shape.border;
  if (proof.size() != expected) {
    return Status::invalid_argument("inclusion proof has " + std::to_string(proof.size()) +
                                    " hashes, expected " + std::to_string(expected) +
                                    " for leaf index " + std::to_string(index) +
                                    " in a tree of size " + std::to_string(size));
  }
  // RFC 9162 §2.1.3.2.
  std::uint64_t fn = index;
  std::uint64_t sn = size - 1;
  Hash r = leaf;
  for (const Hash& p : proof) {
    if (sn == 0) return Status::unauthenticated("inclusion proof does not match the root");
    inclusion_step(fn, sn, r, p);
  }
  if (sn != 0 || r != root)
    return Status::unauthenticated("inclusion proof does not match the root");
  return Status::ok();
}

Status InclusionChecker::verify(std::uint64_t index, std::uint64_t size, const Hash& leaf,
                                const std::vector<Hash>& proof, const Hash& root) {
  if (index >= size) return verify_inclusion(index, size, leaf, proof, root);
  const PathShape shape = path_shape(index, size);
  if (proof.size() != shape.inner + shape.border) {
    return verify_inclusion(index, size, leaf, proof, root);  // its refusal, word for word
  }
  const bool reuse = valid_ && size == size_ && root == root_ && proof.size() == proof_.size();
  scratch_.clear();
  // verify_inclusion's walk (RFC 9162 §2.1.3.2), step for step.
  std::uint64_t fn = index;
  std::uint64_t sn = size - 1;
  Hash r = leaf;
  for (std::size_t k = 0; k < proof.size(); ++k) {
    const Hash& p = proof[k];
    if (sn == 0) return Status::unauthenticated("inclusion proof does not match the root");
    inclusion_step(fn, sn, r, p);
    if (reuse && steps_[k].fn == fn && steps_[k].sn == sn && steps_[k].r == r &&
        std::equal(proof.begin() + static_cast<std::ptrdiff_t>(k + 1), proof.end(),
                   proof_.begin() + static_cast<std::ptrdiff_t>(k + 1))) {
      return Status::ok();  // the rest is the last walk's, which reached `root`
    }
    scratch_.push_back({fn, sn, r});
  }
  if (sn != 0 || r != root) {
    return Status::unauthenticated("inclusion proof does not match the root");
  }
  valid_ = true;
  size_ = size;
  root_ = root;
  proof_ = proof;
  std::swap(steps_, scratch_);
  return Status::ok();
}

// RFC 6962 §2.1.2 SUBPROOF, walked from the root down; the proof lists its hashes bottom-up.
Result<std::vector<Hash>> consistency_proof(std::uint64_t old_size, std::uint64_t new_size,
                                            const NodeSource& source) {
  if (old_size > new_size) {
    return Status::invalid_argument("consistency proof from size " + std::to_string(old_size) +
                                    " to the smaller size " + std::to_string(new_size));
  }
  std::vector<Hash> proof;
  if (old_size == 0 || old_size == new_size) return proof;
  std::uint64_t lo = 0;
  std::uint64_t hi = new_size;
  bool whole_old_tree = true;  // SUBPROOF's b: [lo, hi) starts where the old tree starts
  while (old_size != hi) {
    const std::uint64_t k = split_point(hi - lo);
    if (old_size - lo <= k) {
      PARLEY_ASSIGN_OR_RETURN(Hash right, range_hash(lo + k, hi, source));
      proof.push_back(right);
      hi = lo + k;
    } else {
      PARLEY_ASSIGN_OR_RETURN(Hash left, range_hash(lo, lo + k, source));
      proof.push_back(left);
      lo += k;
      whole_old_tree = false;
    }
  }
  // SUBPROOF(m, D[m], false) = MTH(D[m]): the old tree's last subtree, first in the proof.
  if (!whole_old_tree) {
    PARLEY_ASSIGN_OR_RETURN(Hash last, range_hash(lo, hi, source));
    proof.push_back(last);
  }
  std::reverse(proof.begin(), proof.end());
  return proof;
}

Status verify_consistency(std::uint64_t old_size, std::uint64_t new_size, const Hash& old_root,
                          const Hash& new_root, const std::vector<Hash>& proof) {
  if (old_size > new_size) {
    return Status::invalid_argument("consistency proof from size " + std::to_string(old_size) +
                                    " to the smaller size " + std::to_string(new_size));
  }
  const auto wrong_length = [&](std::size_t expected) {
    return Status::invalid_argument("consistency proof from size " + std::to_string(old_size) +
                                    " to " + std::to_string(new_size) + " has " +
                                    std::to_string(proof.size()) + " hashes, expected " +
                                    std::to_string(expected));
  };
  if (old_size == new_size) {
    if (!proof.empty()) return wrong_length(0);
    if (old_root != new_root)
      return Status::unauthenticated("not consistent: same size, other root");
    return Status::ok();
  }
  if (old_size == 0) {
    // Every tree extends the empty one; only its root is checked.
    if (!proof.empty()) return wrong_length(0);
    if (old_root != empty_root()) {
      return Status::unauthenticated("not consistent: the root of size 0 is not the empty root");
    }
    return Status::ok();
  }
  // The same shape as the audit path of leaf old_size - 1 in the new tree, less the levels
  // of the old tree's last perfect subtree (its root stands in for them), plus that root
  // itself unless it is the whole old tree (RFC 9162 §2.1.4.2 then prepends old_root).
  const auto shift = static_cast<unsigned>(std::countr_zero(old_size));
  const PathShape shape = path_shape(old_size - 1, new_size);
  const bool old_is_perfect = std::has_single_bit(old_size);
  const std::size_t expected = (old_is_perfect ? 0 : 1) + (shape.inner - shift) + shape.border;
  if (proof.size() != expected) return wrong_length(expected);

  // RFC 9162 §2.1.4.2.
  const Status mismatch = Status::unauthenticated("not consistent");
  std::size_t next = 0;
  const Hash seed = old_is_perfect ? old_root : proof[next++];
  std::uint64_t fn = old_size - 1;
  std::uint64_t sn = new_size - 1;
  while ((fn & 1) != 0) {
    fn >>= 1;
    sn >>= 1;
  }
  Hash fr = seed;
  Hash sr = seed;
  for (; next < proof.size(); ++next) {
    const Hash& c = proof[next];
    if (sn == 0) return mismatch;
    if ((fn & 1) != 0 || fn == sn) {
      fr = node_hash(c, fr);
      sr = node_hash(c, sr);
      while ((fn & 1) == 0 && fn != 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      sr = node_hash(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0 || fr != old_root || sr != new_root) return mismatch;
  return Status::ok();
}

// ---- node sources ----------------------------------------------------------------------------

NodeSource leaves_source(const std::vector<Hash>& leaves) {
  auto shared = std::make_shared<const std::vector<Hash>>(leaves);
  return [shared](unsigned level, std::uint64_t index) -> std::optional<Hash> {
    const std::uint64_t n = shared->size();
    if (level >= 64 || index >= (n >> level)) return std::nullopt;
    const std::uint64_t begin = index << level;
    const std::uint64_t count = std::uint64_t{1} << level;
    std::vector<Hash> span(shared->begin() + static_cast<std::ptrdiff_t>(begin),
                           shared->begin() + static_cast<std::ptrdiff_t>(begin + count));
    return root_of(span);
  };
}

namespace {

// Every node frontier_source answers, computed once (O(tail) hashes and memory) so that the
// source is immutable afterwards: proofs then cost O(log n) lookups, and calls from several
// threads are safe.
class Frontier {
 public:
  Frontier(const CompactRange& base, const std::vector<Hash>& tail)
      : base_size_(base.size()), end_(base.size() + tail.size()), base_nodes_(base.nodes()) {
    PARLEY_CHECK(end_ >= base_size_);  // no overflow of the log size
    // Nodes wholly inside the tail, level by level: children of such a node are too.
    levels_.push_back(Level{base_size_, tail});
    for (unsigned level = 1; level < 64; ++level) {
      const Level& below = levels_.back();
      const std::uint64_t first = ceil_shift(base_size_, level);
      const std::uint64_t last = end_ >> level;
      if (first >= last) break;
      Level here{first, {}};
      here.nodes.reserve(last - first);
      for (std::uint64_t i = first; i < last; ++i) {
        const std::uint64_t left = 2 * i - below.first;
        here.nodes.push_back(node_hash(below.nodes[left], below.nodes[left + 1]));
      }
      levels_.push_back(std::move(here));
    }
    // The one node per level that straddles base_size_, bottom-up (each is built from the
    // one below it, a base node and a tail node).
    straddling_.resize(64);
    for (unsigned level = 1; level < 64; ++level) {
      const std::uint64_t mask = (std::uint64_t{1} << level) - 1;
      if ((base_size_ & mask) == 0) continue;
      const std::uint64_t index = base_size_ >> level;
      if (index >= (end_ >> level)) break;  // it does not fit in the log yet
      const std::optional<Hash> left = get(level - 1, 2 * index);
      const std::optional<Hash> right = get(level - 1, 2 * index + 1);
      PARLEY_CHECK(left && right);
      straddling_[level] = node_hash(*left, *right);
    }
  }

  std::optional<Hash> get(unsigned level, std::uint64_t index) const {
    if (level >= 64 || index >= (end_ >> level)) return std::nullopt;
    const std::uint64_t start = index << level;
    const std::uint64_t end = start + (std::uint64_t{1} << level);
    if (start >= base_size_) {
      const Level& nodes = levels_[level];  // present: this node lies inside the tail
      return nodes.nodes[index - nodes.first];
    }
    if (end <= base_size_) {
      // A compact-range node: bit `level` of the base size, starting where the higher bits end.
      if (((base_size_ >> level) & 1) == 0 || start != ((base_size_ >> level) ^ 1) << level) {
        return std::nullopt;
      }
      const auto above =
          level >= 63 ? 0 : static_cast<std::size_t>(std::popcount(base_size_ >> (level + 1)));
      return base_nodes_[above];
    }
    return straddling_[level];
  }

 private:
  struct Level {
    std::uint64_t first = 0;  // the index of nodes[0] at this level
    std::vector<Hash> nodes;
  };

  static std::uint64_t ceil_shift(std::uint64_t value, unsigned level) {
    const std::uint64_t mask = (std::uint64_t{1} << level) - 1;
    return (value >> level) + ((value & mask) != 0 ? 1 : 0);
  }

  std::uint64_t base_size_;
  std::uint64_t end_;
  std::vector<Hash> base_nodes_;
  std::vector<Level> levels_;
  std::vector<std::optional<Hash>> straddling_;
};

}  // namespace

NodeSource frontier_source(const CompactRange& base, const std::vector<Hash>& tail) {
  auto frontier = std::make_shared<const Frontier>(base, tail);
  return [frontier](unsigned level, std::uint64_t index) { return frontier->get(level, index); };
}

namespace {

std::uint64_t ceil_shift(std::uint64_t value, unsigned level) {
  const std::uint64_t mask = (std::uint64_t{1} << level) - 1;
  return (value >> level) + ((value & mask) != 0 ? 1 : 0);
}

}  // namespace

FrontierTree::FrontierTree() : levels_(kLevels), first_(kLevels, 0), straddling_(kLevels) {}

FrontierTree::FrontierTree(CompactRange base, const std::vector<Hash>& tail) : FrontierTree() {
  base_ = std::move(base);
  end_ = base_.size();
  for (unsigned level = 0; level < kLevels; ++level) first_[level] = ceil_shift(end_, level);
  for (const Hash& leaf : tail) append(leaf);
}

void FrontierTree::append(const Hash& leaf) {
  PARLEY_CHECK(end_ != UINT64_MAX);
  levels_[0].push_back(leaf);
  ++end_;
  // Each level whose node ends at the new size gets that node: wholly in the tail, or the
  // one over the base's end.
  for (unsigned level = 1; level < kLevels; ++level) {
    const std::uint64_t mask = (std::uint64_t{1} << level) - 1;
    if ((end_ & mask) != 0) break;
    const std::uint64_t index = (end_ >> level) - 1;
    if ((index << level) >= base_.size()) {
      const std::optional<Hash> left = get(level - 1, 2 * index);
      const std::optional<Hash> right = get(level - 1, 2 * index + 1);
      PARLEY_CHECK(left && right && index == first_[level] + levels_[level].size());
      levels_[level].push_back(node_hash(*left, *right));
    } else {
      set_straddling(level);
    }
  }
}

void FrontierTree::pop_back() {
  PARLEY_CHECK(end_ > base_.size());
  for (unsigned level = 1; level < kLevels; ++level) {
    const std::uint64_t mask = (std::uint64_t{1} << level) - 1;
    if ((end_ & mask) != 0) break;
    const std::uint64_t index = (end_ >> level) - 1;
    if ((index << level) >= base_.size()) {
      levels_[level].pop_back();
    } else {
      straddling_[level].reset();
    }
  }
  levels_[0].pop_back();
  --end_;
}

void FrontierTree::advance(std::uint64_t size) {
  size = std::min(size, end_);
  if (size <= base_.size()) return;
  for (std::uint64_t i = base_.size(); i < size; ++i) base_.append(levels_[0][i - first_[0]]);
  for (unsigned level = 0; level < kLevels; ++level) {
    const std::uint64_t first = ceil_shift(size, level);
    const std::uint64_t drop =
        std::min<std::uint64_t>(first - std::min(first, first_[level]), levels_[level].size());
    levels_[level].erase(levels_[level].begin(),
                         levels_[level].begin() + static_cast<std::ptrdiff_t>(drop));
    first_[level] = first;
  }
  // Bottom-up: each straddling node is built from the one below it.
  for (unsigned level = 1; level < kLevels; ++level) {
    straddling_[level].reset();
    set_straddling(level);
  }
}

void FrontierTree::set_straddling(unsigned level) {
  const std::uint64_t mask = (std::uint64_t{1} << level) - 1;
  const std::uint64_t base = base_.size();
  if ((base & mask) == 0) return;  // no node of this level straddles the base's end
  const std::uint64_t index = base >> level;
  if (index >= (end_ >> level)) return;  // not complete yet
  const std::optional<Hash> left = get(level - 1, 2 * index);
  const std::optional<Hash> right = get(level - 1, 2 * index + 1);
  PARLEY_CHECK(left && right);
  straddling_[level] = node_hash(*left, *right);
}

std::optional<Hash> FrontierTree::get(unsigned level, std::uint64_t index) const {
  if (level >= kLevels || index >= (end_ >> level)) return std::nullopt;
  const std::uint64_t base = base_.size();
  const std::uint64_t start = index << level;
  const std::uint64_t end = start + (std::uint64_t{1} << level);
  if (start >= base) {
    const std::deque<Hash>& nodes = levels_[level];
    PARLEY_CHECK(index >= first_[level] && index - first_[level] < nodes.size());
    return nodes[index - first_[level]];
  }
  if (end <= base) {
    // A compact-range node: bit `level` of the base size, starting where the higher bits end.
    if (((base >> level) & 1) == 0 || start != ((base >> level) ^ 1) << level) {
      return std::nullopt;
    }
    const auto above =
        level >= 63 ? 0 : static_cast<std::size_t>(std::popcount(base >> (level + 1)));
    return base_.nodes()[above];
  }
  return straddling_[level];
}

NodeSource FrontierTree::source() const {
  return [this](unsigned level, std::uint64_t index) { return get(level, index); };
}

Result<CompactRange> FrontierTree::range_at(std::uint64_t size) const {
  if (size < base_.size() || size > end_) {
    return Status::invalid_argument("no compact range at size " + std::to_string(size) +
                                    " (frontier " + std::to_string(base_.size()) + ".." +
                                    std::to_string(end_) + ")");
  }
  std::vector<Hash> nodes;
  std::uint64_t start = 0;
  for (int level = 63; level >= 0; --level) {
    const std::uint64_t width = std::uint64_t{1} << level;
    if ((size & width) == 0) continue;
    const std::optional<Hash> node = get(static_cast<unsigned>(level), start >> level);
    if (!node) {
      return Status::failed_precondition("node " + std::to_string(level) + "/" +
                                         std::to_string(start >> level) + " is not available");
    }
    nodes.push_back(*node);
    start += width;
  }
  return CompactRange::from_nodes(size, std::move(nodes));
}

}  // namespace parley::ledger
