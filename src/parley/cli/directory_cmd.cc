// The directory's commands beyond `add` (DESIGN.md "Command line"; issues 12 and 16):
// principal list|show|remove|revoke|token, line show|list|remove, roster set|show. They act on
// the home's store directly; those that change it log the change in the store's audit trail
// and ask a running gateway to reload (cli/directory.h). A removal that would leave something
// naming what is gone (a line naming a principal, a message in flight on a line) is refused
// with what is in the way.
#include <algorithm>
#include <chrono>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "parley/base/json.h"
#include "parley/base/text.h"
#include "parley/cli/commands.h"
#include "parley/cli/directory.h"
#include "parley/core/roster.h"
#include "parley/core/zone.h"
#include "parley/gateway/find.h"
#include "parley/gateway/zone_file.h"

namespace parley::cli {
namespace {

using json::Json;

Time now() {
  return std::chrono::floor<std::chrono::milliseconds>(std::chrono::system_clock::now());
}

CLI::Option* home_option(CLI::App* sub, std::string& home) {
  return sub->add_option("--home", home, "The party's home directory (made by parley init)")
      ->required()
      ->type_name("DIR");
}

Json optional_time(const std::optional<Time>& t) {
  return t ? Json(format_time(*t)) : Json(nullptr);
}

Result<core::Principal> find_principal(store::Store& store, const std::string& id) {
  PARLEY_ASSIGN_OR_RETURN(std::vector<core::Principal> all, store.principals());
  for (core::Principal& p : all) {
    if (p.id == id) return std::move(p);
  }
  return Status::not_found(fmt::format("no principal {} on this party", id));
}

// ---- principal list | revoke | token --------------------------------------------------

std::string token_state(const core::Principal& p, Time at) {
  if (p.revoked_at) return "revoked";
  if (p.token_expires && *p.token_expires <= at) return "expired";
  return "active";
}

int run_principal_list(const std::string& dir, bool as_json) {
  Result<OpenedHome> opened = open_home_and_store(dir);
  if (!opened.is_ok()) return fail(opened.status());
  Result<std::vector<core::Principal>> all = opened->store->principals();
  if (!all.is_ok()) return fail(all.status());
  const Time at = now();
  if (as_json) {
    Json out = Json::array();
    for (const core::Principal& p : *all) {
      out.push_back(Json{{"id", p.id},
                         {"name", p.name},
                         {"role", p.role},
                         {"token_expires", optional_time(p.token_expires)},
                         {"revoked_at", optional_time(p.revoked_at)},
                         {"token", token_state(p, at)}});
    }
    std::cout << json::dump(out) << "\n" << std::flush;
    return 0;
  }
  std::cout << fmt::format("{:<20} {:<24} {:<20} {:<8} {}\n", "ID", "NAME", "ROLE", "TOKEN",
                           "EXPIRES");
  for (const core::Principal& p : *all) {
    std::cout << escape_for_terminal(fmt::format(
                     "{:<20} {:<24} {:<20} {:<8} {}", p.id, p.name.empty() ? "-" : p.name,
                     p.role.empty() ? "-" : p.role, token_state(p, at),
                     p.token_expires ? format_time(*p.token_expires) : "never"))
              << "\n";
  }
  std::cout << std::flush;
  return 0;
}

int run_principal_revoke(const std::string& dir, const std::string& id) {
  Result<OpenedHome> opened = open_home_and_store(dir);
  if (!opened.is_ok()) return fail(opened.status());
  Result<core::Principal> p = find_principal(*opened->store, id);
  if (!p.is_ok()) return fail(p.status());
  if (p->revoked_at) {
    std::cout << fmt::format("principal {} was revoked already, at {}\n", id,
                             format_time(*p->revoked_at))
              << std::flush;
    return 0;
  }
  p->revoked_at = now();
  Status status = opened->store->put_principal(*p);
  if (status.is_ok()) status = record_change(*opened->store, "principal.revoke", id);
  if (!status.is_ok()) return fail(status);
  // The gateway reads a token's principal from the store on every request: the token is
  // refused from now on, reloaded or not.
  std::cout << fmt::format("revoked principal {}: its token is refused from now on\n", id)
            << std::flush;
  return tell_gateway(opened->home, std::cout);
}

int run_principal_token(const std::string& dir, const std::string& id,
                        const std::string& expires_text) {
  Result<OpenedHome> opened = open_home_and_store(dir);
  if (!opened.is_ok()) return fail(opened.status());
  Result<core::Principal> p = find_principal(*opened->store, id);
  if (!p.is_ok()) return fail(p.status());
  Result<std::optional<Time>> expires = token_expiry(expires_text);
  if (!expires.is_ok()) return fail(expires.status());
  const std::string token = new_token();
  set_token(*p, token, *expires);
  Status status = opened->store->put_principal(*p);
  if (status.is_ok()) status = record_change(*opened->store, "principal.token", id);
  if (!status.is_ok()) return fail(status);
  std::cout << token << "\n" << std::flush;
  return tell_gateway(opened->home, std::cerr);
}

// The lines `id` is on: as the local principal or an alternate.
std::vector<std::string> lines_of(const std::vector<core::Line>& lines, const std::string& id) {
  std::vector<std::string> out;
  for (const core::Line& l : lines) {
    if (l.local == id ||
        std::find(l.alternates.begin(), l.alternates.end(), id) != l.alternates.end()) {
      out.push_back(l.id);
    }
  }
  return out;
}

// The roles whose duty roster names `id`.
std::vector<std::string> roster_roles_of(const std::vector<core::Shift>& roster,
                                         const std::string& id) {
  std::vector<std::string> out;
  for (const core::Shift& s : roster) {
    if (s.principal == id && std::find(out.begin(), out.end(), s.role) == out.end()) {
      out.push_back(s.role);
    }
  }
  return out;
}

std::string joined(const std::vector<std::string>& items) {
  if (items.empty()) return "-";
  std::string out;
  for (const std::string& i : items) out += (out.empty() ? "" : ", ") + i;
  return out;
}

int run_principal_show(const std::string& dir, const std::string& id, bool as_json) {
  Result<OpenedHome> opened = open_home_and_store(dir);
  if (!opened.is_ok()) return fail(opened.status());
  Result<core::Principal> p = find_principal(*opened->store, id);
  if (!p.is_ok()) return fail(p.status());
  Result<std::vector<core::Line>> lines = opened->store->lines();
  if (!lines.is_ok()) return fail(lines.status());
  Result<std::vector<core::Shift>> roster = opened->store->roster();
  if (!roster.is_ok()) return fail(roster.status());
  const std::vector<std::string> on_lines = lines_of(*lines, id);
  const std::vector<std::string> roles = roster_roles_of(*roster, id);
  const std::string state = token_state(*p, now());
  if (as_json) {
    std::cout << json::dump(Json{{"id", p->id},
                                 {"name", p->name},
                                 {"role", p->role},
                                 {"token_expires", optional_time(p->token_expires)},
                                 {"revoked_at", optional_time(p->revoked_at)},
                                 {"token", state},
                                 {"lines", on_lines},
                                 {"roster", roles}})
              << "\n"
              << std::flush;
    return 0;
  }
  // Each value escaped on its own: the line breaks are ours.
  const auto e = [](std::string_view v) { return escape_for_terminal(v); };
  std::cout << fmt::format(
                   "principal {}\n  name:    {}\n  role:    {}\n  token:   {} (expires {})\n"
                   "  revoked: {}\n  lines:   {}\n  roster:  {}\n",
                   e(p->id), e(p->name.empty() ? "-" : p->name), e(p->role.empty() ? "-" : p->role),
                   state, p->token_expires ? format_time(*p->token_expires) : "never",
                   p->revoked_at ? format_time(*p->revoked_at) : "no", e(joined(on_lines)),
                   e(joined(roles)))
            << std::flush;
  return 0;
}

// Removes principal `id` unless a line or the duty roster names it.
Result<gateway::Home> principal_remove(const std::string& dir, const std::string& id) {
  PARLEY_ASSIGN_OR_RETURN(OpenedHome opened, open_home_and_store(dir));
  PARLEY_RETURN_IF_ERROR(find_principal(*opened.store, id).status());
  PARLEY_ASSIGN_OR_RETURN(const std::vector<core::Line> lines, opened.store->lines());
  const std::vector<std::string> on_lines = lines_of(lines, id);
  if (!on_lines.empty()) {
    return Status::failed_precondition(
        fmt::format("principal {} is still on the line(s) {}: remove those lines first "
                    "(parley line remove)",
                    id, joined(on_lines)));
  }
  PARLEY_ASSIGN_OR_RETURN(const std::vector<core::Shift> roster, opened.store->roster());
  const std::vector<std::string> roles = roster_roles_of(roster, id);
  if (!roles.empty()) {
    return Status::failed_precondition(fmt::format(
        "principal {} is on the duty roster of {}: clear those shifts first", id, joined(roles)));
  }
  PARLEY_RETURN_IF_ERROR(opened.store->remove_principal(id));
  PARLEY_RETURN_IF_ERROR(record_change(*opened.store, "principal.remove", id));
  return std::move(opened.home);
}

// ---- line show | list | remove -----------------------------------------------------------

constexpr wire::Precedence kPrecedences[] = {wire::Precedence::kFlash, wire::Precedence::kImmediate,
                                             wire::Precedence::kPriority,
                                             wire::Precedence::kRoutine};

Json line_json(const core::Line& line) {
  const core::Deadlines defaults;
  Json deadlines = Json::object();
  Json overrides = Json::object();
  for (const wire::Precedence p : kPrecedences) {
    const std::string name(wire::precedence_name(p));
    deadlines[name] = format_duration(line.deadlines.for_precedence(p));
    if (line.deadlines.for_precedence(p) != defaults.for_precedence(p)) {
      overrides[name] = format_duration(line.deadlines.for_precedence(p));
    }
  }
  return Json{{"id", line.id},
              {"local", line.local},
              {"alternates", line.alternates},
              {"remote", line.remote.to_string()},
              {"remote_party", line.remote.party},
              {"remote_principal", line.remote.principal},
              {"remote_alternates", line.remote_alternates},
              {"observers", line.observers},
              {"deadlines", deadlines},
              {"deadline_overrides", overrides}};
}

void print_line(const core::Line& line) {
  const core::Deadlines defaults;
  std::string deadlines, overrides;
  for (const wire::Precedence p : kPrecedences) {
    const std::string d = format_duration(line.deadlines.for_precedence(p));
    deadlines += fmt::format("{}{} {}", deadlines.empty() ? "" : ", ", wire::precedence_name(p), d);
    if (line.deadlines.for_precedence(p) != defaults.for_precedence(p)) {
      overrides +=
          fmt::format("{}{}={}", overrides.empty() ? "" : ", ", wire::precedence_name(p), d);
    }
  }
  // Each value escaped on its own: the line breaks are ours (escaping the whole text printed
  // them as \x0a).
  const auto e = [](std::string_view v) { return escape_for_terminal(v); };
  std::cout << fmt::format(
      "line {}\n  local:             {}\n  alternates:        {}\n"
      "  remote:            {}\n  remote alternates: {}\n  observers:         {}\n"
      "  deadlines:         {}\n  overrides:         {}\n",
      e(line.id), e(line.local), e(joined(line.alternates)), e(line.remote.to_string()),
      e(joined(line.remote_alternates)), e(joined(line.observers)), deadlines,
      overrides.empty() ? "none (the defaults)" : overrides);
}

int run_line_view(const std::string& dir, const std::string& id, bool as_json) {
  Result<OpenedHome> opened = open_home_and_store(dir);
  if (!opened.is_ok()) return fail(opened.status());
  Result<std::vector<core::Line>> lines = opened->store->lines();
  if (!lines.is_ok()) return fail(lines.status());
  if (!id.empty()) {
    const auto it =
        std::find_if(lines->begin(), lines->end(), [&](const core::Line& l) { return l.id == id; });
    if (it == lines->end()) return fail(Status::not_found(fmt::format("no line {}", id)));
    *lines = {*it};
  }
  if (as_json) {
    Json out = Json::array();
    for (const core::Line& l : *lines) out.push_back(line_json(l));
    std::cout << json::dump(id.empty() ? out : out.front()) << "\n" << std::flush;
    return 0;
  }
  for (const core::Line& l : *lines) print_line(l);
  std::cout << std::flush;
  return 0;
}

// A message on a line is in flight until the peer receipted it (it is no longer queued or
// sent) and, if it asks for one, it is acknowledged (gateway::awaits_ack), either way.
bool in_flight(const core::MessageRecord& m) {
  return m.state == core::MessageState::kQueued || m.state == core::MessageState::kSent ||
         gateway::awaits_ack(m);
}

// The first message in flight on `line`, if any. Walks the messages of each state that can
// be in flight a page at a time (bounded: at most kPages pages of kPage).
Result<std::optional<core::MessageRecord>> first_in_flight(store::Store& store,
                                                           const std::string& line) {
  constexpr std::size_t kPage = 500;
  constexpr int kPages = 10'000;
  for (const core::MessageState state :
       {core::MessageState::kQueued, core::MessageState::kSent, core::MessageState::kOverdue,
        core::MessageState::kDelivered}) {
    store::MessageQuery q;
    q.lines = {line};
    q.include_acks = true;
    q.state = state;
    q.limit = kPage;
    for (int page = 0; page < kPages; ++page) {
      PARLEY_ASSIGN_OR_RETURN(const std::vector<core::MessageRecord> found, store.list_messages(q));
      for (const core::MessageRecord& m : found) {
        if (in_flight(m)) return std::optional<core::MessageRecord>(m);
      }
      if (found.size() < kPage) break;
      q.after = store::message_key(found.back());
    }
  }
  return std::optional<core::MessageRecord>();
}

// Removes line `id` unless a message on it is in flight.
Result<gateway::Home> line_remove(const std::string& dir, const std::string& id) {
  PARLEY_ASSIGN_OR_RETURN(OpenedHome opened, open_home_and_store(dir));
  PARLEY_ASSIGN_OR_RETURN(const std::vector<core::Line> lines, opened.store->lines());
  if (std::none_of(lines.begin(), lines.end(), [&](const core::Line& l) { return l.id == id; })) {
    return Status::not_found(fmt::format("no line {}", id));
  }
  PARLEY_ASSIGN_OR_RETURN(const std::optional<core::MessageRecord> busy,
                          first_in_flight(*opened.store, id));
  if (busy) {
    return Status::failed_precondition(fmt::format(
        "line {} has messages in flight (such as {}, {} {}, {}): it can be removed once every "
        "message on it is receipted and acknowledged (parley outbox, parley inbox)",
        id, busy->id, wire::precedence_name(busy->precedence),
        busy->direction == core::Direction::kOutbound ? "to the peer" : "from the peer",
        busy->state == core::MessageState::kQueued || busy->state == core::MessageState::kSent
            ? std::string(core::state_name(busy->state)) + ", not yet receipted"
            : "awaiting its acknowledgment"));
  }
  PARLEY_RETURN_IF_ERROR(opened.store->remove_line(id));
  PARLEY_RETURN_IF_ERROR(record_change(*opened.store, "line.remove", id));
  return std::move(opened.home);
}

// ---- roster set | show -------------------------------------------------------------------

struct RosterArgs {
  std::string home;
  std::string role;
  std::string principal;
  std::string from;
  std::string to;
  std::string at;
  bool json = false;
};

Result<core::ZoneRules> zone_of(const gateway::Home& home) {
  return gateway::load_zone(home.config, (home.dir / "parley.toml").string());
}

Result<gateway::Home> roster_set(const RosterArgs& args) {
  PARLEY_ASSIGN_OR_RETURN(OpenedHome opened, open_home_and_store(args.home));
  PARLEY_ASSIGN_OR_RETURN(const core::ZoneRules zone, zone_of(opened.home));
  core::Shift shift{args.role, args.principal, {}, {}};
  Result<Time> from = core::parse_zone_time(args.from, zone);
  if (!from.is_ok()) return from.status().with_context("--from");
  Result<Time> to = core::parse_zone_time(args.to, zone);
  if (!to.is_ok()) return to.status().with_context("--to");
  shift.from = *from;
  shift.to = *to;
  PARLEY_ASSIGN_OR_RETURN(std::vector<core::Shift> roster, opened.store->roster());
  PARLEY_ASSIGN_OR_RETURN(const std::vector<core::Principal> principals,
                          opened.store->principals());
  roster.push_back(shift);
  PARLEY_RETURN_IF_ERROR(core::check_roster(roster, principals));
  PARLEY_RETURN_IF_ERROR(opened.store->put_roster(args.role, core::shifts_of(roster, args.role)));
  PARLEY_RETURN_IF_ERROR(
      record_change(*opened.store, "roster.set",
                    fmt::format("{}: {} {}..{}", args.role, args.principal, format_time(shift.from),
                                format_time(shift.to))));
  std::cout << fmt::format("{} is on duty for {} from {} to {}\n", args.principal, args.role,
                           core::format_zone_time(zone, shift.from),
                           core::format_zone_time(zone, shift.to))
            << std::flush;
  return std::move(opened.home);
}

int run_roster_show(const RosterArgs& args) {
  Result<OpenedHome> opened = open_home_and_store(args.home);
  if (!opened.is_ok()) return fail(opened.status());
  Result<core::ZoneRules> zone = zone_of(opened->home);
  if (!zone.is_ok()) return fail(zone.status());
  Time at = now();
  if (!args.at.empty()) {
    Result<Time> parsed = core::parse_zone_time(args.at, *zone);
    if (!parsed.is_ok()) return fail(parsed.status().with_context("--at"));
    at = *parsed;
  }
  Result<std::vector<core::Shift>> roster = opened->store->roster();
  if (!roster.is_ok()) return fail(roster.status());
  const std::vector<core::Shift> shifts = core::shifts_of(*roster, args.role);
  const std::optional<core::Shift> duty = core::on_duty(shifts, args.role, at);
  if (args.json) {
    Json list = Json::array();
    for (const core::Shift& s : shifts) {
      list.push_back(Json{{"principal", s.principal},
                          {"from", core::format_zone_time(*zone, s.from)},
                          {"to", core::format_zone_time(*zone, s.to)}});
    }
    std::cout << json::dump(Json{{"role", args.role},
                                 {"timezone", zone->name},
                                 {"at", core::format_zone_time(*zone, at)},
                                 {"on_duty", duty ? Json(duty->principal) : Json(nullptr)},
                                 {"shifts", list}})
              << "\n"
              << std::flush;
    return 0;
  }
  std::cout << fmt::format("role {} ({}): on duty at {}: {}\n", args.role, zone->name,
                           core::format_zone_time(*zone, at), duty ? duty->principal : "nobody");
  for (const core::Shift& s : shifts) {
    std::cout << fmt::format("  {} .. {}  {}\n", core::format_zone_time(*zone, s.from),
                             core::format_zone_time(*zone, s.to), s.principal);
  }
  std::cout << std::flush;
  return 0;
}

}  // namespace

void add_principal_commands(CLI::App* principal, int& exit_code) {
  int* code = &exit_code;
  {
    auto home = std::make_shared<std::string>();
    auto as_json = std::make_shared<bool>(false);
    CLI::App* sub = principal->add_subcommand(
        "list",
        "List the principals: id, name, role, token state (active, expired, revoked) "
        "and expiry");
    home_option(sub, *home);
    sub->add_flag("--json", *as_json, "One JSON array");
    sub->callback([=] { *code = run_principal_list(*home, *as_json); });
  }
  {
    auto home = std::make_shared<std::string>();
    auto id = std::make_shared<std::string>();
    CLI::App* sub = principal->add_subcommand(
        "revoke",
        "Revoke a principal's token: refused from now on, by a running gateway too (401). "
        "parley principal token issues a new one");
    home_option(sub, *home);
    sub->add_option("ID", *id, "The principal")->required();
    sub->callback([=] { *code = run_principal_revoke(*home, *id); });
  }
  {
    auto home = std::make_shared<std::string>();
    auto id = std::make_shared<std::string>();
    auto expires = std::make_shared<std::string>(kTokenLifetime);
    CLI::App* sub = principal->add_subcommand(
        "token",
        "Issue a new API token for a principal and print it on stdout (shown once); the old "
        "token stops working at once, and a revoked principal is usable again");
    home_option(sub, *home);
    sub->add_option("ID", *id, "The principal")->required();
    sub->add_option("--expires", *expires,
                    "How long the new token is valid, e.g. 90d, 12h, or 'never' (default 90d)")
        ->type_name("DURATION");
    sub->add_flag("--rotate")
        ->description("Accepted for DESIGN.md's form (rotating is what this command does)");
    sub->callback([=] { *code = run_principal_token(*home, *id, *expires); });
  }
  {
    auto home = std::make_shared<std::string>();
    auto id = std::make_shared<std::string>();
    auto as_json = std::make_shared<bool>(false);
    CLI::App* sub = principal->add_subcommand(
        "show",
        "Show a principal: name, role, token state and expiry, revocation, the lines it is on "
        "and the roles whose duty roster names it");
    home_option(sub, *home);
    sub->add_option("ID", *id, "The principal")->required();
    sub->add_flag("--json", *as_json, "One JSON object");
    sub->callback([=] { *code = run_principal_show(*home, *id, *as_json); });
  }
  {
    auto home = std::make_shared<std::string>();
    auto id = std::make_shared<std::string>();
    CLI::App* sub = principal->add_subcommand(
        "remove",
        "Remove a principal: its token is refused at once, by a running gateway too (401). "
        "Refused while a line names it (local or alternate) or the duty roster does. Its "
        "messages stay in the store. Logged");
    home_option(sub, *home);
    sub->add_option("ID", *id, "The principal")->required();
    sub->callback([=] {
      const Result<gateway::Home> removed = principal_remove(*home, *id);
      if (!removed.is_ok()) {
        *code = fail(removed.status());
        return;
      }
      std::cout << fmt::format("removed principal {}: its token is refused from now on\n", *id)
                << std::flush;
      *code = tell_gateway(*removed, std::cout);
    });
  }
}

void add_line_view_commands(CLI::App* line, int& exit_code) {
  int* code = &exit_code;
  {
    auto home = std::make_shared<std::string>();
    auto id = std::make_shared<std::string>();
    CLI::App* sub = line->add_subcommand(
        "remove",
        "Remove a line. Refused while a message on it is in flight (not yet receipted by the "
        "peer, or awaiting its acknowledgment on either side): it names one. Its messages and "
        "transcript stay in the store. Logged; a running gateway reloads its lines at once");
    home_option(sub, *home);
    sub->add_option("ID", *id, "The line")->required();
    sub->callback([=] {
      const Result<gateway::Home> removed = line_remove(*home, *id);
      if (!removed.is_ok()) {
        *code = fail(removed.status());
        return;
      }
      std::cout << fmt::format("removed line {}\n", *id) << std::flush;
      *code = tell_gateway(*removed, std::cout);
    });
  }
  {
    auto home = std::make_shared<std::string>();
    auto id = std::make_shared<std::string>();
    auto as_json = std::make_shared<bool>(false);
    CLI::App* sub = line->add_subcommand(
        "show",
        "Show a line: local principal and alternates, the remote party's principal and "
        "alternates, observers, acknowledgment deadlines and the overrides of the defaults");
    home_option(sub, *home);
    sub->add_option("ID", *id, "The line")->required();
    sub->add_flag("--json", *as_json, "One JSON object");
    sub->callback([=] { *code = run_line_view(*home, *id, *as_json); });
  }
  {
    auto home = std::make_shared<std::string>();
    auto as_json = std::make_shared<bool>(false);
    CLI::App* sub = line->add_subcommand("list", "Show every line, as parley line show does");
    home_option(sub, *home);
    sub->add_flag("--json", *as_json, "One JSON array");
    sub->callback([=] { *code = run_line_view(*home, "", *as_json); });
  }
}

void add_roster_command(CLI::App& app, int& exit_code) {
  int* code = &exit_code;
  CLI::App* roster = app.add_subcommand(
      "roster",
      "The duty roster: who is on duty for a role, from when to when (in the party's "
      "time zone, parley.toml party.timezone)");
  roster->require_subcommand(1);
  {
    auto args = std::make_shared<RosterArgs>();
    CLI::App* sub = roster->add_subcommand(
        "set",
        "Put a principal on duty for a role during [FROM, TO): a shift. Consecutive shifts "
        "hand over (at TO the next one's principal is on duty); overlapping shifts, TO <= FROM "
        "and unknown principals are refused with the reason. A running gateway reloads it.");
    home_option(sub, args->home);
    sub->add_option("ROLE", args->role, "The role, e.g. duty-officer")->required();
    sub->add_option("--principal", args->principal, "Who is on duty")
        ->required()
        ->type_name("PRINCIPAL");
    sub->add_option("--from", args->from,
                    "Start, YYYY-MM-DDTHH:MM on the party's clocks (or with Z or +HH:MM)")
        ->required()
        ->type_name("TIME");
    sub->add_option("--to", args->to, "End (excluded), in the same forms")
        ->required()
        ->type_name("TIME");
    sub->callback([args, code] {
      const Result<gateway::Home> home = roster_set(*args);
      *code = home.is_ok() ? tell_gateway(*home, std::cout) : fail(home.status());
    });
  }
  {
    auto args = std::make_shared<RosterArgs>();
    CLI::App* sub = roster->add_subcommand(
        "show", "Show a role's shifts on the party's clocks and who is on duty (now, or --at)");
    home_option(sub, args->home);
    sub->add_option("ROLE", args->role, "The role")->required();
    sub->add_option("--at", args->at, "The time to ask about (default: now)")->type_name("TIME");
    sub->add_flag("--json", args->json,
                  "One JSON object: role, timezone, at, on_duty, shifts (principal, from, to)");
    sub->callback([args, code] { *code = run_roster_show(*args); });
  }
}

}  // namespace parley::cli
