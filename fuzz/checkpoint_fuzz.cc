// libFuzzer target: the C2SP formats of ledger/checkpoint.h and ledger/witness.h, which read
// what any witness or log on the network sends: signed notes, checkpoint texts, verifier
// keys, tlog-witness add-checkpoint requests and tlog-policy files (ledger/policy.h: what a
// reader of an export gives `parley verify --policy`). Each parser is strict, so what parses
// re-encodes to the very same bytes; and the witness's decision never fails, cosigns only a
// checkpoint signed by a key of the owner's pinned chain no older than the key of the view it
// holds, and answers with one of the spec's status codes.
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_fixture.h"

#include "parley/ledger/checkpoint.h"
#include "parley/ledger/policy.h"
#include "parley/ledger/witness.h"

namespace {

using namespace parley;

void check_parsers(std::string_view text) {
  if (auto note = ledger::parse_note(text); note.is_ok()) {
    fuzz::require(ledger::encode_note(*note) == text);
  }
  if (auto checkpoint = ledger::parse_checkpoint_text(text); checkpoint.is_ok()) {
    fuzz::require(ledger::checkpoint_text(*checkpoint) == text);
  }
  if (auto key = ledger::parse_verifier_key(text); key.is_ok()) {
    fuzz::require(ledger::encode_verifier_key(*key) == text);
  }
  if (auto request = ledger::parse_add_checkpoint(text); request.is_ok()) {
    fuzz::require(ledger::encode_add_checkpoint(*request) == text);
  }
  // A policy that parses is consistent: its quorum and every group member are defined, and
  // checking a note against it never fails other than by saying it is not met.
  if (auto policy = ledger::parse_policy(text); policy.is_ok()) {
    fuzz::require(!policy->quorum.empty());
    for (const ledger::Policy::Group& g : policy->groups) {
      fuzz::require(g.threshold >= 1 && g.threshold <= g.members.size());
    }
    const fuzz::Fixture& f = fuzz::fixture();
    const std::string origin = ledger::origin_of(fuzz::kSender, fuzz::kReceiver);
    auto note = ledger::parse_note(
        ledger::sign_checkpoint({origin, 1, ledger::empty_root(), {}}, f.sender.signing, origin));
    const Status met = ledger::check_policy(*policy, *note);
    fuzz::require(met.is_ok() || met.code() == StatusCode::kFailedPrecondition);
  }
}

// The owner's chain, as the witness pins it: the sender's key, then the receiver's (as if the
// sender had rotated to it).
ledger::WitnessedKeys chain_of(const std::string& origin) {
  const fuzz::Fixture& f = fuzz::fixture();
  return {{origin,
           {{origin, ledger::kNoteKeyEd25519, f.sender.verify},
            {origin, ledger::kNoteKeyEd25519, f.receiver.verify}}}};
}

// `body` against a witness with no view of the origin, and against one whose view (the empty
// tree) the second key signed: then only that key may sign.
void check_witness(std::string_view body) {
  const fuzz::Fixture& f = fuzz::fixture();
  const std::string origin = ledger::origin_of(fuzz::kSender, fuzz::kReceiver);
  const ledger::WitnessedKeys logs = chain_of(origin);
  const ledger::WitnessIdentity witness{"parley.example/nato-shape", f.receiver.signing};
  const std::map<std::string, ledger::WitnessView, std::less<>> none;
  const std::map<std::string, ledger::WitnessView, std::less<>> rotated{
      {origin,
       {0, ledger::empty_root(),
        ledger::sign_checkpoint({origin, 0, ledger::empty_root(), {}}, f.receiver.signing,
                                origin)}}};
  for (const auto* views : {&none, &rotated}) {
    const ledger::WitnessAnswer answer = ledger::add_checkpoint(body, logs, *views, witness, 1);
    const int s = answer.http_status;
    fuzz::require(s == 200 || s == 400 || s == 403 || s == 404 || s == 409 || s == 422);
    fuzz::require((s == 200) == answer.new_view.has_value());
    if (s != 200) continue;
    const std::vector<ledger::NoteVerifier>& chain = logs.begin()->second;
    auto opened = ledger::open_checkpoint(answer.new_view->checkpoint, chain[1]);
    if (views == &none && !opened.is_ok()) {
      opened = ledger::open_checkpoint(answer.new_view->checkpoint, chain[0]);
    }
    fuzz::require(opened.is_ok() && opened->checkpoint.origin == origin &&
                  opened->checkpoint.size == answer.new_view->size);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = fuzz::as_text(data, size);
  check_parsers(text);
  check_witness(text);
  // The input as a checkpoint text the log signed: the witness's signature checks pass and
  // the request's other checks are reached.
  if (ledger::parse_checkpoint_text(text).is_ok()) {
    const fuzz::Fixture& f = fuzz::fixture();
    auto checkpoint = ledger::parse_checkpoint_text(text);
    for (const crypto::SigningKey* key : {&f.sender.signing, &f.receiver.signing}) {
      const std::string note = ledger::sign_checkpoint(*checkpoint, *key, checkpoint->origin);
      check_witness(ledger::encode_add_checkpoint({0, {}, note}));
    }
  }
  return 0;
}
