// Issue 12: the escalation chain, on two real nodes wired by hand and driven by a clock the
// test advances (no sleeps). ru-genstaff receives a FLASH from us-eucom and nobody there
// acknowledges it: after its 5-minute deadline the receiving node alerts the addressee, then
// the line's alternates in order, then the roster's duty officer for the addressee's role,
// a minute apart, then everyone every minute; the sending node tells the sender every
// minute. An acknowledgment by an alternate ends both.
#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "parley/base/rng.h"
#include "parley/catalog/catalog.h"
#include "parley/core/node.h"
#include "parley/core/node_pair.h"
#include "parley/crypto/crypto.h"
#include "parley/wire/wire.h"

namespace parley::core {
namespace {

using namespace std::chrono_literals;
using Names = std::vector<std::string>;

constexpr char kLine[] = "saceur-cgs";

class NodeEscalationTest : public ::testing::Test, protected NodePair {
 protected:
  NodeEscalationTest() {
    // us-eucom: saceur's line to cgs, whose alternates may acknowledge.
    NodeConfig us;
    us.party = us_side_.party;
    us.keys = us_side_.keys;
    Line us_line;
    us_line.id = kLine;
    us_line.local = "saceur";
    us_line.remote = wire::Address{"ru-genstaff", "cgs"};
    us_line.remote_alternates = {"deputy", "chief"};
    us.lines = {us_line};
    us.directory.principals = {principal("saceur", "commander")};
    us_config_ = us;
    us_ = make_node(std::move(us), ru_side_);

    // ru-genstaff: cgs, alternates deputy then chief; the duty officer of cgs's role.
    NodeConfig ru;
    ru.party = ru_side_.party;
    ru.keys = ru_side_.keys;
    Line ru_line;
    ru_line.id = kLine;
    ru_line.local = "cgs";
    ru_line.remote = wire::Address{"us-eucom", "saceur"};
    ru_line.alternates = {"deputy", "chief"};
    ru.lines = {ru_line};
    ru.directory.principals = {principal("cgs", "commander"), principal("deputy", "staff"),
                               principal("chief", "staff"), principal("watch-1", "commander")};
    ru.directory.roster = {Shift{"commander", "watch-1", t0_ - 1h, t0_ + 24h}};
    ru_config_ = ru;
    ru_ = make_node(std::move(ru), us_side_);
  }

  void observe(Node& node, const std::vector<NodeAction>& actions) override {
    if (&node == us_.get()) note(us_alerts_, actions);
    if (&node == ru_.get()) note(ru_alerts_, actions);
  }

  // Notes the escalation alerts among `actions`: who was alerted, by message.
  void note(std::vector<Names>& alerts, const std::vector<NodeAction>& actions) {
    for (const PeerNotice& n : all_of<PeerNotice>(actions)) {
      if (n.notice.kind != NoticeKind::kEscalation) continue;
      EXPECT_EQ(n.notice.message_id, id_);
      alerts.push_back(n.notice.alerted);
    }
  }

  // Advances both clocks to t0 + `at` and lets each node's timer fire; what a timer sends
  // (each side's evidence.unacknowledged entry) reaches the other side.
  void tick_at(Duration at) {
    now_ = t0_ + at;
    const std::vector<NodeAction> us = run(*us_, Tick{});
    note(us_alerts_, us);
    carry(*us_, us_side_, *ru_, ru_side_, us);
    const std::vector<NodeAction> ru = run(*ru_, Tick{});
    note(ru_alerts_, ru);
    carry(*ru_, ru_side_, *us_, us_side_, ru);
  }

  // us-eucom/saceur sends a FLASH at t0; ru-genstaff stores and receipts it.
  void send_flash() {
    Submit s;
    s.request = ++request_;
    s.line = kLine;
    s.principal = "saceur";
    s.precedence = Precedence::kFlash;
    s.content = wire::Content{"{}", "launch detected"};
    const std::vector<NodeAction> sent = run(*us_, std::move(s));
    ASSERT_EQ(all_of<Accepted>(sent).size(), 1u);
    id_ = all_of<Accepted>(sent)[0].message_id;
    carry(*us_, us_side_, *ru_, ru_side_, sent);
    ASSERT_EQ(ru_->session("us-eucom")->stats().inbound_unacknowledged, 1u);
  }

