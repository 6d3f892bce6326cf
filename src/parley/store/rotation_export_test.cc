// Issue 17, key rotation, as the receiver keeps it: the peer's rotation stored by a real
// session in a real store (the in-memory one) is exported as a rotation line of the peer's log
// (docs/transcript.md), and `parley verify` of that export follows the chain of keys through it
// to the entries the new key signed.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "parley/core/peer_log_for_test.h"
#include "parley/core/session_harness.h"
#include "parley/ledger/verify.h"
#include "parley/store/memory/memory_store.h"
#include "parley/store/peer_copy.h"
#include "parley/store/transcript_export.h"

namespace parley::store {
namespace {

using core::kRu;
using core::kUs;

// Feeds `body` to us-eucom's session, makes its batches durable in `store` too, and returns
// the HTTP status of the answer.
int receive(core::Harness& h, MemoryStore& store, const std::string& body) {
  const std::vector<core::Action> out = h.feed_durable(kUs, core::TransactionReceived{1, body});
  for (const core::Persist& p : core::all_of<core::Persist>(out)) {
    const Status applied = store.apply(p.records);
    EXPECT_TRUE(applied.is_ok()) << applied.to_string();
  }
  const std::vector<core::Answer> answers = core::all_of<core::Answer>(out);
  return answers.size() == 1 ? answers[0].http_status : 0;
}

TEST(RotationExportTest, TheExportOfAReceivedRotationVerifiesFollowingTheChain) {
  core::Harness h;
  core::RuLog log(h);
  MemoryStore store(MemoryStore::new_disk());
  ASSERT_TRUE(store.put_peer(core::Peer{h.keys(kRu).bundle}).is_ok());
  SeededRng keys(7);
  const crypto::Keys next = crypto::generate_keys(keys);

  log.envelope(h.keys(kRu).keys, 1);
  log.rotation(h.keys(kRu).keys, next, 1);
  ASSERT_EQ(receive(h, store, log.transaction({0, 1}, 2, h.keys(kRu).keys, 0)), 200);
  log.envelope(next, 2);
  ASSERT_EQ(receive(h, store, log.transaction({2}, 3, next, 2)), 200);

  MemorySink sink;
  const core::PartyKeys& us = h.keys(kUs);
  ASSERT_TRUE(
      export_transcript(store, us.bundle, us.keys.signing, "ru-genstaff", h.now, sink).is_ok());
  const std::string& lines = sink.files().at("logs/ru-genstaff.jsonl");
  EXPECT_NE(lines.find("{\"index\":1,\"rotation\":" + log.text(1) + "}"), std::string::npos)
      << lines;
  const ledger::TranscriptReport report = ledger::verify_transcript(sink.files());
  EXPECT_TRUE(report.valid()) << report.summary() << "\n"
                              << (report.failures.empty() ? "" : report.failures[0]);
  ASSERT_EQ(report.rotations.size(), 1u);
  EXPECT_EQ(report.rotations[0].party, "ru-genstaff");
  EXPECT_EQ(report.rotations[0].index, 1u);
  EXPECT_EQ(report.rotations[0].key, next.verify);
  EXPECT_EQ(report.entries, 3u);
}

// docs/protocol.md "Forks and restores": the copy of the peer's log we serve it from the store
// (POST /federation/v1/log) carries its rotation statement as a rotation entry, exactly as
// stored, so that the peer recovering from it follows its own chain of keys.
TEST(RotationExportTest, TheCopyOfThePeersLogWeServeCarriesItsRotationEntry) {
  core::Harness h;
  core::RuLog log(h);
  MemoryStore store(MemoryStore::new_disk());
  ASSERT_TRUE(store.put_peer(core::Peer{h.keys(kRu).bundle}).is_ok());
  SeededRng keys(7);
  const crypto::Keys next = crypto::generate_keys(keys);
  log.envelope(h.keys(kRu).keys, 1);
  log.rotation(h.keys(kRu).keys, next, 1);
  log.envelope(next, 2);
  ASSERT_EQ(receive(h, store, log.transaction({0, 1, 2}, 3, next, 0)), 200);

  // ru asks from the start of its log, as after a restore of its store.
  Result<std::string> answer =
      answer_log_request(store, core::LogRequest{"ru-genstaff", "us-eucom", 0, 0});
  ASSERT_TRUE(answer.is_ok()) << answer.status().to_string();
  EXPECT_NE(answer->find("{\"index\":1,\"rotation\":" + log.text(1) + "}"), std::string::npos)
      << *answer;
  Result<core::LogAnswer> parsed = core::parse_log_answer(*answer, "us-eucom", "ru-genstaff");
  ASSERT_TRUE(parsed.is_ok()) << parsed.status().to_string();
  ASSERT_EQ(parsed->yours.entries.size(), 3u);
  EXPECT_FALSE(parsed->yours.entries[0].rotation);
  EXPECT_TRUE(parsed->yours.entries[1].rotation);
  EXPECT_EQ(parsed->yours.entries[1].envelope, log.text(1));
  EXPECT_FALSE(parsed->yours.entries[2].rotation);
  EXPECT_EQ(parsed->yours.entries[2].envelope, log.text(2));
}

}  // namespace
}  // namespace parley::store
