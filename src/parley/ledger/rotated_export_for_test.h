// A transcript export in which one party rotated its signing key (docs/transcript.md "The
// chain of keys"), for the tests of the verifier (ledger/key_chain_test.cc) and of `parley
// verify` (cli/verify_cmd_test.cc). Test code only: it CHECKs instead of returning errors.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "parley/base/json.h"
#include "parley/base/rng.h"
#include "parley/ledger/transcript.h"
#include "parley/wire/dsse.h"
#include "parley/wire/rotation.h"
#include "parley/wire/wire.h"

namespace parley::ledger::test_export {

inline constexpr std::string_view kA = "us-eucom";     // the exporter, who rotates
inline constexpr std::string_view kB = "ru-genstaff";  // the peer

inline Time at(std::int64_t seconds) {
  return time_from_unix_ms(1'796'000'000'000 + seconds * 1000);
}

// A rotation statement of `party` from `from` to `to`, number n, epoch n + 1.
inline std::string statement(Rng& rng, std::string_view party, const crypto::Keys& from,
                             const crypto::Keys& to, std::uint64_t n, std::uint32_t epoch = 0) {
  wire::Rotation r;
  r.id = uuid_v7(at(static_cast<std::int64_t>(n)), rng);
  r.party = std::string(party);
  r.n = n;
  r.old_sign_key = from.verify;
  r.new_sign_key = to.verify;
  r.new_tls_fingerprint = std::string(64, 'e');
  r.epoch = epoch == 0 ? static_cast<std::uint32_t>(n + 1) : epoch;
  r.created = at(static_cast<std::int64_t>(n));
  return wire::sign_rotation(r, from.signing, to.signing);
}

struct Head {
  SignedTreeHead sth;
  std::optional<ReceiptV2> receipt;
};

// An export in which us-eucom (the exporter) rotates from k1 to k2 at entry 3 of its log:
//   us-eucom's log: 0-2 envelopes (k1), 3 the rotation (k1), 4-6 envelopes (k2); heads of
//   size 2 (k1), 4 (k1: the statement is its last entry) and 7 (k2), each countersigned by
//   ru-genstaff; the manifest signed with k2.
//   ru-genstaff's log: 2 envelopes, both held, one head countersigned by us-eucom (with k2).
class RotatedExport {
 public:
  RotatedExport() : rng_(29) {
    a1_ = crypto::generate_keys(rng_);
    a2_ = crypto::generate_keys(rng_);
    b_ = crypto::generate_keys(rng_);
    seal_ = crypto::derive_seal_key(a1_.box_secret, a1_.box_public, b_.box_public, 1).value();
    for (int i = 0; i < 3; ++i) append_envelope(kA, kB, a1_, a_log_);
    a_log_.push_back(statement(rng_, kA, a1_, a2_, 1));
    rotation_index_ = 3;
    for (int i = 0; i < 3; ++i) append_envelope(kA, kB, a2_, a_log_);
    for (int i = 0; i < 2; ++i) append_envelope(kB, kA, b_, b_log_);
    a_heads_.push_back(head(kA, kB, a_log_, 2, a1_, b_, {0, 1}));
    a_heads_.push_back(head(kA, kB, a_log_, 4, a1_, b_, {2, 3}));
    a_heads_.push_back(head(kA, kB, a_log_, 7, a2_, b_, {4, 5, 6}));
    b_heads_.push_back(head(kB, kA, b_log_, 2, b_, a2_, {0, 1}));
  }

  Head head(std::string_view owner, std::string_view other, const std::vector<std::string>& log,
            std::uint64_t size, const crypto::Keys& owner_key, const crypto::Keys& other_key,
            const std::vector<std::uint64_t>& indices) {
    TreeHead h;
    h.log = std::string(owner);
    h.peer = std::string(other);
    h.size = size;
    h.root = root_of(leaves(log, size));
    h.timestamp = at(100 + static_cast<std::int64_t>(size));
    Head out;
    out.sth = sign_sth(h, owner_key.signing);
    ReceiptV2Body body;
    body.tx = uuid_v7(h.timestamp, rng_);
    body.from = std::string(other);
    body.to = std::string(owner);
    body.sth = out.sth.payload_bytes;
    body.sth_sig = out.sth.sig;
    for (const std::uint64_t i : indices) {
      body.ids.push_back(id_of(log[i]));
      body.indices.push_back(i);
    }
    body.received = h.timestamp;
    out.receipt = sign_receipt_v2(body, other_key.signing);
    return out;
  }

