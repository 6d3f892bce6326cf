// The driver and the API in one process: two gateways (us-eucom, ru-genstaff) on one
// io_context, federating over real mutual TLS on loopback, each with its real SQLite store; the
// API is called through its handler (no HTTP client), and us-eucom's clock is moved by hand.
#include "parley/gateway/driver.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <sstream>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <gtest/gtest.h>

#include "parley/base/bytes.h"
#include "parley/base/check.h"
#include "parley/base/json.h"
#include "parley/catalog/embedded.h"
#include "parley/core/log_recovery.h"
#include "parley/gateway/api.h"
#include "parley/gateway/home.h"
#include "parley/ledger/formats.h"
#include "parley/ledger/merkle.h"
#include "parley/net/net.h"
#include "parley/store/store_test_util.h"
#include "parley/wire/heartbeat.h"
#include "parley/wire/wire.h"

namespace parley::gateway {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// A loopback port free now (net::free_loopback_port; the gateway binds it right after).
std::uint16_t free_port() {
  Result<std::uint16_t> port = net::free_loopback_port();
  return port.is_ok() ? *port : 0;
}

// A wall clock and timer moved by the test: advance() moves the time and fires the timer if
// it is due (on the io thread, as a steady_timer would).
class ManualClock final : public Clock {
 public:
  explicit ManualClock(boost::asio::io_context& io) : io_(io) {}
  Time now() const override { return now_; }
  void arm(Duration delay, std::function<void()> fire) override {
    due_ = now_ + delay;
    fire_ = std::move(fire);
    post_if_due();
  }
  void cancel() override { fire_ = nullptr; }
  void advance(Duration by) {
    now_ += by;
    post_if_due();
  }

 private:
  void post_if_due() {
    if (!fire_ || due_ > now_) return;
    boost::asio::post(io_, [fire = std::move(fire_)]() { fire(); });
    fire_ = nullptr;
  }
  boost::asio::io_context& io_;
  Time now_ = std::chrono::floor<std::chrono::milliseconds>(std::chrono::system_clock::now());
  Time due_{};
  std::function<void()> fire_;
};

// An event stream that keeps what it was sent until the test closes it (a client gone).
class CapturingStream final : public net::EventStream {
 public:
  bool send(const net::ServerEvent& event) override {
    if (!open) return false;
    events.push_back(event);
    return true;
  }
  bool is_open() const override { return open; }
  void close() override { open = false; }
  // The data of the events named `name`, in order.
  std::vector<json::Json> named(const std::string& name) const {
    std::vector<json::Json> out;
    for (const net::ServerEvent& e : events) {
      if (e.event == name) out.push_back(json::parse_object(e.data).value());
    }
    return out;
  }
  // The message_id of each event named `name`, in order.
  std::vector<std::string> message_ids(const std::string& name) const {
    std::vector<std::string> out;
    for (const json::Json& data : named(name)) out.push_back(data.value("message_id", ""));
    return out;
  }
  // The id of the event named `name` about `message_id` ("" if none).
  std::string id_of(const std::string& name, const std::string& message_id) const {
    for (const net::ServerEvent& e : events) {
      if (e.event == name &&
          json::parse_object(e.data).value().value("message_id", "") == message_id) {
        return e.id;
      }
    }
    return "";
  }
  std::vector<net::ServerEvent> events;
  bool open = true;
};

// A responder whose stream() is a CapturingStream (GET /api/v1/events through the handler).
class StreamingResponder final : public net::Responder {
 public:
  void respond(net::HttpResponse response) override { response_ = std::move(response); }
  std::shared_ptr<net::EventStream> stream() override {
    opened_ = true;
    return stream_;
  }
  const std::optional<net::HttpResponse>& response() const { return response_; }
  std::shared_ptr<CapturingStream> opened() const { return opened_ ? stream_ : nullptr; }

 private:
  std::optional<net::HttpResponse> response_;
  std::shared_ptr<CapturingStream> stream_ = std::make_shared<CapturingStream>();
  bool opened_ = false;
};

class CapturingResponder final : public net::Responder {
 public:
  void respond(net::HttpResponse response) override { response_ = std::move(response); }
  std::shared_ptr<net::EventStream> stream() override { return nullptr; }
  const std::optional<net::HttpResponse>& response() const { return response_; }

 private:
  std::optional<net::HttpResponse> response_;
};

struct Gateway {
  Home home;
  std::string token;  // the principal's
  std::unique_ptr<Driver> driver;
  net::Handler api;
};

// The built-in catalog and one type more, "notify.space-debris" (a copy of "text"): a peer
// upgraded before us.
const catalog::Catalog& wider_catalog() {
  static const std::string extra = [] {
    for (const catalog::SourceFile& f : catalog::embedded_type_files()) {
      if (f.name != "text.v1.json") continue;
      std::string text(f.text);
      const std::string from = R"("type": "text")";
      const std::size_t at = text.find(from);
      PARLEY_CHECK(at != std::string::npos);
      return text.replace(at, from.size(), R"("type": "notify.space-debris")");
    }
    PARLEY_CHECK(false);
    return std::string();
  }();
  static const catalog::Catalog wider = [] {
    std::vector<catalog::SourceFile> files = catalog::embedded_type_files();
    files.push_back({"notify.space-debris.v1.json", extra});
    Result<catalog::Catalog> loaded = catalog::Catalog::load(files);
    PARLEY_CHECK(loaded.is_ok());
    return std::move(*loaded);
  }();
  return wider;
}

class DriverTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("parley-driver-test-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root_);
    fs::create_directories(root_);
    ASSERT_NO_FATAL_FAILURE(make_home("us-eucom", us_));
    ASSERT_NO_FATAL_FAILURE(make_home("ru-genstaff", ru_));
    if (us_window_ > 0) us_.home.config.window = us_window_;
    ASSERT_NO_FATAL_FAILURE(
        configure(us_, ru_, {"saceur", "dsaceur"}, {"cgs", "deputy-cgs"}, "us-token-0123456789"));
    ASSERT_NO_FATAL_FAILURE(
        configure(ru_, us_, {"cgs", "deputy-cgs"}, {"saceur", "dsaceur"}, "ru-token-0123456789"));
    auto clock = std::make_unique<ManualClock>(io_);
    clock_ = clock.get();
    ASSERT_NO_FATAL_FAILURE(start(us_, std::move(clock)));
    ASSERT_NO_FATAL_FAILURE(start(ru_, nullptr));
    ASSERT_TRUE(recovered());
  }

  // Runs until every running gateway has asked its peer what it holds of their logs, as each
  // does at start before it signs anything new (docs/protocol.md "Forks and restores").
  bool recovered() {
    int turn = 0;
    return run_until([&] {
      bool done = true;
      for (const Gateway* g : {&us_, &ru_}) {
        if (!g->driver) continue;
        for (const Driver::PeerView& p : g->driver->peers()) {
          if (p.stats.recovering.empty()) continue;
          done = false;
          // us-eucom asks again after a backoff on the test's clock (ru-genstaff was not
          // listening yet): moved on only then, as other tests depend on that clock.
          if (g == &us_ && p.stats.recovering.find("asking again") != std::string::npos &&
              ++turn % 20 == 0) {
            clock_->advance(200ms);
          }
        }
      }
      return done;
    });
  }

  void TearDown() override {
    for (Gateway* g : {&us_, &ru_}) {
      if (g->driver) g->driver->stop();
    }
    io_.run_for(100ms);  // let the closed connections finish
    us_.driver.reset();
    ru_.driver.reset();
    std::error_code ec;
    fs::remove_all(root_, ec);
  }

  void make_home(const std::string& party, Gateway& g) {
    InitOptions o;
    o.home = root_ / party;
    o.party = party;
    o.federation = {"127.0.0.1:" + std::to_string(free_port())};
    o.api = "127.0.0.1:" + std::to_string(free_port());
    ASSERT_TRUE(init_home(o).is_ok());
    // The tests poll the API with a clock that stands still: no rate limit, unless a test
    // sets one (set_burst).
    ASSERT_NO_FATAL_FAILURE(set_burst(o.home, 100000));
    Result<Home> home = open_home(o.home);
    ASSERT_TRUE(home.is_ok()) << home.status().to_string();
    g.home = std::move(*home);
  }

  // Sets api.principal_burst in the home's parley.toml.
  static void set_burst(const fs::path& home, int burst) {
    const fs::path toml = home / "parley.toml";
    std::stringstream text;
    text << std::ifstream(toml).rdbuf();
    std::string config = text.str();
    const std::size_t at = config.find("principal_burst = ");
    ASSERT_NE(at, std::string::npos) << config;
    config.replace(at, config.find('\n', at) - at, "principal_burst = " + std::to_string(burst));
    std::ofstream(toml, std::ios::trunc) << config;
  }

  // A principal and its token, as `parley principal add` writes them.
  static void add_principal(store::Store& s, const std::string& id, const std::string& token) {
    core::Principal p;
    p.id = id;
    p.name = id;
    p.role = "principal";
    const crypto::Digest hash = crypto::sha256(as_bytes(token));
    p.token_hash = Bytes(hash.begin(), hash.end());
    ASSERT_TRUE(s.put_principal(p).is_ok());
  }

