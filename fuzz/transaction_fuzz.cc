// libFuzzer target: wire::parse_transaction (v2). A parsed transaction must re-encode and
// parse to the same value, its envelopes byte for byte (they are leaves of a log).
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
                again->to == tx->to && again->sth == tx->sth &&
                again->entries.size() == tx->entries.size() &&
                again->consistency.size() == tx->consistency.size());
  for (std::size_t i = 0; i < tx->entries.size(); ++i) {
    fuzz::require(again->entries[i].index == tx->entries[i].index &&
                  again->entries[i].envelope == tx->entries[i].envelope &&
                  again->entries[i].proof == tx->entries[i].proof &&
                  again->entries[i].rotation == tx->entries[i].rotation);
  }
  for (std::size_t i = 0; i < tx->consistency.size(); ++i) {
    fuzz::require(again->consistency[i].from_size == tx->consistency[i].from_size &&
                  again->consistency[i].from_root == tx->consistency[i].from_root &&
                  again->consistency[i].proof == tx->consistency[i].proof);
  }
  return 0;
}
