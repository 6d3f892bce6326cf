#include "parley/wire/rotation.h"

#include <gtest/gtest.h>

#include "parley/base/json.h"
#include "parley/base/rng.h"
#include "parley/wire/wire.h"

namespace parley::wire {
namespace {

Time at(std::string_view text) { return parse_time(text).value(); }

class RotationTest : public ::testing::Test {
 protected:
  RotationTest()
      : rng_(17),
        old_(crypto::generate_keys(rng_)),
        new_(crypto::generate_keys(rng_)),
        other_(crypto::generate_keys(rng_)) {}

  Rotation statement() const {
    Rotation r;
    r.id = "01938a6e-0000-7000-8000-000000000001";
    r.party = "us-eucom";
    r.n = 1;
    r.old_sign_key = old_.verify;
    r.new_sign_key = new_.verify;
    r.new_tls_fingerprint = std::string(64, 'c');
    r.epoch = 2;
    r.created = at("2026-12-03T10:00:00Z");
    return r;
  }

  // The statement's text with its payload replaced by `payload` and signed again by the old
  // key: what a party holding the old key could send.
  std::string resigned(const std::string& payload) const {
    return encode_dsse(sign_dsse(kRotationDomain, to_bytes(payload), old_.signing, "us-eucom"));
  }
  // The payload of a good statement, as JSON, to edit.
  json::Json payload() const {
    const Dsse dsse =
        parse_dsse(sign_rotation(statement(), old_.signing, new_.signing), 4096).value();
    return json::parse_object(to_string(dsse.payload)).value();
  }

