// The PostgreSQL implementation of Store (libpq), for a party whose record must outlive one
// machine: PostgreSQL's streaming replication and failover keep it, not parley. Same contract
// as the SQLite store (store.h): one database transaction per apply() and per group commit,
// committed with synchronous_commit on (set for the session; a server with fsync off is
// refused), a batch refused alone under a savepoint, prepared statements, and recovery that
// reads what is pending rather than the history. docs/operations.md "PostgreSQL store".
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "parley/store/store.h"

namespace parley::store {

// True if `location` is a PostgreSQL connection URL (postgresql:// or postgres://) rather than
// the path of a SQLite store.
bool is_postgres_url(std::string_view location);

struct PostgresOptions {
  // For tests that build an old store: migrate only up to this schema version (0: the
  // newest this binary knows). A store opened this way must not be written through.
  int migrate_to_version = 0;
};

// Connects to the database at `url` (a libpq URL, postgresql://USER@HOST:PORT/DB?...),
// creates the schema in its current schema (search_path) if the database is empty, and
// runs the missing migrations in order, each in its own transaction (an advisory lock keeps
// two gateways from running one twice).
// Errors: kInvalidArgument for a malformed URL; kUnavailable if the server cannot be
// reached or refuses the connection; kFailedPrecondition if the server runs with fsync
// off; kDataLoss if the database holds tables but no parley store, or a schema newer than
// this binary (the message names both versions; nothing is changed).
// The returned store owns one connection; not thread-safe (store.h).
Result<std::unique_ptr<Store>> open_postgres_store(const std::string& url,
                                                   const PostgresOptions& options = {});

// The newest schema version this binary knows (the same numbering as the SQLite store's).
int postgres_schema_version();

}  // namespace parley::store
