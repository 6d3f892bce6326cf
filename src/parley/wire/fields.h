// Field access for parley's signed JSON documents (envelopes, receipts, bundles, tree heads,
// manifests): one place for the checks and the wording of their errors, so that every parser
// names a bad field the same way ("field 'seq': must be at least 1").
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "parley/base/bytes.h"
#include "parley/base/json.h"
#include "parley/base/status.h"
#include "parley/base/time.h"

namespace parley::wire::fields {

// kInvalidArgument "field '<field>': <what>".
Status field_error(std::string_view field, std::string_view what);
// Outside text quoted in an error: at most 40 characters, control characters as '?', so
// that the message stays one printable line.
std::string quote(std::string_view text);
bool is_lower_hex(std::string_view text);
// kInvalidArgument "field '<field>': not a valid id (...)" unless wire::is_valid_id(text).
Status check_id(std::string_view field, std::string_view text);

// "v" must be the unsigned integer `expected`.
Status check_version(const json::Json& object, std::uint64_t expected = 1);
// A string field that is a lowercase UUID / a valid id (wire::is_valid_id) / an RFC 3339
// time / strict base64. Missing or mistyped fields are errors naming the field.
Result<std::string> get_uuid(const json::Json& object, std::string_view key);
Result<std::string> get_id(const json::Json& object, std::string_view key);
Result<Time> get_time(const json::Json& object, std::string_view key);
Result<Bytes> get_base64(const json::Json& object, std::string_view key);

}  // namespace parley::wire::fields
