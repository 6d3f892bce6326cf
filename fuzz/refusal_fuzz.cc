// libFuzzer target: wire::parse_refusal. A parsed refusal must re-encode and parse to the
// same value.
#include <cstddef>
#include <cstdint>

#include "fuzz_fixture.h"

#include "parley/wire/wire.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace parley;
  auto refusal = wire::parse_refusal(fuzz::as_text(data, size));
  if (!refusal.is_ok()) return 0;
  auto again = wire::parse_refusal(wire::encode_refusal(*refusal));
  fuzz::require(again.is_ok() && again->error == refusal->error && again->id == refusal->id);
  return 0;
}
