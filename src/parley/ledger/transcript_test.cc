#include "parley/ledger/transcript.h"

#include <algorithm>
#include <cctype>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "parley/base/json.h"
#include "parley/base/rng.h"
#include "parley/wire/wire.h"

namespace parley::ledger {
namespace {

constexpr std::string_view kA = "us-eucom";     // the exporter: its log is complete
constexpr std::string_view kB = "ru-genstaff";  // the peer: the exporter holds part of its log

const std::string kLogA = "logs/us-eucom.jsonl";
const std::string kLogB = "logs/ru-genstaff.jsonl";
const std::string kHeadsA = "heads/us-eucom.jsonl";
const std::string kHeadsB = "heads/ru-genstaff.jsonl";
const std::string kProofsB = "proofs/ru-genstaff.jsonl";

Time at(std::int64_t seconds) { return time_from_unix_ms(1'795'000'000'000 + seconds * 1000); }

struct Party {
  std::string id;
  crypto::Keys keys;
};

struct Head {
  SignedTreeHead sth;
  std::optional<ReceiptV2> receipt;
};

// Lines of a JSONL text.
std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::size_t begin = 0;
  while (begin < text.size()) {
    const std::size_t end = text.find('\n', begin);
    lines.push_back(text.substr(begin, end - begin));
    if (end == std::string::npos) break;
    begin = end + 1;
  }
  return lines;
}

std::string join_lines(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& line : lines) out += line + "\n";
  return out;
}

// A small but fully valid export between two parties, with real keys, envelopes, heads and
// countersignatures:
//   us-eucom's log (complete): 7 entries; heads of size 2, 5, 5 (a resend), 7 (not yet
//     countersigned); receipts by ru-genstaff for the first three.
//   ru-genstaff's log: 6 entries, of which us-eucom holds 0, 1, 3, 4, 5 (entry 2 is still
//     queued on the sender's side); heads of size 2 and 6, countersigned by us-eucom; each
//     held entry has its inclusion proof in the head it arrived with.
class ExportBuilder {
 public:
  explicit ExportBuilder(std::uint64_t seed = 7, std::size_t a_entries = 7) : rng_(seed) {
    a_.id = std::string(kA);
    b_.id = std::string(kB);
    a_.keys = crypto::generate_keys(rng_);
    b_.keys = crypto::generate_keys(rng_);
    auto seal =
        crypto::derive_seal_key(a_.keys.box_secret, a_.keys.box_public, b_.keys.box_public, 1);
    PARLEY_CHECK(seal.is_ok());
    seal_ = *seal;

    for (std::size_t i = 0; i < a_entries; ++i) append(a_, b_, a_log_, a_leaves_);
    for (int i = 0; i < 6; ++i) append(b_, a_, b_log_, b_leaves_);

    a_heads_.push_back(head(a_, b_, a_leaves_, 2, at(100), {{0, 1}}));
    a_heads_.push_back(head(a_, b_, a_leaves_, 5, at(200), {{2, 3, 4}}));
    a_heads_.push_back(head(a_, b_, a_leaves_, 5, at(300), {{4}}));
    a_heads_.push_back(head(a_, b_, a_leaves_, a_entries, at(400), std::nullopt));
    b_heads_.push_back(head(b_, a_, b_leaves_, 2, at(150), {{0, 1}}));
    b_heads_.push_back(head(b_, a_, b_leaves_, 6, at(250), {{3, 4, 5}}));
    b_held_ = {{0, 2}, {1, 2}, {3, 6}, {4, 6}, {5, 6}};
  }

  const Party& a() const { return a_; }
  const Party& b() const { return b_; }
  std::vector<Head>& a_heads() { return a_heads_; }
  std::vector<Head>& b_heads() { return b_heads_; }
  const std::vector<Hash>& a_leaves() const { return a_leaves_; }
  const std::vector<Hash>& b_leaves() const { return b_leaves_; }
  const std::vector<std::string>& a_log() const { return a_log_; }

  // A head of `owner`'s log over its first `size` leaves, countersigned by `other` for the
  // entries `tx` (or not countersigned).
  Head head(const Party& owner, const Party& other, const std::vector<Hash>& leaves,
            std::size_t size, Time when, std::optional<std::vector<std::uint64_t>> tx) {
    TreeHead h;
    h.log = owner.id;
    h.peer = other.id;
    h.size = size;
    h.root = root_of(std::vector<Hash>(leaves.begin(), leaves.begin() + size));
    h.timestamp = when;
    Head out;
    out.sth = sign_sth(h, owner.keys.signing);
    if (tx) out.receipt = receipt(other, owner, out.sth, *tx, when + Duration(5));
    return out;
  }

  ReceiptV2 receipt(const Party& signer, const Party& owner, const SignedTreeHead& sth,
                    const std::vector<std::uint64_t>& indices, Time when) {
    const std::vector<std::string>& log = owner.id == a_.id ? a_log_ : b_log_;
    ReceiptV2Body body;
    body.tx = uuid_v7(when, rng_);
    body.from = signer.id;
    body.to = owner.id;
    body.sth = sth.payload_bytes;
    body.sth_sig = sth.sig;
    for (const std::uint64_t i : indices) {
      auto json = json::parse_object(log[i]);
      PARLEY_CHECK(json.is_ok());
      auto envelope = wire::open_envelope(log[i], owner.keys.verify, owner.id);
      PARLEY_CHECK(envelope.is_ok());
      body.ids.push_back(envelope->payload.id);
      body.indices.push_back(i);
    }
    body.received = when;
    return sign_receipt_v2(body, signer.keys.signing);
  }

