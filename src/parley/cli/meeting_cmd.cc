// `parley meeting propose|counter|accept|decline|reschedule|cancel|minutes|sign|action|list|
// show` (DESIGN.md "Command line"; issue 13): the meeting framework through the gateway's
// /api/v1/meetings routes. The gateway checks each step against the meeting's state before it
// sends anything, so a refused step is one line on stderr, exit 1, and nothing sent.
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "parley/base/json.h"
#include "parley/cli/api_client.h"
#include "parley/cli/commands.h"
#include "parley/cli/connection.h"

namespace parley::cli {
namespace {

constexpr const char* kMeetingIdHelp =
    "the meeting's id, or any unique prefix of it of at least 8 hex digits (an ambiguous one is "
    "refused with the candidates, exit 2)";

using json::Json;

// An ambiguous id prefix is a usage error (exit 2), as for message ids; the gateway's other
// refusals of a meeting step exit 1.
int fail_answer(const Status& status) {
  return status.message().find("is ambiguous") != std::string::npos ? fail_usage(status)
                                                                    : fail(status);
}

// A meeting id or action item as one path segment of the API.
Status check_segment(const std::string& what, const std::string& value) {
  if (value.empty() || value.find_first_of("/?#% ") != std::string::npos) {
    return Status::invalid_argument("bad " + what + " '" + value + "'");
  }
  return Status::ok();
}

Result<Json> call(const Connection& c, const std::string& method, const std::string& path,
                  const Json& body = Json()) {
  PARLEY_ASSIGN_OR_RETURN(ApiTarget target, resolve_api(c.home, c.as, c.api, c.token, c.api_pin));
  return call_api(target, method, path, body.is_null() ? "" : json::dump(body));
}

Json slots_json(const std::vector<std::string>& slots) {
  Json out = Json::array();
  for (const std::string& s : slots) out.push_back(s);
  return out;
}

void print_meeting(const Json& m) {
  std::cout << field(m, "id") << "  " << field(m, "state") << "  \"" << field(m, "title")
            << "\"  line " << field(m, "line") << "  proposed by " << field(m, "proposer") << "\n";
  if (m.value("slot", Json()).is_string()) std::cout << "  slot: " << field(m, "slot") << "\n";
  const Json offered = m.value("offered", Json::object());
  if (!offered.value("slots", Json::array()).empty()) {
    std::cout << "  offered by " << field(offered, "by") << ": " << field(offered, "slots") << "\n";
  }
  for (const Json& item : m.value("agenda", Json::array())) {
    std::cout << "  agenda: " << field(Json{{"v", item}}, "v") << "\n";
  }
  const Json minutes = m.value("minutes", Json::object());
  if (minutes.value("hash", Json()).is_string()) {
    std::cout << "  minutes " << field(minutes, "hash") << ", signed by "
              << field(minutes, "signed_by") << (minutes.value("final", false) ? " (final)" : "")
              << "\n";
  }
  for (const Json& a : m.value("actions", Json::array())) {
    std::cout << "  action " << field(a, "id") << ": " << field(a, "text") << "; owner "
              << field(a, "owner") << ", due " << field(a, "due") << ", " << field(a, "status")
              << "\n";
  }
  for (const Json& r : m.value("refused", Json::array())) {
    std::cout << "  refused " << field(r, "type") << " by " << field(r, "by") << ": "
              << field(r, "reason") << "\n";
  }
}

int run_read(const Connection& c, const std::string& id, bool as_json) {
  if (!id.empty()) {
    if (Status s = check_segment("meeting id", id); !s.is_ok()) return fail_usage(s);
  }
  Result<Json> answer = call(c, "GET", "/api/v1/meetings" + (id.empty() ? "" : "/" + id));
  if (!answer.is_ok()) return fail_answer(answer.status());
  const Json shown = id.empty() ? answer->value("meetings", Json::array()) : *answer;
  if (as_json) {
    std::cout << shown.dump(2, ' ', false, Json::error_handler_t::replace) << "\n";
    return 0;
  }
  if (id.empty() && shown.empty()) std::cout << "no meetings\n";
  for (const Json& m : id.empty() ? shown : Json::array({shown})) print_meeting(m);
  return 0;
}

// POSTs one step; prints `print` of the answer ("id" or "minutes_hash").
int run_step(const Connection& c, const std::string& path, const Json& body, const char* print) {
  Result<Json> answer = call(c, "POST", path, body);
  if (!answer.is_ok()) return fail_answer(answer.status());
  std::cout << field(*answer, print) << "\n";
  return 0;
}

struct StepArgs {
  Connection c;
  std::string id;
  std::vector<std::string> slots;
  std::string reason;
  std::string note;
};

// accept without --slot takes the offer's only slot.
Result<std::string> only_slot(const Connection& c, const std::string& id) {
  PARLEY_ASSIGN_OR_RETURN(Json m, call(c, "GET", "/api/v1/meetings/" + id));
  const Json slots = m.value("offered", Json::object()).value("slots", Json::array());
  if (slots.size() != 1 || !slots[0].is_string()) {
    return Status::invalid_argument("meeting " + id + " offers " + std::to_string(slots.size()) +
                                    " slots: choose one with --slot");
  }
  return slots[0].get<std::string>();
}

int run_verb(const StepArgs& a, const std::string& verb) {
  if (Status s = check_segment("meeting id", a.id); !s.is_ok()) return fail_usage(s);
  Json body = Json::object();
  if (verb == "counter" || verb == "reschedule") {
    if (a.slots.empty()) return fail_usage(Status::invalid_argument(verb + " needs --slot TIME"));
    body["slots"] = slots_json(a.slots);
  } else if (verb == "accept") {
    if (a.slots.size() > 1) {
      return fail_usage(Status::invalid_argument("accept takes one --slot"));
    }
    std::string slot = a.slots.empty() ? "" : a.slots[0];
    if (slot.empty()) {
      Result<std::string> only = only_slot(a.c, a.id);
      if (!only.is_ok()) return fail(only.status());
      slot = *only;
    }
    body["slot"] = slot;
  } else if (!a.slots.empty()) {
    return fail_usage(Status::invalid_argument(verb + " takes no --slot"));
  }
  if (!a.reason.empty()) body["reason"] = a.reason;
  if (!a.note.empty()) body["note"] = a.note;
  return run_step(a.c, "/api/v1/meetings/" + a.id + "/" + verb, body, "id");
}

int run_minutes(const Connection& c, const std::string& id, const std::string& file) {
  if (Status s = check_segment("meeting id", id); !s.is_ok()) return fail_usage(s);
  std::ifstream in(file, std::ios::binary);
  if (!in) return fail(Status::not_found("cannot read " + file));
  std::ostringstream text;
  text << in.rdbuf();
  Result<Json> minutes = json::parse_object(text.str());
  if (!minutes.is_ok()) return fail(minutes.status().with_context(file));
  return run_step(c, "/api/v1/meetings/" + id + "/minutes", *minutes, "minutes_hash");
}

int run_sign(const Connection& c, const std::string& id, const std::string& hash) {
  if (Status s = check_segment("meeting id", id); !s.is_ok()) return fail_usage(s);
  Json body = Json::object();
  if (!hash.empty()) body["minutes_hash"] = hash;
  return run_step(c, "/api/v1/meetings/" + id + "/sign", body, "minutes_hash");
}

int run_action(const Connection& c, const std::string& id, const std::string& item, bool done,
               const std::string& note) {
  if (!done) return fail_usage(Status::invalid_argument("say what happened to the item: --done"));
  if (Status s = check_segment("meeting id", id); !s.is_ok()) return fail_usage(s);
  if (Status s = check_segment("action item", item); !s.is_ok()) return fail_usage(s);
  Json body = Json::object();
  if (!note.empty()) body["note"] = note;
  return run_step(c, "/api/v1/meetings/" + id + "/actions/" + item + "/done", body, "id");
}

struct ProposeArgs {
  Connection c;
  std::string line;
  std::string title;
  std::vector<std::string> slots;
  std::vector<std::string> agenda;
  std::vector<std::string> participants;
  std::string series;
  int series_count = 0;
  std::string precedence = "ROUTINE";
};

int run_propose(const ProposeArgs& a) {
  Json body = {{"line", a.line},
               {"precedence", a.precedence},
               {"title", a.title},
               {"slots", slots_json(a.slots)}};
  if (!a.agenda.empty()) body["agenda"] = a.agenda;
  if (!a.participants.empty()) body["participants"] = a.participants;
  if (!a.series.empty()) {
    body["series"] = {{"recurrence", a.series}};
    if (a.series_count > 0) body["series"]["count"] = a.series_count;
  }
  return run_step(a.c, "/api/v1/meetings", body, "id");
}

void add_propose(CLI::App* meeting, int& exit_code) {
  auto a = std::make_shared<ProposeArgs>();
  CLI::App* cmd = meeting->add_subcommand(
      "propose", "Propose a meeting on a line: title, candidate slots, agenda; prints its id");
  add_connection_options(cmd, a->c);
  cmd->add_option("--line", a->line, "the line to propose it on")->required();
  cmd->add_option("--title", a->title, "the meeting's title")->required();
  cmd->add_option("--slot", a->slots, "a candidate start time, UTC (2026-03-03T09:00:00Z)")
      ->required();
  cmd->add_option("--agenda", a->agenda, "an agenda item (repeat, in order)");
  cmd->add_option("--participant", a->participants, "who attends, e.g. us-eucom/saceur");
  cmd->add_option("--series", a->series, "a recurring series: weekly, monthly, quarterly, yearly");
  cmd->add_option("--series-count", a->series_count, "how many meetings the series has");
  cmd->add_option("--precedence", a->precedence, "FLASH, IMMEDIATE, PRIORITY or ROUTINE")
      ->capture_default_str();
  cmd->callback([a, &exit_code] { exit_code = run_propose(*a); });
}

void add_verbs(CLI::App* meeting, int& exit_code) {
  const std::vector<std::pair<std::string, std::string>> verbs = {
      {"counter", "Answer the offer with other slots (--slot, repeatable)"},
      {"accept", "Accept one offered slot (--slot; optional when only one is offered)"},
      {"decline", "Decline the offer (the meeting ends)"},
      {"reschedule", "Offer new slots for a scheduled meeting (--slot, repeatable)"},
      {"cancel", "Cancel a meeting that has not been held"}};
  for (const auto& [verb, help] : verbs) {
    auto a = std::make_shared<StepArgs>();
    CLI::App* cmd = meeting->add_subcommand(verb, help + "; prints the message's id");
    add_connection_options(cmd, a->c);
    cmd->add_option("ID", a->id, kMeetingIdHelp)->required();
    cmd->add_option("--slot", a->slots, "a start time, UTC (2026-03-03T09:00:00Z)");
    if (verb == "decline" || verb == "cancel") {
      a->reason = "no reason given";
      cmd->add_option("--reason", a->reason, "why")->capture_default_str();
    } else if (verb != "accept") {
      cmd->add_option("--reason", a->reason, "why");
    } else {
      cmd->add_option("--note", a->note, "a note to the other side");
    }
    cmd->callback([a, verb = verb, &exit_code] { exit_code = run_verb(*a, verb); });
  }
}

void add_record_commands(CLI::App* meeting, int& exit_code) {
  {
    auto c = std::make_shared<Connection>();
    auto id = std::make_shared<std::string>();
    auto file = std::make_shared<std::string>();
    CLI::App* cmd = meeting->add_subcommand(
        "minutes",
        "Record the minutes of a scheduled meeting from a JSON file (see `parley catalog "
        "meeting.minutes`); prints the minutes hash, which both sides sign");
    add_connection_options(cmd, *c);
    cmd->add_option("ID", *id, kMeetingIdHelp)->required();
    cmd->add_option("--file", *file, "the minutes, a JSON object")->required();
    cmd->callback([=, &exit_code] { exit_code = run_minutes(*c, *id, *file); });
  }
  {
    auto c = std::make_shared<Connection>();
    auto id = std::make_shared<std::string>();
    auto hash = std::make_shared<std::string>();
    CLI::App* cmd = meeting->add_subcommand(
        "sign",
        "Sign the meeting's current minutes (final once both parties signed the same hash); "
        "prints the hash signed");
    add_connection_options(cmd, *c);
    cmd->add_option("ID", *id, kMeetingIdHelp)->required();
    cmd->add_option("--hash", *hash, "sign only if these are the current minutes");
    cmd->callback([=, &exit_code] { exit_code = run_sign(*c, *id, *hash); });
  }
  {
    auto c = std::make_shared<Connection>();
    auto id = std::make_shared<std::string>();
    auto item = std::make_shared<std::string>();
    auto done = std::make_shared<bool>(false);
    auto note = std::make_shared<std::string>();
    CLI::App* cmd = meeting->add_subcommand(
        "action", "Mark an action item of the minutes done; prints the message's id");
    add_connection_options(cmd, *c);
    cmd->add_option("ID", *id, kMeetingIdHelp)->required();
    cmd->add_option("ITEM", *item, "the action item's id in the minutes")->required();
    cmd->add_flag("--done", *done, "the item is done");
    cmd->add_option("--note", *note, "a note to the other side");
    cmd->callback([=, &exit_code] { exit_code = run_action(*c, *id, *item, *done, *note); });
  }
}

void add_reads(CLI::App* meeting, int& exit_code) {
  for (const std::string read : {"list", "show"}) {
    auto c = std::make_shared<Connection>();
    auto id = std::make_shared<std::string>();
    auto as_json = std::make_shared<bool>(false);
    CLI::App* cmd = meeting->add_subcommand(
        read, read == "list"
                  ? "The meetings on the principal's lines, replayed from both sides' messages"
                  : "One meeting: state, slot, agenda, minutes and who signed them, action items "
                    "(reminder before due, overdue after), refused steps");
    add_connection_options(cmd, *c);
    if (read == "show") cmd->add_option("ID", *id, kMeetingIdHelp)->required();
    cmd->add_flag("--json", *as_json, read == "list" ? "print one JSON array" : "print JSON");
    cmd->callback([=, &exit_code] { exit_code = run_read(*c, *id, *as_json); });
  }
}

}  // namespace

void add_meeting_command(CLI::App& app, int& exit_code) {
  CLI::App* meeting = app.add_subcommand(
      "meeting",
      "The structured meeting framework: proposals, slots, minutes signed by both sides, action "
      "items; every step a signed message on the line");
  meeting->require_subcommand(1);
  add_propose(meeting, exit_code);
  add_verbs(meeting, exit_code);
  add_record_commands(meeting, exit_code);
  add_reads(meeting, exit_code);
}

}  // namespace parley::cli
