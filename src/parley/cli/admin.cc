// The administration subcommands: init, bundle, peer add, principal add, line add. They act
// on a home directory directly (no running gateway needed). A pinned peer takes effect at the
// next gateway start; principals and lines are reloaded by a running gateway, which they ask
// to (cli/directory.h). The rest of the directory is directory_cmd.cc.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <iostream>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <sys/stat.h>

#include "parley/base/bytes.h"
#include "parley/base/text.h"
#include "parley/catalog/catalog.h"
#include "parley/cli/commands.h"
#include "parley/cli/directory.h"
#include "parley/core/model.h"
#include "parley/core/translation.h"
#include "parley/crypto/crypto.h"
#include "parley/gateway/home.h"
#include "parley/net/net.h"
#include "parley/wire/wire.h"

namespace parley::cli {
namespace {

constexpr std::size_t kBundleBytesMax = 64 * 1024;

constexpr std::string_view kIdRule =
    "1-64 characters of a-z, 0-9 and '-', starting with a letter or digit";

// Reads a bundle file (at most kBundleBytesMax). kNotFound / kInvalidArgument naming it.
Result<std::string> read_small_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    if (err == ENOENT) return Status::not_found(fmt::format("{}: no such file", path));
    return Status::invalid_argument(fmt::format("cannot read {}: {}", path, std::strerror(err)));
  }
  std::string out;
  std::array<char, 8192> buf{};
  for (;;) {
    const ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      ::close(fd);
      return Status::invalid_argument(fmt::format("cannot read {}: {}", path, std::strerror(err)));
    }
    if (n == 0) break;
    out.append(buf.data(), static_cast<std::size_t>(n));
    if (out.size() > kBundleBytesMax) {
      ::close(fd);
      return Status::invalid_argument(
          fmt::format("{} is too large for a bundle (over {} bytes)", path, kBundleBytesMax));
    }
  }
  ::close(fd);
  return out;
}

// ---- init -------------------------------------------------------------------------------

struct InitArgs {
  std::string home;
  std::string party;
  std::vector<std::string> federation = {"127.0.0.1:7001"};
  std::vector<std::string> advertise;
  std::string api = "127.0.0.1:7080";
  bool api_tls = false;
  std::string lang = "en";
  std::string store;
  std::string config;
  std::string store_key;
  bool no_encrypt = false;
};

int run_init(const InitArgs& args) {
  if (args.party.empty() == args.config.empty()) {
    std::cerr << "parley: init needs --party ID or --config FILE (not both)\n";
    return 2;
  }
  if (args.config.empty()) {
    // A language no catalog template is written in would render every message in the
    // fallback (English) while the party believes it reads its own: refused, with the choice.
    const std::vector<std::string> langs = catalog::Catalog::builtin().languages();
    if (std::find(langs.begin(), langs.end(), args.lang) == langs.end()) {
      std::string known;
      for (const std::string& l : langs) known += (known.empty() ? "" : ", ") + l;
      return fail_usage(Status::invalid_argument(fmt::format(
          "--lang {}: no catalog template is written in it (the catalog's languages: {}); "
          "messages would be rendered in en: give one of those",
          args.lang, known)));
    }
  }
  gateway::InitOptions options;
  options.home = args.home;
  options.party = args.party;
  options.federation = args.federation;
  options.advertise = args.advertise;
  options.api = args.api;
  options.api_tls = args.api_tls;
  options.lang = args.lang;
  options.store_url = args.store;
  options.config_file = args.config;
  options.encrypt = !args.no_encrypt;
  options.store_key_file = args.store_key;
  if (!args.config.empty() && (args.no_encrypt || !args.store_key.empty())) {
    std::cerr << "parley: init --config takes [store] encrypt and key_file from the file, not "
                 "--no-encrypt or --store-key\n";
    return 2;
  }
  if (args.no_encrypt && !args.store_key.empty()) {
    std::cerr << "parley: init --no-encrypt and --store-key are exclusive\n";
    return 2;
  }
  const Status status = gateway::init_home(options);
  if (!status.is_ok()) return fail(status);
  const bool from_file = args.party.empty();
  // The API certificate init made (or the operator's, if --config names one): its pin.
  Result<gateway::Home> home = gateway::open_home(args.home);
  if (!home.is_ok()) return fail(home.status());
  std::string api_line;
  if (home->config.api_tls) {
    api_line = fmt::format(
        "the API is https://{} (TLS 1.3); its certificate's SHA-256 fingerprint, for "
        "principals to pin (--api-pin):\n{}\n",
        home->config.api_listen, home->api_fingerprint);
  } else {
    const Result<std::string> cert = read_small_file(home->api_cert_path().string());
    const Result<std::string> fingerprint =
        cert.is_ok() ? net::cert_fingerprint(*cert) : cert.status();
    api_line = fmt::format(
        "the API is http://{} (plain HTTP, loopback only); with [api] tls = true it serves "
        "{}, SHA-256 fingerprint {}\n",
        home->config.api_listen, home->api_cert_path().string(),
        fingerprint.is_ok() ? *fingerprint : fingerprint.status().message());
  }
  std::string store_line;
  if (home->config.store_url.empty()) {
    store_line = home->config.store_encrypt
                     ? fmt::format(
                           "the store is encrypted with the key in {}: keep a copy of it "
                           "apart from the home's backups (without it they are unreadable)\n",
                           home->config.store_key_file)
                     : "the store is not encrypted (--no-encrypt)\n";
  }
  std::cout << fmt::format("initialized party {} at {}\n",
                           from_file ? "from " + args.config : args.party, args.home)
            << api_line << store_line
            << fmt::format(
                   "share this party's bundle with its peers: parley bundle --home {} > {}.json\n",
                   args.home, from_file ? "bundle" : args.party)
            << std::flush;
  return 0;
}

