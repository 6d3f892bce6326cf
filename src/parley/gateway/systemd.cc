#include "parley/gateway/systemd.h"

#include <cstdint>
#include <string>

#include <systemd/sd-daemon.h>

namespace parley::gateway::systemd {

void notify_ready(std::string_view status) {
  const std::string state = "READY=1\nSTATUS=" + std::string(status);
  // unset_environment=0: the variables stay for watchdog_ping_interval(). Errors are
  // ignored on purpose: the gateway serves the same whether or not systemd listens.
  (void)sd_notify(0, state.c_str());
}

void notify_stopping() { (void)sd_notify(0, "STOPPING=1\nSTATUS=stopping"); }

void notify_watchdog() { (void)sd_notify(0, "WATCHDOG=1"); }

std::optional<std::chrono::microseconds> watchdog_ping_interval() {
  std::uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) return std::nullopt;
  return std::chrono::microseconds(usec / 2);
}

}  // namespace parley::gateway::systemd
