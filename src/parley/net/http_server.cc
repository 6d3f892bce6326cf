// The HTTP/1.1 server shell, plain (the API) and over mutual TLS (the federation): one
// session object per connection, shaped like Beast's advanced server examples.
#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "parley/net/http_server_state.h"
#include "parley/net/internal.h"
#include "parley/net/net.h"

namespace parley::net {
namespace {

using internal::classify_handshake_error;
using internal::endpoint_string;
using internal::error_response;
using internal::format_event;
using internal::make_room;
using internal::ServerState;
using internal::SessionBase;

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using boost::system::error_code;

constexpr std::uint32_t kHeaderBytesMax = 64 * 1024;
constexpr std::chrono::milliseconds kAcceptBackoff{100};
// The first read of a request: whatever the client has sent, up to this much.
constexpr std::size_t kFirstReadBytes = 4096;
// Every TLS record, the ClientHello's first included, starts with its content type; a
// handshake record is 22 (RFC 8446 §5.1).
constexpr unsigned char kTlsHandshakeRecord = 0x16;
// RFC 6797: browsers that saw it over TLS never try this host over plain HTTP for a year.
constexpr const char* kStrictTransportSecurity = "max-age=31536000";
// The API's answers are data, never a page to render, frame or sniff; a handler that serves a
// page (the console) sets its own Content-Security-Policy, which replaces this one.
constexpr std::pair<const char*, const char*> kApiSecurityHeaders[] = {
    {"X-Content-Type-Options", "nosniff"},
    {"X-Frame-Options", "DENY"},
    {"Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'"},
    {"Referrer-Policy", "no-referrer"},
};

template <bool kTls>
class Session;

// The event stream a handler gets from Responder::stream(). Holds the session weakly: the
// connection lives as long as its client does, not as long as the application's pointer.
template <bool kTls>
class EventStreamImpl final : public EventStream {
 public:
  explicit EventStreamImpl(std::weak_ptr<Session<kTls>> session) : session_(std::move(session)) {}
  bool send(const ServerEvent& event) override {
    const auto session = session_.lock();
    return session && session->sse_send(format_event(event));
  }
  bool is_open() const override {
    const auto session = session_.lock();
    return session && session->sse_open();
  }
  void close() override {
    if (const auto session = session_.lock()) session->sse_close();
  }

 private:
  std::weak_ptr<Session<kTls>> session_;
};

template <bool kTls>
class ResponderImpl final : public Responder {
 public:
  explicit ResponderImpl(std::shared_ptr<Session<kTls>> session) : session_(std::move(session)) {}
  ResponderImpl(const ResponderImpl&) = delete;
  ResponderImpl& operator=(const ResponderImpl&) = delete;
  // No client hangs on a handler that forgot to answer.
  ~ResponderImpl() override {
    if (session_) session_->write_response(error_response(500, "internal: no response"));
  }
  void respond(HttpResponse response) override {
    if (!session_) return;  // a second answer: the handler's bug, ignored
    const auto session = std::move(session_);
    session->write_response(std::move(response));
  }
  std::shared_ptr<EventStream> stream() override {
    if (!session_) return std::make_shared<EventStreamImpl<kTls>>(std::weak_ptr<Session<kTls>>());
    const auto session = std::move(session_);
    return session->open_stream();
  }

 private:
  std::shared_ptr<Session<kTls>> session_;  // null once answered
};

template <bool kTls>
class Session final : public SessionBase {
 public:
  using Stream = std::conditional_t<kTls, beast::ssl_stream<beast::tcp_stream>, beast::tcp_stream>;

  // `pressed`: the server was at least half full when this connection arrived, so it gets
  // the short admission timeout.
  Session(std::shared_ptr<ServerState> state, std::uint64_t id, tcp::socket socket,
          std::string remote, std::string source, bool pressed)
      : state_(std::move(state)),
        id_(id),
        context_(state_->tls),
        stream_(make_stream(std::move(socket), *state_)),
        deadline_(state_->io),
        remote_(std::move(remote)),
        source_(std::move(source)),
        admission_timeout_(pressed ? state_->limits.admission_timeout_pressed
                                   : state_->limits.admission_timeout) {}
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;
  ~Session() override { state_->sessions.erase(id_); }

