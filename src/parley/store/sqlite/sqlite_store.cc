// The SQLite store: statements, messages, apply and the group commit (internal.h lists the
// other files).

#include <algorithm>

#include "parley/store/sqlite/internal.h"

namespace parley::store::sqlite_detail {

Status sqlite_error(sqlite3* db, std::string_view what) {
  std::string message = std::string(what) + ": " + sqlite3_errmsg(db);
  // A violated CHECK or a value too big is the record's fault, not the store's: the batch
  // is refused alone (store.h is_batch_refusal).
  switch (sqlite3_errcode(db) & 0xff) {
    case SQLITE_CONSTRAINT:
    case SQLITE_TOOBIG:
    case SQLITE_MISMATCH:
      return Status::invalid_argument(std::move(message));
    // Nothing of the transaction was written (the write itself failed, before any fsync):
    // the gateway may wait for space and go on (store.h is_disk_full).
    case SQLITE_FULL:
      return Status::resource_exhausted(std::move(message));
    default:
      return Status::unavailable(std::move(message));
  }
}

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

std::vector<std::string> SqliteStore::prepared_sql() const {
  std::vector<std::string> out;
  out.reserve(cache_.size());
  for (const auto& [sql, stmt] : cache_) out.push_back(sql);
  return out;
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
              "?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28, ?29, ?30, ?31, ?32)"));
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
  s.bind_int(26, columns::receipted_of(m));
  s.bind_opt_text(27, m.tx);
  s.bind_opt_text(28, m.refusal);
  s.bind_int(29, m.needs_ack ? 1 : 0);
  s.bind_opt_time(30, m.cancelled_at);
  s.bind_opt_text(31, m.cancelled_by);
  s.bind_opt_text(32, m.broadcast);
  const int rc = s.exec();
  if (rc == SQLITE_DONE) {
    if (m.receipt) {
      PARLEY_RETURN_IF_ERROR(m.tx ? put_receipt(*m.tx, *m.receipt)
                                  : put_message_receipt(m.id, *m.receipt));
    }
    return Status::ok();
  }
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

// The receipt of transaction `tx`, stored once: kAlreadyExists if the transaction already has
// another one (a transaction has one receipt; the first stays).
Status SqliteStore::put_receipt(const std::string& tx, const std::string& receipt) {
  {
    PARLEY_ASSIGN_OR_RETURN(sqlite3_stmt * raw,
                            prepare("SELECT receipt = ?2 FROM receipts WHERE tx = ?1"));
    Statement s(db_, raw);
    s.bind_text(1, tx);
    s.bind_text(2, receipt);
    PARLEY_ASSIGN_OR_RETURN(const bool row, s.step());
    if (row) {
      if (s.integer(0) != 0) return Status::ok();
      return Status::already_exists("transaction " + tx + " already has another receipt");
    }
  }
  PARLEY_ASSIGN_OR_RETURN(sqlite3_stmt * raw,
                          prepare("INSERT INTO receipts (tx, receipt) VALUES (?1, ?2)"));
  Statement s(db_, raw);
  s.bind_text(1, tx);
  s.bind_text(2, receipt);
  if (s.exec() == SQLITE_DONE) return Status::ok();
  return sqlite_error(db_, "storing the receipt of transaction " + tx);
}

// The receipt of a message without a tx, kept as its own (columns::kReceiptOfMessage).
Status SqliteStore::put_message_receipt(const std::string& id, const std::string& receipt) {
  PARLEY_ASSIGN_OR_RETURN(sqlite3_stmt * raw,
                          prepare("INSERT INTO message_receipts (id, receipt) VALUES (?1, ?2) "
                                  "ON CONFLICT (id) DO UPDATE SET receipt = excluded.receipt"));
  Statement s(db_, raw);
  s.bind_text(1, id);
  s.bind_text(2, receipt);
  if (s.exec() == SQLITE_DONE) return Status::ok();
  return sqlite_error(db_, "storing the receipt of message " + id);
}

