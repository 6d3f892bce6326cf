#include "parley/gateway/config.h"

#include <algorithm>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <initializer_list>
#include <optional>

#include <fmt/format.h>
#include <toml++/toml.h>

#include "parley/wire/wire.h"

namespace parley::gateway {
namespace {

bool is_valid_lang(std::string_view lang) {
  if (lang.size() < 2 || lang.size() > 8) return false;
  for (char c : lang) {
    if (!((c >= 'a' && c <= 'z') || c == '-')) return false;
  }
  return true;
}

bool is_valid_log_level(std::string_view level) {
  return level == "trace" || level == "debug" || level == "info" || level == "warn" ||
         level == "error";
}

// Errors of one config file, each "<file>:<line>: <reason>".
class ConfigReader {
 public:
  explicit ConfigReader(const std::string& file) : file_(file) {}

  Status error_at(const toml::source_region& where, std::string_view reason) const {
    return Status::invalid_argument(fmt::format("{}:{}: {}", file_, where.begin.line, reason));
  }

  // The string at `node`, or an error naming `name`.
  Result<std::string> string_of(const toml::node& node, std::string_view name) const {
    const auto* s = node.as_string();
    if (s == nullptr) {
      return error_at(node.source(), fmt::format("{} must be a string", name));
    }
    return s->get();
  }

  // Checks that every key of `table` is in `allowed`; `prefix` names the table in errors.
  Status check_keys(const toml::table& table, std::string_view prefix,
                    std::initializer_list<std::string_view> allowed) const {
    for (const auto& [key, node] : table) {
      bool known = false;
      for (std::string_view a : allowed) known = known || key.str() == a;
      if (!known) {
        const std::string name =
            prefix.empty() ? std::string(key.str()) : fmt::format("{}.{}", prefix, key.str());
        std::string list;
        for (std::string_view a : allowed)
          list += list.empty() ? std::string(a) : ", " + std::string(a);
        return error_at(key.source(),
                        fmt::format("unknown key '{}' (expected one of: {})", name, list));
      }
      (void)node;
    }
    return Status::ok();
  }

  // The non-empty array of "HOST:PORT" at `node`, or an error naming `name`.
  Result<std::vector<std::string>> addresses_of(const toml::node& node,
                                                std::string_view name) const {
    const toml::array* addresses = node.as_array();
    if (addresses == nullptr) {
      return error_at(node.source(), fmt::format("{} must be an array of \"HOST:PORT\"", name));
    }
    if (addresses->empty()) {
      return error_at(node.source(), fmt::format("{} must hold at least one address", name));
    }
    std::vector<std::string> out;
    for (const toml::node& element : *addresses) {
      PARLEY_ASSIGN_OR_RETURN(std::string address,
                              string_of(element, fmt::format("each {} address", name)));
      const Result<wire::HostPort> parsed = wire::parse_host_port(address);
      if (!parsed.is_ok()) {
        return error_at(element.source(), fmt::format("{}: {}", name, parsed.status().message()));
      }
      out.push_back(std::move(address));
    }
    return out;
  }

  // The duration string at `node` ("1s"), within [min, max] (`range` says so in errors).
  Result<Duration> duration_of(const toml::node& node, std::string_view name, Duration min,
                               Duration max, std::string_view range) const {
    PARLEY_ASSIGN_OR_RETURN(const std::string text, string_of(node, name));
    const Result<Duration> value = parse_duration(text);
    if (!value.is_ok()) {
      return error_at(node.source(), fmt::format("{}: {}", name, value.status().message()));
    }
    if (*value < min || *value > max) {
      return error_at(node.source(),
                      fmt::format("{} '{}' is out of range ({})", name, text, range));
    }
    return *value;
  }

  // The table at `root[name]`, or nullptr if absent; an error if it is not a table.
  Result<const toml::table*> table_of(const toml::table& root, std::string_view name) const {
    const toml::node* node = root.get(name);
    if (node == nullptr) return static_cast<const toml::table*>(nullptr);
    const toml::table* table = node->as_table();
    if (table == nullptr) return error_at(node->source(), fmt::format("{} must be a table", name));
    return table;
  }