  // What `parley peer add`, `principal add` and `line add --alternate --remote-alternate`
  // write: the line's principal and alternate on each side ({principal, alternate}); the
  // alternate's token is "alt-" + `token`.
  static void configure(Gateway& g, const Gateway& peer,
                        const std::pair<std::string, std::string>& local,
                        const std::pair<std::string, std::string>& remote,
                        const std::string& token) {
    Result<std::unique_ptr<store::Store>> s = open_store(g.home);
    ASSERT_TRUE(s.is_ok()) << s.status().to_string();
    ASSERT_TRUE((*s)->put_peer(core::Peer{bundle_of(peer.home)}).is_ok());
    ASSERT_NO_FATAL_FAILURE(add_principal(**s, local.first, token));
    ASSERT_NO_FATAL_FAILURE(add_principal(**s, local.second, "alt-" + token));
    core::Line line;
    line.id = "saceur-cgs";
    line.local = local.first;
    line.alternates = {local.second};
    line.remote = wire::Address{peer.home.config.party, remote.first};
    line.remote_alternates = {remote.second};
    ASSERT_TRUE((*s)->put_line(line).is_ok());
    g.token = token;
  }

  // Acting through `g`'s API with another token (an alternate, the operator, ...).
  static Gateway as(const Gateway& g, std::string token) {
    Gateway other;
    other.api = g.api;
    other.token = std::move(token);
    return other;
  }

  void start(Gateway& g, std::unique_ptr<Clock> clock,
             const catalog::Catalog& catalog = catalog::Catalog::builtin()) {
    Result<std::unique_ptr<store::Store>> s = open_store(g.home);
    ASSERT_TRUE(s.is_ok()) << s.status().to_string();
    g.driver = std::make_unique<Driver>(io_, g.home, std::move(*s), std::move(clock), catalog);
    g.api = make_api_handler(*g.driver);
    const Status started = g.driver->start(g.api);
    ASSERT_TRUE(started.is_ok()) << started.to_string();
  }

  // Runs the io_context until `done` holds, for at most 20 s.
  bool run_until(const std::function<bool()>& done) {
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while (!done()) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      io_.run_one_for(50ms);
    }
    return true;
  }

  // One API request through the handler, as principal `g.token`; its response.
  net::HttpResponse call(Gateway& g, const std::string& method, const std::string& target,
                         const std::string& body = "") {
    net::HttpRequest request;
    request.method = method;
    request.target = target;
    request.headers["authorization"] = "Bearer " + g.token;
    request.body = body;
    request.remote = "127.0.0.1:1";
    auto responder = std::make_shared<CapturingResponder>();
    g.api(std::move(request), responder);
    if (!run_until([&] { return responder->response().has_value(); })) {
      ADD_FAILURE() << method << " " << target << ": no response";
      return {};
    }
    return *responder->response();
  }

  // GET /api/v1/events through `g`'s handler as `g.token`, with a Last-Event-ID header unless
  // `last_event_id` is empty: the stream, or null if the API answered instead (in `refused`).
  std::shared_ptr<CapturingStream> events(Gateway& g, const std::string& last_event_id,
                                          net::HttpResponse* refused = nullptr) {
    net::HttpRequest request;
    request.method = "GET";
    request.target = "/api/v1/events";
    request.headers["authorization"] = "Bearer " + g.token;
    if (!last_event_id.empty()) request.headers["last-event-id"] = last_event_id;
    request.remote = "127.0.0.1:1";
    auto responder = std::make_shared<StreamingResponder>();
    g.api(std::move(request), responder);
    if (responder->response() && refused != nullptr) *refused = *responder->response();
    return responder->opened();
  }

  // One API request through `g`'s handler as it is given (no token added); its response.
  net::HttpResponse send(Gateway& g, net::HttpRequest request) {
    request.remote = "127.0.0.1:1";
    auto responder = std::make_shared<CapturingResponder>();
    const std::string what = request.method + " " + request.target;
    g.api(std::move(request), responder);
    if (!run_until([&] { return responder->response().has_value(); })) {
      ADD_FAILURE() << what << ": no response";
      return {};
    }
    return *responder->response();
  }

  // A request as the console page sends it: same origin, with the session cookie `cookie`
  // and, if not empty, the CSRF token `csrf`.
  static net::HttpRequest from_console(const std::string& method, const std::string& target,
                                       const std::string& cookie, const std::string& csrf,
                                       const std::string& body = "") {
    net::HttpRequest r;
    r.method = method;
    r.target = target;
    r.body = body;
    r.headers["host"] = "127.0.0.1:7180";
    if (method != "GET") r.headers["origin"] = "http://127.0.0.1:7180";
    r.headers["sec-fetch-site"] = "same-origin";
    if (!cookie.empty()) r.headers["cookie"] = "lang=en; parley_session=" + cookie;
    if (!csrf.empty()) r.headers["x-parley-csrf"] = csrf;
    return r;
  }

  // Signs in with `token` as the console does: the cookie's value and the CSRF token.
  std::pair<std::string, std::string> sign_in(Gateway& g, const std::string& token) {
    const net::HttpResponse r =
        send(g, from_console("POST", "/api/v1/session", "", "", R"({"token":")" + token + "\"}"));
    EXPECT_EQ(r.status, 201) << r.body;
    const auto cookie = r.headers.find("Set-Cookie");
    if (cookie == r.headers.end()) return {};
    const std::string& set = cookie->second;
    const std::size_t start = set.find('=') + 1;
    return {set.substr(start, set.find(';') - start), id_of(r, "csrf")};
  }

  // The id in a 201 or 200 answer's JSON ("" if none).
  static std::string id_of(const net::HttpResponse& r, const std::string& field = "id") {
    Result<json::Json> j = json::parse_object(r.body);
    return j.is_ok() ? j->value(field, "") : "";
  }

  // A number in GET /api/v1/status (as the operator), or -1.
  std::int64_t status_number(Gateway& g, const std::string& field) {
    Gateway op = as(g, g.home.operator_token);
    const net::HttpResponse r = call(op, "GET", "/api/v1/status");
    Result<json::Json> j = json::parse_object(r.body);
    return r.status == 200 && j.is_ok() ? j->value(field, std::int64_t{-1}) : -1;
  }

  // The first column of the first row of `sql` on g's SQLite store, through a connection of
  // its own (keyed with the home's store key).
  static std::string raw_sql(const Gateway& g, const std::string& sql) {
    std::string key;
    if (!g.home.config.store_key_file.empty()) std::ifstream(g.home.config.store_key_file) >> key;
    return store::test::raw_sql((g.home.dir / g.home.config.store_path).string(), sql, key);
  }

  std::string state_of(Gateway& g, const std::string& id) {
    const net::HttpResponse r = call(g, "GET", "/api/v1/messages/" + id);
    Result<json::Json> j = json::parse_object(r.body);
    if (r.status != 200 || !j.is_ok()) return "HTTP " + std::to_string(r.status) + " " + r.body;
    return j->value("state", "");
  }

  fs::path root_;
  boost::asio::io_context io_;
  ManualClock* clock_ = nullptr;
  int us_window_ = 0;  // us-eucom's [federation] window when above 0 (a fixture may set it)
  Gateway us_;
  Gateway ru_;
};

TEST_F(DriverTest, AMessageIsDeliveredAndGoesOverdueWhenTheClockPassesItsDeadline) {
  const net::HttpResponse posted =
      call(us_, "POST", "/api/v1/messages",
           R"({"line":"saceur-cgs","precedence":"FLASH","text":"hold fire"})");
  ASSERT_EQ(posted.status, 201) << posted.body;
  Result<json::Json> j = json::parse_object(posted.body);
  ASSERT_TRUE(j.is_ok());
  const std::string id = j->value("id", "");
  ASSERT_FALSE(id.empty());
  // What the core accepted, not read back from the store: the first message on the line.
  EXPECT_EQ(j->value("seq", 0), 1);
  EXPECT_EQ(j->value("state", ""), "queued");
  EXPECT_EQ(j->value("line", ""), "saceur-cgs");

  ASSERT_TRUE(run_until([&] { return state_of(us_, id) == "delivered"; })) << state_of(us_, id);
  EXPECT_EQ(ru_.driver->counters().messages_received, 1u);
  EXPECT_EQ(us_.driver->counters().messages_submitted, 1u);

  // Nobody acknowledges it; the FLASH deadline (5 minutes) passes on us-eucom's clock alone.
  clock_->advance(6min);
  ASSERT_TRUE(run_until([&] { return state_of(us_, id) == "overdue"; })) << state_of(us_, id);
}

