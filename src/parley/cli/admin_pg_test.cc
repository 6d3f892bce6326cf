// `parley init --store URL` and the admin commands on a PostgreSQL store, against a real
// server (store/postgres/pg_test_server.h), run in-process through CLI11 as `parley` would.
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "parley/cli/commands.h"
#include "parley/gateway/home.h"
#include "parley/store/postgres/pg_test_server.h"
#include "parley/store/postgres/postgres_store.h"

namespace parley::cli {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

struct Outcome {
  int code = -1;
  std::string err;
};

Outcome run(std::vector<std::string> args) {
  CLI::App app("parley", "parley");
  app.require_subcommand(1);
  int exit_code = 0;
  add_admin_commands(app, exit_code);
  args.insert(args.begin(), "parley");
  std::vector<const char*> argv;
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
  (void)::testing::internal::GetCapturedStdout();
  r.err = ::testing::internal::GetCapturedStderr();
  return r;
}

TEST(AdminPostgresTest, InitWithStoreKeepsEverythingInTheDatabaseAndNothingInTheHome) {
  std::string pattern = (fs::temp_directory_path() / "parley-admin-pg-test-XXXXXX").string();
  ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
  const fs::path root = pattern;
  const std::string home = (root / "us").string();
  Result<std::string> url = store::test::fresh_postgres_schema();
  ASSERT_TRUE(url.is_ok()) << url.status().to_string();

  const Outcome init = run({"init", "--home", home, "--party", "us-eucom", "--store", *url});
  ASSERT_EQ(init.code, 0) << init.err;
  EXPECT_FALSE(fs::exists(fs::path(home) / "parley.db"));
  std::ifstream config_file(fs::path(home) / "parley.toml");
  const std::string config((std::istreambuf_iterator<char>(config_file)), {});
  EXPECT_THAT(config, HasSubstr("url = \"" + *url + "\""));
  Result<gateway::Home> opened = gateway::open_home(home);
  ASSERT_TRUE(opened.is_ok()) << opened.status().to_string();
  EXPECT_EQ(opened->config.store_url, *url);

  const Outcome added = run({"principal", "add", "--home", home, "saceur"});
  ASSERT_EQ(added.code, 0) << added.err;
  Result<std::unique_ptr<store::Store>> store = store::open_postgres_store(*url);
  ASSERT_TRUE(store.is_ok()) << store.status().to_string();
  Result<std::vector<core::Principal>> principals = (*store)->principals();
  ASSERT_TRUE(principals.is_ok());
  ASSERT_EQ(principals->size(), 1U);
  EXPECT_EQ(principals->front().id, "saceur");

  std::error_code ec;
  fs::remove_all(root, ec);
}

}  // namespace
}  // namespace parley::cli
