#include "harness.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>

#include "parley/base/json.h"

#ifndef PARLEY_BENCH_SCRATCH_DIR
#define PARLEY_BENCH_SCRATCH_DIR "."
#endif
#ifndef PARLEY_BENCH_PARLEY_BIN
#define PARLEY_BENCH_PARLEY_BIN "parley"
#endif

namespace parley::bench {
namespace {

namespace fs = std::filesystem;

const char* g_program = "parley-bench";
bool g_keep = false;  // --keep: scratch directories stay

// Gateways to kill on the way out. A fixed array: the signal handler reads it.
constexpr std::size_t kMaxGateways = 16;
std::array<std::atomic<pid_t>, kMaxGateways> g_gateways{};
std::mutex g_scratch_mutex;
std::vector<fs::path> g_scratch;  // removed by die()
std::vector<fs::path> g_logs;     // their tails are printed by die()

void remember_gateway(pid_t pid) {
  for (auto& slot : g_gateways) {
    pid_t empty = 0;
    if (slot.compare_exchange_strong(empty, pid)) return;
  }
  ::kill(pid, SIGKILL);
  die("more than %zu gateways at once", kMaxGateways);
}

void forget_gateway(pid_t pid) {
  for (auto& slot : g_gateways) {
    pid_t expected = pid;
    if (slot.compare_exchange_strong(expected, 0)) return;
  }
}

void kill_gateways() {
  for (auto& slot : g_gateways) {
    const pid_t pid = slot.exchange(0);
    if (pid <= 0) continue;
    ::kill(pid, SIGKILL);
    int status = 0;
    ::waitpid(pid, &status, 0);
  }
}

extern "C" void on_signal(int signal) {
  for (auto& slot : g_gateways) {
    const pid_t pid = slot.load();
    if (pid > 0) ::kill(pid, SIGKILL);
  }
  ::_exit(128 + signal);
}

std::string last_lines(const fs::path& file, int n) {
  std::ifstream in(file);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    lines.push_back(line);
    if (lines.size() > static_cast<std::size_t>(n)) lines.erase(lines.begin());
  }
  std::string out;
  for (const std::string& line : lines) out += "  | " + line + "\n";
  return out;
}

bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

int connect_loopback(std::uint16_t port, std::string* error) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *error = std::string("socket: ") + std::strerror(errno);
    return -1;
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    *error = strf("connect 127.0.0.1:%u: %s", port, std::strerror(errno));
    ::close(fd);
    return -1;
  }
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  timeval timeout{};
  timeout.tv_sec = 30;
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
  return fd;
}

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

}  // namespace

// ---- output and failure ----

void set_program(const char* name) {
  g_program = name;
  ::signal(SIGPIPE, SIG_IGN);
  struct sigaction action {};
  action.sa_handler = on_signal;
  ::sigaction(SIGINT, &action, nullptr);
  ::sigaction(SIGTERM, &action, nullptr);
}

void die(const char* fmt, ...) {
  std::va_list args;
  va_start(args, fmt);
  std::fprintf(stderr, "%s: ", g_program);
  std::vfprintf(stderr, fmt, args);
  std::fputc('\n', stderr);
  va_end(args);
  kill_gateways();
  std::lock_guard lock(g_scratch_mutex);
  for (const fs::path& log : g_logs) {
    std::error_code ec;
    if (!fs::exists(log, ec)) continue;
    std::fprintf(stderr, "%s: last lines of %s:\n%s", g_program, log.c_str(),
                 last_lines(log, 8).c_str());
  }
  for (const fs::path& dir : g_scratch) {
    std::error_code ec;
    if (g_keep) {
      std::fprintf(stderr, "%s: kept %s\n", g_program, dir.c_str());
    } else {
      fs::remove_all(dir, ec);
    }
  }
  std::fflush(stderr);
  std::_Exit(1);
}

