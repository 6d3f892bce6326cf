// Translations in the loop (issue 13, core/translation.h): who may write a translation, on
// the sending side and on the receiving side, and what becomes of one.
#include "parley/core/translation.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "parley/core/session_harness.h"

namespace parley::core {
namespace {

using ::testing::HasSubstr;

constexpr char kTranslation[] = "translation";
constexpr char kOriginal[] = "0190c3a0-0000-7000-8000-000000000001";

// A message stored on another line with the same peer.
MessageRecord elsewhere() {
  MessageRecord m;
  m.id = kOriginal;
  m.line = "other-line";
  m.seq = 1;
  m.direction = Direction::kInbound;
  return m;
}

Writer line_principal() { return Writer{"principal 'saceur'", true, false}; }
Writer translator() { return Writer{"principal 'interpreter'", false, true}; }
Writer outsider() { return Writer{"principal 'cook'", false, false}; }

// ---- the decision ----

TEST(MayWriteTest, ALinePrincipalWritesAnyTypeWithOrWithoutReplyTo) {
  EXPECT_TRUE(may_write(line_principal(), kLine, "text", std::nullopt, std::nullopt).is_ok());
  EXPECT_TRUE(may_write(line_principal(), kLine, "notify.incident", kOriginal, "other").is_ok());
}

TEST(MayWriteTest, ATranslatorWritesATranslationOfAMessageOnTheLine) {
  EXPECT_TRUE(may_write(translator(), kLine, kTranslation, std::string(kOriginal), kLine).is_ok());
}

TEST(MayWriteTest, ATranslationWithoutReplyToIsRefusedWhoeverWritesIt) {
  for (const Writer& w : {translator(), line_principal()}) {
    const Status s = may_write(w, kLine, kTranslation, std::nullopt, std::nullopt);
    EXPECT_EQ(s.code(), StatusCode::kPermissionDenied) << w.name;
    EXPECT_THAT(s.message(), HasSubstr("names the message it translates in reply_to"));
  }
}

TEST(MayWriteTest, ATranslationOfAMessageOnAnotherLineOrOfNoneStoredIsRefused) {
  for (const std::optional<std::string>& where :
       {std::optional<std::string>("other-line"), std::optional<std::string>()}) {
    const Status s = may_write(translator(), kLine, kTranslation, std::string(kOriginal), where);
    EXPECT_EQ(s.code(), StatusCode::kPermissionDenied);
    EXPECT_THAT(s.message(), HasSubstr("which is no message on line 'saceur-cgs'"));
  }
}

TEST(MayWriteTest, ATranslatorWritesNothingButATranslation) {
  const Status s = may_write(translator(), kLine, "text", std::string(kOriginal), kLine);
  EXPECT_EQ(s.code(), StatusCode::kPermissionDenied);
  EXPECT_THAT(s.message(), HasSubstr("is a translator, not a principal of line 'saceur-cgs'"));
}

TEST(MayWriteTest, APrincipalOffTheLineWhoIsNoTranslatorWritesNothing) {
  const Status s = may_write(outsider(), kLine, kTranslation, std::string(kOriginal), kLine);
  EXPECT_EQ(s.code(), StatusCode::kPermissionDenied);
  EXPECT_THAT(s.message(), HasSubstr("not one of its principals"));
}

// ---- the sending side ----

Submit translation_of(Harness& h, const std::optional<std::string>& original,
                      const std::string& principal = kTranslator) {
  Submit s = h.submit_event(principal, Precedence::kFlash, "Launch notified for 21:00.");
  s.type = kTranslation;
  s.content.body_json = R"({"language":"en"})";
  s.reply_to = original;
  return s;
}

Rejected rejected_submit(Harness& h, int side, const Submit& s) {
  std::vector<Action> out = h.feed(side, s);
  EXPECT_EQ(count_of<Rejected>(out), 1u);
  EXPECT_EQ(count_of<Persist>(out), 0u);  // nothing changes
  return count_of<Rejected>(out) == 1 ? all_of<Rejected>(out)[0] : Rejected{};
}

TEST(TranslationTest, ATranslatorTranslatesAMessageAndBothSidesKeepItUnwatched) {
  Harness h;
  const std::string flash = h.send(kUs, Precedence::kFlash);
  ASSERT_FALSE(flash.empty());
  const Submit s = translation_of(h, flash);
  h.deliver(kRu, s);
  std::string id;
  for (const Accepted& a : all_of<Accepted>(h.log[kRu])) {
    if (a.request == s.request) id = a.message_id;
  }
  ASSERT_FALSE(id.empty()) << "the translation was not accepted";
  const MessageRecord* sent = h.store(kRu).find(id);
  const MessageRecord* received = h.store(kUs).find(id);
  ASSERT_NE(sent, nullptr);
  ASSERT_NE(received, nullptr);
  EXPECT_EQ(received->state, MessageState::kDelivered);
  EXPECT_EQ(received->from, (wire::Address{"ru-genstaff", kTranslator}));
  EXPECT_EQ(received->reply_to, flash);
  EXPECT_EQ(received->content.text, "Launch notified for 21:00.");
  // No acknowledgment is asked for it on either side: no deadline, no escalation.
  EXPECT_FALSE(sent->needs_ack);
  EXPECT_FALSE(received->needs_ack);
  EXPECT_EQ(h.session(kRu).stats().unacknowledged, 0u);
  EXPECT_EQ(h.session(kUs).stats().inbound_unacknowledged, 0u);
  EXPECT_EQ(h.session(kUs).stats().inbound_refused, 0u);
  // A signed entry of the translator's party's log, on both sides.
  ASSERT_TRUE(sent->log_index.has_value());
  EXPECT_EQ(h.store(kRu).log("ru-genstaff", "us-eucom").at(*sent->log_index).message_id, id);
  EXPECT_EQ(h.store(kUs).log("ru-genstaff", "us-eucom").at(*sent->log_index).message_id, id);
  // The original still awaits its own acknowledgment.
  EXPECT_EQ(h.session(kRu).stats().inbound_unacknowledged, 1u);
}

TEST(TranslationTest, TheSenderRejectsATranslationWithoutReplyTo) {
  Harness h;
  const Rejected r = rejected_submit(h, kRu, translation_of(h, std::nullopt));
  EXPECT_EQ(r.status.code(), StatusCode::kPermissionDenied);
  EXPECT_THAT(r.status.message(), HasSubstr("reply_to"));
}

TEST(TranslationTest, TheSenderRejectsATranslationOfAMessageOnAnotherLine) {
  Harness h;
  h.store(kRu).apply({PutMessage{elsewhere()}});
  const Rejected r = rejected_submit(h, kRu, translation_of(h, std::string(kOriginal)));
  EXPECT_EQ(r.status.code(), StatusCode::kPermissionDenied);
  EXPECT_THAT(r.status.message(), HasSubstr("no message on line 'saceur-cgs'"));
}

TEST(TranslationTest, TheSenderLetsATranslatorSendNothingElse) {
  Harness h;
  const std::string flash = h.send(kUs, Precedence::kFlash);
  Submit s = translation_of(h, flash);
  s.type = "text";
  s.content.body_json = "{}";
  const Rejected r = rejected_submit(h, kRu, s);
  EXPECT_EQ(r.status.code(), StatusCode::kPermissionDenied);
  EXPECT_THAT(r.status.message(), HasSubstr("is a translator"));
}

TEST(TranslationTest, TheSenderRejectsAPrincipalOffTheLineWhoIsNoTranslator) {
  Harness h;
  const std::string flash = h.send(kUs, Precedence::kFlash);
  const Rejected r = rejected_submit(h, kRu, translation_of(h, flash, "cook"));
  EXPECT_EQ(r.status.code(), StatusCode::kPermissionDenied);
  EXPECT_THAT(r.status.message(), HasSubstr("may not send on line"));
}

TEST(TranslationTest, TheSenderRejectsForNowWhenItsStoreCannotSayWhereTheOriginalIs) {
  Harness h;
  const std::string flash = h.send(kUs, Precedence::kFlash);
  h.message_lines(kRu).unavailable = true;
  const Rejected r = rejected_submit(h, kRu, translation_of(h, flash));
  EXPECT_EQ(r.status.code(), StatusCode::kUnavailable);
}

// ---- the receiving side ----

// A translation the peer signed, from `from`, of `original`.
wire::Draft translation_from_ru(Harness& h, std::uint64_t seq, const std::string& from,
                                const std::optional<std::string>& original) {
  wire::Draft d = draft_from_ru(h.rng(), seq);
  d.from = {"ru-genstaff", from};
  d.type = kTranslation;
  d.content = wire::Content{R"({"language":"en"})", "Launch notified for 21:00."};
  d.reply_to = original;
  return d;
}

// Us's message on the line, stored as the sender keeps it (the peer never saw it).
std::string our_message(Harness& h) {
  h.link_up = false;
  const std::string id = h.send(kUs, Precedence::kFlash);
  h.link_up = true;
  return id;
}

// The receipt's refusals of the one-envelope transaction `d`, fed to us.
std::vector<ledger::ReceiptRefusal> refusals_of(Harness& h, const wire::Draft& d,
                                                std::vector<Action>* actions = nullptr) {
  std::vector<Action> out = h.feed_durable(
      kUs, TransactionReceived{9, transaction_body(h.keys(kRu), h.keys(kUs), d, h.rng())});
  EXPECT_EQ(count_of<Answer>(out), 1u);
  if (actions != nullptr) *actions = out;
  if (count_of<Answer>(out) != 1) return {};
  return receipt_of(all_of<Answer>(out)[0], h.keys(kUs)).body.refused;
}

TEST(TranslationReceiveTest, ThePeersTranslatorsTranslationOfAMessageOnTheLineIsAccepted) {
  Harness h;
  const std::string original = our_message(h);
  const wire::Draft d = translation_from_ru(h, 1, kTranslator, original);
  std::vector<Action> out;
  EXPECT_TRUE(refusals_of(h, d, &out).empty());
  const MessageRecord* stored = h.store(kUs).find(d.id);
  ASSERT_NE(stored, nullptr);
  EXPECT_EQ(stored->state, MessageState::kDelivered);
  EXPECT_FALSE(stored->needs_ack);
  EXPECT_EQ(notices_of(out, NoticeKind::kMessageReceived).size(), 1u);
  EXPECT_EQ(h.session(kUs).stats().inbound_unacknowledged, 0u);
}

TEST(TranslationReceiveTest, ATranslationAndItsOriginalInOneTransactionAreBothAccepted) {
  Harness h;
  const wire::Draft original = draft_from_ru(h.rng(), 1);
  const wire::Draft d = translation_from_ru(h, 2, kTranslator, original.id);
  std::vector<Action> out = h.feed_durable(
      kUs,
      TransactionReceived{9, log_transaction(h.keys(kRu), h.keys(kUs), {original, d}, h.rng())});
  ASSERT_EQ(count_of<Answer>(out), 1u);
  EXPECT_TRUE(receipt_of(all_of<Answer>(out)[0], h.keys(kUs)).body.refused.empty());
  EXPECT_EQ(h.store(kUs).find(d.id)->state, MessageState::kDelivered);
  EXPECT_EQ(h.session(kUs).stats().inbound_unacknowledged, 1u);  // the original alone
}

// Each is refused alone, recorded as a refused entry of the peer's log, and counted.
void expect_refused(Harness& h, const wire::Draft& d, const std::string& why) {
  std::vector<Action> out;
  const std::vector<ledger::ReceiptRefusal> refused = refusals_of(h, d, &out);
  ASSERT_EQ(refused.size(), 1u) << why;
  EXPECT_THAT(refused[0].reason, HasSubstr(why));
  ASSERT_NE(h.store(kUs).find(d.id), nullptr);
  EXPECT_EQ(h.store(kUs).find(d.id)->state, MessageState::kRefused);
  EXPECT_TRUE(notices_of(out, NoticeKind::kMessageReceived).empty());
  EXPECT_EQ(notices_of(out, NoticeKind::kInboundRefused).size(), 1u);
  EXPECT_EQ(h.session(kUs).stats().inbound_refused, 1u);
}

TEST(TranslationReceiveTest, ThePeersTranslatorsTranslationWithoutReplyToIsRefusedAndRecorded) {
  Harness h;
  expect_refused(h, translation_from_ru(h, 1, kTranslator, std::nullopt),
                 "a translation names the message it translates in reply_to");
}

TEST(TranslationReceiveTest, ATranslationOfAMessageOnAnotherLineIsRefusedAndRecorded) {
  Harness h;
  h.store(kUs).apply({PutMessage{elsewhere()}});
  expect_refused(h, translation_from_ru(h, 1, kTranslator, std::string(kOriginal)),
                 "which is no message on line 'saceur-cgs'");
}

TEST(TranslationReceiveTest, ATranslationOfAMessageNobodyStoredIsRefusedAndRecorded) {
  Harness h;
  expect_refused(h, translation_from_ru(h, 1, kTranslator, std::string(kOriginal)),
                 "which is no message on line 'saceur-cgs'");
}

TEST(TranslationReceiveTest, ThePeersTranslatorWritingAnythingElseIsRefusedAndRecorded) {
  Harness h;
  wire::Draft d = translation_from_ru(h, 1, kTranslator, our_message(h));
  d.type = "text";
  d.content.body_json = "{}";
  expect_refused(h, d, "envelope from 'ru-genstaff/interpreter' is a translator");
}

TEST(TranslationReceiveTest, ATranslationFromAPrincipalOffTheLineWhoIsNoTranslatorIsRefused) {
  Harness h;
  expect_refused(h, translation_from_ru(h, 1, "cook", our_message(h)),
                 "envelope from 'ru-genstaff/cook', neither the remote principal");
}

TEST(TranslationReceiveTest, AStoreThatCannotSayRefusesTheWholeTransactionToBeSentAgain) {
  Harness h;
  const wire::Draft d = translation_from_ru(h, 1, kTranslator, our_message(h));
  h.message_lines(kUs).unavailable = true;
  std::vector<Action> out = h.feed_durable(
      kUs, TransactionReceived{9, transaction_body(h.keys(kRu), h.keys(kUs), d, h.rng())});
  ASSERT_EQ(count_of<Answer>(out), 1u);
  EXPECT_EQ(all_of<Answer>(out)[0].http_status, 400);
  EXPECT_EQ(h.store(kUs).find(d.id), nullptr);  // not refused for good
}

}  // namespace
}  // namespace parley::core
