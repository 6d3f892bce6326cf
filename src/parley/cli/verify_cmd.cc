// `parley verify OUT_DIR [--pin BUNDLE]... [--json] [--threads N]`: checks an exported
// transcript offline (DESIGN.md "Transcript (ledger)", docs/transcript.md). The verification
// itself is pure (ledger/verify.h); this file reads the directory, spreads the independent
// checks (signatures, leaf hashes, inclusion proofs, file digests) over threads, and compares
// the keys the export carries with the bundles the reader pinned.
//
// An export is checked against the keys in its own bundles/: a forger who re-signs everything
// with keys of his own makes a consistent export. So verify says whose keys it used, and with
// --pin it refuses (exit 3) an export whose bundle of a pinned party holds other keys.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include <sys/stat.h>

#include "parley/base/bytes.h"
#include "parley/base/json.h"
#include "parley/base/text.h"
#include "parley/cli/commands.h"
#include "parley/ledger/export.h"
#include "parley/ledger/policy.h"
#include "parley/ledger/witnessed.h"
#include "parley/wire/wire.h"

namespace parley::cli {
namespace {

namespace fs = std::filesystem;

// Checks are handed out in chunks: one check is 50-100 µs, a chunk keeps the shared counter
// off the profile without starving a thread at the end.
constexpr std::size_t kChecksPerChunk = 64;
constexpr std::uint64_t kFileBytesMax = 4ull * 1024 * 1024 * 1024;
constexpr std::string_view kSubdirectories[] = {"bundles", "logs", "heads", "proofs",
                                                "checkpoints"};

std::string errno_text(int error) { return std::strerror(error); }

// Reads a regular file without following a symlink. An empty Status text means success.
Result<std::string> read_regular_file(const fs::path& path, const std::string& name) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    const int error = errno;
    if (error == ELOOP) return Status::invalid_argument(name + ": a symlink (refused)");
    return Status::unavailable(name + ": cannot open: " + errno_text(error));
  }
  const auto close_fd = [fd] { ::close(fd); };
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    const int error = errno;
    close_fd();
    return Status::unavailable(name + ": cannot stat: " + errno_text(error));
  }
  if (!S_ISREG(st.st_mode)) {
    close_fd();
    return Status::invalid_argument(name + ": not a regular file (refused)");
  }
  if (static_cast<std::uint64_t>(st.st_size) > kFileBytesMax) {
    close_fd();
    return Status::invalid_argument(name + ": larger than 4 GiB (refused)");
  }
  std::string contents(static_cast<std::size_t>(st.st_size), '\0');
  std::size_t done = 0;
  while (done < contents.size()) {
    const ssize_t n = ::read(fd, contents.data() + done, contents.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int error = errno;
      close_fd();
      return Status::unavailable(name + ": cannot read: " + errno_text(error));
    }
    if (n == 0) {
      close_fd();
      return Status::unavailable(name + ": shorter than its size (changed while read)");
    }
    done += static_cast<std::size_t>(n);
  }
  close_fd();
  return contents;
}

// Reads `dir` (a subdirectory of the export, or the export itself when `prefix` is empty).
Status read_directory(const fs::path& dir, const std::string& prefix, ExportDirectory& out) {
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  if (ec) return Status::unavailable("cannot read " + dir.string() + ": " + ec.message());
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    if (ec) return Status::unavailable("cannot read " + dir.string() + ": " + ec.message());
    const std::string name = prefix + it->path().filename().string();
    const fs::file_status status = it->symlink_status(ec);
    if (ec) {
      out.refused.push_back(name + ": cannot stat: " + ec.message());
      continue;
    }
    if (fs::is_symlink(status)) {
      out.refused.push_back(name + ": a symlink (refused)");
      continue;
    }
    if (fs::is_directory(status)) {
      const bool known = prefix.empty() &&
                         std::find(std::begin(kSubdirectories), std::end(kSubdirectories), name) !=
                             std::end(kSubdirectories);
      if (!known) {
        out.refused.push_back(name + "/: a directory that is not part of a transcript export");
        continue;
      }
      PARLEY_RETURN_IF_ERROR(read_directory(it->path(), name + "/", out));
      continue;
    }
    if (!ledger::is_export_path(name) && !ledger::is_checkpoint_path(name)) {
      out.refused.push_back(name + ": not a file of a transcript export");
      continue;
    }
    auto contents = read_regular_file(it->path(), name);
    if (!contents.is_ok()) {
      out.refused.push_back(contents.status().message());
      continue;
    }
    out.files.emplace(name, std::move(*contents));
  }
  return Status::ok();
}

