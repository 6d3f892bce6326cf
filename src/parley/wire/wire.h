// wire: the bytes parties exchange, and their parsers. To parse is to validate: a
// parse_* function either returns a fully checked value or a kInvalidArgument (or
// kUnauthenticated for a bad signature) Status with one line naming the bad field. No
// parser here ever CHECKs or throws on outside input; fuzz/ holds one target per parser.
//
// Envelope (DSSE, DESIGN.md "Envelope and signing"; the wrapper is dsse.h's, shared with the
// ledger's signed documents):
//   {"key": "<signer party>", "payload": "<base64 payload JSON>", "sig": "<base64 Ed25519>"}
// The signature covers pae(kEnvelopeDomain, payload bytes): no JSON canonicalization.
//
// Payload JSON:
//   {"v":1, "id":"<uuidv7>", "line":"saceur-cgs", "seq":42, "from":"us-eucom/saceur",
//    "to":"ru-genstaff/cgs", "precedence":"FLASH", "type":"notify.missile-launch",
//    "created":"2026-11-24T21:00:00.123Z", "expires":null, "reply_to":null, "lang":"en",
//    "epoch":1, "sealed":"<base64 nonce||ciphertext||tag>", "commitment":"<hex SHA-256>"}
// The sealed plaintext is salt(32 bytes) || content, where content is the JSON text
// {"body":{...},"text":"..."}; commitment = SHA-256(salt || content). Associated data for
// the seal is "<id>\n<line>". Anyone can check a signature without a decryption key; a
// party can later disclose (salt, content) and anyone can check it against commitment.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "parley/base/bytes.h"
#include "parley/base/status.h"
#include "parley/base/time.h"
#include "parley/crypto/crypto.h"
#include "parley/crypto/facts.h"

