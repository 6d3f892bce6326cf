// Issue 12, silence as evidence: two real nodes over in-memory stores, wired by hand and
// driven by a clock the test advances (no sleeps). A FLASH from us-eucom goes unacknowledged
// past its deadline: each side appends ONE signed evidence.unacknowledged entry to its own
// log, which the other side countersigns like any other entry; a restart writes none again
// (the store says which messages are overdue already); each party's exported transcript
// verifies, and fails once an evidence entry is edited.
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "parley/base/json.h"
#include "parley/base/rng.h"
#include "parley/catalog/catalog.h"
#include "parley/core/message_state.h"
#include "parley/core/node.h"
#include "parley/crypto/crypto.h"
#include "parley/ledger/verify.h"
#include "parley/store/memory/memory_store.h"
#include "parley/store/node_recovery.h"
#include "parley/store/transcript_export.h"

namespace parley::store {
namespace {

using namespace std::chrono_literals;
using core::NodeAction;

constexpr char kLine[] = "saceur-cgs";

template <typename T>
std::vector<T> all_of(const std::vector<NodeAction>& actions) {
  std::vector<T> found;
  for (const NodeAction& a : actions) {
    if (const T* t = std::get_if<T>(&a)) found.push_back(*t);
  }
  return found;
}

// One party: its keys and bundle, its store (a disk that outlives the node) and its node.
struct Party {
  std::string id;
  crypto::Keys keys;
  wire::Bundle bundle;
  core::NodeConfig config;
  std::shared_ptr<MemoryStore::Disk> disk = MemoryStore::new_disk();
  std::unique_ptr<MemoryStore> store = std::make_unique<MemoryStore>(disk);
  std::unique_ptr<core::Node> node;
};

void make_party(Party& p, const std::string& id, std::uint64_t seed, char fingerprint) {
  SeededRng rng(seed);
  p.id = id;
  p.keys = crypto::generate_keys(rng);
  p.bundle.party = id;
  p.bundle.sign_key = p.keys.verify;
  p.bundle.box_key = p.keys.box_public;
  p.bundle.tls_fingerprint = std::string(64, fingerprint);
  p.bundle.federation = {id + "-primary:7001"};
  p.config.party = id;
  p.config.keys = p.keys;
}

core::Principal principal(const std::string& id, const std::string& role) {
  core::Principal p;
  p.id = id;
  p.name = id;
  p.role = role;
  return p;
}

// The evidence.unacknowledged messages `store` holds, by direction.
std::vector<core::MessageRecord> entries_in(Store& store, core::Direction direction,
                                            std::string_view type) {
  MessageQuery query;
  query.direction = direction;
  query.types = {std::string(type)};
  query.include_acks = true;
  Result<std::vector<core::MessageRecord>> found = store.list_messages(query);
  EXPECT_TRUE(found.is_ok());
  return found.is_ok() ? *found : std::vector<core::MessageRecord>{};
}

std::vector<core::MessageRecord> evidence_in(Store& store, core::Direction direction) {
  return entries_in(store, direction, core::kEvidenceUnacknowledgedType);
}

class NodeEvidenceTest : public ::testing::Test {
 protected:
  NodeEvidenceTest() : rng_(7) {
    make_party(us_, "us-eucom", 1, 'a');
    make_party(ru_, "ru-genstaff", 2, 'b');
    core::Line us_line;
    us_line.id = kLine;
    us_line.local = "saceur";
    us_line.remote = wire::Address{"ru-genstaff", "cgs"};
    us_line.remote_alternates = {"deputy"};
    us_.config.lines = {us_line};
    us_.config.directory.principals = {principal("saceur", "commander")};
    core::Line ru_line;
    ru_line.id = kLine;
    ru_line.local = "cgs";
    ru_line.remote = wire::Address{"us-eucom", "saceur"};
    ru_line.alternates = {"deputy"};
    ru_.config.lines = {ru_line};
    ru_.config.directory.principals = {principal("cgs", "commander"), principal("deputy", "staff")};
    // Pinned, as `parley peer add` does: the export takes the peer's bundle from the store.
    EXPECT_TRUE(MemoryStore(us_.disk).put_peer(core::Peer{ru_.bundle}).is_ok());
    EXPECT_TRUE(MemoryStore(ru_.disk).put_peer(core::Peer{us_.bundle}).is_ok());
    start(us_, ru_);
    start(ru_, us_);
  }

