#include "parley/catalog/catalog.h"

#include <string>

#include <gtest/gtest.h>

#include "parley/base/json.h"

namespace parley::catalog {
namespace {

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

TEST(CatalogTest, BuiltinHasTheSixTypesInEnglishAndRussian) {
  for (const char* id : {"text", "ack", "notify.missile-launch", "notify.exercise",
                         "notify.incident", "request.deconfliction"}) {
    const MessageType* t = cat().find(id);
    ASSERT_NE(t, nullptr) << id;
    EXPECT_EQ(t->id, id);
    EXPECT_EQ(t->templates.count("en"), 1U) << id;
    EXPECT_EQ(t->templates.count("ru"), 1U) << id;
    EXPECT_EQ(t->title.count("ru"), 1U) << id;
    for (const auto& f : t->fields) {
      EXPECT_EQ(f.label.count("en"), 1U) << id << "." << f.name;
      EXPECT_EQ(f.label.count("ru"), 1U) << id << "." << f.name;
    }
  }
  EXPECT_EQ(cat().types().size(), 6U);
  EXPECT_EQ(cat().find("notify.nothing"), nullptr);
  EXPECT_EQ(cat().languages(), (std::vector<std::string>{"en", "ru"}));
}

TEST(CatalogTest, EveryTemplatePlaceholderNamesAFieldOrText) {
  for (const auto& t : cat().types()) {
    for (const auto& [lang, tmpl] : t.templates) {
      for (std::size_t i = tmpl.find('{'); i != std::string::npos; i = tmpl.find('{', i + 1)) {
        const std::size_t close = tmpl.find('}', i);
        ASSERT_NE(close, std::string::npos) << t.id << " " << lang;
        const std::string name = tmpl.substr(i + 1, close - i - 1);
        bool known = name == "text";
        for (const auto& f : t.fields) known = known || f.name == name;
        EXPECT_TRUE(known) << t.id << " " << lang << " {" << name << "}";
      }
    }
  }
}

TEST(CatalogTest, MissileLaunchSchemaIsAsSpecified) {
  const MessageType* t = cat().find("notify.missile-launch");
  ASSERT_NE(t, nullptr);
  ASSERT_EQ(t->fields.size(), 6U);
  for (const auto& f : t->fields) EXPECT_TRUE(f.required) << f.name;
  EXPECT_EQ(t->fields[0].name, "launch_time");
  EXPECT_EQ(t->fields[0].kind, FieldKind::kTime);
  EXPECT_EQ(t->fields[1].name, "missile_class");
  EXPECT_EQ(t->fields[1].kind, FieldKind::kEnum);
  EXPECT_EQ(t->fields[1].choices,
            (std::vector<std::string>{"ICBM", "SLBM", "IRBM", "MRBM", "SRBM", "cruise",
                                      "hypersonic-glide", "space-launch"}));
  EXPECT_EQ(t->fields[2].kind, FieldKind::kInteger);
  EXPECT_EQ(t->fields[5].name, "test");
  EXPECT_EQ(t->fields[5].kind, FieldKind::kBoolean);
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

TEST(CatalogRenderTest, MissileLaunchRendersInEnglish) {
  EXPECT_EQ(cat().render("notify.missile-launch", kLaunch, "", "en"),
            "MISSILE LAUNCH NOTIFICATION: 2 ICBM launch(es) at 2026-11-24T21:00:00Z from "
            "Plesetsk toward Kura range. Test launch: yes.");
}

TEST(CatalogRenderTest, MissileLaunchRendersInRussian) {
  EXPECT_EQ(cat().render("notify.missile-launch", kLaunch, "", "ru"),
            "УВЕДОМЛЕНИЕ О ПУСКЕ РАКЕТ: пуск ракет класса ICBM в количестве 2 в "
            "2026-11-24T21:00:00Z из района Plesetsk в направлении района Kura range. "
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
            "УВЕДОМЛЕНИЕ О ПУСКЕ РАКЕТ: пуск ракет класса SLBM в количестве 1 в "
            "2026-11-24T21:00:00Z из района Barents Sea в направлении района Chizha. "
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
            "УВЕДОМЛЕНИЕ ОБ УЧЕНИЯХ: учение «Zapad-2026» с 2026-09-10T06:00:00Z по "
            "2026-09-16T18:00:00Z в районе Western MD. Привлекаемые силы: 2 divisions. "
            "Численность участников: 12000.");
}

TEST(CatalogRenderTest, MissingOptionalFieldsRenderAsADash) {
  const std::string body = R"({"name":"Steadfast Noon","start":"2026-10-14T00:00:00Z",)"
                           R"("end":"2026-10-24T00:00:00Z","area":"North Sea"})";
  EXPECT_EQ(cat().render("notify.exercise", body, "", "en"),
            "EXERCISE NOTIFICATION: exercise \"Steadfast Noon\" from 2026-10-14T00:00:00Z to "
            "2026-10-24T00:00:00Z in North Sea. Forces involved: \u2014. Participants: \u2014.");
  EXPECT_EQ(cat().render("notify.exercise", body, "", "ru"),
            "УВЕДОМЛЕНИЕ ОБ УЧЕНИЯХ: учение «Steadfast Noon» с 2026-10-14T00:00:00Z по "
            "2026-10-24T00:00:00Z в районе North Sea. Привлекаемые силы: \u2014. "
            "Численность участников: \u2014.");
}

TEST(CatalogRenderTest, IncidentRendersInEnglish) {
  EXPECT_EQ(cat().render("notify.incident", kIncident, "", "en"),
            "INCIDENT NOTIFICATION: air-intercept incident at 2026-05-01T12:30:00.250Z in "
            "Baltic Sea. Description: Su-27 intercepted an RC-135 at 30 m. Casualties: 0.");
}

TEST(CatalogRenderTest, IncidentRendersInRussian) {
  EXPECT_EQ(cat().render("notify.incident", kIncident, "", "ru"),
            "УВЕДОМЛЕНИЕ ОБ ИНЦИДЕНТЕ: инцидент вида air-intercept в 2026-05-01T12:30:00.250Z "
            "в районе Baltic Sea. Описание: Su-27 intercepted an RC-135 at 30 m. "
            "Число пострадавших: 0.");
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
            "Mediterranean с 2026-03-01T00:00:00Z по 2026-03-02T00:00:00Z, диапазон высот "
            "0-3000 m. Просим ответить до 2026-02-28T12:00:00Z.");
}

TEST(CatalogRenderTest, UnknownLanguageFallsBackToEnglish) {
  EXPECT_EQ(cat().render("ack", "{}", "", "fr"), "Acknowledged.");
  EXPECT_EQ(cat().render("notify.missile-launch", kLaunch, "", "zh"),
            cat().render("notify.missile-launch", kLaunch, "", "en"));
  EXPECT_EQ(cat().render("notify.missile-launch", kLaunch, "", ""),
            cat().render("notify.missile-launch", kLaunch, "", "en"));
}

TEST(CatalogRenderTest, UnknownTypeRendersAsAPlainDescription) {
  EXPECT_EQ(cat().render("notify.ufo", "{}", "", "en"), "Message of unknown type 'notify.ufo'.");
  EXPECT_EQ(cat().render("notify.ufo", "{}", "lights over Murmansk", "en"),
            "Message of unknown type 'notify.ufo': lights over Murmansk");
  EXPECT_EQ(cat().render("notify.ufo", "{}", "", "ru"),
            "Сообщение неизвестного типа «notify.ufo».");
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
            "MISSILE LAUNCH NOTIFICATION: two [\"x\"] launch(es) at 5 from \u2014 toward "
            "{\"a\":1}. Test launch: maybe.");
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
  EXPECT_NE(s.message().find("'of'"), std::string::npos) << s.message();
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
    EXPECT_NE(s.message().find(std::string("'") + name + "'"), std::string::npos) << s.message();
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
  EXPECT_NE(s.message().find("'count'"), std::string::npos) << s.message();
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

// --- JSON ---------------------------------------------------------------------------------

TEST(CatalogJsonTest, ToJsonListsEveryTypeWithItsSchema) {
  auto doc = json::parse_object(cat().to_json());
  ASSERT_TRUE(doc.is_ok()) << doc.status().to_string();
  const json::Json& types = (*doc)["types"];
  ASSERT_TRUE(types.is_array());
  ASSERT_EQ(types.size(), 6U);
  const json::Json* launch = nullptr;
  for (const auto& t : types) {
    if (t["id"] == "notify.missile-launch") launch = &t;
  }
  ASSERT_NE(launch, nullptr);
  EXPECT_EQ((*launch)["title"]["en"], "Missile launch notification");
  EXPECT_EQ((*launch)["title"]["ru"], "Уведомление о пуске ракет");
  EXPECT_TRUE((*launch)["templates"].contains("ru"));
  const json::Json& fields = (*launch)["fields"];
  ASSERT_EQ(fields.size(), 6U);
  EXPECT_EQ(fields[0]["name"], "launch_time");
  EXPECT_EQ(fields[0]["kind"], "time");
  EXPECT_EQ(fields[0]["required"], true);
  EXPECT_EQ(fields[0]["label"]["ru"], "Время пуска");
  EXPECT_FALSE(fields[0].contains("choices"));
  EXPECT_FALSE(fields[0].contains("max_length"));
  EXPECT_EQ(fields[1]["kind"], "enum");
  EXPECT_EQ(fields[1]["choices"].size(), 8U);
  EXPECT_EQ(fields[3]["kind"], "string");
  EXPECT_EQ(fields[3]["max_length"], 1024);

  auto one = json::parse_object(cat().type_to_json(*cat().find("notify.missile-launch")));
  ASSERT_TRUE(one.is_ok());
  EXPECT_EQ(*one, *launch);
}

TEST(CatalogJsonTest, FieldKindNames) {
  EXPECT_EQ(field_kind_name(FieldKind::kString), "string");
  EXPECT_EQ(field_kind_name(FieldKind::kInteger), "integer");
  EXPECT_EQ(field_kind_name(FieldKind::kNumber), "number");
  EXPECT_EQ(field_kind_name(FieldKind::kBoolean), "boolean");
  EXPECT_EQ(field_kind_name(FieldKind::kTime), "time");
  EXPECT_EQ(field_kind_name(FieldKind::kEnum), "enum");
}

}  // namespace
}  // namespace parley::catalog
