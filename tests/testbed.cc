#include "testbed.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include <sys/wait.h>

#include "parley/crypto/crypto.h"
#include "parley/gateway/home.h"
#include "parley/net/net.h"
#include "parley/store/sqlite/sqlite_store.h"

namespace parley::testing {
namespace {

namespace fs = std::filesystem;

// Replaces the `heartbeat = "..."` line `parley init` wrote in [federation].
Status set_heartbeat(const fs::path& config, const std::string& heartbeat) {
  std::ifstream in(config);
  std::stringstream text;
  text << in.rdbuf();
  std::string s = text.str();
  const std::string line = "heartbeat = \"1s\"";
  const std::size_t at = s.find(line);
  if (at == std::string::npos) return Status::not_found("no heartbeat line in " + config.string());
  s.replace(at, line.size(), "heartbeat = \"" + heartbeat + "\"");
  std::ofstream out(config, std::ios::trunc);
  out << s;
  out.close();
  return out ? Status::ok() : Status::unavailable("cannot write " + config.string());
}

}  // namespace

Result<std::unique_ptr<Testbed>> Testbed::create(const std::string& parley_binary) {
  return create(parley_binary, TestbedOptions{});
}

Result<std::unique_ptr<Testbed>> Testbed::create(const std::string& parley_binary,
                                                 const TestbedOptions& options) {
  std::unique_ptr<Testbed> bed(new Testbed());
  bed->binary_ = parley_binary;
  char tmpl[] = "/tmp/parley-testbed-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) return Status::unavailable("mkdtemp failed");
  bed->dir_ = tmpl;
  const auto party = [&](const char* id, const char* principal, const char* dir) {
    Party p;
    p.id = id;
    p.principal = principal;
    p.home = bed->dir_ / dir;
    return p;
  };
  bed->parties_[0] = party("us-eucom", "saceur", "us");
  bed->parties_[1] = party("ru-genstaff", "cgs", "ru");
  for (Party& p : bed->parties_) {
    gateway::InitOptions init;
    init.home = p.home;
    init.party = p.id;
    init.federation.clear();
    for (int i = 0; i < std::max(1, options.federation_addresses); ++i) {
      PARLEY_ASSIGN_OR_RETURN(const std::uint16_t port, net::free_loopback_port());
      p.federation_ports.push_back(port);
      init.federation.push_back("127.0.0.1:" + std::to_string(port));
    }
    p.federation_port = p.federation_ports.front();
    PARLEY_ASSIGN_OR_RETURN(p.api_port, net::free_loopback_port());
    init.api = "127.0.0.1:" + std::to_string(p.api_port);
    PARLEY_RETURN_IF_ERROR(gateway::init_home(init));
    if (!options.heartbeat.empty()) {
      PARLEY_RETURN_IF_ERROR(set_heartbeat(p.home / "parley.toml", options.heartbeat));
    }
  }
  for (int i = 0; i < 2; ++i) {
    Party& self = bed->parties_[i];
    const Party& other = bed->parties_[1 - i];
    PARLEY_ASSIGN_OR_RETURN(gateway::Home other_home, gateway::open_home(other.home));
    PARLEY_ASSIGN_OR_RETURN(gateway::Home home, gateway::open_home(self.home));
    self.operator_token = home.operator_token;
    PARLEY_ASSIGN_OR_RETURN(std::unique_ptr<store::Store> store,
                            store::open_sqlite_store(home.store_path().string()));
    wire::Bundle pinned = gateway::bundle_of(other_home);
    if (options.edit_pinned_bundle) options.edit_pinned_bundle(self, pinned);
    PARLEY_RETURN_IF_ERROR(store->put_peer(core::Peer{pinned}));
    crypto::SystemRng rng;
    Bytes token(32);
    rng.fill(token);
    self.token = hex_encode(token);
    core::Principal principal;
    principal.id = self.principal;
    const crypto::Digest hash = crypto::sha256(as_bytes(self.token));
    principal.token_hash.assign(hash.begin(), hash.end());
    PARLEY_RETURN_IF_ERROR(store->put_principal(principal));
    core::Line line;
    line.id = "hotline";
    line.local = self.principal;
    line.remote = {other.id, other.principal};
    PARLEY_RETURN_IF_ERROR(store->put_line(line));
  }
  return bed;
}

Testbed::~Testbed() {
  for (Party& p : parties_) kill_hard(p);
  std::error_code ec;
  if (std::getenv("PARLEY_KEEP_TESTBED") == nullptr) fs::remove_all(dir_, ec);
}

Status Testbed::start(Party& party) {
  const fs::path log = dir_ / (party.id + ".log");
  const pid_t pid = ::fork();
  if (pid < 0) return Status::unavailable("fork failed");
  if (pid == 0) {
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (fd >= 0) {
      ::dup2(fd, STDERR_FILENO);
      ::close(fd);
    }
    const std::string home = party.home.string();
    ::execl(binary_.c_str(), "parley", "gateway", "--home", home.c_str(),
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  party.pid = pid;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    Result<net::HttpResponse> r = net::http_request("127.0.0.1", party.api_port, "GET", "/readyz",
                                                    {}, "", std::chrono::seconds(1));
    if (r.is_ok() && r->status == 200) return Status::ok();
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      party.pid = -1;
      return Status::unavailable("gateway " + party.id + " exited at start (log " + log.string() +
                                 ")");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return Status::unavailable("gateway " + party.id + " not ready within 30 s");
}

void Testbed::kill_hard(Party& party) {
  if (party.pid <= 0) return;
  ::kill(party.pid, SIGKILL);
  int status = 0;
  ::waitpid(party.pid, &status, 0);
  party.pid = -1;
}

void Testbed::stop(Party& party) {
  if (party.pid <= 0) return;
  ::kill(party.pid, SIGTERM);
  int status = 0;
  ::waitpid(party.pid, &status, 0);
  party.pid = -1;
}

Result<json::Json> Testbed::call(const Party& party, const std::string& method,
                                 const std::string& path, const std::string& body,
                                 std::chrono::milliseconds timeout) {
  return call_with(party.token, party, method, path, body, timeout);
}

Result<json::Json> Testbed::call_as_operator(const Party& party, const std::string& method,
                                             const std::string& path, const std::string& body,
                                             std::chrono::milliseconds timeout) {
  return call_with(party.operator_token, party, method, path, body, timeout);
}

Result<json::Json> Testbed::call_with(const std::string& token, const Party& party,
                                      const std::string& method, const std::string& path,
                                      const std::string& body, std::chrono::milliseconds timeout) {
  std::map<std::string, std::string> headers = {{"Authorization", "Bearer " + token}};
  if (!body.empty()) headers["Content-Type"] = "application/json";
  PARLEY_ASSIGN_OR_RETURN(
      net::HttpResponse r,
      net::http_request("127.0.0.1", party.api_port, method, path, headers, body, timeout));
  PARLEY_ASSIGN_OR_RETURN(json::Json j, json::parse(r.body));
  if (r.status >= 300) {
    return Status::unavailable("HTTP " + std::to_string(r.status) + ": " + r.body);
  }
  return j;
}

}  // namespace parley::testing
