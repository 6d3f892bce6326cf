#include "parley/gateway/requests.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <sstream>
#include <system_error>

#include "parley/base/bytes.h"
#include "parley/base/json.h"
#include "parley/base/text.h"
#include "parley/store/search.h"

namespace parley::gateway {
namespace {

// `text` with %XX decoded and '+' as a space; a malformed escape is kept as it is.
std::string percent_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '+') {
      out += ' ';
    } else if (text[i] == '%' && i + 2 < text.size() &&
               std::isxdigit(static_cast<unsigned char>(text[i + 1])) &&
               std::isxdigit(static_cast<unsigned char>(text[i + 2]))) {
      const auto digit = [](char c) {
        return std::isdigit(static_cast<unsigned char>(c))
                   ? c - '0'
                   : std::tolower(static_cast<unsigned char>(c)) - 'a' + 10;
      };
      out += static_cast<char>(digit(text[i + 1]) * 16 + digit(text[i + 2]));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

}  // namespace

Target split_target(std::string_view target) {
  Target out;
  const std::size_t q = target.find('?');
  out.path = std::string(target.substr(0, q));
  if (q == std::string_view::npos) return out;
  const std::string_view rest = target.substr(q + 1);
  std::size_t pos = 0;
  while (pos <= rest.size()) {
    std::size_t amp = rest.find('&', pos);
    if (amp == std::string_view::npos) amp = rest.size();
    const std::string_view pair = rest.substr(pos, amp - pos);
    const std::size_t eq = pair.find('=');
    if (!pair.empty()) {
      out.query[percent_decode(pair.substr(0, eq))] =
          eq == std::string_view::npos ? "" : percent_decode(pair.substr(eq + 1));
    }
    pos = amp + 1;
  }
  return out;
}

namespace {

// The fields of a message but its line (MessageRequest), from `j`, whose keys were checked.
Result<MessageRequest> message_fields(const json::Json& j) {
  MessageRequest m;
  PARLEY_ASSIGN_OR_RETURN(std::optional<std::string> precedence,
                          json::get_optional_string(j, "precedence"));
  if (precedence) {
    PARLEY_ASSIGN_OR_RETURN(m.precedence, wire::parse_precedence(*precedence));
  }
  PARLEY_ASSIGN_OR_RETURN(std::optional<std::string> type, json::get_optional_string(j, "type"));
  if (type) m.type = *type;
  if (j.contains("body") && !j["body"].is_null()) {
    if (!j["body"].is_object()) {
      return Status::invalid_argument("field 'body': expected a JSON object");
    }
    m.content.body_json = json::dump(j["body"]);
  }
  PARLEY_ASSIGN_OR_RETURN(std::optional<std::string> text, json::get_optional_string(j, "text"));
  if (text) m.content.text = *text;
  PARLEY_ASSIGN_OR_RETURN(m.reply_to, json::get_optional_string(j, "reply_to"));
  PARLEY_ASSIGN_OR_RETURN(std::optional<std::string> expires,
                          json::get_optional_string(j, "expires"));
  if (expires) {
    PARLEY_ASSIGN_OR_RETURN(Time t, parse_time(*expires));
    m.expires = t;
  }
  const bool blank = m.content.text.find_first_not_of(" \t\r\n") == std::string::npos;
  if (blank && (m.content.body_json.empty() || m.content.body_json == "{}")) {
    return Status::invalid_argument(
        "an empty message: give it a text (field 'text', parley send --text) or a body "
        "(field 'body', parley send --body)");
  }
  return m;
}

}  // namespace

Result<MessageRequest> parse_message_request(std::string_view body) {
  PARLEY_ASSIGN_OR_RETURN(json::Json j, json::parse_object(body));
  PARLEY_RETURN_IF_ERROR(
      json::check_keys(j, {"line", "precedence", "type", "body", "text", "reply_to", "expires"}));
  PARLEY_ASSIGN_OR_RETURN(std::string line, json::get_string(j, "line"));
  PARLEY_ASSIGN_OR_RETURN(MessageRequest m, message_fields(j));
  m.line = std::move(line);
  return m;
}

Result<BroadcastRequest> parse_broadcast_request(std::string_view body) {
  PARLEY_ASSIGN_OR_RETURN(json::Json j, json::parse_object(body));
  PARLEY_RETURN_IF_ERROR(
      json::check_keys(j, {"lines", "precedence", "type", "body", "text", "expires"}));
  BroadcastRequest b;
  if (!j.contains("lines") || !j["lines"].is_array()) {
    return Status::invalid_argument("field 'lines': expected an array of line ids");
  }
  for (const json::Json& line : j["lines"]) {
    if (!line.is_string() || line.get<std::string>().empty()) {
      return Status::invalid_argument("field 'lines': expected non-empty strings (line ids)");
    }
    const std::string id = line.get<std::string>();
    if (std::find(b.lines.begin(), b.lines.end(), id) != b.lines.end()) {
      return Status::invalid_argument("field 'lines': line '" + id + "' is named twice");
    }
    b.lines.push_back(id);
    if (b.lines.size() > kBroadcastLinesMax) break;
  }
  if (b.lines.size() < 2 || b.lines.size() > kBroadcastLinesMax) {
    return Status::invalid_argument("field 'lines': a broadcast goes on 2 to " +
                                    std::to_string(kBroadcastLinesMax) +
                                    " lines (POST /api/v1/messages sends on one)");
  }
  PARLEY_ASSIGN_OR_RETURN(b.message, message_fields(j));
  if (b.message.type.rfind("meeting.", 0) == 0) {
    return Status::invalid_argument("field 'type': a meeting step (" + b.message.type +
                                    ") goes on one line, not in a broadcast");
  }
  return b;
}

std::optional<std::string> broadcast_path_id(std::string_view path) {
  constexpr std::string_view kPrefix = "/api/v1/broadcasts/";
  if (!path.starts_with(kPrefix)) return std::nullopt;
  const std::string_view id = path.substr(kPrefix.size());
  if (id.empty() || id.find('/') != std::string_view::npos) return std::nullopt;
  return std::string(id);
}

std::string join_target(std::string path, const std::map<std::string, std::string>& query) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  const auto escape = [&path](const std::string& text) {
    for (const char c : text) {
      const auto u = static_cast<unsigned char>(c);
      if (std::isalnum(u) || c == '-' || c == '.' || c == '_' || c == '~') {
        path += c;
      } else {
        path += '%';
        path += kHex[u >> 4];
        path += kHex[u & 0xF];
      }
    }
  };
  char separator = '?';
  for (const auto& [name, value] : query) {
    path += separator;
    escape(name);
    path += '=';
    escape(value);
    separator = '&';
  }
  return path;
}

