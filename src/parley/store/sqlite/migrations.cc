// The SQLite store's schema: its versions, each reached from the one before by a migration
// (schema.cc runs them when a store is opened).

#include "parley/store/sqlite/internal.h"

namespace parley::store::sqlite_detail {
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
    // 6 (issue 18): the lease of standby gateways. Only a PostgreSQL store is shared by
    // several gateways; SQLite has the same table so that version 6 means the same tables in
    // both, and never uses it (one process holds a SQLite store: HomeLock).
    R"sql(
CREATE TABLE lease (
  id      INTEGER PRIMARY KEY CHECK (id = 1),
  holder  TEXT NOT NULL,
  epoch   INTEGER NOT NULL,
  expires INTEGER NOT NULL
);
INSERT INTO lease (id, holder, epoch, expires) VALUES (1, '', 0, 0);
)sql",
    // 7 (issue 12): the directory. A principal's token has an expiry and can be revoked
    // (unix ms; NULL: never, not revoked); the duty roster, one row per shift [from, to);
    // the audit trail of changes to principals, lines and the roster.
    R"sql(
ALTER TABLE principals ADD COLUMN token_expires INTEGER;
ALTER TABLE principals ADD COLUMN revoked_at INTEGER;
CREATE TABLE roster (
  role      TEXT NOT NULL,
  principal TEXT NOT NULL,
  from_ms   INTEGER NOT NULL,
  to_ms     INTEGER NOT NULL CHECK (to_ms > from_ms),
  PRIMARY KEY (role, from_ms)
);
CREATE TABLE directory_changes (
  seq    INTEGER PRIMARY KEY AUTOINCREMENT,
  at     INTEGER NOT NULL,
  action TEXT NOT NULL,
  detail TEXT NOT NULL
);
)sql",
    // 8 (issue 14): witnessing. As a witness, the latest checkpoint cosigned per origin and
    // the split views seen (both signed notes); as a log, the cosignatures collected, the
    // latest per (origin, witness).
    R"sql(
CREATE TABLE witnessed (
  origin     TEXT PRIMARY KEY,
  size       INTEGER NOT NULL CHECK (size >= 0),
  checkpoint TEXT NOT NULL
);
CREATE TABLE split_views (
  seq       INTEGER PRIMARY KEY AUTOINCREMENT,
  origin    TEXT NOT NULL,
  kind      TEXT NOT NULL,
  witnessed TEXT NOT NULL,
  offered   TEXT NOT NULL,
  seen      INTEGER NOT NULL,
  UNIQUE (origin, witnessed, offered)
);
CREATE TABLE cosignatures (
  origin     TEXT NOT NULL,
  witness    TEXT NOT NULL,
  size       INTEGER NOT NULL CHECK (size >= 0),
  checkpoint TEXT NOT NULL,
  signature  TEXT NOT NULL,
  PRIMARY KEY (origin, witness)
);
)sql",
    // 9 (issue 12): a message's stages are derived from the messages that name it in
    // reply_to (its ack, the peer's stage.shown, an answer; evidence of silence), and start-up
    // asks which awaiting messages were shown already: an index finds them by reply_to.
    R"sql(
CREATE INDEX messages_by_reply_to ON messages (reply_to) WHERE reply_to IS NOT NULL;
)sql",
    // 10 (issue 13): whether a message asks for an acknowledgment is the catalog's word
    // (needs_ack), decided when the record is made, no longer "every type but 'ack'": a
    // translation asks for none either. The partial indexes of the messages awaiting an ack
    // (read at start) follow the column; the rows stored before it say what they always
    // meant.
    R"sql(
ALTER TABLE messages ADD COLUMN needs_ack INTEGER NOT NULL DEFAULT 1 CHECK (needs_ack IN (0, 1));
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
    // 11 (issue 16): full-text search. messages_fts holds each message's searchable text
    // (store/search.h: its free text and the string values of its body) with its id (not its
    // rowid: VACUUM may renumber the rowids of a table without an INTEGER PRIMARY KEY),
    // written with the message; the messages stored before are indexed here.
    R"sql(
CREATE VIRTUAL TABLE messages_fts USING fts5(id UNINDEXED, words,
                                             tokenize = 'unicode61 remove_diacritics 0');
