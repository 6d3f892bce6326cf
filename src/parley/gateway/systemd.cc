#include "parley/gateway/systemd.h"

#include <dlfcn.h>

#include <cstdint>
#include <cstdlib>
#include <string>

#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>

namespace parley::gateway::systemd {
namespace {

// libsystemd is opened only when a service manager listens (NOTIFY_SOCKET set), as libpq is
// only for a PostgreSQL store: a gateway run by hand, by tests or by the demo never maps it and
// the compression and crypto libraries it pulls in.
struct Api {
  decltype(&::sd_notify) notify = nullptr;
  decltype(&::sd_watchdog_enabled) watchdog_enabled = nullptr;
};

std::optional<Api> load() {
  if (std::getenv("NOTIFY_SOCKET") == nullptr) return std::nullopt;
  void* library = ::dlopen("libsystemd.so.0", RTLD_NOW | RTLD_LOCAL);  // never closed
  Api api;
  if (library != nullptr) {
    api.notify = reinterpret_cast<decltype(api.notify)>(::dlsym(library, "sd_notify"));
    api.watchdog_enabled =
        reinterpret_cast<decltype(api.watchdog_enabled)>(::dlsym(library, "sd_watchdog_enabled"));
  }
  if (api.notify == nullptr || api.watchdog_enabled == nullptr) {
    // The unit (Type=notify) will time out the start: say why in the journal.
    const char* reason = ::dlerror();
    spdlog::error(
        "NOTIFY_SOCKET is set but libsystemd.so.0 cannot be used ({}): systemd "
        "is not told that the gateway is ready (install libsystemd0)",
        reason != nullptr ? reason : "sd_notify missing");
    return std::nullopt;
  }
  return api;
}

const std::optional<Api>& api() {
  static const std::optional<Api> once = load();  // thread-safe initialization
  return once;
}

void notify(const char* state) {
  // unset_environment=0: the variables stay for watchdog_ping_interval(). Errors are
  // ignored on purpose: the gateway serves the same whether or not systemd listens.
  if (api()) (void)api()->notify(0, state);
}

}  // namespace

void notify_ready(std::string_view status) {
  const std::string state = "READY=1\nSTATUS=" + std::string(status);
  notify(state.c_str());
}

void notify_stopping() { notify("STOPPING=1\nSTATUS=stopping"); }

void notify_watchdog() { notify("WATCHDOG=1"); }

std::optional<std::chrono::microseconds> watchdog_ping_interval() {
  if (!api()) return std::nullopt;
  std::uint64_t usec = 0;
  if (api()->watchdog_enabled(0, &usec) <= 0 || usec == 0) return std::nullopt;
  return std::chrono::microseconds(usec / 2);
}

}  // namespace parley::gateway::systemd