// ---- store encrypt ----------------------------------------------------------------------

int run_store_encrypt(const std::string& dir) {
  const Result<gateway::Home> home = gateway::open_home(dir);
  if (!home.is_ok()) return fail(home.status());
  // No gateway may write the store while it is copied and replaced.
  const Result<gateway::HomeLock> lock = gateway::HomeLock::acquire(*home);
  if (!lock.is_ok()) return fail(lock.status());
  if (const Status status = gateway::encrypt_store(*home); !status.is_ok()) return fail(status);
  std::cout << fmt::format(
                   "encrypted {} with the store key ({}); the plaintext bytes may survive in the "
                   "disk's free blocks and in earlier backups: destroy those backups\n",
                   home->store_path().string(),
                   std::getenv("CREDENTIALS_DIRECTORY") != nullptr
                       ? "the systemd credential parley-store-key, if present, else " +
                             home->config.store_key_file
                       : home->config.store_key_file)
            << std::flush;
  return 0;
}

// ---- bundle -----------------------------------------------------------------------------

// This party's bundle, with its translators (the principals of the role, not revoked): the
// peer accepts their translations (core/translation.h).
Result<wire::Bundle> bundle_with_translators(const std::string& dir) {
  PARLEY_ASSIGN_OR_RETURN(OpenedHome opened, open_home_and_store(dir));
  wire::Bundle bundle = gateway::bundle_of(opened.home);
  PARLEY_ASSIGN_OR_RETURN(const std::vector<core::Principal> principals,
                          opened.store->principals());
  for (const core::Principal& p : principals) {
    if (p.role == core::kTranslatorRole && !p.revoked_at) bundle.translators.push_back(p.id);
  }
  std::sort(bundle.translators.begin(), bundle.translators.end());
  return bundle;
}

int run_bundle(const std::string& dir) {
  const Result<wire::Bundle> bundle = bundle_with_translators(dir);
  if (!bundle.is_ok()) return fail(bundle.status());
  std::cout << wire::encode_bundle(*bundle) << "\n" << std::flush;
  return 0;
}

// ---- peer add ---------------------------------------------------------------------------

struct PeerAddArgs {
  std::string home;
  std::string bundle_file;
  bool replace = false;
};

bool same_bundle(const wire::Bundle& a, const wire::Bundle& b) {
  return a.party == b.party && a.sign_key == b.sign_key && a.box_key == b.box_key &&
         a.tls_fingerprint == b.tls_fingerprint && a.federation == b.federation &&
         a.lang == b.lang && a.translators == b.translators;
}

