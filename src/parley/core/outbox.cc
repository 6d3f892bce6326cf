#include "parley/core/outbox.h"

#include <algorithm>

#include "parley/base/check.h"

namespace parley::core {

void Outbox::enqueue(Outgoing outgoing) {
  const MessageRecord& r = outgoing.record;
  QueueKey key{static_cast<int>(r.precedence), r.seq, next_arrival_++};
  index_[r.id] = key;
  created_.insert(r.created);
  if (r.expires) expiries_.emplace(*r.expires, r.id);
  queue_.emplace(key, std::move(outgoing));
}

bool Outbox::unqueue(const std::string& id) {
  const auto index = index_.find(id);
  if (index == index_.end()) return false;
  const auto q = queue_.find(index->second);
  PARLEY_CHECK(q != queue_.end());
  const auto created = created_.find(q->second.record.created);
  PARLEY_CHECK(created != created_.end());
  created_.erase(created);
  if (q->second.record.expires) expiries_.erase({*q->second.record.expires, id});
  queue_.erase(q);
  index_.erase(index);
  return true;
}

Outgoing* Outbox::queued(const std::string& id) {
  auto index = index_.find(id);
  if (index == index_.end()) return nullptr;
  auto it = queue_.find(index->second);
  PARLEY_CHECK(it != queue_.end());
  return &it->second;
}

const Outgoing* Outbox::queued(const std::string& id) const {
  auto index = index_.find(id);
  if (index == index_.end()) return nullptr;
  auto it = queue_.find(index->second);
  PARLEY_CHECK(it != queue_.end());
  return &it->second;
}

Outgoing* Outbox::carried(const std::string& id) {
  if (Outgoing* o = queued(id)) return o;
  if (!in_flight_) return nullptr;
  auto it = in_flight_->expired.find(id);
  return it == in_flight_->expired.end() ? nullptr : &it->second;
}

void Outbox::set_aside(const std::string& id) {
  Outgoing* o = queued(id);
  PARLEY_CHECK(o != nullptr);
  Outgoing gone = *o;
  unqueue(id);
  if (gone.in_flight && in_flight_) in_flight_->expired.emplace(id, std::move(gone));
}

Result<Outgoing> Outbox::cancel(const std::string& id) {
  const Outgoing* o = queued(id);
  if (o == nullptr) return Status::not_found("message '" + id + "' is not queued");
  if (o->in_flight || o->record.tx) {
    std::string tx = o->record.tx.value_or("");
    if (o->in_flight && in_flight_) tx = in_flight_->tx;
    return Status::failed_precondition(
        "message '" + id + "' has left: transaction " + (tx.empty() ? "?" : tx) +
        " carried it to the peer, which may hold it already; it cannot be cancelled");
  }
  Outgoing gone = *o;
  unqueue(id);
  return gone;
}

std::optional<Time> Outbox::oldest_created() const {
  if (created_.empty()) return std::nullopt;
  return *created_.begin();
}

std::optional<std::pair<Time, std::string>> Outbox::next_expiry() const {
  if (expiries_.empty()) return std::nullopt;
  return *expiries_.begin();
}

void Outbox::unwatch_expiry(const std::string& id) {
  const Outgoing* o = queued(id);
  if (o != nullptr && o->record.expires) expiries_.erase({*o->record.expires, id});
}

std::uint64_t Outbox::lowest_index(std::uint64_t none) const {
  std::uint64_t lowest = none;
  for (const auto& [key, o] : queue_) lowest = std::min(lowest, o.index);
  return lowest;
}

bool Outbox::flash_waits() const {
  return std::any_of(queue_.begin(), queue_.end(), [](const auto& entry) {
    return entry.second.record.precedence == Precedence::kFlash && !entry.second.in_flight;
  });
}

void Outbox::end_in_flight() {
  for (auto& [key, o] : queue_) o.in_flight = false;
  in_flight_.reset();
}

}  // namespace parley::core
