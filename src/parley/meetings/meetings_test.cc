#include "parley/meetings/meetings.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "parley/meetings/alerts.h"

namespace parley::meetings {
namespace {

using json::Json;
using ::testing::HasSubstr;

constexpr std::string_view kUs = "us-eucom";
constexpr std::string_view kRu = "ru-genstaff";
constexpr std::string_view kSlotA = "2026-03-03T09:00:00Z";
constexpr std::string_view kSlotB = "2026-03-04T09:00:00Z";
constexpr std::string_view kSlotC = "2026-03-05T09:00:00Z";

Time at(std::string_view text) { return parse_time(text).value(); }

// Two parties on one line feeding one Book; each message a second after the last.
class Line {
 public:
  Message message(std::string_view from, std::string_view type, const Json& body,
                  const std::string& meeting = "") {
    Message m;
    m.id = "m" + std::to_string(++n_);
    m.line = "saceur-cgs";
    m.from_party = std::string(from);
    m.from_principal = from == kUs ? "saceur" : "cgs";
    m.to_party = std::string(from == kUs ? kRu : kUs);
    m.created = at("2026-03-01T00:00:00Z") + std::chrono::seconds(n_);
    m.type = std::string(type);
    if (!meeting.empty()) m.reply_to = meeting;
    m.body_json = json::dump(body);
    return m;
  }

  Status send(std::string_view from, std::string_view type, const Json& body,
              const std::string& meeting) {
    return book.apply(message(from, type, body, meeting));
  }

  // A meeting proposed by `from` with slots A and B; its id.
  std::string propose(std::string_view from = kUs) {
    const Message m = message(from, kPropose,
                              {{"title", "Staff talks"},
                               {"slots", {kSlotA, kSlotB}},
                               {"agenda", {"exercises", "incidents at sea"}}});
    EXPECT_TRUE(book.apply(m).is_ok());
    return m.id;
  }

  // Proposed by us, accepted by ru at slot A.
  std::string scheduled() {
    const std::string id = propose();
    EXPECT_TRUE(send(kRu, kAccept, {{"slot", kSlotA}}, id).is_ok());
    return id;
  }

  // Scheduled, then minutes with one action item "a1" due `due`; the minutes hash.
  std::string held(const std::string& id, std::string_view due = "2026-04-01T00:00:00Z",
                   std::string_view notes = "agreed") {
    const Json body = minutes(due, notes);
    EXPECT_TRUE(send(kUs, kMinutes, body, id).is_ok());
    return minutes_hash(json::dump(body)).value();
  }

  static Json minutes(std::string_view due = "2026-04-01T00:00:00Z",
                      std::string_view notes = "agreed") {
    return {
        {"items",
         {{{"agenda_item", "exercises"},
           {"notes", notes},
           {"decisions", {"exchange calendars"}},
           {"actions",
            {{{"id", "a1"}, {"text", "send the calendar"}, {"owner", "cgs"}, {"due", due}}}}}}}};
  }

  const Meeting& get(const std::string& id) const {
    const Meeting* m = book.find(id);
    EXPECT_NE(m, nullptr);
    return *m;
  }

  Book book;