// Issue 15: the search index is written after the commits that store messages, by the driver
// (Driver::index_search), with no search asking for it: every stored message is indexed soon
// after (SQLite's search_indexed.upto, read behind the store's back).
TEST_F(DriverTest, TheDriverIndexesStoredMessagesForSearchAfterTheirCommits) {
  std::vector<std::string> ids;
  for (const char* text : {"hold fire", "northern fleet at sea"}) {
    const net::HttpResponse posted =
        call(us_, "POST", "/api/v1/messages",
             std::string(R"({"line":"saceur-cgs","precedence":"FLASH","text":")") + text + "\"}");
    ASSERT_EQ(posted.status, 201) << posted.body;
    Result<json::Json> j = json::parse_object(posted.body);
    ASSERT_TRUE(j.is_ok());
    ids.push_back(j->value("id", ""));
  }
  for (const std::string& id : ids) {
    ASSERT_TRUE(run_until([&] { return state_of(us_, id) == "delivered"; })) << state_of(us_, id);
  }
  for (Gateway* g : {&us_, &ru_}) {
    EXPECT_TRUE(run_until([&] {
      return raw_sql(*g,
                     "SELECT COUNT(*) FROM messages WHERE n > (SELECT upto FROM "
                     "search_indexed)") == "0";
    })) << g->home.config.party;
    EXPECT_GE(std::stoi(raw_sql(*g, "SELECT COUNT(*) FROM messages")), 2) << g->home.config.party;
  }

  // What a crash or a migration leaves out of the index (here: all of it, while ru-genstaff is
  // stopped) is indexed by the gateway after its next start, with no search asking for it.
  ru_.driver->stop();
  io_.run_for(100ms);
  ru_.driver.reset();
  raw_sql(ru_,
          "INSERT INTO messages_fts(messages_fts) VALUES('delete-all'); "
          "UPDATE search_indexed SET upto = 0");
  const auto unindexed = [&] {
    return raw_sql(ru_,
                   "SELECT COUNT(*) FROM messages WHERE n > (SELECT upto FROM search_indexed)");
  };
  ASSERT_NE(unindexed(), "0");
  ASSERT_EQ(raw_sql(ru_, "SELECT COUNT(*) FROM messages_fts WHERE messages_fts MATCH 'fleet'"),
            "0");
  ASSERT_NO_FATAL_FAILURE(start(ru_, nullptr));
  EXPECT_TRUE(run_until([&] { return unindexed() == "0"; })) << unindexed();
  EXPECT_EQ(raw_sql(ru_, "SELECT COUNT(*) FROM messages_fts WHERE messages_fts MATCH 'fleet'"),
            "1");
}

// Issue 15, [federation] verify_threads: by default the receiver hands its checks to one
// thread per core; with 0 it has no pool and checks everything on its own thread, and the
// messages are delivered all the same.
TEST_F(DriverTest, VerifyThreadsZeroChecksOnTheGatewaysThreadAndDeliversAllTheSame) {
  const auto send_flash = [&](const char* text) {
    const net::HttpResponse posted =
        call(us_, "POST", "/api/v1/messages",
             std::string(R"({"line":"saceur-cgs","precedence":"FLASH","text":")") + text + "\"}");
    EXPECT_EQ(posted.status, 201) << posted.body;
    Result<json::Json> j = json::parse_object(posted.body);
    const std::string id = j.is_ok() ? j->value("id", "") : "";
    EXPECT_TRUE(run_until([&] { return state_of(us_, id) == "delivered"; })) << state_of(us_, id);
  };
  send_flash("with the pool");
  EXPECT_GE(ru_.driver->verify_threads(), 1U);
  EXPECT_GT(ru_.driver->prechecks(), 0U);

  ru_.driver->stop();
  io_.run_for(100ms);
  ru_.driver.reset();
  ru_.home.config.verify_threads = 0;
  ASSERT_NO_FATAL_FAILURE(start(ru_, nullptr));
  send_flash("without it");
  EXPECT_EQ(ru_.driver->verify_threads(), 0U);
  EXPECT_EQ(ru_.driver->prechecks(), 0U);
}

// Issue 16: an empty message, and a reply_to that names no message on the principal's lines
// (a full id too), are refused with 400 and the reason; nothing is submitted. A reply to a
// message it has, by a unique prefix, is taken with the full id.
TEST_F(DriverTest, AnEmptyMessageAndAReplyToNoKnownMessageAreRefusedAndNothingIsSubmitted) {
  const net::HttpResponse empty =
      call(us_, "POST", "/api/v1/messages", R"({"line":"saceur-cgs","text":"  "})");
  EXPECT_EQ(empty.status, 400) << empty.body;
  EXPECT_NE(empty.body.find("an empty message"), std::string::npos) << empty.body;
  const net::HttpResponse unknown = call(
      us_, "POST", "/api/v1/messages",
      R"({"line":"saceur-cgs","text":"re","reply_to":"01890000-0000-7000-8000-000000000000"})");
  EXPECT_EQ(unknown.status, 400) << unknown.body;
  EXPECT_NE(unknown.body.find("reply_to: no message on your lines"), std::string::npos)
      << unknown.body;
  EXPECT_EQ(us_.driver->counters().messages_submitted, 0u);

  const net::HttpResponse first =
      call(us_, "POST", "/api/v1/messages", R"({"line":"saceur-cgs","text":"first"})");
  ASSERT_EQ(first.status, 201) << first.body;
  const std::string id = id_of(first);
  const net::HttpResponse reply =
      call(us_, "POST", "/api/v1/messages",
           R"({"line":"saceur-cgs","text":"second","reply_to":")" + id.substr(0, 18) + R"("})");
  ASSERT_EQ(reply.status, 201) << reply.body;
  Result<std::optional<core::MessageRecord>> stored = us_.driver->store().get_message(id_of(reply));
  ASSERT_TRUE(stored.is_ok() && stored->has_value());
  EXPECT_EQ((*stored)->reply_to, id);
  EXPECT_EQ(us_.driver->counters().messages_submitted, 2u);
}

// Whether the line exists and the principal may send on it is the core's decision; the API
// answers with it.
TEST_F(DriverTest, TheCoreDecidesTheLineAndTheAPIReportsIt) {
  const net::HttpResponse unknown =
      call(us_, "POST", "/api/v1/messages", R"({"line":"no-such-line","text":"x"})");
  EXPECT_EQ(unknown.status, 404) << unknown.body;
  EXPECT_NE(unknown.body.find("unknown line"), std::string::npos) << unknown.body;

  // A second principal of us-eucom, on no line.
  Gateway clerk;
  clerk.api = us_.api;
  clerk.token = "clerk-token-0123456789";
  {
    // The driver holds the store; a principal added through it is what `principal add` does.
    core::Principal p;
    p.id = "clerk";
    p.name = "clerk";
    p.role = "principal";
    const crypto::Digest hash = crypto::sha256(as_bytes(clerk.token));
    p.token_hash = Bytes(hash.begin(), hash.end());
    ASSERT_TRUE(us_.driver->store().put_principal(p).is_ok());
  }
  const net::HttpResponse denied =
      call(clerk, "POST", "/api/v1/messages", R"({"line":"saceur-cgs","text":"x"})");
  EXPECT_EQ(denied.status, 403) << denied.body;
  EXPECT_EQ(us_.driver->counters().messages_submitted, 0u);
}

// Issue 11: an alternate writes on the line, the peer (told its alternates with
// --remote-alternate) accepts it, and the peer's alternate acknowledges it by id; 404, 403
// and 409 come from the core.
TEST_F(DriverTest, AnAlternateSendsThePeerAcceptsItAndItsAlternateAcknowledgesById) {
  Gateway dsaceur = as(us_, "alt-us-token-0123456789");
  const net::HttpResponse posted =
      call(dsaceur, "POST", "/api/v1/messages",
           R"({"line":"saceur-cgs","precedence":"IMMEDIATE","text":"x"})");
  ASSERT_EQ(posted.status, 201) << posted.body;
  const std::string id = id_of(posted);
  ASSERT_TRUE(run_until([&] { return state_of(us_, id) == "delivered"; })) << state_of(us_, id);
  EXPECT_EQ(state_of(ru_, id), "delivered");
  EXPECT_EQ(status_number(ru_, "inbound_unacknowledged"), 1);

  Gateway deputy = as(ru_, "alt-ru-token-0123456789");
  const net::HttpResponse unknown =
      call(deputy, "POST", "/api/v1/messages/0190a0a0-0000-7000-8000-000000000000/ack");
  EXPECT_EQ(unknown.status, 404) << unknown.body;
  Gateway cook = as(ru_, "cook-token-0123456789");
  ASSERT_NO_FATAL_FAILURE(add_principal(ru_.driver->store(), "cook", cook.token));
  const net::HttpResponse denied = call(cook, "POST", "/api/v1/messages/" + id + "/ack");
  EXPECT_EQ(denied.status, 403) << denied.body;

  const net::HttpResponse acked = call(deputy, "POST", "/api/v1/messages/" + id + "/ack");
  ASSERT_EQ(acked.status, 200) << acked.body;
  EXPECT_EQ(id_of(acked), id);
  EXPECT_FALSE(id_of(acked, "ack_id").empty());
  const net::HttpResponse again = call(ru_, "POST", "/api/v1/messages/" + id + "/ack");
  EXPECT_EQ(again.status, 409) << again.body;
  ASSERT_TRUE(run_until([&] { return state_of(us_, id) == "acknowledged"; })) << state_of(us_, id);
  EXPECT_EQ(status_number(ru_, "inbound_unacknowledged"), 0);
}

