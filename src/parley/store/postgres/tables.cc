// The PostgreSQL store: the configuration tables (peers, principals, lines).

#include "parley/store/postgres/internal.h"

namespace parley::store::postgres_detail {
namespace {

// A row of (id, name, role, token_hash, token_expires, revoked_at).
core::Principal read_principal(const Row& s) {
  core::Principal p;
  p.id = s.text(0);
  p.name = s.text(1);
  p.role = s.text(2);
  p.token_hash = s.is_null(3) ? Bytes() : s.bytes(3);
  p.token_expires = s.opt_time(4);
  p.revoked_at = s.opt_time(5);
  return p;
}

}  // namespace

Status PostgresStore::put_peer(const core::Peer& peer) {
  const std::string bundle = wire::encode_bundle(peer.bundle);
  // Stored only if it reads back: peers() must never meet a bundle it cannot parse.
  Result<wire::Bundle> check = wire::parse_bundle(bundle);
  if (!check.is_ok()) return check.status().with_context("peer '" + peer.bundle.party + "'");
  Params p;
  p.text(peer.bundle.party);
  p.text(bundle);
  Result<PgResult> r =
      run("INSERT INTO peers (party, bundle) VALUES ($1, $2) "
          "ON CONFLICT (party) DO UPDATE SET bundle = excluded.bundle",
          p);
  if (!r.is_ok()) return r.status().with_context("storing peer " + peer.bundle.party);
  return Status::ok();
}

Result<std::vector<core::Peer>> PostgresStore::peers() {
  PARLEY_ASSIGN_OR_RETURN(const PgResult r,
                          run("SELECT party, bundle FROM peers ORDER BY party", Params()));
  std::vector<core::Peer> out;
  for (int i = 0; i < PQntuples(r.get()); ++i) {
    const Row s(r.get(), i);
    Result<wire::Bundle> bundle = wire::parse_bundle(s.text(1));
    if (!bundle.is_ok()) {
      return Status::data_loss("stored peer '" + s.text(0) + "': " + bundle.status().message());
    }
    out.push_back(core::Peer{std::move(bundle).value()});
  }
  return out;
}

Status PostgresStore::put_principal(const core::Principal& principal) {
  Params p;
  p.text(principal.id);
  p.text(principal.name);
  p.text(principal.role);
  // No token: NULL, which UNIQUE lets many principals share.
  if (principal.token_hash.empty()) {
    p.null();
  } else {
    p.bytes(principal.token_hash);
  }
  p.opt_time(principal.token_expires);
  p.opt_time(principal.revoked_at);
  Result<PgResult> r =
      run("INSERT INTO principals (id, name, role, token_hash, token_expires, revoked_at) "
          "VALUES ($1, $2, $3, $4, $5, $6) "
          "ON CONFLICT (id) DO UPDATE SET name = excluded.name, role = excluded.role, "
          "token_hash = excluded.token_hash, token_expires = excluded.token_expires, "
          "revoked_at = excluded.revoked_at",
          p);
  if (r.is_ok()) return Status::ok();
  if (sqlstate_ == "23505") {
    return Status::already_exists("principal " + principal.id +
                                  ": token hash already belongs to another principal");
  }
  return r.status().with_context("storing principal " + principal.id);
}

Result<std::vector<core::Principal>> PostgresStore::principals() {
  PARLEY_ASSIGN_OR_RETURN(
      const PgResult r,
      run("SELECT id, name, role, token_hash, token_expires, revoked_at FROM principals "
          "ORDER BY id",
          Params()));
  std::vector<core::Principal> out;
  for (int i = 0; i < PQntuples(r.get()); ++i) {
    const Row s(r.get(), i);
    out.push_back(read_principal(s));
  }
  return out;
}

Result<std::optional<core::Principal>> PostgresStore::principal_by_token_hash(ByteView token_hash) {
  if (token_hash.empty()) return std::optional<core::Principal>();
  Params p;
  p.bytes(token_hash);
  PARLEY_ASSIGN_OR_RETURN(
      const PgResult r,
      run("SELECT id, name, role, token_hash, token_expires, revoked_at FROM principals "
          "WHERE token_hash = $1",
          p));
  if (PQntuples(r.get()) == 0) return std::optional<core::Principal>();
  const Row s(r.get(), 0);
  return std::optional<core::Principal>(read_principal(s));
}

Status PostgresStore::put_line(const core::Line& line) {
  Params p;
  p.text(line.id);
  p.text(line.local);
  p.text(line.remote.party);
  p.text(line.remote.principal);
  p.text(encode_string_array(line.alternates));
  p.text(encode_string_array(line.observers));
  p.integer(line.deadlines.flash.count());
  p.integer(line.deadlines.immediate.count());
  p.integer(line.deadlines.priority.count());
  p.integer(line.deadlines.routine.count());
  p.text(encode_string_array(line.remote_alternates));
  Result<PgResult> r =
      run("INSERT INTO lines (id, local, remote_party, remote_principal, alternates, observers, "
          "deadline_flash_ms, deadline_immediate_ms, deadline_priority_ms, deadline_routine_ms, "
          "remote_alternates) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) "
          "ON CONFLICT (id) DO UPDATE SET local = excluded.local, "
          "remote_party = excluded.remote_party, remote_principal = excluded.remote_principal, "
          "alternates = excluded.alternates, observers = excluded.observers, "
          "deadline_flash_ms = excluded.deadline_flash_ms, "
          "deadline_immediate_ms = excluded.deadline_immediate_ms, "
          "deadline_priority_ms = excluded.deadline_priority_ms, "
          "deadline_routine_ms = excluded.deadline_routine_ms, "
          "remote_alternates = excluded.remote_alternates",
          p);
  if (!r.is_ok()) return r.status().with_context("storing line " + line.id);
  return Status::ok();
}

Result<std::vector<core::Line>> PostgresStore::lines() {
  PARLEY_ASSIGN_OR_RETURN(
      const PgResult r,
      run(std::string("SELECT ") + columns::kLineColumns + " FROM lines ORDER BY id", Params()));
  std::vector<core::Line> out;
  for (int i = 0; i < PQntuples(r.get()); ++i) {
    const Row s(r.get(), i);
    PARLEY_ASSIGN_OR_RETURN(core::Line line, columns::read_line(s));
    out.push_back(std::move(line));
  }
  return out;
}

Status PostgresStore::remove_row(const char* sql, std::string_view id, std::string_view what) {
  Params p;
  p.text(id);
  Result<PgResult> r = run(sql, p);
  if (!r.is_ok())
    return r.status().with_context("removing " + std::string(what) + " " + std::string(id));
  if (std::string_view(PQcmdTuples(r->get())) == "0") {
    return Status::not_found("no " + std::string(what) + " " + std::string(id));
  }
  return Status::ok();
}

Status PostgresStore::remove_peer(std::string_view party) {
  return remove_row("DELETE FROM peers WHERE party = $1", party, "peer");
}

Status PostgresStore::remove_principal(std::string_view id) {
  return remove_row("DELETE FROM principals WHERE id = $1", id, "principal");
}

Status PostgresStore::remove_line(std::string_view id) {
  return remove_row("DELETE FROM lines WHERE id = $1", id, "line");
}

}  // namespace parley::store::postgres_detail

