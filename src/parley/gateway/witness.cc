#include "parley/gateway/witness.h"

#include <algorithm>
#include <charconv>
#include <utility>

#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include "parley/base/bytes.h"
#include "parley/gateway/forwarded.h"
#include "parley/ledger/merkle.h"
#include "parley/store/key_chains.h"

namespace parley::gateway {
namespace {

constexpr std::chrono::milliseconds kSubmitTimeout{5000};
constexpr std::size_t kEntriesPage = 4096;

net::HttpResponse text_response(int status, std::string body,
                                std::string content_type = "text/plain; charset=utf-8") {
  net::HttpResponse r;
  r.status = status;
  r.content_type = std::move(content_type);
  r.body = std::move(body);
  return r;
}

// The witness's views, by origin, from the stored notes (each was checked when stored).
Result<std::map<std::string, ledger::WitnessView, std::less<>>> read_views(store::Store& store) {
  PARLEY_ASSIGN_OR_RETURN(const std::vector<store::WitnessedCheckpoint> stored, store.witnessed());
  std::map<std::string, ledger::WitnessView, std::less<>> views;
  for (const store::WitnessedCheckpoint& w : stored) {
    Result<ledger::SignedNote> note = ledger::parse_note(w.checkpoint);
    Result<ledger::Checkpoint> checkpoint =
        note.is_ok() ? ledger::parse_checkpoint_text(note->text) : note.status();
    if (!checkpoint.is_ok()) {
      return Status::data_loss("the witnessed checkpoint of " + w.origin +
                               " does not read: " + checkpoint.status().message());
    }
    views[w.origin] = ledger::WitnessView{w.size, checkpoint->root, w.checkpoint};
  }
  return views;
}

// "<size>\n" (text/x.tlog.size), as a 409 carries it.
std::optional<std::uint64_t> parse_size_body(std::string_view body) {
  if (body.empty() || body.back() != '\n') return std::nullopt;
  body.remove_suffix(1);
  std::uint64_t size = 0;
  const auto [end, ec] = std::from_chars(body.data(), body.data() + body.size(), size);
  if (ec != std::errc() || end != body.data() + body.size() || body.empty()) return std::nullopt;
  return size;
}

}  // namespace

ledger::WitnessedKeys witnessed_logs(std::string_view me, const std::vector<wire::Bundle>& pinned,
                                     store::Store& store) {
  std::vector<std::string> parties{std::string(me)};
  for (const wire::Bundle& b : pinned) parties.push_back(b.party);
  ledger::WitnessedKeys logs;
  for (const wire::Bundle& owner : pinned) {
    const Result<ledger::KeyChain> chain = store::pinned_chain(store, owner);
    if (!chain.is_ok()) {
      spdlog::error("witness: the logs of {} are not witnessed: {}", owner.party,
                    chain.status().to_string());
      continue;
    }
    for (const std::string& peer : parties) {
      if (peer == owner.party) continue;
      const std::string origin = ledger::origin_of(owner.party, peer);
      std::vector<ledger::NoteVerifier>& keys = logs[origin];
      for (const ledger::KeyChain::Link& link : chain->links()) {
        keys.push_back(ledger::NoteVerifier{origin, ledger::kNoteKeyEd25519, link.key});
      }
    }
  }
  return logs;
}

ledger::WitnessIdentity witness_identity(std::string_view party, const crypto::SigningKey& key) {
  return {ledger::party_key_name(party), key};
}

ledger::NoteVerifier cosigner_key(std::string_view party, const crypto::VerifyKey& key) {
  return {ledger::party_key_name(party), ledger::kNoteKeyCosignature, key};
}

WitnessReply answer_add_checkpoint(store::Store& store, const ledger::WitnessIdentity& witness,
                                   const ledger::WitnessedKeys& logs, std::string_view body,
                                   Time now) {
  WitnessReply reply;
  Result<std::map<std::string, ledger::WitnessView, std::less<>>> views = read_views(store);
  if (!views.is_ok()) {
    spdlog::error("witness: {}", views.status().to_string());
    reply.response = text_response(503, "the witness cannot read its views\n");
    return reply;
  }
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch());
  ledger::WitnessAnswer answer = ledger::add_checkpoint(
      body, logs, *views, witness,
      static_cast<std::uint64_t>(std::max<std::int64_t>(0, seconds.count())));
  if (answer.split_view) {
    store::SplitViewRecord split{answer.split_view->origin,
                                 std::string(ledger::split_view_kind_name(answer.split_view->kind)),
                                 answer.split_view->witnessed, answer.split_view->offered, now};
    if (const Status kept = store.put_split_view(split); !kept.is_ok()) {
      spdlog::error("witness: keeping the split view of {}: {}", split.origin, kept.to_string());
    }
    reply.split_view = std::move(split);
  }
  if (answer.new_view) {
    // The other path: a head of this size that the log's peer countersigned and forwarded
    // (forwarded.h). A checkpoint that contradicts it is a split view, not cosigned.
    Result<std::optional<store::SplitViewRecord>> forwarded = check_against_forwarded(
        store, answer.origin, answer.new_view->size, hex_encode(answer.new_view->root),
        answer.new_view->checkpoint, now);
    if (!forwarded.is_ok()) {
      spdlog::error("witness: reading the forwarded heads of {}: {}", answer.origin,
                    forwarded.status().to_string());
      reply.response = text_response(503, "the witness cannot read its views\n");
      return reply;
    }
    if (*forwarded) {
      reply.split_view = std::move(**forwarded);
      reply.response = text_response(
          409, "the checkpoint contradicts the head of that size its peer countersigned\n");
      return reply;
    }
    const auto held = views->find(answer.origin);
    const std::uint64_t old_size = held == views->end() ? 0 : held->second.size;
    Result<bool> stored = store.put_witnessed(
        {answer.origin, answer.new_view->size, answer.new_view->checkpoint}, old_size);
    if (!stored.is_ok()) {
      spdlog::error("witness: storing the view of {}: {}", answer.origin,
                    stored.status().to_string());
      reply.response = text_response(503, "the witness cannot store its view\n");
      return reply;
    }
    if (!*stored) {
      // Another request moved the view since we read it: its size is the one to start from.
      Result<std::map<std::string, ledger::WitnessView, std::less<>>> now_held = read_views(store);
      std::uint64_t size = 0;
      if (now_held.is_ok()) {
        if (const auto it = now_held->find(answer.origin); it != now_held->end()) {
          size = it->second.size;
        }
      }
      reply.response = text_response(409, std::to_string(size) + "\n",
                                     std::string(ledger::kTlogSizeContentType));
      return reply;
    }
  }
  reply.response = text_response(answer.http_status, answer.body, answer.content_type);
  return reply;
}

