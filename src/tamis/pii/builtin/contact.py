"""Contact details: e-mail addresses and phone numbers (French, international, North American).

Phone candidates are runs of 7-15 digits with single separators (space, dot, dash), an optional
``+``/``00`` prefix, ``(0)`` and an extension. A candidate is then scored: a number that
``phonenumbers`` validates (international, French national ``0X…``, North American) is strong; a
merely phone-shaped run (``699 956 915``) is weak and kept only with a phone cue before it
("tél", "call me on", "Phone:"); a cue such as "commande", "order", "n°", "version" just before
it rejects weak and medium candidates, so order numbers, versions and standards are not phones,
unless a phone cue is as near ("N° de tél : 06 12 34 56 78"). A cue glued to its number
("Tél.06.12.34.56.78") counts too.
"""

from __future__ import annotations

import re
from functools import cache

import phonenumbers

from tamis.pii.base import Detector, detectors
from tamis.pii.spans import EMAIL, PHONE, Span

# Domain labels of letters (any script: "bücher.de", "société.fr"), digits and hyphens.
_LABEL = r"[^\W_](?:[^\W_]|-){0,62}"
EMAIL_PATTERN = r"@" + _LABEL + r"(?:\." + _LABEL + r")*\.[^\W\d_]{2,24}(?![\w-])"


class EmailDetector:
    """E-mail addresses (``local@domain.tld``), with Unicode letters in the local part and in
    the domain (internationalised domain names)."""

    id = "email.v1"
    types: tuple[str, ...] = (EMAIL,)
    prefilter: str | None = "@"

    def __init__(self) -> None:
        self._rx = re.compile(EMAIL_PATTERN)

    def detect(self, text: str, lang: str | None = None) -> list[Span]:
        if "@" not in text:
            return []
        out = []
        for m in self._rx.finditer(text):
            at, end = m.span()
            start = at
            while (
                start > 0
                and at - start < 64
                and (text[start - 1].isalnum() or text[start - 1] in "._%+'-")
            ):
                start -= 1
            while start < at and text[start] in ".'-":
                start += 1
            if start == at:
                continue
            # A trailing dot belongs to the sentence, not the address.
            while text[end - 1] == ".":
                end -= 1
            out.append(Span(start, end, EMAIL, 0.95, self.id))
        return out

    def __getstate__(self) -> dict[str, object]:
        return {}

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__init__()  # type: ignore[misc]


_SEP = r"[ .\-\u00a0\u202f]"
# An extension after a number ("poste 4", "x4587"): part of the phone span.
PHONE_EXTENSION = r"\s?(?:x|ext\.?|poste)\s?\d{1,5}"
PHONE_PATTERN = (
    r"(?<![\w+./,-])(?<![\w][.,])"
    r"(?P<num>"
    r"(?:\+|(?:\(\+?\d{1,4}\)" + _SEP + r"?))?"
    r"\d(?:" + _SEP + r"?(?:\(\d{1,4}\)|\d)){6,17}"
    r")"
    r"(?P<ext>" + PHONE_EXTENSION + r")?"
    r"(?![\w@]|/(?!\s?[+(]?\d)|[.,\-]\d)"  # "06 12 34 56 78/01 45 67 89 12": two numbers
)
# A phone cue glued to its number by a dot or a colon ("Tél.06.12.34.56.78", "Port.06 ..."):
# the pattern's lookbehinds refuse a digit after "word." (versions, decimals), so such numbers
# are matched from the cue.
_GLUE = re.compile(r"[.:](?<=[^\W\d_][.:])(?=[+(]?\d)")
_GLUED = re.compile(r"(?i)(?<!\w)(?:t[ée]l|tel|port|mob|fax|gsm)[.:]$")
# One French number at the head of a run too long for one ("06 12 34 56 78 01 23 45 67 89").
_FR_RUN = re.compile(r"(?P<num>0[1-9]([ .\-\u00a0\u202f])\d\d(?:\2\d\d){3})(?=\2\d)")

