#include "parley/core/escalation.h"

#include <algorithm>

#include "parley/base/check.h"
#include "parley/core/roster.h"

namespace parley::core {

std::string_view escalation_side_name(EscalationSide side) {
  switch (side) {
    case EscalationSide::kSender:
      return "sender";
    case EscalationSide::kReceiver:
      return "receiver";
  }
  return "receiver";
}

namespace {

bool contains(const std::vector<std::string>& v, const std::string& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

void add_unique(std::vector<std::string>& to, const std::vector<std::string>& from) {
  for (const std::string& p : from) {
    if (!contains(to, p)) to.push_back(p);
  }
}

}  // namespace

std::vector<std::string> step_principals(const EscalationStart& e, std::uint64_t step,
                                         const std::vector<Shift>& roster, Time at) {
  if (step < e.chain.size()) return {e.chain[step]};
  std::optional<std::string> officer;
  if (!e.duty_role.empty()) {
    if (std::optional<Shift> shift = on_duty(roster, e.duty_role, at)) officer = shift->principal;
  }
  const bool officer_new = officer && !contains(e.chain, *officer);
  // The duty officer's own step, if there is one to alert who is not in the chain already.
  if (step == e.chain.size() && officer_new) return {*officer};
  // Past the chain: everyone again (a duty officer who took over since included).
  std::vector<std::string> all = e.chain;
  if (officer_new) all.push_back(*officer);
  return all;
}

void Escalations::start(const std::string& id, EscalationStart start) {
  PARLEY_CHECK(!start.chain.empty());
  if (running_.count(id) > 0) return;
  Escalation e;
  static_cast<EscalationStart&>(e) = std::move(start);
  e.next_alert = e.deadline;
  schedule_.emplace(e.next_alert, id);
  running_.emplace(id, std::move(e));
}

void Escalations::stop(const std::string& id) {
  const auto it = running_.find(id);
  if (it == running_.end()) return;
  schedule_.erase({it->second.next_alert, id});
  running_.erase(it);
}

Duration Escalations::cadence_of(Precedence p) const {
  const Duration d = cadences_.for_precedence(p);
  // A config check refuses less than a second; a cadence of zero would never advance.
  return d > Duration::zero() ? d : std::chrono::seconds(1);
}

std::vector<Alert> Escalations::take_due(Time now, const std::vector<Shift>& roster) {
  std::vector<std::string> due;
  for (auto it = schedule_.begin(); it != schedule_.end() && it->first <= now;
       it = schedule_.erase(it)) {
    due.push_back(it->second);
  }
  std::sort(due.begin(), due.end());
  std::vector<Alert> alerts;
  for (const std::string& id : due) {
    Escalation& e = running_.at(id);
    const Duration cadence = cadence_of(e.precedence);
    // now >= next_alert >= deadline: at least the step that was due.
    const auto last = static_cast<std::uint64_t>((now - e.deadline) / cadence);
    const std::uint64_t slots = e.chain.size() + (e.duty_role.empty() ? 0 : 1);
    Alert a{id, e.line, e.precedence, e.side, e.deadline, {}, last, false, e.steps == 0};
    for (std::uint64_t k = e.steps; k <= last; ++k) {
      add_unique(a.principals, step_principals(e, k, roster, now));
      // Every step past the chain alerts the same principals: one is enough.
      if (k >= slots) {
        a.repeat = true;
        break;
      }
    }
    for (const std::string& p : a.principals) {
      auto seen = std::find_if(e.alerted.begin(), e.alerted.end(),
                               [&](const AlertedPrincipal& x) { return x.principal == p; });
      if (seen == e.alerted.end()) {
        e.alerted.push_back({p, now, now, 1});
      } else {
        seen->last = now;
        ++seen->alerts;
      }
    }
    e.steps = last + 1;
    e.next_alert = e.deadline + static_cast<Duration::rep>(e.steps) * cadence;
    schedule_.emplace(e.next_alert, id);
    alerts.push_back(std::move(a));
  }
  return alerts;
}

std::optional<Time> Escalations::next_alert() const {
  if (schedule_.empty()) return std::nullopt;
  return schedule_.begin()->first;
}

const Escalation* Escalations::find(std::string_view id) const {
  const auto it = running_.find(id);
  return it == running_.end() ? nullptr : &it->second;
}

}  // namespace parley::core
