// find: reading messages as a principal finds them (issue 16 "Find and read"): a message id
// given in full or as a unique prefix, how long a message has before its ack deadline, and
// its timeline. Used by the API (api.cc) for GET /api/v1/messages, GET /api/v1/messages/{id}
// and every endpoint that takes a message id.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "parley/base/json.h"
#include "parley/base/status.h"
#include "parley/base/time.h"
#include "parley/core/model.h"
#include "parley/store/store.h"

namespace parley::gateway {

// The id of the message that `text` names among the messages on `lines`: `text` itself if a
// message has that id, else the one message whose id starts with it (requests.h
// parse_id_or_prefix: at least 8 hex digits). kInvalidArgument if `text` is no id nor such a
// prefix, or if several messages match (the message lists them, up to kCandidatesShown);
// kNotFound if none does (a message on another line counts as none: its existence is not the
// caller's business); the store's error if it fails.
inline constexpr std::size_t kCandidatesShown = 10;
Result<std::string> resolve_message_id(store::Store& store, const std::vector<std::string>& lines,
                                       std::string_view text);

// True while `m` awaits an acknowledgment: neither an ack itself, nor acknowledged, expired
// or refused.
bool awaits_ack(const core::MessageRecord& m);

// The time left before `m`'s ack deadline at `now` in milliseconds (negative: overdue by that
// much), or JSON null if it awaits no ack.
json::Json time_left_ms(const core::MessageRecord& m, Time now);

// `m`'s history from what the store keeps, oldest first: one {"at", "event", "detail"} per
// step (created, carried, sent, received, delivered, overdue, acknowledged, expired, refused,
// cancelled); "at" is null for a step whose time is not kept (the transaction that sent it).
json::Json message_timeline(const core::MessageRecord& m, Time now);

}  // namespace parley::gateway
