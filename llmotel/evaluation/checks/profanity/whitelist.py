"""glin-profanity's built-in safe words: a hit that lies wholly inside one of these is not a hit.

The entries are glin-profanity's (``filters/builtin_whitelist.py``, MIT licence), compiled as glin compiles
them. Each names literals that every one of its matches contains, so an entry runs only on a text that has them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import NamedTuple

_SPACE = r"(?u:\s)"  # whitespace stays Unicode-aware inside the ASCII-scoped patterns
_BOUNDARY = r"(?a:\b)"
# Before a capitalised "Dick", these make it an insult rather than a name.
_NOT_A_NAME = (r"(?!(?:You|Your|Big|Small|Little|Huge|Fat|Stupid|Dumb|Such|What|The|This|That"
               r"|Fucking|Lazy|Ugly|Total|Complete)\s)")


class Entry(NamedTuple):
    """Regex sources (no capture groups): context before, the protected word, context after."""

    protect: str
    required: tuple[str, ...]  # lower-case literals in every match
    before: str = ""
    after: str = ""
    case_sensitive: bool = False  # names need capitals to tell "Moby Dick" from the insult


ENTRIES = [
    # Clean words that a leet-decoded or invisibly split view turns into "ass".
    Entry(r"(?:cl|gl|gr|m|b|br|l|s|p)ass(?:es)?", ("ass",)),
    Entry(r"ass(?:ist|istant|istants|istance|ume|umes|umed|ess|essment|assin|assins|assinate|embly|emble|ociate"
          r"|ociation|ignment|ert|et|ets)", ("ass",)),
    # Idioms and nouns in which the dictionary word is no insult.
    Entry("cum", ("cum", "laude"), before=r"(?:summa |magna )?", after=r"\s+laude"),
    Entry("pussy", ("pussy", "willow"), after=r"\s+willows?"),
    Entry("tits?", ("tit",), before=r"(?:great|blue|coal|marsh|willow)\s+"),
    Entry("bastard", ("bastard", "file"), after=r"\s+files?"),
    Entry("jackass", ("jackass", "penguin"), after=r"\s+penguins?"),
    Entry("cock(?:ed|ing)?", ("cock", "the"), after=r"\s+the\s+(?:hammer|gun|pistol)"),
    Entry("anal", ("anal", "fissure"), after=r"\s+fissures?"),
    # A place name, also hit by repeated-letter collapsing.
    Entry("twatt", ("twatt",), after=r",?\s+(?:orkney|shetland)"),
    # A given name: "Moby Dick", "Philip K. Dick", "Dick Van Dyke".
    Entry("Dick", ("dick",), before=_NOT_A_NAME + r"(?:[A-Z][a-z]+|[A-Z]\.)\s+",
          after=r"(?!\s+(?:Head|Move|Bag|Face)\b)", case_sensitive=True),
    Entry("Dick", ("dick",), after=r"\s+(?!(?:Head|Move|Bag|Face)\b)[A-Z][a-z]+", case_sensitive=True),
]

Interval = tuple[int, int]
#: Maps a [start, end) range of a view's text to the original text.
ToOriginal = Callable[[int, int], Interval]


def _compile(entry: Entry) -> re.Pattern[str]:
    body = "".join(f"({part.replace(chr(92) + 's', _SPACE)})" for part in (entry.before, entry.protect, entry.after))
    scoped = body if entry.case_sensitive else f"(?ai:{body})"
    return re.compile(rf"{_BOUNDARY}{scoped}{_BOUNDARY}")


_COMPILED = [(entry.required, _compile(entry)) for entry in ENTRIES]


def protected(text: str, to_original: Callable[[], ToOriginal]) -> list[Interval]:
    """The safe words' spans in ``text`` (a view), as original offsets; ``to_original`` gives the view's mapping
    (asked for only when there is a safe word)."""
    lowered = text.lower()
    found = []
    for required, pattern in _COMPILED:
        if not all(literal in lowered for literal in required):
            continue
        for match in pattern.finditer(text):
            if match.end(2) > match.start(2):
                found.append(to_original()(match.start(2), match.end(2)))
    return found


def within(hit: Interval, spans: Iterable[Interval]) -> bool:
    """True when ``hit`` lies wholly inside one of ``spans``."""
    return any(hit[0] >= start and hit[1] <= end for start, end in spans)