# Cheap scan for where a phone may start (the lookbehinds sit after the first character so
# the regex engine can skip to candidate characters in C); PHONE_PATTERN then checks there.
PHONE_SCAN = r"[+(\d](?<![\w+./,\-][+(\d])(?<![\w][.,][+(\d])[\d .()+\-\u00a0\u202f]{6,}"

PHONE_CUES = (
    r"t[ée]l(?:[ée]phone)?\.?",
    r"phone",
    r"telephone",
    r"mobile",
    r"portable",
    r"cell(?:phone)?",
    r"fax",
    r"desk",
    r"office",
    r"call(?:ed|ing)?",
    r"ring",
    r"dial",
    r"text",
    r"sms",
    r"messages?",
    r"texto",
    r"whats ?app",
    r"appel(?:er|ez|le[rz]?)?",
    r"joindre",
    r"joignable",
    r"contact(?:ez|er)?",
    r"reach",
    r"answering",
    r"num[ée]ro(?: de t[ée]l[ée]phone)?",
    r"phone number",
    r"ligne",
    r"standard",
    r"hotline",
)
NEGATIVE_CUES = (
    r"commande",
    r"order",
    r"invoice",
    r"facture",
    r"r[ée]f(?:[ée]rence)?\.?",
    r"n°",
    r"no\.",
    r"nr\.?",
    r"#",
    r"siret",
    r"siren",
    r"tva",
    r"vat",
    r"ticket",
    r"dossier",
    r"iso",
    r"version",
    r"v",
    r"build",
    r"colis",
    r"tracking",
    r"suivi",
    r"account",
    r"compte",
    r"iban",
    r"card",
    r"carte",
    r"ssn",
    r"nir",
    r"s[ée]curit[ée] sociale",
    r"social security",
)
_CUE_RX = re.compile(r"(?i)(?<!\w)(?:" + "|".join(PHONE_CUES) + r")(?!\w)")
_NEG_RX = re.compile(r"(?i)(?:(?<!\w)(?:" + "|".join(NEGATIVE_CUES) + r")(?!\w)|[#°])")
_NANP_SHAPE = re.compile(r"^(?:\+?1[ .\-]?)?(?:\(\d{3}\)|\d{3})[ .\-]?\d{3}[ .\-]\d{4}$")
_FR_SHAPE = re.compile(r"^0[1-9](?:([ .\-]?)\d\d)(?:\1\d\d){3}$")
_GROUPS = re.compile(r"\(?\d+\)?")
_NON_DIGIT = re.compile(r"\D")


def phone_score(candidate: str) -> tuple[float, str]:
    """Score a phone candidate (without extension) and say why; 0 = not a phone."""
    digits = _NON_DIGIT.sub("", candidate)
    n = len(digits)
    if n < 7 or n > 15:
        return 0.0, "length"
    has_sep = any(c in candidate for c in " .-\u00a0\u202f()")
    if candidate.startswith(("+", "(+")) or (candidate.startswith("00") and n >= 10):
        raw = "+" + digits[2:] if candidate.startswith("00") else "+" + digits
        try:
            num = phonenumbers.parse(raw, None)
        except phonenumbers.NumberParseException:
            return 0.3, "international prefix, unparseable"
        if phonenumbers.is_valid_number(num):
            return 0.9, "valid international number"
        if phonenumbers.is_possible_number(num):
            return 0.7, "possible international number"
        return 0.4, "international prefix"
    if digits.startswith("0") and n == 10:
        if has_sep and _FR_SHAPE.match(candidate):
            # 0X XX XX XX XX: the French layout is signal enough; validate only to rank
            return 0.8, "French number layout"
        num = phonenumbers.parse(digits, "FR")
        if phonenumbers.is_valid_number(num):
            return (0.85 if has_sep else 0.6), "valid French number"
        if _FR_SHAPE.match(candidate):
            return 0.7, "French number shape"
    if n == 10 and _NANP_SHAPE.match(candidate):
        num = phonenumbers.parse(digits, "US")
        if phonenumbers.is_valid_number(num):
            return 0.75, "valid North American number"
        return 0.55, "North American shape"
    if has_sep:
        groups = _GROUPS.findall(candidate)
        if len(groups) >= 2 and all(len(g.strip("()")) <= 5 for g in groups):
            return 0.4, "phone-shaped digit groups"
        return 0.25, "digits with separators"
    return 0.2, "digit run"


