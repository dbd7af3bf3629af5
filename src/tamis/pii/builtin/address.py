# ruff: noqa: RUF001, E501  (word lists and patterns are data; typographic characters intended)
"""Postal addresses: a building number, a street type and a street name, optionally followed by
a secondary unit (``Apt. 4``) and a postcode line (``75002 Paris``, ``Springfield, IL 62704``).

French streets start with their type (``12 bis rue de la Paix``), English ones end with it
(``221B Baker Street``). The English street types come from Faker's packaged ``en_US`` street
suffixes (plus the usual abbreviations), so the list is data, not code.
"""

from __future__ import annotations

import re
from functools import cache

from tamis.pii.base import Detector, detectors
from tamis.pii.spans import ADDRESS, Span

FR_STREET_TYPES = (
    "rue", "avenue", "av\\.", "bd", "boulevard", "place", "pl\\.", "chemin", "ch\\.", "allée",
    "allee", "impasse", "imp\\.", "quai", "route", "rte", "cours", "square", "passage", "voie",
    "sentier", "faubourg", "fg", "rond-point", "cité", "cite", "lotissement", "résidence",
    "residence", "hameau", "lieu-dit", "chaussée", "esplanade", "parvis", "promenade", "villa",
    "ruelle", "traverse", "montée", "mail", "clos", "domaine", "rampe", "venelle",
)  # fmt: skip
FR_PARTICLES = "de|du|des|la|le|les|au|aux|et|sur|sous|en|saint|sainte|st|ste"
EN_ABBREVIATIONS = (
    "St", "Ave", "Av", "Rd", "Blvd", "Ln", "Dr", "Ct", "Pl", "Sq", "Ter", "Pkwy", "Hwy",
    "Cir", "Crt", "Cres", "Cl", "Gdns", "Gr", "Mews", "Row", "Close", "Crescent", "Gardens",
    "Grove", "Hill", "Rise", "Walk", "Yard", "Wharf", "Green", "Gate", "Lane", "Street",
)  # fmt: skip

_CAP = r"[A-ZÀ-ÝŒ][\w'’.\-]*"
_NAME_TOKEN = rf"(?:{_CAP}|\d{{1,4}}(?!\w)|(?i:{FR_PARTICLES})(?!\w)|(?i:[dl])['’](?=\w))"
_NAME_SEP = r"(?:[ \t\-]|(?<=['’]))"


@cache
def _en_suffixes() -> str:
    try:
        from faker.providers.address.en_US import Provider

        words = {str(s) for s in Provider.street_suffixes}
    except ImportError:  # pragma: no cover - faker is a core dependency
        words = set()
    words.update(EN_ABBREVIATIONS)
    return "|".join(re.escape(w) for w in sorted(words, key=lambda w: (-len(w), w)))


def _patterns() -> tuple[str, str]:
    unit = r"(?:,?[ \t]*(?:Apt\.?|Apartment|Suite|Ste\.?|Unit|Bldg\.?|#|appt\.?|bât\.?|bat\.?)[ \t]*\w{1,5})?"
    fr_postal = r"(?:,?\s{1,3}(?:F-)?\d{5}[ \t]+[A-ZÀ-Ý][\w'’\-]*(?:[ \t\-][A-ZÀ-Ý][\w'’\-]*){0,3}(?:[ \t]+(?:cedex|CEDEX)(?:[ \t]\d{1,2})?)?)?"
    en_postal = r"(?:,?\s{1,3}[A-Z][A-Za-z.'\-]+(?:[ \t][A-Z][A-Za-z.'\-]+){0,2},?[ \t]+[A-Z]{2}[ \t]+\d{5}(?:-\d{4})?)?"
    fr_types = "|".join(FR_STREET_TYPES)
    fr = (
        r"\d(?<![\w,]\d)\d{0,3}(?:[ \t]?(?:bis|ter|quater|[A-Da-d])(?!\w))?,?[ \t]+"
        rf"(?i:{fr_types})[ \t]+{_NAME_TOKEN}(?:{_NAME_SEP}{_NAME_TOKEN}){{0,6}}" + unit + fr_postal
    )
    en = (
        r"\d(?<![\w,]\d)\d{0,5}[A-Za-z]?(?:-\d{1,4})?[ \t]+(?:" + _CAP + r"[ \t]+){1,4}"
        rf"(?:{_en_suffixes()})\.?(?!\w)" + unit + en_postal
    )
    return fr, en


# A number and the word after it: where a French address may start. Checking that word against
# the street types in a set is much cheaper than letting the regex engine try each type in turn
# after every number of the text ("18 mois", "4 pivots").
_FR_ANCHOR = re.compile(
    r"[0-9](?<![\w,][0-9])[0-9]{0,3}(?:[ \t]?(?:bis|ter|quater|[A-Da-d])(?!\w))?,?[ \t]+"
    r"(?P<type>[^\W\d_][^\W\d_\-]*(?:-[^\W\d_]+)?)"
)


def _fr_type_keys() -> frozenset[str]:
    return frozenset(t.replace("\\.", "").lower() for t in FR_STREET_TYPES)


_TRAILING_PARTICLE = re.compile(
    rf"(?:[ \t\-]+(?:{FR_PARTICLES}|[dl]['’])|[ \t\-]+\d{{1,4}})+$", re.IGNORECASE
)
_HAS_CAP = re.compile(r"[A-ZÀ-ÝŒ]")


class AddressDetector:
    id = "address.v1"
    types: tuple[str, ...] = (ADDRESS,)
    prefilter: str | None = r"\d"

    def __init__(self) -> None:
        fr, en = _patterns()
        self._fr = re.compile(fr)
        self._en = re.compile(en)
        self._fr_types = _fr_type_keys()

    def _fr_matches(self, text: str) -> list[re.Match[str]]:
        """What ``self._fr.finditer(text)`` finds, trying the full pattern only after a number
        followed by a street type."""
        out: list[re.Match[str]] = []
        last = -1
        types = self._fr_types
        match = self._fr.match
        for anchor in _FR_ANCHOR.finditer(text):
            if anchor.start() < last or anchor.group("type").lower() not in types:
                continue
            m = match(text, anchor.start())
            if m is not None:
                out.append(m)
                last = m.end()
        return out

    def detect(self, text: str, lang: str | None = None) -> list[Span]:
        out = []
        fr = self._fr_matches(text)
        en = self._en.finditer(text)
        for rx, found, why in (
            (self._fr, fr, "French street address"),
            (self._en, en, "street address"),
        ):
            for m in found:
                start, end = m.span()
                if rx is self._fr:
                    value = text[start:end]
                    trimmed = _TRAILING_PARTICLE.search(value)
                    if trimmed:
                        end = start + trimmed.start()
                    # a street name has a capitalised word: "3 rue et 2" is not an address
                    if not _HAS_CAP.search(text, m.start() + 2, end):
                        continue
                has_postcode = bool(re.search(r"\d{5}", text[start + 1 : end]))
                score = 0.9 if has_postcode else 0.75
                out.append(Span(start, end, ADDRESS, score, self.id, why))
        return out

    def __getstate__(self) -> dict[str, object]:
        return {}

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__init__()  # type: ignore[misc]


@detectors.register("address.v1")
def address_v1(**options: object) -> Detector:
    return AddressDetector()
