// What the files of PeerSession (peer_session*.cc) share and nothing else includes: the
// transaction size budget and the alert threshold. Internal to the core.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>

#include "parley/core/peer_session.h"
#include "parley/wire/rotation.h"

namespace parley::core::internal {

// Room left in a transaction for its own fields and its signed head around the entries.
constexpr std::size_t kTransactionOverheadBytes = 2048;
constexpr std::size_t kEntryBytes = 64;             // an entry's fields around its envelope
constexpr std::size_t kConsistencyItemBytes = 160;  // a consistency item's fields
constexpr std::size_t kProofHashBytes = 67;         // "<64 hex>",

// A whole-transaction refusal streak of this length raises kRefusalRepeats (and again at
// each doubling: an alert that stays news without repeating every retry).
constexpr std::uint64_t kRefusalAlertStreak = 2;

inline Notice notice(NoticeKind kind, std::string message_id, std::string line, std::string text) {
  return Notice{kind, std::move(message_id), std::move(line), std::move(text)};
}

// The rotations row of `statement` (`text`, exactly as signed: the leaf) at entry `index` of
// `owner`'s log for `other` (docs/protocol.md "Key rotation"); stored with its LogEntry.
PutRotation rotation_row(const std::string& owner, const std::string& other, std::uint64_t index,
                         const wire::Rotation& statement, const std::string& text);

// kPeerKeyRotated for `peer`'s rotation `statement` at entry `index`, pinned now; `recovered`:
// taken back from the peer's copy of its log at start (docs/protocol.md "Forks and restores").
Notice rotation_notice(const std::string& peer, const wire::Rotation& statement,
                       std::uint64_t index, bool recovered);

}  // namespace parley::core::internal
