#include "parley/gateway/zone_file.h"

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <optional>

#include <fmt/format.h>

namespace parley::gateway {
namespace {

constexpr std::size_t kZoneFileBytesMax = 1 << 20;

// "UTC", "UTC+HH:MM", "UTC-HH:MM" (also "UTC+HH"): the offset, else nullopt.
std::optional<Duration> fixed_offset(std::string_view name) {
  if (name == "UTC" || name == "Etc/UTC") return Duration::zero();
  if (name.substr(0, 3) != "UTC" || name.size() < 6) return std::nullopt;
  const char sign = name[3];
  if (sign != '+' && sign != '-') return std::nullopt;
  const std::string_view rest = name.substr(4);
  const auto two = [](std::string_view s) -> std::optional<int> {
    if (s.size() != 2 || s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9') return std::nullopt;
    return (s[0] - '0') * 10 + (s[1] - '0');
  };
  const std::optional<int> h = two(rest.substr(0, 2));
  std::optional<int> m = 0;
  if (rest.size() == 5 && rest[2] == ':') {
    m = two(rest.substr(3));
  } else if (rest.size() != 2) {
    m = std::nullopt;
  }
  if (!h || !m || *h > 14 || *m > 59) return std::nullopt;
  const Duration offset = std::chrono::hours(*h) + std::chrono::minutes(*m);
  return sign == '+' ? offset : -offset;
}

}  // namespace

Result<core::ZoneRules> load_zone(const std::string& name) {
  PARLEY_RETURN_IF_ERROR(check_timezone_name(name));
  if (const std::optional<Duration> offset = fixed_offset(name)) {
    return core::fixed_zone(*offset);
  }
  const char* dir = std::getenv("TZDIR");
  const std::string path =
      std::string(dir != nullptr && *dir != '\0' ? dir : "/usr/share/zoneinfo") + "/" + name;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Status::invalid_argument(fmt::format(
        "unknown time zone '{}' (no {}; an IANA name such as Europe/Brussels, or UTC+01:00)", name,
        path));
  }
  std::string bytes;
  bytes.resize(kZoneFileBytesMax + 1);
  in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  bytes.resize(static_cast<std::size_t>(in.gcount()));
  if (bytes.size() > kZoneFileBytesMax) {
    return Status::invalid_argument(fmt::format("time zone '{}': {} is too large", name, path));
  }
  return core::parse_tzif(name, as_bytes(bytes));
}

Result<core::ZoneRules> load_zone(const Config& config, const std::string& file) {
  Result<core::ZoneRules> zone = load_zone(config.timezone);
  if (zone.is_ok()) return zone;
  return Status::invalid_argument(fmt::format("{}:{}: party.timezone: {}", file,
                                              config.timezone_line > 0 ? config.timezone_line : 1,
                                              zone.status().message()));
}

}  // namespace parley::gateway
