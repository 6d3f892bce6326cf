// The SQLite store: the configuration tables (peers, principals, lines).

#include "parley/store/sqlite/internal.h"

namespace parley::store::sqlite_detail {
namespace {

// A row of (id, name, role, token_hash, token_expires, revoked_at).
core::Principal read_principal(const Statement& s) {
  core::Principal p;
  p.id = s.text(0);
  p.name = s.text(1);
  p.role = s.text(2);
  p.token_hash = s.bytes(3);
  p.token_expires = s.opt_time(4);
  p.revoked_at = s.opt_time(5);
  return p;
}

}  // namespace

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
      prepare("INSERT INTO principals (id, name, role, token_hash, token_expires, revoked_at) "
              "VALUES (?1, ?2, ?3, ?4, ?5, ?6) "
              "ON CONFLICT (id) DO UPDATE SET name = excluded.name, role = excluded.role, "
              "token_hash = excluded.token_hash, token_expires = excluded.token_expires, "
              "revoked_at = excluded.revoked_at"));
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
  s.bind_opt_time(5, principal.token_expires);
  s.bind_opt_time(6, principal.revoked_at);
  if (s.exec() == SQLITE_DONE) return Status::ok();
  if (sqlite3_extended_errcode(db_) == SQLITE_CONSTRAINT_UNIQUE) {
    return Status::already_exists("principal " + principal.id +
                                  ": token hash already belongs to another principal");
  }
  return sqlite_error(db_, "storing principal " + principal.id);
}

Result<std::vector<core::Principal>> SqliteStore::principals() {
  PARLEY_ASSIGN_OR_RETURN(sqlite3_stmt * raw,
                          prepare("SELECT id, name, role, token_hash, token_expires, revoked_at "
                                  "FROM principals ORDER BY id"));
  Statement s(db_, raw);
  std::vector<core::Principal> out;
  for (;;) {
    PARLEY_ASSIGN_OR_RETURN(const bool row, s.step());
    if (!row) break;
    out.push_back(read_principal(s));
  }
  return out;
}

Result<std::optional<core::Principal>> SqliteStore::principal_by_token_hash(ByteView token_hash) {
  if (token_hash.empty()) return std::optional<core::Principal>();
  PARLEY_ASSIGN_OR_RETURN(
      sqlite3_stmt * raw,
      prepare("SELECT id, name, role, token_hash, token_expires, revoked_at FROM principals "
              "WHERE token_hash = ?1"));
  Statement s(db_, raw);
  s.bind_blob(1, token_hash);
  PARLEY_ASSIGN_OR_RETURN(const bool row, s.step());
  if (!row) return std::optional<core::Principal>();
  return std::optional<core::Principal>(read_principal(s));
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

Status SqliteStore::remove_row(const char* sql, std::string_view id, std::string_view what) {
  PARLEY_ASSIGN_OR_RETURN(sqlite3_stmt * raw, prepare(sql));
  Statement s(db_, raw);
  s.bind_text(1, id);
  if (s.exec() != SQLITE_DONE)
    return sqlite_error(db_, "removing " + std::string(what) + " " + std::string(id));
  if (sqlite3_changes(db_) == 0)
    return Status::not_found("no " + std::string(what) + " " + std::string(id));
  return Status::ok();
}

Status SqliteStore::remove_peer(std::string_view party) {
  return remove_row("DELETE FROM peers WHERE party = ?1", party, "peer");
}

Status SqliteStore::remove_principal(std::string_view id) {
  return remove_row("DELETE FROM principals WHERE id = ?1", id, "principal");
}

Status SqliteStore::remove_line(std::string_view id) {
  return remove_row("DELETE FROM lines WHERE id = ?1", id, "line");
}

}  // namespace parley::store::sqlite_detail

