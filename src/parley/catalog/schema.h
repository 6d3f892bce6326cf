// schema: the one adapter to valijson, the JSON Schema validator (draft 7).
//
// valijson throws on a schema it cannot use; parley code does not throw, so it is compiled
// with exceptions on and called only from schema.cc, which turns each throw into a Status.
// Its results are kept as they come (a path into the value and valijson's sentence); the
// catalog turns them into the pointed errors principals read.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "parley/base/status.h"

namespace valijson {
class Schema;
class Validator;
}  // namespace valijson

namespace parley::catalog {

// One failed constraint: `path` is the property names and array indices (as decimal text)
// from the validated value's root; `what` is valijson's description.
struct Violation {
  std::vector<std::string> path;
  std::string what;
};

class CompiledSchema {
 public:
  // Compiles a draft-07 JSON Schema document (an object, or true / false). $ref may point only
  // inside `schema` (remote documents are never fetched). kInvalidArgument with valijson's reason
  // if valijson cannot use it (an unknown type name, a keyword of the wrong kind, a dangling $ref,
  // ...).
  static Result<CompiledSchema> compile(const nlohmann::json& schema);

  // Every violation of the schema by `value`, in valijson's order (a property's own
  // failures before the failures they cause in its parents), then those of the formats
  // checked here (below); empty if `value` is valid. Strong types: "1" is not a number, 1.0 is
  // not an integer only if it has a fraction.
  std::vector<Violation> validate(const nlohmann::json& value) const;

  // The formats "date-time", "date" and "time" (RFC 3339) are checked here, not by valijson,
  // wherever they sit on a path of "properties" and "items" from the root (every format of
  // the catalog's types): valijson 1.0 compiles a std::regex for each such value it meets,
  // some 7 million instructions, at every validation. A format anywhere else is left to
  // valijson. A step of such a path: a property name, or "every item" (nullopt).
  struct FormatCheck {
    std::vector<std::optional<std::string>> path;
    std::string format;
  };

 private:
  // valijson's validator keeps the std::regex of every `pattern` it has met: kept with the
  // schema, each pattern is compiled once, not at every validation (compiling one costs about
  // a millisecond). The cache is not thread-safe: validations of one schema take turns.
  struct Checker {
    std::mutex mutex;
    std::unique_ptr<valijson::Validator> validator;
    ~Checker();
  };
  std::shared_ptr<const valijson::Schema> schema_;
  std::shared_ptr<Checker> checker_;
  std::vector<FormatCheck> formats_;
};

}  // namespace parley::catalog
