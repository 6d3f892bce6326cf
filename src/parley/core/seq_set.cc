#include "parley/core/seq_set.h"

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

}  // namespace parley::core