struct VerifyArgs {
  std::string dir;
  std::vector<std::string> pins;  // bundle files
  std::string policy;             // a C2SP tlog-policy file, or empty
  bool json = false;
  unsigned threads = 0;
};

std::string key_hex(const crypto::VerifyKey& key) {
  return hex_encode(ByteView(key.bytes.data(), key.bytes.size()));
}

// The bundles of the export's parties, as the verification read them (those that parse).
std::map<std::string, wire::Bundle> export_bundles(const ExportDirectory& dir,
                                                   const std::vector<std::string>& parties) {
  std::map<std::string, wire::Bundle> out;
  for (const std::string& party : parties) {
    const auto it = dir.files.find(ledger::bundle_path(party));
    if (it == dir.files.end()) continue;
    Result<wire::Bundle> bundle = wire::parse_bundle(it->second);
    if (bundle.is_ok()) out.emplace(party, std::move(bundle).value());
  }
  return out;
}

// Reads every --pin file; an unreadable or malformed one is an error of the command (exit 1).
Result<std::vector<wire::Bundle>> read_pins(const std::vector<std::string>& files) {
  std::vector<wire::Bundle> pins;
  for (const std::string& file : files) {
    PARLEY_ASSIGN_OR_RETURN(const std::string text, read_regular_file(file, "--pin " + file));
    Result<wire::Bundle> bundle = wire::parse_bundle(text);
    if (!bundle.is_ok()) return bundle.status().with_context("--pin " + file);
    pins.push_back(std::move(bundle).value());
  }
  return pins;
}

// One failure per pinned party whose bundle in the export is missing or holds other keys.
std::vector<std::string> check_pins(const std::vector<wire::Bundle>& pins,
                                    const std::map<std::string, wire::Bundle>& in_export) {
  std::vector<std::string> failures;
  for (const wire::Bundle& pin : pins) {
    const std::string path = ledger::bundle_path(pin.party);
    const auto it = in_export.find(pin.party);
    if (it == in_export.end()) {
      failures.push_back(path + ": the export holds no readable bundle of the pinned party " +
                         pin.party);
    } else if (it->second.sign_key != pin.sign_key) {
      failures.push_back(path + ": the signing key of " + pin.party +
                         " is not the pinned one (pinned " + key_hex(pin.sign_key) + ", export " +
                         key_hex(it->second.sign_key) + ")");
    } else if (it->second.box_key.bytes != pin.box_key.bytes) {
      failures.push_back(path + ": the box key of " + pin.party + " is not the pinned one");
    }
  }
  return failures;
}

// Says whose keys were checked: pinned ones, or the export's own (which prove nothing alone),
// and the rotations followed from them.
void print_keys(const std::map<std::string, wire::Bundle>& keys,
                const std::vector<wire::Bundle>& pins,
                const std::vector<ledger::TranscriptReport::Rotation>& rotations) {
  for (const auto& [party, bundle] : keys) {
    const std::string& name = party;  // Clang 14 does not capture structured bindings
    const bool pinned = std::any_of(pins.begin(), pins.end(),
                                    [&](const wire::Bundle& p) { return p.party == name; });
    std::cout << escape_for_terminal(party) << ": signing key " << key_hex(bundle.sign_key)
              << (pinned ? " (pinned: it matches the bundle you gave)"
                         : " (taken from the export: compare it with a bundle you trust, or "
                           "give it with --pin)")
              << "\n";
  }
  for (const ledger::TranscriptReport::Rotation& r : rotations) {
    std::cout << escape_for_terminal(r.party) << ": rotation " << r.n << " at entry " << r.index
              << ": signing key " << key_hex(r.key)
              << " (signed by the key before it; in force after that entry)\n";
  }
}

// The cosigning keys verify can check: the policy's witnesses, and each pinned party's party
// key as a cosigner (type 0x04 under "parley.example/<party>", as a parley witness signs).
std::vector<ledger::NoteVerifier> witness_keys(const std::vector<wire::Bundle>& pins,
                                               const std::optional<ledger::Policy>& policy) {
  std::vector<ledger::NoteVerifier> keys;
  const auto add = [&](ledger::NoteVerifier key) {
    const bool known = std::any_of(keys.begin(), keys.end(), [&](const ledger::NoteVerifier& k) {
      return k.name == key.name && k.id() == key.id();
    });
    if (!known) keys.push_back(std::move(key));
  };
  if (policy) {
    for (const ledger::Policy::Witness& w : policy->witnesses) add(w.key);
  }
  for (const wire::Bundle& pin : pins) {
    add({ledger::party_key_name(pin.party), ledger::kNoteKeyCosignature, pin.sign_key});
  }
  return keys;
}

