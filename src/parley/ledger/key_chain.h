// key_chain: which of a party's signing keys is in force where in its log (docs/protocol.md
// "Key rotation", docs/transcript.md "The chain of keys"). A log starts under the key of the
// party's pinned bundle; a rotation statement (wire/rotation.h) at index r, signed by the key
// in force at r, puts its new key in force for every later position:
//
//   - entry i is signed by the key in force after every rotation at an index below i (so the
//     statement itself, at r, is signed by the key it replaces);
//   - a head of size s is signed by the key of its last entry, entry s - 1 (the empty head by
//     the first key). The head that first includes the statement (size r + 1) is still the
//     old key's: the peer's countersignature over it accepts the rotation, and the heads
//     after it are the new key's.
//
// So where a key is in force is a function of the log alone, and a verifier (the peer's
// gateway, `parley verify`) checks every entry and head with exactly one key. A party's
// rotations are numbered n = 1, 2, ... and each starts the next seal-key epoch (the first is
// 1). Pure, no I/O.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "parley/base/status.h"
#include "parley/crypto/crypto.h"
#include "parley/wire/rotation.h"

namespace parley::ledger {

class KeyChain {
 public:
  // One key of the chain: in force for the entries from `from_index` on (0 for the first),
  // until the next link's.
  struct Link {
    std::uint64_t from_index = 0;
    crypto::VerifyKey key;
    std::uint32_t epoch = 1;
    std::uint64_t n = 0;          // the rotation that made it; 0 for the pinned key
    std::string tls_fingerprint;  // the rotation's new certificate; empty for the pinned key
  };

  // The chain of `party`'s log, starting from the pinned key `first` (seal epoch 1).
  KeyChain(std::string party, const crypto::VerifyKey& first);

  const std::string& party() const { return party_; }
  // The link in force at entry `index`: the last whose from_index is at most `index`.
  const Link& link_at(std::uint64_t index) const;
  // The link of a head of `size` entries: link_at(size - 1), the first link for the empty head.
  const Link& head_link(std::uint64_t size) const;
  // The key entry `index` must be signed with: link_at(index)'s.
  const crypto::VerifyKey& entry_key(std::uint64_t index) const { return link_at(index).key; }
  // The key a head of `size` entries must be signed with: head_link(size)'s.
  const crypto::VerifyKey& head_key(std::uint64_t size) const { return head_link(size).key; }
  // The newest link: the key in force after the last rotation.
  const Link& newest() const { return links_.back(); }
  const std::vector<Link>& links() const { return links_; }
  // Whether `key` is one of the chain's keys.
  bool contains(const crypto::VerifyKey& key) const;
  // `check(key)` (a Status) with each key of the chain, newest first, until one is OK: for a
  // signature whose place in this log is not known (a receipt, which has none; an entry or
  // head of the party's log for another peer, where its rotations stand at other indexes).
  // OK if one is; else the newest key's error.
  template <typename Check>
  Status any_key(Check check) const {
    const Status newest = check(links_.back().key);
    if (newest.is_ok()) return newest;
    for (auto link = links_.rbegin() + 1; link != links_.rend(); ++link) {
      if (check(link->key).is_ok()) return Status::ok();
    }
    return newest;
  }

  // Opens `text` as the rotation statement at entry `index` of the log and, if it is good,
  // appends its new key. In order: `index` must follow the last rotation's (kInvalidArgument
  // "a rotation at entry I, but the chain already has one at entry J"), the statement must be
  // signed by the key in force there and name it as its old key (wire::open_rotation's
  // errors: kUnauthenticated for a statement not signed by the pinned chain's key), its n the
  // newest link's n + 1 and its epoch the newest epoch + 1 (kInvalidArgument). Nothing changes
  // on an error. Returns the statement.
  Result<wire::Rotation> add(std::uint64_t index, std::string_view text);

 private:
  std::string party_;
  std::vector<Link> links_;  // by from_index, strictly increasing; at least one
};

}  // namespace parley::ledger
