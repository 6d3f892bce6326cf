#include "parley/store/columns.h"

#include <algorithm>
#include <limits>

#include "parley/base/json.h"

namespace parley::store::columns {

Result<core::Direction> parse_direction(std::string_view text) {
  if (text == "outbound") return core::Direction::kOutbound;
  if (text == "inbound") return core::Direction::kInbound;
  return Status::invalid_argument("unknown direction '" + std::string(text) + "'");
}

std::string encode_string_array(const std::vector<std::string>& items) {
  json::Json array = json::Json::array();
  for (const auto& item : items) array.push_back(item);
  return json::dump(array);
}

Result<std::vector<std::string>> parse_string_array(std::string_view text) {
  PARLEY_ASSIGN_OR_RETURN(json::Json value, json::parse(text));
  if (!value.is_array()) return Status::invalid_argument("expected a JSON array of strings");
  std::vector<std::string> out;
  for (const auto& item : value) {
    if (!item.is_string()) return Status::invalid_argument("expected a JSON array of strings");
    out.push_back(item.get<std::string>());
  }
  return out;
}

std::string encode_hashes(const std::vector<crypto::Digest>& hashes) {
  json::Json array = json::Json::array();
  for (const crypto::Digest& h : hashes) array.push_back(hex_encode(h));
  return json::dump(array);
}

Result<std::vector<crypto::Digest>> parse_hashes(std::string_view text) {
  PARLEY_ASSIGN_OR_RETURN(const std::vector<std::string> items, parse_string_array(text));
  std::vector<crypto::Digest> out;
  for (const std::string& item : items) {
    Result<Bytes> bytes = hex_decode(item);
    if (!bytes.is_ok() || bytes->size() != crypto::kSha256Bytes) {
      return Status::invalid_argument("expected an array of 64-hex-digit hashes");
    }
    crypto::Digest d{};
    std::copy(bytes->begin(), bytes->end(), d.begin());
    out.push_back(d);
  }
  return out;
}

Result<crypto::Digest> to_digest(const Bytes& bytes) {
  if (bytes.size() != crypto::kSha256Bytes) {
    return Status::invalid_argument("expected a 32-byte hash, got " + std::to_string(bytes.size()));
  }
  crypto::Digest d{};
  std::copy(bytes.begin(), bytes.end(), d.begin());
  return d;
}

std::optional<std::string> prefix_end(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty() && static_cast<unsigned char>(end.back()) == 0xFF) end.pop_back();
  if (end.empty()) return std::nullopt;
  end.back() = static_cast<char>(static_cast<unsigned char>(end.back()) + 1);
  return end;
}

bool fits_int64(std::uint64_t v) {
  return v <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
}

}  // namespace parley::store::columns
