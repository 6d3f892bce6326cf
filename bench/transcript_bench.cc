// parley-bench-transcript: how long `parley verify` takes on a transcript of 1,000,000 entries
// (issue 4, DESIGN.md "Transcript (ledger)"), next to the CPU floor of that work measured in
// the same run.
//
// It writes a synthetic but fully valid export into a scratch directory: two parties with real
// keys, N/2 sealed and signed envelopes in the exporter's complete log, N/2 in the peer's log
// (held whole, each entry with its inclusion proof), one signed head per 256 entries, each
// countersigned by the other party, and the signed manifest. Then it runs exactly what
// `parley verify` runs (cli::read_export_directory, cli::verify_export with every core) and
// reports the wall time. The floor is (N Ed25519 verifications of an entry + 2N SHA-256 of the
// mean entry) / cores, from this run's own per-operation timings; the target is 1.5x it.
//
//   parley-bench-transcript [--quick] [--json] [--dir DIR] [--samples DIR] [--keep]
//                           [--entries N]
//
// --quick: N = 100,000 (ids *.100k) instead of 1,000,000 (ids *.1m). --keep --entries 1000
// leaves a small valid export to try `parley verify` on.
#include <sched.h>
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <sys/resource.h>

#include "parley/base/rng.h"
#include "parley/cli/commands.h"
#include "parley/crypto/crypto.h"
#include "parley/ledger/export.h"
#include "parley/ledger/formats.h"
#include "parley/ledger/merkle.h"
#include "parley/ledger/verify.h"
#include "parley/wire/wire.h"

namespace {

namespace fs = std::filesystem;
namespace ledger = parley::ledger;
namespace wire = parley::wire;
namespace crypto = parley::crypto;
using Clock = std::chrono::steady_clock;
using parley::Bytes;
using parley::ledger::Hash;

constexpr std::size_t kEntriesPerHead = 256;
volatile unsigned char g_sink =
    0;  // keeps the timed hashes alive  // one transaction's worth (the wire's maximum)

[[noreturn]] __attribute__((format(printf, 1, 2))) void die(const char* fmt, ...) {
  std::va_list args;
  va_start(args, fmt);
  std::fputs("parley-bench-transcript: ", stderr);
  std::vfprintf(stderr, fmt, args);
  std::fputc('\n', stderr);
  va_end(args);
  std::exit(1);
}

__attribute__((format(printf, 1, 2))) std::string strf(const char* fmt, ...) {
  std::va_list args;
  va_start(args, fmt);
  char text[2048];
  std::vsnprintf(text, sizeof text, fmt, args);
  va_end(args);
  return text;
}

void progress(const std::string& line) {
  std::fprintf(stderr, "transcript: %s\n", line.c_str());
  std::fflush(stderr);
}

std::string human(double value) {
  if (value >= 1000) return strf("%.0f", value);
  if (value >= 100) return strf("%.1f", value);
  if (value >= 10) return strf("%.2f", value);
  return strf("%.3f", value);
}

struct Row {
  std::string id;
  double value = 0;
  std::string unit;
  std::string note;
  std::string floor;
};

std::string json_escape(std::string_view text) {
  std::string out;
  for (const char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += strf("\\u%04x", c);
    } else {
      out += c;
    }
  }
  return out;
}

void print_rows(const std::vector<Row>& rows, bool json) {
  if (json) {
    std::printf("{\n");
    for (std::size_t i = 0; i < rows.size(); ++i) {
      const Row& r = rows[i];
      std::printf("  \"%s\": {\"value\": %.6g, \"unit\": \"%s\", \"note\": \"%s\"", r.id.c_str(),
                  r.value, json_escape(r.unit).c_str(), json_escape(r.note).c_str());
      if (!r.floor.empty()) std::printf(", \"floor\": \"%s\"", r.floor.c_str());
      std::printf("}%s\n", i + 1 < rows.size() ? "," : "");
    }
    std::printf("}\n");
    return;
  }
  std::printf("| id | value | unit | note |\n| --- | ---: | --- | --- |\n");
  for (const Row& r : rows) {
    std::printf("| %s | %s | %s | %s |\n", r.id.c_str(), human(r.value).c_str(), r.unit.c_str(),
                r.note.c_str());
  }
}