  SeededRng rng_;
  crypto::Keys old_;
  crypto::Keys new_;
  crypto::Keys other_;
};

TEST_F(RotationTest, AStatementOpensWithTheKeyItReplaces) {
  const std::string text = sign_rotation(statement(), old_.signing, new_.signing);
  EXPECT_EQ(text.substr(0, 19), "{\"key\":\"us-eucom\",\"");  // canonical DSSE, like an envelope
  const Result<Rotation> r = open_rotation(text, old_.verify, "us-eucom");
  ASSERT_TRUE(r.is_ok()) << r.status().to_string();
  EXPECT_EQ(r->id, statement().id);
  EXPECT_EQ(r->n, 1u);
  EXPECT_EQ(r->old_sign_key, old_.verify);
  EXPECT_EQ(r->new_sign_key, new_.verify);
  EXPECT_EQ(r->new_tls_fingerprint, std::string(64, 'c'));
  EXPECT_EQ(r->epoch, 2u);
  EXPECT_EQ(r->created, at("2026-12-03T10:00:00Z"));
}

TEST_F(RotationTest, TheNewKeyOrAnotherKeyIsNotTheAuthority) {
  const std::string text = sign_rotation(statement(), old_.signing, new_.signing);
  EXPECT_EQ(open_rotation(text, new_.verify, "us-eucom").status().code(),
            StatusCode::kUnauthenticated);
  EXPECT_EQ(open_rotation(text, other_.verify, "us-eucom").status().code(),
            StatusCode::kUnauthenticated);
  EXPECT_EQ(open_rotation(text, old_.verify, "ru-genstaff").status().code(),
            StatusCode::kUnauthenticated);
}

TEST_F(RotationTest, AStatementSignedByAKeyThatIsNotTheOneItReplacesIsRefused) {
  // A stranger who holds some key of its own says us-eucom's key is now its own: it signs
  // with that key and names it as the old one. The reader opens with the pinned key: refused.
  Rotation forged = statement();
  forged.old_sign_key = other_.verify;
  const std::string text = sign_rotation(forged, other_.signing, new_.signing);
  EXPECT_EQ(open_rotation(text, old_.verify, "us-eucom").status().code(),
            StatusCode::kUnauthenticated);
  // And one signed by the pinned key but naming another old key is refused too.
  json::Json p = payload();
  p["old_sign_key"] = base64_encode(other_.verify.bytes);
  const Result<Rotation> r = open_rotation(resigned(json::dump(p)), old_.verify, "us-eucom");
  EXPECT_EQ(r.status().code(), StatusCode::kUnauthenticated);
  EXPECT_NE(r.status().message().find("old_sign_key"), std::string::npos) << r.status().message();
}

TEST_F(RotationTest, WithoutTheNewKeysPossessionSignatureItIsRefused) {
  // The old key's holder names a key whose secret it does not hold (another party's).
  json::Json p = payload();
  p["new_sign_key"] = base64_encode(other_.verify.bytes);
  Result<Rotation> r = open_rotation(resigned(json::dump(p)), old_.verify, "us-eucom");
  EXPECT_EQ(r.status().code(), StatusCode::kUnauthenticated);
  EXPECT_NE(r.status().message().find("possession"), std::string::npos) << r.status().message();
  // A possession signature over other fields (another epoch) does not carry over.
  p = payload();
  p["epoch"] = 3;
  r = open_rotation(resigned(json::dump(p)), old_.verify, "us-eucom");
  EXPECT_EQ(r.status().code(), StatusCode::kUnauthenticated);
  // All zeros: no signature at all.
  p = payload();
  p["possession"] = base64_encode(Bytes(64, 0));
  r = open_rotation(resigned(json::dump(p)), old_.verify, "us-eucom");
  EXPECT_EQ(r.status().code(), StatusCode::kUnauthenticated);
}

TEST_F(RotationTest, BadFieldsAreRefusedByName) {
  struct Case {
    const char* field;
    json::Json value;
    const char* says;
  };
  const Case cases[] = {
      {"v", 2, "field 'v'"},
      {"n", 0, "field 'n': must be at least 1"},
      {"epoch", 1, "field 'epoch'"},
      {"epoch", 4294967296ULL, "field 'epoch'"},
      {"new_tls_fingerprint", std::string(64, 'C'), "field 'new_tls_fingerprint'"},
      {"new_tls_fingerprint", std::string(63, 'c'), "field 'new_tls_fingerprint'"},
      {"new_sign_key", base64_encode(Bytes(31, 1)), "field 'new_sign_key': expected 32 bytes"},
      {"old_sign_key", "not base64!", "field 'old_sign_key'"},
      {"id", "not-a-uuid", "field 'id'"},
      {"party", "US", "field 'party'"},
      {"created", "2026-12-03 10:00", "field 'created'"},
      {"possession", base64_encode(Bytes(63, 1)), "field 'possession'"},
      {"extra", 1, "extra"},
  };
  for (const Case& c : cases) {
    json::Json p = payload();
    p[c.field] = c.value;
    const Result<Rotation> r = open_rotation(resigned(json::dump(p)), old_.verify, "us-eucom");
    ASSERT_FALSE(r.is_ok()) << c.field;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << c.field;
    EXPECT_NE(r.status().message().find(c.says), std::string::npos)
        << c.field << ": " << r.status().message();
  }
  json::Json p = payload();
  p.erase("epoch");
  EXPECT_EQ(open_rotation(resigned(json::dump(p)), old_.verify, "us-eucom").status().code(),
            StatusCode::kInvalidArgument);
  p = payload();
  p["new_sign_key"] = p["old_sign_key"];
  const Result<Rotation> same = open_rotation(resigned(json::dump(p)), old_.verify, "us-eucom");
  EXPECT_NE(same.status().message().find("equals old_sign_key"), std::string::npos)
      << same.status().message();
  // Another party's name inside a statement us-eucom signed.
  p = payload();
  p["party"] = "ru-genstaff";
  EXPECT_EQ(open_rotation(resigned(json::dump(p)), old_.verify, "us-eucom").status().code(),
            StatusCode::kInvalidArgument);
}

TEST_F(RotationTest, AStatementIsNoEnvelopeAndAnEnvelopeIsNoStatement) {
  // The same key, the same DSSE shape: the domain keeps the two kinds apart.
  const std::string text = sign_rotation(statement(), old_.signing, new_.signing);
  EXPECT_EQ(open_envelope(text, old_.verify, "us-eucom").status().code(),
            StatusCode::kUnauthenticated);
  const std::string payload_text = json::dump(payload());
  const std::string as_envelope =
      encode_dsse(sign_dsse(kEnvelopeDomain, to_bytes(payload_text), old_.signing, "us-eucom"));
  EXPECT_EQ(open_rotation(as_envelope, old_.verify, "us-eucom").status().code(),
            StatusCode::kUnauthenticated);
}

TEST_F(RotationTest, ALowOrderNewKeyIsRefused) {
  // The identity point (a small-order Ed25519 key): libsodium verifies no signature with it.
  json::Json p = payload();
  Bytes identity(32, 0);
  identity[0] = 1;
  p["new_sign_key"] = base64_encode(identity);
  EXPECT_EQ(open_rotation(resigned(json::dump(p)), old_.verify, "us-eucom").status().code(),
            StatusCode::kUnauthenticated);
}

}  // namespace
}  // namespace parley::wire
