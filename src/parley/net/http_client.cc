// The blocking HTTP(S) client the CLI uses to talk to its gateway's API, and the small
// address/error helpers the other shells share.
#include <algorithm>
#include <cctype>
#include <chrono>
#include <fstream>
#include <optional>
#include <random>
#include <string>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "parley/net/internal.h"
#include "parley/net/net.h"

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

}  // namespace

namespace internal {

std::string describe(const error_code& ec) {
  if (ec == beast::error::timeout) return "timed out";
  std::string message = ec.message();
  if (!message.empty()) {
    message[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(message[0])));
  }
  return message;
}

}  // namespace internal

namespace {

// The state of one exchange over `Stream` (a tcp_stream, or an ssl_stream over one).
template <typename Stream>
struct Exchange {
  Exchange(asio::io_context& io, Stream& s) : resolver(io), stream(s), deadline(io) {}
  tcp::resolver resolver;
  Stream& stream;
  asio::steady_timer deadline;
  beast::flat_buffer buffer;
  http::request<http::string_body> request;
  http::response_parser<http::string_body> parser;
  bool timed_out = false;
  bool done = false;
  std::optional<std::string> failure;
  // TLS: what the handshake found wrong with the server's certificate, if anything.
  std::string certificate_problem;
};

template <typename Stream>
void fail(Exchange<Stream>& x, const error_code& ec, const char* step) {
  if (!x.failure) {
    x.failure = x.timed_out                      ? std::string("timed out")
                : !x.certificate_problem.empty() ? x.certificate_problem
                                                 : std::string(step) + internal::describe(ec);
  }
  x.deadline.cancel();
}

// Writes the request and reads the answer (after the TLS handshake, if any).
template <typename Stream>
void write_and_read(Exchange<Stream>& x) {
  http::async_write(x.stream, x.request, [&x](const error_code& write_ec, std::size_t) {
    if (write_ec) return fail(x, write_ec, "");
    http::async_read(x.stream, x.buffer, x.parser, [&x](const error_code& read_ec, std::size_t) {
      if (read_ec) return fail(x, read_ec, "");
      x.done = true;
      x.deadline.cancel();
    });
  });
}

// Resolves, connects, runs `after_connect` (the TLS handshake, or straight to the request).
template <typename Stream, typename AfterConnect>
void start(Exchange<Stream>& x, const std::string& host, std::uint16_t port,
           std::chrono::milliseconds timeout, AfterConnect after_connect) {
  // One deadline for the whole exchange, resolution included.
  x.deadline.expires_after(timeout);
  x.deadline.async_wait([&x](const error_code& ec) {
    if (ec) return;
    x.timed_out = true;
    x.resolver.cancel();
    beast::get_lowest_layer(x.stream).close();
  });
  x.resolver.async_resolve(
      host, std::to_string(port),
      [&x, after_connect](const error_code& ec, const tcp::resolver::results_type& results) {
        if (ec) return fail(x, ec, "");
        beast::get_lowest_layer(x.stream).async_connect(
            results, [&x, after_connect](const error_code& connect_ec, const tcp::endpoint&) {
              if (connect_ec) return fail(x, connect_ec, "");
              error_code ignored;
              beast::get_lowest_layer(x.stream).socket().set_option(tcp::no_delay(true), ignored);
              after_connect();
            });
      });
}

// Sets up `stream` to accept only the pinned certificate, or else the system's trusted CAs
// for `host`; records in `problem` why a certificate was refused.
Status verify_server(beast::ssl_stream<beast::tcp_stream>& stream, ssl::context& context,
                     const std::string& host, const ClientTls& tls, std::string& problem) {
  error_code ec;
  stream.set_verify_mode(ssl::verify_peer, ec);
  // SNI (RFC 6066 §3): a host name, never an address literal.
  error_code not_an_address;
  asio::ip::make_address(host, not_an_address);
  if (not_an_address && SSL_set_tlsext_host_name(stream.native_handle(), host.c_str()) != 1) {
    return Status::internal("cannot set the TLS server name: " + internal::openssl_error());
  }
  if (tls.pinned_fingerprint.empty()) {
    if (!ec) context.set_default_verify_paths(ec);
    if (!ec) stream.set_verify_callback(ssl::host_name_verification(host), ec);
  } else {
    const std::string pinned = lowercase(tls.pinned_fingerprint);
    if (!ec) {
      stream.set_verify_callback(
          [pinned, &problem](bool /*preverified*/, ssl::verify_context& verify) {
            // The leaf decides (as on the federation): the pin is the trust.
            X509_STORE_CTX* store = verify.native_handle();
            if (X509_STORE_CTX_get_error_depth(store) > 0) return true;
            const std::string got =
                internal::fingerprint_of(X509_STORE_CTX_get_current_cert(store));
            if (got == pinned) return true;
            problem = "the server's TLS certificate " + got + " is not the pinned " + pinned +
                      " (refused at the handshake)";
            return false;
          },
          ec);
    }
  }
  if (ec) return Status::internal("TLS client setup: " + internal::describe(ec));
  return Status::ok();
}

HttpResponse response_of(http::response<http::string_body> message) {
  HttpResponse response;
  response.status = static_cast<int>(message.result_int());
  response.content_type = std::string(message[http::field::content_type]);
  for (const auto& field : message) {
    response.headers[lowercase(std::string(field.name_string()))] = std::string(field.value());
  }
  response.body = std::move(message.body());
  return response;
}

}  // namespace