std::string encode_message_request(const MessageRequest& request) {
  json::Json j = json::Json::object();
  j["line"] = request.line;
  j["precedence"] = std::string(wire::precedence_name(request.precedence));
  j["type"] = request.type;
  Result<json::Json> body = json::parse_object(request.content.body_json);
  j["body"] = body.is_ok() ? *body : json::Json::object();
  j["text"] = request.content.text;
  if (request.reply_to) j["reply_to"] = *request.reply_to;
  if (request.expires) j["expires"] = format_time(*request.expires);
  return json::dump(j);
}

namespace {

Result<std::size_t> parse_limit(const std::string& text) {
  std::size_t n = 0;
  const auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || p != text.data() + text.size() || n == 0 || n > kListLimitMax) {
    return Status::invalid_argument("limit must be an integer from 1 to 10000, not '" + text + "'");
  }
  return n;
}

Result<wire::Address> parse_from(const std::string& text) {
  const std::size_t slash = text.find('/');
  wire::Address a{text.substr(0, slash),
                  slash == std::string::npos ? std::string() : text.substr(slash + 1)};
  if (a.party.empty() || (slash != std::string::npos && a.principal.empty()) ||
      a.principal.find('/') != std::string::npos) {
    return Status::invalid_argument("from must be PARTY or PARTY/PRINCIPAL, not '" + text + "'");
  }
  return a;
}

// Reads one parameter of the listing into `out`.
Status read_list_parameter(const std::string& name, const std::string& value,
                           MessageListRequest& out) {
  const auto in = [&name](Status s) { return s.with_context("parameter '" + name + "'"); };
  if (name == "box") {
    if (value != "inbox" && value != "outbox") {
      return Status::invalid_argument("box must be 'inbox' or 'outbox', not '" + value + "'");
    }
    out.outbox = value == "outbox";
  } else if (name == "limit") {
    PARLEY_ASSIGN_OR_RETURN(out.limit, parse_limit(value));
  } else if (name == "line" || name == "type") {
    if (value.empty()) return Status::invalid_argument(name + " must not be empty");
    (name == "line" ? out.line : out.type) = value;
  } else if (name == "precedence") {
    Result<wire::Precedence> p = wire::parse_precedence(value);
    if (!p.is_ok()) return in(p.status());
    out.precedence = *p;
  } else if (name == "state") {
    Result<core::MessageState> s = core::parse_state(value);
    if (!s.is_ok()) return in(s.status());
    out.state = *s;
  } else if (name == "from") {
    PARLEY_ASSIGN_OR_RETURN(out.from, parse_from(value));
  } else if (name == "since" || name == "until") {
    Result<Time> t = parse_time(value);
    if (!t.is_ok()) return in(t.status());
    (name == "since" ? out.since : out.until) = *t;
  } else if (name == "search") {
    out.words = store::search_words(value);
    if (out.words.empty()) {
      return Status::invalid_argument("search must hold at least one word (letters or digits)");
    }
  } else if (name == "cursor") {
    Result<store::MessageKey> key = parse_cursor(value);
    if (!key.is_ok()) return in(key.status());
    out.cursor = *key;
  } else {
    return Status::invalid_argument(
        "unknown parameter '" + name +
        "' (box, limit, line, precedence, type, state, from, since, until, search, cursor)");
  }
  return Status::ok();
}

}  // namespace

