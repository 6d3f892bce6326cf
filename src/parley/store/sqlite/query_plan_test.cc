// Every statement the SQLite store prepares is served by an index (issue 15): after a
// workload that calls each of its reads and writes, SQLite plans every cached statement and
// none reads the whole of messages, log_entries or heads, which grow with the store. A scan of
// a partial index of the pending messages (schema 3) reads only what is pending, and a walk of
// messages_by_created in the listing's order stops at the page: both are allowed.
#include <sqlite3.h>

#include <cstdint>
#include <regex>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "parley/store/search.h"
#include "parley/store/sqlite/internal.h"
#include "parley/store/sqlite/sqlite_store.h"
#include "parley/store/store.h"
#include "parley/store/store_test_util.h"

namespace parley::store {
namespace {

using core::Direction;
using test::at;
using test::sqlite_path;
using test::TempDir;

// SQLite's plan of `sql` (EXPLAIN QUERY PLAN), one line per step.
std::vector<std::string> plan(sqlite3* db, const std::string& sql) {
  std::vector<std::string> steps;
  sqlite3_stmt* stmt = nullptr;
  const std::string explain = "EXPLAIN QUERY PLAN " + sql;
  if (sqlite3_prepare_v2(db, explain.c_str(), -1, &stmt, nullptr) != SQLITE_OK) {
    ADD_FAILURE() << sqlite3_errmsg(db) << ": " << sql;
    sqlite3_finalize(stmt);
    return steps;
  }
  while (sqlite3_step(stmt) == SQLITE_ROW) {
    steps.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 3)));
  }
  sqlite3_finalize(stmt);
  return steps;
}

// Calls every read and write of the store that prepares a statement on messages, the
// transcript or the search index, with the filters list_messages combines.
void workload(Store& store) {
  ASSERT_TRUE(store.put_line(test::line("to-ru", "ru-genstaff")).is_ok());
  core::MessageRecord out = test::message("o-1", "to-ru", 1, Direction::kOutbound, at(1));
  out.reply_to = "i-1";
  out.broadcast = "b-1";
  ASSERT_TRUE(store.apply({core::PutMessage{out}}).is_ok());
  test::put_inbound(store, "to-ru", {1, 2});
  ASSERT_TRUE(store
                  .apply({test::entry("us-eucom", "ru-genstaff", 0, "o-1"),
                          test::head("us-eucom", "ru-genstaff", 1),
                          core::PutInclusion{"o-1", 0, 1, test::hash_of(1), {}},
                          core::PutEvidence{"e-1", "ru-genstaff", "fork", "d", "a", "b", at(3),
                                            std::nullopt, 1}})
                  .is_ok());
  core::UpdateMessage receipted;
  receipted.id = "o-1";
  receipted.state = core::MessageState::kDelivered;
  receipted.tx = "tx-1";
  receipted.receipt = "r";
  ASSERT_TRUE(store.apply({receipted}).is_ok());
  core::UpdateMessage own;  // a receipt without a tx
  own.id = "to-ru-1";
  own.state = core::MessageState::kDelivered;
  own.receipt = "r2";
  ASSERT_TRUE(store.apply({own}).is_ok());
  ASSERT_TRUE(store.get_message("o-1").is_ok());
  ASSERT_TRUE(store.replies_to({"i-1"}).is_ok());
  ASSERT_TRUE(store.recover("ru-genstaff").is_ok());
  ASSERT_TRUE(store.inclusion("o-1").is_ok());
  ASSERT_TRUE(store.log_entries("us-eucom", "ru-genstaff", 0, 10).is_ok());
  ASSERT_TRUE(store.heads("us-eucom", "ru-genstaff").is_ok());
  ASSERT_TRUE(store.evidence().is_ok());
  std::vector<EventRecord> events{EventRecord{0, at(4), "message", "{}", "to-ru", "", {}, false}};
  ASSERT_TRUE(store.append_events(events).is_ok());
  ASSERT_TRUE(store.events_after(0, 10).is_ok());

  MessageQuery all;
  std::vector<MessageQuery> queries{all};
  MessageQuery q = all;
  q.direction = Direction::kInbound;
  q.lines = {"to-ru"};
  queries.push_back(q);
  q.after = MessageKey{core::Precedence::kFlash, at(2), 2, "to-ru-2"};
  queries.push_back(q);
  q = all;
  q.lines = {"to-ru"};
  q.types = {"meeting.propose", "meeting.sign"};
  queries.push_back(q);
  q = all;
  q.direction = Direction::kOutbound;
  q.lines = {"to-ru"};
  q.order = MessageOrder::kPrecedence;
  q.after = MessageKey{core::Precedence::kFlash, at(2), 2, "o-1"};
  queries.push_back(q);
  q = all;
  q.broadcast = "b-1";
  queries.push_back(q);
  q = all;
  q.words = search_words("text");
  queries.push_back(q);
  q = all;
  q.id_prefix = "o-";
  queries.push_back(q);
  q = all;
  q.direction = Direction::kOutbound;
  q.lines = {"to-ru"};
  q.since = at(0);
  q.until = at(10);
  q.state = core::MessageState::kDelivered;
  q.precedence = core::Precedence::kFlash;
  q.from = wire::Address{"us-eucom", "saceur"};
  q.include_refused_inbound = false;
  queries.push_back(q);
  for (const MessageQuery& query : queries) {
    Result<std::vector<core::MessageRecord>> got = store.list_messages(query);
    ASSERT_TRUE(got.is_ok()) << got.status().to_string();
  }
  ASSERT_TRUE(store.index_search(10).is_ok());
}

