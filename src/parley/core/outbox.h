// The outbound queue of one peer session, with the window of transactions in flight.
//
// Outbound messages wait, not yet receipted, in precedence order (FLASH first), then by
// sequence number, then by arrival. A window of transactions is in flight at once, oldest
// first (docs/protocol.md "Transaction window"); each carries queued messages that no other
// one carries, is resent unchanged until answered, and may be given up so that its messages
// go again in a new one. A message whose `expires` passes while in flight leaves the queue
// but stays with its transaction, whose answer still decides what became of it. A queued
// message that no transaction has carried yet may be cancelled (cancel()); once one has, it
// may have reached the peer, and it can no longer be. Pure: no I/O, times are values.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
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
  // Carried by a transaction of the window. A message that any transaction has carried (one
  // in flight, one given up since, one before a restart) has record.tx set: the peer may hold it.
  bool in_flight = false;
};
// A transaction in flight: what it carries and what its answer is checked against.
struct InFlight {
  std::string tx;
  // The links of the peer's chain of keys when it was built (PeerSession::peer_chain): its
  // receipt is taken by the key in force then or a newer one, never by a key the peer had
  // replaced before (whoever holds a replaced key must not receipt what the peer lacks).
  std::size_t peer_keys = 1;
  // The head the receiver must hold before it handles this one (the transaction's `after`):
  // the head of the transaction built before it, or, for the first of the window and for a
  // FLASH lane transaction, the head the peer countersigned last.
  std::uint64_t after = 0;
  // A FLASH lane transaction: only FLASH messages, ordered behind no other transaction.
  bool lane = false;
  // Its entries, in transaction order: first `rotations` of our key rotation statements
  // (PeerSession::add_rotation_entries; no message), then its messages.
  std::size_t rotations = 0;
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
  // The peer answered 425: a transaction before it has not reached the peer yet. Sent again
  // once one before it is receipted, or at retry_at.
  bool blocked = false;
  // 425s answered although the peer had countersigned the head this one comes after (its
  // `after`): once may be a receipt that overtook the answer; twice, the peer went back.
  int early_after_countersigned = 0;
  Duration backoff{};  // its current retry backoff
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
  // A message of a transaction in flight: queued, or set aside (expired) in flight.
  Outgoing* carried(const std::string& id);
  // Takes queued message `id` out of the queue; if a transaction in flight carries it, it is
  // set aside there until that transaction's answer.
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
  // Of them, how many no transaction in flight carries.
  std::size_t waiting() const { return queue_.size() - carried_; }
  bool empty() const { return queue_.empty(); }
  // The created time of the oldest queued message.
  std::optional<Time> oldest_created() const;
  // The earliest `expires` of a queued message, with its id.
  std::optional<std::pair<Time, std::string>> next_expiry() const;
  // Stops watching the expiry of queued message `id` (it arrived: acknowledged).
  void unwatch_expiry(const std::string& id);
  // The lowest log index still queued, or `none`.
  std::uint64_t lowest_index(std::uint64_t none) const;
  // Whether a queued FLASH waits that no transaction in flight carries.
  bool flash_waits() const;

  // The window: the transactions in flight, in the order they were built.
  const std::deque<InFlight>& window() const { return window_; }
  // The transaction `tx` of the window, or nullptr.
  InFlight* in_flight(const std::string& tx);
  bool in_flight_is(const std::string& tx) const;
  // The transaction that carries message `id`, or nullptr.
  InFlight* carrier(const std::string& id);
  // `f` joins the window: its messages are carried.
  void start(InFlight f);
  // Transaction `tx` leaves the window (answered, or given up): what it carried and is still
  // queued goes again in a later one.
  void end_in_flight(const std::string& tx);

 private:
  Queue queue_;
  std::multiset<Time> created_;                      // the created time of each queued one
  std::map<std::string, QueueKey> index_;            // message id -> queue key
  std::set<std::pair<Time, std::string>> expiries_;  // (expires, id) of queued messages
  std::uint64_t next_arrival_ = 0;
  std::size_t carried_ = 0;  // queued messages a transaction of the window carries
  std::deque<InFlight> window_;
};

}  // namespace parley::core
