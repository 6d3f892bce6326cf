// PeerSession's log recovery at start (docs/protocol.md "Forks and restores") after the peer
// rotated its key (docs/protocol.md "Key rotation"): the peer's heads and entries are checked
// with the key in force at each size and index, a rotation statement in the peer's copy is
// verified, stored and pinned as the receive path does it, and a forged one is refused.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "parley/core/peer_log_for_test.h"
#include "parley/core/session_harness.h"
#include "parley/wire/rotation.h"

namespace parley::core {
namespace {

constexpr char kUsId[] = "us-eucom";
constexpr char kRuId[] = "ru-genstaff";

crypto::Keys new_keys(std::uint64_t seed) {
  SeededRng rng(seed);
  return crypto::generate_keys(rng);
}

// ru's log for us written by RuLog and received by us's session, and ru's store as ru's
// gateway keeps it: its own entries, and its heads with us's receipts (the answers), from
// which the harness answers us's log request (FakeStore::log_answer).
class RuSide {
 public:
  RuSide(Harness& h, RuLog& log) : h_(h), log_(log) {}

  // Feeds us a transaction of `carried` under the head of `size` signed with `key`, consistent
  // from `from`; us's answer must be 200. Its head and us's receipt join ru's store.
  void receive(const std::vector<std::uint64_t>& carried, std::uint64_t size,
               const crypto::Keys& key, std::uint64_t from) {
    const std::string body = log_.transaction(carried, size, key, from);
    const std::vector<Answer> answers =
        all_of<Answer>(h_.feed_durable(kUs, TransactionReceived{h_.next_request(), body}));
    ASSERT_EQ(answers.size(), 1u);
    ASSERT_EQ(answers[0].http_status, 200) << answers[0].body;
    heads_.push_back({size, wire::parse_transaction(body)->sth, answers[0].body});
    for (const std::uint64_t i : carried) {
      if (const MessageRecord* m = h_.store(kUs).find(id_of(i))) messages_[i] = *m;
    }
  }

  // ru's store holds its log up to `size` entries and the heads us countersigned.
  void store(std::uint64_t size) {
    OwnLog leaves;
    std::vector<Record> records;
    for (std::uint64_t i = 0; i < size; ++i) {
      const ledger::Hash leaf = ledger::leaf_hash(as_bytes(log_.text(i)));
      leaves.append(leaf);
      const std::optional<wire::Rotation> r = rotation_at(i);
      if (r) {
        PutRotation put;
        put.owner = kRuId;
        put.peer = kUsId;
        put.index = i;
        put.n = r->n;
        put.id = r->id;
        put.statement = log_.text(i);
        put.new_sign_key = r->new_sign_key;
        put.new_tls_fingerprint = r->new_tls_fingerprint;
        put.epoch = r->epoch;
        records.push_back(put);
      } else {
        MessageRecord m = messages_.at(i);
        m.direction = Direction::kOutbound;
        records.push_back(PutMessage{m});
      }
      records.push_back(LogEntry{kRuId, kUsId, i, id_of(i), leaf});
    }
    for (const Head& head : heads_) {
      PutHead put;
      put.owner = kRuId;
      put.peer = kUsId;
      put.size = head.size;
      put.root = *leaves.root(head.size);
      put.sth = head.sth;
      put.receipt = head.receipt;
      put.frontier = leaves.range_at(head.size)->nodes();
      records.push_back(put);
    }
    h_.store(kRu).apply(records);
  }

  // Entry i's statement, if it is a rotation (an envelope's payload is not one).
  std::optional<wire::Rotation> rotation_at(std::uint64_t i) const {
    Result<wire::Rotation> r = wire::parse_rotation_payload(payload_of(i));
    return r.is_ok() ? std::optional<wire::Rotation>(*r) : std::nullopt;
  }

 private:
  struct Head {
    std::uint64_t size = 0;
    std::string sth;
    std::string receipt;
  };
  Bytes payload_of(std::uint64_t i) const {
    Result<wire::Dsse> dsse = wire::parse_dsse(log_.text(i), 1 << 20);
    EXPECT_TRUE(dsse.is_ok()) << dsse.status().to_string();
    return dsse.is_ok() ? dsse->payload : Bytes{};
  }
  // The id an entry's payload names (an envelope's or a statement's).
  std::string id_of(std::uint64_t i) const {
    const Bytes payload = payload_of(i);
    Result<json::Json> object = json::parse_object(
        std::string_view(reinterpret_cast<const char*>(payload.data()), payload.size()));
    return object.is_ok() ? object->value("id", "") : "";
  }

