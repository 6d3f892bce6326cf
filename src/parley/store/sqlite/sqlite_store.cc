#include "parley/store/sqlite/sqlite_store.h"

#include <sqlite3.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "parley/base/json.h"
#include "parley/store/columns.h"

namespace parley::store {
namespace {

// Schema versions this binary knows. Version N is reached from N-1 by kMigrations[N-1].
// A new version appends a migration; an existing one is never edited.
constexpr const char* kMigrations[] = {
    // 1: the first schema.
    R"sql(
CREATE TABLE messages (
  id              TEXT NOT NULL UNIQUE,
  line            TEXT NOT NULL,
  seq             INTEGER NOT NULL CHECK (seq >= 0),
  direction       TEXT NOT NULL CHECK (direction IN ('outbound', 'inbound')),
  peer            TEXT NOT NULL,
  from_party      TEXT NOT NULL,
  from_principal  TEXT NOT NULL,
  to_party        TEXT NOT NULL,
  to_principal    TEXT NOT NULL,
  precedence      TEXT NOT NULL,
  type            TEXT NOT NULL,
  created         INTEGER NOT NULL,
  expires         INTEGER,
  reply_to        TEXT,
  lang            TEXT NOT NULL,
  body_json       TEXT NOT NULL,
  text            TEXT NOT NULL,
  salt            BLOB NOT NULL,
  envelope        TEXT NOT NULL,
  state           TEXT NOT NULL CHECK (state IN ('queued', 'sent', 'delivered', 'acknowledged',
                                                 'overdue', 'expired')),
  ack_deadline    INTEGER NOT NULL,
  delivered_at    INTEGER,
  acknowledged_at INTEGER,
  acknowledged_by TEXT,
  ack_id          TEXT,
  receipt         TEXT,
  tx              TEXT,
  UNIQUE (line, direction, seq)
);
CREATE INDEX messages_by_direction_line_created ON messages (direction, line, created);
CREATE INDEX messages_by_peer ON messages (peer);
CREATE TABLE peers (
  party  TEXT PRIMARY KEY NOT NULL,
  bundle TEXT NOT NULL
);
CREATE TABLE principals (
  id         TEXT PRIMARY KEY NOT NULL,
  name       TEXT NOT NULL,
  role       TEXT NOT NULL,
  token_hash BLOB UNIQUE
);
CREATE TABLE lines (
  id                    TEXT PRIMARY KEY NOT NULL,
  local                 TEXT NOT NULL,
  remote_party          TEXT NOT NULL,
  remote_principal      TEXT NOT NULL,
  alternates            TEXT NOT NULL,
  observers             TEXT NOT NULL,
  deadline_flash_ms     INTEGER NOT NULL,
  deadline_immediate_ms INTEGER NOT NULL,
  deadline_priority_ms  INTEGER NOT NULL,
  deadline_routine_ms   INTEGER NOT NULL
);
)sql",
    // 2: the transcript (issue 4): both parties' logs, their signed heads with the
    // countersignatures, inclusion proofs of messages, and fork evidence.
    R"sql(
CREATE TABLE log_entries (
  owner      TEXT NOT NULL,
  peer       TEXT NOT NULL,
  idx        INTEGER NOT NULL CHECK (idx >= 0),
  message_id TEXT NOT NULL,
  leaf_hash  BLOB NOT NULL CHECK (length(leaf_hash) = 32),
  PRIMARY KEY (owner, peer, idx)
);
CREATE INDEX log_entries_by_message ON log_entries (message_id);
CREATE INDEX log_entries_by_peer ON log_entries (peer, idx);
CREATE TABLE heads (
  owner           TEXT NOT NULL,
  peer            TEXT NOT NULL,
  size            INTEGER NOT NULL CHECK (size >= 0),
  root            BLOB NOT NULL CHECK (length(root) = 32),
  sth_json        TEXT NOT NULL,
  countersig_json TEXT,
  frontier_json   TEXT,
  PRIMARY KEY (owner, peer, size)
);
CREATE INDEX heads_by_peer ON heads (peer, size);
CREATE INDEX heads_by_owner ON heads (owner, size);
CREATE TABLE inclusion (
  message_id TEXT PRIMARY KEY NOT NULL,
  idx        INTEGER NOT NULL CHECK (idx >= 0),
  size       INTEGER NOT NULL CHECK (size > idx),
  root       BLOB NOT NULL CHECK (length(root) = 32),
  proof_json TEXT NOT NULL
);
CREATE TABLE evidence (
  id         TEXT PRIMARY KEY NOT NULL,
  peer       TEXT NOT NULL,
  kind       TEXT NOT NULL,
  detail     TEXT NOT NULL,
  sth_a_json TEXT NOT NULL,
  sth_b_json TEXT NOT NULL,
  at         INTEGER NOT NULL
);
)sql",
    // 3: start-up reads what is pending, not the history (issue 6). The partial indexes hold
    // only the rows Store::recover returns (a query uses one only if its WHERE repeats the
    // index's WHERE); (peer, line, direction, seq) finds the lines of a peer's messages and
    // the seqs of a line with that peer, and replaces the index on (peer) alone.
    R"sql(
CREATE INDEX messages_unreceipted ON messages (line, seq)
  WHERE direction = 'outbound' AND receipt IS NULL;
CREATE INDEX messages_unacknowledged ON messages (line, seq)
  WHERE direction = 'outbound' AND type != 'ack' AND acknowledged_at IS NULL
    AND state != 'expired';
CREATE INDEX messages_by_peer_line ON messages (peer, line, direction, seq);
DROP INDEX messages_by_peer;
)sql",
    // 4 (issue 10), two parts:
    //  - refusals per message: the state 'refused' and the receiver's reason.
    //    SQLite cannot change a CHECK constraint in place, so the table is rebuilt (the
    //    documented 12-step way: new table, copy, drop, rename, indexes again). A refused
    //    message is final: the partial index of messages awaiting an ack leaves it out.
    //  - evidence is written once. The same fork (peer, kind, both heads) seen again is
    //    counted on its first row (seen, last_seen), not stored again; rows an older binary
    //    stored twice are folded into the oldest.
    R"sql(
