// Issue 12: the hotline's automatic test message (core/line_test.h), on two real nodes wired
// by hand and driven by a clock the test advances (no sleeps). us-eucom tests its line to
// ru-genstaff every hour; ru-genstaff's gateway answers each test at once with an ack; a test
// left unanswered goes overdue and alerts the line's principal, like any message.
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "parley/base/json.h"
#include "parley/core/line_test.h"
#include "parley/core/node.h"
#include "parley/core/node_pair.h"

namespace parley::core {
namespace {

using namespace std::chrono_literals;

constexpr char kLine[] = "saceur-cgs";

// The messages a run of actions asked the store to insert.
std::vector<MessageRecord> put_messages(const std::vector<NodeAction>& actions) {
  std::vector<MessageRecord> out;
  for (const Commit& c : all_of<Commit>(actions)) {
    for (const CommitBatch& b : c.batches) {
      for (const Record& r : b.records) {
        if (const auto* put = std::get_if<PutMessage>(&r)) out.push_back(put->message);
      }
    }
  }
  return out;
}

std::vector<MessageRecord> of_type(const std::vector<MessageRecord>& messages,
                                   std::string_view type) {
  std::vector<MessageRecord> out;
  for (const MessageRecord& m : messages) {
    if (m.type == type) out.push_back(m);
  }
  return out;
}

std::vector<PeerNotice> escalations(const std::vector<NodeAction>& actions) {
  std::vector<PeerNotice> out;
  for (const PeerNotice& n : all_of<PeerNotice>(actions)) {
    if (n.notice.kind == NoticeKind::kEscalation) out.push_back(n);
  }
  return out;
}

class NodeLineTestTest : public ::testing::Test, protected NodePair {
 protected:
  NodeLineTestTest() {
    us_config_.party = us_side_.party;
    us_config_.keys = us_side_.keys;
    Line us_line;
    us_line.id = kLine;
    us_line.local = "saceur";
    us_line.remote = wire::Address{"ru-genstaff", "cgs"};
    // A line to a party nobody pinned: no session, so no test (core/line_test.h).
    Line unpinned;
    unpinned.id = "saceur-shape";
    unpinned.local = "saceur";
    unpinned.remote = wire::Address{"nato-shape", "dsaceur"};
    us_config_.lines = {us_line, unpinned};
    us_config_.directory.principals = {principal("saceur", "commander")};
    us_config_.tests.interval = 1h;
    us_config_.tests.answer_within = 1min;

    ru_config_.party = ru_side_.party;
    ru_config_.keys = ru_side_.keys;
    Line ru_line;
    ru_line.id = kLine;
    ru_line.local = "cgs";
    ru_line.remote = wire::Address{"us-eucom", "saceur"};
    ru_config_.lines = {ru_line};
    ru_config_.directory.principals = {principal("cgs", "commander")};
    // ru-genstaff sends no tests of its own here: what it sends is its answers.
  }

  void start() {
    us_ = make_node(us_config_, ru_side_);
    ru_ = make_node(ru_config_, us_side_);
  }

  // us-eucom's timer at t0 + `at`; its transactions reach ru-genstaff (and the answers come
  // back) if `link_up`, else each fails at once (connection refused) and is retried later.
  std::vector<NodeAction> tick_us(Duration at, bool link_up = true) {
    now_ = t0_ + at;
    std::vector<NodeAction> actions = run(*us_, Tick{});
    if (link_up) {
      carry(*us_, us_side_, *ru_, ru_side_, actions);
    } else {
      for (const Post& post : all_of<Post>(actions)) {
        const std::vector<NodeAction> failed =
            run(*us_, PostFailed{post.party, post.path, post.tx, "connection refused"});
        actions.insert(actions.end(), failed.begin(), failed.end());
      }
    }
    return actions;
  }

  void observe(Node& node, const std::vector<NodeAction>& actions) override {
    if (&node == ru_.get()) ru_seen_.insert(ru_seen_.end(), actions.begin(), actions.end());
    if (&node == us_.get()) us_seen_.insert(us_seen_.end(), actions.begin(), actions.end());
  }

  // us-eucom's view of its line's tests (`parley status`).
  LineTestView us_test() const {
    for (const LineTestView& t : us_->session("ru-genstaff")->stats().tests) {
      if (t.line == kLine) return t;
    }
    ADD_FAILURE() << "no test view for " << kLine;
    return {};
  }