INSERT INTO messages_fts (id, words)
  SELECT id, text || CASE WHEN json_valid(body_json) THEN
    COALESCE((SELECT group_concat(' ' || value, '') FROM json_tree(messages.body_json)
              WHERE type = 'text'), '') ELSE '' END
  FROM messages;
)sql",
    // 12: messages by type, then line. The meeting views and the gateway's action-item watch
    // read a line's meeting steps (nine types) at start and after every meeting step, and
    // `inbox --type` filters by type: without it each was a scan of the whole table (0.28 s
    // for 1,000,000 rows on this machine's SQLite, against 0.03 ms with it).
    R"sql(
CREATE INDEX messages_by_type_line ON messages (type, line);
)sql",
    // 13 (issue 16): the API's event stream (store.h EventRecord), kept so that a client
    // reconnecting with Last-Event-ID is sent what it missed; the newest kEventsKept rows.
    // `alerted` is a JSON array of principal ids.
    R"sql(
CREATE TABLE events (
  id            INTEGER PRIMARY KEY CHECK (id > 0),
  time          INTEGER NOT NULL,
  name          TEXT NOT NULL,
  data          TEXT NOT NULL,
  line          TEXT NOT NULL,
  peer          TEXT NOT NULL,
  alerted       TEXT NOT NULL,
  operator_only INTEGER NOT NULL CHECK (operator_only IN (0, 1))
);
)sql",
    // 14 (issue 16): cancellation. A queued message no transaction has carried may be
    // cancelled by its sender: the state 'cancelled' (final: it never leaves, awaits no ack),
    // with when and by whom. SQLite cannot change a CHECK constraint in place: the table is
    // rebuilt as in 4 (new table, copy, drop, rename, its indexes again; messages_fts is keyed
    // by id, not rowid, so it stays as it is). The partial index of the messages awaiting an
    // ack leaves cancelled ones out.
    R"sql(
CREATE TABLE messages_v14 (
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
                                                 'overdue', 'expired', 'refused', 'cancelled')),
  ack_deadline    INTEGER NOT NULL,
  delivered_at    INTEGER,
  acknowledged_at INTEGER,
  acknowledged_by TEXT,
  ack_id          TEXT,
  receipt         TEXT,
  tx              TEXT,
  refusal         TEXT,
  needs_ack       INTEGER NOT NULL DEFAULT 1 CHECK (needs_ack IN (0, 1)),
  cancelled_at    INTEGER,
  cancelled_by    TEXT,
  UNIQUE (line, direction, seq)
);
INSERT INTO messages_v14 (id, line, seq, direction, peer, from_party, from_principal, to_party,
  to_principal, precedence, type, created, expires, reply_to, lang, body_json, text, salt,
  envelope, state, ack_deadline, delivered_at, acknowledged_at, acknowledged_by, ack_id, receipt,
  tx, refusal, needs_ack)
SELECT id, line, seq, direction, peer, from_party, from_principal, to_party, to_principal,
  precedence, type, created, expires, reply_to, lang, body_json, text, salt, envelope, state,
  ack_deadline, delivered_at, acknowledged_at, acknowledged_by, ack_id, receipt, tx, refusal,
  needs_ack
FROM messages;
DROP TABLE messages;
ALTER TABLE messages_v14 RENAME TO messages;
CREATE INDEX messages_by_direction_line_created ON messages (direction, line, created);
CREATE INDEX messages_unreceipted ON messages (line, seq)
  WHERE direction = 'outbound' AND receipt IS NULL;
CREATE INDEX messages_unacknowledged ON messages (line, seq)
  WHERE direction = 'outbound' AND needs_ack = 1 AND acknowledged_at IS NULL
    AND state NOT IN ('expired', 'refused', 'cancelled');
CREATE INDEX messages_by_peer_line ON messages (peer, line, direction, seq);
CREATE INDEX messages_inbound_unacknowledged ON messages (line, seq)
  WHERE direction = 'inbound' AND needs_ack = 1 AND acknowledged_at IS NULL
    AND state IN ('delivered', 'overdue');
CREATE INDEX messages_by_reply_to ON messages (reply_to) WHERE reply_to IS NOT NULL;
CREATE INDEX messages_by_type_line ON messages (type, line);
)sql",
    // 15 (issue 14, many parties): a broadcast, one
    // submission on several lines, ties its messages by an id of the sender's alone (core/
    // node.h Broadcast); GET /api/v1/broadcasts/{id} finds them by it.
    R"sql(
