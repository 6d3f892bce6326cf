#include "parley/gateway/home.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <optional>
#include <string_view>
#include <system_error>

#include <fmt/format.h>
#include <sys/stat.h>

#include "parley/base/bytes.h"
#include "parley/gateway/home_files.h"
#include "parley/store/postgres/postgres_store.h"
#include "parley/store/sqlite/sqlite_store.h"

namespace parley::gateway {
namespace fs = std::filesystem;
using namespace home_files;  // the home's files: home_files.h
namespace {

constexpr std::size_t kConfigBytesMax = 1024 * 1024;
constexpr std::size_t kTokenBytes = 32;

constexpr std::string_view kConfigFile = "parley.toml";
constexpr std::string_view kSignKeyFile = "keys/sign.key";
constexpr std::string_view kBoxKeyFile = "keys/box.key";
constexpr std::string_view kTlsKeyFile = "tls/key.pem";
constexpr std::string_view kTlsCertFile = "tls/cert.pem";
// Config's defaults for api.key and api.cert.
constexpr std::string_view kApiKeyFile = "tls/api-key.pem";
constexpr std::string_view kApiCertFile = "tls/api-cert.pem";
constexpr std::string_view kTokenFile = "operator.token";

// The [store] table's body: SQLite in the home, or the PostgreSQL database given to init.
std::string store_config_text(const InitOptions& options) {
  if (options.store_url.empty()) {
    std::string text =
        "# The SQLite store, relative to this directory (or absolute). For PostgreSQL,\n"
        "# replace this table's keys with url = \"postgresql://...\" (docs/operations.md).\n"
        "path = " +
        toml_quote(options.store_path) + "\n";
    if (!options.encrypt)
      return text + "# Not encrypted at rest (parley init --no-encrypt).\nencrypt = false\n";
    return text +
           "# Encrypted at rest (SQLCipher) with the 256-bit key in key_file, kept outside this\n"
           "# directory; under systemd the credential parley-store-key (LoadCredential=) is used\n"
           "# instead (docs/operations.md \"The store at rest\").\n"
           "encrypt = true\nkey_file = " +
           toml_quote(options.store_key_file.string()) + "\n";
  }
  return "# The PostgreSQL store (docs/operations.md \"PostgreSQL store\").\n"
         "url = " +
         toml_quote(options.store_url) + "\n";
}

// The addresses as a TOML array's items: "a:1", "b:2".
std::string toml_addresses(const std::vector<std::string>& addresses) {
  std::string out;
  for (const std::string& address : addresses) {
    if (!out.empty()) out += ", ";
    out += toml_quote(address);
  }
  return out;
}

std::string config_text(const InitOptions& options) {
  const std::string federation = toml_addresses(options.federation);
  const std::string advertise =
      options.advertise.empty()
          ? std::string(
                "# The bundle publishes listen; set advertise to publish other addresses\n"
                "# (needed when listening on 0.0.0.0 or [::]).\n")
          : "# What the bundle publishes instead of listen: where peers reach this gateway.\n"
            "advertise = [" +
                toml_addresses(options.advertise) + "]\n";
  return fmt::format(
      "# parley gateway configuration, written by `parley init`.\n"
      "# An unknown key is an error: a typo is never silently ignored.\n"
      "\n"
      "[party]\n"
      "# This party's id (1-64 characters of a-z, 0-9 and '-'); it is in the bundle.\n"
      "id = {}\n"
      "# The language messages are rendered in for this party's principals.\n"
      "lang = {}\n"
      "# The duty roster's clocks (parley roster): an IANA zone such as \"Europe/Brussels\",\n"
      "# \"UTC\", or a fixed offset such as \"UTC+01:00\". SIGHUP reloads it.\n"
      "timezone = \"UTC\"\n"
      "\n"
      "[federation]\n"
      "# Where this gateway listens for peers (mutual TLS), primary first. Unless advertise\n"
      "# is set, these are the addresses published in this party's bundle: re-share the\n"
      "# bundle after a change.\n"
      "listen = [{}]\n"
      "{}"
      "# A heartbeat goes to every peer on every path this often; a path that misses 3 in a\n"
      "# row is down (the path carrying traffic after 2 while another is up) and traffic\n"
      "# moves to the next one (and back when it recovers).\n"
      "heartbeat = \"200ms\"\n"
      "# Every line exchanges an automatic test message this often (\"0\": none); the peer's\n"
      "# gateway must answer it within test_answer_within, else the test is overdue and the\n"
      "# line's principal is alerted, with signed evidence (docs/operations.md).\n"
      "test_interval = \"1h\"\n"
      "test_answer_within = \"1m\"\n"
      "# Backpressure: while this many messages wait to leave for one peer, new ROUTINE\n"
      "# submissions to it are refused (503, Retry-After); FLASH, IMMEDIATE and PRIORITY are\n"
      "# always accepted. 0: no bound.\n"
      "backlog_limit = 10000\n"
      "\n"
      "[api]\n"
      "# The HTTP API for principals and the console. Plain HTTP only on loopback: anywhere\n"
      "# else tls must be true (docs/operations.md \"TLS on the API\").\n"
      "listen = {}\n"
      "# HTTPS (TLS 1.3 only) with this certificate and key, relative to this directory or\n"
      "# absolute: the self-signed pair `parley init` made (principals pin its fingerprint,\n"
      "# which init printed), or your own.\n"
      "tls = {}\n"
      "cert = \"tls/api-cert.pem\"\n"
      "key = \"tls/api-key.pem\"\n"
      "# Each principal may make principal_rate requests per second, in bursts of\n"
      "# principal_burst; beyond that: 429 with Retry-After. The operator token is not limited.\n"
      "principal_rate = 10\n"
      "principal_burst = 20\n"
      "\n"
      "[store]\n"
      "{}"
      "\n"
      "[escalation]\n"
      "# Once a message's acknowledgment deadline passed, the next principal of its chain\n"
      "# (the addressee, the line's alternates in order, the duty officer of the addressee's\n"
      "# role) is alerted this often per precedence, then all of them again until someone\n"
      "# acknowledges; the sender is told as often (1s to 24h).\n"
      "flash = \"1m\"\n"
      "immediate = \"5m\"\n"
      "priority = \"30m\"\n"
      "routine = \"1h\"\n"
      "\n"
      "[log]\n"
      "# trace, debug, info, warn, error\n"
      "level = \"info\"\n",
      toml_quote(options.party), toml_quote(options.lang), federation, advertise,
      toml_quote(options.api), options.api_tls, store_config_text(options));
}

// Whether `inner` is `outer` or lies inside it, symlinks resolved as far as they exist.
bool is_within(const fs::path& inner, const fs::path& outer) {
  std::error_code ec;
  const fs::path a = fs::weakly_canonical(fs::absolute(inner, ec), ec);
  const fs::path b = fs::weakly_canonical(fs::absolute(outer, ec), ec);
  if (ec || b.empty()) return false;
  auto ai = a.begin();
  for (auto bi = b.begin(); bi != b.end(); ++bi, ++ai) {
    if (bi->empty()) continue;  // a trailing separator
    if (ai == a.end() || *ai != *bi) return false;
  }
  return true;
}

// The SQLite store's path for `config` in the home `dir`.
fs::path sqlite_store_path(const Config& config, const fs::path& dir) {
  const fs::path path(config.store_path);
  return path.is_absolute() ? path : dir / path;
}

// Reads a store key file as load_store_key (home.h) says; `where` begins every error.
Result<Bytes> read_store_key_file(const fs::path& path, const fs::path& dir, const fs::path& store,
                                  const std::string& where) {
  for (const fs::path& data : {dir, store.parent_path()}) {
    if (is_within(path, data)) {
      return Status::failed_precondition(fmt::format(
          "{}: the store key {} is inside the data directory {}: keep it elsewhere (a copy of "
          "the directory must not carry the key that opens it)",
          where, path.string(), data.string()));
    }
  }
  Result<std::string> text = read_file(path, /*secret=*/true, kSecretFileBytesMax);
  if (!text.is_ok()) {
    return Status::failed_precondition(fmt::format("{}: {}", where, text.status().message()));
  }
  Result<Bytes> key = hex_decode(trim(*text));
  crypto::wipe({reinterpret_cast<std::uint8_t*>(text->data()), text->size()});
  if (!key.is_ok() || key->size() != store::kStoreKeySize) {
    if (key.is_ok()) crypto::wipe(*key);
    return Status::failed_precondition(
        fmt::format("{}: the store key {} must hold {} hex digits (a 256-bit key)", where,
                    path.string(), 2 * store::kStoreKeySize));
  }
  return std::move(key).value();
}

// The store key file `parley init` uses: the one given (made absolute), else DIR.store-key
// beside the home.
fs::path init_key_path(const InitOptions& options) {
  std::error_code ec;
  if (!options.store_key_file.empty()) return fs::absolute(options.store_key_file, ec);
  fs::path home = fs::absolute(options.home, ec).lexically_normal();
  if (home.filename().empty()) home = home.parent_path();
  return home.string() + ".store-key";
}

// Makes a store key file with a random key (mode 0600), or, if `path` exists, reads it as
// the gateway will.
Result<Bytes> init_store_key(const fs::path& path, const fs::path& dir, const fs::path& store) {
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    if (is_within(path, dir) || is_within(path, store.parent_path())) {
      return read_store_key_file(path, dir, store, "--store-key");  // says why
    }
    Bytes key(store::kStoreKeySize);
    crypto::SystemRng rng;
    rng.fill(key);
    std::string text = hex_encode(key) + "\n";
    const Status written = write_new_file(path, text, 0600);
    crypto::wipe({reinterpret_cast<std::uint8_t*>(text.data()), text.size()});
    if (!written.is_ok()) {
      crypto::wipe(key);
      return written;
    }
    if (Status synced = sync_dir(path.parent_path()); !synced.is_ok()) {
      crypto::wipe(key);
      return synced;
    }
    return key;
  }
  return read_store_key_file(path, dir, store, "--store-key");
}

std::string base64url_no_padding(ByteView data) {
  std::string s = base64_encode(data);
  while (!s.empty() && s.back() == '=') s.pop_back();
  for (char& c : s) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  return s;
}

Status validate(const InitOptions& options) {
  if (options.home.empty()) return Status::invalid_argument("--home must name a directory");
  if (!wire::is_valid_id(options.party)) {
    return Status::invalid_argument(
        fmt::format("bad party id '{}' (1-64 characters of a-z, 0-9 and '-', starting with a "
                    "letter or digit)",
                    options.party));
  }
  if (options.federation.empty()) {
    return Status::invalid_argument("at least one federation address is needed");
  }
  for (const std::string& address : options.federation) {
    const Result<wire::HostPort> parsed = wire::parse_host_port(address);
    if (!parsed.is_ok()) {
      return parsed.status().with_context("bad --federation");
    }
  }
  for (const std::string& address : options.advertise) {
    const Result<wire::HostPort> parsed = wire::parse_host_port(address);
    if (!parsed.is_ok()) return parsed.status().with_context("bad --advertise");
  }
  PARLEY_RETURN_IF_ERROR(check_published_addresses(options.federation, options.advertise));
  const Result<wire::HostPort> api = wire::parse_host_port(options.api);
  if (!api.is_ok()) {
    return api.status().with_context("bad --api");
  }
  PARLEY_RETURN_IF_ERROR(check_lang(options.lang));
  if (!options.store_url.empty() && !store::is_postgres_url(options.store_url)) {
    return Status::invalid_argument(
        fmt::format("bad --store '{}': a postgresql:// URL", options.store_url));
  }
  return Status::ok();
}

// DIR/parley.toml: written from the options, or a symlink to the operator's config file.
Status write_config(const InitOptions& options, const fs::path& dir) {
  if (options.config_file.empty()) {
    return write_new_file(dir / kConfigFile, config_text(options), 0644);
  }
  std::error_code ec;
  const fs::path target = fs::absolute(options.config_file, ec);
  if (!ec && ::symlink(target.c_str(), (dir / kConfigFile).c_str()) != 0) {
    ec = std::error_code(errno, std::generic_category());
  }
  if (ec) {
    return Status::unavailable(fmt::format("cannot link {} to {}: {}", (dir / kConfigFile).string(),
                                           options.config_file.string(), ec.message()));
  }
  return Status::ok();
}

// `parley init --config FILE`: the options are those of FILE.
Result<InitOptions> with_config_file(InitOptions options) {
  if (options.config_file.empty()) return options;
  const std::string file = options.config_file.string();
  PARLEY_ASSIGN_OR_RETURN(const std::string text,
                          read_file(options.config_file, /*secret=*/false, kConfigBytesMax));
  PARLEY_ASSIGN_OR_RETURN(const Config config, parse_config(text, file));
  options.party = config.party;
  options.federation = config.federation_listen;
  options.advertise = config.federation_advertise;
  options.api = config.api_listen;
  options.api_tls = config.api_tls;
  options.lang = config.lang;
  options.store_url = config.store_url;
  options.store_path = config.store_path;
  options.encrypt = config.store_encrypt;
  options.store_key_file = config.store_key_file;
  return options;
}

// This machine's name, for the API certificate (empty if it has none or is not a DNS name).
std::string this_host_name() {
  std::array<char, 256> name{};
  if (::gethostname(name.data(), name.size() - 1) != 0) return {};
  const std::string host(name.data());
  const bool dns = std::all_of(host.begin(), host.end(), [](unsigned char c) {
    return std::isalnum(c) != 0 || c == '-' || c == '.';
  });
  return dns ? host : std::string();
}

// The API's certificate and key (config.api_tls): both must be there (whether they match is
// checked when the gateway starts serving them: net::listen_https).
Status load_api_tls(Home& home) {
  PARLEY_ASSIGN_OR_RETURN(home.api_tls.cert_pem,
                          read_home_file(home.api_cert_path(), /*secret=*/false));
  PARLEY_ASSIGN_OR_RETURN(home.api_tls.key_pem,
                          read_home_file(home.api_key_path(), /*secret=*/true));
  Result<std::string> fingerprint = net::cert_fingerprint(home.api_tls.cert_pem);
  if (!fingerprint.is_ok()) {
    return Status::data_loss(
        fmt::format("{}: {}", home.api_cert_path().string(), fingerprint.status().message()));
  }
  home.api_fingerprint = *fingerprint;
  return Status::ok();
}

// Writes everything into `dir` (an empty directory, mode 0700).
Status populate(const InitOptions& options, const fs::path& dir) {
  PARLEY_RETURN_IF_ERROR(crypto::init());
  crypto::SystemRng rng;
  crypto::Keys keys = crypto::generate_keys(rng);
  PARLEY_ASSIGN_OR_RETURN(net::TlsIdentity tls, net::make_self_signed(options.party));
  PARLEY_ASSIGN_OR_RETURN(const wire::HostPort api, wire::parse_host_port(options.api));
  PARLEY_ASSIGN_OR_RETURN(
      net::TlsIdentity api_tls,
      net::make_server_certificate(options.party, api_certificate_names(api, this_host_name())));
  std::array<std::uint8_t, kTokenBytes> token{};
  rng.fill(token);

  PARLEY_RETURN_IF_ERROR(make_dir(dir / "keys"));
  PARLEY_RETURN_IF_ERROR(make_dir(dir / "tls"));
  std::string sign_text = base64_encode(keys.signing.bytes) + "\n";
  std::string box_text = base64_encode(keys.box_secret.bytes) + "\n";
  std::string token_text = base64url_no_padding(token) + "\n";
  Status written = write_new_file(dir / kSignKeyFile, sign_text, 0600);
  if (written.is_ok()) written = write_new_file(dir / kBoxKeyFile, box_text, 0600);
  if (written.is_ok()) written = write_new_file(dir / kTlsKeyFile, tls.key_pem, 0600);
  if (written.is_ok()) written = write_new_file(dir / kTlsCertFile, tls.cert_pem, 0644);
  if (written.is_ok()) written = write_new_file(dir / kApiKeyFile, api_tls.key_pem, 0600);
  if (written.is_ok()) written = write_new_file(dir / kApiCertFile, api_tls.cert_pem, 0644);
  if (written.is_ok()) written = write_new_file(dir / kTokenFile, token_text, 0600);
  crypto::wipe({reinterpret_cast<std::uint8_t*>(sign_text.data()), sign_text.size()});
  crypto::wipe({reinterpret_cast<std::uint8_t*>(box_text.data()), box_text.size()});
  crypto::wipe({reinterpret_cast<std::uint8_t*>(token_text.data()), token_text.size()});
  crypto::wipe(keys.signing.bytes);
  crypto::wipe(keys.box_secret.bytes);
  crypto::wipe(token);
  PARLEY_RETURN_IF_ERROR(written);
  PARLEY_RETURN_IF_ERROR(sync_dir(dir / "keys"));
  PARLEY_RETURN_IF_ERROR(sync_dir(dir / "tls"));

  if (!options.store_url.empty()) {
    // The schema is created (or an existing parley store migrated) now, so that a bad URL or
    // an unreachable server fails init, not the first start.
    Result<std::unique_ptr<store::Store>> store = store::open_postgres_store(options.store_url);
    if (!store.is_ok()) return store.status().with_context("creating the store");
    PARLEY_RETURN_IF_ERROR(write_config(options, dir));
    return sync_dir(dir);
  }
  const fs::path db = fs::path(options.store_path).is_absolute() ? fs::path(options.store_path)
                                                                 : dir / options.store_path;
  {
    store::SqliteOptions sqlite;
    if (options.encrypt) {
      PARLEY_ASSIGN_OR_RETURN(sqlite.key, init_store_key(options.store_key_file, dir, db));
    }
    Result<std::unique_ptr<store::Store>> store = store::open_sqlite_store(db.string(), sqlite);
    crypto::wipe(sqlite.key);
    if (!store.is_ok()) return store.status().with_context("creating the store");
  }
  // The store holds the messages (in plaintext with encrypt = false): only the owner may read
  // it (the WAL and shared memory files, if any, too). The home directory is 0700 as well.
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
    const fs::path file = db.string() + suffix;
    if (::chmod(file.c_str(), 0600) != 0 && errno != ENOENT) {
      return Status::unavailable(
          fmt::format("cannot chmod {}: {}", file.string(), errno_text(errno)));
    }
  }

