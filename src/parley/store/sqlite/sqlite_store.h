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

}  // namespace parley::store
