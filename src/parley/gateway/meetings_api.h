// The /api/v1/meetings routes (docs/openapi.yaml, tag "meetings"; issue 13). A meeting is
// nothing but the meeting.* messages of its line, so a view replays the line's stored
// messages, both directions, through meetings::Book; a step is checked against that state
// first, and only then sent like POST /api/v1/messages (Driver::submit): a step the workflow
// refuses is answered 409 with the reason and sends nothing.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "parley/base/json.h"
#include "parley/gateway/driver.h"
#include "parley/meetings/meetings.h"
#include "parley/net/net.h"

namespace parley::gateway {

class MeetingsApi {
 public:
  // `driver` must outlive this object.
  explicit MeetingsApi(Driver& driver) : driver_(driver) {}

  // True if `path` is one of this object's (/api/v1/meetings...).
  static bool owns(const std::string& path);

  // Answers `method path` for `principal` (authenticated by the caller) through `responder`.
  void handle(const std::string& principal, const std::string& method, const std::string& path,
              const std::string& body, const std::shared_ptr<net::Responder>& responder);

 private:
  // A step to send: its line, type, meeting (reply_to), body and envelope options.
  struct Step {
    std::string line;
    std::string type;
    std::optional<std::string> meeting;
    json::Json body;
    std::string precedence = "ROUTINE";
    std::string text;
  };

  // The meetings of the lines `principal` reads (Driver::lines_read_by: a translator's are
  // every line of its party): stored messages, and the steps being stored.
  Result<meetings::Book> book_of(const std::string& principal) const;
  net::HttpResponse list(const std::string& principal) const;
  net::HttpResponse show(const std::string& principal, const std::string& id) const;
  void propose(const std::string& principal, const std::string& body,
               const std::shared_ptr<net::Responder>& responder);
  void act(const std::string& principal, const std::string& id, const std::string& verb,
           const std::string& body, const std::shared_ptr<net::Responder>& responder);
  // Checks `step` against the catalog and `book`, then submits it.
  void send(const std::string& principal, const meetings::Book& book, Step step,
            const std::shared_ptr<net::Responder>& responder);

  Driver& driver_;
  // Steps submitted and not yet answered: the store does not hold them yet, but a step
  // checked meanwhile must see them. Shared with the submissions' callbacks.
  std::shared_ptr<std::map<std::uint64_t, meetings::Message>> pending_ =
      std::make_shared<std::map<std::uint64_t, meetings::Message>>();
  std::uint64_t next_pending_ = 1;
};

}  // namespace parley::gateway
