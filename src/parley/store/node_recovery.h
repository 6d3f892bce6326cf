// What a gateway's core::Node starts from, read from its store: the configured lines and, per
// pinned peer, its bundle and what the store held for it. `parley gateway` (Driver::start) and
// the simulator (Cluster::start) both start from exactly this.
#pragma once

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
    out.peers.push_back({std::move(peer.bundle), std::move(recovered)});
  }
  return out;
}

}  // namespace parley::store
