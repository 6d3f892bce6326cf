// The API's rate limit per principal (parley.toml api.principal_rate, api.principal_burst): a
// token bucket per principal, so that one principal's script cannot starve the others or the
// gateway's one thread. The operator token is not limited (it is the local operator, and its
// requests are few); a principal over its limit gets 429 with Retry-After. Time arrives as a
// value: the driver's clock, which tests move by hand.
#pragma once

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <string>

#include "parley/base/time.h"

namespace parley::gateway {

class RateLimiter {
 public:
  // `rate` tokens per second, at most `burst` held; a new principal starts full.
  void configure(double rate, int burst) {
    rate_ = rate;
    burst_ = static_cast<double>(burst);
  }

  // Takes one token of `principal`'s bucket at `now`. Nothing if it had one; else how long
  // until it has one again (at least 1 ms), and nothing is taken.
  std::optional<Duration> take(const std::string& principal, Time now) {
    auto [it, fresh] = buckets_.try_emplace(principal, Bucket{burst_, now});
    Bucket& b = it->second;
    if (!fresh && now > b.at) {
      const double elapsed = std::chrono::duration<double>(now - b.at).count();
      b.tokens = std::min(burst_, b.tokens + elapsed * rate_);
    }
    b.at = std::max(b.at, now);
    b.tokens = std::min(b.tokens, burst_);
    if (b.tokens >= 1.0) {
      b.tokens -= 1.0;
      return std::nullopt;
    }
    const double wait_s = (1.0 - b.tokens) / rate_;
    return std::max(Duration(1),
                    std::chrono::ceil<Duration>(std::chrono::duration<double>(wait_s)));
  }

 private:
  struct Bucket {
    double tokens = 0;
    Time at;
  };
  double rate_ = 10;
  double burst_ = 20;
  std::map<std::string, Bucket> buckets_;  // one per principal id: bounded by the directory
};

}  // namespace parley::gateway
