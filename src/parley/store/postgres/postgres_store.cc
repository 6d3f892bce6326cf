#include "parley/store/postgres/postgres_store.h"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <libpq-fe.h>

#include "parley/base/json.h"
#include "parley/store/columns.h"

namespace parley::store {
namespace {

// The encodings of stored columns, shared with the SQLite store (store/columns.h).
using columns::encode_hashes;
using columns::encode_string_array;
using columns::fits_int64;
using columns::parse_direction;
using columns::parse_hashes;
using columns::parse_string_array;
using columns::to_digest;

// Schema versions this binary knows, numbered as the SQLite store's (sqlite_store.cc) so
// that "schema version N" means the same tables in both. Version N is reached from N-1 by
// kMigrations[N-1]; a new version appends a migration, an existing one is never edited.
// Key columns compare bytewise (COLLATE "C"), as SQLite's do, whatever the database locale.
constexpr const char* kMigrations[] = {
    // 1: messages, peers, principals, lines.
    R"sql(
CREATE TABLE messages (
  id              TEXT COLLATE "C" NOT NULL,
  line            TEXT COLLATE "C" NOT NULL,
  seq             BIGINT NOT NULL CHECK (seq >= 0),
  direction       TEXT NOT NULL CHECK (direction IN ('outbound', 'inbound')),
  peer            TEXT COLLATE "C" NOT NULL,
  from_party      TEXT NOT NULL,
  from_principal  TEXT NOT NULL,
  to_party        TEXT NOT NULL,
  to_principal    TEXT NOT NULL,
  precedence      TEXT NOT NULL,
  type            TEXT NOT NULL,
  created         BIGINT NOT NULL,
  expires         BIGINT,
  reply_to        TEXT,
  lang            TEXT NOT NULL,
  body_json       TEXT NOT NULL,
  text            TEXT NOT NULL,
  salt            BYTEA NOT NULL,
  envelope        TEXT NOT NULL,
  state           TEXT NOT NULL CONSTRAINT messages_state_check
                    CHECK (state IN ('queued', 'sent', 'delivered', 'acknowledged', 'overdue',
                                     'expired')),
  ack_deadline    BIGINT NOT NULL,
  delivered_at    BIGINT,
  acknowledged_at BIGINT,
  acknowledged_by TEXT,
  ack_id          TEXT,
  receipt         TEXT,
  tx              TEXT,
  CONSTRAINT messages_id_key UNIQUE (id),
  CONSTRAINT messages_line_direction_seq_key UNIQUE (line, direction, seq)
);
CREATE INDEX messages_by_direction_line_created ON messages (direction, line, created);
CREATE INDEX messages_by_peer ON messages (peer);
CREATE TABLE peers (
  party  TEXT COLLATE "C" PRIMARY KEY,
  bundle TEXT NOT NULL
);
CREATE TABLE principals (
  id         TEXT COLLATE "C" PRIMARY KEY,
  name       TEXT NOT NULL,
  role       TEXT NOT NULL,
  token_hash BYTEA CONSTRAINT principals_token_hash_key UNIQUE
);
CREATE TABLE lines (
  id                    TEXT COLLATE "C" PRIMARY KEY,
  local                 TEXT NOT NULL,
  remote_party          TEXT COLLATE "C" NOT NULL,
  remote_principal      TEXT NOT NULL,
  alternates            TEXT NOT NULL,
  observers             TEXT NOT NULL,
  deadline_flash_ms     BIGINT NOT NULL,
  deadline_immediate_ms BIGINT NOT NULL,
  deadline_priority_ms  BIGINT NOT NULL,
  deadline_routine_ms   BIGINT NOT NULL
);
)sql",
    // 2: the transcript: both parties' logs, their signed heads with the countersignatures,
    // inclusion proofs of messages, and fork evidence.
    R"sql(
CREATE TABLE log_entries (
  owner      TEXT COLLATE "C" NOT NULL,
  peer       TEXT COLLATE "C" NOT NULL,
  idx        BIGINT NOT NULL CHECK (idx >= 0),
  message_id TEXT COLLATE "C" NOT NULL,
  leaf_hash  BYTEA NOT NULL CHECK (octet_length(leaf_hash) = 32),
  PRIMARY KEY (owner, peer, idx)
);
CREATE INDEX log_entries_by_message ON log_entries (message_id);
CREATE INDEX log_entries_by_peer ON log_entries (peer, idx);
CREATE TABLE heads (
  owner           TEXT COLLATE "C" NOT NULL,
  peer            TEXT COLLATE "C" NOT NULL,
  size            BIGINT NOT NULL CHECK (size >= 0),
  root            BYTEA NOT NULL CHECK (octet_length(root) = 32),
  sth_json        TEXT NOT NULL,
  countersig_json TEXT,
  frontier_json   TEXT,
  PRIMARY KEY (owner, peer, size)
);
CREATE INDEX heads_by_peer ON heads (peer, size);
CREATE INDEX heads_by_owner ON heads (owner, size);
CREATE TABLE inclusion (
  message_id TEXT COLLATE "C" PRIMARY KEY,
  idx        BIGINT NOT NULL CHECK (idx >= 0),
  size       BIGINT NOT NULL CHECK (size > idx),
  root       BYTEA NOT NULL CHECK (octet_length(root) = 32),
  proof_json TEXT NOT NULL
);
CREATE TABLE evidence (
  id         TEXT COLLATE "C" PRIMARY KEY,
  peer       TEXT NOT NULL,
  kind       TEXT NOT NULL,
  detail     TEXT NOT NULL,
  sth_a_json TEXT NOT NULL,
  sth_b_json TEXT NOT NULL,
  at         BIGINT NOT NULL
);
)sql",
    // 3: start-up reads what is pending, not the history. The partial indexes hold only the
    // rows Store::recover returns; (peer, line, direction, seq) finds the lines of a peer's
    // messages and the seqs of a line with that peer, and replaces the index on (peer).
    R"sql(
CREATE INDEX messages_unreceipted ON messages (line, seq)
  WHERE direction = 'outbound' AND receipt IS NULL;
CREATE INDEX messages_unacknowledged ON messages (line, seq)
  WHERE direction = 'outbound' AND type != 'ack' AND acknowledged_at IS NULL
    AND state != 'expired';
CREATE INDEX messages_by_peer_line ON messages (peer, line, direction, seq);
DROP INDEX messages_by_peer;
)sql",
    // 4: refusals per message (the state 'refused' and the receiver's reason; a refused
    // message leaves the index of messages awaiting an ack), and evidence written once: the
    // same fork seen again is counted on its oldest row (seen, last_seen).
    R"sql(
