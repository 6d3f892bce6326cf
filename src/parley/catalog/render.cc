// Catalog::render: a message in the reader's language, from the type's template and the
// body's fields. It never fails: what the peer sent is shown, whatever it holds.
#include <array>
#include <utility>

#include "parley/base/json.h"
#include "parley/base/time.h"
#include "parley/catalog/catalog.h"
#include "parley/catalog/internal.h"

namespace parley::catalog {
namespace {

using json::Json;

constexpr std::string_view kFallbackLang = "en";
constexpr std::string_view kMissing = "\u2014";  // an em dash for an absent optional field

// The entry of `m` for `lang`, else for "en", else the first, else "".
std::string localized(const PerLanguage& m, std::string_view lang) {
  if (auto it = m.find(std::string(lang)); it != m.end()) return it->second;
  if (auto it = m.find(std::string(kFallbackLang)); it != m.end()) return it->second;
  return m.empty() ? std::string() : m.begin()->second;
}

std::string with_text(std::string head, std::string_view text) {
  if (text.empty()) return head + ".";
  return head + ": " + std::string(text);
}

// " {body}" as received, or "" for an empty body.
std::string raw_body(std::string_view body_json) {
  if (body_json.find_first_not_of(" \t\r\n{}") == std::string_view::npos) return "";
  // Appended rather than `" " + std::string(...)`: GCC 12 at -O3 warns (-Wrestrict, a false
  // positive in its inlined insert) on that form.
  std::string out = " ";
  out.append(body_json);
  return out;
}

// The number written in `digits` (ASCII digits only, as format_time writes them).
int number(std::string_view digits) {
  int n = 0;
  for (const char c : digits) n = n * 10 + (c - '0');
  return n;
}

// A time field's value in the reader's language, UTC kept visible. Russian: "24 ноября
// 2026 г., 21:00 UTC" (seconds, and milliseconds, only when not zero). Other languages, and a
// value that is not parley's time form (a peer's, shown raw), as written (RFC 3339, UTC).
std::string localized_time(std::string_view lang, const std::string& value) {
  if (lang != "ru") return value;
  const Result<Time> t = parse_time(value);
  if (!t.is_ok()) return value;
  static constexpr std::array<std::string_view, 12> kMonths = {
      "января", "февраля", "марта",    "апреля",  "мая",    "июня",
      "июля",   "августа", "сентября", "октября", "ноября", "декабря"};
  const std::string iso = format_time(*t);  // YYYY-MM-DDTHH:MM:SS.mmmZ
  const int month = number(std::string_view(iso).substr(5, 2));
  std::string clock = iso.substr(11, 5);
  if (iso.substr(17, 6) != "00.000") {
    // Appends, not '"x" + std::string': GCC 12 -O3 -Wrestrict false positive (release build).
    clock += ':';
    clock += iso.substr(17, 2);
    if (iso.substr(20, 3) != "000") {
      clock += ',';
      clock += iso.substr(20, 3);
    }
  }
  return std::to_string(number(std::string_view(iso).substr(8, 2))) + " " +
         std::string(kMonths[static_cast<std::size_t>(month - 1)]) + " " + iso.substr(0, 4) +
         " г., " + clock + " UTC";
}

struct Reader {
  const MessageType& type;
  std::string_view lang;

  // Whether the field at `path` holds times: a date-time, or an array of them.
  bool is_time_field(const std::string& path) const {
    const Field* f = internal::find_field(type, path);
    if (f == nullptr || !f->schema) return false;
    const Json& schema = *f->schema;
    if (internal::is_time(schema)) return true;
    return schema.is_object() && schema.contains("items") && internal::is_time(schema["items"]);
  }

  std::string word(const std::string& path, const std::string& value) const {
    const auto l = type.values.find(std::string(lang));
    if (l == type.values.end()) return value;
    const auto f = l->second.find(path);
    if (f == l->second.end()) return value;
    const auto w = f->second.find(value);
    return w == f->second.end() ? value : w->second;
  }

  std::string label(const std::string& path, const std::string& key) const {
    const auto l = type.labels.find(std::string(lang));
    if (l == type.labels.end()) return key;
    const auto it = l->second.find(path);
    return it == l->second.end() ? key : it->second;
  }

