// The observer's witness endpoint (witness.h) over a real store: what it persists, what it
// answers, and the split view a party shows it when it signs two histories.
#include "parley/gateway/witness.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "parley/base/check.h"
#include "parley/base/json.h"
#include "parley/base/rng.h"
#include "parley/gateway/forwarded.h"
#include "parley/gateway/rotation_for_test.h"
#include "parley/ledger/formats.h"
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
  ledger::WitnessedKeys logs =
      witnessed_logs("nato-shape", {bundle("us-eucom", us), bundle("ru-genstaff", ru)}, *store);
  ledger::WitnessIdentity identity = witness_identity("nato-shape", nato.signing);

  static std::vector<Hash> leaves(std::uint64_t size, const std::string& history) {
    std::vector<Hash> out;
    for (std::uint64_t i = 0; i < size; ++i) {
      out.push_back(ledger::leaf_hash(as_bytes(history + " entry " + std::to_string(i))));
    }
    return out;
  }
  // `key`: us-eucom's signing key (null: its pinned one).
  std::string checkpoint(std::uint64_t size, const std::string& history = "sent",
                         const crypto::SigningKey* key = nullptr) const {
    return ledger::sign_checkpoint({origin, size, ledger::root_of(leaves(size, history)), {}},
                                   key != nullptr ? *key : us.signing, origin);
  }
  std::string request(std::uint64_t old_size, std::uint64_t size,
                      const std::string& history = "sent",
                      const crypto::SigningKey* key = nullptr) const {
    const std::vector<Hash> all = leaves(size, history);
    auto proof = ledger::consistency_proof(old_size, size, ledger::leaves_source(all));
    PARLEY_CHECK(proof.is_ok());
    return ledger::encode_add_checkpoint({old_size, *proof, checkpoint(size, history, key)});
  }
  // `party` (keys `from`) rotated to `to` in its log for nato-shape at entry `index`, and
  // nato-shape stored it (docs/protocol.md "Key rotation"); the witness's logs follow.
  void rotate(const std::string& party, const crypto::Keys& from, const crypto::Keys& to,
              std::uint64_t index) {
    PARLEY_CHECK(
        store->apply({first_rotation(party, "nato-shape", from, to, index, kNow)}).is_ok());
    logs = witnessed_logs("nato-shape", pinned(), *store);
  }
  WitnessReply submit(const std::string& body) {
    return answer_add_checkpoint(*store, identity, logs, body, kNow);
  }
  // ru-genstaff's receipt over a head of us-eucom's log (signed by `owner_key`) of `history`:
  // what ru-genstaff forwards to the observer once it countersigned it.
  std::string receipt(std::uint64_t size, const std::string& history,
                      const crypto::SigningKey* owner_key = nullptr,
                      const crypto::SigningKey* signer = nullptr) const {
    const ledger::SignedTreeHead sth = ledger::sign_sth(
        {"us-eucom", "ru-genstaff", size, ledger::root_of(leaves(size, history)), kNow},
        owner_key != nullptr ? *owner_key : us.signing);
    ledger::ReceiptV2Body body;
    body.tx = "01890a5d-ac96-774b-bcce-b302099a8057";
    body.from = "ru-genstaff";
    body.to = "us-eucom";
    body.sth = sth.payload_bytes;
    body.sth_sig = sth.sig;
    body.ids = {"01890a5d-ac96-774b-bcce-b302099a8058"};
    body.indices = {size - 1};
    body.received = kNow;
    return ledger::encode_receipt_v2(
        ledger::sign_receipt_v2(body, signer != nullptr ? *signer : ru.signing));
  }
  std::vector<wire::Bundle> pinned() const {
    return {bundle("us-eucom", us), bundle("ru-genstaff", ru)};
  }
  ForwardedReply forward(const std::string& body, const std::string& from = "ru-genstaff") {
    return answer_forwarded_head(*store, "nato-shape", pinned(), from, body, kNow);
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

// docs/protocol.md "Key rotation": once us-eucom's rotation is stored here (from its log for
// nato-shape), its checkpoints are checked with its chain. The witness does not know where the
// rotation stands in us-eucom's log for ru-genstaff (at entry 4, say): the old key still signs
// the head that first holds it (size 5), the new key the later ones, and once a checkpoint by
// the new key is witnessed, one the replaced key signs is refused.
TEST(WitnessEndpointTest, AfterTheOwnersRotationItsKeysOnlyMoveForward) {
  Observer o;
  ASSERT_EQ(o.submit(o.request(0, 3)).response.status, 200);
  const crypto::Keys next = keys(4);
  o.rotate("us-eucom", o.us, next, 5);
  ASSERT_EQ(o.logs.at(o.origin).size(), 2U);
  const WitnessReply first_after = o.submit(o.request(3, 5));
  EXPECT_EQ(first_after.response.status, 200) << first_after.response.body;
  const WitnessReply cosigned = o.submit(o.request(5, 8, "sent", &next.signing));
  EXPECT_EQ(cosigned.response.status, 200) << cosigned.response.body;
  EXPECT_EQ(o.views()[0].size, 8U);
  const WitnessReply retired = o.submit(o.request(8, 9));  // the replaced key
  EXPECT_EQ(retired.response.status, 403);
  EXPECT_NE(retired.response.body.find("older than key 2"), std::string::npos)
      << retired.response.body;
  EXPECT_EQ(o.submit(o.request(8, 9, "sent", &o.ru.signing)).response.status, 403);  // no key
  EXPECT_EQ(o.views()[0].size, 8U);
  EXPECT_EQ(o.submit(o.request(8, 9, "sent", &next.signing)).response.status, 200);
  // The logs of a party whose stored rotation does not open with its pinned key are not
  // witnessed (their origins are unknown) rather than checked with a guess.
  o.rotate("ru-genstaff", o.us, next, 2);
  EXPECT_EQ(o.logs.count(ledger::origin_of("ru-genstaff", "us-eucom")), 0U);
  EXPECT_EQ(o.logs.count(o.origin), 1U);
}

// The split-view test through the other path: us-eucom shows the observer one head
// (cosigned) and sends its peer another of the same size; ru-genstaff countersigns that one
// and forwards it. The observer reports a split view with both signed heads: us-eucom's
// checkpoint note and ru-genstaff's receipt, which carries us-eucom's signed head.
TEST(ForwardedHeadTest, AHeadThePeerCountersignedThatDiffersFromTheCosignedOneIsASplitView) {
  Observer o;
  ASSERT_EQ(o.submit(o.request(0, 4, "shown to the observer")).response.status, 200);
  const std::string forwarded = o.receipt(4, "sent to the peer");
  const ForwardedReply reply = o.forward(forwarded);
  EXPECT_EQ(reply.response.status, 200) << reply.response.body;
  EXPECT_EQ(parley::json::parse_object(reply.response.body)->value("split_view", false), true);
  ASSERT_TRUE(reply.split_view.has_value());
  const std::vector<store::SplitViewRecord> kept = *o.store->split_views();
  ASSERT_EQ(kept.size(), 1U);
  EXPECT_EQ(kept[0].origin, o.origin);
  EXPECT_EQ(kept[0].kind, "forwarded-other-root");
  EXPECT_EQ(kept[0].witnessed, o.checkpoint(4, "shown to the observer"));
  EXPECT_EQ(kept[0].offered, forwarded);
  // Both are signed by us-eucom: the note under its origin, the head inside the receipt.
  auto note = ledger::open_checkpoint(kept[0].witnessed, o.logs.at(o.origin).front());
  EXPECT_TRUE(note.is_ok()) << note.status().to_string();
  auto receipt = ledger::parse_receipt_v2(kept[0].offered);
  ASSERT_TRUE(receipt.is_ok());
  auto head =
      ledger::open_sth(wire::encode_dsse(receipt->body.sth, receipt->body.sth_sig, "us-eucom"),
                       o.us.verify, "us-eucom");
  ASSERT_TRUE(head.is_ok()) << head.status().to_string();
  EXPECT_EQ(head->head.size, 4U);
  EXPECT_NE(head->head.root, note->checkpoint.root);
}

// The same split view in the other order: the peer's forwarded head first, then the owner asks
// the observer to cosign another head of that size, which it refuses (409) and keeps.
TEST(ForwardedHeadTest, ACheckpointThatContradictsAForwardedHeadIsRefusedAsASplitView) {
  Observer o;
  const std::string forwarded = o.receipt(3, "sent to the peer");
  const ForwardedReply first = o.forward(forwarded);
  ASSERT_EQ(first.response.status, 200) << first.response.body;
  EXPECT_FALSE(first.split_view.has_value());
  ASSERT_EQ(o.store->forwarded_heads()->size(), 1U);
  EXPECT_EQ((*o.store->forwarded_heads())[0].size, 3U);
  EXPECT_EQ((*o.store->forwarded_heads())[0].forwarder, "ru-genstaff");

  const WitnessReply shown = o.submit(o.request(0, 3, "shown to the observer"));
  EXPECT_EQ(shown.response.status, 409);
  ASSERT_TRUE(shown.split_view.has_value());
  EXPECT_EQ(shown.split_view->kind, "forwarded-other-root");
  EXPECT_EQ(shown.split_view->witnessed, forwarded);
  EXPECT_EQ(shown.split_view->offered, o.checkpoint(3, "shown to the observer"));
  EXPECT_TRUE(o.views().empty());  // not cosigned
  // The head both saw is cosigned.
  EXPECT_EQ(o.submit(o.request(0, 3, "sent to the peer")).response.status, 200);
  EXPECT_EQ(o.store->split_views()->size(), 1U);
}

TEST(ForwardedHeadTest, BadForwardsAreRefusedWithAReasonAndChangeNothing) {
  Observer o;
  struct Case {
    std::string body;
    std::string from;
    int status;
  };
  const std::vector<Case> cases = {
      {"not json", "ru-genstaff", 400},
      {"{}", "ru-genstaff", 400},
      {o.receipt(2, "sent"), "", 403},                                       // no pinned peer
      {o.receipt(2, "sent"), "us-eucom", 403},                               // not its receipt
      {o.receipt(2, "sent", nullptr, &o.nato.signing), "ru-genstaff", 403},  // forged receipt
      {o.receipt(2, "sent", &o.ru.signing), "ru-genstaff", 403},             // head not us's
      {std::string(kForwardedBodyMax + 1, ' '), "ru-genstaff", 400},
  };
  for (const Case& c : cases) {
    const ForwardedReply r = o.forward(c.body, c.from);
    EXPECT_EQ(r.response.status, c.status) << c.body.substr(0, 80) << " " << r.response.body;
    EXPECT_TRUE(parley::json::parse_object(r.response.body)->contains("error"));
  }
  EXPECT_TRUE(o.store->forwarded_heads()->empty());
  EXPECT_TRUE(o.store->split_views()->empty());
  // A head of the observer's own log is not forwarded to it.
  EXPECT_EQ(answer_forwarded_head(*o.store, "us-eucom", o.pinned(), "ru-genstaff",
                                  o.receipt(2, "sent"), kNow)
                .response.status,
            400);
}

// docs/protocol.md "Key rotation": after both parties' rotations are stored here, a forwarded
// receipt signed by the forwarder's new key over a head signed by the owner's new key is taken.
TEST(ForwardedHeadTest, AfterRotationsTheNewKeysOfForwarderAndOwnerAreTaken) {
  Observer o;
  const crypto::Keys us_next = keys(4);
  const crypto::Keys ru_next = keys(5);
  const std::string forwarded = o.receipt(3, "sent", &us_next.signing, &ru_next.signing);
  EXPECT_EQ(o.forward(forwarded).response.status, 403);  // neither rotation known yet
  o.rotate("us-eucom", o.us, us_next, 1);
  EXPECT_EQ(o.forward(forwarded).response.status, 403);  // the forwarder's still unknown
  o.rotate("ru-genstaff", o.ru, ru_next, 1);
  const ForwardedReply reply = o.forward(forwarded);
  EXPECT_EQ(reply.response.status, 200) << reply.response.body;
  ASSERT_EQ(o.store->forwarded_heads()->size(), 1U);
  // A receipt by a key that is in neither chain is still refused.
  EXPECT_EQ(o.forward(o.receipt(4, "sent", &us_next.signing, &o.nato.signing)).response.status,
            403);
}

}  // namespace
}  // namespace parley::gateway
