// Our key rotations in the home (gateway/home.h, "Our key rotations"): loading them with
// open_home, and making a new one (`parley rotate`).
#include <algorithm>
#include <charconv>
#include <limits>
#include <set>
#include <system_error>

#include <fmt/format.h>

#include "parley/base/bytes.h"
#include "parley/base/rng.h"
#include "parley/core/stored_chain.h"
#include "parley/gateway/home.h"
#include "parley/gateway/home_files.h"
#include "parley/ledger/key_chain.h"

namespace parley::gateway {
namespace fs = std::filesystem;
using namespace home_files;  // the home's files: home_files.h

namespace {

constexpr std::string_view kStatementSuffix = ".dsse";
constexpr std::string_view kPartialSuffix = ".partial";

fs::path rotations_dir(const fs::path& home) { return home / "keys" / "rotations"; }
fs::path statement_path(const fs::path& home, std::uint64_t n) {
  return rotations_dir(home) / (std::to_string(n) + std::string(kStatementSuffix));
}
fs::path sign_key_path(const fs::path& home, std::uint64_t n) {
  return home / "keys" / ("sign." + std::to_string(n) + ".key");
}
fs::path tls_key_path(const fs::path& home, std::uint64_t n) {
  return home / "tls" / ("key." + std::to_string(n) + ".pem");
}
fs::path tls_cert_path(const fs::path& home, std::uint64_t n) {
  return home / "tls" / ("cert." + std::to_string(n) + ".pem");
}

// The rotation numbers keys/rotations/ holds ("N.dsse"), or why a name there is none. A
// statement's partial file (an interrupted `parley rotate`) is no rotation and is ignored.
Result<std::set<std::uint64_t>> statement_numbers(const fs::path& home) {
  std::set<std::uint64_t> numbers;
  const fs::path dir = rotations_dir(home);
  std::error_code ec;
  if (!fs::exists(dir, ec)) return numbers;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.ends_with(kPartialSuffix)) continue;
    std::uint64_t n = 0;
    const std::string_view digits = std::string_view(name).substr(
        0, name.size() - std::min(name.size(), kStatementSuffix.size()));
    const auto [end_digits, error] =
        std::from_chars(digits.data(), digits.data() + digits.size(), n);
    if (!name.ends_with(kStatementSuffix) || error != std::errc() ||
        end_digits != digits.data() + digits.size() || n == 0 || digits.front() == '0') {
      return Status::data_loss(
          fmt::format("{}: not a rotation statement (keys/rotations/ holds N.dsse, N = 1, 2, ...)",
                      it->path().string()));
    }
    numbers.insert(n);
  }
  if (ec) {
    return Status::data_loss(fmt::format("cannot list {}: {}", dir.string(), ec.message()));
  }
  return numbers;
}

// Rotation `n`'s files, checked against its statement `r`.
Status load_rotation_keys(const fs::path& home, std::uint64_t n, const wire::Rotation& r,
                          OwnRotation& own) {
  const fs::path sign = sign_key_path(home, n);
  PARLEY_ASSIGN_OR_RETURN(Bytes bytes, read_key_file(sign, crypto::kSignSecretBytes));
  Result<crypto::SigningKey> key = crypto::signing_key_from_bytes(bytes);
  crypto::wipe(bytes);
  if (!key.is_ok()) {
    return Status::data_loss(fmt::format("{}: {}", sign.string(), key.status().message()));
  }
  if (crypto::verify_key_of(*key) != r.new_sign_key) {
    return Status::data_loss(
        fmt::format("{}: not the key rotation {} put in force (its statement names {})",
                    sign.string(), n, base64_encode(r.new_sign_key.bytes)));
  }
  own.signing = *key;
  PARLEY_ASSIGN_OR_RETURN(own.tls.cert_pem, read_home_file(tls_cert_path(home, n), false));
  PARLEY_ASSIGN_OR_RETURN(own.tls.key_pem, read_home_file(tls_key_path(home, n), true));
  const Result<std::string> fingerprint = net::cert_fingerprint(own.tls.cert_pem);
  if (!fingerprint.is_ok() || *fingerprint != r.new_tls_fingerprint) {
    return Status::data_loss(fmt::format(
        "{}: not the certificate rotation {} announced ({})", tls_cert_path(home, n).string(), n,
        fingerprint.is_ok() ? "its statement names " + r.new_tls_fingerprint
                            : fingerprint.status().message()));
  }
  if (const Status usable = net::check_tls_identity(own.tls); !usable.is_ok()) {
    return Status::data_loss(
        fmt::format("{}: {}", tls_key_path(home, n).string(), usable.message()));
  }
  return Status::ok();
}

