// Instance: one `parley gateway` process of a party, active or standby.
//
// Several instances of one party may share one PostgreSQL store (docs/operations.md "Standby
// gateways"): the store's lease (store.h "The lease") decides which one is active. The active
// runs the Driver (federation, API, node) on a store fenced to its epoch, and renews the lease
// every third of its length. The others stand by: they do not listen for the federation (so
// the peer's attempts on their addresses fail and it follows the active's path), and their API
// answers /readyz with 503 {"ready": false, "role": "standby"} and every other request but
// /healthz with 503 and the reason. A standby polls the lease; once it expired (the active
// died, was cut off or stopped) it takes it with the next epoch, recovers from the store as any
// gateway does at start, and serves.
//
// An active that loses the lease (a renewal finds another epoch, or a write is refused as
// fenced, or the store fails) steps down: its driver is abandoned (nothing more is written or
// sent; what it had not committed was acknowledged to nobody) and it stands by again. With a
// store only one process can use (SQLite), the instance is active at once and renews nothing.
//
// A full disk (SQLite): a commit that fails for want of space (store::is_disk_full: the write
// failed, nothing of it reached the file) abandons the driver as a step-down does and holds:
// the API answers 503 with the reason (/readyz too), the federation port is closed, so the
// peer keeps its messages queued and its path to us shows down; nothing that was not stored
// was acknowledged or receipted. Once the store's file system has kResumeFreeBytes free again,
// checked every second and then less often (up to every 30 s), the instance recovers from the
// store as at any start and serves again. Any other failed commit (an I/O error, a failed
// fsync, after which the page cache can no longer be trusted) ends the process (status 70) as
// the driver always did; systemd restarts it and recovery starts from what the store holds.
//
// Single-threaded: everything runs on the io_context thread that the daemon runs.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "parley/base/status.h"
#include "parley/gateway/driver.h"
#include "parley/gateway/home.h"
#include "parley/net/net.h"
#include "parley/store/store.h"

namespace parley::gateway {

class Instance {
 public:
  // `store`: the home's store, opened. `holder` names this instance in the lease and as the
  // PostgreSQL session's application_name (lease_holder_name), for operators and the logs.
  Instance(boost::asio::io_context& io, Home home, std::unique_ptr<store::Store> store,
           std::string holder);
  ~Instance();
  Instance(const Instance&) = delete;
  Instance& operator=(const Instance&) = delete;

  // Becomes active if it can take the lease now, otherwise starts standing by. Errors: those of
  // Driver::start when active at once (a listen address that cannot be bound, the store's),
  // kUnavailable if the standby's API address cannot be bound, the store's.
  Status start();
  // A clean stop (SIGTERM): the active commits what is pending, stops, and releases the lease
  // so that a standby takes over at once; a standby stops answering.
  void stop();

  bool active() const { return driver_ != nullptr; }
  // Why a SQLite instance holds (a full disk); empty while it serves.
  const std::string& held() const { return held_; }
  // The active instance's driver; null while standing by.
  Driver* driver() { return driver_.get(); }

 private:
  void arm(Duration delay);
  void tick();
  // Tries to take the lease; if taken, starts the driver on the fenced store. False if this
  // instance stays standby (the lease is another's, or starting failed: then it is released).
  Result<bool> try_take();
  Status become_active(std::uint64_t epoch);
  void renew();
  void step_down(const std::string& why);
  void on_store_failure(const Status& status);
  void hold(const Status& status);
  void try_resume();
  void retire_driver(const std::string& why);
  Status serve_standby();
  void answer_standby(const net::HttpRequest& request, net::Responder& responder) const;

  boost::asio::io_context& io_;
  const Home home_;
  const std::string holder_;
  const Duration lease_;
  std::unique_ptr<store::Store> store_;  // the standby's connection; moved into the driver
  std::unique_ptr<Driver> driver_;
  std::unique_ptr<net::Server> standby_api_;
  // Stopped drivers and servers are kept, not destroyed: callbacks of their connections may
  // still be queued on the io thread and refer to them. A step-down is rare; each costs little.
  std::vector<std::unique_ptr<Driver>> retired_drivers_;
  std::vector<std::unique_ptr<net::Server>> retired_servers_;
  boost::asio::steady_timer timer_;
  std::uint64_t epoch_ = 0;
  std::string last_error_;  // why the last takeover attempt failed, for /readyz
  bool shared_ = false;     // the store is shared (PostgreSQL): lease, standby, takeover
  std::string held_;        // a SQLite instance holding for disk space: why (for the API)
  Duration hold_retry_{};   // the next look at the free space, doubling up to 30 s
  bool stopping_ = false;
};

// How much free space a held instance waits for before it serves again: enough for many
// commits, so that it does not hold again at the first one.
inline constexpr std::uintmax_t kResumeFreeBytes = 16 * 1024 * 1024;

// The name of this instance in the lease: "pid PID api HOST:PORT host HOSTNAME".
std::string lease_holder_name(const Home& home);

}  // namespace parley::gateway
