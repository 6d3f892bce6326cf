// Certificates and TLS contexts with OpenSSL 3: self-signed Ed25519 identities, pinned
// SHA-256 fingerprints, TLS 1.3-only contexts.
#include <algorithm>
#include <array>
#include <cctype>
#include <ctime>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <arpa/inet.h>
#include <boost/asio/buffer.hpp>
#include <boost/asio/ssl/context.hpp>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "parley/base/bytes.h"
#include "parley/base/text.h"
#include "parley/net/internal.h"
#include "parley/net/net.h"

namespace parley::net {
namespace {

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct BnFree {
  void operator()(BIGNUM* b) const { BN_free(b); }
};
struct ExtFree {
  void operator()(X509_EXTENSION* e) const { X509_EXTENSION_free(e); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using BnPtr = std::unique_ptr<BIGNUM, BnFree>;
using ExtPtr = std::unique_ptr<X509_EXTENSION, ExtFree>;

constexpr long kOneDaySeconds = 24L * 3600;
// 825 days from notBefore to notAfter, the day of slack included: the longest a TLS server
// certificate may be valid for Apple's platforms (also for self-signed and locally trusted
// ones), and what testssl.sh accepts without a finding. A pinned certificate is not refused
// when it expires (the pin is the trust), but `parley check` says so (docs/operations.md).
constexpr long kValiditySeconds = 824L * kOneDaySeconds;

// TLS 1.3's AEAD suites without the CCM ones, strongest first (the server's order wins), and
// the key-exchange groups: X25519 first, then the NIST curves browsers also offer.
constexpr const char* kCipherSuites =
    "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256";
constexpr const char* kGroups = "X25519:P-256:P-384";

std::string bio_to_string(BIO* bio) {
  char* data = nullptr;
  const long size = BIO_get_mem_data(bio, &data);
  if (size <= 0 || data == nullptr) return {};
  return std::string(data, static_cast<std::size_t>(size));
}

Status self_signed_failed(const char* step) {
  return Status::internal(std::string("making a self-signed certificate: ") + step + ": " +
                          internal::openssl_error());
}

}  // namespace

namespace internal {

std::string openssl_error() {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "unknown OpenSSL error";
  std::array<char, 256> text{};
  ERR_error_string_n(code, text.data(), text.size());
  return text.data();
}

std::string fingerprint_of(X509* cert) {
  if (cert == nullptr) return {};
  unsigned char* der = nullptr;
  const int der_size = i2d_X509(cert, &der);
  if (der_size <= 0 || der == nullptr) return {};
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int digest_size = 0;
  const int ok = EVP_Digest(der, static_cast<std::size_t>(der_size), digest.data(), &digest_size,
                            EVP_sha256(), nullptr);
  OPENSSL_free(der);
  if (ok != 1) return {};
  return hex_encode(ByteView(digest.data(), digest_size));
}

Status restrict_to_tls13(boost::asio::ssl::context& ctx) {
  SSL_CTX* native = ctx.native_handle();
  if (SSL_CTX_set_min_proto_version(native, TLS1_3_VERSION) != 1 ||
      SSL_CTX_set_max_proto_version(native, TLS1_3_VERSION) != 1) {
    return Status::internal("cannot restrict TLS to 1.3: " + openssl_error());
  }
  // No resumption: every connection presents (and has checked) a certificate, so a change
  // of the allowed fingerprints takes effect on the next connection.
  SSL_CTX_set_session_cache_mode(native, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_num_tickets(native, 0);
  // TLS 1.3 has neither compression nor renegotiation; saying so keeps it true should the
  // version range ever widen.
  SSL_CTX_set_options(native, SSL_OP_NO_TICKET | SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
                                  SSL_OP_CIPHER_SERVER_PREFERENCE);
  if (SSL_CTX_set_ciphersuites(native, kCipherSuites) != 1 ||
      SSL_CTX_set1_groups_list(native, kGroups) != 1) {
    return Status::internal("cannot set the TLS 1.3 cipher suites and groups: " + openssl_error());
  }
  return Status::ok();
}

Status configure_tls13(boost::asio::ssl::context& ctx, const TlsIdentity& identity) {
  PARLEY_RETURN_IF_ERROR(restrict_to_tls13(ctx));
  SSL_CTX* native = ctx.native_handle();

  boost::system::error_code ec;
  ctx.use_certificate_chain(boost::asio::buffer(identity.cert_pem), ec);
  if (ec) return Status::invalid_argument("TLS certificate: " + describe(ec));
  ctx.use_private_key(boost::asio::buffer(identity.key_pem), boost::asio::ssl::context::pem, ec);
  if (ec) return Status::invalid_argument("TLS private key: " + describe(ec));
  if (SSL_CTX_check_private_key(native) != 1) {
    ERR_clear_error();
    return Status::invalid_argument("TLS private key does not match the certificate");
  }
  return Status::ok();
}

}  // namespace internal

namespace {

// Adds the extension `nid` with `value` (OpenSSL's config syntax) to `cert`.
bool add_extension(X509* cert, int nid, const std::string& value) {
  X509V3_CTX v3{};
  X509V3_set_ctx_nodb(&v3);
  X509V3_set_ctx(&v3, cert, cert, nullptr, nullptr, 0);
  ExtPtr ext(X509V3_EXT_conf_nid(nullptr, &v3, nid, value.c_str()));
  return ext && X509_add_ext(cert, ext.get(), -1) == 1;
}

// A self-signed certificate for `common_name` over a new `key`, with `extensions` (nid,
// value) beside basicConstraints CA:FALSE; valid for kValiditySeconds from a day ago.
Result<TlsIdentity> self_signed(const std::string& common_name, PkeyPtr key,
                                const std::vector<std::pair<int, std::string>>& extensions) {
  X509Ptr cert(X509_new());
  if (!cert || X509_set_version(cert.get(), 2) != 1) return self_signed_failed("X509_new");

  // RFC 5280 §4.1.2.2: a positive serial of at most 20 octets; 128 random bits.
  std::array<unsigned char, 16> serial_bytes{};
  if (RAND_bytes(serial_bytes.data(), static_cast<int>(serial_bytes.size())) != 1) {
    return self_signed_failed("random serial");
  }
  serial_bytes[0] &= 0x7f;
  serial_bytes[0] |= 0x01;  // never zero, never negative
  BnPtr serial(BN_bin2bn(serial_bytes.data(), static_cast<int>(serial_bytes.size()), nullptr));
  if (!serial || BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get())) == nullptr) {
    return self_signed_failed("serial number");
  }

