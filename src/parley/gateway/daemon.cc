#include "parley/gateway/daemon.h"

#include <csignal>
#include <functional>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include "parley/gateway/lease.h"

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

  boost::asio::signal_set hangups(io, SIGHUP);
  boost::asio::signal_set signals(io, SIGTERM, SIGINT);
  signals.async_wait([&](const boost::system::error_code& ec, int signal) {
    if (ec) return;
    spdlog::info("signal {}: stopping", signal);
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
