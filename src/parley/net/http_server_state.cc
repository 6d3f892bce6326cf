// The HTTP server's admission rules and formatters (http_server_state.h).
#include "parley/net/http_server_state.h"

#include <algorithm>
#include <array>
#include <cstdio>

#include <boost/asio/ssl/error.hpp>
#include <openssl/err.h>
#include <openssl/x509.h>

namespace parley::net::internal {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;

std::string json_escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      std::array<char, 8> buf{};
      std::snprintf(buf.data(), buf.size(), "\\u%04x", static_cast<unsigned>(c));
      out += buf.data();
    } else {
      out += c;
    }
  }
  return out;
}

// A field value on one line: an id or an event name with a line break would end its field
// early and start another.
std::string one_line(std::string text) {
  std::erase_if(text, [](char c) { return c == '\n' || c == '\r'; });
  return text;
}

// The oldest unadmitted session (from `source`, unless empty), preferring a silent one.
std::shared_ptr<SessionBase> shed_candidate(const ServerState& state, const std::string& source) {
  std::shared_ptr<SessionBase> oldest;
  for (const auto& entry : state.sessions) {
    auto session = entry.second.lock();
    if (!session || !session->unadmitted()) continue;
    if (!source.empty() && session->source() != source) continue;
    if (session->silent()) return session;
    if (!oldest) oldest = std::move(session);
  }
  return oldest;
}

std::size_t unadmitted_from(const ServerState& state, const std::string& source) {
  std::size_t count = 0;
  for (const auto& entry : state.sessions) {
    const auto session = entry.second.lock();
    if (session && session->unadmitted() && session->source() == source) ++count;
  }
  return count;
}

void evict(ServerState& state, const std::shared_ptr<SessionBase>& session) {
  state.sessions.erase(session->id());  // its slot is free now, not when its handlers have run
  session->evict();
}

}  // namespace

HttpResponse error_response(int status, const std::string& message) {
  HttpResponse response;
  response.status = status;
  response.body = "{\"error\":\"" + json_escape(message) + "\"}";
  return response;
}

std::string endpoint_string(const tcp::endpoint& endpoint) {
  const asio::ip::address address = endpoint.address();
  std::string host = address.to_string();
  if (address.is_v6()) host = "[" + host + "]";
  return host + ":" + std::to_string(endpoint.port());
}

// "id: <id>\nevent: <name>\ndata: <line>\n...\n\n" (a multi-line payload becomes several
// data lines, as the SSE format requires).
std::string format_event(const ServerEvent& e) {
  std::string out;
  if (!e.id.empty()) out += "id: " + one_line(e.id) + "\n";
  if (!e.event.empty()) out += "event: " + one_line(e.event) + "\n";
  const std::string& data = e.data;
  std::size_t start = 0;
  while (true) {
    const std::size_t end = data.find('\n', start);
    out += "data: " + data.substr(start, end == std::string::npos ? end : end - start) + "\n";
    if (end == std::string::npos) break;
    start = end + 1;
  }
  out += "\n";
  return out;
}

// Which handshake failures mean what (docs/operations.md, parley_handshakes_refused_total).
HandshakeRefusal classify_handshake_error(const error_code& ec, SSL* ssl) {
  if (ec.category() == asio::error::get_ssl_category()) {
    switch (ERR_GET_REASON(static_cast<unsigned long>(ec.value()))) {
      case SSL_R_CERTIFICATE_VERIFY_FAILED:
      case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE:
        return HandshakeRefusal::kUnpinnedCertificate;
      case SSL_R_UNSUPPORTED_PROTOCOL:
      case SSL_R_UNSUPPORTED_SSL_VERSION:
      case SSL_R_WRONG_VERSION_NUMBER:
      case SSL_R_VERSION_TOO_LOW:
      case SSL_R_NO_PROTOCOLS_AVAILABLE:
      case SSL_R_UNKNOWN_PROTOCOL:
      case SSL_R_HTTP_REQUEST:
      case SSL_R_TLSV1_ALERT_PROTOCOL_VERSION:
        return HandshakeRefusal::kProtocolVersion;
      default:
        break;
    }
  }
  // The verify callback refused the leaf even if the error says something more generic.
  if (ssl != nullptr && SSL_get_verify_result(ssl) != X509_V_OK) {
    return HandshakeRefusal::kUnpinnedCertificate;
  }
  return HandshakeRefusal::kOther;
}

// Admission (ServerLimits): makes room for a new connection from `source`. False if every
// open connection is admitted and the server is full: the new one must be refused.
bool make_room(ServerState& state, const std::string& source) {
  if (unadmitted_from(state, source) >= state.limits.unadmitted_per_source_max) {
    if (auto oldest = shed_candidate(state, source)) evict(state, oldest);
  }
  if (state.sessions.size() < state.limits.connections_max) return true;
  auto oldest = shed_candidate(state, "");
  if (!oldest) return false;
  evict(state, oldest);
  return true;
}

}  // namespace parley::net::internal
