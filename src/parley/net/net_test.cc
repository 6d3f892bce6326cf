// Tests for the net shells, all on 127.0.0.1 with ports chosen by the kernel. The server's
// io_context runs in the test thread until a condition holds; blocking clients run in a
// second thread.
#include "parley/net/net.h"

#include <array>
#include <atomic>
#include <cctype>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <gtest/gtest.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "parley/net/internal.h"
#include "parley/wire/wire.h"

namespace parley::net {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

// Runs `io` until `done()` holds; false if it did not within a generous bound (a hang).
bool run_until(asio::io_context& io, const std::function<bool()>& done) {
  const auto give_up = std::chrono::steady_clock::now() + 20s;
  while (!done()) {
    if (std::chrono::steady_clock::now() > give_up) return false;
    io.restart();
    io.run_for(20ms);
  }
  return true;
}

tcp::endpoint endpoint_of(const std::string& address) {
  const Result<wire::HostPort> parsed = wire::parse_host_port(address);
  EXPECT_TRUE(parsed.is_ok()) << address;
  return {asio::ip::make_address(parsed->host), parsed->port};
}

// Runs `client` in a thread while the test thread serves on `io`; returns when it is done.
void with_client(asio::io_context& io, const std::function<void()>& client) {
  std::atomic<bool> done{false};
  std::thread thread([&] {
    client();
    done = true;
  });
  EXPECT_TRUE(run_until(io, [&] { return done.load(); }));
  thread.join();
}

// A blocking HTTP connection for driving the server from a test thread.
class RawClient {
 public:
  explicit RawClient(const std::string& address) : socket_(io_) {
    boost::system::error_code ec;
    socket_.connect(endpoint_of(address), ec);
    EXPECT_FALSE(ec) << ec.message();
  }
  void write(const std::string& bytes) {
    boost::system::error_code ec;
    asio::write(socket_, asio::buffer(bytes), ec);
    EXPECT_FALSE(ec) << ec.message();
  }
  http::response<http::string_body> read_response() {
    http::response<http::string_body> response;
    boost::system::error_code ec;
    http::read(socket_, buffer_, response, ec);
    EXPECT_FALSE(ec) << ec.message();
    return response;
  }
  // Reads raw bytes until `text` has appeared `count` times (or the peer closes).
  std::string read_until_count(const std::string& text, std::size_t count) {
    std::string seen(static_cast<const char*>(buffer_.data().data()), buffer_.size());
    buffer_.consume(buffer_.size());
    while (occurrences(seen, text) < count) {
      std::array<char, 1024> chunk{};
      boost::system::error_code ec;
      const std::size_t n = socket_.read_some(asio::buffer(chunk), ec);
      if (ec) break;
      seen.append(chunk.data(), n);
    }
    return seen;
  }
  // True if the server closes the connection without sending anything.
  bool closed_by_server() {
    std::array<char, 64> chunk{};
    boost::system::error_code ec;
    const std::size_t n = socket_.read_some(asio::buffer(chunk), ec);
    return n == 0 && (ec == asio::error::eof || ec == asio::error::connection_reset);
  }
  void close() {
    boost::system::error_code ignored;
    socket_.close(ignored);
  }

 private:
  static std::size_t occurrences(const std::string& haystack, const std::string& needle) {
    std::size_t count = 0;
    for (std::size_t at = haystack.find(needle); at != std::string::npos;
         at = haystack.find(needle, at + needle.size())) {
      ++count;
    }
    return count;
  }

