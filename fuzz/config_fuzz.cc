// libFuzzer target: gateway::parse_config, the reader of parley.toml (toml++ behind one
// adapter that must turn every exception into a Status). A refusal must name the file; a
// config that parses must encode (encode_config) and parse again to an equal Config.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_fixture.h"

#include "parley/gateway/config.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace parley;
  const std::string file = "parley.toml";
  auto config = gateway::parse_config(fuzz::as_text(data, size), file);
  if (!config.is_ok()) {
    fuzz::require(config.status().code() == StatusCode::kInvalidArgument &&
                  config.status().message().starts_with(file + ":"));
    return 0;
  }
  auto again = gateway::parse_config(gateway::encode_config(*config), file);
  fuzz::require(
      again.is_ok() && again->party == config->party && again->lang == config->lang &&
      again->federation_listen == config->federation_listen &&
      again->heartbeat_interval == config->heartbeat_interval &&
      again->test_interval == config->test_interval &&
      again->test_answer_within == config->test_answer_within &&
      again->api_listen == config->api_listen && again->api_tls == config->api_tls &&
      again->api_cert == config->api_cert && again->api_key == config->api_key &&
      again->store_path == config->store_path && again->store_encrypt == config->store_encrypt &&
      again->store_key_file == config->store_key_file && again->log_level == config->log_level &&
      again->timezone == config->timezone && again->principal_rate == config->principal_rate &&
      again->principal_burst == config->principal_burst && again->realert == config->realert);
  return 0;
}
