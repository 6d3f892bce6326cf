#include "parley/base/bytes.h"

#include <array>

namespace parley {
namespace {

constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// Each byte's value as a base64 digit, or -1.
constexpr std::array<std::int8_t, 256> kDecode = [] {
  std::array<std::int8_t, 256> table{};
  table.fill(-1);
  for (std::size_t i = 0; i < kAlphabet.size(); ++i) {
    table[static_cast<unsigned char>(kAlphabet[i])] = static_cast<std::int8_t>(i);
  }
  return table;
}();

int decode_char(char c) { return kDecode[static_cast<unsigned char>(c)]; }

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string base64_encode(ByteView data) {
  std::string out;
  out.reserve((data.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= data.size(); i += 3) {
    const std::uint32_t v = (std::uint32_t{data[i]} << 16) | (std::uint32_t{data[i + 1]} << 8) |
                            std::uint32_t{data[i + 2]};
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(kAlphabet[(v >> 6) & 63]);
    out.push_back(kAlphabet[v & 63]);
  }
  const std::size_t rest = data.size() - i;
  if (rest == 1) {
    const std::uint32_t v = std::uint32_t{data[i]} << 16;
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out += "==";
  } else if (rest == 2) {
    const std::uint32_t v = (std::uint32_t{data[i]} << 16) | (std::uint32_t{data[i + 1]} << 8);
    out.push_back(kAlphabet[(v >> 18) & 63]);
    out.push_back(kAlphabet[(v >> 12) & 63]);
    out.push_back(kAlphabet[(v >> 6) & 63]);
    out.push_back('=');
  }
  return out;
}

Result<Bytes> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) {
    return Status::invalid_argument("base64 length is not a multiple of 4");
  }
  Bytes out(text.size() / 4 * 3);
  std::size_t o = 0;
  // Every group but the last has no padding: four digits, three bytes.
  const std::size_t body = text.empty() ? 0 : text.size() - 4;
  for (std::size_t i = 0; i < body; i += 4) {
    const int v0 = decode_char(text[i]);
    const int v1 = decode_char(text[i + 1]);
    const int v2 = decode_char(text[i + 2]);
    const int v3 = decode_char(text[i + 3]);
    if ((v0 | v1 | v2 | v3) < 0) return Status::invalid_argument("invalid base64 character");
    const std::uint32_t n = (std::uint32_t(v0) << 18) | (std::uint32_t(v1) << 12) |
                            (std::uint32_t(v2) << 6) | std::uint32_t(v3);
    out[o++] = static_cast<std::uint8_t>(n >> 16);
    out[o++] = static_cast<std::uint8_t>(n >> 8);
    out[o++] = static_cast<std::uint8_t>(n);
  }
  if (!text.empty()) {
    std::array<int, 4> v{};
    int pad = 0;
    for (int j = 0; j < 4; ++j) {
      const char c = text[body + j];
      if (c == '=' && j >= 2) {
        v[j] = 0;
        ++pad;
        continue;
      }
      if (pad > 0) return Status::invalid_argument("base64 padding in the middle");
      v[j] = decode_char(c);
      if (v[j] < 0) return Status::invalid_argument("invalid base64 character");
    }
    const std::uint32_t n = (std::uint32_t(v[0]) << 18) | (std::uint32_t(v[1]) << 12) |
                            (std::uint32_t(v[2]) << 6) | std::uint32_t(v[3]);
    out[o++] = static_cast<std::uint8_t>(n >> 16);
    if (pad < 2) out[o++] = static_cast<std::uint8_t>(n >> 8);
    if (pad < 1) out[o++] = static_cast<std::uint8_t>(n);
    // Non-canonical encodings (stray bits under the padding) are refused so that one
    // byte string has exactly one text form.
    if (pad == 1 && (v[2] & 0x3) != 0) return Status::invalid_argument("non-canonical base64");
    if (pad == 2 && (v[1] & 0xf) != 0) return Status::invalid_argument("non-canonical base64");
  }
  out.resize(o);
  return out;
}

std::string hex_encode(ByteView data) {
  static constexpr std::string_view kHex = "0123456789abcdef";
  std::string out;
  out.reserve(data.size() * 2);
  for (const std::uint8_t b : data) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 0xf]);
  }
  return out;
}

Result<Bytes> hex_decode(std::string_view text) {
  if (text.size() % 2 != 0) return Status::invalid_argument("hex string has odd length");
  Bytes out;
  out.reserve(text.size() / 2);
  for (std::size_t i = 0; i < text.size(); i += 2) {
    const int hi = hex_value(text[i]);
    const int lo = hex_value(text[i + 1]);
    if (hi < 0 || lo < 0) return Status::invalid_argument("invalid hex digit");
    out.push_back(static_cast<std::uint8_t>((hi << 4) | lo));
  }
  return out;
}

bool constant_time_equal(ByteView a, ByteView b) {
  if (a.size() != b.size()) return false;
  std::uint8_t diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) diff |= a[i] ^ b[i];
  return diff == 0;
}

}  // namespace parley
