#include "parley/gateway/check.h"

#include <array>
#include <chrono>
#include <fstream>
#include <memory>
#include <optional>
#include <set>
#include <system_error>
#include <utility>

#include <boost/asio/io_context.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <sys/stat.h>

#include "parley/base/bytes.h"
#include "parley/base/json.h"
#include "parley/gateway/home.h"
#include "parley/net/net.h"
#include "parley/store/key_chains.h"
#include "parley/wire/heartbeat.h"

namespace parley::gateway {
namespace fs = std::filesystem;
namespace {

// The secrets of a home (home.h's list), which only the owner may read.
constexpr std::string_view kSecretFiles[] = {"keys/sign.key", "keys/box.key", "tls/key.pem",
                                             "operator.token"};
constexpr std::string_view kPrivateDirs[] = {"keys", "tls"};
constexpr std::string_view kHeartbeatTarget = "/federation/v1/heartbeat";
constexpr std::size_t kConfigBytesMax = 1024 * 1024;

CheckResult ok(std::string name, std::string detail) {
  return {std::move(name), CheckLevel::kOk, std::move(detail)};
}
CheckResult warn(std::string name, std::string detail) {
  return {std::move(name), CheckLevel::kWarn, std::move(detail)};
}
CheckResult fail(std::string name, std::string detail) {
  return {std::move(name), CheckLevel::kFail, std::move(detail)};
}

Time wall_now() { return std::chrono::time_point_cast<Duration>(std::chrono::system_clock::now()); }

std::string octal(unsigned mode) { return fmt::format("{:04o}", mode & 07777); }

// stat(2) of `path`, following a symlink (parley.toml may be one: docs/operations.md).
std::optional<struct stat> stat_of(const fs::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return std::nullopt;
  return st;
}

// `dir/relative` exists and only its owner may use it (`chmod` names the fix: "700", "600").
CheckResult check_private(const fs::path& dir, std::string_view relative, std::string_view chmod) {
  const fs::path path = dir / relative;
  const std::string name = fmt::format("mode {}", relative);
  const std::optional<struct stat> st = stat_of(path);
  if (!st) return fail(name, path.string() + " is missing");
  return check_file_mode(name, st->st_mode, 077, fmt::format("chmod {} {}", chmod, path.string()));
}

// The home itself and every file whose mode matters (home.h). False if there is no home.
bool check_modes(const fs::path& dir, std::vector<CheckResult>& out) {
  const std::optional<struct stat> home = stat_of(dir);
  if (!home || !S_ISDIR(home->st_mode)) {
    out.push_back(fail("home", fmt::format("{} is not a directory (parley init)", dir.string())));
    return false;
  }
  out.push_back(
      check_file_mode("mode " + dir.string(), home->st_mode, 077, "chmod 700 " + dir.string()));
  for (std::string_view sub : kPrivateDirs) out.push_back(check_private(dir, sub, "700"));
  for (std::string_view file : kSecretFiles) out.push_back(check_private(dir, file, "600"));
  return true;
}

// Reads `path` whole, at most `bytes_max` bytes.
Result<std::string> read_text(const fs::path& path, std::size_t bytes_max) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::not_found(path.string() + " cannot be read (parley init)");
  std::string text;
  std::array<char, 8192> buffer{};
  while (in.read(buffer.data(), buffer.size()) || in.gcount() > 0) {
    text.append(buffer.data(), static_cast<std::size_t>(in.gcount()));
    if (text.size() > bytes_max) return Status::invalid_argument(path.string() + " is too large");
  }
  return text;
}

// Reads and parses parley.toml (its mode too: others may read it, not write it).
std::optional<Config> check_config(const fs::path& dir, std::vector<CheckResult>& out) {
  const fs::path path = dir / "parley.toml";
  const std::optional<struct stat> st = stat_of(path);
  if (!st) {
    out.push_back(fail("config", path.string() + " is missing (parley init)"));
    return std::nullopt;
  }
  out.push_back(
      check_file_mode("mode parley.toml", st->st_mode, 022, "chmod 644 " + path.string()));
  const Result<std::string> text = read_text(path, kConfigBytesMax);
  Result<Config> config = text.is_ok() ? parse_config(*text, path.string()) : text.status();
  if (!config.is_ok()) {
    out.push_back(fail("config", config.status().message()));
    return std::nullopt;
  }
  out.push_back(
      ok("config",
         fmt::format("{} parses: party {}, federation {}, api {}", path.string(), config->party,
                     fmt::join(config->federation_listen, " "), config->api_listen)));
  return std::move(config).value();
}

void check_certificate(const Home& home, std::vector<CheckResult>& out,
                       const CheckOptions& options) {
  // The newest certificate (our last rotation's, else the bundle's): the one we present once
  // every peer countersigned the rotation.
  const Result<net::CertValidity> validity =
      net::cert_validity(home.tls_of(home.rotations.size()).cert_pem);
  if (!validity.is_ok()) {
    out.push_back(fail("tls certificate", validity.status().message()));
    return;
  }
  const auto as_time = [](std::chrono::system_clock::time_point t) {
    return std::chrono::time_point_cast<Duration>(t);
  };
  out.push_back(check_certificate_dates(as_time(validity->not_before), as_time(validity->not_after),
                                        wall_now(), options.expiry_warn));
  if (!home.config.api_tls) return;
  const Result<net::CertValidity> api = net::cert_validity(home.api_tls.cert_pem);
  if (!api.is_ok()) {
    out.push_back(fail("api tls certificate", api.status().message()));
    return;
  }
  out.push_back(check_certificate_dates(as_time(api->not_before), as_time(api->not_after),
                                        wall_now(), options.expiry_warn, /*api=*/true));
}

void check_store_mode(const Home& home, std::vector<CheckResult>& out) {
  if (!home.config.store_url.empty()) return;  // PostgreSQL: its server's business
  const fs::path path = home.store_path();
  const std::optional<struct stat> st = stat_of(path);
  if (!st) {
    out.push_back(fail("mode store", path.string() + " is missing"));
    return;
  }
  out.push_back(check_file_mode("mode store", st->st_mode, 077, "chmod 600 " + path.string()));
}

// One signed heartbeat on one path: the answer, and when it was sent and received.
struct Probe {
  Result<net::HttpResponse> answer = Status::unavailable("no answer");
  std::string request;  // the signed payload the answer must name
  Time sent;
  Time received;
};

// Signed with our key the peer pinned (`rotation`: the newest of our rotations it
// countersigned, 0 for none), over TLS with that rotation's certificate, as the gateway does;
// `fingerprints`: the peer's certificates to accept (its bundle's and its rotations').
Probe probe_path(const Home& home, std::uint64_t rotation, const wire::Bundle& peer,
                 const std::string& address, const std::vector<std::string>& fingerprints,
                 std::chrono::milliseconds timeout) {
  Probe probe;
  boost::asio::io_context io;
  const std::unique_ptr<net::FederationClient> client =
      net::make_federation_client(io, {address}, home.tls_of(rotation),
                                  std::make_shared<const std::vector<std::string>>(fingerprints));
  probe.sent = wall_now();
  crypto::SystemRng rng;
  const wire::SignedHeartbeat signed_beat = wire::sign_heartbeat(
      wire::make_heartbeat(home.config.party, peer.party, address, probe.sent, rng),
      rotation == 0 ? home.keys.signing : home.rotations.at(rotation - 1).signing);
  const std::string body = wire::encode_signed_heartbeat(signed_beat);
  probe.request = signed_beat.payload;
  probe.answer = Status::unavailable(fmt::format("no answer within {} ms", timeout.count()));
  client->post(std::string(kHeartbeatTarget), body, timeout, [&probe](Result<net::HttpResponse> r) {
    probe.answer = std::move(r);
    probe.received = wall_now();
  });
  // The client's own timeout ends the wait; this bound is in case it does not.
  io.run_for(timeout + std::chrono::seconds(1));
  client->close();
  return probe;
}

// Each path of `peer` (its keys in force: `chain`; ours as it pinned them: `rotation`); the
// clock from the first that answered.
void check_paths(const Home& home, std::uint64_t rotation, const wire::Bundle& peer,
                 const ledger::KeyChain& chain, const CheckOptions& options,
                 std::vector<CheckResult>& out) {
  std::optional<CheckResult> clock;
  const std::vector<std::string> fingerprints = store::accepted_fingerprints(peer, chain);
  for (const std::string& address : peer.federation) {
    const std::string name = fmt::format("peer {} path {}", peer.party, address);
    const Probe probe =
        probe_path(home, rotation, peer, address, fingerprints, options.probe_timeout);
    if (!probe.answer.is_ok()) {
      out.push_back(fail(name, fmt::format("unreachable: {} (is the peer's gateway up, and does "
                                           "it pin this party's bundle?)",
                                           probe.answer.status().message())));
      continue;
    }
    if (probe.answer->status != 200) {
      out.push_back(fail(name, fmt::format("the heartbeat got HTTP {}: {}", probe.answer->status,
                                           probe.answer->body)));
      continue;
    }
    const Result<Duration> skew = heartbeat_skew(probe.answer->body, probe.request, probe.sent,
                                                 probe.received, chain, home.config.party);
    if (!skew.is_ok()) {
      out.push_back(fail(name, "bad heartbeat answer: " + skew.status().message()));
      continue;
    }
    out.push_back(ok(name, fmt::format("pinned TLS 1.3 handshake and heartbeat in {} ms",
                                       (probe.received - probe.sent).count())));
    if (!clock) clock = check_clock_skew(peer.party, *skew, options);
  }
  out.push_back(clock ? *clock
                      : fail(fmt::format("peer {} clock", peer.party), "no path answered"));
}

void check_peers(const Home& home, const CheckOptions& options, std::vector<CheckResult>& out) {
  Result<std::unique_ptr<store::Store>> store = open_store(home);
  if (!store.is_ok()) {
    out.push_back(fail("store", store.status().message()));
    return;
  }
  Result<std::vector<core::Peer>> peers = (*store)->peers();
  if (!peers.is_ok()) {
    out.push_back(fail("store", "cannot read the pinned peers: " + peers.status().message()));
    return;
  }
  out.push_back(ok(
      "store", fmt::format("{} opens; {} peer(s) pinned", home.store_location(), peers->size())));
  if (peers->empty()) {
    out.push_back(warn("peers", "no peer pinned yet (parley peer add --home DIR BUNDLE_FILE)"));
  }
  const wire::Bundle own = bundle_of(home);
  for (const core::Peer& peer : *peers) {
    CheckResult bundle = check_pinned_bundle(peer.bundle, own);
    const bool sane = bundle.level != CheckLevel::kFail;
    out.push_back(std::move(bundle));
    if (!sane) continue;
    // Its keys in force: the bundle's, then its rotations we stored (docs/protocol.md "Key
    // rotation"), as the gateway checks it.
    const Result<ledger::KeyChain> chain = store::pinned_chain(**store, peer.bundle);
    if (!chain.is_ok()) {
      out.push_back(fail(fmt::format("peer {} keys", peer.bundle.party), chain.status().message()));
      continue;
    }
    if (chain->links().size() > 1) {
      out.push_back(ok(
          fmt::format("peer {} keys", peer.bundle.party),
          fmt::format("rotation {} in force from entry {} (key {}, TLS certificate {})",
                      chain->newest().n, chain->newest().from_index,
                      base64_encode(chain->newest().key.bytes), chain->newest().tls_fingerprint)));
    }
    // Which of our rotations the peer pinned: what our store holds of our log for it.
    Result<core::Recovered> held = (*store)->recover(peer.bundle.party);
    Result<std::uint64_t> rotation =
        held.is_ok() ? rotation_pinned_by(home, *held) : Result<std::uint64_t>(held.status());
    if (!rotation.is_ok()) {
      out.push_back(
          fail(fmt::format("peer {} key", peer.bundle.party), rotation.status().message()));
      continue;
    }
    check_paths(home, *rotation, peer.bundle, *chain, options, out);
  }
}

// How far away a date is, in whole days.
std::string days_text(Duration d) {
  return fmt::format("{} days", std::chrono::duration_cast<std::chrono::days>(d).count());
}

}  // namespace

