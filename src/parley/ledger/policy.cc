#include "parley/ledger/policy.h"

#include <algorithm>
#include <charconv>
#include <map>
#include <optional>
#include <utility>

namespace parley::ledger {
namespace {

constexpr std::string_view kNone = "none";

// The items of one line, split on runs of spaces and tabs.
std::vector<std::string_view> items_of(std::string_view line) {
  std::vector<std::string_view> items;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    std::size_t end = i;
    while (end < line.size() && line[end] != ' ' && line[end] != '\t') ++end;
    if (end > i) items.push_back(line.substr(i, end - i));
    i = end;
  }
  return items;
}

bool allowed_octet(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u == '\t' || u == '\n' || (u >= 0x20 && u != 0x7F);
}

class Parser {
 public:
  Status line(std::size_t number, std::string_view text) {
    const std::vector<std::string_view> items = items_of(text);
    if (items.empty() || items[0].front() == '#') return Status::ok();
    const auto bad = [&](const std::string& why) {
      return Status::invalid_argument("policy line " + std::to_string(number) + ": " + why);
    };
    const std::string_view keyword = items[0];
    if (keyword == "log") {
      if (items.size() < 2 || items.size() > 3) return bad("expected \"log <vkey> [<url>]\"");
      PARLEY_ASSIGN_OR_RETURN(NoteVerifier key, vkey(items[1], kNoteKeyEd25519, bad));
      policy_.logs.push_back(std::move(key));
      return Status::ok();
    }
    if (keyword == "witness") {
      if (items.size() < 3 || items.size() > 4) {
        return bad("expected \"witness <name> <vkey> [<url>]\"");
      }
      PARLEY_RETURN_IF_ERROR(new_name(items[1], bad));
      PARLEY_ASSIGN_OR_RETURN(NoteVerifier key, vkey(items[2], kNoteKeyCosignature, bad));
      policy_.witnesses.push_back({std::string(items[1]), std::move(key)});
      defined_[std::string(items[1])] = 0;
      return Status::ok();
    }
    if (keyword == "group") return group(items, bad);
    if (keyword == "quorum") {
      if (items.size() != 2) return bad("expected \"quorum <name>\"");
      if (quorum_seen_) return bad("a second quorum line");
      if (items[1] != kNone && defined_.count(std::string(items[1])) == 0) {
        return bad("quorum names '" + std::string(items[1]) + "', not defined before");
      }
      quorum_seen_ = true;
      policy_.quorum = std::string(items[1]);
      return Status::ok();
    }
    return bad("unknown keyword '" + std::string(keyword) + "'");
  }

  Result<Policy> finish() {
    if (!quorum_seen_) return Status::invalid_argument("policy: no quorum line");
    return std::move(policy_);
  }

 private:
  template <typename Bad>
  Status new_name(std::string_view name, const Bad& bad) {
    if (name == kNone) return bad("'none' is predefined");
    // Appended, not "'" + std::string(name) + ...: GCC 12 -O3 warns (-Wrestrict, a false positive).
    if (defined_.count(std::string(name)) > 0)
      return bad(std::string("'").append(name) + "' twice");
    return Status::ok();
  }

  template <typename Bad>
  Result<NoteVerifier> vkey(std::string_view text, std::uint8_t type, const Bad& bad) {
    Result<NoteVerifier> key = parse_verifier_key(text);
    if (!key.is_ok()) return bad(key.status().message());
    if (key->type != type) {
      return bad(type == kNoteKeyEd25519 ? "a log key must be of type 0x01 (Ed25519)"
                                         : "a witness key must be of type 0x04 (cosignature)");
    }
    // tlog-policy: two vkeys of one public key are duplicates, whatever their names.
    const auto same = [&](const NoteVerifier& k) { return k.key == key->key; };
    if (std::any_of(policy_.logs.begin(), policy_.logs.end(), same) ||
        std::any_of(policy_.witnesses.begin(), policy_.witnesses.end(),
                    [&](const Policy::Witness& w) { return same(w.key); })) {
      return bad("a duplicate key");
    }
    return key;
  }

