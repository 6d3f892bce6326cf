#include "parley/store/transcript_export.h"

#include <map>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "parley/ledger/checkpoint.h"
#include "parley/ledger/witnessed.h"

namespace parley::store {
namespace {

constexpr std::size_t kPageEntries = 10'000;  // log entries read from the store at once

// One file of the export, hashed as it is written.
class File {
 public:
  File(ExportSink& sink, std::string relative) : sink_(sink), relative_(std::move(relative)) {}
  Status open() { return sink_.open(relative_); }
  void line(std::string_view text) {
    write(text);
    write("\n");
  }
  // Ends the file and records its SHA-256 in `files`.
  Status close(std::map<std::string, crypto::Digest>& files) {
    PARLEY_RETURN_IF_ERROR(sink_.close());
    files[relative_] = hash_.finish();
    return Status::ok();
  }

 private:
  void write(std::string_view text) {
    sink_.write(text);
    hash_.update(as_bytes(text));
  }
  ExportSink& sink_;
  std::string relative_;
  crypto::Sha256 hash_;
};

Status write_whole(ExportSink& sink, const std::string& relative, std::string_view text,
                   std::map<std::string, crypto::Digest>& files) {
  File file(sink, relative);
  PARLEY_RETURN_IF_ERROR(file.open());
  file.line(text);
  return file.close(files);
}

// Calls `each` on every entry of `owner`'s log, page by page.
template <typename Each>
Status for_each_entry(Store& store, const std::string& owner, const std::string& other, Each each) {
  for (std::uint64_t from = 0;;) {
    PARLEY_ASSIGN_OR_RETURN(const std::vector<core::LogEntryView> page,
                            store.log_entries(owner, other, from, kPageEntries));
    for (const core::LogEntryView& e : page) each(e);
    if (page.size() < kPageEntries) return Status::ok();
    from = page.back().index + 1;
  }
}

// Our log is complete; the peer's holds what we received, each entry with its proof in a
// head we export (`head_sizes`). A sink takes one file at a time, so the proofs are a second
// pass: an entry appended meanwhile comes with a later head, whose size is not exported.
Status export_log(Store& store, const std::string& owner, const std::string& other, bool ours,
                  const std::set<std::uint64_t>& head_sizes, ExportSink& sink,
                  std::map<std::string, crypto::Digest>& files) {
  const auto exported = [&](const core::LogEntryView& e) {
    return ours || (e.inclusion && head_sizes.count(e.inclusion->size) > 0);
  };
  File log_file(sink, ledger::log_path(owner));
  PARLEY_RETURN_IF_ERROR(log_file.open());
  PARLEY_RETURN_IF_ERROR(for_each_entry(store, owner, other, [&](const core::LogEntryView& e) {
    if (!exported(e)) return;
    // A key rotation statement is a line of its own kind (docs/transcript.md), so that
    // `parley verify` follows the chain of keys through it.
    log_file.line(ledger::encode_log_line(
        e.index, e.envelope,
        e.rotation ? ledger::EntryKind::kRotation : ledger::EntryKind::kEnvelope));
  }));
  PARLEY_RETURN_IF_ERROR(log_file.close(files));
  if (ours) return Status::ok();
  File proofs_file(sink, ledger::proofs_path(owner));
  PARLEY_RETURN_IF_ERROR(proofs_file.open());
  PARLEY_RETURN_IF_ERROR(for_each_entry(store, owner, other, [&](const core::LogEntryView& e) {
    if (!exported(e)) return;
    proofs_file.line(ledger::encode_proof_line(e.index, e.inclusion->size, e.inclusion->proof));
  }));
  return proofs_file.close(files);
}

// checkpoints/<owner>.note: the largest checkpoint of the log that a witness cosigned and whose
// head the export holds (`head_sizes`), with the cosignatures of every witness at that size.
// Not in the manifest (ledger/witnessed.h): cosignatures are the witnesses' statements.
Status export_checkpoint(const std::vector<CosignatureRecord>& cosigned, const std::string& owner,
                         const std::string& other, const std::set<std::uint64_t>& head_sizes,
                         ExportSink& sink) {
  const std::string origin = ledger::origin_of(owner, other);
  const CosignatureRecord* latest = nullptr;
  for (const CosignatureRecord& c : cosigned) {
    if (c.origin != origin || head_sizes.count(c.size) == 0) continue;
    if (latest == nullptr || c.size > latest->size) latest = &c;
  }
  if (latest == nullptr) return Status::ok();
  std::string note = latest->checkpoint;
  for (const CosignatureRecord& c : cosigned) {
    if (c.origin == origin && c.size == latest->size && c.checkpoint == latest->checkpoint) {
      note += c.signature;
    }
  }
  PARLEY_RETURN_IF_ERROR(sink.open(ledger::checkpoint_path(owner)));
  sink.write(note);
  return sink.close();
}

}  // namespace

Status MemorySink::open(const std::string& relative) {
  current_ = &files_[relative];
  current_->clear();
  return Status::ok();
}

void MemorySink::write(std::string_view bytes) {
  if (current_ != nullptr) current_->append(bytes);
}

Status export_transcript(Store& store, const wire::Bundle& mine, const crypto::SigningKey& key,
                         const std::string& peer, Time created, ExportSink& sink) {
  const std::string& me = mine.party;
  PARLEY_ASSIGN_OR_RETURN(const std::vector<core::Peer> peers, store.peers());
  const core::Peer* pinned = nullptr;
  for (const core::Peer& p : peers) {
    if (p.bundle.party == peer) pinned = &p;
  }
  if (pinned == nullptr) return Status::not_found("'" + peer + "' is not a pinned peer");

  std::map<std::string, crypto::Digest> files;
  PARLEY_RETURN_IF_ERROR(
      write_whole(sink, ledger::bundle_path(me), wire::encode_bundle(mine), files));
  PARLEY_RETURN_IF_ERROR(
      write_whole(sink, ledger::bundle_path(peer), wire::encode_bundle(pinned->bundle), files));
  std::map<std::string, std::set<std::uint64_t>> exported_sizes;  // by owner
  for (const auto& [owner, other] : {std::pair{me, peer}, std::pair{peer, me}}) {
    PARLEY_ASSIGN_OR_RETURN(const std::vector<core::HeadRecord> heads, store.heads(owner, other));
    std::set<std::uint64_t>& sizes = exported_sizes[owner];
    File heads_file(sink, ledger::heads_path(owner));
    PARLEY_RETURN_IF_ERROR(heads_file.open());
    for (const core::HeadRecord& h : heads) {
      heads_file.line(ledger::encode_head_line(h.sth, h.receipt));
      sizes.insert(h.size);
    }
    PARLEY_RETURN_IF_ERROR(heads_file.close(files));
    PARLEY_RETURN_IF_ERROR(export_log(store, owner, other, owner == me, sizes, sink, files));
  }

  PARLEY_ASSIGN_OR_RETURN(const std::vector<CosignatureRecord> cosigned, store.cosignatures());
  for (const auto& [owner, other] : {std::pair{me, peer}, std::pair{peer, me}}) {
    PARLEY_RETURN_IF_ERROR(export_checkpoint(cosigned, owner, other, exported_sizes[owner], sink));
  }

  ledger::Manifest manifest;
  manifest.exporter = me;
  manifest.parties = {me, peer};
  manifest.files = std::move(files);
  manifest.created = created;
  std::map<std::string, crypto::Digest> none;
  return write_whole(sink, std::string(ledger::kManifestPath),
                     ledger::encode_manifest(ledger::sign_manifest(manifest, key)), none);
}

}  // namespace parley::store
