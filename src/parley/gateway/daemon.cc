#include "parley/gateway/daemon.h"

#include <csignal>
#include <functional>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include "parley/gateway/api.h"
#include "parley/gateway/driver.h"
#include "parley/gateway/lease.h"
#include "parley/gateway/systemd.h"

namespace parley::gateway {

namespace {

// Each connection is a descriptor, and the servers shed idle ones only once their slots are
// full (docs/protocol.md "Admission"): the soft limit (often 1024) must not run out first.
void raise_open_files_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur >= limit.rlim_max) return;
  const rlim_t before = limit.rlim_cur;
  limit.rlim_cur = limit.rlim_max;
  if (setrlimit(RLIMIT_NOFILE, &limit) != 0) {
    spdlog::warn("cannot raise the open files limit from {}", before);
    return;
  }
  spdlog::info("open files limit raised from {} to {}", before, limit.rlim_cur);
}

// Pings systemd's watchdog from the event loop itself, every `interval`: a loop that stops
// turning (a handler stuck forever) stops the pings, and systemd restarts the service.
void ping_watchdog(boost::asio::steady_timer& timer, std::chrono::microseconds interval) {
  systemd::notify_watchdog();
  timer.expires_after(interval);
  timer.async_wait([&timer, interval](const boost::system::error_code& ec) {
    if (!ec) ping_watchdog(timer, interval);
  });
}

}  // namespace

Status run_gateway(const std::filesystem::path& home_dir) {
  PARLEY_ASSIGN_OR_RETURN(Home home, open_home(home_dir));
  // Before anything that binds a port or opens the store: a second gateway on this home (or
  // this store) must change nothing. Held until this function returns, i.e. for the process.
  PARLEY_ASSIGN_OR_RETURN(const HomeLock lock, HomeLock::acquire(home));
  auto logger = spdlog::stderr_color_mt("parley");
  spdlog::set_default_logger(logger);
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %^%l%$ [" + home.config.party + "] %v",
                      spdlog::pattern_time_type::utc);
  spdlog::set_level(spdlog::level::from_str(home.config.log_level));
  std::signal(SIGPIPE, SIG_IGN);
  raise_open_files_limit();

  PARLEY_ASSIGN_OR_RETURN(std::unique_ptr<store::Store> store,
                          open_store(home, /*create_sqlite=*/true));
  boost::asio::io_context io;
  // Active at once on SQLite; on a shared (PostgreSQL) store, active or standby as the lease
  // says (lease.h).
  const std::string holder = lease_holder_name(home);
  Instance instance(io, std::move(home), std::move(store), holder);
  PARLEY_RETURN_IF_ERROR(instance.start());
  // Only now, with recovery done and the servers listening (/readyz answers 200), or
  // standing by (a standby is up as it should be: systemd must not restart it).
  if (Driver* driver = instance.driver()) {
    systemd::notify_ready("serving federation " + driver->federation_endpoint() + ", api " +
                          driver->api_endpoint());
  } else {
    systemd::notify_ready("standing by: another instance holds the lease");
  }
  boost::asio::steady_timer watchdog(io);
  if (const auto interval = systemd::watchdog_ping_interval()) ping_watchdog(watchdog, *interval);

  boost::asio::signal_set hangups(io, SIGHUP);
  boost::asio::signal_set signals(io, SIGTERM, SIGINT);
  signals.async_wait([&](const boost::system::error_code& ec, int signal) {
    if (ec) return;
    spdlog::info("signal {}: stopping", signal);
    systemd::notify_stopping();
    instance.stop();
    hangups.cancel();
    io.stop();
  });
  // SIGHUP reloads principals, lines and the roster (Driver::reload), as often as it comes.
  std::function<void()> wait_hangup = [&] {
    hangups.async_wait([&](const boost::system::error_code& ec, int) {
      if (ec) return;
      if (Driver* driver = instance.driver()) {
        spdlog::info("SIGHUP: reloading the directory");
        (void)driver->reload();  // logged either way; a refused reload keeps the running one
      } else {
        spdlog::info("SIGHUP: standing by; the directory is read when this instance takes over");
      }
      wait_hangup();
    });
  };
  wait_hangup();
  io.run();
  spdlog::info("stopped");
  return Status::ok();
}

}  // namespace parley::gateway
