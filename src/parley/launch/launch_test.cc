#include "parley/launch/launch.h"

#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <set>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "parley/gateway/home.h"

namespace parley::launch {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using namespace std::chrono_literals;

// A fresh directory under /tmp, removed with its contents at the end of the test.
class LaunchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/parley-launch-test-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  static std::unique_ptr<store::Store> open_store(const Party& party) {
    Result<std::unique_ptr<store::Store>> store = launch::open_store(party);
    EXPECT_TRUE(store.is_ok()) << store.status().to_string();
    return store.is_ok() ? std::move(*store) : nullptr;
  }

  fs::path dir_;
};

TEST_F(LaunchTest, CreatePairPinsEachPartyAtTheOtherWithAPrincipalAndTheHotline) {
  Result<std::pair<Party, Party>> pair = create_pair(dir_ / "pair", PairOptions{});
  ASSERT_TRUE(pair.is_ok()) << pair.status().to_string();
  const Party& us = pair->first;
  const Party& ru = pair->second;
  EXPECT_EQ(us.id, "us-eucom");
  EXPECT_EQ(ru.id, "ru-genstaff");
  EXPECT_EQ(us.home, dir_ / "pair" / "us-eucom");
  EXPECT_EQ(us.log, dir_ / "pair" / "us-eucom.log");
  const std::set<std::uint16_t> ports = {us.federation_port, us.api_port, ru.federation_port,
                                         ru.api_port};
  EXPECT_EQ(ports.size(), 4u) << "every port distinct";
  EXPECT_FALSE(us.token.empty());
  EXPECT_NE(us.token, ru.token);
  EXPECT_FALSE(us.operator_token.empty());

  for (const auto& [self, other] : {std::pair{&us, &ru}, std::pair{&ru, &us}}) {
    std::unique_ptr<store::Store> store = open_store(*self);
    ASSERT_NE(store, nullptr);
    Result<std::vector<core::Peer>> peers = store->peers();
    ASSERT_TRUE(peers.is_ok());
    ASSERT_EQ(peers->size(), 1u);
    EXPECT_EQ((*peers)[0].bundle.party, other->id);
    EXPECT_EQ((*peers)[0].bundle.federation,
              std::vector<std::string>{"127.0.0.1:" + std::to_string(other->federation_port)});
    Result<std::vector<core::Line>> lines = store->lines();
    ASSERT_TRUE(lines.is_ok());
    ASSERT_EQ(lines->size(), 1u);
    EXPECT_EQ((*lines)[0].id, "hotline");
    EXPECT_EQ((*lines)[0].local, self->principal);
    EXPECT_EQ((*lines)[0].remote.party, other->id);
    EXPECT_EQ((*lines)[0].remote.principal, other->principal);
    const crypto::Digest hash = crypto::sha256(as_bytes(self->token));
    Result<std::optional<core::Principal>> principal = store->principal_by_token_hash(hash);
    ASSERT_TRUE(principal.is_ok());
    ASSERT_TRUE(principal->has_value()) << "the token authenticates the principal";
    EXPECT_EQ((*principal)->id, self->principal);
  }
}