// Checks one side's GET /api/v1/messages/{id}/evidence as a third party would (with the
// ledger's and crypto's own functions): the envelope signed by the log's owner, its log entry
// in the proven head, the other party's countersignature over the owner's signed head of that
// size, both with the keys the answer names, which must be the parties' own.
void expect_evidence_holds(const json::Json& e, const std::string& id, const std::string& owner,
                           const std::string& peer, const crypto::VerifyKey& owner_key,
                           const crypto::VerifyKey& peer_key) {
  ASSERT_EQ(e.value("id", ""), id);
  ASSERT_EQ(e["log"].value("owner", ""), owner);
  ASSERT_EQ(e["log"].value("peer", ""), peer);
  EXPECT_EQ(e["keys"].value(owner, ""), base64_encode(owner_key.bytes));
  EXPECT_EQ(e["keys"].value(peer, ""), base64_encode(peer_key.bytes));
  // No rotation: the head is signed by the key that signed the entry.
  EXPECT_EQ(e.value("head_key", ""), base64_encode(owner_key.bytes));
  const json::Json& env = e["envelope"];
  ASSERT_EQ(env.value("key", ""), owner);
  const Bytes payload = base64_decode(env.value("payload", "")).value();
  EXPECT_TRUE(crypto::verify(owner_key, wire::kEnvelopeDomain, payload,
                             base64_decode(env.value("sig", "")).value())
                  .is_ok());
  const std::string entry = R"({"key":")" + env.value("key", "") + R"(","payload":")" +
                            env.value("payload", "") + R"(","sig":")" + env.value("sig", "") +
                            "\"}";
  const json::Json& proof = e["proof"];
  ASSERT_TRUE(proof.is_object()) << e.dump();
  std::vector<ledger::Hash> path;
  for (const json::Json& h : proof["path"]) {
    const Bytes b = hex_decode(h.get<std::string>()).value();
    ledger::Hash hash{};
    std::copy(b.begin(), b.end(), hash.begin());
    path.push_back(hash);
  }
  const Bytes root_bytes = hex_decode(proof.value("root", "")).value();
  ledger::Hash root{};
  std::copy(root_bytes.begin(), root_bytes.end(), root.begin());
  const std::uint64_t size = proof.value("size", std::uint64_t{0});
  EXPECT_TRUE(ledger::verify_inclusion(proof.value("index", std::uint64_t{0}), size,
                                       ledger::leaf_hash(as_bytes(entry)), path, root)
                  .is_ok());
  const json::Json& receipt = e["countersignature"];
  ASSERT_TRUE(receipt.is_object()) << e.dump();
  ASSERT_EQ(receipt.value("key", ""), peer);
  const Bytes receipt_payload = base64_decode(receipt.value("payload", "")).value();
  EXPECT_TRUE(crypto::verify(peer_key, ledger::kReceiptV2Domain, receipt_payload,
                             base64_decode(receipt.value("sig", "")).value())
                  .is_ok());
  const json::Json r = json::parse_object(to_string(receipt_payload)).value();
  const Bytes sth = base64_decode(r.value("sth", "")).value();
  EXPECT_TRUE(crypto::verify(owner_key, ledger::kSthDomain, sth,
                             base64_decode(r.value("sth_sig", "")).value())
                  .is_ok());
  const json::Json head = json::parse_object(to_string(sth)).value();
  EXPECT_EQ(head.value("size", std::uint64_t{0}), size);
  EXPECT_EQ(head.value("root", ""), proof.value("root", ""));
  EXPECT_NE(std::find(r["ids"].begin(), r["ids"].end(), json::Json(id)), r["ids"].end());
}

// Issue 19: the evidence of one message, on both sides: everything checks with the parties'
// own keys; an unknown id, or a principal not on the message's line, gets 404.
TEST_F(DriverTest, TheEvidenceOfAMessageChecksOnBothSidesWithThePartiesKeys) {
  const net::HttpResponse posted = call(us_, "POST", "/api/v1/messages",
                                        R"({"line":"saceur-cgs","precedence":"FLASH","text":"x"})");
  ASSERT_EQ(posted.status, 201) << posted.body;
  const std::string id = id_of(posted);
  ASSERT_TRUE(run_until([&] { return state_of(us_, id) == "delivered"; })) << state_of(us_, id);
  const crypto::VerifyKey us_key = us_.home.keys.verify;
  const crypto::VerifyKey ru_key = ru_.home.keys.verify;
  for (Gateway* g : {&us_, &ru_}) {
    const net::HttpResponse r = call(*g, "GET", "/api/v1/messages/" + id + "/evidence");
    ASSERT_EQ(r.status, 200) << r.body;
    const json::Json e = json::parse_object(r.body).value();
    EXPECT_EQ(e.value("direction", ""), g == &us_ ? "outbound" : "inbound");
    SCOPED_TRACE(g == &us_ ? "us-eucom" : "ru-genstaff");
    expect_evidence_holds(e, id, "us-eucom", "ru-genstaff", us_key, ru_key);
  }
  const net::HttpResponse unknown =
      call(us_, "GET", "/api/v1/messages/0190a0a0-0000-7000-8000-000000000000/evidence");
  EXPECT_EQ(unknown.status, 404) << unknown.body;
  Gateway cook = as(ru_, "cook-token-0123456789");
  ASSERT_NO_FATAL_FAILURE(add_principal(ru_.driver->store(), "cook", cook.token));
  const net::HttpResponse hidden = call(cook, "GET", "/api/v1/messages/" + id + "/evidence");
  EXPECT_EQ(hidden.status, 404) << hidden.body;
}

// Issue 16: with the peer down, the first message is carried by the transaction in flight
// (409: it may be with the peer already) and the second waits in the queue: cancelled over
// the API by a prefix (200; the event "cancelled" on the line), refused a second time (409),
// and never sent once the peer is back, while the first is delivered.
// One transaction in flight at a time ([federation] window = 1): the second message waits
// behind the first (with a window of 4 it would leave at once in a transaction of its own).
class DriverOneInFlightTest : public DriverTest {
 protected:
  DriverOneInFlightTest() { us_window_ = 1; }
};

TEST_F(DriverOneInFlightTest, AQueuedMessageIsCancelledOverTheApiAndNeverReachesThePeer) {
  ru_.driver->stop();
  io_.run_for(100ms);
  ru_.driver.reset();
  auto stream = std::make_shared<CapturingStream>();
  us_.driver->subscribe("saceur", stream);
  const net::HttpResponse carried = call(
      us_, "POST", "/api/v1/messages", R"({"line":"saceur-cgs","precedence":"FLASH","text":"a"})");
  ASSERT_EQ(carried.status, 201) << carried.body;
  const net::HttpResponse waiting =
      call(us_, "POST", "/api/v1/messages", R"({"line":"saceur-cgs","text":"b"})");
  ASSERT_EQ(waiting.status, 201) << waiting.body;
  const std::string first = id_of(carried);
  const std::string second = id_of(waiting);

  const net::HttpResponse left = call(us_, "POST", "/api/v1/messages/" + first + "/cancel");
  EXPECT_EQ(left.status, 409) << left.body;
  EXPECT_NE(left.body.find("has left"), std::string::npos) << left.body;
  Gateway cook = as(us_, "cook-token-0123456789");
  ASSERT_NO_FATAL_FAILURE(add_principal(us_.driver->store(), "cook", cook.token));
  const net::HttpResponse stranger = call(cook, "POST", "/api/v1/messages/" + second + "/cancel");
  EXPECT_EQ(stranger.status, 404) << stranger.body;  // not on cook's lines
  EXPECT_EQ(state_of(us_, second), "queued");

  const net::HttpResponse cancelled =
      call(us_, "POST", "/api/v1/messages/" + second.substr(0, 23) + "/cancel");
  ASSERT_EQ(cancelled.status, 200) << cancelled.body;
  EXPECT_EQ(id_of(cancelled), second);
  EXPECT_EQ(id_of(cancelled, "state"), "cancelled");
  EXPECT_EQ(state_of(us_, second), "cancelled");
  const std::vector<json::Json> events = stream->named("cancelled");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].value("message_id", ""), second);
  EXPECT_EQ(events[0].value("kind", ""), "message-cancelled");
  const net::HttpResponse again = call(us_, "POST", "/api/v1/messages/" + second + "/cancel");
  EXPECT_EQ(again.status, 409) << again.body;
  EXPECT_NE(again.body.find("cancelled already"), std::string::npos) << again.body;

  // Receipted by ru (delivered_at), whatever the state: the test's clock, advanced a second
  // per turn while the retries back off, may pass the FLASH's ack deadline first (overdue).
  const auto receipted = [&](const std::string& id) {
    Result<std::optional<core::MessageRecord>> m = us_.driver->store().get_message(id);
    return m.is_ok() && m->has_value() && (*m)->delivered_at.has_value();
  };
  ASSERT_NO_FATAL_FAILURE(start(ru_, nullptr));
  ASSERT_TRUE(run_until([&] {
    clock_->advance(1s);  // us-eucom's retries run on the test's clock
    return receipted(first);
  })) << state_of(us_, first);
  const net::HttpResponse after =
      call(us_, "POST", "/api/v1/messages", R"({"line":"saceur-cgs","text":"c"})");
  ASSERT_EQ(after.status, 201) << after.body;
  ASSERT_TRUE(run_until([&] {
    clock_->advance(100ms);
    return receipted(id_of(after));
  })) << state_of(us_, id_of(after));
  Result<std::optional<core::MessageRecord>> at_ru = ru_.driver->store().get_message(second);
  ASSERT_TRUE(at_ru.is_ok());
  EXPECT_FALSE(at_ru->has_value());
  EXPECT_EQ(state_of(us_, second), "cancelled");
}

