// SeqSet: the sequence numbers of one line's inbound messages that are stored, kept as a
// watermark and the few members above it. Pure.
//
// Seqs start at 1 on every line and fill in: a gap is transient (FLASH overtakes ROUTINE on
// a line, and the sender resends until receipted), so the members above the watermark are
// few. Memory is proportional to the gaps, not to the history: a line with a million stored
// messages and no gap is one integer. The peer session uses it to tell a repeated (line, seq)
// from a new one.
#pragma once

#include <cstdint>
#include <set>
#include <vector>

namespace parley::core {

class SeqSet {
 public:
  SeqSet() = default;
  // Every seq in 1..`watermark`, and the seqs in `above` (any order; members at or below
  // the watermark add nothing).
  SeqSet(std::uint64_t watermark, const std::vector<std::uint64_t>& above);

  bool contains(std::uint64_t seq) const;
  // Adds `seq`; the watermark rises over every seq that is now contiguous with it.
  void insert(std::uint64_t seq);

  // Every seq in 1..watermark() is a member.
  std::uint64_t watermark() const { return watermark_; }
  // The members not in 1..watermark(), ascending (none is watermark() + 1).
  const std::set<std::uint64_t>& above() const { return above_; }

  // Gaps (docs/protocol.md "Sequence numbers"): the seqs above the watermark and below the
  // highest member that are not members. How many there are (0: no gap).
  std::uint64_t missing() const;
  // The first `count_max` of them, ascending.
  std::vector<std::uint64_t> missing_seqs(std::size_t count_max) const;
  // How many of them are below `seq`: the messages before it that have not arrived.
  std::uint64_t missing_below(std::uint64_t seq) const;

 private:
  std::uint64_t watermark_ = 0;
  std::set<std::uint64_t> above_;
};

}  // namespace parley::core