CREATE TABLE messages_v4 (
  id              TEXT NOT NULL UNIQUE,
  line            TEXT NOT NULL,
  seq             INTEGER NOT NULL CHECK (seq >= 0),
  direction       TEXT NOT NULL CHECK (direction IN ('outbound', 'inbound')),
  peer            TEXT NOT NULL,
  from_party      TEXT NOT NULL,
  from_principal  TEXT NOT NULL,
  to_party        TEXT NOT NULL,
  to_principal    TEXT NOT NULL,
  precedence      TEXT NOT NULL,
  type            TEXT NOT NULL,
  created         INTEGER NOT NULL,
  expires         INTEGER,
  reply_to        TEXT,
  lang            TEXT NOT NULL,
  body_json       TEXT NOT NULL,
  text            TEXT NOT NULL,
  salt            BLOB NOT NULL,
  envelope        TEXT NOT NULL,
  state           TEXT NOT NULL CHECK (state IN ('queued', 'sent', 'delivered', 'acknowledged',
                                                 'overdue', 'expired', 'refused')),
  ack_deadline    INTEGER NOT NULL,
  delivered_at    INTEGER,
  acknowledged_at INTEGER,
  acknowledged_by TEXT,
  ack_id          TEXT,
  receipt         TEXT,
  tx              TEXT,
  refusal         TEXT,
  UNIQUE (line, direction, seq)
);
INSERT INTO messages_v4 (id, line, seq, direction, peer, from_party, from_principal, to_party,
  to_principal, precedence, type, created, expires, reply_to, lang, body_json, text, salt,
  envelope, state, ack_deadline, delivered_at, acknowledged_at, acknowledged_by, ack_id, receipt,
  tx)
SELECT id, line, seq, direction, peer, from_party, from_principal, to_party, to_principal,
  precedence, type, created, expires, reply_to, lang, body_json, text, salt, envelope, state,
  ack_deadline, delivered_at, acknowledged_at, acknowledged_by, ack_id, receipt, tx
FROM messages;
DROP TABLE messages;
ALTER TABLE messages_v4 RENAME TO messages;
CREATE INDEX messages_by_direction_line_created ON messages (direction, line, created);
CREATE INDEX messages_unreceipted ON messages (line, seq)
  WHERE direction = 'outbound' AND receipt IS NULL;
CREATE INDEX messages_unacknowledged ON messages (line, seq)
  WHERE direction = 'outbound' AND type != 'ack' AND acknowledged_at IS NULL
    AND state NOT IN ('expired', 'refused');
CREATE INDEX messages_by_peer_line ON messages (peer, line, direction, seq);
ALTER TABLE evidence ADD COLUMN seen INTEGER NOT NULL DEFAULT 1;
ALTER TABLE evidence ADD COLUMN last_seen INTEGER;
UPDATE evidence SET
  seen = (SELECT count(*) FROM evidence AS e WHERE e.peer = evidence.peer
            AND e.kind = evidence.kind AND e.sth_a_json = evidence.sth_a_json
            AND e.sth_b_json = evidence.sth_b_json),
  last_seen = (SELECT max(e.at) FROM evidence AS e WHERE e.peer = evidence.peer
            AND e.kind = evidence.kind AND e.sth_a_json = evidence.sth_a_json
            AND e.sth_b_json = evidence.sth_b_json);
DELETE FROM evidence WHERE rowid NOT IN
  (SELECT min(rowid) FROM evidence GROUP BY peer, kind, sth_a_json, sth_b_json);
CREATE UNIQUE INDEX evidence_once ON evidence (peer, kind, sth_a_json, sth_b_json);
)sql",
    // 5 (issue 11): the receiver's side of acknowledgment and authorization.
    //  - the inbound messages awaiting an ack are read at start (the receiving node watches
    //    their deadlines): a partial index holds exactly those rows, as for outbound ones;
    //  - a line knows the remote party's alternates (a peer's envelope must be from the
    //    line's remote principal or one of them), a JSON array like `alternates`.
    R"sql(
CREATE INDEX messages_inbound_unacknowledged ON messages (line, seq)
  WHERE direction = 'inbound' AND type != 'ack' AND acknowledged_at IS NULL
    AND state IN ('delivered', 'overdue');
ALTER TABLE lines ADD COLUMN remote_alternates TEXT NOT NULL DEFAULT '[]';
)sql",
};
constexpr int kSchemaVersion = static_cast<int>(std::size(kMigrations));

// Every message column, in the order bind_message and read_message use.
constexpr const char* kMessageColumns =
    "id, line, seq, direction, peer, from_party, from_principal, to_party, to_principal, "
    "precedence, type, created, expires, reply_to, lang, body_json, text, salt, envelope, state, "
    "ack_deadline, delivered_at, acknowledged_at, acknowledged_by, ack_id, receipt, tx, refusal";
// What a query reads: every column, and the message's index in its sender's log.
constexpr const char* kMessageSelect =
    "id, line, seq, direction, peer, from_party, from_principal, to_party, to_principal, "
    "precedence, type, created, expires, reply_to, lang, body_json, text, salt, envelope, state, "
    "ack_deadline, delivered_at, acknowledged_at, acknowledged_by, ack_id, receipt, tx, refusal, "
    "(SELECT idx FROM log_entries WHERE log_entries.message_id = messages.id LIMIT 1)";

