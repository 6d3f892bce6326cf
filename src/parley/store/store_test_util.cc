// The helpers of the Store tests (store_test_util.h).
#include "parley/store/store_test_util.h"

#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <random>
#include <utility>

#include <gtest/gtest.h>
#include <sys/types.h>

#include "parley/base/rng.h"

namespace parley::store::test {

using core::Direction;
using core::MessageRecord;
using core::MessageState;
using core::PutMessage;
using core::Record;

TempDir::TempDir() {
  static std::atomic<int> counter{0};
  std::random_device random;
  path_ = fs::temp_directory_path() / ("parley-store-test-" + std::to_string(::getpid()) + "-" +
                                       std::to_string(counter++) + "-" + std::to_string(random()));
  fs::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ignored;
  fs::remove_all(path_, ignored);
}

std::string sqlite_path(const fs::path& dir) { return (dir / "parley.db").string(); }

Time at(std::int64_t ms) { return time_from_unix_ms(1'800'000'000'000 + ms); }

MessageRecord message(std::string id, std::string line, std::uint64_t seq, Direction direction,
                      Time created, std::string type) {
  MessageRecord m;
  m.id = std::move(id);
  m.line = std::move(line);
  m.seq = seq;
  m.direction = direction;
  m.peer = "ru-genstaff";
  m.from = {"us-eucom", "saceur"};
  m.to = {"ru-genstaff", "cgs"};
  m.precedence = wire::Precedence::kRoutine;
  m.type = std::move(type);
  // As the core decides it from the catalog: an ack and a translation ask for no ack.
  m.needs_ack = m.type != "ack" && m.type != "translation";
  m.created = created;
  m.content = {R"({"k":1})", "hello"};
  m.salt = Bytes(32, 0x5a);
  m.envelope = R"({"payload":"cA==","sig":"c2ln","key":"us-eucom"})";
  m.state = MessageState::kQueued;
  m.ack_deadline = created + std::chrono::hours(6);
  return m;
}

MessageRecord every_field_set() {
  MessageRecord m = message("0190a0b0-0000-7000-8000-000000000001", "saceur-cgs", 42,
                            Direction::kInbound, at(123));
  m.peer = "ru-genstaff";
  m.from = {"ru-genstaff", "cgs"};
  m.to = {"us-eucom", "saceur"};
  m.precedence = wire::Precedence::kFlash;
  m.type = "notify.missile-launch";
  m.expires = at(999'000);
  m.reply_to = "0190a0b0-0000-7000-8000-0000000000ff";
  m.lang = "ru";
  m.content = {R"({"count":3,"note":"\u00e9"})", "Пуск: три ракеты"};
  m.salt = Bytes{0, 1, 2, 0, 255, 254};  // embedded zero bytes survive
  m.envelope = R"({"payload":"eyJ2IjoxfQ==","sig":"AAAA","key":"ru-genstaff"})";
  m.state = MessageState::kAcknowledged;
  m.ack_deadline = at(300'123);
  m.delivered_at = at(200);
  m.acknowledged_at = at(5'000);
  m.acknowledged_by = "us-eucom/saceur";
  m.ack_id = "0190a0b0-0000-7000-8000-0000000000aa";
  m.receipt = R"({"payload":"cg==","sig":"cw==","key":"us-eucom"})";
  m.tx = "0190a0b0-0000-7000-8000-0000000000bb";
  m.refusal = "unknown line 'x'";
  m.cancelled_at = at(6'000);
  m.cancelled_by = "us-eucom/dsaceur";
  m.broadcast = "0190a0b0-0000-7000-8000-0000000000cc";
  return m;
}

std::optional<std::int64_t> ms(const std::optional<Time>& t) {
  if (!t) return std::nullopt;
  return unix_ms(*t);
}

void expect_same(const MessageRecord& want, const MessageRecord& got) {
  EXPECT_EQ(want.id, got.id);
  EXPECT_EQ(want.line, got.line);
  EXPECT_EQ(want.seq, got.seq);
  EXPECT_EQ(want.direction, got.direction);
  EXPECT_EQ(want.peer, got.peer);
  EXPECT_EQ(want.from, got.from);
  EXPECT_EQ(want.to, got.to);
  EXPECT_EQ(want.precedence, got.precedence);
  EXPECT_EQ(want.type, got.type);
  EXPECT_EQ(unix_ms(want.created), unix_ms(got.created));
  EXPECT_EQ(ms(want.expires), ms(got.expires));
  EXPECT_EQ(want.reply_to, got.reply_to);
  EXPECT_EQ(want.lang, got.lang);
  EXPECT_EQ(want.content.body_json, got.content.body_json);
  EXPECT_EQ(want.content.text, got.content.text);
  EXPECT_EQ(want.salt, got.salt);
  EXPECT_EQ(want.envelope, got.envelope);
  EXPECT_EQ(want.state, got.state);
  EXPECT_EQ(unix_ms(want.ack_deadline), unix_ms(got.ack_deadline));
  EXPECT_EQ(ms(want.delivered_at), ms(got.delivered_at));
  EXPECT_EQ(ms(want.acknowledged_at), ms(got.acknowledged_at));
  EXPECT_EQ(want.acknowledged_by, got.acknowledged_by);
  EXPECT_EQ(want.ack_id, got.ack_id);
  EXPECT_EQ(want.receipt, got.receipt);
  EXPECT_EQ(want.tx, got.tx);
  EXPECT_EQ(want.refusal, got.refusal);
  EXPECT_EQ(want.needs_ack, got.needs_ack);
  EXPECT_EQ(ms(want.cancelled_at), ms(got.cancelled_at));
  EXPECT_EQ(want.cancelled_by, got.cancelled_by);
  EXPECT_EQ(want.broadcast, got.broadcast);
}

std::vector<std::string> ids_of(const std::vector<MessageRecord>& messages) {
  std::vector<std::string> ids;
  for (const auto& m : messages) ids.push_back(m.id);
  return ids;
}

wire::Bundle bundle(const std::string& party, std::uint64_t seed, std::string federation) {
  SeededRng rng(seed);
  const crypto::Keys keys = crypto::generate_keys(rng);
  wire::Bundle b;
  b.party = party;
  b.sign_key = keys.verify;
  b.box_key = keys.box_public;
  b.tls_fingerprint = std::string(64, 'a');
  b.federation = {std::move(federation)};
  b.lang = "en";
  return b;
}

core::Line line(std::string id, std::string remote_party) {
  core::Line l;
  l.id = std::move(id);
  l.local = "saceur";
  l.remote = {std::move(remote_party), "cgs"};
  return l;
}

// Stores inbound messages with `seqs` on `line` (ids "<line>-<seq>"), recorded with `peer`.
void put_inbound(Store& store, const std::string& line, const std::vector<std::uint64_t>& seqs,
                 const std::string& peer) {
  std::vector<Record> records;
  for (const std::uint64_t seq : seqs) {
    MessageRecord m =
        message(line + "-" + std::to_string(seq), line, seq, Direction::kInbound, at(0));
    m.peer = peer;
    records.push_back(PutMessage{std::move(m)});
  }
  ASSERT_TRUE(store.apply(records).is_ok());
}

crypto::Digest hash_of(std::uint64_t i) { return crypto::sha256(as_bytes(std::to_string(i))); }

core::LogEntry entry(std::string owner, std::string peer, std::uint64_t index, std::string id) {
  return core::LogEntry{std::move(owner), std::move(peer), index, std::move(id), hash_of(index)};
}

core::PutHead head(std::string owner, std::string peer, std::uint64_t size,
                   std::optional<std::string> receipt,
                   std::optional<std::vector<crypto::Digest>> frontier) {
  core::PutHead h;
  h.owner = std::move(owner);
  h.peer = std::move(peer);
  h.size = size;
  h.root = hash_of(1000 + size);
  h.sth = "{\"sth\":" + std::to_string(size) + "}";
  h.receipt = std::move(receipt);
  h.frontier = std::move(frontier);
  return h;
}

core::Principal principal(std::string id, std::string name, std::string role, Bytes token_hash) {
  core::Principal p;
  p.id = std::move(id);
  p.name = std::move(name);
  p.role = std::move(role);
  p.token_hash = std::move(token_hash);
  return p;
}

std::string raw_sql(const std::string& path, const std::string& sql, const std::string& key_hex) {
  sqlite3* db = nullptr;
  std::string out;
  if (sqlite3_open(path.c_str(), &db) == SQLITE_OK) {
    if (!key_hex.empty()) {
      const std::string pragma = "PRAGMA key = \"x'" + key_hex + "'\"";
      sqlite3_exec(db, pragma.c_str(), nullptr, nullptr, nullptr);
    }
    sqlite3_exec(
        db, sql.c_str(),
        [](void* result, int columns, char** values, char**) {
          auto* text = static_cast<std::string*>(result);
          if (columns > 0 && values[0] != nullptr && text->empty()) *text = values[0];
          return 0;
        },
        &out, nullptr);
  }
  sqlite3_close(db);
  return out;
}

}  // namespace parley::store::test
