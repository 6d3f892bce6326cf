// backup_sqlite_store: an online copy of a SQLite store with SQLite's backup API
// (https://www.sqlite.org/backup.html), for `parley backup` and `parley restore`.
//
// The copy is taken in one sqlite3_backup_step(-1), that is inside one read transaction of
// the source: in WAL mode the gateway keeps committing meanwhile, and the copy is the store
// as of one commit, every batch wholly in it or wholly out. It is written to a new file
// beside the destination, checked, fsynced, and only then linked to the destination's name
// (link(2) fails if that name exists), so FILE either does not exist or is a whole backup.
// A store encrypted at rest would key both connections here, and nowhere else.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <string>

#include <fmt/format.h>

#include "parley/store/sqlite/internal.h"
#include "parley/store/sqlite/sqlite_store.h"

namespace parley::store {
namespace {

struct Closer {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using DbPtr = std::unique_ptr<sqlite3, Closer>;

std::string errno_text(int error) { return std::strerror(error); }

Result<DbPtr> open_db(const std::string& path, int flags, std::string_view what, ByteView key) {
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, flags | SQLITE_OPEN_NOMUTEX, nullptr);
  DbPtr db(raw);
  if (rc != SQLITE_OK) {
    return Status::unavailable(
        fmt::format("opening {} '{}': {}", what, path,
                    raw != nullptr ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)));
  }
  sqlite3_extended_result_codes(raw, 1);
  sqlite3_busy_timeout(raw, 5000);
  // With SQLCipher both ends carry the store key: the backup API copies an encrypted store
  // only into a destination keyed the same, so the backup is encrypted as the store is.
  PARLEY_RETURN_IF_ERROR(key_connection(raw, path, key).with_context(what));
  return db;
}

// The single text or integer of `sql`'s first row, as text ("" if there is none).
Result<std::string> query_text(sqlite3* db, const std::string& path, const char* sql) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, sql, -1, &stmt, nullptr) != SQLITE_OK) {
    sqlite3_finalize(stmt);
    return Status::data_loss(
        fmt::format("'{}' cannot be read as a SQLite database: {}", path, sqlite3_errmsg(db)));
  }
  std::string value;
  const int rc = sqlite3_step(stmt);
  if (rc == SQLITE_ROW && sqlite3_column_text(stmt, 0) != nullptr) {
    value = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
  }
  sqlite3_finalize(stmt);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
    return Status::data_loss(
        fmt::format("'{}' cannot be read as a SQLite database: {}", path, sqlite3_errstr(rc)));
  }
  return value;
}

// The schema version of the parley store `db` holds; kDataLoss if it is not one.
Result<int> parley_schema_version(sqlite3* db, const std::string& path) {
  PARLEY_ASSIGN_OR_RETURN(
      const std::string has,
      query_text(db, path,
                 "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = "
                 "'parley_schema'"));
  if (has != "1") {
    return Status::data_loss(
        fmt::format("'{}' is not a parley store (no parley_schema table)", path));
  }
  PARLEY_ASSIGN_OR_RETURN(const std::string version,
                          query_text(db, path, "SELECT MAX(version) FROM parley_schema"));
  const int v = version.empty() ? 0 : std::atoi(version.c_str());
  if (v < 1) {
    return Status::data_loss(fmt::format("'{}' is not a parley store (no schema version)", path));
  }
  return v;
}

// Copies every page of `source` into `destination` (an empty database), as of one commit.
Status copy_pages(sqlite3* source, sqlite3* destination, const std::string& source_path) {
  sqlite3_backup* backup = sqlite3_backup_init(destination, "main", source, "main");
  if (backup == nullptr) {
    return Status::unavailable(
        fmt::format("starting the backup of '{}': {}", source_path, sqlite3_errmsg(destination)));
  }
  // One step copies everything under one read transaction. The source is in WAL mode, so
  // the gateway's commits do not block it; BUSY (a checkpoint or recovery holding a lock)
  // is retried a bounded number of times.
  int rc = SQLITE_OK;
  for (int attempt = 0; attempt < 50; ++attempt) {
    rc = sqlite3_backup_step(backup, -1);
    if (rc != SQLITE_BUSY && rc != SQLITE_LOCKED) break;
    sqlite3_sleep(100);
  }
  const int finish = sqlite3_backup_finish(backup);
  if (rc != SQLITE_DONE) {
    return Status::unavailable(fmt::format("copying '{}': {}", source_path,
                                           sqlite3_errstr(rc == SQLITE_OK ? finish : rc)));
  }
  if (finish != SQLITE_OK) {
    return Status::unavailable(
        fmt::format("copying '{}': {}", source_path, sqlite3_errmsg(destination)));
  }
  return Status::ok();
}