ALTER TABLE messages DROP CONSTRAINT messages_state_check;
ALTER TABLE messages ADD CONSTRAINT messages_state_check
  CHECK (state IN ('queued', 'sent', 'delivered', 'acknowledged', 'overdue', 'expired',
                   'refused'));
ALTER TABLE messages ADD COLUMN refusal TEXT;
DROP INDEX messages_unacknowledged;
CREATE INDEX messages_unacknowledged ON messages (line, seq)
  WHERE direction = 'outbound' AND type != 'ack' AND acknowledged_at IS NULL
    AND state NOT IN ('expired', 'refused');
ALTER TABLE evidence ADD COLUMN seen BIGINT NOT NULL DEFAULT 1;
ALTER TABLE evidence ADD COLUMN last_seen BIGINT;
UPDATE evidence SET
  seen = (SELECT count(*) FROM evidence AS e WHERE e.peer = evidence.peer
            AND e.kind = evidence.kind AND e.sth_a_json = evidence.sth_a_json
            AND e.sth_b_json = evidence.sth_b_json),
  last_seen = (SELECT max(e.at) FROM evidence AS e WHERE e.peer = evidence.peer
            AND e.kind = evidence.kind AND e.sth_a_json = evidence.sth_a_json
            AND e.sth_b_json = evidence.sth_b_json);
DELETE FROM evidence a USING evidence b
  WHERE a.peer = b.peer AND a.kind = b.kind AND a.sth_a_json = b.sth_a_json
    AND a.sth_b_json = b.sth_b_json AND (b.at, b.id) < (a.at, a.id);
CREATE UNIQUE INDEX evidence_once ON evidence (peer, kind, sth_a_json, sth_b_json);
)sql",
    // 5 (as SQLite's 5): the inbound messages awaiting an ack, read at start (the receiving
    // node watches their deadlines), in a partial index; a line knows the remote party's
    // alternates (a JSON array, as `alternates`).
    R"sql(
CREATE INDEX messages_inbound_unacknowledged ON messages (line, seq)
  WHERE direction = 'inbound' AND type != 'ack' AND acknowledged_at IS NULL
    AND state IN ('delivered', 'overdue');
ALTER TABLE lines ADD COLUMN remote_alternates TEXT NOT NULL DEFAULT '[]';
)sql",
};
constexpr int kSchemaVersion = static_cast<int>(std::size(kMigrations));

// Serializes migrations between gateways and CLI commands opening the same database
// (pg_advisory_xact_lock; an arbitrary constant of parley's: "parl").
constexpr const char* kMigrationLock = "SELECT pg_advisory_xact_lock(1885434476)";

constexpr const char* kMessageColumns =
    "id, line, seq, direction, peer, from_party, from_principal, to_party, to_principal, "
    "precedence, type, created, expires, reply_to, lang, body_json, text, salt, envelope, state, "
    "ack_deadline, delivered_at, acknowledged_at, acknowledged_by, ack_id, receipt, tx, refusal";
constexpr const char* kMessageSelect =
    "id, line, seq, direction, peer, from_party, from_principal, to_party, to_principal, "
    "precedence, type, created, expires, reply_to, lang, body_json, text, salt, envelope, state, "
    "ack_deadline, delivered_at, acknowledged_at, acknowledged_by, ack_id, receipt, tx, refusal, "
    "(SELECT idx FROM log_entries WHERE log_entries.message_id = messages.id LIMIT 1)";

struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using PgResult = std::unique_ptr<PGresult, ResultDeleter>;

struct ConnDeleter {
  void operator()(PGconn* c) const { PQfinish(c); }
};
using PgConn = std::unique_ptr<PGconn, ConnDeleter>;

// libpq's messages end in a newline and may run to several lines: the first is the reason.
std::string first_line(const char* text) {
  std::string s = text == nullptr ? "" : text;
  if (const auto nl = s.find('\n'); nl != std::string::npos) s.resize(nl);
  return s.empty() ? "unknown error" : s;
}

// The parameters of one statement. Text goes in text format, bytes in binary format (bytea
// needs no escaping then). PostgreSQL's text cannot hold a NUL character, and libpq would cut
// a text parameter at one: such a value is refused (kInvalidArgument), never truncated.
class Params {
 public:
  void text(std::string_view v) {
    if (v.find('\0') != std::string_view::npos) bad_ = true;
    add(std::string(v), 0);
  }
  void opt_text(const std::optional<std::string>& v) {
    if (v) {
      text(*v);
    } else {
      null();
    }
  }
  void bytes(ByteView v) { add(std::string(v.begin(), v.end()), 1); }
  void integer(std::int64_t v) { add(std::to_string(v), 0); }
  void time(Time t) { integer(unix_ms(t)); }
  void opt_time(const std::optional<Time>& t) {
    if (t) {
      time(*t);
    } else {
      null();
    }
  }
  void null() {
    values_.emplace_back();
    nulls_.push_back(true);
    formats_.push_back(0);
  }

  bool has_nul() const { return bad_; }
  int size() const { return static_cast<int>(values_.size()); }
  // Pointers into this object: valid while it lives and is not changed.
  std::vector<const char*> pointers() const {
    std::vector<const char*> out;
    for (std::size_t i = 0; i < values_.size(); ++i) {
      out.push_back(nulls_[i] ? nullptr : values_[i].c_str());
    }
    return out;
  }
  std::vector<int> lengths() const {
    std::vector<int> out;
    for (const std::string& v : values_) out.push_back(static_cast<int>(v.size()));
    return out;
  }
  const std::vector<int>& formats() const { return formats_; }

 private:
  void add(std::string v, int format) {
    values_.push_back(std::move(v));
    nulls_.push_back(false);
    formats_.push_back(format);
  }
  std::vector<std::string> values_;
  std::vector<bool> nulls_;
  std::vector<int> formats_;
  bool bad_ = false;
};

// One row of a result in text format.
class Row {
 public:
  Row(const PGresult* r, int row) : r_(r), row_(row) {}
  bool is_null(int i) const { return PQgetisnull(r_, row_, i) != 0; }
  std::string text(int i) const {
    return std::string(PQgetvalue(r_, row_, i), static_cast<std::size_t>(PQgetlength(r_, row_, i)));
  }
  std::optional<std::string> opt_text(int i) const {
    if (is_null(i)) return std::nullopt;
    return text(i);
  }
  std::int64_t integer(int i) const {
    std::int64_t v = 0;
    const char* p = PQgetvalue(r_, row_, i);
    std::from_chars(p, p + PQgetlength(r_, row_, i), v);
    return v;
  }
  Bytes bytes(int i) const {
    std::size_t n = 0;
    unsigned char* raw =
        PQunescapeBytea(reinterpret_cast<const unsigned char*>(PQgetvalue(r_, row_, i)), &n);
    if (raw == nullptr) return {};
    Bytes out(raw, raw + n);
    PQfreemem(raw);
    return out;
  }
  Time time(int i) const { return time_from_unix_ms(integer(i)); }
  std::optional<Time> opt_time(int i) const {
    if (is_null(i)) return std::nullopt;
    return time(i);
  }

 private:
  const PGresult* r_;
  int row_;
};

// Where `url` points, for messages: never its password.
std::string describe(const std::string& url) {
  char* error = nullptr;
  PQconninfoOption* options = PQconninfoParse(url.c_str(), &error);
  PQfreemem(error);
  if (options == nullptr) return "?";
  std::map<std::string, std::string> values;
  for (PQconninfoOption* o = options; o->keyword != nullptr; ++o) {
    if (o->val != nullptr) values[o->keyword] = o->val;
  }
  PQconninfoFree(options);
  const std::string host = values.count("host") ? values["host"] : "the default socket";
  const std::string port = values.count("port") ? ":" + values["port"] : "";
  const std::string db = values.count("dbname") ? values["dbname"] : "the default database";
  return "database " + db + " at " + host + port;
}

class PostgresStore final : public Store {
 public:
  explicit PostgresStore(PgConn conn) : conn_(std::move(conn)) {}
  PostgresStore(const PostgresStore&) = delete;
  PostgresStore& operator=(const PostgresStore&) = delete;

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

