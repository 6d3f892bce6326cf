// parley-bench-fill: a gateway's restart time and memory with a full store (issue 6).
//
// Writes N stored messages (1,000,000; --quick 100,000) into a fresh gateway home's store
// through the Store API in batches of 10,000 records, then starts `parley gateway` on it and
// measures the seconds from the fork until GET /readyz answers 200 ready, and the gateway's
// resident memory (VmRSS) at that moment. Three starts; the median is reported.
//
// The history is what a busy line leaves behind, in both directions: each unit of four
// records is an outbound text message the peer acknowledged (with the peer's receipt), the
// peer's inbound ack of it, an inbound text message this side acknowledged, and this side's
// outbound ack of it (with its receipt). Every record carries a real sealed and signed
// envelope, and the outbound ones a signed receipt-shaped object of a receipt's size, taken
// from a pool made once (so the sizes are real; an envelope's id is not the record's: nothing
// reads them at start), and
// texts of 100 to 1,500 bytes. This is a test fixture: records are written directly, as the
// gateway would have written them.
#include <algorithm>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "harness.h"

#include "parley/base/json.h"
#include "parley/base/rng.h"
#include "parley/base/time.h"
#include "parley/core/model.h"
#include "parley/crypto/crypto.h"
#include "parley/gateway/home.h"
#include "parley/store/sqlite/sqlite_store.h"
#include "parley/wire/wire.h"

