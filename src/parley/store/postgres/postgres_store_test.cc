// The PostgreSQL-specific tests of the PostgreSQL store, against a real server
// (pg_test_server.h): schema migrations from an old version, a newer schema refused and left
// untouched, URLs that are malformed or unreachable, a database that is not a parley store,
// and values PostgreSQL cannot hold. The contract of store.h is the conformance suite's.
#include "parley/store/postgres/postgres_store.h"

#include <memory>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "parley/store/postgres/pg_test_server.h"
#include "parley/store/search.h"
#include "parley/store/store_test_util.h"

namespace parley::store {
namespace {

using core::Direction;
using core::MessageRecord;
using core::MessageState;
using core::PutMessage;
using core::UpdateMessage;
using test::at;
using test::message;
using test::postgres_sql;
using ::testing::HasSubstr;

std::string fresh_url() {
  Result<std::string> url = test::fresh_postgres_schema();
  EXPECT_TRUE(url.is_ok()) << url.status().to_string();
  return url.is_ok() ? *url : std::string("postgresql:///unavailable");
}

std::string sql(const std::string& url, const std::string& text) {
  Result<std::string> out = postgres_sql(url, text);
  EXPECT_TRUE(out.is_ok()) << out.status().to_string();
  return out.is_ok() ? *out : std::string();
}

TEST(PostgresStoreTest, NewStoreIsAtTheNewestSchemaVersion) {
  const std::string url = fresh_url();
  ASSERT_TRUE(open_postgres_store(url).is_ok());
  EXPECT_EQ(sql(url, "SELECT version FROM parley_schema"),
            std::to_string(postgres_schema_version()));
  EXPECT_EQ(sql(url, "SELECT count(*) FROM parley_schema"), "1");
}

// A store of schema 1 (as an older parley left it, rows included) is brought to the newest
// version at open, one migration after the other, and its rows read back.
TEST(PostgresStoreTest, OldSchemaVersionMigratesAndKeepsItsRows) {
  const std::string url = fresh_url();
  ASSERT_TRUE(open_postgres_store(url, {.migrate_to_version = 1}).is_ok());
  ASSERT_EQ(sql(url, "SELECT version FROM parley_schema"), "1");
  sql(url,
      "INSERT INTO messages (id, line, seq, direction, peer, from_party, from_principal, "
      "to_party, to_principal, precedence, type, created, lang, body_json, text, salt, envelope, "
      "state, ack_deadline) VALUES ('o-1', 'to-ru', 1, 'outbound', 'ru-genstaff', 'us-eucom', "
      "'saceur', 'ru-genstaff', 'cgs', 'ROUTINE', 'text', 1, 'en', '{}', 'hi', '\\x00ff', '{}', "
      "'queued', 2)");
  ASSERT_EQ(sql(url, "SELECT to_regclass('log_entries')::text"), "");  // schema 2's table

  Result<std::unique_ptr<Store>> store = open_postgres_store(url);
  ASSERT_TRUE(store.is_ok()) << store.status().to_string();
  EXPECT_EQ(sql(url, "SELECT version FROM parley_schema"),
            std::to_string(postgres_schema_version()));
  Result<std::optional<core::MessageRecord>> kept = (*store)->get_message("o-1");
  ASSERT_TRUE(kept.is_ok()) << kept.status().to_string();
  ASSERT_TRUE(kept->has_value());
  EXPECT_EQ((*kept)->content.text, "hi");
  EXPECT_EQ((*kept)->salt, (Bytes{0x00, 0xff}));
}

// Schema 4 allows the state 'refused' (a CHECK rewritten in place) and folds repeated
// evidence into its oldest row.
TEST(PostgresStoreTest, MigrationToFourAllowsRefusedAndFoldsRepeatedEvidence) {
  const std::string url = fresh_url();
  ASSERT_TRUE(open_postgres_store(url, {.migrate_to_version = 3}).is_ok());
  sql(url,
      "INSERT INTO evidence (id, peer, kind, detail, sth_a_json, sth_b_json, at) VALUES "
      "('e-1', 'ru', 'fork', 'd', 'a', 'b', 10), ('e-2', 'ru', 'fork', 'd', 'a', 'b', 30), "
      "('e-3', 'ru', 'fork', 'd', 'a', 'b', 20)");
  Result<std::unique_ptr<Store>> store = open_postgres_store(url);
  ASSERT_TRUE(store.is_ok()) << store.status().to_string();
  Result<std::vector<core::PutEvidence>> evidence = (*store)->evidence();
  ASSERT_TRUE(evidence.is_ok());
  ASSERT_EQ(evidence->size(), 1U);
  EXPECT_EQ(evidence->front().id, "e-1");
  EXPECT_EQ(evidence->front().seen, 3U);
  ASSERT_TRUE(evidence->front().last_seen.has_value());
  EXPECT_EQ(unix_ms(*evidence->front().last_seen), 30);

  ASSERT_TRUE(
      (*store)->apply({PutMessage{message("o-1", "l", 1, Direction::kOutbound, at(0))}}).is_ok());
  UpdateMessage refused;
  refused.id = "o-1";
  refused.state = MessageState::kRefused;
  refused.refusal = "unknown line 'l'";
  ASSERT_TRUE((*store)->apply({refused}).is_ok());
  EXPECT_EQ((*(*store)->get_message("o-1"))->refusal, "unknown line 'l'");
}

// Schema 10 keeps whether a message asks for an ack: rows stored before it say what they
// meant then (every type but 'ack' does), and recovery reads the column.
TEST(PostgresStoreTest, MigrationToTenKeepsWhetherAMessageNeedsAnAck) {
  const std::string url = fresh_url();
  ASSERT_TRUE(open_postgres_store(url, {.migrate_to_version = 8}).is_ok());
  for (const char* row : {"('o-1', 1, 'text')", "('o-2', 2, 'ack')"}) {
    sql(url, std::string("INSERT INTO messages (id, seq, type, line, direction, peer, from_party, "
                         "from_principal, to_party, to_principal, precedence, created, lang, "
                         "body_json, text, salt, envelope, state, ack_deadline) SELECT v.*, "
                         "'to-ru', 'outbound', 'ru-genstaff', 'us-eucom', 'saceur', "
                         "'ru-genstaff', 'cgs', 'ROUTINE', 1, 'en', '{}', '', '\\x00', '{}', "
                         "'sent', 2 FROM (VALUES ") +
                 row + ") AS v");
  }
  Result<std::unique_ptr<Store>> store = open_postgres_store(url);
  ASSERT_TRUE(store.is_ok()) << store.status().to_string();
  EXPECT_EQ(sql(url, "SELECT string_agg(id || ':' || needs_ack, ',' ORDER BY id) FROM messages"),
            "o-1:1,o-2:0");
  Result<core::Recovered> recovered = (*store)->recover("ru-genstaff");
  ASSERT_TRUE(recovered.is_ok()) << recovered.status().to_string();
  ASSERT_EQ(recovered->unacknowledged.size(), 1U);
  EXPECT_EQ(recovered->unacknowledged[0].id, "o-1");
}

// Migration 14 allows the state 'cancelled' (a CHECK rewritten in place) with when and by
// whom, and a cancelled message awaits no ack at recovery.
TEST(PostgresStoreTest, MigrationToFourteenAllowsCancelled) {
  const std::string url = fresh_url();
  ASSERT_TRUE(open_postgres_store(url, {.migrate_to_version = 12}).is_ok());
  for (const char* row : {"('o-1', 1)", "('o-2', 2)"}) {
    sql(url, std::string("INSERT INTO messages (id, seq, type, line, direction, peer, from_party, "
                         "from_principal, to_party, to_principal, precedence, created, lang, "
                         "body_json, text, salt, envelope, state, ack_deadline) SELECT v.*, "
                         "'text', 'to-ru', 'outbound', 'ru-genstaff', 'us-eucom', 'saceur', "
                         "'ru-genstaff', 'cgs', 'ROUTINE', 1, 'en', '{}', '', '\\x00', '{}', "
                         "'queued', 2 FROM (VALUES ") +
                 row + ") AS v");
  }
  Result<std::unique_ptr<Store>> store = open_postgres_store(url);
  ASSERT_TRUE(store.is_ok()) << store.status().to_string();
  EXPECT_EQ(sql(url, "SELECT version FROM parley_schema"),
            std::to_string(postgres_schema_version()));
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
  EXPECT_EQ(sql(url, "SELECT string_agg(id || ':' || state, ',' ORDER BY id) FROM messages"),
            "o-1:queued,o-2:cancelled");
  Result<core::Recovered> recovered = (*store)->recover("ru-genstaff");
  ASSERT_TRUE(recovered.is_ok()) << recovered.status().to_string();
  ASSERT_EQ(recovered->unacknowledged.size(), 1U);
  EXPECT_EQ(recovered->unacknowledged[0].id, "o-1");
}

// Migration 15 (issue 14): a message's broadcast id. A row
// stored before it has none; one stored after is found by it.
TEST(PostgresStoreTest, MigrationToBroadcastsKeepsOldRowsWithoutOne) {
  const std::string url = fresh_url();
  ASSERT_TRUE(open_postgres_store(url, {.migrate_to_version = 14}).is_ok());
  sql(url,
      "INSERT INTO messages (id, seq, type, line, direction, peer, from_party, from_principal, "
      "to_party, to_principal, precedence, created, lang, body_json, text, salt, envelope, "
      "state, ack_deadline) VALUES ('o-1', 1, 'text', 'to-ru', 'outbound', 'ru-genstaff', "
      "'us-eucom', 'saceur', 'ru-genstaff', 'cgs', 'ROUTINE', 1, 'en', '{}', '', '\\x00', '{}', "
      "'queued', 2)");
  Result<std::unique_ptr<Store>> store = open_postgres_store(url);
  ASSERT_TRUE(store.is_ok()) << store.status().to_string();
  EXPECT_EQ(sql(url, "SELECT version FROM parley_schema"),
            std::to_string(postgres_schema_version()));
  // pg_indexes spans the database: the other tests' schemas have the index too.
  EXPECT_EQ(sql(url,
                "SELECT count(*) FROM pg_indexes WHERE indexname = 'messages_by_broadcast' AND "
                "schemaname = current_schema()"),
            "1");
  Result<std::optional<MessageRecord>> old = (*store)->get_message("o-1");
  ASSERT_TRUE(old.is_ok() && old->has_value()) << old.status().to_string();
  EXPECT_EQ((*old)->broadcast, std::nullopt);
  MessageRecord b = message("o-2", "to-ru", 2, Direction::kOutbound, at(1));
  b.broadcast = "0190a0b0-0000-7000-8000-00000000b001";
  ASSERT_TRUE((*store)->apply({PutMessage{b}}).is_ok());
  store::MessageQuery q;
  q.broadcast = b.broadcast;
  Result<std::vector<MessageRecord>> found = (*store)->list_messages(q);
  ASSERT_TRUE(found.is_ok()) << found.status().to_string();
  ASSERT_EQ(found->size(), 1U);
  EXPECT_EQ((*found)[0].id, "o-2");
}

// Migration 17 (issue 15; reserved as 18): the receipts of a schema-16 store move out of its
// rows, one per transaction; a row whose receipt differs from its transaction's (old data can
// hold that), or that has no tx, keeps its own. Each reads back what it held.
TEST(PostgresStoreTest, MigrationToReceiptsKeepsEachReceiptOnce) {
  const std::string url = fresh_url();
  ASSERT_TRUE(open_postgres_store(url, {.migrate_to_version = 16}).is_ok());
  sql(url,
      "INSERT INTO messages (id, seq, tx, receipt, type, line, direction, peer, from_party, "
      "from_principal, to_party, to_principal, precedence, created, lang, body_json, text, "
      "salt, envelope, state, ack_deadline) SELECT v.*, 'text', 'to-ru', 'outbound', "
      "'ru-genstaff', 'us-eucom', 'saceur', 'ru-genstaff', 'cgs', 'ROUTINE', 1, 'en', '{}', '', "
      "'\\x00', '{}', 'sent', 2 FROM (VALUES ('o-1', 1, 'tx-a', 'ra'), ('o-2', 2, 'tx-a', "
      "'ra'), ('o-3', 3, 'tx-a', 'ra-v1'), ('o-4', 4, NULL, 'r4'), ('o-5', 5, 'tx-b', NULL), "
      "('o-6', 6, 'tx-c', 'rc')) AS v");
  ASSERT_EQ(sql(url, "SELECT count(receipt) FROM messages"), "5");
  Result<std::unique_ptr<Store>> store = open_postgres_store(url);
  ASSERT_TRUE(store.is_ok()) << store.status().to_string();
  EXPECT_EQ(sql(url, "SELECT version FROM parley_schema"),
            std::to_string(postgres_schema_version()));
  EXPECT_EQ(sql(url,
                "SELECT count(*) FROM information_schema.columns WHERE table_schema = "
                "current_schema() AND table_name = 'messages' AND column_name = 'receipt'"),
            "0");
  EXPECT_EQ(sql(url, "SELECT string_agg(tx || ':' || receipt, ',' ORDER BY tx) FROM receipts"),
            "tx-a:ra,tx-c:rc");
  EXPECT_EQ(sql(url,
                "SELECT string_agg(id || ':' || receipt, ',' ORDER BY id) FROM "
                "message_receipts"),
            "o-3:ra-v1,o-4:r4");
  const std::vector<std::optional<std::string>> want = {"ra", "ra",         "ra-v1",
                                                        "r4", std::nullopt, "rc"};
  for (std::size_t i = 0; i < want.size(); ++i) {
    const std::string id = "o-" + std::to_string(i + 1);
    Result<std::optional<MessageRecord>> m = (*store)->get_message(id);
    ASSERT_TRUE(m.is_ok() && m->has_value()) << id;
    EXPECT_EQ((*m)->receipt, want[i]) << id;
  }
  Result<core::Recovered> recovered = (*store)->recover("ru-genstaff");
  ASSERT_TRUE(recovered.is_ok()) << recovered.status().to_string();
  ASSERT_EQ(recovered->unreceipted.size(), 1U);
  EXPECT_EQ(recovered->unreceipted[0].id, "o-5");
  UpdateMessage delivered;
  delivered.id = "o-5";
  delivered.state = MessageState::kDelivered;
  delivered.receipt = "rb";
  ASSERT_TRUE((*store)->apply({delivered}).is_ok());
  EXPECT_EQ((*(*store)->get_message("o-5"))->receipt, "rb");
  EXPECT_EQ(sql(url, "SELECT count(*) FROM receipts"), "3");
}

// Migration 11 fills search_text for the messages stored before it, so search finds them.
TEST(PostgresStoreTest, SchemaTenStoreIsMigratedAndItsMessagesAreFoundBySearch) {
  const std::string url = fresh_url();
  {
    Result<std::unique_ptr<Store>> store = open_postgres_store(url);
    ASSERT_TRUE(store.is_ok()) << store.status().to_string();
    MessageRecord m = message("m-1", "l", 1, Direction::kInbound, at(0));
    m.content = {R"({"area":{"name":"Kola Peninsula"},"list":["Murmansk"]})", "Exercise Zapad"};
    ASSERT_TRUE((*store)->apply({PutMessage{m}}).is_ok());
  }
  sql(url,
      "DROP TABLE rotations; "
      "DROP INDEX messages_search; ALTER TABLE messages DROP COLUMN search_text; "
      "DROP INDEX messages_by_type_line; DROP TABLE IF EXISTS events; DROP TABLE IF EXISTS "
      "forwarded_heads; DROP TABLE IF EXISTS disclosures; "
      "ALTER TABLE messages DROP COLUMN cancelled_at; ALTER TABLE messages DROP COLUMN "
      "cancelled_by; DROP INDEX messages_by_broadcast; ALTER TABLE messages DROP COLUMN "
      "broadcast; DROP INDEX messages_unreceipted; ALTER TABLE messages DROP COLUMN receipted; "
      "ALTER TABLE messages ADD COLUMN receipt TEXT; CREATE INDEX messages_unreceipted ON "
      "messages (line, seq) WHERE direction = 'outbound' AND receipt IS NULL; DROP TABLE "
      "receipts; DROP TABLE message_receipts; UPDATE parley_schema SET version = 10");
  Result<std::unique_ptr<Store>> store = open_postgres_store(url);
  ASSERT_TRUE(store.is_ok()) << store.status().to_string();
  EXPECT_EQ(sql(url, "SELECT version FROM parley_schema"),
            std::to_string(postgres_schema_version()));
  for (const char* words : {"zapad", "kola peninsula", "MURMANSK"}) {
    MessageQuery q;
    q.words = search_words(words);
    Result<std::vector<MessageRecord>> found = (*store)->list_messages(q);
    ASSERT_TRUE(found.is_ok()) << found.status().to_string();
    ASSERT_EQ(found->size(), 1U) << words;
    EXPECT_EQ(found->front().id, "m-1");
  }
  MessageQuery key_only;
  key_only.words = search_words("area");  // a key, not text
  EXPECT_TRUE((*(*store)->list_messages(key_only)).empty());
}

// A schema newer than this binary is refused, naming both versions, and nothing is changed.
TEST(PostgresStoreTest, NewerSchemaIsRefusedNamingBothVersionsAndLeftUntouched) {
  const std::string url = fresh_url();
  {
    Result<std::unique_ptr<Store>> store = open_postgres_store(url);
    ASSERT_TRUE(store.is_ok()) << store.status().to_string();
    ASSERT_TRUE(
        (*store)->apply({PutMessage{message("m-1", "l", 1, Direction::kOutbound, at(0))}}).is_ok());
  }
  sql(url, "UPDATE parley_schema SET version = 99; CREATE TABLE from_the_future (x INT)");
  Result<std::unique_ptr<Store>> store = open_postgres_store(url);
  ASSERT_FALSE(store.is_ok());
  EXPECT_EQ(store.status().code(), StatusCode::kDataLoss);
  EXPECT_THAT(store.status().message(), HasSubstr("schema version 99"));
  EXPECT_THAT(store.status().message(),
              HasSubstr("(" + std::to_string(postgres_schema_version()) + ")"));
  EXPECT_EQ(sql(url, "SELECT version FROM parley_schema"), "99");
  EXPECT_EQ(sql(url, "SELECT count(*) FROM messages"), "1");
  EXPECT_EQ(sql(url, "SELECT to_regclass('from_the_future')::text"), "from_the_future");
}

TEST(PostgresStoreTest, DatabaseWithOtherTablesIsNotAParleyStore) {
  const std::string url = fresh_url();
  sql(url, "CREATE TABLE payroll (id INT)");
  Result<std::unique_ptr<Store>> store = open_postgres_store(url);
  ASSERT_FALSE(store.is_ok());
  EXPECT_EQ(store.status().code(), StatusCode::kDataLoss);
  EXPECT_THAT(store.status().message(), HasSubstr("not a parley store"));
  EXPECT_EQ(sql(url, "SELECT to_regclass('parley_schema')::text"), "");
}

TEST(PostgresStoreTest, MalformedUrlIsInvalidArgument) {
  Result<std::unique_ptr<Store>> store = open_postgres_store("postgresql://%zz@/parley");
  ASSERT_FALSE(store.is_ok());
  EXPECT_EQ(store.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(store.status().message(), HasSubstr("malformed store URL"));
  EXPECT_EQ(store.status().message().find('\n'), std::string::npos);
}

TEST(PostgresStoreTest, UnreachableServerIsUnavailableOnOneLineWithoutThePassword) {
  Result<std::unique_ptr<Store>> store = open_postgres_store(
      "postgresql://parley:s3cret@/parley?host=/nonexistent-parley-socket-dir&connect_timeout=2");
  ASSERT_FALSE(store.is_ok());
  EXPECT_EQ(store.status().code(), StatusCode::kUnavailable);
  EXPECT_THAT(store.status().message(), HasSubstr("cannot connect to PostgreSQL"));
  EXPECT_THAT(store.status().message(), HasSubstr("/nonexistent-parley-socket-dir"));
  EXPECT_EQ(store.status().message().find("s3cret"), std::string::npos);
  EXPECT_EQ(store.status().message().find('\n'), std::string::npos);
}

// PostgreSQL's text cannot hold a NUL character (libpq would cut the value at it): the batch
// is refused as a value the store cannot hold, never stored truncated.
TEST(PostgresStoreTest, TextWithANulCharacterIsRefusedNotTruncated) {
  Result<std::unique_ptr<Store>> store = open_postgres_store(fresh_url());
  ASSERT_TRUE(store.is_ok()) << store.status().to_string();
  core::MessageRecord m = message("m-1", "l", 1, Direction::kInbound, at(0));
  m.content.text = std::string("before\0after", 12);
  const Status status = (*store)->apply({PutMessage{m}});
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << status.to_string();
  EXPECT_TRUE(is_batch_refusal(status));
  EXPECT_FALSE((*(*store)->get_message("m-1")).has_value());
}

// Two connections opening an empty database at once create the schema once.
TEST(PostgresStoreTest, TwoStoresOpeningOneDatabaseMigrateItOnce) {
  const std::string url = fresh_url();
  Result<std::unique_ptr<Store>> a = open_postgres_store(url);
  Result<std::unique_ptr<Store>> b = open_postgres_store(url);
  ASSERT_TRUE(a.is_ok()) << a.status().to_string();
  ASSERT_TRUE(b.is_ok()) << b.status().to_string();
  EXPECT_EQ(sql(url, "SELECT count(*) FROM parley_schema"), "1");
}

// ---- the lease of standby gateways (lease.cc) ----

constexpr Duration kTtl = std::chrono::seconds(30);

std::unique_ptr<Store> open_or_fail(const std::string& url) {
  Result<std::unique_ptr<Store>> store = open_postgres_store(url);
  EXPECT_TRUE(store.is_ok()) << store.status().to_string();
  return store.is_ok() ? std::move(*store) : nullptr;
}

// Expires the current lease without waiting for it (the database's clock decides).
void expire_lease(const std::string& url) {
  sql(url, "UPDATE lease SET expires = clock_timestamp() - interval '1 second'");
}

TEST(PostgresLeaseTest, OneHolderAtATimeAndATakeoverBumpsTheEpoch) {
  const std::string url = fresh_url();
  std::unique_ptr<Store> a = open_or_fail(url);
  std::unique_ptr<Store> b = open_or_fail(url);
  ASSERT_TRUE(a && b);
  EXPECT_TRUE(a->shared());
  Result<std::optional<std::uint64_t>> taken = a->take_lease("a", kTtl);
  ASSERT_TRUE(taken.is_ok()) << taken.status().to_string();
  ASSERT_EQ(*taken, std::optional<std::uint64_t>(1));
  EXPECT_EQ(*b->take_lease("b", kTtl), std::nullopt);  // a's lease is current
  EXPECT_TRUE(*a->renew_lease("a", 1, kTtl));

  expire_lease(url);
  EXPECT_TRUE(*a->renew_lease("a", 1, kTtl));  // expired, but nobody took it: still a's
  expire_lease(url);
  EXPECT_EQ(*b->take_lease("b", kTtl), std::optional<std::uint64_t>(2));
  EXPECT_FALSE(*a->renew_lease("a", 1, kTtl));  // deposed
  EXPECT_EQ(sql(url, "SELECT holder || ' ' || epoch FROM lease"), "b 2");
}

TEST(PostgresLeaseTest, AReleasedLeaseIsTakenAtOnce) {
  const std::string url = fresh_url();
  std::unique_ptr<Store> a = open_or_fail(url);
  std::unique_ptr<Store> b = open_or_fail(url);
  ASSERT_TRUE(a && b);
  ASSERT_EQ(*a->take_lease("a", kTtl), std::optional<std::uint64_t>(1));
  ASSERT_TRUE(a->release_lease("a", 1).is_ok());
  EXPECT_EQ(*b->take_lease("b", kTtl), std::optional<std::uint64_t>(2));
  ASSERT_TRUE(a->release_lease("a", 1).is_ok());  // no longer a's: changes nothing
  EXPECT_EQ(*a->take_lease("a", kTtl), std::nullopt);
}

// A deposed active (paused past its lease while another took over) writes nothing: neither a
// single batch nor a group commit, and the refusal is a fencing one (the gateway steps down).
TEST(PostgresLeaseTest, AFencedStoreWritesNothingOnceAnotherHolderTookTheLease) {
  const std::string url = fresh_url();
  std::unique_ptr<Store> a = open_or_fail(url);
  std::unique_ptr<Store> b = open_or_fail(url);
  ASSERT_TRUE(a && b);
  ASSERT_EQ(*a->take_lease("a", kTtl), std::optional<std::uint64_t>(1));
  a->fence(1);
  ASSERT_TRUE(a->apply({PutMessage{message("m-1", "l", 1, Direction::kOutbound, at(0))}}).is_ok());

  expire_lease(url);
  ASSERT_EQ(*b->take_lease("b", kTtl), std::optional<std::uint64_t>(2));
  const Status single = a->apply({PutMessage{message("m-2", "l", 2, Direction::kOutbound, at(1))}});
  EXPECT_TRUE(is_fenced(single)) << single.to_string();
  EXPECT_FALSE(is_batch_refusal(single));
  EXPECT_THAT(single.message(), HasSubstr("epoch 2 (held by b)"));
  const std::vector<core::Record> one = {
      PutMessage{message("m-3", "l", 3, Direction::kOutbound, at(2))}};
  const std::vector<core::Record> two = {
      PutMessage{message("m-4", "l", 4, Direction::kOutbound, at(3))}};
  const Result<std::vector<Status>> group = a->apply_group({&one, &two});
  ASSERT_FALSE(group.is_ok());
  EXPECT_TRUE(is_fenced(group.status())) << group.status().to_string();
  EXPECT_EQ(sql(url, "SELECT string_agg(id, ',' ORDER BY id) FROM messages"), "m-1");

  b->fence(2);  // the new active writes as before
  EXPECT_TRUE(b->apply({PutMessage{message("m-5", "l", 5, Direction::kOutbound, at(4))}}).is_ok());
}

}  // namespace
}  // namespace parley::store