Result<HttpResponse> http_request(const std::string& host, std::uint16_t port,
                                  const std::string& method, const std::string& target,
                                  const std::map<std::string, std::string>& headers,
                                  const std::string& body, std::chrono::milliseconds timeout,
                                  const std::optional<ClientTls>& tls) {
  const std::string where = host + ":" + std::to_string(port);
  asio::io_context io;
  http::request<http::string_body> request;
  request.version(11);
  request.method_string(method);
  request.target(target);
  request.set(http::field::host, where);
  for (const auto& [name, value] : headers) request.set(name, value);
  request.body() = body;
  request.keep_alive(false);
  request.prepare_payload();

  const auto finish = [&](auto& x) -> Result<HttpResponse> {
    if (!x.done) {
      return Status::unavailable("cannot reach the gateway API at " + where + ": " +
                                 x.failure.value_or("no response"));
    }
    return response_of(x.parser.release());
  };

  if (!tls) {
    beast::tcp_stream stream(io);
    Exchange<beast::tcp_stream> x(io, stream);
    x.request = std::move(request);
    x.parser.body_limit(kResponseBytesMax);
    start(x, host, port, timeout, [&x] { write_and_read(x); });
    io.run();
    return finish(x);
  }

  ssl::context context(ssl::context::tls_client);
  PARLEY_RETURN_IF_ERROR(internal::restrict_to_tls13(context));
  beast::ssl_stream<beast::tcp_stream> stream(io, context);
  Exchange<beast::ssl_stream<beast::tcp_stream>> x(io, stream);
  x.request = std::move(request);
  x.parser.body_limit(kResponseBytesMax);
  PARLEY_RETURN_IF_ERROR(verify_server(stream, context, host, *tls, x.certificate_problem));
  start(x, host, port, timeout, [&x] {
    x.stream.async_handshake(ssl::stream_base::client, [&x](const error_code& ec) {
      if (ec) return fail(x, ec, "TLS handshake failed: ");
      write_and_read(x);
    });
  });
  io.run();
  return finish(x);
}

namespace {

// The low end of the kernel's ephemeral range (the source ports of outgoing connections and of
// bind(0)); 32768 by default.
std::uint32_t ephemeral_low() {
  std::ifstream range("/proc/sys/net/ipv4/ip_local_port_range");
  std::uint32_t low = 0;
  std::uint32_t high = 0;
  if (range >> low >> high && low > 0 && low <= 65535) return low;
  return 32768;
}

}  // namespace

Result<std::uint16_t> free_loopback_port() {
  // Below the ephemeral range: a port the kernel hands out to bind(0) is also one it may give
  // any outgoing connection as its source port before the caller's gateway binds it (the
  // tests start gateways that connect a lot), and one picked below it is not.
  const std::uint32_t high = ephemeral_low();
  const std::uint32_t low = high > 11024 ? high - 10000 : 1024;
  std::random_device random;
  asio::io_context io;
  for (int attempt = 0; high > low && attempt < 200; ++attempt) {
    const auto port = static_cast<std::uint16_t>(low + random() % (high - low));
    tcp::acceptor acceptor(io);
    error_code ec;
    acceptor.open(tcp::v4(), ec);
    if (!ec) acceptor.bind(tcp::endpoint(asio::ip::address_v4::loopback(), port), ec);
    if (!ec) return port;
  }
  // No free port below the range (or no room there): the kernel's choice.
  tcp::acceptor acceptor(io);
  error_code ec;
  acceptor.open(tcp::v4(), ec);
  if (!ec) acceptor.bind(tcp::endpoint(asio::ip::address_v4::loopback(), 0), ec);
  const tcp::endpoint bound = ec ? tcp::endpoint() : acceptor.local_endpoint(ec);
  if (ec) return Status::unavailable("cannot find a free loopback port: " + ec.message());
  return bound.port();
}

}  // namespace parley::net