  // A day of slack before now for clocks that lag ours.
  if (X509_gmtime_adj(X509_getm_notBefore(cert.get()), -kOneDaySeconds) == nullptr ||
      X509_gmtime_adj(X509_getm_notAfter(cert.get()), kValiditySeconds) == nullptr) {
    return self_signed_failed("validity");
  }
  if (X509_set_pubkey(cert.get(), key.get()) != 1) return self_signed_failed("public key");

  X509_NAME* name = X509_get_subject_name(cert.get());
  if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(common_name.c_str()),
                                 static_cast<int>(common_name.size()), -1, 0) != 1) {
    return Status::invalid_argument(
        "common name '" + common_name +
        "' is not valid in a certificate: " + internal::openssl_error());
  }
  if (X509_set_issuer_name(cert.get(), name) != 1) return self_signed_failed("issuer name");

  if (!add_extension(cert.get(), NID_basic_constraints, "critical,CA:FALSE")) {
    return self_signed_failed("basicConstraints");
  }
  for (const auto& [nid, value] : extensions) {
    if (!add_extension(cert.get(), nid, value)) {
      return Status::invalid_argument("certificate extension '" + value +
                                      "': " + internal::openssl_error());
    }
  }

  // Ed25519 signs the message itself (RFC 8410 §6): no separate digest.
  const EVP_MD* digest = EVP_PKEY_id(key.get()) == EVP_PKEY_ED25519 ? nullptr : EVP_sha256();
  if (X509_sign(cert.get(), key.get(), digest) <= 0) return self_signed_failed("signing");

  BioPtr cert_bio(BIO_new(BIO_s_mem()));
  BioPtr key_bio(BIO_new(BIO_s_mem()));
  if (!cert_bio || !key_bio || PEM_write_bio_X509(cert_bio.get(), cert.get()) != 1 ||
      PEM_write_bio_PrivateKey(key_bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) !=
          1) {
    return self_signed_failed("writing PEM");
  }
  TlsIdentity identity;
  identity.cert_pem = bio_to_string(cert_bio.get());
  identity.key_pem = bio_to_string(key_bio.get());
  return identity;
}

bool is_ip_address(const std::string& name) {
  std::array<unsigned char, 16> buf{};
  return inet_pton(AF_INET, name.c_str(), buf.data()) == 1 ||
         inet_pton(AF_INET6, name.c_str(), buf.data()) == 1;
}

}  // namespace

Result<TlsIdentity> make_self_signed(const std::string& common_name) {
  PkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  if (!key) return self_signed_failed("generating an Ed25519 key");
  return self_signed(common_name, std::move(key), {});
}

