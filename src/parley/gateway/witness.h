// witness: the gateway's part in witnessing (docs/transcript.md "Checkpoints and witnesses";
// C2SP tlog-witness), both ways:
//   - as an observer of other parties' lines, it is their witness: answer_add_checkpoint
//     reads its view of the origin, lets ledger::add_checkpoint decide (pure), persists the
//     new view with a compare-and-set on the old size, keeps the evidence of a split view,
//     and answers (POST /add-checkpoint on the federation port, from pinned peers only);
//   - as a log, it submits the checkpoints of its logs to the observers of their lines
//     (CheckpointSubmitter) and keeps the cosignatures they answer.
// Single-threaded: the driver's io thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "parley/base/status.h"
#include "parley/base/time.h"
#include "parley/crypto/crypto.h"
#include "parley/gateway/fingerprints.h"
#include "parley/gateway/home.h"
#include "parley/ledger/checkpoint.h"
#include "parley/ledger/witness.h"
#include "parley/net/net.h"
#include "parley/store/store.h"
#include "parley/wire/wire.h"

namespace parley::gateway {

// The federation path of the witness endpoint (tlog-witness: "<prefix>/add-checkpoint", with
// an empty prefix).
inline constexpr std::string_view kAddCheckpointTarget = "/add-checkpoint";

// The origins `me` witnesses and their log keys: the logs of every pinned party with every
// other pinned party and with `me` (origin_of(A, B), key type 0x01), each under A's chain of
// keys as `store` pins it (store::pinned_chain: A's bundle key, then the new key of each of A's
// rotations stored; docs/protocol.md "Key rotation"), oldest first. A's logs for other peers
// hold its rotations at indexes the witness does not know, so ledger::add_checkpoint takes any
// key of the chain that is not older than the one of the checkpoint it witnessed last
// (ledger::WitnessedKeys). A party whose stored rotations do not follow is left out (its
// origins are unknown, 404), said in the log.
ledger::WitnessedKeys witnessed_logs(std::string_view me, const std::vector<wire::Bundle>& pinned,
                                     store::Store& store);

// This party's cosigning identity: its party key name ("parley.example/<party>") and its
// Ed25519 key, used with key type 0x04. `cosigner_key` is the verifier key others pin.
ledger::WitnessIdentity witness_identity(std::string_view party, const crypto::SigningKey& key);
ledger::NoteVerifier cosigner_key(std::string_view party, const crypto::VerifyKey& key);

struct WitnessReply {
  net::HttpResponse response;
  std::optional<store::SplitViewRecord> split_view;  // newly seen evidence, already stored
};
// Answers one add-checkpoint request: the spec's status codes for bad input (nothing
// stored), 200 with the cosignature line after the new view is durable. A store failure is
// a 503 (nothing cosigned). Never a crash.
WitnessReply answer_add_checkpoint(store::Store& store, const ledger::WitnessIdentity& witness,
                                   const ledger::WitnessedKeys& logs, std::string_view body,
                                   Time now);

// Our checkpoint of our log for `peer` at `size` entries with root `root` (docs/transcript.md
// "Checkpoints"), signed under the log's origin with our key of that head along our chain in
// that log (head_key_in, with our rotations `store` holds for `peer`): what the submitter sends
// to observers and GET /api/v1/peers/PEER/checkpoint answers. The store's errors; head_key_in's
// kDataLoss.
Result<std::string> our_checkpoint(const Home& home, store::Store& store, std::string_view peer,
                                   std::uint64_t size, const ledger::Hash& root);

// Submits our logs' checkpoints to the observers of their lines. Each observer is a pinned
// peer; one connection each. Per (log, observer) one request at a time: a head that moves
// meanwhile is submitted when the answer is in. 409 with the witness's size: submitted again
// at once from that size (tlog-witness), at most kConflictRetries times in a row; a failure
// to reach the observer: again after 1, 2, 4, ... s, at most kRetries times, then at the next
// move of the head. Nothing here waits for delivery or delays it.
class CheckpointSubmitter {
 public:
  static constexpr int kRetries = 5;
  static constexpr int kConflictRetries = 3;

  // Checkpoints are signed as our_checkpoint signs them, with `home`'s keys (which must
  // outlive the submitter). `fingerprints`: the certificates to accept from each observer
  // (fingerprints.h). An observer's cosignature is checked with its key in force
  // (store::pinned_chain).
  CheckpointSubmitter(boost::asio::io_context& io, const Home& home, net::TlsIdentity tls,
                      store::Store& store, FingerprintsOf fingerprints = {});
  ~CheckpointSubmitter();
  CheckpointSubmitter(const CheckpointSubmitter&) = delete;
  CheckpointSubmitter& operator=(const CheckpointSubmitter&) = delete;

  // Our log for `peer` now has `size` entries with root `root`; `observers` (pinned bundles)
  // witness it.
  void head_moved(const std::string& peer, std::uint64_t size, const ledger::Hash& root,
                  const std::vector<wire::Bundle>& observers);
  void close();

  // What was submitted and answered, for status and tests.
  struct Stats {
    std::uint64_t submitted = 0;
    std::uint64_t cosigned = 0;
    std::uint64_t conflicts = 0;
    std::uint64_t failures = 0;
  };
  const Stats& stats() const { return stats_; }

 private:
  struct Target {  // one log at one observer
    std::string peer;
    wire::Bundle observer;
    std::uint64_t size = 0;  // the head to submit
    ledger::Hash root{};
    std::uint64_t witness_size = 0;  // what we believe the witness holds
    bool in_flight = false;
    int failures = 0;
    int conflicts = 0;
    std::unique_ptr<boost::asio::steady_timer> retry;
  };
  void submit(Target& target);
  void answered(Target& target, std::uint64_t size, const std::string& note,
                Result<net::HttpResponse> response);
  Result<std::string> request_body(const Target& target, const std::string& note);

  boost::asio::io_context& io_;
  const Home& home_;
  std::string me_;
  net::TlsIdentity tls_;
  store::Store& store_;
  FingerprintsOf fingerprints_;
  std::map<std::string, std::unique_ptr<net::FederationClient>> clients_;  // by observer
  std::map<std::pair<std::string, std::string>, Target> targets_;          // by (peer, observer)
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  Stats stats_;
};

}  // namespace parley::gateway
