// The PostgreSQL server of the store tests (pg_test_server.h).
#include "parley/store/postgres/pg_test_server.h"

#include <unistd.h>

#include <array>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <libpq-fe.h>

#include "parley/store/postgres/libpq.h"

#ifndef PARLEY_PG_TEST_SERVER
#error "PARLEY_PG_TEST_SERVER must name scripts/pg_test_server"
#endif

namespace parley::store::test {
namespace {

std::string own_server_dir() { return "/tmp/parley-pg-test-" + std::to_string(::getpid()); }

void stop_own_server() {
  const std::string command = std::string(PARLEY_PG_TEST_SERVER) + " stop " + own_server_dir();
  (void)std::system(command.c_str());
}

// Starts a server for this process; its URL, or why not.
Result<std::string> start_own_server() {
  const std::string command =
      std::string(PARLEY_PG_TEST_SERVER) + " start " + own_server_dir() + " 2>&1";
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return Status::unavailable("cannot run " + command);
  std::string output;
  std::array<char, 512> buffer{};
  while (std::fgets(buffer.data(), buffer.size(), pipe) != nullptr) output += buffer.data();
  const int rc = ::pclose(pipe);
  while (!output.empty() && output.back() == '\n') output.pop_back();
  if (rc != 0) {
    stop_own_server();
    return Status::unavailable("cannot start a PostgreSQL server for the tests: " + output);
  }
  std::atexit(stop_own_server);
  // The URL is the last line (the script prints nothing else on success).
  if (const auto nl = output.rfind('\n'); nl != std::string::npos) output.erase(0, nl + 1);
  return output;
}

}  // namespace

Result<std::string> postgres_server_url() {
  static std::mutex mutex;
  static std::optional<Result<std::string>> url;
  const std::lock_guard<std::mutex> lock(mutex);
  if (!url) {
    const char* given = std::getenv("PARLEY_TEST_PG_URL");
    if (given != nullptr && *given != '\0') {
      url = Result<std::string>(std::string(given));
    } else {
      url = start_own_server();
    }
  }
  return *url;
}

Result<std::string> fresh_postgres_schema() {
  static std::atomic<int> counter{0};
  PARLEY_ASSIGN_OR_RETURN(const std::string server, postgres_server_url());
  const std::string schema = "t_" + std::to_string(::getpid()) + "_" + std::to_string(counter++);
  PARLEY_RETURN_IF_ERROR(postgres_sql(server, "CREATE SCHEMA " + schema).status());
  const char separator = server.find('?') == std::string::npos ? '?' : '&';
  return server + separator + "options=-csearch_path%3D" + schema;
}

Result<std::string> postgres_sql(const std::string& url, const std::string& sql) {
  PARLEY_RETURN_IF_ERROR(load_libpq());
  std::unique_ptr<PGconn, decltype(&PQfinish)> conn(PQconnectdb(url.c_str()), &PQfinish);
  if (!conn || PQstatus(conn.get()) != CONNECTION_OK) {
    return Status::unavailable("cannot connect to " + url + ": " +
                               (conn ? PQerrorMessage(conn.get()) : "out of memory"));
  }
  std::unique_ptr<PGresult, decltype(&PQclear)> r(PQexec(conn.get(), sql.c_str()), &PQclear);
  const ExecStatusType status = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    return Status::unavailable(sql + ": " + PQerrorMessage(conn.get()));
  }
  if (status == PGRES_TUPLES_OK && PQntuples(r.get()) > 0 && PQnfields(r.get()) > 0) {
    return std::string(PQgetvalue(r.get(), 0, 0));
  }
  return std::string();
}

}  // namespace parley::store::test
