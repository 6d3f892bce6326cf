#include "parley/gateway/console.h"

#include <string>

#include "parley/base/json.h"

namespace parley::gateway {
namespace {

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

std::optional<std::string_view> find_file(std::string_view path) {
  for (const ConsoleFile& f : console_files()) {
    if (f.path == path) return f.bytes;
  }
  return std::nullopt;
}

net::HttpResponse with_policy(net::HttpResponse r) {
  r.headers["Content-Security-Policy"] = std::string(kConsolePolicy);
  r.headers["X-Content-Type-Options"] = "nosniff";
  r.headers["X-Frame-Options"] = "DENY";
  r.headers["Referrer-Policy"] = "no-referrer";
  return r;
}

net::HttpResponse console_error(int status, const std::string& reason) {
  net::HttpResponse r;
  r.status = status;
  r.body = json::dump(json::Json{{"error", reason}});
  return with_policy(std::move(r));
}

}  // namespace

bool is_console_path(std::string_view path) {
  return path == "/console" || path.rfind("/console/", 0) == 0;
}

std::string_view console_mime_type(std::string_view path) {
  if (ends_with(path, ".html")) return "text/html; charset=utf-8";
  if (ends_with(path, ".js")) return "text/javascript; charset=utf-8";
  if (ends_with(path, ".css")) return "text/css; charset=utf-8";
  if (ends_with(path, ".json")) return "application/json";
  if (ends_with(path, ".svg")) return "image/svg+xml";
  if (ends_with(path, ".png")) return "image/png";
  if (ends_with(path, ".ico")) return "image/x-icon";
  if (ends_with(path, ".woff2")) return "font/woff2";
  if (ends_with(path, ".txt")) return "text/plain; charset=utf-8";
  return "application/octet-stream";
}

net::HttpResponse console_response(std::string_view method, std::string_view path) {
  if (method != "GET" && method != "HEAD") {
    return console_error(405, "the console's files are read with GET");
  }
  std::string_view file =
      path == "/console" ? "" : path.substr(std::string_view("/console/").size());
  if (file.empty()) file = "index.html";
  const std::optional<std::string_view> bytes = find_file(file);
  if (!bytes) return console_error(404, "no such console file: " + std::string(path));
  net::HttpResponse r;
  r.content_type = std::string(console_mime_type(file));
  if (method == "GET") r.body = std::string(*bytes);
  // Vite names every asset by its content's hash: a new build has new names, so an asset
  // never changes under its name. index.html names the current ones and is always revalidated.
  r.headers["Cache-Control"] =
      file.rfind("assets/", 0) == 0 ? "public, max-age=31536000, immutable" : "no-cache";
  return with_policy(std::move(r));
}

}  // namespace parley::gateway