// Pins the bundle in args.bundle_file; returns it.
Result<wire::Bundle> peer_add(const PeerAddArgs& args) {
  PARLEY_ASSIGN_OR_RETURN(OpenedHome opened, open_home_and_store(args.home));
  const std::string context = fmt::format("bundle {}", args.bundle_file);
  Result<std::string> text = read_small_file(args.bundle_file);
  if (!text.is_ok()) return text.status().with_context(context);
  Result<wire::Bundle> parsed = wire::parse_bundle(*text);
  if (!parsed.is_ok()) {
    // parse_bundle says "bundle: <reason>"; name the file instead.
    const Status status = parsed.status();
    std::string_view reason = status.message();
    if (reason.substr(0, 8) == "bundle: ") reason.remove_prefix(8);
    return Status(status.code(), fmt::format("{}: {}", context, reason));
  }
  wire::Bundle bundle = std::move(parsed).value();

  const wire::Bundle mine = gateway::bundle_of(opened.home);
  if (bundle.party == mine.party || bundle.sign_key == mine.sign_key ||
      bundle.tls_fingerprint == mine.tls_fingerprint) {
    return Status::invalid_argument(fmt::format(
        "{} is this party's own bundle ({}): pin the other party's bundle", context, mine.party));
  }

  PARLEY_ASSIGN_OR_RETURN(std::vector<core::Peer> peers, opened.store->peers());
  for (const core::Peer& peer : peers) {
    if (peer.bundle.party != bundle.party) continue;
    if (same_bundle(peer.bundle, bundle)) return bundle;  // already pinned as is
    if (!args.replace) {
      return Status::already_exists(
          fmt::format("peer {} is already pinned with a different bundle (check it out of band, "
                      "then use --replace)",
                      bundle.party));
    }
  }
  core::Peer peer;
  peer.bundle = bundle;
  PARLEY_RETURN_IF_ERROR(opened.store->put_peer(peer));
  PARLEY_RETURN_IF_ERROR(record_change(*opened.store, args.replace ? "peer.replace" : "peer.add",
                                       bundle.party + ": " + bundle.tls_fingerprint));
  return bundle;
}

int run_peer_add(const PeerAddArgs& args) {
  const Result<wire::Bundle> bundle = peer_add(args);
  if (!bundle.is_ok()) return fail(bundle.status());
  std::cout << fmt::format("pinned peer {} (fingerprint {})\n", bundle->party,
                           bundle->tls_fingerprint)
            << std::flush;
  if (args.replace) {
    // A running session holds the old bundle's keys, heads and deadlines: not swapped live.
    std::cout << "it takes effect at the next gateway start\n" << std::flush;
    return 0;
  }
  // A new peer: a running gateway adds it at once (its sessions and paths).
  const Result<gateway::Home> home = gateway::open_home(args.home);
  if (!home.is_ok()) return fail(home.status());
  return tell_gateway(*home, std::cout);
}

// ---- principal add ----------------------------------------------------------------------

struct PrincipalAddArgs {
  std::string home;
  std::string id;
  std::string name;
  std::string role;
  std::string expires = std::string(kTokenLifetime);
};

int run_principal_add(const PrincipalAddArgs& args) {
  if (!wire::is_valid_id(args.id)) {
    return fail(
        Status::invalid_argument(fmt::format("bad principal id '{}' ({})", args.id, kIdRule)));
  }
  Result<OpenedHome> opened = open_home_and_store(args.home);
  if (!opened.is_ok()) return fail(opened.status());
  Result<std::vector<core::Principal>> existing = opened->store->principals();
  if (!existing.is_ok()) return fail(existing.status());
  for (const core::Principal& p : *existing) {
    if (p.id == args.id) {
      return fail(Status::already_exists(fmt::format("principal {} already exists", args.id)));
    }
  }
  Result<std::optional<Time>> expires = token_expiry(args.expires);
  if (!expires.is_ok()) return fail(expires.status());
  const std::string token = new_token();
  core::Principal principal;
  principal.id = args.id;
  principal.name = args.name;
  principal.role = args.role;
  set_token(principal, token, *expires);
  Status status = opened->store->put_principal(principal);
  if (status.is_ok()) status = record_change(*opened->store, "principal.add", args.id);
  if (!status.is_ok()) return fail(status);
  std::cout << token << "\n" << std::flush;
  // stdout is the token alone (scripts capture it); what the gateway did goes to stderr.
  return tell_gateway(opened->home, std::cerr);
}