// Issue 11: the receiving gateway watches the deadline of what it holds; us-eucom's clock
// alone passes the FLASH deadline of ru-genstaff's message.
TEST_F(DriverTest, TheReceiverMarksAnUnacknowledgedMessageOverdueAndCountsIt) {
  const net::HttpResponse posted = call(ru_, "POST", "/api/v1/messages",
                                        R"({"line":"saceur-cgs","precedence":"FLASH","text":"x"})");
  ASSERT_EQ(posted.status, 201) << posted.body;
  const std::string id = id_of(posted);
  ASSERT_TRUE(run_until([&] { return state_of(us_, id) == "delivered"; })) << state_of(us_, id);

  clock_->advance(6min);
  ASSERT_TRUE(run_until([&] { return state_of(us_, id) == "overdue"; })) << state_of(us_, id);
  EXPECT_EQ(status_number(us_, "inbound_overdue"), 1);
  Gateway op = as(us_, us_.home.operator_token);
  const net::HttpResponse metrics = call(op, "GET", "/metrics");
  EXPECT_NE(metrics.body.find("parley_inbound_overdue_total{peer=\"ru-genstaff\"} 1"),
            std::string::npos)
      << metrics.body;

  // An ack after the deadline still works.
  const net::HttpResponse acked = call(us_, "POST", "/api/v1/messages/" + id + "/ack");
  ASSERT_EQ(acked.status, 200) << acked.body;
  EXPECT_EQ(state_of(us_, id), "acknowledged");
  EXPECT_EQ(status_number(us_, "inbound_overdue"), 0);
}

// Issue 12: what `parley principal revoke` writes (through its own connection to the store,
// as the CLI does) is refused by the running gateway at the next request.
TEST_F(DriverTest, ARevokedTokenIsRefusedByTheRunningGateway) {
  ASSERT_EQ(call(us_, "GET", "/api/v1/lines").status, 200);
  Result<std::unique_ptr<store::Store>> cli = open_store(us_.home);
  ASSERT_TRUE(cli.is_ok()) << cli.status().to_string();
  Result<std::vector<core::Principal>> all = (*cli)->principals();
  ASSERT_TRUE(all.is_ok());
  core::Principal saceur;
  for (const core::Principal& p : *all) {
    if (p.id == "saceur") saceur = p;
  }
  saceur.revoked_at = clock_->now();
  ASSERT_TRUE((*cli)->put_principal(saceur).is_ok());

  const net::HttpResponse refused = call(us_, "GET", "/api/v1/lines");
  EXPECT_EQ(refused.status, 401) << refused.body;
  EXPECT_NE(refused.body.find("the token of principal 'saceur' was revoked"), std::string::npos)
      << refused.body;
  // The alternate's token is another principal's: still good.
  Gateway dsaceur = as(us_, "alt-us-token-0123456789");
  EXPECT_EQ(call(dsaceur, "GET", "/api/v1/lines").status, 200);
}

TEST_F(DriverTest, AnExpiredTokenIsRefused) {
  core::Principal saceur = *us_.driver->principal("saceur");
  saceur.token_expires = clock_->now() + 1h;
  ASSERT_TRUE(us_.driver->store().put_principal(saceur).is_ok());
  ASSERT_EQ(call(us_, "GET", "/api/v1/lines").status, 200);
  clock_->advance(1h);
  const net::HttpResponse refused = call(us_, "GET", "/api/v1/lines");
  EXPECT_EQ(refused.status, 401) << refused.body;
  EXPECT_NE(refused.body.find("expired at"), std::string::npos) << refused.body;
}

// A principal's burst beyond api.principal_burst gets 429 with Retry-After until its bucket
// refills (api.principal_rate, 10 per second); the operator token is not limited.
TEST_F(DriverTest, ABurstOfRequestsGets429WithRetryAfter) {
  ASSERT_NO_FATAL_FAILURE(set_burst(us_.home.dir, 20));
  Gateway op = as(us_, us_.home.operator_token);
  ASSERT_EQ(call(op, "POST", "/api/v1/admin/reload").status, 200);
  int ok = 0;
  std::optional<net::HttpResponse> limited;
  for (int i = 0; i < 40 && !limited; ++i) {  // bounded: 40 requests at most
    net::HttpResponse r = call(us_, "GET", "/api/v1/lines");
    if (r.status == 200) ++ok;
    if (r.status == 429) limited = std::move(r);
  }
  ASSERT_TRUE(limited.has_value());
  EXPECT_EQ(ok, 20);
  EXPECT_EQ(limited->headers["Retry-After"], "1");
  Result<json::Json> body = json::parse_object(limited->body);
  ASSERT_TRUE(body.is_ok()) << limited->body;
  EXPECT_NE(body->value("error", "").find("over its rate limit"), std::string::npos);
  EXPECT_EQ(body->value("retry_after", 0), 1);

  for (int i = 0; i < 30; ++i) ASSERT_EQ(call(op, "GET", "/api/v1/status").status, 200);
  clock_->advance(1s);
  EXPECT_EQ(call(us_, "GET", "/api/v1/lines").status, 200);
}

// Issue 12: a new principal, its line and a roster shift, written to the store as the CLI
// writes them, take effect at the reload, without a restart: the session with the peer is
// kept.
TEST_F(DriverTest, ARosterAndALineChangeTakeEffectWithoutARestart) {
  const std::string duty = "/api/v1/roster?role=duty-officer";
  net::HttpResponse r = call(us_, "GET", duty);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find("\"on_duty\":null"), std::string::npos) << r.body;

  Gateway clerk = as(us_, "clerk-token-0123456789");
  Result<std::unique_ptr<store::Store>> cli = open_store(us_.home);
  ASSERT_TRUE(cli.is_ok()) << cli.status().to_string();
  ASSERT_NO_FATAL_FAILURE(add_principal(**cli, "clerk", clerk.token));
  core::Line line;
  line.id = "clerk-cgs";
  line.local = "clerk";
  line.remote = wire::Address{"ru-genstaff", "cgs"};
  ASSERT_TRUE((*cli)->put_line(line).is_ok());
  const Time now = clock_->now();
  ASSERT_TRUE(
      (*cli)->put_roster("duty-officer", {{"duty-officer", "clerk", now - 1h, now + 8h}}).is_ok());
  r = call(clerk, "POST", "/api/v1/messages", R"({"line":"clerk-cgs","text":"x"})");
  EXPECT_EQ(r.status, 404) << r.body;  // not yet reloaded

  Gateway op = as(us_, us_.home.operator_token);
  r = call(op, "POST", "/api/v1/admin/reload");
  ASSERT_EQ(r.status, 200) << r.body;
  r = call(us_, "GET", duty);
  EXPECT_NE(r.body.find("\"on_duty\":\"clerk\""), std::string::npos) << r.body;
  r = call(clerk, "POST", "/api/v1/messages", R"({"line":"clerk-cgs","text":"x"})");
  EXPECT_EQ(r.status, 201) << r.body;
  // The line that was there still works, over the same session.
  r = call(us_, "POST", "/api/v1/messages", R"({"line":"saceur-cgs","text":"still here"})");
  ASSERT_EQ(r.status, 201) << r.body;
  const std::string id = id_of(r);
  ASSERT_TRUE(run_until([&] { return state_of(us_, id) == "delivered"; })) << state_of(us_, id);
}

// Issue 12: a reload with an invalid parley.toml or an invalid directory is refused with the
// reason and the running directory is kept; only the operator may reload.
TEST_F(DriverTest, AnInvalidReloadIsRefusedAndKeepsTheRunningDirectory) {
  Result<std::unique_ptr<store::Store>> cli = open_store(us_.home);
  ASSERT_TRUE(cli.is_ok());
  const Time now = clock_->now();
  ASSERT_TRUE(
      (*cli)->put_roster("duty-officer", {{"duty-officer", "saceur", now - 1h, now + 8h}}).is_ok());
  Gateway op = as(us_, us_.home.operator_token);
  ASSERT_EQ(call(op, "POST", "/api/v1/admin/reload").status, 200);
  EXPECT_EQ(call(us_, "POST", "/api/v1/admin/reload").status, 403);

  // A zone tzdata does not have, at its line of parley.toml.
  const fs::path toml = us_.home.dir / "parley.toml";
  std::stringstream text;
  text << std::ifstream(toml).rdbuf();
  const std::string good = text.str();
  const std::string key = "timezone = \"UTC\"";
  ASSERT_NE(good.find(key), std::string::npos) << good;
  std::string bad = good;
  bad.replace(bad.find(key), key.size(), "timezone = \"Mars/Olympus_Mons\"");
  std::ofstream(toml, std::ios::trunc) << bad;
  const auto line = 1 + std::count(good.begin(), good.begin() + good.find(key), '\n');
  net::HttpResponse r = call(op, "POST", "/api/v1/admin/reload");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_NE(
      r.body.find("parley.toml:" + std::to_string(line) + ": party.timezone: unknown time zone"),
      std::string::npos)
      << r.body;
  std::ofstream(toml, std::ios::trunc) << good;

  // An overlapping roster, written past the CLI's check: refused by the core.
  ASSERT_TRUE((*cli)
                  ->put_roster("duty-officer", {{"duty-officer", "saceur", now - 1h, now + 8h},
                                                {"duty-officer", "dsaceur", now, now + 2h}})
                  .is_ok());
  r = call(op, "POST", "/api/v1/admin/reload");
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_NE(r.body.find("overlaps"), std::string::npos) << r.body;
  r = call(us_, "GET", "/api/v1/roster?role=duty-officer");
  EXPECT_NE(r.body.find("\"on_duty\":\"saceur\""), std::string::npos) << r.body;
  EXPECT_EQ(us_.driver->zone().name, "UTC");
}

}  // namespace
}  // namespace parley::gateway

