// libFuzzer target: wire::open_receipt.
//
// As envelope_fuzz: the input is tried as a whole receipt against a fixed key and as a
// payload the target signs itself. Whatever opens must re-encode and open again.
#include <cstddef>
#include <cstdint>

#include "fuzz_fixture.h"

#include "parley/wire/wire.h"

namespace {

void check(std::string_view text) {
  using namespace parley;
  const fuzz::Fixture& f = fuzz::fixture();
  auto receipt = wire::open_receipt(text, f.receiver.verify, fuzz::kReceiver);
  if (!receipt.is_ok()) return;
  auto again =
      wire::open_receipt(wire::encode_receipt(*receipt), f.receiver.verify, fuzz::kReceiver);
  fuzz::require(again.is_ok() && again->payload_bytes == receipt->payload_bytes &&
                again->body.ids == receipt->body.ids && again->body.digest == receipt->body.digest);
  // Signing the parsed body again yields a receipt that opens to the same body.
  const wire::Receipt resigned = wire::sign_receipt(receipt->body, f.receiver.signing);
  auto reopened =
      wire::open_receipt(wire::encode_receipt(resigned), f.receiver.verify, fuzz::kReceiver);
  fuzz::require(reopened.is_ok() && reopened->body.tx == receipt->body.tx &&
                reopened->body.received == receipt->body.received);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace parley;
  const std::string_view text = fuzz::as_text(data, size);
  check(text);
  check(fuzz::sign_as_payload(text, wire::kReceiptDomain, fuzz::fixture().receiver.signing,
                              fuzz::kReceiver));
  return 0;
}
