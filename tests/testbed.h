// Testbed: two real `parley gateway` processes on loopback, for tests that kill, restart
// and count, set up by the launcher (parley/launch/launch.h) that `parley demo` and bench/
// use too. Each party has a home in a temporary directory, one principal, and the line
// "hotline" to the other party. Gateways are child processes of the test; they are
// killed when the Testbed is destroyed.
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>

#include "parley/base/json.h"
#include "parley/base/status.h"
#include "parley/launch/launch.h"

namespace parley::testing {

using Party = launch::Party;
// Party ids, federation addresses per party, heartbeat, the pinned-bundle hook, log dir.
using TestbedOptions = launch::PairOptions;

class Testbed {
 public:
  // Makes the two homes (us-eucom/saceur and ru-genstaff/cgs) and pins each other.
  static Result<std::unique_ptr<Testbed>> create(const std::string& parley_binary);
  static Result<std::unique_ptr<Testbed>> create(const std::string& parley_binary,
                                                 const TestbedOptions& options);
  ~Testbed();

  Party& us() { return parties_.first; }
  Party& ru() { return parties_.second; }

  Status start(Party& party);    // spawn `parley gateway` and wait for /readyz
  void kill_hard(Party& party);  // SIGKILL, reaped
  void stop(Party& party);       // SIGTERM, reaped (SIGKILL if it has not exited in 30 s)

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
  launch::SpawnOptions spawn_;
  std::filesystem::path dir_;
  std::pair<Party, Party> parties_;
};

}  // namespace parley::testing
