// The PostgreSQL store: statements, messages, apply and the group commit (internal.h lists
// the other files).

#include "parley/store/postgres/internal.h"

namespace parley::store::postgres_detail {

// libpq's messages end in a newline and may run to several lines: the first is the reason.
std::string first_line(const char* text) {
  std::string s = text == nullptr ? "" : text;
  if (const auto nl = s.find('\n'); nl != std::string::npos) s.resize(nl);
  return s.empty() ? "unknown error" : s;
}

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
  if (sqlstate_ == "53100") return Status::resource_exhausted(std::move(message));  // disk_full
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
  p.integer(columns::receipted_of(m));
  p.opt_text(m.tx);
  p.opt_text(m.refusal);
  p.integer(m.needs_ack ? 1 : 0);
  p.opt_time(m.cancelled_at);
  p.opt_text(m.cancelled_by);
  p.opt_text(m.broadcast);
  p.text(searchable_text(m.content));
  Result<PgResult> r = run(std::string("INSERT INTO messages (") + kMessageColumns +
                               ", search_text) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, "
                               "$11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, "
                               "$24, $25, $26, $27, $28, $29, $30, $31, $32, $33)",
                           p);
  if (r.is_ok()) {
    if (!m.receipt) return Status::ok();
    return m.tx ? put_receipt(*m.tx, *m.receipt) : put_message_receipt(m.id, *m.receipt);
  }
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

// The receipt of transaction `tx`, stored once: kAlreadyExists if the transaction already has
// another one (a transaction has one receipt; the first stays). The query's snapshot is from
// before its insert: true if it inserted, or if the stored receipt is the same text.
Status PostgresStore::put_receipt(const std::string& tx, const std::string& receipt) {
  Params p;
  p.text(tx);
  p.text(receipt);
  PARLEY_ASSIGN_OR_RETURN(const PgResult r,
                          run("WITH added AS (INSERT INTO receipts (tx, receipt) VALUES ($1, $2) "
                              "ON CONFLICT (tx) DO NOTHING RETURNING 1) "
                              "SELECT EXISTS (SELECT 1 FROM added) OR "
                              "EXISTS (SELECT 1 FROM receipts WHERE tx = $1 AND receipt = $2)",
                              p));
  if (PQntuples(r.get()) == 1 && Row(r.get(), 0).text(0) == "t") return Status::ok();
  return Status::already_exists("transaction " + tx + " already has another receipt");
}

// The receipt of a message without a tx, kept as its own (columns::kReceiptOfMessage).
Status PostgresStore::put_message_receipt(const std::string& id, const std::string& receipt) {
  Params p;
  p.text(id);
  p.text(receipt);
  return run("INSERT INTO message_receipts (id, receipt) VALUES ($1, $2) "
             "ON CONFLICT (id) DO UPDATE SET receipt = excluded.receipt",
             p)
      .status();
}

// What `u` does to the message's receipt (columns::update_receipt): its new `receipted`.
// kNotFound if the message is not stored.
Result<std::optional<int>> PostgresStore::update_receipt(const core::UpdateMessage& u) {
  Params p;
  p.text(u.id);
  PARLEY_ASSIGN_OR_RETURN(const PgResult r,
                          run("SELECT receipted, tx FROM messages WHERE id = $1", p));
  if (PQntuples(r.get()) != 1) return Status::not_found("message " + u.id + " is not stored");
  const Row row(r.get(), 0);
  return columns::update_receipt(
      u, row.integer(0), row.opt_text(1),
      [this](const std::string& tx, const std::string& receipt) {
        return put_receipt(tx, receipt);
      },
      [this, &u](const std::string& receipt) { return put_message_receipt(u.id, receipt); });
}

Status PostgresStore::update_message(const core::UpdateMessage& u) {
  std::optional<int> receipted;
  if (u.receipt || u.tx) {
    PARLEY_ASSIGN_OR_RETURN(receipted, update_receipt(u));
  }
  // An unset optional is NULL, and COALESCE keeps the stored value.
  Params p;
  p.text(u.id);
  p.text(core::state_name(u.state));
  p.opt_time(u.delivered_at);
  p.opt_time(u.acknowledged_at);
  p.opt_text(u.acknowledged_by);
  p.opt_text(u.ack_id);
  if (receipted) {
    p.integer(*receipted);
  } else {
    p.null();  // as stored
  }
  p.opt_text(u.tx);
  p.opt_text(u.refusal);
  p.opt_time(u.cancelled_at);
  p.opt_text(u.cancelled_by);
  PARLEY_ASSIGN_OR_RETURN(
      const PgResult r,
      run("UPDATE messages SET state = $2, delivered_at = COALESCE($3, delivered_at), "
          "acknowledged_at = COALESCE($4, acknowledged_at), "
          "acknowledged_by = COALESCE($5, acknowledged_by), ack_id = COALESCE($6, ack_id), "
          "receipted = COALESCE($7, receipted), tx = COALESCE($8, tx), "
          "refusal = COALESCE($9, refusal), cancelled_at = COALESCE($10, cancelled_at), "
          "cancelled_by = COALESCE($11, cancelled_by) WHERE id = $1",
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
        } else if constexpr (std::is_same_v<R, core::PutEvidence>) {
          return put_evidence(r);
        } else {
          static_assert(std::is_same_v<R, core::PutRotation>);
          return put_rotation(r);
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

Status PostgresStore::begin() {
  PARLEY_RETURN_IF_ERROR(exec("BEGIN"));
  if (Status fence = check_fence(); !fence.is_ok()) return rollback_and(fence);
  return Status::ok();
}

Status PostgresStore::apply(const std::vector<core::Record>& records) {
  if (records.empty()) return Status::ok();
  PARLEY_RETURN_IF_ERROR(begin());
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
  PARLEY_RETURN_IF_ERROR(begin());
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
    PARLEY_ASSIGN_OR_RETURN(core::MessageRecord m, columns::read_message(s));
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
  const auto text = [&p](std::string_view v) {
    p.text(v);
    std::string placeholder = "$";  // appended: GCC 12 -O3 -Wrestrict false positive
    placeholder += std::to_string(p.size());
    return placeholder;
  };
  const auto integer = [&p](std::int64_t v) {
    p.integer(v);
    std::string placeholder = "$";
    placeholder += std::to_string(p.size());
    return placeholder;
  };
  std::string sql = std::string("SELECT ") + kMessageSelect + " FROM messages WHERE TRUE";
  if (query.direction) sql += " AND direction = " + text(core::direction_name(*query.direction));
  if (!query.lines.empty()) {
    sql += " AND line IN (SELECT jsonb_array_elements_text(" +
           text(encode_string_array(query.lines)) + "::jsonb))";
  }
  if (!query.types.empty()) {
    sql += " AND type IN (SELECT jsonb_array_elements_text(" +
           text(encode_string_array(query.types)) + "::jsonb))";
  }
  if (!query.include_acks) sql += std::string(" AND type NOT IN ") + kProtocolTypesSql;
  if (query.precedence)
    sql += " AND precedence = " + text(wire::precedence_name(*query.precedence));
  if (query.state) sql += " AND state = " + text(core::state_name(*query.state));
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
    std::string words;
    for (const std::string& w : query.words) words += (words.empty() ? "" : " ") + w;
    sql +=
        " AND to_tsvector('simple', search_text) @@ plainto_tsquery('simple', " + text(words) + ")";
  }
  if (!query.id_prefix.empty()) {
    const std::string prefix = text(query.id_prefix);
    sql += " AND id >= " + prefix + " AND starts_with(id, " + prefix + ")";
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
  return query_messages(sql, p);
}

Result<std::vector<core::MessageRecord>> PostgresStore::replies_to(
    const std::vector<std::string>& ids) {
  if (ids.size() > kRepliesIdsMax) {
    return Status::invalid_argument("more than " + std::to_string(kRepliesIdsMax) + " ids");
  }
  if (ids.empty()) return std::vector<core::MessageRecord>{};
  Params p;
  p.text(encode_string_array(ids));
  // messages_by_reply_to (migration 9) finds each id's few replies.
  return query_messages(std::string("SELECT ") + kMessageSelect +
                            " FROM messages WHERE reply_to IN "
                            "(SELECT jsonb_array_elements_text($1::jsonb)) ORDER BY created, id",
                        p);
}

}  // namespace parley::store::postgres_detail
