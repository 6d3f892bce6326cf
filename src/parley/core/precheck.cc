#include "parley/core/precheck.h"

#include <utility>

#include "parley/core/peer_session.h"
#include "parley/ledger/formats.h"
#include "parley/ledger/key_chain.h"

namespace parley::core {

std::vector<PrecheckItem> plan_precheck(const wire::Transaction& tx, const PeerContext& context) {
  const ledger::KeyChain own(context.peer.party, context.peer.sign_key);
  const ledger::KeyChain& chain = context.chain != nullptr ? *context.chain : own;
  std::vector<PrecheckItem> items;
  items.reserve(tx.entries.size() + 1);
  items.push_back(
      PrecheckItem{PrecheckItem::Kind::kHead, tx.sth, context.peer.party, chain.newest().key, {}});
  for (const wire::TransactionEntry& entry : tx.entries) {
    if (entry.rotation) continue;
    // Sealed under the epoch in force at its index (verify_transaction opens it so): after a
    // rotation, the epoch-1 key would only make every opening miss.
    Result<crypto::SealKey> seal_key = seal_key_of(context, epoch_at(chain, entry.index));
    if (!seal_key.is_ok()) continue;  // verification says why, inline
    items.push_back(PrecheckItem{PrecheckItem::Kind::kEnvelope, entry.envelope, context.peer.party,
                                 chain.entry_key(entry.index), *seal_key});
  }
  return items;
}

crypto::Facts run_precheck(const PrecheckItem& item) {
  crypto::Facts facts;
  switch (item.kind) {
    case PrecheckItem::Kind::kHead: {
      // The signature alone (its size and fields are open_sth's to judge, inline).
      Result<wire::Dsse> dsse = wire::parse_dsse(item.text, item.text.size());
      if (dsse.is_ok() && wire::verify_dsse(*dsse, ledger::kSthDomain, item.key).is_ok()) {
        facts.add_signature(item.key, ledger::kSthDomain, dsse->payload, dsse->sig);
      }
      return facts;
    }
    case PrecheckItem::Kind::kEnvelope: {
      // The signature first; the payload is read only once it holds (wire::open_envelope).
      Result<wire::Envelope> envelope = wire::open_envelope(item.text, item.key, item.party);
      if (!envelope.is_ok()) return facts;
      facts.add_signature(item.key, wire::kEnvelopeDomain, envelope->payload_bytes, envelope->sig);
      const wire::Payload& p = envelope->payload;
      const Bytes ad = wire::content_associated_data(p.id, p.line);
      Result<Bytes> plaintext = crypto::open(item.seal_key, ad, p.sealed);
      if (plaintext.is_ok()) facts.add_opening(item.seal_key, ad, p.sealed, std::move(*plaintext));
      return facts;
    }
  }
  return facts;
}

std::vector<PrecheckItem> PeerSession::precheck_items(
    std::string_view body, std::shared_ptr<const wire::Transaction>& parsed) const {
  // No precheck where verification stops before its signatures: no seal key, or recovering
  // (the transaction is answered 503 unread). A malformed body is refused at once.
  if (!seal_key_status_.is_ok() || !recovery_done()) return {};
  Result<wire::Transaction> tx = wire::parse_transaction(body);
  if (!tx.is_ok()) return {};
  auto shared = std::make_shared<const wire::Transaction>(std::move(*tx));
  std::vector<PrecheckItem> items = plan_precheck(*shared, context());
  parsed = std::move(shared);
  return items;
}

}  // namespace parley::core
