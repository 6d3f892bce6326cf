// search: what full-text search over messages means, in one place for every store. The
// searchable text of a message is what this gateway can read of it (its free text and the
// string values of its structured body); a search is a few words, each of which must occur
// in it as a whole word, case-insensitively. SQLite (FTS5, tokenizer unicode61), PostgreSQL
// (to_tsvector/plainto_tsquery, configuration 'simple') and the memory store (here) agree on
// that for words of letters and digits. Pure.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "parley/wire/wire.h"

namespace parley::store {

// The text a message is found by: `content.text`, then every string value of the body
// (depth first, in document order), separated by spaces. A body that is not JSON adds
// nothing.
std::string searchable_text(const wire::Content& content);

// The words of `text`: runs of ASCII letters and digits and of non-ASCII characters (UTF-8
// bytes >= 0x80), lower-cased (ASCII, Latin-1 letters and Cyrillic). Everything else
// separates words.
std::vector<std::string> search_words(std::string_view text);

// `words` as an FTS5 query: each word a quoted string, all of them required.
std::string fts5_query(const std::vector<std::string>& words);

}  // namespace parley::store
