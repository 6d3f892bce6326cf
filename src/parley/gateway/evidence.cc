#include "parley/gateway/evidence.h"

#include <optional>
#include <string>
#include <vector>

#include "parley/base/bytes.h"
#include "parley/base/json.h"
#include "parley/gateway/responses.h"
#include "parley/ledger/formats.h"
#include "parley/store/key_chains.h"
#include "parley/store/store.h"

namespace parley::gateway {
namespace {

using json::Json;

// A stored DSSE object (JSON text) as JSON, or null if there is none or it does not parse.
Json dsse_json(const std::optional<std::string>& text) {
  if (!text) return nullptr;
  Result<Json> parsed = json::parse(*text);
  return parsed.is_ok() ? *parsed : Json(nullptr);
}

// The countersignature over the head (owner's log, `size`): for our message, the peer's
// receipt of the transaction that carried it (it lists the message); for the peer's, our
// receipt over the head it arrived with, as stored with that head.
Result<Json> countersignature(Driver& driver, const core::MessageRecord& m,
                              const std::string& owner, const std::string& receiver,
                              std::uint64_t size) {
  if (m.direction == core::Direction::kOutbound) return dsse_json(m.receipt);
  PARLEY_ASSIGN_OR_RETURN(const std::vector<core::HeadRecord> heads,
                          driver.store().heads(owner, receiver));
  for (const core::HeadRecord& h : heads) {
    if (h.size == size) return dsse_json(h.receipt);
  }
  return Json(nullptr);
}

// The key of `chain` that signed `receipt` (a receipt has no place in its signer's log), the
// newest if none does.
crypto::VerifyKey receipt_key(const ledger::KeyChain& chain,
                              const std::optional<std::string>& receipt) {
  if (receipt) {
    for (auto link = chain.links().rbegin(); link != chain.links().rend(); ++link) {
      if (ledger::open_receipt_v2(*receipt, link->key, chain.party()).is_ok()) return link->key;
    }
  }
  return chain.newest().key;
}

// The key of the log's owner at the message's entry (its key in force there), the newest if
// the entry is not known.
crypto::VerifyKey entry_key(const ledger::KeyChain& chain, const core::MessageRecord& m) {
  return m.log_index ? chain.entry_key(*m.log_index) : chain.newest().key;
}

// Our receipt over the head of the peer's log of `size` entries, as stored with it.
Result<std::optional<std::string>> our_receipt(Driver& driver, const core::MessageRecord& m,
                                               std::uint64_t size) {
  PARLEY_ASSIGN_OR_RETURN(const std::vector<core::HeadRecord> heads,
                          driver.store().heads(m.peer, driver.home().config.party));
  for (const core::HeadRecord& h : heads) {
    if (h.size == size) return h.receipt;
  }
  return std::optional<std::string>();
}

// The keys that signed the evidence, along each party's chain of keys (docs/protocol.md "Key
// rotation"): ours of our chain in our log for the peer (our `parley rotate`s), the peer's of
// its chain as pinned here (store::pinned_chain), if it is still pinned.
struct EvidenceKeys {
  Json parties = Json::object();  // party -> the envelope's signer's key in force at its
                                  // entry, and the receiver's key that signed the receipt
  Json head = nullptr;            // the owner's key that signed the proven head
};

Result<EvidenceKeys> evidence_keys(Driver& driver, const core::MessageRecord& m,
                                   const std::optional<std::uint64_t>& size) {
  const bool outbound = m.direction == core::Direction::kOutbound;
  const std::string& me = driver.home().config.party;
  std::optional<ledger::KeyChain> ours;
  if (const ledger::KeyChain* chain = driver.own_chain(m.peer)) ours = *chain;
  if (!ours) ours.emplace(me, driver.home().keys.verify);
  std::optional<ledger::KeyChain> theirs;
  PARLEY_ASSIGN_OR_RETURN(const std::vector<core::Peer> peers, driver.store().peers());
  for (const core::Peer& p : peers) {
    if (p.bundle.party != m.peer) continue;
    PARLEY_ASSIGN_OR_RETURN(theirs, store::pinned_chain(driver.store(), p.bundle));
  }
  EvidenceKeys keys;
  if (outbound) {
    keys.parties[me] = base64_encode(entry_key(*ours, m).bytes);
    if (theirs) keys.parties[m.peer] = base64_encode(receipt_key(*theirs, m.receipt).bytes);
  } else {
    std::optional<std::string> receipt;
    if (size) {
      PARLEY_ASSIGN_OR_RETURN(receipt, our_receipt(driver, m, *size));
    }
    keys.parties[me] = base64_encode(receipt_key(*ours, receipt).bytes);
    if (theirs) keys.parties[m.peer] = base64_encode(entry_key(*theirs, m).bytes);
  }
  // A head of `size` entries is signed by the key of its last entry (ledger/key_chain.h): a
  // rotation between the message's entry and that head leaves it signed by a later key.
  const std::optional<ledger::KeyChain>& owner = outbound ? ours : theirs;
  if (size && owner) keys.head = base64_encode(owner->head_key(*size).bytes);
  return keys;
}

}  // namespace

net::HttpResponse evidence_view(Driver& driver, const core::MessageRecord& m) {
  const std::string& me = driver.home().config.party;
  const bool outbound = m.direction == core::Direction::kOutbound;
  const std::string owner = outbound ? me : m.peer;
  const std::string receiver = outbound ? m.peer : me;
  Result<Json> envelope = json::parse(m.envelope);
  if (!envelope.is_ok()) return error_response(envelope.status().with_context("stored envelope"));
  Result<std::optional<core::InclusionRecord>> inclusion = driver.store().inclusion(m.id);
  if (!inclusion.is_ok()) return error_response(inclusion.status());
  Json proof = nullptr;
  Json countersigned = nullptr;
  if (inclusion->has_value()) {
    const core::InclusionRecord& p = **inclusion;
    Json path = Json::array();
    for (const crypto::Digest& h : p.proof) path.push_back(hex_encode(h));
    proof =
        Json{{"index", p.index}, {"size", p.size}, {"root", hex_encode(p.root)}, {"path", path}};
    Result<Json> c = countersignature(driver, m, owner, receiver, p.size);
    if (!c.is_ok()) return error_response(c.status());
    countersigned = std::move(c).value();
  }
  Result<EvidenceKeys> keys = evidence_keys(
      driver, m,
      inclusion->has_value() ? std::optional<std::uint64_t>((*inclusion)->size) : std::nullopt);
  if (!keys.is_ok()) return error_response(keys.status());
  return json_response(200, {{"id", m.id},
                             {"direction", core::direction_name(m.direction)},
                             {"log", {{"owner", owner}, {"peer", receiver}}},
                             {"envelope", *envelope},
                             {"proof", proof},
                             {"countersignature", countersigned},
                             {"keys", keys->parties},
                             {"head_key", keys->head}});
}

}  // namespace parley::gateway
