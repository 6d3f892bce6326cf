// Translations in the loop (issue 13; docs/protocol.md "Translations"). Words are ambiguous
// across languages (DESIGN.md fact 3): a principal with the translator role may attach a
// translation of a message's free text as a signed message of its own, of the catalog type
// "translation", whose reply_to names the message it translates. A translator reads every
// line of its party without being any line's principal, and may write on a line that one
// kind of message only.
//
// Both gateways decide it with the one function below, each from what it knows: the sender's
// before it signs (the writer's role from its directory), the receiver's when the envelope
// arrives (the peer's translators from the peer's pinned bundle, wire::Bundle::translators, as
// it knows the peer's line principals from its line configuration). A refusal on the
// receiving side is recorded like any refused message (a refused entry of the peer's log).
// Whether reply_to names a message on the line is asked of MessageLines: the store's answer,
// read through an interface as the catalog is, so that the decision itself stays pure.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "parley/base/status.h"

namespace parley::core {

inline constexpr std::string_view kTranslatorRole = "translator";

// The line of a message this gateway stores. gateway/ and sim/ answer from their store
// (store/message_lines.h); tests from a map. Read on the node's thread, between events.
class MessageLines {
 public:
  virtual ~MessageLines() = default;
  // The line of the message `id` stored in either direction (ours or the peer's); nullopt if
  // none is stored. An error if the store cannot answer now: the caller must not decide for
  // good on it (a sender rejects the request, a receiver refuses the whole transaction, which
  // the peer sends again).
  virtual Result<std::optional<std::string>> line_of(std::string_view id) const = 0;
};

// Who writes a message on a line, as far as the decision goes.
struct Writer {
  std::string name;         // for the reason: "principal 'x'", "envelope from 'ru/x'"
  bool on_line = false;     // the line's principal or an alternate, on the writer's side
  bool translator = false;  // has the translator role (ours: directory; the peer's: bundle)
};

// OK if `writer` may write a message of `type` replying to `reply_to` on `line`, where
// `reply_line` is the line of the stored message reply_to names (nullopt: none is stored).
// A line's principals write any type; a translator who is not one of them writes only a
// translation; and a translation, whoever writes it, names by reply_to a message on the same
// line. kPermissionDenied otherwise, saying why in one line.
Status may_write(const Writer& writer, std::string_view line, std::string_view type,
                 const std::optional<std::string>& reply_to,
                 const std::optional<std::string>& reply_line);

}  // namespace parley::core
