// libFuzzer target: parley::json::parse, the adapter every outside JSON goes through. It must
// never throw or crash; what parses must dump to text that parses to an equal value.
#include <cstddef>
#include <cstdint>

#include "fuzz_fixture.h"

#include "parley/base/json.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace parley;
  auto value = json::parse(fuzz::as_text(data, size));
  if (!value.is_ok()) return 0;
  const std::string text = json::dump(*value);
  auto again = json::parse(text);
  fuzz::require(again.is_ok() && json::dump(*again) == text);
  if (value->is_object()) {
    // The field getters must answer every key with a value or a Status, never throw.
    for (const auto& [key, item] : value->items()) {
      (void)json::get_string(*value, key);
      (void)json::get_optional_string(*value, key);
      (void)json::get_uint(*value, key);
      (void)json::get_bool(*value, key);
      (void)json::get_object(*value, key);
      (void)json::get_array(*value, key);
    }
    (void)json::check_keys(*value, {"v", "id"});
  }
  return 0;
}
