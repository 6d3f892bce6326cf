// net: the Boost.Asio/Beast shells. Thin, shaped like Beast's examples: a session object
// per connection, error_code overloads, a timeout on every operation, no protocol
// decisions (frames are bytes; the core decides what they mean).
//
// Threading: everything runs on the io_context the caller gives; handlers are called on
// that io_context's thread(s). The gateway runs one thread.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "parley/base/status.h"

namespace boost::asio {
class io_context;
}

namespace parley::net {

struct HttpRequest {
  std::string method;                          // "GET", "POST", ...
  std::string target;                          // path and query, e.g. "/api/v1/messages?box=inbox"
  std::map<std::string, std::string> headers;  // names lowercased
  std::string body;
  std::string peer_fingerprint;  // federation server only: SHA-256 (hex) of the client cert DER
  std::string remote;            // "ip:port"
  // The request came over TLS (listen_https, listen_federation): a console session's cookie
  // is then Secure.
  bool tls = false;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::map<std::string, std::string> headers;
  std::string body;
};

// One server-sent event (WHATWG HTML "Server-sent events"): "id: <id>\nevent: <event>\n
// data: <data>\n\n"; no id line if `id` is empty (line breaks in `id` or `event` are dropped,
// a multi-line `data` becomes several data lines).
struct ServerEvent {
  std::string id;
  std::string event;
  std::string data;
};

// A server-sent-events stream handed to the application (GET /api/v1/events). While it is
// open the server writes a comment (": keep-alive") every ServerLimits::sse_keepalive, so
// that proxies and clients can tell an idle stream from a dead one.
class EventStream {
 public:
  virtual ~EventStream() = default;
  // Queues one event. False once the client is gone.
  virtual bool send(const ServerEvent& event) = 0;
  virtual bool is_open() const = 0;
  virtual void close() = 0;
};

// How a handler answers: exactly once, now or later, on the io_context thread. A handler
// may instead call `stream()` to turn the response into a server-sent-events stream.
class Responder {
 public:
  virtual ~Responder() = default;
  virtual void respond(HttpResponse response) = 0;
  virtual std::shared_ptr<EventStream> stream() = 0;
};
using Handler = std::function<void(HttpRequest request, std::shared_ptr<Responder> responder)>;

// Connection admission (docs/protocol.md "Admission"). A connection is *unadmitted* until it
// has proved something: on the federation server, until its mutual TLS handshake completed
// with a pinned certificate; on the plain server, while it waits for (or is reading) a
// request head, i.e. not while a request it sent is being handled or streamed. Unadmitted
// connections are the ones an unauthenticated client can hold, so they are the ones shed:
//   - a source (IP address) holds at most `unadmitted_per_source_max` of them: its next one
//     evicts that source's oldest;
//   - when `connections_max` are open, a new connection evicts the oldest unadmitted one
//     that has sent no byte yet, else the oldest unadmitted one; only when every open
//     connection is admitted is the new one closed at once (refused);
//   - a new connection has `admission_timeout` (`admission_timeout_pressed` if it arrived
//     when at least half of `connections_max` were open) to complete its TLS handshake, or
//     on the plain server to send the first byte of its first request (which then has
//     `request_timeout` to arrive whole).
// So a pinned peer's (or a principal's) new connection always gets a slot, however many idle
// connections others hold, even from the same address.
struct ServerLimits {
  std::size_t body_bytes_max = 8 * 1024 * 1024;  // larger requests get 413
  // Between requests on a kept-alive connection, and for writing a response.
  std::chrono::milliseconds read_timeout{30'000};
  // From a request's first byte until its body is read: a request still incomplete then gets
  // 408 (a JSON reason) and the connection is closed.
  std::chrono::milliseconds request_timeout{10'000};
  std::chrono::milliseconds admission_timeout{10'000};
  std::chrono::milliseconds admission_timeout_pressed{2'000};
  // How often an idle-or-not event stream gets a ": keep-alive" comment.
  std::chrono::milliseconds sse_keepalive{15'000};
  std::size_t connections_max = 256;
  std::size_t unadmitted_per_source_max = 64;
  // Where the server's rate-limited warnings go (refused handshakes, evictions): at most one
  // line per reason per `warn_interval`, with the count since the previous line. Null: nowhere.
  std::function<void(const std::string& line)> warn{};
  std::chrono::milliseconds warn_interval{10'000};
};

// Why a federation server ended a connection before its TLS handshake admitted it.
enum class HandshakeRefusal {
  kUnpinnedCertificate,  // no client certificate, or one whose fingerprint is not pinned
  kProtocolVersion,      // not TLS 1.3 (e.g. a TLS 1.2 client), or not TLS at all
  kTimeout,              // not admitted within the admission timeout
  kEvicted,              // shed to make room (ServerLimits)
  kOther,                // any other handshake failure (the client left, a bad message)
};
inline constexpr std::size_t kHandshakeRefusals = 5;
// "unpinned_certificate", "protocol_version", "timeout", "evicted", "other".
std::string_view handshake_refusal_name(HandshakeRefusal refusal);

// A server's admission counters since it started (the gateway's /metrics).
struct AdmissionStats {
  std::array<std::uint64_t, kHandshakeRefusals> handshakes_refused{};  // by HandshakeRefusal
  std::uint64_t connections_evicted = 0;  // unadmitted connections shed for newer ones
  std::uint64_t connections_refused = 0;  // new connections closed: every slot admitted
  std::uint64_t requests_timed_out = 0;   // answered 408
  std::size_t connections_open = 0;
};

// TLS material for the federation: this party's certificate and key (PEM), and the
// fingerprints (SHA-256 of the DER, lowercase hex) of the peers it accepts.
struct TlsIdentity {
  std::string cert_pem;
  std::string key_pem;  // secret
};

class Server {
 public:
  virtual ~Server() = default;
  // The bound endpoint ("127.0.0.1:7001"), e.g. after listening on port 0.
  virtual std::string local_endpoint() const = 0;
  // Stops accepting and closes open connections (streams included).
  virtual void stop() = 0;
  virtual AdmissionStats admission_stats() const = 0;
  // listen_https and listen_federation: serves `identity`'s certificate and key to connections
  // accepted from now on (on a federation server, to those not naming another of its
  // certificates in their SNI: listen_federation); open ones keep theirs (a federation server still
  // asks each client for a certificate its allowed fingerprints hold). kInvalidArgument (nothing
  // changed) if the identity is unusable; kFailedPrecondition on a plain server. The federation's
  // certificate is pinned by the peers: it changes by our key rotation, once they countersigned it
  // (docs/protocol.md "Key rotation"), not by a reload.
  virtual Status replace_identity(const TlsIdentity& identity) = 0;
};

// Plain HTTP/1.1 (the API shell, bound to loopback by default). kUnavailable if `host:port`
// cannot be bound. Malformed HTTP gets 400; an oversize body 413; keep-alive supported.
Result<std::unique_ptr<Server>> listen_http(boost::asio::io_context& io, const std::string& host,
                                            std::uint16_t port, Handler handler,
                                            ServerLimits limits = {});

// HTTP/1.1 over TLS 1.3 with `identity`'s certificate and no client certificate (the API shell
// on anything but loopback: docs/operations.md "TLS on the API"). The TLS settings are the
// federation's (configure_tls13). A client that speaks plain HTTP to it gets a plain 400 with
// a JSON reason and the connection is closed; every response carries Strict-Transport-Security.
// kInvalidArgument if the identity is unusable, kUnavailable if `host:port` cannot be bound.
Result<std::unique_ptr<Server>> listen_https(boost::asio::io_context& io, const std::string& host,
                                             std::uint16_t port, const TlsIdentity& identity,
                                             Handler handler, ServerLimits limits = {});

// HTTP/1.1 over mutual TLS 1.3 (the federation shell). A client must present a certificate
// whose fingerprint is in `allowed_fingerprints` (else the handshake fails); the handler
// sees it in HttpRequest::peer_fingerprint. `allowed_fingerprints` is read on each handshake.
//
// The server presents `identity` (Server::replace_identity changes it for new connections),
// except to a client whose ClientHello names, in its SNI, one of `named` (our other
// certificates: the bundle's and each key rotation's) by federation_server_name: that client
// is presented the one it named (docs/protocol.md "Federation transport"). No SNI, a name of
// another form or of a certificate not in `named`: `identity`. kInvalidArgument if an identity
// is unusable, kUnavailable if `host:port` cannot be bound.
Result<std::unique_ptr<Server>> listen_federation(
    boost::asio::io_context& io, const std::string& host, std::uint16_t port,
    const TlsIdentity& identity, const std::vector<TlsIdentity>& named,
    std::shared_ptr<const std::vector<std::string>> allowed_fingerprints, Handler handler,
    ServerLimits limits = {});
// The same with no other certificate to present than `identity`.
Result<std::unique_ptr<Server>> listen_federation(
    boost::asio::io_context& io, const std::string& host, std::uint16_t port,
    const TlsIdentity& identity,
    std::shared_ptr<const std::vector<std::string>> allowed_fingerprints, Handler handler,
    ServerLimits limits = {});

// The TLS server name (RFC 6066 §3 SNI, a DNS host name) by which a federation client asks for
// the certificate whose SHA-256 fingerprint is `fingerprint` (64 hex digits, any case): its
// first and last 32 digits as two labels (a label holds at most 63 octets, RFC 1035 §2.3.4)
// under the reserved name "cert.parley.invalid" (RFC 6761 §6.4: never resolved), lowercase:
//   "<hex 0..31>.<hex 32..63>.cert.parley.invalid"
// Empty if `fingerprint` is not 64 hex digits.
std::string federation_server_name(std::string_view fingerprint);
// The fingerprint (lowercase hex) a federation_server_name names (compared without regard to
// case, as DNS names are); nullopt if `name` is not of that form.
std::optional<std::string> fingerprint_of_server_name(std::string_view name);

// A federation client for one peer: keeps one mutual-TLS 1.3 connection to the first
// reachable of `addresses` ("host:port"), pinned to `peer_fingerprint` (a certificate with
// another fingerprint fails the handshake), reconnecting on demand. Each handshake names the
// pinned certificate in its SNI (federation_server_name; with several pinned, the last, the
// newest: the peer's newest rotation we know), so that a peer holding it presents it whichever
// it presents to others (docs/protocol.md "Federation transport").
class FederationClient {
 public:
  virtual ~FederationClient() = default;
  using Callback = std::function<void(Result<HttpResponse>)>;
  // POSTs `body` to `target`. Calls `done` exactly once, on the io thread: the response, or
  // kUnavailable (connect/handshake/I/O failure or `timeout`). Requests are sent one at a
  // time in order on the connection.
  virtual void post(const std::string& target, std::string body, std::chrono::milliseconds timeout,
                    Callback done) = 0;
  // Closes the connection; pending callbacks get kUnavailable.
  virtual void close() = 0;
  // Presents `identity`'s certificate from the next connection on (the open one keeps its
  // own): our key rotation, once every peer countersigned it (docs/protocol.md "Key
  // rotation"). kInvalidArgument (nothing changed) if the identity is unusable.
  virtual Status replace_identity(const TlsIdentity& identity) = 0;
};
std::unique_ptr<FederationClient> make_federation_client(boost::asio::io_context& io,
                                                         std::vector<std::string> addresses,
                                                         const TlsIdentity& identity,
                                                         std::string peer_fingerprint);
// The same, pinned to any of `peer_fingerprints`, read on each handshake (as the server's
// allowed_fingerprints): the peer's pinned certificate and the ones its key rotations
// announced (docs/protocol.md "Key rotation").
std::unique_ptr<FederationClient> make_federation_client(
    boost::asio::io_context& io, std::vector<std::string> addresses, const TlsIdentity& identity,
    std::shared_ptr<const std::vector<std::string>> peer_fingerprints);

// How http_request speaks TLS 1.3 to an https API.
struct ClientTls {
  // SHA-256 of the certificate the server must present (64 hex digits, any case): the pin is
  // the trust, as on the federation. Empty: the system's trusted CAs and the host name decide
  // (an API certificate the operator had signed by a CA).
  std::string pinned_fingerprint;
};

// A blocking HTTP client for the CLI: one request, its own io_context; over TLS 1.3 if `tls`
// is given. kUnavailable if the server cannot be reached within `timeout`, or if the TLS
// handshake fails (a certificate that is not the pinned one is refused at the handshake, and
// the error names both fingerprints).
Result<HttpResponse> http_request(const std::string& host, std::uint16_t port,
                                  const std::string& method, const std::string& target,
                                  const std::map<std::string, std::string>& headers,
                                  const std::string& body, std::chrono::milliseconds timeout,
                                  const std::optional<ClientTls>& tls = std::nullopt);

// A TCP port on 127.0.0.1 that was free a moment ago (bound, then released), for demos, tests
// and benchmarks that start gateways: picked at random below the kernel's ephemeral range, so
// that no outgoing connection takes it as its source port before the gateway binds it.
// kUnavailable if none can be had.
Result<std::uint16_t> free_loopback_port();

// Makes a self-signed certificate for `common_name` (an Ed25519 key, valid 825 days), the
// federation's identity.
Result<TlsIdentity> make_self_signed(const std::string& common_name);
// Makes a self-signed server certificate for the API: an ECDSA P-256 key (every browser and
// TLS client takes it; Ed25519 certificates are refused by Chromium and Firefox), valid 825
// days, key usage digitalSignature, extended key usage serverAuth, and `names` (IP addresses
// or DNS names) as its subjectAltName. kInvalidArgument if a name is neither.
Result<TlsIdentity> make_server_certificate(const std::string& common_name,
                                            const std::vector<std::string>& names);
// SHA-256 of the certificate's DER, lowercase hex. kInvalidArgument if not a PEM certificate.
Result<std::string> cert_fingerprint(const std::string& cert_pem);
// Whether a TLS 1.3 server could serve `identity`: a readable certificate and a key that
// matches it (the checks listen_https and Server::replace_identity make). kInvalidArgument
// naming what is wrong.
Status check_tls_identity(const TlsIdentity& identity);
// The certificate's validity (notBefore, notAfter), for `parley check`. kInvalidArgument if
// not a PEM certificate or if a date cannot be read.
struct CertValidity {
  std::chrono::system_clock::time_point not_before;
  std::chrono::system_clock::time_point not_after;
};
Result<CertValidity> cert_validity(const std::string& cert_pem);

}  // namespace parley::net
