// parley-bench-append: durable appends to the transcript log (issue 4: "entries appended
// per second (durable)").
//
// What the gateway does when it accepts a message: one store transaction (SQLite WAL,
// synchronous=FULL, fsync) holding the message and its log entry (leaf index and hash).
// transcript.append: entries/s with one entry per commit, as the gateway commits today.
// transcript.append.batch100: entries/s with 100 entries per commit (group commit), the
// bound a batching writer could reach on this disk. Bounded in count and time; the store
// lives in a scratch directory on the build tree's filesystem (where gateways' homes live).
//
// Output: Markdown, or with --json one object {id: {"value", "unit", "note"}} for bench/run.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "parley/base/rng.h"
#include "parley/core/model.h"
#include "parley/ledger/merkle.h"
#include "parley/store/sqlite/sqlite_store.h"

namespace {

using Clock = std::chrono::steady_clock;
namespace core = parley::core;

core::MessageRecord message(std::uint64_t n, parley::Rng& rng) {
  core::MessageRecord m;
  const parley::Time now = parley::time_from_unix_ms(1'795'000'000'000 + std::int64_t(n));
  m.id = parley::uuid_v7(now, rng);
  m.line = "hotline";
  m.seq = n + 1;
  m.direction = core::Direction::kOutbound;
  m.peer = "ru-genstaff";
  m.from = {"us-eucom", "saceur"};
  m.to = {"ru-genstaff", "cgs"};
  m.type = "text";
  m.created = now;
  m.ack_deadline = now;
  m.content.text = std::string(1024, 'x');
  m.envelope = std::string(1800, 'e');  // the size of a 1 KiB message's signed envelope
  return m;
}

struct Row {
  std::string id;
  double value;
  std::string unit;
  std::string note;
};

// Appends entries `per_commit` at a time until `count` or `limit` is reached; entries/s.
double run(parley::store::Store& store, std::uint64_t& next, std::uint64_t count,
           std::size_t per_commit, std::chrono::seconds limit, std::uint64_t& done) {
  parley::SeededRng rng(next);
  const auto start = Clock::now();
  done = 0;
  while (done < count && Clock::now() - start < limit) {
    std::vector<core::Record> records;
    for (std::size_t i = 0; i < per_commit; ++i, ++next) {
      core::MessageRecord m = message(next, rng);
      core::LogEntry entry;
      entry.owner = "us-eucom";
      entry.peer = "ru-genstaff";
      entry.index = next;
      entry.message_id = m.id;
      entry.leaf_hash = parley::ledger::leaf_hash(parley::as_bytes(m.envelope));
      records.push_back(core::PutMessage{std::move(m)});
      records.push_back(entry);
    }
    const parley::Status status = store.apply(records);
    if (!status.is_ok()) {
      std::fprintf(stderr, "parley-bench-append: %s\n", status.to_string().c_str());
      std::exit(1);
    }
    done += per_commit;
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return double(done) / seconds;
}

}  // namespace

int main(int argc, char** argv) {
  bool json = false;
  bool quick = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--json") {
      json = true;
    } else if (arg == "--quick") {
      quick = true;
    } else if (arg == "--samples") {
      ++i;  // no samples to write
    } else {
      std::fprintf(stderr, "usage: parley-bench-append [--quick] [--json] [--samples DIR]\n");
      return 2;
    }
  }
  const std::filesystem::path dir =
      std::filesystem::path(PARLEY_BENCH_SCRATCH_DIR) / ("append-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  // Encrypted as a gateway's store is by default (a fixed key: the figure is the cipher's
  // cost, not the key's secrecy); PARLEY_BENCH_STORE=plaintext measures without (bench/run).
  parley::store::SqliteOptions options;
  const char* plaintext = std::getenv("PARLEY_BENCH_STORE");
  if (plaintext == nullptr || std::string_view(plaintext) != "plaintext") {
    options.key.assign(parley::store::kStoreKeySize, 0xa5);
  }
  auto opened = parley::store::open_sqlite_store((dir / "parley.db").string(), options);
  if (!opened.is_ok()) {
    std::fprintf(stderr, "parley-bench-append: %s\n", opened.status().to_string().c_str());
    return 1;
  }
  parley::store::Store& store = **opened;
  std::uint64_t next = 0;
  std::uint64_t single = 0, batched = 0;
  const double one =
      run(store, next, quick ? 300 : 2000, 1, std::chrono::seconds(quick ? 5 : 20), single);
  const double hundred =
      run(store, next, quick ? 5000 : 50000, 100, std::chrono::seconds(quick ? 5 : 20), batched);
  opened->reset();
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);

  const std::vector<Row> rows = {
      {"transcript.append", one, "entries/s",
       std::to_string(single) + " entries, one message + log entry per fsynced commit"},
      {"transcript.append.batch100", hundred, "entries/s",
       std::to_string(batched) + " entries, 100 per fsynced commit"}};
  if (json) {
    std::printf("{\n");
    for (std::size_t i = 0; i < rows.size(); ++i) {
      std::printf("  \"%s\": {\"value\": %.6g, \"unit\": \"%s\", \"note\": \"%s\"}%s\n",
                  rows[i].id.c_str(), rows[i].value, rows[i].unit.c_str(), rows[i].note.c_str(),
                  i + 1 < rows.size() ? "," : "");
    }
    std::printf("}\n");
  } else {
    std::printf("| id | value | unit | note |\n| --- | ---: | --- | --- |\n");
    for (const Row& r : rows) {
      std::printf("| %s | %.0f | %s | %s |\n", r.id.c_str(), r.value, r.unit.c_str(),
                  r.note.c_str());
    }
  }
  return 0;
}
