# ruff: noqa: RUF001  (the templates in Japanese and Chinese use fullwidth punctuation, as those languages do)
"""A held-out, labelled set for measuring PII redaction on data the project did not tune on.

DO NOT TUNE AGAINST THIS SET. The recognizers are tuned on ``tests/evaluation/pii_corpus.py`` and on the tuning
cases in ``tests/evaluation/test_pii.py``; this set only measures them. It is built differently on purpose:
values come from Faker in 21 locales and from structured generators written here (not the tuning corpus's),
embedded by templates written here in 8 languages (Japanese and Chinese with no spaces around values) and in
JSON / CSV / log-line / XML shapes, plus look-alike samples (versions, tracking numbers, EINs, SIRET/SIREN,
thousands separators, order ids, timestamps, hashes, prices, dates, EAN/ISBN, IMEI, coordinates, ...) in the
same languages and shapes, in about the proportions of the issue's set (~3,100 PII samples, ~2,000 look-alikes).

A bare run of digits (an SSN or phone number written without separators) is only ever written after a word or
under a key that says what it is: without one it is an id like any other, and no redactor can tell.

Deterministic: :func:`generate` with the same seed and Faker version gives the same samples (nothing is
downloaded). Some samples are JSON leaves given with their key as ``context`` words, as the span redaction
passes them (``PiiRedactor.redact(value, context=("phone",))``).

Used by ``tests/evaluation/test_pii_heldout.py`` and ``benchmarks/pii_accuracy.py --heldout``.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import phonenumbers
from faker import Faker

#: The entity kinds labelled in this set.
KINDS = ("EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "IBAN_CODE", "IP_ADDRESS", "US_SSN")
#: Faker locales the values come from.
LOCALES = ("en_US", "en_GB", "de_DE", "fr_FR", "es_ES", "it_IT", "pt_BR", "pt_PT", "nl_NL", "ja_JP", "zh_CN",
           "zh_TW", "en_IN", "pl_PL", "sv_SE", "en_AU", "en_CA", "de_AT", "de_CH", "ko_KR", "ru_RU")
LANGUAGES = ("en", "de", "fr", "es", "it", "pt", "ja", "zh")
SEED = 4_127


@dataclass(frozen=True)
class Labelled:
    """One value in a sample: its span, its kind (an entity type, or a look-alike kind), where it came from."""

    start: int
    end: int
    kind: str
    pii: bool
    source: str  # "faker:<locale>:<method>" or "gen:<style>" or "lookalike:<style>"


@dataclass(frozen=True)
class Sample:
    """One text to redact, with the words that precede it when it is a JSON leaf (the key)."""

    text: str
    values: tuple[Labelled, ...]
    language: str
    shape: str  # sentence, json, json_leaf, csv, log, xml
    context: tuple[str, ...] = field(default=())


# ----------------------------------------------------------------------------------------- structured values


def _luhn(body: str) -> str:
    total = 0
    for i, ch in enumerate(reversed(body)):
        d = int(ch)
        if i % 2 == 0:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return body + str(-total % 10)


# brand: (prefixes, lengths)
_BRANDS: dict[str, tuple[tuple[str, ...], tuple[int, ...]]] = {
    "visa": (("4",), (13, 16, 19)),
    "mastercard": (("51", "52", "53", "54", "55", "2221", "2300", "2500", "2720"), (16,)),
    "amex": (("34", "37"), (15,)),
    "discover": (("6011", "644", "649", "65"), (16, 17, 18, 19)),
    "jcb": (("3528", "3540", "3589"), (16, 17, 18, 19)),
    "jcb15": (("1800", "2131"), (15,)),
    "diners": (("300", "305", "36", "38", "39"), (14, 16)),
    "maestro": (("5018", "5020", "5038", "5893", "6304", "6759", "6761", "6762", "6763"),
                (12, 13, 14, 15, 16, 17, 18, 19)),
    "unionpay": (("62",), (16, 17, 18, 19)),
}


def _grouped(number: str, rng: random.Random) -> tuple[str, str]:
    style = rng.choice(["compact", "compact", "spaces", "dashes"])
    if style == "compact":
        return number, style
    sep = " " if style == "spaces" else "-"
    if len(number) == 15 and number[:2] in ("34", "37"):
        sizes = [4, 6, 5]
    elif len(number) == 14:
        sizes = [4, 6, 4]
    else:
        sizes = [4] * (len(number) // 4) + ([len(number) % 4] if len(number) % 4 else [])
    parts, i = [], 0
    for size in sizes:
        parts.append(number[i:i + size])
        i += size
    return sep.join(parts), style


def gen_card(rng: random.Random) -> tuple[str, str]:
    brand = rng.choice(sorted(_BRANDS))
    prefixes, lengths = _BRANDS[brand]
    prefix, length = rng.choice(prefixes), rng.choice(lengths)
    number = _luhn(prefix + "".join(rng.choice("0123456789") for _ in range(length - len(prefix) - 1)))
    text, style = _grouped(number, rng)
    return text, f"gen:card_{brand}{length}_{style}"


# Country: BBAN made of (kind, count) runs; n digits, a upper-case letters, c letters or digits.
_IBAN_FORMATS = {
    "AD": "4n4n12c", "AT": "5n11n", "BE": "3n7n2n", "BG": "4a4n2n8c", "CH": "5n12c", "CY": "3n5n16c",
    "CZ": "4n6n10n", "DE": "8n10n", "DK": "4n9n1n", "EE": "2n2n11n1n", "ES": "4n4n1n1n10n", "FI": "3n11n",
    "FR": "5n5n11c2n", "GB": "4a6n8n", "GR": "3n4n16c", "HR": "7n10n", "HU": "3n4n1n15n1n", "IE": "4a6n8n",
    "IS": "4n2n6n10n", "IT": "1a5n5n12c", "LT": "5n11n", "LU": "3n13c", "LV": "4a13c", "MT": "4a5n18c",
    "NL": "4a10n", "NO": "4n6n1n", "PL": "8n16n", "PT": "4n4n11n2n", "RO": "4a16c", "SE": "3n16n1n",
    "SI": "5n8n2n", "SK": "4n6n10n", "SA": "2n18c", "AE": "3n16n", "TR": "5n1n16c", "BR": "8n5n10n1a1c",
    "MU": "4a2n2n12n3n3a", "QA": "4a21c", "IL": "3n3n13n", "KW": "4a22c",
}


def gen_iban(rng: random.Random) -> tuple[str, str]:
    country = rng.choice(sorted(_IBAN_FORMATS))
    bban = []
    for count, kind in re.findall(r"(\d+)([nac])", _IBAN_FORMATS[country]):
        alphabet = {"n": "0123456789", "a": "ABCDEFGHIJKLMNOPQRSTUVWXYZ",
                    "c": "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"}[kind]
        bban.extend(rng.choice(alphabet) for _ in range(int(count)))
    body = "".join(bban)
    numeric = int("".join(str(int(c, 36)) for c in body + country + "00"))
    compact = f"{country}{98 - numeric % 97:02d}{body}"
    style = rng.choice(["compact", "spaces", "spaces"])
    text = compact if style == "compact" else " ".join(compact[i:i + 4] for i in range(0, len(compact), 4))
    return text, f"gen:iban_{style}"


def gen_ip(rng: random.Random) -> tuple[str, str]:
    style = rng.choice(["v4", "v4", "v4_private", "v6", "v6_compressed", "v6_full", "v4_mapped"])
    if style.startswith("v4"):
        while True:
            if style == "v4_private":
                private = rng.choice([(10 << 24), (172 << 24) | (16 << 16), (192 << 24) | (168 << 16)])
                addr = ipaddress.IPv4Address(private | rng.getrandbits(12))
            else:
                addr = ipaddress.IPv4Address(rng.getrandbits(32))
            if not (addr.is_loopback or addr.is_unspecified or addr.is_multicast or addr.is_reserved
                    or str(addr).endswith(".0")):
                return str(addr), f"gen:ip_{style}"
    if style == "v4_mapped":
        return f"::ffff:{ipaddress.IPv4Address(rng.getrandbits(32))}", "gen:ip_v4_mapped"
    if style == "v6_compressed":
        addr6 = ipaddress.IPv6Address((rng.choice([0x2001_0db8, 0x2a00_1450, 0x2606_4700]) << 96)
                                      | rng.getrandbits(20))
        return str(addr6), "gen:ip_v6_compressed"
    addr6 = ipaddress.IPv6Address((rng.choice([0x2, 0x3]) << 124) | rng.getrandbits(124))
    return (addr6.exploded if style == "v6_full" else str(addr6)), f"gen:ip_{style}"


def gen_ssn(rng: random.Random) -> tuple[str, str]:
    area = rng.choice([a for a in range(1, 900) if a != 666])
    group, serial = rng.randint(1, 99), rng.randint(1, 9999)
    style = rng.choice(["dashes", "dashes", "spaces", "none", "none"])
    sep = {"dashes": "-", "spaces": " ", "none": ""}[style]
    return f"{area:03d}{sep}{group:02d}{sep}{serial:04d}", f"gen:ssn_{style}"


_PHONE_REGIONS = ("US", "CA", "GB", "IE", "DE", "AT", "CH", "FR", "BE", "ES", "IT", "PT", "NL", "SE", "PL",
                  "BR", "MX", "AR", "IN", "JP", "CN", "KR", "TW", "AU", "NZ", "SG", "ZA")
_TYPES = (phonenumbers.PhoneNumberType.FIXED_LINE, phonenumbers.PhoneNumberType.MOBILE)


def _some_number(rng: random.Random, region: str) -> phonenumbers.PhoneNumber:
    for _ in range(100):
        example = phonenumbers.example_number_for_type(region, rng.choice(_TYPES))
        if example is None:
            continue
        national = str(example.national_number)
        keep = rng.randint(2, max(2, len(national) - 4))
        digits = national[:keep] + "".join(rng.choice("0123456789") for _ in national[keep:])
        number = phonenumbers.PhoneNumber(country_code=example.country_code, national_number=int(digits),
                                          italian_leading_zero=example.italian_leading_zero)
        if phonenumbers.is_valid_number(number):
            return number
    raise RuntimeError(region)


def _mix_separators(text: str, rng: random.Random) -> str:
    return re.sub(r"(?<=\d)[ \-.](?=\d)", lambda _: rng.choice([" ", "-", "."]), text)


def gen_phone(rng: random.Random) -> tuple[str, str]:
    fmt = phonenumbers.PhoneNumberFormat
    if rng.random() < 0.12:  # North American shape with any area code, assigned or not
        a, b, c = rng.randint(200, 999), rng.randint(200, 999), rng.randint(0, 9999)
        style = rng.choice(["parens", "parens_nospace", "dashes", "dots", "plus1"])
        text = {"parens": f"({a}) {b}-{c:04d}", "parens_nospace": f"({a}){b}-{c:04d}", "dashes": f"{a}-{b}-{c:04d}",
                "dots": f"{a}.{b}.{c:04d}", "plus1": f"+1 {a} {b} {c:04d}"}[style]
        return text, f"gen:phone_nanp_{style}"
    region = rng.choice(_PHONE_REGIONS)
    number = _some_number(rng, region)
    national = phonenumbers.format_number(number, fmt.NATIONAL)
    intl = phonenumbers.format_number(number, fmt.INTERNATIONAL)
    styles: dict[str, Callable[[], str]] = {
        "national": lambda: national,
        "intl": lambda: intl,
        "e164": lambda: phonenumbers.format_number(number, fmt.E164),
        "intl_mixed": lambda: _mix_separators(intl, rng),
        "national_dots": lambda: re.sub(r"[ \-]", ".", national.replace("(", "").replace(")", "")),
        "idd00": lambda: "00" + intl[1:],
        "rfc3966": lambda: phonenumbers.format_number(number, fmt.RFC3966),
    }
    prefix = phonenumbers.PhoneMetadata.metadata_for_region(region)
    trunk = prefix.national_prefix if prefix is not None else None
    if trunk == "0" and national.startswith("0"):
        cc = number.country_code
        styles["intl_trunk_parens"] = lambda: _mix_separators(f"+{cc} (0){national[1:]}", rng)
    style = rng.choice(sorted(styles))
    text = styles[style]()
    if rng.random() < 0.1:
        text += rng.choice([f"x{rng.randint(1, 99999)}", f" ext. {rng.randint(1, 999)}", f" ext {rng.randint(1, 999)}",
                            f" x{rng.randint(10, 999)}"])
        style += "_ext"
    return text, f"gen:phone_{region}_{style}"


def gen_email(rng: random.Random) -> tuple[str, str]:
    names = ["anna", "bjorn", "chen", "dmitri", "elif", "fumiko", "goran", "hiro", "ines", "jorge", "kasia", "lars",
             "mei", "nadia", "omar", "paula", "quentin", "rosa", "sven", "tomasz", "ulla", "vikram", "wen", "xavi"]
    domains = ["mail.example.co.jp", "example.com.br", "uni-example.de", "example.fr", "host.example.cn",
               "sub.domain.example.org", "example.co.uk", "example-shop.es", "example.it", "example.com.au",
               "example.nl", "example.io", "example.travel", "xn--example-9ua.de", "example.pl"]
    local = rng.choice(names)
    style = rng.choice(["plain", "dotted", "plus", "digits", "hyphen", "caps"])
    local = {"plain": local, "dotted": f"{local}.{rng.choice(names)}", "plus": f"{local}+{rng.choice(['a', 'tag'])}",
             "digits": f"{local}{rng.randint(1, 2024)}", "hyphen": f"{local}-{rng.choice(names)}",
             "caps": local.upper()}[style]
    return f"{local}@{rng.choice(domains)}", f"gen:email_{style}"


STRUCTURED: dict[str, Callable[[random.Random], tuple[str, str]]] = {
    "EMAIL_ADDRESS": gen_email, "PHONE_NUMBER": gen_phone, "CREDIT_CARD": gen_card, "IBAN_CODE": gen_iban,
    "IP_ADDRESS": gen_ip, "US_SSN": gen_ssn,
}

_CARD_TYPES = ("amex", "diners", "discover", "jcb15", "jcb16", "maestro", "mastercard", "visa13", "visa16", "visa19")
_IBAN_LOCALES = ("en_GB", "de_DE", "fr_FR", "es_ES", "it_IT", "nl_NL", "pl_PL", "pt_PT", "pt_BR", "de_AT", "de_CH")


def faker_value(kind: str, fakers: dict[str, Faker], rng: random.Random) -> tuple[str, str]:
    """A value of ``kind`` from Faker, in a random locale."""
    if kind == "PHONE_NUMBER":
        locale = rng.choice(LOCALES)
        return fakers[locale].phone_number(), f"faker:{locale}:phone_number"
    if kind == "EMAIL_ADDRESS":
        locale = rng.choice(LOCALES)
        method = rng.choice(["email", "free_email", "company_email", "ascii_email"])
        return getattr(fakers[locale], method)(), f"faker:{locale}:{method}"
    if kind == "CREDIT_CARD":
        card_type = rng.choice(_CARD_TYPES)
        return fakers["en_US"].credit_card_number(card_type), f"faker:en_US:credit_card_number:{card_type}"
    if kind == "IBAN_CODE":
        locale = rng.choice(_IBAN_LOCALES)
        return fakers[locale].iban(), f"faker:{locale}:iban"
    if kind == "IP_ADDRESS":
        method = rng.choice(["ipv4", "ipv4_public", "ipv4_private", "ipv6"])
        while True:
            value = getattr(fakers["en_US"], method)()
            address = ipaddress.ip_address(value)
            if not (address.is_loopback or address.is_unspecified):
                return value, f"faker:en_US:{method}"
    value = fakers["en_US"].ssn()
    return value, "faker:en_US:ssn"


# ------------------------------------------------------------------------------------------------ look-alikes


def _digits(rng: random.Random, n: int) -> str:
    return str(rng.randint(1, 9)) + "".join(rng.choice("0123456789") for _ in range(n - 1))


def _thousands(rng: random.Random) -> tuple[str, str]:
    n = rng.choice([rng.randint(1_000, 999_999), rng.randint(1_000_000, 999_999_999),
                    rng.randint(1_000_000_000, 99_999_999_999)])
    style = rng.choice(["de", "en", "fr", "ch", "de_cents", "in"])
    if style == "de":
        return f"{n:,}".replace(",", "."), "thousands_de"
    if style == "de_cents":
        return f"{n:,}".replace(",", ".") + f",{rng.randint(0, 99):02d}", "thousands_de_cents"
    if style == "fr":
        return f"{n:,}".replace(",", "\u202f" if rng.random() < 0.3 else " "), "thousands_fr"
    if style == "ch":
        return f"{n:,}".replace(",", "'"), "thousands_ch"
    if style == "in":
        s = str(n)
        head, tail = s[:-3], s[-3:]
        groups = []
        while len(head) > 2:
            groups.insert(0, head[-2:])
            head = head[:-2]
        if head:
            groups.insert(0, head)
        return ",".join([*groups, tail]) if groups else tail, "thousands_in"
    return f"{n:,}", "thousands_en"


def _tracking(rng: random.Random) -> tuple[str, str]:
    style = rng.choice(["usps22", "usps22_spaced", "ups", "fedex12", "fedex15", "dhl10", "royalmail", "postnl"])
    if style == "usps22":
        return "9" + rng.choice(["400", "205", "407", "303"]) + _digits(rng, 18), style
    if style == "usps22_spaced":
        raw = "9" + rng.choice(["400", "205", "407", "303"]) + _digits(rng, 18)
        return " ".join(raw[i:i + 4] for i in range(0, 22, 4)), style
    if style == "ups":
        return "1Z" + "".join(rng.choice("0123456789ABCDEFGHJKLMNPRSTVWXYZ") for _ in range(16)), style
    if style == "fedex12":
        return _digits(rng, 12), style
    if style == "fedex15":
        return _digits(rng, 15), style
    if style == "dhl10":
        return _digits(rng, 10), style
    if style == "royalmail":
        return f"{rng.choice(['RR', 'LX', 'CP'])}{_digits(rng, 9)}GB", style
    return f"3S{''.join(rng.choice('ABCDEFGHJKLMNPRSTVWXYZ') for _ in range(4))}{_digits(rng, 7)}", style


def _siret(rng: random.Random) -> tuple[str, str]:
    siren = _luhn(_digits(rng, 8))
    style = rng.choice(["siret", "siret_spaced", "siren", "siren_spaced", "tva"])
    if style.startswith("siren"):
        return (siren if style == "siren" else f"{siren[:3]} {siren[3:6]} {siren[6:]}"), style
    if style == "tva":
        key = (12 + 3 * (int(siren) % 97)) % 97
        return f"FR{key:02d}{siren}", style
    siret = _luhn(siren + f"{rng.randint(1, 9999):04d}")
    return (siret if style == "siret" else f"{siret[:3]} {siret[3:6]} {siret[6:9]} {siret[9:]}"), style


def _version(rng: random.Random) -> tuple[str, str]:
    a, b, c, d = rng.randint(0, 30), rng.randint(0, 99), rng.randint(0, 300), rng.randint(0, 9999)
    style = rng.choice(["four_part", "four_part_v", "three_part", "build_date", "kernel", "semver_range"])
    return {
        "four_part": f"{a}.{b}.{c}.{d % 256}",
        "four_part_v": f"v{a}.{b}.{c}.{d}",
        "three_part": f"{a}.{b}.{c}",
        "build_date": f"{rng.randint(2019, 2026)}.{rng.randint(1, 12)}.{rng.randint(1, 28)}.{rng.randint(1, 9)}",
        "kernel": f"{rng.randint(4, 6)}.{rng.randint(0, 19)}.{rng.randint(0, 200)}-{rng.randint(1, 200)}-generic",
        "semver_range": f">={a}.{b}.{c},<{a + 1}.0.0",
    }[style], style


def _ein(rng: random.Random, fakers: dict[str, Faker]) -> tuple[str, str]:
    if rng.random() < 0.5:
        return fakers["en_US"].ein(), "ein_faker"
    return f"{rng.randint(10, 99)}-{rng.randint(1_000_000, 9_999_999)}", "ein"


# Fixed bounds for dates (Faker's defaults end "now", which would change the set from run to run).
_EPOCH_START = datetime.datetime(1990, 1, 1)
_EPOCH_END = datetime.datetime(2030, 1, 1)


def _other(rng: random.Random, fakers: dict[str, Faker]) -> tuple[str, str]:
    f = fakers["en_US"]
    style = rng.choice(["order", "invoice", "epoch_s", "epoch_ms", "iso_ts", "sha1", "md5", "uuid", "price",
                        "date", "ean13", "isbn13", "imei", "coords", "duration", "percent", "port", "zip",
                        "account", "build", "sku", "phone_like_ticket", "time_range", "hex_color", "gtin14"])
    if style == "order":
        return rng.choice([f"#{_digits(rng, rng.randint(6, 11))}", f"ORD{_digits(rng, 9)}", _digits(rng, 10),
                           f"0{_digits(rng, 9)}", f"{_digits(rng, 3)}-{_digits(rng, 7)}-{_digits(rng, 7)}"]), style
    if style == "invoice":
        return f"{rng.choice(['INV', 'RE', 'FA', 'F'])}-{rng.randint(2019, 2026)}-{_digits(rng, 5)}", style
    if style == "epoch_s":
        return str(rng.randint(1_500_000_000, 1_800_000_000)), style
    if style == "epoch_ms":
        return str(rng.randint(1_500_000_000_000, 1_800_000_000_000)), style
    if style == "iso_ts":
        moment = f.date_time_between(start_date=_EPOCH_START, end_date=_EPOCH_END)
        return moment.isoformat() + rng.choice(["", "Z", "+09:00", ".123456"]), style
    if style == "sha1":
        return f.sha1(), style
    if style == "md5":
        return f.md5(), style
    if style == "uuid":
        return f.uuid4(), style
    if style == "price":
        return rng.choice([f"${rng.randint(1, 99_999):,}.{rng.randint(0, 99):02d}",
                           f"{rng.randint(1, 9999)},{rng.randint(0, 99):02d} €",
                           f"¥{rng.randint(100, 9_999_999):,}",
                           f"R$ {rng.randint(1, 99_999):,}".replace(",", ".") + ",00",
                           f"{rng.randint(1, 999_999):,} JPY"]), style
    if style == "date":
        day = f.date_between(start_date=_EPOCH_START, end_date=_EPOCH_END)
        return day.strftime(rng.choice(["%Y-%m-%d", "%d.%m.%Y", "%m/%d/%Y", "%d/%m/%Y", "%Y/%m/%d", "%Y%m%d",
                                        "%d-%m-%Y"])), style
    if style == "ean13":
        return f.ean13(), style
    if style == "isbn13":
        return f.isbn13(), style
    if style == "imei":
        return _luhn(rng.choice(["35", "86", "01", "99"]) + _digits(rng, 12)), style
    if style == "coords":
        return f"{f.latitude():.6f}, {f.longitude():.6f}", style
    if style == "duration":
        hh, mm, ss, ms = rng.randint(0, 23), rng.randint(0, 59), rng.randint(0, 59), rng.randint(0, 999)
        return f"{hh:02d}:{mm:02d}:{ss:02d}.{ms:03d}", style
    if style == "percent":
        return f"{rng.uniform(0, 100):.2f}%", style
    if style == "port":
        return f"{f.hostname()}:{rng.randint(1024, 65535)}", style
    if style == "zip":
        return rng.choice([f.zipcode(), f"{_digits(rng, 5)}-{_digits(rng, 4)}",
                           f"{rng.randint(100, 999)}-{rng.randint(1000, 9999)}"]), style
    if style == "account":
        return f"{_digits(rng, 4)} {_digits(rng, 4)} {_digits(rng, 2)}", style
    if style == "build":
        return f"build {rng.randint(1, 99999)} ({f.sha1()[:7]})", style
    if style == "sku":
        return f"{rng.choice(['SKU', 'ART', 'PN'])}-{_digits(rng, 4)}-{_digits(rng, 4)}", style
    if style == "phone_like_ticket":
        return f"INC{_digits(rng, 7)}", style
    if style == "time_range":
        return f"{rng.randint(8, 11)}:00-{rng.randint(12, 18)}:30", style
    if style == "hex_color":
        return "#" + f.hex_color()[1:], style
    return _luhn(_digits(rng, 13)), style


def lookalike_value(rng: random.Random, fakers: dict[str, Faker]) -> tuple[str, str]:
    """A value that is not personal data but looks like some (digits, dots, dashes, checksums)."""
    roll = rng.random()
    if roll < 0.12:
        return _thousands(rng)
    if roll < 0.24:
        return _tracking(rng)
    if roll < 0.34:
        return _siret(rng)
    if roll < 0.46:
        return _version(rng)
    if roll < 0.54:
        return _ein(rng, fakers)
    return _other(rng, fakers)


# ------------------------------------------------------------------------------------------------- templates

# {V}: the value. Per language, templates that name the kind of value (context) and neutral ones.
_NAMED: dict[str, dict[str, list[str]]] = {
    "en": {
        "EMAIL_ADDRESS": ["You can email me at {V} any time.", "Her address is {V}, please add her to the thread."],
        "PHONE_NUMBER": ["Call me on {V} after six.", "My phone number is {V}.", "Mobile: {V}",
                         "For urgent issues ring {V}."],
        "CREDIT_CARD": ["Charge it to my card {V} please.", "Card number: {V}"],
        "IBAN_CODE": ["Please wire the refund to IBAN {V}.", "Bank account (IBAN): {V}"],
        "IP_ADDRESS": ["The login came from {V} last night.", "Blocked IP address {V} after 5 failed attempts."],
        "US_SSN": ["My SSN is {V}.", "Social security number: {V}"],
    },
    "de": {
        "EMAIL_ADDRESS": ["Schreiben Sie mir an {V}.", "Meine E-Mail-Adresse lautet {V}."],
        "PHONE_NUMBER": ["Rufen Sie mich unter {V} an.", "Meine Telefonnummer ist {V}.", "Tel.: {V}",
                         "Erreichbar mobil unter {V}."],
        "CREDIT_CARD": ["Bitte belasten Sie meine Kreditkarte {V}.", "Kartennummer: {V}"],
        "IBAN_CODE": ["Bitte überweisen Sie den Betrag auf {V}.", "IBAN: {V}"],
        "IP_ADDRESS": ["Der Zugriff erfolgte von {V}.", "IP-Adresse {V} wurde gesperrt."],
        "US_SSN": ["Meine amerikanische Sozialversicherungsnummer (SSN) ist {V}.", "SSN: {V}"],
    },
    "fr": {
        "EMAIL_ADDRESS": ["Écrivez-moi à {V} svp.", "Mon adresse e-mail est {V}."],
        "PHONE_NUMBER": ["Appelez-moi au {V}.", "Mon numéro de téléphone est le {V}.", "Tél. : {V}",
                         "Portable : {V}"],
        "CREDIT_CARD": ["Veuillez débiter ma carte {V}.", "Numéro de carte bancaire : {V}"],
        "IBAN_CODE": ["Merci de virer le montant sur l'IBAN {V}.", "Coordonnées bancaires : {V}"],
        "IP_ADDRESS": ["La connexion provenait de {V}.", "Adresse IP bloquée : {V}"],
        "US_SSN": ["Mon numéro de sécurité sociale américain (SSN) est {V}.", "SSN : {V}"],
    },
    "es": {
        "EMAIL_ADDRESS": ["Escríbeme a {V} cuando puedas.", "Mi correo es {V}."],
        "PHONE_NUMBER": ["Llámame al {V}.", "Mi número de teléfono es {V}.", "Móvil: {V}", "Tel. {V}"],
        "CREDIT_CARD": ["Cárgalo a mi tarjeta {V}.", "Número de tarjeta: {V}"],
        "IBAN_CODE": ["Transfiere el reembolso a {V}.", "Cuenta bancaria (IBAN): {V}"],
        "IP_ADDRESS": ["El acceso vino de {V}.", "Dirección IP bloqueada: {V}"],
        "US_SSN": ["Mi número de seguro social es {V}.", "SSN: {V}"],
    },
    "it": {
        "EMAIL_ADDRESS": ["Scrivimi a {V}.", "La mia email è {V}."],
        "PHONE_NUMBER": ["Chiamami al {V}.", "Il mio numero di telefono è {V}.", "Cell.: {V}", "Tel. {V}"],
        "CREDIT_CARD": ["Addebita sulla mia carta {V}.", "Numero della carta di credito: {V}"],
        "IBAN_CODE": ["Effettua il bonifico su {V}.", "IBAN: {V}"],
        "IP_ADDRESS": ["L'accesso proveniva da {V}.", "Indirizzo IP bloccato: {V}"],
        "US_SSN": ["Il mio social security number è {V}.", "SSN: {V}"],
    },
    "pt": {
        "EMAIL_ADDRESS": ["Me mande um e-mail em {V}.", "Meu e-mail é {V}."],
        "PHONE_NUMBER": ["Ligue para {V} depois das 18h.", "Meu telefone é {V}.", "Celular: {V}",
                         "WhatsApp {V}"],
        "CREDIT_CARD": ["Cobre no meu cartão {V}.", "Número do cartão: {V}"],
        "IBAN_CODE": ["Transfira o valor para o IBAN {V}.", "Conta (IBAN): {V}"],
        "IP_ADDRESS": ["O acesso veio de {V}.", "Endereço IP bloqueado: {V}"],
        "US_SSN": ["Meu número de seguro social é {V}.", "SSN: {V}"],
    },
    "ja": {
        "EMAIL_ADDRESS": ["メールアドレスは{V}です。", "{V}までご連絡ください。"],
        "PHONE_NUMBER": ["電話番号は{V}です。", "{V}までお電話ください。", "携帯：{V}", "TEL{V}（平日のみ）"],
        "CREDIT_CARD": ["カード番号は{V}です。", "クレジットカード{V}で支払います。"],
        "IBAN_CODE": ["振込先のIBANは{V}です。", "口座（IBAN）：{V}"],
        "IP_ADDRESS": ["{V}からのアクセスを検知しました。", "IPアドレス{V}をブロックしました。"],
        "US_SSN": ["社会保障番号は{V}です。", "SSN：{V}"],
    },
    "zh": {
        "EMAIL_ADDRESS": ["我的邮箱是{V}，请联系。", "请发邮件到{V}。"],
        "PHONE_NUMBER": ["我的电话是{V}。", "手机号码：{V}", "请拨打{V}联系我。", "联系电话{V}"],
        "CREDIT_CARD": ["我的信用卡号是{V}。", "卡号：{V}"],
        "IBAN_CODE": ["请汇款到IBAN{V}。", "银行账户：{V}"],
        "IP_ADDRESS": ["来自{V}的登录请求。", "已封禁IP地址{V}。"],
        "US_SSN": ["我的社会安全号码是{V}。", "SSN：{V}"],
    },
}
_NEUTRAL: dict[str, list[str]] = {
    "en": ["Please update the customer record with {V} before Friday.", "Details: {V}",
           "The form said {V}, is that right?", "Noted {V} in the ticket, thanks."],
    "de": ["Bitte ergänzen Sie im Kundendatensatz: {V}", "Angaben: {V}", "Im Formular stand {V}, stimmt das?"],
    "fr": ["Merci de mettre à jour la fiche client avec {V}.", "Détails : {V}",
           "Le formulaire indique {V}, c'est juste ?"],
    "es": ["Actualiza la ficha del cliente con {V}, por favor.", "Datos: {V}",
           "En el formulario pone {V}, ¿es correcto?"],
    "it": ["Aggiorna la scheda cliente con {V}.", "Dati: {V}", "Nel modulo c'è scritto {V}, giusto?"],
    "pt": ["Atualize o cadastro do cliente com {V}.", "Dados: {V}", "No formulário está {V}, certo?"],
    "ja": ["顧客情報を{V}に更新してください。", "詳細：{V}", "フォームには{V}と書いてありました。"],
    "zh": ["请把客户资料更新为{V}。", "详细信息：{V}", "表格上写的是{V}，对吗？"],
}
# Look-alike templates say what the value is, per category and language, as such values are written.
_LOOKALIKE_TEMPLATES: dict[str, dict[str, list[str]]] = {
    "version": {
        "en": ["Firmware {V} is rolling out to all devices.", "Upgraded the driver to version {V}."],
        "de": ["Firmware {V} wird verteilt.", "Bitte auf Version {V} aktualisieren."],
        "fr": ["Le firmware {V} est en cours de déploiement.", "Version {V} déployée."],
        "es": ["La versión {V} ya está disponible.", "Firmware {V} instalado."],
        "it": ["La versione {V} è disponibile.", "Firmware aggiornato a {V}."],
        "pt": ["A versão {V} já está disponível.", "Firmware {V} instalado."],
        "ja": ["ファームウェア{V}を配信しました。", "バージョン{V}に更新してください。"],
        "zh": ["固件版本{V}已发布。", "请升级到版本{V}。"],
    },
    "parcel": {
        "en": ["Your parcel {V} is out for delivery.", "Tracking number: {V}"],
        "de": ["Ihre Sendung {V} ist unterwegs.", "Sendungsnummer: {V}"],
        "fr": ["Votre colis {V} est en cours de livraison.", "Numéro de suivi : {V}"],
        "es": ["Su paquete {V} está en reparto.", "Número de seguimiento: {V}"],
        "it": ["Il pacco {V} è in consegna.", "Codice di tracciamento: {V}"],
        "pt": ["Sua encomenda {V} saiu para entrega.", "Código de rastreio: {V}"],
        "ja": ["お荷物{V}は配達中です。", "追跡番号：{V}"],
        "zh": ["您的包裹{V}正在派送。", "快递单号：{V}"],
    },
    "company": {
        "en": ["Employer identification number {V} is on the W-2.", "Company registration: {V}"],
        "de": ["Die Firma ist unter {V} registriert.", "Handelsregister/SIRET: {V}"],
        "fr": ["Le numéro SIRET {V} figure sur la facture.", "SIREN / TVA de la société : {V}"],
        "es": ["El número fiscal de la empresa es {V}.", "Registro mercantil: {V}"],
        "it": ["Partita IVA / SIRET della società: {V}", "Numero di registrazione dell'azienda {V}."],
        "pt": ["O registro da empresa é {V}.", "Identificação fiscal da empresa: {V}"],
        "ja": ["法人番号（SIRET）は{V}です。", "会社登録番号：{V}"],
        "zh": ["公司注册号为{V}。", "企业编号：{V}"],
    },
    "amount": {
        "en": ["The total came to {V} this quarter.", "Population: {V}"],
        "de": ["Der Umsatz betrug {V} Euro.", "Einwohner: {V}"],
        "fr": ["Le chiffre d'affaires atteint {V} euros.", "Montant total : {V}"],
        "es": ["El total fue {V}.", "Importe: {V}"],
        "it": ["Il fatturato è di {V} euro.", "Totale: {V}"],
        "pt": ["O total foi {V}.", "Valor: {V}"],
        "ja": ["売上は{V}でした。", "合計：{V}"],
        "zh": ["总额为{V}。", "金额：{V}"],
    },
    "reference": {
        "en": ["Reference: {V}", "Order {V} has shipped."],
        "de": ["Vorgang {V} wurde abgeschlossen.", "Bestellnummer: {V}"],
        "fr": ["Référence : {V}", "Commande {V} expédiée."],
        "es": ["Referencia: {V}", "Pedido {V} enviado."],
        "it": ["Riferimento: {V}", "Ordine {V} spedito."],
        "pt": ["Referência: {V}", "Pedido {V} enviado."],
        "ja": ["参照番号：{V}", "注文{V}を発送しました。"],
        "zh": ["参考编号：{V}", "订单{V}已发货。"],
    },
    "time": {
        "en": ["Logged at {V} by the scheduler.", "Last seen {V}."],
        "de": ["Protokolliert um {V}.", "Zuletzt gesehen: {V}"],
        "fr": ["Enregistré à {V}.", "Dernière activité : {V}"],
        "es": ["Registrado a las {V}.", "Última conexión: {V}"],
        "it": ["Registrato alle {V}.", "Ultimo accesso: {V}"],
        "pt": ["Registrado em {V}.", "Último acesso: {V}"],
        "ja": ["{V}に記録されました。", "最終アクセス：{V}"],
        "zh": ["记录时间{V}。", "最后访问：{V}"],
    },
    "tech": {
        "en": ["Build {V} passed all checks.", "Checksum {V} verified."],
        "de": ["Build {V} war erfolgreich.", "Prüfsumme {V} stimmt."],
        "fr": ["Le build {V} a réussi.", "Somme de contrôle : {V}"],
        "es": ["La compilación {V} pasó.", "Suma de verificación: {V}"],
        "it": ["Build {V} completata.", "Checksum: {V}"],
        "pt": ["O build {V} passou.", "Checksum: {V}"],
        "ja": ["ビルド{V}は成功しました。", "チェックサム：{V}"],
        "zh": ["构建{V}已通过。", "校验和：{V}"],
    },
}
_CATEGORY = {
    "four_part": "version", "four_part_v": "version", "three_part": "version", "build_date": "version",
    "kernel": "version", "semver_range": "version",
    "usps22": "parcel", "usps22_spaced": "parcel", "ups": "parcel", "fedex12": "parcel", "fedex15": "parcel",
    "dhl10": "parcel", "royalmail": "parcel", "postnl": "parcel",
    "siret": "company", "siret_spaced": "company", "siren": "company", "siren_spaced": "company", "tva": "company",
    "ein": "company", "ein_faker": "company",
    "thousands_de": "amount", "thousands_de_cents": "amount", "thousands_fr": "amount", "thousands_ch": "amount",
    "thousands_in": "amount", "thousands_en": "amount", "price": "amount", "percent": "amount",
    "order": "reference", "invoice": "reference", "ean13": "reference", "isbn13": "reference", "sku": "reference",
    "account": "reference", "phone_like_ticket": "reference", "gtin14": "reference", "zip": "reference",
    "epoch_s": "time", "epoch_ms": "time", "iso_ts": "time", "date": "time", "duration": "time",
    "time_range": "time",
    "sha1": "tech", "md5": "tech", "uuid": "tech", "imei": "tech", "coords": "tech", "port": "tech",
    "build": "tech", "hex_color": "tech",
}
# Look-alikes that nothing but their label tells apart from PII (an IP-shaped version, a Luhn-valid 14-digit
# SIRET or GTIN that could be a Diners card): always written with their label, in a sentence or under a key.
_LABEL_ONLY = {"four_part", "siret", "gtin14"}
_LOOKALIKE_KEYS = {
    "version": ["version", "firmware", "fw_version"], "parcel": ["tracking_number", "trackingId", "parcel"],
    "company": ["ein", "siret", "siren", "company_id", "vat_id"], "amount": ["total", "amount", "population"],
    "reference": ["order_id", "reference", "sku", "ean", "invoice"], "time": ["created_at", "timestamp", "date"],
    "tech": ["checksum", "build", "imei", "device_imei", "commit", "request_id"],
}

# Keys a value is stored under in JSON, CSV, logs and XML (split into words when given as context).
_KEYS = {
    "EMAIL_ADDRESS": ["email", "e_mail", "contactEmail", "mail"],
    "PHONE_NUMBER": ["phone", "phone_number", "mobile", "tel", "telephone", "contactPhone", "fax"],
    "CREDIT_CARD": ["card_number", "cc_number", "creditCard", "pan"],
    "IBAN_CODE": ["iban", "bank_account", "ibanCode"],
    "IP_ADDRESS": ["ip", "client_ip", "remote_addr", "ipAddress", "source_ip"],
    "US_SSN": ["ssn", "social_security_number", "ssnNumber", "taxpayer_ssn"],
}
_NAMES = ["Hanna Berg", "Luis Ortega", "Akira Sato", "Li Na", "Marie Dupont", "Giulia Romano", "João Silva",
          "Sam Carter"]


def _split_key(key: str) -> tuple[str, ...]:
    return tuple(w.lower() for w in re.findall(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+", key))


class _Builder:
    """Accumulates text and the labelled spans in it."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.values: list[Labelled] = []
        self.pos = 0

    def text(self, s: str) -> None:
        self.parts.append(s)
        self.pos += len(s)

    def value(self, s: str, kind: str, pii: bool, source: str) -> None:
        self.values.append(Labelled(self.pos, self.pos + len(s), kind, pii, source))
        self.text(s)

    def template(self, template: str, value: str, kind: str, pii: bool, source: str) -> None:
        before, _, after = template.partition("{V}")
        self.text(before)
        self.value(value, kind, pii, source)
        self.text(after)


