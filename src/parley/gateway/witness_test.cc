// The observer's witness endpoint (witness.h) over a real store: what it persists, what it
// answers, and the split view a party shows it when it signs two histories.
#include "parley/gateway/witness.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "parley/base/check.h"
#include "parley/base/rng.h"
#include "parley/store/memory/memory_store.h"

namespace parley::gateway {
namespace {

using ledger::Hash;

const Time kNow = time_from_unix_ms(1'796'000'000'000);

crypto::Keys keys(std::uint64_t seed) {
  SeededRng rng(seed);
  return crypto::generate_keys(rng);
}

wire::Bundle bundle(const std::string& party, const crypto::Keys& k) {
  wire::Bundle b;
  b.party = party;
  b.sign_key = k.verify;
  b.box_key = k.box_public;
  b.tls_fingerprint = std::string(64, 'a');
  b.federation = {"127.0.0.1:7001"};
  return b;
}

// nato-shape witnessing the log us-eucom keeps for ru-genstaff. `history` picks the entries:
// a party that shows two histories signs two different logs under one origin.
struct Observer {
  crypto::Keys us = keys(1);
  crypto::Keys ru = keys(2);
  crypto::Keys nato = keys(3);
  std::string origin = ledger::origin_of("us-eucom", "ru-genstaff");
  std::unique_ptr<store::Store> store =
      std::make_unique<store::MemoryStore>(store::MemoryStore::new_disk());
  std::map<std::string, ledger::NoteVerifier, std::less<>> logs =
      witnessed_logs("nato-shape", {bundle("us-eucom", us), bundle("ru-genstaff", ru)});
  ledger::WitnessIdentity identity = witness_identity("nato-shape", nato.signing);

