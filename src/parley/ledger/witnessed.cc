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

// `policy` as it applies to the checkpoint of `origin` of `size` entries, signed by `key`, the
// key of that head along the owner's `chain`: if it lists that key or one before it in the
// chain for the origin, `key` is one of its logs too (each rotation from there on was signed by
// the key it replaced: trust flows forward along the chain, never back).
Policy along_chain(const Policy& policy, const std::string& origin, const KeyChain& chain,
                   std::uint64_t size, const NoteVerifier& key) {
  const KeyChain::Link& head = chain.head_link(size);
  const auto& links = chain.links();
  const auto vouches = [&](const NoteVerifier& log) {
    return log.name == origin && log.type == kNoteKeyEd25519 &&
           std::any_of(links.begin(), links.end(), [&](const KeyChain::Link& link) {
             return link.from_index <= head.from_index && link.key == log.key;
           });
  };
  Policy out = policy;
  if (std::any_of(policy.logs.begin(), policy.logs.end(), vouches)) out.logs.push_back(key);
  return out;
}

// Reads and checks one log's checkpoint with the owner's `chain` (null: its bundle does not
// read); failures go to `failures`.
void check_log(const ExportFiles& files, WitnessedLog& log, const KeyChain* chain,
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
  if (chain == nullptr) return fail("no key of " + log.owner + ": " + bundle_path(log.owner));
  // The size first, for the key of that head; then the whole note, checked with it.
  Result<SignedNote> note = parse_note(file->second);
  Result<Checkpoint> text = note.is_ok() ? parse_checkpoint_text(note->text) : note.status();
  if (!text.is_ok()) return fail(text.status().message());
  const NoteVerifier key{log.origin, kNoteKeyEd25519, chain->head_key(text->size)};
  Result<OpenedCheckpoint> opened = open_checkpoint(file->second, key);
  if (!opened.is_ok()) {
    if (chain->links().size() == 1) return fail(opened.status().message());
    return fail(opened.status().message() + " (checked with the key of a head of size " +
                std::to_string(text->size) + " along " + log.owner + "'s chain of keys)");
  }
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
  if (applies)
    log.policy =
        check_policy(along_chain(*policy, log.origin, *chain, text->size, key), opened->note);
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

WitnessReport verify_witnessed(const ExportFiles& files, const TranscriptReport& transcript,
                               const std::vector<NoteVerifier>& witnesses, const Policy* policy) {
  WitnessReport report;
  const std::vector<std::string>& parties = transcript.parties;
  if (parties.size() < 2) return report;
  for (std::size_t i = 0; i < 2; ++i) {
    WitnessedLog log;
    log.owner = parties[i];
    log.origin = origin_of(parties[i], parties[1 - i]);
    const auto chain = transcript.chains.find(log.owner);
    check_log(files, log, chain != transcript.chains.end() ? &chain->second : nullptr, witnesses,
              policy, report.failures);
    report.policy_met = report.policy_met && log.policy.is_ok();
    report.logs.push_back(std::move(log));
  }
  return report;
}

}  // namespace parley::ledger
