// parley backup --home DIR FILE
// parley restore --home DIR FILE [--force]
//
// backup: an online copy of the home's SQLite store with SQLite's backup API
// (store::backup_sqlite_store), while the gateway runs; never overwrites FILE. A PostgreSQL
// store is refused with what to use instead (pg_dump).
//
// restore: puts a backup in place of the store, with the gateway stopped (the home's lock is
// taken for the whole command, so a gateway cannot start meanwhile). Before anything is
// replaced it checks the backup (integrity, a parley store, heads signed by this party's key)
// and compares it with the store it replaces, per peer: the size of our log the peer has
// countersigned, the size of the peer's log we countersigned, and our entries after the
// backup's log, as the current store records them. That is all the CLI can know offline (the
// peer may hold more than the current store records, never less). What the backup lacks that
// the peer holds, the gateway recovers from the peer at its next start (core/log_recovery.h,
// docs/protocol.md "Forks and restores"): it is said, not refused. What nobody else holds (a
// message accepted after the backup the peer never countersigned; an entry cancelled before
// it left, a hole no copy fills) is refused without --force, each named. So is a current
// store that cannot be read, since then nothing can be compared. The replaced store is kept
// beside, renamed STORE.replaced-<UTC time> (-2, -3, ... after it if a restore in the same
// second put one aside already; with its -wal and -shm), never deleted.
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <sys/stat.h>

#include "parley/base/text.h"
#include "parley/base/time.h"
#include "parley/cli/commands.h"
#include "parley/core/stored_chain.h"
#include "parley/gateway/home.h"
#include "parley/ledger/formats.h"
#include "parley/ledger/key_chain.h"
#include "parley/store/sqlite/sqlite_store.h"

