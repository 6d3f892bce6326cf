#include "parley/wire/wire.h"

#include <algorithm>
#include <functional>
#include <limits>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "parley/base/json.h"
#include "parley/base/rng.h"

namespace parley::wire {
namespace {

using json::Json;
using ::testing::HasSubstr;

constexpr std::string_view kAlice = "us-eucom";
constexpr std::string_view kBob = "ru-genstaff";

Time at(std::string_view text) { return *parse_time(text); }

class WireTest : public ::testing::Test {
 protected:
  WireTest() : rng_(42), alice_(crypto::generate_keys(rng_)), bob_(crypto::generate_keys(rng_)) {
    rng_.fill(seal_key_.bytes);
  }

  Draft draft() {
    Draft d;
    d.id = uuid_v7(at("2026-11-24T21:00:00.123Z"), rng_);
    d.line = "saceur-cgs";
    d.seq = 42;
    d.from = {"us-eucom", "saceur"};
    d.to = {"ru-genstaff", "cgs"};
    d.precedence = Precedence::kFlash;
    d.type = "notify.missile-launch";
    d.created = at("2026-11-24T21:00:00.123Z");
    d.lang = "en";
    d.epoch = 3;
    d.content.body_json = R"({"count":2,"site":"alpha"})";
    d.content.text = "Two launches from site alpha; not directed at you.";
    return d;
  }

  Envelope sealed(const Draft& d) {
    return seal_and_sign(d, seal_key_, alice_.signing, kAlice, rng_).envelope;
  }

  // A DSSE envelope around arbitrary payload bytes, correctly signed by alice.
  std::string signed_payload(std::string_view payload,
                             std::string_view domain = kEnvelopeDomain) const {
    Json out = Json::object();
    out["payload"] = base64_encode(as_bytes(payload));
    out["sig"] = base64_encode(crypto::sign(alice_.signing, domain, as_bytes(payload)));
    out["key"] = std::string(kAlice);
    return json::dump(out);
  }

  // A valid envelope's payload JSON, changed by `edit`, then signed by alice.
  std::string edited_envelope(const std::function<void(Json&)>& edit) {
    const Envelope envelope = sealed(draft());
    Json payload = *json::parse_object(to_string(envelope.payload_bytes));
    edit(payload);
    return signed_payload(json::dump(payload));
  }

  Result<Envelope> open(std::string_view text) const {
    return open_envelope(text, alice_.verify, kAlice);
  }

