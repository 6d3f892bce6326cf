// What a gateway's core::Node starts from, read from its store: the configured lines and, per
// pinned peer, its bundle and what the store held for it. `parley gateway` (Driver::start) and
// the simulator (Cluster::start) both start from exactly this.
#pragma once

#include <algorithm>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "parley/base/status.h"
#include "parley/core/node.h"
#include "parley/store/store.h"

namespace parley::store {

struct NodeRecovery {
  std::vector<core::Line> lines;
  std::vector<core::NodePeer> peers;
};

// Which of the peer's messages awaiting our ack we sent a stage.shown entry for already
// (core::Recovered::shown): those naming them in reply_to, read by the index on reply_to.
inline Status recover_shown(Store& store, core::Recovered& recovered) {
  std::vector<std::string> ids;
  const auto flush = [&]() -> Status {
    PARLEY_ASSIGN_OR_RETURN(std::vector<core::MessageRecord> replies, store.replies_to(ids));
    for (const core::MessageRecord& r : replies) {
      if (r.direction == core::Direction::kOutbound && r.type == core::kStageShownType) {
        recovered.shown.insert(*r.reply_to);
      }
    }
    ids.clear();
    return Status::ok();
  };
  for (const core::MessageRecord& m : recovered.inbound_unacknowledged) {
    ids.push_back(m.id);
    if (ids.size() == Store::kRepliesIdsMax) PARLEY_RETURN_IF_ERROR(flush());
  }
  return ids.empty() ? Status::ok() : flush();
}

// Per line with `peer`, the last automatic test we sent (core::Recovered::line_tests): the
// newest outbound `test` whose body says "automatic", read newest first by the index on
// (type, line). Tests a principal sent by hand are passed over; after kTestPagesMax pages of
// them without an automatic one, the line's tests start again from number 1.
inline constexpr std::size_t kTestPageSize = 64;
inline constexpr std::size_t kTestPagesMax = 64;
inline Status recover_line_tests(Store& store, const std::vector<core::Line>& lines,
                                 std::string_view peer, core::Recovered& recovered) {
  for (const core::Line& line : lines) {
    if (line.remote.party != peer) continue;
    MessageQuery query;
    query.direction = core::Direction::kOutbound;
    query.lines = {line.id};
    query.types = {std::string(core::kTestType)};
    query.limit = kTestPageSize;
    for (std::size_t page = 0; page < kTestPagesMax; ++page) {
      PARLEY_ASSIGN_OR_RETURN(const std::vector<core::MessageRecord> tests,
                              store.list_messages(query));
      const auto automatic = std::find_if(tests.begin(), tests.end(), [](const auto& m) {
        return core::automatic_test_sequence(m.type, m.content.body_json).has_value();
      });
      if (automatic != tests.end()) {
        recovered.line_tests[line.id] = core::RecoveredTest{
            automatic->id,
            *core::automatic_test_sequence(automatic->type, automatic->content.body_json),
            automatic->created, automatic->acknowledged_at};
        break;
      }
      if (tests.size() < kTestPageSize) break;
      query.after = message_key(tests.back());
    }
  }
  return Status::ok();
}

// kDataLoss for a pinned peer with no federation address (a valid bundle has one); store
// errors as they come.
inline Result<NodeRecovery> recover_node(Store& store) {
  NodeRecovery out;
  PARLEY_ASSIGN_OR_RETURN(out.lines, store.lines());
  PARLEY_ASSIGN_OR_RETURN(std::vector<core::Peer> pinned, store.peers());
  for (core::Peer& peer : pinned) {
    if (peer.bundle.federation.empty()) {
      return Status::data_loss("pinned peer '" + peer.bundle.party +
                               "' has no federation address; pin its bundle again");
    }
    PARLEY_ASSIGN_OR_RETURN(core::Recovered recovered, store.recover(peer.bundle.party));
    PARLEY_RETURN_IF_ERROR(recover_shown(store, recovered));
    PARLEY_RETURN_IF_ERROR(recover_line_tests(store, out.lines, peer.bundle.party, recovered));
    out.peers.push_back({std::move(peer.bundle), std::move(recovered)});
  }
  return out;
}

}  // namespace parley::store