  void run() {
    if constexpr (kTls) {
      // The handshake starts when the client's first bytes arrive: until then the
      // connection is silent, the first to be shed.
      arm(admission_timeout_, [this] {
        end_handshake(HandshakeRefusal::kTimeout,
                      "not admitted within " + std::to_string(admission_timeout_.count()) + "ms");
      });
      socket().async_wait(tcp::socket::wait_read,
                          [self = self()](const error_code& ec) { self->on_first_bytes(ec); });
    } else {
      await_request();
    }
  }

  void abort() override {
    closed_ = true;
    disarm();
    beast::get_lowest_layer(stream_).close();
  }

  void evict() override {
    if (closed_) return;
    ++state_->stats.connections_evicted;
    if constexpr (kTls) {
      end_handshake(HandshakeRefusal::kEvicted, "shed for a newer connection");
    } else {
      state_->warn("connections evicted", remote_ + ": shed for a newer connection");
      abort();
    }
  }

  bool unadmitted() const override {
    if (mutual()) return !admitted_;
    return phase_ == Phase::kSilent || phase_ == Phase::kHandshake || phase_ == Phase::kHead;
  }
  bool silent() const override { return unadmitted() && phase_ == Phase::kSilent; }
  const std::string& source() const override { return source_; }
  std::uint64_t id() const override { return id_; }

  void write_response(HttpResponse response) {
    if (closed_ || streaming_) return;
    auto message = std::make_shared<http::response<http::string_body>>();
    message->version(version_);
    const bool valid_status = response.status >= 100 && response.status <= 599;
    message->result(static_cast<unsigned>(valid_status ? response.status : 500));
    if (!response.content_type.empty()) {
      message->set(http::field::content_type, response.content_type);
    }
    if (!mutual()) {  // the API: what a browser must not do with its answers, unless it says
      for (const auto& [name, value] : kApiSecurityHeaders) message->set(name, value);
    }
    for (const auto& [name, value] : response.headers) message->set(name, value);
    message->body() = std::move(response.body);
    if constexpr (kTls) {
      message->set(http::field::strict_transport_security, kStrictTransportSecurity);
    }
    message->keep_alive(keep_alive_);
    message->prepare_payload();
    beast::get_lowest_layer(stream_).expires_after(state_->limits.read_timeout);
    http::async_write(stream_, *message,
                      [self = self(), message](const error_code& ec, std::size_t /*bytes*/) {
                        self->on_write(ec);
                      });
  }

  std::shared_ptr<EventStream> open_stream() {
    auto events = std::make_shared<EventStreamImpl<kTls>>(self());
    if (closed_ || streaming_) return events;
    streaming_ = true;
    keep_alive_ = false;
    // The body ends when the connection does (RFC 9112 §6.3, item 8).
    sse_queue_.push_back(
        std::string(
            "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n"
            "X-Accel-Buffering: no\r\nConnection: close\r\n") +
        (kTls ? std::string("Strict-Transport-Security: ") + kStrictTransportSecurity + "\r\n"
              : std::string()) +
        "\r\n");
    // A read stays pending while streaming: it is how we learn the client went away.
    beast::get_lowest_layer(stream_).expires_never();
    do_watch();
    sse_write_next();
    keep_alive_later();
    return events;
  }

  bool sse_open() const { return streaming_ && !closed_ && !sse_closing_; }

  bool sse_send(std::string frame) {
    if (!sse_open()) return false;
    sse_queue_.push_back(std::move(frame));
    if (!sse_writing_) sse_write_next();
    return true;
  }

  void sse_close() {
    if (!sse_open()) return;
    sse_closing_ = true;
    if (!sse_writing_) do_shutdown();
  }

  // A comment every sse_keepalive while the stream is open (the session's one deadline is
  // free while it streams; do_shutdown disarms it).
  void keep_alive_later() {
    arm(state_->limits.sse_keepalive, [this] {
      if (sse_send(": keep-alive\n\n")) keep_alive_later();
    });
  }

 private:
  // Where the connection is; Phase::kSilent and kHead are unadmitted on the plain server
  // (ServerLimits), everything before the handshake's end is on the TLS one.
  enum class Phase {
    kSilent,     // waiting for the first byte (of the handshake, or of a request)
    kHandshake,  // TLS handshake under way
    kHead,       // reading a request head
    kBusy,       // reading a body, handling, answering, streaming
  };

  static Stream make_stream(tcp::socket socket, ServerState& state) {
    if constexpr (kTls) {
      return Stream(std::move(socket), *state.tls);
    } else {
      return Stream(std::move(socket));
    }
  }