std::string strf(const char* fmt, ...) {
  std::va_list args;
  va_start(args, fmt);
  std::array<char, 2048> text{};
  std::vsnprintf(text.data(), text.size(), fmt, args);
  va_end(args);
  return text.data();
}

void progress(const std::string& line) {
  std::fprintf(stderr, "%s: %s\n", g_program, line.c_str());
  std::fflush(stderr);
}

std::string human(double value) {
  const double magnitude = std::fabs(value);
  if (magnitude >= 1000) return strf("%.0f", value);
  if (magnitude >= 100) return strf("%.1f", value);
  if (magnitude >= 10) return strf("%.2f", value);
  return strf("%.3f", value);
}

namespace {

std::string json_string(std::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += strf("\\u%04x", c);
    } else {
      out += c;
    }
  }
  return out + "\"";
}

}  // namespace

void print_rows(const std::vector<Row>& rows, bool json) {
  if (!json) {
    std::printf("| id | value | unit | floor | note |\n| --- | ---: | --- | --- | --- |\n");
    for (const Row& row : rows) {
      std::printf("| %s | %s | %s | %s | %s |\n", row.id.c_str(), human(row.value).c_str(),
                  row.unit.c_str(), row.floor.empty() ? "-" : row.floor.c_str(), row.note.c_str());
    }
    return;
  }
  // In the order measured (merge.py keeps it), so not through nlohmann's sorted objects.
  std::printf("{\n");
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const Row& row = rows[i];
    std::printf("  %s: {\"value\": %.6g, \"unit\": %s, \"note\": %s", json_string(row.id).c_str(),
                row.value, json_string(row.unit).c_str(), json_string(row.note).c_str());
    if (!row.floor.empty()) std::printf(", \"floor\": %s", json_string(row.floor).c_str());
    std::printf("}%s\n", i + 1 < rows.size() ? "," : "");
  }
  std::printf("}\n");
}

double micros(Clock::duration d) { return std::chrono::duration<double, std::micro>(d).count(); }

double percentile(const std::vector<double>& sorted, double p) {
  const auto rank = static_cast<std::size_t>(std::ceil(p * static_cast<double>(sorted.size())));
  return sorted[std::clamp<std::size_t>(rank, 1, sorted.size()) - 1];
}

void write_lines(const std::string& dir, const std::string& name, const std::string& header,
                 const std::vector<std::string>& lines) {
  if (dir.empty()) return;
  const std::string path = dir + "/" + name + ".txt";
  std::FILE* file = std::fopen(path.c_str(), "w");
  if (file == nullptr) die("cannot write %s: %s", path.c_str(), std::strerror(errno));
  std::fprintf(file, "# %s\n", header.c_str());
  for (const std::string& line : lines) std::fprintf(file, "%s\n", line.c_str());
  if (std::fclose(file) != 0) die("cannot write %s: %s", path.c_str(), std::strerror(errno));
}

Options parse_options(int argc, char** argv, const char* purpose) {
  Options options;
  options.dir = PARLEY_BENCH_SCRATCH_DIR;
  options.parley = PARLEY_BENCH_PARLEY_BIN;
  const auto usage = [&](std::FILE* out) {
    std::fprintf(
        out,
        "usage: %s [--quick] [--json] [--samples DIR] [--dir DIR] [--parley PATH] [--keep]\n"
        "  %s\n"
        "  --quick        fewer samples, smaller stores\n"
        "  --json         one JSON object {id: {value, unit, note, floor}}\n"
        "  --samples DIR  also write the raw samples there\n"
        "  --dir DIR      where the gateways' homes go (default %s)\n"
        "  --parley PATH  the parley binary (default %s)\n"
        "  --keep         keep the gateways' homes and logs (for diagnosis)\n",
        g_program, purpose, PARLEY_BENCH_SCRATCH_DIR, PARLEY_BENCH_PARLEY_BIN);
  };
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--json") {
      options.json = true;
    } else if (arg == "--quick") {
      options.quick = true;
    } else if (arg == "--keep") {
      options.keep = true;
    } else if ((arg == "--samples" || arg == "--dir" || arg == "--parley") && i + 1 < argc) {
      (arg == "--samples" ? options.samples_dir
       : arg == "--dir"   ? options.dir
                          : options.parley) = argv[++i];
    } else if (arg == "--help" || arg == "-h") {
      usage(stdout);
      std::exit(0);
    } else {
      usage(stderr);
      std::exit(2);
    }
  }
  if (::access(options.parley.c_str(), X_OK) != 0) {
    die("no parley binary at %s (build the parley target, or pass --parley)",
        options.parley.c_str());
  }
  g_keep = options.keep;
  if (!options.samples_dir.empty()) {
    std::error_code ec;
    fs::create_directories(options.samples_dir, ec);
    if (ec) die("cannot create %s: %s", options.samples_dir.c_str(), ec.message().c_str());
  }
  return options;
}

