// LineTests: the hotline's automatic test message, per line. Sans-I/O, pure.
//
// The Moscow-Washington link tested its circuits every hour: a known message went out, the
// other end answered it, and a missing answer meant the line was broken before anyone needed
// it. parley does the same on every line with a pinned peer (docs/protocol.md "The line
// test"): every `interval` ([federation] test_interval; zero turns it off) the session sends
// an ordinary message of catalog type `test` (v2) with {"sequence": N, "automatic": true},
// from the line's local principal, at ROUTINE, whose acknowledgment deadline is
// `answer_within` instead of ROUTINE's. The peer's gateway answers it at once with an ordinary
// `ack` on behalf of its local principal; a missing answer goes overdue like any message, so
// the sender's escalation alerts the line's principal and an evidence.unacknowledged entry
// records the silence.
//
// This class holds only the schedule: per line, the last test sent (its number, id, time, the
// time it was answered) and when the next one is due. A test is not started while the line's
// previous one is unanswered (queued behind an outage, or delivered and overdue): one test
// measures the line; a pile of hourly tests behind an outage would measure nothing more and
// flood the peer when it returns. The first test of a line is due one interval after the
// session first runs; after a restart the schedule and the numbering continue from the last
// test the store holds (Recovered::line_tests), so a restart neither resets the count nor
// postpones an overdue test by a whole interval.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "parley/base/time.h"
#include "parley/core/model.h"

namespace parley::core {

inline constexpr std::string_view kTestType = "test";

struct TestConfig {
  Duration interval{};  // between two tests of a line; zero: no automatic tests
  Duration answer_within = std::chrono::minutes(1);  // the test's acknowledgment deadline
};

// The body of automatic test number `sequence` (JSON text).
std::string automatic_test_body(std::uint64_t sequence);
// If a message of `type` with `body_json` is an automatic test (type `test`, "automatic":
// true), its sequence number; else none. Never fails: a body that does not parse is no test.
std::optional<std::uint64_t> automatic_test_sequence(std::string_view type,
                                                     std::string_view body_json);

// The last automatic test we sent on one line, as the store holds it.
struct RecoveredTest {
  std::string id;
  std::uint64_t sequence = 0;
  Time sent;
  std::optional<Time> answered;  // when the peer's ack was stored here
};

// One line's tests, for `parley status` and GET /api/v1/status.
struct LineTestView {
  std::string line;
  std::uint64_t sequence = 0;  // the last test's number; 0: none sent yet
  std::optional<std::string> message_id;
  std::optional<Time> sent;
  std::optional<Time> answered;  // none: not (yet) answered
  // While unanswered and watched (filled by the session): its deadline, and whether it passed.
  std::optional<Time> answer_due;
  bool overdue = false;
  // Final without an answer: the peer refused it (e.g. the line is not configured there).
  bool refused = false;
  std::optional<Time> next_due;  // none: before the session first ran, or tests are off
  std::uint64_t skipped = 0;     // tests not started since start: the previous was unanswered
};

class LineTests {
 public:
  explicit LineTests(TestConfig config) : config_(config) {}

  const TestConfig& config() const { return config_; }
  bool enabled() const { return config_.interval > Duration::zero(); }

  // The last test the store holds for `line` (before the first take_due).
  void recover(const std::string& line, RecoveredTest test);

  // The lines of `lines` whose test is due at `now`, in their order: each one's next test is
  // scheduled an interval later. A line due whose previous test is still `unanswered` (by
  // id) is skipped this time (counted), not sent. A line seen for the first time is due an
  // interval after its last recovered test, or after `now` if it has none.
  std::vector<std::string> take_due(const std::vector<Line>& lines, Time now,
                                    const std::function<bool(const std::string&)>& unanswered);
  // The number the next test of `line` carries.
  std::uint64_t next_sequence(const std::string& line) const;
  // Test `sequence` of `line`, message `id`, was composed at `now`.
  void sent(const std::string& line, std::uint64_t sequence, const std::string& id, Time now);
  // The peer's ack of our message `id` is stored: if it is a line's last test, it is answered.
  void answered(const std::string& id, Time now);

  // The earliest next test among `lines` (those already scheduled); none if disabled.
  std::optional<Time> next_due(const std::vector<Line>& lines) const;
  // One view per line of `lines`, in their order.
  std::vector<LineTestView> view(const std::vector<Line>& lines) const;

 private:
  struct State {
    std::uint64_t sequence = 0;
    std::optional<std::string> id;
    std::optional<Time> sent;
    std::optional<Time> answered;
    std::optional<Time> next_due;
    std::uint64_t skipped = 0;
  };

  TestConfig config_;
  std::map<std::string, State, std::less<>> lines_;  // by line id
};

}  // namespace parley::core
