// The PostgreSQL store: the transcript (log entries, heads, inclusion proofs, evidence).

#include "parley/store/postgres/internal.h"

namespace parley::store::postgres_detail {

Status PostgresStore::put_log_entry(const core::LogEntry& e) {
  if (!fits_int64(e.index)) return Status::invalid_argument("log index out of range");
  Params p;
  p.text(e.owner);
  p.text(e.peer);
  p.integer(static_cast<std::int64_t>(e.index));
  p.text(e.message_id);
  p.bytes(e.leaf_hash);
  Result<PgResult> r =
      run("INSERT INTO log_entries (owner, peer, idx, message_id, leaf_hash) "
          "VALUES ($1, $2, $3, $4, $5)",
          p);
  if (r.is_ok()) return Status::ok();
  if (sqlstate_ == "23505") {
    return Status::already_exists("entry " + std::to_string(e.index) + " of the log of '" +
                                  e.owner + "' for '" + e.peer + "' is already stored");
  }
  return r.status().with_context("storing log entry " + std::to_string(e.index));
}

Status PostgresStore::put_rotation(const core::PutRotation& r) {
  if (!fits_int64(r.index) || !fits_int64(r.n)) {
    return Status::invalid_argument("rotation " + r.id + ": index or n out of range");
  }
  Params p;
  p.text(r.owner);
  p.text(r.peer);
  p.integer(static_cast<std::int64_t>(r.index));
  p.integer(static_cast<std::int64_t>(r.n));
  p.text(r.id);
  p.text(r.statement);
  p.bytes(r.new_sign_key.bytes);
  p.text(r.new_tls_fingerprint);
  p.integer(static_cast<std::int64_t>(r.epoch));
  Result<PgResult> result =
      run("INSERT INTO rotations (owner, peer, idx, n, id, statement, new_sign_key, "
          "new_tls_fingerprint, epoch) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
          p);
  if (result.is_ok()) return Status::ok();
  if (sqlstate_ == "23505") {
    return Status::already_exists("rotation " + std::to_string(r.n) + " (entry " +
                                  std::to_string(r.index) + ") of the log of '" + r.owner +
                                  "' for '" + r.peer + "' is already stored");
  }
  if (sqlstate_ == "23514") {
    return Status::invalid_argument("rotation " + r.id + ": a value the store cannot hold");
  }
  return result.status().with_context("storing rotation " + r.id);
}

Result<std::vector<core::PutRotation>> PostgresStore::rotation_rows(std::string_view where,
                                                                    std::string_view value) {
  Params p;
  p.text(value);
  PARLEY_ASSIGN_OR_RETURN(
      const PgResult r,
      run("SELECT owner, peer, idx, n, id, statement, new_sign_key, new_tls_fingerprint, epoch "
          "FROM rotations WHERE " +
              std::string(where) + " ORDER BY peer, idx",
          p));
  std::vector<core::PutRotation> out;
  for (int row = 0; row < PQntuples(r.get()); ++row) {
    const Row s(r.get(), row);
    PARLEY_ASSIGN_OR_RETURN(core::PutRotation rotation, columns::read_rotation(s));
    out.push_back(std::move(rotation));
  }
  return out;
}

Result<std::vector<core::PutRotation>> PostgresStore::rotations(std::string_view owner) {
  return rotation_rows("owner = $1", owner);
}

Result<std::vector<core::PutRotation>> PostgresStore::own_rotations_for(std::string_view peer) {
  // The store is one party's: the rows of a log for `peer` not owned by it are ours.
  return rotation_rows("peer = $1 AND owner != $1", peer);
}

Status PostgresStore::put_head(const core::PutHead& h) {
  if (!fits_int64(h.size)) return Status::invalid_argument("head size out of range");
  // A countersigned head is never replaced (both parties keep the first countersignature);
  // a head without one may be (re-signed, or countersigned now).
  Params p;
  p.text(h.owner);
  p.text(h.peer);
  p.integer(static_cast<std::int64_t>(h.size));
  p.bytes(h.root);
  p.text(h.sth);
  p.opt_text(h.receipt);
  p.opt_text(h.frontier ? std::optional<std::string>(encode_hashes(*h.frontier)) : std::nullopt);
  Result<PgResult> r =
      run("INSERT INTO heads (owner, peer, size, root, sth_json, countersig_json, "
          "frontier_json) VALUES ($1, $2, $3, $4, $5, $6, $7) "
          "ON CONFLICT (owner, peer, size) DO UPDATE SET root = excluded.root, "
          "sth_json = excluded.sth_json, countersig_json = excluded.countersig_json, "
          "frontier_json = COALESCE(excluded.frontier_json, heads.frontier_json) "
          "WHERE heads.countersig_json IS NULL",
          p);
  if (!r.is_ok()) return r.status().with_context("storing head " + std::to_string(h.size));
  return Status::ok();
}

Status PostgresStore::put_inclusion(const core::PutInclusion& i) {
  if (!fits_int64(i.size) || i.index >= i.size) {
    return Status::invalid_argument("inclusion of message " + i.message_id + ": index " +
                                    std::to_string(i.index) + " not below size " +
                                    std::to_string(i.size));
  }
  Params p;
  p.text(i.message_id);
  p.integer(static_cast<std::int64_t>(i.index));
  p.integer(static_cast<std::int64_t>(i.size));
  p.bytes(i.root);
  p.text(encode_hashes(i.proof));
  Result<PgResult> r =
      run("INSERT INTO inclusion (message_id, idx, size, root, proof_json) "
          "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (message_id) DO UPDATE SET "
          "idx = excluded.idx, size = excluded.size, root = excluded.root, "
          "proof_json = excluded.proof_json",
          p);
  if (!r.is_ok()) return r.status().with_context("storing inclusion of " + i.message_id);
  return Status::ok();
}

Status PostgresStore::put_evidence(const core::PutEvidence& e) {
  // Evidence with a stored id is kept as it is; the same fork under another id is counted on
  // its first row. PostgreSQL takes one ON CONFLICT target, so the id is checked in the
  // INSERT's SELECT (one writer: no race between the check and the insert).
  Params p;
  p.text(e.id);
  p.text(e.peer);
  p.text(e.kind);
  p.text(e.detail);
  p.text(e.sth_a);
  p.text(e.sth_b);
  p.time(e.at);
  Result<PgResult> r =
      run("INSERT INTO evidence (id, peer, kind, detail, sth_a_json, sth_b_json, at, last_seen) "
          "SELECT $1, $2, $3, $4, $5, $6, $7, $7 "
          "WHERE NOT EXISTS (SELECT 1 FROM evidence WHERE id = $1) "
          "ON CONFLICT (peer, kind, sth_a_json, sth_b_json) DO UPDATE SET "
          "seen = evidence.seen + 1, "
          "last_seen = GREATEST(COALESCE(evidence.last_seen, evidence.at), excluded.at)",
          p);
  if (!r.is_ok()) return r.status().with_context("storing evidence " + e.id);
  return Status::ok();
}

Result<std::optional<core::InclusionRecord>> PostgresStore::inclusion(std::string_view message_id) {
  Params p;
  p.text(message_id);
  PARLEY_ASSIGN_OR_RETURN(
      const PgResult r,
      run("SELECT idx, size, root, proof_json FROM inclusion WHERE message_id = $1", p));
  if (PQntuples(r.get()) == 0) return std::optional<core::InclusionRecord>();
  PARLEY_ASSIGN_OR_RETURN(core::InclusionRecord rec,
                          columns::read_inclusion(Row(r.get(), 0), 0, message_id));
  return std::optional<core::InclusionRecord>(std::move(rec));
}

Result<std::vector<core::LogEntryView>> PostgresStore::log_entries(std::string_view owner,
                                                                   std::string_view peer,
                                                                   std::uint64_t from,
                                                                   std::size_t limit) {
  if (!fits_int64(from)) return std::vector<core::LogEntryView>();
  Params p;
  p.text(owner);
  p.text(peer);
  p.integer(static_cast<std::int64_t>(from));
  p.integer(fits_int64(limit) ? static_cast<std::int64_t>(limit)
                              : std::numeric_limits<std::int64_t>::max());
  PARLEY_ASSIGN_OR_RETURN(
      const PgResult r,
      run("SELECT l.idx, l.message_id, COALESCE(m.envelope, r.statement), i.idx, i.size, "
          "i.root, i.proof_json, (r.idx IS NOT NULL)::int "
          "FROM log_entries l LEFT JOIN messages m ON m.id = l.message_id "
          "LEFT JOIN rotations r ON r.owner = l.owner AND r.peer = l.peer AND r.idx = l.idx "
          "AND r.id = l.message_id "
          "LEFT JOIN inclusion i ON i.message_id = l.message_id "
          "WHERE l.owner = $1 AND l.peer = $2 AND l.idx >= $3 "
          "AND (m.id IS NOT NULL OR r.idx IS NOT NULL) ORDER BY l.idx LIMIT $4",
          p));
  std::vector<core::LogEntryView> out;
  for (int row = 0; row < PQntuples(r.get()); ++row) {
    const Row s(r.get(), row);
    PARLEY_ASSIGN_OR_RETURN(core::LogEntryView e, columns::read_log_entry_view(s));
    out.push_back(std::move(e));
  }
  return out;
}

Result<std::vector<core::HeadRecord>> PostgresStore::heads(std::string_view owner,
                                                           std::string_view peer) {
  Params p;
  p.text(owner);
  p.text(peer);
  PARLEY_ASSIGN_OR_RETURN(
      const PgResult r,
      run("SELECT size, root, sth_json, countersig_json, frontier_json FROM heads "
          "WHERE owner = $1 AND peer = $2 ORDER BY size",
          p));
  std::vector<core::HeadRecord> out;
  for (int i = 0; i < PQntuples(r.get()); ++i) {
    const Row s(r.get(), i);
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

Result<std::vector<core::PutEvidence>> PostgresStore::evidence() {
  PARLEY_ASSIGN_OR_RETURN(const PgResult r,
                          run("SELECT id, peer, kind, detail, sth_a_json, sth_b_json, at, "
                              "COALESCE(last_seen, at), seen FROM evidence ORDER BY at, id",
                              Params()));
  std::vector<core::PutEvidence> out;
  for (int i = 0; i < PQntuples(r.get()); ++i) {
    const Row s(r.get(), i);
    out.push_back(core::PutEvidence{s.text(0), s.text(1), s.text(2), s.text(3), s.text(4),
                                    s.text(5), s.time(6), s.time(7),
                                    static_cast<std::uint64_t>(s.integer(8))});
  }
  return out;
}

}  // namespace parley::store::postgres_detail
