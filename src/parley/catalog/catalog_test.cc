#include "parley/catalog/catalog.h"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "parley/base/json.h"

namespace parley::catalog {
namespace {

using ::testing::HasSubstr;

const Catalog& cat() { return Catalog::builtin(); }

constexpr std::string_view kLaunch =
    R"({"launch_time":"2026-11-24T21:00:00Z","missile_class":"ICBM","count":2,)"
    R"("launch_area":"Plesetsk","impact_area":"Kura range","test":true})";
constexpr std::string_view kExercise =
    R"({"name":"Zapad-2026","start":"2026-09-10T06:00:00Z","end":"2026-09-16T18:00:00Z",)"
    R"("area":"Western MD","forces":"2 divisions","participants":12000})";
constexpr std::string_view kIncident =
    R"({"time":"2026-05-01T12:30:00.250Z","area":"Baltic Sea","kind":"air-intercept",)"
    R"("description":"Su-27 intercepted an RC-135 at 30 m","casualties":0})";
constexpr std::string_view kDeconfliction =
    R"({"area":"Eastern Mediterranean","start":"2026-03-01T00:00:00Z",)"
    R"("end":"2026-03-02T00:00:00Z","activity":"naval gunnery","altitude_band":"0-3000 m",)"
    R"("respond_by":"2026-02-28T12:00:00Z"})";

StatusCode code_of(std::string_view type, std::string_view body) {
  return cat().validate(type, body).code();
}

// --- the catalog itself -------------------------------------------------------------------

const std::vector<std::string>& required_types() {
  static const std::vector<std::string> ids = {"text",
                                               "ack",
                                               "evidence.unacknowledged",
                                               "stage.shown",
                                               "test",
                                               "notify.exercise",
                                               "notify.missile-launch",
                                               "notify.incident",
                                               "notify.aircraft-intercept",
                                               "notify.maritime-encounter",
                                               "request.deconfliction",
                                               "response.deconfliction",
                                               "meeting.propose",
                                               "meeting.counter",
                                               "meeting.accept",
                                               "meeting.decline",
                                               "meeting.reschedule",
                                               "meeting.cancel",
                                               "meeting.minutes",
                                               "meeting.sign",
                                               "meeting.action-done",
                                               "translation"};
  return ids;
}

TEST(CatalogTest, BuiltinHasTheRequiredTypesInEnglishAndRussian) {
  for (const std::string& id : required_types()) {
    const MessageType* t = cat().find(id);
    ASSERT_NE(t, nullptr) << id;
    EXPECT_EQ(t->id, id);
    EXPECT_EQ(t->version, id == "test" ? 2 : 1) << id;  // test v2: "automatic" (issue 12)
    EXPECT_EQ(t->templates.count("en"), 1U) << id;
    EXPECT_EQ(t->templates.count("ru"), 1U) << id;
    EXPECT_EQ(t->title.count("ru"), 1U) << id;
    for (const auto& f : t->fields) {
      EXPECT_EQ(t->labels.at("en").count(f.path), 1U) << id << "." << f.path;
      EXPECT_EQ(t->labels.at("ru").count(f.path), 1U) << id << "." << f.path;
    }
  }
  EXPECT_EQ(cat().types().size(), required_types().size());
  EXPECT_EQ(cat().find("notify.nothing"), nullptr);
  EXPECT_EQ(cat().languages(), (std::vector<std::string>{"en", "ru"}));
}

TEST(CatalogTest, MissileLaunchKeepsItsV1FieldsRequired) {
  const MessageType* t = cat().find("notify.missile-launch");
  ASSERT_NE(t, nullptr);
  std::vector<std::string> required;
  for (const Field& f : t->fields) {
    if (f.required && f.path.find('.') == std::string::npos) required.push_back(f.path);
  }
  std::sort(required.begin(), required.end());
  EXPECT_EQ(required, (std::vector<std::string>{"count", "impact_area", "launch_area",
                                                "launch_time", "missile_class", "test"}));
  const Field* window_end = nullptr;
  for (const Field& f : t->fields) {
    if (f.path == "launch_window.end") window_end = &f;
  }
  ASSERT_NE(window_end, nullptr);
  EXPECT_TRUE(window_end->required);  // within the optional window
  EXPECT_EQ((*window_end->schema)["format"], "date-time");
}

// --- golden renderings --------------------------------------------------------------------

TEST(CatalogRenderTest, TextRendersTheFreeTextInEveryLanguage) {
  EXPECT_EQ(cat().render("text", "{}", "Call me on the backup line.", "en"),
            "Call me on the backup line.");
  EXPECT_EQ(cat().render("text", "{}", "Перезвоните по резервной линии.", "ru"),
            "Перезвоните по резервной линии.");
}

TEST(CatalogRenderTest, AckRendersInEnglish) {
  EXPECT_EQ(cat().render("ack", "{}", "", "en"), "Acknowledged.");
}

TEST(CatalogRenderTest, AckRendersInRussian) {
  EXPECT_EQ(cat().render("ack", "{}", "", "ru"), "Принято.");
}

TEST(CatalogRenderTest, TranslationRendersItsLanguageAndText) {
  EXPECT_EQ(cat().render("translation", R"({"language":"en"})", "Launch at 21:00.", "en"),
            "Translation (en): Launch at 21:00.");
  EXPECT_EQ(cat().render("translation", R"({"language":"en"})", "Launch at 21:00.", "ru"),
            "Перевод (en): Launch at 21:00.");
}

// An acknowledgment and a translation ask for no acknowledgment of their own; every other
// type does, and so does a type this catalog does not know (a newer peer's).
// Acks, translations and the gateway's own entries (evidence of silence, stages) await no
// ack; every principal's message does.
TEST(CatalogTest, OnlyAcksTranslationsAndTheGatewaysEntriesNeedNoAck) {
  const std::set<std::string> no_ack = {"ack", "translation", "evidence.unacknowledged",
                                        "stage.shown"};
  for (const MessageType& t : cat().types()) {
    EXPECT_EQ(t.needs_ack, !no_ack.contains(t.id)) << t.id;
    EXPECT_EQ(cat().needs_ack(t.id), t.needs_ack) << t.id;
  }
  EXPECT_TRUE(cat().needs_ack("notify.unheard-of"));
  EXPECT_FALSE(cat().needs_ack(kAckType));
  EXPECT_NE(cat().to_json().find(R"("needs_ack":false)"), std::string::npos);
}

TEST(CatalogValidateTest, TranslationNeedsALanguage) {
  EXPECT_TRUE(cat().validate("translation", R"({"language":"ru"})").is_ok());
  EXPECT_FALSE(cat().validate("translation", "{}").is_ok());
  EXPECT_FALSE(cat().validate("translation", R"({"language":"English"})").is_ok());
}

TEST(CatalogRenderTest, MissileLaunchRendersInEnglish) {
  EXPECT_EQ(cat().render("notify.missile-launch", kLaunch, "", "en"),
            "MISSILE LAUNCH NOTIFICATION: 2 ICBM launch(es) at 2026-11-24T21:00:00Z from "
            "Plesetsk toward Kura range. Test launch: yes.");
}

TEST(CatalogRenderTest, MissileLaunchRendersInRussian) {
  EXPECT_EQ(cat().render("notify.missile-launch", kLaunch, "", "ru"),
            "УВЕДОМЛЕНИЕ О ПУСКЕ РАКЕТ: пуск ракет класса МБР в количестве 2 в "
            "24 ноября 2026 г., 21:00 UTC из района Plesetsk в направлении района Kura range. "
            "Испытательный пуск: да.");
}

TEST(CatalogRenderTest, NonTestLaunchRendersNoInEachLanguage) {
  const std::string body =
      R"({"launch_time":"2026-11-24T21:00:00Z","missile_class":"SLBM","count":1,)"
      R"("launch_area":"Barents Sea","impact_area":"Chizha","test":false})";
  EXPECT_EQ(cat().render("notify.missile-launch", body, "", "en"),
            "MISSILE LAUNCH NOTIFICATION: 1 SLBM launch(es) at 2026-11-24T21:00:00Z from "
            "Barents Sea toward Chizha. Test launch: no.");
  EXPECT_EQ(cat().render("notify.missile-launch", body, "", "ru"),
            "УВЕДОМЛЕНИЕ О ПУСКЕ РАКЕТ: пуск ракет класса БРПЛ в количестве 1 в "
            "24 ноября 2026 г., 21:00 UTC из района Barents Sea в направлении района Chizha. "
            "Испытательный пуск: нет.");
}

TEST(CatalogRenderTest, ExerciseRendersInEnglish) {
  EXPECT_EQ(cat().render("notify.exercise", kExercise, "", "en"),
            "EXERCISE NOTIFICATION: exercise \"Zapad-2026\" from 2026-09-10T06:00:00Z to "
            "2026-09-16T18:00:00Z in Western MD. Forces involved: 2 divisions. "
            "Participants: 12000.");
}

TEST(CatalogRenderTest, ExerciseRendersInRussian) {
  EXPECT_EQ(cat().render("notify.exercise", kExercise, "", "ru"),
            "УВЕДОМЛЕНИЕ ОБ УЧЕНИЯХ: учение «Zapad-2026» с 10 сентября 2026 г., 06:00 UTC по "
            "16 сентября 2026 г., 18:00 UTC в районе Western MD. Привлекаемые силы: 2 divisions. "
            "Численность участников: 12000.");
}

TEST(CatalogRenderTest, MissingOptionalFieldsRenderAsADash) {
  const std::string body = R"({"name":"Steadfast Noon","start":"2026-10-14T00:00:00Z",)"
                           R"("end":"2026-10-24T00:00:00Z","area":"North Sea"})";
  EXPECT_EQ(cat().render("notify.exercise", body, "", "en"),
            "EXERCISE NOTIFICATION: exercise \"Steadfast Noon\" from 2026-10-14T00:00:00Z to "
            "2026-10-24T00:00:00Z in North Sea. Forces involved: \u2014. Participants: \u2014.");
  EXPECT_EQ(cat().render("notify.exercise", body, "", "ru"),
            "УВЕДОМЛЕНИЕ ОБ УЧЕНИЯХ: учение «Steadfast Noon» с 14 октября 2026 г., 00:00 UTC по "
            "24 октября 2026 г., 00:00 UTC в районе North Sea. Привлекаемые силы: \u2014. "
            "Численность участников: \u2014.");
}

TEST(CatalogRenderTest, IncidentRendersInEnglish) {
  EXPECT_EQ(cat().render("notify.incident", kIncident, "", "en"),
            "INCIDENT NOTIFICATION: air-intercept incident at 2026-05-01T12:30:00.250Z in "
            "Baltic Sea. Description: Su-27 intercepted an RC-135 at 30 m. Casualties: 0.");
}

TEST(CatalogRenderTest, IncidentRendersInRussian) {
  EXPECT_EQ(cat().render("notify.incident", kIncident, "", "ru"),
            "УВЕДОМЛЕНИЕ ОБ ИНЦИДЕНТЕ: инцидент вида перехват в воздухе в 1 мая 2026 г., "
            "12:30:00,250 UTC в районе Baltic Sea. Описание: Su-27 intercepted an RC-135 at 30 m. "
            "Число пострадавших: 0.");
}

// Issue 16: the Russian rendering translates enum values through the catalog's `values` and
// writes times in Russian with UTC kept visible; the English one keeps both as written.
TEST(CatalogRenderTest, RussianRenderingTranslatesEnumValuesAndWritesTimesInRussian) {
  const std::string body =
      R"({"kind":"border-violation","time":"2026-01-03T07:05:09Z","area":"Narva river",)"
      R"("description":"patrol boat crossed the line","casualties":0})";
  EXPECT_EQ(cat().render("notify.incident", body, "", "ru"),
            "УВЕДОМЛЕНИЕ ОБ ИНЦИДЕНТЕ: инцидент вида нарушение границы в 3 января 2026 г., "
            "07:05:09 UTC в районе Narva river. Описание: patrol boat crossed the line. "
            "Число пострадавших: 0.");
  EXPECT_EQ(cat().render("notify.incident", body, "", "en"),
            "INCIDENT NOTIFICATION: border-violation incident at 2026-01-03T07:05:09Z in Narva "
            "river. Description: patrol boat crossed the line. Casualties: 0.");
  // Every enum value of every type has a Russian word.
  for (const MessageType& t : cat().types()) {
    for (const Field& f : t.fields) {
      const json::Json& schema = f.schema->contains("items") ? (*f.schema)["items"] : *f.schema;
      if (!schema.contains("enum")) continue;
      for (const json::Json& value : schema["enum"]) {
        const auto ru = t.values.find("ru");
        ASSERT_NE(ru, t.values.end()) << t.id << " has enums but no Russian values";
        const auto words = ru->second.find(f.path);
        ASSERT_NE(words, ru->second.end()) << t.id << " " << f.path;
        EXPECT_EQ(words->second.count(value.get<std::string>()), 1U)
            << t.id << " " << f.path << " " << value;
      }
    }
  }
  // The examples render their times in Russian.
  for (const std::string& type :
       {std::string("notify.missile-launch"), std::string("notify.exercise"),
        std::string("notify.incident"), std::string("notify.aircraft-intercept"),
        std::string("response.deconfliction")}) {
    const MessageType* t = cat().find(type);
    ASSERT_NE(t, nullptr) << type;
    const std::string example = t->example->dump();
    const std::string ru = cat().render(type, example, "", "ru");
    EXPECT_FALSE(std::regex_search(ru, std::regex(R"(\d{4}-\d\d-\d\dT\d\d:)"))) << ru;
    EXPECT_NE(ru.find(" UTC"), std::string::npos) << ru;
  }
  // A value that is not parley's time form (a peer's body, shown raw) is shown as written.
  EXPECT_NE(cat()
                .render("notify.incident", R"({"kind":"cyber","time":"yesterday"})", "", "ru")
                .find("в yesterday"),
            std::string::npos);
}

TEST(CatalogRenderTest, DeconflictionRendersInEnglish) {
  EXPECT_EQ(cat().render("request.deconfliction", kDeconfliction, "", "en"),
            "DECONFLICTION REQUEST: planned activity \"naval gunnery\" in Eastern Mediterranean "
            "from 2026-03-01T00:00:00Z to 2026-03-02T00:00:00Z, altitude band 0-3000 m. Please "
            "respond by 2026-02-28T12:00:00Z.");
}

TEST(CatalogRenderTest, DeconflictionRendersInRussian) {
  EXPECT_EQ(cat().render("request.deconfliction", kDeconfliction, "", "ru"),
            "ЗАПРОС О ДЕКОНФЛИКТИНГЕ: планируемая деятельность «naval gunnery» в районе Eastern "
            "Mediterranean с 1 марта 2026 г., 00:00 UTC по 2 марта 2026 г., 00:00 UTC, диапазон "
            "высот 0-3000 m. Просим ответить до 28 февраля 2026 г., 12:00 UTC.");
}

TEST(CatalogRenderTest, UnknownLanguageFallsBackToEnglish) {
  EXPECT_EQ(cat().render("ack", "{}", "", "fr"), "Acknowledged.");
  EXPECT_EQ(cat().render("notify.missile-launch", kLaunch, "", "zh"),
            cat().render("notify.missile-launch", kLaunch, "", "en"));
  EXPECT_EQ(cat().render("notify.missile-launch", kLaunch, "", ""),
            cat().render("notify.missile-launch", kLaunch, "", "en"));
}

TEST(CatalogRenderTest, UnknownTypeRendersRawWithAWarning) {
  EXPECT_EQ(cat().render("notify.ufo", "{}", "", "en"),
            "Message of unknown type 'notify.ufo', shown raw.");
  EXPECT_EQ(cat().render("notify.ufo", R"({"lights":3})", "over Murmansk", "en"),
            R"(Message of unknown type 'notify.ufo', shown raw {"lights":3}: over Murmansk)");
  EXPECT_EQ(cat().render("notify.ufo", "{}", "", "ru"),
            "Сообщение неизвестного типа «notify.ufo», как получено.");
  EXPECT_THAT(cat().shown_raw_because("notify.ufo", "{}").value_or(""),
              HasSubstr("'notify.ufo' is not in this gateway's catalog"));
}

// A body of another version of a type we know (the sender's catalog is newer or older).
TEST(CatalogRenderTest, BodyOurVersionRefusesComesWithTheReason) {
  const std::string body = R"({"launch_time":"2026-11-24T21:00:00Z","stage_count":3})";
  const std::optional<std::string> why = cat().shown_raw_because("notify.missile-launch", body);
  ASSERT_TRUE(why.has_value());
  EXPECT_THAT(*why, HasSubstr("version 1 of 'notify.missile-launch'"));
  EXPECT_FALSE(cat().shown_raw_because("notify.missile-launch", kLaunch).has_value());
  EXPECT_FALSE(cat().shown_raw_because("text", "").has_value());
}

TEST(CatalogVersionsTest, PeersCompareTypeByType) {
  const Versions ours = cat().versions();
  EXPECT_EQ(ours.at("text"), 1);
  EXPECT_EQ(ours.size(), cat().types().size());
  EXPECT_TRUE(compare(ours, ours).same());

  Versions theirs = ours;
  theirs.erase("notify.incident");
  theirs["notify.space-debris"] = 1;
  theirs["text"] = 2;
  const Difference d = compare(ours, theirs);
  EXPECT_FALSE(d.same());
  EXPECT_EQ(d.only_here, std::vector<std::string>{"notify.incident"});
  EXPECT_EQ(d.only_there, std::vector<std::string>{"notify.space-debris"});
  EXPECT_EQ(d.other_version, std::vector<std::string>{"text: 1 here, 2 there"});

  // What one gateway writes, the other reads back.
  Result<Versions> read = parse_versions(versions_json(theirs));
  ASSERT_TRUE(read.is_ok()) << read.status().to_string();
  EXPECT_EQ(*read, theirs);
}

TEST(CatalogVersionsTest, MalformedVersionsAreRefusedWithAReason) {
  for (const char* text :
       {R"([])", R"({"Text": 1})", R"({"": 1})", R"({"text": 0})", R"({"text": -1})",
        R"({"text": 1.5})", R"({"text": "1"})", R"({"text": 2147483648})"}) {
    Result<Versions> read = parse_versions(json::Json::parse(text));
    EXPECT_FALSE(read.is_ok()) << text;
    EXPECT_THAT(read.status().message(), HasSubstr("catalog")) << text;
  }
  json::Json many = json::Json::object();
  for (std::size_t i = 0; i <= kVersionsMax; ++i)
    many[std::string("t").append(std::to_string(i))] = 1;
  EXPECT_FALSE(parse_versions(many).is_ok());
}

TEST(CatalogRenderTest, UnreadableBodyRendersAsAPlainDescription) {
  EXPECT_EQ(cat().render("notify.incident", "{not json", "see text", "en"),
            "Incident notification (the body could not be read): see text");
  EXPECT_EQ(cat().render("notify.incident", "[1,2]", "", "ru"),
            "Уведомление об инциденте (содержимое не удалось прочитать).");
}

TEST(CatalogRenderTest, WrongKindValuesRenderWithoutFailing) {
  const std::string body = R"({"launch_time":5,"missile_class":["x"],"count":"two",)"
                           R"("launch_area":null,"impact_area":{"a":1},"test":"maybe"})";
  EXPECT_EQ(cat().render("notify.missile-launch", body, "", "en"),
            "MISSILE LAUNCH NOTIFICATION: two x launch(es) at 5 from \u2014 toward a 1. Test "
            "launch: maybe.");
}

TEST(CatalogRenderTest, FreeTextIsDataNotATemplate) {
  EXPECT_EQ(cat().render("text", "{}", "{count} {{", "en"), "{count} {{");
  EXPECT_EQ(cat().render("text", "", "empty body is read as {}", "en"), "empty body is read as {}");
}

// --- validation ---------------------------------------------------------------------------

TEST(CatalogValidateTest, WellFormedBodiesAreValid) {
  EXPECT_TRUE(cat().validate("text", "{}").is_ok());
  EXPECT_TRUE(cat().validate("ack", "{}").is_ok());
  EXPECT_TRUE(cat().validate("notify.missile-launch", kLaunch).is_ok());
  EXPECT_TRUE(cat().validate("notify.exercise", kExercise).is_ok());
  EXPECT_TRUE(cat().validate("notify.incident", kIncident).is_ok());
  EXPECT_TRUE(cat().validate("request.deconfliction", kDeconfliction).is_ok());
}

TEST(CatalogValidateTest, OptionalFieldsMayBeOmitted) {
  EXPECT_TRUE(cat()
                  .validate("notify.exercise", R"({"name":"n","start":"2026-01-01T00:00:00Z",)"
                                               R"("end":"2026-01-02T00:00:00Z","area":"a"})")
                  .is_ok());
  EXPECT_TRUE(cat()
                  .validate("request.deconfliction",
                            R"({"area":"a","start":"2026-01-01T00:00:00Z",)"
                            R"("end":"2026-01-02T00:00:00Z","activity":"x"})")
                  .is_ok());
}

TEST(CatalogValidateTest, UnknownTypeIsNotFound) {
  const Status s = cat().validate("notify.ufo", "{}");
  EXPECT_EQ(s.code(), StatusCode::kNotFound);
  EXPECT_NE(s.message().find("notify.ufo"), std::string::npos);
}

TEST(CatalogValidateTest, AckWithAFieldIsRefused) {
  const Status s = cat().validate("ack", R"({"of":"0190a1b2-0000-7000-8000-000000000000"})");
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("body.of: unknown field"), std::string::npos) << s.message();
}

TEST(CatalogValidateTest, UnknownFieldIsNamed) {
  json::Json body = json::parse(kLaunch).value();
  body["yield_kt"] = 150;
  const Status s = cat().validate("notify.missile-launch", json::dump(body));
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("yield_kt"), std::string::npos) << s.message();
}

