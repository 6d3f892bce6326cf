// The Store conformance suite: the contract of store.h, one value-parameterized suite run
// against every implementation (SQLite, the in-memory store, FaultyStore with no fault
// armed, which must pass every call through untouched, and PostgreSQL). What only one
// implementation has (SQLite's files, schema migrations, query plans, a SIGKILL mid-apply)
// is tested beside it.
//
// This file builds two binaries: parley_store_conformance_test (SQLite, memory, faulty) and,
// with PARLEY_CONFORMANCE_POSTGRES, parley_store_conformance_pg_test (PostgreSQL), which
// needs a real server (CTest's fixture "postgres", store/postgres/pg_test_server.h) and
// FAILS, never skips, without one.
#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "parley/crypto/crypto.h"
#include "parley/store/faulty_store.h"
#include "parley/store/memory/memory_store.h"
#include "parley/store/search.h"
#ifdef PARLEY_CONFORMANCE_POSTGRES
#include "parley/store/postgres/pg_test_server.h"
#include "parley/store/postgres/postgres_store.h"
#endif
#include "parley/store/sqlite/sqlite_store.h"
#include "parley/store/store.h"
#include "parley/store/store_test_util.h"

namespace parley::store {
namespace {

namespace fs = std::filesystem;
using core::Direction;
using core::MessageRecord;
using core::MessageState;
using core::PutMessage;
using core::Record;
using core::UpdateMessage;
using test::at;
using test::bundle;
using test::entry;
using test::every_field_set;
using test::expect_same;
using test::hash_of;
using test::head;
using test::ids_of;
using test::line;
using test::message;
using test::ms;
using test::principal;
using test::put_inbound;
using test::TempDir;

// Opens "the store a test keeps", as often as the test likes: each store opened sees what
// the others committed, as after a restart or from another process.
using Opener = std::function<Result<std::unique_ptr<Store>>()>;

// How the suite gets a Store: `make` gives one test's Opener, its state kept in `dir` (or,
// for an in-memory store, in a Disk of its own).
struct StoreFactory {
  std::string name;
  std::function<Opener(const fs::path& dir)> make;
};

// For gtest's messages: the implementation's name rather than the struct's bytes.
void PrintTo(const StoreFactory& factory, std::ostream* os) { *os << factory.name; }

[[maybe_unused]] StoreFactory sqlite_factory() {
  return {"sqlite", [](const fs::path& dir) -> Opener {
            return [file = test::sqlite_path(dir)] { return open_sqlite_store(file); };
          }};
}

// The same file encrypted with SQLCipher (a fixed key): the whole contract holds through it.
[[maybe_unused]] StoreFactory sqlcipher_factory() {
  return {"sqlcipher", [](const fs::path& dir) -> Opener {
            return [file = test::sqlite_path(dir)] {
              SqliteOptions options;
              options.key.assign(kStoreKeySize, 0x5c);
              return open_sqlite_store(file, options);
            };
          }};
}

[[maybe_unused]] StoreFactory memory_factory() {
  return {"memory", [](const fs::path&) -> Opener {
            return [disk = MemoryStore::new_disk()] { return open_memory_store(disk); };
          }};
}

[[maybe_unused]] StoreFactory faulty_memory_factory() {
  return {"faulty_memory", [](const fs::path&) -> Opener {
            return [disk = MemoryStore::new_disk()]() -> Result<std::unique_ptr<Store>> {
              return std::unique_ptr<Store>(
                  std::make_unique<FaultyStore>(std::make_unique<MemoryStore>(disk)));
            };
          }};
}

#ifdef PARLEY_CONFORMANCE_POSTGRES
// Each test gets a fresh schema on the test server; a store opened again (a restart, a
// second connection) connects to the same schema.
StoreFactory postgres_factory() {
  return {"postgres", [](const fs::path&) -> Opener {
            Result<std::string> url = test::fresh_postgres_schema();
            return [url]() -> Result<std::unique_ptr<Store>> {
              if (!url.is_ok()) return url.status();
              return open_postgres_store(*url);
            };
          }};
}
#endif

class StoreConformanceTest : public ::testing::TestWithParam<StoreFactory> {
 protected:
  std::unique_ptr<Store> open() {
    Result<std::unique_ptr<Store>> store = open_();
    EXPECT_TRUE(store.is_ok()) << store.status().to_string();
    if (!store.is_ok()) return nullptr;
    return std::move(store).value();
  }
  void SetUp() override {
    open_ = GetParam().make(dir_.path());
    store_ = open();
    ASSERT_NE(store_, nullptr);
  }
  std::optional<MessageRecord> get(std::string_view id) {
    Result<std::optional<MessageRecord>> m = store_->get_message(id);
    EXPECT_TRUE(m.is_ok()) << m.status().to_string();
    return m.is_ok() ? *m : std::nullopt;
  }
  std::vector<MessageRecord> list(const MessageQuery& query) {
    Result<std::vector<MessageRecord>> messages = store_->list_messages(query);
    EXPECT_TRUE(messages.is_ok()) << messages.status().to_string();
    return messages.is_ok() ? *messages : std::vector<MessageRecord>();
  }

