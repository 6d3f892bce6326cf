// witnessed: the cosigned checkpoints an exported transcript carries, checked offline
// (docs/transcript.md "Cosigned checkpoints"). Next to the files the manifest covers, an
// export may hold checkpoints/<owner>.note: the latest checkpoint of <owner>'s log with every
// cosignature the exporter collected. The manifest does not list them: a cosignature is a
// third party's statement that proves itself, so removing one (or adding one later) leaves
// the exporter's signature intact; what a reader requires of them is its policy's business
// (`parley verify --policy`). Pure code.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "parley/ledger/checkpoint.h"
#include "parley/ledger/policy.h"
#include "parley/ledger/verify.h"

namespace parley::ledger {

// "checkpoints/<owner>.note".
std::string checkpoint_path(std::string_view owner);
// True for "checkpoints/<valid party id>.note".
bool is_checkpoint_path(std::string_view path);

struct WitnessedLog {
  std::string owner;
  std::string origin;
  std::optional<Checkpoint> checkpoint;  // none: the export holds no checkpoint of this log
  std::vector<std::string> cosigners;    // the witnesses (key names) whose cosignature verified
  Status policy = Status::ok();          // with a policy: whether the checkpoint meets it
};
struct WitnessReport {
  std::vector<WitnessedLog> logs;     // one per party of `parties`
  std::vector<std::string> failures;  // a checkpoint that is wrong (the record is invalid)
  bool policy_met = true;
};

// Checks checkpoints/<owner>.note for each of the two parties of `transcript` (what
// verify_transcript reported of `files`: its parties, exporter first, and each owner's chain
// of keys along its log): the owner's note key of that head signed it (under
// origin_of(owner, other), the key of the head of the checkpoint's size along the owner's
// chain: its bundle's sign_key until the head that first holds a rotation statement, the
// rotation's new key after it; key_chain.h), the origin is that log's, and a head of
// heads/<owner>.jsonl has its size and root (the heads themselves are verify_transcript's
// business). Cosignatures are checked with `witnesses` (type 0x04 keys; others are ignored,
// as signed-note says). With `policy`, each log the policy lists (every log if it lists none)
// must have a checkpoint that meets it; a policy that lists, for the origin, the key of that
// head or an earlier key of the owner's chain (the bundle's key it pinned, say) accepts the key
// of that head.
WitnessReport verify_witnessed(const ExportFiles& files, const TranscriptReport& transcript,
                               const std::vector<NoteVerifier>& witnesses, const Policy* policy);

}  // namespace parley::ledger