namespace parley::cli {
namespace {

namespace fs = std::filesystem;

struct BackupArgs {
  std::string home;
  std::string file;
  bool force = false;
};

Status refuse_postgres(const gateway::Home& home, std::string_view what) {
  return Status::failed_precondition(fmt::format(
      "the store of {} is PostgreSQL ({}): {} with PostgreSQL's tools (pg_dump --format=custom; "
      "pg_restore into an empty database), docs/operations.md \"PostgreSQL store\"",
      home.dir.string(), "[store] url", what));
}

int run_backup(const BackupArgs& args) {
  const Result<gateway::Home> home = gateway::open_home(args.home);
  if (!home.is_ok()) return fail(home.status());
  if (!home->config.store_url.empty()) return fail(refuse_postgres(*home, "back it up"));
  const std::string store = home->store_path().string();
  const Result<Bytes> key = gateway::load_store_key(home->config, home->dir);
  if (!key.is_ok()) return fail(key.status().with_context("backup"));
  const Result<store::BackupInfo> info = store::backup_sqlite_store(store, args.file, *key);
  if (!info.is_ok()) return fail(info.status().with_context("backup"));
  std::cout << fmt::format("backed up {} to {} ({} bytes, schema version {})\n",
                           escape_for_terminal(store), escape_for_terminal(args.file), info->bytes,
                           info->schema_version)
            << std::flush;
  return 0;
}

// Per peer, the transcript sizes a store records (store::Store::recover).
struct PeerSizes {
  std::uint64_t log_size = 0;       // entries of our log for the peer
  std::uint64_t countersigned = 0;  // of it, the size the peer countersigned last
  std::uint64_t peer_head = 0;      // the size of the peer's log we countersigned last
};

Result<std::map<std::string, PeerSizes>> sizes_of(store::Store& store, const gateway::Home& home,
                                                  std::string_view which) {
  PARLEY_ASSIGN_OR_RETURN(const std::vector<core::Peer> peers, store.peers());
  std::map<std::string, PeerSizes> sizes;
  for (const core::Peer& peer : peers) {
    PARLEY_ASSIGN_OR_RETURN(const core::Recovered recovered, store.recover(peer.bundle.party));
    PeerSizes& s = sizes[peer.bundle.party];
    s.log_size = recovered.ledger.log_size;
    if (recovered.ledger.countersigned) {
      const core::RecoveredHead& head = *recovered.ledger.countersigned;
      s.countersigned = head.size;
      // Our own head: signed by this home's key in force at its size (our key rotations in
      // that log, docs/protocol.md "Key rotation"), or the store is another party's.
      ledger::KeyChain chain(home.config.party, home.keys.verify);
      Status opened = core::extend_chain(chain, recovered.own_rotations);
      if (opened.is_ok()) {
        opened = ledger::open_sth(head.sth, chain.head_key(head.size), home.config.party).status();
      }
      if (!opened.is_ok()) {
        return Status::failed_precondition(fmt::format(
            "{}: our head of size {} for {} does not open with this home's key ({}): not a "
            "store of {}",
            which, head.size, peer.bundle.party, opened.message(), home.config.party));
      }
    }
    if (recovered.ledger.peer_head) s.peer_head = recovered.ledger.peer_head->size;
  }
  return sizes;
}

std::string join(const std::vector<std::string>& items, std::string_view separator) {
  std::string out;
  for (const std::string& item : items) {
    if (!out.empty()) out += separator;
    out += item;
  }
  return out;
}

// What restoring the backup means, per peer: what the gateway recovers from the peer at its
// next start (core/log_recovery.h), and what nothing can bring back.
struct RestorePlan {
  std::vector<std::string> recovered;  // "ru-genstaff: entries 3..5 of our log, ..."
  std::vector<std::string> lost;       // one line each
};

// Our entries from `from` on in `current` (their messages), and the first one after them.
Status our_entries_after(store::Store& current, const std::string& us, const std::string& peer,
                         std::uint64_t from, std::vector<core::MessageRecord>& out) {
  constexpr std::size_t kPage = 1000;
  for (;;) {
    PARLEY_ASSIGN_OR_RETURN(const std::vector<core::LogEntryView> entries,
                            current.log_entries(us, peer, from, kPage));
    for (const core::LogEntryView& e : entries) {
      PARLEY_ASSIGN_OR_RETURN(const std::optional<core::MessageRecord> m,
                              current.get_message(e.message_id));
      if (m) out.push_back(*m);
      from = e.index + 1;
    }
    if (entries.size() < kPage) return Status::ok();
  }
}

Result<RestorePlan> plan_restore(store::Store& current, const std::string& us,
                                 const std::map<std::string, PeerSizes>& now,
                                 const std::map<std::string, PeerSizes>& backup) {
  RestorePlan plan;
  for (const auto& [peer, n] : now) {
    const auto it = backup.find(peer);
    const PeerSizes then = it == backup.end() ? PeerSizes{} : it->second;
    std::vector<std::string> parts;
    if (n.countersigned > then.log_size) {
      parts.push_back(fmt::format("entries {}..{} of our log (the peer countersigned them)",
                                  then.log_size, n.countersigned - 1));
    }
    if (n.peer_head > then.peer_head) {
      parts.push_back(fmt::format("entries {}..{} of {}'s log (we countersigned them)",
                                  then.peer_head, n.peer_head - 1, peer));
    }
    if (!parts.empty()) plan.recovered.push_back(peer + ": " + join(parts, ", "));
    // Our entries the backup lacks: up to the peer's head, the peer holds them, unless one
    // never left (cancelled): a hole. After it, nobody holds them but the replaced store.
    std::vector<core::MessageRecord> after;
    PARLEY_RETURN_IF_ERROR(our_entries_after(current, us, peer, then.log_size, after));
    for (const core::MessageRecord& m : after) {
      const std::uint64_t index = m.log_index.value_or(0);
      if (index < n.countersigned && m.state == core::MessageState::kCancelled) {
        plan.lost.push_back(fmt::format(
            "{}: entry {} of our log (message {}) was cancelled before it left: {} does not hold "
            "it, so the entries after it cannot be recovered",
            peer, index, m.id, peer));
      } else if (index >= n.countersigned) {
        plan.lost.push_back(fmt::format(
            "{}: message {} ({} {} on line {}, {}) was accepted after the backup and {} never "
            "countersigned it: it would be lost",
            peer, m.id, wire::precedence_name(m.precedence), m.type, m.line,
            core::state_name(m.state), peer));
      }
    }
  }
  return plan;
}

void remove_store_files(const fs::path& db) {
  std::error_code ec;
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
    fs::remove(fs::path(db.string() + suffix), ec);
  }
}

// Moves the store at `db` (and its -wal, -shm) aside to `aside`; false if there was none.
Result<bool> move_aside(const fs::path& db, const fs::path& aside) {
  std::error_code ec;
  if (!fs::exists(db, ec)) return false;
  for (const char* suffix : {"", "-wal", "-shm"}) {
    const fs::path from(db.string() + suffix);
    if (!fs::exists(from, ec)) continue;
    fs::rename(from, fs::path(aside.string() + suffix), ec);
    if (ec) {
      return Status::unavailable(fmt::format("moving {} aside: {}", from.string(), ec.message()));
    }
  }
  return true;
}

Status restore_steps(const BackupArgs& args) {
  PARLEY_ASSIGN_OR_RETURN(const gateway::Home home, gateway::open_home(args.home));
  if (!home.config.store_url.empty()) return refuse_postgres(home, "restore it");
  // Held until the end: no gateway runs on this home or store while it is replaced.
  const Result<gateway::HomeLock> lock = gateway::HomeLock::acquire(home);
  if (!lock.is_ok()) {
    return lock.status().with_context("restore: stop the gateway first");
  }
  std::error_code ec;
  if (!fs::is_regular_file(args.file, ec)) {
    return Status::not_found(fmt::format("no backup file '{}'", args.file));
  }
  const fs::path db = home.store_path();
  const fs::path staging(db.string() + ".restoring");
  remove_store_files(staging);  // left by a restore that failed; the lock is ours
  // A copy of the backup, checked, beside the store; the backup file itself is only read. It
  // opens with this home's store key (a backup is encrypted as its store was).
  PARLEY_ASSIGN_OR_RETURN(const Bytes key, gateway::load_store_key(home.config, home.dir));
  const Status copied = store::backup_sqlite_store(args.file, staging.string(), key).status();
  if (copied.code() == StatusCode::kPermissionDenied) {
    // SQLCipher cannot tell a file that is no store from one encrypted with another key.
    remove_store_files(staging);
    return Status::failed_precondition(
        fmt::format("the backup: {}: not a parley store, or one encrypted with another store key "
                    "(a backup opens only with the key of the store it was taken from)",
                    copied.message()));
  }
  PARLEY_RETURN_IF_ERROR(copied.with_context("the backup"));
  Result<std::map<std::string, PeerSizes>> restored =
      [&]() -> Result<std::map<std::string, PeerSizes>> {
    store::SqliteOptions options;
    options.key = key;
    PARLEY_ASSIGN_OR_RETURN(const std::unique_ptr<store::Store> s,
                            store::open_sqlite_store(staging.string(), options));
    return sizes_of(*s, home, "the backup");
  }();
  if (!restored.is_ok()) {
    remove_store_files(staging);
    return restored.status();
  }
  Result<std::map<std::string, PeerSizes>> current =
      [&]() -> Result<std::map<std::string, PeerSizes>> {
    PARLEY_ASSIGN_OR_RETURN(const std::unique_ptr<store::Store> s, gateway::open_store(home));
    return sizes_of(*s, home, "the current store");
  }();
  RestorePlan plan;
  if (current.is_ok()) {
    Result<RestorePlan> planned = [&]() -> Result<RestorePlan> {
      PARLEY_ASSIGN_OR_RETURN(const std::unique_ptr<store::Store> s, gateway::open_store(home));
      return plan_restore(*s, home.config.party, *current, *restored);
    }();
    if (planned.is_ok()) {
      plan = std::move(*planned);
    } else {
      plan.lost.push_back("the current store cannot be read (" + planned.status().message() +
                          "): what would be lost cannot be said");
    }
  } else {
    plan.lost.push_back("the current store cannot be read (" + current.status().message() +
                        "): what the peers hold cannot be compared");
  }
  if (!plan.lost.empty() && !args.force) {
    remove_store_files(staging);
    return Status::failed_precondition(fmt::format(
        "restore: the backup lacks what no peer can give back: {}; --force restores it anyway "
        "(docs/operations.md \"Backups\")",
        join(plan.lost, "; ")));
  }
  std::string stamp =
      format_time(std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now()));
  std::erase(stamp, ':');  // 2026-11-24T210000.000Z
  // Never over a store an earlier restore put aside (two restores in the same second).
  fs::path aside(db.string() + ".replaced-" + stamp);
  for (int n = 2; fs::exists(aside, ec) || fs::exists(aside.string() + "-wal", ec) ||
                  fs::exists(aside.string() + "-shm", ec);
       ++n) {
    aside = db.string() + ".replaced-" + stamp + "-" + std::to_string(n);
  }
  // The marker first: a restored store is never started without recovering from the peers.
  const fs::path marker = gateway::restore_marker_path(home);
  if (std::FILE* f = std::fopen(marker.c_str(), "w"); f == nullptr || std::fclose(f) != 0) {
    const std::string why = std::strerror(errno);
    remove_store_files(staging);
    return Status::unavailable(fmt::format("writing {}: {}", marker.string(), why));
  }
  const Result<bool> moved = move_aside(db, aside);
  if (!moved.is_ok()) {
    remove_store_files(staging);
    fs::remove(marker, ec);  // the store stays as it was
    return moved.status();
  }
  fs::rename(staging, db, ec);
  if (ec) return Status::unavailable(fmt::format("putting the backup in place: {}", ec.message()));
  ::chmod(db.c_str(), 0600);
  for (const std::string& line : plan.lost) {
    std::cout << "WARNING: " << escape_for_terminal(line) << "\n";
  }
  for (const std::string& line : plan.recovered) {
    std::cout << "at its next start the gateway recovers from " << escape_for_terminal(line)
              << "\n";
  }
  for (const auto& [peer, s] : *restored) {
    std::cout << fmt::format(
        "{}: our log {} entries ({} countersigned), {}'s log {} entries countersigned\n", peer,
        s.log_size, s.countersigned, peer, s.peer_head);
  }
  std::cout << "at its next start the gateway asks every peer for its copy of our logs before "
               "it signs anything new\n";
  std::cout << fmt::format("restored {} from {}", db.string(), escape_for_terminal(args.file));
  if (*moved) std::cout << fmt::format("; the replaced store is {}", aside.string());
  std::cout << "\n" << std::flush;
  return Status::ok();
}

