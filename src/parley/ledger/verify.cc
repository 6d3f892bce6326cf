#include "parley/ledger/verify.h"

#include <algorithm>

#include "parley/base/check.h"
#include "parley/ledger/verify_plan.h"
#include "parley/ledger/witnessed.h"
#include "parley/wire/fields.h"
#include "parley/wire/wire.h"

namespace parley::ledger {
namespace {

using wire::fields::quote;

// How many manifest failures keep a place in a report whose other failures overflow.
constexpr std::size_t kManifestFailuresReserved = 20;

// The inclusion proof of entry k of a partial log (already parsed into r: index, leaf), on
// the same line of the proofs file, in the head of the size the proof names. A failure is
// reported at the proofs file's line, or at the log's line if the proof is for another entry.
Status check_entry_proof(const LogRecord& log, std::size_t k, const CheckResult& r,
                         InclusionChecker& inclusion) {
  const std::size_t line = k + 1;
  const auto fail = [&](StatusCode code, const std::string& message) {
    return Status(code, where(log.proofs_file, line, entry_item(r.index)) + ": " + message);
  };
  if (k >= log.proof_lines.size()) {
    return Status::invalid_argument(where(log.log_file, line, entry_item(r.index)) +
                                    ": no inclusion proof (" + log.proofs_file + " has no line " +
                                    std::to_string(line) + ")");
  }
  auto proof = parse_proof_line(log.proof_lines[k]);
  if (!proof.is_ok()) return fail(proof.status().code(), proof.status().message());
  if (proof->index != r.index) {
    return Status::invalid_argument(where(log.log_file, line, entry_item(r.index)) +
                                    ": the proof at " + where(log.proofs_file, line, "") +
                                    " is for entry " + std::to_string(proof->index));
  }
  const auto root = log.root_by_size.find(proof->size);
  if (root == log.root_by_size.end()) {
    return fail(StatusCode::kInvalidArgument,
                "no head of size " + std::to_string(proof->size) + " in " + log.heads_file);
  }
  if (Status s = inclusion.verify(r.index, proof->size, r.leaf, proof->proof, root->second);
      !s.is_ok()) {
    return fail(StatusCode::kUnauthenticated,
                "inclusion proof does not lead to the root of the head of size " +
                    std::to_string(proof->size) + " (" + s.message() + ")");
  }
  return Status::ok();
}

// One entry of a log: its line, the envelope's signature by the owner, its leaf hash, and for
// a partial log its inclusion proof.
CheckResult check_entry(const LogRecord& log, std::size_t k, InclusionChecker& inclusion) {
  CheckResult r;
  const std::size_t line = k + 1;
  std::optional<std::uint64_t> index;
  const auto fail = [&](StatusCode code, const std::string& message) {
    const std::string item = index ? entry_item(*index) : std::string();
    r.status = Status(code, one_line(where(log.log_file, line, item) + ": " + message));
    return r;
  };
  auto parsed = parse_log_line(log.entry_lines[k], index);
  if (!parsed.is_ok()) return fail(parsed.status().code(), parsed.status().message());
  if (parsed->key != log.owner) {
    return fail(StatusCode::kUnauthenticated, "envelope signed by " + quote(parsed->key) +
                                                  ", not by the log's owner " + quote(log.owner));
  }
  const std::string_view entry = parsed->entry();
  r.entry_known = true;
  r.index = parsed->index;
  r.leaf = leaf_hash(as_bytes(entry));
  if (log.chain && parsed->kind == EntryKind::kRotation) {
    // Opened by the plan, in log order (follow_rotations), with the key in force at its index.
    const auto it = log.rotations.find(k);
    PARLEY_CHECK(it != log.rotations.end());
    if (!it->second.is_ok()) return fail(it->second.code(), it->second.message());
    auto opened = wire::open_rotation(entry, log.chain->entry_key(r.index), log.owner);
    PARLEY_CHECK(opened.is_ok());  // the chain took it with this very key
    std::copy_n(opened->id.begin(), r.id.size(), r.id.begin());
  } else if (log.chain) {  // else the bundle's failure says why nothing of this party is checked
    auto opened = wire::open_envelope(entry, log.chain->entry_key(r.index), log.owner);
    if (!opened.is_ok()) {
      if (opened.status().code() == StatusCode::kUnauthenticated) {
        return fail(StatusCode::kUnauthenticated, "bad envelope signature");
      }
      return fail(opened.status().code(), opened.status().message());
    }
    if (opened->payload.from.party != log.owner) {
      return fail(StatusCode::kInvalidArgument, "envelope from " +
                                                    quote(opened->payload.from.to_string()) +
                                                    " in the log of " + quote(log.owner));
    }
    std::copy_n(opened->payload.id.begin(), r.id.size(), r.id.begin());
  }
  if (log.complete) return r;
  if (Status s = check_entry_proof(log, k, r, inclusion); !s.is_ok()) {
    r.status = Status(s.code(), one_line(s.message()));
  }
  return r;
}

// Which of the owner's keys a head of `size` needed, when the chain has more than one.
std::string key_at_head(const KeyChain& chain, std::uint64_t size) {
  if (chain.links().size() == 1) return "'s key";
  const crypto::VerifyKey& key = chain.head_key(size);
  for (const KeyChain::Link& link : chain.links()) {
    if (link.key == key) {
      return link.n == 0
                 ? "'s pinned key, in force at this size"
                 : "'s key of rotation " + std::to_string(link.n) + ", in force at this size";
    }
  }
  return "'s key";
}

// A countersignature is made by the other party with one of the keys of its chain. Receipts
// have no place in the other party's log, so any key of the chain is accepted (which one was
// in force when the receipt was signed is not something the export can show).
bool countersigned_by(const ReceiptV2& receipt, const std::optional<KeyChain>& chain,
                      const crypto::VerifyKey& pinned) {
  if (!chain) return verify_receipt_v2(receipt, pinned).is_ok();
  return std::any_of(
      chain->links().rbegin(), chain->links().rend(),
      [&](const KeyChain::Link& link) { return verify_receipt_v2(receipt, link.key).is_ok(); });
}

CheckResult run_one_check(const VerificationPlan& plan, std::size_t i,
                          InclusionChecker& inclusion) {
  if (i < plan.file_checks.size()) {
    CheckResult r;
    const std::string& path = plan.file_checks[i];
    if (crypto::sha256(as_bytes(plan.files->at(path))) != plan.manifest->manifest.files.at(path)) {
      r.status = Status::data_loss(one_line(path) +
                                   ": SHA-256 does not match manifest.json (changed after export)");
    }
    return r;
  }
  i -= plan.file_checks.size();
  if (i < plan.entry_checks) {
    const std::size_t l = i < plan.logs[0].entry_lines.size() ? 0 : 1;
    return check_entry(plan.logs[l], i - plan.logs[l].first_check, inclusion);
  }
  i -= plan.entry_checks;
  CheckResult r;
  if (i < plan.head_checks.size()) {
    const auto [l, h] = plan.head_checks[i];
    const LogRecord& log = plan.logs[l];
    const HeadRecord& head = log.heads[h];
    if (!verify_sth(head.sth, log.chain->head_key(head.sth.head.size)).is_ok()) {
      r.status =
          Status::unauthenticated(where(log.heads_file, head.line, head_item(head.sth.head.size)) +
                                  ": bad signature (not made with " + log.owner +
                                  key_at_head(*log.chain, head.sth.head.size) + ")");
    }
    return r;
  }
  i -= plan.head_checks.size();
  if (i < plan.receipt_checks.size()) {
    const auto [l, h] = plan.receipt_checks[i];
    const LogRecord& log = plan.logs[l];
    const HeadRecord& head = log.heads[h];
    if (!countersigned_by(*head.receipt, plan.logs[1 - l].chain, *log.other_key)) {
      r.status =
          Status::unauthenticated(where(log.heads_file, head.line, head_item(head.sth.head.size)) +
                                  ": bad countersignature (not made with " + log.other + "'s key)");
    }
    return r;
  }
  // The exporter signs with its newest key: the last of the chain its own (complete) log holds.
  const crypto::VerifyKey& exporter_key = plan.logs.empty() || !plan.logs[0].chain
                                              ? *plan.exporter_key
                                              : plan.logs[0].chain->newest().key;
  if (plan.manifest_check && !verify_manifest(*plan.manifest, exporter_key).is_ok()) {
    r.status = Status::unauthenticated("manifest.json: bad signature (not made with " +
                                       plan.exporter + "'s newest key)");
  }
  return r;
}

}  // namespace

CheckResult run_check(const VerificationPlan& plan, std::size_t i) {
  CheckResult r;
  run_checks(plan, i, i + 1, &r);
  return r;
}

void run_checks(const VerificationPlan& plan, std::size_t begin, std::size_t end,
                CheckResult* out) {
  InclusionChecker inclusion;
  for (std::size_t i = begin; i < end; ++i) out[i - begin] = run_one_check(plan, i, inclusion);
}

namespace {

// (c) A complete log: indices 0..n-1 in order, and the root at every head's size, all in one
// pass with a compact range.
void check_complete_log(const LogRecord& log, const CheckResult* results,
                        std::vector<std::string>& failures) {
  std::vector<const HeadRecord*> heads;
  for (const HeadRecord& head : log.heads) heads.push_back(&head);
  std::stable_sort(heads.begin(), heads.end(), [](const HeadRecord* a, const HeadRecord* b) {
    return a->sth.head.size < b->sth.head.size;
  });
  CompactRange range;
  std::size_t next_head = 0;
  const auto compare_heads = [&] {
    for (; next_head < heads.size() && heads[next_head]->sth.head.size == range.size();
         ++next_head) {
      const HeadRecord& head = *heads[next_head];
      const Hash root = range.root();
      if (root != head.sth.head.root) {
        failures.push_back(where(log.heads_file, head.line, head_item(head.sth.head.size)) +
                           ": root does not match the entries (expected " + short_hex(root) +
                           ", head says " + short_hex(head.sth.head.root) + ")");
      }
    }
  };
  compare_heads();
  const std::size_t n = log.entry_lines.size();
  for (std::size_t k = 0; k < n; ++k) {
    const CheckResult& r = results[log.first_check + k];
    // An invalid entry is reported by its own check; the roots past it cannot be recomputed.
    if (!r.status.is_ok()) return;
    if (r.index != k) {
      const std::string at = where(log.log_file, k + 1, entry_item(r.index));
      failures.push_back(r.index > k
                             ? at + ": entry " + std::to_string(k) +
                                   " is missing (a complete log holds entries 0..n-1 in order)"
                             : at + ": out of order or repeated (expected entry " +
                                   std::to_string(k) + " here)");
      return;
    }
    range.append(r.leaf);
    compare_heads();
  }
  for (; next_head < heads.size(); ++next_head) {
    const HeadRecord& head = *heads[next_head];
    failures.push_back(where(log.heads_file, head.line, head_item(head.sth.head.size)) +
                       ": the log holds only " + std::to_string(n) + " entries");
  }
}

// A partial log: indices strictly increasing (each entry's proof was checked on its own).
void check_partial_log(const LogRecord& log, const CheckResult* results,
                       std::vector<std::string>& failures) {
  std::optional<std::uint64_t> previous;
  for (std::size_t k = 0; k < log.entry_lines.size(); ++k) {
    const CheckResult& r = results[log.first_check + k];
    if (!r.entry_known) continue;
    if (previous && r.index <= *previous) {
      failures.push_back(where(log.log_file, k + 1, entry_item(r.index)) +
                         ": out of order or repeated (after entry " + std::to_string(*previous) +
                         ")");
    }
    previous = r.index;
  }
}

// (d) Each countersignature names entries the log holds, with their ids.
void check_receipts(const LogRecord& log, const CheckResult* results,
                    std::vector<std::string>& failures) {
  std::vector<std::pair<std::uint64_t, const CheckResult*>> by_index;
  bool all_known = true;  // else an entry named by a receipt may be on an unreadable line
  for (std::size_t k = 0; k < log.entry_lines.size(); ++k) {
    const CheckResult& r = results[log.first_check + k];
    if (r.entry_known) by_index.emplace_back(r.index, &r);
    all_known = all_known && r.entry_known;
  }
  std::stable_sort(by_index.begin(), by_index.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  for (const HeadRecord& head : log.heads) {
    if (!head.receipt) continue;
    const ReceiptV2Body& body = head.receipt->body;
    for (std::size_t j = 0; j < body.ids.size(); ++j) {
      const std::uint64_t index = body.indices[j];
      const auto it = std::lower_bound(by_index.begin(), by_index.end(), index,
                                       [](const auto& a, std::uint64_t i) { return a.first < i; });
      const std::string at = where(log.heads_file, head.line, head_item(head.sth.head.size));
      if (it == by_index.end() || it->first != index) {
        if (!all_known) continue;
        failures.push_back(at + ": the countersignature names entry " + std::to_string(index) +
                           ", which " + log.log_file + " does not hold");
        continue;
      }
      const CheckResult& entry = *it->second;
      if (!entry.status.is_ok() || !log.owner_key) continue;  // reported, or not checkable
      const std::string_view id(entry.id.data(), entry.id.size());
      if (id != body.ids[j]) {
        failures.push_back(at + ": the countersignature names entry " + std::to_string(index) +
                           " as " + body.ids[j] + ", the log holds " + std::string(id));
      }
    }
  }
}

}  // namespace

TranscriptReport finish_verification(const VerificationPlan& plan,
                                     const std::vector<CheckResult>& results) {
  PARLEY_CHECK(results.size() == check_count(plan));
  TranscriptReport report;
  report.parties = plan.parties;
  report.exporter = plan.exporter;
  std::vector<std::string> failures = plan.failures;
  std::vector<std::string> manifest_failures = plan.manifest_failures;
  std::vector<std::string> hash_failures;
  for (std::size_t i = 0; i < results.size(); ++i) {
    if (results[i].status.is_ok()) continue;
    if (i < plan.file_checks.size()) {
      hash_failures.push_back(results[i].status.message());
    } else if (plan.manifest_check && i + 1 == results.size()) {
      manifest_failures.push_back(results[i].status.message());
    } else {
      failures.push_back(results[i].status.message());
    }
  }
  for (const LogRecord& log : plan.logs) {
    ++report.logs;
    if (log.chain) {
      report.chains.emplace(log.owner, *log.chain);
      for (std::size_t i = 1; i < log.chain->links().size(); ++i) {
        const KeyChain::Link& link = log.chain->links()[i];
        report.rotations.push_back({log.owner, link.from_index - 1, link.n, link.key});
      }
    }
    report.entries += log.entry_lines.size();
    report.heads += log.heads.size();
    for (const HeadRecord& head : log.heads) report.countersignatures += head.receipt ? 1 : 0;
    const CheckResult* entries = results.data() + plan.file_checks.size();
    if (log.complete) {
      check_complete_log(log, entries, failures);
    } else {
      check_partial_log(log, entries, failures);
    }
    check_receipts(log, entries, failures);
  }
  // (e) Last: the manifest lists exactly the files present, with their SHA-256.
  if (plan.manifest) {
    const auto& listed = plan.manifest->manifest.files;
    for (const auto& [path, contents] : *plan.files) {
      if (path == kManifestPath || is_checkpoint_path(path)) continue;
      if (listed.count(path) == 0) {
        manifest_failures.push_back("manifest.json: does not list " + one_line(path) +
                                    ", which is in the export");
      }
    }
    for (const auto& [path, digest] : listed) {
      if (plan.files->count(path) == 0) {
        manifest_failures.push_back("manifest.json: lists " + path +
                                    ", which is not in the export");
      }
    }
  }
  manifest_failures.insert(manifest_failures.end(), hash_failures.begin(), hash_failures.end());
  report.failures_total = failures.size() + manifest_failures.size();
  const std::size_t reserved = std::min(manifest_failures.size(), kManifestFailuresReserved);
  const std::size_t keep = std::min(failures.size(), kFailuresMax - reserved);
  const std::size_t keep_manifest = std::min(manifest_failures.size(), kFailuresMax - keep);
  for (std::size_t i = 0; i < keep; ++i) report.failures.push_back(one_line(failures[i]));
  for (std::size_t i = 0; i < keep_manifest; ++i) {
    report.failures.push_back(one_line(manifest_failures[i]));
  }
  return report;
}

std::string TranscriptReport::summary() const {
  std::string out = "transcript";
  if (parties.size() == 2) {
    out += " " + parties[0] + " <-> " + parties[1];
  }
  out += ": " + std::to_string(logs) + " logs, " + std::to_string(entries) + " entries, " +
         std::to_string(heads) + " heads, " + std::to_string(countersignatures) +
         " countersignatures: ";
  if (valid()) return out + "all valid";
  return out + "INVALID, " + std::to_string(failures_total) +
         (failures_total == 1 ? " failure" : " failures");
}

TranscriptReport verify_transcript(const ExportFiles& files) {
  const PlanPtr plan = plan_verification(files);
  std::vector<CheckResult> results(check_count(*plan));
  run_checks(*plan, 0, results.size(), results.data());
  return finish_verification(*plan, results);
}

}  // namespace parley::ledger
