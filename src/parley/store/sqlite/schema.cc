// The SQLite store: opening a store, migrating its schema (migrations.cc) to the current version.
#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "parley/store/sqlite/internal.h"
#include "parley/store/sqlite/sqlite_store.h"

namespace parley::store {
namespace {

using sqlite_detail::SqliteStore;
using sqlite_detail::StmtPtr;

const int kSchemaVersion = static_cast<int>(sqlite_detail::migrations().size());

// Maps a failure while opening: a file SQLite does not recognise is kDataLoss.
Status open_error(sqlite3* db, const std::string& path, std::string_view what) {
  const int code = sqlite3_errcode(db);
  if (code == SQLITE_NOTADB || code == SQLITE_CORRUPT) {
    return Status::data_loss(
        "'" + path + "' is not a SQLite database (or it is corrupt): " + sqlite3_errmsg(db));
  }
  return Status::unavailable("opening store '" + path + "': " + std::string(what) + ": " +
                             sqlite3_errmsg(db));
}

Status run(sqlite3* db, const std::string& path, const char* sql) {
  if (sqlite3_exec(db, sql, nullptr, nullptr, nullptr) != SQLITE_OK) {
    return open_error(db, path, sql);
  }
  return Status::ok();
}

// The value of a one-row, one-integer query; nullopt if there is no row.
Result<std::optional<std::int64_t>> query_int(sqlite3* db, const std::string& path,
                                              const char* sql) {
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db, sql, -1, &raw, nullptr) != SQLITE_OK) {
    sqlite3_finalize(raw);
    return open_error(db, path, sql);
  }
  StmtPtr stmt(raw);
  const int rc = sqlite3_step(raw);
  if (rc == SQLITE_DONE) return std::optional<std::int64_t>();
  if (rc != SQLITE_ROW) return open_error(db, path, sql);
  return std::optional<std::int64_t>(sqlite3_column_int64(raw, 0));
}

