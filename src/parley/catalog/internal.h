// Helpers shared by the catalog's loader, validator and renderer. Not an interface.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "parley/base/json.h"
#include "parley/base/status.h"
#include "parley/catalog/catalog.h"

namespace parley::catalog::internal {

// The value at dotted `path` in `value` (object members only), or nullptr.
const json::Json* at_path(const json::Json& value, std::string_view path);

// Every field of an object schema, depth first: object properties, and the properties of
// an array's object items under the array's own path.
std::vector<Field> fields_of(const json::Json& schema);

// The field at `path`, or nullptr.
const Field* find_field(const MessageType& type, std::string_view path);

// True if `schema` is a string with format date-time.
bool is_time(const json::Json& schema);

// Checks a parsed body against the type's compiled schema, then parley's time profile
// (UTC, base/time.h), then the type's rules. One pointed error (see Catalog::validate).
Status check_body(const MessageType& type, const json::Json& body);

// The placeholders of `tmpl` ("{name}"), in order; "{{" is a literal brace.
// kInvalidArgument on an unclosed placeholder or an unbalanced "[[" / "]]".
Result<std::vector<std::string>> placeholders(std::string_view tmpl);

}  // namespace parley::catalog::internal
