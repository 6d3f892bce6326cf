// Tests for the federation's certificate chosen by SNI (docs/protocol.md "Federation
// transport"): the server name a client sends, and the certificate of ours a server presents
// for it. All on 127.0.0.1 with ports chosen by the kernel; the io_context runs in the test
// thread until a condition holds.
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <gtest/gtest.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "parley/net/internal.h"
#include "parley/net/net.h"
#include "parley/wire/wire.h"

namespace parley::net {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

bool run_until(asio::io_context& io, const std::function<bool()>& done) {
  const auto give_up = std::chrono::steady_clock::now() + 20s;
  while (!done()) {
    if (std::chrono::steady_clock::now() > give_up) return false;
    io.restart();
    io.run_for(20ms);
  }
  return true;
}

const std::string kFingerprint = "0123456789abcdef0123456789ABCDEF00112233445566778899aabbccddeeff";

TEST(FederationServerNameTest, AFingerprintIsTwoLabelsOfThirtyTwoDigitsUnderCertParleyInvalid) {
  EXPECT_EQ(
      federation_server_name(kFingerprint),
      "0123456789abcdef0123456789abcdef.00112233445566778899aabbccddeeff.cert.parley.invalid");
  const std::optional<std::string> back =
      fingerprint_of_server_name(federation_server_name(kFingerprint));
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(*back, "0123456789abcdef0123456789abcdef00112233445566778899aabbccddeeff");
  // DNS names compare without regard to case.
  EXPECT_EQ(fingerprint_of_server_name(
                "0123456789ABCDEF0123456789abcdef.00112233445566778899AABBCCDDEEFF.Cert.Parley."
                "Invalid"),
            back);
}

// `a` then `b` (appended: GCC 12 at -O3 warns, a false -Wrestrict, on `"literal" + string`).
std::string cat(std::string_view a, std::string_view b) {
  std::string out(a);
  out += b;
  return out;
}

TEST(FederationServerNameTest, SomethingElseNamesNoCertificate) {
  EXPECT_EQ(federation_server_name(""), "");
  EXPECT_EQ(federation_server_name(kFingerprint.substr(1)), "");
  EXPECT_EQ(federation_server_name(cat(kFingerprint, "0")), "");
  EXPECT_EQ(federation_server_name(cat("g", kFingerprint.substr(1))), "");
  const std::string name = federation_server_name(kFingerprint);
  for (const std::string& other :
       {std::string(), std::string("localhost"), std::string("gateway.example"), name.substr(1),
        cat("0", name), cat(name, "."), cat(name.substr(0, 65), "cert.parley.example"),
        cat("g", name.substr(1)), cat(cat(name.substr(0, 32), "-"), name.substr(33)),
        cat(cat(name.substr(0, 64), "."), name.substr(65)),
        std::string("0123456789abcdef0123456789abcdef00112233445566778899aabbccddeeff")}) {
    EXPECT_FALSE(fingerprint_of_server_name(other).has_value()) << other;
  }
}

// A federation server of party "b" that accepts party "a", with two certificates: the old one
// (its bundle's) and the new one (its rotation's), presenting the new one by default.
class FederationSniTest : public ::testing::Test {
 protected:
  void SetUp() override {
    a_ = make_self_signed("party-a").value();
    old_ = make_self_signed("party-b").value();
    new_ = make_self_signed("party-b").value();
    stranger_ = make_self_signed("stranger").value();
    old_fp_ = cert_fingerprint(old_.cert_pem).value();
    new_fp_ = cert_fingerprint(new_.cert_pem).value();
  }

  // Listens with `named` besides the default `new_`.
  void listen(const std::vector<TlsIdentity>& named) {
    auto allowed = std::make_shared<const std::vector<std::string>>(
        std::vector{cert_fingerprint(a_.cert_pem).value()});
    Result<std::unique_ptr<Server>> server = listen_federation(
        io_, "127.0.0.1", 0, new_, named, allowed,
        [](const HttpRequest& request, const std::shared_ptr<Responder>& responder) {
          HttpResponse response;
          response.body = cat("ack:", request.body);
          responder->respond(std::move(response));
        });
    ASSERT_TRUE(server.is_ok()) << server.status().to_string();
    server_ = std::move(server).value();
  }

  // The fingerprint of the certificate the server presents to a client (party a's certificate)
  // whose ClientHello carries `server_name` (none if nullopt); empty if no handshake.
  std::string presented(const std::optional<std::string>& server_name) {
    ssl::context context(ssl::context::tls_client);
    EXPECT_TRUE(internal::configure_tls13(context, a_).is_ok());
    context.set_verify_mode(ssl::verify_none);
    beast::ssl_stream<beast::tcp_stream> stream(io_, context);
    if (server_name) {
      EXPECT_EQ(SSL_set_tlsext_host_name(stream.native_handle(), server_name->c_str()), 1);
    }
    const Result<wire::HostPort> where = wire::parse_host_port(server_->local_endpoint());
    EXPECT_TRUE(where.is_ok());
    boost::system::error_code ec;
    beast::get_lowest_layer(stream).socket().connect(
        tcp::endpoint(asio::ip::make_address(where->host), where->port), ec);
    EXPECT_FALSE(ec) << ec.message();
    bool done = false;
    stream.async_handshake(ssl::stream_base::client, [&](const boost::system::error_code& e) {
      ec = e;
      done = true;
    });
    EXPECT_TRUE(run_until(io_, [&] { return done; }));
    if (ec) return {};
    X509* cert = SSL_get1_peer_certificate(stream.native_handle());
    std::string fingerprint = internal::fingerprint_of(cert);
    X509_free(cert);
    return fingerprint;
  }

