#include "parley/launch/launch.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <memory>
#include <sstream>
#include <thread>

#include <sys/prctl.h>
#include <sys/wait.h>

#include "parley/base/time.h"
#include "parley/crypto/crypto.h"
#include "parley/gateway/config.h"
#include "parley/gateway/home.h"
#include "parley/net/net.h"

namespace parley::launch {
namespace {

namespace fs = std::filesystem;

std::string loopback(std::uint16_t port) { return "127.0.0.1:" + std::to_string(port); }

// The last non-empty line of a gateway's log (why it stopped, as a rule), or "".
std::string last_log_line(const fs::path& log) {
  std::ifstream in(log);
  std::string line;
  std::string last;
  while (std::getline(in, line)) {
    if (!line.empty()) last = line;
  }
  return last;
}

std::string new_token() {
  crypto::SystemRng rng;
  Bytes token(32);
  rng.fill(token);
  return hex_encode(token);
}

// Replaces `line`, as `parley init` wrote it, with `replacement`: settings the launcher needs
// that init has no option for.
Status replace_config_line(const fs::path& config, const std::string& line,
                           const std::string& replacement) {
  std::string text;
  {
    std::ifstream in(config);
    std::stringstream buffer;
    buffer << in.rdbuf();
    text = buffer.str();
  }
  const std::size_t at = text.find(line);
  if (at == std::string::npos) return Status::not_found("no '" + line + "' in " + config.string());
  text.replace(at, line.size(), replacement);
  std::ofstream out(config, std::ios::trunc);
  out << text;
  out.close();
  return out ? Status::ok() : Status::unavailable("cannot write " + config.string());
}

// The party's home, with its ports picked and its config written.
Result<Party> init_party(const fs::path& dir, const PartySpec& spec, const PairOptions& options) {
  Party party;
  party.id = spec.id;
  party.principal = spec.principal;
  party.lang = spec.lang;
  party.home = dir / spec.id;
  party.log = (options.log_dir.empty() ? dir : options.log_dir) / (spec.id + ".log");
  gateway::InitOptions init;
  init.home = party.home;
  init.party = spec.id;
  init.lang = spec.lang;
  init.store_url = spec.store_url;
  init.encrypt = options.encrypt_store;
  init.federation.clear();
  for (int i = 0; i < std::max(1, spec.federation_addresses); ++i) {
    PARLEY_ASSIGN_OR_RETURN(const std::uint16_t port, net::free_loopback_port());
    party.federation_ports.push_back(port);
    init.federation.push_back(loopback(port));
  }
  party.federation_port = party.federation_ports.front();
  PARLEY_ASSIGN_OR_RETURN(party.api_port, net::free_loopback_port());
  init.api = loopback(party.api_port);
  PARLEY_RETURN_IF_ERROR(gateway::init_home(init));
  const fs::path config = party.home / "parley.toml";
  if (!options.heartbeat.empty()) {
    // The line init_home wrote: the default interval.
    const std::string written =
        "heartbeat = \"" + format_duration(gateway::Config{}.heartbeat_interval) + "\"";
    PARLEY_RETURN_IF_ERROR(
        replace_config_line(config, written, "heartbeat = \"" + options.heartbeat + "\""));
  }
  PARLEY_RETURN_IF_ERROR(
      replace_config_line(config, "principal_rate = 10\n",
                          "principal_rate = " + std::to_string(options.principal_rate) + "\n"));
  PARLEY_RETURN_IF_ERROR(
      replace_config_line(config, "principal_burst = 20\n",
                          "principal_burst = " + std::to_string(options.principal_burst) + "\n"));
  PARLEY_RETURN_IF_ERROR(
      replace_config_line(config, "backlog_limit = 10000\n",
                          "backlog_limit = " + std::to_string(options.backlog_limit) + "\n"));
  return party;
}

// Pins `other` at `self`, adds self's principal (a fresh token) and the line "hotline".
Status configure(Party& self, const Party& other, const PairOptions& options) {
  PARLEY_ASSIGN_OR_RETURN(gateway::Home other_home, gateway::open_home(other.home));
  PARLEY_ASSIGN_OR_RETURN(gateway::Home home, gateway::open_home(self.home));
  self.operator_token = home.operator_token;
  PARLEY_ASSIGN_OR_RETURN(std::unique_ptr<store::Store> store, gateway::open_store(home));
  wire::Bundle pinned = gateway::bundle_of(other_home);
  if (options.edit_pinned_bundle) options.edit_pinned_bundle(self, pinned);
  PARLEY_RETURN_IF_ERROR(store->put_peer(core::Peer{pinned}));

  self.token = new_token();
  core::Principal principal;
  principal.id = self.principal;
  principal.name = self.principal;
  principal.role = "principal";
  const crypto::Digest hash = crypto::sha256(as_bytes(self.token));
  principal.token_hash.assign(hash.begin(), hash.end());
  PARLEY_RETURN_IF_ERROR(store->put_principal(principal));

  core::Line line;
  line.id = "hotline";
  line.local = self.principal;
  line.remote = {other.id, other.principal};
  return store->put_line(line);
}

// Reaps `party`'s gateway if it has exited; true then (pid -1).
bool reaped(Party& party) {
  int status = 0;
  if (::waitpid(party.pid, &status, WNOHANG) != party.pid) return false;
  party.pid = -1;
  return true;
}

}  // namespace

Result<std::pair<Party, Party>> create_pair(const fs::path& dir, const PairOptions& options) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Status::unavailable("cannot create " + dir.string() + ": " + ec.message());
  PARLEY_ASSIGN_OR_RETURN(Party first, init_party(dir, options.first, options));
  PARLEY_ASSIGN_OR_RETURN(Party second, init_party(dir, options.second, options));
  PARLEY_RETURN_IF_ERROR(configure(first, second, options));
  PARLEY_RETURN_IF_ERROR(configure(second, first, options));
  return std::pair<Party, Party>{std::move(first), std::move(second)};
}

