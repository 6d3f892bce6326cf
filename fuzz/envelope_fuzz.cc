// libFuzzer target: wire::open_envelope (and open_content on what opens).
//
// The input is tried twice: as a whole envelope (DSSE JSON) checked against a fixed key, and
// as a payload that the target signs itself, so that the payload parser behind the signature
// check is fuzzed too. Whatever opens must re-encode and open again to the same payload.
#include <cstddef>
#include <cstdint>

#include "fuzz_fixture.h"

#include "parley/wire/wire.h"

namespace {

void check(std::string_view text) {
  using namespace parley;
  const fuzz::Fixture& f = fuzz::fixture();
  auto envelope = wire::open_envelope(text, f.sender.verify, fuzz::kSender);
  if (!envelope.is_ok()) return;
  (void)wire::open_content(envelope->payload, f.seal_key);
  auto again =
      wire::open_envelope(wire::encode_envelope(*envelope), f.sender.verify, fuzz::kSender);
  fuzz::require(again.is_ok() && again->payload_bytes == envelope->payload_bytes &&
                again->payload.id == envelope->payload.id &&
                again->payload.seq == envelope->payload.seq);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace parley;
  const std::string_view text = fuzz::as_text(data, size);
  check(text);
  check(fuzz::sign_as_payload(text, wire::kEnvelopeDomain, fuzz::fixture().sender.signing,
                              fuzz::kSender));
  return 0;
}
