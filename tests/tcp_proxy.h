// TcpProxy: a TCP forwarder on loopback that a test or a benchmark can cut and heal, to make
// a real "link cut" between two gateways on one machine. Header-only, POSIX, no parley code;
// used by tests/failover_test.cc and bench/failover_bench.cc.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

namespace parley::testing {

// A TCP forwarder 127.0.0.1:port() -> 127.0.0.1:target, on its own thread. cut() makes it a
// black hole: connections already open stop carrying bytes and new ones are accepted and held
// without being forwarded, as a dead link looks to TCP's ends. heal() closes what was held
// (its clients have given up) and forwards again.
class TcpProxy {
 public:
  TcpProxy() {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    if (listen_fd_ < 0 ||
        ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(listen_fd_, 128) != 0 ||
        ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      return;  // ok() is false
    }
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { run(); });
  }
  ~TcpProxy() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    for (const Pair& p : pairs_) close_pair(p);
    for (int fd : held_) ::close(fd);
    if (listen_fd_ >= 0) ::close(listen_fd_);
  }
  TcpProxy(const TcpProxy&) = delete;
  TcpProxy& operator=(const TcpProxy&) = delete;

  bool ok() const { return port_ != 0; }  // listening
  std::uint16_t port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  void set_target(std::uint16_t port) { target_ = port; }
  // Both return once the proxy thread acts on the change: no byte is forwarded after cut()
  // returns.
  void cut() { set_cut(true); }
  void heal() { set_cut(false); }

 private:
  struct Pair {
    int client = -1;
    int upstream = -1;
  };

  void set_cut(bool cut) {
    cut_ = cut;
    while (applied_ != cut && !stop_ && thread_.joinable()) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }

  static void close_pair(const Pair& p) {
    ::close(p.client);
    ::close(p.upstream);
  }

  int connect_upstream() const {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(target_.load());
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      ::close(fd);
      return -1;
    }
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
  }

  // Reads what `from` has and writes it all to `to`; false when the pair is finished.
  bool relay(int from, int to) {
    char buffer[64 * 1024];
    const ssize_t n = ::recv(from, buffer, sizeof buffer, 0);
    if (n <= 0) return false;
    for (ssize_t sent = 0; sent < n;) {
      const ssize_t w = ::send(to, buffer + sent, static_cast<std::size_t>(n - sent), MSG_NOSIGNAL);
      if (w <= 0) return false;
      sent += w;
    }
    return true;
  }

  void run() {
    bool was_cut = false;
    while (!stop_) {
      const bool cut = cut_;
      applied_ = cut;
      if (was_cut && !cut) {
        for (int fd : held_) ::close(fd);
        held_.clear();
      }
      was_cut = cut;
      std::vector<pollfd> fds;
      fds.push_back({listen_fd_, POLLIN, 0});
      if (!cut) {
        for (const Pair& p : pairs_) {
          fds.push_back({p.client, POLLIN, 0});
          fds.push_back({p.upstream, POLLIN, 0});
        }
      }
      if (::poll(fds.data(), fds.size(), 20) <= 0) continue;
      const std::size_t polled = cut ? 0 : pairs_.size();  // fds[1..] are theirs
      if (fds[0].revents & POLLIN) {
        const int client = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (client >= 0 && cut) {
          held_.push_back(client);
        } else if (client >= 0) {
          const int one = 1;
          ::setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          const int upstream = connect_upstream();
          if (upstream < 0) {
            ::close(client);
          } else {
            pairs_.push_back({client, upstream});
          }
        }
      }
      if (cut) continue;
      std::vector<Pair> alive;
      for (std::size_t i = 0; i < pairs_.size(); ++i) {
        if (i >= polled) {  // accepted just now: polled from the next round
          alive.push_back(pairs_[i]);
          continue;
        }
        const pollfd& c = fds[1 + 2 * i];
        const pollfd& u = fds[2 + 2 * i];
        bool ok = true;
        if (c.revents & (POLLIN | POLLHUP | POLLERR))
          ok = relay(pairs_[i].client, pairs_[i].upstream);
        if (ok && (u.revents & (POLLIN | POLLHUP | POLLERR))) {
          ok = relay(pairs_[i].upstream, pairs_[i].client);
        }
        if (ok) {
          alive.push_back(pairs_[i]);
        } else {
          close_pair(pairs_[i]);
        }
      }
      pairs_ = std::move(alive);
    }
  }

  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<std::uint16_t> target_{0};
  std::atomic<bool> cut_{false};
  std::atomic<bool> applied_{false};  // the value of cut_ the proxy thread works with
  std::atomic<bool> stop_{false};
  std::vector<Pair> pairs_;  // the proxy thread's only
  std::vector<int> held_;    // accepted while cut; the proxy thread's only
  std::thread thread_;
};

}  // namespace parley::testing