TEST(CatalogValidateTest, EveryMissingRequiredFieldIsNamed) {
  for (const char* name :
       {"launch_time", "missile_class", "count", "launch_area", "impact_area", "test"}) {
    json::Json body = json::parse(kLaunch).value();
    body.erase(name);
    const Status s = cat().validate("notify.missile-launch", json::dump(body));
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << name;
    EXPECT_NE(s.message().find(std::string("body.") + name + ": missing"), std::string::npos)
        << s.message();
    EXPECT_NE(s.message().find("missing"), std::string::npos) << s.message();
  }
}

TEST(CatalogValidateTest, WrongKindIsRefused) {
  const auto with = [](std::string_view key, json::Json value) {
    json::Json body = json::parse(kLaunch).value();
    body[std::string(key)] = std::move(value);
    return json::dump(body);
  };
  EXPECT_EQ(code_of("notify.missile-launch", with("count", "2")), StatusCode::kInvalidArgument);
  EXPECT_EQ(code_of("notify.missile-launch", with("count", 2.5)), StatusCode::kInvalidArgument);
  EXPECT_EQ(code_of("notify.missile-launch", with("test", "true")), StatusCode::kInvalidArgument);
  EXPECT_EQ(code_of("notify.missile-launch", with("test", 1)), StatusCode::kInvalidArgument);
  EXPECT_EQ(code_of("notify.missile-launch", with("launch_area", 7)), StatusCode::kInvalidArgument);
  EXPECT_EQ(code_of("notify.missile-launch", with("launch_area", nullptr)),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(code_of("notify.missile-launch", with("missile_class", 1)),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(code_of("notify.missile-launch", with("launch_time", 1700000000)),
            StatusCode::kInvalidArgument);
  const Status s = cat().validate("notify.missile-launch", with("count", "2"));
  EXPECT_NE(s.message().find("body.count: expected an integer"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("integer"), std::string::npos) << s.message();
}

TEST(CatalogValidateTest, EnumValueOutsideTheChoicesIsRefused) {
  json::Json body = json::parse(kLaunch).value();
  body["missile_class"] = "icbm";  // choices are case-sensitive
  const Status s = cat().validate("notify.missile-launch", json::dump(body));
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("missile_class"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("ICBM"), std::string::npos) << s.message();

  json::Json incident = json::parse(kIncident).value();
  incident["kind"] = "alien";
  EXPECT_EQ(code_of("notify.incident", json::dump(incident)), StatusCode::kInvalidArgument);
  for (const char* kind :
       {"air-intercept", "maritime-encounter", "border-violation", "cyber", "accident", "other"}) {
    incident["kind"] = kind;
    EXPECT_TRUE(cat().validate("notify.incident", json::dump(incident)).is_ok()) << kind;
  }
}

TEST(CatalogValidateTest, BadTimeIsRefused) {
  for (const char* bad : {"tomorrow", "2026-11-24 21:00:00Z", "2026-11-24T21:00:00+03:00",
                          "2026-13-01T00:00:00Z", ""}) {
    json::Json body = json::parse(kLaunch).value();
    body["launch_time"] = bad;
    const Status s = cat().validate("notify.missile-launch", json::dump(body));
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(s.message().find("launch_time"), std::string::npos) << s.message();
  }
  json::Json body = json::parse(kDeconfliction).value();
  body["respond_by"] = "soon";
  EXPECT_EQ(code_of("request.deconfliction", json::dump(body)), StatusCode::kInvalidArgument);
}

TEST(CatalogValidateTest, OverlongStringIsRefused) {
  json::Json body = json::parse(kIncident).value();
  body["description"] = std::string(4000, 'x');
  EXPECT_TRUE(cat().validate("notify.incident", json::dump(body)).is_ok());
  body["description"] = std::string(4001, 'x');
  const Status s = cat().validate("notify.incident", json::dump(body));
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("description"), std::string::npos) << s.message();

  // Other strings keep the default limit of 1024 characters.
  json::Json launch = json::parse(kLaunch).value();
  launch["launch_area"] = std::string(1025, 'a');
  EXPECT_EQ(code_of("notify.missile-launch", json::dump(launch)), StatusCode::kInvalidArgument);
}

TEST(CatalogValidateTest, LengthCountsCharactersNotBytes) {
  json::Json body = json::parse(kIncident).value();
  std::string cyrillic;
  for (int i = 0; i < 4000; ++i) cyrillic += "ж";  // 8000 bytes, 4000 characters
  body["description"] = cyrillic;
  EXPECT_TRUE(cat().validate("notify.incident", json::dump(body)).is_ok());
  body["description"] = cyrillic + "ж";
  EXPECT_EQ(code_of("notify.incident", json::dump(body)), StatusCode::kInvalidArgument);
}

TEST(CatalogValidateTest, BodyThatIsNotAnObjectIsRefused) {
  for (const char* body : {"[]", "\"text\"", "42", "null", "", "{", "{\"count\":}"}) {
    EXPECT_EQ(code_of("ack", body), StatusCode::kInvalidArgument) << body;
    EXPECT_EQ(code_of("notify.missile-launch", body), StatusCode::kInvalidArgument) << body;
  }
}

TEST(CatalogValidateTest, TextBodyTakesNoFields) {
  EXPECT_EQ(code_of("text", R"({"text":"hi"})"), StatusCode::kInvalidArgument);
}

TEST(CatalogValidateTest, ErrorsNameTheFieldByItsPathFromTheBody) {
  const auto refused = [](std::string_view type, const json::Json& body) {
    const Status s = cat().validate(type, json::dump(body));
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << json::dump(body);
    return s.message();
  };
  json::Json launch = *cat().find("notify.missile-launch")->example;
  launch["launch_window"]["end"] = launch["launch_window"]["start"];
  EXPECT_EQ(refused("notify.missile-launch", launch),
            "body.launch_window.end: must be after start");
  launch["launch_window"].erase("end");
  EXPECT_EQ(refused("notify.missile-launch", launch),
            "body.launch_window.end: missing (required by notify.missile-launch)");
  launch = *cat().find("notify.missile-launch")->example;
  launch["launch_point"]["alt"] = 3;
  EXPECT_EQ(refused("notify.missile-launch", launch),
            "body.launch_point.alt: unknown field (not in the schema of notify.missile-launch)");
  launch = *cat().find("notify.missile-launch")->example;
  launch["launch_point"]["lat"] = 91;
  EXPECT_EQ(refused("notify.missile-launch", launch), "body.launch_point.lat: must be at most 90");
  launch["launch_point"]["lat"] = "71.5";
  EXPECT_EQ(refused("notify.missile-launch", launch), "body.launch_point.lat: expected a number");

  json::Json sea = *cat().find("notify.maritime-encounter")->example;
  sea["vessels"][1].erase("flag");
  EXPECT_EQ(refused("notify.maritime-encounter", sea),
            "body.vessels[1].flag: missing (required by notify.maritime-encounter)");
  sea = *cat().find("notify.maritime-encounter")->example;
  sea["vessels"].erase(1);
  EXPECT_EQ(refused("notify.maritime-encounter", sea), "body.vessels: fewer than 2 items");

  json::Json exercise = *cat().find("notify.exercise")->example;
  exercise["end"] = "2026-09-01T00:00:00Z";  // before start
  EXPECT_EQ(refused("notify.exercise", exercise), "body.end: must be after start");
  exercise = *cat().find("notify.exercise")->example;
  exercise["start"] = "2026-09-10T06:00:00+03:00";
  EXPECT_EQ(refused("notify.exercise", exercise),
            "body.start: expected an RFC 3339 UTC time like \"2026-11-24T21:00:00Z\"");
}

TEST(CatalogValidateTest, ACounterProposalNeedsItsCounter) {
  json::Json response = *cat().find("response.deconfliction")->example;
  response.erase("counter");
  const Status s = cat().validate("response.deconfliction", json::dump(response));
  EXPECT_EQ(s.message(), "body.counter: missing (required by response.deconfliction)");
  response["decision"] = "accept";
  EXPECT_TRUE(cat().validate("response.deconfliction", json::dump(response)).is_ok());
  response["decision"] = "maybe";
  EXPECT_EQ(cat().validate("response.deconfliction", json::dump(response)).message(),
            "body.decision: 'maybe' is not one of accept, decline, counter");
}

// --- every type ---------------------------------------------------------------------------

TEST(CatalogEveryTypeTest, ExampleValidatesAndRoundTrips) {
  auto all = json::parse(cat().to_json());
  ASSERT_TRUE(all.is_ok());
  ASSERT_TRUE(all->is_array());
  ASSERT_EQ(all->size(), cat().types().size());
  for (std::size_t i = 0; i < cat().types().size(); ++i) {
    const MessageType& t = cat().types()[i];
    const std::string text = json::dump(*t.example);
    EXPECT_TRUE(cat().validate(t.id, text).is_ok())
        << t.id << ": " << cat().validate(t.id, text).to_string();
    auto again = json::parse_object(text);
    ASSERT_TRUE(again.is_ok()) << t.id;
    EXPECT_EQ(*again, *t.example) << t.id;
    EXPECT_EQ(json::dump(*again), text) << t.id;
    const json::Json& listed = (*all)[i];
    EXPECT_EQ(listed["type"], t.id);
    EXPECT_EQ(listed["version"], t.version);
    EXPECT_EQ(listed["example"], *t.example) << t.id;
    EXPECT_EQ(listed["schema"], *t.schema) << t.id;
    EXPECT_EQ(listed["title"]["ru"], t.title.at("ru")) << t.id;
    EXPECT_TRUE(cat().validate(t.id, json::dump(listed["example"])).is_ok()) << t.id;
    auto one = json::parse_object(cat().type_to_json(t));
    ASSERT_TRUE(one.is_ok());
    EXPECT_EQ(*one, listed) << t.id;
  }
}

TEST(CatalogEveryTypeTest, ExampleRendersInEnglishAndRussianFromOneBody) {
  for (const MessageType& t : cat().types()) {
    const std::string body = json::dump(*t.example);
    const std::string en = cat().render(t.id, body, "free text", "en");
    const std::string ru = cat().render(t.id, body, "free text", "ru");
    EXPECT_FALSE(en.empty()) << t.id;
    EXPECT_NE(en.find_first_not_of(" ."), std::string::npos) << t.id;
    // Every field of the example is present, so nothing renders as absent, and no
    // placeholder is left unexpanded.
    EXPECT_EQ(en.find("\u2014"), std::string::npos) << t.id << ": " << en;
    EXPECT_EQ(ru.find("\u2014"), std::string::npos) << t.id << ": " << ru;
    EXPECT_EQ(en.find('{'), std::string::npos) << t.id << ": " << en;
    EXPECT_EQ(ru.find('{'), std::string::npos) << t.id << ": " << ru;
    if (t.fields.empty()) continue;
    EXPECT_NE(en, ru) << t.id;
    EXPECT_NE(ru.find_first_of("АБВГДЕЖЗИКЛМНОПРСТУФХЦЧШЩЭЮЯ"), std::string::npos) << ru;
  }
}

TEST(CatalogEveryTypeTest, MissingRequiredFieldIsRefusedByName) {
  for (const MessageType& t : cat().types()) {
    int checked = 0;
    for (const Field& f : t.fields) {
      if (!f.required || f.path.find('.') != std::string::npos) continue;
      json::Json body = *t.example;
      body.erase(f.path);
      const Status s = cat().validate(t.id, json::dump(body));
      EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << t.id << " without " << f.path;
      EXPECT_EQ(s.message(), "body." + f.path + ": missing (required by " + t.id + ")");
      ++checked;
    }
    const bool fieldless = t.id == "text" || t.id == "ack";
    EXPECT_EQ(checked == 0, fieldless) << t.id << ": every type but text and ack requires a field";
  }
}

// A value outside the range its schema allows, for one field of the example: the first
// with a maximum, an enum or a maximum length.
struct OutOfRange {
  std::string path;
  json::Json value;
  std::string expected;  // the message
};

std::vector<OutOfRange> out_of_range(const MessageType& t) {
  std::vector<OutOfRange> out;
  for (const Field& f : t.fields) {
    if (f.path.find('.') != std::string::npos || !t.example->contains(f.path)) continue;
    const json::Json& s = *f.schema;
    const std::string at = "body." + f.path + ": ";
    if (s.contains("maximum")) {
      const auto beside = [](const json::Json& bound, int step) {
        if (bound.is_number_integer()) return json::Json(bound.get<std::int64_t>() + step);
        return json::Json(bound.get<double>() + step);
      };
      out.push_back(
          {f.path, beside(s["maximum"], 1), at + "must be at most " + json::dump(s["maximum"])});
      out.push_back(
          {f.path, beside(s["minimum"], -1), at + "must be at least " + json::dump(s["minimum"])});
    } else if (s.contains("enum")) {
      out.push_back({f.path, "none-such", at + "'none-such' is not one of"});
    } else if (s.contains("maxLength") && !s.contains("format")) {
      const std::size_t n = s["maxLength"].get<std::size_t>();
      out.push_back({f.path, std::string(n + 1, 'x'),
                     at + "longer than " + std::to_string(n) + " characters"});
    } else if (s.contains("maxItems")) {
      out.push_back({f.path, json::Json::array(), at + "fewer than "});
    }
  }
  return out;
}

TEST(CatalogEveryTypeTest, OutOfRangeValueIsRefusedByName) {
  for (const MessageType& t : cat().types()) {
    const std::vector<OutOfRange> cases = out_of_range(t);
    const bool fieldless = t.id == "text" || t.id == "ack";
    EXPECT_EQ(cases.empty(), fieldless) << t.id;
    for (const OutOfRange& c : cases) {
      json::Json body = *t.example;
      body[c.path] = c.value;
      const Status s = cat().validate(t.id, json::dump(body));
      EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << t.id << " " << json::dump(body);
      EXPECT_EQ(s.message().rfind(c.expected, 0), 0U) << t.id << ": " << s.message();
    }
  }
}

TEST(CatalogEveryTypeTest, WrongTypeIsRefusedByName) {
  for (const MessageType& t : cat().types()) {
    for (const Field& f : t.fields) {
      if (f.path.find('.') != std::string::npos || !t.example->contains(f.path)) continue;
      json::Json body = *t.example;
      // A string where anything else is expected, and an object where a string is.
      const bool string = f.schema->value("type", "") == "string";
      body[f.path] = string ? json::Json::object() : json::Json("1");
      const Status s = cat().validate(t.id, json::dump(body));
      EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << t.id << "." << f.path;
      EXPECT_EQ(s.message().rfind("body." + f.path + ": expected ", 0), 0U) << s.message();
    }
  }
}

// --- loading a file set -------------------------------------------------------------------

constexpr std::string_view kGoodFile = R"({
  "type": "notify.drill", "version": 1,
  "title": {"en": "Drill", "ru": "Тренировка"},
  "schema": {"$schema": "http://json-schema.org/draft-07/schema#", "type": "object",
             "properties": {"count": {"type": "integer", "minimum": 1}},
             "required": ["count"], "additionalProperties": false},
  "labels": {"en": {"count": "Count"}, "ru": {"count": "Количество"}},
  "templates": {"en": "DRILL x{count}", "ru": "ТРЕНИРОВКА x{count}"},
  "example": {"count": 2}
})";