  Harness& h_;
  RuLog& log_;
  std::vector<Head> heads_;
  std::map<std::uint64_t, MessageRecord> messages_;
};

// ru's log: entry 0 (the old key), its rotation 1 to `next` at entry 1, entry 2 (the new
// key, sealed under epoch 2). us received entry 0 alone first (head 1), then 1 and 2 (head 3,
// the new key's); `backup` is us's store in between.
struct RotatedPeer {
  Harness h;
  RuLog log{h};
  RuSide ru{h, log};
  crypto::Keys old_key = h.keys(kRu).keys;
  crypto::Keys next = new_keys(7);
  FakeStore backup;
  std::string before;  // entry 0's id
  std::string after;   // entry 2's id

  RotatedPeer() {
    before = log.envelope(old_key, 1);
    ru.receive({0}, 1, old_key, 0);
    backup = h.store(kUs);
    log.rotation(old_key, next, 1);
    after = log.envelope(next, 2);
    ru.receive({1, 2}, 3, next, 1);
    ru.store(3);
  }
};

TEST(PeerSessionRecoveryRotationTest, ARestartAfterThePeersRotationRecoversWithNoForkAlarm) {
  RotatedPeer r;
  Harness& h = r.h;
  ASSERT_EQ(h.session(kUs).peer_chain().newest().key, r.next.verify);
  h.recover_at_start = true;
  h.restart(kUs, h.store(kUs).recover(kUsId, kRuId));
  ASSERT_EQ(h.session(kUs).peer_chain().newest().key, r.next.verify);

  const std::size_t before = h.log[kUs].size();
  h.deliver(kUs, TimerFired{});
  const std::vector<Action> start(h.log[kUs].begin() + static_cast<std::ptrdiff_t>(before),
                                  h.log[kUs].end());
  EXPECT_EQ(h.log_requests[kUs], 1u);
  const SessionStats us = h.session(kUs).stats();
  // ru's head of size 3 is signed by its new key: no fork, nothing to store.
  EXPECT_FALSE(us.forked()) << us.fork_reason();
  EXPECT_TRUE(us.recovering.empty()) << us.recovering;
  EXPECT_TRUE(notices_of(start, NoticeKind::kForkDetected).empty());
  EXPECT_EQ(count_of<Persist>(start), 0u);
  EXPECT_EQ(us.peer_log_size, 3u);
  EXPECT_EQ(h.session(kUs).peer_chain().newest().key, r.next.verify);

  // The peer's next entry under its new key is taken.
  const std::string id = r.log.envelope(r.next, 3);
  const std::vector<Action> out = h.feed_durable(
      kUs, TransactionReceived{h.next_request(), r.log.transaction({3}, 4, r.next, 3)});
  ASSERT_EQ(count_of<Answer>(out), 1u);
  EXPECT_EQ(all_of<Answer>(out)[0].http_status, 200) << all_of<Answer>(out)[0].body;
  ASSERT_NE(h.store(kUs).find(id), nullptr);
  EXPECT_EQ(h.store(kUs).find(id)->state, MessageState::kDelivered);
}

TEST(PeerSessionRecoveryRotationTest, ARestoreBeforeThePeersRotationTakesItBackFromItsCopy) {
  RotatedPeer r;
  Harness& h = r.h;
  h.store(kUs) = r.backup;  // before the rotation entry
  h.recover_at_start = true;
  h.recovery_required = true;
  h.restart(kUs, h.store(kUs).recover(kUsId, kRuId));
  ASSERT_EQ(h.session(kUs).peer_chain().links().size(), 1u);
  ASSERT_EQ(h.session(kUs).stats().peer_log_size, 1u);

  const std::size_t before = h.log[kUs].size();
  h.deliver(kUs, TimerFired{});
  const std::vector<Action> start(h.log[kUs].begin() + static_cast<std::ptrdiff_t>(before),
                                  h.log[kUs].end());
  const SessionStats us = h.session(kUs).stats();
  EXPECT_FALSE(us.forked()) << us.fork_reason();
  EXPECT_TRUE(us.recovering.empty()) << us.recovering;
  EXPECT_EQ(us.peer_log_size, 3u);

  // The statement is stored again as the receive path stores it, and pinned once durable.
  const auto& stored = h.store(kUs).rotations(kRuId, kUsId);
  ASSERT_EQ(stored.size(), 1u);
  const PutRotation& put = stored.at(1);
  EXPECT_EQ(put.statement, r.log.text(1));
  EXPECT_EQ(put.n, 1u);
  EXPECT_EQ(put.epoch, 2u);
  EXPECT_EQ(put.new_sign_key, r.next.verify);
  EXPECT_EQ(h.store(kUs).log(kRuId, kUsId).at(1).message_id, put.id);
  ASSERT_NE(h.store(kUs).inclusion(put.id), nullptr);
  EXPECT_EQ(h.store(kUs).inclusion(put.id)->size, 3u);
  ASSERT_EQ(h.session(kUs).peer_chain().links().size(), 2u);
  EXPECT_EQ(h.session(kUs).peer_chain().newest().key, r.next.verify);
  EXPECT_EQ(h.session(kUs).peer_chain().newest().from_index, 2u);
  const std::vector<Notice> rotated = notices_of(start, NoticeKind::kPeerKeyRotated);
  ASSERT_EQ(rotated.size(), 1u);  // the driver accepts its new certificate on it
  EXPECT_EQ(rotated[0].tls_fingerprint, std::string(64, 'e'));
  // The entry after it: signed by the new key, opened under epoch 2, delivered (no new alert).
  const MessageRecord* m = h.store(kUs).find(r.after);
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->state, MessageState::kDelivered) << m->refusal.value_or("");
  EXPECT_EQ(m->content.text, "hello");
  EXPECT_TRUE(notices_of(start, NoticeKind::kMessageReceived).empty());