Result<std::string> our_checkpoint(const Home& home, store::Store& store, std::string_view peer,
                                   std::uint64_t size, const ledger::Hash& root) {
  PARLEY_ASSIGN_OR_RETURN(const std::vector<core::PutRotation> rotations,
                          store::own_rotations_in(store, home.config.party, peer));
  PARLEY_ASSIGN_OR_RETURN(const crypto::SigningKey key, head_key_in(home, rotations, size));
  const std::string origin = ledger::origin_of(home.config.party, peer);
  return ledger::sign_checkpoint({origin, size, root, {}}, key, origin);
}

CheckpointSubmitter::CheckpointSubmitter(boost::asio::io_context& io, const Home& home,
                                         net::TlsIdentity tls, store::Store& store,
                                         FingerprintsOf fingerprints)
    : io_(io),
      home_(home),
      me_(home.config.party),
      tls_(std::move(tls)),
      store_(store),
      fingerprints_(std::move(fingerprints)) {}

CheckpointSubmitter::~CheckpointSubmitter() { close(); }

void CheckpointSubmitter::close() {
  *alive_ = false;
  for (auto& [key, target] : targets_) {
    if (target.retry) target.retry->cancel();
  }
  for (auto& [party, client] : clients_) client->close();
}

void CheckpointSubmitter::head_moved(const std::string& peer, std::uint64_t size,
                                     const ledger::Hash& root,
                                     const std::vector<wire::Bundle>& observers) {
  if (!*alive_) return;
  for (const wire::Bundle& observer : observers) {
    if (observer.party == peer || observer.party == me_) continue;
    Target& target = targets_[{peer, observer.party}];
    target.peer = peer;
    target.observer = observer;
    if (size < target.size) continue;  // an older head committed late
    target.size = size;
    target.root = root;
    target.failures = 0;
    if (!target.in_flight) submit(target);
  }
}

Result<std::string> CheckpointSubmitter::request_body(const Target& target,
                                                      const std::string& note) {
  ledger::AddCheckpointRequest request;
  request.old_size = target.witness_size;
  request.checkpoint = note;
  if (target.witness_size != 0 && target.witness_size < target.size) {
    // RFC 6962 §2.1.2 from the witness's size: the leaves of our log up to the new size.
    std::vector<ledger::Hash> leaves;
    while (leaves.size() < target.size) {
      PARLEY_ASSIGN_OR_RETURN(
          const std::vector<core::LogEntryView> page,
          store_.log_entries(me_, target.peer, leaves.size(),
                             std::min<std::uint64_t>(kEntriesPage, target.size - leaves.size())));
      if (page.empty()) return Status::data_loss("our log for " + target.peer + " is short");
      for (const core::LogEntryView& e : page)
        leaves.push_back(ledger::leaf_hash(as_bytes(e.envelope)));
    }
    PARLEY_ASSIGN_OR_RETURN(
        request.proof,
        ledger::consistency_proof(target.witness_size, target.size, ledger::leaves_source(leaves)));
  }
  return ledger::encode_add_checkpoint(request);
}