ALTER TABLE messages ADD COLUMN broadcast TEXT;
CREATE INDEX messages_by_broadcast ON messages (broadcast) WHERE broadcast IS NOT NULL;
)sql",
    // 16 (issue 14): an observer's
    // forwarded heads (the first per origin and size: the owner's signed head as its peer
    // countersigned it) and the messages disclosed to it (checked, with salt and content).
    R"sql(
CREATE TABLE forwarded_heads (
  origin    TEXT NOT NULL,
  size      INTEGER NOT NULL CHECK (size >= 0),
  root      TEXT NOT NULL,
  forwarder TEXT NOT NULL,
  receipt   TEXT NOT NULL,
  received  INTEGER NOT NULL,
  PRIMARY KEY (origin, size)
);
CREATE TABLE disclosures (
  seq       INTEGER PRIMARY KEY AUTOINCREMENT,
  id        TEXT NOT NULL UNIQUE,
  discloser TEXT NOT NULL,
  origin    TEXT NOT NULL,
  idx       INTEGER NOT NULL CHECK (idx >= 0),
  size      INTEGER NOT NULL CHECK (size > idx),
  envelope  TEXT NOT NULL,
  salt      TEXT NOT NULL,
  content   TEXT NOT NULL,
  disclosed INTEGER NOT NULL
);
)sql",
    // 17 (issue 15): the peer's receipt is stored once per transaction, not copied into each
    // message row it delivered (with 16 messages a transaction, 1.7 KB 16 times, and a row too
    // large for one page). `receipts` holds one per transaction: the receipt of the transaction's
    // first row (by id) that has one. A row whose receipt differs from it (old data can hold that)
    // or that has no tx keeps its own in `message_receipts`. The message row says which
    // (`receipted`, 0: none; store/columns.h), and the partial index of unreceipted rows reads that
    // column.
    R"sql(
CREATE TABLE receipts (
  tx      TEXT PRIMARY KEY NOT NULL,
  receipt TEXT NOT NULL
);
CREATE TABLE message_receipts (
  id      TEXT PRIMARY KEY NOT NULL,
  receipt TEXT NOT NULL
);
INSERT INTO receipts (tx, receipt)
SELECT tx, receipt FROM (SELECT tx, receipt, min(id) FROM messages
                         WHERE tx IS NOT NULL AND receipt IS NOT NULL GROUP BY tx);
INSERT INTO message_receipts (id, receipt)
SELECT id, receipt FROM messages
WHERE receipt IS NOT NULL AND
  (tx IS NULL OR receipt IS NOT (SELECT r.receipt FROM receipts AS r WHERE r.tx = messages.tx));
CREATE TABLE messages_v18 (
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
                                                 'overdue', 'expired', 'refused', 'cancelled')),
  ack_deadline    INTEGER NOT NULL,
  delivered_at    INTEGER,
  acknowledged_at INTEGER,
  acknowledged_by TEXT,
  ack_id          TEXT,
  receipted       INTEGER NOT NULL DEFAULT 0 CHECK (receipted IN (0, 1, 2)),
  tx              TEXT,
  refusal         TEXT,
  needs_ack       INTEGER NOT NULL DEFAULT 1 CHECK (needs_ack IN (0, 1)),
  cancelled_at    INTEGER,
  cancelled_by    TEXT,
  broadcast       TEXT,
  UNIQUE (line, direction, seq)
);
INSERT INTO messages_v18 (id, line, seq, direction, peer, from_party, from_principal, to_party,
  to_principal, precedence, type, created, expires, reply_to, lang, body_json, text, salt,
  envelope, state, ack_deadline, delivered_at, acknowledged_at, acknowledged_by, ack_id,
  receipted, tx, refusal, needs_ack, cancelled_at, cancelled_by, broadcast)
SELECT id, line, seq, direction, peer, from_party, from_principal, to_party, to_principal,
  precedence, type, created, expires, reply_to, lang, body_json, text, salt, envelope, state,
  ack_deadline, delivered_at, acknowledged_at, acknowledged_by, ack_id,
  CASE WHEN receipt IS NULL THEN 0 WHEN id IN (SELECT id FROM message_receipts) THEN 2 ELSE 1 END,
  tx, refusal, needs_ack, cancelled_at, cancelled_by, broadcast