  // The config last: a directory with parley.toml is a complete home.
  PARLEY_RETURN_IF_ERROR(write_config(options, dir));
  return sync_dir(dir);
}

}  // namespace

fs::path Home::store_path() const { return sqlite_store_path(config, dir); }

fs::path restore_marker_path(const Home& home) {
  return fs::path(home.store_path().string() + ".restored");
}

Result<Bytes> load_store_key(const Config& config, const fs::path& dir) {
  if (!config.store_url.empty() || !config.store_encrypt) return Bytes{};
  const fs::path store = sqlite_store_path(config, dir);
  const char* credentials = std::getenv("CREDENTIALS_DIRECTORY");
  if (credentials != nullptr && *credentials != '\0') {
    const fs::path credential = fs::path(credentials) / kStoreKeyCredential;
    std::error_code ec;
    if (fs::exists(credential, ec)) {
      return read_store_key_file(credential, dir, store, credential.string());
    }
  }
  const std::string config_file = (dir / kConfigFile).string();
  if (!config.store_key_file.empty()) {
    return read_store_key_file(config.store_key_file, dir, store,
                               fmt::format("{}:{}", config_file, config.store_key_file_line));
  }
  return Status::failed_precondition(fmt::format(
      "{}:{}: the store is encrypted (store.encrypt is on unless set to false) and no store key "
      "is configured: set store.key_file, give the gateway the systemd credential {} "
      "(LoadCredential=), or write store.encrypt = false for a plaintext store "
      "(docs/operations.md \"The store at rest\")",
      config_file, std::max(config.store_line, 1), kStoreKeyCredential));
}

