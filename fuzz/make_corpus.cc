// Writes the valid seed inputs of fuzz/corpus/ (hand-written malformed seeds sit beside them):
//   parley-fuzz-make-corpus /work/main/fuzz/corpus
// Seeds are deterministic: the keys come from fuzz_fixture.h and all randomness from a seed.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "fuzz_fixture.h"

#include "parley/base/json.h"
#include "parley/catalog/catalog.h"
#include "parley/ledger/transcript.h"
#include "parley/wire/dsse.h"
#include "parley/wire/rotation.h"
#include "parley/wire/wire.h"

namespace {

using namespace parley;

bool write(const std::filesystem::path& dir, const std::string& name, const std::string& text) {
  std::filesystem::create_directories(dir);
  std::ofstream out(dir / name, std::ios::binary | std::ios::trunc);
  out << text;
  return static_cast<bool>(out);
}

wire::Draft draft(Rng& rng, std::uint64_t seq) {
  wire::Draft d;
  d.created = *parse_time("2026-11-24T21:00:00.123Z");
  d.id = uuid_v7(d.created, rng);
  d.line = "saceur-cgs";
  d.seq = seq;
  d.from = {std::string(fuzz::kSender), "saceur"};
  d.to = {std::string(fuzz::kReceiver), "cgs"};
  d.precedence = wire::Precedence::kFlash;
  d.type = "notify.missile-launch";
  d.content.body_json = R"({"count":2,"site":"alpha","armed":false,"range_km":1500.5})";
  d.content.text = "Two launches; not directed at you. Две пуски.";
  return d;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
    return 2;
  }
  const std::filesystem::path root(argv[1]);
  const fuzz::Fixture& f = fuzz::fixture();
  SeededRng rng(7);
  bool ok = true;

  // Envelopes: whole envelopes, and bare payloads (the target also signs its input).
  std::vector<wire::Envelope> envelopes;
  for (std::uint64_t seq = 1; seq <= 3; ++seq) {
    wire::Draft d = draft(rng, seq);
    if (seq == 2) {
      d.precedence = wire::Precedence::kRoutine;
      d.type = "text";
      d.expires = *parse_time("2026-11-25T21:00:00Z");
      d.reply_to = envelopes.front().payload.id;
      d.lang = "ru";
      d.content = {"{}", ""};
    }
    envelopes.push_back(
        wire::seal_and_sign(d, f.seal_key, f.sender.signing, fuzz::kSender, rng).envelope);
  }
  for (std::size_t i = 0; i < envelopes.size(); ++i) {
    ok &= write(root / "envelope_fuzz", "valid_envelope_" + std::to_string(i + 1),
                wire::encode_envelope(envelopes[i]));
    ok &= write(root / "envelope_fuzz", "valid_payload_" + std::to_string(i + 1),
                to_string(envelopes[i].payload_bytes));
  }

  // Transactions (v2): the three envelopes as the sender's log, its signed head, their
  // inclusion proofs and a consistency proof from size 1.
  std::vector<ledger::Hash> leaves;
  for (const auto& e : envelopes)
    leaves.push_back(ledger::leaf_hash(as_bytes(wire::encode_envelope(e))));
  const ledger::NodeSource source = ledger::leaves_source(leaves);
  const ledger::SignedTreeHead sth =
      ledger::sign_sth({std::string(fuzz::kSender), std::string(fuzz::kReceiver), leaves.size(),
                        ledger::root_of(leaves), *parse_time("2026-11-24T21:00:01Z")},
                       f.sender.signing);
  ok &= write(root / "receipt_fuzz", "valid_sth", ledger::encode_sth(sth));
  wire::Transaction tx;
  tx.id = uuid_v7(*parse_time("2026-11-24T21:00:01Z"), rng);
  tx.from = std::string(fuzz::kSender);
  tx.to = std::string(fuzz::kReceiver);
  tx.sth = ledger::encode_sth(sth);
  for (std::uint64_t i = 0; i < envelopes.size(); ++i) {
    tx.entries.push_back({i, wire::encode_envelope(envelopes[i]),
                          *ledger::inclusion_proof(i, leaves.size(), source)});
  }
  tx.consistency.push_back({1, leaves[0], *ledger::consistency_proof(1, leaves.size(), source)});
  ok &= write(root / "transaction_fuzz", "valid_three", wire::encode_transaction(tx));
  tx.entries.resize(1);
  tx.consistency = {{0, ledger::empty_root(), {}}};
  ok &= write(root / "transaction_fuzz", "valid_one", wire::encode_transaction(tx));