namespace {

using namespace parley::bench;
namespace fs = std::filesystem;
namespace core = parley::core;
namespace wire = parley::wire;
namespace crypto = parley::crypto;
using parley::Time;

constexpr std::size_t kBatchRecords = 10'000;
constexpr std::size_t kPoolSize = 64;
constexpr int kStarts = 3;

std::size_t text_length(std::size_t i) { return 100 + (i * 397) % 1401; }  // 100..1500

std::string text_of(std::size_t length) {
  std::string text;
  const std::string_view words = "Routine coordination traffic between the two staffs. ";
  while (text.size() < length) text += words;
  text.resize(length);
  return text;
}

// Real envelopes and receipts whose sizes the stored records take.
struct Pool {
  std::vector<std::string> text_envelopes;  // kPoolSize, text lengths text_length(i)
  std::vector<std::string> ack_envelopes;   // kPoolSize
  std::vector<std::string> receipts;        // kPoolSize, receipts of 8-message transactions
};

Pool make_pool(const wire::Address& from, const wire::Address& to) {
  crypto::SystemRng rng;
  const crypto::Keys keys = crypto::generate_keys(rng);
  crypto::SealKey seal_key;
  rng.fill(seal_key.bytes);
  Pool pool;
  const Time now = std::chrono::floor<std::chrono::milliseconds>(std::chrono::system_clock::now());
  for (std::size_t i = 0; i < kPoolSize; ++i) {
    wire::Draft draft;
    draft.id = parley::uuid_v7(now, rng);
    draft.line = "hotline";
    draft.seq = 1 + i;
    draft.from = from;
    draft.to = to;
    draft.precedence = i % 16 == 0 ? wire::Precedence::kImmediate : wire::Precedence::kRoutine;
    draft.type = "text";
    draft.created = now;
    draft.content = wire::Content{"{}", text_of(text_length(i))};
    pool.text_envelopes.push_back(wire::encode_envelope(
        wire::seal_and_sign(draft, seal_key, keys.signing, from.party, rng).envelope));
    wire::Draft ack = draft;
    ack.id = parley::uuid_v7(now, rng);
    ack.type = "ack";
    ack.reply_to = draft.id;
    ack.content = wire::Content{"{}", ""};
    pool.ack_envelopes.push_back(wire::encode_envelope(
        wire::seal_and_sign(ack, seal_key, keys.signing, from.party, rng).envelope));
    // A receipt-shaped DSSE object of a v2 receipt's size: 8 ids, a digest and the
    // receiver's signed tree head inside, signed. (Its exact format is the ledger's.)
    parley::json::Json ids = parley::json::Json::array();
    for (int k = 0; k < 8; ++k) ids.push_back(parley::uuid_v7(now, rng));
    parley::Bytes root(32);
    rng.fill(root);
    const parley::json::Json sth = {
        {"payload", parley::base64_encode(parley::as_bytes(
                        parley::json::dump({{"v", 1},
                                            {"party", to.party},
                                            {"size", 4096 + i},
                                            {"root", parley::hex_encode(root)},
                                            {"time", parley::format_time(now)}})))},
        {"sig", parley::base64_encode(parley::Bytes(64, 7))},
        {"key", to.party}};
    const std::string payload = parley::json::dump({{"v", 2},
                                                    {"tx", parley::uuid_v7(now, rng)},
                                                    {"from", to.party},
                                                    {"to", from.party},
                                                    {"ids", ids},
                                                    {"digest", parley::hex_encode(root)},
                                                    {"received", parley::format_time(now)},
                                                    {"sth", sth}});
    const auto sig = crypto::ed25519_sign(keys.signing, parley::as_bytes(payload));
    pool.receipts.push_back(parley::json::dump(
        {{"payload", parley::base64_encode(parley::as_bytes(payload))},
         {"sig", parley::base64_encode(parley::ByteView(sig.data(), sig.size()))},
         {"key", to.party}}));
  }
  return pool;
}

// Writes `n` messages (a multiple of 4) as described above; progress on stderr.
void fill(parley::store::Store& store, std::size_t n, const wire::Address& us,
          const wire::Address& them, const Pool& pool) {
  crypto::SystemRng rng;
  const Time end = std::chrono::floor<std::chrono::milliseconds>(std::chrono::system_clock::now());
  const Time begin = end - std::chrono::hours(24 * 90);
  const auto step = (end - begin) / static_cast<std::int64_t>(n / 4 + 1);
  parley::Bytes salt(32);
  std::uint64_t out_seq = 0;
  std::uint64_t in_seq = 0;
  std::vector<core::Record> batch;
  batch.reserve(kBatchRecords);
  const Clock::time_point start = Clock::now();
  const auto flush = [&] {
    const parley::Status status = store.apply(batch);
    if (!status.is_ok()) die("filling the store: %s", status.to_string().c_str());
    batch.clear();
  };
  const auto base = [&](core::Direction direction, const wire::Address& from,
                        const wire::Address& to, Time created) {
    core::MessageRecord r;
    r.id = parley::uuid_v7(created, rng);
    r.line = "hotline";
    r.seq = direction == core::Direction::kOutbound ? ++out_seq : ++in_seq;
    r.direction = direction;
    r.peer = them.party;
    r.from = from;
    r.to = to;
    r.created = created;
    r.lang = "en";
    rng.fill(salt);
    r.salt = salt;
    r.ack_deadline = created + std::chrono::hours(6);
    r.tx = parley::uuid_v7(created, rng);
    return r;
  };
  for (std::size_t unit = 0; unit < n / 4; ++unit) {
    const Time t = begin + step * static_cast<std::int64_t>(unit);
    const std::size_t k = unit % kPoolSize;
    // Ours, acknowledged by the peer; the peer's ack of it.
    core::MessageRecord sent = base(core::Direction::kOutbound, us, them, t);
    core::MessageRecord their_ack =
        base(core::Direction::kInbound, them, us, t + std::chrono::seconds(40));
    sent.type = "text";
    sent.precedence = k % 16 == 0 ? wire::Precedence::kImmediate : wire::Precedence::kRoutine;
    sent.content = wire::Content{"{}", text_of(text_length(k))};
    sent.envelope = pool.text_envelopes[k];
    sent.state = core::MessageState::kAcknowledged;
    sent.delivered_at = t + std::chrono::milliseconds(30);
    sent.acknowledged_at = their_ack.created;
    sent.acknowledged_by = them.to_string();
    sent.ack_id = their_ack.id;
    sent.receipt = pool.receipts[k];
    their_ack.type = "ack";
    their_ack.needs_ack = false;  // as the catalog says of an ack: none is awaited
    their_ack.precedence = sent.precedence;
    their_ack.reply_to = sent.id;
    their_ack.envelope = pool.ack_envelopes[k];
    their_ack.state = core::MessageState::kDelivered;
    their_ack.delivered_at = their_ack.created;
    // Theirs, acknowledged by us; our ack of it.
    const Time t2 = t + std::chrono::seconds(60);
    core::MessageRecord got = base(core::Direction::kInbound, them, us, t2);
    core::MessageRecord our_ack =
        base(core::Direction::kOutbound, us, them, t2 + std::chrono::seconds(50));
    got.type = "text";
    got.precedence = sent.precedence;
    got.content = wire::Content{"{}", text_of(text_length((k + 17) % kPoolSize))};
    got.envelope = pool.text_envelopes[(k + 17) % kPoolSize];
    got.state = core::MessageState::kAcknowledged;
    got.delivered_at = t2;
    got.acknowledged_at = our_ack.created;
    got.acknowledged_by = us.to_string();
    got.ack_id = our_ack.id;
    our_ack.type = "ack";
    our_ack.needs_ack = false;
    our_ack.precedence = got.precedence;
    our_ack.reply_to = got.id;
    our_ack.envelope = pool.ack_envelopes[(k + 5) % kPoolSize];
    our_ack.state = core::MessageState::kDelivered;
    our_ack.delivered_at = our_ack.created + std::chrono::milliseconds(30);
    our_ack.receipt = pool.receipts[(k + 9) % kPoolSize];
    for (core::MessageRecord* r : {&sent, &their_ack, &got, &our_ack}) {
      batch.push_back(core::PutMessage{std::move(*r)});
    }
    if (batch.size() >= kBatchRecords) {
      flush();
      const std::size_t done = (unit + 1) * 4;
      if (done % 100'000 == 0) {
        progress(strf("filled %zu of %zu (%.0f s)", done, n, micros(Clock::now() - start) / 1e6));
      }
    }
  }
  if (!batch.empty()) flush();
}

}  // namespace