fs::path make_scratch(const std::string& base, const std::string& prefix) {
  std::error_code ec;
  fs::create_directories(base, ec);
  std::string templ = base + "/" + prefix + "-XXXXXX";
  if (::mkdtemp(templ.data()) == nullptr) {
    die("cannot make a scratch directory in %s: %s", base.c_str(), std::strerror(errno));
  }
  std::lock_guard lock(g_scratch_mutex);
  g_scratch.push_back(templ);
  return templ;
}

void remove_scratch(const fs::path& dir) {
  std::error_code ec;
  if (g_keep) {
    progress("kept " + dir.string());
  } else {
    fs::remove_all(dir, ec);
  }
  std::lock_guard lock(g_scratch_mutex);
  std::erase(g_scratch, dir);
  std::erase_if(g_logs,
                [&](const fs::path& log) { return log.string().rfind(dir.string(), 0) == 0; });
}

// ---- HttpClient ----

HttpClient::HttpClient(std::uint16_t port, std::string headers)
    : port_(port), headers_(std::move(headers)) {}

HttpClient::~HttpClient() { close_connection(); }

void HttpClient::close_connection() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  buffer_.clear();
}

bool HttpClient::connect_once() {
  if (fd_ >= 0) return true;
  fd_ = connect_loopback(port_, &error_);
  return fd_ >= 0;
}

