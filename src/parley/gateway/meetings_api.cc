#include "parley/gateway/meetings_api.h"

#include <utility>
#include <vector>

#include "parley/core/model.h"
#include "parley/gateway/requests.h"
#include "parley/gateway/responses.h"
#include "parley/meetings/replay.h"
#include "parley/store/store.h"
#include "parley/wire/wire.h"

namespace parley::gateway {
namespace {

using json::Json;

constexpr std::string_view kRoot = "/api/v1/meetings";

std::vector<std::string> split_path(std::string_view rest) {
  std::vector<std::string> parts;
  std::size_t pos = 0;
  while (pos < rest.size()) {
    std::size_t slash = rest.find('/', pos);
    if (slash == std::string_view::npos) slash = rest.size();
    // "/{id}/accept" after the root: the leading slash makes no empty segment.
    if (slash > pos) parts.emplace_back(rest.substr(pos, slash - pos));
    if (slash == pos && pos != 0) parts.emplace_back();
    pos = slash + 1;
  }
  return parts;
}

// The message type of a POST /api/v1/meetings/{id}/{verb}, or "".
std::string type_of_verb(const std::string& verb) {
  for (const std::string_view type :
       {meetings::kCounter, meetings::kAccept, meetings::kDecline, meetings::kReschedule,
        meetings::kCancel, meetings::kMinutes, meetings::kSign}) {
    if (type.substr(type.find('.') + 1) == verb) return std::string(type);
  }
  return "";
}

// Splits a request object into the step's body and its envelope options (the keys "line",
// "precedence" and "text" are the envelope's; every other key is the body's).
Status take_envelope_options(Json& request, std::string& precedence, std::string& text,
                             std::string* line) {
  for (const char* key : {"precedence", "text", "line"}) {
    const auto it = request.find(key);
    if (it == request.end()) continue;
    if (!it->is_string()) {
      return Status::invalid_argument("field '" + std::string(key) + "': expected a string");
    }
    std::string value = it->get<std::string>();
    request.erase(it);
    if (std::string_view(key) == "precedence") precedence = std::move(value);
    if (std::string_view(key) == "text") text = std::move(value);
    if (std::string_view(key) == "line") {
      if (line == nullptr)
        return Status::invalid_argument("field 'line': the meeting's line is fixed");
      *line = std::move(value);
    }
  }
  return Status::ok();
}

Result<Json> request_object(const std::string& body) {
  if (body.find_first_not_of(" \t\r\n") == std::string::npos) return Json::object();
  return json::parse_object(body);
}

}  // namespace

bool MeetingsApi::owns(const std::string& path) {
  return path == kRoot || path.rfind(std::string(kRoot) + "/", 0) == 0;
}

void MeetingsApi::handle(const std::string& principal, const std::string& method,
                         const std::string& path, const std::string& body,
                         const std::shared_ptr<net::Responder>& responder) {
  const std::vector<std::string> parts = split_path(std::string_view(path).substr(kRoot.size()));
  const auto respond = [&](net::HttpResponse r) { responder->respond(std::move(r)); };
  if (parts.empty() && method == "GET") return respond(list(principal));
  if (parts.empty() && method == "POST") return propose(principal, body, responder);
  if (parts.size() == 1 && method == "GET") return respond(show(principal, parts[0]));
  if (parts.size() == 2 && method == "POST" && !type_of_verb(parts[1]).empty()) {
    return act(principal, parts[0], parts[1], body, responder);
  }
  if (parts.size() == 4 && method == "POST" && parts[1] == "actions" && parts[3] == "done") {
    return act(principal, parts[0], "actions/" + parts[2], body, responder);
  }
  respond(error_response(Status::not_found("no such endpoint: " + method + " " + path)));
}

Result<meetings::Book> MeetingsApi::book_of(const std::string& principal) const {
  // A translator reads the meetings of every line of its party, as it reads their messages.
  std::vector<std::string> lines;
  for (const core::Line& l : driver_.lines_read_by(principal)) lines.push_back(l.id);
  std::vector<meetings::Message> pending;
  for (const auto& entry : *pending_) {
    for (const std::string& line : lines) {
      if (entry.second.line == line) pending.push_back(entry.second);
    }
  }
  return driver_.meetings_of(lines, std::move(pending));
}

net::HttpResponse MeetingsApi::list(const std::string& principal) const {
  Result<meetings::Book> book = book_of(principal);
  if (!book.is_ok()) return error_response(book.status());
  Json out = Json::array();
  const Time now = driver_.now();
  for (const meetings::Meeting* m : book->meetings()) {
    out.push_back(meetings::to_json(*m, book->refusals(), now));
  }
  return json_response(200, {{"meetings", out}});
}

namespace {

// The meeting `id` names in `book`: the one with that id, else the only one whose id (its
// proposal's message id) starts with it, a prefix of at least 8 hex digits (requests.h
// parse_id_or_prefix). kInvalidArgument listing the candidates if several do; kNotFound if
// none does.
Result<const meetings::Meeting*> find_meeting(const meetings::Book& book, const std::string& id) {
  if (const meetings::Meeting* m = book.find(id)) return m;
  const Status unknown = Status::not_found("unknown meeting '" + id + "'");
  const Result<std::string> prefix = parse_id_or_prefix(id);
  if (!prefix.is_ok()) return unknown;
  std::vector<const meetings::Meeting*> found;
  for (const meetings::Meeting* m : book.meetings()) {
    if (m->id.starts_with(*prefix)) found.push_back(m);
  }
  if (found.empty()) return unknown;
  if (found.size() == 1) return found.front();
  std::string candidates;
  for (const meetings::Meeting* m : found) candidates += (candidates.empty() ? "" : ", ") + m->id;
  return Status::invalid_argument("the meeting id prefix '" + id + "' is ambiguous: it matches " +
                                  candidates + "; give more of the id");
}

}  // namespace

net::HttpResponse MeetingsApi::show(const std::string& principal, const std::string& id) const {
  Result<meetings::Book> book = book_of(principal);
  if (!book.is_ok()) return error_response(book.status());
  Result<const meetings::Meeting*> m = find_meeting(*book, id);
  if (!m.is_ok()) return error_response(m.status());
  return json_response(200, meetings::to_json(**m, book->refusals(), driver_.now()));
}

void MeetingsApi::propose(const std::string& principal, const std::string& body,
                          const std::shared_ptr<net::Responder>& responder) {
  Result<Json> request = request_object(body);
  if (!request.is_ok()) return responder->respond(error_response(request.status()));
  Step step;
  step.type = meetings::kPropose;
  const Status options = take_envelope_options(*request, step.precedence, step.text, &step.line);
  if (!options.is_ok()) return responder->respond(error_response(options));
  if (step.line.empty()) {
    return responder->respond(error_response(Status::invalid_argument("field 'line': missing")));
  }
  step.body = std::move(request).value();
  Result<meetings::Book> book = book_of(principal);
  if (!book.is_ok()) return responder->respond(error_response(book.status()));
  send(principal, *book, std::move(step), responder);
}

void MeetingsApi::act(const std::string& principal, const std::string& id, const std::string& verb,
                      const std::string& body, const std::shared_ptr<net::Responder>& responder) {
  Result<meetings::Book> book = book_of(principal);
  if (!book.is_ok()) return responder->respond(error_response(book.status()));
  Result<const meetings::Meeting*> found = find_meeting(*book, id);
  if (!found.is_ok()) return responder->respond(error_response(found.status()));
  const meetings::Meeting* m = *found;
  Result<Json> request = request_object(body);
  if (!request.is_ok()) return responder->respond(error_response(request.status()));
  Step step;
  step.line = m->line;
  step.meeting = m->id;
  const Status options = take_envelope_options(*request, step.precedence, step.text, nullptr);
  if (!options.is_ok()) return responder->respond(error_response(options));
  step.body = std::move(request).value();
  if (verb.rfind("actions/", 0) == 0) {
    step.type = meetings::kActionDone;
    step.body["action"] = verb.substr(std::string_view("actions/").size());
  } else {
    step.type = type_of_verb(verb);
  }
  // Signing without a hash signs the current minutes (the answer says which).
  if (step.type == meetings::kSign && !step.body.contains("minutes_hash") && m->minutes) {
    step.body["minutes_hash"] = m->minutes->hash;
  }
  send(principal, *book, std::move(step), responder);
}

void MeetingsApi::send(const std::string& principal, const meetings::Book& book, Step step,
                       const std::shared_ptr<net::Responder>& responder) {
  const auto fail = [&](const Status& s) { responder->respond(error_response(s)); };
  const core::Line* line = nullptr;
  const std::vector<core::Line> lines = driver_.lines_of(principal);
  for (const core::Line& l : lines) {
    if (l.id == step.line) line = &l;
  }
  if (line == nullptr) {
    for (const core::Line& l : driver_.lines_read_by(principal)) {
      if (l.id != step.line) continue;
      return fail(Status::permission_denied(
          "a translator reads the meetings of every line of its party but takes no step in "
          "them: '" +
          principal + "' is not on line '" + step.line + "'"));
    }
    return fail(Status::not_found("unknown line '" + step.line + "'"));
  }
  meetings::Message candidate;
  const std::uint64_t key = next_pending_++;
  candidate.id = "pending-" + std::to_string(key);
  candidate.line = step.line;
  candidate.from_party = driver_.home().config.party;
  candidate.from_principal = principal;
  candidate.to_party = line->remote.party;
  candidate.created = driver_.now();
  candidate.type = step.type;
  candidate.reply_to = step.meeting;
  candidate.body_json = json::dump(step.body);
  // The workflow first (409 with its reason), then the catalog's pointed body errors.
  if (Status s = book.check(candidate); !s.is_ok()) return fail(s);
  if (Status s = driver_.catalog().validate(step.type, candidate.body_json); !s.is_ok()) {
    return fail(s);
  }
  core::Submit submit;
  submit.principal = principal;
  submit.line = step.line;
  Result<wire::Precedence> precedence = wire::parse_precedence(step.precedence);
  if (!precedence.is_ok()) return fail(precedence.status());
  submit.precedence = *precedence;
  submit.type = step.type;
  submit.content.body_json = candidate.body_json;
  submit.content.text = step.text;
  submit.reply_to = step.meeting;
  Json answer = {{"type", step.type}, {"line", step.line}};
  if (step.type == meetings::kMinutes) {
    answer["minutes_hash"] = meetings::minutes_hash(candidate.body_json).value();
  }
  if (step.type == meetings::kSign) answer["minutes_hash"] = step.body["minutes_hash"];
  if (step.meeting) answer["meeting"] = *step.meeting;
  pending_->emplace(key, std::move(candidate));
  driver_.submit(std::move(submit), [pending = pending_, key, responder,
                                     answer = std::move(answer)](Result<core::Accepted> a) mutable {
    pending->erase(key);
    if (!a.is_ok()) return responder->respond(error_response(a.status()));
    answer["id"] = a->message_id;
    if (!answer.contains("meeting")) answer["meeting"] = a->message_id;
    answer["seq"] = a->seq;
    answer["state"] = core::state_name(a->state);
    responder->respond(json_response(201, answer));
  });
}

}  // namespace parley::gateway
