// The SQLite store: what a node starts from (Store::recover), reading only what is pending.

#include "parley/store/sqlite/internal.h"

namespace parley::store::sqlite_detail {

Result<std::map<std::string, bool>> SqliteStore::peer_lines(std::string_view peer) {
  // The messages exchanged with `peer` are those on its configured lines (remote_party =
  // peer; all of the line's messages), and those stored with it as the peer on any other
  // line (a line since removed or given to another peer; only those messages). The second
  // kind of line is found by a skip-scan of messages_by_peer_line: each step seeks the
  // first line after the previous one, so it costs O(lines * log n), not a scan of the
  // peer's messages.
  std::map<std::string, bool> lines;
  {
    PARLEY_ASSIGN_OR_RETURN(sqlite3_stmt * raw,
                            prepare("SELECT id FROM lines WHERE remote_party = ?1"));
    Statement s(db_, raw);
    s.bind_text(1, peer);
    for (;;) {
      PARLEY_ASSIGN_OR_RETURN(const bool row, s.step());
      if (!row) break;
      lines[s.text(0)] = true;
    }
  }
  {
    PARLEY_ASSIGN_OR_RETURN(
        sqlite3_stmt * raw,
        prepare("WITH RECURSIVE found(line) AS ("
                "SELECT MIN(line) FROM messages WHERE peer = ?1 "
                "UNION ALL "
                "SELECT (SELECT MIN(line) FROM messages WHERE peer = ?1 AND line > found.line) "
                "FROM found WHERE found.line IS NOT NULL) "
                "SELECT line FROM found WHERE line IS NOT NULL"));
    Statement s(db_, raw);
    s.bind_text(1, peer);
    for (;;) {
      PARLEY_ASSIGN_OR_RETURN(const bool row, s.step());
      if (!row) break;
      lines.emplace(s.text(0), false);
    }
  }
  return lines;
}

Result<std::optional<core::RecoveredSeqs>> SqliteStore::inbound_seqs(const std::string& line,
                                                                     std::string_view peer,
                                                                     bool whole_line) {
  // Seqs are distinct per (line, direction) and start at 1, so if n of them are >= 1 and the
  // highest is n, they are exactly 1..n. Otherwise the rows are read from the top down
  // until the rows at or below the current seq number exactly that seq: the seqs above it
  // are the few of a transient gap. Both use the UNIQUE (line, direction, seq) index (or
  // messages_by_peer_line), and the count reads index entries only, never the rows.
  const std::string where =
      std::string(" FROM messages WHERE line = ?1 AND direction = 'inbound'") +
      (whole_line ? "" : " AND peer = ?2");
  const auto bind = [&](Statement& s) {
    s.bind_text(1, line);
    if (!whole_line) s.bind_text(2, peer);
  };
  std::int64_t count = 0;
  std::int64_t highest = 0;
  bool zero = false;
  {
    PARLEY_ASSIGN_OR_RETURN(sqlite3_stmt * raw,
                            prepare("SELECT COUNT(*), MAX(seq), MIN(seq)" + where));
    Statement s(db_, raw);
    bind(s);
    PARLEY_ASSIGN_OR_RETURN(const bool row, s.step());
    if (!row || s.integer(0) == 0) return std::optional<core::RecoveredSeqs>();
    count = s.integer(0);
    highest = s.integer(1);
    zero = s.integer(2) == 0;  // never valid on the wire; kept as a member all the same
  }
  if (zero) --count;
  core::RecoveredSeqs seqs;
  if (count == highest) {
    seqs.watermark = static_cast<std::uint64_t>(highest);
  } else {
    PARLEY_ASSIGN_OR_RETURN(sqlite3_stmt * raw,
                            prepare("SELECT seq" + where + " AND seq >= 1 ORDER BY seq DESC"));
    Statement s(db_, raw);
    bind(s);
    std::int64_t at_or_below = count;  // rows with 1 <= seq <= the current row's
    for (;;) {
      PARLEY_ASSIGN_OR_RETURN(const bool row, s.step());
      if (!row) break;
      const std::int64_t seq = s.integer(0);
      if (at_or_below == seq) {
        seqs.watermark = static_cast<std::uint64_t>(seq);
        break;
      }
      seqs.above.push_back(static_cast<std::uint64_t>(seq));
      --at_or_below;
    }
  }
  if (zero) seqs.above.push_back(0);
  std::sort(seqs.above.begin(), seqs.above.end());
  return std::optional<core::RecoveredSeqs>(std::move(seqs));
}

Result<core::Recovered> SqliteStore::recover(std::string_view peer) {
  // Everything below reads O(log n) rows per line of the peer, or the rows it returns (the
  // pending messages, through the partial indexes of schema 3), or the index range of a
  // line's inbound seqs (inbound_seqs): never the table's rows of the history.
  PARLEY_ASSIGN_OR_RETURN(const auto lines, peer_lines(peer));
  core::Recovered out;
  for (const auto& [line, whole_line] : lines) {
    const std::string only_peer = whole_line ? "" : " AND peer = ?2";
    {
      PARLEY_ASSIGN_OR_RETURN(
          sqlite3_stmt * raw,
          prepare("SELECT MAX(seq) FROM messages WHERE line = ?1 AND direction = 'outbound'" +
                  only_peer));
      Statement s(db_, raw);
      s.bind_text(1, line);
      if (!whole_line) s.bind_text(2, peer);
      PARLEY_ASSIGN_OR_RETURN(const bool row, s.step());
      if (row && !s.is_null(0)) {
        out.last_outbound_seq[line] = static_cast<std::uint64_t>(s.integer(0));
      }
    }
    PARLEY_ASSIGN_OR_RETURN(auto seqs, inbound_seqs(line, peer, whole_line));
    if (seqs) out.inbound_seqs[line] = std::move(*seqs);
  }
  // The pending messages of every peer are few: a scan of the partial index reads them and
  // no others. INDEXED BY makes the plan certain (and fails the statement if it cannot be).
  const std::string mine = "(peer = ?1 OR line IN (SELECT id FROM lines WHERE remote_party = ?1))";
  const auto bind_peer = [peer](Statement& s) { s.bind_text(1, peer); };
  PARLEY_ASSIGN_OR_RETURN(
      out.unreceipted,
      query_messages(std::string("SELECT ") + kMessageSelect +
                         " FROM messages INDEXED BY messages_unreceipted WHERE direction = "
                         "'outbound' AND receipted = 0 AND " +
                         mine + " ORDER BY seq, line",
                     bind_peer));
  PARLEY_ASSIGN_OR_RETURN(
      out.unacknowledged,
      query_messages(std::string("SELECT ") + kMessageSelect +
                         " FROM messages INDEXED BY messages_unacknowledged WHERE direction = "
                         "'outbound' AND needs_ack = 1 AND acknowledged_at IS NULL AND state NOT "
                         "IN ('expired', 'refused', 'cancelled') AND " +
                         mine + " ORDER BY created, seq, line",
                     bind_peer));
  PARLEY_ASSIGN_OR_RETURN(
      out.inbound_unacknowledged,
      query_messages(std::string("SELECT ") + kMessageSelect +
                         " FROM messages INDEXED BY messages_inbound_unacknowledged WHERE "
                         "direction = 'inbound' AND needs_ack = 1 AND acknowledged_at IS NULL AND "
                         "state IN ('delivered', 'overdue') AND " +
                         mine + " ORDER BY created, seq, line",
                     bind_peer));
  PARLEY_RETURN_IF_ERROR(recover_ledger(peer, out));
  PARLEY_ASSIGN_OR_RETURN(out.peer_rotations, rotations(peer));
  PARLEY_ASSIGN_OR_RETURN(out.own_rotations, own_rotations_for(peer));
  return out;
}

Status SqliteStore::recover_ledger(std::string_view peer, core::Recovered& out) {
  // Our log for `peer` is the rows with peer = `peer`; the peer's log for us has owner =
  // `peer`. Every query below reads O(log n) rows or rows not yet countersigned.
  core::RecoveredLedger& l = out.ledger;
  const auto bind_peer = [peer](Statement& s) { s.bind_text(1, peer); };
  {
    PARLEY_ASSIGN_OR_RETURN(sqlite3_stmt * raw,
                            prepare("SELECT idx FROM log_entries WHERE peer = ?1 AND owner != ?1 "
                                    "ORDER BY idx DESC LIMIT 1"));
    Statement s(db_, raw);
    bind_peer(s);
    PARLEY_ASSIGN_OR_RETURN(const bool row, s.step());
    if (row) l.log_size = static_cast<std::uint64_t>(s.integer(0)) + 1;
  }
  PARLEY_ASSIGN_OR_RETURN(l.countersigned,
                          query_head("SELECT size, root, sth_json, countersig_json FROM heads "
                                     "WHERE peer = ?1 AND owner != ?1 AND "
                                     "countersig_json IS NOT NULL ORDER BY size DESC LIMIT 1",
                                     bind_peer));
  const std::uint64_t c = l.countersigned ? l.countersigned->size : 0;
  {
    PARLEY_ASSIGN_OR_RETURN(
        sqlite3_stmt * raw,
        prepare("SELECT size, root, sth_json FROM heads WHERE peer = ?1 AND owner != ?1 AND "
                "countersig_json IS NULL AND size > ?2 ORDER BY size"));
    Statement s(db_, raw);
    bind_peer(s);
    s.bind_int(2, static_cast<std::int64_t>(c));
    for (;;) {
      PARLEY_ASSIGN_OR_RETURN(const bool row, s.step());
      if (!row) break;
      Result<crypto::Digest> root = to_digest(s.bytes(1));
      if (!root.is_ok()) return Status::data_loss("stored head: " + root.status().message());
      l.pending.push_back(
          {static_cast<std::uint64_t>(s.integer(0)), *root, s.text(2), std::nullopt});
    }
  }
  // The frontier's base: the latest countersigned size at or below every unreceipted
  // entry (FLASH may have overtaken an older one), with its compact range.
  std::uint64_t lowest = l.log_size;
  for (const core::MessageRecord& m : out.unreceipted) {
    // A cancelled entry is never sent: no proof of it is ever needed.
    if (m.log_index && m.state != core::MessageState::kCancelled) {
      lowest = std::min(lowest, *m.log_index);
    }
  }
  {
    PARLEY_ASSIGN_OR_RETURN(
        sqlite3_stmt * raw,
        prepare("SELECT size, frontier_json FROM heads WHERE peer = ?1 AND owner != ?1 AND "
                "countersig_json IS NOT NULL AND frontier_json IS NOT NULL AND size <= ?2 "
                "ORDER BY size DESC LIMIT 1"));
    Statement s(db_, raw);
    bind_peer(s);
    s.bind_int(2, static_cast<std::int64_t>(std::min(lowest, c)));
    PARLEY_ASSIGN_OR_RETURN(const bool row, s.step());
    if (row) {
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
    PARLEY_ASSIGN_OR_RETURN(sqlite3_stmt * raw,
                            prepare("SELECT idx, leaf_hash FROM log_entries WHERE peer = ?1 AND "
                                    "owner != ?1 AND idx >= ?2 ORDER BY idx"));
    Statement s(db_, raw);
    bind_peer(s);
    s.bind_int(2, static_cast<std::int64_t>(l.base_size));
    for (;;) {
      PARLEY_ASSIGN_OR_RETURN(const bool row, s.step());
      if (!row) break;
      PARLEY_RETURN_IF_ERROR(columns::append_tail_leaf(s, peer, l));
    }
  }
  PARLEY_ASSIGN_OR_RETURN(
      l.peer_head,
      query_head("SELECT size, root, sth_json, countersig_json FROM heads WHERE owner = ?1 AND "
                 "countersig_json IS NOT NULL ORDER BY size DESC LIMIT 1",
                 bind_peer));
  return Status::ok();
}

}  // namespace parley::store::sqlite_detail