  std::shared_ptr<Session> self() { return std::static_pointer_cast<Session>(shared_from_this()); }
  // Mutual TLS (the federation): admitted by a pinned client certificate, not by a request.
  bool mutual() const { return kTls && static_cast<bool>(state_->peer_check); }
  tcp::socket& socket() { return beast::get_lowest_layer(stream_).socket(); }

  // One deadline at a time: `expired` runs when `after` has passed, unless disarmed first.
  // The timer holds the session weakly: an expired deadline alone keeps nobody alive.
  template <typename Expired>
  void arm(std::chrono::milliseconds after, Expired expired) {
    const std::uint64_t generation = ++deadline_generation_;
    deadline_.expires_after(after);
    deadline_.async_wait([weak = std::weak_ptr<SessionBase>(shared_from_this()), generation,
                          expired](const error_code& ec) {
      const auto base = weak.lock();
      if (ec || !base) return;
      const auto session = std::static_pointer_cast<Session>(base);
      if (session->closed_ || generation != session->deadline_generation_) return;
      expired();
    });
  }
  void disarm() {
    ++deadline_generation_;
    deadline_.cancel();
  }

  // Counts and logs a refused TLS handshake, and closes the connection.
  void end_handshake(HandshakeRefusal refusal, const std::string& detail) {
    if (closed_) return;
    state_->refused_handshake(refusal, remote_, detail);
    abort();
  }

  void on_first_bytes(const error_code& ec) {
    if (closed_) return;
    if (ec) return end_handshake(HandshakeRefusal::kOther, internal::describe(ec));
    phase_ = Phase::kHandshake;
    if constexpr (kTls) {
      if (!mutual() && !starts_with_tls_record()) return refuse_plain_http();
      beast::get_lowest_layer(stream_).expires_never();  // the admission deadline rules
      stream_.async_handshake(asio::ssl::stream_base::server,
                              [self = self()](const error_code& hs) { self->on_handshake(hs); });
    }
  }

  // The client's first byte is that of a TLS record (it is there: the socket was readable).
  bool starts_with_tls_record() {
    unsigned char first = 0;
    error_code ec;
    const std::size_t n = socket().receive(asio::buffer(&first, 1), tcp::socket::message_peek, ec);
    return ec || n != 1 || first == kTlsHandshakeRecord;  // errors: the handshake will say
  }

  // A client that speaks plain HTTP to the https API (e.g. a URL with http://) is told so in
  // plain HTTP, as nginx does, then the connection is closed once the client has closed its
  // side (or the admission timeout passed): closing with its request unread would reset the
  // connection, and the reset can destroy the answer before the client reads it.
  void refuse_plain_http() {
    state_->refused_handshake(HandshakeRefusal::kProtocolVersion, remote_, "plain HTTP");
    static const std::string kAnswer = [] {
      const std::string body =
          "{\"error\":\"this port speaks HTTPS (TLS 1.3) only: use an https:// URL\"}";
      return "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: " +
             std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
    }();
    arm(admission_timeout_, [this] { abort(); });
    asio::async_write(socket(), asio::buffer(kAnswer),
                      [self = self()](const error_code& ec, std::size_t /*bytes*/) {
                        if (ec) return self->abort();
                        error_code ignored;
                        self->socket().shutdown(tcp::socket::shutdown_send, ignored);
                        self->drain();
                      });
  }

  // Reads and drops whatever the client still sends, until it closes (or the deadline).
  void drain() {
    socket().async_read_some(asio::buffer(watch_buffer_),
                             [self = self()](const error_code& ec, std::size_t /*bytes*/) {
                               if (ec) return self->abort();
                               self->drain();
                             });
  }

  void on_handshake(const error_code& ec) {
    if (closed_) return;
    if constexpr (kTls) {
      if (ec) {
        return end_handshake(classify_handshake_error(ec, stream_.native_handle()),
                             internal::describe(ec));
      }
      if (!mutual()) {  // no client certificate: a request admits it, as on the plain server
        disarm();
        return await_request();
      }
      // The verify callback already checked the leaf; checking the session's peer
      // certificate again also covers any path that skipped the callback.
      X509* peer = SSL_get1_peer_certificate(stream_.native_handle());
      std::string fingerprint = internal::fingerprint_of(peer);
      X509_free(peer);
      if (fingerprint.empty() || !state_->peer_check(fingerprint)) {
        return end_handshake(HandshakeRefusal::kUnpinnedCertificate,
                             fingerprint.empty() ? "no client certificate"
                                                 : "certificate " + fingerprint + " is not pinned");
      }
      peer_fingerprint_ = std::move(fingerprint);
      admitted_ = true;
      disarm();
      await_request();
    }
  }