@cache
def _load_metadata() -> None:
    """Load ``phonenumbers``' metadata for every region once per process (~0.1 s), when the
    detector is built, not lazily in the middle of the first batch that meets a new country.

    Its pattern cache is turned on: the metadata holds more patterns than the ``re`` module's
    own cache (512), so a corpus with numbers from many countries would otherwise recompile
    them over and over (a third of the detector's time on the English platform posts)."""
    phonenumbers.enable_pattern_cache()
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        phonenumbers.PhoneMetadata.metadata_for_region(region)
    phonenumbers.is_valid_number(phonenumbers.parse("+33 6 12 34 56 78", None))


class PhoneDetector:
    """Phone numbers: validated numbers anywhere, phone-shaped numbers after a phone cue."""

    id = "phone.v1"
    types: tuple[str, ...] = (PHONE,)
    # the separators of PHONE_PATTERN, non-breaking spaces included (French typography); the
    # prefilter also runs in RE2 (Arrow), which has no \u escape: the characters themselves
    prefilter: str | None = "\\d(?:[ .\\-\u00a0\u202f]?\\d){6}"
    threshold = 0.5
    cue_boost = 0.35
    window = 40

    def __init__(self) -> None:
        self._rx = re.compile(PHONE_PATTERN)
        # the same without its lookbehinds, for numbers glued to a cue (_GLUED)
        self._body = re.compile("(?P<num>" + PHONE_PATTERN.split("(?P<num>", 1)[1])
        self._scan = re.compile(PHONE_SCAN)
        _load_metadata()

    def detect(self, text: str, lang: str | None = None) -> list[Span]:
        out: list[Span] = []
        match = self._rx.match
        pos = 0
        while (candidate := self._scan.search(text, pos)) is not None:
            m = match(text, candidate.start())
            if m is not None and len(_NON_DIGIT.sub("", m.group("num"))) > 15:
                m = _FR_RUN.match(text, candidate.start()) or m  # numbers one after another
            # a candidate run may hold several numbers: scan on after the one found; one that
            # fails at "(" may start just after it ("(+33 6 12 ...)")
            if m is not None:
                pos = m.end()
            elif text[candidate.start()] == "(":
                pos = candidate.start() + 1
            else:
                pos = candidate.end()
            if m is not None:
                self._keep(text, m, out)
        taken = {s.start for s in out}
        for glue in _GLUE.finditer(text):  # a dot or colon between a word and a digit: rare
            if not _GLUED.search(text, max(0, glue.start() - 4), glue.end()):
                continue
            m = self._body.match(text, glue.end())
            if m is not None and m.start("num") not in taken:
                self._keep(text, m, out)
                out.sort(key=lambda s: s.start)
        return out

    def _keep(self, text: str, m: re.Match[str], out: list[Span]) -> None:
        start, end = m.span("num")
        score, why = phone_score(m.group("num"))
        if score <= 0:
            return
        before = max(0, start - self.window)
        near = max(0, start - 18)
        # "Commande n° 0612345678" is an order number; "N° de tél : 06 ..." is a phone
        if (
            score < 0.8  # the French layout "0X XX XX XX XX" is a phone whatever precedes it
            and _NEG_RX.search(text, near, start)
            and not _CUE_RX.search(text, near, start)
        ):
            return
        if score < 0.85 and _CUE_RX.search(text, before, start):
            score = min(0.95, score + self.cue_boost)
            why += " after a phone cue"
        if score < self.threshold:
            return
        if m.groupdict().get("ext"):  # _FR_RUN has no extension
            end = m.end("ext")
        out.append(Span(start, end, PHONE, score, self.id, why))

    def __getstate__(self) -> dict[str, object]:
        return {}

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__init__()  # type: ignore[misc]


@detectors.register("email.v1")
def email_v1(**options: object) -> Detector:
    return EmailDetector()


@detectors.register("phone.v1")
def phone_v1(**options: object) -> Detector:
    return PhoneDetector()
