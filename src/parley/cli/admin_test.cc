// The admin subcommands, run in-process through CLI11 as `parley` would run them.
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "parley/base/bytes.h"
#include "parley/base/json.h"
#include "parley/base/rng.h"
#include "parley/cli/commands.h"
#include "parley/cli/directory.h"
#include "parley/gateway/home.h"
#include "parley/gateway/rotation_for_test.h"
#include "parley/store/store_test_util.h"

namespace parley::cli {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

struct Outcome {
  int code = -1;
  std::string out;
  std::string err;
};

// Runs `parley args...` in-process. Usage errors exit 2 as in main.cc.
Outcome run(std::vector<std::string> args) {
  CLI::App app("parley", "parley");
  app.require_subcommand(1);
  int exit_code = 0;
  add_admin_commands(app, exit_code);
  add_catalog_command(app, exit_code);
  args.insert(args.begin(), "parley");
  std::vector<const char*> argv;
  argv.reserve(args.size());
  for (const std::string& a : args) argv.push_back(a.c_str());

  Outcome r;
  ::testing::internal::CaptureStdout();
  ::testing::internal::CaptureStderr();
  try {
    app.parse(static_cast<int>(argv.size()), argv.data());
    r.code = exit_code;
  } catch (const CLI::ParseError& e) {
    r.code = e.get_exit_code() == 0 ? 0 : 2;
  }
  r.out = ::testing::internal::GetCapturedStdout();
  r.err = ::testing::internal::GetCapturedStderr();
  return r;
}

int count_lines(const std::string& text) {
  return static_cast<int>(std::count(text.begin(), text.end(), '\n'));
}

class AdminTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "parley-admin-test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    root_ = pattern;
    us_ = (root_ / "us").string();
    ru_ = (root_ / "ru").string();
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }

  // Two parties, each with its home; ru's bundle in a file.
  void init_both() {
    ASSERT_EQ(run({"init", "--home", us_, "--party", "us-eucom"}).code, 0);
    ASSERT_EQ(run({"init", "--home", ru_, "--party", "ru-genstaff", "--federation",
                   "127.0.0.1:7101", "--lang", "ru"})
                  .code,
              0);
    const Outcome bundle = run({"bundle", "--home", ru_});
    ASSERT_EQ(bundle.code, 0) << bundle.err;
    ru_bundle_ = write_file("ru.json", bundle.out);
  }

  std::string write_file(const std::string& name, const std::string& text) {
    const std::string path = (root_ / name).string();
    std::ofstream(path) << text;
    return path;
  }

  std::unique_ptr<store::Store> open_store(const std::string& home) {
    // As the CLI opens it: with the store key the home's config names.
    Result<OpenedHome> opened = open_home_and_store(home);
    EXPECT_TRUE(opened.is_ok()) << opened.status().to_string();
    return opened.is_ok() ? std::move(opened->store) : nullptr;
  }

  std::vector<core::Peer> peers_of(const std::string& home) {
    auto s = open_store(home);
    Result<std::vector<core::Peer>> peers = s->peers();
    EXPECT_TRUE(peers.is_ok());
    return peers.is_ok() ? *peers : std::vector<core::Peer>{};
  }

  std::vector<core::Line> lines_of(const std::string& home) {
    auto s = open_store(home);
    Result<std::vector<core::Line>> lines = s->lines();
    EXPECT_TRUE(lines.is_ok());
    return lines.is_ok() ? *lines : std::vector<core::Line>{};
  }

  // us pins ru and has principals saceur and duty-officer.
  void set_up_us_side() {
    init_both();
    ASSERT_EQ(run({"peer", "add", "--home", us_, ru_bundle_}).code, 0);
    ASSERT_EQ(run({"principal", "add", "--home", us_, "saceur"}).code, 0);
    ASSERT_EQ(run({"principal", "add", "--home", us_, "duty-officer"}).code, 0);
  }

  // Expects exit 1 with exactly one line "parley: ..." on stderr; returns that line.
  static std::string expect_failure(const Outcome& r) {
    EXPECT_EQ(r.code, 1) << r.out << r.err;
    EXPECT_EQ(count_lines(r.err), 1) << r.err;
    EXPECT_THAT(r.err, StartsWith("parley: "));
    return r.err;
  }

  fs::path root_;
  std::string us_;
  std::string ru_;
  std::string ru_bundle_;
};

TEST_F(AdminTest, InitThenBundleRoundTrips) {
  const Outcome init =
      run({"init", "--home", us_, "--party", "us-eucom", "--federation", "127.0.0.1:7001",
           "--federation", "127.0.0.1:7002", "--api", "127.0.0.1:7081"});
  ASSERT_EQ(init.code, 0) << init.err;
  EXPECT_THAT(init.out, StartsWith("initialized party us-eucom at " + us_ + "\n"));
  EXPECT_THAT(init.out, HasSubstr("parley bundle --home " + us_));
  EXPECT_EQ(init.err, "");

  const Outcome bundle = run({"bundle", "--home", us_});
  ASSERT_EQ(bundle.code, 0) << bundle.err;
  Result<wire::Bundle> parsed = wire::parse_bundle(bundle.out);
  ASSERT_TRUE(parsed.is_ok()) << parsed.status().to_string();

  Result<gateway::Home> home = gateway::open_home(us_);
  ASSERT_TRUE(home.is_ok());
  const wire::Bundle expected = gateway::bundle_of(*home);
  EXPECT_EQ(parsed->party, "us-eucom");
  EXPECT_EQ(parsed->sign_key, expected.sign_key);
  EXPECT_EQ(parsed->box_key, expected.box_key);
  EXPECT_EQ(parsed->tls_fingerprint, expected.tls_fingerprint);
  EXPECT_EQ(parsed->federation, (std::vector<std::string>{"127.0.0.1:7001", "127.0.0.1:7002"}));
  EXPECT_EQ(home->config.api_listen, "127.0.0.1:7081");
}

