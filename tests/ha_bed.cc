#include "ha_bed.h"

#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "parley/gateway/config.h"
#include "parley/net/net.h"

namespace parley::testing {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

std::string loopback(std::uint16_t port) { return "127.0.0.1:" + std::to_string(port); }

Result<std::string> read_file(const fs::path& path) {
  std::ifstream in(path);
  if (!in) return Status::unavailable("cannot read " + path.string());
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Rewrites `home`'s parley.toml: listen on `listen` only, advertise both instances, the API on
// `api`, the lease `lease`.
Status configure_instance(const fs::path& home, const std::string& listen,
                          const std::vector<std::string>& advertise, const std::string& api,
                          const std::string& lease) {
  const fs::path file = home / "parley.toml";
  PARLEY_ASSIGN_OR_RETURN(const std::string text, read_file(file));
  PARLEY_ASSIGN_OR_RETURN(gateway::Config config, gateway::parse_config(text, file.string()));
  config.federation_listen = {listen};
  config.federation_advertise = advertise;
  config.api_listen = api;
  PARLEY_ASSIGN_OR_RETURN(config.lease, parse_duration(lease));
  std::ofstream out(file, std::ios::trunc);
  out << gateway::encode_config(config);
  out.close();
  return out ? Status::ok() : Status::unavailable("cannot write " + file.string());
}

}  // namespace

Result<std::unique_ptr<HaBed>> HaBed::create(const std::string& parley_binary,
                                             const std::string& pg_url, const std::string& lease) {
  std::unique_ptr<HaBed> ha(new HaBed());
  ha->parley_binary_ = parley_binary;
  ha->pg_url_ = pg_url;
  TestbedOptions options;
  options.first.store_url = pg_url;
  options.first.federation_addresses = 2;  // a's and b's: the bundle ru pins lists both
  options.heartbeat = "200ms";
  PARLEY_ASSIGN_OR_RETURN(ha->bed_, Testbed::create(parley_binary, options));
  ha->a_ = ha->bed_->us();
  ha->b_ = ha->a_;
  ha->b_.home = ha->bed_->dir() / "us-eucom-b";
  ha->b_.log = ha->bed_->dir() / "us-eucom-b.log";
  ha->a_.log = ha->bed_->dir() / "us-eucom-a.log";
  ha->b_.federation_ports = {ha->a_.federation_ports[1]};
  ha->b_.federation_port = ha->a_.federation_ports[1];
  ha->a_.federation_ports = {ha->a_.federation_ports[0]};
  PARLEY_ASSIGN_OR_RETURN(ha->b_.api_port, net::free_loopback_port());

  // b's home is a copy of a's (keys, TLS identity, operator token, config) with its own
  // addresses; the store is the shared database, not a file in the home.
  std::error_code ec;
  fs::copy(ha->a_.home, ha->b_.home, fs::copy_options::recursive, ec);
  if (ec) return Status::unavailable("cannot copy the home: " + ec.message());
  const std::vector<std::string> advertise = {loopback(ha->a_.federation_port),
                                              loopback(ha->b_.federation_port)};
  PARLEY_RETURN_IF_ERROR(
      configure_instance(ha->a_.home, advertise[0], advertise, loopback(ha->a_.api_port), lease));
  PARLEY_RETURN_IF_ERROR(
      configure_instance(ha->b_.home, advertise[1], advertise, loopback(ha->b_.api_port), lease));
  return ha;
}

HaBed::~HaBed() {
  launch::kill_hard(a_);
  launch::kill_hard(b_);
}

Status HaBed::spawn(Party& party) {
  launch::SpawnOptions options;
  options.parley_binary = parley_binary_;
  return launch::spawn(party, options);
}

std::pair<int, json::Json> HaBed::readyz(const Party& party) {
  Result<net::HttpResponse> r = net::http_request("127.0.0.1", party.api_port, "GET", "/readyz", {},
                                                  "", std::chrono::milliseconds(1000));
  if (!r.is_ok()) return {0, json::Json::object()};
  Result<json::Json> body = json::parse(r->body);
  return {r->status, body.is_ok() ? *body : json::Json::object()};
}

Result<Party*> HaBed::wait_active(std::chrono::milliseconds limit) {
  const auto deadline = Clock::now() + limit;
  do {
    const int a = readyz(a_).first;
    const int b = readyz(b_).first;
    if (a == 200 && b != 200) return &a_;
    if (b == 200 && a != 200) return &b_;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  } while (Clock::now() < deadline);
  return Status::unavailable("no single active us-eucom instance within the limit");
}

Status HaBed::wait_standby(const Party& party, std::chrono::milliseconds limit) {
  const auto deadline = Clock::now() + limit;
  std::pair<int, json::Json> last;
  do {
    last = readyz(party);
    if (last.first == 503 && last.second.value("role", "") == "standby") return Status::ok();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  } while (Clock::now() < deadline);
  return Status::unavailable(
      "instance on api port " + std::to_string(party.api_port) +
      " did not answer /readyz as a standby (last: " + std::to_string(last.first) + " " +
      json::dump(last.second) + "; log: " + party.log.string() + ")");
}

Status HaBed::wait_drained(std::chrono::milliseconds limit) {
  const auto deadline = Clock::now() + limit;
  const auto queued = [&](const Party& party) -> int {
    Result<json::Json> peers = bed_->call_as_operator(party, "GET", "/api/v1/peers");
    if (!peers.is_ok() || !(*peers)["peers"].is_array() || (*peers)["peers"].empty()) return -1;
    return (*peers)["peers"][0].value("queued", -1);
  };
  do {
    Result<Party*> active = wait_active(std::chrono::milliseconds(1000));
    if (active.is_ok() && queued(**active) == 0 && queued(ru()) == 0) return Status::ok();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  } while (Clock::now() < deadline);
  return Status::unavailable("the queues did not drain within the limit");
}

Result<json::Json> HaBed::call(const Party& party, const std::string& method,
                               const std::string& path, const std::string& body) {
  return bed_->call(party, method, path, body, std::chrono::seconds(5));
}

Status HaBed::export_and_verify(const fs::path& home, const std::string& peer,
                                const std::string& name) {
  const fs::path out = bed_->dir() / name;
  const std::string log = (bed_->dir() / (name + ".out")).string();
  const std::string exported = parley_binary_ + " transcript export --home " + home.string() +
                               " --peer " + peer + " " + out.string() + " >" + log + " 2>&1";
  if (std::system(exported.c_str()) != 0) return Status::unavailable("export failed: " + log);
  const std::string verify = parley_binary_ + " verify " + out.string() + " >>" + log + " 2>&1";
  if (std::system(verify.c_str()) != 0) return Status::data_loss("verify failed: " + log);
  return Status::ok();
}

std::string HaBed::log_of(const Party& party) const {
  Result<std::string> text = read_file(party.log);
  return text.is_ok() ? *text : std::string();
}

}  // namespace parley::testing
