// requests: what the HTTP API reads from a request (docs/openapi.yaml), apart from routing
// and authentication: the target's query, and the body of POST /api/v1/messages. The body
// and the query are outside input from any principal, so they are parsed here, in pure
// functions that fuzz/api_fuzz.cc feeds arbitrary bytes, and api.cc acts on the values.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "parley/base/status.h"
#include "parley/base/time.h"
#include "parley/wire/wire.h"

namespace parley::gateway {

// A request target split at '?': the path, and the query's parameters ("a=1&b" gives
// a -> "1", b -> ""; the last of a repeated name wins). No percent-decoding: no parameter
// of the API needs it.
struct Target {
  std::string path;
  std::map<std::string, std::string> query;
};
Target split_target(std::string_view target);

// The body of POST /api/v1/messages:
//   {"line": "...", "precedence": "FLASH", "type": "notify.exercise", "body": {...},
//    "text": "...", "reply_to": "<id>", "expires": "<RFC 3339>"}
// Only `line` is required; precedence defaults to ROUTINE, type to "text", body to {}.
struct MessageRequest {
  std::string line;
  wire::Precedence precedence = wire::Precedence::kRoutine;
  std::string type = "text";
  wire::Content content;  // body_json: the "body" object as compact JSON text
  std::optional<std::string> reply_to;
  std::optional<Time> expires;
};
// kInvalidArgument naming the field for a body that is not such an object (an unknown key
// included). Whether the line, type and body are acceptable is the core's decision.
Result<MessageRequest> parse_message_request(std::string_view body);
// The body a client sends for `request`; parse_message_request reads it back as equal.
std::string encode_message_request(const MessageRequest& request);

// The query of GET /api/v1/messages: box=inbox|outbox (default inbox), limit=1..10000.
struct MessageListRequest {
  bool outbox = false;
  std::optional<std::size_t> limit;
};
inline constexpr std::size_t kListLimitMax = 10'000;
// kInvalidArgument for another box or a limit that is not an integer in range.
Result<MessageListRequest> parse_message_list(const std::map<std::string, std::string>& query);

// The message id of ".../messages/<id>/ack" (POST) given the path after "/api/v1/messages/",
// or nullopt if `rest` is not "<id>/ack" with a non-empty id.
std::optional<std::string> ack_message_id(std::string_view rest);

}  // namespace parley::gateway
