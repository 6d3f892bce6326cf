#include "parley/catalog/schema.h"

#include <exception>
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
  try {
    auto compiled = std::make_shared<valijson::Schema>();
    valijson::SchemaParser parser(valijson::SchemaParser::kDraft7);
    const valijson::adapters::NlohmannJsonAdapter adapter(schema);
    parser.populateSchema(adapter, *compiled);
    CompiledSchema out;
    out.schema_ = std::move(compiled);
    return out;
  } catch (const std::exception& e) {
    return Status::invalid_argument(std::string("valijson cannot use the schema: ") + e.what());
  }
}

std::vector<Violation> CompiledSchema::validate(const nlohmann::json& value) const {
  std::vector<Violation> out;
  try {
    valijson::Validator validator(valijson::Validator::kStrongTypes);
    valijson::ValidationResults results;
    const valijson::adapters::NlohmannJsonAdapter adapter(value);
    if (validator.validate(*schema_, adapter, &results)) return out;
    valijson::ValidationResults::Error error;
    while (results.popError(error)) out.push_back({path_of(error.context), error.description});
  } catch (const std::exception& e) {
    // A compiled schema should not throw while validating; report it rather than abort.
    out.push_back({{}, std::string("the validator failed: ") + e.what()});
  }
  return out;
}

}  // namespace parley::catalog
