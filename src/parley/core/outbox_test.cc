#include "parley/core/outbox.h"

#include <string>

#include <gtest/gtest.h>

namespace parley::core {
namespace {

using namespace std::chrono_literals;

const Time kT0 = time_from_unix_ms(1'795'000'000'000);

Outgoing message(const std::string& id, Precedence precedence, std::uint64_t seq, Time created,
                 std::optional<Time> expires = std::nullopt) {
  Outgoing o;
  o.record.id = id;
  o.record.precedence = precedence;
  o.record.seq = seq;
  o.record.created = created;
  o.record.expires = expires;
  o.index = seq;
  return o;
}

std::vector<std::string> order(const Outbox& outbox) {
  std::vector<std::string> ids;
  for (const auto& [key, o] : outbox.queue()) ids.push_back(o.record.id);
  return ids;
}

TEST(OutboxTest, FlashFirstThenBySequence) {
  Outbox outbox;
  outbox.enqueue(message("r2", Precedence::kRoutine, 2, kT0));
  outbox.enqueue(message("r1", Precedence::kRoutine, 1, kT0 + 1s));
  outbox.enqueue(message("f3", Precedence::kFlash, 3, kT0 + 2s));
  EXPECT_EQ(order(outbox), (std::vector<std::string>{"f3", "r1", "r2"}));
  EXPECT_EQ(outbox.oldest_created(), kT0);
  EXPECT_EQ(outbox.lowest_index(99), 1u);
  ASSERT_TRUE(outbox.unqueue("r2"));
  EXPECT_FALSE(outbox.unqueue("r2"));
  EXPECT_EQ(outbox.oldest_created(), kT0 + 1s);
  EXPECT_EQ(outbox.queued("r2"), nullptr);
}

TEST(OutboxTest, TheEarliestExpiryIsWatchedWhileQueued) {
  Outbox outbox;
  outbox.enqueue(message("a", Precedence::kRoutine, 1, kT0, kT0 + 10min));
  outbox.enqueue(message("b", Precedence::kRoutine, 2, kT0, kT0 + 5min));
  outbox.enqueue(message("c", Precedence::kRoutine, 3, kT0));
  ASSERT_TRUE(outbox.next_expiry().has_value());
  EXPECT_EQ(outbox.next_expiry()->second, "b");
  outbox.unqueue("b");
  EXPECT_EQ(outbox.next_expiry()->second, "a");
  outbox.unwatch_expiry("a");
  EXPECT_FALSE(outbox.next_expiry().has_value());
  EXPECT_EQ(outbox.size(), 2u);
}

TEST(OutboxTest, AMessageSetAsideInFlightIsStillCarriedUntilTheTransactionEnds) {
  Outbox outbox;
  outbox.enqueue(message("a", Precedence::kRoutine, 1, kT0, kT0 + 1min));
  outbox.enqueue(message("b", Precedence::kRoutine, 2, kT0));
  InFlight f;
  f.tx = "tx-1";
  f.ids = {"a", "b"};
  outbox.start(std::move(f));
  EXPECT_TRUE(outbox.in_flight_is("tx-1"));
  EXPECT_TRUE(outbox.queued("a")->in_flight);
  EXPECT_EQ(outbox.waiting(), 0u);

  outbox.set_aside("a");
  EXPECT_EQ(outbox.queued("a"), nullptr);
  ASSERT_NE(outbox.carried("a"), nullptr);  // the answer to tx-1 still decides its fate
  EXPECT_EQ(outbox.size(), 1u);
  EXPECT_FALSE(outbox.next_expiry().has_value());

  outbox.end_in_flight("tx-1");
  EXPECT_EQ(outbox.carried("a"), nullptr);
  EXPECT_EQ(outbox.in_flight("tx-1"), nullptr);
  EXPECT_FALSE(outbox.queued("b")->in_flight);  // goes again in the next transaction
  EXPECT_EQ(outbox.waiting(), 1u);
}

// The window: each transaction carries its own messages; one ending frees only its own.
TEST(OutboxTest, TransactionsOfTheWindowCarryTheirOwnMessagesAndEndApart) {
  Outbox outbox;
  outbox.enqueue(message("a", Precedence::kRoutine, 1, kT0, kT0 + 1min));
  outbox.enqueue(message("b", Precedence::kRoutine, 2, kT0));
  outbox.enqueue(message("c", Precedence::kRoutine, 3, kT0));
  InFlight first;
  first.tx = "tx-1";
  first.ids = {"a"};
  outbox.start(std::move(first));
  InFlight second;
  second.tx = "tx-2";
  second.ids = {"b"};
  outbox.start(std::move(second));
  ASSERT_EQ(outbox.window().size(), 2u);
  EXPECT_EQ(outbox.window()[0].tx, "tx-1");  // in the order they were built
  EXPECT_EQ(outbox.waiting(), 1u);           // c
  EXPECT_EQ(outbox.carrier("b")->tx, "tx-2");
  EXPECT_EQ(outbox.carrier("c"), nullptr);
  EXPECT_FALSE(outbox.cancel("b").is_ok());  // carried: it may be with the peer

  outbox.set_aside("a");  // expired in flight: with tx-1, not tx-2
  EXPECT_NE(outbox.in_flight("tx-1")->expired.count("a"), 0u);
  EXPECT_EQ(outbox.waiting(), 1u);

  outbox.end_in_flight("tx-2");
  EXPECT_FALSE(outbox.queued("b")->in_flight);
  EXPECT_EQ(outbox.waiting(), 2u);
  ASSERT_NE(outbox.carried("a"), nullptr);  // tx-1 still decides
  EXPECT_TRUE(outbox.unqueue("b"));
  EXPECT_EQ(outbox.waiting(), 1u);
  outbox.end_in_flight("tx-1");
  EXPECT_TRUE(outbox.window().empty());
  EXPECT_EQ(outbox.waiting(), 1u);
}

TEST(OutboxTest, AFlashWaitsOnlyIfNoTransactionInFlightCarriesIt) {
  Outbox outbox;
  outbox.enqueue(message("r", Precedence::kRoutine, 1, kT0));
  EXPECT_FALSE(outbox.flash_waits());
  outbox.enqueue(message("f", Precedence::kFlash, 2, kT0));
  EXPECT_TRUE(outbox.flash_waits());
  InFlight f;
  f.tx = "tx-1";
  f.ids = {"f"};
  outbox.start(std::move(f));
  EXPECT_FALSE(outbox.flash_waits());
}

TEST(OutboxTest, CancelTakesOnlyAMessageNoTransactionCarried) {
  Outbox outbox;
  outbox.enqueue(message("r1", Precedence::kRoutine, 1, kT0));
  outbox.enqueue(message("r2", Precedence::kRoutine, 2, kT0 + 1s));
  Outgoing earlier = message("r3", Precedence::kRoutine, 3, kT0 + 2s, kT0 + 1h);
  earlier.record.tx = "tx-0";  // carried before (a transaction given up, or before a restart)
  outbox.enqueue(earlier);
  InFlight f;
  f.tx = "tx-1";
  f.ids = {"r1"};
  outbox.start(f);

  Result<Outgoing> in_flight = outbox.cancel("r1");
  ASSERT_FALSE(in_flight.is_ok());
  EXPECT_EQ(in_flight.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(in_flight.status().message().find("tx-1"), std::string::npos);
  Result<Outgoing> carried = outbox.cancel("r3");
  ASSERT_FALSE(carried.is_ok());
  EXPECT_EQ(carried.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(carried.status().message().find("tx-0"), std::string::npos);
  EXPECT_EQ(outbox.cancel("nope").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(outbox.size(), 3u);  // refusals change nothing

  Result<Outgoing> taken = outbox.cancel("r2");
  ASSERT_TRUE(taken.is_ok());
  EXPECT_EQ(taken->record.id, "r2");
  EXPECT_EQ(order(outbox), (std::vector<std::string>{"r1", "r3"}));
  EXPECT_EQ(outbox.queued("r2"), nullptr);
  EXPECT_EQ(outbox.cancel("r2").status().code(), StatusCode::kNotFound);  // once
}

}  // namespace
}  // namespace parley::core