Result<Duration> heartbeat_skew(std::string_view body, std::string_view request, Time sent,
                                Time received, const ledger::KeyChain& chain, std::string_view us) {
  PARLEY_ASSIGN_OR_RETURN(const wire::SignedHeartbeat signed_answer,
                          wire::parse_signed_heartbeat(body));
  PARLEY_ASSIGN_OR_RETURN(
      const wire::HeartbeatAnswer answer,
      wire::open_heartbeat_answer(signed_answer, chain.newest().key, chain.party(), us, request));
  const Time middle = sent + (received - sent) / 2;
  return answer.time - middle;
}

std::string_view check_level_name(CheckLevel level) {
  switch (level) {
    case CheckLevel::kOk:
      return "ok";
    case CheckLevel::kWarn:
      return "warn";
    case CheckLevel::kFail:
      return "FAIL";
  }
  return "FAIL";
}

bool any_failed(const std::vector<CheckResult>& results) {
  for (const CheckResult& result : results) {
    if (result.level == CheckLevel::kFail) return true;
  }
  return false;
}

CheckResult check_file_mode(std::string_view name, unsigned mode, unsigned forbidden,
                            std::string_view fix) {
  if ((mode & forbidden) == 0) return ok(std::string(name), octal(mode));
  return fail(std::string(name),
              fmt::format("{}: {} by others ({})", octal(mode),
                          (mode & forbidden & 0022) != 0 ? "writable" : "readable", fix));
}

