// `parley demo`: two parties on loopback, a short scenario, and a check that everything was
// delivered, receipted and acknowledged. Real gateway processes (this same binary), real
// TLS, real stores, in a temporary directory removed afterwards.
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <thread>
#include <utility>
#include <vector>

#include <sys/wait.h>

#include "parley/base/json.h"
#include "parley/cli/api_client.h"
#include "parley/cli/commands.h"
#include "parley/launch/launch.h"

namespace parley::cli {
namespace {

namespace fs = std::filesystem;
using json::Json;
using Clock = std::chrono::steady_clock;

using Side = launch::Party;

// The number at `key` of `j`, or 0.
std::uint64_t number_at(const Json& j, const char* key) {
  if (!j.is_object()) return 0;
  const auto it = j.find(key);
  return it != j.end() && it->is_number_unsigned() ? it->get<std::uint64_t>() : 0;
}

ApiTarget api_of(const Side& side) {
  ApiTarget t;
  t.host = "127.0.0.1";
  t.port = side.api_port;
  t.headers["Authorization"] = "Bearer " + side.token;
  return t;
}

// Runs this binary with `args` to completion; its exit code, stdout+stderr in `output`.
int run_self(const std::vector<std::string>& args, std::string& output) {
  int pipe_fds[2];
  if (::pipe(pipe_fds) != 0) return -1;
  const pid_t pid = ::fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    ::dup2(pipe_fds[1], STDOUT_FILENO);
    ::dup2(pipe_fds[1], STDERR_FILENO);
    ::close(pipe_fds[0]);
    ::close(pipe_fds[1]);
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>("parley"));
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv("/proc/self/exe", argv.data());
    ::_exit(127);
  }
  ::close(pipe_fds[1]);
  char buf[4096];
  ssize_t n = 0;
  while ((n = ::read(pipe_fds[0], buf, sizeof buf)) > 0) output.append(buf, std::size_t(n));
  ::close(pipe_fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// Polls `check` every 50 ms until it holds or `deadline` passes.
template <typename F>
bool wait_for(F check, Clock::time_point deadline) {
  while (Clock::now() < deadline) {
    if (check()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return check();
}

Result<Json> message(const Side& side, const std::string& id) {
  return call_api(api_of(side), "GET", "/api/v1/messages/" + id, "", std::chrono::seconds(5));
}

std::string state_of(const Side& side, const std::string& id) {
  Result<Json> m = message(side, id);
  if (!m.is_ok()) return "?";
  const std::string state = json::string_or(*m, "state");
  return state.empty() ? "?" : state;
}

void print_inbox(const Side& side) {
  Result<Json> box = call_api(api_of(side), "GET", "/api/v1/messages?box=inbox");
  std::cout << "\n== " << side.id << "/" << side.principal << " inbox (rendered in " << side.lang
            << ") ==\n";
  if (!box.is_ok()) {
    std::cout << "  (cannot read: " << box.status().message() << ")\n";
    return;
  }
  const Json messages = box->is_object() && box->contains("messages") ? (*box)["messages"] : Json();
  for (const Json& m : messages.is_array() ? messages : Json::array()) {
    std::cout << "  [" << json::string_or(m, "precedence") << "] " << json::string_or(m, "type")
              << " #" << number_at(m, "seq") << " from " << json::string_or(m, "from") << ", "
              << json::string_or(m, "state") << "\n    " << json::string_or(m, "rendered") << "\n";
  }
}

void print_outbox(const Side& side) {
  Result<Json> box = call_api(api_of(side), "GET", "/api/v1/messages?box=outbox");
  std::cout << "\n== " << side.id << "/" << side.principal << " outbox ==\n";
  if (!box.is_ok()) {
    std::cout << "  (cannot read: " << box.status().message() << ")\n";
    return;
  }
  const Json messages = box->is_object() && box->contains("messages") ? (*box)["messages"] : Json();
  for (const Json& m : messages.is_array() ? messages : Json::array()) {
    std::cout << "  [" << json::string_or(m, "precedence") << "] " << json::string_or(m, "type")
              << " #" << number_at(m, "seq") << " to " << json::string_or(m, "to") << ": "
              << json::string_or(m, "state");
    if (const std::string by = json::string_or(m, "acknowledged_by"); !by.empty()) {
      std::cout << " by " << by;
    }
    std::cout << "\n";
  }
}

// The meeting `id` as `side` shows it, or null if it cannot be read.
Json meeting_of(const Side& side, const std::string& id) {
  Result<Json> m =
      call_api(api_of(side), "GET", "/api/v1/meetings/" + id, "", std::chrono::seconds(5));
  return m.is_ok() ? *m : Json();
}

// Polls until both sides show meeting `id` satisfying `holds`.
template <typename F>
Status until_both(const Side& a, const Side& b, const std::string& id, const std::string& what,
                  F holds, Clock::time_point deadline) {
  for (const Side* side : {&a, &b}) {
    if (!wait_for([&] { return holds(meeting_of(*side, id)); }, deadline)) {
      return Status::unavailable("the meeting did not reach '" + what + "' on " + side->id +
                                 " in time: " + json::dump(meeting_of(*side, id)));
    }
  }
  std::cout << "  both sides see the meeting " << what << "\n";
  return Status::ok();
}

// One meeting step by `side` (POST /api/v1/meetings/{id}/{step}); its answer.
Result<Json> meeting_step(const Side& side, const std::string& id, const std::string& step,
                          const Json& request) {
  std::cout << side.id << "/" << side.principal << ": meeting " << step << "\n";
  return call_api(api_of(side), "POST", "/api/v1/meetings/" + id + "/" + step, json::dump(request));
}

// A meeting from proposal to minutes signed by both sides, every step a signed message on
// the line (so each is in the transcript exported afterwards).
Status meeting_scenario(const Side& us, const Side& ru) {
  const auto deadline = Clock::now() + std::chrono::seconds(30);
  const std::string slot = "2026-12-10T09:00:00Z";
  std::cout << "\n== a meeting ==\n";
  PARLEY_ASSIGN_OR_RETURN(
      Json proposed,
      call_api(api_of(us), "POST", "/api/v1/meetings",
               json::dump(Json{{"line", "hotline"},
                               {"title", "Staff talks: incidents at sea"},
                               {"slots", {slot, "2026-12-11T09:00:00Z"}},
                               {"agenda", {"notification of exercises", "incidents at sea"}}})));
  const std::string id = json::string_or(proposed, "meeting").empty()
                             ? json::string_or(proposed, "id")
                             : json::string_or(proposed, "meeting");
  std::cout << us.id << "/" << us.principal << ": meeting proposed (" << id << ")\n";
  const auto state_is = [](const char* state) {
    return [state](const Json& m) { return json::string_or(m, "state") == state; };
  };
  PARLEY_RETURN_IF_ERROR(until_both(us, ru, id, "proposed", state_is("proposed"), deadline));
  PARLEY_RETURN_IF_ERROR(meeting_step(ru, id, "accept", {{"slot", slot}}).status());
  PARLEY_RETURN_IF_ERROR(until_both(us, ru, id, "scheduled", state_is("scheduled"), deadline));
  const Json minutes = {
      {"held_at", slot},
      {"attendees", {us.id + "/" + us.principal, ru.id + "/" + ru.principal}},
      {"items",
       {{{"agenda_item", "notification of exercises"},
         {"decisions", {"exchange exercise calendars quarterly"}},
         {"actions",
          {{{"id", "a1"},
            {"text", "send the first quarter's exercise calendar"},
            {"owner", ru.id + "/" + ru.principal},
            {"due", "2027-01-15T00:00:00Z"}}}}},
        {{"agenda_item", "incidents at sea"}, {"decisions", {"keep 500 m separation"}}}}}};
  PARLEY_ASSIGN_OR_RETURN(Json drafted, meeting_step(us, id, "minutes", minutes));
  const std::string hash = json::string_or(drafted, "minutes_hash");
  const auto minutes_are = [&](bool final) {
    return [&hash, final](const Json& m) {
      // A side the minutes have not reached yet shows them with a null hash.
      if (!m.is_object() || !m.contains("minutes")) return false;
      const Json& shown = m["minutes"];
      const auto done = shown.is_object() ? shown.find("final") : shown.end();
      return !hash.empty() && json::string_or(shown, "hash") == hash && done != shown.end() &&
             done->is_boolean() && done->get<bool>() == final;
    };
  };
  PARLEY_RETURN_IF_ERROR(until_both(us, ru, id, "held, minutes " + hash.substr(0, 12) + "...",
                                    minutes_are(false), deadline));
  PARLEY_RETURN_IF_ERROR(meeting_step(ru, id, "sign", {{"minutes_hash", hash}}).status());
  PARLEY_RETURN_IF_ERROR(meeting_step(us, id, "sign", {{"minutes_hash", hash}}).status());
  PARLEY_RETURN_IF_ERROR(
      until_both(us, ru, id, "with minutes signed by both (final)", minutes_are(true), deadline));
  return Status::ok();
}

struct Sent {
  const Side* from;
  const Side* to;
  std::string id;
  std::string what;
};

Status scenario(Side& us, Side& ru, bool keep, const fs::path& dir) {
  const auto deadline = Clock::now() + std::chrono::seconds(25);
  for (Side* side : {&us, &ru})
    PARLEY_RETURN_IF_ERROR(launch::wait_ready(*side, deadline).status());
  std::cout << "both gateways ready: " << us.id << " (federation 127.0.0.1:" << us.federation_port
            << ") and " << ru.id << " (federation 127.0.0.1:" << ru.federation_port << ")\n";

  const auto send = [&](Side& from, Side& to, Json request, std::string what) -> Result<Sent> {
    request["line"] = "hotline";
    PARLEY_ASSIGN_OR_RETURN(
        Json answer, call_api(api_of(from), "POST", "/api/v1/messages", json::dump(request)));
    const std::string id = json::string_or(answer, "id");
    std::cout << from.id << "/" << from.principal << " -> " << to.id << "/" << to.principal << ": "
              << what << " (" << id << ")\n";
    return Sent{&from, &to, id, std::move(what)};
  };
  std::vector<Sent> sent;
  {
    PARLEY_ASSIGN_OR_RETURN(Sent s,
                            send(us, ru,
                                 {{"precedence", "ROUTINE"},
                                  {"type", "text"},
                                  {"text", "Routine check of the line. Please acknowledge."}},
                                 "ROUTINE text"));
    sent.push_back(s);
  }
  {
    PARLEY_ASSIGN_OR_RETURN(Sent s, send(us, ru,
                                         {{"precedence", "FLASH"},
                                          {"type", "notify.missile-launch"},
                                          {"body",
                                           {{"launch_time", "2026-11-24T21:00:00Z"},
                                            {"missile_class", "SLBM"},
                                            {"count", 1},
                                            {"launch_area", "Barents Sea, 71.5N 38.2E"},
                                            {"impact_area", "Kura test range"},
                                            {"test", true}}}},
                                         "FLASH notify.missile-launch"));
    sent.push_back(s);
  }
  {
    PARLEY_ASSIGN_OR_RETURN(Sent s, send(ru, us,
                                         {{"precedence", "IMMEDIATE"},
                                          {"type", "notify.exercise"},
                                          {"body",
                                           {{"name", "Zapad-2026"},
                                            {"start", "2026-11-25T06:00:00Z"},
                                            {"end", "2026-11-30T18:00:00Z"},
                                            {"area", "Western Military District"}}}},
                                         "IMMEDIATE notify.exercise"));
    sent.push_back(s);
  }

  // Delivered: the sender's gateway holds the peer's verified receipt.
  for (const Sent& s : sent) {
    if (!wait_for([&] { return state_of(*s.from, s.id) == "delivered"; }, deadline)) {
      return Status::unavailable(s.what + " was not receipted in time (state " +
                                 state_of(*s.from, s.id) + ")");
    }
    Result<Json> m = message(*s.from, s.id);
    if (!m.is_ok() || !m->contains("receipt") || (*m)["receipt"].is_null()) {
      return Status::internal(s.what + " is delivered but has no receipt");
    }
    std::cout << "receipted by " << s.to->id << ": " << s.what << "\n";
  }
  // Acknowledged by a person on the other side.
  for (const Sent& s : sent) {
    PARLEY_ASSIGN_OR_RETURN(Json answer,
                            call_api(api_of(*s.to), "POST", "/api/v1/messages/" + s.id + "/ack"));
    std::cout << s.to->id << "/" << s.to->principal << " acknowledges " << s.what << "\n";
  }
  for (const Sent& s : sent) {
    if (!wait_for([&] { return state_of(*s.from, s.id) == "acknowledged"; }, deadline)) {
      return Status::unavailable("the acknowledgment of " + s.what + " did not come back in time");
    }
  }
  PARLEY_RETURN_IF_ERROR(meeting_scenario(us, ru));
  print_inbox(ru);
  print_outbox(us);
  print_inbox(us);
  print_outbox(ru);
  std::cout << "\nall " << sent.size()
            << " messages delivered, receipted and acknowledged on both sides; the meeting's "
               "minutes signed by both\n";

  // The joint transcript: each side exports it from its own store, and it is checked
  // offline (signatures, inclusion, consistency, countersignatures) as a third party would.
  std::cout << "\n== the joint transcript ==\n";
  for (const auto& [self, other] : {std::pair<Side*, Side*>{&us, &ru}, {&ru, &us}}) {
    const fs::path out = dir / ("transcript-" + self->id);
    std::string output;
    if (run_self({"transcript", "export", "--home", self->home.string(), "--peer", other->id,
                  out.string()},
                 output) != 0) {
      return Status::internal("transcript export by " + self->id + " failed: " + output);
    }
    output.clear();
    const int rc = run_self({"verify", out.string()}, output);
    if (rc != 0) {
      return Status::internal("the transcript exported by " + self->id + " does not verify (exit " +
                              std::to_string(rc) + "): " + output);
    }
    std::cout << "exported by " << self->id << ", verified offline: " << output;
  }
  if (keep) std::cout << "homes kept in " << dir.string() << "\n";
  return Status::ok();
}

int run_demo(bool keep) {
  char tmpl[] = "/tmp/parley-demo-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr)
    return fail(Status::unavailable("cannot make a temporary directory"));
  const fs::path dir = tmpl;
  launch::PairOptions options;
  options.first = {"us-eucom", "saceur", "en", 1, ""};
  options.second = {"ru-genstaff", "cgs", "ru", 1, ""};
  Side us;
  Side ru;
  Status status = [&]() -> Status {
    PARLEY_ASSIGN_OR_RETURN(auto pair, launch::create_pair(dir, options));
    us = std::move(pair.first);
    ru = std::move(pair.second);
    std::cout << "parties " << us.id << " and " << ru.id
              << " initialized; bundles exchanged and pinned; line 'hotline' " << us.principal
              << " <-> " << ru.id << "/" << ru.principal << "\n";
    // The gateways are this very binary.
    launch::SpawnOptions spawn;
    spawn.parley_binary = "/proc/self/exe";
    PARLEY_RETURN_IF_ERROR(launch::spawn(us, spawn));
    PARLEY_RETURN_IF_ERROR(launch::spawn(ru, spawn));
    return scenario(us, ru, keep, dir);
  }();
  launch::stop(us);
  launch::stop(ru);
  if (!status.is_ok()) {
    std::cerr << "parley: demo failed: " << status.message() << " (logs kept in " << dir.string()
              << ")\n";
    return 1;
  }
  if (!keep) {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  return 0;
}

}  // namespace

void add_demo_command(CLI::App& app, int& exit_code) {
  auto keep = std::make_shared<bool>(false);
  CLI::App* cmd = app.add_subcommand(
      "demo",
      "Two gateways (us-eucom, ru-genstaff) on loopback in a temporary directory: a ROUTINE "
      "and a FLASH notification one way (read in Russian on the other side), an IMMEDIATE one "
      "back, acknowledgments both ways, and a meeting from proposal to minutes signed by both. "
      "Exits 0 only if everything was delivered, receipted and acknowledged, the minutes are "
      "final on both sides, and each side's export of the joint transcript verifies offline.");
  cmd->add_flag("--keep", *keep, "keep the temporary homes and logs");
  cmd->callback([keep, &exit_code] { exit_code = run_demo(*keep); });
}

}  // namespace parley::cli
