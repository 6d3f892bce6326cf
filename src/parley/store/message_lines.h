// StoredMessageLines: core::MessageLines (core/translation.h) answered from a Store, so that
// the node can tell whether a translation's reply_to names a message on its line without
// holding every message in memory. `parley gateway` (gateway/driver.cc) and the simulator
// (sim/cluster.cc) give their node this one.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "parley/core/translation.h"
#include "parley/store/store.h"

namespace parley::store {

class StoredMessageLines final : public core::MessageLines {
 public:
  explicit StoredMessageLines(Store& store) : store_(store) {}  // `store` must outlive this

  Result<std::optional<std::string>> line_of(std::string_view id) const override {
    PARLEY_ASSIGN_OR_RETURN(const std::optional<core::MessageRecord> m, store_.get_message(id));
    if (!m) return std::optional<std::string>();
    return std::optional<std::string>(m->line);
  }

 private:
  Store& store_;
};

}  // namespace parley::store
