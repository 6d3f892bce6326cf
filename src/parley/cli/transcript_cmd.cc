// parley transcript export --home DIR --peer PARTY OUT_DIR
//
// Writes the joint transcript of this party and PARTY (docs/protocol.md "Transcript export";
// the byte-level format is ledger/transcript.h) from the store, for `parley verify` to check
// offline with no access to either gateway:
//   OUT_DIR/bundles/<party>.json   both parties' bundles
//   OUT_DIR/logs/<owner>.jsonl     each party's log for this pair (ours complete, the peer's
//                                  as far as we received it)
//   OUT_DIR/heads/<owner>.jsonl    each log's signed heads with the other party's receipt
//   OUT_DIR/proofs/<peer>.jsonl    inclusion proofs of the peer's entries we hold
//   OUT_DIR/manifest.json          every file's SHA-256, signed by this party (written last)
// The gateway may be running: the store is read through its own connection (SQLite WAL), and
// what the gateway appends meanwhile is either wholly in the export or wholly left out.
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "parley/base/time.h"
#include "parley/cli/commands.h"
#include "parley/core/model.h"
#include "parley/crypto/crypto.h"
#include "parley/gateway/home.h"
#include "parley/ledger/export.h"
#include "parley/ledger/formats.h"
#include "parley/ledger/verify.h"
#include "parley/store/sqlite/sqlite_store.h"
#include "parley/wire/wire.h"

namespace parley::cli {
namespace {

namespace fs = std::filesystem;

constexpr std::size_t kPageEntries = 10'000;  // log entries read from the store at once

struct ExportArgs {
  std::string home;
  std::string peer;
  std::string out_dir;
};

// One file of the export, written as it is hashed.
class ExportFile {
 public:
  ExportFile(const fs::path& root, std::string relative)
      : relative_(std::move(relative)), path_(root / relative_) {}

  Status open() {
    std::error_code ec;
    fs::create_directories(path_.parent_path(), ec);
    if (ec) {
      return Status::unavailable("cannot create " + path_.parent_path().string() + ": " +
                                 ec.message());
    }
    out_.open(path_, std::ios::binary | std::ios::trunc);
    if (!out_) return Status::unavailable("cannot write " + path_.string());
    return Status::ok();
  }
  void write(std::string_view text) {
    out_.write(text.data(), static_cast<std::streamsize>(text.size()));
    hash_.update(as_bytes(text));
  }
  void line(std::string_view text) {
    write(text);
    write("\n");
  }
  // Flushes and closes; the file's SHA-256.
  Result<crypto::Digest> close() {
    out_.flush();
    if (!out_) return Status::unavailable("writing " + path_.string() + " failed");
    out_.close();
    return hash_.finish();
  }
  const std::string& relative() const { return relative_; }

