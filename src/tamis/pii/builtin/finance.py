"""Financial identifiers: IBAN (ISO 13616 mod-97 checksum and national length) and payment
cards (Luhn checksum and issuer prefix). Checksums make these detectors almost free of false
positives: a random 16-digit order number passes Luhn one time in ten *and* needs a card prefix.
"""

from __future__ import annotations

import re

from tamis.pii.base import Detector, detectors
from tamis.pii.builtin._cues import negative_before
from tamis.pii.spans import CARD, IBAN, Span

# ISO 13616 lengths (SWIFT IBAN registry) for the countries of SEPA and a few more.
IBAN_LENGTHS: dict[str, int] = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22,
    "BR": 29, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28, "EE": 20,
    "EG": 29, "ES": 24, "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18,
    "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IS": 26, "IT": 27, "JO": 30,
    "KW": 30, "KZ": 20, "LB": 28, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MD": 24,
    "ME": 22, "MK": 19, "MR": 27, "MT": 31, "MU": 30, "NL": 18, "NO": 15, "PK": 24, "PL": 28,
    "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "SA": 24, "SE": 24, "SI": 19, "SK": 24,
    "SM": 27, "TN": 24, "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
}  # fmt: skip

# group separators: space, hyphen, dot, and the non-breaking spaces of French typography
_SEP = r"[ \-.\u00a0\u202f]"
IBAN_PATTERN = (
    r"[A-Z](?<![A-Za-z0-9][A-Z])[A-Z]\d{2}(?:" + _SEP + r"?[A-Z0-9]{1,4}+){3,8}(?![A-Za-z0-9])"
)
# typed in lower (or mixed) case, in one block or in groups ("my iban is gb42nawi04454264788619",
# "fr76 3000 6000 ..."): found by its check digits and what follows them (a scan that starts at
# each lower-case letter would try most of the text), then the two letters before them are
# checked
# Groups are possessive ({1,4}+): a run of letters and digits splits into groups one way only,
# or a long token (a hash, a key) would be tried in every split (milliseconds a token).
LOWER_IBAN_TAIL = (
    # a character first, then the lookbehind: the regex engine skips to digits in C
    r"\d(?<=[A-Za-z][A-Za-z]\d)\d(?:" + _SEP + r"?[A-Za-z0-9]{1,4}+){3,8}(?![A-Za-z0-9])"
)


def iban_valid(compact: str) -> bool:
    """Country length and ISO 7064 mod-97-10 checksum of an IBAN without spaces."""
    if IBAN_LENGTHS.get(compact[:2]) != len(compact):
        return False
    moved = compact[4:] + compact[:4]
    digits = "".join(str(int(c, 36)) for c in moved)
    return int(digits) % 97 == 1


class IbanDetector:
    """IBANs, grouped by four or not; a candidate that runs into a following word is trimmed."""

    id = "iban.v1"
    types: tuple[str, ...] = (IBAN,)
    prefilter: str | None = r"[A-Za-z]{2}\d\d"

    def __init__(self) -> None:
        self._rx = re.compile(IBAN_PATTERN)
        self._lower = re.compile(LOWER_IBAN_TAIL)
        self._groups = re.compile(_SEP + r"?[A-Za-z0-9]{1,4}")
        self._seps = re.compile(_SEP)

    def detect(self, text: str, lang: str | None = None) -> list[Span]:
        found: dict[int, Span] = {}
        for m in self._rx.finditer(text):
            self._longest_valid(text, m.start(), m.group(), found, "IBAN checksum")
        for m in self._lower.finditer(text):
            start = m.start() - 2
            country = text[start : start + 2] if start >= 0 else ""
            if start in found or not (country.isascii() and country.isalpha()):
                continue
            if start and text[start - 1].isalnum():
                continue  # inside a longer word
            chunk = country + m.group()
            self._longest_valid(text, start, chunk, found, "IBAN checksum (lower case)")
        return [found[s] for s in sorted(found)]

    def _longest_valid(
        self, text: str, start: int, chunk: str, found: dict[int, Span], why: str
    ) -> None:
        """The candidate at ``start``, or it without trailing groups (it may run into a word),
        if its checksum holds."""
        cuts = [g.end() for g in self._groups.finditer(chunk, 4)]
        for end in (start + c for c in reversed(cuts)):
            if end - start < 15:
                return
            compact = self._seps.sub("", text[start:end]).upper()
            if iban_valid(compact):
                found[start] = Span(start, end, IBAN, 0.95, self.id, why)
                return


def luhn_valid(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


# Digits with single spaces or hyphens (non-breaking spaces too), or grouped by four with dots
# ("4111.1111.1111.1111": only so, a dot elsewhere is a decimal point).
CARD_PATTERN = (
    r"\d(?<![\d\-.,]\d)(?:\d{3}\.\d{4}\.\d{4}\.\d{1,7}(?![\d]|[.,]\d)"
    r"|(?:[ \-\u00a0\u202f]?\d){12,18}(?![\d]|[\-.,]\d))"
)
_NOT_DIGIT = re.compile(r"\D")
_CARD_PREFIX = re.compile(r"^(?:4|5[0-9]|2[2-7]|3[47]|3[068]|35|6|1800|2131)")


class CardDetector:
    """Payment card numbers: 13-19 digits, Luhn checksum, a known issuer prefix."""

    id = "credit_card.v1"
    types: tuple[str, ...] = (CARD,)
    # also run in RE2 (Arrow), which has no \u escape: the characters themselves
    prefilter: str | None = "\\d{4}[ \\-.\u00a0\u202f]?\\d{4}[ \\-.\u00a0\u202f]?\\d{4}"

    def __init__(self) -> None:
        self._rx = re.compile(CARD_PATTERN)

    def detect(self, text: str, lang: str | None = None) -> list[Span]:
        out = []
        for m in self._rx.finditer(text):
            raw = m.group()
            digits = _NOT_DIGIT.sub("", raw)
            if not 13 <= len(digits) <= 19 or not _CARD_PREFIX.match(digits):
                continue
            if not luhn_valid(digits) or len(set(digits)) < 2:
                continue
            if negative_before(text, m.start()):
                continue
            out.append(Span(m.start(), m.end(), CARD, 0.9, self.id, "Luhn checksum"))
        return out


@detectors.register("iban.v1")
def iban_v1(**options: object) -> Detector:
    return IbanDetector()


@detectors.register("credit_card.v1")
def credit_card_v1(**options: object) -> Detector:
    return CardDetector()
