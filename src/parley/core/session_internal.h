// What the files of PeerSession (peer_session*.cc) share and nothing else includes: the
// transaction size budget and the alert threshold. Internal to the core.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>

#include "parley/core/peer_session.h"

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

}  // namespace parley::core::internal