  SeededRng rng_;
  crypto::Keys alice_;
  crypto::Keys bob_;
  crypto::SealKey seal_key_;
};

// --- envelopes -----------------------------------------------------------------------------

TEST_F(WireTest, EnvelopeRoundTripsThroughEncodeAndOpen) {
  Draft d = draft();
  d.expires = at("2026-11-24T21:10:00Z");
  d.reply_to = uuid_v7(at("2026-11-24T20:00:00Z"), rng_);
  const Envelope envelope = sealed(d);
  auto opened = open(encode_envelope(envelope));
  ASSERT_TRUE(opened.is_ok()) << opened.status().to_string();
  const Payload& p = opened->payload;
  EXPECT_EQ(p.id, d.id);
  EXPECT_EQ(p.line, d.line);
  EXPECT_EQ(p.seq, d.seq);
  EXPECT_EQ(p.from, d.from);
  EXPECT_EQ(p.to, d.to);
  EXPECT_EQ(p.precedence, Precedence::kFlash);
  EXPECT_EQ(p.type, d.type);
  EXPECT_EQ(p.created, d.created);
  EXPECT_EQ(p.expires, d.expires);
  EXPECT_EQ(p.reply_to, d.reply_to);
  EXPECT_EQ(p.lang, "en");
  EXPECT_EQ(p.epoch, 3U);
  EXPECT_EQ(opened->payload_bytes, envelope.payload_bytes);
  EXPECT_EQ(opened->sig, envelope.sig);
  EXPECT_EQ(opened->key, kAlice);

  auto content = open_content(opened->payload, seal_key_);
  ASSERT_TRUE(content.is_ok()) << content.status().to_string();
  EXPECT_EQ(content->content.body_json, R"({"count":2,"site":"alpha"})");
  EXPECT_EQ(content->content.text, d.content.text);
  EXPECT_EQ(content->salt.size(), 32U);
}

TEST_F(WireTest, EnvelopeWithoutExpiryOrReplyRoundTripsAsNulls) {
  const Envelope envelope = sealed(draft());
  EXPECT_NE(to_string(envelope.payload_bytes).find(R"("expires":null)"), std::string::npos);
  auto opened = open(encode_envelope(envelope));
  ASSERT_TRUE(opened.is_ok()) << opened.status().to_string();
  EXPECT_FALSE(opened->payload.expires.has_value());
  EXPECT_FALSE(opened->payload.reply_to.has_value());
}

TEST_F(WireTest, TypeVersionIsSignedWhenGivenAndAbsentOtherwise) {
  const Envelope plain = sealed(draft());
  EXPECT_EQ(to_string(plain.payload_bytes).find("type_version"), std::string::npos);
  auto opened = open(encode_envelope(plain));
  ASSERT_TRUE(opened.is_ok()) << opened.status().to_string();
  EXPECT_EQ(opened->payload.type_version, 0U);

  Draft d = draft();
  d.type_version = 3;
  const Envelope versioned = sealed(d);
  EXPECT_NE(to_string(versioned.payload_bytes).find(R"("type_version":3)"), std::string::npos);
  opened = open(encode_envelope(versioned));
  ASSERT_TRUE(opened.is_ok()) << opened.status().to_string();
  EXPECT_EQ(opened->payload.type_version, 3U);
}

TEST_F(WireTest, BodyTextIsNotVisibleInThePayload) {
  const Envelope envelope = sealed(draft());
  EXPECT_EQ(to_string(envelope.payload_bytes).find("alpha"), std::string::npos);
}

TEST_F(WireTest, EnvelopeWithAnyFlippedByteIsRefused) {
  const std::string text = encode_envelope(sealed(draft()));
  ASSERT_TRUE(open(text).is_ok());
  for (std::size_t i = 0; i < text.size(); ++i) {
    std::string bad = text;
    bad[i] = static_cast<char>(bad[i] ^ 0x01);
    EXPECT_FALSE(open(bad).is_ok()) << "flipped byte " << i << " of " << text;
  }
}

TEST_F(WireTest, EnvelopeWithAnyFlippedPayloadByteFailsTheSignature) {
  const Envelope envelope = sealed(draft());
  for (std::size_t i = 0; i < envelope.payload_bytes.size(); ++i) {
    Envelope bad = envelope;
    bad.payload_bytes[i] ^= 0x80;
    auto opened = open(encode_envelope(bad));
    ASSERT_FALSE(opened.is_ok()) << "payload byte " << i;
    EXPECT_EQ(opened.status().code(), StatusCode::kUnauthenticated) << "payload byte " << i;
  }
}

TEST_F(WireTest, EnvelopeWithAnyFlippedSignatureByteIsRefused) {
  const Envelope envelope = sealed(draft());
  for (std::size_t i = 0; i < envelope.sig.size(); ++i) {
    Envelope bad = envelope;
    bad.sig[i] ^= 0x01;
    auto opened = open(encode_envelope(bad));
    ASSERT_FALSE(opened.is_ok()) << "sig byte " << i;
    EXPECT_EQ(opened.status().code(), StatusCode::kUnauthenticated) << "sig byte " << i;
  }
}

TEST_F(WireTest, EnvelopeCheckedWithTheWrongKeyIsRefused) {
  auto opened = open_envelope(encode_envelope(sealed(draft())), bob_.verify, kAlice);
  ASSERT_FALSE(opened.is_ok());
  EXPECT_EQ(opened.status().code(), StatusCode::kUnauthenticated);
}

TEST_F(WireTest, EnvelopeNamingAnotherPartyAsSignerIsRefused) {
  Envelope envelope = sealed(draft());
  // Signed by alice but claiming to be bob: refused whichever key the receiver expects.
  envelope.key = std::string(kBob);
  auto as_alice = open(encode_envelope(envelope));
  ASSERT_FALSE(as_alice.is_ok());
  EXPECT_EQ(as_alice.status().code(), StatusCode::kUnauthenticated);
  EXPECT_THAT(as_alice.status().message(), HasSubstr("'key'"));
  auto as_bob = open_envelope(encode_envelope(envelope), bob_.verify, kBob);
  ASSERT_FALSE(as_bob.is_ok());
  EXPECT_EQ(as_bob.status().code(), StatusCode::kUnauthenticated);
}

TEST_F(WireTest, SignatureFromTheReceiptDomainDoesNotOpenAnEnvelope) {
  const Envelope envelope = sealed(draft());
  // The receipt domain (ledger/transcript.h), which wire does not depend on.
  auto opened = open(
      signed_payload(to_string(envelope.payload_bytes), "application/vnd.parley.receipt.v2+json"));
  ASSERT_FALSE(opened.is_ok());
  EXPECT_EQ(opened.status().code(), StatusCode::kUnauthenticated);
}

TEST_F(WireTest, ForgedPayloadIsRefusedBeforeItIsParsed) {
  // Not even JSON, but unsigned: the answer is about the signature, not the payload.
  Json out = Json::object();
  out["payload"] = base64_encode(as_bytes("not json"));
  out["sig"] = base64_encode(Bytes(64, 7));
  out["key"] = std::string(kAlice);
  auto opened = open(json::dump(out));
  ASSERT_FALSE(opened.is_ok());
  EXPECT_EQ(opened.status().code(), StatusCode::kUnauthenticated);
}

TEST_F(WireTest, SignedPayloadThatIsNotJsonIsRefusedAsMalformed) {
  auto opened = open(signed_payload("not json"));
  ASSERT_FALSE(opened.is_ok());
  EXPECT_EQ(opened.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(opened.status().message(), HasSubstr("malformed JSON"));
}

struct DsseCase {
  std::string name;
  std::function<void(Json&)> edit;
  std::string field;
};

TEST_F(WireTest, MalformedDsseWrapperNamesTheField) {
  const std::string good = encode_envelope(sealed(draft()));
  const std::vector<DsseCase> cases = {
      {"unknown field", [](Json& j) { j["extra"] = 1; }, "'extra'"},
      {"payload missing", [](Json& j) { j.erase("payload"); }, "'payload'"},
      {"payload not base64", [](Json& j) { j["payload"] = "!!!!"; }, "'payload'"},
      {"payload not a string", [](Json& j) { j["payload"] = 5; }, "'payload'"},
      {"sig bad base64", [](Json& j) { j["sig"] = "abc"; }, "'sig'"},
      {"sig 63 bytes", [](Json& j) { j["sig"] = base64_encode(Bytes(63, 1)); }, "'sig'"},
      {"sig 65 bytes", [](Json& j) { j["sig"] = base64_encode(Bytes(65, 1)); }, "'sig'"},
      {"key missing", [](Json& j) { j.erase("key"); }, "'key'"},
      {"key invalid", [](Json& j) { j["key"] = "US EUCOM"; }, "'key'"},
  };
  for (const DsseCase& c : cases) {
    Json j = *json::parse_object(good);
    c.edit(j);
    auto opened = open(json::dump(j));
    ASSERT_FALSE(opened.is_ok()) << c.name;
    EXPECT_EQ(opened.status().code(), StatusCode::kInvalidArgument) << c.name;
    EXPECT_THAT(opened.status().message(), HasSubstr(c.field)) << c.name;
  }
}

// The canonical text of an envelope is read without the JSON parser: every wrapper, valid or
// malformed, must open (or be refused, with the same reason) exactly as the same JSON written
// with whitespace, which the full parser reads.
TEST_F(WireTest, CanonicalWrapperOpensAsTheFullParserReadsIt) {
  const std::string good = encode_envelope(sealed(draft()));
  const std::vector<std::function<void(Json&)>> edits = {
      [](Json&) {},
      [](Json& j) { j["payload"] = "!!!!"; },
      [](Json& j) { j["payload"] = "Zm9vYg="; },
      [](Json& j) { j["payload"] = base64_encode(as_bytes(std::string("{}"))); },
      [](Json& j) { j["sig"] = "abc"; },
      [](Json& j) { j["sig"] = base64_encode(Bytes(63, 1)); },
      [](Json& j) { j["sig"] = base64_encode(Bytes(64, 1)); },
      [](Json& j) { j["key"] = "ru-genstaff"; },
      [](Json& j) { j["key"] = "-x"; },
  };
  for (std::size_t i = 0; i < edits.size(); ++i) {
    Json j = *json::parse_object(good);
    edits[i](j);
    const auto canonical = open(json::dump(j));
    const auto spaced = open(j.dump(1));
    ASSERT_EQ(canonical.is_ok(), spaced.is_ok()) << "edit " << i;
    if (canonical.is_ok()) {
      EXPECT_EQ(canonical->payload_bytes, spaced->payload_bytes);
      EXPECT_EQ(canonical->payload.id, spaced->payload.id);
      continue;
    }
    EXPECT_EQ(canonical.status().code(), spaced.status().code()) << "edit " << i;
    EXPECT_EQ(canonical.status().message(), spaced.status().message()) << "edit " << i;
  }
}

TEST_F(WireTest, EnvelopeThatIsNotAnObjectIsRefused) {
  for (const std::string_view text : {"", "[]", "null", "\"x\"", "{", "{\"payload\":"}) {
    auto opened = open(text);
    ASSERT_FALSE(opened.is_ok()) << text;
    EXPECT_EQ(opened.status().code(), StatusCode::kInvalidArgument) << text;
  }
}

TEST_F(WireTest, EveryMalformedPayloadFieldIsRefusedByName) {
  const std::vector<DsseCase> cases = {
      {"v 2", [](Json& j) { j["v"] = 2; }, "'v'"},
      {"v missing", [](Json& j) { j.erase("v"); }, "'v'"},
      {"unknown field", [](Json& j) { j["body"] = Json::object(); }, "'body'"},
      {"id not a uuid", [](Json& j) { j["id"] = "42"; }, "'id'"},
      {"id uppercase", [](Json& j) { j["id"] = "0190A1B2-C3D4-7E5F-8A9B-0C1D2E3F4A5B"; }, "'id'"},
      {"id missing", [](Json& j) { j.erase("id"); }, "'id'"},
      {"line empty", [](Json& j) { j["line"] = ""; }, "'line'"},
      {"line leading dash", [](Json& j) { j["line"] = "-cgs"; }, "'line'"},
      {"line uppercase", [](Json& j) { j["line"] = "SACEUR"; }, "'line'"},
      {"line 65 chars", [](Json& j) { j["line"] = std::string(65, 'a'); }, "'line'"},
      {"seq zero", [](Json& j) { j["seq"] = 0; }, "'seq'"},
      {"seq negative", [](Json& j) { j["seq"] = -1; }, "'seq'"},
      {"seq fractional", [](Json& j) { j["seq"] = 1.5; }, "'seq'"},
      {"seq string", [](Json& j) { j["seq"] = "1"; }, "'seq'"},
      {"from without principal", [](Json& j) { j["from"] = "us-eucom"; }, "'from'"},
      {"from empty principal", [](Json& j) { j["from"] = "us-eucom/"; }, "'from'"},
      {"to two slashes", [](Json& j) { j["to"] = "ru-genstaff/cgs/x"; }, "'to'"},
      {"to uppercase", [](Json& j) { j["to"] = "RU/cgs"; }, "'to'"},
      {"precedence unknown", [](Json& j) { j["precedence"] = "URGENT"; }, "'precedence'"},
      {"precedence lowercase", [](Json& j) { j["precedence"] = "flash"; }, "'precedence'"},
      {"type empty", [](Json& j) { j["type"] = ""; }, "'type'"},
      {"type uppercase", [](Json& j) { j["type"] = "Notify"; }, "'type'"},
      {"type slash", [](Json& j) { j["type"] = "a/b"; }, "'type'"},
      {"type 65 chars", [](Json& j) { j["type"] = std::string(65, 'a'); }, "'type'"},
      {"type_version zero", [](Json& j) { j["type_version"] = 0; }, "'type_version'"},
      {"type_version 2^32", [](Json& j) { j["type_version"] = 4294967296ULL; }, "'type_version'"},
      {"type_version string", [](Json& j) { j["type_version"] = "1"; }, "'type_version'"},
      {"created words", [](Json& j) { j["created"] = "yesterday"; }, "'created'"},
      {"created offset", [](Json& j) { j["created"] = "2026-11-24T21:00:00+01:00"; }, "'created'"},
      {"created null", [](Json& j) { j["created"] = nullptr; }, "'created'"},
      {"expires bad month", [](Json& j) { j["expires"] = "2026-13-01T00:00:00Z"; }, "'expires'"},
      {"expires missing", [](Json& j) { j.erase("expires"); }, "'expires'"},
      {"expires number", [](Json& j) { j["expires"] = 5; }, "'expires'"},
      {"reply_to not a uuid", [](Json& j) { j["reply_to"] = "x"; }, "'reply_to'"},
      {"reply_to missing", [](Json& j) { j.erase("reply_to"); }, "'reply_to'"},
      {"lang one char", [](Json& j) { j["lang"] = "e"; }, "'lang'"},
      {"lang nine chars", [](Json& j) { j["lang"] = "abcdefghi"; }, "'lang'"},
      {"lang uppercase", [](Json& j) { j["lang"] = "EN"; }, "'lang'"},
      {"epoch zero", [](Json& j) { j["epoch"] = 0; }, "'epoch'"},
      {"epoch 2^32", [](Json& j) { j["epoch"] = 4294967296ULL; }, "'epoch'"},
      {"sealed not base64", [](Json& j) { j["sealed"] = "***="; }, "'sealed'"},
      {"sealed 39 bytes", [](Json& j) { j["sealed"] = base64_encode(Bytes(39, 1)); }, "'sealed'"},
      {"sealed too long",
       [](Json& j) { j["sealed"] = base64_encode(Bytes(40 + 32 + kContentBytesMax + 1, 1)); },
       "'sealed'"},
      {"commitment 63 hex", [](Json& j) { j["commitment"] = std::string(63, 'a'); },
       "'commitment'"},
      {"commitment uppercase", [](Json& j) { j["commitment"] = std::string(64, 'A'); },
       "'commitment'"},
      {"commitment not hex", [](Json& j) { j["commitment"] = std::string(64, 'g'); },
       "'commitment'"},
  };
  for (const DsseCase& c : cases) {
    auto opened = open(edited_envelope(c.edit));
    ASSERT_FALSE(opened.is_ok()) << c.name;
    EXPECT_EQ(opened.status().code(), StatusCode::kInvalidArgument) << c.name;
    EXPECT_THAT(opened.status().message(), HasSubstr(c.field)) << c.name;
    EXPECT_THAT(opened.status().message(), HasSubstr("envelope payload")) << c.name;
    EXPECT_EQ(opened.status().message().find('\n'), std::string::npos) << c.name;
  }
}

TEST_F(WireTest, EditedPayloadWithValidFieldsStillOpens) {
  // The edit helper itself produces openable envelopes: the refusals above are about fields.
  auto opened = open(edited_envelope([](Json& j) { j["precedence"] = "ROUTINE"; }));
  ASSERT_TRUE(opened.is_ok()) << opened.status().to_string();
  EXPECT_EQ(opened->payload.precedence, Precedence::kRoutine);
}

// --- content ---------------------------------------------------------------------------------

TEST_F(WireTest, ContentUnderTheWrongSealKeyIsRefused) {
  const Envelope envelope = sealed(draft());
  crypto::SealKey other = seal_key_;
  other.bytes[0] ^= 1;
  auto content = open_content(envelope.payload, other);
  ASSERT_FALSE(content.is_ok());
  EXPECT_EQ(content.status().code(), StatusCode::kUnauthenticated);
}

TEST_F(WireTest, ContentMovedToAnotherLineFailsTheSeal) {
  const Envelope envelope = sealed(draft());
  Payload moved = envelope.payload;
  moved.line = "other-line";
  auto content = open_content(moved, seal_key_);
  ASSERT_FALSE(content.is_ok());
  EXPECT_EQ(content.status().code(), StatusCode::kUnauthenticated);
}

TEST_F(WireTest, CommitmentMismatchIsDetected) {
  // The sender signs a commitment that does not match what it sealed.
  const Envelope envelope = sealed(draft());
  Json payload = *json::parse_object(to_string(envelope.payload_bytes));
  payload["commitment"] = std::string(64, '0');
  auto opened = open(signed_payload(json::dump(payload)));
  ASSERT_TRUE(opened.is_ok()) << opened.status().to_string();
  auto content = open_content(opened->payload, seal_key_);
  ASSERT_FALSE(content.is_ok());
  EXPECT_EQ(content.status().code(), StatusCode::kUnauthenticated);
  EXPECT_THAT(content.status().message(), HasSubstr("commitment mismatch"));
}

TEST_F(WireTest, TheSealReturnsTheSaltItSealed) {
  // The sender keeps the salt for disclosure: the seal hands it back, the same 32 bytes the
  // receiver finds inside the seal, and fresh for every message.
  const Sealed first = seal_and_sign(draft(), seal_key_, alice_.signing, kAlice, rng_);
  const Sealed second = seal_and_sign(draft(), seal_key_, alice_.signing, kAlice, rng_);
  auto opened = open_content(first.envelope.payload, seal_key_);
  ASSERT_TRUE(opened.is_ok()) << opened.status().to_string();
  EXPECT_EQ(first.salt.size(), 32U);
  EXPECT_EQ(first.salt, opened->salt);
  EXPECT_NE(first.salt, second.salt);
}

TEST_F(WireTest, DisclosedSaltAndContentMatchTheCommitment) {
  const Envelope envelope = sealed(draft());
  auto opened = open_content(envelope.payload, seal_key_);
  ASSERT_TRUE(opened.is_ok()) << opened.status().to_string();
  // A third party rebuilds salt || content from the disclosure and checks the signed hash.
  Json content = Json::object();
  content["body"] = *json::parse_object(opened->content.body_json);
  content["text"] = opened->content.text;
  Bytes disclosed = opened->salt;
  const std::string content_text = json::dump(content);
  disclosed.insert(disclosed.end(), content_text.begin(), content_text.end());
  EXPECT_EQ(crypto::sha256(disclosed), envelope.payload.commitment);
  // A different text under the same salt does not.
  disclosed.back() = '!';
  EXPECT_NE(crypto::sha256(disclosed), envelope.payload.commitment);
}

// Seals `content_text` correctly (salt, commitment, AD) into a copy of `payload`.
Payload with_content(Payload payload, std::string_view content_text, const crypto::SealKey& key,
                     Rng& rng) {
  Bytes plaintext(32);
  rng.fill(plaintext);
  plaintext.insert(plaintext.end(), content_text.begin(), content_text.end());
  payload.commitment = crypto::sha256(plaintext);
  payload.sealed = crypto::seal(key, as_bytes(payload.id + "\n" + payload.line), plaintext, rng);
  return payload;
}

TEST_F(WireTest, MalformedContentIsRefusedAsInvalid) {
  const Payload base = sealed(draft()).payload;
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"not json", "hello"},
      {"array", "[]"},
      {"body missing", R"({"text":"x"})"},
      {"text missing", R"({"body":{}})"},
      {"body an array", R"({"body":[],"text":"x"})"},
      {"text a number", R"({"body":{},"text":1})"},
      {"extra field", R"({"body":{},"text":"x","x":1})"},
  };
  for (const auto& [name, text] : cases) {
    auto content = open_content(with_content(base, text, seal_key_, rng_), seal_key_);
    ASSERT_FALSE(content.is_ok()) << name;
    EXPECT_EQ(content.status().code(), StatusCode::kInvalidArgument) << name;
  }
  auto good =
      open_content(with_content(base, R"({"body":{},"text":""})", seal_key_, rng_), seal_key_);
  EXPECT_TRUE(good.is_ok()) << good.status().to_string();
}

TEST_F(WireTest, OversizedContentIsRefused) {
  const Payload base = sealed(draft()).payload;
  const std::string text = R"({"body":{},"text":")" + std::string(kContentBytesMax, 'a') + R"("})";
  auto content = open_content(with_content(base, text, seal_key_, rng_), seal_key_);
  ASSERT_FALSE(content.is_ok());
  EXPECT_EQ(content.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(content.status().message(), HasSubstr("larger than"));
}

// --- transactions ----------------------------------------------------------------------------

// A structurally valid transaction: the sth is any DSSE-shaped object (wire does not open it).
Transaction test_transaction(std::vector<std::string> envelopes, Rng& rng) {
  Transaction tx;
  tx.id = uuid_v7(at("2026-11-24T21:00:01Z"), rng);
  tx.from = std::string(kAlice);
  tx.to = std::string(kBob);
  tx.sth = R"({"key":"us-eucom","payload":"e30=","sig":"AAAA"})";
  crypto::Digest h{};
  for (std::size_t i = 0; i < envelopes.size(); ++i) {
    h[0] = static_cast<std::uint8_t>(i);
    tx.entries.push_back({10 + i, envelopes[i], {h, crypto::sha256(h)}});
  }
  tx.consistency.push_back({0, crypto::sha256({}), {}});
  tx.consistency.push_back({7, h, {h, h, h}});
  return tx;
}

TEST_F(WireTest, TransactionRoundTripsAndItsEnvelopesStillOpen) {
  const Transaction tx =
      test_transaction({encode_envelope(sealed(draft())), encode_envelope(sealed(draft()))}, rng_);
  const std::string text = encode_transaction(tx);
  ASSERT_TRUE(json::parse_object(text).is_ok()) << text;
  auto parsed = parse_transaction(text);
  ASSERT_TRUE(parsed.is_ok()) << parsed.status().to_string();
  EXPECT_EQ(parsed->id, tx.id);
  EXPECT_EQ(parsed->from, tx.from);
  EXPECT_EQ(parsed->to, tx.to);
  EXPECT_EQ(parsed->sth, tx.sth);
  ASSERT_EQ(parsed->entries.size(), 2U);
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(parsed->entries[i].index, tx.entries[i].index);
    EXPECT_EQ(parsed->entries[i].proof, tx.entries[i].proof);
    // The envelope text survives byte for byte: it is a leaf of the sender's log.
    EXPECT_EQ(parsed->entries[i].envelope, tx.entries[i].envelope);
    auto a = open(parsed->entries[i].envelope);
    ASSERT_TRUE(a.is_ok()) << a.status().to_string();
  }
  ASSERT_EQ(parsed->consistency.size(), 2U);
  EXPECT_EQ(parsed->consistency[1].from_size, 7U);
  EXPECT_EQ(parsed->consistency[1].from_root, tx.consistency[1].from_root);
  EXPECT_EQ(parsed->consistency[1].proof.size(), 3U);
  EXPECT_EQ(encode_transaction(*parsed), text);
}

// The transaction's optional integers, the window's `after` (docs/protocol.md "Transaction
// window") and `pinned` ("Key rotation"): absent unless set, written in that order before
// `sth`, round-trip (0 too), and each is an integer within the protocol's range.
TEST_F(WireTest, TransactionAfterAndPinnedAreOptionalAndRoundTrip) {
  using Field = std::optional<std::uint64_t> Transaction::*;
  const std::vector<std::pair<std::string, Field>> fields = {{"after", &Transaction::after},
                                                             {"pinned", &Transaction::pinned}};
  Transaction tx = test_transaction({encode_envelope(sealed(draft()))}, rng_);
  const std::string without = encode_transaction(tx);
  for (const auto& [name, field] : fields) {
    EXPECT_EQ(without.find("\"" + name + "\""), std::string::npos) << name;
    EXPECT_FALSE((*parse_transaction(without)).*field) << name;
  }
  tx.after = 5;
  tx.pinned = 2;
  const std::string with = encode_transaction(tx);
  EXPECT_NE(with.find("\"after\":5,\"pinned\":2,\"sth\""), std::string::npos) << with;
  auto parsed = parse_transaction(with);
  ASSERT_TRUE(parsed.is_ok()) << parsed.status().to_string();
  EXPECT_EQ(parsed->after, 5U);
  EXPECT_EQ(parsed->pinned, 2U);
  EXPECT_EQ(encode_transaction(*parsed), with);
  tx.after = 0;
  tx.pinned = 0;
  parsed = parse_transaction(encode_transaction(tx));
  ASSERT_TRUE(parsed.is_ok()) << parsed.status().to_string();
  EXPECT_EQ(parsed->after, 0U);
  EXPECT_EQ(parsed->pinned, 0U);
  for (const auto& [name, field] : fields) {
    const std::string set = "\"" + name + "\":" + (name == "after" ? "5" : "2");
    for (const std::string value : {"-1", "\"2\"", "9007199254740992", "0.5", "null"}) {
      std::string text = with;
      text.replace(text.find(set), set.size(), "\"" + name + "\":" + value);
      auto refused = parse_transaction(text);
      ASSERT_FALSE(refused.is_ok()) << name << " " << value;
      EXPECT_NE(refused.status().message().find(name), std::string::npos)
          << refused.status().message();
    }
  }
}

TEST_F(WireTest, MalformedTransactionNamesTheField) {
  const Transaction tx = test_transaction({encode_envelope(sealed(draft()))}, rng_);
  const std::string good = encode_transaction(tx);
  ASSERT_TRUE(parse_transaction(good).is_ok());
  const std::vector<DsseCase> cases = {
      {"v 1", [](Json& j) { j["v"] = 1; }, "'v'"},
      {"unknown field", [](Json& j) { j["extra"] = true; }, "'extra'"},
      {"tx not a uuid", [](Json& j) { j["tx"] = "1"; }, "'tx'"},
      {"from invalid", [](Json& j) { j["from"] = "Us"; }, "'from'"},
      {"to missing", [](Json& j) { j.erase("to"); }, "'to'"},
      {"sth a string", [](Json& j) { j["sth"] = "x"; }, "'sth'"},
      {"entries not an array", [](Json& j) { j["entries"] = Json::object(); }, "'entries'"},
      {"entries empty", [](Json& j) { j["entries"] = Json::array(); }, "'entries'"},
      {"entry a string", [](Json& j) { j["entries"][0] = "x"; }, "'entries'"},
      {"entry envelope a string", [](Json& j) { j["entries"][0]["envelope"] = "x"; }, "'envelope'"},
      {"entry index negative", [](Json& j) { j["entries"][0]["index"] = -1; }, "'index'"},
      {"entry unknown field", [](Json& j) { j["entries"][0]["x"] = 1; }, "'x'"},
      {"entry proof upper hex", [](Json& j) { j["entries"][0]["proof"][0] = std::string(64, 'A'); },
       "'proof'"},
      {"entry proof short hash", [](Json& j) { j["entries"][0]["proof"][0] = "00"; }, "'proof'"},
      {"entry proof too long",
       [](Json& j) {
         Json many = Json::array();
         for (std::size_t i = 0; i <= kProofHashesMax; ++i) many.push_back(std::string(64, '0'));
         j["entries"][0]["proof"] = many;
       },
       "'proof'"},
      {"duplicate index", [](Json& j) { j["entries"].push_back(j["entries"][0]); },
       "duplicate index"},
      {"too many entries",
       [](Json& j) {
         Json many = Json::array();
         for (std::size_t i = 0; i <= kEnvelopesPerTransactionMax; ++i) {
           Json e = j["entries"][0];
           e["index"] = i;
           many.push_back(e);
         }
         j["entries"] = many;
       },
       "'entries'"},
      {"consistency missing", [](Json& j) { j.erase("consistency"); }, "'consistency'"},
      {"consistency root not hex", [](Json& j) { j["consistency"][0]["from_root"] = "zz"; },
       "'from_root'"},
      {"consistency size a string", [](Json& j) { j["consistency"][0]["from_size"] = "1"; },
       "'from_size'"},
  };
  for (const DsseCase& c : cases) {
    Json j = *json::parse_object(good);
    c.edit(j);
    auto parsed = parse_transaction(json::dump(j));
    ASSERT_FALSE(parsed.is_ok()) << c.name;
    EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument) << c.name;
    EXPECT_THAT(parsed.status().message(), HasSubstr(c.field)) << c.name;
  }
}