 private:
  int n_ = 0;
};

// The whole view of a meeting, to show that a refusal changed nothing.
std::string view(const Line& l, const std::string& id) {
  return json::dump(to_json(l.get(id), {}, at("2026-03-02T00:00:00Z")));
}

// Expects `s` to be a refusal of the workflow (409) whose reason has `why`.
void expect_refused(const Status& s, std::string_view why) {
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition) << s.to_string();
  EXPECT_THAT(s.message(), HasSubstr(std::string(why)));
}

// --- transitions ---------------------------------------------------------------------------

TEST(MeetingsTest, ProposalOpensAMeetingWithItsOfferAndAgenda) {
  Line l;
  const std::string id = l.propose();
  const Meeting& m = l.get(id);
  EXPECT_EQ(m.state, State::kProposed);
  EXPECT_EQ(m.title, "Staff talks");
  EXPECT_EQ(m.proposer, "us-eucom/saceur");
  EXPECT_EQ(m.offered, (std::vector<Time>{at(kSlotA), at(kSlotB)}));
  EXPECT_EQ(m.offered_by, kUs);
  EXPECT_EQ(m.agenda, (std::vector<std::string>{"exercises", "incidents at sea"}));
  EXPECT_FALSE(m.slot.has_value());
  ASSERT_EQ(m.history.size(), 1U);
  EXPECT_EQ(m.history[0].type, kPropose);
}

TEST(MeetingsTest, CounterByTheOtherPartyReplacesTheOffer) {
  Line l;
  const std::string id = l.propose();
  ASSERT_TRUE(l.send(kRu, kCounter, {{"slots", {kSlotC}}}, id).is_ok());
  EXPECT_EQ(l.get(id).state, State::kCountered);
  EXPECT_EQ(l.get(id).offered, std::vector<Time>{at(kSlotC)});
  EXPECT_EQ(l.get(id).offered_by, kRu);
  // And the proposer may counter the counter.
  ASSERT_TRUE(l.send(kUs, kCounter, {{"slots", {kSlotB}}}, id).is_ok());
  EXPECT_EQ(l.get(id).offered_by, kUs);
}

TEST(MeetingsTest, CounteringOwnOfferIsRefused) {
  Line l;
  const std::string id = l.propose();
  const std::string before = view(l, id);
  expect_refused(l.send(kUs, kCounter, {{"slots", {kSlotC}}}, id),
                 "party us-eucom cannot counter its own offer");
  EXPECT_EQ(view(l, id), before);
}

TEST(MeetingsTest, AcceptingAnOfferedSlotSchedulesTheMeeting) {
  Line l;
  const std::string id = l.propose();
  ASSERT_TRUE(l.send(kRu, kAccept, {{"slot", kSlotB}}, id).is_ok());
  EXPECT_EQ(l.get(id).state, State::kScheduled);
  EXPECT_EQ(l.get(id).slot, at(kSlotB));
  EXPECT_TRUE(l.get(id).offered.empty());
}

TEST(MeetingsTest, ProposerAcceptsTheCounter) {
  Line l;
  const std::string id = l.propose();
  ASSERT_TRUE(l.send(kRu, kCounter, {{"slots", {kSlotC}}}, id).is_ok());
  ASSERT_TRUE(l.send(kUs, kAccept, {{"slot", kSlotC}}, id).is_ok());
  EXPECT_EQ(l.get(id).state, State::kScheduled);
  EXPECT_EQ(l.get(id).slot, at(kSlotC));
}

TEST(MeetingsTest, PartyAcceptingItsOwnProposalIsRefused) {
  Line l;
  const std::string id = l.propose();
  const std::string before = view(l, id);
  expect_refused(l.send(kUs, kAccept, {{"slot", kSlotA}}, id),
                 "party us-eucom cannot accept its own proposal");
  EXPECT_EQ(view(l, id), before);
}

TEST(MeetingsTest, AcceptingASlotThatWasNotOfferedIsRefused) {
  Line l;
  const std::string id = l.propose();
  expect_refused(l.send(kRu, kAccept, {{"slot", kSlotC}}, id),
                 "slot 2026-03-05T09:00:00.000Z was not offered");
  // After a counter, only the counter's slots are on offer.
  ASSERT_TRUE(l.send(kRu, kCounter, {{"slots", {kSlotC}}}, id).is_ok());
  const std::string before = view(l, id);
  expect_refused(l.send(kUs, kAccept, {{"slot", kSlotA}}, id), "was not offered");
  EXPECT_EQ(view(l, id), before);
}

TEST(MeetingsTest, DeclineByTheOtherPartyEndsTheProposal) {
  Line l;
  const std::string id = l.propose();
  expect_refused(l.send(kUs, kDecline, {{"reason", "no"}}, id), "cannot decline its own offer");
  ASSERT_TRUE(l.send(kRu, kDecline, {{"reason", "no"}}, id).is_ok());
  EXPECT_EQ(l.get(id).state, State::kDeclined);
}

TEST(MeetingsTest, AcceptingADeclinedMeetingIsRefused) {
  Line l;
  const std::string id = l.propose();
  ASSERT_TRUE(l.send(kRu, kCounter, {{"slots", {kSlotC}}}, id).is_ok());
  ASSERT_TRUE(l.send(kUs, kDecline, {{"reason", "no"}}, id).is_ok());
  const std::string before = view(l, id);
  expect_refused(l.send(kRu, kAccept, {{"slot", kSlotC}}, id),
                 "it was declined: it cannot be accepted");
  expect_refused(l.send(kUs, kAccept, {{"slot", kSlotC}}, id), "it was declined");
  EXPECT_EQ(view(l, id), before);
}

TEST(MeetingsTest, RescheduleOfAScheduledMeetingReopensTheOffer) {
  Line l;
  const std::string id = l.scheduled();
  ASSERT_TRUE(l.send(kRu, kReschedule, {{"slots", {kSlotC}}}, id).is_ok());
  EXPECT_EQ(l.get(id).state, State::kProposed);
  EXPECT_FALSE(l.get(id).slot.has_value());
  EXPECT_EQ(l.get(id).offered_by, kRu);
  // The other party accepts the new time; the rescheduling party may not.
  expect_refused(l.send(kRu, kAccept, {{"slot", kSlotC}}, id), "cannot accept its own proposal");
  ASSERT_TRUE(l.send(kUs, kAccept, {{"slot", kSlotC}}, id).is_ok());
  EXPECT_EQ(l.get(id).slot, at(kSlotC));
}

TEST(MeetingsTest, RescheduleOfAMeetingNotScheduledIsRefused) {
  Line l;
  const std::string id = l.propose();
  expect_refused(l.send(kRu, kReschedule, {{"slots", {kSlotC}}}, id),
                 "it is proposed: only a scheduled meeting is rescheduled");
  EXPECT_EQ(l.get(id).state, State::kProposed);
}

TEST(MeetingsTest, CancelByEitherPartyBeforeTheMeetingIsHeld) {
  Line l;
  const std::string proposed = l.propose();
  ASSERT_TRUE(l.send(kUs, kCancel, {{"reason", "overtaken"}}, proposed).is_ok());
  EXPECT_EQ(l.get(proposed).state, State::kCancelled);
  expect_refused(l.send(kRu, kCancel, {{"reason", "again"}}, proposed),
                 "it is cancelled: there is nothing to cancel");

  const std::string scheduled = l.scheduled();
  ASSERT_TRUE(l.send(kRu, kCancel, {{"reason", "overtaken"}}, scheduled).is_ok());
  EXPECT_EQ(l.get(scheduled).state, State::kCancelled);
  expect_refused(l.send(kRu, kAccept, {{"slot", kSlotA}}, scheduled), "no offer to accept");
}

TEST(MeetingsTest, CancelOfAHeldMeetingIsRefused) {
  Line l;
  const std::string id = l.scheduled();
  l.held(id);
  expect_refused(l.send(kRu, kCancel, {{"reason", "x"}}, id), "it was held: its minutes stand");
  EXPECT_EQ(l.get(id).state, State::kHeld);
}

TEST(MeetingsTest, MinutesOfAScheduledMeetingMakeItHeld) {
  Line l;
  const std::string id = l.scheduled();
  const std::string hash = l.held(id);
  const Meeting& m = l.get(id);
  EXPECT_EQ(m.state, State::kHeld);
  ASSERT_TRUE(m.minutes.has_value());
  EXPECT_EQ(m.minutes->hash, hash);
  EXPECT_EQ(hash.size(), 64U);
  EXPECT_TRUE(m.minutes->signed_by.empty());
  EXPECT_FALSE(m.minutes->final);
  ASSERT_EQ(m.actions.size(), 1U);
  EXPECT_EQ(m.actions[0].id, "a1");
  EXPECT_EQ(m.actions[0].owner, "cgs");
  EXPECT_EQ(m.actions[0].agenda_item, "exercises");
  EXPECT_EQ(m.actions[0].due, at("2026-04-01T00:00:00Z"));
  EXPECT_FALSE(m.actions[0].done);
}

TEST(MeetingsTest, MinutesOfAMeetingNotScheduledAreRefused) {
  Line l;
  const std::string id = l.propose();
  expect_refused(l.send(kUs, kMinutes, Line::minutes(), id),
                 "it is proposed: minutes are recorded for a scheduled meeting");
  EXPECT_FALSE(l.get(id).minutes.has_value());
}

TEST(MeetingsTest, MinutesWithTwoActionItemsOfOneIdAreRefused) {
  Line l;
  const std::string id = l.scheduled();
  Json body = Line::minutes();
  body["items"].push_back(body["items"][0]);
  const Status s = l.send(kUs, kMinutes, body, id);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("two action items with id 'a1'"));
  EXPECT_EQ(l.get(id).state, State::kScheduled);
}