  // Receipts (v2): whole receipts and bare payloads.
  ledger::ReceiptV2Body body;
  body.tx = tx.id;
  body.from = std::string(fuzz::kReceiver);
  body.to = std::string(fuzz::kSender);
  body.sth = sth.payload_bytes;
  body.sth_sig = sth.sig;
  for (std::uint64_t i = 0; i < envelopes.size(); ++i) {
    body.ids.push_back(envelopes[i].payload.id);
    body.indices.push_back(i);
  }
  body.received = *parse_time("2026-11-24T21:00:02.500Z");
  const ledger::ReceiptV2 receipt = ledger::sign_receipt_v2(body, f.receiver.signing);
  ok &= write(root / "receipt_fuzz", "valid_receipt", ledger::encode_receipt_v2(receipt));
  ok &= write(root / "receipt_fuzz", "valid_payload", to_string(receipt.payload_bytes));

  // Bundles.
  wire::Bundle bundle;
  bundle.party = std::string(fuzz::kSender);
  bundle.sign_key = f.sender.verify;
  bundle.box_key = f.sender.box_public;
  bundle.tls_fingerprint = hex_encode(crypto::sha256(as_bytes("certificate DER")));
  bundle.federation = {"127.0.0.1:7001", "[::1]:7002", "gw-backup.eucom.example:443"};
  ok &= write(root / "bundle_fuzz", "valid_bundle", wire::encode_bundle(bundle));
  wire::Bundle with_translators = bundle;  // v2: the party's translators
  with_translators.translators = {"interpreter", "linguist"};
  ok &= write(root / "bundle_fuzz", "valid_bundle_v2", wire::encode_bundle(with_translators));

  // Refusals.
  ok &= write(root / "refusal_fuzz", "valid_refusal",
              wire::encode_refusal({"envelope payload: field 'seq': must be at least 1",
                                    envelopes.front().payload.id}));
  ok &= write(root / "refusal_fuzz", "valid_refusal_no_id",
              wire::encode_refusal({"transaction: field 'tx': not a lowercase UUID", ""}));

  // JSON: every valid seed above is also a JSON seed.
  ok &= write(root / "json_fuzz", "valid_envelope", wire::encode_envelope(envelopes.front()));
  ok &= write(root / "json_fuzz", "valid_bundle", wire::encode_bundle(bundle));

  // Heads: the signed head, and its payload alone.
  ok &= write(root / "head_fuzz", "valid_sth", ledger::encode_sth(sth));
  ok &= write(root / "head_fuzz", "valid_payload", to_string(sth.payload_bytes));

  // Rotation statements: us-eucom's first rotation, to the receiver's key (a key whose secret
  // the fixture holds, so the target can sign a parsed payload again), and its payload alone.
  // Its own Rng: the seeds written after it stay as they were.
  SeededRng rotation_rng(17);
  wire::Rotation rotation;
  rotation.id = uuid_v7(*parse_time("2026-11-24T21:06:00Z"), rotation_rng);
  rotation.party = std::string(fuzz::kSender);
  rotation.n = 1;
  rotation.old_sign_key = f.sender.verify;
  rotation.new_sign_key = f.receiver.verify;
  rotation.new_tls_fingerprint = std::string(64, 'a');
  rotation.epoch = 2;
  rotation.created = *parse_time("2026-11-24T21:06:00Z");
  const std::string statement = wire::sign_rotation(rotation, f.sender.signing, f.receiver.signing);
  ok &= write(root / "rotation_fuzz", "valid_statement", statement);
  ok &= write(root / "rotation_fuzz", "valid_payload",
              to_string(wire::parse_dsse(statement, wire::kRotationBytesMax)->payload));
  ok &= write(root / "transcript_fuzz", "valid_rotation_line",
              "l" + ledger::encode_log_line(5, statement, ledger::EntryKind::kRotation));

