#include "parley/ledger/merkle.h"

#include <algorithm>
#include <cstdlib>
#include <map>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

namespace parley::ledger {
namespace {

// ---- helpers ---------------------------------------------------------------------------------

Hash from_hex(std::string_view text) {
  const Result<Bytes> bytes = hex_decode(text);
  PARLEY_CHECK(bytes.is_ok() && bytes->size() == crypto::kSha256Bytes);
  Hash hash{};
  std::copy(bytes->begin(), bytes->end(), hash.begin());
  return hash;
}

std::string to_hex(const Hash& hash) { return hex_encode(hash); }

std::vector<std::string> to_hex(const std::vector<Hash>& hashes) {
  std::vector<std::string> out;
  for (const Hash& h : hashes) out.push_back(to_hex(h));
  return out;
}

Hash flipped(Hash hash, std::size_t byte = 0) {
  hash[byte % hash.size()] ^= 0x01;
  return hash;
}

// Distinct, deterministic leaf hashes.
std::vector<Hash> make_leaves(std::uint64_t n) {
  std::vector<Hash> leaves;
  leaves.reserve(n);
  for (std::uint64_t i = 0; i < n; ++i) {
    const std::string entry = "entry " + std::to_string(i);
    leaves.push_back(leaf_hash(as_bytes(entry)));
  }
  return leaves;
}

// An independent, literal transcription of RFC 6962 §2.1 over vectors of leaf hashes:
// MTH, PATH (§2.1.1) and PROOF/SUBPROOF (§2.1.2), recursive and O(n) per call. The code
// under test is iterative and draws nodes from a NodeSource; they must agree.
using Slice = std::vector<Hash>;

Slice slice(const Slice& d, std::uint64_t begin, std::uint64_t end) {
  return Slice(d.begin() + static_cast<std::ptrdiff_t>(begin),
               d.begin() + static_cast<std::ptrdiff_t>(end));
}

std::uint64_t rfc_k(std::uint64_t n) {
  std::uint64_t k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

Hash reference_mth(const Slice& d) {
  if (d.empty()) return crypto::sha256({});
  if (d.size() == 1) return d[0];
  const std::uint64_t k = rfc_k(d.size());
  const Hash left = reference_mth(slice(d, 0, k));
  const Hash right = reference_mth(slice(d, k, d.size()));
  Bytes buffer{0x01};
  buffer.insert(buffer.end(), left.begin(), left.end());
  buffer.insert(buffer.end(), right.begin(), right.end());
  return crypto::sha256(buffer);
}

Slice reference_path(std::uint64_t m, const Slice& d) {
  if (d.size() <= 1) return {};
  const std::uint64_t n = d.size();
  const std::uint64_t k = rfc_k(n);
  Slice out;
  if (m < k) {
    out = reference_path(m, slice(d, 0, k));
    out.push_back(reference_mth(slice(d, k, n)));
  } else {
    out = reference_path(m - k, slice(d, k, n));
    out.push_back(reference_mth(slice(d, 0, k)));
  }
  return out;
}

Slice reference_subproof(std::uint64_t m, const Slice& d, bool b) {
  const std::uint64_t n = d.size();
  if (m == n) return b ? Slice{} : Slice{reference_mth(d)};
  const std::uint64_t k = rfc_k(n);
  Slice out;
  if (m <= k) {
    out = reference_subproof(m, slice(d, 0, k), b);
    out.push_back(reference_mth(slice(d, k, n)));
  } else {
    out = reference_subproof(m - k, slice(d, k, n), false);
    out.push_back(reference_mth(slice(d, 0, k)));
  }
  return out;
}

Slice reference_proof(std::uint64_t m, const Slice& d) {
  if (m == 0 || m == d.size()) return {};
  return reference_subproof(m, d, true);
}

std::uint64_t seed_from_env() {
  const char* env_seed = std::getenv("PARLEY_SEED");
  return env_seed != nullptr ? std::strtoull(env_seed, nullptr, 10) : std::random_device()();
}

// ---- known answers ---------------------------------------------------------------------------

// The Certificate Transparency reference test data (RFC 6962 test vectors, as used by the
// certificate-transparency and transparency-dev/merkle test suites).
std::vector<Hash> ct_leaves() {
  const char* entries[] = {"",
                           "00",
                           "10",
                           "2021",
                           "3031",
                           "40414243",
                           "5051525354555657",
                           "606162636465666768696a6b6c6d6e6f"};
  std::vector<Hash> leaves;
  for (const char* hex : entries) leaves.push_back(leaf_hash(*hex_decode(hex)));
  return leaves;
}

const char* const kCtRoots[] = {
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
};

Hash ct_root(std::uint64_t size) { return from_hex(kCtRoots[size - 1]); }

struct InclusionVector {
  std::uint64_t index;
  std::uint64_t size;
  std::vector<std::string> path;
};

const InclusionVector kCtInclusion[] = {
    {0, 1, {}},
    {0,
     8,
     {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
    {5,
     8,
     {"bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
      "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
    {2, 3, {"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"}},
    {1,
     5,
     {"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}},
};

struct ConsistencyVector {
  std::uint64_t old_size;
  std::uint64_t new_size;
  std::vector<std::string> proof;
};

const ConsistencyVector kCtConsistency[] = {
    {1, 1, {}},
    {1,
     8,
     {"96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"}},
    {6,
     8,
     {"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
      "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
    {2,
     5,
     {"5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"}},
    {6,
     7,
     {"0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
      "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"}},
};

TEST(MerkleTest, EmptyRootIsTheSha256OfNothing) {
  EXPECT_EQ(to_hex(empty_root()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(root_of({}), empty_root());
  EXPECT_EQ(CompactRange().root(), empty_root());
}

TEST(MerkleTest, LeafHashOfTheEmptyEntryIsTheCtVector) {
  EXPECT_EQ(to_hex(leaf_hash({})), kCtRoots[0]);
}

TEST(MerkleTest, NodeHashPrefixesOneAndConcatenates) {
  const Hash a = leaf_hash(as_bytes("a"));
  const Hash b = leaf_hash(as_bytes("b"));
  Bytes buffer{0x01};
  buffer.insert(buffer.end(), a.begin(), a.end());
  buffer.insert(buffer.end(), b.begin(), b.end());
  EXPECT_EQ(node_hash(a, b), crypto::sha256(buffer));
  EXPECT_NE(node_hash(a, b), node_hash(b, a));
}

TEST(MerkleTest, RootsOfTheCtTestLeavesMatchTheVectors) {
  const std::vector<Hash> leaves = ct_leaves();
  const NodeSource source = leaves_source(leaves);
  CompactRange range;
  for (std::uint64_t size = 1; size <= 8; ++size) {
    range.append(leaves[size - 1]);
    const std::vector<Hash> prefix(leaves.begin(), leaves.begin() + static_cast<int>(size));
    EXPECT_EQ(root_of(prefix), ct_root(size)) << "size " << size;
    EXPECT_EQ(range.root(), ct_root(size)) << "size " << size;
    const Result<Hash> ranged = range_hash(0, size, source);
    ASSERT_TRUE(ranged.is_ok()) << ranged.status().to_string();
    EXPECT_EQ(*ranged, ct_root(size)) << "size " << size;
    EXPECT_EQ(reference_mth(prefix), ct_root(size)) << "size " << size;
  }
}

TEST(MerkleTest, InclusionProofsOfTheCtTestLeavesMatchTheVectors) {
  const std::vector<Hash> leaves = ct_leaves();
  const NodeSource source = leaves_source(leaves);
  for (const InclusionVector& v : kCtInclusion) {
    SCOPED_TRACE("index " + std::to_string(v.index) + " size " + std::to_string(v.size));
    const Result<std::vector<Hash>> proof = inclusion_proof(v.index, v.size, source);
    ASSERT_TRUE(proof.is_ok()) << proof.status().to_string();
    EXPECT_EQ(to_hex(*proof), v.path);
    std::vector<Hash> published;
    for (const std::string& h : v.path) published.push_back(from_hex(h));
    EXPECT_TRUE(
        verify_inclusion(v.index, v.size, leaves[v.index], published, ct_root(v.size)).is_ok());
  }
}

TEST(MerkleTest, ConsistencyProofsOfTheCtTestLeavesMatchTheVectors) {
  const std::vector<Hash> leaves = ct_leaves();
  const NodeSource source = leaves_source(leaves);
  for (const ConsistencyVector& v : kCtConsistency) {
    SCOPED_TRACE("from " + std::to_string(v.old_size) + " to " + std::to_string(v.new_size));
    const Result<std::vector<Hash>> proof = consistency_proof(v.old_size, v.new_size, source);
    ASSERT_TRUE(proof.is_ok()) << proof.status().to_string();
    EXPECT_EQ(to_hex(*proof), v.proof);
    std::vector<Hash> published;
    for (const std::string& h : v.proof) published.push_back(from_hex(h));
    EXPECT_TRUE(verify_consistency(v.old_size, v.new_size, ct_root(v.old_size), ct_root(v.new_size),
                                   published)
                    .is_ok());
  }
}

// ---- properties over small trees -------------------------------------------------------------

TEST(MerkleTest, EveryInclusionProofUpTo64LeavesIsRfc6962PathAndVerifies) {
  const std::vector<Hash> leaves = make_leaves(64);
  const NodeSource source = leaves_source(leaves);
  for (std::uint64_t size = 1; size <= 64; ++size) {
    const Slice d = slice(leaves, 0, size);
    const Hash root = reference_mth(d);
    for (std::uint64_t index = 0; index < size; ++index) {
      SCOPED_TRACE("index " + std::to_string(index) + " size " + std::to_string(size));
      const Result<std::vector<Hash>> proof = inclusion_proof(index, size, source);
      ASSERT_TRUE(proof.is_ok()) << proof.status().to_string();
      ASSERT_EQ(*proof, reference_path(index, d));
      EXPECT_TRUE(verify_inclusion(index, size, leaves[index], *proof, root).is_ok());
    }
  }
}

TEST(MerkleTest, TamperedInclusionProofsUpTo64LeavesAllFail) {
  const std::vector<Hash> leaves = make_leaves(64);
  const NodeSource source = leaves_source(leaves);
  for (std::uint64_t size = 1; size <= 64; ++size) {
    const Hash root = root_of(slice(leaves, 0, size));
    for (std::uint64_t index = 0; index < size; ++index) {
      SCOPED_TRACE("index " + std::to_string(index) + " size " + std::to_string(size));
      const std::vector<Hash> proof = *inclusion_proof(index, size, source);
      for (std::size_t i = 0; i < proof.size(); ++i) {
        std::vector<Hash> bad = proof;
        bad[i] = flipped(bad[i], i);
        EXPECT_EQ(verify_inclusion(index, size, leaves[index], bad, root).code(),
                  StatusCode::kUnauthenticated);
      }
      EXPECT_EQ(verify_inclusion(index, size, flipped(leaves[index]), proof, root).code(),
                StatusCode::kUnauthenticated);
      EXPECT_EQ(verify_inclusion(index, size, leaves[index], proof, flipped(root, 31)).code(),
                StatusCode::kUnauthenticated);
      for (std::uint64_t other = 0; other < size + 2; ++other) {
        if (other == index) continue;
        EXPECT_FALSE(verify_inclusion(other, size, leaves[index], proof, root).is_ok())
            << "verified at index " << other;
      }
      // Another leaf's proof of the right length for this index still does not verify.
      if (index + 1 < size) {
        EXPECT_FALSE(verify_inclusion(index, size, leaves[index + 1], proof, root).is_ok());
      }
      std::vector<Hash> longer = proof;
      longer.push_back(root);
      EXPECT_EQ(verify_inclusion(index, size, leaves[index], longer, root).code(),
                StatusCode::kInvalidArgument);
      if (!proof.empty()) {
        const std::vector<Hash> shorter(proof.begin(), proof.end() - 1);
        EXPECT_EQ(verify_inclusion(index, size, leaves[index], shorter, root).code(),
                  StatusCode::kInvalidArgument);
      }
    }
  }
}

// The checker skips the part of a walk the last verified proof already took: every proof, and
// every tampered one checked right after its neighbour verified (so the skip is in reach),
// gets exactly verify_inclusion's answer.
TEST(MerkleTest, InclusionCheckerAnswersAsVerifyInclusionForEveryProofAndTamper) {
  const std::vector<Hash> leaves = make_leaves(64);
  const NodeSource source = leaves_source(leaves);
  InclusionChecker checker;
  const auto same = [&](std::uint64_t index, std::uint64_t size, const Hash& leaf,
                        const std::vector<Hash>& proof, const Hash& root) {
    const Status expected = verify_inclusion(index, size, leaf, proof, root);
    const Status got = checker.verify(index, size, leaf, proof, root);
    EXPECT_EQ(got.code(), expected.code());
    EXPECT_EQ(got.message(), expected.message());
  };
  for (std::uint64_t size = 1; size <= 64; ++size) {
    const Hash root = root_of(slice(leaves, 0, size));
    for (std::uint64_t index = 0; index < size; ++index) {
      SCOPED_TRACE("index " + std::to_string(index) + " size " + std::to_string(size));
      const std::vector<Hash> proof = *inclusion_proof(index, size, source);
      EXPECT_TRUE(checker.verify(index, size, leaves[index], proof, root).is_ok());
      for (std::size_t i = 0; i < proof.size(); ++i) {
        std::vector<Hash> bad = proof;
        bad[i] = flipped(bad[i], i);
        same(index, size, leaves[index], bad, root);
        EXPECT_TRUE(checker.verify(index, size, leaves[index], proof, root).is_ok());
      }
      same(index, size, flipped(leaves[index]), proof, root);
      same(index, size, leaves[index], proof, flipped(root, 31));
      for (std::uint64_t other = 0; other < size + 2; ++other) {
        if (other != index) same(other, size, leaves[index], proof, root);
      }
      if (index + 1 < size) same(index, size, leaves[index + 1], proof, root);
      std::vector<Hash> longer = proof;
      longer.push_back(root);
      same(index, size, leaves[index], longer, root);
      if (!proof.empty()) {
        same(index, size, leaves[index], std::vector<Hash>(proof.begin(), proof.end() - 1), root);
      }
    }
  }
}

TEST(MerkleTest, InclusionWithIndexNotBelowSizeIsInvalidArgument) {
  const std::vector<Hash> leaves = make_leaves(4);
  const NodeSource source = leaves_source(leaves);
  EXPECT_EQ(inclusion_proof(4, 4, source).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(inclusion_proof(0, 0, source).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(verify_inclusion(4, 4, leaves[0], {}, root_of(leaves)).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(verify_inclusion(0, 0, leaves[0], {}, empty_root()).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(verify_inclusion(UINT64_MAX, UINT64_MAX, leaves[0], {}, empty_root()).code(),
            StatusCode::kInvalidArgument);
}

TEST(MerkleTest, OneLeafTreeIncludesItsLeafWithAnEmptyProof) {
  const Hash leaf = leaf_hash(as_bytes("only"));
  EXPECT_TRUE(verify_inclusion(0, 1, leaf, {}, leaf).is_ok());
  EXPECT_EQ(verify_inclusion(0, 1, leaf, {}, flipped(leaf)).code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(verify_inclusion(0, 1, leaf, {leaf}, leaf).code(), StatusCode::kInvalidArgument);
}

TEST(MerkleTest, InclusionInAHugeTreeChecksTheProofLength) {
  // Sizes near 2^64 must not overflow the shape computation.
  const Hash h = leaf_hash(as_bytes("x"));
  const std::vector<Hash> sixty_four(64, h);
  EXPECT_EQ(verify_inclusion(0, UINT64_MAX, h, sixty_four, h).code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(verify_inclusion(UINT64_MAX - 1, UINT64_MAX, h, sixty_four, h).code(),
            StatusCode::kInvalidArgument);
}

TEST(MerkleTest, EveryConsistencyProofUpTo64LeavesIsRfc6962ProofAndVerifies) {
  const std::vector<Hash> leaves = make_leaves(64);
  const NodeSource source = leaves_source(leaves);
  std::vector<Hash> roots;
  for (std::uint64_t size = 0; size <= 64; ++size) roots.push_back(root_of(slice(leaves, 0, size)));
  for (std::uint64_t new_size = 0; new_size <= 64; ++new_size) {
    const Slice d = slice(leaves, 0, new_size);
    for (std::uint64_t old_size = 0; old_size <= new_size; ++old_size) {
      SCOPED_TRACE("from " + std::to_string(old_size) + " to " + std::to_string(new_size));
      const Result<std::vector<Hash>> proof = consistency_proof(old_size, new_size, source);
      ASSERT_TRUE(proof.is_ok()) << proof.status().to_string();
      ASSERT_EQ(*proof, reference_proof(old_size, d));
      const Status verified =
          verify_consistency(old_size, new_size, roots[old_size], roots[new_size], *proof);
      EXPECT_TRUE(verified.is_ok()) << verified.to_string();
    }
  }
}

TEST(MerkleTest, TamperedConsistencyProofsUpTo64LeavesAllFail) {
  const std::vector<Hash> leaves = make_leaves(64);
  const NodeSource source = leaves_source(leaves);
  std::vector<Hash> roots;
  for (std::uint64_t size = 0; size <= 64; ++size) roots.push_back(root_of(slice(leaves, 0, size)));
  for (std::uint64_t new_size = 1; new_size <= 64; ++new_size) {
    for (std::uint64_t old_size = 1; old_size <= new_size; ++old_size) {
      SCOPED_TRACE("from " + std::to_string(old_size) + " to " + std::to_string(new_size));
      const std::vector<Hash> proof = *consistency_proof(old_size, new_size, source);
      const Hash& old_root = roots[old_size];
      const Hash& new_root = roots[new_size];
      for (std::size_t i = 0; i < proof.size(); ++i) {
        std::vector<Hash> bad = proof;
        bad[i] = flipped(bad[i], i);
        EXPECT_EQ(verify_consistency(old_size, new_size, old_root, new_root, bad).code(),
                  StatusCode::kUnauthenticated)
            << "node " << i;
      }
      EXPECT_EQ(verify_consistency(old_size, new_size, flipped(old_root), new_root, proof).code(),
                StatusCode::kUnauthenticated);
      EXPECT_EQ(verify_consistency(old_size, new_size, old_root, flipped(new_root), proof).code(),
                StatusCode::kUnauthenticated);
      if (old_size != new_size) {
        EXPECT_FALSE(verify_consistency(old_size, new_size, new_root, old_root, proof).is_ok());
        EXPECT_FALSE(
            verify_consistency(old_size - 1, new_size, roots[old_size - 1], new_root, proof)
                .is_ok());
        EXPECT_FALSE(
            verify_consistency(old_size + 1, new_size, roots[old_size + 1], new_root, proof)
                .is_ok());
        EXPECT_FALSE(
            verify_consistency(old_size, new_size - 1, old_root, roots[new_size - 1], proof)
                .is_ok());
        if (new_size < 64) {
          EXPECT_FALSE(
              verify_consistency(old_size, new_size + 1, old_root, roots[new_size + 1], proof)
                  .is_ok());
        }
      }
      std::vector<Hash> longer = proof;
      longer.push_back(new_root);
      EXPECT_EQ(verify_consistency(old_size, new_size, old_root, new_root, longer).code(),
                StatusCode::kInvalidArgument);
      if (!proof.empty()) {
        const std::vector<Hash> shorter(proof.begin() + 1, proof.end());
        EXPECT_EQ(verify_consistency(old_size, new_size, old_root, new_root, shorter).code(),
                  StatusCode::kInvalidArgument);
      }
    }
  }
}

TEST(MerkleTest, ConsistencyEdgeCasesFollowTheContract) {
  const std::vector<Hash> leaves = make_leaves(5);
  const Hash r5 = root_of(leaves);
  const Hash r3 = root_of(slice(leaves, 0, 3));
  // Shrinking is impossible.
  EXPECT_EQ(verify_consistency(5, 3, r5, r3, {}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(consistency_proof(5, 3, leaves_source(leaves)).status().code(),
            StatusCode::kInvalidArgument);
  // The same size: only the same root, and no proof.
  EXPECT_TRUE(verify_consistency(5, 5, r5, r5, {}).is_ok());
  EXPECT_EQ(verify_consistency(5, 5, r5, r3, {}).code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(verify_consistency(5, 5, r5, r5, {r5}).code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(verify_consistency(0, 0, empty_root(), empty_root(), {}).is_ok());
  // From the empty tree: any tree, if the old root is the empty root and the proof is empty.
  EXPECT_TRUE(verify_consistency(0, 5, empty_root(), r5, {}).is_ok());
  EXPECT_EQ(verify_consistency(0, 5, r3, r5, {}).code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(verify_consistency(0, 5, empty_root(), r5, {r5}).code(), StatusCode::kInvalidArgument);
  // A proof is required between different non-zero sizes.
  EXPECT_EQ(verify_consistency(3, 5, r3, r5, {}).code(), StatusCode::kInvalidArgument);
}

// ---- compact ranges and range hashes ---------------------------------------------------------

TEST(MerkleTest, CompactRangeRootEqualsRootOfForEverySizeUpTo300) {
  const std::vector<Hash> leaves = make_leaves(300);
  CompactRange range;
  EXPECT_EQ(range.root(), empty_root());
  for (std::uint64_t size = 1; size <= leaves.size(); ++size) {
    range.append(leaves[size - 1]);
    ASSERT_EQ(range.size(), size);
    ASSERT_EQ(range.nodes().size(), static_cast<std::size_t>(std::popcount(size)));
    const Slice prefix = slice(leaves, 0, size);
    ASSERT_EQ(range.root(), root_of(prefix)) << "size " << size;
    if (size <= 64) {
      ASSERT_EQ(range.root(), reference_mth(prefix)) << "size " << size;
    }
  }
}

TEST(MerkleTest, CompactRangeNodesAreThePerfectSubtreesLargestFirst) {
  const std::vector<Hash> leaves = make_leaves(13);  // 13 = 8 + 4 + 1
  CompactRange range;
  for (const Hash& leaf : leaves) range.append(leaf);
  ASSERT_EQ(range.nodes().size(), 3u);
  EXPECT_EQ(range.nodes()[0], root_of(slice(leaves, 0, 8)));
  EXPECT_EQ(range.nodes()[1], root_of(slice(leaves, 8, 12)));
  EXPECT_EQ(range.nodes()[2], leaves[12]);
}

TEST(MerkleTest, CompactRangeFromNodesRoundTripsAndKeepsAppending) {
  const std::vector<Hash> leaves = make_leaves(100);
  CompactRange grown;
  for (std::uint64_t size = 0; size < 60; ++size) {
    const Result<CompactRange> restored = CompactRange::from_nodes(grown.size(), grown.nodes());
    ASSERT_TRUE(restored.is_ok()) << restored.status().to_string();
    EXPECT_EQ(restored->size(), grown.size());
    EXPECT_EQ(restored->nodes(), grown.nodes());
    EXPECT_EQ(restored->root(), grown.root());
    CompactRange continued = *restored;
    for (std::uint64_t i = size; i < leaves.size(); ++i) continued.append(leaves[i]);
    EXPECT_EQ(continued.root(), root_of(leaves)) << "restored at " << size;
    grown.append(leaves[size]);
  }
}

TEST(MerkleTest, CompactRangeFromTheWrongNumberOfNodesIsInvalidArgument) {
  const Hash h = leaf_hash(as_bytes("x"));
  EXPECT_EQ(CompactRange::from_nodes(0, {h}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(CompactRange::from_nodes(3, {h}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(CompactRange::from_nodes(4, {h, h}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(CompactRange::from_nodes(4, {h}).is_ok());
  EXPECT_TRUE(CompactRange::from_nodes(0, {}).is_ok());
}

TEST(MerkleTest, RangeHashOfAnyRangeIsTheMthOfThatSlice) {
  const std::vector<Hash> leaves = make_leaves(40);
  const NodeSource source = leaves_source(leaves);
  for (std::uint64_t end = 0; end <= 40; ++end) {
    for (std::uint64_t begin = 0; begin <= end; ++begin) {
      const Result<Hash> hash = range_hash(begin, end, source);
      ASSERT_TRUE(hash.is_ok()) << hash.status().to_string();
      EXPECT_EQ(*hash, reference_mth(slice(leaves, begin, end)))
          << "[" << begin << ", " << end << ")";
    }
  }
  EXPECT_EQ(range_hash(5, 4, source).status().code(), StatusCode::kInvalidArgument);
}

TEST(MerkleTest, MissingNodesMakeProofsFailWithFailedPrecondition) {
  const NodeSource nothing = [](unsigned, std::uint64_t) -> std::optional<Hash> {
    return std::nullopt;
  };
  EXPECT_EQ(range_hash(0, 3, nothing).status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(inclusion_proof(1, 3, nothing).status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(consistency_proof(1, 3, nothing).status().code(), StatusCode::kFailedPrecondition);
  // A leaves_source does not answer beyond its leaves.
  const NodeSource four = leaves_source(make_leaves(4));
  EXPECT_EQ(inclusion_proof(0, 5, four).status().code(), StatusCode::kFailedPrecondition);
  EXPECT_FALSE(four(0, 4).has_value());
  EXPECT_FALSE(four(3, 0).has_value());
  EXPECT_FALSE(four(64, 0).has_value());
  EXPECT_TRUE(four(2, 0).has_value());
}

TEST(MerkleTest, LeavesSourceOutlivesTheVectorItWasMadeFrom) {
  NodeSource source;
  Hash expected{};
  {
    const std::vector<Hash> leaves = make_leaves(6);
    expected = root_of(slice(leaves, 4, 6));
    source = leaves_source(leaves);
  }
  EXPECT_EQ(source(1, 2), expected);
}

// ---- frontier sources ------------------------------------------------------------------------

// Every perfect subtree (level, index) that lies inside [0, end).
std::vector<std::pair<unsigned, std::uint64_t>> all_nodes(std::uint64_t end) {
  std::vector<std::pair<unsigned, std::uint64_t>> nodes;
  for (unsigned level = 0; (std::uint64_t{1} << level) <= end; ++level) {
    for (std::uint64_t index = 0; ((index + 1) << level) <= end; ++index) {
      nodes.emplace_back(level, index);
    }
  }
  return nodes;
}

TEST(MerkleTest, FrontierSourceAnswersExactlyTailCompactRangeAndStraddlingNodes) {
  constexpr std::uint64_t kMax = 40;
  const std::vector<Hash> leaves = make_leaves(2 * kMax);
  const NodeSource everything = leaves_source(leaves);
  for (std::uint64_t base_size = 0; base_size <= kMax; ++base_size) {
    CompactRange base;
    for (std::uint64_t i = 0; i < base_size; ++i) base.append(leaves[i]);
    // The compact range's nodes, as (level, index).
    std::map<std::pair<unsigned, std::uint64_t>, bool> base_nodes;
    std::uint64_t start = 0;
    for (int bit = 63; bit >= 0; --bit) {
      if (((base_size >> bit) & 1) == 0) continue;
      base_nodes[{static_cast<unsigned>(bit), start >> bit}] = true;
      start += std::uint64_t{1} << bit;
    }
    for (std::uint64_t tail_size = 0; tail_size <= kMax; ++tail_size) {
      SCOPED_TRACE("base " + std::to_string(base_size) + " tail " + std::to_string(tail_size));
      const std::uint64_t end = base_size + tail_size;
      const NodeSource source = frontier_source(base, slice(leaves, base_size, end));
      for (const auto& [level, index] : all_nodes(end + 3)) {
        const std::uint64_t first = index << level;
        const std::uint64_t last = first + (std::uint64_t{1} << level);
        const bool interior = last <= base_size && !base_nodes.contains({level, index});
        const std::optional<Hash> got = source(level, index);
        if (last > end || interior) {
          EXPECT_FALSE(got.has_value()) << "level " << level << " index " << index;
        } else {
          ASSERT_TRUE(got.has_value()) << "level " << level << " index " << index;
          EXPECT_EQ(*got, *everything(level, index)) << "level " << level << " index " << index;
        }
      }
      EXPECT_FALSE(source(64, 0).has_value());
      EXPECT_FALSE(source(0, UINT64_MAX).has_value());
    }
  }
}

TEST(MerkleTest, FrontierTreeAnswersAsFrontierSourceThroughAppendsPopsAndAdvances) {
  constexpr std::uint64_t kLeaves = 300;
  const std::vector<Hash> leaves = make_leaves(kLeaves);
  const auto prefix_range = [&](std::uint64_t size) {
    CompactRange range;
    for (std::uint64_t i = 0; i < size; ++i) range.append(leaves[i]);
    return range;
  };
  for (std::uint64_t start_base : {0, 1, 5, 8, 13}) {
    FrontierTree tree(prefix_range(start_base), slice(leaves, start_base, start_base + 3));
    std::uint64_t state = 0x9e3779b97f4a7c15ULL ^ start_base;
    for (int step = 0; step < 400; ++step) {
      state = state * 6364136223846793005ULL + 1442695040888963407ULL;
      const unsigned roll = static_cast<unsigned>(state >> 60);  // 0..15
      if (roll < 9 && tree.size() < kLeaves) {
        tree.append(leaves[tree.size()]);
      } else if (roll < 11 && tree.tail_size() > 0) {
        tree.pop_back();
      } else if (roll < 16) {
        tree.advance(tree.base_size() + (state >> 40) % (tree.tail_size() + 1));
      }
      const std::uint64_t base = tree.base_size();
      const std::uint64_t end = tree.size();
      SCOPED_TRACE("step " + std::to_string(step) + ": base " + std::to_string(base) + ", size " +
                   std::to_string(end));
      const NodeSource want = frontier_source(prefix_range(base), slice(leaves, base, end));
      for (const auto& [level, index] : all_nodes(end + 3)) {
        ASSERT_EQ(tree.get(level, index), want(level, index))
            << "level " << level << " index " << index;
      }
      for (std::uint64_t size = base; size <= end; ++size) {
        Result<CompactRange> range = tree.range_at(size);
        ASSERT_TRUE(range.is_ok()) << range.status().to_string();
        EXPECT_EQ(range->nodes(), prefix_range(size).nodes()) << "size " << size;
      }
      EXPECT_FALSE(tree.range_at(end + 1).is_ok());
      if (base > 0) {
        EXPECT_FALSE(tree.range_at(base - 1).is_ok());
      }
    }
  }
}

TEST(MerkleTest, FrontierSourceGivesEveryTailInclusionAndConsistencyProof) {
  constexpr std::uint64_t kMax = 40;
  const std::vector<Hash> leaves = make_leaves(2 * kMax);
  // The expected proofs depend only on the leaves, not on where the base ends.
  const NodeSource everything = leaves_source(leaves);
  std::map<std::pair<std::uint64_t, std::uint64_t>, std::vector<Hash>> paths;
  std::map<std::pair<std::uint64_t, std::uint64_t>, std::vector<Hash>> proofs;
  std::vector<Hash> roots;
  for (std::uint64_t size = 0; size <= 2 * kMax; ++size) {
    roots.push_back(root_of(slice(leaves, 0, size)));
    for (std::uint64_t i = 0; i < size; ++i) {
      paths[{i, size}] = *inclusion_proof(i, size, everything);
    }
    for (std::uint64_t old = 0; old <= size; ++old) {
      proofs[{old, size}] = *consistency_proof(old, size, everything);
    }
  }
  for (std::uint64_t base_size = 0; base_size <= kMax; ++base_size) {
    CompactRange base;
    for (std::uint64_t i = 0; i < base_size; ++i) base.append(leaves[i]);
    for (std::uint64_t tail_size = 0; tail_size <= kMax; ++tail_size) {
      SCOPED_TRACE("base " + std::to_string(base_size) + " tail " + std::to_string(tail_size));
      const std::uint64_t end = base_size + tail_size;
      const NodeSource source = frontier_source(base, slice(leaves, base_size, end));
      // Heads at the end of the log and halfway through its tail, and every size for the root.
      for (std::uint64_t size = base_size; size <= end; ++size) {
        const Result<Hash> root = range_hash(0, size, source);
        ASSERT_TRUE(root.is_ok()) << root.status().to_string();
        ASSERT_EQ(*root, roots[size]);
      }
      for (const std::uint64_t size : {base_size + tail_size / 2, end}) {
        for (std::uint64_t i = base_size; i < size; ++i) {
          const Result<std::vector<Hash>> path = inclusion_proof(i, size, source);
          ASSERT_TRUE(path.is_ok())
              << "index " << i << " size " << size << ": " << path.status().to_string();
          ASSERT_EQ(*path, (paths[{i, size}])) << "index " << i << " size " << size;
        }
        for (std::uint64_t old = base_size; old <= size; ++old) {
          const Result<std::vector<Hash>> proof = consistency_proof(old, size, source);
          ASSERT_TRUE(proof.is_ok())
              << "from " << old << " to " << size << ": " << proof.status().to_string();
          ASSERT_EQ(*proof, (proofs[{old, size}])) << "from " << old << " to " << size;
        }
      }
      // A leaf inside the base (not itself a compact-range node) has no proof.
      if (base_size >= 2) {
        EXPECT_EQ(inclusion_proof(0, end, source).status().code(), StatusCode::kFailedPrecondition);
      }
    }
  }
}

TEST(MerkleTest, FrontierSourceOutlivesItsInputs) {
  const std::vector<Hash> leaves = make_leaves(11);
  NodeSource source;
  {
    CompactRange base;
    for (std::uint64_t i = 0; i < 5; ++i) base.append(leaves[i]);
    const std::vector<Hash> tail = slice(leaves, 5, 11);
    source = frontier_source(base, tail);
  }
  EXPECT_EQ(*range_hash(0, 11, source), root_of(leaves));
}

// ---- large trees -----------------------------------------------------------------------------

TEST(MerkleTest, ProofsInLargeTreesVerify) {
  const std::uint64_t seed = seed_from_env();
  SCOPED_TRACE("reproduce: PARLEY_SEED=" + std::to_string(seed));
  std::mt19937_64 random(seed);
  std::vector<std::uint64_t> sizes = {1023, 1024, 1025, 4097, 65536, 65537};
  for (int i = 0; i < 3; ++i) sizes.push_back(1 + random() % 100000);
  const std::vector<Hash> leaves = make_leaves(*std::max_element(sizes.begin(), sizes.end()));
  for (const std::uint64_t size : sizes) {
    SCOPED_TRACE("size " + std::to_string(size));
    const std::vector<Hash> prefix = slice(leaves, 0, size);
    // A base of a random size and the rest as the tail: enough for proofs above the base.
    const std::uint64_t base_size = random() % size;
    CompactRange base;
    for (std::uint64_t i = 0; i < base_size; ++i) base.append(leaves[i]);
    const NodeSource source = frontier_source(base, slice(leaves, base_size, size));
    const NodeSource whole = frontier_source(CompactRange(), prefix);
    const Hash root = root_of(prefix);
    // Old sizes for consistency proofs, and their roots from one pass over the leaves.
    std::vector<std::uint64_t> olds;
    for (int trial = 0; trial < 20; ++trial)
      olds.push_back(base_size + random() % (size - base_size + 1));
    std::sort(olds.begin(), olds.end());
    std::map<std::uint64_t, Hash> old_roots;
    CompactRange running;
    for (const std::uint64_t old : olds) {
      while (running.size() < old) running.append(leaves[running.size()]);
      old_roots[old] = running.root();
    }
    for (int trial = 0; trial < 20; ++trial) {
      const std::uint64_t index = base_size + random() % (size - base_size);
      const Result<std::vector<Hash>> proof = inclusion_proof(index, size, source);
      ASSERT_TRUE(proof.is_ok()) << proof.status().to_string();
      EXPECT_TRUE(verify_inclusion(index, size, leaves[index], *proof, root).is_ok())
          << "index " << index;
      EXPECT_FALSE(verify_inclusion(index, size, flipped(leaves[index]), *proof, root).is_ok());
      EXPECT_EQ(*proof, *inclusion_proof(index, size, whole));
      const std::uint64_t any = random() % size;
      const Result<std::vector<Hash>> any_proof = inclusion_proof(any, size, whole);
      ASSERT_TRUE(any_proof.is_ok()) << any_proof.status().to_string();
      EXPECT_TRUE(verify_inclusion(any, size, leaves[any], *any_proof, root).is_ok());
      if (size <= 4097) {
        EXPECT_EQ(*any_proof, *inclusion_proof(any, size, leaves_source(prefix)));
      }

      const std::uint64_t old = olds[static_cast<std::size_t>(trial)];
      const Result<std::vector<Hash>> consistency = consistency_proof(old, size, source);
      ASSERT_TRUE(consistency.is_ok()) << consistency.status().to_string();
      const Hash& old_root = old_roots[old];
      EXPECT_TRUE(verify_consistency(old, size, old_root, root, *consistency).is_ok())
          << "from " << old;
      if (!consistency->empty()) {
        std::vector<Hash> bad = *consistency;
        bad.back() = flipped(bad.back());
        EXPECT_FALSE(verify_consistency(old, size, old_root, root, bad).is_ok());
      }
    }
  }
}

}  // namespace
}  // namespace parley::ledger