struct Options {
  bool json = false;
  bool quick = false;
  bool keep = false;
  std::size_t entries = 0;  // 0: 1,000,000 (quick: 100,000)
  std::string dir = PARLEY_BENCH_SCRATCH_DIR;
  std::string samples_dir;  // accepted for bench/run; this program has no samples
};

Options parse_options(int argc, char** argv) {
  Options options;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--json") {
      options.json = true;
    } else if (arg == "--quick") {
      options.quick = true;
    } else if (arg == "--keep") {
      options.keep = true;
    } else if ((arg == "--dir" || arg == "--samples") && i + 1 < argc) {
      (arg == "--dir" ? options.dir : options.samples_dir) = argv[++i];
    } else if (arg == "--entries" && i + 1 < argc) {
      options.entries = std::strtoull(argv[++i], nullptr, 10);
      if (options.entries < 2) die("--entries: at least 2");
    } else {
      std::fprintf(arg == "--help" || arg == "-h" ? stdout : stderr,
                   "usage: parley-bench-transcript [--quick] [--json] [--dir DIR] [--samples DIR] "
                   "[--keep] [--entries N]\n"
                   "  --quick  100,000 entries instead of 1,000,000\n"
                   "  --dir    where the scratch export is written (default %s)\n"
                   "  --keep   leave the export there (and print its path)\n"
                   "  --entries N  another size (ids *.N), e.g. a small export to try verify on\n",
                   PARLEY_BENCH_SCRATCH_DIR);
      std::exit(arg == "--help" || arg == "-h" ? 0 : 2);
    }
  }
  return options;
}

int usable_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0) return std::max(1, CPU_COUNT(&set));
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// CPU time (user + system) of this process so far, in seconds.
double cpu_seconds() {
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  const auto s = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
  };
  return s(usage.ru_utime) + s(usage.ru_stime);
}

