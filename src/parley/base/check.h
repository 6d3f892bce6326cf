// PARLEY_CHECK: for parley's own bugs only. Logs and aborts in every build.
// Anything the outside world controls gets a Status, never a CHECK.
#pragma once

namespace parley::internal {
[[noreturn]] void check_failed(const char* condition, const char* file, int line);
}  // namespace parley::internal

#define PARLEY_CHECK(cond)                                                    \
  do {                                                                        \
    if (!(cond)) ::parley::internal::check_failed(#cond, __FILE__, __LINE__); \
  } while (false)