fs::path Home::api_cert_path() const {
  const fs::path path(config.api_cert);
  return path.is_absolute() ? path : dir / path;
}

fs::path Home::api_key_path() const {
  const fs::path path(config.api_key);
  return path.is_absolute() ? path : dir / path;
}

std::vector<std::string> api_certificate_names(const wire::HostPort& api,
                                               const std::string& hostname) {
  std::vector<std::string> names;
  const auto add = [&names](const std::string& name) {
    if (!name.empty() && std::find(names.begin(), names.end(), name) == names.end()) {
      names.push_back(name);
    }
  };
  if (api.host != "0.0.0.0" && api.host != "::") add(api.host);
  add("localhost");
  add("127.0.0.1");
  add("::1");
  add(hostname);
  return names;
}

std::string Home::store_location() const {
  return config.store_url.empty() ? store_path().string() : config.store_url;
}

Result<std::unique_ptr<store::Store>> open_store(const Home& home, bool create_sqlite) {
  if (!home.config.store_url.empty()) {
    Result<std::unique_ptr<store::Store>> store = store::open_postgres_store(home.config.store_url);
    if (!store.is_ok()) return store.status().with_context("opening the store");
    return store;
  }
  const fs::path db = home.store_path();
  std::error_code ec;
  if (!create_sqlite && !fs::exists(db, ec)) {
    // open_sqlite_store would create an empty store: a missing one is a broken home.
    return Status::data_loss(fmt::format("the store {} is missing", db.string()));
  }
  store::SqliteOptions options;
  PARLEY_ASSIGN_OR_RETURN(options.key, load_store_key(home.config, home.dir));
  Result<std::unique_ptr<store::Store>> store = store::open_sqlite_store(db.string(), options);
  crypto::wipe(options.key);
  if (!store.is_ok()) return store.status().with_context("opening the store");
  return store;
}