int main(int argc, char** argv) {
  set_program("parley-bench-fill");
  const Options options = parse_options(
      argc, argv, "restart time and memory of a gateway whose store holds 1,000,000 messages");
  const std::size_t n = options.quick ? 100'000 : 1'000'000;
  const std::string suffix = options.quick ? "100k" : "1m";
  const fs::path scratch = make_scratch(options.dir, "fill");
  Party us;
  Party them;
  init_pair(scratch, us, them);  // `them` never runs: a pinned peer and the line are enough

  progress(strf("writing %zu messages into %s", n, us.home.c_str()));
  const Clock::time_point fill_start = Clock::now();
  std::uintmax_t db_bytes = 0;
  {
    parley::Result<parley::gateway::Home> home = parley::gateway::open_home(us.home);
    if (!home.is_ok()) die("%s", home.status().to_string().c_str());
    const Pool pool = make_pool({us.id, us.principal}, {them.id, them.principal});
    parley::Result<std::unique_ptr<parley::store::Store>> store =
        parley::gateway::open_store(*home);
    if (!store.is_ok()) die("%s", store.status().to_string().c_str());
    fill(**store, n, {us.id, us.principal}, {them.id, them.principal}, pool);
    store->reset();  // closed: a clean shutdown, as before a restart
    std::error_code ec;
    db_bytes = fs::file_size(home->store_path(), ec);
  }
  const double fill_seconds = micros(Clock::now() - fill_start) / 1e6;
  progress(strf("filled in %.1f s (%.0f MiB store); starting the gateway %d times", fill_seconds,
                static_cast<double>(db_bytes) / (1 << 20), kStarts));

  std::vector<double> seconds;
  std::vector<double> rss;
  std::vector<double> cpu_used;  // the gateway's CPU time (user + sys) when it was ready
  double peak = 0;
  for (int i = 0; i < kStarts; ++i) {
    spawn_gateway(us, options.parley);
    const Clock::time_point ready = wait_ready(us, std::chrono::seconds(120));
    const std::optional<double> resident = status_mib(us.pid, "VmRSS");
    const std::optional<double> hwm = status_mib(us.pid, "VmHWM");
    const std::optional<double> cpu = cpu_seconds(us.pid);
    if (!resident || !hwm || !cpu) die("cannot read /proc/%d/status", static_cast<int>(us.pid));
    seconds.push_back(micros(ready - us.spawned) / 1e6);
    rss.push_back(*resident);
    cpu_used.push_back(*cpu);
    peak = std::max(peak, *hwm);
    progress(strf("start %d: ready after %.3f s (CPU %.2f s), VmRSS %.1f MiB, VmHWM %.1f MiB",
                  i + 1, seconds.back(), *cpu, *resident, *hwm));
    stop_gateway(us);
  }
  std::vector<double> sorted_seconds = seconds;
  std::sort(sorted_seconds.begin(), sorted_seconds.end());
  std::vector<double> sorted_rss = rss;
  std::sort(sorted_rss.begin(), sorted_rss.end());
  std::string all;
  for (std::size_t i = 0; i < seconds.size(); ++i) {
    all += (all.empty() ? "" : ", ") + strf("%.3f (CPU %.2f)", seconds[i], cpu_used[i]);
  }

  std::vector<Row> rows;
  rows.push_back(
      {"restart." + suffix, percentile(sorted_seconds, 0.5), "s",
       strf(
           "median of %d starts of `parley gateway` on a store of %zu messages (%.0f MiB, "
           "both directions, all acknowledged; warm page cache): fork until GET /readyz is "
           "200 ready; each start, and the gateway's CPU time (user + sys) by then: %s s; the fill "
           "took %.1f s",
           kStarts, n, static_cast<double>(db_bytes) / (1 << 20), all.c_str(), fill_seconds),
       ""});
  rows.push_back({"rss." + suffix, percentile(sorted_rss, 0.5), "MiB",
                  strf("VmRSS of the gateway the moment it is ready, median of %d starts; peak "
                       "(VmHWM) %.1f MiB",
                       kStarts, peak),
                  ""});
  remove_scratch(scratch);
  print_rows(rows, options.json);
  return 0;
}
