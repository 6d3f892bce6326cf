// The SQLite store's search index off the commit path (schema 18, sqlite/search_index.cc): a
// commit writes no page of messages_fts; index_search indexes afterwards, a batch at a time;
// a search first indexes what is left (the gateway, after its start, too), so that a search
// never misses a stored message, after a crash between the commit and the indexing too.
#include <unistd.h>

#include <cstdint>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <sys/types.h>
#include <sys/wait.h>

#include "parley/store/search.h"
#include "parley/store/sqlite/sqlite_store.h"
#include "parley/store/store.h"
#include "parley/store/store_test_util.h"

namespace parley::store {
namespace {

using core::Direction;
using core::MessageRecord;
using core::PutMessage;
using test::at;
using test::ids_of;
using test::raw_sql;
using test::sqlite_path;
using test::TempDir;

// The ids messages_fts itself finds for `word` (no catching up first), in id order.
std::string indexed(const std::string& path, const std::string& word) {
  return raw_sql(path,
                 "SELECT group_concat(id, ',') FROM (SELECT m.id AS id FROM messages_fts f JOIN "
                 "messages m ON m.n = f.rowid WHERE messages_fts MATCH '\"" +
                     word + "\"' ORDER BY m.id)");
}

std::vector<std::string> search(Store& store, const std::string& words) {
  MessageQuery q;
  q.words = search_words(words);
  Result<std::vector<MessageRecord>> found = store.list_messages(q);
  EXPECT_TRUE(found.is_ok()) << found.status().to_string();
  return found.is_ok() ? ids_of(*found) : std::vector<std::string>{};
}

// Outbound message `seq` on line "l", whose text is `text` and whose body names "Kola".
MessageRecord worded(std::uint64_t seq, const std::string& text) {
  MessageRecord m = test::message("m-" + std::to_string(seq), "l", seq, Direction::kOutbound,
                                  at(static_cast<std::int64_t>(seq)));
  m.content = {R"({"area":{"name":"Kola"}})", text};
  return m;
}

TEST(SqliteSearchIndexTest, ACommitWritesNoPageOfTheIndexAndASearchIndexesFirst) {
  TempDir dir;
  const std::string path = sqlite_path(dir.path());
  Result<std::unique_ptr<Store>> store = open_sqlite_store(path);
  ASSERT_TRUE(store.is_ok()) << store.status().to_string();
  const std::string index_rows = raw_sql(path, "SELECT COUNT(*) FROM messages_fts_data");
  ASSERT_TRUE((*store)->apply({PutMessage{worded(1, "Exercise Zapad")}}).is_ok());
  // The commit left the index as it was: the same rows, nothing found, the watermark at 0.
  EXPECT_EQ(raw_sql(path, "SELECT COUNT(*) FROM messages_fts_data"), index_rows);
  EXPECT_EQ(indexed(path, "zapad"), "");
  EXPECT_EQ(raw_sql(path, "SELECT upto FROM search_indexed"), "0");
  // A search indexes what is left first, and finds it.
  EXPECT_EQ(search(**store, "ZAPAD exercise"), (std::vector<std::string>{"m-1"}));
  EXPECT_EQ(search(**store, "kola"), (std::vector<std::string>{"m-1"}));
  EXPECT_EQ(indexed(path, "zapad"), "m-1");
  EXPECT_EQ(raw_sql(path, "SELECT upto FROM search_indexed"),
            raw_sql(path, "SELECT n FROM messages WHERE id = 'm-1'"));
  // The text is not stored a second time: the index is contentless.
  EXPECT_EQ(raw_sql(path, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'messages_fts_content'"),
            "0");
}

TEST(SqliteSearchIndexTest, IndexSearchIndexesABatchAtATimeInTheOrderOfStoring) {
  TempDir dir;
  const std::string path = sqlite_path(dir.path());
  Result<std::unique_ptr<Store>> store = open_sqlite_store(path);
  ASSERT_TRUE(store.is_ok()) << store.status().to_string();
  for (std::uint64_t seq = 1; seq <= 5; ++seq) {
    ASSERT_TRUE((*store)->apply({PutMessage{worded(seq, "northern fleet")}}).is_ok());
  }
  EXPECT_EQ(*(*store)->index_search(2), true);
  EXPECT_EQ(indexed(path, "fleet"), "m-1,m-2");
  EXPECT_EQ(*(*store)->index_search(2), true);
  EXPECT_EQ(indexed(path, "fleet"), "m-1,m-2,m-3,m-4");
  EXPECT_EQ(*(*store)->index_search(2), false);
  // Nothing left: nothing indexed twice (messages_fts would find a row indexed twice once;
  // its data and the watermark show it).
  const std::string data =
      raw_sql(path, "SELECT COUNT(*) || ':' || SUM(length(block)) FROM messages_fts_data");
  const std::string upto = raw_sql(path, "SELECT upto FROM search_indexed");
  EXPECT_EQ(upto, raw_sql(path, "SELECT n FROM messages WHERE id = 'm-5'"));
  EXPECT_EQ(*(*store)->index_search(2), false);
  EXPECT_EQ(raw_sql(path, "SELECT COUNT(*) || ':' || SUM(length(block)) FROM messages_fts_data"),
            data);
  EXPECT_EQ(raw_sql(path, "SELECT upto FROM search_indexed"), upto);
  EXPECT_EQ(indexed(path, "fleet"), "m-1,m-2,m-3,m-4,m-5");
  EXPECT_EQ(search(**store, "northern"),
            (std::vector<std::string>{"m-5", "m-4", "m-3", "m-2", "m-1"}));
  EXPECT_EQ((*store)->index_search(0).status().code(), StatusCode::kInvalidArgument);
}

// A child process stores `count` messages from `first` (one commit each), indexes `indexed`
// of them, and dies without closing the store (as a SIGKILL: no destructor runs).
void store_and_die(const std::string& path, std::uint64_t first, std::uint64_t count,
                   std::size_t indexed) {
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    Result<std::unique_ptr<Store>> store = open_sqlite_store(path);
    if (!store.is_ok()) _exit(1);
    for (std::uint64_t seq = first; seq < first + count; ++seq) {
      if (!(*store)->apply({PutMessage{worded(seq, "operation dawn")}}).is_ok()) _exit(2);
    }
    if (indexed > 0 && !(*store)->index_search(indexed).is_ok()) _exit(3);
    _exit(0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
}

TEST(SqliteSearchIndexTest, ACrashBetweenTheCommitAndTheIndexLosesNothingForASearch) {
  TempDir dir;
  const std::string path = sqlite_path(dir.path());
  Result<std::unique_ptr<Store>> store = open_sqlite_store(path);  // open before the crash
  ASSERT_TRUE(store.is_ok()) << store.status().to_string();
  ASSERT_NO_FATAL_FAILURE(store_and_die(path, 1, 3, 1));
  EXPECT_EQ(raw_sql(path, "SELECT COUNT(*) FROM messages"), "3");
  EXPECT_EQ(indexed(path, "dawn"), "m-1");  // committed, but only one indexed
  // This store's search indexes the two the dead one left, and finds all three.
  EXPECT_EQ(search(**store, "dawn"), (std::vector<std::string>{"m-3", "m-2", "m-1"}));
  EXPECT_EQ(indexed(path, "dawn"), "m-1,m-2,m-3");
}

// The next open leaves them to the gateway (Driver::index_search after its start) and to a
// search: an open of a store of millions of unindexed messages (after the schema 18 migration)
// must not keep the gateway from being ready for minutes.
TEST(SqliteSearchIndexTest, ACrashBetweenTheCommitAndTheIndexIsLeftByTheNextOpenToIndexSearch) {
  TempDir dir;
  const std::string path = sqlite_path(dir.path());
  ASSERT_NO_FATAL_FAILURE(store_and_die(path, 1, 4, 0));
  EXPECT_EQ(raw_sql(path, "SELECT COUNT(*) FROM messages"), "4");
  EXPECT_EQ(indexed(path, "dawn"), "");
  EXPECT_EQ(raw_sql(path, "SELECT upto FROM search_indexed"), "0");
  Result<std::unique_ptr<Store>> store = open_sqlite_store(path);
  ASSERT_TRUE(store.is_ok()) << store.status().to_string();
  EXPECT_EQ(indexed(path, "dawn"), "") << "the open indexes nothing";
  // A batch at a time, as the gateway does, in the order of storing.
  Result<bool> more = (*store)->index_search(3);
  ASSERT_TRUE(more.is_ok()) << more.status().to_string();
  EXPECT_TRUE(*more);
  EXPECT_EQ(indexed(path, "dawn"), "m-1,m-2,m-3");
  // A search indexes the rest first.
  EXPECT_EQ(search(**store, "operation"), (std::vector<std::string>{"m-4", "m-3", "m-2", "m-1"}));
  EXPECT_EQ(raw_sql(path, "SELECT upto FROM search_indexed"),
            raw_sql(path, "SELECT MAX(n) FROM messages"));
}

// A group the store keeps open (Driver::commit) holds no page of the index either, and the
// index of its messages after the commit finds them.
TEST(SqliteSearchIndexTest, AnOpenGroupIsCommittedWithoutTheIndex) {
  TempDir dir;
  const std::string path = sqlite_path(dir.path());
  Result<std::unique_ptr<Store>> store = open_sqlite_store(path);
  ASSERT_TRUE(store.is_ok()) << store.status().to_string();
  const std::vector<core::Record> a{PutMessage{worded(1, "first light")}};
  const std::vector<core::Record> b{PutMessage{worded(2, "last light")}};
  ASSERT_TRUE((*store)->apply_group_open({&a, &b}).is_ok());
  std::vector<EventRecord> events;
  ASSERT_TRUE((*store)->finish_group(events).is_ok());
  EXPECT_EQ(raw_sql(path, "SELECT COUNT(*) FROM messages"), "2");
  EXPECT_EQ(indexed(path, "light"), "");
  EXPECT_EQ(*(*store)->index_search(128), false);
  EXPECT_EQ(indexed(path, "light"), "m-1,m-2");
}

}  // namespace
}  // namespace parley::store