TEST(MeetingsTest, MinutesAreFinalOnlyWhenBothPartiesSignedTheirHash) {
  Line l;
  const std::string id = l.scheduled();
  const std::string hash = l.held(id);
  ASSERT_TRUE(l.send(kUs, kSign, {{"minutes_hash", hash}}, id).is_ok());
  EXPECT_EQ(l.get(id).minutes->signed_by, std::set<std::string>{"us-eucom"});
  EXPECT_FALSE(l.get(id).minutes->final);
  ASSERT_TRUE(l.send(kRu, kSign, {{"minutes_hash", hash}}, id).is_ok());
  EXPECT_EQ(l.get(id).minutes->signed_by, (std::set<std::string>{"ru-genstaff", "us-eucom"}));
  EXPECT_TRUE(l.get(id).minutes->final);
}

TEST(MeetingsTest, SigningAHashThatIsNotTheCurrentMinutesIsRefused) {
  Line l;
  const std::string id = l.scheduled();
  const std::string first = l.held(id);
  const std::string second = l.held(id, "2026-04-01T00:00:00Z", "amended");
  ASSERT_NE(first, second);
  const std::string before = view(l, id);
  expect_refused(l.send(kRu, kSign, {{"minutes_hash", first}}, id),
                 "minutes hash " + first + " is not that of the current minutes");
  EXPECT_EQ(view(l, id), before);
}