// ---- line add ---------------------------------------------------------------------------

struct LineAddArgs {
  std::string home;
  std::string id;
  std::string local;
  std::string remote;
  std::vector<std::string> alternates;
  std::vector<std::string> remote_alternates;
  std::vector<std::string> observers;
  std::vector<std::string> deadlines;
};

Result<core::Line> line_from_args(const LineAddArgs& args) {
  core::Line line;
  if (!wire::is_valid_id(args.id)) {
    return Status::invalid_argument(fmt::format("bad line id '{}' ({})", args.id, kIdRule));
  }
  line.id = args.id;
  if (!wire::is_valid_id(args.local)) {
    return Status::invalid_argument(
        fmt::format("bad local principal '{}' ({})", args.local, kIdRule));
  }
  line.local = args.local;
  Result<wire::Address> remote = wire::parse_address(args.remote);
  if (!remote.is_ok()) {
    return remote.status().with_context(fmt::format("bad --remote '{}'", args.remote));
  }
  line.remote = *remote;
  for (const std::string& alternate : args.alternates) {
    if (!wire::is_valid_id(alternate)) {
      return Status::invalid_argument(
          fmt::format("bad alternate principal '{}' ({})", alternate, kIdRule));
    }
    if (alternate == line.local) {
      return Status::invalid_argument(
          fmt::format("alternate '{}' is the line's local principal", alternate));
    }
    if (std::find(line.alternates.begin(), line.alternates.end(), alternate) ==
        line.alternates.end()) {
      line.alternates.push_back(alternate);
    }
  }
  for (const std::string& alternate : args.remote_alternates) {
    if (!wire::is_valid_id(alternate)) {
      return Status::invalid_argument(
          fmt::format("bad remote alternate principal '{}' ({})", alternate, kIdRule));
    }
    if (alternate == line.remote.principal) {
      return Status::invalid_argument(
          fmt::format("remote alternate '{}' is the line's remote principal", alternate));
    }
    if (std::find(line.remote_alternates.begin(), line.remote_alternates.end(), alternate) ==
        line.remote_alternates.end()) {
      line.remote_alternates.push_back(alternate);
    }
  }
  for (const std::string& observer : args.observers) {
    if (!wire::is_valid_id(observer)) {
      return Status::invalid_argument(
          fmt::format("bad observer party '{}' ({})", observer, kIdRule));
    }
    if (std::find(line.observers.begin(), line.observers.end(), observer) == line.observers.end()) {
      line.observers.push_back(observer);
    }
  }
  std::set<wire::Precedence> seen;
  for (const std::string& deadline : args.deadlines) {
    const std::size_t eq = deadline.find('=');
    if (eq == std::string::npos) {
      return Status::invalid_argument(fmt::format(
          "bad --deadline '{}' (expected PRECEDENCE=DURATION, e.g. FLASH=30s)", deadline));
    }
    const std::string_view text(deadline);
    Result<wire::Precedence> precedence = wire::parse_precedence(text.substr(0, eq));
    if (!precedence.is_ok()) {
      return precedence.status().with_context(fmt::format("bad --deadline '{}'", deadline));
    }
    Result<Duration> duration = parse_duration(text.substr(eq + 1));
    if (!duration.is_ok()) {
      return duration.status().with_context(fmt::format("bad --deadline '{}'", deadline));
    }
    if (!seen.insert(*precedence).second) {
      return Status::invalid_argument(
          fmt::format("--deadline for {} given twice", wire::precedence_name(*precedence)));
    }
    line.deadlines.set(*precedence, *duration);
  }
  return line;
}

