"""Phone numbers: phone-shaped candidates found with one regular expression, validated with ``phonenumbers``.

Presidio's ``PhoneRecognizer`` runs ``phonenumbers.PhoneNumberMatcher`` once per region over the whole text
(13 ms per 500 characters with 8 regions). :class:`PhoneFinder` instead finds phone-shaped candidates, rejects
shapes that are something else (dates, decimals, amounts, IPv4 quads, ZIP+4 codes, SSNs, EINs, SIRETs,
versions, a number followed by a currency or unit), then scores the best run of groups: valid per
``phonenumbers`` for the regions the shape allows (``+``/``00``/``011``: the country code's regions; a leading
trunk ``0``: regions that use one), or written in a format only phone numbers have (an area code in
parentheses, ``NNN-NNN-NNNN``, a trunk ``(0)``, an extension), whatever the digits: numbers are assigned after
``phonenumbers``' metadata is released, and made-up ones are still someone's data. Runs that are only
phone-shaped score below the threshold and count as phone numbers after a context word.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from typing import Any

import phonenumbers

from llmotel.evaluation.pii.windows import matches_from

# Phone-shaped text: digit groups joined by separators (space, "-", ".", "/", "(0)", parentheses), with an
# optional leading "+" or "(" and an optional extension ("x189", " ext. 12", ";ext=12" in a tel: URI). Not glued
# to a word (but for "TEL" and "FAX", as in "TEL03-1234-5678"), an id ("#123"), a path or a longer dotted or
# dashed number; next to a comma and three digits only as a group of four or more digits ("77,063" and
# "94,952" are numbers, "1,04280387012,262" a CSV row).
_PHONE_CANDIDATE = re.compile(
    r"(?:(?<![\w+\-./#@])|(?<=TEL|Tel|tel|FAX|Fax|fax))(?:(?<!\d,)|(?=\d{4}))(?<![0-9A-Fa-f]:)"
    r"(?:\+[ \u00a0]?|\(\+?)?"
    r"\d{1,15}"
    r"(?:(?:\)[ \u00a0\-.]?|[ \u00a0]?\(0\)[ \u00a0]?|[ \u00a0]?[\-./][ \u00a0]?|[ \u00a0](?:\((?=\d{1,5}\)))?)"
    r"\d{1,12}){0,15}"
    r"(?P<ext>[ \u00a0]?(?:x|ext\.?|extn\.?|extension)[ \u00a0]?\d{1,6}|;ext=\d{1,6})?"
    r"(?![\w]|[\-./:]\d)(?:(?<=\d{4})|(?!,\d{3}(?!\d)))"
)
# Where a phone candidate can start: a "+", "(" or digit not glued to a word, an id, a path or a number (the
# candidate's own first condition, read from the character after it), so a run of digits is tried once.
_CANDIDATE_START = re.compile(r"[+(\d](?:(?<![\w+\-./#@].)|(?<=(?:TEL|Tel|tel|FAX|Fax|fax).))")
# An amount or a measure, not a phone number: a currency or unit right after the digits (a currency symbol or
# code followed by digits starts the next amount instead, as in "... USD 80").
_UNIT_AFTER = re.compile(
    r"[ \u00a0]?(?:(?:[€$£¥₹]|(?:eur|usd|chf|gbp|jpy|cny|rmb|inr|brl)(?![^\W\d_]))(?![ \u00a0]?\d)"
    r"|%|(?:euro|euros|yen|kg|km|ms|mb|gb|kb|tb|units?|pcs|stück|habitants|einwohner|inhabitants)(?![^\W\d_])"
    r"|[円元件個人])",
    re.IGNORECASE,
)
# Shapes that are not phone numbers although phonenumbers may accept their digits (Germany's numbering plan
# accepts almost any 7-12 digits after a 0): dates and date-times, IPv4-like quads, decimals (but not a trunk
# zero, an area code, a dot and the subscriber number: "030.1234567", "06.12345678"; no decimal starts with
# "0" and another digit), US ZIP+4 codes, and US SSNs (3-2-4 digits), which are the SSN recognizer's to type...
_DAY = r"(?:0?[1-9]|[12]\d|3[01])"
_MONTH = r"(?:0?[1-9]|1[0-2])"
_YEAR = r"(?:19|20)\d\d"
_DATE_INSIDE = re.compile(
    rf"(?<!\d)(?:{_YEAR}([\-./]){_MONTH}\1{_DAY}|{_DAY}([\-./]){_DAY}\2{_YEAR})(?!\d)"
)
# An IPv4 octet, never led by a zero ("08.21.43.65" and "070.123.45.67" are phone numbers).
_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
# ... and amounts with thousands separators ("1,234,567", "1'234'567"), US employer ids (EIN, "63-4635796").
# Dotted thousands ("748.888.575") are also how national numbers are written in Spain, Portugal or Poland
# ("612.345.678"): those of 9 digits or more are ambiguous (see _AMBIGUOUS), shorter dotted runs are never
# phone numbers (see phone_shaped).
_NOT_A_PHONE = re.compile(
    rf"{_OCTET}(?:\.{_OCTET}){{3}}|(?!0[1-9]\d*\.\d{{5}}|\d{{4}}\.\d{{4}}$)\d+\.\d+"
    r"|\d{5}-\d{4}|\d{3}([- .])\d{2}\1\d{4}|\d{1,3}([,'])\d{3}(?:\2\d{3})+|[1-9]\d-\d{7}"
)
_SEPARATORS = re.compile(r"[ \u00a0\-./]")
# An SSN or an EIN inside a longer run ("334-81-6454 40"): the run is not a phone number.
_ID_INSIDE = re.compile(r"(?<![\d\-)])(?:\d{3}-\d{2}-\d{4}|[1-9]\d-\d{7})(?![\d\-])")
_TRUNK_LED = re.compile(r"\(?0[1-9]")
_HALVES = re.compile(r"\d{4}\.\d{4}")
_DOTTED_SINGLE_DIGIT = re.compile(r"(?:^|\.)\d(?:\.|$)")
_LAST_GROUP_SINGLE_DIGIT = re.compile(r"\D\d$")
_SPACE_SPLIT = re.compile(r"[ \u00a0]+")
_DIGIT_GROUPS = re.compile(r"\d+")
_NON_DIGIT = re.compile(r"\D+")
_MAX_PHONE_GAPS = 8
# One long number written in blocks of three or four digits ("9400 1000 0000 0000 0000 00", a parcel number),
# or in blocks of four and a shorter last one, as account numbers are ("8123 4567 12"; see _AMBIGUOUS): no
# phone number inside it.
_BLOCKS = re.compile(
    r"\d{4}(?:[ \u00a0]\d{4}){3,}(?:[ \u00a0]\d{1,3})?|\d{3}(?:[ \u00a0]\d{3}){3,}(?:[ \u00a0]\d{1,2})?"
    r"|[1-9]\d{3}(?:[ \u00a0]\d{4})+[ \u00a0]\d{1,3}"
)


def phone_shaped(candidate: str) -> bool:
    """Whether the digits are grouped the way people write phone numbers: not a date, time, IPv4 address,
    decimal, amount with thousands separators, ZIP+4 code, SSN or EIN; dotted groups of one digit only after a
    country code (versions: "3.11.7"); separators of two kinds only after a country code
    ("+44 (0)20 8427.0244") or as spaces and dashes ("08-170 669 07", "(415) 555-0132")."""
    international = candidate.startswith(("+", "(+"))
    if _NOT_A_PHONE.fullmatch(candidate.strip("()")) or _DATE_INSIDE.search(candidate) or \
            (not international and _ID_INSIDE.search(candidate)):
        return False
    if candidate.endswith(")") or candidate.count("(") != candidate.count(")"):
        return False  # "330144 (303)": an area code comes first
    if _LAST_GROUP_SINGLE_DIGIT.search(candidate):
        return False  # "639650706 7": a number followed by another; phone numbers never end in one digit
    if international:
        return True
    separators = _SEPARATORS.findall(candidate.replace("(0)", ""))
    kinds = {c for c in separators if c not in " \u00a0"}
    if len(kinds) > 1 or (kinds - {"-"} and len(kinds) < len(set(separators))):
        return False  # "1-2.3", or spaces with dots or slashes ("120568 71.986": a number, then a decimal)
    if "-" in kinds and len(kinds) < len(set(separators)) and not candidate.startswith("0"):
        # Spaces then dashes ("(415) 555-0132"), never dashes then spaces ("081-09-5139 94") unless led by a
        # trunk zero ("08-170 669 07").
        last_space = max(candidate.rfind(" "), candidate.rfind("\u00a0"))
        if last_space > candidate.find("-"):
            return False
    if "." in kinds:
        # Dotted runs of 7-8 digits are amounts and versions ("1.234.567", "12.34.56.78"), but for those led by
        # a trunk zero and an area digit ("08.21.43.65", a Stockholm number) and two halves of four digits
        # ("9876.5432", a local number in Australia, Singapore or Hong Kong; see _AMBIGUOUS).
        min_digits = 8 if _TRUNK_LED.match(candidate) or _HALVES.fullmatch(candidate) else 9
        return len(_NON_DIGIT.sub("", candidate)) >= min_digits and \
            not _DOTTED_SINGLE_DIGIT.search(candidate.strip("()"))
    return True


def _subspans(offset: int, candidate: str) -> list[tuple[int, int]]:
    """The candidate, then its runs of space-separated groups from the longest down: in "order 12 415 555 0132"
    the number is "415 555 0132"; in "+49 151 234 2024-06-11" it is "+49 151 234". A candidate starting with
    "+" or "(" keeps its start."""
    gaps = list(_SPACE_SPLIT.finditer(candidate))
    if not gaps or len(gaps) > _MAX_PHONE_GAPS or _BLOCKS.fullmatch(candidate):
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


# Formats only phone numbers are written in, whatever the digits: a North American number with any area code
# ("(548)811-3899", "548.811.3899", "1-548-811-3899"), an area code in parentheses ("(0161) 4960066",
# "8 (066) 907-43-91", "(351) 969141777"), a trunk zero in parentheses ("+44 (0)20", "+49(0) 778"), a national
# number led by a trunk zero in groups ("08-170 669 07", "0837 783533", "041-914-1777"; "04-8021761" is also
# how US employer ids are written, so that one needs a context word), and Russia's trunk 8 ("8 494 134-82-69").
_PHONE_FORMAT = re.compile(
    r"(?:\+?1[ \-.]?)?(?:\([2-9]\d\d\)[ \-.]?|[2-9]\d\d[\-. ])[2-9]\d\d[\-. ]\d{4}"
    r"|(?:\d[ \u00a0]?)?\(\d{2,5}\)[ \u00a0\-.]?\d{2,}(?:[ \u00a0\-.]\d{2,})*"
    r"|.*\(0\).*"
    r"|(?!0\d-\d{7}$)0[1-9]\d{0,4}(?:[ \u00a0\-./]\d{2,8}){1,4}"
    r"|8[ \u00a0\-]\d{3}[ \u00a0\-]\d{3}(?:[ \u00a0\-]\d{2}[ \u00a0\-]\d{2}|[ \u00a0\-]\d{4})"
)
# National numbers written like an amount with spaces or dots for thousands ("612 345 678", "981.778.196"), like
# a decimal ("9876.5432") or like a US employer id ("04-1600324"): phone numbers in Spain, Portugal, Poland,
# Australia, Singapore or Taiwan, but as often not.
# And numbers in blocks of four digits with a shorter last block, as account, card and parcel numbers are
# printed ("8123 4567 12"): valid digits in several countries, but no numbering plan groups a national number
# so (but for one rare Singapore number type), unless it starts with a trunk zero ("0210 1234 567", Vietnam).
_AMBIGUOUS = re.compile(
    r"\d{1,3}(?:[ \u00a0]\d{3})+|\d{1,3}(?:\.\d{3}){2,}|\d{4}\.\d{4}|0\d-\d{7}"
    r"|[1-9]\d{3}(?:([ \u00a0\-])\d{4})+\1\d{1,3}"
)
_SIRET = re.compile(r"\d{3} \d{3} \d{3} \d{5}")
_PLAIN_GROUPS = re.compile(r"[\d \u00a0]*")
_TRUNK_AREA = re.compile(r"\d[ \u00a0]?\(\d{2,5}\)")
# National numbers written without their trunk prefix: Indian and Chinese mobiles, Brazilian numbers.
_WITHOUT_TRUNK = {"IN": re.compile(r"[6-9]\d{9}"), "CN": re.compile(r"1[3-9]\d{9}"), "BR": re.compile(r"[1-9]\d{9,10}")}


class PhoneFinder:
    """Finds phone numbers: valid ones for ``regions`` (national formats) or any country (with a country code),
    and numbers of any assignment written in a format only phone numbers have (see ``_PHONE_FORMAT``).

    A number written like an amount with thousands separators (spaces, or dots for 9 digits or more), like a
    decimal of two halves of four digits, like a US employer id or like an account number in blocks of four
    digits scores 0.3 at most.
    :meth:`find` returns ``(start, end, score, label_at)`` tuples. A formatted valid number scores 0.75, a number in
    a phone format 0.6 (neither needs a context word); a bare run of valid digits ("4155550132") 0.4, any other
    phone-shaped number 0.3 and a bare run of 7-15 digits 0.2: those are usually ids, and count as phone numbers
    only after a context word ("call", "Telefon", a "phone" key). Thread-safe (the cache is an ``lru_cache``).
    """

    VALID = 0.75
    FORMAT = 0.6
    VALID_BARE = 0.4
    SHAPED = 0.3
    BARE = 0.2

    def __init__(self, regions: Sequence[str]) -> None:
        self._regions: list[tuple[str, int, str, frozenset[int], re.Pattern[str]]] = []
        for region in regions:
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
        self._score = functools.lru_cache(maxsize=4096)(self._score_of)

    def find(self, text: str) -> list[tuple[int, int, float, int]]:
        """The phone numbers in ``text`` as (start, end, score, label_at) tuples; ``label_at`` is where the run
        of digit groups the number was found in starts: the words before it label the number."""
        found_spans = []
        for m in matches_from(_PHONE_CANDIDATE, _CANDIDATE_START, text):
            start, end = m.start(), m.start("ext") if m.group("ext") else m.end()
            if text[start] == "(" and ")" not in text[start:end]:  # "(871915330": a parenthesis, not an area code
                start += 1
            if _SIRET.fullmatch(text, start, end):
                continue  # a French company id (SIRET), not a phone number and a number
            spans = self._phones_in(text, start, end)
            if spans and m.group("ext") and spans[-1][1] == end:
                a, _, score = spans[-1]
                spans[-1] = (a, m.end(), max(score, self.FORMAT))
            for a, b, score in spans:
                # Inside a run of plain digit groups ("SIRET 113 759 773 03315") the run's label is the number's;
                # after a number written otherwise ("SKU 660-8444 0121-289-1866") it is not.
                label_at = start if _PLAIN_GROUPS.fullmatch(text, start, a) else a
                if a >= 4 and text[a - 4:a].lower() == "tel:":
                    a = label_at = a - 4  # a tel: URI (RFC 3966) is redacted whole
                found_spans.append((a, b, score, label_at))
        return found_spans

    def _phones_in(self, text: str, start: int, end: int) -> list[tuple[int, int, float]]:
        """The longest run of groups in text[start:end] that is a phone number without a context word, else the
        run that scores best, then those left and right of it: in "order 12 415 555 0132" the number is
        "415 555 0132"; in "03120 06425 766" it is all of it, not the valid "03120 06425"."""
        while start < end and text[start] in " \u00a0":
            start += 1
        while end > start and text[end - 1] in " \u00a0":
            end -= 1
        if end - start < 7:
            return []
        best, best_score = (start, end), 0.0
        for a, b in _subspans(start, text[start:end]):
            if _UNIT_AFTER.match(text, b):
                continue  # an amount: "... 7.39 ₹"
            score = self._score(text[a:b])
            if score > best_score:
                best, best_score = (a, b), score
                if score >= self.FORMAT:
                    break  # the longest run that needs no context word
        if not best_score:
            return []
        a, b = best
        return [*self._phones_in(text, start, a), (a, b, best_score), *self._phones_in(text, b, end)]

    def _score_of(self, candidate: str) -> float:
        """How sure the candidate is a phone number (0: it is not). Valid per ``phonenumbers``: with a country code
        ("+", "00", "011") for that country; else for one of the regions whose national format it fits. The
        number object is built directly from the digits (parsing would cost as much again)."""
        if not phone_shaped(candidate):
            return 0.0
        digits = _NON_DIGIT.sub("", candidate.replace("(0)", ""))
        if not digits.isascii():  # other scripts' digits, e.g. "٠١٢"
            digits = "".join(str(int(c)) for c in digits)
        if not 7 <= len(digits) <= 17:
            return 0.0
        if candidate.lstrip("(").startswith("+"):
            if not 8 <= len(digits) <= 15:
                return 0.0
            score = self._international(digits)
            # A trunk zero in parentheses after the country code ("+54 (0)11 ...") is a phone format, whatever
            # the digits (a mobile's "15" kept from the national form makes the number too long to be possible).
            return score or (self.FORMAT if "(0)" in candidate else 0.0)
        if digits.startswith("00") and not digits.startswith("000"):
            score = self._international(digits[2:])
            if score:
                return score  # else the digits may still be written in a phone format: "(00723) 551842"
        if digits.startswith("011") and _valid_international(digits[3:]):
            return self.VALID
        bare = candidate.strip("()").isdecimal()
        if len(digits) > 13:
            return 0.0
        # National numbers come in groups of at most 8 digits, led by 2+ digits, by the US trunk "1", by a
        # trunk before an area code in parentheses ("8 (066) 907-43-91") or by Russia's trunk "8" ("8 494 134 8269").
        groups = _DIGIT_GROUPS.findall(candidate)
        if len(groups) > 1 and max(map(len, groups)) > (9 if candidate.startswith("(") else 8):
            return 0.0
        if len(groups) > 1 and len(groups[0]) == 1 and groups[0] != "1" and not _TRUNK_AREA.match(candidate) and \
                not (groups[0] == "8" and len(digits) == 11):
            return 0.0
        if _AMBIGUOUS.fullmatch(candidate):
            return self.SHAPED  # written like an amount ("981 778 196") or a US employer id: needs a context word
        if self._valid_national(digits):
            return self.VALID_BARE if bare else self.VALID
        if bare:
            return self.BARE
        if _PHONE_FORMAT.fullmatch(candidate):
            return self.FORMAT
        return self.SHAPED

    def _international(self, digits: str) -> float:
        if _valid_international(digits):
            return self.VALID
        return self.FORMAT if _possible_international(digits) else 0.0

    def _valid_national(self, digits: str) -> bool:
        for region, country_code, trunk, lengths, pattern in self._regions:
            national = digits
            if trunk and digits.startswith(trunk):
                national = digits[len(trunk):]
            elif trunk == "0" and not (region in _WITHOUT_TRUNK and _WITHOUT_TRUNK[region].fullmatch(digits)):
                continue  # national numbers of trunk-0 regions are written with the 0 (mobiles in some aside)
            if len(national) in lengths and pattern.fullmatch(national):
                number = _number(country_code, national)
                if phonenumbers.is_valid_number_for_region(number, region):
                    return True
                # A code shared by several regions (+1: the US, Canada, the Caribbean): any of them will do.
                if len(phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(country_code, ())) > 1 and \
                        phonenumbers.is_valid_number(number):
                    return True
        return False


def _possible_international(digits: str) -> bool:
    """A known country code followed by a number of a length that country uses (assigned or not)."""
    for size in (1, 2, 3):
        country_code = int(digits[:size])
        if phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(country_code):
            national = digits[size:]
            return bool(national) and len(national) <= 14 and \
                phonenumbers.is_possible_number(_number(country_code, national))
    return False
