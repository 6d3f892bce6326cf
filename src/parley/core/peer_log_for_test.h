// Test support, not part of the library: the peer's (ru-genstaff's) log for us-eucom written
// entry by entry, envelopes signed with a chosen key and key rotation statements, and the
// transactions that carry its entries (docs/protocol.md "Key rotation").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "parley/core/session_harness.h"
#include "parley/wire/rotation.h"

namespace parley::core {

// ru-genstaff's log for us-eucom as the test writes it: envelopes signed with a chosen key,
// and rotation statements.
class RuLog {
 public:
  explicit RuLog(Harness& h) : h_(h) {}

  // Appends an envelope of seq `seq` signed with `key`, sealed under `epoch` (0: the epoch in
  // force after the last rotation appended), with the id `id` (empty: a fresh one); returns
  // its id.
  std::string envelope(const crypto::Keys& key, std::uint64_t seq, std::uint32_t epoch = 0,
                       const std::string& id = "") {
    wire::Draft d = draft_from_ru(h_.rng(), seq);
    if (!id.empty()) d.id = id;
    d.epoch = epoch != 0 ? epoch : epoch_;
    const crypto::SealKey seal =
        *crypto::derive_seal_key(h_.keys(kRu).keys.box_secret, h_.keys(kRu).keys.box_public,
                                 h_.keys(kUs).keys.box_public, d.epoch);
    texts_.push_back(wire::encode_envelope(
        wire::seal_and_sign(d, seal, key.signing, "ru-genstaff", h_.rng()).envelope));
    rotation_.push_back(false);
    return d.id;
  }

  // Appends the rotation n from `from` to `to`, signed by `signer`; returns its id.
  std::string rotation(const crypto::Keys& from, const crypto::Keys& to, std::uint64_t n,
                       const crypto::Keys* signer = nullptr) {
    wire::Rotation r;
    r.id = uuid_v7(h_.now, h_.rng());
    r.party = "ru-genstaff";
    r.n = n;
    r.old_sign_key = from.verify;
    r.new_sign_key = to.verify;
    r.new_tls_fingerprint = std::string(64, 'e');
    r.epoch = static_cast<std::uint32_t>(n + 1);
    r.created = h_.now;
    texts_.push_back(wire::sign_rotation(r, (signer ? *signer : from).signing, to.signing));
    rotation_.push_back(true);
    epoch_ = r.epoch;
    return r.id;
  }

  const std::string& text(std::size_t i) const { return texts_[i]; }

  // A transaction carrying the entries `carried` under a head of the first `size` entries
  // signed with `head_key`, consistent from the head of size `from`, coming `after` the head
  // of that size if set (docs/protocol.md "Transaction window").
  std::string transaction(const std::vector<std::uint64_t>& carried, std::uint64_t size,
                          const crypto::Keys& head_key, std::uint64_t from,
                          std::optional<std::uint64_t> after = std::nullopt) {
    std::vector<ledger::Hash> leaves;
    for (std::uint64_t i = 0; i < size; ++i)
      leaves.push_back(ledger::leaf_hash(as_bytes(texts_[i])));
    const ledger::NodeSource source = ledger::leaves_source(leaves);
    wire::Transaction tx;
    tx.id = uuid_v7(h_.now, h_.rng());
    tx.from = "ru-genstaff";
    tx.to = "us-eucom";
    tx.after = after;
    tx.sth = ledger::encode_sth(ledger::sign_sth(
        {"ru-genstaff", "us-eucom", leaves.size(), ledger::root_of(leaves), h_.now},
        head_key.signing));
    for (const std::uint64_t i : carried) {
      wire::TransactionEntry entry{i, texts_[i], *ledger::inclusion_proof(i, size, source)};
      entry.rotation = rotation_[i];
      tx.entries.push_back(entry);
    }
    const std::vector<ledger::Hash> before(leaves.begin(),
                                           leaves.begin() + static_cast<std::ptrdiff_t>(from));
    tx.consistency.push_back(
        {from, ledger::root_of(before), *ledger::consistency_proof(from, size, source)});
    return wire::encode_transaction(tx);
  }

 private:
  Harness& h_;
  std::uint32_t epoch_ = 1;
  std::vector<std::string> texts_;
  std::vector<bool> rotation_;
};

}  // namespace parley::core