TEST_F(LaunchTest, OptionsReachTheConfigsAndThePinnedBundles) {
  PairOptions options;
  options.second.lang = "ru";
  options.second.federation_addresses = 2;
  options.heartbeat = "200ms";
  options.backlog_limit = 77;
  options.log_dir = dir_ / "logs";
  options.edit_pinned_bundle = [](const Party& self, wire::Bundle& peer) {
    if (self.id == "us-eucom") peer.federation[0] = "127.0.0.1:9";
  };
  Result<std::pair<Party, Party>> pair = create_pair(dir_, options);
  ASSERT_TRUE(pair.is_ok()) << pair.status().to_string();
  const Party& us = pair->first;
  const Party& ru = pair->second;
  EXPECT_EQ(ru.log, dir_ / "logs" / "ru-genstaff.log");
  ASSERT_EQ(ru.federation_ports.size(), 2u);
  EXPECT_EQ(ru.federation_port, ru.federation_ports[0]);
  EXPECT_EQ(us.federation_ports.size(), 1u) << "the count is per party";

  Result<gateway::Home> ru_home = gateway::open_home(ru.home);
  ASSERT_TRUE(ru_home.is_ok()) << ru_home.status().to_string();
  EXPECT_EQ(ru_home->config.lang, "ru");
  EXPECT_EQ(ru_home->config.heartbeat_interval, 200ms);
  EXPECT_EQ(ru_home->config.backlog_limit, 77u);
  EXPECT_EQ(ru_home->config.federation_listen,
            (std::vector<std::string>{"127.0.0.1:" + std::to_string(ru.federation_ports[0]),
                                      "127.0.0.1:" + std::to_string(ru.federation_ports[1])}));

  std::unique_ptr<store::Store> us_store = open_store(us);
  ASSERT_NE(us_store, nullptr);
  Result<std::vector<core::Peer>> pinned_at_us = us_store->peers();
  ASSERT_TRUE(pinned_at_us.is_ok());
  ASSERT_EQ(pinned_at_us->size(), 1u);
  EXPECT_EQ((*pinned_at_us)[0].bundle.federation,
            (std::vector<std::string>{"127.0.0.1:9",
                                      "127.0.0.1:" + std::to_string(ru.federation_ports[1])}));
  std::unique_ptr<store::Store> ru_store = open_store(ru);
  ASSERT_NE(ru_store, nullptr);
  Result<std::vector<core::Peer>> pinned_at_ru = ru_store->peers();
  ASSERT_TRUE(pinned_at_ru.is_ok());
  ASSERT_EQ(pinned_at_ru->size(), 1u);
  EXPECT_EQ((*pinned_at_ru)[0].bundle.federation,
            std::vector<std::string>{"127.0.0.1:" + std::to_string(us.federation_port)})
      << "the hook edited only us's copy";
}

TEST_F(LaunchTest, StartedGatewaysAreReadyAndStopWhenAsked) {
  Result<std::pair<Party, Party>> pair = create_pair(dir_, PairOptions{});
  ASSERT_TRUE(pair.is_ok()) << pair.status().to_string();
  Party& us = pair->first;
  Party& ru = pair->second;
  SpawnOptions spawn_options;
  spawn_options.parley_binary = PARLEY_BINARY;
  const Status us_started = start(us, spawn_options);
  const Status ru_started = start(ru, spawn_options);
  EXPECT_TRUE(us_started.is_ok()) << us_started.to_string();
  EXPECT_TRUE(ru_started.is_ok()) << ru_started.to_string();
  EXPECT_GT(us.pid, 0);
  EXPECT_TRUE(fs::exists(us.log));
  stop(us);
  kill_hard(ru);
  EXPECT_EQ(us.pid, -1);
  EXPECT_EQ(ru.pid, -1);
  stop(us);  // nothing running: nothing to do
}

TEST_F(LaunchTest, AGatewayThatExitsAtStartIsReportedWithItsLog) {
  Result<std::pair<Party, Party>> pair = create_pair(dir_, PairOptions{});
  ASSERT_TRUE(pair.is_ok()) << pair.status().to_string();
  Party& us = pair->first;
  SpawnOptions spawn_options;
  spawn_options.parley_binary = "/bin/false";
  const Status started = start(us, spawn_options, 30s);
  ASSERT_FALSE(started.is_ok());
  EXPECT_THAT(started.message(), HasSubstr("exited before it was ready"));
  EXPECT_THAT(started.message(), HasSubstr(us.log.string()));
  EXPECT_EQ(us.pid, -1) << "reaped";
}

}  // namespace

TEST_F(LaunchTest, AGatewayWhosePortIsTakenIsReportedWithItsLastLogLine) {
  Result<std::pair<Party, Party>> pair = create_pair(dir_, PairOptions{});
  ASSERT_TRUE(pair.is_ok()) << pair.status().to_string();
  Party& us = pair->first;
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor squatter(
      io, {boost::asio::ip::address_v4::loopback(), us.federation_port});
  SpawnOptions spawn_options;
  spawn_options.parley_binary = PARLEY_BINARY;
  const Status started = start(us, spawn_options, 30s);
  ASSERT_FALSE(started.is_ok());
  EXPECT_THAT(started.message(), HasSubstr("exited before it was ready"));
  EXPECT_THAT(started.message(), HasSubstr("; its last line: "));
  EXPECT_THAT(started.message(), HasSubstr(std::to_string(us.federation_port)))
      << "the gateway's own reason, with the port it could not bind";
}

}  // namespace parley::launch
