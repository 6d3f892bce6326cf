#include "parley/wire/dsse.h"

#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "parley/base/rng.h"
#include "parley/wire/wire.h"

namespace parley::wire {
namespace {

using ::testing::HasSubstr;

constexpr std::string_view kSigner = "us-eucom";
constexpr std::size_t kTextBytesMax = 64 * 1024;

class DsseTest : public ::testing::Test {
 protected:
  DsseTest() : rng_(7), keys_(crypto::generate_keys(rng_)), other_(crypto::generate_keys(rng_)) {}

  Dsse signed_hello(std::string_view domain = kEnvelopeDomain) const {
    return sign_dsse(domain, to_bytes("{\"hello\":\"world\"}"), keys_.signing, kSigner);
  }

  Result<Dsse> open(std::string_view text, std::string_view domain = kEnvelopeDomain) const {
    return open_dsse(text, domain, keys_.verify, kSigner, kTextBytesMax);
  }

  SeededRng rng_;
  crypto::Keys keys_;
  crypto::Keys other_;
};

// Both results are the same document, or the same refusal.
void expect_same(const Result<Dsse>& a, const Result<Dsse>& b, const std::string& what) {
  ASSERT_EQ(a.is_ok(), b.is_ok()) << what << "\n  " << (a.is_ok() ? "ok" : a.status().message())
                                  << "\n  " << (b.is_ok() ? "ok" : b.status().message());
  if (!a.is_ok()) {
    EXPECT_EQ(a.status().code(), b.status().code()) << what;
    EXPECT_EQ(a.status().message(), b.status().message()) << what;
    return;
  }
  EXPECT_EQ(a->payload, b->payload) << what;
  EXPECT_EQ(a->sig, b->sig) << what;
  EXPECT_EQ(a->key, b->key) << what;
}

TEST_F(DsseTest, SignatureIsEd25519OverTheHandWrittenPae) {
  // DSSE v1: "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body, lengths in ASCII decimal.
  const Dsse dsse = sign_dsse("application/x", to_bytes("hello"), keys_.signing, kSigner);
  const std::string pae = "DSSEv1 13 application/x 5 hello";
  EXPECT_EQ(to_string(crypto::pae("application/x", as_bytes("hello"))), pae);
  EXPECT_TRUE(crypto::ed25519_verify(keys_.verify, as_bytes(pae), dsse.sig).is_ok());
  EXPECT_FALSE(crypto::ed25519_verify(keys_.verify, as_bytes("hello"), dsse.sig).is_ok());
  EXPECT_TRUE(verify_dsse(dsse, "application/x", keys_.verify).is_ok());
}

TEST_F(DsseTest, CanonicalTextIsKeyPayloadSigWithNothingElse) {
  const Dsse dsse = signed_hello();
  EXPECT_EQ(encode_dsse(dsse), "{\"key\":\"us-eucom\",\"payload\":\"" +
                                   base64_encode(dsse.payload) + "\",\"sig\":\"" +
                                   base64_encode(dsse.sig) + "\"}");
  const std::string text = encode_dsse(dsse);
  const auto fields = split_canonical_dsse(text);
  ASSERT_TRUE(fields.has_value());
  EXPECT_EQ(fields->key, "us-eucom");
}

TEST_F(DsseTest, SignedDocumentOpensWithItsDomainAndSigner) {
  const Dsse dsse = signed_hello();
  auto opened = open(encode_dsse(dsse));
  ASSERT_TRUE(opened.is_ok()) << opened.status().to_string();
  EXPECT_EQ(opened->payload, dsse.payload);
  EXPECT_EQ(opened->sig, dsse.sig);
  EXPECT_EQ(opened->key, kSigner);
}

TEST_F(DsseTest, SignatureOverAnotherDomainIsRefused) {
  // The same payload bytes, signed by the right key, but as a receipt: never an envelope.
  const Dsse receipt = signed_hello("application/vnd.parley.receipt.v2+json");
  auto opened = open(encode_dsse(receipt), kEnvelopeDomain);
  ASSERT_FALSE(opened.is_ok());
  EXPECT_EQ(opened.status().code(), StatusCode::kUnauthenticated);
  EXPECT_THAT(opened.status().message(), HasSubstr("bad signature"));
  EXPECT_FALSE(verify_dsse(receipt, kEnvelopeDomain, keys_.verify).is_ok());
}

TEST_F(DsseTest, SignatureByAnotherKeyOrForAnotherSignerIsRefused) {
  const std::string text = encode_dsse(signed_hello());
  const auto wrong_key = open_dsse(text, kEnvelopeDomain, other_.verify, kSigner, kTextBytesMax);
  EXPECT_EQ(wrong_key.status().code(), StatusCode::kUnauthenticated);
  const auto wrong_party =
      open_dsse(text, kEnvelopeDomain, keys_.verify, "ru-genstaff", kTextBytesMax);
  EXPECT_EQ(wrong_party.status().code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(wrong_party.status().message(),
            "field 'key': signed by 'us-eucom', expected 'ru-genstaff'");
}

TEST_F(DsseTest, MalformedDocumentIsRefusedNamingWhatIsWrong) {
  const Dsse good = signed_hello();
  const std::string payload = base64_encode(good.payload);
  const std::string sig = base64_encode(good.sig);
  const auto doc = [&](std::string_view key, std::string_view p, std::string_view s) {
    return "{\"key\":\"" + std::string(key) + "\",\"payload\":\"" + std::string(p) +
           "\",\"sig\":\"" + std::string(s) + "\"}";
  };
  struct Case {
    std::string text;
    std::string message;  // the whole error, as a caller shows it
  };
  const std::vector<Case> cases = {
      {"", "malformed JSON"},
      {"[]", "malformed JSON: expected an object"},
      {"{\"key\":\"us-eucom\"", "malformed JSON"},
      {"{\"key\":\"us-eucom\",\"sig\":\"" + sig + "\"}", "field 'payload': missing"},
      {"{\"key\":\"us-eucom\",\"payload\":5,\"sig\":\"" + sig + "\"}",
       "field 'payload': expected a string"},
      {"{\"key\":\"us-eucom\",\"payload\":\"" + payload + "\",\"sig\":\"" + sig + "\",\"x\":1}",
       "'x'"},
      {doc("us-eucom", "Zm9vYg=", sig), "field 'payload': base64 length is not a multiple of 4"},
      {doc("us-eucom", payload, "abcd"), "field 'sig': expected 64 bytes, got 3"},
      {doc("us-eucom", payload, base64_encode(Bytes(65, 1))),
       "field 'sig': expected 64 bytes, got 65"},
      {doc("-us", payload, sig), "field 'key': not a valid id"},
      {doc("", payload, sig), "field 'key': not a valid id"},
      {doc("US EUCOM", payload, sig), "field 'key': not a valid id"},
      {std::string(kTextBytesMax + 1, ' '), "larger than 65536 bytes"},
  };
  for (const Case& c : cases) {
    auto opened = open(c.text);
    ASSERT_FALSE(opened.is_ok()) << c.text;
    EXPECT_EQ(opened.status().code(), StatusCode::kInvalidArgument) << c.text;
    EXPECT_THAT(opened.status().message(), HasSubstr(c.message)) << c.text;
  }
}

TEST_F(DsseTest, EscapedCharactersAreReadByTheJsonReaderAsTheirValue) {
  const Dsse dsse = signed_hello();
  const std::string payload = base64_encode(dsse.payload);
  const std::string sig = base64_encode(dsse.sig);
  // JSON escapes the fast reader must not read as they are ("\u0065" is 'e'), whitespace and
  // another order of the keys.
  const std::string escaped_sig = "\\u00" + hex_encode(as_bytes(sig.substr(0, 1))) + sig.substr(1);
  const std::vector<std::string> texts = {
      "{\"key\":\"us-\\u0065ucom\",\"payload\":\"" + payload + "\",\"sig\":\"" + sig + "\"}",
      "{\"key\":\"us-eucom\",\"payload\":\"" + payload + "\",\"sig\":\"" + escaped_sig + "\"}",
      "{\"key\":\"us-eucom\",\"payload\":\"\\u00" + hex_encode(as_bytes(payload.substr(0, 1))) +
          payload.substr(1) + "\",\"sig\":\"" + sig + "\"}",
      "{\"key\":\"us-eucom\", \"payload\":\"" + payload + "\",\"sig\":\"" + sig + "\"}",
      "{\"sig\":\"" + sig + "\",\"key\":\"us-eucom\",\"payload\":\"" + payload + "\"}",
  };
  for (const std::string& text : texts) {
    EXPECT_FALSE(split_canonical_dsse(text).has_value()) << text;
    auto parsed = parse_dsse(text, kTextBytesMax);
    ASSERT_TRUE(parsed.is_ok()) << text << ": " << parsed.status().message();
    EXPECT_EQ(parsed->payload, dsse.payload) << text;
    EXPECT_EQ(parsed->sig, dsse.sig) << text;
    EXPECT_EQ(parsed->key, kSigner) << text;
    EXPECT_TRUE(open(text).is_ok()) << text;
  }
}

// The fast reader may take only texts that the JSON reader reads the same: every text made by
// putting one JSON-significant character at any position of a canonical document is read by
// parse_dsse (fast reader first) exactly as by the JSON reader alone.
TEST_F(DsseTest, BothReadersAgreeOnEveryOneCharacterEditOfTheCanonicalText) {
  const std::string good = encode_dsse(signed_hello());
  const std::string edits = "\"\\ {}:,/+=-aZ0\x01\xc3";
  std::size_t fast_taken = 0;
  for (std::size_t pos = 0; pos < good.size(); ++pos) {
    for (const char c : edits) {
      for (int insert = 0; insert < 2; ++insert) {
        std::string text = good;
        if (insert == 1) {
          text.insert(pos, 1, c);
        } else {
          text[pos] = c;
        }
        const std::string what = "text " + text;
        expect_same(parse_dsse(text, kTextBytesMax), parse_dsse_json(text), what);
        if (const auto fields = split_canonical_dsse(text)) {
          ++fast_taken;
          expect_same(decode_dsse(*fields), parse_dsse_json(text), what);
        }
      }
    }
  }
  EXPECT_GT(fast_taken, 0u);  // the fast reader took part
}

}  // namespace
}  // namespace parley::wire
