// What the anchors' clients share (bench/anchors/): the output conventions of bench/ (one JSON
// object of rows, README.md "Adding a measurement"), percentiles and the 1 KiB payload. They
// are measurement programs against Debian's libraries, not parley code, and link nothing of
// parley's: a failure prints one line and exits 1 (bench/anchors/run then stops the servers).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace parley::bench::anchor {

using Clock = std::chrono::steady_clock;

// The same 1 KiB text as parley's rows (bench/gateway_bench.cc: 1024 bytes of a sentence).
constexpr std::size_t kPayloadBytes = 1024;

inline std::string payload() {
  std::string text;
  const std::string words = "Line check from the sender; please acknowledge. ";
  while (text.size() < kPayloadBytes) text += words;
  text.resize(kPayloadBytes);
  return text;
}

inline const char*& program_name() {
  static const char* name = "parley-bench-anchor";
  return name;
}

[[noreturn]] __attribute__((format(printf, 1, 2))) inline void die(const char* fmt, ...) {
  std::va_list args;
  va_start(args, fmt);
  std::fprintf(stderr, "%s: ", program_name());
  std::vfprintf(stderr, fmt, args);
  std::fprintf(stderr, "\n");
  va_end(args);
  std::exit(1);
}

__attribute__((format(printf, 1, 2))) inline std::string strf(const char* fmt, ...) {
  std::va_list args;
  va_start(args, fmt);
  char buffer[2048];
  std::vsnprintf(buffer, sizeof buffer, fmt, args);
  va_end(args);
  return buffer;
}

inline void progress(const std::string& line) {
  std::fprintf(stderr, "%s: %s\n", program_name(), line.c_str());
}

inline double micros(Clock::duration d) {
  return std::chrono::duration<double, std::micro>(d).count();
}

// Nearest-rank percentile of `v` (not empty), p in (0, 1].
inline double percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  std::size_t rank = static_cast<std::size_t>(p * static_cast<double>(v.size()) + 0.999999);
  rank = std::clamp<std::size_t>(rank, 1, v.size());
  return v[rank - 1];
}

struct Row {
  std::string id;
  double value = 0;
  std::string unit;
  std::string note;
};

inline std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) < 0x20) continue;
    out += c;
  }
  return out + "\"";
}

// One JSON object {id: {value, unit, note}} (bench/merge.py reads it), or a plain table.
inline void print_rows(const std::vector<Row>& rows, bool json) {
  if (!json) {
    for (const Row& r : rows)
      std::printf("%-36s %12.1f %s\n", r.id.c_str(), r.value, r.unit.c_str());
    return;
  }
  std::string out = "{";
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const Row& r = rows[i];
    out += (i ? ",\n" : "\n") + json_string(r.id) + ": {\"value\": " + strf("%.3f", r.value) +
           ", \"unit\": " + json_string(r.unit) + ", \"note\": " + json_string(r.note) + "}";
  }
  std::printf("%s\n}\n", out.c_str());
}

struct Options {
  bool json = false;
  bool quick = false;
  std::string host = "127.0.0.1";
  int port = 0;
  std::string from;  // XMPP: the sender's server (domain) and c2s port
  std::string to;
  int from_port = 0;
  int to_port = 0;
};

inline Options parse_options(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const auto value = [&]() -> std::string {
      if (i + 1 >= argc) die("%s needs a value", a.c_str());
      return argv[++i];
    };
    if (a == "--json") {
      o.json = true;
    } else if (a == "--quick") {
      o.quick = true;
    } else if (a == "--port") {
      o.port = std::atoi(value().c_str());
    } else if (a == "--from") {
      o.from = value();
    } else if (a == "--to") {
      o.to = value();
    } else if (a == "--from-port") {
      o.from_port = std::atoi(value().c_str());
    } else if (a == "--to-port") {
      o.to_port = std::atoi(value().c_str());
    } else {
      die("unknown option %s (see bench/anchors/run)", a.c_str());
    }
  }
  return o;
}

// Counts and time limits of the two phases, as parley-bench-gateway's: every loop is bounded
// in count and in time.
struct Plan {
  int warmup = 20;
  int latency_count;
  Clock::duration latency_limit;
  int throughput_count;
  Clock::duration throughput_limit;
  int window = 64;  // messages sent and not yet received, in the throughput phase
};
inline Plan plan(bool quick) {
  using namespace std::chrono_literals;
  return quick ? Plan{20, 500, 30s, 2000, 6s, 64} : Plan{20, 5000, 150s, 20000, 30s, 64};
}

}  // namespace parley::bench::anchor
