"""Presidio's pattern recognizers, adjusted to run offline, fast and without misfires on ordinary data.

Importing this module imports Presidio, and so spaCy (about a second and 100 MB): the engine imports it on
first use only (see :mod:`llmotel.evaluation.pii.engine`).
"""

from __future__ import annotations

import functools
import ipaddress
import re
from typing import Any, cast

import regex
import tldextract
from presidio_analyzer import EntityRecognizer, Pattern, RecognizerResult
from presidio_analyzer.predefined_recognizers import (
    CreditCardRecognizer,
    CryptoRecognizer,
    EmailRecognizer,
    EsNieRecognizer,
    EsNifRecognizer,
    IbanRecognizer,
    IpRecognizer,
    ItFiscalCodeRecognizer,
    MacAddressRecognizer,
    PhoneRecognizer,
    UkNinoRecognizer,
    UsItinRecognizer,
    UsSsnRecognizer,
)

from llmotel.evaluation.pii.context import POSITIVE
from llmotel.evaluation.pii.options import PHONE_REGIONS
from llmotel.evaluation.pii.phone import PhoneFinder
from llmotel.evaluation.pii.windows import Gate, gate, matches_from

# Reads only the Public Suffix List snapshot bundled with tldextract: no HTTP fetch, no cache directory.
_OFFLINE_TLDS = tldextract.TLDExtract(cache_dir=None, suffix_list_urls=(), fallback_to_snapshot=True)


#: Recognition-metadata key: where the words that label a match end, when not at its start (a phone number found
#: inside a longer run of digit groups is labelled by the words before the run: "SIRET 113 759 773 03315").
LABEL_AT = "llmotel_label_at"


def _result(recognizer: Any, entity_type: str, start: int, end: int, score: float) -> Any:
    return RecognizerResult(
        entity_type=entity_type, start=start, end=end, score=score,
        recognition_metadata={RecognizerResult.RECOGNIZER_NAME_KEY: recognizer.name},
    )


@functools.cache
def _overlapped_pattern(pattern: str, flags: int) -> Any:
    return regex.compile(pattern, flags)


def _drop_contained(results: list[Any]) -> list[Any]:
    """Valid matches of one recognizer less those inside another (partial overlaps are merged later)."""
    results.sort(key=lambda r: (r.start, -r.end))
    kept: list[Any] = []
    for r in results:
        if kept and r.end <= max(k.end for k in kept):
            continue
        kept.append(r)
    return kept


class OfflineEmailRecognizer(EmailRecognizer):
    """Presidio's e-mail recognizer validating the domain against the bundled suffix list only."""

    def validate_result(self, pattern_text: str) -> bool:
        return bool(_OFFLINE_TLDS(pattern_text).fqdn)


# Card brands by issuer prefix and number length (ISO/IEC 7812 IIN ranges as the networks publish them).
_CARD_BRANDS = re.compile(
    r"(?=4)(?:\d{13}|\d{16}|\d{19})"  # Visa
    r"|(?=5[1-5]|222[1-9]|22[3-9]|2[3-6]|27[01]|2720)\d{16}"  # Mastercard (51-55, 2221-2720)
    r"|(?=3[47])\d{15}"  # American Express
    r"|(?=6011|64[4-9]|65|35|62|220[0-4])\d{16,19}"  # Discover, JCB, UnionPay, Mir
    r"|(?=1800|2131)\d{15}"  # JCB, 15 digits
    r"|(?=30[0-5]|309|3[689])\d{14,19}"  # Diners Club
    r"|(?=5[06-9]|6)\d{12,19}"  # Maestro
)
# A run of digit groups, not glued to a word, a path or a longer number ("1,234", "v1.2"; "7,4111..." in a CSV
# row is fine).
_DIGIT_RUN = re.compile(r"(?<![\w+\-/])(?<!\d[.:])(?:(?<!\d,)|(?=\d{4}))\d+(?:[ \-]\d+)*(?![\w]|[.,:/]\d)")
_RUN_START = re.compile(r"\d(?<![\w+\-/]\d)")  # where a digit run can start: a digit not glued to a word
_SEPARATOR = re.compile(r"[ \-]")
# A block of up to four digits that is a group of the same number, not a token of its own ("2011" in
# "02/04/2011", "7" in "7,027,675.33", "12" in "12%").
_BLOCK_BEFORE = re.compile(r"(?<![\w.,:/$€£¥#+])\d{1,4}$")
_BLOCK_AFTER = re.compile(r"\d{1,4}(?![\w%€$£¥]|[.,:/]\d)")