// Writes `content` as `path` (mode `mode`): a new file beside it first, fsynced, then renamed
// over it. A file left by an interrupted run is replaced.
Status replace_file(const fs::path& path, std::string_view content, mode_t mode) {
  const fs::path partial = path.string() + std::string(kPartialSuffix);
  std::error_code ec;
  fs::remove(partial, ec);
  PARLEY_RETURN_IF_ERROR(write_new_file(partial, content, mode));
  if (::rename(partial.c_str(), path.c_str()) != 0) {
    return Status::unavailable(fmt::format("cannot rename {} to {}: {}", partial.string(),
                                           path.string(), errno_text(errno)));
  }
  return Status::ok();
}

}  // namespace

Status load_rotations(Home& home) {
  PARLEY_ASSIGN_OR_RETURN(const std::set<std::uint64_t> numbers, statement_numbers(home.dir));
  // The chain our statements must form, from the bundle's key (ledger/key_chain.h): each is
  // placed at entry n - 1 of a log that holds them alone.
  ledger::KeyChain chain(home.config.party, home.keys.verify);
  std::uint64_t n = 1;
  for (const std::uint64_t present : numbers) {
    const fs::path path = statement_path(home.dir, present);
    if (present != n) {
      return Status::data_loss(fmt::format("{}: rotation {} is missing ({} is not there)",
                                           path.string(), n, statement_path(home.dir, n).string()));
    }
    PARLEY_ASSIGN_OR_RETURN(std::string text, read_home_file(path, /*secret=*/false));
    Result<wire::Rotation> r = chain.add(n - 1, text);
    if (!r.is_ok()) {
      return Status::data_loss(
          fmt::format("{}: {} (the statements of keys/rotations/ must chain "
                      "from keys/sign.key, one after the other)",
                      path.string(), r.status().message()));
    }
    OwnRotation own;
    own.statement = std::move(text);
    own.rotation = *r;
    PARLEY_RETURN_IF_ERROR(load_rotation_keys(home.dir, n, *r, own));
    home.rotations.push_back(std::move(own));
    ++n;
  }
  return Status::ok();
}

core::OwnRotations Home::own_rotations() const {
  core::OwnRotations own;
  for (const OwnRotation& r : rotations) {
    own.statements.push_back(r.statement);
    own.keys.push_back(r.signing);
  }
  return own;
}

const net::TlsIdentity& Home::tls_of(std::size_t n) const {
  return n == 0 ? tls : rotations.at(std::min(n, rotations.size()) - 1).tls;
}

Result<crypto::SigningKey> head_key_in(const Home& home,
                                       const std::vector<core::PutRotation>& in_log,
                                       std::uint64_t size) {
  for (const core::PutRotation& r : in_log) {
    if (r.n == 0 || r.n > home.rotations.size() ||
        home.rotations[r.n - 1].statement != r.statement) {
      return Status::data_loss(fmt::format(
          "the store holds our key rotation {} (entry {} of our log for '{}'), which is not "
          "this home's keys/rotations/{}.dsse",
          r.n, r.index, r.peer, r.n));
    }
  }
  // Our chain in that log, as the session builds it (core/stored_chain.h).
  ledger::KeyChain chain(home.config.party, home.keys.verify);
  if (Status s = core::extend_chain(chain, in_log); !s.is_ok()) {
    return Status::data_loss(s.message());
  }
  const ledger::KeyChain::Link& link = chain.head_link(size);
  return link.n == 0 ? home.keys.signing : home.rotations[link.n - 1].signing;
}

