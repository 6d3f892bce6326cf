// parley-bench-floor: the machine's physical floor under parley's hot path (issue 6).
//
// Measures, on the disk given by --dir and over loopback, what no gateway can beat: a durable
// append, a durable SQLite commit, a TCP and a mutual-TLS 1.3 round trip, and the per-message
// cryptography. Then it adds them up into the floor of a receipted message's latency and of the
// receipted throughput. Every measurement is bounded in count and in time. See README.md for
// what each id means exactly.
//
// This is a measurement program, not parley code: it calls POSIX, OpenSSL, SQLite and
// libsodium directly, and any failure prints one line and exits 1.
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sodium.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>

#ifndef PARLEY_BENCH_SCRATCH_DIR
#define PARLEY_BENCH_SCRATCH_DIR "."
#endif

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::size_t kAppendBytes = 512;
constexpr std::size_t kMessageBytes = 1024;
constexpr int kGroupRows = 100;

// ---- output and failure ---------------------------------------------------------------------

[[noreturn]] __attribute__((format(printf, 1, 2))) void die(const char* fmt, ...) {
  std::va_list args;
  va_start(args, fmt);
  std::fputs("parley-bench-floor: ", stderr);
  std::vfprintf(stderr, fmt, args);
  std::fputc('\n', stderr);
  va_end(args);
  std::exit(1);
}

__attribute__((format(printf, 1, 2))) std::string strf(const char* fmt, ...) {
  std::va_list args;
  va_start(args, fmt);
  std::array<char, 1024> text{};
  std::vsnprintf(text.data(), text.size(), fmt, args);
  va_end(args);
  return text.data();
}

void progress(const std::string& line) {
  std::fprintf(stderr, "floor: %s\n", line.c_str());
  std::fflush(stderr);
}

std::string openssl_error() {
  const unsigned long code = ERR_get_error();
  ERR_clear_error();
  if (code == 0) return "unknown OpenSSL error";
  std::array<char, 256> text{};
  ERR_error_string_n(code, text.data(), text.size());
  return text.data();
}

struct Row {
  std::string id;
  double value = 0;
  std::string unit;
  std::string note;
};

std::string json_escape(std::string_view text) {
  std::string out;
  for (const char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += strf("\\u%04x", c);
        } else {
          out += c;
        }
    }
  }
  return out;
}

// Three significant figures are more than the noise of any of these measurements.
std::string human(double value) {
  if (value >= 1000) return strf("%.0f", value);
  if (value >= 100) return strf("%.1f", value);
  if (value >= 10) return strf("%.2f", value);
  return strf("%.3f", value);
}

void print_json(const std::vector<Row>& rows) {
  std::printf("{\n");
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const Row& row = rows[i];
    std::printf("  \"%s\": {\"value\": %.6g, \"unit\": \"%s\", \"note\": \"%s\"}%s\n",
                json_escape(row.id).c_str(), row.value, json_escape(row.unit).c_str(),
                json_escape(row.note).c_str(), i + 1 < rows.size() ? "," : "");
  }
  std::printf("}\n");
}

void print_markdown(const std::vector<Row>& rows) {
  std::printf("| id | value | unit | note |\n| --- | ---: | --- | --- |\n");
  for (const Row& row : rows) {
    std::printf("| %s | %s | %s | %s |\n", row.id.c_str(), human(row.value).c_str(),
                row.unit.c_str(), row.note.c_str());
  }
}

// ---- samples ---------------------------------------------------------------------------------

double micros(Clock::duration d) { return std::chrono::duration<double, std::micro>(d).count(); }

// Nearest-rank percentile of `sorted` (ascending, not empty), p in (0, 1].
double percentile(const std::vector<double>& sorted, double p) {
  const auto rank = static_cast<std::size_t>(std::ceil(p * static_cast<double>(sorted.size())));
  return sorted[std::clamp<std::size_t>(rank, 1, sorted.size()) - 1];
}

struct Latency {
  std::vector<double> samples_us;  // in the order measured
  std::vector<double> sorted_us;
  double seconds = 0;  // wall time of the measured loop
  bool hit_time_limit = false;

