// The one adapter to nlohmann-json: parsing and field access that never throw.
//
// nlohmann-json throws on malformed text, on a type mismatch and on invalid UTF-8 when
// dumping; parley code does not throw, so every access to outside JSON goes through here.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "parley/base/status.h"

namespace parley::json {

using Json = nlohmann::json;

// kInvalidArgument "malformed JSON: <reason>" if `text` is not one JSON value. Depth is
// limited (64) so hostile input cannot exhaust the stack.
Result<Json> parse(std::string_view text);
// Like parse, and the value must be an object.
Result<Json> parse_object(std::string_view text);

// Compact text; invalid UTF-8 in strings is replaced, never thrown.
std::string dump(const Json& value);

// Field accessors on an object. Missing or wrongly typed fields are kInvalidArgument
// "field '<key>': <what was expected>".
Result<std::string> get_string(const Json& object, std::string_view key);
Result<std::optional<std::string>> get_optional_string(const Json& object, std::string_view key);
// The string at `key`, or `fallback` when `object` is not an object or the field is missing,
// null or not a string: for reading what a gateway answered (the CLI, the demo) without
// json's value(), which throws on a null.
std::string string_or(const Json& object, std::string_view key, std::string fallback = "");
// The largest integer a protocol field may hold: 2^53 - 1. Every reader of parley's JSON
// (a browser's Number included) reads it exactly, and it fits the stores' signed 64-bit
// integers, so a peer's number can never overflow a column (docs/protocol.md "Limits").
inline constexpr std::uint64_t kUintMax = (std::uint64_t{1} << 53) - 1;

// A non-negative integer of at most kUintMax; larger ones are kInvalidArgument.
Result<std::uint64_t> get_uint(const Json& object, std::string_view key);
// True if `value` is a JSON integer in [0, kUintMax].
bool is_bounded_uint(const Json& value);
Result<bool> get_bool(const Json& object, std::string_view key);
Result<Json> get_object(const Json& object, std::string_view key);
Result<Json> get_array(const Json& object, std::string_view key);
// kInvalidArgument naming the first key of `object` not in `allowed`.
Status check_keys(const Json& object, std::initializer_list<std::string_view> allowed);

}  // namespace parley::json