Status sqlite_error(sqlite3* db, std::string_view what) {
  std::string message = std::string(what) + ": " + sqlite3_errmsg(db);
  // A violated CHECK or a value too big is the record's fault, not the store's: the batch
  // is refused alone (store.h is_batch_refusal).
  switch (sqlite3_errcode(db) & 0xff) {
    case SQLITE_CONSTRAINT:
    case SQLITE_TOOBIG:
    case SQLITE_MISMATCH:
      return Status::invalid_argument(std::move(message));
    default:
      return Status::unavailable(std::move(message));
  }
}

// A prepared statement owned by the store's cache. Statement resets it when done.
struct StmtDeleter {
  void operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }
};
using StmtPtr = std::unique_ptr<sqlite3_stmt, StmtDeleter>;

// One use of a cached statement: binds, steps, and resets on scope exit.
class Statement {
 public:
  Statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;
  ~Statement() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }

  void bind_text(int i, std::string_view v) {
    // A null data pointer would bind NULL; an empty string must stay an empty string.
    sqlite3_bind_text(stmt_, i, v.empty() ? "" : v.data(), static_cast<int>(v.size()),
                      SQLITE_TRANSIENT);
  }
  void bind_opt_text(int i, const std::optional<std::string>& v) {
    if (v) {
      bind_text(i, *v);
    } else {
      sqlite3_bind_null(stmt_, i);
    }
  }
  void bind_blob(int i, ByteView v) {
    if (v.empty()) {
      sqlite3_bind_zeroblob(stmt_, i, 0);
    } else {
      sqlite3_bind_blob(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    }
  }
  void bind_int(int i, std::int64_t v) { sqlite3_bind_int64(stmt_, i, v); }
  void bind_time(int i, Time t) { bind_int(i, unix_ms(t)); }
  void bind_opt_time(int i, const std::optional<Time>& t) {
    if (t) {
      bind_time(i, *t);
    } else {
      sqlite3_bind_null(stmt_, i);
    }
  }
  void bind_null(int i) { sqlite3_bind_null(stmt_, i); }

  // True if a row is ready, false when done; kUnavailable on error.
  Result<bool> step() {
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    return sqlite_error(db_, "sqlite");
  }
  // Steps a statement that returns no rows; the raw SQLite code for the caller to map.
  int exec() { return sqlite3_step(stmt_); }

  bool is_null(int i) const { return sqlite3_column_type(stmt_, i) == SQLITE_NULL; }
  std::int64_t col_int(int i) const { return sqlite3_column_int64(stmt_, i); }
  std::string col_text(int i) const {
    const auto* p = sqlite3_column_text(stmt_, i);
    const int n = sqlite3_column_bytes(stmt_, i);
    return p == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(p), n);
  }
  std::optional<std::string> col_opt_text(int i) const {
    if (is_null(i)) return std::nullopt;
    return col_text(i);
  }
  Bytes col_blob(int i) const {
    const auto* p = static_cast<const std::uint8_t*>(sqlite3_column_blob(stmt_, i));
    const int n = sqlite3_column_bytes(stmt_, i);
    return p == nullptr ? Bytes() : Bytes(p, p + n);
  }
  Time col_time(int i) const { return time_from_unix_ms(col_int(i)); }
  std::optional<Time> col_opt_time(int i) const {
    if (is_null(i)) return std::nullopt;
    return col_time(i);
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_;
};

// The encodings of stored columns, shared with the PostgreSQL store (store/columns.h).
using columns::encode_hashes;
using columns::encode_string_array;
using columns::fits_int64;
using columns::parse_direction;
using columns::parse_hashes;
using columns::parse_string_array;
using columns::to_digest;

class SqliteStore final : public Store {
 public:
  explicit SqliteStore(sqlite3* db) : db_(db) {}
  ~SqliteStore() override {
    cache_.clear();  // statements are finalized before the connection closes
    sqlite3_close_v2(db_);
  }
  SqliteStore(const SqliteStore&) = delete;
  SqliteStore& operator=(const SqliteStore&) = delete;

  Status apply(const std::vector<core::Record>& records) override;
  Result<std::vector<Status>> apply_group(
      const std::vector<const std::vector<core::Record>*>& batches) override;
  Result<std::optional<core::MessageRecord>> get_message(std::string_view id) override;
  Result<std::vector<core::MessageRecord>> list_messages(const MessageQuery& query) override;
  Result<core::Recovered> recover(std::string_view peer) override;
  Status put_peer(const core::Peer& peer) override;
  Result<std::vector<core::Peer>> peers() override;
  Status put_principal(const core::Principal& principal) override;
  Result<std::vector<core::Principal>> principals() override;
  Result<std::optional<core::Principal>> principal_by_token_hash(ByteView token_hash) override;
  Status put_line(const core::Line& line) override;
  Result<std::vector<core::Line>> lines() override;
  Result<std::optional<core::InclusionRecord>> inclusion(std::string_view message_id) override;
  Result<std::vector<core::LogEntryView>> log_entries(std::string_view owner, std::string_view peer,
                                                      std::uint64_t from,
                                                      std::size_t limit) override;
  Result<std::vector<core::HeadRecord>> heads(std::string_view owner,
                                              std::string_view peer) override;
  Result<std::vector<core::PutEvidence>> evidence() override;

