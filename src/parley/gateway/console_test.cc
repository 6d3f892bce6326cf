#include "parley/gateway/console.h"

#include <gtest/gtest.h>

namespace parley::gateway {
namespace {

const ConsoleFile* find_asset(std::string_view extension) {
  for (const ConsoleFile& f : console_files()) {
    if (f.path.rfind("assets/", 0) == 0 && f.path.size() > extension.size() &&
        f.path.substr(f.path.size() - extension.size()) == extension) {
      return &f;
    }
  }
  return nullptr;
}

TEST(ConsoleTest, TheIndexIsServedWithAStrictPolicy) {
  for (const char* path : {"/console", "/console/", "/console/index.html"}) {
    const net::HttpResponse r = console_response("GET", path);
    EXPECT_EQ(r.status, 200) << path;
    EXPECT_EQ(r.content_type, "text/html; charset=utf-8");
    EXPECT_EQ(r.headers.at("Content-Security-Policy"), kConsolePolicy);
    EXPECT_EQ(r.headers.at("X-Content-Type-Options"), "nosniff");
    EXPECT_EQ(r.headers.at("Cache-Control"), "no-cache");
    EXPECT_NE(r.body.find("<div id=\"app\">"), std::string::npos);
  }
}

TEST(ConsoleTest, TheIndexHasNoInlineScriptOrStyle) {
  const std::string index = console_response("GET", "/console/").body;
  // Every <script> names its source; no style attribute or element.
  std::size_t at = 0;
  while ((at = index.find("<script", at)) != std::string::npos) {
    const std::size_t end = index.find('>', at);
    ASSERT_NE(end, std::string::npos);
    EXPECT_NE(index.substr(at, end - at).find("src=\"/console/assets/"), std::string::npos)
        << index.substr(at, end - at);
    at = end;
  }
  EXPECT_EQ(index.find("<style"), std::string::npos);
  EXPECT_EQ(index.find("style=\""), std::string::npos);
  EXPECT_EQ(std::string(kConsolePolicy).find("unsafe"), std::string::npos);
}

TEST(ConsoleTest, HashedAssetsAreImmutableWithTheirMimeType) {
  const ConsoleFile* js = find_asset(".js");
  const ConsoleFile* css = find_asset(".css");
  ASSERT_NE(js, nullptr);
  ASSERT_NE(css, nullptr);
  const net::HttpResponse script = console_response("GET", "/console/" + std::string(js->path));
  EXPECT_EQ(script.status, 200);
  EXPECT_EQ(script.content_type, "text/javascript; charset=utf-8");
  EXPECT_EQ(script.headers.at("Cache-Control"), "public, max-age=31536000, immutable");
  EXPECT_EQ(script.headers.at("X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(script.body, js->bytes);
  const net::HttpResponse style = console_response("GET", "/console/" + std::string(css->path));
  EXPECT_EQ(style.content_type, "text/css; charset=utf-8");
  // The bundle evaluates no strings as code (the policy would stop it at run time).
  EXPECT_EQ(std::string(js->bytes).find("new Function"), std::string::npos);
}

TEST(ConsoleTest, UnknownFilesAndOtherMethodsAreRefused) {
  const net::HttpResponse missing = console_response("GET", "/console/assets/nope.js");
  EXPECT_EQ(missing.status, 404);
  EXPECT_NE(missing.body.find("\"error\""), std::string::npos);
  EXPECT_EQ(console_response("GET", "/console/../etc/passwd").status, 404);
  EXPECT_EQ(console_response("POST", "/console/").status, 405);
  const net::HttpResponse head = console_response("HEAD", "/console/");
  EXPECT_EQ(head.status, 200);
  EXPECT_TRUE(head.body.empty());
}

TEST(ConsoleTest, PathsAndMimeTypes) {
  EXPECT_TRUE(is_console_path("/console"));
  EXPECT_TRUE(is_console_path("/console/assets/x.js"));
  EXPECT_FALSE(is_console_path("/consoles"));
  EXPECT_FALSE(is_console_path("/api/v1/console"));
  EXPECT_EQ(console_mime_type("a.svg"), "image/svg+xml");
  EXPECT_EQ(console_mime_type("a.woff2"), "font/woff2");
  EXPECT_EQ(console_mime_type("a.bin"), "application/octet-stream");
  EXPECT_EQ(console_mime_type("js"), "application/octet-stream");
}

}  // namespace
}  // namespace parley::gateway
