// The driver's traffic with its peers besides transactions (driver.h): heartbeats both ways,
// the keys and certificates it checks them with, and which of our keys and TLS identities it
// presents after our key rotations (docs/protocol.md "Key rotation").
#include <algorithm>

#include <boost/asio/post.hpp>
#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "parley/base/json.h"
#include "parley/gateway/driver.h"

namespace parley::gateway {
namespace {

constexpr std::string_view kHeartbeatTarget = "/federation/v1/heartbeat";

}  // namespace

void Driver::post_heartbeat(const core::PostHeartbeat& beat) {
  if (stopping_) return;
  const std::string party = beat.party;
  const core::PathIndex path = beat.path;
  const std::uint64_t id = beat.id;
  net::FederationClient& client = *clients_.at(party).heartbeats.at(path);
  const wire::Bundle* bundle = pinned_bundle(party);  // the clients were made from it
  const std::string address = bundle != nullptr ? bundle->federation.at(path) : "";
  wire::SignedHeartbeat signed_beat = wire::sign_heartbeat(
      wire::make_heartbeat(home_.config.party, party, address, now(), rng_), our_key_for(party));
  const std::string body = wire::encode_signed_heartbeat(signed_beat);
  // What the answer must name: the digest of exactly this payload.
  std::string request = std::move(signed_beat.payload);
  client.post(
      std::string(kHeartbeatTarget), body, beat.timeout,
      [this, party, path, id, request = std::move(request)](Result<net::HttpResponse> response) {
        // Deferred so that a client completing inline cannot re-enter feed().
        boost::asio::post(io_, [this, party, path, id, request = std::move(request),
                                response = std::move(response)]() {
          if (stopping_) return;
          // A path is up when the peer answered this heartbeat, signed, over the pinned TLS.
          const Status taken = response.is_ok()
                                   ? take_heartbeat_answer(party, path, request, *response)
                                   : response.status();
          if (taken.is_ok()) {
            feed(core::HeartbeatAnsweredOn{party, path, id});
          } else {
            feed(core::HeartbeatFailedOn{party, path, id, taken.message()});
          }
        });
      });
}

const crypto::SigningKey& Driver::our_key_for(const std::string& party) const {
  // The key the peer checks us with: the newest of our rotations it countersigned
  // (core::PeerSession::key_for_peer), our bundle's before any.
  const core::PeerSession* session = node_ ? node_->session(party) : nullptr;
  return session == nullptr ? home_.keys.signing : session->key_for_peer();
}

const ledger::KeyChain* Driver::own_chain(const std::string& peer) const {
  const core::PeerSession* session = node_ ? node_->session(peer) : nullptr;
  return session == nullptr ? nullptr : &session->own_chain();
}

void Driver::follow_rotations() {
  const std::uint64_t n = node_->rotations_countersigned();
  if (n == federation_rotation_) return;
  // Checked when the home was loaded (gateway/home.h): a failure here is no state to stop for;
  // the certificate before stays, which every peer accepts.
  const net::TlsIdentity& identity = home_.tls_of(n);
  for (const auto& server : federation_servers_) {
    if (const Status s = server->replace_identity(identity); !s.is_ok()) {
      spdlog::error("federation certificate of rotation {} not presented: {}", n, s.to_string());
      return;
    }
  }
  for (auto& [party, clients] : clients_) {
    for (auto* list : {&clients.transactions, &clients.heartbeats}) {
      for (const auto& client : *list) (void)client->replace_identity(identity);
    }
  }
  const Result<std::string> fingerprint = net::cert_fingerprint(identity.cert_pem);
  spdlog::info("federation certificate: {} from now on, for new connections ({}): {}",
               n == 0 ? std::string("the bundle's") : fmt::format("rotation {}'s", n),
               fingerprint.is_ok() ? *fingerprint : fingerprint.status().message(),
               n > federation_rotation_ ? "every peer countersigned the rotation"
                                        : "a peer has not countersigned our later rotations yet");
  federation_rotation_ = n;
}

const crypto::VerifyKey* Driver::peer_key(const std::string& party) const {
  const core::PeerSession* session = node_ ? node_->session(party) : nullptr;
  return session == nullptr ? nullptr : &session->peer_chain().newest().key;
}

const wire::Bundle* Driver::pinned_bundle(const std::string& party) const {
  for (const core::Node::PeerView& peer : node_->peers()) {
    if (peer.party == party) return peer.bundle;
  }
  return nullptr;
}

Status Driver::take_heartbeat_answer(const std::string& party, core::PathIndex path,
                                     const std::string& request,
                                     const net::HttpResponse& response) {
  if (response.status != 200) {
    return Status::unavailable(fmt::format("the heartbeat got HTTP {}: {}", response.status,
                                           response.body.substr(0, 200)));
  }
  // Signed by the peer's key in force: the newest of its chain (its rotations we stored).
  const crypto::VerifyKey* key = peer_key(party);
  if (key == nullptr) return Status::not_found("peer " + party + " is not pinned");
  Result<wire::SignedHeartbeat> signed_answer = wire::parse_signed_heartbeat(response.body);
  Result<wire::HeartbeatAnswer> answer =
      signed_answer.is_ok()
          ? wire::open_heartbeat_answer(*signed_answer, *key, party, home_.config.party, request)
          : Result<wire::HeartbeatAnswer>(signed_answer.status());
  if (!answer.is_ok()) {
    return Status::unauthenticated("the heartbeat's answer is not one the peer signed: " +
                                   answer.status().message());
  }
  signed_contacts_[party][path] = SignedContact{answer->time, now(), std::move(*signed_answer)};
  note_peer_catalog(party, answer->catalog);
  return Status::ok();
}

void Driver::answer_heartbeat(const std::string& party, const net::HttpRequest& request,
                              net::Responder& responder) {
  const crypto::VerifyKey* key = peer_key(party);  // its key in force, as above
  Result<wire::SignedHeartbeat> beat = wire::parse_signed_heartbeat(request.body);
  const Status opened = key == nullptr ? Status::not_found("peer " + party + " is not pinned")
                        : !beat.is_ok()
                            ? beat.status()
                            : wire::open_heartbeat(*beat, *key, party, home_.config.party).status();
  net::HttpResponse response;
  if (!opened.is_ok()) {
    std::string& last = heartbeat_refusals_[party];
    if (last != opened.message()) {  // once per reason, not five times a second
      spdlog::warn("peer {}: heartbeat refused: {}", party, opened.to_string());
      last = opened.message();
    }
    response.status = opened.code() == StatusCode::kUnauthenticated ? 403 : 400;
    response.body = wire::encode_refusal({"heartbeat refused: " + opened.message(), ""});
    return responder.respond(std::move(response));
  }
  heartbeat_refusals_.erase(party);
  wire::HeartbeatAnswer answer;
  answer.from = home_.config.party;
  answer.to = party;
  answer.time = now();
  answer.request = wire::heartbeat_digest(beat->payload);
  answer.catalog = catalog::versions_json(catalog_.versions());
  response.body =
      wire::encode_signed_heartbeat(wire::sign_heartbeat_answer(answer, our_key_for(party)));
  responder.respond(std::move(response));
}

void Driver::note_peer_catalog(const std::string& party, const json::Json& catalog) {
  PeerCatalog seen;
  Result<catalog::Versions> versions = catalog::parse_versions(catalog);
  if (versions.is_ok()) {
    seen.difference = catalog::compare(catalog_.versions(), *versions);
  } else {
    seen.error = versions.status().message();
  }
  PeerCatalog& known = peer_catalogs_[party];
  if (known.difference == seen.difference && known.error == seen.error) return;
  if (!seen.error.empty()) {
    spdlog::warn("peer {}: its catalog is unknown: {}", party, seen.error);
  } else if (seen.difference->same()) {
    spdlog::info("peer {}: same catalog as ours", party);
  } else {
    const catalog::Difference& d = *seen.difference;
    spdlog::warn(
        "peer {}: its catalog differs from ours (messages of a type or version one side lacks "
        "are shown raw there): only here [{}], only there [{}], other versions [{}]",
        party, fmt::join(d.only_here, ", "), fmt::join(d.only_there, ", "),
        fmt::join(d.other_version, ", "));
  }
  known = std::move(seen);
}

}  // namespace parley::gateway
