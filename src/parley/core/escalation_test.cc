#include "parley/core/escalation.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace parley::core {
namespace {

using namespace std::chrono_literals;

const Time kDeadline = time_from_unix_ms(1'795'554'300'000);

EscalationStart flash_chain() {
  return EscalationStart{"saceur-cgs", Precedence::kFlash,         EscalationSide::kReceiver,
                         kDeadline,    {"cgs", "deputy", "chief"}, "commander"};
}

std::vector<Shift> roster() {
  return {Shift{"commander", "duty-officer", kDeadline - 1h, kDeadline + 24h}};
}

std::vector<std::string> alerted_at(Escalations& e, Time at) {
  std::vector<Alert> alerts = e.take_due(at, roster());
  if (alerts.empty()) return {};
  EXPECT_EQ(alerts.size(), 1u);
  return alerts[0].principals;
}

using Names = std::vector<std::string>;

TEST(EscalationsTest, TheChainRunsOneStepPerCadenceThenAlertsEveryoneAgain) {
  Escalations e;  // FLASH: every minute
  e.start("m1", flash_chain());
  EXPECT_EQ(e.next_alert(), kDeadline);
  EXPECT_TRUE(alerted_at(e, kDeadline - 1ms).empty());
  EXPECT_EQ(alerted_at(e, kDeadline), Names{"cgs"});
  EXPECT_EQ(e.next_alert(), kDeadline + 1min);
  EXPECT_TRUE(alerted_at(e, kDeadline + 59s).empty());
  EXPECT_EQ(alerted_at(e, kDeadline + 1min), Names{"deputy"});
  EXPECT_EQ(alerted_at(e, kDeadline + 2min), Names{"chief"});
  EXPECT_EQ(alerted_at(e, kDeadline + 3min), Names{"duty-officer"});
  EXPECT_EQ(alerted_at(e, kDeadline + 4min), (Names{"cgs", "deputy", "chief", "duty-officer"}));
  EXPECT_EQ(alerted_at(e, kDeadline + 5min), (Names{"cgs", "deputy", "chief", "duty-officer"}));

  const Escalation* running = e.find("m1");
  ASSERT_NE(running, nullptr);
  ASSERT_EQ(running->alerted.size(), 4u);
  EXPECT_EQ(running->alerted[0].principal, "cgs");
  EXPECT_EQ(running->alerted[0].at, kDeadline);
  EXPECT_EQ(running->alerted[0].last, kDeadline + 5min);
  EXPECT_EQ(running->alerted[0].alerts, 3u);
  EXPECT_EQ(running->alerted[3].principal, "duty-officer");
  EXPECT_EQ(running->alerted[3].at, kDeadline + 3min);
  EXPECT_EQ(running->next_alert, kDeadline + 6min);
}

TEST(EscalationsTest, AStopEndsItAndNothingIsDueAfter) {
  Escalations e;
  e.start("m1", flash_chain());
  EXPECT_EQ(alerted_at(e, kDeadline), Names{"cgs"});
  e.stop("m1");
  EXPECT_EQ(e.find("m1"), nullptr);
  EXPECT_FALSE(e.next_alert());
  EXPECT_TRUE(e.take_due(kDeadline + 1h, roster()).empty());
}

// After a restart (or a clock jump) every step that fell due is taken at once, in one alert,
// and the cadence goes on from the deadline.
TEST(EscalationsTest, StepsMissedWhileDownAreCaughtUpInOneAlert) {
  Escalations e;
  e.start("m1", flash_chain());
  EXPECT_EQ(alerted_at(e, kDeadline + 2min + 30s), (Names{"cgs", "deputy", "chief"}));
  EXPECT_EQ(e.next_alert(), kDeadline + 3min);
  std::vector<Alert> later = e.take_due(kDeadline + 3h, roster());
  ASSERT_EQ(later.size(), 1u);
  EXPECT_TRUE(later[0].repeat);
  EXPECT_EQ(later[0].principals, (Names{"duty-officer", "cgs", "deputy", "chief"}));
}

TEST(EscalationsTest, NobodyOnDutyOrAnOfficerInTheChainAddsNoStep) {
  Escalations e;
  EscalationStart s = flash_chain();
  s.duty_role = "nobody-has-this-role";
  e.start("m1", s);
  EXPECT_EQ(alerted_at(e, kDeadline + 2min), (Names{"cgs", "deputy", "chief"}));
  EXPECT_EQ(alerted_at(e, kDeadline + 3min), (Names{"cgs", "deputy", "chief"}));

  Escalations sender;  // the sending side: the sender alone, again every cadence
  sender.start("m2", EscalationStart{"saceur-cgs",
                                     Precedence::kImmediate,
                                     EscalationSide::kSender,
                                     kDeadline,
                                     {"saceur"},
                                     ""});
  EXPECT_EQ(alerted_at(sender, kDeadline), Names{"saceur"});
  EXPECT_TRUE(alerted_at(sender, kDeadline + 4min).empty());  // IMMEDIATE: every 5 minutes
  EXPECT_EQ(alerted_at(sender, kDeadline + 5min), Names{"saceur"});
}

TEST(EscalationsTest, CadencesArePerPrecedence) {
  Cadences c;
  c.set(Precedence::kPriority, 2min);
  EXPECT_EQ(c.for_precedence(Precedence::kFlash), 1min);
  EXPECT_EQ(c.for_precedence(Precedence::kPriority), 2min);
  Escalations e(c);
  EscalationStart s = flash_chain();
  s.precedence = Precedence::kPriority;
  e.start("m1", s);
  EXPECT_EQ(alerted_at(e, kDeadline), Names{"cgs"});
  EXPECT_EQ(e.next_alert(), kDeadline + 2min);
}

}  // namespace
}  // namespace parley::core