  template <typename Bad>
  Status group(const std::vector<std::string_view>& items, const Bad& bad) {
    if (items.size() < 4) return bad("expected \"group <name> all|any|<k> <member>...\"");
    PARLEY_RETURN_IF_ERROR(new_name(items[1], bad));
    Policy::Group g;
    g.name = std::string(items[1]);
    for (std::size_t i = 3; i < items.size(); ++i) {
      const std::string member(items[i]);
      if (member == kNone) return bad("'none' cannot be a member");
      if (defined_.count(member) == 0) return bad("'" + member + "' is not defined before");
      if (std::find(g.members.begin(), g.members.end(), member) != g.members.end()) {
        return bad("'" + member + "' listed twice");
      }
      g.members.push_back(member);
    }
    const std::string_view k = items[2];
    if (k == "all") {
      g.threshold = g.members.size();
    } else if (k == "any") {
      g.threshold = 1;
    } else {
      std::size_t n = 0;
      const auto [end, ec] = std::from_chars(k.data(), k.data() + k.size(), n);
      if (ec != std::errc() || end != k.data() + k.size() || k.front() == '0' || n < 1 ||
          n > g.members.size()) {
        return bad("the threshold must be all, any or 1 to the number of members");
      }
      g.threshold = n;
    }
    defined_[g.name] = 1;
    policy_.groups.push_back(std::move(g));
    return Status::ok();
  }

  Policy policy_;
  std::map<std::string, int> defined_;  // witnesses (0) and groups (1)
  bool quorum_seen_ = false;
};

// Whether `sig` is a valid signature by `key` over the note's text (cosignature or not).
bool signed_by(const SignedNote& note, const NoteVerifier& key) {
  const std::uint32_t id = key.id();
  for (const NoteSignature& sig : note.sigs) {
    if (sig.name != key.name || sig.id != id) continue;
    if (key.type == kNoteKeyCosignature) {
      if (verify_cosignature(sig, note.text, key).is_ok()) return true;
      continue;
    }
    SignedNote one{note.text, {sig}};
    if (verify_note(one, {key}).is_ok()) return true;
  }
  return false;
}

}  // namespace

Result<Policy> parse_policy(std::string_view text) {
  if (text.size() > kPolicyBytesMax) return Status::invalid_argument("policy: file too large");
  if (!std::all_of(text.begin(), text.end(), allowed_octet)) {
    return Status::invalid_argument("policy: a control character other than tab or newline");
  }
  Parser parser;
  std::size_t number = 1;
  while (!text.empty()) {
    const std::size_t end = text.find('\n');
    const std::string_view line = text.substr(0, end);
    PARLEY_RETURN_IF_ERROR(parser.line(number++, line));
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 1);
  }
  return parser.finish();
}

Status check_policy(const Policy& policy, const SignedNote& note) {
  if (!policy.logs.empty() &&
      std::none_of(policy.logs.begin(), policy.logs.end(),
                   [&](const NoteVerifier& log) { return signed_by(note, log); })) {
    return Status::failed_precondition("policy: not signed by any of its logs");
  }
  if (policy.quorum == kNone) return Status::ok();
  std::map<std::string, bool, std::less<>> witnessed;
  for (const Policy::Witness& w : policy.witnesses) witnessed[w.name] = signed_by(note, w.key);
  // Groups only name what came before them: one pass in order decides each.
  for (const Policy::Group& g : policy.groups) {
    const auto count = static_cast<std::size_t>(std::count_if(
        g.members.begin(), g.members.end(), [&](const std::string& m) { return witnessed[m]; }));
    witnessed[g.name] = count >= g.threshold;
  }
  if (witnessed[policy.quorum]) return Status::ok();
  std::string missing;
  for (const Policy::Witness& w : policy.witnesses) {
    if (!witnessed[w.name]) missing += (missing.empty() ? "" : ", ") + w.name;
  }
  return Status::failed_precondition(
      "policy: the quorum '" + policy.quorum + "' is not met (no valid cosignature by " +
      (missing.empty() ? std::string("enough witnesses") : missing) + ")");
}

}  // namespace parley::ledger
