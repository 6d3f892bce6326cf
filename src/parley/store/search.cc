#include "parley/store/search.h"

#include <algorithm>
#include <cstdint>

#include "parley/base/json.h"

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

// One UTF-8 character of `text` at `pos`: its code point and length (a malformed byte
// counts as one character of its own value).
std::pair<std::uint32_t, std::size_t> decode(std::string_view text, std::size_t pos) {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char b = byte(pos);
  std::size_t n = 0;
  std::uint32_t cp = 0;
  if (b < 0x80) return {b, 1};
  if ((b & 0xE0) == 0xC0) {
    n = 2;
    cp = b & 0x1Fu;
  } else if ((b & 0xF0) == 0xE0) {
    n = 3;
    cp = b & 0x0Fu;
  } else if ((b & 0xF8) == 0xF0) {
    n = 4;
    cp = b & 0x07u;
  } else {
    return {b, 1};
  }
  if (pos + n > text.size()) return {b, 1};
  for (std::size_t i = 1; i < n; ++i) {
    if ((byte(pos + i) & 0xC0) != 0x80) return {b, 1};
    cp = (cp << 6) | (byte(pos + i) & 0x3Fu);
  }
  return {cp, n};
}

void encode(std::uint32_t cp, std::string& out) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
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
      encode(to_lower(cp), word);
    } else if (!word.empty()) {
      words.push_back(std::move(word));
      word.clear();
    }
  }
  if (!word.empty()) words.push_back(std::move(word));
  return words;
}

bool matches_search(std::string_view text, const std::vector<std::string>& words) {
  const std::vector<std::string> have = search_words(text);
  return std::all_of(words.begin(), words.end(), [&have](const std::string& w) {
    return std::find(have.begin(), have.end(), w) != have.end();
  });
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