 private:
  // The cached prepared statement for `sql`.
  Result<sqlite3_stmt*> prepare(const std::string& sql);
  Status exec(const char* sql);
  // One record inside an open transaction; COMMIT (rolled back if it fails).
  Status apply_record(const core::Record& record);
  Status commit();
  Status put_message(const core::MessageRecord& m);
  Status update_message(const core::UpdateMessage& u);
  Status put_log_entry(const core::LogEntry& e);
  Status put_head(const core::PutHead& h);
  Status put_inclusion(const core::PutInclusion& i);
  Status put_evidence(const core::PutEvidence& e);
  Status recover_ledger(std::string_view peer, core::Recovered& out);
  // The lines of `peer` (see recover), each with whether all of its messages are the peer's.
  Result<std::map<std::string, bool>> peer_lines(std::string_view peer);
  // The inbound seqs stored on `line` (only those with `peer` unless `whole_line`), if any.
  Result<std::optional<core::RecoveredSeqs>> inbound_seqs(const std::string& line,
                                                          std::string_view peer, bool whole_line);
  // One head row (size, root, sth_json) of `sql` with `bind`, if any.
  template <typename Bind>
  Result<std::optional<core::RecoveredHead>> query_head(const std::string& sql, Bind bind);
  // Runs `sql` (selecting kMessageSelect) with `bind` and collects the rows.
  template <typename Bind>
  Result<std::vector<core::MessageRecord>> query_messages(const std::string& sql, Bind bind);

  sqlite3* db_;
  std::map<std::string, StmtPtr> cache_;
};

Result<sqlite3_stmt*> SqliteStore::prepare(const std::string& sql) {
  auto it = cache_.find(sql);
  if (it != cache_.end()) return it->second.get();
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v3(db_, sql.c_str(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                         &stmt, nullptr) != SQLITE_OK) {
    sqlite3_finalize(stmt);
    return sqlite_error(db_, "preparing statement");
  }
  cache_.emplace(sql, StmtPtr(stmt));
  return stmt;
}

Status SqliteStore::exec(const char* sql) {
  if (sqlite3_exec(db_, sql, nullptr, nullptr, nullptr) != SQLITE_OK) {
    return sqlite_error(db_, sql);
  }
  return Status::ok();
}

Status SqliteStore::put_message(const core::MessageRecord& m) {
  if (m.seq > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
    return Status::invalid_argument("message " + m.id + ": seq out of range");
  }
  PARLEY_ASSIGN_OR_RETURN(
      sqlite3_stmt * raw,
      prepare(std::string("INSERT INTO messages (") + kMessageColumns +
              ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, "
              "?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28)"));
  Statement s(db_, raw);
  s.bind_text(1, m.id);
  s.bind_text(2, m.line);
  s.bind_int(3, static_cast<std::int64_t>(m.seq));
  s.bind_text(4, core::direction_name(m.direction));
  s.bind_text(5, m.peer);
  s.bind_text(6, m.from.party);
  s.bind_text(7, m.from.principal);
  s.bind_text(8, m.to.party);
  s.bind_text(9, m.to.principal);
  s.bind_text(10, wire::precedence_name(m.precedence));
  s.bind_text(11, m.type);
  s.bind_time(12, m.created);
  s.bind_opt_time(13, m.expires);
  s.bind_opt_text(14, m.reply_to);
  s.bind_text(15, m.lang);
  s.bind_text(16, m.content.body_json);
  s.bind_text(17, m.content.text);
  s.bind_blob(18, m.salt);
  s.bind_text(19, m.envelope);
  s.bind_text(20, core::state_name(m.state));
  s.bind_time(21, m.ack_deadline);
  s.bind_opt_time(22, m.delivered_at);
  s.bind_opt_time(23, m.acknowledged_at);
  s.bind_opt_text(24, m.acknowledged_by);
  s.bind_opt_text(25, m.ack_id);
  s.bind_opt_text(26, m.receipt);
  s.bind_opt_text(27, m.tx);
  s.bind_opt_text(28, m.refusal);
  const int rc = s.exec();
  if (rc == SQLITE_DONE) return Status::ok();
  if (sqlite3_extended_errcode(db_) == SQLITE_CONSTRAINT_UNIQUE) {
    const std::string what = sqlite3_errmsg(db_);
    if (what.find("messages.id") != std::string::npos) {
      return Status::already_exists("message " + m.id + " is already stored");
    }
    return Status::already_exists("message " + std::to_string(m.seq) + " on line '" + m.line +
                                  "' (" + std::string(core::direction_name(m.direction)) +
                                  ") is already stored");
  }
  return sqlite_error(db_, "storing message " + m.id);
}

Status SqliteStore::update_message(const core::UpdateMessage& u) {
  // An unset optional binds NULL, and COALESCE keeps the stored value.
  PARLEY_ASSIGN_OR_RETURN(
      sqlite3_stmt * raw,
      prepare("UPDATE messages SET state = ?2, delivered_at = COALESCE(?3, delivered_at), "
              "acknowledged_at = COALESCE(?4, acknowledged_at), "
              "acknowledged_by = COALESCE(?5, acknowledged_by), ack_id = COALESCE(?6, ack_id), "
              "receipt = COALESCE(?7, receipt), tx = COALESCE(?8, tx), "
              "refusal = COALESCE(?9, refusal) WHERE id = ?1"));
  Statement s(db_, raw);
  s.bind_text(1, u.id);
  s.bind_text(2, core::state_name(u.state));
  s.bind_opt_time(3, u.delivered_at);
  s.bind_opt_time(4, u.acknowledged_at);
  s.bind_opt_text(5, u.acknowledged_by);
  s.bind_opt_text(6, u.ack_id);
  s.bind_opt_text(7, u.receipt);
  s.bind_opt_text(8, u.tx);
  s.bind_opt_text(9, u.refusal);
  if (s.exec() != SQLITE_DONE) return sqlite_error(db_, "updating message " + u.id);
  if (sqlite3_changes(db_) == 0) return Status::not_found("message " + u.id + " is not stored");
  return Status::ok();
}

