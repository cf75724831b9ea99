"""Cheap text helpers shared by the offline evaluators: capping, letter counts, code/structured-data detection.

Heuristics, not parsers: they only decide whether a text is worth giving to a language or sentiment model.
"""

from __future__ import annotations

import functools
import json
import re
import unicodedata

_FENCED_CODE = re.compile(r"^[ \t]*(```|~~~)[^\n]*\n.*?(?:^[ \t]*\1[ \t]*$|\Z)", re.S | re.M)
_INLINE_CODE = re.compile(r"`[^`\n]+`")
_URL_OR_EMAIL = re.compile(r"\b(?:https?://|www\.)\S+|[\w.+-]+@[\w-]+\.[\w.]+")
# What every match of _URL_OR_EMAIL contains.
_URL_TRIGGER = re.compile(r"@|://|www\.")
_TABLE_ROW = re.compile(r"^[ \t]*\|.*\|[ \t]*$", re.M)
_TAG = re.compile(r"</?[A-Za-z][^<>\n]*>")
# Quotations: curly/low/guillemet/CJK pairs and straight double quotes (single quotes double as apostrophes).
_QUOTED = re.compile(r"“[^”\n]{1,300}”|„[^“”\n]{1,300}[“”]|«[^»\n]{1,300}»|»[^«\n]{1,300}«|「[^」\n]{1,300}」"
                     r"|『[^』\n]{1,300}』|\"[^\"\n]{1,300}\"")
# A line that looks like source code. Chat users often type in lowercase, so a keyword alone is not enough: the
# line must also have a statement's shape (definition, import, block opener, assignment, call ending in ";").
# What must start the line is one pattern, tried at the start only; what may stand anywhere (a "{" ending the line,
# a call before a closing ":", "=>") is tested apart.
_CODE_LINE_START = re.compile(
    r"\s*(?:def|class|fn|func|function)\s+[A-Za-z_]\w*\s*[(:<{]"
    r"|\s*(?:from\s+[\w.]+\s+)?import\s+[\w.*]+(?:\s*,\s*[\w.*]+)*(?:\s+as\s+\w+)?\s*;?\s*$"
    r"|\s*(?:elif|else|try|except|finally|for|while|if|with)\b.*[\w)\]'\"]:\s*$"
    r"|\s*(?:#include|#define|#!/|SELECT\s|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|CREATE\s+TABLE)"
    r"|\s*(?://|/\*|\*/|[}\])]|\$ \S)"
    r"|\s*[A-Za-z_$][\w.$\[\]'\"]*\s*(?:[-+*/%|&]|\?\?)?=(?!=)\s*\S"
    r"|\s*[\w.]+\([^\n]*\)\s*;?\s*$"
    r"|(?=.*[(=]).*;\s*$"
)
# Of what may stand anywhere, "{" ending the line and "=>" are plain string tests; only a call before a closing ":"
# needs a search, and only in a line ending with ":".
_CALL_BEFORE_COLON = re.compile(r"\w\([^()\n]*\)\s*:\s*$")


def _is_code_line(line: str) -> bool:
    """Whether one line (no line break in it) looks like source code."""
    if _CODE_LINE_START.match(line):
        return True
    end = line.rstrip()  # strips what \s matches
    return end.endswith("{") or "=>" in line or (
        end.endswith(":") and "(" in line and _CALL_BEFORE_COLON.search(line) is not None
    )


_CODE_SYMBOLS = frozenset("{}[]()<>;=+*/\\|&$#_:")
_CODE_SYMBOL_BYTES = "".join(sorted(_CODE_SYMBOLS)).encode()
# Sentence ends, including the CJK full stop and full-width exclamation and question marks.
_SENTENCE_END = (".", "!", "?", "\u3002", "\uff01", "\uff1f")


def cap(text: str, max_chars: int) -> tuple[str, bool]:
    """The first ``max_chars`` characters of ``text`` and whether anything was cut."""
    return (text[:max_chars], True) if len(text) > max_chars else (text, False)


_LETTER = re.compile(r"[^\W\d_]")
# Ideographs, kana, hangul syllables, compatibility ideographs.
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af\uf900-\ufaff]")
# Non-ASCII characters that are neither word characters nor spaces: punctuation, symbols, emoji and combining marks.
_NON_WORD = re.compile(r"[^\w\s\x00-\x7f]")


_ASCII_NON_LETTERS = {c: None for c in range(128) if not chr(c).isalpha()}


