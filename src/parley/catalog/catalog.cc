#include "parley/catalog/catalog.h"

#include <set>
#include <utility>

#include "parley/base/json.h"
#include "parley/base/time.h"

namespace parley::catalog {
namespace {

using json::Json;

constexpr std::string_view kFallbackLang = "en";
constexpr std::string_view kMissing = "\u2014";  // an em dash for an absent optional field

using Labels = std::map<std::string, std::string>;

Field field(std::string name, FieldKind kind, Labels label, bool required = true) {
  Field f;
  f.name = std::move(name);
  f.kind = kind;
  f.required = required;
  f.label = std::move(label);
  return f;
}

Field enum_field(std::string name, std::vector<std::string> choices, Labels label) {
  Field f = field(std::move(name), FieldKind::kEnum, std::move(label));
  f.choices = std::move(choices);
  return f;
}

std::vector<MessageType> builtin_types() {
  std::vector<MessageType> types;

  types.push_back({
      .id = "text",
      .title = {{"en", "Free text"}, {"ru", "Свободный текст"}},
      .fields = {},
      .templates = {{"en", "{text}"}, {"ru", "{text}"}},
  });

  // An ack's reply_to names what it acknowledges, so its body is {}.
  types.push_back({
      .id = "ack",
      .title = {{"en", "Acknowledgment"}, {"ru", "Подтверждение"}},
      .fields = {},
      .templates = {{"en", "Acknowledged."}, {"ru", "Принято."}},
  });

  types.push_back({
      .id = "notify.missile-launch",
      .title = {{"en", "Missile launch notification"}, {"ru", "Уведомление о пуске ракет"}},
      .fields =
          {
              field("launch_time", FieldKind::kTime,
                    {{"en", "Launch time"}, {"ru", "Время пуска"}}),
              enum_field("missile_class",
                         {"ICBM", "SLBM", "IRBM", "MRBM", "SRBM", "cruise", "hypersonic-glide",
                          "space-launch"},
                         {{"en", "Missile class"}, {"ru", "Класс ракеты"}}),
              field("count", FieldKind::kInteger,
                    {{"en", "Number of missiles"}, {"ru", "Количество ракет"}}),
              field("launch_area", FieldKind::kString,
                    {{"en", "Launch area"}, {"ru", "Район пуска"}}),
              field("impact_area", FieldKind::kString,
                    {{"en", "Impact area"}, {"ru", "Район падения"}}),
              field("test", FieldKind::kBoolean,
                    {{"en", "Test launch"}, {"ru", "Испытательный пуск"}}),
          },
      .templates =
          {
              {"en",
               "MISSILE LAUNCH NOTIFICATION: {count} {missile_class} launch(es) at {launch_time} "
               "from {launch_area} toward {impact_area}. Test launch: {test}."},
              {"ru",
               "УВЕДОМЛЕНИЕ О ПУСКЕ РАКЕТ: пуск ракет класса {missile_class} в количестве "
               "{count} в {launch_time} из района {launch_area} в направлении района "
               "{impact_area}. Испытательный пуск: {test}."},
          },
  });

  types.push_back({
      .id = "notify.exercise",
      .title = {{"en", "Exercise notification"}, {"ru", "Уведомление об учениях"}},
      .fields =
          {
              field("name", FieldKind::kString,
                    {{"en", "Exercise name"}, {"ru", "Название учения"}}),
              field("start", FieldKind::kTime, {{"en", "Start"}, {"ru", "Начало"}}),
              field("end", FieldKind::kTime, {{"en", "End"}, {"ru", "Окончание"}}),
              field("area", FieldKind::kString, {{"en", "Area"}, {"ru", "Район"}}),
              field("forces", FieldKind::kString,
                    {{"en", "Forces involved"}, {"ru", "Привлекаемые силы"}},
                    /*required=*/false),
              field("participants", FieldKind::kInteger,
                    {{"en", "Number of participants"}, {"ru", "Численность участников"}},
                    /*required=*/false),
          },
      .templates =
          {
              {"en",
               "EXERCISE NOTIFICATION: exercise \"{name}\" from {start} to {end} in {area}. "
               "Forces involved: {forces}. Participants: {participants}."},
              {"ru",
               "УВЕДОМЛЕНИЕ ОБ УЧЕНИЯХ: учение «{name}» с {start} по {end} в районе {area}. "
               "Привлекаемые силы: {forces}. Численность участников: {participants}."},
          },
  });

  Field description =
      field("description", FieldKind::kString, {{"en", "Description"}, {"ru", "Описание"}});
  description.max_length = 4000;
  types.push_back({
      .id = "notify.incident",
      .title = {{"en", "Incident notification"}, {"ru", "Уведомление об инциденте"}},
      .fields =
          {
              field("time", FieldKind::kTime, {{"en", "Time"}, {"ru", "Время"}}),
              field("area", FieldKind::kString, {{"en", "Area"}, {"ru", "Район"}}),
              enum_field("kind",
                         {"air-intercept", "maritime-encounter", "border-violation", "cyber",
                          "accident", "other"},
                         {{"en", "Kind of incident"}, {"ru", "Вид инцидента"}}),
              description,
              field("casualties", FieldKind::kInteger,
                    {{"en", "Casualties"}, {"ru", "Число пострадавших"}}, /*required=*/false),
          },
      .templates =
          {
              {"en",
               "INCIDENT NOTIFICATION: {kind} incident at {time} in {area}. Description: "
               "{description}. Casualties: {casualties}."},
              {"ru",
               "УВЕДОМЛЕНИЕ ОБ ИНЦИДЕНТЕ: инцидент вида {kind} в {time} в районе {area}. "
               "Описание: {description}. Число пострадавших: {casualties}."},
          },
  });

  types.push_back({
      .id = "request.deconfliction",
      .title = {{"en", "Deconfliction request"}, {"ru", "Запрос о деконфликтинге"}},
      .fields =
          {
              field("area", FieldKind::kString, {{"en", "Area"}, {"ru", "Район"}}),
              field("start", FieldKind::kTime, {{"en", "Start"}, {"ru", "Начало"}}),
              field("end", FieldKind::kTime, {{"en", "End"}, {"ru", "Окончание"}}),
              field("activity", FieldKind::kString,
                    {{"en", "Planned activity"}, {"ru", "Планируемая деятельность"}}),
              field("altitude_band", FieldKind::kString,
                    {{"en", "Altitude band"}, {"ru", "Диапазон высот"}}, /*required=*/false),
              field("respond_by", FieldKind::kTime, {{"en", "Respond by"}, {"ru", "Ответить до"}},
                    /*required=*/false),
          },
      .templates =
          {
              {"en",
               "DECONFLICTION REQUEST: planned activity \"{activity}\" in {area} from {start} to "
               "{end}, altitude band {altitude_band}. Please respond by {respond_by}."},
              {"ru",
               "ЗАПРОС О ДЕКОНФЛИКТИНГЕ: планируемая деятельность «{activity}» в районе {area} "
               "с {start} по {end}, диапазон высот {altitude_band}. Просим ответить до "
               "{respond_by}."},
          },
  });

  return types;
}

// The entry of `m` for `lang`, else for "en", else the first, else "".
std::string localized(const std::map<std::string, std::string>& m, std::string_view lang) {
  if (auto it = m.find(std::string(lang)); it != m.end()) return it->second;
  if (auto it = m.find(std::string(kFallbackLang)); it != m.end()) return it->second;
  return m.empty() ? std::string() : m.begin()->second;
}

// Unicode code points in valid UTF-8 (nlohmann has already rejected invalid UTF-8).
std::size_t utf8_length(std::string_view s) {
  std::size_t n = 0;
  for (const char c : s) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;
  }
  return n;
}

Status field_error(const Field& f, const std::string& what) {
  return Status::invalid_argument("field '" + f.name + "': " + what);
}

Status check_value(const Field& f, const Json& v) {
  switch (f.kind) {
    case FieldKind::kString:
      if (!v.is_string()) return field_error(f, "expected a string");
      if (utf8_length(v.get_ref<const std::string&>()) > f.max_length) {
        return field_error(f, "longer than " + std::to_string(f.max_length) + " characters");
      }
      return Status::ok();
    case FieldKind::kInteger:
      if (!v.is_number_integer()) return field_error(f, "expected an integer");
      return Status::ok();
    case FieldKind::kNumber:
      if (!v.is_number()) return field_error(f, "expected a number");
      return Status::ok();
    case FieldKind::kBoolean:
      if (!v.is_boolean()) return field_error(f, "expected true or false");
      return Status::ok();
    case FieldKind::kTime:
      if (!v.is_string() || !parse_time(v.get_ref<const std::string&>()).is_ok()) {
        return field_error(f, "expected an RFC 3339 UTC time like \"2026-11-24T21:00:00Z\"");
      }
      return Status::ok();
    case FieldKind::kEnum: {
      if (!v.is_string()) return field_error(f, "expected one of the choices (a string)");
      const auto& s = v.get_ref<const std::string&>();
      for (const auto& c : f.choices) {
        if (c == s) return Status::ok();
      }
      std::string choices;
      for (const auto& c : f.choices) choices += (choices.empty() ? "" : ", ") + c;
      return field_error(f, "'" + s + "' is not one of " + choices);
    }
  }
  return field_error(f, "unknown kind");
}

std::string render_bool(bool b, std::string_view lang) {
  if (lang == "ru") return b ? "да" : "нет";
  return b ? "yes" : "no";
}

// Never fails: a value of the wrong kind renders as its JSON text.
std::string render_value(const Field& f, const Json* v, std::string_view lang) {
  if (v == nullptr || v->is_null()) return std::string(kMissing);
  if (v->is_string()) return v->get<std::string>();
  if (f.kind == FieldKind::kBoolean && v->is_boolean()) return render_bool(v->get<bool>(), lang);
  return json::dump(*v);
}

// Expands "{name}" from `values`, "{{" as "{"; an unknown placeholder stays as written.
std::string expand(std::string_view tmpl, const std::map<std::string, std::string>& values) {
  std::string out;
  out.reserve(tmpl.size() * 2);
  for (std::size_t i = 0; i < tmpl.size();) {
    if (tmpl[i] != '{') {
      out += tmpl[i++];
      continue;
    }
    if (i + 1 < tmpl.size() && tmpl[i + 1] == '{') {
      out += '{';
      i += 2;
      continue;
    }
    const std::size_t close = tmpl.find('}', i + 1);
    if (close == std::string_view::npos) {
      out += tmpl.substr(i);
      break;
    }
    const std::string name(tmpl.substr(i + 1, close - i - 1));
    if (auto it = values.find(name); it != values.end()) {
      out += it->second;
    } else {
      out += tmpl.substr(i, close - i + 1);
    }
    i = close + 1;
  }
  return out;
}

std::string with_text(std::string head, std::string_view text) {
  if (text.empty()) return head + ".";
  return head + ": " + std::string(text);
}

Json type_json(const MessageType& type) {
  Json fields = Json::array();
  for (const auto& f : type.fields) {
    Json jf = {
        {"name", f.name},
        {"kind", std::string(field_kind_name(f.kind))},
        {"required", f.required},
        {"label", f.label},
    };
    if (f.kind == FieldKind::kEnum) jf["choices"] = f.choices;
    if (f.kind == FieldKind::kString) jf["max_length"] = f.max_length;
    fields.push_back(std::move(jf));
  }
  return Json{
      {"id", type.id},
      {"title", type.title},
      {"fields", std::move(fields)},
      {"templates", type.templates},
  };
}

}  // namespace

