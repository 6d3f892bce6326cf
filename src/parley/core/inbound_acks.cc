#include "parley/core/inbound_acks.h"

#include <algorithm>

#include "parley/base/check.h"

namespace parley::core {

void InboundAcks::watch(const std::string& id, AwaitingAck awaiting) {
  if (holds(id)) return;
  const auto [it, inserted] = awaiting_.emplace(id, std::move(awaiting));
  if (!it->second.overdue && !it->second.ack_by) deadlines_.emplace(it->second.deadline, id);
}

void InboundAcks::settle(const std::string& id, SettledInbound settled) {
  if (holds(id)) return;
  settled_.emplace(id, std::move(settled));
}

const AwaitingAck* InboundAcks::awaiting(std::string_view id) const {
  const auto it = awaiting_.find(id);
  return it == awaiting_.end() ? nullptr : &it->second;
}

const SettledInbound* InboundAcks::settled(std::string_view id) const {
  const auto it = settled_.find(id);
  return it == settled_.end() ? nullptr : &it->second;
}

void InboundAcks::ack_pending(const std::string& id, std::string by) {
  const auto it = awaiting_.find(id);
  PARLEY_CHECK(it != awaiting_.end() && !it->second.ack_by);
  unwatch(id, it->second);
  it->second.ack_by = std::move(by);
}

void InboundAcks::ack_failed(const std::string& id) {
  const auto it = awaiting_.find(id);
  if (it == awaiting_.end() || !it->second.ack_by) return;
  it->second.ack_by.reset();
  // A deadline that passed meanwhile is due at the next timer: marked then, still once.
  if (!it->second.overdue) deadlines_.emplace(it->second.deadline, id);
}

void InboundAcks::mark_shown(const std::string& id) {
  const auto it = awaiting_.find(id);
  if (it != awaiting_.end()) it->second.shown = true;
}

void InboundAcks::ack_durable(const std::string& id) {
  const auto it = awaiting_.find(id);
  if (it == awaiting_.end()) return;
  unwatch(id, it->second);
  settled_.emplace(id, SettledInbound{it->second.line, "already acknowledged by " +
                                                           it->second.ack_by.value_or("us")});
  awaiting_.erase(it);
}

std::vector<std::string> InboundAcks::take_due(Time now) {
  std::vector<std::string> due;
  for (auto it = deadlines_.begin(); it != deadlines_.end() && it->first <= now;
       it = deadlines_.erase(it)) {
    due.push_back(it->second);
  }
  std::sort(due.begin(), due.end());
  for (const std::string& id : due) {
    const auto it = awaiting_.find(id);
    PARLEY_CHECK(it != awaiting_.end());  // deadlines_ holds only awaiting ids
    it->second.overdue = true;
  }
  return due;
}

std::optional<Time> InboundAcks::next_deadline() const {
  if (deadlines_.empty()) return std::nullopt;
  return deadlines_.begin()->first;
}

std::size_t InboundAcks::overdue() const {
  return static_cast<std::size_t>(std::count_if(
      awaiting_.begin(), awaiting_.end(), [](const auto& entry) { return entry.second.overdue; }));
}

}  // namespace parley::core