void CheckpointSubmitter::submit(Target& target) {
  if (target.witness_size > target.size) return;  // the witness is ahead: nothing to add
  const std::string origin = ledger::origin_of(me_, target.peer);
  const Result<std::string> signed_note =
      our_checkpoint(home_, store_, target.peer, target.size, target.root);
  Result<std::string> body =
      signed_note.is_ok() ? request_body(target, *signed_note) : signed_note.status();
  if (!body.is_ok()) {
    spdlog::warn("witness {}: cannot submit {} at size {}: {}", target.observer.party, origin,
                 target.size, body.status().to_string());
    return;
  }
  auto& client = clients_[target.observer.party];
  if (!client) {
    client = net::make_federation_client(io_, target.observer.federation, tls_,
                                         fingerprints_of(fingerprints_, target.observer));
  }
  target.in_flight = true;
  ++stats_.submitted;
  const std::uint64_t size = target.size;
  const std::string& note = *signed_note;
  const auto key = std::make_pair(target.peer, target.observer.party);
  client->post(std::string(kAddCheckpointTarget), *std::move(body), kSubmitTimeout,
               [this, alive = alive_, key, size, note](Result<net::HttpResponse> response) {
                 // Deferred: a client completing inline must not re-enter submit().
                 boost::asio::post(
                     io_, [this, alive, key, size, note, response = std::move(response)]() mutable {
                       if (!*alive) return;
                       answered(targets_.at(key), size, note, std::move(response));
                     });
               });
}

void CheckpointSubmitter::answered(Target& target, std::uint64_t size, const std::string& note,
                                   Result<net::HttpResponse> response) {
  target.in_flight = false;
  const std::string& observer = target.observer.party;
  if (response.is_ok() && response->status == 200) {
    target.witness_size = size;
    target.conflicts = 0;
    // The cosignature lines follow the note's own signature lines: one note, checked whole,
    // with the observer's key in force (docs/protocol.md "Key rotation").
    const Result<ledger::KeyChain> chain = store::pinned_chain(store_, target.observer);
    const ledger::NoteVerifier cosigner =
        cosigner_key(observer, chain.is_ok() ? chain->newest().key : target.observer.sign_key);
    Result<ledger::SignedNote> cosigned = ledger::parse_note(note + response->body);
    Result<std::vector<bool>> verified = !chain.is_ok() ? chain.status()
                                         : cosigned.is_ok()
                                             ? ledger::verify_note(*cosigned, {cosigner})
                                             : cosigned.status();
    if (verified.is_ok() && (*verified)[0]) {
      ++stats_.cosigned;
      const Status kept = store_.put_cosignature(
          {ledger::origin_of(me_, target.peer), cosigner.name, size, note, response->body});
      if (!kept.is_ok())
        spdlog::warn("witness {}: keeping a cosignature: {}", observer, kept.to_string());
    } else {
      spdlog::warn("witness {}: its answer is no cosignature by its key: {}", observer,
                   verified.is_ok() ? "not signed" : verified.status().message());
    }
    if (target.size > size) submit(target);
    return;
  }
  if (response.is_ok() && response->status == 409) {
    if (const std::optional<std::uint64_t> held = parse_size_body(response->body)) {
      ++stats_.conflicts;
      target.witness_size = *held;  // tlog-witness: try again from the witness's size
      if (++target.conflicts <= kConflictRetries) submit(target);
      return;
    }
  }
  ++stats_.failures;
  const std::string why = response.is_ok() ? std::to_string(response->status) + " " + response->body
                                           : response.status().message();
  spdlog::warn("witness {}: submitting {} at size {}: {}", observer,
               ledger::origin_of(me_, target.peer), size, why);
  if (++target.failures > kRetries) return;  // again at the next move of the head
  if (!target.retry) target.retry = std::make_unique<boost::asio::steady_timer>(io_);
  target.retry->expires_after(std::chrono::seconds(1) * (1 << (target.failures - 1)));
  const auto key = std::make_pair(target.peer, observer);
  target.retry->async_wait([this, alive = alive_, key](const boost::system::error_code& ec) {
    if (ec || !*alive) return;
    Target& t = targets_.at(key);
    if (!t.in_flight) submit(t);
  });
}

}  // namespace parley::gateway