TEST(MeetingsTest, SigningBeforeThereAreMinutesIsRefused) {
  Line l;
  const std::string id = l.scheduled();
  expect_refused(l.send(kRu, kSign, {{"minutes_hash", std::string(64, 'a')}}, id),
                 "it has no minutes to sign");
}

TEST(MeetingsTest, SigningTwiceIsRefused) {
  Line l;
  const std::string id = l.scheduled();
  const std::string hash = l.held(id);
  ASSERT_TRUE(l.send(kRu, kSign, {{"minutes_hash", hash}}, id).is_ok());
  expect_refused(l.send(kRu, kSign, {{"minutes_hash", hash}}, id),
                 "party ru-genstaff already signed these minutes");
}

TEST(MeetingsTest, ChangedMinutesAfterOneSignatureNeedBothSignaturesAgain) {
  Line l;
  const std::string id = l.scheduled();
  const std::string first = l.held(id);
  ASSERT_TRUE(l.send(kRu, kSign, {{"minutes_hash", first}}, id).is_ok());
  const std::string second = l.held(id, "2026-04-01T00:00:00Z", "amended");
  EXPECT_EQ(l.get(id).minutes->hash, second);
  EXPECT_TRUE(l.get(id).minutes->signed_by.empty());
  ASSERT_TRUE(l.send(kUs, kSign, {{"minutes_hash", second}}, id).is_ok());
  EXPECT_FALSE(l.get(id).minutes->final);  // ru's signature was of the first minutes
  ASSERT_TRUE(l.send(kRu, kSign, {{"minutes_hash", second}}, id).is_ok());
  EXPECT_TRUE(l.get(id).minutes->final);
  // Final minutes changed again are no longer final.
  l.held(id, "2026-05-01T00:00:00Z", "amended again");
  EXPECT_FALSE(l.get(id).minutes->final);
  EXPECT_TRUE(l.get(id).minutes->signed_by.empty());
}

TEST(MeetingsTest, TheSameMinutesAgainKeepTheirSignatures) {
  Line l;
  const std::string id = l.scheduled();
  const std::string hash = l.held(id);
  ASSERT_TRUE(l.send(kRu, kSign, {{"minutes_hash", hash}}, id).is_ok());
  EXPECT_EQ(l.held(id), hash);
  EXPECT_EQ(l.get(id).minutes->signed_by, std::set<std::string>{"ru-genstaff"});
}

TEST(MeetingsTest, ActionItemIsTrackedToDone) {
  Line l;
  const std::string id = l.scheduled();
  l.held(id);
  ASSERT_TRUE(l.send(kRu, kActionDone, {{"action", "a1"}}, id).is_ok());
  const Action& a = l.get(id).actions.at(0);
  EXPECT_TRUE(a.done);
  EXPECT_EQ(a.done_by, "ru-genstaff/cgs");
  EXPECT_TRUE(a.done_at.has_value());
  expect_refused(l.send(kRu, kActionDone, {{"action", "a1"}}, id),
                 "action item 'a1' is already done");
  expect_refused(l.send(kRu, kActionDone, {{"action", "a9"}}, id),
                 "its minutes have no action item 'a9'");
  // Amended minutes that keep the item keep it done.
  l.held(id, "2026-04-01T00:00:00Z", "amended");
  EXPECT_TRUE(l.get(id).actions.at(0).done);
}

