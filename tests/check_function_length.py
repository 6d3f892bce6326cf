#!/usr/bin/env python3
"""Fails if a function defined in the given .cc files is longer than a limit (in lines).

A brace-matching heuristic, not a parser: string and character literals and comments are
blanked out, `namespace ... {` blocks do not count as nesting, and every other block that
opens at namespace level is a definition (functions, and also the rare class or table at
namespace level) whose length runs from the first line of its signature to its closing brace.
Usage: check_function_length.py LIMIT DIR (every DIR/*.cc but the *_test.cc files)
"""
import glob
import os
import re
import sys


def blank_literals(text):
    """Replaces comments and string/char literal contents with spaces, keeping newlines."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith('//', i):
            j = text.find('\n', i)
            j = n if j < 0 else j
            out.append(' ' * (j - i))
            i = j
        elif text.startswith('/*', i):
            j = text.find('*/', i + 2)
            j = n if j < 0 else j + 2
            out.append(re.sub(r'[^\n]', ' ', text[i:j]))
            i = j
        elif c == 'R' and text.startswith('R"', i):
            m = re.match(r'R"([^(]*)\(', text[i:])
            end = text.find(')' + m.group(1) + '"', i) if m else -1
            j = n if end < 0 else end + len(m.group(1)) + 2
            out.append('""' + re.sub(r'[^\n]', ' ', text[i + 2:j]))
            i = j
        elif c in '"\'':
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == '\\' else 1
            out.append(c + ' ' * (j - i - 1) + c)
            i = j + 1
        else:
            out.append(c)
            i += 1
    return ''.join(out)


def long_functions(path, limit):
    lines = blank_literals(open(path, encoding='utf-8').read()).split('\n')
    found = []
    depth = 0            # braces open inside the current definition
    start = None         # line index where the current definition's signature starts
    sig_start = None     # first line of the statement being read at namespace level
    for number, line in enumerate(lines):
        stripped = line.strip()
        if depth == 0:
            if sig_start is None and stripped and not stripped.startswith('#'):
                sig_start = number
            if re.match(r'(inline\s+)?namespace\b[^{;]*\{', stripped) or stripped == '}':
                sig_start = None  # a namespace opens or closes: no nesting counted
                continue
        for c in line:
            if c == '{':
                if depth == 0:
                    start = sig_start if sig_start is not None else number
                depth += 1
            elif c == '}' and depth > 0:
                depth -= 1
                if depth == 0:
                    length = number - start + 1
                    if length > limit:
                        found.append((start + 1, length, lines[start].strip()[:70]))
                    sig_start = None
        if depth == 0 and stripped.endswith(';'):
            sig_start = None
    return found


def main():
    limit = int(sys.argv[1])
    bad = []
    paths = sorted(p for p in glob.glob(os.path.join(sys.argv[2], '*.cc'))
                   if not p.endswith('_test.cc'))
    for path in paths:
        for line, length, text in long_functions(path, limit):
            bad.append(f'{path}:{line}: {length} lines (limit {limit}): {text}')
    for b in bad:
        print(b)
    print(f'{len(paths)} files, {len(bad)} definitions over {limit} lines')
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
