// checkpoint_fixture: writes a parley log's checkpoint, keys, entries and proofs to a
// directory for an independent verifier (checkpoint_check.go) to check. Everything is made
// by parley's own code: the log's entries are hashed and proven by ledger/merkle, the
// checkpoint is signed by ledger/checkpoint, and the cosignature comes from the witness
// decision (ledger/witness) answering real add-checkpoint requests.
//
// Usage: parley-interop-fixture OUT_DIR. Keys and entries are fixed (seeded), so the output
// is the same on every run. The files are described in checkpoint_check.go.
#include <fstream>
#include <iostream>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "parley/base/rng.h"
#include "parley/ledger/checkpoint.h"
#include "parley/ledger/merkle.h"
#include "parley/ledger/witness.h"

namespace {

using parley::Result;
using parley::Status;
namespace ledger = parley::ledger;
namespace crypto = parley::crypto;

constexpr std::uint64_t kSize = 37;  // not a power of two: proofs with every kind of step
constexpr std::uint64_t kWitnessTime = 1796000000;
const std::vector<std::uint64_t> kInclusionIndexes = {0, 12, 22, 31, 36};
const std::vector<std::uint64_t> kOldSizes = {1, 13, 16, 32, 36};

bool write_file(const std::string& dir, const std::string& name, const std::string& text) {
  std::ofstream out(dir + "/" + name, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) std::cerr << "parley-interop-fixture: cannot write " << dir << "/" << name << "\n";
  return static_cast<bool>(out);
}

crypto::Keys keys(std::uint64_t seed) {
  parley::SeededRng rng(seed);
  return crypto::generate_keys(rng);
}

// Entries shaped like the log entries of envelopes (docs/transcript.md), of varied lengths.
std::vector<std::string> make_entries(const crypto::Keys& owner) {
  std::vector<std::string> entries;
  for (std::uint64_t i = 0; i < kSize; ++i) {
    const std::string payload = "{\"v\":1,\"seq\":" + std::to_string(i + 1) + ",\"pad\":\"" +
                                std::string(i * 7 % 50, 'x') + "\"}";
    const auto sig = crypto::sign(owner.signing, "application/vnd.parley.envelope.v1+json",
                                  parley::as_bytes(payload));
    entries.push_back("{\"key\":\"us-eucom\",\"payload\":\"" +
                      parley::base64_encode(parley::as_bytes(payload)) + "\",\"sig\":\"" +
                      parley::base64_encode(sig) + "\"}");
  }
  return entries;
}

struct Log {
  crypto::Keys owner = keys(101);
  std::string origin = ledger::origin_of("us-eucom", "ru-genstaff");
  std::vector<std::string> entries;
  std::vector<ledger::Hash> leaves;

  Log() : entries(make_entries(owner)) {
    for (const std::string& entry : entries)
      leaves.push_back(ledger::leaf_hash(parley::as_bytes(entry)));
  }
  std::vector<ledger::Hash> first(std::uint64_t size) const {
    return {leaves.begin(), leaves.begin() + static_cast<std::ptrdiff_t>(size)};
  }
  std::string checkpoint(std::uint64_t size) const {
    return ledger::sign_checkpoint({origin, size, ledger::root_of(first(size)), {}}, owner.signing,
                                   origin);
  }
  Result<std::string> add_checkpoint(std::uint64_t old_size, std::uint64_t size) const {
    PARLEY_ASSIGN_OR_RETURN(
        auto proof, ledger::consistency_proof(old_size, size, ledger::leaves_source(first(size))));
    return ledger::encode_add_checkpoint({old_size, proof, checkpoint(size)});
  }
  Result<std::string> inclusion(std::uint64_t index) const {
    PARLEY_ASSIGN_OR_RETURN(auto proof,
                            ledger::inclusion_proof(index, kSize, ledger::leaves_source(leaves)));
    std::string out = "index " + std::to_string(index) + "\n";
    for (const ledger::Hash& hash : proof) out += parley::base64_encode(hash) + "\n";
    return out;
  }
};

// The witness cosigns size 13, then the final size: its answer is appended to the checkpoint.
Result<std::string> cosigned_checkpoint(const Log& log, const ledger::WitnessIdentity& witness) {
  const ledger::WitnessedKeys logs{
      {log.origin, {{log.origin, ledger::kNoteKeyEd25519, log.owner.verify}}}};
  std::map<std::string, ledger::WitnessView, std::less<>> views;
  using Step = std::pair<std::uint64_t, std::uint64_t>;
  for (const auto& [old_size, size] : {Step{0, 13}, Step{13, kSize}}) {
    PARLEY_ASSIGN_OR_RETURN(const std::string body, log.add_checkpoint(old_size, size));
    const ledger::WitnessAnswer answer =
        ledger::add_checkpoint(body, logs, views, witness, kWitnessTime);
    if (answer.http_status != 200 || !answer.new_view) {
      return Status::internal("the witness answered " + std::to_string(answer.http_status) + ": " +
                              answer.body);
    }
    views[answer.origin] = *answer.new_view;
    if (size == kSize) return log.checkpoint(kSize) + answer.body;
  }
  return Status::internal("unreachable");
}

Status write_fixture(const std::string& dir) {
  const Log log;
  const crypto::Keys witness_keys = keys(202);
  const ledger::WitnessIdentity witness{"parley.example/nato-shape", witness_keys.signing};
  bool ok = write_file(
      dir, "log.vkey",
      ledger::encode_verifier_key({log.origin, ledger::kNoteKeyEd25519, log.owner.verify}) + "\n");
  ok &= write_file(dir, "witness.vkey",
                   ledger::encode_verifier_key(
                       {witness.name, ledger::kNoteKeyCosignature, witness_keys.verify}) +
                       "\n");
  PARLEY_ASSIGN_OR_RETURN(const std::string checkpoint, cosigned_checkpoint(log, witness));
  ok &= write_file(dir, "checkpoint", checkpoint);
  std::string entries;
  for (const std::string& entry : log.entries)
    entries += parley::base64_encode(parley::as_bytes(entry)) + "\n";
  ok &= write_file(dir, "entries", entries);
  for (const std::uint64_t index : kInclusionIndexes) {
    PARLEY_ASSIGN_OR_RETURN(const std::string proof, log.inclusion(index));
    ok &= write_file(dir, "inclusion-" + std::to_string(index), proof);
  }
  for (const std::uint64_t old_size : kOldSizes) {
    PARLEY_ASSIGN_OR_RETURN(const std::string body, log.add_checkpoint(old_size, kSize));
    ok &= write_file(dir, "add-checkpoint-" + std::to_string(old_size), body);
  }
  return ok ? Status::ok() : Status::internal("cannot write the fixture");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: parley-interop-fixture OUT_DIR\n";
    return 2;
  }
  const Status status = write_fixture(argv[1]);
  if (!status.is_ok()) {
    std::cerr << "parley-interop-fixture: " << status.message() << "\n";
    return 1;
  }
  return 0;
}
