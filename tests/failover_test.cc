// Real processes, real link cuts: two gateways on loopback; the receiver (ru-genstaff) listens
// on two federation addresses, and the sender (us-eucom) reaches them through small TCP
// proxies run by this test, so that a path can be cut (the proxy black-holes: it keeps
// accepting and holding connections but forwards nothing) and healed while traffic flows.
// The sender must notice a cut primary by its heartbeats, move traffic to the backup, lose
// nothing, and move back when the primary heals; with both paths cut, messages queue (the
// status shows the backlog and the age of the oldest) and are delivered in order after the
// heal.
#include <algorithm>
#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "tcp_proxy.h"
#include "testbed.h"
#include <gtest/gtest.h>

namespace parley::testing {
namespace {

using json::Json;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

std::uint16_t port_of(const std::string& address) {
  const Result<wire::HostPort> hp = wire::parse_host_port(address);
  return hp.is_ok() ? hp->port : 0;
}

// Polls `condition` every 50 ms until it holds or `limit` passes.
bool eventually(const std::function<bool()>& condition, Clock::duration limit) {
  const auto deadline = Clock::now() + limit;
  while (Clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(50ms);
  }
  return condition();
}

// The sender's and receiver's gateways; us pins ru at [primary proxy, backup proxy or ru's
// backup address directly].
class FailoverTest : public ::testing::Test {
 protected:
  void start(bool proxy_backup) {
    ASSERT_TRUE(primary_.ok() && backup_.ok()) << "cannot listen on 127.0.0.1";
    TestbedOptions options;
    options.first.federation_addresses = 2;
    options.second.federation_addresses = 2;
    options.edit_pinned_bundle = [this, proxy_backup](const Party& self, wire::Bundle& peer) {
      if (self.id != "us-eucom" || peer.federation.size() != 2) return;
      primary_.set_target(port_of(peer.federation[0]));
      backup_.set_target(port_of(peer.federation[1]));
      peer.federation[0] = primary_.address();
      if (proxy_backup) peer.federation[1] = backup_.address();
    };
    Result<std::unique_ptr<Testbed>> created = Testbed::create(PARLEY_BINARY, options);
    ASSERT_TRUE(created.is_ok()) << created.status().to_string();
    bed_ = std::move(*created);
    ASSERT_TRUE(bed_->start(bed_->ru()).is_ok());
    ASSERT_TRUE(bed_->start(bed_->us()).is_ok());
    ASSERT_TRUE(eventually([&] { return path_state(0) == "up" && path_state(1) == "up"; }, 20s))
        << "both paths should come up: " << peer_json().dump();
  }

  Json peer_json() {
    Result<Json> peers = bed_->call_as_operator(bed_->us(), "GET", "/api/v1/peers");
    if (!peers.is_ok() || !(*peers)["peers"].is_array() || (*peers)["peers"].empty()) {
      return Json::object();
    }
    return (*peers)["peers"][0];
  }
  std::string path_state(std::size_t i) {
    const Json peer = peer_json();
    const Json paths = peer.value("paths", Json::array());
    return paths.size() > i ? paths[i].value("state", "") : "";
  }
  bool path_active(std::size_t i) {
    const Json paths = peer_json().value("paths", Json::array());
    return paths.size() > i && paths[i].value("active", false);
  }

  // Submits one message; its id, or empty if the gateway did not accept it.
  std::string send(const std::string& text) {
    const Json request = {{"line", "hotline"}, {"text", text}};
    Result<Json> answer = bed_->call(bed_->us(), "POST", "/api/v1/messages", json::dump(request));
    return answer.is_ok() ? answer->value("id", "") : "";
  }
  bool delivered(const std::string& id) {
    Result<Json> m = bed_->call(bed_->us(), "GET", "/api/v1/messages/" + id);
    if (!m.is_ok()) return false;
    const std::string state = m->value("state", "");
    return state == "delivered" || state == "acknowledged";
  }

  // Stops both gateways once the sender's queue has drained, and returns the receiver's
  // inbound messages.
  std::vector<core::MessageRecord> drain_and_read_inbox() {
    EXPECT_TRUE(eventually([&] { return peer_json().value("queued", 1) == 0; }, 90s))
        << "the sender's queue did not drain: " << peer_json().dump();
    bed_->stop(bed_->us());
    bed_->stop(bed_->ru());
    Result<std::unique_ptr<store::Store>> store = launch::open_store(bed_->ru());
    EXPECT_TRUE(store.is_ok()) << store.status().to_string();
    if (!store.is_ok()) return {};
    store::MessageQuery query;
    query.direction = core::Direction::kInbound;
    query.limit = 100'000;
    Result<std::vector<core::MessageRecord>> inbox = (*store)->list_messages(query);
    EXPECT_TRUE(inbox.is_ok());
    return inbox.is_ok() ? *inbox : std::vector<core::MessageRecord>{};
  }

  // Every id in `accepted` arrived exactly once.
  static void expect_each_once(const std::vector<core::MessageRecord>& inbox,
                               const std::vector<std::string>& accepted) {
    std::map<std::string, int> count;
    for (const core::MessageRecord& m : inbox) ++count[m.id];
    for (const auto& [id, n] : count) EXPECT_EQ(n, 1) << "delivered twice: " << id;
    std::size_t missing = 0;
    for (const std::string& id : accepted) {
      if (count.count(id) == 0 && ++missing <= 10)
        ADD_FAILURE() << "accepted, never delivered: " << id;
    }
    EXPECT_EQ(missing, 0u);
  }