  TempDir dir_;
  Opener open_;
  std::unique_ptr<Store> store_;
};

TEST_P(StoreConformanceTest, MessageWithEveryFieldSetRoundTrips) {
  const MessageRecord m = every_field_set();
  ASSERT_TRUE(store_->apply({PutMessage{m}}).is_ok());
  const auto got = get(m.id);
  ASSERT_TRUE(got.has_value());
  expect_same(m, *got);
}

TEST_P(StoreConformanceTest, MessageWithOptionalsUnsetAndEmptyFieldsRoundTrips) {
  MessageRecord m = message("m-1", "saceur-cgs", 1, Direction::kOutbound, at(0));
  m.content = {"{}", ""};
  m.salt = {};
  m.envelope = "";
  ASSERT_TRUE(store_->apply({PutMessage{m}}).is_ok());
  const auto got = get("m-1");
  ASSERT_TRUE(got.has_value());
  expect_same(m, *got);
  EXPECT_FALSE(got->expires.has_value());
  EXPECT_FALSE(got->reply_to.has_value());
  EXPECT_FALSE(got->delivered_at.has_value());
  EXPECT_FALSE(got->acknowledged_at.has_value());
  EXPECT_FALSE(got->acknowledged_by.has_value());
  EXPECT_FALSE(got->ack_id.has_value());
  EXPECT_FALSE(got->receipt.has_value());
  EXPECT_FALSE(got->tx.has_value());
}

TEST_P(StoreConformanceTest, UnknownMessageIsAbsentNotAnError) {
  EXPECT_FALSE(get("no-such-id").has_value());
}

TEST_P(StoreConformanceTest, EmptyApplyIsOk) { EXPECT_TRUE(store_->apply({}).is_ok()); }

TEST_P(StoreConformanceTest, DuplicateIdIsRefusedAndNothingOfTheBatchIsApplied) {
  ASSERT_TRUE(
      store_->apply({PutMessage{message("m-1", "l", 1, Direction::kOutbound, at(0))}}).is_ok());
  const Status status =
      store_->apply({PutMessage{message("m-2", "l", 2, Direction::kOutbound, at(1))},
                     PutMessage{message("m-1", "other", 9, Direction::kInbound, at(2))}});
  EXPECT_EQ(status.code(), StatusCode::kAlreadyExists) << status.to_string();
  EXPECT_NE(status.message().find("m-1"), std::string::npos) << status.message();
  EXPECT_FALSE(get("m-2").has_value());
  const auto kept = get("m-1");
  ASSERT_TRUE(kept.has_value());
  EXPECT_EQ(kept->line, "l");
}

TEST_P(StoreConformanceTest, DuplicateLineDirectionSeqIsRefusedAndNothingOfTheBatchIsApplied) {
  ASSERT_TRUE(
      store_->apply({PutMessage{message("m-1", "l", 1, Direction::kOutbound, at(0))}}).is_ok());
  const Status status =
      store_->apply({PutMessage{message("m-2", "l", 2, Direction::kOutbound, at(1))},
                     PutMessage{message("m-3", "l", 1, Direction::kOutbound, at(2))}});
  EXPECT_EQ(status.code(), StatusCode::kAlreadyExists) << status.to_string();
  EXPECT_FALSE(get("m-2").has_value());
  EXPECT_FALSE(get("m-3").has_value());
}

TEST_P(StoreConformanceTest, SameSeqInTheOtherDirectionOrOnAnotherLineIsAccepted) {
  ASSERT_TRUE(store_
                  ->apply({PutMessage{message("m-1", "l", 1, Direction::kOutbound, at(0))},
                           PutMessage{message("m-2", "l", 1, Direction::kInbound, at(0))},
                           PutMessage{message("m-3", "k", 1, Direction::kOutbound, at(0))}})
                  .is_ok());
  EXPECT_TRUE(get("m-3").has_value());
}

TEST_P(StoreConformanceTest, DuplicateWithinOneBatchIsRefusedAndNothingIsApplied) {
  const Status status =
      store_->apply({PutMessage{message("m-1", "l", 1, Direction::kOutbound, at(0))},
                     PutMessage{message("m-1", "l", 2, Direction::kOutbound, at(0))}});
  EXPECT_EQ(status.code(), StatusCode::kAlreadyExists);
  EXPECT_FALSE(get("m-1").has_value());
}

TEST_P(StoreConformanceTest, UpdateOfUnknownMessageIsNotFoundAndNothingOfTheBatchIsApplied) {
  UpdateMessage update;
  update.id = "missing";
  update.state = MessageState::kSent;
  const Status status = store_->apply(
      {PutMessage{message("m-1", "l", 1, Direction::kOutbound, at(0))}, Record{update}});
  EXPECT_EQ(status.code(), StatusCode::kNotFound) << status.to_string();
  EXPECT_FALSE(get("m-1").has_value());
}

TEST_P(StoreConformanceTest, GroupAppliesEveryBatchInOrderAndLaterBatchesSeeEarlierOnes) {
  UpdateMessage update;
  update.id = "m-1";
  update.state = MessageState::kSent;
  const std::vector<Record> first{PutMessage{message("m-1", "l", 1, Direction::kOutbound, at(0))}};
  const std::vector<Record> empty;
  const std::vector<Record> second{Record{update},
                                   PutMessage{message("m-2", "l", 2, Direction::kOutbound, at(1))}};
  Result<std::vector<Status>> outcome = store_->apply_group({&first, &empty, &second});
  ASSERT_TRUE(outcome.is_ok()) << outcome.status().to_string();
  ASSERT_EQ(outcome->size(), 3u);
  for (const Status& s : *outcome) EXPECT_TRUE(s.is_ok()) << s.to_string();
  const auto m1 = get("m-1");
  ASSERT_TRUE(m1.has_value());
  EXPECT_EQ(m1->state, MessageState::kSent);
  EXPECT_TRUE(get("m-2").has_value());
}

TEST_P(StoreConformanceTest, GroupRefusesOneBatchAloneAndAppliesTheOthers) {
  ASSERT_TRUE(
      store_->apply({PutMessage{message("m-1", "l", 1, Direction::kOutbound, at(0))}}).is_ok());
  UpdateMessage unknown;
  unknown.id = "missing";
  unknown.state = MessageState::kSent;
  const std::vector<Record> before{PutMessage{message("m-2", "l", 2, Direction::kOutbound, at(1))}};
  const std::vector<Record> duplicate{
      PutMessage{message("m-3", "l", 3, Direction::kOutbound, at(2))},
      PutMessage{message("m-1", "other", 9, Direction::kInbound, at(2))}};
  const std::vector<Record> not_found{
      PutMessage{message("m-4", "l", 4, Direction::kOutbound, at(3))}, Record{unknown}};
  const std::vector<Record> after{PutMessage{message("m-5", "l", 5, Direction::kOutbound, at(4))}};
  Result<std::vector<Status>> outcome =
      store_->apply_group({&before, &duplicate, &not_found, &after});
  ASSERT_TRUE(outcome.is_ok()) << outcome.status().to_string();
  ASSERT_EQ(outcome->size(), 4u);
  EXPECT_TRUE((*outcome)[0].is_ok());
  EXPECT_EQ((*outcome)[1].code(), StatusCode::kAlreadyExists) << (*outcome)[1].to_string();
  EXPECT_EQ((*outcome)[2].code(), StatusCode::kNotFound) << (*outcome)[2].to_string();
  EXPECT_TRUE((*outcome)[3].is_ok());
  EXPECT_TRUE(get("m-2").has_value());
  EXPECT_FALSE(get("m-3").has_value());  // its batch was refused as a whole
  EXPECT_FALSE(get("m-4").has_value());
  EXPECT_TRUE(get("m-5").has_value());
  // Durable: a second connection (as after a restart) sees the same.
  store_.reset();
  store_ = open();
  ASSERT_NE(store_, nullptr);
  EXPECT_TRUE(get("m-2").has_value());
  EXPECT_FALSE(get("m-3").has_value());
  EXPECT_TRUE(get("m-5").has_value());
}

// A record the store cannot hold is that batch's fault, not the store's: the batch is
// refused alone (a peer's seq of 2^63 once stopped the receiving gateway).
TEST_P(StoreConformanceTest, GroupRefusesABatchWithAValueTheStoreCannotHoldAlone) {
  const std::vector<Record> good{PutMessage{message("m-1", "l", 1, Direction::kOutbound, at(0))}};
  core::PutInclusion bad;  // index not below size
  bad.message_id = "m-1";
  bad.index = 5;
  bad.size = 5;
  const std::vector<Record> invalid{Record{bad}};
  const std::vector<Record> huge_seq{
      PutMessage{message("m-2", "l", std::uint64_t{1} << 63, Direction::kInbound, at(0))}};
  const std::vector<Record> huge_index{
      core::LogEntry{"ru-genstaff", "us-eucom", std::uint64_t{1} << 63, "m-3", crypto::Digest{}}};
  const std::vector<Record> later{PutMessage{message("m-4", "l", 2, Direction::kOutbound, at(0))}};
  Result<std::vector<Status>> outcome =
      store_->apply_group({&good, &invalid, &huge_seq, &huge_index, &later});
  ASSERT_TRUE(outcome.is_ok()) << outcome.status().to_string();
  ASSERT_EQ(outcome->size(), 5U);
  EXPECT_TRUE((*outcome)[0].is_ok());
  for (std::size_t i : {1U, 2U, 3U}) {
    EXPECT_EQ((*outcome)[i].code(), StatusCode::kInvalidArgument) << i;
    EXPECT_TRUE(store::is_batch_refusal((*outcome)[i])) << i;
  }
  EXPECT_TRUE((*outcome)[4].is_ok());
  EXPECT_TRUE(get("m-1").has_value());
  EXPECT_FALSE(get("m-2").has_value());
  EXPECT_TRUE(get("m-4").has_value());
  // Alone, such a batch is refused the same way.
  outcome = store_->apply_group({&huge_seq});
  ASSERT_TRUE(outcome.is_ok()) << outcome.status().to_string();
  EXPECT_EQ((*outcome)[0].code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(get("m-2").has_value());
}

TEST_P(StoreConformanceTest, UpdateSetsStateAndOnlyTheFieldsThatAreSet) {
  MessageRecord m = message("m-1", "l", 1, Direction::kOutbound, at(0));
  m.tx = "tx-0";
  ASSERT_TRUE(store_->apply({PutMessage{m}}).is_ok());

  // Carried again by another transaction before any receipt: its tx is replaced.
  UpdateMessage sent;
  sent.id = "m-1";
  sent.state = MessageState::kSent;
  sent.tx = "tx-1";
  ASSERT_TRUE(store_->apply({sent}).is_ok());
  EXPECT_EQ(get("m-1")->tx, "tx-1");

  UpdateMessage delivered;
  delivered.id = "m-1";
  delivered.state = MessageState::kDelivered;
  delivered.delivered_at = at(10);
  delivered.receipt = "receipt-json";
  ASSERT_TRUE(store_->apply({delivered}).is_ok());
  auto got = get("m-1");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->state, MessageState::kDelivered);
  EXPECT_EQ(ms(got->delivered_at), unix_ms(at(10)));
  EXPECT_EQ(got->receipt, "receipt-json");
  EXPECT_EQ(got->tx, "tx-1");  // unset in the update: kept
  EXPECT_FALSE(got->acknowledged_at.has_value());

  UpdateMessage acked;
  acked.id = "m-1";
  acked.state = MessageState::kAcknowledged;
  acked.acknowledged_at = at(20);
  acked.acknowledged_by = "ru-genstaff/cgs";
  acked.ack_id = "ack-1";
  ASSERT_TRUE(store_->apply({acked}).is_ok());
  got = get("m-1");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->state, MessageState::kAcknowledged);
  EXPECT_EQ(ms(got->delivered_at), unix_ms(at(10)));
  EXPECT_EQ(got->receipt, "receipt-json");
  EXPECT_EQ(ms(got->acknowledged_at), unix_ms(at(20)));
  EXPECT_EQ(got->acknowledged_by, "ru-genstaff/cgs");
  EXPECT_EQ(got->ack_id, "ack-1");
  EXPECT_EQ(got->tx, "tx-1");
  // Immutable fields are untouched.
  EXPECT_EQ(got->envelope, m.envelope);
  EXPECT_EQ(unix_ms(got->created), unix_ms(m.created));
}

// Issue 15: a transaction's receipt is stored once, whatever the number of messages it
// delivered (or the peer refused); each of them reads it back, one not receipted reads none.
TEST_P(StoreConformanceTest, MessagesOfOneTransactionReadBackItsOneReceipt) {
  ASSERT_TRUE(store_->put_line(line("to-ru", "ru-genstaff")).is_ok());
  const std::string receipt = R"({"payloadType":"r","payload":"dHg=","signatures":[]})";
  std::vector<Record> put;
  for (std::uint64_t seq = 1; seq <= 3; ++seq) {
    MessageRecord m = message("o-" + std::to_string(seq), "to-ru", seq, Direction::kOutbound,
                              at(static_cast<std::int64_t>(seq)));
    m.state = MessageState::kSent;
    m.tx = "tx-1";
    put.push_back(PutMessage{m});
  }
  ASSERT_TRUE(store_->apply(put).is_ok());
  UpdateMessage delivered;
  delivered.id = "o-1";
  delivered.state = MessageState::kDelivered;
  delivered.delivered_at = at(10);
  delivered.receipt = receipt;
  delivered.tx = "tx-1";
  UpdateMessage refused = delivered;
  refused.id = "o-2";
  refused.state = MessageState::kRefused;
  refused.delivered_at.reset();
  refused.refusal = "unknown line";
  ASSERT_TRUE(store_->apply({delivered, refused}).is_ok());
  EXPECT_EQ(get("o-1")->receipt, receipt);
  EXPECT_EQ(get("o-2")->receipt, receipt);
  EXPECT_EQ(get("o-3")->receipt, std::nullopt);
  // A message put already receipted by the same transaction (a recovered one) reads it too.
  MessageRecord recovered = message("o-4", "to-ru", 4, Direction::kOutbound, at(4));
  recovered.state = MessageState::kDelivered;
  recovered.tx = "tx-1";
  recovered.receipt = receipt;
  ASSERT_TRUE(store_->apply({PutMessage{recovered}}).is_ok());
  EXPECT_EQ(get("o-4")->receipt, receipt);
  Result<core::Recovered> pending = store_->recover("ru-genstaff");
  ASSERT_TRUE(pending.is_ok()) << pending.status().to_string();
  EXPECT_EQ(ids_of(pending->unreceipted), (std::vector<std::string>{"o-3"}));
  MessageQuery all;
  all.direction = Direction::kOutbound;
  for (const MessageRecord& m : list(all)) {
    EXPECT_EQ(m.receipt, m.id == "o-3" ? std::nullopt : std::optional<std::string>(receipt))
        << m.id;
  }

  // Another text for the same transaction is refused, and nothing of its batch is applied.
  UpdateMessage other = delivered;
  other.id = "o-3";
  other.receipt = R"({"payloadType":"r","payload":"b3RoZXI=","signatures":[]})";
  UpdateMessage acked;
  acked.id = "o-1";
  acked.state = MessageState::kAcknowledged;
  acked.acknowledged_at = at(20);
  EXPECT_EQ(store_->apply({acked, other}).code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(get("o-3")->receipt, std::nullopt);
  EXPECT_EQ(get("o-3")->state, MessageState::kSent);
  EXPECT_EQ(get("o-1")->state, MessageState::kDelivered);
  EXPECT_EQ(get("o-1")->receipt, receipt);
  MessageRecord other_put = recovered;
  other_put.id = "o-5";
  other_put.seq = 5;
  other_put.receipt = other.receipt;
  EXPECT_EQ(store_->apply({PutMessage{other_put}}).code(), StatusCode::kAlreadyExists);
  EXPECT_FALSE(get("o-5").has_value());
  // A receipted message keeps the tx its receipt belongs to: a new one alone is refused.
  UpdateMessage moved;
  moved.id = "o-1";
  moved.state = MessageState::kDelivered;
  moved.tx = "tx-2";
  EXPECT_EQ(store_->apply({moved}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(get("o-1")->tx, "tx-1");
  EXPECT_EQ(get("o-1")->receipt, receipt);
  // The receipt of a message without a tx is its own.
  MessageRecord lone = message("o-6", "to-ru", 6, Direction::kOutbound, at(6));
  lone.receipt = "lone";
  ASSERT_TRUE(store_->apply({PutMessage{lone}}).is_ok());
  EXPECT_EQ(get("o-6")->receipt, "lone");
  EXPECT_EQ(get("o-6")->tx, std::nullopt);
  EXPECT_EQ(get("o-1")->receipt, receipt);
}

TEST_P(StoreConformanceTest, RefusedStateAndReasonRoundTripAndLeaveTheAckWatch) {
  ASSERT_TRUE(store_->put_line(line("to-ru", "ru-genstaff")).is_ok());
  // Inbound: a message we refused, stored with its reason as evidence.
  MessageRecord in = message("i-refused", "nowhere", 4, Direction::kInbound, at(0));
  in.state = MessageState::kRefused;
  in.refusal = "unknown line 'nowhere'";
  // Outbound: queued, then refused by the peer's receipt.
  MessageRecord out = message("o-refused", "to-ru", 1, Direction::kOutbound, at(1));
  ASSERT_TRUE(store_->apply({PutMessage{in}, PutMessage{out}}).is_ok());
  expect_same(in, *get("i-refused"));

  UpdateMessage refused;
  refused.id = "o-refused";
  refused.state = MessageState::kRefused;
  refused.receipt = "receipt-json";
  refused.refusal = "unknown line 'to-ru'";
  ASSERT_TRUE(store_->apply({refused}).is_ok());
  auto got = get("o-refused");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->state, MessageState::kRefused);
  EXPECT_EQ(got->refusal, "unknown line 'to-ru'");
  EXPECT_EQ(got->receipt, "receipt-json");

  // An update without a reason keeps the stored one.
  UpdateMessage again;
  again.id = "o-refused";
  again.state = MessageState::kRefused;
  ASSERT_TRUE(store_->apply({again}).is_ok());
  EXPECT_EQ(get("o-refused")->refusal, "unknown line 'to-ru'");

  // Final: neither resent (it has its receipt) nor watched for an ack; its seq is used.
  Result<core::Recovered> recovered = store_->recover("ru-genstaff");
  ASSERT_TRUE(recovered.is_ok()) << recovered.status().to_string();
  EXPECT_TRUE(recovered->unreceipted.empty());
  EXPECT_TRUE(recovered->unacknowledged.empty());
  EXPECT_EQ(recovered->last_outbound_seq.at("to-ru"), 1U);
}

TEST_P(StoreConformanceTest, CancelledStateRoundTripsAndLeavesTheAckWatchAndTheFrontier) {
  ASSERT_TRUE(store_->put_line(line("to-ru", "ru-genstaff")).is_ok());
  // Our log: entry 0 receipted in the countersigned head of size 2 (with its frontier), entry
  // 1 queued and never carried, then cancelled; entry 2 queued.
  std::vector<Record> records;
  for (std::uint64_t i = 0; i < 3; ++i) {
    MessageRecord m = message("o-" + std::to_string(i), "to-ru", i + 1, Direction::kOutbound,
                              at(static_cast<std::int64_t>(i)));
    if (i == 0) {
      m.state = MessageState::kDelivered;
      m.receipt = "{}";
    }
    records.push_back(PutMessage{m});
    records.push_back(entry("us-eucom", "ru-genstaff", i, m.id));
  }
  records.push_back(head("us-eucom", "ru-genstaff", 2, "r2", {{hash_of(42)}}));
  ASSERT_TRUE(store_->apply(records).is_ok());
  Result<core::Recovered> before = store_->recover("ru-genstaff");
  ASSERT_TRUE(before.is_ok()) << before.status().to_string();
  EXPECT_EQ(before->ledger.base_size, 0U);  // entry 1 may still need its proof

  UpdateMessage cancelled;
  cancelled.id = "o-1";
  cancelled.state = MessageState::kCancelled;
  cancelled.cancelled_at = at(10);
  cancelled.cancelled_by = "us-eucom/saceur";
  ASSERT_TRUE(store_->apply({cancelled}).is_ok());
  auto got = get("o-1");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->state, MessageState::kCancelled);
  EXPECT_EQ(got->cancelled_at, at(10));
  EXPECT_EQ(got->cancelled_by, "us-eucom/saceur");
  // An update that sets neither keeps them.
  UpdateMessage again;
  again.id = "o-1";
  again.state = MessageState::kCancelled;
  ASSERT_TRUE(store_->apply({again}).is_ok());
  EXPECT_EQ(get("o-1")->cancelled_by, "us-eucom/saceur");
  EXPECT_EQ(get("o-1")->cancelled_at, at(10));
  // The state filter finds it.
  MessageQuery q;
  q.state = MessageState::kCancelled;
  EXPECT_EQ(ids_of(list(q)), (std::vector<std::string>{"o-1"}));

  // Final: recovered with the unreceipted (the session skips it) but awaiting no ack, and
  // never holding the frontier's base back (it is never sent, so never proven).
  Result<core::Recovered> recovered = store_->recover("ru-genstaff");
  ASSERT_TRUE(recovered.is_ok()) << recovered.status().to_string();
  EXPECT_EQ(ids_of(recovered->unacknowledged), (std::vector<std::string>{"o-0", "o-2"}));
  EXPECT_EQ(ids_of(recovered->unreceipted), (std::vector<std::string>{"o-1", "o-2"}));
  EXPECT_EQ(recovered->ledger.base_size, 2U);
  EXPECT_EQ(recovered->ledger.tail, std::vector<crypto::Digest>{hash_of(2)});
}

TEST_P(StoreConformanceTest, PutAndUpdateInOneBatchBothApply) {
  UpdateMessage sent;
  sent.id = "m-1";
  sent.state = MessageState::kSent;
  sent.tx = "tx-1";
  ASSERT_TRUE(store_->apply({PutMessage{message("m-1", "l", 1, Direction::kOutbound, at(0))}, sent})
                  .is_ok());
  const auto got = get("m-1");
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->state, MessageState::kSent);
  EXPECT_EQ(got->tx, "tx-1");
}

TEST_P(StoreConformanceTest, ListFiltersByType) {
  ASSERT_TRUE(
      store_
          ->apply(
              {PutMessage{message("text-1", "a", 1, Direction::kOutbound, at(100))},
               PutMessage{
                   message("prop-1", "a", 2, Direction::kOutbound, at(200), "meeting.propose")},
               PutMessage{message("sign-1", "a", 1, Direction::kInbound, at(300), "meeting.sign")},
               PutMessage{message("ack-1", "a", 2, Direction::kInbound, at(400), "ack")}})
          .is_ok());
  MessageQuery meetings;
  meetings.types = {"meeting.propose", "meeting.sign"};
  EXPECT_EQ(ids_of(list(meetings)), (std::vector<std::string>{"sign-1", "prop-1"}));
  MessageQuery acks;
  acks.types = {"ack"};
  EXPECT_TRUE(list(acks).empty());  // acks stay out unless include_acks
  acks.include_acks = true;
  EXPECT_EQ(ids_of(list(acks)), (std::vector<std::string>{"ack-1"}));
}

// Issue 12: evidence and stage entries are the protocol's own, listed only with include_acks;
// replies_to finds every message naming one of the ids, oldest first.
TEST_P(StoreConformanceTest, RepliesToFindsWhatNamesAMessageAndListsLeaveProtocolEntriesOut) {
  const auto naming = [](core::MessageRecord m, std::string target) {
    m.reply_to = std::move(target);
    return m;
  };
  ASSERT_TRUE(
      store_
          ->apply(
              {PutMessage{message("flash", "a", 1, Direction::kOutbound, at(100))},
               PutMessage{message("other", "a", 2, Direction::kOutbound, at(110))},
               PutMessage{naming(
                   message("shown", "a", 1, Direction::kInbound, at(300), "stage.shown"), "flash")},
               PutMessage{naming(message("evidence", "a", 2, Direction::kInbound, at(200),
                                         "evidence.unacknowledged"),
                                 "flash")},
               PutMessage{naming(message("answer", "a", 3, Direction::kInbound, at(400)), "flash")},
               PutMessage{naming(message("mine", "a", 3, Direction::kOutbound, at(500),
                                         "evidence.unacknowledged"),
                                 "other")}})
          .is_ok());
  Result<std::vector<MessageRecord>> replies = store_->replies_to({"flash"});
  ASSERT_TRUE(replies.is_ok()) << replies.status().to_string();
  EXPECT_EQ(ids_of(*replies), (std::vector<std::string>{"evidence", "shown", "answer"}));
  replies = store_->replies_to({"flash", "other", "nope"});
  ASSERT_TRUE(replies.is_ok());
  EXPECT_EQ(replies->size(), 4u);
  replies = store_->replies_to({});
  ASSERT_TRUE(replies.is_ok());
  EXPECT_TRUE(replies->empty());
  EXPECT_EQ(
      store_->replies_to(std::vector<std::string>(Store::kRepliesIdsMax + 1, "x")).status().code(),
      StatusCode::kInvalidArgument);

  EXPECT_EQ(ids_of(list({})), (std::vector<std::string>{"answer", "other", "flash"}));
  MessageQuery all;
  all.include_acks = true;
  EXPECT_EQ(list(all).size(), 6u);
}

TEST_P(StoreConformanceTest, ListFiltersByDirectionAndLinesNewestFirstWithoutAcks) {
  ASSERT_TRUE(
      store_
          ->apply({PutMessage{message("out-a1", "a", 1, Direction::kOutbound, at(100))},
                   PutMessage{message("out-a2", "a", 2, Direction::kOutbound, at(300))},
                   PutMessage{message("out-a3", "a", 3, Direction::kOutbound, at(300))},
                   PutMessage{message("out-b1", "b", 1, Direction::kOutbound, at(200))},
                   PutMessage{message("in-a1", "a", 1, Direction::kInbound, at(250))},
                   PutMessage{message("in-c1", "c", 1, Direction::kInbound, at(50))},
                   PutMessage{message("ack-a2", "a", 2, Direction::kInbound, at(400), "ack")}})
          .is_ok());

  // Newest first by created; equal created: higher seq first.
  EXPECT_EQ(ids_of(list({})),
            (std::vector<std::string>{"out-a3", "out-a2", "in-a1", "out-b1", "out-a1", "in-c1"}));
  MessageQuery with_acks;
  with_acks.include_acks = true;
  EXPECT_EQ(ids_of(list(with_acks)).front(), "ack-a2");
  EXPECT_EQ(list(with_acks).size(), 7U);

  MessageQuery outbound;
  outbound.direction = Direction::kOutbound;
  EXPECT_EQ(ids_of(list(outbound)),
            (std::vector<std::string>{"out-a3", "out-a2", "out-b1", "out-a1"}));

  MessageQuery inbound_on_a;
  inbound_on_a.direction = Direction::kInbound;
  inbound_on_a.lines = {"a"};
  EXPECT_EQ(ids_of(list(inbound_on_a)), (std::vector<std::string>{"in-a1"}));
  inbound_on_a.include_acks = true;
  EXPECT_EQ(ids_of(list(inbound_on_a)), (std::vector<std::string>{"ack-a2", "in-a1"}));

  MessageQuery lines_b_c;
  lines_b_c.lines = {"b", "c"};
  EXPECT_EQ(ids_of(list(lines_b_c)), (std::vector<std::string>{"out-b1", "in-c1"}));

  MessageQuery limited;
  limited.limit = 2;
  EXPECT_EQ(ids_of(list(limited)), (std::vector<std::string>{"out-a3", "out-a2"}));

  MessageQuery unknown_line;
  unknown_line.lines = {"nope"};
  EXPECT_TRUE(list(unknown_line).empty());
}

// ---- Find and read (issue 16): precedence order, filters, search, paging, id prefixes ----

MessageRecord ranked(std::string id, std::uint64_t seq, core::Precedence precedence,
                     std::int64_t created_ms, std::string text = "") {
  MessageRecord m = message(std::move(id), "a", seq, Direction::kInbound, at(created_ms));
  m.precedence = precedence;
  m.content.text = std::move(text);
  m.content.body_json = "{}";
  return m;
}

TEST_P(StoreConformanceTest, ListByPrecedenceGivesFlashFirstThenNewestFirst) {
  using P = core::Precedence;
  ASSERT_TRUE(store_
                  ->apply({PutMessage{ranked("r-old", 1, P::kRoutine, 100)},
                           PutMessage{ranked("f-old", 2, P::kFlash, 200)},
                           PutMessage{ranked("p-new", 3, P::kPriority, 300)},
                           PutMessage{ranked("r-new", 4, P::kRoutine, 400)},
                           PutMessage{ranked("i-mid", 5, P::kImmediate, 350)},
                           PutMessage{ranked("f-new", 6, P::kFlash, 500)}})
                  .is_ok());
  MessageQuery q;
  q.order = MessageOrder::kPrecedence;
  EXPECT_EQ(ids_of(list(q)),
            (std::vector<std::string>{"f-new", "f-old", "i-mid", "p-new", "r-new", "r-old"}));
  q.order = MessageOrder::kNewest;
  EXPECT_EQ(ids_of(list(q)),
            (std::vector<std::string>{"f-new", "r-new", "i-mid", "p-new", "f-old", "r-old"}));
}

TEST_P(StoreConformanceTest, ListFiltersByPrecedenceStateSenderAndTime) {
  using P = core::Precedence;
  MessageRecord flash = ranked("flash", 1, P::kFlash, 100);
  MessageRecord routine = ranked("routine", 2, P::kRoutine, 200);
  routine.state = MessageState::kOverdue;
  MessageRecord other_sender = ranked("other", 3, P::kRoutine, 300);
  other_sender.from = {"ru-genstaff", "deputy"};
  MessageRecord refused = ranked("refused", 4, P::kRoutine, 400);
  refused.state = MessageState::kRefused;
  refused.refusal = "bad body";
  ASSERT_TRUE(store_
                  ->apply({PutMessage{flash}, PutMessage{routine}, PutMessage{other_sender},
                           PutMessage{refused}})
                  .is_ok());
  const std::string party = flash.from.party;
  const std::string principal = flash.from.principal;
  ASSERT_NE(principal, "deputy");

  MessageQuery by_precedence;
  by_precedence.precedence = P::kFlash;
  EXPECT_EQ(ids_of(list(by_precedence)), (std::vector<std::string>{"flash"}));

  MessageQuery by_state;
  by_state.state = MessageState::kOverdue;
  EXPECT_EQ(ids_of(list(by_state)), (std::vector<std::string>{"routine"}));

  MessageQuery by_principal;
  by_principal.from = wire::Address{party, principal};
  EXPECT_EQ(ids_of(list(by_principal)), (std::vector<std::string>{"refused", "routine", "flash"}));
  MessageQuery by_party;
  by_party.from = wire::Address{other_sender.from.party, ""};
  EXPECT_EQ(list(by_party).size(), other_sender.from.party == party ? 4U : 1U);
  MessageQuery by_deputy;
  by_deputy.from = other_sender.from;
  EXPECT_EQ(ids_of(list(by_deputy)), (std::vector<std::string>{"other"}));

  MessageQuery window;  // [200, 400): since is inclusive, until exclusive
  window.since = at(200);
  window.until = at(400);
  EXPECT_EQ(ids_of(list(window)), (std::vector<std::string>{"other", "routine"}));

  MessageQuery without_refused;
  without_refused.include_refused_inbound = false;
  EXPECT_EQ(ids_of(list(without_refused)), (std::vector<std::string>{"other", "routine", "flash"}));
}

TEST_P(StoreConformanceTest, SearchFindsEveryWordOfTheTextOrTheBodyAsWholeWordsInAnyCase) {
  MessageRecord in_text = ranked("in-text", 1, core::Precedence::kRoutine, 100,
                                 "Exercise NORTHERN Shield begins at dawn");
  MessageRecord in_body = ranked("in-body", 2, core::Precedence::kRoutine, 200);
  in_body.content.body_json = R"({"name":"Northern Star","area":{"region":"Barents sea"},"n":7})";
  MessageRecord none = ranked("none", 3, core::Precedence::kRoutine, 300, "nothing to see");
  ASSERT_TRUE(store_->apply({PutMessage{in_text}, PutMessage{in_body}, PutMessage{none}}).is_ok());

  const auto search = [this](std::string_view words) {
    MessageQuery q;
    q.words = search_words(words);
    return ids_of(list(q));
  };
  EXPECT_EQ(search("northern"), (std::vector<std::string>{"in-body", "in-text"}));
  EXPECT_EQ(search("SHIELD dawn"), (std::vector<std::string>{"in-text"}));  // every word
  EXPECT_EQ(search("barents"), (std::vector<std::string>{"in-body"}));      // nested value
  EXPECT_TRUE(search("north").empty());                                     // whole words only
  EXPECT_TRUE(search("region").empty());                                    // keys are not text
  EXPECT_TRUE(search("northern see").empty());
  EXPECT_TRUE(search("shield star").empty());  // all words in one message

  // A store opened again finds what was indexed when the messages were written.
  store_ = open();
  ASSERT_NE(store_, nullptr);
  EXPECT_EQ(search("star"), (std::vector<std::string>{"in-body"}));
}

TEST_P(StoreConformanceTest, PagingByKeyReturnsEveryMessageOnceWhileOthersArrive) {
  using P = core::Precedence;
  const P precedences[] = {P::kRoutine, P::kFlash, P::kPriority, P::kImmediate};
  std::vector<Record> records;
  std::uint64_t seq = 0;
  for (; seq < 23; ++seq) {
    // Several share a creation time: the key's seq and id order them.
    records.push_back(PutMessage{ranked("m-" + std::to_string(seq), seq, precedences[seq % 4],
                                        100 + static_cast<std::int64_t>(seq / 3))});
  }
  ASSERT_TRUE(store_->apply(records).is_ok());

  MessageQuery q;
  q.order = MessageOrder::kPrecedence;
  q.limit = 5;
  std::vector<std::string> seen;
  for (int page = 0; page < 20; ++page) {
    const std::vector<MessageRecord> got = list(q);
    for (const MessageRecord& m : got) seen.push_back(m.id);
    if (got.size() < q.limit) break;
    q.after = message_key(got.back());
    // Meanwhile a FLASH (sorts before the key: not in this walk) and a ROUTINE older than
    // everything (after the key: seen once) arrive.
    const std::string n = std::to_string(seq);
    ASSERT_TRUE(store_
                    ->apply({PutMessage{ranked("new-flash-" + n, seq, P::kFlash, 1000)},
                             PutMessage{ranked("new-old-" + n, seq + 1, P::kRoutine, 1)}})
                    .is_ok());
    seq += 2;
  }
  std::vector<std::string> sorted = seen;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(std::adjacent_find(sorted.begin(), sorted.end()), sorted.end()) << "a duplicate";
  for (std::uint64_t i = 0; i < 23; ++i) {
    EXPECT_NE(std::find(seen.begin(), seen.end(), "m-" + std::to_string(i)), seen.end()) << i;
  }
  EXPECT_EQ(std::count_if(seen.begin(), seen.end(),
                          [](const std::string& id) { return id.starts_with("new-flash"); }),
            0);
  EXPECT_EQ(seen.front(), "m-21");  // the newest FLASH of the first page
}

TEST_P(StoreConformanceTest, ListFiltersByIdPrefix) {
  ASSERT_TRUE(store_
                  ->apply({PutMessage{ranked("0123abcd-1", 1, core::Precedence::kRoutine, 100)},
                           PutMessage{ranked("0123abcd-2", 2, core::Precedence::kRoutine, 200)},
                           PutMessage{ranked("0123abce-1", 3, core::Precedence::kRoutine, 300)}})
                  .is_ok());
  MessageQuery q;
  q.id_prefix = "0123abcd";
  EXPECT_EQ(ids_of(list(q)), (std::vector<std::string>{"0123abcd-2", "0123abcd-1"}));
  q.id_prefix = "0123abce-1";
  EXPECT_EQ(ids_of(list(q)), (std::vector<std::string>{"0123abce-1"}));
  q.id_prefix = "0123abcf";
  EXPECT_TRUE(list(q).empty());
}

TEST_P(StoreConformanceTest, ListFiltersByBroadcast) {
  MessageRecord a = ranked("b-1", 1, core::Precedence::kRoutine, 100);
  a.broadcast = "0190a0b0-0000-7000-8000-00000000b001";
  MessageRecord b = ranked("b-2", 2, core::Precedence::kFlash, 200);
  b.broadcast = a.broadcast;
  MessageRecord other = ranked("b-3", 3, core::Precedence::kRoutine, 300);
  other.broadcast = "0190a0b0-0000-7000-8000-00000000b002";
  const MessageRecord none = ranked("b-4", 4, core::Precedence::kRoutine, 400);
  ASSERT_TRUE(
      store_->apply({PutMessage{a}, PutMessage{b}, PutMessage{other}, PutMessage{none}}).is_ok());
  MessageQuery q;
  q.broadcast = a.broadcast;
  EXPECT_EQ(ids_of(list(q)), (std::vector<std::string>{"b-2", "b-1"}));
  q.broadcast = other.broadcast;
  EXPECT_EQ(ids_of(list(q)), (std::vector<std::string>{"b-3"}));
  q.broadcast = "0190a0b0-0000-7000-8000-00000000b003";
  EXPECT_TRUE(list(q).empty());
  EXPECT_EQ(get("b-4")->broadcast, std::nullopt);
  EXPECT_EQ(get("b-1")->broadcast, a.broadcast);
}

TEST_P(StoreConformanceTest, RecoverReturnsWhatThePeerSessionNeeds) {
  ASSERT_TRUE(store_->put_line(line("to-ru", "ru-genstaff")).is_ok());
  ASSERT_TRUE(store_->put_line(line("to-ru-2", "ru-genstaff")).is_ok());
  ASSERT_TRUE(store_->put_line(line("to-cn", "cn-cmc")).is_ok());

  auto out = [](std::string id, std::string l, std::uint64_t seq, Time created, MessageState state,
                std::string type = "text") {
    MessageRecord m =
        message(std::move(id), std::move(l), seq, Direction::kOutbound, created, std::move(type));
    m.state = state;
    return m;
  };
  MessageRecord acked = out("o-acked", "to-ru", 1, at(10), MessageState::kAcknowledged);
  acked.acknowledged_at = at(20);
  MessageRecord expired = out("o-expired", "to-ru", 2, at(11), MessageState::kExpired);
  expired.receipt = "{}";
  MessageRecord delivered = out("o-delivered", "to-ru", 3, at(30), MessageState::kDelivered);
  delivered.receipt = "{}";
  MessageRecord sent = out("o-sent", "to-ru", 5, at(12), MessageState::kSent);
  MessageRecord queued = out("o-queued", "to-ru", 4, at(40), MessageState::kQueued);
  MessageRecord ack = out("o-ack", "to-ru", 6, at(5), MessageState::kQueued, "ack");
  MessageRecord overdue = out("o-overdue", "to-ru-2", 7, at(1), MessageState::kOverdue);
  // Not a configured line, but recorded with this peer: still its traffic.
  MessageRecord unlisted = out("o-unlisted", "old-line", 1, at(25), MessageState::kSent);
  // Another peer's traffic is left out.
  MessageRecord other = out("o-cn", "to-cn", 9, at(0), MessageState::kQueued);
  other.peer = "cn-cmc";
  MessageRecord in1 = message("i-1", "to-ru", 3, Direction::kInbound, at(0));
  MessageRecord in2 = message("i-2", "to-ru", 1, Direction::kInbound, at(0));
  MessageRecord in_cn = message("i-cn", "to-cn", 1, Direction::kInbound, at(0));
  in_cn.peer = "cn-cmc";
  ASSERT_TRUE(
      store_
          ->apply({PutMessage{acked}, PutMessage{expired}, PutMessage{delivered}, PutMessage{sent},
                   PutMessage{queued}, PutMessage{ack}, PutMessage{overdue}, PutMessage{unlisted},
                   PutMessage{other}, PutMessage{in1}, PutMessage{in2}, PutMessage{in_cn}})
          .is_ok());

  Result<core::Recovered> recovered = store_->recover("ru-genstaff");
  ASSERT_TRUE(recovered.is_ok()) << recovered.status().to_string();
  EXPECT_EQ(recovered->last_outbound_seq,
            (std::map<std::string, std::uint64_t>{{"to-ru", 6}, {"to-ru-2", 7}, {"old-line", 1}}));
  ASSERT_EQ(recovered->inbound_seqs.size(), 1U);
  EXPECT_EQ(recovered->inbound_seqs.at("to-ru").watermark, 1U);
  EXPECT_EQ(recovered->inbound_seqs.at("to-ru").above, (std::vector<std::uint64_t>{3}));
  // Without a receipt, whatever the state (acknowledged or overdue before the receipt came
  // back, too), ascending seq.
  EXPECT_EQ(ids_of(recovered->unreceipted),
            (std::vector<std::string>{"o-unlisted", "o-acked", "o-queued", "o-sent", "o-ack",
                                      "o-overdue"}));
  // Not acks, not acknowledged, not expired; ascending created.
  EXPECT_EQ(
      ids_of(recovered->unacknowledged),
      (std::vector<std::string>{"o-overdue", "o-sent", "o-unlisted", "o-delivered", "o-queued"}));
  // Full records, not just ids.
  expect_same(queued, recovered->unacknowledged.back());

  Result<core::Recovered> nobody = store_->recover("nobody");
  ASSERT_TRUE(nobody.is_ok());
  EXPECT_TRUE(nobody->last_outbound_seq.empty());
  EXPECT_TRUE(nobody->inbound_seqs.empty());
  EXPECT_TRUE(nobody->unreceipted.empty());
  EXPECT_TRUE(nobody->unacknowledged.empty());
}

// The receiving side's pending work (issue 11): the peer's messages awaiting our ack, with
// their deadlines; not acks, not acknowledged, not refused; overdue ones too.
TEST_P(StoreConformanceTest, RecoverReturnsThePeersMessagesAwaitingOurAck) {
  ASSERT_TRUE(store_->put_line(line("to-ru", "ru-genstaff")).is_ok());
  auto in = [](std::string id, std::uint64_t seq, Time created, MessageState state,
               std::string type = "text") {
    MessageRecord m =
        message(std::move(id), "to-ru", seq, Direction::kInbound, created, std::move(type));
    m.state = state;
    return m;
  };
  MessageRecord waiting = in("i-waiting", 1, at(20), MessageState::kDelivered);
  MessageRecord overdue = in("i-overdue", 2, at(10), MessageState::kOverdue);
  MessageRecord acked = in("i-acked", 3, at(5), MessageState::kAcknowledged);
  acked.acknowledged_at = at(30);
  MessageRecord ack = in("i-ack", 4, at(6), MessageState::kDelivered, "ack");
  MessageRecord refused = in("i-refused", 5, at(7), MessageState::kRefused);
  MessageRecord other = in("i-cn", 6, at(8), MessageState::kDelivered);
  other.peer = "cn-cmc";
  other.line = "to-cn";
  ASSERT_TRUE(store_
                  ->apply({PutMessage{waiting}, PutMessage{overdue}, PutMessage{acked},
                           PutMessage{ack}, PutMessage{refused}, PutMessage{other}})
                  .is_ok());
  Result<core::Recovered> recovered = store_->recover("ru-genstaff");
  ASSERT_TRUE(recovered.is_ok()) << recovered.status().to_string();
  // Ascending created; full records (the deadline, who wrote it).
  EXPECT_EQ(ids_of(recovered->inbound_unacknowledged),
            (std::vector<std::string>{"i-overdue", "i-waiting"}));
  expect_same(waiting, recovered->inbound_unacknowledged.back());
  EXPECT_TRUE(recovered->unacknowledged.empty());  // outbound only
}

// Whether a message asks for an ack is kept with it (the core decides it from the catalog):
// one that asks for none (a translation) is never recovered as awaiting one, either way.
TEST_P(StoreConformanceTest, MessageThatNeedsNoAckIsKeptSoAndNeverRecoveredAsAwaitingOne) {
  ASSERT_TRUE(store_->put_line(line("to-ru", "ru-genstaff")).is_ok());
  MessageRecord in = message("i-tr", "to-ru", 1, Direction::kInbound, at(1), "translation");
  in.state = MessageState::kDelivered;
  in.reply_to = "o-text";
  MessageRecord out = message("o-tr", "to-ru", 1, Direction::kOutbound, at(2), "translation");
  MessageRecord text = message("o-text", "to-ru", 2, Direction::kOutbound, at(3));
  ASSERT_FALSE(in.needs_ack);
  ASSERT_TRUE(text.needs_ack);
  ASSERT_TRUE(store_->apply({PutMessage{in}, PutMessage{out}, PutMessage{text}}).is_ok());
  Result<std::optional<MessageRecord>> kept = store_->get_message("i-tr");
  ASSERT_TRUE(kept.is_ok() && kept->has_value());
  expect_same(in, **kept);
  Result<core::Recovered> recovered = store_->recover("ru-genstaff");
  ASSERT_TRUE(recovered.is_ok()) << recovered.status().to_string();
  EXPECT_TRUE(recovered->inbound_unacknowledged.empty());
  EXPECT_EQ(ids_of(recovered->unacknowledged), (std::vector<std::string>{"o-text"}));
  EXPECT_EQ(ids_of(recovered->unreceipted), (std::vector<std::string>{"o-tr", "o-text"}));
}

TEST_P(StoreConformanceTest, RecoverGivesInboundSeqsAsAWatermarkAndTheSeqsAboveAGap) {
  ASSERT_TRUE(store_->put_line(line("gap", "ru-genstaff")).is_ok());
  ASSERT_TRUE(store_->put_line(line("whole", "ru-genstaff")).is_ok());
  ASSERT_TRUE(store_->put_line(line("late-start", "ru-genstaff")).is_ok());
  ASSERT_TRUE(store_->put_line(line("gap-at-top", "ru-genstaff")).is_ok());
  put_inbound(*store_, "gap", {8, 1, 2, 3, 5, 7});
  std::vector<std::uint64_t> many(300);
  for (std::size_t i = 0; i < many.size(); ++i) many[i] = i + 1;
  put_inbound(*store_, "whole", many);
  put_inbound(*store_, "late-start", {2, 3});  // seq 1 is still on its way
  put_inbound(*store_, "gap-at-top", {1, 2, 3, 4, 6});

  Result<core::Recovered> recovered = store_->recover("ru-genstaff");
  ASSERT_TRUE(recovered.is_ok()) << recovered.status().to_string();
  const auto& seqs = recovered->inbound_seqs;
  ASSERT_EQ(seqs.size(), 4U);
  EXPECT_EQ(seqs.at("gap").watermark, 3U);
  EXPECT_EQ(seqs.at("gap").above, (std::vector<std::uint64_t>{5, 7, 8}));
  EXPECT_EQ(seqs.at("whole").watermark, 300U);
  EXPECT_TRUE(seqs.at("whole").above.empty());
  EXPECT_EQ(seqs.at("late-start").watermark, 0U);
  EXPECT_EQ(seqs.at("late-start").above, (std::vector<std::uint64_t>{2, 3}));
  EXPECT_EQ(seqs.at("gap-at-top").watermark, 4U);
  EXPECT_EQ(seqs.at("gap-at-top").above, (std::vector<std::uint64_t>{6}));
}

TEST_P(StoreConformanceTest, RecoverFindsTheMessagesOfARemovedOrReassignedLine) {
  // "removed" is no longer configured; "reassigned" now goes to another peer, which keeps
  // numbering on it. Each peer recovers the messages stored with it there.
  ASSERT_TRUE(store_->put_line(line("reassigned", "cn-cmc")).is_ok());
  put_inbound(*store_, "removed", {1, 2, 4});
  put_inbound(*store_, "reassigned", {1, 2});
  put_inbound(*store_, "reassigned", {3}, "cn-cmc");
  MessageRecord pending = message("o-removed", "removed", 9, Direction::kOutbound, at(1));
  MessageRecord other = message("o-reassigned", "reassigned", 4, Direction::kOutbound, at(2));
  other.peer = "cn-cmc";
  ASSERT_TRUE(store_->apply({PutMessage{pending}, PutMessage{other}}).is_ok());

  Result<core::Recovered> ru = store_->recover("ru-genstaff");
  ASSERT_TRUE(ru.is_ok()) << ru.status().to_string();
  EXPECT_EQ(ru->last_outbound_seq, (std::map<std::string, std::uint64_t>{{"removed", 9}}));
  ASSERT_EQ(ru->inbound_seqs.size(), 2U);
  EXPECT_EQ(ru->inbound_seqs.at("removed").watermark, 2U);
  EXPECT_EQ(ru->inbound_seqs.at("removed").above, (std::vector<std::uint64_t>{4}));
  EXPECT_EQ(ru->inbound_seqs.at("reassigned").watermark, 2U);
  EXPECT_TRUE(ru->inbound_seqs.at("reassigned").above.empty());
  EXPECT_EQ(ids_of(ru->unreceipted), (std::vector<std::string>{"o-removed"}));
  EXPECT_EQ(ids_of(ru->unacknowledged), (std::vector<std::string>{"o-removed"}));

  // The line's configured peer recovers all of it.
  Result<core::Recovered> cn = store_->recover("cn-cmc");
  ASSERT_TRUE(cn.is_ok()) << cn.status().to_string();
  EXPECT_EQ(cn->last_outbound_seq, (std::map<std::string, std::uint64_t>{{"reassigned", 4}}));
  ASSERT_EQ(cn->inbound_seqs.size(), 1U);
  EXPECT_EQ(cn->inbound_seqs.at("reassigned").watermark, 3U);
  EXPECT_EQ(ids_of(cn->unreceipted), (std::vector<std::string>{"o-reassigned"}));
}

TEST_P(StoreConformanceTest, PutPeerReplacesTheBundleOfTheSameParty) {
  ASSERT_TRUE(store_->put_peer({bundle("ru-genstaff", 1, "127.0.0.1:7001")}).is_ok());
  ASSERT_TRUE(store_->put_peer({bundle("cn-cmc", 2, "127.0.0.1:7002")}).is_ok());
  const wire::Bundle replaced = bundle("ru-genstaff", 3, "[::1]:7003");
  ASSERT_TRUE(store_->put_peer({replaced}).is_ok());

  Result<std::vector<core::Peer>> peers = store_->peers();
  ASSERT_TRUE(peers.is_ok()) << peers.status().to_string();
  ASSERT_EQ(peers->size(), 2U);
  const wire::Bundle* ru = nullptr;
  for (const auto& p : *peers) {
    if (p.bundle.party == "ru-genstaff") ru = &p.bundle;
  }
  ASSERT_NE(ru, nullptr);
  EXPECT_EQ(ru->sign_key, replaced.sign_key);
  EXPECT_EQ(ru->box_key, replaced.box_key);
  EXPECT_EQ(ru->tls_fingerprint, replaced.tls_fingerprint);
  EXPECT_EQ(ru->federation, replaced.federation);
  EXPECT_EQ(ru->lang, replaced.lang);
}

TEST_P(StoreConformanceTest, PutPrincipalReplacesAndTokenLookupFindsTheCurrentHash) {
  const Bytes hash_a(32, 0xaa);
  const Bytes hash_b(32, 0xbb);
  ASSERT_TRUE(store_->put_principal(principal("saceur", "SACEUR", "commander", hash_a)).is_ok());
  ASSERT_TRUE(store_->put_principal(principal("duty", "Duty officer", "officer", {})).is_ok());
  ASSERT_TRUE(store_->put_principal(principal("watch", "Watch officer", "officer", {})).is_ok());

  auto found = store_->principal_by_token_hash(hash_a);
  ASSERT_TRUE(found.is_ok());
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->id, "saceur");
  EXPECT_EQ((*found)->token_hash, hash_a);

