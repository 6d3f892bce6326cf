#include "parley/gateway/api.h"

#include <algorithm>
#include <map>
#include <optional>
#include <set>

#include <spdlog/spdlog.h>

#include "parley/base/json.h"
#include "parley/base/version.h"
#include "parley/core/message_state.h"
#include "parley/crypto/crypto.h"
#include "parley/gateway/broadcasts_api.h"
#include "parley/gateway/console.h"
#include "parley/gateway/directory_api.h"
#include "parley/gateway/disclosure.h"
#include "parley/gateway/evidence.h"
#include "parley/gateway/find.h"
#include "parley/gateway/meetings_api.h"
#include "parley/gateway/monitoring.h"
#include "parley/gateway/requests.h"
#include "parley/gateway/responses.h"
#include "parley/gateway/sessions.h"
#include "parley/gateway/witness.h"
#include "parley/ledger/checkpoint.h"
#include "parley/wire/wire.h"

namespace parley::gateway {
namespace {

using json::Json;

// The length of a message id (a UUID, 8-4-4-4-12 hex digits): anything shorter is a prefix.
constexpr std::size_t kFullIdSize = 36;
// A ROUTINE submission refused for the peer's backlog: try again after this (a full
// transaction window drains in well under it on a working link).
constexpr int kBacklogRetrySeconds = 5;

Json optional_string(const std::optional<std::string>& s) { return s ? Json(*s) : Json(nullptr); }

Json line_json(const core::Line& line) {
  Json deadlines = Json::object();
  for (const wire::Precedence p : {wire::Precedence::kFlash, wire::Precedence::kImmediate,
                                   wire::Precedence::kPriority, wire::Precedence::kRoutine}) {
    deadlines[std::string(wire::precedence_name(p))] =
        format_duration(line.deadlines.for_precedence(p));
  }
  return Json{{"id", line.id},
              {"local", line.local},
              {"remote", line.remote.to_string()},
              {"alternates", line.alternates},
              {"remote_alternates", line.remote_alternates},
              {"observers", line.observers},
              {"deadlines", deadlines}};
}

// docs/openapi.yaml Translation: a translation as shown beside the message it translates.
Json translation_json(const core::MessageRecord& t) {
  const Result<Json> body = json::parse_object(t.content.body_json);
  const bool has_language =
      body.is_ok() && body->contains("language") && (*body)["language"].is_string();
  return {{"id", t.id},
          {"from", t.from.to_string()},
          {"language", has_language ? (*body)["language"] : Json(nullptr)},
          {"text", t.content.text},
          {"created", format_time(t.created)}};
}

// The translations among a message's replies (Store::replies_to, oldest first); a peer's
// translation we refused is left out.
Json translations_json(const std::vector<core::MessageRecord>& replies) {
  Json out = Json::array();
  for (const core::MessageRecord& r : replies) {
    if (r.type == catalog::kTranslationType && r.state != core::MessageState::kRefused) {
      out.push_back(translation_json(r));
    }
  }
  return out;
}

class Api {
 public:
  explicit Api(Driver& driver)
      : driver_(driver),
        meetings_(driver),
        broadcasts_(driver),
        directory_(driver),
        sessions_(session_rng_) {}