// kGoodFile with `from` replaced by `to` (which must occur).
std::string broken(std::string_view from, std::string_view to) {
  std::string text(kGoodFile);
  const std::size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

std::string load_error(const std::string& text, std::string name = "notify.drill.v1.json") {
  const Result<Catalog> c = Catalog::load({{std::move(name), text}});
  EXPECT_FALSE(c.is_ok());
  return c.is_ok() ? "" : c.status().message();
}

TEST(CatalogLoadTest, AGoodFileLoadsAndAddsAType) {
  const std::string text(kGoodFile);
  const Result<Catalog> c = Catalog::load({{"notify.drill.v1.json", text}});
  ASSERT_TRUE(c.is_ok()) << c.status().to_string();
  EXPECT_EQ(c->render("notify.drill", R"({"count":3})", "", "ru"), "ТРЕНИРОВКА x3");
  EXPECT_EQ(c->validate("notify.drill", R"({"count":0})").message(),
            "body.count: must be at least 1");
}

TEST(CatalogLoadTest, BrokenFilesAreRefusedWithAClearMessage) {
  using ::testing::HasSubstr;
  EXPECT_THAT(load_error(broken(R"("type": "integer")", R"("type": "integr")")),
              HasSubstr("catalog file notify.drill.v1.json: schema.properties.count"));
  EXPECT_THAT(load_error(broken(R"("minimum": 1)", R"("minimum": "one")")),
              HasSubstr("schema.properties.count.minimum: not valid JSON Schema draft 7"));
  EXPECT_THAT(
      load_error(broken(R"("example": {"count": 2})", R"("example": {"count": 0})")),
      HasSubstr("catalog file notify.drill.v1.json: example: body.count: must be at least 1"));
  EXPECT_THAT(load_error(broken("x{count}\", \"ru\"", "x{cnt}\", \"ru\"")),
              HasSubstr("templates.en: {cnt} is not a field"));
  EXPECT_THAT(load_error(broken(R"(, "ru": {"count": "Количество"})", "")),
              HasSubstr("labels: no ru"));
  EXPECT_THAT(load_error(broken(R"("ru": "ТРЕНИРОВКА x{count}")", R"("de": "Übung")")),
              HasSubstr("templates: no ru"));
  EXPECT_THAT(load_error(broken("DRILL x{count}", "DRILL [[x{count}")),
              HasSubstr("templates.en: \"[[\" without \"]]\""));
  EXPECT_THAT(load_error(std::string(kGoodFile), "notify.drill.json"),
              HasSubstr("must be named notify.drill.v1.json"));
  EXPECT_THAT(load_error(broken(R"("type": "object")", R"("type": "array")")),
              HasSubstr("schema.type must be \"object\""));
  EXPECT_THAT(load_error("{\"type\": "),
              HasSubstr("catalog file notify.drill.v1.json: malformed JSON"));
  const std::string text(kGoodFile);
  const Result<Catalog> twice =
      Catalog::load({{"notify.drill.v1.json", text}, {"notify.drill.v1.json", text}});
  ASSERT_FALSE(twice.is_ok());
  EXPECT_THAT(twice.status().message(), HasSubstr("a second version of notify.drill"));
}

// --- JSON ---------------------------------------------------------------------------------

TEST(CatalogJsonTest, EachElementHasTypeVersionTitleSchemaAndExample) {
  auto doc = json::parse(cat().to_json());
  ASSERT_TRUE(doc.is_ok()) << doc.status().to_string();
  ASSERT_TRUE(doc->is_array());
  for (const json::Json& t : *doc) {
    for (const char* key :
         {"type", "version", "title", "schema", "example", "templates", "labels"}) {
      EXPECT_TRUE(t.contains(key)) << key << " in " << t["type"];
    }
    EXPECT_EQ(t["schema"]["$schema"], "http://json-schema.org/draft-07/schema#");
  }
}

}  // namespace
}  // namespace parley::catalog
