// The PostgreSQL store: the schema's versions and migrations, and opening a store.
#include "parley/store/postgres/internal.h"
#include "parley/store/postgres/postgres_store.h"

namespace parley::store {
namespace {

using postgres_detail::first_line;
using postgres_detail::Params;
using postgres_detail::PgConn;
using postgres_detail::PgResult;
using postgres_detail::PostgresStore;
using postgres_detail::Row;

// Schema versions this binary knows, numbered as the SQLite store's (sqlite/schema.cc) so
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
    // 6 (as SQLite's 6): the lease that makes one of the gateways sharing this database the
    // active one (lease.cc; docs/operations.md "Standby gateways"). One row; the epoch grows
    // by one at every takeover; the expiry is on the database's clock.
    R"sql(
CREATE TABLE lease (
  id      INTEGER PRIMARY KEY CHECK (id = 1),
  holder  TEXT NOT NULL,
  epoch   BIGINT NOT NULL,
  expires TIMESTAMPTZ NOT NULL
);
INSERT INTO lease (id, holder, epoch, expires) VALUES (1, '', 0, '-infinity');
)sql",
    // 7 (as SQLite's 7, issue 12): token expiry and revocation (unix ms; NULL: never, not
    // revoked), the duty roster, and the audit trail of directory changes.
    R"sql(
ALTER TABLE principals ADD COLUMN token_expires BIGINT;
ALTER TABLE principals ADD COLUMN revoked_at BIGINT;
CREATE TABLE roster (
  role      TEXT COLLATE "C" NOT NULL,
  principal TEXT COLLATE "C" NOT NULL,
  from_ms   BIGINT NOT NULL,
  to_ms     BIGINT NOT NULL CHECK (to_ms > from_ms),
  PRIMARY KEY (role, from_ms)
);
CREATE TABLE directory_changes (
  seq    BIGSERIAL PRIMARY KEY,
  at     BIGINT NOT NULL,
  action TEXT NOT NULL,
  detail TEXT NOT NULL
);
)sql",
    // 8 (as SQLite's 8, issue 14): witnessing (the latest checkpoint cosigned per origin, the
    // split views seen) and the cosignatures collected.
    R"sql(
CREATE TABLE witnessed (
  origin     TEXT COLLATE "C" PRIMARY KEY,
  size       BIGINT NOT NULL CHECK (size >= 0),
  checkpoint TEXT NOT NULL
);
CREATE TABLE split_views (
  seq       BIGSERIAL PRIMARY KEY,
  origin    TEXT COLLATE "C" NOT NULL,
  kind      TEXT NOT NULL,
  witnessed TEXT NOT NULL,
  offered   TEXT NOT NULL,
  seen      BIGINT NOT NULL,
  UNIQUE (origin, witnessed, offered)
);
CREATE TABLE cosignatures (
  origin     TEXT COLLATE "C" NOT NULL,
  witness    TEXT COLLATE "C" NOT NULL,
  size       BIGINT NOT NULL CHECK (size >= 0),
  checkpoint TEXT NOT NULL,
  signature  TEXT NOT NULL,
  PRIMARY KEY (origin, witness)
);
)sql",
    // 9 (as SQLite's 9, issue 12): messages by reply_to (their stages, evidence).
    R"sql(
CREATE INDEX messages_by_reply_to ON messages (reply_to) WHERE reply_to IS NOT NULL;
)sql",
    // 10 (as SQLite's 10, issue 13): whether a message asks for an acknowledgment is the
    // catalog's word (needs_ack, 0 or 1 as in SQLite so that both stores read one column),
    // no longer "every type but 'ack'"; the partial indexes of the messages awaiting an ack
    // follow it.
    R"sql(
ALTER TABLE messages ADD COLUMN needs_ack SMALLINT NOT NULL DEFAULT 1
  CHECK (needs_ack IN (0, 1));