  void handle(net::HttpRequest request, std::shared_ptr<net::Responder> responder) {
    const Target target = split_target(request.target);
    const std::string& path = target.path;
    const std::string& method = request.method;
    const auto respond = [&](net::HttpResponse r) { responder->respond(std::move(r)); };

    if (path == "/healthz" && method == "GET") {
      return respond(json_response(200, {{"status", "ok"}}));
    }
    if (path == "/readyz" && method == "GET") {
      const bool ready = driver_.ready();
      Json body = {{"ready", ready}};
      // A probe needs no token; the peers (addresses, queues) only a gateway-wide caller sees.
      const Result<Caller> caller = authenticate(request);
      if (caller.is_ok() && caller->gateway_wide) body["peers"] = peers_json(driver_);
      return respond(json_response(ready ? 200 : 503, body));
    }
    if (is_console_path(path)) return respond(console_response(method, path));
    if (path == "/" && (method == "GET" || method == "HEAD")) {
      net::HttpResponse r = json_response(302, {{"console", "/console/"}});
      r.headers["Location"] = "/console/";
      return respond(std::move(r));
    }
    if (path == kSessionPath) return session(request, responder);
    if (path == "/metrics" && method == "GET") {
      const Result<Caller> caller = authenticate(request);
      if (!caller.is_ok()) return respond(error_response(caller.status()));
      const Status allowed = gateway_wide_only(*caller, "/metrics");
      if (!allowed.is_ok()) return respond(error_response(allowed));
      return respond(metrics_view(driver_));
    }
    if (path.rfind("/api/v1/", 0) != 0) {
      return respond(error_response(Status::not_found("no such endpoint: " + method + " " + path)));
    }

    Result<Caller> caller = authenticate(request);
    if (!caller.is_ok()) return respond(error_response(caller.status()));
    if (auto limited = directory_.rate_limited(*caller)) return respond(std::move(*limited));
    if (DirectoryApi::owns(path)) {
      return respond(directory_.handle(*caller, method, path, target.query));
    }

    if (path == "/api/v1/status" && method == "GET") {
      if (!caller->gateway_wide) return respond(line_status_view(caller->principal));
      return respond(status_view(driver_));
    }
    if (path == "/api/v1/peers" && method == "GET") {
      const Status allowed = gateway_wide_only(*caller, "/api/v1/peers");
      if (!allowed.is_ok()) return respond(error_response(allowed));
      return respond(json_response(200, {{"peers", peers_json(driver_)}}));
    }
    if (const std::optional<std::string> peer = checkpoint_peer(path); peer && method == "GET") {
      const Status allowed = gateway_wide_only(*caller, "/api/v1/peers/PARTY/checkpoint");
      if (!allowed.is_ok()) return respond(error_response(allowed));
      return respond(checkpoint(*peer));
    }
    if (path == "/api/v1/disclosed" && method == "GET") {
      const Status allowed = gateway_wide_only(*caller, "/api/v1/disclosed");
      if (!allowed.is_ok()) return respond(error_response(allowed));
      return respond(disclosed_view(driver_.store(), driver_.pinned()));
    }
    if (path == "/api/v1/version" && method == "GET") {
      return respond(json_response(200, {{"version", std::string(version())},
                                         {"commit", std::string(build_commit())},
                                         {"protocol", wire::kProtocolVersion}}));
    }
    if (path == "/api/v1/catalog" && method == "GET") {
      net::HttpResponse r;
      r.body = driver_.catalog().to_json();
      return respond(std::move(r));
    }
    if (path == "/api/v1/events" && method == "GET") {
      return events(caller->principal, request, *responder);
    }
    // Everything below acts as a principal.
    if (caller->principal.empty()) {
      return respond(error_response(Status::invalid_argument(
          "the operator token needs an X-Parley-As header naming the principal to act as")));
    }
    const std::string& principal = caller->principal;
    if (path == "/api/v1/lines" && method == "GET") {
      Json lines = Json::array();
      for (const core::Line& l : driver_.lines_read_by(principal)) lines.push_back(line_json(l));
      return respond(json_response(200, {{"lines", lines}}));
    }
    if (path == "/api/v1/messages" && method == "POST") {
      return post_message(principal, request.body, responder);
    }
    if (BroadcastsApi::owns(path)) {
      return broadcasts_.handle(principal, method, path, request.body, responder);
    }
    if (MeetingsApi::owns(path)) {
      return meetings_.handle(principal, method, path, request.body, responder);
    }
    if (path == "/api/v1/messages" && method == "GET") {
      return respond(list_messages(principal, target.query));
    }
    constexpr std::string_view kPrefix = "/api/v1/messages/";
    if (path.rfind(kPrefix, 0) == 0) {
      const std::string rest = path.substr(kPrefix.size());
      const std::optional<std::string> ack_id = ack_message_id(rest);
      if (ack_id && method == "POST") return ack(principal, *ack_id, responder);
      const std::optional<std::string> evidence_id = evidence_message_id(rest);
      if (evidence_id && method == "GET") return respond(evidence(principal, *evidence_id));
      const std::optional<std::string> cancel_id = cancel_message_id(rest);
      if (cancel_id && method == "POST") return cancel(principal, *cancel_id, responder);
      const std::optional<std::string> disclose_id = disclose_message_id(rest);
      if (disclose_id && method == "POST") {
        return disclose(principal, *disclose_id, request.body, responder);
      }
      if (rest.find('/') == std::string::npos && method == "GET") {
        return respond(get_message(principal, rest));
      }
    }
    return respond(error_response(Status::not_found("no such endpoint: " + method + " " + path)));
  }

 private:
  static constexpr std::string_view kSessionPath = "/api/v1/session";

  // /api/v1/session (docs/openapi.yaml, sessions.h): POST signs in with a principal's token
  // and sets the session cookie, GET describes the cookie's session (its CSRF token
  // included: only a page of this origin can read it), DELETE signs out.
  void session(const net::HttpRequest& request, const std::shared_ptr<net::Responder>& responder) {
    net::HttpResponse r = session_answer(request);
    r.headers["Cache-Control"] = "no-store";
    responder->respond(std::move(r));
  }

  net::HttpResponse session_answer(const net::HttpRequest& request) {
    if (request.method == "POST") return sign_in(request);
    if (request.method != "GET" && request.method != "DELETE") {
      return error_response(Status::not_found("no such endpoint: " + request.method + " " +
                                              std::string(kSessionPath)));
    }
    const Result<Session> found = cookie_session(request);
    if (!found.is_ok()) return error_response(found.status());
    if (request.method == "GET") return json_response(200, session_json(*found));
    const std::optional<std::string> cookies = header(request, "cookie");
    sessions_.end(cookie_value(cookies.value_or(""), kSessionCookie).value_or(""));
    spdlog::info("console sign-out: principal {} from {}", found->principal, request.remote);
    net::HttpResponse r = json_response(200, {{"signed_out", true}});
    r.headers["Set-Cookie"] = cleared_session_cookie(request.tls);
    return r;
  }

