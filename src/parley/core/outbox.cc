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
  if (q->second.in_flight) --carried_;
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
  for (InFlight& f : window_) {
    auto it = f.expired.find(id);
    if (it != f.expired.end()) return &it->second;
  }
  return nullptr;
}

void Outbox::set_aside(const std::string& id) {
  Outgoing* o = queued(id);
  PARLEY_CHECK(o != nullptr);
  Outgoing gone = *o;
  InFlight* f = gone.in_flight ? carrier(id) : nullptr;
  unqueue(id);
  if (f != nullptr) f->expired.emplace(id, std::move(gone));
}

Result<Outgoing> Outbox::cancel(const std::string& id) {
  const Outgoing* o = queued(id);
  if (o == nullptr) return Status::not_found("message '" + id + "' is not queued");
  if (o->in_flight || o->record.tx) {
    std::string tx = o->record.tx.value_or("");
    if (const InFlight* f = o->in_flight ? carrier(id) : nullptr) tx = f->tx;
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
  // FLASH sorts first: only the queue's FLASH messages are looked at.
  for (const auto& [key, o] : queue_) {
    if (o.record.precedence != Precedence::kFlash) return false;
    if (!o.in_flight) return true;
  }
  return false;
}

InFlight* Outbox::in_flight(const std::string& tx) {
  for (InFlight& f : window_) {
    if (f.tx == tx) return &f;
  }
  return nullptr;
}

bool Outbox::in_flight_is(const std::string& tx) const {
  return std::any_of(window_.begin(), window_.end(),
                     [&tx](const InFlight& f) { return f.tx == tx; });
}

InFlight* Outbox::carrier(const std::string& id) {
  for (InFlight& f : window_) {
    if (std::find(f.ids.begin(), f.ids.end(), id) != f.ids.end()) return &f;
  }
  return nullptr;
}

void Outbox::start(InFlight f) {
  for (std::size_t i = f.rotations; i < f.ids.size(); ++i) {
    Outgoing* o = queued(f.ids[i]);
    PARLEY_CHECK(o != nullptr && !o->in_flight);
    o->in_flight = true;
    ++carried_;
  }
  window_.push_back(std::move(f));
}

void Outbox::end_in_flight(const std::string& tx) {
  const auto it =
      std::find_if(window_.begin(), window_.end(), [&tx](const InFlight& f) { return f.tx == tx; });
  if (it == window_.end()) return;
  for (const std::string& id : it->ids) {
    Outgoing* o = queued(id);
    if (o == nullptr || !o->in_flight) continue;
    o->in_flight = false;
    --carried_;
  }
  window_.erase(it);
}

}  // namespace parley::core
