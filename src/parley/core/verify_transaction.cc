#include "parley/core/verify_transaction.h"

#include <algorithm>
#include <optional>
#include <utility>

#include "parley/base/check.h"

namespace parley::core {

namespace {

// The words of the refusals that refusal_says_log_conflict recognises.
constexpr std::string_view kForkPrefix = "FORK: ";
constexpr std::string_view kOlderHead = " is older than the one already countersigned";
constexpr std::string_view kNoProof = "no consistency proof from my last countersigned head";
constexpr std::string_view kLostHead = " no longer holds our head of size ";

TransactionRefusal refusal(FrameRefusal reason, std::string why, std::string envelope_id = "") {
  return TransactionRefusal{std::move(why), std::move(envelope_id), false, "", reason};
}

std::string envelope_at(std::size_t i) { return "envelope " + std::to_string(i); }

// The peer's head, signed by the key in force at its size. Its size is a signed field, so it
// is read only from a head whose signature holds: the chain's keys are tried newest first.
Result<Head> open_peer_head(const ledger::KeyChain& chain, const std::string& sth,
                            const std::string& party, const crypto::Facts* known) {
  Status last = Status::unauthenticated("bad signature");
  const std::vector<ledger::KeyChain::Link>& links = chain.links();
  for (auto link = links.rbegin(); link != links.rend(); ++link) {
    Result<Head> head = open_head(sth, link->key, party, known);
    if (!head.is_ok()) {
      if (head.status().code() != StatusCode::kUnauthenticated) return head;  // malformed
      last = head.status();
      continue;
    }
    if (chain.head_key(head->size) != link->key) {
      return Status::unauthenticated(
          "signed head of size " + std::to_string(head->size) + ": signed with " +
          (link->n == 0 ? std::string("the pinned key")
                        : "the key of rotation " + std::to_string(link->n)) +
          ", which is not the key in force at that size");
    }
    return head;
  }
  return last;
}

// The transaction's parties and the sender's head: by the pinned key (the key of the chain in
// force at its size), of its log for us.
Result<Head> check_header(const PeerContext& c, const ledger::KeyChain& chain,
                          const wire::Transaction& tx) {
  if (tx.from != c.peer.party) {
    return Status::permission_denied("transaction from " + single_quoted(tx.from) + ", expected " +
                                     single_quoted(c.peer.party));
  }
  if (tx.to != c.party) {
    return Status::permission_denied("transaction to " + single_quoted(tx.to) + ", expected " +
                                     single_quoted(c.party));
  }
  PARLEY_ASSIGN_OR_RETURN(Head head, open_peer_head(chain, tx.sth, c.peer.party, c.known));
  if (head.log != c.peer.party || head.peer != c.party) {
    return Status::permission_denied(
        "signed head of the log " + single_quoted(head.log) + " for " + single_quoted(head.peer) +
        ", expected " + single_quoted(c.peer.party) + " for " + single_quoted(c.party));
  }
  return head;
}

// The body against our catalog. A message is never refused only because this gateway's
// catalog is older or newer than the sender's (DESIGN.md, the catalog): a type we do not
// know, or another version of a known type whose body our schema does not accept, is stored
// and shown raw with a warning (catalog::Catalog::shown_raw_because). A body that our own
// version of its type refuses is refused: the sender's gateway checked it against the same
// schema, so it was not written by a parley that follows the catalog. "ack" is the protocol's
// own type: always known.
Status check_body(const catalog::Catalog& catalog, const wire::Payload& p, std::string_view body) {
  const catalog::MessageType* t = catalog.find(p.type);
  if (t == nullptr && p.type != "ack") return Status::ok();
  Status valid = catalog.validate(p.type, body);
  if (valid.is_ok() || t == nullptr) return valid;
  const bool other_version =
      p.type_version != 0 && p.type_version != static_cast<std::uint32_t>(t->version);
  return other_version ? Status::ok() : valid;
}

bool is_peer_translator(const wire::Bundle& peer, std::string_view principal) {
  return std::binary_search(peer.translators.begin(), peer.translators.end(), principal);
}

// What refuses this message alone (it is kept as a refused entry of the peer's log).
// `reply_line`: the line of the message its reply_to names, if a translation's and known.
Status check_message(const PeerContext& c, VerifiedEnvelope& in,
                     const std::optional<std::string>& reply_line, Time now) {
  const std::string& peer = c.peer.party;
  const wire::Payload& p = in.envelope.payload;
  if (p.from.party != peer) {
    return Status::permission_denied("envelope from " + single_quoted(p.from.to_string()) +
                                     ", not from party " + single_quoted(peer));
  }
  if (p.to.party != c.party) {
    return Status::permission_denied("envelope to " + single_quoted(p.to.to_string()) +
                                     ", not to party " + single_quoted(c.party));
  }
  const Line* line = find_line(c.lines, p.line);
  if (line == nullptr) return Status::not_found("unknown line " + single_quoted(p.line));
  if (line->remote.party != peer) {
    return Status::permission_denied("line " + single_quoted(p.line) + " is not with " +
                                     single_quoted(peer));
  }
  // Signed by the peer's key, but a principal of the peer's that is not on this line: the
  // peer's gateway let someone write who may not (issue 12: "a forged from"). The peer's
  // translators may write translations only (checked below, once the type is known good).
  const Writer writer{"envelope from " + single_quoted(p.from.to_string()),
                      may_write_to_us(*line, p.from.principal),
                      is_peer_translator(c.peer, p.from.principal)};
  if (!writer.on_line && !writer.translator) {
    return Status::permission_denied("envelope from " + single_quoted(p.from.to_string()) +
                                     ", neither the remote principal of line " +
                                     single_quoted(p.line) + " nor one of its remote alternates");
  }
  if (!may_act_on(*line, p.to.principal)) {
    return Status::permission_denied("principal " + single_quoted(p.to.principal) +
                                     " is not on line " + single_quoted(p.line));
  }
  // Sealed under the epoch in force at its place in the peer's log (its chain's), no other.
  if (p.epoch != in.epoch) {
    return Status::invalid_argument("sealed under epoch " + std::to_string(p.epoch) +
                                    ", but epoch " + std::to_string(in.epoch) +
                                    " is in force at entry " + std::to_string(in.index) +
                                    " of the log of " + single_quoted(peer));
  }
  PARLEY_ASSIGN_OR_RETURN(const crypto::SealKey key, seal_key_of(c, p.epoch));
  PARLEY_ASSIGN_OR_RETURN(in.opened, wire::open_content(p, key, c.known));
  PARLEY_RETURN_IF_ERROR(check_body(c.catalog, p, in.opened.content.body_json));
  if (is_protocol_type(p.type) && !p.reply_to) {
    return Status::invalid_argument(p.type + " without reply_to");
  }
  PARLEY_RETURN_IF_ERROR(may_write(writer, p.line, p.type, p.reply_to, reply_line));
  if (p.expires && *p.expires <= now) {
    // The same words on every resend: a receipt repeats the refusal it gave first.
    return Status::failed_precondition("expired at " + format_time(*p.expires) +
                                       " before it arrived");
  }
  in.line = line;
  return Status::ok();
}

// Entry `i` (an envelope or a statement, named `id`) is leaf `index` of the signed head
// (RFC 6962 §2.1.1), and its index holds no other entry already.
std::optional<TransactionRefusal> check_included(const PeerState& state, const Head& head,
                                                 const wire::TransactionEntry& entry, std::size_t i,
                                                 const std::string& id) {
  const Status s = ledger::verify_inclusion(
      entry.index, head.size, ledger::leaf_hash(as_bytes(entry.envelope)), entry.proof, head.root);
  if (!s.is_ok()) {
    return refusal(FrameRefusal::kBadInclusion,
                   envelope_at(i) + " (index " + std::to_string(entry.index) + "): " + s.message(),
                   id);
  }
  const auto known = state.ids.find(entry.index);
  if (known != state.ids.end() && known->second != id) {
    return refusal(FrameRefusal::kConflict,
                   envelope_at(i) + ": index " + std::to_string(entry.index) + " already holds " +
                       known->second,
                   id);
  }
  return std::nullopt;
}

// Entry `i`: its envelope by the peer's key in force at its index, its inclusion in the head,
// its index not holding another envelope already. Failing, the whole transaction is refused.
std::variant<VerifiedEnvelope, TransactionRefusal> verify_entry(
    const PeerContext& c, const ledger::KeyChain& chain, const PeerState& state, const Head& head,
    wire::TransactionEntry& entry, std::size_t i) {
  Result<wire::Envelope> envelope =
      wire::open_envelope(entry.envelope, chain.entry_key(entry.index), c.peer.party, c.known);
  if (!envelope.is_ok()) {
    return refusal(FrameRefusal::kBadEnvelope, envelope_at(i) + ": " + envelope.status().message());
  }
  const std::string id = envelope->payload.id;
  if (auto refused = check_included(state, head, entry, i, id)) return std::move(*refused);
  VerifiedEnvelope in;
  in.envelope = std::move(*envelope);
  in.json = std::move(entry.envelope);
  in.index = entry.index;
  in.proof = std::move(entry.proof);
  in.position = i;
  in.epoch = epoch_at(chain, entry.index);
  return in;
}

// Which envelopes are new: a (line, seq) already stored, pending, or earlier in this
// transaction is a repeat. A new (line, seq) under an id we already hold is a forgery or a
// peer bug; the store would refuse it, so the transaction is refused. A refused envelope is
// new too (it is stored as a refused entry): its seq is used, not a gap.
std::optional<TransactionRefusal> mark_fresh(const PeerState& state,
                                             std::vector<VerifiedEnvelope>& envelopes) {
  std::set<std::pair<std::string, std::uint64_t>> here;
  for (std::size_t i = 0; i < envelopes.size(); ++i) {
    const wire::Payload& p = envelopes[i].envelope.payload;
    std::pair<std::string, std::uint64_t> key{p.line, p.seq};
    auto seen = state.seqs.find(p.line);
    const bool repeat = (seen != state.seqs.end() && seen->second.contains(p.seq)) ||
                        state.pending_seqs.count(key) > 0 || !here.insert(key).second;
    if (repeat) continue;
    if (state.stored_ids.count(p.id) > 0 || state.pending_ids.count(p.id) > 0) {
      return refusal(FrameRefusal::kConflict,
                     envelope_at(i) + ": id " + p.id + " was already received as another message",
                     p.id);
    }
    envelopes[i].fresh = true;
  }
  return std::nullopt;
}

// The line of the message a translation's reply_to names: one accepted earlier in this
// transaction, or one the store holds. nullopt if it is no translation or names nothing
// known; an error if the store cannot say now (the whole transaction is refused, and sent
// again: a refusal of the message alone would be final).
Result<std::optional<std::string>> reply_line(const PeerContext& c, const VerifiedBatch& batch,
                                              const wire::Payload& p) {
  if (p.type != catalog::kTranslationType || !p.reply_to) return std::optional<std::string>();
  for (const VerifiedEnvelope& earlier : batch.envelopes) {
    if (earlier.envelope.payload.id == *p.reply_to && earlier.refusal.empty()) {
      return std::optional<std::string>(earlier.envelope.payload.line);
    }
  }
  if (c.messages == nullptr) return std::optional<std::string>();
  return c.messages->line_of(*p.reply_to);
}

// Every entry verified, or the refusal of the whole transaction.
std::optional<TransactionRefusal> verify_entries(const PeerContext& c,
                                                 const ledger::KeyChain& chain,
                                                 const PeerState& state, wire::Transaction& tx,
                                                 VerifiedBatch& batch, Time now) {
  std::set<std::string> ids;
  for (const VerifiedRotation& r : batch.rotations) ids.insert(r.rotation.id);
  for (std::size_t i = 0; i < tx.entries.size(); ++i) {
    if (tx.entries[i].rotation) continue;  // opened by follow_rotations, proven by check_rotations
    auto verified = verify_entry(c, chain, state, batch.head, tx.entries[i], i);
    if (auto* refused = std::get_if<TransactionRefusal>(&verified)) return std::move(*refused);
    VerifiedEnvelope& in = std::get<VerifiedEnvelope>(verified);
    const std::string id = in.envelope.payload.id;
    if (!ids.insert(id).second) {
      return refusal(FrameRefusal::kConflict, envelope_at(i) + ": duplicate id " + id, id);
    }
    Result<std::optional<std::string>> replied = reply_line(c, batch, in.envelope.payload);
    if (!replied.is_ok()) {
      return refusal(FrameRefusal::kUnavailable, envelope_at(i) + ": " + replied.status().message(),
                     id);
    }
    if (Status m = check_message(c, in, *replied, now); !m.is_ok()) {
      in.refusal = refusal_reason(m.message());
    }
    batch.envelopes.push_back(std::move(in));
  }
  return mark_fresh(state, batch.envelopes);
}

}  // namespace

// The seal key of `epoch` with the peer (PeerContext::seal_keys, keys).
Result<crypto::SealKey> seal_key_of(const PeerContext& c, std::uint32_t epoch) {
  if (epoch == 1) return c.seal_key;
  if (c.seal_keys != nullptr) {
    if (const auto it = c.seal_keys->find(epoch); it != c.seal_keys->end()) return it->second;
  }
  if (c.keys == nullptr) {
    return Status::failed_precondition("no seal key for epoch " + std::to_string(epoch));
  }
  return crypto::derive_seal_key(c.keys->box_secret, c.keys->box_public, c.peer.box_key, epoch);
}

// The seal epoch in force at entry `index` of the chain's log: its last link's at or before it.
std::uint32_t epoch_at(const ledger::KeyChain& chain, std::uint64_t index) {
  std::uint32_t epoch = 1;
  for (const ledger::KeyChain::Link& link : chain.links()) {
    if (link.from_index <= index) epoch = link.epoch;
  }
  return epoch;
}

std::string_view frame_refusal_name(FrameRefusal reason) {
  switch (reason) {
    case FrameRefusal::kMalformed:
      return "malformed";
    case FrameRefusal::kBadHead:
      return "bad_head";
    case FrameRefusal::kInconsistent:
      return "inconsistent";
    case FrameRefusal::kFork:
      return "fork";
    case FrameRefusal::kBadEnvelope:
      return "bad_envelope";
    case FrameRefusal::kBadInclusion:
      return "bad_inclusion";
    case FrameRefusal::kConflict:
      return "conflict";
    case FrameRefusal::kUnavailable:
      return "unavailable";
    case FrameRefusal::kStoreRefused:
      return "store_refused";
  }
  return "malformed";
}

const Line* find_line(const std::vector<Line>& lines, std::string_view id) {
  for (const Line& line : lines) {
    if (line.id == id) return &line;
  }
  return nullptr;
}

bool may_act_on(const Line& line, std::string_view principal) {
  if (principal.empty()) return false;
  if (line.local == principal) return true;
  return std::find(line.alternates.begin(), line.alternates.end(), principal) !=
         line.alternates.end();
}

bool may_write_to_us(const Line& line, std::string_view principal) {
  if (principal.empty()) return false;
  if (line.remote.principal == principal) return true;
  return std::find(line.remote_alternates.begin(), line.remote_alternates.end(), principal) !=
         line.remote_alternates.end();
}

bool refusal_says_log_conflict(std::string_view error) {
  return error.starts_with(kForkPrefix) || error.starts_with(kNoProof) ||
         error.find(kOlderHead) != std::string_view::npos ||
         error.find(kLostHead) != std::string_view::npos;
}

std::string lost_countersigned_head(const std::string& peer, std::uint64_t size) {
  return single_quoted(peer) + std::string(kLostHead) + std::to_string(size) +
         ", which it countersigned: its copy of our log went back (a restore from a backup?); "
         "it answered twice that a transaction before ours has not reached it";
}

std::string check_consistency(const PeerContext& context, const PeerState& state,
                              const wire::Transaction& tx, std::uint64_t size,
                              const ledger::Hash& root, bool& fork) {
  fork = false;
  const std::string& peer = context.peer.party;
  if (state.size == 0) return "";  // any tree extends the empty one
  if (size < state.size) {
    return "head of size " + std::to_string(size) + std::string(kOlderHead) + " (size " +
           std::to_string(state.size) + ")";
  }
  if (size == state.size) {
    if (root == state.root) return "";  // the same head again (a resend, or nothing new)
    fork = true;
    return std::string(kForkPrefix) + single_quoted(peer) + " signed a head of size " +
           std::to_string(size) + " with root " + hex_encode(root) + ", but countersigned size " +
           std::to_string(state.size) + " has root " + hex_encode(state.root);
  }
  for (const wire::ConsistencyItem& item : tx.consistency) {
    if (item.from_size != state.size || item.from_root != state.root) continue;
    const Status s = ledger::verify_consistency(state.size, size, state.root, root, item.proof);
    if (s.is_ok()) return "";
    fork = true;
    return std::string(kForkPrefix) + single_quoted(peer) + " signed a head of size " +
           std::to_string(size) + " that does not extend the countersigned head of size " +
           std::to_string(state.size) + ": " + s.message();
  }
  return std::string(kNoProof) + " size " + std::to_string(state.size);
}

namespace {

// The rotation entries of `tx`, in index order, each opened with the key in force at its
// index (docs/protocol.md "Key rotation"): one past the chain's last rotation extends `chain`
// (KeyChain::add: signed by the key it replaces, the next n and epoch); one the chain has
// already (sent again) must be that very rotation. A statement that does not hold refuses the
// whole transaction: nothing is pinned.
std::optional<TransactionRefusal> follow_rotations(const PeerContext& c,
                                                   const wire::Transaction& tx,
                                                   ledger::KeyChain& chain,
                                                   std::vector<VerifiedRotation>& out) {
  std::vector<std::size_t> order;
  for (std::size_t i = 0; i < tx.entries.size(); ++i) {
    if (tx.entries[i].rotation) order.push_back(i);
  }
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return tx.entries[a].index < tx.entries[b].index;
  });
  for (const std::size_t i : order) {
    const wire::TransactionEntry& entry = tx.entries[i];
    const std::vector<ledger::KeyChain::Link>& links = chain.links();
    const auto had = std::find_if(links.begin() + 1, links.end(), [&](const auto& link) {
      return link.from_index == entry.index + 1;
    });
    const bool known = links.size() > 1 && entry.index < chain.newest().from_index;
    Result<wire::Rotation> r =
        known ? wire::open_rotation(entry.envelope, chain.entry_key(entry.index), c.peer.party)
              : chain.add(entry.index, entry.envelope);
    if (r.is_ok() && known && (had == links.end() || had->key != r->new_sign_key)) {
      r = Status::invalid_argument("a rotation at entry " + std::to_string(entry.index) +
                                   " that is not the one accepted before");
    }
    if (!r.is_ok()) {
      return refusal(FrameRefusal::kBadEnvelope, envelope_at(i) + ": " + r.status().message());
    }
    out.push_back(VerifiedRotation{std::move(*r), entry.envelope, entry.index, entry.proof, i});
  }
  return std::nullopt;
}