Result<std::optional<ledger::Policy>> read_policy(const std::string& file) {
  if (file.empty()) return std::optional<ledger::Policy>();
  PARLEY_ASSIGN_OR_RETURN(const std::string text, read_regular_file(file, "--policy " + file));
  Result<ledger::Policy> policy = ledger::parse_policy(text);
  if (!policy.is_ok()) return policy.status().with_context("--policy " + file);
  return std::optional<ledger::Policy>(std::move(policy).value());
}

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const std::string& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

json::Json witnessed_json(const ledger::WitnessReport& w) {
  json::Json logs = json::Json::array();
  for (const ledger::WitnessedLog& log : w.logs) {
    logs.push_back(
        {{"owner", log.owner},
         {"origin", log.origin},
         {"size", log.checkpoint ? json::Json(log.checkpoint->size) : json::Json()},
         {"cosigners", log.cosigners},
         {"policy", log.policy.is_ok() ? json::Json("met") : json::Json(log.policy.message())}});
  }
  return logs;
}

void print_witnessed(const ledger::WitnessReport& w, bool with_policy) {
  for (const ledger::WitnessedLog& log : w.logs) {
    if (!log.checkpoint) continue;
    std::cout << "checkpoint " << escape_for_terminal(log.origin) << " at size "
              << log.checkpoint->size << ": "
              << (log.cosigners.empty()
                      ? std::string("no cosignature it can check")
                      : "cosigned by " + escape_for_terminal(joined(log.cosigners)))
              << "\n";
  }
  if (with_policy && w.policy_met) std::cout << "policy: met\n";
}

int run_verify(const VerifyArgs& args) {
  // Every human-readable line goes through escape_for_terminal: failures quote file names and
  // contents of the export, which a hostile exporter chose (the --json output is escaped by
  // JSON itself).
  const Result<std::vector<wire::Bundle>> pins = read_pins(args.pins);
  if (!pins.is_ok()) {
    std::cerr << "parley: " << escape_for_terminal(pins.status().message()) << "\n" << std::flush;
    return 1;
  }
  const Result<std::optional<ledger::Policy>> policy = read_policy(args.policy);
  if (!policy.is_ok()) {
    std::cerr << "parley: " << escape_for_terminal(policy.status().message()) << "\n" << std::flush;
    return 1;
  }
  auto dir = read_export_directory(args.dir);
  if (!dir.is_ok()) {
    std::cerr << "parley: " << escape_for_terminal(dir.status().message()) << "\n" << std::flush;
    return 1;
  }
  ledger::TranscriptReport report = verify_export(*dir, args.threads);
  const std::map<std::string, wire::Bundle> keys = export_bundles(*dir, report.parties);
  for (std::string& failure : check_pins(*pins, keys)) {
    ++report.failures_total;
    if (report.failures.size() < ledger::kFailuresMax)
      report.failures.push_back(std::move(failure));
  }
  const ledger::WitnessReport witnessed = ledger::verify_witnessed(
      dir->files, report, witness_keys(*pins, *policy), *policy ? &**policy : nullptr);
  for (std::string failure : witnessed.failures) {
    ++report.failures_total;
    if (report.failures.size() < ledger::kFailuresMax)
      report.failures.push_back(std::move(failure));
  }
  for (const ledger::WitnessedLog& log : witnessed.logs) {
    if (log.policy.is_ok()) continue;
    ++report.failures_total;
    if (report.failures.size() < ledger::kFailuresMax) {
      report.failures.push_back(log.origin + ": " + log.policy.message());
    }
  }
  for (const std::string& failure : report.failures) {
    std::cerr << escape_for_terminal(failure) << "\n";
  }
  if (report.failures.size() < report.failures_total) {
    std::cerr << "... and " << report.failures_total - report.failures.size() << " more failures\n";
  }
  if (args.json) {
    json::Json out = json::Json::object();
    out["valid"] = report.valid();
    out["parties"] = report.parties;
    out["exporter"] = report.exporter;
    out["logs"] = report.logs;
    out["entries"] = report.entries;
    out["heads"] = report.heads;
    out["countersignatures"] = report.countersignatures;
    out["failures"] = report.failures;
    out["failures_total"] = report.failures_total;
    out["keys"] = json::Json::object();
    for (const auto& [party, bundle] : keys) out["keys"][party] = key_hex(bundle.sign_key);
    out["rotations"] = json::Json::array();
    for (const ledger::TranscriptReport::Rotation& r : report.rotations) {
      out["rotations"].push_back(
          {{"party", r.party}, {"index", r.index}, {"n", r.n}, {"key", key_hex(r.key)}});
    }
    out["checkpoints"] = witnessed_json(witnessed);
    out["policy"] = !*policy ? json::Json() : json::Json(witnessed.policy_met ? "met" : "not met");
    out["pinned"] = json::Json::array();
    for (const wire::Bundle& pin : *pins) out["pinned"].push_back(pin.party);
    std::cout << json::dump(out) << "\n";
  } else if (report.valid()) {
    std::cout << escape_for_terminal(report.summary()) << "\n";
    print_keys(keys, *pins, report.rotations);
    print_witnessed(witnessed, policy->has_value());
  } else {
    std::cerr << "parley: " << escape_for_terminal(report.summary()) << "\n";
  }
  std::cout << std::flush;
  std::cerr << std::flush;
  return report.valid() ? 0 : 3;
}

}  // namespace

