#include "parley/core/translation.h"

#include "parley/base/text.h"
#include "parley/catalog/catalog.h"

namespace parley::core {

Status may_write(const Writer& writer, std::string_view line, std::string_view type,
                 const std::optional<std::string>& reply_to,
                 const std::optional<std::string>& reply_line) {
  const bool translation = type == catalog::kTranslationType;
  if (!writer.on_line) {
    if (!writer.translator) {
      return Status::permission_denied(writer.name + " may not write on line " +
                                       single_quoted(line) + ": not one of its principals");
    }
    if (!translation) {
      return Status::permission_denied(writer.name + " is a translator, not a principal of line " +
                                       single_quoted(line) + ": it may write only a " +
                                       std::string(catalog::kTranslationType));
    }
  }
  if (!translation) return Status::ok();
  if (!reply_to) {
    return Status::permission_denied("a translation names the message it translates in reply_to");
  }
  if (reply_line != std::string(line)) {
    return Status::permission_denied("a translation of " + single_quoted(*reply_to) +
                                     ", which is no message on line " + single_quoted(line));
  }
  return Status::ok();
}

}  // namespace parley::core
