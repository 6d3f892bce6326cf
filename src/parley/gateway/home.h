// A gateway's home directory: its config, keys, TLS identity, store and operator token.
//
//   DIR/parley.toml        the config (below); written by `parley init`, read with toml++;
//                          or a symlink to the file given to `parley init --config`
//   DIR/keys/sign.key      Ed25519 secret key, base64, mode 0600: the key of the published
//                          bundle, never replaced (the chain of our keys starts from it)
//   DIR/keys/box.key       X25519 secret key, base64, mode 0600
//   DIR/tls/key.pem        TLS private key, mode 0600
//   DIR/tls/cert.pem       TLS self-signed certificate (its fingerprint is in the bundle)
//
// Our key rotations (`parley rotate`, rotate_home below; docs/protocol.md "Key rotation"),
// for N = 1, 2, ...: rotation N is made of
//   DIR/keys/rotations/N.dsse   its statement (DSSE JSON, exactly the entry of our logs),
//                               signed by the key it replaces (sign.key for N = 1, else
//                               sign.<N-1>.key), mode 0644
//   DIR/keys/sign.N.key         the signing key it puts in force, base64, mode 0600
//   DIR/tls/key.N.pem           the federation TLS key it announces, mode 0600
//   DIR/tls/cert.N.pem          its certificate (the statement's new_tls_fingerprint)
// A rotation exists once its statement does: `parley rotate` writes the three key files
// first (fsynced), then the statement under a temporary name, renamed into place and the
// directory fsynced, so an interrupted run leaves the rotations as they were (and files of
// rotation N without a statement, which the next run replaces). Every key stays: the replaced
// ones sign what our logs hold before each rotation and what a peer checks with the key it
// pinned until it countersigned the statement. The statements are numbered from 1 without a
// gap, and each must open with the key before it, name the next n and epoch, and name the
// public key of its sign.N.key and the fingerprint of its cert.N.pem: open_home refuses a
// home where they do not (kDataLoss naming the file), so a gateway does not start with keys
// that do not hold together. A second `parley rotate` before the gateway sent the first is
// allowed: rotation N + 1 chains on N, and the gateway appends every statement a peer's log
// lacks, in order.
//   DIR/tls/api-key.pem    the API's TLS private key (ECDSA P-256), mode 0600
//   DIR/tls/api-cert.pem   the API's self-signed certificate, served when [api] tls = true
//                          (unless [api] cert/key name the operator's own); principals pin
//                          its fingerprint (`parley init` prints it)
//   DIR/operator.token     the operator's local API credential, mode 0600
//   DIR/parley.db          the SQLite store (path configurable), unless [store] url names a
//                          PostgreSQL database; encrypted (SQLCipher) with the store key
//   DIR.store-key          (beside DIR, outside it) the store key `parley init` makes: 64 hex
//                          digits, mode 0600 ([store] key_file; or the systemd credential
//                          parley-store-key; docs/operations.md "The store at rest")
//   DIR/gateway.lock       the running gateway's pid; flock(2)ed while it runs (HomeLock)
//   STORE.lock             the same beside a SQLite store (DIR/parley.db.lock by default)
//
// parley.toml (config.h reads it):
//   [party]
//   id = "us-eucom"
//   lang = "en"
//   [federation]
//   listen = ["127.0.0.1:7001"]     # also the addresses published in the bundle
//   heartbeat = "200ms"             # heartbeat interval on every path to every peer
//   [api]
//   listen = "127.0.0.1:7080"       # plain HTTP on loopback only; elsewhere tls = true
//   tls = false                     # HTTPS (TLS 1.3) with cert/key (config.h)
//   [store]
//   path = "parley.db"             # SQLite (the default), relative to DIR; or, not both:
//   url = "postgresql://parley@db.example:5432/parley"   # PostgreSQL (libpq URL)
//   [log]
//   level = "info"                 # trace, debug, info, warn, error
//
// A bad config is refused with "<file>:<line>: <reason>" (kInvalidArgument).
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "parley/base/status.h"
#include "parley/base/time.h"
#include "parley/core/model.h"
#include "parley/crypto/crypto.h"
#include "parley/gateway/config.h"
#include "parley/net/net.h"
#include "parley/store/store.h"
#include "parley/wire/rotation.h"
#include "parley/wire/wire.h"

