// Testbed: two real `parley gateway` processes on loopback, for tests that kill, restart
// and count. Each party has a home in a temporary directory, one principal, and the line
// "hotline" to the other party. Gateways are child processes of the test; they are
// killed when the Testbed is destroyed.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>

#include <sys/types.h>

#include "parley/base/json.h"
#include "parley/base/status.h"

namespace parley::testing {

struct Party {
  std::string id;
  std::string principal;
  std::filesystem::path home;
  std::uint16_t federation_port = 0;
  std::uint16_t api_port = 0;
  std::string token;
  pid_t pid = -1;
};

class Testbed {
 public:
  // Makes the two homes (us-eucom/saceur and ru-genstaff/cgs) and pins each other.
  static Result<std::unique_ptr<Testbed>> create(const std::string& parley_binary);
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
  const std::filesystem::path& dir() const { return dir_; }

 private:
  Testbed() = default;
  std::string binary_;
  std::filesystem::path dir_;
  Party parties_[2];
};

}  // namespace parley::testing