  NodeConfig us_config_;
  NodeConfig ru_config_;
  std::unique_ptr<Node> us_;
  std::unique_ptr<Node> ru_;
  std::vector<NodeAction> us_seen_;
  std::vector<NodeAction> ru_seen_;
};

TEST_F(NodeLineTestTest, ATestGoesOutEachIntervalAndThePeerGatewayAnswersIt) {
  start();
  // The first test, an interval after start; one view per line with the pinned peer.
  EXPECT_EQ(us_->session("ru-genstaff")->next_test(), t0_ + 1h);
  EXPECT_EQ(us_->session("ru-genstaff")->stats().tests.size(), 1u);
  EXPECT_TRUE(all_of<Post>(tick_us(59min)).empty());
  EXPECT_EQ(us_test().sequence, 0u);

  const std::vector<NodeAction> sent = tick_us(1h);
  const std::vector<MessageRecord> tests = of_type(put_messages(sent), "test");
  ASSERT_EQ(tests.size(), 1u);  // one: the line to the unpinned party has none
  const MessageRecord& test = tests[0];
  EXPECT_EQ(test.line, kLine);
  EXPECT_EQ(test.from.to_string(), "us-eucom/saceur");
  EXPECT_EQ(test.to.to_string(), "ru-genstaff/cgs");
  EXPECT_EQ(test.precedence, Precedence::kRoutine);
  EXPECT_EQ(test.ack_deadline, t0_ + 1h + 1min);  // answer_within, not ROUTINE's 6 hours
  EXPECT_EQ(automatic_test_sequence(test.type, test.content.body_json), 1u);

  // ru-genstaff stored it and its gateway answered at once, for cgs, without a stage shown.
  const std::vector<MessageRecord> ru_wrote = put_messages(ru_seen_);
  const std::vector<MessageRecord> acks = of_type(ru_wrote, "ack");
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_EQ(acks[0].reply_to, test.id);
  EXPECT_EQ(acks[0].from.to_string(), "ru-genstaff/cgs");
  EXPECT_TRUE(of_type(ru_wrote, kStageShownType).empty());
  const SessionStats ru = ru_->session("us-eucom")->stats();
  EXPECT_EQ(ru.tests_answered, 1u);
  EXPECT_EQ(ru.inbound_unacknowledged, 0u);

  // us-eucom stored the answer: the test is answered, nothing awaits an ack, nothing alerts.
  const LineTestView view = us_test();
  EXPECT_EQ(view.sequence, 1u);
  EXPECT_EQ(view.message_id, test.id);
  EXPECT_EQ(view.sent, t0_ + 1h);
  EXPECT_EQ(view.answered, t0_ + 1h);
  EXPECT_FALSE(view.overdue);
  EXPECT_EQ(view.next_due, t0_ + 2h);
  EXPECT_EQ(us_->session("ru-genstaff")->stats().unacknowledged, 0u);
  EXPECT_EQ(us_->session("ru-genstaff")->stats().tests_sent, 1u);

  tick_us(1h + 1min);
  EXPECT_TRUE(escalations(us_seen_).empty());
  const std::vector<NodeAction> second = tick_us(2h);
  const std::vector<MessageRecord> next = of_type(put_messages(second), "test");
  ASSERT_EQ(next.size(), 1u);
  EXPECT_EQ(automatic_test_sequence(next[0].type, next[0].content.body_json), 2u);
  EXPECT_EQ(us_test().answered, t0_ + 2h);
}

TEST_F(NodeLineTestTest, AnUnansweredTestGoesOverdueAlertsAndNoOtherPilesUpBehindIt) {
  start();
  tick_us(1h, /*link_up=*/false);  // the peer is unreachable: the test stays queued
  ASSERT_TRUE(us_test().message_id.has_value());
  const std::string id = *us_test().message_id;
  EXPECT_FALSE(us_test().answered);
  EXPECT_EQ(us_test().answer_due, t0_ + 1h + 1min);

  const std::vector<NodeAction> late = tick_us(1h + 1min, /*link_up=*/false);
  const std::vector<PeerNotice> alerts = escalations(late);
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].notice.message_id, id);
  EXPECT_EQ(alerts[0].notice.alerted, std::vector<std::string>{"saceur"});
  EXPECT_TRUE(alerts[0].notice.first);
  EXPECT_TRUE(us_test().overdue);
  // The silence is evidence: a signed evidence.unacknowledged entry naming the test.
  const std::vector<MessageRecord> evidence =
      of_type(put_messages(late), kEvidenceUnacknowledgedType);
  ASSERT_EQ(evidence.size(), 1u);
  EXPECT_EQ(evidence[0].reply_to, id);

  // An hour later the line is still down: no second test joins the first in the queue.
  const std::vector<NodeAction> skipped = tick_us(2h, /*link_up=*/false);
  EXPECT_TRUE(of_type(put_messages(skipped), "test").empty());
  EXPECT_EQ(us_test().skipped, 1u);
  EXPECT_EQ(us_test().message_id, id);

