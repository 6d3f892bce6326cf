// The /api/v1/broadcasts routes (docs/openapi.yaml, tag "broadcasts"; issue 14): one
// submission delivered on several lines at once, and its aggregated status.
//
// POST /api/v1/broadcasts sends one message on each line named (core::Broadcast): one signed
// envelope per line, each sealed to its own peer, queued, receipted and acknowledged on its
// own, tied by a broadcast id. All or nothing: the core checks every line first, and a line
// the principal may not use (unknown, not its own, no pinned peer, a body its type refuses)
// is refused (4xx naming the line) with nothing queued. GET /api/v1/broadcasts/{id} reads
// its messages back from the store: each line's state, and how many were delivered (the
// peer's receipt verified) and acknowledged.
#pragma once

#include <memory>
#include <string>

#include "parley/gateway/driver.h"
#include "parley/net/net.h"

namespace parley::gateway {

class BroadcastsApi {
 public:
  // `driver` must outlive this object.
  explicit BroadcastsApi(Driver& driver) : driver_(driver) {}

  // True if `path` is one of this object's (/api/v1/broadcasts...).
  static bool owns(const std::string& path);

  // Answers `method path` for `principal` (authenticated by the caller) through `responder`.
  void handle(const std::string& principal, const std::string& method, const std::string& path,
              const std::string& body, const std::shared_ptr<net::Responder>& responder);

 private:
  void post(const std::string& principal, const std::string& body,
            const std::shared_ptr<net::Responder>& responder);
  net::HttpResponse get(const std::string& principal, const std::string& id) const;

  Driver& driver_;
};

}  // namespace parley::gateway
