#include "parley/gateway/home.h"

#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

namespace parley::gateway {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::StartsWith;

class HomeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "parley-home-test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    root_ = pattern;
    home_ = root_ / "home";
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }

  InitOptions options() const {
    InitOptions o;
    o.home = home_;
    o.party = "us-eucom";
    o.federation = {"127.0.0.1:7001", "127.0.0.1:7002"};
    o.api = "127.0.0.1:7080";
    o.lang = "en";
    return o;
  }

  static unsigned mode_of(const fs::path& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) return 07777;
    return st.st_mode & 07777;
  }

  static void write(const fs::path& path, const std::string& text) {
    std::ofstream out(path, std::ios::trunc);
    out << text;
  }

  fs::path root_;
  fs::path home_;
};

// [federation] advertise: the bundle publishes it instead of listen, which may then be a
// wildcard; a wildcard listen without it is refused by init, and by a config edited so.
TEST_F(HomeTest, BundlePublishesAdvertiseAndAWildcardListenNeedsIt) {
  InitOptions o = options();
  o.federation = {"0.0.0.0:7001"};
  const Status refused = init_home(o);
  ASSERT_FALSE(refused.is_ok());
  EXPECT_THAT(refused.message(), HasSubstr("federation.listen '0.0.0.0:7001' is a wildcard"));
  EXPECT_THAT(refused.message(), HasSubstr("--advertise"));
  EXPECT_FALSE(fs::exists(home_ / "parley.toml"));

  o.advertise = {"gw.example:7001", "10.0.0.6:7001"};
  ASSERT_TRUE(init_home(o).is_ok());
  Result<Home> home = open_home(home_);
  ASSERT_TRUE(home.is_ok()) << home.status().to_string();
  EXPECT_EQ(home->config.federation_listen, std::vector<std::string>{"0.0.0.0:7001"});
  const wire::Bundle bundle = bundle_of(*home);
  EXPECT_EQ(bundle.federation, (std::vector<std::string>{"gw.example:7001", "10.0.0.6:7001"}));
  // It reads back from the bundle's JSON as published.
  Result<wire::Bundle> parsed = wire::parse_bundle(wire::encode_bundle(bundle));
  ASSERT_TRUE(parsed.is_ok()) << parsed.status().to_string();
  EXPECT_EQ(parsed->federation, bundle.federation);

  // The operator deletes advertise: the home no longer opens, so neither the gateway nor
  // `parley bundle` runs, and the reason says what to set.
  std::ifstream in(home_ / "parley.toml");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::size_t at = text.find("advertise = [");
  ASSERT_NE(at, std::string::npos) << text;
  text.erase(at, text.find('\n', at) - at);
  write(home_ / "parley.toml", text);
  Result<Home> broken = open_home(home_);
  ASSERT_FALSE(broken.is_ok());
  EXPECT_THAT(broken.status().message(), HasSubstr("set federation.advertise"));
}

