// libFuzzer target: the signed tree head (ledger/formats.h), read structure-first as the
// offline verifier reads it (parse_sth, then verify_sth), and its payload alone
// (parse_sth_payload). receipt_fuzz covers open_sth, the gateway's path; this target checks
// that both paths agree: open_sth accepts exactly what parse_sth accepts, signed by the
// expected party with a signature verify_sth accepts. A head that parses re-encodes and
// parses to the same value, and a parsed payload signed again parses to the same head.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_fixture.h"

#include "parley/ledger/formats.h"

namespace {

using namespace parley;

bool same_head(const ledger::TreeHead& a, const ledger::TreeHead& b) {
  return a.log == b.log && a.peer == b.peer && a.size == b.size && a.root == b.root &&
         a.timestamp == b.timestamp;
}

void check_document(std::string_view text) {
  const fuzz::Fixture& f = fuzz::fixture();
  auto parsed = ledger::parse_sth(text);
  auto opened = ledger::open_sth(text, f.sender.verify, fuzz::kSender);
  const bool verifies = parsed.is_ok() && parsed->key == fuzz::kSender &&
                        ledger::verify_sth(*parsed, f.sender.verify).is_ok();
  fuzz::require(opened.is_ok() == verifies);
  if (!parsed.is_ok()) return;
  fuzz::require(parsed->key == parsed->head.log);
  auto again = ledger::parse_sth(ledger::encode_sth(*parsed));
  fuzz::require(again.is_ok() && again->payload_bytes == parsed->payload_bytes &&
                again->sig == parsed->sig && again->key == parsed->key &&
                same_head(again->head, parsed->head));
}

void check_payload(std::string_view text) {
  auto head = ledger::parse_sth_payload(as_bytes(text));
  if (!head.is_ok()) return;
  const ledger::SignedTreeHead signed_head =
      ledger::sign_sth(*head, fuzz::fixture().sender.signing);
  auto again = ledger::parse_sth(ledger::encode_sth(signed_head));
  fuzz::require(again.is_ok() && same_head(again->head, *head));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = fuzz::as_text(data, size);
  const fuzz::Fixture& f = fuzz::fixture();
  check_document(text);
  check_document(fuzz::sign_as_payload(text, ledger::kSthDomain, f.sender.signing, fuzz::kSender));
  check_payload(text);
  return 0;
}
