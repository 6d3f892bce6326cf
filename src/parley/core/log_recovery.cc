#include "parley/core/log_recovery.h"

#include <algorithm>
#include <map>
#include <string_view>

#include <fmt/format.h>

#include "parley/base/bytes.h"
#include "parley/base/json.h"

namespace parley::core {
namespace {

// The head of `copy`, its structure alone (its signature is checked by check_head, with the
// key the chain puts in force at its size): it must be of `owner`'s log for `peer`.
Result<ledger::SignedTreeHead> parse_head(const PeerCopyOfOurLog& copy, const std::string& owner,
                                          const std::string& peer) {
  Result<ledger::SignedTreeHead> head = ledger::parse_sth(copy.sth);
  if (!head.is_ok()) {
    return Status::unauthenticated(fmt::format("the head the peer returned is not '{}''s: {}",
                                               owner, head.status().message()));
  }
  if (head->head.log != owner) {
    return Status::unauthenticated(fmt::format(
        "the head the peer returned is of the log of '{}', not '{}''s", head->head.log, owner));
  }
  if (head->head.peer != peer) {
    return Status::unauthenticated(fmt::format(
        "the head the peer returned is of the log of '{}' for '{}'", owner, head->head.peer));
  }
  return head;
}

// The rotation statements among the entries [from, to), in index order, each opened with the
// key in force at its index: `chain` grows by one link for each (docs/protocol.md "Key
// rotation"). By index, the statements.
using Rotations = std::map<std::uint64_t, wire::Rotation>;
Result<Rotations> follow_rotations(const PeerCopyOfOurLog& copy, std::uint64_t from,
                                   std::uint64_t to, ledger::KeyChain& chain) {
  Rotations rotations;
  for (const CopyEntry& e : copy.entries) {
    // Out of range: refused by check_entries, which names the index.
    if (!e.rotation || e.index < from || e.index >= to) continue;
    Result<wire::Rotation> r = chain.add(e.index, e.envelope);
    if (!r.is_ok()) {
      return Status(r.status().code(),
                    fmt::format("entry {} is not a key rotation of '{}' in force there: {}",
                                e.index, chain.party(), r.status().message()));
    }
    rotations.emplace(e.index, std::move(*r));
  }
  return rotations;
}

// Our head, countersigned by the peer: our signature by the key `ours` puts in force at its
// size, the peer's by one of its keys, and the receipt over exactly that head.
Status check_head(const PeerCopyOfOurLog& copy, ledger::SignedTreeHead head,
                  const ledger::KeyChain& ours, const ledger::KeyChain& peer,
                  VerifiedPeerCopy& out) {
  if (Status s = ledger::verify_sth(head, ours.head_key(head.head.size)); !s.is_ok()) {
    return Status::unauthenticated(
        fmt::format("the head the peer returned is not signed by '{}' with its key in force at "
                    "size {}: {}",
                    ours.party(), head.head.size, s.message()));
  }
  // Any key of the peer's chain: a receipt has no place in its signer's log, and may have been
  // signed with a key the peer replaced since. The signature first, then the fields.
  Result<ledger::ReceiptV2> receipt = Status::unauthenticated("no key");
  const Status signed_by = peer.any_key([&](const crypto::VerifyKey& key) {
    receipt = ledger::open_receipt_v2(copy.receipt, key, peer.party());
    return receipt.status();
  });
  if (!signed_by.is_ok()) {
    return Status::unauthenticated("the receipt the peer returned is not its own: " +
                                   signed_by.message());
  }
  if (receipt->body.to != ours.party() || receipt->body.sth != head.payload_bytes ||
      receipt->body.sth_sig != head.sig) {
    return Status::unauthenticated("the peer's receipt does not countersign the head it returned");
  }
  out.head = std::move(head);
  out.receipt = std::move(*receipt);
  out.sth = copy.sth;
  out.receipt_json = copy.receipt;
  return Status::ok();
}

// The entries [from, to), each signed by the key `chain` puts in force at its index (the
// rotation statements opened already, `rotations`), in order and complete.
Status check_entries(const PeerCopyOfOurLog& copy, std::uint64_t from, std::uint64_t to,
                     const ledger::KeyChain& chain, Rotations& rotations, VerifiedPeerCopy& out) {
  std::uint64_t expected = from;
  for (const CopyEntry& e : copy.entries) {
    if (e.index >= to || e.index < expected) {
      return Status::invalid_argument(
          fmt::format("entry {} was not asked for (expected {} of {}..{})", e.index, expected, from,
                      to == 0 ? 0 : to - 1));
    }
    if (e.index > expected) {
      return Status::failed_precondition(fmt::format(
          "the peer does not hold entry {} of our log (the head it countersigned has {}): it "
          "cannot be recovered from this peer",
          expected, to));
    }
    RecoveredEntry entry{
        e.index, e.envelope, {}, std::nullopt, ledger::leaf_hash(as_bytes(e.envelope))};
    if (e.rotation) {
      entry.rotation = std::move(rotations.at(e.index));  // follow_rotations opened it
    } else {
      Result<wire::Envelope> envelope =
          wire::open_envelope(e.envelope, chain.entry_key(e.index), chain.party());
      if (!envelope.is_ok()) {
        return Status::unauthenticated(
            fmt::format("entry {} is not signed by '{}' with its key in force there: {}", e.index,
                        chain.party(), envelope.status().message()));
      }
      entry.envelope = std::move(*envelope);
    }
    out.entries.push_back(std::move(entry));
    ++expected;
  }
  if (expected < to) {
    return Status::failed_precondition(fmt::format(
        "the peer does not hold entry {} of our log (the head it countersigned has {}): it "
        "cannot be recovered from this peer",
        expected, to));
  }
  return Status::ok();
}

}  // namespace

Result<VerifiedPeerCopy> verify_peer_copy(const PeerCopyOfOurLog& copy, const OwnLog& log,
                                          const RecoveryParties& parties) {
  VerifiedPeerCopy out;
  PARLEY_ASSIGN_OR_RETURN(ledger::SignedTreeHead head,
                          parse_head(copy, parties.ours.party(), parties.peer.party()));
  const std::uint64_t ours = log.assigned();
  const std::uint64_t size = head.head.size;
  // The chain through the head first: the head's key may be one a statement among the
  // entries puts in force.
  ledger::KeyChain chain = parties.ours;
  PARLEY_ASSIGN_OR_RETURN(Rotations rotations, follow_rotations(copy, ours, size, chain));
  PARLEY_RETURN_IF_ERROR(check_head(copy, std::move(head), chain, parties.peer, out));
  out.chain = chain;
  if (size <= ours) {
    if (!copy.entries.empty()) {
      return Status::invalid_argument(fmt::format(
          "the peer returned entries although its head ({}) is within our log ({})", size, ours));
    }
    if (size < log.base_size()) return out;  // older than our frontier: nothing to compare
    PARLEY_ASSIGN_OR_RETURN(const ledger::Hash root, log.root(size));
    if (root != out.head.head.root) {
      return Status::data_loss(fmt::format(
          "our log of size {} has another root than our head of that size the peer countersigned",
          size));
    }
    return out;
  }
  PARLEY_RETURN_IF_ERROR(check_entries(copy, ours, size, chain, rotations, out));
  OwnLog extended = log;
  for (const RecoveredEntry& e : out.entries) extended.append(e.leaf);
  PARLEY_ASSIGN_OR_RETURN(const ledger::Hash root, extended.root(size));
  if (root != out.head.head.root) {
    return Status::data_loss(fmt::format(
        "entries {}..{} the peer returned do not give the root of our head of size {} it "
        "countersigned: refused",
        ours, size - 1, size));
  }
  return out;
}

// ---- fetching the copy ----

namespace {

constexpr std::uint64_t kLogVersion = 1;

std::string json_quoted(std::string_view text) { return json::dump(json::Json(std::string(text))); }

Status check_parties(const json::Json& object, std::string_view from, std::string_view to) {
  PARLEY_ASSIGN_OR_RETURN(const std::uint64_t v, json::get_uint(object, "v"));
  if (v != kLogVersion) return Status::invalid_argument(fmt::format("unknown version {}", v));
  PARLEY_ASSIGN_OR_RETURN(const std::string f, json::get_string(object, "from"));
  PARLEY_ASSIGN_OR_RETURN(const std::string t, json::get_string(object, "to"));
  if (f != from) {
    return Status::permission_denied(fmt::format("\"from\" is '{}', not '{}'", f, from));
  }
  if (t != to) return Status::permission_denied(fmt::format("\"to\" is '{}', not '{}'", t, to));
  return Status::ok();
}

// One log of an answer: {"sth": {..} | null, "receipt": {..} | null, "entries": [..]}.
std::string encode_copy(const PeerCopyOfOurLog& copy) {
  std::string out = "{\"sth\":" + (copy.sth.empty() ? std::string("null") : copy.sth) +
                    ",\"receipt\":" + (copy.receipt.empty() ? std::string("null") : copy.receipt) +
                    ",\"entries\":[";
  for (std::size_t i = 0; i < copy.entries.size(); ++i) {
    if (i > 0) out += ',';
    // The entry is spliced in as it is stored: its exact bytes are its leaf.
    const CopyEntry& e = copy.entries[i];
    out += "{\"index\":" + std::to_string(e.index) +
           (e.rotation ? ",\"rotation\":" : ",\"envelope\":") + e.envelope + "}";
  }
  return out + "]}";
}

Result<std::string> optional_object(const json::Json& object, std::string_view key) {
  const auto it = object.find(std::string(key));
  if (it == object.end()) {
    return Status::invalid_argument(fmt::format("field '{}': missing", key));
  }
  if (it->is_null()) return std::string();
  if (!it->is_object()) {
    return Status::invalid_argument(fmt::format("field '{}': expected an object or null", key));
  }
  return json::dump(*it);
}

Result<PeerCopyOfOurLog> parse_copy(const json::Json& object, std::string_view name) {
  if (!object.is_object()) {
    return Status::invalid_argument(fmt::format("field '{}': expected an object", name));
  }
  PARLEY_RETURN_IF_ERROR(json::check_keys(object, {"sth", "receipt", "entries"}));
  PeerCopyOfOurLog copy;
  PARLEY_ASSIGN_OR_RETURN(copy.sth, optional_object(object, "sth"));
  PARLEY_ASSIGN_OR_RETURN(copy.receipt, optional_object(object, "receipt"));
  if (copy.sth.empty() != copy.receipt.empty()) {
    return Status::invalid_argument(
        fmt::format("'{}': a head without a receipt, or one without "
                    "a head",
                    name));
  }
  PARLEY_ASSIGN_OR_RETURN(const json::Json entries, json::get_array(object, "entries"));
  if (entries.size() > kLogEntriesPerAnswer) {
    return Status::invalid_argument(
        fmt::format("'{}': {} entries, more than {}", name, entries.size(), kLogEntriesPerAnswer));
  }
  if (copy.sth.empty() && !entries.empty()) {
    return Status::invalid_argument(fmt::format("'{}': entries without a head", name));
  }
  for (const json::Json& entry : entries) {
    if (!entry.is_object()) return Status::invalid_argument("an entry is not an object");
    PARLEY_RETURN_IF_ERROR(json::check_keys(entry, {"index", "envelope", "rotation"}));
    PARLEY_ASSIGN_OR_RETURN(const std::uint64_t index, json::get_uint(entry, "index"));
    // An envelope or a key rotation statement (as a transaction carries them): one of the two.
    const bool rotation = entry.contains("rotation");
    if (rotation == entry.contains("envelope")) {
      return Status::invalid_argument(
          fmt::format("'{}': entry {} needs one of 'envelope' and 'rotation'", name, index));
    }
    PARLEY_ASSIGN_OR_RETURN(const json::Json text,
                            json::get_object(entry, rotation ? "rotation" : "envelope"));
    if (!copy.entries.empty() && index <= copy.entries.back().index) {
      return Status::invalid_argument(
          fmt::format("'{}': entry {} is out of order or repeated", name, index));
    }
    copy.entries.push_back(CopyEntry{index, json::dump(text), rotation});
  }
  return copy;
}

Result<std::optional<std::vector<ledger::Hash>>> parse_range(const json::Json& answer) {
  const auto it = answer.find("mine_range");
  if (it == answer.end() || it->is_null()) return std::optional<std::vector<ledger::Hash>>();
  if (!it->is_array() || it->size() > 64) {
    return Status::invalid_argument("field 'mine_range': expected at most 64 hashes or null");
  }
  std::vector<ledger::Hash> nodes;
  for (const json::Json& node : *it) {
    Result<Bytes> bytes = node.is_string() ? hex_decode(node.get<std::string>())
                                           : Result<Bytes>(Status::invalid_argument("not hex"));
    if (!bytes.is_ok() || bytes->size() != ledger::Hash{}.size()) {
      return Status::invalid_argument("field 'mine_range': a node is not 64 hex digits");
    }
    ledger::Hash hash{};
    std::copy(bytes->begin(), bytes->end(), hash.begin());
    nodes.push_back(hash);
  }
  return std::optional<std::vector<ledger::Hash>>(std::move(nodes));
}

// Of `heads`, the newest with a receipt; its entries from `entries` below its size.
PeerCopyOfOurLog held_copy(const std::vector<HeadRecord>& heads,
                           const std::vector<LogEntryView>& entries, std::uint64_t from) {
  PeerCopyOfOurLog copy;
  const HeadRecord* newest = nullptr;
  for (const HeadRecord& h : heads) {
    if (h.receipt && (newest == nullptr || h.size > newest->size)) newest = &h;
  }
  if (newest == nullptr) return copy;
  copy.sth = newest->sth;
  copy.receipt = *newest->receipt;
  for (const LogEntryView& e : entries) {
    if (e.index < from || e.index >= newest->size) continue;
    if (copy.entries.size() >= kLogEntriesPerAnswer) break;
    copy.entries.push_back(CopyEntry{e.index, e.envelope, e.rotation});
  }
  return copy;
}

}  // namespace

std::string encode_log_request(const LogRequest& request) {
  return fmt::format("{{\"v\":{},\"from\":{},\"to\":{},\"after\":{},\"peer_after\":{}}}",
                     kLogVersion, json_quoted(request.from), json_quoted(request.to), request.after,
                     request.peer_after);
}

Result<LogRequest> parse_log_request(std::string_view body, std::string_view asker,
                                     std::string_view us) {
  PARLEY_ASSIGN_OR_RETURN(const json::Json object, json::parse_object(body));
  PARLEY_RETURN_IF_ERROR(json::check_keys(object, {"v", "from", "to", "after", "peer_after"}));
  PARLEY_RETURN_IF_ERROR(check_parties(object, asker, us));
  LogRequest request;
  request.from = std::string(asker);
  request.to = std::string(us);
  PARLEY_ASSIGN_OR_RETURN(request.after, json::get_uint(object, "after"));
  PARLEY_ASSIGN_OR_RETURN(request.peer_after, json::get_uint(object, "peer_after"));
  return request;
}

std::string encode_log_answer(const LogAnswer& answer) {
  std::string out = fmt::format("{{\"v\":{},\"from\":{},\"to\":{},\"yours\":", kLogVersion,
                                json_quoted(answer.from), json_quoted(answer.to));
  out += encode_copy(answer.yours) + ",\"mine\":" + encode_copy(answer.mine) + ",\"mine_range\":";
  if (!answer.mine_range) return out + "null}";
  out += '[';
  for (std::size_t i = 0; i < answer.mine_range->size(); ++i) {
    if (i > 0) out += ',';
    out += '"' + hex_encode((*answer.mine_range)[i]) + '"';
  }
  return out + "]}";
}

Result<LogAnswer> parse_log_answer(std::string_view body, std::string_view peer,
                                   std::string_view us) {
  PARLEY_ASSIGN_OR_RETURN(const json::Json object, json::parse_object(body));
  PARLEY_RETURN_IF_ERROR(
      json::check_keys(object, {"v", "from", "to", "yours", "mine", "mine_range"}));
  PARLEY_RETURN_IF_ERROR(check_parties(object, peer, us));
  LogAnswer answer;
  answer.from = std::string(peer);
  answer.to = std::string(us);
  const auto yours = object.find("yours");
  const auto mine = object.find("mine");
  if (yours == object.end() || mine == object.end()) {
    return Status::invalid_argument("fields 'yours' and 'mine' are required");
  }
  PARLEY_ASSIGN_OR_RETURN(answer.yours, parse_copy(*yours, "yours"));
  PARLEY_ASSIGN_OR_RETURN(answer.mine, parse_copy(*mine, "mine"));
  PARLEY_ASSIGN_OR_RETURN(answer.mine_range, parse_range(object));
  return answer;
}

LogAnswer make_log_answer(const LogRequest& request, const std::vector<HeadRecord>& asker_heads,
                          const std::vector<LogEntryView>& asker_entries,
                          const std::vector<HeadRecord>& own_heads,
                          const std::vector<LogEntryView>& own_entries) {
  LogAnswer answer;
  answer.from = request.to;
  answer.to = request.from;
  answer.yours = held_copy(asker_heads, asker_entries, request.after);
  answer.mine = held_copy(own_heads, own_entries, request.peer_after);
  for (const HeadRecord& h : own_heads) {
    if (h.size == request.peer_after && h.frontier) answer.mine_range = h.frontier;
  }
  if (request.peer_after == 0) answer.mine_range = std::vector<ledger::Hash>{};
  return answer;
}

Result<VerifiedPeerCopy> verify_copy_of_peer_log(const LogAnswer& answer, std::uint64_t held_size,
                                                 const ledger::Hash& held_root,
                                                 const RecoveryParties& parties) {
  // The roles swap: the head and the entries are the peer's, the receipt is ours.
  const RecoveryParties swapped{parties.peer, parties.ours};
  if (!answer.mine_range) {
    return Status::failed_precondition(fmt::format(
        "the peer keeps no compact range of its log at size {}: what it holds after that cannot "
        "be checked",
        held_size));
  }
  RecoveredLedger ledger;
  ledger.log_size = held_size;
  ledger.base_size = held_size;
  ledger.base_nodes = *answer.mine_range;
  OwnLog held;
  if (!held.recover(std::move(ledger)).is_ok()) {
    return Status::invalid_argument(
        fmt::format("the compact range the peer returned does not fit size {}", held_size));
  }
  PARLEY_ASSIGN_OR_RETURN(const ledger::Hash root, held.root(held_size));
  if (root != held_root) {
    return Status::data_loss(
        fmt::format("the compact range of the peer's log at size {} does not give the root of "
                    "its head of that size we countersigned",
                    held_size));
  }
  return verify_peer_copy(answer.mine, held, swapped);
}

}  // namespace parley::core
