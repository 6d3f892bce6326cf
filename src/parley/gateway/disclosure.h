// disclosure: a party shows an observer of a line one message it sent on that line, and the
// observer checks it before it reads it (docs/protocol.md "Disclosure"). Both ways:
//   - as a party, Discloser builds the request from the store (the envelope as logged, its
//     RFC 6962 inclusion proof in the checkpoint of our log the observer cosigned last, the
//     salt and content re-opened from our own seal) and posts it, sealed to the observer:
//     POST /federation/v1/disclosures;
//   - as an observer, answer_disclosure checks it (the envelope signed by the discloser, its
//     inclusion at that index in the checkpoint of that size it cosigned, the seal, the salt
//     and content against the envelope's signed commitment) and keeps it; disclosed_view
//     shows what it kept (GET /api/v1/disclosed). Nothing else of a line reaches an observer
//     in the clear: it sees checkpoints and forwarded receipts, never an envelope or a body.
// Single-threaded: the driver's io thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "parley/base/json.h"
#include "parley/base/rng.h"
#include "parley/base/status.h"
#include "parley/base/time.h"
#include "parley/core/model.h"
#include "parley/crypto/crypto.h"
#include "parley/gateway/fingerprints.h"
#include "parley/net/net.h"
#include "parley/store/store.h"
#include "parley/wire/wire.h"

namespace parley::gateway {

inline constexpr std::string_view kDisclosureTarget = "/federation/v1/disclosures";
inline constexpr std::size_t kDisclosureBodyMax = 8 * 1024 * 1024;
// The seal of a disclosure: the key the discloser and the observer derive for epoch 1
// (docs/protocol.md "Content, sealing and commitment", step 1), and the associated data
// "parley/disclosure/v1\n<message id>\n<discloser>\n<observer>".
inline constexpr std::uint32_t kDisclosureEpoch = 1;
std::string disclosure_associated_data(std::string_view id, std::string_view discloser,
                                       std::string_view observer);

// What an observer needs of itself to open a disclosure.
struct ObserverSelf {
  std::string party;
  crypto::BoxSecretKey box_secret;
  crypto::BoxPublicKey box_public;
};

// Answers one disclosure from `discloser` (the pinned peer the TLS connection authenticated;
// empty if none). 400 malformed; 403 not from a pinned peer, or an envelope not signed by
// it (with one of the keys of its chain as `store` pins it: store::pinned_chain); 404 a log we do
// not witness; 409 {"error","size"} when we hold another checkpoint size of that log than the
// request's (or none); 422 a proof, seal, salt or content that does not check; 503 a store failure;
// 200 {"id","origin","index","size","new"} once kept. Nothing is stored unless everything checks.
net::HttpResponse answer_disclosure(store::Store& store, const ObserverSelf& self,
                                    const std::vector<wire::Bundle>& pinned,
                                    std::string_view discloser, std::string_view body, Time now);

// GET /api/v1/disclosed: {"disclosed": [...]}, oldest first (docs/openapi.yaml Disclosed).
net::HttpResponse disclosed_view(store::Store& store, const std::vector<wire::Bundle>& pinned);

// The request body for `message` (ours, outbound) to `observer`, proven in our log's
// checkpoint of `size`. kFailedPrecondition saying why it cannot be disclosed yet.
struct DiscloserSelf {
  std::string party;
  crypto::VerifyKey verify;  // our bundle's key: our chain in each log starts there
  crypto::BoxSecretKey box_secret;
  crypto::BoxPublicKey box_public;
};
Result<std::string> disclosure_body(store::Store& store, const DiscloserSelf& self,
                                    const core::MessageRecord& message, const wire::Bundle& peer,
                                    const wire::Bundle& observer, std::uint64_t size, Rng& rng);

// Posts disclosures to observers, one client per observer. The size proven is that of the
// latest cosignature the observer gave our log (Store::cosignatures); if the observer
// answers 409 with another size (its view moved), the request is made again once for it.
class Discloser {
 public:
  using Done = std::function<void(Result<json::Json>)>;
  // `fingerprints`: the certificates to accept from each observer (fingerprints.h).
  Discloser(boost::asio::io_context& io, DiscloserSelf self, net::TlsIdentity tls,
            store::Store& store, Rng& rng, FingerprintsOf fingerprints = {});
  ~Discloser();
  Discloser(const Discloser&) = delete;
  Discloser& operator=(const Discloser&) = delete;

  // Discloses `message` to `observer`; `done` gets the observer's 200 answer or why not.
  void disclose(const core::MessageRecord& message, const wire::Bundle& peer,
                const wire::Bundle& observer, Done done);
  void close();

 private:
  void post(const core::MessageRecord& message, const wire::Bundle& peer,
            const wire::Bundle& observer, std::uint64_t size, bool again, Done done);

  boost::asio::io_context& io_;
  DiscloserSelf self_;
  net::TlsIdentity tls_;
  store::Store& store_;
  Rng& rng_;
  FingerprintsOf fingerprints_;
  std::map<std::string, std::unique_ptr<net::FederationClient>> clients_;  // by observer
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace parley::gateway
