// The transcript's formats (ledger/transcript.h: signed tree heads, receipt v2) as the core
// uses them: a head and a receipt reduced to the fields the session compares, and the few
// text helpers that refusals share. Pure.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "parley/base/status.h"
#include "parley/base/text.h"  // single_quoted(), which the core's error texts use
#include "parley/base/time.h"
#include "parley/crypto/crypto.h"
#include "parley/ledger/transcript.h"

namespace parley::core {

// A signed tree head: its fields and the signed bytes.
struct Head {
  std::string log;
  std::string peer;
  std::uint64_t size = 0;
  ledger::Hash root{};
  Bytes payload;
  ledger::Signature sig{};
};
struct ReceiptView {
  std::string tx;
  std::string from;
  std::string to;
  Bytes sth_payload;
  ledger::Signature sth_sig{};
  std::vector<std::string> ids;
  std::vector<std::uint64_t> indices;
  std::vector<ledger::ReceiptRefusal> refused;
};

// Signs our head over (size, root) of `log`'s log for `peer`; the DSSE JSON, and `head`.
std::string sign_head(const std::string& log, const std::string& peer, std::uint64_t size,
                      const ledger::Hash& root, Time now, const crypto::SigningKey& key,
                      Head& head);

// Opens `party`'s head by its pinned `key`; an error if it is not validly signed. `known`:
// facts established ahead (crypto/facts.h) that may answer the signature check; null: none.
Result<Head> open_head(std::string_view json, const crypto::VerifyKey& key,
                       const std::string& party, const crypto::Facts* known = nullptr);

// Our receipt (countersignature) over the sender's `head` and the entries received.
std::string sign_countersignature(const std::string& tx, const std::string& from,
                                  const std::string& to, const Head& head,
                                  const std::vector<std::string>& ids,
                                  const std::vector<std::uint64_t>& indices,
                                  std::vector<ledger::ReceiptRefusal> refused, Time now,
                                  const crypto::SigningKey& key);

// Opens `party`'s receipt by its pinned `key`.
Result<ReceiptView> open_countersignature(std::string_view json, const crypto::VerifyKey& key,
                                          const std::string& party);

// A refusal reason as a receipt carries it: one line, at most kRefusalReasonBytesMax bytes
// (cut at a UTF-8 character boundary).
std::string refusal_reason(std::string text);

}  // namespace parley::core
