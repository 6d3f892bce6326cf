// The SQLite store: the full-text index (messages_fts, schema 18), written after the commit
// that stores a message, several messages a transaction, not in it: a FLASH message's commit
// holds no page of the index. search_indexed.upto is the durable watermark: every message
// with n <= upto is indexed, those above are not (messages are never deleted, and a new
// row's n is above every stored row's, so "above upto" is exactly what is left to index).

#include "parley/store/sqlite/internal.h"

namespace parley::store::sqlite_detail {

Result<bool> SqliteStore::index_search_in_transaction(std::size_t max) {
  std::int64_t upto = 0;
  {
    PARLEY_ASSIGN_OR_RETURN(sqlite3_stmt * raw,
                            prepare("SELECT upto FROM search_indexed WHERE id = 1"));
    Statement s(db_, raw);
    PARLEY_ASSIGN_OR_RETURN(const bool row, s.step());
    if (!row) return Status::data_loss("the search index has no watermark (search_indexed)");
    upto = s.integer(0);
  }
  struct Row {
    std::int64_t n;
    wire::Content content;
  };
  std::vector<Row> rows;
  {
    PARLEY_ASSIGN_OR_RETURN(sqlite3_stmt * raw,
                            prepare("SELECT n, body_json, text FROM messages WHERE n > ?1 "
                                    "ORDER BY n LIMIT ?2"));
    Statement s(db_, raw);
    s.bind_int(1, upto);
    // One more than `max`: whether more remain.
    s.bind_int(2, fits_int64(max) ? static_cast<std::int64_t>(max) + 1
                                  : std::numeric_limits<std::int64_t>::max());
    for (;;) {
      PARLEY_ASSIGN_OR_RETURN(const bool row, s.step());
      if (!row) break;
      rows.push_back({s.integer(0), wire::Content{s.text(1), s.text(2)}});
    }
  }
  const bool more = rows.size() > max;
  if (more) rows.resize(max);
  if (rows.empty()) return false;
  {
    PARLEY_ASSIGN_OR_RETURN(sqlite3_stmt * raw,
                            prepare("INSERT INTO messages_fts (rowid, words) VALUES (?1, ?2)"));
    for (const Row& r : rows) {
      Statement s(db_, raw);
      s.bind_int(1, r.n);
      s.bind_text(2, searchable_text(r.content));
      if (s.exec() != SQLITE_DONE) {
        return sqlite_error(db_, "indexing message " + std::to_string(r.n) + " for search");
      }
    }
  }
  PARLEY_ASSIGN_OR_RETURN(sqlite3_stmt * raw,
                          prepare("UPDATE search_indexed SET upto = ?1 WHERE id = 1"));
  Statement s(db_, raw);
  s.bind_int(1, rows.back().n);
  if (s.exec() != SQLITE_DONE) return sqlite_error(db_, "moving the search index's watermark");
  return more;
}

// Whether a message was stored above the watermark: a read of the two keys, so that a search
// with nothing to index takes no write lock and writes nothing.
Result<bool> SqliteStore::search_index_behind() {
  PARLEY_ASSIGN_OR_RETURN(
      sqlite3_stmt * raw,
      prepare("SELECT (SELECT MAX(n) FROM messages) > (SELECT upto FROM search_indexed WHERE "
              "id = 1)"));
  Statement s(db_, raw);
  PARLEY_ASSIGN_OR_RETURN(const bool row, s.step());
  return row && !s.is_null(0) && s.integer(0) != 0;
}

Result<bool> SqliteStore::index_search(std::size_t max) {
  if (max == 0) return Status::invalid_argument("index_search of 0 messages");
  // Inside an open group (store.h: nothing else is called then, but a search from inside
  // would see its uncommitted rows) the rows are indexed in that transaction, committed or
  // rolled back with it; a failure here takes back this part alone.
  if (group_open_ || sqlite3_get_autocommit(db_) == 0) {
    PARLEY_RETURN_IF_ERROR(exec("SAVEPOINT search_index"));
    Result<bool> more = index_search_in_transaction(max);
    if (!more.is_ok()) (void)exec("ROLLBACK TO search_index");
    (void)exec("RELEASE search_index");
    return more;
  }
  PARLEY_ASSIGN_OR_RETURN(const bool behind, search_index_behind());
  if (!behind) return false;
  // A commit of its own, without an fsync of its own: the index is derived (if a crash loses
  // this commit, the next open or search indexes the same messages again), and the next
  // durable commit's fsync of the WAL takes these frames along. WAL with synchronous=NORMAL
  // loses a commit at a power cut, never consistency. The store's mode comes back after.
  std::int64_t synchronous = 2;  // FULL
  {
    PARLEY_ASSIGN_OR_RETURN(sqlite3_stmt * raw, prepare("PRAGMA synchronous"));
    Statement mode(db_, raw);
    PARLEY_ASSIGN_OR_RETURN(const bool row, mode.step());
    if (row) synchronous = mode.integer(0);
  }
  const bool relaxed = synchronous > 1;  // FULL or EXTRA
  if (relaxed) PARLEY_RETURN_IF_ERROR(exec("PRAGMA synchronous=NORMAL"));
  const auto restore = [&]() -> Status {
    if (!relaxed) return Status::ok();
    return exec(synchronous == 3 ? "PRAGMA synchronous=EXTRA" : "PRAGMA synchronous=FULL");
  };
  if (Status begun = exec("BEGIN IMMEDIATE"); !begun.is_ok()) {
    (void)restore();
    return begun;
  }
  Result<bool> more = index_search_in_transaction(max);
  if (!more.is_ok()) {
    (void)exec("ROLLBACK");
    (void)restore();
    return more.status();
  }
  const Status committed = commit();
  PARLEY_RETURN_IF_ERROR(restore());
  PARLEY_RETURN_IF_ERROR(committed);
  return *more;
}

Status SqliteStore::index_search_all() {
  for (;;) {
    PARLEY_ASSIGN_OR_RETURN(const bool more, index_search(kCatchUpIndexBatch));
    if (!more) return Status::ok();
  }
}

}  // namespace parley::store::sqlite_detail