  // A statement without parameters (BEGIN, COMMIT, a migration); kUnavailable on failure.
  Status exec(const char* sql);
  // Runs `sql` as a prepared statement (prepared on first use, then cached by its text).
  // On failure, sqlstate_ and constraint_ tell why (for the callers that map a conflict).
  Result<PgResult> run(const std::string& sql, const Params& params);

 private:
  Status error_of(const PGresult* r, std::string_view what);
  Status apply_record(const core::Record& record);
  Status commit();
  Status rollback_and(Status status);
  Status put_message(const core::MessageRecord& m);
  Status update_message(const core::UpdateMessage& u);
  Status put_log_entry(const core::LogEntry& e);
  Status put_head(const core::PutHead& h);
  Status put_inclusion(const core::PutInclusion& i);
  Status put_evidence(const core::PutEvidence& e);
  Status recover_ledger(std::string_view peer, core::Recovered& out);
  Result<std::map<std::string, bool>> peer_lines(std::string_view peer);
  Result<std::optional<core::RecoveredSeqs>> inbound_seqs(const std::string& line,
                                                          std::string_view peer, bool whole_line);
  Result<std::optional<core::RecoveredHead>> query_head(const std::string& sql,
                                                        const Params& params);
  Result<std::vector<core::MessageRecord>> query_messages(const std::string& sql,
                                                          const Params& params);

  PgConn conn_;
  std::map<std::string, std::string> prepared_;  // SQL text -> statement name
  std::string sqlstate_;
  std::string constraint_;
};

Status PostgresStore::error_of(const PGresult* r, std::string_view what) {
  const char* state = r == nullptr ? nullptr : PQresultErrorField(r, PG_DIAG_SQLSTATE);
  const char* constraint = r == nullptr ? nullptr : PQresultErrorField(r, PG_DIAG_CONSTRAINT_NAME);
  sqlstate_ = state == nullptr ? "" : state;
  constraint_ = constraint == nullptr ? "" : constraint;
  std::string message =
      std::string(what) + ": " +
      first_line(r != nullptr ? PQresultErrorMessage(r) : PQerrorMessage(conn_.get()));
  if (PQstatus(conn_.get()) != CONNECTION_OK) {
    return Status::unavailable("lost the connection to PostgreSQL: " + message);
  }
  // Class 22 (data exception: a number out of range, a character the encoding cannot hold)
  // and class 23 (a violated constraint) are the record's fault, not the store's: the batch
  // is refused alone (store.h is_batch_refusal).
  if (sqlstate_.rfind("22", 0) == 0 || sqlstate_.rfind("23", 0) == 0) {
    return Status::invalid_argument(std::move(message));
  }
  return Status::unavailable(std::move(message));
}

Status PostgresStore::exec(const char* sql) {
  PgResult r(PQexec(conn_.get(), sql));
  const ExecStatusType status = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return Status::ok();
  return error_of(r.get(), sql);
}

Result<PgResult> PostgresStore::run(const std::string& sql, const Params& params) {
  sqlstate_.clear();
  constraint_.clear();
  if (params.has_nul()) {
    sqlstate_ = "22021";
    return Status::invalid_argument(
        "a text value holds a NUL character, which PostgreSQL "
        "cannot store");
  }
  auto it = prepared_.find(sql);
  if (it == prepared_.end()) {
    std::string name = "parley_" + std::to_string(prepared_.size());
    PgResult r(PQprepare(conn_.get(), name.c_str(), sql.c_str(), 0, nullptr));
    if (!r || PQresultStatus(r.get()) != PGRES_COMMAND_OK) {
      return error_of(r.get(), "preparing statement");
    }
    it = prepared_.emplace(sql, std::move(name)).first;
  }
  const std::vector<const char*> values = params.pointers();
  const std::vector<int> lengths = params.lengths();
  PgResult r(PQexecPrepared(conn_.get(), it->second.c_str(), params.size(), values.data(),
                            lengths.data(), params.formats().data(), 0));
  const ExecStatusType status = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return r;
  return error_of(r.get(), "postgresql");
}

Status PostgresStore::put_message(const core::MessageRecord& m) {
  if (!fits_int64(m.seq)) return Status::invalid_argument("message " + m.id + ": seq out of range");
  Params p;
  p.text(m.id);
  p.text(m.line);
  p.integer(static_cast<std::int64_t>(m.seq));
  p.text(core::direction_name(m.direction));
  p.text(m.peer);
  p.text(m.from.party);
  p.text(m.from.principal);
  p.text(m.to.party);
  p.text(m.to.principal);
  p.text(wire::precedence_name(m.precedence));
  p.text(m.type);
  p.time(m.created);
  p.opt_time(m.expires);
  p.opt_text(m.reply_to);
  p.text(m.lang);
  p.text(m.content.body_json);
  p.text(m.content.text);
  p.bytes(m.salt);
  p.text(m.envelope);
  p.text(core::state_name(m.state));
  p.time(m.ack_deadline);
  p.opt_time(m.delivered_at);
  p.opt_time(m.acknowledged_at);
  p.opt_text(m.acknowledged_by);
  p.opt_text(m.ack_id);
  p.opt_text(m.receipt);
  p.opt_text(m.tx);
  p.opt_text(m.refusal);
  Result<PgResult> r = run(std::string("INSERT INTO messages (") + kMessageColumns +
                               ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, "
                               "$14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, "
                               "$27, $28)",
                           p);
  if (r.is_ok()) return Status::ok();
  if (sqlstate_ == "23505" && constraint_ == "messages_id_key") {
    return Status::already_exists("message " + m.id + " is already stored");
  }
  if (sqlstate_ == "23505") {
    return Status::already_exists("message " + std::to_string(m.seq) + " on line '" + m.line +
                                  "' (" + std::string(core::direction_name(m.direction)) +
                                  ") is already stored");
  }
  return r.status().with_context("storing message " + m.id);
}

