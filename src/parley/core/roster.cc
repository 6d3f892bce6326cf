#include "parley/core/roster.h"

#include <algorithm>
#include <set>
#include <tuple>

#include <fmt/format.h>

#include "parley/wire/wire.h"

namespace parley::core {
namespace {

bool before(const Shift& a, const Shift& b) {
  return std::tie(a.role, a.from, a.to) < std::tie(b.role, b.from, b.to);
}

std::string shift_text(const Shift& s) {
  return fmt::format("{} {} {}..{}", s.role, s.principal, format_time(s.from), format_time(s.to));
}

}  // namespace

Status check_roster(const std::vector<Shift>& roster, const std::vector<Principal>& principals) {
  std::set<std::string_view> known;
  for (const Principal& p : principals) known.insert(p.id);
  std::vector<Shift> sorted = roster;
  std::sort(sorted.begin(), sorted.end(), before);
  for (std::size_t i = 0; i < sorted.size(); ++i) {
    const Shift& s = sorted[i];
    if (!wire::is_valid_id(s.role)) {
      return Status::invalid_argument(fmt::format(
          "bad role '{}' (1-64 characters of a-z, 0-9 and '-', starting with a letter or digit)",
          s.role));
    }
    if (s.to <= s.from) {
      return Status::invalid_argument(
          fmt::format("shift {}: it must end after it begins", shift_text(s)));
    }
    if (known.count(s.principal) == 0) {
      return Status::invalid_argument(
          fmt::format("shift {}: no principal {} on this party", shift_text(s), s.principal));
    }
    if (i > 0 && sorted[i - 1].role == s.role && s.from < sorted[i - 1].to) {
      return Status::invalid_argument(
          fmt::format("shift {} overlaps shift {}", shift_text(s), shift_text(sorted[i - 1])));
    }
  }
  return Status::ok();
}

Status check_directory(const std::vector<Line>& lines, const Directory& directory) {
  std::set<std::string_view> known;
  for (const Principal& p : directory.principals) known.insert(p.id);
  for (const Line& line : lines) {
    if (known.count(line.local) == 0) {
      return Status::invalid_argument(
          fmt::format("line {}: no principal {} on this party", line.id, line.local));
    }
    for (const std::string& alternate : line.alternates) {
      if (known.count(alternate) == 0) {
        return Status::invalid_argument(
            fmt::format("line {}: alternate {} is no principal of this party", line.id, alternate));
      }
    }
  }
  return check_roster(directory.roster, directory.principals);
}

std::optional<Shift> on_duty(const std::vector<Shift>& roster, std::string_view role, Time at) {
  for (const Shift& s : roster) {
    if (s.role == role && s.from <= at && at < s.to) return s;
  }
  return std::nullopt;
}

std::vector<Shift> shifts_of(const std::vector<Shift>& roster, std::string_view role) {
  std::vector<Shift> out;
  for (const Shift& s : roster) {
    if (s.role == role) out.push_back(s);
  }
  std::sort(out.begin(), out.end(), before);
  return out;
}

}  // namespace parley::core