  // (Re)starts `p`'s node from what its store holds for `peer`, as a gateway does.
  void start(Party& p, const Party& peer) {
    p.store = std::make_unique<MemoryStore>(p.disk);
    Result<core::Recovered> recovered = p.store->recover(peer.id);
    ASSERT_TRUE(recovered.is_ok()) << recovered.status().to_string();
    ASSERT_TRUE(recover_shown(*p.store, *recovered).is_ok());
    std::vector<core::NodePeer> peers;
    peers.push_back({peer.bundle, std::move(*recovered)});
    p.node =
        std::make_unique<core::Node>(p.config, catalog::Catalog::builtin(), rng_, std::move(peers));
    run(p, core::Start{});
  }

  // Feeds `event`, then applies to `p`'s store every commit the node asks for until it asks
  // for nothing more; returns every action of every round.
  std::vector<NodeAction> run(Party& p, core::NodeEvent event) {
    std::vector<NodeAction> every;
    std::vector<NodeAction> out;
    p.node->handle(std::move(event), now_, out);
    for (int round = 0; round < 10; ++round) {
      every.insert(every.end(), out.begin(), out.end());
      if (all_of<core::ScheduleCommit>(out).empty()) break;
      std::vector<NodeAction> more;
      p.node->handle(core::CommitDue{}, now_, more);
      const std::vector<core::Commit> commits = all_of<core::Commit>(more);
      EXPECT_EQ(commits.size(), 1u);
      every.insert(every.end(), more.begin(), more.end());
      std::vector<const std::vector<core::Record>*> batches;
      for (const core::CommitBatch& b : commits[0].batches) batches.push_back(&b.records);
      Result<std::vector<Status>> applied = p.store->apply_group(batches);
      EXPECT_TRUE(applied.is_ok());
      out.clear();
      p.node->handle(core::Committed{commits[0].id, *applied}, now_, out);
    }
    return every;
  }

  // Carries every Post of `from` to `to` and its answer back, until neither has one.
  void carry(Party& from, Party& to, std::vector<NodeAction> actions) {
    for (int hop = 0; hop < 10; ++hop) {
      const std::vector<core::Post> posts = all_of<core::Post>(actions);
      if (posts.empty()) return;
      actions.clear();
      for (const core::Post& post : posts) {
        const std::vector<NodeAction> there =
            run(to, core::PeerTransaction{++request_, from.bundle.tls_fingerprint, post.body});
        const std::vector<core::Answer> answers = all_of<core::Answer>(there);
        ASSERT_EQ(answers.size(), 1u);
        ASSERT_EQ(answers[0].http_status, 200) << answers[0].body;
        std::vector<NodeAction> back =
            run(from, core::PostAnswered{post.party, post.path, post.tx, 200, answers[0].body});
        actions.insert(actions.end(), back.begin(), back.end());
      }
    }
  }

  // Both clocks at t0 + `at`: each node's timer fires and what it sends reaches the other.
  void tick_at(Duration at) {
    now_ = t0_ + at;
    carry(us_, ru_, run(us_, core::Tick{}));
    carry(ru_, us_, run(ru_, core::Tick{}));
  }

  std::string send_flash() {
    core::Submit s;
    s.request = ++request_;
    s.line = kLine;
    s.principal = "saceur";
    s.precedence = wire::Precedence::kFlash;
    s.content = wire::Content{"{}", "launch detected"};
    const std::vector<NodeAction> sent = run(us_, std::move(s));
    EXPECT_EQ(all_of<core::Accepted>(sent).size(), 1u);
    carry(us_, ru_, sent);
    return all_of<core::Accepted>(sent).at(0).message_id;
  }

  ledger::TranscriptReport verify_export(Party& p, const Party& peer, ledger::ExportFiles* out) {
    MemorySink sink;
    const Status exported =
        export_transcript(*p.store, p.bundle, p.keys.signing, peer.id, now_, sink);
    EXPECT_TRUE(exported.is_ok()) << exported.to_string();
    if (out != nullptr) *out = sink.files();
    return ledger::verify_transcript(sink.files());
  }

