#include "parley/core/roster.h"

#include <gtest/gtest.h>

#include "parley/base/rng.h"
#include "parley/catalog/catalog.h"
#include "parley/core/node.h"
#include "parley/core/zone.h"

namespace parley::core {
namespace {

using std::chrono::hours;
using std::chrono::minutes;

Time utc(const char* text) {
  Result<Time> t = parse_time(text);
  EXPECT_TRUE(t.is_ok()) << text;
  return t.is_ok() ? *t : Time{};
}

// Europe/Brussels in 2026, as tzdata has it: CET (+1), CEST (+2) from 29 March 01:00 UTC to
// 25 October 01:00 UTC.
ZoneRules brussels() {
  ZoneRules zone;
  zone.name = "Europe/Brussels";
  zone.initial_offset = hours(1);
  zone.transitions = {{utc("2026-03-29T01:00:00Z"), hours(2)},
                      {utc("2026-10-25T01:00:00Z"), hours(1)}};
  return zone;
}

std::vector<Principal> people() {
  std::vector<Principal> out;
  for (const char* id : {"alice", "bob", "carol"}) {
    Principal p;
    p.id = id;
    out.push_back(p);
  }
  return out;
}

Time local(const char* text, const ZoneRules& zone = brussels()) {
  Result<Time> t = parse_zone_time(text, zone);
  EXPECT_TRUE(t.is_ok()) << text << ": " << t.status().to_string();
  return t.is_ok() ? *t : Time{};
}

TEST(RosterTest, AtTheHandOverTheNextShiftIsOnDuty) {
  const std::vector<Shift> roster = {
      {"duty-officer", "alice", local("2026-06-01T08:00"), local("2026-06-01T16:00")},
      {"duty-officer", "bob", local("2026-06-01T16:00"), local("2026-06-02T00:00")},
      {"watch", "carol", local("2026-06-01T00:00"), local("2026-06-02T00:00")}};
  ASSERT_TRUE(check_roster(roster, people()).is_ok());
  const Time handover = local("2026-06-01T16:00");
  EXPECT_EQ(handover, utc("2026-06-01T14:00:00Z"));  // CEST
  EXPECT_EQ(on_duty(roster, "duty-officer", handover - Duration(1))->principal, "alice");
  EXPECT_EQ(on_duty(roster, "duty-officer", handover)->principal, "bob");
  EXPECT_EQ(on_duty(roster, "duty-officer", local("2026-06-01T08:00"))->principal, "alice");
  EXPECT_FALSE(on_duty(roster, "duty-officer", local("2026-06-01T08:00") - Duration(1)));
  EXPECT_FALSE(on_duty(roster, "duty-officer", local("2026-06-02T00:00")));  // [from, to)
  EXPECT_EQ(on_duty(roster, "watch", handover)->principal, "carol");
  EXPECT_FALSE(on_duty(roster, "cook", handover));
}

TEST(RosterTest, InvalidRostersAreRefusedWithTheReason) {
  const Time t = local("2026-06-01T08:00");
  const std::vector<Principal> p = people();
  Status s = check_roster({{"duty-officer", "alice", t, t + hours(8)},
                           {"duty-officer", "bob", t + hours(7), t + hours(9)}},
                          p);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("overlaps"), std::string::npos) << s.message();
  s = check_roster({{"duty-officer", "alice", t, t}}, p);
  EXPECT_NE(s.message().find("must end after it begins"), std::string::npos) << s.message();
  s = check_roster({{"duty-officer", "mallory", t, t + hours(1)}}, p);
  EXPECT_NE(s.message().find("no principal mallory"), std::string::npos) << s.message();
  s = check_roster({{"Duty Officer", "alice", t, t + hours(1)}}, p);
  EXPECT_NE(s.message().find("bad role"), std::string::npos) << s.message();
  // The same hours in two roles are no overlap.
  EXPECT_TRUE(
      check_roster(
          {{"duty-officer", "alice", t, t + hours(8)}, {"watch", "alice", t, t + hours(8)}}, p)
          .is_ok());
}

TEST(RosterTest, ShiftsAcrossDaylightSavingChangesLastWhatTheClocksSay) {
  const ZoneRules zone = brussels();
  // Spring forward: the night of 29 March 2026 is an hour short, 02:00-03:00 never happens.
  EXPECT_EQ(local("2026-03-29T08:00") - local("2026-03-28T20:00"), hours(11));
  const Result<Time> gap = parse_zone_time("2026-03-29T02:30", zone);
  EXPECT_EQ(gap.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(gap.status().message().find("does not exist"), std::string::npos);
  // Fall back: 25 October 2026 02:00-03:00 happens twice; a reading means its first time.
  EXPECT_EQ(local("2026-10-25T08:00") - local("2026-10-24T20:00"), hours(13));
  EXPECT_EQ(local("2026-10-25T02:30"), utc("2026-10-25T00:30:00Z"));
  EXPECT_EQ(local("2026-10-25T03:00"), utc("2026-10-25T02:00:00Z"));

  // The night shift hands over at 08:00 on the clocks, whichever offset holds then.
  const std::vector<Shift> roster = {
      {"duty-officer", "alice", local("2026-10-24T20:00"), local("2026-10-25T08:00")},
      {"duty-officer", "bob", local("2026-10-25T08:00"), local("2026-10-25T20:00")}};
  ASSERT_TRUE(check_roster(roster, people()).is_ok());
  EXPECT_EQ(on_duty(roster, "duty-officer", utc("2026-10-25T06:59:59.999Z"))->principal, "alice");
  EXPECT_EQ(on_duty(roster, "duty-officer", utc("2026-10-25T07:00:00Z"))->principal, "bob");
  EXPECT_EQ(format_zone_time(zone, utc("2026-10-25T07:00:00Z")), "2026-10-25T08:00:00+01:00");
  EXPECT_EQ(format_zone_time(zone, utc("2026-03-29T01:00:00Z")), "2026-03-29T03:00:00+02:00");
}

TEST(RosterTest, TimesWithAnOffsetAreAbsoluteAndBadTimesAreRefused) {
  const ZoneRules zone = brussels();
  EXPECT_EQ(local("2026-06-01T08:00Z"), utc("2026-06-01T08:00:00Z"));
  EXPECT_EQ(local("2026-06-01T08:00:30+03:00"), utc("2026-06-01T05:00:30Z"));
  EXPECT_EQ(local("2026-01-15T12:00"), utc("2026-01-15T11:00:00Z"));  // CET
  for (const char* bad : {"", "2026-06-01", "2026-02-30T08:00", "2026-06-01T24:00",
                          "2026-06-01 08:00", "2026-06-01T08:00+3", "2026-06-01T08:00junk"}) {
    EXPECT_EQ(parse_zone_time(bad, zone).status().code(), StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_EQ(local("2026-06-01T08:00", fixed_zone(-hours(5))), utc("2026-06-01T13:00:00Z"));
  EXPECT_EQ(fixed_zone(minutes(330)).name, "UTC+05:30");
}

TEST(RosterTest, TzifBytesThatAreNotAZoneAreRefused) {
  EXPECT_FALSE(parse_tzif("X", as_bytes("")).is_ok());
  EXPECT_FALSE(parse_tzif("X", as_bytes("TZif2")).is_ok());
  std::string truncated = "TZif2" + std::string(15, '\0') + std::string(24, '\0');
  truncated[20 + 4 * 4 + 3] = 5;  // timecnt 5, and no data
  truncated[20 + 4 * 4 + 7] = 1;  // typecnt
  EXPECT_FALSE(parse_tzif("X", as_bytes(truncated)).is_ok());
}

// Issue 12: the reload goes through the node, which checks it and keeps the old directory
// when it is invalid.
TEST(RosterTest, TheNodeTakesAValidDirectoryAndRefusesAnInvalidOne) {
  SeededRng rng(1);
  NodeConfig config;
  config.party = "us-eucom";
  Node node(config, catalog::Catalog::builtin(), rng, {});
  const Time t = local("2026-06-01T08:00");
  EXPECT_FALSE(node.on_duty("duty-officer", t));

  Reconfigure valid;
  valid.directory.principals = people();
  valid.directory.roster = {{"duty-officer", "alice", t, t + hours(8)}};
  std::vector<NodeAction> out;
  node.handle(valid, t, out);
  ASSERT_EQ(out.size(), 1u);
  ASSERT_TRUE(std::holds_alternative<Reconfigured>(out[0]));
  EXPECT_TRUE(std::get<Reconfigured>(out[0]).status.is_ok());
  EXPECT_EQ(node.on_duty("duty-officer", t + hours(1))->principal, "alice");

  Reconfigure invalid = valid;
  invalid.directory.roster.push_back({"duty-officer", "bob", t + hours(4), t + hours(12)});
  Line line;
  line.id = "saceur-cgs";
  line.local = "saceur";  // no such principal
  invalid.lines = {line};
  out.clear();
  node.handle(invalid, t, out);
  ASSERT_EQ(out.size(), 1u);
  const Status refused = std::get<Reconfigured>(out[0]).status;
  EXPECT_EQ(refused.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(refused.message().find("no principal saceur"), std::string::npos) << refused.message();
  EXPECT_EQ(node.on_duty("duty-officer", t + hours(5))->principal, "alice");
  EXPECT_TRUE(node.config().lines.empty());
}

}  // namespace
}  // namespace parley::core
