// `parley catalog [TYPE] [--json]`: the message types principals can send (DESIGN.md fact 3:
// notifications are structured data with schemas, rendered by each side in its language).
#include <iostream>
#include <memory>
#include <string>

#include <fmt/format.h>

#include "parley/catalog/catalog.h"
#include "parley/cli/commands.h"

namespace parley::cli {
namespace {

struct CatalogArgs {
  std::string type;
  bool json = false;
};

std::string title_of(const catalog::MessageType& type) {
  if (auto it = type.title.find("en"); it != type.title.end()) return it->second;
  if (!type.title.empty()) return type.title.begin()->second;
  return "";
}

std::string describe_field(const catalog::Field& field) {
  std::string out = fmt::format("  {} ({}{})", field.name, catalog::field_kind_name(field.kind),
                                field.required ? "" : ", optional");
  switch (field.kind) {
    case catalog::FieldKind::kEnum: {
      std::string choices;
      for (const std::string& c : field.choices) choices += choices.empty() ? c : " | " + c;
      out += fmt::format(": one of {}", choices);
      break;
    }
    case catalog::FieldKind::kString:
      out += fmt::format(": at most {} characters", field.max_length);
      break;
    case catalog::FieldKind::kInteger:
    case catalog::FieldKind::kNumber:
    case catalog::FieldKind::kBoolean:
    case catalog::FieldKind::kTime:
      break;
  }
  for (const auto& [lang, label] : field.label) out += fmt::format("\n      {}: {}", lang, label);
  return out;
}

void print_type(const catalog::MessageType& type) {
  std::cout << type.id << "\n";
  for (const auto& [lang, title] : type.title)
    std::cout << fmt::format("title ({}): {}\n", lang, title);
  if (type.fields.empty()) {
    std::cout << "fields: none\n";
  } else {
    std::cout << "fields:\n";
    for (const catalog::Field& field : type.fields) std::cout << describe_field(field) << "\n";
  }
  if (!type.templates.empty()) {
    std::cout << "templates:\n";
    for (const auto& [lang, text] : type.templates) {
      std::cout << fmt::format("  {}: {}\n", lang, text);
    }
  }
}

int run_catalog(const CatalogArgs& args) {
  const catalog::Catalog& cat = catalog::Catalog::builtin();
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
      print_type(*type);
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
    std::cout << fmt::format("{:<{}}  {} ({} field{})\n", t.id, width, title_of(t), t.fields.size(),
                             t.fields.size() == 1 ? "" : "s");
  }
  std::cout << "(parley catalog TYPE shows a type's fields and templates)\n" << std::flush;
  return 0;
}

}  // namespace

void add_catalog_command(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<CatalogArgs>();
  int* code = &exit_code;
  CLI::App* sub = app.add_subcommand(
      "catalog",
      "List the message types principals can send, or show one type's schema (its fields) and "
      "its templates in each language");
  sub->add_option("TYPE", args->type, "A message type, e.g. notify.missile-launch");
  sub->add_flag("--json", args->json, "Print the catalog (or the type) as JSON");
  sub->callback([args, code] { *code = run_catalog(*args); });
}

}  // namespace parley::cli