  SeededRng rng_;
  const Time t0_ = time_from_unix_ms(1'795'554'000'000);
  Time now_ = t0_;
  Party us_;
  Party ru_;
  core::RequestId request_ = 0;
};

TEST_F(NodeEvidenceTest, AnUnacknowledgedFlashLeavesOneCountersignedEntryOnEachSide) {
  const std::string id = send_flash();
  tick_at(5min - 1ms);
  EXPECT_TRUE(evidence_in(*us_.store, core::Direction::kOutbound).empty());
  EXPECT_TRUE(evidence_in(*ru_.store, core::Direction::kOutbound).empty());

  tick_at(5min);
  for (Duration at = 6min; at <= 8min; at += 1min) tick_at(at);  // re-alerts: no new evidence

  // Each side wrote one, naming the message, its deadline, when and whom it alerted.
  for (Party* p : {&us_, &ru_}) {
    const std::vector<core::MessageRecord> ours =
        evidence_in(*p->store, core::Direction::kOutbound);
    ASSERT_EQ(ours.size(), 1u) << p->id;
    const core::MessageRecord& e = ours[0];
    EXPECT_EQ(e.reply_to, id);
    EXPECT_EQ(e.created, t0_ + 5min);
    EXPECT_EQ(e.precedence, wire::Precedence::kFlash);
    Result<json::Json> body = json::parse_object(e.content.body_json);
    ASSERT_TRUE(body.is_ok());
    EXPECT_EQ((*body)["message"], id);
    EXPECT_EQ((*body)["deadline"], format_time(t0_ + 5min));
    EXPECT_EQ((*body)["observed"], format_time(t0_ + 5min));
    const std::string alerted = p == &us_ ? "us-eucom/saceur" : "ru-genstaff/cgs";
    EXPECT_EQ((*body)["alerted"], json::Json::array({alerted})) << p->id;
    EXPECT_EQ((*body)["side"], p == &us_ ? "sender" : "receiver");
    // Countersigned: the peer's receipt covers it, and the peer holds it as received.
    EXPECT_TRUE(e.receipt.has_value()) << p->id;
    Party& peer = p == &us_ ? ru_ : us_;
    ASSERT_EQ(evidence_in(*peer.store, core::Direction::kInbound).size(), 1u) << peer.id;
    EXPECT_EQ(evidence_in(*peer.store, core::Direction::kInbound)[0].envelope, e.envelope);
  }
  // Nobody's inbox, nobody's acknowledgment to give, no escalation of their own.
  EXPECT_EQ(ru_.node->session("us-eucom")->stats().inbound_unacknowledged, 1u);
  EXPECT_EQ(us_.node->session("ru-genstaff")->stats().unacknowledged, 1u);

  // A restart of both reads the overdue marks back: no second entry.
  start(us_, ru_);
  start(ru_, us_);
  for (Duration at = 9min; at <= 11min; at += 1min) tick_at(at);
  EXPECT_EQ(evidence_in(*us_.store, core::Direction::kOutbound).size(), 1u);
  EXPECT_EQ(evidence_in(*ru_.store, core::Direction::kOutbound).size(), 1u);
  EXPECT_EQ(evidence_in(*us_.store, core::Direction::kInbound).size(), 1u);

  // Each party's export verifies (what `parley verify` runs).
  for (auto [p, peer] : {std::pair{&us_, &ru_}, std::pair{&ru_, &us_}}) {
    const ledger::TranscriptReport report = verify_export(*p, *peer, nullptr);
    EXPECT_TRUE(report.valid()) << p->id << ": " << report.summary();
  }
}

TEST_F(NodeEvidenceTest, AnEditedObservedTimeFailsVerificationAtItsLine) {
  send_flash();
  tick_at(5min);
  ledger::ExportFiles files;
  ASSERT_TRUE(verify_export(us_, ru_, &files).valid());
  // Our log: entry 0 the FLASH, entry 1 the evidence. Its observed time (the payload's
  // `created`) moved a minute later, re-encoded without the key to sign it again.
  std::string& log = files.at("logs/us-eucom.jsonl");
  const std::size_t line2 = log.find('\n') + 1;
  const std::size_t end2 = log.find('\n', line2);
  Result<json::Json> entry = json::parse_object(log.substr(line2, end2 - line2));
  ASSERT_TRUE(entry.is_ok());
  json::Json& envelope = (*entry)["envelope"];
  Result<Bytes> payload = base64_decode(envelope["payload"].get<std::string>());
  ASSERT_TRUE(payload.is_ok());
  std::string text = to_string(*payload);
  const std::string observed = format_time(t0_ + 5min);
  ASSERT_NE(text.find(observed), std::string::npos);
  text.replace(text.find(observed), observed.size(), format_time(t0_ + 6min));
  envelope["payload"] = base64_encode(as_bytes(text));
  log.replace(line2, end2 - line2, json::dump(*entry));

  const ledger::TranscriptReport report = ledger::verify_transcript(files);
  EXPECT_FALSE(report.valid());
  ASSERT_FALSE(report.failures.empty());
  EXPECT_EQ(report.failures[0], "logs/us-eucom.jsonl line 2 (entry 1): bad envelope signature");
}

// The stage "shown": the first read by a principal on the line sends the sender a signed
// stage.shown entry, once, even across a restart; a read by someone not on the line, or
// of a message already shown, sends nothing. The sender's stages show its signed time.
TEST_F(NodeEvidenceTest, TheFirstReadByAPrincipalOnTheLineIsTheStageShownOnce) {
  const std::string id = send_flash();
  const auto shown_at_us = [&] {
    return entries_in(*us_.store, core::Direction::kInbound, core::kStageShownType);
  };
  carry(ru_, us_, run(ru_, core::Show{"watch-1", id}));  // not on the line
  carry(us_, ru_, run(us_, core::Show{"saceur", id}));   // ours: the sender reads its own
  EXPECT_TRUE(shown_at_us().empty());

  now_ = t0_ + 1min;
  carry(ru_, us_, run(ru_, core::Show{"deputy", id}));
  ASSERT_EQ(shown_at_us().size(), 1u);
  EXPECT_EQ(shown_at_us()[0].reply_to, id);
  EXPECT_EQ(shown_at_us()[0].from.to_string(), "ru-genstaff/deputy");
  now_ = t0_ + 2min;
  carry(ru_, us_, run(ru_, core::Show{"cgs", id}));
  start(ru_, us_);
  carry(ru_, us_, run(ru_, core::Show{"cgs", id}));
  EXPECT_EQ(shown_at_us().size(), 1u);

  Result<std::optional<core::MessageRecord>> sent = us_.store->get_message(id);
  ASSERT_TRUE(sent.is_ok() && sent->has_value());
  Result<std::vector<core::MessageRecord>> replies = us_.store->replies_to({id});
  ASSERT_TRUE(replies.is_ok());
  const core::Stages stages = core::stages_of(**sent, *replies);
  EXPECT_EQ(stages.stored, t0_);
  EXPECT_EQ(stages.shown, t0_ + 1min);
  EXPECT_FALSE(stages.acknowledged.has_value());
  EXPECT_FALSE(stages.answered.has_value());
}

// Acknowledged unread (`parley ack ID` straight away): the ack shows it was shown, so the
// receiver writes the stage.shown entry first, in the ack's batch; the sender holds all four
// stages but answered, shown and acknowledged at the ack's time; both exports verify.
TEST_F(NodeEvidenceTest, AnAckWithoutAReadWritesTheStageShownFirst) {
  const std::string id = send_flash();
  now_ = t0_ + 30s;
  core::Acknowledge ack;
  ack.request = ++request_;
  ack.principal = "deputy";
  ack.message_id = id;
  const std::vector<NodeAction> acked = run(ru_, std::move(ack));
  ASSERT_EQ(all_of<core::Accepted>(acked).size(), 1u);
  carry(ru_, us_, acked);
  const std::vector<core::MessageRecord> shown =
      entries_in(*us_.store, core::Direction::kInbound, core::kStageShownType);
  ASSERT_EQ(shown.size(), 1u);
  EXPECT_EQ(shown[0].reply_to, id);
  EXPECT_EQ(shown[0].from.to_string(), "ru-genstaff/deputy");
  // Before the ack on the line: the sender's log of ru holds the stage, then the ack.
  const std::vector<core::MessageRecord> acks =
      entries_in(*us_.store, core::Direction::kInbound, core::kAckType);
  ASSERT_EQ(acks.size(), 1u);
  EXPECT_LT(shown[0].seq, acks[0].seq);

  Result<std::optional<core::MessageRecord>> sent = us_.store->get_message(id);
  ASSERT_TRUE(sent.is_ok() && sent->has_value());
  Result<std::vector<core::MessageRecord>> replies = us_.store->replies_to({id});
  ASSERT_TRUE(replies.is_ok());
  const core::Stages stages = core::stages_of(**sent, *replies);
  EXPECT_EQ(stages.shown, t0_ + 30s);
  EXPECT_TRUE(stages.acknowledged.has_value());
  // A read after the ack writes nothing more.
  carry(ru_, us_, run(ru_, core::Show{"cgs", id}));
  EXPECT_EQ(entries_in(*us_.store, core::Direction::kInbound, core::kStageShownType).size(), 1u);
  EXPECT_TRUE(verify_export(us_, ru_, nullptr).valid());
  EXPECT_TRUE(verify_export(ru_, us_, nullptr).valid());
}

}  // namespace
}  // namespace parley::store
