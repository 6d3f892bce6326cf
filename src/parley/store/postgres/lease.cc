// The PostgreSQL store: the lease of standby gateways (store.h "The lease") and the fencing of
// every write by it (docs/operations.md "Standby gateways").
//
// Takeover and fencing are serialized by the lease row's lock: every write transaction of a
// fenced store reads the row FOR SHARE first, and a takeover updates it. So a write either
// commits before the takeover (and the new active, which recovers after taking the lease,
// sees it) or runs after it and finds another epoch (and applies nothing). A gateway paused
// in the middle of a transaction would hold the row's lock for as long as it is paused: its
// session ends its idle transaction after a lease's length (idle_in_transaction_session_timeout),
// and a takeover waits for the lock at most that long (lock_timeout) before trying again.

#include "parley/store/postgres/internal.h"

namespace parley::store::postgres_detail {

namespace {

std::int64_t ms_of(Duration d) { return static_cast<std::int64_t>(d.count()); }

}  // namespace

Status PostgresStore::set_session_timeouts(Duration ttl) {
  const std::string ms = std::to_string(ms_of(ttl));
  PARLEY_RETURN_IF_ERROR(exec(("SET idle_in_transaction_session_timeout = " + ms).c_str()));
  return exec(("SET lock_timeout = " + ms).c_str());
}

Result<std::optional<std::uint64_t>> PostgresStore::take_lease(std::string_view holder,
                                                               Duration ttl) {
  PARLEY_RETURN_IF_ERROR(set_session_timeouts(ttl));
  // The holder's name on the session too: pg_stat_activity shows which instance is connected,
  // and a row's writer can be told (the standby tests audit it so).
  Params name;
  name.text(holder.substr(0, 63));  // NAMEDATALEN - 1
  PARLEY_RETURN_IF_ERROR(run("SELECT set_config('application_name', $1, false)", name).status());
  Params p;
  p.text(holder);
  p.integer(ms_of(ttl));
  Result<PgResult> r =
      run("UPDATE lease SET holder = $1, epoch = epoch + 1, "
          "expires = clock_timestamp() + $2::bigint * interval '1 millisecond' "
          "WHERE id = 1 AND expires < clock_timestamp() RETURNING epoch",
          p);
  // 55P03: the row is locked by a write of the active gateway that outlived lock_timeout
  // (it is paused, or slow): not taken this time.
  if (!r.is_ok() && sqlstate_ == "55P03") return std::optional<std::uint64_t>();
  PARLEY_RETURN_IF_ERROR(r.status().with_context("taking the lease"));
  if (PQntuples(r->get()) != 1) return std::optional<std::uint64_t>();
  return std::optional<std::uint64_t>(static_cast<std::uint64_t>(Row(r->get(), 0).integer(0)));
}

Result<bool> PostgresStore::renew_lease(std::string_view holder, std::uint64_t epoch,
                                        Duration ttl) {
  Params p;
  p.text(holder);
  p.integer(static_cast<std::int64_t>(epoch));
  p.integer(ms_of(ttl));
  PARLEY_ASSIGN_OR_RETURN(
      const PgResult r,
      run("UPDATE lease SET expires = clock_timestamp() + $3::bigint * interval '1 millisecond' "
          "WHERE id = 1 AND holder = $1 AND epoch = $2",
          p));
  return std::string_view(PQcmdTuples(r.get())) == "1";
}

Status PostgresStore::release_lease(std::string_view holder, std::uint64_t epoch) {
  Params p;
  p.text(holder);
  p.integer(static_cast<std::int64_t>(epoch));
  return run("UPDATE lease SET expires = '-infinity' WHERE id = 1 AND holder = $1 AND epoch = $2",
             p)
      .status();
}

// Inside a write transaction of a fenced store: the lease must still be at the fenced epoch.
Status PostgresStore::check_fence() {
  if (!fenced_epoch_) return Status::ok();
  PARLEY_ASSIGN_OR_RETURN(const PgResult r,
                          run("SELECT epoch, holder FROM lease WHERE id = 1 FOR SHARE", Params()));
  if (PQntuples(r.get()) != 1) return Status::data_loss("the lease row is missing");
  const Row row(r.get(), 0);
  const auto epoch = static_cast<std::uint64_t>(row.integer(0));
  if (epoch == *fenced_epoch_) return Status::ok();
  return Status::failed_precondition("fenced: the lease is at epoch " + std::to_string(epoch) +
                                     " (held by " + row.text(1) + "), this gateway held epoch " +
                                     std::to_string(*fenced_epoch_) + "; nothing was written");
}

}  // namespace parley::store::postgres_detail