TEST_F(AdminTest, InitWithABadPartyFailsWithOneLineAndWritesNothing) {
  const std::string err = expect_failure(run({"init", "--home", us_, "--party", "US EUCOM"}));
  EXPECT_THAT(err, HasSubstr("US EUCOM"));
  EXPECT_FALSE(fs::exists(us_));
}

// --store names a PostgreSQL database (tests against a real server are in
// admin_pg_test.cc); a bad URL or an unreachable server fails init on one line, leaving no
// home behind.
TEST_F(AdminTest, InitWithAMalformedStoreUrlFailsWithOneLineAndWritesNothing) {
  const std::string err = expect_failure(
      run({"init", "--home", us_, "--party", "us-eucom", "--store", "postgresql://%zz@/parley"}));
  EXPECT_THAT(err, StartsWith("parley: creating the store: malformed store URL"));
  EXPECT_FALSE(fs::exists(us_));
  const std::string not_pg = expect_failure(
      run({"init", "--home", us_, "--party", "us-eucom", "--store", "mysql://db/parley"}));
  EXPECT_THAT(not_pg, HasSubstr("bad --store 'mysql://db/parley'"));
  EXPECT_FALSE(fs::exists(us_));
}

TEST_F(AdminTest, InitWithAnUnreachableStoreFailsWithOneLineAndWritesNothing) {
  const std::string err = expect_failure(
      run({"init", "--home", us_, "--party", "us-eucom", "--store",
           "postgresql://parley:s3cret@/parley?host=/nonexistent-parley-dir&connect_timeout=2"}));
  EXPECT_THAT(err, StartsWith("parley: creating the store: cannot connect to PostgreSQL"));
  EXPECT_THAT(err, Not(HasSubstr("s3cret")));
  EXPECT_FALSE(fs::exists(us_));
}

// Issue 16: a language no catalog template is written in is a usage error, not a silent
// fallback to English; nothing is written.
TEST_F(AdminTest, InitWithALanguageNoTemplateKnowsIsAUsageError) {
  const Outcome r = run({"init", "--home", us_, "--party", "us-eucom", "--lang", "fr"});
  EXPECT_EQ(r.code, 2) << r.err;
  EXPECT_EQ(count_lines(r.err), 1) << r.err;
  EXPECT_THAT(r.err, HasSubstr("--lang fr: no catalog template is written in it"));
  EXPECT_THAT(r.err, HasSubstr("en, ru"));
  EXPECT_FALSE(fs::exists(us_));
  EXPECT_EQ(run({"init", "--home", us_, "--party", "us-eucom", "--lang", "ru"}).code, 0);
}

TEST_F(AdminTest, InitOfAnExistingHomeIsRefused) {
  ASSERT_EQ(run({"init", "--home", us_, "--party", "us-eucom"}).code, 0);
  const std::string err = expect_failure(run({"init", "--home", us_, "--party", "us-eucom"}));
  EXPECT_EQ(err, "parley: " + us_ + " already exists and is not empty\n");
}

TEST_F(AdminTest, InitWithoutPartyIsAUsageError) {
  EXPECT_EQ(run({"init", "--home", us_}).code, 2);
  EXPECT_FALSE(fs::exists(us_));
}

TEST_F(AdminTest, BundleWithoutAHomeFails) {
  const std::string err = expect_failure(run({"bundle", "--home", us_}));
  EXPECT_EQ(err, "parley: no parley home at " + us_ + " (run parley init)\n");
}

TEST_F(AdminTest, PeerAddPinsThePeer) {
  init_both();
  const Outcome r = run({"peer", "add", "--home", us_, ru_bundle_});
  ASSERT_EQ(r.code, 0) << r.err;
  Result<gateway::Home> ru = gateway::open_home(ru_);
  ASSERT_TRUE(ru.is_ok());
  EXPECT_THAT(r.out,
              StartsWith("pinned peer ru-genstaff (fingerprint " + ru->tls_fingerprint + ")\n"));
  const std::vector<core::Peer> peers = peers_of(us_);
  ASSERT_EQ(peers.size(), 1u);
  EXPECT_EQ(peers[0].bundle.party, "ru-genstaff");
  EXPECT_EQ(peers[0].bundle.sign_key, ru->keys.verify);
  EXPECT_EQ(peers[0].bundle.box_key, ru->keys.box_public);
  EXPECT_EQ(peers[0].bundle.federation, (std::vector<std::string>{"127.0.0.1:7101"}));
  EXPECT_EQ(peers[0].bundle.lang, "ru");

  // Pinning the same bundle again is harmless.
  EXPECT_EQ(run({"peer", "add", "--home", us_, ru_bundle_}).code, 0);
  EXPECT_EQ(peers_of(us_).size(), 1u);
}

TEST_F(AdminTest, PeerAddWithAMalformedKeyFailsAndStoresNothing) {
  init_both();
  Result<json::Json> bundle = json::parse_object(run({"bundle", "--home", ru_}).out);
  ASSERT_TRUE(bundle.is_ok());
  (*bundle)["sign_key"] = "AAAA";  // 3 bytes, not 32
  const std::string file = write_file("bad.json", json::dump(*bundle));

  const std::string err = expect_failure(run({"peer", "add", "--home", us_, file}));
  EXPECT_THAT(err, StartsWith("parley: bundle " + file + ": field 'sign_key'"));
  EXPECT_TRUE(peers_of(us_).empty());
}

