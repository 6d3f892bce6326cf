// `parley verify` on a hostile export: what it prints for a human never carries the export's
// control characters or invalid UTF-8 to the terminal.
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "parley/base/text.h"
#include "parley/cli/commands.h"
#include "parley/ledger/checkpoint.h"
#include "parley/ledger/rotated_export_for_test.h"
#include "parley/ledger/witnessed.h"

namespace parley::cli {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

struct Outcome {
  int code = -1;
  std::string out;
  std::string err;
};

Outcome run_verify(const std::vector<std::string>& args) {
  CLI::App app("parley", "parley");
  int exit_code = 0;
  add_verify_command(app, exit_code);
  std::vector<const char*> argv = {"parley", "verify"};
  for (const std::string& a : args) argv.push_back(a.c_str());
  Outcome r;
  ::testing::internal::CaptureStdout();
  ::testing::internal::CaptureStderr();
  try {
    app.parse(static_cast<int>(argv.size()), argv.data());
    r.code = exit_code;
  } catch (const CLI::ParseError&) {
    r.code = 2;
  }
  r.out = ::testing::internal::GetCapturedStdout();
  r.err = ::testing::internal::GetCapturedStderr();
  return r;
}

// True if every line of `text` is already as escape_for_terminal leaves it (apart from its
// backslashes, which it doubles): no control character, nothing that is not UTF-8.
bool is_terminal_safe(const std::string& text) {
  std::string doubled;
  for (const char c : text) {
    if (c == '\n') continue;  // the line ends themselves
    doubled += c == '\\' ? std::string("\\\\") : std::string(1, c);
  }
  std::string without_newlines;
  for (const char c : text) {
    if (c != '\n') without_newlines.push_back(c);
  }
  return escape_for_terminal(without_newlines) == doubled;
}

class VerifyCmdTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (fs::temp_directory_path() / "parley-verify-test-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  void write(const fs::path& relative, const std::string& text) {
    fs::create_directories((dir_ / relative).parent_path());
    std::ofstream out(dir_ / relative, std::ios::binary);
    out << text;
  }
  fs::path dir_;
};

TEST_F(VerifyCmdTest, HostileFileNamesAndContentsArePrintedEscaped) {
  // A manifest whose JSON breaks on a byte that is not UTF-8 (the parse error quotes it), and
  // a file whose name sets the terminal's title, rings its bell and holds a stray byte.
  write("manifest.json", "{\"exporter\": \"\xff\x1b[2J\"}");
  write("logs/\x1b]0;pwned\x07\xfe.jsonl", "x\n");
  const Outcome r = run_verify({dir_.string()});
  EXPECT_EQ(r.code, 3);
  const std::string all = r.out + r.err;
  EXPECT_EQ(all.find('\x1b'), std::string::npos) << all;
  EXPECT_EQ(all.find('\x07'), std::string::npos) << all;
  EXPECT_TRUE(is_terminal_safe(all)) << all;
  EXPECT_THAT(r.err,
              HasSubstr("logs/\\x1b]0;pwned\\x07\\xfe.jsonl: not a file of a transcript export"));
  EXPECT_THAT(r.err, HasSubstr("\\xff"));
}

TEST_F(VerifyCmdTest, AnUnreadableDirectoryIsNamedEscaped) {
  const Outcome r = run_verify({(dir_ / "no\x1b[31mthere\xc3").string()});
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err.find('\x1b'), std::string::npos) << r.err;
  EXPECT_TRUE(is_terminal_safe(r.err)) << r.err;
  EXPECT_THAT(r.err, HasSubstr("no\\x1b[31mthere\\xc3: no such directory"));
}

