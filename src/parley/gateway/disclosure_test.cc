// The observer's side of a disclosure (disclosure.h) over a memory store: what it checks before
// it keeps and shows a message, and that a refused disclosure changes nothing.
#include "parley/gateway/disclosure.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "parley/base/bytes.h"
#include "parley/base/json.h"
#include "parley/base/rng.h"
#include "parley/gateway/rotation_for_test.h"
#include "parley/ledger/checkpoint.h"
#include "parley/ledger/merkle.h"
#include "parley/store/memory/memory_store.h"

namespace parley::gateway {
namespace {

using json::Json;

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

// nato-shape observing the line of us-eucom and ru-genstaff: it cosigned us-eucom's log at
// size 3, whose entry 1 is the message us-eucom discloses.
struct Observer {
  crypto::Keys us = keys(1);
  crypto::Keys ru = keys(2);
  crypto::Keys nato = keys(3);
  SeededRng rng{7};
  std::string origin = ledger::origin_of("us-eucom", "ru-genstaff");
  std::unique_ptr<store::Store> store =
      std::make_unique<store::MemoryStore>(store::MemoryStore::new_disk());
  std::vector<std::string> entries;  // us-eucom's log
  Bytes plain;                       // salt || content of entry 1
  std::string id;

  // `signer`: us-eucom's key that signs its entries (null: its pinned one).
  explicit Observer(const crypto::Keys* signer = nullptr) {
    for (int i = 0; i < 3; ++i) {
      wire::Draft d;
      d.id = "01890a5d-ac96-774b-bcce-b302099a805" + std::to_string(i);
      d.line = "hotline";
      d.seq = static_cast<std::uint64_t>(i) + 1;
      d.from = {"us-eucom", "saceur"};
      d.to = {"ru-genstaff", "cgs"};
      d.type = "text";
      d.created = kNow;
      d.content = {"{}", "message " + std::to_string(i)};
      const wire::Sealed s = wire::seal_and_sign(
          d, pair_key(), signer != nullptr ? signer->signing : us.signing, "us-eucom", rng);
      entries.push_back(wire::encode_envelope(s.envelope));
      if (i == 1) {
        id = d.id;
        plain =
            *crypto::open(pair_key(), as_bytes(d.id + "\n" + d.line), s.envelope.payload.sealed);
      }
    }
    const std::string note =
        ledger::sign_checkpoint({origin, 3, ledger::root_of(leaves()), {}}, us.signing, origin);
    EXPECT_TRUE(*store->put_witnessed({origin, 3, note}, 0));
  }
  crypto::SealKey pair_key() const {
    return *crypto::derive_seal_key(us.box_secret, us.box_public, ru.box_public, 1);
  }
  std::vector<ledger::Hash> leaves() const {
    std::vector<ledger::Hash> out;
    for (const std::string& e : entries) out.push_back(ledger::leaf_hash(as_bytes(e)));
    return out;
  }
  // The request us-eucom sends, with `what` (salt || content) sealed to `to_box`.
  std::string request(const Bytes& what, std::uint64_t index = 1, std::uint64_t size = 3,
                      const crypto::BoxPublicKey* to_box = nullptr) {
    const auto proof = ledger::inclusion_proof(index, 3, ledger::leaves_source(leaves()));
    Json hashes = Json::array();
    for (const ledger::Hash& h : *proof) hashes.push_back(hex_encode(h));
    const crypto::SealKey key = *crypto::derive_seal_key(
        us.box_secret, us.box_public, to_box != nullptr ? *to_box : nato.box_public, 1);
    const Bytes sealed = crypto::seal(
        key, as_bytes(disclosure_associated_data(id, "us-eucom", "nato-shape")), what, rng);
    return json::dump(Json{{"v", 1},
                           {"envelope", entries[1]},
                           {"index", index},
                           {"size", size},
                           {"proof", hashes},
                           {"sealed", base64_encode(sealed)}});
  }
  net::HttpResponse answer(const std::string& body, const std::string& from = "us-eucom") {
    return answer_disclosure(*store, {"nato-shape", nato.box_secret, nato.box_public},
                             {bundle("us-eucom", us), bundle("ru-genstaff", ru)}, from, body, kNow);
  }
  std::size_t kept() const { return store->disclosures()->size(); }
};

TEST(DisclosureTest, TheObserverChecksAndShowsADisclosedMessage) {
  Observer o;
  const net::HttpResponse r = o.answer(o.request(o.plain));
  ASSERT_EQ(r.status, 200) << r.body;
  const Json answer = *json::parse_object(r.body);
  EXPECT_EQ(answer["id"], o.id);
  EXPECT_EQ(answer["origin"], o.origin);
  EXPECT_EQ(answer["index"], 1);
  EXPECT_EQ(answer["new"], true);
  const net::HttpResponse view =
      disclosed_view(*o.store, {bundle("us-eucom", o.us), bundle("ru-genstaff", o.ru)});
  const Json list = (*json::parse_object(view.body))["disclosed"];
  ASSERT_EQ(list.size(), 1U);
  EXPECT_EQ(list[0]["text"], "message 1");
  EXPECT_EQ(list[0]["from"], "us-eucom/saceur");
  EXPECT_EQ(list[0]["salt"], hex_encode(ByteView(o.plain.data(), 32)));
  // Again: kept once.
  EXPECT_EQ((*json::parse_object(o.answer(o.request(o.plain)).body))["new"], false);
  EXPECT_EQ(o.kept(), 1U);
}

TEST(DisclosureTest, AlteredContentOrAWrongSaltIsRefusedAndNothingIsKept) {
  Observer o;
  Bytes altered = o.plain;
  altered[altered.size() - 3] ^= 0x01;  // a character of the text
  const net::HttpResponse content = o.answer(o.request(altered));
  EXPECT_EQ(content.status, 422) << content.body;
  EXPECT_NE(content.body.find("signed commitment"), std::string::npos) << content.body;
  Bytes salted = o.plain;
  salted[0] ^= 0x80;  // the salt
  const net::HttpResponse salt = o.answer(o.request(salted));
  EXPECT_EQ(salt.status, 422) << salt.body;
  EXPECT_NE(salt.body.find("signed commitment"), std::string::npos) << salt.body;
  EXPECT_EQ(o.kept(), 0U);
}

TEST(DisclosureTest, EveryOtherBadDisclosureIsRefusedWithItsReason) {
  Observer o;
  const crypto::BoxPublicKey ru_box = o.ru.box_public;
  struct Case {
    std::string body;
    std::string from;
    int status;
    std::string reason;
  };
  Observer other;  // the same, with entry 1's signature altered
  std::string& entry = other.entries[1];
  entry.replace(entry.find("\"sig\":\"") + 7, 4,
                entry.substr(entry.find("\"sig\":\"") + 7, 4) == "AAAA" ? "BBBB" : "AAAA");
  const std::string forged = other.request(other.plain);
  const std::vector<Case> cases = {
      {"not json", "us-eucom", 400, ""},
      {"{\"v\":1}", "us-eucom", 400, ""},
      {o.request(o.plain), "", 403, "pinned"},
      {o.request(o.plain), "ru-genstaff", 403, "not signed by ru-genstaff"},
      {forged, "us-eucom", 403, "not signed by us-eucom"},
      {o.request(o.plain, 2), "us-eucom", 422, "not at index 2"},
      {o.request(o.plain, 1, 2), "us-eucom", 409, "has size 3, not 2"},
      {o.request(o.plain, 1, 3, &ru_box), "us-eucom", 422, "do not open"},
  };
  for (const Case& c : cases) {
    const net::HttpResponse r = o.answer(c.body, c.from);
    EXPECT_EQ(r.status, c.status) << c.body.substr(0, 60) << " " << r.body;
    EXPECT_NE(r.body.find(c.reason), std::string::npos) << r.body;
    EXPECT_TRUE(json::parse_object(r.body)->contains("error")) << r.body;
  }
  EXPECT_EQ(o.kept(), 0U);
  // A 409 tells the discloser the size to prove it in.
  EXPECT_EQ((*json::parse_object(o.answer(o.request(o.plain, 1, 2)).body))["size"], 3);
}

// docs/protocol.md "Key rotation": after us-eucom's rotation is stored here, a disclosure of an
// envelope its new key signed is checked, kept and shown; before, it is refused.
TEST(DisclosureTest, AfterTheDisclosersRotationAnEnvelopeItsNewKeySignedIsTaken) {
  const crypto::Keys next = keys(4);
  Observer o(&next);
  const net::HttpResponse before = o.answer(o.request(o.plain));
  EXPECT_EQ(before.status, 403) << before.body;
  EXPECT_EQ(o.kept(), 0U);
  ASSERT_TRUE(
      o.store->apply({first_rotation("us-eucom", "nato-shape", o.us, next, 0, kNow)}).is_ok());
  const net::HttpResponse r = o.answer(o.request(o.plain));
  ASSERT_EQ(r.status, 200) << r.body;
  const net::HttpResponse view =
      disclosed_view(*o.store, {bundle("us-eucom", o.us), bundle("ru-genstaff", o.ru)});
  const Json list = (*json::parse_object(view.body))["disclosed"];
  ASSERT_EQ(list.size(), 1U);
  EXPECT_EQ(list[0]["text"], "message 1");
}

}  // namespace
}  // namespace parley::gateway