// Every number a peer sends is read as at most 2^53 - 1 (json::kUintMax), so no value can
// overflow the store's signed 64-bit columns (a seq of 2^63 once stopped the receiver).
// Property: for boundary values and random 64-bit ones, each numeric field either parses to
// exactly that value, at most kUintMax, or is refused by name.
TEST_F(WireTest, EveryNumericFieldIsRefusedByNameAbove2To53Minus1) {
  SeededRng values(7);
  std::vector<std::uint64_t> candidates{1,
                                        json::kUintMax - 1,
                                        json::kUintMax,
                                        json::kUintMax + 1,
                                        std::uint64_t{1} << 63,
                                        (std::uint64_t{1} << 63) - 1,
                                        std::numeric_limits<std::uint64_t>::max()};
  for (int i = 0; i < 200; ++i) {
    std::uint64_t v = 0;
    values.fill(std::span<std::uint8_t>(reinterpret_cast<std::uint8_t*>(&v), sizeof v));
    candidates.push_back(std::max<std::uint64_t>(1, v >> (i % 64)));  // every magnitude
  }
  const Transaction tx = test_transaction({encode_envelope(sealed(draft()))}, rng_);
  const Json good_tx = *json::parse_object(encode_transaction(tx));
  for (const std::uint64_t v : candidates) {
    const bool fits = v <= json::kUintMax;
    // The envelope's seq (the field that crashed the receiver).
    auto opened = open(edited_envelope([v](Json& j) { j["seq"] = v; }));
    if (fits) {
      ASSERT_TRUE(opened.is_ok()) << v << ": " << opened.status().to_string();
      EXPECT_EQ(opened->payload.seq, v);
    } else {
      ASSERT_FALSE(opened.is_ok()) << v;
      EXPECT_THAT(opened.status().message(), HasSubstr("'seq'")) << v;
      EXPECT_THAT(opened.status().message(), HasSubstr("9007199254740991")) << v;
    }
    // A transaction's entry index and consistency size.
    for (const std::string field : {"index", "from_size"}) {
      Json j = good_tx;
      if (field == "index") {
        j["entries"][0]["index"] = v;
      } else {
        j["consistency"][1]["from_size"] = v;
      }
      auto parsed = parse_transaction(json::dump(j));
      if (fits) {
        ASSERT_TRUE(parsed.is_ok()) << field << " " << v << ": " << parsed.status().to_string();
        EXPECT_EQ(field == "index" ? parsed->entries[0].index : parsed->consistency[1].from_size,
                  v);
      } else {
        ASSERT_FALSE(parsed.is_ok()) << field << " " << v;
        EXPECT_THAT(parsed.status().message(), HasSubstr("'" + field + "'")) << v;
      }
    }
  }
}