Status encrypt_store(const Home& home) {
  if (!home.config.store_url.empty()) {
    return Status::failed_precondition(
        "the store is PostgreSQL: its data at rest is the server's to encrypt");
  }
  const fs::path config_file = home.dir / kConfigFile;
  if (!home.config.store_encrypt) {
    return Status::failed_precondition(fmt::format(
        "{}: store.encrypt is false: remove it (or set it to true) and set store.key_file first",
        config_file.string()));
  }
  const fs::path db = home.store_path();
  const fs::path staging = db.string() + ".encrypting";
  std::error_code ec;
  if (fs::exists(staging, ec)) {
    return Status::failed_precondition(fmt::format(
        "{} is left from an interrupted run: remove it and run again", staging.string()));
  }
  if (!home.config.store_key_file.empty() && !fs::exists(home.config.store_key_file, ec)) {
    Result<Bytes> made = init_store_key(home.config.store_key_file, home.dir, db);
    if (!made.is_ok()) return made.status();
    crypto::wipe(*made);
  }
  PARLEY_ASSIGN_OR_RETURN(Bytes key, load_store_key(home.config, home.dir));
  {
    store::SqliteOptions options;
    options.key = key;
    const bool encrypted = store::open_sqlite_store(db.string(), options).is_ok();
    crypto::wipe(options.key);
    if (encrypted) {
      crypto::wipe(key);
      return Status::failed_precondition(
          fmt::format("{} is already encrypted with the store key", db.string()));
    }
  }
  // Opened in plaintext first: brought to this binary's schema, and its WAL checkpointed into
  // the file and removed when it closes, so no plaintext WAL is left beside the new file.
  Status status = store::open_sqlite_store(db.string()).status();
  if (status.is_ok()) status = store::export_sqlite_store(db.string(), {}, staging.string(), key);
  if (status.is_ok()) {
    store::SqliteOptions options;
    options.key = key;
    status = store::open_sqlite_store(staging.string(), options).status();
    crypto::wipe(options.key);
  }
  crypto::wipe(key);
  if (status.is_ok() && fs::exists(db.string() + "-wal", ec)) {
    status = Status::unavailable(
        fmt::format("{}-wal is still there: is a gateway running?", db.string()));
  }
  if (status.is_ok() && ::rename(staging.c_str(), db.c_str()) != 0) {
    status = Status::unavailable(fmt::format("cannot rename {} to {}: {}", staging.string(),
                                             db.string(), errno_text(errno)));
  }
  if (!status.is_ok()) {
    for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(staging.string() + suffix, ec);
    return status;
  }
  (void)::chmod(db.c_str(), 0600);
  return sync_dir(db.parent_path());
}

