"""Phone numbers: phone-shaped candidates found with one regular expression, validated with ``phonenumbers``.

Presidio's ``PhoneRecognizer`` runs ``phonenumbers.PhoneNumberMatcher`` once per region over the whole text
(13 ms per 500 characters with 8 regions). :class:`PhoneFinder` instead finds phone-shaped candidates, rejects
shapes that are not phone numbers (dates, decimals, IPv4 quads, ZIP+4, SSNs, mixed separators, versions), then
validates the longest run of groups that ``phonenumbers`` accepts, only for the regions the shape allows
(``+``/``00``/``011``: the country code's regions; a leading trunk ``0``: regions that use one).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from typing import Any

import phonenumbers

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
_SPACE_SPLIT = re.compile(r"[ \u00a0]+")
_DIGIT_GROUPS = re.compile(r"\d+")
_NON_DIGIT = re.compile(r"\D+")
_MAX_PHONE_GAPS = 8


def phone_shaped(candidate: str) -> bool:
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


def _subspans(offset: int, candidate: str) -> list[tuple[int, int]]:
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


class PhoneFinder:
    """Finds phone numbers valid for ``regions`` (national formats) or for any country (with a country code).

    :meth:`find` returns ``(start, end, bare)`` spans; ``bare`` says the number is a plain run of digits, which is
    usually an id unless a context word precedes it. Thread-safe (the validation cache is an ``lru_cache``).
    """

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
        self._check = functools.lru_cache(maxsize=4096)(self._is_phone)

    def find(self, text: str) -> list[tuple[int, int, bool]]:
        """The phone numbers in ``text`` as (start, end, bare) spans."""
        found_spans = []
        for m in _PHONE_CANDIDATE.finditer(text):
            start, found = m.start(), m.group()
            if found.startswith("(") and ")" not in found:  # "(871915330": a parenthesis, not an area code
                start, found = start + 1, found[1:]
            for a, b in self._phones_in(text, start, start + len(found)):
                found_spans.append((a, b, text[a:b].strip("()").isdecimal()))
        return found_spans

    def _phones_in(self, text: str, start: int, end: int) -> list[tuple[int, int]]:
        """The longest valid run of groups in text[start:end], then those left and right of it."""
        while start < end and text[start] in " \u00a0":
            start += 1
        while end > start and text[end - 1] in " \u00a0":
            end -= 1
        if end - start < 7:
            return []
        for a, b in _subspans(start, text[start:end]):
            if self._check(text[a:b]):
                return [*self._phones_in(text, start, a), (a, b), *self._phones_in(text, b, end)]
        return []

    def _is_phone(self, candidate: str) -> bool:
        """Whether ``phonenumbers`` holds the candidate valid: with a country code ("+", "00", "011") for that
        country; else for one of the regions whose national format it fits. The number object is built
        directly from the digits (parsing would cost as much again)."""
        if not phone_shaped(candidate):
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
