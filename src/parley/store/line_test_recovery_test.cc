// Issue 12, the line test after a restart (store/node_recovery.h recover_line_tests): the
// numbering and schedule of each line's automatic tests continue from the newest automatic
// test the store holds, passing over tests a principal sent by hand, on that peer's lines only.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "parley/core/line_test.h"
#include "parley/store/memory/memory_store.h"
#include "parley/store/node_recovery.h"

namespace parley::store {
namespace {

using namespace std::chrono_literals;

const Time kT0 = time_from_unix_ms(1'795'554'000'000);

core::Line line(const std::string& id, const std::string& party) {
  core::Line l;
  l.id = id;
  l.local = "saceur";
  l.remote = wire::Address{party, "cgs"};
  return l;
}

core::MessageRecord test_message(const std::string& line_id, std::uint64_t seq,
                                 const std::string& body, Time created) {
  core::MessageRecord m;
  m.id = "0190a0a0-0000-7000-8000-" + std::string(10, '0') + std::to_string(seq) +
         (line_id == "a" ? "a" : "b");
  m.line = line_id;
  m.seq = seq;
  m.direction = core::Direction::kOutbound;
  m.peer = "ru-genstaff";
  m.from = wire::Address{"us-eucom", "saceur"};
  m.to = wire::Address{"ru-genstaff", "cgs"};
  m.type = "test";
  m.content = wire::Content{body, ""};
  m.created = created;
  m.ack_deadline = created + 1min;
  m.envelope = "{}";
  return m;
}

TEST(LineTestRecoveryTest, TheNewestAutomaticTestOfEachLineIsRecoveredPassingManualOnes) {
  MemoryStore store(MemoryStore::new_disk());
  std::vector<core::Record> records;
  // Line a: automatic #6 (answered), then #7 (unanswered), then a test sent by hand.
  core::MessageRecord six = test_message("a", 1, core::automatic_test_body(6), kT0);
  six.acknowledged_at = kT0 + 2s;
  six.state = core::MessageState::kAcknowledged;
  records.push_back(core::PutMessage{six});
  const core::MessageRecord seven = test_message("a", 2, core::automatic_test_body(7), kT0 + 1h);
  records.push_back(core::PutMessage{seven});
  records.push_back(core::PutMessage{test_message("a", 3, R"({"sequence":99})", kT0 + 1h + 10min)});
  // Line b: only a test by hand: no automatic test to go on from.
  records.push_back(core::PutMessage{test_message("b", 1, R"({"sequence":1})", kT0)});
  ASSERT_TRUE(store.apply(records).is_ok());

  const std::vector<core::Line> lines = {line("a", "ru-genstaff"), line("b", "ru-genstaff"),
                                         line("c", "nato-shape")};
  core::Recovered recovered;
  ASSERT_TRUE(recover_line_tests(store, lines, "ru-genstaff", recovered).is_ok());
  ASSERT_EQ(recovered.line_tests.size(), 1u);
  const core::RecoveredTest& a = recovered.line_tests.at("a");
  EXPECT_EQ(a.id, seven.id);
  EXPECT_EQ(a.sequence, 7u);
  EXPECT_EQ(a.sent, kT0 + 1h);
  EXPECT_FALSE(a.answered.has_value());

  // The answered one, once it is the newest automatic test.
  core::Recovered earlier;
  MemoryStore only_six(MemoryStore::new_disk());
  ASSERT_TRUE(only_six.apply({core::PutMessage{six}}).is_ok());
  ASSERT_TRUE(recover_line_tests(only_six, lines, "ru-genstaff", earlier).is_ok());
  EXPECT_EQ(earlier.line_tests.at("a").sequence, 6u);
  EXPECT_EQ(earlier.line_tests.at("a").answered, kT0 + 2s);
}

}  // namespace
}  // namespace parley::store