// Plain HTTP only on loopback: init on another address writes api.tls = true, and the API's
// certificate (made either way) is loaded and pinned by its fingerprint.
TEST_F(HomeTest, InitOffLoopbackServesTheApiOverTlsWithItsOwnCertificate) {
  InitOptions o = options();
  o.api = "0.0.0.0:7443";
  ASSERT_TRUE(init_home(o).is_ok());
  Result<Home> home = open_home(home_);
  ASSERT_TRUE(home.is_ok()) << home.status().to_string();
  EXPECT_TRUE(home->config.api_tls);
  EXPECT_EQ(home->api_cert_path(), home_ / "tls/api-cert.pem");
  EXPECT_EQ(mode_of(home_ / "tls/api-key.pem"), 0600u);
  std::ifstream in(home_ / "tls/api-cert.pem");
  const std::string cert((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(home->api_fingerprint, *net::cert_fingerprint(cert));
  EXPECT_NE(home->api_fingerprint, home->tls_fingerprint);  // not the federation's

  // A missing certificate is a broken home, named.
  fs::remove(home_ / "tls/api-cert.pem");
  const Result<Home> broken = open_home(home_);
  ASSERT_FALSE(broken.is_ok());
  EXPECT_THAT(broken.status().message(), HasSubstr("api-cert.pem"));
}

TEST_F(HomeTest, InitOnLoopbackStaysPlainButMakesTheApiCertificate) {
  ASSERT_TRUE(init_home(options()).is_ok());
  Result<Home> home = open_home(home_);
  ASSERT_TRUE(home.is_ok()) << home.status().to_string();
  EXPECT_FALSE(home->config.api_tls);
  EXPECT_TRUE(home->api_fingerprint.empty());
  EXPECT_TRUE(fs::exists(home_ / "tls/api-cert.pem"));
  EXPECT_EQ(mode_of(home_ / "tls/api-key.pem"), 0600u);
}

// ---- The store at rest (docs/operations.md "The store at rest") ----

// The whole file as bytes.
std::string bytes_of(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Replaces the first line of `file` that starts with `prefix` by `line` (no newline).
void replace_line(const fs::path& file, std::string_view prefix, const std::string& line) {
  std::string text = bytes_of(file);
  const std::size_t at = text.find("\n" + std::string(prefix));
  ASSERT_NE(at, std::string::npos) << prefix;
  const std::size_t end = text.find('\n', at + 1);
  text.replace(at + 1, end - at - 1, line);
  std::ofstream(file, std::ios::trunc) << text;
}

// The 1-based line of `file` that starts with `prefix`.
int line_of(const fs::path& file, std::string_view prefix) {
  std::istringstream in(bytes_of(file));
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    if (line.rfind(prefix, 0) == 0) return n;
  }
  return 0;
}

core::Principal marked_principal() {
  return core::Principal{"saceur", "NAME-MARKER-93b1", "principal", Bytes(32, 7), {}, {}};
}

Status open_home_store(const fs::path& dir) {
  Result<Home> home = open_home(dir);
  if (!home.is_ok()) return home.status();
  return open_store(*home).status();
}

TEST_F(HomeTest, InitEncryptsTheStoreWithARandomKeyBesideTheHome) {
  ASSERT_TRUE(init_home(options()).is_ok());
  const fs::path key = root_ / "home.store-key";
  EXPECT_EQ(mode_of(key), 0600u);
  const std::string text = bytes_of(key);
  ASSERT_EQ(text.size(), 65u);
  EXPECT_EQ(text.find_first_not_of("0123456789abcdef"), 64u);
  Result<Home> home = open_home(home_);
  ASSERT_TRUE(home.is_ok());
  EXPECT_TRUE(home->config.store_encrypt);
  EXPECT_EQ(home->config.store_key_file, key.string());
  {
    Result<std::unique_ptr<store::Store>> store = open_store(*home);
    ASSERT_TRUE(store.is_ok()) << store.status().to_string();
    ASSERT_TRUE((*store)->put_principal(marked_principal()).is_ok());
  }
  EXPECT_EQ(bytes_of(home->store_path()).find("SQLite format 3"), std::string::npos);
  EXPECT_EQ(bytes_of(home->store_path()).find("NAME-MARKER-93b1"), std::string::npos);
  // Another home, another key.
  InitOptions other = options();
  other.home = root_ / "other";
  ASSERT_TRUE(init_home(other).is_ok());
  EXPECT_NE(bytes_of(root_ / "other.store-key"), text);
}

TEST_F(HomeTest, InitWithoutEncryptionKeepsAPlaintextStoreAndNoKey) {
  InitOptions o = options();
  o.encrypt = false;
  ASSERT_TRUE(init_home(o).is_ok());
  EXPECT_FALSE(fs::exists(root_ / "home.store-key"));
  Result<Home> home = open_home(home_);
  ASSERT_TRUE(home.is_ok());
  EXPECT_FALSE(home->config.store_encrypt);
  EXPECT_EQ(bytes_of(home->store_path()).rfind("SQLite format 3", 0), 0u);
  EXPECT_TRUE(open_store(*home).is_ok());
}

TEST_F(HomeTest, InitRefusesAKeyFileInsideTheHomeAndLeavesNothing) {
  InitOptions o = options();
  o.store_key_file = home_ / "store.key";
  const Status status = init_home(o);
  EXPECT_EQ(status.code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(status.message(), HasSubstr("inside the data directory"));
  EXPECT_FALSE(fs::exists(home_));
}

TEST_F(HomeTest, InitUsesAnExistingKeyFile) {
  const fs::path key = root_ / "given.key";
  write(key, std::string(64, 'c') + "\n");
  ::chmod(key.c_str(), 0600);
  InitOptions o = options();
  o.store_key_file = key;
  ASSERT_TRUE(init_home(o).is_ok());
  EXPECT_EQ(bytes_of(key), std::string(64, 'c') + "\n");
  EXPECT_TRUE(open_home_store(home_).is_ok());
}

TEST_F(HomeTest, NoStoreKeyConfiguredRefusesWithTheConfigLine) {
  ASSERT_TRUE(init_home(options()).is_ok());
  const fs::path config = home_ / "parley.toml";
  replace_line(config, "key_file = ", "# no key");
  const Status status = open_home_store(home_);
  EXPECT_EQ(status.code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(status.message(), StartsWith(config.string() + ":" +
                                           std::to_string(line_of(config, "[store]")) + ": "));
  EXPECT_THAT(status.message(), HasSubstr("store.encrypt = false"));
}

TEST_F(HomeTest, StoreKeyFileRulesAreRefusedWithFileAndLine) {
  ASSERT_TRUE(init_home(options()).is_ok());
  const fs::path config = home_ / "parley.toml";
  const fs::path key = root_ / "home.store-key";
  const std::string where =
      config.string() + ":" + std::to_string(line_of(config, "key_file = ")) + ": ";
  // Readable by the group.
  ASSERT_EQ(::chmod(key.c_str(), 0640), 0);
  Status status = open_home_store(home_);
  EXPECT_EQ(status.code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(status.message(), StartsWith(where));
  EXPECT_THAT(status.message(), HasSubstr("readable by others"));
  ASSERT_EQ(::chmod(key.c_str(), 0600), 0);
  // Inside the home (a copy of the key there, mode 0600).
  fs::copy_file(key, home_ / "store.key");
  replace_line(config, "key_file = ", "key_file = \"" + (home_ / "store.key").string() + "\"");
  status = open_home_store(home_);
  EXPECT_THAT(status.message(), StartsWith(where));
  EXPECT_THAT(status.message(), HasSubstr("inside the data directory"));
  // Not a key.
  replace_line(config, "key_file = ", "key_file = \"" + key.string() + "\"");
  const std::string good = bytes_of(key);
  write(key, "not a key\n");
  status = open_home_store(home_);
  EXPECT_THAT(status.message(), StartsWith(where));
  EXPECT_THAT(status.message(), HasSubstr("64 hex digits"));
  // Missing.
  fs::remove(key);
  status = open_home_store(home_);
  EXPECT_THAT(status.message(), StartsWith(where));
  EXPECT_THAT(status.message(), HasSubstr("missing"));
  // The right key again: the store opens.
  write(key, good);
  ::chmod(key.c_str(), 0600);
  EXPECT_TRUE(open_home_store(home_).is_ok());
}

TEST_F(HomeTest, AWrongStoreKeyIsOneClearLineAndChangesNothing) {
  ASSERT_TRUE(init_home(options()).is_ok());
  const fs::path key = root_ / "home.store-key";
  const std::string before = bytes_of(home_ / "parley.db");
  write(key, std::string(64, 'e') + "\n");
  const Status status = open_home_store(home_);
  EXPECT_EQ(status.code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(status.message(),
            "opening the store: the store key does not open " + (home_ / "parley.db").string());
  EXPECT_EQ(bytes_of(home_ / "parley.db"), before);
}

TEST_F(HomeTest, TheSystemdCredentialComesBeforeTheKeyFile) {
  ASSERT_TRUE(init_home(options()).is_ok());
  const fs::path key = root_ / "home.store-key";
  const fs::path credentials = root_ / "credentials";
  fs::create_directory(credentials);
  fs::copy_file(key, credentials / "parley-store-key");
  write(key, std::string(64, 'e') + "\n");  // the key file is now wrong
  ASSERT_EQ(::setenv("CREDENTIALS_DIRECTORY", credentials.c_str(), 1), 0);
  const Status with_credential = open_home_store(home_);
  // A credential others may read is refused as a key file would be.
  ::chmod((credentials / "parley-store-key").c_str(), 0644);
  const Status readable = open_home_store(home_);
  ::unsetenv("CREDENTIALS_DIRECTORY");
  EXPECT_TRUE(with_credential.is_ok()) << with_credential.to_string();
  EXPECT_THAT(readable.message(), StartsWith((credentials / "parley-store-key").string() + ": "));
  EXPECT_EQ(open_home_store(home_).code(), StatusCode::kPermissionDenied);  // the file's key
}

TEST_F(HomeTest, StoreEncryptConvertsAPlaintextHomeKeepingItsData) {
  InitOptions o = options();
  o.encrypt = false;
  ASSERT_TRUE(init_home(o).is_ok());
  {
    Result<Home> home = open_home(home_);
    ASSERT_TRUE(home.is_ok());
    Result<std::unique_ptr<store::Store>> store = open_store(*home);
    ASSERT_TRUE(store.is_ok());
    ASSERT_TRUE((*store)->put_principal(marked_principal()).is_ok());
  }
  const fs::path db = home_ / "parley.db";
  EXPECT_NE(bytes_of(db).find("NAME-MARKER-93b1"), std::string::npos);  // plaintext now
  // With encrypt = false the conversion is refused and the store is left as it was.
  {
    Result<Home> home = open_home(home_);
    ASSERT_TRUE(home.is_ok());
    EXPECT_EQ(encrypt_store(*home).code(), StatusCode::kFailedPrecondition);
  }
  const fs::path key = root_ / "new.key";
  replace_line(home_ / "parley.toml", "encrypt = false", "key_file = \"" + key.string() + "\"");
  Result<Home> home = open_home(home_);
  ASSERT_TRUE(home.is_ok()) << home.status().to_string();
  ASSERT_TRUE(encrypt_store(*home).is_ok());
  EXPECT_EQ(mode_of(key), 0600u);
  EXPECT_FALSE(fs::exists(db.string() + ".encrypting"));
  EXPECT_EQ(bytes_of(db).find("NAME-MARKER-93b1"), std::string::npos);
  EXPECT_EQ(bytes_of(db).find("SQLite format 3"), std::string::npos);
  Result<std::unique_ptr<store::Store>> store = open_store(*home);
  ASSERT_TRUE(store.is_ok()) << store.status().to_string();
  Result<std::vector<core::Principal>> principals = (*store)->principals();
  ASSERT_TRUE(principals.is_ok());
  ASSERT_EQ(principals->size(), 1u);
  EXPECT_EQ(principals->front().name, "NAME-MARKER-93b1");
  store->reset();
  // Twice: refused, nothing changed.
  const std::string encrypted = bytes_of(db);
  const Status again = encrypt_store(*home);
  EXPECT_EQ(again.code(), StatusCode::kFailedPrecondition);
  EXPECT_THAT(again.message(), HasSubstr("already encrypted"));
  EXPECT_EQ(bytes_of(db), encrypted);
}

TEST(ApiCertificateNamesTest, TheListenHostUnlessAWildcardThenLoopbackAndTheHostName) {
  EXPECT_EQ(api_certificate_names({"10.0.0.5", 7443}, "gw1"),
            (std::vector<std::string>{"10.0.0.5", "localhost", "127.0.0.1", "::1", "gw1"}));
  EXPECT_EQ(api_certificate_names({"0.0.0.0", 7443}, ""),
            (std::vector<std::string>{"localhost", "127.0.0.1", "::1"}));
}

TEST_F(HomeTest, InitThenOpenRoundTrips) {
  ASSERT_TRUE(init_home(options()).is_ok());
  Result<Home> home = open_home(home_);
  ASSERT_TRUE(home.is_ok()) << home.status().to_string();

  EXPECT_EQ(home->config.party, "us-eucom");
  EXPECT_EQ(home->config.lang, "en");
  EXPECT_EQ(home->config.federation_listen,
            (std::vector<std::string>{"127.0.0.1:7001", "127.0.0.1:7002"}));
  EXPECT_EQ(home->config.api_listen, "127.0.0.1:7080");
  EXPECT_EQ(home->config.log_level, "info");
  EXPECT_EQ(home->config.heartbeat_interval, std::chrono::milliseconds(200));
  EXPECT_EQ(home->store_path(), home_ / "parley.db");
  EXPECT_TRUE(fs::exists(home->store_path()));

  EXPECT_EQ(home->keys.verify, crypto::verify_key_of(home->keys.signing));
  EXPECT_EQ(home->keys.box_public, crypto::box_public_of(home->keys.box_secret));
  // The keys sign and verify as a pair.
  const auto sig = crypto::sign(home->keys.signing, "test", as_bytes("hello"));
  EXPECT_TRUE(crypto::verify(home->keys.verify, "test", as_bytes("hello"), sig).is_ok());

  Result<std::string> fingerprint = net::cert_fingerprint(home->tls.cert_pem);
  ASSERT_TRUE(fingerprint.is_ok());
  EXPECT_EQ(home->tls_fingerprint, *fingerprint);
  EXPECT_FALSE(home->tls.key_pem.empty());
  EXPECT_EQ(home->operator_token.size(), 43u);  // 32 bytes, base64url without padding

  const wire::Bundle bundle = bundle_of(*home);
  EXPECT_EQ(bundle.party, "us-eucom");
  EXPECT_EQ(bundle.sign_key, home->keys.verify);
  EXPECT_EQ(bundle.box_key, home->keys.box_public);
  EXPECT_EQ(bundle.tls_fingerprint, home->tls_fingerprint);
  EXPECT_EQ(bundle.federation, home->config.federation_listen);
  EXPECT_EQ(bundle.lang, "en");
  Result<wire::Bundle> reparsed = wire::parse_bundle(wire::encode_bundle(bundle));
  ASSERT_TRUE(reparsed.is_ok()) << reparsed.status().to_string();
  EXPECT_EQ(reparsed->sign_key, bundle.sign_key);
}

TEST_F(HomeTest, TwoHomesGetDifferentKeysAndTokens) {
  ASSERT_TRUE(init_home(options()).is_ok());
  InitOptions other = options();
  other.home = root_ / "other";
  other.party = "ru-genstaff";
  ASSERT_TRUE(init_home(other).is_ok());
  Result<Home> a = open_home(home_);
  Result<Home> b = open_home(other.home);
  ASSERT_TRUE(a.is_ok());
  ASSERT_TRUE(b.is_ok());
  EXPECT_NE(a->keys.verify, b->keys.verify);
  EXPECT_NE(a->tls_fingerprint, b->tls_fingerprint);
  EXPECT_NE(a->operator_token, b->operator_token);
}

TEST_F(HomeTest, SecretFilesAreReadableByTheOwnerOnly) {
  ASSERT_TRUE(init_home(options()).is_ok());
  EXPECT_EQ(mode_of(home_), 0700u);
  EXPECT_EQ(mode_of(home_ / "keys/sign.key"), 0600u);
  EXPECT_EQ(mode_of(home_ / "keys/box.key"), 0600u);
  EXPECT_EQ(mode_of(home_ / "tls/key.pem"), 0600u);
  EXPECT_EQ(mode_of(home_ / "operator.token"), 0600u);
  EXPECT_EQ(mode_of(home_ / "parley.db"), 0600u);
  EXPECT_EQ(mode_of(home_ / "tls/cert.pem") & 0600u, 0600u);
}

TEST_F(HomeTest, InitRefusesABadPartyIdAndWritesNothing) {
  InitOptions o = options();
  o.party = "US_EUCOM";
  const Status status = init_home(o);
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("US_EUCOM"));
  EXPECT_FALSE(fs::exists(home_));
}

TEST_F(HomeTest, InitRefusesABadFederationAddressAndWritesNothing) {
  InitOptions o = options();
  o.federation = {"127.0.0.1:7001", "no-port-here"};
  const Status status = init_home(o);
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("no-port-here"));
  EXPECT_FALSE(fs::exists(home_));
}

TEST_F(HomeTest, InitRefusesABadApiAddressAndWritesNothing) {
  InitOptions o = options();
  o.api = "127.0.0.1:99999";
  EXPECT_EQ(init_home(o).code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(fs::exists(home_));
}

TEST_F(HomeTest, InitRefusesNoFederationAddressAndABadLang) {
  InitOptions o = options();
  o.federation.clear();
  EXPECT_EQ(init_home(o).code(), StatusCode::kInvalidArgument);
  o = options();
  o.lang = "EN";
  EXPECT_EQ(init_home(o).code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(fs::exists(home_));
}

TEST_F(HomeTest, InitRefusesANonEmptyDirectoryAndLeavesItAlone) {
  fs::create_directory(home_);
  write(home_ / "notes.txt", "mine");
  const Status status = init_home(options());
  EXPECT_EQ(status.code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(status.message(), home_.string() + " already exists and is not empty");
  int entries = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(home_)) ++entries;
  EXPECT_EQ(entries, 1);
}

TEST_F(HomeTest, InitOfAnExistingHomeIsRefusedAndKeepsItsKeys) {
  ASSERT_TRUE(init_home(options()).is_ok());
  Result<Home> before = open_home(home_);
  ASSERT_TRUE(before.is_ok());
  EXPECT_EQ(init_home(options()).code(), StatusCode::kAlreadyExists);
  Result<Home> after = open_home(home_);
  ASSERT_TRUE(after.is_ok());
  EXPECT_EQ(before->keys.verify, after->keys.verify);
}

TEST_F(HomeTest, InitIntoAnEmptyDirectoryWorks) {
  fs::create_directory(home_);
  ASSERT_TRUE(init_home(options()).is_ok());
  EXPECT_TRUE(open_home(home_).is_ok());
  EXPECT_EQ(mode_of(home_), 0700u);
}

TEST_F(HomeTest, OpenWithoutAHomeIsNotFound) {
  const Result<Home> home = open_home(home_);
  EXPECT_EQ(home.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(home.status().message(), "no parley home at " + home_.string() + " (run parley init)");
}

TEST_F(HomeTest, WorldReadableSigningKeyIsRefused) {
  ASSERT_TRUE(init_home(options()).is_ok());
  fs::permissions(home_ / "keys/sign.key", fs::perms(0644));
  const Result<Home> home = open_home(home_);
  EXPECT_EQ(home.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(home.status().message(),
            (home_ / "keys/sign.key").string() + " is readable by others (chmod 600)");
}

TEST_F(HomeTest, GroupReadableTokenAndTlsKeyAreRefused) {
  ASSERT_TRUE(init_home(options()).is_ok());
  fs::permissions(home_ / "operator.token", fs::perms(0640));
  EXPECT_EQ(open_home(home_).status().code(), StatusCode::kFailedPrecondition);
  fs::permissions(home_ / "operator.token", fs::perms(0600));
  fs::permissions(home_ / "tls/key.pem", fs::perms(0640));
  EXPECT_THAT(open_home(home_).status().message(), HasSubstr("tls/key.pem"));
  fs::permissions(home_ / "tls/key.pem", fs::perms(0600));
  EXPECT_TRUE(open_home(home_).is_ok());
}

TEST_F(HomeTest, KeyFileOfTheWrongLengthIsDataLossNamingTheFile) {
  ASSERT_TRUE(init_home(options()).is_ok());
  write(home_ / "keys/box.key", "AAAA\n");  // 3 bytes, not 32
  const Result<Home> home = open_home(home_);
  EXPECT_EQ(home.status().code(), StatusCode::kDataLoss);
  EXPECT_THAT(home.status().message(), StartsWith((home_ / "keys/box.key").string()));
}

TEST_F(HomeTest, KeyFileThatIsNotBase64IsDataLossNamingTheFile) {
  ASSERT_TRUE(init_home(options()).is_ok());
  write(home_ / "keys/sign.key", "not base64 at all!\n");
  const Result<Home> home = open_home(home_);
  EXPECT_EQ(home.status().code(), StatusCode::kDataLoss);
  EXPECT_THAT(home.status().message(), StartsWith((home_ / "keys/sign.key").string()));
}

TEST_F(HomeTest, MissingKeyFileIsDataLoss) {
  ASSERT_TRUE(init_home(options()).is_ok());
  fs::remove(home_ / "keys/sign.key");
  const Result<Home> home = open_home(home_);
  EXPECT_EQ(home.status().code(), StatusCode::kDataLoss);
  EXPECT_THAT(home.status().message(), HasSubstr("keys/sign.key"));
}

TEST_F(HomeTest, OpenRefusesAConfigWithATypoNamingFileAndLine) {
  ASSERT_TRUE(init_home(options()).is_ok());
  std::ofstream(home_ / "parley.toml", std::ios::app) << "lvel = \"debug\"\n";
  const Result<Home> home = open_home(home_);
  EXPECT_EQ(home.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(home.status().message(), StartsWith((home_ / "parley.toml").string() + ":"));
  EXPECT_THAT(home.status().message(), HasSubstr("log.lvel"));
}

// ---- parse_config -----------------------------------------------------------------------

constexpr std::string_view kGoodConfig = R"(# comment
[party]
id = "ru-genstaff"
lang = "ru"

[federation]
listen = ["10.0.0.1:7001", "[::1]:7002"]
heartbeat = "250ms"

[api]
listen = "127.0.0.1:8080"

[store]
path = "/var/lib/parley/parley.db"

[log]
level = "debug"
)";

TEST(ConfigTest, GoodConfigParses) {
  const Result<Config> config = parse_config(kGoodConfig, "parley.toml");
  ASSERT_TRUE(config.is_ok()) << config.status().to_string();
  EXPECT_EQ(config->party, "ru-genstaff");
  EXPECT_EQ(config->lang, "ru");
  EXPECT_EQ(config->federation_listen, (std::vector<std::string>{"10.0.0.1:7001", "[::1]:7002"}));
  EXPECT_EQ(config->heartbeat_interval, std::chrono::milliseconds(250));
  EXPECT_EQ(config->api_listen, "127.0.0.1:8080");
  EXPECT_EQ(config->store_path, "/var/lib/parley/parley.db");
  EXPECT_EQ(config->log_level, "debug");
}

TEST(ConfigTest, OptionalTablesTakeTheirDefaults) {
  const Result<Config> config =
      parse_config("[party]\nid = \"a\"\n[federation]\nlisten = [\"h:1\"]\n", "c.toml");
  ASSERT_TRUE(config.is_ok()) << config.status().to_string();
  EXPECT_EQ(config->lang, "en");
  EXPECT_EQ(config->api_listen, "127.0.0.1:7080");
  EXPECT_EQ(config->store_path, "parley.db");
  EXPECT_EQ(config->log_level, "info");
  EXPECT_EQ(config->heartbeat_interval, std::chrono::milliseconds(200));
}

void expect_refused_at(std::string_view text, std::string_view prefix, std::string_view what) {
  const Result<Config> config = parse_config(text, "c.toml");
  ASSERT_FALSE(config.is_ok()) << text;
  EXPECT_EQ(config.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(config.status().message(), StartsWith(std::string(prefix))) << text;
  EXPECT_THAT(config.status().message(), HasSubstr(std::string(what))) << text;
}

TEST(ConfigTest, StoreUrlChoosesPostgresAndIsExclusiveWithPath) {
  constexpr std::string_view kHead = "[party]\nid = \"a\"\n[federation]\nlisten = [\"h:1\"]\n";
  const Result<Config> config = parse_config(
      std::string(kHead) + "[store]\nurl = \"postgresql://parley@db:5432/parley\"\n", "c.toml");
  ASSERT_TRUE(config.is_ok()) << config.status().to_string();
  EXPECT_EQ(config->store_url, "postgresql://parley@db:5432/parley");
  expect_refused_at(std::string(kHead) + "[store]\npath = \"p.db\"\nurl = \"postgresql:///x\"\n",
                    "c.toml:7: ", "store.url and store.path are exclusive");
  expect_refused_at(std::string(kHead) + "[store]\nurl = \"mysql://db/x\"\n",
                    "c.toml:6: ", "store.url must be a postgresql:// URL");
}

TEST(ConfigTest, StoreEncryptAndKeyFileAreCheckedWithTheirLines) {
  constexpr std::string_view kHead = "[party]\nid = \"a\"\n[federation]\nlisten = [\"h:1\"]\n";
  const Result<Config> config = parse_config(
      std::string(kHead) + "[store]\nkey_file = \"/etc/parley/store.key\"\n", "c.toml");
  ASSERT_TRUE(config.is_ok()) << config.status().to_string();
  EXPECT_TRUE(config->store_encrypt);  // on unless false is written
  EXPECT_EQ(config->store_key_file, "/etc/parley/store.key");
  EXPECT_EQ(config->store_key_file_line, 6);
  const Result<Config> plain =
      parse_config(std::string(kHead) + "[store]\nencrypt = false\n", "c.toml");
  ASSERT_TRUE(plain.is_ok());
  EXPECT_FALSE(plain->store_encrypt);
  expect_refused_at(std::string(kHead) + "[store]\nencrypt = \"no\"\n",
                    "c.toml:6: ", "store.encrypt must be true or false");
  expect_refused_at(std::string(kHead) + "[store]\nkey_file = \"store.key\"\n",
                    "c.toml:6: ", "store.key_file must be an absolute path");
  expect_refused_at(std::string(kHead) + "[store]\nencrypt = false\nkey_file = \"/k\"\n",
                    "c.toml:7: ", "store.key_file with store.encrypt = false");
  expect_refused_at(std::string(kHead) + "[store]\nurl = \"postgresql:///x\"\nencrypt = true\n",
                    "c.toml:7: ", "store.encrypt is for a SQLite store");
  expect_refused_at(std::string(kHead) + "[store]\nurl = \"postgresql:///x\"\nkey_file = \"/k\"\n",
                    "c.toml:7: ", "store.key_file is for a SQLite store");
}

TEST(ConfigTest, UnknownKeyIsRefusedWithItsLine) {
  expect_refused_at("[party]\nid = \"a\"\nlnag = \"en\"\n[federation]\nlisten = [\"h:1\"]\n",
                    "c.toml:3: ", "party.lnag");
}

TEST(ConfigTest, UnknownTableIsRefusedWithItsLine) {
  expect_refused_at("[party]\nid = \"a\"\n[federation]\nlisten = [\"h:1\"]\n\n[feds]\nx = 1\n",
                    "c.toml:6: ", "feds");
}

TEST(ConfigTest, WrongTypeIsRefusedWithItsLine) {
  expect_refused_at("[party]\nid = 42\n[federation]\nlisten = [\"h:1\"]\n",
                    "c.toml:2: ", "party.id must be a string");
  expect_refused_at("[party]\nid = \"a\"\n[federation]\nlisten = \"h:1\"\n",
                    "c.toml:4: ", "federation.listen");
  expect_refused_at("party = 1\n", "c.toml:1: ", "party must be a table");
}

TEST(ConfigTest, BadAddressIsRefusedWithItsLine) {
  expect_refused_at("[party]\nid = \"a\"\n[federation]\nlisten = [\n  \"h:1\",\n  \"h\",\n]\n",
                    "c.toml:6: ", "'h'");
  expect_refused_at(
      "[party]\nid = \"a\"\n[federation]\nlisten = [\"h:1\"]\n[api]\nlisten = \"h:0\"\n",
      "c.toml:6: ", "api.listen");
  expect_refused_at("[party]\nid = \"a\"\n[federation]\nlisten = []\n",
                    "c.toml:4: ", "at least one");
}

TEST_F(HomeTest, OneGatewayLockPerHomeNamingItsHolder) {
  ASSERT_TRUE(init_home(options()).is_ok());
  Result<Home> home = open_home(home_);
  ASSERT_TRUE(home.is_ok());
  {
    Result<HomeLock> first = HomeLock::acquire(*home);
    ASSERT_TRUE(first.is_ok()) << first.status().to_string();
    std::ifstream pid_file(home_ / "gateway.lock");
    std::string pid;
    pid_file >> pid;
    EXPECT_EQ(pid, std::to_string(::getpid()));

    // flock(2) locks belong to an open file description: a second acquire conflicts even
    // in the same process, as a second gateway process would.
    Result<HomeLock> second = HomeLock::acquire(*home);
    ASSERT_FALSE(second.is_ok());
    EXPECT_EQ(second.status().code(), StatusCode::kFailedPrecondition);
    EXPECT_THAT(second.status().message(),
                HasSubstr("in use by another parley gateway (pid " + std::to_string(::getpid()) +
                          " holds " + (home_ / "gateway.lock").string() + ")"));
  }
  // Released with the lock; the file left behind does not block the next gateway.
  EXPECT_TRUE(fs::exists(home_ / "gateway.lock"));
  EXPECT_TRUE(HomeLock::acquire(*home).is_ok());
}

TEST_F(HomeTest, TheStoreIsLockedTooWhereverItLies) {
  ASSERT_TRUE(init_home(options()).is_ok());
  InitOptions other = options();
  other.home = root_ / "other";
  ASSERT_TRUE(init_home(other).is_ok());
  Result<Home> a = open_home(home_);
  Result<Home> b = open_home(other.home);
  ASSERT_TRUE(a.is_ok());
  ASSERT_TRUE(b.is_ok());
  b->config.store_path = a->store_path().string();  // two homes on one store, by mistake
  Result<HomeLock> first = HomeLock::acquire(*a);
  ASSERT_TRUE(first.is_ok());
  Result<HomeLock> second = HomeLock::acquire(*b);
  ASSERT_FALSE(second.is_ok());
  EXPECT_THAT(second.status().message(),
              HasSubstr("the store " + a->store_path().string() + " is in use"));
  // The refused acquire released the other home's own lock.
  b->config.store_path = "parley.db";
  EXPECT_TRUE(HomeLock::acquire(*b).is_ok());
}

TEST(ConfigTest, BadValuesAreRefusedWithTheirLine) {
  expect_refused_at("[party]\nid = \"Bad Id\"\n[federation]\nlisten = [\"h:1\"]\n",
                    "c.toml:2: ", "party.id");
  expect_refused_at("[party]\nid = \"a\"\nlang = \"english!\"\n[federation]\nlisten = [\"h:1\"]\n",
                    "c.toml:3: ", "lang");
  expect_refused_at(
      "[party]\nid = \"a\"\n[federation]\nlisten = [\"h:1\"]\n[log]\nlevel = \"loud\"\n",
      "c.toml:6: ", "log.level");
}

TEST(ConfigTest, BadHeartbeatIsRefusedWithItsLine) {
  expect_refused_at("[party]\nid = \"a\"\n[federation]\nlisten = [\"h:1\"]\nheartbeat = \"soon\"\n",
                    "c.toml:5: ", "federation.heartbeat");
  expect_refused_at("[party]\nid = \"a\"\n[federation]\nlisten = [\"h:1\"]\nheartbeat = 1\n",
                    "c.toml:5: ", "federation.heartbeat must be a string");
  expect_refused_at("[party]\nid = \"a\"\n[federation]\nlisten = [\"h:1\"]\nheartbeat = \"10ms\"\n",
                    "c.toml:5: ", "out of range");
  expect_refused_at("[party]\nid = \"a\"\n[federation]\nlisten = [\"h:1\"]\nheartbeat = \"1d\"\n",
                    "c.toml:5: ", "out of range");
}

TEST(ConfigTest, MissingRequiredEntriesAreRefused) {
  expect_refused_at("[federation]\nlisten = [\"h:1\"]\n", "c.toml:", "[party]");
  expect_refused_at("[party]\nlang = \"en\"\n[federation]\nlisten = [\"h:1\"]\n",
                    "c.toml:", "party.id");
  expect_refused_at("[party]\nid = \"a\"\n", "c.toml:", "[federation]");
}

TEST(ConfigTest, TomlSyntaxErrorIsRefusedWithItsLine) {
  expect_refused_at("[party]\nid = \"a\"\nlang = \n", "c.toml:3: ", "");
  expect_refused_at("[party]\nid = \"a\"\nid = \"b\"\n", "c.toml:3: ", "");
}

TEST(ConfigTest, GarbageNeverCrashes) {
  for (std::string_view text : {std::string_view("\0\0\0", 3), std::string_view("[[[[[["),
                                std::string_view("a = [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1"),
                                std::string_view("\xff\xfe"), std::string_view("")}) {
    EXPECT_FALSE(parse_config(text, "c.toml").is_ok());
  }
}

TEST_F(HomeTest, InitWithAConfigFileLinksToItAndTakesItsSettings) {
  // The Debian package's flow: the operator edits /etc/parley/parley.toml (a conffile),
  // then `parley init --config` makes the home around it.
  const fs::path config = root_ / "etc-parley.toml";
  write(config,
        "[party]\nid = \"nato-shape\"\nlang = \"ru\"\n[federation]\n"
        "listen = [\"127.0.0.1:7101\", \"127.0.0.1:7102\"]\nheartbeat = \"2s\"\n"
        "[api]\nlisten = \"127.0.0.1:7180\"\n");
  InitOptions o;
  o.home = home_;
  o.config_file = config;
  ASSERT_TRUE(init_home(o).is_ok());

  EXPECT_TRUE(fs::is_symlink(home_ / "parley.toml"));
  EXPECT_EQ(fs::read_symlink(home_ / "parley.toml"), fs::absolute(config));
  const Result<Home> home = open_home(home_);
  ASSERT_TRUE(home.is_ok()) << home.status().message();
  EXPECT_EQ(home->config.party, "nato-shape");
  EXPECT_EQ(home->config.lang, "ru");
  EXPECT_EQ(home->config.federation_listen.size(), 2U);
  EXPECT_EQ(home->config.heartbeat_interval, std::chrono::seconds(2));
  EXPECT_TRUE(fs::exists(home_ / "parley.db"));
}

TEST_F(HomeTest, InitWithABadConfigFileNamesItsLineAndLeavesNothing) {
  const fs::path config = root_ / "parley.toml";
  write(config, "[party]\nid = \"CHANGE-ME\"\n[federation]\nlisten = [\"127.0.0.1:7101\"]\n");
  InitOptions o;
  o.home = home_;
  o.config_file = config;
  const Status status = init_home(o);
  ASSERT_FALSE(status.is_ok());
  EXPECT_THAT(status.message(), StartsWith(config.string() + ":2: bad party.id 'CHANGE-ME'"));
  EXPECT_FALSE(fs::exists(home_));
}

}  // namespace
}  // namespace parley::gateway
