// libFuzzer target: the Merkle proofs of the transcript log (ledger/merkle.h), fed
// arbitrary proofs. The first byte picks the mode (modulo 3), the rest is read as fields:
//   0  inclusion: index (8 bytes), size (8), leaf (32), root (32), then proof hashes (32 each):
//      verify_inclusion and InclusionChecker must give the same answer and never crash;
//   1  consistency: old size (8), new size (8), old root (32), new root (32), proof hashes:
//      verify_consistency must answer and never crash;
//   2  a real tree: n leaves (1 byte, up to 64), then pairs of sizes: every proof the tree
//      makes verifies, the same proof with one hash changed (or against another root) does
//      not, and CompactRange and frontier_source agree with root_of and leaves_source.
// Sizes are big-endian; a missing field reads as zeros.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "fuzz_fixture.h"

#include "parley/ledger/merkle.h"

namespace {

using namespace parley;
using ledger::Hash;

class Reader {
 public:
  Reader(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
  bool empty() const { return pos_ >= size_; }
  std::uint8_t byte() { return pos_ < size_ ? data_[pos_++] : 0; }
  std::uint64_t u64() {
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v = (v << 8) | byte();
    return v;
  }
  Hash hash() {
    Hash h{};
    for (auto& b : h) b = byte();
    return h;
  }
  std::vector<Hash> hashes() {
    std::vector<Hash> out;
    while (!empty() && out.size() < 80) out.push_back(hash());
    return out;
  }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t pos_ = 0;
};

void check_inclusion(Reader& in) {
  const std::uint64_t index = in.u64();
  const std::uint64_t size = in.u64();
  const Hash leaf = in.hash();
  const Hash root = in.hash();
  const std::vector<Hash> proof = in.hashes();
  const Status plain = ledger::verify_inclusion(index, size, leaf, proof, root);
  ledger::InclusionChecker checker;
  const Status checked = checker.verify(index, size, leaf, proof, root);
  fuzz::require(plain.code() == checked.code());
  // A second proof through the same checker (it reuses the walk of the last one that
  // verified) must still agree with the plain verifier.
  const Status again = checker.verify(index, size, leaf, proof, root);
  fuzz::require(again.code() == plain.code());
}

void check_consistency(Reader& in) {
  const std::uint64_t old_size = in.u64();
  const std::uint64_t new_size = in.u64();
  const Hash old_root = in.hash();
  const Hash new_root = in.hash();
  const std::vector<Hash> proof = in.hashes();
  (void)ledger::verify_consistency(old_size, new_size, old_root, new_root, proof);
}

void check_tree(Reader& in) {
  const std::uint64_t n = in.byte() % 65;
  std::vector<Hash> leaves;
  for (std::uint64_t i = 0; i < n; ++i) {
    const std::uint8_t entry[2] = {static_cast<std::uint8_t>(i), in.byte()};
    leaves.push_back(ledger::leaf_hash(ByteView(entry, sizeof entry)));
  }
  const ledger::NodeSource source = ledger::leaves_source(leaves);
  std::vector<Hash> roots;  // roots[s]: the root of the first s leaves
  ledger::CompactRange range;
  for (std::uint64_t s = 0; s <= n; ++s) {
    roots.push_back(ledger::root_of({leaves.begin(), leaves.begin() + static_cast<long>(s)}));
    fuzz::require(range.size() == s && range.root() == roots.back());
    if (s < n) range.append(leaves[s]);
  }
  ledger::InclusionChecker checker;
  for (int round = 0; round < 4 && !in.empty() && n > 0; ++round) {
    const std::uint64_t size = 1 + in.byte() % n;
    const std::uint64_t index = in.byte() % size;
    const std::uint8_t flip = in.byte();
    auto proof = ledger::inclusion_proof(index, size, source);
    fuzz::require(proof.is_ok());
    fuzz::require(
        ledger::verify_inclusion(index, size, leaves[index], *proof, roots[size]).is_ok());
    fuzz::require(checker.verify(index, size, leaves[index], *proof, roots[size]).is_ok());
    if (!proof->empty()) {
      std::vector<Hash> bad = *proof;
      bad[flip % bad.size()][flip % 32] ^= 1;
      fuzz::require(
          !ledger::verify_inclusion(index, size, leaves[index], bad, roots[size]).is_ok());
      fuzz::require(!checker.verify(index, size, leaves[index], bad, roots[size]).is_ok());
    }
    // Proofs of consistency from every old size to this one, through a frontier too.
    const std::uint64_t old_size = in.byte() % (size + 1);
    auto consistency = ledger::consistency_proof(old_size, size, source);
    fuzz::require(consistency.is_ok());
    fuzz::require(
        ledger::verify_consistency(old_size, size, roots[old_size], roots[size], *consistency)
            .is_ok());
    if (old_size > 0 && old_size < size) {
      Hash other = roots[size];
      other[flip % 32] ^= 1;
      fuzz::require(
          !ledger::verify_consistency(old_size, size, roots[old_size], other, *consistency)
               .is_ok());
    }
    ledger::CompactRange base;
    for (std::uint64_t i = 0; i < old_size; ++i) base.append(leaves[i]);
    const std::vector<Hash> tail(leaves.begin() + static_cast<long>(old_size),
                                 leaves.begin() + static_cast<long>(size));
    auto from_frontier =
        ledger::consistency_proof(old_size, size, ledger::frontier_source(base, tail));
    fuzz::require(from_frontier.is_ok() && *from_frontier == *consistency);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  Reader in(data + 1, size - 1);
  switch (data[0] % 3) {
    case 0:
      check_inclusion(in);
      break;
    case 1:
      check_consistency(in);
      break;
    default:
      check_tree(in);
  }
  return 0;
}
