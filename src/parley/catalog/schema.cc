#include "parley/catalog/schema.h"

#include <exception>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

// Before any valijson header: make valijson throw (caught below) instead of abort().
#define VALIJSON_USE_EXCEPTIONS 1
#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validation_results.hpp>
#include <valijson/validator.hpp>

namespace parley::catalog {
namespace {

bool digits(std::string_view s, std::size_t at, std::size_t n) {
  if (at + n > s.size()) return false;
  for (std::size_t i = at; i < at + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
  }
  return true;
}

int number(std::string_view s, std::size_t at, std::size_t n) {
  int v = 0;
  for (std::size_t i = at; i < at + n; ++i) v = v * 10 + (s[i] - '0');
  return v;
}

// RFC 3339 full-date: YYYY-MM-DD, a day that exists in that month.
bool is_date(std::string_view s) {
  if (s.size() != 10 || !digits(s, 0, 4) || s[4] != '-' || !digits(s, 5, 2) || s[7] != '-' ||
      !digits(s, 8, 2)) {
    return false;
  }
  const int year = number(s, 0, 4);
  const int month = number(s, 5, 2);
  const int day = number(s, 8, 2);
  if (month < 1 || month > 12 || day < 1) return false;
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return day <= kDays[month - 1] + (month == 2 && leap ? 1 : 0);
}

// RFC 3339 full-time: HH:MM:SS[.frac](Z|+HH:MM|-HH:MM), second 60 allowed (a leap second).
bool is_time_of_day(std::string_view s) {
  if (!digits(s, 0, 2) || s.size() < 9 || s[2] != ':' || !digits(s, 3, 2) || s[5] != ':' ||
      !digits(s, 6, 2)) {
    return false;
  }
  if (number(s, 0, 2) > 23 || number(s, 3, 2) > 59 || number(s, 6, 2) > 60) return false;
  std::size_t at = 8;
  if (s[at] == '.') {
    const std::size_t first = ++at;
    while (at < s.size() && s[at] >= '0' && s[at] <= '9') ++at;
    if (at == first) return false;
  }
  const std::string_view zone = s.substr(at);
  if (zone == "Z" || zone == "z") return true;
  return zone.size() == 6 && (zone[0] == '+' || zone[0] == '-') && digits(zone, 1, 2) &&
         zone[3] == ':' && digits(zone, 4, 2) && number(zone, 1, 2) <= 23 &&
         number(zone, 4, 2) <= 59;
}

bool is_date_time(std::string_view s) {
  return s.size() > 11 && (s[10] == 'T' || s[10] == 't') && is_date(s.substr(0, 10)) &&
         is_time_of_day(s.substr(11));
}

// The format check and valijson's sentence for a failure, or nullptr (not checked here).
using FormatTest = bool (*)(std::string_view);
FormatTest format_test(const std::string& format) {
  if (format == "date-time") return is_date_time;
  if (format == "date") return is_date;
  if (format == "time") return is_time_of_day;
  return nullptr;
}

// Moves every format checked here (schema.h) out of `node` into `out`, recording its path.
void take_formats(nlohmann::json& node, std::vector<std::optional<std::string>>& path,
                  std::vector<CompiledSchema::FormatCheck>& out) {
  if (!node.is_object()) return;
  const auto format = node.find("format");
  if (format != node.end() && format->is_string() && format_test(format->get<std::string>())) {
    out.push_back({path, format->get<std::string>()});
    node.erase(format);
  }
  const auto properties = node.find("properties");
  if (properties != node.end() && properties->is_object()) {
    for (auto& [name, sub] : properties->items()) {
      path.emplace_back(name);
      take_formats(sub, path, out);
      path.pop_back();
    }
  }
  const auto items = node.find("items");
  if (items != node.end() && items->is_object()) {
    path.emplace_back(std::nullopt);
    take_formats(*items, path, out);
    path.pop_back();
  }
}

// Checks `check` on every value its path reaches from `value`; `at` is the path so far.
void check_format(const CompiledSchema::FormatCheck& check, std::size_t step,
                  const nlohmann::json& value, std::vector<std::string>& at,
                  std::vector<Violation>& out) {
  if (step == check.path.size()) {
    if (value.is_string() && !format_test(check.format)(value.get_ref<const std::string&>())) {
      out.push_back({at, "String should be a valid " + check.format});
    }
    return;
  }
  const std::optional<std::string>& name = check.path[step];
  if (name) {
    if (!value.is_object()) return;
    const auto it = value.find(*name);
    if (it == value.end()) return;
    at.push_back(*name);
    check_format(check, step + 1, *it, at, out);
    at.pop_back();
    return;
  }
  if (!value.is_array()) return;
  for (std::size_t i = 0; i < value.size(); ++i) {
    at.push_back(std::to_string(i));
    check_format(check, step + 1, value[i], at, out);
    at.pop_back();
  }
}

// valijson names a step "[name]" or "[index]" and the root "<root>".
std::vector<std::string> path_of(const std::vector<std::string>& context) {
  std::vector<std::string> path;
  for (const std::string& step : context) {
    if (step.size() >= 2 && step.front() == '[' && step.back() == ']') {
      path.push_back(step.substr(1, step.size() - 2));
    }
  }
  return path;
}

}  // namespace

Result<CompiledSchema> CompiledSchema::compile(const nlohmann::json& schema) {
  if (!schema.is_object() && !schema.is_boolean()) {
    return Status::invalid_argument("a schema must be a JSON object or a boolean");
  }
  CompiledSchema out;
  nlohmann::json stripped = schema;
  std::vector<std::optional<std::string>> path;
  take_formats(stripped, path, out.formats_);
  try {
    auto compiled = std::make_shared<valijson::Schema>();
    valijson::SchemaParser parser(valijson::SchemaParser::kDraft7);
    const valijson::adapters::NlohmannJsonAdapter adapter(stripped);
    parser.populateSchema(adapter, *compiled);
    out.schema_ = std::move(compiled);
    out.checker_ = std::make_shared<Checker>();
    out.checker_->validator =
        std::make_unique<valijson::Validator>(valijson::Validator::kStrongTypes);
    return out;
  } catch (const std::exception& e) {
    return Status::invalid_argument(std::string("valijson cannot use the schema: ") + e.what());
  }
}

CompiledSchema::Checker::~Checker() = default;

std::vector<Violation> CompiledSchema::validate(const nlohmann::json& value) const {
  std::vector<Violation> out;
  try {
    valijson::ValidationResults results;
    const valijson::adapters::NlohmannJsonAdapter adapter(value);
    const std::lock_guard<std::mutex> lock(checker_->mutex);
    if (!checker_->validator->validate(*schema_, adapter, &results)) {
      valijson::ValidationResults::Error error;
      while (results.popError(error)) out.push_back({path_of(error.context), error.description});
    }
  } catch (const std::exception& e) {
    // A compiled schema should not throw while validating; report it rather than abort.
    out.push_back({{}, std::string("the validator failed: ") + e.what()});
  }
  std::vector<std::string> at;
  for (const FormatCheck& check : formats_) check_format(check, 0, value, at, out);
  return out;
}

}  // namespace parley::catalog