def _embed(builder: _Builder, shape: str, language: str, kind: str, value: str, pii: bool, source: str,
           key: str, rng: random.Random) -> tuple[str, ...]:
    """Writes the value into the builder in the given shape; returns the context words (JSON leaves only)."""
    name = rng.choice(_NAMES)
    if shape == "sentence":
        if pii:
            named = rng.random() < 0.7
            templates = _NAMED[language][kind] if named else _NEUTRAL[language]
        else:
            category = _CATEGORY[kind]
            labelled = kind in _LABEL_ONLY or rng.random() < 0.7
            templates = _LOOKALIKE_TEMPLATES[category][language] if labelled else _NEUTRAL[language]
        builder.template(rng.choice(templates), value, kind, pii, source)
    elif shape == "json":
        document = {"id": rng.randint(1, 99999), "name": name, key: "\x00", "lang": language}
        before, _, after = json.dumps(document, ensure_ascii=False).partition('"\\u0000"')
        builder.text(before + '"')
        builder.value(value, kind, pii, source)
        builder.text('"' + after)
    elif shape == "json_leaf":
        builder.value(value, kind, pii, source)
        return _split_key(key)
    elif shape == "csv":
        builder.text(f"id,name,{key},country\n{rng.randint(1, 9999)},{name},")
        builder.value(value, kind, pii, source)
        builder.text(f",{language.upper()}")
    elif shape == "log":
        level = rng.choice(["INFO", "WARN", "DEBUG"])
        builder.text(f"2025-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}T0{rng.randint(0, 9)}:1{rng.randint(0, 9)}:"
                     f"2{rng.randint(0, 9)}Z {level} svc=checkout {key}=")
        builder.value(value, kind, pii, source)
        builder.text(f" latency_ms={rng.randint(1, 900)}")
    else:  # xml
        builder.text(f"<record><name>{name}</name><{key}>")
        builder.value(value, kind, pii, source)
        builder.text(f"</{key}></record>")
    return ()


