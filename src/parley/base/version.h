// What this build of parley is: `parley --version` and GET /api/v1/version print it.
#pragma once

#include <string_view>

namespace parley {

// The release (CMake's project version), e.g. "0.1.0".
std::string_view version();
// The git commit the build was made from (12 hex digits, "+" if the tree had changes), or
// "unknown" when built outside a git checkout. Stamped at every build (version.cmake).
std::string_view build_commit();

}  // namespace parley