TEST_F(VerifyCmdTest, AnExportWithAKeyRotationVerifiesAgainstThePinnedBundleFollowingTheChain) {
  ledger::test_export::RotatedExport x;
  for (const auto& [path, contents] : x.files()) write(path, contents);
  // The bundle the peer pinned is us-eucom's first one: the chain starts from it. (Beside the
  // export, not in it: verify refuses files an export does not hold.)
  const std::string pin = dir_.string() + "-pin.json";
  const auto write_pin = [&](const crypto::Keys& keys) {
    std::ofstream out(pin, std::ios::binary | std::ios::trunc);
    out << x.bundle(ledger::test_export::kA, keys);
  };
  write_pin(x.a1_);
  Outcome r = run_verify({dir_.string(), "--pin", pin});
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_THAT(r.out,
              HasSubstr("us-eucom: signing key " + hex_encode(x.a1_.verify.bytes) + " (pinned"));
  EXPECT_THAT(r.out, HasSubstr("us-eucom: rotation 1 at entry 3: signing key " +
                               hex_encode(x.a2_.verify.bytes)));
  r = run_verify({dir_.string(), "--pin", pin, "--json"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_THAT(r.out,
              HasSubstr("\"rotations\":[{\"index\":3,\"key\":\"" + hex_encode(x.a2_.verify.bytes) +
                        "\",\"n\":1,\"party\":\"us-eucom\"}]"));
  // A pin of the new key does not do: the export's log starts under the old one.
  write_pin(x.a2_);
  r = run_verify({dir_.string(), "--pin", pin});
  fs::remove(pin);
  EXPECT_EQ(r.code, 3);
  EXPECT_THAT(r.err, HasSubstr("the signing key of us-eucom is not the pinned one"));
}

// docs/transcript.md "Cosigned checkpoints": us-eucom's checkpoint is checked with its key of
// that head along its chain in the export (rotation at entry 3: the bundle's key up to size 4,
// the new key after), and a policy naming the bundle's key for the log accepts it.
TEST_F(VerifyCmdTest, ACheckpointIsCheckedWithTheKeyOfItsHeadAlongTheOwnersChain) {
  ledger::test_export::RotatedExport x;
  const std::string origin = ledger::origin_of(ledger::test_export::kA, ledger::test_export::kB);
  const crypto::Keys witness = crypto::generate_keys(x.rng_);
  const ledger::NoteVerifier cosigner{"parley.example/nato-shape", ledger::kNoteKeyCosignature,
                                      witness.verify};
  const std::string policy = dir_.string() + "-policy.txt";
  const auto write_policy = [&](const crypto::Keys& log_key) {
    std::ofstream out(policy, std::ios::binary | std::ios::trunc);
    out << "log " << ledger::encode_verifier_key({origin, ledger::kNoteKeyEd25519, log_key.verify})
        << "\nwitness nato-shape " << ledger::encode_verifier_key(cosigner)
        << "\nquorum nato-shape\n";
  };
  write_policy(x.a1_);  // the bundle's key
  // The checkpoint of us-eucom's head of `size`, signed by `key` and cosigned by the witness.
  const auto verify_with = [&](std::uint64_t size, const crypto::Keys& key) {
    const ledger::Checkpoint checkpoint{
        origin, size, ledger::root_of(x.leaves(x.a_log_, size)), {}};
    const std::string note = ledger::sign_checkpoint(checkpoint, key.signing, origin);
    const ledger::NoteSignature cosignature = ledger::cosign(
        ledger::checkpoint_text(checkpoint), 1'796'000'000, witness.signing, cosigner.name);
    fs::remove_all(dir_);
    for (const auto& [path, contents] : x.files()) write(path, contents);
    write(ledger::checkpoint_path(ledger::test_export::kA),
          note + ledger::encode_signature_line(cosignature));
    return run_verify({dir_.string(), "--policy", policy});
  };
  Outcome r = verify_with(7, x.a2_);
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  EXPECT_THAT(r.out, HasSubstr("policy: met"));
  r = verify_with(4, x.a1_);  // the head that first holds the statement: still the old key's
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  r = verify_with(7, x.a1_);  // the replaced key, after the rotation
  EXPECT_EQ(r.code, 3) << r.out << r.err;
  EXPECT_THAT(r.err, HasSubstr("checkpoints/us-eucom.note: "));
  EXPECT_THAT(r.err, HasSubstr("along us-eucom's chain of keys"));
  r = verify_with(4, x.a2_);  // the new key, before
  EXPECT_EQ(r.code, 3) << r.out << r.err;
  // A policy naming the new key accepts what it signed, not what the key before it signed:
  // trust follows the chain forward only.
  write_policy(x.a2_);
  r = verify_with(7, x.a2_);
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  r = verify_with(4, x.a1_);
  EXPECT_EQ(r.code, 3) << r.out << r.err;
  EXPECT_THAT(r.err, HasSubstr("policy: not signed by any of its logs"));
  fs::remove(policy);
}

}  // namespace
}  // namespace parley::cli
