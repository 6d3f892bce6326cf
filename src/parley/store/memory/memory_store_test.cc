// MemoryStore against SqliteStore: the conformance suite checks the contract case by case;
// this drives both with the same random writes (duplicates, unknown ids, gaps, refused and
// invalid batches, conflicting tokens) and checks that every call answers the same and that
// everything either would read back is the same. Seeded: PARLEY_SEED (random if unset).
#include "parley/store/memory/memory_store.h"

#include <cstdint>
#include <cstdlib>
#include <limits>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "parley/store/sqlite/sqlite_store.h"
#include "parley/store/store_test_util.h"

namespace parley::store {
namespace {

using core::Direction;
using core::MessageRecord;
using core::MessageState;
using core::Record;
using test::at;
using test::hash_of;

constexpr const char* kUs = "us-eucom";
constexpr const char* kPeers[] = {"ru-genstaff", "cn-cmc"};
constexpr const char* kLines[] = {"to-ru", "to-cn", "old"};
constexpr MessageState kStates[] = {MessageState::kQueued,    MessageState::kSent,
                                    MessageState::kDelivered, MessageState::kAcknowledged,
                                    MessageState::kOverdue,   MessageState::kExpired};

// Random records over a small universe, so that ids, seqs, log indexes and head sizes
// collide often.
class Writer {
 public:
  explicit Writer(std::uint64_t seed) : random_(seed) {}

  std::vector<Record> batch() {
    std::vector<Record> out(pick(4) + 1);
    for (Record& r : out) r = record();
    return out;
  }
  core::Line line() {
    core::Line l = test::line(kLines[pick(3)], kPeers[pick(2)]);
    if (chance(2)) l.alternates = {"duty"};
    l.deadlines.flash = std::chrono::seconds(pick(100));
    return l;
  }
  core::Principal principal() {
    Bytes token;
    if (!chance(4)) token = Bytes(32, static_cast<std::uint8_t>(pick(3)));
    return test::principal("p" + std::to_string(pick(3)), "name " + std::to_string(pick(9)),
                           "officer", token);
  }
  core::Peer peer() {
    const std::uint64_t which = pick(2);
    return {test::bundle(kPeers[which], which * 10 + pick(2), "127.0.0.1:7001")};
  }
  std::uint64_t pick(std::uint64_t n) { return random_() % n; }
  bool chance(std::uint64_t one_in) { return pick(one_in) == 0; }

 private:
  Record record() {
    switch (pick(8)) {
      case 0:
      case 1:
        return core::PutMessage{message()};
      case 2:
        return update();
      case 3:
        return log_entry();
      case 4:
        return head();
      case 5:
        return inclusion();
      case 6:
        return evidence();
      default:
        return core::PutMessage{message()};
    }
  }
  std::string id() { return "m-" + std::to_string(pick(16)); }
  // (owner, peer) of one of the four logs: ours with each peer, each peer's with us.
  std::pair<std::string, std::string> log() {
    const std::string peer = kPeers[pick(2)];
    return chance(2) ? std::pair{std::string(kUs), peer} : std::pair{peer, std::string(kUs)};
  }
  MessageRecord message() {
    const auto direction = chance(2) ? Direction::kOutbound : Direction::kInbound;
    MessageRecord m =
        test::message(id(), kLines[pick(3)], pick(6), direction,
                      at(static_cast<std::int64_t>(pick(4))), chance(5) ? "ack" : "text");
    m.peer = kPeers[pick(2)];
    m.state = kStates[pick(6)];
    if (chance(2)) m.receipt = "{}";
    if (chance(3)) m.acknowledged_at = at(9);
    if (chance(3)) m.tx = "tx-" + std::to_string(pick(3));
    if (chance(40)) m.seq = std::numeric_limits<std::uint64_t>::max();  // out of range
    return m;
  }
  core::UpdateMessage update() {
    core::UpdateMessage u;
    u.id = id();
    u.state = kStates[pick(6)];
    if (chance(2)) u.delivered_at = at(static_cast<std::int64_t>(pick(50)));
    if (chance(3)) u.acknowledged_at = at(60);
    if (chance(3)) u.acknowledged_by = "ru-genstaff/cgs";
    if (chance(3)) u.ack_id = id();
    if (chance(2)) u.receipt = "{\"r\":" + std::to_string(pick(3)) + "}";
    if (chance(3)) u.tx = "tx-" + std::to_string(pick(3));
    return u;
  }
  core::LogEntry log_entry() {
    auto [owner, peer] = log();
    const std::uint64_t index = pick(6);
    return core::LogEntry{owner, peer, index, id(), hash_of(index)};
  }
  core::PutHead head() {
    auto [owner, peer] = log();
    std::optional<std::string> receipt;
    if (chance(2)) receipt = "r" + std::to_string(pick(3));
    std::optional<std::vector<crypto::Digest>> frontier;
    if (chance(2)) frontier = std::vector<crypto::Digest>{hash_of(pick(50))};
    core::PutHead h = test::head(owner, peer, pick(7), receipt, frontier);
    h.root = hash_of(pick(1000));
    return h;
  }
  core::PutInclusion inclusion() {
    const std::uint64_t size = pick(6) + 1;
    const std::uint64_t index = chance(30) ? size : pick(size);  // now and then invalid
    return {id(), index, size, hash_of(pick(9)), {hash_of(pick(9))}};
  }
  core::PutEvidence evidence() {
    core::PutEvidence e;
    e.id = "e-" + std::to_string(pick(6));
    e.peer = kPeers[pick(2)];
    e.kind = "fork";
    e.detail = "detail";
    e.sth_a = "{}";
    e.sth_b = "{\"b\":" + std::to_string(pick(2)) + "}";  // often the same conflict again
    e.at = at(static_cast<std::int64_t>(pick(3)));
    return e;
  }

