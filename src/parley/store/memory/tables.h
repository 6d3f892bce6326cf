// The memory store's tables (memory_store.h): what memory_store.cc (messages, the transcript,
// recovery) and memory_directory.cc (the directory, witnesses, events) share. Not for use
// outside store/memory.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "parley/store/memory/memory_store.h"

namespace parley::store {
namespace memory_detail {

// What SQLite's INTEGER holds; the same numbers are refused as out of range.
inline bool fits_int64(std::uint64_t v) {
  return v <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
}

struct StoredHead {
  crypto::Digest root{};
  std::string sth;
  std::optional<std::string> receipt;
  std::optional<std::vector<crypto::Digest>> frontier;
};

inline std::string token_key(ByteView token_hash) {
  return std::string(token_hash.begin(), token_hash.end());
}

// (line, direction, seq): unique, as SQLite's UNIQUE (line, direction, seq).
using SeqKey = std::tuple<std::string, core::Direction, std::uint64_t>;
// (owner, peer, index or size): a log entry's or a head's key.
using LogKey = std::tuple<std::string, std::string, std::uint64_t>;

// The tables of the SQLite schema, with the indexes the queries need.
struct Tables {
  // Stored without their receipt (read back from `receipts` by their tx) and log_index.
  std::map<std::string, core::MessageRecord, std::less<>> messages;
  // The receipt of each transaction, stored once (SQLite's receipts), and the messages that
  // have the receipt of their tx (SQLite's receipted = 1).
  std::map<std::string, std::string, std::less<>> receipts;
  std::set<std::string, std::less<>> receipted;
  // The receipt of a message that has no tx (SQLite's message_receipts, receipted = 2).
  std::map<std::string, std::string, std::less<>> message_receipts;
  std::map<SeqKey, std::string> by_seq;  // -> message id
  // The words of each message's searchable text (store/search.h), indexed when it is stored
  // as SQLite's messages_fts: id -> its words, sorted and unique.
  std::map<std::string, std::vector<std::string>, std::less<>> words;
  std::map<LogKey, core::LogEntry> log;
  // A message's log index: the lowest entry stored for it (kMessageSelect's MIN(idx)).
  std::map<std::string, std::uint64_t, std::less<>> log_index;
  std::map<LogKey, StoredHead> heads;
  std::map<std::string, core::InclusionRecord, std::less<>> inclusion;
  std::map<LogKey, core::PutRotation> rotations;  // by (owner, peer, index), as SQLite's
  std::map<std::string, core::PutEvidence> evidence;
  std::map<std::string, wire::Bundle> peers;
  std::map<std::string, core::Principal> principals;
  // A non-empty token hash (its bytes as a string: GCC 12 -O2 warns, wrongly, on a map keyed
  // by a byte vector) -> its principal's id.
  std::map<std::string, std::string> by_token;
  std::map<std::string, core::Line> lines;
  std::map<std::pair<std::string, Time>, core::Shift> roster;  // by (role, from)
  std::vector<core::DirectoryChange> changes;
  std::map<std::string, WitnessedCheckpoint, std::less<>> witnessed;  // by origin
  std::vector<SplitViewRecord> split_views;
  std::map<std::pair<std::string, std::string>, CosignatureRecord> cosignatures;
  std::map<std::pair<std::string, std::uint64_t>, ForwardedHead> forwarded;  // (origin, size)
  std::vector<DisclosureRecord> disclosures;                                 // oldest first
  std::deque<EventRecord> events;  // the newest kEventsKept, oldest first
  std::uint64_t last_event = 0;    // the newest id given (kept or dropped since)
};

}  // namespace memory_detail

class MemoryStore::Disk {
 public:
  std::mutex mutex;  // each call of each store on this disk runs alone, as one transaction
  memory_detail::Tables tables;
};

}  // namespace parley::store
