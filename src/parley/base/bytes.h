// Bytes and their text encodings (base64 per RFC 4648 §4, lowercase hex).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "parley/base/status.h"

namespace parley {

using Bytes = std::vector<std::uint8_t>;
using ByteView = std::span<const std::uint8_t>;

inline Bytes to_bytes(std::string_view s) { return Bytes(s.begin(), s.end()); }
inline ByteView as_bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}
inline std::string to_string(ByteView b) { return std::string(b.begin(), b.end()); }

// Standard alphabet, with padding.
std::string base64_encode(ByteView data);
// Strict: standard alphabet, padding required, no whitespace. kInvalidArgument otherwise.
Result<Bytes> base64_decode(std::string_view text);

std::string hex_encode(ByteView data);
// Accepts upper or lower case; kInvalidArgument on odd length or a non-hex digit.
Result<Bytes> hex_decode(std::string_view text);

// Compares in time independent of where the inputs differ (for tokens).
bool constant_time_equal(ByteView a, ByteView b);

}  // namespace parley