namespace parley::gateway {

struct InitOptions {
  std::filesystem::path home;
  std::string party;
  std::vector<std::string> federation = {"127.0.0.1:7001"};
  // What the bundle publishes instead of `federation` ([federation] advertise); needed when
  // `federation` holds a wildcard address (0.0.0.0, [::]).
  std::vector<std::string> advertise;
  std::string api = "127.0.0.1:7080";
  // Serve the API over TLS (api.tls = true) even on loopback; always so when `api` is not a
  // loopback address.
  bool api_tls = false;
  std::string lang = "en";
  std::string store_url;  // a PostgreSQL URL (parley init --store); empty: SQLite in the home
  std::string store_path = "parley.db";  // the SQLite store, relative to the home or absolute
  // The SQLite store encrypted at rest ([store] encrypt; false: `parley init --no-encrypt`),
  // with the key in `store_key_file` (absolute, outside the home; made with a random key if
  // missing; empty: DIR.store-key beside the home).
  bool encrypt = true;
  std::filesystem::path store_key_file;
  // `parley init --config FILE`: an existing parley.toml (the Debian package's conffile,
  // /etc/parley/parley.toml) to use instead of writing one. The options above are then read
  // from it, and DIR/parley.toml is made a symlink to its absolute path, so that the file
  // the operator (and dpkg) keeps is the one the gateway reads.
  std::filesystem::path config_file;
};

// One of our key rotations (files above).
struct OwnRotation {
  std::string statement;       // keys/rotations/N.dsse, exactly
  wire::Rotation rotation;     // the same, opened
  crypto::SigningKey signing;  // keys/sign.N.key
  net::TlsIdentity tls;        // tls/cert.N.pem, tls/key.N.pem
};

struct Home {
  std::filesystem::path dir;
  Config config;
  // The keys of the published bundle (keys/sign.key, keys/box.key), whatever our rotations:
  // what observers and witnesses know us by, and the first link of the chain of our keys.
  crypto::Keys keys;
  net::TlsIdentity tls;  // the bundle's federation identity (tls/cert.pem, tls/key.pem)
  std::string tls_fingerprint;
  // Our key rotations, n = 1, 2, ... (rotations[0] is rotation 1); empty if none.
  std::vector<OwnRotation> rotations;
  // The statements and keys of `rotations`, as the core takes them (core::SessionConfig::own).
  core::OwnRotations own_rotations() const;
  // The federation identity in force after rotation `n` (0: the bundle's; at most
  // rotations.size()).
  const net::TlsIdentity& tls_of(std::size_t n) const;
  // The API's certificate and key, and the certificate's SHA-256 fingerprint, when
  // config.api_tls (empty otherwise).
  net::TlsIdentity api_tls;
  std::string api_fingerprint;
  std::string operator_token;
  std::filesystem::path store_path() const;  // config.store_path resolved against dir
  // Where the store is, for messages: the SQLite path, or the PostgreSQL URL (config.store_url
  // is written by the operator; a password in it is theirs to keep out of the file).
  std::string store_location() const;
  // config.api_cert and config.api_key resolved against dir.
  std::filesystem::path api_cert_path() const;
  std::filesystem::path api_key_path() const;
};

// The names the API certificate `parley init` makes is valid for: the host of `api` (unless a
// wildcard), localhost, 127.0.0.1, ::1 and `hostname` (this machine's name, if not empty).
std::vector<std::string> api_certificate_names(const wire::HostPort& api,
                                               const std::string& hostname);

// The name of the store key's systemd credential: $CREDENTIALS_DIRECTORY/parley-store-key,
// from the unit's LoadCredential=parley-store-key:FILE (packaging/parley.service).
inline constexpr std::string_view kStoreKeyCredential = "parley-store-key";

// The SQLite store's key (store::kStoreKeySize bytes) for `config` in the home `dir`: the
// systemd credential if the process has one, else [store] key_file. Empty for PostgreSQL or
// with encrypt = false. A key file must be a regular file that neither group nor others may
// access, outside `dir` and the store's directory, holding 64 hex digits; else, and when
// encrypt is on and no key is configured, an error "FILE:LINE: reason" (the config's line
// of key_file, or the credential's path).
Result<Bytes> load_store_key(const Config& config, const std::filesystem::path& dir);

// The marker `parley restore` leaves beside the SQLite store (STORE.restored): while it is
// there, the gateway recovers its logs from every peer at start before it signs anything new
// (core::SessionConfig::recovery_required), and removes it once all are recovered.
std::filesystem::path restore_marker_path(const Home& home);

// Opens the home's store: PostgreSQL if config.store_url is set, else SQLite at
// store_path(), with load_store_key's key. A missing SQLite file is a broken home (kDataLoss:
// `parley init` creates it) unless `create_sqlite` (the daemon, which always created it). Errors as
// open_sqlite_store and open_postgres_store give them, prefixed "opening the store: ".
Result<std::unique_ptr<store::Store>> open_store(const Home& home, bool create_sqlite = false);

// `parley store encrypt`: converts the home's plaintext SQLite store into one encrypted with
// the store key its config names (load_store_key; a store.key_file that does not exist yet is
// made with a random key, mode 0600). The config must have encrypt on. The store is copied
// into STORE.encrypting with sqlcipher_export, fsynced, opened with the key to check it, then
// renamed over the plaintext file. The caller holds the HomeLock (no gateway runs).
// kFailedPrecondition if the store is PostgreSQL, encrypt is false, or STORE.encrypting is
// left from an interrupted run; the plaintext store is untouched by any failure.
Status encrypt_store(const Home& home);

// Creates the home: the directory (which must not exist, or be empty), keys, a self-signed
// TLS certificate for the federation and another for the API (the API's is made even when it
// stays plain HTTP on loopback, so that turning api.tls on needs nothing else), the config, an
// empty store, and the operator token. Validates every
// option first (party id, addresses, lang); kAlreadyExists if DIR already holds a home.
// With `config_file`, its errors as parse_config gives them ("<file>:<line>: <reason>").
Status init_home(const InitOptions& options);

// Loads everything but the store (the API's certificate and key only when config.api_tls;
// kDataLoss naming the file if one is missing or unusable). kNotFound "no parley home at DIR
// (run parley init)".
Result<Home> open_home(const std::filesystem::path& dir);

// This party's public bundle. After a key rotation it still publishes the first key and
// certificate (the chain of our keys starts there, in every log: a peer pinned later follows it
// through our rotation entries).
wire::Bundle bundle_of(const Home& home);

// What `parley rotate` did: the rotation made.
struct Rotated {
  std::uint64_t n = 0;
  crypto::VerifyKey key;        // the new signing key
  std::string tls_fingerprint;  // the new certificate's
  std::uint32_t epoch = 0;      // the new seal epoch
  std::filesystem::path statement;
};

// Our signing key for a head of `size` entries of our log for one peer (`in_log`: our
// rotations in that log, as the store holds them, in index order: Recovered::own_rotations, or
// the peer's rows of Store::rotations(our party)): the key in force at its last entry along our
// chain in that log (ledger/key_chain.h head_key: the bundle's key, then each rotation's new
// key for the heads after the one that first holds its statement). What our checkpoints of
// that log are signed with (witness.h our_checkpoint). kDataLoss if the store holds a rotation
// that is not this home's, or rotations that do not chain (core::extend_chain's message).
Result<crypto::SigningKey> head_key_in(const Home& home,
                                       const std::vector<core::PutRotation>& in_log,
                                       std::uint64_t size);
// The signing key of the newest of our rotations `in_log`, our bundle's if none: head_key_in
// of a head past them all, what an export of that log signs its manifest with
// (docs/transcript.md: the exporter's newest key, the last of the chain its own log holds).
// head_key_in's errors.
Result<crypto::SigningKey> newest_key_in(const Home& home,
                                         const std::vector<core::PutRotation>& in_log);

// Of our rotations in our log for one peer (`recovered`: what the store holds for it), the
// newest the peer countersigned (a head of ours it receipted holds the statement: it pinned
// that key), 0 for none: the key and certificate it checks us with. kDataLoss as newest_key_in.
Result<std::uint64_t> rotation_pinned_by(const Home& home, const core::Recovered& recovered);

// `parley rotate`: replaces our signing key, federation certificate and seal epoch with a new
// rotation (files above): a fresh Ed25519 key and a self-signed certificate made as `parley
// init` makes them, the statement signed by the key in force (the newest) with the new key's
// possession, n the next number, epoch n + 1, `now` its time. The caller holds the HomeLock (no
// gateway runs). Files of an interrupted run at rotation n (no statement) are replaced.
// kUnavailable if a file cannot be written (the rotations stay as they were); kDataLoss if the
// home written does not load back.
Result<Rotated> rotate_home(const Home& home, Time now);

// One gateway per home and per store: an exclusive flock(2) on DIR/gateway.lock and, for a
// SQLite store, on STORE.lock (the store path is configurable and may lie outside the home,
// or be shared by two homes by mistake), each file holding the holder's pid. A PostgreSQL
// store has no file to lock: only the home is locked. The kernel releases the locks
// when the process ends, however it ends (SIGKILL included), so a file left behind never
// blocks a restart; the files are never removed. Other commands (peer add, principal add,
// line add, transcript export) do not take it.
class HomeLock {
 public:
  // Takes both locks, without waiting. kFailedPrecondition "... in use by another parley
  // gateway (pid N holds FILE)" if another process holds one (nothing is then held);
  // kUnavailable if a lock file cannot be opened, locked or written.
  static Result<HomeLock> acquire(const Home& home);

  HomeLock(HomeLock&& other) noexcept;
  HomeLock& operator=(HomeLock&& other) noexcept;
  HomeLock(const HomeLock&) = delete;
  HomeLock& operator=(const HomeLock&) = delete;
  ~HomeLock();  // releases the locks

 private:
  HomeLock() = default;
  void release();

  std::vector<int> fds_;
};

}  // namespace parley::gateway
