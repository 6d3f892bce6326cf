// Escalations: who is alerted, and when, once a message's acknowledgment deadline passed
// unacknowledged. Sans-I/O, pure: time arrives as a value, the roster as data.
//
// DESIGN.md "Precedence and acknowledgment deadlines": "On the receiving side the escalation
// chain runs (the addressee, the alternates in order, the duty roster)"; the sender is told.
// Each side's PeerSession starts an escalation when it marks a message overdue and stops it
// when an acknowledgment is durable there (core/peer_session.h). An escalation is a fixed
// chain of principals (receiving side: the addressee, then the line's other principals in
// order; sending side: the sender), then the duty officer of a role (core/roster.h), whoever
// is on duty at the instant of that step. Step k is due at deadline + k * cadence (the
// precedence's re-alert cadence, parley.toml [escalation]): step 0 alerts the first principal
// at the deadline, each next step the next one; once the chain is exhausted every step
// alerts the whole chain again (re-alerts until someone acknowledges).
//
// The schedule is a function of the deadline alone, so nothing about it is stored: after a
// restart the session starts again from the store's unacknowledged, overdue messages, and the
// first step it takes catches up with every step that fell due while the gateway was down
// (one alert naming everyone whose turn came), then keeps the cadence.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "parley/base/time.h"
#include "parley/core/model.h"

namespace parley::core {

// How often a running escalation takes its next step, per precedence (parley.toml
// [escalation]; docs/operations.md). DESIGN.md: FLASH "re-alert every minute".
struct Cadences : PerPrecedence {
  Cadences()
      : PerPrecedence{std::chrono::minutes(1), std::chrono::minutes(5), std::chrono::minutes(30),
                      std::chrono::hours(1)} {}
};

enum class EscalationSide { kSender, kReceiver };
std::string_view escalation_side_name(EscalationSide side);  // "sender", "receiver"

// One principal an escalation alerted: first when, last when, how many times.
struct AlertedPrincipal {
  std::string principal;
  Time at;
  Time last;
  std::uint64_t alerts = 0;
};

// What an escalation is made of when it starts.
struct EscalationStart {
  std::string line;
  Precedence precedence = Precedence::kRoutine;
  EscalationSide side = EscalationSide::kReceiver;
  Time deadline;
  std::vector<std::string> chain;  // principals, in the order they are alerted; not empty
  std::string duty_role;           // the role whose duty officer ends the chain; "": none
};

// A running escalation.
struct Escalation : EscalationStart {
  std::vector<AlertedPrincipal> alerted;  // in the order first alerted
  std::uint64_t steps = 0;                // steps taken
  Time next_alert;                        // deadline + steps * cadence
};

// One alert to raise now: the principals to alert, for one message.
struct Alert {
  std::string message_id;
  std::string line;
  Precedence precedence = Precedence::kRoutine;
  EscalationSide side = EscalationSide::kReceiver;
  Time deadline;
  std::vector<std::string> principals;  // alerted by this alert, in chain order
  std::uint64_t step = 0;               // the last step it takes (0: the first)
  bool repeat = false;                  // the chain was exhausted: everyone again
  bool first = false;                   // the escalation's first alert
};

// One message awaiting an acknowledgment as `parley status` shows it (docs/openapi.yaml,
// Escalation): before its deadline, when the first alert is due; after, who was alerted.
struct EscalationView {
  std::string message_id;
  std::string line;
  Precedence precedence = Precedence::kRoutine;
  EscalationSide side = EscalationSide::kReceiver;
  Time deadline;
  bool overdue = false;
  std::vector<AlertedPrincipal> alerted;
  std::optional<Time> next_alert;  // none once an acknowledgment is being stored
  // Whom the next alert alerts (step_principals at next_alert; before the deadline, the
  // addressee or the sender); empty when none is due.
  std::vector<std::string> next;
};

// The principals step `step` of `e` alerts, the duty officer looked up in `roster` at `at`.
std::vector<std::string> step_principals(const EscalationStart& e, std::uint64_t step,
                                         const std::vector<Shift>& roster, Time at);

class Escalations {
 public:
  explicit Escalations(Cadences cadences = {}) : cadences_(cadences) {}

  // Starts escalating `id` (unless it is running already); its first step is due at its
  // deadline. A start with an empty chain is our bug.
  void start(const std::string& id, EscalationStart start);
  // Ends the escalation of `id`, if any (an acknowledgment, or the message became final).
  void stop(const std::string& id);

  // Takes every step due at `now`: one Alert per message, in id order, naming everyone
  // whose step came since the last one (so a gateway that was down catches up at once).
  // The duty officer is whoever `roster` has on duty at `now`.
  std::vector<Alert> take_due(Time now, const std::vector<Shift>& roster);
  // When the next step is due, if any escalation runs.
  std::optional<Time> next_alert() const;

  const Escalation* find(std::string_view id) const;
  std::size_t size() const { return running_.size(); }
  const Cadences& cadences() const { return cadences_; }
  void set_cadences(Cadences cadences) { cadences_ = cadences; }

 private:
  Duration cadence_of(Precedence p) const;

  Cadences cadences_;
  std::map<std::string, Escalation, std::less<>> running_;
  std::set<std::pair<Time, std::string>> schedule_;  // (next_alert, id) of each
};

}  // namespace parley::core
