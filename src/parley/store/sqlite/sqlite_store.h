// The SQLite implementation of Store: WAL, synchronous=FULL, one transaction per apply().
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "parley/base/bytes.h"
#include "parley/store/store.h"

namespace parley::store {

// Opens (creating if needed, and migrating the schema) the store at `path`, a plaintext file.
// kUnavailable if the file cannot be opened; kDataLoss if it is not a parley store or its
// schema is newer than this binary understands.
Result<std::unique_ptr<Store>> open_sqlite_store(const std::string& path);

struct SqliteOptions {
  // PRAGMA synchronous=FULL (every commit fsynced: the durability contract of Store). False
  // means synchronous=OFF: a commit survives the process being killed (the OS keeps the
  // file's pages) but not the machine losing power. Only for the simulator (sim/), whose
  // crashes are process crashes, and for tests that want speed.
  bool synchronous_full = true;
  // The file's SQLCipher key (kStoreKeySize bytes, used as the raw AES-256 key: no passphrase
  // derivation), or empty: a plaintext file. A new file is created encrypted with it. A key
  // that does not open the file is kPermissionDenied "the store key does not open PATH"; a
  // key given for a plaintext store is kFailedPrecondition; an encrypted store opened without
  // a key is kDataLoss, as any file that is not a SQLite database.
  Bytes key = {};
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
// `key`: the store's SQLCipher key (empty: a plaintext store); the backup is encrypted with it.
Result<BackupInfo> backup_sqlite_store(const std::string& path, const std::string& destination,
                                       ByteView key = {});

// The size of a store key: 256 bits.
inline constexpr std::size_t kStoreKeySize = 32;

// Copies the parley store at `from` (opened with `from_key`, empty: plaintext) into a new file
// `to` encrypted with `to_key` (empty: plaintext), in one read transaction (a consistent
// snapshot, while a gateway writes) with SQLCipher's sqlcipher_export. `to` must not exist;
// it is fsynced before this returns, and removed if the copy fails. Neither file is migrated.
// This is how a plaintext store is encrypted (`parley store encrypt`) and how an encrypted
// store is copied with its key. (SQLite's backup API, sqlite3_backup_*, copies an encrypted
// store only into a destination connection keyed first with the same key: SQLCipher refuses
// a plaintext destination, "backup is not supported with encrypted databases".)
Status export_sqlite_store(const std::string& from, ByteView from_key, const std::string& to,
                           ByteView to_key);

}  // namespace parley::store
