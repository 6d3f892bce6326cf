// Real processes, real faults: two gateways on loopback, 10,000 messages, and each gateway
// killed with SIGKILL in the middle of the traffic. Every message the sender's gateway
// accepted (answered 201 with an id) must be in the receiver's store exactly once.
#include <atomic>
#include <cstdlib>
#include <map>
#include <set>
#include <thread>

#include "testbed.h"
#include <gtest/gtest.h>

namespace parley::testing {
namespace {

using json::Json;
using Clock = std::chrono::steady_clock;

std::size_t message_count() {
  const char* env = std::getenv("PARLEY_CRASH_MESSAGES");
  return env != nullptr ? std::strtoul(env, nullptr, 10) : 10'000;
}

TEST(CrashTest, SigkillOfEitherGatewayLosesAndDuplicatesNothing) {
  Result<std::unique_ptr<Testbed>> created = Testbed::create(PARLEY_BINARY);
  ASSERT_TRUE(created.is_ok()) << created.status().to_string();
  Testbed& bed = **created;
  ASSERT_TRUE(bed.start(bed.us()).is_ok());
  ASSERT_TRUE(bed.start(bed.ru()).is_ok());

  const std::size_t total = message_count();
  std::atomic<std::size_t> attempted{0};
  std::atomic<bool> sender_down{false};
  std::map<std::string, std::size_t> accepted;  // id -> n
  std::size_t in_doubt = 0;                     // requests that failed: maybe stored

  // The killer: SIGKILL the receiver at 25%, restart it at 35%; SIGKILL the sender at 60%
  // (while a submission is in flight) and restart it.
  std::thread killer([&] {
    const auto wait_for_count = [&](std::size_t n) {
      while (attempted.load() < n) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    };
    wait_for_count(total / 4);
    bed.kill_hard(bed.ru());
    wait_for_count(total * 35 / 100);
    EXPECT_TRUE(bed.start(bed.ru()).is_ok());
    wait_for_count(total * 60 / 100);
    sender_down = true;
    bed.kill_hard(bed.us());
    EXPECT_TRUE(bed.start(bed.us()).is_ok());
    sender_down = false;
  });

  for (std::size_t n = 0; n < total; ++n) {
    const Json request = {{"line", "hotline"}, {"text", "message " + std::to_string(n)}};
    Result<Json> answer = bed.call(bed.us(), "POST", "/api/v1/messages", json::dump(request));
    attempted = n + 1;
    if (answer.is_ok()) {
      accepted[answer->value("id", "")] = n;
      continue;
    }
    ++in_doubt;
    // The sender's gateway is down: wait for it to come back (bounded).
    const auto deadline = Clock::now() + std::chrono::seconds(60);
    while (Clock::now() < deadline &&
           (sender_down || !bed.call(bed.us(), "GET", "/api/v1/lines").is_ok())) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  killer.join();
  EXPECT_GE(accepted.size(), total * 9 / 10) << "most submissions must have been accepted";

  // Quiescence: the sender's queue drains (bounded).
  const auto deadline = Clock::now() + std::chrono::seconds(120);
  bool drained = false;
  while (Clock::now() < deadline) {
    Result<Json> status = bed.call_as_operator(bed.us(), "GET", "/api/v1/peers");
    if (status.is_ok() && (*status)["peers"][0].value("queued", 1) == 0) {
      drained = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_TRUE(drained) << "the sender's queue did not drain";
  bed.stop(bed.us());
  bed.stop(bed.ru());

  Result<std::unique_ptr<store::Store>> ru_store = launch::open_store(bed.ru());
  ASSERT_TRUE(ru_store.is_ok());
  store::MessageQuery query;
  query.direction = core::Direction::kInbound;
  query.limit = total * 2;
  Result<std::vector<core::MessageRecord>> inbox = (*ru_store)->list_messages(query);
  ASSERT_TRUE(inbox.is_ok());
  std::set<std::string> ids;
  std::map<std::string, int> texts;
  for (const core::MessageRecord& m : *inbox) {
    EXPECT_TRUE(ids.insert(m.id).second) << "delivered twice: " << m.id;
    ++texts[m.content.text];
  }
  for (const auto& [text, count] : texts) EXPECT_EQ(count, 1) << "duplicated: " << text;
  std::size_t missing = 0;
  for (const auto& [id, n] : accepted) {
    if (ids.count(id) == 0) {
      ++missing;
      ADD_FAILURE() << "accepted message " << n << " (" << id << ") was lost";
      if (missing > 10) break;
    }
  }
  // Anything else that arrived was submitted by a request that failed (in doubt).
  EXPECT_LE(ids.size(), accepted.size() + in_doubt);

  Result<std::unique_ptr<store::Store>> us_store = launch::open_store(bed.us());
  ASSERT_TRUE(us_store.is_ok());
  query.direction = core::Direction::kOutbound;
  Result<std::vector<core::MessageRecord>> outbox = (*us_store)->list_messages(query);
  ASSERT_TRUE(outbox.is_ok());
  for (const core::MessageRecord& m : *outbox) {
    EXPECT_EQ(m.state, core::MessageState::kDelivered) << m.id;
    EXPECT_TRUE(m.receipt.has_value()) << m.id;
  }
  std::printf("crash test: %zu submitted, %zu accepted, %zu in doubt, %zu delivered\n", total,
              accepted.size(), in_doubt, ids.size());
}

}  // namespace
}  // namespace parley::testing
