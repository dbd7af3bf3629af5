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

IBAN_PATTERN = r"[A-Z](?<![A-Za-z0-9][A-Z])[A-Z]\d{2}(?:[ \-]?[A-Z0-9]{1,4}){3,8}(?![A-Za-z0-9])"
# typed in lower case, in one block ("my iban is gb42nawi04454264788619"): found by its check
# digits and what follows them (a scan that starts at each lower-case letter would try most of
# the text), then the two letters before them are checked
LOWER_IBAN_TAIL = r"\d\d[a-z0-9]{11,30}(?![A-Za-z0-9])"


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
        self._groups = re.compile(r"[ \-]?[A-Z0-9]{1,4}")

    def detect(self, text: str, lang: str | None = None) -> list[Span]:
        out = []
        for m in self._rx.finditer(text):
            start = m.start()
            chunk = m.group()
            # try the whole candidate, then without trailing groups
            cuts = [g.end() for g in self._groups.finditer(chunk, 4)]
            ends = [start + c for c in reversed(cuts)]
            for end in ends:
                if end - start < 15:
                    break
                compact = re.sub(r"[ \-]", "", text[start:end])
                if iban_valid(compact):
                    out.append(Span(start, end, IBAN, 0.95, self.id, "IBAN checksum"))
                    break
        for m in self._lower.finditer(text):
            start, end = m.start() - 2, m.end()
            country = text[start : start + 2] if start >= 0 else ""
            if not (country.isascii() and country.isalpha() and country.islower()):
                continue
            if start and text[start - 1].isalnum():
                continue  # inside a longer word
            if iban_valid(text[start:end].upper()):
                out.append(Span(start, end, IBAN, 0.95, self.id, "IBAN checksum (lower case)"))
        return out


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


CARD_PATTERN = r"\d(?<![\d\-.,]\d)(?:[ \-]?\d){12,18}(?![\d]|[\-.,]\d)"
_CARD_PREFIX = re.compile(r"^(?:4|5[0-9]|2[2-7]|3[47]|3[068]|35|6|1800|2131)")


class CardDetector:
    """Payment card numbers: 13-19 digits, Luhn checksum, a known issuer prefix."""

    id = "credit_card.v1"
    types: tuple[str, ...] = (CARD,)
    prefilter: str | None = r"\d{4}[ \-]?\d{4}[ \-]?\d{4}"

    def __init__(self) -> None:
        self._rx = re.compile(CARD_PATTERN)

    def detect(self, text: str, lang: str | None = None) -> list[Span]:
        out = []
        for m in self._rx.finditer(text):
            raw = m.group()
            digits = raw.replace(" ", "").replace("-", "")
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
