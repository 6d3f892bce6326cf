#include "parley/wire/fields.h"

#include <algorithm>

#include "parley/base/rng.h"
#include "parley/wire/wire.h"

namespace parley::wire::fields {

using json::Json;

Status field_error(std::string_view field, std::string_view what) {
  return Status::invalid_argument("field '" + std::string(field) + "': " + std::string(what));
}

std::string quote(std::string_view text) {
  std::string out;
  for (const char c : text.substr(0, 40)) {
    const auto u = static_cast<unsigned char>(c);
    out.push_back(u < 0x20 || u == 0x7f ? '?' : c);
  }
  if (text.size() > 40) out += "...";
  return "'" + out + "'";
}

bool is_lower_hex(std::string_view text) {
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

Status check_version(const Json& object, std::uint64_t expected) {
  PARLEY_ASSIGN_OR_RETURN(const std::uint64_t v, json::get_uint(object, "v"));
  if (v != expected) {
    return field_error("v", "unsupported version " + std::to_string(v) + " (expected " +
                                std::to_string(expected) + ")");
  }
  return Status::ok();
}

Result<std::string> get_uuid(const Json& object, std::string_view key) {
  PARLEY_ASSIGN_OR_RETURN(std::string text, json::get_string(object, key));
  if (!is_uuid(text)) return field_error(key, "not a lowercase UUID: " + quote(text));
  return text;
}

Status check_id(std::string_view field, std::string_view text) {
  if (!is_valid_id(text)) {
    return field_error(field,
                       "not a valid id (1-64 of [a-z0-9-], not starting with '-'): " + quote(text));
  }
  return Status::ok();
}

Result<std::string> get_id(const Json& object, std::string_view key) {
  PARLEY_ASSIGN_OR_RETURN(std::string text, json::get_string(object, key));
  PARLEY_RETURN_IF_ERROR(check_id(key, text));
  return text;
}

Result<Time> get_time(const Json& object, std::string_view key) {
  PARLEY_ASSIGN_OR_RETURN(const std::string text, json::get_string(object, key));
  auto time = parse_time(text);
  if (!time.is_ok()) return field_error(key, time.status().message());
  return time;
}

Result<Bytes> get_base64(const Json& object, std::string_view key) {
  PARLEY_ASSIGN_OR_RETURN(const std::string text, json::get_string(object, key));
  auto bytes = base64_decode(text);
  if (!bytes.is_ok()) return field_error(key, bytes.status().message());
  return bytes;
}

}  // namespace parley::wire::fields
