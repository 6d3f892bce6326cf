#include "parley/ledger/verify_plan.h"

#include <algorithm>

#include "parley/base/json.h"
#include "parley/ledger/witnessed.h"
#include "parley/wire/fields.h"
#include "parley/wire/wire.h"

namespace parley::ledger {
namespace {

using wire::fields::quote;

// Splits a JSONL file into its lines (without their "\n").
std::vector<std::string_view> split_lines(const std::string& file, std::string_view text,
                                          std::vector<std::string>& failures) {
  std::vector<std::string_view> lines;
  std::size_t begin = 0;
  while (begin < text.size()) {
    const std::size_t end = text.find('\n', begin);
    if (end == std::string_view::npos) {
      lines.push_back(text.substr(begin));
      failures.push_back(where(file, lines.size(), "") + ": the last line has no final newline");
      break;
    }
    lines.push_back(text.substr(begin, end - begin));
    begin = end + 1;
  }
  return lines;
}

// Why `receipt` is not the other party's countersignature of exactly `sth`; empty if it is.
std::string countersignature_error(const LogRecord& log, const SignedTreeHead& sth,
                                   const ReceiptV2& receipt) {
  if (receipt.key != log.other) {
    return "countersignature by " + quote(receipt.key) + ", expected the other party " +
           quote(log.other);
  }
  if (receipt.body.sth != sth.payload_bytes) {
    return "countersignature: its sth is not this head's signed payload";
  }
  if (receipt.body.sth_sig != sth.sig) {
    return "countersignature: its sth_sig is not this head's signature";
  }
  return {};
}

}  // namespace

std::string where(std::string_view file, std::size_t line, std::string_view item) {
  std::string out(file);
  if (line > 0) out += " line " + std::to_string(line);
  if (!item.empty()) out += " (" + std::string(item) + ")";
  return out;
}

std::string entry_item(std::uint64_t index) { return "entry " + std::to_string(index); }
std::string head_item(std::uint64_t size) { return "head size " + std::to_string(size); }

std::string one_line(std::string text) {
  for (char& c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) c = '?';
  }
  return text;
}

std::string short_hex(const Hash& hash) { return hex_encode(hash).substr(0, 16) + ".."; }

void VerificationPlanDeleter::operator()(VerificationPlan* plan) const { delete plan; }

void VerificationPlan::determine_parties() {
  const auto manifest_file = files->find(std::string(kManifestPath));
  if (manifest_file == files->end()) {
    manifest_failures.push_back("manifest.json: missing");
  } else {
    auto parsed = parse_manifest(manifest_file->second);
    if (parsed.is_ok()) {
      manifest = std::move(*parsed);
    } else {
      manifest_failures.push_back("manifest.json: " + parsed.status().message());
    }
  }
  if (manifest) {
    exporter = manifest->manifest.exporter;
    parties = {exporter, manifest->manifest.parties[0] == exporter ? manifest->manifest.parties[1]
                                                                   : manifest->manifest.parties[0]};
    return;
  }
  // Without a readable manifest, the rest can still be checked: the parties are the two
  // bundles, and the exporter is the one whose log has no proofs file (it is complete).
  std::vector<std::string> bundled;
  for (const auto& [path, contents] : *files) {
    if (path.starts_with("bundles/") && is_export_path(path)) {
      bundled.push_back(path.substr(8, path.size() - 8 - 5));
    }
  }
  if (bundled.size() != 2) {
    failures.push_back(
        "cannot tell the two parties: manifest.json is not readable and the "
        "export holds " +
        std::to_string(bundled.size()) + " bundles");
    return;
  }
  const bool proofs0 = files->count(proofs_path(bundled[0])) > 0;
  const bool proofs1 = files->count(proofs_path(bundled[1])) > 0;
  if (proofs0 == proofs1) {
    failures.push_back("cannot tell the exporter: manifest.json is not readable and " +
                       std::string(proofs0 ? "both logs have" : "neither log has") +
                       " a proofs file");
    return;
  }
  exporter = proofs0 ? bundled[1] : bundled[0];
  parties = {exporter, proofs0 ? bundled[0] : bundled[1]};
}