TEST_F(AdminTest, PeerAddOfATruncatedOrMissingFileFails) {
  init_both();
  const std::string file = write_file("cut.json", "{\"v\":1,\"party\":\"ru-gen");
  EXPECT_THAT(expect_failure(run({"peer", "add", "--home", us_, file})),
              StartsWith("parley: bundle " + file + ": "));
  EXPECT_THAT(expect_failure(run({"peer", "add", "--home", us_, (root_ / "nope.json").string()})),
              HasSubstr("nope.json"));
  EXPECT_TRUE(peers_of(us_).empty());
}

TEST_F(AdminTest, PeerAddOfOurOwnBundleIsRefused) {
  init_both();
  const std::string own = write_file("us.json", run({"bundle", "--home", us_}).out);
  const std::string err = expect_failure(run({"peer", "add", "--home", us_, own}));
  EXPECT_THAT(err, HasSubstr("own bundle"));
  EXPECT_TRUE(peers_of(us_).empty());
}

TEST_F(AdminTest, PeerAddOfAChangedBundleNeedsReplace) {
  init_both();
  ASSERT_EQ(run({"peer", "add", "--home", us_, ru_bundle_}).code, 0);
  // ru re-initialized elsewhere: same party id, new keys.
  const std::string ru2 = (root_ / "ru2").string();
  ASSERT_EQ(run({"init", "--home", ru2, "--party", "ru-genstaff"}).code, 0);
  const std::string changed = write_file("ru2.json", run({"bundle", "--home", ru2}).out);

  expect_failure(run({"peer", "add", "--home", us_, changed}));
  ASSERT_EQ(peers_of(us_).size(), 1u);
  Result<gateway::Home> ru = gateway::open_home(ru_);
  ASSERT_TRUE(ru.is_ok());
  EXPECT_EQ(peers_of(us_)[0].bundle.sign_key, ru->keys.verify);

  ASSERT_EQ(run({"peer", "add", "--home", us_, changed, "--replace"}).code, 0);
  Result<gateway::Home> ru_new = gateway::open_home(ru2);
  ASSERT_TRUE(ru_new.is_ok());
  ASSERT_EQ(peers_of(us_).size(), 1u);
  EXPECT_EQ(peers_of(us_)[0].bundle.sign_key, ru_new->keys.verify);
}

TEST_F(AdminTest, PrincipalAddPrintsATokenAndStoresOnlyItsHash) {
  init_both();
  const Outcome r = run(
      {"principal", "add", "--home", us_, "saceur", "--name", "Gen. A. Smith", "--role", "SACEUR"});
  ASSERT_EQ(r.code, 0) << r.err;
  ASSERT_EQ(count_lines(r.out), 1);
  const std::string token = r.out.substr(0, r.out.size() - 1);
  EXPECT_EQ(token.size(), 43u);

  auto s = open_store(us_);
  Result<std::vector<core::Principal>> principals = s->principals();
  ASSERT_TRUE(principals.is_ok());
  ASSERT_EQ(principals->size(), 1u);
  const core::Principal& p = (*principals)[0];
  EXPECT_EQ(p.id, "saceur");
  EXPECT_EQ(p.name, "Gen. A. Smith");
  EXPECT_EQ(p.role, "SACEUR");
  const crypto::Digest digest = crypto::sha256(as_bytes(token));
  EXPECT_EQ(p.token_hash, Bytes(digest.begin(), digest.end()));
  Result<std::optional<core::Principal>> found = s->principal_by_token_hash(digest);
  ASSERT_TRUE(found.is_ok());
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->id, "saceur");
  s.reset();

  // The token itself is nowhere in the home.
  for (const auto& entry : fs::recursive_directory_iterator(us_)) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_EQ(bytes.find(token), std::string::npos) << entry.path();
  }
}

TEST_F(AdminTest, PrincipalAddGivesEachPrincipalItsOwnToken) {
  init_both();
  const Outcome a = run({"principal", "add", "--home", us_, "saceur"});
  const Outcome b = run({"principal", "add", "--home", us_, "duty-officer"});
  ASSERT_EQ(a.code, 0);
  ASSERT_EQ(b.code, 0);
  EXPECT_NE(a.out, b.out);
}

TEST_F(AdminTest, PrincipalAddRefusesABadIdAndADuplicate) {
  init_both();
  expect_failure(run({"principal", "add", "--home", us_, "Sac/Eur"}));
  ASSERT_EQ(run({"principal", "add", "--home", us_, "saceur"}).code, 0);
  const std::string err = expect_failure(run({"principal", "add", "--home", us_, "saceur"}));
  EXPECT_THAT(err, HasSubstr("already exists"));
  auto s = open_store(us_);
  EXPECT_EQ(s->principals()->size(), 1u);
}

TEST_F(AdminTest, LineAddWithAnUnknownLocalPrincipalIsRefused) {
  set_up_us_side();
  const std::string err = expect_failure(run({"line", "add", "--home", us_, "saceur-cgs", "--local",
                                              "nobody", "--remote", "ru-genstaff/cgs"}));
  EXPECT_THAT(err, HasSubstr("nobody"));
  EXPECT_TRUE(lines_of(us_).empty());
}

TEST_F(AdminTest, LineAddWithAnUnknownAlternateIsRefused) {
  set_up_us_side();
  const std::string err = expect_failure(
      run({"line", "add", "--home", us_, "saceur-cgs", "--local", "saceur", "--remote",
           "ru-genstaff/cgs", "--alternate", "duty-officer", "--alternate", "ghost"}));
  EXPECT_THAT(err, HasSubstr("ghost"));
  EXPECT_TRUE(lines_of(us_).empty());
}

TEST_F(AdminTest, LineAddWithAnUnpinnedPeerIsRefused) {
  set_up_us_side();
  const std::string err = expect_failure(run({"line", "add", "--home", us_, "saceur-cgs", "--local",
                                              "saceur", "--remote", "cn-cmc/chief"}));
  EXPECT_THAT(err, HasSubstr("cn-cmc is not a pinned peer"));
  EXPECT_TRUE(lines_of(us_).empty());
}

