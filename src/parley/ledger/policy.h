// policy: C2SP tlog-policy, which signatures make a checkpoint trusted: the logs accepted, the
// witnesses known, and a quorum of them (a witness, "none", or a group "k of n" of witnesses
// and groups defined on earlier lines). `parley verify --policy FILE` applies one to the
// cosigned checkpoints of an export (witnessed.h). Pure code. docs/transcript.md "Policy".
//
//   log <vkey> [<url>]
//   witness <name> <vkey> [<url>]
//   group <name> all|any|<k> <member>...
//   quorum <name>
//
// Whitespace is ASCII space and tab; empty lines and lines starting with '#' are ignored; the
// only control characters allowed are tab and newline.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "parley/base/status.h"
#include "parley/ledger/checkpoint.h"

namespace parley::ledger {

inline constexpr std::size_t kPolicyBytesMax = 64 * 1024;

struct Policy {
  struct Witness {
    std::string name;
    NoteVerifier key;  // type 0x04 (cosignature/v1)
  };
  struct Group {
    std::string name;
    std::size_t threshold = 1;
    std::vector<std::string> members;  // witnesses and groups defined before
  };
  std::vector<NoteVerifier> logs;  // type 0x01; empty: the log is known from context
  std::vector<Witness> witnesses;
  std::vector<Group> groups;
  std::string quorum;  // "none", a witness or a group
};

// Strictly per tlog-policy: known keywords only, vkeys of the right type (logs 0x01,
// witnesses 0x04), no duplicate key, names unique and defined before use, 1 <= k <= n, each
// member listed once, `none` never a member, exactly one quorum line. kInvalidArgument
// "policy line N: reason".
Result<Policy> parse_policy(std::string_view text);

// Whether the signed checkpoint `note` meets `policy`: signed by one of its logs (by any, if
// it lists none: the caller checks the log's own key), and cosigned by a quorum of its
// witnesses (each cosignature verified over the note's text; a bad one counts as absent).
// OK, or kFailedPrecondition saying what is missing.
Status check_policy(const Policy& policy, const SignedNote& note);

}  // namespace parley::ledger