  // The link comes back: the queued test goes out, ru-genstaff answers it, the alert ends.
  tick_us(2h + 30min);
  EXPECT_TRUE(us_test().answered);
  EXPECT_EQ(us_->session("ru-genstaff")->stats().escalations, 0u);
  const std::vector<NodeAction> resumed = tick_us(3h);
  const std::vector<MessageRecord> next = of_type(put_messages(resumed), "test");
  ASSERT_EQ(next.size(), 1u);
  EXPECT_EQ(automatic_test_sequence(next[0].type, next[0].content.body_json), 2u);
}

TEST_F(NodeLineTestTest, OnlyTheGatewayAnswersAnAutomaticTestAndOnlyTheGatewaySendsOne) {
  us_config_.tests.interval = Duration::zero();  // off: saceur tests the line by hand
  start();
  // A principal cannot submit an automatic test ...
  Submit forged;
  forged.request = ++request_;
  forged.line = kLine;
  forged.principal = "saceur";
  forged.type = "test";
  forged.content = wire::Content{automatic_test_body(7), ""};
  const std::vector<Rejected> refused = all_of<Rejected>(run(*us_, forged));
  ASSERT_EQ(refused.size(), 1u);
  EXPECT_EQ(refused[0].status.code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(us_->session("ru-genstaff")->next_test().has_value());

  // ... and a test a principal sends is a person's question: a person answers it.
  Submit by_hand = forged;
  by_hand.request = ++request_;
  by_hand.content = wire::Content{R"({"sequence":7})", ""};
  const std::vector<NodeAction> sent = run(*us_, by_hand);
  ASSERT_EQ(all_of<Accepted>(sent).size(), 1u);
  const std::string id = all_of<Accepted>(sent)[0].message_id;
  carry(*us_, us_side_, *ru_, ru_side_, sent);
  EXPECT_EQ(ru_->session("us-eucom")->stats().inbound_unacknowledged, 1u);
  EXPECT_EQ(ru_->session("us-eucom")->stats().tests_answered, 0u);
  EXPECT_EQ(all_of<Accepted>(run(*ru_, Acknowledge{++request_, "cgs", id})).size(), 1u);
}

TEST_F(NodeLineTestTest, ARecoveredUnansweredTestIsAnsweredByTheGatewayNeverByAPrincipal) {
  // ru-genstaff stopped after storing us-eucom's automatic test, before its answer was
  // durable: the store holds the test unacknowledged.
  MessageRecord stored;
  stored.id = "0190a0a0-0000-7000-8000-000000000001";
  stored.line = kLine;
  stored.seq = 1;
  stored.direction = Direction::kInbound;
  stored.peer = "us-eucom";
  stored.from = wire::Address{"us-eucom", "saceur"};
  stored.to = wire::Address{"ru-genstaff", "cgs"};
  stored.type = "test";
  stored.content = wire::Content{automatic_test_body(3), ""};
  stored.created = t0_ - 10s;
  stored.ack_deadline = t0_ + 6h;
  stored.state = MessageState::kDelivered;
  Recovered recovered;
  recovered.inbound_unacknowledged.push_back(stored);
  std::vector<NodePeer> peers;
  peers.push_back({us_side_.bundle, std::move(recovered)});
  Node restarted(ru_config_, catalog::Catalog::builtin(), rng_, std::move(peers));

  // Before the node starts, cgs tries to acknowledge it: refused, it is the gateway's.
  const std::vector<Rejected> refused =
      all_of<Rejected>(run(restarted, Acknowledge{++request_, "cgs", stored.id}));
  ASSERT_EQ(refused.size(), 1u);
  EXPECT_EQ(refused[0].status.code(), StatusCode::kFailedPrecondition);

  // At start the gateway answers it itself.
  const std::vector<MessageRecord> acks = of_type(put_messages(run(restarted, Start{})), "ack");
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_EQ(acks[0].reply_to, stored.id);
  EXPECT_EQ(restarted.session("us-eucom")->stats().tests_answered, 1u);
}

TEST_F(NodeLineTestTest, NumberingAndScheduleContinueFromTheStoreAfterARestart) {
  Recovered recovered;
  recovered.line_tests[kLine] =
      RecoveredTest{"0190a0a0-0000-7000-8000-000000000002", 41, t0_ - 40min, t0_ - 40min};
  us_ = make_node(us_config_, ru_side_, std::move(recovered));
  ru_ = make_node(ru_config_, us_side_);
  EXPECT_EQ(us_test().sequence, 41u);
  EXPECT_EQ(us_test().next_due, t0_ + 20min);  // an interval after test 41, not after start

  const std::vector<MessageRecord> tests = of_type(put_messages(tick_us(20min)), "test");
  ASSERT_EQ(tests.size(), 1u);
  EXPECT_EQ(automatic_test_sequence(tests[0].type, tests[0].content.body_json), 42u);
  EXPECT_TRUE(us_test().answered);
}

}  // namespace
}  // namespace parley::core