TEST_F(WireTest, OversizedTransactionIsRefusedBeforeParsing) {
  const std::string huge = "{\"x\":\"" + std::string(kFrameBytesMax, 'a') + "\"}";
  auto parsed = parse_transaction(huge);
  ASSERT_FALSE(parsed.is_ok());
  EXPECT_THAT(parsed.status().message(), HasSubstr("larger than"));
}

// --- refusals --------------------------------------------------------------------------------

TEST(RefusalTest, RefusalRoundTrips) {
  const Refusal refusal{"envelope payload: field 'seq': must be at least 1",
                        "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"};
  auto parsed = parse_refusal(encode_refusal(refusal));
  ASSERT_TRUE(parsed.is_ok()) << parsed.status().to_string();
  EXPECT_EQ(parsed->error, refusal.error);
  EXPECT_EQ(parsed->id, refusal.id);
}

TEST(RefusalTest, OwnRefusalWithANewlineStillParsesAsOneLine) {
  auto parsed = parse_refusal(encode_refusal({"bad\nline", ""}));
  ASSERT_TRUE(parsed.is_ok()) << parsed.status().to_string();
  EXPECT_EQ(parsed->error, "bad line");
  EXPECT_EQ(parsed->id, "");
}

TEST(RefusalTest, MalformedRefusalIsRefused) {
  for (const std::string_view text :
       {R"({"error":"x","id":"1"})", R"({"error":"","id":""})", R"({"error":"x"})",
        R"({"error":"x","id":"","more":1})", R"({"error":"a\nb","id":""})", "[]"}) {
    EXPECT_FALSE(parse_refusal(text).is_ok()) << text;
  }
}

