#include "parley/core/zone.h"

#include <algorithm>
#include <cstdint>
#include <optional>

#include <fmt/format.h>

namespace parley::core {
namespace {

using std::chrono::seconds;

// Transitions before this are folded into the initial offset: tzdata's "big bang" sentinel
// (-2^59 s) does not fit Time's milliseconds, and no roster reaches back to 1800.
constexpr std::int64_t kEarliestSeconds = -5'364'662'400;  // 1800-01-01
constexpr std::int64_t kLatestSeconds = 253'402'300'799;   // 9999-12-31
constexpr std::uint32_t kCountMax = 1u << 20;

// A big-endian reader over the file that refuses to read past its end.
class Reader {
 public:
  explicit Reader(ByteView data) : data_(data) {}
  bool has(std::size_t n) const { return data_.size() - pos_ >= n; }
  std::int64_t be(std::size_t n) {
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < n; ++i) v = (v << 8) | data_[pos_ + i];
    pos_ += n;
    if (n == 4) return static_cast<std::int32_t>(static_cast<std::uint32_t>(v));
    return static_cast<std::int64_t>(v);
  }
  std::uint8_t byte() { return data_[pos_++]; }
  void skip(std::size_t n) { pos_ += n; }

 private:
  ByteView data_;
  std::size_t pos_ = 0;
};

struct Header {
  char version = 0;
  std::uint32_t isutcnt = 0, isstdcnt = 0, leapcnt = 0, timecnt = 0, typecnt = 0, charcnt = 0;
  std::size_t data_bytes(std::size_t time_bytes) const {
    return timecnt * time_bytes + timecnt + typecnt * 6u + charcnt + leapcnt * (time_bytes + 4u) +
           isstdcnt + isutcnt;
  }
};

std::optional<Header> read_header(Reader& r) {
  if (!r.has(44)) return std::nullopt;
  if (r.byte() != 'T' || r.byte() != 'Z' || r.byte() != 'i' || r.byte() != 'f') return std::nullopt;
  Header h;
  h.version = static_cast<char>(r.byte());
  r.skip(15);
  std::uint32_t* counts[] = {&h.isutcnt, &h.isstdcnt, &h.leapcnt,
                             &h.timecnt, &h.typecnt,  &h.charcnt};
  for (std::uint32_t* c : counts) {
    const std::int64_t v = r.be(4);
    if (v < 0 || static_cast<std::uint64_t>(v) > kCountMax) return std::nullopt;
    *c = static_cast<std::uint32_t>(v);
  }
  if (h.typecnt == 0) return std::nullopt;
  return h;
}

// The data block after `h`, with times of `time_bytes` (4 in version 1, 8 after).
Result<ZoneRules> read_data(std::string name, Reader& r, const Header& h, std::size_t time_bytes) {
  const Status truncated = Status::invalid_argument(
      fmt::format("time zone {}: not a valid TZif file (truncated or corrupt)", name));
  if (!r.has(h.data_bytes(time_bytes))) return truncated;
  std::vector<std::int64_t> times(h.timecnt);
  for (std::int64_t& t : times) t = r.be(time_bytes);
  std::vector<std::uint8_t> index(h.timecnt);
  for (std::uint8_t& i : index) i = r.byte();
  std::vector<std::int64_t> offsets(h.typecnt);
  for (std::int64_t& o : offsets) {
    o = r.be(4);
    r.skip(2);  // isdst, abbreviation index: the offset is all a roster needs
    if (o < -26 * 3600 || o > 26 * 3600) return truncated;
  }
  ZoneRules zone;
  zone.name = std::move(name);
  zone.initial_offset = seconds(offsets[0]);  // RFC 8536 §3.2: type 0 before the first
  for (std::size_t i = 0; i < times.size(); ++i) {
    if (index[i] >= offsets.size()) return truncated;
    if (i > 0 && times[i] <= times[i - 1]) return truncated;
    const Duration offset = seconds(offsets[index[i]]);
    if (times[i] < kEarliestSeconds) {
      zone.initial_offset = offset;
      continue;
    }
    if (times[i] > kLatestSeconds) break;
    zone.transitions.emplace_back(Time(seconds(times[i])), offset);
  }
  return zone;
}

std::string offset_text(Duration offset) {
  const auto minutes = std::chrono::duration_cast<std::chrono::minutes>(offset).count();
  const long long m = minutes < 0 ? -minutes : minutes;
  return fmt::format("{}{:02}:{:02}", minutes < 0 ? '-' : '+', m / 60, m % 60);
}

// Reads `n` decimal digits at `pos`, or nullopt.
std::optional<int> digits(std::string_view s, std::size_t pos, std::size_t n) {
  if (pos + n > s.size()) return std::nullopt;
  int v = 0;
  for (std::size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return std::nullopt;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

}  // namespace

ZoneRules fixed_zone(Duration offset) {
  ZoneRules zone;
  zone.name = offset == Duration::zero() ? "UTC" : "UTC" + offset_text(offset);
  zone.initial_offset = offset;
  return zone;
}

Result<ZoneRules> parse_tzif(std::string name, ByteView data) {
  Reader r(data);
  const std::optional<Header> v1 = read_header(r);
  if (!v1) {
    return Status::invalid_argument(fmt::format("time zone {}: not a TZif file", name));
  }
  if (v1->version == 0) return read_data(std::move(name), r, *v1, 4);
  // Version 2+: skip the 32-bit block; the 64-bit one follows with its own header.
  if (!r.has(v1->data_bytes(4))) {
    return Status::invalid_argument(fmt::format("time zone {}: truncated TZif file", name));
  }
  r.skip(v1->data_bytes(4));
  const std::optional<Header> v2 = read_header(r);
  if (!v2) return Status::invalid_argument(fmt::format("time zone {}: corrupt TZif file", name));
  return read_data(std::move(name), r, *v2, 8);
}

Duration utc_offset(const ZoneRules& zone, Time t) {
  const auto it = std::upper_bound(
      zone.transitions.begin(), zone.transitions.end(), t,
      [](Time value, const std::pair<Time, Duration>& tr) { return value < tr.first; });
  if (it == zone.transitions.begin()) return zone.initial_offset;
  return std::prev(it)->second;
}

Result<Time> local_to_utc(const ZoneRules& zone, Time wall) {
  // The offsets in force a day either side cover every zone's transitions (none is closer
  // to another than two days); a candidate is right if its offset is the one in force then.
  std::optional<Time> found;
  for (const Duration offset : {utc_offset(zone, wall - std::chrono::hours(26)),
                                utc_offset(zone, wall + std::chrono::hours(26))}) {
    const Time t = wall - offset;
    if (utc_offset(zone, t) != offset) continue;
    if (!found || t < *found) found = t;
  }
  if (!found) {
    return Status::invalid_argument(
        fmt::format("{} does not exist in {} (its clocks are set forward then)",
                    format_time(wall).substr(0, 16), zone.name));
  }
  return *found;
}

Result<Time> parse_zone_time(std::string_view text, const ZoneRules& zone) {
  const Status bad = Status::invalid_argument(fmt::format(
      "bad time '{}' (expected YYYY-MM-DDTHH:MM[:SS] on the party's clocks, {}, or with Z or "
      "+HH:MM)",
      text, zone.name));
  const auto y = digits(text, 0, 4), mo = digits(text, 5, 2), d = digits(text, 8, 2),
             h = digits(text, 11, 2), mi = digits(text, 14, 2);
  if (!y || !mo || !d || !h || !mi || text[4] != '-' || text[7] != '-' || text[10] != 'T' ||
      text[13] != ':') {
    return bad;
  }
  std::size_t pos = 16;
  int sec = 0;
  if (pos < text.size() && text[pos] == ':') {
    const auto s = digits(text, pos + 1, 2);
    if (!s) return bad;
    sec = *s;
    pos += 3;
  }
  const std::chrono::year_month_day date{std::chrono::year(*y), std::chrono::month(*mo),
                                         std::chrono::day(*d)};
  if (!date.ok() || *h > 23 || *mi > 59 || sec > 59) return bad;
  const Time wall = Time(std::chrono::sys_days(date)) + std::chrono::hours(*h) +
                    std::chrono::minutes(*mi) + seconds(sec);
  const std::string_view rest = text.substr(pos);
  if (rest.empty()) return local_to_utc(zone, wall);
  if (rest == "Z") return wall;
  const auto oh = digits(rest, 1, 2), om = digits(rest, 4, 2);
  if (rest.size() != 6 || (rest[0] != '+' && rest[0] != '-') || rest[3] != ':' || !oh || !om ||
      *oh > 23 || *om > 59) {
    return bad;
  }
  const Duration offset = std::chrono::hours(*oh) + std::chrono::minutes(*om);
  return rest[0] == '+' ? wall - offset : wall + offset;
}

std::string format_zone_time(const ZoneRules& zone, Time t) {
  const Duration offset = utc_offset(zone, t);
  const std::string wall = format_time(t + offset);  // "YYYY-MM-DDTHH:MM:SS.mmmZ"
  return wall.substr(0, 19) + offset_text(offset);
}

}  // namespace parley::core