int run_restore(const BackupArgs& args) {
  const Status status = restore_steps(args);
  return status.is_ok() ? 0 : fail(status);
}

}  // namespace

void add_backup_commands(CLI::App& app, int& exit_code) {
  int* code = &exit_code;
  auto backup = std::make_shared<BackupArgs>();
  CLI::App* b = app.add_subcommand(
      "backup",
      "Copy the home's SQLite store to FILE while the gateway runs (SQLite's online backup: "
      "consistent as of one commit); FILE must not exist. PostgreSQL stores: use pg_dump");
  b->add_option("--home", backup->home, "The party's home directory (made by parley init)")
      ->required()
      ->type_name("DIR");
  b->add_option("FILE", backup->file, "The new backup file (mode 0600; never overwritten)")
      ->required();
  b->callback([backup, code] { *code = run_backup(*backup); });

  auto restore = std::make_shared<BackupArgs>();
  CLI::App* r = app.add_subcommand(
      "restore",
      "Put the backup FILE in place of the home's store (the gateway must be stopped). What the "
      "backup lacks that a peer holds, the gateway recovers from that peer at its next start "
      "(said per peer); what nobody else holds (a message the peer never countersigned) is "
      "refused unless --force, each named; the replaced store is kept beside as "
      "STORE.replaced-TIME");
  r->add_option("--home", restore->home, "The party's home directory (made by parley init)")
      ->required()
      ->type_name("DIR");
  r->add_option("FILE", restore->file, "A file made by parley backup")->required();
  r->add_flag("--force", restore->force,
              "Restore even if the backup lacks what no peer can give back (each is printed as "
              "a WARNING and lost), or the current store cannot be read");
  r->callback([restore, code] { *code = run_restore(*restore); });
}

}  // namespace parley::cli