  // Transcript files: one line of each kind ('l', 'h', 'p' prefixes), the manifest ('m'),
  // and a whole export ('x'): the sender's complete log of three entries with its head and
  // the receiver's receipt, the receiver's empty log, both bundles, the signed manifest.
  const std::string log_line = ledger::encode_log_line(0, wire::encode_envelope(envelopes[0]));
  const std::string head_line =
      ledger::encode_head_line(ledger::encode_sth(sth), ledger::encode_receipt_v2(receipt));
  ok &= write(root / "transcript_fuzz", "valid_log_line", "l" + log_line);
  ok &= write(root / "transcript_fuzz", "valid_head_line", "h" + head_line);
  ok &= write(root / "transcript_fuzz", "valid_head_line_no_receipt",
              "h" + ledger::encode_head_line(ledger::encode_sth(sth), std::nullopt));
  ok &= write(root / "transcript_fuzz", "valid_proof_line",
              "p" + ledger::encode_proof_line(1, leaves.size(),
                                              *ledger::inclusion_proof(1, leaves.size(), source)));
  wire::Bundle receiver_bundle = bundle;
  receiver_bundle.party = std::string(fuzz::kReceiver);
  receiver_bundle.sign_key = f.receiver.verify;
  receiver_bundle.box_key = f.receiver.box_public;
  receiver_bundle.tls_fingerprint = hex_encode(crypto::sha256(as_bytes("receiver DER")));
  ledger::ExportFiles files;
  files[ledger::bundle_path(fuzz::kSender)] = wire::encode_bundle(bundle);
  files[ledger::bundle_path(fuzz::kReceiver)] = wire::encode_bundle(receiver_bundle);
  std::string sender_log;
  for (std::size_t i = 0; i < envelopes.size(); ++i) {
    sender_log += ledger::encode_log_line(i, wire::encode_envelope(envelopes[i])) + "\n";
  }
  files[ledger::log_path(fuzz::kSender)] = sender_log;
  files[ledger::heads_path(fuzz::kSender)] = head_line + "\n";
  files[ledger::log_path(fuzz::kReceiver)] = "";
  files[ledger::heads_path(fuzz::kReceiver)] = "";
  files[ledger::proofs_path(fuzz::kReceiver)] = "";
  ledger::Manifest manifest;
  manifest.exporter = std::string(fuzz::kSender);
  manifest.parties = {std::string(fuzz::kSender), std::string(fuzz::kReceiver)};
  manifest.created = *parse_time("2026-11-24T21:05:00Z");
  for (const auto& [path, contents] : files) {
    manifest.files[path] = crypto::sha256(as_bytes(contents));
  }
  const std::string manifest_text =
      ledger::encode_manifest(ledger::sign_manifest(manifest, f.sender.signing));
  ok &= write(root / "transcript_fuzz", "valid_manifest", "m" + manifest_text);
  files[std::string(ledger::kManifestPath)] = manifest_text;
  std::string packed = "x";
  for (const auto& [path, contents] : files) packed += path + '\0' + contents + '\0';
  ok &= write(root / "transcript_fuzz", "valid_export", packed);
  const ledger::TranscriptReport report = ledger::verify_transcript(files);
  for (const std::string& failure : report.failures) {
    std::fprintf(stderr, "the seed export does not verify: %s\n", failure.c_str());
    ok = false;
  }

  // Merkle: an inclusion proof (mode 0) and a consistency proof (mode 1) that verify, and a
  // tree of 64 leaves with a few sizes (mode 2). Big-endian sizes, as merkle_fuzz.cc reads.
  const auto u64 = [](std::uint64_t v) {
    std::string out;
    for (int shift = 56; shift >= 0; shift -= 8) out += static_cast<char>((v >> shift) & 0xff);
    return out;
  };
  const auto hash_text = [](const ledger::Hash& h) { return std::string(h.begin(), h.end()); };
  std::string inclusion = std::string(1, '\0') + u64(1) + u64(leaves.size()) +
                          hash_text(leaves[1]) + hash_text(ledger::root_of(leaves));
  // Named, not `for (h : *inclusion_proof(...))`: the Result would die before the loop ran.
  const auto proof = ledger::inclusion_proof(1, leaves.size(), source);
  for (const ledger::Hash& h : *proof) inclusion += hash_text(h);
  ok &= write(root / "merkle_fuzz", "valid_inclusion", inclusion);
  std::string consistency = std::string(1, '\1') + u64(1) + u64(leaves.size()) +
                            hash_text(leaves[0]) + hash_text(ledger::root_of(leaves));
  const auto consistency_path = ledger::consistency_proof(1, leaves.size(), source);
  for (const ledger::Hash& h : *consistency_path) consistency += hash_text(h);
  ok &= write(root / "merkle_fuzz", "valid_consistency", consistency);
  ok &=
      write(root / "merkle_fuzz", "tree_64", std::string("\2\100") + "abcdefghijklmnopqrstuvwxyz");

  // Catalog: each built-in type's example, the first byte naming the type by its index.
  const catalog::Catalog& types = catalog::Catalog::builtin();
  for (std::size_t i = 0; i < types.types().size(); ++i) {
    const catalog::MessageType& type = types.types()[i];
    ok &= write(root / "catalog_fuzz", "valid_" + type.id,
                std::string(1, static_cast<char>(i)) + json::dump(*type.example));
  }

  if (!ok) {
    std::fprintf(stderr, "could not write the corpus under %s\n", argv[1]);
    return 1;
  }
  return 0;
}