  asio::io_context io_;
  tcp::socket socket_;
  beast::flat_buffer buffer_;
};

std::string post_request(const std::string& target, const std::string& body) {
  return "POST " + target + " HTTP/1.1\r\nHost: test\r\nX-Test-Header: yes\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

HttpResponse body_response(std::string body) {
  HttpResponse response;
  response.body = std::move(body);
  return response;
}

std::unique_ptr<Server> listen_or_die(asio::io_context& io, Handler handler,
                                      ServerLimits limits = {}) {
  Result<std::unique_ptr<Server>> server =
      listen_http(io, "127.0.0.1", 0, std::move(handler), limits);
  EXPECT_TRUE(server.is_ok()) << server.status().to_string();
  return std::move(server).value();
}

TEST(HttpServerTest, AnswersTwoRequestsOnOneKeptAliveConnection) {
  asio::io_context io;
  std::vector<HttpRequest> seen;
  auto server = listen_or_die(io, [&](HttpRequest request, std::shared_ptr<Responder> responder) {
    seen.push_back(request);
    HttpResponse response;
    response.body = request.method + " " + request.target + " " + request.body;
    response.headers["X-Reply"] = "1";
    responder->respond(response);
    HttpResponse teapot;
    teapot.status = 418;
    responder->respond(teapot);  // a second answer is ignored
  });

  std::vector<http::response<http::string_body>> responses;
  with_client(io, [&] {
    RawClient client(server->local_endpoint());
    client.write(post_request("/one?x=1", "first"));
    responses.push_back(client.read_response());
    client.write(post_request("/two", "second"));
    responses.push_back(client.read_response());
  });

  ASSERT_EQ(responses.size(), 2U);
  EXPECT_EQ(responses[0].result_int(), 200U);
  EXPECT_EQ(responses[0].body(), "POST /one?x=1 first");
  EXPECT_EQ(responses[0][http::field::content_type], "application/json");
  EXPECT_EQ(responses[0]["X-Reply"], "1");
  EXPECT_TRUE(responses[0].keep_alive());
  EXPECT_EQ(responses[1].result_int(), 200U);
  EXPECT_EQ(responses[1].body(), "POST /two second");
  ASSERT_EQ(seen.size(), 2U);
  EXPECT_EQ(seen[0].headers["x-test-header"], "yes");
  EXPECT_EQ(seen[0].remote, seen[1].remote);  // the same connection
  EXPECT_EQ(seen[0].remote.rfind("127.0.0.1:", 0), 0U);
  EXPECT_TRUE(seen[0].peer_fingerprint.empty());
}

TEST(HttpServerTest, OversizeBodyGets413AndNeverReachesTheHandler) {
  asio::io_context io;
  int handled = 0;
  auto server = listen_or_die(
      io,
      [&](HttpRequest, std::shared_ptr<Responder> responder) {
        ++handled;
        responder->respond({});
      },
      ServerLimits{.body_bytes_max = 16});

  http::response<http::string_body> response;
  with_client(io, [&] {
    RawClient client(server->local_endpoint());
    client.write(post_request("/big", std::string(100, 'x')));
    response = client.read_response();
  });
  EXPECT_EQ(response.result_int(), 413U);
  EXPECT_NE(response.body().find("\"error\""), std::string::npos) << response.body();
  EXPECT_FALSE(response.keep_alive());
  EXPECT_EQ(handled, 0);
}

TEST(HttpServerTest, GarbageBytesGet400) {
  asio::io_context io;
  int handled = 0;
  auto server = listen_or_die(io, [&](HttpRequest, std::shared_ptr<Responder> responder) {
    ++handled;
    responder->respond({});
  });

  http::response<http::string_body> response;
  with_client(io, [&] {
    RawClient client(server->local_endpoint());
    client.write("this is not http at all\r\n\r\n");
    response = client.read_response();
  });
  EXPECT_EQ(response.result_int(), 400U);
  EXPECT_NE(response.body().find("malformed HTTP request"), std::string::npos) << response.body();
  EXPECT_EQ(handled, 0);
}

TEST(HttpServerTest, ResponderDroppedWithoutAnAnswerGives500) {
  asio::io_context io;
  auto server = listen_or_die(io, [](HttpRequest, std::shared_ptr<Responder>) {});

  http::response<http::string_body> response;
  with_client(io, [&] {
    RawClient client(server->local_endpoint());
    client.write(post_request("/forgotten", ""));
    response = client.read_response();
  });
  EXPECT_EQ(response.result_int(), 500U);
  EXPECT_EQ(response.body(), R"({"error":"internal: no response"})");
}

TEST(HttpServerTest, EventStreamDeliversEventsAndClosesWhenTheClientLeaves) {
  asio::io_context io;
  std::shared_ptr<EventStream> stream;
  auto server = listen_or_die(io, [&](HttpRequest, std::shared_ptr<Responder> responder) {
    stream = responder->stream();
    EXPECT_TRUE(stream->send({"7", "message", "{\"n\":1}"}));
    EXPECT_TRUE(stream->send({"", "message", "two\nlines"}));
    responder->respond({});  // too late: the stream is the answer
  });

  std::string received;
  with_client(io, [&] {
    RawClient client(server->local_endpoint());
    client.write("GET /api/v1/events HTTP/1.1\r\nHost: test\r\n\r\n");
    received = client.read_until_count("\n\n", 2);
    client.close();
  });
  EXPECT_NE(received.find("HTTP/1.1 200 OK\r\n"), std::string::npos) << received;
  EXPECT_NE(received.find("Content-Type: text/event-stream\r\n"), std::string::npos);
  EXPECT_NE(received.find("Cache-Control: no-cache\r\n"), std::string::npos);
  EXPECT_NE(received.find("id: 7\nevent: message\ndata: {\"n\":1}\n\n"), std::string::npos)
      << received;
  EXPECT_NE(received.find("event: message\ndata: two\ndata: lines\n\n"), std::string::npos)
      << received;

  ASSERT_TRUE(stream);
  EXPECT_TRUE(run_until(io, [&] { return !stream->is_open(); }));
  EXPECT_FALSE(stream->send({"8", "message", "after the client left"}));
}

TEST(HttpServerTest, AnEventStreamGetsAKeepAliveCommentEveryIntervalAndIdsStayOnOneLine) {
  asio::io_context io;
  std::shared_ptr<EventStream> stream;
  ServerLimits limits;
  limits.sse_keepalive = 50ms;
  auto server = listen_or_die(
      io,
      [&](HttpRequest, std::shared_ptr<Responder> responder) {
        stream = responder->stream();
        EXPECT_TRUE(stream->send({"1\n2", "a\rb", "x"}));
      },
      limits);

  std::string received;
  with_client(io, [&] {
    RawClient client(server->local_endpoint());
    client.write("GET /api/v1/events HTTP/1.1\r\nHost: test\r\n\r\n");
    // The event, then at least two comments: the keep-alive is re-armed after each.
    received = client.read_until_count(": keep-alive\n\n", 2);
    client.close();
  });
  EXPECT_NE(received.find("id: 12\nevent: ab\ndata: x\n\n"), std::string::npos) << received;
  const std::size_t first = received.find(": keep-alive\n\n");
  ASSERT_NE(first, std::string::npos) << received;
  EXPECT_NE(received.find(": keep-alive\n\n", first + 1), std::string::npos) << received;
}

TEST(HttpServerTest, StopClosesAnOpenEventStream) {
  asio::io_context io;
  std::shared_ptr<EventStream> stream;
  auto server = listen_or_die(io, [&](HttpRequest, std::shared_ptr<Responder> responder) {
    stream = responder->stream();
    EXPECT_TRUE(stream->send({"", "hello", "1"}));
  });

  std::string received;
  std::atomic<bool> subscribed{false};
  std::thread client_thread([&] {
    RawClient client(server->local_endpoint());
    client.write("GET /events HTTP/1.1\r\nHost: test\r\n\r\n");
    received = client.read_until_count("\n\n", 1);
    subscribed = true;
    received = client.read_until_count("never", 1);  // returns when the server closes
  });
  EXPECT_TRUE(run_until(io, [&] { return subscribed.load(); }));
  server->stop();
  EXPECT_TRUE(run_until(io, [&] { return !stream->is_open(); }));
  client_thread.join();
  EXPECT_FALSE(stream->send({"", "hello", "2"}));
}

TEST(HttpServerTest, ConnectionsBeyondTheLimitAreClosedWhenEverySlotIsAdmitted) {
  asio::io_context io;
  std::shared_ptr<Responder> held;
  std::atomic<bool> handled{false};
  auto server = listen_or_die(
      io,
      [&](HttpRequest, std::shared_ptr<Responder> responder) {
        held = std::move(responder);
        handled = true;
      },
      ServerLimits{.connections_max = 1});

  bool second_closed = false;
  std::string first_answer;
  std::atomic<bool> done{false};
  std::thread client([&] {
    RawClient first(server->local_endpoint());
    first.write(post_request("/", ""));  // handled, not answered: `first` is admitted
    const auto give_up = std::chrono::steady_clock::now() + 20s;
    while (!handled && std::chrono::steady_clock::now() < give_up) std::this_thread::yield();
    RawClient second(server->local_endpoint());
    second_closed = second.closed_by_server();
    first_answer = first.read_response().body();
    done = true;
  });
  EXPECT_TRUE(run_until(io, [&] { return held != nullptr; }));
  EXPECT_TRUE(run_until(io, [&] { return server->admission_stats().connections_refused == 1; }));
  if (held) held->respond(body_response("ok"));
  held.reset();
  EXPECT_TRUE(run_until(io, [&] { return done.load(); }));
  server->stop();  // a client still blocked on a failure gets an error, and the thread ends
  client.join();
  EXPECT_TRUE(second_closed);
  EXPECT_EQ(first_answer, "ok");
  EXPECT_EQ(server->admission_stats().connections_evicted, 0u);
}

TEST(HttpServerTest, PartialHeadGets408AfterTheRequestTimeout) {
  asio::io_context io;
  int handled = 0;
  auto server = listen_or_die(
      io, [&](HttpRequest, std::shared_ptr<Responder>) { ++handled; },
      ServerLimits{.read_timeout = 5s, .request_timeout = 100ms});
  unsigned status = 0;
  with_client(io, [&] {
    RawClient client(server->local_endpoint());
    client.write("GET / HTTP/1.1\r\n");  // and never the rest
    status = client.read_response().result_int();
  });
  EXPECT_EQ(status, 408u);
  EXPECT_EQ(handled, 0);
}

// Issue 10: a truncated body was answered only by closing the connection at the read
// timeout (30 s by default).
TEST(HttpServerTest, TruncatedBodyGets408WithAJsonReason) {
  asio::io_context io;
  int handled = 0;
  auto server = listen_or_die(
      io, [&](HttpRequest, std::shared_ptr<Responder>) { ++handled; },
      ServerLimits{.read_timeout = 2s, .request_timeout = 200ms});
  http::response<http::string_body> response;
  with_client(io, [&] {
    RawClient client(server->local_endpoint());
    client.write(
        "POST /api/v1/messages HTTP/1.1\r\nHost: test\r\nContent-Length: 100\r\n\r\n{\"li");
    response = client.read_response();
  });
  EXPECT_EQ(response.result_int(), 408u);
  EXPECT_NE(response.body().find("{\"error\":\"request not complete within 200ms"),
            std::string::npos)
      << response.body();
  EXPECT_EQ(handled, 0);
  EXPECT_EQ(server->admission_stats().requests_timed_out, 1u);
}

TEST(HttpServerTest, SilentConnectionIsClosedAfterTheAdmissionTimeout) {
  asio::io_context io;
  auto server = listen_or_die(
      io, [](HttpRequest, std::shared_ptr<Responder>) {},
      ServerLimits{
          .read_timeout = 5s, .admission_timeout = 100ms, .admission_timeout_pressed = 100ms});
  bool closed = false;
  std::chrono::steady_clock::duration took{};
  with_client(io, [&] {
    const auto start = std::chrono::steady_clock::now();
    RawClient client(server->local_endpoint());
    closed = client.closed_by_server();
    took = std::chrono::steady_clock::now() - start;
  });
  EXPECT_TRUE(closed);
  EXPECT_LT(took, 2s);  // the admission timeout, not the keep-alive read timeout
}

// Issue 10: idle TCP connections holding every slot (30 s each) locked principals out.
TEST(HttpServerTest, IdleConnectionsFillingEverySlotDoNotLockOutARealClient) {
  asio::io_context io;
  auto server = listen_or_die(
      io,
      [](HttpRequest, std::shared_ptr<Responder> responder) {
        responder->respond(body_response("ok"));
      },
      ServerLimits{.connections_max = 8});
  // Idle connections, all from 127.0.0.1 like the real client: no per-source rule can tell
  // them apart, only admission can.
  asio::io_context idle_io;
  std::vector<std::unique_ptr<tcp::socket>> idle;
  for (int i = 0; i < 50; ++i) {
    idle.push_back(std::make_unique<tcp::socket>(idle_io));
    boost::system::error_code ec;
    idle.back()->connect(endpoint_of(server->local_endpoint()), ec);
    ASSERT_FALSE(ec) << ec.message();
  }
  const tcp::endpoint endpoint = endpoint_of(server->local_endpoint());
  Result<HttpResponse> answer = Status::internal("not run");
  std::chrono::steady_clock::duration took{};
  with_client(io, [&] {
    const auto start = std::chrono::steady_clock::now();
    answer = http_request(endpoint.address().to_string(), endpoint.port(), "GET", "/healthz", {},
                          "", 5s);
    took = std::chrono::steady_clock::now() - start;
  });
  ASSERT_TRUE(answer.is_ok()) << answer.status().to_string();
  EXPECT_EQ(answer->body, "ok");
  EXPECT_LT(took, 2s);
  const AdmissionStats stats = server->admission_stats();
  EXPECT_GE(stats.connections_evicted, 43u);  // 51 connections, 8 slots
  EXPECT_EQ(stats.connections_refused, 0u);
}

TEST(HttpServerTest, OneSourceHoldsAtMostItsShareOfUnadmittedConnections) {
  asio::io_context io;
  auto server = listen_or_die(
      io, [](HttpRequest, std::shared_ptr<Responder>) {},
      ServerLimits{.connections_max = 256, .unadmitted_per_source_max = 4});
  asio::io_context idle_io;
  std::vector<std::unique_ptr<tcp::socket>> idle;
  for (int i = 0; i < 10; ++i) {
    idle.push_back(std::make_unique<tcp::socket>(idle_io));
    boost::system::error_code ec;
    idle.back()->connect(endpoint_of(server->local_endpoint()), ec);
    ASSERT_FALSE(ec) << ec.message();
  }
  EXPECT_TRUE(run_until(io, [&] { return server->admission_stats().connections_evicted == 6; }))
      << server->admission_stats().connections_evicted;
  EXPECT_EQ(server->admission_stats().connections_open, 4u);
}

TEST(HttpServerTest, ListeningOnAPortInUseIsUnavailable) {
  asio::io_context io;
  auto first = listen_or_die(io, [](HttpRequest, std::shared_ptr<Responder>) {});
  const tcp::endpoint taken = endpoint_of(first->local_endpoint());
  Result<std::unique_ptr<Server>> second =
      listen_http(io, "127.0.0.1", taken.port(), [](HttpRequest, std::shared_ptr<Responder>) {});
  ASSERT_FALSE(second.is_ok());
  EXPECT_EQ(second.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(second.status().message().find("cannot listen on 127.0.0.1:"), std::string::npos);
}

TEST(HttpRequestTest, GetsTheServersAnswer) {
  asio::io_context io;
  auto server = listen_or_die(io, [](HttpRequest request, std::shared_ptr<Responder> responder) {
    HttpResponse response;
    response.status = 201;
    response.content_type = "text/plain";
    response.headers["X-Seen"] = request.headers["authorization"];
    response.body = request.method + ":" + request.body;
    responder->respond(response);
  });
  const tcp::endpoint endpoint = endpoint_of(server->local_endpoint());

  std::optional<Result<HttpResponse>> result;
  with_client(io, [&] {
    result = http_request("127.0.0.1", endpoint.port(), "PUT", "/api/v1/x",
                          {{"Authorization", "Bearer t"}}, "payload", 10s);
  });
  ASSERT_TRUE(result.has_value());
  ASSERT_TRUE(result->is_ok()) << result->status().to_string();
  EXPECT_EQ((*result)->status, 201);
  EXPECT_EQ((*result)->content_type, "text/plain");
  EXPECT_EQ((*result)->headers["x-seen"], "Bearer t");
  EXPECT_EQ((*result)->body, "PUT:payload");
}

TEST(HttpRequestTest, TimesOutAgainstAServerThatNeverAnswers) {
  asio::io_context io;
  tcp::acceptor silent(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  // Never accepts: the kernel completes the connection, nobody ever reads or answers.
  const Result<HttpResponse> result =
      http_request("127.0.0.1", silent.local_endpoint().port(), "GET", "/", {}, "", 200ms);
  ASSERT_FALSE(result.is_ok());
  EXPECT_EQ(result.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(result.status().message().find("cannot reach the gateway API at 127.0.0.1:"),
            std::string::npos);
  EXPECT_NE(result.status().message().find("timed out"), std::string::npos)
      << result.status().message();
}

// A port that nobody listens on (bound, then released).
std::uint16_t closed_port() {
  asio::io_context io;
  tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  return acceptor.local_endpoint().port();
}

TEST(HttpRequestTest, RefusedConnectionIsUnavailable) {
  const Result<HttpResponse> result =
      http_request("127.0.0.1", closed_port(), "GET", "/", {}, "", 10s);
  ASSERT_FALSE(result.is_ok());
  EXPECT_EQ(result.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(result.status().message().find("connection refused"), std::string::npos)
      << result.status().message();
}

TEST(TlsTest, SelfSignedCertificateHasAStableSha256Fingerprint) {
  const Result<TlsIdentity> a = make_self_signed("party-a");
  const Result<TlsIdentity> b = make_self_signed("party-b");
  ASSERT_TRUE(a.is_ok()) << a.status().to_string();
  ASSERT_TRUE(b.is_ok()) << b.status().to_string();
  EXPECT_NE(a->cert_pem.find("-----BEGIN CERTIFICATE-----"), std::string::npos);
  EXPECT_NE(a->key_pem.find("-----BEGIN PRIVATE KEY-----"), std::string::npos);
  const Result<std::string> fa = cert_fingerprint(a->cert_pem);
  const Result<std::string> fb = cert_fingerprint(b->cert_pem);
  ASSERT_TRUE(fa.is_ok() && fb.is_ok());
  EXPECT_EQ(fa->size(), 64U);
  EXPECT_EQ(fa->find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_EQ(*fa, *cert_fingerprint(a->cert_pem));
  EXPECT_NE(*fa, *fb);
}

TEST(TlsTest, FingerprintOfSomethingElseIsInvalidArgument) {
  EXPECT_EQ(cert_fingerprint("not a certificate").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(cert_fingerprint("").status().code(), StatusCode::kInvalidArgument);
  const Result<TlsIdentity> a = make_self_signed("party-a");
  ASSERT_TRUE(a.is_ok());
  EXPECT_EQ(cert_fingerprint(a->key_pem).status().code(), StatusCode::kInvalidArgument);
}

// Two parties' identities and a federation server of "b" that accepts "a".
class FederationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    a_ = make_self_signed("party-a").value();
    b_ = make_self_signed("party-b").value();
    stranger_ = make_self_signed("stranger").value();
    a_fp_ = cert_fingerprint(a_.cert_pem).value();
    b_fp_ = cert_fingerprint(b_.cert_pem).value();
  }

  void listen(Handler handler, ServerLimits limits = {}) {
    auto allowed = std::make_shared<const std::vector<std::string>>(std::vector{a_fp_});
    Result<std::unique_ptr<Server>> server =
        listen_federation(io_, "127.0.0.1", 0, b_, allowed, std::move(handler), limits);
    ASSERT_TRUE(server.is_ok()) << server.status().to_string();
    server_ = std::move(server).value();
  }

  void echo(ServerLimits limits = {}) {
    listen(
        [this](HttpRequest request, std::shared_ptr<Responder> responder) {
          seen_.push_back(request);
          responder->respond(body_response("ack:" + request.body));
        },
        std::move(limits));
  }

  // `n` TCP connections to the server that send nothing (no ClientHello).
  std::vector<std::unique_ptr<tcp::socket>> idle_connections(int n) {
    std::vector<std::unique_ptr<tcp::socket>> idle;
    for (int i = 0; i < n; ++i) {
      idle.push_back(std::make_unique<tcp::socket>(idle_io_));
      boost::system::error_code ec;
      idle.back()->connect(endpoint_of(server_->local_endpoint()), ec);
      EXPECT_FALSE(ec) << ec.message();
    }
    return idle;
  }

  std::uint64_t refused(HandshakeRefusal reason) const {
    return server_->admission_stats().handshakes_refused[static_cast<std::size_t>(reason)];
  }

  // Posts and runs the io_context until the callback has been called.
  Result<HttpResponse> post(FederationClient& client, const std::string& body,
                            std::chrono::milliseconds timeout = 10s) {
    std::optional<Result<HttpResponse>> result;
    client.post("/federation/v1/transactions", body, timeout,
                [&](Result<HttpResponse> r) { result.emplace(std::move(r)); });
    EXPECT_TRUE(run_until(io_, [&] { return result.has_value(); }));
    if (!result) return Status::internal("no callback");
    return std::move(*result);
  }

  asio::io_context io_;
  asio::io_context idle_io_;  // for connections the test holds but never drives
  TlsIdentity a_, b_, stranger_;
  std::string a_fp_, b_fp_;
  std::unique_ptr<Server> server_;
  std::vector<HttpRequest> seen_;
};

TEST_F(FederationTest, AllowedClientGetsAnswersAndTheServerSeesItsFingerprint) {
  echo();
  auto client = make_federation_client(io_, {server_->local_endpoint()}, a_, b_fp_);
  const Result<HttpResponse> first = post(*client, "tx-1");
  ASSERT_TRUE(first.is_ok()) << first.status().to_string();
  EXPECT_EQ(first->status, 200);
  EXPECT_EQ(first->body, "ack:tx-1");
  const Result<HttpResponse> second = post(*client, "tx-2");
  ASSERT_TRUE(second.is_ok()) << second.status().to_string();
  EXPECT_EQ(second->body, "ack:tx-2");

  ASSERT_EQ(seen_.size(), 2U);
  EXPECT_EQ(seen_[0].peer_fingerprint, a_fp_);
  EXPECT_EQ(seen_[0].method, "POST");
  EXPECT_EQ(seen_[0].target, "/federation/v1/transactions");
  EXPECT_EQ(seen_[0].remote, seen_[1].remote);  // one kept connection
}

TEST_F(FederationTest, QueuedRequestsAreAnsweredInOrder) {
  echo();
  auto client = make_federation_client(io_, {server_->local_endpoint()}, a_, b_fp_);
  std::vector<std::string> answers;
  for (int i = 0; i < 5; ++i) {
    client->post("/t", std::to_string(i), 10s, [&](Result<HttpResponse> r) {
      answers.push_back(r.is_ok() ? r->body : r.status().to_string());
    });
  }
  ASSERT_TRUE(run_until(io_, [&] { return answers.size() == 5; }));
  EXPECT_EQ(answers, (std::vector<std::string>{"ack:0", "ack:1", "ack:2", "ack:3", "ack:4"}));
}

TEST_F(FederationTest, ClientWithAnUnlistedCertificateIsRefused) {
  echo();
  const std::string stranger_fp = cert_fingerprint(stranger_.cert_pem).value();
  auto client = make_federation_client(io_, {server_->local_endpoint()}, stranger_, b_fp_);
  const Result<HttpResponse> result = post(*client, "tx");
  ASSERT_FALSE(result.is_ok());
  EXPECT_EQ(result.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(result.status().message().find(server_->local_endpoint()), std::string::npos)
      << result.status().message();
  EXPECT_TRUE(seen_.empty());
}

// Issue 10: a few thousand idle TCP connections (no ClientHello) held every slot for 30 s,
// and the pinned peer could not reconnect.
TEST_F(FederationTest, IdleConnectionsFillingEverySlotDoNotLockOutThePinnedPeer) {
  echo(ServerLimits{.connections_max = 8});
  const auto idle = idle_connections(50);
  auto client = make_federation_client(io_, {server_->local_endpoint()}, a_, b_fp_);
  const auto start = std::chrono::steady_clock::now();
  const Result<HttpResponse> result = post(*client, "tx", 5s);
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(result.is_ok()) << result.status().to_string();
  EXPECT_EQ(result->body, "ack:tx");
  EXPECT_LT(took, 2s);
  EXPECT_GE(server_->admission_stats().connections_evicted, 43u);
  EXPECT_EQ(refused(HandshakeRefusal::kEvicted), server_->admission_stats().connections_evicted);
}

TEST_F(FederationTest, AnAdmittedPeerIsNeverShedForNewcomers) {
  echo(ServerLimits{.connections_max = 2});
  auto client = make_federation_client(io_, {server_->local_endpoint()}, a_, b_fp_);
  ASSERT_TRUE(post(*client, "tx-1").is_ok());
  const auto idle = idle_connections(20);
  ASSERT_TRUE(run_until(io_, [&] { return refused(HandshakeRefusal::kEvicted) >= 18; }));
  const Result<HttpResponse> again = post(*client, "tx-2");
  ASSERT_TRUE(again.is_ok()) << again.status().to_string();
  ASSERT_EQ(seen_.size(), 2u);
  EXPECT_EQ(seen_[0].remote, seen_[1].remote);  // the same connection all along
}

// Issue 10: refused handshakes left no trace, neither a log line nor a metric.
TEST_F(FederationTest, RefusedHandshakesAreCountedByReasonAndLoggedAtALimitedRate) {
  std::vector<std::string> warnings;
  echo(ServerLimits{.admission_timeout = 200ms,
                    .admission_timeout_pressed = 200ms,
                    .warn = [&](const std::string& line) { warnings.push_back(line); },
                    .warn_interval = 1h});

  // Unpinned certificates, three times.
  for (int i = 0; i < 3; ++i) {
    auto stranger = make_federation_client(io_, {server_->local_endpoint()}, stranger_, b_fp_);
    EXPECT_FALSE(post(*stranger, "tx").is_ok());
  }
  EXPECT_TRUE(run_until(io_, [&] { return refused(HandshakeRefusal::kUnpinnedCertificate) == 3; }))
      << refused(HandshakeRefusal::kUnpinnedCertificate);

  // A TLS 1.2 client.
  asio::ssl::context tls12(asio::ssl::context::tls_client);
  SSL_CTX_set_max_proto_version(tls12.native_handle(), TLS1_2_VERSION);
  asio::ssl::stream<tcp::socket> old_client(io_, tls12);
  old_client.next_layer().connect(endpoint_of(server_->local_endpoint()));
  bool old_done = false;
  old_client.async_handshake(asio::ssl::stream_base::client,
                             [&](const boost::system::error_code&) { old_done = true; });
  EXPECT_TRUE(run_until(io_, [&] { return old_done; }));
  EXPECT_TRUE(run_until(io_, [&] { return refused(HandshakeRefusal::kProtocolVersion) == 1; }));

  // Plain HTTP on the TLS port.
  RawClient plain(server_->local_endpoint());
  plain.write(post_request("/federation/v1/transactions", "{}"));
  EXPECT_TRUE(run_until(io_, [&] { return refused(HandshakeRefusal::kProtocolVersion) == 2; }));

  // A connection that never says anything.
  const auto idle = idle_connections(1);
  EXPECT_TRUE(run_until(io_, [&] { return refused(HandshakeRefusal::kTimeout) == 1; }));

  EXPECT_TRUE(seen_.empty());
  EXPECT_EQ(refused(HandshakeRefusal::kEvicted), 0u);
  // One line per reason within the interval, however many refusals.
  ASSERT_EQ(warnings.size(), 3u) << ::testing::PrintToString(warnings);
  EXPECT_NE(warnings[0].find("(unpinned_certificate)"), std::string::npos) << warnings[0];
  EXPECT_NE(warnings[1].find("(protocol_version)"), std::string::npos) << warnings[1];
  EXPECT_NE(warnings[2].find("(timeout)"), std::string::npos) << warnings[2];
}

TEST_F(FederationTest, RefusalLinesCarryTheCountSinceThePreviousLine) {
  std::vector<std::string> warnings;
  echo(ServerLimits{.warn = [&](const std::string& line) { warnings.push_back(line); },
                    .warn_interval = 0ms});
  for (int i = 0; i < 2; ++i) {
    auto stranger = make_federation_client(io_, {server_->local_endpoint()}, stranger_, b_fp_);
    EXPECT_FALSE(post(*stranger, "tx").is_ok());
  }
  EXPECT_TRUE(run_until(io_, [&] { return warnings.size() == 2; }));
  ASSERT_EQ(warnings.size(), 2u);
  EXPECT_NE(warnings[1].find(": 1 TLS handshakes refused (unpinned_certificate)"),
            std::string::npos)
      << warnings[1];
}

TEST_F(FederationTest, ClientPinningAnotherServerFingerprintIsRefused) {
  echo();
  const std::string wrong = cert_fingerprint(stranger_.cert_pem).value();
  auto client = make_federation_client(io_, {server_->local_endpoint()}, a_, wrong);
  const Result<HttpResponse> result = post(*client, "tx");
  ASSERT_FALSE(result.is_ok());
  EXPECT_EQ(result.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(result.status().message(),
            server_->local_endpoint() + ": certificate fingerprint mismatch");
  EXPECT_TRUE(seen_.empty());
}

// A client pinned to a set of fingerprints (a peer's, with those its key rotations announced)
// reads it on each handshake: one added later is accepted from the next connection.
TEST_F(FederationTest, AFingerprintAddedToTheClientsPinnedSetIsAcceptedFromTheNextConnection) {
  echo();
  auto pinned = std::make_shared<std::vector<std::string>>(
      std::vector{cert_fingerprint(stranger_.cert_pem).value()});
  auto client = make_federation_client(io_, {server_->local_endpoint()}, a_, pinned);
  Result<HttpResponse> result = post(*client, "tx");
  ASSERT_FALSE(result.is_ok());
  EXPECT_EQ(result.status().message(),
            server_->local_endpoint() + ": certificate fingerprint mismatch");
  pinned->push_back(b_fp_);
  result = post(*client, "tx");
  ASSERT_TRUE(result.is_ok()) << result.status().to_string();
  EXPECT_EQ(result->body, "ack:tx");
}

// Our key rotation (docs/protocol.md "Key rotation"): once every peer countersigned it, the
// federation server presents the rotated certificate to new connections, and still asks each
// client for a certificate it allows.
TEST_F(FederationTest, AReplacedIdentityIsPresentedToNewConnectionsAndClientsAreStillChecked) {
  echo();
  auto old_pin = make_federation_client(io_, {server_->local_endpoint()}, a_, b_fp_);
  ASSERT_TRUE(post(*old_pin, "tx").is_ok());
  const TlsIdentity rotated = make_self_signed("party-b").value();
  const std::string rotated_fp = cert_fingerprint(rotated.cert_pem).value();
  TlsIdentity mismatched = rotated;
  mismatched.key_pem = a_.key_pem;
  EXPECT_EQ(server_->replace_identity(mismatched).code(), StatusCode::kInvalidArgument);
  ASSERT_TRUE(post(*old_pin, "tx").is_ok());  // nothing changed

  ASSERT_TRUE(server_->replace_identity(rotated).is_ok());
  auto new_pin = make_federation_client(io_, {server_->local_endpoint()}, a_, rotated_fp);
  Result<HttpResponse> result = post(*new_pin, "tx");
  ASSERT_TRUE(result.is_ok()) << result.status().to_string();
  EXPECT_EQ(result->body, "ack:tx");
  auto stale = make_federation_client(io_, {server_->local_endpoint()}, a_, b_fp_);
  result = post(*stale, "tx");
  ASSERT_FALSE(result.is_ok());
  EXPECT_EQ(result.status().message(),
            server_->local_endpoint() + ": certificate fingerprint mismatch");
  auto stranger = make_federation_client(io_, {server_->local_endpoint()}, stranger_, rotated_fp);
  EXPECT_FALSE(post(*stranger, "tx").is_ok());
}

// The client side of our key rotation: a replaced identity is presented from the next
// connection (here one the server does not allow, which shows it is presented).
TEST_F(FederationTest, AClientsReplacedIdentityIsPresentedFromTheNextConnection) {
  echo();
  auto client = make_federation_client(io_, {server_->local_endpoint()}, a_, b_fp_);
  ASSERT_TRUE(post(*client, "tx").is_ok());
  TlsIdentity mismatched = stranger_;
  mismatched.key_pem = a_.key_pem;
  EXPECT_EQ(client->replace_identity(mismatched).code(), StatusCode::kInvalidArgument);
  ASSERT_TRUE(client->replace_identity(stranger_).is_ok());
  Result<HttpResponse> kept = post(*client, "tx");  // the open connection keeps its own
  ASSERT_TRUE(kept.is_ok()) << kept.status().to_string();
  client->close();
  EXPECT_FALSE(post(*client, "tx").is_ok());
  ASSERT_EQ(seen_.size(), 2U);
  EXPECT_EQ(seen_[1].peer_fingerprint, a_fp_);
}

TEST_F(FederationTest, RefusedConnectionIsUnavailableAndNamesTheAddress) {
  const std::string address = "127.0.0.1:" + std::to_string(closed_port());
  auto client = make_federation_client(io_, {address}, a_, b_fp_);
  const Result<HttpResponse> result = post(*client, "tx");
  ASSERT_FALSE(result.is_ok());
  EXPECT_EQ(result.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(result.status().message(), address + ": connection refused");
}

TEST_F(FederationTest, ClientFallsBackToTheNextAddress) {
  echo();
  const std::string dead = "127.0.0.1:" + std::to_string(closed_port());
  auto client = make_federation_client(io_, {dead, server_->local_endpoint()}, a_, b_fp_);
  const Result<HttpResponse> result = post(*client, "tx");
  ASSERT_TRUE(result.is_ok()) << result.status().to_string();
  EXPECT_EQ(result->body, "ack:tx");
}

TEST_F(FederationTest, ServerStopFailsThePendingRequest) {
  std::shared_ptr<Responder> held;
  listen([&](HttpRequest, std::shared_ptr<Responder> responder) { held = std::move(responder); });
  auto client = make_federation_client(io_, {server_->local_endpoint()}, a_, b_fp_);
  std::optional<Result<HttpResponse>> result;
  client->post("/t", "tx", 30s, [&](Result<HttpResponse> r) { result.emplace(std::move(r)); });
  ASSERT_TRUE(run_until(io_, [&] { return held != nullptr; }));
  server_->stop();
  ASSERT_TRUE(run_until(io_, [&] { return result.has_value(); }));
  ASSERT_FALSE(result->is_ok());
  EXPECT_EQ(result->status().code(), StatusCode::kUnavailable);
  held->respond({});  // after the stop: goes nowhere, harmlessly
}

TEST_F(FederationTest, RequestThatGetsNoAnswerTimesOut) {
  std::shared_ptr<Responder> held;
  listen([&](HttpRequest, std::shared_ptr<Responder> responder) { held = std::move(responder); });
  auto client = make_federation_client(io_, {server_->local_endpoint()}, a_, b_fp_);
  const Result<HttpResponse> result = post(*client, "tx", 200ms);
  ASSERT_FALSE(result.is_ok());
  EXPECT_EQ(result.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(result.status().message().find("timed out"), std::string::npos)
      << result.status().message();
}

TEST_F(FederationTest, CloseFailsPendingRequestsAndTheNextPostReconnects) {
  echo();
  auto client = make_federation_client(io_, {server_->local_endpoint()}, a_, b_fp_);
  std::vector<Result<HttpResponse>> results;
  client->post("/t", "1", 10s, [&](Result<HttpResponse> r) { results.push_back(std::move(r)); });
  client->post("/t", "2", 10s, [&](Result<HttpResponse> r) { results.push_back(std::move(r)); });
  client->close();
  ASSERT_TRUE(run_until(io_, [&] { return results.size() == 2; }));
  for (const auto& r : results) EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);

  const Result<HttpResponse> after = post(*client, "3");
  ASSERT_TRUE(after.is_ok()) << after.status().to_string();
  EXPECT_EQ(after->body, "ack:3");
}

TEST_F(FederationTest, DestroyingTheClientWithRequestsPendingIsSafe) {
  // The server holds the request unanswered, so it is still pending when the client goes
  // (an echo could answer within one poll on a fast loopback and the test would see "ok").
  std::shared_ptr<Responder> held;
  listen([&](HttpRequest, std::shared_ptr<Responder> responder) { held = std::move(responder); });
  auto client = make_federation_client(io_, {server_->local_endpoint()}, a_, b_fp_);
  std::optional<Result<HttpResponse>> result;
  client->post("/t", "tx", 10s, [&](Result<HttpResponse> r) { result.emplace(std::move(r)); });
  io_.poll();  // the connection attempt is under way
  client.reset();
  ASSERT_TRUE(run_until(io_, [&] { return result.has_value(); }));
  EXPECT_EQ(result->status().code(), StatusCode::kUnavailable);
  io_.restart();
  io_.run_for(50ms);  // let abandoned operations finish (ASan checks their memory use)
}

TEST_F(FederationTest, ClientReconnectsAfterTheServerDroppedTheConnection) {
  echo();
  const std::string address = server_->local_endpoint();
  auto client = make_federation_client(io_, {address}, a_, b_fp_);
  ASSERT_TRUE(post(*client, "1").is_ok());
  server_->stop();  // closes the kept connection
  const tcp::endpoint endpoint = endpoint_of(address);
  auto allowed = std::make_shared<const std::vector<std::string>>(std::vector{a_fp_});
  Result<std::unique_ptr<Server>> again =
      listen_federation(io_, "127.0.0.1", endpoint.port(), b_, allowed,
                        [](HttpRequest request, std::shared_ptr<Responder> responder) {
                          responder->respond(body_response("again:" + request.body));
                        });
  ASSERT_TRUE(again.is_ok()) << again.status().to_string();
  io_.restart();
  io_.poll();  // the client sees the old connection close
  const Result<HttpResponse> result = post(*client, "2");
  ASSERT_TRUE(result.is_ok()) << result.status().to_string();
  EXPECT_EQ(result->body, "again:2");
}

// ---- HTTPS (the API off loopback) ---------------------------------------------------------

struct HttpsFixture {
  HttpsFixture() {
    Result<TlsIdentity> made = make_server_certificate("us-eucom", {"127.0.0.1", "localhost"});
    EXPECT_TRUE(made.is_ok()) << made.status().to_string();
    identity = *made;
    fingerprint = *cert_fingerprint(identity.cert_pem);
    Result<std::unique_ptr<Server>> listening = listen_https(
        io, "127.0.0.1", 0, identity, [this](HttpRequest request, std::shared_ptr<Responder> r) {
          HttpResponse response;
          response.body = request.method + (request.tls ? " over tls" : " plain");
          if (request.target == "/events") {
            stream = r->stream();
            stream->send({"", "hello", "over tls"});
            return;
          }
          r->respond(response);
        });
    EXPECT_TRUE(listening.is_ok()) << listening.status().to_string();
    server = std::move(*listening);
    port = endpoint_of(server->local_endpoint()).port();
  }
  Result<HttpResponse> get(const std::optional<ClientTls>& tls) {
    Result<HttpResponse> result = Status::internal("not run");
    with_client(io,
                [&] { result = http_request("127.0.0.1", port, "GET", "/x", {}, "", 10s, tls); });
    return result;
  }
  asio::io_context io;
  TlsIdentity identity;
  std::string fingerprint;
  std::unique_ptr<Server> server;
  std::uint16_t port = 0;
  std::shared_ptr<EventStream> stream;
};

TEST(HttpsTest, PinnedClientGetsTheAnswerWithStrictTransportSecurity) {
  HttpsFixture f;
  const Result<HttpResponse> answer = f.get(ClientTls{f.fingerprint});
  ASSERT_TRUE(answer.is_ok()) << answer.status().to_string();
  EXPECT_EQ(answer->body, "GET over tls");
  EXPECT_EQ(answer->headers.at("strict-transport-security"), "max-age=31536000");
  EXPECT_EQ(answer->headers.at("x-content-type-options"), "nosniff");
  // The pin is compared case-insensitively (operators paste what tools print).
  std::string upper = f.fingerprint;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  ASSERT_TRUE(f.get(ClientTls{upper}).is_ok());
}

TEST(HttpsTest, AnotherCertificateThanThePinnedOneIsRefusedAtTheHandshake) {
  HttpsFixture f;
  const std::string wrong(64, 'a');
  const Result<HttpResponse> answer = f.get(ClientTls{wrong});
  ASSERT_FALSE(answer.is_ok());
  EXPECT_EQ(answer.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(answer.status().message().find("the server's TLS certificate " + f.fingerprint +
                                           " is not the pinned " + wrong),
            std::string::npos)
      << answer.status().message();
  EXPECT_EQ(answer.status().message().find('\n'), std::string::npos);
}

// A certificate renewed while the server runs (the gateway's reload): new connections get the
// new one; an unusable identity is refused and the running one kept.
TEST(HttpsTest, ReplacedIdentityIsServedToNewConnections) {
  HttpsFixture f;
  ASSERT_TRUE(f.get(ClientTls{f.fingerprint}).is_ok());
  const Result<TlsIdentity> renewed = make_server_certificate("us-eucom", {"127.0.0.1"});
  ASSERT_TRUE(renewed.is_ok()) << renewed.status().to_string();
  const std::string renewed_fingerprint = *cert_fingerprint(renewed->cert_pem);
  ASSERT_NE(renewed_fingerprint, f.fingerprint);

  // A key that is not the certificate's: refused, nothing changes.
  TlsIdentity mismatched = *renewed;
  mismatched.key_pem = f.identity.key_pem;
  const Status refused = f.server->replace_identity(mismatched);
  EXPECT_EQ(refused.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(refused.message().find("TLS private key"), std::string::npos) << refused.message();
  EXPECT_EQ(check_tls_identity(mismatched).code(), StatusCode::kInvalidArgument);
  ASSERT_TRUE(f.get(ClientTls{f.fingerprint}).is_ok());

  ASSERT_TRUE(check_tls_identity(*renewed).is_ok());
  ASSERT_TRUE(f.server->replace_identity(*renewed).is_ok());
  const Result<HttpResponse> answer = f.get(ClientTls{renewed_fingerprint});
  ASSERT_TRUE(answer.is_ok()) << answer.status().to_string();
  EXPECT_EQ(answer->body, "GET over tls");
  const Result<HttpResponse> old = f.get(ClientTls{f.fingerprint});
  ASSERT_FALSE(old.is_ok());
  EXPECT_NE(old.status().message().find("the server's TLS certificate " + renewed_fingerprint),
            std::string::npos)
      << old.status().message();
}

TEST(HttpsTest, APlainServerHasNoIdentityToReplace) {
  asio::io_context io;
  Result<std::unique_ptr<Server>> plain = listen_http(
      io, "127.0.0.1", 0, [](HttpRequest, std::shared_ptr<Responder> r) { r->respond({}); });
  ASSERT_TRUE(plain.is_ok()) << plain.status().to_string();
  const Result<TlsIdentity> made = make_server_certificate("us-eucom", {"127.0.0.1"});
  ASSERT_TRUE(made.is_ok());
  EXPECT_EQ((*plain)->replace_identity(*made).code(), StatusCode::kFailedPrecondition);
}

TEST(HttpsTest, WithoutAPinASelfSignedCertificateFailsTheSystemsTrust) {
  HttpsFixture f;
  const Result<HttpResponse> answer = f.get(ClientTls{});
  ASSERT_FALSE(answer.is_ok());
  EXPECT_NE(answer.status().message().find("TLS handshake failed"), std::string::npos)
      << answer.status().message();
}

TEST(HttpsTest, PlainHttpToTheTlsPortGetsA400ThatSaysHttps) {
  HttpsFixture f;
  const Result<HttpResponse> answer = f.get(std::nullopt);
  ASSERT_TRUE(answer.is_ok()) << answer.status().to_string();
  EXPECT_EQ(answer->status, 400);
  EXPECT_NE(answer->body.find("use an https:// URL"), std::string::npos) << answer->body;
  EXPECT_EQ(f.server->admission_stats()
                .handshakes_refused[static_cast<std::size_t>(HandshakeRefusal::kProtocolVersion)],
            1u);
}

TEST(HttpsTest, PinnedTlsClientToAPlainPortFailsTheHandshake) {
  asio::io_context io;
  auto server = listen_or_die(
      io, [](HttpRequest, std::shared_ptr<Responder> r) { r->respond(HttpResponse{}); });
  Result<HttpResponse> answer = Status::internal("not run");
  with_client(io, [&] {
    answer = http_request("127.0.0.1", endpoint_of(server->local_endpoint()).port(), "GET", "/", {},
                          "", 10s, ClientTls{std::string(64, 'a')});
  });
  ASSERT_FALSE(answer.is_ok());
  EXPECT_NE(answer.status().message().find("TLS handshake failed"), std::string::npos)
      << answer.status().message();
}

TEST(HttpsTest, ServerSentEventsFlowOverTls) {
  HttpsFixture f;
  ssl::context context(ssl::context::tls_client);
  beast::ssl_stream<beast::tcp_stream> stream(f.io, context);
  stream.set_verify_mode(ssl::verify_none);
  std::string received;
  bool failed = false;
  std::string request = "GET /events HTTP/1.1\r\nHost: x\r\n\r\n";
  std::array<char, 1024> buffer{};
  std::function<void()> read_more = [&] {
    stream.async_read_some(asio::buffer(buffer),
                           [&](const boost::system::error_code& ec, std::size_t n) {
                             if (ec) {
                               failed = true;
                               return;
                             }
                             received.append(buffer.data(), n);
                             read_more();
                           });
  };
  beast::get_lowest_layer(stream).async_connect(
      tcp::endpoint(asio::ip::make_address("127.0.0.1"), f.port),
      [&](const boost::system::error_code& ec) {
        if (ec) return void(failed = true);
        stream.async_handshake(ssl::stream_base::client, [&](const boost::system::error_code& hs) {
          if (hs) return void(failed = true);
          asio::async_write(stream, asio::buffer(request),
                            [&](const boost::system::error_code& w, std::size_t) {
                              if (w) return void(failed = true);
                              read_more();
                            });
        });
      });
  ASSERT_TRUE(run_until(f.io, [&] {
    return failed || received.find("data: over tls\n\n") != std::string::npos;
  })) << received;
  EXPECT_FALSE(failed);
  EXPECT_NE(received.find("Content-Type: text/event-stream"), std::string::npos) << received;
  EXPECT_NE(received.find("Strict-Transport-Security: max-age=31536000"), std::string::npos);
  EXPECT_NE(received.find("event: hello\ndata: over tls\n\n"), std::string::npos) << received;
  beast::get_lowest_layer(stream).close();
}

TEST(TlsTest, ServerCertificateIsP256WithItsNamesAndAtMost825Days) {
  Result<TlsIdentity> made = make_server_certificate("us-eucom", {"10.0.0.7", "gw.example", "::1"});
  ASSERT_TRUE(made.is_ok()) << made.status().to_string();
  const Result<CertValidity> validity = cert_validity(made->cert_pem);
  ASSERT_TRUE(validity.is_ok());
  EXPECT_LE(validity->not_after - validity->not_before, std::chrono::hours(24 * 825));
  EXPECT_GE(validity->not_after - validity->not_before, std::chrono::hours(24 * 820));
  BIO* bio = BIO_new_mem_buf(made->cert_pem.data(), static_cast<int>(made->cert_pem.size()));
  X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  ASSERT_NE(cert, nullptr);
  EXPECT_EQ(EVP_PKEY_get_base_id(X509_get0_pubkey(cert)), EVP_PKEY_EC);
  EXPECT_EQ(X509_check_ip_asc(cert, "10.0.0.7", 0), 1);
  EXPECT_EQ(X509_check_ip_asc(cert, "::1", 0), 1);
  EXPECT_EQ(X509_check_host(cert, "gw.example", 0, 0, nullptr), 1);
  EXPECT_NE(X509_check_host(cert, "other.example", 0, 0, nullptr), 1);
  X509_free(cert);

  const Result<TlsIdentity> bad = make_server_certificate("us-eucom", {"not a name"});
  ASSERT_FALSE(bad.is_ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
}

TEST(TlsTest, FederationCertificateIsValidAtMost825Days) {
  Result<TlsIdentity> made = make_self_signed("us-eucom");
  ASSERT_TRUE(made.is_ok());
  const Result<CertValidity> validity = cert_validity(made->cert_pem);
  ASSERT_TRUE(validity.is_ok());
  EXPECT_LE(validity->not_after - validity->not_before, std::chrono::hours(24 * 825));
}

}  // namespace
}  // namespace parley::net