namespace parley::gateway {
namespace {

// Issue 13: two gateways compare catalogs in every heartbeat's answer and say how they
// differ (status, /metrics); a message of a type the receiver lacks is stored and shown raw
// with a warning, never refused.
TEST_F(DriverTest, PeersWithDifferentCatalogsSayHowAndAnUnknownTypeIsShownRaw) {
  ru_.driver->stop();
  io_.run_for(100ms);
  ru_.driver.reset();
  ASSERT_NO_FATAL_FAILURE(start(ru_, nullptr, wider_catalog()));
  const auto difference = [](Gateway& g) -> std::optional<catalog::Difference> {
    const std::vector<Driver::PeerView> peers = g.driver->peers();
    return peers.size() == 1 ? peers[0].catalog : std::nullopt;
  };
  ASSERT_TRUE(run_until([&] {
    clock_->advance(2s);  // us-eucom's heartbeats run on the test's clock
    // us-eucom may hold the answer of ru-genstaff before its restart (same catalog) first.
    return difference(us_).has_value() && !difference(us_)->only_there.empty() &&
           difference(ru_).has_value();
  }));
  EXPECT_EQ(difference(us_)->only_there, std::vector<std::string>{"notify.space-debris"});
  EXPECT_TRUE(difference(us_)->only_here.empty());
  EXPECT_EQ(difference(ru_)->only_here, std::vector<std::string>{"notify.space-debris"});

  Gateway op = as(us_, us_.home.operator_token);
  Result<json::Json> status = json::parse_object(call(op, "GET", "/api/v1/status").body);
  ASSERT_TRUE(status.is_ok());
  const json::Json c = (*status)["peers"][0]["catalog"];
  EXPECT_EQ(c.value("same", true), false) << c.dump();
  EXPECT_EQ(c["only_there"], json::Json::array({"notify.space-debris"})) << c.dump();
  EXPECT_NE(
      call(op, "GET", "/metrics").body.find("parley_peer_catalog_differs{peer=\"ru-genstaff\"} 1"),
      std::string::npos);

  const net::HttpResponse posted = call(
      ru_, "POST", "/api/v1/messages",
      R"({"line":"saceur-cgs","type":"notify.space-debris","text":"debris over the Barents Sea"})");
  ASSERT_EQ(posted.status, 201) << posted.body;
  const std::string id = id_of(posted);
  ASSERT_TRUE(run_until([&] { return state_of(ru_, id) == "delivered"; })) << state_of(ru_, id);
  Result<json::Json> shown = json::parse_object(call(us_, "GET", "/api/v1/messages/" + id).body);
  ASSERT_TRUE(shown.is_ok());
  EXPECT_EQ(shown->value("state", ""), "delivered");
  EXPECT_NE(shown->value("warning", "").find("not in this gateway's catalog"), std::string::npos)
      << shown->dump();
  EXPECT_NE(shown->value("rendered", "").find("shown raw"), std::string::npos) << shown->dump();
  EXPECT_NE(shown->value("rendered", "").find("debris over the Barents Sea"), std::string::npos);
}

// Issue 13: an action item of signed-off minutes raises a reminder before it falls due and an
// overdue alert after, each once, pushed to its line's streams (SSE `action`) without anyone
// asking; an item done raises nothing more.
TEST_F(DriverTest, AnActionItemIsRemindedThenAlertedOverdueOnceEachUntilDone) {
  auto stream = std::make_shared<CapturingStream>();
  us_.driver->subscribe("saceur", stream);
  const net::HttpResponse proposed =
      call(us_, "POST", "/api/v1/meetings",
           R"({"line":"saceur-cgs","title":"Staff talks","slots":["2026-03-03T09:00:00Z"]})");
  ASSERT_EQ(proposed.status, 201) << proposed.body;
  const std::string meeting = id_of(proposed, "meeting");
  const std::string meetings = "/api/v1/meetings/" + meeting;
  const auto state = [&](Gateway& g) {
    const net::HttpResponse r = call(g, "GET", meetings);
    return r.status == 200 ? json::parse_object(r.body).value().value("state", "") : r.body;
  };
  ASSERT_TRUE(run_until([&] { return state(ru_) == "proposed"; })) << state(ru_);
  ASSERT_EQ(call(ru_, "POST", meetings + "/accept", R"({"slot":"2026-03-03T09:00:00Z"})").status,
            201);
  ASSERT_TRUE(run_until([&] { return state(us_) == "scheduled"; })) << state(us_);

  // us-eucom's clock stands still while ru-genstaff's runs: move it past ru's accept, or the
  // minutes would sort before it on replay (docs/protocol.md "Meetings").
  clock_->advance(1min);
  // An item due 100 hours from now on us-eucom's clock: no reminder yet (72 hours ahead).
  const Time due = clock_->now() + 100h;
  const json::Json minutes = {{"items",
                               {{{"agenda_item", "exercises"},
                                 {"actions",
                                  {{{"id", "a1"},
                                    {"text", "send the exercise calendar"},
                                    {"owner", "us-eucom/saceur"},
                                    {"due", format_time(due)}}}}}}}};
  ASSERT_EQ(call(us_, "POST", meetings + "/minutes", json::dump(minutes)).status, 201);
  ASSERT_TRUE(run_until([&] { return state(us_) == "held"; })) << state(us_);
  io_.run_for(50ms);
  EXPECT_TRUE(stream->named("action").empty());

  clock_->advance(29h);  // due in 71 hours
  ASSERT_TRUE(run_until([&] { return stream->named("action").size() == 1; }));
  const json::Json reminder = stream->named("action")[0];
  EXPECT_EQ(reminder.value("kind", ""), "action_reminder");
  EXPECT_EQ(reminder.value("status", ""), "reminder");
  EXPECT_EQ(reminder.value("meeting", ""), meeting);
  EXPECT_EQ(reminder.value("action", ""), "a1");
  EXPECT_EQ(reminder.value("owner", ""), "us-eucom/saceur");
  EXPECT_EQ(reminder.value("due", ""), format_time(due));
  EXPECT_EQ(reminder.value("line", ""), "saceur-cgs");

  clock_->advance(70h);  // due in one hour: the reminder is not raised again
  io_.run_for(50ms);
  EXPECT_EQ(stream->named("action").size(), 1U);

  clock_->advance(2h);  // an hour past due
  ASSERT_TRUE(run_until([&] { return stream->named("action").size() == 2; }));
  EXPECT_EQ(stream->named("action")[1].value("kind", ""), "action_overdue");
  EXPECT_EQ(stream->named("action")[1].value("status", ""), "overdue");

  ASSERT_EQ(call(us_, "POST", meetings + "/actions/a1/done", "{}").status, 201);
  clock_->advance(48h);
  io_.run_for(100ms);
  EXPECT_EQ(stream->named("action").size(), 2U);
}

// Issue 12: heartbeats are signed both ways. The path keeps the peer's last signed answer,
// which its pinned key verifies; a heartbeat that is unsigned, signed by another key, or
// claims another sender is refused by the receiving gateway.
TEST_F(DriverTest, HeartbeatsAreSignedBothWaysAndTheLastAnswerIsShownAsEvidence) {
  Gateway op = as(us_, us_.home.operator_token);
  json::Json beat;
  int turn = 0;
  ASSERT_TRUE(run_until([&] {
    // us-eucom's heartbeats run on the test's clock: a second every 20 turns (each runs one
    // handler), so that a heartbeat's TLS round trip completes before the clock passes its
    // answer's timeout (advancing every turn failed about one run in three under ASan).
    if (++turn % 20 == 0) clock_->advance(1s);
    const net::HttpResponse r = call(op, "GET", "/api/v1/peers");
    const Result<json::Json> j = json::parse_object(r.body);
    if (r.status != 200 || !j.is_ok()) return false;
    beat = (*j)["peers"][0]["paths"][0]["last_heartbeat"];
    return beat.is_object();
  }));
  const std::string payload = beat.value("payload", "");
  const Bytes signature = base64_decode(beat.value("signature", "")).value();
  const wire::Bundle ru = bundle_of(ru_.home);
  EXPECT_TRUE(
      crypto::verify(ru.sign_key, wire::kHeartbeatAnswerDomain, as_bytes(payload), signature)
          .is_ok());
  EXPECT_FALSE(crypto::verify(bundle_of(us_.home).sign_key, wire::kHeartbeatAnswerDomain,
                              as_bytes(payload), signature)
                   .is_ok());
  const json::Json signed_payload = json::parse_object(payload).value();
  EXPECT_EQ(signed_payload.value("from", ""), "ru-genstaff");
  EXPECT_EQ(signed_payload.value("to", ""), "us-eucom");
  EXPECT_EQ(signed_payload.value("time", ""), beat.value("time", ""));

  // Straight at ru-genstaff's federation port, over us-eucom's pinned TLS.
  const std::unique_ptr<net::FederationClient> client =
      net::make_federation_client(io_, {ru.federation[0]}, us_.home.tls, ru.tls_fingerprint);
  const auto post = [&](const std::string& body) {
    std::optional<Result<net::HttpResponse>> got;
    client->post("/federation/v1/heartbeat", body, 5s,
                 [&](Result<net::HttpResponse> r) { got = std::move(r); });
    EXPECT_TRUE(run_until([&] { return got.has_value(); }));
    return got && got->is_ok() ? (*got)->status : -1;
  };
  crypto::SystemRng rng;
  const wire::Heartbeat fresh =
      wire::make_heartbeat("us-eucom", "ru-genstaff", ru.federation[0], clock_->now(), rng);
  EXPECT_EQ(post(wire::encode_signed_heartbeat(wire::sign_heartbeat(fresh, us_.home.keys.signing))),
            200);
  EXPECT_EQ(post("{}"), 400);  // unsigned, as parley sent before
  EXPECT_EQ(post(wire::encode_signed_heartbeat(wire::sign_heartbeat(fresh, ru_.home.keys.signing))),
            403);  // another key
  wire::Heartbeat other = fresh;
  other.from = "cn-cmc";  // signed by us-eucom, claiming another sender
  EXPECT_EQ(post(wire::encode_signed_heartbeat(wire::sign_heartbeat(other, us_.home.keys.signing))),
            400);
  client->close();
}

// Issue 17: POST /federation/v1/log answers the pinned peer, from the store, what it holds of
// both logs of the pair (here: nothing lost, so the heads the asker holds and no entries past
// them); a request that is malformed, names another party or comes over another certificate is
// refused with a JSON reason, and nothing changes.
TEST_F(DriverTest, TheLogEndpointAnswersThePinnedPeerItsCopyAndRefusesBadRequests) {
  const net::HttpResponse posted =
      call(us_, "POST", "/api/v1/messages", R"({"line":"saceur-cgs","text":"before the copy"})");
  ASSERT_EQ(posted.status, 201) << posted.body;
  const std::string id = json::parse_object(posted.body).value().value("id", "");
  ASSERT_TRUE(run_until([&] { return state_of(us_, id) == "delivered"; })) << state_of(us_, id);

  const wire::Bundle ru = bundle_of(ru_.home);
  const std::unique_ptr<net::FederationClient> client =
      net::make_federation_client(io_, {ru.federation[0]}, us_.home.tls, ru.tls_fingerprint);
  const auto post = [&](const std::string& body) {
    std::optional<Result<net::HttpResponse>> got;
    client->post("/federation/v1/log", body, 5s,
                 [&](Result<net::HttpResponse> r) { got = std::move(r); });
    EXPECT_TRUE(run_until([&] { return got.has_value(); }));
    return got && got->is_ok() ? **got : net::HttpResponse{};
  };
  // From the start of both logs: ru returns us's message and its countersigned head.
  const net::HttpResponse all = post(core::encode_log_request({"us-eucom", "ru-genstaff", 0, 0}));
  ASSERT_EQ(all.status, 200) << all.body;
  Result<core::LogAnswer> answer = core::parse_log_answer(all.body, "ru-genstaff", "us-eucom");
  ASSERT_TRUE(answer.is_ok()) << answer.status().to_string();
  ASSERT_EQ(answer->yours.entries.size(), 1u);
  EXPECT_EQ(answer->yours.entries[0].index, 0u);
  EXPECT_FALSE(answer->yours.receipt.empty());
  EXPECT_TRUE(answer->mine.sth.empty());  // ru sent nothing: no head of its log countersigned
  // From what us holds: nothing past it.
  const net::HttpResponse none = post(core::encode_log_request({"us-eucom", "ru-genstaff", 1, 0}));
  ASSERT_EQ(none.status, 200) << none.body;
  EXPECT_TRUE(core::parse_log_answer(none.body, "ru-genstaff", "us-eucom")->yours.entries.empty());

  const auto refused = [&](const std::string& body, int status) {
    const net::HttpResponse r = post(body);
    EXPECT_EQ(r.status, status) << body << " -> " << r.body;
    EXPECT_TRUE(wire::parse_refusal(r.body).is_ok()) << r.body;
  };
  refused("not json", 400);
  refused(R"({"v":1,"from":"us-eucom","to":"ru-genstaff","after":0})", 400);
  refused(R"({"v":2,"from":"us-eucom","to":"ru-genstaff","after":0,"peer_after":0})", 400);
  refused(R"({"v":1,"from":"us-eucom","to":"ru-genstaff","after":-1,"peer_after":0})", 400);
  refused(core::encode_log_request({"cn-cmc", "ru-genstaff", 0, 0}), 403);  // another party
  refused(core::encode_log_request({"us-eucom", "cn-cmc", 0, 0}), 403);
  client->close();
  // Over a certificate ru has not pinned (ru's own, presented to itself): refused before reading.
  const std::unique_ptr<net::FederationClient> stranger =
      net::make_federation_client(io_, {ru.federation[0]}, ru_.home.tls, ru.tls_fingerprint);
  std::optional<Result<net::HttpResponse>> got;
  stranger->post("/federation/v1/log", core::encode_log_request({"us-eucom", "ru-genstaff", 0, 0}),
                 5s, [&](Result<net::HttpResponse> r) { got = std::move(r); });
  EXPECT_TRUE(run_until([&] { return got.has_value(); }));
  EXPECT_TRUE(!got || !got->is_ok() || (*got)->status == 403);
  stranger->close();
  // Nothing changed: the message is still delivered, nothing forked.
  EXPECT_EQ(state_of(us_, id), "delivered");
  Gateway ru_operator = as(ru_, ru_.home.operator_token);
  const json::Json peers =
      json::parse_object(call(ru_operator, "GET", "/api/v1/peers").body).value();
  EXPECT_FALSE(peers["peers"][0].value("forked", true));
}

}  // namespace
}  // namespace parley::gateway