FROM messages;
DROP TABLE messages;
ALTER TABLE messages_v18 RENAME TO messages;
CREATE INDEX messages_by_direction_line_created ON messages (direction, line, created);
CREATE INDEX messages_unreceipted ON messages (line, seq)
  WHERE direction = 'outbound' AND receipted = 0;
CREATE INDEX messages_unacknowledged ON messages (line, seq)
  WHERE direction = 'outbound' AND needs_ack = 1 AND acknowledged_at IS NULL
    AND state NOT IN ('expired', 'refused', 'cancelled');
CREATE INDEX messages_by_peer_line ON messages (peer, line, direction, seq);
CREATE INDEX messages_inbound_unacknowledged ON messages (line, seq)
  WHERE direction = 'inbound' AND needs_ack = 1 AND acknowledged_at IS NULL
    AND state IN ('delivered', 'overdue');
CREATE INDEX messages_by_reply_to ON messages (reply_to) WHERE reply_to IS NOT NULL;
CREATE INDEX messages_by_type_line ON messages (type, line);
CREATE INDEX messages_by_broadcast ON messages (broadcast) WHERE broadcast IS NOT NULL;
)sql",
    // 18 (issue 15, "less work per message"): fewer pages in the commit a message waits for.
    //  - messages gets an INTEGER PRIMARY KEY, `n`: its rowid, kept by VACUUM and by
    //    sqlcipher_export (SELECT * names it), in the order rows were stored (messages are
    //    never deleted, so a new row's n is above every other's);
    //  - messages_fts is contentless (the words are not stored a second time) and keyed by n;
    //    it is no longer written with the message but later, several messages a transaction
    //    (SqliteStore::index_search): search_indexed.upto is the n up to which every message is
    //    in it. Opening a store and every search first index what is above it, so a search
    //    never misses a stored message; the rows stored before are indexed at the first open;
    //  - the listing of every line, newest first (the operator's), walks messages_by_created
    //    and stops at its page; it was a scan and a sort of the whole table;
    //  - messages_by_type_line is (type, line, direction, created): a start looks for the last
    //    automatic line test (store/node_recovery.h recover_line_tests: direction, line and
    //    type), which SQLite served by (direction, line, created), reading every outbound
    //    message of the line: 3.4 s of a 3.5 s start on a 1,000,000-message store (restart.1m);
    //    with the index it reads the tests alone;
    //  - log_entries is WITHOUT ROWID, keyed (peer, idx, owner): the key is the table (not a
    //    b-tree beside a rowid table) and serves what log_entries_by_peer (peer, idx) did, so
    //    an entry writes one b-tree and log_entries_by_message instead of four. heads are keyed
    //    (peer, size, owner) likewise, and heads_by_peer goes. A log is read by (owner, peer)
    //    through the peer's part of the key: the logs of several peers for us share peer = us
    //    and are read interleaved (owner is checked on each entry; a few peers, a few times
    //    the rows).
    R"sql(
CREATE TABLE messages_v19 (
  n               INTEGER PRIMARY KEY,
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
                                                 'overdue', 'expired', 'refused', 'cancelled')),
  ack_deadline    INTEGER NOT NULL,
  delivered_at    INTEGER,
  acknowledged_at INTEGER,
  acknowledged_by TEXT,
  ack_id          TEXT,
  receipted       INTEGER NOT NULL DEFAULT 0 CHECK (receipted IN (0, 1, 2)),
  tx              TEXT,
  refusal         TEXT,
  needs_ack       INTEGER NOT NULL DEFAULT 1 CHECK (needs_ack IN (0, 1)),
  cancelled_at    INTEGER,
  cancelled_by    TEXT,
  broadcast       TEXT,
  UNIQUE (line, direction, seq)
);
INSERT INTO messages_v19 (id, line, seq, direction, peer, from_party, from_principal, to_party,
  to_principal, precedence, type, created, expires, reply_to, lang, body_json, text, salt,
  envelope, state, ack_deadline, delivered_at, acknowledged_at, acknowledged_by, ack_id,
  receipted, tx, refusal, needs_ack, cancelled_at, cancelled_by, broadcast)
SELECT id, line, seq, direction, peer, from_party, from_principal, to_party, to_principal,
  precedence, type, created, expires, reply_to, lang, body_json, text, salt, envelope, state,
  ack_deadline, delivered_at, acknowledged_at, acknowledged_by, ack_id, receipted, tx, refusal,
  needs_ack, cancelled_at, cancelled_by, broadcast