// What `u` does to the message's receipt (columns::update_receipt): its new `receipted`.
// kNotFound if the message is not stored.
Result<std::optional<int>> SqliteStore::update_receipt(const core::UpdateMessage& u) {
  PARLEY_ASSIGN_OR_RETURN(sqlite3_stmt * raw,
                          prepare("SELECT receipted, tx FROM messages WHERE id = ?1"));
  Statement s(db_, raw);
  s.bind_text(1, u.id);
  PARLEY_ASSIGN_OR_RETURN(const bool row, s.step());
  if (!row) return Status::not_found("message " + u.id + " is not stored");
  return columns::update_receipt(
      u, s.integer(0), s.opt_text(1),
      [this](const std::string& tx, const std::string& receipt) {
        return put_receipt(tx, receipt);
      },
      [this, &u](const std::string& receipt) { return put_message_receipt(u.id, receipt); });
}

Status SqliteStore::update_message(const core::UpdateMessage& u) {
  std::optional<int> receipted;
  if (u.receipt || u.tx) {
    PARLEY_ASSIGN_OR_RETURN(receipted, update_receipt(u));
  }
  // An unset optional binds NULL, and COALESCE keeps the stored value.
  PARLEY_ASSIGN_OR_RETURN(
      sqlite3_stmt * raw,
      prepare("UPDATE messages SET state = ?2, delivered_at = COALESCE(?3, delivered_at), "
              "acknowledged_at = COALESCE(?4, acknowledged_at), "
              "acknowledged_by = COALESCE(?5, acknowledged_by), ack_id = COALESCE(?6, ack_id), "
              "receipted = COALESCE(?7, receipted), tx = COALESCE(?8, tx), "
              "refusal = COALESCE(?9, refusal), cancelled_at = COALESCE(?10, cancelled_at), "
              "cancelled_by = COALESCE(?11, cancelled_by) WHERE id = ?1"));
  Statement s(db_, raw);
  s.bind_text(1, u.id);
  s.bind_text(2, core::state_name(u.state));
  s.bind_opt_time(3, u.delivered_at);
  s.bind_opt_time(4, u.acknowledged_at);
  s.bind_opt_text(5, u.acknowledged_by);
  s.bind_opt_text(6, u.ack_id);
  if (receipted) s.bind_int(7, *receipted);  // else NULL: as stored
  s.bind_opt_text(8, u.tx);
  s.bind_opt_text(9, u.refusal);
  s.bind_opt_time(10, u.cancelled_at);
  s.bind_opt_text(11, u.cancelled_by);
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
        } else if constexpr (std::is_same_v<R, core::PutEvidence>) {
          return put_evidence(r);
        } else {
          static_assert(std::is_same_v<R, core::PutRotation>);
          return put_rotation(r);
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
  std::size_t non_empty = 0;
  std::size_t last = 0;
  for (std::size_t i = 0; i < batches.size(); ++i) {
    if (!batches[i]->empty()) ++non_empty, last = i;
  }
  if (non_empty == 1) {  // one batch: its own transaction is the savepoint
    std::vector<Status> outcome(batches.size());
    Status status = apply(*batches[last]);
    if (!store::is_batch_refusal(status)) PARLEY_RETURN_IF_ERROR(status);
    outcome[last] = std::move(status);
    return outcome;
  }
  PARLEY_ASSIGN_OR_RETURN(std::vector<Status> outcome, apply_batches(batches));
  if (non_empty > 0) PARLEY_RETURN_IF_ERROR(commit());
  return outcome;
}

Result<std::vector<Status>> SqliteStore::apply_group_open(
    const std::vector<const std::vector<core::Record>*>& batches) {
  PARLEY_ASSIGN_OR_RETURN(std::vector<Status> outcome, apply_batches(batches));
  group_open_ = sqlite3_get_autocommit(db_) == 0;
  return outcome;
}

Status SqliteStore::finish_group(std::vector<EventRecord>& events) {
  if (!group_open_) return append_events(events);
  group_open_ = false;
  std::uint64_t first = 0;
  if (!events.empty()) {
    const Result<std::uint64_t> inserted = insert_events(events);
    if (!inserted.is_ok()) {
      (void)exec("ROLLBACK");
      return inserted.status();
    }
    first = *inserted;
  }
  PARLEY_RETURN_IF_ERROR(commit());
  for (std::size_t i = 0; i < events.size(); ++i) events[i].id = first + i;
  return Status::ok();
}

