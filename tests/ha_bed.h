// HaBed: a party with a standby gateway, on real processes and a real PostgreSQL. us-eucom
// runs two `parley gateway` instances (a, b) that share one PostgreSQL schema (a fresh one on
// the tests' server, pg_test_server.h) and the party's keys: b's home is a copy of a's with its
// own federation and API addresses (docs/operations.md "Standby gateways"). The bundle that
// ru-genstaff pins lists both federation addresses. ru-genstaff runs one gateway on SQLite.
// Shared by tests/ha_standby_test.cc and bench/ (ha.takeover).
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>

#include "testbed.h"

#include "parley/base/json.h"
#include "parley/base/status.h"

namespace parley::testing {

class HaBed {
 public:
  // `lease`: the instances' [store] lease ("2s"). `pg_url`: the shared schema.
  static Result<std::unique_ptr<HaBed>> create(const std::string& parley_binary,
                                               const std::string& pg_url, const std::string& lease);
  ~HaBed();

  Party& a() { return a_; }
  Party& b() { return b_; }
  Party& ru() { return bed_->ru(); }
  Testbed& bed() { return *bed_; }
  const std::string& pg_url() const { return pg_url_; }

  Status spawn(Party& party);
  // GET /readyz: its HTTP status and body (status 0 if nothing answers).
  std::pair<int, json::Json> readyz(const Party& party);
  // Polls until one of a and b answers /readyz 200 (and the other does not), within `limit`.
  Result<Party*> wait_active(std::chrono::milliseconds limit);
  // Polls until `party` answers /readyz 503 with role "standby", within `limit`.
  Status wait_standby(const Party& party, std::chrono::milliseconds limit);
  // Polls until the peer ru-genstaff has nothing queued to us-eucom and the active instance
  // nothing queued to ru-genstaff, within `limit`.
  Status wait_drained(std::chrono::milliseconds limit);

  // One API call as `party`'s principal.
  Result<json::Json> call(const Party& party, const std::string& method, const std::string& path,
                          const std::string& body = "");
  // `parley transcript export` of `home` for `peer`, then `parley verify`; OK if both exit 0.
  Status export_and_verify(const std::filesystem::path& home, const std::string& peer,
                           const std::string& name);
  // The text of `party`'s log so far.
  std::string log_of(const Party& party) const;

 private:
  HaBed() = default;
  std::string parley_binary_;
  std::string pg_url_;
  std::unique_ptr<Testbed> bed_;
  Party a_;
  Party b_;
};

}  // namespace parley::testing