  TcpProxy primary_;
  TcpProxy backup_;
  std::unique_ptr<Testbed> bed_;
};

TEST_F(FailoverTest, CutPrimaryFailsOverToTheBackupAndBackWithoutLosingAMessage) {
  ASSERT_NO_FATAL_FAILURE(start(/*proxy_backup=*/false));
  ASSERT_TRUE(path_active(0));

  // A principal sends continuously through the whole test.
  std::mutex mutex;
  std::vector<std::string> accepted;
  std::atomic<bool> stop{false};
  std::thread sender([&] {
    for (int n = 0; !stop && n < 100'000; ++n) {
      const std::string id = send("message " + std::to_string(n));
      if (id.empty()) continue;
      {
        std::lock_guard lock(mutex);
        accepted.push_back(id);
      }
      std::this_thread::sleep_for(5ms);  // steady traffic, not a flood
    }
  });
  const auto last_accepted = [&] {
    std::lock_guard lock(mutex);
    return accepted.empty() ? std::string() : accepted.back();
  };
  const auto accepted_count = [&] {
    std::lock_guard lock(mutex);
    return accepted.size();
  };
  const auto a_later_message_is_delivered = [&](Clock::duration limit) {
    const std::size_t mark = accepted_count();
    std::string id;
    if (!eventually([&] { return accepted_count() > mark + 2; }, 30s)) return false;
    id = last_accepted();
    return eventually([&] { return delivered(id); }, limit);
  };

  ASSERT_TRUE(a_later_message_is_delivered(20s)) << "traffic flows on the primary";

  primary_.cut();
  EXPECT_TRUE(eventually([&] { return path_state(0) == "down" && path_state(1) == "up"; }, 15s))
      << "the sender should see the primary down and the backup up: " << peer_json().dump();
  EXPECT_TRUE(path_active(1)) << peer_json().dump();
  // The primary forwards nothing while cut: what is delivered now went by the backup.
  EXPECT_TRUE(a_later_message_is_delivered(30s))
      << "messages sent after the cut are delivered by the backup: " << peer_json().dump();

  primary_.heal();
  EXPECT_TRUE(eventually([&] { return path_state(0) == "up" && path_active(0); }, 15s))
      << "traffic should move back to the healed primary: " << peer_json().dump();
  EXPECT_TRUE(a_later_message_is_delivered(30s)) << peer_json().dump();
  EXPECT_TRUE(path_active(0)) << peer_json().dump();

  stop = true;
  sender.join();
  std::vector<std::string> all;
  {
    std::lock_guard lock(mutex);
    all = accepted;
  }
  EXPECT_GE(all.size(), 10u);
  expect_each_once(drain_and_read_inbox(), all);
  std::printf("failover test: %zu messages accepted and delivered\n", all.size());
}

TEST_F(FailoverTest, PartitionOfBothPathsQueuesThenDeliversInOrderAfterTheHeal) {
  ASSERT_NO_FATAL_FAILURE(start(/*proxy_backup=*/true));
  std::vector<std::string> accepted;
  for (int n = 0; n < 3; ++n) accepted.push_back(send("before " + std::to_string(n)));
  ASSERT_TRUE(eventually([&] { return delivered(accepted.back()); }, 20s));

  primary_.cut();
  backup_.cut();
  const Time partition_start =
      std::chrono::floor<std::chrono::milliseconds>(std::chrono::system_clock::now());
  constexpr int kDuring = 30;
  for (int n = 0; n < kDuring; ++n) {
    const std::string id = send("during " + std::to_string(n));
    ASSERT_FALSE(id.empty()) << "the sender accepts while the peer is unreachable";
    accepted.push_back(id);
  }
  ASSERT_TRUE(eventually([&] { return path_state(0) == "down" && path_state(1) == "down"; }, 15s))
      << peer_json().dump();
  const Json peer = peer_json();
  EXPECT_GE(peer.value("queued", 0), kDuring) << peer.dump();
  ASSERT_TRUE(peer["oldest_queued"].is_string()) << peer.dump();
  const Result<Time> oldest = parse_time(peer["oldest_queued"].get<std::string>());
  ASSERT_TRUE(oldest.is_ok());
  EXPECT_GE(*oldest, partition_start - 1s) << "the oldest queued message is one sent in the cut";
  EXPECT_TRUE(peer["paths"][0].value("last_error", Json()).is_string()) << peer.dump();

  primary_.heal();
  backup_.heal();
  for (int n = 0; n < 3; ++n) accepted.push_back(send("after " + std::to_string(n)));
  EXPECT_TRUE(eventually([&] { return path_state(0) == "up"; }, 15s)) << peer_json().dump();

  const std::vector<core::MessageRecord> inbox = drain_and_read_inbox();
  expect_each_once(inbox, accepted);
  // In order: the receiver stored them in their sequence order, without gaps.
  std::vector<core::MessageRecord> by_seq = inbox;
  std::sort(by_seq.begin(), by_seq.end(),
            [](const auto& a, const auto& b) { return a.seq < b.seq; });
  for (std::size_t i = 0; i < by_seq.size(); ++i) {
    EXPECT_EQ(by_seq[i].seq, i + 1) << "a gap in the line's sequence";
    if (i > 0 && by_seq[i].delivered_at && by_seq[i - 1].delivered_at) {
      EXPECT_LE(*by_seq[i - 1].delivered_at, *by_seq[i].delivered_at)
          << "seq " << by_seq[i].seq << " was stored before seq " << by_seq[i - 1].seq;
    }
  }
}

}  // namespace
}  // namespace parley::testing
