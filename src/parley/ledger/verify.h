// verify: the offline verifier of an exported transcript, what `parley verify` runs
// (DESIGN.md "Transcript (ledger)"; docs/transcript.md "Verification"). It checks every
// signature (entries, heads, countersignatures, manifest), every inclusion proof, the Merkle
// roots of the complete log, the receipts against the logs, and the manifest's SHA-256 of
// every file, and reports each failure as one line naming its file, line and item.
//
// It is pure: the CLI reads the files and hands their contents in; the verifier never touches
// a file, a thread or a clock. It runs in three steps so that the CLI can spread the costly
// middle one (signatures, hashes) over many threads: plan (parse everything, cheap), run the
// independent checks (in any order, on any thread), finish (the sequential checks).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "parley/base/status.h"
#include "parley/crypto/crypto.h"
#include "parley/ledger/key_chain.h"
#include "parley/ledger/merkle.h"

namespace parley::ledger {

// Relative path ("logs/us-eucom.jsonl") -> the file's contents, for every regular file of
// the export directory.
using ExportFiles = std::map<std::string, std::string>;

inline constexpr std::size_t kFailuresMax = 100;

// The outcome of one independent check (run_check). Entry checks also return what the
// sequential pass needs: the entry's index, leaf hash and envelope id.
struct CheckResult {
  Status status;             // OK, or one line naming the file, line and item
  bool entry_known = false;  // entry checks: index/leaf/id below are meaningful
  std::uint64_t index = 0;
  Hash leaf{};
  std::array<char, 36> id{};  // the envelope id (a UUID)
};

// (a) The structural pass: splits and parses every file, and lists the independent checks:
// the SHA-256 of each file the manifest lists; one per log entry (parse, envelope signature,
// leaf hash, and for a partial log the inclusion proof); one per head signature, per
// countersignature, and the manifest's signature.
// The plan refers to `files`, which must outlive it.
class VerificationPlan;
struct VerificationPlanDeleter {
  void operator()(VerificationPlan* plan) const;
};
using PlanPtr = std::unique_ptr<VerificationPlan, VerificationPlanDeleter>;
PlanPtr plan_verification(const ExportFiles& files);
std::size_t check_count(const VerificationPlan& plan);
// (b) Check number i (0 <= i < check_count). Pure and thread-safe: any number of threads
// may run distinct (or equal) checks of one plan at once.
CheckResult run_check(const VerificationPlan& plan, std::size_t i);
// Checks begin..end-1 into out[0..end-begin), each as run_check would: consecutive entries of
// a log share most of their inclusion proofs' paths, which a range walks once.
void run_checks(const VerificationPlan& plan, std::size_t begin, std::size_t end, CheckResult* out);

struct TranscriptReport {
  std::vector<std::string> parties;  // the two parties, exporter first (when known)
  std::string exporter;
  std::size_t logs = 0;
  std::size_t entries = 0;
  std::size_t heads = 0;
  std::size_t countersignatures = 0;
  // The key rotations the logs hold that the chain of keys took (docs/transcript.md "The
  // chain of keys"), per log in index order: from `index + 1` on, `party` signs with `key`.
  struct Rotation {
    std::string party;
    std::uint64_t index = 0;
    std::uint64_t n = 0;
    crypto::VerifyKey key;
  };
  std::vector<Rotation> rotations;
  // Each log owner's chain of keys along its log in the export (the chain `rotations` lists),
  // by party; none for a party whose bundle does not read. What verify_witnessed (witnessed.h)
  // checks the owner's checkpoint with.
  std::map<std::string, KeyChain> chains;
  std::vector<std::string> failures;  // at most kFailuresMax lines, in the order found
  std::size_t failures_total = 0;     // including those left out
  bool valid() const { return failures_total == 0; }
  // "transcript a <-> b: 2 logs, N entries, H heads, C countersignatures: all valid"
  // (or ": N failures").
  std::string summary() const;
};
// (c, d, e) The sequential pass over the results of every check (results[i] = run_check(i)):
// the Merkle roots of complete logs (one pass, O(n)), receipts against the logs, and last
// the manifest's file list and SHA-256 of every file.
TranscriptReport finish_verification(const VerificationPlan& plan,
                                     const std::vector<CheckResult>& results);

// All three steps on the calling thread.
TranscriptReport verify_transcript(const ExportFiles& files);

}  // namespace parley::ledger
