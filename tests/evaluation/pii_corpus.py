"""A seeded, labelled synthetic corpus for measuring PII redaction.

Every sample is a sentence built from a template with PII values (emails, phone numbers, credit cards, IBANs,
IP addresses, US SSNs, crypto wallets) and ordinary values that must *not* be redacted (numbers, prices, dates,
timestamps, order ids, account numbers, version strings, UUIDs, hashes, code). Each value's character span and
kind is recorded, so a test can check that every PII value is gone after redaction and count how many distractors
were touched.

Values are generated, not copied: credit cards pass Luhn, IBANs carry correct mod-97 check digits, wallets carry
correct base58check / bech32 checksums, phone numbers are valid per ``phonenumbers`` metadata and are printed in
many national and international styles. The same seed always gives the same corpus.

Used by ``tests/evaluation/test_pii.py`` and ``benchmarks/pii_accuracy.py``.
"""

from __future__ import annotations

import hashlib
import ipaddress
import random
import re
from collections.abc import Callable
from dataclasses import dataclass

import phonenumbers

#: PII kinds the corpus labels (entity types as the redactor names them).
PII_KINDS = ("EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "IBAN_CODE", "IP_ADDRESS", "US_SSN", "CRYPTO")


@dataclass(frozen=True)
class Value:
    """One labelled value inside a sample's text."""

    start: int
    end: int
    kind: str  # an entity type from PII_KINDS, or a distractor kind ("date", "uuid", ...)
    pii: bool
    style: str = ""  # the format variant ("e164", "spaced", ...), for per-format reporting


@dataclass(frozen=True)
class Sample:
    text: str
    values: tuple[Value, ...]


# --------------------------------------------------------------------------------------------- PII values

_FIRST = ["jane", "john", "maria", "li", "ahmed", "olga", "pierre", "sofia", "raj", "emma", "lukas", "chloe",
          "mateo", "yuki", "noah", "amelie", "fatima", "oliver", "zoe", "ivan"]
_LAST = ["doe", "smith", "garcia", "wang", "khan", "petrova", "dubois", "rossi", "patel", "schmidt", "martin",
         "tanaka", "oconnor", "silva", "nguyen", "novak", "mueller", "kowalski", "jensen", "haddad"]
_DOMAINS = ["example.com", "gmail.com", "outlook.com", "acme-corp.io", "mail.uni-heidelberg.de", "company.co.uk",
            "startup.ai", "post.example.org", "yahoo.fr", "dev.team.example.net", "web.de", "proton.me",
            "consulting.com.au", "shop.example.dev", "health-care.example.us"]


def email(rng: random.Random) -> tuple[str, str]:
    first, last = rng.choice(_FIRST), rng.choice(_LAST)
    style = rng.choice(["dot", "initial", "underscore", "plus", "digits", "upper"])
    local = {
        "dot": f"{first}.{last}",
        "initial": f"{first[0]}{last}",
        "underscore": f"{first}_{last}",
        "plus": f"{first}+{rng.choice(['news', 'spam', 'work'])}",
        "digits": f"{first}{rng.randint(1, 9999)}",
        "upper": f"{first.capitalize()}.{last.capitalize()}",
    }[style]
    return f"{local}@{rng.choice(_DOMAINS)}", style


# Regions whose numbers are printed in national style too; any other country only internationally.
_NATIONAL_REGIONS = ["US", "GB", "DE", "FR", "IN", "ES", "IT", "AU", "CA", "JP", "NL", "KR", "BR", "CN"]
_INTERNATIONAL_ONLY = ["JP", "BR", "CH", "SE", "MX", "SG", "BE", "AT", "PL", "IE", "ZA", "NZ", "KR", "PT", "AR"]
_PHONE_TYPES = [phonenumbers.PhoneNumberType.FIXED_LINE, phonenumbers.PhoneNumberType.MOBILE]


def _valid_number(rng: random.Random, region: str) -> phonenumbers.PhoneNumber:
    """A random number that phonenumbers considers valid: an example number with its tail randomised."""
    for _ in range(200):
        example = phonenumbers.example_number_for_type(region, rng.choice(_PHONE_TYPES))
        if example is None:
            continue
        national = str(example.national_number)
        keep = max(2, len(national) - rng.randint(4, 6))
        digits = national[:keep] + "".join(str(rng.randint(0, 9)) for _ in range(len(national) - keep))
        candidate = phonenumbers.PhoneNumber(country_code=example.country_code, national_number=int(digits))
        if example.italian_leading_zero:
            candidate.italian_leading_zero = True
        if phonenumbers.is_valid_number(candidate):
            return candidate
    raise RuntimeError(f"could not generate a valid number for {region}")


def phone(rng: random.Random) -> tuple[str, str]:
    """A valid phone number in one of many common written styles; returns (text, style)."""
    if rng.random() < 0.15:  # the classic fictional US numbers used in examples
        number = phonenumbers.parse(f"+1 {rng.choice(['415', '212', '617', '303'])} 555 01{rng.randint(0, 99):02d}")
        region = "US"
    else:
        region = rng.choice(_NATIONAL_REGIONS if rng.random() < 0.65 else _INTERNATIONAL_ONLY)
        number = _valid_number(rng, region)
    fmt = phonenumbers.PhoneNumberFormat
    intl = phonenumbers.format_number(number, fmt.INTERNATIONAL)  # "+44 20 7946 0958"
    e164 = phonenumbers.format_number(number, fmt.E164)  # "+442079460958"
    international: dict[str, Callable[[], str]] = {
        "intl": lambda: intl,
        "intl_dashes": lambda: intl.replace(" ", "-").replace(".", "-"),
        "intl_dots": lambda: intl.replace(" ", ".").replace("-", "."),
        "e164": lambda: e164,
        "idd_00": lambda: "00" + intl[1:],
    }
    styles: dict[str, Callable[[], str]] = {}
    if region in _NATIONAL_REGIONS:
        national = phonenumbers.format_number(number, fmt.NATIONAL)  # "020 7946 0958", "(415) 555-0132"
        plain = national.replace("(", "").replace(")", "").replace("-", " ").split()
        styles.update({"national": lambda: national, "national_dashes": lambda: "-".join(plain)})
        if len(plain) >= 3:  # "415.555.0132", "01.23.45.67.89"; nobody writes "07400.159017"
            styles["national_dots"] = lambda: ".".join(plain)
        if national.startswith("0") and len(plain[0]) == 2 and len("".join(plain[1:])) >= 5:
            # "06.12345678": a trunk zero, one area digit, a dot, the subscriber number.
            styles["trunk_dot"] = lambda: f"{plain[0]}.{''.join(plain[1:])}"
        if region == "AU" and len(str(number.national_number)) == 9:
            local = str(number.national_number)[1:]  # "9876.5432": a local number without its area code
            styles["local_dot"] = lambda: f"{local[:4]}.{local[4:]}"  # like a decimal: with a phone word only
        if region == "ES":  # "612.345.678": written like an amount, so only in templates with a phone word
            digits = str(number.national_number)
            styles["thousands_dots"] = lambda: f"{digits[:3]}.{digits[3:6]}.{digits[6:]}"
        if national.startswith("0") and region not in ("IT",):
            cc = str(number.country_code)
            # "+44 (0)20 7946 0958": the trunk zero in parentheses, common in the UK and Germany.
            styles["intl_trunk"] = lambda: f"+{cc} (0){national[1:]}"
        if region in ("US", "CA"):
            digits = str(number.national_number)
            styles["us_one_dashes"] = lambda: f"1-{digits[:3]}-{digits[3:6]}-{digits[6:]}"
            styles["us_plus_parens"] = lambda: f"+1 ({digits[:3]}) {digits[3:6]}-{digits[6:]}"
            styles["bare_national"] = lambda: digits  # only in templates with a phone context word
        if region == "DE":
            area, _, rest = national.partition(" ")
            styles["de_slash"] = lambda: f"{area}/{rest.replace(' ', '')}"
        if region == "IN" and str(number.national_number)[0] in "6789":
            digits = str(number.national_number)
            styles["in_mobile"] = lambda: f"{digits[:5]} {digits[5:]}"
        if region in ("US", "CA"):  # any area code, assigned or not
            a, b, c = rng.randint(200, 999), rng.randint(200, 999), rng.randint(0, 9999)
            styles["nanp_any_area"] = lambda: rng.choice(
                [f"({a}) {b}-{c:04d}", f"{a}-{b}-{c:04d}", f"({a}){b}-{c:04d}"])
    international["intl_mixed"] = lambda: re.sub(r"(?<=\d) (?=\d)", lambda _: rng.choice(["-", " ", "."]), intl)
    # "+54 (0)11 15-4321-8765": a trunk zero in parentheses after the country code, with digits of any kind
    # (a national mobile prefix kept, a number not assigned yet).
    international["intl_trunk_any"] = lambda: "+{} (0){} {}".format(
        rng.choice(["44", "49", "43", "41", "31", "54", "7", "61", "81", "32"]), rng.randint(1, 999),
        rng.choice(["-", " "]).join(str(rng.randint(10**(n - 1), 10**n - 1)) for n in rng.choice(
            [(3, 4), (4, 4), (2, 4, 4), (3, 3, 2), (6,)])))
    if not styles or rng.random() < 0.5:  # half national styles, half international ones
        styles = international
    style = rng.choice(sorted(styles))
    text = styles[style]()
    if rng.random() < 0.08:
        text += rng.choice(
            [f" ext. {rng.randint(1, 9999)}", f"x{rng.randint(10, 999)}", f" extension {rng.randint(1, 99)}"])
        style += "_ext"
    return text, style


def _luhn_complete(prefix_and_body: str) -> str:
    digits = [int(d) for d in prefix_and_body]
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return prefix_and_body + str((10 - total % 10) % 10)


_CARD_BRANDS = [  # (prefixes, length, grouping)
    (["4"], 16, (4, 4, 4, 4)),  # Visa
    (["4"], 13, (4, 4, 5)),
    (["4"], 19, (4, 4, 4, 4, 3)),
    (["51", "52", "53", "54", "55"], 16, (4, 4, 4, 4)),  # Mastercard
    (["2221", "2500", "2720"], 16, (4, 4, 4, 4)),  # Mastercard 2-series
    (["34", "37"], 15, (4, 6, 5)),  # American Express
    (["6011", "65"], 16, (4, 4, 4, 4)),  # Discover
    (["6011", "644"], 19, (4, 4, 4, 4, 3)),
    (["35"], 16, (4, 4, 4, 4)),  # JCB
    (["2131", "1800"], 15, (4, 4, 4, 3)),
    (["36"], 14, (4, 6, 4)),  # Diners Club
    (["5018", "6304", "6759"], 12, (4, 4, 4)),  # Maestro
    (["5020", "6763"], 15, (4, 4, 4, 3)),
    (["5038", "6761"], 18, (4, 4, 4, 4, 2)),
    (["62"], 17, (4, 4, 4, 4, 1)),  # UnionPay
]


def credit_card(rng: random.Random) -> tuple[str, str]:
    prefixes, length, grouping = rng.choice(_CARD_BRANDS)
    body = rng.choice(prefixes)
    body += "".join(str(rng.randint(0, 9)) for _ in range(length - 1 - len(body)))
    number = _luhn_complete(body)
    style = rng.choice(["compact", "spaces", "dashes"])
    if style == "compact":
        return number, "compact12" if length == 12 else style
    groups, i = [], 0
    for size in grouping:
        groups.append(number[i:i + size])
        i += size
    return (" " if style == "spaces" else "-").join(groups), style


# BBAN structures: n = digit, a = upper-case letter, c = letter or digit.
_BBAN = {"DE": "8n10n", "GB": "4a14n", "FR": "10n11c2n", "ES": "20n", "IT": "1a10n12c", "NL": "4a10n",
         "CH": "5n12c", "BE": "12n", "AT": "16n", "PL": "24n", "SE": "20n", "IE": "4a14n", "PT": "21n",
         "NO": "11n", "DK": "14n", "FI": "14n", "LU": "3n13c"}
_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def _bban(rng: random.Random, spec: str) -> str:
    out, count = [], ""
    for ch in spec:
        if ch.isdigit():
            count += ch
            continue
        alphabet = {"n": "0123456789", "a": _ALNUM[:26], "c": _ALNUM}[ch]
        out.extend(rng.choice(alphabet) for _ in range(int(count)))
        count = ""
    return "".join(out)


def iban_check_digits(country: str, bban: str) -> str:
    rearranged = bban + country + "00"
    number = int("".join(str(int(ch, 36)) for ch in rearranged))
    return f"{98 - number % 97:02d}"


def iban(rng: random.Random) -> tuple[str, str]:
    country = rng.choice(sorted(_BBAN))
    bban = _bban(rng, _BBAN[country])
    compact = country + iban_check_digits(country, bban) + bban
    style = rng.choice(["compact", "spaces"])
    if style == "compact":
        return compact, style
    return " ".join(compact[i:i + 4] for i in range(0, len(compact), 4)), style


def ipv4(rng: random.Random) -> tuple[str, str]:
    while True:
        addr = ipaddress.IPv4Address(rng.getrandbits(32))
        if not (addr.is_loopback or addr.is_unspecified or addr.is_multicast or addr.is_reserved):
            break
    style = rng.choice(["plain", "plain", "private", "with_port"])
    if style == "private":
        addr = ipaddress.IPv4Address(rng.choice([
            f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
            f"192.168.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
            f"172.{rng.randint(16, 31)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
        ]))
    # With a port the labelled value is the address alone; the ":port" suffix is ordinary text.
    return str(addr), style


def ipv6(rng: random.Random) -> tuple[str, str]:
    style = rng.choice(["compressed", "exploded", "link_local", "zero_run", "documentation"])
    if style == "link_local":
        addr = ipaddress.IPv6Address((0xFE80 << 112) | rng.getrandbits(64))
    elif style == "zero_run":
        addr = ipaddress.IPv6Address((rng.getrandbits(48) | (0x2 << 44)) << 80 | rng.getrandbits(16))
    elif style == "documentation":
        addr = ipaddress.IPv6Address((0x20010DB8 << 96) | rng.getrandbits(32))
    else:
        addr = ipaddress.IPv6Address((0x2 << 124) | rng.getrandbits(124))
    return (addr.exploded if style == "exploded" else str(addr)), style


def ip_address(rng: random.Random) -> tuple[str, str]:
    if rng.random() < 0.5:
        value, style = ipv4(rng)
        return value, "v4_" + style
    value, style = ipv6(rng)
    return value, "v6_" + style


def us_ssn(rng: random.Random) -> tuple[str, str]:
    while True:
        area = rng.randint(1, 899)
        if area != 666:
            break
    group, serial = rng.randint(1, 99), rng.randint(1, 9999)
    style = rng.choice(["dashes", "dashes", "spaces", "bare"])  # bare only in templates saying "SSN"
    sep = {"dashes": "-", "spaces": " ", "bare": ""}[style]
    return f"{area:03d}{sep}{group:02d}{sep}{serial:04d}", style


_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"


def _base58check(payload: bytes) -> str:
    data = payload + hashlib.sha256(hashlib.sha256(payload).digest()).digest()[:4]
    n, out = int.from_bytes(data, "big"), ""
    while n:
        n, r = divmod(n, 58)
        out = _B58[r] + out
    return "1" * (len(data) - len(data.lstrip(b"\0"))) + out


def _bech32_polymod(values: list[int]) -> int:
    gen = [0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3]
    chk = 1
    for v in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ v
        for i in range(5):
            chk ^= gen[i] if (top >> i) & 1 else 0
    return chk


def _bech32_address(witness_version: int, program: bytes) -> str:
    acc, bits, data = 0, 0, [witness_version]
    for byte in program:  # 8-bit bytes to 5-bit groups
        acc = (acc << 8) | byte
        bits += 8
        while bits >= 5:
            bits -= 5
            data.append((acc >> bits) & 31)
    if bits:
        data.append((acc << (5 - bits)) & 31)
    hrp = "bc"
    const = 1 if witness_version == 0 else 0x2BC830A3
    expanded = [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]
    polymod = _bech32_polymod([*expanded, *data, 0, 0, 0, 0, 0, 0]) ^ const
    checksum = [(polymod >> 5 * (5 - i)) & 31 for i in range(6)]
    return hrp + "1" + "".join(_BECH32[d] for d in data + checksum)


def crypto_wallet(rng: random.Random) -> tuple[str, str]:
    style = rng.choice(["p2pkh", "p2sh", "bech32", "taproot"])
    if style == "p2pkh":
        return _base58check(b"\x00" + rng.randbytes(20)), style
    if style == "p2sh":
        return _base58check(b"\x05" + rng.randbytes(20)), style
    if style == "bech32":
        return _bech32_address(0, rng.randbytes(20)), style
    return _bech32_address(1, rng.randbytes(32)), style


PII_GENERATORS: dict[str, Callable[[random.Random], tuple[str, str]]] = {
    "EMAIL_ADDRESS": email,
    "PHONE_NUMBER": phone,
    "CREDIT_CARD": credit_card,
    "IBAN_CODE": iban,
    "IP_ADDRESS": ip_address,
    "US_SSN": us_ssn,
    "CRYPTO": crypto_wallet,
}

# ------------------------------------------------------------------------------------------ distractors

_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def _hex(rng: random.Random, n: int) -> str:
    return "".join(rng.choice("0123456789abcdef") for _ in range(n))


def _date(rng: random.Random) -> str:
    y, m, d = rng.randint(1990, 2030), rng.randint(1, 12), rng.randint(1, 28)
    return rng.choice([f"{y}-{m:02d}-{d:02d}", f"{d:02d}/{m:02d}/{y}", f"{m}/{d}/{y}", f"{d:02d}.{m:02d}.{y}",
                       f"{_MONTHS[m - 1]} {d}, {y}", f"{d} {_MONTHS[m - 1]} {y}", f"{y}{m:02d}{d:02d}"])


def _timestamp(rng: random.Random) -> str:
    y, m, d = rng.randint(2015, 2030), rng.randint(1, 12), rng.randint(1, 28)
    hh, mm, ss, ms = rng.randint(0, 23), rng.randint(0, 59), rng.randint(0, 59), rng.randint(0, 999)
    return rng.choice([f"{y}-{m:02d}-{d:02d}T{hh:02d}:{mm:02d}:{ss:02d}.{ms:03d}Z",
                       f"{y}-{m:02d}-{d:02d} {hh:02d}:{mm:02d}:{ss:02d}+02:00", f"{hh:02d}:{mm:02d}:{ss:02d}",
                       f"{hh % 12 or 12}:{mm:02d} {'AM' if hh < 12 else 'PM'}",
                       str(rng.randint(1_400_000_000, 1_900_000_000)),
                       str(rng.randint(1_400_000_000_000, 1_900_000_000_000))])


def _price(rng: random.Random) -> str:
    amount = rng.choice([rng.randint(1, 99), rng.randint(100, 99_999), rng.randint(100_000, 9_999_999)])
    cents = rng.randint(0, 99)
    return rng.choice([f"${amount:,}.{cents:02d}", f"€{amount}.{cents:02d}", f"{amount:,} EUR", f"USD {amount:,}",
                       f"£{amount:,}", f"{amount}.{cents:02d} CHF", f"{amount:,}.{cents:02d} ₹"])


def _number(rng: random.Random) -> str:
    return rng.choice([str(rng.randint(0, 100)), str(rng.randint(100, 100_000)), f"{rng.randint(1000, 10**7):,}",
                       f"{rng.uniform(0, 100):.2f}%", f"{rng.uniform(0, 1000):.3f}", str(rng.randint(10**5, 10**9)),
                       f"{rng.randint(1, 999)} ms", f"{rng.uniform(0.1, 999):.1f} MB", f"{rng.randint(1, 64)} GB",
                       f"{rng.randint(1, 9999)} tokens", f"{rng.uniform(-90, 90):.4f}, {rng.uniform(-180, 180):.4f}"])


def _order_id(rng: random.Random) -> str:
    return rng.choice([f"ORD-{rng.randint(2015, 2030)}-{rng.randint(0, 999999):06d}", f"#{rng.randint(10**6, 10**8)}",
                       f"INV-{rng.randint(1000, 99999)}", f"case {rng.randint(10**7, 10**10 - 1)}",
                       f"PO{rng.randint(10**9, 10**10 - 1)}", f"ticket JIRA-{rng.randint(1, 20000)}",
                       f"tracking 1Z{_hex(rng, 16).upper()}", f"SKU {rng.randint(100, 999)}-{rng.randint(1000, 9999)}",
                       f"ref {rng.randint(10**11, 10**12 - 1)}", f"account no. {rng.randint(10**5, 10**7)}"])


def _version(rng: random.Random) -> str:
    a, b, c = rng.randint(0, 20), rng.randint(0, 40), rng.randint(0, 200)
    return rng.choice([f"v{a}.{b}.{c}", f"{a}.{b}.{c}", f"{a}.{b}.{c}-rc.{rng.randint(1, 5)}", f"{a}.{b}",
                       f"10.0.{rng.randint(10000, 30000)}.{rng.randint(100, 5000)}",
                       f"Python 3.{rng.randint(8, 14)}.{c}",
                       f"gpt-4o-{rng.randint(2023, 2026)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
                       f"claude-3-5-sonnet-{rng.randint(2023, 2026)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"])


def _identifier(rng: random.Random) -> str:
    return rng.choice([f"{_hex(rng, 8)}-{_hex(rng, 4)}-4{_hex(rng, 3)}-a{_hex(rng, 3)}-{_hex(rng, 12)}",
                       _hex(rng, 7), _hex(rng, 40), _hex(rng, 32), _hex(rng, 16), f"#{_hex(rng, 6)}",
                       f"sha256:{_hex(rng, 64)}", f"0x{_hex(rng, 8).upper()}",
                       "".join(rng.choice(_B58) for _ in range(rng.randint(20, 40))),
                       f"req_{''.join(rng.choice(_ALNUM) for _ in range(24))}",
                       f"ISBN 978-{rng.randint(0, 9)}-{rng.randint(10, 99)}-{rng.randint(100000, 999999)}-"
                       f"{rng.randint(0, 9)}"])


def _code(rng: random.Random) -> str:
    n = rng.randint(2, 999)
    return rng.choice([f"xs[::{rng.randint(2, 4)}]", f"arr[1::{rng.randint(2, 9)}]", f"for i in range({n}):",
                       f"std::vector<int> v({n});", f"x = 0x{_hex(rng, 4)}", f"port={rng.randint(1024, 65535)}",
                       f"localhost:{rng.randint(1024, 65535)}", f"HTTP {rng.choice([200, 201, 404, 500, 503])}",
                       f"matrix[{n}][{rng.randint(0, 99)}] = {rng.uniform(0, 1):.6f}", "std::chrono::seconds(5)",
                       f"sleep({rng.randint(1, 60)}); // retry {rng.randint(1, 5)}/5", f"a:b:c:{rng.randint(1, 9)}",
                       f"{rng.randint(1, 9)}:{rng.randint(10, 59)}:{rng.randint(10, 59)} elapsed"])


def _account(rng: random.Random) -> str:
    """Bank, customer and contract numbers printed in blocks of four digits with a shorter last block."""
    blocks = [str(rng.randint(1000, 9999)), f"{rng.randint(0, 9999):04d}", str(rng.randint(10, 999))]
    return rng.choice([" ", " ", "-"]).join(blocks)


def _postal(rng: random.Random) -> str:
    return rng.choice([f"{rng.randint(10000, 99999)}", f"{rng.randint(10000, 99999)}-{rng.randint(1000, 9999)}",
                       f"SW1A {rng.randint(1, 9)}AA", f"{rng.randint(1000, 9999)} AB",
                       f"D-{rng.randint(10000, 99999)}"])


def _labelled(rng: random.Random) -> str:
    """Numbers shaped like PII with the label that says what they are: versions like IPv4 addresses, parcel
    numbers, company ids (EIN, SIRET/SIREN), amounts with thousands separators, IMEIs, EANs."""
    siren = _luhn_complete("".join(str(rng.randint(0, 9)) for _ in range(8)))
    siret = _luhn_complete(siren + f"{rng.randint(1, 999):04d}")
    parcel = "94" + "".join(str(rng.randint(0, 9)) for _ in range(20))
    amount = f"{rng.randint(100, 999)}.{rng.randint(0, 999):03d}.{rng.randint(0, 999):03d}"
    return rng.choice([
        f"Firmware {rng.randint(1, 20)}.{rng.randint(0, 99)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
        f"kernel version {rng.randint(2, 10)}.{rng.randint(0, 30)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
        f"shipment {' '.join(parcel[i:i + 4] for i in range(0, 22, 4))}", f"USPS tracking {parcel}",
        f"EIN {rng.randint(10, 99)}-{rng.randint(1000000, 9999999)}", f"employer id {rng.randint(10, 99)}-"
        f"{rng.randint(1000000, 9999999)}", f"SIRET {siret}", f"SIRET {siret[:3]} {siret[3:6]} {siret[6:9]} "
        f"{siret[9:]}", f"SIREN {siren[:3]} {siren[3:6]} {siren[6:]}", f"{amount} Einwohner", f"Umsatz: {amount}",
        f"{amount},{rng.randint(10, 99)} €", f"{rng.randint(100, 999)} {rng.randint(100, 999)} "
        f"{rng.randint(100, 999)} euros", f"IMEI {_luhn_complete('35' + str(rng.randint(10**11, 10**12 - 1)))}",
        f"EAN {_luhn_complete('40' + str(rng.randint(10**9, 10**10 - 1)))}",
    ])


DISTRACTOR_GENERATORS: dict[str, Callable[[random.Random], str]] = {
    "date": _date, "timestamp": _timestamp, "price": _price, "number": _number, "order_id": _order_id,
    "version": _version, "identifier": _identifier, "code": _code, "postal": _postal, "labelled": _labelled,
    "account": _account,
}

# ------------------------------------------------------------------------------------------------ templates

# {P} is the PII slot; {D} slots take distractors. Context words matter for a few styles, so the templates
# that allow context-dependent styles (bare phone digits, bare SSN digits) are listed separately.
_TEMPLATES = [
    "Please contact {P} about order {D} placed on {D}.",
    "Customer wrote: my details are {P}, see ticket {D}.",
    "{P}",
    "Update the record ({D}) with {P} and re-run the job at {D}.",
    "Hi team, the value {P} showed up in the logs at {D} (build {D}).",
    "Forwarded message from {P}\nSent: {D}\nSubject: Invoice {D}",
    '{{"customer": "{P}", "total": "{D}", "created": "{D}"}}',
    "- {P}\n- {D}\n- {D}",
    "User said: «Voici mes coordonnées : {P}. Merci!» Ref {D}.",
    "Bitte überweisen Sie {D} an {P} bis zum {D}.",
    "The assistant replied that {P} is on file; latency {D}, version {D}.",
    "Can you check why {P} failed validation? Trace {D}.",
    "<td>{P}</td><td>{D}</td>",
    "|{P}|{D}|{D}|",
    "Name: Zoë Ångström; Field: {P}; Updated: {D}",
    "{D} {D} {P} {D}",
    "tool_call(arguments={{'value': '{P}', 'limit': {D}}})",
    "我的信息是 {P}\uff0c订单 {D}\u3002",  # fullwidth comma and full stop
    "用户{P}已于{D}登录\u3002",  # Chinese and Japanese with no spaces around values
    "連絡先は{P}です\u3002参照{D}",
    "値は{P}でした",
]
_PII_CONTEXT = {
    "EMAIL_ADDRESS": ["email me at {P}", "Email: {P}", "reply-to {P} (cc {D})"],
    "PHONE_NUMBER": ["call me on {P} after {D}", "Phone: {P}", "my mobile number is {P}, order {D}",
                     "tel. {P}", "You can call {P} or text me, ref {D}.", "phone_number={P} ts={D}",
                     "Meine Handynummer: {P}", "联系电话{P}\u3002", "携帯は{P}です"],
    "CREDIT_CARD": ["card number {P}, expires {D}", "Pay with card {P}", "Visa: {P}", "カード番号{P}で"],
    "IBAN_CODE": ["IBAN: {P}", "wire {D} to {P}", "Kontonummer (IBAN) {P}"],
    "IP_ADDRESS": ["request from {P} at {D}", "client ip={P} status {D}", "ssh admin@{P} -p 22"],
    "US_SSN": ["SSN: {P}", "my social security number is {P}", "ssn {P} on form {D}",
               "social_security_number: {P}", "<taxpayerSSN>{P}</taxpayerSSN>"],
    "CRYPTO": ["send 0.5 BTC to {P}", "wallet {P}", "bitcoin address: {P} (fee {D})"],
}
# Styles that are only PII given a context word; they appear only in the context templates above.
CONTEXT_ONLY_STYLES = {("PHONE_NUMBER", "bare_national"), ("PHONE_NUMBER", "thousands_dots"),
                       ("PHONE_NUMBER", "local_dot"), ("US_SSN", "bare"), ("CREDIT_CARD", "compact12")}
_DISTRACTOR_ONLY = [
    "Order {D} shipped on {D}; total {D}.",
    "Build {D} took {D} at {D}.",
    "Deployed {D} ({D}) to cluster {D}.",
    "Stats: {D}, {D}, {D}, {D}.",
    "Code: {D}\nResult: {D}",
    "Meeting on {D} in room {D}, budget {D}.",
    "Patch {D} fixes {D} introduced in {D}.",
]


def _fill(template: str, rng: random.Random, pii: tuple[str, str, str] | None) -> Sample:
    """Replace {P} with the PII value and each {D} with a random distractor, recording spans."""
    out: list[str] = []
    values: list[Value] = []
    pos = 0
    i = 0
    while i < len(template):
        if template.startswith("{P}", i) and pii is not None:
            kind, text, style = pii
            values.append(Value(pos, pos + len(text), kind, True, style))
            if style.endswith("with_port"):  # the port is ordinary text after the labelled address
                text += f":{rng.choice([22, 443, 5432, 8080])}"
            out.append(text)
            pos += len(text)
            i += 3
        elif template.startswith("{D}", i):
            kind = rng.choice(sorted(DISTRACTOR_GENERATORS))
            text = DISTRACTOR_GENERATORS[kind](rng)
            values.append(Value(pos, pos + len(text), kind, False))
            out.append(text)
            pos += len(text)
            i += 3
        elif template.startswith("{{", i) or template.startswith("}}", i):
            out.append(template[i])
            pos += 1
            i += 2
        else:
            out.append(template[i])
            pos += 1
            i += 1
    return Sample("".join(out), tuple(values))


def _pii_value(kind: str, rng: random.Random, allow_context_only: bool) -> tuple[str, str, str]:
    while True:
        text, style = PII_GENERATORS[kind](rng)
        if allow_context_only or (kind, style) not in CONTEXT_ONLY_STYLES:
            return kind, text, style


def generate(n_per_kind: int = 400, n_distractor_samples: int = 600, seed: int = 20240611) -> list[Sample]:
    """``n_per_kind`` samples per PII kind plus ``n_distractor_samples`` samples with no PII at all."""
    rng = random.Random(seed)
    samples: list[Sample] = []
    for kind in PII_KINDS:
        for _ in range(n_per_kind):
            if rng.random() < 0.3:
                template = rng.choice(_PII_CONTEXT[kind])
                samples.append(_fill(template, rng, _pii_value(kind, rng, allow_context_only=True)))
            else:
                template = rng.choice(_TEMPLATES)
                samples.append(_fill(template, rng, _pii_value(kind, rng, allow_context_only=False)))
    for _ in range(n_distractor_samples):
        samples.append(_fill(rng.choice(_DISTRACTOR_ONLY), rng, None))
    rng.shuffle(samples)
    return samples