  ExportFiles files() const {
    ExportFiles files;
    files[bundle_path(kA)] = bundle(kA, a1_);  // the bundle ru-genstaff pinned: the chain's start
    files[bundle_path(kB)] = bundle(kB, b_);
    std::string log_a;
    for (std::size_t i = 0; i < a_log_.size(); ++i) {
      const EntryKind kind = i == rotation_index_ ? EntryKind::kRotation : EntryKind::kEnvelope;
      log_a += encode_log_line(i, a_log_[i], kind) + "\n";
    }
    files[log_path(kA)] = log_a;
    std::string log_b;
    std::string proofs_b;
    const std::vector<Hash> b_leaves = leaves(b_log_, b_log_.size());
    for (std::size_t i = 0; i < b_log_.size(); ++i) {
      log_b += encode_log_line(i, b_log_[i]) + "\n";
      proofs_b +=
          encode_proof_line(i, b_log_.size(),
                            inclusion_proof(i, b_log_.size(), leaves_source(b_leaves)).value()) +
          "\n";
    }
    files[log_path(kB)] = log_b;
    files[proofs_path(kB)] = proofs_b;
    files[heads_path(kA)] = heads_file(a_heads_);
    files[heads_path(kB)] = heads_file(b_heads_);
    sign(files);
    return files;
  }

  // (Re)writes manifest.json over the other files, signed with us-eucom's newest key.
  void sign(ExportFiles& files) const {
    Manifest manifest;
    manifest.exporter = std::string(kA);
    manifest.parties = {std::string(kA), std::string(kB)};
    manifest.created = at(1000);
    for (const auto& [path, contents] : files) {
      if (path != kManifestPath) manifest.files[path] = crypto::sha256(as_bytes(contents));
    }
    files[std::string(kManifestPath)] = encode_manifest(sign_manifest(manifest, a2_.signing));
  }

  SeededRng rng_;
  crypto::Keys a1_;
  crypto::Keys a2_;
  crypto::Keys b_;
  crypto::SealKey seal_{};
  std::vector<std::string> a_log_;
  std::vector<std::string> b_log_;
  std::size_t rotation_index_ = 0;
  std::vector<Head> a_heads_;
  std::vector<Head> b_heads_;

  void append_envelope(std::string_view from, std::string_view to, const crypto::Keys& key,
                       std::vector<std::string>& log) {
    wire::Draft draft;
    draft.created = at(static_cast<std::int64_t>(log.size() + 1));
    draft.id = uuid_v7(draft.created, rng_);
    draft.line = "saceur-cgs";
    draft.seq = log.size() + 1;
    draft.from = {std::string(from), "saceur"};
    draft.to = {std::string(to), "cgs"};
    draft.type = "text";
    draft.content.text = "message " + std::to_string(draft.seq);
    log.push_back(
        wire::encode_envelope(wire::seal_and_sign(draft, seal_, key.signing, from, rng_).envelope));
  }

  // Helpers, public for the tests.
  static std::vector<Hash> leaves(const std::vector<std::string>& log, std::uint64_t size) {
    std::vector<Hash> out;
    for (std::uint64_t i = 0; i < size; ++i) out.push_back(leaf_hash(as_bytes(log[i])));
    return out;
  }
  // The id a receipt names the entry by: the envelope's, or the statement's.
  static std::string id_of(const std::string& entry) {
    const wire::Dsse dsse = wire::parse_dsse(entry, 1 << 20).value();
    const json::Json payload = json::parse_object(to_string(dsse.payload)).value();
    return payload.at("id").get<std::string>();
  }
  static std::string bundle(std::string_view party, const crypto::Keys& keys) {
    wire::Bundle bundle;
    bundle.party = std::string(party);
    bundle.sign_key = keys.verify;
    bundle.box_key = keys.box_public;
    bundle.tls_fingerprint = hex_encode(crypto::sha256(as_bytes(party)));
    bundle.federation = {"127.0.0.1:7001"};
    return wire::encode_bundle(bundle);
  }
  static std::string heads_file(const std::vector<Head>& heads) {
    std::string out;
    for (const Head& h : heads) {
      out += encode_head_line(encode_sth(h.sth), encode_receipt_v2(*h.receipt)) + "\n";
    }
    return out;
  }
};

}  // namespace parley::ledger::test_export