Status SqliteStore::apply_record(const core::Record& record) {
  return std::visit(
      [this](const auto& r) {
        using R = std::decay_t<decltype(r)>;
        if constexpr (std::is_same_v<R, core::PutMessage>) {
          return put_message(r.message);
        } else if constexpr (std::is_same_v<R, core::UpdateMessage>) {
          return update_message(r);
        } else if constexpr (std::is_same_v<R, core::LogEntry>) {
          return put_log_entry(r);
        } else if constexpr (std::is_same_v<R, core::PutHead>) {
          return put_head(r);
        } else if constexpr (std::is_same_v<R, core::PutInclusion>) {
          return put_inclusion(r);
        } else {
          static_assert(std::is_same_v<R, core::PutEvidence>);
          return put_evidence(r);
        }
      },
      record);
}

Status SqliteStore::commit() {
  if (sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr) != SQLITE_OK) {
    Status status = sqlite_error(db_, "committing");
    if (sqlite3_get_autocommit(db_) == 0) (void)exec("ROLLBACK");
    return status;
  }
  return Status::ok();
}

Status SqliteStore::apply(const std::vector<core::Record>& records) {
  if (records.empty()) return Status::ok();
  // IMMEDIATE takes the write lock now (waiting up to the busy timeout for the CLI), so the
  // batch never fails half way on a lock upgrade. COMMIT is the one fsync of the batch.
  PARLEY_RETURN_IF_ERROR(exec("BEGIN IMMEDIATE"));
  for (const auto& record : records) {
    if (Status status = apply_record(record); !status.is_ok()) {
      (void)exec("ROLLBACK");
      return status;
    }
  }
  return commit();
}

Result<std::vector<Status>> SqliteStore::apply_group(
    const std::vector<const std::vector<core::Record>*>& batches) {
  std::vector<Status> outcome(batches.size());
  std::size_t non_empty = 0;
  std::size_t last = 0;
  for (std::size_t i = 0; i < batches.size(); ++i) {
    if (!batches[i]->empty()) ++non_empty, last = i;
  }
  if (non_empty == 0) return outcome;
  if (non_empty == 1) {  // one batch: its own transaction is the savepoint
    Status status = apply(*batches[last]);
    if (!store::is_batch_refusal(status)) PARLEY_RETURN_IF_ERROR(status);
    outcome[last] = std::move(status);
    return outcome;
  }
  PARLEY_RETURN_IF_ERROR(exec("BEGIN IMMEDIATE"));
  // Each batch under a savepoint: a logical refusal undoes that batch alone.
  for (std::size_t i = 0; i < batches.size(); ++i) {
    if (batches[i]->empty()) continue;
    if (Status s = exec("SAVEPOINT batch"); !s.is_ok()) {
      (void)exec("ROLLBACK");
      return s;
    }
    Status status;
    for (const auto& record : *batches[i]) {
      status = apply_record(record);
      if (!status.is_ok()) break;
    }
    if (store::is_batch_refusal(status)) {
      outcome[i] = status;
      if (Status s = exec("ROLLBACK TO batch"); !s.is_ok()) {
        (void)exec("ROLLBACK");
        return s;
      }
    } else if (!status.is_ok()) {
      (void)exec("ROLLBACK");
      return status;
    }
    if (Status s = exec("RELEASE batch"); !s.is_ok()) {
      (void)exec("ROLLBACK");
      return s;
    }
  }
  PARLEY_RETURN_IF_ERROR(commit());
  return outcome;
}

template <typename Bind>
Result<std::vector<core::MessageRecord>> SqliteStore::query_messages(const std::string& sql,
                                                                     Bind bind) {
  PARLEY_ASSIGN_OR_RETURN(sqlite3_stmt * raw, prepare(sql));
  Statement s(db_, raw);
  bind(s);
  std::vector<core::MessageRecord> out;
  for (;;) {
    PARLEY_ASSIGN_OR_RETURN(const bool row, s.step());
    if (!row) break;
    core::MessageRecord m;
    m.id = s.col_text(0);
    const auto bad = [&m](std::string_view field, const Status& status) {
      return Status::data_loss("stored message " + m.id + ": " + std::string(field) + ": " +
                               status.message());
    };
    m.line = s.col_text(1);
    m.seq = static_cast<std::uint64_t>(s.col_int(2));
    auto direction = parse_direction(s.col_text(3));
    if (!direction.is_ok()) return bad("direction", direction.status());
    m.direction = *direction;
    m.peer = s.col_text(4);
    m.from = {s.col_text(5), s.col_text(6)};
    m.to = {s.col_text(7), s.col_text(8)};
    auto precedence = wire::parse_precedence(s.col_text(9));
    if (!precedence.is_ok()) return bad("precedence", precedence.status());
    m.precedence = *precedence;
    m.type = s.col_text(10);
    m.created = s.col_time(11);
    m.expires = s.col_opt_time(12);
    m.reply_to = s.col_opt_text(13);
    m.lang = s.col_text(14);
    m.content.body_json = s.col_text(15);
    m.content.text = s.col_text(16);
    m.salt = s.col_blob(17);
    m.envelope = s.col_text(18);
    auto state = core::parse_state(s.col_text(19));
    if (!state.is_ok()) return bad("state", state.status());
    m.state = *state;
    m.ack_deadline = s.col_time(20);
    m.delivered_at = s.col_opt_time(21);
    m.acknowledged_at = s.col_opt_time(22);
    m.acknowledged_by = s.col_opt_text(23);
    m.ack_id = s.col_opt_text(24);
    m.receipt = s.col_opt_text(25);
    m.tx = s.col_opt_text(26);
    m.refusal = s.col_opt_text(27);
    if (!s.is_null(28)) m.log_index = static_cast<std::uint64_t>(s.col_int(28));
    out.push_back(std::move(m));
  }
  return out;
}

