#include "parley/core/transcript_view.h"

#include <utility>

namespace parley::core {

namespace {

Head head_of(ledger::SignedTreeHead sth) {
  return Head{std::move(sth.head.log), std::move(sth.head.peer),     sth.head.size,
              sth.head.root,           std::move(sth.payload_bytes), sth.sig};
}

}  // namespace

std::string sign_head(const std::string& log, const std::string& peer, std::uint64_t size,
                      const ledger::Hash& root, Time now, const crypto::SigningKey& key,
                      Head& head) {
  ledger::SignedTreeHead sth = ledger::sign_sth(ledger::TreeHead{log, peer, size, root, now}, key);
  std::string json = ledger::encode_sth(sth);
  head = head_of(std::move(sth));
  return json;
}

Result<Head> open_head(std::string_view json, const crypto::VerifyKey& key,
                       const std::string& party, const crypto::Facts* known) {
  PARLEY_ASSIGN_OR_RETURN(ledger::SignedTreeHead sth, ledger::open_sth(json, key, party, known));
  return head_of(std::move(sth));
}

std::string sign_countersignature(const std::string& tx, const std::string& from,
                                  const std::string& to, const Head& head,
                                  const std::vector<std::string>& ids,
                                  const std::vector<std::uint64_t>& indices,
                                  std::vector<ledger::ReceiptRefusal> refused, Time now,
                                  const crypto::SigningKey& key) {
  ledger::ReceiptV2Body body;
  body.tx = tx;
  body.from = from;
  body.to = to;
  body.sth = head.payload;
  body.sth_sig = head.sig;
  body.ids = ids;
  body.indices = indices;
  body.received = now;
  body.refused = std::move(refused);
  return ledger::encode_receipt_v2(ledger::sign_receipt_v2(body, key));
}

Result<ReceiptView> open_countersignature(std::string_view json, const crypto::VerifyKey& key,
                                          const std::string& party) {
  PARLEY_ASSIGN_OR_RETURN(ledger::ReceiptV2 receipt, ledger::open_receipt_v2(json, key, party));
  ledger::ReceiptV2Body& b = receipt.body;
  return ReceiptView{std::move(b.tx),      std::move(b.from),   std::move(b.to),
                     std::move(b.sth),     b.sth_sig,           std::move(b.ids),
                     std::move(b.indices), std::move(b.refused)};
}

std::string refusal_reason(std::string text) {
  for (char& c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) c = '?';
  }
  if (text.size() > ledger::kRefusalReasonBytesMax) {
    std::size_t end = ledger::kRefusalReasonBytesMax;
    while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
    text.resize(end);
  }
  if (text.empty()) text = "refused";
  return text;
}

}  // namespace parley::core
