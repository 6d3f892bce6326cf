// libFuzzer target: wire::parse_transaction. A parsed transaction must re-encode and parse
// to the same value.
#include <cstddef>
#include <cstdint>

#include "fuzz_fixture.h"

#include "parley/wire/wire.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace parley;
  auto tx = wire::parse_transaction(fuzz::as_text(data, size));
  if (!tx.is_ok()) return 0;
  auto again = wire::parse_transaction(wire::encode_transaction(*tx));
  fuzz::require(again.is_ok() && again->id == tx->id && again->from == tx->from &&
                again->to == tx->to && again->envelopes == tx->envelopes);
  return 0;
}