  net::HttpResponse sign_in(const net::HttpRequest& request) {
    const Status same_origin = check_same_origin(origin_of(request));
    if (!same_origin.is_ok()) return error_response(same_origin);
    const Result<std::string> token = parse_sign_in(request.body);
    if (!token.is_ok()) return error_response(token.status());
    if (constant_time_equal(as_bytes(*token), as_bytes(driver_.home().operator_token))) {
      return error_response(Status::permission_denied(
          "the console signs in a principal: the operator token is for the CLI"));
    }
    const crypto::Digest hash = crypto::sha256(as_bytes(*token));
    const Result<core::Principal> principal = principal_by_token(hash);
    if (!principal.is_ok()) return error_response(principal.status());
    const Time now = driver_.now();
    const Result<NewSession> started = sessions_.start(principal->id, hash, now);
    if (!started.is_ok()) return error_response(started.status());
    spdlog::info("console sign-in: principal {} from {}", principal->id, request.remote);
    net::HttpResponse r = json_response(
        201, session_json(Session{principal->id, hash, started->csrf, now, started->expires}));
    r.headers["Set-Cookie"] = session_cookie(*started, now, request.tls);
    return r;
  }

  // docs/openapi.yaml ConsoleSession.
  Json session_json(const Session& s) const {
    const std::optional<core::Principal> principal = driver_.principal(s.principal);
    return {{"principal", s.principal},
            {"name", principal ? principal->name : std::string()},
            {"party", driver_.home().config.party},
            {"lang", driver_.home().config.lang},
            {"expires", format_time(s.expires)},
            {"csrf", s.csrf}};
  }

  // GET /api/v1/events (Driver::stream_start): what the client missed since its
  // Last-Event-ID, then live. A Last-Event-ID that is no id this stream sends is refused
  // (400) before the stream opens.
  void events(const std::string& principal, const net::HttpRequest& request,
              net::Responder& responder) {
    std::optional<std::uint64_t> last;
    if (const std::optional<std::string> id = header(request, "last-event-id");
        id && !id->empty()) {
      last = parse_event_id(*id);
      if (!last) {
        return responder.respond(error_response(Status::invalid_argument(
            "Last-Event-ID must be the id of an event of this stream (a decimal number), not '" +
            id->substr(0, 40) + "'")));
      }
    }
    Result<std::vector<net::ServerEvent>> start = driver_.stream_start(principal, last);
    if (!start.is_ok()) return responder.respond(error_response(start.status()));
    std::shared_ptr<net::EventStream> stream = responder.stream();
    if (!stream) return;
    for (const net::ServerEvent& e : *start) stream->send(e);
    driver_.subscribe(principal, std::move(stream));
  }

  // An event id as the stream sends them: 1 to 19 decimal digits, at most kStoredIntMax.
  static std::optional<std::uint64_t> parse_event_id(const std::string& text) {
    if (text.empty() || text.size() > 19) return std::nullopt;
    std::uint64_t value = 0;
    for (const char c : text) {
      if (c < '0' || c > '9') return std::nullopt;
      value = value * 10 + static_cast<std::uint64_t>(c - '0');
    }
    if (value > store::kStoredIntMax) return std::nullopt;
    return value;
  }

  // PARTY of "/api/v1/peers/PARTY/checkpoint".
  static std::optional<std::string> checkpoint_peer(std::string_view path) {
    constexpr std::string_view kPeers = "/api/v1/peers/";
    constexpr std::string_view kCheckpoint = "/checkpoint";
    if (path.size() <= kPeers.size() + kCheckpoint.size() || path.rfind(kPeers, 0) != 0 ||
        path.substr(path.size() - kCheckpoint.size()) != kCheckpoint) {
      return std::nullopt;
    }
    const std::string_view party =
        path.substr(kPeers.size(), path.size() - kPeers.size() - kCheckpoint.size());
    if (party.find('/') != std::string_view::npos) return std::nullopt;
    return std::string(party);
  }

