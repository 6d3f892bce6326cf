// forwarded: the heads of a peer's log that we countersigned, forwarded to the observers of
// our lines with that peer, so that an observer sees both logs of a line even if one party
// never talks to it, and catches a party that shows it one head and its peer another
// (docs/protocol.md "Witnesses", forwarded heads). Both ways:
//   - as a party, HeadForwarder posts each receipt we stored (our countersignature, which
//     carries the peer's signed head byte for byte) to the observers of our lines with that
//     peer: POST /federation/v1/forwarded-head, the receipt's DSSE JSON as the body;
//   - as an observer, answer_forwarded_head checks it (the forwarder's signature on the
//     receipt, the owner's on the head it carries), compares the head with the checkpoint of
//     that log it cosigned and with the heads forwarded before, keeps the first head per
//     size, and reports a split view with both signed statements as evidence.
// Single-threaded: the driver's io thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "parley/base/status.h"
#include "parley/base/time.h"
#include "parley/gateway/fingerprints.h"
#include "parley/net/net.h"
#include "parley/store/store.h"
#include "parley/wire/wire.h"

namespace parley::gateway {

inline constexpr std::string_view kForwardedHeadTarget = "/federation/v1/forwarded-head";
// The split-view kind of a head that contradicts, at one size, what the observer holds of the
// same log from the other path (a forwarded head against a cosigned checkpoint, or the
// reverse, or two forwarded heads).
inline constexpr std::string_view kForwardedSplitKind = "forwarded-other-root";
inline constexpr std::size_t kForwardedBodyMax = 1024 * 1024;

struct ForwardedReply {
  net::HttpResponse response;
  std::optional<store::SplitViewRecord> split_view;  // newly seen evidence, already stored
};
// Answers one forwarded head from `forwarder` (the pinned peer the TLS connection
// authenticated; empty if none). 400 malformed, 403 not signed by the forwarder (receipt) or
// the owner (head), each with one of the keys of its chain as `store` pins it
// (store::pinned_chain: its bundle's, then its rotations'), 404 a log we do not witness, 503 a
// store failure; 200
// {"origin","size","split_view"} once kept. Never a crash; bad input changes nothing.
ForwardedReply answer_forwarded_head(store::Store& store, std::string_view me,
                                     const std::vector<wire::Bundle>& pinned,
                                     std::string_view forwarder, std::string_view body, Time now);

// The check of the other path: a checkpoint of `origin` at (size, root) that the owner asks us
// to cosign, against the head of that size its peer forwarded. The split view (stored) if they
// differ; nullopt if they agree or nothing was forwarded at that size; a store failure.
Result<std::optional<store::SplitViewRecord>> check_against_forwarded(
    store::Store& store, std::string_view origin, std::uint64_t size, std::string_view root_hex,
    std::string_view checkpoint_note, Time now);

// Posts the receipts we store (each the countersignature of one head of a peer's log) to the
// observers of our lines with that peer. Per (peer, observer) one request at a time, the
// newest receipt only (a later head supersedes an earlier one: each is a complete statement);
// a failure: again after 1, 2, 4, 8, 16 s, then at the next head. Never delays delivery.
class HeadForwarder {
 public:
  static constexpr int kRetries = 5;

  // `fingerprints`: the certificates to accept from each observer (fingerprints.h).
  HeadForwarder(boost::asio::io_context& io, net::TlsIdentity tls,
                FingerprintsOf fingerprints = {});
  ~HeadForwarder();
  HeadForwarder(const HeadForwarder&) = delete;
  HeadForwarder& operator=(const HeadForwarder&) = delete;

  // We countersigned the head of size `size` of `peer`'s log with `receipt` (DSSE JSON).
  void countersigned(const std::string& peer, std::uint64_t size, const std::string& receipt,
                     const std::vector<wire::Bundle>& observers);
  void close();

  struct Stats {
    std::uint64_t forwarded = 0;    // answered 200
    std::uint64_t failures = 0;     // no answer or another status
    std::uint64_t split_views = 0;  // an observer answered that the head contradicts its view
  };
  const Stats& stats() const { return stats_; }

 private:
  struct Target {
    std::string peer;
    wire::Bundle observer;
    std::uint64_t size = 0;  // the newest head to forward
    std::string receipt;
    std::uint64_t sent_size = 0;  // the largest the observer accepted
    bool sent_any = false;
    bool in_flight = false;
    int failures = 0;
    std::unique_ptr<boost::asio::steady_timer> retry;
  };
  void send(Target& target);
  void answered(Target& target, std::uint64_t size, Result<net::HttpResponse> response);

  boost::asio::io_context& io_;
  net::TlsIdentity tls_;
  FingerprintsOf fingerprints_;
  std::map<std::string, std::unique_ptr<net::FederationClient>> clients_;  // by observer
  std::map<std::pair<std::string, std::string>, Target> targets_;          // (peer, observer)
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  Stats stats_;
};

}  // namespace parley::gateway
