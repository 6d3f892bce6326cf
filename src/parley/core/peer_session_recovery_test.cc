// PeerSession with recover_at_start: a store gone back to an older state (a restore) takes
// back from the peer what it lost of both logs before it signs anything new; a forged or
// altered copy is refused (an alarm); a peer that does not answer is asked again, and nothing
// new is signed meanwhile.
#include <gtest/gtest.h>

#include "parley/core/session_harness.h"

namespace parley::core {
namespace {

using namespace std::chrono_literals;

constexpr char kUsId[] = "us-eucom";
// How long a principal's request waits for the peer's answer before it is refused.
constexpr Duration kHeldWait = std::chrono::seconds(5);
constexpr char kRuId[] = "ru-genstaff";

// Both sides exchange, us is backed up, both send more, and us is restored and restarted
// with recovery on (not yet started: the test feeds the first TimerFired, as Node's Start).
struct Restored {
  Harness h;
  std::vector<std::string> lost_ours;    // us's messages sent after the backup
  std::vector<std::string> lost_theirs;  // ru's messages us received after the backup
  Restored() {
    h.send(kRu);
    h.send(kUs);
    const FakeStore backup = h.store(kUs);
    lost_ours.push_back(h.send(kUs));
    lost_theirs.push_back(h.send(kRu));
    lost_ours.push_back(h.send(kUs));
    h.store(kUs) = backup;
    h.recover_at_start = true;
    h.recovery_required = true;  // `parley restore` says so
    h.restart(kUs, h.store(kUs).recover(kUsId, kRuId));
  }
};

TEST(PeerSessionRecoveryTest, ARestoredSideTakesBackBothLogsAndTrafficFlowsBothWays) {
  Restored r;
  Harness& h = r.h;
  ASSERT_EQ(h.session(kUs).stats().log_size, 1u);
  EXPECT_FALSE(h.session(kUs).stats().recovering.empty());

  const std::size_t before = h.log[kUs].size();
  h.deliver(kUs, TimerFired{});
  const std::vector<Action> start(h.log[kUs].begin() + static_cast<std::ptrdiff_t>(before),
                                  h.log[kUs].end());
  EXPECT_EQ(h.log_requests[kUs], 1u);
  const SessionStats us = h.session(kUs).stats();
  EXPECT_FALSE(us.forked()) << us.fork_reason();
  EXPECT_TRUE(us.recovering.empty()) << us.recovering;
  EXPECT_EQ(us.log_size, 3u);
  EXPECT_EQ(us.countersigned_size, 3u);
  EXPECT_EQ(us.peer_log_size, 2u);
  for (const std::string& id : r.lost_ours) {
    const MessageRecord* m = h.store(kUs).find(id);
    ASSERT_NE(m, nullptr) << id;
    EXPECT_EQ(m->direction, Direction::kOutbound);
    EXPECT_EQ(m->state, MessageState::kDelivered);
    EXPECT_EQ(m->content.text, "hello");  // opened again with the pair's seal key
    EXPECT_TRUE(m->receipt.has_value());
  }
  for (const std::string& id : r.lost_theirs) {
    const MessageRecord* m = h.store(kUs).find(id);
    ASSERT_NE(m, nullptr) << id;
    EXPECT_EQ(m->direction, Direction::kInbound);
    EXPECT_EQ(m->state, MessageState::kDelivered);
  }
  // Stored again without new alerts: no "message received" for what was delivered before.
  EXPECT_TRUE(notices_of(start, NoticeKind::kMessageReceived).empty());
  EXPECT_EQ(notices_of(start, NoticeKind::kLogRecovery).size(), 1u);
  expect_every_outbound_message_proven(h, kUs);

  // Both ways, at once: nobody forks, every message is delivered.
  const std::string from_us = h.send(kUs);
  const std::string from_ru = h.send(kRu);
  EXPECT_EQ(h.store(kUs).find(from_us)->state, MessageState::kDelivered);
  EXPECT_EQ(h.store(kRu).find(from_ru)->state, MessageState::kDelivered);
  EXPECT_NE(h.store(kUs).find(from_ru), nullptr);
  EXPECT_NE(h.store(kRu).find(from_us), nullptr);
  EXPECT_FALSE(h.session(kUs).stats().forked()) << h.session(kUs).stats().fork_reason();
  EXPECT_FALSE(h.session(kRu).stats().forked()) << h.session(kRu).stats().fork_reason();
  EXPECT_EQ(h.session(kRu).stats().peer_log_size, 4u);
  EXPECT_EQ(h.session(kUs).stats().peer_log_size, 3u);
  // us's log as ru holds it and as us holds it again are the same entries.
  const auto& ours = h.store(kUs).log(kUsId, kRuId);
  const auto& theirs = h.store(kRu).log(kUsId, kRuId);
  ASSERT_EQ(ours.size(), theirs.size());
  for (const auto& [index, entry] : ours) EXPECT_EQ(entry.leaf_hash, theirs.at(index).leaf_hash);
}

TEST(PeerSessionRecoveryTest, AStartWithNothingLostIsOneRequestAndNothingStored) {
  Harness h;
  h.send(kUs);
  h.send(kRu);
  h.recover_at_start = true;
  h.restart(kUs, h.store(kUs).recover(kUsId, kRuId));
  const std::size_t before = h.log[kUs].size();
  h.deliver(kUs, TimerFired{});
  EXPECT_EQ(h.log_requests[kUs], 1u);
  const std::vector<Action> start(h.log[kUs].begin() + static_cast<std::ptrdiff_t>(before),
                                  h.log[kUs].end());
  EXPECT_EQ(count_of<Persist>(start), 0u);
  EXPECT_TRUE(notices_of(start, NoticeKind::kLogRecovery).empty());
  EXPECT_TRUE(h.session(kUs).stats().recovering.empty());
  const std::string id = h.send(kUs);
  EXPECT_EQ(h.store(kUs).find(id)->state, MessageState::kDelivered);
  EXPECT_EQ(h.log_requests[kUs], 1u);  // once per start
  EXPECT_FALSE(h.session(kUs).stats().forked());
  EXPECT_FALSE(h.session(kRu).stats().forked());
}

TEST(PeerSessionRecoveryTest, AnOrdinaryStartWaitsForNothingWhenThePeerIsAway) {
  Harness h;
  h.send(kUs);
  h.send(kRu);
  h.recover_at_start = true;  // no restore: recovery_required stays off
  h.restart(kUs, h.store(kUs).recover(kUsId, kRuId));
  h.link_up = false;
  std::vector<Action> out = h.feed(kUs, TimerFired{});
  ASSERT_EQ(count_of<SendTransaction>(out), 1u);
  const SendTransaction ask = all_of<SendTransaction>(out)[0];
  ASSERT_TRUE(ask.log_request);
  EXPECT_TRUE(h.session(kUs).stats().recovering.empty());
  out = h.feed(kUs, TransactionFailed{ask.tx, "connection refused"});
  EXPECT_EQ(notices_of(out, NoticeKind::kLogRecovery).size(), 1u);
  // A principal's message is taken and leaves at once, as at any start with the peer away.
  h.link_up = true;
  const std::string id = h.send(kUs);
  ASSERT_FALSE(id.empty());
  EXPECT_EQ(h.store(kUs).find(id)->state, MessageState::kDelivered);
  EXPECT_FALSE(h.session(kUs).stats().forked());
  EXPECT_FALSE(h.session(kRu).stats().forked());
}

TEST(PeerSessionRecoveryTest, AnOrdinaryStartOfAStoreThatWentBackTakesTheCopyIfNothingWasSigned) {
  Restored r;  // a snapshot rolled back, no `parley restore`: nothing says so
  Harness& h = r.h;
  h.recovery_required = false;
  h.restart(kUs, h.store(kUs).recover(kUsId, kRuId));
  h.deliver(kUs, TimerFired{});
  EXPECT_EQ(h.log_requests[kUs], 1u);
  EXPECT_FALSE(h.session(kUs).stats().forked()) << h.session(kUs).stats().fork_reason();
  EXPECT_EQ(h.session(kUs).stats().log_size, 3u);
  EXPECT_EQ(h.session(kUs).stats().peer_log_size, 2u);
  const std::string from_us = h.send(kUs);
  const std::string from_ru = h.send(kRu);
  EXPECT_EQ(h.store(kUs).find(from_us)->state, MessageState::kDelivered);
  EXPECT_EQ(h.store(kRu).find(from_ru)->state, MessageState::kDelivered);
  EXPECT_FALSE(h.session(kRu).stats().forked()) << h.session(kRu).stats().fork_reason();
}

// A copy the peer altered: the session refuses it, shows the path forked with the reason, and
// signs nothing new: no entry, no transaction, and a principal's message is refused.
void expect_copy_refused(Restored& r, const std::string& reason) {
  Harness& h = r.h;
  h.deliver(kUs, TimerFired{});
  const std::size_t asked = h.log_requests[kUs];
  const SessionStats us = h.session(kUs).stats();
  EXPECT_TRUE(us.forked());
  EXPECT_NE(us.fork.find(reason), std::string::npos) << us.fork;
  EXPECT_EQ(us.log_size, 1u);
  EXPECT_EQ(h.store(kUs).log(kUsId, kRuId).size(), 1u);
  EXPECT_FALSE(notices_of(h.log[kUs], NoticeKind::kForkDetected).empty());
  const std::size_t before = h.log[kUs].size();
  EXPECT_EQ(h.send(kUs), "");
  h.now += 1min;
  h.deliver(kUs, TimerFired{});
  const std::vector<Action> after(h.log[kUs].begin() + static_cast<std::ptrdiff_t>(before),
                                  h.log[kUs].end());
  EXPECT_EQ(count_of<Persist>(after), 0u);
  EXPECT_EQ(count_of<SendTransaction>(after), 0u);
  ASSERT_EQ(count_of<Rejected>(after), 1u);
  EXPECT_EQ(all_of<Rejected>(after)[0].status.code(), StatusCode::kUnavailable);
  EXPECT_EQ(h.log_requests[kUs], asked);  // not asked again: an operator must look
  EXPECT_EQ(h.session(kUs).next_deadline(), std::nullopt);
}

TEST(PeerSessionRecoveryTest, AnAlteredEntryOfOurLogIsRefused) {
  Restored r;
  // The peer returns one of its own envelopes in place of ours: not signed by us.
  const std::string theirs =
      r.h.store(kRu).find(r.h.store(kRu).log(kRuId, kUsId).at(0).message_id)->envelope;
  r.h.alter_log_answer = [&](LogAnswer& a) {
    ASSERT_FALSE(a.yours.entries.empty());
    a.yours.entries[0].envelope = theirs;
  };
  expect_copy_refused(r, "is not signed by 'us-eucom'");
}

TEST(PeerSessionRecoveryTest, AMissingEntryOfOurLogIsUnrecoverable) {
  Restored r;
  r.h.alter_log_answer = [](LogAnswer& a) { a.yours.entries.erase(a.yours.entries.begin()); };
  expect_copy_refused(r, "does not hold entry 1 of our log");
}

TEST(PeerSessionRecoveryTest, EntriesInAnotherOrderDoNotGiveTheRoot) {
  Restored r;
  r.h.alter_log_answer = [](LogAnswer& a) {
    ASSERT_EQ(a.yours.entries.size(), 2u);
    std::swap(a.yours.entries[0].envelope, a.yours.entries[1].envelope);
  };
  expect_copy_refused(r, "do not give the root");
}

TEST(PeerSessionRecoveryTest, AForgedReceiptIsRefused) {
  Restored r;
  // The peer's receipt replaced by one over another head: it does not countersign ours.
  r.h.alter_log_answer = [&](LogAnswer& a) { a.yours.receipt = a.mine.receipt; };
  expect_copy_refused(r, "is not its own");
}

TEST(PeerSessionRecoveryTest, AnAlteredEntryOfThePeersLogIsRefused) {
  Restored r;
  r.h.alter_log_answer = [](LogAnswer& a) {
    ASSERT_EQ(a.mine.entries.size(), 1u);
    a.mine.entries[0].envelope = a.yours.entries[0].envelope;  // ours, not the peer's
  };
  expect_copy_refused(r, "its copy of its own log cannot be taken");
}

TEST(PeerSessionRecoveryTest, APeerThatDoesNotAnswerIsAskedAgainAndNothingIsSignedMeanwhile) {
  Restored r;
  Harness& h = r.h;
  h.link_up = false;
  std::vector<Action> out = h.feed(kUs, TimerFired{});
  ASSERT_EQ(count_of<SendTransaction>(out), 1u);
  const SendTransaction ask = all_of<SendTransaction>(out)[0];
  EXPECT_TRUE(ask.log_request);
  EXPECT_EQ(h.session(kUs).next_deadline(), std::nullopt);  // the answer decides
  // A principal's message meanwhile waits: neither signed nor refused ...
  const Submit waiting = h.submit_event();
  EXPECT_TRUE(h.feed(kUs, waiting).empty());
  out = h.feed(kUs, TransactionFailed{ask.tx, "connection refused"});
  EXPECT_EQ(notices_of(out, NoticeKind::kLogRecovery).size(), 1u);
  EXPECT_EQ(count_of<Rejected>(out), 0u);
  const SessionStats away = h.session(kUs).stats();
  EXPECT_NE(away.recovering.find("connection refused"), std::string::npos) << away.recovering;
  EXPECT_FALSE(away.forked());
  ASSERT_TRUE(h.session(kUs).next_deadline().has_value());
  EXPECT_EQ(*h.session(kUs).next_deadline(), h.now + 100ms);  // asked again after a backoff

  // The peer's transaction meanwhile is answered 503 (it tries again), nothing stored.
  h.link_up = true;
  const std::string from_ru = h.send(kRu);
  EXPECT_NE(h.store(kRu).find(from_ru)->state, MessageState::kDelivered);
  EXPECT_EQ(h.store(kUs).find(from_ru), nullptr);
  EXPECT_FALSE(h.session(kRu).stats().forked());
  h.link_up = false;

  // Asked again after 100 ms, then 200 ms: one notice for the streak, nothing signed.
  h.now += 100ms;
  out = h.feed(kUs, TimerFired{});
  ASSERT_EQ(count_of<SendTransaction>(out), 1u);
  out = h.feed(kUs, TransactionFailed{all_of<SendTransaction>(out)[0].tx, "connection refused"});
  EXPECT_TRUE(notices_of(out, NoticeKind::kLogRecovery).empty());
  EXPECT_EQ(*h.session(kUs).next_deadline(), h.now + 200ms);
  EXPECT_EQ(h.store(kUs).log(kUsId, kRuId).size(), 1u);

  // ... until it waited 5 s: then it is refused (503) with the reason, not held for as long as
  // the peer is away.
  const Time refused_at = h.now - 100ms + kHeldWait;
  while (h.now < refused_at) {
    h.now = std::min(*h.session(kUs).next_deadline(), refused_at);
    out = h.feed(kUs, TimerFired{});
    for (const SendTransaction& again : all_of<SendTransaction>(out)) {
      h.feed(kUs, TransactionFailed{again.tx, "connection refused"});
    }
    if (h.now < refused_at) {
      EXPECT_EQ(count_of<Rejected>(out), 0u);
    }
  }
  ASSERT_EQ(count_of<Rejected>(out), 1u);
  EXPECT_EQ(all_of<Rejected>(out)[0].request, waiting.request);
  EXPECT_EQ(all_of<Rejected>(out)[0].status.code(), StatusCode::kUnavailable);
  EXPECT_NE(all_of<Rejected>(out)[0].status.message().find("recovering our log from"),
            std::string::npos);
  EXPECT_EQ(h.store(kUs).log(kUsId, kRuId).size(), 1u);  // nothing signed meanwhile

  h.link_up = true;
  h.now = *h.session(kUs).next_deadline();
  h.deliver(kUs, TimerFired{});
  EXPECT_TRUE(h.session(kUs).stats().recovering.empty());
  EXPECT_EQ(h.session(kUs).stats().log_size, 3u);
  const std::string after = h.send(kUs);
  EXPECT_EQ(h.store(kUs).find(after)->log_index, 3u);
  EXPECT_EQ(h.store(kUs).find(after)->state, MessageState::kDelivered);
  // ru's message, refused 503 meanwhile, goes through at its retry.
  h.now += 20s;
  h.deliver(kRu, TimerFired{});
  EXPECT_EQ(h.store(kRu).find(from_ru)->state, MessageState::kDelivered);
  EXPECT_FALSE(h.session(kUs).stats().forked()) << h.session(kUs).stats().fork_reason();
  EXPECT_FALSE(h.session(kRu).stats().forked()) << h.session(kRu).stats().fork_reason();
}

TEST(PeerSessionRecoveryTest, APrincipalsMessageWaitsWhileThePeerIsAskedAndLeavesAfter) {
  Restored r;
  Harness& h = r.h;
  h.link_up = false;
  std::vector<Action> out = h.feed(kUs, TimerFired{});
  ASSERT_EQ(count_of<SendTransaction>(out), 1u);
  const SendTransaction ask = all_of<SendTransaction>(out)[0];
  const Submit waiting = h.submit_event();
  EXPECT_TRUE(h.feed(kUs, waiting).empty());
  // ru answers (from its store, as its gateway would).
  h.link_up = true;
  Result<LogRequest> request = parse_log_request(ask.body, kUsId, kRuId);
  ASSERT_TRUE(request.is_ok());
  h.deliver(kUs,
            TransactionAnswered{ask.tx, 200, encode_log_answer(h.store(kRu).log_answer(*request))});
  bool accepted = false;
  for (const Accepted& a : all_of<Accepted>(h.log[kUs])) {
    if (a.request != waiting.request) continue;
    accepted = true;
    // Signed after the recovered entries, with the next seq of its line.
    EXPECT_EQ(h.store(kUs).find(a.message_id)->log_index, 3u);
    EXPECT_EQ(a.seq, 4u);
    EXPECT_EQ(h.store(kUs).find(a.message_id)->state, MessageState::kDelivered);
  }
  EXPECT_TRUE(accepted);
  EXPECT_FALSE(h.session(kUs).stats().forked()) << h.session(kUs).stats().fork_reason();
  EXPECT_FALSE(h.session(kRu).stats().forked()) << h.session(kRu).stats().fork_reason();
}

TEST(PeerSessionRecoveryTest, ALongLossIsFetchedInPages) {
  Harness h;
  h.send(kUs);
  h.send(kRu);
  const FakeStore backup = h.store(kUs);
  const std::size_t lost = kLogEntriesPerAnswer + 10;
  for (std::size_t i = 0; i < lost; ++i) h.send(kUs);
  h.store(kUs) = backup;
  h.recover_at_start = true;
  h.recovery_required = true;
  h.restart(kUs, h.store(kUs).recover(kUsId, kRuId));
  h.deliver(kUs, TimerFired{});
  EXPECT_EQ(h.log_requests[kUs], 2u);
  EXPECT_FALSE(h.session(kUs).stats().forked()) << h.session(kUs).stats().fork_reason();
  EXPECT_EQ(h.session(kUs).stats().log_size, lost + 1);
  const std::string id = h.send(kUs);
  EXPECT_EQ(h.store(kUs).find(id)->state, MessageState::kDelivered);
  EXPECT_FALSE(h.session(kRu).stats().forked());
}

TEST(PeerSessionRecoveryTest, TheLogRequestAndAnswerRoundTripAndRefuseOtherParties) {
  const LogRequest request{kUsId, kRuId, 3, 2};
  Result<LogRequest> parsed = parse_log_request(encode_log_request(request), kUsId, kRuId);
  ASSERT_TRUE(parsed.is_ok()) << parsed.status().to_string();
  EXPECT_EQ(parsed->after, 3u);
  EXPECT_EQ(parsed->peer_after, 2u);
  EXPECT_EQ(parse_log_request(encode_log_request(request), "someone", kRuId).status().code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(parse_log_request(encode_log_request(request), kUsId, "someone").status().code(),
            StatusCode::kPermissionDenied);
  EXPECT_EQ(parse_log_request("{\"v\":1}", kUsId, kRuId).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(parse_log_request("[]", kUsId, kRuId).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(parse_log_request("{\"v\":1,\"from\":\"us-eucom\",\"to\":\"ru-genstaff\",\"after\":-1,"
                              "\"peer_after\":0}",
                              kUsId, kRuId)
                .status()
                .code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(parse_log_request("{\"v\":1,\"from\":\"us-eucom\",\"to\":\"ru-genstaff\",\"after\":0,"
                              "\"peer_after\":0,\"x\":1}",
                              kUsId, kRuId)
                .status()
                .code(),
            StatusCode::kInvalidArgument);

  Restored r;
  const LogAnswer answer = r.h.store(kRu).log_answer(LogRequest{kUsId, kRuId, 1, 1});
  EXPECT_EQ(answer.yours.entries.size(), 2u);
  EXPECT_EQ(answer.mine.entries.size(), 1u);
  ASSERT_TRUE(answer.mine_range.has_value());
  Result<LogAnswer> back = parse_log_answer(encode_log_answer(answer), kRuId, kUsId);
  ASSERT_TRUE(back.is_ok()) << back.status().to_string();
  EXPECT_EQ(back->yours.sth, answer.yours.sth);
  EXPECT_EQ(back->yours.receipt, answer.yours.receipt);
  EXPECT_EQ(back->yours.entries, answer.yours.entries);  // byte for byte: they are leaves
  EXPECT_EQ(back->mine.entries, answer.mine.entries);
  EXPECT_EQ(back->mine_range, answer.mine_range);
  EXPECT_EQ(parse_log_answer(encode_log_answer(answer), kUsId, kUsId).status().code(),
            StatusCode::kPermissionDenied);
  LogAnswer unordered = answer;
  std::swap(unordered.yours.entries[0], unordered.yours.entries[1]);
  EXPECT_EQ(parse_log_answer(encode_log_answer(unordered), kRuId, kUsId).status().code(),
            StatusCode::kInvalidArgument);
  LogAnswer headless = answer;
  headless.yours.sth.clear();
  EXPECT_EQ(parse_log_answer(encode_log_answer(headless), kRuId, kUsId).status().code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace parley::core