TEST_F(AdminTest, LineAddWithABadDeadlineIsRefused) {
  set_up_us_side();
  for (const char* deadline : {"FLASH", "URGENT=5m", "FLASH=soon", "FLASH=-5m", "FLASH=0s"}) {
    const std::string err =
        expect_failure(run({"line", "add", "--home", us_, "saceur-cgs", "--local", "saceur",
                            "--remote", "ru-genstaff/cgs", "--deadline", deadline}));
    EXPECT_THAT(err, HasSubstr(deadline));
  }
  expect_failure(run({"line", "add", "--home", us_, "saceur-cgs", "--local", "saceur", "--remote",
                      "ru-genstaff/cgs", "--deadline", "FLASH=1m", "--deadline", "FLASH=2m"}));
  EXPECT_TRUE(lines_of(us_).empty());
}

TEST_F(AdminTest, LineAddWithABadIdOrRemoteIsRefused) {
  set_up_us_side();
  expect_failure(run({"line", "add", "--home", us_, "Saceur CGS", "--local", "saceur", "--remote",
                      "ru-genstaff/cgs"}));
  expect_failure(run({"line", "add", "--home", us_, "saceur-cgs", "--local", "saceur", "--remote",
                      "ru-genstaff"}));
  expect_failure(run({"line", "add", "--home", us_, "saceur-cgs", "--local", "saceur", "--remote",
                      "us-eucom/duty-officer"}));
  EXPECT_TRUE(lines_of(us_).empty());
}

TEST_F(AdminTest, LineAddRefusesABadRemoteAlternate) {
  set_up_us_side();
  expect_failure(run({"line", "add", "--home", us_, "saceur-cgs", "--local", "saceur", "--remote",
                      "ru-genstaff/cgs", "--remote-alternate", "Bad Id"}));
  const std::string err =
      expect_failure(run({"line", "add", "--home", us_, "saceur-cgs", "--local", "saceur",
                          "--remote", "ru-genstaff/cgs", "--remote-alternate", "cgs"}));
  EXPECT_THAT(err, HasSubstr("is the line's remote principal"));
  EXPECT_TRUE(lines_of(us_).empty());
}