// kDataLoss unless the file is empty, or a SQLite database that is empty or a parley store.
Status check_is_parley(sqlite3* db, const std::string& path) {
  PARLEY_ASSIGN_OR_RETURN(
      const auto has_schema_table,
      query_int(db, path,
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'parley_schema'"));
  if (has_schema_table) return Status::ok();
  PARLEY_ASSIGN_OR_RETURN(const auto objects,
                          query_int(db, path, "SELECT COUNT(*) FROM sqlite_master"));
  if (objects && *objects > 0) {
    return Status::data_loss("'" + path +
                             "' is a SQLite database but not a parley store (no parley_schema "
                             "table)");
  }
  return Status::ok();
}

// Checks what the file holds and brings its schema to kSchemaVersion. Runs inside
// BEGIN IMMEDIATE, so two processes opening a new store do not both create it.
Status check_and_migrate(sqlite3* db, const std::string& path) {
  PARLEY_RETURN_IF_ERROR(check_is_parley(db, path));
  PARLEY_ASSIGN_OR_RETURN(
      const auto has_schema_table,
      query_int(db, path,
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'parley_schema'"));
  int version = 0;
  if (has_schema_table) {
    PARLEY_ASSIGN_OR_RETURN(const auto stored,
                            query_int(db, path, "SELECT MAX(version) FROM parley_schema"));
    if (!stored || *stored < 1) {
      return Status::data_loss("'" + path + "' is not a parley store (empty schema version)");
    }
    if (*stored > kSchemaVersion) {
      return Status::data_loss("store '" + path + "' has schema version " +
                               std::to_string(*stored) + ", newer than this parley understands (" +
                               std::to_string(kSchemaVersion) + "); upgrade parley");
    }
    version = static_cast<int>(*stored);
  } else {
    PARLEY_RETURN_IF_ERROR(run(db, path, "CREATE TABLE parley_schema (version INTEGER NOT NULL)"));
  }
  for (; version < kSchemaVersion; ++version) {
    PARLEY_RETURN_IF_ERROR(
        run(db, path, sqlite_detail::migrations()[static_cast<std::size_t>(version)]));
    const std::string record =
        "DELETE FROM parley_schema; INSERT INTO parley_schema (version) VALUES (" +
        std::to_string(version + 1) + ")";
    PARLEY_RETURN_IF_ERROR(run(db, path, record.c_str()));
  }
  return Status::ok();
}

// PRAGMA key's (and ATTACH ... KEY's) text for a raw key: "x'<64 hex digits>'" (SQLCipher
// uses the bytes as the AES-256 key, with no passphrase derivation).
std::string raw_key_literal(ByteView key) { return "x'" + hex_encode(key) + "'"; }

// Whether the file at `path` begins with SQLite's plaintext header ("SQLite format 3\0"); an
// encrypted file begins with its random salt.
bool has_plaintext_header(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::array<char, 16> head{};
  if (!in.read(head.data(), head.size())) return false;
  return std::memcmp(head.data(), "SQLite format 3", 16) == 0;
}

// The library is SQLCipher (PRAGMA cipher_version answers), else kFailedPrecondition: a key
// given to plain SQLite would be ignored and the file written in plaintext.
Status check_sqlcipher(sqlite3* db, const std::string& path) {
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db, "PRAGMA cipher_version", -1, &raw, nullptr) != SQLITE_OK) {
    sqlite3_finalize(raw);
    return open_error(db, path, "PRAGMA cipher_version");
  }
  StmtPtr stmt(raw);
  if (sqlite3_step(raw) != SQLITE_ROW) {
    return Status::failed_precondition("store '" + path +
                                       "': this parley is linked against SQLite without "
                                       "SQLCipher and cannot encrypt it");
  }
  return Status::ok();
}

// Keys the connection (when `key` is set) and reads the file's first page, telling a wrong
// key, a missing key and a plaintext file given a key apart.
Status unlock(sqlite3* db, const std::string& path, ByteView key) {
  if (!key.empty()) {
    if (key.size() != kStoreKeySize) {
      return Status::invalid_argument("a store key is " + std::to_string(kStoreKeySize) +
                                      " bytes, not " + std::to_string(key.size()));
    }
    PARLEY_RETURN_IF_ERROR(check_sqlcipher(db, path));
    const std::string pragma = "PRAGMA key = \"" + raw_key_literal(key) + "\"";
    if (sqlite3_exec(db, pragma.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) {
      return open_error(db, path, "PRAGMA key");
    }
    // SQLCipher's own log (a wrong key's "hmac check failed for pgno=1" on stderr) stays
    // quiet: the status below says what happened, once. Set after the key, which sets up
    // SQLCipher's logging.
    sqlite3_exec(db, "PRAGMA cipher_log_level = NONE", nullptr, nullptr, nullptr);
  }
  if (sqlite3_exec(db, "SELECT COUNT(*) FROM sqlite_master", nullptr, nullptr, nullptr) ==
      SQLITE_OK) {
    return Status::ok();
  }
  if ((sqlite3_errcode(db) & 0xff) != SQLITE_NOTADB) {
    return open_error(db, path, "reading the first page");
  }
  const bool plaintext = has_plaintext_header(path);
  if (!key.empty() && plaintext) {
    return Status::failed_precondition("store '" + path +
                                       "' is not encrypted, but a store key is configured: "
                                       "encrypt it with `parley store encrypt` "
                                       "(docs/operations.md \"The store at rest\")");
  }
  if (!key.empty()) return Status::permission_denied("the store key does not open " + path);
  return Status::data_loss("'" + path +
                           "' is not a SQLite database, or it is encrypted and no store key is "
                           "configured");
}

int fsync_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno;
  const int rc = ::fsync(fd) == 0 ? 0 : errno;
  ::close(fd);
  return rc;
}

// sqlcipher_export of `from` (already open on `db`) into a new `to`, in one read
// transaction.
Status export_into(sqlite3* db, const std::string& from, const std::string& to, ByteView to_key) {
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v2(db, "ATTACH DATABASE ?1 AS parley_export KEY ?2", -1, &raw, nullptr) !=
      SQLITE_OK) {
    sqlite3_finalize(raw);
    return open_error(db, from, "ATTACH");
  }
  StmtPtr attach(raw);
  const std::string key_text = to_key.empty() ? "" : raw_key_literal(to_key);
  sqlite3_bind_text(raw, 1, to.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(raw, 2, key_text.c_str(), -1, SQLITE_TRANSIENT);
  if (sqlite3_step(raw) != SQLITE_DONE) return open_error(db, from, "attaching " + to);
  attach.reset();
  Status status = run(db, from, "BEGIN");
  if (status.is_ok()) status = run(db, from, "SELECT sqlcipher_export('parley_export')");
  if (status.is_ok()) status = run(db, from, "COMMIT");
  if (!status.is_ok() && sqlite3_get_autocommit(db) == 0) {
    sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
  }
  if (Status detached = run(db, from, "DETACH DATABASE parley_export"); status.is_ok()) {
    status = detached;
  }
  return status;
}

}  // namespace

Status key_connection(sqlite3* db, const std::string& path, ByteView key) {
  return unlock(db, path, key);
}

Status export_sqlite_store(const std::string& from, ByteView from_key, const std::string& to,
                           ByteView to_key) {
  if (!to_key.empty() && to_key.size() != kStoreKeySize) {
    return Status::invalid_argument("a store key is " + std::to_string(kStoreKeySize) +
                                    " bytes, not " + std::to_string(to_key.size()));
  }
  std::error_code ec;
  if (std::filesystem::exists(to, ec) || ec) {
    return Status::already_exists("'" + to + "' already exists");
  }
  if (!std::filesystem::exists(from, ec)) return Status::not_found("no store at '" + from + "'");
  sqlite3* db = nullptr;
  // Read-write and create: an attached database takes the main one's flags, and `to` is
  // created. `from` exists (above); an empty one made by a race is refused below.
  if (const int rc =
          sqlite3_open_v2(from.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
      rc != SQLITE_OK) {
    Status status = Status::unavailable("opening store '" + from + "': " +
                                        (db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc)));
    sqlite3_close_v2(db);
    return status;
  }
  struct Closer {
    void operator()(sqlite3* d) const { sqlite3_close_v2(d); }
  };
  std::unique_ptr<sqlite3, Closer> connection(db);  // closed on every path
  sqlite3_busy_timeout(db, 5000);
  Status status = unlock(db, from, from_key);
  if (status.is_ok()) status = check_is_parley(db, from);
  if (status.is_ok()) {
    Result<std::optional<std::int64_t>> version =
        query_int(db, from, "SELECT MAX(version) FROM parley_schema");
    if (!version.is_ok() || !*version) {
      status = Status::data_loss("'" + from + "' is not a parley store");
    }
  }
  if (status.is_ok()) status = export_into(db, from, to, to_key);
  connection.reset();
  if (status.is_ok()) {
    if (const int err = fsync_file(to); err != 0) {
      status = Status::unavailable("fsync of '" + to + "': " + std::strerror(err));
    }
  }
  if (!status.is_ok()) {
    std::filesystem::remove(to, ec);
    for (const char* suffix : {"-wal", "-shm", "-journal"}) {
      std::filesystem::remove(to + suffix, ec);
    }
  }
  return status;
}

Result<std::unique_ptr<Store>> open_sqlite_store(const std::string& path) {
  return open_sqlite_store(path, SqliteOptions{});
}

Result<std::unique_ptr<Store>> open_sqlite_store(const std::string& path,
                                                 const SqliteOptions& options) {
  if (!options.key.empty() && options.key.size() != kStoreKeySize) {
    return Status::invalid_argument("a store key is " + std::to_string(kStoreKeySize) +
                                    " bytes, not " + std::to_string(options.key.size()));
  }
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(
      path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    Status status = Status::unavailable("opening store '" + path + "': " +
                                        (db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc)));
    sqlite3_close_v2(db);
    return status;
  }
  // From here the store owns the connection and closes it on every path.
  auto store = std::make_unique<SqliteStore>(db);
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, 5000);
  PARLEY_RETURN_IF_ERROR(unlock(db, path, options.key));
  // A foreign file is recognised before any pragma changes it.
  PARLEY_RETURN_IF_ERROR(check_is_parley(db, path));
  PARLEY_RETURN_IF_ERROR(run(db, path, "PRAGMA journal_mode=WAL"));
  PARLEY_RETURN_IF_ERROR(run(
      db, path, options.synchronous_full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=OFF"));
  PARLEY_RETURN_IF_ERROR(run(db, path, "PRAGMA foreign_keys=ON"));
  // Statement journals (a group commit's savepoints) in memory, not a temporary file opened
  // and closed on every commit. Durability is the WAL's, not theirs.
  PARLEY_RETURN_IF_ERROR(run(db, path, "PRAGMA temp_store=MEMORY"));
  PARLEY_RETURN_IF_ERROR(run(db, path, "BEGIN IMMEDIATE"));
  Status status = check_and_migrate(db, path);
  if (status.is_ok()) status = run(db, path, "COMMIT");
  if (!status.is_ok()) {
    if (sqlite3_get_autocommit(db) == 0) sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
    return status;
  }
  // What a crash left out of the search index (committed, not yet indexed), or a migration left
  // for it (schema 18), is not indexed here: a first start after the migration of a store of a
  // million messages would take minutes before the gateway is ready. The gateway indexes it
  // after its start, a batch at a time (Driver::index_search), and a search first indexes
  // whatever is left (list_messages).
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace parley::store