  double p50() const { return percentile(sorted_us, 0.50); }
  double p99() const { return percentile(sorted_us, 0.99); }
  std::string count_note() const {
    return strf("n=%zu%s", samples_us.size(), hit_time_limit ? " (time limit)" : "");
  }
};

// Runs `op` `warmup` times unmeasured, then up to `n` times, or until `limit` has passed,
// timing each call.
Latency time_each(int warmup, int n, Clock::duration limit, const std::function<void()>& op) {
  for (int i = 0; i < warmup; ++i) op();
  Latency result;
  result.samples_us.reserve(static_cast<std::size_t>(n));
  const Clock::time_point start = Clock::now();
  const Clock::time_point deadline = start + limit;
  for (int i = 0; i < n; ++i) {
    const Clock::time_point t0 = Clock::now();
    op();
    const Clock::time_point t1 = Clock::now();
    result.samples_us.push_back(micros(t1 - t0));
    if (t1 >= deadline && i + 1 < n) {
      result.hit_time_limit = true;
      break;
    }
  }
  result.seconds = micros(Clock::now() - start) / 1e6;
  result.sorted_us = result.samples_us;
  std::sort(result.sorted_us.begin(), result.sorted_us.end());
  return result;
}

void write_samples(const std::string& dir, const char* name, const Latency& latency) {
  if (dir.empty()) return;
  const std::string path = dir + "/" + name + ".txt";
  std::FILE* file = std::fopen(path.c_str(), "w");
  if (file == nullptr) die("cannot write %s: %s", path.c_str(), std::strerror(errno));
  std::fprintf(file, "# %s: one sample per line, microseconds, in the order measured\n", name);
  for (const double us : latency.samples_us) std::fprintf(file, "%.3f\n", us);
  if (std::fclose(file) != 0) die("cannot write %s: %s", path.c_str(), std::strerror(errno));
}

// ---- options ---------------------------------------------------------------------------------

struct Options {
  bool json = false;
  bool quick = false;
  std::string dir;          // the disk under test; a scratch directory is made inside it
  std::string samples_dir;  // raw latency samples go here when not empty
  Clock::duration limit = std::chrono::seconds(30);  // per disk or loopback measurement
};

void usage(std::FILE* out) {
  std::fprintf(out,
               "usage: parley-bench-floor [--quick] [--json] [--dir DIR] [--samples DIR]\n"
               "  --quick        fewer samples (the whole run stays well under a minute)\n"
               "  --json         one JSON object {id: {value, unit, note}} instead of Markdown\n"
               "  --dir DIR      the filesystem to measure (default: under the build dir, %s)\n"
               "  --samples DIR  also write the raw latency samples there, one file per id\n",
               PARLEY_BENCH_SCRATCH_DIR);
}

Options parse_options(int argc, char** argv) {
  Options options;
  options.dir = PARLEY_BENCH_SCRATCH_DIR;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--json") {
      options.json = true;
    } else if (arg == "--quick") {
      options.quick = true;
    } else if ((arg == "--dir" || arg == "--samples") && i + 1 < argc) {
      (arg == "--dir" ? options.dir : options.samples_dir) = argv[++i];
    } else if (arg == "--help" || arg == "-h") {
      usage(stdout);
      std::exit(0);
    } else {
      usage(stderr);
      std::exit(2);
    }
  }
  // Worst cases (every limit hit): quick 5 x 6 s + 6 x 2 s, full 5 x 30 s + 6 x 8 s.
  options.limit = options.quick ? std::chrono::seconds(6) : std::chrono::seconds(30);
  return options;
}

// ---- the disk --------------------------------------------------------------------------------

std::string filesystem_name(const std::string& dir) {
  struct statfs info {};
  if (statfs(dir.c_str(), &info) != 0) return "unknown filesystem";
  switch (static_cast<unsigned long>(info.f_type)) {
    case 0xEF53:
      return "ext4";
    case 0x58465342:
      return "xfs";
    case 0x9123683E:
      return "btrfs";
    case 0x01021994:
      return "tmpfs";
    case 0x794C7630:
      return "overlayfs";
    case 0x2FC12FC1:
      return "zfs";
    default:
      return strf("filesystem 0x%lx", static_cast<unsigned long>(info.f_type));
  }
}

