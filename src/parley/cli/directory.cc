#include "parley/cli/directory.h"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <chrono>
#include <iostream>

#include <fmt/format.h>
#include <sys/file.h>

#include "parley/base/bytes.h"
#include "parley/base/json.h"
#include "parley/cli/api_client.h"
#include "parley/cli/commands.h"
#include "parley/crypto/crypto.h"
#include "parley/net/net.h"
#include "parley/wire/wire.h"

namespace parley::cli {

constexpr std::size_t kTokenBytes = 32;

Result<OpenedHome> open_home_and_store(const std::string& dir) {
  OpenedHome out;
  PARLEY_ASSIGN_OR_RETURN(out.home, gateway::open_home(dir));
  Result<std::unique_ptr<store::Store>> store = gateway::open_store(out.home);
  if (!store.is_ok()) return store.status();
  out.store = std::move(store).value();
  return out;
}

std::string new_token() {
  crypto::SystemRng rng;
  std::array<std::uint8_t, kTokenBytes> raw{};
  rng.fill(raw);
  std::string s = base64_encode(raw);
  crypto::wipe(raw);
  while (!s.empty() && s.back() == '=') s.pop_back();
  for (char& c : s) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  return s;
}

Result<std::optional<Time>> token_expiry(std::string_view text) {
  if (text == "never") return std::optional<Time>();
  Result<Duration> lifetime = parse_duration(text);
  if (!lifetime.is_ok()) {
    return lifetime.status().with_context(
        fmt::format("bad --expires '{}' (a duration such as 90d or 12h, or never)", text));
  }
  const Time now = std::chrono::floor<std::chrono::milliseconds>(std::chrono::system_clock::now());
  return std::optional<Time>(now + *lifetime);
}

void set_token(core::Principal& principal, const std::string& token, std::optional<Time> expires) {
  const crypto::Digest digest = crypto::sha256(as_bytes(token));
  principal.token_hash.assign(digest.begin(), digest.end());
  principal.token_expires = expires;
  principal.revoked_at.reset();
}

Status record_change(store::Store& store, const std::string& action, const std::string& detail) {
  const Time now = std::chrono::floor<std::chrono::milliseconds>(std::chrono::system_clock::now());
  return store.log_change({now, action, detail});
}

namespace {

// Whether a gateway holds the home's lock (gateway::HomeLock) now. Asked before the API is
// called, so that whatever else listens on the configured port is never told to reload.
bool gateway_runs(const gateway::Home& home) {
  const int fd = ::open((home.dir / "gateway.lock").c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool held = ::flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
  ::close(fd);  // also drops the shared lock, if it was taken
  return held;
}

}  // namespace

int tell_gateway(const gateway::Home& home, std::ostream& out) {
  if (!gateway_runs(home)) {
    out << "the gateway is not running: the change takes effect at its next start\n" << std::flush;
    return 0;
  }
  Result<net::HttpResponse> r =
      send_api(operator_target(home), "POST", "/api/v1/admin/reload", "", std::chrono::seconds(10));
  if (!r.is_ok()) {
    return fail(r.status().with_context(
        "stored, but the running gateway could not be told to reload (send it SIGHUP)"));
  }
  if (r->status == 200) {
    out << "the running gateway reloaded it\n" << std::flush;
    return 0;
  }
  std::string reason = "HTTP " + std::to_string(r->status);
  Result<json::Json> body = json::parse_object(r->body);
  if (body.is_ok() && body->contains("error") && (*body)["error"].is_string()) {
    reason = (*body)["error"].get<std::string>();
  }
  return fail(Status::invalid_argument(
      fmt::format("stored, but the running gateway refused to reload (it keeps the directory "
                  "it had): {}",
                  reason)));
}

}  // namespace parley::cli
