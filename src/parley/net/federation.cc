// The federation shell: HTTP/1.1 over mutual TLS 1.3 with pinned certificate fingerprints.
// The server side is the shared HTTP session (http_server.cc) over a TLS context built
// here; the client keeps one connection per peer and sends one request at a time.
#include <algorithm>
#include <cctype>
#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "parley/net/internal.h"
#include "parley/net/net.h"
#include "parley/wire/wire.h"

namespace parley::net {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using boost::system::error_code;

constexpr std::uint64_t kResponseBytesMax = 64 * 1024 * 1024;

std::string lowercase(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

bool is_allowed(const std::shared_ptr<const std::vector<std::string>>& allowed,
                const std::string& fingerprint) {
  if (!allowed || fingerprint.empty()) return false;
  return std::any_of(allowed->begin(), allowed->end(),
                     [&](const std::string& a) { return lowercase(a) == fingerprint; });
}

// The leaf certificate decides: its fingerprint must be pinned. Certificates above it (if
// the peer sent a chain) and the usual chain-of-trust errors of a self-signed leaf are
// not reasons to refuse: the pin is the trust.
template <typename Accept>
bool verify_leaf(ssl::verify_context& context, const Accept& accept) {
  X509_STORE_CTX* store = context.native_handle();
  if (X509_STORE_CTX_get_error_depth(store) > 0) return true;
  return accept(internal::fingerprint_of(X509_STORE_CTX_get_current_cert(store)));
}

std::string peer_fingerprint_of(SSL* ssl) {
  X509* peer = SSL_get1_peer_certificate(ssl);
  std::string fingerprint = internal::fingerprint_of(peer);
  X509_free(peer);
  return fingerprint;
}

// A federation server's TLS context: our certificate and key, TLS 1.3, and a client
// certificate whose fingerprint `allowed` holds.
Status configure_server_context(ssl::context& context, const TlsIdentity& identity,
                                const std::shared_ptr<const std::vector<std::string>>& allowed) {
  PARLEY_RETURN_IF_ERROR(internal::configure_tls13(context, identity));
  error_code ec;
  context.set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert, ec);
  if (!ec) {
    context.set_verify_callback(
        [allowed](bool /*preverified*/, ssl::verify_context& verify) {
          return verify_leaf(verify, [&](const std::string& fingerprint) {
            return is_allowed(allowed, fingerprint);
          });
        },
        ec);
  }
  if (ec) return Status::internal("federation TLS context: " + internal::describe(ec));
  return Status::ok();
}

Result<std::shared_ptr<ssl::context>> make_server_context(
    const TlsIdentity& identity, const std::shared_ptr<const std::vector<std::string>>& allowed) {
  auto context = std::make_shared<ssl::context>(ssl::context::tls_server);
  PARLEY_RETURN_IF_ERROR(configure_server_context(*context, identity, allowed));
  return context;
}

// The server's certificates a client may name in its SNI, by fingerprint.
using NamedContexts = std::map<std::string, std::shared_ptr<ssl::context>>;

// The context a connection starts with, and the named ones it may switch to: they live as long
// as it does (each connection keeps its context: Server::replace_identity).
struct DefaultContext {
  DefaultContext() : context(ssl::context::tls_server) {}
  ssl::context context;
  std::shared_ptr<const NamedContexts> named;
};

// OpenSSL's servername callback (RFC 6066 §3), called once the ClientHello is read, before the
// server's certificate is chosen: a client naming one of ours by federation_server_name gets
// that one. Its verification of the client stays the same: the named context's verify callback
// is the default one's (Asio finds it through SSL_get_SSL_CTX), and the verify mode was copied
// into the connection when it was made.
int on_server_name(SSL* ssl, int* /*alert*/, void* arg) {
  const auto* named = static_cast<const NamedContexts*>(arg);
  const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  if (named == nullptr || name == nullptr) return SSL_TLSEXT_ERR_NOACK;
  const std::optional<std::string> fingerprint = fingerprint_of_server_name(name);
  if (!fingerprint) return SSL_TLSEXT_ERR_NOACK;
  const auto it = named->find(*fingerprint);
  if (it == named->end()) return SSL_TLSEXT_ERR_NOACK;
  // NULL only if OpenSSL could not copy the certificate: the default one is presented then.
  if (SSL_set_SSL_CTX(ssl, it->second->native_handle()) == nullptr) {
    ERR_clear_error();
    return SSL_TLSEXT_ERR_NOACK;
  }
  return SSL_TLSEXT_ERR_OK;
}

using Callback = FederationClient::Callback;

// One peer's connection and request queue. Every asynchronous operation holds a
// shared_ptr to it, so the public object may go away while operations are pending;
// completions from an abandoned attempt are recognised by a stale `generation_`.
class ClientImpl : public std::enable_shared_from_this<ClientImpl> {
 public:
  ClientImpl(asio::io_context& io, std::vector<std::string> addresses, const TlsIdentity& identity,
             std::shared_ptr<const std::vector<std::string>> peer_fingerprints)
      : io_(io),
        addresses_(std::move(addresses)),
        pinned_(std::move(peer_fingerprints)),
        resolver_(io) {
    Result<std::shared_ptr<ssl::context>> context = make_context(identity);
    identity_status_ = context.status();
    if (context.is_ok()) context_ = std::move(*context);
    if (identity_status_.is_ok() && addresses_.empty()) {
      identity_status_ = Status::unavailable("the peer has no federation address");
    }
  }