  NodeConfig us_config_;
  NodeConfig ru_config_;
  std::unique_ptr<Node> us_;
  std::unique_ptr<Node> ru_;
  std::string id_;
  std::vector<Names> us_alerts_;
  std::vector<Names> ru_alerts_;
};

TEST_F(NodeEscalationTest, AnUnacknowledgedFlashAlertsTheChainInOrderEveryMinute) {
  send_flash();
  for (Duration at = 1min; at < 5min; at += 1min) tick_at(at);
  tick_at(5min - 1ms);
  EXPECT_TRUE(ru_alerts_.empty());
  EXPECT_TRUE(us_alerts_.empty());
  // Before the deadline the view names whom the first alert will alert.
  EXPECT_EQ(ru_->session("us-eucom")->escalation_view().at(0).next, Names{"cgs"});
  EXPECT_EQ(us_->session("ru-genstaff")->escalation_view().at(0).next, Names{"saceur"});
  // Deadline: the addressee on the receiving side, the sender on the sending side.
  const std::vector<Names> expected_ru = {
      {"cgs"}, {"deputy"}, {"chief"}, {"watch-1"}, {"cgs", "deputy", "chief", "watch-1"}};
  for (int minute = 0; minute < 5; ++minute) {
    tick_at(5min + minute * 1min);
    ASSERT_EQ(ru_alerts_.size(), 1u) << "minute " << 5 + minute;
    EXPECT_EQ(ru_alerts_[0], expected_ru[minute]) << "minute " << 5 + minute;
    // The view names the next step's principals: the chain's next, then all of it again.
    EXPECT_EQ(ru_->session("us-eucom")->escalation_view().at(0).next,
              expected_ru[std::min(minute + 1, 4)])
        << "minute " << 5 + minute;
    ASSERT_EQ(us_alerts_.size(), 1u) << "minute " << 5 + minute;
    EXPECT_EQ(us_alerts_[0], Names{"saceur"});
    ru_alerts_.clear();
    us_alerts_.clear();
    tick_at(5min + minute * 1min + 30s);  // nothing between the steps
    EXPECT_TRUE(ru_alerts_.empty());
    EXPECT_TRUE(us_alerts_.empty());
  }

  // What `parley status` shows on each side: who was alerted, when, and the next step.
  const std::vector<EscalationView> ru_view = ru_->session("us-eucom")->escalation_view();
  ASSERT_EQ(ru_view.size(), 1u);
  EXPECT_EQ(ru_view[0].message_id, id_);
  EXPECT_EQ(ru_view[0].side, EscalationSide::kReceiver);
  EXPECT_TRUE(ru_view[0].overdue);
  EXPECT_EQ(ru_view[0].deadline, t0_ + 5min);
  ASSERT_EQ(ru_view[0].alerted.size(), 4u);
  EXPECT_EQ(ru_view[0].alerted[1].principal, "deputy");
  EXPECT_EQ(ru_view[0].alerted[1].at, t0_ + 6min);
  EXPECT_EQ(ru_view[0].next_alert, t0_ + 10min);
  const std::vector<EscalationView> us_view = us_->session("ru-genstaff")->escalation_view();
  ASSERT_EQ(us_view.size(), 1u);
  EXPECT_EQ(us_view[0].side, EscalationSide::kSender);
  ASSERT_EQ(us_view[0].alerted.size(), 1u);
  EXPECT_EQ(us_view[0].alerted[0].alerts, 5u);
  EXPECT_EQ(ru_->session("us-eucom")->stats().escalation_alerts, 5u);
}

TEST_F(NodeEscalationTest, AnAckByAnAlternateAtMinuteSixEndsItOnBothSides) {
  send_flash();
  tick_at(5min);
  tick_at(6min);
  ASSERT_EQ(ru_alerts_, (std::vector<Names>{{"cgs"}, {"deputy"}}));
  ru_alerts_.clear();
  us_alerts_.clear();

  now_ = t0_ + 6min + 20s;
  const std::vector<NodeAction> acked = run(*ru_, Acknowledge{++request_, "deputy", id_});
  ASSERT_EQ(all_of<Accepted>(acked).size(), 1u);
  EXPECT_EQ(ru_->session("us-eucom")->stats().escalations, 0u);
  EXPECT_TRUE(ru_->session("us-eucom")->escalation_view().empty());
  // The ack crosses to us-eucom, which ends its side's escalation as it stores it.
  EXPECT_EQ(us_->session("ru-genstaff")->stats().escalations, 1u);
  carry(*ru_, ru_side_, *us_, us_side_, acked);
  EXPECT_EQ(us_->session("ru-genstaff")->stats().escalations, 0u);
  EXPECT_TRUE(us_->session("ru-genstaff")->escalation_view().empty());

  for (Duration at = 7min; at <= 12min; at += 1min) tick_at(at);
  EXPECT_TRUE(ru_alerts_.empty());
  EXPECT_TRUE(us_alerts_.empty());
  EXPECT_FALSE(us_->session("ru-genstaff")->next_alert());
  EXPECT_FALSE(ru_->session("us-eucom")->next_alert());
}

// Escalations survive a restart with no table of their own: the node rebuilds them from the
// store's overdue, unacknowledged messages, and its first step catches up with every step
// that fell due while it was down (one alert), then keeps the cadence from the deadline.
TEST_F(NodeEscalationTest, ARestartRebuildsItFromTheStoredOverdueMessages) {
  MessageRecord stored;
  stored.id = "0190a0a0-0000-7000-8000-000000000001";
  stored.line = kLine;
  stored.seq = 1;
  stored.direction = Direction::kInbound;
  stored.peer = "us-eucom";
  stored.from = wire::Address{"us-eucom", "saceur"};
  stored.to = wire::Address{"ru-genstaff", "cgs"};
  stored.precedence = Precedence::kFlash;
  stored.type = "text";
  stored.created = t0_ - 7min - 30s;
  stored.ack_deadline = t0_ - 2min - 30s;
  stored.state = MessageState::kOverdue;
  Recovered at_ru;
  at_ru.inbound_unacknowledged.push_back(stored);
  id_ = stored.id;

  std::vector<NodePeer> peers;
  peers.push_back({us_side_.bundle, std::move(at_ru)});
  auto restarted =
      std::make_unique<Node>(ru_config_, catalog::Catalog::builtin(), rng_, std::move(peers));
  EXPECT_EQ(restarted->session("us-eucom")->stats().escalations, 1u);
  note(ru_alerts_, run(*restarted, Start{}));  // at t0, 2.5 minutes past the deadline
  ASSERT_EQ(ru_alerts_, (std::vector<Names>{{"cgs", "deputy", "chief"}}));
  ru_alerts_.clear();
  now_ = t0_ + 30s;  // deadline + 3 minutes: the duty officer's step
  note(ru_alerts_, run(*restarted, Tick{}));
  EXPECT_EQ(ru_alerts_, (std::vector<Names>{{"watch-1"}}));
}

}  // namespace
}  // namespace parley::core