  // The latest head of our log for `peer` as a C2SP checkpoint (docs/transcript.md
  // "Checkpoints"): the stored head's size and root, signed under the log's origin with our
  // key of that head (our_checkpoint).
  net::HttpResponse checkpoint(const std::string& peer) {
    const std::vector<Driver::PeerView> peers = driver_.peers();
    if (std::none_of(peers.begin(), peers.end(),
                     [&](const Driver::PeerView& p) { return p.party == peer; })) {
      return error_response(Status::not_found("unknown peer '" + peer + "'"));
    }
    const std::string& me = driver_.home().config.party;
    Result<std::vector<core::HeadRecord>> heads = driver_.store().heads(me, peer);
    if (!heads.is_ok()) return error_response(heads.status());
    std::uint64_t size = 0;
    ledger::Hash root = ledger::empty_root();
    const auto latest = std::max_element(
        heads->begin(), heads->end(), [](const auto& a, const auto& b) { return a.size < b.size; });
    if (latest != heads->end()) {
      size = latest->size;
      root = latest->root;
    }
    Result<std::string> note = our_checkpoint(driver_.home(), driver_.store(), peer, size, root);
    if (!note.is_ok()) return error_response(note.status());
    net::HttpResponse r;
    r.content_type = "text/plain; charset=utf-8";
    r.body = *std::move(note);
    return r;
  }

  static std::optional<std::string> header(const net::HttpRequest& request,
                                           const std::string& name) {
    const auto it = request.headers.find(name);
    if (it == request.headers.end()) return std::nullopt;
    return it->second;
  }

  static RequestOrigin origin_of(const net::HttpRequest& request) {
    return RequestOrigin{request.method,
                         header(request, "host"),
                         header(request, "origin"),
                         header(request, "sec-fetch-site"),
                         header(request, std::string(kCsrfHeader)),
                         request.tls};
  }

  // The principal whose token hashes to `hash`, if that token may be used now (not revoked,
  // not expired): kUnauthenticated otherwise.
  Result<core::Principal> principal_by_token(const crypto::Digest& hash) {
    PARLEY_ASSIGN_OR_RETURN(std::optional<core::Principal> principal,
                            driver_.store().principal_by_token_hash(hash));
    if (!principal) return Status::unauthenticated("unknown token");
    PARLEY_RETURN_IF_ERROR(check_token(*principal, driver_.now()));
    return *std::move(principal);
  }

  // The console session of the request's cookie, checked against the CSRF rules
  // (sessions.h) and against its principal's token, which may have been revoked or rotated
  // since sign-in (the session then ends).
  Result<Session> cookie_session(const net::HttpRequest& request) {
    const std::optional<std::string> cookies = header(request, "cookie");
    const std::optional<std::string> id =
        cookies ? cookie_value(*cookies, kSessionCookie) : std::nullopt;
    if (!id) {
      return Status::unauthenticated(
          "missing Authorization: Bearer <token> header (or a console session cookie)");
    }
    PARLEY_ASSIGN_OR_RETURN(Session session, sessions_.find(*id, driver_.now()));
    PARLEY_RETURN_IF_ERROR(check_cookie_request(session, origin_of(request)));
    const Result<core::Principal> principal = principal_by_token(session.token_hash);
    if (!principal.is_ok() || principal->id != session.principal) {
      sessions_.end(*id);
      return Status::unauthenticated("the session's token is no longer valid: sign in again");
    }
    return session;
  }

  Result<Caller> authenticate(const net::HttpRequest& request) {
    const auto it = request.headers.find("authorization");
    if (it == request.headers.end()) {
      PARLEY_ASSIGN_OR_RETURN(const Session session, cookie_session(request));
      const std::optional<std::string> as = header(request, "x-parley-as");
      if (as && *as != session.principal) {
        return Status::permission_denied("a principal's session cannot act as another principal");
      }
      const std::optional<core::Principal> principal = driver_.principal(session.principal);
      Caller caller;
      caller.principal = session.principal;
      caller.gateway_wide = principal && principal->role == kWatchRole;
      return caller;
    }
    constexpr std::string_view kBearer = "Bearer ";
    if (it->second.rfind(kBearer, 0) != 0) {
      return Status::unauthenticated("the Authorization header must be 'Bearer <token>'");
    }
    const std::string token = it->second.substr(kBearer.size());
    const auto as = request.headers.find("x-parley-as");
    if (constant_time_equal(as_bytes(token), as_bytes(driver_.home().operator_token))) {
      Caller caller;
      caller.operator_token = true;
      caller.gateway_wide = true;
      if (as != request.headers.end()) {
        if (!driver_.principal(as->second)) {
          return Status::not_found("unknown principal '" + as->second + "'");
        }
        caller.principal = as->second;
      }
      return caller;
    }
    PARLEY_ASSIGN_OR_RETURN(const core::Principal principal,
                            principal_by_token(crypto::sha256(as_bytes(token))));
    if (as != request.headers.end() && as->second != principal.id) {
      return Status::permission_denied("a principal's token cannot act as another principal");
    }
    Caller caller;
    caller.principal = principal.id;
    caller.gateway_wide = principal.role == kWatchRole;
    return caller;
  }

  // The one place that decides who sees gateway-wide state: every peer, its addresses,
  // queues and overdue counts concern lines a principal may not be on.
  static Status gateway_wide_only(const Caller& caller, const std::string& what) {
    if (caller.gateway_wide) return Status::ok();
    return Status::permission_denied("principal '" + caller.principal + "' may not see " + what +
                                     " (gateway-wide: the operator token or the role '" +
                                     std::string(kWatchRole) + "')");
  }