void write_all(int fd, const unsigned char* data, std::size_t size) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) die("write: %s", std::strerror(errno));
    data += n;
    size -= static_cast<std::size_t>(n);
  }
}

Latency measure_fsync(const std::string& scratch, int n, Clock::duration limit) {
  const std::string path = scratch + "/append.log";
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0600);
  if (fd < 0) die("open %s: %s", path.c_str(), std::strerror(errno));
  std::array<unsigned char, kAppendBytes> record{};
  randombytes_buf(record.data(), record.size());
  Latency latency = time_each(10, n, limit, [&] {
    write_all(fd, record.data(), record.size());
    if (::fdatasync(fd) != 0) die("fdatasync: %s", std::strerror(errno));
  });
  ::close(fd);
  ::unlink(path.c_str());
  return latency;
}

// ---- SQLite ----------------------------------------------------------------------------------

class Db {
 public:
  explicit Db(const std::string& path) : path_(path) {
    if (sqlite3_open(path.c_str(), &db_) != SQLITE_OK) die("sqlite open %s", path.c_str());
    exec("PRAGMA journal_mode=WAL");
    exec("PRAGMA synchronous=FULL");
    exec("CREATE TABLE message(id INTEGER PRIMARY KEY, body BLOB NOT NULL)");
    begin_ = prepare("BEGIN");
    insert_ = prepare("INSERT INTO message(body) VALUES(?1)");
    commit_ = prepare("COMMIT");
  }
  ~Db() {
    sqlite3_finalize(begin_);
    sqlite3_finalize(insert_);
    sqlite3_finalize(commit_);
    sqlite3_close(db_);
    for (const char* suffix : {"", "-wal", "-shm"}) ::unlink((path_ + suffix).c_str());
  }
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  // One transaction of `rows` INSERTs of `body`; durable when this returns.
  void insert_transaction(const unsigned char* body, std::size_t size, int rows) {
    step(begin_);
    for (int i = 0; i < rows; ++i) {
      sqlite3_bind_blob(insert_, 1, body, static_cast<int>(size), SQLITE_STATIC);
      step(insert_);
    }
    step(commit_);
  }

 private:
  void exec(const char* sql) {
    char* error = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &error) != SQLITE_OK) {
      die("sqlite: %s: %s", sql, error != nullptr ? error : "?");
    }
  }
  sqlite3_stmt* prepare(const char* sql) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db_, sql, -1, &stmt, nullptr) != SQLITE_OK) {
      die("sqlite prepare %s: %s", sql, sqlite3_errmsg(db_));
    }
    return stmt;
  }
  void step(sqlite3_stmt* stmt) {
    if (sqlite3_step(stmt) != SQLITE_DONE) die("sqlite step: %s", sqlite3_errmsg(db_));
    sqlite3_reset(stmt);
  }

  std::string path_;
  sqlite3* db_ = nullptr;
  sqlite3_stmt* begin_ = nullptr;
  sqlite3_stmt* insert_ = nullptr;
  sqlite3_stmt* commit_ = nullptr;
};

// ---- loopback --------------------------------------------------------------------------------

void set_nodelay(int fd) {
  const int one = 1;
  if (::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0) {
    die("TCP_NODELAY: %s", std::strerror(errno));
  }
}

// A listening socket on 127.0.0.1 and an ephemeral port.
int listen_loopback(int* port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) die("socket: %s", std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd, 1) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    die("listen on 127.0.0.1: %s", std::strerror(errno));
  }
  *port = ntohs(addr.sin_port);
  return fd;
}

int connect_loopback(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) die("socket: %s", std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    die("connect to 127.0.0.1:%d: %s", port, std::strerror(errno));
  }
  set_nodelay(fd);
  return fd;
}

// Reads exactly `size` bytes; false on a clean end of stream before the first byte.
bool read_exact(int fd, unsigned char* data, std::size_t size) {
  std::size_t done = 0;
  while (done < size) {
    const ssize_t n = ::read(fd, data + done, size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n == 0 && done == 0) return false;
    if (n <= 0) die("read: %s", n == 0 ? "connection closed mid-message" : std::strerror(errno));
    done += static_cast<std::size_t>(n);
  }
  return true;
}