  // Waits for the first byte of the next request: the admission timeout for a plain
  // connection's first request, the keep-alive read timeout after that.
  void await_request() {
    if (closed_) return;
    phase_ = Phase::kSilent;
    beast::get_lowest_layer(stream_).expires_never();  // our deadline rules reads
    if (buffer_.size() > 0) return read_request();     // pipelined
    const bool first = !mutual() && requests_ == 0;
    arm(first ? admission_timeout_ : state_->limits.read_timeout, [this] { abort(); });
    stream_.async_read_some(buffer_.prepare(kFirstReadBytes),
                            [self = self()](const error_code& ec, std::size_t bytes) {
                              self->buffer_.commit(bytes);
                              self->on_first_request_bytes(ec);
                            });
  }

  void on_first_request_bytes(const error_code& ec) {
    if (closed_) return;
    if (ec && buffer_.size() == 0) {
      if (ec == asio::error::eof) return do_shutdown();  // the client is done
      return abort();
    }
    read_request();
  }

  // Reads one request (head, then body) within the request timeout; 408 if it is not
  // complete by then.
  void read_request() {
    if (closed_) return;
    phase_ = Phase::kHead;
    request_timed_out_ = false;
    arm(state_->limits.request_timeout, [this] {
      request_timed_out_ = true;
      error_code ignored;
      socket().cancel(ignored);  // the read completes with operation_aborted
    });
    parser_.emplace();
    parser_->body_limit(state_->limits.body_bytes_max);
    parser_->header_limit(kHeaderBytesMax);
    http::async_read_header(
        stream_, buffer_, *parser_,
        [self = self()](const error_code& ec, std::size_t /*bytes*/) { self->on_header(ec); });
  }

  void on_header(const error_code& ec) {
    if (closed_) return;
    if (ec) return on_read(ec);
    phase_ = Phase::kBusy;  // a complete head: admitted on the plain server
    ++requests_;
    http::async_read(stream_, buffer_, *parser_,
                     [self = self()](const error_code& read_ec, std::size_t /*bytes*/) {
                       self->on_read(read_ec);
                     });
  }