std::optional<Response> HttpClient::request(std::string_view method, std::string_view target,
                                            std::string_view body) {
  if (!connect_once()) return std::nullopt;
  std::string out;
  out.reserve(256 + headers_.size() + body.size());
  out.append(method).append(" ").append(target).append(" HTTP/1.1\r\nHost: 127.0.0.1\r\n");
  out += headers_;
  if (!body.empty() || method == "POST") {
    out +=
        "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  }
  out += "\r\n";
  out.append(body);
  if (!write_all(fd_, out)) {
    error_ = std::string("write: ") + std::strerror(errno);
    close_connection();
    return std::nullopt;
  }
  std::array<char, 16384> chunk{};
  const auto fill = [&]() -> bool {
    const ssize_t n = ::recv(fd_, chunk.data(), chunk.size(), 0);
    if (n < 0 && errno == EINTR) return true;
    if (n <= 0) {
      error_ = n == 0 ? "the server closed the connection"
                      : std::string("read: ") + std::strerror(errno);
      close_connection();
      return false;
    }
    buffer_.append(chunk.data(), static_cast<std::size_t>(n));
    return true;
  };
  std::size_t header_end;
  while ((header_end = buffer_.find("\r\n\r\n")) == std::string::npos) {
    if (!fill()) return std::nullopt;
  }
  const std::string header = lower(std::string_view(buffer_).substr(0, header_end));
  Response response;
  if (header.rfind("http/1.", 0) != 0 || header.size() < 12) {
    error_ = "not an HTTP response";
    close_connection();
    return std::nullopt;
  }
  response.status = std::atoi(header.c_str() + 9);
  std::size_t length = 0;
  const auto cl = header.find("\r\ncontent-length:");
  if (cl != std::string::npos) length = std::strtoull(header.c_str() + cl + 17, nullptr, 10);
  const bool close_after = header.find("\r\nconnection: close") != std::string::npos;
  const std::size_t body_start = header_end + 4;
  while (buffer_.size() < body_start + length) {
    if (!fill()) return std::nullopt;
  }
  response.body = buffer_.substr(body_start, length);
  buffer_.erase(0, body_start + length);
  if (close_after) close_connection();
  return response;
}

// ---- DeliveredEvents ----

DeliveredEvents::DeliveredEvents(std::uint16_t port, const std::string& token) {
  std::string error;
  fd_ = connect_loopback(port, &error);
  if (fd_ < 0) die("event stream: %s", error.c_str());
  timeval none{};  // a quiet stream is normal: no read timeout
  ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &none, sizeof none);
  const std::string request =
      "GET /api/v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
      "Authorization: Bearer " +
      token + "\r\nAccept: text/event-stream\r\n\r\n";
  if (!write_all(fd_, request)) die("event stream: write: %s", std::strerror(errno));
  std::string header;
  std::array<char, 4096> chunk{};
  while (header.find("\r\n\r\n") == std::string::npos) {
    const ssize_t n = ::recv(fd_, chunk.data(), chunk.size(), 0);
    if (n <= 0) die("event stream: the gateway closed it before answering");
    header.append(chunk.data(), static_cast<std::size_t>(n));
  }
  if (header.rfind("HTTP/1.1 200", 0) != 0) {
    die("event stream: %s", header.substr(0, header.find("\r\n")).c_str());
  }
  std::string rest = header.substr(header.find("\r\n\r\n") + 4);
  thread_ = std::thread([this, rest = std::move(rest)]() mutable { run(std::move(rest)); });
}

DeliveredEvents::~DeliveredEvents() {
  {
    std::lock_guard lock(mutex_);
    closed_ = true;
  }
  ::shutdown(fd_, SHUT_RDWR);
  if (thread_.joinable()) thread_.join();
  ::close(fd_);
}

void DeliveredEvents::run(std::string buffer) {
  std::array<char, 65536> chunk{};
  for (;;) {
    const ssize_t n = ::recv(fd_, chunk.data(), chunk.size(), 0);
    if (n < 0 && errno == EINTR) continue;
    const Clock::time_point now = Clock::now();
    if (n <= 0) {
      std::lock_guard lock(mutex_);
      if (!closed_) progress("event stream: the gateway closed it");
      closed_ = true;
      changed_.notify_all();
      return;
    }
    buffer.append(chunk.data(), static_cast<std::size_t>(n));
    std::vector<std::string> ids;  // (bytes that came with the header are parsed here too)
    std::size_t end;
    while ((end = buffer.find("\n\n")) != std::string::npos) {
      const std::string event = buffer.substr(0, end);
      buffer.erase(0, end + 2);
      // The gateway numbers its events ("id: N" first, docs/operations.md "Events and
      // resuming them"): the event's name is on any line of it.
      if (event.rfind("event: delivered\n", 0) != 0 &&
          event.find("\nevent: delivered\n") == std::string::npos) {
        continue;
      }
      const auto data = event.find("\ndata: ");
      if (data == std::string::npos) continue;
      Result<json::Json> parsed = json::parse_object(std::string_view(event).substr(data + 7));
      if (!parsed.is_ok()) continue;
      Result<std::string> id = json::get_string(*parsed, "message_id");
      if (id.is_ok()) ids.push_back(*id);
    }
    if (ids.empty()) continue;
    std::lock_guard lock(mutex_);
    for (std::string& id : ids) {
      ++count_;
      if (keep_ids_) at_[std::move(id)] = now;
    }
    last_ = now;
    changed_.notify_all();
  }
}

