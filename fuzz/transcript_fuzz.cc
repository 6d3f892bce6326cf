// libFuzzer target: the files of an exported transcript, as `parley verify` reads them
// (ledger/export.h, ledger/verify.h). The first byte picks the parser, the rest is its input:
//   'l' a line of logs/ (parse_log_line)      'h' a line of heads/ (parse_head_line)
//   'p' a line of proofs/ (parse_proof_line)  'm' manifest.json (parse_manifest)
//   'n' a file name (is_export_path)
//   'x' a whole export: NAME '\0' CONTENTS '\0' NAME '\0' CONTENTS ... (verify_transcript)
//   other: every line parser on the whole input.
// Each line that parses must encode (encode_*_line, encode_manifest) and parse again to the
// same value; the verifier must report, never crash, and report at most kFailuresMax lines.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "fuzz_fixture.h"

#include "parley/ledger/transcript.h"

namespace {

using namespace parley;

void check_log_line(std::string_view line) {
  std::optional<std::uint64_t> index;
  auto parsed = ledger::parse_log_line(line, index);
  if (!parsed.is_ok()) return;
  fuzz::require(index && *index == parsed->index);
  const std::string entry(parsed->entry());
  const std::string encoded = ledger::encode_log_line(parsed->index, entry, parsed->kind);
  std::optional<std::uint64_t> again_index;
  auto again = ledger::parse_log_line(encoded, again_index);
  fuzz::require(again.is_ok() && again->index == parsed->index && again->entry() == entry &&
                again->key == parsed->key && again->kind == parsed->kind);
}

void check_head_line(std::string_view line) {
  auto parsed = ledger::parse_head_line(line);
  if (!parsed.is_ok()) return;
  if (!parsed->receipt_error.is_ok()) {
    fuzz::require(!parsed->receipt.has_value());
    return;
  }
  const std::optional<std::string> receipt =
      parsed->receipt ? std::optional<std::string>(ledger::encode_receipt_v2(*parsed->receipt))
                      : std::nullopt;
  auto again =
      ledger::parse_head_line(ledger::encode_head_line(ledger::encode_sth(parsed->sth), receipt));
  fuzz::require(again.is_ok() && again->receipt_error.is_ok() &&
                again->sth.payload_bytes == parsed->sth.payload_bytes &&
                again->sth.sig == parsed->sth.sig &&
                again->receipt.has_value() == parsed->receipt.has_value());
  if (parsed->receipt) {
    fuzz::require(again->receipt->payload_bytes == parsed->receipt->payload_bytes &&
                  again->receipt->sig == parsed->receipt->sig);
  }
}

void check_proof_line(std::string_view line) {
  auto parsed = ledger::parse_proof_line(line);
  if (!parsed.is_ok()) return;
  fuzz::require(parsed->proof.size() <= ledger::kProofHashesMax);
  auto again = ledger::parse_proof_line(
      ledger::encode_proof_line(parsed->index, parsed->size, parsed->proof));
  fuzz::require(again.is_ok() && again->index == parsed->index && again->size == parsed->size &&
                again->proof == parsed->proof);
}

void check_manifest(std::string_view text) {
  auto parsed = ledger::parse_manifest(text);
  if (!parsed.is_ok()) return;
  for (const auto& [path, digest] : parsed->manifest.files) {
    fuzz::require(ledger::is_export_path(path));
    (void)digest;
  }
  auto again = ledger::parse_manifest(ledger::encode_manifest(*parsed));
  fuzz::require(again.is_ok() && again->payload_bytes == parsed->payload_bytes &&
                again->sig == parsed->sig && again->key == parsed->key &&
                again->manifest.files == parsed->manifest.files &&
                again->manifest.parties == parsed->manifest.parties);
}

void check_export(std::string_view text) {
  ledger::ExportFiles files;
  while (!text.empty()) {
    const std::size_t name_end = text.find('\0');
    if (name_end == std::string_view::npos) break;
    const std::string_view name = text.substr(0, name_end);
    text.remove_prefix(name_end + 1);
    const std::size_t end = std::min(text.find('\0'), text.size());
    files[std::string(name)] = std::string(text.substr(0, end));
    text.remove_prefix(std::min(end + 1, text.size()));
  }
  const ledger::TranscriptReport report = ledger::verify_transcript(files);
  fuzz::require(report.failures.size() <= ledger::kFailuresMax &&
                report.failures.size() <= report.failures_total &&
                (report.failures_total == 0) == report.failures.empty());
  (void)report.summary();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = fuzz::as_text(data, size);
  if (text.empty()) return 0;
  const std::string_view rest = text.substr(1);
  switch (text.front()) {
    case 'l':
      check_log_line(rest);
      break;
    case 'h':
      check_head_line(rest);
      break;
    case 'p':
      check_proof_line(rest);
      break;
    case 'm':
      check_manifest(rest);
      break;
    case 'n':
      (void)ledger::is_export_path(rest);
      break;
    case 'x':
      check_export(rest);
      break;
    default:
      check_log_line(text);
      check_head_line(text);
      check_proof_line(text);
  }
  return 0;
}
