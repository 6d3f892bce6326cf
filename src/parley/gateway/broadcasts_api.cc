#include "parley/gateway/broadcasts_api.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "parley/base/json.h"
#include "parley/base/rng.h"
#include "parley/core/message_state.h"
#include "parley/core/model.h"
#include "parley/gateway/requests.h"
#include "parley/gateway/responses.h"
#include "parley/store/store.h"

namespace parley::gateway {
namespace {

using json::Json;

constexpr std::string_view kRoot = "/api/v1/broadcasts";

}  // namespace

bool BroadcastsApi::owns(const std::string& path) {
  return path == kRoot || path.rfind(std::string(kRoot) + "/", 0) == 0;
}

void BroadcastsApi::handle(const std::string& principal, const std::string& method,
                           const std::string& path, const std::string& body,
                           const std::shared_ptr<net::Responder>& responder) {
  if (path == kRoot && method == "POST") return post(principal, body, responder);
  if (const std::optional<std::string> id = broadcast_path_id(path); id && method == "GET") {
    return responder->respond(get(principal, *id));
  }
  responder->respond(error_response(Status::not_found("no such endpoint: " + method + " " + path)));
}

void BroadcastsApi::post(const std::string& principal, const std::string& body,
                         const std::shared_ptr<net::Responder>& responder) {
  Result<BroadcastRequest> request = parse_broadcast_request(body);
  if (!request.is_ok()) return responder->respond(error_response(request.status()));
  std::vector<core::Submit> submits;
  for (const std::string& line : request->lines) {
    core::Submit s;
    s.principal = principal;
    s.line = line;
    s.precedence = request->message.precedence;
    s.type = request->message.type;
    s.content = request->message.content;
    s.expires = request->message.expires;
    submits.push_back(std::move(s));
  }
  // Whether every line exists and the principal may send on it is the core's decision
  // (core::Node's Broadcast): a refusal names the line, and nothing is queued.
  driver_.broadcast(std::move(submits), [responder](Result<Driver::BroadcastAccepted> accepted) {
    if (!accepted.is_ok()) return responder->respond(error_response(accepted.status()));
    Json messages = Json::array();
    for (const core::Accepted& a : accepted->messages) {
      messages.push_back(Json{{"id", a.message_id},
                              {"line", a.line},
                              {"seq", a.seq},
                              {"state", core::state_name(a.state)}});
    }
    responder->respond(json_response(201, {{"id", accepted->id}, {"messages", messages}}));
  });
}

net::HttpResponse BroadcastsApi::get(const std::string& principal, const std::string& id) const {
  if (!is_uuid(id)) {
    return error_response(Status::invalid_argument("broadcast id '" + id + "' is not a uuid"));
  }
  store::MessageQuery q;
  q.direction = core::Direction::kOutbound;
  q.broadcast = id;
  q.limit = kBroadcastLinesMax;
  for (const core::Line& l : driver_.lines_read_by(principal)) q.lines.push_back(l.id);
  // A broadcast on none of the principal's lines is unknown to it, as a message is.
  if (q.lines.empty()) return error_response(Status::not_found("unknown broadcast '" + id + "'"));
  Result<std::vector<core::MessageRecord>> found = driver_.store().list_messages(q);
  if (!found.is_ok()) return error_response(found.status());
  if (found->empty()) return error_response(Status::not_found("unknown broadcast '" + id + "'"));
  std::sort(
      found->begin(), found->end(),
      [](const core::MessageRecord& a, const core::MessageRecord& b) { return a.line < b.line; });
  std::size_t delivered = 0;
  std::size_t acknowledged = 0;
  Json lines = Json::array();
  for (const core::MessageRecord& m : *found) {
    if (m.delivered_at) ++delivered;
    if (m.acknowledged_at) ++acknowledged;
    lines.push_back(
        Json{{"line", m.line},
             {"to", m.to.to_string()},
             {"id", m.id},
             {"seq", m.seq},
             {"state", core::state_name(m.state)},
             {"delivered_at", optional_time(m.delivered_at)},
             {"acknowledged_at", optional_time(m.acknowledged_at)},
             {"acknowledged_by", m.acknowledged_by ? Json(*m.acknowledged_by) : Json()}});
  }
  const core::MessageRecord& first = found->front();
  return json_response(200, {{"id", id},
                             {"from", first.from.to_string()},
                             {"precedence", wire::precedence_name(first.precedence)},
                             {"type", first.type},
                             {"created", format_time(first.created)},
                             {"lines_total", found->size()},
                             {"delivered", delivered},
                             {"acknowledged", acknowledged},
                             {"messages", lines},
                             {"time", format_time(driver_.now())}});
}

}  // namespace parley::gateway