Latency measure_tcp_rtt(int n, Clock::duration limit) {
  int port = 0;
  const int listener = listen_loopback(&port);
  std::thread echo([listener] {
    const int fd = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) die("accept: %s", std::strerror(errno));
    set_nodelay(fd);
    std::array<unsigned char, kMessageBytes> buffer{};
    while (read_exact(fd, buffer.data(), buffer.size())) {
      write_all(fd, buffer.data(), buffer.size());
    }
    ::close(fd);
  });
  const int fd = connect_loopback(port);
  std::array<unsigned char, kMessageBytes> out{};
  std::array<unsigned char, kMessageBytes> in{};
  randombytes_buf(out.data(), out.size());
  Latency latency = time_each(100, n, limit, [&] {
    write_all(fd, out.data(), out.size());
    if (!read_exact(fd, in.data(), in.size())) die("echo server closed the connection");
  });
  if (in != out) die("TCP echo returned different bytes");
  ::close(fd);
  echo.join();
  ::close(listener);
  return latency;
}

// ---- mutual TLS 1.3 --------------------------------------------------------------------------

struct Identity {
  EVP_PKEY* key = nullptr;
  X509* cert = nullptr;
  std::array<unsigned char, 32> fingerprint{};  // SHA-256 of the DER certificate
};

// A self-signed Ed25519 certificate, as parley's gateways use.
Identity make_identity(const char* common_name) {
  Identity id;
  id.key = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
  id.cert = X509_new();
  if (id.key == nullptr || id.cert == nullptr) die("Ed25519 key: %s", openssl_error().c_str());
  X509_set_version(id.cert, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(id.cert), 1);
  X509_gmtime_adj(X509_getm_notBefore(id.cert), -3600);
  X509_gmtime_adj(X509_getm_notAfter(id.cert), 24L * 3600);
  X509_set_pubkey(id.cert, id.key);
  X509_NAME* name = X509_get_subject_name(id.cert);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(common_name), -1, -1, 0);
  X509_set_issuer_name(id.cert, name);
  if (X509_sign(id.cert, id.key, nullptr) <= 0) die("self-signing: %s", openssl_error().c_str());
  unsigned int size = 0;
  if (X509_digest(id.cert, EVP_sha256(), id.fingerprint.data(), &size) != 1 || size != 32) {
    die("certificate fingerprint: %s", openssl_error().c_str());
  }
  return id;
}

void free_identity(Identity& id) {
  X509_free(id.cert);
  EVP_PKEY_free(id.key);
}

int g_pin_index = -1;  // SSL ex_data slot: the peer's expected fingerprint

// Accepts exactly the pinned self-signed certificate (as parley's federation does).
int verify_pinned(int /*preverify_ok*/, X509_STORE_CTX* store) {
  if (X509_STORE_CTX_get_error_depth(store) != 0) return 0;
  auto* ssl =
      static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
  const auto* pin =
      static_cast<const std::array<unsigned char, 32>*>(SSL_get_ex_data(ssl, g_pin_index));
  X509* cert = X509_STORE_CTX_get_current_cert(store);
  std::array<unsigned char, 32> fingerprint{};
  unsigned int size = 0;
  if (pin == nullptr || cert == nullptr ||
      X509_digest(cert, EVP_sha256(), fingerprint.data(), &size) != 1 || size != 32) {
    return 0;
  }
  return fingerprint == *pin ? 1 : 0;
}

SSL_CTX* make_context(bool server, const Identity& self) {
  SSL_CTX* ctx = SSL_CTX_new(server ? TLS_server_method() : TLS_client_method());
  if (ctx == nullptr || SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) != 1 ||
      SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) != 1 ||
      SSL_CTX_use_certificate(ctx, self.cert) != 1 || SSL_CTX_use_PrivateKey(ctx, self.key) != 1) {
    die("TLS context: %s", openssl_error().c_str());
  }
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_num_tickets(ctx, 0);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, verify_pinned);
  return ctx;
}