Result<std::vector<Status>> SqliteStore::apply_batches(
    const std::vector<const std::vector<core::Record>*>& batches) {
  std::vector<Status> outcome(batches.size());
  if (std::all_of(batches.begin(), batches.end(), [](const auto* b) { return b->empty(); })) {
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
  return outcome;
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
  std::vector<std::function<void(Statement&)>> binds;
  const auto param = [&binds](std::function<void(Statement&, int)> bind) {
    const int i = static_cast<int>(binds.size()) + 1;
    binds.emplace_back([bind = std::move(bind), i](Statement& s) { bind(s, i); });
    std::string name = "?";  // appended: "?" + std::string draws GCC 12 -O3's -Wrestrict
    name += std::to_string(i);
    return name;
  };
  const auto text = [&param](std::string v) {
    return param([v = std::move(v)](Statement& s, int i) { s.bind_text(i, v); });
  };
  const auto integer = [&param](std::int64_t v) {
    return param([v](Statement& s, int i) { s.bind_int(i, v); });
  };
  if (query.direction)
    sql += " AND direction = " + text(std::string(core::direction_name(*query.direction)));
  if (!query.lines.empty()) {
    sql += " AND line IN (SELECT value FROM json_each(" + text(encode_string_array(query.lines)) +
           "))";
  }
  if (!query.types.empty()) {
    sql += " AND type IN (SELECT value FROM json_each(" + text(encode_string_array(query.types)) +
           "))";
  }
  if (!query.include_acks) sql += std::string(" AND type NOT IN ") + kProtocolTypesSql;
  if (query.precedence) {
    sql += " AND precedence = " + text(std::string(wire::precedence_name(*query.precedence)));
  }
  if (query.state) sql += " AND state = " + text(std::string(core::state_name(*query.state)));
  if (query.broadcast) sql += " AND broadcast = " + text(*query.broadcast);
  if (!query.include_refused_inbound) {
    sql += " AND NOT (direction = 'inbound' AND state = 'refused')";
  }
  if (query.from) {
    sql += " AND from_party = " + text(query.from->party);
    if (!query.from->principal.empty())
      sql += " AND from_principal = " + text(query.from->principal);
  }
  if (query.since) sql += " AND created >= " + integer(unix_ms(*query.since));
  if (query.until) sql += " AND created < " + integer(unix_ms(*query.until));
  if (!query.words.empty()) {
    // Every stored message is in messages_fts before it is searched (index_search).
    PARLEY_RETURN_IF_ERROR(index_search_all());
    sql += " AND n IN (SELECT rowid FROM messages_fts WHERE messages_fts MATCH " +
           text(fts5_query(query.words)) + ")";
  }
  if (!query.id_prefix.empty()) {
    sql += " AND id >= " + text(query.id_prefix);
    if (const std::optional<std::string> end = prefix_end(query.id_prefix)) {
      sql += " AND id < " + text(*end);
    }
  }
  const bool by_rank = query.order == MessageOrder::kPrecedence;
  if (query.after) {
    const std::string older = "(created, seq, id) < (" + integer(unix_ms(query.after->created)) +
                              ", " + integer(static_cast<std::int64_t>(query.after->seq)) + ", " +
                              text(query.after->id) + ")";
    if (by_rank) {
      const std::string rank = integer(precedence_rank(query.after->precedence));
      sql += std::string(" AND (") + kPrecedenceRank + " > " + rank + " OR (" + kPrecedenceRank +
             " = " + rank + " AND " + older + "))";
    } else {
      sql += " AND " + older;
    }
  }
  sql += std::string(" ORDER BY ") + (by_rank ? std::string(kPrecedenceRank) + ", " : "") +
         "created DESC, seq DESC, id DESC LIMIT " +
         integer(fits_int64(query.limit) ? static_cast<std::int64_t>(query.limit)
                                         : std::numeric_limits<std::int64_t>::max());
  return query_messages(sql, [&binds](Statement& s) {
    for (const auto& bind : binds) bind(s);
  });
}

Result<std::vector<core::MessageRecord>> SqliteStore::replies_to(
    const std::vector<std::string>& ids) {
  if (ids.size() > kRepliesIdsMax) {
    return Status::invalid_argument("more than " + std::to_string(kRepliesIdsMax) + " ids");
  }
  if (ids.empty()) return std::vector<core::MessageRecord>{};
  // messages_by_reply_to (migration 9) finds each id's few replies.
  return query_messages(std::string("SELECT ") + kMessageSelect +
                            " FROM messages WHERE reply_to IN (SELECT value FROM json_each(?1))"
                            " ORDER BY created, id",
                        [&ids](Statement& s) { s.bind_text(1, encode_string_array(ids)); });
}

}  // namespace parley::store::sqlite_detail
