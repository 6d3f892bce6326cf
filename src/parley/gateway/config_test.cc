#include "parley/gateway/config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace parley::gateway {
namespace {

using ::testing::StartsWith;

// parse_config's refusals are in home_test.cc (ConfigTest); these cover encode_config, the
// round trip fuzz/config_fuzz.cc checks on every config it finds.

TEST(ConfigEncodeTest, EveryFieldRoundTrips) {
  Config config;
  config.party = "ru-genstaff";
  config.lang = "ru";
  config.federation_listen = {"10.0.0.1:7001", "[::1]:7002"};
  config.federation_advertise = {"10.0.0.1:7001", "10.0.0.2:7001"};
  config.lease = std::chrono::seconds(3);
  config.heartbeat_interval = std::chrono::milliseconds(1500);
  config.api_listen = "127.0.0.1:8080";
  config.store_path = "/var/lib/parley/\"quoted\\path\"\x01.db";
  config.log_level = "warn";
  config.realert.flash = std::chrono::seconds(30);
  config.realert.routine = std::chrono::hours(2);
  const Result<Config> again = parse_config(encode_config(config), "c.toml");
  ASSERT_TRUE(again.is_ok()) << again.status().to_string() << "\n" << encode_config(config);
  EXPECT_EQ(again->party, config.party);
  EXPECT_EQ(again->lang, config.lang);
  EXPECT_EQ(again->federation_listen, config.federation_listen);
  EXPECT_EQ(again->federation_advertise, config.federation_advertise);
  EXPECT_EQ(again->lease, config.lease);
  EXPECT_EQ(again->heartbeat_interval, config.heartbeat_interval);
  EXPECT_EQ(again->api_listen, config.api_listen);
  EXPECT_EQ(again->store_path, config.store_path);
  EXPECT_EQ(again->log_level, config.log_level);
  EXPECT_EQ(again->realert, config.realert);
}

TEST(ConfigEncodeTest, EscalationCadencesDefaultPerPrecedenceAndAreBounded) {
  const std::string base = "[party]\nid = \"p\"\n[federation]\nlisten = [\"127.0.0.1:1\"]\n";
  const Result<Config> plain = parse_config(base, "c.toml");
  ASSERT_TRUE(plain.is_ok()) << plain.status().to_string();
  EXPECT_EQ(plain->realert.flash, std::chrono::minutes(1));  // DESIGN.md: FLASH every minute
  const Result<Config> set = parse_config(base + "[escalation]\nflash = \"20s\"\n", "c.toml");
  ASSERT_TRUE(set.is_ok()) << set.status().to_string();
  EXPECT_EQ(set->realert.flash, std::chrono::seconds(20));
  EXPECT_EQ(set->realert.immediate, std::chrono::minutes(5));
  EXPECT_THAT(parse_config(base + "[escalation]\nflash = \"500ms\"\n", "c.toml").status().message(),
              StartsWith("c.toml:6: escalation.flash '500ms' is out of range (1s to 24h)"));
  EXPECT_THAT(parse_config(base + "[escalation]\nurgent = \"1m\"\n", "c.toml").status().message(),
              StartsWith("c.toml:6: unknown key"));
}

TEST(ConfigEncodeTest, AdvertiseDefaultsToListenAndLeaseIsBounded) {
  const std::string base = "[party]\nid = \"p\"\n[federation]\nlisten = [\"127.0.0.1:1\"]\n";
  const Result<Config> plain = parse_config(base, "c.toml");
  ASSERT_TRUE(plain.is_ok()) << plain.status().to_string();
  EXPECT_TRUE(plain->federation_advertise.empty());
  EXPECT_EQ(plain->lease, std::chrono::seconds(10));
  EXPECT_THAT(parse_config(base + "[store]\nlease = \"500ms\"\n", "c.toml").status().message(),
              StartsWith("c.toml:6: store.lease '500ms' is out of range (1s to 10m)"));
  EXPECT_THAT(parse_config(base + "advertise = []\n", "c.toml").status().message(),
              StartsWith("c.toml:5: federation.advertise must hold at least one address"));
}

TEST(ConfigEncodeTest, TomlQuoteEscapesQuotesBackslashesAndControls) {
  EXPECT_EQ(toml_quote("a\"b\\c\n\x7f"), "\"a\\\"b\\\\c\\u000A\\u007F\"");
}

TEST(ConfigEncodeTest, BadLangIsRefusedByName) {
  EXPECT_TRUE(check_lang("en").is_ok());
  EXPECT_THAT(check_lang("EN").message(), StartsWith("bad lang 'EN'"));
}

}  // namespace
}  // namespace parley::gateway
