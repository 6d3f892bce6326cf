// The simulated principals of sim::Cluster: submissions, acks, retries, the inbox.
#include <algorithm>
#include <string>

#include "parley/sim/cluster.h"

namespace parley::sim {

using namespace std::chrono_literals;

namespace {
constexpr int kRetriesMax = 3;  // a principal retries a failed request at most this often
}  // namespace

// ---- principals ----

void Cluster::submit(int index, const std::string& line, int depth,
                     std::optional<core::Precedence> precedence) {
  Gateway& g = *gateways_[index];
  ++outcome_.stats.submitted;
  PrincipalRequest request{false, line, "", depth};
  if (!g.up) {
    trace(&g, "principal cannot reach the gateway to send on " + line);
    principal_error(g, request);
    return;
  }
  const LineEnd* end = nullptr;
  for (const LineEnd& e : g.lines) {
    if (e.id == line) end = &e;
  }
  PARLEY_CHECK(end != nullptr);
  static constexpr core::Precedence kPrecedences[] = {
      core::Precedence::kFlash,    core::Precedence::kImmediate, core::Precedence::kImmediate,
      core::Precedence::kPriority, core::Precedence::kPriority,  core::Precedence::kRoutine,
      core::Precedence::kRoutine,  core::Precedence::kRoutine};
  core::Submit s;
  s.request = g.next_request++;
  s.line = line;
  s.principal = workload_.chance(0.8) ? end->local : end->alternate;
  s.precedence = precedence ? *precedence : kPrecedences[workload_.between(0, 7)];
  const bool meeting = scenario_.submissions.empty() &&
                       workload_.chance(scenario_.meeting_probability) && meeting_step(g, line, s);
  if (!meeting) {
    s.type = "text";
    s.content = wire::Content{"{}", "sim message " + std::to_string(++messages_composed_) +
                                        " from " + g.party + "/" + s.principal};
  }
  g.principal[s.request] = request;
  feed(g, std::move(s));
}

void Cluster::consider_ack(Gateway& g, const std::string& id) {
  // The gateway answers automatic tests; principals try to ack some in the active phase (and
  // are refused), never afterwards: the tests go on for ever, and the run must be able to end.
  if (now_ >= active_end_ && automatic_test_at(g, id)) return;
  auto decided = ack_decided_.find(id);
  if (decided == ack_decided_.end()) {
    decided = ack_decided_.emplace(id, workload_.chance(scenario_.ack_probability)).first;
  }
  if (!decided->second || !ack_busy_.insert({g.index, id}).second) return;
  // Most principals answer within seconds, some after the deadline.
  const Duration wait =
      workload_.chance(0.7) ? workload_.duration(500ms, 15s) : workload_.duration(15s, 5min);
  const int index = g.index;
  after(wait, [this, index, id] { acknowledge(index, id, 0); });
}

void Cluster::acknowledge(int index, const std::string& id, int depth) {
  Gateway& g = *gateways_[index];
  PrincipalRequest request{true, "", id, depth};
  if (!g.up) {
    principal_error(g, request);
    return;
  }
  // The principal reads its inbox (the store) to see whether the message awaits an ack and on
  // which line; the node finds the message itself (Acknowledge names only its id).
  Result<std::optional<core::MessageRecord>> found = g.store->get_message(id);
  if (!found.is_ok() || !found->has_value()) {
    violation("inbox-lost", g.party + " no longer holds inbound message " + id);
    ack_busy_.erase({index, id});
    return;
  }
  core::MessageRecord message = std::move(**found);
  if (message.state == core::MessageState::kAcknowledged || message.acknowledged_by) {
    ack_busy_.erase({index, id});  // the principal sees it acknowledged already
    return;
  }
  const LineEnd* end = nullptr;
  for (const LineEnd& e : g.lines) {
    if (e.id == message.line) end = &e;
  }
  PARLEY_CHECK(end != nullptr);
  request.line = message.line;
  core::Acknowledge ack;
  ack.request = g.next_request++;
  ack.principal = workload_.chance(0.7) ? end->local : end->alternate;
  ack.message_id = message.id;
  g.principal[ack.request] = request;
  // Mostly it read the message before acknowledging it: the stage "shown" (once, the core
  // decides); else it acknowledges straight away (`parley ack ID`), and the ack must write
  // the stage itself (invariant acked-not-shown).
  if (workload_.chance(0.7)) feed(g, core::Show{ack.principal, ack.message_id});
  feed(g, std::move(ack));
}

void Cluster::consider_cancel(Gateway& g, const std::string& id) {
  // Scripted workloads (the every-write loop's reference) send exactly what they script.
  if (!scenario_.submissions.empty() || !workload_.chance(scenario_.cancel_probability)) return;
  const int index = g.index;
  // Often before the next transaction leaves (granted), sometimes after (refused).
  const Duration wait = workload_.chance(0.5) ? Duration(0) : workload_.duration(1ms, 3s);
  after(wait, [this, index, id] { cancel(index, id); });
}

void Cluster::cancel(int index, const std::string& id) {
  Gateway& g = *gateways_[index];
  if (!g.up) return;  // the principal gives up; nothing was asked
  Result<std::optional<core::MessageRecord>> found = g.store->get_message(id);
  if (!found.is_ok() || !found->has_value()) {
    violation("accepted-lost", g.party + " no longer holds accepted message " + id);
    return;
  }
  const core::MessageRecord& m = **found;
  ++outcome_.stats.cancels_asked;
  core::Cancel c;
  c.request = g.next_request++;
  // Its sender, or the line's other principal (an alternate may cancel too).
  c.principal = m.from.principal;
  for (const LineEnd& e : g.lines) {
    if (e.id == m.line && workload_.chance(0.3)) {
      c.principal = m.from.principal == e.local ? e.alternate : e.local;
    }
  }
  c.message_id = id;
  g.principal[c.request] = PrincipalRequest{false, m.line, id, kRetriesMax, true};
  feed(g, std::move(c));
}

// The principal saw an error (the gateway crashed with the request pending, or was down):
// it may try again, which is a new request (a new message, for a submission).
void Cluster::principal_error(Gateway& g, const PrincipalRequest& request) {
  ++outcome_.stats.principal_errors;
  if (request.cancel) return;  // not asked again: the crash may have stored it or not
  const int index = g.index;
  if (request.ack) ack_busy_.erase({index, request.target});
  if (request.depth >= kRetriesMax || !workload_.chance(scenario_.resubmit_probability)) return;
  const Duration wait = workload_.duration(1s, 20s);
  if (request.ack) {
    if (!ack_busy_.insert({index, request.target}).second) return;
    const std::string id = request.target;
    const int depth = request.depth + 1;
    after(wait, [this, index, id, depth] { acknowledge(index, id, depth); });
  } else {
    const std::string line = request.line;
    const int depth = request.depth + 1;
    after(wait, [this, index, line, depth] { submit(index, line, depth); });
  }
}

// A principal opening the inbox after the gateway (re)started finds what it was not told
// about (a message stored just before a crash is never announced).
void Cluster::poll_inbox(Gateway& g) {
  store::MessageQuery query;
  query.direction = core::Direction::kInbound;
  query.limit = 1'000'000;
  Result<std::vector<core::MessageRecord>> inbox = g.store->list_messages(query);
  if (!inbox.is_ok()) {
    violation("store-failed", g.party + " inbox: " + inbox.status().to_string());
    return;
  }
  // Oldest first, so the workload's draws do not depend on the store's order.
  std::sort(inbox->begin(), inbox->end(),
            [](const core::MessageRecord& a, const core::MessageRecord& b) {
              return std::tie(a.line, a.seq) < std::tie(b.line, b.seq);
            });
  for (const core::MessageRecord& m : *inbox) {
    // A message this gateway refused is evidence, not in the principal's inbox (as the API).
    if (m.state == core::MessageState::kRefused) continue;
    if (m.state != core::MessageState::kAcknowledged && !m.acknowledged_by) consider_ack(g, m.id);
  }
}

}  // namespace parley::sim