Status PostgresStore::update_message(const core::UpdateMessage& u) {
  // An unset optional is NULL, and COALESCE keeps the stored value.
  Params p;
  p.text(u.id);
  p.text(core::state_name(u.state));
  p.opt_time(u.delivered_at);
  p.opt_time(u.acknowledged_at);
  p.opt_text(u.acknowledged_by);
  p.opt_text(u.ack_id);
  p.opt_text(u.receipt);
  p.opt_text(u.tx);
  p.opt_text(u.refusal);
  PARLEY_ASSIGN_OR_RETURN(
      const PgResult r,
      run("UPDATE messages SET state = $2, delivered_at = COALESCE($3, delivered_at), "
          "acknowledged_at = COALESCE($4, acknowledged_at), "
          "acknowledged_by = COALESCE($5, acknowledged_by), ack_id = COALESCE($6, ack_id), "
          "receipt = COALESCE($7, receipt), tx = COALESCE($8, tx), "
          "refusal = COALESCE($9, refusal) WHERE id = $1",
          p));
  if (std::string_view(PQcmdTuples(r.get())) == "0") {
    return Status::not_found("message " + u.id + " is not stored");
  }
  return Status::ok();
}

Status PostgresStore::apply_record(const core::Record& record) {
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

Status PostgresStore::rollback_and(Status status) {
  (void)exec("ROLLBACK");
  return status;
}

Status PostgresStore::commit() {
  // With synchronous_commit on, COMMIT returns once the WAL is flushed (and, with
  // synchronous standbys configured, replicated): the one durable point of a batch.
  PgResult r(PQexec(conn_.get(), "COMMIT"));
  if (r && PQresultStatus(r.get()) == PGRES_COMMAND_OK &&
      std::string_view(PQcmdStatus(r.get())) == "COMMIT") {
    return Status::ok();
  }
  // A failed transaction answers COMMIT with ROLLBACK: nothing was applied.
  Status status = r && PQresultStatus(r.get()) == PGRES_COMMAND_OK
                      ? Status::unavailable("committing: the transaction was rolled back")
                      : error_of(r.get(), "committing");
  if (PQtransactionStatus(conn_.get()) != PQTRANS_IDLE) (void)exec("ROLLBACK");
  return Status::unavailable(status.message());
}

Status PostgresStore::apply(const std::vector<core::Record>& records) {
  if (records.empty()) return Status::ok();
  PARLEY_RETURN_IF_ERROR(exec("BEGIN"));
  for (const auto& record : records) {
    if (Status status = apply_record(record); !status.is_ok()) return rollback_and(status);
  }
  return commit();
}

Result<std::vector<Status>> PostgresStore::apply_group(
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
  PARLEY_RETURN_IF_ERROR(exec("BEGIN"));
  // Each batch under a savepoint: a refusal undoes that batch alone (and clears the
  // transaction's aborted state, so the next batch runs).
  for (std::size_t i = 0; i < batches.size(); ++i) {
    if (batches[i]->empty()) continue;
    if (Status s = exec("SAVEPOINT batch"); !s.is_ok()) return rollback_and(s);
    Status status;
    for (const auto& record : *batches[i]) {
      status = apply_record(record);
      if (!status.is_ok()) break;
    }
    if (store::is_batch_refusal(status)) {
      outcome[i] = status;
      if (Status s = exec("ROLLBACK TO SAVEPOINT batch"); !s.is_ok()) return rollback_and(s);
    } else if (!status.is_ok()) {
      return rollback_and(status);
    }
    if (Status s = exec("RELEASE SAVEPOINT batch"); !s.is_ok()) return rollback_and(s);
  }
  PARLEY_RETURN_IF_ERROR(commit());
  return outcome;
}

Result<std::vector<core::MessageRecord>> PostgresStore::query_messages(const std::string& sql,
                                                                       const Params& params) {
  PARLEY_ASSIGN_OR_RETURN(const PgResult r, run(sql, params));
  std::vector<core::MessageRecord> out;
  const int rows = PQntuples(r.get());
  for (int i = 0; i < rows; ++i) {
    const Row s(r.get(), i);
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
    if (!s.is_null(28)) m.log_index = static_cast<std::uint64_t>(s.integer(28));
    out.push_back(std::move(m));
  }
  return out;
}

Result<std::optional<core::MessageRecord>> PostgresStore::get_message(std::string_view id) {
  Params p;
  p.text(id);
  PARLEY_ASSIGN_OR_RETURN(
      auto rows,
      query_messages(std::string("SELECT ") + kMessageSelect + " FROM messages WHERE id = $1", p));
  if (rows.empty()) return std::optional<core::MessageRecord>();
  return std::optional<core::MessageRecord>(std::move(rows.front()));
}

Result<std::vector<core::MessageRecord>> PostgresStore::list_messages(const MessageQuery& query) {
  // One prepared statement per combination of filters, so each can use its index.
  Params p;
  std::string sql = std::string("SELECT ") + kMessageSelect + " FROM messages WHERE TRUE";
  if (query.direction) {
    p.text(core::direction_name(*query.direction));
    sql += " AND direction = $" + std::to_string(p.size());
  }
  if (!query.lines.empty()) {
    p.text(encode_string_array(query.lines));
    sql +=
        " AND line IN (SELECT jsonb_array_elements_text($" + std::to_string(p.size()) + "::jsonb))";
  }
  if (!query.include_acks) sql += " AND type != 'ack'";
  p.integer(fits_int64(query.limit) ? static_cast<std::int64_t>(query.limit)
                                    : std::numeric_limits<std::int64_t>::max());
  sql += " ORDER BY created DESC, seq DESC, id DESC LIMIT $" + std::to_string(p.size());
  return query_messages(sql, p);
}

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
                         " FROM messages WHERE direction = 'outbound' AND receipt IS NULL AND " +
                         mine + " ORDER BY seq, line",
                     p));
  PARLEY_ASSIGN_OR_RETURN(
      out.unacknowledged,
      query_messages(std::string("SELECT ") + kMessageSelect +
                         " FROM messages WHERE direction = 'outbound' AND type != 'ack' AND "
                         "acknowledged_at IS NULL AND state NOT IN ('expired', 'refused') AND " +
                         mine + " ORDER BY created, seq, line",
                     p));
  PARLEY_ASSIGN_OR_RETURN(
      out.inbound_unacknowledged,
      query_messages(std::string("SELECT ") + kMessageSelect +
                         " FROM messages WHERE direction = 'inbound' AND type != 'ack' AND "
                         "acknowledged_at IS NULL AND state IN ('delivered', 'overdue') AND " +
                         mine + " ORDER BY created, seq, line",
                     p));
  PARLEY_RETURN_IF_ERROR(recover_ledger(peer, out));
  return out;
}

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
    if (m.log_index) lowest = std::min(lowest, *m.log_index);
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
      const auto index = static_cast<std::uint64_t>(s.integer(0));
      Result<crypto::Digest> leaf = to_digest(s.bytes(1));
      if (index != l.base_size + l.tail.size() || !leaf.is_ok()) {
        return Status::data_loss("the log for '" + std::string(peer) + "' has a gap or a bad " +
                                 "leaf at index " + std::to_string(index));
      }
      l.tail.push_back(*leaf);
    }
  }
  PARLEY_ASSIGN_OR_RETURN(
      l.peer_head,
      query_head("SELECT size, root, sth_json, countersig_json FROM heads WHERE owner = $1 AND "
                 "countersig_json IS NOT NULL ORDER BY size DESC LIMIT 1",
                 p));
  return Status::ok();
}

