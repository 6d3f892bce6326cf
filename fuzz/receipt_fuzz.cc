// libFuzzer target: ledger::open_receipt_v2 (the receipt a receiver answers a transaction
// with) and ledger::open_sth (the signed tree head a transaction carries).
//
// As envelope_fuzz: the input is tried as a whole document against a fixed key and as a
// payload the target signs itself. Whatever opens must re-encode and open again.
#include <cstddef>
#include <cstdint>

#include "fuzz_fixture.h"

#include "parley/ledger/formats.h"

namespace {

void check_receipt(std::string_view text) {
  using namespace parley;
  const fuzz::Fixture& f = fuzz::fixture();
  auto receipt = ledger::open_receipt_v2(text, f.receiver.verify, fuzz::kReceiver);
  if (!receipt.is_ok()) return;
  auto again = ledger::open_receipt_v2(ledger::encode_receipt_v2(*receipt), f.receiver.verify,
                                       fuzz::kReceiver);
  fuzz::require(again.is_ok() && again->payload_bytes == receipt->payload_bytes &&
                again->body.ids == receipt->body.ids &&
                again->body.indices == receipt->body.indices &&
                again->body.sth == receipt->body.sth);
  // Signing the parsed body again yields a receipt that opens to the same body.
  const ledger::ReceiptV2 resigned = ledger::sign_receipt_v2(receipt->body, f.receiver.signing);
  auto reopened = ledger::open_receipt_v2(ledger::encode_receipt_v2(resigned), f.receiver.verify,
                                          fuzz::kReceiver);
  fuzz::require(reopened.is_ok() && reopened->body.tx == receipt->body.tx &&
                reopened->body.received == receipt->body.received &&
                reopened->body.sth_sig == receipt->body.sth_sig);
}

void check_sth(std::string_view text) {
  using namespace parley;
  const fuzz::Fixture& f = fuzz::fixture();
  auto sth = ledger::open_sth(text, f.sender.verify, fuzz::kSender);
  if (!sth.is_ok()) return;
  auto again = ledger::open_sth(ledger::encode_sth(*sth), f.sender.verify, fuzz::kSender);
  fuzz::require(again.is_ok() && again->payload_bytes == sth->payload_bytes &&
                again->head.size == sth->head.size && again->head.root == sth->head.root);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace parley;
  const std::string_view text = fuzz::as_text(data, size);
  const fuzz::Fixture& f = fuzz::fixture();
  check_receipt(text);
  check_receipt(
      fuzz::sign_as_payload(text, ledger::kReceiptV2Domain, f.receiver.signing, fuzz::kReceiver));
  check_sth(text);
  check_sth(fuzz::sign_as_payload(text, ledger::kSthDomain, f.sender.signing, fuzz::kSender));
  return 0;
}