std::string_view field_kind_name(FieldKind kind) {
  switch (kind) {
    case FieldKind::kString:
      return "string";
    case FieldKind::kInteger:
      return "integer";
    case FieldKind::kNumber:
      return "number";
    case FieldKind::kBoolean:
      return "boolean";
    case FieldKind::kTime:
      return "time";
    case FieldKind::kEnum:
      return "enum";
  }
  return "unknown";
}

const Catalog& Catalog::builtin() {
  static const Catalog catalog = [] {
    Catalog c;
    c.types_ = builtin_types();
    return c;
  }();
  return catalog;
}

const MessageType* Catalog::find(std::string_view type) const {
  for (const auto& t : types_) {
    if (t.id == type) return &t;
  }
  return nullptr;
}

std::vector<std::string> Catalog::languages() const {
  std::set<std::string> langs;
  for (const auto& t : types_) {
    for (const auto& [lang, tmpl] : t.templates) langs.insert(lang);
  }
  return {langs.begin(), langs.end()};
}

Status Catalog::validate(std::string_view type, std::string_view body_json) const {
  const MessageType* t = find(type);
  if (t == nullptr) return Status::not_found("unknown message type '" + std::string(type) + "'");
  Result<Json> parsed = json::parse_object(body_json);
  if (!parsed.is_ok()) return parsed.status().with_context("body of " + t->id);
  const Json& body = *parsed;
  for (const auto& [key, value] : body.items()) {
    bool known = false;
    for (const auto& f : t->fields) known = known || f.name == key;
    if (!known) {
      return Status::invalid_argument("unknown field '" + key + "' in the body of " + t->id);
    }
  }
  for (const auto& f : t->fields) {
    const auto it = body.find(f.name);
    if (it == body.end()) {
      if (f.required) return field_error(f, "missing (required by " + t->id + ")");
      continue;
    }
    PARLEY_RETURN_IF_ERROR(check_value(f, *it));
  }
  return Status::ok();
}