UPDATE messages SET needs_ack = 0
  WHERE type = 'ack' OR type LIKE 'evidence.%' OR type LIKE 'stage.%';
DROP INDEX messages_unacknowledged;
CREATE INDEX messages_unacknowledged ON messages (line, seq)
  WHERE direction = 'outbound' AND needs_ack = 1 AND acknowledged_at IS NULL
    AND state NOT IN ('expired', 'refused');
DROP INDEX messages_inbound_unacknowledged;
CREATE INDEX messages_inbound_unacknowledged ON messages (line, seq)
  WHERE direction = 'inbound' AND needs_ack = 1 AND acknowledged_at IS NULL
    AND state IN ('delivered', 'overdue');
)sql",
    // 11 (as SQLite's 11, issue 16): full-text search with PostgreSQL's own text search.
    // search_text is each message's searchable text (store/search.h: its free text and the
    // string values of its body), written with the message; the messages stored before are
    // filled in here. The configuration 'simple' lower-cases and neither stems nor drops stop
    // words, as SQLite's unicode61 and the memory store.
    R"sql(
ALTER TABLE messages ADD COLUMN search_text TEXT NOT NULL DEFAULT '';
UPDATE messages SET search_text = text || COALESCE(
  (SELECT string_agg(' ' || (v #>> '{}'), '')
     FROM jsonb_path_query(NULLIF(body_json, '')::jsonb, 'strict $.**') AS v
    WHERE jsonb_typeof(v) = 'string'), '');
CREATE INDEX messages_search ON messages USING GIN (to_tsvector('simple', search_text));
)sql",
    // 12 (as SQLite's 12): messages by type, then line (the meeting steps of a line,
    // `inbox --type`).
    R"sql(
CREATE INDEX messages_by_type_line ON messages (type, line);
)sql",
    // 13 (as SQLite's 13, issue 16): the API's event stream, the newest kEventsKept events.
    R"sql(
CREATE TABLE events (
  id            BIGINT PRIMARY KEY CHECK (id > 0),
  time          BIGINT NOT NULL,
  name          TEXT NOT NULL,
  data          TEXT NOT NULL,
  line          TEXT COLLATE "C" NOT NULL,
  peer          TEXT COLLATE "C" NOT NULL,
  alerted       TEXT NOT NULL,
  operator_only BIGINT NOT NULL CHECK (operator_only IN (0, 1))
);
)sql",
    // 14 (as SQLite's 14, issue 16): cancellation: the state 'cancelled' (a queued message
    // its sender withdrew before any transaction carried it; final), with when and by whom;
    // the index of the messages awaiting an ack leaves cancelled ones out.
    R"sql(
ALTER TABLE messages DROP CONSTRAINT messages_state_check;
ALTER TABLE messages ADD CONSTRAINT messages_state_check
  CHECK (state IN ('queued', 'sent', 'delivered', 'acknowledged', 'overdue', 'expired',
                   'refused', 'cancelled'));
ALTER TABLE messages ADD COLUMN cancelled_at BIGINT;
ALTER TABLE messages ADD COLUMN cancelled_by TEXT;
DROP INDEX messages_unacknowledged;
CREATE INDEX messages_unacknowledged ON messages (line, seq)
  WHERE direction = 'outbound' AND needs_ack = 1 AND acknowledged_at IS NULL
    AND state NOT IN ('expired', 'refused', 'cancelled');
)sql",
    // 15 (as SQLite's 15, issue 14): the broadcast a
    // message was submitted in (one submission on several lines), the sender's alone.
    R"sql(
ALTER TABLE messages ADD COLUMN broadcast TEXT;
CREATE INDEX messages_by_broadcast ON messages (broadcast) WHERE broadcast IS NOT NULL;
)sql",
    // 16 (as SQLite's 16, issue 14): an observer's forwarded heads and disclosures.
    R"sql(