// --- bundles ---------------------------------------------------------------------------------

class BundleTest : public WireTest {
 protected:
  Bundle bundle() const {
    Bundle b;
    b.party = std::string(kAlice);
    b.sign_key = alice_.verify;
    b.box_key = alice_.box_public;
    b.tls_fingerprint = hex_encode(crypto::sha256(as_bytes("certificate")));
    b.federation = {"127.0.0.1:7001", "[::1]:7002", "gw2.eucom.example:443"};
    b.lang = "en";
    return b;
  }

  Result<Bundle> parse_edited(const std::function<void(Json&)>& edit) const {
    Json j = *json::parse_object(encode_bundle(bundle()));
    edit(j);
    return parse_bundle(json::dump(j));
  }
};

TEST_F(BundleTest, BundleRoundTrips) {
  const Bundle b = bundle();
  auto parsed = parse_bundle(encode_bundle(b));
  ASSERT_TRUE(parsed.is_ok()) << parsed.status().to_string();
  EXPECT_EQ(parsed->party, b.party);
  EXPECT_EQ(parsed->sign_key, b.sign_key);
  EXPECT_EQ(parsed->box_key, b.box_key);
  EXPECT_EQ(parsed->tls_fingerprint, b.tls_fingerprint);
  EXPECT_EQ(parsed->federation, b.federation);
  EXPECT_EQ(parsed->lang, b.lang);
}

