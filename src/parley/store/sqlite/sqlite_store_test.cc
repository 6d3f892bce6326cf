// The SQLite-specific tests of SqliteStore: foreign files, schema versions and migrations,
// query plans, and a SIGKILL mid-apply. The Store contract itself is tested by the
// conformance suite (store/store_conformance_test.cc), against SQLite among others.
#include "parley/store/sqlite/sqlite_store.h"

#include <signal.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <sys/types.h>
#include <sys/wait.h>

#include "parley/store/columns.h"
#include "parley/store/search.h"
#include "parley/store/store.h"
#include "parley/store/store_test_util.h"

namespace parley::store {
namespace {

namespace fs = std::filesystem;
using core::Direction;
using core::MessageRecord;
using core::MessageState;
using core::PutMessage;
using core::Record;
using core::UpdateMessage;
using test::at;
using test::entry;
using test::ids_of;
using test::line;
using test::message;
using test::put_inbound;
using test::raw_sql;
using test::sqlite_path;
using test::TempDir;

// ---- SQLite-specific ----

// Migration 19 (issue 17, key rotation) undone, first in every test's way back to an older
// schema: no rotations table.
constexpr const char* kBeforeRotations = "DROP TABLE rotations; ";

// Migration 18 (issue 15, fewer pages per message) undone, after 19: messages without its INTEGER
// PRIMARY KEY n (a copy keeps the columns and the order), its indexes as schema 17 had them,
// no search watermark. messages_fts stays contentless: every older schema's test drops it or
// its migrations reach 18, which makes it again.
const std::string kBeforeStorePages =
    std::string(kBeforeRotations) + "CREATE TABLE messages_v17 AS SELECT " +
    columns::kMessageColumns +
    " FROM messages ORDER BY n; DROP TABLE messages; "
    "ALTER TABLE messages_v17 RENAME TO messages; "
    "CREATE UNIQUE INDEX messages_id ON messages (id); "
    "CREATE UNIQUE INDEX messages_line_direction_seq ON messages (line, direction, seq); "
    "CREATE INDEX messages_by_direction_line_created ON messages (direction, line, created); "
    "CREATE INDEX messages_unreceipted ON messages (line, seq) "
    "WHERE direction = 'outbound' AND receipted = 0; "
    "CREATE INDEX messages_unacknowledged ON messages (line, seq) WHERE direction = 'outbound' "
    "AND needs_ack = 1 AND acknowledged_at IS NULL AND state NOT IN ('expired', 'refused', "
    "'cancelled'); "
    "CREATE INDEX messages_by_peer_line ON messages (peer, line, direction, seq); "
    "CREATE INDEX messages_inbound_unacknowledged ON messages (line, seq) WHERE direction = "
    "'inbound' AND needs_ack = 1 AND acknowledged_at IS NULL AND state IN ('delivered', "
    "'overdue'); "
    "CREATE INDEX messages_by_reply_to ON messages (reply_to) WHERE reply_to IS NOT NULL; "
    "CREATE INDEX messages_by_type_line ON messages (type, line); "
    "CREATE INDEX messages_by_broadcast ON messages (broadcast) WHERE broadcast IS NOT NULL; "
    "DROP TABLE search_indexed; ";

// Migration 17 (issue 15) undone, after 18, first in every test's way back to an older schema:
// the receipt back in each message row, no receipts tables.
const std::string kBeforeReceipts =
    kBeforeStorePages +
    "DROP INDEX messages_unreceipted; ALTER TABLE messages ADD COLUMN receipt TEXT; "
    "UPDATE messages SET receipt = CASE receipted WHEN 1 THEN (SELECT r.receipt FROM receipts "
    "AS r WHERE r.tx = messages.tx) WHEN 2 THEN (SELECT r.receipt FROM message_receipts AS r "
    "WHERE r.id = messages.id) END; ALTER TABLE messages DROP COLUMN receipted; "
    "CREATE INDEX messages_unreceipted ON messages (line, seq) WHERE direction = 'outbound' "
    "AND receipt IS NULL; DROP TABLE receipts; DROP TABLE message_receipts; ";

// The version a new store gets: what every migration test expects to end at.
std::string current_schema_version() {
  TempDir fresh;
  EXPECT_TRUE(open_sqlite_store(sqlite_path(fresh.path())).is_ok());
  return raw_sql(sqlite_path(fresh.path()), "SELECT version FROM parley_schema");
}

TEST(SqliteStoreTest, OpenCreatesAWalStoreAtTheCurrentSchemaVersion) {
  TempDir dir;
  const std::string path = sqlite_path(dir.path());
  ASSERT_TRUE(open_sqlite_store(path).is_ok());
  EXPECT_TRUE(fs::exists(path));
  EXPECT_EQ(raw_sql(path, "PRAGMA journal_mode"), "wal");
  // 19: key rotation (issue 17), after the store pages migration (18, issue 15).
  EXPECT_EQ(raw_sql(path, "SELECT version FROM parley_schema"), "19");
}

// One process holds a SQLite store (HomeLock): it is never shared, its gateway is always the
// lease's holder, and fencing changes nothing (store.h "The lease").
TEST(SqliteStoreTest, ASqliteStoreIsNeverSharedAndAlwaysTheLeaseHolder) {
  TempDir dir;
  Result<std::unique_ptr<Store>> store = open_sqlite_store(sqlite_path(dir.path()));
  ASSERT_TRUE(store.is_ok()) << store.status().to_string();
  EXPECT_FALSE((*store)->shared());
  EXPECT_EQ(*(*store)->take_lease("a", std::chrono::seconds(1)), std::optional<std::uint64_t>(1));
  EXPECT_EQ(*(*store)->take_lease("b", std::chrono::seconds(1)), std::optional<std::uint64_t>(1));
  EXPECT_TRUE(*(*store)->renew_lease("a", 1, std::chrono::seconds(1)));
  (*store)->fence(7);
  EXPECT_TRUE((*store)
                  ->apply({core::PutMessage{
                      test::message("m-1", "l", 1, core::Direction::kOutbound, test::at(0))}})
                  .is_ok());
}

// SQLite keeps apply_group_open's transaction open: another connection (the CLI, a backup)
// sees neither the batch nor the events until finish_group commits them together, and a
// failure there stores neither.
TEST(SqliteStoreTest, AnOpenGroupIsOneTransactionWithTheEventsFinishingIt) {
  TempDir dir;
  const std::string path = sqlite_path(dir.path());
  Result<std::unique_ptr<Store>> store = open_sqlite_store(path);
  ASSERT_TRUE(store.is_ok()) << store.status().to_string();
  const std::vector<core::Record> batch{
      core::PutMessage{test::message("m-1", "l", 1, core::Direction::kOutbound, test::at(0))}};
  ASSERT_TRUE((*store)->apply_group_open({&batch}).is_ok());
  ASSERT_TRUE((*store)->group_open());
  EXPECT_EQ(raw_sql(path, "SELECT count(*) FROM messages"), "0");
  std::vector<EventRecord> events{
      EventRecord{0, test::at(1), "delivered", "{}", "l", "", {}, false}};
  ASSERT_TRUE((*store)->finish_group(events).is_ok());
  EXPECT_FALSE((*store)->group_open());
  EXPECT_EQ(raw_sql(path, "SELECT count(*) FROM messages"), "1");
  EXPECT_EQ(raw_sql(path, "SELECT count(*) FROM events"), "1");
  EXPECT_EQ(events[0].id, 1U);

  // An event the store cannot store (a trigger put there behind its back refuses it) fails
  // the finish: the batch it was to commit with is rolled back too.
  raw_sql(path,
          "CREATE TRIGGER no_events BEFORE INSERT ON events BEGIN "
          "SELECT RAISE(ABORT, 'no more events'); END");
  const std::vector<core::Record> second{
      core::PutMessage{test::message("m-2", "l", 2, core::Direction::kOutbound, test::at(2))}};
  ASSERT_TRUE((*store)->apply_group_open({&second}).is_ok());
  std::vector<EventRecord> refused{
      EventRecord{0, test::at(3), "message", "{}", "l", "", {}, false}};
  EXPECT_FALSE((*store)->finish_group(refused).is_ok());
  EXPECT_FALSE((*store)->group_open());
  EXPECT_EQ(refused[0].id, 0U);
  EXPECT_EQ(raw_sql(path, "SELECT count(*) FROM messages"), "1");
  const Result<std::optional<core::MessageRecord>> gone = (*store)->get_message("m-2");
  ASSERT_TRUE(gone.is_ok()) << gone.status().to_string();
  EXPECT_FALSE(gone->has_value());
}

TEST(SqliteStoreTest, SchemaOneStoreIsMigratedKeepingItsMessages) {
  TempDir dir;
  const std::string path = sqlite_path(dir.path());
  {
    Result<std::unique_ptr<Store>> store = open_sqlite_store(path);
    ASSERT_TRUE(store.is_ok());
    ASSERT_TRUE(
        (*store)->apply({PutMessage{message("m-1", "l", 1, Direction::kOutbound, at(0))}}).is_ok());
  }
  // Back to what a schema-1 store holds.
  raw_sql(
      path,
      std::string(kBeforeReceipts) +
          "ALTER TABLE principals DROP COLUMN token_expires; "
          "ALTER TABLE principals DROP COLUMN revoked_at; DROP TABLE roster; "
          "DROP TABLE directory_changes; DROP TABLE witnessed; DROP TABLE split_views; "
          "DROP TABLE cosignatures; DROP INDEX IF EXISTS messages_by_reply_to; "
          "DROP TABLE messages_fts; "
          "DROP INDEX IF EXISTS messages_inbound_unacknowledged; "
          "DROP TABLE lease; ALTER TABLE lines DROP COLUMN remote_alternates; "
          "DROP TABLE log_entries; DROP TABLE heads; DROP TABLE inclusion; DROP TABLE evidence; "
          "DROP INDEX messages_unreceipted; DROP INDEX messages_unacknowledged; "
          "DROP INDEX messages_by_peer_line; CREATE INDEX messages_by_peer ON messages (peer); "
          "DROP TABLE IF EXISTS events; DROP TABLE IF EXISTS forwarded_heads; DROP TABLE IF EXISTS "
          "disclosures; UPDATE parley_schema SET version = 1");
  ASSERT_EQ(raw_sql(path, "SELECT version FROM parley_schema"), "1");
  Result<std::unique_ptr<Store>> store = open_sqlite_store(path);
  ASSERT_TRUE(store.is_ok()) << store.status().to_string();
  EXPECT_EQ(raw_sql(path, "SELECT version FROM parley_schema"), current_schema_version());
  Result<std::optional<MessageRecord>> m = (*store)->get_message("m-1");
  ASSERT_TRUE(m.is_ok() && m->has_value());
  EXPECT_FALSE((*m)->log_index.has_value());
  EXPECT_TRUE((*store)->apply({entry("us-eucom", "ru-genstaff", 0, "m-1")}).is_ok());
  EXPECT_EQ((*(*store)->get_message("m-1"))->log_index, 0U);
  // Migration 8: the witness's views move from nothing.
  EXPECT_TRUE(*(*store)->put_witnessed({"parley.example/a/b", 1, "note"}, 0));
}

TEST(SqliteStoreTest, SchemaTenStoreIsMigratedAndItsMessagesAreFoundBySearch) {
  TempDir dir;
  const std::string path = sqlite_path(dir.path());
  {
    Result<std::unique_ptr<Store>> store = open_sqlite_store(path);
    ASSERT_TRUE(store.is_ok());
    MessageRecord m = message("m-1", "l", 1, Direction::kInbound, at(0));
    m.content = {R"({"area":{"name":"Kola Peninsula"},"list":["Murmansk"]})", "Exercise Zapad"};
    ASSERT_TRUE((*store)->apply({PutMessage{m}}).is_ok());
  }
  // Back to what a schema-10 store holds: no index.
  raw_sql(
      path,
      std::string(kBeforeReceipts) +
          "DROP TABLE messages_fts; DROP INDEX messages_by_type_line; "
          "DROP TABLE IF EXISTS events; DROP TABLE IF EXISTS forwarded_heads; DROP TABLE IF EXISTS "
          "disclosures; UPDATE parley_schema SET version = 10");
  Result<std::unique_ptr<Store>> store = open_sqlite_store(path);
  ASSERT_TRUE(store.is_ok()) << store.status().to_string();
  EXPECT_EQ(raw_sql(path, "SELECT version FROM parley_schema"), current_schema_version());
  for (const char* words : {"zapad", "kola peninsula", "MURMANSK"}) {
    MessageQuery q;
    q.words = search_words(words);
    Result<std::vector<MessageRecord>> found = (*store)->list_messages(q);
    ASSERT_TRUE(found.is_ok()) << found.status().to_string();
    EXPECT_EQ(ids_of(*found), (std::vector<std::string>{"m-1"})) << words;
  }
  MessageQuery key_only;
  key_only.words = search_words("area");  // a key, not text
  EXPECT_TRUE((*(*store)->list_messages(key_only)).empty());
}

TEST(SqliteStoreTest, SchemaTwoStoreIsMigratedAndRecoversThroughTheNewIndexes) {
  TempDir dir;
  const std::string path = sqlite_path(dir.path());
  {
    Result<std::unique_ptr<Store>> store = open_sqlite_store(path);
    ASSERT_TRUE(store.is_ok());
    ASSERT_TRUE((*store)->put_line(line("to-ru", "ru-genstaff")).is_ok());
    MessageRecord receipted = message("o-1", "to-ru", 1, Direction::kOutbound, at(0));
    receipted.receipt = "{}";
    receipted.acknowledged_at = at(5);
    MessageRecord pending = message("o-2", "to-ru", 2, Direction::kOutbound, at(1));
    ASSERT_TRUE((*store)->apply({PutMessage{receipted}, PutMessage{pending}}).is_ok());
    put_inbound(**store, "to-ru", {1, 2, 3, 5});
  }
  // Back to what a schema-2 store holds.
  raw_sql(
      path,
      std::string(kBeforeReceipts) +
          "ALTER TABLE principals DROP COLUMN token_expires; "
          "ALTER TABLE principals DROP COLUMN revoked_at; DROP TABLE roster; "
          "DROP TABLE directory_changes; DROP TABLE witnessed; DROP TABLE split_views; "
          "DROP TABLE cosignatures; DROP INDEX IF EXISTS messages_by_reply_to; "
          "DROP TABLE messages_fts; "
          "DROP INDEX IF EXISTS messages_inbound_unacknowledged; "
          "DROP TABLE lease; ALTER TABLE lines DROP COLUMN remote_alternates; "
          "DROP INDEX evidence_once; ALTER TABLE evidence DROP COLUMN seen; "
          "ALTER TABLE evidence DROP COLUMN last_seen; "
          "DROP INDEX messages_unreceipted; DROP INDEX messages_unacknowledged; "
          "DROP INDEX messages_by_peer_line; CREATE INDEX messages_by_peer ON messages (peer); "
          "DROP TABLE IF EXISTS events; DROP TABLE IF EXISTS forwarded_heads; DROP TABLE IF EXISTS "
          "disclosures; UPDATE parley_schema SET version = 2");
  ASSERT_EQ(raw_sql(path, "SELECT version FROM parley_schema"), "2");
  ASSERT_EQ(raw_sql(path, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'messages_by_peer'"),
            "1");

  Result<std::unique_ptr<Store>> store = open_sqlite_store(path);
  ASSERT_TRUE(store.is_ok()) << store.status().to_string();
  EXPECT_EQ(raw_sql(path, "SELECT version FROM parley_schema"), current_schema_version());
  EXPECT_EQ(raw_sql(path,
                    "SELECT COUNT(*) FROM sqlite_master WHERE name IN "
                    "('messages_unreceipted', 'messages_unacknowledged', "
                    "'messages_by_peer_line')"),
            "3");
  EXPECT_EQ(raw_sql(path, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'messages_by_peer'"),
            "0");
  // The partial indexes were filled from the stored rows.
  EXPECT_EQ(raw_sql(path,
                    "SELECT COUNT(*) FROM messages INDEXED BY messages_unreceipted "
                    "WHERE direction = 'outbound' AND receipted = 0"),
            "1");
  Result<core::Recovered> recovered = (*store)->recover("ru-genstaff");
  ASSERT_TRUE(recovered.is_ok()) << recovered.status().to_string();
  EXPECT_EQ(recovered->last_outbound_seq.at("to-ru"), 2U);
  EXPECT_EQ(recovered->inbound_seqs.at("to-ru").watermark, 3U);
  EXPECT_EQ(recovered->inbound_seqs.at("to-ru").above, (std::vector<std::uint64_t>{5}));
  EXPECT_EQ(ids_of(recovered->unreceipted), (std::vector<std::string>{"o-2"}));
  EXPECT_EQ(ids_of(recovered->unacknowledged), (std::vector<std::string>{"o-2"}));
}

TEST(SqliteStoreTest, SchemaThreeStoreFoldsRepeatedEvidenceIntoOneCountedRow) {
  TempDir dir;
  const std::string path = sqlite_path(dir.path());
  ASSERT_TRUE(open_sqlite_store(path).is_ok());
  // What a schema-3 store holds after a peer resent one conflicting head three times.
  raw_sql(
      path,
      std::string(kBeforeReceipts) +
          "ALTER TABLE principals DROP COLUMN token_expires; "
          "ALTER TABLE principals DROP COLUMN revoked_at; DROP TABLE roster; "
          "DROP TABLE directory_changes; DROP TABLE witnessed; DROP TABLE split_views; "
          "DROP TABLE cosignatures; DROP INDEX IF EXISTS messages_by_reply_to; "
          "DROP TABLE messages_fts; "
          "DROP INDEX IF EXISTS messages_inbound_unacknowledged; "
          "DROP TABLE lease; ALTER TABLE lines DROP COLUMN remote_alternates; "
          "DROP INDEX evidence_once; ALTER TABLE evidence DROP COLUMN seen; "
          "ALTER TABLE evidence DROP COLUMN last_seen; DROP TABLE IF EXISTS events; DROP TABLE IF "
          "EXISTS forwarded_heads; DROP TABLE IF EXISTS disclosures; UPDATE "
          "parley_schema SET version = 3; "
          "INSERT INTO evidence VALUES ('e-1', 'ru', 'fork', 'first', '{a}', '{b}', 1000); "
          "INSERT INTO evidence VALUES ('e-2', 'ru', 'fork', 'again', '{a}', '{b}', 2000); "
          "INSERT INTO evidence VALUES ('e-3', 'ru', 'fork', 'again', '{a}', '{b}', 3000); "
          "INSERT INTO evidence VALUES ('e-4', 'ru', 'fork', 'other', '{a}', '{c}', 2500)");
  Result<std::unique_ptr<Store>> store = open_sqlite_store(path);
  ASSERT_TRUE(store.is_ok()) << store.status().to_string();
  EXPECT_EQ(raw_sql(path, "SELECT version FROM parley_schema"), current_schema_version());
  Result<std::vector<core::PutEvidence>> kept = (*store)->evidence();
  ASSERT_TRUE(kept.is_ok()) << kept.status().to_string();
  ASSERT_EQ(kept->size(), 2U);
  EXPECT_EQ(kept->front().id, "e-1");
  EXPECT_EQ(kept->front().detail, "first");
  EXPECT_EQ(kept->front().seen, 3U);
  EXPECT_EQ(unix_ms(*kept->front().last_seen), 3000);
  EXPECT_EQ(kept->back().id, "e-4");
  EXPECT_EQ(kept->back().seen, 1U);
}

// Schema 10 keeps whether a message asks for an ack (needs_ack): the rows of a schema-9 store
// say what they meant then, every type but 'ack' does, and recovery reads the column.
TEST(SqliteStoreTest, SchemaNineStoreIsMigratedToKeepWhetherAMessageNeedsAnAck) {
  TempDir dir;
  const std::string path = sqlite_path(dir.path());
  {
    Result<std::unique_ptr<Store>> store = open_sqlite_store(path);
    ASSERT_TRUE(store.is_ok());
    ASSERT_TRUE((*store)->put_line(line("to-ru", "ru-genstaff")).is_ok());
    ASSERT_TRUE(
        (*store)
            ->apply({PutMessage{message("o-1", "to-ru", 1, Direction::kOutbound, at(0))},
                     PutMessage{message("o-2", "to-ru", 2, Direction::kOutbound, at(1), "ack")}})
            .is_ok());
  }
  raw_sql(
      path,
      std::string(kBeforeReceipts) +
          "DROP INDEX messages_unacknowledged; DROP INDEX messages_inbound_unacknowledged; "
          "ALTER TABLE messages DROP COLUMN needs_ack; "
          "CREATE INDEX messages_unacknowledged ON messages (line, seq) WHERE direction = "
          "'outbound' AND type != 'ack' AND acknowledged_at IS NULL AND state NOT IN "
          "('expired', 'refused'); CREATE INDEX messages_inbound_unacknowledged ON messages "
          "(line, seq) WHERE direction = 'inbound' AND type != 'ack' AND acknowledged_at IS NULL "
          "AND state IN ('delivered', 'overdue'); DROP TABLE messages_fts; "
          "DROP INDEX messages_by_type_line; DROP TABLE IF EXISTS events; DROP TABLE IF EXISTS "
          "forwarded_heads; DROP TABLE IF EXISTS disclosures; UPDATE parley_schema SET "
          "version = 9");
  Result<std::unique_ptr<Store>> store = open_sqlite_store(path);
  ASSERT_TRUE(store.is_ok()) << store.status().to_string();
  EXPECT_EQ(raw_sql(path, "SELECT version FROM parley_schema"), current_schema_version());
  EXPECT_EQ(raw_sql(path,
                    "SELECT group_concat(id || ':' || needs_ack, ',') FROM "
                    "(SELECT id, needs_ack FROM messages ORDER BY id)"),
            "o-1:1,o-2:0");
  Result<core::Recovered> recovered = (*store)->recover("ru-genstaff");
  ASSERT_TRUE(recovered.is_ok()) << recovered.status().to_string();
  EXPECT_EQ(ids_of(recovered->unacknowledged), (std::vector<std::string>{"o-1"}));
}

// Migration 14 rebuilds the messages table to allow the state 'cancelled' (its CHECK) and to
// keep when and by whom: a schema-12 store keeps its rows and indexes, and a cancelled message
// then stored awaits no ack at recovery.
TEST(SqliteStoreTest, SchemaTwelveStoreIsMigratedToHoldCancellations) {
  TempDir dir;
  const std::string path = sqlite_path(dir.path());
  {
    Result<std::unique_ptr<Store>> store = open_sqlite_store(path);
    ASSERT_TRUE(store.is_ok());
    ASSERT_TRUE((*store)->put_line(line("to-ru", "ru-genstaff")).is_ok());
    ASSERT_TRUE((*store)
                    ->apply({PutMessage{message("o-1", "to-ru", 1, Direction::kOutbound, at(0))},
                             PutMessage{message("o-2", "to-ru", 2, Direction::kOutbound, at(1))}})
                    .is_ok());
  }
  // Back to what a schema-12 store holds: the state CHECK without 'cancelled', no columns.
  raw_sql(
      path,
      std::string(kBeforeReceipts) +
          "CREATE TABLE m12 AS SELECT * FROM messages; DROP TABLE messages; "
          "CREATE TABLE messages (id TEXT NOT NULL UNIQUE, line TEXT NOT NULL, seq INTEGER NOT "
          "NULL CHECK (seq >= 0), direction TEXT NOT NULL, peer TEXT NOT NULL, from_party TEXT "
          "NOT NULL, from_principal TEXT NOT NULL, to_party TEXT NOT NULL, to_principal TEXT NOT "
          "NULL, precedence TEXT NOT NULL, type TEXT NOT NULL, created INTEGER NOT NULL, expires "
          "INTEGER, reply_to TEXT, lang TEXT NOT NULL, body_json TEXT NOT NULL, text TEXT NOT "
          "NULL, salt BLOB NOT NULL, envelope TEXT NOT NULL, state TEXT NOT NULL CHECK (state IN "
          "('queued', 'sent', 'delivered', 'acknowledged', 'overdue', 'expired', 'refused')), "
          "ack_deadline INTEGER NOT NULL, delivered_at INTEGER, acknowledged_at INTEGER, "
          "acknowledged_by TEXT, ack_id TEXT, receipt TEXT, tx TEXT, refusal TEXT, needs_ack "
          "INTEGER NOT NULL DEFAULT 1 CHECK (needs_ack IN (0, 1)), UNIQUE (line, direction, "
          "seq)); "
          "INSERT INTO messages SELECT id, line, seq, direction, peer, from_party, "
          "from_principal, to_party, to_principal, precedence, type, created, expires, reply_to, "
          "lang, body_json, text, salt, envelope, state, ack_deadline, delivered_at, "
          "acknowledged_at, acknowledged_by, ack_id, receipt, tx, refusal, needs_ack FROM m12; "
          "DROP TABLE m12; "
          "CREATE INDEX messages_unreceipted ON messages (line, seq) WHERE direction = "
          "'outbound' AND receipt IS NULL; CREATE INDEX messages_unacknowledged ON messages "
          "(line, seq) WHERE direction = 'outbound' AND needs_ack = 1 AND acknowledged_at IS "
          "NULL AND state NOT IN ('expired', 'refused'); DROP TABLE events; DROP TABLE "
          "forwarded_heads; DROP TABLE disclosures; "
          "UPDATE parley_schema SET version = 12");
  ASSERT_EQ(raw_sql(path, "SELECT version FROM parley_schema"), "12");
  EXPECT_EQ(raw_sql(path,
                    "SELECT COUNT(*) FROM pragma_table_info('messages') WHERE name = "
                    "'cancelled_at'"),
            "0");

  Result<std::unique_ptr<Store>> store = open_sqlite_store(path);
  ASSERT_TRUE(store.is_ok()) << store.status().to_string();
  EXPECT_EQ(raw_sql(path, "SELECT version FROM parley_schema"), current_schema_version());
  EXPECT_EQ(raw_sql(path,
                    "SELECT COUNT(*) FROM sqlite_master WHERE tbl_name = 'messages' AND name IN "
                    "('messages_by_direction_line_created', 'messages_unreceipted', "
                    "'messages_unacknowledged', 'messages_by_peer_line', "
                    "'messages_inbound_unacknowledged', 'messages_by_reply_to', "
                    "'messages_by_type_line')"),
            "7");
  UpdateMessage cancelled;
  cancelled.id = "o-2";
  cancelled.state = MessageState::kCancelled;
  cancelled.cancelled_at = at(5);
  cancelled.cancelled_by = "us-eucom/saceur";
  ASSERT_TRUE((*store)->apply({cancelled}).is_ok());
  Result<std::optional<MessageRecord>> kept = (*store)->get_message("o-2");
  ASSERT_TRUE(kept.is_ok() && kept->has_value());
  EXPECT_EQ((*kept)->state, MessageState::kCancelled);
  EXPECT_EQ((*kept)->cancelled_at, at(5));
  EXPECT_EQ((*kept)->cancelled_by, "us-eucom/saceur");
  EXPECT_FALSE((*(*store)->get_message("o-1"))->cancelled_at.has_value());
  Result<core::Recovered> recovered = (*store)->recover("ru-genstaff");
  ASSERT_TRUE(recovered.is_ok()) << recovered.status().to_string();
  EXPECT_EQ(ids_of(recovered->unacknowledged), (std::vector<std::string>{"o-1"}));
  EXPECT_EQ(ids_of(recovered->unreceipted), (std::vector<std::string>{"o-1", "o-2"}));
}

// Migration 15 (issue 14): a message's broadcast id.
TEST(SqliteStoreTest, SchemaFourteenStoreIsMigratedToHoldBroadcastIds) {
  TempDir dir;
  const std::string path = sqlite_path(dir.path());
  {
    Result<std::unique_ptr<Store>> store = open_sqlite_store(path);
    ASSERT_TRUE(store.is_ok());
    ASSERT_TRUE((*store)->put_line(line("to-ru", "ru-genstaff")).is_ok());
    ASSERT_TRUE((*store)
                    ->apply({PutMessage{message("o-1", "to-ru", 1, Direction::kOutbound, at(0))}})
                    .is_ok());
  }
  // Back to what a schema-14 store holds: no broadcast column, no index on it, no observer's
  // tables (16).
  raw_sql(path, std::string(kBeforeReceipts) +
                    "DROP INDEX messages_by_broadcast; ALTER TABLE messages DROP COLUMN broadcast; "
                    "DROP TABLE forwarded_heads; DROP TABLE disclosures; "
                    "UPDATE parley_schema SET version = 14");
  ASSERT_EQ(raw_sql(path, "SELECT version FROM parley_schema"), "14");
  ASSERT_EQ(
      raw_sql(path, "SELECT COUNT(*) FROM pragma_table_info('messages') WHERE name = 'broadcast'"),
      "0");

  Result<std::unique_ptr<Store>> store = open_sqlite_store(path);
  ASSERT_TRUE(store.is_ok()) << store.status().to_string();
  EXPECT_EQ(raw_sql(path, "SELECT version FROM parley_schema"), current_schema_version());
  EXPECT_EQ(
      raw_sql(path, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'messages_by_broadcast'"),
      "1");
  EXPECT_EQ((*(*store)->get_message("o-1"))->broadcast, std::nullopt);
  MessageRecord b = message("o-2", "to-ru", 2, Direction::kOutbound, at(1));
  b.broadcast = "0190a0b0-0000-7000-8000-00000000b001";
  ASSERT_TRUE((*store)->apply({PutMessage{b}}).is_ok());
  MessageQuery q;
  q.broadcast = b.broadcast;
  Result<std::vector<MessageRecord>> found = (*store)->list_messages(q);
  ASSERT_TRUE(found.is_ok());
  EXPECT_EQ(ids_of(*found), (std::vector<std::string>{"o-2"}));
}

// Issue 15: sixteen messages delivered by one transaction hold its receipt once, not each.
TEST(SqliteStoreTest, ATransactionsReceiptIsStoredOnceNotInEachMessageRow) {
  TempDir dir;
  const std::string path = sqlite_path(dir.path());
  Result<std::unique_ptr<Store>> store = open_sqlite_store(path);
  ASSERT_TRUE(store.is_ok());
  ASSERT_TRUE((*store)->put_line(line("to-ru", "ru-genstaff")).is_ok());
  const std::string receipt(1700, 'r');
  std::vector<Record> put;
  std::vector<Record> delivered;
  for (std::uint64_t seq = 1; seq <= 16; ++seq) {
    MessageRecord m = message("o-" + std::to_string(seq), "to-ru", seq, Direction::kOutbound,
                              at(static_cast<std::int64_t>(seq)));
    m.tx = "tx-1";
    put.push_back(PutMessage{m});
    UpdateMessage u;
    u.id = m.id;
    u.state = MessageState::kDelivered;
    u.delivered_at = at(100);
    u.receipt = receipt;
    u.tx = "tx-1";
    delivered.push_back(u);
  }
  ASSERT_TRUE((*store)->apply(put).is_ok());
  ASSERT_TRUE((*store)->apply(delivered).is_ok());
  EXPECT_EQ(raw_sql(path, "SELECT COUNT(*) || ' ' || SUM(LENGTH(receipt)) FROM receipts"),
            "1 1700");
  EXPECT_EQ(raw_sql(path, "SELECT COUNT(*) FROM message_receipts"), "0");
  EXPECT_EQ(raw_sql(path, "SELECT COUNT(*) FROM messages WHERE receipted = 1 AND tx = 'tx-1'"),
            "16");
  EXPECT_EQ((*(*store)->get_message("o-16"))->receipt, receipt);
}

// Migration 17: the receipts of a schema-16 store move out of its rows, one per transaction;
// a row whose receipt differs from its transaction's, or that has no tx, keeps its own.
TEST(SqliteStoreTest, SchemaSixteenStoreIsMigratedToKeepEachReceiptOnce) {
  TempDir dir;
  const std::string path = sqlite_path(dir.path());
  {
    Result<std::unique_ptr<Store>> store = open_sqlite_store(path);
    ASSERT_TRUE(store.is_ok());
    ASSERT_TRUE((*store)->put_line(line("to-ru", "ru-genstaff")).is_ok());
    std::vector<Record> put;
    for (std::uint64_t seq = 1; seq <= 6; ++seq) {
      put.push_back(PutMessage{message("o-" + std::to_string(seq), "to-ru", seq,
                                       Direction::kOutbound, at(static_cast<std::int64_t>(seq)))});
    }
    ASSERT_TRUE((*store)->apply(put).is_ok());
  }
  // Back to schema 16, with what old rows can hold: o-1 .. o-3 of one transaction, o-3 with
  // another text (a receipt v1 before the transcript, say), o-4 a receipt without a tx, o-5
  // not receipted but carried, o-6 of another transaction.
  raw_sql(path, std::string(kBeforeReceipts) +
                    "UPDATE messages SET tx = 'tx-a', receipt = 'ra' WHERE id IN ('o-1', 'o-2'); "
                    "UPDATE messages SET tx = 'tx-a', receipt = 'ra-v1' WHERE id = 'o-3'; "
                    "UPDATE messages SET receipt = 'r4' WHERE id = 'o-4'; "
                    "UPDATE messages SET tx = 'tx-b' WHERE id = 'o-5'; "
                    "UPDATE messages SET tx = 'tx-c', receipt = 'rc' WHERE id = 'o-6'; "
                    "UPDATE parley_schema SET version = 16");
  ASSERT_EQ(raw_sql(path, "SELECT version FROM parley_schema"), "16");
  ASSERT_EQ(raw_sql(path, "SELECT COUNT(receipt) FROM messages"), "5");

  Result<std::unique_ptr<Store>> store = open_sqlite_store(path);
  ASSERT_TRUE(store.is_ok()) << store.status().to_string();
  EXPECT_EQ(raw_sql(path, "SELECT version FROM parley_schema"), current_schema_version());
  EXPECT_EQ(raw_sql(path,
                    "SELECT COUNT(*) FROM pragma_table_info('messages') WHERE name = "
                    "'receipt'"),
            "0");
  EXPECT_EQ(raw_sql(path,
                    "SELECT group_concat(tx || ':' || receipt, ',') FROM "
                    "(SELECT tx, receipt FROM receipts ORDER BY tx)"),
            "tx-a:ra,tx-c:rc");
  EXPECT_EQ(raw_sql(path,
                    "SELECT group_concat(id || ':' || receipt, ',') FROM "
                    "(SELECT id, receipt FROM message_receipts ORDER BY id)"),
            "o-3:ra-v1,o-4:r4");
  const std::vector<std::optional<std::string>> want = {"ra", "ra",         "ra-v1",
                                                        "r4", std::nullopt, "rc"};
  for (std::size_t i = 0; i < want.size(); ++i) {
    const std::string id = "o-" + std::to_string(i + 1);
    EXPECT_EQ((*(*store)->get_message(id))->receipt, want[i]) << id;
  }
  Result<core::Recovered> recovered = (*store)->recover("ru-genstaff");
  ASSERT_TRUE(recovered.is_ok()) << recovered.status().to_string();
  EXPECT_EQ(ids_of(recovered->unreceipted), (std::vector<std::string>{"o-5"}));
  // The receipt of o-5's transaction, stored once, and o-5 reads it.
  UpdateMessage delivered;
  delivered.id = "o-5";
  delivered.state = MessageState::kDelivered;
  delivered.receipt = "rb";
  ASSERT_TRUE((*store)->apply({delivered}).is_ok());
  EXPECT_EQ((*(*store)->get_message("o-5"))->receipt, "rb");
  EXPECT_EQ(raw_sql(path, "SELECT COUNT(*) FROM receipts"), "3");
}

TEST(SqliteStoreTest, RecoverQueriesReadThePendingRowsThroughIndexesNotAScan) {
  TempDir dir;
  const std::string path = sqlite_path(dir.path());
  ASSERT_TRUE(open_sqlite_store(path).is_ok());
  // What SQLite plans for the shapes Store::recover uses. A SCAN of messages (the table)
  // would read the history.
  const auto plan = [&path](const std::string& sql) {
    std::string all;
    sqlite3* db = nullptr;
    EXPECT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    sqlite3_exec(
        db, ("EXPLAIN QUERY PLAN " + sql).c_str(),
        [](void* result, int columns, char** values, char**) {
          auto* text = static_cast<std::string*>(result);
          if (columns >= 4 && values[3] != nullptr) *text += std::string(values[3]) + "\n";
          return 0;
        },
        &all, nullptr);
    sqlite3_close(db);
    return all;
  };
  const std::string mine =
      "(peer = 'p' OR line IN (SELECT id FROM lines WHERE remote_party = 'p'))";
  const std::string unreceipted = plan(
      "SELECT id FROM messages INDEXED BY messages_unreceipted WHERE direction = "
      "'outbound' AND receipted = 0 AND " +
      mine);
  EXPECT_NE(unreceipted.find("messages_unreceipted"), std::string::npos) << unreceipted;
  // A message's receipt is read by its transaction's key, not by a scan of the receipts.
  const std::string receipt =
      plan(std::string("SELECT ") + columns::kMessageSelect + " FROM messages WHERE id = 'x'");
  EXPECT_NE(receipt.find("SEARCH receipts USING INDEX"), std::string::npos) << receipt;
  EXPECT_EQ(receipt.find("SCAN receipts"), std::string::npos) << receipt;
  const std::string unacknowledged = plan(
      "SELECT id FROM messages INDEXED BY messages_unacknowledged WHERE direction = "
      "'outbound' AND needs_ack = 1 AND acknowledged_at IS NULL AND state NOT IN ('expired', "
      "'refused', 'cancelled') AND " +
      mine);
  EXPECT_NE(unacknowledged.find("messages_unacknowledged"), std::string::npos) << unacknowledged;
  const std::string highest =
      plan("SELECT MAX(seq) FROM messages WHERE line = 'l' AND direction = 'outbound'");
  EXPECT_NE(highest.find("USING COVERING INDEX"), std::string::npos) << highest;
  const std::string of_peer = plan(
      "SELECT COUNT(*), MAX(seq), MIN(seq) FROM messages WHERE line = 'l' AND direction = "
      "'inbound' AND peer = 'p'");
  EXPECT_NE(of_peer.find("COVERING INDEX messages_by_peer_line"), std::string::npos) << of_peer;
  const std::string lines = plan("SELECT MIN(line) FROM messages WHERE peer = 'p' AND line > 'l'");
  EXPECT_NE(lines.find("messages_by_peer_line"), std::string::npos) << lines;
  // The meeting steps of a line (Driver::meetings_of: list_messages with lines and types), at
  // start and after every meeting step: by the type index, not a scan.
  const std::string steps = plan(
      "SELECT id FROM messages WHERE 1 AND line IN (SELECT value FROM json_each('[\"l\"]')) "
      "AND type IN (SELECT value FROM json_each('[\"meeting.propose\", \"meeting.sign\"]')) "
      "ORDER BY created DESC, seq DESC, id DESC LIMIT 100000");
  EXPECT_NE(steps.find("USING INDEX messages_by_type_line"), std::string::npos) << steps;
  // The last automatic line test at every start (store/node_recovery.h recover_line_tests:
  // direction, one line, one type): by the type index on all three, not by the walk of the
  // line's outbound messages (direction, line, created), which read every one of them.
  const std::string tests = plan(
      "SELECT id FROM messages WHERE 1 AND direction = 'outbound' AND line IN (SELECT value "
      "FROM json_each('[\"l\"]')) AND type IN (SELECT value FROM json_each('[\"test\"]')) "
      "ORDER BY created DESC, seq DESC, id DESC LIMIT 64");
  EXPECT_NE(tests.find("INDEX messages_by_type_line (type=? AND line=? AND direction=?)"),
            std::string::npos)
      << tests;
}

TEST(SqliteStoreTest, FileThatIsNotSqliteIsRefusedAsDataLoss) {
  TempDir dir;
  const std::string path = sqlite_path(dir.path());
  {
    std::ofstream file(path, std::ios::binary);
    for (int i = 0; i < 100; ++i) file << "this is a text file, not a database\n";
  }
  Result<std::unique_ptr<Store>> store = open_sqlite_store(path);
  ASSERT_FALSE(store.is_ok());
  EXPECT_EQ(store.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(store.status().message().find("not a SQLite database"), std::string::npos)
      << store.status().message();
  EXPECT_NE(store.status().message().find(path), std::string::npos);
}

// ---- Encryption at rest (SQLCipher) ----

// Every file of the store (the database, its WAL) as bytes.
std::string file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Whether `needle` occurs in the store's file or its WAL.
bool store_files_contain(const std::string& path, const std::string& needle) {
  for (const char* suffix : {"", "-wal"}) {
    if (file_bytes(path + suffix).find(needle) != std::string::npos) return true;
  }
  return false;
}

Bytes store_key(std::uint8_t fill) { return Bytes(kStoreKeySize, fill); }

SqliteOptions keyed(std::uint8_t fill) {
  SqliteOptions options;
  options.key = store_key(fill);
  return options;
}

// A message whose text and body are easy to find in a file.
MessageRecord secret_message(const std::string& id, std::uint64_t seq) {
  MessageRecord m = message(id, "saceur-cgs", seq, Direction::kOutbound, at(1));
  m.content = {R"({"note":"BODY-MARKER-7f3a"})", "TEXT-MARKER-c41e launch window"};
  return m;
}

TEST(SqliteStoreEncryptionTest, AnEncryptedStoreHoldsNoPlaintextOnDiskAndReadsBack) {
  TempDir dir;
  const std::string path = sqlite_path(dir.path());
  {
    auto store = open_sqlite_store(path, keyed(0x11));
    ASSERT_TRUE(store.is_ok()) << store.status().to_string();
    ASSERT_TRUE((*store)->apply({PutMessage{secret_message("m-1", 1)}}).is_ok());
    // While it is open (the commit is in the WAL) and after it is closed (checkpointed).
    EXPECT_FALSE(store_files_contain(path, "TEXT-MARKER-c41e"));
    EXPECT_FALSE(store_files_contain(path, "BODY-MARKER-7f3a"));
  }
  EXPECT_FALSE(store_files_contain(path, "TEXT-MARKER-c41e"));
  EXPECT_FALSE(store_files_contain(path, "BODY-MARKER-7f3a"));
  EXPECT_FALSE(store_files_contain(path, "SQLite format 3"));
  EXPECT_FALSE(store_files_contain(path, "saceur-cgs"));
  auto store = open_sqlite_store(path, keyed(0x11));
  ASSERT_TRUE(store.is_ok()) << store.status().to_string();
  auto m = (*store)->get_message("m-1");
  ASSERT_TRUE(m.is_ok() && m->has_value());
  EXPECT_EQ((*m)->content.text, "TEXT-MARKER-c41e launch window");
  // Found by search: the full-text index is inside the encrypted file too.
  MessageQuery query;
  query.words = {"launch"};
  EXPECT_EQ(ids_of(*(*store)->list_messages(query)), std::vector<std::string>{"m-1"});
}

TEST(SqliteStoreEncryptionTest, WithoutAKeyAPlaintextStoreShowsItsMessages) {
  // The contrast that makes the test above mean something: the marker is found unencrypted.
  TempDir dir;
  const std::string path = sqlite_path(dir.path());
  {
    auto store = open_sqlite_store(path);
    ASSERT_TRUE(store.is_ok());
    ASSERT_TRUE((*store)->apply({PutMessage{secret_message("m-1", 1)}}).is_ok());
  }
  EXPECT_TRUE(store_files_contain(path, "TEXT-MARKER-c41e"));
}

TEST(SqliteStoreEncryptionTest, AWrongKeyIsRefusedAndLeavesTheStoreAsItWas) {
  TempDir dir;
  const std::string path = sqlite_path(dir.path());
  {
    auto store = open_sqlite_store(path, keyed(0x11));
    ASSERT_TRUE(store.is_ok());
    ASSERT_TRUE((*store)->apply({PutMessage{secret_message("m-1", 1)}}).is_ok());
  }
  const std::string before = file_bytes(path);
  auto wrong = open_sqlite_store(path, keyed(0x12));
  ASSERT_FALSE(wrong.is_ok());
  EXPECT_EQ(wrong.status().code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(wrong.status().message(), "the store key does not open " + path);
  EXPECT_EQ(file_bytes(path), before);
  // No key at all: the file is not readable as SQLite.
  auto none = open_sqlite_store(path);
  ASSERT_FALSE(none.is_ok());
  EXPECT_EQ(none.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(none.status().message().find("encrypted and no store key"), std::string::npos)
      << none.status().message();
  EXPECT_EQ(file_bytes(path), before);
  // The right key still opens it, with its message.
  auto right = open_sqlite_store(path, keyed(0x11));
  ASSERT_TRUE(right.is_ok()) << right.status().to_string();
  EXPECT_TRUE((*right)->get_message("m-1")->has_value());
}

TEST(SqliteStoreEncryptionTest, AKeyForAPlaintextStoreIsRefusedNamingTheConversion) {
  TempDir dir;
  const std::string path = sqlite_path(dir.path());
  ASSERT_TRUE(open_sqlite_store(path).is_ok());
  auto store = open_sqlite_store(path, keyed(0x11));
  ASSERT_FALSE(store.is_ok());
  EXPECT_EQ(store.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(store.status().message().find("parley store encrypt"), std::string::npos)
      << store.status().message();
  EXPECT_TRUE(open_sqlite_store(path).is_ok());  // still a plaintext store
}

TEST(SqliteStoreEncryptionTest, AKeyOfTheWrongSizeIsRefused) {
  TempDir dir;
  SqliteOptions options;
  options.key = Bytes(16, 1);
  auto store = open_sqlite_store(sqlite_path(dir.path()), options);
  ASSERT_FALSE(store.is_ok());
  EXPECT_EQ(store.status().code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(fs::exists(sqlite_path(dir.path())));
}

TEST(SqliteStoreEncryptionTest, APlaintextStoreIsExportedEncryptedWithEverything) {
  TempDir dir;
  const std::string plain = sqlite_path(dir.path());
  const std::string encrypted = (dir.path() / "encrypted.db").string();
  {
    auto store = open_sqlite_store(plain);
    ASSERT_TRUE(store.is_ok());
    ASSERT_TRUE((*store)->apply({PutMessage{secret_message("m-1", 1)}}).is_ok());
    ASSERT_TRUE((*store)->apply({PutMessage{test::every_field_set()}}).is_ok());
    // Exported while the store is open (a committed write still in the WAL).
    Status exported = export_sqlite_store(plain, {}, encrypted, store_key(0x21));
    ASSERT_TRUE(exported.is_ok()) << exported.to_string();
  }
  EXPECT_FALSE(store_files_contain(encrypted, "TEXT-MARKER-c41e"));
  EXPECT_FALSE(store_files_contain(encrypted, "SQLite format 3"));
  auto store = open_sqlite_store(encrypted, keyed(0x21));
  ASSERT_TRUE(store.is_ok()) << store.status().to_string();
  EXPECT_EQ(raw_sql(plain, "SELECT version FROM parley_schema"), current_schema_version());
  test::expect_same(test::every_field_set(),
                    *(*store)->get_message(test::every_field_set().id).value());
  MessageQuery query;
  query.words = {"launch"};
  EXPECT_EQ(ids_of(*(*store)->list_messages(query)), std::vector<std::string>{"m-1"});
  EXPECT_FALSE(open_sqlite_store(encrypted, keyed(0x22)).is_ok());
}

TEST(SqliteStoreEncryptionTest, AnEncryptedStoreIsCopiedEncryptedWithTheSameKey) {
  // What a backup of an encrypted store does: the copy opens with the key, and only with it.
  TempDir dir;
  const std::string path = sqlite_path(dir.path());
  const std::string copy = (dir.path() / "backup.db").string();
  auto store = open_sqlite_store(path, keyed(0x31));
  ASSERT_TRUE(store.is_ok());
  ASSERT_TRUE((*store)->apply({PutMessage{secret_message("m-1", 1)}}).is_ok());
  Status exported = export_sqlite_store(path, store_key(0x31), copy, store_key(0x31));
  ASSERT_TRUE(exported.is_ok()) << exported.to_string();
  EXPECT_FALSE(store_files_contain(copy, "TEXT-MARKER-c41e"));
  auto opened = open_sqlite_store(copy, keyed(0x31));
  ASSERT_TRUE(opened.is_ok()) << opened.status().to_string();
  EXPECT_TRUE((*opened)->get_message("m-1")->has_value());
  EXPECT_EQ(open_sqlite_store(copy).status().code(), StatusCode::kDataLoss);
}

TEST(SqliteStoreEncryptionTest, ExportRefusesAnExistingTargetAWrongKeyAndAForeignFile) {
  TempDir dir;
  const std::string path = sqlite_path(dir.path());
  const std::string target = (dir.path() / "target.db").string();
  ASSERT_TRUE(open_sqlite_store(path, keyed(0x41)).is_ok());
  // A wrong source key: nothing is left behind.
  Status wrong = export_sqlite_store(path, store_key(0x42), target, store_key(0x41));
  EXPECT_EQ(wrong.code(), StatusCode::kPermissionDenied) << wrong.to_string();
  EXPECT_FALSE(fs::exists(target));
  // An existing target is never overwritten.
  { std::ofstream(target) << "keep me"; }
  EXPECT_EQ(export_sqlite_store(path, store_key(0x41), target, store_key(0x41)).code(),
            StatusCode::kAlreadyExists);
  EXPECT_EQ(file_bytes(target), "keep me");
  // A SQLite file that is not a parley store.
  const std::string other = (dir.path() / "other.db").string();
  raw_sql(other, "CREATE TABLE accounts (id INTEGER)");
  const std::string target2 = (dir.path() / "target2.db").string();
  EXPECT_EQ(export_sqlite_store(other, {}, target2, store_key(0x41)).code(), StatusCode::kDataLoss);
  EXPECT_FALSE(fs::exists(target2));
}

TEST(SqliteStoreEncryptionTest, TheLinkedSqliteIsSqlcipher) {
  // One SQLite in the program, and it is SQLCipher (CMakeLists.txt): plain SQLite would
  // ignore PRAGMA key and write every message in plaintext.
  EXPECT_FALSE(raw_sql(":memory:", "PRAGMA cipher_version").empty());
}

TEST(SqliteStoreTest, SqliteDatabaseOfAnotherProgramIsRefusedAsNotAParleyStore) {
  TempDir dir;
  const std::string path = sqlite_path(dir.path());
  raw_sql(path, "CREATE TABLE accounts (id INTEGER)");
  Result<std::unique_ptr<Store>> store = open_sqlite_store(path);
  ASSERT_FALSE(store.is_ok());
  EXPECT_EQ(store.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(store.status().message().find("not a parley store"), std::string::npos)
      << store.status().message();
  // And it is left as it was.
  EXPECT_EQ(raw_sql(path, "PRAGMA journal_mode"), "delete");
}

TEST(SqliteStoreTest, SchemaThreeStoreIsMigratedToHoldRefusals) {
  TempDir dir;
  const std::string path = sqlite_path(dir.path());
  {
    Result<std::unique_ptr<Store>> store = open_sqlite_store(path);
    ASSERT_TRUE(store.is_ok());
    ASSERT_TRUE((*store)->put_line(line("to-ru", "ru-genstaff")).is_ok());
    MessageRecord pending = message("o-1", "to-ru", 1, Direction::kOutbound, at(0));
    ASSERT_TRUE((*store)->apply({PutMessage{pending}}).is_ok());
  }
  // Back to what a schema-3 store holds: the messages table without 'refused' or refusal.
  raw_sql(
      path,
      std::string(kBeforeReceipts) +
          "ALTER TABLE principals DROP COLUMN token_expires; "
          "ALTER TABLE principals DROP COLUMN revoked_at; DROP TABLE roster; "
          "DROP TABLE directory_changes; DROP TABLE witnessed; DROP TABLE split_views; "
          "DROP TABLE cosignatures; DROP INDEX IF EXISTS messages_by_reply_to; "
          "DROP TABLE messages_fts; "
          "DROP INDEX IF EXISTS messages_inbound_unacknowledged; "
          "DROP TABLE lease; ALTER TABLE lines DROP COLUMN remote_alternates; "
          "CREATE TABLE m3 AS SELECT * FROM messages; DROP TABLE messages; "
          "CREATE TABLE messages (id TEXT NOT NULL UNIQUE, line TEXT NOT NULL, seq INTEGER NOT "
          "NULL, direction TEXT NOT NULL, peer TEXT NOT NULL, from_party TEXT NOT NULL, "
          "from_principal TEXT NOT NULL, to_party TEXT NOT NULL, to_principal TEXT NOT NULL, "
          "precedence TEXT NOT NULL, type TEXT NOT NULL, created INTEGER NOT NULL, expires "
          "INTEGER, reply_to TEXT, lang TEXT NOT NULL, body_json TEXT NOT NULL, text TEXT NOT "
          "NULL, salt BLOB NOT NULL, envelope TEXT NOT NULL, state TEXT NOT NULL CHECK (state IN "
          "('queued', 'sent', 'delivered', 'acknowledged', 'overdue', 'expired')), ack_deadline "
          "INTEGER NOT NULL, delivered_at INTEGER, acknowledged_at INTEGER, acknowledged_by TEXT, "
          "ack_id TEXT, receipt TEXT, tx TEXT, UNIQUE (line, direction, seq)); "
          "INSERT INTO messages SELECT id, line, seq, direction, peer, from_party, "
          "from_principal, to_party, to_principal, precedence, type, created, expires, reply_to, "
          "lang, body_json, text, salt, envelope, state, ack_deadline, delivered_at, "
          "acknowledged_at, acknowledged_by, ack_id, receipt, tx FROM m3; DROP TABLE m3; "
          "CREATE INDEX messages_by_direction_line_created ON messages (direction, line, "
          "created); CREATE INDEX messages_unreceipted ON messages (line, seq) WHERE direction = "
          "'outbound' AND receipt IS NULL; CREATE INDEX messages_unacknowledged ON messages "
          "(line, seq) WHERE direction = 'outbound' AND type != 'ack' AND acknowledged_at IS "
          "NULL AND state != 'expired'; CREATE INDEX messages_by_peer_line ON messages (peer, "
          "line, direction, seq); DROP INDEX evidence_once; ALTER TABLE evidence DROP COLUMN "
          "seen; ALTER TABLE evidence DROP COLUMN last_seen; DROP TABLE IF EXISTS events; DROP "
          "TABLE IF EXISTS forwarded_heads; DROP TABLE IF EXISTS disclosures; UPDATE "
          "parley_schema SET version = 3");
  ASSERT_EQ(raw_sql(path, "SELECT version FROM parley_schema"), "3");

  Result<std::unique_ptr<Store>> store = open_sqlite_store(path);
  ASSERT_TRUE(store.is_ok()) << store.status().to_string();
  EXPECT_EQ(raw_sql(path, "SELECT version FROM parley_schema"), current_schema_version());
  EXPECT_EQ(raw_sql(path,
                    "SELECT COUNT(*) FROM sqlite_master WHERE name IN "
                    "('messages_by_direction_line_created', 'messages_unreceipted', "
                    "'messages_unacknowledged', 'messages_by_peer_line')"),
            "4");
  Result<std::optional<MessageRecord>> kept = (*store)->get_message("o-1");
  ASSERT_TRUE(kept.is_ok() && kept->has_value());
  EXPECT_FALSE((*kept)->refusal.has_value());
  UpdateMessage refused;
  refused.id = "o-1";
  refused.state = MessageState::kRefused;
  refused.refusal = "unknown line 'to-ru'";
  ASSERT_TRUE((*store)->apply({refused}).is_ok());
  EXPECT_EQ((*(*store)->get_message("o-1"))->refusal, "unknown line 'to-ru'");
  Result<core::Recovered> recovered = (*store)->recover("ru-genstaff");
  ASSERT_TRUE(recovered.is_ok()) << recovered.status().to_string();
  EXPECT_TRUE(recovered->unacknowledged.empty());
}

TEST(SqliteStoreTest, NewerSchemaVersionIsRefusedAsDataLoss) {
  TempDir dir;
  const std::string path = sqlite_path(dir.path());
  ASSERT_TRUE(open_sqlite_store(path).is_ok());
  raw_sql(path, "UPDATE parley_schema SET version = 99");
  Result<std::unique_ptr<Store>> store = open_sqlite_store(path);
  ASSERT_FALSE(store.is_ok());
  EXPECT_EQ(store.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(store.status().message().find("schema version 99"), std::string::npos)
      << store.status().message();
  // It names the binary's version too (the one a fresh store gets), and changes nothing.
  TempDir fresh;
  ASSERT_TRUE(open_sqlite_store(sqlite_path(fresh.path())).is_ok());
  const std::string current =
      raw_sql(sqlite_path(fresh.path()), "SELECT version FROM parley_schema");
  EXPECT_NE(store.status().message().find("(" + current + ")"), std::string::npos)
      << store.status().message();
  EXPECT_EQ(raw_sql(path, "SELECT version FROM parley_schema"), "99");
}

TEST(SqliteStoreTest, PathInAMissingDirectoryIsUnavailable) {
  TempDir dir;
  Result<std::unique_ptr<Store>> store =
      open_sqlite_store((dir.path() / "missing" / "parley.db").string());
  ASSERT_FALSE(store.is_ok());
  EXPECT_EQ(store.status().code(), StatusCode::kUnavailable);
}

TEST(SqliteStoreTest, CorruptStoredStateIsDataLossNotACrash) {
  TempDir dir;
  const std::string path = sqlite_path(dir.path());
  {
    auto store = open_sqlite_store(path);
    ASSERT_TRUE(store.is_ok());
    ASSERT_TRUE((*store)->put_line(line("l", "ru-genstaff")).is_ok());
  }
  raw_sql(path, "UPDATE lines SET alternates = '{not json'");
  auto store = open_sqlite_store(path);
  ASSERT_TRUE(store.is_ok());
  auto lines = (*store)->lines();
  ASSERT_FALSE(lines.is_ok());
  EXPECT_EQ(lines.status().code(), StatusCode::kDataLoss);
}

bool read_full(int fd, void* data, std::size_t size) {
  auto* p = static_cast<char*>(data);
  while (size > 0) {
    const ssize_t n = ::read(fd, p, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    p += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

std::string crash_id(int round, std::uint64_t i) {
  // Appended, not "r" + ...: GCC 12 at -O3 warns -Wrestrict on the operator+ of a literal.
  std::string id = "r";
  id += std::to_string(round);
  id += '-';
  id += std::to_string(i);
  return id;
}

// The child: applies batches (put message i, mark i-1 sent) and reports each OK apply.
[[noreturn]] void apply_until_killed(const std::string& path, int round, int report_fd) {
  auto store = open_sqlite_store(path);
  if (!store.is_ok()) ::_exit(2);
  for (std::uint64_t i = 1; i < 1'000'000; ++i) {
    std::vector<Record> batch;
    batch.push_back(PutMessage{message(crash_id(round, i), "round-" + std::to_string(round), i,
                                       Direction::kOutbound, at(static_cast<std::int64_t>(i)))});
    if (i > 1) {
      UpdateMessage sent;
      sent.id = crash_id(round, i - 1);
      sent.state = MessageState::kSent;
      sent.tx = "tx-" + std::to_string(i);
      batch.emplace_back(sent);
    }
    if (!(*store)->apply(batch).is_ok()) ::_exit(3);
    if (::write(report_fd, &i, sizeof i) != static_cast<ssize_t>(sizeof i)) ::_exit(4);
  }
  ::_exit(0);
}

TEST(SqliteStoreCrashTest, EveryApplyReportedBeforeSigkillSurvivesIt) {
  const char* env_seed = std::getenv("PARLEY_SEED");
  const std::uint64_t seed =
      env_seed != nullptr ? std::strtoull(env_seed, nullptr, 10) : std::random_device()();
  SCOPED_TRACE("reproduce: PARLEY_SEED=" + std::to_string(seed));
  std::mt19937_64 random(seed);

  TempDir dir;
  const std::string path = sqlite_path(dir.path());
  ASSERT_TRUE(open_sqlite_store(path).is_ok());  // created (and closed) before forking

  for (int round = 0; round < 3; ++round) {
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::close(fds[0]);
      apply_until_killed(path, round, fds[1]);
    }
    ::close(fds[1]);
    const std::uint64_t kill_after = 20 + random() % 40;
    std::uint64_t reported = 0;
    std::uint64_t value = 0;
    while (reported < kill_after && read_full(fds[0], &value, sizeof value)) reported = value;
    ::kill(pid, SIGKILL);
    int wait_status = 0;
    ::waitpid(pid, &wait_status, 0);
    // Reports written before the kill still count.
    while (read_full(fds[0], &value, sizeof value)) reported = value;
    ::close(fds[0]);
    ASSERT_TRUE(WIFSIGNALED(wait_status))
        << "the child stopped on its own, exit code " << WEXITSTATUS(wait_status);
    ASSERT_GE(reported, 20U);

    EXPECT_EQ(raw_sql(path, "PRAGMA integrity_check"), "ok") << "round " << round;
    auto store = open_sqlite_store(path);
    ASSERT_TRUE(store.is_ok()) << store.status().to_string();
    MessageQuery query;
    query.lines = {"round-" + std::to_string(round)};
    query.limit = 1'000'000;
    auto stored = (*store)->list_messages(query);
    ASSERT_TRUE(stored.is_ok());
    // Everything reported, plus at most the one apply that committed but was not reported.
    EXPECT_GE(stored->size(), reported) << "round " << round;
    EXPECT_LE(stored->size(), reported + 1) << "round " << round;
    for (std::uint64_t i = 1; i <= reported; ++i) {
      auto m = (*store)->get_message(crash_id(round, i));
      ASSERT_TRUE(m.is_ok());
      ASSERT_TRUE(m->has_value()) << "round " << round << ": lost reported message " << i;
      if (i < reported) {
        EXPECT_EQ((*m)->state, MessageState::kSent) << "round " << round << ", message " << i;
        EXPECT_EQ((*m)->tx, "tx-" + std::to_string(i + 1));
      }
    }
  }
}

}  // namespace
}  // namespace parley::store
