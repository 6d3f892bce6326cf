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
  config.api_listen = "10.0.0.1:8443";
  config.api_tls = true;
  config.api_cert = "/etc/parley/api \"cert\".pem";
  config.api_key = "tls/key\x02.pem";
  config.store_path = "/var/lib/parley/\"quoted\\path\"\x01.db";
  config.log_level = "warn";
  config.realert.flash = std::chrono::seconds(30);
  config.realert.routine = std::chrono::hours(2);
  config.test_interval = std::chrono::minutes(30);
  config.test_answer_within = std::chrono::seconds(45);
  config.backlog_limit = 250;
  const Result<Config> again = parse_config(encode_config(config), "c.toml");
  ASSERT_TRUE(again.is_ok()) << again.status().to_string() << "\n" << encode_config(config);
  EXPECT_EQ(again->party, config.party);
  EXPECT_EQ(again->lang, config.lang);
  EXPECT_EQ(again->federation_listen, config.federation_listen);
  EXPECT_EQ(again->federation_advertise, config.federation_advertise);
  EXPECT_EQ(again->lease, config.lease);
  EXPECT_EQ(again->heartbeat_interval, config.heartbeat_interval);
  EXPECT_EQ(again->api_listen, config.api_listen);
  EXPECT_EQ(again->api_tls, config.api_tls);
  EXPECT_EQ(again->api_cert, config.api_cert);
  EXPECT_EQ(again->api_key, config.api_key);
  EXPECT_EQ(again->store_path, config.store_path);
  EXPECT_EQ(again->log_level, config.log_level);
  EXPECT_EQ(again->realert, config.realert);
  EXPECT_EQ(again->test_interval, config.test_interval);
  EXPECT_EQ(again->test_answer_within, config.test_answer_within);
  EXPECT_EQ(again->backlog_limit, 250u);
  // No tests at all is written "0", and reads back as none.
  config.test_interval = Duration::zero();
  const Result<Config> off = parse_config(encode_config(config), "c.toml");
  ASSERT_TRUE(off.is_ok()) << off.status().to_string();
  EXPECT_EQ(off->test_interval, Duration::zero());
}

// Issue 15, [federation] window: 4 by default, 1 to 64, an integer; it survives encoding.
TEST(ConfigEncodeTest, WindowDefaultsToFourAndIsBounded) {
  const std::string base = "[party]\nid = \"p\"\n[federation]\nlisten = [\"127.0.0.1:1\"]\n";
  const Result<Config> plain = parse_config(base, "c.toml");
  ASSERT_TRUE(plain.is_ok()) << plain.status().to_string();
  EXPECT_EQ(plain->window, 4);
  const Result<Config> one = parse_config(base + "window = 1\n", "c.toml");
  ASSERT_TRUE(one.is_ok()) << one.status().to_string();
  EXPECT_EQ(one->window, 1);
  Config config = *plain;
  config.window = 64;
  const Result<Config> again = parse_config(encode_config(config), "c.toml");
  ASSERT_TRUE(again.is_ok()) << again.status().to_string();
  EXPECT_EQ(again->window, 64);
  for (const char* bad : {"window = 0\n", "window = 65\n", "window = \"4\"\n", "window = 2.5\n"}) {
    const Result<Config> refused = parse_config(base + bad, "c.toml");
    ASSERT_FALSE(refused.is_ok()) << bad;
    EXPECT_NE(refused.status().message().find("federation.window must be an integer, 1 to 64"),
              std::string::npos)
        << refused.status().message();
  }
}

