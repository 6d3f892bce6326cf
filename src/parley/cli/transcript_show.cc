// parley transcript show OUT_DIR [--home DIR] [--json]
//
// Prints an exported transcript (cli/transcript_cmd.cc writes it) readably, log by log: each
// entry's index, time, sender and addressee, type, precedence, line and seq, and its body.
// A body is sealed to the two parties: with --home of one of them it is opened (and checked
// against its signed commitment), else its commitment is shown. Each entry's signature is
// checked against the signer's bundle in the export, so what is printed is what that key
// signed; whether those are the keys you trust, and whether the logs, heads and receipts
// hold together, is `parley verify OUT_DIR --pin BUNDLE`'s job. Exit 0; 1 if the export
// cannot be read; 3 if an entry does not open or check.
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "parley/base/bytes.h"
#include "parley/base/json.h"
#include "parley/base/text.h"
#include "parley/base/time.h"
#include "parley/cli/commands.h"
#include "parley/crypto/crypto.h"
#include "parley/gateway/home.h"
#include "parley/ledger/export.h"
#include "parley/ledger/formats.h"
#include "parley/ledger/key_chain.h"
#include "parley/wire/wire.h"

namespace parley::cli {
namespace {

using json::Json;

struct ShowArgs {
  std::string dir;
  std::string home;
  bool json = false;
};

// What `show` knows of the export before it reads the logs.
struct Parties {
  std::vector<std::string> ids;                 // the manifest's two parties, exporter first
  std::map<std::string, wire::Bundle> bundles;  // each one's bundle in the export
};

Result<std::string> file_of(const ExportDirectory& dir, const std::string& path) {
  const auto it = dir.files.find(path);
  if (it == dir.files.end()) return Status::invalid_argument(path + ": missing from the export");
  return it->second;
}

Result<Parties> read_parties(const ExportDirectory& dir) {
  PARLEY_ASSIGN_OR_RETURN(const std::string text, file_of(dir, std::string(ledger::kManifestPath)));
  Result<ledger::SignedManifest> manifest = ledger::parse_manifest(text);
  if (!manifest.is_ok()) return manifest.status().with_context("manifest.json");
  Parties out;
  out.ids.push_back(manifest->manifest.exporter);
  for (const std::string& p : manifest->manifest.parties) {
    if (p != manifest->manifest.exporter) out.ids.push_back(p);
  }
  for (const std::string& party : out.ids) {
    const std::string path = ledger::bundle_path(party);
    PARLEY_ASSIGN_OR_RETURN(const std::string bundle_text, file_of(dir, path));
    Result<wire::Bundle> bundle = wire::parse_bundle(bundle_text);
    if (!bundle.is_ok()) return bundle.status().with_context(path);
    out.bundles.emplace(party, std::move(bundle).value());
  }
  return out;
}

// One entry, read: its payload, and its content if it was opened.
struct Entry {
  std::string log;  // the owner of the log
  std::uint64_t index = 0;
  std::optional<wire::Payload> payload;
  std::optional<wire::Rotation> rotation;  // a key rotation statement (docs/transcript.md)
  std::optional<wire::Content> content;
  std::string problem;      // why the entry did not open or check; empty if it did
  std::string sealed_note;  // why the body is not shown (no --home, or it did not open)
};

// The key that opens the bodies between the two parties, when `home` is one of them.
std::optional<crypto::SealKey> seal_key_for(const std::optional<gateway::Home>& home,
                                            const Parties& parties, std::uint32_t epoch) {
  if (!home) return std::nullopt;
  for (const auto& [party, bundle] : parties.bundles) {
    if (party == home->config.party) continue;
    Result<crypto::SealKey> key = crypto::derive_seal_key(
        home->keys.box_secret, home->keys.box_public, bundle.box_key, epoch);
    if (key.is_ok()) return *key;
  }
  return std::nullopt;
}

// `chain` is the owner's keys along its log so far (ledger/key_chain.h): the entry is checked
// with the key in force at its index, and a rotation statement extends it.
Entry read_entry(const std::string& owner, std::string_view line, const Parties& parties,
                 const std::optional<gateway::Home>& home, ledger::KeyChain& chain) {
  Entry e;
  e.log = owner;
  std::optional<std::uint64_t> index;
  Result<ledger::LogLine> parsed = ledger::parse_log_line(line, index);
  e.index = index.value_or(0);
  if (!parsed.is_ok()) {
    e.problem = std::string(parsed.status().message());
    return e;
  }
  if (parsed->kind == ledger::EntryKind::kRotation) {
    Result<wire::Rotation> rotation = chain.add(parsed->index, parsed->entry());
    if (rotation.is_ok()) {
      e.rotation = std::move(rotation).value();
    } else {
      e.problem = std::string(rotation.status().message());
    }
    return e;
  }
  Result<wire::Envelope> envelope =
      wire::open_envelope(parsed->entry(), chain.entry_key(parsed->index), owner);
  if (!envelope.is_ok()) {
    e.problem = std::string(envelope.status().message());
    return e;
  }
  e.payload = envelope->payload;
  const std::optional<crypto::SealKey> key = seal_key_for(home, parties, e.payload->epoch);
  if (!key) {
    e.sealed_note = home ? "sealed: the home is neither party's" : "sealed (give --home to open)";
    return e;
  }
  Result<wire::Opened> opened = wire::open_content(*e.payload, *key);
  if (opened.is_ok()) {
    e.content = opened->content;
  } else {
    e.sealed_note = "sealed: " + std::string(opened.status().message());
  }
  return e;
}

std::string commitment_hex(const wire::Payload& p) {
  return hex_encode(ByteView(p.commitment.data(), p.commitment.size()));
}

Json rotation_json(const Entry& e) {
  const wire::Rotation& r = *e.rotation;
  return {{"log", e.log},
          {"index", e.index},
          {"kind", "rotation"},
          {"id", r.id},
          {"n", r.n},
          {"created", format_time(r.created)},
          {"old_sign_key", hex_encode(r.old_sign_key.bytes)},
          {"new_sign_key", hex_encode(r.new_sign_key.bytes)},
          {"new_tls_fingerprint", r.new_tls_fingerprint},
          {"epoch", r.epoch}};
}

Json entry_json(const Entry& e) {
  if (e.rotation) return rotation_json(e);
  Json j = {{"log", e.log}, {"index", e.index}};
  if (!e.payload) {
    j["problem"] = e.problem;
    return j;
  }
  const wire::Payload& p = *e.payload;
  j["id"] = p.id;
  j["line"] = p.line;
  j["seq"] = p.seq;
  j["from"] = p.from.to_string();
  j["to"] = p.to.to_string();
  j["created"] = format_time(p.created);
  j["type"] = p.type;
  j["precedence"] = std::string(wire::precedence_name(p.precedence));
  j["reply_to"] = p.reply_to ? Json(*p.reply_to) : Json(nullptr);
  j["commitment"] = commitment_hex(p);
  j["opened"] = e.content.has_value();
  if (e.content) {
    Result<Json> body = json::parse_object(e.content->body_json);
    j["body"] = body.is_ok() ? *body : Json(e.content->body_json);
    j["text"] = e.content->text;
  } else {
    j["body"] = nullptr;
    j["text"] = nullptr;
  }
  return j;
}

// One line per field; each value from the export escaped on its own (text from outside can
// hold control characters or line breaks), the line breaks are ours.
void print_entry(const Entry& e) {
  const auto esc = [](std::string_view v) { return escape_for_terminal(v); };
  if (e.rotation) {
    const wire::Rotation& r = *e.rotation;
    std::cout << fmt::format(
        "  #{} {} KEY ROTATION {} of {}: signing key {} -> {}, seal epoch {}\n", e.index,
        format_time(r.created), r.n, esc(r.party), hex_encode(r.old_sign_key.bytes),
        hex_encode(r.new_sign_key.bytes), r.epoch);
    std::cout << fmt::format("     new TLS certificate {}\n", r.new_tls_fingerprint);
    return;
  }
  if (!e.payload) {
    std::cout << fmt::format("  #{} INVALID: {}\n", e.index, esc(e.problem));
    return;
  }
  const wire::Payload& p = *e.payload;
  std::cout << fmt::format("  #{} {} {} -> {} {} {} (line {}, seq {}{})\n", e.index,
                           format_time(p.created), esc(p.from.to_string()), esc(p.to.to_string()),
                           wire::precedence_name(p.precedence), esc(p.type), esc(p.line), p.seq,
                           p.reply_to ? ", reply to " + esc(*p.reply_to) : "");
  if (e.content) {
    if (e.content->body_json != "{}")
      std::cout << "     body: " << esc(e.content->body_json) << "\n";
    if (!e.content->text.empty()) std::cout << "     text: " << esc(e.content->text) << "\n";
  } else {
    std::cout << fmt::format("     {}; commitment {}\n", esc(e.sealed_note), commitment_hex(p));
  }
}

// The entries of logs/<owner>.jsonl, in file order (bounded by the file's lines).
std::vector<Entry> read_log(const ExportDirectory& dir, const std::string& owner,
                            const Parties& parties, const std::optional<gateway::Home>& home) {
  std::vector<Entry> out;
  const auto it = dir.files.find(ledger::log_path(owner));
  if (it == dir.files.end()) return out;
  std::string_view text = it->second;
  ledger::KeyChain chain(owner, parties.bundles.at(owner).sign_key);
  while (!text.empty()) {
    const std::size_t nl = text.find('\n');
    const std::string_view line = text.substr(0, nl);
    out.push_back(read_entry(owner, line, parties, home, chain));
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  return out;
}

int run_show(const ShowArgs& args) {
  Result<ExportDirectory> dir = read_export_directory(args.dir);
  if (!dir.is_ok()) return fail(dir.status());
  Result<Parties> parties = read_parties(*dir);
  if (!parties.is_ok()) return fail(parties.status().with_context(args.dir));
  std::optional<gateway::Home> home;
  if (!args.home.empty()) {
    Result<gateway::Home> opened = gateway::open_home(args.home);
    if (!opened.is_ok()) return fail(opened.status());
    home = std::move(opened).value();
  }
  bool invalid = false;
  Json all = Json::array();
  for (const std::string& owner : parties->ids) {
    const std::vector<Entry> entries = read_log(*dir, owner, *parties, home);
    if (!args.json) {
      std::cout << "log of " << escape_for_terminal(owner) << " (" << entries.size()
                << " entries)\n";
    }
    for (const Entry& e : entries) {
      invalid = invalid || (!e.payload && !e.rotation);
      if (args.json) {
        all.push_back(entry_json(e));
      } else {
        print_entry(e);
      }
    }
  }
  if (args.json) std::cout << json::dump(all) << "\n";
  std::cout << std::flush;
  if (invalid) {
    std::cerr << "parley: some entries do not open or check: run parley verify "
              << escape_for_terminal(args.dir) << "\n";
    return 3;
  }
  return 0;
}

}  // namespace

void add_transcript_show_command(CLI::App* transcript, int& exit_code) {
  int* code = &exit_code;
  auto args = std::make_shared<ShowArgs>();
  CLI::App* sub = transcript->add_subcommand(
      "show",
      "Print an exported transcript readably: each log's entries with their index, time, "
      "sender, addressee, precedence, type, line and seq, and the body if --home can open it "
      "(else its commitment). Each entry's signature is checked against the export's bundle; "
      "parley verify checks the whole record. Exit 3 if an entry does not check");
  sub->add_option("OUT_DIR", args->dir, "The directory `parley transcript export` wrote")
      ->required();
  sub->add_option("--home", args->home,
                  "The home of one of the two parties: its keys open the bodies")
      ->type_name("DIR");
  sub->add_flag("--json", args->json,
                "One JSON array: log, index, id, line, seq, from, to, created, type, precedence, "
                "reply_to, commitment, opened, body, text (problem for an entry that does not "
                "check)");
  sub->callback([args, code] { *code = run_show(*args); });
}

}  // namespace parley::cli