namespace parley::gateway {
namespace {

// Issue 19: the console's session cookie stands in for the token, under the CSRF rules.
TEST_F(DriverTest, AConsoleSessionCookieActsAsItsPrincipalUnderTheCsrfRules) {
  const net::HttpResponse signed_in = send(
      us_, from_console("POST", "/api/v1/session", "", "", R"({"token":")" + us_.token + "\"}"));
  ASSERT_EQ(signed_in.status, 201) << signed_in.body;
  const std::string& set_cookie = signed_in.headers.at("Set-Cookie");
  EXPECT_NE(set_cookie.find("; HttpOnly"), std::string::npos) << set_cookie;
  EXPECT_NE(set_cookie.find("; SameSite=Strict"), std::string::npos) << set_cookie;
  EXPECT_NE(set_cookie.find("; Max-Age=43200"), std::string::npos) << set_cookie;
  EXPECT_EQ(signed_in.body.find(us_.token), std::string::npos) << "the token is not echoed";
  EXPECT_EQ(id_of(signed_in, "principal"), "saceur");
  const auto [cookie, csrf] = sign_in(us_, us_.token);
  ASSERT_FALSE(cookie.empty());
  ASSERT_FALSE(csrf.empty());

  // Reads need the cookie only.
  EXPECT_EQ(send(us_, from_console("GET", "/api/v1/lines", cookie, "")).status, 200);
  const net::HttpResponse session = send(us_, from_console("GET", "/api/v1/session", cookie, ""));
  ASSERT_EQ(session.status, 200) << session.body;
  EXPECT_EQ(id_of(session, "csrf"), csrf);

  // A state change needs the CSRF token and the API's own origin.
  const std::string body =
      R"({"line":"saceur-cgs","precedence":"FLASH","text":"from the console"})";
  const net::HttpResponse no_csrf =
      send(us_, from_console("POST", "/api/v1/messages", cookie, "", body));
  EXPECT_EQ(no_csrf.status, 403) << no_csrf.body;
  EXPECT_NE(no_csrf.body.find("X-Parley-CSRF"), std::string::npos) << no_csrf.body;
  net::HttpRequest other_site = from_console("POST", "/api/v1/messages", cookie, csrf, body);
  other_site.headers["origin"] = "http://evil.example";
  EXPECT_EQ(send(us_, std::move(other_site)).status, 403);
  EXPECT_EQ(send(us_, from_console("POST", "/api/v1/messages", cookie, "f00", body)).status, 403);
  EXPECT_EQ(us_.driver->counters().messages_submitted, 0U) << "a refused request changes nothing";
  const net::HttpResponse sent =
      send(us_, from_console("POST", "/api/v1/messages", cookie, csrf, body));
  EXPECT_EQ(sent.status, 201) << sent.body;

  // A session cannot act as another principal.
  net::HttpRequest as_other = from_console("GET", "/api/v1/lines", cookie, "");
  as_other.headers["x-parley-as"] = "dsaceur";
  EXPECT_EQ(send(us_, std::move(as_other)).status, 403);