TEST(MeetingsTest, CompletingAnActionOfACancelledMeetingIsRefused) {
  Line l;
  const std::string id = l.scheduled();
  ASSERT_TRUE(l.send(kUs, kCancel, {{"reason", "overtaken"}}, id).is_ok());
  const std::string before = view(l, id);
  expect_refused(l.send(kRu, kActionDone, {{"action", "a1"}}, id),
                 "it was cancelled: its action items cannot be completed");
  EXPECT_EQ(view(l, id), before);
}

// --- what is not a transition --------------------------------------------------------------

TEST(MeetingsTest, RefusalsAreKeptWithTheirReasons) {
  Line l;
  const std::string id = l.propose();
  const Message bad = l.message(kUs, kAccept, {{"slot", kSlotA}}, id);
  EXPECT_FALSE(l.book.apply(bad).is_ok());
  ASSERT_EQ(l.book.refusals().size(), 1U);
  EXPECT_EQ(l.book.refusals()[0].message_id, bad.id);
  EXPECT_EQ(l.book.refusals()[0].meeting, id);
  EXPECT_EQ(l.book.refusals()[0].by, "us-eucom/saceur");
  EXPECT_THAT(l.book.refusals()[0].reason, HasSubstr("cannot accept its own proposal"));
  const Json v = to_json(l.get(id), l.book.refusals(), at("2026-03-02T00:00:00Z"));
  ASSERT_EQ(v["refused"].size(), 1U);
  EXPECT_EQ(v["refused"][0]["id"], bad.id);
  // check() says the same and keeps nothing.
  EXPECT_FALSE(l.book.check(bad).is_ok());
  EXPECT_EQ(l.book.refusals().size(), 1U);
}

