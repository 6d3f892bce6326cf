// libFuzzer target: the federation's log request and answer (core/log_recovery.h), what a
// restored gateway and its peer exchange over POST /federation/v1/log. Both come from the
// other party, an adversary by definition: neither parser may crash, accept a party other
// than the pinned one, or accept what it cannot encode again. An answer that parses encodes
// (encode_log_answer) to a text that parses to the same answer; a request likewise.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_fixture.h"

#include "parley/core/log_recovery.h"

namespace {

using namespace parley;

bool same_copy(const core::PeerCopyOfOurLog& a, const core::PeerCopyOfOurLog& b) {
  return a.sth == b.sth && a.receipt == b.receipt && a.entries == b.entries;
}

void check_request(std::string_view text) {
  const auto request = core::parse_log_request(text, fuzz::kReceiver, fuzz::kSender);
  if (!request.is_ok()) return;
  fuzz::require(request->from == fuzz::kReceiver && request->to == fuzz::kSender);
  const auto again =
      core::parse_log_request(core::encode_log_request(*request), fuzz::kReceiver, fuzz::kSender);
  fuzz::require(again.is_ok() && again->after == request->after &&
                again->peer_after == request->peer_after);
}

void check_answer(std::string_view text) {
  const auto answer = core::parse_log_answer(text, fuzz::kReceiver, fuzz::kSender);
  if (!answer.is_ok()) return;
  fuzz::require(answer->from == fuzz::kReceiver && answer->to == fuzz::kSender);
  fuzz::require(answer->yours.entries.size() <= core::kLogEntriesPerAnswer &&
                answer->mine.entries.size() <= core::kLogEntriesPerAnswer);
  const auto again =
      core::parse_log_answer(core::encode_log_answer(*answer), fuzz::kReceiver, fuzz::kSender);
  fuzz::require(again.is_ok() && same_copy(again->yours, answer->yours) &&
                same_copy(again->mine, answer->mine) && again->mine_range == answer->mine_range);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = fuzz::as_text(data, size);
  check_request(text);
  check_answer(text);
  return 0;
}