  ASSERT_TRUE(
      store_->put_principal(principal("saceur", "SACEUR (new)", "commander", hash_b)).is_ok());
  found = store_->principal_by_token_hash(hash_a);
  ASSERT_TRUE(found.is_ok());
  EXPECT_FALSE(found->has_value());
  found = store_->principal_by_token_hash(hash_b);
  ASSERT_TRUE(found.is_ok());
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->name, "SACEUR (new)");

  found = store_->principal_by_token_hash(Bytes(32, 0xcc));
  ASSERT_TRUE(found.is_ok());
  EXPECT_FALSE(found->has_value());
  found = store_->principal_by_token_hash({});
  ASSERT_TRUE(found.is_ok());
  EXPECT_FALSE(found->has_value());

  Result<std::vector<core::Principal>> all = store_->principals();
  ASSERT_TRUE(all.is_ok());
  ASSERT_EQ(all->size(), 3U);
}

TEST_P(StoreConformanceTest, TokenHashOfAnotherPrincipalIsRefused) {
  const Bytes hash(32, 0xaa);
  ASSERT_TRUE(store_->put_principal(principal("saceur", "SACEUR", "commander", hash)).is_ok());
  const Status status = store_->put_principal(principal("duty", "Duty", "officer", hash));
  EXPECT_EQ(status.code(), StatusCode::kAlreadyExists) << status.to_string();
}

