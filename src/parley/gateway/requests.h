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
#include <vector>

#include "parley/base/status.h"
#include "parley/base/time.h"
#include "parley/core/model.h"
#include "parley/store/store.h"
#include "parley/wire/wire.h"

namespace parley::gateway {

// A request target split at '?': the path, and the query's parameters ("a=1&b" gives
// a -> "1", b -> ""; the last of a repeated name wins). Names and values are
// percent-decoded ('+' is a space, as in a form); a malformed escape stays as it is.
struct Target {
  std::string path;
  std::map<std::string, std::string> query;
};
Target split_target(std::string_view target);
// `path` with `query` appended as split_target reads it back: "?name=value&..." with every
// byte but RFC 3986's unreserved characters percent-encoded; `path` alone if `query` is empty.
std::string join_target(std::string path, const std::map<std::string, std::string>& query);

// The body of POST /api/v1/messages:
//   {"line": "...", "precedence": "FLASH", "type": "notify.exercise", "body": {...},
//    "text": "...", "reply_to": "<id>", "expires": "<RFC 3339>"}
// `line` is required, and a text that is not blank or a body that is not empty: an empty
// message is refused. precedence defaults to ROUTINE, type to "text", body to {}.
struct MessageRequest {
  std::string line;
  wire::Precedence precedence = wire::Precedence::kRoutine;
  std::string type = "text";
  wire::Content content;  // body_json: the "body" object as compact JSON text
  std::optional<std::string> reply_to;
  std::optional<Time> expires;
};
// kInvalidArgument naming the field for a body that is not such an object (an unknown key
// included), or saying the message is empty (no text but blanks, no body or {}). Whether the
// line, type and body are acceptable is the core's decision.
Result<MessageRequest> parse_message_request(std::string_view body);
// The body a client sends for `request`; parse_message_request reads it back as equal.
std::string encode_message_request(const MessageRequest& request);

// The body of POST /api/v1/broadcasts: one message on several lines at once,
//   {"lines": ["a", "b", ...], "precedence": ..., "type": ..., "body": {...}, "text": ...,
//    "expires": ...}
// the fields of MessageRequest but "line" and "reply_to" (a reply answers one message on one
// line), and "lines": 2 to kBroadcastLinesMax distinct line ids. `message.line` is empty.
// kInvalidArgument naming the field otherwise, as parse_message_request; a meeting step
// (meeting.*) is refused too (a meeting is a conversation on one line).
struct BroadcastRequest {
  std::vector<std::string> lines;
  MessageRequest message;
};
inline constexpr std::size_t kBroadcastLinesMax = 256;
Result<BroadcastRequest> parse_broadcast_request(std::string_view body);
// The id of "/api/v1/broadcasts/<id>" (GET), or nullopt if `path` is not that with a
// non-empty id without '/'.
std::optional<std::string> broadcast_path_id(std::string_view path);

// The query of GET /api/v1/messages (docs/openapi.yaml): box=inbox|outbox (default inbox),
// limit=1..10000 (default 1000), the filters line, precedence, type, state, from (PARTY or
// PARTY/PRINCIPAL), since and until (RFC 3339: created at or after, before), search (words,
// all of which must occur: store/search.h), and cursor (a page's next_cursor). Messages come
// by precedence (FLASH first), then newest first.
struct MessageListRequest {
  bool outbox = false;
  std::optional<std::size_t> limit;
  std::optional<std::string> line;
  std::optional<wire::Precedence> precedence;
  std::optional<std::string> type;
  std::optional<core::MessageState> state;
  std::optional<wire::Address> from;
  std::optional<Time> since;
  std::optional<Time> until;
  std::vector<std::string> words;  // of `search`
  std::optional<store::MessageKey> cursor;
};
inline constexpr std::size_t kListLimitMax = 10'000;
// kInvalidArgument naming the parameter for an unknown one, another box, a limit that is not
// an integer in range, an unknown precedence or state, a time that is not RFC 3339, since
// not before until, a search without a word, or a cursor this server did not give.
Result<MessageListRequest> parse_message_list(const std::map<std::string, std::string>& query);
// The store query for `request` on `lines` (the caller's).
store::MessageQuery message_query(const MessageListRequest& request,
                                  const std::vector<std::string>& lines);

// A cursor: where a listing stopped (store::MessageKey), opaque to clients: the hex of
// "v1 <precedence> <created ms> <seq> <id>". parse_cursor: kInvalidArgument if `text` is not
// one.
std::string encode_cursor(const store::MessageKey& key);
Result<store::MessageKey> parse_cursor(std::string_view text);

// A message id as a principal may give it: the full id, or a prefix of at least
// kIdPrefixMin hex digits (dashes as in the id are allowed). Lower-cased. kInvalidArgument if
// `text` is neither.
inline constexpr std::size_t kIdPrefixMin = 8;
Result<std::string> parse_id_or_prefix(std::string_view text);

// The message id of ".../messages/<id>/ack" (POST) given the path after "/api/v1/messages/",
// or nullopt if `rest` is not "<id>/ack" with a non-empty id.
std::optional<std::string> ack_message_id(std::string_view rest);
// The same for ".../messages/<id>/evidence" (GET).
std::optional<std::string> evidence_message_id(std::string_view rest);
// The id (or prefix) in "<id>/cancel", the rest of a /api/v1/messages/ path; nullopt if it
// is not that.
std::optional<std::string> cancel_message_id(std::string_view rest);
// The id (or prefix) in "<id>/disclose"; nullopt if it is not that.
std::optional<std::string> disclose_message_id(std::string_view rest);
// The body of POST /api/v1/messages/{id}/disclose: {"to": "<party id>"}, nothing else.
Result<std::string> parse_disclose_request(std::string_view body);

}  // namespace parley::gateway