def _joined_differently(text: str, i: int, sep: str) -> bool:
    """Whether text[i] joins the digits before it to more digits with another separator ("2024-07-15")."""
    return i + 1 < len(text) and text[i] in " -" and text[i] != sep and text[i + 1].isdigit()


def _luhn_valid(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


class BrandCardRecognizer(CreditCardRecognizer):
    """Credit and debit card numbers: Luhn-valid, with an issuer prefix and a length that a card brand uses
    (Visa 13/16/19, Mastercard incl. the 2-series, Amex 15, Discover, JCB 15-19, Diners 14-19, Maestro 12-19,
    UnionPay, Mir), written compact or in the groups cards are printed in (fours, the last one of one to five; 4-6-5;
    4-6-4) joined by one kind of separator.

    A card is the whole of a run of digit groups: a span of groups inside a longer run with the same separator
    (a 22-digit parcel number in groups of four) is not one; a span whose neighbours are joined differently
    ("62986-6878 5578-4905-3594-0336") is. A card written in groups scores 1, and so does a compact one of 16-19
    digits; a compact one of 13-15 digits (a SIRET, a GTIN-14 or an EAN-13 may pass too) 0.9, so that a label
    of another identifier before it drops it (``SIRET 36252187900034``); a compact 12-digit number (Maestro's
    shortest) is as often an order or parcel number, so it scores 0.4 and needs a card word before it."""

    COMPACT_SCORE = 0.9
    SHORT_COMPACT_SCORE = 0.4

    def analyze(self, text: str, entities: list[str], nlp_artifacts: Any = None, regex_flags: Any = None) -> Any:
        results = []
        for run in matches_from(_DIGIT_RUN, _RUN_START, text):
            if run.start() > 0 and text[run.start() - 1] == "+":
                continue  # "+4915123482874" is a phone number in E.164 form, whatever Luhn says
            groups = [(m.start(), m.end()) for m in re.finditer(r"\d+", run.group())]
            base = run.start()
            for i in range(len(groups)):
                for j in range(len(groups) - 1, i - 1, -1):
                    start, end = base + groups[i][0], base + groups[j][1]
                    score = self._score(text, start, end)
                    if score is not None:
                        results.append(_result(self, "CREDIT_CARD", start, end, score))
                        break
        return _drop_contained(results)

    @staticmethod
    def _continued(text: str, start: int, end: int, separators: set[str]) -> bool:
        """Whether the span is part of a number too long for a card written in blocks of four digits the same
        way (a parcel number "9400 1000 0000 0000 0000 00"), rather than a card next to other numbers."""
        for sep in separators:
            a = start
            while a >= 2 and text[a - 1] == sep and (block := _BLOCK_BEFORE.search(text, max(0, a - 6), a - 1)) \
                    and not (block.start() >= 2 and text[block.start() - 1] in " -" and
                             text[block.start() - 1] != sep and text[block.start() - 2].isdigit()):
                a = block.start()
            b = end
            while text.startswith(sep, b) and (block := _BLOCK_AFTER.match(text, b + 1)) and \
                    not _joined_differently(text, block.end(), sep):
                b = block.end()
            groups = text[a:b].split(sep)
            if (a, b) != (start, end) and sum(map(len, groups)) > 19 and all(len(g) == 4 for g in groups[:-1]):
                return True
        return False

    def _score(self, text: str, start: int, end: int) -> float | None:
        value = text[start:end]
        digits = value.replace(" ", "").replace("-", "")
        if not 12 <= len(digits) <= 19:
            return None
        separators = set(_SEPARATOR.findall(value))
        if len(separators) > 1:
            return None
        if self._continued(text, start, end, separators):
            return None
        if separators:
            sizes = [len(g) for g in _SEPARATOR.split(value)]
            standard = sizes in ([4, 6, 5], [4, 6, 4]) or \
                (all(n == 4 for n in sizes[:-1]) and 1 <= sizes[-1] <= 5)
            if not standard:
                return None
        if not _CARD_BRANDS.fullmatch(digits) or not _luhn_valid(digits):
            return None
        if not separators:
            if len(digits) == 12:
                return self.SHORT_COMPACT_SCORE
            return self.COMPACT_SCORE if len(digits) < 16 else float(EntityRecognizer.MAX_SCORE)
        return float(EntityRecognizer.MAX_SCORE)


class CaseInsensitiveCryptoRecognizer(CryptoRecognizer):
    """Presidio's wallet recognizer also accepting upper-case bech32 addresses ("BC1Q...", as in QR codes)."""

    def validate_result(self, pattern_text: str) -> bool:
        if pattern_text.startswith("BC1") and pattern_text.isupper():
            pattern_text = pattern_text.lower()
        return bool(super().validate_result(pattern_text))


class UpperCaseNinoRecognizer(UkNinoRecognizer):
    """Presidio's UK NINO recognizer without its case-insensitive misfires ("on 241156a": a word and a git
    hash); national insurance numbers are written in capitals."""

    def invalidate_result(self, pattern_text: str) -> bool:
        return not pattern_text.isupper() or bool(super().invalidate_result(pattern_text))


_GLUED_IBAN_LABEL = re.compile(r"IBAN:?(?=[A-Z]{2}\d\d)", re.IGNORECASE)


class TrimmingIbanRecognizer(IbanRecognizer):
    """Presidio's IBAN recognizer (mod-97 and per-country format), which also finds an IBAN next to other
    codes: Presidio scans without overlaps, so "PO5187276910 FR20 4782 ..." is one failed match that swallows
    the IBAN, and "ES16 6013 ... 4107 14631" fails for its trailing number. Every start is tried, and when a
    match fails validation, its prefixes ending at a space or dash, longest first. An IBAN glued to its label
    (``IBANDE89...``, as in Chinese text) is found too."""

    def analyze(self, text: str, entities: list[str], nlp_artifacts: Any = None, regex_flags: Any = None) -> Any:
        text = _GLUED_IBAN_LABEL.sub(lambda m: " " * len(m.group()), text)  # "IBANDE89370400440532013000"
        results = list(super().analyze(text, entities, nlp_artifacts))
        found = [(r.start, r.end) for r in results]
        for pattern in cast(Any, self).patterns:
            compiled = _overlapped_pattern(pattern.regex, self.global_regex_flags)
            for m in compiled.finditer(text, overlapped=True):
                if any(a < m.end() and m.start() < b for a, b in found):
                    continue
                value = m.group()
                for cut in [len(value), *sorted((i for i, c in enumerate(value) if c in " -"), reverse=True)]:
                    prefix = value[:cut]
                    if len(prefix.replace(" ", "").replace("-", "")) < 15:
                        break
                    if self.validate_result(prefix):
                        results.append(_result(self, self.supported_entities[0], m.start(), m.start() + cut,
                                               EntityRecognizer.MAX_SCORE))
                        found.append((m.start(), m.start() + cut))
                        break
        return results


class StrictIpRecognizer(IpRecognizer):
    """Presidio's IP recognizer without its misfires on ordinary text: an IPv4 inside a longer dotted number
    (``1.2.3.4.5``, ``v1.2.3.4``) is a version, ``::2``/``1::4`` are Python slices, and loopback or unspecified
    addresses (``127.0.0.1``, ``0.0.0.0``, ``::1``) identify nobody."""

    PATTERNS = [
        Pattern(
            "IPv4",
            r"(?<![\w.])(?:(?:25[0-5]|2[0-4]\d|[01]?\d\d?)\.){3}(?:25[0-5]|2[0-4]\d|[01]?\d\d?)"
            r"(?:/(?:[0-2]?\d|3[0-2]))?(?![\w]|\.\d)",
            0.6,
        ),
        # Any run of hex groups and colons shaped like an IPv6 address (with an optional embedded IPv4, zone
        # and prefix length); ipaddress decides in invalidate_result. Presidio's own IPv6 patterns spell
        # out every compression form and cost 30 times more on ordinary text.
        Pattern(
            "IPv6",
            r"(?<![\w:.])(?:[0-9a-f]{1,4}:|:(?=:))(?:[0-9a-f]{0,4}:){1,7}"
            r"(?:(?:\d{1,3}\.){3}\d{1,3}|[0-9a-f]{1,4})?(?:%[0-9a-z]+)?(?:/\d{1,3})?(?![\w:]|\.\d)",
            0.6,
        ),
    ]

    def invalidate_result(self, pattern_text: str) -> bool:
        try:
            interface = ipaddress.ip_interface(pattern_text)
        except ValueError:
            return True
        address = interface.ip
        if address.is_loopback or address.is_unspecified:
            return True
        if address.version == 6 and "." not in pattern_text:
            hex_digits = sum(c in "0123456789abcdefABCDEF" for c in pattern_text.split("%")[0].split("/")[0])
            return hex_digits < 5  # "::2", "1::4": slices in code, not addresses
        return False


class FastPhoneRecognizer(PhoneRecognizer):
    """Presidio's phone recognizer (its entity), finding numbers with
    :class:`~llmotel.evaluation.pii.phone.PhoneFinder` for :data:`PHONE_REGIONS`; its context words are
    :data:`llmotel.evaluation.pii.context.POSITIVE`'s."""

    def __init__(self) -> None:
        super().__init__(context=sorted(POSITIVE["PHONE_NUMBER"]), supported_regions=PHONE_REGIONS, leniency=1)
        self._finder = PhoneFinder(PHONE_REGIONS)

    def analyze(self, text: str, entities: list[str], nlp_artifacts: Any = None) -> list[Any]:
        results = []
        for a, b, score, label_at in self._finder.find(text):
            result = _result(self, "PHONE_NUMBER", a, b, score)
            result.recognition_metadata[LABEL_AT] = label_at
            results.append(result)
        return EntityRecognizer.remove_duplicates(results)


def _ip_recognizers() -> list[tuple[Any, Gate]]:
    # IPv4 and IPv6 patterns run separately, each only where its gate passes.
    ipv4 = StrictIpRecognizer(patterns=[p for p in StrictIpRecognizer.PATTERNS if p.name == "IPv4"])
    ipv6 = StrictIpRecognizer(patterns=[p for p in StrictIpRecognizer.PATTERNS if p.name != "IPv4"])
    return [(ipv4, gate(4, 1, r"\d\.\d{1,3}\.\d{1,3}\.\d")), (ipv6, gate(0, 0, r":(?:(?<=[0-9A-Fa-f]:)[0-9A-Fa-f]|:)"))]


# A window that fails a recognizer's gate cannot hold a match of the recognizer's own patterns, so gating never
# loses a match: e.g. every credit-card pattern has 13+ digits in groups of 3+, every SSN/ITIN pattern 9 digits
# in the shapes its gate pattern allows. Each gate pattern but the fiscal code's starts with one character class
# or literal (the alternatives come after it): the regex engine then skips ahead to the places where that
# character occurs instead of trying every alternative at every position. tests/evaluation/test_pii.py checks
# each rewritten one against the plain alternation it stands for.
_TABLE: dict[str, tuple[Any, Gate]] = {
    "EMAIL_ADDRESS": (OfflineEmailRecognizer, gate(0, 0, None)),
    "PHONE_NUMBER": (FastPhoneRecognizer, gate(7, 1, None)),
    "CREDIT_CARD": (BrandCardRecognizer, gate(12, 4, None)),
    "IBAN_CODE": (TrimmingIbanRecognizer, gate(2, 2, r"\d\d(?<=[A-Z]{2}\d\d)")),
    # Presidio's SSN patterns: 123-45-6789 (or with spaces or dots), 12345-6789, 123-456789, 123456789.
    "US_SSN": (UsSsnRecognizer, gate(9, 3, r"[0-9](?:[0-9]{2}(?:[- .][0-9]{2}[- .][0-9]{4}|-[0-9]{6})"
                                           r"|[0-9]{4}-[0-9]{4}|[0-9]{8})")),
    "CRYPTO": (CaseInsensitiveCryptoRecognizer, gate(1, 1, r"[bB13](?:(?<=[bB])[cC]1|(?<=[13]))[a-zA-Z0-9]{25}")),
    # Presidio's ITIN patterns: a 9, two digits, two digits, four digits; a space or dash between groups or not.
    "US_ITIN": (UsItinRecognizer, gate(9, 3, r"9\d{2}[- ]?\d{2}[- ]?\d{4}")),
    "UK_NINO": (UpperCaseNinoRecognizer, gate(6, 2, r"\d\d ?\d{2} ?\d{2} ?[A-Da-d]")),
    "MAC_ADDRESS": (MacAddressRecognizer, gate(0, 0, (
        r"[-:.](?:(?<=[0-9A-Fa-f]{2}:)(?:[0-9A-Fa-f]{2}:){3}|(?<=[0-9A-Fa-f]{2}-)(?:[0-9A-Fa-f]{2}-){3}"
        r"|(?<=[0-9A-Fa-f]{4}\.)[0-9A-Fa-f]{4}\.)"))),
    "ES_NIF": (EsNifRecognizer, gate(7, 7, None)),
    "ES_NIE": (EsNieRecognizer, gate(7, 7, None)),
    "IT_FISCAL_CODE": (ItFiscalCodeRecognizer, gate(0, 0, (
        r"[A-Za-z]{6}[\dLMNP-Vlmnp-v]{2}[ABCDEHLMPRSTabcdehlmprst][\dLMNP-Vlmnp-v]{2}[A-Za-z]"
        r"[\dLMNP-Vlmnp-v]{3}[A-Za-z]"))),
}


def recognizers_for(entity: str) -> list[tuple[Any, Gate]]:
    """New recognizers for one pattern entity type, each with the gate its windows must pass."""
    if entity == "IP_ADDRESS":
        return _ip_recognizers()
    cls, entity_gate = _TABLE[entity]
    return [(cls(), entity_gate)]