 private:
  const std::string& file_;
};

// federation.test_interval ("0" or 0 for none, or 1s to 7d) and federation.test_answer_within (1s
// to 1d).
Status read_line_test(const ConfigReader& r, const toml::table& federation, Config& config) {
  if (const toml::node* interval = federation.get("test_interval")) {
    // "0" or 0: off.
    const bool zero = (interval->is_string() && interval->as_string()->get() == "0") ||
                      (interval->is_integer() && interval->as_integer()->get() == 0);
    if (zero) {
      config.test_interval = Duration::zero();
    } else {
      PARLEY_ASSIGN_OR_RETURN(
          config.test_interval,
          r.duration_of(*interval, "federation.test_interval", std::chrono::seconds(1),
                        std::chrono::days(7), "\"0\" for none, or 1s to 7d"));
    }
  }
  if (const toml::node* within = federation.get("test_answer_within")) {
    PARLEY_ASSIGN_OR_RETURN(
        config.test_answer_within,
        r.duration_of(*within, "federation.test_answer_within", std::chrono::seconds(1),
                      std::chrono::days(1), "1s to 1d"));
  }
  return Status::ok();
}

// api.principal_rate (a number, requests per second, 0.01 to 100000) and
// api.principal_burst (an integer, 1 to 100000).
Status read_rate_limit(const ConfigReader& r, const toml::table& api, Config& config) {
  if (const toml::node* rate = api.get("principal_rate")) {
    const std::optional<double> v = rate->value<double>();
    if (!v || !(*v >= 0.01 && *v <= 100000)) {
      return r.error_at(rate->source(),
                        "api.principal_rate must be a number of requests per second, 0.01 to "
                        "100000");
    }
    config.principal_rate = *v;
  }
  if (const toml::node* burst = api.get("principal_burst")) {
    const std::optional<std::int64_t> v =
        burst->is_integer() ? burst->value<std::int64_t>() : std::nullopt;
    if (!v || *v < 1 || *v > 100000) {
      return r.error_at(burst->source(), "api.principal_burst must be an integer, 1 to 100000");
    }
    config.principal_burst = static_cast<int>(*v);
  }
  return Status::ok();
}

// A path in [api] (cert, key): a non-empty string without NUL.
Result<std::string> path_of(const ConfigReader& r, const toml::node& node, std::string_view name) {
  PARLEY_ASSIGN_OR_RETURN(std::string path, r.string_of(node, name));
  if (path.empty() || path.find('\0') != std::string::npos) {
    return r.error_at(node.source(), fmt::format("{} must be a non-empty path", name));
  }
  return path;
}

// [store] encrypt and key_file (docs/operations.md "The store at rest"): both for a SQLite
// store only (PostgreSQL's data at rest is the server's); key_file absolute and not with
// encrypt = false. Where the file is and its mode are checked when the store is opened.
Status read_store_key(const ConfigReader& r, const toml::table& store, Config& config) {
  const bool postgres = store.get("url") != nullptr;
  if (const toml::node* encrypt = store.get("encrypt")) {
    const std::optional<bool> on = encrypt->is_boolean() ? encrypt->value<bool>() : std::nullopt;
    if (!on) return r.error_at(encrypt->source(), "store.encrypt must be true or false");
    if (postgres) {
      return r.error_at(encrypt->source(),
                        "store.encrypt is for a SQLite store (PostgreSQL's data at rest is the "
                        "server's to encrypt)");
    }
    config.store_encrypt = *on;
  }
  if (const toml::node* key_file = store.get("key_file")) {
    config.store_key_file_line = static_cast<int>(key_file->source().begin.line);
    if (postgres) {
      return r.error_at(key_file->source(), "store.key_file is for a SQLite store, not with url");
    }
    PARLEY_ASSIGN_OR_RETURN(config.store_key_file, path_of(r, *key_file, "store.key_file"));
    if (!std::filesystem::path(config.store_key_file).is_absolute()) {
      return r.error_at(key_file->source(),
                        "store.key_file must be an absolute path, outside the home (the key is "
                        "kept apart from the store it opens)");
    }
    if (!config.store_encrypt) {
      return r.error_at(key_file->source(), "store.key_file with store.encrypt = false");
    }
  }
  return Status::ok();
}

// [api]: listen, tls, cert, key and the rate limit. Plain HTTP only on loopback (DESIGN.md
// "HTTP API"): a listen address elsewhere without tls = true is refused here, so that no
// gateway ever starts that way and `parley check` says why.
Status read_api(const ConfigReader& r, const toml::table& api, Config& config) {
  PARLEY_RETURN_IF_ERROR(r.check_keys(
      api, "api", {"listen", "tls", "cert", "key", "principal_rate", "principal_burst"}));
  PARLEY_RETURN_IF_ERROR(read_rate_limit(r, api, config));
  if (const toml::node* tls = api.get("tls")) {
    const std::optional<bool> on = tls->is_boolean() ? tls->value<bool>() : std::nullopt;
    if (!on) return r.error_at(tls->source(), "api.tls must be true or false");
    config.api_tls = *on;
  }
  if (const toml::node* cert = api.get("cert")) {
    PARLEY_ASSIGN_OR_RETURN(config.api_cert, path_of(r, *cert, "api.cert"));
  }
  if (const toml::node* key = api.get("key")) {
    PARLEY_ASSIGN_OR_RETURN(config.api_key, path_of(r, *key, "api.key"));
  }
  const toml::node* listen = api.get("listen");
  if (listen == nullptr) return Status::ok();
  PARLEY_ASSIGN_OR_RETURN(config.api_listen, r.string_of(*listen, "api.listen"));
  const Result<wire::HostPort> parsed = wire::parse_host_port(config.api_listen);
  if (!parsed.is_ok()) {
    return r.error_at(listen->source(), fmt::format("api.listen: {}", parsed.status().message()));
  }
  if (!config.api_tls && !is_loopback_host(parsed->host)) {
    return r.error_at(listen->source(),
                      fmt::format("api.listen '{}' is not a loopback address: the API is served "
                                  "there only over TLS (set api.tls = true; docs/operations.md, "
                                  "\"TLS on the API\")",
                                  config.api_listen));
  }
  return Status::ok();
}

// [escalation]: each precedence's re-alert cadence (core/escalation.h), 1s to 24h.
Status read_escalation(const ConfigReader& r, const toml::table& root, Config& config) {
  PARLEY_ASSIGN_OR_RETURN(const toml::table* escalation, r.table_of(root, "escalation"));
  if (escalation != nullptr) {
    PARLEY_RETURN_IF_ERROR(
        r.check_keys(*escalation, "escalation", {"flash", "immediate", "priority", "routine"}));
    const std::pair<const char*, Duration*> cadences[] = {{"flash", &config.realert.flash},
                                                          {"immediate", &config.realert.immediate},
                                                          {"priority", &config.realert.priority},
                                                          {"routine", &config.realert.routine}};
    for (const auto& [key, value] : cadences) {
      const toml::node* node = escalation->get(key);
      if (node == nullptr) continue;
      PARLEY_ASSIGN_OR_RETURN(
          *value, r.duration_of(*node, std::string("escalation.") + key, std::chrono::seconds(1),
                                std::chrono::hours(24), "1s to 24h"));
    }
  }
  return Status::ok();
}

Result<Config> config_from_table(const toml::table& root, const std::string& file) {
  const ConfigReader r(file);
  Config config;
  PARLEY_RETURN_IF_ERROR(
      r.check_keys(root, "", {"party", "federation", "api", "store", "log", "escalation"}));

  // [party]
  PARLEY_ASSIGN_OR_RETURN(const toml::table* party, r.table_of(root, "party"));
  if (party == nullptr) {
    return Status::invalid_argument(fmt::format("{}:1: missing table [party]", file));
  }
  PARLEY_RETURN_IF_ERROR(r.check_keys(*party, "party", {"id", "lang", "timezone"}));
  const toml::node* id = party->get("id");
  if (id == nullptr) return r.error_at(party->source(), "missing key party.id");
  PARLEY_ASSIGN_OR_RETURN(config.party, r.string_of(*id, "party.id"));
  if (!wire::is_valid_id(config.party)) {
    return r.error_at(id->source(),
                      fmt::format("bad party.id '{}' (1-64 characters of a-z, 0-9 and '-', "
                                  "starting with a letter or digit)",
                                  config.party));
  }
  if (const toml::node* lang = party->get("lang")) {
    PARLEY_ASSIGN_OR_RETURN(config.lang, r.string_of(*lang, "party.lang"));
    const Status lang_ok = check_lang(config.lang);
    if (!lang_ok.is_ok()) return r.error_at(lang->source(), lang_ok.message());
  }
  if (const toml::node* timezone = party->get("timezone")) {
    PARLEY_ASSIGN_OR_RETURN(config.timezone, r.string_of(*timezone, "party.timezone"));
    const Status zone_ok = check_timezone_name(config.timezone);
    if (!zone_ok.is_ok()) return r.error_at(timezone->source(), zone_ok.message());
    config.timezone_line = static_cast<int>(timezone->source().begin.line);
  }

  // [federation]
  PARLEY_ASSIGN_OR_RETURN(const toml::table* federation, r.table_of(root, "federation"));
  if (federation == nullptr) {
    return Status::invalid_argument(fmt::format("{}:1: missing table [federation]", file));
  }
  PARLEY_RETURN_IF_ERROR(
      r.check_keys(*federation, "federation",
                   {"listen", "advertise", "heartbeat", "window", "test_interval",
                    "test_answer_within", "backlog_limit", "verify_threads"}));
  const toml::node* listen = federation->get("listen");
  if (listen == nullptr) return r.error_at(federation->source(), "missing key federation.listen");
  PARLEY_ASSIGN_OR_RETURN(config.federation_listen, r.addresses_of(*listen, "federation.listen"));
  const toml::node* advertise = federation->get("advertise");
  if (advertise != nullptr) {
    PARLEY_ASSIGN_OR_RETURN(config.federation_advertise,
                            r.addresses_of(*advertise, "federation.advertise"));
  }
  if (Status published =
          check_published_addresses(config.federation_listen, config.federation_advertise);
      !published.is_ok()) {
    return r.error_at(advertise != nullptr ? advertise->source() : listen->source(),
                      published.message());
  }
  if (const toml::node* heartbeat = federation->get("heartbeat")) {
    PARLEY_ASSIGN_OR_RETURN(
        config.heartbeat_interval,
        r.duration_of(*heartbeat, "federation.heartbeat", std::chrono::milliseconds(100),
                      std::chrono::minutes(10), "100ms to 10m"));
  }
  if (const toml::node* window = federation->get("window")) {
    const std::optional<std::int64_t> v =
        window->is_integer() ? window->value<std::int64_t>() : std::nullopt;
    if (!v || *v < 1 || *v > 64) {
      return r.error_at(window->source(),
                        "federation.window must be an integer, 1 to 64 transactions in flight");
    }
    config.window = static_cast<int>(*v);
  }
  PARLEY_RETURN_IF_ERROR(read_line_test(r, *federation, config));
  if (const toml::node* limit = federation->get("backlog_limit")) {
    const std::optional<std::int64_t> v =
        limit->is_integer() ? limit->value<std::int64_t>() : std::nullopt;
    if (!v || *v < 0 || *v > 10'000'000) {
      return r.error_at(limit->source(),
                        "federation.backlog_limit must be an integer, 0 (no bound) to 10000000");
    }
    config.backlog_limit = static_cast<std::size_t>(*v);
  }
  if (const toml::node* threads = federation->get("verify_threads")) {
    const std::optional<std::int64_t> v =
        threads->is_integer() ? threads->value<std::int64_t>() : std::nullopt;
    if (!v || *v < 0 || *v > 64) {
      return r.error_at(threads->source(),
                        "federation.verify_threads must be an integer, 0 (none: checks on the "
                        "gateway's thread) to 64");
    }
    config.verify_threads = static_cast<int>(*v);
  }

  // [api]
  PARLEY_ASSIGN_OR_RETURN(const toml::table* api, r.table_of(root, "api"));
  if (api != nullptr) {
    PARLEY_RETURN_IF_ERROR(read_api(r, *api, config));
  }

  // [store]
  PARLEY_ASSIGN_OR_RETURN(const toml::table* store, r.table_of(root, "store"));
  if (store != nullptr) {
    PARLEY_RETURN_IF_ERROR(
        r.check_keys(*store, "store", {"path", "url", "lease", "encrypt", "key_file"}));
    config.store_line = static_cast<int>(store->source().begin.line);
    const toml::node* path = store->get("path");
    if (path != nullptr) {
      PARLEY_ASSIGN_OR_RETURN(config.store_path, r.string_of(*path, "store.path"));
      if (config.store_path.empty() || config.store_path.find('\0') != std::string::npos) {
        return r.error_at(path->source(), "store.path must be a non-empty path");
      }
    }
    if (const toml::node* url = store->get("url")) {
      if (path != nullptr) {
        return r.error_at(url->source(),
                          "store.url and store.path are exclusive (PostgreSQL or SQLite)");
      }
      PARLEY_ASSIGN_OR_RETURN(config.store_url, r.string_of(*url, "store.url"));
      // As store::is_postgres_url (this library stays free of the store's).
      const bool postgres = config.store_url.rfind("postgresql://", 0) == 0 ||
                            config.store_url.rfind("postgres://", 0) == 0;
      if (!postgres || config.store_url.find('\0') != std::string::npos) {
        return r.error_at(url->source(), "store.url must be a postgresql:// URL");
      }
    }
    PARLEY_RETURN_IF_ERROR(read_store_key(r, *store, config));
    if (const toml::node* lease = store->get("lease")) {
      PARLEY_ASSIGN_OR_RETURN(config.lease,
                              r.duration_of(*lease, "store.lease", std::chrono::seconds(1),
                                            std::chrono::minutes(10), "1s to 10m"));
    }
  }

  // [log]
  PARLEY_ASSIGN_OR_RETURN(const toml::table* log, r.table_of(root, "log"));
  if (log != nullptr) {
    PARLEY_RETURN_IF_ERROR(r.check_keys(*log, "log", {"level"}));
    if (const toml::node* level = log->get("level")) {
      PARLEY_ASSIGN_OR_RETURN(config.log_level, r.string_of(*level, "log.level"));
      if (!is_valid_log_level(config.log_level)) {
        return r.error_at(
            level->source(),
            fmt::format("bad log.level '{}' (trace, debug, info, warn, error)", config.log_level));
      }
    }
  }

  PARLEY_RETURN_IF_ERROR(read_escalation(r, root, config));
  return config;
}

}  // namespace

bool is_loopback_host(std::string_view host) {
  if (host == "localhost" || host == "::1") return true;
  // Four decimal octets, the first 127.
  if (host.substr(0, 4) != "127.") return false;
  int octets = 0;
  std::size_t i = 0;
  while (i <= host.size()) {
    const std::size_t end = std::min(host.find('.', i), host.size());
    const std::string_view octet = host.substr(i, end - i);
    if (octet.empty() || octet.size() > 3) return false;
    int value = 0;
    for (char c : octet) {
      if (c < '0' || c > '9') return false;
      value = value * 10 + (c - '0');
    }
    if (value > 255) return false;
    ++octets;
    i = end + 1;
  }
  return octets == 4;
}

bool is_wildcard_host(std::string_view host) {
  if (host == "0.0.0.0") return true;
  // IPv6: only zeros and colons, with at least one colon.
  return host.find(':') != std::string_view::npos &&
         host.find_first_not_of(":0") == std::string_view::npos;
}

Status check_published_addresses(const std::vector<std::string>& listen,
                                 const std::vector<std::string>& advertise) {
  for (const std::string& address : advertise) {
    const Result<wire::HostPort> parsed = wire::parse_host_port(address);
    if (parsed.is_ok() && is_wildcard_host(parsed->host)) {
      return Status::invalid_argument(fmt::format(
          "federation.advertise '{}' is a wildcard address, which no peer can reach: advertise "
          "the address(es) peers reach this gateway at",
          address));
    }
  }
  if (!advertise.empty()) return Status::ok();
  for (const std::string& address : listen) {
    const Result<wire::HostPort> parsed = wire::parse_host_port(address);
    if (parsed.is_ok() && is_wildcard_host(parsed->host)) {
      return Status::invalid_argument(fmt::format(
          "federation.listen '{}' is a wildcard address, which no peer can reach, and the "
          "bundle publishes the listen addresses unless federation.advertise is set: set "
          "federation.advertise to the address(es) peers reach this gateway at (parley init "
          "--advertise HOST:PORT)",
          address));
    }
  }
  return Status::ok();
}

Status check_lang(std::string_view lang) {
  if (is_valid_lang(lang)) return Status::ok();
  return Status::invalid_argument(
      fmt::format("bad lang '{}' (2-8 characters of a-z and '-', e.g. en, ru)", lang));
}

Status check_timezone_name(std::string_view name) {
  const Status bad = Status::invalid_argument(fmt::format(
      "bad timezone '{}' (an IANA name such as Europe/Brussels, UTC, or UTC+01:00)", name));
  if (name.empty() || name.size() > 64 || name.front() == '/' ||
      name.find("..") != std::string_view::npos) {
    return bad;
  }
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-' || c == '+' || c == '/' || c == ':';
    if (!ok) return bad;
  }
  return Status::ok();
}