Result<std::optional<core::MessageRecord>> SqliteStore::get_message(std::string_view id) {
  PARLEY_ASSIGN_OR_RETURN(auto rows, query_messages(std::string("SELECT ") + kMessageSelect +
                                                        " FROM messages WHERE id = ?1",
                                                    [id](Statement& s) { s.bind_text(1, id); }));
  if (rows.empty()) return std::optional<core::MessageRecord>();
  return std::optional<core::MessageRecord>(std::move(rows.front()));
}

Result<std::vector<core::MessageRecord>> SqliteStore::list_messages(const MessageQuery& query) {
  // One cached statement per combination of filters, so each can use the index.
  std::string sql = std::string("SELECT ") + kMessageSelect + " FROM messages WHERE 1";
  if (query.direction) sql += " AND direction = ?1";
  if (!query.lines.empty()) sql += " AND line IN (SELECT value FROM json_each(?2))";
  if (!query.include_acks) sql += " AND type != 'ack'";
  sql += " ORDER BY created DESC, seq DESC, id DESC LIMIT ?3";
  const std::int64_t limit =
      query.limit > static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max())
          ? std::numeric_limits<std::int64_t>::max()
          : static_cast<std::int64_t>(query.limit);
  return query_messages(sql, [&query, limit](Statement& s) {
    if (query.direction) s.bind_text(1, core::direction_name(*query.direction));
    if (!query.lines.empty()) s.bind_text(2, encode_string_array(query.lines));
    s.bind_int(3, limit);
  });
}

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
      lines[s.col_text(0)] = true;
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
      lines.emplace(s.col_text(0), false);
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
    if (!row || s.col_int(0) == 0) return std::optional<core::RecoveredSeqs>();
    count = s.col_int(0);
    highest = s.col_int(1);
    zero = s.col_int(2) == 0;  // never valid on the wire; kept as a member all the same
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
      const std::int64_t seq = s.col_int(0);
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
        out.last_outbound_seq[line] = static_cast<std::uint64_t>(s.col_int(0));
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
                         "'outbound' AND receipt IS NULL AND " +
                         mine + " ORDER BY seq, line",
                     bind_peer));
  PARLEY_ASSIGN_OR_RETURN(
      out.unacknowledged,
      query_messages(std::string("SELECT ") + kMessageSelect +
                         " FROM messages INDEXED BY messages_unacknowledged WHERE direction = "
                         "'outbound' AND type != 'ack' AND acknowledged_at IS NULL AND state NOT "
                         "IN ('expired', 'refused') AND " +
                         mine + " ORDER BY created, seq, line",
                     bind_peer));
  PARLEY_ASSIGN_OR_RETURN(
      out.inbound_unacknowledged,
      query_messages(std::string("SELECT ") + kMessageSelect +
                         " FROM messages INDEXED BY messages_inbound_unacknowledged WHERE "
                         "direction = 'inbound' AND type != 'ack' AND acknowledged_at IS NULL AND "
                         "state IN ('delivered', 'overdue') AND " +
                         mine + " ORDER BY created, seq, line",
                     bind_peer));
  PARLEY_RETURN_IF_ERROR(recover_ledger(peer, out));
  return out;
}

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

template <typename Bind>
Result<std::optional<core::RecoveredHead>> SqliteStore::query_head(const std::string& sql,
                                                                   Bind bind) {
  PARLEY_ASSIGN_OR_RETURN(sqlite3_stmt * raw, prepare(sql));
  Statement s(db_, raw);
  bind(s);
  PARLEY_ASSIGN_OR_RETURN(const bool row, s.step());
  if (!row) return std::optional<core::RecoveredHead>();
  core::RecoveredHead head;
  head.size = static_cast<std::uint64_t>(s.col_int(0));
  Result<crypto::Digest> root = to_digest(s.col_blob(1));
  if (!root.is_ok()) {
    return Status::data_loss("stored head " + std::to_string(head.size) +
                             ": root: " + root.status().message());
  }
  head.root = *root;
  head.sth = s.col_text(2);
  head.receipt = s.col_opt_text(3);
  return std::optional<core::RecoveredHead>(std::move(head));
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
    if (row) l.log_size = static_cast<std::uint64_t>(s.col_int(0)) + 1;
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
      Result<crypto::Digest> root = to_digest(s.col_blob(1));
      if (!root.is_ok()) return Status::data_loss("stored head: " + root.status().message());
      l.pending.push_back(
          {static_cast<std::uint64_t>(s.col_int(0)), *root, s.col_text(2), std::nullopt});
    }
  }
  // The frontier's base: the latest countersigned size at or below every unreceipted
  // entry (FLASH may have overtaken an older one), with its compact range.
  std::uint64_t lowest = l.log_size;
  for (const core::MessageRecord& m : out.unreceipted) {
    if (m.log_index) lowest = std::min(lowest, *m.log_index);
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
      l.base_size = static_cast<std::uint64_t>(s.col_int(0));
      Result<std::vector<crypto::Digest>> nodes = parse_hashes(s.col_text(1));
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
      const auto index = static_cast<std::uint64_t>(s.col_int(0));
      Result<crypto::Digest> leaf = to_digest(s.col_blob(1));
      if (index != l.base_size + l.tail.size() || !leaf.is_ok()) {
        return Status::data_loss("the log for '" + std::string(peer) + "' has a gap or a bad " +
                                 "leaf at index " + std::to_string(index));
      }
      l.tail.push_back(*leaf);
    }
  }
  PARLEY_ASSIGN_OR_RETURN(
      l.peer_head,
      query_head("SELECT size, root, sth_json, countersig_json FROM heads WHERE owner = ?1 AND "
                 "countersig_json IS NOT NULL ORDER BY size DESC LIMIT 1",
                 bind_peer));
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
  core::InclusionRecord r;
  r.index = static_cast<std::uint64_t>(s.col_int(0));
  r.size = static_cast<std::uint64_t>(s.col_int(1));
  Result<crypto::Digest> root = to_digest(s.col_blob(2));
  Result<std::vector<crypto::Digest>> proof = parse_hashes(s.col_text(3));
  if (!root.is_ok() || !proof.is_ok()) {
    return Status::data_loss("stored inclusion proof of " + std::string(message_id) +
                             " is malformed");
  }
  r.root = *root;
  r.proof = std::move(*proof);
  return std::optional<core::InclusionRecord>(std::move(r));
}

