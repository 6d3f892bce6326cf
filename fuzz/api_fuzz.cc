// libFuzzer target: what the HTTP API reads from a principal's request (gateway/requests.h).
// The first byte picks the parser, the rest is its input:
//   'm'   the body of POST /api/v1/messages (parse_message_request);
//   'b'   the body of POST /api/v1/broadcasts (parse_broadcast_request) and a broadcast's path
//         (broadcast_path_id);
//   's'   the body of POST /api/v1/session (parse_sign_in) and a Cookie header
//         (cookie_value: gateway/sessions.h);
//   't'   a request target: split_target, the query of GET /api/v1/messages
//         (parse_message_list, parse_cursor), message ids or prefixes (parse_id_or_prefix)
//         and the id of POST /api/v1/messages/<id>/ack;
//   other both, on the whole input.
// A message request that parses must encode and parse again to an equal request; a target
// splits into a path that is a prefix of it, and a list query is in range.
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "fuzz_fixture.h"

#include "parley/gateway/requests.h"
#include "parley/gateway/sessions.h"

namespace {

using namespace parley;

void check_message(std::string_view body) {
  auto request = gateway::parse_message_request(body);
  if (!request.is_ok()) {
    fuzz::require(request.status().code() == StatusCode::kInvalidArgument);
    return;
  }
  auto again = gateway::parse_message_request(gateway::encode_message_request(*request));
  fuzz::require(again.is_ok() && again->line == request->line &&
                again->precedence == request->precedence && again->type == request->type &&
                again->content.body_json == request->content.body_json &&
                again->content.text == request->content.text &&
                again->reply_to == request->reply_to && again->expires == request->expires);
}

void check_target(std::string_view text) {
  const gateway::Target target = gateway::split_target(text);
  fuzz::require(text.starts_with(target.path) && target.path.find('?') == std::string::npos);
  auto list = gateway::parse_message_list(target.query);
  if (list.is_ok() && list->limit) {
    fuzz::require(*list->limit >= 1 && *list->limit <= gateway::kListLimitMax);
  }
  // A cursor that parses is one the server could have given: it encodes back to itself.
  for (const auto& [name, value] : target.query) {
    auto key = gateway::parse_cursor(value);
    if (key.is_ok()) {
      auto again = gateway::parse_cursor(gateway::encode_cursor(*key));
      fuzz::require(again.is_ok() && *again == *key);
    }
    auto id = gateway::parse_id_or_prefix(value);
    fuzz::require(!id.is_ok() || id->size() == value.size());
  }
  constexpr std::string_view kPrefix = "/api/v1/messages/";
  if (target.path.starts_with(kPrefix)) {
    const std::string_view rest = std::string_view(target.path).substr(kPrefix.size());
    auto id = gateway::ack_message_id(rest);
    fuzz::require(!id || (!id->empty() && rest == *id + "/ack"));
  }
}

// A broadcast request that parses names 2 to kBroadcastLinesMax distinct, non-empty lines,
// no reply_to, and a non-empty message; a path's broadcast id is non-empty, without '/'.
void check_broadcast(std::string_view text) {
  auto request = gateway::parse_broadcast_request(text);
  if (!request.is_ok()) {
    fuzz::require(request.status().code() == StatusCode::kInvalidArgument);
  } else {
    fuzz::require(request->lines.size() >= 2 &&
                  request->lines.size() <= gateway::kBroadcastLinesMax &&
                  !request->message.reply_to && request->message.line.empty());
    std::set<std::string> distinct(request->lines.begin(), request->lines.end());
    fuzz::require(distinct.size() == request->lines.size() && !distinct.count(""));
  }
  auto id = gateway::broadcast_path_id(text);
  fuzz::require(!id || (!id->empty() && id->find('/') == std::string::npos &&
                        text == "/api/v1/broadcasts/" + *id));
}

// A sign-in body gives a token of 1 to 512 bytes or kInvalidArgument; a cookie's value is a
// part of the header without a ';' (a cookie cannot end another one early).
void check_session(std::string_view text) {
  auto token = gateway::parse_sign_in(text);
  fuzz::require(token.is_ok() ? !token->empty() && token->size() <= 512
                              : token.status().code() == StatusCode::kInvalidArgument);
  auto value = gateway::cookie_value(text, gateway::kSessionCookie);
  fuzz::require(!value || (value->find(';') == std::string::npos &&
                           text.find(*value) != std::string_view::npos));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = fuzz::as_text(data, size);
  if (text.empty()) return 0;
  const std::string_view rest = text.substr(1);
  switch (text.front()) {
    case 'm':
      check_message(rest);
      break;
    case 't':
      check_target(rest);
      break;
    case 's':
      check_session(rest);
      break;
    case 'b':
      check_broadcast(rest);
      break;
    default:
      check_message(text);
      check_broadcast(text);
      check_target(text);
      check_session(text);
  }
  return 0;
}
