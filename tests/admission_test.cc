// Real processes under a connection flood (issue 10): anyone who can reach a gateway's ports
// may hold thousands of idle TCP connections there, without a certificate or a token. The
// pinned peer must still get its FLASH through, and a principal must still submit, promptly
// (docs/protocol.md "Admission"). Every connection here comes from 127.0.0.1, like the
// peer's and the principal's own: no per-address rule can tell them apart.
//
// PARLEY_BINARY_UNDER_TEST runs the test against another `parley` (e.g. a build of an older
// commit, to measure it); PARLEY_ADMISSION_DEADLINE_S changes how long delivery may take
// (default 15).
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "testbed.h"
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "parley/net/net.h"

namespace parley::testing {
namespace {

using json::Json;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr int kIdleConnections = 2000;

std::string binary() {
  const char* other = std::getenv("PARLEY_BINARY_UNDER_TEST");
  return other != nullptr ? other : PARLEY_BINARY;
}

Clock::duration deadline() {
  const char* seconds = std::getenv("PARLEY_ADMISSION_DEADLINE_S");
  return std::chrono::seconds(seconds != nullptr ? std::atoi(seconds) : 15);
}

double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// Polls `condition` every 50 ms until it holds or `limit` passes.
bool eventually(const std::function<bool()>& condition, Clock::duration limit) {
  const auto give_up = Clock::now() + limit;
  while (Clock::now() < give_up) {
    if (condition()) return true;
    std::this_thread::sleep_for(50ms);
  }
  return condition();
}

// Idle TCP connections to 127.0.0.1:`port` that never send a byte. Close-on-exec, so that
// gateways started meanwhile do not inherit them.
class IdleFlood {
 public:
  IdleFlood(std::uint16_t port, int count) {
    const auto give_up = Clock::now() + 20s;  // bounded in time as well as in count
    for (int i = 0; i < count && Clock::now() < give_up; ++i) {
      const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      if (fd < 0) break;
      sockaddr_in address{};
      address.sin_family = AF_INET;
      address.sin_port = htons(port);
      address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      if (::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
        ::close(fd);
        ++failed_;
        continue;
      }
      fds_.push_back(fd);
    }
  }
  ~IdleFlood() {
    for (const int fd : fds_) ::close(fd);
  }
  IdleFlood(const IdleFlood&) = delete;
  IdleFlood& operator=(const IdleFlood&) = delete;

  std::size_t held() const { return fds_.size(); }
  int failed() const { return failed_; }

 private:
  std::vector<int> fds_;
  int failed_ = 0;
};

// Room for the flood's descriptors in this process.
void raise_open_files_limit() {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  limit.rlim_cur = limit.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &limit);
}

class AdmissionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    raise_open_files_limit();
    rlimit limit{};
    ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &limit), 0);
    ASSERT_GT(limit.rlim_cur, static_cast<rlim_t>(kIdleConnections + 200))
        << "the open files limit is too low for this test";
    Result<std::unique_ptr<Testbed>> created = Testbed::create(binary());
    ASSERT_TRUE(created.is_ok()) << created.status().to_string();
    bed_ = std::move(*created);
  }

  // Submits a FLASH as us-eucom's principal; its id, or the error.
  Result<std::string> send_flash(std::chrono::milliseconds timeout) {
    const Json request = {{"line", "hotline"}, {"precedence", "FLASH"}, {"text", "launch"}};
    PARLEY_ASSIGN_OR_RETURN(Json answer, bed_->call(bed_->us(), "POST", "/api/v1/messages",
                                                    json::dump(request), timeout));
    return answer.value("id", "");
  }

  bool delivered(const std::string& id) {
    Result<Json> m = bed_->call(bed_->us(), "GET", "/api/v1/messages/" + id);
    if (!m.is_ok()) return false;
    const std::string state = m->value("state", "");
    return state == "delivered" || state == "acknowledged";
  }

  std::string metrics(const Party& party) {
    // /metrics is gateway-wide: the operator's token.
    Result<net::HttpResponse> r =
        net::http_request("127.0.0.1", party.api_port, "GET", "/metrics",
                          {{"Authorization", "Bearer " + party.operator_token}}, "", 5s);
    return r.is_ok() ? r->body : "";
  }

  std::unique_ptr<Testbed> bed_;
};

TEST_F(AdmissionTest, FlashIsDeliveredWhileTwoThousandIdleConnectionsHoldTheFederationPort) {
  ASSERT_TRUE(bed_->start(bed_->ru()).is_ok());
  const IdleFlood flood(bed_->ru().federation_port, kIdleConnections);
  std::printf("holding %zu idle connections on the receiver's federation port (%d failed)\n",
              flood.held(), flood.failed());
  ASSERT_GE(flood.held(), static_cast<std::size_t>(kIdleConnections) * 9 / 10);

  // The sender starts now: every connection it needs to the receiver is a new one.
  ASSERT_TRUE(bed_->start(bed_->us()).is_ok());
  const auto start = Clock::now();
  const Result<std::string> id = send_flash(10'000ms);
  ASSERT_TRUE(id.is_ok()) << id.status().to_string();
  const bool arrived = eventually([&] { return delivered(*id); }, deadline());
  const auto took = Clock::now() - start;
  std::printf("FLASH delivered: %s after %.3f s\n", arrived ? "yes" : "NO", seconds(took));
  EXPECT_TRUE(arrived) << "not delivered within " << seconds(deadline()) << " s";

  const std::string ru_metrics = metrics(bed_->ru());
  EXPECT_NE(ru_metrics.find("parley_handshakes_refused_total{reason=\"evicted\"}"),
            std::string::npos)
      << ru_metrics;
  EXPECT_EQ(ru_metrics.find("parley_handshakes_refused_total{reason=\"evicted\"} 0\n"),
            std::string::npos)
      << ru_metrics;
}

TEST_F(AdmissionTest, SubmissionSucceedsWhileTwoThousandIdleConnectionsHoldTheApiPort) {
  ASSERT_TRUE(bed_->start(bed_->ru()).is_ok());
  ASSERT_TRUE(bed_->start(bed_->us()).is_ok());
  const IdleFlood flood(bed_->us().api_port, kIdleConnections);
  std::printf("holding %zu idle connections on the sender's API port (%d failed)\n", flood.held(),
              flood.failed());
  ASSERT_GE(flood.held(), static_cast<std::size_t>(kIdleConnections) * 9 / 10);

  const auto start = Clock::now();
  Result<std::string> id = Status::unavailable("not tried");
  // A client retries a refused connection; the gateway must not need it to.
  const bool accepted = eventually(
      [&] {
        id = send_flash(5'000ms);
        return id.is_ok();
      },
      deadline());
  const auto took = Clock::now() - start;
  std::printf("API submission accepted: %s after %.3f s\n", accepted ? "yes" : "NO", seconds(took));
  ASSERT_TRUE(accepted) << id.status().to_string();
  EXPECT_LT(took, 5s) << "the first attempt should succeed";
  EXPECT_TRUE(eventually([&] { return delivered(*id); }, deadline()));
}

}  // namespace
}  // namespace parley::testing
