// Testbed: two real `parley gateway` processes on loopback, for tests that kill, restart
// and count. Each party has a home in a temporary directory, one principal, and the line
// "hotline" to the other party. Gateways are child processes of the test; they are
// killed when the Testbed is destroyed.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <sys/types.h>

#include "parley/base/json.h"
#include "parley/base/status.h"
#include "parley/wire/wire.h"

namespace parley::testing {

struct Party {
  std::string id;
  std::string principal;
  std::filesystem::path home;
  std::uint16_t federation_port = 0;            // the primary: federation_ports[0]
  std::vector<std::uint16_t> federation_ports;  // every federation.listen port, primary first
  std::uint16_t api_port = 0;
  std::string token;           // the principal's
  std::string operator_token;  // the home's (gateway-wide views: /api/v1/peers, /metrics)
  pid_t pid = -1;
};

struct TestbedOptions {
  int federation_addresses = 1;  // per party, all on 127.0.0.1
  std::string heartbeat;         // [federation] heartbeat in both configs; empty: the default
  // Called before `self` pins `peer`: may rewrite the pinned copy of the peer's bundle (e.g.
  // its federation addresses, to reach the peer's primary through a proxy).
  std::function<void(const Party& self, wire::Bundle& peer)> edit_pinned_bundle;
};

class Testbed {
 public:
  // Makes the two homes (us-eucom/saceur and ru-genstaff/cgs) and pins each other.
  static Result<std::unique_ptr<Testbed>> create(const std::string& parley_binary);
  static Result<std::unique_ptr<Testbed>> create(const std::string& parley_binary,
                                                 const TestbedOptions& options);
  ~Testbed();

  Party& us() { return parties_[0]; }
  Party& ru() { return parties_[1]; }

  Status start(Party& party);    // spawn `parley gateway` and wait for /readyz
  void kill_hard(Party& party);  // SIGKILL, reaped
  void stop(Party& party);       // SIGTERM, reaped

  // One API call as the party's principal; JSON answer or the error.
  Result<json::Json> call(const Party& party, const std::string& method, const std::string& path,
                          const std::string& body = "",
                          std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // The same with the operator token (GET /api/v1/peers is gateway-wide).
  Result<json::Json> call_as_operator(const Party& party, const std::string& method,
                                      const std::string& path, const std::string& body = "",
                                      std::chrono::milliseconds timeout = std::chrono::seconds(10));
  const std::filesystem::path& dir() const { return dir_; }

 private:
  Testbed() = default;
  Result<json::Json> call_with(const std::string& token, const Party& party,
                               const std::string& method, const std::string& path,
                               const std::string& body, std::chrono::milliseconds timeout);
  std::string binary_;
  std::filesystem::path dir_;
  Party parties_[2];
};

}  // namespace parley::testing
