#include "parley/ledger/witness.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "parley/base/check.h"
#include "parley/base/rng.h"

namespace parley::ledger {
namespace {

constexpr std::uint64_t kNow = 1796000000;  // the cosignature time, POSIX seconds

crypto::Keys keys(std::uint64_t seed) {
  SeededRng rng(seed);
  return crypto::generate_keys(rng);
}

// One party's log (its entries are fixed strings) and a witness with pinned keys.
struct WitnessHarness {
  crypto::Keys log_keys = keys(1);
  crypto::Keys witness_keys = keys(2);
  std::string origin = origin_of("us-eucom", "ru-genstaff");
  std::vector<Hash> leaves;
  crypto::Keys rotated_keys = keys(4);  // the owner's key after its rotation (rotate())
  WitnessedKeys logs{{origin, {NoteVerifier{origin, kNoteKeyEd25519, log_keys.verify}}}};
  std::map<std::string, WitnessView, std::less<>> views;
  WitnessIdentity identity{"parley.example/nato-shape/witness", witness_keys.signing};

  WitnessHarness() { grow(0); }
  void grow(std::uint64_t n) {
    while (leaves.size() < n) {
      leaves.push_back(leaf_hash(as_bytes("entry " + std::to_string(leaves.size()))));
    }
  }
  std::vector<Hash> first(std::uint64_t size) {
    grow(size);
    return {leaves.begin(), leaves.begin() + static_cast<std::ptrdiff_t>(size)};
  }
  // The witness pins the owner's rotation: its chain is the first key, then rotated_keys.
  void rotate() {
    logs[origin].push_back(NoteVerifier{origin, kNoteKeyEd25519, rotated_keys.verify});
  }
  std::string checkpoint(std::uint64_t size) { return checkpoint(size, log_keys.signing); }
  std::string checkpoint(std::uint64_t size, const crypto::SigningKey& key) {
    grow(size);
    return sign_checkpoint({origin, size, root_of(first(size)), {}}, key, origin);
  }
  std::string request(std::uint64_t old_size, std::uint64_t size) {
    return request(old_size, size, log_keys.signing);
  }
  std::string request(std::uint64_t old_size, std::uint64_t size, const crypto::SigningKey& key) {
    grow(size);
    auto proof = consistency_proof(old_size, size, leaves_source(first(size)));
    PARLEY_CHECK(proof.is_ok());
    return encode_add_checkpoint({old_size, *proof, checkpoint(size, key)});
  }
  // Submits and, as the caller must, persists the new view on success.
  WitnessAnswer submit(std::string_view body) {
    WitnessAnswer answer = add_checkpoint(body, logs, views, identity, kNow);
    if (answer.new_view) views[answer.origin] = *answer.new_view;
    return answer;
  }
  NoteVerifier witness_verifier() const {
    return {identity.name, kNoteKeyCosignature, witness_keys.verify};
  }
};

TEST(WitnessTest, RequestRoundTripsAndIsParsedStrictly) {
  WitnessHarness h;
  const std::string body = h.request(3, 7);
  auto parsed = parse_add_checkpoint(body);
  ASSERT_TRUE(parsed.is_ok()) << parsed.status().to_string();
  EXPECT_EQ(parsed->old_size, 3U);
  EXPECT_EQ(parsed->proof.size(), 4U);  // RFC 6962 §2.1.2: PROOF(3, D[7]) = [c, d, g, l]
  EXPECT_EQ(encode_add_checkpoint(*parsed), body);
  EXPECT_EQ(body.substr(0, 6), "old 3\n");

  const std::string note = h.checkpoint(7);
  for (const std::string& bad :
       {"old 03\n\n" + note, "old -1\n\n" + note, "new 3\n\n" + note, "old 3\nAAAA\n\n" + note,
        "old 3\n" + note, std::string("old 3\n\n"), std::string("old 3")}) {
    EXPECT_FALSE(parse_add_checkpoint(bad).is_ok()) << bad;
  }
  std::string many = "old 1\n";
  for (int i = 0; i < 64; ++i) many += base64_encode(h.leaves[0]) + "\n";
  EXPECT_FALSE(parse_add_checkpoint(many + "\n" + note).is_ok());
}

TEST(WitnessTest, CosignsAConsistentHistoryAndPersistsEachView) {
  WitnessHarness h;
  WitnessAnswer first = h.submit(h.request(0, 5));
  ASSERT_EQ(first.http_status, 200) << first.body;
  ASSERT_TRUE(first.new_view.has_value());
  EXPECT_EQ(first.new_view->size, 5U);
  EXPECT_EQ(first.new_view->root, root_of(h.first(5)));

  // The answer is cosignature lines that verify over the checkpoint (tlog-witness: the
  // client appends them to its note).
  auto note = parse_note(h.checkpoint(5) + first.body);
  ASSERT_TRUE(note.is_ok()) << note.status().to_string();
  auto signed_by = verify_note(*note, {h.witness_verifier()});
  ASSERT_TRUE(signed_by.is_ok()) << signed_by.status().to_string();
  auto time = verify_cosignature(note->sigs.back(), note->text, h.witness_verifier());
  ASSERT_TRUE(time.is_ok());
  EXPECT_EQ(*time, kNow);

  for (const auto& [old_size, size] : std::vector<std::pair<std::uint64_t, std::uint64_t>>{
           {5, 8}, {8, 8}, {8, 13}, {13, 64}, {64, 100}}) {
    const WitnessAnswer answer = h.submit(h.request(old_size, size));
    EXPECT_EQ(answer.http_status, 200) << old_size << " -> " << size << ": " << answer.body;
    EXPECT_FALSE(answer.split_view.has_value());
  }
  EXPECT_EQ(h.views.at(h.origin).size, 100U);
}

TEST(WitnessTest, WrongOldSizeIsAConflictNamingTheWitnessSize) {
  WitnessHarness h;
  ASSERT_EQ(h.submit(h.request(0, 5)).http_status, 200);
  const WitnessAnswer answer = h.submit(h.request(3, 9));
  EXPECT_EQ(answer.http_status, 409);
  EXPECT_EQ(answer.body, "5\n");
  EXPECT_EQ(answer.content_type, "text/x.tlog.size");
  EXPECT_FALSE(answer.new_view.has_value());
  EXPECT_FALSE(answer.split_view.has_value());
  // A fresh witness is at size 0.
  WitnessHarness fresh;
  EXPECT_EQ(fresh.submit(fresh.request(2, 4)).body, "0\n");
}

TEST(WitnessTest, StatusCodesFollowTheSpec) {
  WitnessHarness h;
  ASSERT_EQ(h.submit(h.request(0, 4)).http_status, 200);

  // 404: an origin the witness does not know (signed by the right key, even).
  const std::string stranger = sign_checkpoint({"parley.example/x/y", 4, root_of(h.first(4)), {}},
                                               h.log_keys.signing, "parley.example/x/y");
  EXPECT_EQ(h.submit(encode_add_checkpoint({0, {}, stranger})).http_status, 404);

  // 403: the origin is known but no signature is by its pinned key.
  const std::string forged =
      sign_checkpoint({h.origin, 6, root_of(h.first(4)), {}}, keys(3).signing, h.origin);
  EXPECT_EQ(h.submit(encode_add_checkpoint({4, {}, forged})).http_status, 403);

  // 400: malformed, or old size above the checkpoint's.
  EXPECT_EQ(h.submit("garbage").http_status, 400);
  EXPECT_EQ(h.submit(encode_add_checkpoint({9, {}, h.checkpoint(6)})).http_status, 400);

  // 422: a proof that does not verify; the view does not move.
  auto proof = consistency_proof(4, 6, leaves_source(h.first(6)));
  ASSERT_TRUE(proof.is_ok());
  std::vector<Hash> bad = *proof;
  bad[0][0] ^= 1;
  EXPECT_EQ(h.submit(encode_add_checkpoint({4, bad, h.checkpoint(6)})).http_status, 422);
  bad.push_back(bad[0]);  // the wrong length: only a bad request, not a split view
  const WitnessAnswer too_long = h.submit(encode_add_checkpoint({4, bad, h.checkpoint(6)}));
  EXPECT_EQ(too_long.http_status, 422);
  EXPECT_FALSE(too_long.split_view.has_value());
  EXPECT_EQ(h.views.at(h.origin).size, 4U);
  EXPECT_EQ(h.submit(encode_add_checkpoint({4, *proof, h.checkpoint(6)})).http_status, 200);
}

// The owner rotates at entry 4 of this log (docs/protocol.md "Key rotation"): heads of up to 5
// entries are the first key's, later ones the new key's. The witness pins both keys.
TEST(WitnessTest, KeysOfTheOwnersChainOnlyMoveForward) {
  WitnessHarness h;
  h.rotate();
  ASSERT_EQ(h.submit(h.request(0, 3)).http_status, 200);
  // The head that first holds the statement is still the old key's: cosigned, though the
  // witness already pins the new key.
  const WitnessAnswer first_after = h.submit(h.request(3, 5));
  EXPECT_EQ(first_after.http_status, 200) << first_after.body;
  const WitnessAnswer rotated = h.submit(h.request(5, 6, h.rotated_keys.signing));
  EXPECT_EQ(rotated.http_status, 200) << rotated.body;
  EXPECT_EQ(h.views.at(h.origin).size, 6U);

  // The retired key no longer signs once a checkpoint by the new one is witnessed.
  const WitnessAnswer retired = h.submit(h.request(6, 7));
  EXPECT_EQ(retired.http_status, 403);
  EXPECT_EQ(retired.body,
            "signed by key 1 of the 2 of " + h.origin +
                ", older than key 2, which signed the checkpoint witnessed at size 6\n");
  EXPECT_FALSE(retired.new_view.has_value());
  // A key outside the chain, neither.
  EXPECT_EQ(h.submit(h.request(6, 7, keys(3).signing)).http_status, 403);
  EXPECT_EQ(h.views.at(h.origin).size, 6U);
  EXPECT_EQ(h.submit(h.request(6, 7, h.rotated_keys.signing)).http_status, 200);

  // A witness whose first view is the new key's refuses the old key from there on.
  WitnessHarness fresh;
  fresh.rotate();
  ASSERT_EQ(fresh.submit(fresh.request(0, 6, fresh.rotated_keys.signing)).http_status, 200);
  EXPECT_EQ(fresh.submit(fresh.request(6, 8)).http_status, 403);
  // One that does not pin the rotation yet refuses the new key (the owner submits again later).
  WitnessHarness behind;
  EXPECT_EQ(behind.submit(behind.request(0, 6, behind.rotated_keys.signing)).http_status, 403);
}

TEST(WitnessTest, TwoRootsAtOneSizeAreASplitViewWithBothNotesAsEvidence) {
  WitnessHarness h;
  const std::string witnessed = h.checkpoint(6);
  ASSERT_EQ(h.submit(encode_add_checkpoint({0, {}, witnessed})).http_status, 200);

  // The log signs another history of the same size (what it showed its peer, say).
  std::vector<Hash> other = h.first(6);
  other[5] = leaf_hash(as_bytes("another entry"));
  const std::string offered =
      sign_checkpoint({h.origin, 6, root_of(other), {}}, h.log_keys.signing, h.origin);
  const WitnessAnswer answer = h.submit(encode_add_checkpoint({6, {}, offered}));
  EXPECT_EQ(answer.http_status, 409);
  ASSERT_TRUE(answer.split_view.has_value());
  EXPECT_EQ(answer.split_view->kind, SplitView::Kind::kSameSizeOtherRoot);
  EXPECT_EQ(answer.split_view->origin, h.origin);
  EXPECT_EQ(answer.split_view->witnessed, witnessed);
  EXPECT_EQ(answer.split_view->offered, offered);
  EXPECT_FALSE(answer.new_view.has_value());
  EXPECT_EQ(h.views.at(h.origin).checkpoint, witnessed);
}

TEST(WitnessTest, AHeadThatDoesNotExtendTheWitnessedOneIsASplitView) {
  WitnessHarness h;
  const std::string witnessed = h.checkpoint(5);
  ASSERT_EQ(h.submit(encode_add_checkpoint({0, {}, witnessed})).http_status, 200);

  // A larger tree whose first five entries differ: the honest proof of that tree from size 5
  // cannot match the witnessed root.
  std::vector<Hash> rewritten = h.first(9);
  rewritten[2] = leaf_hash(as_bytes("rewritten"));
  auto proof = consistency_proof(5, 9, leaves_source(rewritten));
  ASSERT_TRUE(proof.is_ok());
  const std::string offered =
      sign_checkpoint({h.origin, 9, root_of(rewritten), {}}, h.log_keys.signing, h.origin);
  const WitnessAnswer answer = h.submit(encode_add_checkpoint({5, *proof, offered}));
  EXPECT_EQ(answer.http_status, 422);
  ASSERT_TRUE(answer.split_view.has_value());
  EXPECT_EQ(answer.split_view->kind, SplitView::Kind::kNotAnExtension);
  EXPECT_EQ(answer.split_view->witnessed, witnessed);
  EXPECT_EQ(answer.split_view->offered, offered);
  EXPECT_EQ(split_view_kind_name(answer.split_view->kind), "not-an-extension");
}

TEST(WitnessTest, EmptyTreeNeedsTheEmptyRootAndNoProof) {
  WitnessHarness h;
  EXPECT_EQ(h.submit(encode_add_checkpoint({0, {}, h.checkpoint(0)})).http_status, 200);
  const std::string wrong_root =
      sign_checkpoint({h.origin, 0, leaf_hash(as_bytes("x")), {}}, h.log_keys.signing, h.origin);
  WitnessHarness fresh;
  EXPECT_EQ(fresh.submit(encode_add_checkpoint({0, {}, wrong_root})).http_status, 422);
  h.grow(3);
  EXPECT_EQ(fresh.submit(encode_add_checkpoint({0, {h.leaves[0]}, h.checkpoint(3)})).http_status,
            422);
}

}  // namespace
}  // namespace parley::ledger
