// The PostgreSQL store: what a node starts from (Store::recover), reading only what is
// pending.

#include "parley/store/postgres/internal.h"

namespace parley::store::postgres_detail {

Result<std::map<std::string, bool>> PostgresStore::peer_lines(std::string_view peer) {
  // The lines configured with `peer` (all of their messages), and the lines of messages
  // stored with `peer` as their peer (only those messages), found by a skip-scan of
  // messages_by_peer_line: O(lines * log n), not a scan of the peer's messages.
  std::map<std::string, bool> lines;
  Params p;
  p.text(peer);
  {
    PARLEY_ASSIGN_OR_RETURN(const PgResult r,
                            run("SELECT id FROM lines WHERE remote_party = $1", p));
    for (int i = 0; i < PQntuples(r.get()); ++i) lines[Row(r.get(), i).text(0)] = true;
  }
  PARLEY_ASSIGN_OR_RETURN(
      const PgResult r,
      run("WITH RECURSIVE found(line) AS ("
          "SELECT MIN(line) FROM messages WHERE peer = $1 "
          "UNION ALL "
          "SELECT (SELECT MIN(line) FROM messages WHERE peer = $1 AND line > found.line) "
          "FROM found WHERE found.line IS NOT NULL) "
          "SELECT line FROM found WHERE line IS NOT NULL",
          p));
  for (int i = 0; i < PQntuples(r.get()); ++i) lines.emplace(Row(r.get(), i).text(0), false);
  return lines;
}

Result<std::optional<core::RecoveredSeqs>> PostgresStore::inbound_seqs(const std::string& line,
                                                                       std::string_view peer,
                                                                       bool whole_line) {
  // As SqliteStore::inbound_seqs: seqs are distinct per (line, direction) and start at 1, so
  // if n of them are >= 1 and the highest is n they are exactly 1..n; otherwise the rows are
  // read from the top down until the rows at or below the current seq number exactly that
  // seq, and the seqs above it are the few of a transient gap.
  const std::string where = std::string(
                                " FROM messages WHERE line = $1 AND direction = "
                                "'inbound'") +
                            (whole_line ? "" : " AND peer = $2");
  Params p;
  p.text(line);
  if (!whole_line) p.text(peer);
  std::int64_t count = 0;
  std::int64_t highest = 0;
  bool zero = false;
  {
    PARLEY_ASSIGN_OR_RETURN(const PgResult r,
                            run("SELECT COUNT(*), MAX(seq), MIN(seq)" + where, p));
    const Row s(r.get(), 0);
    if (PQntuples(r.get()) == 0 || s.integer(0) == 0) return std::optional<core::RecoveredSeqs>();
    count = s.integer(0);
    highest = s.integer(1);
    zero = s.integer(2) == 0;  // never valid on the wire; kept as a member all the same
  }
  if (zero) --count;
  core::RecoveredSeqs seqs;
  if (count == highest) {
    seqs.watermark = static_cast<std::uint64_t>(highest);
  } else {
    // Pages from the top down, so that only the rows above the watermark and one page
    // more are read, never the line's history.
    constexpr int kPage = 256;
    std::int64_t at_or_below = count;  // rows with 1 <= seq <= the current row's
    std::int64_t below = highest + 1;
    for (bool found = false; !found;) {
      Params q = p;
      q.integer(below);
      PARLEY_ASSIGN_OR_RETURN(
          const PgResult r,
          run("SELECT seq" + where + " AND seq >= 1 AND seq < $" + std::to_string(q.size()) +
                  " ORDER BY seq DESC LIMIT " + std::to_string(kPage),
              q));
      if (PQntuples(r.get()) == 0) break;
      for (int i = 0; i < PQntuples(r.get()) && !found; ++i) {
        const std::int64_t seq = Row(r.get(), i).integer(0);
        if (at_or_below == seq) {
          seqs.watermark = static_cast<std::uint64_t>(seq);
          found = true;
        } else {
          seqs.above.push_back(static_cast<std::uint64_t>(seq));
          --at_or_below;
          below = seq;
        }
      }
    }
  }
  if (zero) seqs.above.push_back(0);
  std::sort(seqs.above.begin(), seqs.above.end());
  return std::optional<core::RecoveredSeqs>(std::move(seqs));
}

Result<core::Recovered> PostgresStore::recover(std::string_view peer) {
  // Reads O(log n) rows per line of the peer, or the rows it returns (the pending messages,
  // through the partial indexes of schema 3): never the rows of the history.
  PARLEY_ASSIGN_OR_RETURN(const auto lines, peer_lines(peer));
  core::Recovered out;
  for (const auto& [line, whole_line] : lines) {
    Params p;
    p.text(line);
    if (!whole_line) p.text(peer);
    PARLEY_ASSIGN_OR_RETURN(
        const PgResult r,
        run(std::string("SELECT MAX(seq) FROM messages WHERE line = $1 AND direction = "
                        "'outbound'") +
                (whole_line ? "" : " AND peer = $2"),
            p));
    if (PQntuples(r.get()) > 0 && !Row(r.get(), 0).is_null(0)) {
      out.last_outbound_seq[line] = static_cast<std::uint64_t>(Row(r.get(), 0).integer(0));
    }
    PARLEY_ASSIGN_OR_RETURN(auto seqs, inbound_seqs(line, peer, whole_line));
    if (seqs) out.inbound_seqs[line] = std::move(*seqs);
  }
  // The pending messages are few: each WHERE repeats its partial index's, so the planner
  // can read that index and no other row.
  const std::string mine = "(peer = $1 OR line IN (SELECT id FROM lines WHERE remote_party = $1))";
  Params p;
  p.text(peer);
  PARLEY_ASSIGN_OR_RETURN(
      out.unreceipted,
      query_messages(std::string("SELECT ") + kMessageSelect +
                         " FROM messages WHERE direction = 'outbound' AND receipted = 0 AND " +
                         mine + " ORDER BY seq, line",
                     p));
  PARLEY_ASSIGN_OR_RETURN(
      out.unacknowledged,
      query_messages(
          std::string("SELECT ") + kMessageSelect +
              " FROM messages WHERE direction = 'outbound' AND needs_ack = 1 AND "
              "acknowledged_at IS NULL AND state NOT IN ('expired', 'refused', 'cancelled') AND " +
              mine + " ORDER BY created, seq, line",
          p));
  PARLEY_ASSIGN_OR_RETURN(
      out.inbound_unacknowledged,
      query_messages(std::string("SELECT ") + kMessageSelect +
                         " FROM messages WHERE direction = 'inbound' AND needs_ack = 1 AND "
                         "acknowledged_at IS NULL AND state IN ('delivered', 'overdue') AND " +
                         mine + " ORDER BY created, seq, line",
                     p));
  PARLEY_RETURN_IF_ERROR(recover_ledger(peer, out));
  PARLEY_ASSIGN_OR_RETURN(out.peer_rotations, rotations(peer));
  PARLEY_ASSIGN_OR_RETURN(out.own_rotations, own_rotations_for(peer));
  return out;
}

Result<std::optional<core::RecoveredHead>> PostgresStore::query_head(const std::string& sql,
                                                                     const Params& params) {
  PARLEY_ASSIGN_OR_RETURN(const PgResult r, run(sql, params));
  if (PQntuples(r.get()) == 0) return std::optional<core::RecoveredHead>();
  const Row s(r.get(), 0);
  core::RecoveredHead head;
  head.size = static_cast<std::uint64_t>(s.integer(0));
  Result<crypto::Digest> root = to_digest(s.bytes(1));
  if (!root.is_ok()) {
    return Status::data_loss("stored head " + std::to_string(head.size) +
                             ": root: " + root.status().message());
  }
  head.root = *root;
  head.sth = s.text(2);
  head.receipt = s.opt_text(3);
  return std::optional<core::RecoveredHead>(std::move(head));
}

Status PostgresStore::recover_ledger(std::string_view peer, core::Recovered& out) {
  // Our log for `peer` is the rows with peer = `peer`; the peer's log for us has owner =
  // `peer`. Every query reads O(log n) rows or rows not yet countersigned.
  core::RecoveredLedger& l = out.ledger;
  Params p;
  p.text(peer);
  {
    PARLEY_ASSIGN_OR_RETURN(const PgResult r,
                            run("SELECT idx FROM log_entries WHERE peer = $1 AND owner != $1 "
                                "ORDER BY idx DESC LIMIT 1",
                                p));
    if (PQntuples(r.get()) > 0) {
      l.log_size = static_cast<std::uint64_t>(Row(r.get(), 0).integer(0)) + 1;
    }
  }
  PARLEY_ASSIGN_OR_RETURN(l.countersigned,
                          query_head("SELECT size, root, sth_json, countersig_json FROM heads "
                                     "WHERE peer = $1 AND owner != $1 AND "
                                     "countersig_json IS NOT NULL ORDER BY size DESC LIMIT 1",
                                     p));
  const std::uint64_t c = l.countersigned ? l.countersigned->size : 0;
  {
    Params q;
    q.text(peer);
    q.integer(static_cast<std::int64_t>(c));
    PARLEY_ASSIGN_OR_RETURN(
        const PgResult r,
        run("SELECT size, root, sth_json FROM heads WHERE peer = $1 AND owner != $1 AND "
            "countersig_json IS NULL AND size > $2 ORDER BY size",
            q));
    for (int i = 0; i < PQntuples(r.get()); ++i) {
      const Row s(r.get(), i);
      Result<crypto::Digest> root = to_digest(s.bytes(1));
      if (!root.is_ok()) return Status::data_loss("stored head: " + root.status().message());
      l.pending.push_back(
          {static_cast<std::uint64_t>(s.integer(0)), *root, s.text(2), std::nullopt});
    }
  }
  // The frontier's base: the latest countersigned size at or below every unreceipted entry
  // (FLASH may have overtaken an older one), with its compact range.
  std::uint64_t lowest = l.log_size;
  for (const core::MessageRecord& m : out.unreceipted) {
    // A cancelled entry is never sent: no proof of it is ever needed.
    if (m.log_index && m.state != core::MessageState::kCancelled) {
      lowest = std::min(lowest, *m.log_index);
    }
  }
  {
    Params q;
    q.text(peer);
    q.integer(static_cast<std::int64_t>(std::min(lowest, c)));
    PARLEY_ASSIGN_OR_RETURN(
        const PgResult r,
        run("SELECT size, frontier_json FROM heads WHERE peer = $1 AND owner != $1 AND "
            "countersig_json IS NOT NULL AND frontier_json IS NOT NULL AND size <= $2 "
            "ORDER BY size DESC LIMIT 1",
            q));
    if (PQntuples(r.get()) > 0) {
      const Row s(r.get(), 0);
      l.base_size = static_cast<std::uint64_t>(s.integer(0));
      Result<std::vector<crypto::Digest>> nodes = parse_hashes(s.text(1));
      if (!nodes.is_ok()) {
        return Status::data_loss("stored head " + std::to_string(l.base_size) +
                                 ": frontier: " + nodes.status().message());
      }
      l.base_nodes = std::move(*nodes);
    }
  }
  {
    Params q;
    q.text(peer);
    q.integer(static_cast<std::int64_t>(l.base_size));
    PARLEY_ASSIGN_OR_RETURN(const PgResult r,
                            run("SELECT idx, leaf_hash FROM log_entries WHERE peer = $1 AND "
                                "owner != $1 AND idx >= $2 ORDER BY idx",
                                q));
    for (int i = 0; i < PQntuples(r.get()); ++i) {
      const Row s(r.get(), i);
      PARLEY_RETURN_IF_ERROR(columns::append_tail_leaf(s, peer, l));
    }
  }
  PARLEY_ASSIGN_OR_RETURN(
      l.peer_head,
      query_head("SELECT size, root, sth_json, countersig_json FROM heads WHERE owner = $1 AND "
                 "countersig_json IS NOT NULL ORDER BY size DESC LIMIT 1",
                 p));
  return Status::ok();
}

}  // namespace parley::store::postgres_detail