namespace parley::wire {

inline constexpr std::string_view kEnvelopeDomain = "application/vnd.parley.envelope.v1+json";
inline constexpr std::size_t kFrameBytesMax = 4 * 1024 * 1024;  // one transaction
inline constexpr std::size_t kContentBytesMax = 64 * 1024;      // one message's body+text
inline constexpr std::size_t kEnvelopesPerTransactionMax = 256;

enum class Precedence { kFlash = 0, kImmediate = 1, kPriority = 2, kRoutine = 3 };
std::string_view precedence_name(Precedence p);  // "FLASH", ...
// kInvalidArgument "unknown precedence 'X' (FLASH, IMMEDIATE, PRIORITY, ROUTINE)".
Result<Precedence> parse_precedence(std::string_view text);

// Identifier rules, shared by every parser and by the CLI:
// party and principal ids: 1-64 chars of [a-z0-9-], starting with a letter or digit.
// line ids: the same. A principal address is "party/principal".
bool is_valid_id(std::string_view id);
struct Address {
  std::string party;
  std::string principal;
  std::string to_string() const { return party + "/" + principal; }
  friend bool operator==(const Address&, const Address&) = default;
};
Result<Address> parse_address(std::string_view text);

// What a message says, before sealing: the JSON object body and the free text.
struct Content {
  std::string body_json = "{}";  // a JSON object, as text
  std::string text;              // may be empty
};

// The signed payload, as parsed (and still sealed).
struct Payload {
  std::string id;  // uuid
  std::string line;
  std::uint64_t seq = 0;  // >= 1
  Address from;
  Address to;
  Precedence precedence = Precedence::kRoutine;
  std::string type;  // catalog type, e.g. "text", "ack", "notify.missile-launch"
  // The version of `type` in the sender's catalog; 0 when the payload does not say (then
  // the receiver checks the body against its own version alone).
  std::uint32_t type_version = 0;
  Time created;
  std::optional<Time> expires;
  std::optional<std::string> reply_to;  // uuid
  std::string lang = "en";
  std::uint32_t epoch = 1;
  Bytes sealed;  // nonce || ciphertext || tag
  crypto::Digest commitment{};
};

// A signed envelope: the exact payload bytes, the signature, and the parsed payload.
struct Envelope {
  Bytes payload_bytes;
  std::array<std::uint8_t, crypto::kSignatureBytes> sig{};
  std::string key;  // signer party id
  Payload payload;
};

// What the sender knows before it seals and signs.
struct Draft {
  std::string id;
  std::string line;
  std::uint64_t seq = 0;
  Address from;
  Address to;
  Precedence precedence = Precedence::kRoutine;
  std::string type;
  std::uint32_t type_version = 0;  // 0: not written into the payload
  Time created;
  std::optional<Time> expires;
  std::optional<std::string> reply_to;
  std::string lang = "en";
  std::uint32_t epoch = 1;
  Content content;
};

// What seal_and_sign made: the signed envelope, and the commitment salt it drew. The salt
// travels only inside the seal; the sender keeps it to disclose the body later (to an ally,
// an arbiter), so it is handed back here rather than by opening our own seal again.
struct Sealed {
  Envelope envelope;
  Bytes salt;  // kSaltBytes
};

// Seals draft.content under `seal_key` (a fresh salt and nonce from `rng`), commits to it,
// encodes the payload JSON and signs it as party `signer`.
Sealed seal_and_sign(const Draft& draft, const crypto::SealKey& seal_key,
                     const crypto::SigningKey& signing_key, std::string_view signer, Rng& rng);

// The envelope as its canonical DSSE text {"key":..,"payload":..,"sig":..} (dsse.h).
std::string encode_envelope(const Envelope& envelope);
// Parses the DSSE JSON, checks the signature with `signer` (the pinned key of the party
// named in "key", which must equal `signer_party`) before reading one payload field, then
// parses and validates the payload. Errors: kInvalidArgument (malformed), kUnauthenticated
// (bad signature, or "key" is not `signer_party`). `known`: facts established ahead
// (crypto/facts.h) that may answer the signature check; null: none.
Result<Envelope> open_envelope(std::string_view json, const crypto::VerifyKey& signer,
                               std::string_view signer_party, const crypto::Facts* known = nullptr);

// Decrypts and checks an envelope's content against its commitment. kUnauthenticated if the
// seal or the commitment fails; kInvalidArgument if the content is not {"body":{..},"text":".."}.
struct Opened {
  Content content;
  Bytes salt;  // 32 bytes, for later disclosure
};
// `known` as open_envelope's, for the opening of the seal.
Result<Opened> open_content(const Payload& payload, const crypto::SealKey& seal_key,
                            const crypto::Facts* known = nullptr);
// The associated data of an envelope's seal (its id and line): what open_content opens with.
Bytes content_associated_data(std::string_view id, std::string_view line);

// The federation protocol's version: the "v" of every transaction (docs/protocol.md). A
// gateway takes only its own version; `parley --version` and GET /api/v1/version report it.
inline constexpr int kProtocolVersion = 2;

// A transaction (v2): a batch of envelopes from one party to another, idempotent by id,
// carrying the sender's signed tree head and the proofs that tie the envelopes to it
// (docs/protocol.md "Transactions"; the ledger's formats are in ledger/formats.h):
//   {"v":2, "tx":"<uuid>", "from":"us-eucom", "to":"ru-genstaff",
//    "sth":<the sender's signed tree head, a DSSE object>,
//    "entries":[{"index":i, "envelope":<envelope>, "proof":["<hex>",...]}, ...],
//    "consistency":[{"from_size":M, "from_root":"<hex>", "proof":["<hex>",...]}, ...]}
// Each entry is an envelope of the sender's log with its leaf index and its RFC 6962
// inclusion proof in the tree of the sth; each consistency item proves that the sender's
// earlier tree of from_size leaves (root from_root) is a prefix of the sth's tree.
inline constexpr std::size_t kProofHashesMax = 64;       // a path in a tree of < 2^64 leaves
inline constexpr std::size_t kConsistencyItemsMax = 64;  // heads a receiver may hold
// An entry is an envelope, or a key rotation statement (wire/rotation.h), which travels as
// {"index":i,"rotation":<statement>,"proof":[..]}: `rotation` says which, `envelope` holds
// either text. The name is not signed; the signature's domain is, so an entry read as the
// wrong kind does not verify.
struct TransactionEntry {
  std::uint64_t index = 0;
  std::string envelope;  // the encoded envelope or statement (JSON text), not yet verified
  std::vector<crypto::Digest> proof;
  bool rotation = false;
};
struct ConsistencyItem {
  std::uint64_t from_size = 0;
  crypto::Digest from_root{};
  std::vector<crypto::Digest> proof;
};
struct Transaction {
  std::string id;
  std::string from;  // party
  std::string to;    // party
  // The size of the sender's head the receiver must hold before it handles this transaction
  // (docs/protocol.md "Transaction window"); absent: no order is asked for.
  std::optional<std::uint64_t> after;
  // The receiver's key the sender checks the receipt with: the number of the receiver's newest
  // key rotation it had pinned when it built this transaction (0: none, the bundle's key).
  // The receiver signs its receipt with that key (docs/protocol.md "Key rotation"); absent:
  // with the key of its newest rotation a receipt of the sender's covers.
  std::optional<std::uint64_t> pinned;
  std::string sth;  // the sender's signed tree head (DSSE JSON text), not yet verified
  std::vector<TransactionEntry> entries;
  std::vector<ConsistencyItem> consistency;
};
std::string encode_transaction(const Transaction& tx);
// Validates structure only (ids, sizes, counts <= kEnvelopesPerTransactionMax, distinct
// indices, proofs of at most kProofHashesMax hashes, total size <= kFrameBytesMax); the sth
// and each envelope are opened separately (ledger::open_sth, open_envelope).
Result<Transaction> parse_transaction(std::string_view json);

// The signed tree head (STH) a transaction carries and the receipt (v2) that answers it
// are the transcript's formats: ledger/formats.h.

// A refusal: the receiver's answer to a transaction it will not store.
//   {"error":"<one line>", "id":"<envelope id or empty>"}
struct Refusal {
  std::string error;
  std::string id;
};
std::string encode_refusal(const Refusal& refusal);
Result<Refusal> parse_refusal(std::string_view json);

// A party's public card, exchanged out of band and then pinned.
//   {"v":1, "party":"us-eucom", "sign_key":"<b64>", "box_key":"<b64>",
//    "tls_fingerprint":"<64 lowercase hex: SHA-256 of the certificate DER>",
//    "federation":["127.0.0.1:7001", ...], "lang":"en", "note_key":"<verifier key>"}
// "note_key" (absent from bundles written before it) is bundle_note_key(): encode_bundle
// writes it and parse_bundle refuses one that differs, so it is no field of its own.
// Version 2 adds "translators": ["interpreter", ...], the party's principals with the
// translator role (core/translation.h), whose translations the peer accepts on any line with
// this party. encode_bundle writes v2 only for a party that has translators, so the bundle of
// one that has none is the v1 bundle it always was; parse_bundle reads both.
inline constexpr std::size_t kBundleTranslatorsMax = 64;
struct Bundle {
  std::string party;
  crypto::VerifyKey sign_key;
  crypto::BoxPublicKey box_key;
  std::string tls_fingerprint;
  std::vector<std::string> federation;  // HOST:PORT, primary first; at least one
  std::string lang = "en";
  std::vector<std::string> translators;  // principal ids, sorted, distinct (v2)
};
std::string encode_bundle(const Bundle& bundle);
// The party's C2SP signed-note verifier key, "parley.example/<party>+<key ID>+base64(0x01 ||
// sign_key)" (docs/transcript.md "Checkpoints"): the key that signs the checkpoints of its
// logs, each under that log's origin, "parley.example/<party>/<peer>". ledger/checkpoint.h
// computes the same (its test holds them equal); wire sits below ledger.
std::string bundle_note_key(const Bundle& bundle);
// Every field checked: keys of the right length (and the box key not a low-order point),
// fingerprint 64 hex, at least one federation address of the form HOST:PORT, port 1-65535.
Result<Bundle> parse_bundle(std::string_view json);

// The one parser of addresses in parley: bundles, parley.toml, the CLI's --federation, --api
// and --api URL, the federation client and the tests all read HOST:PORT here (wire is the
// lowest layer that reads one, and every other user sits above it). "HOST:PORT" (a name or
// IPv4 address) or "[V6]:PORT"; port 1-65535 in decimal digits. kInvalidArgument saying what
// is wrong (no port, empty host, bad port, port out of range, ...) otherwise.
struct HostPort {
  std::string host;
  std::uint16_t port = 0;
};
Result<HostPort> parse_host_port(std::string_view text);

}  // namespace parley::wire