// Runs body(i) for i in [0, n) on `threads` threads.
void parallel_for(std::size_t n, int threads, const std::function<void(std::size_t)>& body) {
  std::atomic<std::size_t> next{0};
  const auto work = [&] {
    for (;;) {
      const std::size_t begin = next.fetch_add(256);
      if (begin >= n) return;
      for (std::size_t i = begin; i < std::min(n, begin + 256); ++i) body(i);
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (std::thread& t : pool) t.join();
}

// The fastest mean of batches of 100 calls (other tenants only ever add time), µs per call.
double time_per_op(Clock::duration limit, const std::function<void()>& op) {
  for (int i = 0; i < 100; ++i) op();
  double best = 1e300;
  const Clock::time_point deadline = Clock::now() + limit;
  for (int batch = 0; batch < 200; ++batch) {
    const Clock::time_point t0 = Clock::now();
    for (int i = 0; i < 100; ++i) op();
    const Clock::time_point t1 = Clock::now();
    best = std::min(best, seconds(t1 - t0) * 1e6 / 100);
    if (t1 >= deadline) break;
  }
  return best;
}

struct Party {
  std::string id;
  crypto::Keys keys;
};

// One party's log: entries (envelope JSON), their ids and leaf hashes.
struct Log {
  std::vector<std::string> entries;
  std::vector<std::string> ids;
  std::vector<Hash> leaves;
};

Log make_log(const Party& from, const Party& to, const crypto::SealKey& seal, std::size_t n,
             std::uint64_t seed, int threads) {
  Log log;
  log.entries.resize(n);
  log.ids.resize(n);
  log.leaves.resize(n);
  const parley::Time start = parley::time_from_unix_ms(1'795'000'000'000);
  parallel_for(n, threads, [&](std::size_t i) {
    parley::SeededRng rng(seed * 1'000'003 + i);
    wire::Draft draft;
    draft.created = start + parley::Duration(static_cast<std::int64_t>(i));
    draft.id = parley::uuid_v7(draft.created, rng);
    draft.line = "saceur-cgs";
    draft.seq = i + 1;
    draft.from = {from.id, "saceur"};
    draft.to = {to.id, "cgs"};
    draft.precedence = wire::Precedence::kRoutine;
    draft.type = "text";
    draft.content.text = "message " + std::to_string(i);
    const wire::Envelope envelope =
        wire::seal_and_sign(draft, seal, from.keys.signing, from.id, rng).envelope;
    log.entries[i] = wire::encode_envelope(envelope);
    log.ids[i] = envelope.payload.id;
    log.leaves[i] = ledger::leaf_hash(parley::as_bytes(log.entries[i]));
  });
  return log;
}

// heads/<owner>.jsonl: one head per kEntriesPerHead entries, each countersigned by `other`
// for the entries of its transaction.
std::string make_heads(const Party& owner, const Party& other, const Log& log,
                       std::vector<std::uint64_t>& head_of_entry) {
  std::string out;
  ledger::CompactRange range;
  parley::SeededRng rng(99);
  const parley::Time start = parley::time_from_unix_ms(1'795'100'000'000);
  head_of_entry.assign(log.leaves.size(), 0);
  std::size_t tx_begin = 0;
  for (std::size_t i = 0; i < log.leaves.size(); ++i) {
    range.append(log.leaves[i]);
    if (range.size() % kEntriesPerHead != 0 && i + 1 != log.leaves.size()) continue;
    ledger::TreeHead head;
    head.log = owner.id;
    head.peer = other.id;
    head.size = range.size();
    head.root = range.root();
    head.timestamp = start + parley::Duration(static_cast<std::int64_t>(i));
    const ledger::SignedTreeHead sth = ledger::sign_sth(head, owner.keys.signing);
    ledger::ReceiptV2Body body;
    body.tx = parley::uuid_v7(head.timestamp, rng);
    body.from = other.id;
    body.to = owner.id;
    body.sth = sth.payload_bytes;
    body.sth_sig = sth.sig;
    for (std::size_t j = tx_begin; j <= i; ++j) {
      body.ids.push_back(log.ids[j]);
      body.indices.push_back(j);
      head_of_entry[j] = head.size;
    }
    body.received = head.timestamp + parley::Duration(3);
    const ledger::ReceiptV2 receipt = ledger::sign_receipt_v2(body, other.keys.signing);
    out += ledger::encode_head_line(ledger::encode_sth(sth), ledger::encode_receipt_v2(receipt));
    out += '\n';
    tx_begin = i + 1;
  }
  return out;
}

std::string make_log_file(const Log& log) {
  std::size_t bytes = 0;
  for (const std::string& e : log.entries) bytes += e.size() + 40;
  std::string out;
  out.reserve(bytes);
  for (std::size_t i = 0; i < log.entries.size(); ++i) {
    out += ledger::encode_log_line(i, log.entries[i]);
    out += '\n';
  }
  return out;
}

std::string make_proofs_file(const Log& log, const std::vector<std::uint64_t>& head_of_entry,
                             int threads) {
  const ledger::NodeSource source = ledger::frontier_source(ledger::CompactRange(), log.leaves);
  std::vector<std::string> lines(log.leaves.size());
  parallel_for(lines.size(), threads, [&](std::size_t i) {
    auto proof = ledger::inclusion_proof(i, head_of_entry[i], source);
    if (!proof.is_ok()) die("inclusion_proof: %s", proof.status().to_string().c_str());
    lines[i] = ledger::encode_proof_line(i, head_of_entry[i], *proof);
  });
  std::string out;
  for (const std::string& line : lines) {
    out += line;
    out += '\n';
  }
  return out;
}

std::string bundle_of(const Party& party) {
  wire::Bundle bundle;
  bundle.party = party.id;
  bundle.sign_key = party.keys.verify;
  bundle.box_key = party.keys.box_public;
  bundle.tls_fingerprint = parley::hex_encode(crypto::sha256(parley::as_bytes(party.id)));
  bundle.federation = {"127.0.0.1:7001"};
  return wire::encode_bundle(bundle);
}

void write_file(const fs::path& path, const std::string& contents) {
  std::error_code ec;
  fs::create_directories(path.parent_path(), ec);
  if (ec) die("cannot create %s: %s", path.parent_path().c_str(), ec.message().c_str());
  std::FILE* file = std::fopen(path.c_str(), "wb");
  if (file == nullptr) die("cannot write %s: %s", path.c_str(), std::strerror(errno));
  if (std::fwrite(contents.data(), 1, contents.size(), file) != contents.size() ||
      std::fclose(file) != 0) {
    die("cannot write %s: %s", path.c_str(), std::strerror(errno));
  }
}

}  // namespace

int main(int argc, char** argv) {
  const Options options = parse_options(argc, argv);
  if (!crypto::init().is_ok()) die("libsodium did not start");
  const std::size_t n = options.entries > 0 ? options.entries : options.quick ? 100'000 : 1'000'000;
  const std::string size_id = n == 1'000'000 ? "1m" : n == 100'000 ? "100k" : std::to_string(n);
  const int cores = usable_cores();
  const Clock::duration limit = options.quick ? std::chrono::seconds(2) : std::chrono::seconds(8);

  std::error_code ec;
  fs::create_directories(options.dir, ec);
  if (ec) die("cannot create %s: %s", options.dir.c_str(), ec.message().c_str());
  std::string pattern = options.dir + "/transcript-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) {
    die("cannot make a scratch directory in %s: %s", options.dir.c_str(), std::strerror(errno));
  }
  const fs::path scratch = pattern;

  // ---- the export ----
  parley::SeededRng key_rng(4);
  Party a{"us-eucom", crypto::generate_keys(key_rng)};
  Party b{"ru-genstaff", crypto::generate_keys(key_rng)};
  auto seal = crypto::derive_seal_key(a.keys.box_secret, a.keys.box_public, b.keys.box_public, 1);
  if (!seal.is_ok()) die("derive_seal_key: %s", seal.status().to_string().c_str());

  const Clock::time_point gen_start = Clock::now();
  progress(strf("signing %zu envelopes on %d threads", n, cores));
  ledger::ExportFiles files;
  std::size_t entry_bytes = 0;
  Bytes sample_payload;
  ledger::Signature sample_sig{};
  std::size_t heads = 0;
  {
    const Log log_a = make_log(a, b, *seal, n / 2, 1, cores);
    const Log log_b = make_log(b, a, *seal, n - n / 2, 2, cores);
    for (const std::string& e : log_a.entries) entry_bytes += e.size();
    for (const std::string& e : log_b.entries) entry_bytes += e.size();
    auto sample = wire::open_envelope(log_a.entries[0], a.keys.verify, a.id);
    if (!sample.is_ok()) die("open_envelope: %s", sample.status().to_string().c_str());
    sample_payload = sample->payload_bytes;
    sample_sig = sample->sig;

    progress("heads, countersignatures, inclusion proofs");
    std::vector<std::uint64_t> head_a;
    std::vector<std::uint64_t> head_b;
    files[ledger::heads_path(a.id)] = make_heads(a, b, log_a, head_a);
    files[ledger::heads_path(b.id)] = make_heads(b, a, log_b, head_b);
    heads = (n / 2 + kEntriesPerHead - 1) / kEntriesPerHead +
            (n - n / 2 + kEntriesPerHead - 1) / kEntriesPerHead;
    files[ledger::log_path(a.id)] = make_log_file(log_a);
    files[ledger::log_path(b.id)] = make_log_file(log_b);
    files[ledger::proofs_path(b.id)] = make_proofs_file(log_b, head_b, cores);
  }
  files[ledger::bundle_path(a.id)] = bundle_of(a);
  files[ledger::bundle_path(b.id)] = bundle_of(b);
  ledger::Manifest manifest;
  manifest.exporter = a.id;
  manifest.parties = {a.id, b.id};
  manifest.created = parley::time_from_unix_ms(1'795'200'000'000);
  std::size_t total_bytes = 0;
  for (const auto& [path, contents] : files) {
    manifest.files[path] = crypto::sha256(parley::as_bytes(contents));
    total_bytes += contents.size();
  }
  files[std::string(ledger::kManifestPath)] =
      ledger::encode_manifest(ledger::sign_manifest(manifest, a.keys.signing));
  progress(strf("writing %.0f MB to %s", static_cast<double>(total_bytes) / 1e6, scratch.c_str()));
  for (const auto& [path, contents] : files) write_file(scratch / path, contents);
  files.clear();
  progress(strf("export made in %.1f s", seconds(Clock::now() - gen_start)));

  // ---- parley verify's code path ----
  progress(strf("verifying with %d threads", cores));
  const double cpu0 = cpu_seconds();
  const Clock::time_point t0 = Clock::now();
  auto dir = parley::cli::read_export_directory(scratch.string());
  if (!dir.is_ok()) die("read_export_directory: %s", dir.status().to_string().c_str());
  const Clock::time_point t1 = Clock::now();
  const ledger::TranscriptReport report = parley::cli::verify_export(*dir, 0);
  const Clock::time_point t2 = Clock::now();
  const double verify_cpu_s = cpu_seconds() - cpu0;
  if (!report.valid()) {
    die("the synthetic export does not verify: %s (first: %s)", report.summary().c_str(),
        report.failures.empty() ? "?" : report.failures.front().c_str());
  }
  if (report.entries != n) die("verified %zu entries, expected %zu", report.entries, n);
  const double verify_s = seconds(t2 - t0);
  progress(report.summary());

  // ---- the floor, measured now ----
  const double mean_entry = static_cast<double>(entry_bytes) / static_cast<double>(n);
  const Bytes mean_entry_bytes(static_cast<std::size_t>(mean_entry), 'x');
  bool verified = true;
  const double verify_us = time_per_op(limit, [&] {
    verified =
        verified &&
        crypto::verify(a.keys.verify, wire::kEnvelopeDomain, sample_payload, sample_sig).is_ok();
  });
  if (!verified) die("the sample envelope signature does not verify");
  const double sha_us = time_per_op(limit, [&] {
    const Hash h = crypto::sha256(mean_entry_bytes);
    g_sink = static_cast<unsigned char>(g_sink ^ h[0]);
  });
  const double floor_s =
      (static_cast<double>(n) * verify_us + 2.0 * static_cast<double>(n) * sha_us) / cores / 1e6;

  if (options.keep) {
    progress("kept " + scratch.string());
  } else {
    fs::remove_all(scratch, ec);
  }

  std::string load = "unknown";
  if (std::FILE* file = std::fopen("/proc/loadavg", "r")) {
    char text[64] = {};
    if (std::fgets(text, sizeof text, file) != nullptr) {
      load = std::string(text).substr(0, std::string(text).find(' '));
    }
    std::fclose(file);
  }
  std::vector<Row> rows;
  rows.push_back(
      {"floor.transcript_verify." + size_id, floor_s, "s",
       strf("(%zu Ed25519 verifications of an envelope payload, %s µs each + %zu SHA-256 of the "
            "mean entry, %.0f bytes, %s µs each) / %d cores, each cost the fastest batch of 100 "
            "in this run: the CPU floor of verifying the export; the target is x1.50",
            n, human(verify_us).c_str(), 2 * n, mean_entry, human(sha_us).c_str(), cores),
       ""});
  rows.push_back(
      {"transcript.verify." + size_id, verify_s, "s",
       strf("wall time of parley verify's code path (read_export_directory, then verify_export on "
            "%d threads: parse, every signature, Merkle roots, proofs, receipts, file SHA-256) on "
            "a synthetic export of %zu entries (%zu in the exporter's complete log, %zu in the "
            "peer's with an inclusion proof each, whose hashes the floor leaves out), %zu heads "
            "each countersigned, %.0f MB in the page cache; reading took %.2f s; target 1.5 x "
            "floor = %s s: %s. CPU time %s s = x%.2f the floor's %s CPU-seconds (a figure that "
            "other tenants of the machine inflate less than wall time; load average %s)",
            cores, n, n / 2, n - n / 2, heads, static_cast<double>(total_bytes) / 1e6,
            seconds(t1 - t0), human(1.5 * floor_s).c_str(),
            verify_s <= 1.5 * floor_s ? "met" : "NOT met", human(verify_cpu_s).c_str(),
            verify_cpu_s / (floor_s * cores), human(floor_s * cores).c_str(), load.c_str()),
       "floor.transcript_verify." + size_id});
  print_rows(rows, options.json);
  return 0;
}