  // Posts through a federation client of party a (with `identity`) pinned to `pinned`.
  Result<HttpResponse> post(const std::vector<std::string>& pinned, const TlsIdentity& identity) {
    auto client = make_federation_client(io_, {server_->local_endpoint()}, identity,
                                         std::make_shared<const std::vector<std::string>>(pinned));
    std::optional<Result<HttpResponse>> result;
    client->post("/federation/v1/transactions", "tx", 10s,
                 [&](Result<HttpResponse> r) { result.emplace(std::move(r)); });
    EXPECT_TRUE(run_until(io_, [&] { return result.has_value(); }));
    if (!result) return Status::internal("no callback");
    return std::move(*result);
  }
  Result<HttpResponse> post(const std::vector<std::string>& pinned) { return post(pinned, a_); }

  asio::io_context io_;
  TlsIdentity a_, old_, new_, stranger_;
  std::string old_fp_, new_fp_;
  std::unique_ptr<Server> server_;
};

TEST_F(FederationSniTest, TheServerPresentsTheCertificateOfOursTheClientNames) {
  listen({old_, new_});
  EXPECT_EQ(presented(federation_server_name(old_fp_)), old_fp_);
  EXPECT_EQ(presented(federation_server_name(new_fp_)), new_fp_);
  EXPECT_EQ(presented(std::nullopt), new_fp_);  // no SNI: the default
  // A name of another form, of a certificate not ours, a mangled one: the default.
  EXPECT_EQ(presented("localhost"), new_fp_);
  EXPECT_EQ(presented(federation_server_name(cert_fingerprint(stranger_.cert_pem).value())),
            new_fp_);
  std::string mangled = federation_server_name(old_fp_);
  mangled.replace(mangled.find(".cert."), 6, ".cart.");
  EXPECT_EQ(presented(mangled), new_fp_);
}

// A client pinning only the old certificate (a gateway restored from a backup older than our
// rotation) names it and gets it; without the server holding it, the same client is refused.
TEST_F(FederationSniTest, AClientPinningOnlyTheOldCertificateConnects) {
  listen({});  // as before SNI: the default certificate only
  Result<HttpResponse> result = post({old_fp_});
  ASSERT_FALSE(result.is_ok());
  EXPECT_EQ(result.status().message(),
            server_->local_endpoint() + ": certificate fingerprint mismatch");

  server_->stop();
  listen({old_, new_});
  result = post({old_fp_});
  ASSERT_TRUE(result.is_ok()) << result.status().to_string();
  EXPECT_EQ(result->body, "ack:tx");
  ASSERT_TRUE(post({old_fp_, new_fp_}).is_ok());
}

// The client names the last of its pinned fingerprints (the newest of the peer's it knows). The
// default certificate (new_) is pinned by neither client below, so each connects only if the
// server presented the old one, i.e. only if the client named it.
TEST_F(FederationSniTest, TheClientNamesTheLastFingerprintItPins) {
  listen({old_, new_});
  const std::string unknown = cert_fingerprint(stranger_.cert_pem).value();
  const Result<HttpResponse> last_old = post({unknown, old_fp_});
  ASSERT_TRUE(last_old.is_ok()) << last_old.status().to_string();
  const Result<HttpResponse> first_old = post({old_fp_, unknown});
  ASSERT_FALSE(first_old.is_ok());
  EXPECT_EQ(first_old.status().message(),
            server_->local_endpoint() + ": certificate fingerprint mismatch");
}

// A named certificate asks of the client what the default one asks: one not allowed is refused.
TEST_F(FederationSniTest, AClientNamingAnOldCertificateIsStillCheckedForItsOwn) {
  listen({old_, new_});
  const Result<HttpResponse> result = post({old_fp_}, stranger_);
  ASSERT_FALSE(result.is_ok());
  EXPECT_EQ(result.status().code(), StatusCode::kUnavailable);
  EXPECT_EQ(
      server_->admission_stats()
          .handshakes_refused[static_cast<std::size_t>(HandshakeRefusal::kUnpinnedCertificate)],
      1U);
}

// replace_identity changes the default for new connections; the named certificates stay.
TEST_F(FederationSniTest, AReplacedIdentityIsTheNewDefaultAndNamedOnesStay) {
  listen({old_, new_});
  const TlsIdentity third = make_self_signed("party-b").value();
  const std::string third_fp = cert_fingerprint(third.cert_pem).value();
  ASSERT_TRUE(server_->replace_identity(third).is_ok());
  EXPECT_EQ(presented(std::nullopt), third_fp);
  EXPECT_EQ(presented(federation_server_name(old_fp_)), old_fp_);
  EXPECT_EQ(presented(federation_server_name(new_fp_)), new_fp_);
  ASSERT_TRUE(post({old_fp_}).is_ok());
}

TEST_F(FederationSniTest, AnUnusableNamedIdentityIsInvalidArgument) {
  TlsIdentity mismatched = old_;
  mismatched.key_pem = a_.key_pem;
  auto allowed = std::make_shared<const std::vector<std::string>>();
  const auto ignore = [](const HttpRequest&, const std::shared_ptr<Responder>&) {};
  EXPECT_EQ(
      listen_federation(io_, "127.0.0.1", 0, new_, {mismatched}, allowed, ignore).status().code(),
      StatusCode::kInvalidArgument);
  TlsIdentity garbage;
  garbage.cert_pem = "not a certificate";
  EXPECT_EQ(
      listen_federation(io_, "127.0.0.1", 0, new_, {garbage}, allowed, ignore).status().code(),
      StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace parley::net
