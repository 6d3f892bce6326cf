#include "testbed.h"

#include <stdlib.h>

#include <cstdlib>
#include <map>

#include "parley/net/net.h"

namespace parley::testing {

namespace fs = std::filesystem;

Result<std::unique_ptr<Testbed>> Testbed::create(const std::string& parley_binary) {
  return create(parley_binary, TestbedOptions{});
}

Result<std::unique_ptr<Testbed>> Testbed::create(const std::string& parley_binary,
                                                 const TestbedOptions& options) {
  std::unique_ptr<Testbed> bed(new Testbed());
  bed->spawn_.parley_binary = parley_binary;
  char tmpl[] = "/tmp/parley-testbed-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) return Status::unavailable("mkdtemp failed");
  bed->dir_ = tmpl;
  PARLEY_ASSIGN_OR_RETURN(bed->parties_, launch::create_pair(bed->dir_, options));
  return bed;
}

Testbed::~Testbed() {
  kill_hard(us());
  kill_hard(ru());
  std::error_code ec;
  if (std::getenv("PARLEY_KEEP_TESTBED") == nullptr) fs::remove_all(dir_, ec);
}

Status Testbed::start(Party& party) { return launch::start(party, spawn_); }

void Testbed::kill_hard(Party& party) { launch::kill_hard(party); }

// A generous grace: the tests that stop a gateway read its store next, and a sanitizer build
// drains slowly.
void Testbed::stop(Party& party) { launch::stop(party, std::chrono::seconds(30)); }

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
