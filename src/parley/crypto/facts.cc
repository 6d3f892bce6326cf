#include "parley/crypto/facts.h"

#include <algorithm>
#include <utility>

namespace parley::crypto {
namespace {

bool same(ByteView a, ByteView b) { return std::equal(a.begin(), a.end(), b.begin(), b.end()); }

}  // namespace

Facts::~Facts() {
  for (auto& [sealed, opening] : openings_) {
    wipe(opening.plaintext);
    wipe(opening.key.bytes);
  }
}

Facts& Facts::operator=(Facts&& other) noexcept {
  if (this == &other) return *this;
  for (auto& [sealed, opening] : openings_) {
    wipe(opening.plaintext);
    wipe(opening.key.bytes);
  }
  signatures_ = std::move(other.signatures_);
  openings_ = std::move(other.openings_);
  return *this;
}

void Facts::add_signature(const VerifyKey& key, std::string_view domain, ByteView payload,
                          ByteView signature) {
  if (verified(key, domain, payload, signature)) return;
  signatures_.emplace(Bytes(signature.begin(), signature.end()),
                      Signature{key, std::string(domain), Bytes(payload.begin(), payload.end())});
}

void Facts::add_opening(const SealKey& key, ByteView associated_data, ByteView sealed,
                        Bytes plaintext) {
  if (opened(key, associated_data, sealed) != nullptr) {
    wipe(plaintext);
    return;
  }
  openings_.emplace(
      Bytes(sealed.begin(), sealed.end()),
      Opening{key, Bytes(associated_data.begin(), associated_data.end()), std::move(plaintext)});
}

void Facts::merge(Facts other) {
  for (auto& [signature, fact] : other.signatures_) {
    add_signature(fact.key, fact.domain, fact.payload, signature);
  }
  for (auto& [sealed, fact] : other.openings_) {
    add_opening(fact.key, fact.associated_data, sealed, std::move(fact.plaintext));
  }
}

bool Facts::verified(const VerifyKey& key, std::string_view domain, ByteView payload,
                     ByteView signature) const {
  const auto [first, last] = signatures_.equal_range(Bytes(signature.begin(), signature.end()));
  return std::any_of(first, last, [&](const auto& entry) {
    const Signature& fact = entry.second;
    return fact.key == key && fact.domain == domain && same(fact.payload, payload);
  });
}

const Bytes* Facts::opened(const SealKey& key, ByteView associated_data, ByteView sealed) const {
  const auto [first, last] = openings_.equal_range(Bytes(sealed.begin(), sealed.end()));
  for (auto it = first; it != last; ++it) {
    const Opening& fact = it->second;
    if (fact.key.bytes == key.bytes && same(fact.associated_data, associated_data)) {
      return &fact.plaintext;
    }
  }
  return nullptr;
}

Status verify(const VerifyKey& key, std::string_view domain, ByteView payload, ByteView signature,
              const Facts* known) {
  if (known != nullptr && known->verified(key, domain, payload, signature)) return Status::ok();
  return verify(key, domain, payload, signature);
}

Result<Bytes> open(const SealKey& key, ByteView associated_data, ByteView sealed,
                   const Facts* known) {
  if (known != nullptr) {
    if (const Bytes* plaintext = known->opened(key, associated_data, sealed)) return *plaintext;
  }
  return open(key, associated_data, sealed);
}

}  // namespace parley::crypto
