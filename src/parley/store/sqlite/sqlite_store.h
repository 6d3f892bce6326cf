// The SQLite implementation of Store: WAL, synchronous=FULL, one transaction per apply().
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "parley/store/store.h"

namespace parley::store {

// Opens (creating if needed, and migrating the schema) the store at `path`.
// kUnavailable if the file cannot be opened; kDataLoss if it is not a parley store or its
// schema is newer than this binary understands.
Result<std::unique_ptr<Store>> open_sqlite_store(const std::string& path);

struct SqliteOptions {
  // PRAGMA synchronous=FULL (every commit fsynced: the durability contract of Store). False
  // means synchronous=OFF: a commit survives the process being killed (the OS keeps the
  // file's pages) but not the machine losing power. Only for the simulator (sim/), whose
  // crashes are process crashes, and for tests that want speed.
  bool synchronous_full = true;
};
// As above, with `options`.
Result<std::unique_ptr<Store>> open_sqlite_store(const std::string& path,
                                                 const SqliteOptions& options);

// What backup_sqlite_store wrote.
struct BackupInfo {
  std::uintmax_t bytes = 0;
  int schema_version = 0;
};
// Copies the parley store at `path` to the new file `destination` with SQLite's online
// backup API, while a gateway may be writing to it: the copy is the store as of one commit
// (every batch wholly in or out), passes SQLite's integrity check, is one self-contained file
// (rollback-journal mode; opening it puts it back in WAL), mode 0600, fsynced with its
// directory. `destination` appears only once complete. kAlreadyExists if `destination`
// exists (never overwritten); kNotFound if there is no store at `path`; kDataLoss if it is
// not a parley store or the copy is unsound; kUnavailable on I/O failure. Nothing is left
// behind on failure.
Result<BackupInfo> backup_sqlite_store(const std::string& path, const std::string& destination);

}  // namespace parley::store