  // GET /api/v1/status for a principal without the watch role: only the lines it is on, and
  // of each line's peer only whether the line can reach it now.
  net::HttpResponse line_status_view(const std::string& principal) const {
    const std::vector<Driver::PeerView> peers = driver_.peers();
    Json lines = Json::array();
    for (const core::Line& l : driver_.lines_read_by(principal)) {
      bool reachable = false;
      Json test = nullptr;  // the line's automatic test (none: no pinned peer)
      for (const Driver::PeerView& p : peers) {
        if (p.party != l.remote.party) continue;
        for (const PathHealth& path : p.paths) reachable = reachable || path.state == "up";
        for (const core::LineTestView& t : p.stats.tests) {
          if (t.line == l.id) test = line_test_json(t);
        }
      }
      lines.push_back({{"id", l.id},
                       {"local", l.local},
                       {"remote", l.remote.to_string()},
                       {"peer_reachable", reachable},
                       {"test", test}});
    }
    const std::vector<core::Line> mine = driver_.lines_read_by(principal);
    return json_response(200, {{"party", driver_.home().config.party},
                               {"ready", driver_.ready()},
                               {"time", format_time(driver_.now())},
                               {"scope", "lines"},
                               {"lines", lines},
                               {"escalations", escalations_json(driver_, &mine)}});
  }

  // Whether `principal` may read the messages of `line` (on it, or a translator).
  bool on_line(const std::string& principal, const std::string& line) const {
    for (const core::Line& l : driver_.lines_read_by(principal)) {
      if (l.id == line) return true;
    }
    return false;
  }

  void post_message(const std::string& principal, const std::string& body,
                    const std::shared_ptr<net::Responder>& responder) {
    Result<core::Submit> submit = parse_submit(principal, body);
    if (!submit.is_ok()) return responder->respond(error_response(submit.status()));
    // On a line the principal reads, reply_to is always looked up, a full id too: a reply to a
    // message it cannot see (none has that id on its lines) is a mistake of the request,
    // refused before anything is stored (400). On any other line the core refuses the message
    // itself (404 or 403), which says more.
    if (submit->reply_to && on_line(principal, submit->line)) {
      Result<std::string> reply_to =
          resolve_message_id(driver_.store(), line_ids(principal), *submit->reply_to);
      if (!reply_to.is_ok()) {
        Status status = reply_to.status();
        if (status.code() == StatusCode::kNotFound) {
          status = Status::invalid_argument(std::string(status.message()));
        }
        return responder->respond(error_response(status.with_context("reply_to")));
      }
      submit->reply_to = *reply_to;
    }
    // Whether the line exists and the principal may send on it is the core's decision
    // (core::Node, core::PeerSession): its Rejected comes back as 404 or 403.
    // The core's Accepted says what to answer: the store is not read back. A ROUTINE refused
    // for the peer's backlog (kResourceExhausted) is 503 with Retry-After.
    driver_.submit(std::move(*submit), [responder](Result<core::Accepted> accepted) {
      if (!accepted.is_ok()) {
        net::HttpResponse refused = error_response(accepted.status());
        if (accepted.status().code() == StatusCode::kResourceExhausted) {
          refused.headers["Retry-After"] = std::to_string(kBacklogRetrySeconds);
        }
        return responder->respond(std::move(refused));
      }
      responder->respond(json_response(201, {{"id", accepted->message_id},
                                             {"state", core::state_name(accepted->state)},
                                             {"line", accepted->line},
                                             {"seq", accepted->seq}}));
    });
  }

  static Result<core::Submit> parse_submit(const std::string& principal, const std::string& body) {
    PARLEY_ASSIGN_OR_RETURN(MessageRequest m, parse_message_request(body));
    core::Submit s;
    s.principal = principal;
    s.line = std::move(m.line);
    s.precedence = m.precedence;
    s.type = std::move(m.type);
    s.content = std::move(m.content);
    s.reply_to = std::move(m.reply_to);
    s.expires = m.expires;
    return s;
  }

  std::vector<std::string> line_ids(const std::string& principal) const {
    std::vector<std::string> ids;
    for (const core::Line& l : driver_.lines_read_by(principal)) ids.push_back(l.id);
    return ids;
  }

  // The message a principal names by its id or a unique prefix of it (find.h): a full id
  // is taken as it is, so that the core still decides about a message on another line.
  Result<std::string> message_id(const std::string& principal, const std::string& text) {
    if (text.size() == kFullIdSize) return text;
    return resolve_message_id(driver_.store(), line_ids(principal), text);
  }