Result<std::optional<core::InclusionRecord>> PostgresStore::inclusion(std::string_view message_id) {
  Params p;
  p.text(message_id);
  PARLEY_ASSIGN_OR_RETURN(
      const PgResult r,
      run("SELECT idx, size, root, proof_json FROM inclusion WHERE message_id = $1", p));
  if (PQntuples(r.get()) == 0) return std::optional<core::InclusionRecord>();
  const Row s(r.get(), 0);
  core::InclusionRecord rec;
  rec.index = static_cast<std::uint64_t>(s.integer(0));
  rec.size = static_cast<std::uint64_t>(s.integer(1));
  Result<crypto::Digest> root = to_digest(s.bytes(2));
  Result<std::vector<crypto::Digest>> proof = parse_hashes(s.text(3));
  if (!root.is_ok() || !proof.is_ok()) {
    return Status::data_loss("stored inclusion proof of " + std::string(message_id) +
                             " is malformed");
  }
  rec.root = *root;
  rec.proof = std::move(*proof);
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
      run("SELECT l.idx, l.message_id, m.envelope, i.idx, i.size, i.root, i.proof_json "
          "FROM log_entries l JOIN messages m ON m.id = l.message_id "
          "LEFT JOIN inclusion i ON i.message_id = l.message_id "
          "WHERE l.owner = $1 AND l.peer = $2 AND l.idx >= $3 ORDER BY l.idx LIMIT $4",
          p));
  std::vector<core::LogEntryView> out;
  for (int row = 0; row < PQntuples(r.get()); ++row) {
    const Row s(r.get(), row);
    core::LogEntryView e;
    e.index = static_cast<std::uint64_t>(s.integer(0));
    e.message_id = s.text(1);
    e.envelope = s.text(2);
    if (!s.is_null(3)) {
      core::InclusionRecord rec;
      rec.index = static_cast<std::uint64_t>(s.integer(3));
      rec.size = static_cast<std::uint64_t>(s.integer(4));
      Result<crypto::Digest> root = to_digest(s.bytes(5));
      Result<std::vector<crypto::Digest>> proof = parse_hashes(s.text(6));
      if (!root.is_ok() || !proof.is_ok()) {
        return Status::data_loss("stored inclusion proof of " + e.message_id + " is malformed");
      }
      rec.root = *root;
      rec.proof = std::move(*proof);
      e.inclusion = std::move(rec);
    }
    out.push_back(std::move(e));
  }
  return out;
}

