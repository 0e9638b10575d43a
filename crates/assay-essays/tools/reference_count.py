#!/usr/bin/env python3
"""Independent reference word count for assay's essays policy.

Reads the UTF-8 text files named on the command line and prints one JSON object:
{"counts": {path: words}, "unsupported": {path: reason}}.

It implements the policy in crates/assay-essays/src/count.rs without sharing code with it:
- white-space tokens; a token that is a URL or an e-mail address (after trimming surrounding
  punctuation) is one word;
- other tokens are split at Unicode default word boundaries (UAX #29) by the `regex` module's
  WORD flag; a segment counts when it holds a letter or a digit;
- segments joined by exactly one hyphen (-, U+2010, U+2011) are one word.
Text in scripts written without spaces (Han, kana, Thai, Lao, Khmer, Myanmar) needs a dictionary
segmenter: with PyICU installed it is used; without it such a file is reported as unsupported.

Requires: pip install regex   (optional: PyICU)
"""
import json
import sys

import regex

try:  # optional
    import icu  # type: ignore
except ImportError:  # pragma: no cover
    icu = None

BOUNDARY = regex.compile(r"\b", flags=regex.V1 | regex.WORD)
URL = regex.compile(r"^(?:[A-Za-z][A-Za-z0-9+.\-]{0,15}://.*[^\W_].*|[Ww][Ww][Ww]\..*\..*)$", flags=regex.S)
EMAIL = regex.compile(r"^[\w.%+\-]+@[\w\-]+(?:\.[\w\-]+)*\.\p{L}+$")
TRIM = "()[]<>{}\"',.;:!?`*_\u201c\u201d\u2018\u2019\u00ab\u00bb"
HYPHENS = {"-", "\u2010", "\u2011"}
DICT_SCRIPT = regex.compile(r"[\p{Han}\p{Hiragana}\p{Katakana}\p{Thai}\p{Lao}\p{Khmer}\p{Myanmar}\u30fc]+")


def wordlike(seg):
    return any(ch.isalnum() for ch in seg)


def count_plain(run):
    n = 0
    state = "none"  # none | word | word-hyphen
    for seg in BOUNDARY.split(run):
        if not seg:
            continue
        if wordlike(seg):
            if state != "word-hyphen":
                n += 1
            state = "word"
        elif state == "word" and seg in HYPHENS:
            state = "word-hyphen"
        else:
            state = "none"
    return n


def count_dictionary(run):
    if icu is None:
        raise LookupError("text in a script without spaces needs PyICU")
    bi = icu.BreakIterator.createWordInstance(icu.Locale.getRoot())
    bi.setText(run)
    n = 0
    start = bi.first()
    for end in bi:
        if wordlike(run[start:end]):
            n += 1
        start = end
    return n


def count_token(tok):
    core = tok.strip(TRIM)
    if URL.match(core) or EMAIL.match(core):
        return 1
    n = 0
    pos = 0
    for m in DICT_SCRIPT.finditer(tok):
        n += count_plain(tok[pos:m.start()])
        n += count_dictionary(m.group(0))
        pos = m.end()
    return n + count_plain(tok[pos:])


def count(text):
    return sum(count_token(t) for t in text.split())


def main(paths):
    out = {"counts": {}, "unsupported": {}}
    for p in paths:
        with open(p, encoding="utf-8") as f:
            text = f.read()
        try:
            out["counts"][p] = count(text)
        except LookupError as e:
            out["unsupported"][p] = str(e)
    json.dump(out, sys.stdout, ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main(sys.argv[1:])
