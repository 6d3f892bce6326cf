// The joint transcript of two parties, read from one party's store (docs/protocol.md
// "Transcript export"; the byte-level format is ledger/export.h and ledger/formats.h):
//   bundles/<party>.json   both parties' bundles
//   logs/<owner>.jsonl     each party's log for this pair (ours complete, the peer's as far as
//                          we received it)
//   heads/<owner>.jsonl    each log's signed heads with the other party's receipt
//   proofs/<peer>.jsonl    inclusion proofs of the peer's entries we hold
//   manifest.json          every file's SHA-256, signed by this party (written last)
// `parley transcript export` writes it to a directory; the simulator keeps it in memory and
// verifies it as `parley verify` does (the transcript invariant). The bytes go to a sink,
// file by file, so that a log of millions of entries is never held whole.
#pragma once

#include <string>
#include <string_view>

#include "parley/base/status.h"
#include "parley/base/time.h"
#include "parley/crypto/crypto.h"
#include "parley/ledger/transcript.h"
#include "parley/store/store.h"
#include "parley/wire/wire.h"

namespace parley::store {

// Where an export's files go: open, write (any number of times), close; one file at a time.
class ExportSink {
 public:
  virtual ~ExportSink() = default;
  virtual Status open(const std::string& relative) = 0;
  virtual void write(std::string_view bytes) = 0;
  virtual Status close() = 0;
};

// Keeps every file in memory (ledger::ExportFiles: relative path -> contents).
class MemorySink final : public ExportSink {
 public:
  Status open(const std::string& relative) override;
  void write(std::string_view bytes) override;
  Status close() override { return Status::ok(); }
  const ledger::ExportFiles& files() const { return files_; }

 private:
  ledger::ExportFiles files_;
  std::string* current_ = nullptr;
};

// Exports the transcript of `mine.party` and `peer` from `store` into `sink`, the manifest
// signed with `key` (ours) and dated `created`. kNotFound if `peer` is not pinned.
// Heads are read before entries: every exported head covers only exported entries, whatever
// a running gateway appends meanwhile.
Status export_transcript(Store& store, const wire::Bundle& mine, const crypto::SigningKey& key,
                         const std::string& peer, Time created, ExportSink& sink);

}  // namespace parley::store