  // The peer's next entry under its new key is taken; a restart keeps the chain.
  const std::string id = r.log.envelope(r.next, 3);
  std::vector<Action> out = h.feed_durable(
      kUs, TransactionReceived{h.next_request(), r.log.transaction({3}, 4, r.next, 3)});
  ASSERT_EQ(count_of<Answer>(out), 1u);
  EXPECT_EQ(all_of<Answer>(out)[0].http_status, 200) << all_of<Answer>(out)[0].body;
  ASSERT_NE(h.store(kUs).find(id), nullptr);
  EXPECT_EQ(h.store(kUs).find(id)->state, MessageState::kDelivered);
  h.recovery_required = false;
  h.restart(kUs, h.store(kUs).recover(kUsId, kRuId));
  EXPECT_EQ(h.session(kUs).peer_chain().newest().key, r.next.verify);
}

// Issue 17: ru, a real session, rotates (its statement at entry 1 of its log), us countersigns
// it, then us's message (entry 1 of us's log) is receipted by ru's new key; us's store goes
// back to a backup taken before all of it. ru's copy of us's log then carries a receipt that
// only ru's chain through its copy of its own log (the statement) can check: the chain the
// restored store holds is ru's bundle key alone.
struct RestoredBeforeThePeersRotation {
  Harness h;
  crypto::Keys old_key = h.keys(kRu).keys;
  crypto::Keys next = new_keys(7);
  std::string ours;  // us's message after ru's rotation, entry 1 of us's log

  RestoredBeforeThePeersRotation() {
    EXPECT_FALSE(h.send(kRu).empty());  // entry 0 of ru's log, its bundle key
    EXPECT_FALSE(h.send(kUs).empty());  // entry 0 of us's log
    const FakeStore backup = h.store(kUs);
    wire::Rotation rotation;
    rotation.id = uuid_v7(h.now, h.rng());
    rotation.party = kRuId;
    rotation.n = 1;
    rotation.old_sign_key = old_key.verify;
    rotation.new_sign_key = next.verify;
    rotation.new_tls_fingerprint = std::string(64, 'e');
    rotation.epoch = 2;
    rotation.created = h.now;
    h.own[kRu] = OwnRotations{{wire::sign_rotation(rotation, old_key.signing, next.signing)},
                              {next.signing}};
    h.restart(kRu, h.store(kRu).recover(kRuId, kUsId));
    h.deliver(kRu, TimerFired{});  // the statement leaves alone; us stores and countersigns it
    EXPECT_EQ(h.session(kUs).peer_chain().newest().key, next.verify);
    EXPECT_EQ(h.session(kRu).rotations_countersigned(), 1u);
    ours = h.send(kUs);
    EXPECT_EQ(h.store(kUs).find(ours)->state, MessageState::kDelivered);
    h.store(kUs) = backup;
    h.recover_at_start = true;
    h.recovery_required = true;
    h.restart(kUs, h.store(kUs).recover(kUsId, kRuId));
  }