SSL* make_session(SSL_CTX* ctx, int fd, const Identity& peer) {
  SSL* ssl = SSL_new(ctx);
  if (ssl == nullptr || SSL_set_fd(ssl, fd) != 1 ||
      SSL_set_ex_data(ssl, g_pin_index,
                      const_cast<std::array<unsigned char, 32>*>(&peer.fingerprint)) != 1) {
    die("TLS session: %s", openssl_error().c_str());
  }
  return ssl;
}

bool tls_read_exact(SSL* ssl, unsigned char* data, std::size_t size) {
  std::size_t done = 0;
  while (done < size) {
    std::size_t n = 0;
    if (SSL_read_ex(ssl, data + done, size - done, &n) != 1) {
      const int error = SSL_get_error(ssl, 0);
      if (error == SSL_ERROR_ZERO_RETURN && done == 0) return false;
      if (error == SSL_ERROR_SYSCALL && done == 0 && ERR_peek_error() == 0) return false;
      die("TLS read: %s", openssl_error().c_str());
    }
    done += n;
  }
  return true;
}

void tls_write_all(SSL* ssl, const unsigned char* data, std::size_t size) {
  std::size_t n = 0;
  // Blocking socket, SSL_MODE_ENABLE_PARTIAL_WRITE off: one call writes everything.
  if (SSL_write_ex(ssl, data, size, &n) != 1 || n != size) {
    die("TLS write: %s", openssl_error().c_str());
  }
}

struct TlsResult {
  Latency latency;
  std::string cipher;
};

TlsResult measure_tls_rtt(int n, Clock::duration limit) {
  g_pin_index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  Identity server_id = make_identity("floor-server");
  Identity client_id = make_identity("floor-client");
  SSL_CTX* server_ctx = make_context(true, server_id);
  SSL_CTX* client_ctx = make_context(false, client_id);

  int port = 0;
  const int listener = listen_loopback(&port);
  std::thread echo([&] {
    const int fd = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) die("accept: %s", std::strerror(errno));
    set_nodelay(fd);
    SSL* ssl = make_session(server_ctx, fd, client_id);
    if (SSL_accept(ssl) != 1) die("TLS accept: %s", openssl_error().c_str());
    std::array<unsigned char, kMessageBytes> buffer{};
    while (tls_read_exact(ssl, buffer.data(), buffer.size())) {
      tls_write_all(ssl, buffer.data(), buffer.size());
    }
    SSL_free(ssl);
    ::close(fd);
  });

  const int fd = connect_loopback(port);
  SSL* ssl = make_session(client_ctx, fd, server_id);
  if (SSL_connect(ssl) != 1) die("TLS connect: %s", openssl_error().c_str());
  if (SSL_version(ssl) != TLS1_3_VERSION || SSL_get0_peer_certificate(ssl) == nullptr) {
    die("TLS: expected TLS 1.3 with a peer certificate");
  }
  TlsResult result;
  result.cipher = SSL_get_cipher_name(ssl);
  std::array<unsigned char, kMessageBytes> out{};
  std::array<unsigned char, kMessageBytes> in{};
  randombytes_buf(out.data(), out.size());
  result.latency = time_each(100, n, limit, [&] {
    tls_write_all(ssl, out.data(), out.size());
    if (!tls_read_exact(ssl, in.data(), in.size())) die("TLS echo closed the connection");
  });
  if (in != out) die("TLS echo returned different bytes");
  SSL_shutdown(ssl);
  SSL_free(ssl);
  ::close(fd);
  echo.join();
  ::close(listener);
  SSL_CTX_free(server_ctx);
  SSL_CTX_free(client_ctx);
  free_identity(server_id);
  free_identity(client_id);
  return result;
}

// ---- CPU -------------------------------------------------------------------------------------

volatile unsigned char g_sink = 0;  // keeps results alive

struct PerOp {
  double us = 0;         // the fastest batch's mean time per call: the floor
  double median_us = 0;  // the median batch's, for a sense of the noise
  int calls = 0;

  std::string note() const {
    return strf("fastest of %d batches of 100 (median batch %s µs/op)", calls / 100,
                human(median_us).c_str());
  }
};