  void on_read(const error_code& ec) {
    if (closed_) return;
    disarm();
    if (request_timed_out_ && ec) {
      ++state_->stats.requests_timed_out;
      return write_error(408, "request not complete within " +
                                  std::to_string(state_->limits.request_timeout.count()) + "ms");
    }
    if (ec == http::error::end_of_stream) return do_shutdown();
    if (ec == http::error::body_limit) {
      return write_error(
          413, "request body exceeds " + std::to_string(state_->limits.body_bytes_max) + " bytes");
    }
    if (ec == http::error::partial_message) return abort();  // the client left mid-request
    if (ec && ec.category() == http::make_error_code(http::error::bad_method).category()) {
      return write_error(400, "malformed HTTP request: " + ec.message());
    }
    if (ec) return abort();  // reset, TLS failure: nobody to answer

    phase_ = Phase::kBusy;
    http::request<http::string_body> message = parser_->release();
    parser_.reset();
    version_ = message.version();
    keep_alive_ = message.keep_alive();

    HttpRequest request;
    request.method = std::string(message.method_string());
    request.target = std::string(message.target());
    for (const auto& field : message) {
      std::string name(field.name_string());
      std::transform(name.begin(), name.end(), name.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      auto [it, inserted] = request.headers.emplace(std::move(name), std::string(field.value()));
      if (!inserted) it->second += ", " + std::string(field.value());
    }
    request.body = std::move(message.body());
    request.peer_fingerprint = peer_fingerprint_;
    request.remote = remote_;
    request.tls = kTls;
    state_->handler(std::move(request), std::make_shared<ResponderImpl<kTls>>(self()));
  }

  void write_error(int status, const std::string& message) {
    phase_ = Phase::kBusy;
    keep_alive_ = false;  // the rest of the request is unread
    write_response(error_response(status, message));
  }

  void on_write(const error_code& ec) {
    if (ec) return abort();
    if (!keep_alive_) return do_shutdown();
    await_request();
  }

  void do_watch() {
    stream_.async_read_some(asio::buffer(watch_buffer_),
                            [self = self()](const error_code& ec, std::size_t /*bytes*/) {
                              if (ec) return self->abort();  // the client went away
                              self->do_watch();
                            });
  }

  void sse_write_next() {
    if (closed_) return;
    sse_writing_ = true;
    beast::get_lowest_layer(stream_).expires_after(state_->limits.read_timeout);
    asio::async_write(
        stream_, asio::buffer(sse_queue_.front()),
        [self = self()](const error_code& ec, std::size_t /*bytes*/) { self->on_sse_write(ec); });
  }

  void on_sse_write(const error_code& ec) {
    sse_writing_ = false;
    if (ec) return abort();
    sse_queue_.pop_front();
    if (!sse_queue_.empty()) return sse_write_next();
    if (sse_closing_) do_shutdown();
  }

  void do_shutdown() {
    if (closed_) return;
    disarm();
    if constexpr (kTls) {
      closed_ = true;
      beast::get_lowest_layer(stream_).expires_after(state_->limits.read_timeout);
      stream_.async_shutdown([self = self()](const error_code& /*ec*/) { self->abort(); });
    } else {
      // Half-close; the socket closes with the session (or when the watch read ends).
      closed_ = true;
      error_code ignored;
      beast::get_lowest_layer(stream_).socket().shutdown(tcp::socket::shutdown_send, ignored);
    }
  }

  std::shared_ptr<ServerState> state_;
  std::uint64_t id_;
  // The TLS context this connection was made with, kept as long as it lives: a certificate
  // replaced meanwhile (Server::replace_identity) applies to new connections only.
  std::shared_ptr<asio::ssl::context> context_;
  Stream stream_;
  asio::steady_timer deadline_;
  std::uint64_t deadline_generation_ = 0;
  std::string remote_;
  std::string source_;
  std::chrono::milliseconds admission_timeout_;
  std::string peer_fingerprint_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  Phase phase_ = Phase::kSilent;
  std::uint64_t requests_ = 0;  // request heads read
  unsigned version_ = 11;
  bool admitted_ = false;  // TLS: the handshake completed with a pinned certificate
  bool request_timed_out_ = false;
  bool keep_alive_ = false;
  bool closed_ = false;
  bool streaming_ = false;
  bool sse_writing_ = false;
  bool sse_closing_ = false;
  std::deque<std::string> sse_queue_;
  std::array<char, 512> watch_buffer_{};
};

void do_accept(const std::shared_ptr<ServerState>& state);

void on_accept(const std::shared_ptr<ServerState>& state, const error_code& ec,
               tcp::socket socket) {
  if (state->stopped || ec == asio::error::operation_aborted) return;
  if (ec) {
    state->backoff.expires_after(kAcceptBackoff);
    state->backoff.async_wait([state](const error_code& wait_ec) {
      if (!wait_ec && !state->stopped) do_accept(state);
    });
    return;
  }
  error_code ignored;
  // Small writes (a receipt, a 201, an event) leave at once: with Nagle's algorithm they
  // would wait for the peer's delayed ACK (40 ms on Linux).
  socket.set_option(tcp::no_delay(true), ignored);
  const tcp::endpoint remote = socket.remote_endpoint(ignored);
  const std::string source = remote.address().to_string();
  if (!make_room(*state, source)) {
    ++state->stats.connections_refused;
    state->warn("connections refused", endpoint_string(remote) + ": every slot is admitted");
    socket.close(ignored);
  } else {
    const std::uint64_t id = state->next_session++;
    const bool pressed = 2 * state->sessions.size() >= state->limits.connections_max;
    if (state->tls) {
      auto tls = std::make_shared<Session<true>>(state, id, std::move(socket),
                                                 endpoint_string(remote), source, pressed);
      state->sessions[id] = tls;
      tls->run();
    } else {
      auto plain = std::make_shared<Session<false>>(state, id, std::move(socket),
                                                    endpoint_string(remote), source, pressed);
      state->sessions[id] = plain;
      plain->run();
    }
  }
  do_accept(state);
}

void do_accept(const std::shared_ptr<ServerState>& state) {
  state->acceptor.async_accept([state](const error_code& ec, tcp::socket socket) {
    on_accept(state, ec, std::move(socket));
  });
}

class ServerImpl final : public Server {
 public:
  ServerImpl(std::shared_ptr<ServerState> state, std::string local)
      : state_(std::move(state)), local_(std::move(local)) {}
  ServerImpl(const ServerImpl&) = delete;
  ServerImpl& operator=(const ServerImpl&) = delete;
  ~ServerImpl() override { stop(); }

  std::string local_endpoint() const override { return local_; }

