// A real PostgreSQL server for the store tests (no mock): CTest starts one for every test
// process (the fixture "postgres" in store/CMakeLists.txt, scripts/pg_test_server) and
// passes its URL in PARLEY_TEST_PG_URL; a test binary run by hand starts its own on first
// use and stops it at exit. Each test gets an empty schema of its own on that server.
// Test-only: linked into test binaries, never into parley.
#pragma once

#include <string>

#include "parley/base/status.h"

namespace parley::store::test {

// The server's URL; kUnavailable (naming what is missing, e.g. the postgresql-15 server
// binaries) if it cannot be started. Tests FAIL on that error: they never skip.
Result<std::string> postgres_server_url();

// A URL for a new, empty schema on that server (search_path set to it), as a fresh
// database would be: every connection opened with it sees the same schema.
Result<std::string> fresh_postgres_schema();

// Runs `sql` (one or more statements) on the database of `url`; for tests that reach under
// the store (old schemas, a newer version). Returns the first column of the first row of
// the last statement, or "" if it returned no rows.
Result<std::string> postgres_sql(const std::string& url, const std::string& sql);

}  // namespace parley::store::test