// Issue 12: a token's expiry and revocation are kept with it and read back by both reads.
TEST_P(StoreConformanceTest, PrincipalKeepsItsTokenExpiryAndRevocation) {
  core::Principal p = principal("saceur", "SACEUR", "commander", Bytes(32, 0xaa));
  p.token_expires = time_from_unix_ms(1'800'000'000'000);
  ASSERT_TRUE(store_->put_principal(p).is_ok());
  auto found = store_->principal_by_token_hash(p.token_hash);
  ASSERT_TRUE(found.is_ok() && found->has_value());
  EXPECT_EQ((*found)->token_expires, p.token_expires);
  EXPECT_FALSE((*found)->revoked_at.has_value());

  p.revoked_at = time_from_unix_ms(1'790'000'000'123);
  ASSERT_TRUE(store_->put_principal(p).is_ok());
  Result<std::vector<core::Principal>> all = store_->principals();
  ASSERT_TRUE(all.is_ok());
  ASSERT_EQ(all->size(), 1U);
  EXPECT_EQ(all->front().revoked_at, p.revoked_at);
  EXPECT_EQ(all->front().token_expires, p.token_expires);
  p.token_expires.reset();
  ASSERT_TRUE(store_->put_principal(p).is_ok());
  found = store_->principal_by_token_hash(p.token_hash);
  ASSERT_TRUE(found.is_ok() && found->has_value());
  EXPECT_FALSE((*found)->token_expires.has_value());
}

