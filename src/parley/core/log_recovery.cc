#include "parley/core/log_recovery.h"

#include <string_view>

#include <fmt/format.h>

namespace parley::core {
namespace {

// Our head, countersigned by the peer: both signatures, and the receipt over exactly it.
Status check_head(const PeerCopyOfOurLog& copy, const RecoveryParties& parties,
                  VerifiedPeerCopy& out) {
  Result<ledger::SignedTreeHead> head = ledger::open_sth(copy.sth, parties.our_key, parties.us);
  if (!head.is_ok()) {
    return Status::unauthenticated("the head the peer returned is not ours: " +
                                   head.status().message());
  }
  if (head->head.peer != parties.peer) {
    return Status::unauthenticated(
        fmt::format("the head the peer returned is of our log for '{}'", head->head.peer));
  }
  Result<ledger::ReceiptV2> receipt =
      ledger::open_receipt_v2(copy.receipt, parties.peer_key, parties.peer);
  if (!receipt.is_ok()) {
    return Status::unauthenticated("the receipt the peer returned is not its own: " +
                                   receipt.status().message());
  }
  if (receipt->body.to != parties.us || receipt->body.sth != head->payload_bytes ||
      receipt->body.sth_sig != head->sig) {
    return Status::unauthenticated("the peer's receipt does not countersign the head it returned");
  }
  out.head = std::move(*head);
  out.receipt = std::move(*receipt);
  out.sth = copy.sth;
  out.receipt_json = copy.receipt;
  return Status::ok();
}

// The entries [from, to), each signed by us, in order and complete.
Status check_entries(const PeerCopyOfOurLog& copy, std::uint64_t from, std::uint64_t to,
                     const RecoveryParties& parties, VerifiedPeerCopy& out) {
  std::uint64_t expected = from;
  for (const auto& [index, json] : copy.entries) {
    if (index >= to || index < expected) {
      return Status::invalid_argument(
          fmt::format("entry {} was not asked for (expected {} of {}..{})", index, expected, from,
                      to == 0 ? 0 : to - 1));
    }
    if (index > expected) {
      return Status::failed_precondition(fmt::format(
          "the peer does not hold entry {} of our log (the head it countersigned has {}): it "
          "cannot be recovered from this peer",
          expected, to));
    }
    Result<wire::Envelope> envelope = wire::open_envelope(json, parties.our_key, parties.us);
    if (!envelope.is_ok()) {
      return Status::unauthenticated(
          fmt::format("entry {} is not signed by us: {}", index, envelope.status().message()));
    }
    const ledger::Hash leaf = ledger::leaf_hash(as_bytes(json));
    out.entries.push_back(RecoveredEntry{index, json, std::move(*envelope), leaf});
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
  PARLEY_RETURN_IF_ERROR(check_head(copy, parties, out));
  const std::uint64_t ours = log.assigned();
  const std::uint64_t size = out.head.head.size;
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
  PARLEY_RETURN_IF_ERROR(check_entries(copy, ours, size, parties, out));
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

}  // namespace parley::core