TEST_F(BundleTest, BundleCarriesTheNoteVerifierKeyAndOldBundlesWithoutItParse) {
  const Bundle b = bundle();
  const Json j = *json::parse_object(encode_bundle(b));
  ASSERT_TRUE(j.contains("note_key"));
  const std::string note_key = j["note_key"].get<std::string>();
  EXPECT_EQ(note_key.rfind("parley.example/" + b.party + "+", 0), 0U) << note_key;
  EXPECT_EQ(note_key, bundle_note_key(b));
  auto old = parse_edited([](Json& edited) { edited.erase("note_key"); });
  ASSERT_TRUE(old.is_ok()) << old.status().to_string();
  EXPECT_EQ(old->sign_key, b.sign_key);
}

// A party with translators publishes them in a v2 bundle; one without keeps writing v1.
TEST_F(BundleTest, TranslatorsMakeAV2BundleThatRoundTrips) {
  EXPECT_EQ((*json::parse_object(encode_bundle(bundle())))["v"], 1);
  Bundle b = bundle();
  b.translators = {"interpreter", "linguist"};
  const std::string text = encode_bundle(b);
  EXPECT_EQ((*json::parse_object(text))["v"], 2);
  auto parsed = parse_bundle(text);
  ASSERT_TRUE(parsed.is_ok()) << parsed.status().to_string();
  EXPECT_EQ(parsed->translators, b.translators);
  EXPECT_EQ(parsed->sign_key, b.sign_key);
}