namespace parley::store::postgres_detail {

Status PostgresStore::put_roster(std::string_view role, const std::vector<core::Shift>& shifts) {
  PARLEY_RETURN_IF_ERROR(exec("BEGIN"));
  Params clear;
  clear.text(role);
  if (Result<PgResult> r = run("DELETE FROM roster WHERE role = $1", clear); !r.is_ok()) {
    return rollback_and(r.status().with_context("clearing the roster"));
  }
  for (const core::Shift& shift : shifts) {
    if (shift.role != role) {
      return rollback_and(Status::invalid_argument("shift of role " + shift.role +
                                                   " given for role " + std::string(role)));
    }
    Params p;
    p.text(shift.role);
    p.text(shift.principal);
    p.time(shift.from);
    p.time(shift.to);
    Result<PgResult> r =
        run("INSERT INTO roster (role, principal, from_ms, to_ms) VALUES ($1, $2, $3, $4)", p);
    if (r.is_ok()) continue;
    if (sqlstate_ == "23505") {
      return rollback_and(
          Status::already_exists("two shifts of role " + shift.role + " start together"));
    }
    if (sqlstate_ == "23514") {
      return rollback_and(
          Status::invalid_argument("shift of role " + shift.role + " ends before it begins"));
    }
    return rollback_and(r.status().with_context("storing the roster"));
  }
  return commit();
}

Result<std::vector<core::Shift>> PostgresStore::roster() {
  PARLEY_ASSIGN_OR_RETURN(
      const PgResult r,
      run("SELECT role, principal, from_ms, to_ms FROM roster ORDER BY role, from_ms", Params()));
  std::vector<core::Shift> out;
  for (int i = 0; i < PQntuples(r.get()); ++i) {
    const Row s(r.get(), i);
    out.push_back({s.text(0), s.text(1), s.time(2), s.time(3)});
  }
  return out;
}

Status PostgresStore::log_change(const core::DirectoryChange& change) {
  Params p;
  p.time(change.at);
  p.text(change.action);
  p.text(change.detail);
  Result<PgResult> r =
      run("INSERT INTO directory_changes (at, action, detail) VALUES ($1, $2, $3)", p);
  if (!r.is_ok()) return r.status().with_context("logging a directory change");
  return Status::ok();
}

Result<std::vector<core::DirectoryChange>> PostgresStore::changes() {
  PARLEY_ASSIGN_OR_RETURN(
      const PgResult r,
      run("SELECT at, action, detail FROM directory_changes ORDER BY seq", Params()));
  std::vector<core::DirectoryChange> out;
  for (int i = 0; i < PQntuples(r.get()); ++i) {
    const Row s(r.get(), i);
    out.push_back({s.time(0), s.text(1), s.text(2)});
  }
  return out;
}

}  // namespace parley::store::postgres_detail