namespace parley::store::sqlite_detail {

Status SqliteStore::put_roster(std::string_view role, const std::vector<core::Shift>& shifts) {
  PARLEY_RETURN_IF_ERROR(exec("BEGIN IMMEDIATE"));
  Status status = [&]() -> Status {
    PARLEY_ASSIGN_OR_RETURN(sqlite3_stmt * clear, prepare("DELETE FROM roster WHERE role = ?1"));
    Statement c(db_, clear);
    c.bind_text(1, role);
    if (c.exec() != SQLITE_DONE) return sqlite_error(db_, "clearing the roster");
    PARLEY_ASSIGN_OR_RETURN(
        sqlite3_stmt * raw,
        prepare("INSERT INTO roster (role, principal, from_ms, to_ms) VALUES (?1, ?2, ?3, ?4)"));
    for (const core::Shift& shift : shifts) {
      if (shift.role != role) {
        return Status::invalid_argument("shift of role " + shift.role + " given for role " +
                                        std::string(role));
      }
      Statement s(db_, raw);
      s.bind_text(1, shift.role);
      s.bind_text(2, shift.principal);
      s.bind_time(3, shift.from);
      s.bind_time(4, shift.to);
      if (s.exec() == SQLITE_DONE) continue;
      if (sqlite3_extended_errcode(db_) == SQLITE_CONSTRAINT_PRIMARYKEY) {
        return Status::already_exists("two shifts of role " + shift.role + " start together");
      }
      if (sqlite3_errcode(db_) == SQLITE_CONSTRAINT) {
        return Status::invalid_argument("shift of role " + shift.role + " ends before it begins");
      }
      return sqlite_error(db_, "storing the roster");
    }
    return Status::ok();
  }();
  if (status.is_ok()) return commit();
  (void)exec("ROLLBACK");
  return status;
}

Result<std::vector<core::Shift>> SqliteStore::roster() {
  PARLEY_ASSIGN_OR_RETURN(
      sqlite3_stmt * raw,
      prepare("SELECT role, principal, from_ms, to_ms FROM roster ORDER BY role, from_ms"));
  Statement s(db_, raw);
  std::vector<core::Shift> out;
  for (;;) {
    PARLEY_ASSIGN_OR_RETURN(const bool row, s.step());
    if (!row) break;
    out.push_back({s.text(0), s.text(1), s.time(2), s.time(3)});
  }
  return out;
}

Status SqliteStore::log_change(const core::DirectoryChange& change) {
  PARLEY_ASSIGN_OR_RETURN(
      sqlite3_stmt * raw,
      prepare("INSERT INTO directory_changes (at, action, detail) VALUES (?1, ?2, ?3)"));
  Statement s(db_, raw);
  s.bind_time(1, change.at);
  s.bind_text(2, change.action);
  s.bind_text(3, change.detail);
  if (s.exec() != SQLITE_DONE) return sqlite_error(db_, "logging a directory change");
  return Status::ok();
}

Result<std::vector<core::DirectoryChange>> SqliteStore::changes() {
  PARLEY_ASSIGN_OR_RETURN(sqlite3_stmt * raw,
                          prepare("SELECT at, action, detail FROM directory_changes ORDER BY seq"));
  Statement s(db_, raw);
  std::vector<core::DirectoryChange> out;
  for (;;) {
    PARLEY_ASSIGN_OR_RETURN(const bool row, s.step());
    if (!row) break;
    out.push_back({s.time(0), s.text(1), s.text(2)});
  }
  return out;
}

}  // namespace parley::store::sqlite_detail