// Issue 16: remove_* take one entry out of the directory (its token with a principal) and
// leave the others; removing what is not there is kNotFound and changes nothing.
TEST_P(StoreConformanceTest, RemoveTakesOutOnePeerPrincipalOrLineAndItsToken) {
  const Bytes hash(32, 0xaa);
  ASSERT_TRUE(store_->put_peer({bundle("ru-genstaff", 1, "127.0.0.1:7001")}).is_ok());
  ASSERT_TRUE(store_->put_peer({bundle("cn-cmc", 2, "127.0.0.1:7002")}).is_ok());
  ASSERT_TRUE(store_->put_principal(principal("saceur", "SACEUR", "commander", hash)).is_ok());
  ASSERT_TRUE(store_->put_principal(principal("duty", "Duty", "officer", {})).is_ok());
  ASSERT_TRUE(store_->put_line(line("to-ru", "ru-genstaff")).is_ok());
  ASSERT_TRUE(store_->put_line(line("to-cn", "cn-cmc")).is_ok());

  EXPECT_TRUE(store_->remove_peer("cn-cmc").is_ok());
  EXPECT_TRUE(store_->remove_principal("saceur").is_ok());
  EXPECT_TRUE(store_->remove_line("to-cn").is_ok());

  Result<std::vector<core::Peer>> peers = store_->peers();
  ASSERT_TRUE(peers.is_ok());
  ASSERT_EQ(peers->size(), 1U);
  EXPECT_EQ(peers->front().bundle.party, "ru-genstaff");
  Result<std::vector<core::Principal>> principals = store_->principals();
  ASSERT_TRUE(principals.is_ok());
  ASSERT_EQ(principals->size(), 1U);
  EXPECT_EQ(principals->front().id, "duty");
  auto by_token = store_->principal_by_token_hash(hash);
  ASSERT_TRUE(by_token.is_ok());
  EXPECT_FALSE(by_token->has_value()) << "a removed principal's token still finds it";
  Result<std::vector<core::Line>> lines = store_->lines();
  ASSERT_TRUE(lines.is_ok());
  ASSERT_EQ(lines->size(), 1U);
  EXPECT_EQ(lines->front().id, "to-ru");

  EXPECT_EQ(store_->remove_peer("cn-cmc").code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->remove_principal("nobody").code(), StatusCode::kNotFound);
  EXPECT_EQ(store_->remove_line("to-cn").code(), StatusCode::kNotFound);
  // The token hash is free again: another principal may hold it.
  EXPECT_TRUE(store_->put_principal(principal("watch", "Watch", "officer", hash)).is_ok());
  ASSERT_EQ(store_->peers()->size(), 1U);
  ASSERT_EQ(store_->lines()->size(), 1U);
}

// Issue 12: put_roster replaces one role's shifts and leaves the other roles alone.
TEST_P(StoreConformanceTest, PutRosterReplacesTheShiftsOfOneRole) {
  const Time t0 = time_from_unix_ms(1'790'000'000'000);
  const auto hours = [&](int h) { return t0 + std::chrono::hours(h); };
  ASSERT_TRUE(store_
                  ->put_roster("duty-officer", {{"duty-officer", "alice", hours(8), hours(16)},
                                                {"duty-officer", "bob", hours(0), hours(8)}})
                  .is_ok());
  ASSERT_TRUE(store_->put_roster("watch", {{"watch", "carol", hours(0), hours(24)}}).is_ok());
  Result<std::vector<core::Shift>> roster = store_->roster();
  ASSERT_TRUE(roster.is_ok());
  ASSERT_EQ(roster->size(), 3U);
  EXPECT_EQ((*roster)[0].principal, "bob");  // by role, then start
  EXPECT_EQ((*roster)[1].principal, "alice");
  EXPECT_EQ((*roster)[1].from, hours(8));
  EXPECT_EQ((*roster)[1].to, hours(16));
  EXPECT_EQ((*roster)[2].role, "watch");

  ASSERT_TRUE(
      store_->put_roster("duty-officer", {{"duty-officer", "dave", hours(0), hours(12)}}).is_ok());
  roster = store_->roster();
  ASSERT_TRUE(roster.is_ok());
  ASSERT_EQ(roster->size(), 2U);
  EXPECT_EQ((*roster)[0].principal, "dave");
  // Two shifts of a role starting together: refused, nothing changed.
  const Status clash = store_->put_roster(
      "watch", {{"watch", "carol", hours(0), hours(1)}, {"watch", "erin", hours(0), hours(2)}});
  EXPECT_EQ(clash.code(), StatusCode::kAlreadyExists) << clash.to_string();
  roster = store_->roster();
  ASSERT_TRUE(roster.is_ok());
  ASSERT_EQ(roster->size(), 2U);
  EXPECT_EQ((*roster)[1].to, hours(24));
  ASSERT_TRUE(store_->put_roster("watch", {}).is_ok());
  roster = store_->roster();
  ASSERT_TRUE(roster.is_ok());
  EXPECT_EQ(roster->size(), 1U);
}

TEST_P(StoreConformanceTest, DirectoryChangesAreKeptInOrder) {
  const Time t = time_from_unix_ms(1'790'000'000'000);
  ASSERT_TRUE(store_->log_change({t, "principal.add", "saceur"}).is_ok());
  ASSERT_TRUE(store_->log_change({t, "principal.revoke", "saceur"}).is_ok());
  Result<std::vector<core::DirectoryChange>> changes = store_->changes();
  ASSERT_TRUE(changes.is_ok());
  ASSERT_EQ(changes->size(), 2U);
  EXPECT_EQ((*changes)[0].action, "principal.add");
  EXPECT_EQ((*changes)[1].action, "principal.revoke");
  EXPECT_EQ((*changes)[1].detail, "saceur");
  EXPECT_EQ((*changes)[1].at, t);
}

