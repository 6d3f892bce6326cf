#include "parley/store/search.h"

#include <cstdint>
#include <utility>

#include "parley/base/json.h"
#include "parley/base/text.h"

namespace parley::store {
namespace {

void append_strings(const json::Json& j, std::string& out) {
  if (j.is_string()) {
    out += ' ';
    out += j.get<std::string>();
  } else if (j.is_object() || j.is_array()) {
    for (const json::Json& item : j) append_strings(item, out);
  }
}

// One character of `text` at `pos`: its code point and length (base/text.h utf8_sequence; a
// byte of no well-formed sequence counts as one character of its own value).
std::pair<std::uint32_t, std::size_t> decode(std::string_view text, std::size_t pos) {
  const auto b = static_cast<unsigned char>(text[pos]);
  std::uint32_t cp = b;
  if (b < 0x80) return {cp, 1};
  const std::size_t n = utf8_sequence(text, pos, cp);
  return n == 0 ? std::pair<std::uint32_t, std::size_t>{b, 1} : std::pair{cp, n};
}

// Part of a word: ASCII letters and digits, and any other character but the punctuation
// and spaces of Latin-1, General Punctuation and CJK punctuation (FTS5's unicode61 also
// separates words there: quotes such as « », dashes such as —).
bool is_word_char(std::uint32_t cp) {
  if (cp < 0x80) {
    return (cp >= '0' && cp <= '9') || (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z');
  }
  if (cp <= 0xBF || cp == 0xD7 || cp == 0xF7) return false;
  if (cp >= 0x2000 && cp <= 0x206F) return false;
  return cp < 0x3000 || cp > 0x303F;
}

std::uint32_t to_lower(std::uint32_t cp) {
  if (cp >= 'A' && cp <= 'Z') return cp + 0x20;
  if (cp >= 0xC0 && cp <= 0xDE && cp != 0xD7) return cp + 0x20;  // Latin-1
  if (cp >= 0x410 && cp <= 0x42F) return cp + 0x20;              // Cyrillic А..Я
  if (cp >= 0x400 && cp <= 0x40F) return cp + 0x50;              // Cyrillic Ѐ..Џ (Ё)
  return cp;
}

}  // namespace

std::string searchable_text(const wire::Content& content) {
  std::string out = content.text;
  Result<json::Json> body = json::parse(content.body_json);
  if (body.is_ok()) append_strings(*body, out);
  return out;
}

std::vector<std::string> search_words(std::string_view text) {
  std::vector<std::string> words;
  std::string word;
  for (std::size_t pos = 0; pos < text.size();) {
    const auto [cp, n] = decode(text, pos);
    pos += n;
    if (is_word_char(cp)) {
      append_utf8(word, to_lower(cp));
    } else if (!word.empty()) {
      words.push_back(std::move(word));
      word.clear();
    }
  }
  if (!word.empty()) words.push_back(std::move(word));
  return words;
}

std::string fts5_query(const std::vector<std::string>& words) {
  std::string out;
  for (const std::string& w : words) {
    if (!out.empty()) out += ' ';
    out += '"';
    // Words hold no '"' (search_words splits there); doubling keeps the query well formed
    // whatever it is given.
    for (const char c : w) out += c == '"' ? std::string("\"\"") : std::string(1, c);
    out += '"';
  }
  return out;
}

}  // namespace parley::store
