// The SQLite implementation of Store: WAL, synchronous=FULL, one transaction per apply().
#pragma once

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

}  // namespace parley::store