Result<std::vector<core::LogEntryView>> SqliteStore::log_entries(std::string_view owner,
                                                                 std::string_view peer,
                                                                 std::uint64_t from,
                                                                 std::size_t limit) {
  if (!fits_int64(from)) return std::vector<core::LogEntryView>();
  PARLEY_ASSIGN_OR_RETURN(
      sqlite3_stmt * raw,
      prepare("SELECT l.idx, l.message_id, m.envelope, i.idx, i.size, i.root, i.proof_json "
              "FROM log_entries l JOIN messages m ON m.id = l.message_id "
              "LEFT JOIN inclusion i ON i.message_id = l.message_id "
              "WHERE l.owner = ?1 AND l.peer = ?2 AND l.idx >= ?3 ORDER BY l.idx LIMIT ?4"));
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
    core::LogEntryView e;
    e.index = static_cast<std::uint64_t>(s.col_int(0));
    e.message_id = s.col_text(1);
    e.envelope = s.col_text(2);
    if (!s.is_null(3)) {
      core::InclusionRecord r;
      r.index = static_cast<std::uint64_t>(s.col_int(3));
      r.size = static_cast<std::uint64_t>(s.col_int(4));
      Result<crypto::Digest> root = to_digest(s.col_blob(5));
      Result<std::vector<crypto::Digest>> proof = parse_hashes(s.col_text(6));
      if (!root.is_ok() || !proof.is_ok()) {
        return Status::data_loss("stored inclusion proof of " + e.message_id + " is malformed");
      }
      r.root = *root;
      r.proof = std::move(*proof);
      e.inclusion = std::move(r);
    }
    out.push_back(std::move(e));
  }
  return out;
}

Result<std::vector<core::HeadRecord>> SqliteStore::heads(std::string_view owner,
                                                         std::string_view peer) {
  PARLEY_ASSIGN_OR_RETURN(sqlite3_stmt * raw,
                          prepare("SELECT size, root, sth_json, countersig_json FROM heads "
                                  "WHERE owner = ?1 AND peer = ?2 ORDER BY size"));
  Statement s(db_, raw);
  s.bind_text(1, owner);
  s.bind_text(2, peer);
  std::vector<core::HeadRecord> out;
  for (;;) {
    PARLEY_ASSIGN_OR_RETURN(const bool row, s.step());
    if (!row) break;
    core::HeadRecord h;
    h.size = static_cast<std::uint64_t>(s.col_int(0));
    Result<crypto::Digest> root = to_digest(s.col_blob(1));
    if (!root.is_ok()) return Status::data_loss("stored head: " + root.status().message());
    h.root = *root;
    h.sth = s.col_text(2);
    h.receipt = s.col_opt_text(3);
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
    core::PutEvidence e{s.col_text(0), s.col_text(1), s.col_text(2),
                        s.col_text(3), s.col_text(4), s.col_text(5),
                        s.col_time(6), s.col_time(7), static_cast<std::uint64_t>(s.col_int(8))};
    out.push_back(std::move(e));
  }
  return out;
}

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
    Result<wire::Bundle> bundle = wire::parse_bundle(s.col_text(1));
    if (!bundle.is_ok()) {
      return Status::data_loss("stored peer '" + s.col_text(0) + "': " + bundle.status().message());
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
    out.push_back({s.col_text(0), s.col_text(1), s.col_text(2), s.col_blob(3)});
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
      core::Principal{s.col_text(0), s.col_text(1), s.col_text(2), s.col_blob(3)});
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
      prepare("SELECT id, local, remote_party, remote_principal, alternates, observers, "
              "deadline_flash_ms, deadline_immediate_ms, deadline_priority_ms, "
              "deadline_routine_ms, remote_alternates FROM lines ORDER BY id"));
  Statement s(db_, raw);
  std::vector<core::Line> out;
  for (;;) {
    PARLEY_ASSIGN_OR_RETURN(const bool row, s.step());
    if (!row) break;
    core::Line line;
    line.id = s.col_text(0);
    line.local = s.col_text(1);
    line.remote = {s.col_text(2), s.col_text(3)};
    auto alternates = parse_string_array(s.col_text(4));
    if (!alternates.is_ok()) {
      return Status::data_loss("stored line '" + line.id +
                               "': alternates: " + alternates.status().message());
    }
    line.alternates = std::move(alternates).value();
    auto observers = parse_string_array(s.col_text(5));
    if (!observers.is_ok()) {
      return Status::data_loss("stored line '" + line.id +
                               "': observers: " + observers.status().message());
    }
    line.observers = std::move(observers).value();
    line.deadlines.flash = Duration(s.col_int(6));
    line.deadlines.immediate = Duration(s.col_int(7));
    line.deadlines.priority = Duration(s.col_int(8));
    line.deadlines.routine = Duration(s.col_int(9));
    auto remote_alternates = parse_string_array(s.col_text(10));
    if (!remote_alternates.is_ok()) {
      return Status::data_loss("stored line '" + line.id +
                               "': remote alternates: " + remote_alternates.status().message());
    }
    line.remote_alternates = std::move(remote_alternates).value();
    out.push_back(std::move(line));
  }
  return out;
}