TEST(SqliteQueryPlanTest, NoStatementTheStorePreparesScansMessagesLogEntriesOrHeads) {
  TempDir dir;
  const std::string path = sqlite_path(dir.path());
  Result<std::unique_ptr<Store>> store = open_sqlite_store(path);
  ASSERT_TRUE(store.is_ok()) << store.status().to_string();
  ASSERT_NO_FATAL_FAILURE(workload(**store));
  auto* sqlite = dynamic_cast<sqlite_detail::SqliteStore*>(store->get());
  ASSERT_NE(sqlite, nullptr);
  const std::vector<std::string> statements = sqlite->prepared_sql();
  ASSERT_GT(statements.size(), 20U);

  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  // A step reading a whole table that grows (the aliases are the transcript query's), or a
  // whole index of one but the partial ones of pending messages.
  const std::regex growing("^SCAN (messages|log_entries|heads|l|m|i)\\b(.*)$");
  const std::regex pending(
      " USING (COVERING )?INDEX messages_(unreceipted|unacknowledged|"
      "inbound_unacknowledged)\\b");
  for (const std::string& sql : statements) {
    const std::vector<std::string> steps = plan(db, sql);
    std::string all;
    for (const std::string& step : steps) all += step + "\n";
    // A walk of messages_by_created in the listing's order stops at its page (LIMIT): the
    // newest messages of every line. It must not be sorted whole (only within one `created`),
    // and a statement without a LIMIT would walk all of it.
    const bool sorted = all.find("USE TEMP B-TREE FOR ORDER BY") != std::string::npos;
    const bool paged = std::regex_search(sql, std::regex("\\bLIMIT\\b", std::regex::icase));
    for (const std::string& step : steps) {
      std::smatch scan;
      if (!std::regex_search(step, scan, growing)) continue;
      const std::string how = scan[2].str();
      const bool in_order = how == " USING INDEX messages_by_created" && !sorted && paged;
      EXPECT_TRUE(std::regex_search(how, pending) || in_order) << sql << "\n" << all;
    }
  }
  sqlite3_close(db);
}

}  // namespace
}  // namespace parley::store