  // ru's receipt over the head of size `size` of us's log, as ru's store holds it.
  ledger::ReceiptV2 ru_receipt(std::uint64_t size) {
    const auto& heads = h.store(kRu).heads(kUsId, kRuId);
    const auto head = heads.find(size);
    EXPECT_NE(head, heads.end());
    if (head == heads.end() || !head->second.receipt) return {};
    Result<ledger::ReceiptV2> receipt = ledger::parse_receipt_v2(*head->second.receipt);
    EXPECT_TRUE(receipt.is_ok()) << receipt.status().to_string();
    return receipt.is_ok() ? *receipt : ledger::ReceiptV2{};
  }
};

TEST(PeerSessionRecoveryRotationTest,
     ARestoreBeforeThePeersRotationTakesOurLogReceiptedByItsNewKey) {
  RestoredBeforeThePeersRotation r;
  Harness& h = r.h;
  // The scene: ru's receipt over us's head of size 2 is its new key's, not its bundle's; the
  // restored store knows neither that head nor ru's rotation.
  EXPECT_TRUE(ledger::verify_receipt_v2(r.ru_receipt(2), r.next.verify).is_ok());
  EXPECT_FALSE(ledger::verify_receipt_v2(r.ru_receipt(2), r.old_key.verify).is_ok());
  ASSERT_EQ(h.session(kUs).stats().log_size, 1u);
  ASSERT_EQ(h.session(kUs).stats().peer_log_size, 1u);
  ASSERT_EQ(h.session(kUs).peer_chain().links().size(), 1u);

  // Asked, answered from ru's store: what the copy gives back is stored, nothing pinned yet.
  std::vector<Action> out = h.feed(kUs, TimerFired{});
  ASSERT_EQ(count_of<SendTransaction>(out), 1u);
  const SendTransaction ask = all_of<SendTransaction>(out)[0];
  ASSERT_TRUE(ask.log_request);
  Result<LogRequest> request = parse_log_request(ask.body, kUsId, kRuId);
  ASSERT_TRUE(request.is_ok()) << request.status().to_string();
  out = h.feed(
      kUs, TransactionAnswered{ask.tx, 200, encode_log_answer(h.store(kRu).log_answer(*request))});
  EXPECT_TRUE(notices_of(out, NoticeKind::kForkDetected).empty())
      << h.session(kUs).stats().fork_reason();
  ASSERT_EQ(count_of<Persist>(out), 1u);
  EXPECT_EQ(h.session(kUs).peer_chain().links().size(), 1u);
  const std::size_t before = h.log[kUs].size();
  h.carry(kUs, out);
  const std::vector<Action> stored(h.log[kUs].begin() + static_cast<std::ptrdiff_t>(before),
                                   h.log[kUs].end());
  const SessionStats us = h.session(kUs).stats();
  ASSERT_FALSE(us.forked()) << us.fork_reason();
  EXPECT_TRUE(us.recovering.empty()) << us.recovering;
  EXPECT_TRUE(notices_of(stored, NoticeKind::kForkDetected).empty());
  EXPECT_EQ(us.log_size, 2u);
  EXPECT_EQ(us.countersigned_size, 2u);
  EXPECT_EQ(us.peer_log_size, 2u);

  // Durable: ru's new key pinned, from the entry after its statement, said once.
  ASSERT_EQ(h.session(kUs).peer_chain().links().size(), 2u);
  EXPECT_EQ(h.session(kUs).peer_chain().newest().key, r.next.verify);
  EXPECT_EQ(h.session(kUs).peer_chain().newest().from_index, 2u);
  EXPECT_EQ(notices_of(stored, NoticeKind::kPeerKeyRotated).size(), 1u);
  EXPECT_EQ(h.store(kUs).rotations(kRuId, kUsId).size(), 1u);
  // Our message: delivered again as recovered, by ru's receipt signed with its new key.
  const MessageRecord* m = h.store(kUs).find(r.ours);
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->state, MessageState::kDelivered);
  EXPECT_EQ(m->log_index, 1u);
  EXPECT_EQ(m->content.text, "hello");
  ASSERT_TRUE(m->receipt.has_value());
  Result<ledger::ReceiptV2> receipt = ledger::parse_receipt_v2(*m->receipt);
  ASSERT_TRUE(receipt.is_ok()) << receipt.status().to_string();
  EXPECT_TRUE(ledger::verify_receipt_v2(*receipt, r.next.verify).is_ok());
  ASSERT_NE(h.store(kUs).inclusion(r.ours), nullptr);
  EXPECT_EQ(h.store(kUs).inclusion(r.ours)->size, 2u);