namespace parley::store::sqlite_detail {

Result<std::vector<WitnessedCheckpoint>> SqliteStore::witnessed() {
  PARLEY_ASSIGN_OR_RETURN(
      sqlite3_stmt * raw,
      prepare("SELECT origin, size, checkpoint FROM witnessed ORDER BY origin"));
  Statement s(db_, raw);
  std::vector<WitnessedCheckpoint> out;
  for (;;) {
    PARLEY_ASSIGN_OR_RETURN(const bool row, s.step());
    if (!row) break;
    out.push_back({s.text(0), static_cast<std::uint64_t>(s.integer(1)), s.text(2)});
  }
  return out;
}

Result<bool> SqliteStore::put_witnessed(const WitnessedCheckpoint& view, std::uint64_t old_size) {
  if (view.size > kStoredIntMax || old_size > kStoredIntMax) {
    return Status::invalid_argument("a witnessed size above 2^63 - 1");
  }
  // One statement each way, so the check of the old size and the write are one atomic step.
  const char* sql =
      old_size == 0
          ? "INSERT INTO witnessed (origin, size, checkpoint) VALUES (?1, ?2, ?3) "
            "ON CONFLICT (origin) DO UPDATE SET size = excluded.size, "
            "checkpoint = excluded.checkpoint WHERE witnessed.size = 0"
          : "UPDATE witnessed SET size = ?2, checkpoint = ?3 WHERE origin = ?1 AND size = ?4";
  PARLEY_ASSIGN_OR_RETURN(sqlite3_stmt * raw, prepare(sql));
  Statement s(db_, raw);
  s.bind_text(1, view.origin);
  s.bind_int(2, static_cast<std::int64_t>(view.size));
  s.bind_text(3, view.checkpoint);
  if (old_size != 0) s.bind_int(4, static_cast<std::int64_t>(old_size));
  if (s.exec() != SQLITE_DONE) return sqlite_error(db_, "storing the witnessed " + view.origin);
  return sqlite3_changes(db_) == 1;
}

Status SqliteStore::put_split_view(const SplitViewRecord& split) {
  PARLEY_ASSIGN_OR_RETURN(
      sqlite3_stmt * raw,
      prepare("INSERT INTO split_views (origin, kind, witnessed, offered, seen) "
              "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (origin, witnessed, offered) DO NOTHING"));
  Statement s(db_, raw);
  s.bind_text(1, split.origin);
  s.bind_text(2, split.kind);
  s.bind_text(3, split.witnessed);
  s.bind_text(4, split.offered);
  s.bind_time(5, split.seen);
  if (s.exec() != SQLITE_DONE) return sqlite_error(db_, "storing a split view of " + split.origin);
  return Status::ok();
}

Result<std::vector<SplitViewRecord>> SqliteStore::split_views() {
  PARLEY_ASSIGN_OR_RETURN(
      sqlite3_stmt * raw,
      prepare("SELECT origin, kind, witnessed, offered, seen FROM split_views ORDER BY seq"));
  Statement s(db_, raw);
  std::vector<SplitViewRecord> out;
  for (;;) {
    PARLEY_ASSIGN_OR_RETURN(const bool row, s.step());
    if (!row) break;
    out.push_back({s.text(0), s.text(1), s.text(2), s.text(3), s.time(4)});
  }
  return out;
}

Status SqliteStore::put_cosignature(const CosignatureRecord& c) {
  if (c.size > kStoredIntMax) return Status::invalid_argument("a cosigned size above 2^63 - 1");
  PARLEY_ASSIGN_OR_RETURN(
      sqlite3_stmt * raw,
      prepare("INSERT INTO cosignatures (origin, witness, size, checkpoint, signature) "
              "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (origin, witness) DO UPDATE SET "
              "size = excluded.size, checkpoint = excluded.checkpoint, "
              "signature = excluded.signature WHERE cosignatures.size <= excluded.size"));
  Statement s(db_, raw);
  s.bind_text(1, c.origin);
  s.bind_text(2, c.witness);
  s.bind_int(3, static_cast<std::int64_t>(c.size));
  s.bind_text(4, c.checkpoint);
  s.bind_text(5, c.signature);
  if (s.exec() != SQLITE_DONE) return sqlite_error(db_, "storing a cosignature of " + c.origin);
  return Status::ok();
}

Result<std::vector<CosignatureRecord>> SqliteStore::cosignatures() {
  PARLEY_ASSIGN_OR_RETURN(sqlite3_stmt * raw,
                          prepare("SELECT origin, witness, size, checkpoint, signature "
                                  "FROM cosignatures ORDER BY origin, witness"));
  Statement s(db_, raw);
  std::vector<CosignatureRecord> out;
  for (;;) {
    PARLEY_ASSIGN_OR_RETURN(const bool row, s.step());
    if (!row) break;
    out.push_back(
        {s.text(0), s.text(1), static_cast<std::uint64_t>(s.integer(2)), s.text(3), s.text(4)});
  }
  return out;
}

Status SqliteStore::put_forwarded_head(const ForwardedHead& h) {
  if (h.size > kStoredIntMax) return Status::invalid_argument("a head size above 2^63 - 1");
  PARLEY_ASSIGN_OR_RETURN(
      sqlite3_stmt * raw,
      prepare("INSERT INTO forwarded_heads (origin, size, root, forwarder, receipt, received) "
              "VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (origin, size) DO NOTHING"));
  Statement s(db_, raw);
  s.bind_text(1, h.origin);
  s.bind_int(2, static_cast<std::int64_t>(h.size));
  s.bind_text(3, h.root);
  s.bind_text(4, h.forwarder);
  s.bind_text(5, h.receipt);
  s.bind_time(6, h.received);
  if (s.exec() != SQLITE_DONE) return sqlite_error(db_, "storing a forwarded head of " + h.origin);
  return Status::ok();
}

namespace {
constexpr const char* kForwardedColumns = "origin, size, root, forwarder, receipt, received";
ForwardedHead forwarded_row(const Statement& s) {
  return {s.text(0), static_cast<std::uint64_t>(s.integer(1)), s.text(2), s.text(3), s.text(4),
          s.time(5)};
}
}  // namespace

Result<std::optional<ForwardedHead>> SqliteStore::forwarded_head(std::string_view origin,
                                                                 std::uint64_t size) {
  if (size > kStoredIntMax) return std::optional<ForwardedHead>();
  PARLEY_ASSIGN_OR_RETURN(sqlite3_stmt * raw,
                          prepare(std::string("SELECT ") + kForwardedColumns +
                                  " FROM forwarded_heads WHERE origin = ?1 AND size = ?2"));
  Statement s(db_, raw);
  s.bind_text(1, origin);
  s.bind_int(2, static_cast<std::int64_t>(size));
  PARLEY_ASSIGN_OR_RETURN(const bool row, s.step());
  if (!row) return std::optional<ForwardedHead>();
  return std::optional<ForwardedHead>(forwarded_row(s));
}

Result<std::vector<ForwardedHead>> SqliteStore::forwarded_heads() {
  PARLEY_ASSIGN_OR_RETURN(
      sqlite3_stmt * raw,
      prepare(std::string("SELECT ") + kForwardedColumns +
              " FROM forwarded_heads f WHERE size = (SELECT MAX(size) FROM forwarded_heads g "
              "WHERE g.origin = f.origin) ORDER BY origin"));
  Statement s(db_, raw);
  std::vector<ForwardedHead> out;
  for (;;) {
    PARLEY_ASSIGN_OR_RETURN(const bool row, s.step());
    if (!row) break;
    out.push_back(forwarded_row(s));
  }
  return out;
}

Result<bool> SqliteStore::put_disclosure(const DisclosureRecord& d) {
  if (d.index > kStoredIntMax || d.size > kStoredIntMax) {
    return Status::invalid_argument("a disclosed index or size above 2^63 - 1");
  }
  PARLEY_ASSIGN_OR_RETURN(
      sqlite3_stmt * raw,
      prepare("INSERT INTO disclosures (id, discloser, origin, idx, size, envelope, salt, "
              "content, disclosed) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) "
              "ON CONFLICT (id) DO NOTHING"));
  Statement s(db_, raw);
  s.bind_text(1, d.id);
  s.bind_text(2, d.discloser);
  s.bind_text(3, d.origin);
  s.bind_int(4, static_cast<std::int64_t>(d.index));
  s.bind_int(5, static_cast<std::int64_t>(d.size));
  s.bind_text(6, d.envelope);
  s.bind_text(7, d.salt);
  s.bind_text(8, d.content);
  s.bind_time(9, d.disclosed);
  if (s.exec() != SQLITE_DONE) return sqlite_error(db_, "storing the disclosure of " + d.id);
  return sqlite3_changes(db_) == 1;
}

Result<std::vector<DisclosureRecord>> SqliteStore::disclosures() {
  PARLEY_ASSIGN_OR_RETURN(
      sqlite3_stmt * raw,
      prepare("SELECT id, discloser, origin, idx, size, envelope, salt, content, disclosed "
              "FROM disclosures ORDER BY seq"));
  Statement s(db_, raw);
  std::vector<DisclosureRecord> out;
  for (;;) {
    PARLEY_ASSIGN_OR_RETURN(const bool row, s.step());
    if (!row) break;
    out.push_back({s.text(0), s.text(1), s.text(2), static_cast<std::uint64_t>(s.integer(3)),
                   static_cast<std::uint64_t>(s.integer(4)), s.text(5), s.text(6), s.text(7),
                   s.time(8)});
  }
  return out;
}

Status SqliteStore::append_events(std::vector<EventRecord>& events) {
  if (events.empty()) return Status::ok();
  PARLEY_RETURN_IF_ERROR(exec("BEGIN IMMEDIATE"));
  const Result<std::uint64_t> first = insert_events(events);
  if (!first.is_ok()) {
    (void)exec("ROLLBACK");
    return first.status();
  }
  PARLEY_RETURN_IF_ERROR(commit());
  for (std::size_t i = 0; i < events.size(); ++i) events[i].id = *first + i;
  return Status::ok();
}

Result<std::uint64_t> SqliteStore::insert_events(const std::vector<EventRecord>& events) {
  PARLEY_ASSIGN_OR_RETURN(sqlite3_stmt * newest_id,
                          prepare("SELECT COALESCE(MAX(id), 0) FROM events"));
  PARLEY_ASSIGN_OR_RETURN(
      sqlite3_stmt * insert,
      prepare("INSERT INTO events (id, time, name, data, line, peer, alerted, operator_only) "
              "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"));
  PARLEY_ASSIGN_OR_RETURN(sqlite3_stmt * drop, prepare("DELETE FROM events WHERE id <= ?1"));
  std::uint64_t last = 0;
  {
    Statement s(db_, newest_id);
    PARLEY_ASSIGN_OR_RETURN(const bool row, s.step());
    last = row ? static_cast<std::uint64_t>(s.integer(0)) : 0;
  }
  for (std::size_t i = 0; i < events.size(); ++i) {
    const EventRecord& e = events[i];
    Statement s(db_, insert);
    s.bind_int(1, static_cast<std::int64_t>(last + 1 + i));
    s.bind_time(2, e.time);
    s.bind_text(3, e.name);
    s.bind_text(4, e.data);
    s.bind_text(5, e.line);
    s.bind_text(6, e.peer);
    s.bind_text(7, encode_string_array(e.alerted));
    s.bind_int(8, e.operator_only ? 1 : 0);
    if (s.exec() != SQLITE_DONE) return sqlite_error(db_, "storing an event");
  }
  const std::uint64_t newest = last + events.size();
  if (newest > kEventsKept) {
    Statement s(db_, drop);
    s.bind_int(1, static_cast<std::int64_t>(newest - kEventsKept));
    if (s.exec() != SQLITE_DONE) return sqlite_error(db_, "dropping old events");
  }
  return last + 1;
}

Result<EventPage> SqliteStore::events_after(std::uint64_t after, std::size_t limit) {
  EventPage page;
  {
    PARLEY_ASSIGN_OR_RETURN(
        sqlite3_stmt * raw,
        prepare("SELECT COALESCE(MIN(id), 0), COALESCE(MAX(id), 0) FROM events"));
    Statement s(db_, raw);
    PARLEY_ASSIGN_OR_RETURN(const bool row, s.step());
    if (row) {
      page.first = static_cast<std::uint64_t>(s.integer(0));
      page.last = static_cast<std::uint64_t>(s.integer(1));
    }
  }
  PARLEY_ASSIGN_OR_RETURN(
      sqlite3_stmt * raw,
      prepare("SELECT id, time, name, data, line, peer, alerted, operator_only FROM events "
              "WHERE id > ?1 ORDER BY id LIMIT ?2"));
  Statement s(db_, raw);
  s.bind_int(1, static_cast<std::int64_t>(std::min<std::uint64_t>(after, kStoredIntMax)));
  s.bind_int(2, static_cast<std::int64_t>(std::min<std::size_t>(limit, kStoredIntMax)));
  for (;;) {
    PARLEY_ASSIGN_OR_RETURN(const bool row, s.step());
    if (!row) break;
    EventRecord e;
    e.id = static_cast<std::uint64_t>(s.integer(0));
    e.time = s.time(1);
    e.name = s.text(2);
    e.data = s.text(3);
    e.line = s.text(4);
    e.peer = s.text(5);
    PARLEY_ASSIGN_OR_RETURN(e.alerted, parse_string_array(s.text(6)));
    e.operator_only = s.integer(7) != 0;
    page.events.push_back(std::move(e));
  }
  return page;
}

}  // namespace parley::store::sqlite_detail
