// Text from outside shown to a human: an exported transcript, a peer's bundle or a parse error
// that quotes them can hold terminal escape sequences (ESC [ ... that move the cursor, recolour
// or retitle the terminal), other control characters, bidirectional overrides that reorder what
// is shown, and bytes that are not UTF-8. Printed raw, a hostile file could make a report read
// differently from what it says; printed escaped, every byte is visible and unambiguous.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace parley {

// `text` made safe for one line of a terminal: valid UTF-8 with no control characters. Kept
// as is: printable ASCII and well-formed UTF-8 sequences of printable characters. Escaped:
// a backslash as "\\"; C0 controls (newline included) and DEL as "\xNN"; each byte that is
// not part of a well-formed UTF-8 sequence (RFC 3629: no overlong forms, no surrogates,
// nothing above U+10FFFF) as "\xNN"; C1 controls (U+0080..U+009F), line and paragraph
// separators (U+2028, U+2029) and bidirectional marks, embeddings, overrides and isolates
// (U+200E, U+200F, U+202A..U+202E, U+2066..U+2069) as "\uNNNN". The result never holds a
// raw byte below 0x20 or 0x7f.
std::string escape_for_terminal(std::string_view text);

// The length of the well-formed multi-byte UTF-8 sequence starting at `text[i]` (RFC 3629
// §4, Table 3-7 of the Unicode standard: no overlong forms, no surrogates, nothing above
// U+10FFFF), and its code point; 0 if there is none there (ASCII included: one byte, below
// 0x80, is its own code point).
std::size_t utf8_sequence(std::string_view text, std::size_t i, std::uint32_t& code_point);

// Appends the UTF-8 encoding of `code_point` (at most U+10FFFF) to `out`.
void append_utf8(std::string& out, std::uint32_t code_point);

// `s` between single quotes, as error messages name a value: single_quoted("x") is "'x'".
std::string single_quoted(std::string_view s);

}  // namespace parley