// Calls `op` in batches of 100 for up to `batches` batches (or `limit`). Other tenants of the
// machine only ever add time, so the fastest batch is the best estimate of the CPU's floor.
PerOp time_per_op(int batches, Clock::duration limit, const std::function<void()>& op) {
  constexpr int kBatch = 100;
  for (int i = 0; i < kBatch; ++i) op();  // warm-up
  std::vector<double> means;
  const Clock::time_point deadline = Clock::now() + limit;
  for (int b = 0; b < batches; ++b) {
    const Clock::time_point t0 = Clock::now();
    for (int i = 0; i < kBatch; ++i) op();
    const Clock::time_point t1 = Clock::now();
    means.push_back(micros(t1 - t0) / kBatch);
    if (t1 >= deadline) break;
  }
  std::sort(means.begin(), means.end());
  return PerOp{means.front(), percentile(means, 0.5), static_cast<int>(means.size()) * kBatch};
}

int usable_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0) return std::max(1, CPU_COUNT(&set));
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

// ---- main ------------------------------------------------------------------------------------

std::string make_scratch(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) die("cannot create %s: %s", dir.c_str(), ec.message().c_str());
  std::string pattern = dir + "/floor-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) {
    die("cannot make a scratch directory in %s: %s", dir.c_str(), std::strerror(errno));
  }
  return pattern;
}

}  // namespace