_SHAPES = ("sentence",) * 12 + ("json", "json", "json_leaf", "json_leaf", "csv", "log", "log", "xml")


def generate(n_pii: int = 3_100, n_lookalike: int = 2_000, seed: int = SEED) -> list[Sample]:
    """``n_pii`` samples with one PII value each (the kinds in turn) and ``n_lookalike`` look-alike samples."""
    rng = random.Random(seed)
    fakers: dict[str, Faker] = {}
    for i, locale in enumerate(LOCALES):
        fakers[locale] = Faker(locale)
        fakers[locale].seed_instance(seed + i)
    samples: list[Sample] = []
    for i in range(n_pii):
        kind = KINDS[i % len(KINDS)]
        value, source = faker_value(kind, fakers, rng) if rng.random() < 0.55 else STRUCTURED[kind](rng)
        language, shape = rng.choice(LANGUAGES), rng.choice(_SHAPES)
        builder = _Builder()
        if value.isdecimal() and shape == "sentence":
            builder.template(rng.choice(_NAMED[language][kind]), value, kind, True, source)
            context: tuple[str, ...] = ()
        else:
            context = _embed(builder, shape, language, kind, value, True, source, rng.choice(_KEYS[kind]), rng)
        samples.append(Sample("".join(builder.parts), tuple(builder.values), language, shape, context))
    for _ in range(n_lookalike):
        value, style = lookalike_value(rng, fakers)
        language, shape = rng.choice(LANGUAGES), rng.choice(_SHAPES)
        builder = _Builder()
        context = _embed(builder, shape, language, style, value, False, f"lookalike:{style}",
                         rng.choice(_LOOKALIKE_KEYS[_CATEGORY[style]]), rng)
        samples.append(Sample("".join(builder.parts), tuple(builder.values), language, shape, context))
    rng.shuffle(samples)
    return samples


