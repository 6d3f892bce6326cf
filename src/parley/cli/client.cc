// send, inbox, outbox, show, ack, cancel, status: the principal's commands, through the
// gateway's API.
#include <cstdint>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "parley/base/json.h"
#include "parley/base/rng.h"
#include "parley/base/text.h"
#include "parley/base/time.h"
#include "parley/cli/api_client.h"
#include "parley/cli/commands.h"
#include "parley/cli/connection.h"
#include "parley/gateway/requests.h"
#include "parley/wire/wire.h"

namespace parley::cli {

using json::Json;

void add_connection_options(CLI::App* cmd, Connection& c, bool as_required_with_home) {
  cmd->add_option("--home", c.home,
                  "the gateway's home directory (uses the operator's local token)");
  cmd->add_option("--as", c.as,
                  as_required_with_home ? "the principal to act as (with --home)"
                                        : "the principal to act as (optional)");
  cmd->add_option("--api", c.api,
                  "the gateway API's URL, e.g. http://127.0.0.1:7080 or https://gw.example:7443 "
                  "(with --token)");
  cmd->add_option("--token", c.token, "a principal's API token (with --api)");
  cmd->add_option("--api-pin", c.api_pin,
                  "with an https --api URL: the SHA-256 fingerprint of the API's certificate "
                  "(parley init printed it); a server with another certificate is refused at the "
                  "handshake. Without it, the system's trusted CAs decide")
      ->type_name("SHA256");
}

std::string field(const Json& j, const char* key) {
  const auto it = j.find(key);
  if (it == j.end() || it->is_null()) return "-";
  if (it->is_string()) return escape_for_terminal(it->get<std::string>());
  return escape_for_terminal(json::dump(*it));
}

namespace {

// One line's automatic test (docs/openapi.yaml LineTest): the last one sent, its answer or
// how late it is, and the next one due.
void print_line_test(const Json& t) {
  if (!t.is_object()) return;
  std::cout << "  line test on " << field(t, "line") << ": ";
  if (t.value("sequence", 0) == 0) {
    std::cout << "none sent yet";
  } else {
    std::cout << "#" << field(t, "sequence") << " sent " << field(t, "sent");
    if (t.value("answered", Json()).is_string()) {
      std::cout << ", answered " << field(t, "answered");
    } else if (t.value("overdue", false)) {
      std::cout << ", ALERT: NOT ANSWERED, due " << field(t, "answer_due");
    } else if (t.value("refused", false)) {
      std::cout << ", ALERT: REFUSED by the peer (outbox --type test says why)";
    } else {
      std::cout << ", awaiting the peer's answer (due " << field(t, "answer_due") << ")";
    }
  }
  if (t.value("next_due", Json()).is_string()) {
    std::cout << "; next " << field(t, "next_due");
  } else {
    std::cout << "; automatic tests are off";
  }
  if (t.value("skipped", 0) > 0) {
    std::cout << " (" << field(t, "skipped") << " not started while one was unanswered)";
  }
  std::cout << "\n";
}

// The status of a principal without the watch role (GET /api/v1/status, "scope": "lines").
void print_line_status(const Json& s) {
  const Json lines = s.value("lines", Json::array());
  if (lines.empty()) std::cout << "on no line\n";
  for (const Json& l : lines) {
    std::cout << "line " << field(l, "id") << " to " << field(l, "remote") << ": peer "
              << (l.value("peer_reachable", false) ? "reachable" : "unreachable") << "\n";
    print_line_test(l.value("test", Json()));
  }
}

// "catalog: same as ours", or how it differs (docs/protocol.md "Heartbeats and paths").
void print_peer_catalog(const Json& c) {
  if (!c.is_object()) return;
  if (!c.value("known", false)) {
    std::cout << "  WARNING: the peer's catalog is unknown: " << field(c, "error") << "\n";
    return;
  }
  if (c.value("same", false)) {
    std::cout << "  catalog: same as ours\n";
    return;
  }
  const auto list = [&](const char* key) {
    std::string out;
    for (const Json& t : c.value(key, Json::array())) {
      out += (out.empty() ? "" : ", ") + (t.is_string() ? t.get<std::string>() : t.dump());
    }
    return out.empty() ? std::string("none") : out;
  };
  std::cout << "  WARNING: the peer's catalog differs from ours (such messages are shown raw): "
            << "only here " << list("only_here") << "; only there " << list("only_there")
            << "; other versions " << list("other_version") << "\n";
}

// "in 4m" or "overdue by 1m30s": `deadline` against the gateway's clock when it answered.
std::string time_left(const Json& status, const Json& e) {
  const Result<Time> now = parse_time(json::string_or(status, "time"));
  const Result<Time> deadline = parse_time(json::string_or(e, "deadline"));
  if (!now.is_ok() || !deadline.is_ok()) return "deadline " + field(e, "deadline");
  if (*deadline > *now) return "due in " + format_duration(*deadline - *now);
  return "OVERDUE by " + format_duration(*now - *deadline);
}

// Each message awaiting an acknowledgment (docs/openapi.yaml Escalation): the time left or
// how long overdue, who was alerted and when, and the next alert and whom it alerts.
void print_escalations(const Json& s) {
  const Json escalations = s.value("escalations", Json::array());
  if (escalations.empty()) return;
  std::cout << "awaiting acknowledgment:\n";
  for (const Json& e : escalations) {
    const bool sender = json::string_or(e, "side") == "sender";
    std::cout << "  " << field(e, "precedence") << " " << field(e, "message_id") << " line "
              << field(e, "line") << (sender ? " (sent, awaits " : " (received from ")
              << field(e, "peer") << (sender ? "'s ack)" : ", awaits ours)") << ": "
              << time_left(s, e) << "\n";
    for (const Json& a : e.value("alerted", Json::array())) {
      std::cout << "    alerted " << field(a, "principal") << " at " << field(a, "at");
      if (a.value("alerts", 1) > 1) {
        std::cout << " (" << field(a, "alerts") << " times, last " << field(a, "last") << ")";
      }
      std::cout << "\n";
    }
    if (e.value("next_alert", Json()).is_string()) {
      std::cout << "    next alert " << field(e, "next_alert");
      std::string next;
      for (const Json& p : e.value("next", Json::array())) {
        if (p.is_string()) next += (next.empty() ? "" : ", ") + p.get<std::string>();
      }
      if (!next.empty()) std::cout << ": " << next;
      std::cout << "\n";
    }
  }
}

// The labels `parley inbox|outbox|show` print around a message, in the party's language
// where the catalog's templates are written in it (en, ru; init refuses any other): the
// rendered message is in that language already, so its frame is too. The values (states,
// types, addresses, times) are the API's, as written.
struct Labels {
  const char* inbox_empty;
  const char* outbox_empty;
  const char* line;
  const char* from;
  const char* to;
  const char* type;
  const char* ack_deadline;
  const char* due_in;
  const char* overdue_by;
  const char* translation;  // "translation (LANG) by ADDR: TEXT"
  const char* by;
  const char* acknowledged_by;
  const char* cancelled_by;
  const char* never_sent;
  const char* at;
  const char* refused;
  const char* warning;
  const char* gap;
  const char* reply_to;
};

constexpr Labels kEnglish = {"inbox is empty",
                             "outbox is empty",
                             "line",
                             "from",
                             "to",
                             "type",
                             "ack deadline",
                             "due in",
                             "OVERDUE by",
                             "translation",
                             "by",
                             "acknowledged by",
                             "cancelled by",
                             "never sent",
                             "at",
                             "refused by the peer",
                             "WARNING",
                             "earlier message(s) on this line have not arrived yet",
                             "reply to"};
constexpr Labels kRussian = {"входящих нет",
                             "исходящих нет",
                             "линия",
                             "от",
                             "кому",
                             "тип",
                             "срок подтверждения",
                             "осталось",
                             "ПРОСРОЧЕНО на",
                             "перевод",
                             "автор",
                             "подтвердил",
                             "отменил",
                             "не отправлено",
                             "в",
                             "отклонено другой стороной",
                             "ВНИМАНИЕ",
                             "более ранних сообщений этой линии ещё не получено",
                             "ответ на"};

const Labels& labels_for(const std::string& lang) { return lang == "ru" ? kRussian : kEnglish; }

// "due in 4m", "OVERDUE by 1m30s" or "" (it awaits no ack): a message's time_left_ms.
std::string due(const Json& m, const Labels& l = kEnglish) {
  const auto it = m.find("time_left_ms");
  if (it == m.end() || !it->is_number_integer()) return "";
  const std::int64_t left = it->get<std::int64_t>();
  if (left > 0) return std::string(l.due_in) + " " + format_duration(Duration(left));
  return std::string(l.overdue_by) + " " + format_duration(Duration(-left));
}

// What follows a message's first lines in inbox, outbox and show: its translations, who
// acknowledged or cancelled it, the peer's refusal, a warning, a gap before it.
void print_message_notes(const Json& m, const Labels& l) {
  // Beside the original, marked as a translation and by whom (core/translation.h).
  for (const Json& t : m.value("translations", Json::array())) {
    std::cout << "  " << l.translation << " (" << field(t, "language") << ") " << l.by << " "
              << field(t, "from") << ": " << field(t, "text") << "\n";
  }
  if (m.value("acknowledged_by", Json()).is_string()) {
    std::cout << "  " << l.acknowledged_by << " " << field(m, "acknowledged_by") << " " << l.at
              << " " << field(m, "acknowledged_at") << "\n";
  }
  if (m.value("cancelled_by", Json()).is_string()) {
    std::cout << "  " << l.cancelled_by << " " << field(m, "cancelled_by") << " " << l.at << " "
              << field(m, "cancelled_at") << ": " << l.never_sent << "\n";
  }
  if (m.value("refusal", Json()).is_string()) {
    std::cout << "  " << l.refused << ": " << field(m, "refusal") << "\n";
  }
  if (m.value("warning", Json()).is_string()) {
    std::cout << "  " << l.warning << ": " << field(m, "warning") << "\n";
  }
  if (m.value("gap_before", 0) > 0) {
    std::cout << "  " << field(m, "gap_before") << " " << l.gap << "\n";
  }
}

void print_messages(const Json& messages, bool inbox, const Labels& l) {
  if (messages.empty()) {
    std::cout << (inbox ? l.inbox_empty : l.outbox_empty) << "\n";
    return;
  }
  for (const Json& m : messages) {
    const std::string left = due(m, l);
    std::cout << field(m, "precedence") << "  " << field(m, "state") << "  " << field(m, "created")
              << "  " << l.line << " " << field(m, "line") << " #" << field(m, "seq") << "\n  id "
              << field(m, "id") << "\n  " << (inbox ? l.from : l.to) << " "
              << field(m, inbox ? "from" : "to") << "  " << l.type << " " << field(m, "type")
              << "  " << l.ack_deadline << " " << field(m, "ack_deadline")
              << (left.empty() ? "" : " (" + left + ")") << "\n  " << field(m, "rendered") << "\n";
    print_message_notes(m, l);
    std::cout << "\n";
  }
}

int run_send(const Connection& c, const std::vector<std::string>& lines,
             const std::string& precedence, const std::string& type, const std::string& body,
             const std::string& text, const std::string& reply_to, const std::string& expires) {
  // Two lines or more: a broadcast (POST /api/v1/broadcasts), one message per line.
  const bool broadcast = lines.size() > 1;
  if (broadcast && !reply_to.empty()) {
    return fail_usage(Status::invalid_argument(
        "--reply-to answers one message on one line: give one --line, not " +
        std::to_string(lines.size())));
  }
  Json request = {{"precedence", precedence}, {"type", type}, {"text", text}};
  if (broadcast) {
    request["lines"] = lines;
  } else {
    request["line"] = lines.front();
  }
  if (!body.empty()) {
    Result<Json> parsed = json::parse_object(body);
    if (!parsed.is_ok()) return fail(parsed.status().with_context("--body"));
    request["body"] = *parsed;
  }
  if (!reply_to.empty()) request["reply_to"] = reply_to;
  if (!expires.empty()) request["expires"] = expires;
  Result<ApiTarget> target = resolve_api(c.home, c.as, c.api, c.token, c.api_pin);
  if (!target.is_ok()) return fail(target.status());
  Result<Json> answer = call_api(
      *target, "POST", broadcast ? "/api/v1/broadcasts" : "/api/v1/messages", json::dump(request));
  // A value the gateway refuses (400: an empty message, a reply_to it does not know, a body
  // the type's schema refuses) is a usage error, exit 2.
  if (!answer.is_ok()) return fail_request(answer.status());
  std::cout << field(*answer, "id") << "\n";
  // A broadcast: its id first, then each message's id and line.
  for (const Json& m : answer->value("messages", Json::array())) {
    std::cout << field(m, "id") << " " << field(m, "line") << "\n";
  }
  return 0;
}

// `parley broadcast show`: GET /api/v1/broadcasts/{id}, the aggregated status of a broadcast
// and each line's state.
int run_broadcast_show(const Connection& c, const std::string& id, bool as_json) {
  if (!is_uuid(id)) {
    return fail_usage(Status::invalid_argument("'" + id + "' is not a broadcast id (a uuid)"));
  }
  Result<ApiTarget> target = resolve_api(c.home, c.as, c.api, c.token, c.api_pin);
  if (!target.is_ok()) return fail(target.status());
  Result<Json> answer = call_api(*target, "GET", "/api/v1/broadcasts/" + id);
  if (!answer.is_ok()) return fail_request(answer.status());
  if (as_json) {
    std::cout << answer->dump(2) << "\n";
    return 0;
  }
  const Json& b = *answer;
  std::cout << "broadcast " << field(b, "id") << " from " << field(b, "from") << ", "
            << field(b, "precedence") << " " << field(b, "type") << ", created "
            << field(b, "created") << "\n"
            << "delivered to " << field(b, "delivered") << " of " << field(b, "lines_total")
            << ", acknowledged by " << field(b, "acknowledged") << "\n";
  for (const Json& m : b.value("messages", Json::array())) {
    std::cout << "  " << field(m, "line") << "  " << field(m, "to") << "  " << field(m, "state")
              << "  " << field(m, "id") << "\n";
  }
  return 0;
}

// The filters of `parley inbox|outbox`, as the API's query parameters (requests.h
// MessageListRequest), by name; an empty value is left out.
using BoxFilters = std::map<std::string, std::string>;

int run_box(const Connection& c, const std::string& box, const BoxFilters& filters, bool as_json) {
  std::map<std::string, std::string> query = {{"box", box}};
  for (const auto& [name, value] : filters) {
    if (!value.empty()) query[name] = value;
  }
  // Checked here as the gateway checks it: a bad value is a usage error (exit 2).
  if (Result<gateway::MessageListRequest> ok = gateway::parse_message_list(query); !ok.is_ok()) {
    return fail_usage(ok.status());
  }
  Result<ApiTarget> target = resolve_api(c.home, c.as, c.api, c.token, c.api_pin);
  if (!target.is_ok()) return fail(target.status());
  Result<Json> answer = call_api(*target, "GET", gateway::join_target("/api/v1/messages", query));
  if (!answer.is_ok()) return fail_request(answer.status());
  const Json messages = answer->value("messages", Json::array());
  const Json next = answer->value("next_cursor", Json());
  if (as_json) {
    std::cout << messages.dump(2, ' ', false, Json::error_handler_t::replace) << "\n";
    // stdout stays one JSON array: where the next page starts goes to stderr.
    if (next.is_string()) std::cerr << "parley: more: --cursor " << next.get<std::string>() << "\n";
  } else {
    print_messages(messages, box == "inbox", labels_for(target->lang));
    if (next.is_string()) std::cout << "more: --cursor " << next.get<std::string>() << "\n";
  }
  return 0;
}

// A message id for a path: refused here (exit 2) if it could not be one or a prefix of one.
Result<std::string> id_argument(const std::string& id) {
  if (id.empty() || id.find_first_of("/?#% ") != std::string::npos) {
    return Status::invalid_argument("bad message id '" + id + "'");
  }
  return id;
}

void print_timeline(const Json& m) {
  std::cout << "timeline:\n";
  for (const Json& s : m.value("timeline", Json::array())) {
    std::cout << "  " << (s.value("at", Json()).is_string() ? field(s, "at") : std::string(24, ' '))
              << "  " << field(s, "event") << ": " << field(s, "detail") << "\n";
  }
}

void print_evidence(const Json& m) {
  std::cout << "evidence:\n";
  const Json receipt = m.value("receipt", Json());
  std::cout << "  receipt: "
            << (receipt.is_null() ? std::string("none")
                                  : "kept (" + std::to_string(json::dump(receipt).size()) +
                                        " bytes; --json shows it)")
            << "\n  ack: " << field(m, "ack_id") << "\n";
  const Json proof = m.value("proof", Json());
  if (proof.is_object()) {
    std::cout << "  transcript: leaf " << field(proof, "index") << " of the head of size "
              << field(proof, "size") << ", root " << field(proof, "root") << "\n";
  } else {
    std::cout << "  transcript: no inclusion proof yet\n";
  }
}

int run_show(const Connection& c, const std::string& id, bool as_json) {
  Result<std::string> checked = id_argument(id);
  if (!checked.is_ok()) return fail_usage(checked.status());
  Result<ApiTarget> target = resolve_api(c.home, c.as, c.api, c.token, c.api_pin);
  if (!target.is_ok()) return fail(target.status());
  Result<Json> answer = call_api(*target, "GET", "/api/v1/messages/" + *checked);
  if (!answer.is_ok()) return fail_request(answer.status());
  const Json& m = *answer;
  if (as_json) {
    std::cout << m.dump(2, ' ', false, Json::error_handler_t::replace) << "\n";
    return 0;
  }
  const Labels& l = labels_for(target->lang);
  const std::string left = due(m, l);
  std::cout << field(m, "precedence") << "  " << field(m, "state") << "  " << field(m, "type")
            << "  " << l.line << " " << field(m, "line") << " #" << field(m, "seq") << " ("
            << field(m, "direction") << ")\n  id " << field(m, "id") << "\n  " << l.from << " "
            << field(m, "from") << " " << l.to << " " << field(m, "to") << "\n  " << l.ack_deadline
            << " " << field(m, "ack_deadline") << (left.empty() ? "" : " (" + left + ")") << "\n";
  if (m.value("reply_to", Json()).is_string())
    std::cout << "  " << l.reply_to << " " << field(m, "reply_to") << "\n";
  std::cout << "  " << field(m, "rendered") << "\n";
  print_message_notes(m, l);
  print_timeline(m);
  print_evidence(m);
  return 0;
}

int run_ack(const Connection& c, const std::string& id) {
  Result<std::string> checked = id_argument(id);
  if (!checked.is_ok()) return fail_usage(checked.status());
  Result<ApiTarget> target = resolve_api(c.home, c.as, c.api, c.token, c.api_pin);
  if (!target.is_ok()) return fail(target.status());
  Result<Json> answer = call_api(*target, "POST", "/api/v1/messages/" + *checked + "/ack");
  if (!answer.is_ok()) return fail_request(answer.status());
  std::cout << "acknowledged " << field(*answer, "id") << " (ack " << field(*answer, "ack_id")
            << ")\n";
  return 0;
}

int run_cancel(const Connection& c, const std::string& id) {
  Result<std::string> checked = id_argument(id);
  if (!checked.is_ok()) return fail_usage(checked.status());
  Result<ApiTarget> target = resolve_api(c.home, c.as, c.api, c.token, c.api_pin);
  if (!target.is_ok()) return fail(target.status());
  Result<Json> answer = call_api(*target, "POST", "/api/v1/messages/" + *checked + "/cancel");
  if (!answer.is_ok()) return fail_request(answer.status());
  std::cout << "cancelled " << field(*answer, "id") << " (line " << field(*answer, "line") << " #"
            << field(*answer, "seq") << "): it will never be sent\n";
  return 0;
}

int run_disclose(const Connection& c, const std::string& id, const std::string& to) {
  Result<std::string> checked = id_argument(id);
  if (!checked.is_ok()) return fail_usage(checked.status());
  if (!wire::is_valid_id(to)) {
    return fail_usage(Status::invalid_argument("--to: '" + to + "' is not a party id"));
  }
  Result<ApiTarget> target = resolve_api(c.home, c.as, c.api, c.token, c.api_pin);
  if (!target.is_ok()) return fail(target.status());
  Result<Json> answer = call_api(*target, "POST", "/api/v1/messages/" + *checked + "/disclose",
                                 json::dump(Json{{"to", to}}));
  if (!answer.is_ok()) return fail_request(answer.status());
  std::cout << "disclosed " << field(*answer, "id") << " to " << escape_for_terminal(to)
            << ": it checked the message at index " << field(*answer, "index") << " of "
            << field(*answer, "origin") << " (size " << field(*answer, "size") << ")\n";
  return 0;
}

// The messages disclosed to this gateway as an observer (the operator's view).
int run_disclosed(const Connection& c, bool as_json) {
  Result<ApiTarget> t = resolve_api(c.home, "operator", "", "", c.api_pin);
  if (!t.is_ok()) return fail(t.status());
  t->headers.erase("X-Parley-As");
  Result<Json> answer = call_api(*t, "GET", "/api/v1/disclosed");
  if (!answer.is_ok()) return fail(answer.status());
  const Json list = answer->value("disclosed", Json::array());
  if (as_json) {
    std::cout << list.dump(2, ' ', false, Json::error_handler_t::replace) << "\n";
    return 0;
  }
  if (list.empty()) std::cout << "no message was disclosed to this gateway\n";
  for (const Json& d : list) {
    std::cout << field(d, "id") << " " << field(d, "created") << " " << field(d, "from") << " -> "
              << field(d, "to") << " " << field(d, "precedence") << " " << field(d, "type")
              << " (line " << field(d, "line") << " #" << field(d, "seq") << ")\n  disclosed by "
              << field(d, "discloser") << " " << field(d, "disclosed") << ", checked at index "
              << field(d, "index") << " of " << field(d, "origin") << " (size " << field(d, "size")
              << ")\n  body " << field(d, "body") << "\n  text " << field(d, "text") << "\n";
  }
  return 0;
}

// This gateway as a witness (the logs it cosigned, every split view with both signed heads)
// and the cosignatures its observers gave its logs.
void print_witness_status(const Json& w) {
  for (const Json& split : w.value("split_views", Json::array())) {
    // Each a signed note (ends in a newline) or a forwarded receipt (JSON, does not).
    const auto statement = [&](const char* key) {
      std::string text = split.value(key, "");
      if (text.empty() || text.back() != '\n') text += '\n';
      return text;
    };
    std::cout << "ALERT: SPLIT VIEW of " << field(split, "origin") << " (" << field(split, "kind")
              << "), seen " << field(split, "seen") << "\n  the head it held:\n"
              << statement("witnessed") << "  the head that contradicts it:\n"
              << statement("offered");
  }
  for (const Json& f : w.value("forwarded", Json::array())) {
    std::cout << "forwarded by " << field(f, "forwarder") << ": " << field(f, "origin")
              << " at size " << field(f, "size") << "\n";
  }
  for (const Json& v : w.value("witnessed", Json::array())) {
    std::cout << "witnessing " << field(v, "origin") << ": cosigned size " << field(v, "size")
              << "\n";
  }
  for (const Json& c : w.value("cosignatures", Json::array())) {
    std::cout << "cosigned by " << field(c, "witness") << ": " << field(c, "origin") << " at size "
              << field(c, "size") << "\n";
  }
}

int run_status(const Connection& c, bool as_json) {
  ApiTarget target;
  if (!c.home.empty() && c.as.empty()) {
    // The operator's view: no principal needed.
    Result<ApiTarget> t = resolve_api(c.home, "operator", "", "", c.api_pin);
    if (!t.is_ok()) return fail(t.status());
    target = *t;
    target.headers.erase("X-Parley-As");
  } else {
    Result<ApiTarget> t = resolve_api(c.home, c.as, c.api, c.token, c.api_pin);
    if (!t.is_ok()) return fail(t.status());
    target = *t;
  }
  Result<Json> answer = call_api(target, "GET", "/api/v1/status");
  if (!answer.is_ok()) return fail(answer.status());
  if (as_json) {
    std::cout << answer->dump(2, ' ', false, Json::error_handler_t::replace) << "\n";
    return 0;
  }
  const Json& s = *answer;
  std::cout << "party " << field(s, "party")
            << (s.value("ready", false) ? " (ready)" : " (not ready)") << "\n";
  if (json::string_or(s, "scope") == "lines") {
    print_line_status(s);
    print_escalations(s);
    return 0;
  }
  std::cout << "queued " << field(s, "queued") << ", unacknowledged " << field(s, "unacknowledged")
            << ", overdue " << field(s, "overdue") << ", refused " << field(s, "refused")
            << ", missing inbound " << field(s, "missing") << "; backlog limit "
            << field(s, "backlog_limit") << "\n";
  // The receiving side: the peers' messages our principals have not acknowledged yet.
  std::cout << "inbound unacknowledged " << field(s, "inbound_unacknowledged") << ", overdue "
            << field(s, "inbound_overdue") << "\n";
  print_witness_status(s.value("witness", Json::object()));
  for (const Json& p : s.value("peers", Json::array())) {
    std::cout << "peer " << field(p, "party") << ": queued " << field(p, "queued") << " (oldest "
              << field(p, "oldest_queued") << "), unacknowledged " << field(p, "unacknowledged")
              << ", overdue " << field(p, "overdue") << ", refused frames "
              << field(p, "frames_refused") << "\n";
    if (p.value("refused_backlog", 0) > 0) {
      std::cout << "  backlog: " << field(p, "refused_backlog")
                << " ROUTINE submissions refused (503) since start: the queue reached the "
                   "backlog limit\n";
    }
    const bool forked = p.value("forked", false);
    if (forked) {
      std::cout << "  ALARM: FORKED: our log and the peer's cannot be reconciled; nothing is "
                   "delivered either way until they are: "
                << field(p, "fork_reason") << "\n";
    }
    if (const Json recovering = p.value("recovering", Json()); recovering.is_string()) {
      // Not an alarm by itself, and no healthy path either: nothing new is sent meanwhile.
      std::cout << "  RECOVERING: " << recovering.get<std::string>() << "\n";
    }
    const Json refusals = p.value("refusals", Json::object());
    if (refusals.value("alert", false)) {
      std::cout << "  ALERT: the peer refused our transaction " << field(refusals, "streak")
                << " times in a row: " << field(refusals, "last") << "\n";
    }
    if (refusals.value("messages_refused", 0) > 0 || refusals.value("inbound_refused", 0) > 0) {
      std::cout << "  refused messages: " << field(refusals, "messages_refused")
                << " of ours by the peer, " << field(refusals, "inbound_refused")
                << " of the peer's by us; last: " << field(refusals, "last") << "\n";
    }
    for (const Json& gap : p.value("gaps", Json::array())) {
      std::cout << "  gap on line " << field(gap, "line") << ": " << field(gap, "missing")
                << " missing after #" << field(gap, "received_through") << ": "
                << field(gap, "missing_seqs") << "\n";
    }
    print_peer_catalog(p.value("catalog", Json()));
    for (const Json& t : p.value("tests", Json::array())) print_line_test(t);
    for (const Json& path : p.value("paths", Json::array())) {
      std::cout << "  path " << field(path, "address") << " "
                << (forked ? "FORKED (" + field(path, "state") + ")"
                    : p.value("recovering", Json()).is_string()
                        ? "RECOVERING (" + field(path, "state") + ")"
                        : field(path, "state"))
                << (path.value("active", false) ? " (active)" : "") << ", last contact "
                << field(path, "last_contact");
      if (const Json beat = path.value("last_heartbeat", Json()); beat.is_object()) {
        std::cout << ", last signed heartbeat " << field(beat, "time") << " (its clock)";
      }
      if (path.value("last_error", Json()).is_string()) {
        std::cout << ", last error: " << field(path, "last_error");
      }
      std::cout << "\n";
    }
  }
  print_escalations(s);
  return 0;
}

}  // namespace

void add_client_commands(CLI::App& app, int& exit_code) {
  {
    auto c = std::make_shared<Connection>();
    auto lines = std::make_shared<std::vector<std::string>>();
    auto precedence = std::make_shared<std::string>("ROUTINE");
    auto type = std::make_shared<std::string>("text");
    auto body = std::make_shared<std::string>();
    auto text = std::make_shared<std::string>();
    auto reply_to = std::make_shared<std::string>();
    auto expires = std::make_shared<std::string>();
    CLI::App* cmd = app.add_subcommand(
        "send",
        "Send a message on a line; prints its id once the gateway has stored it durably. With "
        "--line given twice or more, a broadcast: one message on each line, each receipted and "
        "acknowledged on its own, all or none stored; prints the broadcast's id, then each "
        "message's id and line (`parley broadcast show ID`)");
    add_connection_options(cmd, *c);
    cmd->add_option("--line", *lines, "the line to send on; repeated: a broadcast on every one")
        ->required();
    cmd->add_option("--precedence", *precedence, "FLASH, IMMEDIATE, PRIORITY or ROUTINE")
        ->capture_default_str();
    cmd->add_option("--type", *type, "a message type from `parley catalog`")->capture_default_str();
    cmd->add_option("--body", *body,
                    "the structured body, a JSON object (see `parley catalog TYPE`)");
    cmd->add_option("--text", *text, "free text");
    cmd->add_option("--reply-to", *reply_to,
                    "the id of the message this answers, or a unique prefix of it (at least 8 "
                    "hex digits); or the message a translation translates (--type translation "
                    "--body '{\"language\": \"en\"}' --text TRANSLATION: a translator's "
                    "message, shown under the original)");
    cmd->add_option("--expires", *expires,
                    "a UTC time (2026-11-24T21:00:00Z) after which the message is no longer "
                    "worth delivering: not receipted by then, it becomes expired and is not sent");
    cmd->callback([=, &exit_code] {
      exit_code = run_send(*c, *lines, *precedence, *type, *body, *text, *reply_to, *expires);
    });
  }
  {
    CLI::App* group =
        app.add_subcommand("broadcast", "Broadcasts (`parley send --line A --line B`)");
    group->require_subcommand(1);
    auto c = std::make_shared<Connection>();
    auto id = std::make_shared<std::string>();
    auto as_json = std::make_shared<bool>(false);
    CLI::App* cmd = group->add_subcommand(
        "show",
        "A broadcast's aggregated status (\"delivered to 11 of 12, acknowledged by 9\") and each "
        "line's message and state");
    add_connection_options(cmd, *c);
    cmd->add_option("BROADCAST_ID", *id, "the id `parley send` printed")->required();
    cmd->add_flag("--json", *as_json, "print it as JSON (GET /api/v1/broadcasts/{id})");
    cmd->callback([=, &exit_code] { exit_code = run_broadcast_show(*c, *id, *as_json); });
  }
  for (const std::string box : {"inbox", "outbox"}) {
    auto c = std::make_shared<Connection>();
    auto as_json = std::make_shared<bool>(false);
    auto filters = std::make_shared<BoxFilters>();
    CLI::App* cmd = app.add_subcommand(
        box,
        box == "inbox"
            ? "Messages received on the principal's lines, by precedence (FLASH first), "
              "then newest first, each with its state, ack deadline and the time left or "
              "how long overdue (gap_before: earlier messages of the line not yet arrived); "
              "listing them shows them to the principal: the sender is sent their signed "
              "stage 'shown', once"
            : "Messages the principal's lines sent, by precedence (FLASH first), then newest "
              "first, with their states (queued, sent, delivered, acknowledged, overdue, "
              "expired, refused: the peer's reason, cancelled), ack deadlines and time left, and, "
              "with "
              "--json, their signed stages (stored, shown, acknowledged, answered) with times");
    add_connection_options(cmd, *c);
    cmd->add_option("--line", (*filters)["line"], "only this line");
    cmd->add_option("--precedence", (*filters)["precedence"],
                    "only this precedence: FLASH, IMMEDIATE, PRIORITY or ROUTINE");
    cmd->add_option("--type", (*filters)["type"], "only this message type (ack: the acks)");
    cmd->add_option("--state", (*filters)["state"],
                    "only this state: queued, sent, delivered, acknowledged, overdue, expired, "
                    "refused, cancelled");
    cmd->add_option("--from", (*filters)["from"],
                    "only from this sender: PARTY or PARTY/PRINCIPAL");
    cmd->add_option("--since", (*filters)["since"],
                    "only messages created at or after this UTC time (2026-11-24T21:00:00Z)");
    cmd->add_option("--until", (*filters)["until"], "only messages created before this UTC time");
    cmd->add_option("--search", (*filters)["search"],
                    "only messages whose text or body holds every one of these words (whole "
                    "words, any case)");
    cmd->add_option("--limit", (*filters)["limit"],
                    "at most this many messages (1 to 10000; "
                    "default 1000)");
    cmd->add_option("--cursor", (*filters)["cursor"],
                    "the next page: the cursor the previous page printed ('more: --cursor C')");
    cmd->add_flag("--json", *as_json, "print one JSON array (a next page's cursor: on stderr)");
    cmd->callback([=, &exit_code] { exit_code = run_box(*c, box, *filters, *as_json); });
  }
  {
    auto c = std::make_shared<Connection>();
    auto id = std::make_shared<std::string>();
    auto as_json = std::make_shared<bool>(false);
    CLI::App* cmd = app.add_subcommand(
        "show",
        "One message of the principal's lines: its state, ack deadline and time left, its "
        "timeline (created, sent, delivered or received, overdue, acknowledged, expired, "
        "refused, each with its time) and its evidence (the peer's receipt, the ack, its "
        "inclusion proof in the transcript)");
    add_connection_options(cmd, *c);
    cmd->add_option("MESSAGE_ID", *id,
                    "the message's id, or any unique prefix of it of at least 8 hex digits")
        ->required();
    cmd->add_flag("--json", *as_json,
                  "print the message as JSON, the receipt and envelope in full");
    cmd->callback([=, &exit_code] { exit_code = run_show(*c, *id, *as_json); });
  }
  {
    auto c = std::make_shared<Connection>();
    auto id = std::make_shared<std::string>();
    CLI::App* cmd = app.add_subcommand(
        "ack",
        "Acknowledge a received message: received and understood (a signed message back to its "
        "writer); also after its deadline (state overdue). Fails if the message is unknown, not "
        "on a line of yours, or acknowledged already");
    add_connection_options(cmd, *c);
    cmd->add_option("MESSAGE_ID", *id,
                    "the id of the received message, or any unique prefix of it of at least 8 hex "
                    "digits (an ambiguous one is refused with the candidates)")
        ->required();
    cmd->callback([=, &exit_code] { exit_code = run_ack(*c, *id); });
  }
  {
    auto c = std::make_shared<Connection>();
    auto id = std::make_shared<std::string>();
    CLI::App* cmd = app.add_subcommand(
        "cancel",
        "Cancel a message you sent that is still queued: it becomes 'cancelled' and is never "
        "sent. Only its sender or a principal of its line may; refused (exit 1) once a "
        "transaction has carried it to the peer (sent, delivered, or on its way)");
    add_connection_options(cmd, *c);
    cmd->add_option("MESSAGE_ID", *id,
                    "the id of the queued message, or any unique prefix of it of at least 8 hex "
                    "digits (an ambiguous one is refused with the candidates)")
        ->required();
    cmd->callback([=, &exit_code] { exit_code = run_cancel(*c, *id); });
  }
  {
    auto c = std::make_shared<Connection>();
    auto id = std::make_shared<std::string>();
    auto to = std::make_shared<std::string>();
    CLI::App* cmd = app.add_subcommand(
        "disclose",
        "Disclose a message you sent to an observer of its line: its salt and content travel "
        "sealed to the observer, which checks them against the message's signed commitment and "
        "its place in a checkpoint of your log it cosigned, then keeps and shows it (parley "
        "disclosed on its side). Only a principal of the message's line may; refused (exit 1) "
        "for a message the peer sent, a party that does not observe the line, or a message not "
        "yet in a checkpoint the observer cosigned");
    add_connection_options(cmd, *c);
    cmd->add_option("MESSAGE_ID", *id,
                    "the id of the message, or any unique prefix of it of at least 8 hex digits")
        ->required();
    cmd->add_option("--to", *to, "the observer (a party id) to disclose it to")->required();
    cmd->callback([=, &exit_code] { exit_code = run_disclose(*c, *id, *to); });
  }
  {
    auto c = std::make_shared<Connection>();
    auto as_json = std::make_shared<bool>(false);
    CLI::App* cmd = app.add_subcommand(
        "disclosed",
        "The messages parties of observed lines disclosed to this gateway (the operator's "
        "view), each checked against its signed commitment and a checkpoint this gateway "
        "cosigned: who sent it to whom, when, its body and text");
    add_connection_options(cmd, *c, false);
    cmd->add_flag("--json", *as_json, "print JSON");
    cmd->callback([=, &exit_code] { exit_code = run_disclosed(*c, *as_json); });
  }
  {
    auto c = std::make_shared<Connection>();
    auto as_json = std::make_shared<bool>(false);
    CLI::App* cmd = app.add_subcommand(
        "status",
        "Paths, queues, unacknowledged and overdue messages (ours and the peers') with their "
        "escalations (time left or overdue, who was alerted when, the next alert), refusals and "
        "inbound gaps of the "
        "running gateway (with --home: the operator's view; with --token: a principal with the "
        "role 'watch' gets the same, any other principal only its own lines)");
    add_connection_options(cmd, *c, false);
    cmd->add_flag("--json", *as_json, "print JSON");
    cmd->callback([=, &exit_code] { exit_code = run_status(*c, *as_json); });
  }
}

}  // namespace parley::cli