TEST_F(AdminTest, LineAddStoresTheLineWithItsDeadlines) {
  set_up_us_side();
  const Outcome r = run({"line",
                         "add",
                         "--home",
                         us_,
                         "saceur-cgs",
                         "--local",
                         "saceur",
                         "--remote",
                         "ru-genstaff/cgs",
                         "--alternate",
                         "duty-officer",
                         "--remote-alternate",
                         "deputy-cgs",
                         "--remote-alternate",
                         "deputy-cgs",
                         "--observer",
                         "nato-shape",
                         "--deadline",
                         "FLASH=30s",
                         "--deadline",
                         "ROUTINE=1h"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err, "");

  const std::vector<core::Line> lines = lines_of(us_);
  ASSERT_EQ(lines.size(), 1u);
  const core::Line& line = lines[0];
  EXPECT_EQ(line.id, "saceur-cgs");
  EXPECT_EQ(line.local, "saceur");
  EXPECT_EQ(line.remote, (wire::Address{"ru-genstaff", "cgs"}));
  EXPECT_EQ(line.alternates, (std::vector<std::string>{"duty-officer"}));
  EXPECT_EQ(line.remote_alternates, (std::vector<std::string>{"deputy-cgs"}));  // once
  EXPECT_EQ(line.observers, (std::vector<std::string>{"nato-shape"}));
  EXPECT_EQ(line.deadlines.flash, std::chrono::seconds(30));
  EXPECT_EQ(line.deadlines.immediate, std::chrono::minutes(30));  // the default
  EXPECT_EQ(line.deadlines.priority, std::chrono::hours(3));      // the default
  EXPECT_EQ(line.deadlines.routine, std::chrono::hours(1));

  // The same id again is refused and the first line is kept.
  expect_failure(run({"line", "add", "--home", us_, "saceur-cgs", "--local", "duty-officer",
                      "--remote", "ru-genstaff/cgs"}));
  ASSERT_EQ(lines_of(us_).size(), 1u);
  EXPECT_EQ(lines_of(us_)[0].local, "saceur");
}

TEST_F(AdminTest, EveryCommandHasHelp) {
  for (std::vector<std::string> args : {std::vector<std::string>{"init", "--help"},
                                        {"bundle", "--help"},
                                        {"peer", "add", "--help"},
                                        {"principal", "add", "--help"},
                                        {"line", "add", "--help"},
                                        {"line", "show", "--help"},
                                        {"line", "list", "--help"},
                                        {"principal", "list", "--help"},
                                        {"principal", "revoke", "--help"},
                                        {"principal", "token", "--help"},
                                        {"roster", "set", "--help"},
                                        {"roster", "show", "--help"},
                                        {"catalog", "--help"}}) {
    CLI::App app("parley", "parley");
    int exit_code = 0;
    add_admin_commands(app, exit_code);
    add_catalog_command(app, exit_code);
    args.insert(args.begin(), "parley");
    std::vector<const char*> argv;
    for (const std::string& a : args) argv.push_back(a.c_str());
    try {
      app.parse(static_cast<int>(argv.size()), argv.data());
      ADD_FAILURE() << args[1] << " --help did not ask for help";
    } catch (const CLI::CallForHelp& e) {
      CLI::App* sub = app.get_subcommand(args[1]);
      if (args.size() > 3) sub = sub->get_subcommand(args[2]);
      const std::string help = sub->help();
      EXPECT_GT(help.size(), 100u) << help;
      EXPECT_THAT(help, ::testing::Not(HasSubstr("--home TEXT")));
    } catch (const CLI::ParseError& e) {
      ADD_FAILURE() << e.what();
    }
  }
}

TEST_F(AdminTest, PeerAndLineHelpSayWhenTheyTakeEffect) {
  CLI::App app("parley", "parley");
  int exit_code = 0;
  add_admin_commands(app, exit_code);
  // A new peer is added by a running gateway at once (issue 17); a re-pin waits for a start.
  const std::string peer_add = app.get_subcommand("peer")->get_subcommand("add")->help();
  EXPECT_THAT(peer_add, HasSubstr("adds a new peer at once"));
  EXPECT_THAT(peer_add, HasSubstr("takes effect at its next start"));
  // Lines, principals and the roster are reloaded by a running gateway (issue 12).
  EXPECT_THAT(app.get_subcommand("line")->get_subcommand("add")->help(),
              HasSubstr("without a restart"));
}

// Issue 12: principal list shows each token's state; revoke and token change it, and every
// change is in the store's audit trail.
TEST_F(AdminTest, PrincipalListRevokeAndTokenAreLogged) {
  set_up_us_side();
  Outcome r = run({"principal", "list", "--home", us_, "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  Result<json::Json> list = json::parse(r.out);
  ASSERT_TRUE(list.is_ok() && list->is_array() && list->size() == 2) << r.out;
  EXPECT_EQ((*list)[1]["id"], "saceur");
  EXPECT_EQ((*list)[1]["token"], "active");
  EXPECT_TRUE((*list)[1]["token_expires"].is_string());  // 90 days by default
  EXPECT_TRUE((*list)[1]["revoked_at"].is_null());

  r = run({"principal", "revoke", "--home", us_, "saceur"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("revoked principal saceur"));
  EXPECT_THAT(r.out, HasSubstr("the gateway is not running"));
  r = run({"principal", "list", "--home", us_});
  EXPECT_THAT(r.out, HasSubstr("revoked"));
  expect_failure(run({"principal", "revoke", "--home", us_, "nobody"}));

  r = run({"principal", "token", "--home", us_, "saceur", "--expires", "never"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(count_lines(r.out), 1) << r.out;  // the token alone
  r = run({"principal", "list", "--home", us_, "--json"});
  list = json::parse(r.out);
  ASSERT_TRUE(list.is_ok()) << r.out;
  EXPECT_EQ((*list)[1]["token"], "active");
  EXPECT_TRUE((*list)[1]["token_expires"].is_null());
  expect_failure(run({"principal", "add", "--home", us_, "clerk", "--expires", "soon"}));

  auto s = open_store(us_);
  Result<std::vector<core::DirectoryChange>> changes = s->changes();
  ASSERT_TRUE(changes.is_ok());
  std::vector<std::string> actions;
  for (const core::DirectoryChange& c : *changes) actions.push_back(c.action);
  EXPECT_EQ(actions, (std::vector<std::string>{"peer.add", "principal.add", "principal.add",
                                               "principal.revoke", "principal.token"}));
}

// Issue 16: a line with a message in flight (not yet receipted, or awaiting its ack) is not
// removed; once every message on it is done it is, the removal is logged, and its messages
// stay in the store.
TEST_F(AdminTest, LineRemoveRefusesALineWithMessagesInFlight) {
  set_up_us_side();
  ASSERT_EQ(run({"line", "add", "--home", us_, "saceur-cgs", "--local", "saceur", "--remote",
                 "ru-genstaff/cgs"})
                .code,
            0);
  const core::MessageRecord m =
      store::test::message("01900000-0000-7000-8000-000000000001", "saceur-cgs", 1,
                           core::Direction::kOutbound, store::test::at(0));
  const core::MessageRecord translation =
      store::test::message("01900000-0000-7000-8000-000000000002", "saceur-cgs", 2,
                           core::Direction::kInbound, store::test::at(1), "translation");
  ASSERT_TRUE(open_store(us_)->apply({core::PutMessage{m}}).is_ok());
  std::string err = expect_failure(run({"line", "remove", "--home", us_, "saceur-cgs"}));
  EXPECT_THAT(err, HasSubstr("line saceur-cgs has messages in flight"));
  EXPECT_THAT(err, HasSubstr(m.id + ", ROUTINE to the peer, queued, not yet receipted"));

  // Receipted, but its acknowledgment is awaited: still in flight.
  core::UpdateMessage delivered;
  delivered.id = m.id;
  delivered.state = core::MessageState::kDelivered;
  delivered.delivered_at = store::test::at(5);
  ASSERT_TRUE(open_store(us_)->apply({delivered}).is_ok());
  err = expect_failure(run({"line", "remove", "--home", us_, "saceur-cgs"}));
  EXPECT_THAT(err, HasSubstr(m.id + ", ROUTINE to the peer, awaiting its acknowledgment"));
  EXPECT_EQ(lines_of(us_).size(), 1U);

  // Acknowledged; a delivered message that asks for no ack is done too.
  core::UpdateMessage acked;
  acked.id = m.id;
  acked.state = core::MessageState::kAcknowledged;
  acked.delivered_at = store::test::at(5);
  acked.acknowledged_at = store::test::at(6);
  acked.acknowledged_by = "ru-genstaff/cgs";
  core::MessageRecord received = translation;
  received.state = core::MessageState::kDelivered;
  received.delivered_at = store::test::at(7);
  ASSERT_TRUE(open_store(us_)->apply({acked, core::PutMessage{received}}).is_ok());
  const Outcome r = run({"line", "remove", "--home", us_, "saceur-cgs"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("removed line saceur-cgs"));
  EXPECT_TRUE(lines_of(us_).empty());
  auto s = open_store(us_);
  Result<std::optional<core::MessageRecord>> kept = s->get_message(m.id);
  ASSERT_TRUE(kept.is_ok() && kept->has_value()) << "the line's messages stay";
  Result<std::vector<core::DirectoryChange>> changes = s->changes();
  ASSERT_TRUE(changes.is_ok() && !changes->empty());
  EXPECT_EQ(changes->back().action, "line.remove");
  EXPECT_EQ(changes->back().detail, "saceur-cgs");

  expect_failure(run({"line", "remove", "--home", us_, "saceur-cgs"}));  // gone
  EXPECT_EQ(run({"line", "remove", "--home", us_}).code, 2);             // no ID: usage
}

// Issue 16: a peer that a line names, and a principal that a line or the roster names, are
// not removed; once nothing names them they are, each removal logged.
TEST_F(AdminTest, PeerAndPrincipalRemoveRefuseWhatALineStillNames) {
  set_up_us_side();
  ASSERT_EQ(run({"line", "add", "--home", us_, "saceur-cgs", "--local", "saceur", "--remote",
                 "ru-genstaff/cgs", "--alternate", "duty-officer"})
                .code,
            0);
  Outcome r = run({"peer", "list", "--home", us_, "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  Result<json::Json> list = json::parse(r.out);
  ASSERT_TRUE(list.is_ok() && list->is_array() && list->size() == 1) << r.out;
  EXPECT_EQ((*list)[0]["party"], "ru-genstaff");
  EXPECT_EQ((*list)[0]["lines"], json::Json::array({"saceur-cgs"}));
  EXPECT_EQ((*list)[0]["sign_key"].get<std::string>().size(), 64U);
  r = run({"peer", "show", "--home", us_, "ru-genstaff"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, StartsWith("peer ru-genstaff\n"));
  EXPECT_THAT(r.out, HasSubstr("\n  federation:      127.0.0.1:7101\n"));
  EXPECT_THAT(r.out, HasSubstr("\n  key in force:    the bundle's (no rotation)\n"));
  EXPECT_EQ(count_lines(r.out), 8) << r.out;  // one value a line, not one escaped line
  r = run({"principal", "show", "--home", us_, "duty-officer"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("\n  lines:   saceur-cgs\n"));
  EXPECT_EQ(count_lines(r.out), 7) << r.out;
  r = run({"line", "show", "--home", us_, "saceur-cgs"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("\n  alternates:        duty-officer\n"));
  EXPECT_EQ(count_lines(r.out), 8) << r.out;
  expect_failure(run({"peer", "show", "--home", us_, "cn-cmc"}));

  std::string err = expect_failure(run({"peer", "remove", "--home", us_, "ru-genstaff"}));
  EXPECT_THAT(err, HasSubstr("peer ru-genstaff still has lines: saceur-cgs"));
  err = expect_failure(run({"principal", "remove", "--home", us_, "duty-officer"}));
  EXPECT_THAT(err, HasSubstr("principal duty-officer is still on the line(s) saceur-cgs"));
  r = run({"principal", "show", "--home", us_, "duty-officer", "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  Result<json::Json> shown = json::parse(r.out);
  ASSERT_TRUE(shown.is_ok()) << r.out;
  EXPECT_EQ((*shown)["lines"], json::Json::array({"saceur-cgs"}));
  EXPECT_EQ((*shown)["token"], "active");
  EXPECT_EQ(peers_of(us_).size(), 1U);

  ASSERT_EQ(run({"line", "remove", "--home", us_, "saceur-cgs"}).code, 0);
  r = run({"principal", "remove", "--home", us_, "duty-officer"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("its token is refused from now on"));
  r = run({"peer", "remove", "--home", us_, "ru-genstaff"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("takes effect at the next gateway start"));
  EXPECT_TRUE(peers_of(us_).empty());
  expect_failure(run({"principal", "show", "--home", us_, "duty-officer"}));
  expect_failure(run({"peer", "remove", "--home", us_, "ru-genstaff"}));

  auto s = open_store(us_);
  Result<std::vector<core::DirectoryChange>> changes = s->changes();
  ASSERT_TRUE(changes.is_ok());
  std::vector<std::string> actions;
  for (const core::DirectoryChange& c : *changes) actions.push_back(c.action);
  EXPECT_EQ(actions,
            (std::vector<std::string>{"peer.add", "principal.add", "principal.add", "line.add",
                                      "line.remove", "principal.remove", "peer.remove"}));
}

// Issue 17: `peer show` gives, besides the pinned bundle, the key in force after the peer's
// rotations stored here; a stored rotation that does not follow from the bundle is said.
TEST_F(AdminTest, PeerShowGivesTheKeyInForceAfterThePeersRotation) {
  set_up_us_side();
  Result<OpenedHome> ru = open_home_and_store(ru_);
  ASSERT_TRUE(ru.is_ok()) << ru.status().to_string();
  SeededRng rng(11);
  const crypto::Keys next = crypto::generate_keys(rng);
  const core::PutRotation rotation = gateway::first_rotation(
      "ru-genstaff", "us-eucom", ru->home.keys, next, 4, time_from_unix_ms(1'796'000'000'000));
  ASSERT_TRUE(open_store(us_)->apply({rotation}).is_ok());
  const std::string next_hex = hex_encode(ByteView(next.verify.bytes.data(), 32));
  const std::string pinned_hex = hex_encode(ByteView(ru->home.keys.verify.bytes.data(), 32));

  Outcome r = run({"peer", "show", "--home", us_, "ru-genstaff"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("\n  signing key:     " + pinned_hex + "\n"));  // the bundle's
  EXPECT_THAT(r.out, HasSubstr("\n  key in force:    rotation 1 (entry 4): key " + next_hex +
                               ", in force from entry 5, seal epoch 2, TLS fingerprint " +
                               std::string(64, 'e') + "\n"));
  r = run({"peer", "show", "--home", us_, "ru-genstaff", "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  Result<json::Json> shown = json::parse(r.out);
  ASSERT_TRUE(shown.is_ok()) << r.out;
  EXPECT_EQ((*shown)["sign_key"], pinned_hex);
  const json::Json& k = (*shown)["key_in_force"];
  EXPECT_EQ(k["rotation"], 1);
  EXPECT_EQ(k["sign_key"], next_hex);
  EXPECT_EQ(k["from_entry"], 5);
  EXPECT_EQ(k["epoch"], 2);
  EXPECT_EQ(k["tls_fingerprint"], std::string(64, 'e'));
  ASSERT_EQ((*shown)["rotations"].size(), 1U);
  EXPECT_EQ((*shown)["rotations"][0], k);

  // Re-pinned under the new key: the stored statement (signed by the old one) no longer
  // follows from the bundle; the bundle is shown, the key in force is not guessed.
  core::Peer repinned = peers_of(us_).front();
  repinned.bundle.sign_key = next.verify;
  ASSERT_TRUE(open_store(us_)->put_peer(repinned).is_ok());
  r = run({"peer", "show", "--home", us_, "ru-genstaff"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("\n  key in force:    UNKNOWN: stored key rotation 1 (entry 4) of "
                               "'ru-genstaff': rotation: bad signature\n"));
  r = run({"peer", "list", "--home", us_, "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  shown = json::parse(r.out);
  ASSERT_TRUE(shown.is_ok()) << r.out;
  EXPECT_TRUE((*shown)[0]["key_in_force"].is_null());
  EXPECT_THAT((*shown)[0]["key_error"].get<std::string>(), HasSubstr("bad signature"));
}

// Issue 16: a principal on the duty roster is not removed until its shifts are cleared.
TEST_F(AdminTest, PrincipalRemoveRefusesAPrincipalOnTheRoster) {
  set_up_us_side();
  ASSERT_EQ(run({"roster", "set", "--home", us_, "duty", "--principal", "duty-officer", "--from",
                 "2026-12-01T08:00Z", "--to", "2026-12-01T20:00Z"})
                .code,
            0);
  const std::string err =
      expect_failure(run({"principal", "remove", "--home", us_, "duty-officer"}));
  EXPECT_THAT(err, HasSubstr("on the duty roster of duty"));
}

// Issue 12: shifts are read on the party's clocks; overlaps and unknown principals are
// refused with the reason; a hand-over goes to the next shift.
TEST_F(AdminTest, RosterSetRefusesOverlapsAndShowShowsWhoIsOnDuty) {
  set_up_us_side();
  const fs::path toml = fs::path(us_) / "parley.toml";
  std::string config;
  {
    std::ifstream in(toml);
    config.assign(std::istreambuf_iterator<char>(in), {});
  }
  const std::string key = "timezone = \"UTC\"";
  ASSERT_NE(config.find(key), std::string::npos);
  config.replace(config.find(key), key.size(), "timezone = \"Europe/Brussels\"");
  std::ofstream(toml, std::ios::trunc) << config;

  Outcome r = run({"roster", "set", "--home", us_, "duty-officer", "--principal", "saceur",
                   "--from", "2026-12-01T08:00", "--to", "2026-12-01T20:00"});
  ASSERT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("from 2026-12-01T08:00:00+01:00 to 2026-12-01T20:00:00+01:00"));
  EXPECT_THAT(expect_failure(
                  run({"roster", "set", "--home", us_, "duty-officer", "--principal",
                       "duty-officer", "--from", "2026-12-01T19:00", "--to", "2026-12-02T08:00"})),
              HasSubstr("overlaps"));
  EXPECT_THAT(
      expect_failure(run({"roster", "set", "--home", us_, "duty-officer", "--principal", "nobody",
                          "--from", "2026-12-02T08:00", "--to", "2026-12-02T09:00"})),
      HasSubstr("no principal nobody"));
  EXPECT_THAT(
      expect_failure(run({"roster", "set", "--home", us_, "duty-officer", "--principal", "saceur",
                          "--from", "2026-12-03T08:00", "--to", "2026-12-03T08:00"})),
      HasSubstr("must end after it begins"));
  r = run({"roster", "set", "--home", us_, "duty-officer", "--principal", "duty-officer", "--from",
           "2026-12-01T20:00", "--to", "2026-12-02T08:00"});
  ASSERT_EQ(r.code, 0) << r.err;

  r = run({"roster", "show", "--home", us_, "duty-officer", "--at", "2026-12-01T20:00", "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  Result<json::Json> shown = json::parse_object(r.out);
  ASSERT_TRUE(shown.is_ok()) << r.out;
  EXPECT_EQ((*shown)["on_duty"], "duty-officer");
  EXPECT_EQ((*shown)["timezone"], "Europe/Brussels");
  ASSERT_EQ((*shown)["shifts"].size(), 2u);
  EXPECT_EQ((*shown)["shifts"][0]["principal"], "saceur");
  EXPECT_EQ((*shown)["shifts"][0]["from"], "2026-12-01T08:00:00+01:00");
  r = run({"roster", "show", "--home", us_, "duty-officer", "--at", "2026-12-01T19:59:59"});
  EXPECT_THAT(r.out, HasSubstr("on duty at 2026-12-01T19:59:59+01:00: saceur"));
  r = run({"roster", "show", "--home", us_, "duty-officer", "--at", "2026-12-02T08:00"});
  EXPECT_THAT(r.out, HasSubstr(": nobody"));
}

TEST_F(AdminTest, LineShowGivesBothSidesAndTheDeadlineOverrides) {
  set_up_us_side();
  ASSERT_EQ(run({"line", "add", "--home", us_, "saceur-cgs", "--local", "saceur", "--remote",
                 "ru-genstaff/cgs", "--alternate", "duty-officer", "--remote-alternate",
                 "deputy-cgs", "--deadline", "FLASH=30s"})
                .code,
            0);
  Outcome r = run({"line", "show", "--home", us_, "saceur-cgs", "--json"});
  ASSERT_EQ(r.code, 0) << r.err;
  Result<json::Json> line = json::parse_object(r.out);
  ASSERT_TRUE(line.is_ok()) << r.out;
  EXPECT_EQ((*line)["local"], "saceur");
  EXPECT_EQ((*line)["alternates"][0], "duty-officer");
  EXPECT_EQ((*line)["remote_party"], "ru-genstaff");
  EXPECT_EQ((*line)["remote_principal"], "cgs");
  EXPECT_EQ((*line)["remote_alternates"][0], "deputy-cgs");
  EXPECT_EQ((*line)["deadlines"]["FLASH"], "30s");
  EXPECT_EQ((*line)["deadlines"]["IMMEDIATE"], "30m");
  EXPECT_EQ((*line)["deadline_overrides"], json::Json({{"FLASH", "30s"}}));
  r = run({"line", "show", "--home", us_, "saceur-cgs"});
  EXPECT_THAT(r.out, HasSubstr("overrides:         FLASH=30s"));
  r = run({"line", "list", "--home", us_, "--json"});
  Result<json::Json> all = json::parse(r.out);
  ASSERT_TRUE(all.is_ok() && all->is_array() && all->size() == 1) << r.out;
  EXPECT_THAT(expect_failure(run({"line", "show", "--home", us_, "nope"})),
              HasSubstr("no line nope"));
}

TEST(CatalogCommandTest, ListsTypesAndShowsOne) {
  const Outcome all = run({"catalog"});
  ASSERT_EQ(all.code, 0) << all.err;
  EXPECT_THAT(all.out, HasSubstr("notify.missile-launch"));
  EXPECT_THAT(all.out, HasSubstr("response.deconfliction"));
  const Outcome one = run({"catalog", "notify.missile-launch"});
  ASSERT_EQ(one.code, 0) << one.err;
  EXPECT_THAT(one.out,
              StartsWith("notify.missile-launch (version 1): Missile launch notification\n"));
  EXPECT_THAT(one.out, HasSubstr("fields:"));
  EXPECT_THAT(one.out, HasSubstr("  launch_window.end: window closes (date-time (RFC 3339, UTC), "
                                 "required)"));
  EXPECT_THAT(one.out, HasSubstr("count: Number of missiles (integer 1..1000, required)"));
  EXPECT_THAT(one.out, HasSubstr("launch_window.end must be after launch_window.start"));
  EXPECT_THAT(one.out, HasSubstr("templates:"));
  EXPECT_THAT(one.out, HasSubstr("example:"));
}

TEST(CatalogCommandTest, ShowsATypeInTheReadersLanguage) {
  const Outcome ru = run({"catalog", "notify.missile-launch", "--lang", "ru"});
  ASSERT_EQ(ru.code, 0) << ru.err;
  EXPECT_THAT(ru.out, StartsWith("notify.missile-launch (версия 1): Уведомление о пуске ракет\n"));
  EXPECT_THAT(ru.out, HasSubstr("missile_class: Класс ракеты (одно из ICBM | SLBM"));
  EXPECT_THAT(ru.out, HasSubstr("-> УВЕДОМЛЕНИЕ О ПУСКЕ РАКЕТ"));
  const Outcome list = run({"catalog", "--lang", "ru"});
  EXPECT_THAT(list.out, HasSubstr("Уведомление об учениях"));
}

TEST_F(AdminTest, CatalogReadsInTheHomesLanguage) {
  init_both();
  const Outcome ru = run({"catalog", "notify.exercise", "--home", ru_});
  ASSERT_EQ(ru.code, 0) << ru.err;
  EXPECT_THAT(ru.out, HasSubstr("Уведомление об учениях"));
  const Outcome us = run({"catalog", "notify.exercise", "--home", us_});
  EXPECT_THAT(us.out, HasSubstr("Exercise notification"));
  const Outcome chosen = run({"catalog", "notify.exercise", "--home", ru_, "--lang", "en"});
  EXPECT_THAT(chosen.out, HasSubstr("Exercise notification"));
  const Outcome nowhere = run({"catalog", "--home", (root_ / "none").string()});
  EXPECT_EQ(nowhere.code, 1);
}

TEST(CatalogCommandTest, JsonIsAnArrayOfTypesWithSchemaAndExample) {
  const Outcome all = run({"catalog", "--json"});
  ASSERT_EQ(all.code, 0) << all.err;
  const Result<json::Json> doc = json::parse(all.out);
  ASSERT_TRUE(doc.is_ok()) << all.out;
  ASSERT_TRUE(doc->is_array());
  EXPECT_GE(doc->size(), 10u);
  for (const json::Json& t : *doc) {
    for (const char* key : {"type", "version", "title", "schema", "example"}) {
      EXPECT_TRUE(t.contains(key)) << key;
    }
    EXPECT_TRUE(t["title"].contains("ru"));
  }
  const Outcome one = run({"catalog", "text", "--json"});
  ASSERT_EQ(one.code, 0) << one.err;
  const Result<json::Json> text = json::parse_object(one.out);
  ASSERT_TRUE(text.is_ok()) << one.out;
  EXPECT_EQ((*text)["type"], "text");
}

TEST(CatalogCommandTest, UnknownTypeFailsWithOneLine) {
  const Outcome r = run({"catalog", "notify.alien-invasion"});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(count_lines(r.err), 1);
  EXPECT_THAT(r.err, StartsWith("parley: unknown message type 'notify.alien-invasion'"));
}

}  // namespace
}  // namespace parley::cli
