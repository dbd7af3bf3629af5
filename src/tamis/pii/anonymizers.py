"""Anonymizers: what replaces a detected span.

Detection and replacement are separate: an anonymizer only decides the replacement string for
one span of one type. Every anonymizer is deterministic and stateless across documents: the same
input (and key) gives the same output whatever the order documents come in, because nothing is
numbered or remembered between calls.

- ``placeholder.v1``: a typed placeholder, ``<EMAIL>``, ``<PERSON>``.
- ``pseudonym.v1``: a keyed pseudonym, ``<PERSON_7f3a1c>``: an HMAC (the build's
  :class:`~tamis.keys.PseudonymKey`) of the *normalised* value, so "Élodie  Martin" and
  "elodie martin" get the same token within a snapshot and no token can be reversed without the key.
- ``mask.v1``: letters and digits become ``*``, punctuation and spaces stay (the shape remains).
- ``drop_record.v1``: the record is excluded if it contains any entity (reason code ``pii``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Protocol

import phonenumbers

from tamis.keys import PseudonymKey
from tamis.pii.fold import fold_key
from tamis.pii.spans import CARD, EMAIL, FR_NIR, IBAN, PHONE, US_SSN, Span
from tamis.registry import Registry

LABELS: dict[str, str] = {
    "EMAIL_ADDRESS": "EMAIL",
    "PHONE_NUMBER": "PHONE",
    "IBAN_CODE": "IBAN",
    "CREDIT_CARD": "CARD",
    "FR_NIR": "NIR",
    "US_SSN": "SSN",
    "IP_ADDRESS": "IP",
    "URL": "URL",
    "PROFILE_HANDLE": "HANDLE",
    "STREET_ADDRESS": "ADDRESS",
    "DATE_OF_BIRTH": "DOB",
    "PERSON": "PERSON",
}
"""Placeholder label per entity type (types not listed use their own name)."""

DROP_REASON = "pii"


def label(entity_type: str) -> str:
    return LABELS.get(entity_type, entity_type)


_ALNUM = re.compile(r"[^\W_]", re.UNICODE)
_NON_ALNUM = re.compile(r"[\W_]+", re.UNICODE)


def normalise(entity_type: str, value: str) -> str:
    """The canonical form of a value, so that spellings of one value share one pseudonym."""
    if entity_type == EMAIL:
        return value.strip().lower()
    if entity_type == PHONE:
        digits = value.strip()
        try:
            region = None if digits.startswith("+") else "FR"
            num = phonenumbers.parse(digits.replace("(0)", ""), region)
            return phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164)
        except phonenumbers.NumberParseException:
            return re.sub(r"\D", "", digits)
    if entity_type in (IBAN, CARD, FR_NIR, US_SSN):
        return _NON_ALNUM.sub("", value).upper()
    return fold_key(value)


class Anonymizer(Protocol):
    """Decides the replacement of one span; ``drops`` = the record goes instead."""

    id: str
    drops: bool

    def replacement(self, value: str, span: Span) -> str: ...


class AnonymizerFactory(Protocol):
    def __call__(self, key: PseudonymKey | None = None, **options: object) -> Anonymizer: ...


anonymizers: Registry[AnonymizerFactory] = Registry("PII anonymizer")


class Placeholder:
    id = "placeholder.v1"
    drops = False

    def replacement(self, value: str, span: Span) -> str:
        return f"<{label(span.type)}>"


class Pseudonym:
    """``<TYPE_xxxxxx>`` with a keyed token of the normalised value (domain ``pii.<TYPE>``)."""

    id = "pseudonym.v1"
    drops = False

    def __init__(self, key: PseudonymKey, length: int = 6) -> None:
        self.key = key
        self.length = length

    def replacement(self, value: str, span: Span) -> str:
        token = self.key.token(f"pii.{span.type}", normalise(span.type, value), self.length)
        return f"<{label(span.type)}_{token}>"


class Mask:
    id = "mask.v1"
    drops = False

    def __init__(self, char: str = "*") -> None:
        self.char = char

    def replacement(self, value: str, span: Span) -> str:
        return _ALNUM.sub(self.char, value)


class DropRecord(Placeholder):
    """Placeholders in the text (should it be kept anyway) and ``drops`` = True."""

    id = "drop_record.v1"
    drops = True


@anonymizers.register("placeholder.v1")
def placeholder_v1(key: PseudonymKey | None = None, **options: object) -> Anonymizer:
    return Placeholder()


@anonymizers.register("pseudonym.v1")
def pseudonym_v1(key: PseudonymKey | None = None, **options: object) -> Anonymizer:
    if key is None:
        from tamis.errors import TamisError

        raise TamisError("the pseudonym anonymizer needs the pseudonym key (see `tamis key`)")
    length = options.get("length", 6)
    return Pseudonym(key, int(length) if isinstance(length, int | str) else 6)


@anonymizers.register("mask.v1")
def mask_v1(key: PseudonymKey | None = None, **options: object) -> Anonymizer:
    return Mask(str(options.get("char", "*")))


@anonymizers.register("drop_record.v1")
def drop_record_v1(key: PseudonymKey | None = None, **options: object) -> Anonymizer:
    return DropRecord()


def apply(text: str, spans: Sequence[Span], anonymizer: Anonymizer) -> str:
    """``text`` with every span replaced; ``spans`` must not overlap (see ``resolve_overlaps``)."""
    if not spans:
        return text
    parts: list[str] = []
    pos = 0
    for span in sorted(spans):
        parts.append(text[pos : span.start])
        parts.append(anonymizer.replacement(text[span.start : span.end], span))
        pos = span.end
    parts.append(text[pos:])
    return "".join(parts)