  // The client's TLS context for `identity`.
  static Result<std::shared_ptr<ssl::context>> make_context(const TlsIdentity& identity) {
    auto context = std::make_shared<ssl::context>(ssl::context::tls_client);
    PARLEY_RETURN_IF_ERROR(internal::configure_tls13(*context, identity));
    return context;
  }

  Status replace_identity(const TlsIdentity& identity) {
    PARLEY_ASSIGN_OR_RETURN(std::shared_ptr<ssl::context> context, make_context(identity));
    context_ = std::move(context);  // a connection keeps the context it was made with
    return Status::ok();
  }

  void post(const std::string& target, std::string body, std::chrono::milliseconds timeout,
            Callback done) {
    if (!identity_status_.is_ok()) {
      asio::post(io_, [done = std::move(done), status = identity_status_] { done(status); });
      return;
    }
    auto request = std::make_shared<Request>(io_);
    request->timeout = timeout;
    request->done = std::move(done);
    request->message.method(http::verb::post);
    request->message.target(target);
    request->message.version(11);
    request->message.set(http::field::content_type, "application/json");
    request->message.keep_alive(true);
    request->message.body() = std::move(body);
    request->message.prepare_payload();
    request->timer.expires_after(timeout);
    request->timer.async_wait([weak_self = weak_from_this(),
                               weak_request = std::weak_ptr(request)](const error_code& ec) {
      if (ec) return;
      const auto self = weak_self.lock();
      const auto timed_out = weak_request.lock();
      if (self && timed_out) self->on_timeout(timed_out);
    });
    queue_.push_back(std::move(request));
    pump();
  }

  void close() {
    ++generation_;
    drop_connection();
    std::vector<std::shared_ptr<Request>> failed;
    if (current_) failed.push_back(std::move(current_));
    current_.reset();
    failed.insert(failed.end(), queue_.begin(), queue_.end());
    queue_.clear();
    for (const auto& request : failed) {
      request->timer.cancel();
      asio::post(io_, [done = std::move(request->done)] {
        done(Status::unavailable("federation client closed"));
      });
    }
  }

 private:
  struct Request {
    explicit Request(asio::io_context& io) : timer(io) {}
    http::request<http::string_body> message;
    std::chrono::milliseconds timeout{};
    Callback done;
    asio::steady_timer timer;
    bool retried = false;
  };

  struct Connection {
    Connection(asio::io_context& io, std::shared_ptr<ssl::context> tls, std::string where)
        : context(std::move(tls)), stream(io, *context), address(std::move(where)) {}
    std::shared_ptr<ssl::context> context;  // kept while the connection lives
    beast::ssl_stream<beast::tcp_stream> stream;
    std::string address;
    beast::flat_buffer buffer;
    std::optional<http::response_parser<http::string_body>> parser;
    std::size_t responses = 0;
    bool fingerprint_mismatch = false;
  };