TEST(MeetingsTest, MessagesThatNameNoKnownMeetingAreRefused) {
  Line l;
  const std::string id = l.propose();
  EXPECT_EQ(l.send(kRu, kAccept, {{"slot", kSlotA}}, "nope").code(), StatusCode::kNotFound);
  EXPECT_EQ(l.book.apply(l.message(kRu, kAccept, {{"slot", kSlotA}})).code(),
            StatusCode::kInvalidArgument);  // no reply_to
  Message third = l.message(kRu, kAccept, {{"slot", kSlotA}}, id);
  third.from_party = "cn-cmc";
  EXPECT_EQ(l.book.apply(third).code(), StatusCode::kPermissionDenied);
  Message other_line = l.message(kRu, kAccept, {{"slot", kSlotA}}, id);
  other_line.line = "another-line";
  EXPECT_EQ(l.book.apply(other_line).code(), StatusCode::kNotFound);
  Message again = l.message(kUs, kPropose, {{"title", "t"}, {"slots", {kSlotA}}});
  again.id = id;
  EXPECT_EQ(l.book.apply(again).code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(l.book.apply(l.message(kRu, kAccept, {{"slot", "tomorrow"}}, id)).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(l.get(id).state, State::kProposed);
  EXPECT_EQ(l.book.meetings().size(), 1U);
}

TEST(MeetingsTest, OtherMessageTypesAreIgnored) {
  Line l;
  EXPECT_TRUE(l.book.apply(l.message(kUs, "text", Json::object())).is_ok());
  EXPECT_TRUE(l.book.meetings().empty());
  EXPECT_TRUE(l.book.refusals().empty());
  EXPECT_FALSE(is_meeting_type("text"));
  EXPECT_TRUE(is_meeting_type("meeting.action-done"));
}

TEST(MeetingsTest, ActionItemsGiveRemindersBeforeTheyFallDueAndAreOverdueAfter) {
  Action a;
  a.due = at("2026-04-01T00:00:00Z");
  EXPECT_EQ(due_status(a, at("2026-03-01T00:00:00Z")), Due::kOpen);
  EXPECT_EQ(due_status(a, at("2026-03-29T00:00:00Z")), Due::kReminder);  // 72 h before
  EXPECT_EQ(due_status(a, at("2026-03-28T23:59:59Z")), Due::kOpen);
  EXPECT_EQ(due_status(a, at("2026-04-01T00:00:00Z")), Due::kReminder);
  EXPECT_EQ(due_status(a, at("2026-04-01T00:00:01Z")), Due::kOverdue);
  a.done = true;
  EXPECT_EQ(due_status(a, at("2026-05-01T00:00:00Z")), Due::kDone);

  Line l;
  const std::string id = l.scheduled();
  l.held(id, "2026-03-10T00:00:00Z");
  const Json late = to_json(l.get(id), {}, at("2026-03-11T00:00:00Z"));
  EXPECT_EQ(late["actions"][0]["status"], "overdue");
  EXPECT_EQ(late["overdue"], 1);
  const Json soon = to_json(l.get(id), {}, at("2026-03-09T00:00:00Z"));
  EXPECT_EQ(soon["actions"][0]["status"], "reminder");
  EXPECT_EQ(soon["reminders"], 1);
}

TEST(MeetingsTest, QuarterlySeriesKeepsTheTimeOfDayAndEndsShortMonthsOnTheirLastDay) {
  const Series quarterly{"quarterly", 3};
  EXPECT_EQ(occurrences(quarterly, at("2026-01-31T09:30:00Z"), 12),
            (std::vector<Time>{at("2026-01-31T09:30:00Z"), at("2026-04-30T09:30:00Z"),
                               at("2026-07-31T09:30:00Z")}));
  const Series weekly{"weekly", std::nullopt};
  EXPECT_EQ(occurrences(weekly, at("2026-03-03T09:00:00Z"), 2),
            (std::vector<Time>{at("2026-03-03T09:00:00Z"), at("2026-03-10T09:00:00Z")}));
}

TEST(MeetingsTest, ProposalWithASeriesShowsItsOccurrences) {
  Line l;
  const Message m = l.message(kUs, kPropose,
                              {{"title", "Quarterly staff talks"},
                               {"slots", {kSlotA}},
                               {"series", {{"recurrence", "quarterly"}, {"count", 4}}}});
  ASSERT_TRUE(l.book.apply(m).is_ok());
  const Json v = to_json(l.get(m.id), {}, at("2026-03-02T00:00:00Z"));
  EXPECT_EQ(v["series"]["recurrence"], "quarterly");
  ASSERT_EQ(v["series"]["occurrences"].size(), 4U);
  EXPECT_EQ(v["series"]["occurrences"][1], "2026-06-03T09:00:00.000Z");
}

TEST(MeetingsTest, MinutesHashIsTheSha256OfTheCanonicalJson) {
  // sha256('{"a":1,"b":[true]}')
  const std::string expected = "90eddf64b875cb5fa184bb12503cc7309b6ce21b175521a80bd8d83082bae604";
  const Result<std::string> spaced = minutes_hash(R"({ "b": [ true ], "a": 1 })");
  const Result<std::string> compact = minutes_hash(R"({"a":1,"b":[true]})");
  ASSERT_TRUE(spaced.is_ok());
  EXPECT_EQ(*spaced, *compact);
  EXPECT_EQ(*compact, expected);
  EXPECT_FALSE(minutes_hash("[1]").is_ok());
}

TEST(MeetingsTest, ReplayOrderIsTheSameWhateverTheArrivalOrder) {
  // us cancels while ru accepts, at the same millisecond: both sides must agree.
  Line l;
  const std::string id = l.propose();
  Message cancel = l.message(kUs, kCancel, {{"reason", "x"}}, id);
  Message accept = l.message(kRu, kAccept, {{"slot", kSlotA}}, id);
  accept.created = cancel.created;
  std::vector<Message> one = {cancel, accept};
  std::vector<Message> two = {accept, cancel};
  sort_for_replay(one);
  sort_for_replay(two);
  ASSERT_EQ(one[0].id, two[0].id);
  EXPECT_EQ(one[0].from_party, kRu);  // "ru-genstaff" < "us-eucom"
  Book a = l.book;
  Book b = l.book;
  for (const Message& m : one) (void)a.apply(m);
  for (const Message& m : two) (void)b.apply(m);
  EXPECT_EQ(json::dump(to_json(*a.find(id), a.refusals(), at(kSlotA))),
            json::dump(to_json(*b.find(id), b.refusals(), at(kSlotA))));
  // ru's accept sorts first, then us cancels the scheduled meeting.
  EXPECT_EQ(a.find(id)->state, State::kCancelled);
}

// --- pushed alerts for action items (alerts.h) ---------------------------------------------

TEST(ActionWatchTest, RemindsOnceThenAlertsOverdueOnceThenNothingOnceDone) {
  Line l;
  const std::string id = l.scheduled();
  l.held(id, "2026-04-01T00:00:00Z");
  ActionWatch watch;  // reminders 72 h ahead
  EXPECT_TRUE(watch.check(l.book, at("2026-03-20T00:00:00Z")).empty());
  EXPECT_EQ(watch.next(), at("2026-03-29T00:00:00Z"));

  std::vector<ActionAlert> alerts = watch.check(l.book, at("2026-03-29T00:00:00Z"));
  ASSERT_EQ(alerts.size(), 1U);
  EXPECT_EQ(alerts[0].status, Due::kReminder);
  EXPECT_EQ(alerts[0].meeting, id);
  EXPECT_EQ(alerts[0].title, "Staff talks");
  EXPECT_EQ(alerts[0].line, "saceur-cgs");
  EXPECT_EQ(alerts[0].action.id, "a1");
  EXPECT_EQ(alerts[0].action.owner, "cgs");
  EXPECT_TRUE(watch.check(l.book, at("2026-03-30T00:00:00Z")).empty());  // once
  EXPECT_EQ(watch.next(), at("2026-04-01T00:00:00Z") + Duration(1));

  EXPECT_TRUE(watch.check(l.book, at("2026-04-01T00:00:00Z")).empty());  // due, not yet overdue
  alerts = watch.check(l.book, at("2026-04-01T00:00:00.001Z"));
  ASSERT_EQ(alerts.size(), 1U);
  EXPECT_EQ(alerts[0].status, Due::kOverdue);
  EXPECT_TRUE(watch.check(l.book, at("2026-04-05T00:00:00Z")).empty());  // once
  EXPECT_FALSE(watch.next().has_value());  // nothing changes by itself any more

  ASSERT_TRUE(l.send(kRu, kActionDone, {{"action", "a1"}}, id).is_ok());
  EXPECT_TRUE(watch.check(l.book, at("2026-04-06T00:00:00Z")).empty());
  EXPECT_FALSE(watch.next().has_value());
}

TEST(ActionWatchTest, AnItemFirstSeenOverdueGetsOnlyTheOverdueAlert) {
  Line l;
  const std::string id = l.scheduled();
  l.held(id, "2026-04-01T00:00:00Z");
  ActionWatch watch;
  const std::vector<ActionAlert> alerts = watch.check(l.book, at("2026-05-01T00:00:00Z"));
  ASSERT_EQ(alerts.size(), 1U);
  EXPECT_EQ(alerts[0].status, Due::kOverdue);
  // A new watch (a restarted gateway) raises it again: it is still outstanding.
  EXPECT_EQ(ActionWatch().check(l.book, at("2026-05-01T00:00:00Z")).size(), 1U);
}

TEST(ActionWatchTest, MinutesThatMoveTheDueTimeMakeANewItem) {
  Line l;
  const std::string id = l.scheduled();
  l.held(id, "2026-04-01T00:00:00Z");
  ActionWatch watch(std::chrono::hours(24));
  ASSERT_EQ(watch.check(l.book, at("2026-03-31T12:00:00Z")).size(), 1U);  // reminder
  l.held(id, "2026-04-10T00:00:00Z", "deadline extended");
  EXPECT_TRUE(watch.check(l.book, at("2026-04-02T00:00:00Z")).empty());  // open again
  EXPECT_EQ(watch.next(), at("2026-04-09T00:00:00Z"));
  const std::vector<ActionAlert> alerts = watch.check(l.book, at("2026-04-09T00:00:00Z"));
  ASSERT_EQ(alerts.size(), 1U);
  EXPECT_EQ(alerts[0].status, Due::kReminder);
  EXPECT_EQ(alerts[0].action.due, at("2026-04-10T00:00:00Z"));
}

TEST(ActionWatchTest, MeetingsWithoutOpenItemsGiveNothing) {
  Line l;
  l.scheduled();
  const std::string held = l.scheduled();
  l.held(held);
  ASSERT_TRUE(l.send(kRu, kActionDone, {{"action", "a1"}}, held).is_ok());
  ActionWatch watch;
  EXPECT_TRUE(watch.check(l.book, at("2026-05-01T00:00:00Z")).empty());
  EXPECT_FALSE(watch.next().has_value());
}

}  // namespace
}  // namespace parley::meetings
