#include "parley/core/seq_set.h"

#include <iterator>

namespace parley::core {

SeqSet::SeqSet(std::uint64_t watermark, const std::vector<std::uint64_t>& above)
    : watermark_(watermark) {
  for (const std::uint64_t seq : above) insert(seq);
}

bool SeqSet::contains(std::uint64_t seq) const {
  if (seq >= 1 && seq <= watermark_) return true;
  return above_.count(seq) > 0;
}

void SeqSet::insert(std::uint64_t seq) {
  if (seq >= 1 && seq <= watermark_) return;
  if (seq != watermark_ + 1) {
    above_.insert(seq);
    return;
  }
  watermark_ = seq;
  // Seq 0 (never valid on the wire) stays in above_; it is not part of 1..watermark.
  for (auto it = above_.find(watermark_ + 1); it != above_.end() && *it == watermark_ + 1;
       it = above_.erase(it)) {
    ++watermark_;
  }
}

std::uint64_t SeqSet::missing() const {
  if (above_.empty()) return 0;
  return missing_below(*above_.rbegin());
}

std::vector<std::uint64_t> SeqSet::missing_seqs(std::size_t count_max) const {
  std::vector<std::uint64_t> out;
  std::uint64_t next = watermark_ + 1;  // the lowest seq not yet known to be a member
  for (auto it = above_.upper_bound(watermark_); it != above_.end(); ++it) {
    for (; next < *it && out.size() < count_max; ++next) out.push_back(next);
    if (out.size() >= count_max) break;
    next = *it + 1;
  }
  return out;
}

std::uint64_t SeqSet::missing_below(std::uint64_t seq) const {
  if (seq <= watermark_ + 1) return 0;
  // Seqs in (watermark, seq) less the members there (seq 0, if held, is below the watermark
  // range and not counted).
  const auto first = above_.upper_bound(watermark_);
  const auto members = static_cast<std::uint64_t>(std::distance(first, above_.lower_bound(seq)));
  return seq - 1 - watermark_ - members;
}

}  // namespace parley::core