  // One page of a box (requests.h MessageListRequest): by precedence, then newest first; a
  // next_cursor while more follow.
  net::HttpResponse list_messages(const std::string& principal,
                                  const std::map<std::string, std::string>& query) {
    const Result<MessageListRequest> request = parse_message_list(query);
    if (!request.is_ok()) return error_response(request.status());
    store::MessageQuery q = message_query(*request, line_ids(principal));
    const std::size_t limit = q.limit;
    ++q.limit;  // one more than asked: whether another page follows
    const Time now = driver_.now();
    Json messages = Json::array();
    Json next = nullptr;
    if (!q.lines.empty()) {
      Result<std::vector<core::MessageRecord>> found = driver_.store().list_messages(q);
      if (!found.is_ok()) return error_response(found.status());
      if (found->size() > limit) {
        found->resize(limit);
        next = encode_cursor(store::message_key(found->back()));
      }
      std::set<std::string> listed;  // on this page
      for (const core::MessageRecord& m : *found) listed.insert(m.id);
      const std::map<std::string, core::SeqSet> gaps = inbound_gaps();
      Result<Replies> replies = replies_of(*found);
      if (!replies.is_ok()) return error_response(replies.status());
      for (const core::MessageRecord& m : *found) {
        // A peer's message we refused is evidence, not mail (GET /messages/{id} shows it).
        if (m.direction == core::Direction::kInbound && m.state == core::MessageState::kRefused) {
          continue;
        }
        // A translation is shown under the message it translates when that one is listed
        // (one the peer refused is not: it stays in the outbox with its reason).
        if (m.type == catalog::kTranslationType && m.state != core::MessageState::kRefused &&
            m.reply_to && listed.count(*m.reply_to) > 0) {
          continue;
        }
        Json view =
            with_gap(message_view(m, driver_.catalog(), driver_.home().config.lang), m, gaps);
        view["time_left_ms"] = time_left_ms(m, now);
        const std::vector<core::MessageRecord>& named = (*replies)[m.id];
        view["stages"] = stages_json(core::stages_of(m, named));
        view["translations"] = translations_json(named);
        messages.push_back(std::move(view));
        if (m.direction == core::Direction::kInbound) driver_.show(principal, m.id);
      }
    }
    return json_response(
        200, {{"messages", messages}, {"next_cursor", next}, {"time", format_time(now)}});
  }

  net::HttpResponse get_message(const std::string& principal, const std::string& text) {
    Result<std::string> id = message_id(principal, text);
    if (!id.is_ok()) return error_response(id.status());
    Result<std::optional<core::MessageRecord>> found = driver_.store().get_message(*id);
    if (!found.is_ok()) return error_response(found.status());
    // A message on another principal's line is reported as unknown: its existence is
    // not this principal's business.
    if (!found->has_value() || !on_line(principal, (*found)->line)) {
      return error_response(Status::not_found("unknown message '" + text + "'"));
    }
    const core::MessageRecord& m = **found;
    const Time now = driver_.now();
    Json view =
        with_gap(message_view(m, driver_.catalog(), driver_.home().config.lang), m, inbound_gaps());
    view["time"] = format_time(now);
    view["time_left_ms"] = time_left_ms(m, now);
    view["timeline"] = message_timeline(m, now);
    view["receipt"] = nullptr;
    if (m.receipt) {
      Result<Json> r = json::parse(*m.receipt);
      if (r.is_ok()) view["receipt"] = *r;
    }
    Result<Json> envelope = json::parse(m.envelope);
    view["envelope"] = envelope.is_ok() ? *envelope : Json(nullptr);
    Result<Replies> replies = replies_of({m});
    if (!replies.is_ok()) return error_response(replies.status());
    view["stages"] = stages_json(core::stages_of(m, (*replies)[m.id]));
    view["translations"] = translations_json((*replies)[m.id]);
    if (m.direction == core::Direction::kInbound) driver_.show(principal, m.id);
    // The message's place in its sender's transcript log: for an outbound message, proven
    // in the head the peer countersigned (the receipt); for an inbound one, in the head it
    // arrived with.
    view["proof"] = nullptr;
    Result<std::optional<core::InclusionRecord>> proof = driver_.store().inclusion(m.id);
    if (!proof.is_ok()) return error_response(proof.status());
    if (proof->has_value()) {
      const core::InclusionRecord& p = **proof;
      Json path = Json::array();
      for (const crypto::Digest& h : p.proof) path.push_back(hex_encode(h));
      view["proof"] =
          Json{{"index", p.index}, {"size", p.size}, {"root", hex_encode(p.root)}, {"path", path}};
    }
    return json_response(200, view);
  }

  // GET /api/v1/messages/{id}/evidence (evidence.h): found as get_message finds it; reading
  // the evidence is not the message's stage "shown" (its body is not in it).
  net::HttpResponse evidence(const std::string& principal, const std::string& text) {
    Result<std::string> id = message_id(principal, text);
    if (!id.is_ok()) return error_response(id.status());
    Result<std::optional<core::MessageRecord>> found = driver_.store().get_message(*id);
    if (!found.is_ok()) return error_response(found.status());
    if (!found->has_value() || !on_line(principal, (*found)->line)) {
      return error_response(Status::not_found("unknown message '" + text + "'"));
    }
    return evidence_view(driver_, **found);
  }