// Each rotation entry is in the head, at an index that holds nothing else.
std::optional<TransactionRefusal> check_rotations(const PeerState& state,
                                                  const wire::Transaction& tx,
                                                  const VerifiedBatch& batch) {
  std::size_t k = 0;
  for (std::size_t i = 0; i < tx.entries.size(); ++i) {
    if (!tx.entries[i].rotation) continue;
    const auto r =
        std::find_if(batch.rotations.begin(), batch.rotations.end(),
                     [&](const VerifiedRotation& v) { return v.index == tx.entries[i].index; });
    PARLEY_CHECK(r != batch.rotations.end());
    if (auto refused = check_included(state, batch.head, tx.entries[i], i, r->rotation.id)) {
      return refused;
    }
    // A statement's id names an entry, as a message's does: one received before as another
    // entry (a message, or a rotation at another index) is a conflict, as in mark_fresh.
    const std::string& id = r->rotation.id;
    const auto held = state.ids.find(tx.entries[i].index);
    const bool same_entry = held != state.ids.end() && held->second == id;
    if (!same_entry && (state.stored_ids.count(id) > 0 || state.pending_ids.count(id) > 0)) {
      return refusal(FrameRefusal::kConflict,
                     envelope_at(i) + ": id " + id + " was already received as another entry", id);
    }
    ++k;
  }
  PARLEY_CHECK(k == batch.rotations.size());
  return std::nullopt;
}

