// `parley catalog [TYPE] [--json] [--lang L | --home DIR]`: the message types principals can
// send (DESIGN.md fact 3: notifications are structured data with schemas, rendered by each
// side in its language). Read in the reader's language; --json gives the catalog's data.
#include <algorithm>
#include <iostream>
#include <memory>
#include <string>

#include <fmt/format.h>

#include "parley/base/json.h"
#include "parley/catalog/catalog.h"
#include "parley/cli/commands.h"
#include "parley/gateway/home.h"

namespace parley::cli {
namespace {

using json::Json;

struct CatalogArgs {
  std::string type;
  std::string lang;
  std::string home;
  bool json = false;
};

// The command's own words; a language without them reads the English ones.
struct Words {
  const char* version;
  const char* fields;
  const char* none;
  const char* required;
  const char* optional;
  const char* one_of;
  const char* rules;
  const char* after;
  const char* templates;
  const char* example;
  const char* hint;
};

constexpr Words kEnglish = {"version",
                            "fields",
                            "none",
                            "required",
                            "optional",
                            "one of",
                            "rules",
                            "must be after",
                            "templates",
                            "example",
                            "(parley catalog TYPE shows a type)"};
constexpr Words kRussian = {"версия",
                            "поля",
                            "нет",
                            "обязательное",
                            "необязательное",
                            "одно из",
                            "правила",
                            "должно быть позже, чем",
                            "шаблоны",
                            "пример",
                            "(parley catalog ТИП показывает тип)"};

const Words& words_for(std::string_view lang) { return lang == "ru" ? kRussian : kEnglish; }

std::string in_lang(const catalog::PerLanguage& texts, const std::string& lang) {
  if (auto it = texts.find(lang); it != texts.end()) return it->second;
  if (auto it = texts.find("en"); it != texts.end()) return it->second;
  return texts.empty() ? "" : texts.begin()->second;
}

std::string label_of(const catalog::MessageType& type, const std::string& lang,
                     const std::string& path) {
  const auto l = type.labels.find(type.labels.count(lang) != 0 ? lang : "en");
  if (l == type.labels.end()) return path;
  const auto it = l->second.find(path);
  return it == l->second.end() ? path : it->second;
}

// "integer 1..1000", "string, at most 1024 characters", "date-time (UTC)", "one of A | B".
std::string describe_schema(const Json& s, const Words& w) {
  if (s.contains("enum")) {
    std::string choices;
    for (const Json& c : s["enum"]) {
      choices +=
          (choices.empty() ? "" : " | ") + (c.is_string() ? c.get<std::string>() : json::dump(c));
    }
    return fmt::format("{} {}", w.one_of, choices);
  }
  std::string out = s.contains("type") ? json::dump(s["type"]) : "any";
  out.erase(std::remove(out.begin(), out.end(), '"'), out.end());
  if (json::string_or(s, "format") == "date-time") return "date-time (RFC 3339, UTC)";
  if (s.contains("minimum") || s.contains("maximum")) {
    out += fmt::format(" {}..{}", s.contains("minimum") ? json::dump(s["minimum"]) : "",
                       s.contains("maximum") ? json::dump(s["maximum"]) : "");
  }
  if (s.contains("maxLength")) out += fmt::format(", <= {} chars", json::dump(s["maxLength"]));
  if (s.contains("minItems") || s.contains("maxItems")) {
    out += fmt::format(", {}..{} items", s.contains("minItems") ? json::dump(s["minItems"]) : "0",
                       s.contains("maxItems") ? json::dump(s["maxItems"]) : "");
  }
  return out;
}

void print_type(const catalog::MessageType& type, const std::string& lang) {
  const Words& w = words_for(lang);
  std::cout << fmt::format("{} ({} {}): {}\n", type.id, w.version, type.version,
                           in_lang(type.title, lang));
  std::cout << w.fields << ":" << (type.fields.empty() ? fmt::format(" {}\n", w.none) : "\n");
  for (const catalog::Field& f : type.fields) {
    const std::size_t depth =
        static_cast<std::size_t>(std::count(f.path.begin(), f.path.end(), '.'));
    std::cout << fmt::format("{}{}: {} ({}, {})\n", std::string(2 + 2 * depth, ' '), f.path,
                             label_of(type, lang, f.path), describe_schema(*f.schema, w),
                             f.required ? w.required : w.optional);
  }
  if (!type.rules.empty()) {
    std::cout << w.rules << ":\n";
    for (const catalog::Rule& r : type.rules) {
      std::cout << fmt::format("  {} {} {}\n", r.field, w.after, r.after);
    }
  }
  std::cout << w.templates << ":\n";
  for (const auto& [l, text] : type.templates) std::cout << fmt::format("  {}: {}\n", l, text);
  std::cout << w.example << ":\n  " << json::dump(*type.example) << "\n";
  std::cout << "  -> "
            << catalog::Catalog::builtin().render(type.id, json::dump(*type.example), "", lang)
            << "\n";
}

// --lang, else the home's language if --home is given, else English.
Result<std::string> reader_lang(const CatalogArgs& args) {
  if (!args.lang.empty()) return args.lang;
  if (args.home.empty()) return std::string("en");
  PARLEY_ASSIGN_OR_RETURN(gateway::Home home, gateway::open_home(args.home));
  return home.config.lang;
}

int run_catalog(const CatalogArgs& args) {
  const catalog::Catalog& cat = catalog::Catalog::builtin();
  Result<std::string> lang = reader_lang(args);
  if (!lang.is_ok()) return fail(lang.status());
  if (!args.type.empty()) {
    const catalog::MessageType* type = cat.find(args.type);
    if (type == nullptr) {
      std::string known;
      for (const catalog::MessageType& t : cat.types()) known += known.empty() ? t.id : ", " + t.id;
      return fail(Status::not_found(
          fmt::format("unknown message type '{}' (known: {})", args.type, known)));
    }
    if (args.json) {
      std::cout << cat.type_to_json(*type) << "\n";
    } else {
      print_type(*type, *lang);
    }
    std::cout << std::flush;
    return 0;
  }
  if (args.json) {
    std::cout << cat.to_json() << "\n" << std::flush;
    return 0;
  }
  std::size_t width = 4;
  for (const catalog::MessageType& t : cat.types()) width = std::max(width, t.id.size());
  for (const catalog::MessageType& t : cat.types()) {
    std::cout << fmt::format("{:<{}}  v{}  {}\n", t.id, width, t.version, in_lang(t.title, *lang));
  }
  std::cout << words_for(*lang).hint << "\n" << std::flush;
  return 0;
}

}  // namespace

void add_catalog_command(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<CatalogArgs>();
  int* code = &exit_code;
  CLI::App* sub = app.add_subcommand(
      "catalog",
      "List the message types principals can send, or show one type: its fields (from its "
      "JSON Schema), rules, templates and a valid example, in the reader's language");
  sub->add_option("TYPE", args->type, "A message type, e.g. notify.missile-launch");
  sub->add_flag("--json", args->json,
                "Print the catalog as a JSON array (or the type as one object): type, version, "
                "title, schema (JSON Schema draft 7), example, labels, values, templates, rules");
  sub->add_option("--lang", args->lang,
                  "Read it in this language (en, ru); default: the home's if --home is given, "
                  "else en")
      ->type_name("LANG");
  sub->add_option("--home", args->home, "A party's home directory: read in its language")
      ->type_name("DIR");
  sub->callback([args, code] { *code = run_catalog(*args); });
}

}  // namespace parley::cli