Result<std::vector<core::HeadRecord>> PostgresStore::heads(std::string_view owner,
                                                           std::string_view peer) {
  Params p;
  p.text(owner);
  p.text(peer);
  PARLEY_ASSIGN_OR_RETURN(const PgResult r,
                          run("SELECT size, root, sth_json, countersig_json FROM heads "
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
  Result<PgResult> r =
      run("INSERT INTO principals (id, name, role, token_hash) VALUES ($1, $2, $3, $4) "
          "ON CONFLICT (id) DO UPDATE SET name = excluded.name, role = excluded.role, "
          "token_hash = excluded.token_hash",
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
      run("SELECT id, name, role, token_hash FROM principals ORDER BY id", Params()));
  std::vector<core::Principal> out;
  for (int i = 0; i < PQntuples(r.get()); ++i) {
    const Row s(r.get(), i);
    out.push_back({s.text(0), s.text(1), s.text(2), s.is_null(3) ? Bytes() : s.bytes(3)});
  }
  return out;
}

Result<std::optional<core::Principal>> PostgresStore::principal_by_token_hash(ByteView token_hash) {
  if (token_hash.empty()) return std::optional<core::Principal>();
  Params p;
  p.bytes(token_hash);
  PARLEY_ASSIGN_OR_RETURN(
      const PgResult r,
      run("SELECT id, name, role, token_hash FROM principals WHERE token_hash = $1", p));
  if (PQntuples(r.get()) == 0) return std::optional<core::Principal>();
  const Row s(r.get(), 0);
  return std::optional<core::Principal>(
      core::Principal{s.text(0), s.text(1), s.text(2), s.bytes(3)});
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
      run("SELECT id, local, remote_party, remote_principal, alternates, observers, "
          "deadline_flash_ms, deadline_immediate_ms, deadline_priority_ms, deadline_routine_ms, "
          "remote_alternates FROM lines ORDER BY id",
          Params()));
  std::vector<core::Line> out;
  for (int i = 0; i < PQntuples(r.get()); ++i) {
    const Row s(r.get(), i);
    core::Line line;
    line.id = s.text(0);
    line.local = s.text(1);
    line.remote = {s.text(2), s.text(3)};
    auto alternates = parse_string_array(s.text(4));
    if (!alternates.is_ok()) {
      return Status::data_loss("stored line '" + line.id +
                               "': alternates: " + alternates.status().message());
    }
    line.alternates = std::move(alternates).value();
    auto observers = parse_string_array(s.text(5));
    if (!observers.is_ok()) {
      return Status::data_loss("stored line '" + line.id +
                               "': observers: " + observers.status().message());
    }
    line.observers = std::move(observers).value();
    line.deadlines.flash = Duration(s.integer(6));
    line.deadlines.immediate = Duration(s.integer(7));
    line.deadlines.priority = Duration(s.integer(8));
    line.deadlines.routine = Duration(s.integer(9));
    auto remote_alternates = parse_string_array(s.text(10));
    if (!remote_alternates.is_ok()) {
      return Status::data_loss("stored line '" + line.id +
                               "': remote alternates: " + remote_alternates.status().message());
    }
    line.remote_alternates = std::move(remote_alternates).value();
    out.push_back(std::move(line));
  }
  return out;
}

// ---- opening ----------------------------------------------------------------------------

// The value of a one-row, one-column query, if there is a row and it is not NULL.
Result<std::optional<std::string>> query_value(PostgresStore& store, const char* sql) {
  PARLEY_ASSIGN_OR_RETURN(const PgResult r, store.run(sql, Params()));
  if (PQntuples(r.get()) == 0 || PQgetisnull(r.get(), 0, 0) != 0) {
    return std::optional<std::string>();
  }
  return std::optional<std::string>(Row(r.get(), 0).text(0));
}

// Inside a transaction holding the migration lock: the stored schema version, creating the
// version table in an empty database (0: nothing migrated yet). kDataLoss for a database
// that holds tables but no parley store.
Result<int> stored_version(PostgresStore& store, const std::string& where) {
  PARLEY_ASSIGN_OR_RETURN(const auto has_table,
                          query_value(store, "SELECT to_regclass('parley_schema')::text"));
  if (!has_table) {
    PARLEY_ASSIGN_OR_RETURN(const auto tables,
                            query_value(store,
                                        "SELECT count(*) FROM information_schema.tables "
                                        "WHERE table_schema = current_schema()"));
    if (tables && *tables != "0") {
      return Status::data_loss(where +
                               " holds tables but not a parley store (no parley_schema table)");
    }
    PARLEY_RETURN_IF_ERROR(
        store.exec("CREATE TABLE parley_schema (version INTEGER NOT NULL); "
                   "INSERT INTO parley_schema (version) VALUES (0)"));
    return 0;
  }
  PARLEY_ASSIGN_OR_RETURN(const auto stored,
                          query_value(store, "SELECT MAX(version) FROM parley_schema"));
  int version = -1;
  if (stored) std::from_chars(stored->data(), stored->data() + stored->size(), version);
  if (version < 0) return Status::data_loss(where + " is not a parley store (no schema version)");
  return version;
}

// Runs the next migration, if any, in a transaction of its own. True once the schema is at
// `target`.
Result<bool> migrate_one(PostgresStore& store, const std::string& where, int target) {
  PARLEY_RETURN_IF_ERROR(store.exec("BEGIN"));
  Result<int> version = Status::internal("unset");
  Status status = store.exec(kMigrationLock);
  if (status.is_ok()) {
    version = stored_version(store, where);
    if (!version.is_ok()) status = version.status();
  }
  if (status.is_ok() && *version > kSchemaVersion) {
    status = Status::data_loss(where + " has schema version " + std::to_string(*version) +
                               ", newer than this parley understands (" +
                               std::to_string(kSchemaVersion) + "); upgrade parley");
  }
  const bool done = status.is_ok() && *version >= target;
  if (status.is_ok() && !done) {
    status = store.exec(kMigrations[*version]);
    if (status.is_ok()) {
      status = store.exec(
          ("UPDATE parley_schema SET version = " + std::to_string(*version + 1)).c_str());
    }
    if (!status.is_ok()) {
      status = Status::unavailable("migrating " + where + " to schema version " +
                                   std::to_string(*version + 1) + ": " + status.message());
    }
  }
  if (!status.is_ok()) {
    (void)store.exec("ROLLBACK");
    return status;
  }
  PARLEY_RETURN_IF_ERROR(store.exec("COMMIT"));
  return done;
}

void ignore_notice(void* /*arg*/, const char* /*message*/) {}

}  // namespace

