// systemd: what the gateway tells its service manager (sd_notify(3)), so that a unit with
// Type=notify and WatchdogSec= (packaging/parley.service) knows when the gateway is ready,
// when it is stopping, and that its event loop still turns.
//
// Every call does nothing when the process was not started by systemd with a notify socket
// (NOTIFY_SOCKET unset): `parley gateway` run by hand, by tests or by `parley demo` behaves
// exactly as before, and never loads libsystemd (systemd.cc opens it only when a service
// manager listens).
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

namespace parley::gateway::systemd {

// "READY=1": sent once recovery is done and both servers listen (GET /readyz answers 200).
void notify_ready(std::string_view status);
// "STOPPING=1": sent when SIGTERM or SIGINT starts the clean stop.
void notify_stopping();
// "WATCHDOG=1": the event loop is alive. Called from the io thread.
void notify_watchdog();

// How often to call notify_watchdog: half the WatchdogSec= the service manager set
// (WATCHDOG_USEC, for this pid), as sd_watchdog_enabled(3) advises; nullopt if the watchdog
// is off.
std::optional<std::chrono::microseconds> watchdog_ping_interval();

}  // namespace parley::gateway::systemd