Result<ExportDirectory> read_export_directory(const std::string& dir) {
  std::error_code ec;
  const fs::file_status status = fs::status(dir, ec);
  if (ec || !fs::exists(status))
    return Status::not_found("cannot read " + dir + ": no such directory");
  if (!fs::is_directory(status))
    return Status::invalid_argument("cannot read " + dir + ": not a directory");
  const fs::file_status manifest =
      fs::symlink_status(fs::path(dir) / std::string(ledger::kManifestPath), ec);
  if (ec || !fs::exists(manifest)) {
    return Status::not_found("cannot read " + dir +
                             ": no manifest.json (not an exported transcript)");
  }
  ExportDirectory out;
  PARLEY_RETURN_IF_ERROR(read_directory(dir, "", out));
  return out;
}

ledger::TranscriptReport verify_export(const ExportDirectory& dir, unsigned threads) {
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  const ledger::PlanPtr plan = ledger::plan_verification(dir.files);
  const std::size_t n = ledger::check_count(*plan);
  std::vector<ledger::CheckResult> results(n);
  std::atomic<std::size_t> next{0};
  const auto work = [&] {
    for (;;) {
      const std::size_t begin = next.fetch_add(kChecksPerChunk, std::memory_order_relaxed);
      if (begin >= n) return;
      const std::size_t end = std::min(n, begin + kChecksPerChunk);
      ledger::run_checks(*plan, begin, end, results.data() + begin);
    }
  };
  std::vector<std::thread> pool;
  for (unsigned t = 1; t < threads && t < n; ++t) {
    try {
      pool.emplace_back(work);
    } catch (const std::system_error&) {
      break;  // no more threads: the ones running (and this one) do the work
    }
  }
  work();
  for (std::thread& thread : pool) thread.join();
  ledger::TranscriptReport report = ledger::finish_verification(*plan, results);
  // Files the directory held but that were not read come first: nothing else names them.
  if (!dir.refused.empty()) {
    report.failures.insert(report.failures.begin(), dir.refused.begin(), dir.refused.end());
    report.failures_total += dir.refused.size();
    if (report.failures.size() > ledger::kFailuresMax) report.failures.resize(ledger::kFailuresMax);
  }
  return report;
}

void add_verify_command(CLI::App& app, int& exit_code) {
  auto args = std::make_shared<VerifyArgs>();
  int* code = &exit_code;
  CLI::App* sub = app.add_subcommand(
      "verify",
      "Check an exported transcript offline: every signature, inclusion proof, Merkle root, "
      "countersignature and file digest, against the keys in the export's bundles, which it "
      "prints; with --pin, those keys must be the pinned ones; the cosigned checkpoints, with "
      "the witnesses' keys of --policy and --pin. Exit 0 if all are valid, 3 if "
      "not, 1 if unreadable");
  sub->add_option("OUT_DIR", args->dir, "The directory `parley transcript export` wrote")
      ->required();
  sub->add_option("--pin", args->pins,
                  "A party's bundle you trust (`parley bundle` output), repeatable: the export's "
                  "bundle of that party must hold the same keys, or verify fails (exit 3)");
  sub->add_option("--policy", args->policy,
                  "A C2SP tlog-policy file (log, witness, group, quorum lines): each log it "
                  "lists (every log if none) must have a checkpoint in the export cosigned by "
                  "its quorum, or verify fails (exit 3); a log line with the key of the "
                  "checkpoint's head along the owner's chain or an earlier one (its bundle's, "
                  "say) accepts it");
  sub->add_flag("--json", args->json, "Print the result as one JSON object");
  sub->add_option("--threads", args->threads,
                  "Threads for the signature checks (default: every core)")
      ->check(CLI::Range(0u, 1024u));
  sub->callback([args, code] { *code = run_verify(*args); });
}

}  // namespace parley::cli