  std::string bundle(const Party& party) const {
    wire::Bundle bundle;
    bundle.party = party.id;
    bundle.sign_key = party.keys.verify;
    bundle.box_key = party.keys.box_public;
    bundle.tls_fingerprint = hex_encode(crypto::sha256(as_bytes(party.id)));
    bundle.federation = {"127.0.0.1:7001"};
    return wire::encode_bundle(bundle);
  }

  // Every file but the manifest.
  ExportFiles unsigned_files() const {
    ExportFiles files;
    files[bundle_path(kA)] = bundle(a_);
    files[bundle_path(kB)] = bundle(b_);
    std::string log_a;
    for (std::size_t i = 0; i < a_log_.size(); ++i) log_a += encode_log_line(i, a_log_[i]) + "\n";
    files[kLogA] = log_a;
    std::string log_b;
    std::string proofs_b;
    const NodeSource source = leaves_source(b_leaves_);
    for (const auto& [index, size] : b_held_) {
      log_b += encode_log_line(index, b_log_[index]) + "\n";
      auto proof = inclusion_proof(index, size, source);
      PARLEY_CHECK(proof.is_ok());
      proofs_b += encode_proof_line(index, size, *proof) + "\n";
    }
    files[kLogB] = log_b;
    files[kProofsB] = proofs_b;
    files[kHeadsA] = heads_file(a_heads_);
    files[kHeadsB] = heads_file(b_heads_);
    return files;
  }

  // (Re)writes manifest.json over the other files, signed by the exporter.
  void sign(ExportFiles& files) const {
    Manifest manifest;
    manifest.exporter = a_.id;
    manifest.parties = {a_.id, b_.id};
    manifest.created = at(1000);
    for (const auto& [path, contents] : files) {
      if (path != kManifestPath) manifest.files[path] = crypto::sha256(as_bytes(contents));
    }
    files[std::string(kManifestPath)] = encode_manifest(sign_manifest(manifest, a_.keys.signing));
  }

  ExportFiles files() const {
    ExportFiles files = unsigned_files();
    sign(files);
    return files;
  }

 private:
  static std::string heads_file(const std::vector<Head>& heads) {
    std::string out;
    for (const Head& h : heads) {
      out += encode_head_line(encode_sth(h.sth),
                              h.receipt ? std::optional<std::string>(encode_receipt_v2(*h.receipt))
                                        : std::nullopt) +
             "\n";
    }
    return out;
  }

  void append(const Party& from, const Party& to, std::vector<std::string>& log,
              std::vector<Hash>& leaves) {
    const std::uint64_t seq = log.size() + 1;
    wire::Draft draft;
    draft.created = at(static_cast<std::int64_t>(seq));
    draft.id = uuid_v7(draft.created, rng_);
    draft.line = "saceur-cgs";
    draft.seq = seq;
    draft.from = {from.id, "saceur"};
    draft.to = {to.id, "cgs"};
    draft.precedence = wire::Precedence::kFlash;
    draft.type = "text";
    draft.content.text = "message " + std::to_string(seq);
    const wire::Envelope envelope =
        wire::seal_and_sign(draft, seal_, from.keys.signing, from.id, rng_).envelope;
    log.push_back(wire::encode_envelope(envelope));
    leaves.push_back(leaf_hash(as_bytes(log.back())));
  }

  SeededRng rng_;
  Party a_;
  Party b_;
  crypto::SealKey seal_{};
  std::vector<std::string> a_log_;
  std::vector<std::string> b_log_;
  std::vector<Hash> a_leaves_;
  std::vector<Hash> b_leaves_;
  std::vector<Head> a_heads_;
  std::vector<Head> b_heads_;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> b_held_;  // (index, head size)
};

std::string failures_of(const TranscriptReport& report) {
  std::string out;
  for (const std::string& f : report.failures) out += "  " + f + "\n";
  return out;
}

bool mentions(const TranscriptReport& report, std::string_view text) {
  return std::any_of(report.failures.begin(), report.failures.end(),
                     [&](const std::string& f) { return f.find(text) != std::string::npos; });
}

#define EXPECT_FAILURE(report, text)                                    \
  do {                                                                  \
    EXPECT_FALSE((report).valid());                                     \
    EXPECT_TRUE(mentions((report), (text)))                             \
        << "expected a failure containing \"" << (text) << "\", got:\n" \
        << failures_of(report);                                         \
  } while (false)

// ---- the signed formats ----------------------------------------------------------------------

TEST(TranscriptFormatTest, SthOpensWithItsOwnersKeyOnly) {
  ExportBuilder x;
  const SignedTreeHead& sth = x.a_heads()[1].sth;
  const std::string json = encode_sth(sth);
  auto opened = open_sth(json, x.a().keys.verify, kA);
  ASSERT_TRUE(opened.is_ok()) << opened.status().to_string();
  EXPECT_EQ(opened->head.size, 5u);
  EXPECT_EQ(opened->head.log, kA);
  EXPECT_EQ(opened->head.peer, kB);
  EXPECT_EQ(opened->head.root, sth.head.root);
  EXPECT_EQ(opened->head.timestamp, at(200));
  EXPECT_EQ(opened->payload_bytes, sth.payload_bytes);

  const auto wrong_key = open_sth(json, x.b().keys.verify, kA);
  EXPECT_EQ(wrong_key.status().code(), StatusCode::kUnauthenticated);
  const auto wrong_party = open_sth(json, x.a().keys.verify, kB);
  EXPECT_EQ(wrong_party.status().code(), StatusCode::kUnauthenticated);
  // The same bytes signed for another domain never verify as a head.
  SignedTreeHead forged = sth;
  forged.sig = crypto::sign(x.a().keys.signing, wire::kEnvelopeDomain, sth.payload_bytes);
  EXPECT_EQ(open_sth(encode_sth(forged), x.a().keys.verify, kA).status().code(),
            StatusCode::kUnauthenticated);
}

