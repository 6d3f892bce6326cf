// libFuzzer target: the catalog's check of a message body against its type's schema and
// rules (catalog::Catalog::validate, valijson behind the schema adapter), and the rendering
// of whatever body arrives (Catalog::render never fails). The first byte picks the type of
// the built-in catalog (modulo the number of types), the rest is the body. A body that
// validates must still validate after a JSON round trip, and must render in every language.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_fixture.h"

#include "parley/base/json.h"
#include "parley/catalog/catalog.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace parley;
  if (size == 0) return 0;
  const catalog::Catalog& catalog = catalog::Catalog::builtin();
  const catalog::MessageType& type = catalog.types()[data[0] % catalog.types().size()];
  const std::string_view body = fuzz::as_text(data + 1, size - 1);
  const Status valid = catalog.validate(type.id, body);
  for (const std::string& lang : catalog.languages()) {
    (void)catalog.render(type.id, body, "free text", lang);
  }
  if (!valid.is_ok()) {
    fuzz::require(valid.code() == StatusCode::kInvalidArgument);
    return 0;
  }
  auto parsed = json::parse_object(body);
  fuzz::require(parsed.is_ok());
  fuzz::require(catalog.validate(type.id, json::dump(*parsed)).is_ok());
  return 0;
}
