// catalog: the message types principals exchange, their schemas, and their renderings.
//
// DESIGN.md fact 3: words are ambiguous across languages, so notifications are structured
// data with schemas, rendered by each side in its own language from the same fields. A new
// notification type is data here (a schema and a template per language), no core change.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "parley/base/status.h"

namespace parley::catalog {

enum class FieldKind { kString, kInteger, kNumber, kBoolean, kTime, kEnum };
std::string_view field_kind_name(FieldKind kind);

struct Field {
  std::string name;
  FieldKind kind = FieldKind::kString;
  bool required = true;
  std::vector<std::string> choices;          // kEnum only
  std::size_t max_length = 1024;             // kString
  std::map<std::string, std::string> label;  // lang -> label
};

struct MessageType {
  std::string id;                            // "text", "ack", "notify.missile-launch", ...
  std::map<std::string, std::string> title;  // lang -> title
  std::vector<Field> fields;
  // lang -> template. "{field}" is replaced by the field's rendered value, "{text}" by the
  // free text; "{{" is a literal brace.
  std::map<std::string, std::string> templates;
};

class Catalog {
 public:
  // The built-in catalog: text, ack, notify.missile-launch, notify.exercise,
  // notify.incident, request.deconfliction, in en and ru.
  static const Catalog& builtin();

  const MessageType* find(std::string_view type) const;
  const std::vector<MessageType>& types() const { return types_; }
  std::vector<std::string> languages() const;

  // Checks `body_json` (a JSON object as text) against `type`'s schema: no unknown field,
  // every required field present with the right kind, enum values among the choices,
  // strings within max_length. kInvalidArgument naming the field; kNotFound for an
  // unknown type.
  Status validate(std::string_view type, std::string_view body_json) const;

  // The message in `lang` (falling back to "en"), from the type's template. Never fails:
  // an unknown type or unparsable body renders as a plain description.
  std::string render(std::string_view type, std::string_view body_json, std::string_view text,
                     std::string_view lang) const;

  // The catalog as JSON (for `parley catalog --json` and GET /api/v1/catalog).
  std::string to_json() const;
  std::string type_to_json(const MessageType& type) const;

 private:
  std::vector<MessageType> types_;
};

}  // namespace parley::catalog
