// verify_plan: the verifier's structural pass (step a of verify.h), shared by
// verify_plan.cc, which builds the plan, and verify.cc, which runs its checks and finishes.
// Internal to the ledger: callers use verify.h.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "parley/base/bytes.h"
#include "parley/crypto/crypto.h"
#include "parley/ledger/export.h"
#include "parley/ledger/formats.h"
#include "parley/ledger/key_chain.h"
#include "parley/ledger/merkle.h"
#include "parley/ledger/verify.h"

namespace parley::ledger {

struct HeadRecord {
  std::size_t line = 0;  // 1-based
  SignedTreeHead sth;
  std::optional<ReceiptV2> receipt;
};

struct LogRecord {
  std::string owner;
  std::string other;
  bool complete = false;  // the exporter's own log: every entry 0..n-1
  std::string log_file;
  std::string heads_file;
  std::string proofs_file;
  std::optional<crypto::VerifyKey> owner_key;
  std::optional<crypto::VerifyKey> other_key;
  // The owner's keys along its log (key_chain.h): from owner_key, one link per rotation entry
  // that holds; absent without owner_key.
  std::optional<KeyChain> chain;
  // The rotation entries, by line (0-based): OK if the chain took it, else why not.
  std::map<std::size_t, Status> rotations;
  std::vector<std::string_view> entry_lines;
  std::vector<std::string_view> proof_lines;
  std::vector<HeadRecord> heads;               // those that parsed, in file order
  std::map<std::uint64_t, Hash> root_by_size;  // the first head of each size
  std::size_t first_check = 0;                 // the check number of its first entry
};

// A check's place in its report: "logs/a.jsonl line 3 (entry 2)".
std::string where(std::string_view file, std::size_t line, std::string_view item);
std::string entry_item(std::uint64_t index);  // "entry 7"
std::string head_item(std::uint64_t size);    // "head size 256"
// Every failure is one line: control characters from outside input become '?'.
std::string one_line(std::string text);
std::string short_hex(const Hash& hash);  // the first 8 bytes, in hex, and ".."

class VerificationPlan {
 public:
  const ExportFiles* files = nullptr;
  std::vector<std::string> parties;  // exporter first
  std::string exporter;
  std::optional<SignedManifest> manifest;
  std::optional<crypto::VerifyKey> exporter_key;
  std::vector<LogRecord> logs;
  std::vector<std::string> failures;           // structural, in the order found
  std::vector<std::string> manifest_failures;  // reported last
  // The checks, numbered in this order: the SHA-256 of each file the manifest lists (first,
  // so that hashing a large file overlaps with the entries), the entries of logs[0] then of
  // logs[1], the heads' signatures, the countersignatures, the manifest's signature.
  std::vector<std::string> file_checks;  // paths, listed and present
  std::size_t entry_checks = 0;
  std::vector<std::pair<std::size_t, std::size_t>> head_checks;     // (log, head)
  std::vector<std::pair<std::size_t, std::size_t>> receipt_checks;  // (log, head)
  bool manifest_check = false;

  // Fills everything above from *files.
  void plan();

 private:
  void determine_parties();
  void check_file_names();
  std::map<std::string, crypto::VerifyKey> read_bundles();
  void read_log(LogRecord& log);
  void read_heads(LogRecord& log);
  void follow_rotations(LogRecord& log);
  void list_checks();
};

}  // namespace parley::ledger