// tlog-witness: the witness's view moves only from the size it holds, atomically with the check.
TEST_P(StoreConformanceTest, WitnessedCheckpointMovesOnlyFromTheSizeItHolds) {
  const std::string origin = "parley.example/us-eucom/ru-genstaff";
  EXPECT_TRUE(store_->witnessed()->empty());
  EXPECT_FALSE(*store_->put_witnessed({origin, 3, "note-3"}, 2));  // none held: size 0
  EXPECT_TRUE(store_->witnessed()->empty());
  EXPECT_TRUE(*store_->put_witnessed({origin, 3, "note-3"}, 0));
  EXPECT_FALSE(*store_->put_witnessed({origin, 5, "stale"}, 0));  // a racing first request
  EXPECT_FALSE(*store_->put_witnessed({origin, 5, "stale"}, 4));
  EXPECT_TRUE(*store_->put_witnessed({origin, 5, "note-5"}, 3));
  EXPECT_TRUE(*store_->put_witnessed({"parley.example/ru-genstaff/us-eucom", 1, "other"}, 0));

  const std::unique_ptr<Store> again = open();  // durable, as after a restart
  ASSERT_NE(again, nullptr);
  const Result<std::vector<WitnessedCheckpoint>> views = again->witnessed();
  ASSERT_TRUE(views.is_ok()) << views.status().to_string();
  ASSERT_EQ(views->size(), 2U);
  EXPECT_EQ((*views)[0], (WitnessedCheckpoint{"parley.example/ru-genstaff/us-eucom", 1, "other"}));
  EXPECT_EQ((*views)[1], (WitnessedCheckpoint{origin, 5, "note-5"}));
  EXPECT_EQ(again->put_witnessed({origin, kStoredIntMax + 1, "x"}, 5).status().code(),
            StatusCode::kInvalidArgument);
}

TEST_P(StoreConformanceTest, SplitViewsAreKeptOnceEachInOrder) {
  const Time t = time_from_unix_ms(1'790'000'000'000);
  const SplitViewRecord first{"o/a", "same-size-other-root", "held\n", "offered\n", t};
  const SplitViewRecord second{"o/b", "not-an-extension", "held-b", "offered-b",
                               t + std::chrono::milliseconds(5)};
  ASSERT_TRUE(store_->put_split_view(first).is_ok());
  ASSERT_TRUE(store_->put_split_view(second).is_ok());
  ASSERT_TRUE(store_->put_split_view(first).is_ok());  // the same evidence again
  const std::unique_ptr<Store> again = open();
  ASSERT_NE(again, nullptr);
  const Result<std::vector<SplitViewRecord>> splits = again->split_views();
  ASSERT_TRUE(splits.is_ok()) << splits.status().to_string();
  ASSERT_EQ(splits->size(), 2U);
  EXPECT_EQ((*splits)[0], first);
  EXPECT_EQ((*splits)[1], second);
}

TEST_P(StoreConformanceTest, EventsGetConsecutiveIdsThatSurviveAReopenAndTheOldestAreDropped) {
  const Time t = time_from_unix_ms(1'790'000'000'000);
  std::vector<EventRecord> first(2);
  first[0] =
      EventRecord{0, t, "message", R"({"kind":"message-received"})", "saceur-cgs", "", {}, false};
  first[1] = EventRecord{0, t, "alert", "{}", "", "ru-genstaff", {"duty", "cgs"}, false};
  ASSERT_TRUE(store_->append_events(first).is_ok());
  EXPECT_EQ(first[0].id, 1U);
  EXPECT_EQ(first[1].id, 2U);

  // Another connection (a restart) goes on from the newest id and reads what was stored.
  const std::unique_ptr<Store> again = open();
  ASSERT_NE(again, nullptr);
  std::vector<EventRecord> third{EventRecord{0, t, "split-view", "{}", "", "", {}, true}};
  ASSERT_TRUE(again->append_events(third).is_ok());
  EXPECT_EQ(third[0].id, 3U);
  Result<EventPage> page = again->events_after(1, 10);
  ASSERT_TRUE(page.is_ok()) << page.status().to_string();
  EXPECT_EQ(page->first, 1U);
  EXPECT_EQ(page->last, 3U);
  ASSERT_EQ(page->events.size(), 2U);
  EXPECT_EQ(page->events[0], first[1]);
  EXPECT_EQ(page->events[1], third[0]);
  page = again->events_after(0, 1);  // the limit
  ASSERT_TRUE(page.is_ok());
  ASSERT_EQ(page->events.size(), 1U);
  EXPECT_EQ(page->events[0], first[0]);
  page = again->events_after(3, 10);
  ASSERT_TRUE(page.is_ok());
  EXPECT_TRUE(page->events.empty());
  EXPECT_EQ(page->last, 3U);

  // Beyond kEventsKept the oldest go; ids go on.
  std::vector<EventRecord> many(kEventsKept,
                                EventRecord{0, t, "message", "{}", "l", "", {}, false});
  ASSERT_TRUE(store_->append_events(many).is_ok());
  EXPECT_EQ(many.front().id, 4U);
  EXPECT_EQ(many.back().id, kEventsKept + 3);
  page = store_->events_after(0, 2);
  ASSERT_TRUE(page.is_ok());
  EXPECT_EQ(page->first, 4U);
  EXPECT_EQ(page->last, kEventsKept + 3);
  ASSERT_EQ(page->events.size(), 2U);
  EXPECT_EQ(page->events[0].id, 4U);
  std::vector<EventRecord> none;
  EXPECT_TRUE(store_->append_events(none).is_ok());
}

// The group commit in two steps (Store::apply_group_open, finish_group): the batches' outcome
// as apply_group gives it, then the events stored with them, ids given as append_events does.
TEST_P(StoreConformanceTest, AGroupFinishedWithItsEventsStoresBothAndGivesTheEventsIds) {
  const Time t = time_from_unix_ms(1'790'000'000'000);
  std::vector<EventRecord> before{EventRecord{0, t, "alert", "{}", "", "ru-genstaff", {}, false}};
  ASSERT_TRUE(store_->append_events(before).is_ok());

  const std::vector<core::Record> good{
      core::PutMessage{test::message("m-1", "l", 1, core::Direction::kOutbound, t)}};
  UpdateMessage unknown;
  unknown.id = "no-such-message";
  unknown.state = core::MessageState::kDelivered;
  const std::vector<core::Record> refused{unknown};
  Result<std::vector<Status>> outcome = store_->apply_group_open({&good, &refused});
  ASSERT_TRUE(outcome.is_ok()) << outcome.status().to_string();
  ASSERT_EQ(outcome->size(), 2U);
  EXPECT_TRUE((*outcome)[0].is_ok());
  EXPECT_EQ((*outcome)[1].code(), StatusCode::kNotFound);
  std::vector<EventRecord> events{
      EventRecord{0, t, "delivered", R"({"message_id":"m-1"})", "l", "", {}, false},
      EventRecord{0, t, "message", "{}", "l", "", {}, false}};
  ASSERT_TRUE(store_->finish_group(events).is_ok());
  EXPECT_FALSE(store_->group_open());
  EXPECT_EQ(events[0].id, 2U);
  EXPECT_EQ(events[1].id, 3U);

  const std::unique_ptr<Store> again = open();  // what a restart finds
  ASSERT_NE(again, nullptr);
  const Result<std::optional<core::MessageRecord>> m = again->get_message("m-1");
  ASSERT_TRUE(m.is_ok()) << m.status().to_string();
  EXPECT_TRUE(m->has_value());
  const Result<EventPage> page = again->events_after(1, 10);
  ASSERT_TRUE(page.is_ok()) << page.status().to_string();
  ASSERT_EQ(page->events.size(), 2U);
  EXPECT_EQ(page->events[0], events[0]);
  EXPECT_EQ(page->events[1], events[1]);

  // A group with nothing to apply, and no events: nothing open, nothing stored.
  const std::vector<core::Record> empty;
  outcome = store_->apply_group_open({&empty});
  ASSERT_TRUE(outcome.is_ok());
  EXPECT_FALSE(store_->group_open());
  std::vector<EventRecord> none;
  EXPECT_TRUE(store_->finish_group(none).is_ok());
  EXPECT_EQ(store_->events_after(0, 10)->last, 3U);
}

TEST_P(StoreConformanceTest, TheLatestCosignatureOfEachWitnessIsKept) {
  const std::string origin = "parley.example/us-eucom/ru-genstaff";
  ASSERT_TRUE(
      store_->put_cosignature({origin, "parley.example/nato-shape", 4, "c4", "s4"}).is_ok());
  ASSERT_TRUE(
      store_->put_cosignature({origin, "parley.example/nato-shape", 6, "c6", "s6"}).is_ok());
  // A late answer for an older size does not replace the newer one.
  ASSERT_TRUE(
      store_->put_cosignature({origin, "parley.example/nato-shape", 5, "c5", "s5"}).is_ok());
  ASSERT_TRUE(store_->put_cosignature({origin, "parley.example/un", 2, "c2", "s2"}).is_ok());
  const std::unique_ptr<Store> again = open();
  ASSERT_NE(again, nullptr);
  const Result<std::vector<CosignatureRecord>> kept = again->cosignatures();
  ASSERT_TRUE(kept.is_ok()) << kept.status().to_string();
  ASSERT_EQ(kept->size(), 2U);
  EXPECT_EQ((*kept)[0], (CosignatureRecord{origin, "parley.example/nato-shape", 6, "c6", "s6"}));
  EXPECT_EQ((*kept)[1], (CosignatureRecord{origin, "parley.example/un", 2, "c2", "s2"}));
}

TEST_P(StoreConformanceTest, PutLineReplacesEveryField) {
  ASSERT_TRUE(store_->put_line(line("saceur-cgs", "ru-genstaff")).is_ok());
  core::Line changed = line("saceur-cgs", "ru-mod");
  changed.local = "dsaceur";
  changed.remote.principal = "minister";
  changed.alternates = {"duty", "watch"};
  changed.remote_alternates = {"deputy-minister"};
  changed.observers = {"un-sg"};
  changed.deadlines.set(wire::Precedence::kFlash, std::chrono::seconds(90));
  changed.deadlines.set(wire::Precedence::kRoutine, std::chrono::hours(24));
  ASSERT_TRUE(store_->put_line(changed).is_ok());
  ASSERT_TRUE(store_->put_line(line("other", "cn-cmc")).is_ok());

  Result<std::vector<core::Line>> lines = store_->lines();
  ASSERT_TRUE(lines.is_ok()) << lines.status().to_string();
  ASSERT_EQ(lines->size(), 2U);
  const core::Line* got = nullptr;
  for (const auto& l : *lines) {
    if (l.id == "saceur-cgs") got = &l;
  }
  ASSERT_NE(got, nullptr);
  EXPECT_EQ(got->local, "dsaceur");
  EXPECT_EQ(got->remote, (wire::Address{"ru-mod", "minister"}));
  EXPECT_EQ(got->alternates, changed.alternates);
  EXPECT_EQ(got->remote_alternates, changed.remote_alternates);
  EXPECT_EQ(got->observers, changed.observers);
  EXPECT_EQ(got->deadlines.flash, std::chrono::seconds(90));
  EXPECT_EQ(got->deadlines.immediate, std::chrono::minutes(30));
  EXPECT_EQ(got->deadlines.priority, std::chrono::hours(3));
  EXPECT_EQ(got->deadlines.routine, std::chrono::hours(24));
}

TEST_P(StoreConformanceTest, ReopeningKeepsEverything) {
  const MessageRecord m = every_field_set();
  ASSERT_TRUE(store_->apply({PutMessage{m}}).is_ok());
  ASSERT_TRUE(store_->put_peer({bundle("ru-genstaff", 1, "127.0.0.1:7001")}).is_ok());
  ASSERT_TRUE(
      store_->put_principal(principal("saceur", "SACEUR", "commander", Bytes(32, 1))).is_ok());
  core::Line l = line("saceur-cgs", "ru-genstaff");
  l.alternates = {"duty"};
  ASSERT_TRUE(store_->put_line(l).is_ok());
  store_.reset();

  store_ = open();
  ASSERT_NE(store_, nullptr);
  const auto got = get(m.id);
  ASSERT_TRUE(got.has_value());
  expect_same(m, *got);
  auto peers = store_->peers();
  ASSERT_TRUE(peers.is_ok());
  ASSERT_EQ(peers->size(), 1U);
  EXPECT_EQ(peers->front().bundle.party, "ru-genstaff");
  auto principal = store_->principal_by_token_hash(Bytes(32, 1));
  ASSERT_TRUE(principal.is_ok());
  ASSERT_TRUE(principal->has_value());
  EXPECT_EQ((*principal)->id, "saceur");
  auto lines = store_->lines();
  ASSERT_TRUE(lines.is_ok());
  ASSERT_EQ(lines->size(), 1U);
  EXPECT_EQ(lines->front().alternates, l.alternates);
  // Still refuses what it refused before.
  EXPECT_EQ(store_->apply({PutMessage{m}}).code(), StatusCode::kAlreadyExists);
}