Result<TlsIdentity> make_server_certificate(const std::string& common_name,
                                            const std::vector<std::string>& names) {
  std::string alt_names;
  for (const std::string& name : names) {
    const bool ip = is_ip_address(name);
    const bool dns = !name.empty() && name.size() <= 253 &&
                     std::all_of(name.begin(), name.end(), [](unsigned char c) {
                       return std::isalnum(c) != 0 || c == '-' || c == '.';
                     });
    if (!ip && !dns) {
      return Status::invalid_argument(single_quoted(name) +
                                      " is neither an IP address nor a DNS name");
    }
    // Appended piece by piece: GCC 12 at -O3 warns (-Wrestrict, a false positive) on
    // `"literal" + std::string`, and the release build has no warning.
    if (!alt_names.empty()) alt_names += ',';
    alt_names += ip ? "IP:" : "DNS:";
    alt_names += name;
  }
  PkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (!key) return self_signed_failed("generating a P-256 key");
  std::vector<std::pair<int, std::string>> extensions = {
      {NID_key_usage, "critical,digitalSignature"}, {NID_ext_key_usage, "serverAuth"}};
  if (!alt_names.empty()) extensions.emplace_back(NID_subject_alt_name, alt_names);
  return self_signed(common_name, std::move(key), extensions);
}

namespace {

Result<X509Ptr> read_certificate(const std::string& cert_pem) {
  if (cert_pem.size() > static_cast<std::size_t>(INT32_MAX)) {
    return Status::invalid_argument("not a PEM certificate: too large");
  }
  BioPtr bio(BIO_new_mem_buf(cert_pem.data(), static_cast<int>(cert_pem.size())));
  if (!bio) return Status::internal("BIO_new_mem_buf: " + internal::openssl_error());
  X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
  if (!cert) {
    ERR_clear_error();
    return Status::invalid_argument("not a PEM certificate");
  }
  return cert;
}

Result<std::chrono::system_clock::time_point> time_of(const ASN1_TIME* time) {
  std::tm tm{};
  if (time == nullptr || ASN1_TIME_to_tm(time, &tm) != 1) {
    ERR_clear_error();
    return Status::invalid_argument("certificate has an unreadable validity date");
  }
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

}  // namespace

Status check_tls_identity(const TlsIdentity& identity) {
  boost::asio::ssl::context context(boost::asio::ssl::context::tls_server);
  return internal::configure_tls13(context, identity);
}

Result<std::string> cert_fingerprint(const std::string& cert_pem) {
  PARLEY_ASSIGN_OR_RETURN(X509Ptr cert, read_certificate(cert_pem));
  std::string fingerprint = internal::fingerprint_of(cert.get());
  if (fingerprint.empty()) return Status::invalid_argument("certificate cannot be DER-encoded");
  return fingerprint;
}

namespace {

constexpr std::string_view kServerNameSuffix = ".cert.parley.invalid";
constexpr std::size_t kFingerprintDigits = 64;

// `hex` (either case) in lowercase if it is kFingerprintDigits hex digits, else empty.
std::string normal_fingerprint(std::string_view hex) {
  if (hex.size() != kFingerprintDigits) return {};
  const Result<Bytes> bytes = hex_decode(hex);
  return bytes.is_ok() ? hex_encode(*bytes) : std::string();
}

}  // namespace

std::string federation_server_name(std::string_view fingerprint) {
  const std::string hex = normal_fingerprint(fingerprint);
  if (hex.empty()) return {};
  const std::size_t half = kFingerprintDigits / 2;
  return hex.substr(0, half) + "." + hex.substr(half) + std::string(kServerNameSuffix);
}

std::optional<std::string> fingerprint_of_server_name(std::string_view name) {
  const std::size_t half = kFingerprintDigits / 2;
  if (name.size() != kFingerprintDigits + 1 + kServerNameSuffix.size() || name[half] != '.') {
    return std::nullopt;
  }
  // A DNS name compares without regard to case (RFC 4343).
  const std::string_view suffix = name.substr(kFingerprintDigits + 1);
  if (!std::equal(suffix.begin(), suffix.end(), kServerNameSuffix.begin(),
                  [](unsigned char a, unsigned char b) { return std::tolower(a) == b; })) {
    return std::nullopt;
  }
  std::string digits(name.substr(0, half));
  digits += name.substr(half + 1, half);
  std::string fingerprint = normal_fingerprint(digits);
  if (fingerprint.empty()) return std::nullopt;
  return fingerprint;
}

Result<CertValidity> cert_validity(const std::string& cert_pem) {
  PARLEY_ASSIGN_OR_RETURN(X509Ptr cert, read_certificate(cert_pem));
  CertValidity validity;
  PARLEY_ASSIGN_OR_RETURN(validity.not_before, time_of(X509_get0_notBefore(cert.get())));
  PARLEY_ASSIGN_OR_RETURN(validity.not_after, time_of(X509_get0_notAfter(cert.get())));
  return validity;
}

}  // namespace parley::net