 private:
  std::string relative_;
  fs::path path_;
  std::ofstream out_;
  crypto::Sha256 hash_;
};

// Writes `text` (and a final newline) as `relative`, recording its hash in `files`.
Status write_whole(const fs::path& root, const std::string& relative, std::string_view text,
                   std::map<std::string, crypto::Digest>& files) {
  ExportFile file(root, relative);
  PARLEY_RETURN_IF_ERROR(file.open());
  file.line(text);
  PARLEY_ASSIGN_OR_RETURN(files[relative], file.close());
  return Status::ok();
}

Status prepare_out_dir(const fs::path& dir) {
  std::error_code ec;
  if (fs::exists(dir, ec)) {
    if (!fs::is_directory(dir, ec)) {
      return Status::already_exists(dir.string() + " exists and is not a directory");
    }
    if (!fs::is_empty(dir, ec)) {
      return Status::already_exists(dir.string() + " is not empty (export into a new directory)");
    }
    return Status::ok();
  }
  fs::create_directories(dir, ec);
  if (ec) return Status::unavailable("cannot create " + dir.string() + ": " + ec.message());
  return Status::ok();
}

Status run_export_steps(const ExportArgs& args) {
  if (!wire::is_valid_id(args.peer)) {
    return Status::invalid_argument("--peer '" + args.peer + "' is not a party id");
  }
  PARLEY_ASSIGN_OR_RETURN(const gateway::Home home, gateway::open_home(args.home));
  const std::string me = home.config.party;
  const std::string& peer = args.peer;
  if (peer == me) return Status::invalid_argument("--peer is this party itself");
  const fs::path db = home.store_path();
  std::error_code ec;
  if (!fs::exists(db, ec)) return Status::data_loss("the store " + db.string() + " is missing");
  Result<std::unique_ptr<store::Store>> opened = store::open_sqlite_store(db.string());
  if (!opened.is_ok()) return opened.status().with_context("opening the store");
  store::Store& store = **opened;

  PARLEY_ASSIGN_OR_RETURN(const std::vector<core::Peer> peers, store.peers());
  const core::Peer* pinned = nullptr;
  for (const core::Peer& p : peers) {
    if (p.bundle.party == peer) pinned = &p;
  }
  if (pinned == nullptr) return Status::not_found("'" + peer + "' is not a pinned peer");

  const fs::path root(args.out_dir);
  PARLEY_RETURN_IF_ERROR(prepare_out_dir(root));
  std::map<std::string, crypto::Digest> files;

  PARLEY_RETURN_IF_ERROR(write_whole(root, ledger::bundle_path(me),
                                     wire::encode_bundle(gateway::bundle_of(home)), files));
  PARLEY_RETURN_IF_ERROR(
      write_whole(root, ledger::bundle_path(peer), wire::encode_bundle(pinned->bundle), files));

  // Heads first, then entries: every head exported covers only entries that are exported
  // too, whatever the running gateway appends in between.
  for (const auto& [owner, other] : {std::pair{me, peer}, std::pair{peer, me}}) {
    PARLEY_ASSIGN_OR_RETURN(const std::vector<core::HeadRecord> heads, store.heads(owner, other));
    std::set<std::uint64_t> sizes;
    ExportFile heads_file(root, ledger::heads_path(owner));
    PARLEY_RETURN_IF_ERROR(heads_file.open());
    for (const core::HeadRecord& h : heads) {
      heads_file.line(ledger::encode_head_line(h.sth, h.receipt));
      sizes.insert(h.size);
    }
    PARLEY_ASSIGN_OR_RETURN(files[heads_file.relative()], heads_file.close());

    // Our log is complete; the peer's holds what we received, each entry with its proof in
    // the head it came with.
    const bool ours = owner == me;
    ExportFile log_file(root, ledger::log_path(owner));
    PARLEY_RETURN_IF_ERROR(log_file.open());
    std::optional<ExportFile> proofs_file;
    if (!ours) {
      proofs_file.emplace(root, ledger::proofs_path(owner));
      PARLEY_RETURN_IF_ERROR(proofs_file->open());
    }
    std::uint64_t from = 0;
    for (;;) {
      PARLEY_ASSIGN_OR_RETURN(const std::vector<core::LogEntryView> page,
                              store.log_entries(owner, other, from, kPageEntries));
      for (const core::LogEntryView& e : page) {
        if (!ours) {
          if (!e.inclusion || sizes.count(e.inclusion->size) == 0) continue;
          proofs_file->line(
              ledger::encode_proof_line(e.index, e.inclusion->size, e.inclusion->proof));
        }
        log_file.line(ledger::encode_log_line(e.index, e.envelope));
      }
      if (page.size() < kPageEntries) break;
      from = page.back().index + 1;
    }
    PARLEY_ASSIGN_OR_RETURN(files[log_file.relative()], log_file.close());
    if (proofs_file) {
      PARLEY_ASSIGN_OR_RETURN(files[proofs_file->relative()], proofs_file->close());
    }
  }

  ledger::Manifest manifest;
  manifest.exporter = me;
  manifest.parties = {me, peer};
  manifest.files = std::move(files);
  manifest.created =
      std::chrono::floor<std::chrono::milliseconds>(std::chrono::system_clock::now());
  std::map<std::string, crypto::Digest> none;
  PARLEY_RETURN_IF_ERROR(write_whole(
      root, std::string(ledger::kManifestPath),
      ledger::encode_manifest(ledger::sign_manifest(manifest, home.keys.signing)), none));
  std::cout << "exported the transcript of " << me << " and " << peer << " to " << root.string()
            << "\n"
            << std::flush;
  return Status::ok();
}

int run_export(const ExportArgs& args) {
  const Status status = run_export_steps(args);
  return status.is_ok() ? 0 : fail(status);
}

}  // namespace

void add_transcript_command(CLI::App& app, int& exit_code) {
  int* code = &exit_code;
  CLI::App* transcript =
      app.add_subcommand("transcript", "The joint transcript of a line's two parties");
  transcript->require_subcommand(1);
  auto args = std::make_shared<ExportArgs>();
  CLI::App* sub = transcript->add_subcommand(
      "export",
      "Write the transcript with PARTY (both logs, signed heads, receipts, proofs, bundles) to "
      "OUT_DIR, with a manifest signed by this party; check it with parley verify OUT_DIR");
  sub->add_option("--home", args->home, "The party's home directory (made by parley init)")
      ->required()
      ->type_name("DIR");
  sub->add_option("--peer", args->peer, "The other party, e.g. ru-genstaff")
      ->required()
      ->type_name("PARTY");
  sub->add_option("OUT_DIR", args->out_dir, "A new (or empty) directory")->required();
  sub->callback([args, code] { *code = run_export(*args); });
}

}  // namespace parley::cli
