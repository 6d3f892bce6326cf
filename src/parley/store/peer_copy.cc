#include "parley/store/peer_copy.h"

#include <utility>
#include <vector>

namespace parley::store {

Result<std::string> answer_log_request(Store& store, const core::LogRequest& request) {
  const std::string& asker = request.from;
  const std::string& us = request.to;
  PARLEY_ASSIGN_OR_RETURN(std::vector<core::HeadRecord> asker_heads, store.heads(asker, us));
  PARLEY_ASSIGN_OR_RETURN(std::vector<core::LogEntryView> asker_entries,
                          store.log_entries(asker, us, request.after, core::kLogEntriesPerAnswer));
  PARLEY_ASSIGN_OR_RETURN(std::vector<core::HeadRecord> own_heads, store.heads(us, asker));
  PARLEY_ASSIGN_OR_RETURN(
      std::vector<core::LogEntryView> own_entries,
      store.log_entries(us, asker, request.peer_after, core::kLogEntriesPerAnswer));
  return core::encode_log_answer(
      core::make_log_answer(request, asker_heads, asker_entries, own_heads, own_entries));
}

}  // namespace parley::store