  void pump() {
    if (current_ || queue_.empty()) return;
    current_ = std::move(queue_.front());
    queue_.pop_front();
    if (connection_) {
      send();
    } else {
      connect(0, {});
    }
  }

  // Tries addresses_[index...] in order; the first that connects and completes the
  // handshake becomes the connection.
  void connect(std::size_t index, std::vector<std::string> errors) {
    if (index >= addresses_.size()) {
      std::string message;
      for (const auto& error : errors) message += (message.empty() ? "" : "; ") + error;
      // Deferred, so a run of unreachable requests never recurses.
      asio::post(io_, [self = shared_from_this(), generation = generation_,
                       status = Status::unavailable(message)] {
        if (generation == self->generation_) self->finish(status);
      });
      return;
    }
    const std::string& address = addresses_[index];
    attempt_address_ = address;
    const Result<wire::HostPort> host_port = wire::parse_host_port(address);
    if (!host_port.is_ok()) {
      errors.push_back(host_port.status().message());
      return connect(index + 1, std::move(errors));
    }
    auto attempt = std::make_shared<Connection>(io_, context_, address);
    attempt_ = attempt;
    error_code ec;
    attempt->stream.set_verify_mode(ssl::verify_peer, ec);
    if (!ec) {
      attempt->stream.set_verify_callback(
          [raw = attempt.get(), pinned = pinned_](bool /*preverified*/,
                                                  ssl::verify_context& context) {
            return verify_leaf(context, [&](const std::string& fingerprint) {
              if (is_allowed(pinned, fingerprint)) return true;
              raw->fingerprint_mismatch = true;
              return false;
            });
          },
          ec);
    }
    // SNI: the newest certificate we accept of the peer (the last pinned), which a peer that
    // holds it presents whichever it presents to others (listen_federation).
    const std::string server_name =
        pinned_ && !pinned_->empty() ? federation_server_name(pinned_->back()) : std::string();
    if (!ec && !server_name.empty() &&
        SSL_set_tlsext_host_name(attempt->stream.native_handle(), server_name.c_str()) != 1) {
      errors.push_back(address + ": cannot set the TLS server name: " + internal::openssl_error());
      return connect(index + 1, std::move(errors));
    }
    if (ec) {
      errors.push_back(address + ": " + internal::describe(ec));
      return connect(index + 1, std::move(errors));
    }

    const auto step_failed = [self = shared_from_this(), index, attempt](
                                 std::vector<std::string> errs, const std::string& reason) {
      errs.push_back(attempt->address + ": " + reason);
      beast::get_lowest_layer(attempt->stream).close();
      self->attempt_.reset();
      self->connect(index + 1, std::move(errs));
    };
    resolver_.async_resolve(
        host_port->host, std::to_string(host_port->port),
        [self = shared_from_this(), generation = generation_, attempt, errors, step_failed](
            const error_code& resolve_ec, const tcp::resolver::results_type& results) {
          if (generation != self->generation_) return;
          if (resolve_ec) return step_failed(errors, internal::describe(resolve_ec));
          beast::get_lowest_layer(attempt->stream)
              .async_connect(results, [self, generation, attempt, errors, step_failed](
                                          const error_code& connect_ec, const tcp::endpoint&) {
                if (generation != self->generation_) return;
                if (connect_ec) return step_failed(errors, internal::describe(connect_ec));
                // A transaction's last segment must not wait for the delayed ACK (Nagle).
                error_code ignored;
                beast::get_lowest_layer(attempt->stream)
                    .socket()
                    .set_option(tcp::no_delay(true), ignored);
                attempt->stream.async_handshake(
                    ssl::stream_base::client, [self, generation, attempt, errors,
                                               step_failed](const error_code& handshake_ec) {
                      if (generation != self->generation_) return;
                      if (handshake_ec) {
                        return step_failed(errors, attempt->fingerprint_mismatch
                                                       ? "certificate fingerprint mismatch"
                                                       : internal::describe(handshake_ec));
                      }
                      if (!is_allowed(self->pinned_,
                                      peer_fingerprint_of(attempt->stream.native_handle()))) {
                        return step_failed(errors, "certificate fingerprint mismatch");
                      }
                      self->attempt_.reset();
                      self->connection_ = attempt;
                      self->send();
                    });
              });
        });
  }