Status spawn(Party& party, const SpawnOptions& options) {
  // Everything the child needs is made before fork: between fork and exec only
  // async-signal-safe calls.
  const std::string binary = options.parley_binary;
  const std::string home = party.home.string();
  const std::string log = party.log.string();
  const bool die_with_parent = options.kill_with_parent;
  const pid_t parent = ::getpid();
  party.spawned = Clock::now();
  const pid_t pid = ::fork();
  if (pid < 0) return Status::unavailable("fork failed");
  if (pid == 0) {
    if (die_with_parent) {
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(127);  // the parent died before prctl
    }
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd >= 0) ::dup2(fd, STDERR_FILENO);
    const int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null >= 0) {
      ::dup2(null, STDIN_FILENO);
      ::dup2(null, STDOUT_FILENO);
    }
    ::execl(binary.c_str(), "parley", "gateway", "--home", home.c_str(),
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  party.pid = pid;
  return Status::ok();
}

Result<Clock::time_point> wait_ready(Party& party, Clock::time_point deadline,
                                     Clock::duration poll) {
  const auto per_request = std::chrono::milliseconds(1000);
  for (;;) {
    Result<net::HttpResponse> r =
        net::http_request("127.0.0.1", party.api_port, "GET", "/readyz", {}, "", per_request);
    const Clock::time_point now = Clock::now();
    if (r.is_ok() && r->status == 200) return now;
    if (party.pid <= 0 || reaped(party)) {
      const std::string last = last_log_line(party.log);
      return Status::unavailable("gateway " + party.id +
                                 " exited before it was ready (log: " + party.log.string() +
                                 (last.empty() ? "" : "; its last line: ") + last + ")");
    }
    if (now >= deadline) {
      return Status::unavailable("gateway " + party.id +
                                 " did not become ready (log: " + party.log.string() + ")");
    }
    std::this_thread::sleep_for(poll);
  }
}

Status start(Party& party, const SpawnOptions& options, Clock::duration limit) {
  PARLEY_RETURN_IF_ERROR(spawn(party, options));
  return wait_ready(party, Clock::now() + limit).status();
}

void kill_hard(Party& party) {
  if (party.pid <= 0) return;
  ::kill(party.pid, SIGKILL);
  int status = 0;
  ::waitpid(party.pid, &status, 0);
  party.pid = -1;
}

void stop(Party& party, Clock::duration grace) {
  if (party.pid <= 0) return;
  ::kill(party.pid, SIGTERM);
  const Clock::time_point deadline = Clock::now() + grace;
  while (Clock::now() < deadline) {
    if (reaped(party)) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  kill_hard(party);
}

Result<std::unique_ptr<store::Store>> open_store(const Party& party) {
  PARLEY_ASSIGN_OR_RETURN(gateway::Home home, gateway::open_home(party.home));
  return gateway::open_store(home);
}

}  // namespace parley::launch
