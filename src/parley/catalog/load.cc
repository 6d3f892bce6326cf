// Catalog::load: reading a file set and refusing any file that would let a type mean
// different things to the two sides (a schema valijson reads differently from the standard,
// a language without a template, a template naming no field, an example the type refuses).
#include <memory>
#include <set>
#include <utility>

#include "parley/base/json.h"
#include "parley/catalog/catalog.h"
#include "parley/catalog/embedded.h"
#include "parley/catalog/internal.h"

namespace parley::catalog {
namespace {

using json::Json;

constexpr std::string_view kDraft7 = "http://json-schema.org/draft-07/schema#";

// The draft-07 meta-schema, compiled once.
Result<CompiledSchema> metaschema() {
  const std::vector<SourceFile> files = embedded_metaschema_files();
  if (files.size() != 1) return Status::internal("the draft-07 meta-schema is not embedded");
  PARLEY_ASSIGN_OR_RETURN(Json meta, json::parse_object(files.front().text));
  // Its $id is an absolute URI; valijson would try to fetch "$ref": "#" from it.
  meta.erase("$id");
  return CompiledSchema::compile(meta);
}

Status check_name(const MessageType& t, std::string_view file) {
  bool ok = !t.id.empty();
  for (const char c : t.id) {
    ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-');
  }
  if (!ok) return Status::invalid_argument("type '" + t.id + "': use a-z, 0-9, '.' and '-'");
  if (t.version < 1) return Status::invalid_argument("version must be 1 or more");
  const std::string expected = t.id + ".v" + std::to_string(t.version) + ".json";
  if (file != expected) {
    return Status::invalid_argument("the file of " + t.id + " version " +
                                    std::to_string(t.version) + " must be named " + expected);
  }
  return Status::ok();
}

Result<PerLanguage> read_texts(const Json& j, std::string_view what) {
  if (!j.is_object() || j.empty()) {
    return Status::invalid_argument(std::string(what) + ": expected an object of language -> text");
  }
  PerLanguage out;
  for (const auto& [lang, text] : j.items()) {
    if (!text.is_string() || text.get<std::string>().empty()) {
      return Status::invalid_argument(std::string(what) + "." + lang +
                                      ": expected a non-empty string");
    }
    out[lang] = text.get<std::string>();
  }
  return out;
}

Status check_schema(const CompiledSchema& meta, MessageType& t) {
  const std::vector<Violation> violations = meta.validate(*t.schema);
  if (!violations.empty()) {
    std::string where = "schema";
    for (const std::string& step : violations.front().path) where += "." + step;
    return Status::invalid_argument(where + ": not valid JSON Schema draft 7 (" +
                                    violations.front().what + ")");
  }
  if (t.schema->value("$schema", Json()) != kDraft7) {
    return Status::invalid_argument("schema.$schema must be \"" + std::string(kDraft7) + "\"");
  }
  if (t.schema->value("type", Json()) != "object") {
    return Status::invalid_argument("schema.type must be \"object\": a body is a JSON object");
  }
  PARLEY_ASSIGN_OR_RETURN(t.compiled, CompiledSchema::compile(*t.schema));
  t.fields = internal::fields_of(*t.schema);
  return Status::ok();
}

Status check_labels(const Json& j, MessageType& t) {
  if (!j.is_object()) return Status::invalid_argument("labels: expected an object");
  for (const auto& [lang, title] : t.title) {
    if (t.templates.count(lang) == 0) return Status::invalid_argument("templates: no " + lang);
    if (!j.contains(lang)) return Status::invalid_argument("labels: no " + lang);
  }
  for (const auto& [lang, labels] : j.items()) {
    if (t.title.count(lang) == 0) return Status::invalid_argument("title: no " + lang);
    PARLEY_ASSIGN_OR_RETURN(t.labels[lang],
                            labels.empty() ? PerLanguage{} : read_texts(labels, "labels." + lang));
    for (const Field& f : t.fields) {
      if (t.labels[lang].count(f.path) == 0) {
        return Status::invalid_argument("labels." + lang + ": no label for " + f.path);
      }
    }
    for (const auto& [path, label] : t.labels[lang]) {
      if (internal::find_field(t, path) == nullptr) {
        return Status::invalid_argument("labels." + lang + "." + path + ": not a field");
      }
    }
  }
  for (const auto& [lang, tmpl] : t.templates) {
    if (t.title.count(lang) == 0) return Status::invalid_argument("title: no " + lang);
  }
  return Status::ok();
}

Status check_templates(const MessageType& t) {
  for (const auto& [lang, tmpl] : t.templates) {
    Result<std::vector<std::string>> names = internal::placeholders(tmpl);
    if (!names.is_ok()) return names.status().with_context("templates." + lang);
    for (const std::string& name : *names) {
      if (name != "text" && internal::find_field(t, name) == nullptr) {
        return Status::invalid_argument("templates." + lang + ": {" + name + "} is not a field");
      }
    }
  }
  return Status::ok();
}

Status read_values(const Json& j, MessageType& t) {
  if (j.is_null()) return Status::ok();
  if (!j.is_object()) return Status::invalid_argument("values: expected an object");
  for (const auto& [lang, fields] : j.items()) {
    if (t.title.count(lang) == 0) return Status::invalid_argument("values: no title in " + lang);
    if (!fields.is_object())
      return Status::invalid_argument("values." + lang + ": expected an object");
    for (const auto& [path, words] : fields.items()) {
      const Field* f = internal::find_field(t, path);
      if (f == nullptr || !f->schema->contains("enum")) {
        return Status::invalid_argument("values." + lang + "." + path + ": not an enum field");
      }
      PARLEY_ASSIGN_OR_RETURN(t.values[lang][path],
                              read_texts(words, "values." + lang + "." + path));
      for (const auto& [value, word] : t.values[lang][path]) {
        bool listed = false;
        for (const Json& c : (*f->schema)["enum"]) listed = listed || c == value;
        if (!listed) {
          return Status::invalid_argument("values." + lang + "." + path + "." + value +
                                          ": not one of the field's values");
        }
      }
    }
  }
  return Status::ok();
}

Status read_rules(const Json& j, MessageType& t) {
  if (j.is_null()) return Status::ok();
  if (!j.is_array()) return Status::invalid_argument("rules: expected an array");
  for (const Json& r : j) {
    if (!r.is_object()) return Status::invalid_argument("rules: expected objects");
    PARLEY_RETURN_IF_ERROR(json::check_keys(r, {"field", "after"}).with_context("rules"));
    Rule rule;
    PARLEY_ASSIGN_OR_RETURN(rule.field, json::get_string(r, "field"));
    PARLEY_ASSIGN_OR_RETURN(rule.after, json::get_string(r, "after"));
    for (const std::string& path : {rule.field, rule.after}) {
      const Field* f = internal::find_field(t, path);
      if (f == nullptr || !internal::is_time(*f->schema)) {
        return Status::invalid_argument("rules: " + path + " is not a date-time field");
      }
    }
    t.rules.push_back(std::move(rule));
  }
  return Status::ok();
}

Result<MessageType> read_type(const CompiledSchema& meta, const SourceFile& file) {
  PARLEY_ASSIGN_OR_RETURN(Json j, json::parse_object(file.text));
  PARLEY_RETURN_IF_ERROR(
      json::check_keys(j, {"type", "version", "title", "schema", "labels", "values", "templates",
                           "rules", "example", "needs_ack"}));
  MessageType t;
  PARLEY_ASSIGN_OR_RETURN(t.id, json::get_string(j, "type"));
  PARLEY_ASSIGN_OR_RETURN(const std::uint64_t version, json::get_uint(j, "version"));
  t.version = version > 1000000 ? 0 : static_cast<int>(version);
  PARLEY_RETURN_IF_ERROR(check_name(t, file.name));
  PARLEY_ASSIGN_OR_RETURN(t.title, read_texts(j.value("title", Json()), "title"));
  if (t.title.count("en") == 0) return Status::invalid_argument("title: no en (the fallback)");
  PARLEY_ASSIGN_OR_RETURN(t.templates, read_texts(j.value("templates", Json()), "templates"));
  t.schema = std::make_shared<const Json>(j.value("schema", Json()));
  PARLEY_RETURN_IF_ERROR(check_schema(meta, t));
  PARLEY_RETURN_IF_ERROR(check_labels(j.value("labels", Json()), t));
  PARLEY_RETURN_IF_ERROR(check_templates(t));
  PARLEY_RETURN_IF_ERROR(read_values(j.value("values", Json()), t));
  PARLEY_RETURN_IF_ERROR(read_rules(j.value("rules", Json()), t));
  if (j.contains("needs_ack")) {
    PARLEY_ASSIGN_OR_RETURN(t.needs_ack, json::get_bool(j, "needs_ack"));
  }
  if (!j.contains("example")) return Status::invalid_argument("no example");
  if (!j["example"].is_object()) return Status::invalid_argument("example: expected an object");
  t.example = std::make_shared<const Json>(j["example"]);
  PARLEY_RETURN_IF_ERROR(internal::check_body(t, *t.example).with_context("example"));
  return t;
}

}  // namespace

Result<Catalog> Catalog::load(const std::vector<SourceFile>& files) {
  PARLEY_ASSIGN_OR_RETURN(const CompiledSchema meta, metaschema());
  Catalog c;
  std::set<std::string> ids;
  for (const SourceFile& file : files) {
    Result<MessageType> t = read_type(meta, file);
    if (!t.is_ok()) return t.status().with_context("catalog file " + file.name);
    // The envelope names a type, not a version (yet): one version of each type.
    if (!ids.insert(t->id).second) {
      return Status::invalid_argument("catalog file " + file.name + ": a second version of " +
                                      t->id + " (the envelope does not carry a version)");
    }
    c.types_.push_back(std::move(t).value());
  }
  if (c.types_.empty()) return Status::invalid_argument("the catalog has no types");
  return c;
}

}  // namespace parley::catalog