FROM messages ORDER BY rowid;
DROP TABLE messages;
ALTER TABLE messages_v19 RENAME TO messages;
CREATE INDEX messages_by_direction_line_created ON messages (direction, line, created);
CREATE INDEX messages_unreceipted ON messages (line, seq)
  WHERE direction = 'outbound' AND receipted = 0;
CREATE INDEX messages_unacknowledged ON messages (line, seq)
  WHERE direction = 'outbound' AND needs_ack = 1 AND acknowledged_at IS NULL
    AND state NOT IN ('expired', 'refused', 'cancelled');
CREATE INDEX messages_by_peer_line ON messages (peer, line, direction, seq);
CREATE INDEX messages_inbound_unacknowledged ON messages (line, seq)
  WHERE direction = 'inbound' AND needs_ack = 1 AND acknowledged_at IS NULL
    AND state IN ('delivered', 'overdue');
CREATE INDEX messages_by_reply_to ON messages (reply_to) WHERE reply_to IS NOT NULL;
CREATE INDEX messages_by_type_line ON messages (type, line, direction, created);
CREATE INDEX messages_by_broadcast ON messages (broadcast) WHERE broadcast IS NOT NULL;
CREATE INDEX messages_by_created ON messages (created);
DROP TABLE messages_fts;
CREATE VIRTUAL TABLE messages_fts USING fts5(words, content = '', columnsize = 0,
                                             tokenize = 'unicode61 remove_diacritics 0');
CREATE TABLE search_indexed (
  id   INTEGER PRIMARY KEY CHECK (id = 1),
  upto INTEGER NOT NULL CHECK (upto >= 0)
);
INSERT INTO search_indexed (id, upto) VALUES (1, 0);
CREATE TABLE log_entries_v19 (
  owner      TEXT NOT NULL,
  peer       TEXT NOT NULL,
  idx        INTEGER NOT NULL CHECK (idx >= 0),
  message_id TEXT NOT NULL,
  leaf_hash  BLOB NOT NULL CHECK (length(leaf_hash) = 32),
  PRIMARY KEY (peer, idx, owner)
) WITHOUT ROWID;
INSERT INTO log_entries_v19 (owner, peer, idx, message_id, leaf_hash)
SELECT owner, peer, idx, message_id, leaf_hash FROM log_entries;
DROP TABLE log_entries;
ALTER TABLE log_entries_v19 RENAME TO log_entries;
CREATE INDEX log_entries_by_message ON log_entries (message_id);
CREATE TABLE heads_v19 (
  owner           TEXT NOT NULL,
  peer            TEXT NOT NULL,
  size            INTEGER NOT NULL CHECK (size >= 0),
  root            BLOB NOT NULL CHECK (length(root) = 32),
  sth_json        TEXT NOT NULL,
  countersig_json TEXT,
  frontier_json   TEXT,
  PRIMARY KEY (peer, size, owner)
);
INSERT INTO heads_v19 (owner, peer, size, root, sth_json, countersig_json, frontier_json)
SELECT owner, peer, size, root, sth_json, countersig_json, frontier_json FROM heads;
DROP TABLE heads;
ALTER TABLE heads_v19 RENAME TO heads;
CREATE INDEX heads_by_owner ON heads (owner, size);
)sql",
    // 19: key rotation (issue 17): the rotation statements of a log (docs/protocol.md "Key
    // rotation"), each an entry of `log_entries` too (message_id: the statement's id). The
    // receiver rebuilds the peer's chain of keys from them at start (by owner: its key).
    R"sql(
CREATE TABLE rotations (
  owner               TEXT NOT NULL,
  peer                TEXT NOT NULL,
  idx                 INTEGER NOT NULL CHECK (idx >= 0),
  n                   INTEGER NOT NULL CHECK (n >= 1),
  id                  TEXT NOT NULL,
  statement           TEXT NOT NULL,
  new_sign_key        BLOB NOT NULL CHECK (length(new_sign_key) = 32),
  new_tls_fingerprint TEXT NOT NULL,
  epoch               INTEGER NOT NULL CHECK (epoch >= 2 AND epoch <= 4294967295),
  PRIMARY KEY (owner, peer, idx),
  UNIQUE (owner, peer, n)
);
)sql",
};

}  // namespace

std::span<const char* const> migrations() { return kMigrations; }

}  // namespace parley::store::sqlite_detail