  void ack(const std::string& principal, const std::string& text,
           const std::shared_ptr<net::Responder>& responder) {
    Result<std::string> resolved = message_id(principal, text);
    if (!resolved.is_ok()) return responder->respond(error_response(resolved.status()));
    const std::string& id = *resolved;
    // The core decides: 404 unknown, 403 not on the message's line, 409 acknowledged already
    // or not the peer's message awaiting an ack (core::PeerSession::may_acknowledge).
    driver_.acknowledge(principal, id, [responder, id](Result<core::Accepted> ack) {
      if (!ack.is_ok()) return responder->respond(error_response(ack.status()));
      responder->respond(
          json_response(200, {{"id", id}, {"ack_id", ack->message_id}, {"state", "acknowledged"}}));
    });
  }

  // POST /api/v1/messages/{id}/cancel. The store says what became of a message that is no
  // longer queued (a clear 409); whether a queued one may still be cancelled is the core's
  // decision (core::PeerSession::on_cancel: a transaction may be carrying it off right now).
  void cancel(const std::string& principal, const std::string& text,
              const std::shared_ptr<net::Responder>& responder) {
    Result<std::string> resolved = message_id(principal, text);
    if (!resolved.is_ok()) return responder->respond(error_response(resolved.status()));
    const std::string id = *resolved;
    Result<std::optional<core::MessageRecord>> stored = driver_.store().get_message(id);
    if (!stored.is_ok()) return responder->respond(error_response(stored.status()));
    const std::vector<std::string> lines = line_ids(principal);
    if (!stored->has_value() ||
        std::find(lines.begin(), lines.end(), (*stored)->line) == lines.end()) {
      return responder->respond(
          error_response(Status::not_found("no message on your lines has the id '" + id + "'")));
    }
    if (const Status settled = cancel_refusal(**stored); !settled.is_ok()) {
      return responder->respond(error_response(settled));
    }
    driver_.cancel(principal, id, [responder, id](Result<core::Accepted> accepted) {
      if (!accepted.is_ok()) return responder->respond(error_response(accepted.status()));
      responder->respond(json_response(200, {{"id", id},
                                             {"state", core::state_name(accepted->state)},
                                             {"line", accepted->line},
                                             {"seq", accepted->seq}}));
    });
  }

  // POST /api/v1/messages/{id}/disclose (disclosure.h): a message of the caller's line, to an
  // observer of that line. A message on another principal's line is unknown (404).
  void disclose(const std::string& principal, const std::string& text, const std::string& body,
                const std::shared_ptr<net::Responder>& responder) {
    const auto respond = [&](net::HttpResponse r) { responder->respond(std::move(r)); };
    Result<std::string> to = parse_disclose_request(body);
    if (!to.is_ok()) return respond(error_response(to.status()));
    Result<std::string> id = message_id(principal, text);
    if (!id.is_ok()) return respond(error_response(id.status()));
    Result<std::optional<core::MessageRecord>> found = driver_.store().get_message(*id);
    if (!found.is_ok()) return respond(error_response(found.status()));
    if (!found->has_value() || !on_line(principal, (*found)->line)) {
      return respond(error_response(Status::not_found("unknown message '" + text + "'")));
    }
    spdlog::info("disclosure: {} discloses message {} to {}", principal, *id, *to);
    driver_.disclose(**found, *to, [responder](Result<Json> answer) {
      responder->respond(answer.is_ok() ? json_response(200, *answer)
                                        : error_response(answer.status()));
    });
  }

  // Why the stored message `m` can no longer be cancelled, as a 409; OK if it is queued.
  static Status cancel_refusal(const core::MessageRecord& m) {
    if (m.direction == core::Direction::kInbound) {
      return Status::failed_precondition("message '" + m.id + "' is " + m.peer +
                                         "'s: only its sender cancels it");
    }
    if (m.state == core::MessageState::kCancelled) {
      return Status::failed_precondition(
          "message '" + m.id + "' was cancelled already, by " + m.cancelled_by.value_or("?") +
          (m.cancelled_at ? " at " + format_time(*m.cancelled_at) : std::string()));
    }
    if (m.state == core::MessageState::kExpired || m.state == core::MessageState::kRefused) {
      return Status::failed_precondition("message '" + m.id + "' is " +
                                         std::string(core::state_name(m.state)) +
                                         (m.state == core::MessageState::kExpired
                                              ? " (its expiry passed before a receipt)"
                                              : " (by the peer: " + m.refusal.value_or("?") + ")") +
                                         ": it is final already");
    }
    if (m.state != core::MessageState::kQueued && m.state != core::MessageState::kOverdue) {
      return Status::failed_precondition("message '" + m.id + "' has left: it is " +
                                         std::string(core::state_name(m.state)) +
                                         "; it cannot be cancelled");
    }
    return Status::ok();
  }

