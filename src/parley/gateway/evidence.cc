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

// The peer's key that signed this evidence (docs/protocol.md "Key rotation"), of its chain as
// pinned here (store::pinned_chain): for its own message, its key in force at the entry; for
// ours, the key of its chain that signed its receipt (a receipt has no place in its log), the
// newest if none does.
crypto::VerifyKey peer_key(const ledger::KeyChain& chain, const core::MessageRecord& m,
                           const std::optional<std::string>& receipt) {
  if (m.direction == core::Direction::kInbound) {
    return m.log_index ? chain.entry_key(*m.log_index) : chain.newest().key;
  }
  if (receipt) {
    for (auto link = chain.links().rbegin(); link != chain.links().rend(); ++link) {
      if (ledger::open_receipt_v2(*receipt, link->key, chain.party()).is_ok()) return link->key;
    }
  }
  return chain.newest().key;
}

// The parties' signing keys that signed the evidence (base64 of the 32 bytes, as in their
// bundles): ours, and the peer's (peer_key) if it is still pinned.
Result<Json> keys_json(Driver& driver, const core::MessageRecord& m) {
  Json keys = Json::object();
  keys[driver.home().config.party] = base64_encode(driver.home().keys.verify.bytes);
  PARLEY_ASSIGN_OR_RETURN(const std::vector<core::Peer> peers, driver.store().peers());
  for (const core::Peer& p : peers) {
    if (p.bundle.party != m.peer) continue;
    PARLEY_ASSIGN_OR_RETURN(const ledger::KeyChain chain,
                            store::pinned_chain(driver.store(), p.bundle));
    keys[m.peer] = base64_encode(peer_key(chain, m, m.receipt).bytes);
  }
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
  Result<Json> keys = keys_json(driver, m);
  if (!keys.is_ok()) return error_response(keys.status());
  return json_response(200, {{"id", m.id},
                             {"direction", core::direction_name(m.direction)},
                             {"log", {{"owner", owner}, {"peer", receiver}}},
                             {"envelope", *envelope},
                             {"proof", proof},
                             {"countersignature", countersigned},
                             {"keys", *keys}});
}

}  // namespace parley::gateway
