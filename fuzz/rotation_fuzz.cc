// libFuzzer target: the key rotation statement (wire/rotation.h) and the chain of keys that
// follows it (ledger/key_chain.h). The input is tried as a whole statement (opened with the
// fixture's sender key as the key in force), as a payload the target signs itself with that
// key (so the payload parser behind the signature is reached), and as a bare payload.
// Invariants: open_rotation accepts only a statement whose old key is the key in force and
// whose possession signature verifies with its new key; a KeyChain takes a statement exactly
// when it opens and is rotation 1 to epoch 2, and then puts its new key in force after it,
// and not before; a parsed payload re-encodes (signed again) to a statement whose payload
// parses to the same fields.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_fixture.h"

#include "parley/ledger/key_chain.h"
#include "parley/wire/dsse.h"
#include "parley/wire/rotation.h"

namespace {

using namespace parley;

bool same_rotation(const wire::Rotation& a, const wire::Rotation& b) {
  return a.id == b.id && a.party == b.party && a.n == b.n && a.old_sign_key == b.old_sign_key &&
         a.new_sign_key == b.new_sign_key && a.new_tls_fingerprint == b.new_tls_fingerprint &&
         a.epoch == b.epoch && a.created == b.created && a.possession == b.possession;
}

void check_statement(std::string_view text) {
  const fuzz::Fixture& f = fuzz::fixture();
  auto opened = wire::open_rotation(text, f.sender.verify, fuzz::kSender);
  ledger::KeyChain chain(std::string(fuzz::kSender), f.sender.verify);
  auto added = chain.add(7, text);
  if (!opened.is_ok()) {
    fuzz::require(!added.is_ok() && chain.links().size() == 1);
    return;
  }
  fuzz::require(opened->old_sign_key == f.sender.verify);
  fuzz::require(opened->new_sign_key != f.sender.verify && opened->n >= 1 && opened->epoch >= 2);
  fuzz::require(crypto::verify(opened->new_sign_key, wire::kPossessionDomain,
                               as_bytes(wire::possession_message(*opened)), opened->possession)
                    .is_ok());
  const bool first = opened->n == 1 && opened->epoch == 2;
  fuzz::require(added.is_ok() == first);
  if (!first) return;
  fuzz::require(same_rotation(*added, *opened));
  fuzz::require(chain.entry_key(7) == f.sender.verify && chain.head_key(8) == f.sender.verify);
  fuzz::require(chain.entry_key(8) == opened->new_sign_key &&
                chain.head_key(9) == opened->new_sign_key);
}

void check_payload(std::string_view text) {
  auto parsed = wire::parse_rotation_payload(as_bytes(text));
  if (!parsed.is_ok()) return;
  fuzz::require(parsed->n >= 1 && parsed->epoch >= 2 &&
                parsed->new_sign_key != parsed->old_sign_key &&
                parsed->new_tls_fingerprint.size() == 64);
  // Signed again by its own old key, if that is the fixture's: the payload must come back.
  const fuzz::Fixture& f = fuzz::fixture();
  if (parsed->old_sign_key != f.sender.verify || parsed->new_sign_key != f.receiver.verify ||
      parsed->party != fuzz::kSender) {
    return;
  }
  const std::string again = wire::sign_rotation(*parsed, f.sender.signing, f.receiver.signing);
  auto opened = wire::open_rotation(again, f.sender.verify, fuzz::kSender);
  fuzz::require(opened.is_ok());
  wire::Rotation expected = *parsed;
  expected.possession = opened->possession;  // signed again, deterministically (Ed25519)
  fuzz::require(same_rotation(*opened, expected));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = fuzz::as_text(data, size);
  const fuzz::Fixture& f = fuzz::fixture();
  check_statement(text);
  check_statement(
      fuzz::sign_as_payload(text, wire::kRotationDomain, f.sender.signing, fuzz::kSender));
  check_payload(text);
  return 0;
}
