// checkpoint: a party's log heads in the transparency-log ecosystem's own formats, so that
// witnesses that know nothing of parley (litewitness, omniwitness, an ally's gateway) can
// check them. Pure code.
//
//   - C2SP signed-note: a text, a blank line, signature lines "— <name> base64(id || sig)";
//     verifier keys "<name>+<8 hex key ID>+base64(type || public key)".
//   - C2SP tlog-checkpoint: the note text "<origin>\n<size>\n<base64 root>\n".
//   - C2SP tlog-cosignature (cosignature/v1, Ed25519, key type 0x04): a witness's timestamped
//     signature over "cosignature/v1\ntime <t>\n" followed by the checkpoint text.
//
// The origin of the log that party O keeps for its traffic with peer P is
// "parley.example/O/P" (origin_of), and the checkpoints are signed with O's Ed25519 party
// key of that head (its key in force at the head's last entry, key_chain.h) under that very
// name (key type 0x01), as the checkpoint spec recommends and as witnesses that pin keys per
// origin expect. docs/transcript.md "Checkpoints" is the byte-level specification.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "parley/base/bytes.h"
#include "parley/base/status.h"
#include "parley/crypto/crypto.h"
#include "parley/ledger/merkle.h"

namespace parley::ledger {

// ---- Origins and key names ----
inline constexpr std::string_view kOriginPrefix = "parley.example/";
// "parley.example/<owner>/<peer>": unique to the owner of a log and its peer (party ids are
// [a-z0-9-], so neither part can contain the separator).
std::string origin_of(std::string_view owner, std::string_view peer);
// "parley.example/<party>": the name of the party's note key in its bundle; the key of each
// of its logs is the same public key under that log's origin.
std::string party_key_name(std::string_view party);

// ---- Signed notes (C2SP signed-note) ----
inline constexpr std::uint8_t kNoteKeyEd25519 = 0x01;
inline constexpr std::uint8_t kNoteKeyCosignature = 0x04;  // tlog-cosignature, Ed25519
inline constexpr std::size_t kNoteBytesMax = 65536;        // far above 16 signatures
inline constexpr std::size_t kNoteSignaturesMax = 100;     // the spec asks for at least 16
inline constexpr std::size_t kKeyNameBytesMax = 256;

// Key names: non-empty UTF-8 without Unicode spaces and without '+'.
bool is_valid_key_name(std::string_view name);
// SHA-256(name || 0x0A || type || public key)[:4], big-endian.
std::uint32_t note_key_id(std::string_view name, std::uint8_t type, const crypto::VerifyKey& key);

// A public key known under a name, with its signature type.
struct NoteVerifier {
  std::string name;
  std::uint8_t type = kNoteKeyEd25519;
  crypto::VerifyKey key;
  std::uint32_t id() const { return note_key_id(name, type, key); }
};
// "<name>+<8 lowercase hex key ID>+base64(type || key)".
std::string encode_verifier_key(const NoteVerifier& verifier);
// Strict: a valid name, 8 hex digits equal to the key ID computed from the rest, type 0x01
// or 0x04 followed by exactly 32 key bytes. kInvalidArgument saying what is wrong.
Result<NoteVerifier> parse_verifier_key(std::string_view text);

struct NoteSignature {
  std::string name;
  std::uint32_t id = 0;
  Bytes sig;  // after the key ID: 64 bytes (0x01) or 8 + 64 bytes (0x04)
  bool operator==(const NoteSignature&) const = default;
};
struct SignedNote {
  std::string text;  // ends in '\n'; may hold empty lines
  std::vector<NoteSignature> sigs;
};
// "— <name> base64(id || sig)\n".
std::string encode_signature_line(const NoteSignature& sig);
std::string encode_note(const SignedNote& note);
// Structure only, strictly per signed-note: UTF-8, no control characters but '\n', at most
// kNoteBytesMax bytes; the text ends in '\n' and is split from the signatures by the last
// empty line; at least one and at most kNoteSignaturesMax signature lines, each "— ", a
// valid key name, one space, canonical base64 of at least 5 bytes, '\n'. kInvalidArgument.
Result<SignedNote> parse_note(std::string_view note);
// The signatures of `note` by known keys, checked per signed-note: a signature whose name
// and key ID are not both those of a verifier is ignored; one that is must verify
// (kUnauthenticated naming the key otherwise); none verifying is kUnauthenticated "no
// signature by a known key". Returns, for each verifier, whether it signed. Type 0x04
// verifiers check cosignatures (as verify_cosignature).
Result<std::vector<bool>> verify_note(const SignedNote& note,
                                      const std::vector<NoteVerifier>& verifiers);

// ---- Checkpoints (C2SP tlog-checkpoint) ----
struct Checkpoint {
  std::string origin;
  std::uint64_t size = 0;
  Hash root{};
  std::vector<std::string> extensions;  // opaque, non-empty lines; parley writes none
  bool operator==(const Checkpoint&) const = default;
};
// "<origin>\n<size>\n<base64 root>\n" and one "<line>\n" per extension.
std::string checkpoint_text(const Checkpoint& checkpoint);
// At least three non-empty lines: a non-empty origin, the size in decimal without leading
// zeros (fitting 64 bits), the base64 of a 32-byte root, then non-empty extension lines.
// kInvalidArgument naming the bad line.
Result<Checkpoint> parse_checkpoint_text(std::string_view text);
// The checkpoint signed by `key` as an Ed25519 note key named `key_name` (normally the
// origin): the whole signed note.
std::string sign_checkpoint(const Checkpoint& checkpoint, const crypto::SigningKey& key,
                            std::string_view key_name);
// A checkpoint that the log's key signed.
struct OpenedCheckpoint {
  Checkpoint checkpoint;
  SignedNote note;
};
// Parses the note, verifies it with `log_key` (verify_note), then parses the text.
// kInvalidArgument (malformed), kUnauthenticated (no good signature by log_key).
Result<OpenedCheckpoint> open_checkpoint(std::string_view note, const NoteVerifier& log_key);

// ---- Cosignatures (C2SP tlog-cosignature, cosignature/v1) ----
// "cosignature/v1\ntime <time>\n" || checkpoint text.
std::string cosignature_message(std::string_view checkpoint_text, std::uint64_t time);
// The witness `name`'s cosignature (key type 0x04) at `time` (POSIX seconds, < 2^63).
NoteSignature cosign(std::string_view checkpoint_text, std::uint64_t time,
                     const crypto::SigningKey& key, std::string_view name);
// The timestamp of a cosignature by `witness` (a type 0x04 verifier) over the checkpoint
// text. kInvalidArgument if the name, key ID, length or timestamp are wrong;
// kUnauthenticated "bad cosignature" if the signature does not verify.
Result<std::uint64_t> verify_cosignature(const NoteSignature& sig, std::string_view checkpoint_text,
                                         const NoteVerifier& witness);

}  // namespace parley::ledger