std::string toml_quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20 || u == 0x7f) {
      out += fmt::format("\\u{:04X}", u);
    } else {
      out += c;
    }
  }
  out += '"';
  return out;
}

Result<Config> parse_config(std::string_view toml_text, const std::string& file) {
  toml::table root;
  try {
    root = toml::parse(toml_text, file);
  } catch (const toml::parse_error& e) {
    return Status::invalid_argument(
        fmt::format("{}:{}: {}", file, e.source().begin.line, e.description()));
  } catch (const std::exception& e) {
    return Status::invalid_argument(fmt::format("{}: {}", file, e.what()));
  }
  return config_from_table(root, file);
}

std::string encode_config(const Config& config) {
  std::string federation;
  for (const std::string& address : config.federation_listen) {
    if (!federation.empty()) federation += ", ";
    federation += toml_quote(address);
  }
  // Empty means "as listen": written only when set, so that the round trip keeps it empty.
  std::string advertise;
  for (const std::string& address : config.federation_advertise) {
    advertise += advertise.empty() ? "advertise = [" : ", ";
    advertise += toml_quote(address);
  }
  if (!advertise.empty()) advertise += "]\n";
  std::string store = config.store_url.empty() ? "path = " + toml_quote(config.store_path)
                                               : "url = " + toml_quote(config.store_url);
  if (config.store_url.empty()) {
    store += config.store_encrypt ? "\nencrypt = true" : "\nencrypt = false";
    if (!config.store_key_file.empty())
      store += "\nkey_file = " + toml_quote(config.store_key_file);
  }
  return fmt::format(
      "[party]\nid = {}\nlang = {}\ntimezone = {}\n[federation]\nlisten = [{}]\n{}heartbeat = {}\n"
      "window = {}\ntest_interval = {}\ntest_answer_within = {}\nbacklog_limit = {}\n{}"
      "[api]\nlisten = {}\ntls = {}\ncert = {}\nkey = {}\nprincipal_rate = {}\nprincipal_burst = "
      "{}\n[store]\n{}\nlease = {}\n"
      "[log]\nlevel = {}\n[escalation]\nflash = {}\nimmediate = {}\npriority = {}\nroutine = {}\n",
      toml_quote(config.party), toml_quote(config.lang), toml_quote(config.timezone), federation,
      advertise, toml_quote(format_duration(config.heartbeat_interval)), config.window,
      toml_quote(config.test_interval == Duration::zero() ? std::string("0")
                                                          : format_duration(config.test_interval)),
      toml_quote(format_duration(config.test_answer_within)), config.backlog_limit,
      config.verify_threads < 0 ? std::string()
                                : fmt::format("verify_threads = {}\n", config.verify_threads),
      toml_quote(config.api_listen), config.api_tls, toml_quote(config.api_cert),
      toml_quote(config.api_key), config.principal_rate, config.principal_burst, store,
      toml_quote(format_duration(config.lease)), toml_quote(config.log_level),
      toml_quote(format_duration(config.realert.flash)),
      toml_quote(format_duration(config.realert.immediate)),
      toml_quote(format_duration(config.realert.priority)),
      toml_quote(format_duration(config.realert.routine)));
}