  std::mt19937_64 random_;
};

void expect_same_record(const MessageRecord& want, const MessageRecord& got) {
  test::expect_same(want, got);
  EXPECT_EQ(want.log_index, got.log_index) << want.id;
}

void expect_same_records(const std::vector<MessageRecord>& want,
                         const std::vector<MessageRecord>& got) {
  ASSERT_EQ(test::ids_of(want), test::ids_of(got));
  for (std::size_t i = 0; i < want.size(); ++i) expect_same_record(want[i], got[i]);
}

template <typename T>
bool same_outcome(const Result<T>& want, const Result<T>& got) {
  EXPECT_EQ(want.status().code(), got.status().code())
      << want.status().to_string() << " / " << got.status().to_string();
  return want.is_ok() && got.is_ok();
}

void expect_same_heads(const std::optional<core::RecoveredHead>& want,
                       const std::optional<core::RecoveredHead>& got) {
  ASSERT_EQ(want.has_value(), got.has_value());
  if (!want) return;
  EXPECT_EQ(want->size, got->size);
  EXPECT_EQ(want->root, got->root);
  EXPECT_EQ(want->sth, got->sth);
  EXPECT_EQ(want->receipt, got->receipt);
}

void expect_same_recovery(Store& sqlite, Store& memory, const std::string& peer) {
  SCOPED_TRACE("recover " + peer);
  const Result<core::Recovered> want = sqlite.recover(peer);
  const Result<core::Recovered> got = memory.recover(peer);
  if (!same_outcome(want, got)) return;
  EXPECT_EQ(want->last_outbound_seq, got->last_outbound_seq);
  ASSERT_EQ(want->inbound_seqs.size(), got->inbound_seqs.size());
  for (const auto& [line, seqs] : want->inbound_seqs) {
    ASSERT_TRUE(got->inbound_seqs.contains(line)) << line;
    EXPECT_EQ(seqs.watermark, got->inbound_seqs.at(line).watermark) << line;
    EXPECT_EQ(seqs.above, got->inbound_seqs.at(line).above) << line;
  }
  expect_same_records(want->unreceipted, got->unreceipted);
  expect_same_records(want->unacknowledged, got->unacknowledged);
  const core::RecoveredLedger& w = want->ledger;
  const core::RecoveredLedger& g = got->ledger;
  EXPECT_EQ(w.log_size, g.log_size);
  EXPECT_EQ(w.base_size, g.base_size);
  EXPECT_EQ(w.base_nodes, g.base_nodes);
  EXPECT_EQ(w.tail, g.tail);
  expect_same_heads(w.countersigned, g.countersigned);
  ASSERT_EQ(w.pending.size(), g.pending.size());
  for (std::size_t i = 0; i < w.pending.size(); ++i) expect_same_heads(w.pending[i], g.pending[i]);
  expect_same_heads(w.peer_head, g.peer_head);
}

void expect_same_transcript(Store& sqlite, Store& memory) {
  for (const std::string peer : kPeers) {
    for (const auto& [owner, other] :
         {std::pair{std::string(kUs), peer}, std::pair{peer, std::string(kUs)}}) {
      SCOPED_TRACE("log of " + owner + " for " + other);
      const auto want_heads = sqlite.heads(owner, other);
      const auto got_heads = memory.heads(owner, other);
      if (same_outcome(want_heads, got_heads)) {
        ASSERT_EQ(want_heads->size(), got_heads->size());
        for (std::size_t i = 0; i < want_heads->size(); ++i) {
          EXPECT_EQ((*want_heads)[i].size, (*got_heads)[i].size);
          EXPECT_EQ((*want_heads)[i].root, (*got_heads)[i].root);
          EXPECT_EQ((*want_heads)[i].sth, (*got_heads)[i].sth);
          EXPECT_EQ((*want_heads)[i].receipt, (*got_heads)[i].receipt);
        }
      }
      for (const std::uint64_t from : {0, 2}) {
        const auto want = sqlite.log_entries(owner, other, from, 3);
        const auto got = memory.log_entries(owner, other, from, 3);
        if (!same_outcome(want, got)) continue;
        ASSERT_EQ(want->size(), got->size());
        for (std::size_t i = 0; i < want->size(); ++i) {
          EXPECT_EQ((*want)[i].index, (*got)[i].index);
          EXPECT_EQ((*want)[i].message_id, (*got)[i].message_id);
          EXPECT_EQ((*want)[i].envelope, (*got)[i].envelope);
          ASSERT_EQ((*want)[i].inclusion.has_value(), (*got)[i].inclusion.has_value());
          if ((*want)[i].inclusion) {
            EXPECT_EQ((*want)[i].inclusion->proof, (*got)[i].inclusion->proof);
          }
        }
      }
    }
  }
  for (int i = 0; i < 16; ++i) {
    const std::string id = "m-" + std::to_string(i);
    const auto want = sqlite.inclusion(id);
    const auto got = memory.inclusion(id);
    if (!same_outcome(want, got)) continue;
    ASSERT_EQ(want->has_value(), got->has_value()) << id;
    if (!*want) continue;
    EXPECT_EQ((*want)->index, (*got)->index);
    EXPECT_EQ((*want)->size, (*got)->size);
    EXPECT_EQ((*want)->root, (*got)->root);
    EXPECT_EQ((*want)->proof, (*got)->proof);
  }
  const auto want = sqlite.evidence();
  const auto got = memory.evidence();
  if (same_outcome(want, got)) {
    ASSERT_EQ(want->size(), got->size());
    for (std::size_t i = 0; i < want->size(); ++i) {
      EXPECT_EQ((*want)[i].id, (*got)[i].id);
      EXPECT_EQ((*want)[i].sth_b, (*got)[i].sth_b);
      EXPECT_EQ((*want)[i].seen, (*got)[i].seen);
      EXPECT_EQ((*want)[i].last_seen, (*got)[i].last_seen);
    }
  }
}

void expect_same_config(Store& sqlite, Store& memory) {
  const auto want_lines = sqlite.lines();
  const auto got_lines = memory.lines();
  if (same_outcome(want_lines, got_lines)) {
    ASSERT_EQ(want_lines->size(), got_lines->size());
    for (std::size_t i = 0; i < want_lines->size(); ++i) {
      const core::Line& w = (*want_lines)[i];
      const core::Line& g = (*got_lines)[i];
      EXPECT_EQ(w.id, g.id);
      EXPECT_EQ(w.remote, g.remote);
      EXPECT_EQ(w.alternates, g.alternates);
      EXPECT_EQ(w.deadlines.flash, g.deadlines.flash);
    }
  }
  const auto want_principals = sqlite.principals();
  const auto got_principals = memory.principals();
  if (same_outcome(want_principals, got_principals)) {
    ASSERT_EQ(want_principals->size(), got_principals->size());
    for (std::size_t i = 0; i < want_principals->size(); ++i) {
      EXPECT_EQ((*want_principals)[i].id, (*got_principals)[i].id);
      EXPECT_EQ((*want_principals)[i].name, (*got_principals)[i].name);
      EXPECT_EQ((*want_principals)[i].token_hash, (*got_principals)[i].token_hash);
    }
  }
  for (std::uint8_t token = 0; token < 3; ++token) {
    const auto want = sqlite.principal_by_token_hash(Bytes(32, token));
    const auto got = memory.principal_by_token_hash(Bytes(32, token));
    if (!same_outcome(want, got)) continue;
    ASSERT_EQ(want->has_value(), got->has_value());
    if (*want) {
      EXPECT_EQ((*want)->id, (*got)->id);
    }
  }
  const auto want_peers = sqlite.peers();
  const auto got_peers = memory.peers();
  if (same_outcome(want_peers, got_peers)) {
    ASSERT_EQ(want_peers->size(), got_peers->size());
    for (std::size_t i = 0; i < want_peers->size(); ++i) {
      EXPECT_EQ((*want_peers)[i].bundle.party, (*got_peers)[i].bundle.party);
      EXPECT_EQ((*want_peers)[i].bundle.sign_key, (*got_peers)[i].bundle.sign_key);
    }
  }
}

void expect_same_contents(Store& sqlite, Store& memory) {
  MessageQuery all;
  all.include_acks = true;
  const auto want = sqlite.list_messages(all);
  const auto got = memory.list_messages(all);
  if (same_outcome(want, got)) expect_same_records(*want, *got);
  MessageQuery some;
  some.direction = Direction::kInbound;
  some.lines = {"to-ru", "old"};
  some.limit = 3;
  const auto want_some = sqlite.list_messages(some);
  const auto got_some = memory.list_messages(some);
  if (same_outcome(want_some, got_some)) expect_same_records(*want_some, *got_some);
  for (const std::string peer : kPeers) expect_same_recovery(sqlite, memory, peer);
  expect_same_transcript(sqlite, memory);
  expect_same_config(sqlite, memory);
}

// One random write to both stores, expecting the same answer from each.
void write_both(Writer& writer, Store& sqlite, Store& memory) {
  switch (writer.pick(6)) {
    case 0: {
      const std::vector<Record> batch = writer.batch();
      const Status want = sqlite.apply(batch);
      const Status got = memory.apply(batch);
      EXPECT_EQ(want.code(), got.code()) << want.to_string() << " / " << got.to_string();
      return;
    }
    case 1: {
      std::vector<std::vector<Record>> batches(writer.pick(4));
      for (auto& b : batches) b = writer.chance(5) ? std::vector<Record>() : writer.batch();
      std::vector<const std::vector<Record>*> group;
      for (const auto& b : batches) group.push_back(&b);
      const auto want = sqlite.apply_group(group);
      const auto got = memory.apply_group(group);
      if (!same_outcome(want, got)) return;
      ASSERT_EQ(want->size(), got->size());
      for (std::size_t i = 0; i < want->size(); ++i) {
        EXPECT_EQ((*want)[i].code(), (*got)[i].code()) << "batch " << i;
      }
      return;
    }
    case 2: {
      const core::Line line = writer.line();
      EXPECT_EQ(sqlite.put_line(line).code(), memory.put_line(line).code());
      return;
    }
    case 3: {
      const core::Principal principal = writer.principal();
      EXPECT_EQ(sqlite.put_principal(principal).code(), memory.put_principal(principal).code());
      return;
    }
    case 4: {
      const core::Peer peer = writer.peer();
      EXPECT_EQ(sqlite.put_peer(peer).code(), memory.put_peer(peer).code());
      return;
    }
    default: {
      const std::vector<Record> batch = writer.batch();
      EXPECT_EQ(sqlite.apply(batch).code(), memory.apply(batch).code());
      return;
    }
  }
}

TEST(MemoryStoreTest, AnswersAndHoldsWhatSqliteDoesUnderRandomWrites) {
  const char* env_seed = std::getenv("PARLEY_SEED");
  const std::uint64_t first =
      env_seed != nullptr ? std::strtoull(env_seed, nullptr, 10) : std::random_device()();
  for (std::uint64_t seed = first; seed < first + 8; ++seed) {
    SCOPED_TRACE("reproduce: PARLEY_SEED=" + std::to_string(seed));
    test::TempDir dir;
    auto sqlite = open_sqlite_store(test::sqlite_path(dir.path()), {.synchronous_full = false});
    ASSERT_TRUE(sqlite.is_ok()) << sqlite.status().to_string();
    MemoryStore memory(MemoryStore::new_disk());
    Writer writer(seed);
    for (int step = 0; step < 150; ++step) {
      SCOPED_TRACE("step " + std::to_string(step));
      write_both(writer, **sqlite, memory);
      expect_same_contents(**sqlite, memory);
      if (HasFailure()) return;
    }
  }
}

}  // namespace
}  // namespace parley::store
