"""Presidio's pattern recognizers, adjusted to run offline, fast and without misfires on ordinary data.

Importing this module imports Presidio, and so spaCy (about a second and 100 MB): the engine imports it on
first use only (see :mod:`llmotel.evaluation.pii.engine`).
"""

from __future__ import annotations

import functools
import ipaddress
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

from llmotel.evaluation.pii.options import PHONE_REGIONS
from llmotel.evaluation.pii.phone import PhoneFinder
from llmotel.evaluation.pii.windows import Gate, gate

# Reads only the Public Suffix List snapshot bundled with tldextract: no HTTP fetch, no cache directory.
_OFFLINE_TLDS = tldextract.TLDExtract(cache_dir=None, suffix_list_urls=(), fallback_to_snapshot=True)


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


class CreditCard2SeriesRecognizer(CreditCardRecognizer):
    """Presidio's credit-card recognizer (Luhn-validated) plus Mastercard's 2221-2720 range."""

    PATTERNS = [
        *CreditCardRecognizer.PATTERNS,
        Pattern("Mastercard 2-series (weak)", r"\b2[2-7]\d{2}[- ]?\d{4}[- ]?\d{4}[- ]?\d{4}\b", 0.3),
    ]

    def analyze(self, text: str, entities: list[str], nlp_artifacts: Any = None, regex_flags: Any = None) -> Any:
        # Presidio scans without overlaps, so an invalid match ("6878 5578-4905-3594" in
        # "62986-6878 5578-4905-3594-0336") swallows the start of the real card after it. Try every start.
        results = []
        for pattern in cast(Any, self).patterns:
            compiled = _overlapped_pattern(pattern.regex, self.global_regex_flags)
            for m in compiled.finditer(text, overlapped=True):
                if m.start() > 0 and text[m.start() - 1] == "+":
                    continue  # "+4915123482874" is a phone number in E.164 form, whatever Luhn says
                if self.validate_result(m.group()):
                    results.append(_result(self, self.supported_entities[0], m.start(), m.end(),
                                           EntityRecognizer.MAX_SCORE))
        return _drop_contained(results)


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


class TrimmingIbanRecognizer(IbanRecognizer):
    """Presidio's IBAN recognizer (mod-97 and per-country format), which also finds an IBAN next to other
    codes: Presidio scans without overlaps, so "PO5187276910 FR20 4782 ..." is one failed match that swallows
    the IBAN, and "ES16 6013 ... 4107 14631" fails for its trailing number. Every start is tried, and when a
    match fails validation, its prefixes ending at a space or dash, longest first."""

    def analyze(self, text: str, entities: list[str], nlp_artifacts: Any = None, regex_flags: Any = None) -> Any:
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
    """Presidio's phone recognizer (its entity, regions and context words), finding numbers with
    :class:`~llmotel.evaluation.pii.phone.PhoneFinder`. Formatted numbers score 0.75; a bare run of digits
    (``4155550132``) 0.4, so it needs a context word (call, phone, mobile, tel, ...) just before it."""

    SCORE = 0.75
    BARE_SCORE = 0.4
    CONTEXT = ["phone", "telephone", "tel", "mobile", "cell", "cellphone", "call", "fax", "whatsapp", "sms",
               "dial", "landline", "handy", "telefon", "téléphone", "portable", "ph", "mob"]

    def __init__(self) -> None:
        super().__init__(context=self.CONTEXT, supported_regions=PHONE_REGIONS, leniency=1)
        self._finder = PhoneFinder(PHONE_REGIONS)

    def analyze(self, text: str, entities: list[str], nlp_artifacts: Any = None) -> list[Any]:
        results = [_result(self, "PHONE_NUMBER", a, b, self.BARE_SCORE if bare else self.SCORE)
                   for a, b, bare in self._finder.find(text)]
        return EntityRecognizer.remove_duplicates(results)


def _ip_recognizers() -> list[tuple[Any, Gate]]:
    # IPv4 and IPv6 patterns run separately, each only where its gate passes.
    ipv4 = StrictIpRecognizer(patterns=[p for p in StrictIpRecognizer.PATTERNS if p.name == "IPv4"])
    ipv6 = StrictIpRecognizer(patterns=[p for p in StrictIpRecognizer.PATTERNS if p.name != "IPv4"])
    return [(ipv4, gate(4, 1, r"\d\.\d{1,3}\.\d{1,3}\.\d")), (ipv6, gate(0, 0, r"[0-9A-Fa-f]:[0-9A-Fa-f]|::"))]


# A window that fails a recognizer's gate cannot hold a match of the recognizer's own patterns, so gating never
# loses a match: e.g. every credit-card pattern has 13+ digits in groups of 3+, every SSN/ITIN pattern 9 digits.
_TABLE: dict[str, tuple[Any, Gate]] = {
    "EMAIL_ADDRESS": (OfflineEmailRecognizer, gate(0, 0, None)),
    "PHONE_NUMBER": (FastPhoneRecognizer, gate(7, 1, None)),
    "CREDIT_CARD": (CreditCard2SeriesRecognizer, gate(13, 3, None)),
    "IBAN_CODE": (TrimmingIbanRecognizer, gate(2, 2, r"\d\d(?<=[A-Z]{2}\d\d)")),
    "US_SSN": (UsSsnRecognizer, gate(9, 3, None)),
    "CRYPTO": (CaseInsensitiveCryptoRecognizer, gate(1, 1, r"(?:[bB][cC]1|[13])[a-zA-Z0-9]{25}")),
    "US_ITIN": (UsItinRecognizer, gate(9, 3, None)),
    "UK_NINO": (UpperCaseNinoRecognizer, gate(6, 2, r"\d{2} ?\d{2} ?\d{2} ?[A-Da-d]")),
    "MAC_ADDRESS": (MacAddressRecognizer, gate(0, 0, (
        r"[0-9A-Fa-f]{2}([:-])[0-9A-Fa-f]{2}\1[0-9A-Fa-f]{2}\1[0-9A-Fa-f]{2}\1|[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}\."))),
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