  // By message id: the messages naming it in reply_to (Store::replies_to, oldest first), from
  // which its stages (core::stages_of) and its translations are derived.
  using Replies = std::map<std::string, std::vector<core::MessageRecord>>;
  Result<Replies> replies_of(const std::vector<core::MessageRecord>& messages) {
    Replies replies;
    for (std::size_t from = 0; from < messages.size(); from += store::Store::kRepliesIdsMax) {
      std::vector<std::string> ids;
      for (std::size_t i = from; i < messages.size() && ids.size() < store::Store::kRepliesIdsMax;
           ++i) {
        ids.push_back(messages[i].id);
      }
      PARLEY_ASSIGN_OR_RETURN(std::vector<core::MessageRecord> found,
                              driver_.store().replies_to(ids));
      for (core::MessageRecord& r : found) replies[*r.reply_to].push_back(std::move(r));
    }
    return replies;
  }

  // docs/openapi.yaml MessageStages: each stage's time, null if not reached yet.
  static Json stages_json(const core::Stages& s) {
    return Json{{"stored", optional_time(s.stored)},
                {"shown", optional_time(s.shown)},
                {"acknowledged", optional_time(s.acknowledged)},
                {"answered", optional_time(s.answered)}};
  }

  // The inbound seqs of every line with a gap, by line id.
  std::map<std::string, core::SeqSet> inbound_gaps() const {
    std::map<std::string, core::SeqSet> gaps;
    for (const Driver::PeerView& p : driver_.peers()) {
      for (const core::LineGap& g : p.stats.gaps) gaps.emplace(g.line, g.seqs);
    }
    return gaps;
  }

  // An inbound message's `gap_before`: how many earlier seqs on its line have not arrived
  // (docs/protocol.md "Sequence numbers"; 0 when the line has no gap below it).
  static Json with_gap(Json view, const core::MessageRecord& m,
                       const std::map<std::string, core::SeqSet>& gaps) {
    if (m.direction != core::Direction::kInbound) return view;
    const auto g = gaps.find(m.line);
    view["gap_before"] = g == gaps.end() ? 0 : g->second.missing_below(m.seq);
    return view;
  }

  Driver& driver_;
  MeetingsApi meetings_;
  BroadcastsApi broadcasts_;
  DirectoryApi directory_;
  crypto::SystemRng session_rng_;
  Sessions sessions_;
};

}  // namespace

json::Json message_view(const core::MessageRecord& m, const catalog::Catalog& catalog,
                        const std::string& lang) {
  Result<Json> body = json::parse_object(m.content.body_json);
  return Json{{"id", m.id},
              {"line", m.line},
              {"seq", m.seq},
              {"direction", core::direction_name(m.direction)},
              {"from", m.from.to_string()},
              {"to", m.to.to_string()},
              {"precedence", wire::precedence_name(m.precedence)},
              {"type", m.type},
              {"state", core::state_name(m.state)},
              {"created", format_time(m.created)},
              {"expires", optional_time(m.expires)},
              {"reply_to", optional_string(m.reply_to)},
              {"lang", m.lang},
              {"body", body.is_ok() ? *body : Json::object()},
              {"text", m.content.text},
              {"rendered", catalog.render(m.type, m.content.body_json, m.content.text, lang)},
              {"warning", optional_string(catalog.shown_raw_because(m.type, m.content.body_json))},
              {"ack_deadline", format_time(m.ack_deadline)},
              {"delivered_at", optional_time(m.delivered_at)},
              {"acknowledged_at", optional_time(m.acknowledged_at)},
              {"acknowledged_by", optional_string(m.acknowledged_by)},
              {"ack_id", optional_string(m.ack_id)},
              {"refusal", optional_string(m.refusal)},
              {"cancelled_at", optional_time(m.cancelled_at)},
              {"cancelled_by", optional_string(m.cancelled_by)}};
}

namespace {

// Every API answer tells the browser not to guess its type (a JSON error is never run as a
// script or shown as a page); the console's own answers add their policy (console.h).
class NoSniffResponder final : public net::Responder {
 public:
  explicit NoSniffResponder(std::shared_ptr<net::Responder> inner) : inner_(std::move(inner)) {}
  void respond(net::HttpResponse response) override {
    response.headers.emplace("X-Content-Type-Options", "nosniff");
    inner_->respond(std::move(response));
  }
  std::shared_ptr<net::EventStream> stream() override { return inner_->stream(); }

 private:
  std::shared_ptr<net::Responder> inner_;
};

}  // namespace

net::Handler make_api_handler(Driver& driver) {
  auto api = std::make_shared<Api>(driver);
  return [api](net::HttpRequest request, std::shared_ptr<net::Responder> responder) {
    api->handle(std::move(request), std::make_shared<NoSniffResponder>(std::move(responder)));
  };
}

}  // namespace parley::gateway