  // Sign-out ends it on the gateway: the same cookie is refused afterwards.
  EXPECT_EQ(send(us_, from_console("DELETE", "/api/v1/session", cookie, "")).status, 403);
  const net::HttpResponse out = send(us_, from_console("DELETE", "/api/v1/session", cookie, csrf));
  ASSERT_EQ(out.status, 200) << out.body;
  EXPECT_NE(out.headers.at("Set-Cookie").find("Max-Age=0"), std::string::npos);
  const net::HttpResponse after = send(us_, from_console("GET", "/api/v1/lines", cookie, ""));
  EXPECT_EQ(after.status, 401) << after.body;
}

TEST_F(DriverTest, SignInRefusesTheOperatorTokenAnUnknownTokenAndAnotherOrigin) {
  EXPECT_EQ(send(us_, from_console("POST", "/api/v1/session", "", "",
                                   R"({"token":")" + us_.home.operator_token + "\"}"))
                .status,
            403);
  EXPECT_EQ(
      send(us_, from_console("POST", "/api/v1/session", "", "", R"({"token":"nope"})")).status,
      401);
  net::HttpRequest other =
      from_console("POST", "/api/v1/session", "", "", R"({"token":")" + us_.token + "\"}");
  other.headers["origin"] = "http://evil.example";
  const net::HttpResponse refused = send(us_, std::move(other));
  EXPECT_EQ(refused.status, 403) << refused.body;
  EXPECT_EQ(refused.headers.count("Set-Cookie"), 0U);
  EXPECT_EQ(send(us_, from_console("POST", "/api/v1/session", "", "", "{}")).status, 400);
  // Without a cookie or a token: 401 with the reason.
  const net::HttpResponse anonymous = send(us_, from_console("GET", "/api/v1/lines", "", ""));
  EXPECT_EQ(anonymous.status, 401);
  EXPECT_NE(anonymous.body.find("\"error\""), std::string::npos) << anonymous.body;
  EXPECT_EQ(send(us_, from_console("GET", "/api/v1/lines", "not-a-session", "")).status, 401);
}

TEST_F(DriverTest, ARevokedTokenEndsItsConsoleSessions) {
  const auto [cookie, csrf] = sign_in(us_, us_.token);
  ASSERT_EQ(send(us_, from_console("GET", "/api/v1/lines", cookie, "")).status, 200);
  core::Principal saceur = *us_.driver->principal("saceur");
  saceur.revoked_at = clock_->now();
  ASSERT_TRUE(us_.driver->store().put_principal(saceur).is_ok());
  const net::HttpResponse refused = send(us_, from_console("GET", "/api/v1/lines", cookie, ""));
  EXPECT_EQ(refused.status, 401) << refused.body;
}

TEST_F(DriverTest, AConsoleSessionExpiresAfterTwelveHours) {
  const auto [cookie, csrf] = sign_in(us_, us_.token);
  clock_->advance(11h);
  ASSERT_EQ(send(us_, from_console("GET", "/api/v1/lines", cookie, "")).status, 200);
  clock_->advance(1h);
  const net::HttpResponse expired = send(us_, from_console("GET", "/api/v1/lines", cookie, ""));
  EXPECT_EQ(expired.status, 401) << expired.body;
}

}  // namespace
}  // namespace parley::gateway

namespace parley::gateway {
namespace {

// The numeric value of an event id ("" and garbage: 0).
std::uint64_t event_number(const std::string& id) {
  std::uint64_t n = 0;
  for (const char c : id) {
    if (c < '0' || c > '9') return 0;
    n = n * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return n;
}

// Every event has an id, each one greater than the one before.
void expect_increasing_ids(const CapturingStream& stream) {
  std::uint64_t last = 0;
  for (const net::ServerEvent& e : stream.events) {
    ASSERT_FALSE(e.id.empty()) << e.event << " " << e.data;
    const std::uint64_t n = event_number(e.id);
    if (e.event != "stream" && e.event != "reset") {
      EXPECT_GT(n, last) << e.event << " " << e.data;
    }
    last = std::max(last, n);
  }
}

// Issue 16: every event has an id the store gave it; a client that reconnects with
// Last-Event-ID is sent every event it missed, once, then the live ones, across a restart of
// the gateway too; only what the principal may see; an id no longer kept (or unknown) gets a
// reset event; a malformed one is refused before the stream opens.
TEST_F(DriverTest, EventIdsComeFromTheStoreAndLastEventIdResumesWithNothingMissedOrDoubled) {
  const auto send = [&](const std::string& text) {
    const net::HttpResponse r =
        call(us_, "POST", "/api/v1/messages",
             R"({"line":"saceur-cgs","precedence":"ROUTINE","text":")" + text + "\"}");
    EXPECT_EQ(r.status, 201) << r.body;
    return id_of(r);
  };
  const auto delivered = [&](const std::string& id) {
    return run_until([&] { return state_of(us_, id) == "delivered"; });
  };

  std::shared_ptr<CapturingStream> first = events(ru_, "");
  ASSERT_TRUE(first);
  ASSERT_EQ(first->events.size(), 1U);
  EXPECT_EQ(first->events[0].event, "stream");
  const std::string m1 = send("one");
  ASSERT_TRUE(run_until([&] { return first->message_ids("message").size() == 1; }));
  EXPECT_EQ(first->message_ids("message"), std::vector<std::string>{m1});
  const std::string seen = first->id_of("message", m1);
  ASSERT_GT(event_number(seen), 0U);

  first->close();  // the client goes away; two messages arrive meanwhile
  const std::string m2 = send("two");
  const std::string m3 = send("three");
  ASSERT_TRUE(delivered(m2));
  ASSERT_TRUE(delivered(m3));
  EXPECT_EQ(first->message_ids("message").size(), 1U);

  std::shared_ptr<CapturingStream> second = events(ru_, seen);
  ASSERT_TRUE(second);
  EXPECT_EQ(second->message_ids("message"), (std::vector<std::string>{m2, m3}));
  ASSERT_FALSE(second->events.empty());
  EXPECT_EQ(second->events.back().event, "stream");
  EXPECT_GT(event_number(second->id_of("message", m2)), event_number(seen));
  const std::string m4 = send("four");  // live
  ASSERT_TRUE(run_until([&] { return second->message_ids("message").size() == 3; }));
  io_.run_for(50ms);
  EXPECT_EQ(second->message_ids("message"), (std::vector<std::string>{m2, m3, m4}));
  expect_increasing_ids(*second);
  const std::string seen4 = second->id_of("message", m4);

  // A restart of ru-genstaff: the ids go on from the store, and the resume still works.
  second->close();
  ru_.driver->stop();
  io_.run_for(100ms);
  ru_.driver.reset();
  ASSERT_NO_FATAL_FAILURE(start(ru_, nullptr));
  ASSERT_TRUE(recovered());
  const std::string m5 = send("five");
  ASSERT_TRUE(delivered(m5));
  std::shared_ptr<CapturingStream> third = events(ru_, seen4);
  ASSERT_TRUE(third);
  EXPECT_EQ(third->message_ids("message"), std::vector<std::string>{m5});
  EXPECT_GT(event_number(third->id_of("message", m5)), event_number(seen4));
  expect_increasing_ids(*third);

  // The operator's stream sees all five from the start; a principal on no line none of them.
  Gateway op = as(ru_, ru_.home.operator_token);
  std::shared_ptr<CapturingStream> all = events(op, "0");
  ASSERT_TRUE(all);
  EXPECT_EQ(all->message_ids("message"), (std::vector<std::string>{m1, m2, m3, m4, m5}));
  {
    Result<std::unique_ptr<store::Store>> s = open_store(ru_.home);
    ASSERT_TRUE(s.is_ok());
    ASSERT_NO_FATAL_FAILURE(add_principal(**s, "clerk", "clerk-token-0123456789"));
  }
  Gateway clerk = as(ru_, "clerk-token-0123456789");
  std::shared_ptr<CapturingStream> none = events(clerk, "0");
  ASSERT_TRUE(none);
  ASSERT_EQ(none->events.size(), 1U);
  EXPECT_EQ(none->events[0].event, "stream");

  // A malformed id is refused; an id newer than any gets a reset to the newest.
  net::HttpResponse refused;
  EXPECT_FALSE(events(ru_, "12abc", &refused));
  EXPECT_EQ(refused.status, 400);
  EXPECT_NE(refused.body.find("Last-Event-ID"), std::string::npos) << refused.body;
  std::shared_ptr<CapturingStream> future = events(ru_, "99999999");
  ASSERT_TRUE(future);
  ASSERT_EQ(future->events.size(), 2U);
  EXPECT_EQ(future->events[0].event, "reset");
  EXPECT_EQ(future->events[1].event, "stream");
  EXPECT_EQ(future->named("reset")[0].value("kind", ""), "events-lost");
  EXPECT_GE(event_number(future->events[0].id), event_number(third->id_of("message", m5)));

  // More events than a store keeps since `seen`: a reset says where the replay resumes.
  {
    Result<std::unique_ptr<store::Store>> s = open_store(ru_.home);
    ASSERT_TRUE(s.is_ok());
    std::vector<store::EventRecord> filler(store::kEventsKept, store::EventRecord{});
    for (store::EventRecord& e : filler) {
      e.name = "split-view";
      e.data = "{}";
      e.operator_only = true;
    }
    ASSERT_TRUE((*s)->append_events(filler).is_ok());
  }
  std::shared_ptr<CapturingStream> late = events(ru_, seen);
  ASSERT_TRUE(late);
  ASSERT_EQ(late->events.size(), 2U);
  EXPECT_EQ(late->events[0].event, "reset");
  const json::Json reset = late->named("reset")[0];
  EXPECT_EQ(reset.value("last_event_id", std::uint64_t{0}), event_number(seen));
  EXPECT_EQ(late->events[0].id, std::to_string(reset.value("resume_from", std::uint64_t{0})));
  EXPECT_GT(event_number(late->events[0].id), event_number(seen4));
  EXPECT_EQ(late->events[1].event, "stream");
}

}  // namespace
}  // namespace parley::gateway