std::optional<Clock::time_point> DeliveredEvents::take(const std::string& id,
                                                       Clock::time_point deadline) {
  std::unique_lock lock(mutex_);
  for (;;) {
    const auto it = at_.find(id);
    if (it != at_.end()) {
      const Clock::time_point t = it->second;
      at_.erase(it);
      return t;
    }
    if (closed_) return std::nullopt;
    if (changed_.wait_until(lock, deadline) == std::cv_status::timeout && !at_.contains(id)) {
      return std::nullopt;
    }
  }
}

std::size_t DeliveredEvents::count() const {
  std::lock_guard lock(mutex_);
  return count_;
}

Clock::time_point DeliveredEvents::last() const {
  std::lock_guard lock(mutex_);
  return last_;
}

std::size_t DeliveredEvents::wait_count(std::size_t n, Clock::time_point deadline) {
  std::unique_lock lock(mutex_);
  changed_.wait_until(lock, deadline, [&] { return count_ >= n || closed_; });
  return count_;
}

void DeliveredEvents::keep_ids(bool keep) {
  std::lock_guard lock(mutex_);
  keep_ids_ = keep;
  if (!keep) at_.clear();
}

// ---- gateways ----

std::string auth_headers(const Party& party) {
  return "Authorization: Bearer " + party.token + "\r\n";
}
std::string operator_auth_headers(const Party& party) {
  return "Authorization: Bearer " + party.operator_token + "\r\n";
}

bool plaintext_store() {
  const char* store = std::getenv("PARLEY_BENCH_STORE");
  return store != nullptr && std::string_view(store) == "plaintext";
}

void init_pair(const fs::path& dir, Party& a, Party& b, const launch::PairOptions& given) {
  launch::PairOptions options = given;
  options.encrypt_store = !plaintext_store();
  Result<std::pair<Party, Party>> pair = launch::create_pair(dir, options);
  if (!pair.is_ok()) die("%s", pair.status().to_string().c_str());
  a = std::move(pair->first);
  b = std::move(pair->second);
}

void spawn_gateway(Party& party, const std::string& parley_bin) {
  {
    std::lock_guard lock(g_scratch_mutex);
    g_logs.push_back(party.log);
  }
  launch::SpawnOptions options;
  options.parley_binary = parley_bin;
  options.kill_with_parent = true;  // spawned from the main thread, which outlives them
  const Status spawned = launch::spawn(party, options);
  if (!spawned.is_ok()) die("%s", spawned.message().c_str());
  remember_gateway(party.pid);
}

Clock::time_point wait_ready(Party& party, Clock::duration limit) {
  const pid_t pid = party.pid;
  Result<Clock::time_point> ready =
      launch::wait_ready(party, Clock::now() + limit, std::chrono::milliseconds(1));
  if (!ready.is_ok()) {
    if (party.pid != pid) forget_gateway(pid);  // exited, already reaped
    die("%s", ready.status().message().c_str());
  }
  return *ready;
}

void stop_gateway(Party& party) {
  const pid_t pid = party.pid;
  launch::stop(party);
  forget_gateway(pid);
}

std::optional<double> status_mib(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  const std::string prefix = field + ":";
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(prefix, 0) == 0) {
      return std::strtod(line.c_str() + prefix.size(), nullptr) / 1024.0;  // kB
    }
  }
  return std::nullopt;
}

std::optional<double> cpu_seconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  std::getline(in, stat);
  const auto paren = stat.rfind(')');  // the command name may hold spaces
  if (paren == std::string::npos) return std::nullopt;
  std::istringstream fields(stat.substr(paren + 2));
  std::vector<std::string> f;
  for (std::string x; fields >> x;) f.push_back(x);
  // After the name: state (field 3) ... utime is field 14, stime field 15.
  if (f.size() < 13) return std::nullopt;
  const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  return (std::strtod(f[11].c_str(), nullptr) + std::strtod(f[12].c_str(), nullptr)) / ticks;
}

}  // namespace parley::bench
