#include "parley/gateway/forwarded.h"

#include <algorithm>
#include <utility>

#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include "parley/base/bytes.h"
#include "parley/base/json.h"
#include "parley/gateway/responses.h"
#include "parley/ledger/checkpoint.h"
#include "parley/ledger/formats.h"
#include "parley/store/key_chains.h"
#include "parley/wire/dsse.h"

namespace parley::gateway {
namespace {

constexpr std::chrono::milliseconds kForwardTimeout{5000};

const wire::Bundle* find_bundle(const std::vector<wire::Bundle>& pinned, std::string_view party) {
  const auto it = std::find_if(pinned.begin(), pinned.end(),
                               [&](const wire::Bundle& b) { return b.party == party; });
  return it == pinned.end() ? nullptr : &*it;
}

// `party`'s keys in force (store::pinned_chain); a store that cannot say is unavailable.
Result<ledger::KeyChain> keys_of(store::Store& store, const wire::Bundle& party) {
  Result<ledger::KeyChain> chain = store::pinned_chain(store, party);
  if (!chain.is_ok()) {
    spdlog::error("forwarded head: the keys of {}: {}", party.party, chain.status().to_string());
    return Status::unavailable("the observer cannot read the keys of " + party.party);
  }
  return chain;
}

// The forwarded receipt, opened: the forwarder signed it, and the owner signed the head it
// carries, each with one of the keys of its chain (docs/protocol.md "Key rotation": a receipt
// has no place in the forwarder's log, and the head is of the owner's log for the forwarder,
// where its rotations stand at indexes we do not hold). kInvalidArgument, kPermissionDenied (a
// signature), kNotFound (a log we do not witness), kUnavailable (the store).
struct OpenedForward {
  std::string owner;
  ledger::TreeHead head;
};
Result<OpenedForward> open_forward(store::Store& store, std::string_view me,
                                   const std::vector<wire::Bundle>& pinned,
                                   std::string_view forwarder, std::string_view body) {
  if (body.size() > kForwardedBodyMax) {
    return Status::invalid_argument("a forwarded head is at most " +
                                    std::to_string(kForwardedBodyMax) + " bytes");
  }
  const wire::Bundle* by = find_bundle(pinned, forwarder);
  if (by == nullptr) return Status::permission_denied("forwarded heads come from pinned peers");
  PARLEY_ASSIGN_OR_RETURN(const ledger::KeyChain by_keys, keys_of(store, *by));
  // Signatures first, as open_receipt_v2 checks them (then the fields), with each key.
  Result<ledger::ReceiptV2> receipt = Status::unauthenticated("no key");
  const Status signed_by = by_keys.any_key([&](const crypto::VerifyKey& key) {
    receipt = ledger::open_receipt_v2(body, key, by->party);
    return receipt.status();
  });
  if (!signed_by.is_ok()) {
    if (signed_by.code() == StatusCode::kUnauthenticated) {
      return Status::permission_denied("the receipt is not " + by->party +
                                       "'s: " + signed_by.message());
    }
    return signed_by.with_context("forwarded receipt");
  }
  const std::string& owner = receipt->body.to;
  if (owner == me) return Status::invalid_argument("a head of our own log is not forwarded to us");
  const wire::Bundle* of = find_bundle(pinned, owner);
  if (of == nullptr) return Status::not_found("unknown origin: " + owner + " is not pinned here");
  PARLEY_ASSIGN_OR_RETURN(const ledger::KeyChain of_keys, keys_of(store, *of));
  // The head the receipt countersigns, exactly as its owner signed it.
  const std::string sth = wire::encode_dsse(receipt->body.sth, receipt->body.sth_sig, owner);
  Result<ledger::SignedTreeHead> head = Status::unauthenticated("no key");
  const Status head_signed = of_keys.any_key([&](const crypto::VerifyKey& key) {
    head = ledger::open_sth(sth, key, owner);
    return head.status();
  });
  if (!head_signed.is_ok()) {
    return Status::permission_denied("the forwarded head is not signed by " + owner + ": " +
                                     head_signed.message());
  }
  return OpenedForward{owner, head->head};
}

// The root of a stored checkpoint note (already checked when it was stored).
std::optional<ledger::Checkpoint> note_checkpoint(std::string_view note) {
  Result<ledger::SignedNote> parsed = ledger::parse_note(note);
  if (!parsed.is_ok()) return std::nullopt;
  Result<ledger::Checkpoint> c = ledger::parse_checkpoint_text(parsed->text);
  if (!c.is_ok()) return std::nullopt;
  return *c;
}

// What the observer holds of `origin` at `size` already, from either path, that contradicts
// `root`: the signed statement it holds (a checkpoint note or a forwarded receipt).
Result<std::optional<std::string>> contradiction(store::Store& store, const std::string& origin,
                                                 std::uint64_t size, const std::string& root) {
  PARLEY_ASSIGN_OR_RETURN(const std::vector<store::WitnessedCheckpoint> views, store.witnessed());
  for (const store::WitnessedCheckpoint& v : views) {
    if (v.origin != origin || v.size != size) continue;
    const std::optional<ledger::Checkpoint> c = note_checkpoint(v.checkpoint);
    if (c && hex_encode(c->root) != root) return std::optional<std::string>(v.checkpoint);
  }
  PARLEY_ASSIGN_OR_RETURN(const std::optional<store::ForwardedHead> kept,
                          store.forwarded_head(origin, size));
  if (kept && kept->root != root) return std::optional<std::string>(kept->receipt);
  return std::optional<std::string>();
}

}  // namespace

ForwardedReply answer_forwarded_head(store::Store& store, std::string_view me,
                                     const std::vector<wire::Bundle>& pinned,
                                     std::string_view forwarder, std::string_view body, Time now) {
  ForwardedReply reply;
  Result<OpenedForward> opened = open_forward(store, me, pinned, forwarder, body);
  if (!opened.is_ok()) {
    reply.response = error_response(opened.status());
    return reply;
  }
  const std::string origin = ledger::origin_of(opened->owner, forwarder);
  const std::uint64_t size = opened->head.size;
  const std::string root = hex_encode(opened->head.root);
  Result<std::optional<std::string>> held = contradiction(store, origin, size, root);
  Status kept = held.status();
  if (held.is_ok()) {
    kept = store.put_forwarded_head(
        {origin, size, root, std::string(forwarder), std::string(body), now});
  }
  if (!kept.is_ok()) {
    spdlog::error("forwarded head of {}: {}", origin, kept.to_string());
    reply.response = error_response(Status::unavailable("the observer cannot store the head"));
    return reply;
  }
  if (*held) {
    store::SplitViewRecord split{origin, std::string(kForwardedSplitKind), **held,
                                 std::string(body), now};
    if (const Status s = store.put_split_view(split); !s.is_ok()) {
      spdlog::error("keeping the split view of {}: {}", origin, s.to_string());
    }
    reply.split_view = std::move(split);
  }
  reply.response = json_response(
      200,
      json::Json{{"origin", origin}, {"size", size}, {"split_view", reply.split_view.has_value()}});
  return reply;
}

Result<std::optional<store::SplitViewRecord>> check_against_forwarded(
    store::Store& store, std::string_view origin, std::uint64_t size, std::string_view root_hex,
    std::string_view checkpoint_note, Time now) {
  PARLEY_ASSIGN_OR_RETURN(const std::optional<store::ForwardedHead> kept,
                          store.forwarded_head(origin, size));
  if (!kept || kept->root == root_hex) return std::optional<store::SplitViewRecord>();
  store::SplitViewRecord split{std::string(origin), std::string(kForwardedSplitKind), kept->receipt,
                               std::string(checkpoint_note), now};
  PARLEY_RETURN_IF_ERROR(store.put_split_view(split));
  return std::optional<store::SplitViewRecord>(std::move(split));
}

HeadForwarder::HeadForwarder(boost::asio::io_context& io, net::TlsIdentity tls,
                             FingerprintsOf fingerprints)
    : io_(io), tls_(std::move(tls)), fingerprints_(std::move(fingerprints)) {}

HeadForwarder::~HeadForwarder() { close(); }

void HeadForwarder::close() {
  *alive_ = false;
  for (auto& [key, target] : targets_) {
    if (target.retry) target.retry->cancel();
  }
  for (auto& [party, client] : clients_) client->close();
}

void HeadForwarder::countersigned(const std::string& peer, std::uint64_t size,
                                  const std::string& receipt,
                                  const std::vector<wire::Bundle>& observers) {
  if (!*alive_) return;
  for (const wire::Bundle& observer : observers) {
    if (observer.party == peer) continue;
    Target& target = targets_[{peer, observer.party}];
    target.peer = peer;
    target.observer = observer;
    if (!target.receipt.empty() && size < target.size) continue;  // an older head, late
    target.size = size;
    target.receipt = receipt;
    target.failures = 0;
    if (!target.in_flight) send(target);
  }
}

void HeadForwarder::send(Target& target) {
  auto& client = clients_[target.observer.party];
  if (!client) {
    client = net::make_federation_client(io_, target.observer.federation, tls_,
                                         fingerprints_of(fingerprints_, target.observer));
  }
  target.in_flight = true;
  const std::uint64_t size = target.size;
  const auto key = std::make_pair(target.peer, target.observer.party);
  client->post(std::string(kForwardedHeadTarget), target.receipt, kForwardTimeout,
               [this, alive = alive_, key, size](Result<net::HttpResponse> response) {
                 // Deferred: a client completing inline must not re-enter send().
                 boost::asio::post(
                     io_, [this, alive, key, size, response = std::move(response)]() mutable {
                       if (!*alive) return;
                       answered(targets_.at(key), size, std::move(response));
                     });
               });
}

void HeadForwarder::answered(Target& target, std::uint64_t size,
                             Result<net::HttpResponse> response) {
  target.in_flight = false;
  const std::string& observer = target.observer.party;
  if (response.is_ok() && response->status == 200) {
    ++stats_.forwarded;
    target.sent_any = true;
    target.sent_size = std::max(target.sent_size, size);
    Result<json::Json> answer = json::parse_object(response->body);
    if (answer.is_ok() && answer->value("split_view", false)) {
      ++stats_.split_views;
      spdlog::error(
          "observer {} reports a SPLIT VIEW of {}'s log at size {}: {} showed it "
          "another head than the one we countersigned",
          observer, target.peer, size, target.peer);
    }
    if (target.size > size) send(target);
    return;
  }
  ++stats_.failures;
  spdlog::warn("forwarding {}'s head of size {} to observer {}: {}", target.peer, size, observer,
               response.is_ok() ? std::to_string(response->status) + " " + response->body
                                : response.status().message());
  if (++target.failures > kRetries) return;  // again at the next head
  if (!target.retry) target.retry = std::make_unique<boost::asio::steady_timer>(io_);
  target.retry->expires_after(std::chrono::seconds(1) * (1 << (target.failures - 1)));
  const auto key = std::make_pair(target.peer, observer);
  target.retry->async_wait([this, alive = alive_, key](const boost::system::error_code& ec) {
    if (ec || !*alive) return;
    Target& t = targets_.at(key);
    if (!t.in_flight) send(t);
  });
}

}  // namespace parley::gateway