Bytes low_order(std::initializer_list<std::uint8_t> head, std::uint8_t last) {
  Bytes point(32, 0);
  std::copy(head.begin(), head.end(), point.begin());
  point[31] = last;
  return point;
}

TEST_F(BundleTest, MalformedBundleFieldsAreRefusedByName) {
  Bytes p_minus_1(32, 0xff);
  p_minus_1[0] = 0xec;
  p_minus_1[31] = 0x7f;
  const Bytes order8 = {0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56, 0xe3,
                        0xfa, 0xf1, 0x9f, 0xc4, 0x6a, 0xda, 0x09, 0x8d, 0xeb, 0x9c, 0x32,
                        0xb1, 0xfd, 0x86, 0x62, 0x05, 0x16, 0x5f, 0x49, 0xb8, 0x00};
  const std::vector<DsseCase> cases = {
      {"v 3", [](Json& j) { j["v"] = 3; }, "'v'"},
      {"v 2 without translators", [](Json& j) { j["v"] = 2; }, "'translators'"},
      {"translators in v1", [](Json& j) { j["translators"] = {"interpreter"}; }, "'translators'"},
      {"translators empty",
       [](Json& j) {
         j["v"] = 2;
         j["translators"] = Json::array();
       },
       "'translators'"},
      {"translator twice",
       [](Json& j) {
         j["v"] = 2;
         j["translators"] = {"interpreter", "interpreter"};
       },
       "'translators'"},
      {"translator not an id",
       [](Json& j) {
         j["v"] = 2;
         j["translators"] = {"Chief Interpreter"};
       },
       "'translators'"},
      {"unknown field", [](Json& j) { j["name"] = "x"; }, "'name'"},
      {"party invalid", [](Json& j) { j["party"] = "US EUCOM"; }, "'party'"},
      {"sign_key bad base64", [](Json& j) { j["sign_key"] = "AAAA*AAA"; }, "'sign_key'"},
      {"sign_key 31 bytes", [](Json& j) { j["sign_key"] = base64_encode(Bytes(31, 9)); },
       "'sign_key'"},
      {"sign_key 33 bytes", [](Json& j) { j["sign_key"] = base64_encode(Bytes(33, 9)); },
       "'sign_key'"},
      {"box_key bad base64", [](Json& j) { j["box_key"] = "AAA"; }, "'box_key'"},
      {"box_key 16 bytes", [](Json& j) { j["box_key"] = base64_encode(Bytes(16, 9)); },
       "'box_key'"},
      {"box_key zero", [](Json& j) { j["box_key"] = base64_encode(Bytes(32, 0)); }, "'box_key'"},
      {"box_key one", [](Json& j) { j["box_key"] = base64_encode(low_order({1}, 0)); },
       "'box_key'"},
      {"box_key p-1", [&](Json& j) { j["box_key"] = base64_encode(p_minus_1); }, "'box_key'"},
      {"box_key order 8", [&](Json& j) { j["box_key"] = base64_encode(order8); }, "'box_key'"},
      {"fingerprint short", [](Json& j) { j["tls_fingerprint"] = std::string(62, 'a'); },
       "'tls_fingerprint'"},
      {"fingerprint uppercase", [](Json& j) { j["tls_fingerprint"] = std::string(64, 'A'); },
       "'tls_fingerprint'"},
      {"federation empty", [](Json& j) { j["federation"] = Json::array(); }, "'federation'"},
      {"federation no port", [](Json& j) { j["federation"][0] = "127.0.0.1"; }, "'federation'"},
      {"federation port 0", [](Json& j) { j["federation"][0] = "127.0.0.1:0"; }, "'federation'"},
      {"federation number", [](Json& j) { j["federation"][0] = 7001; }, "'federation'"},
      {"lang missing", [](Json& j) { j.erase("lang"); }, "'lang'"},
      {"note_key of another key", [](Json& j) { j["sign_key"] = base64_encode(Bytes(32, 9)); },
       "'note_key'"},
      {"note_key of another party", [](Json& j) { j["party"] = "ru-genstaff"; }, "'note_key'"},
      {"note_key not a string", [](Json& j) { j["note_key"] = 1; }, "'note_key'"},
  };
  for (const DsseCase& c : cases) {
    auto parsed = parse_edited(c.edit);
    ASSERT_FALSE(parsed.is_ok()) << c.name;
    EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument) << c.name;
    EXPECT_THAT(parsed.status().message(), HasSubstr(c.field)) << c.name;
    EXPECT_THAT(parsed.status().message(), HasSubstr("bundle")) << c.name;
  }
}