Result<crypto::SigningKey> newest_key_in(const Home& home,
                                         const std::vector<core::PutRotation>& in_log) {
  return head_key_in(home, in_log, std::numeric_limits<std::uint64_t>::max());
}

Result<std::uint64_t> rotation_pinned_by(const Home& home, const core::Recovered& recovered) {
  PARLEY_RETURN_IF_ERROR(newest_key_in(home, recovered.own_rotations).status());
  const std::uint64_t countersigned =
      recovered.ledger.countersigned ? recovered.ledger.countersigned->size : 0;
  std::uint64_t pinned = 0;
  for (const core::PutRotation& r : recovered.own_rotations) {
    if (r.index < countersigned) pinned = std::max(pinned, r.n);
  }
  return pinned;
}

Result<Rotated> rotate_home(const Home& home, Time now) {
  PARLEY_RETURN_IF_ERROR(crypto::init());
  crypto::SystemRng rng;
  const std::uint64_t n = home.rotations.size() + 1;
  const crypto::SigningKey& old_key =
      home.rotations.empty() ? home.keys.signing : home.rotations.back().signing;
  crypto::Keys fresh = crypto::generate_keys(rng);
  PARLEY_ASSIGN_OR_RETURN(const net::TlsIdentity tls, net::make_self_signed(home.config.party));
  PARLEY_ASSIGN_OR_RETURN(const std::string fingerprint, net::cert_fingerprint(tls.cert_pem));

  wire::Rotation r;
  r.id = uuid_v7(now, rng);
  r.party = home.config.party;
  r.n = n;
  r.old_sign_key = crypto::verify_key_of(old_key);
  r.new_sign_key = fresh.verify;
  r.new_tls_fingerprint = fingerprint;
  r.epoch = static_cast<std::uint32_t>(n + 1);
  r.created = now;
  const std::string statement = wire::sign_rotation(r, old_key, fresh.signing);

  // The keys first, then the statement: a rotation exists once its statement does.
  std::string sign_text = base64_encode(fresh.signing.bytes) + "\n";
  Status written = replace_file(sign_key_path(home.dir, n), sign_text, 0600);
  crypto::wipe({reinterpret_cast<std::uint8_t*>(sign_text.data()), sign_text.size()});
  crypto::wipe(fresh.signing.bytes);
  crypto::wipe(fresh.box_secret.bytes);
  if (written.is_ok()) written = replace_file(tls_key_path(home.dir, n), tls.key_pem, 0600);
  if (written.is_ok()) written = replace_file(tls_cert_path(home.dir, n), tls.cert_pem, 0644);
  if (written.is_ok()) written = sync_dir(home.dir / "keys");
  if (written.is_ok()) written = sync_dir(home.dir / "tls");
  PARLEY_RETURN_IF_ERROR(written);
  std::error_code ec;
  if (!fs::exists(rotations_dir(home.dir), ec)) {
    PARLEY_RETURN_IF_ERROR(make_dir(rotations_dir(home.dir)));
    PARLEY_RETURN_IF_ERROR(sync_dir(home.dir / "keys"));
  }
  PARLEY_RETURN_IF_ERROR(replace_file(statement_path(home.dir, n), statement, 0644));
  PARLEY_RETURN_IF_ERROR(sync_dir(rotations_dir(home.dir)));

  // What a gateway will load: the same checks it makes at start.
  Result<Home> reloaded = open_home(home.dir);
  if (!reloaded.is_ok()) {
    return Status::data_loss("the rotated home does not load: " + reloaded.status().message());
  }
  if (reloaded->rotations.size() != n) {
    return Status::data_loss(fmt::format("the rotated home holds {} rotations, expected {}",
                                         reloaded->rotations.size(), n));
  }
  return Rotated{n, r.new_sign_key, fingerprint, r.epoch, statement_path(home.dir, n)};
}

}  // namespace parley::gateway