  // Scalars as written (enum values in the reader's words, times in the reader's form,
  // booleans as yes/no), an object as "label value, ...", an array's items joined by "; ".
  // A value of the wrong kind renders too: it is the peer's, shown as sent.
  std::string value(const std::string& path, const Json& v) const {
    if (v.is_string()) {
      if (is_time_field(path)) return localized_time(lang, v.get<std::string>());
      return word(path, v.get<std::string>());
    }
    if (v.is_boolean()) {
      if (lang == "ru") return v.get<bool>() ? "да" : "нет";
      return v.get<bool>() ? "yes" : "no";
    }
    if (v.is_object()) {
      std::string out;
      for (const auto& [key, member] : v.items()) {
        const std::string sub = path + "." + key;
        out += (out.empty() ? "" : ", ") + label(sub, key) + " " + value(sub, member);
      }
      return out;
    }
    if (v.is_array()) {
      std::string out;
      for (const Json& item : v) out += (out.empty() ? "" : "; ") + value(path, item);
      return out;
    }
    return json::dump(v);
  }
};

// Expands `tmpl` from `body`; `absent` is set when a placeholder names an absent field.
std::string expand(std::string_view tmpl, const Reader& reader, const Json& body,
                   std::string_view text, bool& absent) {
  std::string out;
  for (std::size_t i = 0; i < tmpl.size();) {
    if (tmpl.substr(i, 2) == "{{") {
      out += '{';
      i += 2;
    } else if (tmpl.substr(i, 2) == "[[") {
      // load() checked the brackets balance and do not nest.
      const std::size_t close = tmpl.find("]]", i + 2);
      bool section_absent = false;
      const std::string section =
          expand(tmpl.substr(i + 2, close - i - 2), reader, body, text, section_absent);
      if (!section_absent) out += section;
      i = close + 2;
    } else if (tmpl[i] == '{') {
      const std::size_t close = tmpl.find('}', i + 1);
      const std::string name(tmpl.substr(i + 1, close - i - 1));
      const Json* v = name == "text" ? nullptr : internal::at_path(body, name);
      if (name == "text") {
        out += text;
      } else if (v == nullptr) {
        absent = true;
        out += kMissing;
      } else {
        out += reader.value(name, *v);
      }
      i = close + 1;
    } else {
      out += tmpl[i++];
    }
  }
  return out;
}

}  // namespace

namespace internal {

Result<std::vector<std::string>> placeholders(std::string_view tmpl) {
  std::vector<std::string> out;
  bool in_section = false;
  for (std::size_t i = 0; i < tmpl.size();) {
    if (tmpl.substr(i, 2) == "{{") {
      i += 2;
    } else if (tmpl.substr(i, 2) == "[[" || tmpl.substr(i, 2) == "]]") {
      const bool opens = tmpl[i] == '[';
      if (opens == in_section) {
        return Status::invalid_argument(opens ? "\"[[\" inside a section (they do not nest)"
                                              : "\"]]\" without \"[[\"");
      }
      in_section = opens;
      i += 2;
    } else if (tmpl[i] == '{') {
      const std::size_t close = tmpl.find('}', i + 1);
      if (close == std::string_view::npos) return Status::invalid_argument("unclosed '{'");
      out.emplace_back(tmpl.substr(i + 1, close - i - 1));
      i = close + 1;
    } else {
      ++i;
    }
  }
  if (in_section) return Status::invalid_argument("\"[[\" without \"]]\"");
  return out;
}

}  // namespace internal

std::string Catalog::render(std::string_view type, std::string_view body_json,
                            std::string_view text, std::string_view lang) const {
  const MessageType* t = find(type);
  if (t == nullptr) {
    if (lang == "ru") {
      return with_text("Сообщение неизвестного типа «" + std::string(type) + "», как получено" +
                           raw_body(body_json),
                       text);
    }
    return with_text(
        "Message of unknown type '" + std::string(type) + "', shown raw" + raw_body(body_json),
        text);
  }
  // The language every part of the rendering uses: `lang` if the type speaks it, else "en".
  const std::string_view used = t->templates.count(std::string(lang)) != 0 ? lang : kFallbackLang;

  Json body = Json::object();
  if (body_json.find_first_not_of(" \t\r\n") != std::string_view::npos) {
    Result<Json> parsed = json::parse_object(body_json);
    if (!parsed.is_ok()) {
      const std::string title = localized(t->title, used);
      if (used == "ru") return with_text(title + " (содержимое не удалось прочитать)", text);
      return with_text(title + " (the body could not be read)", text);
    }
    body = std::move(parsed).value();
  }
  bool absent = false;
  return expand(localized(t->templates, used), Reader{*t, used}, body, text, absent);
}

std::optional<std::string> Catalog::shown_raw_because(std::string_view type,
                                                      std::string_view body_json) const {
  const MessageType* t = find(type);
  if (t == nullptr) {
    return "type '" + std::string(type) +
           "' is not in this gateway's catalog: the message is shown as received";
  }
  // An empty body is read as {} (as render does).
  const bool empty = body_json.find_first_not_of(" \t\r\n") == std::string_view::npos;
  Status valid = validate(type, empty ? std::string_view("{}") : body_json);
  if (valid.is_ok()) return std::nullopt;
  return "the body does not match version " + std::to_string(t->version) + " of '" +
         std::string(type) + "' in this gateway's catalog (" + valid.message() +
         "): the message is shown as received";
}

}  // namespace parley::catalog