Status init_home(const InitOptions& given) {
  PARLEY_ASSIGN_OR_RETURN(InitOptions options, with_config_file(given));
  PARLEY_RETURN_IF_ERROR(validate(options));
  // Plain HTTP only on loopback (config.h): anywhere else the API is HTTPS from the start.
  const Result<wire::HostPort> api = wire::parse_host_port(options.api);
  if (api.is_ok() && !is_loopback_host(api->host)) options.api_tls = true;
  const fs::path& dir = options.home;

  bool created = false;
  std::error_code ec;
  const fs::file_status st = fs::symlink_status(dir, ec);
  if (st.type() == fs::file_type::not_found) {
    PARLEY_RETURN_IF_ERROR(make_dir(dir));
    created = true;
  } else if (ec) {
    return Status::unavailable(fmt::format("cannot use {}: {}", dir.string(), ec.message()));
  } else if (st.type() != fs::file_type::directory) {
    return Status::already_exists(
        fmt::format("{} already exists and is not a directory", dir.string()));
  } else {
    const bool empty = fs::is_empty(dir, ec);
    if (ec)
      return Status::unavailable(fmt::format("cannot read {}: {}", dir.string(), ec.message()));
    if (!empty) {
      return Status::already_exists(
          fmt::format("{} already exists and is not empty", dir.string()));
    }
    if (::chmod(dir.c_str(), 0700) != 0) {
      return Status::unavailable(
          fmt::format("cannot chmod {}: {}", dir.string(), errno_text(errno)));
    }
  }

  // The store key beside the home (or where --store-key or the config says), made by init
  // unless it exists; removed again if init fails having made it.
  bool key_made = false;
  if (options.store_url.empty() && options.encrypt) {
    options.store_key_file = init_key_path(options);
    key_made = !fs::exists(options.store_key_file, ec);
  }
  Status status = populate(options, dir);
  if (!status.is_ok()) {
    if (key_made) {
      std::error_code ignored;
      fs::remove(options.store_key_file, ignored);
    }
    // Leave nothing half-made behind: everything in `dir` was created by this call.
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
      std::error_code ignored;
      fs::remove_all(it->path(), ignored);
    }
    if (created) {
      std::error_code ignored;
      fs::remove(dir, ignored);
    }
    return status;
  }
  return Status::ok();
}

