// The blocking HTTP client the CLI uses to talk to its gateway's API, and the small
// address/error helpers the other shells share.
#include <algorithm>
#include <cctype>
#include <chrono>
#include <optional>
#include <string>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "parley/net/internal.h"
#include "parley/net/net.h"

namespace parley::net {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
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

Result<HttpResponse> http_request(const std::string& host, std::uint16_t port,
                                  const std::string& method, const std::string& target,
                                  const std::map<std::string, std::string>& headers,
                                  const std::string& body, std::chrono::milliseconds timeout) {
  const std::string where = host + ":" + std::to_string(port);
  asio::io_context io;
  tcp::resolver resolver(io);
  beast::tcp_stream stream(io);
  asio::steady_timer deadline(io);
  beast::flat_buffer buffer;

  http::request<http::string_body> request;
  request.version(11);
  request.method_string(method);
  request.target(target);
  request.set(http::field::host, where);
  for (const auto& [name, value] : headers) request.set(name, value);
  request.body() = body;
  request.keep_alive(false);
  request.prepare_payload();

  http::response_parser<http::string_body> parser;
  parser.body_limit(kResponseBytesMax);

  bool timed_out = false;
  std::optional<std::string> failure;
  bool done = false;
  const auto fail = [&](const error_code& ec) {
    if (!failure) failure = timed_out ? std::string("timed out") : internal::describe(ec);
    deadline.cancel();
  };

  // One deadline for the whole exchange, resolution included.
  deadline.expires_after(timeout);
  deadline.async_wait([&](const error_code& ec) {
    if (ec) return;
    timed_out = true;
    resolver.cancel();
    stream.close();
  });

  resolver.async_resolve(
      host, std::to_string(port),
      [&](const error_code& ec, const tcp::resolver::results_type& results) {
        if (ec) return fail(ec);
        stream.async_connect(results, [&](const error_code& connect_ec, const tcp::endpoint&) {
          if (connect_ec) return fail(connect_ec);
          error_code ignored;
          stream.socket().set_option(tcp::no_delay(true), ignored);
          http::async_write(stream, request, [&](const error_code& write_ec, std::size_t) {
            if (write_ec) return fail(write_ec);
            http::async_read(stream, buffer, parser, [&](const error_code& read_ec, std::size_t) {
              if (read_ec) return fail(read_ec);
              done = true;
              deadline.cancel();
            });
          });
        });
      });
  io.run();

  if (!done) {
    return Status::unavailable("cannot reach the gateway API at " + where + ": " +
                               failure.value_or("no response"));
  }
  http::response<http::string_body> message = parser.release();
  HttpResponse response;
  response.status = static_cast<int>(message.result_int());
  response.content_type = std::string(message[http::field::content_type]);
  for (const auto& field : message) {
    response.headers[lowercase(std::string(field.name_string()))] = std::string(field.value());
  }
  response.body = std::move(message.body());
  return response;
}

Result<std::uint16_t> free_loopback_port() {
  asio::io_context io;
  tcp::acceptor acceptor(io);
  error_code ec;
  acceptor.open(tcp::v4(), ec);
  if (!ec) acceptor.bind(tcp::endpoint(asio::ip::address_v4::loopback(), 0), ec);
  const tcp::endpoint bound = ec ? tcp::endpoint() : acceptor.local_endpoint(ec);
  if (ec) return Status::unavailable("cannot find a free loopback port: " + ec.message());
  return bound.port();
}

}  // namespace parley::net