// Maps a failure while opening: a file SQLite does not recognise is kDataLoss.
Status open_error(sqlite3* db, const std::string& path, std::string_view what) {
  const int code = sqlite3_errcode(db);
  if (code == SQLITE_NOTADB || code == SQLITE_CORRUPT) {
    return Status::data_loss(
        "'" + path + "' is not a SQLite database (or it is corrupt): " + sqlite3_errmsg(db));
  }
  return Status::unavailable("opening store '" + path + "': " + std::string(what) + ": " +
                             sqlite3_errmsg(db));
}

Status run(sqlite3* db, const std::string& path, const char* sql) {
  if (sqlite3_exec(db, sql, nullptr, nullptr, nullptr) != SQLITE_OK) {
    return open_error(db, path, sql);
  }
  return Status::ok();
}

// The value of a one-row, one-integer query; nullopt if there is no row.
Result<std::optional<std::int64_t>> query_int(sqlite3* db, const std::string& path,
                                              const char* sql) {
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db, sql, -1, &raw, nullptr) != SQLITE_OK) {
    sqlite3_finalize(raw);
    return open_error(db, path, sql);
  }
  StmtPtr stmt(raw);
  const int rc = sqlite3_step(raw);
  if (rc == SQLITE_DONE) return std::optional<std::int64_t>();
  if (rc != SQLITE_ROW) return open_error(db, path, sql);
  return std::optional<std::int64_t>(sqlite3_column_int64(raw, 0));
}

// kDataLoss unless the file is empty, or a SQLite database that is empty or a parley store.
Status check_is_parley(sqlite3* db, const std::string& path) {
  PARLEY_ASSIGN_OR_RETURN(
      const auto has_schema_table,
      query_int(db, path,
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'parley_schema'"));
  if (has_schema_table) return Status::ok();
  PARLEY_ASSIGN_OR_RETURN(const auto objects,
                          query_int(db, path, "SELECT COUNT(*) FROM sqlite_master"));
  if (objects && *objects > 0) {
    return Status::data_loss("'" + path +
                             "' is a SQLite database but not a parley store (no parley_schema "
                             "table)");
  }
  return Status::ok();
}

// Checks what the file holds and brings its schema to kSchemaVersion. Runs inside
// BEGIN IMMEDIATE, so two processes opening a new store do not both create it.
Status check_and_migrate(sqlite3* db, const std::string& path) {
  PARLEY_RETURN_IF_ERROR(check_is_parley(db, path));
  PARLEY_ASSIGN_OR_RETURN(
      const auto has_schema_table,
      query_int(db, path,
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'parley_schema'"));
  int version = 0;
  if (has_schema_table) {
    PARLEY_ASSIGN_OR_RETURN(const auto stored,
                            query_int(db, path, "SELECT MAX(version) FROM parley_schema"));
    if (!stored || *stored < 1) {
      return Status::data_loss("'" + path + "' is not a parley store (empty schema version)");
    }
    if (*stored > kSchemaVersion) {
      return Status::data_loss("store '" + path + "' has schema version " +
                               std::to_string(*stored) + ", newer than this parley understands (" +
                               std::to_string(kSchemaVersion) + "); upgrade parley");
    }
    version = static_cast<int>(*stored);
  } else {
    PARLEY_RETURN_IF_ERROR(run(db, path, "CREATE TABLE parley_schema (version INTEGER NOT NULL)"));
  }
  for (; version < kSchemaVersion; ++version) {
    PARLEY_RETURN_IF_ERROR(run(db, path, kMigrations[version]));
    const std::string record =
        "DELETE FROM parley_schema; INSERT INTO parley_schema (version) VALUES (" +
        std::to_string(version + 1) + ")";
    PARLEY_RETURN_IF_ERROR(run(db, path, record.c_str()));
  }
  return Status::ok();
}

}  // namespace

Result<std::unique_ptr<Store>> open_sqlite_store(const std::string& path) {
  return open_sqlite_store(path, SqliteOptions{});
}

Result<std::unique_ptr<Store>> open_sqlite_store(const std::string& path,
                                                 const SqliteOptions& options) {
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(
      path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    Status status = Status::unavailable("opening store '" + path + "': " +
                                        (db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc)));
    sqlite3_close_v2(db);
    return status;
  }
  // From here the store owns the connection and closes it on every path.
  auto store = std::make_unique<SqliteStore>(db);
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, 5000);
  // A foreign file is recognised before any pragma changes it.
  PARLEY_RETURN_IF_ERROR(check_is_parley(db, path));
  PARLEY_RETURN_IF_ERROR(run(db, path, "PRAGMA journal_mode=WAL"));
  PARLEY_RETURN_IF_ERROR(run(
      db, path, options.synchronous_full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=OFF"));
  PARLEY_RETURN_IF_ERROR(run(db, path, "PRAGMA foreign_keys=ON"));
  // Statement journals (a group commit's savepoints) in memory, not a temporary file opened
  // and closed on every commit. Durability is the WAL's, not theirs.
  PARLEY_RETURN_IF_ERROR(run(db, path, "PRAGMA temp_store=MEMORY"));
  PARLEY_RETURN_IF_ERROR(run(db, path, "BEGIN IMMEDIATE"));
  Status status = check_and_migrate(db, path);
  if (status.is_ok()) status = run(db, path, "COMMIT");
  if (!status.is_ok()) {
    if (sqlite3_get_autocommit(db) == 0) sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
    return status;
  }
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace parley::store
