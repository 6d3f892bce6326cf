#include "parley/ledger/key_chain.h"

#include <algorithm>
#include <iterator>
#include <utility>

namespace parley::ledger {

KeyChain::KeyChain(std::string party, const crypto::VerifyKey& first) : party_(std::move(party)) {
  links_.push_back(Link{0, first, 1, 0, ""});
}

const KeyChain::Link& KeyChain::link_at(std::uint64_t index) const {
  // links_[0] starts at 0, so there is one.
  const auto after =
      std::upper_bound(links_.begin(), links_.end(), index,
                       [](std::uint64_t i, const Link& link) { return i < link.from_index; });
  return *std::prev(after);
}

const KeyChain::Link& KeyChain::head_link(std::uint64_t size) const {
  return size == 0 ? links_.front() : link_at(size - 1);
}

bool KeyChain::contains(const crypto::VerifyKey& key) const {
  return std::any_of(links_.begin(), links_.end(),
                     [&](const Link& link) { return link.key == key; });
}

Result<wire::Rotation> KeyChain::add(std::uint64_t index, std::string_view text) {
  const Link& last = links_.back();
  if (links_.size() > 1 && index < last.from_index) {
    return Status::invalid_argument("a rotation at entry " + std::to_string(index) +
                                    ", but the chain already has one at entry " +
                                    std::to_string(last.from_index - 1));
  }
  PARLEY_ASSIGN_OR_RETURN(wire::Rotation r, wire::open_rotation(text, last.key, party_));
  if (r.n != last.n + 1) {
    return Status::invalid_argument("rotation: field 'n': " + std::to_string(r.n) + ", expected " +
                                    std::to_string(last.n + 1) +
                                    " (the rotation after the chain's last)");
  }
  if (r.epoch != last.epoch + 1) {
    return Status::invalid_argument("rotation: field 'epoch': " + std::to_string(r.epoch) +
                                    ", expected " + std::to_string(last.epoch + 1) +
                                    " (the epoch after the chain's last)");
  }
  links_.push_back(Link{index + 1, r.new_sign_key, r.epoch, r.n, r.new_tls_fingerprint});
  return r;
}

}  // namespace parley::ledger