CheckResult check_certificate_dates(Time not_before, Time not_after, Time now, Duration warn_within,
                                    bool api) {
  const std::string name = api ? "api tls certificate" : "tls certificate";
  const std::string renew = api ? "renew it: docs/operations.md, \"TLS on the API\""
                                : "parley rotate: docs/operations.md, \"Key rotation\"";
  if (now < not_before) {
    return fail(name,
                fmt::format("not valid before {} (is this clock right?)", format_time(not_before)));
  }
  if (now >= not_after) {
    return fail(name, fmt::format("expired on {} ({})", format_time(not_after), renew));
  }
  const std::string when =
      fmt::format("expires {}, in {}", format_time(not_after), days_text(not_after - now));
  if (not_after - now < warn_within) return warn(name, when + " (" + renew + ")");
  return ok(name, when);
}

CheckResult check_clock_skew(const std::string& peer, Duration skew, const CheckOptions& options) {
  const std::string name = fmt::format("peer {} clock", peer);
  const Duration size = skew < Duration::zero() ? -skew : skew;
  const std::string text = fmt::format("{} is {} ms {} ours", peer, size.count(),
                                       skew < Duration::zero() ? "behind" : "ahead of");
  if (size >= options.skew_fail) return fail(name, text + " (check NTP on both sides)");
  if (size >= options.skew_warn) return warn(name, text + " (check NTP)");
  return ok(name, text);
}

