// A real `parley gateway` under a stand-in for systemd: the test owns a Unix datagram socket,
// passes it as NOTIFY_SOCKET (with WATCHDOG_USEC, as systemd does for a Type=notify unit with
// WatchdogSec=), and reads what the gateway says (sd_notify(3)): READY=1 once it serves, with
// /readyz already answering 200; WATCHDOG=1 again and again from its event loop; STOPPING=1
// on SIGTERM. packaging/parley.service relies on all three.
#include <poll.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <optional>
#include <string>
#include <vector>

#include "testbed.h"
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "parley/net/net.h"

namespace parley::testing {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// The service manager's end: a bound datagram socket.
class NotifySocket {
 public:
  explicit NotifySocket(const std::string& path) : path_(path) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    if (fd_ < 0 || path.size() >= sizeof(address.sun_path)) return;
    std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
    bound_ = ::bind(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) == 0;
  }
  ~NotifySocket() {
    if (fd_ >= 0) ::close(fd_);
    ::unlink(path_.c_str());
  }
  NotifySocket(const NotifySocket&) = delete;
  NotifySocket& operator=(const NotifySocket&) = delete;

  bool bound() const { return bound_; }

  // The next datagram, or nullopt once `deadline` passed.
  std::optional<std::string> receive(Clock::time_point deadline) const {
    for (;;) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (left <= 0ms) return std::nullopt;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      std::string buffer(4096, '\0');
      const ssize_t n = ::recv(fd_, buffer.data(), buffer.size(), 0);
      if (n < 0) continue;
      buffer.resize(static_cast<std::size_t>(n));
      return buffer;
    }
  }

  // Reads datagrams until one holds the line `line` ("READY=1"), or `deadline`.
  bool wait_for(const std::string& line, Clock::time_point deadline) const {
    while (const std::optional<std::string> datagram = receive(deadline)) {
      if (("\n" + *datagram + "\n").find("\n" + line + "\n") != std::string::npos) return true;
    }
    return false;
  }

 private:
  std::string path_;
  int fd_ = -1;
  bool bound_ = false;
};

int readyz_status(const Party& party) {
  const Result<net::HttpResponse> r =
      net::http_request("127.0.0.1", party.api_port, "GET", "/readyz", {}, "", 2s);
  return r.is_ok() ? r->status : 0;
}

TEST(SystemdNotifyTest, ReadyAfterRecoveryThenWatchdogPingsThenStopping) {
  Result<std::unique_ptr<Testbed>> bed = Testbed::create(PARLEY_BINARY);
  ASSERT_TRUE(bed.is_ok()) << bed.status().to_string();
  const NotifySocket socket(((*bed)->dir() / "notify.sock").string());
  ASSERT_TRUE(socket.bound());

  // What systemd sets for the service's process; the child inherits it.
  ::setenv("NOTIFY_SOCKET", ((*bed)->dir() / "notify.sock").c_str(), 1);
  ::setenv("WATCHDOG_USEC", "200000", 1);  // WatchdogSec=200ms: a ping every 100 ms
  ::unsetenv("WATCHDOG_PID");
  Party& us = (*bed)->us();
  const Status spawned = launch::spawn(us, launch::SpawnOptions{PARLEY_BINARY});
  ::unsetenv("NOTIFY_SOCKET");
  ::unsetenv("WATCHDOG_USEC");
  ASSERT_TRUE(spawned.is_ok()) << spawned.to_string();

  ASSERT_TRUE(socket.wait_for("READY=1", Clock::now() + 30s)) << "no READY=1; see " << us.log;
  // READY=1 comes after recovery with both servers listening: /readyz says so already.
  EXPECT_EQ(readyz_status(us), 200);

  int pings = 0;
  const auto deadline = Clock::now() + 10s;
  while (pings < 3 && socket.wait_for("WATCHDOG=1", deadline)) ++pings;
  EXPECT_EQ(pings, 3) << "WATCHDOG=1 should come every 100 ms";

  (*bed)->stop(us);  // SIGTERM
  EXPECT_TRUE(socket.wait_for("STOPPING=1", Clock::now() + 5s));
}

TEST(SystemdNotifyTest, WithoutNotifySocketTheGatewayRunsAsBefore) {
  Result<std::unique_ptr<Testbed>> bed = Testbed::create(PARLEY_BINARY);
  ASSERT_TRUE(bed.is_ok()) << bed.status().to_string();
  ::unsetenv("NOTIFY_SOCKET");
  ASSERT_TRUE((*bed)->start((*bed)->us()).is_ok());
  EXPECT_EQ(readyz_status((*bed)->us()), 200);
  (*bed)->stop((*bed)->us());
}

}  // namespace
}  // namespace parley::testing