Result<gateway::Home> line_add(const LineAddArgs& args) {
  PARLEY_ASSIGN_OR_RETURN(core::Line line, line_from_args(args));
  PARLEY_ASSIGN_OR_RETURN(OpenedHome opened, open_home_and_store(args.home));
  if (line.remote.party == opened.home.config.party) {
    return Status::invalid_argument(fmt::format(
        "--remote {} is on this party: a line joins principals of two parties", args.remote));
  }
  for (const std::string& observer : line.observers) {
    if (observer == opened.home.config.party || observer == line.remote.party) {
      return Status::invalid_argument(
          fmt::format("observer {} is a party of the line itself", observer));
    }
  }

  PARLEY_ASSIGN_OR_RETURN(std::vector<core::Principal> principals, opened.store->principals());
  auto has_principal = [&](const std::string& id) {
    return std::any_of(principals.begin(), principals.end(),
                       [&](const core::Principal& p) { return p.id == id; });
  };
  if (!has_principal(line.local)) {
    return Status::not_found(fmt::format(
        "no principal {} on this party (add it with parley principal add)", line.local));
  }
  for (const std::string& alternate : line.alternates) {
    if (!has_principal(alternate)) {
      return Status::not_found(fmt::format(
          "no principal {} on this party (add it with parley principal add)", alternate));
    }
  }

  PARLEY_ASSIGN_OR_RETURN(std::vector<core::Peer> peers, opened.store->peers());
  const bool pinned = std::any_of(peers.begin(), peers.end(), [&](const core::Peer& p) {
    return p.bundle.party == line.remote.party;
  });
  if (!pinned) {
    return Status::not_found(fmt::format(
        "party {} is not a pinned peer (pin its bundle with parley peer add)", line.remote.party));
  }

  PARLEY_ASSIGN_OR_RETURN(std::vector<core::Line> lines, opened.store->lines());
  for (const core::Line& existing : lines) {
    if (existing.id == line.id) {
      return Status::already_exists(fmt::format("line {} already exists", line.id));
    }
  }
  PARLEY_RETURN_IF_ERROR(opened.store->put_line(line));
  PARLEY_RETURN_IF_ERROR(
      record_change(*opened.store, "line.add",
                    fmt::format("{}: {} <-> {}", line.id, line.local, line.remote.to_string())));
  return opened.home;
}

int run_line_add(const LineAddArgs& args) {
  const Result<gateway::Home> home = line_add(args);
  if (!home.is_ok()) return fail(home.status());
  std::cout << fmt::format("added line {}: {} <-> {}\n", args.id, args.local, args.remote)
            << std::flush;
  return tell_gateway(*home, std::cout);
}

CLI::Option* add_home_option(CLI::App* sub, std::string& home) {
  return sub->add_option("--home", home, "The party's home directory (made by parley init)")
      ->required()
      ->type_name("DIR");
}

}  // namespace

int fail(const Status& status) {
  std::string line = status.message();
  if (line.empty()) line = std::string(status_code_name(status.code()));
  // One line, always: a multi-line reason would break scripts that read stderr.
  std::replace(line.begin(), line.end(), '\n', ' ');
  std::replace(line.begin(), line.end(), '\r', ' ');
  // A reason may quote a file or an answer from outside (a bundle, an export, the API):
  // nothing in it reaches the terminal as a control sequence or invalid UTF-8.
  std::cerr << "parley: " << escape_for_terminal(line) << "\n" << std::flush;
  return 1;
}

int fail_usage(const Status& status) {
  (void)fail(status);
  return 2;
}

int fail_request(const Status& status) {
  const int code = fail(status);
  return status.code() == StatusCode::kInvalidArgument ? 2 : code;
}