  // Traffic flows both ways after it, and neither side raises a fork.
  const std::string from_us = h.send(kUs);
  const std::string from_ru = h.send(kRu);
  EXPECT_EQ(h.store(kUs).find(from_us)->state, MessageState::kDelivered);
  EXPECT_EQ(h.store(kRu).find(from_ru)->state, MessageState::kDelivered);
  EXPECT_FALSE(h.session(kUs).stats().forked()) << h.session(kUs).stats().fork_reason();
  EXPECT_FALSE(h.session(kRu).stats().forked()) << h.session(kRu).stats().fork_reason();
}

// After a restore before the rotation: a copy the peer altered is refused with the reason
// (an alarm), and nothing of it is stored or pinned.
void expect_refused(RotatedPeer& r, const std::string& reason) {
  Harness& h = r.h;
  h.store(kUs) = r.backup;
  h.recover_at_start = true;
  h.recovery_required = true;
  h.restart(kUs, h.store(kUs).recover(kUsId, kRuId));
  const std::size_t before = h.log[kUs].size();
  h.deliver(kUs, TimerFired{});
  const std::vector<Action> start(h.log[kUs].begin() + static_cast<std::ptrdiff_t>(before),
                                  h.log[kUs].end());
  const SessionStats us = h.session(kUs).stats();
  EXPECT_TRUE(us.forked());
  EXPECT_NE(us.fork.find(reason), std::string::npos) << us.fork;
  EXPECT_FALSE(notices_of(start, NoticeKind::kForkDetected).empty());
  EXPECT_TRUE(notices_of(start, NoticeKind::kPeerKeyRotated).empty());
  EXPECT_EQ(count_of<Persist>(start), 0u);
  EXPECT_TRUE(h.store(kUs).rotations(kRuId, kUsId).empty());
  EXPECT_EQ(h.store(kUs).log(kRuId, kUsId).size(), 1u);
  EXPECT_EQ(h.store(kUs).find(r.after), nullptr);
  EXPECT_EQ(us.peer_log_size, 1u);
  ASSERT_EQ(h.session(kUs).peer_chain().links().size(), 1u);
  EXPECT_EQ(h.session(kUs).peer_chain().newest().key, r.old_key.verify);
}

TEST(PeerSessionRecoveryRotationTest, ACopyWithARotationSignedByAKeyNotInForceIsRefused) {
  RotatedPeer r;
  // A statement of rotation 1 to the same new key, signed by a key ru never had (not the key
  // in force at entry 1, ru's pinned key).
  RuLog forged(r.h);
  forged.envelope(r.old_key, 1);
  const crypto::Keys stranger = new_keys(9);
  forged.rotation(stranger, r.next, 1);
  const std::string statement = forged.text(1);
  r.h.alter_log_answer = [&](LogAnswer& a) {
    ASSERT_EQ(a.mine.entries.size(), 2u);
    ASSERT_TRUE(a.mine.entries[0].rotation);
    a.mine.entries[0].envelope = statement;
  };
  expect_refused(r, "entry 1 is not a key rotation of 'ru-genstaff' in force there");
}

TEST(PeerSessionRecoveryRotationTest, ACopyWithAnEntryAfterTheRotationSignedByTheOldKeyIsRefused) {
  RotatedPeer r;
  // Entry 2 as the replaced key would sign it: no longer the key in force there.
  RuLog forged = r.log;
  forged.envelope(r.old_key, 2);
  const std::string envelope = forged.text(3);
  r.h.alter_log_answer = [&](LogAnswer& a) {
    ASSERT_EQ(a.mine.entries.size(), 2u);
    a.mine.entries[1].envelope = envelope;
  };
  expect_refused(r, "entry 2 is not signed by 'ru-genstaff' with its key in force there");
}

TEST(PeerSessionRecoveryRotationTest, ACopyThatPassesTheRotationOffAsAnEnvelopeIsRefused) {
  RotatedPeer r;
  r.h.alter_log_answer = [](LogAnswer& a) {
    ASSERT_EQ(a.mine.entries.size(), 2u);
    a.mine.entries[0].rotation = false;  // then the head's key (the new one) is not in force
  };
  expect_refused(r, "is not signed by 'ru-genstaff' with its key in force at size 3");
}

}  // namespace
}  // namespace parley::core