CheckResult check_pinned_bundle(const wire::Bundle& peer, const wire::Bundle& own) {
  const std::string name = fmt::format("peer {} bundle", peer.party);
  // The store kept what peer add parsed; parse it again so that a store edited by hand (or a
  // rule tightened since) is caught here too.
  const Result<wire::Bundle> reparsed = wire::parse_bundle(wire::encode_bundle(peer));
  if (!reparsed.is_ok()) return fail(name, reparsed.status().message());
  if (peer.party == own.party) return fail(name, "the pinned bundle is this party's own");
  if (peer.sign_key.bytes == own.sign_key.bytes || peer.box_key.bytes == own.box_key.bytes ||
      peer.tls_fingerprint == own.tls_fingerprint) {
    return fail(name, "the pinned bundle shares this party's keys or certificate");
  }
  const std::set<std::string> distinct(peer.federation.begin(), peer.federation.end());
  if (distinct.size() != peer.federation.size()) {
    return fail(name, "the pinned bundle lists a federation address twice");
  }
  return ok(name, fmt::format("pinned: tls {}..., {} path(s)", peer.tls_fingerprint.substr(0, 16),
                              peer.federation.size()));
}

std::vector<CheckResult> check_home(const fs::path& dir, const CheckOptions& options) {
  std::vector<CheckResult> out;
  if (!check_modes(dir, out)) return out;
  if (!check_config(dir, out)) return out;
  Result<Home> home = open_home(dir);
  if (!home.is_ok()) {
    out.push_back(fail("keys", home.status().message()));
    return out;
  }
  out.push_back(ok("keys", "signing, box and TLS keys and the operator token load"));
  check_certificate(*home, out, options);
  check_store_mode(*home, out);
  check_peers(*home, options, out);
  return out;
}

}  // namespace parley::gateway
