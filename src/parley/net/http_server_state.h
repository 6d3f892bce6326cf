// The HTTP server's shared state and the parts of it that need no session type: the state
// every connection of one listener shares (limits, admission, warnings), the admission rules
// (ServerLimits: which connection is shed to make room), and the small formatters (error
// bodies, SSE events, handshake refusals). http_server.cc holds the sessions themselves.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/system/error_code.hpp>
#include <openssl/ssl.h>

#include "parley/net/internal.h"
#include "parley/net/net.h"

namespace parley::net::internal {

// {"error": message}, with the given status.
HttpResponse error_response(int status, const std::string& message);

// "host:port", an IPv6 host in brackets.
std::string endpoint_string(const boost::asio::ip::tcp::endpoint& endpoint);

// "id: <id>\nevent: <name>\ndata: <line>\n...\n\n" (a multi-line payload becomes several
// data lines, as the SSE format requires).
std::string format_event(const ServerEvent& e);

// Which handshake failures mean what (docs/operations.md, parley_handshakes_refused_total).
HandshakeRefusal classify_handshake_error(const boost::system::error_code& ec, SSL* ssl);

class SessionBase : public std::enable_shared_from_this<SessionBase> {
 public:
  virtual ~SessionBase() = default;
  // Closes the connection now; pending operations complete with errors.
  virtual void abort() = 0;
  // Sheds the connection to make room for a newer one (counted; ServerLimits).
  virtual void evict() = 0;
  // Not yet admitted (ServerLimits): may be shed for a newer connection.
  virtual bool unadmitted() const = 0;
  // Unadmitted and nothing received on it yet: shed first.
  virtual bool silent() const = 0;
  virtual const std::string& source() const = 0;  // the client's IP address
  virtual std::uint64_t id() const = 0;           // its key in ServerState::sessions
};

struct ServerState {
  ServerState(boost::asio::io_context& io_context,
              std::shared_ptr<boost::asio::ssl::context> tls_context, PeerCheck check, Handler h,
              ServerLimits l)
      : io(io_context),
        acceptor(io_context),
        backoff(io_context),
        tls(std::move(tls_context)),
        peer_check(std::move(check)),
        handler(std::move(h)),
        limits(std::move(l)) {}

  // Calls limits.warn with `what` unless a line with the same `key` went out less than
  // warn_interval ago; the line says how many were held back since.
  void warn(const std::string& key, const std::string& what) {
    if (!limits.warn) return;
    Warned& w = warned[key];
    ++w.count;
    const auto at = std::chrono::steady_clock::now();
    if (w.last && at - *w.last < limits.warn_interval) return;
    limits.warn(std::string(!tls         ? "http "
                            : peer_check ? "federation "
                                         : "https ") +
                local + ": " + std::to_string(w.count) + " " + key +
                " since the last report; last: " + what);
    w.last = at;
    w.count = 0;
  }

  void refused_handshake(HandshakeRefusal refusal, const std::string& remote,
                         const std::string& detail) {
    ++stats.handshakes_refused[static_cast<std::size_t>(refusal)];
    warn("TLS handshakes refused (" + std::string(handshake_refusal_name(refusal)) + ")",
         remote + ": " + detail);
  }

  struct Warned {
    std::optional<std::chrono::steady_clock::time_point> last;
    std::uint64_t count = 0;
  };

  boost::asio::io_context& io;
  boost::asio::ip::tcp::acceptor acceptor;
  boost::asio::steady_timer backoff;  // after an accept error (e.g. out of descriptors)
  std::shared_ptr<boost::asio::ssl::context> tls;
  PeerCheck peer_check;
  TlsContextMaker remake;  // Server::replace_identity's; null: the identity is fixed
  Handler handler;
  ServerLimits limits;
  std::string local;  // the bound endpoint, for log lines
  bool stopped = false;
  std::uint64_t next_session = 0;
  // By id: ids grow, so the map runs from the oldest connection to the newest.
  std::map<std::uint64_t, std::weak_ptr<SessionBase>> sessions;
  AdmissionStats stats;
  std::map<std::string, Warned> warned;
};

// Admission (ServerLimits): makes room for a new connection from `source`. False if every
// open connection is admitted and the server is full: the new one must be refused.
bool make_room(ServerState& state, const std::string& source);

}  // namespace parley::net::internal