void VerificationPlan::read_heads(LogRecord& log) {
  const auto file = files->find(log.heads_file);
  if (file == files->end()) {
    failures.push_back(log.heads_file + ": missing");
    return;
  }
  const std::vector<std::string_view> lines = split_lines(log.heads_file, file->second, failures);
  std::uint64_t previous_size = 0;
  for (std::size_t k = 0; k < lines.size(); ++k) {
    const std::size_t line = k + 1;
    const auto fail = [&](std::string_view item, const std::string& message) {
      failures.push_back(where(log.heads_file, line, item) + ": " + message);
    };
    auto parsed = parse_head_line(lines[k]);
    if (!parsed.is_ok()) {
      fail("", parsed.status().message());
      continue;
    }
    HeadRecord head;
    head.line = line;
    head.sth = std::move(parsed->sth);
    const TreeHead& h = head.sth.head;
    const std::string item = head_item(h.size);
    if (h.log != log.owner || h.peer != log.other) {
      fail(item, "the head of " + quote(h.log) + "'s log for " + quote(h.peer) +
                     " in the file of " + quote(log.owner) + "'s log for " + quote(log.other));
      continue;
    }
    if (h.size < previous_size) {
      fail(item, "heads out of order: size " + std::to_string(h.size) + " after size " +
                     std::to_string(previous_size));
    }
    previous_size = std::max(previous_size, h.size);
    const auto [it, inserted] = log.root_by_size.emplace(h.size, h.root);
    if (!inserted && it->second != h.root) {
      fail(item, "FORK: root " + short_hex(h.root) + " differs from an earlier head of size " +
                     std::to_string(h.size) + " (root " + short_hex(it->second) + ")");
    }
    if (!parsed->receipt_error.is_ok()) {
      fail(item, "countersignature: " + parsed->receipt_error.message());
    } else if (parsed->receipt) {
      const std::string refused = countersignature_error(log, head.sth, *parsed->receipt);
      if (refused.empty()) {
        head.receipt = std::move(parsed->receipt);
      } else {
        fail(item, refused);
      }
    }
    log.heads.push_back(std::move(head));
  }
}

// Every file must be one an export holds, naming one of its parties.
void VerificationPlan::check_file_names() {
  // Not a structured binding: Clang 14 (the fuzz build) cannot capture one in a lambda.
  for (const auto& file : *files) {
    const std::string& path = file.first;
    // Cosigned checkpoints are checked by verify_witnessed (witnessed.h), outside the manifest.
    if (is_checkpoint_path(path)) {
      const bool named = std::any_of(parties.begin(), parties.end(), [&](const std::string& p) {
        return path == checkpoint_path(p);
      });
      if (!named && !parties.empty()) {
        failures.push_back(path + ": names a party that is not in this transcript");
      }
      continue;
    }
    if (!is_export_path(path)) {
      failures.push_back(one_line(path) + ": not a file of a transcript export");
      continue;
    }
    if (path == kManifestPath || parties.empty()) continue;
    const bool known = std::any_of(parties.begin(), parties.end(), [&](const std::string& p) {
      return path == bundle_path(p) || path == log_path(p) || path == heads_path(p) ||
             path == proofs_path(p);
    });
    if (!known) {
      failures.push_back(path + ": names a party that is not in this transcript");
    } else if (path == proofs_path(exporter)) {
      failures.push_back(path + ": the exporter's own log is complete and has no proofs file");
    }
  }
}

// The parties' pinned signing keys, from the bundles of the export.
std::map<std::string, crypto::VerifyKey> VerificationPlan::read_bundles() {
  std::map<std::string, crypto::VerifyKey> keys;
  for (const std::string& party : parties) {
    const std::string path = bundle_path(party);
    const auto file = files->find(path);
    if (file == files->end()) {
      failures.push_back(path + ": missing");
      continue;
    }
    auto bundle = wire::parse_bundle(file->second);
    if (!bundle.is_ok()) {
      failures.push_back(path + ": " + bundle.status().message());
    } else if (bundle->party != party) {
      failures.push_back(path + ": the bundle of " + quote(bundle->party) + ", expected " +
                         quote(party));
    } else {
      keys[party] = bundle->sign_key;
    }
  }
  return keys;
}

