#include "parley/gateway/requests.h"

#include <charconv>
#include <system_error>

#include "parley/base/json.h"

namespace parley::gateway {

Target split_target(std::string_view target) {
  Target out;
  const std::size_t q = target.find('?');
  out.path = std::string(target.substr(0, q));
  if (q == std::string_view::npos) return out;
  const std::string_view rest = target.substr(q + 1);
  std::size_t pos = 0;
  while (pos <= rest.size()) {
    std::size_t amp = rest.find('&', pos);
    if (amp == std::string_view::npos) amp = rest.size();
    const std::string_view pair = rest.substr(pos, amp - pos);
    const std::size_t eq = pair.find('=');
    if (!pair.empty()) {
      out.query[std::string(pair.substr(0, eq))] =
          eq == std::string_view::npos ? "" : std::string(pair.substr(eq + 1));
    }
    pos = amp + 1;
  }
  return out;
}

Result<MessageRequest> parse_message_request(std::string_view body) {
  PARLEY_ASSIGN_OR_RETURN(json::Json j, json::parse_object(body));
  PARLEY_RETURN_IF_ERROR(
      json::check_keys(j, {"line", "precedence", "type", "body", "text", "reply_to", "expires"}));
  MessageRequest m;
  PARLEY_ASSIGN_OR_RETURN(m.line, json::get_string(j, "line"));
  PARLEY_ASSIGN_OR_RETURN(std::optional<std::string> precedence,
                          json::get_optional_string(j, "precedence"));
  if (precedence) {
    PARLEY_ASSIGN_OR_RETURN(m.precedence, wire::parse_precedence(*precedence));
  }
  PARLEY_ASSIGN_OR_RETURN(std::optional<std::string> type, json::get_optional_string(j, "type"));
  if (type) m.type = *type;
  if (j.contains("body") && !j["body"].is_null()) {
    if (!j["body"].is_object()) {
      return Status::invalid_argument("field 'body': expected a JSON object");
    }
    m.content.body_json = json::dump(j["body"]);
  }
  PARLEY_ASSIGN_OR_RETURN(std::optional<std::string> text, json::get_optional_string(j, "text"));
  if (text) m.content.text = *text;
  PARLEY_ASSIGN_OR_RETURN(m.reply_to, json::get_optional_string(j, "reply_to"));
  PARLEY_ASSIGN_OR_RETURN(std::optional<std::string> expires,
                          json::get_optional_string(j, "expires"));
  if (expires) {
    PARLEY_ASSIGN_OR_RETURN(Time t, parse_time(*expires));
    m.expires = t;
  }
  return m;
}

std::string encode_message_request(const MessageRequest& request) {
  json::Json j = json::Json::object();
  j["line"] = request.line;
  j["precedence"] = std::string(wire::precedence_name(request.precedence));
  j["type"] = request.type;
  Result<json::Json> body = json::parse_object(request.content.body_json);
  j["body"] = body.is_ok() ? *body : json::Json::object();
  j["text"] = request.content.text;
  if (request.reply_to) j["reply_to"] = *request.reply_to;
  if (request.expires) j["expires"] = format_time(*request.expires);
  return json::dump(j);
}

Result<MessageListRequest> parse_message_list(const std::map<std::string, std::string>& query) {
  MessageListRequest out;
  const auto box = query.find("box");
  const std::string which = box == query.end() ? "inbox" : box->second;
  if (which == "outbox") {
    out.outbox = true;
  } else if (which != "inbox") {
    return Status::invalid_argument("box must be 'inbox' or 'outbox', not '" + which + "'");
  }
  const auto limit = query.find("limit");
  if (limit != query.end()) {
    const std::string& text = limit->second;
    std::size_t n = 0;
    const auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (ec != std::errc() || p != text.data() + text.size() || n == 0 || n > kListLimitMax) {
      return Status::invalid_argument("limit must be an integer from 1 to 10000");
    }
    out.limit = n;
  }
  return out;
}

std::optional<std::string> ack_message_id(std::string_view rest) {
  constexpr std::string_view kAck = "/ack";
  if (rest.size() <= kAck.size() || !rest.ends_with(kAck)) return std::nullopt;
  return std::string(rest.substr(0, rest.size() - kAck.size()));
}

}  // namespace parley::gateway
