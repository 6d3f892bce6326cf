// What a gateway's core::Node starts from, read from its store: the configured lines and, per
// pinned peer, its bundle and what the store held for it. `parley gateway` (Driver::start) and
// the simulator (Cluster::start) both start from exactly this.
#pragma once

#include <string>
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
    out.peers.push_back({std::move(peer.bundle), std::move(recovered)});
  }
  return out;
}

}  // namespace parley::store