TEST(TranscriptFormatTest, SthSignatureIsEd25519OverTheDocumentedPae) {
  // docs/transcript.md, "DSSE signatures", built by hand rather than with crypto::pae.
  ExportBuilder x;
  const SignedTreeHead& sth = x.a_heads()[0].sth;
  const std::string payload = to_string(sth.payload_bytes);
  const std::string pae = "DSSEv1 34 application/vnd.parley.sth.v1+json " +
                          std::to_string(payload.size()) + " " + payload;
  EXPECT_TRUE(crypto::ed25519_verify(x.a().keys.verify, as_bytes(pae), sth.sig).is_ok());
  const std::string json = encode_sth(sth);
  EXPECT_EQ(json, "{\"key\":\"us-eucom\",\"payload\":\"" + base64_encode(sth.payload_bytes) +
                      "\",\"sig\":\"" + base64_encode(sth.sig) + "\"}");
}

TEST(TranscriptFormatTest, SthPayloadIsTheDesignedJson) {
  ExportBuilder x;
  auto payload = json::parse_object(to_string(x.a_heads()[0].sth.payload_bytes));
  ASSERT_TRUE(payload.is_ok());
  EXPECT_EQ((*payload)["v"], 1);
  EXPECT_EQ((*payload)["log"], "us-eucom");
  EXPECT_EQ((*payload)["peer"], "ru-genstaff");
  EXPECT_EQ((*payload)["size"], 2);
  EXPECT_EQ((*payload)["root"], hex_encode(x.a_heads()[0].sth.head.root));
  EXPECT_EQ((*payload)["timestamp"], format_time(at(100)));
  EXPECT_EQ(payload->size(), 6u);
}