// --- identifiers and addresses ----------------------------------------------------------------

TEST(HostPortTest, ValidAddressesParse) {
  auto v4 = parse_host_port("127.0.0.1:7001");
  ASSERT_TRUE(v4.is_ok());
  EXPECT_EQ(v4->host, "127.0.0.1");
  EXPECT_EQ(v4->port, 7001);
  auto v6 = parse_host_port("[::1]:443");
  ASSERT_TRUE(v6.is_ok());
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 443);
  auto name = parse_host_port("gw.example:65535");
  ASSERT_TRUE(name.is_ok());
  EXPECT_EQ(name->host, "gw.example");
  EXPECT_EQ(name->port, 65535);
}

TEST(HostPortTest, MalformedAddressesAreRefused) {
  for (const std::string_view text :
       {"", ":80", "host", "host:", "host:0", "host:65536", "host:99999999", "host:+80", "host:80a",
        "host: 80", "[::1]", "[::1]80", "[]:80", "[::1:80", "::1:80", "ho st:80", "[nothex]:80",
        "host:-1"}) {
    auto parsed = parse_host_port(text);
    ASSERT_FALSE(parsed.is_ok()) << text;
    EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument) << text;
  }
}

TEST(HostPortTest, IPv4AndNameAndBracketedIPv6KeepTheirHostAndPort) {
  struct Case {
    std::string_view text;
    std::string_view host;
    std::uint16_t port;
  };
  for (const Case& c :
       {Case{"127.0.0.1:1", "127.0.0.1", 1}, Case{"10.0.0.2:65535", "10.0.0.2", 65535},
        Case{"[::1]:7001", "::1", 7001}, Case{"[fe80::1:2]:80", "fe80::1:2", 80},
        Case{"gw-1.example.org:8443", "gw-1.example.org", 8443}}) {
    auto parsed = parse_host_port(c.text);
    ASSERT_TRUE(parsed.is_ok()) << c.text << ": " << parsed.status().to_string();
    EXPECT_EQ(parsed->host, c.host) << c.text;
    EXPECT_EQ(parsed->port, c.port) << c.text;
  }
}

TEST(HostPortTest, EachRefusalSaysWhy) {
  struct Case {
    std::string_view text;
    std::string_view why;
  };
  for (const Case& c :
       {Case{"127.0.0.1", "no port"}, Case{"[::1]", "no port"}, Case{"[::1]:", "bad port"},
        Case{"127.0.0.1:", "bad port"}, Case{"127.0.0.1:0", "out of range"},
        Case{"127.0.0.1:65536", "out of range"}, Case{"127.0.0.1:7o01", "bad port"},
        Case{"127.0.0.1:0x50", "bad port"}, Case{":7001", "empty host"},
        Case{"[]:7001", "bad IPv6 host"}, Case{"[::1:7001", "no closing ']'"},
        Case{"::1:7001", "bad host"}}) {
    auto parsed = parse_host_port(c.text);
    ASSERT_FALSE(parsed.is_ok()) << c.text;
    EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument) << c.text;
    EXPECT_THAT(parsed.status().message(), HasSubstr(c.why)) << c.text;
    EXPECT_THAT(parsed.status().message(), HasSubstr(std::string(c.text))) << c.text;
  }
}

TEST(IdTest, IdsFollowTheSharedRule) {
  EXPECT_TRUE(is_valid_id("us-eucom"));
  EXPECT_TRUE(is_valid_id("9th-army"));
  EXPECT_TRUE(is_valid_id(std::string(64, 'a')));
  EXPECT_FALSE(is_valid_id(""));
  EXPECT_FALSE(is_valid_id("-x"));
  EXPECT_FALSE(is_valid_id("Us"));
  EXPECT_FALSE(is_valid_id("a_b"));
  EXPECT_FALSE(is_valid_id("a/b"));
  EXPECT_FALSE(is_valid_id(std::string(65, 'a')));
}

TEST(IdTest, AddressesParseAsPartySlashPrincipal) {
  auto a = parse_address("ru-genstaff/cgs");
  ASSERT_TRUE(a.is_ok());
  EXPECT_EQ(a->party, "ru-genstaff");
  EXPECT_EQ(a->principal, "cgs");
  EXPECT_EQ(a->to_string(), "ru-genstaff/cgs");
  for (const std::string_view text : {"cgs", "/cgs", "ru/", "ru/cgs/x", "RU/cgs", ""}) {
    EXPECT_FALSE(parse_address(text).is_ok()) << text;
  }
}

TEST(PrecedenceTest, NamesRoundTripAndUnknownNamesAreRefused) {
  for (const Precedence p :
       {Precedence::kFlash, Precedence::kImmediate, Precedence::kPriority, Precedence::kRoutine}) {
    auto parsed = parse_precedence(precedence_name(p));
    ASSERT_TRUE(parsed.is_ok());
    EXPECT_EQ(*parsed, p);
  }
  auto bad = parse_precedence("URGENT");
  ASSERT_FALSE(bad.is_ok());
  EXPECT_EQ(bad.status().message(),
            "unknown precedence 'URGENT' (FLASH, IMMEDIATE, PRIORITY, ROUTINE)");
}

}  // namespace
}  // namespace parley::wire