# ------------------------------------------------------------------------------------------------- measuring


@dataclass
class Report:
    """What a redactor did on the set: per entity, values fully gone / partly left / untouched; look-alikes
    changed; and the sources of what was missed (for the benchmark's listing)."""

    total: dict[str, int] = field(default_factory=dict)
    caught: dict[str, int] = field(default_factory=dict)
    partial: dict[str, int] = field(default_factory=dict)
    lookalikes: int = 0
    lookalikes_changed: int = 0
    missed: list[tuple[str, str, str, str]] = field(default_factory=list)  # (kind, source, value, text)
    changed: list[tuple[str, str, str]] = field(default_factory=list)  # (source, text, redacted)

    def recall(self, kind: str) -> float:
        return self.caught.get(kind, 0) / self.total[kind]

    @property
    def lookalike_share(self) -> float:
        return self.lookalikes_changed / self.lookalikes


def _alnum(s: str) -> str:
    return "".join(c for c in s if c.isalnum())


def measure(redact: Callable[[Sample], str], samples: list[Sample]) -> Report:
    """Runs ``redact`` (sample -> redacted text) on every sample. A PII value is caught when none of its letters
    or digits is left where it was: every character of it is inside a redaction. It is a partial leak when some
    are redacted and some are left. A look-alike sample counts as changed when its text changed at all."""
    report = Report()
    for sample in samples:
        redacted = redact(sample)
        for v in sample.values:
            if not v.pii:
                report.lookalikes += 1
                if redacted != sample.text:
                    report.lookalikes_changed += 1
                    report.changed.append((v.source, sample.text, redacted))
                continue
            report.total[v.kind] = report.total.get(v.kind, 0) + 1
            value = sample.text[v.start:v.end]
            left = _changed_middle(sample.text, redacted, v.start, v.end)
            kept = _kept_characters(value, left)
            if kept == 0:
                report.caught[v.kind] = report.caught.get(v.kind, 0) + 1
            else:
                if kept < len(_alnum(value)):
                    report.partial[v.kind] = report.partial.get(v.kind, 0) + 1
                report.missed.append((v.kind, v.source, value, sample.text))
    return report


def _changed_middle(text: str, redacted: str, start: int, end: int) -> str:
    """The part of ``redacted`` standing where text[start:end] stood: from the first character that differs
    (or the value's start) to the last one that differs (or the value's end)."""
    p = 0
    limit = min(start, len(redacted))
    while p < limit and text[p] == redacted[p]:
        p += 1
    q = 0
    limit = min(len(text) - end, len(redacted) - p)
    while q < limit and text[-1 - q] == redacted[-1 - q]:
        q += 1
    return redacted[p:len(redacted) - q]


_PLACEHOLDER = re.compile(r"<[A-Z_]+(?::[0-9a-f]{16})?>")


def _kept_characters(value: str, left: str) -> int:
    """How many letters and digits of ``value`` survive, in order, in ``left`` (placeholders removed)."""
    left = _alnum(_PLACEHOLDER.sub(" ", left))
    value = _alnum(value)
    if value in left:
        return len(value)
    # The longest run of the value's characters left in place: the start or the end that was not redacted.
    best = 0
    for i in range(len(value)):
        for j in range(len(value), i + best, -1):
            if value[i:j] in left:
                best = j - i
                break
    return best if best >= 2 else 0
