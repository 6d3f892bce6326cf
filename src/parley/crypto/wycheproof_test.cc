// Every Wycheproof vector for the primitives parley uses, run through parley's own wrappers
// (not libsodium directly), so a wrapper bug (a swapped argument, a missed length check) fails.
#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "parley/base/bytes.h"
#include "parley/crypto/crypto.h"

namespace parley::crypto {
namespace {

using nlohmann::json;

std::string testdata_dir() {
  if (const char* env = std::getenv("PARLEY_TESTDATA"); env != nullptr && *env != '\0') {
    return env;
  }
  return PARLEY_SOURCE_TESTDATA;
}

// Loads testdata/wycheproof/<name>; a failure is reported through gtest.
json load(const std::string& name) {
  const std::string path = testdata_dir() + "/wycheproof/" + name;
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot read " << path;
  std::stringstream text;
  text << in.rdbuf();
  json doc = json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  EXPECT_FALSE(doc.is_discarded()) << "malformed JSON in " << path;
  if (doc.is_discarded()) return json::object();
  return doc;
}

Bytes hex(const json& value) {
  auto b = hex_decode(value.get<std::string>());
  EXPECT_TRUE(b.is_ok()) << b.status().to_string();
  return b.is_ok() ? *b : Bytes{};
}

std::string describe(const json& test) {
  return "tcId " + std::to_string(test.value("tcId", -1)) + " (" + test.value("comment", "") +
         ") flags " + test.value("flags", json::array()).dump();
}

bool has_flag(const json& test, std::string_view flag) {
  for (const auto& f : test.value("flags", json::array())) {
    if (f.get<std::string>() == flag) return true;
  }
  return false;
}

void report(const std::string& file, int total, int valid, int invalid, int acceptable) {
  std::cout << "[wycheproof] " << file << ": " << total << " vectors (" << valid << " valid, "
            << invalid << " invalid, " << acceptable << " acceptable)\n";
}

TEST(WycheproofTest, Ed25519VerifyMatchesEveryVector) {
  const json doc = load("ed25519_test.json");
  ASSERT_TRUE(doc.contains("numberOfTests"));
  int total = 0, valid = 0, invalid = 0;
  for (const auto& group : doc["testGroups"]) {
    auto key = verify_key_from_bytes(hex(group["publicKey"]["pk"]));
    ASSERT_TRUE(key.is_ok()) << key.status().to_string();
    for (const auto& test : group["tests"]) {
      ++total;
      const std::string result = test["result"].get<std::string>();
      const Status s = ed25519_verify(*key, hex(test["msg"]), hex(test["sig"]));
      if (result == "valid") {
        ++valid;
        EXPECT_TRUE(s.is_ok()) << describe(test) << ": " << s.to_string();
      } else if (result == "invalid") {
        ++invalid;
        EXPECT_EQ(s.code(), StatusCode::kUnauthenticated) << describe(test);
      } else {
        ADD_FAILURE() << describe(test) << ": unexpected result '" << result << "'";
      }
    }
  }
  EXPECT_EQ(total, doc["numberOfTests"].get<int>());
  EXPECT_GT(invalid, 0);
  report("ed25519_test.json", total, valid, invalid, 0);
}

// Policy: X25519 fails exactly when the shared secret would be all zeros (a low-order
// public key); every other vector, "valid" or "acceptable", yields the expected secret.
TEST(WycheproofTest, X25519MatchesEveryVectorUnderOurLowOrderPolicy) {
  const json doc = load("x25519_test.json");
  ASSERT_TRUE(doc.contains("numberOfTests"));
  int total = 0, valid = 0, acceptable = 0, zero = 0;
  for (const auto& group : doc["testGroups"]) {
    for (const auto& test : group["tests"]) {
      ++total;
      const std::string result = test["result"].get<std::string>();
      auto secret = box_secret_from_bytes(hex(test["private"]));
      ASSERT_TRUE(secret.is_ok()) << describe(test);
      const Bytes expected = hex(test["shared"]);
      const bool all_zero =
          std::all_of(expected.begin(), expected.end(), [](std::uint8_t b) { return b == 0; });
      // The flags agree with the expected output, so our policy is stated per flag too.
      EXPECT_EQ(all_zero, has_flag(test, "ZeroSharedSecret")) << describe(test);
      if (all_zero) {
        EXPECT_TRUE(has_flag(test, "LowOrderPublic")) << describe(test);
      }

      auto shared = x25519(*secret, hex(test["public"]));
      if (result == "valid") {
        ++valid;
        EXPECT_FALSE(all_zero) << describe(test);
      } else if (result == "acceptable") {
        ++acceptable;
      } else {
        ADD_FAILURE() << describe(test) << ": unexpected result '" << result << "'";
        continue;
      }
      if (all_zero) {
        ++zero;
        EXPECT_EQ(shared.status().code(), StatusCode::kInvalidArgument) << describe(test);
      } else {
        ASSERT_TRUE(shared.is_ok()) << describe(test) << ": " << shared.status().to_string();
        EXPECT_EQ(hex_encode(*shared), hex_encode(expected)) << describe(test);
      }
    }
  }
  EXPECT_EQ(total, doc["numberOfTests"].get<int>());
  EXPECT_GT(zero, 0);
  std::cout << "[wycheproof] x25519_test.json: " << zero
            << " all-zero shared secrets rejected by policy\n";
  report("x25519_test.json", total, valid, 0, acceptable);
}

using AeadFn = Result<Bytes> (*)(ByteView, ByteView, ByteView, ByteView);

void run_aead(const std::string& file, AeadFn encrypt, AeadFn decrypt, std::size_t nonce_bytes) {
  const json doc = load(file);
  ASSERT_TRUE(doc.contains("numberOfTests"));
  int total = 0, valid = 0, invalid = 0;
  for (const auto& group : doc["testGroups"]) {
    for (const auto& test : group["tests"]) {
      ++total;
      const std::string result = test["result"].get<std::string>();
      const Bytes key = hex(test["key"]);
      const Bytes nonce = hex(test["iv"]);
      const Bytes ad = hex(test["aad"]);
      const Bytes msg = hex(test["msg"]);
      Bytes sealed = hex(test["ct"]);
      const Bytes tag = hex(test["tag"]);
      sealed.insert(sealed.end(), tag.begin(), tag.end());

      auto enc = encrypt(key, nonce, ad, msg);
      auto dec = decrypt(key, nonce, ad, sealed);
      if (result == "valid") {
        ++valid;
        ASSERT_TRUE(enc.is_ok()) << describe(test) << ": " << enc.status().to_string();
        EXPECT_EQ(hex_encode(*enc), hex_encode(sealed)) << describe(test);
        ASSERT_TRUE(dec.is_ok()) << describe(test) << ": " << dec.status().to_string();
        EXPECT_EQ(hex_encode(*dec), hex_encode(msg)) << describe(test);
      } else if (result == "invalid") {
        ++invalid;
        EXPECT_FALSE(dec.is_ok()) << describe(test);
        if (nonce.size() != nonce_bytes || key.size() != 32) {
          EXPECT_EQ(enc.status().code(), StatusCode::kInvalidArgument) << describe(test);
          EXPECT_EQ(dec.status().code(), StatusCode::kInvalidArgument) << describe(test);
        } else {
          // A well-formed but forged vector: encrypting the message gives another tag.
          EXPECT_EQ(dec.status().code(), StatusCode::kUnauthenticated) << describe(test);
          ASSERT_TRUE(enc.is_ok()) << describe(test);
          EXPECT_NE(hex_encode(*enc), hex_encode(sealed)) << describe(test);
        }
      } else {
        ADD_FAILURE() << describe(test) << ": unexpected result '" << result << "'";
      }
    }
  }
  EXPECT_EQ(total, doc["numberOfTests"].get<int>());
  EXPECT_GT(invalid, 0);
  report(file, total, valid, invalid, 0);
}

TEST(WycheproofTest, ChaCha20Poly1305MatchesEveryVector) {
  run_aead("chacha20_poly1305_test.json", chacha20poly1305_encrypt, chacha20poly1305_decrypt, 12);
}

TEST(WycheproofTest, XChaCha20Poly1305MatchesEveryVector) {
  run_aead("xchacha20_poly1305_test.json", xchacha20poly1305_encrypt, xchacha20poly1305_decrypt,
           24);
}

}  // namespace
}  // namespace parley::crypto