  void send() {
    const auto connection = connection_;
    connection->parser.emplace();
    connection->parser->body_limit(kResponseBytesMax);
    current_->message.set(http::field::host, connection->address);
    // The write reads the request's message until it completes, which may be after close() or
    // a timeout released current_ (the socket is closed then, and the write ends with an
    // error): the handler keeps the request alive until then.
    http::async_write(connection->stream, current_->message,
                      [self = shared_from_this(), generation = generation_, connection,
                       request = current_](const error_code& ec, std::size_t) {
                        (void)request;
                        if (generation != self->generation_) return;
                        if (ec) return self->io_failed(connection, ec);
                        http::async_read(
                            connection->stream, connection->buffer, *connection->parser,
                            [self, generation, connection](const error_code& read_ec, std::size_t) {
                              if (generation != self->generation_) return;
                              if (read_ec) return self->io_failed(connection, read_ec);
                              self->on_response(connection);
                            });
                      });
  }

  void on_response(const std::shared_ptr<Connection>& connection) {
    http::response<http::string_body> message = connection->parser->release();
    ++connection->responses;
    HttpResponse response;
    response.status = static_cast<int>(message.result_int());
    response.content_type = std::string(message[http::field::content_type]);
    for (const auto& field : message) {
      response.headers[lowercase(std::string(field.name_string()))] = std::string(field.value());
    }
    response.body = std::move(message.body());
    if (!message.keep_alive()) drop_connection();
    finish(std::move(response));
  }

  void io_failed(const std::shared_ptr<Connection>& connection, const error_code& ec) {
    std::string reason = internal::describe(ec);
    // In TLS 1.3 the server judges our certificate after our handshake has completed, so
    // its refusal arrives as an alert on the first read.
    if (connection->responses == 0 && ec.category() == asio::error::get_ssl_category()) {
      reason = "the peer refused the TLS session (" + reason + ")";
    }
    // A reused connection the peer closed while idle fails before any response byte:
    // try once more on a fresh one (federation requests are idempotent transactions).
    const bool retry = connection->responses > 0 && !current_->retried &&
                       !(connection->parser && connection->parser->got_some());
    drop_connection();
    if (retry) {
      current_->retried = true;
      ++generation_;
      return connect(0, {});
    }
    finish(Status::unavailable(connection->address + ": " + reason));
  }

  void on_timeout(const std::shared_ptr<Request>& request) {
    const std::string after = " after " + std::to_string(request->timeout.count()) + "ms";
    if (request == current_) {
      const std::string where = connection_ ? connection_->address : attempt_address_;
      drop_connection();
      return finish(Status::unavailable(where + ": timed out" + after));
    }
    const auto it = std::find(queue_.begin(), queue_.end(), request);
    if (it == queue_.end()) return;
    queue_.erase(it);
    request->done(Status::unavailable("timed out" + after + " waiting for earlier requests"));
  }

  // Completes the current request and starts the next.
  void finish(Result<HttpResponse> result) {
    ++generation_;
    const auto request = std::move(current_);
    current_.reset();
    request->timer.cancel();
    request->done(std::move(result));
    pump();
  }

  void drop_connection() {
    resolver_.cancel();
    if (connection_) beast::get_lowest_layer(connection_->stream).close();
    if (attempt_) beast::get_lowest_layer(attempt_->stream).close();
    connection_.reset();
    attempt_.reset();
  }

  asio::io_context& io_;
  const std::vector<std::string> addresses_;
  // Read on each handshake: a fingerprint added later is accepted from the next connection.
  const std::shared_ptr<const std::vector<std::string>> pinned_;
  std::shared_ptr<ssl::context> context_;  // new connections' (replace_identity)
  Status identity_status_;
  tcp::resolver resolver_;
  std::shared_ptr<Connection> connection_;  // connected and verified
  std::shared_ptr<Connection> attempt_;     // being connected
  std::string attempt_address_;
  std::shared_ptr<Request> current_;
  std::deque<std::shared_ptr<Request>> queue_;
  std::uint64_t generation_ = 0;
};

class FederationClientImpl final : public FederationClient {
 public:
  explicit FederationClientImpl(std::shared_ptr<ClientImpl> impl) : impl_(std::move(impl)) {}
  FederationClientImpl(const FederationClientImpl&) = delete;
  FederationClientImpl& operator=(const FederationClientImpl&) = delete;
  ~FederationClientImpl() override { impl_->close(); }