int main(int argc, char** argv) {
  const Options options = parse_options(argc, argv);
  ::signal(SIGPIPE, SIG_IGN);
  if (sodium_init() < 0) die("sodium_init failed");
  if (!options.samples_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(options.samples_dir, ec);
    if (ec) die("cannot create %s: %s", options.samples_dir.c_str(), ec.message().c_str());
  }
  const bool quick = options.quick;
  const std::string scratch = make_scratch(options.dir);
  const std::string fs = filesystem_name(scratch);
  if (fs == "tmpfs") progress("warning: " + scratch + " is on tmpfs; fsync costs nothing there");
  std::vector<Row> rows;

  // The disk.
  const int disk_n = quick ? 300 : 2000;
  progress(strf("fsync: %d appends of %zu bytes + fdatasync on %s (%s)", disk_n, kAppendBytes,
                fs.c_str(), scratch.c_str()));
  const Latency fsync = measure_fsync(scratch, disk_n, options.limit);
  write_samples(options.samples_dir, "fsync", fsync);
  const std::string fsync_note = strf("%zu-byte append + fdatasync, %s, %s", kAppendBytes,
                                      fs.c_str(), fsync.count_note().c_str());
  rows.push_back({"floor.fsync.p50", fsync.p50(), "µs", fsync_note});
  rows.push_back({"floor.fsync.p99", fsync.p99(), "µs", fsync_note});

  std::array<unsigned char, kMessageBytes> body{};
  randombytes_buf(body.data(), body.size());
  progress(strf("sqlite_commit: %d one-row transactions", disk_n));
  Latency commit;
  {
    Db db(scratch + "/commit.db");
    commit = time_each(10, disk_n, options.limit,
                       [&] { db.insert_transaction(body.data(), body.size(), 1); });
  }
  write_samples(options.samples_dir, "sqlite_commit", commit);
  rows.push_back({"floor.sqlite_commit", commit.p50(), "µs",
                  strf("p50 of BEGIN; INSERT one %zu-byte row; COMMIT; WAL, synchronous=FULL; "
                       "p99 %s µs; %s",
                       kMessageBytes, human(commit.p99()).c_str(), commit.count_note().c_str())});

  const int group_n = quick ? 30 : 200;
  progress(strf("sqlite_group_commit: %d transactions of %d rows", group_n, kGroupRows));
  Latency group;
  {
    Db db(scratch + "/group.db");
    group = time_each(3, group_n, options.limit,
                      [&] { db.insert_transaction(body.data(), body.size(), kGroupRows); });
  }
  double group_us_total = 0;
  for (const double us : group.samples_us) group_us_total += us;
  const double group_rows_per_s =
      static_cast<double>(group.samples_us.size()) * kGroupRows / (group_us_total / 1e6);
  rows.push_back({"floor.sqlite_group_commit", group_rows_per_s, "rows/s",
                  strf("%d %zu-byte rows per transaction, WAL, synchronous=FULL; total rows / "
                       "total time; %s transactions",
                       kGroupRows, kMessageBytes, group.count_note().c_str())});

  // Loopback.
  const int net_n = quick ? 1000 : 5000;
  progress(strf("tcp_rtt: %d ping-pongs of %zu bytes", net_n, kMessageBytes));
  const Latency tcp = measure_tcp_rtt(net_n, options.limit);
  write_samples(options.samples_dir, "tcp_rtt", tcp);
  rows.push_back({"floor.tcp_rtt", tcp.p50(), "µs",
                  strf("p50, %zu-byte ping-pong, 127.0.0.1, TCP_NODELAY, echo thread; p99 %s "
                       "µs; %s",
                       kMessageBytes, human(tcp.p99()).c_str(), tcp.count_note().c_str())});

  progress(strf("tls_rtt: %d ping-pongs of %zu bytes over mutual TLS 1.3", net_n, kMessageBytes));
  const TlsResult tls = measure_tls_rtt(net_n, options.limit);
  write_samples(options.samples_dir, "tls_rtt", tls.latency);
  rows.push_back({"floor.tls_rtt", tls.latency.p50(), "µs",
                  strf("p50, as tcp_rtt over TLS 1.3 (%s), mutual auth, pinned self-signed Ed25519 "
                       "certs; p99 %s µs; %s",
                       tls.cipher.c_str(), human(tls.latency.p99()).c_str(),
                       tls.latency.count_note().c_str())});

  // CPU: one message's cryptography.
  const int batches = quick ? 20 : 100;
  const Clock::duration cpu_limit = quick ? std::chrono::seconds(2) : std::chrono::seconds(8);
  progress("crypto: sign, verify, seal, open, box_seal, sha256 of 1 KiB");
  std::array<unsigned char, crypto_sign_PUBLICKEYBYTES> sign_pk{};
  std::array<unsigned char, crypto_sign_SECRETKEYBYTES> sign_sk{};
  crypto_sign_keypair(sign_pk.data(), sign_sk.data());
  std::array<unsigned char, crypto_sign_BYTES> sig{};
  const PerOp sign = time_per_op(batches, cpu_limit, [&] {
    crypto_sign_detached(sig.data(), nullptr, body.data(), body.size(), sign_sk.data());
    g_sink = g_sink ^ sig[0];
  });
  if (crypto_sign_verify_detached(sig.data(), body.data(), body.size(), sign_pk.data()) != 0) {
    die("Ed25519: a fresh signature does not verify");
  }
  const PerOp verify = time_per_op(batches, cpu_limit, [&] {
    g_sink = g_sink ^ static_cast<unsigned char>(crypto_sign_verify_detached(
                          sig.data(), body.data(), body.size(), sign_pk.data()));
  });
  rows.push_back({"floor.ed25519_sign", sign.us, "µs/op",
                  strf("libsodium crypto_sign_detached, 1 KiB message; %s", sign.note().c_str())});
  rows.push_back(
      {"floor.ed25519_verify", verify.us, "µs/op",
       strf("libsodium crypto_sign_verify_detached, 1 KiB message; %s", verify.note().c_str())});

  // The key the two parties agreed once (X25519 between their box keys), as DESIGN.md seals.
  std::array<unsigned char, crypto_kx_PUBLICKEYBYTES> a_pk{}, b_pk{};
  std::array<unsigned char, crypto_kx_SECRETKEYBYTES> a_sk{}, b_sk{};
  crypto_kx_keypair(a_pk.data(), a_sk.data());
  crypto_kx_keypair(b_pk.data(), b_sk.data());
  std::array<unsigned char, crypto_kx_SESSIONKEYBYTES> rx{}, key{};
  if (crypto_kx_client_session_keys(rx.data(), key.data(), a_pk.data(), a_sk.data(), b_pk.data()) !=
      0) {
    die("X25519 key agreement failed");
  }
  const std::string ad = "0190b7c2-7a3e-7cc1-8f6a-1b2c3d4e5f60saceur-cgs";  // id and line
  const auto* ad_bytes = reinterpret_cast<const unsigned char*>(ad.data());
  std::array<unsigned char, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES> nonce{};
  std::array<unsigned char, kMessageBytes + crypto_aead_xchacha20poly1305_ietf_ABYTES> sealed{};
  unsigned long long sealed_size = 0;
  const PerOp seal = time_per_op(batches, cpu_limit, [&] {
    randombytes_buf(nonce.data(), nonce.size());
    crypto_aead_xchacha20poly1305_ietf_encrypt(sealed.data(), &sealed_size, body.data(),
                                               body.size(), ad_bytes, ad.size(), nullptr,
                                               nonce.data(), key.data());
    g_sink = g_sink ^ sealed[0];
  });
  std::array<unsigned char, kMessageBytes> opened{};
  unsigned long long opened_size = 0;
  const PerOp open = time_per_op(batches, cpu_limit, [&] {
    const int rc = crypto_aead_xchacha20poly1305_ietf_decrypt(opened.data(), &opened_size, nullptr,
                                                              sealed.data(), sealed_size, ad_bytes,
                                                              ad.size(), nonce.data(), key.data());
    g_sink = g_sink ^ static_cast<unsigned char>(rc) ^ opened[0];
  });
  if (opened_size != body.size() || opened != body) die("XChaCha20-Poly1305 did not round-trip");
  rows.push_back({"floor.seal", seal.us, "µs/op",
                  strf("XChaCha20-Poly1305 seal of 1 KiB + %zu bytes AD under an agreed key, "
                       "random nonce included; %s",
                       ad.size(), seal.note().c_str())});
  rows.push_back({"floor.seal_open", open.us, "µs/op",
                  strf("XChaCha20-Poly1305 open of the same; %s", open.note().c_str())});

  std::array<unsigned char, crypto_box_PUBLICKEYBYTES> box_pk{};
  std::array<unsigned char, crypto_box_SECRETKEYBYTES> box_sk{};
  crypto_box_keypair(box_pk.data(), box_sk.data());
  std::array<unsigned char, kMessageBytes + crypto_box_SEALBYTES> boxed{};
  const PerOp box_seal = time_per_op(batches, cpu_limit, [&] {
    crypto_box_seal(boxed.data(), body.data(), body.size(), box_pk.data());
    g_sink = g_sink ^ boxed[0];
  });
  rows.push_back(
      {"floor.box_seal", box_seal.us, "µs/op",
       strf("crypto_box_seal of 1 KiB (fresh ephemeral X25519 per message), for comparison "
            "with seal; %s",
            box_seal.note().c_str())});

  std::array<unsigned char, crypto_hash_sha256_BYTES> digest{};
  const PerOp sha = time_per_op(batches, cpu_limit, [&] {
    crypto_hash_sha256(digest.data(), body.data(), body.size());
    g_sink = g_sink ^ digest[0];
  });
  rows.push_back({"floor.sha256_1k", sha.us, "µs/op",
                  strf("libsodium crypto_hash_sha256 of 1 KiB; %s", sha.note().c_str())});

  // Composites: the floor of one receipted message, and of receipted throughput.
  const double c = commit.p50();
  const double latency_us =
      c + tls.latency.p50() + verify.us + open.us + c + sign.us + verify.us + c;
  rows.push_back({"floor.receipted_latency", latency_us, "µs",
                  strf("3 x sqlite_commit %s + tls_rtt %s + 2 x ed25519_verify %s + seal_open %s + "
                       "ed25519_sign %s",
                       human(c).c_str(), human(tls.latency.p50()).c_str(), human(verify.us).c_str(),
                       human(open.us).c_str(), human(sign.us).c_str())});

  const int cores = usable_cores();
  const double cpu_us = sign.us + verify.us + seal.us + open.us;
  const double cpu_bound = cores / (cpu_us / 1e6);
  const double throughput = std::min(cpu_bound, group_rows_per_s);
  rows.push_back({"floor.receipted_throughput", throughput, "msgs/s",
                  strf("min(%d cores / (sign + verify + seal + open = %s µs) = %s, "
                       "sqlite_group_commit %s)",
                       cores, human(cpu_us).c_str(), human(cpu_bound).c_str(),
                       human(group_rows_per_s).c_str())});

  std::error_code ec;
  std::filesystem::remove_all(scratch, ec);
  if (options.json) {
    print_json(rows);
  } else {
    print_markdown(rows);
  }
  return 0;
}
