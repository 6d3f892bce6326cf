#include "parley/ledger/checkpoint.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <limits>
#include <utility>

#include "parley/base/check.h"

namespace parley::ledger {

namespace {

// U+2014 EM DASH and a space: the start of every signature line (signed-note).
constexpr std::string_view kSignaturePrefix = "\xE2\x80\x94 ";
constexpr std::string_view kCosignatureHeader = "cosignature/v1\n";
constexpr std::size_t kKeyIdBytes = 4;
constexpr std::size_t kTimestampBytes = 8;

// One UTF-8 code point at the start of `text` and its length in bytes, or nullopt if the
// bytes there are not well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates).
std::optional<std::pair<char32_t, std::size_t>> decode_utf8(std::string_view text) {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char first = byte(0);
  if (first < 0x80) return std::pair<char32_t, std::size_t>{first, 1};
  // The lead byte gives the length, its payload bits and the smallest code point that needs
  // that length (anything below is an overlong form).
  struct Form {
    unsigned char mask, lead, bits;
    std::size_t length;
    char32_t min;
  };
  static constexpr std::array<Form, 3> kForms = {
      {{0xE0, 0xC0, 0x1F, 2, 0x80}, {0xF0, 0xE0, 0x0F, 3, 0x800}, {0xF8, 0xF0, 0x07, 4, 0x10000}}};
  const auto form = std::find_if(kForms.begin(), kForms.end(),
                                 [&](const Form& f) { return (first & f.mask) == f.lead; });
  if (form == kForms.end()) return std::nullopt;
  const std::size_t length = form->length;
  const char32_t min = form->min;
  char32_t cp = first & form->bits;
  if (text.size() < length) return std::nullopt;
  for (std::size_t i = 1; i < length; ++i) {
    if ((byte(i) & 0xC0) != 0x80) return std::nullopt;
    cp = (cp << 6) | (byte(i) & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return std::nullopt;
  return std::pair<char32_t, std::size_t>{cp, length};
}

// Unicode White_Space (what Go's unicode.IsSpace, used by the reference verifier, finds).
bool is_unicode_space(char32_t cp) {
  return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
         (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F ||
         cp == 0x205F || cp == 0x3000;
}

// signed-note: valid UTF-8 and no ASCII control character but the newline.
Status check_note_characters(std::string_view text) {
  while (!text.empty()) {
    const auto decoded = decode_utf8(text);
    if (!decoded) return Status::invalid_argument("note is not valid UTF-8");
    if (decoded->first < 0x20 && decoded->first != '\n') {
      return Status::invalid_argument("note holds a control character");
    }
    text.remove_prefix(decoded->second);
  }
  return Status::ok();
}

void put_be(Bytes& out, std::uint64_t value, std::size_t bytes) {
  for (std::size_t i = bytes; i-- > 0;) out.push_back(static_cast<std::uint8_t>(value >> (8 * i)));
}

std::uint64_t get_be(ByteView in) {
  std::uint64_t value = 0;
  for (const std::uint8_t b : in) value = (value << 8) | b;
  return value;
}

std::string key_id_hex(std::uint32_t id) {
  Bytes bytes;
  put_be(bytes, id, kKeyIdBytes);
  return hex_encode(bytes);
}

// A decimal without leading zeros ("0" alone may start with 0) that fits 64 bits.
Result<std::uint64_t> parse_decimal(std::string_view text) {
  const bool digits = !text.empty() && std::all_of(text.begin(), text.end(),
                                                   [](char c) { return c >= '0' && c <= '9'; });
  if (!digits || (text.size() > 1 && text.front() == '0')) {
    return Status::invalid_argument("expected a decimal without leading zeros");
  }
  std::uint64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) {
    return Status::invalid_argument("decimal out of range");
  }
  return value;
}

// The lines of a text that ends in '\n', without their newlines.
std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty()) {
    const auto end = text.find('\n');
    lines.push_back(text.substr(0, end));
    text.remove_prefix(end + 1);
  }
  return lines;
}

Result<NoteSignature> parse_signature_line(std::string_view line) {
  if (line.substr(0, kSignaturePrefix.size()) != kSignaturePrefix) {
    return Status::invalid_argument("a signature line must start with an em dash and a space");
  }
  line.remove_prefix(kSignaturePrefix.size());
  const auto space = line.find(' ');
  if (space == std::string_view::npos) {
    return Status::invalid_argument("a signature line needs a key name, a space, a signature");
  }
  NoteSignature sig;
  sig.name = std::string(line.substr(0, space));
  if (!is_valid_key_name(sig.name)) {
    return Status::invalid_argument("bad key name in a signature line");
  }
  auto bytes = base64_decode(line.substr(space + 1));
  if (!bytes.is_ok() || bytes->size() <= kKeyIdBytes) {
    return Status::invalid_argument("a signature must be base64 of a key ID and a signature");
  }
  sig.id = static_cast<std::uint32_t>(get_be(ByteView(*bytes).first(kKeyIdBytes)));
  sig.sig.assign(bytes->begin() + kKeyIdBytes, bytes->end());
  return sig;
}

Status verify_signature(const NoteSignature& sig, std::string_view text,
                        const NoteVerifier& verifier) {
  if (verifier.type == kNoteKeyCosignature) return verify_cosignature(sig, text, verifier).status();
  if (verifier.type != kNoteKeyEd25519 || sig.sig.size() != crypto::kSignatureBytes ||
      !crypto::ed25519_verify(verifier.key, as_bytes(text), sig.sig).is_ok()) {
    return Status::unauthenticated("bad signature by the key " + verifier.name);
  }
  return Status::ok();
}

}  // namespace

std::string origin_of(std::string_view owner, std::string_view peer) {
  return std::string(kOriginPrefix) + std::string(owner) + "/" + std::string(peer);
}

std::string party_key_name(std::string_view party) {
  return std::string(kOriginPrefix) + std::string(party);
}

bool is_valid_key_name(std::string_view name) {
  if (name.empty() || name.size() > kKeyNameBytesMax) return false;
  while (!name.empty()) {
    const auto decoded = decode_utf8(name);
    if (!decoded || decoded->first < 0x20 || decoded->first == '+' ||
        is_unicode_space(decoded->first)) {
      return false;
    }
    name.remove_prefix(decoded->second);
  }
  return true;
}

std::uint32_t note_key_id(std::string_view name, std::uint8_t type, const crypto::VerifyKey& key) {
  crypto::Sha256 sha;
  sha.update(as_bytes(name));
  const std::array<std::uint8_t, 2> separator = {'\n', type};
  sha.update(separator);
  sha.update(key.bytes);
  const crypto::Digest digest = sha.finish();
  return static_cast<std::uint32_t>(get_be(ByteView(digest).first(kKeyIdBytes)));
}

std::string encode_verifier_key(const NoteVerifier& verifier) {
  Bytes key{verifier.type};
  key.insert(key.end(), verifier.key.bytes.begin(), verifier.key.bytes.end());
  return verifier.name + "+" + key_id_hex(verifier.id()) + "+" + base64_encode(key);
}

Result<NoteVerifier> parse_verifier_key(std::string_view text) {
  // The name holds no '+', so the first two split the fields (base64 itself may hold '+').
  const auto first = text.find('+');
  const auto second = first == std::string_view::npos ? first : text.find('+', first + 1);
  if (second == std::string_view::npos) {
    return Status::invalid_argument("verifier key: expected NAME+KEYID+KEY");
  }
  NoteVerifier out;
  out.name = std::string(text.substr(0, first));
  if (!is_valid_key_name(out.name)) return Status::invalid_argument("verifier key: bad name");
  const std::string_view id = text.substr(first + 1, second - first - 1);
  auto key = base64_decode(text.substr(second + 1));
  if (!key.is_ok() || key->size() != 1 + crypto::kSignPublicBytes) {
    return Status::invalid_argument("verifier key: expected base64 of a type byte and 32 bytes");
  }
  out.type = key->front();
  if (out.type != kNoteKeyEd25519 && out.type != kNoteKeyCosignature) {
    return Status::invalid_argument("verifier key: unknown key type (0x01, 0x04)");
  }
  std::copy(key->begin() + 1, key->end(), out.key.bytes.begin());
  if (id != key_id_hex(out.id())) {
    return Status::invalid_argument("verifier key: the key ID is not that of the name and key");
  }
  return out;
}

std::string encode_signature_line(const NoteSignature& sig) {
  Bytes bytes;
  put_be(bytes, sig.id, kKeyIdBytes);
  bytes.insert(bytes.end(), sig.sig.begin(), sig.sig.end());
  return std::string(kSignaturePrefix) + sig.name + " " + base64_encode(bytes) + "\n";
}

std::string encode_note(const SignedNote& note) {
  std::string out = note.text + "\n";
  for (const NoteSignature& sig : note.sigs) out += encode_signature_line(sig);
  return out;
}

Result<SignedNote> parse_note(std::string_view note) {
  if (note.size() > kNoteBytesMax) {
    return Status::invalid_argument("note larger than " + std::to_string(kNoteBytesMax) + " bytes");
  }
  PARLEY_RETURN_IF_ERROR(check_note_characters(note));
  const auto split = note.rfind("\n\n");
  if (split == std::string_view::npos) {
    return Status::invalid_argument("note: no empty line before the signatures");
  }
  std::string_view sigs = note.substr(split + 2);
  if (sigs.empty() || sigs.back() != '\n') {
    return Status::invalid_argument("note: the signature lines must end in a newline");
  }
  SignedNote out;
  out.text = std::string(note.substr(0, split + 1));
  for (const std::string_view line : split_lines(sigs)) {
    if (out.sigs.size() == kNoteSignaturesMax) {
      return Status::invalid_argument("note: more than " + std::to_string(kNoteSignaturesMax) +
                                      " signatures");
    }
    PARLEY_ASSIGN_OR_RETURN(NoteSignature sig, parse_signature_line(line));
    out.sigs.push_back(std::move(sig));
  }
  return out;
}

Result<std::vector<bool>> verify_note(const SignedNote& note,
                                      const std::vector<NoteVerifier>& verifiers) {
  std::vector<bool> signed_by(verifiers.size(), false);
  std::vector<std::uint32_t> ids;
  for (const NoteVerifier& verifier : verifiers) ids.push_back(verifier.id());
  for (const NoteSignature& sig : note.sigs) {
    for (std::size_t i = 0; i < verifiers.size(); ++i) {
      // signed-note: only a key whose name and ID both match is known; others are ignored.
      if (verifiers[i].name != sig.name || ids[i] != sig.id) continue;
      PARLEY_RETURN_IF_ERROR(verify_signature(sig, note.text, verifiers[i]));
      signed_by[i] = true;
    }
  }
  if (std::find(signed_by.begin(), signed_by.end(), true) == signed_by.end()) {
    return Status::unauthenticated("note: no signature by a known key");
  }
  return signed_by;
}

std::string checkpoint_text(const Checkpoint& checkpoint) {
  std::string out = checkpoint.origin + "\n" + std::to_string(checkpoint.size) + "\n" +
                    base64_encode(checkpoint.root) + "\n";
  for (const std::string& line : checkpoint.extensions) out += line + "\n";
  return out;
}

Result<Checkpoint> parse_checkpoint_text(std::string_view text) {
  if (text.empty() || text.back() != '\n') {
    return Status::invalid_argument("checkpoint: the text must end in a newline");
  }
  const std::vector<std::string_view> lines = split_lines(text);
  if (lines.size() < 3) return Status::invalid_argument("checkpoint: fewer than three lines");
  if (std::any_of(lines.begin(), lines.end(), [](std::string_view l) { return l.empty(); })) {
    return Status::invalid_argument("checkpoint: an empty line");
  }
  Checkpoint out;
  out.origin = std::string(lines[0]);
  auto size = parse_decimal(lines[1]);
  if (!size.is_ok()) return size.status().with_context("checkpoint: tree size");
  out.size = *size;
  auto root = base64_decode(lines[2]);
  if (!root.is_ok() || root->size() != out.root.size()) {
    return Status::invalid_argument("checkpoint: the root hash must be base64 of 32 bytes");
  }
  std::copy(root->begin(), root->end(), out.root.begin());
  out.extensions.assign(lines.begin() + 3, lines.end());
  return out;
}

std::string sign_checkpoint(const Checkpoint& checkpoint, const crypto::SigningKey& key,
                            std::string_view key_name) {
  SignedNote note;
  note.text = checkpoint_text(checkpoint);
  const auto sig = crypto::ed25519_sign(key, as_bytes(note.text));
  note.sigs.push_back({std::string(key_name),
                       note_key_id(key_name, kNoteKeyEd25519, crypto::verify_key_of(key)),
                       Bytes(sig.begin(), sig.end())});
  return encode_note(note);
}

Result<OpenedCheckpoint> open_checkpoint(std::string_view note, const NoteVerifier& log_key) {
  OpenedCheckpoint out;
  PARLEY_ASSIGN_OR_RETURN(out.note, parse_note(note));
  PARLEY_RETURN_IF_ERROR(verify_note(out.note, {log_key}).status());
  PARLEY_ASSIGN_OR_RETURN(out.checkpoint, parse_checkpoint_text(out.note.text));
  return out;
}

std::string cosignature_message(std::string_view checkpoint_text, std::uint64_t time) {
  return std::string(kCosignatureHeader) + "time " + std::to_string(time) + "\n" +
         std::string(checkpoint_text);
}

NoteSignature cosign(std::string_view checkpoint_text, std::uint64_t time,
                     const crypto::SigningKey& key, std::string_view name) {
  PARLEY_CHECK(time <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()));
  NoteSignature out{
      std::string(name), note_key_id(name, kNoteKeyCosignature, crypto::verify_key_of(key)), {}};
  put_be(out.sig, time, kTimestampBytes);
  const auto sig = crypto::ed25519_sign(key, as_bytes(cosignature_message(checkpoint_text, time)));
  out.sig.insert(out.sig.end(), sig.begin(), sig.end());
  return out;
}

Result<std::uint64_t> verify_cosignature(const NoteSignature& sig, std::string_view checkpoint_text,
                                         const NoteVerifier& witness) {
  if (witness.type != kNoteKeyCosignature || sig.name != witness.name || sig.id != witness.id()) {
    return Status::invalid_argument("cosignature: not by the witness key " + witness.name);
  }
  if (sig.sig.size() != kTimestampBytes + crypto::kSignatureBytes) {
    return Status::invalid_argument("cosignature: expected 8 + 64 bytes");
  }
  const std::uint64_t time = get_be(ByteView(sig.sig).first(kTimestampBytes));
  if (time > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
    return Status::invalid_argument("cosignature: timestamp above 2^63 - 1");
  }
  const std::string message = cosignature_message(checkpoint_text, time);
  if (!crypto::ed25519_verify(witness.key, as_bytes(message),
                              ByteView(sig.sig).subspan(kTimestampBytes))
           .is_ok()) {
    return Status::unauthenticated("bad cosignature by the witness key " + witness.name);
  }
  return time;
}

}  // namespace parley::ledger
