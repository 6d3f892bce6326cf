// catalog: the message types principals exchange, their schemas, and their renderings.
//
// DESIGN.md fact 3: words are ambiguous across languages, so notifications are structured
// data with schemas, rendered by each side in its own language from the same fields. The
// types are data: one file per type and version (types/<type>.v<N>.json), holding a JSON
// Schema (draft 7) for the body, a title, field labels and a template per language, value
// words per language, cross-field rules and a valid example. CMake embeds the directory in
// the binary (embedded.h), so a gateway never reads a catalog file at run time, and a
// build-time check refuses a broken file set. Adding a type or a language is adding data.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "parley/base/status.h"
#include "parley/catalog/schema.h"

namespace parley::catalog {

// A JSON value of the catalog (nlohmann::json, declared only: including nlohmann/json.hpp
// here would pull <iomanip> into every user of the catalog). Shared and never changed.
using JsonValue = std::shared_ptr<const nlohmann::json>;

// The protocol's own types: an acknowledgment (the core acts on it), and a translation of a
// message's free text by a translator (core/translation.h).
inline constexpr std::string_view kAckType = "ack";
inline constexpr std::string_view kTranslationType = "translation";

// One file of a catalog: its name ("notify.exercise.v1.json") and its bytes.
struct SourceFile {
  std::string name;
  std::string_view text;
};

// A field of a type's body: its dotted path from the body's root ("launch_window.end"; an
// array's items share the array's path) and its subschema.
struct Field {
  std::string path;
  bool required = false;  // by its parent object (the body, or an enclosing object field)
  JsonValue schema;
};

// A cross-field rule beside the schema (JSON Schema cannot compare two values): the time
// at `field` must be later than the time at `after`, when both are present.
struct Rule {
  std::string field;
  std::string after;
};

using PerLanguage = std::map<std::string, std::string>;  // lang -> text

struct MessageType {
  std::string id;  // "text", "ack", "notify.missile-launch", ...
  int version = 1;
  PerLanguage title;
  JsonValue schema;  // the JSON Schema of the body, as written in the file
  std::vector<Field> fields;
  std::map<std::string, PerLanguage> labels;  // lang -> field path -> label
  // lang -> field path -> value -> word ("decline" -> "отклонено"); a value without a
  // word renders as written.
  std::map<std::string, std::map<std::string, PerLanguage>> values;
  // lang -> template: "{path}" is the field's rendered value, "{text}" the free text, "{{"
  // a literal brace; "[[...]]" is dropped when a field it names is absent.
  PerLanguage templates;
  std::vector<Rule> rules;
  JsonValue example;  // a valid body
  // Whether a message of this type asks the addressee for an acknowledgment (its deadline
  // is watched and escalated; the file's "needs_ack", true unless it says false). False for
  // an ack itself and for a translation (a reader's aid: a deadline on it would escalate
  // for nothing while the original's own deadline runs).
  bool needs_ack = true;
  CompiledSchema compiled;
};

// Type -> version: what two gateways compare (docs/protocol.md "Heartbeats and paths").
using Versions = std::map<std::string, int, std::less<>>;

// How a peer's catalog differs from ours, by type name (sorted); all empty if it does not.
struct Difference {
  std::vector<std::string> only_here;      // types the peer does not know
  std::vector<std::string> only_there;     // types we do not know (shown raw if it sends one)
  std::vector<std::string> other_version;  // "notify.exercise: 1 here, 2 there"
  bool same() const { return only_here.empty() && only_there.empty() && other_version.empty(); }
  bool operator==(const Difference&) const = default;
};
Difference compare(const Versions& ours, const Versions& theirs);

// A peer's versions from its JSON object {"type": version, ...}: at most kVersionsMax
// types, each named as a catalog type is (1-64 of a-z 0-9 . -), each version 1 to 2^31-1.
inline constexpr std::size_t kVersionsMax = 4096;
Result<Versions> parse_versions(const nlohmann::json& object);
nlohmann::json versions_json(const Versions& versions);

class Catalog {
 public:
  // The built-in catalog: the files of src/parley/catalog/types, embedded at build time.
  // The build refuses a broken file set, so a failure here is a parley bug (a CHECK).
  static const Catalog& builtin();

  // Reads and checks a file set: each file parses, is named <type>.v<version>.json, has a
  // draft-07 schema (checked against the draft-07 meta-schema, then compiled by valijson)
  // of an object body, a title, a label for every field and a template in each language,
  // templates, words and rules that name only fields, and an example the type accepts.
  // kInvalidArgument naming the file and what is wrong.
  static Result<Catalog> load(const std::vector<SourceFile>& files);

  const MessageType* find(std::string_view type) const;
  // Whether a message of `type` asks for an acknowledgment (MessageType::needs_ack). A type
  // this catalog does not know does: a message from a newer peer is never left unwatched.
  bool needs_ack(std::string_view type) const;
  const std::vector<MessageType>& types() const { return types_; }
  std::vector<std::string> languages() const;

  // Each type's version, as a gateway tells its peer (the heartbeat's answer).
  Versions versions() const;

  // Checks `body_json` (a JSON object as text) against `type`'s schema and rules.
  // kInvalidArgument with one pointed error naming the field by its path from the body
  // ("body.launch_window.end: must be after start", "body.count: must be at most 1000");
  // kNotFound for an unknown type.
  Status validate(std::string_view type, std::string_view body_json) const;

  // Why a stored message is shown raw, or nothing if it renders from its type: its type is
  // not in this catalog, or its body does not match this catalog's version of the type (the
  // sender's catalog is another version; the receiver stores such a message, never drops it).
  std::optional<std::string> shown_raw_because(std::string_view type,
                                               std::string_view body_json) const;

  // The message in `lang` (falling back to "en"), from the type's template. Never fails:
  // an unknown type renders raw (the body as received) after a plain description, an
  // unparsable body as a description, a body of another version from the template as far
  // as its fields go (shown_raw_because says why it may mislead).
  std::string render(std::string_view type, std::string_view body_json, std::string_view text,
                     std::string_view lang) const;

  // The catalog as a JSON array, one object per type: type, version, title, schema,
  // example, labels, values, templates, rules (`parley catalog --json`, GET
  // /api/v1/catalog).
  std::string to_json() const;
  std::string type_to_json(const MessageType& type) const;

 private:
  std::vector<MessageType> types_;
};

}  // namespace parley::catalog
