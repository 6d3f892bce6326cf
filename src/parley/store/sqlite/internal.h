// The SQLite store's inside, shared by its files (not for use outside store/sqlite/):
//   sqlite_store.cc  statements, messages, apply and the group commit
//   recovery.cc      what a node starts from (Store::recover), reading only what is pending
//   transcript.cc    the transcript: log entries, heads, inclusion proofs, evidence
//   tables.cc        peers, principals and lines
//   search_index.cc  the full-text index, written after the commit (index_search)
//   migrations.cc    the schema's migrations
//   schema.cc        opening a store (open_sqlite_store), migrating it to the current schema
#pragma once

#include <sqlite3.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "parley/base/json.h"
#include "parley/store/columns.h"
#include "parley/store/search.h"
#include "parley/store/store.h"

namespace parley::store::sqlite_detail {

// The status of a failed SQLite call: a refused record (a violated CHECK, a value too big)
// is kInvalidArgument, the batch refused alone (store.h is_batch_refusal); else kUnavailable.
Status sqlite_error(sqlite3* db, std::string_view what);

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
  std::int64_t integer(int i) const { return sqlite3_column_int64(stmt_, i); }
  std::string text(int i) const {
    const auto* p = sqlite3_column_text(stmt_, i);
    const int n = sqlite3_column_bytes(stmt_, i);
    return p == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(p), n);
  }
  std::optional<std::string> opt_text(int i) const {
    if (is_null(i)) return std::nullopt;
    return text(i);
  }
  Bytes bytes(int i) const {
    const auto* p = static_cast<const std::uint8_t*>(sqlite3_column_blob(stmt_, i));
    const int n = sqlite3_column_bytes(stmt_, i);
    return p == nullptr ? Bytes() : Bytes(p, p + n);
  }
  Time time(int i) const { return time_from_unix_ms(integer(i)); }
  std::optional<Time> opt_time(int i) const {
    if (is_null(i)) return std::nullopt;
    return time(i);
  }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_;
};

// The encodings of stored columns, shared with the PostgreSQL store (store/columns.h).
using columns::encode_hashes;
using columns::encode_string_array;
using columns::fits_int64;
using columns::kMessageColumns;
using columns::kMessageSelect;
using columns::kPrecedenceRank;
using columns::parse_hashes;
using columns::parse_string_array;
using columns::prefix_end;
using columns::to_digest;

// The schema's migrations (migrations.cc): version N is reached from N-1 by migrations()[N-1].
std::span<const char* const> migrations();