def letter_count(text: str) -> int:
    """Letters in ``text``, counting the vowel signs of Indic and other scripts (combining marks) as letters too;
    an ideograph, kana or hangul syllable counts as two (it carries about a word's worth)."""
    if text.isascii():
        return len(text.translate(_ASCII_NON_LETTERS))
    marks = sum(1 for ch in _NON_WORD.findall(text) if unicodedata.category(ch).startswith("M"))
    return len(_LETTER.findall(text)) + len(_CJK.findall(text)) + marks


def _looks_like_code(lines: list[str]) -> bool:
    if len(lines) >= 2:
        return sum(1 for line in lines if _is_code_line(line)) / len(lines) >= 0.6
    line = lines[0]
    chars = sum(map(len, line.split()))  # characters other than whitespace (split() and \s agree on whitespace)
    if chars < 8:
        return False
    # The symbols are ASCII, which no other character's UTF-8 bytes are: one byte translation counts them.
    encoded = line.encode("utf-8", "surrogatepass")
    return (len(encoded) - len(encoded.translate(None, _CODE_SYMBOL_BYTES))) / chars >= 0.25


def _looks_like_csv(lines: list[str]) -> bool:
    if sum(line.rstrip().endswith(_SENTENCE_END) for line in lines) * 2 >= len(lines):
        return False
    for sep in (",", ";", "\t"):
        counts = {line.count(sep) for line in lines}
        if len(counts) == 1 and (count := counts.pop()) >= 1 and (len(lines) >= 3 or count >= 3):
            return True
    return False


def structured_kind(text: str) -> str | None:
    """``"json"``, ``"xml"``, ``"table"``, ``"csv"`` or ``"code"`` when the whole text is one of those, else None.

    Meant for texts already capped: it may parse the text as JSON once.
    """
    s = text.strip()
    if not s:
        return None
    if s[0] in "{[" and s[-1] in "}]":
        try:
            json.loads(s)
            return "json"
        except ValueError:
            pass
    if s[0] == "<" and s[-1] == ">" and len(_TAG.findall(s)) >= 2:
        return "xml"
    if _FENCED_CODE.fullmatch(s):
        return "code"
    lines = [line for line in s.splitlines() if line.strip()]
    if len(lines) >= 2 and all(_TABLE_ROW.match(line) for line in lines):
        return "table"
    if len(lines) >= 2 and _looks_like_csv(lines):
        return "csv"
    if _looks_like_code(lines):
        return "code"
    return None


def without_urls(text: str) -> str:
    """``text`` with URLs and e-mail addresses replaced by a space: ``_URL_OR_EMAIL.sub(" ", text)``.

    Run over a whole text, the pattern costs a few hundred nanoseconds per character: at each position it tries
    the e-mail alternative, which reads the word to its end looking for "@". No match crosses whitespace and each
    contains "@", "://" or "www.", so the pattern runs only over the whitespace-free tokens holding one of those,
    which gives the same text (the pattern sees a token's edges as it sees the edges of a text).
    """
    tokens: list[tuple[int, int]] = []
    for trigger in _URL_TRIGGER.finditer(text):
        at = trigger.start()
        if tokens and at < tokens[-1][1]:
            continue  # in the token already taken
        head = text[:at]
        start = at if not head or head[-1].isspace() else at - len(head.rsplit(None, 1)[-1])
        end = at + len(text[at:].split(None, 1)[0])
        tokens.append((start, end))
    if not tokens:
        return text
    pieces: list[str] = []
    cursor = 0
    for start, end in tokens:
        pieces.append(text[cursor:start])
        pieces.append(_URL_OR_EMAIL.sub(" ", text[start:end]))
        cursor = end
    pieces.append(text[cursor:])
    return "".join(pieces)


@functools.lru_cache(maxsize=256)  # language_mismatch and sentiment both clean the same texts of a span
def prose(text: str, *, drop_quotes: bool = False, min_rest: int = 1) -> str:
    """``text`` without code blocks, inline code, code-like lines, markdown tables, tags, URLs and e-mail addresses.

    With ``drop_quotes`` quoted passages go too (an answer quoting the user in another language keeps its own
    language), unless fewer than ``min_rest`` letters would remain.
    """
    text = _FENCED_CODE.sub(" ", text)
    text = _TABLE_ROW.sub(" ", text)
    text = _INLINE_CODE.sub(" ", text)
    text = without_urls(text)
    text = _TAG.sub(" ", text)
    text = "\n".join(line for line in text.splitlines() if not _is_code_line(line))
    if drop_quotes:
        unquoted = _QUOTED.sub(" ", text)
        if letter_count(unquoted) >= min_rest:
            text = unquoted
    return text
