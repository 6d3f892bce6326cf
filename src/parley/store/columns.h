// columns: how the stores encode values in their columns (JSON arrays of strings and of
// hashes, directions, 32-byte digests), shared by the SQLite and PostgreSQL stores so that
// both read and write the same text. Pure.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "parley/base/bytes.h"
#include "parley/base/status.h"
#include "parley/core/model.h"
#include "parley/core/recovered.h"
#include "parley/crypto/crypto.h"
#include "parley/wire/wire.h"

namespace parley::store::columns {

Result<core::Direction> parse_direction(std::string_view text);
std::string encode_string_array(const std::vector<std::string>& items);
Result<std::vector<std::string>> parse_string_array(std::string_view text);
std::string encode_hashes(const std::vector<crypto::Digest>& hashes);
Result<std::vector<crypto::Digest>> parse_hashes(std::string_view text);
Result<crypto::Digest> to_digest(const Bytes& bytes);
// True if `v` fits a signed 64-bit column.
bool fits_int64(std::uint64_t v);

// A message's precedence as a number, FLASH 0 .. ROUTINE 3 (store.h precedence_rank), for
// ORDER BY in MessageOrder::kPrecedence.
inline constexpr const char* kPrecedenceRank =
    "(CASE precedence WHEN 'FLASH' THEN 0 WHEN 'IMMEDIATE' THEN 1 WHEN 'PRIORITY' THEN 2 "
    "ELSE 3 END)";

// The smallest string greater than every string that starts with `prefix` (bytes compared
// as unsigned), or nullopt if there is none ("" or all 0xFF): the end of a prefix's range.
std::optional<std::string> prefix_end(std::string_view prefix);

// Whether a message row is receipted, and where its receipt is (column `receipted`). The
// receipt of a transaction is stored once, in `receipts` keyed by the transaction: a message
// the transaction delivered (or the peer refused) holds kReceiptOfTx and its `tx`. A message
// migrated from a store older than the receipts table whose receipt differed from the one
// kept for its transaction, or that had no transaction, keeps its own in `message_receipts`.
inline constexpr int kNotReceipted = 0;
inline constexpr int kReceiptOfTx = 1;
inline constexpr int kReceiptOfMessage = 2;

// The `receipted` of a new row: where its receipt (if any) is kept.
inline int receipted_of(const core::MessageRecord& m) {
  if (!m.receipt) return kNotReceipted;
  return m.tx ? kReceiptOfTx : kReceiptOfMessage;
}

// What an update `u` of a message stored with `receipted` and `tx` does to its receipt, as
// every store decides it; the message's new `receipted`, nullopt if unchanged. A receipt is
// stored once for its transaction (u.tx, else the stored one) by of_tx(tx, receipt); without
// any tx, as the message's own by of_message(receipt). A new tx without a receipt is refused
// (kInvalidArgument) for a message that has the receipt of its stored tx: it would lose it.
template <typename OfTx, typename OfMessage>
Result<std::optional<int>> update_receipt(const core::UpdateMessage& u, std::int64_t receipted,
                                          const std::optional<std::string>& tx, OfTx of_tx,
                                          OfMessage of_message) {
  if (u.receipt) {
    const std::optional<std::string>& of = u.tx ? u.tx : tx;
    if (of) {
      PARLEY_RETURN_IF_ERROR(of_tx(*of, *u.receipt));
      return std::optional<int>(kReceiptOfTx);
    }
    PARLEY_RETURN_IF_ERROR(of_message(*u.receipt));
    return std::optional<int>(kReceiptOfMessage);
  }
  if (u.tx && receipted == kReceiptOfTx && u.tx != tx) {
    return Status::invalid_argument("message " + u.id + " has the receipt of transaction " +
                                    tx.value_or("") + ": its tx stays");
  }
  return std::optional<int>();
}

// Every message column, in the order the stores bind them and read_message reads them.
inline constexpr const char* kMessageColumns =
    "id, line, seq, direction, peer, from_party, from_principal, to_party, to_principal, "
    "precedence, type, created, expires, reply_to, lang, body_json, text, salt, envelope, state, "
    "ack_deadline, delivered_at, acknowledged_at, acknowledged_by, ack_id, receipted, tx, "
    "refusal, needs_ack, cancelled_at, cancelled_by, broadcast";
// What a message query selects: every column, with the receipt in place of `receipted` (read
// from where `receipted` says), and the message's index in its sender's log.
inline constexpr const char* kMessageSelect =
    "id, line, seq, direction, peer, from_party, from_principal, to_party, to_principal, "
    "precedence, type, created, expires, reply_to, lang, body_json, text, salt, envelope, state, "
    "ack_deadline, delivered_at, acknowledged_at, acknowledged_by, ack_id, "
    "(CASE receipted WHEN 1 THEN (SELECT receipts.receipt FROM receipts WHERE receipts.tx = "
    "messages.tx) WHEN 2 THEN (SELECT message_receipts.receipt FROM message_receipts WHERE "
    "message_receipts.id = messages.id) END), tx, refusal, "
    "needs_ack, cancelled_at, cancelled_by, broadcast, "
    "(SELECT MIN(idx) FROM log_entries WHERE log_entries.message_id = messages.id)";

// One row of a query selecting kMessageSelect, as a record; kDataLoss naming the message and
// the field if a stored value does not parse. `Row` is a store's row reader: text(i),
// opt_text(i), integer(i), bytes(i), time(i), opt_time(i) and is_null(i) of column i.
template <typename Row>
Result<core::MessageRecord> read_message(const Row& s) {
  core::MessageRecord m;
  m.id = s.text(0);
  const auto bad = [&m](std::string_view field, const Status& status) {
    return Status::data_loss("stored message " + m.id + ": " + std::string(field) + ": " +
                             status.message());
  };
  m.line = s.text(1);
  m.seq = static_cast<std::uint64_t>(s.integer(2));
  auto direction = parse_direction(s.text(3));
  if (!direction.is_ok()) return bad("direction", direction.status());
  m.direction = *direction;
  m.peer = s.text(4);
  m.from = {s.text(5), s.text(6)};
  m.to = {s.text(7), s.text(8)};
  auto precedence = wire::parse_precedence(s.text(9));
  if (!precedence.is_ok()) return bad("precedence", precedence.status());
  m.precedence = *precedence;
  m.type = s.text(10);
  m.created = s.time(11);
  m.expires = s.opt_time(12);
  m.reply_to = s.opt_text(13);
  m.lang = s.text(14);
  m.content.body_json = s.text(15);
  m.content.text = s.text(16);
  m.salt = s.bytes(17);
  m.envelope = s.text(18);
  auto state = core::parse_state(s.text(19));
  if (!state.is_ok()) return bad("state", state.status());
  m.state = *state;
  m.ack_deadline = s.time(20);
  m.delivered_at = s.opt_time(21);
  m.acknowledged_at = s.opt_time(22);
  m.acknowledged_by = s.opt_text(23);
  m.ack_id = s.opt_text(24);
  m.receipt = s.opt_text(25);
  m.tx = s.opt_text(26);
  m.refusal = s.opt_text(27);
  m.needs_ack = s.integer(28) != 0;
  m.cancelled_at = s.opt_time(29);
  m.cancelled_by = s.opt_text(30);
  m.broadcast = s.opt_text(31);
  if (!s.is_null(32)) m.log_index = static_cast<std::uint64_t>(s.integer(32));
  return m;
}

// The line columns, in the order read_line reads them.
inline constexpr const char* kLineColumns =
    "id, local, remote_party, remote_principal, alternates, observers, deadline_flash_ms, "
    "deadline_immediate_ms, deadline_priority_ms, deadline_routine_ms, remote_alternates";

// One row of kLineColumns as a line; kDataLoss naming the line and the field if a stored
// list does not parse. `Row` as for read_message.
template <typename Row>
Result<core::Line> read_line(const Row& s) {
  core::Line line;
  line.id = s.text(0);
  line.local = s.text(1);
  line.remote = {s.text(2), s.text(3)};
  const auto list = [&](int column, std::string_view field,
                        std::vector<std::string>& into) -> Status {
    Result<std::vector<std::string>> items = parse_string_array(s.text(column));
    if (!items.is_ok()) {
      return Status::data_loss("stored line '" + line.id + "': " + std::string(field) + ": " +
                               items.status().message());
    }
    into = std::move(items).value();
    return Status::ok();
  };
  PARLEY_RETURN_IF_ERROR(list(4, "alternates", line.alternates));
  PARLEY_RETURN_IF_ERROR(list(5, "observers", line.observers));
  line.deadlines.flash = Duration(s.integer(6));
  line.deadlines.immediate = Duration(s.integer(7));
  line.deadlines.priority = Duration(s.integer(8));
  line.deadlines.routine = Duration(s.integer(9));
  PARLEY_RETURN_IF_ERROR(list(10, "remote alternates", line.remote_alternates));
  return line;
}

// Columns first .. first+3 of a row, (idx, size, root, proof_json) of the inclusion table, as
// the inclusion proof of `message_id`; kDataLoss if the stored root or proof is malformed.
template <typename Row>
Result<core::InclusionRecord> read_inclusion(const Row& s, int first, std::string_view message_id) {
  core::InclusionRecord r;
  r.index = static_cast<std::uint64_t>(s.integer(first));
  r.size = static_cast<std::uint64_t>(s.integer(first + 1));
  Result<crypto::Digest> root = to_digest(s.bytes(first + 2));
  Result<std::vector<crypto::Digest>> proof = parse_hashes(s.text(first + 3));
  if (!root.is_ok() || !proof.is_ok()) {
    return Status::data_loss("stored inclusion proof of " + std::string(message_id) +
                             " is malformed");
  }
  r.root = *root;
  r.proof = std::move(*proof);
  return r;
}

// One row of (idx, message_id, envelope, and the inclusion proof's idx, size, root, proof,
// all NULL when none is stored) as a log entry; kDataLoss if the stored proof is malformed.
template <typename Row>
Result<core::LogEntryView> read_log_entry_view(const Row& s) {
  core::LogEntryView e;
  e.index = static_cast<std::uint64_t>(s.integer(0));
  e.message_id = s.text(1);
  e.envelope = s.text(2);
  e.rotation = s.integer(7) != 0;
  if (s.is_null(3)) return e;
  PARLEY_ASSIGN_OR_RETURN(e.inclusion, read_inclusion(s, 3, e.message_id));
  return e;
}

// A row of (owner, peer, idx, n, id, statement, new_sign_key, new_tls_fingerprint, epoch)
// as a rotation; kDataLoss if the key is not 32 bytes or a number is out of range.
template <typename Row>
Result<core::PutRotation> read_rotation(const Row& s) {
  core::PutRotation r;
  r.owner = s.text(0);
  r.peer = s.text(1);
  r.index = static_cast<std::uint64_t>(s.integer(2));
  r.n = static_cast<std::uint64_t>(s.integer(3));
  r.id = s.text(4);
  r.statement = s.text(5);
  const Bytes key = s.bytes(6);
  const std::int64_t epoch = s.integer(8);
  if (key.size() != r.new_sign_key.bytes.size() || epoch < 2 || epoch > 0xffffffffLL) {
    return Status::data_loss("stored rotation " + r.id + " of '" + r.owner +
                             "': a malformed key or epoch");
  }
  std::copy(key.begin(), key.end(), r.new_sign_key.bytes.begin());
  r.new_tls_fingerprint = s.text(7);
  r.epoch = static_cast<std::uint32_t>(epoch);
  return r;
}

// One row of (idx, leaf_hash) of the peer's log above the recovered frontier's base, read in
// index order: appended to `l.tail`; kDataLoss if an index is missing or a leaf malformed.
template <typename Row>
Status append_tail_leaf(const Row& s, std::string_view peer, core::RecoveredLedger& l) {
  const auto index = static_cast<std::uint64_t>(s.integer(0));
  Result<crypto::Digest> leaf = to_digest(s.bytes(1));
  if (index != l.base_size + l.tail.size() || !leaf.is_ok()) {
    return Status::data_loss("the log for '" + std::string(peer) + "' has a gap or a bad " +
                             "leaf at index " + std::to_string(index));
  }
  l.tail.push_back(*leaf);
  return Status::ok();
}

}  // namespace parley::store::columns