// Issue 15, [federation] verify_threads: absent (one per core, -1), 0 (none) to 64, an
// integer; it survives encoding, and the absent key stays absent; a change needs a restart.
TEST(ConfigEncodeTest, VerifyThreadsDefaultsToOnePerCoreAndIsBounded) {
  const std::string base = "[party]\nid = \"p\"\n[federation]\nlisten = [\"127.0.0.1:1\"]\n";
  const Result<Config> plain = parse_config(base, "c.toml");
  ASSERT_TRUE(plain.is_ok()) << plain.status().to_string();
  EXPECT_EQ(plain->verify_threads, -1);
  EXPECT_EQ(encode_config(*plain).find("verify_threads"), std::string::npos);
  for (const int threads : {0, 1, 64}) {
    Config config = *plain;
    config.verify_threads = threads;
    const Result<Config> again = parse_config(encode_config(config), "c.toml");
    ASSERT_TRUE(again.is_ok()) << again.status().to_string();
    EXPECT_EQ(again->verify_threads, threads);
    EXPECT_EQ(keys_needing_restart(*plain, *again),
              std::vector<std::string>{"federation.verify_threads"});
  }
  for (const char* bad : {"verify_threads = -1\n", "verify_threads = 65\n",
                          "verify_threads = \"2\"\n", "verify_threads = 1.5\n"}) {
    const Result<Config> refused = parse_config(base + bad, "c.toml");
    ASSERT_FALSE(refused.is_ok()) << bad;
    EXPECT_EQ(refused.status().message(),
              "c.toml:5: federation.verify_threads must be an integer, 0 (none: checks on the "
              "gateway's thread) to 64");
  }
}

// Issue 12, the line test (core/line_test.h): hourly by default, answered within a minute;
// "0" (or 0) turns it off; anything else out of range or malformed is refused at start, with
// one line naming the file, the line and the key.
TEST(ConfigEncodeTest, LineTestDefaultsHourlyAndIsBounded) {
  const std::string base = "[party]\nid = \"p\"\n[federation]\nlisten = [\"127.0.0.1:1\"]\n";
  const Result<Config> plain = parse_config(base, "c.toml");
  ASSERT_TRUE(plain.is_ok()) << plain.status().to_string();
  EXPECT_EQ(plain->test_interval, std::chrono::hours(1));
  EXPECT_EQ(plain->test_answer_within, std::chrono::minutes(1));
  const Result<Config> set =
      parse_config(base + "test_interval = \"2s\"\ntest_answer_within = \"3s\"\n", "c.toml");
  ASSERT_TRUE(set.is_ok()) << set.status().to_string();
  EXPECT_EQ(set->test_interval, std::chrono::seconds(2));
  EXPECT_EQ(set->test_answer_within, std::chrono::seconds(3));
  for (const char* off : {"test_interval = \"0\"\n", "test_interval = 0\n"}) {
    const Result<Config> none = parse_config(base + off, "c.toml");
    ASSERT_TRUE(none.is_ok()) << off << none.status().to_string();
    EXPECT_EQ(none->test_interval, Duration::zero()) << off;
  }
  EXPECT_EQ(parse_config(base + "test_interval = \"500ms\"\n", "c.toml").status().message(),
            "c.toml:5: federation.test_interval '500ms' is out of range (\"0\" for none, or 1s "
            "to 7d)");
  EXPECT_EQ(parse_config(base + "test_interval = \"8d\"\n", "c.toml").status().message(),
            "c.toml:5: federation.test_interval '8d' is out of range (\"0\" for none, or 1s to "
            "7d)");
  EXPECT_THAT(parse_config(base + "test_interval = \"hourly\"\n", "c.toml").status().message(),
              StartsWith("c.toml:5: federation.test_interval: bad duration 'hourly'"));
  EXPECT_THAT(parse_config(base + "test_interval = 3600\n", "c.toml").status().message(),
              StartsWith("c.toml:5: federation.test_interval must be a string"));
  EXPECT_THAT(parse_config(base + "test_answer_within = \"0\"\n", "c.toml").status().message(),
              StartsWith("c.toml:5: federation.test_answer_within: bad duration '0'"));
  EXPECT_THAT(
      parse_config(base + "test_answer_within = \"2d\"\n", "c.toml").status().message(),
      StartsWith("c.toml:5: federation.test_answer_within '2d' is out of range (1s to 1d)"));
}

// Issue 17, live reconfiguration: the keys a reload cannot apply are named when they change;
// the live ones (time zone, rate limit, backlog limit, log level) never are.
TEST(ConfigEncodeTest, KeysNeedingARestartAreNamedWhenTheyChange) {
  const Config running;
  Config fresh = running;
  fresh.timezone = "UTC+01:00";
  fresh.principal_rate = 3;
  fresh.principal_burst = 4;
  fresh.backlog_limit = 9;
  fresh.log_level = "debug";
  EXPECT_TRUE(keys_needing_restart(running, fresh).empty());
  fresh.heartbeat_interval = std::chrono::seconds(2);
  fresh.api_cert = "other.pem";
  fresh.realert.flash = std::chrono::seconds(30);
  fresh.federation_listen = {"127.0.0.1:9"};
  EXPECT_EQ(keys_needing_restart(running, fresh),
            (std::vector<std::string>{"federation.listen", "federation.heartbeat", "api.cert",
                                      "escalation"}));
}

