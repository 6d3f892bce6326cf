#include "parley/base/time.h"

#include <charconv>
#include <cstdio>

namespace parley {
namespace {

bool parse_int(std::string_view s, int& out) {
  if (s.empty()) return false;
  for (const char c : s) {
    if (c < '0' || c > '9') return false;
  }
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && ptr == s.data() + s.size();
}

}  // namespace

std::string format_time(Time t) {
  using namespace std::chrono;
  const auto day = floor<days>(t);
  const year_month_day ymd{day};
  const hh_mm_ss<milliseconds> hms{t - day};
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", int(ymd.year()),
                unsigned(ymd.month()), unsigned(ymd.day()), int(hms.hours().count()),
                int(hms.minutes().count()), int(hms.seconds().count()),
                int(hms.subseconds().count()));
  return buf;
}

Result<Time> parse_time(std::string_view text) {
  using namespace std::chrono;
  // YYYY-MM-DDTHH:MM:SS[.mmm]Z
  const auto bad = [&] {
    return Status::invalid_argument("bad time '" + std::string(text.substr(0, 40)) +
                                    "' (expected RFC 3339 UTC, e.g. 2026-11-24T21:00:00.123Z)");
  };
  if (text.size() != 20 && text.size() != 24) return bad();
  if (text[4] != '-' || text[7] != '-' || text[10] != 'T' || text[13] != ':' || text[16] != ':' ||
      text.back() != 'Z') {
    return bad();
  }
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0, ms = 0;
  if (!parse_int(text.substr(0, 4), y) || !parse_int(text.substr(5, 2), mo) ||
      !parse_int(text.substr(8, 2), d) || !parse_int(text.substr(11, 2), h) ||
      !parse_int(text.substr(14, 2), mi) || !parse_int(text.substr(17, 2), s)) {
    return bad();
  }
  if (text.size() == 24) {
    if (text[19] != '.' || !parse_int(text.substr(20, 3), ms)) return bad();
  }
  const year_month_day ymd{year{y}, month{unsigned(mo)}, day{unsigned(d)}};
  if (!ymd.ok() || h > 23 || mi > 59 || s > 59) return bad();
  return Time(sys_days{ymd}.time_since_epoch() + hours{h} + minutes{mi} + seconds{s} +
              milliseconds{ms});
}

Result<Duration> parse_duration(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
  const std::string_view digits = text.substr(0, i);
  const std::string_view unit = text.substr(i);
  long long n = 0;
  const auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), n);
  if (digits.empty() || ec != std::errc() || ptr != digits.data() + digits.size() || n <= 0 ||
      n > 1'000'000'000) {
    return Status::invalid_argument("bad duration '" + std::string(text) +
                                    "' (a positive number and a unit: ms, s, m, h, d)");
  }
  if (unit == "ms") return Duration(n);
  if (unit == "s") return Duration(n * 1000);
  if (unit == "m") return Duration(n * 60'000);
  if (unit == "h") return Duration(n * 3'600'000);
  if (unit == "d") return Duration(n * 86'400'000);
  return Status::invalid_argument("bad duration '" + std::string(text) +
                                  "' (a positive number and a unit: ms, s, m, h, d)");
}

std::string format_duration(Duration d) {
  const long long ms = d.count();
  if (ms != 0 && ms % 86'400'000 == 0) return std::to_string(ms / 86'400'000) + "d";
  if (ms != 0 && ms % 3'600'000 == 0) return std::to_string(ms / 3'600'000) + "h";
  if (ms != 0 && ms % 60'000 == 0) return std::to_string(ms / 60'000) + "m";
  if (ms != 0 && ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

}  // namespace parley