std::vector<std::string> keys_needing_restart(const Config& running, const Config& fresh) {
  std::vector<std::string> keys;
  const auto changed = [&keys](bool differs, const char* key) {
    if (differs) keys.emplace_back(key);
  };
  changed(running.party != fresh.party, "party.id");
  changed(running.lang != fresh.lang, "party.lang");
  changed(running.federation_listen != fresh.federation_listen, "federation.listen");
  changed(running.federation_advertise != fresh.federation_advertise, "federation.advertise");
  changed(running.heartbeat_interval != fresh.heartbeat_interval, "federation.heartbeat");
  changed(running.test_interval != fresh.test_interval, "federation.test_interval");
  changed(running.test_answer_within != fresh.test_answer_within, "federation.test_answer_within");
  changed(running.verify_threads != fresh.verify_threads, "federation.verify_threads");
  changed(running.api_listen != fresh.api_listen, "api.listen");
  changed(running.api_tls != fresh.api_tls, "api.tls");
  changed(running.api_cert != fresh.api_cert, "api.cert");
  changed(running.api_key != fresh.api_key, "api.key");
  changed(running.store_path != fresh.store_path, "store.path");
  changed(running.store_url != fresh.store_url, "store.url");
  changed(running.lease != fresh.lease, "store.lease");
  changed(!(running.realert == fresh.realert), "escalation");
  return keys;
}

}  // namespace parley::gateway