namespace parley::store::postgres_detail {

Result<std::vector<WitnessedCheckpoint>> PostgresStore::witnessed() {
  PARLEY_ASSIGN_OR_RETURN(
      const PgResult r,
      run("SELECT origin, size, checkpoint FROM witnessed ORDER BY origin", Params()));
  std::vector<WitnessedCheckpoint> out;
  for (int i = 0; i < PQntuples(r.get()); ++i) {
    const Row s(r.get(), i);
    out.push_back({s.text(0), static_cast<std::uint64_t>(s.integer(1)), s.text(2)});
  }
  return out;
}

Result<bool> PostgresStore::put_witnessed(const WitnessedCheckpoint& view, std::uint64_t old_size) {
  if (view.size > kStoredIntMax || old_size > kStoredIntMax) {
    return Status::invalid_argument("a witnessed size above 2^63 - 1");
  }
  Params p;
  p.text(view.origin);
  p.integer(static_cast<std::int64_t>(view.size));
  p.text(view.checkpoint);
  if (old_size != 0) p.integer(static_cast<std::int64_t>(old_size));
  // One statement each way: the check of the old size and the write are one atomic step
  // (two witnesses' requests racing on one origin: one of them updates nothing).
  const std::string sql =
      old_size == 0
          ? "INSERT INTO witnessed (origin, size, checkpoint) VALUES ($1, $2, $3) "
            "ON CONFLICT (origin) DO UPDATE SET size = excluded.size, "
            "checkpoint = excluded.checkpoint WHERE witnessed.size = 0"
          : "UPDATE witnessed SET size = $2, checkpoint = $3 WHERE origin = $1 AND size = $4";
  PARLEY_ASSIGN_OR_RETURN(const PgResult r, run(sql, p));
  return std::string_view(PQcmdTuples(r.get())) == "1";
}

Status PostgresStore::put_split_view(const SplitViewRecord& split) {
  Params p;
  p.text(split.origin);
  p.text(split.kind);
  p.text(split.witnessed);
  p.text(split.offered);
  p.time(split.seen);
  Result<PgResult> r =
      run("INSERT INTO split_views (origin, kind, witnessed, offered, seen) "
          "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (origin, witnessed, offered) DO NOTHING",
          p);
  if (!r.is_ok()) return r.status().with_context("storing a split view of " + split.origin);
  return Status::ok();
}

Result<std::vector<SplitViewRecord>> PostgresStore::split_views() {
  PARLEY_ASSIGN_OR_RETURN(
      const PgResult r,
      run("SELECT origin, kind, witnessed, offered, seen FROM split_views ORDER BY seq", Params()));
  std::vector<SplitViewRecord> out;
  for (int i = 0; i < PQntuples(r.get()); ++i) {
    const Row s(r.get(), i);
    out.push_back({s.text(0), s.text(1), s.text(2), s.text(3), s.time(4)});
  }
  return out;
}

Status PostgresStore::put_cosignature(const CosignatureRecord& c) {
  if (c.size > kStoredIntMax) return Status::invalid_argument("a cosigned size above 2^63 - 1");
  Params p;
  p.text(c.origin);
  p.text(c.witness);
  p.integer(static_cast<std::int64_t>(c.size));
  p.text(c.checkpoint);
  p.text(c.signature);
  Result<PgResult> r =
      run("INSERT INTO cosignatures (origin, witness, size, checkpoint, signature) "
          "VALUES ($1, $2, $3, $4, $5) ON CONFLICT (origin, witness) DO UPDATE SET "
          "size = excluded.size, checkpoint = excluded.checkpoint, "
          "signature = excluded.signature WHERE cosignatures.size <= excluded.size",
          p);
  if (!r.is_ok()) return r.status().with_context("storing a cosignature of " + c.origin);
  return Status::ok();
}

Status PostgresStore::put_forwarded_head(const ForwardedHead& h) {
  if (h.size > kStoredIntMax) return Status::invalid_argument("a head size above 2^63 - 1");
  Params p;
  p.text(h.origin);
  p.integer(static_cast<std::int64_t>(h.size));
  p.text(h.root);
  p.text(h.forwarder);
  p.text(h.receipt);
  p.time(h.received);
  Result<PgResult> r =
      run("INSERT INTO forwarded_heads (origin, size, root, forwarder, receipt, received) "
          "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (origin, size) DO NOTHING",
          p);
  if (!r.is_ok()) return r.status().with_context("storing a forwarded head of " + h.origin);
  return Status::ok();
}

namespace {
constexpr const char* kForwardedColumns = "origin, size, root, forwarder, receipt, received";
ForwardedHead forwarded_row(const Row& s) {
  return {s.text(0), static_cast<std::uint64_t>(s.integer(1)), s.text(2), s.text(3), s.text(4),
          s.time(5)};
}
}  // namespace

Result<std::optional<ForwardedHead>> PostgresStore::forwarded_head(std::string_view origin,
                                                                   std::uint64_t size) {
  if (size > kStoredIntMax) return std::optional<ForwardedHead>();
  Params p;
  p.text(std::string(origin));
  p.integer(static_cast<std::int64_t>(size));
  PARLEY_ASSIGN_OR_RETURN(const PgResult r,
                          run(std::string("SELECT ") + kForwardedColumns +
                                  " FROM forwarded_heads WHERE origin = $1 AND size = $2",
                              p));
  if (PQntuples(r.get()) == 0) return std::optional<ForwardedHead>();
  return std::optional<ForwardedHead>(forwarded_row(Row(r.get(), 0)));
}

Result<std::vector<ForwardedHead>> PostgresStore::forwarded_heads() {
  PARLEY_ASSIGN_OR_RETURN(const PgResult r,
                          run(std::string("SELECT DISTINCT ON (origin) ") + kForwardedColumns +
                                  " FROM forwarded_heads ORDER BY origin, size DESC",
                              Params()));
  std::vector<ForwardedHead> out;
  for (int i = 0; i < PQntuples(r.get()); ++i) out.push_back(forwarded_row(Row(r.get(), i)));
  return out;
}

Result<bool> PostgresStore::put_disclosure(const DisclosureRecord& d) {
  if (d.index > kStoredIntMax || d.size > kStoredIntMax) {
    return Status::invalid_argument("a disclosed index or size above 2^63 - 1");
  }
  Params p;
  p.text(d.id);
  p.text(d.discloser);
  p.text(d.origin);
  p.integer(static_cast<std::int64_t>(d.index));
  p.integer(static_cast<std::int64_t>(d.size));
  p.text(d.envelope);
  p.text(d.salt);
  p.text(d.content);
  p.time(d.disclosed);
  PARLEY_ASSIGN_OR_RETURN(
      const PgResult r,
      run("INSERT INTO disclosures (id, discloser, origin, idx, size, envelope, salt, content, "
          "disclosed) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (id) DO NOTHING",
          p));
  return std::string_view(PQcmdTuples(r.get())) == "1";
}

Result<std::vector<DisclosureRecord>> PostgresStore::disclosures() {
  PARLEY_ASSIGN_OR_RETURN(
      const PgResult r,
      run("SELECT id, discloser, origin, idx, size, envelope, salt, content, disclosed "
          "FROM disclosures ORDER BY seq",
          Params()));
  std::vector<DisclosureRecord> out;
  for (int i = 0; i < PQntuples(r.get()); ++i) {
    const Row s(r.get(), i);
    out.push_back({s.text(0), s.text(1), s.text(2), static_cast<std::uint64_t>(s.integer(3)),
                   static_cast<std::uint64_t>(s.integer(4)), s.text(5), s.text(6), s.text(7),
                   s.time(8)});
  }
  return out;
}

Result<std::vector<CosignatureRecord>> PostgresStore::cosignatures() {
  PARLEY_ASSIGN_OR_RETURN(const PgResult r, run("SELECT origin, witness, size, checkpoint, "
                                                "signature FROM cosignatures "
                                                "ORDER BY origin, witness",
                                                Params()));
  std::vector<CosignatureRecord> out;
  for (int i = 0; i < PQntuples(r.get()); ++i) {
    const Row s(r.get(), i);
    out.push_back(
        {s.text(0), s.text(1), static_cast<std::uint64_t>(s.integer(2)), s.text(3), s.text(4)});
  }
  return out;
}

Status PostgresStore::append_events(std::vector<EventRecord>& events) {
  if (events.empty()) return Status::ok();
  // Fenced as the message writes are: a deposed gateway adds nothing to the stream.
  PARLEY_RETURN_IF_ERROR(begin());
  // The lock makes "the newest id plus one" safe against another writer of the same store.
  if (Status s = exec("LOCK TABLE events IN SHARE ROW EXCLUSIVE MODE"); !s.is_ok()) {
    return rollback_and(s);
  }
  Result<PgResult> newest = run("SELECT COALESCE(MAX(id), 0) FROM events", Params());
  if (!newest.is_ok()) return rollback_and(newest.status());
  const std::uint64_t last = static_cast<std::uint64_t>(Row(newest->get(), 0).integer(0));
  for (std::size_t i = 0; i < events.size(); ++i) {
    const EventRecord& e = events[i];
    Params p;
    p.integer(static_cast<std::int64_t>(last + 1 + i));
    p.time(e.time);
    p.text(e.name);
    p.text(e.data);
    p.text(e.line);
    p.text(e.peer);
    p.text(encode_string_array(e.alerted));
    p.integer(e.operator_only ? 1 : 0);
    Result<PgResult> r =
        run("INSERT INTO events (id, time, name, data, line, peer, alerted, operator_only) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            p);
    if (!r.is_ok()) return rollback_and(r.status().with_context("storing an event"));
  }
  const std::uint64_t newest_id = last + events.size();
  if (newest_id > kEventsKept) {
    Params p;
    p.integer(static_cast<std::int64_t>(newest_id - kEventsKept));
    Result<PgResult> r = run("DELETE FROM events WHERE id <= $1", p);
    if (!r.is_ok()) return rollback_and(r.status().with_context("dropping old events"));
  }
  PARLEY_RETURN_IF_ERROR(commit());
  for (std::size_t i = 0; i < events.size(); ++i) events[i].id = last + 1 + i;
  return Status::ok();
}

Result<EventPage> PostgresStore::events_after(std::uint64_t after, std::size_t limit) {
  EventPage page;
  PARLEY_ASSIGN_OR_RETURN(
      const PgResult bounds,
      run("SELECT COALESCE(MIN(id), 0), COALESCE(MAX(id), 0) FROM events", Params()));
  page.first = static_cast<std::uint64_t>(Row(bounds.get(), 0).integer(0));
  page.last = static_cast<std::uint64_t>(Row(bounds.get(), 0).integer(1));
  Params p;
  p.integer(static_cast<std::int64_t>(std::min<std::uint64_t>(after, kStoredIntMax)));
  p.integer(static_cast<std::int64_t>(std::min<std::uint64_t>(limit, kStoredIntMax)));
  PARLEY_ASSIGN_OR_RETURN(
      const PgResult r,
      run("SELECT id, time, name, data, line, peer, alerted, operator_only FROM events "
          "WHERE id > $1 ORDER BY id LIMIT $2",
          p));
  for (int i = 0; i < PQntuples(r.get()); ++i) {
    const Row s(r.get(), i);
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

}  // namespace parley::store::postgres_detail