// How many messages one transaction of index_search_all (before a search) adds to
// the search index (the gateway's own catching up, Driver::index_search, takes fewer).
inline constexpr std::size_t kCatchUpIndexBatch = 1000;

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
  Result<std::vector<Status>> apply_group_open(
      const std::vector<const std::vector<core::Record>*>& batches) override;
  bool group_open() const override { return group_open_; }
  Status finish_group(std::vector<EventRecord>& events) override;
  Result<bool> index_search(std::size_t max) override;
  // index_search until every stored message is in messages_fts: before a search.
  Status index_search_all();
  // The SQL of every statement prepared so far (the cache's keys): what the query plan test
  // asks SQLite to plan.
  std::vector<std::string> prepared_sql() const;
  Result<std::optional<core::MessageRecord>> get_message(std::string_view id) override;
  Result<std::vector<core::MessageRecord>> list_messages(const MessageQuery& query) override;
  Result<std::vector<core::MessageRecord>> replies_to(const std::vector<std::string>& ids) override;
  Result<core::Recovered> recover(std::string_view peer) override;
  Status put_peer(const core::Peer& peer) override;
  Result<std::vector<core::Peer>> peers() override;
  Status put_principal(const core::Principal& principal) override;
  Result<std::vector<core::Principal>> principals() override;
  Result<std::optional<core::Principal>> principal_by_token_hash(ByteView token_hash) override;
  Status put_line(const core::Line& line) override;
  Result<std::vector<core::Line>> lines() override;
  Status remove_peer(std::string_view party) override;
  Status remove_principal(std::string_view id) override;
  Status remove_line(std::string_view id) override;
  Status put_roster(std::string_view role, const std::vector<core::Shift>& shifts) override;
  Result<std::vector<core::Shift>> roster() override;
  Status log_change(const core::DirectoryChange& change) override;
  Result<std::vector<core::DirectoryChange>> changes() override;
  Result<std::vector<WitnessedCheckpoint>> witnessed() override;
  Result<bool> put_witnessed(const WitnessedCheckpoint& view, std::uint64_t old_size) override;
  Status put_split_view(const SplitViewRecord& split) override;
  Result<std::vector<SplitViewRecord>> split_views() override;
  Status put_cosignature(const CosignatureRecord& cosignature) override;
  Result<std::vector<CosignatureRecord>> cosignatures() override;
  Status put_forwarded_head(const ForwardedHead& head) override;
  Result<std::optional<ForwardedHead>> forwarded_head(std::string_view origin,
                                                      std::uint64_t size) override;
  Result<std::vector<ForwardedHead>> forwarded_heads() override;
  Result<bool> put_disclosure(const DisclosureRecord& d) override;
  Result<std::vector<DisclosureRecord>> disclosures() override;
  Status append_events(std::vector<EventRecord>& events) override;
  Result<EventPage> events_after(std::uint64_t after, std::size_t limit) override;
  Result<std::optional<core::InclusionRecord>> inclusion(std::string_view message_id) override;
  Result<std::vector<core::PutRotation>> rotations(std::string_view owner) override;
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
  // DELETE `sql` ($1/?1: `id`) of one row: kNotFound, naming `what`, if there was none.
  Status remove_row(const char* sql, std::string_view id, std::string_view what);
  // One record inside an open transaction; COMMIT (rolled back if it fails).
  Status apply_record(const core::Record& record);
  Status commit();
  // apply_group's batches under savepoints inside a transaction this begins and leaves open
  // unless it fails (then rolled back: the error).
  Result<std::vector<Status>> apply_batches(
      const std::vector<const std::vector<core::Record>*>& batches);
  // append_events's inserts (and the drop of the oldest) inside the open transaction: the
  // first id given (the ids are consecutive). On failure the caller rolls back.
  Result<std::uint64_t> insert_events(const std::vector<EventRecord>& events);
  Status put_message(const core::MessageRecord& m);
  // index_search's work inside the open transaction.
  Result<bool> index_search_in_transaction(std::size_t max);
  // Whether messages_fts lacks a stored message (a read only).
  Result<bool> search_index_behind();
  Status update_message(const core::UpdateMessage& u);
  Status put_receipt(const std::string& tx, const std::string& receipt);
  Status put_message_receipt(const std::string& id, const std::string& receipt);
  Result<std::optional<int>> update_receipt(const core::UpdateMessage& u);
  Status put_log_entry(const core::LogEntry& e);
  Status put_head(const core::PutHead& h);
  Status put_inclusion(const core::PutInclusion& i);
  Status put_evidence(const core::PutEvidence& e);
  Status put_rotation(const core::PutRotation& r);
  // Our own rotations in our log for `peer` (owner us, peer `peer`), by index.
  Result<std::vector<core::PutRotation>> own_rotations_for(std::string_view peer);
  // The rotations rows WHERE `where` (a condition on ?1, bound to `value`), by peer and index.
  Result<std::vector<core::PutRotation>> rotation_rows(std::string_view where,
                                                       std::string_view value);
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
  bool group_open_ = false;  // apply_group_open left its transaction for finish_group
};

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
    PARLEY_ASSIGN_OR_RETURN(core::MessageRecord m, columns::read_message(s));
    out.push_back(std::move(m));
  }
  return out;
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

}  // namespace parley::store::sqlite_detail

namespace parley::store {
// Keys a fresh connection with the store key (SQLCipher's PRAGMA key, raw 256-bit key; empty:
// a plaintext file) and reads its first page: a wrong key is kPermissionDenied, as when the
// store is opened (sqlite/schema.cc). Used by the backup (sqlite/backup.cc) on both ends.
Status key_connection(sqlite3* db, const std::string& path, ByteView key);
}  // namespace parley::store
