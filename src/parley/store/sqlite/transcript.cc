// The SQLite store: the transcript (log entries, heads, inclusion proofs, evidence).

#include "parley/store/sqlite/internal.h"

namespace parley::store::sqlite_detail {

Status SqliteStore::put_log_entry(const core::LogEntry& e) {
  if (!fits_int64(e.index)) return Status::invalid_argument("log index out of range");
  PARLEY_ASSIGN_OR_RETURN(sqlite3_stmt * raw,
                          prepare("INSERT INTO log_entries (owner, peer, idx, message_id, "
                                  "leaf_hash) VALUES (?1, ?2, ?3, ?4, ?5)"));
  Statement s(db_, raw);
  s.bind_text(1, e.owner);
  s.bind_text(2, e.peer);
  s.bind_int(3, static_cast<std::int64_t>(e.index));
  s.bind_text(4, e.message_id);
  s.bind_blob(5, e.leaf_hash);
  const int rc = s.exec();
  if (rc == SQLITE_DONE) return Status::ok();
  if (sqlite3_extended_errcode(db_) == SQLITE_CONSTRAINT_PRIMARYKEY ||
      sqlite3_extended_errcode(db_) == SQLITE_CONSTRAINT_UNIQUE) {
    return Status::already_exists("entry " + std::to_string(e.index) + " of the log of '" +
                                  e.owner + "' for '" + e.peer + "' is already stored");
  }
  return sqlite_error(db_, "storing log entry " + std::to_string(e.index));
}

Status SqliteStore::put_rotation(const core::PutRotation& r) {
  if (!fits_int64(r.index) || !fits_int64(r.n)) {
    return Status::invalid_argument("rotation " + r.id + ": index or n out of range");
  }
  PARLEY_ASSIGN_OR_RETURN(
      sqlite3_stmt * raw,
      prepare("INSERT INTO rotations (owner, peer, idx, n, id, statement, new_sign_key, "
              "new_tls_fingerprint, epoch) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"));
  Statement s(db_, raw);
  s.bind_text(1, r.owner);
  s.bind_text(2, r.peer);
  s.bind_int(3, static_cast<std::int64_t>(r.index));
  s.bind_int(4, static_cast<std::int64_t>(r.n));
  s.bind_text(5, r.id);
  s.bind_text(6, r.statement);
  s.bind_blob(7, r.new_sign_key.bytes);
  s.bind_text(8, r.new_tls_fingerprint);
  s.bind_int(9, static_cast<std::int64_t>(r.epoch));
  if (s.exec() == SQLITE_DONE) return Status::ok();
  const int code = sqlite3_extended_errcode(db_);
  if (code == SQLITE_CONSTRAINT_PRIMARYKEY || code == SQLITE_CONSTRAINT_UNIQUE) {
    return Status::already_exists("rotation " + std::to_string(r.n) + " (entry " +
                                  std::to_string(r.index) + ") of the log of '" + r.owner +
                                  "' for '" + r.peer + "' is already stored");
  }
  if (code == SQLITE_CONSTRAINT_CHECK) {
    return Status::invalid_argument("rotation " + r.id + ": a value the store cannot hold");
  }
  return sqlite_error(db_, "storing rotation " + r.id);
}

Result<std::vector<core::PutRotation>> SqliteStore::rotation_rows(std::string_view where,
                                                                  std::string_view value) {
  PARLEY_ASSIGN_OR_RETURN(
      sqlite3_stmt * raw,
      prepare("SELECT owner, peer, idx, n, id, statement, new_sign_key, new_tls_fingerprint, "
              "epoch FROM rotations WHERE " +
              std::string(where) + " ORDER BY peer, idx"));
  Statement s(db_, raw);
  s.bind_text(1, value);
  std::vector<core::PutRotation> out;
  for (;;) {
    PARLEY_ASSIGN_OR_RETURN(const bool row, s.step());
    if (!row) break;
    PARLEY_ASSIGN_OR_RETURN(core::PutRotation r, columns::read_rotation(s));
    out.push_back(std::move(r));
  }
  return out;
}

Result<std::vector<core::PutRotation>> SqliteStore::rotations(std::string_view owner) {
  return rotation_rows("owner = ?1", owner);
}

Result<std::vector<core::PutRotation>> SqliteStore::own_rotations_for(std::string_view peer) {
  // The store is one party's: the rows of a log for `peer` not owned by it are ours.
  return rotation_rows("peer = ?1 AND owner != ?1", peer);
}

Status SqliteStore::put_head(const core::PutHead& h) {
  if (!fits_int64(h.size)) return Status::invalid_argument("head size out of range");
  // A countersigned head is never replaced, by a head without a countersignature or by
  // another countersignature of it (a replayed transaction must not rewrite evidence: both
  // parties keep the first); a head without one may be (re-signed, or countersigned now).
  PARLEY_ASSIGN_OR_RETURN(
      sqlite3_stmt * raw,
      prepare("INSERT INTO heads (owner, peer, size, root, sth_json, countersig_json, "
              "frontier_json) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) "
              "ON CONFLICT (owner, peer, size) DO UPDATE SET root = excluded.root, "
              "sth_json = excluded.sth_json, countersig_json = excluded.countersig_json, "
              "frontier_json = COALESCE(excluded.frontier_json, heads.frontier_json) "
              "WHERE heads.countersig_json IS NULL"));
  Statement s(db_, raw);
  s.bind_text(1, h.owner);
  s.bind_text(2, h.peer);
  s.bind_int(3, static_cast<std::int64_t>(h.size));
  s.bind_blob(4, h.root);
  s.bind_text(5, h.sth);
  s.bind_opt_text(6, h.receipt);
  s.bind_opt_text(
      7, h.frontier ? std::optional<std::string>(encode_hashes(*h.frontier)) : std::nullopt);
  if (s.exec() != SQLITE_DONE) return sqlite_error(db_, "storing head " + std::to_string(h.size));
  return Status::ok();
}

Status SqliteStore::put_inclusion(const core::PutInclusion& i) {
  if (!fits_int64(i.size) || i.index >= i.size) {
    return Status::invalid_argument("inclusion of message " + i.message_id + ": index " +
                                    std::to_string(i.index) + " not below size " +
                                    std::to_string(i.size));
  }
  PARLEY_ASSIGN_OR_RETURN(
      sqlite3_stmt * raw,
      prepare("INSERT INTO inclusion (message_id, idx, size, root, proof_json) "
              "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (message_id) DO UPDATE SET "
              "idx = excluded.idx, size = excluded.size, root = excluded.root, "
              "proof_json = excluded.proof_json"));
  Statement s(db_, raw);
  s.bind_text(1, i.message_id);
  s.bind_int(2, static_cast<std::int64_t>(i.index));
  s.bind_int(3, static_cast<std::int64_t>(i.size));
  s.bind_blob(4, i.root);
  s.bind_text(5, encode_hashes(i.proof));
  if (s.exec() != SQLITE_DONE) return sqlite_error(db_, "storing inclusion of " + i.message_id);
  return Status::ok();
}

Status SqliteStore::put_evidence(const core::PutEvidence& e) {
  PARLEY_ASSIGN_OR_RETURN(
      sqlite3_stmt * raw,
      prepare("INSERT INTO evidence (id, peer, kind, detail, sth_a_json, sth_b_json, at, "
              "last_seen) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7) ON CONFLICT (id) DO NOTHING "
              "ON CONFLICT (peer, kind, sth_a_json, sth_b_json) DO UPDATE SET "
              "seen = evidence.seen + 1, "
              "last_seen = max(COALESCE(evidence.last_seen, evidence.at), excluded.at)"));
  Statement s(db_, raw);
  s.bind_text(1, e.id);
  s.bind_text(2, e.peer);
  s.bind_text(3, e.kind);
  s.bind_text(4, e.detail);
  s.bind_text(5, e.sth_a);
  s.bind_text(6, e.sth_b);
  s.bind_time(7, e.at);
  if (s.exec() != SQLITE_DONE) return sqlite_error(db_, "storing evidence " + e.id);
  return Status::ok();
}

Result<std::optional<core::InclusionRecord>> SqliteStore::inclusion(std::string_view message_id) {
  PARLEY_ASSIGN_OR_RETURN(
      sqlite3_stmt * raw,
      prepare("SELECT idx, size, root, proof_json FROM inclusion WHERE message_id = ?1"));
  Statement s(db_, raw);
  s.bind_text(1, message_id);
  PARLEY_ASSIGN_OR_RETURN(const bool row, s.step());
  if (!row) return std::optional<core::InclusionRecord>();
  PARLEY_ASSIGN_OR_RETURN(core::InclusionRecord r, columns::read_inclusion(s, 0, message_id));
  return std::optional<core::InclusionRecord>(std::move(r));
}

Result<std::vector<core::LogEntryView>> SqliteStore::log_entries(std::string_view owner,
                                                                 std::string_view peer,
                                                                 std::uint64_t from,
                                                                 std::size_t limit) {
  if (!fits_int64(from)) return std::vector<core::LogEntryView>();
  PARLEY_ASSIGN_OR_RETURN(
      sqlite3_stmt * raw,
      prepare("SELECT l.idx, l.message_id, COALESCE(m.envelope, r.statement), i.idx, i.size, "
              "i.root, i.proof_json, r.idx IS NOT NULL "
              "FROM log_entries l LEFT JOIN messages m ON m.id = l.message_id "
              "LEFT JOIN rotations r ON r.owner = l.owner AND r.peer = l.peer AND r.idx = l.idx "
              "AND r.id = l.message_id "
              "LEFT JOIN inclusion i ON i.message_id = l.message_id "
              "WHERE l.owner = ?1 AND l.peer = ?2 AND l.idx >= ?3 "
              "AND (m.id IS NOT NULL OR r.idx IS NOT NULL) ORDER BY l.idx LIMIT ?4"));
  Statement s(db_, raw);
  s.bind_text(1, owner);
  s.bind_text(2, peer);
  s.bind_int(3, static_cast<std::int64_t>(from));
  s.bind_int(4, fits_int64(limit) ? static_cast<std::int64_t>(limit)
                                  : std::numeric_limits<std::int64_t>::max());
  std::vector<core::LogEntryView> out;
  for (;;) {
    PARLEY_ASSIGN_OR_RETURN(const bool row, s.step());
    if (!row) break;
    PARLEY_ASSIGN_OR_RETURN(core::LogEntryView e, columns::read_log_entry_view(s));
    out.push_back(std::move(e));
  }
  return out;
}

Result<std::vector<core::HeadRecord>> SqliteStore::heads(std::string_view owner,
                                                         std::string_view peer) {
  PARLEY_ASSIGN_OR_RETURN(
      sqlite3_stmt * raw,
      prepare("SELECT size, root, sth_json, countersig_json, frontier_json FROM heads "
              "WHERE owner = ?1 AND peer = ?2 ORDER BY size"));
  Statement s(db_, raw);
  s.bind_text(1, owner);
  s.bind_text(2, peer);
  std::vector<core::HeadRecord> out;
  for (;;) {
    PARLEY_ASSIGN_OR_RETURN(const bool row, s.step());
    if (!row) break;
    core::HeadRecord h;
    h.size = static_cast<std::uint64_t>(s.integer(0));
    Result<crypto::Digest> root = to_digest(s.bytes(1));
    if (!root.is_ok()) return Status::data_loss("stored head: " + root.status().message());
    h.root = *root;
    h.sth = s.text(2);
    h.receipt = s.opt_text(3);
    if (const std::optional<std::string> frontier = s.opt_text(4)) {
      Result<std::vector<crypto::Digest>> nodes = parse_hashes(*frontier);
      if (!nodes.is_ok()) {
        return Status::data_loss("stored head " + std::to_string(h.size) +
                                 ": frontier: " + nodes.status().message());
      }
      h.frontier = std::move(*nodes);
    }
    out.push_back(std::move(h));
  }
  return out;
}

Result<std::vector<core::PutEvidence>> SqliteStore::evidence() {
  PARLEY_ASSIGN_OR_RETURN(sqlite3_stmt * raw,
                          prepare("SELECT id, peer, kind, detail, sth_a_json, sth_b_json, at, "
                                  "COALESCE(last_seen, at), seen FROM evidence ORDER BY at, id"));
  Statement s(db_, raw);
  std::vector<core::PutEvidence> out;
  for (;;) {
    PARLEY_ASSIGN_OR_RETURN(const bool row, s.step());
    if (!row) break;
    core::PutEvidence e{s.text(0), s.text(1), s.text(2),
                        s.text(3), s.text(4), s.text(5),
                        s.time(6), s.time(7), static_cast<std::uint64_t>(s.integer(8))};
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace parley::store::sqlite_detail
