// The time zone of parley.toml, read from the system's tzdata (Debian's tzdata package).
#include "parley/gateway/zone_file.h"

#include <gtest/gtest.h>

namespace parley::gateway {
namespace {

Time utc(const char* text) { return *parse_time(text); }

TEST(ZoneFileTest, BrusselsChangesItsClocksOnTheLastSundaysOfMarchAndOctober) {
  Result<core::ZoneRules> zone = load_zone("Europe/Brussels");
  ASSERT_TRUE(zone.is_ok()) << zone.status().to_string();
  using std::chrono::hours;
  EXPECT_EQ(core::utc_offset(*zone, utc("2026-03-29T00:59:59Z")), hours(1));
  EXPECT_EQ(core::utc_offset(*zone, utc("2026-03-29T01:00:00Z")), hours(2));
  EXPECT_EQ(core::utc_offset(*zone, utc("2026-10-25T00:59:59Z")), hours(2));
  EXPECT_EQ(core::utc_offset(*zone, utc("2026-10-25T01:00:00Z")), hours(1));
  EXPECT_EQ(core::utc_offset(*zone, utc("2030-07-01T00:00:00Z")), hours(2));
  EXPECT_EQ(core::parse_zone_time("2026-07-01T12:00", *zone).value(), utc("2026-07-01T10:00:00Z"));
}

TEST(ZoneFileTest, FixedOffsetsNeedNoTzdataAndUnknownZonesAreRefused) {
  Result<core::ZoneRules> plus = load_zone("UTC+05:30");
  ASSERT_TRUE(plus.is_ok());
  EXPECT_EQ(core::utc_offset(*plus, utc("2026-01-01T00:00:00Z")), std::chrono::minutes(330));
  EXPECT_EQ(load_zone("UTC")->initial_offset, Duration::zero());
  Result<core::ZoneRules> unknown = load_zone("Mars/Olympus_Mons");
  EXPECT_EQ(unknown.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(unknown.status().message().find("unknown time zone"), std::string::npos);
  EXPECT_FALSE(load_zone("../../etc/passwd").is_ok());

  Config config;
  config.timezone = "Mars/Olympus_Mons";
  config.timezone_line = 4;
  const Result<core::ZoneRules> located = load_zone(config, "/x/parley.toml");
  EXPECT_EQ(located.status().message().rfind("/x/parley.toml:4: party.timezone: ", 0), 0u)
      << located.status().message();
}

}  // namespace
}  // namespace parley::gateway
