// The outbound queue of one peer session, with the transaction in flight.
//
// Outbound messages wait, not yet receipted, in precedence order (FLASH first), then by
// sequence number, then by arrival. At most one transaction is in flight; it carries the
// first messages of the queue that fit, is resent unchanged until answered, and may be
// given up (a FLASH overtakes it) so that its messages go again in a new one. A message
// whose `expires` passes while in flight leaves the queue but stays with the transaction,
// whose answer still decides what became of it. A queued message that no transaction has
// carried yet may be cancelled (cancel()); once one has, it may have reached the peer, and it
// can no longer be. Pure: no I/O, times are values.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "parley/base/bytes.h"
#include "parley/base/status.h"
#include "parley/base/time.h"
#include "parley/core/model.h"
#include "parley/crypto/crypto.h"
#include "parley/ledger/merkle.h"

namespace parley::core {

// An outbound message not yet receipted (queued, or carried by the in-flight transaction).
struct Outgoing {
  MessageRecord record;
  std::uint64_t index = 0;  // its leaf in our log
  // Carried by the transaction in flight. A message that any transaction has carried (this
  // one, one given up since, one before a restart) has record.tx set: the peer may hold it.
  bool in_flight = false;
};
// The transaction in flight: what it carries and what its answer is checked against.
struct InFlight {
  std::string tx;
  std::vector<std::string> ids;
  std::vector<std::uint64_t> indices;
  std::vector<std::vector<ledger::Hash>> proofs;  // inclusion in the head, per id
  std::uint64_t size = 0;                         // the head it carries
  ledger::Hash root{};
  std::string sth;  // DSSE JSON
  Bytes sth_payload;
  std::array<std::uint8_t, crypto::kSignatureBytes> sth_sig{};
  std::string body;
  Precedence precedence = Precedence::kRoutine;
  std::optional<Time> retry_at;
  bool receipted = false;  // a valid receipt is being persisted
  bool reached = false;    // the peer answered it: its messages are sent
  // Its messages whose `expires` passed while it was in flight: out of the queue, but the
  // answer to this transaction still decides what became of them (a receipt wins).
  std::map<std::string, Outgoing> expired;
};

class Outbox {
 public:
  // Queue order: precedence (FLASH first), then sequence number, then arrival.
  using QueueKey = std::tuple<int, std::uint64_t, std::uint64_t>;
  using Queue = std::map<QueueKey, Outgoing>;

  void enqueue(Outgoing outgoing);
  // Takes message `id` out of the queue; false if it is not queued.
  bool unqueue(const std::string& id);
  // The queued message `id`, or nullptr.
  Outgoing* queued(const std::string& id);
  const Outgoing* queued(const std::string& id) const;
  // A message of the in-flight transaction: queued, or set aside (expired) in flight.
  Outgoing* carried(const std::string& id);
  // Takes queued message `id` out of the queue; if the transaction in flight carries it,
  // it is set aside there until that transaction's answer.
  void set_aside(const std::string& id);
  // Takes queued message `id` out of the queue for good, because its sender cancels it, and
  // returns it; nothing changes on an error. kNotFound: it is not queued (never here, or
  // settled: receipted, expired, refused). kFailedPrecondition: a transaction carries it or
  // has carried it (in flight, or it left before and may be with the peer), so cancelling
  // it could not undo its delivery.
  Result<Outgoing> cancel(const std::string& id);

  const Queue& queue() const { return queue_; }
  Queue& queue() { return queue_; }
  std::size_t size() const { return queue_.size(); }
  bool empty() const { return queue_.empty(); }
  // The created time of the oldest queued message.
  std::optional<Time> oldest_created() const;
  // The earliest `expires` of a queued message, with its id.
  std::optional<std::pair<Time, std::string>> next_expiry() const;
  // Stops watching the expiry of queued message `id` (it arrived: acknowledged).
  void unwatch_expiry(const std::string& id);
  // The lowest log index still queued, or `none`.
  std::uint64_t lowest_index(std::uint64_t none) const;
  // Whether a FLASH waits that the transaction in flight does not carry.
  bool flash_waits() const;

  InFlight* in_flight() { return in_flight_ ? &*in_flight_ : nullptr; }
  const InFlight* in_flight() const { return in_flight_ ? &*in_flight_ : nullptr; }
  bool in_flight_is(const std::string& tx) const { return in_flight_ && in_flight_->tx == tx; }
  void start(InFlight f) { in_flight_ = std::move(f); }
  // No transaction is in flight any more (answered, or given up): what it carried and is
  // still queued goes again in the next one.
  void end_in_flight();

 private:
  Queue queue_;
  std::multiset<Time> created_;                      // the created time of each queued one
  std::map<std::string, QueueKey> index_;            // message id -> queue key
  std::set<std::pair<Time, std::string>> expiries_;  // (expires, id) of queued messages
  std::uint64_t next_arrival_ = 0;
  std::optional<InFlight> in_flight_;
};

}  // namespace parley::core
