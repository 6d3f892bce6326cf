#include "parley/meetings/replay.h"

#include <utility>

namespace parley::meetings {

bool in_record(const core::MessageRecord& m) {
  return m.state != core::MessageState::kRefused && m.state != core::MessageState::kExpired &&
         m.state != core::MessageState::kCancelled;
}

Message meeting_message(const core::MessageRecord& m) {
  Message out;
  out.id = m.id;
  out.line = m.line;
  out.from_party = m.from.party;
  out.from_principal = m.from.principal;
  out.to_party = m.to.party;
  out.created = m.created;
  out.type = m.type;
  out.reply_to = m.reply_to;
  out.body_json = m.content.body_json;
  return out;
}

Book replay(const std::vector<core::MessageRecord>& stored, std::vector<Message> extra) {
  std::vector<Message> messages = std::move(extra);
  for (const core::MessageRecord& m : stored) {
    if (is_meeting_type(m.type) && in_record(m)) messages.push_back(meeting_message(m));
  }
  sort_for_replay(messages);
  Book book;
  for (const Message& m : messages) (void)book.apply(m);
  return book;
}

}  // namespace parley::meetings
