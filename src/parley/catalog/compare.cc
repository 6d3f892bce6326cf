// Two gateways' catalogs, compared: each tells the other its types and their versions in
// every heartbeat's answer (docs/protocol.md "Heartbeats and paths"), so that a difference
// shows in `status`, the log and /metrics before a message of a type one side lacks is shown
// raw on the other.
#include <limits>
#include <utility>

#include "parley/base/json.h"
#include "parley/catalog/catalog.h"

namespace parley::catalog {
namespace {

constexpr std::size_t kTypeNameMax = 64;

bool is_type_name(std::string_view name) {
  if (name.empty() || name.size() > kTypeNameMax) return false;
  for (const char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

Versions Catalog::versions() const {
  Versions out;
  for (const MessageType& t : types_) out[t.id] = t.version;
  return out;
}

Difference compare(const Versions& ours, const Versions& theirs) {
  Difference d;
  for (const auto& [type, version] : ours) {
    const auto there = theirs.find(type);
    if (there == theirs.end()) {
      d.only_here.push_back(type);
    } else if (there->second != version) {
      d.other_version.push_back(type + ": " + std::to_string(version) + " here, " +
                                std::to_string(there->second) + " there");
    }
  }
  for (const auto& [type, version] : theirs) {
    if (ours.find(type) == ours.end()) d.only_there.push_back(type);
  }
  return d;
}

Result<Versions> parse_versions(const nlohmann::json& object) {
  if (!object.is_object()) return Status::invalid_argument("catalog: not an object");
  if (object.size() > kVersionsMax) {
    return Status::invalid_argument("catalog: more than " + std::to_string(kVersionsMax) +
                                    " types");
  }
  Versions out;
  for (const auto& [type, version] : object.items()) {
    if (!is_type_name(type)) {
      return Status::invalid_argument("catalog: not a type name (1-64 of [a-z0-9.-])");
    }
    // nlohmann reads "1" as unsigned, and holds an int it was given as signed.
    const bool in_range =
        version.is_number_unsigned()
            ? version.get<std::uint64_t>() >= 1 &&
                  version.get<std::uint64_t>() <= std::uint64_t(std::numeric_limits<int>::max())
            : version.is_number_integer() && version.get<std::int64_t>() >= 1 &&
                  version.get<std::int64_t>() <= std::numeric_limits<int>::max();
    if (!in_range) {
      return Status::invalid_argument("catalog: the version of '" + type +
                                      "' is not an integer from 1 to 2147483647");
    }
    out[type] = static_cast<int>(version.get<std::uint64_t>());
  }
  return out;
}

nlohmann::json versions_json(const Versions& versions) {
  json::Json out = json::Json::object();
  for (const auto& [type, version] : versions) out[type] = version;
  return out;
}

}  // namespace parley::catalog