// The copy at `partial` is a whole, sound parley store: integrity, schema, one file.
Status check_copy(sqlite3* copy, const std::string& partial) {
  PARLEY_ASSIGN_OR_RETURN(const std::string integrity,
                          query_text(copy, partial, "PRAGMA integrity_check"));
  if (integrity != "ok") {
    return Status::data_loss(
        fmt::format("the copy '{}' fails SQLite's integrity check: {}", partial, integrity));
  }
  PARLEY_RETURN_IF_ERROR(parley_schema_version(copy, partial).status());
  // The copy keeps the source's WAL mode in its header; a backup is one self-contained file
  // (a restored store is put back in WAL mode when the gateway opens it).
  PARLEY_ASSIGN_OR_RETURN(const std::string mode,
                          query_text(copy, partial, "PRAGMA journal_mode=DELETE"));
  if (mode != "delete") {
    return Status::unavailable(fmt::format("'{}': cannot leave WAL mode ({})", partial, mode));
  }
  return Status::ok();
}

Status fsync_path(const std::string& path, int flags) {
  const int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) return Status::unavailable(fmt::format("opening '{}': {}", path, errno_text(errno)));
  const int rc = ::fsync(fd);
  const int error = errno;
  ::close(fd);
  if (rc != 0) return Status::unavailable(fmt::format("fsync '{}': {}", path, errno_text(error)));
  return Status::ok();
}

Status backup_into(const std::string& path, const std::string& partial, ByteView key) {
  PARLEY_ASSIGN_OR_RETURN(const DbPtr source, open_db(path, SQLITE_OPEN_READWRITE, "store", key));
  PARLEY_RETURN_IF_ERROR(parley_schema_version(source.get(), path).status());
  {
    PARLEY_ASSIGN_OR_RETURN(const DbPtr copy,
                            open_db(partial, SQLITE_OPEN_READWRITE, "backup", key));
    PARLEY_RETURN_IF_ERROR(copy_pages(source.get(), copy.get(), path));
    PARLEY_RETURN_IF_ERROR(check_copy(copy.get(), partial));
  }  // the copy is closed: everything is in the file
  return fsync_path(partial, O_RDONLY);
}

}  // namespace

Result<BackupInfo> backup_sqlite_store(const std::string& path, const std::string& destination,
                                       ByteView key) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::symlink_status(destination, ec).type() != fs::file_type::not_found) {
    return Status::already_exists(
        fmt::format("'{}' exists: a backup never overwrites a file", destination));
  }
  if (!fs::exists(path, ec)) {
    return Status::not_found(fmt::format("no store at '{}'", path));
  }
  // A new, empty file of our own beside the destination (same filesystem, for link(2));
  // encrypted with the store key if the store is, else it holds messages in plaintext: only
  // the owner may read it either way.
  const std::string partial = fmt::format("{}.partial-{}", destination, ::getpid());
  const int fd = ::open(partial.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    return Status::unavailable(fmt::format("creating '{}': {}", partial, errno_text(errno)));
  }
  ::close(fd);
  Status status = backup_into(path, partial, key);
  if (status.is_ok() && ::link(partial.c_str(), destination.c_str()) != 0) {
    status = errno == EEXIST ? Status::already_exists(fmt::format(
                                   "'{}' exists: a backup never overwrites a file", destination))
                             : Status::unavailable(fmt::format("naming the backup '{}': {}",
                                                               destination, errno_text(errno)));
  }
  ::unlink(partial.c_str());
  fs::remove(partial + "-journal", ec);
  PARLEY_RETURN_IF_ERROR(status);
  const fs::path parent = fs::absolute(destination, ec).parent_path();
  PARLEY_RETURN_IF_ERROR(fsync_path(parent.string(), O_RDONLY | O_DIRECTORY));
  BackupInfo info;
  info.bytes = fs::file_size(destination, ec);
  {
    PARLEY_ASSIGN_OR_RETURN(const DbPtr copy,
                            open_db(destination, SQLITE_OPEN_READONLY, "backup", key));
    PARLEY_ASSIGN_OR_RETURN(info.schema_version, parley_schema_version(copy.get(), destination));
  }
  return info;
}

}  // namespace parley::store
