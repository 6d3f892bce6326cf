// What parley-bench-gateway and parley-bench-fill share: the output conventions of bench/
// (README.md, "Adding a measurement"), a small keep-alive HTTP/1.1 client, a reader of the
// gateway's event stream, and real `parley gateway` processes in a scratch directory.
//
// Measurement programs, not parley code: any failure prints one line and exits 1, after
// killing every gateway this process started (so do SIGINT and SIGTERM; a gateway whose
// benchmark dies anyway gets SIGKILL from the kernel, PR_SET_PDEATHSIG).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include <sys/types.h>

#include "parley/launch/launch.h"

namespace parley::bench {

using Clock = std::chrono::steady_clock;

// ---- output and failure ----

// Names the program in progress lines and failures ("parley-bench-gateway").
void set_program(const char* name);
[[noreturn]] __attribute__((format(printf, 1, 2))) void die(const char* fmt, ...);
__attribute__((format(printf, 1, 2))) std::string strf(const char* fmt, ...);
void progress(const std::string& line);  // one line on stderr

struct Row {
  std::string id;
  double value = 0;
  std::string unit;
  std::string note;
  std::string floor;  // the id of the row this one is bounded by; empty for none
};
std::string human(double value);  // three significant figures, as merge.py
// One JSON object {id: {value, unit, note[, floor]}} (json) or a Markdown table.
void print_rows(const std::vector<Row>& rows, bool json);

double micros(Clock::duration d);
// Nearest-rank percentile of `sorted` (ascending, not empty), p in (0, 1].
double percentile(const std::vector<double>& sorted, double p);
// DIR/NAME.txt: a "# ..." header line, then one line per entry. Nothing if `dir` is empty.
void write_lines(const std::string& dir, const std::string& name, const std::string& header,
                 const std::vector<std::string>& lines);

struct Options {
  bool json = false;
  bool quick = false;
  std::string samples_dir;
  std::string dir;     // scratch directories are made inside it
  std::string parley;  // the parley binary
  bool keep = false;   // keep the scratch directories (homes, logs)
};
// --json, --quick, --samples DIR, --dir DIR, --parley PATH, --keep; exits on --help or a bad
// option.
Options parse_options(int argc, char** argv, const char* purpose);

// A fresh directory inside `base`, removed by remove_scratch() and by die() (unless --keep).
std::filesystem::path make_scratch(const std::string& base, const std::string& prefix);
void remove_scratch(const std::filesystem::path& dir);

// ---- HTTP/1.1 over one persistent loopback connection ----

struct Response {
  int status = 0;
  std::string body;
};

class HttpClient {
 public:
  // `headers`: extra header lines, each ending in "\r\n" (e.g. the Authorization).
  HttpClient(std::uint16_t port, std::string headers);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Sends one request on the kept-alive connection (connecting first if needed) and reads
  // its response. nullopt (and `error()` says why) on any I/O failure or a 30 s timeout;
  // the next call reconnects.
  std::optional<Response> request(std::string_view method, std::string_view target,
                                  std::string_view body = {});
  const std::string& error() const { return error_; }

 private:
  bool connect_once();
  void close_connection();

  std::uint16_t port_;
  std::string headers_;
  int fd_ = -1;
  std::string buffer_;  // bytes read beyond the last response
  std::string error_;
};

// ---- the event stream ----

// Reads GET /api/v1/events on its own thread and timestamps each "delivered" event the
// moment its last byte is read.
class DeliveredEvents {
 public:
  // Connects, sends the request with `token` and waits for the 200 header: die() if not.
  DeliveredEvents(std::uint16_t port, const std::string& token);
  ~DeliveredEvents();
  DeliveredEvents(const DeliveredEvents&) = delete;
  DeliveredEvents& operator=(const DeliveredEvents&) = delete;

  // When message `id` was reported delivered, waiting at most until `deadline`; the entry
  // is forgotten once returned.
  std::optional<Clock::time_point> take(const std::string& id, Clock::time_point deadline);
  // How many delivered events so far, and when the last arrived.
  std::size_t count() const;
  Clock::time_point last() const;
  // Waits until count() >= n or `deadline`; the count then.
  std::size_t wait_count(std::size_t n, Clock::time_point deadline);
  // Stop remembering the times of individual ids (throughput runs only count).
  void keep_ids(bool keep);

 private:
  void run(std::string buffer);  // `buffer`: what came after the header

  int fd_ = -1;
  std::thread thread_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::unordered_map<std::string, Clock::time_point> at_;
  std::size_t count_ = 0;
  Clock::time_point last_{};
  bool keep_ids_ = true;
  bool closed_ = false;
};

// ---- gateways ----

// A party of the pair and its gateway (parley/launch/launch.h: the launcher `parley demo` and
// the real-process tests use too).
using Party = launch::Party;
std::string auth_headers(const Party& party);  // "Authorization: Bearer <token>\r\n"
// The same with the operator token: the gateway-wide views (GET /api/v1/status with every
// peer, /api/v1/peers) are the operator's.
std::string operator_auth_headers(const Party& party);

// Two homes inside `dir` (bundles exchanged and pinned, a principal with a fresh token on
// each side, line "hotline" between them, logs DIR/PARTY.log): a = us-eucom, b = ru-genstaff,
// as `parley demo` sets them up. `options` as launch::create_pair's; die() on any failure.
// The stores are encrypted at rest (parley init's default) unless the environment says
// PARLEY_BENCH_STORE=plaintext (docs/operations.md "The store at rest": the cost measured).
// Whether the environment asks for plaintext stores (PARLEY_BENCH_STORE=plaintext).
bool plaintext_store();
void init_pair(const std::filesystem::path& dir, Party& a, Party& b,
               const launch::PairOptions& options = {});
// Starts `parley gateway --home` for `party`, stderr appended to party.log; it dies with this
// process.
void spawn_gateway(Party& party, const std::string& parley_bin);
// Polls GET /readyz (every millisecond) until it answers 200 ready; the moment it did, or
// die() naming the log once `limit` passed or the process exited.
Clock::time_point wait_ready(Party& party, Clock::duration limit);
// SIGTERM, then SIGKILL after 5 s.
void stop_gateway(Party& party);
// A memory field of /proc/PID/status ("VmRSS", "VmHWM") in MiB.
std::optional<double> status_mib(pid_t pid, const std::string& field);
// CPU time `pid` has used so far (user + system), in seconds, from /proc/PID/stat.
std::optional<double> cpu_seconds(pid_t pid);

}  // namespace parley::bench