TEST_P(StoreConformanceTest, SecondConnectionSeesCommittedData) {
  std::unique_ptr<Store> second = open();
  ASSERT_NE(second, nullptr);
  ASSERT_TRUE(
      store_->apply({PutMessage{message("m-1", "l", 1, Direction::kOutbound, at(0))}}).is_ok());
  auto seen = second->get_message("m-1");
  ASSERT_TRUE(seen.is_ok());
  EXPECT_TRUE(seen->has_value());

  ASSERT_TRUE(second->put_line(line("l", "ru-genstaff")).is_ok());
  auto lines = store_->lines();
  ASSERT_TRUE(lines.is_ok());
  EXPECT_EQ(lines->size(), 1U);
  // A duplicate is refused whichever connection stored the original.
  EXPECT_EQ(second->apply({PutMessage{message("m-1", "l", 2, Direction::kOutbound, at(0))}}).code(),
            StatusCode::kAlreadyExists);
}

// ---- the transcript ----
TEST_P(StoreConformanceTest, MessageCarriesItsLogIndex) {
  const MessageRecord m = message("m-1", "l", 1, Direction::kOutbound, at(0));
  ASSERT_TRUE(store_->apply({PutMessage{m}, entry("us-eucom", "ru-genstaff", 0, "m-1")}).is_ok());
  ASSERT_TRUE(
      store_->apply({PutMessage{message("m-2", "l", 2, Direction::kOutbound, at(0))}}).is_ok());
  EXPECT_EQ(get("m-1")->log_index, 0U);
  EXPECT_FALSE(get("m-2")->log_index.has_value());
}

TEST_P(StoreConformanceTest, LogEntryAtAnIndexAlreadyHeldIsRefusedAndNothingIsApplied) {
  ASSERT_TRUE(store_
                  ->apply({PutMessage{message("m-1", "l", 1, Direction::kOutbound, at(0))},
                           entry("us-eucom", "ru-genstaff", 0, "m-1")})
                  .is_ok());
  const Status status =
      store_->apply({PutMessage{message("m-2", "l", 2, Direction::kOutbound, at(0))},
                     entry("us-eucom", "ru-genstaff", 0, "m-2")});
  EXPECT_EQ(status.code(), StatusCode::kAlreadyExists) << status.to_string();
  EXPECT_FALSE(get("m-2").has_value());
  // The same index in the other party's log is another entry.
  EXPECT_TRUE(store_
                  ->apply({PutMessage{message("m-3", "l", 1, Direction::kInbound, at(0))},
                           entry("ru-genstaff", "us-eucom", 0, "m-3")})
                  .is_ok());
}

TEST_P(StoreConformanceTest, CountersignedHeadIsNeverReplaced) {
  ASSERT_TRUE(store_->apply({head("us-eucom", "ru-genstaff", 3)}).is_ok());
  ASSERT_TRUE(store_->apply({head("us-eucom", "ru-genstaff", 1, "r1")}).is_ok());
  core::PutHead resigned = head("us-eucom", "ru-genstaff", 3);
  resigned.sth = "{\"sth\":\"3 again\"}";
  ASSERT_TRUE(store_->apply({resigned}).is_ok());  // replaces: 3 had no receipt
  ASSERT_TRUE(store_->apply({head("us-eucom", "ru-genstaff", 3, "r3", {{hash_of(7)}})}).is_ok());
  core::PutHead late = head("us-eucom", "ru-genstaff", 3);
  late.sth = "{\"sth\":\"3 late\"}";
  ASSERT_TRUE(store_->apply({late}).is_ok());  // ignored: 3 is countersigned
  // Ignored too: a second countersignature of a countersigned head (a replayed transaction
  // answered again) never rewrites the evidence both parties hold.
  core::PutHead replayed = head("us-eucom", "ru-genstaff", 3, "r3 again", {{hash_of(8)}});
  replayed.sth = "{\"sth\":\"3 replayed\"}";
  ASSERT_TRUE(store_->apply({replayed}).is_ok());
  ASSERT_TRUE(store_->apply({head("ru-genstaff", "us-eucom", 2, "mine")}).is_ok());

  Result<std::vector<core::HeadRecord>> heads = store_->heads("us-eucom", "ru-genstaff");
  ASSERT_TRUE(heads.is_ok()) << heads.status().to_string();
  ASSERT_EQ(heads->size(), 2U);
  EXPECT_EQ((*heads)[0].size, 1U);
  EXPECT_EQ((*heads)[0].receipt, "r1");
  EXPECT_EQ((*heads)[1].size, 3U);
  EXPECT_EQ((*heads)[1].sth, "{\"sth\":3}");  // the head its receipt countersigns
  EXPECT_EQ((*heads)[1].receipt, "r3");
  EXPECT_EQ((*heads)[1].root, hash_of(1003));
  // The compact range kept with it (a peer's log request asks for it, core/log_recovery.h);
  // none where none was given.
  EXPECT_EQ((*heads)[0].frontier, std::nullopt);
  EXPECT_EQ((*heads)[1].frontier, std::vector<crypto::Digest>{hash_of(7)});
  EXPECT_EQ(store_->heads("ru-genstaff", "us-eucom")->size(), 1U);
}

TEST_P(StoreConformanceTest, InclusionAndEvidenceRoundTrip) {
  EXPECT_FALSE(store_->inclusion("m-1")->has_value());
  const core::PutInclusion in{"m-1", 2, 5, hash_of(9), {hash_of(1), hash_of(2), hash_of(3)}};
  ASSERT_TRUE(store_->apply({in}).is_ok());
  Result<std::optional<core::InclusionRecord>> got = store_->inclusion("m-1");
  ASSERT_TRUE(got.is_ok() && got->has_value());
  EXPECT_EQ((*got)->index, 2U);
  EXPECT_EQ((*got)->size, 5U);
  EXPECT_EQ((*got)->root, hash_of(9));
  EXPECT_EQ((*got)->proof, in.proof);
  // An index not below the size is our bug, refused.
  EXPECT_FALSE(store_->apply({core::PutInclusion{"m-2", 5, 5, hash_of(9), {}}}).is_ok());

  const core::PutEvidence evidence{"0190a0b0-0000-7000-8000-000000000001",
                                   "ru-genstaff",
                                   "fork",
                                   "FORK: size 2 with another root",
                                   "{\"a\":1}",
                                   "{\"b\":2}",
                                   at(5),
                                   std::nullopt,
                                   1};
  ASSERT_TRUE(store_->apply({evidence}).is_ok());
  store_.reset();
  store_ = open();
  Result<std::vector<core::PutEvidence>> kept = store_->evidence();
  ASSERT_TRUE(kept.is_ok());
  ASSERT_EQ(kept->size(), 1U);
  EXPECT_EQ(kept->front().detail, evidence.detail);
  EXPECT_EQ(kept->front().sth_a, evidence.sth_a);
  EXPECT_EQ(kept->front().sth_b, evidence.sth_b);
  EXPECT_EQ(unix_ms(kept->front().at), unix_ms(evidence.at));
  EXPECT_EQ(kept->front().seen, 1U);
  ASSERT_TRUE(kept->front().last_seen.has_value());
  EXPECT_EQ(unix_ms(*kept->front().last_seen), unix_ms(evidence.at));
}

// A peer that resends the same conflicting head (every retry, forever) leaves one row,
// counted with its first and last sighting; a different conflict is a row of its own.
TEST_P(StoreConformanceTest, SameEvidenceIsStoredOnceAndCounted) {
  core::PutEvidence fork{"0190a0b0-0000-7000-8000-000000000001",
                         "ru-genstaff",
                         "fork",
                         "FORK: size 2 with another root",
                         "{\"a\":1}",
                         "{\"b\":2}",
                         at(5),
                         std::nullopt,
                         1};
  ASSERT_TRUE(store_->apply({fork}).is_ok());
  for (int i = 0; i < 5; ++i) {
    core::PutEvidence again = fork;
    again.id = "0190a0b0-0000-7000-8000-00000000001" + std::to_string(i);
    again.detail = "FORK: seen again";
    again.at = at(10 + i);
    ASSERT_TRUE(store_->apply({again}).is_ok());
  }
  ASSERT_TRUE(store_->apply({fork}).is_ok());  // the very same record again: no sighting
  core::PutEvidence other = fork;
  other.id = "0190a0b0-0000-7000-8000-000000000002";
  other.sth_b = "{\"b\":3}";
  other.at = at(20);
  ASSERT_TRUE(store_->apply({other}).is_ok());

  Result<std::vector<core::PutEvidence>> kept = store_->evidence();
  ASSERT_TRUE(kept.is_ok());
  ASSERT_EQ(kept->size(), 2U);
  EXPECT_EQ(kept->front().id, fork.id);
  EXPECT_EQ(kept->front().detail, fork.detail);  // the first sighting's words
  EXPECT_EQ(kept->front().seen, 6U);
  EXPECT_EQ(unix_ms(kept->front().at), unix_ms(at(5)));
  ASSERT_TRUE(kept->front().last_seen.has_value());
  EXPECT_EQ(unix_ms(*kept->front().last_seen), unix_ms(at(14)));
  EXPECT_EQ(kept->back().id, other.id);
  EXPECT_EQ(kept->back().seen, 1U);
}

TEST_P(StoreConformanceTest, RecoverReturnsTheTranscriptFrontierNotItsHistory) {
  ASSERT_TRUE(store_->put_line(line("to-ru", "ru-genstaff")).is_ok());
  // Our log for ru-genstaff: 7 entries. The peer countersigned sizes 4 and 6; 7 was sent
  // without an answer. Entry 5 is still unreceipted (a FLASH at 6 overtook it).
  std::vector<Record> records;
  for (std::uint64_t i = 0; i < 7; ++i) {
    MessageRecord m = message("o-" + std::to_string(i), "to-ru", i + 1, Direction::kOutbound,
                              at(static_cast<std::int64_t>(i)));
    m.state = i == 5 ? MessageState::kSent : MessageState::kDelivered;
    if (i != 5) m.receipt = "{}";
    records.push_back(PutMessage{m});
    records.push_back(entry("us-eucom", "ru-genstaff", i, m.id));
  }
  records.push_back(head("us-eucom", "ru-genstaff", 4, "r4", {{hash_of(40)}}));
  records.push_back(head("us-eucom", "ru-genstaff", 6, "r6", {{hash_of(40), hash_of(42)}}));
  records.push_back(head("us-eucom", "ru-genstaff", 7));
  records.push_back(head("us-eucom", "ru-genstaff", 5));  // older, superseded by 6
  // The peer's log, as we countersigned it.
  records.push_back(PutMessage{message("i-0", "to-ru", 1, Direction::kInbound, at(0))});
  records.push_back(entry("ru-genstaff", "us-eucom", 0, "i-0"));
  records.push_back(head("ru-genstaff", "us-eucom", 1, "ours-1"));
  records.push_back(head("ru-genstaff", "us-eucom", 3, "ours-3"));
  records.push_back(head("ru-genstaff", "us-eucom", 9));  // not countersigned: ignored
  ASSERT_TRUE(store_->apply(records).is_ok());

  Result<core::Recovered> recovered = store_->recover("ru-genstaff");
  ASSERT_TRUE(recovered.is_ok()) << recovered.status().to_string();
  const core::RecoveredLedger& l = recovered->ledger;
  EXPECT_EQ(l.log_size, 7U);
  ASSERT_TRUE(l.countersigned.has_value());
  EXPECT_EQ(l.countersigned->size, 6U);
  EXPECT_EQ(l.countersigned->root, hash_of(1006));
  ASSERT_EQ(l.pending.size(), 1U);
  EXPECT_EQ(l.pending[0].size, 7U);
  EXPECT_EQ(l.pending[0].sth, "{\"sth\":7}");
  // The base is at 4, not 6: entry 5 still needs its proof.
  EXPECT_EQ(l.base_size, 4U);
  EXPECT_EQ(l.base_nodes, std::vector<crypto::Digest>{hash_of(40)});
  EXPECT_EQ(l.tail, (std::vector<crypto::Digest>{hash_of(4), hash_of(5), hash_of(6)}));
  ASSERT_TRUE(l.peer_head.has_value());
  EXPECT_EQ(l.peer_head->size, 3U);
  EXPECT_EQ(l.peer_head->root, hash_of(1003));
  ASSERT_EQ(recovered->unreceipted.size(), 1U);
  EXPECT_EQ(recovered->unreceipted[0].log_index, 5U);

  // Once entry 5 is receipted too, the base moves up to the countersigned size.
  core::UpdateMessage done;
  done.id = "o-5";
  done.state = MessageState::kDelivered;
  done.receipt = "{}";
  ASSERT_TRUE(store_->apply({done}).is_ok());
  recovered = store_->recover("ru-genstaff");
  ASSERT_TRUE(recovered.is_ok());
  EXPECT_EQ(recovered->ledger.base_size, 6U);
  EXPECT_EQ(recovered->ledger.tail, std::vector<crypto::Digest>{hash_of(6)});

  Result<core::Recovered> nobody = store_->recover("nobody");
  ASSERT_TRUE(nobody.is_ok());
  EXPECT_EQ(nobody->ledger.log_size, 0U);
  EXPECT_FALSE(nobody->ledger.countersigned.has_value());
  EXPECT_FALSE(nobody->ledger.peer_head.has_value());
}

