// What the Store tests share (the conformance suite, the SQLite-specific tests, the fault
// tests): a temporary directory, and records built with every field the store keeps.
// Test-only: linked into test binaries, never into parley.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "parley/store/store.h"

namespace parley::store::test {

namespace fs = std::filesystem;

// A fresh directory per test, removed afterwards.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// Where a test keeps its SQLite store in `dir`.
std::string sqlite_path(const fs::path& dir);

// A fixed instant plus `ms` milliseconds.
Time at(std::int64_t ms);

// A queued message from us-eucom/saceur to ru-genstaff/cgs with the fields a store must keep
// (needs_ack as the built-in catalog says for `type`).
core::MessageRecord message(std::string id, std::string line, std::uint64_t seq,
                            core::Direction direction, Time created, std::string type = "text");
// A message with every optional field set and awkward contents (zero bytes, non-ASCII).
core::MessageRecord every_field_set();

std::optional<std::int64_t> ms(const std::optional<Time>& t);
// EXPECTs every stored field of `got` equal to `want`'s (log_index aside).
void expect_same(const core::MessageRecord& want, const core::MessageRecord& got);
std::vector<std::string> ids_of(const std::vector<core::MessageRecord>& messages);

// A valid bundle of `party`, its keys drawn from `seed`.
wire::Bundle bundle(const std::string& party, std::uint64_t seed, std::string federation);
// A line from saceur to `remote_party`/cgs.
core::Line line(std::string id, std::string remote_party);

// A principal with a token hash (empty: none), no expiry, not revoked.
core::Principal principal(std::string id, std::string name, std::string role, Bytes token_hash);

// Stores inbound messages with `seqs` on `line` (ids "<line>-<seq>"), recorded with `peer`.
void put_inbound(Store& store, const std::string& line, const std::vector<std::uint64_t>& seqs,
                 const std::string& peer = "ru-genstaff");

// ---- the transcript ----
crypto::Digest hash_of(std::uint64_t i);
// Entry `index` of `owner`'s log for `peer`: message `id`, leaf hash_of(index).
core::LogEntry entry(std::string owner, std::string peer, std::uint64_t index, std::string id);
// The head of size `size`, root hash_of(1000 + size).
core::PutHead head(std::string owner, std::string peer, std::uint64_t size,
                   std::optional<std::string> receipt = std::nullopt,
                   std::optional<std::vector<crypto::Digest>> frontier = std::nullopt);

// Runs `sql` on the SQLite file at `path` through a connection of its own (as the CLI's, or an
// operator's sqlite3 would), keyed with `key_hex` (the store key's 64 hex digits) unless it is
// empty; returns the first column of the first row, "" if none (or on any error).
std::string raw_sql(const std::string& path, const std::string& sql,
                    const std::string& key_hex = "");

}  // namespace parley::store::test