std::string Catalog::render(std::string_view type, std::string_view body_json,
                            std::string_view text, std::string_view lang) const {
  const MessageType* t = find(type);
  if (t == nullptr) {
    if (lang == "ru") {
      return with_text("Сообщение неизвестного типа «" + std::string(type) + "»", text);
    }
    return with_text("Message of unknown type '" + std::string(type) + "'", text);
  }
  // The language every part of the rendering uses: `lang` if the type speaks it, else "en".
  const std::string_view used = t->templates.count(std::string(lang)) != 0 ? lang : kFallbackLang;

  Json body = Json::object();
  if (body_json.find_first_not_of(" \t\r\n") != std::string_view::npos) {
    Result<Json> parsed = json::parse_object(body_json);
    if (!parsed.is_ok()) {
      const std::string title = localized(t->title, used);
      if (used == "ru") return with_text(title + " (содержимое не удалось прочитать)", text);
      return with_text(title + " (the body could not be read)", text);
    }
    body = std::move(parsed).value();
  }

  std::map<std::string, std::string> values;
  for (const auto& f : t->fields) {
    const auto it = body.find(f.name);
    values[f.name] = render_value(f, it == body.end() ? nullptr : &*it, used);
  }
  values["text"] = std::string(text);
  return expand(localized(t->templates, used), values);
}

std::string Catalog::type_to_json(const MessageType& type) const {
  return json::dump(type_json(type));
}

std::string Catalog::to_json() const {
  Json types = Json::array();
  for (const auto& t : types_) types.push_back(type_json(t));
  return json::dump(Json{{"types", std::move(types)}});
}

}  // namespace parley::catalog