TEST_P(StoreConformanceTest, LogEntriesAreListedInIndexOrderWithTheirProofs) {
  std::vector<Record> records;
  for (std::uint64_t i : {3, 0, 1}) {
    MessageRecord m = message("i-" + std::to_string(i), "l", i + 1, Direction::kInbound, at(0));
    m.envelope = "{\"e\":" + std::to_string(i) + "}";
    records.push_back(PutMessage{m});
    records.push_back(entry("ru-genstaff", "us-eucom", i, m.id));
  }
  records.push_back(core::PutInclusion{"i-3", 3, 4, hash_of(99), {hash_of(2), hash_of(01)}});
  ASSERT_TRUE(store_->apply(records).is_ok());
  Result<std::vector<core::LogEntryView>> page =
      store_->log_entries("ru-genstaff", "us-eucom", 1, 10);
  ASSERT_TRUE(page.is_ok()) << page.status().to_string();
  ASSERT_EQ(page->size(), 2U);
  EXPECT_EQ((*page)[0].index, 1U);
  EXPECT_EQ((*page)[0].envelope, "{\"e\":1}");
  EXPECT_FALSE((*page)[0].inclusion.has_value());
  EXPECT_EQ((*page)[1].index, 3U);
  EXPECT_EQ((*page)[1].message_id, "i-3");
  ASSERT_TRUE((*page)[1].inclusion.has_value());
  EXPECT_EQ((*page)[1].inclusion->size, 4U);
  EXPECT_EQ((*page)[1].inclusion->proof.size(), 2U);
  EXPECT_EQ(store_->log_entries("ru-genstaff", "us-eucom", 0, 1)->size(), 1U);
  EXPECT_TRUE(store_->log_entries("us-eucom", "ru-genstaff", 0, 10)->empty());
}

// A key rotation statement of `owner`'s log (core::PutRotation) at `index`, number `n`.
core::PutRotation rotation(std::string owner, std::string peer, std::uint64_t index,
                           std::uint64_t n) {
  core::PutRotation r;
  r.owner = std::move(owner);
  r.peer = std::move(peer);
  r.index = index;
  r.n = n;
  r.id = "rot-" + std::to_string(n);
  r.statement = "{\"key\":\"ru-genstaff\",\"payload\":\"" + std::to_string(n) + "\",\"sig\":\"s\"}";
  r.new_sign_key.bytes.fill(static_cast<std::uint8_t>(n));
  r.new_tls_fingerprint = std::string(64, static_cast<char>('a' + n));
  r.epoch = static_cast<std::uint32_t>(n + 1);
  return r;
}

// docs/protocol.md "Key rotation": a rotation is an entry of its log, listed as such with its
// statement, and recovered (the peer's) in index order, also after a reopen.
TEST_P(StoreConformanceTest, RotationsAreLogEntriesAndAreRecoveredInIndexOrder) {
  MessageRecord m = message("i-0", "l", 1, Direction::kInbound, at(0));
  m.envelope = "{\"e\":0}";
  const core::PutRotation first = rotation("ru-genstaff", "us-eucom", 1, 1);
  const core::PutRotation second = rotation("ru-genstaff", "us-eucom", 3, 2);
  ASSERT_TRUE(store_
                  ->apply({PutMessage{m}, entry("ru-genstaff", "us-eucom", 0, m.id), second,
                           entry("ru-genstaff", "us-eucom", 3, second.id),
                           core::PutInclusion{second.id, 3, 4, hash_of(9), {hash_of(1)}}})
                  .is_ok());
  ASSERT_TRUE(store_->apply({first, entry("ru-genstaff", "us-eucom", 1, first.id)}).is_ok());
  // Our own log's rotations are not the peer's.
  ASSERT_TRUE(store_
                  ->apply({rotation("us-eucom", "ru-genstaff", 0, 1),
                           entry("us-eucom", "ru-genstaff", 0, "rot-1")})
                  .is_ok());

  for (int reopened = 0; reopened < 2; ++reopened) {
    Result<std::vector<core::LogEntryView>> page =
        store_->log_entries("ru-genstaff", "us-eucom", 0, 10);
    ASSERT_TRUE(page.is_ok()) << page.status().to_string();
    ASSERT_EQ(page->size(), 3U);
    EXPECT_FALSE((*page)[0].rotation);
    EXPECT_EQ((*page)[0].envelope, m.envelope);
    EXPECT_TRUE((*page)[1].rotation);
    EXPECT_EQ((*page)[1].message_id, first.id);
    EXPECT_EQ((*page)[1].envelope, first.statement);
    EXPECT_FALSE((*page)[1].inclusion.has_value());
    EXPECT_TRUE((*page)[2].rotation);
    EXPECT_EQ((*page)[2].envelope, second.statement);
    ASSERT_TRUE((*page)[2].inclusion.has_value());
    EXPECT_EQ((*page)[2].inclusion->size, 4U);

    Result<core::Recovered> recovered = store_->recover("ru-genstaff");
    ASSERT_TRUE(recovered.is_ok()) << recovered.status().to_string();
    EXPECT_EQ(recovered->peer_rotations, (std::vector<core::PutRotation>{first, second}));
    // The same for a reader of the peer's keys (store/key_chains.h); ours apart.
    EXPECT_EQ(*store_->rotations("ru-genstaff"), (std::vector<core::PutRotation>{first, second}));
    EXPECT_EQ(store_->rotations("us-eucom")->size(), 1U);
    EXPECT_TRUE(store_->rotations("nato-shape")->empty());
    store_.reset();
    store_ = open();
    ASSERT_NE(store_, nullptr);
  }
}

// Our own rotations (`parley rotate`): the same statement is an entry of our log for every
// peer, each at its own index; each peer's session recovers those of its log alone, in index
// order, apart from the peer's own rotations.
TEST_P(StoreConformanceTest, OurRotationsAreRecoveredPerPeerInIndexOrder) {
  const core::PutRotation ru_first = rotation("us-eucom", "ru-genstaff", 0, 1);
  const core::PutRotation ru_second = rotation("us-eucom", "ru-genstaff", 1, 2);
  const core::PutRotation cn_first = rotation("us-eucom", "cn-cmc", 0, 1);
  const core::PutRotation theirs = rotation("ru-genstaff", "us-eucom", 4, 1);
  ASSERT_TRUE(store_
                  ->apply({ru_second, entry("us-eucom", "ru-genstaff", 1, ru_second.id), cn_first,
                           entry("us-eucom", "cn-cmc", 0, cn_first.id), theirs,
                           entry("ru-genstaff", "us-eucom", 4, theirs.id)})
                  .is_ok());
  ASSERT_TRUE(store_->apply({ru_first, entry("us-eucom", "ru-genstaff", 0, ru_first.id)}).is_ok());
  for (int reopened = 0; reopened < 2; ++reopened) {
    Result<core::Recovered> ru = store_->recover("ru-genstaff");
    ASSERT_TRUE(ru.is_ok()) << ru.status().to_string();
    EXPECT_EQ(ru->own_rotations, (std::vector<core::PutRotation>{ru_first, ru_second}));
    EXPECT_EQ(ru->peer_rotations, (std::vector<core::PutRotation>{theirs}));
    Result<core::Recovered> cn = store_->recover("cn-cmc");
    ASSERT_TRUE(cn.is_ok()) << cn.status().to_string();
    EXPECT_EQ(cn->own_rotations, (std::vector<core::PutRotation>{cn_first}));
    EXPECT_TRUE(cn->peer_rotations.empty());
    Result<std::vector<core::LogEntryView>> page = store_->log_entries("us-eucom", "cn-cmc", 0, 10);
    ASSERT_TRUE(page.is_ok()) << page.status().to_string();
    ASSERT_EQ(page->size(), 1U);
    EXPECT_TRUE((*page)[0].rotation);
    EXPECT_EQ((*page)[0].envelope, cn_first.statement);
    store_.reset();
    store_ = open();
    ASSERT_NE(store_, nullptr);
  }
}

TEST_P(StoreConformanceTest, ARotationAtAnIndexOrWithANumberHeldIsRefusedAndNothingIsApplied) {
  ASSERT_TRUE(store_->apply({rotation("ru-genstaff", "us-eucom", 1, 1)}).is_ok());
  const MessageRecord m = message("i-0", "l", 1, Direction::kInbound, at(0));
  core::PutRotation same_index = rotation("ru-genstaff", "us-eucom", 1, 2);
  Status status = store_->apply({PutMessage{m}, same_index});
  EXPECT_EQ(status.code(), StatusCode::kAlreadyExists) << status.to_string();
  EXPECT_FALSE(get(m.id).has_value());
  core::PutRotation same_n = rotation("ru-genstaff", "us-eucom", 5, 1);
  same_n.id = "rot-again";
  status = store_->apply({PutMessage{m}, same_n});
  EXPECT_EQ(status.code(), StatusCode::kAlreadyExists) << status.to_string();
  EXPECT_FALSE(get(m.id).has_value());
  // An epoch below 2 (the first, before any rotation, is 1) the store cannot hold.
  core::PutRotation bad = rotation("ru-genstaff", "us-eucom", 6, 3);
  bad.epoch = 1;
  status = store_->apply({PutMessage{m}, bad});
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << status.to_string();
  EXPECT_FALSE(get(m.id).has_value());
  Result<core::Recovered> recovered = store_->recover("ru-genstaff");
  ASSERT_TRUE(recovered.is_ok());
  EXPECT_EQ(recovered->peer_rotations.size(), 1U);
}

// An observer's forwarded heads: the first per (origin, size) stays; the largest per origin.
TEST_P(StoreConformanceTest, ForwardedHeadsKeepTheFirstPerSizeAndListTheLargestPerOrigin) {
  const std::string a = "parley.example/us-eucom/ru-genstaff";
  const std::string b = "parley.example/ru-genstaff/us-eucom";
  const Time t = time_from_unix_ms(1'796'000'000'000);
  EXPECT_FALSE(store_->forwarded_head(a, 2)->has_value());
  ASSERT_TRUE(
      store_->put_forwarded_head({a, 2, std::string(64, 'a'), "ru-genstaff", "r2", t}).is_ok());
  ASSERT_TRUE(
      store_->put_forwarded_head({a, 2, std::string(64, 'b'), "ru-genstaff", "x", t}).is_ok());
  ASSERT_TRUE(
      store_->put_forwarded_head({a, 5, std::string(64, 'c'), "ru-genstaff", "r5", t}).is_ok());
  ASSERT_TRUE(
      store_->put_forwarded_head({b, 1, std::string(64, 'd'), "us-eucom", "r1", t}).is_ok());
  const auto kept = store_->forwarded_head(a, 2);
  ASSERT_TRUE(kept.is_ok() && kept->has_value());
  EXPECT_EQ((*kept)->root, std::string(64, 'a'));
  EXPECT_EQ((*kept)->receipt, "r2");
  EXPECT_EQ((*kept)->received, t);
  const std::vector<ForwardedHead> latest = *store_->forwarded_heads();
  ASSERT_EQ(latest.size(), 2U);
  EXPECT_EQ(latest[0].origin, b);
  EXPECT_EQ(latest[1].origin, a);
  EXPECT_EQ(latest[1].size, 5U);
  EXPECT_FALSE(store_->put_forwarded_head({a, kStoredIntMax + 1, "", "", "", t}).is_ok());
}

// An observer's disclosures: kept once per message id, oldest first.
TEST_P(StoreConformanceTest, DisclosuresAreKeptOncePerMessage) {
  const Time t = time_from_unix_ms(1'796'000'000'000);
  const DisclosureRecord d{"m-1",
                           "us-eucom",
                           "parley.example/us-eucom/ru-genstaff",
                           1,
                           3,
                           "{\"key\":\"us-eucom\"}",
                           std::string(64, 'e'),
                           "{\"body\":{},\"text\":\"x\"}",
                           t};
  EXPECT_TRUE(store_->disclosures()->empty());
  EXPECT_TRUE(*store_->put_disclosure(d));
  DisclosureRecord again = d;
  again.content = "other";
  EXPECT_FALSE(*store_->put_disclosure(again));
  DisclosureRecord second = d;
  second.id = "m-2";
  EXPECT_TRUE(*store_->put_disclosure(second));
  const std::vector<DisclosureRecord> kept = *store_->disclosures();
  ASSERT_EQ(kept.size(), 2U);
  EXPECT_EQ(kept[0], d);
  EXPECT_EQ(kept[1].id, "m-2");
}

std::string factory_name(const ::testing::TestParamInfo<StoreFactory>& param) {
  return param.param.name;
}

#ifdef PARLEY_CONFORMANCE_POSTGRES
INSTANTIATE_TEST_SUITE_P(Stores, StoreConformanceTest, ::testing::Values(postgres_factory()),
                         factory_name);
#else
INSTANTIATE_TEST_SUITE_P(Stores, StoreConformanceTest,
                         ::testing::Values(sqlite_factory(), sqlcipher_factory(), memory_factory(),
                                           faulty_memory_factory()),
                         factory_name);
#endif
}  // namespace
}  // namespace parley::store
