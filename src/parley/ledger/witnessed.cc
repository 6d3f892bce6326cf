#include "parley/ledger/witnessed.h"

#include <algorithm>

#include "parley/ledger/export.h"
#include "parley/ledger/formats.h"
#include "parley/wire/wire.h"

namespace parley::ledger {
namespace {

constexpr std::string_view kDir = "checkpoints/";
constexpr std::string_view kSuffix = ".note";

// Whether heads/<owner>.jsonl holds a head of `size` with `root`.
bool has_head(const ExportFiles& files, const std::string& owner, const Checkpoint& checkpoint) {
  const auto file = files.find(heads_path(owner));
  if (file == files.end()) return false;
  std::string_view text = file->second;
  while (!text.empty()) {
    const std::size_t end = text.find('\n');
    const std::string_view line = text.substr(0, end);
    Result<HeadLine> head = parse_head_line(line);
    if (head.is_ok() && head->sth.head.size == checkpoint.size &&
        head->sth.head.root == checkpoint.root) {
      return true;
    }
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 1);
  }
  return false;
}

// The owner's log key, from bundles/<owner>.json.
Result<NoteVerifier> log_key(const ExportFiles& files, const std::string& owner,
                             const std::string& origin) {
  const auto file = files.find(bundle_path(owner));
  if (file == files.end()) return Status::not_found(bundle_path(owner) + ": missing");
  std::string_view text = file->second;
  while (!text.empty() && text.back() == '\n') text.remove_suffix(1);
  PARLEY_ASSIGN_OR_RETURN(const wire::Bundle bundle, wire::parse_bundle(text));
  return NoteVerifier{origin, kNoteKeyEd25519, bundle.sign_key};
}

// Reads and checks one log's checkpoint; failures go to `failures`.
void check_log(const ExportFiles& files, WitnessedLog& log,
               const std::vector<NoteVerifier>& witnesses, const Policy* policy,
               std::vector<std::string>& failures) {
  const std::string path = checkpoint_path(log.owner);
  const auto file = files.find(path);
  const bool applies = policy != nullptr &&
                       (policy->logs.empty() ||
                        std::any_of(policy->logs.begin(), policy->logs.end(),
                                    [&](const NoteVerifier& k) { return k.name == log.origin; }));
  if (file == files.end()) {
    if (applies) log.policy = Status::failed_precondition("policy: no checkpoint of this log");
    return;
  }
  const auto fail = [&](const std::string& why) {
    failures.push_back(path + ": " + why);
    if (applies) log.policy = Status::failed_precondition("policy: the checkpoint is invalid");
  };
  Result<NoteVerifier> key = log_key(files, log.owner, log.origin);
  if (!key.is_ok()) return fail(key.status().message());
  Result<OpenedCheckpoint> opened = open_checkpoint(file->second, *key);
  if (!opened.is_ok()) return fail(opened.status().message());
  if (opened->checkpoint.origin != log.origin) {
    return fail("origin '" + opened->checkpoint.origin + "', expected '" + log.origin + "'");
  }
  if (!has_head(files, log.owner, opened->checkpoint)) {
    return fail("no head of " + heads_path(log.owner) + " has size " +
                std::to_string(opened->checkpoint.size) + " and this root");
  }
  log.checkpoint = opened->checkpoint;
  for (const NoteVerifier& witness : witnesses) {
    for (const NoteSignature& sig : opened->note.sigs) {
      if (sig.name != witness.name || sig.id != witness.id()) continue;
      if (verify_cosignature(sig, opened->note.text, witness).is_ok()) {
        log.cosigners.push_back(witness.name);
      } else {
        failures.push_back(path + ": a bad cosignature by " + witness.name);
      }
    }
  }
  if (applies) log.policy = check_policy(*policy, opened->note);
}

}  // namespace

std::string checkpoint_path(std::string_view owner) {
  return std::string(kDir) + std::string(owner) + std::string(kSuffix);
}

bool is_checkpoint_path(std::string_view path) {
  if (!path.starts_with(kDir) || !path.ends_with(kSuffix)) return false;
  const std::string_view name =
      path.substr(kDir.size(), path.size() - kDir.size() - kSuffix.size());
  return !name.empty() && wire::is_valid_id(name);
}

WitnessReport verify_witnessed(const ExportFiles& files, const std::vector<std::string>& parties,
                               const std::vector<NoteVerifier>& witnesses, const Policy* policy) {
  WitnessReport report;
  if (parties.size() < 2) return report;
  for (std::size_t i = 0; i < 2; ++i) {
    WitnessedLog log;
    log.owner = parties[i];
    log.origin = origin_of(parties[i], parties[1 - i]);
    check_log(files, log, witnesses, policy, report.failures);
    report.policy_met = report.policy_met && log.policy.is_ok();
    report.logs.push_back(std::move(log));
  }
  return report;
}

}  // namespace parley::ledger