Result<MessageListRequest> parse_message_list(const std::map<std::string, std::string>& query) {
  MessageListRequest out;
  for (const auto& [name, value] : query) {
    PARLEY_RETURN_IF_ERROR(read_list_parameter(name, value, out));
  }
  if (out.since && out.until && *out.since >= *out.until) {
    return Status::invalid_argument("since must be before until");
  }
  return out;
}

store::MessageQuery message_query(const MessageListRequest& request,
                                  const std::vector<std::string>& lines) {
  store::MessageQuery q;
  q.direction = request.outbox ? core::Direction::kOutbound : core::Direction::kInbound;
  q.order = store::MessageOrder::kPrecedence;
  if (request.limit) q.limit = *request.limit;
  q.lines = lines;
  if (request.line) {
    // Only a line of the caller's: another line gives nothing, as if it had no messages.
    const bool mine = std::find(lines.begin(), lines.end(), *request.line) != lines.end();
    q.lines = {mine ? *request.line : std::string()};
  }
  if (request.type) q.types = {*request.type};
  // The protocol's own entries (acks, evidence, stages: core::is_protocol_type) are shown
  // only when asked for by type.
  q.include_acks = request.type && core::is_protocol_type(*request.type);
  q.precedence = request.precedence;
  q.state = request.state;
  // A peer's message we refused is evidence, not mail (GET /messages/{id} shows it).
  q.include_refused_inbound = request.outbox;
  q.from = request.from;
  q.since = request.since;
  q.until = request.until;
  q.words = request.words;
  q.after = request.cursor;
  return q;
}

std::string encode_cursor(const store::MessageKey& key) {
  const std::string text = "v1 " + std::to_string(store::precedence_rank(key.precedence)) + " " +
                           std::to_string(unix_ms(key.created)) + " " + std::to_string(key.seq) +
                           " " + key.id;
  return hex_encode(as_bytes(text));
}

Result<store::MessageKey> parse_cursor(std::string_view text) {
  const Status bad = Status::invalid_argument("not a cursor of this server ('" +
                                              std::string(text.substr(0, 80)) + "')");
  Result<Bytes> raw = hex_decode(text);
  if (!raw.is_ok()) return bad;
  std::istringstream in(std::string(raw->begin(), raw->end()));
  std::string version;
  int rank = -1;
  std::int64_t created = 0;
  std::uint64_t seq = 0;
  store::MessageKey key;
  if (!(in >> version >> rank >> created >> seq >> key.id) || version != "v1" || rank < 0 ||
      rank > 3 || !in.eof()) {
    return bad;
  }
  key.precedence = static_cast<wire::Precedence>(rank);
  key.created = time_from_unix_ms(created);
  key.seq = seq;
  return key;
}

Result<std::string> parse_id_or_prefix(std::string_view text) {
  std::string id;
  std::size_t hex = 0;
  for (const char c : text) {
    const char lower = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (std::isxdigit(static_cast<unsigned char>(c))) {
      ++hex;
    } else if (c != '-') {
      hex = 0;
      break;
    }
    id += lower;
  }
  if (hex < kIdPrefixMin) {
    return Status::invalid_argument(single_quoted(text.substr(0, 80)) +
                                    " is not a message id nor a prefix of one (at least " +
                                    std::to_string(kIdPrefixMin) + " hex digits)");
  }
  return id;
}

namespace {

// The id of "<id><suffix>" with a non-empty id holding no '/', or nullopt.
std::optional<std::string> id_before(std::string_view rest, std::string_view suffix) {
  if (rest.size() <= suffix.size() || !rest.ends_with(suffix)) return std::nullopt;
  const std::string_view id = rest.substr(0, rest.size() - suffix.size());
  if (id.find('/') != std::string_view::npos) return std::nullopt;
  return std::string(id);
}

}  // namespace

std::optional<std::string> ack_message_id(std::string_view rest) {
  constexpr std::string_view kAck = "/ack";
  if (rest.size() <= kAck.size() || !rest.ends_with(kAck)) return std::nullopt;
  return std::string(rest.substr(0, rest.size() - kAck.size()));
}

std::optional<std::string> evidence_message_id(std::string_view rest) {
  return id_before(rest, "/evidence");
}

std::optional<std::string> cancel_message_id(std::string_view rest) {
  return id_before(rest, "/cancel");
}

std::optional<std::string> disclose_message_id(std::string_view rest) {
  return id_before(rest, "/disclose");
}

Result<std::string> parse_disclose_request(std::string_view body) {
  PARLEY_ASSIGN_OR_RETURN(const json::Json o, json::parse_object(body));
  PARLEY_RETURN_IF_ERROR(json::check_keys(o, {"to"}));
  PARLEY_ASSIGN_OR_RETURN(std::string to, json::get_string(o, "to"));
  if (!wire::is_valid_id(to)) {
    return Status::invalid_argument("to: '" + to.substr(0, 64) + "' is not a party id");
  }
  return to;
}

}  // namespace parley::gateway
