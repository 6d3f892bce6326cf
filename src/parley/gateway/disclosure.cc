#include "parley/gateway/disclosure.h"

#include <algorithm>
#include <utility>

#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include "parley/base/bytes.h"
#include "parley/gateway/responses.h"
#include "parley/ledger/checkpoint.h"
#include "parley/ledger/formats.h"
#include "parley/ledger/merkle.h"
#include "parley/store/key_chains.h"

namespace parley::gateway {
namespace {

using json::Json;

constexpr std::chrono::milliseconds kDiscloseTimeout{10000};
constexpr std::size_t kEntriesPage = 4096;
constexpr std::size_t kSaltBytes = 32;

const wire::Bundle* find_bundle(const std::vector<wire::Bundle>& pinned, std::string_view party) {
  const auto it = std::find_if(pinned.begin(), pinned.end(),
                               [&](const wire::Bundle& b) { return b.party == party; });
  return it == pinned.end() ? nullptr : &*it;
}

// `envelope`, signed by `by` with one of the keys of its chain as `store` pins it (docs/protocol.md
// "Key rotation": the envelope is an entry of its log for another peer, where its rotations stand
// at indexes we do not hold). The store's errors as kUnavailable; else open_envelope's.
Result<wire::Envelope> open_by_any_key(store::Store& store, const wire::Bundle& by,
                                       std::string_view envelope) {
  const Result<ledger::KeyChain> chain = store::pinned_chain(store, by);
  if (!chain.is_ok()) {
    return Status::unavailable("the keys of " + by.party + ": " + chain.status().message());
  }
  Result<wire::Envelope> env = Status::unauthenticated("no key");
  const Status opened = chain->any_key([&](const crypto::VerifyKey& key) {
    env = wire::open_envelope(envelope, key, by.party);
    return env.status();
  });
  if (!opened.is_ok()) return opened;
  return env;
}

// A request, parsed (structure only).
struct Request {
  std::string envelope;
  std::uint64_t index = 0;
  std::uint64_t size = 0;
  std::vector<ledger::Hash> proof;
  Bytes sealed;
};

Result<Request> parse_request(std::string_view body) {
  if (body.size() > kDisclosureBodyMax) {
    return Status::invalid_argument("a disclosure is at most " +
                                    std::to_string(kDisclosureBodyMax) + " bytes");
  }
  PARLEY_ASSIGN_OR_RETURN(const Json o, json::parse_object(body));
  PARLEY_RETURN_IF_ERROR(
      json::check_keys(o, {"v", "envelope", "index", "size", "proof", "sealed"}));
  PARLEY_ASSIGN_OR_RETURN(const std::uint64_t v, json::get_uint(o, "v"));
  if (v != 1)
    return Status::invalid_argument("unsupported disclosure version " + std::to_string(v));
  Request r;
  PARLEY_ASSIGN_OR_RETURN(r.envelope, json::get_string(o, "envelope"));
  PARLEY_ASSIGN_OR_RETURN(r.index, json::get_uint(o, "index"));
  PARLEY_ASSIGN_OR_RETURN(r.size, json::get_uint(o, "size"));
  if (r.index >= r.size) return Status::invalid_argument("index must be below size");
  PARLEY_ASSIGN_OR_RETURN(const Json proof, json::get_array(o, "proof"));
  if (proof.size() > ledger::kProofHashesMax) {
    return Status::invalid_argument("proof: at most " + std::to_string(ledger::kProofHashesMax) +
                                    " hashes");
  }
  for (const Json& h : proof) {
    if (!h.is_string()) return Status::invalid_argument("proof: expected 64 lowercase hex digits");
    PARLEY_ASSIGN_OR_RETURN(const ledger::Hash hash, ledger::hash_from_hex(h.get<std::string>()));
    r.proof.push_back(hash);
  }
  PARLEY_ASSIGN_OR_RETURN(const std::string sealed, json::get_string(o, "sealed"));
  Result<Bytes> bytes = base64_decode(sealed);
  if (!bytes.is_ok()) return bytes.status().with_context("sealed");
  r.sealed = std::move(*bytes);
  return r;
}

// {"body":{..},"text":".."}, as a message's content (wire.h), at most kContentBytesMax.
Status check_content(std::string_view content) {
  if (content.size() > wire::kContentBytesMax) {
    return Status::invalid_argument("content: larger than " +
                                    std::to_string(wire::kContentBytesMax) + " bytes");
  }
  Result<Json> o = json::parse_object(content);
  if (!o.is_ok()) return o.status().with_context("content");
  if (Status s = json::check_keys(*o, {"body", "text"}); !s.is_ok())
    return s.with_context("content");
  if (Result<Json> b = json::get_object(*o, "body"); !b.is_ok()) return b.status();
  if (Result<std::string> t = json::get_string(*o, "text"); !t.is_ok()) return t.status();
  return Status::ok();
}

struct Checked {
  wire::Envelope envelope;
  std::string origin;
  Bytes salt;
  std::string content;
};

// Everything a disclosure must satisfy, in order; nothing read from the store is changed.
Result<Checked> check_disclosure(store::Store& store, const ObserverSelf& self,
                                 const std::vector<wire::Bundle>& pinned,
                                 std::string_view discloser, const Request& r,
                                 net::HttpResponse& conflict) {
  const wire::Bundle* by = find_bundle(pinned, discloser);
  if (by == nullptr) return Status::permission_denied("disclosures come from pinned peers");
  Result<wire::Envelope> env = open_by_any_key(store, *by, r.envelope);
  if (!env.is_ok()) {
    if (env.status().code() == StatusCode::kUnavailable) return env.status();
    if (env.status().code() != StatusCode::kUnauthenticated)
      return env.status().with_context("envelope");
    return Status::permission_denied("the envelope is not signed by " + by->party + ": " +
                                     env.status().message());
  }
  if (wire::encode_envelope(*env) != r.envelope) {
    return Status::invalid_argument("envelope: not its canonical text (the log entry's bytes)");
  }
  const std::string peer = env->payload.to.party;
  if (peer == self.party || find_bundle(pinned, peer) == nullptr) {
    return Status::not_found("unknown origin: the log of " + by->party + " for " + peer +
                             " is not one this gateway witnesses");
  }
  Checked c;
  c.envelope = *std::move(env);
  c.origin = ledger::origin_of(by->party, peer);
  PARLEY_ASSIGN_OR_RETURN(const std::vector<store::WitnessedCheckpoint> views, store.witnessed());
  const auto view =
      std::find_if(views.begin(), views.end(),
                   [&](const store::WitnessedCheckpoint& v) { return v.origin == c.origin; });
  const std::uint64_t held = view == views.end() ? 0 : view->size;
  if (held != r.size) {
    conflict = json_response(
        409, Json{{"error", "this observer's cosigned checkpoint of " + c.origin + " has size " +
                                std::to_string(held) + ", not " + std::to_string(r.size)},
                  {"size", held}});
    return Status::failed_precondition("size");
  }
  PARLEY_ASSIGN_OR_RETURN(const ledger::SignedNote note, ledger::parse_note(view->checkpoint));
  PARLEY_ASSIGN_OR_RETURN(const ledger::Checkpoint cp, ledger::parse_checkpoint_text(note.text));
  const ledger::Hash leaf = ledger::leaf_hash(as_bytes(r.envelope));
  if (!ledger::verify_inclusion(r.index, r.size, leaf, r.proof, cp.root).is_ok()) {
    return Status(StatusCode::kUnauthenticated,
                  "the envelope is not at index " + std::to_string(r.index) +
                      " of the checkpoint of size " + std::to_string(r.size) + " cosigned here");
  }
  PARLEY_ASSIGN_OR_RETURN(
      const crypto::SealKey key,
      crypto::derive_seal_key(self.box_secret, self.box_public, by->box_key, kDisclosureEpoch));
  Result<Bytes> plain = crypto::open(
      key, as_bytes(disclosure_associated_data(c.envelope.payload.id, by->party, self.party)),
      r.sealed);
  if (!plain.is_ok() || plain->size() < kSaltBytes) {
    return Status(StatusCode::kUnauthenticated, "the sealed salt and content do not open");
  }
  if (crypto::sha256(*plain) != c.envelope.payload.commitment) {
    return Status(StatusCode::kUnauthenticated,
                  "the salt and content do not match the envelope's signed commitment");
  }
  c.salt.assign(plain->begin(), plain->begin() + kSaltBytes);
  c.content.assign(reinterpret_cast<const char*>(plain->data()) + kSaltBytes,
                   plain->size() - kSaltBytes);
  PARLEY_RETURN_IF_ERROR(check_content(c.content));
  return c;
}

}  // namespace

std::string disclosure_associated_data(std::string_view id, std::string_view discloser,
                                       std::string_view observer) {
  return "parley/disclosure/v1\n" + std::string(id) + "\n" + std::string(discloser) + "\n" +
         std::string(observer);
}

net::HttpResponse answer_disclosure(store::Store& store, const ObserverSelf& self,
                                    const std::vector<wire::Bundle>& pinned,
                                    std::string_view discloser, std::string_view body, Time now) {
  Result<Request> request = parse_request(body);
  if (!request.is_ok()) return error_response(request.status().with_context("disclosure"));
  net::HttpResponse conflict;
  Result<Checked> checked = check_disclosure(store, self, pinned, discloser, *request, conflict);
  if (!checked.is_ok()) {
    switch (checked.status().code()) {
      case StatusCode::kFailedPrecondition:
        return conflict;
      case StatusCode::kUnauthenticated:
        return json_response(422, Json{{"error", checked.status().message()}});
      case StatusCode::kDataLoss:
      case StatusCode::kInternal:
      case StatusCode::kUnavailable:
        spdlog::error("disclosure: {}", checked.status().to_string());
        return error_response(Status::unavailable("the observer cannot read its views"));
      default:
        return error_response(checked.status());
    }
  }
  const Checked& c = *checked;
  Result<bool> kept =
      store.put_disclosure({c.envelope.payload.id, std::string(discloser), c.origin, request->index,
                            request->size, request->envelope, hex_encode(c.salt), c.content, now});
  if (!kept.is_ok()) {
    spdlog::error("disclosure of {}: {}", c.envelope.payload.id, kept.status().to_string());
    return error_response(Status::unavailable("the observer cannot store the disclosure"));
  }
  spdlog::info("disclosure: {} disclosed message {} ({} #{})", discloser, c.envelope.payload.id,
               c.origin, request->index);
  return json_response(200, Json{{"id", c.envelope.payload.id},
                                 {"origin", c.origin},
                                 {"index", request->index},
                                 {"size", request->size},
                                 {"new", *kept}});
}

net::HttpResponse disclosed_view(store::Store& store, const std::vector<wire::Bundle>& pinned) {
  Result<std::vector<store::DisclosureRecord>> kept = store.disclosures();
  if (!kept.is_ok()) return error_response(kept.status());
  Json out = Json::array();
  for (const store::DisclosureRecord& d : *kept) {
    const wire::Bundle* by = find_bundle(pinned, d.discloser);
    Result<wire::Envelope> env = by != nullptr
                                     ? open_by_any_key(store, *by, d.envelope)
                                     : Result<wire::Envelope>(Status::not_found("not pinned"));
    Result<Json> content = json::parse_object(d.content);
    if (!env.is_ok() || !content.is_ok()) continue;  // checked when kept; a re-pinned key
    const wire::Payload& p = env->payload;
    out.push_back({{"id", d.id},
                   {"discloser", d.discloser},
                   {"origin", d.origin},
                   {"index", d.index},
                   {"size", d.size},
                   {"line", p.line},
                   {"seq", p.seq},
                   {"from", p.from.to_string()},
                   {"to", p.to.to_string()},
                   {"precedence", std::string(wire::precedence_name(p.precedence))},
                   {"type", p.type},
                   {"created", format_time(p.created)},
                   {"commitment", hex_encode(p.commitment)},
                   {"salt", d.salt},
                   {"body", (*content)["body"]},
                   {"text", (*content)["text"]},
                   {"disclosed", format_time(d.disclosed)}});
  }
  return json_response(200, Json{{"disclosed", out}});
}

Result<std::string> disclosure_body(store::Store& store, const DiscloserSelf& self,
                                    const core::MessageRecord& message, const wire::Bundle& peer,
                                    const wire::Bundle& observer, std::uint64_t size, Rng& rng) {
  const std::uint64_t index = *message.log_index;
  std::vector<ledger::Hash> leaves;
  std::string envelope;
  while (leaves.size() < size) {
    PARLEY_ASSIGN_OR_RETURN(
        const std::vector<core::LogEntryView> page,
        store.log_entries(self.party, peer.party, leaves.size(),
                          std::min<std::uint64_t>(kEntriesPage, size - leaves.size())));
    if (page.empty()) return Status::data_loss("our log for " + peer.party + " is short");
    for (const core::LogEntryView& e : page) {
      if (e.index == index) envelope = e.envelope;
      leaves.push_back(ledger::leaf_hash(as_bytes(e.envelope)));
    }
  }
  PARLEY_ASSIGN_OR_RETURN(const std::vector<ledger::Hash> proof,
                          ledger::inclusion_proof(index, size, ledger::leaves_source(leaves)));
  // Signed by our key of that entry along our chain in this log (docs/protocol.md "Key
  // rotation").
  PARLEY_ASSIGN_OR_RETURN(const ledger::KeyChain chain,
                          store::own_chain(store, self.party, self.verify, peer.party));
  PARLEY_ASSIGN_OR_RETURN(const wire::Envelope env,
                          wire::open_envelope(envelope, chain.entry_key(index), self.party));
  // Our own seal, opened again: the exact salt || content bytes the commitment covers.
  PARLEY_ASSIGN_OR_RETURN(
      const crypto::SealKey ours,
      crypto::derive_seal_key(self.box_secret, self.box_public, peer.box_key, env.payload.epoch));
  PARLEY_ASSIGN_OR_RETURN(
      Bytes plain,
      crypto::open(ours, as_bytes(env.payload.id + "\n" + env.payload.line), env.payload.sealed));
  PARLEY_ASSIGN_OR_RETURN(const crypto::SealKey theirs,
                          crypto::derive_seal_key(self.box_secret, self.box_public,
                                                  observer.box_key, kDisclosureEpoch));
  const Bytes sealed = crypto::seal(
      theirs, as_bytes(disclosure_associated_data(env.payload.id, self.party, observer.party)),
      plain, rng);
  crypto::wipe(plain);
  Json hashes = Json::array();
  for (const ledger::Hash& h : proof) hashes.push_back(hex_encode(h));
  return json::dump(Json{{"v", 1},
                         {"envelope", envelope},
                         {"index", index},
                         {"size", size},
                         {"proof", hashes},
                         {"sealed", base64_encode(sealed)}});
}

Discloser::Discloser(boost::asio::io_context& io, DiscloserSelf self, net::TlsIdentity tls,
                     store::Store& store, Rng& rng, FingerprintsOf fingerprints)
    : io_(io),
      self_(std::move(self)),
      tls_(std::move(tls)),
      store_(store),
      rng_(rng),
      fingerprints_(std::move(fingerprints)) {}

Discloser::~Discloser() { close(); }

void Discloser::close() {
  *alive_ = false;
  for (auto& [party, client] : clients_) client->close();
}

void Discloser::disclose(const core::MessageRecord& message, const wire::Bundle& peer,
                         const wire::Bundle& observer, Done done) {
  const auto fail = [&](Status s) {
    boost::asio::post(io_, [done, s = std::move(s)]() { done(s); });
  };
  if (message.direction != core::Direction::kOutbound) {
    return fail(Status::failed_precondition(
        "only a message your party sent can be disclosed (the observer checks it against the "
        "checkpoint of your log it cosigned); ask " +
        peer.party + " to disclose this one"));
  }
  if (!message.log_index) return fail(Status::failed_precondition("the message has no log entry"));
  Result<std::vector<store::CosignatureRecord>> cosigned = store_.cosignatures();
  if (!cosigned.is_ok()) return fail(cosigned.status());
  const std::string origin = ledger::origin_of(self_.party, peer.party);
  const std::string witness = ledger::party_key_name(observer.party);
  std::uint64_t size = 0;
  for (const store::CosignatureRecord& c : *cosigned) {
    if (c.origin == origin && c.witness == witness) size = c.size;
  }
  if (*message.log_index >= size) {
    return fail(Status::failed_precondition("message " + message.id +
                                            " is not yet in a checkpoint " + observer.party +
                                            " cosigned (it cosigned " + origin + " at size " +
                                            std::to_string(size) + "); try again once it has"));
  }
  post(message, peer, observer, size, true, std::move(done));
}

void Discloser::post(const core::MessageRecord& message, const wire::Bundle& peer,
                     const wire::Bundle& observer, std::uint64_t size, bool again, Done done) {
  Result<std::string> body = disclosure_body(store_, self_, message, peer, observer, size, rng_);
  if (!body.is_ok()) {
    return boost::asio::post(io_, [done, s = body.status()]() { done(s); });
  }
  auto& client = clients_[observer.party];
  if (!client) {
    client = net::make_federation_client(io_, observer.federation, tls_,
                                         fingerprints_of(fingerprints_, observer));
  }
  client->post(
      std::string(kDisclosureTarget), *std::move(body), kDiscloseTimeout,
      [this, alive = alive_, message, peer, observer, again, done](Result<net::HttpResponse> r) {
        boost::asio::post(
            io_, [this, alive, message, peer, observer, again, done, r = std::move(r)]() mutable {
              if (!*alive) return done(Status::unavailable("the gateway is stopping"));
              if (!r.is_ok()) {
                return done(Status::unavailable("observer " + observer.party +
                                                " did not answer: " + r.status().message()));
              }
              Result<Json> answer = json::parse_object(r->body);
              if (r->status == 409 && again && answer.is_ok() && answer->contains("size") &&
                  (*answer)["size"].is_number_unsigned() &&
                  (*answer)["size"].get<std::uint64_t>() > *message.log_index) {
                // The observer's view moved since the cosignature we hold: prove it in that one.
                return post(message, peer, observer, (*answer)["size"].get<std::uint64_t>(), false,
                            done);
              }
              if (r->status == 200 && answer.is_ok()) return done(*answer);
              const std::string why = answer.is_ok() && (*answer).value("error", "") != ""
                                          ? (*answer).value("error", "")
                                          : r->body.substr(0, 200);
              done(Status::failed_precondition("observer " + observer.party + " refused the " +
                                               "disclosure (" + std::to_string(r->status) +
                                               "): " + why));
            });
      });
}

}  // namespace parley::gateway
