// DeliveryHistogram: how long our messages took from acceptance to a durable receipt, counted
// in fixed buckets as a Prometheus histogram is (cumulative when exported: /metrics'
// parley_delivery_seconds). The bounds reach from a fraction of a second (a FLASH on a healthy
// link) to the six hours of ROUTINE's speed-of-service target (DESIGN.md, ACP 121), so that
// every precedence's target falls on a bucket bound. Pure: the caller gives the duration.
#pragma once

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>

#include "parley/base/time.h"

namespace parley::core {

// Upper bounds in milliseconds: 100 ms .. 6 h. FLASH's target is 10 min, IMMEDIATE's 30 min,
// PRIORITY's 3 h, ROUTINE's 6 h.
inline constexpr std::array<std::int64_t, 17> kDeliveryBucketsMs = {
    100,     250,     500,     1'000,     2'500,     5'000,     10'000,     30'000,    60'000,
    120'000, 300'000, 600'000, 1'800'000, 3'600'000, 7'200'000, 10'800'000, 21'600'000};

struct DeliveryHistogram {
  // counts[i]: observations <= kDeliveryBucketsMs[i] and above the bound before (not
  // cumulative); counts.back(): above the last bound (+Inf).
  std::array<std::uint64_t, kDeliveryBucketsMs.size() + 1> counts{};
  std::int64_t sum_ms = 0;
  std::uint64_t count = 0;

  // Counts one delivery that took `took` (a negative one, a clock that stepped back, as 0).
  void observe(Duration took) {
    const std::int64_t ms = std::max<std::int64_t>(
        0, std::chrono::duration_cast<std::chrono::milliseconds>(took).count());
    std::size_t i = 0;
    while (i < kDeliveryBucketsMs.size() && ms > kDeliveryBucketsMs[i]) ++i;
    ++counts[i];
    sum_ms += ms;
    ++count;
  }
};

}  // namespace parley::core