void add_admin_commands(CLI::App& app, int& exit_code) {
  int* code = &exit_code;

  // init
  {
    auto args = std::make_shared<InitArgs>();
    CLI::App* sub = app.add_subcommand(
        "init",
        "Create a party's home directory: signing and box keys, a self-signed TLS certificate, "
        "the config (parley.toml), an empty store and the operator token. Refuses a directory "
        "that exists and is not empty.");
    add_home_option(sub, args->home)
        ->description("The home directory to create (must not exist, or be empty)");
    sub->add_option("--party", args->party,
                    "This party's id, e.g. us-eucom (a-z, 0-9, '-'); required unless --config")
        ->type_name("ID");
    sub->add_option("--federation", args->federation,
                    "Where this gateway listens for peers, HOST:PORT (repeat for backups, "
                    "primary first); published in the bundle unless --advertise is given")
        ->allow_extra_args(false)
        ->type_name("HOST:PORT")
        ->capture_default_str();
    sub->add_option("--advertise", args->advertise,
                    "Where peers reach this gateway, HOST:PORT (repeat, primary first): "
                    "published in the bundle instead of --federation ([federation] advertise); "
                    "needed when --federation is a wildcard (0.0.0.0, [::])")
        ->allow_extra_args(false)
        ->type_name("HOST:PORT");
    sub->add_option("--api", args->api,
                    "Where the HTTP API for principals listens, HOST:PORT: plain HTTP on "
                    "loopback, HTTPS (TLS 1.3) on any other address")
        ->type_name("HOST:PORT")
        ->capture_default_str();
    sub->add_flag("--api-tls", args->api_tls,
                  "Serve the API over TLS 1.3 (api.tls = true) even on loopback; it always is on "
                  "any other address. init makes the API's self-signed certificate either way and "
                  "prints its fingerprint for pinning");
    sub->add_option("--lang", args->lang,
                    "The language this party's principals read messages in: one the "
                    "catalog's templates are written in (en, ru); any other is refused")
        ->type_name("LANG")
        ->capture_default_str();
    sub->add_option("--store", args->store,
                    "A PostgreSQL database for the store, postgresql://USER@HOST:PORT/DB (its "
                    "schema is created now); default: SQLite in the home (parley.db)")
        ->type_name("URL");
    sub->add_option("--store-key", args->store_key,
                    "The SQLite store's key file (64 hex digits, mode 0600), outside the home: "
                    "made with a random key if missing, used if it exists ([store] key_file); "
                    "default: DIR.store-key beside the home")
        ->type_name("FILE");
    sub->add_flag("--no-encrypt", args->no_encrypt,
                  "Keep the SQLite store in plaintext ([store] encrypt = false); by default it "
                  "is encrypted at rest (SQLCipher)");
    sub->add_option("--config", args->config,
                    "Use this existing parley.toml (e.g. the package's /etc/parley/parley.toml) "
                    "instead of the options above: DIR/parley.toml becomes a symlink to it")
        ->type_name("FILE");
    sub->callback([args, code] { *code = run_init(*args); });
  }

  // store encrypt
  {
    CLI::App* store = app.add_subcommand("store", "The SQLite store at rest");
    store->require_subcommand(1);
    auto home = std::make_shared<std::string>();
    CLI::App* sub = store->add_subcommand(
        "encrypt",
        "Encrypt a plaintext SQLite store with the store key the config names ([store] key_file, "
        "made with a random key if missing; or the systemd credential parley-store-key). The "
        "gateway must be stopped; set [store] key_file (and remove encrypt = false) first "
        "(docs/operations.md \"The store at rest\")");
    add_home_option(sub, *home);
    sub->callback([home, code] { *code = run_store_encrypt(*home); });
  }

  // bundle
  {
    auto home = std::make_shared<std::string>();
    CLI::App* sub = app.add_subcommand(
        "bundle",
        "Print this party's public bundle (JSON: party, signing and box keys, TLS fingerprint, "
        "federation addresses) to give to the other party out of band");
    add_home_option(sub, *home);
    sub->callback([home, code] { *code = run_bundle(*home); });
  }

  // peer add
  {
    CLI::App* peer = app.add_subcommand("peer", "Manage pinned peers (the other parties)");
    peer->require_subcommand(1);
    auto args = std::make_shared<PeerAddArgs>();
    CLI::App* sub = peer->add_subcommand(
        "add",
        "Pin another party from its bundle file, received out of band: its keys and TLS "
        "fingerprint are trusted from now on. A running gateway adds a new peer at once; a "
        "re-pin (--replace) takes effect at its next start.");
    add_home_option(sub, args->home);
    sub->add_option("BUNDLE_FILE", args->bundle_file,
                    "The peer's bundle (the output of parley bundle on its side)")
        ->required();
    sub->add_flag("--replace", args->replace,
                  "Re-pin a peer that is already pinned with a different bundle (a key change "
                  "checked out of band)");
    sub->callback([args, code] { *code = run_peer_add(*args); });
    add_peer_commands(peer, exit_code);
  }

  // principal add
  {
    CLI::App* principal =
        app.add_subcommand("principal", "Manage principals (people or roles of this party)");
    principal->require_subcommand(1);
    auto args = std::make_shared<PrincipalAddArgs>();
    CLI::App* sub = principal->add_subcommand(
        "add",
        "Add a principal and print its API token on stdout (one line, shown once: only its "
        "SHA-256 is stored). A running gateway reloads its directory at once.");
    add_home_option(sub, args->home);
    sub->add_option("ID", args->id, "The principal's id, e.g. saceur (a-z, 0-9, '-')")->required();
    sub->add_option("--name", args->name, "A display name, e.g. \"Gen. A. Smith\"")
        ->type_name("NAME");
    sub->add_option("--role", args->role,
                    "A role, e.g. \"duty-officer\" (the duty roster is per role: parley roster "
                    "set). The role \"watch\" (exactly) also grants the gateway-wide views: "
                    "status of every peer, /api/v1/peers, /metrics. The role \"translator\" "
                    "reads every line of the party and may send on it only a translation "
                    "(--type translation --reply-to ID); the party's bundle lists its "
                    "translators, so give the peer the bundle again")
        ->type_name("ROLE");
    sub->add_option("--expires", args->expires,
                    "How long the token is valid, e.g. 90d, 12h, or 'never' (default 90d); "
                    "parley principal token issues a new one")
        ->type_name("DURATION");
    sub->callback([args, code] { *code = run_principal_add(*args); });
    add_principal_commands(principal, exit_code);
  }

  // line add
  {
    CLI::App* line = app.add_subcommand("line", "Manage lines of contact");
    line->require_subcommand(1);
    auto args = std::make_shared<LineAddArgs>();
    CLI::App* sub = line->add_subcommand(
        "add",
        "Add a line of contact between a local principal and a principal of a pinned peer. "
        "Configure the same line id on both sides (the peer's side cannot be checked from here: "
        "a message on a line the peer lacks is refused by it alone and ends 'refused' in the "
        "outbox). A running gateway reloads its lines at once, without a restart (or at its "
        "next start if it is not running).");
    add_home_option(sub, args->home);
    sub->add_option("ID", args->id, "The line's id, e.g. saceur-cgs (the same on both parties)")
        ->required();
    sub->add_option("--local", args->local, "The local principal who owns the line")
        ->required()
        ->type_name("PRINCIPAL");
    sub->add_option("--remote", args->remote,
                    "The counterpart, PARTY/PRINCIPAL; PARTY must be a pinned peer")
        ->required()
        ->type_name("PARTY/PRINCIPAL");
    sub->add_option("--alternate", args->alternates,
                    "A local principal who may also read and acknowledge, and is alerted on "
                    "escalation (repeatable)")
        ->allow_extra_args(false)
        ->type_name("PRINCIPAL");
    sub->add_option("--remote-alternate", args->remote_alternates,
                    "A principal of the remote party who may also write on the line (one of "
                    "its alternates there; repeatable). The peer's messages on the line must be "
                    "from --remote or one of these; any other is refused")
        ->allow_extra_args(false)
        ->type_name("PRINCIPAL");
    sub->add_option("--observer", args->observers,
                    "An allied party that receives read-only copies of the line's traffic "
                    "(repeatable)")
        ->allow_extra_args(false)
        ->type_name("PARTY");
    sub->add_option("--deadline", args->deadlines,
                    "The acknowledgment deadline for one precedence, e.g. FLASH=30s (repeatable; "
                    "defaults FLASH=5m IMMEDIATE=30m PRIORITY=3h ROUTINE=6h)")
        ->allow_extra_args(false)
        ->type_name("PRECEDENCE=DURATION");
    sub->callback([args, code] { *code = run_line_add(*args); });
    add_line_view_commands(line, exit_code);
  }
  add_roster_command(app, exit_code);
}

}  // namespace parley::cli
