// Facts: the results of pure cryptographic checks, established ahead of time (on another
// thread: gateway/verify_pool.h) and looked up when the same check comes up again.
//
// A fact is "signature S over pae(domain, payload) verifies under key K" or "`sealed` opens
// under seal key K with associated data A to plaintext P". Both are pure functions of their
// inputs, so a fact found here answers exactly as computing it again would. A lookup compares
// every byte of its question with the fact's: a fact answers only the very question it was
// established for. Only successes are recorded: a check that failed, or was never made, is
// computed again inline (verify, open below), so a missing or stale fact can only cost time,
// never change a verdict or an error message.
//
// Pure: no thread, no clock. A Facts is a value: built on one thread, then handed over whole
// (it is not safe to add to it while another thread reads it). The plaintexts it holds are
// wiped when it is destroyed.
#pragma once

#include <array>
#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "parley/base/bytes.h"
#include "parley/base/status.h"
#include "parley/crypto/crypto.h"

namespace parley::crypto {

class Facts {
 public:
  Facts() = default;
  ~Facts();
  Facts(Facts&& other) noexcept = default;
  Facts& operator=(Facts&& other) noexcept;
  Facts(const Facts&) = delete;
  Facts& operator=(const Facts&) = delete;

  // Records that `signature` over pae(domain, payload) verifies under `key`. The caller has
  // verified it (crypto::verify returned OK): a fact recorded here is believed.
  void add_signature(const VerifyKey& key, std::string_view domain, ByteView payload,
                     ByteView signature);
  // Records that crypto::open(key, associated_data, sealed) returned `plaintext`.
  void add_opening(const SealKey& key, ByteView associated_data, ByteView sealed, Bytes plaintext);
  // Every fact of `other`, added to these.
  void merge(Facts other);

  // Whether the fact "`signature` over pae(domain, payload) verifies under `key`" was recorded.
  bool verified(const VerifyKey& key, std::string_view domain, ByteView payload,
                ByteView signature) const;
  // The plaintext recorded for open(key, associated_data, sealed), or null.
  const Bytes* opened(const SealKey& key, ByteView associated_data, ByteView sealed) const;

  std::size_t signatures() const { return signatures_.size(); }
  std::size_t openings() const { return openings_.size(); }

 private:
  struct Signature {
    VerifyKey key;
    std::string domain;
    Bytes payload;
  };
  struct Opening {
    SealKey key;
    Bytes associated_data;
    Bytes plaintext;
  };
  // By signature bytes (64 bytes nobody but the signer can choose), then compared whole.
  std::multimap<Bytes, Signature> signatures_;
  std::multimap<Bytes, Opening> openings_;  // by the sealed bytes
};

// crypto::verify, answered by `known` if it holds the fact (`known` may be null).
Status verify(const VerifyKey& key, std::string_view domain, ByteView payload, ByteView signature,
              const Facts* known);
// crypto::open, answered by `known` (a copy of the plaintext) if it holds the fact.
Result<Bytes> open(const SealKey& key, ByteView associated_data, ByteView sealed,
                   const Facts* known);

}  // namespace parley::crypto