  static std::vector<Hash> leaves(std::uint64_t size, const std::string& history) {
    std::vector<Hash> out;
    for (std::uint64_t i = 0; i < size; ++i) {
      out.push_back(ledger::leaf_hash(as_bytes(history + " entry " + std::to_string(i))));
    }
    return out;
  }
  std::string checkpoint(std::uint64_t size, const std::string& history = "sent") const {
    return ledger::sign_checkpoint({origin, size, ledger::root_of(leaves(size, history)), {}},
                                   us.signing, origin);
  }
  std::string request(std::uint64_t old_size, std::uint64_t size,
                      const std::string& history = "sent") const {
    const std::vector<Hash> all = leaves(size, history);
    auto proof = ledger::consistency_proof(old_size, size, ledger::leaves_source(all));
    PARLEY_CHECK(proof.is_ok());
    return ledger::encode_add_checkpoint({old_size, *proof, checkpoint(size, history)});
  }
  WitnessReply submit(const std::string& body) {
    return answer_add_checkpoint(*store, identity, logs, body, kNow);
  }
  std::vector<store::WitnessedCheckpoint> views() const { return *store->witnessed(); }
};

TEST(WitnessEndpointTest, CosignsPersistsTheViewAndMovesOnlyForward) {
  Observer o;
  const WitnessReply first = o.submit(o.request(0, 3));
  ASSERT_EQ(first.response.status, 200) << first.response.body;
  // The answer is a cosignature of the checkpoint by nato-shape's key (type 0x04).
  auto note = ledger::parse_note(o.checkpoint(3) + first.response.body);
  ASSERT_TRUE(note.is_ok()) << note.status().to_string();
  auto signed_by = ledger::verify_note(*note, {cosigner_key("nato-shape", o.nato.verify)});
  ASSERT_TRUE(signed_by.is_ok()) << signed_by.status().to_string();
  EXPECT_TRUE((*signed_by)[0]);
  ASSERT_EQ(o.views().size(), 1U);
  EXPECT_EQ(o.views()[0], (store::WitnessedCheckpoint{o.origin, 3, o.checkpoint(3)}));

  EXPECT_EQ(o.submit(o.request(3, 8)).response.status, 200);
  EXPECT_EQ(o.views()[0].size, 8U);
  EXPECT_TRUE(o.store->split_views()->empty());
}

TEST(WitnessEndpointTest, StaleOldSizeGets409WithTheWitnessSize) {
  Observer o;
  ASSERT_EQ(o.submit(o.request(0, 5)).response.status, 200);
  const WitnessReply stale = o.submit(o.request(2, 7));
  EXPECT_EQ(stale.response.status, 409);
  EXPECT_EQ(stale.response.content_type, "text/x.tlog.size");
  EXPECT_EQ(stale.response.body, "5\n");
  EXPECT_EQ(o.views()[0].size, 5U);
}

TEST(WitnessEndpointTest, BadInputGetsTheSpecsCodeAndChangesNothing) {
  Observer o;
  ASSERT_EQ(o.submit(o.request(0, 4)).response.status, 200);
  const std::vector<store::WitnessedCheckpoint> before = o.views();

  EXPECT_EQ(o.submit("").response.status, 400);
  EXPECT_EQ(o.submit("old 4\n\nnot a note").response.status, 400);
  EXPECT_EQ(o.submit("old 9\n\n" + o.checkpoint(6)).response.status, 400);  // old > new
  // An origin nobody pinned, and a note signed by another key.
  const std::string stranger = ledger::origin_of("cn-cmc", "us-eucom");
  EXPECT_EQ(o.submit("old 0\n\n" +
                     ledger::sign_checkpoint({stranger, 1, Hash{}, {}}, o.us.signing, stranger))
                .response.status,
            404);
  EXPECT_EQ(
      o.submit("old 4\n\n" + ledger::sign_checkpoint(
                                 {o.origin, 6, ledger::root_of(Observer::leaves(6, "sent")), {}},
                                 o.ru.signing, o.origin))
          .response.status,
      403);
  // A proof of the wrong length: a bad request, not evidence.
  std::string body = o.request(4, 6);
  body.replace(body.find('\n') + 1, 45, "");
  EXPECT_EQ(o.submit(body).response.status, 422);

  EXPECT_EQ(o.views(), before);
  EXPECT_TRUE(o.store->split_views()->empty());
}

// The test: us-eucom shows the observer one head and (as its peer forwards it, or as
// it is forged for this test) another head of the same size: a split view, both signed heads
// kept as evidence, the second one refused.
TEST(WitnessEndpointTest, TwoSignedHeadsOfOneSizeAreASplitViewWithBothAsEvidence) {
  Observer o;
  ASSERT_EQ(o.submit(o.request(0, 4, "sent")).response.status, 200);
  const WitnessReply other = o.submit("old 4\n\n" + o.checkpoint(4, "shown to the observer"));
  EXPECT_EQ(other.response.status, 409);
  ASSERT_TRUE(other.split_view.has_value());
  const std::vector<store::SplitViewRecord> kept = *o.store->split_views();
  ASSERT_EQ(kept.size(), 1U);
  EXPECT_EQ(kept[0].origin, o.origin);
  EXPECT_EQ(kept[0].kind, "same-size-other-root");
  EXPECT_EQ(kept[0].witnessed, o.checkpoint(4, "sent"));
  EXPECT_EQ(kept[0].offered, o.checkpoint(4, "shown to the observer"));
  EXPECT_EQ(kept[0].seen, kNow);
  EXPECT_EQ(o.views()[0].checkpoint, o.checkpoint(4, "sent"));  // the view does not move
}

TEST(WitnessEndpointTest, AHeadThatDoesNotExtendTheWitnessedOneIsASplitView) {
  Observer o;
  ASSERT_EQ(o.submit(o.request(0, 4, "sent")).response.status, 200);
  // A larger head of another history, with a proof (of the right length) from its own size 4.
  std::string body = o.request(4, 7, "rewritten");
  const WitnessReply forked = o.submit(body);
  EXPECT_EQ(forked.response.status, 422);
  ASSERT_EQ(o.store->split_views()->size(), 1U);
  EXPECT_EQ((*o.store->split_views())[0].kind, "not-an-extension");
  EXPECT_EQ(o.views()[0].size, 4U);
}

}  // namespace
}  // namespace parley::gateway
