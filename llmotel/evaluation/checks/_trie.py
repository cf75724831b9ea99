"""A word list as one regular expression shaped like a trie.

Python's ``re`` tries the alternatives of ``a|b|c`` one after another at every position, so a flat alternation of
a few hundred words costs a few hundred attempts per character. Factored into a trie (``f(?:uck(?:er)?|art)``),
each position costs one branch per character of the longest word that starts there, whatever the list's size.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence

Symbol = str
#: How one symbol of a word becomes regex source; the default escapes it.
Render = Callable[[Symbol], str]


def trie_pattern(words: Iterable[Sequence[Symbol]], render: Render = re.escape) -> str:
    """Regex source matching, at a position, the longest of ``words`` that starts there.

    A word is a sequence of symbols (a string is a sequence of one-character symbols); ``render`` turns a symbol
    into regex source, for symbols that stand for more than one literal character (a run of whitespace, say).
    Of two words matching at the same position, one is a prefix of the other, so "longest" is well defined; the
    continuation of a word is tried before its end, which makes every repetition greedy. An empty list gives a
    pattern that never matches.
    """
    root: dict[Symbol, dict] = {}
    end = ""  # a key no symbol uses: the word ends at this node
    for word in words:
        node = root
        for symbol in word:
            if symbol == end:
                raise ValueError("a word symbol cannot be empty")
            node = node.setdefault(symbol, {})
        node[end] = {}
    if not root:
        return "(?!)"
    if end in root:
        raise ValueError("the word list contains an empty word")

    def source(node: dict[Symbol, dict]) -> str:
        branches = [render(symbol) + source(child) for symbol, child in sorted(node.items()) if symbol != end]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if end in node else body

    return source(root)
