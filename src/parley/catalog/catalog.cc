#include "parley/catalog/catalog.h"

#include <algorithm>
#include <cstdlib>
#include <memory>
#include <set>
#include <utility>

#include "parley/base/time.h"
#include "parley/catalog/internal.h"

namespace parley::catalog {
namespace internal {
namespace {

using json::Json;

constexpr std::string_view kTimeExpected =
    "expected an RFC 3339 UTC time like \"2026-11-24T21:00:00Z\"";

// "body", "body.launch_window.end", "body.vessels[1].flag": where a principal finds it.
std::string where(const std::vector<std::string>& path) {
  std::string out = "body";
  for (const std::string& step : path) {
    const bool index = !step.empty() && std::all_of(step.begin(), step.end(),
                                                    [](char c) { return c >= '0' && c <= '9'; });
    out += index ? "[" + step + "]" : "." + step;
  }
  return out;
}

// The subschema at a violation's path (indices step into "items"), or nullptr.
const Json* schema_at(const Json& schema, const std::vector<std::string>& path) {
  const Json* s = &schema;
  for (const std::string& step : path) {
    if (const auto props = s->find("properties");
        props != s->end() && props->is_object() && props->contains(step)) {
      s = &(*props)[step];
    } else if (const auto items = s->find("items"); items != s->end() && items->is_object()) {
      s = &*items;
    } else {
      return nullptr;
    }
  }
  return s;
}

// The value at a violation's path, or nullptr.
const Json* value_at(const Json& value, const std::vector<std::string>& path) {
  const Json* v = &value;
  for (const std::string& step : path) {
    if (v->is_object() && v->contains(step)) {
      v = &(*v)[step];
    } else if (v->is_array()) {
      const std::size_t i = std::strtoull(step.c_str(), nullptr, 10);
      if (i >= v->size()) return nullptr;
      v = &(*v)[i];
    } else {
      return nullptr;
    }
  }
  return v;
}

std::string keyword(const Json* schema, const char* key) {
  if (schema == nullptr || !schema->contains(key)) return "?";
  return json::dump((*schema)[key]);
}

std::string expected_kind(const Json* schema) {
  if (schema != nullptr && is_time(*schema)) return std::string(kTimeExpected);
  const std::string type =
      schema != nullptr && schema->contains("type") && (*schema)["type"].is_string()
          ? (*schema)["type"].get<std::string>()
          : "";
  if (type == "integer") return "expected an integer";
  if (type == "number") return "expected a number";
  if (type == "string") return "expected a string";
  if (type == "boolean") return "expected true or false";
  if (type == "object") return "expected an object";
  if (type == "array") return "expected an array";
  return "a value of the wrong type";
}

std::string choices_of(const Json* schema) {
  std::string out;
  if (schema == nullptr || !schema->contains("enum")) return out;
  for (const Json& c : (*schema)["enum"]) {
    out += (out.empty() ? "" : ", ") + (c.is_string() ? c.get<std::string>() : json::dump(c));
  }
  return out;
}

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// The unknown members of the object at `path`, for additionalProperties: false.
std::string unknown_member(const Json& body, const Json* schema,
                           const std::vector<std::string>& path) {
  const Json* v = value_at(body, path);
  if (v == nullptr || !v->is_object() || schema == nullptr) return "";
  const Json empty = Json::object();
  const Json& props = schema->contains("properties") ? (*schema)["properties"] : empty;
  for (const auto& [key, value] : v->items()) {
    if (!props.contains(key)) return key;
  }
  return "";
}

// valijson's sentence for one violation, said in terms of the field and its schema.
std::string pointed(const MessageType& type, const Json& body, const Violation& v) {
  const Json* s = schema_at(*type.schema, v.path);
  const std::string& what = v.what;
  if (starts_with(what, "Missing required property '")) {
    const std::size_t open = what.find('\'');
    const std::string name = what.substr(open + 1, what.rfind('\'') - open - 1);
    std::vector<std::string> path = v.path;
    path.push_back(name);
    return where(path) + ": missing (required by " + type.id + ")";
  }
  if (starts_with(what, "Failed to validate against additional properties") ||
      starts_with(what, "Object contains a property that could not be validated")) {
    const std::string key = unknown_member(body, s, v.path);
    if (!key.empty()) {
      std::vector<std::string> path = v.path;
      path.push_back(key);
      return where(path) + ": unknown field (not in the schema of " + type.id + ")";
    }
  }
  const std::string at = where(v.path) + ": ";
  if (starts_with(what, "Value type not permitted")) return at + expected_kind(s);
  if (starts_with(what, "Failed to match against any enum values")) {
    const Json* value = value_at(body, v.path);
    const std::string shown = value == nullptr     ? "?"
                              : value->is_string() ? "'" + value->get<std::string>() + "'"
                                                   : json::dump(*value);
    return at + shown + " is not one of " + choices_of(s);
  }
  if (starts_with(what, "Expected number greater than")) {
    return at + "must be at least " + keyword(s, "minimum");
  }
  if (starts_with(what, "Expected number less than")) {
    return at + "must be at most " + keyword(s, "maximum");
  }
  if (starts_with(what, "String should be no more than")) {
    return at + "longer than " + keyword(s, "maxLength") + " characters";
  }
  if (starts_with(what, "String should be no fewer than")) {
    return at + "shorter than " + keyword(s, "minLength") + " character(s)";
  }
  if (starts_with(what, "Array should contain no more than")) {
    return at + "more than " + keyword(s, "maxItems") + " items";
  }
  if (starts_with(what, "Array should contain no fewer than")) {
    return at + "fewer than " + keyword(s, "minItems") + " items";
  }
  if (starts_with(what, "Object should have no fewer than")) {
    return at + "fewer than " + keyword(s, "minProperties") + " entries";
  }
  if (s != nullptr && is_time(*s)) return at + std::string(kTimeExpected);
  return at + what;
}

// valijson reports the summaries of failed parents ("Failed to validate against ...") too;
// the deepest specific one says most.
const Violation& most_specific(const std::vector<Violation>& violations) {
  const Violation* best = &violations.front();
  // 0: a parent's summary; 1: a specific failure; 2: the wrong type, which explains any
  // other failure at the same path (an object is "not one of" the choices, too).
  const auto rank = [](const Violation& v) {
    if (starts_with(v.what, "Failed to validate")) return 0;
    return starts_with(v.what, "Value type not permitted") ? 2 : 1;
  };
  for (const Violation& v : violations) {
    const bool better = (rank(*best) == 0 && rank(v) != 0) ||
                        (rank(v) != 0 && v.path.size() > best->path.size()) ||
                        (rank(v) > rank(*best) && v.path.size() == best->path.size());
    if (better) best = &v;
  }
  return *best;
}

// Splits "a.b.c" into its steps.
std::vector<std::string> steps(std::string_view path) {
  std::vector<std::string> out;
  while (true) {
    const std::size_t dot = path.find('.');
    out.emplace_back(path.substr(0, dot));
    if (dot == std::string_view::npos) return out;
    path.remove_prefix(dot + 1);
  }
}

// parley's times are UTC with a "Z" (base/time.h); format date-time alone allows offsets.
Status check_times(const Json& schema, const Json& value, std::vector<std::string>& path) {
  if (is_time(schema)) {
    if (value.is_string() && parse_time(value.get<std::string>()).is_ok()) return Status::ok();
    return Status::invalid_argument(where(path) + ": " + std::string(kTimeExpected));
  }
  if (value.is_object() && schema.contains("properties") && schema["properties"].is_object()) {
    for (const auto& [key, sub] : schema["properties"].items()) {
      if (!value.contains(key)) continue;
      path.push_back(key);
      PARLEY_RETURN_IF_ERROR(check_times(sub, value[key], path));
      path.pop_back();
    }
  }
  if (value.is_array() && schema.contains("items") && schema["items"].is_object()) {
    for (std::size_t i = 0; i < value.size(); ++i) {
      path.push_back(std::to_string(i));
      PARLEY_RETURN_IF_ERROR(check_times(schema["items"], value[i], path));
      path.pop_back();
    }
  }
  return Status::ok();
}

Status check_rule(const Rule& rule, const Json& body) {
  const Json* later = at_path(body, rule.field);
  const Json* earlier = at_path(body, rule.after);
  if (later == nullptr || earlier == nullptr) return Status::ok();
  // check_times ran first: both are valid times.
  const Time l = parse_time(later->get<std::string>()).value();
  const Time e = parse_time(earlier->get<std::string>()).value();
  if (l > e) return Status::ok();
  const std::vector<std::string> field = steps(rule.field);
  std::vector<std::string> other = steps(rule.after);
  const bool siblings =
      field.size() == other.size() && std::equal(field.begin(), field.end() - 1, other.begin());
  const std::string name = siblings ? other.back() : where(other);
  return Status::invalid_argument(where(field) + ": must be after " + name);
}

}  // namespace

const Json* at_path(const Json& value, std::string_view path) {
  const Json* v = &value;
  for (const std::string& step : steps(path)) {
    if (!v->is_object()) return nullptr;
    const auto it = v->find(step);
    if (it == v->end() || it->is_null()) return nullptr;
    v = &*it;
  }
  return v;
}

namespace {

void collect_fields(const Json& schema, const std::string& prefix, std::vector<Field>& out) {
  const Json* object = &schema;
  if (schema.contains("items") && schema["items"].is_object()) object = &schema["items"];
  if (!object->contains("properties") || !(*object)["properties"].is_object()) return;
  std::set<std::string> required;
  if (object->contains("required") && (*object)["required"].is_array()) {
    for (const Json& r : (*object)["required"]) {
      if (r.is_string()) required.insert(r.get<std::string>());
    }
  }
  for (const auto& [key, sub] : (*object)["properties"].items()) {
    const std::string path = prefix.empty() ? key : prefix + "." + key;
    out.push_back({path, required.count(key) != 0, std::make_shared<const Json>(sub)});
    if (sub.is_object()) collect_fields(sub, path, out);
  }
}

}  // namespace

std::vector<Field> fields_of(const Json& schema) {
  std::vector<Field> out;
  collect_fields(schema, "", out);
  return out;
}

const Field* find_field(const MessageType& type, std::string_view path) {
  for (const Field& f : type.fields) {
    if (f.path == path) return &f;
  }
  return nullptr;
}

bool is_time(const Json& schema) {
  return schema.is_object() && schema.value("format", Json()) == "date-time";
}

Status check_body(const MessageType& type, const Json& body) {
  const std::vector<Violation> violations = type.compiled.validate(body);
  if (!violations.empty()) {
    return Status::invalid_argument(pointed(type, body, most_specific(violations)));
  }
  std::vector<std::string> path;
  PARLEY_RETURN_IF_ERROR(check_times(*type.schema, body, path));
  for (const Rule& rule : type.rules) PARLEY_RETURN_IF_ERROR(check_rule(rule, body));
  return Status::ok();
}

}  // namespace internal

using json::Json;

const MessageType* Catalog::find(std::string_view type) const {
  for (const auto& t : types_) {
    if (t.id == type) return &t;
  }
  return nullptr;
}

bool Catalog::needs_ack(std::string_view type) const {
  if (const MessageType* t = find(type)) return t->needs_ack;
  // The protocol's own type, even in a catalog (a test's) that does not list it.
  return type != kAckType;
}

std::vector<std::string> Catalog::languages() const {
  std::set<std::string> langs;
  for (const auto& t : types_) {
    for (const auto& [lang, tmpl] : t.templates) langs.insert(lang);
  }
  return {langs.begin(), langs.end()};
}

Status Catalog::validate(std::string_view type, std::string_view body_json) const {
  const MessageType* t = find(type);
  if (t == nullptr) return Status::not_found("unknown message type '" + std::string(type) + "'");
  Result<Json> parsed = json::parse_object(body_json);
  if (!parsed.is_ok()) return parsed.status().with_context("body of " + t->id);
  return internal::check_body(*t, *parsed);
}

namespace {

Json rules_json(const std::vector<Rule>& rules) {
  Json out = Json::array();
  for (const Rule& r : rules) out.push_back({{"field", r.field}, {"after", r.after}});
  return out;
}

Json type_json(const MessageType& t) {
  return Json{{"type", t.id},
              {"version", t.version},
              {"title", t.title},
              {"schema", *t.schema},
              {"example", *t.example},
              {"labels", t.labels},
              {"values", t.values},
              {"templates", t.templates},
              {"rules", rules_json(t.rules)},
              {"needs_ack", t.needs_ack}};
}

}  // namespace

std::string Catalog::type_to_json(const MessageType& type) const {
  return json::dump(type_json(type));
}

std::string Catalog::to_json() const {
  Json types = Json::array();
  for (const auto& t : types_) types.push_back(type_json(t));
  return json::dump(types);
}

}  // namespace parley::catalog