  Status replace_identity(const TlsIdentity& identity) override {
    if (!state_->tls || !state_->remake) {
      return Status::failed_precondition("a plain HTTP server has no certificate to replace");
    }
    PARLEY_ASSIGN_OR_RETURN(state_->tls, state_->remake(identity));
    return Status::ok();
  }

  AdmissionStats admission_stats() const override {
    AdmissionStats stats = state_->stats;
    stats.connections_open = state_->sessions.size();
    return stats;
  }

  void stop() override {
    if (state_->stopped) return;
    state_->stopped = true;
    error_code ignored;
    state_->acceptor.close(ignored);
    state_->backoff.cancel();
    // Copy first: a session released in this loop erases itself from the map.
    std::vector<std::weak_ptr<SessionBase>> sessions;
    sessions.reserve(state_->sessions.size());
    for (const auto& entry : state_->sessions) sessions.push_back(entry.second);
    for (const auto& weak : sessions) {
      if (const auto session = weak.lock()) session->abort();
    }
  }

 private:
  std::shared_ptr<ServerState> state_;
  std::string local_;
};

}  // namespace

namespace internal {

Result<std::unique_ptr<Server>> listen(asio::io_context& io, const std::string& host,
                                       std::uint16_t port, std::shared_ptr<asio::ssl::context> tls,
                                       PeerCheck peer_check, Handler handler, ServerLimits limits,
                                       TlsContextMaker remake) {
  PARLEY_CHECK(handler);
  const std::string where = host + ":" + std::to_string(port);
  error_code ec;
  tcp::endpoint endpoint;
  const asio::ip::address address = asio::ip::make_address(host, ec);
  if (!ec) {
    endpoint = tcp::endpoint(address, port);
  } else {
    tcp::resolver resolver(io);
    const auto results = resolver.resolve(host, std::to_string(port), tcp::resolver::passive, ec);
    if (ec || results.empty()) {
      return Status::unavailable("cannot listen on " + where + ": " +
                                 (ec ? describe(ec) : std::string("no address")));
    }
    endpoint = results.begin()->endpoint();
  }

  auto state = std::make_shared<ServerState>(io, std::move(tls), std::move(peer_check),
                                             std::move(handler), limits);
  state->remake = std::move(remake);
  state->acceptor.open(endpoint.protocol(), ec);
  if (!ec) state->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) state->acceptor.bind(endpoint, ec);
  if (!ec) state->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return Status::unavailable("cannot listen on " + where + ": " + describe(ec));
  const tcp::endpoint bound = state->acceptor.local_endpoint(ec);
  if (ec) return Status::unavailable("cannot listen on " + where + ": " + describe(ec));
  state->local = endpoint_string(bound);

  do_accept(state);
  return std::unique_ptr<Server>(std::make_unique<ServerImpl>(state, endpoint_string(bound)));
}

}  // namespace internal

std::string_view handshake_refusal_name(HandshakeRefusal refusal) {
  switch (refusal) {
    case HandshakeRefusal::kUnpinnedCertificate:
      return "unpinned_certificate";
    case HandshakeRefusal::kProtocolVersion:
      return "protocol_version";
    case HandshakeRefusal::kTimeout:
      return "timeout";
    case HandshakeRefusal::kEvicted:
      return "evicted";
    case HandshakeRefusal::kOther:
      return "other";
  }
  return "other";
}

Result<std::unique_ptr<Server>> listen_http(asio::io_context& io, const std::string& host,
                                            std::uint16_t port, Handler handler,
                                            ServerLimits limits) {
  return internal::listen(io, host, port, nullptr, nullptr, std::move(handler), limits);
}

Result<std::unique_ptr<Server>> listen_https(asio::io_context& io, const std::string& host,
                                             std::uint16_t port, const TlsIdentity& identity,
                                             Handler handler, ServerLimits limits) {
  const internal::TlsContextMaker make =
      [](const TlsIdentity& id) -> Result<std::shared_ptr<asio::ssl::context>> {
    auto context = std::make_shared<asio::ssl::context>(asio::ssl::context::tls_server);
    PARLEY_RETURN_IF_ERROR(internal::configure_tls13(*context, id));
    return context;
  };
  PARLEY_ASSIGN_OR_RETURN(std::shared_ptr<asio::ssl::context> context, make(identity));
  return internal::listen(io, host, port, std::move(context), nullptr, std::move(handler), limits,
                          make);
}

}  // namespace parley::net