Result<Home> open_home(const fs::path& dir) {
  Home home;
  home.dir = dir;
  const fs::path config_path = dir / kConfigFile;
  Result<std::string> text = read_file(config_path, /*secret=*/false, kConfigBytesMax);
  if (!text.is_ok()) {
    if (text.status().code() == StatusCode::kNotFound) {
      return Status::not_found(fmt::format("no parley home at {} (run parley init)", dir.string()));
    }
    return text.status();
  }
  PARLEY_ASSIGN_OR_RETURN(home.config, parse_config(*text, config_path.string()));

  PARLEY_RETURN_IF_ERROR(crypto::init());
  {
    PARLEY_ASSIGN_OR_RETURN(Bytes sign,
                            read_key_file(dir / kSignKeyFile, crypto::kSignSecretBytes));
    Result<crypto::SigningKey> key = crypto::signing_key_from_bytes(sign);
    crypto::wipe(sign);
    if (!key.is_ok()) {
      return Status::data_loss(
          fmt::format("{}: {}", (dir / kSignKeyFile).string(), key.status().message()));
    }
    home.keys.signing = *key;
    home.keys.verify = crypto::verify_key_of(home.keys.signing);
  }
  {
    PARLEY_ASSIGN_OR_RETURN(Bytes box, read_key_file(dir / kBoxKeyFile, crypto::kBoxSecretBytes));
    Result<crypto::BoxSecretKey> key = crypto::box_secret_from_bytes(box);
    crypto::wipe(box);
    if (!key.is_ok()) {
      return Status::data_loss(
          fmt::format("{}: {}", (dir / kBoxKeyFile).string(), key.status().message()));
    }
    home.keys.box_secret = *key;
    home.keys.box_public = crypto::box_public_of(home.keys.box_secret);
  }

  PARLEY_ASSIGN_OR_RETURN(home.tls.key_pem, read_home_file(dir / kTlsKeyFile, /*secret=*/true));
  PARLEY_ASSIGN_OR_RETURN(home.tls.cert_pem, read_home_file(dir / kTlsCertFile, /*secret=*/false));
  Result<std::string> fingerprint = net::cert_fingerprint(home.tls.cert_pem);
  if (!fingerprint.is_ok()) {
    return Status::data_loss(
        fmt::format("{}: {}", (dir / kTlsCertFile).string(), fingerprint.status().message()));
  }
  home.tls_fingerprint = *fingerprint;
  PARLEY_RETURN_IF_ERROR(load_rotations(home));

  if (home.config.api_tls) PARLEY_RETURN_IF_ERROR(load_api_tls(home));

  PARLEY_ASSIGN_OR_RETURN(std::string token, read_home_file(dir / kTokenFile, /*secret=*/true));
  home.operator_token = std::string(trim(token));
  crypto::wipe({reinterpret_cast<std::uint8_t*>(token.data()), token.size()});
  if (home.operator_token.empty()) {
    return Status::data_loss(fmt::format("{} is empty", (dir / kTokenFile).string()));
  }
  return home;
}

wire::Bundle bundle_of(const Home& home) {
  wire::Bundle bundle;
  bundle.party = home.config.party;
  bundle.sign_key = home.keys.verify;
  bundle.box_key = home.keys.box_public;
  bundle.tls_fingerprint = home.tls_fingerprint;
  bundle.federation = home.config.federation_advertise.empty() ? home.config.federation_listen
                                                               : home.config.federation_advertise;
  bundle.lang = home.config.lang;
  return bundle;
}

}  // namespace parley::gateway