bool is_postgres_url(std::string_view location) {
  return location.rfind("postgresql://", 0) == 0 || location.rfind("postgres://", 0) == 0;
}

int postgres_schema_version() { return kSchemaVersion; }

Result<std::unique_ptr<Store>> open_postgres_store(const std::string& url,
                                                   const PostgresOptions& options) {
  if (!is_postgres_url(url)) {
    return Status::invalid_argument("store URL must start with postgresql://");
  }
  char* error = nullptr;
  PQconninfoOption* parsed = PQconninfoParse(url.c_str(), &error);
  if (parsed == nullptr) {
    Status status = Status::invalid_argument("malformed store URL: " + first_line(error));
    PQfreemem(error);
    return status;
  }
  PQconninfoFree(parsed);
  const std::string where = "PostgreSQL " + describe(url);
  PgConn conn(PQconnectdb(url.c_str()));
  if (!conn || PQstatus(conn.get()) != CONNECTION_OK) {
    return Status::unavailable("cannot connect to " + where + ": " +
                               first_line(conn ? PQerrorMessage(conn.get()) : "out of memory"));
  }
  PQsetNoticeProcessor(conn.get(), ignore_notice, nullptr);
  auto store = std::make_unique<PostgresStore>(std::move(conn));
  // Nothing is acknowledged before it is durable: every COMMIT waits for its WAL flush
  // whatever the server's default, and a server that never flushes is refused.
  PARLEY_RETURN_IF_ERROR(store->exec("SET synchronous_commit TO on"));
  PARLEY_RETURN_IF_ERROR(store->exec("SET client_encoding TO 'UTF8'"));
  PARLEY_ASSIGN_OR_RETURN(const auto fsync, query_value(*store, "SHOW fsync"));
  if (fsync != std::optional<std::string>("on")) {
    return Status::failed_precondition(where +
                                       " runs with fsync off: parley needs every commit durable");
  }
  const int target = options.migrate_to_version > 0
                         ? std::min(options.migrate_to_version, kSchemaVersion)
                         : kSchemaVersion;
  // One transaction per migration; a bound on the loop in case another process keeps
  // changing the version under us (it cannot, holding the lock, but a loop must end).
  for (int step = 0; step <= kSchemaVersion + 1; ++step) {
    PARLEY_ASSIGN_OR_RETURN(const bool done, migrate_one(*store, where, target));
    if (done) return std::unique_ptr<Store>(std::move(store));
  }
  return Status::internal("migrating " + where + " did not converge");
}

}  // namespace parley::store