CREATE TABLE forwarded_heads (
  origin    TEXT COLLATE "C" NOT NULL,
  size      BIGINT NOT NULL CHECK (size >= 0),
  root      TEXT NOT NULL,
  forwarder TEXT NOT NULL,
  receipt   TEXT NOT NULL,
  received  BIGINT NOT NULL,
  PRIMARY KEY (origin, size)
);
CREATE TABLE disclosures (
  seq       BIGSERIAL PRIMARY KEY,
  id        TEXT COLLATE "C" NOT NULL UNIQUE,
  discloser TEXT NOT NULL,
  origin    TEXT NOT NULL,
  idx       BIGINT NOT NULL CHECK (idx >= 0),
  size      BIGINT NOT NULL CHECK (size > idx),
  envelope  TEXT NOT NULL,
  salt      TEXT NOT NULL,
  content   TEXT NOT NULL,
  disclosed BIGINT NOT NULL
);
)sql",
    // 17 (as SQLite's 17, issue 15): the peer's receipt stored once per transaction (`receipts`),
    // not in each message row; a row whose receipt differs from its transaction's, or that has no
    // tx, keeps its own (`message_receipts`); `receipted` says which (store/columns.h), 0: not
    // receipted.
    R"sql(
CREATE TABLE receipts (
  tx      TEXT COLLATE "C" PRIMARY KEY,
  receipt TEXT NOT NULL
);
CREATE TABLE message_receipts (
  id      TEXT COLLATE "C" PRIMARY KEY,
  receipt TEXT NOT NULL
);
INSERT INTO receipts (tx, receipt)
SELECT DISTINCT ON (tx) tx, receipt FROM messages
WHERE tx IS NOT NULL AND receipt IS NOT NULL ORDER BY tx, id COLLATE "C";
INSERT INTO message_receipts (id, receipt)
SELECT m.id, m.receipt FROM messages AS m LEFT JOIN receipts AS r ON r.tx = m.tx
WHERE m.receipt IS NOT NULL AND (m.tx IS NULL OR r.receipt IS DISTINCT FROM m.receipt);
ALTER TABLE messages ADD COLUMN receipted INTEGER NOT NULL DEFAULT 0
  CHECK (receipted IN (0, 1, 2));
UPDATE messages SET receipted =
  CASE WHEN id IN (SELECT id FROM message_receipts) THEN 2 ELSE 1 END
WHERE receipt IS NOT NULL;
DROP INDEX messages_unreceipted;
ALTER TABLE messages DROP COLUMN receipt;
CREATE INDEX messages_unreceipted ON messages (line, seq)
  WHERE direction = 'outbound' AND receipted = 0;
)sql",
    // 18 (as SQLite's 19, issue 17): the rotation statements of a log (docs/protocol.md "Key
    // rotation"), each an entry of `log_entries` too (message_id: the statement's id).
    R"sql(
CREATE TABLE rotations (
  owner               TEXT COLLATE "C" NOT NULL,
  peer                TEXT COLLATE "C" NOT NULL,
  idx                 BIGINT NOT NULL CHECK (idx >= 0),
  n                   BIGINT NOT NULL CHECK (n >= 1),
  id                  TEXT COLLATE "C" NOT NULL,
  statement           TEXT NOT NULL,
  new_sign_key        BYTEA NOT NULL CHECK (octet_length(new_sign_key) = 32),
  new_tls_fingerprint TEXT NOT NULL,
  epoch               BIGINT NOT NULL CHECK (epoch >= 2 AND epoch <= 4294967295),
  PRIMARY KEY (owner, peer, idx),
  UNIQUE (owner, peer, n)
);
)sql",
};
constexpr int kSchemaVersion = static_cast<int>(std::size(kMigrations));

// Serializes migrations between gateways and CLI commands opening the same database
// (pg_advisory_xact_lock; an arbitrary constant of parley's: "parl").
constexpr const char* kMigrationLock = "SELECT pg_advisory_xact_lock(1885434476)";

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
  PARLEY_RETURN_IF_ERROR(load_libpq());
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
