#include "parley/base/json.h"

#include <algorithm>

namespace parley::json {
namespace {

constexpr int kDepthMax = 64;

// Checks nesting depth before handing text to nlohmann (whose parser recurses).
bool depth_ok(std::string_view text) {
  int depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (const char c : text) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > kDepthMax) return false;
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
  return true;
}

Status field_error(std::string_view key, std::string_view expected) {
  return Status::invalid_argument("field '" + std::string(key) + "': " + std::string(expected));
}

}  // namespace

Result<Json> parse(std::string_view text) {
  if (!depth_ok(text)) return Status::invalid_argument("malformed JSON: nested too deeply");
  try {
    return Json::parse(text.begin(), text.end());
  } catch (const Json::exception& e) {
    std::string what = e.what();
    // "[json.exception.parse_error.101] parse error at line 1, column 2: ..." -> the tail.
    const auto colon = what.find("] ");
    if (colon != std::string::npos) what = what.substr(colon + 2);
    return Status::invalid_argument("malformed JSON: " + what);
  }
}

Result<Json> parse_object(std::string_view text) {
  PARLEY_ASSIGN_OR_RETURN(Json value, parse(text));
  if (!value.is_object()) return Status::invalid_argument("malformed JSON: expected an object");
  return value;
}

std::string dump(const Json& value) {
  return value.dump(-1, ' ', false, Json::error_handler_t::replace);
}

Result<std::string> get_string(const Json& object, std::string_view key) {
  const auto it = object.find(key);
  if (it == object.end()) return field_error(key, "missing");
  if (!it->is_string()) return field_error(key, "expected a string");
  return it->get<std::string>();
}

std::string string_or(const Json& object, std::string_view key, std::string fallback) {
  if (!object.is_object()) return fallback;
  const auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : fallback;
}

Result<std::optional<std::string>> get_optional_string(const Json& object, std::string_view key) {
  const auto it = object.find(key);
  if (it == object.end() || it->is_null()) return std::optional<std::string>();
  if (!it->is_string()) return field_error(key, "expected a string or null");
  return std::optional<std::string>(it->get<std::string>());
}

Result<std::uint64_t> get_uint(const Json& object, std::string_view key) {
  const auto it = object.find(key);
  if (it == object.end()) return field_error(key, "missing");
  if (!it->is_number_unsigned()) return field_error(key, "expected a non-negative integer");
  if (!is_bounded_uint(*it)) {
    return field_error(key, "larger than " + std::to_string(kUintMax) + " (2^53 - 1)");
  }
  return it->get<std::uint64_t>();
}

bool is_bounded_uint(const Json& value) {
  return value.is_number_unsigned() && value.get<std::uint64_t>() <= kUintMax;
}

Result<bool> get_bool(const Json& object, std::string_view key) {
  const auto it = object.find(key);
  if (it == object.end()) return field_error(key, "missing");
  if (!it->is_boolean()) return field_error(key, "expected true or false");
  return it->get<bool>();
}

Result<Json> get_object(const Json& object, std::string_view key) {
  const auto it = object.find(key);
  if (it == object.end()) return field_error(key, "missing");
  if (!it->is_object()) return field_error(key, "expected an object");
  return *it;
}

Result<Json> get_array(const Json& object, std::string_view key) {
  const auto it = object.find(key);
  if (it == object.end()) return field_error(key, "missing");
  if (!it->is_array()) return field_error(key, "expected an array");
  return *it;
}

Status check_keys(const Json& object, std::initializer_list<std::string_view> allowed) {
  for (const auto& [key, value] : object.items()) {
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      return Status::invalid_argument("unknown field '" + key + "'");
    }
  }
  return Status::ok();
}

}  // namespace parley::json
