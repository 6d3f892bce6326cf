// libFuzzer target: wire::parse_bundle. A parsed bundle must re-encode and parse to the same
// value.
#include <cstddef>
#include <cstdint>

#include "fuzz_fixture.h"

#include "parley/wire/wire.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace parley;
  auto bundle = wire::parse_bundle(fuzz::as_text(data, size));
  if (!bundle.is_ok()) return 0;
  for (const std::string& address : bundle->federation) {
    fuzz::require(wire::parse_host_port(address).is_ok());
  }
  auto again = wire::parse_bundle(wire::encode_bundle(*bundle));
  fuzz::require(again.is_ok() && again->party == bundle->party &&
                again->sign_key == bundle->sign_key && again->box_key == bundle->box_key &&
                again->tls_fingerprint == bundle->tls_fingerprint &&
                again->federation == bundle->federation && again->lang == bundle->lang);
  return 0;
}