// The lines of the log of `log.owner`, and of its proofs if it is not complete.
void VerificationPlan::read_log(LogRecord& log) {
  if (const auto file = files->find(log.log_file); file == files->end()) {
    failures.push_back(log.log_file + ": missing");
  } else {
    log.entry_lines = split_lines(log.log_file, file->second, failures);
  }
  if (log.complete) return;
  if (const auto file = files->find(log.proofs_file); file == files->end()) {
    failures.push_back(log.proofs_file + ": missing");
  } else {
    log.proof_lines = split_lines(log.proofs_file, file->second, failures);
  }
  if (log.proof_lines.size() > log.entry_lines.size()) {
    failures.push_back(where(log.proofs_file, log.entry_lines.size() + 1, "") +
                       ": a proof with no entry (" + log.log_file + " has " +
                       std::to_string(log.entry_lines.size()) + " lines)");
  }
}

namespace {

// Whether `line` starts as an envelope's line does, {"index":N,"envelope": ... Such a line is
// never a rotation's (parse_log_line refuses a line with both fields), so the sequential
// pass below skips it without reading the rest: nearly every line of a log.
bool starts_as_envelope(std::string_view line) {
  constexpr std::string_view kIndex = "{\"index\":";
  if (!line.starts_with(kIndex)) return false;
  std::size_t i = kIndex.size();
  while (i < line.size() && line[i] >= '0' && line[i] <= '9') ++i;
  return line.substr(i).starts_with(",\"envelope\":");
}

}  // namespace

// The chain of the owner's keys: each rotation entry, in the order of the log, opened with the
// key in force at its index. A rotation that does not hold leaves the chain as it was: the
// entries after it that its key signed then fail their own checks, each named.
void VerificationPlan::follow_rotations(LogRecord& log) {
  if (!log.owner_key) return;
  log.chain.emplace(log.owner, *log.owner_key);
  for (std::size_t k = 0; k < log.entry_lines.size(); ++k) {
    if (starts_as_envelope(log.entry_lines[k])) continue;
    std::optional<std::uint64_t> index;
    auto parsed = parse_log_line(log.entry_lines[k], index);
    if (!parsed.is_ok() || parsed->kind != EntryKind::kRotation) continue;
    auto added = log.chain->add(parsed->index, parsed->entry());
    log.rotations[k] = added.is_ok() ? Status::ok() : added.status();
  }
}

// Numbers the checks that run_check runs, in the order the class comment gives.
void VerificationPlan::list_checks() {
  for (std::size_t l = 0; l < logs.size(); ++l) {
    for (std::size_t h = 0; h < logs[l].heads.size(); ++h) {
      if (logs[l].owner_key) head_checks.emplace_back(l, h);
      if (logs[l].heads[h].receipt && logs[l].other_key) receipt_checks.emplace_back(l, h);
    }
  }
  manifest_check = manifest && exporter_key;
  if (manifest) {
    for (const auto& [path, digest] : manifest->manifest.files) {
      if (files->count(path) > 0) file_checks.push_back(path);
    }
  }
}

void VerificationPlan::plan() {
  determine_parties();
  check_file_names();
  if (parties.empty()) return;
  const std::map<std::string, crypto::VerifyKey> keys = read_bundles();
  const auto key_of = [&](const std::string& party) -> std::optional<crypto::VerifyKey> {
    const auto it = keys.find(party);
    if (it == keys.end()) return std::nullopt;
    return it->second;
  };
  exporter_key = key_of(exporter);
  for (std::size_t i = 0; i < 2; ++i) {
    LogRecord log;
    log.owner = parties[i];
    log.other = parties[1 - i];
    log.complete = i == 0;
    log.log_file = log_path(log.owner);
    log.heads_file = heads_path(log.owner);
    log.proofs_file = proofs_path(log.owner);
    log.owner_key = key_of(log.owner);
    log.other_key = key_of(log.other);
    read_log(log);
    read_heads(log);
    follow_rotations(log);
    log.first_check = entry_checks;
    entry_checks += log.entry_lines.size();
    logs.push_back(std::move(log));
  }
  list_checks();
}

PlanPtr plan_verification(const ExportFiles& files) {
  PlanPtr plan(new VerificationPlan());
  plan->files = &files;
  plan->plan();
  return plan;
}

std::size_t check_count(const VerificationPlan& plan) {
  return plan.file_checks.size() + plan.entry_checks + plan.head_checks.size() +
         plan.receipt_checks.size() + (plan.manifest_check ? 1 : 0);
}

}  // namespace parley::ledger
