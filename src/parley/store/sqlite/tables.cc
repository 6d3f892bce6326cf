// The SQLite store: the configuration tables (peers, principals, lines).

#include "parley/store/sqlite/internal.h"

namespace parley::store::sqlite_detail {

Status SqliteStore::put_peer(const core::Peer& peer) {
  const std::string bundle = wire::encode_bundle(peer.bundle);
  // Stored only if it reads back: peers() must never meet a bundle it cannot parse.
  Result<wire::Bundle> check = wire::parse_bundle(bundle);
  if (!check.is_ok()) return check.status().with_context("peer '" + peer.bundle.party + "'");
  PARLEY_ASSIGN_OR_RETURN(sqlite3_stmt * raw,
                          prepare("INSERT INTO peers (party, bundle) VALUES (?1, ?2) "
                                  "ON CONFLICT (party) DO UPDATE SET bundle = excluded.bundle"));
  Statement s(db_, raw);
  s.bind_text(1, peer.bundle.party);
  s.bind_text(2, bundle);
  if (s.exec() != SQLITE_DONE) return sqlite_error(db_, "storing peer " + peer.bundle.party);
  return Status::ok();
}

Result<std::vector<core::Peer>> SqliteStore::peers() {
  PARLEY_ASSIGN_OR_RETURN(sqlite3_stmt * raw,
                          prepare("SELECT party, bundle FROM peers ORDER BY party"));
  Statement s(db_, raw);
  std::vector<core::Peer> out;
  for (;;) {
    PARLEY_ASSIGN_OR_RETURN(const bool row, s.step());
    if (!row) break;
    Result<wire::Bundle> bundle = wire::parse_bundle(s.text(1));
    if (!bundle.is_ok()) {
      return Status::data_loss("stored peer '" + s.text(0) + "': " + bundle.status().message());
    }
    out.push_back(core::Peer{std::move(bundle).value()});
  }
  return out;
}

Status SqliteStore::put_principal(const core::Principal& principal) {
  PARLEY_ASSIGN_OR_RETURN(
      sqlite3_stmt * raw,
      prepare("INSERT INTO principals (id, name, role, token_hash) VALUES (?1, ?2, ?3, ?4) "
              "ON CONFLICT (id) DO UPDATE SET name = excluded.name, role = excluded.role, "
              "token_hash = excluded.token_hash"));
  Statement s(db_, raw);
  s.bind_text(1, principal.id);
  s.bind_text(2, principal.name);
  s.bind_text(3, principal.role);
  // No token: NULL, which UNIQUE lets many principals share.
  if (principal.token_hash.empty()) {
    s.bind_null(4);
  } else {
    s.bind_blob(4, principal.token_hash);
  }
  if (s.exec() == SQLITE_DONE) return Status::ok();
  if (sqlite3_extended_errcode(db_) == SQLITE_CONSTRAINT_UNIQUE) {
    return Status::already_exists("principal " + principal.id +
                                  ": token hash already belongs to another principal");
  }
  return sqlite_error(db_, "storing principal " + principal.id);
}

Result<std::vector<core::Principal>> SqliteStore::principals() {
  PARLEY_ASSIGN_OR_RETURN(sqlite3_stmt * raw,
                          prepare("SELECT id, name, role, token_hash FROM principals ORDER BY id"));
  Statement s(db_, raw);
  std::vector<core::Principal> out;
  for (;;) {
    PARLEY_ASSIGN_OR_RETURN(const bool row, s.step());
    if (!row) break;
    out.push_back({s.text(0), s.text(1), s.text(2), s.bytes(3)});
  }
  return out;
}

Result<std::optional<core::Principal>> SqliteStore::principal_by_token_hash(ByteView token_hash) {
  if (token_hash.empty()) return std::optional<core::Principal>();
  PARLEY_ASSIGN_OR_RETURN(
      sqlite3_stmt * raw,
      prepare("SELECT id, name, role, token_hash FROM principals WHERE token_hash = ?1"));
  Statement s(db_, raw);
  s.bind_blob(1, token_hash);
  PARLEY_ASSIGN_OR_RETURN(const bool row, s.step());
  if (!row) return std::optional<core::Principal>();
  return std::optional<core::Principal>(
      core::Principal{s.text(0), s.text(1), s.text(2), s.bytes(3)});
}

Status SqliteStore::put_line(const core::Line& line) {
  PARLEY_ASSIGN_OR_RETURN(
      sqlite3_stmt * raw,
      prepare("INSERT INTO lines (id, local, remote_party, remote_principal, alternates, "
              "observers, deadline_flash_ms, deadline_immediate_ms, deadline_priority_ms, "
              "deadline_routine_ms, remote_alternates) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, "
              "?9, ?10, ?11) "
              "ON CONFLICT (id) DO UPDATE SET local = excluded.local, "
              "remote_party = excluded.remote_party, "
              "remote_principal = excluded.remote_principal, alternates = excluded.alternates, "
              "observers = excluded.observers, deadline_flash_ms = excluded.deadline_flash_ms, "
              "deadline_immediate_ms = excluded.deadline_immediate_ms, "
              "deadline_priority_ms = excluded.deadline_priority_ms, "
              "deadline_routine_ms = excluded.deadline_routine_ms, "
              "remote_alternates = excluded.remote_alternates"));
  Statement s(db_, raw);
  s.bind_text(1, line.id);
  s.bind_text(2, line.local);
  s.bind_text(3, line.remote.party);
  s.bind_text(4, line.remote.principal);
  s.bind_text(5, encode_string_array(line.alternates));
  s.bind_text(6, encode_string_array(line.observers));
  s.bind_int(7, line.deadlines.flash.count());
  s.bind_int(8, line.deadlines.immediate.count());
  s.bind_int(9, line.deadlines.priority.count());
  s.bind_int(10, line.deadlines.routine.count());
  s.bind_text(11, encode_string_array(line.remote_alternates));
  if (s.exec() != SQLITE_DONE) return sqlite_error(db_, "storing line " + line.id);
  return Status::ok();
}

Result<std::vector<core::Line>> SqliteStore::lines() {
  PARLEY_ASSIGN_OR_RETURN(
      sqlite3_stmt * raw,
      prepare(std::string("SELECT ") + columns::kLineColumns + " FROM lines ORDER BY id"));
  Statement s(db_, raw);
  std::vector<core::Line> out;
  for (;;) {
    PARLEY_ASSIGN_OR_RETURN(const bool row, s.step());
    if (!row) break;
    PARLEY_ASSIGN_OR_RETURN(core::Line line, columns::read_line(s));
    out.push_back(std::move(line));
  }
  return out;
}

}  // namespace parley::store::sqlite_detail