  void post(const std::string& target, std::string body, std::chrono::milliseconds timeout,
            Callback done) override {
    impl_->post(target, std::move(body), timeout, std::move(done));
  }
  void close() override { impl_->close(); }
  Status replace_identity(const TlsIdentity& identity) override {
    return impl_->replace_identity(identity);
  }

 private:
  std::shared_ptr<ClientImpl> impl_;
};

}  // namespace

Result<std::unique_ptr<Server>> listen_federation(
    asio::io_context& io, const std::string& host, std::uint16_t port, const TlsIdentity& identity,
    const std::vector<TlsIdentity>& named,
    std::shared_ptr<const std::vector<std::string>> allowed_fingerprints, Handler handler,
    ServerLimits limits) {
  // Our certificates a client may name (SNI), each in a context of its own that asks of the
  // client what the default one asks.
  auto by_fingerprint = std::make_shared<NamedContexts>();
  for (const TlsIdentity& id : named) {
    PARLEY_ASSIGN_OR_RETURN(std::string fingerprint, cert_fingerprint(id.cert_pem));
    PARLEY_ASSIGN_OR_RETURN(std::shared_ptr<ssl::context> context,
                            make_server_context(id, allowed_fingerprints));
    (*by_fingerprint)[fingerprint] = std::move(context);
  }
  // Also what a replaced identity gets (our key rotation, docs/protocol.md "Key rotation"): the
  // named certificates stay.
  const internal::TlsContextMaker make =
      [allowed = allowed_fingerprints,
       named_contexts = std::shared_ptr<const NamedContexts>(std::move(by_fingerprint))](
          const TlsIdentity& id) -> Result<std::shared_ptr<ssl::context>> {
    auto holder = std::make_shared<DefaultContext>();
    PARLEY_RETURN_IF_ERROR(configure_server_context(holder->context, id, allowed));
    holder->named = named_contexts;
    SSL_CTX* native = holder->context.native_handle();
    SSL_CTX_set_tlsext_servername_callback(native, on_server_name);
    SSL_CTX_set_tlsext_servername_arg(native, const_cast<NamedContexts*>(holder->named.get()));
    // The context, kept alive with the named ones a connection may switch to.
    return std::shared_ptr<ssl::context>(holder, &holder->context);
  };
  PARLEY_ASSIGN_OR_RETURN(std::shared_ptr<ssl::context> context, make(identity));
  internal::PeerCheck check =
      [allowed = std::move(allowed_fingerprints)](const std::string& fingerprint) {
        return is_allowed(allowed, fingerprint);
      };
  return internal::listen(io, host, port, std::move(context), std::move(check), std::move(handler),
                          limits, make);
}

Result<std::unique_ptr<Server>> listen_federation(
    asio::io_context& io, const std::string& host, std::uint16_t port, const TlsIdentity& identity,
    std::shared_ptr<const std::vector<std::string>> allowed_fingerprints, Handler handler,
    ServerLimits limits) {
  return listen_federation(io, host, port, identity, {}, std::move(allowed_fingerprints),
                           std::move(handler), limits);
}

std::unique_ptr<FederationClient> make_federation_client(asio::io_context& io,
                                                         std::vector<std::string> addresses,
                                                         const TlsIdentity& identity,
                                                         std::string peer_fingerprint) {
  return make_federation_client(
      io, std::move(addresses), identity,
      std::make_shared<const std::vector<std::string>>(std::vector{std::move(peer_fingerprint)}));
}

std::unique_ptr<FederationClient> make_federation_client(
    asio::io_context& io, std::vector<std::string> addresses, const TlsIdentity& identity,
    std::shared_ptr<const std::vector<std::string>> peer_fingerprints) {
  return std::make_unique<FederationClientImpl>(std::make_shared<ClientImpl>(
      io, std::move(addresses), identity, std::move(peer_fingerprints)));
}

}  // namespace parley::net