// The window's order (docs/protocol.md "Transaction window"): the transaction before this one
// first, and a late copy of one whose head we passed is stale. Neither is a fault: both are
// answered apart from refusals.
std::optional<TransactionRefusal> check_order(const wire::Transaction& tx, std::uint64_t size,
                                              const PeerState& state) {
  if (tx.after && *tx.after > state.size) {
    TransactionRefusal early{"transaction " + tx.id + " follows the head of size " +
                                 std::to_string(*tx.after) + ", not received here yet (mine is " +
                                 std::to_string(state.size) + "): send the one before it first",
                             "", false, "", FrameRefusal::kInconsistent};
    early.order = TransactionOrder::kEarly;
    return early;
  }
  if (size < state.size) {
    TransactionRefusal stale{"head of size " + std::to_string(size) +
                                 " is older than the one already countersigned (size " +
                                 std::to_string(state.size) +
                                 "): send its messages again in a new transaction",
                             "", false, tx.sth, FrameRefusal::kInconsistent};
    stale.order = TransactionOrder::kStale;
    stale.tx = tx.id;
    stale.pinned = tx.pinned;
    return stale;
  }
  return std::nullopt;
}

}  // namespace

Verified verify_transaction(std::string_view body, const PeerContext& context,
                            const PeerState& state, Time now) {
  Result<wire::Transaction> parsed = context.parsed != nullptr
                                         ? Result<wire::Transaction>(*context.parsed)
                                         : wire::parse_transaction(body);
  if (!parsed.is_ok()) return refusal(FrameRefusal::kMalformed, parsed.status().message());
  wire::Transaction& tx = *parsed;
  ledger::KeyChain chain = context.chain != nullptr
                               ? *context.chain
                               : ledger::KeyChain(context.peer.party, context.peer.sign_key);
  const std::size_t links_before = chain.links().size();
  std::vector<VerifiedRotation> rotations;
  if (auto refused = follow_rotations(context, tx, chain, rotations)) return std::move(*refused);
  Result<Head> head = check_header(context, chain, tx);
  if (!head.is_ok()) return refusal(FrameRefusal::kBadHead, head.status().message());
  if (std::optional<TransactionRefusal> order = check_order(tx, head->size, state)) return *order;
  // It must extend the head we countersigned last (RFC 6962 §2.1.2).
  bool fork = false;
  std::string inconsistent = check_consistency(context, state, tx, head->size, head->root, fork);
  if (!inconsistent.empty()) {
    TransactionRefusal r;
    r.why = std::move(inconsistent);
    r.fork = fork;
    r.sth = fork ? tx.sth : "";
    r.reason = fork ? FrameRefusal::kFork : FrameRefusal::kInconsistent;
    r.unproven = !fork && head->size > state.size;
    return r;
  }

  VerifiedBatch batch;
  batch.tx = tx.id;
  batch.sth = tx.sth;
  batch.head = std::move(*head);
  batch.pinned = tx.pinned;
  batch.rotations = std::move(rotations);
  if (std::optional<TransactionRefusal> r = check_rotations(state, tx, batch)) return std::move(*r);
  if (std::optional<TransactionRefusal> r = verify_entries(context, chain, state, tx, batch, now)) {
    return std::move(*r);
  }
  if (chain.links().size() != links_before) batch.chain = std::move(chain);
  return batch;
}

}  // namespace parley::core
