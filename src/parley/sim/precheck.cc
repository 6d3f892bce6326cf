// The simulator's answer to the node's Precheck (core/precheck.h): where the daemon runs the
// items on its pool of threads (gateway/verify_pool.h), the simulator runs them inline and
// feeds Prechecked after a delay its seed draws, so answers overtake each other (between a
// peer's transactions and between peers). Some answers leave items out, or come twice: the
// node must verify exactly as without them, in the order the transactions arrived.
#include "parley/core/precheck.h"

#include <memory>
#include <utility>

#include "parley/sim/cluster.h"

namespace parley::sim {

using namespace std::chrono_literals;

namespace {

constexpr Duration kPrecheckDelayMax = 1ms;  // a pool of threads answers in well under that
constexpr double kLeaveOutItem = 0.1;        // an item answered with no fact
constexpr double kNoFacts = 0.05;            // an answer with no fact at all
constexpr double kTwice = 0.02;              // an answer fed again (the node ignores it)

}  // namespace

void Cluster::precheck(Gateway& g, core::Precheck& asked) {
  ++outcome_.stats.prechecks;
  auto facts = std::make_shared<crypto::Facts>();
  const bool none = prechecks_.chance(kNoFacts);
  for (const core::PrecheckItem& item : asked.items) {
    if (none || prechecks_.chance(kLeaveOutItem)) {
      ++outcome_.stats.precheck_items_left_out;
      continue;
    }
    facts->merge(core::run_precheck(item));
  }
  const int index = g.index;
  const int incarnation = g.incarnation;
  const core::PrecheckToken token = asked.token;
  std::shared_ptr<const crypto::Facts> answer = std::move(facts);
  const int times = prechecks_.chance(kTwice) ? 2 : 1;
  for (int i = 0; i < times; ++i) {
    after(prechecks_.duration(Duration::zero(), kPrecheckDelayMax),
          [this, index, incarnation, token, answer] {
            Gateway& gw = *gateways_[index];
            if (alive(gw, incarnation)) feed(gw, core::Prechecked{token, answer});
          });
  }
}

}  // namespace parley::sim
