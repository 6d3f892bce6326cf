#include "parley/core/line_test.h"

#include <algorithm>

#include "parley/base/json.h"

namespace parley::core {
namespace {

// The catalog's bound on `sequence` (types/test.v2.json): 10^9 tests, 31 years at one a
// second. Past it the count starts again at 1 rather than write a body the schema refuses.
constexpr std::uint64_t kSequenceMax = 1'000'000'000;

}  // namespace

std::string automatic_test_body(std::uint64_t sequence) {
  return json::dump(json::Json{{"sequence", sequence}, {"automatic", true}});
}

std::optional<std::uint64_t> automatic_test_sequence(std::string_view type,
                                                     std::string_view body_json) {
  if (type != kTestType) return std::nullopt;
  const Result<json::Json> body = json::parse_object(body_json);
  if (!body.is_ok()) return std::nullopt;
  const Result<bool> automatic = json::get_bool(*body, "automatic");
  if (!automatic.is_ok() || !*automatic) return std::nullopt;
  const Result<std::uint64_t> sequence = json::get_uint(*body, "sequence");
  if (!sequence.is_ok()) return std::nullopt;
  return *sequence;
}

void LineTests::recover(const std::string& line, RecoveredTest test) {
  State& s = lines_[line];
  s.sequence = test.sequence;
  s.id = std::move(test.id);
  s.sent = test.sent;
  s.answered = test.answered;
}

std::vector<std::string> LineTests::take_due(
    const std::vector<Line>& lines, Time now,
    const std::function<bool(const std::string&)>& unanswered) {
  std::vector<std::string> due;
  if (!enabled()) return due;
  for (const Line& line : lines) {
    State& s = lines_[line.id];
    if (!s.next_due) s.next_due = (s.sent ? *s.sent : now) + config_.interval;
    if (*s.next_due > now) continue;
    s.next_due = now + config_.interval;
    if (s.id && unanswered(*s.id)) {
      ++s.skipped;
      continue;
    }
    due.push_back(line.id);
  }
  return due;
}

std::uint64_t LineTests::next_sequence(const std::string& line) const {
  const auto it = lines_.find(line);
  const std::uint64_t last = it == lines_.end() ? 0 : it->second.sequence;
  return last >= kSequenceMax ? 1 : last + 1;
}

void LineTests::sent(const std::string& line, std::uint64_t sequence, const std::string& id,
                     Time now) {
  State& s = lines_[line];
  s.sequence = sequence;
  s.id = id;
  s.sent = now;
  s.answered.reset();
}

void LineTests::answered(const std::string& id, Time now) {
  for (auto& [line, s] : lines_) {
    if (s.id == id && !s.answered) s.answered = now;
  }
}

std::optional<Time> LineTests::next_due(const std::vector<Line>& lines) const {
  std::optional<Time> at;
  if (!enabled()) return at;
  for (const Line& line : lines) {
    const auto it = lines_.find(line.id);
    if (it == lines_.end() || !it->second.next_due) continue;
    if (!at || *it->second.next_due < *at) at = it->second.next_due;
  }
  return at;
}

std::vector<LineTestView> LineTests::view(const std::vector<Line>& lines) const {
  std::vector<LineTestView> out;
  for (const Line& line : lines) {
    LineTestView v;
    v.line = line.id;
    if (const auto it = lines_.find(line.id); it != lines_.end()) {
      const State& s = it->second;
      v.sequence = s.sequence;
      v.message_id = s.id;
      v.sent = s.sent;
      v.answered = s.answered;
      if (enabled()) v.next_due = s.next_due;
      v.skipped = s.skipped;
    }
    out.push_back(std::move(v));
  }
  return out;
}

}  // namespace parley::core
