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
#include "parley/store/transcript_export.h"
#include "parley/wire/wire.h"

namespace parley::cli {
namespace {

namespace fs = std::filesystem;

struct ExportArgs {
  std::string home;
  std::string peer;
  std::string out_dir;
};

// The export's files, written under `root`.
class DirectorySink final : public store::ExportSink {
 public:
  explicit DirectorySink(fs::path root) : root_(std::move(root)) {}

  Status open(const std::string& relative) override {
    path_ = root_ / relative;
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
  void write(std::string_view bytes) override {
    out_.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
  Status close() override {
    out_.flush();
    if (!out_) return Status::unavailable("writing " + path_.string() + " failed");
    out_.close();
    return Status::ok();
  }

 private:
  fs::path root_;
  fs::path path_;
  std::ofstream out_;
};

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
  PARLEY_ASSIGN_OR_RETURN(const std::unique_ptr<store::Store> opened, gateway::open_store(home));
  store::Store& store = *opened;

  const fs::path root(args.out_dir);
  PARLEY_RETURN_IF_ERROR(prepare_out_dir(root));
  // Signed by our newest key in our log for the peer (our rotations there); the bundle is
  // the first key's, where the chain in the export starts.
  PARLEY_ASSIGN_OR_RETURN(const core::Recovered recovered, store.recover(peer));
  PARLEY_ASSIGN_OR_RETURN(const crypto::SigningKey key,
                          gateway::newest_key_in(home, recovered.own_rotations));
  DirectorySink sink(root);
  PARLEY_RETURN_IF_ERROR(store::export_transcript(
      store, gateway::bundle_of(home), key, peer,
      std::chrono::floor<std::chrono::milliseconds>(std::chrono::system_clock::now()), sink));
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
  add_transcript_show_command(transcript, exit_code);
}

}  // namespace parley::cli