// Issue 15, backpressure: 10,000 queued per peer by default; 0 is no bound; anything but an
// integer from 0 to 10,000,000 is refused with the file, the line and the key.
TEST(ConfigEncodeTest, BacklogLimitDefaultsTo10000AndIsBounded) {
  const std::string base = "[party]\nid = \"p\"\n[federation]\nlisten = [\"127.0.0.1:1\"]\n";
  const Result<Config> plain = parse_config(base, "c.toml");
  ASSERT_TRUE(plain.is_ok()) << plain.status().to_string();
  EXPECT_EQ(plain->backlog_limit, 10000u);
  const Result<Config> none = parse_config(base + "backlog_limit = 0\n", "c.toml");
  ASSERT_TRUE(none.is_ok()) << none.status().to_string();
  EXPECT_EQ(none->backlog_limit, 0u);
  for (const char* bad : {"backlog_limit = -1\n", "backlog_limit = 10000001\n",
                          "backlog_limit = \"100\"\n", "backlog_limit = 1.5\n"}) {
    EXPECT_EQ(parse_config(base + bad, "c.toml").status().message(),
              "c.toml:5: federation.backlog_limit must be an integer, 0 (no bound) to 10000000")
        << bad;
  }
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

TEST(ConfigEncodeTest, WildcardListenWithoutAdvertiseIsRefusedSayingToSetIt) {
  const std::string head = "[party]\nid = \"p\"\n[federation]\n";
  for (const char* wildcard : {"0.0.0.0:7001", "[::]:7001", "[::0]:7001"}) {
    const std::string listen = std::string("listen = [\"127.0.0.1:7002\", \"") + wildcard + "\"]\n";
    const Result<Config> refused = parse_config(head + listen, "c.toml");
    ASSERT_FALSE(refused.is_ok()) << wildcard;
    EXPECT_EQ(refused.status().code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(refused.status().message(),
                StartsWith(std::string("c.toml:4: federation.listen '") + wildcard +
                           "' is a wildcard address"));
    EXPECT_NE(refused.status().message().find("set federation.advertise"), std::string::npos);
    // Advertised, the wildcard is only where it listens.
    const Result<Config> advertised =
        parse_config(head + listen + "advertise = [\"gw.example:7001\"]\n", "c.toml");
    ASSERT_TRUE(advertised.is_ok()) << advertised.status().to_string();
    EXPECT_EQ(advertised->federation_advertise, std::vector<std::string>{"gw.example:7001"});
  }
  const Result<Config> advertised_wildcard = parse_config(
      head + "listen = [\"10.0.0.5:7001\"]\nadvertise = [\"10.0.0.5:7001\", \"0.0.0.0:7001\"]\n",
      "c.toml");
  ASSERT_FALSE(advertised_wildcard.is_ok());
  EXPECT_THAT(advertised_wildcard.status().message(),
              StartsWith("c.toml:5: federation.advertise '0.0.0.0:7001' is a wildcard address"));
}

TEST(ConfigEncodeTest, WildcardHostsAreZerosOnly) {
  for (const char* host : {"0.0.0.0", "::", "::0", "0:0:0:0:0:0:0:0"}) {
    EXPECT_TRUE(is_wildcard_host(host)) << host;
  }
  for (const char* host : {"127.0.0.1", "::1", "10.0.0.0", "0.0.0.1", "gw.example", "00", ""}) {
    EXPECT_FALSE(is_wildcard_host(host)) << host;
  }
}

TEST(ConfigEncodeTest, TomlQuoteEscapesQuotesBackslashesAndControls) {
  EXPECT_EQ(toml_quote("a\"b\\c\n\x7f"), "\"a\\\"b\\\\c\\u000A\\u007F\"");
}

TEST(ConfigEncodeTest, BadLangIsRefusedByName) {
  EXPECT_TRUE(check_lang("en").is_ok());
  EXPECT_THAT(check_lang("EN").message(), StartsWith("bad lang 'EN'"));
}

// Plain HTTP only on loopback (DESIGN.md "HTTP API"): anywhere else the API needs TLS, and a
// config that says otherwise is refused at the listen line, so no gateway starts with it.
TEST(ConfigApiTlsTest, PlainHttpIsRefusedOffLoopback) {
  for (const char* listen : {"0.0.0.0:7080", "[::]:7080", "10.1.2.3:7080", "gw.example:7080",
                             "128.0.0.1:7080", "127.0.0.1.example:7080"}) {
    const std::string text =
        std::string("[party]\nid = \"a\"\n[federation]\nlisten = [\"h:1\"]\n") +
        "[api]\nlisten = \"" + listen + "\"\n";
    const Result<Config> config = parse_config(text, "c.toml");
    ASSERT_FALSE(config.is_ok()) << listen;
    EXPECT_THAT(config.status().message(), StartsWith("c.toml:6: api.listen")) << listen;
    EXPECT_THAT(config.status().message(), ::testing::HasSubstr("api.tls = true")) << listen;
    const Result<Config> with_tls = parse_config(text + "tls = true\n", "c.toml");
    ASSERT_TRUE(with_tls.is_ok()) << listen << ": " << with_tls.status().to_string();
    EXPECT_TRUE(with_tls->api_tls);
  }
}

TEST(ConfigApiTlsTest, LoopbackMayBePlainOrTls) {
  for (const char* listen : {"127.0.0.1:7080", "127.1.2.3:7080", "[::1]:7080", "localhost:7080"}) {
    const std::string text =
        std::string("[party]\nid = \"a\"\n[federation]\nlisten = [\"h:1\"]\n") +
        "[api]\nlisten = \"" + listen + "\"\n";
    const Result<Config> plain = parse_config(text, "c.toml");
    ASSERT_TRUE(plain.is_ok()) << listen << ": " << plain.status().to_string();
    EXPECT_FALSE(plain->api_tls);
    EXPECT_EQ(plain->api_cert, "tls/api-cert.pem");
    EXPECT_EQ(plain->api_key, "tls/api-key.pem");
    const Result<Config> tls =
        parse_config(text + "tls = true\ncert = \"/etc/c.pem\"\nkey = \"k.pem\"\n", "c.toml");
    ASSERT_TRUE(tls.is_ok()) << listen << ": " << tls.status().to_string();
    EXPECT_TRUE(tls->api_tls);
    EXPECT_EQ(tls->api_cert, "/etc/c.pem");
    EXPECT_EQ(tls->api_key, "k.pem");
  }
}

TEST(ConfigApiTlsTest, BadTlsKeysAreRefusedWithTheirLine) {
  const std::string head = "[party]\nid = \"a\"\n[federation]\nlisten = [\"h:1\"]\n[api]\n";
  const Result<Config> not_bool = parse_config(head + "tls = \"yes\"\n", "c.toml");
  ASSERT_FALSE(not_bool.is_ok());
  EXPECT_THAT(not_bool.status().message(), StartsWith("c.toml:6: api.tls must be true or false"));
  const Result<Config> empty_cert = parse_config(head + "cert = \"\"\n", "c.toml");
  ASSERT_FALSE(empty_cert.is_ok());
  EXPECT_THAT(empty_cert.status().message(), StartsWith("c.toml:6: api.cert must be"));
}

TEST(ConfigApiTlsTest, LoopbackHostsAreExactly127Slash8AndOne) {
  EXPECT_TRUE(is_loopback_host("127.0.0.1"));
  EXPECT_TRUE(is_loopback_host("127.255.255.254"));
  EXPECT_TRUE(is_loopback_host("::1"));
  EXPECT_TRUE(is_loopback_host("localhost"));
  EXPECT_FALSE(is_loopback_host("127.0.0.256"));
  EXPECT_FALSE(is_loopback_host("127.0.0"));
  EXPECT_FALSE(is_loopback_host("127.0.0.1.nip.io"));
  EXPECT_FALSE(is_loopback_host("0.0.0.0"));
  EXPECT_FALSE(is_loopback_host("::"));
  EXPECT_FALSE(is_loopback_host("10.0.0.1"));
  EXPECT_FALSE(is_loopback_host(""));
}

}  // namespace
}  // namespace parley::gateway
