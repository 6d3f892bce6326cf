// Helpers shared by the net/ sources only. Boost and OpenSSL types may appear here: this
// header is never included outside net/ (net.h is the public interface).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <boost/asio/ssl/context.hpp>
#include <boost/system/error_code.hpp>
#include <openssl/x509.h>

#include "parley/base/status.h"
#include "parley/net/net.h"

namespace parley::net::internal {

// SHA-256 of `cert`'s DER, lowercase hex; empty if it cannot be encoded.
std::string fingerprint_of(X509* cert);

// The most recent OpenSSL error as one line (and clears the error queue).
std::string openssl_error();

// One line for an I/O error, lowercase ("connection refused", "timed out").
std::string describe(const boost::system::error_code& ec);

// Restricts `ctx` to TLS 1.3 with strong AEAD suites and groups, no resumption, no compression
// and no renegotiation (docs/operations.md "TLS settings"). kInternal if OpenSSL refuses.
Status restrict_to_tls13(boost::asio::ssl::context& ctx);

// restrict_to_tls13, then loads this party's certificate and key into `ctx`.
// kInvalidArgument naming what is wrong with the identity.
Status configure_tls13(boost::asio::ssl::context& ctx, const TlsIdentity& identity);

// Accepts a peer (after the handshake) if its certificate fingerprint is allowed.
using PeerCheck = std::function<bool(const std::string& fingerprint)>;

// Makes a server's TLS context for `identity` (its certificate and key, and whatever else the
// server's kind asks of a handshake): what Server::replace_identity makes anew.
using TlsContextMaker =
    std::function<Result<std::shared_ptr<boost::asio::ssl::context>>(const TlsIdentity& identity)>;

// The HTTP/1.1 server behind listen_http (tls == nullptr), listen_https and listen_federation
// (over `tls`, with `peer_check` applied to the client certificate after each handshake);
// `remake` makes the context of a replaced identity (null: none can be).
Result<std::unique_ptr<Server>> listen(boost::asio::io_context& io, const std::string& host,
                                       std::uint16_t port,
                                       std::shared_ptr<boost::asio::ssl::context> tls,
                                       PeerCheck peer_check, Handler handler, ServerLimits limits,
                                       TlsContextMaker remake = nullptr);

}  // namespace parley::net::internal