TEST(TranscriptFormatTest, SthWithAnUnknownFieldIsRefused) {
  ExportBuilder x;
  TreeHead h = x.a_heads()[0].sth.head;
  auto object = json::parse_object(to_string(x.a_heads()[0].sth.payload_bytes));
  ASSERT_TRUE(object.is_ok());
  (*object)["extra"] = 1;
  SignedTreeHead sth;
  sth.payload_bytes = to_bytes(json::dump(*object));
  sth.sig = crypto::sign(x.a().keys.signing, kSthDomain, sth.payload_bytes);
  sth.key = h.log;
  const auto opened = open_sth(encode_sth(sth), x.a().keys.verify, kA);
  EXPECT_EQ(opened.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(opened.status().message().find("extra"), std::string::npos);
}

TEST(TranscriptFormatTest, SignedHeadSizeAbove2To53Minus1IsRefusedByName) {
  ExportBuilder x;
  for (const std::uint64_t size :
       {json::kUintMax + 1, std::uint64_t{1} << 63, std::numeric_limits<std::uint64_t>::max()}) {
    auto object = json::parse_object(to_string(x.a_heads()[0].sth.payload_bytes));
    ASSERT_TRUE(object.is_ok());
    (*object)["size"] = size;
    SignedTreeHead sth;
    sth.payload_bytes = to_bytes(json::dump(*object));
    sth.sig = crypto::sign(x.a().keys.signing, kSthDomain, sth.payload_bytes);
    sth.key = std::string(kA);
    const auto opened = open_sth(encode_sth(sth), x.a().keys.verify, kA);
    ASSERT_FALSE(opened.is_ok()) << size;
    EXPECT_EQ(opened.status().code(), StatusCode::kInvalidArgument) << size;
    EXPECT_NE(opened.status().message().find("'size'"), std::string::npos)
        << opened.status().message();
  }
}

TEST(TranscriptFormatTest, EmptyHeadMustHaveTheEmptyRoot) {
  ExportBuilder x;
  TreeHead h;
  h.log = std::string(kA);
  h.peer = std::string(kB);
  h.size = 0;
  h.root = empty_root();
  h.timestamp = at(1);
  EXPECT_TRUE(open_sth(encode_sth(sign_sth(h, x.a().keys.signing)), x.a().keys.verify, kA).is_ok());
  h.root[0] ^= 1;
  EXPECT_FALSE(
      open_sth(encode_sth(sign_sth(h, x.a().keys.signing)), x.a().keys.verify, kA).is_ok());
}

TEST(TranscriptFormatTest, ReceiptV2RoundTripsAndCarriesTheHeadBytes) {
  ExportBuilder x;
  const Head& head = x.a_heads()[1];
  ASSERT_TRUE(head.receipt);
  const std::string json = encode_receipt_v2(*head.receipt);
  auto opened = open_receipt_v2(json, x.b().keys.verify, kB);
  ASSERT_TRUE(opened.is_ok()) << opened.status().to_string();
  EXPECT_EQ(opened->body.from, kB);
  EXPECT_EQ(opened->body.to, kA);
  EXPECT_EQ(opened->body.sth, head.sth.payload_bytes);
  EXPECT_EQ(opened->body.sth_sig, head.sth.sig);
  EXPECT_EQ(opened->body.indices, (std::vector<std::uint64_t>{2, 3, 4}));
  EXPECT_EQ(opened->body.ids, head.receipt->body.ids);
  EXPECT_EQ(open_receipt_v2(json, x.a().keys.verify, kB).status().code(),
            StatusCode::kUnauthenticated);
  EXPECT_EQ(open_receipt_v2(json, x.b().keys.verify, kA).status().code(),
            StatusCode::kUnauthenticated);
  // A v1 receipt signature never verifies as a v2 one.
  ReceiptV2 forged = *head.receipt;
  forged.sig = crypto::sign(x.b().keys.signing, "application/vnd.parley.receipt.v1+json",
                            forged.payload_bytes);
  EXPECT_EQ(open_receipt_v2(encode_receipt_v2(forged), x.b().keys.verify, kB).status().code(),
            StatusCode::kUnauthenticated);
}

TEST(TranscriptFormatTest, ReceiptV2NamingAnIndexOutsideItsHeadIsRefused) {
  ExportBuilder x;
  ReceiptV2Body body = x.a_heads()[0].receipt->body;  // head of size 2
  body.indices.back() = 2;
  const std::string json = encode_receipt_v2(sign_receipt_v2(body, x.b().keys.signing));
  const auto parsed = parse_receipt_v2(json);
  EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(parsed.status().message().find("indices"), std::string::npos);
}

TEST(TranscriptFormatTest, ReceiptV2RefusalsRoundTripAndMustNameItsIds) {
  ExportBuilder x;
  ReceiptV2Body body = x.a_heads()[0].receipt->body;
  const std::string before = to_string(sign_receipt_v2(body, x.b().keys.signing).payload_bytes);
  EXPECT_EQ(before.find("refused"), std::string::npos);  // absent when nothing is refused
  body.refused = {{body.ids[0], "unknown line 'nowhere'"}};
  auto opened = open_receipt_v2(encode_receipt_v2(sign_receipt_v2(body, x.b().keys.signing)),
                                x.b().keys.verify, kB);
  ASSERT_TRUE(opened.is_ok()) << opened.status().to_string();
  EXPECT_EQ(opened->body.refused, body.refused);

  const auto refused_with = [&](std::vector<ReceiptRefusal> refused) {
    ReceiptV2Body b = x.a_heads()[0].receipt->body;
    b.refused = std::move(refused);
    return parse_receipt_v2(encode_receipt_v2(sign_receipt_v2(b, x.b().keys.signing))).status();
  };
  EXPECT_EQ(refused_with({{"01890000-0000-7000-8000-000000000000", "x"}}).code(),
            StatusCode::kInvalidArgument);  // not one of the ids
  EXPECT_EQ(refused_with({{body.ids[0], "x"}, {body.ids[0], "y"}}).code(),
            StatusCode::kInvalidArgument);  // twice
  EXPECT_EQ(refused_with({{body.ids[0], ""}}).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(refused_with({{body.ids[0], std::string(kRefusalReasonBytesMax + 1, 'x')}}).code(),
            StatusCode::kInvalidArgument);
}

TEST(TranscriptFormatTest, ManifestRoundTrips) {
  ExportBuilder x;
  const ExportFiles files = x.files();
  auto opened = open_manifest(files.at("manifest.json"), x.a().keys.verify, kA);
  ASSERT_TRUE(opened.is_ok()) << opened.status().to_string();
  EXPECT_EQ(opened->manifest.exporter, kA);
  EXPECT_EQ(opened->manifest.parties, (std::vector<std::string>{"us-eucom", "ru-genstaff"}));
  EXPECT_EQ(opened->manifest.files.size(), files.size() - 1);
  EXPECT_EQ(opened->manifest.files.at(kLogA), crypto::sha256(as_bytes(files.at(kLogA))));
  EXPECT_EQ(open_manifest(files.at("manifest.json"), x.b().keys.verify, kA).status().code(),
            StatusCode::kUnauthenticated);
}

TEST(TranscriptFormatTest, ExportPathsAreOnlyTheDesignedNames) {
  EXPECT_TRUE(is_export_path("manifest.json"));
  EXPECT_TRUE(is_export_path("bundles/us-eucom.json"));
  EXPECT_TRUE(is_export_path("logs/us-eucom.jsonl"));
  EXPECT_TRUE(is_export_path("heads/ru-genstaff.jsonl"));
  EXPECT_TRUE(is_export_path("proofs/ru-genstaff.jsonl"));
  EXPECT_FALSE(is_export_path("bundles/us-eucom.jsonl"));
  EXPECT_FALSE(is_export_path("logs/us-eucom.json"));
  EXPECT_FALSE(is_export_path("logs/../x.jsonl"));
  EXPECT_FALSE(is_export_path("logs/Us.jsonl"));
  EXPECT_FALSE(is_export_path("logs/a/b.jsonl"));
  EXPECT_FALSE(is_export_path("other/us-eucom.jsonl"));
  EXPECT_FALSE(is_export_path("logs/.jsonl"));
  EXPECT_FALSE(is_export_path("README"));
}

TEST(TranscriptFormatTest, LogLineSplicesTheEnvelopeTextUnchanged) {
  ExportBuilder x;
  const std::string line = encode_log_line(3, x.a_log()[3]);
  EXPECT_EQ(line, "{\"index\":3,\"envelope\":" + x.a_log()[3] + "}");
  // The leaf is the envelope's canonical text, which is what encode_envelope writes.
  EXPECT_EQ(x.a_log()[3].substr(0, 8), "{\"key\":\"");
}

// ---- a valid export ---------------------------------------------------------------------------

TEST(TranscriptVerifyTest, ValidExportVerifies) {
  ExportBuilder x;
  const TranscriptReport report = verify_transcript(x.files());
  EXPECT_TRUE(report.valid()) << failures_of(report);
  EXPECT_EQ(report.parties, (std::vector<std::string>{"us-eucom", "ru-genstaff"}));
  EXPECT_EQ(report.exporter, "us-eucom");
  EXPECT_EQ(report.logs, 2u);
  EXPECT_EQ(report.entries, 12u);
  EXPECT_EQ(report.heads, 6u);
  EXPECT_EQ(report.countersignatures, 5u);
  EXPECT_EQ(report.summary(),
            "transcript us-eucom <-> ru-genstaff: 2 logs, 12 entries, 6 heads, 5 "
            "countersignatures: all valid");
}

TEST(TranscriptVerifyTest, ChecksCanRunInAnyOrder) {
  ExportBuilder x;
  const ExportFiles files = x.files();
  const PlanPtr plan = plan_verification(files);
  const std::size_t n = check_count(*plan);
  // files, entries, heads, countersignatures, manifest
  EXPECT_EQ(n, 7u + 12u + 6u + 5u + 1u);
  std::vector<CheckResult> results(n);
  for (std::size_t i = n; i-- > 0;) results[i] = run_check(*plan, i);
  const TranscriptReport report = finish_verification(*plan, results);
  EXPECT_TRUE(report.valid()) << failures_of(report);
}

TEST(TranscriptVerifyTest, ExportWithEmptyPeerLogVerifies) {
  ExportBuilder x;
  x.b_heads().clear();
  ExportFiles files = x.unsigned_files();
  files[kLogB] = "";
  files[kProofsB] = "";
  x.sign(files);
  const TranscriptReport report = verify_transcript(files);
  EXPECT_TRUE(report.valid()) << failures_of(report);
  EXPECT_EQ(report.entries, 7u);
}

TEST(TranscriptVerifyTest, VerifiesWithoutAManifestButReportsIt) {
  ExportBuilder x;
  ExportFiles files = x.files();
  files.erase("manifest.json");
  const TranscriptReport report = verify_transcript(files);
  EXPECT_EQ(report.failures_total, 1u) << failures_of(report);
  EXPECT_FAILURE(report, "manifest.json: missing");
  EXPECT_EQ(report.exporter, "us-eucom");  // told by the proofs file
  EXPECT_EQ(report.entries, 12u);
}

TEST(TranscriptVerifyTest, LinesInAnotherJsonLayoutMeanTheSame) {
  // The verifier reads the exporter's canonical lines without a JSON parser; any other layout
  // of the same JSON values (here: keys sorted, spaces at the end of each line) must verify alike.
  ExportBuilder x;
  ExportFiles files = x.unsigned_files();
  for (const std::string& path : {kLogA, kLogB, kProofsB, kHeadsA}) {
    std::string relaid;
    for (const std::string& line : lines_of(files[path])) {
      auto object = json::parse_object(line);
      ASSERT_TRUE(object.is_ok());
      ASSERT_NE(object->dump(), line);  // the keys in another order
      relaid += object->dump() + "  \n";
    }
    files[path] = relaid;
  }
  x.sign(files);
  const TranscriptReport report = verify_transcript(files);
  EXPECT_TRUE(report.valid()) << failures_of(report);
  EXPECT_EQ(report.entries, 12u);
  EXPECT_EQ(report.countersignatures, 5u);
}

TEST(TranscriptVerifyTest, EscapedCharactersInEnvelopesAndHeadsMeanTheirValue) {
  // "\u0065" is 'e': the same signer, the same heads. The fast readers (wire/dsse.h and the log
  // line reader) must leave such lines to the JSON parser, whose leaf is the canonical text.
  ExportBuilder x;
  ExportFiles files = x.unsigned_files();
  const std::string plain = "\"key\":\"us-eucom\"";
  const std::string escaped = "\"key\":\"us-\\u0065ucom\"";
  for (const std::string& path : {kLogA, kHeadsA}) {
    std::string& text = files[path];
    std::size_t replaced = 0;
    for (std::size_t at = text.find(plain); at != std::string::npos; at = text.find(plain, at)) {
      text.replace(at, plain.size(), escaped);
      ++replaced;
    }
    ASSERT_GT(replaced, 0u) << path;
  }
  x.sign(files);
  const TranscriptReport report = verify_transcript(files);
  EXPECT_TRUE(report.valid()) << failures_of(report);
  EXPECT_EQ(report.entries, 12u);
  EXPECT_EQ(report.heads, x.a_heads().size() + x.b_heads().size());
}

// ---- every byte matters -----------------------------------------------------------------------

// The line (1-based) holding byte `pos`.
std::size_t line_at(const std::string& text, std::size_t pos) {
  return 1 + static_cast<std::size_t>(std::count(text.begin(), text.begin() + pos, '\n'));
}

// Another printable character of the same kind where one exists (a base64 or hex digit stays
// one), so that the edit also survives JSON parsing and reaches the semantic checks.
char replacement(char c) {
  if (c >= 'a' && c < 'z') return static_cast<char>(c + 1);
  if (c == 'z') return 'a';
  if (c >= 'A' && c < 'Z') return static_cast<char>(c + 1);
  if (c == 'Z') return 'A';
  if (c >= '0' && c < '9') return static_cast<char>(c + 1);
  if (c == '9') return '0';
  return c == 'x' ? 'y' : 'x';
}

TEST(TranscriptVerifyTest, EveryByteFlipIsReportedAtItsFileAndLine) {
  ExportBuilder x(/*seed=*/5, /*a_entries=*/5);
  const ExportFiles good = x.files();
  ASSERT_TRUE(verify_transcript(good).valid());
  constexpr std::size_t kSmallFileBytes = 450;  // a bundle, note_key included
  constexpr std::size_t kSpread = 200;
  std::size_t edits = 0;
  for (const auto& [path, contents] : good) {
    ASSERT_FALSE(contents.empty()) << path;
    // Every position of a small file (the bundles); else the first, the last and kSpread
    // evenly spread between them.
    std::vector<std::size_t> positions;
    if (contents.size() <= kSmallFileBytes) {
      for (std::size_t p = 0; p < contents.size(); ++p) positions.push_back(p);
    } else {
      for (std::size_t i = 0; i <= kSpread; ++i) {
        positions.push_back(i * (contents.size() - 1) / kSpread);
      }
    }
    const bool by_line = path.ends_with(".jsonl");
    for (const std::size_t pos : positions) {
      for (int variant = 0; variant < 2; ++variant) {
        ExportFiles bad = good;
        char& c = bad[path][pos];
        c = variant == 0 ? static_cast<char>(c ^ 0x01) : replacement(c);
        const TranscriptReport report = verify_transcript(bad);
        ++edits;
        const std::string context = path + " byte " + std::to_string(pos) + " ('" +
                                    std::string(1, contents[pos]) + "' -> '" +
                                    std::string(1, bad[path][pos]) + "')";
        ASSERT_FALSE(report.valid()) << context;
        ASSERT_TRUE(mentions(report, path)) << context << "\n" << failures_of(report);
        if (by_line) {
          const std::string line = path + " line " + std::to_string(line_at(contents, pos));
          ASSERT_TRUE(mentions(report, line)) << context << ": no failure names " << line << "\n"
                                              << failures_of(report);
        }
      }
    }
  }
  EXPECT_GT(edits, 2 * (2 * 350 + 6 * 200));
}

// ---- each kind of forgery, reported as itself (the manifest re-signed over the edit) ----------

TEST(TranscriptVerifyTest, HeadWhoseRootDoesNotMatchTheEntriesIsReported) {
  ExportBuilder x;
  Head& head = x.a_heads()[1];  // size 5, line 2
  TreeHead h = head.sth.head;
  h.root = root_of(std::vector<Hash>(x.a_leaves().begin(), x.a_leaves().begin() + 4));
  head.sth = sign_sth(h, x.a().keys.signing);  // a correctly signed head with a wrong root
  head.receipt = x.receipt(x.b(), x.a(), head.sth, {2, 3, 4}, at(201));
  const TranscriptReport report = verify_transcript(x.files());
  EXPECT_FAILURE(report,
                 "heads/us-eucom.jsonl line 2 (head size 5): root does not match the "
                 "entries (expected " +
                     hex_encode(x.a_heads()[2].sth.head.root).substr(0, 16) + ".., head says " +
                     hex_encode(h.root).substr(0, 16) + "..)");
  // The other head of size 5 disagrees with it: a fork of the owner's own log.
  EXPECT_FAILURE(report, "heads/us-eucom.jsonl line 3 (head size 5): FORK");
}

TEST(TranscriptVerifyTest, MissingEntryInACompleteLogIsReported) {
  ExportBuilder x;
  ExportFiles files = x.unsigned_files();
  std::vector<std::string> lines = lines_of(files[kLogA]);
  lines.erase(lines.begin() + 2);
  files[kLogA] = join_lines(lines);
  x.sign(files);
  const TranscriptReport report = verify_transcript(files);
  EXPECT_EQ(report.failures_total, 2u) << failures_of(report);
  EXPECT_FAILURE(report, "logs/us-eucom.jsonl line 3 (entry 3): entry 2 is missing");
  EXPECT_FAILURE(report,
                 "heads/us-eucom.jsonl line 2 (head size 5): the countersignature names entry 2, "
                 "which logs/us-eucom.jsonl does not hold");
}

TEST(TranscriptVerifyTest, HeadLargerThanTheCompleteLogIsReported) {
  ExportBuilder x;
  ExportFiles files = x.unsigned_files();
  std::vector<std::string> lines = lines_of(files[kLogA]);
  lines.pop_back();
  files[kLogA] = join_lines(lines);
  x.sign(files);
  const TranscriptReport report = verify_transcript(files);
  EXPECT_FAILURE(report, "heads/us-eucom.jsonl line 4 (head size 7): the log holds only 6");
}

TEST(TranscriptVerifyTest, ReceiptSignedByTheWrongPartyIsReported) {
  ExportBuilder x;
  // Claims to be ru-genstaff's countersignature, made with us-eucom's key.
  Head& head = x.a_heads()[0];
  head.receipt = sign_receipt_v2(head.receipt->body, x.a().keys.signing);
  const TranscriptReport report = verify_transcript(x.files());
  EXPECT_EQ(report.failures_total, 1u) << failures_of(report);
  EXPECT_FAILURE(report,
                 "heads/us-eucom.jsonl line 1 (head size 2): bad countersignature (not made with "
                 "ru-genstaff's key)");
}

TEST(TranscriptVerifyTest, ReceiptByTheLogOwnerItselfIsReported) {
  ExportBuilder x;
  // ru-genstaff's head, "countersigned" by ru-genstaff instead of us-eucom.
  Head& head = x.b_heads()[0];
  ReceiptV2Body body = head.receipt->body;
  body.from = std::string(kB);
  body.to = std::string(kA);
  head.receipt = sign_receipt_v2(body, x.b().keys.signing);
  const TranscriptReport report = verify_transcript(x.files());
  EXPECT_FAILURE(report, "heads/ru-genstaff.jsonl line 1 (head size 2): countersignature");
}

TEST(TranscriptVerifyTest, ReceiptWhoseSthDiffersFromTheHeadIsReported) {
  ExportBuilder x;
  Head& head = x.a_heads()[2];  // the resend of size 5: receipt over the first head of size 5
  head.receipt = x.receipt(x.b(), x.a(), x.a_heads()[1].sth, {4}, at(301));
  const TranscriptReport report = verify_transcript(x.files());
  EXPECT_EQ(report.failures_total, 1u) << failures_of(report);
  EXPECT_FAILURE(report,
                 "heads/us-eucom.jsonl line 3 (head size 5): countersignature: its sth is not this "
                 "head's signed payload");
}

TEST(TranscriptVerifyTest, ReceiptNamingAnotherEntryIdIsReported) {
  ExportBuilder x;
  Head& head = x.a_heads()[0];
  ReceiptV2Body body = head.receipt->body;
  std::swap(body.ids[0], body.ids[1]);
  head.receipt = sign_receipt_v2(body, x.b().keys.signing);
  const TranscriptReport report = verify_transcript(x.files());
  EXPECT_FAILURE(
      report, "heads/us-eucom.jsonl line 1 (head size 2): the countersignature names entry 0 as");
}

TEST(TranscriptVerifyTest, ReceiptNamingAnEntryTheLogLacksIsReported) {
  ExportBuilder x;
  // us-eucom countersigns entry 2 of ru-genstaff's log, but its copy of that log lacks it.
  Head& head = x.b_heads()[1];
  ReceiptV2Body body = head.receipt->body;
  SeededRng rng(1);
  body.ids.push_back(uuid_v7(at(9), rng));
  body.indices.push_back(2);
  head.receipt = sign_receipt_v2(body, x.a().keys.signing);
  const TranscriptReport report = verify_transcript(x.files());
  EXPECT_EQ(report.failures_total, 1u) << failures_of(report);
  EXPECT_FAILURE(report,
                 "heads/ru-genstaff.jsonl line 2 (head size 6): the countersignature names entry "
                 "2, which logs/ru-genstaff.jsonl does not hold");
}

TEST(TranscriptVerifyTest, PartialLogEntryWithABadProofIsReported) {
  ExportBuilder x;
  ExportFiles files = x.unsigned_files();
  std::vector<std::string> lines = lines_of(files[kProofsB]);
  // Entry 1's proof in the head of size 2 is [leaf 0]; give it leaf 1 instead.
  ASSERT_EQ(lines[1], encode_proof_line(1, 2, {x.b_leaves()[0]}));
  lines[1] = encode_proof_line(1, 2, {x.b_leaves()[1]});
  files[kProofsB] = join_lines(lines);
  x.sign(files);
  const TranscriptReport report = verify_transcript(files);
  EXPECT_EQ(report.failures_total, 1u) << failures_of(report);
  EXPECT_FAILURE(report,
                 "proofs/ru-genstaff.jsonl line 2 (entry 1): inclusion proof does not lead to the "
                 "root of the head of size 2");
}

TEST(TranscriptVerifyTest, PartialLogProofAgainstAnAbsentHeadIsReported) {
  ExportBuilder x;
  ExportFiles files = x.unsigned_files();
  std::vector<std::string> lines = lines_of(files[kProofsB]);
  const NodeSource source = leaves_source(x.b_leaves());
  lines[0] = encode_proof_line(0, 3, *inclusion_proof(0, 3, source));
  files[kProofsB] = join_lines(lines);
  x.sign(files);
  const TranscriptReport report = verify_transcript(files);
  EXPECT_EQ(report.failures_total, 1u) << failures_of(report);
  EXPECT_FAILURE(report, "proofs/ru-genstaff.jsonl line 1 (entry 0): no head of size 3");
}

TEST(TranscriptVerifyTest, EntryOfTheWrongOwnerIsReported) {
  ExportBuilder x;
  ExportFiles files = x.unsigned_files();
  // One of us-eucom's envelopes placed into ru-genstaff's log.
  std::vector<std::string> lines = lines_of(files[kLogB]);
  lines[0] = encode_log_line(0, x.a_log()[0]);
  files[kLogB] = join_lines(lines);
  x.sign(files);
  const TranscriptReport report = verify_transcript(files);
  EXPECT_FAILURE(report,
                 "logs/ru-genstaff.jsonl line 1 (entry 0): envelope signed by 'us-eucom', not by "
                 "the log's owner 'ru-genstaff'");
}

TEST(TranscriptVerifyTest, ManifestMissingAFileIsReported) {
  ExportBuilder x;
  ExportFiles files = x.unsigned_files();
  const std::string heads = files[kHeadsB];
  files.erase(kHeadsB);
  x.sign(files);
  files[kHeadsB] = heads;
  const TranscriptReport report = verify_transcript(files);
  EXPECT_EQ(report.failures_total, 1u) << failures_of(report);
  EXPECT_FAILURE(report,
                 "manifest.json: does not list heads/ru-genstaff.jsonl, which is in the export");
}

TEST(TranscriptVerifyTest, ManifestListingAnAbsentFileIsReported) {
  ExportBuilder x;
  ExportFiles files = x.unsigned_files();
  x.sign(files);
  files.erase(kProofsB);
  const TranscriptReport report = verify_transcript(files);
  EXPECT_FAILURE(report,
                 "manifest.json: lists proofs/ru-genstaff.jsonl, which is not in the export");
  EXPECT_FAILURE(report, "proofs/ru-genstaff.jsonl: missing");
}

TEST(TranscriptVerifyTest, UnexpectedFileIsReported) {
  ExportBuilder x;
  ExportFiles files = x.files();
  files["notes.txt"] = "hello";
  files["logs/fr-etat.jsonl"] = "";
  files["proofs/us-eucom.jsonl"] = "";
  const TranscriptReport report = verify_transcript(files);
  EXPECT_FAILURE(report, "notes.txt: not a file of a transcript export");
  EXPECT_FAILURE(report, "logs/fr-etat.jsonl: names a party that is not in this transcript");
  EXPECT_FAILURE(report, "proofs/us-eucom.jsonl: the exporter's own log is complete");
  EXPECT_FAILURE(report, "manifest.json: does not list notes.txt");
}

TEST(TranscriptVerifyTest, EditedEntryIsReportedBeforeTheManifestHash) {
  ExportBuilder x;
  ExportFiles files = x.files();
  std::vector<std::string> lines = lines_of(files[kLogA]);
  const std::size_t pos = lines[4].find("\"payload\":\"") + 30;
  lines[4][pos] = replacement(lines[4][pos]);  // inside entry 4's signed payload
  files[kLogA] = join_lines(lines);
  const TranscriptReport report = verify_transcript(files);
  ASSERT_GE(report.failures.size(), 2u) << failures_of(report);
  EXPECT_EQ(report.failures.front().rfind("logs/us-eucom.jsonl line 5 (entry 4):", 0), 0u)
      << failures_of(report);
  EXPECT_EQ(report.failures.back(),
            "logs/us-eucom.jsonl: SHA-256 does not match manifest.json (changed after export)");
}

TEST(TranscriptVerifyTest, FailuresAreCappedButCounted) {
  ExportBuilder x(11, 150);
  ExportFiles files = x.unsigned_files();
  // Every envelope of the exporter's log re-signed by the other party's key.
  std::vector<std::string> lines = lines_of(files[kLogA]);
  files[kLogA] = "";
  for (std::size_t i = 0; i < lines.size(); ++i) {
    auto json = json::parse_object(lines[i]);
    ASSERT_TRUE(json.is_ok());
    auto& envelope = (*json)["envelope"];
    const Bytes payload = *base64_decode(envelope["payload"].get<std::string>());
    envelope["sig"] =
        base64_encode(crypto::sign(x.b().keys.signing, wire::kEnvelopeDomain, payload));
    files[kLogA] += encode_log_line(i, json::dump(envelope)) + "\n";
  }
  x.sign(files);
  const TranscriptReport report = verify_transcript(files);
  EXPECT_EQ(report.failures_total, 150u);
  EXPECT_EQ(report.failures.size(), kFailuresMax);
  EXPECT_EQ(report.failures[0], "logs/us-eucom.jsonl line 1 (entry 0): bad envelope signature");
  EXPECT_NE(report.summary().find("INVALID, 150 failures"), std::string::npos);
}

TEST(TranscriptVerifyTest, HeadsOutOfOrderAreReported) {
  ExportBuilder x;
  std::swap(x.a_heads()[0], x.a_heads()[1]);
  const TranscriptReport report = verify_transcript(x.files());
  EXPECT_EQ(report.failures_total, 1u) << failures_of(report);
  EXPECT_FAILURE(report,
                 "heads/us-eucom.jsonl line 2 (head size 2): heads out of order: size 2 after "
                 "size 5");
}

TEST(TranscriptVerifyTest, BundleOfTheWrongPartyIsReported) {
  ExportBuilder x;
  ExportFiles files = x.unsigned_files();
  files[bundle_path(kB)] = files[bundle_path(kA)];
  x.sign(files);
  const TranscriptReport report = verify_transcript(files);
  EXPECT_FAILURE(report,
                 "bundles/ru-genstaff.json: the bundle of 'us-eucom', expected 'ru-genstaff'");
}

TEST(TranscriptVerifyTest, MissingFinalNewlineIsReported) {
  ExportBuilder x;
  ExportFiles files = x.unsigned_files();
  files[kHeadsB].pop_back();
  x.sign(files);
  const TranscriptReport report = verify_transcript(files);
  EXPECT_EQ(report.failures_total, 1u) << failures_of(report);
  EXPECT_FAILURE(report, "heads/ru-genstaff.jsonl line 2: the last line has no final newline");
}

}  // namespace
}  // namespace parley::ledger
